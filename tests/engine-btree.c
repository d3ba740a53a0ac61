/*
 * engine-btree.c: the ordered index agrees with a simple sorted array under
 * random inserts, overwrites, deletes, seeks and bulk loads, and keeps its
 * structural invariants (order, hints, balanced depth) throughout.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/btree.h"

struct ref {
	uint8_t		key[40];
	size_t		klen;
	struct btree_loc loc;
	int		live;
};

static uint64_t
rnd(uint64_t *s)
{
	/* xorshift64*: reproducible without touching libc's global rand state. */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return (*s * 2685821657736338717ull);
}

static int
refcmp(const void *a, const void *b)
{
	const struct ref *x = a, *y = b;
	size_t n = x->klen < y->klen ? x->klen : y->klen;
	int c = memcmp(x->key, y->key, n);

	if (c != 0)
		return (c);
	return ((x->klen > y->klen) - (x->klen < y->klen));
}

/* Keys from a small alphabet with shared prefixes, NULs and varied lengths. */
static void
make_key(uint64_t *s, uint8_t *k, size_t *klen, int style)
{
	size_t i, n;

	switch (style) {
	case 0:		/* random binary, 1..40 bytes */
		n = 1 + rnd(s) % 40;
		for (i = 0; i < n; i++)
			k[i] = (uint8_t)rnd(s);
		break;
	case 1:		/* long shared prefix, differing late, NUL bytes */
		n = 20 + rnd(s) % 4;
		memset(k, 'p', 16);
		for (i = 16; i < n; i++)
			k[i] = (uint8_t)(rnd(s) % 3);
		break;
	default:	/* few distinct short keys */
		n = 1 + rnd(s) % 3;
		for (i = 0; i < n; i++)
			k[i] = (uint8_t)('a' + rnd(s) % 4);
		break;
	}
	*klen = n;
}

static void
check_tree(struct btree *t)
{
	const char *why = NULL;

	if (btree_check(t, &why) != 0)
		fail_msg("btree_check: %s", why);
}

static void
compare_all(struct btree *t, struct ref *refs, size_t nref)
{
	struct btree_cursor c;
	const uint8_t *k;
	size_t klen, i, live = 0;
	struct btree_loc loc;
	int more;

	qsort(refs, nref, sizeof(*refs), refcmp);
	more = btree_seek(t, &c, NULL, 0);
	for (i = 0; i < nref; i++) {
		if (!refs[i].live)
			continue;
		live++;
		assert_true(more);
		assert_int_equal(btree_cursor_get(&c, &k, &klen, &loc), 1);
		assert_int_equal(klen, refs[i].klen);
		assert_memory_equal(k, refs[i].key, klen);
		assert_int_equal(loc.seq, refs[i].loc.seq);
		assert_int_equal(loc.off, refs[i].loc.off);
		more = btree_next(&c);
	}
	assert_false(more);
	assert_int_equal(btree_count(t), live);
}

static struct ref *
find_ref(struct ref *refs, size_t nref, const uint8_t *k, size_t klen)
{
	size_t i;

	for (i = 0; i < nref; i++)
		if (refs[i].klen == klen && memcmp(refs[i].key, k, klen) == 0)
			return (&refs[i]);
	return (NULL);
}

/*
 * btree_get_many() over every key ever used (present or deleted) and some
 * fresh ones, in runs of varying length (past BTREE_BATCH too), agrees
 * with the reference.
 */
static void
check_many(struct btree *t, struct ref *refs, size_t nref, uint64_t *s,
    int style)
{
	enum { RUN = BTREE_BATCH + 5 };
	uint8_t fresh[RUN][40];
	const uint8_t *keys[RUN];
	size_t klens[RUN], i = 0, j, m;
	struct btree_loc locs[RUN];
	int found[RUN];
	struct ref *r;

	while (i < nref) {
		m = 1 + rnd(s) % RUN;
		for (j = 0; j < m; j++) {
			if (i < nref && rnd(s) % 4 != 0) {
				keys[j] = refs[i].key;
				klens[j] = refs[i].klen;
				i++;
			} else {
				make_key(s, fresh[j], &klens[j], style);
				keys[j] = fresh[j];
			}
		}
		btree_get_many(t, keys, klens, (unsigned)m, locs, found);
		for (j = 0; j < m; j++) {
			r = find_ref(refs, nref, keys[j], klens[j]);
			if (found[j] != (r != NULL && r->live))
				fail_msg("get_many: key %zu of %zu: found %d",
				    j, m, found[j]);
			if (found[j])
				assert_int_equal(locs[j].seq, r->loc.seq);
		}
	}
}

static void
random_ops(int style, size_t nops, size_t maxref)
{
	struct btree *t = btree_new();
	struct ref *refs = calloc(maxref, sizeof(*refs)), *r;
	size_t nref = 0, i;
	uint64_t s = 0x9e3779b97f4a7c15ull + (uint64_t)style;
	uint8_t k[40];
	size_t klen;
	struct btree_loc loc, old;
	int ret;

	assert_non_null(t);
	assert_non_null(refs);
	for (i = 0; i < nops; i++) {
		make_key(&s, k, &klen, style);
		r = find_ref(refs, nref, k, klen);
		switch (rnd(&s) % 4) {
		case 0:
		case 1:
			memset(&loc, 0, sizeof(loc));
			loc.seq = i + 1;
			loc.off = (uint32_t)rnd(&s);
			loc.seg = (uint32_t)(i % 7);
			ret = btree_put(t, k, klen, &loc, &old);
			if (r != NULL && r->live) {
				assert_int_equal(ret, 1);
				assert_int_equal(old.seq, r->loc.seq);
			} else
				assert_int_equal(ret, 0);
			if (r == NULL) {
				assert_true(nref < maxref);
				r = &refs[nref++];
				memcpy(r->key, k, klen);
				r->klen = klen;
			}
			r->loc = loc;
			r->live = 1;
			break;
		case 2:
			ret = btree_delete(t, k, klen, &old);
			assert_int_equal(ret, r != NULL && r->live);
			if (ret)
				r->live = 0;
			break;
		default:
			ret = btree_get(t, k, klen, &loc);
			assert_int_equal(ret == 0, r != NULL && r->live);
			if (ret == 0)
				assert_int_equal(loc.seq, r->loc.seq);
			break;
		}
		if (i % 997 == 0)
			check_tree(t);
	}
	check_tree(t);
	check_many(t, refs, nref, &s, style);
	compare_all(t, refs, nref);
	btree_free(t);
	free(refs);
}

static void
test_random_binary(void **state)
{
	(void)state;
	random_ops(0, 60000, 60000);
}

static void
test_shared_prefix_and_nul(void **state)
{
	(void)state;
	random_ops(1, 60000, 60000);
}

static void
test_tiny_keyspace(void **state)
{
	(void)state;
	random_ops(2, 20000, 200);
}

/* Seek lands on the first key >= the probe, including between NUL-suffixed keys. */
static void
test_seek(void **state)
{
	struct btree *t = btree_new();
	struct btree_cursor c;
	struct btree_loc loc = { 0, 0, 0, 1 };
	const uint8_t *k;
	size_t klen, i;
	char buf[16];

	(void)state;
	assert_non_null(t);
	assert_int_equal(btree_seek(t, &c, "a", 1), 0);
	for (i = 0; i < 5000; i++) {
		snprintf(buf, sizeof(buf), "k%05zu", i * 2);
		loc.seq = i;
		assert_int_equal(btree_put(t, buf, strlen(buf), &loc, NULL), 0);
	}
	assert_int_equal(btree_put(t, "k00002\0", 7, &loc, NULL), 0);
	assert_int_equal(btree_seek(t, &c, "k00001", 6), 1);
	assert_int_equal(btree_cursor_get(&c, &k, &klen, NULL), 1);
	assert_int_equal(klen, 6);
	assert_memory_equal(k, "k00002", 6);
	assert_int_equal(btree_next(&c), 1);
	assert_int_equal(btree_cursor_get(&c, &k, &klen, NULL), 1);
	assert_int_equal(klen, 7);
	assert_memory_equal(k, "k00002\0", 7);
	assert_int_equal(btree_seek(t, &c, "k99999", 6), 0);
	assert_int_equal(btree_seek(t, &c, "a", 1), 1);
	assert_int_equal(btree_cursor_get(&c, &k, &klen, NULL), 1);
	assert_memory_equal(k, "k00000", 6);
	check_tree(t);
	btree_free(t);
}

/* A bulk-loaded tree holds the same keys and stays correct under later writes. */
static void
test_builder(void **state)
{
	struct btree_builder *b;
	struct btree *t;
	struct btree_loc loc = { 1, 2, 3, 4 };
	char buf[32];
	size_t i, n = 50000;
	int ret;

	(void)state;
	for (size_t count = 0; count < 3; count++) {
		size_t want = count == 0 ? 0 : count == 1 ? 1 : n;

		assert_non_null(b = btree_builder_new());
		for (i = 0; i < want; i++) {
			snprintf(buf, sizeof(buf), "key:%08zu", i * 3);
			loc.seq = i;
			assert_int_equal(btree_builder_add(b, buf, strlen(buf),
			    &loc), 0);
		}
		assert_non_null(t = btree_builder_finish(b));
		check_tree(t);
		assert_int_equal(btree_count(t), want);
		for (i = 0; i < want; i += 7) {
			snprintf(buf, sizeof(buf), "key:%08zu", i * 3);
			assert_int_equal(btree_get(t, buf, strlen(buf), &loc), 0);
			assert_int_equal(loc.seq, i);
			snprintf(buf, sizeof(buf), "key:%08zu", i * 3 + 1);
			assert_int_equal(btree_get(t, buf, strlen(buf), &loc), -1);
			ret = btree_put(t, buf, strlen(buf), &loc, NULL);
			assert_int_equal(ret, 0);
		}
		for (i = 0; i < want; i += 2) {
			snprintf(buf, sizeof(buf), "key:%08zu", i * 3);
			assert_int_equal(btree_delete(t, buf, strlen(buf), NULL), 1);
		}
		check_tree(t);
		btree_free(t);
	}
}

/* Keys of the largest size force nodes that hold only one or two entries. */
static void
test_huge_keys(void **state)
{
	struct btree *t = btree_new();
	uint8_t *k = malloc(16384);
	struct btree_loc loc = { 0, 0, 0, 0 };
	size_t i;

	(void)state;
	assert_non_null(t);
	assert_non_null(k);
	memset(k, 'x', 16384);
	for (i = 0; i < 300; i++) {
		k[16383 - (i % 50)] = (uint8_t)(i * 7);
		k[100] = (uint8_t)i;
		loc.seq = i;
		(void)btree_put(t, k, 16384 - (i % 3), &loc, NULL);
	}
	check_tree(t);
	for (i = 0; i < 300; i += 2) {
		k[16383 - (i % 50)] = (uint8_t)(i * 7);
		k[100] = (uint8_t)i;
		(void)btree_delete(t, k, 16384 - (i % 3), NULL);
	}
	check_tree(t);
	btree_free(t);
	free(k);
}

/* btree_move only moves a key that still points where compaction read it. */
static void
test_move(void **state)
{
	struct btree *t = btree_new();
	struct btree_loc a = { 3, 100, 5, 7 }, b = { 9, 48, 5, 7 }, got;

	(void)state;
	assert_int_equal(btree_put(t, "k", 1, &a, NULL), 0);
	assert_int_equal(btree_move(t, "k", 1, 3, 99, &b), 0);
	assert_int_equal(btree_move(t, "x", 1, 3, 100, &b), 0);
	assert_int_equal(btree_move(t, "k", 1, 3, 100, &b), 1);
	assert_int_equal(btree_get(t, "k", 1, &got), 0);
	assert_int_equal(got.seg, 9);
	assert_int_equal(got.off, 48);
	btree_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random_binary),
		cmocka_unit_test(test_shared_prefix_and_nul),
		cmocka_unit_test(test_tiny_keyspace),
		cmocka_unit_test(test_seek),
		cmocka_unit_test(test_builder),
		cmocka_unit_test(test_huge_keys),
		cmocka_unit_test(test_move),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
