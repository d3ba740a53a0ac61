/*
 * syncer.h: the write-behind buffer and the sync thread (group commit).
 *
 * The owner thread appends encoded records into memory chunks and returns
 * at once.  The sync thread writes whatever has accumulated with one pwrite
 * per chunk, then, as the policy asks, one fdatasync covering every record
 * written; so one sync serves all the writes that arrived while the previous
 * one ran.  It seals full segments (truncate the preallocated tail, sync)
 * before a byte goes to the next one, which is what lets recovery accept a
 * torn tail only in the newest segment.  A failed write or sync is final:
 * the syncer stops, keeps the reason, and sequence numbers stop advancing.
 */
#ifndef KVD_SYNCER_H
#define KVD_SYNCER_H

#include <stddef.h>
#include <stdint.h>

#include "daemon/engine.h"

struct fileio;
struct segment;
struct syncer;

struct syncer_config {
	enum engine_sync	 policy;
	int			 dirfd;
	const struct fileio	*io;
	void			(*notify)(void *arg);
	void			*notify_arg;
	/* Called (from the sync thread) with one line when something fails. */
	void			(*report)(void *arg, enum engine_log_level,
				    const char *msg);
	void			*report_arg;
	/*
	 * The owner calls syncer_flush() once per pass of its loop: appends
	 * do not wake the thread, and under everysec and never the owner
	 * writes them itself.
	 */
	int			 owner_writes;
};

/*
 * syncer_start(cfg, last_seq):
 * Start the sync thread; everything up to last_seq counts as synced.
 * Returns NULL when memory or threads are short.
 */
struct syncer *syncer_start(const struct syncer_config *cfg,
    uint64_t last_seq);

/*
 * syncer_stop(s):
 * Write and sync everything appended, stop the thread, free s.  NULL is a
 * no-op.
 */
void syncer_stop(struct syncer *s);

/*
 * syncer_reserve(s, seg, off, len):
 * Room for len bytes destined for seg at file offset off (which must follow
 * the last reservation for seg); fill it, then call syncer_commit().  Only
 * the owner thread appends, and usually without taking a lock.  Waits while
 * too much is unwritten.  Returns NULL when memory is short.
 */
uint8_t *syncer_reserve(struct syncer *s, struct segment *seg, uint64_t off,
    size_t len);

/* syncer_commit(s, seq): the reserved bytes hold the record seq; wake the thread. */
void syncer_commit(struct syncer *s, uint64_t seq);

/*
 * syncer_flush(s):
 * Hand over everything appended since the last call.  Under never and
 * everysec the caller writes it to the files itself (one pwrite per
 * chunk; the durable sequence has advanced when this returns, unless the
 * thread was busy or a seal is pending, in which case the thread writes
 * and notifies).  Under always, or when the thread has a seal or a sync
 * to do, it wakes the thread once.  A write failure is reported as in the
 * thread (report, notify) before this returns.
 */
void syncer_flush(struct syncer *s);

/*
 * syncer_seal(s, seg):
 * seg takes no more records: once its bytes are written, truncate it to
 * seg->end (if preallocated), fdatasync it and set seg->sealed.  Returns 0
 * or -1 when memory is short.
 */
int syncer_seal(struct syncer *s, struct segment *seg);

/*
 * syncer_read(s, seg, off, len, dst):
 * Copy a record that may still sit in a chunk.  Returns 1 when copied, 0
 * when it is already in the file (read it through seg->map).
 */
int syncer_read(struct syncer *s, const struct segment *seg, uint64_t off,
    size_t len, void *dst);

/* syncer_request(s): fdatasync everything appended so far, whatever the policy. */
void syncer_request(struct syncer *s);

/*
 * syncer_wait_synced(s, seq):
 * Block until fdatasync covers seq (requesting it).  Returns 0, or -1 if the
 * syncer failed or is stopping.
 */
int syncer_wait_synced(struct syncer *s, uint64_t seq);

/* syncer_durable(s): the highest seq that counts as durable under the policy. */
uint64_t syncer_durable(const struct syncer *s);

/* syncer_synced(s): the highest seq covered by an fdatasync. */
uint64_t syncer_synced(const struct syncer *s);

/* syncer_failed(s): the reason writes stopped, or NULL. */
const char *syncer_failed(const struct syncer *s);

/*
 * syncer_fail(s, reason):
 * Stop writing for a reason found elsewhere (a segment that cannot be
 * created).  The first reason sticks.
 */
void syncer_fail(struct syncer *s, const char *reason);

/* syncer_stats(s, fsyncs, p50_us, p99_us): fdatasync count and latency. */
void syncer_stats(struct syncer *s, uint64_t *fsyncs, uint64_t *p50_us,
    uint64_t *p99_us);

/* syncer_pending(s): bytes appended but not yet written. */
size_t syncer_pending(struct syncer *s);

#endif /* !KVD_SYNCER_H */
