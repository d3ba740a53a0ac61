/*
 * engine-int.h: the engine's insides, shared by its modules and its tests.
 * The server includes engine.h only.
 *
 * Threads and what they own:
 *   owner (the loop)  the index, the segment table, every counter here;
 *                     it takes ilock around each index change.
 *   sync thread       writes and syncs appended chunks (syncer.c).
 *   background thread hint files and compaction (compact.c); it reads
 *                     the index only under ilock and hands its results
 *                     back through engine_service().
 */
#ifndef KVD_ENGINE_INT_H
#define KVD_ENGINE_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/engine.h"
#include "daemon/segtab.h"

struct btree;
struct compactor;
struct fileio;
struct segment;
struct syncer;

#define ENGINE_DEFAULT_SEGMENT	(64ull << 20)
#define ENGINE_MIN_SEGMENT	1024ull
#define ENGINE_MAX_SEGMENT	(1ull << 30)
#define ENGINE_DEFAULT_KEY	4096u
#define ENGINE_DEFAULT_VALUE	(64u << 20)
#define ENGINE_DEFAULT_RATIO	0.5
#define ENGINE_LOCK_FILE	"LOCK"
#define ENGINE_DAMAGED_DIR	"damaged"

#define LOGQ_MAX		64
#define LOGQ_LEN		320

struct logq_msg {
	enum engine_log_level	level;
	char			text[LOGQ_LEN];
};

/*
 * Walking the index side by side costs instructions (callgrind: about 430
 * per key against 90 for btree_get) that pay only when the walks miss the
 * CPU's caches, as they do in an index far larger than them.  Below this
 * size the walks run one after another.
 */
#define GET_MANY_SIDE_BY_SIDE	((size_t)16 << 20)

struct engine {
	struct engine_config	 cfg;
	char			*dir;
	int			 dirfd;
	int			 lockfd;
	const struct fileio	*io;
	uint32_t		 max_key;
	uint32_t		 max_value;
	uint64_t		 segment_size;
	double			 ratio;

	struct btree		*index;
	pthread_mutex_t		 ilock;
	struct segtab		 segs;
	struct segment		*active;	/* NULL until the first write */
	uint64_t		 next_id;
	uint64_t		 last_seq;
	_Atomic uint64_t	 last_delete_seq;
	uint64_t		 compactions;
	uint64_t		 compact_failures;
	int			 compact_requested;	/* engine_compact() pending */

	struct syncer		*syncer;
	struct compactor	*compactor;
	struct spare		*spare;		/* NULL without preallocation */
	size_t			 side_by_side_min;	/* GET_MANY_SIDE_BY_SIDE; tests lower it */
	/* Tests: called on the compaction thread once an input is scanned. */
	void			(*compact_scanned)(struct engine *,
				    const struct segment *);

	/* Messages from the background threads, handed to cfg.log by engine_service(). */
	pthread_mutex_t		 logmu;
	struct logq_msg		 logq[LOGQ_MAX];
	size_t			 logq_n;
	uint64_t		 logq_dropped;

	/* Scratch for records read out of the sync thread's chunks. */
	uint8_t			*rbuf;
	size_t			 rbuf_cap;

	/* Read errors logged in the current second (owner only). */
	int64_t			 rerr_sec;
	unsigned		 rerr_logged;
};

/*
 * engine_open_io(cfg, io, out, err, errlen):
 * engine_open() with the file operations taken from io (NULL: the real
 * system calls).  For fault-injection tests.
 */
int engine_open_io(const struct engine_config *cfg, const struct fileio *io,
    struct engine **out, char *err, size_t errlen);

/*
 * engine_idle(e):
 * 1 when no hint file or compaction is queued or running and nothing waits
 * to be written.  Tests poll it (with engine_service()) to reach a quiet state.
 */
int engine_idle(struct engine *e);

/* engine_log(e, level, fmt, ...): report through cfg.log, on the owner thread. */
void engine_log(struct engine *e, enum engine_log_level level,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* engine_report(arg, level, msg): queue a message from a background thread. */
void engine_report(void *arg, enum engine_log_level level, const char *msg);

/* engine_notify(e): wake the owner (calls cfg.notify if set). */
void engine_notify(struct engine *e);

#endif /* !KVD_ENGINE_INT_H */
