/*
 * engine.c: the storage engine's public operations.  See engine.h; the
 * insides are described in engine-int.h.
 */
#include "config.h"

#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon/btree.h"
#include "daemon/compact.h"
#include "daemon/engine-int.h"
#include "daemon/fileio.h"
#include "daemon/mapguard.h"
#include "daemon/record.h"
#include "daemon/recover.h"
#include "daemon/segment.h"
#include "daemon/spare.h"
#include "daemon/syncer.h"

const char *
engine_strerror(int err)
{
	switch (err) {
	case ENGINE_OK:
		return ("success");
	case ENGINE_ENOTFOUND:
		return ("no such key");
	case ENGINE_EINVAL:
		return ("invalid argument");
	case ENGINE_ETOOLARGE:
		return ("key or value too large");
	case ENGINE_EREADONLY:
		return ("engine is read-only after a write or sync failure");
	case ENGINE_ECORRUPT:
		return ("data failed its checksum");
	case ENGINE_EIO:
		return ("I/O error");
	case ENGINE_ENOMEM:
		return ("out of memory");
	case ENGINE_ELOCKED:
		return ("data directory in use by another process");
	default:
		return ("unknown engine error");
	}
}

void
engine_log(struct engine *e, enum engine_log_level level, const char *fmt,
    ...)
{
	char msg[LOGQ_LEN];
	va_list ap;

	if (e->cfg.log == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	e->cfg.log(e->cfg.log_arg, level, msg);
}

void
engine_notify(struct engine *e)
{
	if (e->cfg.notify != NULL)
		e->cfg.notify(e->cfg.notify_arg);
}

void
engine_report(void *arg, enum engine_log_level level, const char *msg)
{
	struct engine *e = arg;

	/* The owner's log callback runs on the owner's thread only. */
	pthread_mutex_lock(&e->logmu);
	if (e->logq_n < LOGQ_MAX) {
		e->logq[e->logq_n].level = level;
		snprintf(e->logq[e->logq_n].text, LOGQ_LEN, "%s", msg);
		e->logq_n++;
	} else
		e->logq_dropped++;
	pthread_mutex_unlock(&e->logmu);
	engine_notify(e);
}

static void
drain_log(struct engine *e)
{
	struct logq_msg q[LOGQ_MAX];
	size_t n, i;
	uint64_t dropped;

	pthread_mutex_lock(&e->logmu);
	n = e->logq_n;
	memcpy(q, e->logq, n * sizeof(q[0]));
	dropped = e->logq_dropped;
	e->logq_n = 0;
	e->logq_dropped = 0;
	pthread_mutex_unlock(&e->logmu);
	for (i = 0; i < n; i++)
		engine_log(e, q[i].level, "%s", q[i].text);
	if (dropped > 0)
		engine_log(e, ENGINE_LOG_WARN, "%" PRIu64 " engine messages "
		    "dropped (queue full)", dropped);
}

static int
check_config(const struct engine_config *cfg, char *err, size_t errlen)
{
	if (cfg->dir == NULL || cfg->dir[0] == '\0') {
		snprintf(err, errlen, "engine: no data directory given");
		return (-1);
	}
	if (cfg->sync != ENGINE_SYNC_ALWAYS && cfg->sync != ENGINE_SYNC_EVERYSEC &&
	    cfg->sync != ENGINE_SYNC_NEVER) {
		snprintf(err, errlen, "engine: unknown sync policy %d",
		    (int)cfg->sync);
		return (-1);
	}
	if (cfg->segment_size != 0 && (cfg->segment_size < ENGINE_MIN_SEGMENT ||
	    cfg->segment_size > ENGINE_MAX_SEGMENT)) {
		snprintf(err, errlen, "engine: segment size %" PRIu64 " outside "
		    "%llu..%llu bytes", cfg->segment_size,
		    (unsigned long long)ENGINE_MIN_SEGMENT,
		    (unsigned long long)ENGINE_MAX_SEGMENT);
		return (-1);
	}
	if (cfg->max_key > RECORD_KEY_MAX) {
		snprintf(err, errlen, "engine: max key %" PRIu32 " above the "
		    "format's limit of %u bytes", cfg->max_key, RECORD_KEY_MAX);
		return (-1);
	}
	if (cfg->max_value > RECORD_VALUE_MAX) {
		snprintf(err, errlen, "engine: max value %" PRIu32 " above the "
		    "format's limit of %u bytes", cfg->max_value,
		    RECORD_VALUE_MAX);
		return (-1);
	}
	if (cfg->compact_ratio < 0 || cfg->compact_ratio > 1) {
		snprintf(err, errlen, "engine: compact ratio %g outside 0..1",
		    cfg->compact_ratio);
		return (-1);
	}
	return (0);
}

static int
lock_dir(struct engine *e, char *err, size_t errlen)
{
	char pid[32];
	int n;

	if ((e->lockfd = openat(e->dirfd, ENGINE_LOCK_FILE,
	    O_RDWR | O_CREAT | O_CLOEXEC, 0644)) < 0) {
		snprintf(err, errlen, "%s/%s: %s", e->dir, ENGINE_LOCK_FILE,
		    strerror(errno));
		return (ENGINE_EIO);
	}
	if (flock(e->lockfd, LOCK_EX | LOCK_NB) != 0) {
		if (errno == EWOULDBLOCK) {
			snprintf(err, errlen, "%s: data directory in use by "
			    "another process (it holds the lock on %s/%s)",
			    e->dir, e->dir, ENGINE_LOCK_FILE);
			return (ENGINE_ELOCKED);
		}
		snprintf(err, errlen, "%s/%s: flock: %s", e->dir,
		    ENGINE_LOCK_FILE, strerror(errno));
		return (ENGINE_EIO);
	}
	/* The pid is for the operator's eyes only; the lock is the flock. */
	n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(e->lockfd, 0) != 0 ||
	    pwrite(e->lockfd, pid, (size_t)n, 0) != n)
		engine_log(e, ENGINE_LOG_WARN, "%s/%s: cannot record pid: %s",
		    e->dir, ENGINE_LOCK_FILE, strerror(errno));
	return (0);
}

static void
engine_free(struct engine *e)
{
	segtab_free(&e->segs);
	btree_free(e->index);
	if (e->lockfd >= 0)
		close(e->lockfd);	/* releases the flock */
	if (e->dirfd >= 0)
		close(e->dirfd);
	pthread_mutex_destroy(&e->ilock);
	pthread_mutex_destroy(&e->logmu);
	free(e->rbuf);
	free(e->dir);
	free(e);
}

int
engine_open_io(const struct engine_config *cfg, const struct fileio *io,
    struct engine **out, char *err, size_t errlen)
{
	struct engine *e;
	struct syncer_config sc;
	int r;

	*out = NULL;
	if (check_config(cfg, err, errlen) != 0)
		return (ENGINE_EINVAL);
	if ((e = calloc(1, sizeof(*e))) == NULL ||
	    (e->dir = strdup(cfg->dir)) == NULL) {
		free(e);
		snprintf(err, errlen, "%s: out of memory", cfg->dir);
		return (ENGINE_ENOMEM);
	}
	e->cfg = *cfg;
	e->cfg.dir = e->dir;
	e->io = io != NULL ? io : fileio_posix();
	e->dirfd = e->lockfd = -1;
	e->max_key = cfg->max_key ? cfg->max_key : ENGINE_DEFAULT_KEY;
	e->max_value = cfg->max_value ? cfg->max_value : ENGINE_DEFAULT_VALUE;
	e->segment_size = cfg->segment_size ? cfg->segment_size :
	    ENGINE_DEFAULT_SEGMENT;
	e->side_by_side_min = GET_MANY_SIDE_BY_SIDE;
	e->ratio = cfg->compact_ratio > 0 ? cfg->compact_ratio :
	    ENGINE_DEFAULT_RATIO;
	atomic_init(&e->last_delete_seq, 0);
	pthread_mutex_init(&e->ilock, NULL);
	pthread_mutex_init(&e->logmu, NULL);

	if (mkdir(e->dir, 0755) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s: cannot create data directory: %s",
		    e->dir, strerror(errno));
		r = ENGINE_EIO;
		goto err;
	}
	if ((e->dirfd = open(e->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "%s: cannot open data directory: %s",
		    e->dir, strerror(errno));
		r = ENGINE_EIO;
		goto err;
	}
	if ((r = lock_dir(e, err, errlen)) != 0)
		goto err;
	if ((r = recover_dir(e, err, errlen)) != 0)
		goto err;

	memset(&sc, 0, sizeof(sc));
	sc.policy = cfg->sync;
	sc.dirfd = e->dirfd;
	sc.io = e->io;
	sc.notify = cfg->notify;
	sc.notify_arg = cfg->notify_arg;
	sc.report = engine_report;
	sc.report_arg = e;
	sc.owner_writes = cfg->owner_flushes;
	if ((e->syncer = syncer_start(&sc, e->last_seq)) == NULL) {
		snprintf(err, errlen, "%s: cannot start the sync thread", e->dir);
		r = ENGINE_ENOMEM;
		goto err;
	}
	if ((e->compactor = compactor_start(e)) == NULL) {
		snprintf(err, errlen, "%s: cannot start the compaction thread",
		    e->dir);
		r = ENGINE_ENOMEM;
		goto err;
	}
	/* Only "always" syncs often enough for the spare to pay for its zeros. */
	if (cfg->preallocate && cfg->sync == ENGINE_SYNC_ALWAYS &&
	    (e->spare = spare_start(e->dirfd,
	    e->segment_size, engine_report, e)) == NULL)
		engine_log(e, ENGINE_LOG_WARN, "%s: cannot start the thread that "
		    "prepares segments; they are fallocated instead", e->dir);
	engine_log(e, ENGINE_LOG_INFO, "%s: opened: %zu keys in %zu segments, "
	    "last sequence number %" PRIu64, e->dir, btree_count(e->index),
	    e->segs.n, e->last_seq);
	compactor_schedule(e);
	*out = e;
	return (0);
err:
	syncer_stop(e->syncer);
	engine_free(e);
	return (r);
}

int
engine_open(const struct engine_config *cfg, struct engine **out, char *err,
    size_t errlen)
{
	return (engine_open_io(cfg, NULL, out, err, errlen));
}

void
engine_close(struct engine *e)
{
	struct segment *s;

	if (e == NULL)
		return;
	spare_stop(e->spare);
	e->spare = NULL;
	compactor_stop(e);
	syncer_stop(e->syncer);
	s = e->active;
	if (s != NULL && s->preallocated &&
	    atomic_load(&s->written) == s->end) {
		/* A clean shutdown leaves no preallocated tail behind. */
		if (e->io->ftruncate(e->io->arg, s->fd, (off_t)s->end) != 0 ||
		    e->io->fdatasync(e->io->arg, s->fd) != 0)
			engine_log(e, ENGINE_LOG_WARN, "%s: trimming the "
			    "preallocated tail: %s", s->name, strerror(errno));
	}
	drain_log(e);
	engine_free(e);
}

/* ---- appending ---- */

/*
 * The prepared spare as segment id (see spare.h), or NULL when none is
 * ready or it cannot be used: the caller then creates one the usual way.
 */
static struct segment *
adopt_spare(struct engine *e, const char *name, uint64_t id, uint64_t cap)
{
	struct segment *s;
	char err[256];
	int fd, r;

	if ((r = spare_take(e->spare, name, &fd)) == 0)
		return (NULL);
	if (r < 0) {
		engine_log(e, ENGINE_LOG_WARN, "%s: renaming the spare segment "
		    "file: %s", name, strerror(errno));
		return (NULL);
	}
	if (segment_adopt(e->io, fd, name, id, cap, &s, err, sizeof(err)) != 0) {
		engine_log(e, ENGINE_LOG_WARN, "%s", err);
		close(fd);
		(void)e->io->unlinkat(e->io->arg, e->dirfd, name);
		return (NULL);
	}
	return (s);
}

/* Make the active segment able to take rs more bytes, rotating if needed. */
static int
make_room(struct engine *e, uint64_t rs)
{
	struct segment *s = e->active;
	char err[256], name[SEGMENT_NAME_MAX];
	uint64_t cap, id;

	if (s != NULL && s->end + rs <= s->cap)
		return (0);
	if (s != NULL && s->end == s->hdr_len) {
		/* An empty segment grows to hold one record larger than it. */
		cap = s->end + rs;
		if ((s->preallocated && e->io->fallocate(e->io->arg, s->fd,
		    (off_t)cap) != 0) ||
		    segment_remap(s, (size_t)cap, err, sizeof(err)) != 0) {
			if (s->map == NULL)
				snprintf(err, sizeof(err), "%s: growing to %"
				    PRIu64 " bytes: %s", s->name, cap,
				    strerror(errno));
			syncer_fail(e->syncer, err);
			return (ENGINE_EIO);
		}
		s->cap = cap;
		return (0);
	}
	if (s != NULL) {
		if (syncer_seal(e->syncer, s) != 0)
			return (ENGINE_ENOMEM);
		s->active = 0;
		s->cap = s->end;
		e->active = NULL;
	}
	id = e->next_id;
	if (id > UINT32_MAX) {
		syncer_fail(e->syncer, "segment ids exhausted: compact and "
		    "restart");
		return (ENGINE_EREADONLY);
	}
	segment_filename(name, id, SEGMENT_FILE_SEG);
	cap = segment_header_size(0) + rs;
	if (cap < e->segment_size)
		cap = e->segment_size;
	s = NULL;
	if (e->spare != NULL && cap == e->segment_size)
		s = adopt_spare(e, name, id, cap);
	if (s == NULL && segment_create(e->dirfd, e->io, name, id, 0, NULL, 0,
	    cap, e->cfg.preallocate, &s, err, sizeof(err)) != 0) {
		syncer_fail(e->syncer, err);
		return (ENGINE_EIO);
	}
	if (segtab_add(&e->segs, s) != 0) {
		(void)e->io->unlinkat(e->io->arg, e->dirfd, name);
		segment_free(s);
		return (ENGINE_ENOMEM);
	}
	e->next_id++;
	s->active = 1;
	e->active = s;
	return (0);
}

static void
account_dead(struct engine *e, const struct btree_loc *old, size_t klen)
{
	struct segment *s = segtab_find(&e->segs, old->seg);

	if (s != NULL)
		s->live -= record_size(klen, old->vlen);
}

static void
account_append(struct segment *s, uint64_t rs, uint64_t seq)
{
	s->end += rs;
	s->total += rs;
	if (s->min_seq == 0)
		s->min_seq = seq;
	s->max_seq = seq;
}

int
engine_put(struct engine *e, const void *key, size_t klen, const void *value,
    size_t vlen, uint64_t *seq)
{
	struct btree_loc loc, old;
	struct segment *s;
	uint64_t rs, nseq;
	uint8_t *buf;
	int r, had;

	if (key == NULL || klen == 0 || (value == NULL && vlen > 0))
		return (ENGINE_EINVAL);
	if (klen > e->max_key || vlen > e->max_value)
		return (ENGINE_ETOOLARGE);
	if (syncer_failed(e->syncer) != NULL)
		return (ENGINE_EREADONLY);
	rs = record_size(klen, vlen);
	if ((r = make_room(e, rs)) != 0)
		return (r);
	s = e->active;
	nseq = e->last_seq + 1;
	loc.seg = (uint32_t)s->id;
	loc.off = (uint32_t)s->end;
	loc.vlen = (uint32_t)vlen;
	loc.seq = nseq;
	/* Index first: it is the step that can fail without leaving a trace. */
	pthread_mutex_lock(&e->ilock);
	had = btree_put(e->index, key, klen, &loc, &old);
	pthread_mutex_unlock(&e->ilock);
	if (had < 0)
		return (ENGINE_ENOMEM);
	if ((buf = syncer_reserve(e->syncer, s, s->end, (size_t)rs)) == NULL) {
		pthread_mutex_lock(&e->ilock);
		if (had)
			(void)btree_put(e->index, key, klen, &old, NULL);
		else
			(void)btree_delete(e->index, key, klen, NULL);
		pthread_mutex_unlock(&e->ilock);
		return (ENGINE_ENOMEM);
	}
	record_encode(buf, RECORD_PUT, nseq, key, (uint32_t)klen, value,
	    (uint32_t)vlen);
	syncer_commit(e->syncer, nseq);
	e->last_seq = nseq;
	account_append(s, rs, nseq);
	s->live += rs;
	if (had)
		account_dead(e, &old, klen);
	if (seq != NULL)
		*seq = nseq;
	return (0);
}

int
engine_delete(struct engine *e, const void *key, size_t klen, uint64_t *seq)
{
	struct btree_loc old;
	struct segment *s;
	uint64_t rs, nseq;
	uint8_t *buf;
	int r;

	if (key == NULL || klen == 0)
		return (ENGINE_EINVAL);
	if (klen > e->max_key)
		return (ENGINE_ETOOLARGE);
	if (syncer_failed(e->syncer) != NULL)
		return (ENGINE_EREADONLY);
	if (btree_get(e->index, key, klen, &old) != 0) {
		/* The absence may rest on a delete not yet durable. */
		if (seq != NULL)
			*seq = atomic_load(&e->last_delete_seq);
		return (ENGINE_ENOTFOUND);
	}
	rs = record_size(klen, 0);
	if ((r = make_room(e, rs)) != 0)
		return (r);
	s = e->active;
	nseq = e->last_seq + 1;
	if ((buf = syncer_reserve(e->syncer, s, s->end, (size_t)rs)) == NULL)
		return (ENGINE_ENOMEM);
	record_encode(buf, RECORD_DELETE, nseq, key, (uint32_t)klen, NULL, 0);
	syncer_commit(e->syncer, nseq);
	pthread_mutex_lock(&e->ilock);
	(void)btree_delete(e->index, key, klen, &old);
	atomic_store(&e->last_delete_seq, nseq);
	pthread_mutex_unlock(&e->ilock);
	e->last_seq = nseq;
	account_append(s, rs, nseq);
	s->tomb += rs;
	account_dead(e, &old, klen);
	if (seq != NULL)
		*seq = nseq;
	return (0);
}

/* ---- reading ---- */

/* Whether the record loc points at in s can be read through the mapping. */
static int
in_map(const struct segment *s, const struct btree_loc *loc, uint64_t rs)
{
	return (loc->off + rs <= atomic_load_explicit(&s->written,
	    memory_order_acquire) && loc->off + rs <= s->maplen);
}

/*
 * A client that keeps asking for a damaged record gets an error every
 * time, and the operator needs to hear of it, but not once per request:
 * READ_ERRORS_LOGGED a second, then one line saying the rest are not.
 * Each is still counted in the stats (errors_get, errors_iter).
 */
#define READ_ERRORS_LOGGED	10

static void read_error(struct engine *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static void
read_error(struct engine *e, const char *fmt, ...)
{
	struct timespec now;
	char msg[LOGQ_LEN];
	va_list ap;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (now.tv_sec != e->rerr_sec) {
		e->rerr_sec = now.tv_sec;
		e->rerr_logged = 0;
	}
	if (e->rerr_logged > READ_ERRORS_LOGGED)
		return;
	if (e->rerr_logged++ == READ_ERRORS_LOGGED) {
		engine_log(e, ENGINE_LOG_ERROR, "more than %d read errors "
		    "this second; the rest are not logged", READ_ERRORS_LOGGED);
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	engine_log(e, ENGINE_LOG_ERROR, "%s", msg);
}

/*
 * Where the record loc points at (in s) is: in the segment's mapping, or
 * copied into buf (which holds its size) when it is not in the file yet.
 * Touches no mapped byte.
 */
static int
record_locate(struct engine *e, struct segment *s, const struct btree_loc *loc,
    uint64_t rs, uint8_t *buf, const uint8_t **rec)
{
	int r;

	if (in_map(s, loc, rs)) {
		*rec = s->map + loc->off;
		return (0);
	}
	r = syncer_read(e->syncer, s, loc->off, (size_t)rs, buf);
	if (r == 1)
		*rec = buf;
	else if (r == 0 && loc->off + rs <= s->maplen)
		*rec = s->map + loc->off;
	else {
		read_error(e, "%s: offset %" PRIu32 ": record of %" PRIu64
		    " bytes is neither in the file nor in memory", s->name,
		    loc->off, rs);
		return (ENGINE_EIO);
	}
	return (0);
}

/*
 * Verify the record at p completely: checksum, and that it is the put of
 * this key with this sequence number.  The caller guards a mapped p.
 */
static inline __attribute__((always_inline)) int
record_check(struct engine *e, const struct segment *s,
    const struct btree_loc *loc, const uint8_t *key, size_t klen,
    uint64_t rs, const uint8_t *p)
{
	struct record_header h;
	const char *why = NULL;

	if (record_header_decode(p, &h, &why) != 0)
		;
	else if (h.type != RECORD_PUT || h.klen != klen || h.vlen != loc->vlen ||
	    h.seq != loc->seq || memcmp(p + RECORD_HEADER_SIZE, key, klen) != 0)
		why = "record is not the one the index expects";
	else if (!record_verify(p, (size_t)rs))
		why = "record checksum mismatch";
	if (why != NULL) {
		read_error(e, "%s: offset %" PRIu32 ": %s; value not served "
		    "(run kvd --check)", s->name, loc->off, why);
		return (ENGINE_ECORRUPT);
	}
	return (0);
}

static int
record_fault(struct engine *e, const struct segment *s,
    const struct btree_loc *loc)
{
	read_error(e, "%s: offset %" PRIu32 ": record cannot be read (the "
	    "file is shorter than the index says, or the disk failed to read "
	    "it); value not served", s->name, loc->off);
	return (ENGINE_EIO);
}

/*
 * Find the record loc points at (in s) and verify it; *rec points at it,
 * in the segment's mapping or in buf.  The first touch of a mapped record
 * is where a lost page faults, so the check is guarded.
 */
static int
read_record_in(struct engine *e, struct segment *s, const struct btree_loc *loc,
    const uint8_t *key, size_t klen, uint8_t *buf, const uint8_t **rec)
{
	struct mapguard g;
	const uint8_t *p;
	uint64_t rs = record_size(klen, loc->vlen);
	int r;

	if (in_map(s, loc, rs))
		p = s->map + loc->off;
	else if ((r = record_locate(e, s, loc, rs, buf, &p)) != 0)
		return (r);
	if (p == buf)
		r = record_check(e, s, loc, key, klen, rs, p);
	else {
		mapguard_arm(&g);
		if (sigsetjmp(g.env, 0) != 0) {
			mapguard_disarm(&g);
			return (record_fault(e, s, loc));
		}
		r = record_check(e, s, loc, key, klen, rs, p);
		mapguard_disarm(&g);
	}
	if (r == 0)
		*rec = p;
	return (r);
}

static struct segment *
record_segment(struct engine *e, const struct btree_loc *loc)
{
	struct segment *s;

	if ((s = segtab_find(&e->segs, loc->seg)) == NULL)
		read_error(e, "index points at segment %"
		    PRIu32 ", which is not open", loc->seg);
	return (s);
}

static int
rbuf_reserve(struct engine *e, uint64_t size)
{
	uint8_t *nb;

	if (e->rbuf_cap >= size)
		return (0);
	if (size > SIZE_MAX || (nb = realloc(e->rbuf, (size_t)size)) == NULL)
		return (ENGINE_ENOMEM);
	e->rbuf = nb;
	e->rbuf_cap = (size_t)size;
	return (0);
}

/* read_record_in() with e->rbuf as the buffer. */
static int
read_record(struct engine *e, const struct btree_loc *loc, const uint8_t *key,
    size_t klen, const uint8_t **rec)
{
	struct segment *s;
	uint64_t rs = record_size(klen, loc->vlen);
	int r;

	if ((s = record_segment(e, loc)) == NULL)
		return (ENGINE_EIO);
	if (!in_map(s, loc, rs) && (r = rbuf_reserve(e, rs)) != 0)
		return (r);
	return (read_record_in(e, s, loc, key, klen, e->rbuf, rec));
}

int
engine_get_ref(struct engine *e, const void *key, size_t klen,
    const void **value, size_t *vlen, uint64_t *seq)
{
	struct btree_loc loc;
	const uint8_t *rec;
	int r;

	*value = NULL;
	*vlen = 0;
	if (key == NULL || klen == 0)
		return (ENGINE_EINVAL);
	if (btree_get(e->index, key, klen, &loc) != 0) {
		if (seq != NULL)
			*seq = atomic_load(&e->last_delete_seq);
		return (ENGINE_ENOTFOUND);
	}
	if ((r = read_record(e, &loc, key, klen, &rec)) != 0)
		return (r);
	*value = rec + RECORD_HEADER_SIZE + klen;
	*vlen = loc.vlen;
	if (seq != NULL)
		*seq = loc.seq;
	return (0);
}

_Static_assert(ENGINE_GET_MANY_MAX <= BTREE_BATCH,
    "engine_get_many walks all its keys in one batch");

int
engine_get_many(struct engine *e, struct engine_read *r, size_t n)
{
	const uint8_t *keys[ENGINE_GET_MANY_MAX] = { NULL }, *p;
	const uint8_t *recs[ENGINE_GET_MANY_MAX];
	size_t klens[ENGINE_GET_MANY_MAX] = { 0 }, i;
	volatile size_t at;
	struct mapguard g;
	struct btree_loc locs[ENGINE_GET_MANY_MAX];
	struct segment *segs[ENGINE_GET_MANY_MAX];
	uint64_t bufoff[ENGINE_GET_MANY_MAX], rs[ENGINE_GET_MANY_MAX], need = 0, j;
	int found[ENGINE_GET_MANY_MAX], rc;

	/* The values share e->rbuf, so all of them are read in one round. */
	if (n > ENGINE_GET_MANY_MAX)
		return (ENGINE_EINVAL);
	for (i = 0; i < n; i++) {
		r[i].value = NULL;
		r[i].vlen = 0;
		klens[i] = r[i].key != NULL ? r[i].klen : 0;
		keys[i] = klens[i] > 0 ? r[i].key : (const uint8_t *)"";
	}
	if (btree_bytes(e->index) >= e->side_by_side_min)
		btree_get_many(e->index, keys, klens, (unsigned)n, locs, found);
	else
		for (i = 0; i < n; i++)
			found[i] = btree_get(e->index, keys[i], klens[i],
			    &locs[i]) == 0;
	/* Ask for every record before reading any. */
	for (i = 0; i < n; i++) {
		segs[i] = NULL;
		recs[i] = NULL;
		bufoff[i] = 0;
		if (klens[i] == 0 || !found[i] ||
		    (segs[i] = record_segment(e, &locs[i])) == NULL)
			continue;
		rs[i] = record_size(klens[i], locs[i].vlen);
		if (in_map(segs[i], &locs[i], rs[i])) {
			recs[i] = p = segs[i]->map + locs[i].off;
			for (j = 0; j < rs[i] && j < 256; j += 64)
				__builtin_prefetch(p + j);
		} else {
			bufoff[i] = need;
			need += rs[i];
		}
	}
	rc = need > 0 ? rbuf_reserve(e, need) : 0;
	for (i = 0; i < n; i++) {
		struct engine_read *q = &r[i];

		if (klens[i] == 0)
			q->rc = ENGINE_EINVAL;
		else if (!found[i]) {
			q->rc = ENGINE_ENOTFOUND;
			q->seq = atomic_load(&e->last_delete_seq);
		} else if (segs[i] == NULL)
			q->rc = ENGINE_EIO;
		else if (recs[i] != NULL)
			q->rc = 0;
		else if ((q->rc = rc) == 0)
			q->rc = record_locate(e, segs[i], &locs[i], rs[i],
			    e->rbuf + bufoff[i], &recs[i]);
	}
	/*
	 * One guard for the whole run (a sigsetjmp per record was about 25
	 * instructions a get).  After a fault, the record being checked gets
	 * the error and the run goes on from the next one.
	 */
	at = 0;
again:
	mapguard_arm(&g);
	if (sigsetjmp(g.env, 0) != 0) {
		mapguard_disarm(&g);
		r[at].rc = record_fault(e, segs[at], &locs[at]);
		at++;
		goto again;
	}
	for (i = at; i < n; i++) {
		struct engine_read *q = &r[i];

		at = i;
		if (q->rc != 0 || (q->rc = record_check(e, segs[i], &locs[i],
		    keys[i], klens[i], rs[i], recs[i])) != 0)
			continue;
		q->value = recs[i] + RECORD_HEADER_SIZE + klens[i];
		q->vlen = locs[i].vlen;
		q->seq = locs[i].seq;
	}
	mapguard_disarm(&g);
	return (0);
}

int
engine_get(struct engine *e, const void *key, size_t klen, void **value,
    size_t *vlen, uint64_t *seq)
{
	const void *ref;
	size_t n;
	void *v;
	int r;

	*value = NULL;
	*vlen = 0;
	if ((r = engine_get_ref(e, key, klen, &ref, &n, seq)) != 0)
		return (r);
	if ((v = malloc(n > 0 ? n : 1)) == NULL)
		return (ENGINE_ENOMEM);
	memcpy(v, ref, n);
	*value = v;
	*vlen = n;
	return (0);
}

static int
keycmp(const void *a, size_t alen, const void *b, size_t blen)
{
	size_t n = alen < blen ? alen : blen;
	int c = n > 0 ? memcmp(a, b, n) : 0;

	if (c != 0)
		return (c);
	return ((alen > blen) - (alen < blen));
}

/* Whether key k lies before end and starts with prefix. */
static int
in_range(const uint8_t *k, size_t kl, const void *end, size_t elen,
    const void *prefix, size_t plen)
{
	if (elen > 0 && keycmp(k, kl, end, elen) >= 0)
		return (0);
	if (plen > 0 && (kl < plen || memcmp(k, prefix, plen) != 0))
		return (0);
	return (1);
}

int
engine_iter(struct engine *e, const void *start, size_t slen,
    int start_exclusive, const void *end, size_t elen, const void *prefix,
    size_t plen, size_t limit, int keys_only,
    int (*cb)(void *arg, const struct engine_entry *ent), void *arg,
    int *more, uint64_t *seq)
{
	struct btree_cursor c;
	struct btree_loc loc;
	struct engine_entry ent;
	const uint8_t *k, *rec;
	const void *lo = start;
	size_t kl, lolen = slen, count = 0;
	uint64_t newest;
	int ok, r, excl = start_exclusive;

	*more = 0;
	if (cb == NULL || (slen > 0 && start == NULL) ||
	    (elen > 0 && end == NULL) || (plen > 0 && prefix == NULL))
		return (ENGINE_EINVAL);
	if (slen > 0 && elen > 0 && keycmp(end, elen, start, slen) < 0)
		return (ENGINE_EINVAL);
	/* Any key absent from the page may be absent because of a recent delete. */
	newest = atomic_load(&e->last_delete_seq);
	if (plen > 0 && keycmp(prefix, plen, start, slen) > 0) {
		lo = prefix;
		lolen = plen;
		excl = 0;
	}
	ok = btree_seek(e->index, &c, lo, lolen);
	if (ok && excl && btree_cursor_get(&c, &k, &kl, NULL) &&
	    keycmp(k, kl, lo, lolen) == 0)
		ok = btree_next(&c);
	for (; ok; ok = btree_next(&c)) {
		(void)btree_cursor_get(&c, &k, &kl, &loc);
		if (!in_range(k, kl, end, elen, prefix, plen))
			break;
		if (limit > 0 && count == limit) {
			*more = 1;
			break;
		}
		ent.key = k;
		ent.klen = kl;
		ent.value = NULL;
		ent.vlen = loc.vlen;
		ent.seq = loc.seq;
		if (!keys_only) {
			if ((r = read_record(e, &loc, k, kl, &rec)) != 0) {
				if (seq != NULL)
					*seq = newest;
				return (r);
			}
			ent.value = rec + RECORD_HEADER_SIZE + kl;
		}
		if (loc.seq > newest)
			newest = loc.seq;
		count++;
		if (cb(arg, &ent) != 0) {
			if (btree_next(&c) && btree_cursor_get(&c, &k, &kl,
			    NULL) && in_range(k, kl, end, elen, prefix, plen))
				*more = 1;
			break;
		}
	}
	if (seq != NULL)
		*seq = newest;
	return (0);
}

/* ---- durability, service, stats ---- */

uint64_t
engine_durable_seq(const struct engine *e)
{
	return (syncer_durable(e->syncer));
}

void
engine_service(struct engine *e)
{
	drain_log(e);
	compactor_service(e);
	drain_log(e);
}

void
engine_flush(struct engine *e)
{
	syncer_flush(e->syncer);
}

void
engine_sync(struct engine *e)
{
	syncer_request(e->syncer);
}

int
engine_compact(struct engine *e)
{
	if (syncer_failed(e->syncer) != NULL)
		return (ENGINE_EREADONLY);
	e->compact_requested = 1;
	compactor_schedule(e);
	return (0);
}

void
engine_stats(struct engine *e, struct engine_stats *out)
{
	size_t i;
	struct segment *s;

	memset(out, 0, sizeof(*out));
	out->keys = btree_count(e->index);
	for (i = 0; i < e->segs.n; i++) {
		s = e->segs.v[i];
		out->live_bytes += s->live;
		out->dead_bytes += s->total - s->live;
	}
	out->segments = e->segs.n;
	out->compactions = e->compactions;
	out->compact_failures = e->compact_failures;
	out->compact_pending = compactor_requested(e);
	syncer_stats(e->syncer, &out->fsyncs, &out->fsync_p50_us,
	    &out->fsync_p99_us);
	out->last_seq = e->last_seq;
	out->durable_seq = syncer_durable(e->syncer);
	out->readonly = syncer_failed(e->syncer) != NULL;
	out->index_bytes = btree_bytes(e->index);
}

const char *
engine_readonly_reason(const struct engine *e)
{
	return (syncer_failed(e->syncer));
}

int
engine_idle(struct engine *e)
{
	return (syncer_pending(e->syncer) == 0 && compactor_idle(e));
}
