/*
 * harness.c: start, watch and stop kvd for integration tests.  See harness.h.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "harness.h"
#include "wire.h"

#define HARNESS_MAX_ARGS	64
#define HARNESS_START_MS	60000
#define HARNESS_STOP_MS		60000
#define HARNESS_PORT_TRIES	5

struct harness {
	char		dir[PATH_MAX - 64];
	char		data[PATH_MAX];
	char		log[PATH_MAX];
	pid_t		pid;
	uint16_t	port;
};

static long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

static void
sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

const char *
harness_kvd(void)
{
	static char path[PATH_MAX];
	const char *top = getenv("KVD_TOP_BUILDDIR");

	snprintf(path, sizeof(path), "%s/kvd", top != NULL ? top : ".");
	return (path);
}

struct harness *
harness_new(void)
{
	struct harness *h;
	const char *tmp = getenv("TMPDIR");

	if ((h = calloc(1, sizeof(*h))) == NULL)
		return (NULL);
	snprintf(h->dir, sizeof(h->dir), "%s/kvd-test.XXXXXX",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	if (mkdtemp(h->dir) == NULL) {
		fprintf(stderr, "harness: mkdtemp %s: %s\n", h->dir,
		    strerror(errno));
		free(h);
		return (NULL);
	}
	snprintf(h->data, sizeof(h->data), "%s/data", h->dir);
	snprintf(h->log, sizeof(h->log), "%s/kvd.log", h->dir);
	return (h);
}

uint16_t
harness_free_port(void)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	uint16_t port = 0;
	int fd;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return (0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sin, &len) == 0)
		port = ntohs(sin.sin_port);
	close(fd);
	return (port);
}

int
harness_ping(uint16_t port, int timeout_ms)
{
	struct wire *w;
	Kv__Response *r;
	int rc = -1;

	if ((w = wire_connect(port)) == NULL)
		return (-1);
	if (wire_ping(w, 1, "hi", 2) == 0 && wire_flush(w) == 0 &&
	    (r = wire_recv(w, timeout_ms)) != NULL) {
		if (r->status == KV__STATUS__OK && r->id == 1)
			rc = 0;
		kv__response__free_unpacked(r, NULL);
	}
	wire_free(w);
	return (rc);
}

void
harness_print_log(const struct harness *h)
{
	char buf[4096];
	size_t n;
	FILE *f;

	if ((f = fopen(h->log, "r")) == NULL)
		return;
	fprintf(stderr, "---- %s ----\n", h->log);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		fwrite(buf, 1, n, stderr);
	fprintf(stderr, "---- end of log ----\n");
	fclose(f);
}

static int
harness_status(int status)
{
	if (WIFEXITED(status))
		return (WEXITSTATUS(status));
	if (WIFSIGNALED(status))
		return (128 + WTERMSIG(status));
	return (-1);
}

/* Whether the log says that the port was taken (then try another). */
static int
harness_port_taken(const struct harness *h)
{
	char buf[65536];
	size_t n;
	FILE *f;

	if ((f = fopen(h->log, "r")) == NULL)
		return (0);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return (strstr(buf, "Address already in use") != NULL);
}

static pid_t
harness_spawn(struct harness *h, const char *const *args)
{
	const char *argv[HARNESS_MAX_ARGS + 8];
	char listen[64];
	size_t n = 0, i;
	pid_t pid, parent = getpid();
	int fd;

	snprintf(listen, sizeof(listen), "127.0.0.1:%u", (unsigned)h->port);
	argv[n++] = harness_kvd();
	argv[n++] = "-D";
	argv[n++] = h->data;
	argv[n++] = "-l";
	argv[n++] = listen;
	for (i = 0; args != NULL && args[i] != NULL && i < HARNESS_MAX_ARGS; i++)
		argv[n++] = args[i];
	argv[n] = NULL;

	if ((pid = fork()) < 0) {
		fprintf(stderr, "harness: fork: %s\n", strerror(errno));
		return (-1);
	}
	if (pid > 0)
		return (pid);
	/* kvd must not outlive a test that crashed. */
	(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(127);
	if ((fd = open(h->log, O_WRONLY | O_CREAT | O_APPEND, 0644)) >= 0) {
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		close(fd);
	}
	if ((fd = open("/dev/null", O_RDONLY)) >= 0) {
		dup2(fd, STDIN_FILENO);
		close(fd);
	}
	execv(argv[0], (char *const *)(uintptr_t)argv);
	fprintf(stderr, "harness: exec %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

int
harness_start(struct harness *h, const char *const *args)
{
	long deadline;
	int tries, status = 0, fresh = h->port == 0;
	pid_t r;

	if (h->pid != 0) {
		fprintf(stderr, "harness: kvd already runs (pid %ld)\n",
		    (long)h->pid);
		return (-1);
	}
	for (tries = 0; tries < HARNESS_PORT_TRIES; tries++) {
		if (fresh && (h->port = harness_free_port()) == 0) {
			fprintf(stderr, "harness: no free port\n");
			return (-1);
		}
		if ((h->pid = harness_spawn(h, args)) < 0) {
			h->pid = 0;
			return (-1);
		}
		deadline = now_ms() + HARNESS_START_MS;
		while (now_ms() < deadline) {
			r = waitpid(h->pid, &status, WNOHANG);
			if (r == h->pid) {
				h->pid = 0;
				break;
			}
			if (harness_ping(h->port, 1000) == 0)
				return (0);
			sleep_ms(20);
		}
		if (h->pid != 0) {
			fprintf(stderr, "harness: kvd (pid %ld) does not answer "
			    "on port %u\n", (long)h->pid, (unsigned)h->port);
			harness_print_log(h);
			(void)harness_stop(h);
			return (-1);
		}
		/* Another process took the port between our check and kvd's bind. */
		if (!fresh || !harness_port_taken(h))
			break;
	}
	fprintf(stderr, "harness: kvd exited during startup (status %d)\n",
	    harness_status(status));
	harness_print_log(h);
	return (-1);
}

int
harness_wait(struct harness *h, int timeout_ms)
{
	long deadline = now_ms() + timeout_ms;
	int status;
	pid_t r;

	if (h->pid == 0)
		return (-1);
	for (;;) {
		r = waitpid(h->pid, &status, WNOHANG);
		if (r == h->pid) {
			h->pid = 0;
			return (harness_status(status));
		}
		if (r < 0 && errno != EINTR) {
			h->pid = 0;
			return (-1);
		}
		if (now_ms() >= deadline)
			return (-1);
		sleep_ms(10);
	}
}

int
harness_signal(struct harness *h, int sig)
{
	if (h->pid == 0)
		return (-1);
	return (kill(h->pid, sig));
}

int
harness_stop(struct harness *h)
{
	int rc;

	if (h->pid == 0)
		return (-1);
	(void)kill(h->pid, SIGTERM);
	if ((rc = harness_wait(h, HARNESS_STOP_MS)) == -1 && h->pid != 0) {
		fprintf(stderr, "harness: kvd ignored SIGTERM; killing it\n");
		(void)kill(h->pid, SIGKILL);
		rc = harness_wait(h, HARNESS_STOP_MS);
	}
	return (rc);
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		(void)rmdir(path);
	else
		(void)unlink(path);
	return (0);
}

void
harness_free(struct harness *h)
{
	if (h == NULL)
		return;
	if (h->pid != 0) {
		(void)kill(h->pid, SIGKILL);
		(void)harness_wait(h, HARNESS_STOP_MS);
	}
	(void)nftw(h->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(h);
}

pid_t
harness_pid(const struct harness *h)
{
	return (h->pid);
}

uint16_t
harness_port(const struct harness *h)
{
	return (h->port);
}

const char *
harness_dir(const struct harness *h)
{
	return (h->dir);
}

const char *
harness_data_dir(const struct harness *h)
{
	return (h->data);
}

const char *
harness_log(const struct harness *h)
{
	return (h->log);
}

int
harness_exec(const char *const *argv, char *out, size_t outlen)
{
	size_t have = 0;
	char sink[4096];
	ssize_t n;
	pid_t pid;
	int p[2], fd, status;

	if (pipe(p) != 0)
		return (-1);
	if ((pid = fork()) < 0) {
		close(p[0]);
		close(p[1]);
		return (-1);
	}
	if (pid == 0) {
		close(p[0]);
		dup2(p[1], STDOUT_FILENO);
		dup2(p[1], STDERR_FILENO);
		close(p[1]);
		if ((fd = open("/dev/null", O_RDONLY)) >= 0) {
			dup2(fd, STDIN_FILENO);
			close(fd);
		}
		execv(argv[0], (char *const *)(uintptr_t)argv);
		_exit(127);
	}
	close(p[1]);
	for (;;) {
		if (have + 1 < outlen)
			n = read(p[0], out + have, outlen - 1 - have);
		else
			n = read(p[0], sink, sizeof(sink));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (have + 1 < outlen)
			have += (size_t)n;
	}
	close(p[0]);
	if (outlen > 0)
		out[have] = '\0';
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return (-1);
	return (harness_status(status));
}

uint64_t
harness_rss_kb(pid_t pid)
{
	char path[64], line[256];
	unsigned long long kb = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return (0);
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %llu kB", &kb) == 1)
			break;
	fclose(f);
	return (kb);
}

int
harness_setup(void **state)
{
	struct harness *h = harness_new();

	if (h == NULL)
		return (-1);
	*state = h;
	return (0);
}

struct harness *
harness_new_started(const char *const *args)
{
	struct harness *h = harness_new();

	if (h == NULL || harness_start(h, args) != 0) {
		harness_free(h);
		return (NULL);
	}
	return (h);
}

int
harness_setup_args(void **state, const char *const *args)
{
	struct harness *h = harness_new_started(args);

	if (h == NULL)
		return (-1);
	*state = h;
	return (0);
}

int
harness_setup_started(void **state)
{
	return (harness_setup_args(state, NULL));
}

int
harness_teardown(void **state)
{
	struct harness *h = *state;
	int rc = harness_stop(h);

	harness_free(h);
	return (rc == 0 ? 0 : -1);
}

int
harness_teardown_any(void **state)
{
	struct harness *h = *state;

	(void)harness_stop(h);
	harness_free(h);
	return (0);
}
