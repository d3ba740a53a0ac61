/*
 * segtab.h: the engine's table of open segments, kept sorted by id.
 *
 * Lookups by id happen on every read (the index stores segment ids), so
 * the table is a sorted array searched by bisection.
 */
#ifndef KVD_SEGTAB_H
#define KVD_SEGTAB_H

#include <stddef.h>
#include <stdint.h>

struct segment;

struct segtab {
	struct segment	**v;
	size_t		  n;
	size_t		  cap;
};

/* segtab_add(t, s): insert s (its id must be new).  0, or -1 when memory is short. */
int segtab_add(struct segtab *t, struct segment *s);

/* segtab_find(t, id): the segment with that id, or NULL. */
struct segment *segtab_find(const struct segtab *t, uint64_t id);

/* segtab_remove(t, s): take s out of the table (not freed). */
void segtab_remove(struct segtab *t, const struct segment *s);

/* segtab_free(t): free every segment and the table's array. */
void segtab_free(struct segtab *t);

#endif /* !KVD_SEGTAB_H */
