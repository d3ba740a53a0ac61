/*
 * slab.c: the index's node memory.  See slab.h.
 */
#include "config.h"

#include <sys/mman.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/slab.h"

#define CLASSES		(SLAB_MAX / SLAB_UNIT)
#define HUGE_PAGE	((size_t)2 << 20)
#define CHUNK_FIRST	HUGE_PAGE
#define CHUNK_LAST	((size_t)64 << 20)

/* Each mapping starts with this, so that destroy can find them all. */
struct chunk {
	struct chunk	*next;
	size_t		 len;
};

#define CHUNK_HDR	((sizeof(struct chunk) + SLAB_UNIT - 1) / SLAB_UNIT * SLAB_UNIT)

struct slab {
	void		*free[CLASSES];	/* class c: blocks of (c + 1) units */
	uint8_t		*cur;		/* bump region of the newest chunk */
	uint8_t		*end;
	struct chunk	*chunks;
	size_t		 mapped;
	size_t		 next_len;	/* size of the next chunk to map */
};

static size_t
round_size(size_t size)
{
	return ((size + SLAB_UNIT - 1) / SLAB_UNIT * SLAB_UNIT);
}

#ifndef SLAB_BLOCKS_FROM_MALLOC
static unsigned
class_of(size_t rounded)
{
	return ((unsigned)(rounded / SLAB_UNIT) - 1);
}

#endif

struct slab *
slab_new(void)
{
	struct slab *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return (NULL);
	s->next_len = CHUNK_FIRST;
	return (s);
}

void
slab_destroy(struct slab *s)
{
	struct chunk *c, *next;

	if (s == NULL)
		return;
	for (c = s->chunks; c != NULL; c = next) {
		next = c->next;
		munmap(c, c->len);
	}
	free(s);
}

#ifndef SLAB_BLOCKS_FROM_MALLOC
static void
push_free(struct slab *s, void *p, size_t rounded)
{
	unsigned c = class_of(rounded);

	memcpy(p, &s->free[c], sizeof(void *));
	s->free[c] = p;
}

/*
 * Map a chunk aligned to a huge page, so that all of it can be backed by
 * huge pages, and ask for them.  The leftover of the previous chunk goes to
 * a free list rather than being lost.
 */
static int
grow(struct slab *s)
{
	size_t len = s->next_len, left;
	uint8_t *raw, *p;
	struct chunk *c;

	raw = mmap(NULL, len + HUGE_PAGE, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (raw == MAP_FAILED)
		return (-1);
	p = (uint8_t *)(((uintptr_t)raw + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1));
	if (p > raw)
		munmap(raw, (size_t)(p - raw));
	if (p + len < raw + len + HUGE_PAGE)
		munmap(p + len, (size_t)(raw + len + HUGE_PAGE - (p + len)));
#ifdef MADV_HUGEPAGE
	/* Only a hint: with huge pages off, small pages work the same. */
	(void)madvise(p, len, MADV_HUGEPAGE);
#endif
	left = (size_t)(s->end - s->cur);
	if (left >= SLAB_UNIT)
		push_free(s, s->cur, left / SLAB_UNIT * SLAB_UNIT);
	c = (struct chunk *)(void *)p;
	c->len = len;
	c->next = s->chunks;
	s->chunks = c;
	s->cur = p + CHUNK_HDR;
	s->end = p + len;
	s->mapped += len;
	if (s->next_len < CHUNK_LAST)
		s->next_len *= 2;
	return (0);
}

#endif /* !SLAB_BLOCKS_FROM_MALLOC */

void *
slab_alloc(struct slab *s, size_t size)
{
	size_t rounded;
	unsigned c;
	void *p;

	if (size == 0 || size > SLAB_MAX)
		return (NULL);
	rounded = round_size(size);
#ifdef SLAB_BLOCKS_FROM_MALLOC
	(void)s;
	(void)c;
	(void)p;
	return (malloc(rounded));
#else
	c = class_of(rounded);
	if ((p = s->free[c]) != NULL) {
		memcpy(&s->free[c], p, sizeof(void *));
		return (p);
	}
	if ((size_t)(s->end - s->cur) < rounded && grow(s) != 0)
		return (NULL);
	p = s->cur;
	s->cur += rounded;
	return (p);
#endif
}

void
slab_release(struct slab *s, void *p, size_t size)
{
	if (p == NULL)
		return;
#ifdef SLAB_BLOCKS_FROM_MALLOC
	(void)s;
	(void)size;
	free(p);
#else
	push_free(s, p, round_size(size));
#endif
}

void *
slab_realloc(struct slab *s, void *p, size_t oldsize, size_t newsize)
{
	void *np;

	if (round_size(oldsize) == round_size(newsize))
		return (p);
#ifdef SLAB_BLOCKS_FROM_MALLOC
	(void)s;
	if ((np = realloc(p, round_size(newsize))) == NULL && newsize < oldsize)
		return (p);
	return (np);
#else
	if ((np = slab_alloc(s, newsize)) == NULL)
		/*
		 * A shrink may keep the larger block: released later under
		 * the smaller size, it only wastes its tail.
		 */
		return (newsize < oldsize ? p : NULL);
	memcpy(np, p, oldsize < newsize ? oldsize : newsize);
	slab_release(s, p, oldsize);
	return (np);
#endif
}

size_t
slab_mapped(const struct slab *s)
{
	return (s->mapped);
}
