/*
 * crash-kill9.c: kill -9 at an arbitrary moment loses no write that was
 * acknowledged as durable, and invents nothing.  A child writes as fast as
 * it can and reports each sequence number the engine called durable; the
 * parent kills it without warning, reopens, and finds every reported write
 * (and no value that was never written).  Once per policy, with and
 * without preallocation.
 */
#include "config.h"

#include <sys/wait.h>

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
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

#define NKEYS		500
#define MAXWRITES	200000
#define KILL_AFTER	3000	/* acknowledged writes before the kill */

static void
kv(unsigned long n, char *k, char *v)
{
	/* Write n goes to key n % NKEYS; its value names n. */
	snprintf(k, 16, "key%04lu", n % NKEYS);
	snprintf(v, 48, "write %lu of key %lu", n, n % NKEYS);
}

/*
 * The child: write, and tell the parent how many writes are durable.  Its
 * puts are the engine's only writes, so write n has seq first + n - 1.
 */
static void
writer(struct tenv *t, int fd)
{
	struct engine *e = NULL;
	char k[16], v[48], err[512];
	uint64_t seq, first = 0, durable;
	unsigned long n, acked = 0;

	t->cfg.notify = NULL;
	t->cfg.log = NULL;
	if (engine_open(&t->cfg, &e, err, sizeof(err)) != 0)
		_exit(2);
	for (n = 1; n <= MAXWRITES; n++) {
		kv(n, k, v);
		if (engine_put(e, k, strlen(k), v, strlen(v), &seq) != 0)
			_exit(3);
		if (n == 1)
			first = seq;
		/* An owner that flushes does so once per pass: say every 8 puts. */
		if (t->cfg.owner_flushes && n % 8 == 0)
			engine_flush(e);
		durable = engine_durable_seq(e);
		if (durable >= first)
			acked = durable - first + 1 < n ? durable - first + 1 : n;
		if (acked > 0 && n % 16 == 0 &&
		    write(fd, &acked, sizeof(acked)) != sizeof(acked))
			_exit(4);
		while (n - acked > 50000 && engine_durable_seq(e) < first +
		    n - 50000) {
			if (t->cfg.owner_flushes)
				engine_flush(e);
			nanosleep(&(struct timespec){ 0, 100000 }, NULL);
		}
	}
	_exit(0);
}

static void
run(enum engine_sync policy, int preallocate, int owner_flushes)
{
	struct tenv t;
	char k[16], v[48], want[48];
	unsigned long acked = 0, got, i, n;
	void *val;
	size_t vlen;
	uint64_t seq;
	int fds[2], status, r;
	pid_t pid;

	tenv_init(&t, policy);
	t.cfg.segment_size = 256 * 1024;
	t.cfg.preallocate = preallocate;
	t.cfg.owner_flushes = owner_flushes;
	assert_int_equal(pipe(fds), 0);
	fflush(NULL);
	assert_true((pid = fork()) >= 0);
	if (pid == 0) {
		close(fds[0]);
		writer(&t, fds[1]);
	}
	close(fds[1]);
	while (acked < KILL_AFTER &&
	    read(fds[0], &got, sizeof(got)) == sizeof(got))
		acked = got;
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	close(fds[0]);
	assert_true(acked >= KILL_AFTER);

	if ((r = tenv_open(&t)) != 0)
		fail_msg("open after kill -9: %s", t.err);
	/* Each key holds an acknowledged write or a later one, never an older one. */
	for (i = 0; i < NKEYS; i++) {
		kv(i == 0 ? NKEYS : i, k, v);
		r = engine_get(t.e, k, strlen(k), &val, &vlen, &seq);
		assert_int_equal(r, 0);
		assert_true(vlen < sizeof(want));
		memcpy(want, val, vlen);
		want[vlen] = '\0';
		free(val);
		assert_int_equal(sscanf(want, "write %lu of key", &n), 1);
		assert_int_equal(n % NKEYS, i);
		/* The newest acknowledged write of this key, or something newer. */
		if (acked >= i && n + NKEYS <= acked)
			fail_msg("%s: holds write %lu, but write %lu was "
			    "acknowledged", k, n,
			    n + NKEYS * ((acked - n) / NKEYS));
		kv(n, k, v);
		assert_string_equal(want, v);
	}
	tenv_done(&t);
}

static void
test_kill9_always(void **state)
{
	(void)state;
	run(ENGINE_SYNC_ALWAYS, 0, 0);
	run(ENGINE_SYNC_ALWAYS, 1, 0);
}

static void
test_kill9_everysec_and_never(void **state)
{
	(void)state;
	run(ENGINE_SYNC_EVERYSEC, 1, 0);
	run(ENGINE_SYNC_NEVER, 0, 0);
}

/* The same, with the owner writing its appends itself once per "pass" (kvd's way). */
static void
test_kill9_owner_flushes(void **state)
{
	(void)state;
	run(ENGINE_SYNC_NEVER, 0, 1);
	run(ENGINE_SYNC_EVERYSEC, 1, 1);
	run(ENGINE_SYNC_ALWAYS, 1, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kill9_always),
		cmocka_unit_test(test_kill9_everysec_and_never),
		cmocka_unit_test(test_kill9_owner_flushes),
	};

	signal(SIGPIPE, SIG_IGN);
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
