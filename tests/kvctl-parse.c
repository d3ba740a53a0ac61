/*
 * kvctl-parse.c: kvctl's command line: environment defaults and their
 * overrides, options before and after the command, "--", per-command
 * options (scan's, compact's --wait), operand counts, timeouts, counts,
 * and the prompt's word splitting.  Every mistake is a one-line message
 * naming the culprit.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cmdline.h"

/* Parse a NULL-terminated word list onto defaults; returns the result. */
static int
parse(struct cmdline *cl, char *err, const char *const *words)
{
	int n = 0;

	while (words[n] != NULL)
		n++;
	err[0] = '\0';
	return (cmdline_parse(cl, n, (char *const *)(uintptr_t)words, err));
}

#define PARSE_OK(cl, ...) do {						\
	const char *const w_[] = { __VA_ARGS__, NULL };			\
	char e_[CMDLINE_ERR_MAX];					\
	cmdline_init(cl);						\
	if (parse(cl, e_, w_) != 0)					\
		fail_msg("unexpected error: %s", e_);			\
} while (0)

#define PARSE_ERR(needle, ...) do {					\
	const char *const w_[] = { __VA_ARGS__, NULL };			\
	char e_[CMDLINE_ERR_MAX];					\
	struct cmdline c_;						\
	cmdline_init(&c_);						\
	assert_int_equal(parse(&c_, e_, w_), -1);			\
	if (strstr(e_, needle) == NULL)					\
		fail_msg("error \"%s\" lacks \"%s\"", e_, needle);	\
} while (0)

static void
commands(void **state)
{
	struct cmdline cl;

	(void)state;
	PARSE_OK(&cl, "put", "k", "v");
	assert_int_equal(cl.cmd, CMD_PUT);
	assert_int_equal(cl.nargs, 2);
	assert_string_equal(cl.arg[0], "k");
	assert_string_equal(cl.arg[1], "v");
	PARSE_OK(&cl, "put", "k");
	assert_int_equal(cl.nargs, 1);
	PARSE_OK(&cl, "get", "k");
	assert_int_equal(cl.cmd, CMD_GET);
	PARSE_OK(&cl, "del", "k");
	assert_int_equal(cl.cmd, CMD_DEL);
	PARSE_OK(&cl, "delete", "k");
	assert_int_equal(cl.cmd, CMD_DEL);
	PARSE_OK(&cl, "ping");
	assert_int_equal(cl.cmd, CMD_PING);
	PARSE_OK(&cl, "stats", "--json");
	assert_int_equal(cl.cmd, CMD_STATS);
	assert_true(cl.json);
	PARSE_OK(&cl, "-s", "h:1");
	assert_int_equal(cl.cmd, CMD_NONE);

	PARSE_ERR("unknown command \"frob\"", "frob");
	PARSE_ERR("get: usage: get KEY", "get");
	PARSE_ERR("get: usage: get KEY", "get", "a", "b");
	PARSE_ERR("put: usage", "put");
	PARSE_ERR("put: usage", "put", "a", "b", "c");
	PARSE_ERR("ping: usage", "ping", "x");
	PARSE_ERR("too many operands", "put", "a", "b", "c", "d", "e");
}

static void
options(void **state)
{
	struct cmdline cl;

	(void)state;
	PARSE_OK(&cl, "-s", "db:1", "-t", "2.5", "-x", "get", "00");
	assert_string_equal(cl.server, "db:1");
	assert_int_equal(cl.timeout_ms, 2500);
	assert_true(cl.hex);
	/* After the command, joined, long with '=', clustered. */
	PARSE_OK(&cl, "get", "k", "--server=h:2", "-t0", "--hex");
	assert_string_equal(cl.server, "h:2");
	assert_int_equal(cl.timeout_ms, 0);
	assert_true(cl.hex);
	PARSE_OK(&cl, "-xsh:3", "ping");
	assert_true(cl.hex);
	assert_string_equal(cl.server, "h:3");
	PARSE_OK(&cl, "--timeout", "1", "ping");
	assert_int_equal(cl.timeout_ms, 1000);
	PARSE_OK(&cl, "-h");
	assert_true(cl.help);
	PARSE_OK(&cl, "--version");
	assert_true(cl.version);

	PARSE_ERR("unknown option -q", "-q", "ping");
	PARSE_ERR("unknown option --frob", "--frob=1", "ping");
	PARSE_ERR("-s needs a value", "ping", "-s");
	PARSE_ERR("--timeout needs a value", "ping", "--timeout");
	PARSE_ERR("--hex takes no value", "--hex=1", "ping");
	PARSE_ERR("-t: \"abc\" is not a number", "-t", "abc", "ping");
	PARSE_ERR("-s: the endpoint is empty", "-s", "", "ping");
}

static void
double_dash(void **state)
{
	struct cmdline cl;

	(void)state;
	/* Keys and values may begin with '-' after "--". */
	PARSE_OK(&cl, "put", "--", "-k", "--v");
	assert_string_equal(cl.arg[0], "-k");
	assert_string_equal(cl.arg[1], "--v");
	PARSE_OK(&cl, "-s", "h:1", "--", "get", "-x");
	assert_int_equal(cl.cmd, CMD_GET);
	assert_false(cl.hex);
	assert_string_equal(cl.arg[0], "-x");
	/* A lone '-' is an operand (standard input). */
	PARSE_OK(&cl, "put", "k", "-");
	assert_string_equal(cl.arg[1], "-");
	PARSE_ERR("use -- before operands", "put", "k", "-1");
}

static void
scan_options(void **state)
{
	struct cmdline cl;

	(void)state;
	PARSE_OK(&cl, "scan", "--prefix", "p", "--limit", "10", "--keys-only",
	    "--json", "--page-size=3");
	assert_int_equal(cl.cmd, CMD_SCAN);
	assert_string_equal(cl.prefix, "p");
	assert_int_equal(cl.limit, 10);
	assert_int_equal(cl.page_size, 3);
	assert_true(cl.keys_only);
	assert_true(cl.json);
	PARSE_OK(&cl, "scan", "--from", "a", "--to", "b");
	assert_string_equal(cl.from, "a");
	assert_string_equal(cl.to, "b");
	PARSE_OK(&cl, "scan", "--limit", "18446744073709551615");
	assert_int_equal(cl.limit, UINT64_MAX);

	PARSE_ERR("--prefix cannot be combined", "scan", "--prefix", "p",
	    "--from", "a");
	PARSE_ERR("--prefix cannot be combined", "scan", "--to", "b",
	    "--prefix", "p");
	PARSE_ERR("--limit: \"0\" is not a positive count", "scan", "--limit",
	    "0");
	PARSE_ERR("--limit: \"-3\"", "scan", "--limit", "-3");
	PARSE_ERR("--limit: \"18446744073709551616\"", "scan", "--limit",
	    "18446744073709551616");
	PARSE_ERR("--page-size: \"4294967296\"", "scan", "--page-size",
	    "4294967296");
	PARSE_ERR("get: --prefix is not an option of this command", "get",
	    "k", "--prefix", "p");
	PARSE_ERR("ping: --json is not an option", "ping", "--json");
	PARSE_ERR("--keys-only needs a command", "--keys-only");
	PARSE_ERR("scan: usage", "scan", "extra");
}

static void
compact_options(void **state)
{
	struct cmdline cl;

	(void)state;
	PARSE_OK(&cl, "compact");
	assert_int_equal(cl.cmd, CMD_COMPACT);
	assert_false(cl.wait);
	PARSE_OK(&cl, "--wait", "compact", "-t", "0");
	assert_int_equal(cl.cmd, CMD_COMPACT);
	assert_true(cl.wait);
	assert_int_equal(cl.timeout_ms, 0);

	PARSE_ERR("compact: usage: compact [--wait]", "compact", "now");
	PARSE_ERR("stats: --wait is not an option", "stats", "--wait");
	PARSE_ERR("compact: --json is not an option", "compact", "--json");
	PARSE_ERR("--wait takes no value", "compact", "--wait=5");
	PARSE_ERR("--wait needs a command", "--wait");
}

static void
environment(void **state)
{
	struct cmdline cl;
	char err[CMDLINE_ERR_MAX];
	const char *const w[] = { "-s", "cli:2", "ping", NULL };

	(void)state;
	cmdline_init(&cl);
	assert_null(cl.server);
	assert_int_equal(cl.timeout_ms, CMDLINE_TIMEOUT_MS);
	assert_int_equal(cmdline_env(&cl, "env:1", "7", "1", err), 0);
	assert_string_equal(cl.server, "env:1");
	assert_int_equal(cl.timeout_ms, 7000);
	assert_true(cl.hex);
	/* The command line wins over the environment. */
	assert_int_equal(parse(&cl, err, w), 0);
	assert_string_equal(cl.server, "cli:2");
	assert_int_equal(cl.timeout_ms, 7000);

	cmdline_init(&cl);
	assert_int_equal(cmdline_env(&cl, "", "", "0", err), 0);
	assert_null(cl.server);
	assert_false(cl.hex);
	assert_int_equal(cmdline_env(&cl, NULL, "soon", NULL, err), -1);
	assert_non_null(strstr(err, "KVCTL_TIMEOUT"));
	assert_non_null(strstr(err, "\"soon\""));
}

static void
timeouts(void **state)
{
	unsigned int ms = 1;

	(void)state;
	assert_int_equal(cmdline_timeout("0", &ms), 0);
	assert_int_equal(ms, 0);
	assert_int_equal(cmdline_timeout("0.25", &ms), 0);
	assert_int_equal(ms, 250);
	assert_int_equal(cmdline_timeout("3.", &ms), 0);
	assert_int_equal(ms, 3000);
	assert_int_equal(cmdline_timeout(".5", &ms), 0);
	assert_int_equal(ms, 500);
	assert_int_equal(cmdline_timeout("1.2345", &ms), 0);
	assert_int_equal(ms, 1234);
	assert_int_equal(cmdline_timeout("4294967", &ms), 0);
	assert_int_equal(ms, 4294967000u);
	assert_int_equal(cmdline_timeout("4294968", &ms), -1);
	assert_int_equal(cmdline_timeout("", &ms), -1);
	assert_int_equal(cmdline_timeout(".", &ms), -1);
	assert_int_equal(cmdline_timeout("-1", &ms), -1);
	assert_int_equal(cmdline_timeout("1e3", &ms), -1);
	assert_int_equal(cmdline_timeout("inf", &ms), -1);
	assert_int_equal(cmdline_timeout("1 ", &ms), -1);
}

static void
split(void **state)
{
	char err[CMDLINE_ERR_MAX];
	char **w;
	int n;

	(void)state;
	assert_int_equal(cmdline_split("  put  key 'a b'  \"c\\\"d\" e\\ f ",
	    &w, &n, err), 0);
	assert_int_equal(n, 5);
	assert_string_equal(w[0], "put");
	assert_string_equal(w[1], "key");
	assert_string_equal(w[2], "a b");
	assert_string_equal(w[3], "c\"d");
	assert_string_equal(w[4], "e f");
	assert_null(w[5]);
	cmdline_split_free(w);

	assert_int_equal(cmdline_split("get \"\\x41\\t\"x'\\n'", &w, &n, err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(w[1], "A\tx\\n");
	cmdline_split_free(w);

	assert_int_equal(cmdline_split("put k ''", &w, &n, err), 0);
	assert_int_equal(n, 3);
	assert_string_equal(w[2], "");
	cmdline_split_free(w);

	assert_int_equal(cmdline_split("   ", &w, &n, err), 0);
	assert_int_equal(n, 0);
	assert_null(w[0]);
	cmdline_split_free(w);
	cmdline_split_free(NULL);

	assert_int_equal(cmdline_split("get 'open", &w, &n, err), -1);
	assert_non_null(strstr(err, "unterminated ' quote"));
	assert_int_equal(cmdline_split("get \"open", &w, &n, err), -1);
	assert_int_equal(cmdline_split("get k\\", &w, &n, err), -1);
	assert_int_equal(cmdline_split("get \\x4", &w, &n, err), -1);
	assert_int_equal(cmdline_split("get \\x00", &w, &n, err), -1);
	assert_non_null(strstr(err, "--hex"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(commands),
		cmocka_unit_test(options),
		cmocka_unit_test(double_dash),
		cmocka_unit_test(scan_options),
		cmocka_unit_test(compact_options),
		cmocka_unit_test(environment),
		cmocka_unit_test(timeouts),
		cmocka_unit_test(split),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
