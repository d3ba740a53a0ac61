/*
 * engine-binary.c: keys and values are arbitrary bytes.  Empty values, NUL
 * bytes, every byte value and 1 MiB values come back exactly, through
 * overwrites, deletes, segment rotation and reopening; limits are enforced.
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

static void
check_value(struct tenv *t, const void *k, size_t klen, const void *v,
    size_t vlen)
{
	const void *ref;
	void *got;
	size_t glen, rlen;
	uint64_t seq, rseq;
	int r;

	r = engine_get(t->e, k, klen, &got, &glen, &seq);
	assert_int_equal(r, 0);
	assert_int_equal(glen, vlen);
	if (vlen > 0)
		assert_memory_equal(got, v, vlen);
	assert_true(seq > 0);
	free(got);
	/* The copy-free read hands out the same verified bytes. */
	r = engine_get_ref(t->e, k, klen, &ref, &rlen, &rseq);
	assert_int_equal(r, 0);
	assert_int_equal(rlen, vlen);
	assert_int_equal(rseq, seq);
	if (vlen > 0)
		assert_memory_equal(ref, v, vlen);
}

static void
expect_absent(struct tenv *t, const void *k, size_t klen)
{
	void *got;
	size_t glen;
	uint64_t seq;

	assert_int_equal(engine_get(t->e, k, klen, &got, &glen, &seq),
	    ENGINE_ENOTFOUND);
	assert_null(got);
}

static void
put(struct tenv *t, const void *k, size_t klen, const void *v, size_t vlen)
{
	uint64_t seq;

	assert_int_equal(engine_put(t->e, k, klen, v, vlen, &seq), 0);
}

static void
test_binary_round_trip(void **state)
{
	struct tenv t;
	uint8_t all[256], nulkey[5] = { 'a', 0, 'b', 0, 0 }, *big;
	size_t i;
	int pass;

	(void)state;
	tenv_init(&t, ENGINE_SYNC_NEVER);
	t.cfg.max_value = 2u << 20;
	assert_int_equal(tenv_open(&t), 0);
	for (i = 0; i < 256; i++)
		all[i] = (uint8_t)i;
	assert_non_null(big = malloc(1u << 20));
	for (i = 0; i < (1u << 20); i++)
		big[i] = (uint8_t)(i * 131 + (i >> 8));

	put(&t, "empty", 5, NULL, 0);
	put(&t, nulkey, sizeof(nulkey), "\0\0\0", 3);
	put(&t, nulkey, 4, "shorter key", 11);
	put(&t, all, sizeof(all), all, sizeof(all));
	put(&t, "\xff", 1, all + 1, 255);
	put(&t, "big", 3, big, 1u << 20);
	for (pass = 0; pass < 2; pass++) {
		check_value(&t, "empty", 5, NULL, 0);
		check_value(&t, nulkey, sizeof(nulkey), "\0\0\0", 3);
		check_value(&t, nulkey, 4, "shorter key", 11);
		expect_absent(&t, nulkey, 3);
		check_value(&t, all, sizeof(all), all, sizeof(all));
		check_value(&t, "\xff", 1, all + 1, 255);
		check_value(&t, "big", 3, big, 1u << 20);
		tenv_reopen(&t);
	}
	free(big);
	tenv_done(&t);
}

static void
test_overwrite_delete_reopen(void **state)
{
	struct tenv t;
	char k[32], v[64];
	uint64_t seq;
	int i, round;

	(void)state;
	tenv_init(&t, ENGINE_SYNC_NEVER);
	t.cfg.segment_size = 4096;	/* many rotations */
	assert_int_equal(tenv_open(&t), 0);
	for (round = 0; round < 3; round++) {
		for (i = 0; i < 300; i++) {
			snprintf(k, sizeof(k), "key%03d", i);
			snprintf(v, sizeof(v), "value %d round %d", i, round);
			tenv_put(&t, k, v);
		}
		for (i = 0; i < 300; i += 3) {
			snprintf(k, sizeof(k), "key%03d", i);
			assert_int_equal(engine_delete(t.e, k, strlen(k), &seq),
			    0);
			assert_int_equal(engine_delete(t.e, k, strlen(k), &seq),
			    ENGINE_ENOTFOUND);
		}
		tenv_reopen(&t);
		for (i = 0; i < 300; i++) {
			snprintf(k, sizeof(k), "key%03d", i);
			snprintf(v, sizeof(v), "value %d round %d", i, round);
			if (i % 3 == 0)
				expect_absent(&t, k, strlen(k));
			else
				assert_int_equal(tenv_get_eq(&t, k, v), 0);
		}
	}
	tenv_done(&t);
}

static void
test_limits(void **state)
{
	struct tenv t;
	uint8_t buf[200];
	uint64_t seq;
	void *v;
	size_t vlen;

	(void)state;
	memset(buf, 'x', sizeof(buf));
	tenv_init(&t, ENGINE_SYNC_NEVER);
	t.cfg.max_key = 10;
	t.cfg.max_value = 100;
	assert_int_equal(tenv_open(&t), 0);
	assert_int_equal(engine_put(t.e, buf, 0, buf, 1, &seq), ENGINE_EINVAL);
	assert_int_equal(engine_put(t.e, buf, 11, buf, 1, &seq),
	    ENGINE_ETOOLARGE);
	assert_int_equal(engine_put(t.e, buf, 10, buf, 101, &seq),
	    ENGINE_ETOOLARGE);
	assert_int_equal(engine_put(t.e, buf, 10, buf, 100, &seq), 0);
	assert_int_equal(engine_get(t.e, buf, 0, &v, &vlen, &seq),
	    ENGINE_EINVAL);
	assert_int_equal(engine_delete(t.e, buf, 0, &seq), ENGINE_EINVAL);
	tenv_done(&t);

	tenv_init(&t, ENGINE_SYNC_NEVER);
	t.cfg.max_key = 1u << 20;
	assert_int_equal(tenv_open(&t), ENGINE_EINVAL);
	assert_non_null(strstr(t.err, "max key"));
	t.cfg.max_key = 0;
	t.cfg.segment_size = 10;
	assert_int_equal(tenv_open(&t), ENGINE_EINVAL);
	assert_non_null(strstr(t.err, "segment size"));
	tenv_done(&t);
}

/* A value larger than a segment gets a segment of its own. */
static void
test_value_larger_than_segment(void **state)
{
	struct tenv t;
	uint8_t *big;
	size_t n = 300000;

	(void)state;
	tenv_init(&t, ENGINE_SYNC_ALWAYS);
	t.cfg.segment_size = 4096;
	t.cfg.preallocate = 1;
	assert_int_equal(tenv_open(&t), 0);
	assert_non_null(big = malloc(n));
	memset(big, 'q', n);
	put(&t, "a", 1, "small", 5);
	put(&t, "big", 3, big, n);
	put(&t, "c", 1, "after", 5);
	check_value(&t, "big", 3, big, n);
	tenv_reopen(&t);
	check_value(&t, "big", 3, big, n);
	check_value(&t, "a", 1, "small", 5);
	check_value(&t, "c", 1, "after", 5);
	free(big);
	tenv_done(&t);
}

/* A newest segment already at the (now smaller) segment size is sealed at open. */
static void
test_segment_size_shrunk(void **state)
{
	struct tenv t;
	char k[16];
	int i;

	(void)state;
	tenv_init(&t, ENGINE_SYNC_NEVER);
	t.cfg.segment_size = 1 << 20;
	assert_int_equal(tenv_open(&t), 0);
	for (i = 0; i < 200; i++) {
		snprintf(k, sizeof(k), "key%03d", i);
		tenv_put(&t, k, "a value of some thirty bytes..");
	}
	tenv_close(&t);
	t.cfg.segment_size = 4096;
	assert_int_equal(tenv_open(&t), 0);
	tenv_put(&t, "after", "shrink");
	tenv_wait_idle(&t);
	tenv_reopen(&t);
	assert_true(tenv_log_has(&t, " 0 scanned"));
	for (i = 0; i < 200; i++) {
		snprintf(k, sizeof(k), "key%03d", i);
		assert_int_equal(tenv_get_eq(&t, k,
		    "a value of some thirty bytes.."), 0);
	}
	assert_int_equal(tenv_get_eq(&t, "after", "shrink"), 0);
	tenv_done(&t);
}

/* A second engine on the same directory is refused with a clear line. */
static void
test_lock(void **state)
{
	struct tenv t;
	struct engine *e2 = NULL;
	char err[512];

	(void)state;
	tenv_init(&t, ENGINE_SYNC_NEVER);
	assert_int_equal(tenv_open(&t), 0);
	assert_int_equal(engine_open(&t.cfg, &e2, err, sizeof(err)),
	    ENGINE_ELOCKED);
	assert_null(e2);
	assert_non_null(strstr(err, "in use by another process"));
	assert_non_null(strstr(err, t.dir));
	tenv_close(&t);
	assert_int_equal(engine_open(&t.cfg, &e2, err, sizeof(err)), 0);
	engine_close(e2);
	tenv_done(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_binary_round_trip),
		cmocka_unit_test(test_overwrite_delete_reopen),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_value_larger_than_segment),
		cmocka_unit_test(test_segment_size_shrunk),
		cmocka_unit_test(test_lock),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
