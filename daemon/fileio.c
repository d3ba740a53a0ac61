/*
 * fileio.c: the real system calls behind struct fileio.  See fileio.h.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "daemon/fileio.h"

static int
posix_pwrite(void *arg, int fd, const void *buf, size_t n, off_t off)
{
	const char *p = buf;
	ssize_t w;

	(void)arg;
	while (n > 0) {
		if ((w = pwrite(fd, p, n, off)) < 0) {
			if (errno == EINTR)
				continue;
			return (-1);
		}
		if (w == 0) {
			errno = EIO;
			return (-1);
		}
		p += w;
		n -= (size_t)w;
		off += w;
	}
	return (0);
}

static int
posix_fdatasync(void *arg, int fd)
{
	(void)arg;
#ifdef HAVE_FDATASYNC
	return (fdatasync(fd));
#else
	return (fsync(fd));
#endif
}

static int
posix_fsync(void *arg, int fd)
{
	(void)arg;
	return (fsync(fd));
}

static int
posix_ftruncate(void *arg, int fd, off_t len)
{
	(void)arg;
	return (ftruncate(fd, len));
}

static int
posix_fallocate_(void *arg, int fd, off_t len)
{
	int r;

	(void)arg;
#ifdef HAVE_POSIX_FALLOCATE
	/* posix_fallocate returns the error instead of setting errno. */
	if ((r = posix_fallocate(fd, 0, len)) != 0) {
		errno = r;
		return (-1);
	}
	return (0);
#else
	(void)fd;
	(void)len;
	(void)r;
	errno = EOPNOTSUPP;
	return (-1);
#endif
}

static int
posix_renameat(void *arg, int dirfd, const char *from, const char *to)
{
	(void)arg;
	return (renameat(dirfd, from, dirfd, to));
}

static int
posix_unlinkat(void *arg, int dirfd, const char *name)
{
	(void)arg;
	return (unlinkat(dirfd, name, 0));
}

static int
posix_linkat(void *arg, int fromdir, const char *from, int todir,
    const char *to)
{
	(void)arg;
	return (linkat(fromdir, from, todir, to, 0));
}

static const struct fileio posix_io = {
	.pwrite = posix_pwrite,
	.fdatasync = posix_fdatasync,
	.fsync = posix_fsync,
	.ftruncate = posix_ftruncate,
	.fallocate = posix_fallocate_,
	.renameat = posix_renameat,
	.unlinkat = posix_unlinkat,
	.linkat = posix_linkat,
	.arg = NULL,
};

const struct fileio *
fileio_posix(void)
{
	return (&posix_io);
}
