/*
 * spare.c: the next segment's file, made ahead of need.  See spare.h.
 */
#include "config.h"

#include <sys/resource.h>
#include <sys/syscall.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/fileio.h"
#include "daemon/segment.h"
#include "daemon/spare.h"

/* Background work, like compaction: the loop comes first. */
#define SPARE_NICE	10
#define ZERO_CHUNK	((size_t)1 << 20)

struct spare {
	int		 dirfd;
	uint64_t	 size;
	void		(*report)(void *, enum engine_log_level, const char *);
	void		*report_arg;

	pthread_t	 thr;
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	int		 fd;		/* a ready spare, or -1 */
	int		 want;		/* make one */
	atomic_int	 stop;
};

static void
say(struct spare *sp, const char *what)
{
	char msg[256];

	snprintf(msg, sizeof(msg), "%s: %s: %s; new segments are fallocated "
	    "instead", SEGMENT_SPARE_NAME, what, strerror(errno));
	sp->report(sp->report_arg, ENGINE_LOG_WARN, msg);
}

/* Write the spare and sync it; its fd, or -1 (stopped or failed). */
static int
make(struct spare *sp, const uint8_t *zeros)
{
	const struct fileio *io = fileio_posix();
	uint64_t off;
	size_t n;
	int fd;

	fd = openat(sp->dirfd, SEGMENT_SPARE_NAME, O_RDWR | O_CREAT | O_TRUNC |
	    O_CLOEXEC, 0644);
	if (fd < 0) {
		say(sp, "create");
		return (-1);
	}
	for (off = 0; off < sp->size; off += n) {
		if (atomic_load(&sp->stop))
			goto fail;
		n = sp->size - off < ZERO_CHUNK ? (size_t)(sp->size - off) :
		    ZERO_CHUNK;
		if (io->pwrite(io->arg, fd, zeros, n, (off_t)off) != 0) {
			say(sp, "writing zeros");
			goto fail;
		}
	}
	/* Until the blocks are allocated on disk the spare saves nothing. */
	if (io->fdatasync(io->arg, fd) != 0) {
		say(sp, "fdatasync");
		goto fail;
	}
	return (fd);
fail:
	close(fd);
	(void)unlinkat(sp->dirfd, SEGMENT_SPARE_NAME, 0);
	return (-1);
}

static void *
spare_main(void *arg)
{
	struct spare *sp = arg;
	uint8_t *zeros;
	int fd;

	(void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), SPARE_NICE);
	if ((zeros = calloc(1, ZERO_CHUNK)) == NULL) {
		errno = ENOMEM;
		say(sp, "no memory for the thread");
		return (NULL);
	}
	pthread_mutex_lock(&sp->mu);
	for (;;) {
		while (!atomic_load(&sp->stop) && (sp->fd >= 0 || !sp->want))
			pthread_cond_wait(&sp->cv, &sp->mu);
		if (atomic_load(&sp->stop))
			break;
		sp->want = 0;
		pthread_mutex_unlock(&sp->mu);
		fd = make(sp, zeros);
		pthread_mutex_lock(&sp->mu);
		sp->fd = fd;
	}
	pthread_mutex_unlock(&sp->mu);
	free(zeros);
	return (NULL);
}

struct spare *
spare_start(int dirfd, uint64_t size,
    void (*report)(void *, enum engine_log_level, const char *), void *arg)
{
	struct spare *sp;

	if ((sp = calloc(1, sizeof(*sp))) == NULL)
		return (NULL);
	sp->dirfd = dirfd;
	sp->size = size;
	sp->report = report;
	sp->report_arg = arg;
	sp->fd = -1;
	sp->want = 1;
	atomic_init(&sp->stop, 0);
	if (pthread_mutex_init(&sp->mu, NULL) != 0)
		goto err0;
	if (pthread_cond_init(&sp->cv, NULL) != 0)
		goto err1;
	if (pthread_create(&sp->thr, NULL, spare_main, sp) != 0)
		goto err2;
	return (sp);
err2:
	pthread_cond_destroy(&sp->cv);
err1:
	pthread_mutex_destroy(&sp->mu);
err0:
	free(sp);
	return (NULL);
}

int
spare_take(struct spare *sp, const char *name, int *fd)
{
	int r = 0;

	pthread_mutex_lock(&sp->mu);
	if (sp->fd >= 0) {
		/* Renamed under the lock: the thread makes no new one meanwhile. */
		if (renameat(sp->dirfd, SEGMENT_SPARE_NAME, sp->dirfd,
		    name) == 0) {
			*fd = sp->fd;
			r = 1;
		} else {
			int saved = errno;

			close(sp->fd);
			(void)unlinkat(sp->dirfd, SEGMENT_SPARE_NAME, 0);
			errno = saved;
			r = -1;
		}
		sp->fd = -1;
	}
	sp->want = 1;
	pthread_cond_signal(&sp->cv);
	pthread_mutex_unlock(&sp->mu);
	return (r);
}

int
spare_ready(struct spare *sp)
{
	int r;

	pthread_mutex_lock(&sp->mu);
	r = sp->fd >= 0;
	pthread_mutex_unlock(&sp->mu);
	return (r);
}

void
spare_stop(struct spare *sp)
{
	if (sp == NULL)
		return;
	pthread_mutex_lock(&sp->mu);
	atomic_store(&sp->stop, 1);
	pthread_cond_signal(&sp->cv);
	pthread_mutex_unlock(&sp->mu);
	pthread_join(sp->thr, NULL);
	if (sp->fd >= 0)
		close(sp->fd);
	(void)unlinkat(sp->dirfd, SEGMENT_SPARE_NAME, 0);
	pthread_cond_destroy(&sp->cv);
	pthread_mutex_destroy(&sp->mu);
	free(sp);
}
