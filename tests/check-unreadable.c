/*
 * check-unreadable.c: kvd --check and --repair on a disk that fails to
 * read some pages.  A mapped page the disk cannot supply raises SIGBUS, so
 * the offline tools read every segment with pread() first; this test
 * compiles engine-check.c with that pread failing (EIO) for one page of
 * one file.  The check must name the file and offset and go on, seeing
 * the page as damage; the repair must keep every record outside it; a
 * hint that cannot be read is reported and set aside.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static ssize_t failing_pread(int, void *, size_t, off_t);
#define CHECK_TEST_PREAD	failing_pread
#include "daemon/engine-check.c"

#include <cmocka.h>

#include "tests/engine-util.h"

#define NKEYS	400
#define VLEN	100

/* The page that cannot be read: of the file with this inode. */
static ino_t	bad_ino;
static off_t	bad_off = -1;

static ssize_t
failing_pread(int fd, void *buf, size_t n, off_t off)
{
	struct stat st;

	if (bad_off >= 0 && fstat(fd, &st) == 0 && st.st_ino == bad_ino &&
	    off < bad_off + 4096 && off + (off_t)n > bad_off) {
		errno = EIO;
		return (-1);
	}
	return (pread(fd, buf, n, off));
}

static void
fail_page_of(const struct tenv *t, const char *name, off_t off)
{
	char p[1024];
	struct stat st;

	assert_int_equal(stat(tenv_path(t, name, p, sizeof(p)), &st), 0);
	bad_ino = st.st_ino;
	bad_off = off;
}

static void
kv(int i, char *k, char *v)
{
	snprintf(k, 16, "key%05d", i);
	memset(v, 'a' + i % 26, VLEN - 1);
	memcpy(v, k, 8);
	v[VLEN - 1] = '\0';
}

/* Several sealed segments with hints, then closed. */
static void
build(struct tenv *t)
{
	char k[16], v[VLEN];
	int i;

	tenv_init(t, ENGINE_SYNC_NEVER);
	t->cfg.segment_size = 16384;
	t->cfg.compact_ratio = 1.0;
	assert_int_equal(tenv_open(t), 0);
	for (i = 0; i < NKEYS; i++) {
		kv(i, k, v);
		tenv_put(t, k, v);
	}
	tenv_wait_idle(t);
	tenv_close(t);
}

static void
test_unreadable_page(void **state)
{
	struct tenv t;
	struct tlines l;
	char seg[64], k[16], v[VLEN], at[128];
	void *val;
	size_t vlen;
	uint64_t seq;
	int i, found = 0;

	(void)state;
	build(&t);
	segment_filename(seg, 1, SEGMENT_FILE_SEG);
	fail_page_of(&t, seg, 8192);

	memset(&l, 0, sizeof(l));
	assert_true(engine_check(t.dir, tlines_collect, &l) > 0);
	snprintf(at, sizeof(at), "%s: offset 8192: 4096 bytes cannot be read "
	    "(%s); taken as zeros", seg, strerror(EIO));
	assert_non_null(strstr(l.text, at));

	memset(&l, 0, sizeof(l));
	assert_int_equal(engine_repair(t.dir, tlines_collect, &l), 0);
	assert_non_null(strstr(l.text, "rewritten with"));

	/* The disk reads again: what the repair kept is whole and clean. */
	bad_off = -1;
	memset(&l, 0, sizeof(l));
	assert_int_equal(engine_check(t.dir, tlines_collect, &l), 0);
	assert_int_equal(tenv_open(&t), 0);
	for (i = 0; i < NKEYS; i++) {
		kv(i, k, v);
		if (engine_get(t.e, k, strlen(k), &val, &vlen, &seq) != 0)
			continue;
		assert_int_equal(vlen, strlen(v));
		assert_memory_equal(val, v, vlen);
		free(val);
		found++;
	}
	/* One page of 4096 bytes held at most 32 of these records. */
	assert_true(found >= NKEYS - 32);
	assert_true(found < NKEYS);
	tenv_done(&t);
}

static void
test_unreadable_hint(void **state)
{
	struct tenv t;
	struct tlines l;
	char hint[64], at[128];

	(void)state;
	build(&t);
	segment_filename(hint, 1, SEGMENT_FILE_HINT);
	fail_page_of(&t, hint, 0);

	memset(&l, 0, sizeof(l));
	assert_true(engine_check(t.dir, tlines_collect, &l) > 0);
	snprintf(at, sizeof(at), "%s: cannot be read: %s", hint,
	    strerror(EIO));
	assert_non_null(strstr(l.text, at));
	memset(&l, 0, sizeof(l));
	assert_int_equal(engine_repair(t.dir, tlines_collect, &l), 0);
	bad_off = -1;
	assert_int_equal(tenv_open(&t), 0);
	tenv_done(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unreadable_page),
		cmocka_unit_test(test_unreadable_hint),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
