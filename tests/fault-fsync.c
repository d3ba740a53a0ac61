/*
 * fault-fsync.c: an LD_PRELOAD shim for fault tests.  Once the file named
 * by $KVD_FAULT_FSYNC exists, fdatasync() and fsync() fail with EIO, as a
 * dying disk would make them; while the file named by $KVD_SLOW_FSYNC
 * exists, they take a second longer, as a busy disk would.  Otherwise they
 * pass through.  Tests create the files at the moment they choose.
 */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

int fdatasync(int);
int fsync(int);

static int
fault_exists(const char *var)
{
	const char *path = getenv(var);

	return (path != NULL && access(path, F_OK) == 0);
}

/* Nonzero (errno set) when the call must fail. */
static int
fault_tripped(void)
{
	if (fault_exists("KVD_SLOW_FSYNC"))
		usleep(1000000);
	return (fault_exists("KVD_FAULT_FSYNC"));
}

int
fdatasync(int fd)
{
	int (*real)(int);

	if (fault_tripped()) {
		errno = EIO;
		return (-1);
	}
	*(void **)(&real) = dlsym(RTLD_NEXT, "fdatasync");
	return (real != NULL ? real(fd) : -1);
}

int
fsync(int fd)
{
	int (*real)(int);

	if (fault_tripped()) {
		errno = EIO;
		return (-1);
	}
	*(void **)(&real) = dlsym(RTLD_NEXT, "fsync");
	return (real != NULL ? real(fd) : -1);
}
