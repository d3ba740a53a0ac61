/*
 * server-options.c: kvd's command line and config file as an operator
 * meets them: a bad option or config line gives one clear line naming it
 * and exit status 2; -t checks a configuration; the command line wins over
 * the file; kvd listens on IPv4 and IPv6 at once; every fsync policy
 * answers writes and reads.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
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

/* Run kvd with args; expect status 2 and one line holding each of want[]. */
static void
expect_usage_error(const char *const *args, const char *const *want)
{
	const char *argv[32];
	char out[4096];
	size_t n = 0, i;
	int rc;

	argv[n++] = harness_kvd();
	for (i = 0; args[i] != NULL; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	rc = harness_exec(argv, out, sizeof(out));
	print_message("%s", out);
	assert_int_equal(rc, 2);
	assert_int_equal(strncmp(out, "kvd: ", 5), 0);
	assert_non_null(strchr(out, '\n'));
	assert_string_equal(strchr(out, '\n'), "\n");	/* exactly one line */
	for (i = 0; want[i] != NULL; i++)
		if (strstr(out, want[i]) == NULL)
			fail_msg("'%s' missing from: %s", want[i], out);
}

static void
bad_options_one_line_exit_2(void **state)
{
	(void)state;
	{
		const char *a[] = { "--fsync", "sometimes", NULL };
		const char *w[] = { "--fsync", "sometimes", "always", NULL };
		expect_usage_error(a, w);
	}
	{
		const char *a[] = { "--max-key", "abc", NULL };
		const char *w[] = { "--max-key", "abc", NULL };
		expect_usage_error(a, w);
	}
	{
		const char *a[] = { "--max-clients", "0", NULL };
		const char *w[] = { "--max-clients", "out of range", NULL };
		expect_usage_error(a, w);
	}
	{
		const char *a[] = { "--no-such-option", NULL };
		const char *w[] = { "--no-such-option", NULL };
		expect_usage_error(a, w);
	}
	{
		const char *a[] = { "-l", "::1", NULL };
		const char *w[] = { "--listen", "[ADDRESS]:PORT", NULL };
		expect_usage_error(a, w);
	}
	{
		const char *a[] = { "-l", "127.0.0.1:99999", NULL };
		const char *w[] = { "--listen", "99999", NULL };
		expect_usage_error(a, w);
	}
	{
		const char *a[] = { "-D", NULL };
		const char *w[] = { "--data-dir", "needs a value", NULL };
		expect_usage_error(a, w);
	}
	{
		const char *a[] = { "--log-level", "loud", NULL };
		const char *w[] = { "--log-level", "loud", NULL };
		expect_usage_error(a, w);
	}
	{
		const char *a[] = { "--client-output-limit", "8M",
		    "--client-output-hard-limit", "1M", NULL };
		const char *w[] = { "client-output-hard-limit", NULL };
		expect_usage_error(a, w);
	}
	{
		const char *a[] = { "stray", NULL };
		const char *w[] = { "stray", NULL };
		expect_usage_error(a, w);
	}
}

static void
write_file(const char *path, const char *text)
{
	FILE *fp;

	assert_non_null(fp = fopen(path, "w"));
	assert_int_equal(fputs(text, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
}

static void
bad_config_line_one_line_exit_2(void **state)
{
	struct harness *h = *state;
	char conf[PATH_MAX / 2], where[PATH_MAX], missing[PATH_MAX];
	const char *a[] = { "-c", conf, "-t", NULL };

	snprintf(conf, sizeof(conf), "%s/kvd.conf", harness_dir(h));
	write_file(conf, "# a comment\n\nmax-value 32M\nmax-value lots\n");
	snprintf(where, sizeof(where), "%s:4: max-value", conf);
	{
		const char *w[] = { where, "lots", NULL };
		expect_usage_error(a, w);
	}
	write_file(conf, "fsync always\nlisten-on 127.0.0.1\n");
	snprintf(where, sizeof(where), "%s:2:", conf);
	{
		const char *w[] = { where, "unknown key", "listen-on", NULL };
		expect_usage_error(a, w);
	}
	write_file(conf, "fsync\n");
	snprintf(where, sizeof(where), "%s:1: fsync", conf);
	{
		const char *w[] = { where, "missing value", NULL };
		expect_usage_error(a, w);
	}
	snprintf(missing, sizeof(missing), "%s/absent.conf", harness_dir(h));
	{
		const char *a2[] = { "-c", missing, NULL };
		const char *w[] = { missing, "No such file", NULL };
		expect_usage_error(a2, w);
	}
}

static void
test_config_ok(void **state)
{
	struct harness *h = *state;
	char conf[PATH_MAX], out[4096];
	const char *argv[] = { harness_kvd(), "-c", conf, "-t", NULL };
	const char *help[] = { harness_kvd(), "-h", NULL };
	const char *version[] = { harness_kvd(), "-V", NULL };

	snprintf(conf, sizeof(conf), "%s/kvd.conf", harness_dir(h));
	write_file(conf, "# every key once\n"
	    "data-dir /var/lib/kvd\nlisten 127.0.0.1:7878\nlisten [::1]:7878\n"
	    "fsync everysec\ndaemonize no\npidfile /run/kvd.pid\n"
	    "log-level debug\nmax-frame 64M\nmax-key 4096\nmax-value 32M\n"
	    "max-clients 100\nidle-timeout 60\nclient-output-limit 1M\n"
	    "client-output-hard-limit 64M\nmetrics 127.0.0.1:9100\n"
	    "segment-size 64M\ncompact-ratio 0.4\npreallocate yes\n");
	assert_int_equal(harness_exec(argv, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "configuration OK"));
	assert_int_equal(harness_exec(help, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "usage: kvd"));
	assert_int_equal(harness_exec(version, out, sizeof(out)), 0);
	assert_int_equal(strncmp(out, "kvd ", 4), 0);
}

/* The file says one port and fsync never; -l on the command line wins. */
static void
command_line_wins(void **state)
{
	struct harness *h = *state;
	char conf[PATH_MAX], text[256];
	const char *args[] = { "-c", conf, NULL };
	uint16_t file_port = harness_free_port();
	struct wire *w;

	snprintf(conf, sizeof(conf), "%s/kvd.conf", harness_dir(h));
	snprintf(text, sizeof(text), "listen 127.0.0.1:%u\nmax-key 8\n",
	    (unsigned)file_port);
	write_file(conf, text);
	assert_int_equal(harness_start(h, args), 0);
	/* The harness's -l answers (harness_start pinged it); the file's does not. */
	w = wire_connect(file_port);
	assert_null(w);
	/* The file's other setting still applies. */
	assert_non_null(w = wire_connect(harness_port(h)));
	assert_int_equal(wire_put(w, 1, "123456789", 9, "v", 1), 0);
	{
		Kv__Response *r = wire_call(w);

		assert_non_null(r);
		assert_int_equal(r->status, KV__STATUS__TOO_LARGE);
		assert_non_null(strstr(r->message, "max-key 8"));
		kv__response__free_unpacked(r, NULL);
	}
	wire_free(w);
	assert_int_equal(harness_stop(h), 0);
}

static int
ipv6_loopback_works(void)
{
	struct sockaddr_in6 sin6;
	int fd, ok;

	if ((fd = socket(AF_INET6, SOCK_STREAM, 0)) < 0)
		return (0);
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_addr = in6addr_loopback;
	ok = bind(fd, (struct sockaddr *)&sin6, sizeof(sin6)) == 0;
	close(fd);
	return (ok);
}

/* -l twice: 127.0.0.1 (from the harness) and [::1]; both answer. */
static void
listens_on_ipv4_and_ipv6(void **state)
{
	struct harness *h = *state;
	struct sockaddr_in6 sin6;
	char v6[64];
	const char *args[] = { "-l", v6, NULL };
	static const uint8_t ping[] = { 0, 0, 0, 2, 0x08, 5 };	/* {id 5} */
	uint8_t buf[64];
	uint16_t port = harness_free_port();
	ssize_t n;
	int fd;

	if (!ipv6_loopback_works()) {
		skip();
		return;
	}
	snprintf(v6, sizeof(v6), "[::1]:%u", (unsigned)port);
	assert_int_equal(harness_start(h, args), 0);
	assert_true((fd = socket(AF_INET6, SOCK_STREAM, 0)) >= 0);
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_addr = in6addr_loopback;
	sin6.sin6_port = htons(port);
	assert_int_equal(connect(fd, (struct sockaddr *)&sin6, sizeof(sin6)), 0);
	/* A request with only an id: INVALID_ARGUMENT with that id, over IPv6. */
	assert_int_equal(write(fd, ping, sizeof(ping)), (ssize_t)sizeof(ping));
	n = read(fd, buf, sizeof(buf));
	assert_true(n > 4);
	{
		Kv__Response *r = kv__response__unpack(NULL, (size_t)n - 4,
		    buf + 4);

		assert_non_null(r);
		assert_int_equal(r->id, 5);
		assert_int_equal(r->status, KV__STATUS__INVALID_ARGUMENT);
		kv__response__free_unpacked(r, NULL);
	}
	close(fd);
	assert_int_equal(harness_stop(h), 0);
}

/* Each fsync policy serves writes and reads; none leaves a reply stuck. */
static void
every_fsync_policy_serves(void **state)
{
	static const char *const policies[] = { "never", "everysec", "always" };
	struct harness *h = *state;
	const char *args[] = { "--fsync", NULL, NULL };
	struct wire *w;
	Kv__Response *r;
	char val[32];
	int i, j, n;

	for (i = 0; i < 3; i++) {
		args[1] = policies[i];
		assert_int_equal(harness_start(h, args), 0);
		assert_non_null(w = wire_connect(harness_port(h)));
		n = snprintf(val, sizeof(val), "under %s", policies[i]);
		/* 100 pipelined puts and the get after them. */
		for (j = 0; j < 100; j++)
			assert_int_equal(wire_put(w, (uint64_t)j, "k", 1, val,
			    (size_t)n), 0);
		assert_int_equal(wire_get(w, 100, "k", 1), 0);
		assert_int_equal(wire_flush(w), 0);
		for (j = 0; j <= 100; j++) {
			assert_non_null(r = wire_recv(w, WIRE_TIMEOUT_MS));
			assert_int_equal(r->id, (uint64_t)j);
			assert_int_equal(r->status, KV__STATUS__OK);
			if (j == 100)
				assert_memory_equal(r->get->value.data, val,
				    (size_t)n);
			kv__response__free_unpacked(r, NULL);
		}
		wire_free(w);
		assert_int_equal(harness_stop(h), 0);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(bad_options_one_line_exit_2,
		    harness_setup, harness_teardown_any),
		cmocka_unit_test_setup_teardown(bad_config_line_one_line_exit_2,
		    harness_setup, harness_teardown_any),
		cmocka_unit_test_setup_teardown(test_config_ok, harness_setup,
		    harness_teardown_any),
		cmocka_unit_test_setup_teardown(command_line_wins,
		    harness_setup, harness_teardown_any),
		cmocka_unit_test_setup_teardown(listens_on_ipv4_and_ipv6,
		    harness_setup, harness_teardown_any),
		cmocka_unit_test_setup_teardown(every_fsync_policy_serves,
		    harness_setup, harness_teardown_any),
	};

	return (cmocka_run_group_tests_name("server-options", tests, NULL,
	    NULL));
}
