/*
 * log.c: leveled logging to stderr, a file or syslog.  See log.h.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <sys/time.h>
#include <unistd.h>

#include "log.h"

/* Process-wide by nature; see log.h. */
static struct {
	const char	*progname;
	enum log_target	 target;
	char		*path;
	FILE		*file;
	enum log_level	 level;
} logger = { "kvd", LOG_TARGET_STDERR, NULL, NULL, LOG_LEVEL_INFO };

static const char *const level_names[] = { "error", "warn", "info", "debug" };

int
log_level_parse(const char *s, enum log_level *out)
{
	size_t i;

	for (i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return (0);
		}
	}
	if (strcmp(s, "warning") == 0) {
		*out = LOG_LEVEL_WARN;
		return (0);
	}
	return (-1);
}

int
log_init(const char *progname, enum log_target target, const char *path,
    enum log_level level)
{
	FILE *f = NULL;
	char *p = NULL;

	if (target == LOG_TARGET_FILE) {
		if ((p = strdup(path)) == NULL)
			return (-1);
		if ((f = fopen(path, "a")) == NULL) {
			free(p);
			return (-1);
		}
		setvbuf(f, NULL, _IOLBF, 0);
	}
	log_close();
	logger.progname = progname;
	logger.target = target;
	logger.level = level;
	logger.path = p;
	logger.file = f;
	if (target == LOG_TARGET_SYSLOG)
		openlog(progname, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	return (0);
}

int
log_reopen(void)
{
	FILE *f;

	if (logger.target != LOG_TARGET_FILE)
		return (0);
	if ((f = fopen(logger.path, "a")) == NULL)
		return (-1);
	setvbuf(f, NULL, _IOLBF, 0);
	fclose(logger.file);
	logger.file = f;
	return (0);
}

void
log_close(void)
{
	if (logger.file != NULL)
		fclose(logger.file);
	if (logger.target == LOG_TARGET_SYSLOG)
		closelog();
	free(logger.path);
	logger.file = NULL;
	logger.path = NULL;
	logger.target = LOG_TARGET_STDERR;
}

void
log_set_level(enum log_level level)
{
	logger.level = level;
}

int
log_level_enabled(enum log_level level)
{
	return (level <= logger.level);
}

static void log_write(enum log_level, const char *, va_list, int)
    __attribute__((format(printf, 2, 0)));

static void
log_write(enum log_level level, const char *fmt, va_list ap, int with_errno)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	char msg[1024];
	char stamp[32];
	struct timeval tv;
	struct tm tm;
	int saved = errno;
	FILE *out;

	if (level > logger.level)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (with_errno) {
		size_t n = strlen(msg);
		snprintf(msg + n, sizeof(msg) - n, ": %s", strerror(saved));
	}
	if (logger.target == LOG_TARGET_SYSLOG) {
		syslog(prio[level], "%s", msg);
		errno = saved;
		return;
	}
	out = logger.target == LOG_TARGET_FILE ? logger.file : stderr;
	gettimeofday(&tv, NULL);
	localtime_r(&tv.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(out, "%s.%03ld %s[%ld] %s: %s\n", stamp,
	    (long)(tv.tv_usec / 1000), logger.progname, (long)getpid(),
	    level_names[level], msg);
	errno = saved;
}

void
log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
	log_write(level, fmt, ap, 0);
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_write(level, fmt, ap, 0);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_write(LOG_LEVEL_WARN, fmt, ap, 1);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_write(LOG_LEVEL_WARN, fmt, ap, 0);
	va_end(ap);
}

void
log_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_write(LOG_LEVEL_ERROR, fmt, ap, 0);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_write(LOG_LEVEL_INFO, fmt, ap, 0);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_write(LOG_LEVEL_DEBUG, fmt, ap, 0);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_write(LOG_LEVEL_ERROR, fmt, ap, 1);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_write(LOG_LEVEL_ERROR, fmt, ap, 0);
	va_end(ap);
	exit(1);
}
