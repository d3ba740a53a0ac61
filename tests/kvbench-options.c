/*
 * kvbench-options.c: kvbench's command line.  Every option lands where it
 * should, the YCSB presets carry YCSB's mixes, and each bad command line is
 * refused with a message that names the option at fault.
 */
#include "config.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "benchcfg.h"

#define ARGV(...)	((char *[]){ "kvbench", __VA_ARGS__, NULL })
#define ARGC(v)		((int)(sizeof(v) / sizeof(v[0])) - 1)

static struct benchcfg cfg;
static char err[256];

/* Parse a NULL-terminated argv; returns benchcfg_parse()'s result. */
static int
parse(char **argv)
{
	int argc = 0;

	while (argv[argc] != NULL)
		argc++;
	return (benchcfg_parse(&cfg, argc, argv, err, sizeof(err)));
}

#define assert_near(a, b)	assert_true(fabs((a) - (b)) < 1e-9)

static void
defaults(void **state)
{
	char *argv[] = { "kvbench", NULL };

	(void)state;
	assert_int_equal(parse(argv), 0);
	assert_null(cfg.server);
	assert_int_equal(cfg.connections, 50);
	assert_int_equal(cfg.requests, 100000);
	assert_near(cfg.seconds, 0.0);
	assert_int_equal(cfg.pipeline, 1);
	assert_int_equal(cfg.value_size, 100);
	assert_int_equal(cfg.keyspace, 100000);
	assert_int_equal(cfg.scan_length, 100);
	assert_near(cfg.warmup, 1.0);
	assert_near(cfg.theta, 0.99);
	assert_int_equal(cfg.load, 0);
	assert_int_equal(cfg.format, BENCH_TEXT);
	assert_int_equal(cfg.timeout_ms, 10000);
	assert_int_equal(cfg.ntests, 2);
	assert_string_equal(cfg.tests[0].name, "put");
	assert_string_equal(cfg.tests[1].name, "get");
	assert_int_equal(cfg.tests[0].kind, BENCH_TEST_OP);
	assert_near(cfg.tests[0].weight[BENCH_OP_PUT], 1.0);
	assert_near(cfg.tests[1].weight[BENCH_OP_GET], 1.0);
	assert_int_equal(cfg.tests[1].dist, KEYDIST_UNIFORM);
}

static void
every_option(void **state)
{
	char **argv = ARGV("-s", "10.0.0.1:9000", "-c", "7", "-n", "1234",
	    "-P", "16", "-d", "0", "-r", "42", "-t", "get,del,put,iter",
	    "-D", "zipfian", "--theta", "0.5", "--scan-length", "20",
	    "--warmup", "0", "--seed", "99", "--timeout", "2.5", "--csv",
	    "-q");

	(void)state;
	/* iter with -P 16 is refused; the same line with -P 1 is not. */
	assert_int_equal(parse(argv), -1);
	assert_non_null(strstr(err, "-P"));
	argv[8] = "1";
	assert_int_equal(parse(argv), 0);
	assert_string_equal(cfg.server, "10.0.0.1:9000");
	assert_int_equal(cfg.connections, 7);
	assert_int_equal(cfg.requests, 1234);
	assert_int_equal(cfg.pipeline, 1);
	assert_int_equal(cfg.value_size, 0);
	assert_int_equal(cfg.keyspace, 42);
	assert_int_equal(cfg.ntests, 4);
	assert_string_equal(cfg.tests[0].name, "get");
	assert_string_equal(cfg.tests[1].name, "del");
	assert_string_equal(cfg.tests[2].name, "put");
	assert_string_equal(cfg.tests[3].name, "iter");
	assert_near(cfg.tests[3].weight[BENCH_OP_ITER], 1.0);
	assert_int_equal(cfg.tests[2].dist, KEYDIST_ZIPFIAN);
	assert_near(cfg.theta, 0.5);
	assert_int_equal(cfg.scan_length, 20);
	assert_near(cfg.warmup, 0.0);
	assert_int_equal(cfg.seed, 99);
	assert_int_equal(cfg.timeout_ms, 2500);
	assert_int_equal(cfg.format, BENCH_CSV);
	assert_int_equal(cfg.quiet, 1);

	assert_int_equal(parse(ARGV("--json", "--connections=3",
	    "--requests=5", "--pipeline=2", "--data-size=9", "--keyspace=8",
	    "--tests=delete", "--distribution=latest", "--server=h")), 0);
	assert_int_equal(cfg.format, BENCH_JSON);
	assert_int_equal(cfg.connections, 3);
	assert_int_equal(cfg.pipeline, 2);
	assert_int_equal(cfg.value_size, 9);
	assert_int_equal(cfg.keyspace, 8);
	assert_string_equal(cfg.tests[0].name, "del");
	assert_int_equal(cfg.tests[0].dist, KEYDIST_LATEST);
	assert_string_equal(cfg.server, "h");
}

/* --time alone runs by time only; with -n, whichever ends first. */
static void
time_and_requests(void **state)
{
	(void)state;
	assert_int_equal(parse(ARGV("--time", "2.5")), 0);
	assert_near(cfg.seconds, 2.5);
	assert_int_equal(cfg.requests, 0);
	assert_int_equal(parse(ARGV("--time", "1", "-n", "10")), 0);
	assert_near(cfg.seconds, 1.0);
	assert_int_equal(cfg.requests, 10);
}

static void
mix_is_normalised(void **state)
{
	struct benchcfg_test t;

	(void)state;
	assert_int_equal(parse(ARGV("--mix", "get:9,put:1")), 0);
	assert_int_equal(cfg.ntests, 1);
	assert_int_equal(cfg.tests[0].kind, BENCH_TEST_MIX);
	assert_string_equal(cfg.tests[0].name, "mix");
	assert_near(cfg.tests[0].weight[BENCH_OP_GET], 0.9);
	assert_near(cfg.tests[0].weight[BENCH_OP_PUT], 0.1);
	assert_false(benchcfg_test_has(&cfg.tests[0], BENCH_OP_DEL));

	assert_int_equal(benchcfg_parse_mix("get=0.95,insert=0.05,rmw=0,"
	    "delete=0", &t, err, sizeof(err)), 0);
	assert_near(t.weight[BENCH_OP_GET], 0.95);
	assert_near(t.weight[BENCH_OP_INSERT], 0.05);
	assert_false(benchcfg_test_has(&t, BENCH_OP_RMW));

	/* --load puts the key space first. */
	assert_int_equal(parse(ARGV("--mix", "iter:1", "--load")), 0);
	assert_int_equal(cfg.ntests, 2);
	assert_int_equal(cfg.tests[0].kind, BENCH_TEST_LOAD);
	assert_string_equal(cfg.tests[0].name, "load");
	assert_near(cfg.tests[0].weight[BENCH_OP_PUT], 1.0);
	assert_near(cfg.tests[1].weight[BENCH_OP_ITER], 1.0);
}

static void
bad_mixes(void **state)
{
	const char *bad[] = {
		"", "get", "get:", "foo:1", "get:-1", "get:x", "get:1,get:2",
		"get:0", "get:0,put:0", "get:1,", ",get:1", "get:1e99",
		"get:nan", "get:inf",
	};
	struct benchcfg_test t;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (benchcfg_parse_mix(bad[i], &t, err, sizeof(err)) != -1)
			fail_msg("--mix '%s' was accepted", bad[i]);
		assert_non_null(strstr(err, "--mix"));
	}
}

static void
ycsb_presets(void **state)
{
	const struct {
		char		letter;
		double		get, put, insert, iter, rmw;
		enum keydist_kind dist;
	} w[] = {
		{ 'A', 0.5, 0.5, 0, 0, 0, KEYDIST_ZIPFIAN },
		{ 'B', 0.95, 0.05, 0, 0, 0, KEYDIST_ZIPFIAN },
		{ 'C', 1.0, 0, 0, 0, 0, KEYDIST_ZIPFIAN },
		{ 'D', 0.95, 0, 0.05, 0, 0, KEYDIST_LATEST },
		{ 'E', 0, 0, 0.05, 0.95, 0, KEYDIST_ZIPFIAN },
		{ 'F', 0.5, 0, 0, 0, 0.5, KEYDIST_ZIPFIAN },
	};
	char letter[2] = { 0, 0 };
	const struct benchcfg_test *t;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(w) / sizeof(w[0]); i++) {
		letter[0] = (char)(w[i].letter + ('a' - 'A') * (int)(i % 2));
		assert_int_equal(parse(ARGV("-w", letter)), 0);
		assert_int_equal(cfg.workload, w[i].letter);
		/* The key space is loaded first unless --no-load. */
		assert_int_equal(cfg.load, 1);
		assert_int_equal(cfg.ntests, 2);
		assert_int_equal(cfg.tests[0].kind, BENCH_TEST_LOAD);
		t = &cfg.tests[1];
		assert_int_equal(t->name[0], w[i].letter);
		assert_int_equal(t->kind, BENCH_TEST_MIX);
		assert_near(t->weight[BENCH_OP_GET], w[i].get);
		assert_near(t->weight[BENCH_OP_PUT], w[i].put);
		assert_near(t->weight[BENCH_OP_INSERT], w[i].insert);
		assert_near(t->weight[BENCH_OP_ITER], w[i].iter);
		assert_near(t->weight[BENCH_OP_RMW], w[i].rmw);
		assert_near(t->weight[BENCH_OP_DEL], 0.0);
		assert_int_equal(t->dist, w[i].dist);
	}
	assert_int_equal(parse(ARGV("--workload", "D", "--no-load", "-D",
	    "uniform")), 0);
	assert_int_equal(cfg.load, 0);
	assert_int_equal(cfg.ntests, 1);
	assert_int_equal(cfg.tests[0].dist, KEYDIST_UNIFORM);
	/* E scans: only one request at a time per connection. */
	assert_int_equal(parse(ARGV("-w", "E", "-P", "4")), -1);
	assert_non_null(strstr(err, "-P"));
	assert_int_equal(parse(ARGV("-w", "B", "-P", "4")), 0);
}

static void
refused_with_the_option_named(void **state)
{
	struct {
		char		*argv[6];
		const char	*needle;
	} bad[] = {
		{ { "kvbench", "-c", "0" }, "-c" },
		{ { "kvbench", "-c", "10001" }, "-c" },
		{ { "kvbench", "-c", "abc" }, "-c" },
		{ { "kvbench", "-c", "-5" }, "-c" },
		{ { "kvbench", "-c", "5x" }, "-c" },
		{ { "kvbench", "-n", "0" }, "-n" },
		{ { "kvbench", "-n", "99999999999999999999999" }, "-n" },
		{ { "kvbench", "-P", "0" }, "-P" },
		{ { "kvbench", "-d", "33554433" }, "-d" },
		{ { "kvbench", "-r", "0" }, "-r" },
		{ { "kvbench", "-r", "1000000000001" }, "-r" },
		{ { "kvbench", "--time", "0" }, "--time" },
		{ { "kvbench", "--time", "-1" }, "--time" },
		{ { "kvbench", "--time", "" }, "--time" },
		{ { "kvbench", "--time", "1s" }, "--time" },
		{ { "kvbench", "--theta", "1" }, "--theta" },
		{ { "kvbench", "--warmup", "-1" }, "--warmup" },
		{ { "kvbench", "--scan-length", "0" }, "--scan-length" },
		{ { "kvbench", "--timeout", "0" }, "--timeout" },
		{ { "kvbench", "-s", "" }, "-s" },
		{ { "kvbench", "-t", "foo" }, "-t" },
		{ { "kvbench", "-t", "put,,get" }, "-t" },
		{ { "kvbench", "-t", "rmw" }, "-t" },
		{ { "kvbench", "-t", "put,get,put,get,put,get,put,get" }, "-t" },
		{ { "kvbench", "-D", "gauss" }, "-D" },
		{ { "kvbench", "-w", "G" }, "--workload" },
		{ { "kvbench", "-w", "AB" }, "--workload" },
		{ { "kvbench", "-t", "get", "--mix", "get:1" }, "exclude" },
		{ { "kvbench", "-w", "A", "-t", "get" }, "exclude" },
		{ { "kvbench", "--bogus" }, "--bogus" },
		{ { "kvbench", "-Z" }, "-Z" },
		{ { "kvbench", "-c" }, "-c" },
		{ { "kvbench", "--mix" }, "--mix" },
		{ { "kvbench", "extra" }, "extra" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (parse(bad[i].argv) != -1)
			fail_msg("case %zu (%s %s) was accepted", i,
			    bad[i].argv[1], bad[i].argv[2] ? bad[i].argv[2] : "");
		if (strstr(err, bad[i].needle) == NULL)
			fail_msg("case %zu: '%s' does not name %s", i, err,
			    bad[i].needle);
		assert_null(strchr(err, '\n'));
	}
}

static void
help_and_version(void **state)
{
	(void)state;
	assert_int_equal(parse(ARGV("-h")), 0);
	assert_int_equal(cfg.help, 1);
	assert_int_equal(parse(ARGV("--version")), 0);
	assert_int_equal(cfg.version, 1);
	assert_int_equal(cfg.help, 0);
	assert_non_null(strstr(benchcfg_usage(), "usage: kvbench"));
	assert_string_equal(benchcfg_op_name(BENCH_OP_RMW), "rmw");
	assert_string_equal(benchcfg_op_name(BENCH_OP_COUNT), "?");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(defaults),
		cmocka_unit_test(every_option),
		cmocka_unit_test(time_and_requests),
		cmocka_unit_test(mix_is_normalised),
		cmocka_unit_test(bad_mixes),
		cmocka_unit_test(ycsb_presets),
		cmocka_unit_test(refused_with_the_option_named),
		cmocka_unit_test(help_and_version),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
