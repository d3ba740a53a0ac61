/*
 * btree.c: the ordered index.  See btree.h.
 *
 * Node layout (one allocation of cap bytes, cap <= 65535):
 *
 *	struct node | slot[0..n) ->   free   <- entries (packed) | end (cap)
 *
 * An entry is a varint key length, the key, then the payload: a struct
 * btree_loc packed into 20 bytes in a leaf, a child pointer in an inner
 * node.  In an inner node entry 0 stands for minus infinity whatever its key
 * (stored empty); entry i covers keys in [key i, key i+1).
 *
 * Every key of a node (entry 0 of an inner node excepted) starts with the
 * same lcp bytes; a slot's hint is the two key bytes after those, big-endian
 * and zero-padded, so comparing hints orders keys except on ties.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "daemon/btree.h"
#include "daemon/slab.h"

#define LEAF_PAYLOAD	20
#define INNER_PAYLOAD	((unsigned)sizeof(void *))

/*
 * Node sizes: a leaf splits past LEAF_MAX bytes, an inner node past
 * INNER_MAX.  Measured with 3M random 16-byte keys, alternating runs:
 * 2 KiB leaves 1.5M inserts/s, 1.5M gets/s, 49.3 B/key of RSS; 4 KiB
 * 1.6-1.9M, 1.5-1.9M, 47.2 B/key; 8 KiB no faster, 45.8 B/key, with twice
 * the memmove per insert.  Fewer, larger leaves mean fewer inner levels to
 * miss in the cache, and the hints keep the search inside the slot array.
 */
#define LEAF_MAX	4096u
#define INNER_MAX	4096u
#define NODE_LIMIT	65535u
#define GROW_STEP	256u
#define BUILD_FILL	(LEAF_MAX * 9 / 10)

struct slot {
	uint16_t	hint;
	uint16_t	off;
};

#define PFX_INLINE	16

struct node {
	uint16_t	n;
	uint16_t	level;		/* 0: leaf */
	uint16_t	lcp;
	uint16_t	cap;
	uint16_t	heap;		/* first entry byte */
	uint16_t	garbage;	/* bytes of removed entries inside the heap */
	/*
	 * The first bytes of the shared prefix, next to the slots: checking a
	 * probe against the prefix then costs no cache miss on a key, which
	 * lives at the far end of the node.
	 */
	uint8_t		pfx[PFX_INLINE];
	struct slot	slot[];
};

#define NODE_HDR	((unsigned)sizeof(struct node))

struct btree {
	struct node	*root;		/* NULL when empty */
	size_t		 count;
	size_t		 bytes;
	uint8_t		*scratch;	/* NODE_LIMIT bytes for repacking nodes */
	struct slab	*slab;		/* where the nodes live */
};

/* ---- entries ---- */

static unsigned
varint_len(size_t v)
{
	return (v < 0x80 ? 1 : v < 0x4000 ? 2 : 3);
}

static unsigned
varint_put(uint8_t *p, size_t v)
{
	if (v < 0x80) {
		p[0] = (uint8_t)v;
		return (1);
	}
	if (v < 0x4000) {
		p[0] = (uint8_t)(0x80 | (v & 0x7f));
		p[1] = (uint8_t)(v >> 7);
		return (2);
	}
	p[0] = (uint8_t)(0x80 | (v & 0x7f));
	p[1] = (uint8_t)(0x80 | ((v >> 7) & 0x7f));
	p[2] = (uint8_t)(v >> 14);
	return (3);
}

static unsigned
varint_get(const uint8_t *p, size_t *v)
{
	if (p[0] < 0x80) {
		*v = p[0];
		return (1);
	}
	if (p[1] < 0x80) {
		*v = (size_t)(p[0] & 0x7f) | ((size_t)p[1] << 7);
		return (2);
	}
	*v = (size_t)(p[0] & 0x7f) | ((size_t)(p[1] & 0x7f) << 7) |
	    ((size_t)p[2] << 14);
	return (3);
}

static unsigned
payload_size(unsigned level)
{
	return (level == 0 ? LEAF_PAYLOAD : INNER_PAYLOAD);
}

static unsigned
entry_size(size_t klen, unsigned level)
{
	return (varint_len(klen) + (unsigned)klen + payload_size(level));
}

static const uint8_t *
entry_key(const struct node *nd, unsigned i, size_t *klen)
{
	const uint8_t *p = (const uint8_t *)nd + nd->slot[i].off;

	return (p + varint_get(p, klen));
}

static uint8_t *
entry_payload(const struct node *nd, unsigned i)
{
	size_t klen;
	const uint8_t *k = entry_key(nd, i, &klen);

	return ((uint8_t *)(uintptr_t)(k + klen));
}

static unsigned
entry_bytes(const struct node *nd, unsigned i)
{
	size_t klen;

	(void)entry_key(nd, i, &klen);
	return (entry_size(klen, nd->level));
}

static struct node *
child_at(const struct node *nd, unsigned i)
{
	struct node *c;

	memcpy(&c, entry_payload(nd, i), sizeof(c));
	return (c);
}

static void
child_set(struct node *nd, unsigned i, struct node *c)
{
	memcpy(entry_payload(nd, i), &c, sizeof(c));
}

static void
loc_pack(uint8_t *p, const struct btree_loc *loc)
{
	memcpy(p, &loc->seg, 4);
	memcpy(p + 4, &loc->off, 4);
	memcpy(p + 8, &loc->vlen, 4);
	memcpy(p + 12, &loc->seq, 8);
}

static void
loc_unpack(const uint8_t *p, struct btree_loc *loc)
{
	memcpy(&loc->seg, p, 4);
	memcpy(&loc->off, p + 4, 4);
	memcpy(&loc->vlen, p + 8, 4);
	memcpy(&loc->seq, p + 12, 8);
}

/*
 * Byte order comparison of two keys.  Keys are short and memcmp's call
 * dominated the profile of lookups, so compare 8 bytes at a time as
 * big-endian words.
 */
static int
keycmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	size_t n = alen < blen ? alen : blen, i = 0;
	uint64_t x, y;

	for (; i + 8 <= n; i += 8) {
		memcpy(&x, a + i, 8);
		memcpy(&y, b + i, 8);
		if (x != y) {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
			x = __builtin_bswap64(x);
			y = __builtin_bswap64(y);
#endif
			return (x < y ? -1 : 1);
		}
	}
	/* Suffixes past a node's prefix are often this short. */
	if (i + 4 <= n) {
		uint32_t x4, y4;

		memcpy(&x4, a + i, 4);
		memcpy(&y4, b + i, 4);
		if (x4 != y4) {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
			x4 = __builtin_bswap32(x4);
			y4 = __builtin_bswap32(y4);
#endif
			return (x4 < y4 ? -1 : 1);
		}
		i += 4;
	}
	for (; i < n; i++)
		if (a[i] != b[i])
			return (a[i] < b[i] ? -1 : 1);
	return ((alen > blen) - (alen < blen));
}

static size_t
common_prefix(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	size_t n = alen < blen ? alen : blen, i;

	for (i = 0; i < n && a[i] == b[i]; i++)
		;
	return (i);
}

static uint16_t
hint_of(const uint8_t *k, size_t klen, size_t lcp)
{
	unsigned h = 0;

	if (klen > lcp)
		h = (unsigned)k[lcp] << 8;
	if (klen > lcp + 1)
		h |= k[lcp + 1];
	return ((uint16_t)h);
}

/* ---- nodes ---- */

static unsigned
node_first(const struct node *nd)
{
	return (nd->level > 0 ? 1 : 0);
}

static unsigned
node_free_bytes(const struct node *nd)
{
	return (nd->heap - (NODE_HDR + (unsigned)nd->n * sizeof(struct slot)));
}

/* Bytes the node needs when packed. */
static unsigned
node_used(const struct node *nd)
{
	return (nd->cap - node_free_bytes(nd) - nd->garbage);
}

static unsigned
round_cap(unsigned need)
{
	unsigned cap = (need + 63u) & ~63u;

	return (cap > NODE_LIMIT ? NODE_LIMIT : cap);
}

static struct node *
node_new(struct btree *t, unsigned level, unsigned cap)
{
	struct node *nd;

	if ((nd = slab_alloc(t->slab, cap)) == NULL)
		return (NULL);
	nd->n = 0;
	nd->level = (uint16_t)level;
	nd->lcp = 0;
	nd->cap = (uint16_t)cap;
	nd->heap = (uint16_t)cap;
	nd->garbage = 0;
	t->bytes += cap;
	return (nd);
}

static void
node_free(struct btree *t, struct node *nd)
{
	t->bytes -= nd->cap;
	slab_release(t->slab, nd, nd->cap);
}

/* Rewrite the heap without garbage, in slot order. */
static void
node_pack(struct btree *t, struct node *nd)
{
	unsigned i, sz, at = nd->cap;

	if (nd->garbage == 0)
		return;
	for (i = 0; i < nd->n; i++) {
		sz = entry_bytes(nd, i);
		at -= sz;
		memcpy(t->scratch + at, (uint8_t *)nd + nd->slot[i].off, sz);
		nd->slot[i].off = (uint16_t)at;
	}
	memcpy((uint8_t *)nd + at, t->scratch + at, nd->cap - at);
	nd->heap = (uint16_t)at;
	nd->garbage = 0;
}

/* Change nd's allocation to cap bytes (packing it); NULL if memory is short. */
static struct node *
node_resize(struct btree *t, struct node *nd, unsigned cap)
{
	struct node *nn;
	unsigned heapsz;

	node_pack(t, nd);
	heapsz = nd->cap - nd->heap;
	if (cap < nd->cap) {
		/* Shrinking: slide the heap down before realloc cuts it off. */
		memmove((uint8_t *)nd + cap - heapsz, (uint8_t *)nd + nd->heap,
		    heapsz);
		nn = slab_realloc(t->slab, nd, nd->cap, cap);
	} else {
		if ((nn = slab_realloc(t->slab, nd, nd->cap, cap)) == NULL)
			return (NULL);
		memmove((uint8_t *)nn + cap - heapsz, (uint8_t *)nn + nn->heap,
		    heapsz);
	}
	{
		unsigned i, delta_base = nn->heap;

		for (i = 0; i < nn->n; i++)
			nn->slot[i].off = (uint16_t)(nn->slot[i].off -
			    delta_base + (cap - heapsz));
	}
	t->bytes = t->bytes - nn->cap + cap;
	nn->cap = (uint16_t)cap;
	nn->heap = (uint16_t)(cap - heapsz);
	return (nn);
}

/* Recompute lcp and every hint from the node's first and last keys. */
static void
node_rehint(struct node *nd)
{
	const uint8_t *a, *b;
	size_t alen, blen, lcp;
	unsigned i, first = node_first(nd);

	if (nd->n <= first) {
		nd->lcp = 0;
		return;
	}
	a = entry_key(nd, first, &alen);
	b = entry_key(nd, nd->n - 1u, &blen);
	lcp = common_prefix(a, alen, b, blen);
	nd->lcp = (uint16_t)lcp;
	memcpy(nd->pfx, a, lcp < PFX_INLINE ? lcp : PFX_INLINE);
	for (i = first; i < nd->n; i++) {
		a = entry_key(nd, i, &alen);
		nd->slot[i].hint = hint_of(a, alen, lcp);
	}
	if (first == 1)
		nd->slot[0].hint = 0;
}

/*
 * When k does not share the node's prefix it lies before or after every
 * key: 1 and *pos set then, 0 when the slots must decide.
 */
static inline __attribute__((always_inline)) int
node_prefix_decides(const struct node *nd, const uint8_t *k, size_t klen,
    unsigned *pos)
{
	unsigned lo = node_first(nd), hi = nd->n;
	const uint8_t *mk;
	size_t mlen, lcp = nd->lcp, m;
	int c;

	if (lo >= hi) {
		*pos = lo;
		return (1);
	}
	if (lcp == 0)
		return (0);
	m = klen < lcp ? klen : lcp;
	if (lcp <= PFX_INLINE)
		c = memcmp(k, nd->pfx, m);
	else {
		mk = entry_key(nd, lo, &mlen);
		c = memcmp(k, mk, m);
	}
	if (c < 0 || (c == 0 && klen < lcp)) {
		*pos = lo;
		return (1);
	}
	if (c > 0) {
		*pos = hi;
		return (1);
	}
	return (0);
}

/*
 * Binary search of slots [lo, hi) for the first entry >= key (upper == 0)
 * or > key (upper != 0): by the hints, and by the keys on a tie.
 */
static inline __attribute__((always_inline)) unsigned
node_search_slots(const struct node *nd, const uint8_t *k, size_t klen,
    unsigned lo, unsigned hi, uint16_t h, int upper, int *exact)
{
	const uint8_t *mk;
	size_t mlen, lcp = nd->lcp;
	unsigned mid;
	uint16_t sh;
	int c;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		sh = nd->slot[mid].hint;
		if (sh < h)
			c = -1;
		else if (sh > h)
			c = 1;
		else {
			mk = entry_key(nd, mid, &mlen);
			c = keycmp(mk + lcp, mlen - lcp, k + lcp, klen - lcp);
			if (c == 0)
				*exact = 1;
		}
		if (c < 0 || (upper && c == 0))
			lo = mid + 1;
		else
			hi = mid;
	}
	return (lo);
}

/*
 * Position of key among entries [first, n): the first entry >= key
 * (upper == 0) or > key (upper != 0).
 */
static unsigned
node_search(const struct node *nd, const uint8_t *k, size_t klen, int upper,
    int *exact)
{
	unsigned pos;

	*exact = 0;
	if (node_prefix_decides(nd, k, klen, &pos))
		return (pos);
	return (node_search_slots(nd, k, klen, node_first(nd), nd->n,
	    hint_of(k, klen, nd->lcp), upper, exact));
}

/*
 * node_search() in two halves, so that btree_get_many() can ask for the
 * entry a search will read between them.  node_bound(): the first slot
 * whose hint is >= the probe's (*hp), or, when the prefix decides alone,
 * the answer itself (*decided set).
 */
static unsigned
node_bound(const struct node *nd, const uint8_t *k, size_t klen, uint16_t *hp,
    int *decided)
{
	unsigned lo = node_first(nd), hi = nd->n, mid, pos;
	uint16_t h;

	if ((*decided = node_prefix_decides(nd, k, klen, &pos)))
		return (pos);
	*hp = h = hint_of(k, klen, nd->lcp);
	while (lo < hi) {
		mid = (lo + hi) / 2;
		if (nd->slot[mid].hint < h)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (lo);
}

/* node_settle(): the second half, from node_bound()'s slot lo. */
static unsigned
node_settle(const struct node *nd, const uint8_t *k, size_t klen, unsigned lo,
    uint16_t h, int upper, int *exact)
{
	const uint8_t *mk;
	size_t mlen, lcp = nd->lcp;
	int c;

	*exact = 0;
	if (lo == nd->n || nd->slot[lo].hint != h)
		return (lo);
	if (lo + 1 == nd->n || nd->slot[lo + 1].hint != h) {
		/* Usually one key has the probe's hint: its bytes decide. */
		mk = entry_key(nd, lo, &mlen);
		c = keycmp(mk + lcp, mlen - lcp, k + lcp, klen - lcp);
		*exact = c == 0;
		return (c < 0 || (upper && c == 0) ? lo + 1 : lo);
	}
	return (node_search_slots(nd, k, klen, lo, nd->n, h, upper, exact));
}

static unsigned
inner_child_index(const struct node *nd, const uint8_t *k, size_t klen)
{
	int exact;

	return (node_search(nd, k, klen, 1, &exact) - 1);
}

/*
 * Put an entry into slot pos of nd, which has room (node_free_bytes >=
 * entry size + a slot).  The hint follows nd->lcp, lowered first if the new
 * key does not share the whole common prefix.
 */
static void
node_place(struct node *nd, unsigned pos, const uint8_t *k, size_t klen,
    const void *payload)
{
	unsigned sz = entry_size(klen, nd->level), first = node_first(nd);
	uint8_t *p;
	const uint8_t *ok;
	size_t olen, c;
	int keyed = !(nd->level > 0 && pos == 0);

	if (keyed) {
		if (nd->n <= first) {
			nd->lcp = (uint16_t)klen;
			memcpy(nd->pfx, k, klen < PFX_INLINE ? klen : PFX_INLINE);
		} else {
			/* Any keyed entry carries the node's prefix. */
			ok = entry_key(nd, first, &olen);
			c = common_prefix(k, klen, ok, olen);
			if (c < nd->lcp) {
				unsigned i;
				const uint8_t *ek;
				size_t elen;

				nd->lcp = (uint16_t)c;
				for (i = first; i < nd->n; i++) {
					ek = entry_key(nd, i, &elen);
					nd->slot[i].hint = hint_of(ek, elen, c);
				}
			}
		}
	}
	nd->heap = (uint16_t)(nd->heap - sz);
	p = (uint8_t *)nd + nd->heap;
	p += varint_put(p, klen);
	if (klen > 0)
		memcpy(p, k, klen);
	memcpy(p + klen, payload, payload_size(nd->level));
	memmove(&nd->slot[pos + 1], &nd->slot[pos],
	    (nd->n - pos) * sizeof(struct slot));
	nd->slot[pos].off = nd->heap;
	nd->slot[pos].hint = keyed ? hint_of(k, klen, nd->lcp) : 0;
	nd->n++;
}

static void
node_remove(struct node *nd, unsigned pos)
{
	nd->garbage = (uint16_t)(nd->garbage + entry_bytes(nd, pos));
	memmove(&nd->slot[pos], &nd->slot[pos + 1],
	    (nd->n - pos - 1u) * sizeof(struct slot));
	nd->n--;
	if (nd->n == 0) {
		nd->heap = nd->cap;
		nd->garbage = 0;
	}
}

/* ---- tree ---- */

struct btree *
btree_new(void)
{
	struct btree *t;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return (NULL);
	if ((t->scratch = malloc(NODE_LIMIT + 1)) == NULL ||
	    (t->slab = slab_new()) == NULL) {
		free(t->scratch);
		free(t);
		return (NULL);
	}
	return (t);
}

static void
free_subtree(struct btree *t, struct node *nd)
{
	unsigned i;

	if (nd->level > 0)
		for (i = 0; i < nd->n; i++)
			free_subtree(t, child_at(nd, i));
	node_free(t, nd);
}

void
btree_free(struct btree *t)
{
	if (t == NULL)
		return;
	if (t->root != NULL)
		free_subtree(t, t->root);
	slab_destroy(t->slab);
	free(t->scratch);
	free(t);
}

size_t
btree_count(const struct btree *t)
{
	return (t->count);
}

size_t
btree_bytes(const struct btree *t)
{
	return (t->bytes + sizeof(*t) + NODE_LIMIT + 1);
}

/*
 * Ask for every line of a node as soon as its address is known.  A search
 * reads the header, then the few slots the binary search picks, then one
 * entry, each address depending on the line before: asked for together,
 * their cache misses overlap instead of following one another.  Past the
 * end of a smaller node the requests touch a neighbour, which costs
 * nothing but bandwidth.  A tree under PREFETCH_MIN bytes mostly stays in
 * the caches, where the 64 instructions per level would be all cost.
 */
#define PREFETCH_MIN	(16u << 20)

static inline void
node_prefetch_whole(const struct node *nd)
{
	const char *p = (const char *)nd;
	unsigned i;

	for (i = 0; i < (LEAF_MAX > INNER_MAX ? LEAF_MAX : INNER_MAX); i += 64)
		__builtin_prefetch(p + i);
}

static const struct node *
find_leaf(const struct btree *t, const uint8_t *k, size_t klen)
{
	const struct node *nd = t->root;
	int whole = t->bytes >= PREFETCH_MIN;

	while (nd != NULL && nd->level > 0) {
		nd = child_at(nd, inner_child_index(nd, k, klen));
		if (whole)
			node_prefetch_whole(nd);
	}
	return (nd);
}

int
btree_get(const struct btree *t, const void *key, size_t klen,
    struct btree_loc *loc)
{
	const struct node *nd;
	unsigned pos;
	int exact;

	if ((nd = find_leaf(t, key, klen)) == NULL)
		return (-1);
	pos = node_search(nd, key, klen, 0, &exact);
	if (!exact)
		return (-1);
	loc_unpack(entry_payload(nd, pos), loc);
	return (0);
}

/*
 * Ask for the lines a search of nd will read first: the header and the
 * start of the slot array (a full leaf's slots fit in the first 512 bytes).
 */
static void
node_prefetch(const struct node *nd)
{
	const char *p = (const char *)nd;
	unsigned i;

	for (i = 0; i < 512; i += 64)
		__builtin_prefetch(p + i);
}

/* Ask for the entries around slot pos, where a search will end. */
static void
node_prefetch_entries(const struct node *nd, unsigned pos)
{
	const char *p = (const char *)nd;

	if (pos < nd->n) {
		__builtin_prefetch(p + nd->slot[pos].off);
		__builtin_prefetch(p + nd->slot[pos].off + 40);
	}
	if (pos > 0)
		__builtin_prefetch(p + nd->slot[pos - 1].off);
}

void
btree_get_many(const struct btree *t, const uint8_t *const *keys,
    const size_t *klens, unsigned n, struct btree_loc *locs, int *found)
{
	const struct node *nd[BTREE_BATCH];
	unsigned i, at, m, pos[BTREE_BATCH], leaf;
	uint16_t h[BTREE_BATCH];
	int decided[BTREE_BATCH], exact;

	for (at = 0; at < n; at += m) {
		m = n - at < BTREE_BATCH ? n - at : BTREE_BATCH;
		for (i = 0; i < m; i++)
			found[at + i] = 0;
		if (t->root == NULL)
			continue;
		for (i = 0; i < m; i++)
			nd[i] = t->root;
		/*
		 * Every leaf is at the same depth, so the walks stay in step:
		 * at each level a pass of first halves of searches, each
		 * asking for the entry it will end at, then a pass of second
		 * halves, each asking for its next node.
		 */
		for (;;) {
			leaf = nd[0]->level == 0;
			for (i = 0; i < m; i++) {
				h[i] = 0;
				pos[i] = node_bound(nd[i], keys[at + i],
				    klens[at + i], &h[i], &decided[i]);
				if (!decided[i])
					node_prefetch_entries(nd[i], pos[i]);
			}
			if (leaf)
				break;
			for (i = 0; i < m; i++) {
				if (!decided[i])
					pos[i] = node_settle(nd[i], keys[at + i],
					    klens[at + i], pos[i], h[i], 1,
					    &exact);
				nd[i] = child_at(nd[i], pos[i] - 1);
				node_prefetch(nd[i]);
			}
		}
		for (i = 0; i < m; i++) {
			if (decided[i])
				continue;
			pos[i] = node_settle(nd[i], keys[at + i], klens[at + i],
			    pos[i], h[i], 0, &exact);
			if (exact) {
				/* The entry's line: the last miss before the payload. */
				loc_unpack(entry_payload(nd[i], pos[i]),
				    &locs[at + i]);
				found[at + i] = 1;
			}
		}
	}
}

struct path {
	struct node	*node[BTREE_MAX_HEIGHT];
	unsigned	 idx[BTREE_MAX_HEIGHT];	/* child index taken at each inner level */
	int		 depth;			/* node[depth - 1] is the leaf */
	int		 rightmost;		/* every step took the last child */
};

static void
descend(const struct btree *t, const uint8_t *k, size_t klen, struct path *p)
{
	struct node *nd = t->root;
	unsigned i;

	p->depth = 0;
	p->rightmost = 1;
	while (nd != NULL) {
		p->node[p->depth] = nd;
		if (nd->level == 0) {
			p->depth++;
			break;
		}
		i = inner_child_index(nd, k, klen);
		if (i + 1u != nd->n)
			p->rightmost = 0;
		p->idx[p->depth] = i;
		p->depth++;
		nd = child_at(nd, i);
		if (t->bytes >= PREFETCH_MIN)
			node_prefetch_whole(nd);
	}
}

/* Replace the pointer to the node at path level d (it moved). */
static void
relink(struct btree *t, struct path *p, int d, struct node *nd)
{
	p->node[d] = nd;
	if (d == 0)
		t->root = nd;
	else
		child_set(p->node[d - 1], p->idx[d - 1], nd);
}

struct gathered {
	const uint8_t	*key;
	size_t		 klen;
	const uint8_t	*payload;
};

static int insert_at(struct btree *t, struct path *p, int d, unsigned pos,
    const uint8_t *k, size_t klen, const void *payload);

static struct node *
node_from(struct btree *t, unsigned level, const struct gathered *g,
    unsigned from, unsigned to, unsigned extra)
{
	struct node *nd;
	unsigned i, need = NODE_HDR;

	for (i = from; i < to; i++)
		need += sizeof(struct slot) + entry_size(g[i].klen, level);
	if ((nd = node_new(t, level, round_cap(need + extra))) == NULL)
		return (NULL);
	for (i = from; i < to; i++) {
		uint8_t *e;
		unsigned sz = entry_size(g[i].klen, level);

		nd->heap = (uint16_t)(nd->heap - sz);
		e = (uint8_t *)nd + nd->heap;
		e += varint_put(e, g[i].klen);
		memcpy(e, g[i].key, g[i].klen);
		memcpy(e + g[i].klen, g[i].payload, payload_size(level));
		nd->slot[nd->n].off = nd->heap;
		nd->n++;
	}
	node_rehint(nd);
	return (nd);
}

/*
 * Split the node at path level d while inserting (k, payload) at pos.
 * Entries are gathered (pointing into the old node), cut where the bytes
 * balance, and copied into two fresh nodes; the separator goes up.
 */
static int
split_insert(struct btree *t, struct path *p, int d, unsigned pos,
    const uint8_t *k, size_t klen, const void *payload)
{
	struct node *nd = p->node[d], *left = NULL, *right = NULL;
	unsigned level = nd->level, n = nd->n + 1u, i, j, m;
	struct gathered *g;
	uint64_t total = 0, acc;
	uint8_t *sep = NULL, ptr[sizeof(void *)];
	size_t seplen;
	const uint8_t *lk, *rk;
	size_t llen, rlen;
	int r = -1;

	if ((g = malloc(n * sizeof(*g))) == NULL)
		return (-1);
	for (i = 0, j = 0; i < n; i++) {
		if (i == pos) {
			g[i].key = k;
			g[i].klen = klen;
			g[i].payload = payload;
		} else {
			g[i].key = entry_key(nd, j, &g[i].klen);
			g[i].payload = g[i].key + g[i].klen;
			j++;
		}
		total += sizeof(struct slot) + entry_size(g[i].klen, level);
	}
	if (p->rightmost && pos == n - 1u) {
		/* Appending at the far right (a sequential load): keep the old node whole. */
		m = n - 1u;
	} else {
		acc = 0;
		for (m = 0; m < n - 1u; m++) {
			acc += sizeof(struct slot) + entry_size(g[m].klen, level);
			if (acc * 2 >= total)
				break;
		}
		m++;
		if (m >= n)
			m = n - 1u;
	}
	/* m entries go left, n - m right; both sides get at least one. */
	if (level == 0) {
		lk = g[m - 1].key;
		llen = g[m - 1].klen;
		rk = g[m].key;
		rlen = g[m].klen;
		seplen = common_prefix(lk, llen, rk, rlen) + 1;
		if ((sep = malloc(seplen)) == NULL)
			goto out;
		memcpy(sep, rk, seplen);
	} else {
		/* The right node's first key moves up; in the node it becomes minus infinity. */
		seplen = g[m].klen;
		if ((sep = malloc(seplen > 0 ? seplen : 1)) == NULL)
			goto out;
		memcpy(sep, g[m].key, seplen);
		g[m].klen = 0;
	}
	if ((left = node_from(t, level, g, 0, m, 0)) == NULL)
		goto out;
	if ((right = node_from(t, level, g, m, n, level == 0 &&
	    p->rightmost ? GROW_STEP : 0)) == NULL)
		goto out;
	/* The new key may live in left or right: copy done, old node can go. */
	if (d == 0) {
		struct node *root;

		if ((root = node_new(t, level + 1u, round_cap(NODE_HDR +
		    2 * sizeof(struct slot) + entry_size(0, 1) +
		    entry_size(seplen, 1) + GROW_STEP))) == NULL)
			goto out;
		memcpy(ptr, &left, sizeof(ptr));
		node_place(root, 0, NULL, 0, ptr);
		memcpy(ptr, &right, sizeof(ptr));
		node_place(root, 1, sep, seplen, ptr);
		node_free(t, nd);
		t->root = root;
	} else {
		struct node *parent = p->node[d - 1];
		unsigned pidx = p->idx[d - 1];

		child_set(parent, pidx, left);
		memcpy(ptr, &right, sizeof(ptr));
		if (insert_at(t, p, d - 1, pidx + 1u, sep, seplen, ptr) != 0) {
			child_set(p->node[d - 1], p->idx[d - 1], nd);
			goto out;
		}
		node_free(t, nd);
	}
	left = right = NULL;
	r = 0;
out:
	if (left != NULL)
		node_free(t, left);
	if (right != NULL)
		node_free(t, right);
	free(sep);
	free(g);
	return (r);
}

/* Insert (k, payload) at pos of the node at path level d. */
static int
insert_at(struct btree *t, struct path *p, int d, unsigned pos,
    const uint8_t *k, size_t klen, const void *payload)
{
	struct node *nd = p->node[d], *nn;
	unsigned need = entry_size(klen, nd->level) + sizeof(struct slot);
	unsigned max = nd->level == 0 ? LEAF_MAX : INNER_MAX, want;

	if (node_free_bytes(nd) >= need) {
		node_place(nd, pos, k, klen, payload);
		return (0);
	}
	if (node_free_bytes(nd) + nd->garbage >= need) {
		node_pack(t, nd);
		node_place(nd, pos, k, klen, payload);
		return (0);
	}
	want = node_used(nd) + need;
	if (want <= max || nd->n == 0) {
		want = round_cap(want + GROW_STEP);
		if (want > max && node_used(nd) + need <= max)
			want = max;
		if ((nn = node_resize(t, nd, want)) == NULL)
			return (-1);
		relink(t, p, d, nn);
		node_place(nn, pos, k, klen, payload);
		return (0);
	}
	return (split_insert(t, p, d, pos, k, klen, payload));
}

int
btree_put(struct btree *t, const void *key, size_t klen,
    const struct btree_loc *loc, struct btree_loc *old)
{
	struct path p;
	struct node *leaf;
	uint8_t payload[LEAF_PAYLOAD];
	unsigned pos;
	int exact;

	loc_pack(payload, loc);
	if (t->root == NULL) {
		if ((t->root = node_new(t, 0, round_cap(NODE_HDR +
		    sizeof(struct slot) + entry_size(klen, 0) + GROW_STEP))) ==
		    NULL)
			return (-1);
	}
	descend(t, key, klen, &p);
	leaf = p.node[p.depth - 1];
	pos = node_search(leaf, key, klen, 0, &exact);
	if (exact) {
		uint8_t *pl = entry_payload(leaf, pos);

		if (old != NULL)
			loc_unpack(pl, old);
		memcpy(pl, payload, LEAF_PAYLOAD);
		return (1);
	}
	if (insert_at(t, &p, p.depth - 1, pos, key, klen, payload) != 0)
		return (-1);
	t->count++;
	return (0);
}

/* Drop an emptied node at path level d and its entry in the parent. */
static void
remove_empty(struct btree *t, struct path *p, int d)
{
	struct node *nd = p->node[d], *parent;

	while (d > 0 && nd->n == 0) {
		node_free(t, nd);
		parent = p->node[d - 1];
		node_remove(parent, p->idx[d - 1]);
		nd = parent;
		d--;
	}
	if (d == 0 && nd->n == 0) {
		node_free(t, nd);
		t->root = NULL;
		return;
	}
	/* A root with one child is one level too many. */
	while (t->root->level > 0 && t->root->n == 1) {
		nd = t->root;
		t->root = child_at(nd, 0);
		node_free(t, nd);
	}
}

int
btree_delete(struct btree *t, const void *key, size_t klen,
    struct btree_loc *old)
{
	struct path p;
	struct node *leaf, *nn;
	unsigned pos, used;
	int exact;

	if (t->root == NULL)
		return (0);
	descend(t, key, klen, &p);
	leaf = p.node[p.depth - 1];
	pos = node_search(leaf, key, klen, 0, &exact);
	if (!exact)
		return (0);
	if (old != NULL)
		loc_unpack(entry_payload(leaf, pos), old);
	node_remove(leaf, pos);
	t->count--;
	if (leaf->n == 0) {
		remove_empty(t, &p, p.depth - 1);
		return (1);
	}
	/* Give memory back once a leaf is mostly empty. */
	used = node_used(leaf);
	if (leaf->cap > 2 * used + GROW_STEP) {
		nn = node_resize(t, leaf, round_cap(used + GROW_STEP / 2));
		relink(t, &p, p.depth - 1, nn);
	}
	return (1);
}

int
btree_move(struct btree *t, const void *key, size_t klen, uint32_t from_seg,
    uint32_t from_off, const struct btree_loc *to)
{
	const struct node *nd;
	struct btree_loc cur;
	unsigned pos;
	int exact;

	if ((nd = find_leaf(t, key, klen)) == NULL)
		return (0);
	pos = node_search(nd, key, klen, 0, &exact);
	if (!exact)
		return (0);
	loc_unpack(entry_payload(nd, pos), &cur);
	if (cur.seg != from_seg || cur.off != from_off)
		return (0);
	loc_pack(entry_payload(nd, pos), to);
	return (1);
}

/* ---- cursors ---- */

static int
cursor_settle(struct btree_cursor *c)
{
	struct node *nd;
	int d;

	/* Move past exhausted nodes: up until a node has a next child, then down its left edge. */
	for (;;) {
		d = c->depth - 1;
		nd = c->path[d].node;
		if (c->path[d].idx < nd->n)
			break;
		while (d > 0) {
			d--;
			nd = c->path[d].node;
			if (++c->path[d].idx < nd->n)
				break;
		}
		if (c->path[d].idx >= ((struct node *)c->path[d].node)->n) {
			c->depth = 0;
			return (0);
		}
		while (nd->level > 0) {
			nd = child_at(nd, c->path[d].idx);
			d++;
			c->path[d].node = nd;
			c->path[d].idx = 0;
		}
		c->depth = d + 1;
	}
	return (1);
}

int
btree_seek(const struct btree *t, struct btree_cursor *c, const void *key,
    size_t klen)
{
	struct node *nd = t->root;
	int exact;

	c->t = t;
	c->depth = 0;
	if (nd == NULL)
		return (0);
	for (;;) {
		unsigned i;

		if (nd->level == 0) {
			i = klen == 0 ? 0 : node_search(nd, key, klen, 0,
			    &exact);
			c->path[c->depth].node = nd;
			c->path[c->depth].idx = i;
			c->depth++;
			break;
		}
		i = klen == 0 ? 0 : inner_child_index(nd, key, klen);
		c->path[c->depth].node = nd;
		c->path[c->depth].idx = i;
		c->depth++;
		nd = child_at(nd, i);
	}
	return (cursor_settle(c));
}

int
btree_next(struct btree_cursor *c)
{
	if (c->depth == 0)
		return (0);
	c->path[c->depth - 1].idx++;
	return (cursor_settle(c));
}

int
btree_cursor_get(const struct btree_cursor *c, const uint8_t **key,
    size_t *klen, struct btree_loc *loc)
{
	const struct node *nd;
	unsigned i;

	if (c->depth == 0)
		return (0);
	nd = c->path[c->depth - 1].node;
	i = c->path[c->depth - 1].idx;
	*key = entry_key(nd, i, klen);
	if (loc != NULL)
		loc_unpack(*key + *klen, loc);
	return (1);
}

/* ---- bulk loading ---- */

struct btree_builder {
	struct btree	*t;
	struct node	*cur[BTREE_MAX_HEIGHT];		/* open node per level */
	uint8_t		*sep[BTREE_MAX_HEIGHT];		/* separator of the open node */
	size_t		 seplen[BTREE_MAX_HEIGHT];
	size_t		 closed[BTREE_MAX_HEIGHT];	/* nodes closed per level */
	int		 failed;
};

struct btree_builder *
btree_builder_new(void)
{
	struct btree_builder *b;

	if ((b = calloc(1, sizeof(*b))) == NULL)
		return (NULL);
	if ((b->t = btree_new()) == NULL) {
		free(b);
		return (NULL);
	}
	return (b);
}

static void
builder_discard(struct btree_builder *b)
{
	int l;

	for (l = 0; l < BTREE_MAX_HEIGHT; l++) {
		if (b->cur[l] != NULL)
			free_subtree(b->t, b->cur[l]);
		free(b->sep[l]);
	}
	btree_free(b->t);
	free(b);
}

void
btree_builder_free(struct btree_builder *b)
{
	if (b != NULL)
		builder_discard(b);
}

/* Append an entry at the end of node *ndp, growing it; -1 if memory is short. */
static int
builder_append(struct btree *t, struct node **ndp, const uint8_t *k,
    size_t klen, const void *payload)
{
	struct node *nd = *ndp, *nn;
	unsigned need = entry_size(klen, nd->level) + sizeof(struct slot);

	if (node_free_bytes(nd) < need) {
		if ((nn = node_resize(t, nd, round_cap(node_used(nd) + need +
		    GROW_STEP))) == NULL)
			return (-1);
		*ndp = nd = nn;
	}
	/* Hints are set when the node closes; node_place needs a valid lcp meanwhile. */
	nd->heap = (uint16_t)(nd->heap - (need - sizeof(struct slot)));
	{
		uint8_t *e = (uint8_t *)nd + nd->heap;

		e += varint_put(e, klen);
		if (klen > 0)
			memcpy(e, k, klen);
		memcpy(e + klen, payload, payload_size(nd->level));
	}
	nd->slot[nd->n].off = nd->heap;
	nd->slot[nd->n].hint = 0;
	nd->n++;
	return (0);
}

static int builder_push(struct btree_builder *b, int level, const uint8_t *sep,
    size_t seplen, struct node *child);

/* Close the open node at level: finish its hints, hand it to the level above. */
static int
builder_close(struct btree_builder *b, int level)
{
	struct node *nd = b->cur[level];
	unsigned used = node_used(nd);
	int r;

	if (nd->cap > round_cap(used) && nd->level > 0) {
		struct node *nn;

		/* Inner nodes are rarely written again: trim them exactly. */
		if ((nn = node_resize(b->t, nd, round_cap(used))) != NULL)
			nd = nn;
	}
	node_rehint(nd);
	b->cur[level] = NULL;
	b->closed[level]++;
	r = builder_push(b, level + 1, b->sep[level], b->seplen[level], nd);
	free(b->sep[level]);
	b->sep[level] = NULL;
	return (r);
}

static int
builder_open(struct btree_builder *b, int level, const uint8_t *sep,
    size_t seplen)
{
	unsigned cap = level == 0 ? LEAF_MAX : INNER_MAX;

	if ((b->cur[level] = node_new(b->t, (unsigned)level, cap)) == NULL)
		return (-1);
	b->seplen[level] = seplen;
	b->sep[level] = NULL;
	if (sep != NULL) {
		if ((b->sep[level] = malloc(seplen > 0 ? seplen : 1)) == NULL)
			return (-1);
		memcpy(b->sep[level], sep, seplen);
	}
	return (0);
}

static int
builder_push(struct btree_builder *b, int level, const uint8_t *sep,
    size_t seplen, struct node *child)
{
	uint8_t ptr[sizeof(void *)];
	struct node *nd;

	if (level >= BTREE_MAX_HEIGHT) {
		free_subtree(b->t, child);
		return (-1);
	}
	memcpy(ptr, &child, sizeof(ptr));
	nd = b->cur[level];
	if (nd != NULL && node_used(nd) + entry_size(seplen, 1) +
	    sizeof(struct slot) > INNER_MAX * 9 / 10 && nd->n >= 2) {
		if (builder_close(b, level) != 0) {
			free_subtree(b->t, child);
			return (-1);
		}
		nd = NULL;
	}
	if (nd == NULL) {
		/* The first child of a node is minus infinity; its key goes up instead. */
		if (builder_open(b, level, sep, seplen) != 0 ||
		    builder_append(b->t, &b->cur[level], NULL, 0, ptr) != 0) {
			free_subtree(b->t, child);
			return (-1);
		}
		return (0);
	}
	if (builder_append(b->t, &b->cur[level], sep, seplen, ptr) != 0) {
		free_subtree(b->t, child);
		return (-1);
	}
	return (0);
}

int
btree_builder_add(struct btree_builder *b, const void *key, size_t klen,
    const struct btree_loc *loc)
{
	uint8_t payload[LEAF_PAYLOAD];
	struct node *leaf = b->cur[0];

	if (b->failed)
		return (-1);
	loc_pack(payload, loc);
	if (leaf != NULL && leaf->n > 0 && node_used(leaf) +
	    entry_size(klen, 0) + sizeof(struct slot) > BUILD_FILL) {
		const uint8_t *lk;
		size_t llen, seplen;

		lk = entry_key(leaf, leaf->n - 1u, &llen);
		seplen = common_prefix(lk, llen, key, klen) + 1;
		/* The separator must outlive the leaf it was cut from: copy it first. */
		if (seplen > klen)
			seplen = klen;
		if (builder_close(b, 0) != 0 ||
		    builder_open(b, 0, key, seplen) != 0) {
			b->failed = 1;
			return (-1);
		}
		leaf = NULL;
	}
	if (b->cur[0] == NULL && builder_open(b, 0, NULL, 0) != 0) {
		b->failed = 1;
		return (-1);
	}
	if (builder_append(b->t, &b->cur[0], key, klen, payload) != 0) {
		b->failed = 1;
		return (-1);
	}
	b->t->count++;
	return (0);
}

struct btree *
btree_builder_finish(struct btree_builder *b)
{
	struct btree *t;
	int l;

	if (b->failed) {
		builder_discard(b);
		return (NULL);
	}
	for (l = 0; l < BTREE_MAX_HEIGHT; l++) {
		if (b->cur[l] == NULL) {
			if (l + 1 < BTREE_MAX_HEIGHT && b->cur[l + 1] != NULL)
				continue;
			break;
		}
		if (b->closed[l] == 0 && (l + 1 >= BTREE_MAX_HEIGHT ||
		    b->cur[l + 1] == NULL)) {
			/* The only node of the top level is the root. */
			node_rehint(b->cur[l]);
			b->t->root = b->cur[l];
			b->cur[l] = NULL;
			break;
		}
		if (builder_close(b, l) != 0) {
			builder_discard(b);
			return (NULL);
		}
	}
	t = b->t;
	b->t = NULL;
	for (l = 0; l < BTREE_MAX_HEIGHT; l++)
		free(b->sep[l]);
	free(b);
	return (t);
}

/* ---- checking ---- */

static int
check_node(const struct node *nd, const uint8_t *lo, size_t lolen,
    const uint8_t *hi, size_t hilen, size_t *count, int *leafdepth, int depth,
    const char **why)
{
	unsigned i, first = node_first(nd), used = NODE_HDR;
	const uint8_t *k, *pk = NULL, *fk = NULL;
	size_t klen, pklen = 0, fklen = 0;

	if (nd->n == 0) {
		*why = "empty node";
		return (-1);
	}
	for (i = 0; i < nd->n; i++) {
		used += sizeof(struct slot) + entry_bytes(nd, i);
		if (nd->slot[i].off < nd->heap || nd->slot[i].off >= nd->cap) {
			*why = "slot offset outside heap";
			return (-1);
		}
	}
	if (used + nd->garbage + node_free_bytes(nd) != nd->cap) {
		*why = "node byte accounting";
		return (-1);
	}
	for (i = first; i < nd->n; i++) {
		k = entry_key(nd, i, &klen);
		if (fk == NULL) {
			fk = k;
			fklen = klen;
		}
		if (common_prefix(k, klen, fk, fklen) < nd->lcp ||
		    klen < nd->lcp || memcmp(k, nd->pfx, nd->lcp < PFX_INLINE ?
		    nd->lcp : PFX_INLINE) != 0) {
			*why = "key does not share the node prefix";
			return (-1);
		}
		if (nd->slot[i].hint != hint_of(k, klen, nd->lcp)) {
			*why = "stale hint";
			return (-1);
		}
		if (pk != NULL && keycmp(pk, pklen, k, klen) >= 0) {
			*why = "keys out of order";
			return (-1);
		}
		if (lo != NULL && keycmp(k, klen, lo, lolen) < 0) {
			*why = "key below its lower bound";
			return (-1);
		}
		if (hi != NULL && keycmp(k, klen, hi, hilen) >= 0) {
			*why = "key at or above its upper bound";
			return (-1);
		}
		pk = k;
		pklen = klen;
	}
	if (nd->level == 0) {
		*count += nd->n;
		if (*leafdepth < 0)
			*leafdepth = depth;
		else if (*leafdepth != depth) {
			*why = "leaves at different depths";
			return (-1);
		}
		return (0);
	}
	for (i = 0; i < nd->n; i++) {
		const uint8_t *clo = lo, *chi = hi;
		size_t clolen = lolen, chilen = hilen;
		const struct node *c = child_at(nd, i);

		if (c->level + 1u != nd->level) {
			*why = "child level";
			return (-1);
		}
		if (i > 0)
			clo = entry_key(nd, i, &clolen);
		if (i + 1u < nd->n)
			chi = entry_key(nd, i + 1u, &chilen);
		if (check_node(c, clo, clolen, chi, chilen, count, leafdepth,
		    depth + 1, why) != 0)
			return (-1);
	}
	return (0);
}

int
btree_check(const struct btree *t, const char **why)
{
	size_t count = 0;
	int leafdepth = -1;

	if (t->root == NULL) {
		if (t->count != 0) {
			*why = "count of an empty tree";
			return (-1);
		}
		return (0);
	}
	if (check_node(t->root, NULL, 0, NULL, 0, &count, &leafdepth, 0,
	    why) != 0)
		return (-1);
	if (count != t->count) {
		*why = "key count";
		return (-1);
	}
	return (0);
}
