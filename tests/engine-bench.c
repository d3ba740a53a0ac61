/*
 * engine-bench.c: the storage engine's speed and memory, measured, not
 * asserted (make bench).
 *
 *	tests/engine-bench [KEYS]	(default 1000000, or $KVD_BENCH_KEYS)
 *
 * Loads KEYS keys of 16 bytes with 100-byte values in random order, then
 * prints puts/s under each sync policy, random gets/s, scan keys/s, index
 * memory per key, startup time with and without hint files, and compaction
 * MB/s.  One thread drives the engine, as kvd's loop does; for puts and
 * gets the CPU time of that thread is printed too, which other load on the
 * machine does not inflate.  The data
 * directory is a fresh temporary one under $TMPDIR (or /tmp), removed at
 * the end.
 */
#include "config.h"

#include <sys/resource.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon/engine-int.h"
#include "daemon/segment.h"
#include "rmtree.h"

#define KLEN	16
#define VLEN	100

struct bench {
	char			 root[256];
	char			 dir[320];
	struct engine_config	 cfg;
	struct engine		*e;
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;
	int			 notified;
};

static double
now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return ((double)t.tv_sec + (double)t.tv_nsec / 1e9);
}

/* CPU seconds of the calling thread: other processes on the machine do not count. */
static double
cpu(void)
{
	struct rusage r;

	getrusage(RUSAGE_THREAD, &r);
	return ((double)r.ru_utime.tv_sec + (double)r.ru_utime.tv_usec / 1e6 +
	    (double)r.ru_stime.tv_sec + (double)r.ru_stime.tv_usec / 1e6);
}

static uint64_t
mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return (x);
}

/* Key i: 16 bytes that look random, so the load order is random too. */
static void
key_of(uint64_t i, uint8_t *k)
{
	uint64_t a = mix(i + 1), b = mix(a ^ 0x5bd1e995);

	memcpy(k, &a, 8);
	memcpy(k + 8, &b, 8);
}

static long
rss_anon_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kb = -1;

	if (f == NULL)
		return (-1);
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "RssAnon: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return (kb);
}

static void
on_notify(void *arg)
{
	struct bench *b = arg;

	pthread_mutex_lock(&b->mu);
	b->notified = 1;
	pthread_cond_signal(&b->cv);
	pthread_mutex_unlock(&b->mu);
}

static void
on_log(void *arg, enum engine_log_level level, const char *msg)
{
	(void)arg;
	if (level <= ENGINE_LOG_WARN || getenv("KVD_BENCH_VERBOSE") != NULL)
		fprintf(stderr, "engine: %s\n", msg);
}

/* Play the owner: wait for a notify (or 1 ms), then engine_service(). */
static void
serve(struct bench *b)
{
	struct timespec dl;

	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_nsec += 1000000;
	if (dl.tv_nsec >= 1000000000) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&b->mu);
	if (!b->notified)
		pthread_cond_timedwait(&b->cv, &b->mu, &dl);
	b->notified = 0;
	pthread_mutex_unlock(&b->mu);
	engine_service(b->e);
}

static void
wait_durable(struct bench *b, uint64_t seq)
{
	while (engine_durable_seq(b->e) < seq) {
		if (engine_readonly_reason(b->e) != NULL) {
			fprintf(stderr, "engine-bench: %s\n",
			    engine_readonly_reason(b->e));
			exit(1);
		}
		serve(b);
	}
}

static void
wait_idle(struct bench *b)
{
	engine_service(b->e);
	while (!engine_idle(b->e))
		serve(b);
	engine_service(b->e);
}

static void
bench_open(struct bench *b, enum engine_sync sync)
{
	char err[512];
	int r;

	b->cfg.sync = sync;
	if ((r = engine_open(&b->cfg, &b->e, err, sizeof(err))) != 0) {
		fprintf(stderr, "engine-bench: %s\n", err);
		exit(1);
	}
}

static void
remove_hints(const char *dir)
{
	DIR *d;
	struct dirent *de;
	char p[1024];
	uint64_t id;

	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL)
		if (segment_parse_name(de->d_name, &id) == SEGMENT_FILE_HINT) {
			snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
			unlink(p);
		}
	closedir(d);
}

/* Put keys [from, to) with values; returns the last seq. */
static uint64_t
load(struct bench *b, uint64_t from, uint64_t to, uint8_t tag)
{
	uint8_t k[KLEN], v[VLEN];
	uint64_t i, seq = 0;
	int r;

	memset(v, tag, sizeof(v));
	for (i = from; i < to; i++) {
		key_of(i, k);
		memcpy(v, &i, sizeof(i));
		if ((r = engine_put(b->e, k, KLEN, v, VLEN, &seq)) != 0) {
			fprintf(stderr, "engine-bench: put: %s\n",
			    engine_strerror(r));
			exit(1);
		}
		/*
		 * kvd hands over a loop pass's writes and serves the engine
		 * between batches of requests; 1024 puts stand for one pass.
		 */
		if ((i & 1023) == 1023) {
			engine_flush(b->e);
			engine_service(b->e);
		}
	}
	engine_flush(b->e);
	return (seq);
}

static int
scan_cb(void *arg, const struct engine_entry *ent)
{
	uint64_t *sum = arg;

	*sum += ent->klen + ent->vlen;
	return (0);
}

static void
policy_puts(struct bench *b, enum engine_sync sync, const char *name,
    uint64_t n)
{
	struct engine_stats st;
	uint64_t seq, i;
	uint8_t k[KLEN], v[VLEN];
	double t0, t1, t2;
	int sample = 2000;

	rmtree(b->dir);
	bench_open(b, sync);
	t0 = now();
	seq = load(b, 0, n, 'p');
	t1 = now();
	wait_durable(b, seq);
	t2 = now();
	engine_stats(b->e, &st);
	printf("puts/s, %-8s pipelined: %10.0f  (%" PRIu64 " puts; all "
	    "durable after %.2f s; %" PRIu64 " fdatasyncs, p50 %" PRIu64
	    " us, p99 %" PRIu64 " us)\n", name, (double)n / (t1 - t0), n,
	    t2 - t0, st.fsyncs, st.fsync_p50_us, st.fsync_p99_us);
	/* One client that waits for each reply: latency, not throughput. */
	memset(v, 'q', sizeof(v));
	t0 = now();
	for (i = 0; i < (uint64_t)sample; i++) {
		key_of(n + i, k);
		if (engine_put(b->e, k, KLEN, v, VLEN, &seq) != 0)
			exit(1);
		engine_flush(b->e);
		wait_durable(b, seq);
	}
	t1 = now();
	printf("puts/s, %-8s one by one: %9.0f  (%.1f us per durable put)\n",
	    name, sample / (t1 - t0), (t1 - t0) / sample * 1e6);
	engine_close(b->e);
	b->e = NULL;
}

int
main(int argc, char **argv)
{
	struct bench b;
	struct engine_stats st;
	const char *tmp = getenv("TMPDIR"), *s;
	uint64_t n = 1000000, i, seq, sum, dead_before, mb_in;
	uint8_t k[KLEN];
	const void *val;
	size_t vlen;
	long rss0, rss1;
	double t0, t1, c0, c1;
	int more, hit;

	if ((s = getenv("KVD_BENCH_KEYS")) != NULL)
		n = strtoull(s, NULL, 0);
	if (argc > 1)
		n = strtoull(argv[1], NULL, 0);
	if (n < 1000) {
		fprintf(stderr, "usage: engine-bench [KEYS >= 1000]\n");
		return (2);
	}
	memset(&b, 0, sizeof(b));
	snprintf(b.root, sizeof(b.root), "%s/kvd-bench-XXXXXX",
	    tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
	if (mkdtemp(b.root) == NULL) {
		fprintf(stderr, "engine-bench: mkdtemp %s: %s\n", b.root,
		    strerror(errno));
		return (1);
	}
	snprintf(b.dir, sizeof(b.dir), "%s/data", b.root);
	pthread_mutex_init(&b.mu, NULL);
	pthread_cond_init(&b.cv, NULL);
	b.cfg.dir = b.dir;
	b.cfg.preallocate = 1;
	b.cfg.compact_ratio = 1.0;	/* compaction only when measured */
	b.cfg.owner_flushes = 1;	/* as kvd runs it */
	b.cfg.notify = on_notify;
	b.cfg.notify_arg = &b;
	b.cfg.log = on_log;
	b.cfg.log_arg = &b;
	printf("engine-bench: %" PRIu64 " keys of %d bytes, values of %d "
	    "bytes, 64 MiB segments, preallocated, in %s\n", n, KLEN, VLEN,
	    b.dir);

	/* The main load, under "never": puts/s and index memory. */
	rss0 = rss_anon_kb();
	bench_open(&b, ENGINE_SYNC_NEVER);
	t0 = now();
	c0 = cpu();
	seq = load(&b, 0, n, 'v');
	t1 = now();
	c1 = cpu();
	wait_durable(&b, seq);
	printf("puts/s, never    pipelined: %10.0f  (%" PRIu64 " puts in "
	    "%.2f s; %.0f ns of CPU each on the calling thread: %.0f/s per "
	    "core)\n", (double)n / (t1 - t0), n, t1 - t0, (c1 - c0) / n * 1e9,
	    n / (c1 - c0));
	/* Once the hint files are written, what remains is the index. */
	t0 = now();
	wait_idle(&b);
	t1 = now();
	rss1 = rss_anon_kb();
	engine_stats(b.e, &st);
	printf("hint files written in the background in %.2f s after the load\n",
	    t1 - t0);
	printf("index memory: %.1f bytes/key of anonymous RSS growth, %.1f "
	    "beyond the key bytes (the tree's own count: %.1f bytes/key)\n",
	    (double)(rss1 - rss0) * 1024 / (double)n,
	    (double)(rss1 - rss0) * 1024 / (double)n - KLEN,
	    (double)st.index_bytes / (double)n);

	/* Random gets; the segments are in the page cache after the load. */
	t0 = now();
	c0 = cpu();
	for (i = 0, hit = 0; i < n; i++) {
		key_of(mix(i) % n, k);
		/* Without the copy, as kvd serves a get. */
		if (engine_get_ref(b.e, k, KLEN, &val, &vlen, &seq) == 0)
			hit++;
	}
	t1 = now();
	c1 = cpu();
	printf("random gets/s, one by one:  %10.0f  (%d of %" PRIu64 " found; "
	    "%.0f ns of CPU each: %.0f/s per core)\n", (double)n / (t1 - t0),
	    hit, n, (c1 - c0) / n * 1e9, n / (c1 - c0));

	/* As kvd serves a run of gets from a pipelined client. */
	t0 = now();
	c0 = cpu();
	for (i = 0, hit = 0; i < n; i += ENGINE_GET_MANY_MAX) {
		uint8_t kb[ENGINE_GET_MANY_MAX][KLEN];
		struct engine_read rd[ENGINE_GET_MANY_MAX];
		size_t j, m = n - i < ENGINE_GET_MANY_MAX ? (size_t)(n - i) :
		    ENGINE_GET_MANY_MAX;

		for (j = 0; j < m; j++) {
			key_of(mix(i + j) % n, kb[j]);
			rd[j].key = kb[j];
			rd[j].klen = KLEN;
		}
		if (engine_get_many(b.e, rd, m) != 0)
			return (1);
		for (j = 0; j < m; j++)
			hit += rd[j].rc == 0;
	}
	t1 = now();
	c1 = cpu();
	printf("random gets/s, %d at once: %9.0f  (%d of %" PRIu64 " found; "
	    "%.0f ns of CPU each: %.0f/s per core)\n", ENGINE_GET_MANY_MAX,
	    (double)n / (t1 - t0), hit, n, (c1 - c0) / n * 1e9, n / (c1 - c0));

	t0 = now();
	sum = 0;
	if (engine_iter(b.e, NULL, 0, 0, NULL, 0, NULL, 0, 0, 0, scan_cb, &sum,
	    &more, &seq) != 0)
		return (1);
	t1 = now();
	printf("scan keys/s (with values):  %10.0f\n", (double)n / (t1 - t0));
	t0 = now();
	if (engine_iter(b.e, NULL, 0, 0, NULL, 0, NULL, 0, 0, 1, scan_cb, &sum,
	    &more, &seq) != 0)
		return (1);
	t1 = now();
	printf("scan keys/s (keys only):    %10.0f\n", (double)n / (t1 - t0));

	/* Startup: hints for every sealed segment, then none. */
	wait_idle(&b);
	engine_close(b.e);
	t0 = now();
	bench_open(&b, ENGINE_SYNC_NEVER);
	t1 = now();
	printf("startup with hints:    %6.2f s  (%10.0f keys/s)\n", t1 - t0,
	    (double)n / (t1 - t0));
	engine_close(b.e);
	remove_hints(b.dir);
	t0 = now();
	bench_open(&b, ENGINE_SYNC_NEVER);
	t1 = now();
	printf("startup without hints: %6.2f s  (%10.0f keys/s)\n", t1 - t0,
	    (double)n / (t1 - t0));

	/* Compaction: overwrite every second key, then compact on demand. */
	wait_idle(&b);
	for (i = 0, seq = 0; i < n; i += 2)
		seq = load(&b, i, i + 1, 'w');
	wait_durable(&b, seq);
	wait_idle(&b);
	mb_in = dead_before = 0;
	for (i = 0; i < b.e->segs.n; i++) {
		struct segment *sg = b.e->segs.v[i];

		if (sg != b.e->active && sg->total > sg->live) {
			mb_in += sg->total;
			dead_before += sg->total - sg->live;
		}
	}
	t0 = now();
	if (engine_compact(b.e) != 0)
		return (1);
	wait_idle(&b);
	t1 = now();
	engine_stats(b.e, &st);
	printf("compaction: %.0f MB of segments (%.0f MB of them dead) "
	    "rewritten in %.2f s: %.0f MB/s (%" PRIu64 " runs)\n",
	    (double)mb_in / 1e6, (double)dead_before / 1e6, t1 - t0,
	    (double)mb_in / 1e6 / (t1 - t0), st.compactions);
	engine_close(b.e);
	b.e = NULL;

	/* The other policies, on a fresh directory each. */
	policy_puts(&b, ENGINE_SYNC_ALWAYS, "always", n < 1000000 ? n : 1000000);
	policy_puts(&b, ENGINE_SYNC_EVERYSEC, "everysec",
	    n < 1000000 ? n : 1000000);
	policy_puts(&b, ENGINE_SYNC_NEVER, "never", n < 1000000 ? n : 1000000);
	rmtree(b.root);
	return (0);
}
