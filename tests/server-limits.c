/*
 * server-limits.c: one client can never take kvd's memory or another
 * client's service: a client that sends but never reads stops being read
 * (kvd's RSS stays bounded) and is read again once its replies drain, a
 * reply past the hard limit drops its client, silent clients time out,
 * and connections over max-clients are refused.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "harness.h"
#include "wire.h"

#define PING_PAYLOAD	16000	/* its length fits a 2-byte varint */
#define FLOOD_CAP	(256u << 20)	/* what a server without backpressure would take */

static int
setup_slow_reader(void **state)
{
	static const char *const args[] = { "--client-output-limit", "256K",
	    "--client-output-hard-limit", "64M", "--idle-timeout", "0", NULL };
	char opts[512];
	const char *asan = getenv("ASAN_OPTIONS");

	/*
	 * ASan keeps freed memory in a quarantine (256 MiB by default) that
	 * would show in RSS as if kvd held it: keep it small for this kvd.
	 */
	snprintf(opts, sizeof(opts), "%s%squarantine_size_mb=4",
	    asan != NULL ? asan : "", asan != NULL && *asan != '\0' ? ":" : "");
	setenv("ASAN_OPTIONS", opts, 1);
	return (harness_setup_args(state, args));
}

static int
setup_hard_limit(void **state)
{
	static const char *const args[] = { "--client-output-limit", "4K",
	    "--client-output-hard-limit", "8K", NULL };

	return (harness_setup_args(state, args));
}

static int
setup_idle(void **state)
{
	static const char *const args[] = { "--idle-timeout", "1", NULL };

	return (harness_setup_args(state, args));
}

static int
setup_max_clients(void **state)
{
	static const char *const args[] = { "--max-clients", "4", NULL };

	return (harness_setup_args(state, args));
}

static int
setup_resume(void **state)
{
	static const char *const args[] = { "--client-output-limit", "64K",
	    "--fsync", "never", NULL };

	return (harness_setup_args(state, args));
}

static long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/*
 * Send frames of a ping with a 16 KiB payload without ever reading, until
 * the socket has refused more for 2 seconds or FLOOD_CAP bytes went out.
 * Returns the number of bytes sent.
 */
static size_t
flood(struct wire *w, const uint8_t *frame, size_t flen)
{
	struct pollfd pfd;
	size_t sent = 0, off = 0;
	long stalled_since = 0;
	ssize_t n;
	int fd = wire_fd(w);

	assert_int_equal(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK), 0);
	while (sent < FLOOD_CAP) {
		n = send(fd, frame + off, flen - off, MSG_NOSIGNAL);
		if (n > 0) {
			sent += (size_t)n;
			off = (off + (size_t)n) % flen;
			stalled_since = 0;
			continue;
		}
		assert_true(n < 0 && (errno == EAGAIN || errno == EINTR));
		if (stalled_since == 0)
			stalled_since = now_ms();
		else if (now_ms() - stalled_since > 2000)
			break;
		pfd.fd = fd;
		pfd.events = POLLOUT;
		(void)poll(&pfd, 1, 100);
	}
	assert_int_equal(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK), 0);
	return (sent);
}

/* One ping frame (id 7, a 16 KiB payload), as bytes. */
static uint8_t *
ping_frame(size_t *len)
{
	uint8_t *frame, *payload;
	size_t plen = PING_PAYLOAD, n = 0;

	assert_non_null(payload = malloc(plen));
	memset(payload, 'x', plen);
	assert_non_null(frame = malloc(plen + 64));
	/* Request{id=7 (field 1), ping (field 6) {payload (field 1)}} */
	frame[n++] = 0;
	frame[n++] = 0;
	frame[n++] = 0;
	frame[n++] = 0;
	frame[n++] = 0x08;
	frame[n++] = 7;
	frame[n++] = 0x32;
	frame[n++] = (uint8_t)(0x80 | ((plen + 3) & 0x7f));
	frame[n++] = (uint8_t)((plen + 3) >> 7);
	frame[n++] = 0x0a;
	frame[n++] = (uint8_t)(0x80 | (plen & 0x7f));
	frame[n++] = (uint8_t)(plen >> 7);
	memcpy(frame + n, payload, plen);
	n += plen;
	frame[2] = (uint8_t)((n - 4) >> 8);
	frame[3] = (uint8_t)(n - 4);
	free(payload);
	*len = n;
	return (frame);
}

struct counted {
	size_t	n;
};

static int
count_pong(void *arg, Kv__Response *r)
{
	struct counted *c = arg;

	assert_int_equal(r->status, KV__STATUS__OK);
	assert_int_equal(r->id, 7);
	assert_int_equal(r->ping->payload.len, PING_PAYLOAD);
	c->n++;
	return (0);
}

static void
slow_reader_rss_bounded(void **state)
{
	struct harness *h = *state;
	struct wire *w, *witness;
	struct counted c = { 0 };
	uint64_t before, after;
	uint8_t *frame;
	size_t flen, sent;
	Kv__Response *r;

	frame = ping_frame(&flen);
	assert_non_null(w = wire_connect(harness_port(h)));
	/* Warm up, so that the baseline includes what any connection costs. */
	assert_int_equal(wire_send_raw(w, frame, flen), 0);
	assert_non_null(r = wire_recv(w, WIRE_TIMEOUT_MS));
	kv__response__free_unpacked(r, NULL);
	before = harness_rss_kb(harness_pid(h));
	assert_true(before > 0);

	sent = flood(w, frame, flen);
	after = harness_rss_kb(harness_pid(h));
	print_message("sent %zu bytes before kvd stopped reading; "
	    "RSS %llu KiB -> %llu KiB\n", sent, (unsigned long long)before,
	    (unsigned long long)after);
	/* kvd stopped reading: the sender was stalled long before the cap. */
	assert_true(sent < FLOOD_CAP);
	/*
	 * What kvd may hold for this client: 256 KiB of replies over the
	 * limit, the unread frames of one read, and allocator slack.  Without
	 * backpressure it would hold every reply to everything sent.
	 */
	assert_true(after < before + 24 * 1024);

	/* Everyone else is still served meanwhile. */
	assert_non_null(witness = wire_connect(harness_port(h)));
	assert_int_equal(wire_ping(witness, 1, "w", 1), 0);
	assert_non_null(r = wire_call(witness));
	assert_int_equal(r->status, KV__STATUS__OK);
	kv__response__free_unpacked(r, NULL);
	wire_free(witness);

	/* Once the client reads, every whole request it sent is answered. */
	assert_int_equal(wire_exchange(w, sent / flen, count_pong, &c,
	    WIRE_TIMEOUT_MS), 0);
	assert_int_equal(c.n, sent / flen);
	wire_free(w);
	free(frame);
}

static void
reply_past_hard_limit_drops_client(void **state)
{
	struct harness *h = *state;
	struct wire *w, *witness;
	uint8_t *frame;
	size_t flen;
	Kv__Response *r;
	uint64_t dropped = 0;

	frame = ping_frame(&flen);
	assert_non_null(w = wire_connect(harness_port(h)));
	assert_int_equal(wire_send_raw(w, frame, flen), 0);
	/* The 16 KiB reply is over the 8 KiB hard limit: dropped, no reply. */
	assert_null(wire_recv(w, WIRE_TIMEOUT_MS));
	wire_free(w);

	assert_non_null(witness = wire_connect(harness_port(h)));
	assert_int_equal(wire_stats(witness, 1), 0);
	assert_non_null(r = wire_call(witness));
	assert_int_equal(wire_stat(r, "connections_dropped", &dropped), 0);
	assert_int_equal(dropped, 1);
	kv__response__free_unpacked(r, NULL);
	wire_free(witness);
	free(frame);
}

#define RESUME_VALUE	(200u << 10)
#define RESUME_PAIRS	8

struct resumed {
	const uint8_t	*big;
	size_t		 n;
};

static int
check_resumed(void *arg, Kv__Response *r)
{
	struct resumed *x = arg;

	assert_int_equal(r->id, x->n + 1);
	assert_int_equal(r->status, KV__STATUS__OK);
	if (x->n % 2 == 0) {
		assert_int_equal(r->get->value.len, RESUME_VALUE);
		assert_memory_equal(r->get->value.data, x->big, RESUME_VALUE);
	} else {
		assert_int_equal(r->get->value.len, 1);
		assert_memory_equal(r->get->value.data, "s", 1);
	}
	x->n++;
	return (0);
}

/*
 * Each large reply is over the output limit, so kvd stops reading the
 * client after it; when the socket takes all of it at once, no write
 * event is left to resume the client: kvd must resume it there and then,
 * or the requests after it are never answered.
 */
static void
paused_client_resumes_when_output_drains_at_once(void **state)
{
	struct harness *h = *state;
	struct resumed x = { NULL, 0 };
	struct wire *w;
	Kv__Response *r;
	uint8_t *big;
	size_t i;

	assert_non_null(big = malloc(RESUME_VALUE));
	for (i = 0; i < RESUME_VALUE; i++)
		big[i] = (uint8_t)(i * 13 + i / 512);
	x.big = big;
	assert_non_null(w = wire_connect(harness_port(h)));
	assert_int_equal(wire_put(w, 1, "big", 3, big, RESUME_VALUE), 0);
	assert_non_null(r = wire_call(w));
	assert_int_equal(r->status, KV__STATUS__OK);
	kv__response__free_unpacked(r, NULL);
	assert_int_equal(wire_put(w, 2, "small", 5, "s", 1), 0);
	assert_non_null(r = wire_call(w));
	assert_int_equal(r->status, KV__STATUS__OK);
	kv__response__free_unpacked(r, NULL);

	for (i = 0; i < 2 * RESUME_PAIRS; i += 2) {
		assert_int_equal(wire_get(w, i + 1, "big", 3), 0);
		assert_int_equal(wire_get(w, i + 2, "small", 5), 0);
	}
	assert_int_equal(wire_exchange(w, 2 * RESUME_PAIRS, check_resumed, &x,
	    WIRE_TIMEOUT_MS), 0);
	assert_int_equal(x.n, 2 * RESUME_PAIRS);
	wire_free(w);
	free(big);
}

static void
idle_client_times_out(void **state)
{
	struct harness *h = *state;
	struct wire *w;
	Kv__Response *r;
	uint64_t n = 0;

	assert_non_null(w = wire_connect(harness_port(h)));
	assert_int_equal(wire_ping(w, 1, NULL, 0), 0);
	assert_non_null(r = wire_call(w));
	kv__response__free_unpacked(r, NULL);
	/* idle-timeout is 1 second; allow ten before calling it a failure. */
	assert_int_equal(wire_wait_eof(w, 10000), 1);
	wire_free(w);

	assert_non_null(w = wire_connect(harness_port(h)));
	assert_int_equal(wire_stats(w, 2), 0);
	assert_non_null(r = wire_call(w));
	assert_int_equal(wire_stat(r, "connections_timed_out", &n), 0);
	assert_true(n >= 1);
	kv__response__free_unpacked(r, NULL);
	wire_free(w);
}

static void
over_max_clients_refused(void **state)
{
	struct harness *h = *state;
	struct wire *w[4], *extra;
	Kv__Response *r;
	int i, ok = 0;

	for (i = 0; i < 4; i++) {
		assert_non_null(w[i] = wire_connect(harness_port(h)));
		assert_int_equal(wire_ping(w[i], 1, NULL, 0), 0);
		assert_non_null(r = wire_call(w[i]));
		kv__response__free_unpacked(r, NULL);
	}
	assert_non_null(extra = wire_connect(harness_port(h)));
	assert_non_null(r = wire_recv(extra, WIRE_TIMEOUT_MS));
	assert_int_equal(r->status, KV__STATUS__UNAVAILABLE);
	assert_int_equal(r->id, 0);
	assert_non_null(strstr(r->message, "too many clients"));
	kv__response__free_unpacked(r, NULL);
	assert_int_equal(wire_wait_eof(extra, WIRE_TIMEOUT_MS), 1);
	wire_free(extra);

	/* A slot freed is a slot usable again (the close takes a moment to land). */
	wire_free(w[3]);
	for (i = 0; i < 100 && !ok; i++) {
		assert_non_null(extra = wire_connect(harness_port(h)));
		assert_int_equal(wire_ping(extra, 5, NULL, 0), 0);
		if ((r = wire_call(extra)) != NULL) {
			ok = r->status == KV__STATUS__OK && r->id == 5;
			kv__response__free_unpacked(r, NULL);
		}
		wire_free(extra);
		if (!ok)
			usleep(20000);
	}
	assert_true(ok);
	for (i = 0; i < 3; i++)
		wire_free(w[i]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(slow_reader_rss_bounded,
		    setup_slow_reader, harness_teardown),
		cmocka_unit_test_setup_teardown(
		    reply_past_hard_limit_drops_client, setup_hard_limit,
		    harness_teardown),
		cmocka_unit_test_setup_teardown(
		    paused_client_resumes_when_output_drains_at_once,
		    setup_resume, harness_teardown),
		cmocka_unit_test_setup_teardown(idle_client_times_out,
		    setup_idle, harness_teardown),
		cmocka_unit_test_setup_teardown(over_max_clients_refused,
		    setup_max_clients, harness_teardown),
	};

	return (cmocka_run_group_tests_name("server-limits", tests, NULL,
	    NULL));
}
