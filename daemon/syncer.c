/*
 * syncer.c: the write-behind buffer and the sync thread.  See syncer.h.
 */
#include "config.h"

#include <sys/mman.h>

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

/*
 * After a batch the thread watches for more for SPIN_NS before it sleeps:
 * under a steady stream of writes it then never sleeps, and the owner never
 * pays for a wakeup (futex calls and lock handoffs were 14% of a put).
 */
#define SPIN_NS		20000LL

/*
 * Under always, after a sync that covered GATHER_MIN records or more, the
 * thread lets as long as that sync took (at most GATHER_MAX_NS) go by
 * before it looks for the next group.  Many records per sync means many
 * clients keep the owner busy, and each sync costs the machine CPU time
 * of its own (on a VM mostly exits to the host that runs the disk), so
 * fewer, larger groups leave the owner more of it; a lone client's group
 * is one record and never waits.  With kvbench -c 50 -P 16 -t put against
 * kvd --fsync always (scripts/bench's setup), about twice the records per
 * sync, and more puts per second at a lower p99 (see kvd(8)).
 */
#define GATHER_MIN	64
#define GATHER_MAX_NS	1000000LL

/*
 * Only the owner appends, and only to the tail chunk: it publishes each
 * record by storing len (then last_seq) atomically, so an append takes no
 * lock.  The sync thread reads last_seq before len, so the bytes it writes
 * always cover the newest seq it saw; but they may also cover a record
 * whose last_seq it did not see yet.  Such a record is written but not
 * counted, so the thread also looks for work in a chunk whose last_seq is
 * ahead of written_seq, not only in unwritten bytes.  The tail chunk is
 * never freed; the list itself changes under the mutex.
 */
#ifndef SYNCER_TEST_SNAPSHOT
/* tests/syncer-commit-race.c stops the thread here to commit in between. */
#define SYNCER_TEST_SNAPSHOT(s, c, last)	((void)0)
#endif

struct chunk {
	struct chunk	*next;
	struct segment	*seg;
	uint64_t	 off;		/* file offset of data[0] */
	_Atomic size_t	 len;		/* bytes appended */
	size_t		 done;		/* bytes written to the file (thread) */
	size_t		 cap;
	size_t		 mapped;	/* bytes mmap'd, 0 if malloc'd */
	_Atomic uint64_t last_seq;	/* newest record in [0, len) */
	atomic_int	 seal;		/* the segment ends with this chunk */
	int		 sealdone;
	uint8_t		 data[];
};

struct syncer {
	struct syncer_config	 cfg;
	pthread_t		 thr;
	pthread_mutex_t		 mu;
	pthread_cond_t		 work;
	pthread_cond_t		 progress;
	struct chunk		*head;		/* under mu */
	struct chunk		*tail;		/* written by the owner under mu */
	struct chunk		*spare;		/* under mu */
	struct chunk		*resv;		/* owner only */
	size_t			 resv_len;	/* owner only */
	_Atomic size_t		 pending;
	_Atomic uint64_t	 appended;
	uint64_t		 sync_target;	/* under mu */
	int			 stop;		/* under mu */
	atomic_int		 idle;		/* the thread waits for work */
	int			 timed;		/* ... with the everysec clock running (under mu) */
	int			 busy;		/* someone writes chunks: the token (under mu) */
	_Atomic uint64_t	 written_seq;
	_Atomic uint64_t	 synced_seq;
	atomic_int		 failed;
	char			 reason[256];
	struct segment		*dirty;		/* written since its last sync (thread only) */
	struct timespec		 last_sync;	/* thread only */
	int64_t			 last_sync_ns;	/* how long it took (thread only) */
	uint64_t		 fsyncs;	/* under mu */
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

/*
 * Chunks are mapped, not malloc'd: glibc keeps freed blocks of this size in
 * the heap, and a burst of writes would stay in the RSS for good.
 */
static struct chunk *
chunk_new(size_t cap)
{
	struct chunk *c;
	size_t sz = sizeof(*c) + cap;

	if (cap == 0) {
		if ((c = calloc(1, sizeof(*c))) == NULL)
			return (NULL);
	} else {
		sz = (sz + 4095) & ~(size_t)4095;
		if ((c = mmap(NULL, sz, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)) == MAP_FAILED)
			return (NULL);
		c->mapped = sz;
	}
	c->cap = cap;
	return (c);
}

static void
chunk_free(struct chunk *c)
{
	if (c == NULL)
		return;
	if (c->mapped > 0)
		munmap(c, c->mapped);
	else
		free(c);
}

static void
chunk_reset(struct chunk *c, struct segment *seg, uint64_t off)
{
	c->next = NULL;
	c->seg = seg;
	c->off = off;
	atomic_store(&c->len, 0);
	c->done = 0;
	atomic_store(&c->last_seq, 0);
	atomic_store(&c->seal, 0);
	c->sealdone = 0;
}

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

static void
cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

/* Spin (lock not held) until something new is appended or SPIN_NS pass. */
static void
spin_for_work(struct syncer *s)
{
	struct timespec t0;
	int i;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		for (i = 0; i < 64; i++) {
			if (atomic_load_explicit(&s->appended,
			    memory_order_relaxed) >
			    atomic_load_explicit(&s->written_seq,
			    memory_order_relaxed))
				return;
			cpu_relax();
		}
		if (ns_since(&t0) > SPIN_NS)
			return;
	}
}

static int
has_work(const struct syncer *s)
{
	const struct chunk *c;

	for (c = s->head; c != NULL; c = c->next)
		if (c->done < atomic_load(&c->len) ||
		    (atomic_load(&c->seal) && !c->sealdone) ||
		    atomic_load(&c->last_seq) > atomic_load(&s->written_seq))
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
	s->last_sync_ns = ns;
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

	/* The tail stays: the owner may be looking at it without the lock. */
	while ((c = s->head) != NULL && c != s->tail &&
	    c->done == atomic_load(&c->len) &&
	    (!atomic_load(&c->seal) || c->sealdone)) {
		s->head = c->next;
		if (s->spare == NULL && c->cap == CHUNK_SIZE)
			s->spare = c;
		else
			chunk_free(c);
	}
}

static void *
syncer_main(void *arg)
{
	struct syncer *s = arg;
	struct job jobs[MAX_JOBS];
	struct chunk *c;
	size_t njobs, i, wrote;
	uint64_t target, before, wbefore, gather_group = 0;
	int advanced, sealed;

	advanced = 0;
	pthread_mutex_lock(&s->mu);
	for (;;) {
		if (gather_group >= GATHER_MIN && !s->stop &&
		    s->sync_target <= atomic_load(&s->synced_seq)) {
			struct timespec ts = { 0, (long)(s->last_sync_ns <
			    GATHER_MAX_NS ? s->last_sync_ns : GATHER_MAX_NS) };

			pthread_mutex_unlock(&s->mu);
			nanosleep(&ts, NULL);
			pthread_mutex_lock(&s->mu);
		}
		gather_group = 0;
		/* An owner that flushes per pass leaves nothing to spin for. */
		if (advanced && !s->stop && !s->cfg.owner_writes) {
			pthread_mutex_unlock(&s->mu);
			spin_for_work(s);
			pthread_mutex_lock(&s->mu);
		}
		/*
		 * idle is set before looking for work and the owner stores a
		 * chunk's last_seq before reading idle (both sequentially
		 * consistent), so an append is either seen here or signalled.
		 */
		atomic_store(&s->idle, 1);
		while (!atomic_load(&s->failed) && (s->busy ||
		    (!has_work(s) && !sync_due(s) && !s->stop))) {
			if (s->cfg.policy == ENGINE_SYNC_EVERYSEC &&
			    atomic_load(&s->written_seq) >
			    atomic_load(&s->synced_seq)) {
				struct timespec dl;

				clock_gettime(CLOCK_MONOTONIC, &dl);
				dl.tv_sec += 1;
				s->timed = 1;
				pthread_cond_timedwait(&s->work, &s->mu, &dl);
				s->timed = 0;
			} else
				pthread_cond_wait(&s->work, &s->mu);
		}
		atomic_store(&s->idle, 0);
		if (atomic_load(&s->failed))
			break;
		if (s->stop && !has_work(s) && !sync_due(s))
			break;
		s->busy = 1;

		/* Take a snapshot of the work; appends may continue meanwhile. */
		njobs = 0;
		target = atomic_load(&s->written_seq);
		for (c = s->head; c != NULL && njobs < MAX_JOBS; c = c->next) {
			int seal = atomic_load(&c->seal) && !c->sealdone;
			uint64_t last = atomic_load_explicit(&c->last_seq,
			    memory_order_acquire);
			size_t len;

			SYNCER_TEST_SNAPSHOT(s, c, last);
			len = atomic_load_explicit(&c->len, memory_order_acquire);
			if (c->done == len && !seal) {
				/* Written by an earlier pass, counted only now. */
				if (last > target)
					target = last;
				continue;
			}
			jobs[njobs].c = c;
			jobs[njobs].from = c->done;
			jobs[njobs].to = len;
			jobs[njobs].last_seq = last;
			jobs[njobs].seal = seal;
			if (last > target)
				target = last;
			njobs++;
			/* Nothing goes to the next segment until this one is sealed. */
			if (jobs[njobs - 1].seal)
				break;
		}
		pthread_mutex_unlock(&s->mu);

		before = atomic_load(&s->synced_seq);
		wbefore = atomic_load(&s->written_seq);
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

			if (s->cfg.policy == ENGINE_SYNC_ALWAYS)
				gather_group = target -
				    atomic_load(&s->synced_seq);
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
		atomic_fetch_sub(&s->pending, wrote);
		free_done_chunks(s);
		s->busy = 0;
		pthread_cond_broadcast(&s->progress);
		/* Under never and everysec written_seq alone is durability. */
		advanced = wrote > 0 || sealed ||
		    atomic_load(&s->synced_seq) != before ||
		    atomic_load(&s->written_seq) != wbefore;
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
	pthread_condattr_t ca;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return (NULL);
	s->cfg = *cfg;
	atomic_init(&s->appended, last_seq);
	atomic_init(&s->pending, 0);
	atomic_init(&s->idle, 0);
	atomic_init(&s->written_seq, last_seq);
	atomic_init(&s->synced_seq, last_seq);
	atomic_init(&s->failed, 0);
	clock_gettime(CLOCK_MONOTONIC, &s->last_sync);
	if (pthread_mutex_init(&s->mu, NULL) != 0)
		goto err0;
	/*
	 * The everysec wait has a deadline: on the monotonic clock, so that
	 * setting the wall clock back does not hold off the next sync.
	 */
	if (pthread_condattr_init(&ca) != 0)
		goto err1;
	if (pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
	    pthread_cond_init(&s->work, &ca) != 0) {
		pthread_condattr_destroy(&ca);
		goto err1;
	}
	pthread_condattr_destroy(&ca);
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
		chunk_free(c);
	}
	chunk_free(s->spare);
	pthread_cond_destroy(&s->progress);
	pthread_cond_destroy(&s->work);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

uint8_t *
syncer_reserve(struct syncer *s, struct segment *seg, uint64_t off,
    size_t len)
{
	struct chunk *c = s->tail;
	size_t used, cap;

	if (atomic_load_explicit(&s->pending, memory_order_relaxed) >
	    PENDING_MAX) {
		pthread_mutex_lock(&s->mu);
		while (atomic_load(&s->pending) > PENDING_MAX &&
		    !atomic_load(&s->failed)) {
			/* Whoever writes, the thread can drain while the owner waits. */
			pthread_cond_signal(&s->work);
			pthread_cond_wait(&s->progress, &s->mu);
		}
		pthread_mutex_unlock(&s->mu);
	}
	/* The common case takes no lock: the owner alone appends to the tail. */
	if (c != NULL) {
		used = atomic_load_explicit(&c->len, memory_order_relaxed);
		if (c->seg == seg && !atomic_load_explicit(&c->seal,
		    memory_order_relaxed) && c->off + used == off &&
		    c->cap - used >= len) {
			s->resv = c;
			s->resv_len = len;
			return (c->data + used);
		}
	}
	cap = len > CHUNK_SIZE ? len : CHUNK_SIZE;
	pthread_mutex_lock(&s->mu);
	if (s->spare != NULL && s->spare->cap >= cap) {
		c = s->spare;
		s->spare = NULL;
	} else {
		pthread_mutex_unlock(&s->mu);
		if ((c = chunk_new(cap)) == NULL)
			return (NULL);
		pthread_mutex_lock(&s->mu);
	}
	chunk_reset(c, seg, off);
	if (s->tail != NULL)
		s->tail->next = c;
	if (s->head == NULL)
		s->head = c;
	s->tail = c;
	pthread_mutex_unlock(&s->mu);
	s->resv = c;
	s->resv_len = len;
	return (c->data);
}

void
syncer_commit(struct syncer *s, uint64_t seq)
{
	struct chunk *c = s->resv;

	atomic_store_explicit(&c->len, atomic_load_explicit(&c->len,
	    memory_order_relaxed) + s->resv_len, memory_order_release);
	/* Sequentially consistent: the thread's idle flag is read next. */
	atomic_store(&c->last_seq, seq);
	atomic_fetch_add_explicit(&s->pending, s->resv_len,
	    memory_order_relaxed);
	atomic_store_explicit(&s->appended, seq, memory_order_relaxed);
	s->resv = NULL;
	/* An owner that flushes once per pass writes this itself. */
	if (!s->cfg.owner_writes && atomic_load(&s->idle)) {
		pthread_mutex_lock(&s->mu);
		pthread_cond_signal(&s->work);
		pthread_mutex_unlock(&s->mu);
	}
}

/*
 * Whether the sleeping thread has something to do after the owner's flush:
 * a seal, writes the owner left (always, or behind a seal), a sync that is
 * due or asked for, or, under everysec, a one-second clock to start.
 */
static int
thread_needed(struct syncer *s)
{
	if (has_work(s) || sync_due(s))
		return (1);
	return (s->cfg.policy == ENGINE_SYNC_EVERYSEC && !s->timed &&
	    atomic_load(&s->written_seq) > atomic_load(&s->synced_seq));
}

void
syncer_flush(struct syncer *s)
{
	struct job jobs[MAX_JOBS];
	struct chunk *c;
	size_t njobs = 0, i, wrote = 0, len;
	uint64_t target, last;

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
		last = atomic_load_explicit(&c->last_seq, memory_order_acquire);
		len = atomic_load_explicit(&c->len, memory_order_acquire);
		if (c->done < len) {
			jobs[njobs].c = c;
			jobs[njobs].from = c->done;
			jobs[njobs].to = len;
			jobs[njobs].last_seq = last;
			jobs[njobs].seal = 0;
			if (last > target)
				target = last;
			njobs++;
		}
		/* Nothing goes to the next segment until this one is sealed. */
		if (atomic_load(&c->seal) && !c->sealdone)
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
		atomic_fetch_sub(&s->pending, wrote);
		free_done_chunks(s);
	}
	pthread_cond_broadcast(&s->progress);
out:
	if (atomic_load(&s->idle) && thread_needed(s))
		pthread_cond_signal(&s->work);
	pthread_mutex_unlock(&s->mu);
}

int
syncer_seal(struct syncer *s, struct segment *seg)
{
	struct chunk *c;

	pthread_mutex_lock(&s->mu);
	c = s->tail;
	if (c == NULL || c->seg != seg || atomic_load(&c->seal)) {
		pthread_mutex_unlock(&s->mu);
		if ((c = chunk_new(0)) == NULL)
			return (-1);
		chunk_reset(c, seg, seg->end);
		pthread_mutex_lock(&s->mu);
		if (s->tail != NULL)
			s->tail->next = c;
		if (s->head == NULL)
			s->head = c;
		s->tail = c;
	}
	atomic_store(&c->seal, 1);
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
			    off + len <= c->off + atomic_load(&c->len)) {
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
	if (s->sync_target < atomic_load(&s->appended))
		s->sync_target = atomic_load(&s->appended);
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
	return (atomic_load(&s->pending));
}
