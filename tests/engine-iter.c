/*
 * engine-iter.c: iteration returns keys in ascending byte order, honours
 * start (inclusive or exclusive), end, prefix and limit, reports whether
 * more remain, pages without repeats or gaps, and tells keys that differ
 * only after a NUL byte apart.
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

#include "daemon/engine.h"
#include "tests/engine-util.h"

struct page {
	char	keys[512][24];
	size_t	klens[512];
	char	vals[512][24];
	size_t	n;
	size_t	stop_after;	/* 0: never stop */
};

static int
collect(void *arg, const struct engine_entry *ent)
{
	struct page *p = arg;

	assert_true(p->n < 512);
	assert_true(ent->klen < sizeof(p->keys[0]));
	memcpy(p->keys[p->n], ent->key, ent->klen);
	p->klens[p->n] = ent->klen;
	if (ent->value != NULL) {
		assert_true(ent->vlen < sizeof(p->vals[0]));
		memcpy(p->vals[p->n], ent->value, ent->vlen);
		p->vals[p->n][ent->vlen] = '\0';
	} else
		p->vals[p->n][0] = '\0';
	p->n++;
	return (p->stop_after > 0 && p->n == p->stop_after);
}

static void
fill(struct tenv *t)
{
	static const char *keys[] = {
		"apple", "apricot", "banana", "band", "bandana", "cherry",
		"date", "fig", "grape", "kiwi",
	};
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		tenv_put(t, keys[i], keys[i]);
	/* Keys that differ only after a NUL byte. */
	assert_int_equal(engine_put(t->e, "nul\0a", 5, "A", 1, NULL), 0);
	assert_int_equal(engine_put(t->e, "nul\0b", 5, "B", 1, NULL), 0);
	assert_int_equal(engine_put(t->e, "nul\0", 4, "0", 1, NULL), 0);
	assert_int_equal(engine_put(t->e, "nul", 3, "-", 1, NULL), 0);
}

static void
iter(struct tenv *t, const char *start, size_t slen, int excl,
    const char *end, size_t elen, const char *prefix, size_t plen,
    size_t limit, struct page *p, int *more)
{
	uint64_t seq = 0;

	memset(p, 0, sizeof(*p));
	assert_int_equal(engine_iter(t->e, start, slen, excl, end, elen,
	    prefix, plen, limit, 0, collect, p, more, &seq), 0);
}

static void
test_ranges_and_prefixes(void **state)
{
	struct tenv t;
	struct page p;
	int more, pass;

	(void)state;
	tenv_init(&t, ENGINE_SYNC_NEVER);
	assert_int_equal(tenv_open(&t), 0);
	fill(&t);
	for (pass = 0; pass < 2; pass++) {
		iter(&t, NULL, 0, 0, NULL, 0, NULL, 0, 0, &p, &more);
		assert_int_equal(p.n, 14);
		assert_false(more);
		assert_string_equal(p.keys[0], "apple");
		assert_string_equal(p.keys[9], "kiwi");
		assert_int_equal(p.klens[10], 3);	/* "nul" */
		assert_int_equal(p.klens[11], 4);	/* "nul\0" */
		assert_memory_equal(p.keys[12], "nul\0a", 5);
		assert_memory_equal(p.keys[13], "nul\0b", 5);
		assert_string_equal(p.vals[13], "B");

		iter(&t, NULL, 0, 0, NULL, 0, "ban", 3, 0, &p, &more);
		assert_int_equal(p.n, 3);
		assert_string_equal(p.keys[0], "banana");
		assert_string_equal(p.keys[2], "bandana");

		iter(&t, NULL, 0, 0, NULL, 0, "nul\0", 4, 0, &p, &more);
		assert_int_equal(p.n, 3);
		assert_int_equal(p.klens[0], 4);

		iter(&t, "band", 4, 0, "date", 4, NULL, 0, 0, &p, &more);
		assert_int_equal(p.n, 3);
		assert_string_equal(p.keys[0], "band");
		assert_string_equal(p.keys[2], "cherry");

		iter(&t, "band", 4, 1, "date", 4, NULL, 0, 0, &p, &more);
		assert_int_equal(p.n, 2);
		assert_string_equal(p.keys[0], "bandana");

		iter(&t, "b", 1, 0, NULL, 0, "c", 1, 0, &p, &more);
		assert_int_equal(p.n, 1);
		assert_string_equal(p.keys[0], "cherry");

		iter(&t, "zzz", 3, 0, NULL, 0, NULL, 0, 0, &p, &more);
		assert_int_equal(p.n, 0);
		assert_false(more);

		iter(&t, NULL, 0, 0, NULL, 0, "nope", 4, 0, &p, &more);
		assert_int_equal(p.n, 0);

		iter(&t, "apple", 5, 0, "apple", 5, NULL, 0, 0, &p, &more);
		assert_int_equal(p.n, 0);
		tenv_reopen(&t);
	}
	memset(&p, 0, sizeof(p));
	assert_int_equal(engine_iter(t.e, "b", 1, 0, "a", 1, NULL, 0, 0, 0,
	    collect, &p, &more, NULL), ENGINE_EINVAL);
	tenv_done(&t);
}

static void
test_limit_and_more(void **state)
{
	struct tenv t;
	struct page p;
	int more;

	(void)state;
	tenv_init(&t, ENGINE_SYNC_NEVER);
	assert_int_equal(tenv_open(&t), 0);
	fill(&t);
	iter(&t, NULL, 0, 0, NULL, 0, NULL, 0, 3, &p, &more);
	assert_int_equal(p.n, 3);
	assert_true(more);
	iter(&t, NULL, 0, 0, NULL, 0, "ban", 3, 3, &p, &more);
	assert_int_equal(p.n, 3);
	assert_false(more);
	iter(&t, NULL, 0, 0, NULL, 0, "ban", 3, 2, &p, &more);
	assert_int_equal(p.n, 2);
	assert_true(more);
	/* A callback that stops early still learns whether more remain. */
	memset(&p, 0, sizeof(p));
	p.stop_after = 2;
	assert_int_equal(engine_iter(t.e, NULL, 0, 0, NULL, 0, "ban", 3, 0, 0,
	    collect, &p, &more, NULL), 0);
	assert_int_equal(p.n, 2);
	assert_true(more);
	memset(&p, 0, sizeof(p));
	p.stop_after = 3;
	assert_int_equal(engine_iter(t.e, NULL, 0, 0, NULL, 0, "ban", 3, 0, 0,
	    collect, &p, &more, NULL), 0);
	assert_false(more);
	tenv_done(&t);
}

/* Paging from the last key returned visits every key once, in order. */
static void
test_paging(void **state)
{
	struct tenv t;
	struct page p;
	char k[16], last[24];
	size_t lastlen = 0, total = 0, i;
	int more = 1, first = 1;

	(void)state;
	tenv_init(&t, ENGINE_SYNC_NEVER);
	t.cfg.segment_size = 2048;
	assert_int_equal(tenv_open(&t), 0);
	for (i = 0; i < 1000; i++) {
		snprintf(k, sizeof(k), "k%04zu", (i * 7919) % 1000);
		tenv_put(&t, k, k);
	}
	while (more) {
		memset(&p, 0, sizeof(p));
		assert_int_equal(engine_iter(t.e, first ? NULL : last,
		    first ? 0 : lastlen, !first, NULL, 0, "k", 1, 37, 1, collect,
		    &p, &more, NULL), 0);
		for (i = 0; i < p.n; i++) {
			snprintf(k, sizeof(k), "k%04zu", total + i);
			assert_int_equal(p.klens[i], 5);
			assert_memory_equal(p.keys[i], k, 5);
			assert_string_equal(p.vals[i], "");	/* keys only */
		}
		total += p.n;
		if (p.n > 0) {
			memcpy(last, p.keys[p.n - 1], p.klens[p.n - 1]);
			lastlen = p.klens[p.n - 1];
		}
		first = 0;
	}
	assert_int_equal(total, 1000);
	tenv_done(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ranges_and_prefixes),
		cmocka_unit_test(test_limit_and_more),
		cmocka_unit_test(test_paging),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
