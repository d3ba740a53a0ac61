/*
 * cmdline.c: kvctl's command line.  See cmdline.h.
 *
 * A hand-written parser rather than getopt_long(): getopt keeps its state
 * in globals, which the interactive prompt would have to reset between
 * lines, and it cannot say which command an option belongs to.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmdline.h"
#include "text.h"

static void
cmdline_errf(char *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
cmdline_errf(char *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(err, CMDLINE_ERR_MAX, fmt, ap);
	va_end(ap);
}

void
cmdline_init(struct cmdline *cl)
{
	memset(cl, 0, sizeof(*cl));
	cl->timeout_ms = CMDLINE_TIMEOUT_MS;
	cl->cmd = CMD_NONE;
}

int
cmdline_timeout(const char *s, unsigned int *msp)
{
	uint64_t ms = 0, scale;
	const char *p = s;
	int digits = 0;

	for (; *p >= '0' && *p <= '9'; p++, digits++) {
		ms = ms * 10 + (uint64_t)(*p - '0');
		if (ms > 4294967)
			return (-1);
	}
	ms *= 1000;
	if (*p == '.') {
		/* Thousandths count; finer digits must still be digits. */
		for (p++, scale = 100; *p >= '0' && *p <= '9'; p++, digits++) {
			ms += (uint64_t)(*p - '0') * scale;
			scale /= 10;
		}
	}
	if (digits == 0 || *p != '\0' || ms > UINT32_MAX)
		return (-1);
	*msp = (unsigned int)ms;
	return (0);
}

/* A positive decimal count up to max. */
static int
cmdline_count(const char *s, uint64_t max, uint64_t *vp)
{
	uint64_t v = 0;
	const char *p;

	if (*s == '\0')
		return (-1);
	for (p = s; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return (-1);
		if (v > (max - (uint64_t)(*p - '0')) / 10)
			return (-1);
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (v == 0)
		return (-1);
	*vp = v;
	return (0);
}

int
cmdline_env(struct cmdline *cl, const char *server, const char *timeout,
    const char *hex, char *err)
{
	if (server != NULL && *server != '\0')
		cl->server = server;
	if (timeout != NULL && *timeout != '\0' &&
	    cmdline_timeout(timeout, &cl->timeout_ms) != 0) {
		cmdline_errf(err, "KVCTL_TIMEOUT: \"%s\" is not a number of "
		    "seconds (0 to 4294967)", timeout);
		return (-1);
	}
	if (hex != NULL && *hex != '\0')
		cl->hex = strcmp(hex, "0") != 0;
	return (0);
}

static const struct {
	const char		*name;
	enum cmdline_cmd	 cmd;
	int			 min, max;	/* operands */
	const char		*usage;
} cmdline_cmds[] = {
	{ "put",	CMD_PUT,	1, 2, "put KEY [VALUE]" },
	{ "get",	CMD_GET,	1, 1, "get KEY" },
	{ "del",	CMD_DEL,	1, 1, "del KEY" },
	{ "delete",	CMD_DEL,	1, 1, "delete KEY" },
	{ "scan",	CMD_SCAN,	0, 0, "scan [--prefix P | --from A [--to B]] "
	    "[--limit N] [--keys-only] [--json]" },
	{ "ping",	CMD_PING,	0, 0, "ping" },
	{ "stats",	CMD_STATS,	0, 0, "stats [--json]" },
	{ "compact",	CMD_COMPACT,	0, 0, "compact [--wait]" },
	{ "help",	CMD_HELP,	0, 0, "help" },
	{ "quit",	CMD_QUIT,	0, 0, "quit" },
	{ "exit",	CMD_QUIT,	0, 0, "exit" },
};

/* Options: which take a value, and which command they belong to. */
enum cmdline_opt {
	OPT_SERVER, OPT_TIMEOUT, OPT_HEX, OPT_HELP, OPT_VERSION,
	OPT_PREFIX, OPT_FROM, OPT_TO, OPT_LIMIT, OPT_PAGE_SIZE,
	OPT_KEYS_ONLY, OPT_JSON, OPT_WAIT,
};

static const struct {
	const char		*name;
	char			 letter;
	enum cmdline_opt	 opt;
	int			 takes_value;
	unsigned int		 cmds;	/* bit per command that takes it; 0: any */
} cmdline_opts[] = {
	{ "server",	's',	OPT_SERVER,	1, 0 },
	{ "timeout",	't',	OPT_TIMEOUT,	1, 0 },
	{ "hex",	'x',	OPT_HEX,	0, 0 },
	{ "help",	'h',	OPT_HELP,	0, 0 },
	{ "version",	'V',	OPT_VERSION,	0, 0 },
	{ "prefix",	0,	OPT_PREFIX,	1, 1u << CMD_SCAN },
	{ "from",	0,	OPT_FROM,	1, 1u << CMD_SCAN },
	{ "to",		0,	OPT_TO,		1, 1u << CMD_SCAN },
	{ "limit",	0,	OPT_LIMIT,	1, 1u << CMD_SCAN },
	{ "page-size",	0,	OPT_PAGE_SIZE,	1, 1u << CMD_SCAN },
	{ "keys-only",	0,	OPT_KEYS_ONLY,	0, 1u << CMD_SCAN },
	{ "json",	0,	OPT_JSON,	0, (1u << CMD_SCAN) | (1u << CMD_STATS) },
	{ "wait",	0,	OPT_WAIT,	0, 1u << CMD_COMPACT },
};

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* Apply option i with value v; spelled is how the user wrote it. */
static int
cmdline_apply(struct cmdline *cl, size_t i, const char *v,
    const char *spelled, unsigned int *seen, char *err)
{
	uint64_t n;

	*seen |= 1u << cmdline_opts[i].opt;
	switch (cmdline_opts[i].opt) {
	case OPT_SERVER:
		if (*v == '\0') {
			cmdline_errf(err, "%s: the endpoint is empty", spelled);
			return (-1);
		}
		cl->server = v;
		break;
	case OPT_TIMEOUT:
		if (cmdline_timeout(v, &cl->timeout_ms) != 0) {
			cmdline_errf(err, "%s: \"%s\" is not a number of seconds "
			    "(0 to 4294967)", spelled, v);
			return (-1);
		}
		break;
	case OPT_HEX:		cl->hex = 1; break;
	case OPT_HELP:		cl->help = 1; break;
	case OPT_VERSION:	cl->version = 1; break;
	case OPT_PREFIX:	cl->prefix = v; break;
	case OPT_FROM:		cl->from = v; break;
	case OPT_TO:		cl->to = v; break;
	case OPT_LIMIT:
		if (cmdline_count(v, UINT64_MAX, &n) != 0) {
			cmdline_errf(err, "%s: \"%s\" is not a positive count",
			    spelled, v);
			return (-1);
		}
		cl->limit = n;
		break;
	case OPT_PAGE_SIZE:
		if (cmdline_count(v, UINT32_MAX, &n) != 0) {
			cmdline_errf(err, "%s: \"%s\" is not a positive count "
			    "up to 4294967295", spelled, v);
			return (-1);
		}
		cl->page_size = (uint32_t)n;
		break;
	case OPT_KEYS_ONLY:	cl->keys_only = 1; break;
	case OPT_JSON:		cl->json = 1; break;
	case OPT_WAIT:		cl->wait = 1; break;
	}
	return (0);
}

/*
 * The value of the option in argv[*ip]: attached to it (if not NULL) or
 * else the next word, which it consumes.  NULL, with err set, if neither.
 */
static const char *
cmdline_value(const char *attached, int argc, char *const argv[], int *ip,
    const char *spelled, char *err)
{
	if (attached != NULL)
		return (attached);
	if (*ip + 1 < argc)
		return (argv[++*ip]);
	cmdline_errf(err, "%s needs a value", spelled);
	return (NULL);
}

/* Parse the option in argv[*ip]; may consume the next word as its value. */
static int
cmdline_option(struct cmdline *cl, int argc, char *const argv[], int *ip,
    unsigned int *seen, char *err)
{
	const char *a = argv[*ip], *eq, *v;
	char spelled[64];
	size_t i, namelen;

	if (a[1] == '-') {
		eq = strchr(a + 2, '=');
		namelen = eq != NULL ? (size_t)(eq - (a + 2)) : strlen(a + 2);
		for (i = 0; i < NELEM(cmdline_opts); i++)
			if (strlen(cmdline_opts[i].name) == namelen &&
			    strncmp(cmdline_opts[i].name, a + 2, namelen) == 0)
				break;
		if (i == NELEM(cmdline_opts)) {
			cmdline_errf(err, "unknown option %.*s (use -- before "
			    "operands that begin with '-')", (int)namelen + 2, a);
			return (-1);
		}
		(void)snprintf(spelled, sizeof(spelled), "--%s",
		    cmdline_opts[i].name);
		if (!cmdline_opts[i].takes_value) {
			if (eq != NULL) {
				cmdline_errf(err, "%s takes no value", spelled);
				return (-1);
			}
			return (cmdline_apply(cl, i, NULL, spelled, seen, err));
		}
		if ((v = cmdline_value(eq != NULL ? eq + 1 : NULL, argc, argv,
		    ip, spelled, err)) == NULL)
			return (-1);
		return (cmdline_apply(cl, i, v, spelled, seen, err));
	}

	/* A cluster of short options: -xs HOST, -sHOST, -t5. */
	for (a++; *a != '\0'; a++) {
		for (i = 0; i < NELEM(cmdline_opts); i++)
			if (cmdline_opts[i].letter == *a)
				break;
		if (i == NELEM(cmdline_opts)) {
			cmdline_errf(err, "unknown option -%c (use -- before "
			    "operands that begin with '-')", *a);
			return (-1);
		}
		(void)snprintf(spelled, sizeof(spelled), "-%c", *a);
		if (!cmdline_opts[i].takes_value) {
			if (cmdline_apply(cl, i, NULL, spelled, seen, err) != 0)
				return (-1);
			continue;
		}
		if ((v = cmdline_value(a[1] != '\0' ? a + 1 : NULL, argc, argv,
		    ip, spelled, err)) == NULL)
			return (-1);
		return (cmdline_apply(cl, i, v, spelled, seen, err));
	}
	return (0);
}

int
cmdline_parse(struct cmdline *cl, int argc, char *const argv[], char *err)
{
	unsigned int seen = 0;
	size_t i, c = NELEM(cmdline_cmds);
	int k, nops = 0, opts_done = 0;
	const char *ops[4];

	for (k = 0; k < argc; k++) {
		const char *a = argv[k];

		if (!opts_done && strcmp(a, "--") == 0) {
			opts_done = 1;
			continue;
		}
		if (!opts_done && a[0] == '-' && a[1] != '\0') {
			if (cmdline_option(cl, argc, argv, &k, &seen, err) != 0)
				return (-1);
			continue;
		}
		if (nops == (int)NELEM(ops)) {
			cmdline_errf(err, "too many operands, starting at \"%s\"", a);
			return (-1);
		}
		ops[nops++] = a;
	}
	if (cl->help || cl->version)
		return (0);
	if (nops == 0) {
		/* Command options without a command are still mistakes. */
		for (i = 0; i < NELEM(cmdline_opts); i++)
			if (cmdline_opts[i].cmds != 0 &&
			    (seen & (1u << cmdline_opts[i].opt)) != 0) {
				cmdline_errf(err, "--%s needs a command",
				    cmdline_opts[i].name);
				return (-1);
			}
		cl->cmd = CMD_NONE;
		return (0);
	}
	for (c = 0; c < NELEM(cmdline_cmds); c++)
		if (strcmp(cmdline_cmds[c].name, ops[0]) == 0)
			break;
	if (c == NELEM(cmdline_cmds)) {
		cmdline_errf(err, "unknown command \"%s\"", ops[0]);
		return (-1);
	}
	cl->cmd = cmdline_cmds[c].cmd;
	cl->cmdname = cmdline_cmds[c].name;
	if (nops - 1 < cmdline_cmds[c].min || nops - 1 > cmdline_cmds[c].max) {
		cmdline_errf(err, "%s: usage: %s", cl->cmdname,
		    cmdline_cmds[c].usage);
		return (-1);
	}
	cl->nargs = nops - 1;
	for (k = 1; k < nops; k++)
		cl->arg[k - 1] = ops[k];
	for (i = 0; i < NELEM(cmdline_opts); i++)
		if (cmdline_opts[i].cmds != 0 &&
		    (seen & (1u << cmdline_opts[i].opt)) != 0 &&
		    (cmdline_opts[i].cmds & (1u << cl->cmd)) == 0) {
			cmdline_errf(err, "%s: --%s is not an option of this "
			    "command", cl->cmdname, cmdline_opts[i].name);
			return (-1);
		}
	if (cl->prefix != NULL && (cl->from != NULL || cl->to != NULL)) {
		cmdline_errf(err, "scan: --prefix cannot be combined with "
		    "--from or --to");
		return (-1);
	}
	return (0);
}

/* ---- the interactive prompt's words ---- */

static int
cmdline_blank(char c)
{
	return (c == ' ' || c == '\t' || c == '\n' || c == '\r');
}

/* Decode the escape after a backslash at *pp into *out; advances *pp. */
static int
cmdline_escape(const char **pp, char *out, char *err)
{
	const char *p = *pp;
	int hi, lo;

	switch (*p) {
	case 'n':	*out = '\n'; break;
	case 't':	*out = '\t'; break;
	case 'r':	*out = '\r'; break;
	case 'x':
		if ((hi = text_hex_digit(p[1])) < 0 ||
		    (lo = text_hex_digit(p[2])) < 0) {
			cmdline_errf(err, "\\x needs two hex digits");
			return (-1);
		}
		if (hi == 0 && lo == 0) {
			cmdline_errf(err, "\\x00 cannot be part of a word; "
			    "use --hex");
			return (-1);
		}
		*out = (char)(hi << 4 | lo);
		p += 2;
		break;
	case '\0':
		cmdline_errf(err, "a backslash ends the line");
		return (-1);
	default:
		*out = *p;
		break;
	}
	*pp = p + 1;
	return (0);
}

int
cmdline_split(const char *line, char ***wordsp, int *nwordsp, char *err)
{
	const char *p = line;
	char **words = NULL, **nw, *buf = NULL, *w;
	size_t len = strlen(line);
	int n = 0, cap = 0;
	char q;

	for (;;) {
		while (cmdline_blank(*p))
			p++;
		if (*p == '\0')
			break;
		/* A word is never longer than what is left of the line. */
		if ((buf = malloc(len + 1)) == NULL)
			goto nomem;
		w = buf;
		while (*p != '\0' && !cmdline_blank(*p)) {
			if (*p == '\'' || *p == '"') {
				q = *p++;
				while (*p != q) {
					if (*p == '\0') {
						cmdline_errf(err, "unterminated %c quote", q);
						goto bad;
					}
					if (q == '"' && *p == '\\') {
						p++;
						if (cmdline_escape(&p, w++, err) != 0)
							goto bad;
					} else
						*w++ = *p++;
				}
				p++;
			} else if (*p == '\\') {
				p++;
				if (cmdline_escape(&p, w++, err) != 0)
					goto bad;
			} else
				*w++ = *p++;
		}
		*w = '\0';
		if (n + 2 > cap) {
			cap = cap == 0 ? 8 : cap * 2;
			if ((nw = realloc(words, (size_t)cap * sizeof(*nw))) == NULL)
				goto nomem;
			words = nw;
		}
		words[n++] = buf;
		words[n] = NULL;
		buf = NULL;
	}
	if (words == NULL) {
		if ((words = calloc(1, sizeof(*words))) == NULL)
			goto nomem;
	}
	*wordsp = words;
	*nwordsp = n;
	return (0);

nomem:
	free(buf);
	cmdline_split_free(words);
	return (-2);
bad:
	free(buf);
	cmdline_split_free(words);
	return (-1);
}

void
cmdline_split_free(char **words)
{
	char **w;

	if (words == NULL)
		return;
	for (w = words; *w != NULL; w++)
		free(*w);
	free(words);
}
