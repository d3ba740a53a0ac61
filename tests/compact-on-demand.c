/*
 * compact-on-demand.c: an operator can compact a real kvd on request,
 * through libkvclient (kv_compact) and kvctl (compact, compact --wait),
 * with automatic compaction turned off (--compact-ratio 1) and small
 * segments, so that overwrites and deletes leave sealed segments full of
 * dead records that only a request reclaims.  After the compaction the
 * dead bytes and segments are fewer, every live key reads back with its
 * last value, every deleted key stays deleted, a scan sees each key once,
 * and all of it survives a restart.  kvctl compact --wait returns only
 * once the compaction is over, gives up at -t with the run still going,
 * and reports a compaction that failed (fdatasync failing, from
 * tests/fault-fsync.c preloaded into kvd) with exit status 3.
 */
#include "config.h"

#include <fcntl.h>
#include <limits.h>
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

#include "harness.h"
#include "kvclient.h"
#include "runprog.h"

/* 1200 keys of about 250 bytes a record: one round fills ~5 segments. */
#define NKEYS		1200
#define VLEN		220
#define SEGMENT_SIZE	"65536"
#define BATCH		100

/* Bound of every wait for the server (not a timing assertion). */
#define WAIT_MS		120000

struct fixture {
	struct harness	*h;
	kv_conn		*c;
	char		 ep[64];
	int		 shim;		/* kvd runs with tests/fault-fsync.c */
	char		 trip[PATH_MAX];	/* while there, fsyncs fail */
	char		 slow[PATH_MAX];	/* while there, fsyncs lag */
};

static const char *const kvd_args[] = { "--segment-size", SEGMENT_SIZE,
    "--compact-ratio", "1", NULL };
/* For the fault tests: nothing syncs but compaction and hint files. */
static const char *const kvd_args_never[] = { "--segment-size",
    SEGMENT_SIZE, "--compact-ratio", "1", "--fsync", "never", NULL };

static int
connect_client(struct fixture *x)
{
	kv_options *o = kv_options_new();

	(void)snprintf(x->ep, sizeof(x->ep), "127.0.0.1:%u",
	    (unsigned)harness_port(x->h));
	if (o == NULL)
		return (-1);
	(void)kv_options_set_request_timeout(o, WAIT_MS);
	kv_conn_free(x->c);
	x->c = kv_conn_new(o);
	kv_options_free(o);
	if (x->c == NULL || kv_connect(x->c, x->ep) != KV_OK) {
		fprintf(stderr, "connect to %s: %s\n", x->ep,
		    x->c != NULL ? kv_errmsg(x->c) : "out of memory");
		return (-1);
	}
	return (0);
}

static int
setup_with(void **state, int shim, const char *const *args)
{
	struct fixture *x = calloc(1, sizeof(*x));
	const char *top = getenv("KVD_TOP_BUILDDIR");
	const char *asan = getenv("ASAN_OPTIONS");
	char lib[PATH_MAX], opts[1024];
	int r;

	if (x == NULL || (x->h = harness_new()) == NULL)
		goto fail;
	x->shim = shim;
	if (shim) {
		(void)snprintf(lib, sizeof(lib),
		    "%s/tests/.libs/fault-fsync.so", top != NULL ? top : ".");
		if (access(lib, R_OK) != 0) {
			fprintf(stderr, "no fault shim at %s\n", lib);
			goto fail;
		}
		(void)snprintf(x->trip, sizeof(x->trip), "%s/trip",
		    harness_dir(x->h));
		(void)snprintf(x->slow, sizeof(x->slow), "%s/slow",
		    harness_dir(x->h));
		setenv("KVD_FAULT_FSYNC", x->trip, 1);
		setenv("KVD_SLOW_FSYNC", x->slow, 1);
		setenv("LD_PRELOAD", lib, 1);
		/* A sanitizer runtime as a shared library wants to be first. */
		(void)snprintf(opts, sizeof(opts),
		    "%s%sverify_asan_link_order=0", asan != NULL ? asan : "",
		    asan != NULL && *asan != '\0' ? ":" : "");
		setenv("ASAN_OPTIONS", opts, 1);
	}
	r = harness_start(x->h, args);
	/* Only kvd gets the shim: kvctl and this test run as they are. */
	unsetenv("LD_PRELOAD");
	if (r != 0 || connect_client(x) != 0)
		goto fail;
	*state = x;
	return (0);
fail:
	if (x != NULL) {
		kv_conn_free(x->c);
		harness_free(x->h);
	}
	free(x);
	return (-1);
}

static int
setup(void **state)
{
	return (setup_with(state, 0, kvd_args));
}

static int
setup_shim(void **state)
{
	return (setup_with(state, 1, kvd_args_never));
}

static int
teardown(void **state)
{
	struct fixture *x = *state;
	int rc;

	/* A shutdown with failing or slow syncs would prove nothing here. */
	if (x->shim) {
		(void)unlink(x->trip);
		(void)unlink(x->slow);
	}
	kv_conn_free(x->c);
	rc = harness_stop(x->h);
	if (rc != 0)
		harness_print_log(x->h);
	harness_free(x->h);
	free(x);
	return (rc == 0 ? 0 : -1);
}

static void
touch(const char *path)
{
	int fd = open(path, O_CREAT | O_WRONLY, 0644);

	assert_true(fd >= 0);
	assert_int_equal(close(fd), 0);
}

static void
make_key(char *k, size_t len, int i)
{
	(void)snprintf(k, len, "key%05d", i);
}

/* The value of key i written in round r: distinct per round, VLEN bytes. */
static void
make_value(char *v, int i, int r)
{
	int n = snprintf(v, VLEN + 1, "round %d key %d ", r, i);

	memset(v + n, 'a' + (i + r) % 26, (size_t)(VLEN - n));
	v[VLEN] = '\0';
}

/* Keys deleted after the last round: every fourth. */
static int
deleted(int i)
{
	return (i % 4 == 0);
}

/* Put every key with its round-r value, pipelined BATCH at a time. */
static void
put_round(kv_conn *c, int r)
{
	const kv_reply *rep;
	char k[16], v[VLEN + 1];
	int i, j;

	for (i = 0; i < NKEYS; i += BATCH) {
		for (j = i; j < i + BATCH && j < NKEYS; j++) {
			make_key(k, sizeof(k), j);
			make_value(v, j, r);
			assert_int_equal(kv_pipe_put(c, k, strlen(k), v, VLEN),
			    KV_OK);
		}
		assert_int_equal(kv_pipe_send(c), KV_OK);
		for (j = i; j < i + BATCH && j < NKEYS; j++)
			if (kv_pipe_recv(c, &rep) != KV_OK)
				fail_msg("put: %s", kv_reply_message(rep));
	}
}

static void
delete_some(kv_conn *c)
{
	char k[16];
	int i;

	for (i = 0; i < NKEYS; i++) {
		if (!deleted(i))
			continue;
		make_key(k, sizeof(k), i);
		if (kv_delete(c, k, strlen(k), NULL) != KV_OK)
			fail_msg("delete %s: %s", k, kv_errmsg(c));
	}
}

/* rounds rounds of overwrites, then the deletes: dead records galore. */
static void
churn(kv_conn *c, int first, int rounds)
{
	int r;

	for (r = first; r < first + rounds; r++)
		put_round(c, r);
	delete_some(c);
}

static uint64_t
stat_of(kv_conn *c, const char *name)
{
	kv_statlist *st;
	uint64_t v = 0;

	if (kv_stats(c, &st) != KV_OK)
		fail_msg("stats: %s", kv_errmsg(c));
	if (kv_stats_find(st, name, &v) != KV_OK) {
		kv_stats_free(st);
		fail_msg("stats has no %s", name);
	}
	kv_stats_free(st);
	return (v);
}

/* Every live key holds its round-r value; every deleted key is gone. */
static void
check_all(kv_conn *c, int r)
{
	kv_iter *it;
	char k[16], v[VLEN + 1];
	const void *key;
	size_t klen, vlen;
	void *val;
	int i, rc, live = 0, seen = 0;

	for (i = 0; i < NKEYS; i++) {
		make_key(k, sizeof(k), i);
		rc = kv_get(c, k, strlen(k), &val, &vlen, NULL);
		if (deleted(i)) {
			if (rc != KV_NOT_FOUND)
				fail_msg("%s was deleted, get says %d", k, rc);
			continue;
		}
		live++;
		if (rc != KV_OK)
			fail_msg("get %s: %d %s", k, rc, kv_errmsg(c));
		make_value(v, i, r);
		if (vlen != VLEN || memcmp(val, v, VLEN) != 0) {
			kv_free(val);
			fail_msg("%s: wrong value after compaction", k);
		}
		kv_free(val);
	}
	/* A scan sees each live key once (the iterator checks the order). */
	assert_int_equal(kv_iter_new(c, &it), KV_OK);
	assert_int_equal(kv_iter_set_prefix(it, "key", 3), KV_OK);
	assert_int_equal(kv_iter_set_keys_only(it, 1), KV_OK);
	while ((rc = kv_iter_next(it, &key, &klen, NULL, NULL)) == KV_OK)
		seen++;
	assert_int_equal(rc, KV_NOT_FOUND);
	kv_iter_free(it);
	assert_int_equal(seen, live);
}

static uint64_t
now_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000);
}

/* Poll the stats until the requested compaction is over (bounded). */
static void
wait_compaction(kv_conn *c)
{
	uint64_t deadline = now_ms() + WAIT_MS;

	while (stat_of(c, "compaction_pending") != 0) {
		if (now_ms() > deadline)
			fail_msg("compaction_pending still 1 after %d ms",
			    WAIT_MS);
		(void)usleep(20000);
	}
}

/* Until what was written is durable (sealed segments synced, too). */
static void
wait_durable(kv_conn *c)
{
	uint64_t deadline = now_ms() + WAIT_MS;

	while (stat_of(c, "durable_seq") < stat_of(c, "last_seq")) {
		if (now_ms() > deadline)
			fail_msg("durable_seq behind last_seq after %d ms",
			    WAIT_MS);
		(void)usleep(20000);
	}
}

/* Nothing compacts by itself, and there is plenty to compact. */
static void
expect_garbage(kv_conn *c, uint64_t compactions)
{
	assert_int_equal(stat_of(c, "compactions"), compactions);
	assert_int_equal(stat_of(c, "compaction_pending"), 0);
	assert_true(stat_of(c, "segments") >= 3);
	assert_true(stat_of(c, "dead_bytes") > 2 * stat_of(c, "live_bytes"));
}

/*
 * What is left dead after a whole compaction: the records in the active
 * segment (at most one segment) and tombstones that must stay.
 */
static void
expect_reclaimed(kv_conn *c, uint64_t dead_before, uint64_t segs_before)
{
	uint64_t dead = stat_of(c, "dead_bytes");

	print_message("dead bytes %llu -> %llu, segments %llu -> %llu\n",
	    (unsigned long long)dead_before, (unsigned long long)dead,
	    (unsigned long long)segs_before,
	    (unsigned long long)stat_of(c, "segments"));
	assert_true(dead < dead_before / 4);
	assert_true(stat_of(c, "segments") < segs_before);
	assert_int_equal(stat_of(c, "compaction_failures"), 0);
}

static void
libkvclient_compacts_on_demand(void **state)
{
	struct fixture *x = *state;
	uint64_t dead, segs;
	int pending = -1;

	churn(x->c, 0, 3);
	expect_garbage(x->c, 0);
	check_all(x->c, 2);
	dead = stat_of(x->c, "dead_bytes");
	segs = stat_of(x->c, "segments");

	assert_int_equal(kv_compact(x->c, &pending), KV_OK);
	assert_int_equal(pending, 1);
	wait_compaction(x->c);
	assert_true(stat_of(x->c, "compactions") > 0);
	assert_int_equal(stat_of(x->c, "ops_compact"), 1);
	assert_int_equal(stat_of(x->c, "errors_compact"), 0);
	expect_reclaimed(x->c, dead, segs);
	check_all(x->c, 2);

	/* What the compaction wrote is what a restart finds. */
	kv_conn_free(x->c);
	x->c = NULL;
	assert_int_equal(harness_stop(x->h), 0);
	assert_int_equal(harness_start(x->h, kvd_args), 0);
	assert_int_equal(connect_client(x), 0);
	check_all(x->c, 2);
	assert_true(stat_of(x->c, "dead_bytes") < dead / 4);
}

/* kvctl against the fixture's server, with -t seconds. */
static void
kvctl(struct fixture *x, struct run *r, const char *t, const char *a1,
    const char *a2)
{
	const char *const argv[] = { run_kvctl_path(), "-s", x->ep, "-t", t,
	    a1, a2, NULL };
	const char *const env[] = { "KVCTL_HISTFILE=", NULL };

	(void)run_prog(r, argv, env, NULL, 0);
}

static void
expect_run(const struct run *r, int status)
{
	if (r->status != status)
		fail_msg("kvctl exit %d, expected %d; stderr: %s", r->status,
		    status, r->err);
}

static void
kvctl_compacts_on_demand(void **state)
{
	struct fixture *x = *state;
	struct run r;
	uint64_t dead, segs, runs;

	churn(x->c, 0, 3);
	expect_garbage(x->c, 0);
	dead = stat_of(x->c, "dead_bytes");
	segs = stat_of(x->c, "segments");

	/* Without --wait: silent, at once; the run goes on in kvd. */
	kvctl(x, &r, "60", "compact", NULL);
	expect_run(&r, 0);
	assert_int_equal(r.outlen, 0);
	assert_int_equal(r.errlen, 0);
	run_free(&r);
	wait_compaction(x->c);
	runs = stat_of(x->c, "compactions");
	assert_true(runs > 0);
	expect_reclaimed(x->c, dead, segs);
	check_all(x->c, 2);

	/* More garbage; --wait returns only once it is reclaimed. */
	churn(x->c, 3, 3);
	expect_garbage(x->c, runs);
	dead = stat_of(x->c, "dead_bytes");
	segs = stat_of(x->c, "segments");
	kvctl(x, &r, "120", "compact", "--wait");
	expect_run(&r, 0);
	assert_int_equal(r.outlen, 0);
	assert_int_equal(r.errlen, 0);
	run_free(&r);
	assert_int_equal(stat_of(x->c, "compaction_pending"), 0);
	assert_true(stat_of(x->c, "compactions") > runs);
	expect_reclaimed(x->c, dead, segs);
	check_all(x->c, 5);
	assert_int_equal(stat_of(x->c, "ops_compact"), 2);
}

/*
 * Every fsync a second slower: a compaction run takes seconds, and --wait
 * gives up at -t with a clear line, the run still going (and finishing).
 */
static void
kvctl_wait_gives_up_at_timeout(void **state)
{
	struct fixture *x = *state;
	struct run r;

	churn(x->c, 0, 3);
	expect_garbage(x->c, 0);
	touch(x->slow);
	kvctl(x, &r, "1.5", "compact", "--wait");
	expect_run(&r, 3);
	assert_int_equal(r.outlen, 0);
	if (strstr(r.err, "kvctl: compact: still running after 1.5 seconds") !=
	    r.err || strchr(r.err, '\n') != r.err + r.errlen - 1)
		fail_msg("stderr: %s", r.err);
	run_free(&r);
	assert_int_equal(unlink(x->slow), 0);
	wait_compaction(x->c);
	assert_true(stat_of(x->c, "compactions") > 0);
	assert_int_equal(stat_of(x->c, "compaction_failures"), 0);
	check_all(x->c, 2);
}

/*
 * fdatasync fails (EIO) for the compaction's output: the run is given up,
 * kvd keeps its data and stays writable, and --wait says the compaction
 * failed (exit 3).  Once the disk is well, the next request succeeds.
 */
static void
kvctl_wait_reports_failure(void **state)
{
	struct fixture *x = *state;
	struct run r;
	uint64_t dead, segs;

	churn(x->c, 0, 3);
	expect_garbage(x->c, 0);
	dead = stat_of(x->c, "dead_bytes");
	segs = stat_of(x->c, "segments");
	/* Only the compaction may meet the failing disk, not a write. */
	wait_durable(x->c);
	touch(x->trip);
	kvctl(x, &r, "120", "compact", "--wait");
	expect_run(&r, 3);
	assert_int_equal(r.outlen, 0);
	if (strcmp(r.err, "kvctl: compact: a compaction failed (the "
	    "server's log says why)\n") != 0)
		fail_msg("stderr: %s", r.err);
	run_free(&r);
	assert_int_equal(unlink(x->trip), 0);
	assert_true(stat_of(x->c, "compaction_failures") > 0);
	assert_int_equal(stat_of(x->c, "compactions"), 0);
	assert_int_equal(stat_of(x->c, "readonly"), 0);
	check_all(x->c, 2);

	kvctl(x, &r, "120", "compact", "--wait");
	expect_run(&r, 0);
	assert_int_equal(r.errlen, 0);
	run_free(&r);
	assert_true(stat_of(x->c, "compactions") > 0);
	assert_true(stat_of(x->c, "dead_bytes") < dead / 4);
	assert_true(stat_of(x->c, "segments") < segs);
	check_all(x->c, 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(libkvclient_compacts_on_demand,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(kvctl_compacts_on_demand, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(kvctl_wait_gives_up_at_timeout,
		    setup_shim, teardown),
		cmocka_unit_test_setup_teardown(kvctl_wait_reports_failure,
		    setup_shim, teardown),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
