/*
 * server-daemon.c: "kvd -d" detaches (no controlling terminal), returns
 * only once kvd serves, writes the pidfile then; a second kvd on the same
 * data directory is refused with one clear line; SIGHUP reopens the log;
 * SIGTERM removes the pidfile and exits 0.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"
#include "wire.h"

struct fixture {
	struct harness	*h;		/* for its temporary directory */
	char		 pidfile[PATH_MAX];
	char		 log[PATH_MAX];
	char		 listen[64];
	uint16_t	 port;
	pid_t		 pid;		/* the daemon, once it runs */
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL || (f->h = harness_new()) == NULL) {
		free(f);
		return (-1);
	}
	/* The daemon double-forks; as subreaper we can still wait for it. */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0)
		return (-1);
	snprintf(f->pidfile, sizeof(f->pidfile), "%s/kvd.pid",
	    harness_dir(f->h));
	snprintf(f->log, sizeof(f->log), "%s/daemon.log", harness_dir(f->h));
	f->port = harness_free_port();
	snprintf(f->listen, sizeof(f->listen), "127.0.0.1:%u",
	    (unsigned)f->port);
	*state = f;
	return (0);
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	if (f->pid > 0) {
		(void)kill(f->pid, SIGKILL);
		(void)waitpid(f->pid, NULL, 0);
	}
	harness_free(f->h);
	free(f);
	return (0);
}

static pid_t
read_pidfile(const char *path)
{
	long pid = 0;
	FILE *fp;

	if ((fp = fopen(path, "r")) == NULL)
		return (0);
	if (fscanf(fp, "%ld", &pid) != 1)
		pid = 0;
	fclose(fp);
	return ((pid_t)pid);
}

/* Field 7 of /proc/PID/stat: the controlling terminal (0: none). */
static long
tty_of(pid_t pid)
{
	char path[64], buf[1024], *p;
	long tty = -1;
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((fp = fopen(path, "r")) == NULL)
		return (-1);
	if (fgets(buf, sizeof(buf), fp) != NULL &&
	    (p = strrchr(buf, ')')) != NULL)
		(void)sscanf(p + 2, "%*c %*d %*d %*d %ld", &tty);
	fclose(fp);
	return (tty);
}

static int
wait_exit(pid_t pid, int timeout_ms)
{
	int status, waited;

	for (waited = 0; waited < timeout_ms; waited += 10) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return (WIFEXITED(status) ? WEXITSTATUS(status) :
			    128 + WTERMSIG(status));
		usleep(10000);
	}
	return (-1);
}

static void
daemon_pidfile_and_second_instance(void **state)
{
	struct fixture *f = *state;
	char out[4096], other[64];
	const char *argv[] = { harness_kvd(), "-d", "-D",
	    harness_data_dir(f->h), "-l", f->listen, "-p", f->pidfile,
	    "--log-file", f->log, NULL };
	const char *second[] = { harness_kvd(), "-D", harness_data_dir(f->h),
	    "-l", other, NULL };
	const char *second_d[] = { harness_kvd(), "-d", "-D",
	    harness_data_dir(f->h), "-l", other, "--log-file", f->log, NULL };
	char moved[PATH_MAX + 8];
	struct stat st;
	int rc;

	rc = harness_exec(argv, out, sizeof(out));
	if (rc != 0)
		fail_msg("kvd -d exited %d: %s", rc, out);
	/* The parent returned only once kvd was ready: no polling needed. */
	assert_true((f->pid = read_pidfile(f->pidfile)) > 0);
	assert_int_equal(kill(f->pid, 0), 0);
	assert_int_equal(harness_ping(f->port, WIRE_TIMEOUT_MS), 0);
	assert_int_equal(tty_of(f->pid), 0);

	/* Same data directory, another port: refused, one clear line. */
	snprintf(other, sizeof(other), "127.0.0.1:%u",
	    (unsigned)harness_free_port());
	rc = harness_exec(second, out, sizeof(out));
	print_message("second kvd: %s", out);
	assert_int_equal(rc, 1);
	assert_non_null(strstr(out, "in use"));
	assert_non_null(strstr(out, harness_data_dir(f->h)));
	rc = harness_exec(second_d, out, sizeof(out));
	print_message("second kvd -d: %s", out);
	assert_int_equal(rc, 1);
	assert_non_null(strstr(out, "in use"));
	assert_non_null(strchr(out, '\n'));
	assert_string_equal(strchr(out, '\n'), "\n");	/* exactly one line */
	assert_int_equal(strncmp(out, "kvd: ", 5), 0);
	/* The running kvd did not notice. */
	assert_int_equal(harness_ping(f->port, WIRE_TIMEOUT_MS), 0);

	/* SIGHUP: the log file is reopened (after rotation, say). */
	snprintf(moved, sizeof(moved), "%s.1", f->log);
	assert_int_equal(rename(f->log, moved), 0);
	assert_int_equal(kill(f->pid, SIGHUP), 0);
	for (rc = 0; rc < 500 && stat(f->log, &st) != 0; rc++)
		usleep(10000);
	assert_int_equal(stat(f->log, &st), 0);

	/* SIGTERM: exit 0 and the pidfile is gone. */
	assert_int_equal(kill(f->pid, SIGTERM), 0);
	assert_int_equal(wait_exit(f->pid, 60000), 0);
	f->pid = 0;
	assert_int_equal(access(f->pidfile, F_OK), -1);
}

/* -d with a data directory that cannot be created: the error reaches the terminal. */
static void
daemon_startup_error_reported(void **state)
{
	struct fixture *f = *state;
	char out[4096], bad[PATH_MAX];
	const char *argv[] = { harness_kvd(), "-d", "-D", bad, "-l", f->listen,
	    "-p", f->pidfile, "--log-file", f->log, NULL };
	int rc;

	snprintf(bad, sizeof(bad), "%s/not-a-dir", harness_dir(f->h));
	assert_int_equal(close(creat(bad, 0644)), 0);
	strncat(bad, "/data", sizeof(bad) - strlen(bad) - 1);
	rc = harness_exec(argv, out, sizeof(out));
	print_message("kvd -d with a bad data directory: %s", out);
	assert_int_equal(rc, 1);
	assert_int_equal(strncmp(out, "kvd: ", 5), 0);
	assert_non_null(strstr(out, "not-a-dir"));
	assert_int_equal(access(f->pidfile, F_OK), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    daemon_pidfile_and_second_instance, setup, teardown),
		cmocka_unit_test_setup_teardown(daemon_startup_error_reported,
		    setup, teardown),
	};

	return (cmocka_run_group_tests_name("server-daemon", tests, NULL,
	    NULL));
}
