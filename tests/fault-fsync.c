/*
 * fault-fsync.c: an LD_PRELOAD shim for fault tests.  Once the file named
 * by $KVD_FAULT_FSYNC exists, fdatasync() and fsync() fail with EIO, as a
 * dying disk would make them; before that they pass through.  Tests create
 * the file to pull the plug at the moment they choose.
 */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

int fdatasync(int);
int fsync(int);

static int
fault_tripped(void)
{
	const char *trip = getenv("KVD_FAULT_FSYNC");

	return (trip != NULL && access(trip, F_OK) == 0);
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
