/*
 * log.h: leveled logging to stderr, a file or syslog.
 *
 * The logger is process-wide by nature (one stderr, one syslog connection),
 * so its state lives here and is configured once by the program's top level
 * (kvd's main, kvctl's main).  Libraries never call log_init(); the storage
 * engine reports through a callback its owner supplies instead.
 */
#ifndef KVD_LOG_H
#define KVD_LOG_H

#include <stdarg.h>

enum log_level {
	LOG_LEVEL_ERROR = 0,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
};

enum log_target {
	LOG_TARGET_STDERR,
	LOG_TARGET_FILE,
	LOG_TARGET_SYSLOG,
};

/*
 * log_init(progname, target, path, level):
 * Send messages at or above level to target; path names the file for
 * LOG_TARGET_FILE and is ignored otherwise.  Returns 0, or -1 with errno set
 * if the file cannot be opened (the previous target stays in use).
 */
int log_init(const char *progname, enum log_target target, const char *path,
    enum log_level level);

/* log_reopen(): reopen the log file (after rotation).  Returns 0 or -1. */
int log_reopen(void);

/* log_close(): close the file or syslog; later messages go to stderr. */
void log_close(void);

/* log_set_level(level): change the threshold. */
void log_set_level(enum log_level level);

/* log_level_parse(s, out): "error", "warn", "info" or "debug".  0 or -1. */
int log_level_parse(const char *s, enum log_level *out);

/* log_level_enabled(level): whether a message at level would be written. */
int log_level_enabled(enum log_level level);

/* log_warn* and fatal append ": strerror(errno)"; the *x forms do not. */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_msg(enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void log_vmsg(enum log_level level, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* fatal*(): log at error level and exit(1). */
void fatal(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

#endif /* !KVD_LOG_H */
