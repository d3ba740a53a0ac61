/*
 * runprog.c: run a program with pipes or on a pseudo-terminal.  See
 * runprog.h.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "runprog.h"

#define RUN_LIMIT_S	120

static void
run_append(uint8_t **buf, size_t *len, const uint8_t *p, size_t n)
{
	uint8_t *nb = realloc(*buf, *len + n + 1);

	if (nb == NULL)
		abort();
	memcpy(nb + *len, p, n);
	*len += n;
	nb[*len] = '\0';
	*buf = nb;
}

/* Build the child's environment: a few of ours, then env. */
static char **
run_env(const char *const *env)
{
	static const char *const keep[] = { "PATH", "HOME", "TMPDIR",
	    "ASAN_OPTIONS", "UBSAN_OPTIONS", "LD_LIBRARY_PATH", NULL };
	char **e;
	size_t n = 0, i, j;
	const char *v;

	for (i = 0; env != NULL && env[i] != NULL; i++)
		;
	if ((e = calloc(i + 8, sizeof(*e))) == NULL)
		abort();
	for (j = 0; keep[j] != NULL; j++)
		if ((v = getenv(keep[j])) != NULL &&
		    asprintf(&e[n++], "%s=%s", keep[j], v) == -1)
			abort();
	for (j = 0; j < i; j++)
		if ((e[n++] = strdup(env[j])) == NULL)
			abort();
	return (e);
}

static void
run_env_free(char **e)
{
	size_t i;

	for (i = 0; e[i] != NULL; i++)
		free(e[i]);
	free(e);
}

static int
run_wait(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR)
			return (-1);
	if (WIFEXITED(st))
		return (WEXITSTATUS(st));
	if (WIFSIGNALED(st))
		return (128 + WTERMSIG(st));
	return (-1);
}

int
run_prog(struct run *r, const char *const *argv, const char *const *env,
    const void *in, size_t inlen)
{
	int pin[2], pout[2], perr[2];
	struct pollfd pfd[3];
	uint8_t buf[65536];
	size_t off = 0;
	time_t start = time(NULL);
	char **envp = run_env(env);
	ssize_t n;
	pid_t pid;
	int i, open_fds;

	memset(r, 0, sizeof(*r));
	run_append(&r->out, &r->outlen, (const uint8_t *)"", 0);
	run_append((uint8_t **)&r->err, &r->errlen, (const uint8_t *)"", 0);
	if (pipe2(pin, O_CLOEXEC) == -1 || pipe2(pout, O_CLOEXEC) == -1 ||
	    pipe2(perr, O_CLOEXEC) == -1)
		abort();
	if ((pid = fork()) == -1)
		abort();
	if (pid == 0) {
		(void)dup2(pin[0], 0);
		(void)dup2(pout[1], 1);
		(void)dup2(perr[1], 2);
		execve(argv[0], (char *const *)(uintptr_t)argv, envp);
		_exit(127);
	}
	run_env_free(envp);
	(void)close(pin[0]);
	(void)close(pout[1]);
	(void)close(perr[1]);
	(void)fcntl(pin[1], F_SETFL, O_NONBLOCK);
	if (inlen == 0) {
		(void)close(pin[1]);
		pin[1] = -1;
	}
	open_fds = 2;
	while (open_fds > 0 || pin[1] != -1) {
		if (time(NULL) - start > RUN_LIMIT_S) {
			(void)kill(pid, SIGKILL);
			break;
		}
		pfd[0].fd = pout[0];
		pfd[0].events = POLLIN;
		pfd[1].fd = perr[0];
		pfd[1].events = POLLIN;
		pfd[2].fd = pin[1];
		pfd[2].events = POLLOUT;
		if (poll(pfd, 3, 1000) == -1 && errno != EINTR)
			abort();
		for (i = 0; i < 2; i++) {
			if (pfd[i].fd == -1 || pfd[i].revents == 0)
				continue;
			n = read(pfd[i].fd, buf, sizeof(buf));
			if (n > 0 && i == 0)
				run_append(&r->out, &r->outlen, buf, (size_t)n);
			else if (n > 0)
				run_append((uint8_t **)&r->err, &r->errlen, buf,
				    (size_t)n);
			else if (n == 0 || errno != EINTR) {
				(void)close(pfd[i].fd);
				if (i == 0)
					pout[0] = -1;
				else
					perr[0] = -1;
				open_fds--;
			}
		}
		if (pin[1] != -1 && pfd[2].revents != 0) {
			n = write(pin[1], (const uint8_t *)in + off, inlen - off);
			if (n > 0)
				off += (size_t)n;
			if ((n == -1 && errno != EAGAIN && errno != EINTR) ||
			    off == inlen) {
				(void)close(pin[1]);
				pin[1] = -1;
			}
		}
	}
	if (pin[1] != -1)
		(void)close(pin[1]);
	if (pout[0] != -1)
		(void)close(pout[0]);
	if (perr[0] != -1)
		(void)close(perr[0]);
	r->status = run_wait(pid);
	return (r->status);
}

int
run_pty(struct run *r, const char *const *argv, const char *const *env,
    const char *script)
{
	time_t start = time(NULL);
	char **envp = run_env(env);
	uint8_t buf[4096];
	size_t off = 0, len = strlen(script);
	struct pollfd pfd;
	ssize_t n;
	pid_t pid;
	int m;

	memset(r, 0, sizeof(*r));
	run_append(&r->out, &r->outlen, (const uint8_t *)"", 0);
	run_append((uint8_t **)&r->err, &r->errlen, (const uint8_t *)"", 0);
	if ((pid = forkpty(&m, NULL, NULL, NULL)) == -1)
		abort();
	if (pid == 0) {
		execve(argv[0], (char *const *)(uintptr_t)argv, envp);
		_exit(127);
	}
	run_env_free(envp);
	for (;;) {
		if (time(NULL) - start > RUN_LIMIT_S) {
			(void)kill(pid, SIGKILL);
			break;
		}
		pfd.fd = m;
		pfd.events = POLLIN | (off < len ? POLLOUT : 0);
		if (poll(&pfd, 1, 200) == -1 && errno != EINTR)
			break;
		if ((pfd.revents & POLLIN) != 0) {
			n = read(m, buf, sizeof(buf));
			if (n <= 0)
				break;	/* EIO: the child closed the terminal */
			run_append(&r->out, &r->outlen, buf, (size_t)n);
		} else if ((pfd.revents & (POLLHUP | POLLERR)) != 0)
			break;
		/* Type one line per round, as a person would, after output settles. */
		if (off < len && (pfd.revents & POLLIN) == 0) {
			const char *nl = strchr(script + off, '\n');
			size_t l = nl != NULL ? (size_t)(nl - (script + off)) + 1 :
			    len - off;

			if ((n = write(m, script + off, l)) > 0)
				off += (size_t)n;
		}
	}
	(void)close(m);
	r->status = run_wait(pid);
	return (r->status);
}

void
run_free(struct run *r)
{
	free(r->out);
	free(r->err);
	r->out = NULL;
	r->err = NULL;
}

const char *
run_kvctl_path(void)
{
	static char path[4096];
	const char *top = getenv("KVD_TOP_BUILDDIR");

	(void)snprintf(path, sizeof(path), "%s/kvctl", top != NULL ? top : ".");
	return (path);
}
