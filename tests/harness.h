/*
 * harness.h: start a real kvd for an integration test.
 *
 * A harness owns one temporary directory (mkdtemp under $TMPDIR or /tmp)
 * holding kvd's data directory ("data") and its output ("kvd.log": kvd's
 * stderr, where it logs).  harness_start() runs $KVD_TOP_BUILDDIR/kvd on a
 * free loopback port, polls with pings until it answers, and fails at once
 * if kvd exits first (printing the log's tail).  kvd is started with
 * PR_SET_PDEATHSIG, so it dies with a test that crashes.
 *
 * With cmocka, use the setup and teardown pairs below (or call
 * harness_new()/harness_free() from a fixture of your own): teardowns run
 * even when a test fails, so kvd is stopped and the directory removed in
 * every case.
 *
 *	cmocka_unit_test_setup_teardown(test, harness_setup_started,
 *	    harness_teardown)
 */
#ifndef KVD_TESTS_HARNESS_H
#define KVD_TESTS_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct harness;

/*
 * harness_new():
 * Create the temporary directory.  Nothing runs yet.  Returns NULL (with a
 * line on stderr) on failure.
 */
struct harness *harness_new(void);

/*
 * harness_start(h, args):
 * Start kvd in the foreground with -D DIR/data -l 127.0.0.1:PORT (a free
 * port, chosen anew unless h ran before, then the same) followed by args (a
 * NULL-terminated list, or NULL), and wait until it answers a ping.
 * Returns 0, or -1 after printing why (kvd exited, or no answer within 60
 * seconds) and kvd's log.
 */
int harness_start(struct harness *h, const char *const *args);

/*
 * harness_new_started(args):
 * harness_new() then harness_start(h, args).  Returns the harness with kvd
 * answering, or NULL (after printing why; nothing is left behind).
 */
struct harness *harness_new_started(const char *const *args);

/*
 * harness_stop(h):
 * SIGTERM, then wait for kvd to exit (SIGKILL after 60 seconds).  Returns
 * its exit status, 128 + the signal that killed it, or -1 if none ran.
 */
int harness_stop(struct harness *h);

/* harness_signal(h, sig): send sig to kvd.  Returns 0 or -1. */
int harness_signal(struct harness *h, int sig);

/*
 * harness_wait(h, timeout_ms):
 * Wait for kvd to exit.  Returns its status as harness_stop() does, or -1
 * on timeout (kvd still runs).
 */
int harness_wait(struct harness *h, int timeout_ms);

/*
 * harness_free(h):
 * Kill kvd if it still runs, remove the directory, free h.  NULL is a no-op.
 */
void harness_free(struct harness *h);

/*
 * cmocka setup and teardown functions.  The setups leave a struct harness
 * in *state, owned by the teardown; they return 0, or -1 (with the reason
 * on stderr, and nothing left behind) so that cmocka fails the test.
 *
 * harness_setup(state): harness_new() only; the test runs kvd itself.
 * harness_setup_started(state): harness_new() and harness_start(h, NULL).
 * harness_setup_args(state, args): harness_new() and harness_start(h, args),
 * for a setup of the test's own that passes kvd options.
 */
int harness_setup(void **state);
int harness_setup_started(void **state);
int harness_setup_args(void **state, const char *const *args);

/*
 * harness_teardown(state):
 * harness_stop() and harness_free() the harness in *state.  Returns 0 only
 * if kvd exited with status 0, so that a kvd that crashed or failed its
 * shutdown fails the test.
 *
 * harness_teardown_any(state):
 * The same, but whatever kvd's status (or if none runs): for tests that
 * stop or kill kvd themselves and check its status there.
 */
int harness_teardown(void **state);
int harness_teardown_any(void **state);

/* Accessors: kvd's pid (0 if none), its port, the directories and the log. */
pid_t harness_pid(const struct harness *h);
uint16_t harness_port(const struct harness *h);
const char *harness_dir(const struct harness *h);
const char *harness_data_dir(const struct harness *h);
const char *harness_log(const struct harness *h);

/* harness_kvd(): the kvd binary under test ($KVD_TOP_BUILDDIR/kvd). */
const char *harness_kvd(void);

/*
 * harness_free_port():
 * A loopback TCP port that was free a moment ago (0 on failure).
 */
uint16_t harness_free_port(void);

/*
 * harness_ping(port, timeout_ms):
 * 0 if a kvd on 127.0.0.1:port answers a ping within timeout_ms, else -1.
 */
int harness_ping(uint16_t port, int timeout_ms);

/*
 * harness_exec(argv, out, outlen):
 * Run argv[0] (a path) to completion with stdin from /dev/null, collecting
 * up to outlen - 1 bytes of its stdout and stderr together into out (NUL
 * terminated).  Returns its exit status (128 + signal if killed), or -1.
 */
int harness_exec(const char *const *argv, char *out, size_t outlen);

/*
 * harness_rss_kb(pid):
 * VmRSS of pid in KiB from /proc/PID/status, or 0 if unknown.
 */
uint64_t harness_rss_kb(pid_t pid);

/* harness_print_log(h): copy kvd's log to stderr, for a failing test. */
void harness_print_log(const struct harness *h);

#endif /* !KVD_TESTS_HARNESS_H */
