/*
 * kvc_arena.c: a bump allocator that protobuf-c unpacks replies into.
 *
 * A pipelined or asynchronous reply lives only until the next one, so all of
 * its memory can be dropped at once.  Allocations come from one base block;
 * what does not fit gets its own malloc, and the next reset grows the base
 * block to cover it, so a steady stream of similar replies stops calling
 * malloc altogether.  See kvc.h.
 */
#include "config.h"

#include <stdalign.h>
#include <stddef.h>
#include <stdlib.h>

#include "kvc.h"

/* Values larger than this never go into the base block. */
#define KVC_ARENA_BASE_MAX	(1024 * 1024)
#define KVC_ARENA_BASE_MIN	4096

struct kvc_arena_block {
	struct kvc_arena_block	*next;
	max_align_t		 data[];
};

#define KVC_ALIGN(n) \
	(((n) + alignof(max_align_t) - 1) & ~(alignof(max_align_t) - 1))

static void *
kvc_arena_alloc(void *data, size_t n)
{
	struct kvc_arena *a = data;
	struct kvc_arena_block *b;
	void *p;

	n = KVC_ALIGN(n == 0 ? 1 : n);
	if (n <= a->cap - a->used) {
		p = a->base + a->used;
		a->used += n;
		return (p);
	}
	if (n > SIZE_MAX - sizeof(*b) ||
	    (b = malloc(sizeof(*b) + n)) == NULL)
		return (NULL);
	b->next = a->blocks;
	a->blocks = b;
	if (n <= KVC_ARENA_BASE_MAX)
		a->overflow += n;
	return (b->data);
}

/* Everything is released together by kvc_arena_reset(). */
static void
kvc_arena_release(void *data, void *p)
{
	(void)data;
	(void)p;
}

void
kvc_arena_init(struct kvc_arena *a)
{
	a->pa.alloc = kvc_arena_alloc;
	a->pa.free = kvc_arena_release;
	a->pa.allocator_data = a;
	a->base = NULL;
	a->cap = 0;
	a->used = 0;
	a->overflow = 0;
	a->blocks = NULL;
}

void
kvc_arena_reset(struct kvc_arena *a)
{
	struct kvc_arena_block *b;
	size_t want;
	uint8_t *nb;

	while ((b = a->blocks) != NULL) {
		a->blocks = b->next;
		free(b);
	}
	if (a->overflow > 0) {
		want = a->cap * 2;
		if (want < a->used + a->overflow)
			want = a->used + a->overflow;
		if (want < KVC_ARENA_BASE_MIN)
			want = KVC_ARENA_BASE_MIN;
		if (want > KVC_ARENA_BASE_MAX)
			want = KVC_ARENA_BASE_MAX;
		/* A failed growth only means more mallocs next time. */
		if (want > a->cap && (nb = malloc(want)) != NULL) {
			free(a->base);
			a->base = nb;
			a->cap = want;
		}
	}
	a->used = 0;
	a->overflow = 0;
}

void
kvc_arena_free(struct kvc_arena *a)
{
	kvc_arena_reset(a);
	free(a->base);
	a->base = NULL;
	a->cap = 0;
}
