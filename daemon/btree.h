/*
 * btree.h: the engine's ordered in-memory index, key -> record location.
 *
 * A B+tree whose nodes are single variable-size allocations: a slot array
 * (a 2-byte hint and a 2-byte offset per entry) grows from the front and
 * packed entries (key length, key, payload) grow from the back.  The hint is
 * the two key bytes after the prefix every key in the node shares, so most
 * of a binary search runs in the slot array without touching keys.  Nodes
 * grow by realloc in small steps instead of being allocated at full size, and
 * separators are cut to the shortest prefix that separates two leaves; both
 * keep the index near 30 bytes per key beyond the key itself.
 *
 * Not thread-safe: the engine serializes writers and readers around it.
 */
#ifndef KVD_BTREE_H
#define KVD_BTREE_H

#include <stddef.h>
#include <stdint.h>

/* Where a key's newest record lives. */
struct btree_loc {
	uint32_t	seg;	/* segment id */
	uint32_t	off;	/* offset of the record in the segment file */
	uint32_t	vlen;	/* value length */
	uint64_t	seq;	/* sequence number of the record */
};

struct btree;

#define BTREE_MAX_HEIGHT	64

/* A position in the tree; valid until the tree is next modified. */
struct btree_cursor {
	const struct btree	*t;
	int			 depth;		/* 0: at the end */
	struct {
		void		*node;
		unsigned	 idx;
	} path[BTREE_MAX_HEIGHT];
};

/* btree_new(): an empty tree, or NULL when memory is short. */
struct btree *btree_new(void);

/* btree_free(t): free t and every node.  NULL is a no-op. */
void btree_free(struct btree *t);

/* btree_count(t): number of keys. */
size_t btree_count(const struct btree *t);

/* btree_bytes(t): bytes allocated for nodes (excluding malloc's own overhead). */
size_t btree_bytes(const struct btree *t);

/*
 * btree_get(t, key, klen, loc):
 * 0 and *loc filled when key is present, -1 when it is not.
 */
int btree_get(const struct btree *t, const void *key, size_t klen,
    struct btree_loc *loc);

#define BTREE_BATCH	16

/*
 * btree_get_many(t, keys, klens, n, locs, found):
 * btree_get() for n keys: found[i] is 1 and locs[i] filled when keys[i] is
 * present, else found[i] is 0.  Up to BTREE_BATCH walks go down the levels
 * side by side, each asking for its next node before the others are
 * searched, so that one key's cache misses overlap the rest's instead of
 * following them.
 */
void btree_get_many(const struct btree *t, const uint8_t *const *keys,
    const size_t *klens, unsigned n, struct btree_loc *locs, int *found);

/*
 * btree_put(t, key, klen, loc, old):
 * Insert key or replace its location.  Returns 1 when key was present (its
 * previous location in *old, if old is not NULL), 0 when it was added, or -1
 * when memory is short (t unchanged).  klen must be 1..16384.
 */
int btree_put(struct btree *t, const void *key, size_t klen,
    const struct btree_loc *loc, struct btree_loc *old);

/*
 * btree_delete(t, key, klen, old):
 * Remove key.  Returns 1 (its location in *old, if not NULL) or 0 when key
 * was absent.
 */
int btree_delete(struct btree *t, const void *key, size_t klen,
    struct btree_loc *old);

/*
 * btree_move(t, key, klen, from_seg, from_off, to):
 * Point key at *to, but only if it still points at (from_seg, from_off):
 * compaction copied a record that may have been overwritten meanwhile.
 * Returns 1 when moved, else 0.
 */
int btree_move(struct btree *t, const void *key, size_t klen,
    uint32_t from_seg, uint32_t from_off, const struct btree_loc *to);

/*
 * btree_seek(t, c, key, klen):
 * Place c at the first key >= key (klen 0: the first key).  Returns 1 when
 * c is at a key, 0 when there is none.
 */
int btree_seek(const struct btree *t, struct btree_cursor *c,
    const void *key, size_t klen);

/* btree_next(c): advance; 1 when c is at a key, 0 at the end. */
int btree_next(struct btree_cursor *c);

/*
 * btree_cursor_get(c, key, klen, loc):
 * The entry at c: *key points into the tree (valid until it changes).
 * Returns 1, or 0 when c is at the end.
 */
int btree_cursor_get(const struct btree_cursor *c, const uint8_t **key,
    size_t *klen, struct btree_loc *loc);

/*
 * Bulk loading from keys in strictly ascending order: far faster than
 * btree_put and packs leaves to about 90% full.
 */
struct btree_builder;

/* btree_builder_new(): NULL when memory is short. */
struct btree_builder *btree_builder_new(void);

/* btree_builder_add(b, key, klen, loc): 0, or -1 when memory is short. */
int btree_builder_add(struct btree_builder *b, const void *key, size_t klen,
    const struct btree_loc *loc);

/*
 * btree_builder_finish(b):
 * The tree built (never NULL unless memory is short, then everything is
 * freed); b is freed either way.
 */
struct btree *btree_builder_finish(struct btree_builder *b);

/* btree_builder_free(b): abandon a build.  NULL is a no-op. */
void btree_builder_free(struct btree_builder *b);

/*
 * btree_check(t, why):
 * Walk every node and verify order, hints and counts (for tests).
 * Returns 0, or -1 with *why describing the first violation.
 */
int btree_check(const struct btree *t, const char **why);

#endif /* !KVD_BTREE_H */
