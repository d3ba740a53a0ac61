/*
 * kvctl: talk to kvd from the shell.  See kvctl(1).
 *
 * Exit status: 0 success, 1 key not found, 2 usage error, 3 connection or
 * server error.  Errors are one line on standard error naming what failed.
 */
#include "config.h"

#include <errno.h>
#include <histedit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cmdline.h"
#include "kvclient.h"
#include "text.h"

#define EXIT_NOT_FOUND	1
#define EXIT_USAGE	2
#define EXIT_FAIL	3

#define DEFAULT_ENDPOINT	"127.0.0.1:7878"

/* Values read from standard input beyond this are refused, not buffered. */
#define STDIN_MAX	(1024UL * 1024 * 1024)

/* State that outlives one command: the interactive prompt reuses it. */
struct session {
	kv_conn		*c;
	char		*endpoint;	/* what c is connected to; NULL: nothing */
	int		 interactive;
	int		 tty_out;	/* stdout is a terminal: make output readable */
	char		 prompt[300];	/* libedit keeps the pointer */
};

static void
usage(FILE *f)
{
	fprintf(f,
"usage: kvctl [-x] [-s HOST:PORT] [-t SECONDS] COMMAND [ARG ...]\n"
"  put KEY [VALUE]   store VALUE (omitted or '-': standard input)\n"
"  get KEY           write the value to standard output\n"
"  del KEY           delete KEY\n"
"  scan [--prefix P | --from A [--to B]] [--limit N] [--page-size N]\n"
"       [--keys-only] [--json]\n"
"                    list entries in key order\n"
"  ping              check that the server answers\n"
"  stats [--json]    show the server's statistics\n"
"  compact [--wait]  reclaim the space of overwritten and deleted records\n"
"options: -s, --server HOST:PORT (KVCTL_SERVER; default " DEFAULT_ENDPOINT ")\n"
"         -t, --timeout SECONDS  (KVCTL_TIMEOUT; default 30, 0: none)\n"
"         -x, --hex              keys and values as hex (KVCTL_HEX)\n"
"         --                     end of options\n"
"With no command on a terminal, kvctl reads commands at a prompt.\n"
"Exit status: 0 success, 1 not found, 2 usage error, 3 connection or "
"server error.\n");
}

/* Print a message that may hold bytes from the network, escaped. */
static void
put_escaped(FILE *f, const char *s)
{
	text_escape_write(f, (const uint8_t *)s, strlen(s));
}

/* Report a failed call: "kvctl: CMD: [STATUS: ]message". */
static int
fail(const char *cmd, int code, const char *msg)
{
	const char *name = kv_status_name(code);

	fprintf(stderr, "kvctl: %s: ", cmd);
	if (code > 0)
		fprintf(stderr, "%s: ", name != NULL ? name : "status");
	put_escaped(stderr, msg != NULL && *msg != '\0' ? msg :
	    kv_strerror(code));
	putc('\n', stderr);
	return (EXIT_FAIL);
}

/* Report a usage error in the command cmd: "kvctl: CMD: what". */
static int
usage_error(const char *cmd, const char *what)
{
	fprintf(stderr, "kvctl: %s: %s\n", cmd, what);
	return (EXIT_USAGE);
}

/* Decode an operand: its bytes as typed, or hex with --hex. */
static int
operand(const struct cmdline *cl, const char *what, const char *s,
    uint8_t **bufp, const uint8_t **pp, size_t *lenp)
{
	int r;

	*bufp = NULL;
	if (!cl->hex) {
		*pp = (const uint8_t *)s;
		*lenp = strlen(s);
		return (0);
	}
	if ((r = text_hex_decode(s, strlen(s), bufp, lenp)) != 0) {
		fprintf(stderr, "kvctl: %s: %s %s\n", cl->cmdname, what,
		    r == -2 ? "does not fit in memory" : "is not valid hex");
		return (r == -2 ? EXIT_FAIL : EXIT_USAGE);
	}
	*pp = *bufp;
	return (0);
}

/* Decode the KEY operand (the first), which must not be empty. */
static int
key_operand(const struct cmdline *cl, uint8_t **bufp, const uint8_t **pp,
    size_t *lenp)
{
	int rc;

	if ((rc = operand(cl, "KEY", cl->arg[0], bufp, pp, lenp)) != 0)
		return (rc);
	if (*lenp == 0) {
		free(*bufp);
		*bufp = NULL;
		return (usage_error(cl->cmdname, "the key is empty"));
	}
	return (0);
}

/* Read all of standard input (binary-safe) into *bufp. */
static int
read_stdin(uint8_t **bufp, size_t *lenp)
{
	uint8_t *buf = NULL, *nb;
	size_t len = 0, cap = 0;
	ssize_t n;

	for (;;) {
		if (len == cap) {
			if (cap >= STDIN_MAX) {
				free(buf);
				fprintf(stderr, "kvctl: put: the value on standard "
				    "input exceeds %lu bytes\n", STDIN_MAX);
				return (EXIT_USAGE);
			}
			cap = cap == 0 ? 65536 : cap * 2;
			if ((nb = realloc(buf, cap + 1)) == NULL) {
				free(buf);
				fprintf(stderr, "kvctl: put: out of memory reading "
				    "standard input\n");
				return (EXIT_FAIL);
			}
			buf = nb;
		}
		n = read(STDIN_FILENO, buf + len, cap - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			fprintf(stderr, "kvctl: put: read standard input: %s\n",
			    strerror(errno));
			free(buf);
			return (EXIT_FAIL);
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	*bufp = buf;
	*lenp = len;
	return (0);
}

/* Connect (again) if s is not connected to the endpoint cl names. */
static int
session_connect(struct session *s, const struct cmdline *cl)
{
	const char *ep = cl->server != NULL ? cl->server : DEFAULT_ENDPOINT;
	kv_options *o;
	int r;

	if (s->c != NULL && s->endpoint != NULL && strcmp(s->endpoint, ep) == 0)
		return (0);
	kv_conn_free(s->c);
	free(s->endpoint);
	s->c = NULL;
	s->endpoint = NULL;
	if ((o = kv_options_new()) == NULL)
		return (fail("connect", KV_ERR_NOMEM, NULL));
	(void)kv_options_set_connect_timeout(o, cl->timeout_ms);
	(void)kv_options_set_request_timeout(o, cl->timeout_ms);
	s->c = kv_conn_new(o);
	kv_options_free(o);
	if (s->c == NULL)
		return (fail("connect", KV_ERR_NOMEM, NULL));
	if ((r = kv_connect(s->c, ep)) != KV_OK) {
		fprintf(stderr, "kvctl: ");
		put_escaped(stderr, kv_errmsg(s->c));
		putc('\n', stderr);
		kv_conn_free(s->c);
		s->c = NULL;
		return (r == KV_ERR_ARG ? EXIT_USAGE : EXIT_FAIL);
	}
	if ((s->endpoint = strdup(ep)) == NULL) {
		kv_conn_free(s->c);
		s->c = NULL;
		return (fail("connect", KV_ERR_NOMEM, NULL));
	}
	return (0);
}

/* A connection error leaves c closed: forget it so the next command reconnects. */
static void
session_check(struct session *s, int code)
{
	if (code < 0 && code != KV_ERR_ARG && code != KV_ERR_STATE) {
		kv_conn_free(s->c);
		free(s->endpoint);
		s->c = NULL;
		s->endpoint = NULL;
	}
}

/* Report a failed request, and drop the connection if it broke. */
static int
request_failed(struct session *s, const struct cmdline *cl, int code)
{
	int rc = fail(cl->cmdname, code, kv_errmsg(s->c));

	session_check(s, code);
	return (rc);
}

static void
not_found(const char *cmd, const uint8_t *key, size_t keylen, int hex)
{
	fprintf(stderr, "kvctl: %s: key \"", cmd);
	if (hex)
		text_hex_write(stderr, key, keylen);
	else
		text_escape_write(stderr, key, keylen);
	fprintf(stderr, "\" not found\n");
}

static int
cmd_put(struct session *s, const struct cmdline *cl)
{
	uint8_t *kbuf = NULL, *vbuf = NULL, *raw = NULL;
	const uint8_t *key, *val;
	size_t keylen, vallen, rawlen;
	int r, rc;

	if ((rc = key_operand(cl, &kbuf, &key, &keylen)) != 0)
		return (rc);
	if (cl->nargs == 2 && strcmp(cl->arg[1], "-") != 0) {
		if ((rc = operand(cl, "VALUE", cl->arg[1], &vbuf, &val,
		    &vallen)) != 0)
			goto out;
	} else if (s->interactive) {
		rc = usage_error(cl->cmdname,
		    "give the value on the line at the prompt");
		goto out;
	} else {
		if ((rc = read_stdin(&raw, &rawlen)) != 0)
			goto out;
		if (cl->hex) {
			if ((r = text_hex_decode((const char *)raw, rawlen, &vbuf,
			    &vallen)) != 0) {
				rc = r == -2 ? fail(cl->cmdname, KV_ERR_NOMEM, NULL) :
				    usage_error(cl->cmdname,
				    "standard input is not valid hex");
				goto out;
			}
			val = vbuf;
		} else {
			val = raw;
			vallen = rawlen;
		}
	}
	if ((rc = session_connect(s, cl)) != 0)
		goto out;
	if ((r = kv_put(s->c, key, keylen, val, vallen, NULL)) != KV_OK) {
		rc = request_failed(s, cl, r);
		goto out;
	}
	if (s->tty_out)
		printf("OK\n");
	rc = 0;
out:
	free(kbuf);
	free(vbuf);
	free(raw);
	return (rc);
}

static int
cmd_get(struct session *s, const struct cmdline *cl)
{
	uint8_t *kbuf = NULL;
	const uint8_t *key;
	size_t keylen, vallen;
	void *val = NULL;
	int r, rc;

	if ((rc = key_operand(cl, &kbuf, &key, &keylen)) != 0)
		return (rc);
	if ((rc = session_connect(s, cl)) != 0)
		goto out;
	r = kv_get(s->c, key, keylen, &val, &vallen, NULL);
	if (r == KV_NOT_FOUND) {
		not_found(cl->cmdname, key, keylen, cl->hex);
		rc = EXIT_NOT_FOUND;
		goto out;
	}
	if (r != KV_OK) {
		rc = request_failed(s, cl, r);
		goto out;
	}
	if (cl->hex) {
		text_hex_write(stdout, val, vallen);
		putchar('\n');
	} else if (s->tty_out) {
		text_escape_write(stdout, val, vallen);
		putchar('\n');
	} else if (vallen > 0 && fwrite(val, 1, vallen, stdout) != vallen) {
		rc = EXIT_FAIL;
		fprintf(stderr, "kvctl: get: write standard output: %s\n",
		    strerror(errno));
	}
out:
	kv_free(val);
	free(kbuf);
	return (rc);
}

static int
cmd_del(struct session *s, const struct cmdline *cl)
{
	uint8_t *kbuf = NULL;
	const uint8_t *key;
	size_t keylen;
	int r, rc;

	if ((rc = key_operand(cl, &kbuf, &key, &keylen)) != 0)
		return (rc);
	if ((rc = session_connect(s, cl)) != 0)
		goto out;
	r = kv_delete(s->c, key, keylen, NULL);
	if (r == KV_NOT_FOUND) {
		not_found(cl->cmdname, key, keylen, cl->hex);
		rc = EXIT_NOT_FOUND;
	} else if (r != KV_OK) {
		rc = request_failed(s, cl, r);
	} else if (s->tty_out)
		printf("OK\n");
out:
	free(kbuf);
	return (rc);
}

/* Write one scan entry in the chosen form. */
static void
scan_print(const struct cmdline *cl, const uint8_t *k, size_t klen,
    const uint8_t *v, size_t vlen)
{
	if (cl->json) {
		putchar('{');
		text_json_bytes(stdout, "key", k, klen, cl->hex);
		if (!cl->keys_only) {
			putchar(',');
			text_json_bytes(stdout, "value", v, vlen, cl->hex);
		}
		fputs("}\n", stdout);
		return;
	}
	if (cl->hex)
		text_hex_write(stdout, k, klen);
	else
		text_escape_write(stdout, k, klen);
	if (!cl->keys_only) {
		putchar('\t');
		if (cl->hex)
			text_hex_write(stdout, v, vlen);
		else
			text_escape_write(stdout, v, vlen);
	}
	putchar('\n');
}

static int
cmd_scan(struct session *s, const struct cmdline *cl)
{
	uint8_t *bufs[3] = { NULL, NULL, NULL };
	const uint8_t *p;
	const void *k, *v;
	size_t len, klen, vlen;
	kv_iter *it = NULL;
	int r, rc;

	if ((rc = session_connect(s, cl)) != 0)
		return (rc);
	if ((r = kv_iter_new(s->c, &it)) != KV_OK)
		return (fail(cl->cmdname, r, kv_errmsg(s->c)));
	if (cl->prefix != NULL) {
		if ((rc = operand(cl, "--prefix", cl->prefix, &bufs[0], &p,
		    &len)) != 0)
			goto out;
		r = kv_iter_set_prefix(it, p, len);
	}
	if (r == KV_OK && cl->from != NULL) {
		if ((rc = operand(cl, "--from", cl->from, &bufs[1], &p, &len)) != 0)
			goto out;
		r = kv_iter_set_start(it, p, len);
	}
	if (r == KV_OK && cl->to != NULL) {
		if ((rc = operand(cl, "--to", cl->to, &bufs[2], &p, &len)) != 0)
			goto out;
		r = kv_iter_set_end(it, p, len);
	}
	if (r == KV_OK)
		r = kv_iter_set_limit(it, cl->limit);
	if (r == KV_OK)
		r = kv_iter_set_page_size(it, cl->page_size);
	if (r == KV_OK)
		r = kv_iter_set_keys_only(it, cl->keys_only);
	if (r != KV_OK) {
		rc = fail(cl->cmdname, r, kv_errmsg(s->c));
		goto out;
	}
	while ((r = kv_iter_next(it, &k, &klen, &v, &vlen)) == KV_OK)
		scan_print(cl, k, klen, v, vlen);
	if (r != KV_NOT_FOUND) {
		(void)fflush(stdout);
		rc = fail(cl->cmdname, r, kv_errmsg(s->c));
		kv_iter_free(it);
		it = NULL;
		session_check(s, r);
	}
out:
	kv_iter_free(it);
	free(bufs[0]);
	free(bufs[1]);
	free(bufs[2]);
	return (rc);
}

static int
cmd_ping(struct session *s, const struct cmdline *cl)
{
	struct timespec t0, t1;
	double ms;
	int r, rc;

	if ((rc = session_connect(s, cl)) != 0)
		return (rc);
	(void)clock_gettime(CLOCK_MONOTONIC, &t0);
	if ((r = kv_ping(s->c)) != KV_OK)
		return (request_failed(s, cl, r));
	(void)clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	printf("pong from ");
	put_escaped(stdout, s->endpoint);
	printf(" in %.3f ms\n", ms);
	return (0);
}

static int
cmd_stats(struct session *s, const struct cmdline *cl)
{
	kv_statlist *st = NULL;
	const char *name;
	size_t i, n;
	int r, rc;

	if ((rc = session_connect(s, cl)) != 0)
		return (rc);
	if ((r = kv_stats(s->c, &st)) != KV_OK)
		return (request_failed(s, cl, r));
	n = kv_stats_count(st);
	if (cl->json)
		putchar('{');
	for (i = 0; i < n; i++) {
		name = kv_stats_name(st, i);
		if (cl->json) {
			if (i > 0)
				putchar(',');
			/* Names are ASCII by contract; never emit broken JSON. */
			if (text_utf8_valid((const uint8_t *)name, strlen(name)))
				text_json_string(stdout, (const uint8_t *)name,
				    strlen(name));
			else {
				putchar('"');
				text_hex_write(stdout, (const uint8_t *)name,
				    strlen(name));
				putchar('"');
			}
			printf(":%llu", (unsigned long long)kv_stats_value(st, i));
		} else {
			put_escaped(stdout, name);
			printf("\t%llu\n",
			    (unsigned long long)kv_stats_value(st, i));
		}
	}
	if (cl->json)
		puts("}");
	kv_stats_free(st);
	return (0);
}

/* Polls of the stats while compact --wait waits: from 50 ms up to 1 s apart. */
#define WAIT_POLL_MIN_MS	50
#define WAIT_POLL_MAX_MS	1000

/* Fetch the named statistics into v[] (0 for a name the server lacks). */
static int
fetch_stats(struct session *s, const struct cmdline *cl,
    const char *const *names, uint64_t *v, int *have, size_t n)
{
	kv_statlist *st = NULL;
	size_t i;
	int r;

	if ((r = kv_stats(s->c, &st)) != KV_OK)
		return (request_failed(s, cl, r));
	for (i = 0; i < n; i++) {
		v[i] = 0;
		have[i] = kv_stats_find(st, names[i], &v[i]) == KV_OK;
	}
	kv_stats_free(st);
	return (0);
}

/*
 * Wait until the compaction just requested is over: the server's
 * compaction_pending is 0 again.  Bounded by -t, since a compaction of a
 * large store can outlast any fixed guess; the run goes on regardless.
 */
static int
compact_wait(struct session *s, const struct cmdline *cl, uint64_t failures0)
{
	static const char *const names[] = { "compaction_pending",
	    "compaction_failures", "readonly" };
	struct timespec now, start, nap;
	uint64_t v[3], waited_ms, step = WAIT_POLL_MIN_MS;
	int have[3], rc;

	(void)clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		if ((rc = fetch_stats(s, cl, names, v, have, 3)) != 0)
			return (rc);
		if (!have[0]) {
			fprintf(stderr, "kvctl: compact: the server does not "
			    "report compaction_pending, so --wait cannot tell "
			    "when the compaction ends\n");
			return (EXIT_FAIL);
		}
		if (v[2] != 0) {
			fprintf(stderr, "kvctl: compact: the server stopped "
			    "accepting writes, so the compaction will not "
			    "finish (its log says why)\n");
			return (EXIT_FAIL);
		}
		if (v[0] == 0) {
			if (v[1] > failures0) {
				fprintf(stderr, "kvctl: compact: a compaction "
				    "failed (the server's log says why)\n");
				return (EXIT_FAIL);
			}
			return (0);
		}
		(void)clock_gettime(CLOCK_MONOTONIC, &now);
		waited_ms = (uint64_t)((int64_t)(now.tv_sec - start.tv_sec) *
		    1000 + (now.tv_nsec - start.tv_nsec) / 1000000);
		if (cl->timeout_ms != 0 && waited_ms >= cl->timeout_ms) {
			fprintf(stderr, "kvctl: compact: still running after "
			    "%g seconds (it goes on in the background; -t "
			    "sets how long to wait)\n",
			    (double)cl->timeout_ms / 1000);
			return (EXIT_FAIL);
		}
		if (cl->timeout_ms != 0 && step > cl->timeout_ms - waited_ms)
			step = cl->timeout_ms - waited_ms;
		nap.tv_sec = (time_t)(step / 1000);
		nap.tv_nsec = (long)(step % 1000) * 1000000;
		while (nanosleep(&nap, &nap) == -1 && errno == EINTR)
			;
		step = step * 2 > WAIT_POLL_MAX_MS ? WAIT_POLL_MAX_MS :
		    step * 2;
	}
}

static int
cmd_compact(struct session *s, const struct cmdline *cl)
{
	static const char *const names[] = { "compaction_failures" };
	uint64_t failures0 = 0;
	int have, pending, r, rc;

	if ((rc = session_connect(s, cl)) != 0)
		return (rc);
	/* A failure counted after this one is ours (or happened meanwhile). */
	if (cl->wait && (rc = fetch_stats(s, cl, names, &failures0, &have,
	    1)) != 0)
		return (rc);
	if ((r = kv_compact(s->c, &pending)) != KV_OK)
		return (request_failed(s, cl, r));
	if (pending && cl->wait && (rc = compact_wait(s, cl, failures0)) != 0)
		return (rc);
	if (s->tty_out)
		printf("%s\n", !pending ? "nothing to compact" :
		    cl->wait ? "compaction finished" : "compaction started");
	return (0);
}

static int
run(struct session *s, const struct cmdline *cl)
{
	int rc;

	switch (cl->cmd) {
	case CMD_PUT:	rc = cmd_put(s, cl); break;
	case CMD_GET:	rc = cmd_get(s, cl); break;
	case CMD_DEL:	rc = cmd_del(s, cl); break;
	case CMD_SCAN:	rc = cmd_scan(s, cl); break;
	case CMD_PING:	rc = cmd_ping(s, cl); break;
	case CMD_STATS:	rc = cmd_stats(s, cl); break;
	case CMD_COMPACT: rc = cmd_compact(s, cl); break;
	case CMD_HELP:
		usage(stdout);
		rc = 0;
		break;
	case CMD_QUIT:
	case CMD_NONE:
	default:
		rc = 0;
		break;
	}
	if (fflush(stdout) != 0 && rc == 0) {
		fprintf(stderr, "kvctl: write standard output: %s\n",
		    strerror(errno));
		rc = EXIT_FAIL;
	}
	return (rc);
}

/* ---- the interactive prompt ---- */

static char *
prompt(EditLine *el)
{
	struct session *s = NULL;

	if (el_get(el, EL_CLIENTDATA, &s) != 0 || s == NULL)
		return ((char *)"kvctl> ");
	(void)snprintf(s->prompt, sizeof(s->prompt), "kvctl %s> ",
	    s->endpoint != NULL ? s->endpoint : "(not connected)");
	return (s->prompt);
}

/* The history file: KVCTL_HISTFILE, else ~/.kvctl_history; NULL for none. */
static char *
history_path(void)
{
	const char *v = getenv("KVCTL_HISTFILE"), *home;
	char *p;

	if (v != NULL)
		return (*v == '\0' ? NULL : strdup(v));
	if ((home = getenv("HOME")) == NULL || *home == '\0')
		return (NULL);
	if (asprintf(&p, "%s/.kvctl_history", home) == -1)
		return (NULL);
	return (p);
}

static int
interactive(struct session *s, const struct cmdline *defaults)
{
	struct cmdline cl;
	char err[CMDLINE_ERR_MAX];
	EditLine *el;
	History *hist;
	HistEvent ev;
	const char *line;
	char *histfile, **words;
	int count, nwords, r;
	mode_t old;

	s->interactive = 1;
	if ((el = el_init("kvctl", stdin, stdout, stderr)) == NULL ||
	    (hist = history_init()) == NULL) {
		fprintf(stderr, "kvctl: cannot set up line editing\n");
		if (el != NULL)
			el_end(el);
		return (EXIT_FAIL);
	}
	(void)history(hist, &ev, H_SETSIZE, 1000);
	(void)history(hist, &ev, H_SETUNIQUE, 1);
	histfile = history_path();
	if (histfile != NULL)
		(void)history(hist, &ev, H_LOAD, histfile);
	(void)el_set(el, EL_CLIENTDATA, s);
	(void)el_set(el, EL_PROMPT, prompt);
	(void)el_set(el, EL_EDITOR, "emacs");
	(void)el_set(el, EL_HIST, history, hist);
	(void)el_set(el, EL_SIGNAL, 1);
	(void)el_source(el, NULL);

	/* Connect now, so the prompt shows where commands go. */
	(void)session_connect(s, defaults);
	while ((line = el_gets(el, &count)) != NULL && count > 0) {
		if (cmdline_split(line, &words, &nwords, err) != 0) {
			fprintf(stderr, "kvctl: %s\n", err);
			continue;
		}
		if (nwords == 0) {
			cmdline_split_free(words);
			continue;
		}
		(void)history(hist, &ev, H_ENTER, line);
		cl = *defaults;
		cl.cmd = CMD_NONE;
		if (cmdline_parse(&cl, nwords, words, err) != 0)
			fprintf(stderr, "kvctl: %s\n", err);
		else if (cl.help || cl.cmd == CMD_HELP)
			usage(stdout);
		else if (cl.cmd == CMD_QUIT) {
			cmdline_split_free(words);
			break;
		} else if (cl.cmd != CMD_NONE)
			(void)run(s, &cl);
		cmdline_split_free(words);
	}
	if (histfile != NULL) {
		/* Typed values may be secrets: the file is for its owner only. */
		old = umask(077);
		(void)history(hist, &ev, H_SAVE, histfile);
		(void)umask(old);
		free(histfile);
	}
	history_end(hist);
	el_end(el);
	r = 0;
	return (r);
}

int
main(int argc, char *argv[])
{
	struct session s;
	struct cmdline cl;
	char err[CMDLINE_ERR_MAX];
	int rc;

	memset(&s, 0, sizeof(s));
	cmdline_init(&cl);
	if (cmdline_env(&cl, getenv("KVCTL_SERVER"), getenv("KVCTL_TIMEOUT"),
	    getenv("KVCTL_HEX"), err) != 0 ||
	    cmdline_parse(&cl, argc - 1, argv + 1, err) != 0) {
		fprintf(stderr, "kvctl: %s\nTry 'kvctl --help'.\n", err);
		return (EXIT_USAGE);
	}
	if (cl.help) {
		usage(stdout);
		return (0);
	}
	if (cl.version) {
		printf("kvctl %s (libkvclient %s)\n", PACKAGE_VERSION,
		    kv_version());
		return (0);
	}
	s.tty_out = isatty(STDOUT_FILENO);
	if (cl.cmd == CMD_NONE) {
		if (!isatty(STDIN_FILENO)) {
			fprintf(stderr, "kvctl: no command given (the prompt "
			    "needs a terminal)\nTry 'kvctl --help'.\n");
			return (EXIT_USAGE);
		}
		rc = interactive(&s, &cl);
	} else
		rc = run(&s, &cl);
	kv_conn_free(s.c);
	free(s.endpoint);
	return (rc);
}
