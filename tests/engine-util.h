/*
 * engine-util.h: what the engine tests share: a temporary data directory,
 * opening an engine with a captured log, and waiting for the background
 * threads without sleeping blindly (notify sets a flag under a condition
 * variable; the test thread plays the owner and calls engine_service()).
 */
#ifndef KVD_TESTS_ENGINE_UTIL_H
#define KVD_TESTS_ENGINE_UTIL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/engine.h"
#include "rmtree.h"

struct fileio;

struct tenv {
	char			 dir[320];	/* the data directory */
	char			 root[256];	/* its temporary parent */
	struct engine_config	 cfg;
	struct engine		*e;
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;
	int			 notified;
	char			 log[8192];	/* the engine's messages, one per line */
	size_t			 loglen;
	char			 err[512];	/* engine_open's last error line */
};

/*
 * tenv_init(t, sync): a fresh temp dir and a config with small segments.
 * The dir is removed by tenv_done(), or at exit if a failed test skipped it.
 */
void tenv_init(struct tenv *t, enum engine_sync sync);

/* tenv_open(t): engine_open(&t->cfg) into t->e (log cleared); returns its code. */
int tenv_open(struct tenv *t);

/* tenv_open_io(t, io): the same with injected file operations. */
int tenv_open_io(struct tenv *t, const struct fileio *io);

/* tenv_close(t): engine_close(t->e). */
void tenv_close(struct tenv *t);

/* tenv_reopen(t): close and open again; asserts success. */
void tenv_reopen(struct tenv *t);

/* tenv_done(t): close, remove the directory tree. */
void tenv_done(struct tenv *t);

/* tenv_wait_durable(t, seq): serve the engine until seq is durable (asserts, bounded). */
void tenv_wait_durable(struct tenv *t, uint64_t seq);

/* tenv_wait_idle(t): serve the engine until hints and compactions are done (bounded). */
void tenv_wait_idle(struct tenv *t);

/* tenv_path(t, name, buf, len): dir/name into buf. */
const char *tenv_path(const struct tenv *t, const char *name, char *buf,
    size_t len);

/* tenv_log_has(t, needle): 1 when the engine logged a line containing needle. */
int tenv_log_has(const struct tenv *t, const char *needle);

/* tenv_file_size(t, name): size of dir/name, or -1. */
long long tenv_file_size(const struct tenv *t, const char *name);

/* tenv_flip_bit(t, name, off, bit): flip one bit of a file in place. */
void tenv_flip_bit(const struct tenv *t, const char *name, uint64_t off,
    int bit);

/* tenv_truncate(t, name, len): cut a file. */
void tenv_truncate(const struct tenv *t, const char *name, uint64_t len);

/* tenv_newest_seg(t, name, len): name of the highest-numbered segment file. */
int tenv_newest_seg(const struct tenv *t, char *name, size_t len);

/* tenv_copy_dir(from, to): copy the regular files of from into to (created). */
void tenv_copy_dir(const char *from, const char *to);


/* tenv_put/get helpers for strings. */
/* What engine_check() and engine_repair() report, one line each. */
struct tlines {
	char	text[16384];
	size_t	len;
	int	n;
};

/* tlines_collect(arg, line): a report callback appending to *arg (a tlines). */
void tlines_collect(void *arg, const char *line);

uint64_t tenv_put(struct tenv *t, const char *k, const char *v);
int tenv_get_eq(struct tenv *t, const char *k, const char *v);

#endif /* !KVD_TESTS_ENGINE_UTIL_H */

/*
 * A struct fileio for tests: counts every operation, can fail the n-th
 * operation of a kind (once or from then on), can end the process at the
 * n-th mutating operation (a crash at an exact step), and can hold
 * fdatasync at a gate until the test opens it.
 */
#include "daemon/fileio.h"

enum tio_kind {
	TIO_PWRITE,
	TIO_FDATASYNC,
	TIO_FSYNC,
	TIO_FTRUNCATE,
	TIO_FALLOCATE,
	TIO_RENAME,
	TIO_UNLINK,
	TIO_LINK,
	TIO_NKINDS,
	TIO_ANY = TIO_NKINDS,
};

struct tio {
	struct fileio		io;
	pthread_mutex_t		mu;
	pthread_cond_t		cv;
	unsigned long		count[TIO_NKINDS];
	unsigned long		ops;		/* all kinds */
	int			fail_kind;	/* -1: none */
	unsigned long		fail_at;	/* 1-based count of that kind */
	int			fail_errno;
	int			fail_sticky;
	int			failed;
	unsigned long		crash_at;	/* 0: never; _exit(0) at that op */
	int			gate_closed;
	int			at_gate;
};

/* tio_init(t): pass-through, nothing armed. */
void tio_init(struct tio *t);

/* tio_fail(t, kind, at, err, sticky): fail the at-th op of kind from now on. */
void tio_fail(struct tio *t, int kind, unsigned long at, int err, int sticky);

/* tio_crash_after(t, n): _exit(0) when the n-th mutating op from now starts. */
void tio_crash_after(struct tio *t, unsigned long n);

/* tio_gate(t, closed): hold (or release) fdatasync calls. */
void tio_gate(struct tio *t, int closed);

/* tio_wait_at_gate(t): wait (bounded) until a fdatasync waits at the gate. */
void tio_wait_at_gate(struct tio *t);

/* tio_count(t, kind): how many ops of kind ran so far. */
unsigned long tio_count(struct tio *t, int kind);

/* tio_destroy(t). */
void tio_destroy(struct tio *t);
