/*
 * server-offline.c: kvd --check and --repair on a data directory: clean
 * after a normal run (exit 0), problems after bytes are flipped inside its
 * files (exit 1, one line per problem), clean again after --repair, and
 * kvd starts on the repaired directory.
 */
#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"
#include "wire.h"

#define NKEYS	2000

static int
offline(struct harness *h, const char *mode, char *out, size_t outlen)
{
	const char *argv[] = { harness_kvd(), mode, "-D", harness_data_dir(h),
	    NULL };
	int rc = harness_exec(argv, out, outlen);

	print_message("kvd %s: exit %d\n%s", mode, rc, out);
	return (rc);
}

static int
count_ok(void *arg, Kv__Response *r)
{
	assert_int_equal(r->status, KV__STATUS__OK);
	(*(size_t *)arg)++;
	return (0);
}

/* Flip one byte in the middle of every regular file bigger than a header. */
static size_t
damage_files(const char *dir)
{
	char path[PATH_MAX];
	struct dirent *de;
	struct stat st;
	size_t n = 0;
	uint8_t b;
	DIR *d;
	int fd;

	assert_non_null(d = opendir(dir));
	while ((de = readdir(d)) != NULL) {
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) ||
		    st.st_size < 4096)
			continue;
		assert_true((fd = open(path, O_RDWR)) >= 0);
		assert_int_equal(pread(fd, &b, 1, st.st_size / 2), 1);
		b ^= 0x5a;
		assert_int_equal(pwrite(fd, &b, 1, st.st_size / 2), 1);
		close(fd);
		n++;
	}
	closedir(d);
	return (n);
}

static void
check_and_repair(void **state)
{
	struct harness *h = *state;
	char out[16384], key[32], val[200];
	struct wire *w;
	size_t i, acked = 0;
	int klen;

	assert_int_equal(harness_start(h, NULL), 0);
	assert_non_null(w = wire_connect(harness_port(h)));
	memset(val, 'v', sizeof(val));
	for (i = 0; i < NKEYS; i++) {
		klen = snprintf(key, sizeof(key), "offline-%05zu", i);
		assert_int_equal(wire_put(w, i, key, (size_t)klen, val,
		    sizeof(val)), 0);
	}
	assert_int_equal(wire_exchange(w, NKEYS, count_ok, &acked,
	    WIRE_TIMEOUT_MS), 0);
	wire_free(w);
	assert_int_equal(harness_stop(h), 0);

	assert_int_equal(offline(h, "--check", out, sizeof(out)), 0);
	assert_true(damage_files(harness_data_dir(h)) >= 1);
	assert_int_equal(offline(h, "--check", out, sizeof(out)), 1);
	assert_int_equal(offline(h, "--repair", out, sizeof(out)), 0);
	assert_int_equal(offline(h, "--check", out, sizeof(out)), 0);
	/* The repaired directory opens and serves. */
	assert_int_equal(harness_start(h, NULL), 0);
	assert_int_equal(harness_stop(h), 0);
}

static void
check_of_missing_directory_fails(void **state)
{
	struct harness *h = *state;
	char out[4096], missing[PATH_MAX];
	const char *argv[] = { harness_kvd(), "--check", "-D", missing, NULL };

	snprintf(missing, sizeof(missing), "%s/absent", harness_dir(h));
	assert_int_equal(harness_exec(argv, out, sizeof(out)), 1);
	assert_non_null(strstr(out, "absent"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(check_and_repair, harness_setup,
		    harness_teardown_any),
		cmocka_unit_test_setup_teardown(check_of_missing_directory_fails,
		    harness_setup, harness_teardown_any),
	};

	return (cmocka_run_group_tests_name("server-offline", tests, NULL,
	    NULL));
}
