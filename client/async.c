/*
 * async.c: the asynchronous half of libkvclient, on the application's own
 * libevent event_base.  See kvclient.h.
 *
 * Plain events on the socket rather than a bufferevent: bufferevents write
 * with writev(), which raises SIGPIPE on a closed connection, and the
 * library promises never to do that to the application.  Requests issued
 * during one pass of the loop pile up in the output buffer and leave in one
 * sendmsg() at the end of the pass (an event made active, not a poll for
 * writability: no epoll_ctl() per batch); only what the socket does not
 * take waits for it to become writable.
 */
#include "config.h"

#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "kvc.h"

enum async_state {
	ASYNC_IDLE,
	ASYNC_CONNECTING,
	ASYNC_CONNECTED,
};

struct async_pending {
	kv_async_cb	*cb;
	void		*arg;
	uint64_t	 deadline;	/* ms on the monotonic clock; 0: none */
	uint8_t		 op;
};

struct kv_async {
	struct event_base	*base;
	struct kv_options	 opts;
	kv_async_event_cb	*event_cb;
	void			*event_arg;
	struct kvc_wire		 w;
	struct kvc_endpoint	 ep;
	enum async_state	 state;
	struct addrinfo		*res;		/* addresses still to try */
	struct addrinfo		*next_ai;
	uint64_t		 connect_deadline;
	struct event		*rev;		/* the socket is readable */
	struct event		*wev;		/* connected, or writable */
	struct event		*tev;		/* the oldest request's deadline */
	struct event		*fev;		/* end of pass: send what was issued */
	int			 writing;	/* wev is armed for output */
	int			 flushing;	/* fev is active */
	/* Issued requests whose callbacks have not run, oldest first. */
	struct async_pending	*q;
	size_t			 qcap;
	size_t			 qhead;
	size_t			 qcount;
	struct kvc_arena	 arena;		/* the reply being handed out */
	struct kv_reply		 reply;
	int			 depth;		/* callbacks of a running now */
	int			 freeing;	/* kv_async_free() was called */
	char			 errmsg[KVC_ERRMSG_MAX];
};

static void async_read_cb(evutil_socket_t, short, void *);
static void async_write_cb(evutil_socket_t, short, void *);
static void async_timer_cb(evutil_socket_t, short, void *);
static void async_flush_cb(evutil_socket_t, short, void *);

kv_async *
kv_async_new(struct event_base *base, const kv_options *opts,
    kv_async_event_cb *event_cb, void *arg)
{
	kv_async *a;

	if (base == NULL || (a = calloc(1, sizeof(*a))) == NULL)
		return (NULL);
	a->base = base;
	kvc_options_copy(&a->opts, opts);
	a->event_cb = event_cb;
	a->event_arg = arg;
	a->state = ASYNC_IDLE;
	if (kvc_wire_init(&a->w, a->opts.max_response) != KV_OK)
		goto err0;
	if ((a->tev = evtimer_new(base, async_timer_cb, a)) == NULL)
		goto err1;
	if ((a->fev = event_new(base, -1, 0, async_flush_cb, a)) == NULL)
		goto err2;
	kvc_arena_init(&a->arena);
	kvc_reply_clear(&a->reply);
	return (a);

err2:
	event_free(a->tev);
err1:
	kvc_wire_free(&a->w);
err0:
	free(a);
	return (NULL);
}

const char *
kv_async_errmsg(const kv_async *a)
{
	return (a == NULL ? "no connection handle" : a->errmsg);
}

size_t
kv_async_pending(const kv_async *a)
{
	return (a == NULL ? 0 : a->qcount);
}

/* Close the socket and its events; pending requests stay queued. */
static void
async_close(kv_async *a)
{
	if (a->rev != NULL)
		event_free(a->rev);
	if (a->wev != NULL)
		event_free(a->wev);
	a->rev = NULL;
	a->wev = NULL;
	a->writing = 0;
	(void)evtimer_del(a->tev);
	(void)event_del(a->fev);
	a->flushing = 0;
	kvc_wire_close(&a->w);
	if (a->res != NULL)
		freeaddrinfo(a->res);
	a->res = NULL;
	a->next_ai = NULL;
	a->state = ASYNC_IDLE;
}

static struct async_pending
async_pop(kv_async *a)
{
	struct async_pending p = a->q[a->qhead];

	a->qhead = (a->qhead + 1) % a->qcap;
	a->qcount--;
	return (p);
}

/* Call the callbacks of the n oldest requests with code and msg. */
static void
async_fail_pending(kv_async *a, size_t n, int code, const char *msg)
{
	struct async_pending p;

	while (n-- > 0 && a->qcount > 0) {
		p = async_pop(a);
		a->reply.resp = NULL;
		kvc_reply_error(&a->reply, code, msg);
		if (p.cb != NULL)
			p.cb(a, &a->reply, p.arg);
	}
}

static void
async_destroy(kv_async *a)
{
	a->freeing = 1;
	a->depth++;
	async_close(a);
	async_fail_pending(a, a->qcount, KV_ERR_CLOSED,
	    "the connection handle was freed");
	a->reply.resp = NULL;
	kvc_reply_clear(&a->reply);
	kvc_arena_free(&a->arena);
	kvc_wire_free(&a->w);
	event_free(a->tev);
	event_free(a->fev);
	free(a->q);
	free(a);
}

void
kv_async_free(kv_async *a)
{
	if (a == NULL || a->freeing)
		return;
	a->freeing = 1;
	/* Inside one of a's callbacks: the outermost one finishes the job. */
	if (a->depth > 0)
		return;
	async_destroy(a);
}

/*
 * The connection is gone (code, msg): fail what was pending on it, then
 * tell the event callback.  a may be freed when this returns, so callers
 * return at once.
 */
static void
async_fail(kv_async *a, int code, const char *msg)
{
	char buf[KVC_ERRMSG_MAX];
	size_t n;

	/* msg may point into a->errmsg, which the callbacks may overwrite. */
	kvc_errf(buf, "%s", msg);
	kvc_errf(a->errmsg, "%s", buf);
	async_close(a);
	a->depth++;
	/* Only these: requests issued from the callbacks belong to a new connection. */
	n = a->qcount;
	async_fail_pending(a, n, code, buf);
	if (!a->freeing && a->event_cb != NULL)
		a->event_cb(a, code, buf, a->event_arg);
	a->depth--;
	if (a->freeing && a->depth == 0)
		async_destroy(a);
}

static void
async_arm_timer(kv_async *a)
{
	struct timeval tv;
	uint64_t now, left;

	if (a->opts.request_ms == 0 || a->qcount == 0 ||
	    evtimer_pending(a->tev, NULL))
		return;
	now = kvc_now_ms();
	left = a->q[a->qhead].deadline > now ? a->q[a->qhead].deadline - now : 0;
	tv.tv_sec = (time_t)(left / 1000);
	tv.tv_usec = (suseconds_t)(left % 1000) * 1000;
	(void)evtimer_add(a->tev, &tv);
}

/* Try the addresses left until one is underway.  Returns KV_OK or a code. */
static int
async_try_connect(kv_async *a)
{
	struct timeval tv;
	uint64_t now, left;
	int fd, done;

	while (a->next_ai != NULL) {
		fd = kvc_net_connect_start(a->next_ai, &done);
		a->next_ai = a->next_ai->ai_next;
		if (fd == -1) {
			kvc_errf(a->errmsg, "connect to %s: %s", a->ep.display,
			    strerror(errno));
			continue;
		}
		a->w.fd = fd;
		a->rev = event_new(a->base, fd, EV_READ | EV_PERSIST,
		    async_read_cb, a);
		a->wev = event_new(a->base, fd, EV_WRITE | EV_PERSIST,
		    async_write_cb, a);
		if (a->rev == NULL || a->wev == NULL) {
			kvc_errf(a->errmsg, "out of memory for connection events");
			return (KV_ERR_NOMEM);
		}
		/* Even a connect that finished at once is reported from the loop. */
		if (a->connect_deadline != 0) {
			now = kvc_now_ms();
			left = a->connect_deadline > now ?
			    a->connect_deadline - now : 0;
			tv.tv_sec = (time_t)(left / 1000);
			tv.tv_usec = (suseconds_t)(left % 1000) * 1000;
			(void)event_add(a->wev, &tv);
		} else
			(void)event_add(a->wev, NULL);
		(void)done;
		return (KV_OK);
	}
	return (KV_ERR_CONNECT);
}

int
kv_async_connect(kv_async *a, const char *endpoint)
{
	int r;

	if (a == NULL || a->freeing)
		return (KV_ERR_ARG);
	if (a->state != ASYNC_IDLE) {
		kvc_errf(a->errmsg, "already connected or connecting");
		return (KV_ERR_STATE);
	}
	a->errmsg[0] = '\0';
	if ((r = kvc_net_parse(&a->ep, endpoint, a->errmsg)) != KV_OK)
		return (r);
	if ((r = kvc_net_resolve(&a->ep, &a->res, a->errmsg)) != KV_OK)
		return (r);
	a->next_ai = a->res;
	a->connect_deadline = a->opts.connect_ms == 0 ? 0 :
	    kvc_now_ms() + a->opts.connect_ms;
	kvc_errf(a->errmsg, "connect to %s: no address", a->ep.display);
	a->state = ASYNC_CONNECTING;
	if ((r = async_try_connect(a)) != KV_OK) {
		async_close(a);
		return (r);
	}
	return (KV_OK);
}

/* The connect finished one way or the other (what: EV_WRITE or EV_TIMEOUT). */
static void
async_connect_done(kv_async *a, short what)
{
	int r;

	if ((what & EV_TIMEOUT) != 0) {
		kvc_errf(a->errmsg, "connect to %s: timed out after %u ms",
		    a->ep.display, a->opts.connect_ms);
		async_fail(a, KV_ERR_TIMEOUT, a->errmsg);
		return;
	}
	if (kvc_net_connect_finish(a->w.fd) == -1) {
		kvc_errf(a->errmsg, "connect to %s: %s", a->ep.display,
		    strerror(errno));
		/* Next address: drop this socket's events but keep the list. */
		event_free(a->rev);
		event_free(a->wev);
		a->rev = NULL;
		a->wev = NULL;
		(void)close(a->w.fd);
		a->w.fd = -1;
		if ((r = async_try_connect(a)) != KV_OK)
			async_fail(a, r, a->errmsg);
		return;
	}
	kvc_net_nodelay(a->w.fd);
	freeaddrinfo(a->res);
	a->res = NULL;
	a->next_ai = NULL;
	a->state = ASYNC_CONNECTED;
	a->errmsg[0] = '\0';
	/* Drop the connect timeout; keep writing only if requests wait. */
	(void)event_del(a->wev);
	a->writing = 0;
	if (evbuffer_get_length(a->w.out) > 0) {
		(void)event_add(a->wev, NULL);
		a->writing = 1;
	}
	(void)event_add(a->rev, NULL);
	if (a->event_cb != NULL) {
		a->depth++;
		a->event_cb(a, KV_OK, "", a->event_arg);
		a->depth--;
		if (a->freeing && a->depth == 0)
			async_destroy(a);
	}
}

static void
async_write_cb(evutil_socket_t fd, short what, void *arg)
{
	kv_async *a = arg;
	int r;

	(void)fd;
	if (a->state == ASYNC_CONNECTING) {
		async_connect_done(a, what);
		return;
	}
	if ((r = kvc_wire_flush(&a->w, a->errmsg)) < 0) {
		async_fail(a, r, a->errmsg);
		return;
	}
	if (r == 1) {
		(void)event_del(a->wev);
		a->writing = 0;
	}
}

/* The pass is over: send the requests it issued, and wait only for a rest. */
static void
async_flush_cb(evutil_socket_t fd, short what, void *arg)
{
	kv_async *a = arg;
	int r;

	(void)fd;
	(void)what;
	a->flushing = 0;
	if (a->state != ASYNC_CONNECTED || a->writing)
		return;
	if ((r = kvc_wire_flush(&a->w, a->errmsg)) < 0) {
		async_fail(a, r, a->errmsg);
		return;
	}
	if (r == 0) {
		(void)event_add(a->wev, NULL);
		a->writing = 1;
	}
}

static void
async_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct async_pending p;
	kv_async *a = arg;
	int r;

	(void)fd;
	(void)what;
	if ((r = kvc_wire_fill(&a->w, a->errmsg)) < 0) {
		async_fail(a, r, a->errmsg);
		return;
	}
	a->depth++;
	while (a->qcount > 0 && a->state == ASYNC_CONNECTED && !a->freeing) {
		a->reply.resp = NULL;	/* arena memory, dropped next */
		kvc_reply_clear(&a->reply);
		kvc_arena_reset(&a->arena);
		r = kvc_wire_decode(&a->w, (enum kvc_op)a->q[a->qhead].op,
		    &a->arena.pa, &a->reply, a->errmsg);
		if (r == 0)
			break;
		if (r < 0) {
			async_fail(a, r, a->errmsg);
			break;
		}
		p = async_pop(a);
		if (p.cb != NULL)
			p.cb(a, &a->reply, p.arg);
	}
	if (a->qcount == 0 && a->state == ASYNC_CONNECTED && !a->freeing &&
	    evbuffer_get_length(a->w.in) > 0)
		async_fail(a, KV_ERR_PROTOCOL,
		    "the server sent an answer to no request");
	else if (a->state == ASYNC_CONNECTED && !a->freeing) {
		/* The oldest request changed: its deadline is what counts now. */
		(void)evtimer_del(a->tev);
		async_arm_timer(a);
	}
	a->depth--;
	if (a->freeing && a->depth == 0)
		async_destroy(a);
}

static void
async_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	kv_async *a = arg;

	(void)fd;
	(void)what;
	if (a->qcount == 0)
		return;
	if (a->q[a->qhead].deadline <= kvc_now_ms()) {
		kvc_errf(a->errmsg, "no answer from %s within %u ms",
		    a->ep.display, a->opts.request_ms);
		async_fail(a, KV_ERR_TIMEOUT, a->errmsg);
		return;
	}
	async_arm_timer(a);
}

static int
async_reserve(kv_async *a)
{
	struct async_pending *n;
	size_t cap, i;

	if (a->qcount < a->qcap)
		return (KV_OK);
	cap = a->qcap == 0 ? 64 : a->qcap * 2;
	if ((n = calloc(cap, sizeof(*n))) == NULL) {
		kvc_errf(a->errmsg, "out of memory for pending requests");
		return (KV_ERR_NOMEM);
	}
	for (i = 0; i < a->qcount; i++)
		n[i] = a->q[(a->qhead + i) % a->qcap];
	free(a->q);
	a->q = n;
	a->qcap = cap;
	a->qhead = 0;
	return (KV_OK);
}

/* Whether a can take a request now; sets the message when not. */
static int
async_usable(kv_async *a)
{
	if (a == NULL)
		return (KV_ERR_ARG);
	if (a->freeing || a->state == ASYNC_IDLE) {
		kvc_errf(a->errmsg, "not connected");
		return (KV_ERR_CLOSED);
	}
	return (KV_OK);
}

/*
 * Queue the request just encoded into a->w (room was made by
 * async_reserve()) and make sure the write event will send it.
 */
static void
async_enqueue(kv_async *a, enum kvc_op op, kv_async_cb *cb, void *arg)
{
	struct async_pending *p;

	p = &a->q[(a->qhead + a->qcount) % a->qcap];
	p->cb = cb;
	p->arg = arg;
	p->op = (uint8_t)op;
	p->deadline = a->opts.request_ms == 0 ? 0 :
	    kvc_now_ms() + a->opts.request_ms;
	a->qcount++;
	if (a->state == ASYNC_CONNECTED && !a->writing && !a->flushing) {
		event_active(a->fev, EV_TIMEOUT, 0);
		a->flushing = 1;
	}
	async_arm_timer(a);
}

static int
async_issue(kv_async *a, enum kvc_op op, const void *key, size_t keylen,
    const void *val, size_t vallen, kv_async_cb *cb, void *arg)
{
	int e;

	if ((e = async_usable(a)) != KV_OK)
		return (e);
	if (op == KVC_OP_PUT || op == KVC_OP_GET || op == KVC_OP_DELETE) {
		if (keylen == 0 || key == NULL) {
			kvc_errf(a->errmsg, "the key is %s",
			    keylen == 0 ? "empty" : "NULL");
			return (KV_ERR_ARG);
		}
		if (val == NULL && vallen > 0) {
			kvc_errf(a->errmsg, "the value is NULL");
			return (KV_ERR_ARG);
		}
	}
	if ((e = async_reserve(a)) != KV_OK)
		return (e);
	if ((e = kvc_wire_encode_op(&a->w, op, key, keylen, val, vallen,
	    a->errmsg)) != KV_OK)
		return (e);
	async_enqueue(a, op, cb, arg);
	return (KV_OK);
}

int
kv_async_put(kv_async *a, const void *key, size_t keylen, const void *val,
    size_t vallen, kv_async_cb *cb, void *arg)
{
	return (async_issue(a, KVC_OP_PUT, key, keylen, val, vallen, cb, arg));
}

int
kv_async_get(kv_async *a, const void *key, size_t keylen, kv_async_cb *cb,
    void *arg)
{
	return (async_issue(a, KVC_OP_GET, key, keylen, NULL, 0, cb, arg));
}

int
kv_async_delete(kv_async *a, const void *key, size_t keylen,
    kv_async_cb *cb, void *arg)
{
	return (async_issue(a, KVC_OP_DELETE, key, keylen, NULL, 0, cb, arg));
}

int
kv_async_ping(kv_async *a, kv_async_cb *cb, void *arg)
{
	return (async_issue(a, KVC_OP_PING, NULL, 0, NULL, 0, cb, arg));
}

int
kv_async_stats(kv_async *a, kv_async_cb *cb, void *arg)
{
	return (async_issue(a, KVC_OP_STATS, NULL, 0, NULL, 0, cb, arg));
}

int
kv_async_compact(kv_async *a, kv_async_cb *cb, void *arg)
{
	return (async_issue(a, KVC_OP_COMPACT, NULL, 0, NULL, 0, cb, arg));
}

/* An iter's request is a range rather than a key and value. */
int
kv_async_iter(kv_async *a, const kv_range *r, kv_async_cb *cb, void *arg)
{
	int e;

	if ((e = async_usable(a)) != KV_OK)
		return (e);
	if ((e = async_reserve(a)) != KV_OK)
		return (e);
	if ((e = kvc_wire_encode_iter(&a->w, r, a->errmsg)) != KV_OK)
		return (e);
	async_enqueue(a, KVC_OP_ITER, cb, arg);
	return (KV_OK);
}
