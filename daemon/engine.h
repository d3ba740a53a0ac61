/*
 * engine.h: the storage engine, a checksummed append-only log with an
 * ordered in-memory index.
 *
 * The engine knows nothing of sockets or of the wire protocol.  kvd's server
 * calls it from its one event-loop thread; tests call it directly.
 *
 * Threads: every engine_* call except engine_durable_seq() must come from
 * the one thread that owns the engine (the loop).  The engine runs its own
 * sync thread (group commit) and compaction thread; when either has news it
 * calls the notify callback from that thread, and the owner answers by
 * calling engine_service() from its own thread.
 *
 * Durability: engine_put() and engine_delete() append and return at once
 * with the write's sequence number; no system call happens on the caller's
 * thread.  The write is durable once engine_durable_seq() >= that number:
 * under "always" when an fdatasync covers it (one fdatasync covers every
 * write that arrived meanwhile: group commit), under "everysec" and "never"
 * once the sync thread has written it to the OS (a crash of the process
 * then loses nothing; "everysec" also syncs about once a second).  Hold a
 * reply until then, under every policy; it is usually a matter of
 * microseconds under "never".  The same holds for reads: engine_get() and
 * engine_iter() report the sequence number their answer depends on.
 *
 * Callbacks: notify is called from the engine's threads (never from inside
 * an engine_* call) and must only wake the owner, e.g. event_active().  log
 * is called only on the owner's thread, from engine_open(), engine_close()
 * and engine_service(): messages of the background threads are queued and
 * handed over by engine_service().
 *
 * Read-only: after a failed write, fsync or segment creation, writes return
 * ENGINE_EREADONLY, engine_readonly_reason() says why, and
 * engine_durable_seq() stops advancing: a write not yet durable then never
 * will be, so answer it (and reads that depend on it) with an error.  Reads
 * of durable data keep working.
 */
#ifndef KVD_ENGINE_H
#define KVD_ENGINE_H

#include <stddef.h>
#include <stdint.h>

struct engine;

/* Error codes: every function returns 0 or one of these. */
enum engine_err {
	ENGINE_OK = 0,
	ENGINE_ENOTFOUND = -1,	/* no such key */
	ENGINE_EINVAL = -2,	/* bad argument (empty key, bad range) */
	ENGINE_ETOOLARGE = -3,	/* key or value over the configured limit */
	ENGINE_EREADONLY = -4,	/* a write or sync failed earlier: writes refused */
	ENGINE_ECORRUPT = -5,	/* a record failed its checksum: not served */
	ENGINE_EIO = -6,	/* an I/O error (errno in the message) */
	ENGINE_ENOMEM = -7,	/* out of memory */
	ENGINE_ELOCKED = -8,	/* the data directory is in use by another process */
};

enum engine_sync {
	ENGINE_SYNC_ALWAYS,	/* durable = covered by fdatasync (group commit) */
	ENGINE_SYNC_EVERYSEC,	/* fdatasync about once a second */
	ENGINE_SYNC_NEVER,	/* the OS decides; durable as soon as written */
};

enum engine_log_level {
	ENGINE_LOG_ERROR,
	ENGINE_LOG_WARN,
	ENGINE_LOG_INFO,
	ENGINE_LOG_DEBUG,
};

struct engine_config {
	const char	*dir;		/* data directory (created if missing) */
	enum engine_sync sync;
	uint64_t	 segment_size;	/* rotate segments at about this size (0: default) */
	uint32_t	 max_key;	/* largest key in bytes (0: default 4096) */
	uint32_t	 max_value;	/* largest value in bytes (0: default 64 MiB) */
	double		 compact_ratio;	/* compact a sealed segment when dead/total exceeds this (0: default 0.5) */
	int		 preallocate;	/* fallocate new segments (faster fdatasync) */
	/*
	 * Nonzero: the owner calls engine_flush() after each pass of its
	 * loop (Redis's "before sleep"), so appends do not wake the sync
	 * thread one by one.  Zero: every append wakes it.
	 */
	int		 owner_flushes;

	/* Called from the engine's threads when engine_service() has work. */
	void		(*notify)(void *arg);
	void		*notify_arg;

	/* Where the engine reports what it does (torn tail cut, compaction...). */
	void		(*log)(void *arg, enum engine_log_level level, const char *msg);
	void		*log_arg;
};

/* One entry handed to an iteration callback; the pointers are valid only during the call. */
struct engine_entry {
	const void	*key;
	size_t		 klen;
	const void	*value;		/* NULL when keys_only */
	size_t		 vlen;
	uint64_t	 seq;
};

struct engine_stats {
	uint64_t	keys;
	uint64_t	live_bytes;	/* bytes of records the index points at */
	uint64_t	dead_bytes;	/* bytes of overwritten or deleted records */
	uint64_t	segments;
	uint64_t	compactions;	/* compaction runs finished */
	uint64_t	compact_failures; /* runs given up (the log says why) */
	int		compact_pending; /* an engine_compact() not yet over */
	uint64_t	fsyncs;
	uint64_t	fsync_p50_us;
	uint64_t	fsync_p99_us;
	uint64_t	last_seq;	/* highest sequence number appended */
	uint64_t	durable_seq;	/* highest sequence number known durable */
	int		readonly;	/* nonzero after a write or sync failure */
	uint64_t	index_bytes;	/* memory held by the in-memory index */
};

/*
 * engine_open(cfg, out, err, errlen):
 * Lock cfg->dir (flock on cfg->dir/LOCK; ENGINE_ELOCKED while another
 * process, or another engine in this one, holds it), recover it (hint files,
 * then scanning, cutting a torn tail of the newest segment) and start the
 * background threads.  On failure returns an ENGINE_E* code (ENGINE_EINVAL
 * for a bad config, ENGINE_ECORRUPT for damage that needs kvd --repair) and
 * writes one line naming the file, offset and problem into err.
 */
int engine_open(const struct engine_config *cfg, struct engine **out,
    char *err, size_t errlen);

/*
 * engine_close(e):
 * Sync what was written, stop the threads, release the lock, free e.
 * A NULL e is a no-op.
 */
void engine_close(struct engine *e);

/*
 * engine_put(e, key, klen, value, vlen, seq):
 * Append a put record.  *seq receives its sequence number.  Returns 0,
 * ENGINE_EINVAL (klen 0), ENGINE_ETOOLARGE, ENGINE_EREADONLY, ENGINE_EIO.
 */
int engine_put(struct engine *e, const void *key, size_t klen,
    const void *value, size_t vlen, uint64_t *seq);

/*
 * engine_delete(e, key, klen, seq):
 * Append a tombstone if key exists.  Returns 0, ENGINE_ENOTFOUND (nothing
 * appended; *seq is then the sequence number the absence depends on, as for
 * engine_get()), or the errors of engine_put().
 */
int engine_delete(struct engine *e, const void *key, size_t klen,
    uint64_t *seq);

/*
 * engine_get(e, key, klen, value, vlen, seq):
 * Read key's value into a malloc'd buffer *value (the caller frees it) of
 * *vlen bytes, verifying its checksum.  *seq receives the sequence number
 * of the record read, or on ENGINE_ENOTFOUND the sequence number a reader
 * must wait for before reporting absence (the newest tombstone).  Returns 0,
 * ENGINE_ENOTFOUND, ENGINE_ECORRUPT, ENGINE_EIO, ENGINE_ENOMEM.
 */
int engine_get(struct engine *e, const void *key, size_t klen,
    void **value, size_t *vlen, uint64_t *seq);

/*
 * engine_get_ref(e, key, klen, value, vlen, seq):
 * engine_get() without the copy: *value points at the verified value
 * inside the engine (the segment's mapping or its read buffer), valid only
 * until the next engine_* call on the owner thread; copy it (or encode it)
 * before then.  Same returns as engine_get() except ENGINE_ENOMEM only
 * when the record had to be read out of memory not yet written.
 */
int engine_get_ref(struct engine *e, const void *key, size_t klen,
    const void **value, size_t *vlen, uint64_t *seq);

/* One key of engine_get_many(): key and klen in, the rest out. */
struct engine_read {
	const void	*key;
	size_t		 klen;
	int		 rc;	/* as engine_get_ref() returns */
	const void	*value;
	size_t		 vlen;
	uint64_t	 seq;
};

#define ENGINE_GET_MANY_MAX	16

/*
 * engine_get_many(e, r, n):
 * engine_get_ref() for each of n keys (up to ENGINE_GET_MANY_MAX; more
 * give ENGINE_EINVAL and no results), as if called in order with nothing
 * in between: r[i].rc, value, vlen and seq are what that call would give.
 * Every value stays valid together, until the next engine_* call on the
 * owner thread (engine_durable_seq() and engine_readonly_reason(), which
 * only look, leave them be).  The index walks and record reads of the keys run side by
 * side, so their cache misses overlap: for a run of gets from a
 * pipelined client this is about twice as fast as one get at a time on an
 * index far larger than the CPU's caches.
 */
int engine_get_many(struct engine *e, struct engine_read *r, size_t n);

/*
 * engine_iter(e, start, slen, start_exclusive, end, elen, prefix, plen,
 *     limit, keys_only, cb, arg, more, seq):
 * Call cb for up to limit keys (0: no limit) in ascending byte order, from
 * start (slen 0: the first key; inclusive unless start_exclusive), before
 * end (elen 0: no bound), and beginning with prefix (plen 0: any).  cb
 * returns 0 to go on, nonzero to stop (the entry it saw counts as
 * returned); it must not call into the engine.  With keys_only, ent->value
 * is NULL and ent->vlen still gives the value's length.  *more is set when
 * further keys match.  *seq receives the newest sequence number the page
 * depends on (seq may be NULL).  Returns 0, ENGINE_EINVAL (end before
 * start), or an error; a value that fails its checksum ends the iteration
 * with ENGINE_ECORRUPT.
 */
int engine_iter(struct engine *e, const void *start, size_t slen,
    int start_exclusive, const void *end, size_t elen,
    const void *prefix, size_t plen, size_t limit, int keys_only,
    int (*cb)(void *arg, const struct engine_entry *ent), void *arg,
    int *more, uint64_t *seq);

/*
 * engine_durable_seq(e):
 * The highest sequence number that the policy counts as durable.  Safe from
 * any thread.
 */
uint64_t engine_durable_seq(const struct engine *e);

/*
 * engine_service(e):
 * Apply what the background threads finished (durable sequence, a completed
 * compaction's index switch).  Call it from the owner thread after notify.
 */
void engine_service(struct engine *e);

/*
 * engine_flush(e):
 * Hand over every write appended since the last call, once per pass of the
 * owner's loop (cfg->owner_flushes).  Under "never" and "everysec" the
 * calling thread writes them to the segment itself (one pwrite per 1 MiB
 * of records), so when it returns engine_durable_seq() usually covers them
 * and held replies can go out at once, with no thread hand-off; when the
 * sync thread is busy (a seal, the once-a-second sync) it writes them
 * instead and notifies.  Under "always" it wakes the sync thread once for
 * all of them (group commit) and never waits for the disk.  A failed write
 * turns the engine read-only and calls notify (from the calling thread,
 * for once) before this returns.  Cheap when nothing was appended.
 */
void engine_flush(struct engine *e);

/*
 * engine_sync(e):
 * Request an immediate sync of everything appended; it completes in the
 * background (notify, then engine_durable_seq()).
 */
void engine_sync(struct engine *e);

/*
 * engine_compact(e):
 * Start a compaction of every sealed segment that holds dead records, now,
 * in the background, whatever cfg->compact_ratio says (1 turns only the
 * automatic compaction off).  The segments are those sealed by the time
 * the request is taken up: at once, or when the hint file or compaction
 * already running is done; requests made meanwhile merge into one.  It
 * may take several runs, each writing about one segment; stats.compactions
 * counts finished runs, stats.compact_failures runs given up (which also
 * ends the request), and stats.compact_pending stays nonzero until the
 * request is over, or the engine turns read-only.  Returns 0, or
 * ENGINE_EREADONLY (nothing is scheduled).
 */
int engine_compact(struct engine *e);

/* engine_stats(e, out): fill out with current figures. */
void engine_stats(struct engine *e, struct engine_stats *out);

/*
 * engine_readonly_reason(e):
 * Why writes are refused (one line), or NULL while the engine accepts writes.
 */
const char *engine_readonly_reason(const struct engine *e);

/* engine_strerror(err): a short description of an ENGINE_E* code. */
const char *engine_strerror(int err);

/*
 * engine_check(dir, report, arg):
 * Read every file in dir without changing anything; call report once per
 * problem with one line naming file and offset.  Returns 0 when clean, 1
 * when problems were found, or a negative ENGINE_E* if dir cannot be read.
 */
int engine_check(const char *dir,
    void (*report)(void *arg, const char *line), void *arg);

/*
 * engine_repair(dir, report, arg):
 * Keep every valid record, move damaged files aside (never delete), and
 * leave dir openable.  report describes each action.  Returns 0 or a
 * negative ENGINE_E*.
 */
int engine_repair(const char *dir,
    void (*report)(void *arg, const char *line), void *arg);

#endif /* !KVD_ENGINE_H */
