/*
 * engine-torn.c: a torn tail of the newest segment is cut and logged, and
 * nothing before it is lost.  Truncating the last record at every byte
 * offset still opens with every earlier record intact; a zero-filled
 * (preallocated) tail is the end of the log, not damage; an empty or
 * header-torn newest segment file is harmless; and after a cut, new writes
 * and another restart keep both old and new data.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon/engine.h"
#include "daemon/record.h"
#include "tests/engine-util.h"

#define NKEYS	40

static void
key_of(int i, char *k, size_t n)
{
	snprintf(k, n, "key-%03d", i);
}

static void
val_of(int i, char *v, size_t n)
{
	snprintf(v, n, "value number %d", i);
}

/* NKEYS records over a few segments; the last record is key NKEYS-1. */
static void
make_template(struct tenv *t)
{
	char k[32], v[32];
	int i;

	t->cfg.segment_size = 1024;
	assert_int_equal(tenv_open(t), 0);
	for (i = 0; i < NKEYS; i++) {
		key_of(i, k, sizeof(k));
		val_of(i, v, sizeof(v));
		tenv_put(t, k, v);
	}
	tenv_close(t);
}

static void
expect_first(struct tenv *t, int n)
{
	char k[32], v[32];
	int i;

	for (i = 0; i < n; i++) {
		key_of(i, k, sizeof(k));
		val_of(i, v, sizeof(v));
		if (tenv_get_eq(t, k, v) != 0)
			fail_msg("%s lost (expected the first %d keys)", k, n);
	}
}

static void
open_copy(struct tenv *t, const char *tmpl)
{
	int r;

	rmtree(t->dir);
	tenv_copy_dir(tmpl, t->dir);
	t->loglen = 0;
	t->log[0] = '\0';
	if ((r = tenv_open(t)) != 0)
		fail_msg("open: %s: %s", engine_strerror(r), t->err);
}

static void
test_truncate_every_offset(void **state)
{
	struct tenv t;
	char tmpl[512], seg[64], k[32], v[32];
	long long size, start, len;
	void *val;
	size_t vlen;
	uint64_t seq;

	(void)state;
	tenv_init(&t, ENGINE_SYNC_NEVER);
	make_template(&t);
	snprintf(tmpl, sizeof(tmpl), "%s/template", t.root);
	tenv_copy_dir(t.dir, tmpl);
	assert_true(tenv_newest_seg(&t, seg, sizeof(seg)));
	size = tenv_file_size(&t, seg);
	key_of(NKEYS - 1, k, sizeof(k));
	val_of(NKEYS - 1, v, sizeof(v));
	start = size - (long long)record_size(strlen(k), strlen(v));
	for (len = start; len < size; len++) {
		open_copy(&t, tmpl);
		tenv_close(&t);
		tenv_truncate(&t, seg, (uint64_t)len);
		assert_int_equal(tenv_open(&t), 0);
		if (len > start && !tenv_log_has(&t, "torn record"))
			fail_msg("cut at %lld: torn tail not logged", len);
		expect_first(&t, NKEYS - 1);
		assert_int_equal(engine_get(t.e, k, strlen(k), &val, &vlen,
		    &seq), ENGINE_ENOTFOUND);
		tenv_close(&t);
		/* The cut really happened: the file ends where the last good record does. */
		assert_int_equal(tenv_file_size(&t, seg), start);
	}
	rmtree(tmpl);
	tenv_done(&t);
}

static void
test_torn_then_write_then_restart(void **state)
{
	struct tenv t;
	char seg[64];
	long long size;

	(void)state;
	tenv_init(&t, ENGINE_SYNC_ALWAYS);
	make_template(&t);
	assert_true(tenv_newest_seg(&t, seg, sizeof(seg)));
	size = tenv_file_size(&t, seg);
	tenv_truncate(&t, seg, (uint64_t)size - 3);
	assert_int_equal(tenv_open(&t), 0);
	assert_true(tenv_log_has(&t, "torn record"));
	tenv_put(&t, "after-cut", "new data");
	tenv_put(&t, "key-000", "overwritten");
	tenv_reopen(&t);
	tenv_reopen(&t);
	assert_false(tenv_log_has(&t, "torn record"));
	assert_int_equal(tenv_get_eq(&t, "after-cut", "new data"), 0);
	assert_int_equal(tenv_get_eq(&t, "key-000", "overwritten"), 0);
	assert_int_equal(tenv_get_eq(&t, "key-001", "value number 1"), 0);
	assert_int_equal(tenv_get_eq(&t, "key-038", "value number 38"), 0);
	tenv_done(&t);
}

/* Garbage after a partial record (a torn write into preallocated space). */
static void
test_torn_into_zeros(void **state)
{
	struct tenv t;
	char seg[64];
	long long size;

	(void)state;
	tenv_init(&t, ENGINE_SYNC_NEVER);
	make_template(&t);
	assert_true(tenv_newest_seg(&t, seg, sizeof(seg)));
	size = tenv_file_size(&t, seg);
	tenv_truncate(&t, seg, (uint64_t)size - 10);
	tenv_truncate(&t, seg, (uint64_t)size + 4096);
	assert_int_equal(tenv_open(&t), 0);
	assert_true(tenv_log_has(&t, "torn record"));
	expect_first(&t, NKEYS - 1);
	tenv_done(&t);
}

/* A crash with preallocation leaves zeros after the last record: that is just the end. */
static void
test_zero_tail_is_end(void **state)
{
	struct tenv t, c;
	char k[32], v[32];
	uint64_t s = 0;
	int i;

	(void)state;
	tenv_init(&t, ENGINE_SYNC_ALWAYS);
	t.cfg.preallocate = 1;
	t.cfg.segment_size = 1 << 20;
	assert_int_equal(tenv_open(&t), 0);
	for (i = 0; i < NKEYS; i++) {
		key_of(i, k, sizeof(k));
		val_of(i, v, sizeof(v));
		s = tenv_put(&t, k, v);
	}
	tenv_wait_durable(&t, s);
	/* A copy taken while the engine runs is what a crash would leave. */
	tenv_init(&c, ENGINE_SYNC_ALWAYS);
	c.cfg.preallocate = 1;
	c.cfg.segment_size = 1 << 20;
	tenv_copy_dir(t.dir, c.dir);
	assert_int_equal(tenv_open(&c), 0);
	assert_false(tenv_log_has(&c, "torn"));
	expect_first(&c, NKEYS);
	tenv_put(&c, "more", "data");
	tenv_reopen(&c);
	expect_first(&c, NKEYS);
	assert_int_equal(tenv_get_eq(&c, "more", "data"), 0);
	tenv_done(&c);
	tenv_done(&t);
}

static void
make_file(const struct tenv *t, const char *name, const void *data, size_t n,
    size_t total)
{
	char p[512];
	int fd;

	assert_true((fd = open(tenv_path(t, name, p, sizeof(p)),
	    O_RDWR | O_CREAT | O_TRUNC, 0644)) >= 0);
	if (n > 0)
		assert_int_equal(write(fd, data, n), (ssize_t)n);
	assert_int_equal(ftruncate(fd, (off_t)total), 0);
	close(fd);
}

static void
test_empty_newest_segment(void **state)
{
	struct tenv t;
	char tmpl[512], seg[64], next[64];
	unsigned long long id;
	int variant;

	(void)state;
	tenv_init(&t, ENGINE_SYNC_NEVER);
	make_template(&t);
	snprintf(tmpl, sizeof(tmpl), "%s/template", t.root);
	tenv_copy_dir(t.dir, tmpl);
	assert_true(tenv_newest_seg(&t, seg, sizeof(seg)));
	assert_int_equal(sscanf(seg, "%16llx", &id), 1);
	snprintf(next, sizeof(next), "%016llx.seg", id + 1);
	for (variant = 0; variant < 4; variant++) {
		rmtree(t.dir);
		tenv_copy_dir(tmpl, t.dir);
		switch (variant) {
		case 0:		/* created, nothing written */
			make_file(&t, next, NULL, 0, 0);
			break;
		case 1:		/* half a header */
			make_file(&t, next, "KVDSEG\r\n\1", 9, 9);
			break;
		case 2:		/* preallocated, header lost */
			make_file(&t, next, NULL, 0, 65536);
			break;
		default:	/* the newest existing segment emptied */
			make_file(&t, seg, NULL, 0, 0);
			break;
		}
		assert_int_equal(tenv_open(&t), 0);
		if (variant < 3)
			expect_first(&t, NKEYS);
		tenv_put(&t, "new", "write");
		tenv_reopen(&t);
		assert_int_equal(tenv_get_eq(&t, "new", "write"), 0);
		if (variant < 3)
			expect_first(&t, NKEYS);
		tenv_close(&t);
	}
	rmtree(tmpl);
	tenv_done(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_truncate_every_offset),
		cmocka_unit_test(test_torn_then_write_then_restart),
		cmocka_unit_test(test_torn_into_zeros),
		cmocka_unit_test(test_zero_tail_is_end),
		cmocka_unit_test(test_empty_newest_segment),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
