/*
 * kvbench-kvd.c: kvbench against a real kvd.  Every test kind, every YCSB
 * preset, pipelining, timed runs and each output format run to completion
 * with no failed request; the load phase stores exactly the keys and
 * values it reports; a server that is gone makes kvbench fail with a
 * message.  Workloads are tiny and bounded in count: this proves that
 * kvbench works, not how fast anything is (that is make bench).
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"
#include "kvclient.h"

#define OUT_MAX	(64 * 1024)

struct fixture {
	struct harness	*h;
	char		 ep[64];
	char		 bin[4096];
	char		 out[OUT_MAX];
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *top = getenv("KVD_TOP_BUILDDIR");

	if (f == NULL)
		return (-1);
	*state = f;
	(void)snprintf(f->bin, sizeof(f->bin), "%s/kvbench",
	    top != NULL ? top : ".");
	if ((f->h = harness_new_started(NULL)) == NULL)
		return (-1);
	(void)snprintf(f->ep, sizeof(f->ep), "127.0.0.1:%u",
	    (unsigned int)harness_port(f->h));
	return (0);
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	if (f != NULL)
		harness_free(f->h);
	free(f);
	return (0);
}

/*
 * Run kvbench -s EP --timeout 10 -q ARGS... (NULL-terminated), with stdout
 * and stderr into f->out; returns its exit status, and shows the output
 * when that is not expect.
 */
static int
kvbench(struct fixture *f, int expect, ...)
{
	const char *argv[40];
	va_list ap;
	int n = 0, st;

	argv[n++] = f->bin;
	argv[n++] = "-s";
	argv[n++] = f->ep;
	argv[n++] = "--timeout";
	argv[n++] = "10";
	argv[n++] = "-q";
	va_start(ap, expect);
	while (n < 39 && (argv[n] = va_arg(ap, const char *)) != NULL)
		n++;
	va_end(ap);
	argv[n] = NULL;
	st = harness_exec(argv, f->out, sizeof(f->out));
	if (st != expect)
		print_message("kvbench exited %d:\n%s\n", st, f->out);
	return (st);
}

/*
 * The number after "field": in the JSON object of test name, before its
 * per-operation breakdown.
 */
static uint64_t
test_field(const char *out, const char *name, const char *field)
{
	char key[64];
	const char *t, *end, *hit;

	(void)snprintf(key, sizeof(key), "{\"name\":\"%s\"", name);
	if ((t = strstr(out, key)) == NULL)
		fail_msg("no test %s in: %s", name, out);
	if ((end = strstr(t, "\"ops\":")) == NULL)
		fail_msg("test %s has no ops in: %s", name, out);
	(void)snprintf(key, sizeof(key), "\"%s\":", field);
	if ((hit = strstr(t, key)) == NULL || hit > end)
		fail_msg("test %s lacks %s in: %s", name, field, out);
	return (strtoull(hit + strlen(key), NULL, 10));
}

static void
every_test_kind(void **state)
{
	struct fixture *f = *state;
	const char *tests[] = { "put", "get", "del", "iter" };
	size_t i;

	assert_int_equal(kvbench(f, 0, "-c", "4", "-n", "300", "-r", "100",
	    "-d", "10", "--warmup", "0", "-t", "put,get,del,iter", "--json",
	    NULL), 0);
	assert_non_null(strstr(f->out, "{\"kvbench\":\""));
	for (i = 0; i < 4; i++) {
		assert_int_equal(test_field(f->out, tests[i], "requests"), 300);
		assert_int_equal(test_field(f->out, tests[i], "errors"), 0);
	}
	/* 300 random puts over 100 keys leave few keys out: gets find most. */
	assert_true(test_field(f->out, "get", "not_found") < 100);
	assert_int_equal(test_field(f->out, "put", "not_found"), 0);
}

static void
ycsb_presets(void **state)
{
	struct fixture *f = *state;
	char name[2] = { 0, 0 };
	char c;

	for (c = 'A'; c <= 'F'; c++) {
		name[0] = c;
		assert_int_equal(kvbench(f, 0, "-w", name, "-c", "3", "-n",
		    "200", "-r", "50", "--warmup", "0", "--json", NULL), 0);
		assert_int_equal(test_field(f->out, "load", "requests"), 50);
		assert_int_equal(test_field(f->out, name, "requests"), 200);
		assert_int_equal(test_field(f->out, name, "errors"), 0);
		/* Every key read was loaded first. */
		assert_int_equal(test_field(f->out, name, "not_found"), 0);
	}
}

/* The load phase stores key:000000000000 .. key:0000000000NN, 'x' values. */
static void
load_stores_what_it_reports(void **state)
{
	struct fixture *f = *state;
	kv_conn *c;
	void *v = NULL;
	size_t vlen = 0, i;
	char expect[37];

	assert_int_equal(kvbench(f, 0, "--load", "--mix", "get:1", "-r", "20",
	    "-d", "37", "-c", "2", "-n", "40", "--warmup", "0", NULL), 0);
	assert_non_null(strstr(f->out, "load"));
	c = kv_conn_new(NULL);
	assert_non_null(c);
	assert_int_equal(kv_connect(c, f->ep), KV_OK);
	memset(expect, 'x', sizeof(expect));
	for (i = 0; i < 20; i++) {
		char key[17];

		(void)snprintf(key, sizeof(key), "key:%012zu", i);
		assert_int_equal(kv_get(c, key, 16, &v, &vlen, NULL), KV_OK);
		assert_int_equal(vlen, sizeof(expect));
		assert_memory_equal(v, expect, sizeof(expect));
		kv_free(v);
	}
	assert_int_equal(kv_get(c, "key:000000000020", 16, &v, &vlen, NULL),
	    KV_NOT_FOUND);
	kv_conn_free(c);
}

static void
pipelined_timed_mix_as_csv(void **state)
{
	struct fixture *f = *state;
	const char *rows[] = { "\"mix\",", "\"mix/put\",", "\"mix/get\",",
	    "\"mix/del\",", "\"mix/rmw\",", "\"mix/insert\"," };
	size_t i;

	assert_int_equal(kvbench(f, 0, "-P", "8", "-c", "2", "--time", "0.3",
	    "--warmup", "0.1", "-r", "30", "--mix",
	    "get:1,put:1,rmw:1,del:1,insert:1", "--csv", NULL), 0);
	assert_non_null(strstr(f->out, "\"test\",\"rps\",\"avg_latency_ms\""));
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		if (strstr(f->out, rows[i]) == NULL)
			fail_msg("no row %s in: %s", rows[i], f->out);
}

static void
text_output(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(kvbench(f, 0, "-c", "2", "-n", "50", "-P", "4",
	    "--warmup", "0", "-t", "put", NULL), 0);
	assert_non_null(strstr(f->out, "kvbench "));
	assert_non_null(strstr(f->out, "put "));
	assert_non_null(strstr(f->out, "50 requests in"));
	assert_non_null(strstr(f->out, "p99.9"));
}

static void
gone_server_fails(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(harness_stop(f->h), 0);
	assert_int_equal(kvbench(f, 1, "-c", "2", "-n", "10", "--warmup", "0",
	    NULL), 1);
	assert_non_null(strstr(f->out, "Connection refused"));
	assert_int_equal(kvbench(f, 1, "-c", "2", "-n", "10", "-t", "iter",
	    "--warmup", "0", NULL), 1);
	assert_non_null(strstr(f->out, "Connection refused"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(every_test_kind, setup, teardown),
		cmocka_unit_test_setup_teardown(ycsb_presets, setup, teardown),
		cmocka_unit_test_setup_teardown(load_stores_what_it_reports,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(pipelined_timed_mix_as_csv,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(text_output, setup, teardown),
		cmocka_unit_test_setup_teardown(gone_server_fails, setup,
		    teardown),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
