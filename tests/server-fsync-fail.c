/*
 * server-fsync-fail.c: when fdatasync fails (a dying disk, EIO), the write
 * it should have covered is answered UNAVAILABLE with the reason, never OK;
 * later writes are refused at once; reads of durable data keep working;
 * nothing waits forever; stats says readonly.  The failure comes from
 * tests/fault-fsync.c, preloaded into kvd.
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
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"
#include "wire.h"

struct fixture {
	struct harness	*h;
	char		 trip[PATH_MAX];
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

	assert_int_equal(wire_stats(w, 6), 0);
	assert_non_null(r = wire_call(w));
	assert_int_equal(wire_stat(r, "readonly", &ro), 0);
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    fsync_failure_refuses_writes_keeps_reads, setup, teardown),
	};

	return (cmocka_run_group_tests_name("server-fsync-fail", tests, NULL,
	    NULL));
}
