/*
 * engine-hint.c: a hint file that is stale, truncated, corrupt, has bytes
 * appended, or lies while carrying a valid checksum is refused with a
 * warning naming it; the segment is scanned instead, nothing is lost, and
 * a good hint is written again in the background.
 */
#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <xxhash.h>

#include "daemon/byteorder.h"
#include "daemon/engine-int.h"
#include "daemon/hint.h"
#include "daemon/segment.h"
#include "tests/engine-util.h"

#define NKEYS	150

static void
build(struct tenv *t)
{
	char k[16], v[32];
	int i;

	t->cfg.segment_size = 2048;
	t->cfg.compact_ratio = 1.0;
	assert_int_equal(tenv_open(t), 0);
	for (i = 0; i < NKEYS; i++) {
		snprintf(k, sizeof(k), "k%03d", i);
		snprintf(v, sizeof(v), "value %d", i);
		tenv_put(t, k, v);
	}
	/* A tombstone and an overwrite inside the hinted range. */
	assert_int_equal(engine_delete(t->e, "k001", 4, NULL), 0);
	tenv_put(t, "k002", "changed");
	for (i = 0; i < 40; i++) {
		snprintf(k, sizeof(k), "pad%02d", i);
		tenv_put(t, k, "padding padding");
	}
	tenv_wait_idle(t);
	tenv_close(t);
}

static void
check_data(struct tenv *t)
{
	char k[16], v[32];
	void *val;
	size_t vlen;
	uint64_t seq;
	int i;

	for (i = 0; i < NKEYS; i++) {
		snprintf(k, sizeof(k), "k%03d", i);
		if (i == 1) {
			assert_int_equal(engine_get(t->e, k, 4, &val, &vlen, &seq),
			    ENGINE_ENOTFOUND);
			continue;
		}
		if (i == 2)
			snprintf(v, sizeof(v), "changed");
		else
			snprintf(v, sizeof(v), "value %d", i);
		if (tenv_get_eq(t, k, v) != 0)
			fail_msg("%s lost or wrong", k);
	}
}

/* The first hint file's name. */
static void
first_hint(const struct tenv *t, char *name, size_t len)
{
	DIR *d;
	struct dirent *de;
	uint64_t id, best = UINT64_MAX;

	assert_non_null(d = opendir(t->dir));
	while ((de = readdir(d)) != NULL)
		if (segment_parse_name(de->d_name, &id) == SEGMENT_FILE_HINT &&
		    id < best)
			best = id;
	closedir(d);
	assert_true(best != UINT64_MAX);
	segment_filename(name, best, SEGMENT_FILE_HINT);
	(void)len;
}

static uint8_t *
slurp(const struct tenv *t, const char *name, size_t *len)
{
	char p[512];
	uint8_t *buf;
	long long n = tenv_file_size(t, name);
	int fd;

	assert_true(n > 0);
	assert_non_null(buf = malloc((size_t)n));
	assert_true((fd = open(tenv_path(t, name, p, sizeof(p)), O_RDONLY)) >= 0);
	assert_int_equal(read(fd, buf, (size_t)n), n);
	close(fd);
	*len = (size_t)n;
	return (buf);
}

static void
spit(const struct tenv *t, const char *name, const uint8_t *buf, size_t len)
{
	char p[512];
	int fd;

	assert_true((fd = open(tenv_path(t, name, p, sizeof(p)),
	    O_WRONLY | O_CREAT | O_TRUNC, 0644)) >= 0);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	close(fd);
}

/* Open, expect the hint refused for why, the data intact and the hint rebuilt. */
static void
expect_fallback(struct tenv *t, const char *hint, const char *why)
{
	char line[128];
	int r;

	if ((r = tenv_open(t)) != 0)
		fail_msg("open: %s: %s", engine_strerror(r), t->err);
	snprintf(line, sizeof(line), "%s: %s", hint, why);
	if (!tenv_log_has(t, line))
		fail_msg("no warning \"%s\" in:\n%s", line, t->log);
	assert_true(tenv_log_has(t, "scanning the segment instead"));
	check_data(t);
	tenv_wait_idle(t);
	tenv_reopen(t);
	assert_true(tenv_log_has(t, " 0 scanned"));
	check_data(t);
	tenv_close(t);
}

static void
test_bad_hints(void **state)
{
	struct tenv t, other;
	char tmpl[512], hint[64];
	uint8_t *orig, *buf;
	size_t len, cut;
	int variant;

	(void)state;
	tenv_init(&t, ENGINE_SYNC_NEVER);
	build(&t);
	snprintf(tmpl, sizeof(tmpl), "%s/template", t.root);
	tenv_copy_dir(t.dir, tmpl);
	first_hint(&t, hint, sizeof(hint));
	orig = slurp(&t, hint, &len);
	assert_non_null(buf = malloc(len + 100));

	for (variant = 0; variant < 8; variant++) {
		rmtree(t.dir);
		tenv_copy_dir(tmpl, t.dir);
		memcpy(buf, orig, len);
		switch (variant) {
		case 0:		/* truncated to nothing */
			spit(&t, hint, buf, 0);
			expect_fallback(&t, hint, "cannot map");
			break;
		case 1:		/* truncated inside the header */
			spit(&t, hint, buf, 10);
			expect_fallback(&t, hint, "shorter than a header");
			break;
		case 2:		/* truncated by one byte, and in the middle */
			for (cut = len / 2; cut < len; cut += len / 2 - 1) {
				rmtree(t.dir);
				tenv_copy_dir(tmpl, t.dir);
				spit(&t, hint, buf, cut);
				expect_fallback(&t, hint, "truncated");
			}
			break;
		case 3:		/* garbage appended */
			memcpy(buf + len, "garbage!", 8);
			spit(&t, hint, buf, len + 8);
			expect_fallback(&t, hint, "truncated or has bytes appended");
			break;
		case 4:		/* a flipped bit in an entry */
			buf[HINT_HEADER_SIZE + 5] ^= 0x10;
			spit(&t, hint, buf, len);
			expect_fallback(&t, hint, "checksum mismatch");
			break;
		case 5:		/* a flipped bit in the header */
			buf[20] ^= 0x01;
			spit(&t, hint, buf, len);
			expect_fallback(&t, hint, "checksum mismatch");
			break;
		case 6:		/* a valid checksum over an entry that lies */
			le32_put(buf + HINT_HEADER_SIZE + 8, 1u << 30);
			le64_put(buf + len - 16, XXH3_64bits(buf, len - 16));
			spit(&t, hint, buf, len);
			expect_fallback(&t, hint, "entry points outside its segment");
			break;
		default: {	/* stale: the same segment id from another run */
			uint8_t *ob;
			size_t olen;

			tenv_init(&other, ENGINE_SYNC_NEVER);
			build(&other);
			ob = slurp(&other, hint, &olen);
			spit(&t, hint, ob, olen);
			free(ob);
			tenv_done(&other);
			expect_fallback(&t, hint, "stale");
			break;
		}
		}
	}
	free(buf);
	free(orig);
	rmtree(tmpl);
	tenv_done(&t);
}

/* A hint whose segment is gone is removed; a missing hint is rebuilt. */
static void
test_orphan_and_missing(void **state)
{
	struct tenv t;
	char hint[64], p[512];

	(void)state;
	tenv_init(&t, ENGINE_SYNC_NEVER);
	build(&t);
	first_hint(&t, hint, sizeof(hint));
	assert_int_equal(unlink(tenv_path(&t, hint, p, sizeof(p))), 0);
	assert_int_equal(tenv_open(&t), 0);
	assert_true(tenv_log_has(&t, " 1 scanned"));
	check_data(&t);
	tenv_wait_idle(&t);
	assert_true(tenv_file_size(&t, hint) > 0);
	tenv_close(&t);
	spit(&t, "00000000ffffffff.hint", (const uint8_t *)"x", 1);
	assert_int_equal(tenv_open(&t), 0);
	assert_true(tenv_log_has(&t, "00000000ffffffff.hint: removed"));
	assert_int_equal(tenv_file_size(&t, "00000000ffffffff.hint"), -1);
	check_data(&t);
	tenv_done(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_hints),
		cmocka_unit_test(test_orphan_and_missing),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
