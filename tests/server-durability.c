/*
 * server-durability.c: under fsync "always", no client sees a write before
 * it is durable: a get on another connection that finds the write is
 * answered only once the write's own reply can go.  When fdatasync fails
 * (a dying disk, EIO), the write it should have covered is answered
 * UNAVAILABLE with the reason, never OK; later writes and compactions are
 * refused; reads of durable data keep working; nothing waits forever;
 * stats says readonly.
 * The same holds for gets that kvd looks up together, as a run.  Slow and
 * failing syncs come from tests/fault-fsync.c, preloaded into kvd.
 */
#include "config.h"

#include <fcntl.h>
#include <poll.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"
#include "wire.h"

struct fixture {
	struct harness	*h;
	char		 trip[PATH_MAX];
	char		 slow[PATH_MAX];
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *top = getenv("KVD_TOP_BUILDDIR");
	const char *asan = getenv("ASAN_OPTIONS");
	char shim[PATH_MAX], opts[1024];

	if (f == NULL || (f->h = harness_new()) == NULL) {
		free(f);
		return (-1);
	}
	snprintf(shim, sizeof(shim), "%s/tests/.libs/fault-fsync.so",
	    top != NULL ? top : ".");
	if (access(shim, R_OK) != 0) {
		fprintf(stderr, "no fault shim at %s\n", shim);
		return (-1);
	}
	snprintf(f->trip, sizeof(f->trip), "%s/trip", harness_dir(f->h));
	setenv("KVD_FAULT_FSYNC", f->trip, 1);
	snprintf(f->slow, sizeof(f->slow), "%s/slow", harness_dir(f->h));
	setenv("KVD_SLOW_FSYNC", f->slow, 1);
	setenv("LD_PRELOAD", shim, 1);
	/* A sanitizer runtime loaded as a shared library wants to come first. */
	snprintf(opts, sizeof(opts), "%s%sverify_asan_link_order=0",
	    asan != NULL ? asan : "", asan != NULL && *asan != '\0' ? ":" : "");
	setenv("ASAN_OPTIONS", opts, 1);
	*state = f;
	return (0);
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	(void)harness_stop(f->h);
	harness_free(f->h);
	free(f);
	unsetenv("LD_PRELOAD");
	return (0);
}

static Kv__Response *
recv_one(struct wire *w, uint64_t id)
{
	Kv__Response *r;

	assert_non_null(r = wire_recv(w, WIRE_TIMEOUT_MS));
	assert_int_equal(r->id, id);
	return (r);
}

static void
fsync_failure_refuses_writes_keeps_reads(void **state)
{
	struct fixture *f = *state;
	struct wire *w;
	Kv__Response *r;
	uint64_t ro = 0;

	assert_int_equal(harness_start(f->h, NULL), 0);
	assert_non_null(w = wire_connect(harness_port(f->h)));
	assert_int_equal(wire_put(w, 1, "before", 6, "durable", 7), 0);
	assert_non_null(r = wire_call(w));
	assert_int_equal(r->status, KV__STATUS__OK);
	kv__response__free_unpacked(r, NULL);

	/* The disk dies. */
	assert_int_equal(close(open(f->trip, O_CREAT | O_WRONLY, 0644)), 0);

	/* Pipelined: a write its sync fails, then reads and another write. */
	assert_int_equal(wire_put(w, 2, "after", 5, "lost", 4), 0);
	assert_int_equal(wire_get(w, 3, "before", 6), 0);
	assert_int_equal(wire_get(w, 4, "after", 5), 0);
	assert_int_equal(wire_put(w, 5, "again", 5, "x", 1), 0);
	assert_int_equal(wire_flush(w), 0);

	r = recv_one(w, 2);
	print_message("put after the failure: %d %s\n", r->status, r->message);
	assert_int_equal(r->status, KV__STATUS__UNAVAILABLE);
	assert_non_null(strstr(r->message, "fdatasync"));
	kv__response__free_unpacked(r, NULL);

	r = recv_one(w, 3);
	assert_int_equal(r->status, KV__STATUS__OK);
	assert_int_equal(r->get->value.len, 7);
	assert_memory_equal(r->get->value.data, "durable", 7);
	kv__response__free_unpacked(r, NULL);

	/* Never durable, so never shown: an error or absence, not "lost". */
	r = recv_one(w, 4);
	print_message("get of the lost write: %d %s\n", r->status, r->message);
	assert_int_not_equal(r->status, KV__STATUS__OK);
	kv__response__free_unpacked(r, NULL);

	r = recv_one(w, 5);
	print_message("put on a read-only store: %d %s\n", r->status,
	    r->message);
	assert_int_equal(r->status, KV__STATUS__UNAVAILABLE);
	assert_true(r->message[0] != '\0');
	kv__response__free_unpacked(r, NULL);

	/* Compaction writes files too: refused the same way. */
	assert_int_equal(wire_compact(w, 8), 0);
	assert_non_null(r = wire_call(w));
	assert_int_equal(r->id, 8);
	assert_int_equal(r->status, KV__STATUS__UNAVAILABLE);
	assert_non_null(strstr(r->message, "writes refused"));
	kv__response__free_unpacked(r, NULL);

	assert_int_equal(wire_stats(w, 6), 0);
	assert_non_null(r = wire_call(w));
	assert_int_equal(wire_stat(r, "readonly", &ro), 0);
	assert_int_equal(ro, 1);
	assert_int_equal(wire_stat(r, "errors_compact", &ro), 0);
	assert_int_equal(ro, 1);
	kv__response__free_unpacked(r, NULL);
	wire_free(w);

	/* Shutdown still completes; the acknowledged write survives it. */
	(void)harness_stop(f->h);
	assert_int_equal(unlink(f->trip), 0);
	assert_int_equal(harness_start(f->h, NULL), 0);
	assert_non_null(w = wire_connect(harness_port(f->h)));
	assert_int_equal(wire_get(w, 7, "before", 6), 0);
	assert_non_null(r = wire_call(w));
	assert_int_equal(r->status, KV__STATUS__OK);
	assert_memory_equal(r->get->value.data, "durable", 7);
	kv__response__free_unpacked(r, NULL);
	wire_free(w);
}

static int
readable(struct wire *w, int timeout_ms)
{
	struct pollfd pfd = { wire_fd(w), POLLIN, 0 };

	return (poll(&pfd, 1, timeout_ms) == 1);
}

/*
 * A writes k while syncs are slow (a second); B reads k meanwhile.  If B's
 * get shows the value, A's put must have been durable by then: A's reply
 * is already there when B's arrives.  kvd releases both in the same loop
 * pass but may write B's socket first, hence a grace of 300 ms, far below
 * the second that A's reply would lag if B's read did not wait.  (If B's
 * get ran before A's put it says NOT_FOUND, which is also correct; the
 * pause below makes that unlikely.)
 */
static void
read_waits_for_durability(void **state)
{
	struct fixture *f = *state;
	struct wire *a, *b;
	Kv__Response *r;
	int round, seen = 0;
	char key[16];

	assert_int_equal(harness_start(f->h, NULL), 0);
	assert_non_null(a = wire_connect(harness_port(f->h)));
	assert_non_null(b = wire_connect(harness_port(f->h)));
	assert_int_equal(close(open(f->slow, O_CREAT | O_WRONLY, 0644)), 0);
	for (round = 0; round < 3; round++) {
		snprintf(key, sizeof(key), "fresh-%d", round);
		assert_int_equal(wire_put(a, 1, key, strlen(key), "v", 1), 0);
		assert_int_equal(wire_flush(a), 0);
		usleep(50000);	/* let kvd take A's put first */
		assert_int_equal(wire_get(b, 2, key, strlen(key)), 0);
		assert_int_equal(wire_flush(b), 0);
		assert_true(readable(b, WIRE_TIMEOUT_MS));
		r = recv_one(b, 2);
		if (r->status == KV__STATUS__OK) {
			seen++;
			/* Visible to B, so durable, so A's ack went out too. */
			assert_true(readable(a, 300));
		} else
			assert_int_equal(r->status, KV__STATUS__NOT_FOUND);
		kv__response__free_unpacked(r, NULL);
		r = recv_one(a, 1);
		assert_int_equal(r->status, KV__STATUS__OK);
		kv__response__free_unpacked(r, NULL);
	}
	print_message("the fresh write was visible in %d of 3 rounds\n", seen);
	assert_int_equal(unlink(f->slow), 0);
	wire_free(a);
	wire_free(b);
	assert_int_equal(harness_stop(f->h), 0);
}

static void
put_durable(struct wire *w, const char *key, const char *val)
{
	Kv__Response *r;

	assert_int_equal(wire_put(w, 1, key, strlen(key), val, strlen(val)),
	    0);
	assert_non_null(r = wire_call(w));
	assert_int_equal(r->status, KV__STATUS__OK);
	kv__response__free_unpacked(r, NULL);
}

/*
 * The same through a run of gets: A writes one key and deletes another
 * while syncs are slow; B asks for both among 14 gets of durable keys,
 * in one burst, so that kvd looks the 16 up together.  Each reply of B's
 * run that shows one of A's writes (the new value, or the deleted key's
 * absence) must wait for that write's sync, so A's replies are out by
 * then; the durable keys before them are answered as they are.
 */
static void
get_run_waits_for_durability(void **state)
{
	struct fixture *f = *state;
	struct wire *a, *b, *s;
	Kv__Response *r;
	uint64_t batched = 0;
	int round, i, seen = 0;
	char fresh[16], doomed[16], key[16], val[16];

	assert_int_equal(harness_start(f->h, NULL), 0);
	assert_non_null(a = wire_connect(harness_port(f->h)));
	assert_non_null(b = wire_connect(harness_port(f->h)));
	for (i = 0; i < 14; i++) {
		snprintf(key, sizeof(key), "stable-%d", i);
		put_durable(a, key, key);
	}
	for (round = 0; round < 3; round++) {
		snprintf(doomed, sizeof(doomed), "doomed-%d", round);
		put_durable(a, doomed, "x");
	}
	assert_int_equal(close(open(f->slow, O_CREAT | O_WRONLY, 0644)), 0);
	for (round = 0; round < 3; round++) {
		snprintf(fresh, sizeof(fresh), "fresh-%d", round);
		snprintf(doomed, sizeof(doomed), "doomed-%d", round);
		assert_int_equal(wire_put(a, 1, fresh, strlen(fresh), "v", 1),
		    0);
		assert_int_equal(wire_delete(a, 2, doomed, strlen(doomed)), 0);
		assert_int_equal(wire_flush(a), 0);
		usleep(50000);	/* let kvd take A's writes first */
		for (i = 0; i < 16; i++) {
			if (i == 5)
				snprintf(key, sizeof(key), "%s", fresh);
			else if (i == 11)
				snprintf(key, sizeof(key), "%s", doomed);
			else
				snprintf(key, sizeof(key), "stable-%d",
				    i - (i > 5) - (i > 11));
			assert_int_equal(wire_get(b, 10 + i, key,
			    strlen(key)), 0);
		}
		assert_int_equal(wire_flush(b), 0);
		for (i = 0; i < 16; i++) {
			r = recv_one(b, 10 + i);
			if (i == 5 && r->status == KV__STATUS__OK) {
				/* Visible to B, so durable, so A's ack is out. */
				seen++;
				assert_memory_equal(r->get->value.data, "v", 1);
				assert_true(readable(a, 300));
			} else if (i == 11 &&
			    r->status == KV__STATUS__NOT_FOUND) {
				seen++;
				assert_true(readable(a, 300));
			} else if (i == 5)
				assert_int_equal(r->status,
				    KV__STATUS__NOT_FOUND);
			else if (i == 11) {
				assert_int_equal(r->status, KV__STATUS__OK);
				assert_memory_equal(r->get->value.data, "x", 1);
			} else {
				snprintf(val, sizeof(val), "stable-%d",
				    i - (i > 5) - (i > 11));
				assert_int_equal(r->status, KV__STATUS__OK);
				assert_int_equal(r->get->value.len,
				    strlen(val));
				assert_memory_equal(r->get->value.data, val,
				    strlen(val));
			}
			kv__response__free_unpacked(r, NULL);
		}
		r = recv_one(a, 1);
		assert_int_equal(r->status, KV__STATUS__OK);
		kv__response__free_unpacked(r, NULL);
		r = recv_one(a, 2);
		assert_int_equal(r->status, KV__STATUS__OK);
		kv__response__free_unpacked(r, NULL);
	}
	print_message("A's writes were visible in %d of 6 gets\n", seen);
	assert_int_equal(unlink(f->slow), 0);

	/* Every burst of B's went as one run. */
	assert_non_null(s = wire_connect(harness_port(f->h)));
	assert_int_equal(wire_stats(s, 1), 0);
	assert_non_null(r = wire_call(s));
	assert_int_equal(wire_stat(r, "gets_batched", &batched), 0);
	assert_int_equal(batched, 3 * 16);
	kv__response__free_unpacked(r, NULL);
	wire_free(s);
	wire_free(a);
	wire_free(b);
	assert_int_equal(harness_stop(f->h), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(read_waits_for_durability,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(get_run_waits_for_durability,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    fsync_failure_refuses_writes_keeps_reads, setup, teardown),
	};

	return (cmocka_run_group_tests_name("server-durability", tests, NULL,
	    NULL));
}
