/*
 * kvd.c: the daemon's top level.  Parse the options, detach if asked,
 * open the engine, bind the listeners, serve until SIGTERM or SIGINT, then
 * finish in-flight writes and exit 0.  The only place that owns
 * process-wide things: the loop, the signals, the pidfile, the log.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <event2/event.h>

#include "dispatch.h"
#include "engine.h"
#include "log.h"
#include "mapguard.h"
#include "metrics.h"
#include "options.h"
#include "proc.h"
#include "server.h"
#include "stats.h"

/* At shutdown, clients get this long to take their last replies. */
#define KVD_DRAIN_SECONDS	5

/* Exit statuses (kvd(8)). */
#define KVD_EXIT_OK		0
#define KVD_EXIT_RUNTIME	1
#define KVD_EXIT_USAGE		2

struct kvd {
	struct options	 opts;
	struct event_base *base;
	struct event	*wake;		/* the engine has news */
	int		 wake_fd;	/* eventfd the engine's threads write to */
	struct event	*sig_term;
	struct event	*sig_int;
	struct event	*sig_hup;
	struct engine	*engine;
	struct stats	*stats;
	struct dispatch	*dispatch;
	struct server	*server;
	struct metrics	*metrics;
	int		 ready_fd;	/* to the parent waiting on -d; -1 otherwise */
	int		 pidfile_written;
	int		 stopping;
};

/* Report a startup failure once: in the log, and to a waiting parent. */
static int __attribute__((format(printf, 2, 3)))
kvd_fail(struct kvd *k, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_error("%s", msg);
	if (k->ready_fd >= 0) {
		proc_detach_fail(k->ready_fd, msg);
		k->ready_fd = -1;
	}
	return (KVD_EXIT_RUNTIME);
}

/*
 * Called from the engine's threads: only wake the loop.  An eventfd rather
 * than event_active() from another thread, so that libevent needs no locks
 * at all (they cost on every event operation of every request).
 */
static void
kvd_engine_notify(void *arg)
{
	struct kvd *k = arg;
	uint64_t one = 1;

	/* EAGAIN means the counter is full: the loop will wake anyway. */
	(void)!write(k->wake_fd, &one, sizeof(one));
}

static void
kvd_engine_log(void *arg, enum engine_log_level level, const char *msg)
{
	static const enum log_level map[] = {
		[ENGINE_LOG_ERROR] = LOG_LEVEL_ERROR,
		[ENGINE_LOG_WARN] = LOG_LEVEL_WARN,
		[ENGINE_LOG_INFO] = LOG_LEVEL_INFO,
		[ENGINE_LOG_DEBUG] = LOG_LEVEL_DEBUG,
	};

	(void)arg;
	log_msg(level <= ENGINE_LOG_DEBUG ? map[level] : LOG_LEVEL_DEBUG,
	    "engine: %s", msg);
}

static void
kvd_libevent_log(int severity, const char *msg)
{
	switch (severity) {
	case EVENT_LOG_DEBUG:
		log_debug("libevent: %s", msg);
		break;
	case EVENT_LOG_MSG:
		log_info("libevent: %s", msg);
		break;
	case EVENT_LOG_WARN:
		log_warnx("libevent: %s", msg);
		break;
	default:
		log_error("libevent: %s", msg);
		break;
	}
}

static void
kvd_wake_cb(evutil_socket_t fd, short what, void *arg)
{
	struct kvd *k = arg;
	uint64_t n;

	(void)what;
	(void)!read(fd, &n, sizeof(n));	/* reset the counter */
	engine_service(k->engine);
	if (k->server != NULL)
		server_durable(k->server);
}

static void
kvd_drained(void *arg)
{
	struct kvd *k = arg;

	event_base_loopbreak(k->base);
}

static void
kvd_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct kvd *k = arg;

	(void)what;
	if (sig == SIGHUP) {
		if (log_reopen() != 0)
			log_warn("SIGHUP: reopening the log file");
		else
			log_info("SIGHUP: log file reopened");
		return;
	}
	if (k->stopping) {
		log_info("%s: already shutting down", strsignal((int)sig));
		return;
	}
	k->stopping = 1;
	log_info("%s: shutting down; finishing in-flight writes",
	    strsignal((int)sig));
	proc_notify("STOPPING=1");
	metrics_free(k->metrics);
	k->metrics = NULL;
	/* Held writes become durable (and their replies go out) sooner. */
	engine_sync(k->engine);
	server_shutdown(k->server, kvd_drained, k);
}

static int
kvd_logging(const struct options *o)
{
	enum log_target target = LOG_TARGET_STDERR;

	if (o->log_file != NULL)
		target = LOG_TARGET_FILE;
	else if (o->syslog || o->daemonize)
		target = LOG_TARGET_SYSLOG;	/* stderr will be /dev/null */
	if (log_init("kvd", target, o->log_file, o->log_level) != 0) {
		fprintf(stderr, "kvd: log file %s: %s\n", o->log_file,
		    strerror(errno));
		return (-1);
	}
	return (0);
}

static void
kvd_report_line(void *arg, const char *line)
{
	(void)arg;
	printf("%s\n", line);
}

/* kvd --check / --repair: offline, on the data directory. */
static int
kvd_offline(const struct options *o)
{
	int rc;

	if (o->mode == OPTIONS_CHECK) {
		rc = engine_check(o->data_dir, kvd_report_line, NULL);
		if (rc < 0) {
			fprintf(stderr, "kvd: check %s: %s\n", o->data_dir,
			    engine_strerror(rc));
			return (KVD_EXIT_RUNTIME);
		}
		printf("%s: %s\n", o->data_dir,
		    rc == 0 ? "clean" : "problems found (kvd --repair)");
		return (rc == 0 ? KVD_EXIT_OK : KVD_EXIT_RUNTIME);
	}
	rc = engine_repair(o->data_dir, kvd_report_line, NULL);
	if (rc < 0) {
		fprintf(stderr, "kvd: repair %s: %s\n", o->data_dir,
		    engine_strerror(rc));
		return (KVD_EXIT_RUNTIME);
	}
	printf("%s: repaired\n", o->data_dir);
	return (KVD_EXIT_OK);
}

/* kvd -t: the options parsed; also check that every address resolves. */
static int
kvd_test_config(const struct options *o)
{
	char err[512];
	size_t i;

	for (i = 0; i < o->nlisten; i++)
		if (server_resolve(&o->listen[i], err, sizeof(err)) != 0) {
			fprintf(stderr, "kvd: %s\n", err);
			return (KVD_EXIT_USAGE);
		}
	if (o->metrics_enabled &&
	    server_resolve(&o->metrics, err, sizeof(err)) != 0) {
		fprintf(stderr, "kvd: metrics: %s\n", err);
		return (KVD_EXIT_USAGE);
	}
	printf("kvd: configuration OK%s%s\n",
	    o->config_file != NULL ? ": " : "",
	    o->config_file != NULL ? o->config_file : "");
	return (KVD_EXIT_OK);
}

static int
kvd_start(struct kvd *k)
{
	const struct options *o = &k->opts;
	struct engine_config ec;
	struct dispatch_config dc;
	struct server_config sc;
	char err[1024];
	int rc;

	if ((k->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1)
		return (kvd_fail(k, "eventfd: %s", strerror(errno)));
	if ((k->base = event_base_new()) == NULL ||
	    (k->wake = event_new(k->base, k->wake_fd, EV_READ | EV_PERSIST,
	    kvd_wake_cb, k)) == NULL ||
	    event_add(k->wake, NULL) != 0 ||
	    (k->stats = stats_new()) == NULL)
		return (kvd_fail(k, "out of memory"));
	k->sig_term = evsignal_new(k->base, SIGTERM, kvd_signal_cb, k);
	k->sig_int = evsignal_new(k->base, SIGINT, kvd_signal_cb, k);
	k->sig_hup = evsignal_new(k->base, SIGHUP, kvd_signal_cb, k);
	if (k->sig_term == NULL || k->sig_int == NULL || k->sig_hup == NULL ||
	    evsignal_add(k->sig_term, NULL) != 0 ||
	    evsignal_add(k->sig_int, NULL) != 0 ||
	    evsignal_add(k->sig_hup, NULL) != 0)
		return (kvd_fail(k, "cannot install signal handlers"));

	memset(&ec, 0, sizeof(ec));
	ec.dir = o->data_dir;
	ec.sync = o->fsync;
	ec.segment_size = o->segment_size;
	ec.max_key = o->max_key;
	ec.max_value = o->max_value;
	ec.compact_ratio = o->compact_ratio;
	ec.preallocate = o->preallocate;
	ec.owner_flushes = 1;	/* the server flushes once per loop pass */
	ec.notify = kvd_engine_notify;
	ec.notify_arg = k;
	ec.log = kvd_engine_log;
	ec.log_arg = k;
	err[0] = '\0';
	if ((rc = engine_open(&ec, &k->engine, err, sizeof(err))) != 0) {
		if (rc == ENGINE_ELOCKED)
			return (kvd_fail(k, "data directory %s is in use by "
			    "another kvd: %s", o->data_dir,
			    err[0] != '\0' ? err : engine_strerror(rc)));
		return (kvd_fail(k, "data directory %s: %s", o->data_dir,
		    err[0] != '\0' ? err : engine_strerror(rc)));
	}

	dc.engine = k->engine;
	dc.stats = k->stats;
	dc.max_key = o->max_key;
	dc.max_value = o->max_value;
	if ((k->dispatch = dispatch_new(&dc)) == NULL)
		return (kvd_fail(k, "out of memory"));

	memset(&sc, 0, sizeof(sc));
	sc.base = k->base;
	sc.engine = k->engine;
	sc.dispatch = k->dispatch;
	sc.stats = k->stats;
	sc.listen = o->listen;
	sc.nlisten = o->nlisten;
	sc.max_frame = o->max_frame;
	sc.max_clients = o->max_clients;
	sc.idle_timeout = o->idle_timeout;
	sc.output_limit = o->client_output_limit;
	sc.output_hard_limit = o->client_output_hard_limit;
	sc.drain_seconds = KVD_DRAIN_SECONDS;
	if (server_new(&sc, &k->server, err, sizeof(err)) != 0)
		return (kvd_fail(k, "%s", err));
	if (o->metrics_enabled && metrics_new(k->base, &o->metrics, k->stats,
	    k->engine, &k->metrics, err, sizeof(err)) != 0)
		return (kvd_fail(k, "%s", err));

	/* Ready: only now may anyone read the pidfile and connect. */
	if (o->pidfile != NULL) {
		if (proc_pidfile_write(o->pidfile, err, sizeof(err)) != 0)
			return (kvd_fail(k, "%s", err));
		k->pidfile_written = 1;
	}
	log_info("kvd %s serving data directory %s (fsync %s)",
	    PACKAGE_VERSION, o->data_dir, options_sync_name(o->fsync));
	if (k->ready_fd >= 0) {
		if (proc_detach_ready(k->ready_fd) != 0)
			log_warn("detaching from the terminal");
		k->ready_fd = -1;
	}
	proc_notify("READY=1");
	return (KVD_EXIT_OK);
}

static void
kvd_stop(struct kvd *k)
{
	server_free(k->server);
	metrics_free(k->metrics);
	dispatch_free(k->dispatch);
	/* Syncs what was written and joins the engine's threads. */
	engine_close(k->engine);
	if (k->pidfile_written)
		proc_pidfile_remove(k->opts.pidfile);
	if (k->sig_term != NULL)
		event_free(k->sig_term);
	if (k->sig_int != NULL)
		event_free(k->sig_int);
	if (k->sig_hup != NULL)
		event_free(k->sig_hup);
	if (k->wake != NULL)
		event_free(k->wake);
	if (k->wake_fd >= 0)
		close(k->wake_fd);
	if (k->base != NULL)
		event_base_free(k->base);
	stats_free(k->stats);
}

int
main(int argc, char *argv[])
{
	struct kvd k;
	char err[1024];
	int rc;

	memset(&k, 0, sizeof(k));
	k.ready_fd = -1;
	k.wake_fd = -1;
	/* A client that goes away mid-reply must cost an EPIPE, not the process. */
	signal(SIGPIPE, SIG_IGN);
	/* Nor a segment page the disk cannot read back: the read fails alone. */
	if (mapguard_install() != 0) {
		fprintf(stderr, "kvd: SIGBUS handler: %s\n", strerror(errno));
		return (KVD_EXIT_RUNTIME);
	}

	if (options_parse(&k.opts, argc, argv, err, sizeof(err)) != 0) {
		fprintf(stderr, "kvd: %s\n", err);
		return (KVD_EXIT_USAGE);
	}
	switch (k.opts.mode) {
	case OPTIONS_HELP:
		fputs(options_usage(), stdout);
		return (KVD_EXIT_OK);
	case OPTIONS_VERSION:
		printf("kvd %s\n", PACKAGE_VERSION);
		return (KVD_EXIT_OK);
	case OPTIONS_TEST:
		rc = kvd_test_config(&k.opts);
		options_clear(&k.opts);
		return (rc);
	case OPTIONS_CHECK:
	case OPTIONS_REPAIR:
		rc = kvd_offline(&k.opts);
		options_clear(&k.opts);
		return (rc);
	case OPTIONS_RUN:
		break;
	}

	if (k.opts.daemonize &&
	    options_absolutize(&k.opts, err, sizeof(err)) != 0) {
		fprintf(stderr, "kvd: %s\n", err);
		options_clear(&k.opts);
		return (KVD_EXIT_RUNTIME);
	}
	if (kvd_logging(&k.opts) != 0) {
		options_clear(&k.opts);
		return (KVD_EXIT_RUNTIME);
	}
	event_set_log_callback(kvd_libevent_log);
	/* Before any thread: the engine's threads must not be forked. */
	if (k.opts.daemonize &&
	    (k.ready_fd = proc_detach(err, sizeof(err))) < 0) {
		fprintf(stderr, "kvd: %s\n", err);
		log_close();
		options_clear(&k.opts);
		return (KVD_EXIT_RUNTIME);
	}

	rc = kvd_start(&k);
	if (rc == KVD_EXIT_OK) {
		if (event_base_dispatch(k.base) < 0) {
			log_error("event loop failed");
			rc = KVD_EXIT_RUNTIME;
		}
	}
	kvd_stop(&k);
	if (rc == KVD_EXIT_OK)
		log_info("stopped");
	log_close();
	options_clear(&k.opts);
	libevent_global_shutdown();
	return (rc);
}
