/*
 * proc.h: what makes kvd a well-behaved daemon: detaching, the pidfile,
 * and telling systemd (Type=notify) when it is ready and when it stops.
 */
#ifndef KVD_PROC_H
#define KVD_PROC_H

#include <stddef.h>

/*
 * proc_detach(err, errlen):
 * Fork into the background: the child starts a new session and forks
 * again (so it can never regain a controlling terminal) and returns; the
 * original process waits until that grandchild calls proc_detach_ready()
 * (then exits 0) or proc_detach_fail() or dies (then prints the reason on
 * stderr and exits 1), so "kvd -d" only succeeds once kvd serves.  Call it
 * before any thread exists.  Returns the readiness descriptor (>= 0) in
 * the grandchild, or -1 with err set if the fork failed.
 */
int proc_detach(char *err, size_t errlen);

/*
 * proc_detach_ready(fd):
 * Tell the waiting parent that kvd serves; chdir to /, point stdin,
 * stdout and stderr at /dev/null and close fd.  Returns 0 or -1 (errno).
 */
int proc_detach_ready(int fd);

/*
 * proc_detach_fail(fd, msg):
 * Hand msg (one line) to the waiting parent, which prints it and exits 1;
 * close fd.
 */
void proc_detach_fail(int fd, const char *msg);

/*
 * proc_pidfile_write(path, err, errlen):
 * Write this process's id to path (through a temporary file and a rename,
 * so that a reader never sees a half-written pidfile).  Returns 0 or -1
 * with err naming the file and the problem.
 */
int proc_pidfile_write(const char *path, char *err, size_t errlen);

/*
 * proc_pidfile_remove(path):
 * Remove path if it still holds this process's id.  NULL is a no-op.
 */
void proc_pidfile_remove(const char *path);

/*
 * proc_notify(state):
 * Send state ("READY=1", "STOPPING=1", "STATUS=...") to systemd when kvd
 * runs under it with Type=notify; a no-op otherwise or when kvd was built
 * without libsystemd.
 */
void proc_notify(const char *state);

#endif /* !KVD_PROC_H */
