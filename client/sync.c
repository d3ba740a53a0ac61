/*
 * sync.c: the synchronous and pipelined halves of libkvclient: kv_conn,
 * its calls, iterators and pipelines.  See kvclient.h.
 *
 * A kv_conn is a non-blocking socket driven by poll(), so that every wait
 * can honour a deadline and a send can keep reading answers (a server that
 * stops reading a client whose answers pile up would otherwise deadlock a
 * large pipelined send).
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "kvc.h"

struct kv_conn {
	struct kv_options	 opts;
	struct kvc_wire		 w;
	struct kvc_endpoint	 ep;
	/* Kinds of the pipelined requests not yet answered, oldest first. */
	uint8_t			*ops;
	size_t			 ops_cap;
	size_t			 ops_head;
	size_t			 ops_count;
	struct kvc_arena	 arena;		/* pipelined replies live here */
	struct kv_reply		 reply;		/* the last kv_pipe_recv() answer */
	char			 errmsg[KVC_ERRMSG_MAX];
};

struct kv_iter {
	kv_conn		*c;
	uint8_t		*start, *end, *prefix;
	size_t		 startlen, endlen, prefixlen;
	uint64_t	 limit;		/* entries in all; 0: no limit */
	uint32_t	 page_size;
	int		 keys_only;
	int		 started;
	int		 done;		/* 0 running, else what next() keeps saying */
	uint64_t	 returned;
	struct kv_reply	 page;		/* the page being walked */
	size_t		 pos;		/* next entry of page */
	uint8_t		*last;		/* last key returned before this page */
	size_t		 lastlen, lastcap;
	int		 have_last;
};

/* ---- deadlines and waiting ---- */

static uint64_t
conn_deadline(unsigned int ms)
{
	return (ms == 0 ? 0 : kvc_now_ms() + ms);
}

/*
 * Wait for events on fd until deadline (0: forever).  Returns the revents,
 * 0 if the deadline passed, or -1 with errno set.
 */
static int
conn_poll(int fd, short events, uint64_t deadline)
{
	struct pollfd pfd;
	uint64_t now;
	int r, timeout;

	for (;;) {
		timeout = -1;
		if (deadline != 0) {
			now = kvc_now_ms();
			if (now >= deadline)
				return (0);
			timeout = deadline - now > 1000000 ? 1000000 :
			    (int)(deadline - now);
		}
		pfd.fd = fd;
		pfd.events = events;
		pfd.revents = 0;
		r = poll(&pfd, 1, timeout);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			return (-1);
		if (r > 0)
			return (pfd.revents);
	}
}

/* ---- handles ---- */

kv_conn *
kv_conn_new(const kv_options *opts)
{
	kv_conn *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return (NULL);
	kvc_options_copy(&c->opts, opts);
	if (kvc_wire_init(&c->w, c->opts.max_response) != KV_OK) {
		free(c);
		return (NULL);
	}
	kvc_arena_init(&c->arena);
	kvc_reply_clear(&c->reply);
	return (c);
}

static void
conn_drop_pipeline(kv_conn *c)
{
	c->ops_head = 0;
	c->ops_count = 0;
}

/* Close the connection after error code; err (may be c->errmsg) says why. */
static int
conn_fail(kv_conn *c, int code, const char *err)
{
	if (err != c->errmsg)
		kvc_errf(c->errmsg, "%s", err);
	kvc_wire_close(&c->w);
	conn_drop_pipeline(c);
	return (code);
}

void
kv_conn_free(kv_conn *c)
{
	if (c == NULL)
		return;
	c->reply.resp = NULL;	/* arena memory, dropped below */
	kvc_reply_clear(&c->reply);
	kvc_arena_free(&c->arena);
	kvc_wire_free(&c->w);
	free(c->ops);
	free(c);
}

void
kv_close(kv_conn *c)
{
	if (c == NULL)
		return;
	kvc_wire_close(&c->w);
	conn_drop_pipeline(c);
}

const char *
kv_errmsg(const kv_conn *c)
{
	return (c == NULL ? "no connection handle" : c->errmsg);
}

int
kv_connect(kv_conn *c, const char *endpoint)
{
	struct addrinfo *res, *ai;
	uint64_t deadline;
	int r, fd, done, ev;

	if (c == NULL)
		return (KV_ERR_ARG);
	kv_close(c);
	c->errmsg[0] = '\0';
	if ((r = kvc_net_parse(&c->ep, endpoint, c->errmsg)) != KV_OK)
		return (r);
	if ((r = kvc_net_resolve(&c->ep, &res, c->errmsg)) != KV_OK)
		return (r);
	deadline = conn_deadline(c->opts.connect_ms);
	r = KV_ERR_CONNECT;
	kvc_errf(c->errmsg, "connect to %s: no address", c->ep.display);
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if ((fd = kvc_net_connect_start(ai, &done)) == -1) {
			kvc_errf(c->errmsg, "connect to %s: %s", c->ep.display,
			    strerror(errno));
			continue;
		}
		if (!done) {
			ev = conn_poll(fd, POLLOUT, deadline);
			if (ev == 0) {
				(void)close(fd);
				kvc_errf(c->errmsg, "connect to %s: timed out after %u ms",
				    c->ep.display, c->opts.connect_ms);
				r = KV_ERR_TIMEOUT;
				break;
			}
			if (ev == -1 || kvc_net_connect_finish(fd) == -1) {
				kvc_errf(c->errmsg, "connect to %s: %s",
				    c->ep.display, strerror(errno));
				(void)close(fd);
				continue;
			}
		}
		kvc_net_nodelay(fd);
		c->w.fd = fd;
		c->errmsg[0] = '\0';
		r = KV_OK;
		break;
	}
	freeaddrinfo(res);
	return (r);
}

/* ---- moving bytes ---- */

/* Send all of c's output, reading answers meanwhile, until deadline. */
static int
conn_flush(kv_conn *c, uint64_t deadline)
{
	int r, ev;

	for (;;) {
		if ((r = kvc_wire_flush(&c->w, c->errmsg)) == 1)
			return (KV_OK);
		if (r < 0)
			return (conn_fail(c, r, c->errmsg));
		ev = conn_poll(c->w.fd, POLLOUT | POLLIN, deadline);
		if (ev == 0)
			return (conn_fail(c, KV_ERR_TIMEOUT,
			    "timed out sending to the server"));
		if (ev == -1) {
			kvc_errf(c->errmsg, "poll: %s", strerror(errno));
			return (conn_fail(c, KV_ERR_IO, c->errmsg));
		}
		if ((ev & (POLLIN | POLLHUP | POLLERR)) != 0 &&
		    (r = kvc_wire_fill(&c->w, c->errmsg)) < 0)
			return (conn_fail(c, r, c->errmsg));
	}
}

/* Read until the answer to the next request (of kind op) is in r. */
static int
conn_read_reply(kv_conn *c, enum kvc_op op, ProtobufCAllocator *alloc,
    struct kv_reply *r, uint64_t deadline)
{
	int d, ev, f;

	for (;;) {
		d = kvc_wire_decode(&c->w, op, alloc, r, c->errmsg);
		if (d == 1)
			return (KV_OK);
		if (d < 0)
			return (conn_fail(c, d, c->errmsg));
		ev = conn_poll(c->w.fd, POLLIN, deadline);
		if (ev == 0)
			return (conn_fail(c, KV_ERR_TIMEOUT,
			    "timed out waiting for the server's answer"));
		if (ev == -1) {
			kvc_errf(c->errmsg, "poll: %s", strerror(errno));
			return (conn_fail(c, KV_ERR_IO, c->errmsg));
		}
		if ((f = kvc_wire_fill(&c->w, c->errmsg)) < 0)
			return (conn_fail(c, f, c->errmsg));
	}
}

/* Can a synchronous call start on c? */
static int
conn_ready(kv_conn *c)
{
	if (c->w.fd == -1) {
		kvc_errf(c->errmsg, "not connected");
		return (KV_ERR_CLOSED);
	}
	if (c->ops_count > 0) {
		kvc_errf(c->errmsg, "%zu pipelined requests are pending",
		    c->ops_count);
		return (KV_ERR_STATE);
	}
	return (KV_OK);
}

static int
conn_key_ok(kv_conn *c, const void *key, size_t keylen)
{
	if (keylen == 0) {
		kvc_errf(c->errmsg, "the key is empty");
		return (KV_ERR_ARG);
	}
	if (key == NULL) {
		kvc_errf(c->errmsg, "the key is NULL");
		return (KV_ERR_ARG);
	}
	return (KV_OK);
}

/*
 * Send req (already encoded into c's output) and wait for its answer, which
 * is unpacked with malloc into r.  Returns KV_OK or a KV_ERR_* code; the
 * server's status is r->status.
 */
static int
conn_exchange(kv_conn *c, enum kvc_op op, struct kv_reply *r)
{
	uint64_t deadline;
	int e;

	deadline = conn_deadline(c->opts.request_ms);
	if ((e = conn_flush(c, deadline)) != KV_OK)
		return (e);
	return (conn_read_reply(c, op, NULL, r, deadline));
}

/* One synchronous call; the answer is left in r (cleared by the caller). */
static int
conn_call(kv_conn *c, enum kvc_op op, const void *key, size_t keylen,
    const void *val, size_t vallen, struct kv_reply *r)
{
	int e;

	kvc_reply_clear(r);
	if ((e = conn_ready(c)) != KV_OK)
		return (e);
	if (op == KVC_OP_PUT || op == KVC_OP_GET || op == KVC_OP_DELETE) {
		if ((e = conn_key_ok(c, key, keylen)) != KV_OK)
			return (e);
		if (val == NULL && vallen > 0) {
			kvc_errf(c->errmsg, "the value is NULL");
			return (KV_ERR_ARG);
		}
	}
	if ((e = kvc_wire_encode_op(&c->w, op, key, keylen, val, vallen,
	    c->errmsg)) != KV_OK)
		return (e);
	if ((e = conn_exchange(c, op, r)) != KV_OK)
		return (e);
	if (r->status != KV_OK)
		kvc_errf(c->errmsg, "%s", r->message);
	else
		c->errmsg[0] = '\0';
	return (r->status);
}

int
kv_put(kv_conn *c, const void *key, size_t keylen, const void *val,
    size_t vallen, uint64_t *seqp)
{
	struct kv_reply r = { 0 };
	int e;

	if (c == NULL)
		return (KV_ERR_ARG);
	e = conn_call(c, KVC_OP_PUT, key, keylen, val, vallen, &r);
	if (e == KV_OK && seqp != NULL)
		*seqp = kv_reply_seq(&r);
	kvc_reply_clear(&r);
	return (e);
}

int
kv_get(kv_conn *c, const void *key, size_t keylen, void **valp,
    size_t *vallenp, uint64_t *seqp)
{
	struct kv_reply r = { 0 };
	Kv__GetResponse *g;
	int e;

	if (valp != NULL)
		*valp = NULL;
	if (vallenp != NULL)
		*vallenp = 0;
	if (c == NULL)
		return (KV_ERR_ARG);
	if (valp == NULL || vallenp == NULL) {
		kvc_errf(c->errmsg, "kv_get needs somewhere to put the value");
		return (KV_ERR_ARG);
	}
	e = conn_call(c, KVC_OP_GET, key, keylen, NULL, 0, &r);
	if (e != KV_OK) {
		kvc_reply_clear(&r);
		return (e);
	}
	/* Take the value protobuf-c allocated instead of copying it again. */
	g = r.resp->get;
	if (g->value.data != NULL) {
		*valp = g->value.data;
		*vallenp = g->value.len;
		g->value.data = NULL;
		g->value.len = 0;
	} else if ((*valp = malloc(1)) == NULL) {
		kvc_reply_clear(&r);
		kvc_errf(c->errmsg, "out of memory for the value");
		return (KV_ERR_NOMEM);
	}
	if (seqp != NULL)
		*seqp = g->seq;
	kvc_reply_clear(&r);
	return (KV_OK);
}

int
kv_delete(kv_conn *c, const void *key, size_t keylen, uint64_t *seqp)
{
	struct kv_reply r = { 0 };
	int e;

	if (c == NULL)
		return (KV_ERR_ARG);
	e = conn_call(c, KVC_OP_DELETE, key, keylen, NULL, 0, &r);
	if (e == KV_OK && seqp != NULL)
		*seqp = kv_reply_seq(&r);
	kvc_reply_clear(&r);
	return (e);
}

int
kv_ping(kv_conn *c)
{
	struct kv_reply r = { 0 };
	int e;

	if (c == NULL)
		return (KV_ERR_ARG);
	e = conn_call(c, KVC_OP_PING, NULL, 0, NULL, 0, &r);
	kvc_reply_clear(&r);
	return (e);
}

int
kv_stats(kv_conn *c, kv_statlist **statsp)
{
	struct kv_reply r = { 0 };
	kv_statlist *s;
	int e;

	if (statsp != NULL)
		*statsp = NULL;
	if (c == NULL || statsp == NULL)
		return (KV_ERR_ARG);
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		kvc_errf(c->errmsg, "out of memory for statistics");
		return (KV_ERR_NOMEM);
	}
	e = conn_call(c, KVC_OP_STATS, NULL, 0, NULL, 0, &r);
	if (e != KV_OK) {
		kvc_reply_clear(&r);
		free(s);
		return (e);
	}
	s->st = r.stats.st;
	s->resp = r.resp;
	r.resp = NULL;		/* now owned by s */
	kvc_reply_clear(&r);
	*statsp = s;
	return (KV_OK);
}

int
kv_compact(kv_conn *c, int *pendingp)
{
	struct kv_reply r = { 0 };
	int e;

	if (pendingp != NULL)
		*pendingp = 0;
	if (c == NULL)
		return (KV_ERR_ARG);
	e = conn_call(c, KVC_OP_COMPACT, NULL, 0, NULL, 0, &r);
	if (e == KV_OK && pendingp != NULL)
		*pendingp = kv_reply_compact_pending(&r);
	kvc_reply_clear(&r);
	return (e);
}

/* ---- iterators ---- */

int
kv_iter_new(kv_conn *c, kv_iter **itp)
{
	kv_iter *it;

	if (itp != NULL)
		*itp = NULL;
	if (c == NULL || itp == NULL)
		return (KV_ERR_ARG);
	if ((it = calloc(1, sizeof(*it))) == NULL) {
		kvc_errf(c->errmsg, "out of memory for an iterator");
		return (KV_ERR_NOMEM);
	}
	it->c = c;
	kvc_reply_clear(&it->page);
	*itp = it;
	return (KV_OK);
}

void
kv_iter_free(kv_iter *it)
{
	if (it == NULL)
		return;
	kvc_reply_clear(&it->page);
	free(it->start);
	free(it->end);
	free(it->prefix);
	free(it->last);
	free(it);
}

static int
iter_settable(kv_iter *it)
{
	if (it == NULL)
		return (KV_ERR_ARG);
	if (it->started) {
		kvc_errf(it->c->errmsg, "the iterator has already started");
		return (KV_ERR_STATE);
	}
	return (KV_OK);
}

static int
iter_copy(kv_iter *it, uint8_t **dst, size_t *dstlen, const void *src,
    size_t len)
{
	uint8_t *p = NULL;
	int e;

	if ((e = iter_settable(it)) != KV_OK)
		return (e);
	if (src == NULL && len > 0) {
		kvc_errf(it->c->errmsg, "NULL bytes with a length of %zu", len);
		return (KV_ERR_ARG);
	}
	if (len > 0) {
		if ((p = malloc(len)) == NULL) {
			kvc_errf(it->c->errmsg, "out of memory for an iterator bound");
			return (KV_ERR_NOMEM);
		}
		memcpy(p, src, len);
	}
	free(*dst);
	*dst = p;
	*dstlen = len;
	return (KV_OK);
}

int
kv_iter_set_start(kv_iter *it, const void *key, size_t len)
{
	return (it == NULL ? KV_ERR_ARG :
	    iter_copy(it, &it->start, &it->startlen, key, len));
}

int
kv_iter_set_end(kv_iter *it, const void *key, size_t len)
{
	return (it == NULL ? KV_ERR_ARG :
	    iter_copy(it, &it->end, &it->endlen, key, len));
}

int
kv_iter_set_prefix(kv_iter *it, const void *prefix, size_t len)
{
	return (it == NULL ? KV_ERR_ARG :
	    iter_copy(it, &it->prefix, &it->prefixlen, prefix, len));
}

int
kv_iter_set_limit(kv_iter *it, uint64_t n)
{
	int e;

	if ((e = iter_settable(it)) != KV_OK)
		return (e);
	it->limit = n;
	return (KV_OK);
}

int
kv_iter_set_page_size(kv_iter *it, uint32_t n)
{
	int e;

	if ((e = iter_settable(it)) != KV_OK)
		return (e);
	it->page_size = n;
	return (KV_OK);
}

int
kv_iter_set_keys_only(kv_iter *it, int on)
{
	int e;

	if ((e = iter_settable(it)) != KV_OK)
		return (e);
	it->keys_only = on != 0;
	return (KV_OK);
}

/* memcmp order, a proper prefix first: the server's key order. */
static int
iter_keycmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	size_t n = alen < blen ? alen : blen;
	int r;

	if (n > 0 && (r = memcmp(a, b, n)) != 0)
		return (r);
	return (alen < blen ? -1 : alen > blen ? 1 : 0);
}

/* Stop the iterator for good with code; returns code. */
static int
iter_finish(kv_iter *it, int code)
{
	it->done = code;
	kvc_reply_clear(&it->page);
	return (code);
}

/* Ask for the next page; on KV_OK it->page holds it. */
static int
iter_fetch(kv_iter *it)
{
	Kv__Request req = KV__REQUEST__INIT;
	Kv__IterRequest ir = KV__ITER_REQUEST__INIT;
	kv_conn *c = it->c;
	uint64_t want;
	int e;

	/* Remember where this page ends before it is freed. */
	if (it->page.resp != NULL && it->page.resp->iter->n_entries > 0) {
		Kv__Entry *e_last = it->page.resp->iter->entries[
		    it->page.resp->iter->n_entries - 1];

		if (e_last->key.len > it->lastcap) {
			uint8_t *p = realloc(it->last, e_last->key.len);

			if (p == NULL) {
				kvc_errf(c->errmsg, "out of memory for an iterator key");
				return (KV_ERR_NOMEM);
			}
			it->last = p;
			it->lastcap = e_last->key.len;
		}
		memcpy(it->last, e_last->key.data, e_last->key.len);
		it->lastlen = e_last->key.len;
		it->have_last = 1;
	}
	kvc_reply_clear(&it->page);
	it->pos = 0;

	if ((e = conn_ready(c)) != KV_OK)
		return (e);
	if (it->have_last) {
		ir.start.data = it->last;
		ir.start.len = it->lastlen;
		ir.start_exclusive = 1;
	} else {
		ir.start.data = it->start;
		ir.start.len = it->startlen;
	}
	ir.end.data = it->end;
	ir.end.len = it->endlen;
	ir.prefix.data = it->prefix;
	ir.prefix.len = it->prefixlen;
	ir.keys_only = it->keys_only;
	want = it->page_size;
	/* Do not fetch entries past the caller's limit. */
	if (it->limit > 0 && (want == 0 || it->limit - it->returned < want))
		want = it->limit - it->returned;
	ir.limit = want > UINT32_MAX ? UINT32_MAX : (uint32_t)want;
	req.op_case = KV__REQUEST__OP_ITER;
	req.iter = &ir;
	if ((e = kvc_wire_encode(&c->w, &req, c->errmsg)) != KV_OK)
		return (e);
	if ((e = conn_exchange(c, KVC_OP_ITER, &it->page)) != KV_OK)
		return (e);
	if (it->page.status != KV_OK) {
		kvc_errf(c->errmsg, "%s", it->page.message);
		return (it->page.status);
	}
	/* kvc_wire_decode() refused an empty page that says "more". */
	return (KV_OK);
}

/* Is key a legal next entry: after the last one, inside the range? */
static int
iter_key_ok(const kv_iter *it, const uint8_t *prev, size_t prevlen,
    int have_prev, const ProtobufCBinaryData *k)
{
	if (have_prev && iter_keycmp(k->data, k->len, prev, prevlen) <= 0)
		return (0);
	if (!have_prev && it->startlen > 0 &&
	    iter_keycmp(k->data, k->len, it->start, it->startlen) < 0)
		return (0);
	if (it->endlen > 0 &&
	    iter_keycmp(k->data, k->len, it->end, it->endlen) >= 0)
		return (0);
	if (it->prefixlen > 0 && (k->len < it->prefixlen ||
	    memcmp(k->data, it->prefix, it->prefixlen) != 0))
		return (0);
	return (1);
}

int
kv_iter_next(kv_iter *it, const void **keyp, size_t *keylenp,
    const void **valp, size_t *vallenp)
{
	const Kv__IterResponse *ip;
	const Kv__Entry *ent, *prev;
	int e;

	if (it == NULL)
		return (KV_ERR_ARG);
	if (it->done != 0)
		return (it->done);
	it->started = 1;
	if (it->limit > 0 && it->returned >= it->limit)
		return (iter_finish(it, KV_NOT_FOUND));
	if (it->page.resp == NULL ||
	    it->pos >= it->page.resp->iter->n_entries) {
		if (it->page.resp != NULL && !it->page.resp->iter->more)
			return (iter_finish(it, KV_NOT_FOUND));
		if ((e = iter_fetch(it)) != KV_OK)
			return (iter_finish(it, e));
		if (it->page.resp->iter->n_entries == 0)
			return (iter_finish(it, KV_NOT_FOUND));
	}
	ip = it->page.resp->iter;
	ent = ip->entries[it->pos];
	if (it->pos > 0) {
		prev = ip->entries[it->pos - 1];
		e = iter_key_ok(it, prev->key.data, prev->key.len, 1, &ent->key);
	} else
		e = iter_key_ok(it, it->last, it->lastlen, it->have_last,
		    &ent->key);
	if (!e) {
		kvc_errf(it->c->errmsg, "the server sent a key out of order "
		    "or outside the range");
		return (iter_finish(it, KV_ERR_PROTOCOL));
	}
	it->pos++;
	it->returned++;
	if (keyp != NULL)
		*keyp = ent->key.data != NULL ? (const void *)ent->key.data : "";
	if (keylenp != NULL)
		*keylenp = ent->key.len;
	if (valp != NULL)
		*valp = ent->value.data != NULL ?
		    (const void *)ent->value.data : "";
	if (vallenp != NULL)
		*vallenp = ent->value.len;
	return (KV_OK);
}

/* ---- pipelines ---- */

/* Make room for one more pending request kind. */
static int
pipe_reserve(kv_conn *c)
{
	uint8_t *n;
	size_t cap, i;

	if (c->ops_count < c->ops_cap)
		return (KV_OK);
	cap = c->ops_cap == 0 ? 64 : c->ops_cap * 2;
	if ((n = malloc(cap)) == NULL) {
		kvc_errf(c->errmsg, "out of memory for pipelined requests");
		return (KV_ERR_NOMEM);
	}
	for (i = 0; i < c->ops_count; i++)
		n[i] = c->ops[(c->ops_head + i) % c->ops_cap];
	free(c->ops);
	c->ops = n;
	c->ops_cap = cap;
	c->ops_head = 0;
	return (KV_OK);
}

static int
pipe_queue(kv_conn *c, enum kvc_op op, const void *key, size_t keylen,
    const void *val, size_t vallen)
{
	int e;

	if (c == NULL)
		return (KV_ERR_ARG);
	if (c->w.fd == -1) {
		kvc_errf(c->errmsg, "not connected");
		return (KV_ERR_CLOSED);
	}
	if (op != KVC_OP_PING) {
		if ((e = conn_key_ok(c, key, keylen)) != KV_OK)
			return (e);
		if (val == NULL && vallen > 0) {
			kvc_errf(c->errmsg, "the value is NULL");
			return (KV_ERR_ARG);
		}
	}
	if ((e = pipe_reserve(c)) != KV_OK)
		return (e);
	if ((e = kvc_wire_encode_op(&c->w, op, key, keylen, val, vallen,
	    c->errmsg)) != KV_OK)
		return (e);
	c->ops[(c->ops_head + c->ops_count) % c->ops_cap] = (uint8_t)op;
	c->ops_count++;
	return (KV_OK);
}

int
kv_pipe_put(kv_conn *c, const void *key, size_t keylen, const void *val,
    size_t vallen)
{
	return (pipe_queue(c, KVC_OP_PUT, key, keylen, val, vallen));
}

int
kv_pipe_get(kv_conn *c, const void *key, size_t keylen)
{
	return (pipe_queue(c, KVC_OP_GET, key, keylen, NULL, 0));
}

int
kv_pipe_delete(kv_conn *c, const void *key, size_t keylen)
{
	return (pipe_queue(c, KVC_OP_DELETE, key, keylen, NULL, 0));
}

int
kv_pipe_ping(kv_conn *c)
{
	return (pipe_queue(c, KVC_OP_PING, NULL, 0, NULL, 0));
}

int
kv_pipe_iter(kv_conn *c, const kv_range *r)
{
	int e;

	if (c == NULL)
		return (KV_ERR_ARG);
	if (c->w.fd == -1) {
		kvc_errf(c->errmsg, "not connected");
		return (KV_ERR_CLOSED);
	}
	if ((e = pipe_reserve(c)) != KV_OK)
		return (e);
	if ((e = kvc_wire_encode_iter(&c->w, r, c->errmsg)) != KV_OK)
		return (e);
	c->ops[(c->ops_head + c->ops_count) % c->ops_cap] =
	    (uint8_t)KVC_OP_ITER;
	c->ops_count++;
	return (KV_OK);
}

int
kv_pipe_send(kv_conn *c)
{
	if (c == NULL)
		return (KV_ERR_ARG);
	if (c->w.fd == -1) {
		kvc_errf(c->errmsg, "not connected");
		return (KV_ERR_CLOSED);
	}
	return (conn_flush(c, conn_deadline(c->opts.request_ms)));
}

size_t
kv_pipe_pending(const kv_conn *c)
{
	return (c == NULL ? 0 : c->ops_count);
}

int
kv_pipe_recv(kv_conn *c, const kv_reply **replyp)
{
	uint64_t deadline;
	enum kvc_op op;
	int e;

	if (replyp != NULL)
		*replyp = NULL;
	if (c == NULL || replyp == NULL)
		return (KV_ERR_ARG);
	/* The previous reply lived in the arena: forget it wholesale. */
	c->reply.resp = NULL;
	kvc_reply_clear(&c->reply);
	kvc_arena_reset(&c->arena);
	if (c->ops_count == 0) {
		kvc_errf(c->errmsg, "no pipelined request is pending");
		return (KV_ERR_STATE);
	}
	op = (enum kvc_op)c->ops[c->ops_head];
	deadline = conn_deadline(c->opts.request_ms);
	e = KV_OK;
	if (evbuffer_get_length(c->w.out) > 0)
		e = conn_flush(c, deadline);
	if (e == KV_OK)
		e = conn_read_reply(c, op, &c->arena.pa, &c->reply, deadline);
	if (e != KV_OK) {
		kvc_reply_error(&c->reply, e, c->errmsg);
		*replyp = &c->reply;
		return (e);
	}
	c->ops_head = (c->ops_head + 1) % c->ops_cap;
	c->ops_count--;
	if (c->reply.status != KV_OK)
		kvc_errf(c->errmsg, "%s", c->reply.message);
	*replyp = &c->reply;
	return (c->reply.status);
}
