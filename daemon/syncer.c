/*
 * syncer.c: the write-behind buffer and the sync thread.  See syncer.h.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/fileio.h"
#include "daemon/segment.h"
#include "daemon/syncer.h"

/*
 * 1 MiB chunks: big enough that a pwrite moves a lot per call, small enough
 * that a half-empty one costs little.  Past PENDING_MAX unwritten bytes the
 * appender waits, so a disk slower than the clients bounds memory.
 */
#define CHUNK_SIZE	(1u << 20)
#define PENDING_MAX	(64u << 20)
#define LAT_RING	1024
#define EVERYSEC_NS	1000000000LL

struct chunk {
	struct chunk	*next;
	struct segment	*seg;
	uint64_t	 off;		/* file offset of data[0] */
	size_t		 len;		/* bytes appended */
	size_t		 done;		/* bytes written to the file */
	size_t		 cap;
	uint64_t	 last_seq;	/* newest record in [0, len) */
	int		 seal;		/* the segment ends with this chunk */
	int		 sealdone;
	uint8_t		 data[];
};

struct syncer {
	struct syncer_config	 cfg;
	pthread_t		 thr;
	pthread_mutex_t		 mu;
	pthread_cond_t		 work;
	pthread_cond_t		 progress;
	struct chunk		*head;
	struct chunk		*tail;
	struct chunk		*spare;
	struct chunk		*resv;
	size_t			 resv_len;
	size_t			 pending;
	uint64_t		 appended;
	uint64_t		 sync_target;
	int			 stop;
	int			 idle;		/* the thread waits for work */
	int			 timed;		/* ... with the everysec clock running */
	int			 busy;		/* someone is writing chunks (the token) */
	_Atomic uint64_t	 written_seq;
	_Atomic uint64_t	 synced_seq;
	atomic_int		 failed;
	char			 reason[256];
	struct segment		*dirty;		/* written since its last sync (thread only) */
	struct timespec		 last_sync;	/* thread only */
	uint64_t		 fsyncs;
	uint32_t		 lat[LAT_RING];
	size_t			 nlat;
};

/* A unit of work taken under the lock and done outside it. */
struct job {
	struct chunk	*c;
	size_t		 from;
	size_t		 to;
	uint64_t	 last_seq;
	int		 seal;
};

#define MAX_JOBS	64

static int64_t
ns_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return ((int64_t)(t.tv_sec - t0->tv_sec) * 1000000000LL +
	    (t.tv_nsec - t0->tv_nsec));
}

/* Record the first failure; the caller holds no lock. */
static void
fail(struct syncer *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
fail(struct syncer *s, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	syncer_fail(s, msg);
}

void
syncer_fail(struct syncer *s, const char *reason)
{
	int first = 0;

	pthread_mutex_lock(&s->mu);
	if (!atomic_load(&s->failed)) {
		snprintf(s->reason, sizeof(s->reason), "%s", reason);
		/* Release: a reader that sees the flag sees the whole reason. */
		atomic_store_explicit(&s->failed, 1, memory_order_release);
		first = 1;
	}
	pthread_cond_broadcast(&s->progress);
	pthread_cond_broadcast(&s->work);
	pthread_mutex_unlock(&s->mu);
	if (first) {
		if (s->cfg.report != NULL)
			s->cfg.report(s->cfg.report_arg, ENGINE_LOG_ERROR,
			    reason);
		if (s->cfg.notify != NULL)
			s->cfg.notify(s->cfg.notify_arg);
	}
}

const char *
syncer_failed(const struct syncer *s)
{
	if (!atomic_load_explicit(&s->failed, memory_order_acquire))
		return (NULL);
	return (s->reason);
}

static int
has_work(const struct syncer *s)
{
	const struct chunk *c;

	for (c = s->head; c != NULL; c = c->next)
		if (c->done < c->len || (c->seal && !c->sealdone))
			return (1);
	return (s->sync_target > atomic_load(&s->synced_seq) &&
	    atomic_load(&s->written_seq) > atomic_load(&s->synced_seq));
}

static int
sync_due(struct syncer *s)
{
	uint64_t written = atomic_load(&s->written_seq);

	if (written <= atomic_load(&s->synced_seq))
		return (0);
	if (s->cfg.policy == ENGINE_SYNC_ALWAYS || s->stop ||
	    s->sync_target > atomic_load(&s->synced_seq))
		return (1);
	return (s->cfg.policy == ENGINE_SYNC_EVERYSEC &&
	    ns_since(&s->last_sync) >= EVERYSEC_NS);
}

static int
do_fdatasync(struct syncer *s, struct segment *seg)
{
	struct timespec t0;
	int64_t ns;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (s->cfg.io->fdatasync(s->cfg.io->arg, seg->fd) != 0) {
		fail(s, "%s: fdatasync failed: %s; writes refused from now on",
		    seg->name, strerror(errno));
		return (-1);
	}
	ns = ns_since(&t0);
	pthread_mutex_lock(&s->mu);
	s->fsyncs++;
	s->lat[s->nlat++ % LAT_RING] = (uint32_t)(ns / 1000 > UINT32_MAX ?
	    UINT32_MAX : ns / 1000);
	pthread_mutex_unlock(&s->mu);
	return (0);
}

static int
run_job(struct syncer *s, const struct job *j)
{
	struct segment *seg = j->c->seg;
	const struct fileio *io = s->cfg.io;

	if (j->to > j->from) {
		if (!seg->dirsynced) {
			/* The file must survive a crash before anything in it can. */
			if (io->fsync(io->arg, s->cfg.dirfd) != 0) {
				fail(s, "syncing the data directory for %s "
				    "failed: %s; writes refused from now on",
				    seg->name, strerror(errno));
				return (-1);
			}
			seg->dirsynced = 1;
		}
		if (io->pwrite(io->arg, seg->fd, j->c->data + j->from,
		    j->to - j->from, (off_t)(j->c->off + j->from)) != 0) {
			fail(s, "%s: write at offset %llu failed: %s; writes "
			    "refused from now on", seg->name,
			    (unsigned long long)(j->c->off + j->from),
			    strerror(errno));
			return (-1);
		}
		s->dirty = seg;
		atomic_store_explicit(&seg->written, j->c->off + j->to,
		    memory_order_release);
	}
	if (j->seal) {
		uint64_t end = j->c->off + j->to;

		if (seg->preallocated &&
		    io->ftruncate(io->arg, seg->fd, (off_t)end) != 0) {
			fail(s, "%s: truncating to %llu bytes failed: %s; "
			    "writes refused from now on", seg->name,
			    (unsigned long long)end, strerror(errno));
			return (-1);
		}
		if (do_fdatasync(s, seg) != 0)
			return (-1);
		if (s->dirty == seg)
			s->dirty = NULL;
		atomic_store(&seg->sealed, 1);
	}
	return (0);
}

static void
free_done_chunks(struct syncer *s)
{
	struct chunk *c;

	while ((c = s->head) != NULL && c->done == c->len &&
	    (!c->seal || c->sealdone)) {
		if (c == s->tail && !c->seal && c->cap - c->len > 0) {
			/* Keep appending into the same memory at the next offset. */
			c->off += c->len;
			c->len = c->done = 0;
			break;
		}
		s->head = c->next;
		if (s->tail == c)
			s->tail = NULL;
		if (s->spare == NULL && c->cap == CHUNK_SIZE)
			s->spare = c;
		else
			free(c);
	}
}

static void *
syncer_main(void *arg)
{
	struct syncer *s = arg;
	struct job jobs[MAX_JOBS];
	struct chunk *c;
	size_t njobs, i, wrote;
	uint64_t target, before;
	int advanced, sealed;

	pthread_mutex_lock(&s->mu);
	for (;;) {
		while (!atomic_load(&s->failed) && (s->busy ||
		    (!has_work(s) && !sync_due(s) && !s->stop))) {
			s->idle = 1;
			if (s->cfg.policy == ENGINE_SYNC_EVERYSEC &&
			    atomic_load(&s->written_seq) >
			    atomic_load(&s->synced_seq)) {
				struct timespec dl;

				clock_gettime(CLOCK_REALTIME, &dl);
				dl.tv_sec += 1;
				s->timed = 1;
				pthread_cond_timedwait(&s->work, &s->mu, &dl);
				s->timed = 0;
			} else
				pthread_cond_wait(&s->work, &s->mu);
			s->idle = 0;
		}
		if (atomic_load(&s->failed))
			break;
		if (s->stop && !has_work(s) && !sync_due(s))
			break;
		s->busy = 1;

		/* Take a snapshot of the work; appends may continue meanwhile. */
		njobs = 0;
		target = atomic_load(&s->written_seq);
		for (c = s->head; c != NULL && njobs < MAX_JOBS; c = c->next) {
			if (c->done == c->len && !(c->seal && !c->sealdone))
				continue;
			jobs[njobs].c = c;
			jobs[njobs].from = c->done;
			jobs[njobs].to = c->len;
			jobs[njobs].last_seq = c->last_seq;
			jobs[njobs].seal = c->seal && !c->sealdone;
			if (c->len > 0 && c->last_seq > target)
				target = c->last_seq;
			njobs++;
			/* Nothing goes to the next segment until this one is sealed. */
			if (jobs[njobs - 1].seal)
				break;
		}
		pthread_mutex_unlock(&s->mu);

		before = atomic_load(&s->synced_seq);
		sealed = 0;
		wrote = 0;
		for (i = 0; i < njobs; i++) {
			if (run_job(s, &jobs[i]) != 0)
				break;
			wrote += jobs[i].to - jobs[i].from;
			sealed |= jobs[i].seal;
		}
		if (i < njobs) {
			pthread_mutex_lock(&s->mu);
			break;
		}
		atomic_store(&s->written_seq, target);
		pthread_mutex_lock(&s->mu);
		if (sync_due(s)) {
			struct segment *d = s->dirty;

			pthread_mutex_unlock(&s->mu);
			if (d != NULL && do_fdatasync(s, d) != 0) {
				pthread_mutex_lock(&s->mu);
				break;
			}
			s->dirty = NULL;
			clock_gettime(CLOCK_MONOTONIC, &s->last_sync);
			atomic_store(&s->synced_seq, target);
			pthread_mutex_lock(&s->mu);
		} else if (s->dirty == NULL) {
			/* Everything written was sealed, and sealing synced it. */
			atomic_store(&s->synced_seq, target);
		}
		for (i = 0; i < njobs; i++) {
			jobs[i].c->done = jobs[i].to;
			if (jobs[i].seal)
				jobs[i].c->sealdone = 1;
		}
		s->pending -= wrote;
		free_done_chunks(s);
		s->busy = 0;
		pthread_cond_broadcast(&s->progress);
		advanced = wrote > 0 || sealed ||
		    atomic_load(&s->synced_seq) != before;
		if (advanced && s->cfg.notify != NULL) {
			pthread_mutex_unlock(&s->mu);
			s->cfg.notify(s->cfg.notify_arg);
			pthread_mutex_lock(&s->mu);
		}
	}
	s->busy = 0;
	pthread_cond_broadcast(&s->progress);
	pthread_mutex_unlock(&s->mu);
	return (NULL);
}

struct syncer *
syncer_start(const struct syncer_config *cfg, uint64_t last_seq)
{
	struct syncer *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return (NULL);
	s->cfg = *cfg;
	s->appended = last_seq;
	atomic_init(&s->written_seq, last_seq);
	atomic_init(&s->synced_seq, last_seq);
	atomic_init(&s->failed, 0);
	clock_gettime(CLOCK_MONOTONIC, &s->last_sync);
	if (pthread_mutex_init(&s->mu, NULL) != 0)
		goto err0;
	if (pthread_cond_init(&s->work, NULL) != 0)
		goto err1;
	if (pthread_cond_init(&s->progress, NULL) != 0)
		goto err2;
	if (pthread_create(&s->thr, NULL, syncer_main, s) != 0)
		goto err3;
	return (s);
err3:
	pthread_cond_destroy(&s->progress);
err2:
	pthread_cond_destroy(&s->work);
err1:
	pthread_mutex_destroy(&s->mu);
err0:
	free(s);
	return (NULL);
}

void
syncer_stop(struct syncer *s)
{
	struct chunk *c, *next;

	if (s == NULL)
		return;
	pthread_mutex_lock(&s->mu);
	s->stop = 1;
	pthread_cond_broadcast(&s->work);
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->thr, NULL);
	for (c = s->head; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
	free(s->spare);
	pthread_cond_destroy(&s->progress);
	pthread_cond_destroy(&s->work);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

uint8_t *
syncer_reserve(struct syncer *s, struct segment *seg, uint64_t off,
    size_t len)
{
	struct chunk *c;
	size_t cap;

	pthread_mutex_lock(&s->mu);
	while (s->pending > PENDING_MAX && !atomic_load(&s->failed)) {
		/* Whoever writes, the thread can drain while the owner waits. */
		pthread_cond_signal(&s->work);
		pthread_cond_wait(&s->progress, &s->mu);
	}
	c = s->tail;
	if (c == NULL || c->seg != seg || c->seal || c->off + c->len != off ||
	    c->cap - c->len < len) {
		cap = len > CHUNK_SIZE ? len : CHUNK_SIZE;
		if (s->spare != NULL && s->spare->cap >= cap) {
			c = s->spare;
			s->spare = NULL;
		} else if ((c = malloc(sizeof(*c) + cap)) == NULL) {
			pthread_mutex_unlock(&s->mu);
			return (NULL);
		} else
			c->cap = cap;
		c->next = NULL;
		c->seg = seg;
		c->off = off;
		c->len = c->done = 0;
		c->last_seq = 0;
		c->seal = c->sealdone = 0;
		if (s->tail != NULL)
			s->tail->next = c;
		else
			s->head = c;
		s->tail = c;
	}
	s->resv = c;
	s->resv_len = len;
	return (c->data + c->len);
}

void
syncer_commit(struct syncer *s, uint64_t seq)
{
	struct chunk *c = s->resv;

	c->len += s->resv_len;
	c->last_seq = seq;
	s->pending += s->resv_len;
	s->appended = seq;
	s->resv = NULL;
	/* An owner that flushes once per pass writes this itself. */
	if (s->idle && !s->cfg.owner_writes)
		pthread_cond_signal(&s->work);
	pthread_mutex_unlock(&s->mu);
}

/*
 * Whether the sleeping thread has something to do after the owner's flush:
 * a seal, writes the owner left (always, or behind a seal), a sync that is
 * due or asked for, or, under everysec, a one-second clock to start.
 */
static int
thread_needed(const struct syncer *s)
{
	if (has_work(s) || sync_due((struct syncer *)s))
		return (1);
	return (s->cfg.policy == ENGINE_SYNC_EVERYSEC && !s->timed &&
	    atomic_load(&s->written_seq) > atomic_load(&s->synced_seq));
}

void
syncer_flush(struct syncer *s)
{
	struct job jobs[MAX_JOBS];
	struct chunk *c;
	size_t njobs = 0, i, wrote = 0;
	uint64_t target;

	pthread_mutex_lock(&s->mu);
	/*
	 * Under always the thread writes and syncs in one go (the owner must
	 * never wait for the disk); otherwise a pwrite into the page cache
	 * is cheaper here than waking a thread on the same CPU and being
	 * woken back.  Seals (truncate and fdatasync) stay with the thread.
	 */
	if (s->cfg.policy == ENGINE_SYNC_ALWAYS || s->busy ||
	    atomic_load(&s->failed))
		goto out;
	target = atomic_load(&s->written_seq);
	for (c = s->head; c != NULL && njobs < MAX_JOBS; c = c->next) {
		if (c->done < c->len) {
			jobs[njobs].c = c;
			jobs[njobs].from = c->done;
			jobs[njobs].to = c->len;
			jobs[njobs].last_seq = c->last_seq;
			jobs[njobs].seal = 0;
			if (c->last_seq > target)
				target = c->last_seq;
			njobs++;
		}
		/* Nothing goes to the next segment until this one is sealed. */
		if (c->seal && !c->sealdone)
			break;
	}
	if (njobs == 0)
		goto out;
	s->busy = 1;
	pthread_mutex_unlock(&s->mu);
	for (i = 0; i < njobs; i++) {
		if (run_job(s, &jobs[i]) != 0)
			break;
		wrote += jobs[i].to - jobs[i].from;
	}
	pthread_mutex_lock(&s->mu);
	s->busy = 0;
	if (i == njobs) {
		atomic_store(&s->written_seq, target);
		for (i = 0; i < njobs; i++)
			jobs[i].c->done = jobs[i].to;
		s->pending -= wrote;
		free_done_chunks(s);
	}
	pthread_cond_broadcast(&s->progress);
out:
	if (s->idle && thread_needed(s))
		pthread_cond_signal(&s->work);
	pthread_mutex_unlock(&s->mu);
}

int
syncer_seal(struct syncer *s, struct segment *seg)
{
	struct chunk *c;

	pthread_mutex_lock(&s->mu);
	c = s->tail;
	if (c == NULL || c->seg != seg || c->seal) {
		if ((c = malloc(sizeof(*c))) == NULL) {
			pthread_mutex_unlock(&s->mu);
			return (-1);
		}
		c->next = NULL;
		c->seg = seg;
		c->off = seg->end;
		c->len = c->done = c->cap = 0;
		c->last_seq = 0;
		c->sealdone = 0;
		if (s->tail != NULL)
			s->tail->next = c;
		else
			s->head = c;
		s->tail = c;
	}
	c->seal = 1;
	pthread_cond_signal(&s->work);
	pthread_mutex_unlock(&s->mu);
	return (0);
}

int
syncer_read(struct syncer *s, const struct segment *seg, uint64_t off,
    size_t len, void *dst)
{
	const struct chunk *c;
	int r = -1;

	pthread_mutex_lock(&s->mu);
	if (off + len <= atomic_load(&seg->written))
		r = 0;
	else
		for (c = s->head; c != NULL; c = c->next)
			if (c->seg == seg && off >= c->off &&
			    off + len <= c->off + c->len) {
				memcpy(dst, c->data + (off - c->off), len);
				r = 1;
				break;
			}
	pthread_mutex_unlock(&s->mu);
	return (r);
}

void
syncer_request(struct syncer *s)
{
	pthread_mutex_lock(&s->mu);
	if (s->sync_target < s->appended)
		s->sync_target = s->appended;
	pthread_cond_signal(&s->work);
	pthread_mutex_unlock(&s->mu);
}

int
syncer_wait_synced(struct syncer *s, uint64_t seq)
{
	int r;

	pthread_mutex_lock(&s->mu);
	if (s->sync_target < seq)
		s->sync_target = seq;
	pthread_cond_signal(&s->work);
	while (atomic_load(&s->synced_seq) < seq &&
	    !atomic_load(&s->failed) && !s->stop)
		pthread_cond_wait(&s->progress, &s->mu);
	r = atomic_load(&s->synced_seq) >= seq ? 0 : -1;
	pthread_mutex_unlock(&s->mu);
	return (r);
}

uint64_t
syncer_durable(const struct syncer *s)
{
	if (s->cfg.policy == ENGINE_SYNC_ALWAYS)
		return (atomic_load(&s->synced_seq));
	return (atomic_load(&s->written_seq));
}

uint64_t
syncer_synced(const struct syncer *s)
{
	return (atomic_load(&s->synced_seq));
}

static int
u32cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return ((x > y) - (x < y));
}

void
syncer_stats(struct syncer *s, uint64_t *fsyncs, uint64_t *p50_us,
    uint64_t *p99_us)
{
	uint32_t lat[LAT_RING];
	size_t n;

	pthread_mutex_lock(&s->mu);
	*fsyncs = s->fsyncs;
	n = s->nlat < LAT_RING ? s->nlat : LAT_RING;
	memcpy(lat, s->lat, n * sizeof(lat[0]));
	pthread_mutex_unlock(&s->mu);
	*p50_us = *p99_us = 0;
	if (n == 0)
		return;
	qsort(lat, n, sizeof(lat[0]), u32cmp);
	*p50_us = lat[n / 2];
	*p99_us = lat[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1];
}

size_t
syncer_pending(struct syncer *s)
{
	size_t n;

	pthread_mutex_lock(&s->mu);
	n = s->pending;
	pthread_mutex_unlock(&s->mu);
	return (n);
}
