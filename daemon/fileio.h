/*
 * fileio.h: the file operations the storage engine uses to change files.
 *
 * Every call that writes, syncs, renames or removes goes through a table of
 * these, so that tests can fail a write, fail an fsync or stop the process
 * at an exact step without touching global state.  Reads (pread, mmap) are
 * not in the table: a failed read already surfaces as an error.
 */
#ifndef KVD_FILEIO_H
#define KVD_FILEIO_H

#include <stddef.h>
#include <sys/types.h>

struct fileio {
	/* pwrite(2): the whole buffer or -1 with errno (short writes retried inside). */
	int	(*pwrite)(void *arg, int fd, const void *buf, size_t n, off_t off);
	int	(*fdatasync)(void *arg, int fd);
	int	(*fsync)(void *arg, int fd);	/* directories */
	int	(*ftruncate)(void *arg, int fd, off_t len);
	/* Reserve [0, len) of fd; -1 with errno ENOSPC when the disk is full. */
	int	(*fallocate)(void *arg, int fd, off_t len);
	int	(*renameat)(void *arg, int dirfd, const char *from, const char *to);
	int	(*unlinkat)(void *arg, int dirfd, const char *name);
	int	(*linkat)(void *arg, int fromdir, const char *from, int todir,
		    const char *to);
	void	*arg;
};

/* fileio_posix(): the table of real system calls (arg unused). */
const struct fileio *fileio_posix(void);

#endif /* !KVD_FILEIO_H */
