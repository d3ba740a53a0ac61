/*
 * engine-util.c: shared helpers of the engine tests.  See engine-util.h.
 */
#include "config.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon/engine-int.h"
#include "daemon/segment.h"
#include "tests/engine-util.h"

/*
 * Temporary directories not yet removed, so that a test that fails (cmocka
 * jumps out of it, past tenv_done) still leaves nothing behind: the
 * program's exit removes them.  Test-program state, like cmocka's own.
 */
#define MAX_ROOTS	64
static char *live_roots[MAX_ROOTS];
static int cleanup_registered;

static void
remove_live_roots(void)
{
	int i;

	for (i = 0; i < MAX_ROOTS; i++)
		if (live_roots[i] != NULL) {
			rmtree(live_roots[i]);
			free(live_roots[i]);
			live_roots[i] = NULL;
		}
}

static void
track_root(const char *root, int add)
{
	int i;

	if (!cleanup_registered) {
		atexit(remove_live_roots);
		cleanup_registered = 1;
	}
	for (i = 0; i < MAX_ROOTS; i++) {
		if (add && live_roots[i] == NULL) {
			live_roots[i] = strdup(root);
			return;
		}
		if (!add && live_roots[i] != NULL &&
		    strcmp(live_roots[i], root) == 0) {
			free(live_roots[i]);
			live_roots[i] = NULL;
			return;
		}
	}
}

static void
on_notify(void *arg)
{
	struct tenv *t = arg;

	pthread_mutex_lock(&t->mu);
	t->notified = 1;
	pthread_cond_signal(&t->cv);
	pthread_mutex_unlock(&t->mu);
}

static void
on_log(void *arg, enum engine_log_level level, const char *msg)
{
	struct tenv *t = arg;
	size_t n = strlen(msg);

	(void)level;
	if (getenv("KVD_TEST_VERBOSE") != NULL)
		fprintf(stderr, "# engine: %s\n", msg);
	/* Keep the newest lines when the buffer fills. */
	if (n + 2 > sizeof(t->log))
		return;
	if (t->loglen + n + 2 > sizeof(t->log))
		t->loglen = 0;
	memcpy(t->log + t->loglen, msg, n);
	t->loglen += n;
	t->log[t->loglen++] = '\n';
	t->log[t->loglen] = '\0';
}

void
tenv_init(struct tenv *t, enum engine_sync sync)
{
	const char *tmp = getenv("TMPDIR");

	memset(t, 0, sizeof(*t));
	snprintf(t->root, sizeof(t->root), "%s/kvd-engine-XXXXXX",
	    tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
	if (mkdtemp(t->root) == NULL)
		fail_msg("mkdtemp %s: %s", t->root, strerror(errno));
	track_root(t->root, 1);
	snprintf(t->dir, sizeof(t->dir), "%s/data", t->root);
	pthread_mutex_init(&t->mu, NULL);
	pthread_cond_init(&t->cv, NULL);
	t->cfg.dir = t->dir;
	t->cfg.sync = sync;
	t->cfg.segment_size = 64 * 1024;
	t->cfg.notify = on_notify;
	t->cfg.notify_arg = t;
	t->cfg.log = on_log;
	t->cfg.log_arg = t;
}

int
tenv_open(struct tenv *t)
{
	return (tenv_open_io(t, NULL));
}

int
tenv_open_io(struct tenv *t, const struct fileio *io)
{
	t->e = NULL;
	t->err[0] = '\0';
	t->loglen = 0;
	t->log[0] = '\0';
	return (engine_open_io(&t->cfg, io, &t->e, t->err, sizeof(t->err)));
}

void
tenv_close(struct tenv *t)
{
	engine_close(t->e);
	t->e = NULL;
}

void
tenv_reopen(struct tenv *t)
{
	int r;

	tenv_close(t);
	if ((r = tenv_open(t)) != 0)
		fail_msg("reopen: %s: %s", engine_strerror(r), t->err);
}

void
tenv_done(struct tenv *t)
{
	tenv_close(t);
	rmtree(t->root);
	track_root(t->root, 0);
	pthread_cond_destroy(&t->cv);
	pthread_mutex_destroy(&t->mu);
}

/* Wait for a notify (at most ms), then play the owner. */
static void
serve(struct tenv *t, int ms)
{
	struct timespec dl;

	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_nsec += (long)ms * 1000000L;
	dl.tv_sec += dl.tv_nsec / 1000000000L;
	dl.tv_nsec %= 1000000000L;
	pthread_mutex_lock(&t->mu);
	while (!t->notified)
		if (pthread_cond_timedwait(&t->cv, &t->mu, &dl) != 0)
			break;
	t->notified = 0;
	pthread_mutex_unlock(&t->mu);
	engine_service(t->e);
}

void
tenv_wait_durable(struct tenv *t, uint64_t seq)
{
	int i;

	for (i = 0; i < 3000 && engine_durable_seq(t->e) < seq; i++) {
		if (engine_readonly_reason(t->e) != NULL)
			fail_msg("engine went read-only: %s",
			    engine_readonly_reason(t->e));
		serve(t, 10);
	}
	if (engine_durable_seq(t->e) < seq)
		fail_msg("seq %llu not durable after 30 s (durable %llu)",
		    (unsigned long long)seq,
		    (unsigned long long)engine_durable_seq(t->e));
	engine_service(t->e);
}

void
tenv_wait_idle(struct tenv *t)
{
	int i;

	engine_service(t->e);
	for (i = 0; i < 6000 && !engine_idle(t->e); i++)
		serve(t, 10);
	if (!engine_idle(t->e))
		fail_msg("engine not idle after 60 s");
	engine_service(t->e);
}

const char *
tenv_path(const struct tenv *t, const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", t->dir, name);
	return (buf);
}

int
tenv_log_has(const struct tenv *t, const char *needle)
{
	return (strstr(t->log, needle) != NULL);
}

long long
tenv_file_size(const struct tenv *t, const char *name)
{
	char p[512];
	struct stat st;

	if (stat(tenv_path(t, name, p, sizeof(p)), &st) != 0)
		return (-1);
	return ((long long)st.st_size);
}

void
tenv_flip_bit(const struct tenv *t, const char *name, uint64_t off, int bit)
{
	char p[512];
	unsigned char b;
	int fd;

	if ((fd = open(tenv_path(t, name, p, sizeof(p)), O_RDWR)) < 0)
		fail_msg("open %s: %s", p, strerror(errno));
	assert_int_equal(pread(fd, &b, 1, (off_t)off), 1);
	b ^= (unsigned char)(1u << bit);
	assert_int_equal(pwrite(fd, &b, 1, (off_t)off), 1);
	close(fd);
}

void
tenv_truncate(const struct tenv *t, const char *name, uint64_t len)
{
	char p[512];

	if (truncate(tenv_path(t, name, p, sizeof(p)), (off_t)len) != 0)
		fail_msg("truncate %s: %s", p, strerror(errno));
}

int
tenv_newest_seg(const struct tenv *t, char *name, size_t len)
{
	DIR *d;
	struct dirent *de;
	uint64_t id, best = 0;
	int found = 0;

	if ((d = opendir(t->dir)) == NULL)
		return (0);
	while ((de = readdir(d)) != NULL)
		if (segment_parse_name(de->d_name, &id) == SEGMENT_FILE_SEG &&
		    (!found || id > best)) {
			best = id;
			found = 1;
		}
	closedir(d);
	if (found) {
		char n[SEGMENT_NAME_MAX];

		segment_filename(n, best, SEGMENT_FILE_SEG);
		snprintf(name, len, "%s", n);
	}
	return (found);
}

void
tenv_copy_dir(const char *from, const char *to)
{
	DIR *d;
	struct dirent *de;
	char a[1024], b[1024], buf[65536];
	struct stat st;
	ssize_t n;
	int in, out;

	if (mkdir(to, 0755) != 0 && errno != EEXIST)
		fail_msg("mkdir %s: %s", to, strerror(errno));
	assert_non_null(d = opendir(from));
	while ((de = readdir(d)) != NULL) {
		snprintf(a, sizeof(a), "%s/%s", from, de->d_name);
		snprintf(b, sizeof(b), "%s/%s", to, de->d_name);
		if (lstat(a, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		assert_true((in = open(a, O_RDONLY)) >= 0);
		assert_true((out = open(b, O_WRONLY | O_CREAT | O_TRUNC,
		    0644)) >= 0);
		while ((n = read(in, buf, sizeof(buf))) > 0)
			assert_int_equal(write(out, buf, (size_t)n), n);
		close(in);
		close(out);
	}
	closedir(d);
}

uint64_t
tenv_put(struct tenv *t, const char *k, const char *v)
{
	uint64_t seq = 0;
	int r = engine_put(t->e, k, strlen(k), v, strlen(v), &seq);

	if (r != 0)
		fail_msg("put %s: %s", k, engine_strerror(r));
	return (seq);
}

int
tenv_get_eq(struct tenv *t, const char *k, const char *v)
{
	void *val;
	size_t vlen;
	uint64_t seq;
	int r = engine_get(t->e, k, strlen(k), &val, &vlen, &seq);

	if (r != 0)
		return (r);
	r = vlen == strlen(v) && memcmp(val, v, vlen) == 0 ? 0 : 1;
	free(val);
	return (r);
}

/* ---- injectable file operations ---- */

/* Count the op; 0 to go ahead, -1 (errno set) to fail it. */
static int
tio_enter(struct tio *t, int kind)
{
	int r = 0;

	pthread_mutex_lock(&t->mu);
	t->count[kind]++;
	t->ops++;
	if (t->crash_at != 0 && t->ops >= t->crash_at)
		_exit(0);	/* the process dies mid-flight, like kill -9 */
	if (t->fail_kind == kind && (t->count[kind] == t->fail_at ||
	    (t->fail_sticky && t->count[kind] > t->fail_at))) {
		errno = t->fail_errno;
		t->failed++;
		r = -1;
	}
	if (kind == TIO_FDATASYNC && r == 0) {
		t->at_gate++;
		pthread_cond_broadcast(&t->cv);
		while (t->gate_closed)
			pthread_cond_wait(&t->cv, &t->mu);
		t->at_gate--;
	}
	pthread_mutex_unlock(&t->mu);
	return (r);
}

static int
tio_pwrite(void *arg, int fd, const void *buf, size_t n, off_t off)
{
	struct tio *t = arg;

	if (tio_enter(t, TIO_PWRITE) != 0)
		return (-1);
	return (fileio_posix()->pwrite(NULL, fd, buf, n, off));
}

static int
tio_fdatasync(void *arg, int fd)
{
	struct tio *t = arg;

	if (tio_enter(t, TIO_FDATASYNC) != 0)
		return (-1);
	return (fileio_posix()->fdatasync(NULL, fd));
}

static int
tio_fsync(void *arg, int fd)
{
	struct tio *t = arg;

	if (tio_enter(t, TIO_FSYNC) != 0)
		return (-1);
	return (fileio_posix()->fsync(NULL, fd));
}

static int
tio_ftruncate(void *arg, int fd, off_t len)
{
	struct tio *t = arg;

	if (tio_enter(t, TIO_FTRUNCATE) != 0)
		return (-1);
	return (fileio_posix()->ftruncate(NULL, fd, len));
}

static int
tio_fallocate(void *arg, int fd, off_t len)
{
	struct tio *t = arg;

	if (tio_enter(t, TIO_FALLOCATE) != 0)
		return (-1);
	return (fileio_posix()->fallocate(NULL, fd, len));
}

static int
tio_renameat(void *arg, int dirfd, const char *from, const char *to)
{
	struct tio *t = arg;

	if (tio_enter(t, TIO_RENAME) != 0)
		return (-1);
	return (fileio_posix()->renameat(NULL, dirfd, from, to));
}

static int
tio_unlinkat(void *arg, int dirfd, const char *name)
{
	struct tio *t = arg;

	if (tio_enter(t, TIO_UNLINK) != 0)
		return (-1);
	return (fileio_posix()->unlinkat(NULL, dirfd, name));
}

static int
tio_linkat(void *arg, int fromdir, const char *from, int todir,
    const char *to)
{
	struct tio *t = arg;

	if (tio_enter(t, TIO_LINK) != 0)
		return (-1);
	return (fileio_posix()->linkat(NULL, fromdir, from, todir, to));
}

void
tio_init(struct tio *t)
{
	memset(t, 0, sizeof(*t));
	pthread_mutex_init(&t->mu, NULL);
	pthread_cond_init(&t->cv, NULL);
	t->fail_kind = -1;
	t->io.pwrite = tio_pwrite;
	t->io.fdatasync = tio_fdatasync;
	t->io.fsync = tio_fsync;
	t->io.ftruncate = tio_ftruncate;
	t->io.fallocate = tio_fallocate;
	t->io.renameat = tio_renameat;
	t->io.unlinkat = tio_unlinkat;
	t->io.linkat = tio_linkat;
	t->io.arg = t;
}

void
tio_fail(struct tio *t, int kind, unsigned long at, int err, int sticky)
{
	pthread_mutex_lock(&t->mu);
	t->fail_kind = kind;
	t->fail_at = t->count[kind] + at;
	t->fail_errno = err;
	t->fail_sticky = sticky;
	pthread_mutex_unlock(&t->mu);
}

void
tio_crash_after(struct tio *t, unsigned long n)
{
	pthread_mutex_lock(&t->mu);
	t->crash_at = t->ops + n;
	pthread_mutex_unlock(&t->mu);
}

void
tio_gate(struct tio *t, int closed)
{
	pthread_mutex_lock(&t->mu);
	t->gate_closed = closed;
	pthread_cond_broadcast(&t->cv);
	pthread_mutex_unlock(&t->mu);
}

void
tio_wait_at_gate(struct tio *t)
{
	struct timespec dl;

	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += 30;
	pthread_mutex_lock(&t->mu);
	while (t->at_gate == 0)
		if (pthread_cond_timedwait(&t->cv, &t->mu, &dl) != 0)
			break;
	if (t->at_gate == 0) {
		pthread_mutex_unlock(&t->mu);
		fail_msg("no fdatasync reached the gate in 30 s");
	}
	pthread_mutex_unlock(&t->mu);
}

unsigned long
tio_count(struct tio *t, int kind)
{
	unsigned long n;

	pthread_mutex_lock(&t->mu);
	n = kind == TIO_ANY ? t->ops : t->count[kind];
	pthread_mutex_unlock(&t->mu);
	return (n);
}

void
tio_destroy(struct tio *t)
{
	pthread_cond_destroy(&t->cv);
	pthread_mutex_destroy(&t->mu);
}

void
tlines_collect(void *arg, const char *line)
{
	struct tlines *l = arg;
	size_t n = strlen(line);

	l->n++;
	if (l->len + n + 2 > sizeof(l->text))
		return;
	memcpy(l->text + l->len, line, n);
	l->len += n;
	l->text[l->len++] = '\n';
	l->text[l->len] = '\0';
}
