/*
 * options-parse.c: the options module on its own: defaults, sizes with
 * suffixes, endpoints, the config file under the command line, and the
 * error line for each kind of mistake.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "options.h"

#define ARGC(a)	((int)(sizeof(a) / sizeof((a)[0])) - 1)

static void
defaults(void **state)
{
	char *argv[] = { "kvd", NULL };
	struct options o;
	char err[256];

	(void)state;
	assert_int_equal(options_parse(&o, ARGC(argv), argv, err, sizeof(err)), 0);
	assert_int_equal(o.mode, OPTIONS_RUN);
	assert_string_equal(o.data_dir, OPTIONS_DEFAULT_DATA_DIR);
	assert_int_equal(o.nlisten, 1);
	assert_string_equal(o.listen[0].host, "127.0.0.1");
	assert_int_equal(o.listen[0].port, 7878);
	assert_int_equal(o.fsync, ENGINE_SYNC_ALWAYS);
	assert_int_equal(o.max_frame, 64u << 20);
	assert_int_equal(o.max_key, 4096);
	assert_int_equal(o.max_value, 32u << 20);
	assert_false(o.daemonize);
	assert_null(o.pidfile);
	assert_false(o.metrics_enabled);
	options_clear(&o);
}

/* 1 is a ratio no segment exceeds: compaction off. */
static void
compact_ratio_one_turns_compaction_off(void **state)
{
	char *argv[] = { "kvd", "--compact-ratio", "1", NULL };
	struct options o;
	char err[256];

	(void)state;
	assert_int_equal(options_parse(&o, ARGC(argv), argv, err, sizeof(err)), 0);
	assert_true(o.compact_ratio == 1.0);
	options_clear(&o);
}

static void
values_and_suffixes(void **state)
{
	char *argv[] = { "kvd", "-D", "/tmp/x", "-l", "[::1]:9000",
	    "-l", "localhost", "--fsync", "everysec", "--max-frame", "2M",
	    "--max-value", "1k", "--client-output-limit", "3G",
	    "--client-output-hard-limit", "4G", "--metrics", "0.0.0.0:9100",
	    "-d", "-p", "kvd.pid", "--log-level", "debug",
	    "--compact-ratio", "0.25", "--idle-timeout", "0", NULL };
	struct options o;
	char err[256];

	(void)state;
	assert_int_equal(options_parse(&o, ARGC(argv), argv, err, sizeof(err)), 0);
	assert_string_equal(o.data_dir, "/tmp/x");
	assert_int_equal(o.nlisten, 2);
	assert_string_equal(o.listen[0].host, "::1");
	assert_int_equal(o.listen[0].port, 9000);
	assert_string_equal(o.listen[1].host, "localhost");
	assert_int_equal(o.listen[1].port, 7878);
	assert_int_equal(o.fsync, ENGINE_SYNC_EVERYSEC);
	assert_int_equal(o.max_frame, 2u << 20);
	assert_int_equal(o.max_value, 1024);
	assert_int_equal(o.client_output_limit, 3ull << 30);
	assert_true(o.metrics_enabled);
	assert_int_equal(o.metrics.port, 9100);
	assert_true(o.daemonize);
	assert_string_equal(o.pidfile, "kvd.pid");
	assert_int_equal(o.log_level, LOG_LEVEL_DEBUG);
	assert_true(o.compact_ratio > 0.24 && o.compact_ratio < 0.26);
	assert_int_equal(o.idle_timeout, 0);
	assert_int_equal(options_absolutize(&o, err, sizeof(err)), 0);
	assert_true(o.pidfile[0] == '/');
	assert_string_equal(o.data_dir, "/tmp/x");
	options_clear(&o);
}

static void
file_then_command_line(void **state)
{
	char path[] = "/tmp/kvd-options-XXXXXX";
	char *argv[] = { "kvd", "-c", path, "--max-key", "10", "-l",
	    "127.0.0.1:1", NULL };
	struct options o;
	char err[256];
	FILE *f;
	int fd;

	(void)state;
	assert_true((fd = mkstemp(path)) >= 0);
	assert_non_null(f = fdopen(fd, "w"));
	fputs("# kvd.conf\n  max-key   20  \nmax-value 50\n"
	    "listen 127.0.0.1:2\nlisten 127.0.0.1:3\nsyslog yes\n", f);
	fclose(f);
	assert_int_equal(options_parse(&o, ARGC(argv), argv, err, sizeof(err)), 0);
	unlink(path);
	assert_int_equal(o.max_key, 10);	/* command line wins */
	assert_int_equal(o.max_value, 50);	/* file applies */
	assert_true(o.syslog);
	assert_int_equal(o.nlisten, 1);		/* -l replaces the file's list */
	assert_int_equal(o.listen[0].port, 1);
	assert_string_equal(o.config_file, path);
	options_clear(&o);
}

static void
expect_error(char **argv, int argc, const char *want)
{
	struct options o;
	char err[512];

	assert_int_equal(options_parse(&o, argc, argv, err, sizeof(err)), -1);
	if (strstr(err, want) == NULL)
		fail_msg("'%s' not in '%s'", want, err);
	assert_null(strchr(err, '\n'));
}

static void
errors_name_the_option(void **state)
{
	(void)state;
	{
		char *a[] = { "kvd", "--max-value", "12X", NULL };
		expect_error(a, ARGC(a), "--max-value: '12X' is not a size");
	}
	{
		char *a[] = { "kvd", "--max-key", "99999999999999999999999", NULL };
		expect_error(a, ARGC(a), "--max-key");
	}
	{
		char *a[] = { "kvd", "--compact-ratio", "1.5", NULL };
		expect_error(a, ARGC(a), "--compact-ratio: '1.5'");
	}
	{
		char *a[] = { "kvd", "--compact-ratio", "0", NULL };
		expect_error(a, ARGC(a), "above 0 and at most 1");
	}
	{
		char *a[] = { "kvd", "-l", "[::1", NULL };
		expect_error(a, ARGC(a), "--listen: '[::1' has '[' without ']'");
	}
	{
		char *a[] = { "kvd", "-l", ":80", NULL };
		expect_error(a, ARGC(a), "names no host");
	}
	{
		char *a[] = { "kvd", "-x", NULL };
		expect_error(a, ARGC(a), "unknown option '-x'");
	}
	{
		char *a[] = { "kvd", "-t", "--check", NULL };
		expect_error(a, ARGC(a), "cannot be combined");
	}
	{
		char *a[] = { "kvd", "--syslog", "--log-file", "/tmp/l", NULL };
		expect_error(a, ARGC(a), "log-file and syslog");
	}
	{
		char *a[] = { "kvd", "-c", "/nonexistent/kvd.conf", NULL };
		expect_error(a, ARGC(a), "config file /nonexistent/kvd.conf: "
		    "No such file");
	}
}

static void
help_and_version_skip_the_rest(void **state)
{
	char *h[] = { "kvd", "--fsync", "x", NULL };
	char *a[] = { "kvd", "-c", "/nonexistent", "-h", NULL };
	char *v[] = { "kvd", "-V", "--bogus", NULL };
	struct options o;
	char err[256];

	(void)state;
	assert_int_equal(options_parse(&o, ARGC(a), a, err, sizeof(err)), 0);
	assert_int_equal(o.mode, OPTIONS_HELP);
	options_clear(&o);
	/* -V before a bad option still means -V: getopt stops there. */
	assert_int_equal(options_parse(&o, ARGC(v), v, err, sizeof(err)), 0);
	assert_int_equal(o.mode, OPTIONS_VERSION);
	options_clear(&o);
	assert_int_equal(options_parse(&o, ARGC(h), h, err, sizeof(err)), -1);
	assert_non_null(strstr(options_usage(), "usage: kvd"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(defaults),
		cmocka_unit_test(values_and_suffixes),
		cmocka_unit_test(compact_ratio_one_turns_compaction_off),
		cmocka_unit_test(file_then_command_line),
		cmocka_unit_test(errors_name_the_option),
		cmocka_unit_test(help_and_version_skip_the_rest),
	};

	return (cmocka_run_group_tests_name("options-parse", tests, NULL, NULL));
}
