/*
 * crash-compaction.c: the process dies after each single file operation of
 * a compaction (every write, fdatasync, rename, directory fsync, unlink),
 * one crash point per run; every time, the next open finds every live
 * record, no deleted key back, no key twice, and a later compaction
 * finishes the job.
 *
 * Each run forks a child that opens a copy of a prepared directory with
 * file operations that _exit() at the n-th step; the parent then checks
 * the directory.  n grows until the child completes without reaching it.
 */
#include "config.h"

#include <sys/wait.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon/engine-int.h"
#include "tests/engine-util.h"

#define NKEYS	60
#define ROUNDS	4
#define MAXSTEPS 2000

static void
key_of(int i, char *k, size_t n)
{
	snprintf(k, n, "key%03d", i);
}

static int
deleted(int i)
{
	return (i % 3 == 0);
}

static void
value_of(int i, int round, char *v, size_t n)
{
	snprintf(v, n, "value-%d-round-%d", i, round);
}

static void
make_template(struct tenv *t)
{
	char k[16], v[40];
	uint64_t seq;
	int i, r;

	t->cfg.segment_size = 1024;
	t->cfg.compact_ratio = 1.0;
	assert_int_equal(tenv_open(t), 0);
	for (r = 0; r < ROUNDS; r++)
		for (i = 0; i < NKEYS; i++) {
			key_of(i, k, sizeof(k));
			value_of(i, r, v, sizeof(v));
			tenv_put(t, k, v);
		}
	for (i = 0; i < NKEYS; i++)
		if (deleted(i)) {
			key_of(i, k, sizeof(k));
			assert_int_equal(engine_delete(t->e, k, strlen(k), &seq), 0);
		}
	for (i = 0; i < 30; i++) {
		snprintf(k, sizeof(k), "zpad%02d", i);
		tenv_put(t, k, "padding so the tombstones get sealed");
	}
	tenv_wait_idle(t);
	tenv_close(t);
}

struct count {
	size_t	n;
};

static int
count_cb(void *arg, const struct engine_entry *ent)
{
	struct count *c = arg;

	(void)ent;
	c->n++;
	return (0);
}

static void
verify(struct tenv *t, unsigned long step)
{
	char k[16], v[40];
	void *val;
	size_t vlen;
	uint64_t seq;
	struct count c = { 0 };
	int i, more, live = 0;

	for (i = 0; i < NKEYS; i++) {
		key_of(i, k, sizeof(k));
		if (deleted(i)) {
			if (engine_get(t->e, k, strlen(k), &val, &vlen, &seq) !=
			    ENGINE_ENOTFOUND)
				fail_msg("step %lu: deleted %s is back", step, k);
			continue;
		}
		live++;
		value_of(i, ROUNDS - 1, v, sizeof(v));
		if (tenv_get_eq(t, k, v) != 0)
			fail_msg("step %lu: %s lost or wrong", step, k);
	}
	assert_int_equal(engine_iter(t->e, NULL, 0, 0, NULL, 0, "key", 3, 0, 1,
	    count_cb, &c, &more, &seq), 0);
	if (c.n != (size_t)live)
		fail_msg("step %lu: %zu keys iterated, %d expected", step, c.n,
		    live);
}

/* In the child: compact with a crash armed at step n.  Exit 3 if it finished. */
static void
child(struct tenv *t, unsigned long n)
{
	struct tio io;
	struct engine *e = NULL;
	char err[512];
	struct engine_stats st;
	int i;

	tio_init(&io);
	t->cfg.notify = NULL;
	t->cfg.log = NULL;
	if (engine_open_io(&t->cfg, &io.io, &e, err, sizeof(err)) != 0)
		_exit(4);
	for (i = 0; i < 2000 && !engine_idle(e); i++) {
		engine_service(e);
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	}
	tio_crash_after(&io, n);
	if (engine_compact(e) != 0)
		_exit(5);
	for (i = 0; i < 20000; i++) {
		engine_service(e);
		engine_stats(e, &st);
		if (st.compactions > 0 && engine_idle(e))
			_exit(3);
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	}
	_exit(6);
}

static void
test_crash_at_every_step(void **state)
{
	struct tenv t;
	char tmpl[512];
	unsigned long n;
	struct engine_stats st;
	pid_t pid;
	int status, finished = 0, saw_tmp = 0, saw_superseded = 0;

	(void)state;
	tenv_init(&t, ENGINE_SYNC_NEVER);
	make_template(&t);
	snprintf(tmpl, sizeof(tmpl), "%s/template", t.root);
	tenv_copy_dir(t.dir, tmpl);
	for (n = 1; n < MAXSTEPS && !finished; n++) {
		rmtree(t.dir);
		tenv_copy_dir(tmpl, t.dir);
		fflush(NULL);
		assert_true((pid = fork()) >= 0);
		if (pid == 0)
			child(&t, n);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status));
		if (WEXITSTATUS(status) == 3)
			finished = 1;
		else if (WEXITSTATUS(status) != 0)
			fail_msg("step %lu: child failed with status %d", n,
			    WEXITSTATUS(status));
		assert_int_equal(tenv_open(&t), 0);
		saw_tmp |= tenv_log_has(&t, "unfinished temporary file");
		saw_superseded |= tenv_log_has(&t, "replaced by a finished "
		    "compaction");
		verify(&t, n);
		/* The interrupted job can be completed, and changes nothing visible. */
		assert_int_equal(engine_compact(t.e), 0);
		tenv_wait_idle(&t);
		verify(&t, n);
		tenv_reopen(&t);
		verify(&t, n);
		engine_stats(t.e, &st);
		assert_int_equal(st.keys, NKEYS - NKEYS / 3 + 30);
		tenv_close(&t);
	}
	assert_true(finished);
	assert_true(n > 10);	/* there were steps to crash at */
	/* Crashes landed both before and after the commit point. */
	assert_true(saw_tmp);
	assert_true(saw_superseded);
	print_message("crashed at each of %lu compaction steps\n", n - 2);
	rmtree(tmpl);
	tenv_done(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crash_at_every_step),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
