/*
 * benchcfg.h: kvbench's command line, the tests it asks for, and the YCSB
 * workload presets.  Apart from kvbench.c so that the parsing can be tested
 * without a server.
 */
#ifndef KVD_BENCHCFG_H
#define KVD_BENCHCFG_H

#include <stddef.h>
#include <stdint.h>

#include "keydist.h"

/* The operations a test can mix. */
enum benchcfg_op {
	BENCH_OP_PUT,		/* store a value under an existing-range key */
	BENCH_OP_GET,
	BENCH_OP_DEL,
	BENCH_OP_ITER,		/* a scan of 1..scan_length entries */
	BENCH_OP_RMW,		/* get, then put the same key (YCSB F) */
	BENCH_OP_INSERT,	/* put a key past the key space, growing it */
	BENCH_OP_COUNT
};

/* What a test does with each request. */
enum benchcfg_test_kind {
	BENCH_TEST_OP,		/* one operation, e.g. -t get */
	BENCH_TEST_MIX,		/* operations drawn by weight: --mix, --workload */
	BENCH_TEST_LOAD,	/* put every key of the key space once, in order */
};

struct benchcfg_test {
	enum benchcfg_test_kind	kind;
	char			name[16];	/* "put", "mix", "A", "load" */
	/* Weights of the operations, summing to 1 (one 1.0 for a single op). */
	double			weight[BENCH_OP_COUNT];
	enum keydist_kind	dist;
};

#define BENCHCFG_MAX_TESTS	8

/* Output formats. */
enum benchcfg_format {
	BENCH_TEXT,
	BENCH_JSON,
	BENCH_CSV,
};

struct benchcfg {
	const char		*server;	/* NULL: the library's default */
	unsigned int		 connections;
	uint64_t		 requests;	/* per test; 0 with a time */
	double			 seconds;	/* per test; 0: by requests */
	unsigned int		 pipeline;
	uint32_t		 value_size;
	uint64_t		 keyspace;
	uint32_t		 scan_length;	/* largest scan; each is 1..this */
	double			 warmup;	/* seconds before measuring */
	double			 theta;		/* Zipf exponent */
	enum keydist_kind	 dist;		/* of -t and --mix tests */
	int			 dist_set;	/* -D given: overrides presets */
	int			 load;		/* put the key space first */
	char			 workload;	/* 'A'..'F', or 0 */
	enum benchcfg_format	 format;
	int			 quiet;		/* no progress line */
	uint64_t		 seed;
	unsigned int		 timeout_ms;	/* connect, and longest silence */
	int			 help;		/* -h: print usage, run nothing */
	int			 version;	/* -V */
	size_t			 ntests;
	struct benchcfg_test	 tests[BENCHCFG_MAX_TESTS];
};

/*
 * benchcfg_parse(cfg, argc, argv, err, errlen):
 * Fill cfg from the command line (see kvbench(1) and benchcfg_usage()),
 * starting from the defaults: 50 connections, 100000 requests, pipeline 1,
 * 100-byte values, 100000 keys, scans of up to 100 entries, 1 second of
 * warm-up, uniform keys (zipfian theta 0.99), tests put then get, text
 * output, connect timeout and longest silence 10 seconds.  Returns 0, or -1
 * with one line in err (errlen bytes) naming the option and the problem.
 * cfg keeps pointers into argv (cfg->server), so argv must outlive it.
 * Uses getopt_long and resets optind itself, so it may be called more than
 * once.
 */
int benchcfg_parse(struct benchcfg *cfg, int argc, char *argv[], char *err,
    size_t errlen);

/*
 * benchcfg_parse_mix(spec, test, err, errlen):
 * Parse a mix such as "get:9,put:1" or "get=0.95,insert=0.05" (operation
 * names as for -t, plus rmw and insert; weights are non-negative numbers,
 * normalised to sum 1) into test->weight.  Returns 0 or -1 with err set.
 */
int benchcfg_parse_mix(const char *spec, struct benchcfg_test *test,
    char *err, size_t errlen);

/*
 * benchcfg_workload(letter, test):
 * Fill test with YCSB core workload letter ('A'..'F', either case):
 *   A 50% get, 50% put, zipfian      D 95% get, 5% insert, latest
 *   B 95% get, 5% put, zipfian       E 95% iter, 5% insert, zipfian
 *   C 100% get, zipfian              F 50% get, 50% rmw, zipfian
 * Returns 0, or -1 if letter is not a workload.
 */
int benchcfg_workload(char letter, struct benchcfg_test *test);

/* benchcfg_op_name(op): "put", "get", "del", "iter", "rmw", "insert". */
const char *benchcfg_op_name(enum benchcfg_op op);

/* benchcfg_test_has(test, op): non-zero if op has a weight in test. */
int benchcfg_test_has(const struct benchcfg_test *test, enum benchcfg_op op);

/* benchcfg_usage(): the usage text, several lines ending in a newline. */
const char *benchcfg_usage(void);

#endif /* !KVD_BENCHCFG_H */
