/*
 * scan-newest.c: scan_newest sorts by key and keeps each key's newest
 * record.  Its sort compares 8 bytes past the prefix all keys share before
 * it reads the keys, so the cases here are the ones that shortcut could
 * get wrong: keys that are prefixes of others, zero bytes inside keys
 * (which look like the padding past a short key's end), keys that differ
 * only beyond those 8 bytes, one shared prefix as long as the shortest
 * key, and newest records found before and after older ones.  Each result
 * is checked against a plain sort.
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

#include "daemon/scan.h"

#define KEY_ROOM	64

struct keyset {
	uint8_t		(*keys)[KEY_ROOM];
	size_t		 n;
	uint64_t	 rng;
};

static uint64_t
next(struct keyset *ks)
{
	ks->rng ^= ks->rng << 13;
	ks->rng ^= ks->rng >> 7;
	ks->rng ^= ks->rng << 17;
	return (ks->rng);
}

static int
refcmp(const void *a, const void *b)
{
	const struct hint_entry *x = a, *y = b;
	size_t n = x->klen < y->klen ? x->klen : y->klen;
	int c = memcmp(x->key, y->key, n);

	if (c != 0)
		return (c);
	if (x->klen != y->klen)
		return (x->klen < y->klen ? -1 : 1);
	return ((x->seq < y->seq) - (x->seq > y->seq));
}

/*
 * Push n records drawn from the keys of ks (each key klens[i] long), with
 * distinct seqs in a shuffled order, then compare scan_newest with qsort
 * and a plain dedupe.
 */
static void
check(struct keyset *ks, const uint32_t *klens, size_t n)
{
	struct scan s;
	struct hint_entry e, *ref;
	size_t i, j, m;

	assert_true(n < 100000);
	memset(&s, 0, sizeof(s));
	ref = calloc(n > 0 ? n : 1, sizeof(*ref));
	assert_non_null(ref);
	for (i = 0; i < n; i++) {
		size_t k = (size_t)(next(ks) % ks->n);

		memset(&e, 0, sizeof(e));
		e.key = ks->keys[k];
		e.klen = klens[k];
		e.off = (uint32_t)i;
		/* Seqs unique but not in file order, as after a compaction. */
		e.seq = (next(ks) % 1000000) * 100000 + i + 1;
		e.type = (uint8_t)(i & 1);
		assert_int_equal(scan_push(&s, &e), 0);
		ref[i] = e;
	}
	assert_int_equal(scan_newest(&s), 0);
	if (n == 0) {
		assert_int_equal(s.n, 0);
		goto out;
	}
	qsort(ref, n, sizeof(*ref), refcmp);
	for (i = 1, m = 0; i < n; i++) {
		if (ref[i].klen == ref[m].klen &&
		    memcmp(ref[i].key, ref[m].key, ref[i].klen) == 0)
			continue;
		ref[++m] = ref[i];
	}
	m++;
	assert_int_equal(s.n, m);
	for (j = 0; j < m; j++) {
		assert_ptr_equal(s.ents[j].key, ref[j].key);
		assert_int_equal(s.ents[j].klen, ref[j].klen);
		assert_int_equal(s.ents[j].seq, ref[j].seq);
		assert_int_equal(s.ents[j].off, ref[j].off);
		assert_int_equal(s.ents[j].type, ref[j].type);
	}
out:
	scan_free(&s);
	free(ref);
}

static void
keyset_init(struct keyset *ks, size_t n, uint64_t seed)
{
	ks->keys = calloc(n, KEY_ROOM);
	assert_non_null(ks->keys);
	ks->n = n;
	ks->rng = seed;
}

/* Bench-style keys: "key:" and 12 digits, 7 of them leading zeros. */
static void
test_shared_prefix(void **state)
{
	struct keyset ks;
	uint32_t *kl;
	size_t i;

	(void)state;
	keyset_init(&ks, 5000, 88172645463325252ULL);
	kl = calloc(ks.n, sizeof(*kl));
	assert_non_null(kl);
	for (i = 0; i < ks.n; i++) {
		char buf[32];

		snprintf(buf, sizeof(buf), "key:%012zu", i * 7);
		memcpy(ks.keys[i], buf, 16);
		kl[i] = 16;
	}
	check(&ks, kl, 30000);
	check(&ks, kl, 1);
	check(&ks, kl, 0);
	free(kl);
	free(ks.keys);
}

/*
 * Short random keys over a tiny alphabet that includes 0: many keys are
 * prefixes of others, and "a" must sort before "a\0".
 */
static void
test_prefixes_and_zeros(void **state)
{
	struct keyset ks;
	uint32_t *kl;
	size_t i, k;

	(void)state;
	keyset_init(&ks, 3000, 0x9e3779b97f4a7c15ULL);
	kl = calloc(ks.n, sizeof(*kl));
	assert_non_null(kl);
	for (i = 0; i < ks.n; i++) {
		kl[i] = (uint32_t)(1 + next(&ks) % 12);
		for (k = 0; k < kl[i]; k++)
			ks.keys[i][k] = (uint8_t)(next(&ks) % 3);
	}
	check(&ks, kl, 20000);
	free(kl);
	free(ks.keys);
}

/*
 * Keys that share 20 bytes and then 8 more, so they differ only past
 * the bytes the sort looks at first; some lengths end inside those 8.
 */
static void
test_differ_late(void **state)
{
	struct keyset ks;
	uint32_t *kl;
	size_t i, k;

	(void)state;
	keyset_init(&ks, 4000, 0x2545f4914f6cdd1dULL);
	kl = calloc(ks.n, sizeof(*kl));
	assert_non_null(kl);
	for (i = 0; i < ks.n; i++) {
		memset(ks.keys[i], 'p', 28);
		kl[i] = (uint32_t)(20 + next(&ks) % 40);
		for (k = 28; k < kl[i]; k++)
			ks.keys[i][k] = (uint8_t)(next(&ks) % 4);
	}
	check(&ks, kl, 25000);
	free(kl);
	free(ks.keys);
}

/* The shortest key is the prefix of all the others. */
static void
test_prefix_is_a_key(void **state)
{
	struct keyset ks;
	uint32_t *kl;
	size_t i, k;

	(void)state;
	keyset_init(&ks, 500, 0xdeadbeefcafef00dULL);
	kl = calloc(ks.n, sizeof(*kl));
	assert_non_null(kl);
	for (i = 0; i < ks.n; i++) {
		memcpy(ks.keys[i], "user:", 5);
		kl[i] = (uint32_t)(i == 0 ? 5 : 5 + 1 + next(&ks) % 20);
		for (k = 5; k < kl[i]; k++)
			ks.keys[i][k] = (uint8_t)(next(&ks) % 256);
	}
	check(&ks, kl, 8000);
	free(kl);
	free(ks.keys);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shared_prefix),
		cmocka_unit_test(test_prefixes_and_zeros),
		cmocka_unit_test(test_differ_late),
		cmocka_unit_test(test_prefix_is_a_key),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
