/*
 * options.h: kvd's settings, from the command line and the config file.
 *
 * Every setting has one name, used both as the long option (--max-key) and
 * as the config file key (max-key); kvd.conf(5) lists them.  The file is
 * read first and the command line applied over it, so the command line
 * wins.  Listen addresses are a list: any -l on the command line replaces
 * the file's whole list.
 *
 * Nothing here prints or exits: errors come back as one line for the
 * caller to show, and the caller exits with status 2.
 */
#ifndef KVD_OPTIONS_H
#define KVD_OPTIONS_H

#include <stddef.h>
#include <stdint.h>

#include "endpoint.h"
#include "engine.h"
#include "log.h"

/* What the command line asks kvd to do. */
enum options_mode {
	OPTIONS_RUN,		/* serve */
	OPTIONS_TEST,		/* -t: check the configuration and exit */
	OPTIONS_CHECK,		/* --check: verify the data directory offline */
	OPTIONS_REPAIR,		/* --repair: repair the data directory offline */
	OPTIONS_HELP,		/* -h */
	OPTIONS_VERSION,	/* -V */
};

#define OPTIONS_LISTEN_MAX	16

struct options {
	enum options_mode mode;
	char		*config_file;	/* NULL: none */
	char		*data_dir;
	struct endpoint	 listen[OPTIONS_LISTEN_MAX];
	size_t		 nlisten;
	enum engine_sync fsync;
	int		 daemonize;
	char		*pidfile;	/* NULL: none */
	char		*log_file;	/* NULL: stderr (or syslog) */
	int		 syslog;
	enum log_level	 log_level;
	uint32_t	 max_frame;
	uint32_t	 max_key;
	uint32_t	 max_value;
	uint32_t	 max_clients;
	uint32_t	 idle_timeout;	/* seconds; 0: never */
	uint64_t	 client_output_limit;	/* stop reading a client above this */
	uint64_t	 client_output_hard_limit; /* drop a client above this */
	int		 metrics_enabled;
	struct endpoint	 metrics;
	uint64_t	 segment_size;	/* 0: the engine's default */
	double		 compact_ratio;	/* 0: the engine's default */
	int		 preallocate;	/* default on */
};

/* Defaults (kvd(8) and kv-protocol(7) document them). */
#define OPTIONS_DEFAULT_DATA_DIR	"/var/lib/kvd"
#define OPTIONS_DEFAULT_LISTEN		"127.0.0.1"
#define OPTIONS_DEFAULT_MAX_FRAME	(64u << 20)
#define OPTIONS_DEFAULT_MAX_KEY		4096u
#define OPTIONS_DEFAULT_MAX_VALUE	(32u << 20)
#define OPTIONS_DEFAULT_MAX_CLIENTS	1024u
#define OPTIONS_DEFAULT_IDLE_TIMEOUT	300u
#define OPTIONS_DEFAULT_OUTPUT_LIMIT	(8ull << 20)
#define OPTIONS_DEFAULT_OUTPUT_HARD	(128ull << 20)

/*
 * options_parse(o, argc, argv, err, errlen):
 * Fill o with the defaults, then the config file named by -c (if any),
 * then the command line.  argv is not modified.  Returns 0, or -1 with one
 * line in err naming the option (or FILE:LINE and key) and the problem.
 * On success the caller owns o's strings: release them with
 * options_clear().  On failure o holds nothing to release.
 */
int options_parse(struct options *o, int argc, char *const argv[],
    char *err, size_t errlen);

/*
 * options_absolutize(o, err, errlen):
 * Turn the relative paths in o into absolute ones against the current
 * directory, for a daemon that is about to chdir("/").  Returns 0 or -1
 * with err set (getcwd failed, or out of memory).
 */
int options_absolutize(struct options *o, char *err, size_t errlen);

/* options_clear(o): free o's strings.  Safe on a zeroed o. */
void options_clear(struct options *o);

/* options_usage(): the text that -h prints. */
const char *options_usage(void);

/* options_sync_name(s): "always", "everysec" or "never". */
const char *options_sync_name(enum engine_sync s);

#endif /* !KVD_OPTIONS_H */
