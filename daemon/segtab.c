/*
 * segtab.c: the sorted table of open segments.  See segtab.h.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "daemon/segment.h"
#include "daemon/segtab.h"

static size_t
lower(const struct segtab *t, uint64_t id)
{
	size_t lo = 0, hi = t->n, mid;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		if (t->v[mid]->id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (lo);
}

int
segtab_add(struct segtab *t, struct segment *s)
{
	struct segment **v;
	size_t i, cap;

	if (t->n == t->cap) {
		cap = t->cap ? t->cap * 2 : 16;
		if ((v = realloc(t->v, cap * sizeof(*v))) == NULL)
			return (-1);
		t->v = v;
		t->cap = cap;
	}
	i = lower(t, s->id);
	memmove(&t->v[i + 1], &t->v[i], (t->n - i) * sizeof(*t->v));
	t->v[i] = s;
	t->n++;
	return (0);
}

struct segment *
segtab_find(const struct segtab *t, uint64_t id)
{
	size_t i = lower(t, id);

	return (i < t->n && t->v[i]->id == id ? t->v[i] : NULL);
}

void
segtab_remove(struct segtab *t, const struct segment *s)
{
	size_t i = lower(t, s->id);

	if (i < t->n && t->v[i] == s) {
		memmove(&t->v[i], &t->v[i + 1], (t->n - i - 1) * sizeof(*t->v));
		t->n--;
	}
}

void
segtab_free(struct segtab *t)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		segment_free(t->v[i]);
	free(t->v);
	t->v = NULL;
	t->n = t->cap = 0;
}
