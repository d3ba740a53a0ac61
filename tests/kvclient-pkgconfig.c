/*
 * kvclient-pkgconfig.c: what a user of libkvclient does works: `make
 * install` into a temporary root, build the EXAMPLES program of
 * kvclient(3) with nothing but `pkg-config --cflags --libs kvclient`, and
 * run it against a real kvd.
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

struct fixture {
	struct harness	*h;
	char		 tmp[256];
};

static int
setup(void **state)
{
	struct fixture *x = calloc(1, sizeof(*x));
	const char *t = getenv("TMPDIR");

	if (x == NULL)
		return (-1);
	(void)snprintf(x->tmp, sizeof(x->tmp), "%s/kvpc.XXXXXX",
	    t != NULL && *t != '\0' ? t : "/tmp");
	if (mkdtemp(x->tmp) == NULL ||
	    (x->h = harness_new_started(NULL)) == NULL) {
		harness_free(x->h);
		free(x);
		return (-1);
	}
	*state = x;
	return (0);
}

static int
teardown(void **state)
{
	struct fixture *x = *state;
	char cmd[512];

	(void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", x->tmp);
	(void)system(cmd);
	harness_free(x->h);
	free(x);
	return (0);
}

/* Run a shell command; fail the test with its output if it fails. */
static char *
sh(const char *what, const char *cmd)
{
	const char *const argv[] = { "/bin/sh", "-c", cmd, NULL };
	char *out = malloc(65536);
	int st;

	assert_non_null(out);
	st = harness_exec(argv, out, 65536);
	if (st != 0)
		fail_msg("%s failed (status %d): %s\n--- output:\n%s", what, st,
		    cmd, out);
	return (out);
}

static void
install_build_run(void **state)
{
	struct fixture *x = *state;
	const char *top = getenv("KVD_TOP_BUILDDIR");
	char cmd[4096], env[1024], *out;

	assert_non_null(top);
	/* A make started by make check must not join its job server. */
	(void)snprintf(cmd, sizeof(cmd),
	    "cd '%s' && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL "
	    "${MAKE:-make} install DESTDIR='%s/root'", top, x->tmp);
	free(sh("make install", cmd));

	(void)snprintf(env, sizeof(env),
	    "PKG_CONFIG_PATH='%s/root%s/pkgconfig' "
	    "PKG_CONFIG_SYSROOT_DIR='%s/root'; "
	    "export PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR; ",
	    x->tmp, KVD_LIBDIR, x->tmp);
	(void)snprintf(cmd, sizeof(cmd), "%s pkg-config --cflags --libs kvclient",
	    env);
	out = sh("pkg-config", cmd);
	/* The flags point into the temporary root, not at the build tree. */
	if (strstr(out, x->tmp) == NULL || strstr(out, "-lkvclient") == NULL)
		fail_msg("pkg-config said: %s", out);
	free(out);

	(void)snprintf(cmd, sizeof(cmd),
	    "%s %s %s -o '%s/example' '%s/tests/kvclient-man-example.c' "
	    "$(pkg-config --cflags --libs kvclient)",
	    env, KVD_CC, KVD_SANITIZER_FLAGS, x->tmp, top);
	free(sh("compile the kvclient(3) example", cmd));

	(void)snprintf(cmd, sizeof(cmd),
	    "LD_LIBRARY_PATH='%s/root%s' '%s/example' 127.0.0.1:%u",
	    x->tmp, KVD_LIBDIR, x->tmp, (unsigned)harness_port(x->h));
	out = sh("run the example", cmd);
	if (strstr(out, "greeting = hello\n") == NULL ||
	    strstr(out, "item:0\n") == NULL || strstr(out, "item:9\n") == NULL)
		fail_msg("the example printed: %s", out);
	free(out);

	/* It ran with the installed library. */
	(void)snprintf(cmd, sizeof(cmd),
	    "LD_LIBRARY_PATH='%s/root%s' ldd '%s/example' | grep libkvclient",
	    x->tmp, KVD_LIBDIR, x->tmp);
	out = sh("ldd", cmd);
	if (strstr(out, x->tmp) == NULL)
		fail_msg("the example did not use the installed library: %s", out);
	free(out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(install_build_run, setup, teardown),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
