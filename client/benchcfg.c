/*
 * benchcfg.c: kvbench's command line.  See benchcfg.h.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "benchcfg.h"

/* Bounds that keep a typo from asking for the impossible. */
#define MAX_CONNECTIONS	10000
#define MAX_PIPELINE	10000
#define MAX_VALUE	(32u * 1024 * 1024)	/* kvd's default max-value */
#define MAX_KEYSPACE	1000000000000ULL	/* keys carry 12 digits */
#define MAX_SCAN	10000			/* kvd's largest page */
#define MAX_SECONDS	86400.0

static const char usage[] =
"usage: kvbench [-hqV] [-s host:port] [-c connections] [-n requests]\n"
"               [--time seconds] [-P pipeline] [-d bytes] [-r keys]\n"
"               [-t put,get,del,iter | --mix op:weight,... | -w A..F]\n"
"               [-D uniform|zipfian|latest] [--theta x] [--load | --no-load]\n"
"               [--scan-length n] [--warmup seconds] [--seed n]\n"
"               [--timeout seconds] [--json | --csv]\n"
"See kvbench(1).\n";

static const char *const op_names[BENCH_OP_COUNT] = {
	[BENCH_OP_PUT] = "put",
	[BENCH_OP_GET] = "get",
	[BENCH_OP_DEL] = "del",
	[BENCH_OP_ITER] = "iter",
	[BENCH_OP_RMW] = "rmw",
	[BENCH_OP_INSERT] = "insert",
};

enum {
	OPT_TIME = 256,
	OPT_MIX,
	OPT_THETA,
	OPT_LOAD,
	OPT_NO_LOAD,
	OPT_SCAN,
	OPT_WARMUP,
	OPT_SEED,
	OPT_TIMEOUT,
	OPT_JSON,
	OPT_CSV,
};

static const struct option longopts[] = {
	{ "server", required_argument, NULL, 's' },
	{ "connections", required_argument, NULL, 'c' },
	{ "requests", required_argument, NULL, 'n' },
	{ "time", required_argument, NULL, OPT_TIME },
	{ "pipeline", required_argument, NULL, 'P' },
	{ "data-size", required_argument, NULL, 'd' },
	{ "keyspace", required_argument, NULL, 'r' },
	{ "tests", required_argument, NULL, 't' },
	{ "mix", required_argument, NULL, OPT_MIX },
	{ "workload", required_argument, NULL, 'w' },
	{ "distribution", required_argument, NULL, 'D' },
	{ "theta", required_argument, NULL, OPT_THETA },
	{ "load", no_argument, NULL, OPT_LOAD },
	{ "no-load", no_argument, NULL, OPT_NO_LOAD },
	{ "scan-length", required_argument, NULL, OPT_SCAN },
	{ "warmup", required_argument, NULL, OPT_WARMUP },
	{ "seed", required_argument, NULL, OPT_SEED },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "csv", no_argument, NULL, OPT_CSV },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 }
};

static void
errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

const char *
benchcfg_usage(void)
{
	return (usage);
}

const char *
benchcfg_op_name(enum benchcfg_op op)
{
	return (op >= 0 && op < BENCH_OP_COUNT ? op_names[op] : "?");
}

int
benchcfg_test_has(const struct benchcfg_test *test, enum benchcfg_op op)
{
	return (test->weight[op] > 0.0);
}

/* An unsigned decimal in [lo, hi], digits only. */
static int
parse_u64(const char *opt, const char *s, uint64_t lo, uint64_t hi,
    uint64_t *out, char *err, size_t errlen)
{
	unsigned long long v;
	char *end;

	if (!isdigit((unsigned char)s[0])) {
		errf(err, errlen, "%s: '%s' is not a whole number", opt, s);
		return (-1);
	}
	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end != '\0') {
		errf(err, errlen, "%s: '%s' is not a whole number", opt, s);
		return (-1);
	}
	if (errno == ERANGE || v < lo || v > hi) {
		errf(err, errlen, "%s: %s is out of range (%llu to %llu)", opt, s,
		    (unsigned long long)lo, (unsigned long long)hi);
		return (-1);
	}
	*out = v;
	return (0);
}

static int
parse_uint(const char *opt, const char *s, unsigned int lo, unsigned int hi,
    unsigned int *out, char *err, size_t errlen)
{
	uint64_t v;

	if (parse_u64(opt, s, lo, hi, &v, err, errlen) != 0)
		return (-1);
	*out = (unsigned int)v;
	return (0);
}

/* A finite decimal number in [lo, hi] (lo_open: lo itself excluded). */
static int
parse_double(const char *opt, const char *s, double lo, int lo_open,
    double hi, double *out, char *err, size_t errlen)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (s[0] == '\0' || isspace((unsigned char)s[0]) || *end != '\0' ||
	    errno == ERANGE || !isfinite(v)) {
		errf(err, errlen, "%s: '%s' is not a number", opt, s);
		return (-1);
	}
	if (v < lo || (lo_open && v == lo) || v > hi) {
		errf(err, errlen, "%s: %s is out of range (%s%g to %g)", opt, s,
		    lo_open ? "above " : "", lo, hi);
		return (-1);
	}
	*out = v;
	return (0);
}

static int
op_by_name(const char *name, size_t len, enum benchcfg_op *op)
{
	int i;

	for (i = 0; i < BENCH_OP_COUNT; i++)
		if (strlen(op_names[i]) == len &&
		    strncmp(op_names[i], name, len) == 0) {
			*op = (enum benchcfg_op)i;
			return (0);
		}
	if (len == 6 && strncmp(name, "delete", 6) == 0) {
		*op = BENCH_OP_DEL;
		return (0);
	}
	return (-1);
}

static void
test_init(struct benchcfg_test *t, enum benchcfg_test_kind kind,
    const char *name)
{
	memset(t, 0, sizeof(*t));
	t->kind = kind;
	(void)snprintf(t->name, sizeof(t->name), "%s", name);
	t->dist = KEYDIST_UNIFORM;
}

int
benchcfg_parse_mix(const char *spec, struct benchcfg_test *test, char *err,
    size_t errlen)
{
	const char *p = spec, *sep, *comma, *end;
	char num[64];
	enum benchcfg_op op;
	double w, sum = 0.0;
	size_t len;
	int i;

	test_init(test, BENCH_TEST_MIX, "mix");
	if (*spec == '\0') {
		errf(err, errlen, "--mix: empty");
		return (-1);
	}
	while (*p != '\0') {
		comma = strchr(p, ',');
		end = comma != NULL ? comma : p + strlen(p);
		sep = memchr(p, ':', (size_t)(end - p));
		if (sep == NULL)
			sep = memchr(p, '=', (size_t)(end - p));
		if (sep == NULL) {
			errf(err, errlen, "--mix: '%.*s' is not OP:WEIGHT",
			    (int)(end - p), p);
			return (-1);
		}
		if (op_by_name(p, (size_t)(sep - p), &op) != 0) {
			errf(err, errlen, "--mix: unknown operation '%.*s' (put, "
			    "get, del, iter, rmw, insert)", (int)(sep - p), p);
			return (-1);
		}
		if (test->weight[op] > 0.0) {
			errf(err, errlen, "--mix: %s is given twice",
			    op_names[op]);
			return (-1);
		}
		len = (size_t)(end - sep - 1);
		if (len == 0 || len >= sizeof(num)) {
			errf(err, errlen, "--mix: %s: bad weight", op_names[op]);
			return (-1);
		}
		memcpy(num, sep + 1, len);
		num[len] = '\0';
		if (parse_double("--mix", num, 0.0, 0, 1e9, &w, err,
		    errlen) != 0)
			return (-1);
		test->weight[op] = w;
		sum += w;
		p = comma != NULL ? comma + 1 : end;
		if (comma != NULL && *p == '\0') {
			errf(err, errlen, "--mix: trailing comma");
			return (-1);
		}
	}
	if (!(sum > 0.0)) {
		errf(err, errlen, "--mix: the weights add up to 0");
		return (-1);
	}
	for (i = 0; i < BENCH_OP_COUNT; i++)
		test->weight[i] /= sum;
	return (0);
}

int
benchcfg_workload(char letter, struct benchcfg_test *test)
{
	char up = (char)toupper((unsigned char)letter);
	char name[2] = { up, '\0' };

	if (up < 'A' || up > 'F')
		return (-1);
	test_init(test, BENCH_TEST_MIX, name);
	test->dist = KEYDIST_ZIPFIAN;
	switch (up) {
	case 'A':
		test->weight[BENCH_OP_GET] = 0.5;
		test->weight[BENCH_OP_PUT] = 0.5;
		break;
	case 'B':
		test->weight[BENCH_OP_GET] = 0.95;
		test->weight[BENCH_OP_PUT] = 0.05;
		break;
	case 'C':
		test->weight[BENCH_OP_GET] = 1.0;
		break;
	case 'D':
		test->weight[BENCH_OP_GET] = 0.95;
		test->weight[BENCH_OP_INSERT] = 0.05;
		test->dist = KEYDIST_LATEST;
		break;
	case 'E':
		test->weight[BENCH_OP_ITER] = 0.95;
		test->weight[BENCH_OP_INSERT] = 0.05;
		break;
	case 'F':
		test->weight[BENCH_OP_GET] = 0.5;
		test->weight[BENCH_OP_RMW] = 0.5;
		break;
	}
	return (0);
}

/* -t put,get,...: one test per name, in the order given. */
static int
parse_tests(struct benchcfg *cfg, const char *list, char *err, size_t errlen)
{
	const char *p = list, *comma, *end;
	enum benchcfg_op op;
	struct benchcfg_test *t;

	cfg->ntests = 0;
	do {
		comma = strchr(p, ',');
		end = comma != NULL ? comma : p + strlen(p);
		if (op_by_name(p, (size_t)(end - p), &op) != 0 ||
		    op == BENCH_OP_RMW || op == BENCH_OP_INSERT) {
			errf(err, errlen, "-t: unknown test '%.*s' (put, get, "
			    "del, iter)", (int)(end - p), p);
			return (-1);
		}
		/* One slot stays free for a load test in front. */
		if (cfg->ntests + 1 >= BENCHCFG_MAX_TESTS) {
			errf(err, errlen, "-t: more than %d tests",
			    BENCHCFG_MAX_TESTS - 1);
			return (-1);
		}
		t = &cfg->tests[cfg->ntests++];
		test_init(t, BENCH_TEST_OP, op_names[op]);
		t->weight[op] = 1.0;
		p = end + 1;
	} while (comma != NULL);
	return (0);
}

static void
defaults(struct benchcfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->server = NULL;
	cfg->connections = 50;
	cfg->requests = 100000;
	cfg->seconds = 0.0;
	cfg->pipeline = 1;
	cfg->value_size = 100;
	cfg->keyspace = 100000;
	cfg->scan_length = 100;
	cfg->warmup = 1.0;
	cfg->theta = 0.99;
	cfg->dist = KEYDIST_UNIFORM;
	cfg->load = -1;		/* not said: depends on the tests */
	cfg->format = BENCH_TEXT;
	cfg->seed = 1;
	cfg->timeout_ms = 10000;
}

int
benchcfg_parse(struct benchcfg *cfg, int argc, char *argv[], char *err,
    size_t errlen)
{
	const char *tests = NULL, *mix = NULL, *workload = NULL;
	int ch, n_set = 0, i;
	unsigned int u;
	uint64_t v;
	double d;
	size_t j;

	defaults(cfg);
	err[0] = '\0';
	optind = 0;	/* glibc: a full reset, so tests may parse again */
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":c:D:d:hn:P:qr:s:t:Vw:",
	    longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			if (optarg[0] == '\0') {
				errf(err, errlen, "-s: empty server address");
				return (-1);
			}
			cfg->server = optarg;
			break;
		case 'c':
			if (parse_uint("-c", optarg, 1, MAX_CONNECTIONS,
			    &cfg->connections, err, errlen) != 0)
				return (-1);
			break;
		case 'n':
			if (parse_u64("-n", optarg, 1, UINT64_MAX / 2,
			    &cfg->requests, err, errlen) != 0)
				return (-1);
			n_set = 1;
			break;
		case OPT_TIME:
			if (parse_double("--time", optarg, 0.0, 1, MAX_SECONDS,
			    &cfg->seconds, err, errlen) != 0)
				return (-1);
			break;
		case 'P':
			if (parse_uint("-P", optarg, 1, MAX_PIPELINE,
			    &cfg->pipeline, err, errlen) != 0)
				return (-1);
			break;
		case 'd':
			if (parse_uint("-d", optarg, 0, MAX_VALUE, &u, err,
			    errlen) != 0)
				return (-1);
			cfg->value_size = u;
			break;
		case 'r':
			if (parse_u64("-r", optarg, 1, MAX_KEYSPACE,
			    &cfg->keyspace, err, errlen) != 0)
				return (-1);
			break;
		case 't':
			tests = optarg;
			break;
		case OPT_MIX:
			mix = optarg;
			break;
		case 'w':
			workload = optarg;
			break;
		case 'D':
			for (i = KEYDIST_UNIFORM; i <= KEYDIST_LATEST; i++)
				if (strcmp(optarg, keydist_kind_name(
				    (enum keydist_kind)i)) == 0)
					break;
			if (i > KEYDIST_LATEST) {
				errf(err, errlen, "-D: '%s' is not one of "
				    "uniform, zipfian, latest", optarg);
				return (-1);
			}
			cfg->dist = (enum keydist_kind)i;
			cfg->dist_set = 1;
			break;
		case OPT_THETA:
			if (parse_double("--theta", optarg, 0.0, 1, 0.9999, &d,
			    err, errlen) != 0)
				return (-1);
			cfg->theta = d;
			break;
		case OPT_LOAD:
			cfg->load = 1;
			break;
		case OPT_NO_LOAD:
			cfg->load = 0;
			break;
		case OPT_SCAN:
			if (parse_uint("--scan-length", optarg, 1, MAX_SCAN,
			    &u, err, errlen) != 0)
				return (-1);
			cfg->scan_length = u;
			break;
		case OPT_WARMUP:
			if (parse_double("--warmup", optarg, 0.0, 0, 3600.0,
			    &cfg->warmup, err, errlen) != 0)
				return (-1);
			break;
		case OPT_SEED:
			if (parse_u64("--seed", optarg, 0, UINT64_MAX, &v, err,
			    errlen) != 0)
				return (-1);
			cfg->seed = v;
			break;
		case OPT_TIMEOUT:
			if (parse_double("--timeout", optarg, 0.0, 1, 3600.0,
			    &d, err, errlen) != 0)
				return (-1);
			cfg->timeout_ms = (unsigned int)ceil(d * 1000.0);
			break;
		case OPT_JSON:
			cfg->format = BENCH_JSON;
			break;
		case OPT_CSV:
			cfg->format = BENCH_CSV;
			break;
		case 'q':
			cfg->quiet = 1;
			break;
		case 'h':
			cfg->help = 1;
			return (0);
		case 'V':
			cfg->version = 1;
			return (0);
		case ':':
			/* A long option's optopt is its value, not a letter. */
			if (optopt > 0 && optopt < 128)
				errf(err, errlen, "-%c: missing value", optopt);
			else
				errf(err, errlen, "%s: missing value",
				    argv[optind - 1]);
			return (-1);
		default:
			if (optopt > 0 && optopt < 128)
				errf(err, errlen, "unknown option '-%c' "
				    "(kvbench -h lists the options)", optopt);
			else
				errf(err, errlen, "unknown option '%s' "
				    "(kvbench -h lists the options)",
				    argv[optind - 1]);
			return (-1);
		}
	}
	if (optind < argc) {
		errf(err, errlen, "unexpected argument '%s'", argv[optind]);
		return (-1);
	}
	if ((tests != NULL) + (mix != NULL) + (workload != NULL) > 1) {
		errf(err, errlen, "-t, --mix and --workload exclude each other");
		return (-1);
	}
	/* --time alone runs by time; with -n, whichever ends first. */
	if (cfg->seconds > 0.0 && !n_set)
		cfg->requests = 0;

	if (workload != NULL) {
		if (strlen(workload) != 1 ||
		    benchcfg_workload(workload[0], &cfg->tests[1]) != 0) {
			errf(err, errlen, "--workload: '%s' is not one of A, B, "
			    "C, D, E, F", workload);
			return (-1);
		}
		cfg->workload = cfg->tests[1].name[0];
		cfg->ntests = 1;
		memmove(&cfg->tests[0], &cfg->tests[1], sizeof(cfg->tests[0]));
		if (cfg->load == -1)
			cfg->load = 1;
	} else if (mix != NULL) {
		if (benchcfg_parse_mix(mix, &cfg->tests[0], err, errlen) != 0)
			return (-1);
		cfg->ntests = 1;
	} else if (parse_tests(cfg, tests != NULL ? tests : "put,get", err,
	    errlen) != 0)
		return (-1);
	if (cfg->load == -1)
		cfg->load = 0;

	for (j = 0; j < cfg->ntests; j++)
		if (cfg->dist_set || cfg->tests[j].kind == BENCH_TEST_OP ||
		    cfg->workload == 0)
			cfg->tests[j].dist = cfg->dist;
	if (cfg->load) {
		memmove(&cfg->tests[1], &cfg->tests[0],
		    cfg->ntests * sizeof(cfg->tests[0]));
		test_init(&cfg->tests[0], BENCH_TEST_LOAD, "load");
		cfg->tests[0].weight[BENCH_OP_PUT] = 1.0;
		cfg->ntests++;
	}
	/*
	 * Scans run on synchronous connections, one request at a time each
	 * (see the top of kvbench.c), so they cannot be pipelined.
	 */
	for (j = 0; j < cfg->ntests; j++)
		if (benchcfg_test_has(&cfg->tests[j], BENCH_OP_ITER) &&
		    cfg->pipeline > 1) {
			errf(err, errlen, "-P: tests with iter scans run one "
			    "request at a time per connection; use -P 1");
			return (-1);
		}
	return (0);
}
