/*
 * engine-mapfault.c: a segment cut short behind a running engine's back
 * (or a page the disk can no longer read) costs the reads of the records
 * it held, not the process.  With the SIGBUS handler kvd installs, get,
 * get_many and iter answer ENGINE_EIO for a record on a lost page and
 * serve every other one; compaction and hint writing give up on that
 * segment with a message; the engine goes on taking writes.
 */
#include "config.h"

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "daemon/engine-int.h"
#include "daemon/segment.h"
#include "daemon/mapguard.h"
#include "tests/engine-util.h"

#define NKEYS	1200
#define VLEN	200
#define PAGE	4096

static void
kv(int i, char *k, char *v)
{
	snprintf(k, 16, "key%05d", i);
	memset(v, 'a' + i % 26, VLEN);
	memcpy(v, k, 8);
}

/* The lowest-numbered segment file: the oldest, sealed one. */
static void
oldest_seg(const struct tenv *t, char *name, size_t len)
{
	DIR *d;
	struct dirent *de;
	size_t n;

	name[0] = '\0';
	assert_non_null(d = opendir(t->dir));
	while ((de = readdir(d)) != NULL) {
		n = strlen(de->d_name);
		if (n < 5 || strcmp(de->d_name + n - 4, ".seg") != 0)
			continue;
		if (name[0] == '\0' || strcmp(de->d_name, name) < 0)
			snprintf(name, len, "%s", de->d_name);
	}
	closedir(d);
	assert_true(name[0] != '\0');
}

/* Fill segments of 64 KiB, all written and synced. */
static void
build(struct tenv *t)
{
	char k[16], v[VLEN];
	int i;

	t->cfg.segment_size = 64 * 1024;
	t->cfg.compact_ratio = 1.0;	/* compaction only when asked */
	assert_int_equal(tenv_open(t), 0);
	for (i = 0; i < NKEYS; i++) {
		kv(i, k, v);
		assert_int_equal(engine_put(t->e, k, strlen(k), v, VLEN, NULL),
		    0);
	}
	engine_flush(t->e);
	engine_sync(t->e);
	tenv_wait_idle(t);
}

/* build(), then cut the oldest sealed segment to one page under the engine. */
static void
build_and_cut(struct tenv *t)
{
	char name[64];

	build(t);
	oldest_seg(t, name, sizeof(name));
	assert_true(tenv_file_size(t, name) > 4 * PAGE);
	tenv_truncate(t, name, PAGE);
}

/* Every key reads back whole or fails with EIO; returns how many failed. */
static int
read_all(struct tenv *t)
{
	char k[16], v[VLEN];
	const void *val;
	size_t vlen;
	uint64_t seq;
	int i, r, lost = 0, last_lost = -1;

	for (i = 0; i < NKEYS; i++) {
		kv(i, k, v);
		r = engine_get_ref(t->e, k, strlen(k), &val, &vlen, &seq);
		if (r == ENGINE_EIO) {
			lost++;
			last_lost = i;
			continue;
		}
		assert_int_equal(r, 0);
		assert_int_equal(vlen, VLEN);
		assert_memory_equal(val, v, VLEN);
	}
	/* Keys were written in order: only the oldest segment's are lost. */
	assert_true(last_lost < NKEYS / 2);
	return (lost);
}

static void
test_get_fails_alone(void **state)
{
	struct tenv t;
	int lost;

	(void)state;
	/* After cmocka's own handlers, as kvd's main installs it. */
	assert_int_equal(mapguard_install(), 0);
	tenv_init(&t, ENGINE_SYNC_NEVER);
	build_and_cut(&t);
	lost = read_all(&t);
	assert_true(lost > 0);
	assert_true(tenv_log_has(&t, "record cannot be read"));
	/* Again: a lost page stays lost, and the handler stays armed. */
	assert_int_equal(read_all(&t), lost);
	/* The engine still takes writes and serves them. */
	tenv_put(&t, "after", "cut");
	assert_int_equal(tenv_get_eq(&t, "after", "cut"), 0);
	/* Opening again refuses the cut segment by name (kvd --check, --repair). */
	tenv_close(&t);
	assert_int_not_equal(tenv_open(&t), 0);
	assert_non_null(strstr(t.err, "0000000000000001.seg"));
	tenv_done(&t);
}

static int
count_cb(void *arg, const struct engine_entry *ent)
{
	(void)ent;
	(*(int *)arg)++;
	return (0);
}

static void
test_get_many_and_iter(void **state)
{
	struct tenv t;
	struct engine_read rd[6];
	char k0[16], k1[16], klast[16], v[VLEN], vlast[VLEN];
	uint64_t seq;
	int more, n = 0;
	size_t i;

	(void)state;
	assert_int_equal(mapguard_install(), 0);
	tenv_init(&t, ENGINE_SYNC_NEVER);
	build_and_cut(&t);
	/* Key 0 sits in the first page; the oldest segment's last key does not. */
	kv(0, k0, v);
	for (i = 1; i < NKEYS; i++) {
		const void *val;
		size_t vlen;

		kv((int)i, k1, v);
		if (engine_get_ref(t.e, k1, strlen(k1), &val, &vlen,
		    &seq) == ENGINE_EIO)
			break;
	}
	assert_true(i < NKEYS);
	/*
	 * One guard covers the run: after each fault the rest are still
	 * read, the lost ones refused and the others served.
	 */
	kv(NKEYS - 1, klast, vlast);
	memset(rd, 0, sizeof(rd));
	rd[0].key = k0;
	rd[0].klen = strlen(k0);
	rd[1].key = k1;
	rd[1].klen = strlen(k1);
	rd[2].key = "absent";
	rd[2].klen = 6;
	rd[3].key = klast;
	rd[3].klen = strlen(klast);
	rd[4].key = k1;
	rd[4].klen = strlen(k1);
	rd[5].key = k0;
	rd[5].klen = strlen(k0);
	assert_int_equal(engine_get_many(t.e, rd, 6), 0);
	assert_int_equal(rd[0].rc, 0);
	assert_int_equal(rd[1].rc, ENGINE_EIO);
	assert_null(rd[1].value);
	assert_int_equal(rd[2].rc, ENGINE_ENOTFOUND);
	assert_int_equal(rd[3].rc, 0);
	assert_int_equal(rd[3].vlen, VLEN);
	assert_memory_equal(rd[3].value, vlast, VLEN);
	assert_int_equal(rd[4].rc, ENGINE_EIO);
	assert_int_equal(rd[5].rc, 0);
	assert_int_equal(rd[5].vlen, VLEN);
	assert_memory_equal(rd[5].value, rd[0].value, VLEN);

	/* Values: the scan stops at the lost record; keys alone need no record. */
	assert_int_equal(engine_iter(t.e, NULL, 0, 0, NULL, 0, NULL, 0, 0, 0,
	    count_cb, &n, &more, &seq), ENGINE_EIO);
	n = 0;
	assert_int_equal(engine_iter(t.e, NULL, 0, 0, NULL, 0, NULL, 0, 0, 1,
	    count_cb, &n, &more, &seq), 0);
	assert_int_equal(n, NKEYS);
	tenv_done(&t);
}

/* Delete every even key, so that every sealed segment holds dead records. */
static void
delete_half(struct tenv *t)
{
	char k[16], v[VLEN];
	int i;

	for (i = 0; i < NKEYS; i += 2) {
		kv(i, k, v);
		assert_int_equal(engine_delete(t->e, k, strlen(k), NULL), 0);
	}
	engine_flush(t->e);
	engine_sync(t->e);
	tenv_wait_idle(t);
}

/*
 * A requested compaction fails with a message containing needle, and a
 * second request does not try that segment again.
 */
static void
compaction_fails_once(struct tenv *t, const char *needle)
{
	struct engine_stats st;
	uint64_t failures;

	assert_int_equal(engine_compact(t->e), 0);
	tenv_wait_idle(t);
	engine_stats(t->e, &st);
	assert_true(st.compact_failures >= 1);
	assert_int_equal(st.compact_pending, 0);
	assert_true(tenv_log_has(t, needle));
	failures = st.compact_failures;
	assert_int_equal(engine_compact(t->e), 0);
	tenv_wait_idle(t);
	engine_stats(t->e, &st);
	assert_int_equal(st.compact_failures, failures);
	assert_int_equal(st.compact_pending, 0);
}

static void
test_compaction_gives_up(void **state)
{
	struct tenv t;
	char k[16], v[VLEN];
	int i;

	(void)state;
	assert_int_equal(mapguard_install(), 0);
	tenv_init(&t, ENGINE_SYNC_NEVER);
	build_and_cut(&t);
	delete_half(&t);
	/* The segment is left alone from now on: no failing again and again. */
	compaction_fails_once(&t, "cannot be read");
	/* Deleted keys stay deleted; the rest reads as before the request. */
	for (i = 0; i < NKEYS; i++) {
		const void *val;
		size_t vlen;
		uint64_t seq;
		int r;

		kv(i, k, v);
		r = engine_get_ref(t.e, k, strlen(k), &val, &vlen, &seq);
		if (i % 2 == 0)
			assert_int_equal(r, ENGINE_ENOTFOUND);
		else if (r != ENGINE_EIO) {
			assert_int_equal(r, 0);
			assert_memory_equal(val, v, VLEN);
		}
	}
	tenv_put(&t, "after", "cut");
	assert_int_equal(tenv_get_eq(&t, "after", "cut"), 0);
	tenv_done(&t);
}

/* The input to cut once compaction has scanned it, and where its test is. */
static struct tenv	*cut_env;
static char		 cut_name[64];
static int		 cut_done;

static void
cut_after_scan(struct engine *e, const struct segment *in)
{
	(void)e;
	if (!cut_done && strcmp(in->name, cut_name) == 0) {
		tenv_truncate(cut_env, cut_name, PAGE);
		cut_done = 1;
	}
}

/*
 * A page lost between compaction's scan and its copies (the scan touched
 * it, then the file was cut): the copy faults under its guard, the run is
 * given up with a message, and the segment is not tried again.
 */
static void
test_compaction_copy_fault(void **state)
{
	struct tenv t;

	(void)state;
	assert_int_equal(mapguard_install(), 0);
	tenv_init(&t, ENGINE_SYNC_NEVER);
	build(&t);
	delete_half(&t);
	oldest_seg(&t, cut_name, sizeof(cut_name));
	cut_env = &t;
	cut_done = 0;
	t.e->compact_scanned = cut_after_scan;
	compaction_fails_once(&t, "page cannot be read");
	assert_true(cut_done);
	tenv_put(&t, "after", "cut");
	assert_int_equal(tenv_get_eq(&t, "after", "cut"), 0);
	t.e->compact_scanned = NULL;
	tenv_done(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get_fails_alone),
		cmocka_unit_test(test_get_many_and_iter),
		cmocka_unit_test(test_compaction_gives_up),
		cmocka_unit_test(test_compaction_copy_fault),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
