/*
 * syncer-commit-race.c: a record committed while the sync thread takes its
 * snapshot of a chunk (between reading the chunk's last_seq and its len)
 * still becomes durable, and the owner is notified, with no later write to
 * push it along.  The thread writes that record's bytes in the pass that
 * did not see its sequence number; before the fix it then slept with the
 * record written but never counted, and kvd held the reply for good.
 *
 * The thread is stopped at that exact point through the SYNCER_TEST_SNAPSHOT
 * hook, so the interleaving is forced, not hoped for.  This file compiles
 * syncer.c itself (with the hook) and links no other copy of it.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct syncer;
struct chunk;
static void at_snapshot(struct syncer *, const struct chunk *, uint64_t);
#define SYNCER_TEST_SNAPSHOT(s, c, last)	at_snapshot((s), (c), (last))

/* Before cmocka.h, whose fail() macro would rename syncer.c's fail(). */
#include "daemon/syncer.c"

#include <cmocka.h>

#include "tests/rmtree.h"

#define REC_LEN		32
#define WAIT_S		30

/* What the hook, the notify callback and the test share (notify_arg). */
struct race {
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	struct syncer	*s;
	int		 armed;		/* stop at the snapshot that sees seq 1 */
	int		 stopped;	/* the thread waits in the hook */
	int		 go;
	uint64_t	 notified;	/* durable seq seen by the last notify */
	int		 reports;
};

static void
deadline(struct timespec *dl)
{
	clock_gettime(CLOCK_REALTIME, dl);
	dl->tv_sec += WAIT_S;
}

/* The sync thread, holding s->mu, between last_seq and len of chunk c. */
static void
at_snapshot(struct syncer *s, const struct chunk *c, uint64_t last)
{
	struct race *r = s->cfg.notify_arg;
	struct timespec dl;

	(void)c;
	pthread_mutex_lock(&r->mu);
	if (r->armed && last == 1) {
		r->armed = 0;
		r->stopped = 1;
		pthread_cond_broadcast(&r->cv);
		/* Bounded, so that a failed test cannot hang syncer_stop. */
		deadline(&dl);
		while (!r->go)
			if (pthread_cond_timedwait(&r->cv, &r->mu, &dl) != 0)
				break;
	}
	pthread_mutex_unlock(&r->mu);
}

static void
on_notify(void *arg)
{
	struct race *r = arg;

	pthread_mutex_lock(&r->mu);
	r->notified = syncer_durable(r->s);
	pthread_mutex_unlock(&r->mu);
}

static void
on_report(void *arg, enum engine_log_level level, const char *msg)
{
	struct race *r = arg;

	(void)level;
	fprintf(stderr, "# syncer: %s\n", msg);
	pthread_mutex_lock(&r->mu);
	r->reports++;
	pthread_mutex_unlock(&r->mu);
}

/* Append record seq (REC_LEN bytes of seq) at *off, as engine_put does. */
static void
append(struct syncer *s, struct segment *seg, uint64_t *off, uint64_t seq)
{
	uint8_t *p;

	assert_non_null(p = syncer_reserve(s, seg, *off, REC_LEN));
	memset(p, (int)seq, REC_LEN);
	syncer_commit(s, seq);
	*off += REC_LEN;
}

/*
 * Wait until the thread sleeps in its condition variable: idle is 1 under
 * s->mu only there, and from then on only a signal moves it.
 */
static void
wait_asleep(struct syncer *s)
{
	int i, asleep = 0;

	for (i = 0; i < WAIT_S * 1000 && !asleep; i++) {
		pthread_mutex_lock(&s->mu);
		asleep = atomic_load(&s->idle);
		pthread_mutex_unlock(&s->mu);
		if (!asleep)
			usleep(1000);
	}
	if (!asleep)
		fail_msg("the sync thread did not go to sleep in %d s", WAIT_S);
}

/* A temp dir with one segment file; removed by teardown even on failure. */
struct fixture {
	char		 root[256];
	int		 dirfd;
	struct segment	 seg;
	struct race	 r;
};

static int
setup(void **state)
{
	struct fixture *fx;
	const char *tmp = getenv("TMPDIR");
	char path[300];

	assert_non_null(fx = calloc(1, sizeof(*fx)));
	fx->dirfd = fx->seg.fd = -1;
	pthread_mutex_init(&fx->r.mu, NULL);
	pthread_cond_init(&fx->r.cv, NULL);
	*state = fx;
	snprintf(fx->root, sizeof(fx->root), "%s/kvd-syncer-XXXXXX",
	    tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
	if (mkdtemp(fx->root) == NULL) {
		fprintf(stderr, "# mkdtemp %s: %s\n", fx->root, strerror(errno));
		fx->root[0] = '\0';
		return (-1);
	}
	if ((fx->dirfd = open(fx->root, O_RDONLY | O_DIRECTORY)) < 0)
		return (-1);
	snprintf(fx->seg.name, sizeof(fx->seg.name), "race.seg");
	snprintf(path, sizeof(path), "%s/%s", fx->root, fx->seg.name);
	if ((fx->seg.fd = open(path, O_RDWR | O_CREAT, 0644)) < 0)
		return (-1);
	atomic_init(&fx->seg.written, 0);
	atomic_init(&fx->seg.sealed, 0);
	return (0);
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;

	/* A failed test may have left the thread in the hook: let it go. */
	pthread_mutex_lock(&fx->r.mu);
	fx->r.go = 1;
	pthread_cond_broadcast(&fx->r.cv);
	pthread_mutex_unlock(&fx->r.mu);
	syncer_stop(fx->r.s);
	if (fx->seg.fd >= 0)
		close(fx->seg.fd);
	if (fx->dirfd >= 0)
		close(fx->dirfd);
	if (fx->root[0] != '\0')
		rmtree(fx->root);
	pthread_cond_destroy(&fx->r.cv);
	pthread_mutex_destroy(&fx->r.mu);
	free(fx);
	return (0);
}

static void
run(struct fixture *fx, enum engine_sync policy, int owner_writes)
{
	struct syncer_config cfg;
	struct race *r = &fx->r;
	struct syncer *s;
	struct timespec dl;
	uint8_t buf[2 * REC_LEN], want[2 * REC_LEN];
	uint64_t off = 0;
	int stopped;

	memset(&cfg, 0, sizeof(cfg));
	cfg.policy = policy;
	cfg.dirfd = fx->dirfd;
	cfg.io = fileio_posix();
	cfg.notify = on_notify;
	cfg.notify_arg = r;
	cfg.report = on_report;
	cfg.report_arg = r;
	cfg.owner_writes = owner_writes;
	assert_non_null(s = syncer_start(&cfg, 0));
	pthread_mutex_lock(&r->mu);
	r->s = s;
	r->armed = 1;
	pthread_mutex_unlock(&r->mu);

	append(s, &fx->seg, &off, 1);
	/* An owner that flushes per pass leaves the thread asleep: ask it. */
	if (owner_writes)
		syncer_request(s);
	pthread_mutex_lock(&r->mu);
	deadline(&dl);
	while (!r->stopped)
		if (pthread_cond_timedwait(&r->cv, &r->mu, &dl) != 0)
			break;
	stopped = r->stopped;
	pthread_mutex_unlock(&r->mu);
	if (!stopped)
		fail_msg("the sync thread never took its snapshot");
	/* The thread has read last_seq 1 and not yet len: commit 2 now. */
	append(s, &fx->seg, &off, 2);
	pthread_mutex_lock(&r->mu);
	r->go = 1;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
	/* As the owner's loop does at the end of its pass. */
	if (owner_writes)
		syncer_flush(s);

	wait_asleep(s);
	assert_null(syncer_failed(s));
	if (syncer_durable(s) != 2)
		fail_msg("the thread sleeps with seq 2 written but durable %llu",
		    (unsigned long long)syncer_durable(s));
	if (policy == ENGINE_SYNC_ALWAYS)
		assert_int_equal(syncer_synced(s), 2);
	pthread_mutex_lock(&r->mu);
	if (r->notified != 2) {
		pthread_mutex_unlock(&r->mu);
		fail_msg("the last notify came at durable %llu, not 2",
		    (unsigned long long)r->notified);
	}
	assert_int_equal(r->reports, 0);
	pthread_mutex_unlock(&r->mu);
	assert_int_equal(syncer_pending(s), 0);
	/* And the bytes are in the file. */
	memset(want, 1, REC_LEN);
	memset(want + REC_LEN, 2, REC_LEN);
	assert_int_equal(pread(fx->seg.fd, buf, sizeof(buf), 0), sizeof(buf));
	assert_memory_equal(buf, want, sizeof(buf));
}

static void
test_always(void **state)
{
	run(*state, ENGINE_SYNC_ALWAYS, 0);
}

static void
test_everysec(void **state)
{
	run(*state, ENGINE_SYNC_EVERYSEC, 0);
}

static void
test_never(void **state)
{
	run(*state, ENGINE_SYNC_NEVER, 0);
}

static void
test_always_owner_flushes(void **state)
{
	run(*state, ENGINE_SYNC_ALWAYS, 1);
}

static void
test_everysec_owner_flushes(void **state)
{
	run(*state, ENGINE_SYNC_EVERYSEC, 1);
}

static void
test_never_owner_flushes(void **state)
{
	run(*state, ENGINE_SYNC_NEVER, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_always, setup, teardown),
		cmocka_unit_test_setup_teardown(test_everysec, setup, teardown),
		cmocka_unit_test_setup_teardown(test_never, setup, teardown),
		cmocka_unit_test_setup_teardown(test_always_owner_flushes,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_everysec_owner_flushes,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_never_owner_flushes,
		    setup, teardown),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
