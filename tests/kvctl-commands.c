/*
 * kvctl-commands.c: every kvctl command and exit status, as a shell script
 * sees them: raw bytes through stdin and stdout (all 256 byte values, a
 * 10 MiB value), not-found, usage and connection errors each with one line
 * on stderr, "--", --hex, the environment, scan's text, hex and JSON forms
 * and its paging, ping, stats, compact, and the interactive prompt on a
 * terminal.
 *
 * Built twice: tests/kvctl-commands runs it against a real kvd started by
 * the harness; tests/kvctl-commands-fake against the stand-in server of
 * fakekvd.c (KVCTL_TEST_FAKE), which needs no daemon.
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

#include "runprog.h"

#ifdef KVCTL_TEST_FAKE
#include "fakekvd.h"
#else
#include "harness.h"
#endif

struct server {
#ifdef KVCTL_TEST_FAKE
	struct fake	*f;
#else
	struct harness	*h;
#endif
	char		 ep[64];
	char		 closed_ep[64];	/* a port nobody listens on */
};

static int
setup(void **state)
{
	struct server *s = calloc(1, sizeof(*s));
#ifdef KVCTL_TEST_FAKE
	struct fake *dead;

	if (s == NULL || (s->f = fake_start(FAKE_NORMAL)) == NULL ||
	    (dead = fake_start(FAKE_NORMAL)) == NULL)
		return (-1);
	(void)snprintf(s->ep, sizeof(s->ep), "%s", fake_endpoint(s->f));
	(void)snprintf(s->closed_ep, sizeof(s->closed_ep), "%s",
	    fake_endpoint(dead));
	fake_stop(dead);
#else
	if (s == NULL || (s->h = harness_new_started(NULL)) == NULL) {
		if (s != NULL)
			harness_free(s->h);
		free(s);
		return (-1);
	}
	(void)snprintf(s->ep, sizeof(s->ep), "127.0.0.1:%u",
	    (unsigned)harness_port(s->h));
	(void)snprintf(s->closed_ep, sizeof(s->closed_ep), "127.0.0.1:%u",
	    (unsigned)harness_free_port());
#endif
	*state = s;
	return (0);
}

static int
teardown(void **state)
{
	struct server *s = *state;

#ifdef KVCTL_TEST_FAKE
	fake_stop(s->f);
#else
	harness_free(s->h);
#endif
	free(s);
	return (0);
}

#define KVCTL_ENV	"KVCTL_HISTFILE="

/*
 * kvctl(s, r, in, inlen, env, args...): run kvctl -s ENDPOINT args with in
 * on stdin and the extra environment env (one "NAME=value" or NULL).
 */
#define KVCTL_IN(s, r, in, inlen, ...) do {				\
	const char *const a_[] = { run_kvctl_path(), "-s", (s)->ep,	\
	    __VA_ARGS__, NULL };					\
	const char *const e_[] = { KVCTL_ENV, NULL };			\
	run_prog((r), a_, e_, (in), (inlen));				\
} while (0)
#define KVCTL(s, r, ...)	KVCTL_IN(s, r, NULL, 0, __VA_ARGS__)

/* Exactly one line on stderr, containing needle. */
static void
one_error_line(const struct run *r, const char *needle)
{
	const char *nl = strchr(r->err, '\n');

	if (nl == NULL || nl[1] != '\0' || strncmp(r->err, "kvctl: ", 7) != 0)
		fail_msg("expected one \"kvctl: \" line on stderr, got \"%s\"",
		    r->err);
	if (strstr(r->err, needle) == NULL)
		fail_msg("stderr \"%s\" lacks \"%s\"", r->err, needle);
}

static void
expect(const struct run *r, int status, const char *out)
{
	if (r->status != status)
		fail_msg("exit %d, expected %d; stderr: %s", r->status, status,
		    r->err);
	if (out != NULL && (r->outlen != strlen(out) ||
	    memcmp(r->out, out, r->outlen) != 0))
		fail_msg("stdout \"%s\", expected \"%s\"", (char *)r->out, out);
}

static void
put_get_del(void **state)
{
	struct server *s = *state;
	struct run r;

	KVCTL(s, &r, "put", "fruit", "apple");
	expect(&r, 0, "");		/* silent when not on a terminal */
	assert_int_equal(r.errlen, 0);
	run_free(&r);
	KVCTL(s, &r, "get", "fruit");
	expect(&r, 0, "apple");		/* raw bytes, no newline added */
	run_free(&r);
	KVCTL(s, &r, "get", "vegetable");
	expect(&r, 1, "");
	one_error_line(&r, "get: key \"vegetable\" not found");
	run_free(&r);
	KVCTL(s, &r, "del", "fruit");
	expect(&r, 0, "");
	run_free(&r);
	KVCTL(s, &r, "delete", "fruit");
	expect(&r, 1, "");
	one_error_line(&r, "not found");
	run_free(&r);
	KVCTL(s, &r, "get", "fruit");
	expect(&r, 1, "");
	run_free(&r);
	/* An empty value is a value. */
	KVCTL(s, &r, "put", "empty", "");
	expect(&r, 0, "");
	run_free(&r);
	KVCTL(s, &r, "get", "empty");
	expect(&r, 0, "");
	run_free(&r);
}

static void
all_bytes_through_stdin(void **state)
{
	struct server *s = *state;
	uint8_t all[256];
	struct run r;
	size_t i;

	for (i = 0; i < sizeof(all); i++)
		all[i] = (uint8_t)i;
	KVCTL_IN(s, &r, all, sizeof(all), "put", "bytes");
	expect(&r, 0, "");
	run_free(&r);
	KVCTL_IN(s, &r, all, sizeof(all), "put", "dash", "-");
	expect(&r, 0, "");
	run_free(&r);
	KVCTL(s, &r, "get", "bytes");
	expect(&r, 0, NULL);
	assert_int_equal(r.outlen, sizeof(all));
	assert_memory_equal(r.out, all, sizeof(all));
	run_free(&r);
	KVCTL(s, &r, "get", "dash");
	assert_int_equal(r.outlen, sizeof(all));
	assert_memory_equal(r.out, all, sizeof(all));
	run_free(&r);
	/* The same value in hex, and every byte escaped in scan's text form. */
	KVCTL(s, &r, "--hex", "get", "6279746573");
	expect(&r, 0, NULL);
	assert_int_equal(r.outlen, 513);
	assert_memory_equal(r.out, "000102", 6);
	assert_memory_equal(r.out + 506, "fdfeff\n", 7);
	run_free(&r);
	KVCTL(s, &r, "scan", "--prefix", "bytes");
	expect(&r, 0, NULL);
	assert_memory_equal(r.out, "bytes\t\\x00\\x01", 14);
	assert_non_null(strstr((char *)r.out, " !\"#$%&'()"));
	assert_non_null(strstr((char *)r.out, "[\\\\]^_`"));
	assert_non_null(strstr((char *)r.out, "}~\\x7f\\x80"));
	assert_memory_equal(r.out + r.outlen - 9, "\\xfe\\xff\n", 9);
	assert_int_equal(memchr(r.out, '\n', r.outlen) ==
	    (void *)(r.out + r.outlen - 1), 1);
	run_free(&r);
}

static void
ten_mib(void **state)
{
	struct server *s = *state;
	size_t n = 10u * 1024 * 1024, i;
	uint8_t *big = malloc(n);
	struct run r;

	assert_non_null(big);
	for (i = 0; i < n; i++)
		big[i] = (uint8_t)((i * 2654435761u) >> 24);
	KVCTL_IN(s, &r, big, n, "put", "big");
	expect(&r, 0, "");
	run_free(&r);
	KVCTL(s, &r, "get", "big");
	expect(&r, 0, NULL);
	assert_int_equal(r.outlen, n);
	assert_memory_equal(r.out, big, n);
	run_free(&r);
	free(big);
}

static void
usage_errors(void **state)
{
	struct server *s = *state;
	const char *const env[] = { KVCTL_ENV, "KVCTL_TIMEOUT=never", NULL };
	const char *const noargs[] = { run_kvctl_path(), NULL };
	const char *const ping[] = { run_kvctl_path(), "-s", s->ep, "ping",
	    NULL };
	struct run r;

	/* No command and no terminal: usage, not a prompt. */
	run_prog(&r, noargs, NULL, NULL, 0);
	expect(&r, 2, "");
	assert_non_null(strstr(r.err, "no command"));
	run_free(&r);
	KVCTL(s, &r, "frobnicate");
	expect(&r, 2, "");
	assert_non_null(strstr(r.err, "unknown command \"frobnicate\""));
	run_free(&r);
	KVCTL(s, &r, "get");
	expect(&r, 2, "");
	run_free(&r);
	KVCTL(s, &r, "put", "k", "v", "extra");
	expect(&r, 2, "");
	run_free(&r);
	KVCTL(s, &r, "-t", "soon", "ping");
	expect(&r, 2, "");
	run_free(&r);
	KVCTL(s, &r, "put", "", "v");
	expect(&r, 2, "");
	one_error_line(&r, "the key is empty");
	run_free(&r);
	KVCTL(s, &r, "--hex", "get", "xyz");
	expect(&r, 2, "");
	one_error_line(&r, "not valid hex");
	run_free(&r);
	KVCTL(s, &r, "scan", "--prefix", "a", "--from", "b");
	expect(&r, 2, "");
	run_free(&r);
	KVCTL(s, &r, "put", "k", "-5");
	expect(&r, 2, "");
	assert_non_null(strstr(r.err, "unknown option -5"));
	run_free(&r);
	KVCTL(s, &r, "-s", "host:notaport", "ping");
	expect(&r, 2, "");
	one_error_line(&r, "notaport");
	run_free(&r);
	run_prog(&r, ping, env, NULL, 0);
	expect(&r, 2, "");
	assert_non_null(strstr(r.err, "KVCTL_TIMEOUT"));
	run_free(&r);
	KVCTL(s, &r, "--help");
	expect(&r, 0, NULL);
	assert_non_null(strstr((char *)r.out, "usage: kvctl"));
	run_free(&r);
	KVCTL(s, &r, "--version");
	expect(&r, 0, NULL);
	assert_memory_equal(r.out, "kvctl " PACKAGE_VERSION,
	    strlen("kvctl " PACKAGE_VERSION));
	run_free(&r);
}

static void
connection_errors(void **state)
{
	struct server *s = *state;
	const char *const cmds[][3] = {
		{ "ping", NULL, NULL }, { "get", "k", NULL },
		{ "put", "k", "v" }, { "del", "k", NULL },
		{ "scan", NULL, NULL }, { "stats", NULL, NULL },
		{ "compact", NULL, NULL }, { "compact", "--wait", NULL },
	};
	const char *const env[] = { KVCTL_ENV, NULL };
	struct run r;
	size_t i;

	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		const char *const a[] = { run_kvctl_path(), "-s", s->closed_ep,
		    cmds[i][0], cmds[i][1], cmds[i][2], NULL };

		run_prog(&r, a, env, NULL, 0);
		expect(&r, 3, "");
		one_error_line(&r, "connect to");
		assert_non_null(strstr(r.err, s->closed_ep));
		run_free(&r);
	}
}

static void
environment(void **state)
{
	struct server *s = *state;
	char envsrv[96], envbad[96];
	struct run r;

	(void)snprintf(envsrv, sizeof(envsrv), "KVCTL_SERVER=%s", s->ep);
	(void)snprintf(envbad, sizeof(envbad), "KVCTL_SERVER=%s", s->closed_ep);
	{
		const char *const a[] = { run_kvctl_path(), "put", "env", "ok",
		    NULL };
		const char *const e[] = { KVCTL_ENV, envsrv, "KVCTL_TIMEOUT=20",
		    NULL };

		run_prog(&r, a, e, NULL, 0);
		expect(&r, 0, "");
		run_free(&r);
	}
	{
		/* -s wins over KVCTL_SERVER. */
		const char *const a[] = { run_kvctl_path(), "get", "env", "-s",
		    s->ep, NULL };
		const char *const e[] = { KVCTL_ENV, envbad, NULL };

		run_prog(&r, a, e, NULL, 0);
		expect(&r, 0, "ok");
		run_free(&r);
	}
	{
		/* KVCTL_HEX=1 is --hex. */
		const char *const a[] = { run_kvctl_path(), "get", "656e76",
		    NULL };
		const char *const e[] = { KVCTL_ENV, envsrv, "KVCTL_HEX=1", NULL };

		run_prog(&r, a, e, NULL, 0);
		expect(&r, 0, "6f6b\n");
		run_free(&r);
	}
}

static void
dashes_and_hex(void **state)
{
	struct server *s = *state;
	struct run r;

	KVCTL(s, &r, "put", "--", "-key", "--value");
	expect(&r, 0, "");
	run_free(&r);
	KVCTL(s, &r, "get", "--", "-key");
	expect(&r, 0, "--value");
	run_free(&r);
	/* A key with a NUL byte, possible only through --hex. */
	KVCTL(s, &r, "-x", "put", "6b00ff", "00FF0a");
	expect(&r, 0, "");
	run_free(&r);
	KVCTL(s, &r, "-x", "get", "6B00FF");
	expect(&r, 0, "00ff0a\n");
	run_free(&r);
	KVCTL(s, &r, "get", "k");
	expect(&r, 1, "");
	run_free(&r);
	KVCTL_IN(s, &r, "61 62\n63\n", 9, "-x", "put", "6b32");
	expect(&r, 0, "");
	run_free(&r);
	KVCTL(s, &r, "get", "k2");
	expect(&r, 0, "abc");
	run_free(&r);
	KVCTL_IN(s, &r, "6g", 2, "-x", "put", "6b33");
	expect(&r, 2, "");
	run_free(&r);
	KVCTL(s, &r, "-x", "del", "6b00ff");
	expect(&r, 0, "");
	run_free(&r);
	KVCTL(s, &r, "-x", "del", "6b00ff");
	expect(&r, 1, "");
	one_error_line(&r, "key \"6b00ff\" not found");
	run_free(&r);
}

/* Put keys n000..n<count-1> with values v<i>. */
static void
put_numbered(struct server *s, int count)
{
	char k[16], v[16];
	struct run r;
	int i;

	for (i = 0; i < count; i++) {
		(void)snprintf(k, sizeof(k), "n%03d", i);
		(void)snprintf(v, sizeof(v), "v%d", i);
		KVCTL(s, &r, "put", k, v);
		expect(&r, 0, "");
		run_free(&r);
	}
}

/* The scan text of keys n<from>..n<to-1>, keys only or with values. */
static char *
numbered_text(int from, int to, int keys_only)
{
	char *buf = calloc(1, 4096), *p = buf;
	int i;

	assert_non_null(buf);
	for (i = from; i < to; i++)
		p += keys_only ? sprintf(p, "n%03d\n", i) :
		    sprintf(p, "n%03d\tv%d\n", i, i);
	return (buf);
}

static void
scan(void **state)
{
	struct server *s = *state;
	static const char *const pages[] = { "1", "2", "3", "4", "6", "12",
	    "13", "1000" };
	struct run r;
	char *want;
	size_t i;

	put_numbered(s, 12);
	KVCTL(s, &r, "put", "other", "x");
	run_free(&r);

	/* Paging at its edges: 1, sizes that divide 12, that do not, too big. */
	want = numbered_text(0, 12, 0);
	for (i = 0; i < sizeof(pages) / sizeof(pages[0]); i++) {
		KVCTL(s, &r, "scan", "--prefix", "n", "--page-size", pages[i]);
		expect(&r, 0, want);
		run_free(&r);
	}
	free(want);

	KVCTL(s, &r, "scan", "--prefix", "n", "--limit", "1");
	expect(&r, 0, "n000\tv0\n");
	run_free(&r);
	want = numbered_text(0, 4, 0);
	KVCTL(s, &r, "scan", "--prefix", "n", "--limit", "4", "--page-size",
	    "2");
	expect(&r, 0, want);
	run_free(&r);
	free(want);
	want = numbered_text(0, 12, 0);
	KVCTL(s, &r, "scan", "--prefix", "n", "--limit", "12", "--page-size",
	    "4");
	expect(&r, 0, want);
	run_free(&r);
	free(want);

	want = numbered_text(3, 7, 1);
	KVCTL(s, &r, "scan", "--from", "n003", "--to", "n007", "--keys-only");
	expect(&r, 0, want);
	run_free(&r);
	free(want);
	KVCTL(s, &r, "scan", "--from", "n011");
	expect(&r, 0, "n011\tv11\nother\tx\n");
	run_free(&r);
	KVCTL(s, &r, "scan", "--to", "n001");
	expect(&r, 0, "n000\tv0\n");
	run_free(&r);
	KVCTL(s, &r, "scan", "--prefix", "nothing");
	expect(&r, 0, "");
	run_free(&r);

	KVCTL(s, &r, "scan", "--prefix", "n01", "--json");
	expect(&r, 0, "{\"key\":\"n010\",\"value\":\"v10\"}\n"
	    "{\"key\":\"n011\",\"value\":\"v11\"}\n");
	run_free(&r);
	KVCTL(s, &r, "scan", "--prefix", "oth", "--json", "--keys-only");
	expect(&r, 0, "{\"key\":\"other\"}\n");
	run_free(&r);
	KVCTL(s, &r, "-x", "scan", "--prefix", "6f", "--json");
	expect(&r, 0, "{\"key_hex\":\"6f74686572\",\"value_hex\":\"78\"}\n");
	run_free(&r);
	KVCTL(s, &r, "-x", "scan", "--prefix", "6f");
	expect(&r, 0, "6f74686572\t78\n");
	run_free(&r);
	KVCTL(s, &r, "-x", "put", "6f7468657232", "ff00");
	run_free(&r);
	KVCTL(s, &r, "scan", "--from", "other2", "--json");
	expect(&r, 0, "{\"key\":\"other2\",\"value_hex\":\"ff00\"}\n");
	run_free(&r);
}

static void
ping_and_stats(void **state)
{
	struct server *s = *state;
	struct run r;
	char want[96];

	KVCTL(s, &r, "ping");
	expect(&r, 0, NULL);
	(void)snprintf(want, sizeof(want), "pong from %s in ", s->ep);
	assert_memory_equal(r.out, want, strlen(want));
	assert_memory_equal(r.out + r.outlen - 4, " ms\n", 4);
	run_free(&r);
	KVCTL(s, &r, "stats");
	expect(&r, 0, NULL);
	assert_true(r.outlen > 0);
	assert_non_null(strchr((char *)r.out, '\t'));
	assert_int_equal(r.out[r.outlen - 1], '\n');
	run_free(&r);
	KVCTL(s, &r, "stats", "--json");
	expect(&r, 0, NULL);
	assert_memory_equal(r.out, "{\"", 2);
	assert_memory_equal(r.out + r.outlen - 2, "}\n", 2);
	run_free(&r);
}

/*
 * compact is silent when not on a terminal.  --wait needs the server's
 * compaction_pending: kvd has it (and, with its default 64 MiB segments,
 * nothing sealed to compact here, so it returns at once); the stand-in
 * does not, which must be an error rather than a wait that proves nothing.
 */
static void
compact(void **state)
{
	struct server *s = *state;
	struct run r;

	KVCTL(s, &r, "compact");
	expect(&r, 0, "");
	assert_int_equal(r.errlen, 0);
	run_free(&r);
	KVCTL(s, &r, "put", "k", "v");
	expect(&r, 0, "");
	run_free(&r);
	KVCTL(s, &r, "compact");
	expect(&r, 0, "");
	assert_int_equal(r.errlen, 0);
	run_free(&r);
	KVCTL(s, &r, "compact", "--wait");
#ifdef KVCTL_TEST_FAKE
	expect(&r, 3, "");
	one_error_line(&r, "compact: the server does not report "
	    "compaction_pending");
#else
	expect(&r, 0, "");
	assert_int_equal(r.errlen, 0);
#endif
	run_free(&r);
	KVCTL(s, &r, "compact", "extra");
	expect(&r, 2, "");
	assert_non_null(strstr(r.err, "usage: compact [--wait]"));
	run_free(&r);
	KVCTL(s, &r, "get", "k");
	expect(&r, 0, "v");
	run_free(&r);
}

static void
interactive(void **state)
{
	struct server *s = *state;
	const char *const a[] = { run_kvctl_path(), "-s", s->ep, NULL };
	const char *const e[] = { KVCTL_ENV, "TERM=dumb", NULL };
	struct run r;

	run_pty(&r, a, e,
	    "put colour 'deep blue'\n"
	    "get colour\n"
	    "get nothing\n"
	    "frob\n"
	    "-x get 636f6c6f7572\n"
	    "put tab \"a\\tb\"\n"
	    "get tab\n"
	    "compact\n"
	    "quit\n");
	if (r.status != 0)
		fail_msg("exit %d; terminal showed: %s", r.status, r.out);
	/* On a terminal, output is readable and newline-terminated. */
	assert_non_null(strstr((char *)r.out, "kvctl "));
	assert_non_null(strstr((char *)r.out, "OK"));
	assert_non_null(strstr((char *)r.out, "deep blue\r\n"));
	assert_non_null(strstr((char *)r.out, "key \"nothing\" not found"));
	assert_non_null(strstr((char *)r.out, "unknown command \"frob\""));
	assert_non_null(strstr((char *)r.out, "6465657020626c7565"));
	assert_non_null(strstr((char *)r.out, "a\\x09b\r\n"));
#ifdef KVCTL_TEST_FAKE
	assert_non_null(strstr((char *)r.out, "compaction started\r\n"));
#else
	assert_non_null(strstr((char *)r.out, "nothing to compact\r\n"));
#endif
	run_free(&r);

	/* The session changed the server's data. */
	{
		struct run g;

		KVCTL(s, &g, "get", "colour");
		expect(&g, 0, "deep blue");
		run_free(&g);
	}
}

#ifndef KVCTL_TEST_FAKE
static int
setup_small(void **state)
{
	static const char *const args[] = { "--max-value", "100", NULL };
	struct server *s = calloc(1, sizeof(*s));

	if (s == NULL || (s->h = harness_new_started(args)) == NULL) {
		if (s != NULL)
			harness_free(s->h);
		free(s);
		return (-1);
	}
	(void)snprintf(s->ep, sizeof(s->ep), "127.0.0.1:%u",
	    (unsigned)harness_port(s->h));
	*state = s;
	return (0);
}

/* A server error is exit status 3, with the server's status and message. */
static void
server_errors(void **state)
{
	struct server *s = *state;
	char big[200];
	struct run r;

	memset(big, 'v', sizeof(big));
	KVCTL_IN(s, &r, big, sizeof(big), "put", "k");
	expect(&r, 3, "");
	one_error_line(&r, "put: TOO_LARGE: ");
	assert_non_null(strstr(r.err, "100"));
	run_free(&r);
	KVCTL_IN(s, &r, big, 100, "put", "k");
	expect(&r, 0, "");
	run_free(&r);
}
#endif

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(put_get_del, setup, teardown),
		cmocka_unit_test_setup_teardown(all_bytes_through_stdin, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(ten_mib, setup, teardown),
		cmocka_unit_test_setup_teardown(usage_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(connection_errors, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(environment, setup, teardown),
		cmocka_unit_test_setup_teardown(dashes_and_hex, setup, teardown),
		cmocka_unit_test_setup_teardown(scan, setup, teardown),
		cmocka_unit_test_setup_teardown(ping_and_stats, setup, teardown),
		cmocka_unit_test_setup_teardown(compact, setup, teardown),
		cmocka_unit_test_setup_teardown(interactive, setup, teardown),
#ifndef KVCTL_TEST_FAKE
		cmocka_unit_test_setup_teardown(server_errors, setup_small,
		    teardown),
#endif
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
