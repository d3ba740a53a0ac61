/*
 * proc.c: detach, pidfile, sd_notify.  See proc.h.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#ifdef HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "proc.h"

/* The readiness message: "OK" or "E" followed by one line. */
#define READY_OK	"OK"

static int
proc_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, p, len)) < 0) {
			if (errno == EINTR)
				continue;
			return (-1);
		}
		p += n;
		len -= (size_t)n;
	}
	return (0);
}

/* In the original process: wait for the word of the grandchild, then exit. */
static void __attribute__((noreturn))
proc_wait_ready(int fd, pid_t child)
{
	char buf[1024];
	size_t have = 0;
	ssize_t n;
	int status;

	/* The intermediate child exits at once; reap it. */
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	while (have < sizeof(buf) - 1) {
		n = read(fd, buf + have, sizeof(buf) - 1 - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		have += (size_t)n;
	}
	buf[have] = '\0';
	if (strcmp(buf, READY_OK) == 0)
		_exit(0);
	if (have > 1 && buf[0] == 'E')
		fprintf(stderr, "kvd: %s\n", buf + 1);
	else
		fprintf(stderr, "kvd: exited before it was ready to serve "
		    "(see its log)\n");
	_exit(1);
}

int
proc_detach(char *err, size_t errlen)
{
	int p[2];
	pid_t pid;

	if (pipe(p) != 0) {
		snprintf(err, errlen, "detach: pipe: %s", strerror(errno));
		return (-1);
	}
	if ((pid = fork()) < 0) {
		snprintf(err, errlen, "detach: fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		return (-1);
	}
	if (pid > 0) {
		close(p[1]);
		proc_wait_ready(p[0], pid);
	}
	close(p[0]);
	if (setsid() < 0)
		_exit(1);
	/* A session leader could acquire a terminal by opening one: fork again. */
	if ((pid = fork()) < 0)
		_exit(1);
	if (pid > 0)
		_exit(0);
	(void)fcntl(p[1], F_SETFD, FD_CLOEXEC);
	umask(027);
	return (p[1]);
}

int
proc_detach_ready(int fd)
{
	int null, rc = 0;

	if (chdir("/") != 0)
		rc = -1;
	if ((null = open("/dev/null", O_RDWR)) < 0)
		rc = -1;
	else {
		if (dup2(null, STDIN_FILENO) < 0 ||
		    dup2(null, STDOUT_FILENO) < 0 ||
		    dup2(null, STDERR_FILENO) < 0)
			rc = -1;
		if (null > STDERR_FILENO)
			close(null);
	}
	if (proc_write_all(fd, READY_OK, strlen(READY_OK)) != 0)
		rc = -1;
	close(fd);
	return (rc);
}

void
proc_detach_fail(int fd, const char *msg)
{
	(void)proc_write_all(fd, "E", 1);
	(void)proc_write_all(fd, msg, strlen(msg));
	close(fd);
}

int
proc_pidfile_write(const char *path, char *err, size_t errlen)
{
	char tmp[4096], line[32];
	int fd, n;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp)) {
		snprintf(err, errlen, "pidfile %s: path too long", path);
		return (-1);
	}
	n = snprintf(line, sizeof(line), "%ld\n", (long)getpid());
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644)) < 0) {
		snprintf(err, errlen, "pidfile %s: %s", tmp, strerror(errno));
		return (-1);
	}
	if (proc_write_all(fd, line, (size_t)n) != 0 || close(fd) != 0) {
		snprintf(err, errlen, "pidfile %s: %s", tmp, strerror(errno));
		(void)unlink(tmp);
		return (-1);
	}
	if (rename(tmp, path) != 0) {
		snprintf(err, errlen, "pidfile %s: %s", path, strerror(errno));
		(void)unlink(tmp);
		return (-1);
	}
	return (0);
}

void
proc_pidfile_remove(const char *path)
{
	char buf[32];
	ssize_t n;
	int fd;

	if (path == NULL || (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	/* Another kvd may have taken the pidfile over since: leave it alone. */
	if (strtol(buf, NULL, 10) == (long)getpid())
		(void)unlink(path);
}

void
proc_notify(const char *state)
{
#ifdef HAVE_SYSTEMD
	(void)sd_notify(0, state);
#else
	(void)state;
#endif
}
