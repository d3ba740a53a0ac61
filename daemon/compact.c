/*
 * compact.c: hint files and compaction in the background.  See compact.h.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "daemon/btree.h"
#include "daemon/compact.h"
#include "daemon/engine-int.h"
#include "daemon/fileio.h"
#include "daemon/hint.h"
#include "daemon/mapguard.h"
#include "daemon/record.h"
#include "daemon/scan.h"
#include "daemon/segment.h"
#include "daemon/syncer.h"
#include "daemon/vec.h"

/* The compaction thread's nice value (Linux: per thread). */
#define COMPACT_NICE	10

/* Index lookups per hold of ilock, and index moves per engine_service(). */
#define LOOKUP_BATCH	256
#define SWITCH_BATCH	16384
#define OUTBUF_SIZE	(1u << 20)

enum job_kind {
	JOB_HINT,
	JOB_COMPACT,
};

enum job_phase {
	PHASE_RUN,	/* the thread works */
	PHASE_SWITCH,	/* the owner moves index entries to the output */
	PHASE_UNLINK,	/* the thread removes the inputs */
	PHASE_DONE,	/* the owner cleans up */
	PHASE_FAILED,	/* the thread gave up; the owner cleans up */
};

/* A record copied to the output, for the index switch. */
struct move {
	uint32_t	old_seg;
	uint32_t	old_off;
	uint32_t	new_off;
};

struct cjob {
	enum job_kind	  kind;
	enum job_phase	  phase;
	struct segment	 *seg;		/* JOB_HINT */
	struct segment	**in;		/* JOB_COMPACT inputs, by id */
	uint64_t	 *in_ids;	/* their ids, for unlinking once they are gone */
	size_t		  nin;
	uint64_t	  out_id;
	uint64_t	  oldest_outside; /* smallest seq in segments not compacted */
	struct segment	 *out;
	struct move	 *moves;
	size_t		  nmoves;
	struct vec	  movemem;	/* where moves lives */
	size_t		  switched;
	uint64_t	  out_tomb;
	int		  drop_out;	/* the output holds nothing: remove it last */
	struct segment	 *unreadable;	/* the input whose scan failed */
	int		  want_notify;
};

struct compactor {
	struct engine	*e;
	pthread_t	 thr;
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	int		 stop;
	struct cjob	*job;		/* at most one in flight */
	uint64_t	 request_below;	/* engine_compact(): ids under this */
};

static void
report(struct engine *e, enum engine_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
report(struct engine *e, enum engine_log_level level, const char *fmt, ...)
{
	char msg[LOGQ_LEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	engine_report(e, level, msg);
}

static int
stopping(struct compactor *c)
{
	int s;

	pthread_mutex_lock(&c->mu);
	s = c->stop;
	pthread_mutex_unlock(&c->mu);
	return (s);
}

/* ---- hint files ---- */

static int
run_hint(struct engine *e, struct cjob *j)
{
	struct segment *s = j->seg;
	struct scan sc;
	char err[256];
	int r = -1;

	if (scan_segment(s->map, s->end, s->hdr_len, 1, &sc) != 0 ||
	    scan_newest(&sc) != 0) {
		report(e, ENGINE_LOG_WARN, "%s: out of memory writing its hint",
		    s->name);
		goto out;
	}
	if (sc.tail != SCAN_CLEAN) {
		report(e, ENGINE_LOG_ERROR, "%s: offset %" PRIu64 ": %s; no "
		    "hint written (run kvd --check)", s->name, sc.end,
		    sc.why != NULL ? sc.why : "zero bytes where records should be");
		goto out;
	}
	if (hint_write(e->dirfd, e->io, s, s->end, sc.ents, sc.n, sc.min_seq,
	    sc.max_seq, err, sizeof(err)) != 0) {
		report(e, ENGINE_LOG_WARN, "%s", err);
		goto out;
	}
	r = 0;
out:
	scan_free(&sc);
	return (r);
}

/* ---- compaction ---- */

struct outbuf {
	struct engine	*e;
	struct segment	*out;
	uint8_t		*buf;
	size_t		 len;
	uint64_t	 off;		/* file offset of buf[0] */
};

static int
out_flush(struct outbuf *ob)
{
	const struct fileio *io = ob->e->io;

	if (ob->len == 0)
		return (0);
	if (io->pwrite(io->arg, ob->out->fd, ob->buf, ob->len,
	    (off_t)ob->off) != 0) {
		report(ob->e, ENGINE_LOG_ERROR, "compaction: %s: write: %s",
		    ob->out->name, strerror(errno));
		return (-1);
	}
	ob->off += ob->len;
	ob->len = 0;
	return (0);
}

static int
out_append(struct outbuf *ob, const uint8_t *rec, size_t n)
{
	const struct fileio *io = ob->e->io;

	if (ob->len + n > OUTBUF_SIZE && out_flush(ob) != 0)
		return (-1);
	if (n > OUTBUF_SIZE) {
		if (io->pwrite(io->arg, ob->out->fd, rec, n, (off_t)ob->off) !=
		    0) {
			report(ob->e, ENGINE_LOG_ERROR, "compaction: %s: write: "
			    "%s", ob->out->name, strerror(errno));
			return (-1);
		}
		ob->off += n;
		return (0);
	}
	memcpy(ob->buf + ob->len, rec, n);
	ob->len += n;
	return (0);
}

static int
add_move(struct cjob *j, uint32_t old_seg, uint32_t old_off, uint32_t new_off)
{
	if (vec_reserve(&j->movemem, (j->nmoves + 1) * sizeof(struct move)) !=
	    0)
		return (-1);
	j->moves = j->movemem.p;
	j->moves[j->nmoves].old_seg = old_seg;
	j->moves[j->nmoves].old_off = old_off;
	j->moves[j->nmoves].new_off = new_off;
	j->nmoves++;
	return (0);
}

/*
 * Copy the n keys of ents into keymem (sized by the caller), pointed at by
 * keys[] and klens[].  Returns 0, or -1 with *fault set when a page of the
 * mapping could not be read.
 */
static int
copy_keys(const struct hint_entry *ents, size_t n, uint8_t *kp,
    const uint8_t **keys, size_t *klens, const void **fault)
{
	struct mapguard g;
	size_t i;

	for (i = 0; i < n; i++) {
		keys[i] = kp;
		klens[i] = ents[i].klen;
		kp += ents[i].klen;
	}
	mapguard_arm(&g);
	if (sigsetjmp(g.env, 0) != 0) {
		mapguard_disarm(&g);
		*fault = g.addr;
		return (-1);
	}
	for (i = 0; i < n; i++)
		memcpy((uint8_t *)(uintptr_t)keys[i], ents[i].key, klens[i]);
	mapguard_disarm(&g);
	return (0);
}

/*
 * Append the records of ents that keep[] marks to the output, listing
 * them in outents and their moves in j.  Takes no lock, and what it
 * allocates the caller frees.  Returns 0; COPY_WRITE (said why),
 * COPY_NOMEM, or COPY_FAULT with *fault set.
 */
enum { COPY_WRITE = 1, COPY_NOMEM, COPY_FAULT };

static int
copy_kept(struct cjob *j, struct segment *in, struct outbuf *ob,
    const struct hint_entry *ents, const uint8_t *keep, size_t n,
    struct scan *outents, const void **fault)
{
	struct mapguard g;
	struct hint_entry he;
	size_t i, rs;
	uint64_t at;

	mapguard_arm(&g);
	if (sigsetjmp(g.env, 0) != 0) {
		mapguard_disarm(&g);
		*fault = g.addr;
		return (COPY_FAULT);
	}
	for (i = 0; i < n; i++) {
		if (!keep[i])
			continue;
		rs = (size_t)record_size(ents[i].klen, ents[i].vlen);
		at = ob->off + ob->len;
		if (out_append(ob, in->map + ents[i].off, rs) != 0) {
			mapguard_disarm(&g);
			return (COPY_WRITE);
		}
		he = ents[i];
		he.off = (uint32_t)at;
		if (scan_push(outents, &he) != 0 || (ents[i].type ==
		    RECORD_PUT && add_move(j, (uint32_t)in->id, ents[i].off,
		    (uint32_t)at) != 0)) {
			mapguard_disarm(&g);
			return (COPY_NOMEM);
		}
		if (ents[i].type != RECORD_PUT)
			j->out_tomb += rs;
	}
	mapguard_disarm(&g);
	return (0);
}

/*
 * Copy the live records of one input.  Liveness is decided under ilock in
 * batches; *dep collects the newest sequence number that made a record
 * dead, which must be durable before the output may replace the input.
 *
 * The scan touches every byte first, so it is where a lost page usually
 * shows; but a page can also go between the scan and the copies (the
 * file cut short behind kvd's back, or the page evicted and then not read
 * back).  So the keys are copied out of the mapping under a guard before
 * the lookups (which hold ilock, where no fault may leave through a
 * longjmp), and the records are copied under a guard too.
 */
static int
copy_input(struct compactor *c, struct cjob *j, struct segment *in,
    struct outbuf *ob, struct scan *ents, uint64_t *dep)
{
	struct engine *e = c->e;
	struct scan sc;
	struct vec keymem = { 0 };
	size_t i, b, n, kbytes;
	uint8_t keep[LOOKUP_BATCH];
	const uint8_t *keys[LOOKUP_BATCH];
	size_t klens[LOOKUP_BATCH];
	struct btree_loc locs[LOOKUP_BATCH];
	int found[LOOKUP_BATCH], rc;
	const void *fault = NULL;
	uint64_t lastdel;
	int r = -1;

	if (scan_segment(in->map, in->end, in->hdr_len, 1, &sc) != 0) {
		report(e, ENGINE_LOG_WARN, "compaction: out of memory");
		goto out;
	}
	if (sc.tail != SCAN_CLEAN) {
		j->unreadable = in;
		report(e, ENGINE_LOG_ERROR, "compaction stopped: %s: offset "
		    "%" PRIu64 ": %s (run kvd --check)", in->name, sc.end,
		    sc.why != NULL ? sc.why : "zero bytes where records should be");
		goto out;
	}
	/*
	 * Only each key's newest record in the input can be live: an older
	 * one was replaced by a record of this sealed, synced input, so it
	 * is dropped without a lookup and adds nothing to *dep.  Under
	 * overwrites that saves most lookups, and the rest go in key order,
	 * each walking nearly the same path down the index as the one
	 * before.  The output is in key order too.
	 */
	if (scan_newest(&sc) != 0) {
		report(e, ENGINE_LOG_WARN, "compaction: out of memory");
		goto out;
	}
	if (e->compact_scanned != NULL)
		e->compact_scanned(e, in);
	for (b = 0; b < sc.n; b += LOOKUP_BATCH) {
		if (stopping(c))
			goto out;
		n = sc.n - b < LOOKUP_BATCH ? sc.n - b : LOOKUP_BATCH;
		for (i = 0, kbytes = 0; i < n; i++)
			kbytes += sc.ents[b + i].klen;
		if (vec_reserve(&keymem, kbytes > 0 ? kbytes : 1) != 0)
			goto nomem;
		if (copy_keys(sc.ents + b, n, keymem.p, keys, klens,
		    &fault) != 0)
			goto lost;
		pthread_mutex_lock(&e->ilock);
		lastdel = atomic_load(&e->last_delete_seq);
		/* Lookups side by side: a shorter hold of ilock, too. */
		btree_get_many(e->index, keys, klens, (unsigned)n, locs, found);
		for (i = 0; i < n; i++) {
			const struct hint_entry *en = &sc.ents[b + i];
			const struct btree_loc *lp = &locs[i];
			int present = found[i];

			keep[i] = 0;
			if (en->type == RECORD_PUT) {
				if (present && lp->seg == in->id &&
				    lp->off == en->off)
					keep[i] = 1;
				else if (present) {
					if (lp->seq > *dep)
						*dep = lp->seq;
				} else if (lastdel > *dep)
					*dep = lastdel;
			} else if (present) {
				/* A newer put replaced it: it hides nothing that survives. */
				if (lp->seq > *dep)
					*dep = lp->seq;
			} else if (en->seq > j->oldest_outside) {
				/* An older record of the key may live outside this job. */
				keep[i] = 1;
			}
		}
		pthread_mutex_unlock(&e->ilock);
		if ((rc = copy_kept(j, in, ob, sc.ents + b, keep, n, ents,
		    &fault)) == COPY_FAULT)
			goto lost;
		if (rc == COPY_NOMEM)
			goto nomem;
		if (rc != 0)
			goto out;
	}
	r = 0;
	goto out;
lost:
	j->unreadable = in;
	report(e, ENGINE_LOG_ERROR, "compaction stopped: %s: offset %" PRIu64
	    ": page cannot be read (the file was cut short under kvd, or the "
	    "disk failed to read it; run kvd --check)", in->name,
	    (uint64_t)((const uint8_t *)fault - in->map));
	goto out;
nomem:
	report(e, ENGINE_LOG_WARN, "compaction: out of memory");
out:
	vec_free(&keymem);
	scan_free(&sc);
	return (r);
}

/*
 * The ids an output replaces: its inputs, and whatever an input itself
 * replaced whose file is still there (an unlink that failed).  Carrying
 * those forward keeps such a file superseded after its first replacement
 * is compacted away.  Returns the count (0 when memory is short).
 */
static size_t
superseded_ids(struct engine *e, const struct cjob *j, uint64_t **out)
{
	char name[SEGMENT_NAME_MAX];
	uint64_t *ids;
	size_t n = 0, cap = j->nin, i, k, m;

	for (i = 0; i < j->nin; i++)
		cap += j->in[i]->ninputs;
	if (cap > SEGMENT_MAX_INPUTS)
		cap = SEGMENT_MAX_INPUTS;
	if ((ids = calloc(cap, sizeof(*ids))) == NULL)
		return (0);
	for (i = 0; i < j->nin; i++)
		ids[n++] = j->in_ids[i];
	for (i = 0; i < j->nin && n < cap; i++)
		for (k = 0; k < j->in[i]->ninputs && n < cap; k++) {
			uint64_t id = j->in[i]->inputs[k];

			for (m = 0; m < n && ids[m] != id; m++)
				;
			segment_filename(name, id, SEGMENT_FILE_SEG);
			if (m == n && faccessat(e->dirfd, name, F_OK, 0) == 0)
				ids[n++] = id;
		}
	*out = ids;
	return (n);
}

static int
run_compact(struct compactor *c, struct cjob *j)
{
	struct engine *e = c->e;
	const struct fileio *io = e->io;
	struct outbuf ob;
	struct scan ents;
	struct vec outmem;
	struct segment *out = NULL;
	char tmp[SEGMENT_NAME_MAX], name[SEGMENT_NAME_MAX], err[256];
	uint64_t *ids = NULL, dep = 0, minseq = 0, maxseq = 0;
	size_t i, nids;
	int committed = 0, hinted = 0;

	memset(&ob, 0, sizeof(ob));
	memset(&ents, 0, sizeof(ents));
	memset(&outmem, 0, sizeof(outmem));
	segment_filename(tmp, j->out_id, SEGMENT_FILE_TMP);
	segment_filename(name, j->out_id, SEGMENT_FILE_SEG);
	if (vec_reserve(&outmem, OUTBUF_SIZE) != 0) {
		report(e, ENGINE_LOG_WARN, "compaction: out of memory");
		goto fail;
	}
	if ((nids = superseded_ids(e, j, &ids)) == 0) {
		report(e, ENGINE_LOG_WARN, "compaction: out of memory");
		goto fail;
	}
	if (segment_create(e->dirfd, io, tmp, j->out_id,
	    SEGMENT_FLAG_COMPACTED, ids, (uint32_t)nids, 0, 0, &out, err,
	    sizeof(err)) != 0) {
		report(e, ENGINE_LOG_ERROR, "compaction: %s", err);
		goto fail;
	}
	ob.e = e;
	ob.out = out;
	ob.buf = outmem.p;
	ob.off = out->hdr_len;
	for (i = 0; i < j->nin; i++)
		if (copy_input(c, j, j->in[i], &ob, &ents, &dep) != 0)
			goto fail;
	if (out_flush(&ob) != 0)
		goto fail;
	out->end = ob.off;
	/* Step 1: the output and its hint are complete on disk. */
	if (io->fdatasync(io->arg, out->fd) != 0) {
		report(e, ENGINE_LOG_ERROR, "compaction: %s: fdatasync: %s",
		    tmp, strerror(errno));
		goto fail;
	}
	for (i = 0; i < ents.n; i++) {
		if (minseq == 0 || ents.ents[i].seq < minseq)
			minseq = ents.ents[i].seq;
		if (ents.ents[i].seq > maxseq)
			maxseq = ents.ents[i].seq;
	}
	if (scan_newest(&ents) != 0 || hint_write(e->dirfd, io, out, out->end,
	    ents.ents, ents.n, minseq, maxseq, err, sizeof(err)) != 0) {
		report(e, ENGINE_LOG_ERROR, "compaction: %s",
		    ents.ents == NULL && ents.n > 0 ? "out of memory" : err);
		goto fail;
	}
	hinted = 1;
	/* Step 2: what made input records dead must outlive a crash too. */
	if (dep > syncer_synced(e->syncer) &&
	    syncer_wait_synced(e->syncer, dep) != 0) {
		report(e, ENGINE_LOG_WARN, "compaction abandoned: the writes "
		    "it depends on did not become durable");
		goto fail;
	}
	if (stopping(c))
		goto fail;
	/* Step 3: commit. */
	if (io->renameat(io->arg, e->dirfd, tmp, name) != 0) {
		report(e, ENGINE_LOG_ERROR, "compaction: rename %s to %s: %s",
		    tmp, name, strerror(errno));
		goto fail;
	}
	committed = 1;
	snprintf(out->name, sizeof(out->name), "%s", name);
	/*
	 * Past the commit the output must not be forgotten: an output on disk
	 * that the engine does not know could bring deleted keys back later.
	 * A failed directory sync only leaves the rename's durability open, and
	 * either outcome is a consistent directory.
	 */
	if (io->fsync(io->arg, e->dirfd) != 0)
		report(e, ENGINE_LOG_WARN, "compaction: fsync of %s: %s",
		    e->dir, strerror(errno));
	if (segment_remap(out, (size_t)out->end, err, sizeof(err)) != 0) {
		report(e, ENGINE_LOG_ERROR, "compaction: %s", err);
		/* Unusable: take it back while the inputs are still whole. */
		if (io->unlinkat(io->arg, e->dirfd, name) != 0) {
			snprintf(err, sizeof(err), "compaction output %s can "
			    "be neither used nor removed (%s); writes refused",
			    name, strerror(errno));
			syncer_fail(e->syncer, err);
		}
		committed = 0;
		out->name[0] = '\0';
		goto fail;
	}
	out->cap = out->end;
	out->total = out->end - out->hdr_len;
	out->min_seq = minseq;
	out->max_seq = maxseq;
	out->has_hint = 1;
	out->dirsynced = 1;
	atomic_store(&out->written, out->end);
	atomic_store(&out->sealed, 1);
	j->out = out;
	free(ids);
	vec_free(&outmem);
	scan_free(&ents);
	return (0);
fail:
	if (!committed) {
		if (out != NULL && out->name[0] != '\0')
			(void)io->unlinkat(io->arg, e->dirfd, tmp);
		if (hinted) {
			segment_filename(name, j->out_id, SEGMENT_FILE_HINT);
			(void)io->unlinkat(io->arg, e->dirfd, name);
		}
	}
	/* A committed output stays: recovery finishes the job at the next open. */
	segment_free(out);
	free(ids);
	vec_free(&outmem);
	scan_free(&ents);
	return (-1);
}

static void
run_unlink(struct compactor *c, struct cjob *j)
{
	struct engine *e = c->e;
	char name[SEGMENT_NAME_MAX];
	size_t i;

	for (i = 0; i < j->nin; i++) {
		uint64_t id = j->in_ids[i];

		segment_filename(name, id, SEGMENT_FILE_SEG);
		if (e->io->unlinkat(e->io->arg, e->dirfd, name) != 0)
			report(e, ENGINE_LOG_WARN, "compaction: unlink %s: %s",
			    name, strerror(errno));
		segment_filename(name, id, SEGMENT_FILE_HINT);
		(void)e->io->unlinkat(e->io->arg, e->dirfd, name);
	}
	if (e->io->fsync(e->io->arg, e->dirfd) != 0)
		report(e, ENGINE_LOG_WARN, "compaction: fsync of %s: %s",
		    e->dir, strerror(errno));
	if (!j->drop_out)
		return;
	/* Its input list was only needed until the inputs were gone. */
	segment_filename(name, j->out_id, SEGMENT_FILE_SEG);
	if (e->io->unlinkat(e->io->arg, e->dirfd, name) != 0)
		report(e, ENGINE_LOG_WARN, "compaction: unlink %s: %s", name,
		    strerror(errno));
	segment_filename(name, j->out_id, SEGMENT_FILE_HINT);
	(void)e->io->unlinkat(e->io->arg, e->dirfd, name);
	(void)e->io->fsync(e->io->arg, e->dirfd);
}

static void *
compactor_main(void *arg)
{
	struct compactor *c = arg;
	struct engine *e = c->e;
	struct cjob *j;
	int r;

	/*
	 * Compaction is deferred work, and under a write-heavy load it shares
	 * the CPU with the loop: a sealed 64 MiB segment takes a few hundred
	 * ms to rewrite.  A lower priority lets the loop serve first while
	 * compaction still runs in its idle time (nice 10 still gets about a
	 * tenth of a contended CPU, so it never starves).  Best effort: on
	 * failure it simply runs at the loop's priority.
	 */
	(void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid),
	    COMPACT_NICE);

	pthread_mutex_lock(&c->mu);
	for (;;) {
		j = c->job;
		while (!c->stop && (j == NULL || (j->phase != PHASE_RUN &&
		    j->phase != PHASE_UNLINK && !j->want_notify))) {
			pthread_cond_wait(&c->cv, &c->mu);
			j = c->job;
		}
		if (c->stop)
			break;
		if (j->want_notify) {
			/* The owner wants another engine_service() to continue its switch. */
			j->want_notify = 0;
			pthread_mutex_unlock(&c->mu);
			engine_notify(e);
			pthread_mutex_lock(&c->mu);
			continue;
		}
		pthread_mutex_unlock(&c->mu);
		if (j->phase == PHASE_UNLINK) {
			run_unlink(c, j);
			r = 0;
		} else if (j->kind == JOB_HINT)
			r = run_hint(e, j);
		else
			r = run_compact(c, j);
		pthread_mutex_lock(&c->mu);
		if (j->phase == PHASE_UNLINK)
			j->phase = PHASE_DONE;
		else if (r != 0)
			j->phase = PHASE_FAILED;
		else
			j->phase = j->kind == JOB_HINT ? PHASE_DONE : PHASE_SWITCH;
		pthread_mutex_unlock(&c->mu);
		engine_notify(e);
		pthread_mutex_lock(&c->mu);
	}
	pthread_mutex_unlock(&c->mu);
	return (NULL);
}

struct compactor *
compactor_start(struct engine *e)
{
	struct compactor *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return (NULL);
	c->e = e;
	if (pthread_mutex_init(&c->mu, NULL) != 0)
		goto err0;
	if (pthread_cond_init(&c->cv, NULL) != 0)
		goto err1;
	if (pthread_create(&c->thr, NULL, compactor_main, c) != 0)
		goto err2;
	return (c);
err2:
	pthread_cond_destroy(&c->cv);
err1:
	pthread_mutex_destroy(&c->mu);
err0:
	free(c);
	return (NULL);
}

static void
job_free(struct engine *e, struct cjob *j)
{
	size_t i;

	if (j == NULL)
		return;
	if (j->kind == JOB_HINT && j->seg != NULL)
		j->seg->busy = 0;
	for (i = 0; i < j->nin; i++)
		if (j->in[i] != NULL)
			j->in[i]->busy = 0;
	/* An output not yet handed to the segment table is ours to free. */
	if (j->out != NULL && segtab_find(&e->segs, j->out->id) != j->out)
		segment_free(j->out);
	free(j->in);
	free(j->in_ids);
	vec_free(&j->movemem);
	free(j);
}

void
compactor_stop(struct engine *e)
{
	struct compactor *c = e->compactor;

	if (c == NULL)
		return;
	pthread_mutex_lock(&c->mu);
	c->stop = 1;
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
	pthread_join(c->thr, NULL);
	job_free(e, c->job);
	pthread_cond_destroy(&c->cv);
	pthread_mutex_destroy(&c->mu);
	free(c);
	e->compactor = NULL;
}

/* ---- owner side ---- */

static int
is_sealed(const struct engine *e, const struct segment *s)
{
	return (s != e->active && !s->active && atomic_load(&s->sealed));
}

static void
queue(struct compactor *c, struct cjob *j)
{
	pthread_mutex_lock(&c->mu);
	c->job = j;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
}

/*
 * Whether automatic compaction wants s now.  Such a segment gets no hint
 * of its own: compaction is about to replace it with a file that has one,
 * and under overwrites (where segments are sealed mostly dead) the hint
 * was about half the work of the background thread.
 */
static int
compaction_due(const struct engine *e, const struct segment *s)
{
	uint64_t dead = s->total - s->live;

	return (e->ratio < 1.0 && s->total > 0 && !s->unreadable &&
	    (double)dead - (double)s->tomb > e->ratio * (double)s->total);
}

/* Pick the inputs of the next compaction: NULL when none is due. */
static struct cjob *
pick_compaction(struct engine *e, struct compactor *c)
{
	struct cjob *j;
	struct segment *s;
	uint64_t budget = 0, oldest = UINT64_MAX, reclaim = 0;
	size_t i, n = 0;
	int on_demand = c->request_below > 0;

	if ((j = calloc(1, sizeof(*j))) == NULL ||
	    (j->in = calloc(e->segs.n, sizeof(*j->in))) == NULL ||
	    (j->in_ids = calloc(e->segs.n, sizeof(*j->in_ids))) == NULL) {
		if (j != NULL)
			free(j->in);
		free(j);
		return (NULL);
	}
	for (i = 0; i < e->segs.n; i++) {
		uint64_t dead, worth;

		s = e->segs.v[i];
		if (!is_sealed(e, s) || s->busy || s->total == 0 ||
		    s->unreadable)
			continue;
		dead = s->total - s->live;
		/* Tombstones are not garbage until they can be dropped. */
		worth = on_demand ? (s->id < c->request_below && dead > 0) :
		    compaction_due(e, s);
		if (!worth)
			continue;
		/* Keep each output about one segment long. */
		if (n > 0 && budget + s->live + s->tomb > e->segment_size)
			break;
		budget += s->live + s->tomb;
		reclaim += dead - s->tomb;
		j->in[n++] = s;
	}
	/*
	 * Compaction outputs are small and, under overwrites, soon mostly dead
	 * too; compacting each as soon as it passes the ratio rewrote the
	 * same few live records (and paid for the file's syncs) dozens of
	 * times a minute.  So an automatic run waits until it frees at least
	 * half of what one full segment past the ratio would.  A single full
	 * segment always qualifies; small ones are gathered into one run.
	 */
	if (n > 0 && !on_demand &&
	    (double)reclaim < e->ratio * (double)e->segment_size / 2)
		n = 0;
	if (n == 0) {
		free(j->in);
		free(j->in_ids);
		free(j);
		c->request_below = 0;
		return (NULL);
	}
	/*
	 * A tombstone may go only if no segment left outside the job can
	 * hold an older record of its key.
	 */
	for (i = 0; i < e->segs.n; i++) {
		size_t k;

		s = e->segs.v[i];
		for (k = 0; k < n && j->in[k] != s; k++)
			;
		if (k == n && s->min_seq > 0 && s->min_seq < oldest)
			oldest = s->min_seq;
	}
	j->kind = JOB_COMPACT;
	j->phase = PHASE_RUN;
	j->nin = n;
	j->oldest_outside = oldest;
	j->out_id = e->next_id++;
	for (i = 0; i < n; i++) {
		j->in[i]->busy = 1;
		j->in_ids[i] = j->in[i]->id;
	}
	return (j);
}

void
compactor_schedule(struct engine *e)
{
	struct compactor *c = e->compactor;
	struct cjob *j;
	struct segment *s;
	size_t i;

	if (c == NULL || c->job != NULL || syncer_failed(e->syncer) != NULL)
		return;
	if (e->compact_requested) {
		e->compact_requested = 0;
		c->request_below = e->next_id;
	}
	for (i = 0; i < e->segs.n; i++) {
		s = e->segs.v[i];
		if (!is_sealed(e, s) || s->has_hint || s->busy ||
		    compaction_due(e, s))
			continue;
		if ((j = calloc(1, sizeof(*j))) == NULL)
			return;
		j->kind = JOB_HINT;
		j->phase = PHASE_RUN;
		j->seg = s;
		s->busy = 1;
		queue(c, j);
		return;
	}
	if (e->next_id > UINT32_MAX)
		return;
	if ((j = pick_compaction(e, c)) != NULL)
		queue(c, j);
}

/* Point the index at the output's copies, SWITCH_BATCH at a time. */
static int
switch_some(struct engine *e, struct cjob *j)
{
	struct segment *out = j->out, *in;
	struct record_header h;
	struct btree_loc to;
	const char *why;
	size_t end = j->switched + SWITCH_BATCH;

	if (end > j->nmoves)
		end = j->nmoves;
	pthread_mutex_lock(&e->ilock);
	for (; j->switched < end; j->switched++) {
		const struct move *m = &j->moves[j->switched];
		const uint8_t *p = out->map + m->new_off;
		uint64_t rs;

		(void)record_header_decode(p, &h, &why);
		rs = record_size(h.klen, h.vlen);
		to.seg = (uint32_t)out->id;
		to.off = m->new_off;
		to.vlen = h.vlen;
		to.seq = h.seq;
		if (btree_move(e->index, p + RECORD_HEADER_SIZE, h.klen,
		    m->old_seg, m->old_off, &to)) {
			out->live += rs;
			if ((in = segtab_find(&e->segs, m->old_seg)) != NULL)
				in->live -= rs;
		}
	}
	pthread_mutex_unlock(&e->ilock);
	return (j->switched == j->nmoves);
}

void
compactor_service(struct engine *e)
{
	struct compactor *c = e->compactor;
	struct cjob *j;
	enum job_phase phase;
	size_t i;

	if (c == NULL)
		return;
	pthread_mutex_lock(&c->mu);
	j = c->job;
	phase = j != NULL ? j->phase : PHASE_RUN;
	pthread_mutex_unlock(&c->mu);
	if (j == NULL || phase == PHASE_RUN || phase == PHASE_UNLINK)
		goto next;
	if (phase == PHASE_SWITCH) {
		if (j->switched == 0 && segtab_find(&e->segs, j->out->id) == NULL) {
			if (segtab_add(&e->segs, j->out) != 0)
				return;		/* tried again at the next service */
			j->out->tomb = j->out_tomb;
			j->out->busy = 1;
		}
		if (!switch_some(e, j)) {
			pthread_mutex_lock(&c->mu);
			j->want_notify = 1;
			pthread_cond_signal(&c->cv);
			pthread_mutex_unlock(&c->mu);
			return;
		}
		/* Nothing points into the inputs now: drop them, then their files. */
		for (i = 0; i < j->nin; i++) {
			segtab_remove(&e->segs, j->in[i]);
			segment_free(j->in[i]);
			j->in[i] = NULL;
		}
		j->out->busy = 0;
		if (j->out->total == 0) {
			segtab_remove(&e->segs, j->out);
			segment_free(j->out);
			j->out = NULL;
			j->drop_out = 1;
		}
		e->compactions++;
		engine_log(e, ENGINE_LOG_INFO, "compaction: %zu segments "
		    "replaced by %zu live records%s", j->nin, j->nmoves,
		    j->drop_out ? "" : " in a new segment");
		pthread_mutex_lock(&c->mu);
		j->phase = PHASE_UNLINK;
		pthread_cond_signal(&c->cv);
		pthread_mutex_unlock(&c->mu);
		return;
	}
	if (phase == PHASE_DONE && j->kind == JOB_HINT)
		j->seg->has_hint = 1;
	pthread_mutex_lock(&c->mu);
	c->job = NULL;
	pthread_mutex_unlock(&c->mu);
	if (phase == PHASE_FAILED && j->kind == JOB_COMPACT) {
		e->compact_failures++;
		/* Else the next pick takes it again, and fails again, at once. */
		if (j->unreadable != NULL)
			j->unreadable->unreadable = 1;
		c->request_below = 0;	/* do not spin on a failing request */
	}
	if (phase == PHASE_FAILED && j->kind == JOB_HINT)
		j->seg->has_hint = -1;	/* not retried until the next open */
	job_free(e, j);
next:
	compactor_schedule(e);
}

int
compactor_idle(struct engine *e)
{
	struct compactor *c = e->compactor;

	if (c == NULL)
		return (1);
	compactor_schedule(e);
	return (c->job == NULL);
}

int
compactor_requested(struct engine *e)
{
	struct compactor *c = e->compactor;

	if (syncer_failed(e->syncer) != NULL)
		return (0);
	return (e->compact_requested || (c != NULL && c->request_below > 0));
}
