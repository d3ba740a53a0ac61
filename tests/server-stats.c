/*
 * server-stats.c: the stats request counts what happened, and the
 * Prometheus endpoint (--metrics) serves the same figures.
 */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "harness.h"
#include "wire.h"

struct fixture {
	struct harness	*h;
	uint16_t	 mport;
	char		 metrics[64];
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *args[] = { "--metrics", NULL, NULL };

	if (f == NULL)
		return (-1);
	f->mport = harness_free_port();
	snprintf(f->metrics, sizeof(f->metrics), "127.0.0.1:%u",
	    (unsigned)f->mport);
	args[1] = f->metrics;
	if ((f->h = harness_new_started(args)) == NULL) {
		free(f);
		return (-1);
	}
	*state = f;
	return (0);
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	int rc = harness_stop(f->h);

	harness_free(f->h);
	free(f);
	return (rc == 0 ? 0 : -1);
}

static void
expect(struct wire *w, Kv__Status status)
{
	Kv__Response *r;

	assert_non_null(r = wire_call(w));
	assert_int_equal(r->status, status);
	kv__response__free_unpacked(r, NULL);
}

static uint64_t
stat_of(const Kv__Response *r, const char *name)
{
	uint64_t v = 0;

	if (wire_stat(r, name, &v) != 0)
		fail_msg("stats has no %s", name);
	return (v);
}

/* The traffic both tests count: 4 puts (1 refused), 2 gets, 1 delete... */
static void
make_traffic(struct wire *w)
{
	assert_int_equal(wire_put(w, 1, "a", 1, "1", 1), 0);
	expect(w, KV__STATUS__OK);
	assert_int_equal(wire_put(w, 2, "b", 1, "2", 1), 0);
	expect(w, KV__STATUS__OK);
	assert_int_equal(wire_put(w, 3, "c", 1, "3", 1), 0);
	expect(w, KV__STATUS__OK);
	assert_int_equal(wire_put(w, 4, "", 0, "x", 1), 0);
	expect(w, KV__STATUS__INVALID_ARGUMENT);
	assert_int_equal(wire_get(w, 5, "a", 1), 0);
	expect(w, KV__STATUS__OK);
	assert_int_equal(wire_get(w, 6, "zz", 2), 0);
	expect(w, KV__STATUS__NOT_FOUND);
	assert_int_equal(wire_delete(w, 7, "b", 1), 0);
	expect(w, KV__STATUS__OK);
	assert_int_equal(wire_iter(w, 8, NULL, 0, NULL, 0, 0, 0), 0);
	expect(w, KV__STATUS__OK);
	assert_int_equal(wire_ping(w, 9, "p", 1), 0);
	expect(w, KV__STATUS__OK);
}

static void
stats_count_operations(void **state)
{
	struct fixture *f = *state;
	struct wire *w;
	Kv__Response *r;

	assert_non_null(w = wire_connect(harness_port(f->h)));
	make_traffic(w);
	/* Nothing is sealed in a 64 MiB segment: no compaction to start. */
	assert_int_equal(wire_compact(w, 11), 0);
	assert_non_null(r = wire_call(w));
	assert_int_equal(r->status, KV__STATUS__OK);
	assert_int_equal(r->id, 11);
	assert_int_equal(r->result_case, KV__RESPONSE__RESULT_COMPACT);
	assert_false(r->compact->pending);
	kv__response__free_unpacked(r, NULL);
	assert_int_equal(wire_stats(w, 10), 0);
	assert_non_null(r = wire_call(w));
	assert_int_equal(r->status, KV__STATUS__OK);
	assert_int_equal(r->id, 10);
	assert_int_equal(stat_of(r, "ops_put"), 4);
	assert_int_equal(stat_of(r, "errors_put"), 1);
	assert_int_equal(stat_of(r, "ops_get"), 2);
	assert_int_equal(stat_of(r, "errors_get"), 0);
	assert_int_equal(stat_of(r, "ops_delete"), 1);
	assert_int_equal(stat_of(r, "ops_iter"), 1);
	assert_true(stat_of(r, "ops_ping") >= 1);	/* the harness pings too */
	assert_int_equal(stat_of(r, "ops_stats"), 1);
	assert_int_equal(stat_of(r, "ops_compact"), 1);
	assert_int_equal(stat_of(r, "errors_compact"), 0);
	assert_int_equal(stat_of(r, "compaction_pending"), 0);
	assert_int_equal(stat_of(r, "compaction_failures"), 0);
	assert_int_equal(stat_of(r, "compactions"), 0);
	assert_int_equal(stat_of(r, "keys"), 2);
	assert_int_equal(stat_of(r, "connections_current"), 1);
	assert_true(stat_of(r, "connections_total") >= 2);
	assert_true(stat_of(r, "bytes_in") > 0);
	assert_true(stat_of(r, "bytes_out") > 0);
	/* Under fsync always, acknowledged writes were synced. */
	assert_true(stat_of(r, "fsyncs") >= 1);
	assert_true(stat_of(r, "durable_seq") >= 4);
	(void)stat_of(r, "uptime_seconds");
	(void)stat_of(r, "fsync_p50_us");
	(void)stat_of(r, "fsync_p99_us");
	(void)stat_of(r, "live_bytes");
	(void)stat_of(r, "dead_bytes");
	(void)stat_of(r, "connections_rejected");
	kv__response__free_unpacked(r, NULL);
	wire_free(w);
}

/* GET path over plain HTTP/1.0; the whole answer into buf. */
static void
http_get(uint16_t port, const char *path, char *buf, size_t len)
{
	struct sockaddr_in sin;
	char req[256];
	size_t have = 0;
	ssize_t n;
	int fd;

	assert_true((fd = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	n = snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: x\r\n\r\n",
	    path);
	assert_int_equal(write(fd, req, (size_t)n), n);
	while (have + 1 < len && (n = read(fd, buf + have,
	    len - 1 - have)) > 0)
		have += (size_t)n;
	buf[have] = '\0';
	close(fd);
}

static void
metrics_serve_the_same_figures(void **state)
{
	struct fixture *f = *state;
	char *body;
	struct wire *w;
	Kv__Response *r;
	size_t samples = 0;
	const char *p;

	assert_non_null(body = malloc(65536));
	http_get(f->mport, "/metrics", body, 65536);
	assert_true(strncmp(body, "HTTP/1.1 200", 12) == 0 ||
	    strncmp(body, "HTTP/1.0 200", 12) == 0);
	assert_non_null(strstr(body, "Content-Type: text/plain; version=0.0.4"));
	assert_non_null(strstr(body,
	    "# TYPE kvd_operations_total counter\n"));
	assert_non_null(strstr(body, "\nkvd_operations_total{op=\"put\"} 4\n"));
	assert_non_null(strstr(body, "\nkvd_errors_total{op=\"put\"} 1\n"));
	assert_non_null(strstr(body,
	    "\nkvd_operations_total{op=\"compact\"} 1\n"));
	assert_non_null(strstr(body, "\nkvd_compaction_pending 0\n"));
	assert_non_null(strstr(body, "# TYPE kvd_compaction_failures_total "
	    "counter\n"));
	assert_non_null(strstr(body, "\nkvd_keys 2\n"));
	assert_non_null(strstr(body, "# TYPE kvd_uptime_seconds gauge\n"));
	assert_non_null(strstr(body, "\nkvd_fsync_p99_microseconds "));

	/* One sample line per figure of the stats request. */
	assert_non_null(p = strstr(body, "\r\n\r\n"));
	for (p += 4; *p != '\0'; p = strchr(p, '\n') + 1) {
		if (*p != '#')
			samples++;
		if (strchr(p, '\n') == NULL)
			break;
	}
	assert_non_null(w = wire_connect(harness_port(f->h)));
	assert_int_equal(wire_stats(w, 1), 0);
	assert_non_null(r = wire_call(w));
	assert_int_equal(samples, r->stats->n_stats);
	kv__response__free_unpacked(r, NULL);
	wire_free(w);

	http_get(f->mport, "/nothing-here", body, 65536);
	assert_non_null(strstr(body, " 404 "));
	free(body);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(stats_count_operations),
		cmocka_unit_test(metrics_serve_the_same_figures),
	};

	return (cmocka_run_group_tests_name("server-stats", tests, setup,
	    teardown));
}
