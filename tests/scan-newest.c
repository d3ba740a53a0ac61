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
	uint32_t	*klens;
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
 * Push n records drawn from the keys of ks, with distinct seqs in a
 * shuffled order, then compare scan_newest with qsort and a plain dedupe.
 */
static void
check(struct keyset *ks, size_t n)
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
		e.klen = ks->klens[k];
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
	ks->klens = calloc(n, sizeof(*ks->klens));
	assert_non_null(ks->keys);
	assert_non_null(ks->klens);
	ks->n = n;
	ks->rng = seed;
}

/*
 * n random keys: each begins with as much of prefix as it is long, is
 * minlen to minlen + spread - 1 bytes long, and its other bytes are drawn
 * from 0 .. alphabet - 1.
 */
static void
keyset_random(struct keyset *ks, size_t n, uint64_t seed, const char *prefix,
    unsigned minlen, unsigned spread, unsigned alphabet)
{
	size_t i, k, plen = strlen(prefix);

	keyset_init(ks, n, seed);
	for (i = 0; i < n; i++) {
		ks->klens[i] = (uint32_t)(minlen + next(ks) % spread);
		for (k = 0; k < ks->klens[i]; k++)
			ks->keys[i][k] = k < plen ? (uint8_t)prefix[k] :
			    (uint8_t)(next(ks) % alphabet);
	}
}

static void
keyset_free(struct keyset *ks)
{
	free(ks->keys);
	free(ks->klens);
}

/* Bench-style keys: "key:" and 12 digits, 7 of them leading zeros. */
static void
test_shared_prefix(void **state)
{
	struct keyset ks;
	size_t i;

	(void)state;
	keyset_init(&ks, 5000, 88172645463325252ULL);
	for (i = 0; i < ks.n; i++) {
		char buf[32];

		snprintf(buf, sizeof(buf), "key:%012zu", i * 7);
		memcpy(ks.keys[i], buf, 16);
		ks.klens[i] = 16;
	}
	check(&ks, 30000);
	check(&ks, 1);
	check(&ks, 0);
	keyset_free(&ks);
}

/*
 * Short random keys over a tiny alphabet that includes 0: many keys are
 * prefixes of others, and "a" must sort before "a\0".
 */
static void
test_prefixes_and_zeros(void **state)
{
	struct keyset ks;

	(void)state;
	keyset_random(&ks, 3000, 0x9e3779b97f4a7c15ULL, "", 1, 12, 3);
	check(&ks, 20000);
	keyset_free(&ks);
}

/*
 * Keys that share 20 bytes and then 8 more, so they differ only past
 * the bytes the sort looks at first; some lengths end inside those 8.
 */
static void
test_differ_late(void **state)
{
	struct keyset ks;

	(void)state;
	keyset_random(&ks, 4000, 0x2545f4914f6cdd1dULL,
	    "pppppppppppppppppppppppppppp", 20, 40, 4);
	check(&ks, 25000);
	keyset_free(&ks);
}

/* The shortest key is the prefix of all the others. */
static void
test_prefix_is_a_key(void **state)
{
	struct keyset ks;

	(void)state;
	keyset_random(&ks, 500, 0xdeadbeefcafef00dULL, "user:", 6, 20, 256);
	ks.klens[0] = 5;
	check(&ks, 8000);
	keyset_free(&ks);
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
