/*
 * fault-io.c: a failed write, fdatasync or preallocation puts the engine
 * into a read-only state with the reason; it never counts the write as
 * durable, keeps serving what is durable, and the directory reopens with
 * everything that was.  A failure inside a compaction or a hint file only
 * abandons that job, leaving no temporary files.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "daemon/engine-int.h"
#include "daemon/segment.h"
#include "tests/engine-util.h"

static void
wait_readonly(struct tenv *t)
{
	int i;

	for (i = 0; i < 3000 && engine_readonly_reason(t->e) == NULL; i++) {
		engine_service(t->e);
		nanosleep(&(struct timespec){ 0, 10000000 }, NULL);
	}
	if (engine_readonly_reason(t->e) == NULL)
		fail_msg("engine did not go read-only");
	engine_service(t->e);
}

static int
tmp_files(const struct tenv *t)
{
	DIR *d;
	struct dirent *de;
	uint64_t id;
	int n = 0;

	assert_non_null(d = opendir(t->dir));
	while ((de = readdir(d)) != NULL)
		if (segment_parse_name(de->d_name, &id) == SEGMENT_FILE_TMP)
			n++;
	closedir(d);
	return (n);
}

static void
prefill(struct tenv *t, int n)
{
	char k[16];
	uint64_t s = 0;
	int i;

	for (i = 0; i < n; i++) {
		snprintf(k, sizeof(k), "old%03d", i);
		s = tenv_put(t, k, "durable value");
	}
	tenv_wait_durable(t, s);
}

static void
check_prefill(struct tenv *t, int n)
{
	char k[16];
	int i;

	for (i = 0; i < n; i++) {
		snprintf(k, sizeof(k), "old%03d", i);
		if (tenv_get_eq(t, k, "durable value") != 0)
			fail_msg("%s lost", k);
	}
}

static void
expect_refusals(struct tenv *t)
{
	struct engine_stats st;
	uint64_t seq;

	assert_int_equal(engine_put(t->e, "x", 1, "y", 1, &seq),
	    ENGINE_EREADONLY);
	assert_int_equal(engine_delete(t->e, "old000", 6, &seq),
	    ENGINE_EREADONLY);
	assert_int_equal(engine_compact(t->e), ENGINE_EREADONLY);
	engine_stats(t->e, &st);
	assert_true(st.readonly);
	assert_int_equal(st.compact_pending, 0);	/* nobody waits */
}

static void
fail_write_or_sync(int kind, const char *word, enum engine_sync policy)
{
	struct tenv t;
	struct tio io;
	uint64_t s, durable;
	void *v;
	size_t vlen;
	uint64_t seq;

	tio_init(&io);
	tenv_init(&t, policy);
	assert_int_equal(tenv_open_io(&t, &io.io), 0);
	prefill(&t, 20);
	if (policy != ENGINE_SYNC_ALWAYS)
		engine_sync(t.e);
	tio_fail(&io, kind, 1, EIO, 1);
	s = tenv_put(&t, "doomed", "never durable");
	if (policy != ENGINE_SYNC_ALWAYS)
		engine_sync(t.e);
	wait_readonly(&t);
	assert_non_null(strstr(engine_readonly_reason(t.e), word));
	assert_non_null(strstr(engine_readonly_reason(t.e), strerror(EIO)));
	assert_true(tenv_log_has(&t, word));
	durable = engine_durable_seq(t.e);
	if (policy == ENGINE_SYNC_ALWAYS || kind == TIO_PWRITE)
		assert_true(durable < s);
	expect_refusals(&t);
	/* What was durable is still served. */
	check_prefill(&t, 20);
	assert_int_equal(engine_get(t.e, "old005", 6, &v, &vlen, &seq), 0);
	free(v);
	tenv_close(&t);
	assert_int_equal(tenv_open(&t), 0);
	check_prefill(&t, 20);
	tenv_put(&t, "works", "again");
	tenv_done(&t);
	tio_destroy(&io);
}

static void
test_write_failure(void **state)
{
	(void)state;
	fail_write_or_sync(TIO_PWRITE, "write", ENGINE_SYNC_ALWAYS);
	fail_write_or_sync(TIO_PWRITE, "write", ENGINE_SYNC_NEVER);
}

static void
test_fsync_failure(void **state)
{
	(void)state;
	fail_write_or_sync(TIO_FDATASYNC, "fdatasync", ENGINE_SYNC_ALWAYS);
	fail_write_or_sync(TIO_FDATASYNC, "fdatasync", ENGINE_SYNC_EVERYSEC);
}

static void
test_disk_full_on_new_segment(void **state)
{
	struct tenv t;
	struct tio io;
	char k[16];
	uint64_t seq;
	int i, r = 0;

	(void)state;
	tio_init(&io);
	tenv_init(&t, ENGINE_SYNC_ALWAYS);
	t.cfg.preallocate = 1;
	t.cfg.segment_size = 4096;
	assert_int_equal(tenv_open_io(&t, &io.io), 0);
	prefill(&t, 20);
	tio_fail(&io, TIO_FALLOCATE, 1, ENOSPC, 1);
	for (i = 0; i < 1000; i++) {
		snprintf(k, sizeof(k), "new%04d", i);
		if ((r = engine_put(t.e, k, strlen(k), "0123456789", 10,
		    &seq)) != 0)
			break;
	}
	assert_int_equal(r, ENGINE_EIO);
	assert_non_null(engine_readonly_reason(t.e));
	assert_non_null(strstr(engine_readonly_reason(t.e), strerror(ENOSPC)));
	expect_refusals(&t);
	check_prefill(&t, 20);
	tenv_close(&t);
	assert_int_equal(tenv_open(&t), 0);
	check_prefill(&t, 20);
	tenv_done(&t);
	tio_destroy(&io);
}

/*
 * Fail one operation of a compaction: the job is dropped, nothing else.
 * gives_up: the failure comes before the commit, so the run is given up
 * (counted in compact_failures); after it, only a warning.
 */
static void
fail_in_compaction(int kind, unsigned long at, int gives_up)
{
	struct tenv t;
	struct tio io;
	struct engine_stats st;
	char k[16];
	int i, r;

	tio_init(&io);
	tenv_init(&t, ENGINE_SYNC_NEVER);
	t.cfg.segment_size = 1024;
	t.cfg.compact_ratio = 1.0;
	assert_int_equal(tenv_open_io(&t, &io.io), 0);
	for (r = 0; r < 3; r++)
		for (i = 0; i < 40; i++) {
			snprintf(k, sizeof(k), "old%03d", i);
			tenv_put(&t, k, "durable value");
		}
	prefill(&t, 40);
	tenv_wait_idle(&t);
	tio_fail(&io, kind, at, EIO, 0);
	assert_int_equal(engine_compact(t.e), 0);
	tenv_wait_idle(&t);
	assert_true(io.failed > 0);
	assert_null(engine_readonly_reason(t.e));
	assert_int_equal(tmp_files(&t), 0);
	check_prefill(&t, 40);
	engine_stats(t.e, &st);
	assert_int_equal(st.compact_failures, gives_up ? 1 : 0);
	assert_int_equal(st.compact_pending, 0);	/* request over */
	tenv_put(&t, "still", "writable");
	/* Nothing armed now: the next request goes through. */
	assert_int_equal(engine_compact(t.e), 0);
	tenv_wait_idle(&t);
	engine_stats(t.e, &st);
	assert_true(st.compactions > 0);
	tenv_reopen(&t);
	check_prefill(&t, 40);
	assert_int_equal(tenv_get_eq(&t, "still", "writable"), 0);
	tenv_done(&t);
	tio_destroy(&io);
}

static void
test_compaction_failures(void **state)
{
	(void)state;
	fail_in_compaction(TIO_PWRITE, 1, 1);	/* writing the output */
	fail_in_compaction(TIO_PWRITE, 2, 1);	/* writing its hint */
	fail_in_compaction(TIO_FDATASYNC, 1, 1);
	fail_in_compaction(TIO_RENAME, 1, 1);	/* the hint's rename */
	fail_in_compaction(TIO_RENAME, 2, 1);	/* the commit */
	fail_in_compaction(TIO_FSYNC, 1, 0);	/* after the commit */
	fail_in_compaction(TIO_UNLINK, 1, 0);	/* removing an input */
}

static void
test_hint_failure(void **state)
{
	struct tenv t;
	struct tio io;
	char k[16];
	int i;

	(void)state;
	tio_init(&io);
	tenv_init(&t, ENGINE_SYNC_NEVER);
	t.cfg.segment_size = 1024;
	t.cfg.compact_ratio = 1.0;
	assert_int_equal(tenv_open_io(&t, &io.io), 0);
	tio_fail(&io, TIO_RENAME, 1, EIO, 1);
	for (i = 0; i < 100; i++) {
		snprintf(k, sizeof(k), "old%03d", i);
		tenv_put(&t, k, "durable value");
	}
	tenv_wait_idle(&t);
	assert_true(io.failed > 0);
	assert_null(engine_readonly_reason(t.e));
	assert_int_equal(tmp_files(&t), 0);
	tenv_close(&t);
	assert_int_equal(tenv_open(&t), 0);
	assert_true(tenv_log_has(&t, "0 sealed segments read from hint files"));
	for (i = 0; i < 100; i++) {
		snprintf(k, sizeof(k), "old%03d", i);
		assert_int_equal(tenv_get_eq(&t, k, "durable value"), 0);
	}
	tenv_done(&t);
	tio_destroy(&io);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_write_failure),
		cmocka_unit_test(test_fsync_failure),
		cmocka_unit_test(test_disk_full_on_new_segment),
		cmocka_unit_test(test_compaction_failures),
		cmocka_unit_test(test_hint_failure),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
