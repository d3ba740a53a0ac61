/*
 * fakekvd.h: a small stand-in for kvd that runs on a thread of a client
 * test, for the tests of libkvclient and kvctl that must control exactly
 * what the server says: well-behaved (an in-memory sorted map that follows
 * the protocol, iter paging included) or broken in one chosen way.
 * Its stats hold only "keys" and "requests_total"; a compact starts
 * nothing and says pending whenever a key is stored.
 *
 * It listens on 127.0.0.1 on a port the kernel picks, serves one
 * connection at a time, and stops with fake_stop().  It is no substitute
 * for kvd: the integration tests (tests/kvctl-*.c with the harness) run
 * the real server.
 */
#ifndef KVD_TESTS_FAKEKVD_H
#define KVD_TESTS_FAKEKVD_H

#include <stdint.h>

#include "kvclient.h"

enum fake_mode {
	FAKE_NORMAL,		/* a correct server */
	FAKE_WRONG_ID,		/* answers carry an id that is not due */
	FAKE_GARBAGE,		/* answers are frames that do not parse */
	FAKE_UNKNOWN_STATUS,	/* answers carry status 42 */
	FAKE_SILENT,		/* reads requests, never answers */
	FAKE_CLOSE,		/* closes the connection on the first request */
	FAKE_HUGE,		/* announces a 2 GiB answer */
	FAKE_EMPTY_MORE,	/* iter: an empty page that says "more" */
	FAKE_DISORDER,		/* iter: the same key again on every page */
	FAKE_PAGE_DISORDER,	/* iter: a page's first two entries swapped */
	FAKE_EMPTY_KEY,		/* iter: a page's first key is empty */
	FAKE_BAD_PING,		/* ping: echoes other bytes */
	FAKE_ID_ZERO,		/* every answer: UNAVAILABLE with id 0 */
};

struct fake;

/* Start a fake server in mode on its own thread.  NULL on failure. */
struct fake *fake_start(enum fake_mode mode);

/* "127.0.0.1:PORT" of f. */
const char *fake_endpoint(const struct fake *f);

/* Requests f has received so far (all connections). */
uint64_t fake_requests(const struct fake *f);

/* Connections f has accepted so far. */
uint64_t fake_connections(const struct fake *f);

/* Stop the thread, close everything, free f.  NULL is a no-op. */
void fake_stop(struct fake *f);

/*
 * A fake server and one libkvclient connection to it: the fixture of most
 * client unit tests.  Both members are owned by fake_teardown().
 */
struct fake_conn {
	struct fake	*f;
	kv_conn		*c;
};

/*
 * fake_setup_mode(state, mode):
 * cmocka setup: start a fake in mode, connect a kv_conn to it, and leave
 * the struct fake_conn in *state.  Returns 0, or -1 with nothing left
 * behind.  fake_setup(state) is the same with FAKE_NORMAL.
 */
int fake_setup_mode(void **state, enum fake_mode mode);
int fake_setup(void **state);

/* fake_teardown(state): free the connection, stop the fake.  Returns 0. */
int fake_teardown(void **state);

#endif /* !KVD_TESTS_FAKEKVD_H */
