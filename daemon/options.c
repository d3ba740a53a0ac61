/*
 * options.c: defaults, config file and command line.  See options.h.
 *
 * One table describes every setting: its name (long option and config key),
 * its short option, where it may appear and how its value is parsed.  The
 * command line is read first only to find -c, -h and -V; then the file is
 * applied, and the command line over it.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "options.h"

enum opt_kind {
	K_CONFIG,	/* -c: command line only */
	K_MODE,		/* -t, --check, --repair, -h, -V: command line only */
	K_PATH,		/* a string: char * at off */
	K_LISTEN,	/* repeatable endpoint */
	K_METRICS,	/* one endpoint, turns the endpoint on */
	K_SYNC,
	K_FLAG,		/* int at off: a bare flag on the command line, yes/no in the file */
	K_LOGLEVEL,
	K_U32,		/* uint32_t at off, size suffixes allowed when sized */
	K_U64,		/* uint64_t at off, size suffixes allowed when sized */
	K_RATIO,	/* double at off, 0 < r <= 1 */
};

struct opt_def {
	const char	*name;
	int		 shortopt;	/* 0: long option only */
	enum opt_kind	 kind;
	size_t		 off;		/* into struct options */
	int		 sized;		/* K, M, G suffixes accepted */
	uint64_t	 min, max;	/* for K_U32 and K_U64 */
	int		 mode;		/* for K_MODE */
};

#define OFF(f)	offsetof(struct options, f)
#define GiB	(1ull << 30)

static const struct opt_def opt_defs[] = {
	{ "config", 'c', K_CONFIG, 0, 0, 0, 0, 0 },
	{ "data-dir", 'D', K_PATH, OFF(data_dir), 0, 0, 0, 0 },
	{ "listen", 'l', K_LISTEN, 0, 0, 0, 0, 0 },
	{ "fsync", 0, K_SYNC, 0, 0, 0, 0, 0 },
	{ "daemonize", 'd', K_FLAG, OFF(daemonize), 0, 0, 0, 0 },
	{ "pidfile", 'p', K_PATH, OFF(pidfile), 0, 0, 0, 0 },
	{ "log-file", 0, K_PATH, OFF(log_file), 0, 0, 0, 0 },
	{ "syslog", 0, K_FLAG, OFF(syslog), 0, 0, 0, 0 },
	{ "log-level", 0, K_LOGLEVEL, 0, 0, 0, 0, 0 },
	{ "max-frame", 0, K_U32, OFF(max_frame), 1, 64, GiB, 0 },
	{ "max-key", 0, K_U32, OFF(max_key), 1, 1, 1u << 20, 0 },
	{ "max-value", 0, K_U32, OFF(max_value), 1, 1, GiB, 0 },
	{ "max-clients", 0, K_U32, OFF(max_clients), 0, 1, 1000000, 0 },
	{ "idle-timeout", 0, K_U32, OFF(idle_timeout), 0, 0, 31536000, 0 },
	{ "client-output-limit", 0, K_U64, OFF(client_output_limit), 1,
	    4096, 64 * GiB, 0 },
	{ "client-output-hard-limit", 0, K_U64, OFF(client_output_hard_limit), 1,
	    4096, 64 * GiB, 0 },
	{ "metrics", 0, K_METRICS, 0, 0, 0, 0, 0 },
	{ "segment-size", 0, K_U64, OFF(segment_size), 1, 1u << 16, 1 * GiB, 0 },
	{ "compact-ratio", 0, K_RATIO, OFF(compact_ratio), 0, 0, 0, 0 },
	{ "preallocate", 0, K_FLAG, OFF(preallocate), 0, 0, 0, 0 },
	{ "test", 't', K_MODE, 0, 0, 0, 0, OPTIONS_TEST },
	{ "check", 0, K_MODE, 0, 0, 0, 0, OPTIONS_CHECK },
	{ "repair", 0, K_MODE, 0, 0, 0, 0, OPTIONS_REPAIR },
	{ "help", 'h', K_MODE, 0, 0, 0, 0, OPTIONS_HELP },
	{ "version", 'V', K_MODE, 0, 0, 0, 0, OPTIONS_VERSION },
};

#define NOPTS	(sizeof(opt_defs) / sizeof(opt_defs[0]))

/* Where a value came from, for error messages and for -l's replace rule. */
struct opt_src {
	const char	*file;		/* NULL: the command line */
	unsigned	 line;
	int		 cmdline_listen;	/* a -l was applied: the file's list is gone */
};

static const char usage_text[] =
"usage: kvd [-dht] [-c file] [-D dir] [-l host:port] [-p pidfile]\n"
"           [--fsync always|everysec|never] [--log-file file] [--syslog]\n"
"           [--log-level error|warn|info|debug] [--metrics host:port]\n"
"           [--max-frame size] [--max-key size] [--max-value size]\n"
"           [--max-clients n] [--idle-timeout seconds]\n"
"           [--client-output-limit size] [--client-output-hard-limit size]\n"
"           [--segment-size size] [--compact-ratio r] [--preallocate]\n"
"       kvd --check | --repair -D dir\n"
"       kvd -V\n"
"Sizes take an optional K, M or G suffix (powers of 1024).  See kvd(8).\n";

const char *
options_usage(void)
{
	return (usage_text);
}

const char *
options_sync_name(enum engine_sync s)
{
	switch (s) {
	case ENGINE_SYNC_ALWAYS:
		return ("always");
	case ENGINE_SYNC_EVERYSEC:
		return ("everysec");
	case ENGINE_SYNC_NEVER:
		return ("never");
	}
	return ("?");
}

/* "FILE:LINE: name" or "--name", the prefix of every error about a value. */
static void
opt_where(const struct opt_src *src, const struct opt_def *d, char *buf,
    size_t len)
{
	if (src->file != NULL)
		snprintf(buf, len, "%s:%u: %s", src->file, src->line, d->name);
	else
		snprintf(buf, len, "--%s", d->name);
}

/* Decimal number with an optional K, M or G suffix (powers of 1024). */
static int
opt_number(const char *s, int sized, uint64_t *out)
{
	unsigned long long v;
	uint64_t mult = 1;
	char *end;

	if (!isdigit((unsigned char)s[0]))
		return (-1);
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0)
		return (-1);
	if (sized && *end != '\0') {
		switch (*end) {
		case 'k': case 'K':
			mult = 1ull << 10;
			break;
		case 'm': case 'M':
			mult = 1ull << 20;
			break;
		case 'g': case 'G':
			mult = 1ull << 30;
			break;
		default:
			return (-1);
		}
		end++;
	}
	if (*end != '\0')
		return (-1);
	if (v > UINT64_MAX / mult)
		return (-1);
	*out = (uint64_t)v * mult;
	return (0);
}

static int
opt_bool(const char *s, int *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	size_t i;

	for (i = 0; i < 4; i++) {
		if (strcmp(s, yes[i]) == 0) {
			*out = 1;
			return (0);
		}
		if (strcmp(s, no[i]) == 0) {
			*out = 0;
			return (0);
		}
	}
	return (-1);
}

static int
opt_string(char **slot, const char *v, const char *where, char *err,
    size_t errlen)
{
	char *p;

	if (*v == '\0') {
		snprintf(err, errlen, "%s: empty value", where);
		return (-1);
	}
	if ((p = strdup(v)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", where);
		return (-1);
	}
	free(*slot);
	*slot = p;
	return (0);
}

/* Apply one setting.  v is NULL for a bare flag on the command line. */
static int
opt_apply(struct options *o, const struct opt_def *d, const char *v,
    struct opt_src *src, char *err, size_t errlen)
{
	char where[512], why[300];
	uint64_t n;
	double r;
	char *end;
	int b;

	opt_where(src, d, where, sizeof(where));
	switch (d->kind) {
	case K_CONFIG:
	case K_MODE:
		/* Handled by the caller; never reached from a file. */
		return (0);
	case K_PATH:
		return (opt_string((char **)(void *)((char *)o + d->off), v,
		    where, err, errlen));
	case K_LISTEN:
		if (src->file == NULL && !src->cmdline_listen) {
			o->nlisten = 0;
			src->cmdline_listen = 1;
		}
		if (o->nlisten == OPTIONS_LISTEN_MAX) {
			snprintf(err, errlen, "%s: more than %d listen addresses",
			    where, OPTIONS_LISTEN_MAX);
			return (-1);
		}
		if (endpoint_parse(v, ENDPOINT_DEFAULT_PORT,
		    &o->listen[o->nlisten], why, sizeof(why)) != 0) {
			snprintf(err, errlen, "%s: %s", where, why);
			return (-1);
		}
		o->nlisten++;
		return (0);
	case K_METRICS:
		if (endpoint_parse(v, 0, &o->metrics, why, sizeof(why)) != 0) {
			snprintf(err, errlen, "%s: %s", where, why);
			return (-1);
		}
		o->metrics_enabled = 1;
		return (0);
	case K_SYNC:
		if (strcmp(v, "always") == 0)
			o->fsync = ENGINE_SYNC_ALWAYS;
		else if (strcmp(v, "everysec") == 0)
			o->fsync = ENGINE_SYNC_EVERYSEC;
		else if (strcmp(v, "never") == 0)
			o->fsync = ENGINE_SYNC_NEVER;
		else {
			snprintf(err, errlen,
			    "%s: '%s' is not one of always, everysec, never",
			    where, v);
			return (-1);
		}
		return (0);
	case K_FLAG:
		if (v == NULL)
			b = 1;
		else if (opt_bool(v, &b) != 0) {
			snprintf(err, errlen, "%s: '%s' is not yes or no",
			    where, v);
			return (-1);
		}
		*(int *)(void *)((char *)o + d->off) = b;
		return (0);
	case K_LOGLEVEL:
		if (log_level_parse(v, &o->log_level) != 0) {
			snprintf(err, errlen,
			    "%s: '%s' is not one of error, warn, info, debug",
			    where, v);
			return (-1);
		}
		return (0);
	case K_U32:
	case K_U64:
		if (opt_number(v, d->sized, &n) != 0) {
			snprintf(err, errlen, "%s: '%s' is not a %s", where, v,
			    d->sized ? "size (a number of bytes with an "
			    "optional K, M or G suffix)" : "whole number");
			return (-1);
		}
		if (n < d->min || n > d->max) {
			snprintf(err, errlen,
			    "%s: %s is out of range (%llu to %llu)", where, v,
			    (unsigned long long)d->min,
			    (unsigned long long)d->max);
			return (-1);
		}
		if (d->kind == K_U32)
			*(uint32_t *)(void *)((char *)o + d->off) = (uint32_t)n;
		else
			*(uint64_t *)(void *)((char *)o + d->off) = n;
		return (0);
	case K_RATIO:
		errno = 0;
		r = strtod(v, &end);
		if (errno != 0 || end == v || *end != '\0' || !(r > 0.0) ||
		    !(r <= 1.0)) {
			snprintf(err, errlen,
			    "%s: '%s' is not a number above 0 and at most 1",
			    where, v);
			return (-1);
		}
		*(double *)(void *)((char *)o + d->off) = r;
		return (0);
	}
	return (0);
}

static const struct opt_def *
opt_find(const char *name)
{
	size_t i;

	for (i = 0; i < NOPTS; i++)
		if (strcmp(opt_defs[i].name, name) == 0)
			return (&opt_defs[i]);
	return (NULL);
}

static char *
opt_trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return (s);
}

/* Read "key value" lines; '#' starts a comment line. */
static int
options_file(struct options *o, const char *path, struct opt_src *src,
    char *err, size_t errlen)
{
	const struct opt_def *d;
	char buf[4096 + 2];
	char *line, *key, *val;
	size_t len;
	FILE *f;
	int rc = -1;

	if ((f = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "config file %s: %s", path,
		    strerror(errno));
		return (-1);
	}
	src->file = path;
	src->line = 0;
	while (fgets(buf, sizeof(buf), f) != NULL) {
		src->line++;
		len = strlen(buf);
		if (len > 0 && buf[len - 1] != '\n' && !feof(f)) {
			snprintf(err, errlen, "%s:%u: line longer than %d bytes",
			    path, src->line, 4096);
			goto out;
		}
		if (memchr(buf, '\0', len) != NULL || strlen(buf) != len) {
			snprintf(err, errlen, "%s:%u: NUL byte in line",
			    path, src->line);
			goto out;
		}
		line = opt_trim(buf);
		if (*line == '\0' || *line == '#')
			continue;
		key = line;
		for (val = key; *val != '\0' && !isspace((unsigned char)*val);
		    val++)
			;
		if (*val != '\0')
			*val++ = '\0';
		val = opt_trim(val);
		d = opt_find(key);
		if (d == NULL || d->kind == K_CONFIG || d->kind == K_MODE) {
			snprintf(err, errlen, "%s:%u: unknown key '%s'",
			    path, src->line, key);
			goto out;
		}
		if (*val == '\0') {
			snprintf(err, errlen, "%s:%u: %s: missing value",
			    path, src->line, key);
			goto out;
		}
		if (opt_apply(o, d, val, src, err, errlen) != 0)
			goto out;
	}
	if (ferror(f)) {
		snprintf(err, errlen, "config file %s: %s", path,
		    strerror(errno));
		goto out;
	}
	rc = 0;
out:
	fclose(f);
	src->file = NULL;
	return (rc);
}

static void
options_defaults(struct options *o)
{
	memset(o, 0, sizeof(*o));
	o->mode = OPTIONS_RUN;
	o->fsync = ENGINE_SYNC_ALWAYS;
	o->log_level = LOG_LEVEL_INFO;
	o->max_frame = OPTIONS_DEFAULT_MAX_FRAME;
	o->max_key = OPTIONS_DEFAULT_MAX_KEY;
	o->max_value = OPTIONS_DEFAULT_MAX_VALUE;
	o->max_clients = OPTIONS_DEFAULT_MAX_CLIENTS;
	o->idle_timeout = OPTIONS_DEFAULT_IDLE_TIMEOUT;
	o->client_output_limit = OPTIONS_DEFAULT_OUTPUT_LIMIT;
	o->client_output_hard_limit = OPTIONS_DEFAULT_OUTPUT_HARD;
	/*
	 * On by default: an fdatasync into a preallocated file need not
	 * update its size, about half the time (0.13 against 0.26-0.3 ms
	 * here), and under fsync always that time is every write's latency.
	 */
	o->preallocate = 1;
}

/* Rules that involve more than one setting, checked once all are applied. */
static int
options_validate(struct options *o, char *err, size_t errlen)
{
	char e[128];

	if (o->nlisten == 0) {
		if (endpoint_parse(OPTIONS_DEFAULT_LISTEN, ENDPOINT_DEFAULT_PORT,
		    &o->listen[0], e, sizeof(e)) != 0) {
			snprintf(err, errlen, "default listen address: %s", e);
			return (-1);
		}
		o->nlisten = 1;
	}
	if (o->data_dir == NULL &&
	    (o->data_dir = strdup(OPTIONS_DEFAULT_DATA_DIR)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return (-1);
	}
	if (o->client_output_hard_limit < o->client_output_limit) {
		snprintf(err, errlen, "client-output-hard-limit (%llu) is below "
		    "client-output-limit (%llu)",
		    (unsigned long long)o->client_output_hard_limit,
		    (unsigned long long)o->client_output_limit);
		return (-1);
	}
	if (o->syslog && o->log_file != NULL) {
		snprintf(err, errlen, "log-file and syslog cannot both be set");
		return (-1);
	}
	return (0);
}

/* The long options for getopt_long, and the short option string, built from the table. */
static void
options_getopt_tables(struct option *lo, char *so, size_t solen)
{
	size_t i, n = 0;

	/* '+': stop at the first operand, so argv is never permuted; ':': report missing arguments apart. */
	so[n++] = '+';
	so[n++] = ':';
	for (i = 0; i < NOPTS; i++) {
		const struct opt_def *d = &opt_defs[i];
		int arg = d->kind == K_FLAG || d->kind == K_MODE ?
		    no_argument : required_argument;

		lo[i].name = d->name;
		lo[i].has_arg = arg;
		lo[i].flag = NULL;
		lo[i].val = 256 + (int)i;
		if (d->shortopt != 0 && n + 3 < solen) {
			so[n++] = (char)d->shortopt;
			if (arg == required_argument)
				so[n++] = ':';
		}
	}
	memset(&lo[NOPTS], 0, sizeof(lo[NOPTS]));
	so[n] = '\0';
}

static const struct opt_def *
opt_by_short(int c)
{
	size_t i;

	for (i = 0; i < NOPTS; i++)
		if (opt_defs[i].shortopt == c)
			return (&opt_defs[i]);
	return (NULL);
}

int
options_parse(struct options *o, int argc, char *const argv[], char *err,
    size_t errlen)
{
	struct option lo[NOPTS + 1];
	char so[2 * NOPTS + 4];
	const struct opt_def **defs = NULL;
	const char **vals = NULL;
	const struct opt_def *d;
	struct opt_src src = { NULL, 0, 0 };
	const char *config = NULL;
	size_t n = 0, i;
	int c, mode = OPTIONS_RUN;

	options_defaults(o);
	options_getopt_tables(lo, so, sizeof(so));
	if ((defs = calloc((size_t)argc + 1, sizeof(*defs))) == NULL ||
	    (vals = calloc((size_t)argc + 1, sizeof(*vals))) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}

	/* Pass 1: collect, so that -c is known before anything is applied. */
	opterr = 0;
	optind = 0;	/* glibc: start afresh, even if called before */
	while ((c = getopt_long(argc, argv, so, lo, NULL)) != -1) {
		if (c == '?') {
			if (optopt != 0 && optopt < 256)
				snprintf(err, errlen, "unknown option '-%c' "
				    "(kvd -h lists the options)", optopt);
			else
				snprintf(err, errlen, "unknown option '%s' "
				    "(kvd -h lists the options)",
				    argv[optind - 1]);
			goto fail;
		}
		if (c == ':') {
			d = optopt >= 256 ? &opt_defs[optopt - 256] :
			    opt_by_short(optopt);
			if (d != NULL)
				snprintf(err, errlen, "--%s needs a value",
				    d->name);
			else
				snprintf(err, errlen, "'%s' needs a value",
				    argv[optind - 1]);
			goto fail;
		}
		d = c >= 256 ? &opt_defs[c - 256] : opt_by_short(c);
		if (d == NULL) {
			snprintf(err, errlen, "unknown option");
			goto fail;
		}
		if (d->kind == K_MODE) {
			if (d->mode == OPTIONS_HELP ||
			    d->mode == OPTIONS_VERSION) {
				o->mode = (enum options_mode)d->mode;
				free(defs);
				free(vals);
				return (0);
			}
			if (mode != OPTIONS_RUN && mode != d->mode) {
				snprintf(err, errlen, "--%s cannot be combined "
				    "with -t, --check or --repair", d->name);
				goto fail;
			}
			mode = d->mode;
			continue;
		}
		if (d->kind == K_CONFIG) {
			config = optarg;
			continue;
		}
		defs[n] = d;
		vals[n] = d->kind == K_FLAG ? NULL : optarg;
		n++;
	}
	if (optind < argc) {
		snprintf(err, errlen, "unexpected argument '%s' "
		    "(kvd -h lists the options)", argv[optind]);
		goto fail;
	}
	o->mode = (enum options_mode)mode;

	if (config != NULL) {
		if ((o->config_file = strdup(config)) == NULL) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		if (options_file(o, config, &src, err, errlen) != 0)
			goto fail;
	}
	for (i = 0; i < n; i++)
		if (opt_apply(o, defs[i], vals[i], &src, err, errlen) != 0)
			goto fail;
	if (options_validate(o, err, errlen) != 0)
		goto fail;
	free(defs);
	free(vals);
	return (0);

fail:
	free(defs);
	free(vals);
	options_clear(o);
	return (-1);
}

static int
opt_absolute(char **p, const char *cwd)
{
	char *a;

	if (*p == NULL || (*p)[0] == '/')
		return (0);
	if (asprintf(&a, "%s/%s", cwd, *p) < 0)
		return (-1);
	free(*p);
	*p = a;
	return (0);
}

int
options_absolutize(struct options *o, char *err, size_t errlen)
{
	char cwd[PATH_MAX];

	if (getcwd(cwd, sizeof(cwd)) == NULL) {
		snprintf(err, errlen, "current directory: %s", strerror(errno));
		return (-1);
	}
	if (opt_absolute(&o->data_dir, cwd) != 0 ||
	    opt_absolute(&o->pidfile, cwd) != 0 ||
	    opt_absolute(&o->log_file, cwd) != 0 ||
	    opt_absolute(&o->config_file, cwd) != 0) {
		snprintf(err, errlen, "out of memory");
		return (-1);
	}
	return (0);
}

void
options_clear(struct options *o)
{
	free(o->config_file);
	free(o->data_dir);
	free(o->pidfile);
	free(o->log_file);
	o->config_file = NULL;
	o->data_dir = NULL;
	o->pidfile = NULL;
	o->log_file = NULL;
}
