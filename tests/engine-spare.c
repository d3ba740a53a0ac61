/*
 * engine-spare.c: under fsync always with preallocation the next segment's
 * file is made ahead of need, full of zeros, and the engine rotates into
 * it by a rename; a spare left behind by a crash is removed at start, and
 * the offline check does not count it as a problem.
 */
#include "config.h"

#include <sys/stat.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon/engine-int.h"
#include "daemon/segment.h"
#include "daemon/spare.h"
#include "engine-util.h"

#define WAIT_MS	20000

static void
sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* The spare's inode once it is ready to be taken, or 0 after WAIT_MS. */
static ino_t
wait_spare(struct tenv *t, ino_t not)
{
	char p[1024];
	struct stat st;
	int i;

	assert_non_null(t->e->spare);
	tenv_path(t, SEGMENT_SPARE_NAME, p, sizeof(p));
	for (i = 0; i < WAIT_MS / 10; i++) {
		engine_service(t->e);
		if (spare_ready(t->e->spare) && stat(p, &st) == 0 &&
		    st.st_ino != not) {
			assert_int_equal(st.st_size, t->cfg.segment_size);
			return (st.st_ino);
		}
		sleep_ms(10);
	}
	return (0);
}

static int
exists(const struct tenv *t, const char *name)
{
	char p[1024];

	return (access(tenv_path(t, name, p, sizeof(p)), F_OK) == 0);
}

/* Puts until a new segment is the newest; the number of keys written. */
static int
fill_until_rotation(struct tenv *t, int from)
{
	char first[SEGMENT_NAME_MAX], now[SEGMENT_NAME_MAX], k[32], v[200];
	uint64_t seq = 0;
	int i;

	assert_true(tenv_newest_seg(t, first, sizeof(first)));
	memset(v, 'v', sizeof(v) - 1);
	v[sizeof(v) - 1] = '\0';
	for (i = from; i < from + 100000; i++) {
		snprintf(k, sizeof(k), "key%06d", i);
		seq = tenv_put(t, k, v);
		if (tenv_newest_seg(t, now, sizeof(now)) &&
		    strcmp(now, first) != 0)
			break;
	}
	tenv_wait_durable(t, seq);
	return (i + 1 - from);
}

static void
test_rotation_takes_the_spare(void **state)
{
	struct tenv t;
	char newest[SEGMENT_NAME_MAX], p[1024], k[32], v[200];
	struct stat st;
	ino_t spare, next;
	int n, i;

	(void)state;
	tenv_init(&t, ENGINE_SYNC_ALWAYS);
	t.cfg.preallocate = 1;
	assert_int_equal(tenv_open(&t), 0);
	tenv_put(&t, "first", "x");
	assert_true((spare = wait_spare(&t, 0)) != 0);
	n = fill_until_rotation(&t, 0);
	assert_true(tenv_newest_seg(&t, newest, sizeof(newest)));
	assert_int_equal(stat(tenv_path(&t, newest, p, sizeof(p)), &st), 0);
	/* The very file that was made ahead, renamed. */
	assert_true(st.st_ino == spare);
	assert_true((next = wait_spare(&t, spare)) != 0);
	tenv_close(&t);
	assert_false(exists(&t, SEGMENT_SPARE_NAME));
	assert_int_equal(tenv_open(&t), 0);
	memset(v, 'v', sizeof(v) - 1);
	v[sizeof(v) - 1] = '\0';
	for (i = 0; i < n; i++) {
		snprintf(k, sizeof(k), "key%06d", i);
		assert_int_equal(tenv_get_eq(&t, k, v), 0);
	}
	tenv_done(&t);
}

static void
count_line(void *arg, const char *line)
{
	int *n = arg;

	print_message("check: %s\n", line);
	(*n)++;
}

static void
test_crash_leaves_spare(void **state)
{
	struct tenv t, c;
	int n, i, problems = 0;
	char k[32], v[200];

	(void)state;
	tenv_init(&t, ENGINE_SYNC_ALWAYS);
	t.cfg.preallocate = 1;
	assert_int_equal(tenv_open(&t), 0);
	tenv_put(&t, "first", "x");
	assert_true(wait_spare(&t, 0) != 0);
	n = fill_until_rotation(&t, 0);
	/* Quiet, so that no hint is half written: only the spare is extra. */
	tenv_wait_idle(&t);
	assert_true(wait_spare(&t, 0) != 0);
	/* What a kill -9 now leaves: the files as they are, spare included. */
	tenv_init(&c, ENGINE_SYNC_NEVER);
	tenv_copy_dir(t.dir, c.dir);
	tenv_done(&t);
	assert_true(exists(&c, SEGMENT_SPARE_NAME));
	assert_int_equal(engine_check(c.dir, count_line, &problems), 0);
	assert_int_equal(problems, 0);
	assert_int_equal(tenv_open(&c), 0);
	assert_false(exists(&c, SEGMENT_SPARE_NAME));
	memset(v, 'v', sizeof(v) - 1);
	v[sizeof(v) - 1] = '\0';
	assert_int_equal(tenv_get_eq(&c, "first", "x"), 0);
	for (i = 0; i < n; i++) {
		snprintf(k, sizeof(k), "key%06d", i);
		assert_int_equal(tenv_get_eq(&c, k, v), 0);
	}
	tenv_done(&c);
}

/* Other policies sync too rarely for the zeros to pay: no spare. */
static void
test_no_spare_unless_always(void **state)
{
	struct tenv t;

	(void)state;
	tenv_init(&t, ENGINE_SYNC_NEVER);
	t.cfg.preallocate = 1;
	assert_int_equal(tenv_open(&t), 0);
	tenv_put(&t, "first", "x");
	fill_until_rotation(&t, 0);
	sleep_ms(100);
	assert_false(exists(&t, SEGMENT_SPARE_NAME));
	tenv_done(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rotation_takes_the_spare),
		cmocka_unit_test(test_crash_leaves_spare),
		cmocka_unit_test(test_no_spare_unless_always),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
