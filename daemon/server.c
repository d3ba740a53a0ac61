/*
 * server.c: listeners, connections, ordering, limits.  See server.h.
 *
 * A connection's output is one stream in request order: first its output
 * evbuffer, then its `region', the replies it made in this loop pass that
 * are still in the server's pass buffer.  Only the first `sendable' bytes
 * of the stream may go out; the replies after them wait for durability,
 * each described by a small marker (its length and the sequence number it
 * waits for) in a FIFO.  A reply is sendable at once when nothing is held
 * before it and it needs no wait.  Releasing held replies only moves the
 * `sendable' mark, so holding a reply costs no allocation and no copy.
 * Connections with held replies sit on a server-wide list that
 * server_durable() walks.
 *
 * Socket I/O is done by hand rather than with bufferevents, the way Redis
 * does it, because at pipeline 1 the system calls per request are the
 * cost: a persistent read event per connection (never re-armed), one
 * read() per readiness (no FIONREAD), and the replies of a whole pass
 * written with one write() at its end.  A write event is registered only
 * while output is left over.  Idle connections are found by a sweep once
 * a second rather than by a timer re-armed on every request.
 *
 * At pipeline 1 the rest of the cost is per request, so the common case
 * touches no evbuffer and allocates nothing: libevent frees an evbuffer's
 * memory whenever it is drained empty, which would cost a malloc and a
 * free on each side of every request.  A read lands in one server-wide
 * read buffer and its frames are answered from there; only an unfinished
 * frame (or frames left while a client is paused) is kept in the
 * connection's input evbuffer, and while that holds bytes reads go to it.
 * Replies are encoded into one server-wide pass buffer and written from
 * there; only what the socket does not take, and replies still held when
 * the pass ends, are copied into the output evbuffer.  Both buffers are
 * reused from pass to pass.
 *
 * A pipelining client's read usually holds several whole frames: they go
 * to dispatch up to DISPATCH_BATCH_MAX at a time, so that a run of gets
 * among them is looked up in the index side by side, their cache misses
 * overlapping.  Each reply is still accounted as it is made, exactly as a
 * lone frame's: when one pauses the client (backpressure) the frames
 * after it are left unanswered, in the input evbuffer, for later.  A lone
 * frame, as at pipeline 1, takes the plain path.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>

#include "dispatch.h"
#include "engine.h"
#include "frame.h"
#include "log.h"
#include "server.h"
#include "stats.h"

/*
 * What a held reply is charged beyond its bytes, so that a flood of tiny
 * held replies is bounded too.  Its marker takes less; the price is kept
 * where it was so the limits mean what they meant.
 */
#define REPLY_OVERHEAD	256

/* A read or write that failed only because it would block. */
#define RETRIABLE(e)	((e) == EAGAIN || (e) == EWOULDBLOCK || (e) == EINTR)

/* Bytes asked of one read(): what a bufferevent would read at most. */
#define READ_SIZE	16384

/* Room the pass buffer keeps: a pass of small replies never grows it. */
#define PASS_BUFFER_SIZE	(64u << 10)

/* A frame announcing more than this many times max-frame is not our protocol. */
#define FRAME_ABSURD_FACTOR	4

/*
 * For the few functions on every request's path that the batched path
 * shares: inlined all the same, so that a lone request (pipeline 1) pays
 * no call more than it did before runs of gets were batched.
 */
#define ALWAYS_INLINE	inline __attribute__((always_inline))

/* A held reply: the next len bytes after the sendable ones. */
struct held {
	uint64_t	 id;
	uint64_t	 wait_seq;
	size_t		 len;
};

struct conn {
	TAILQ_ENTRY(conn) link;		/* all connections */
	TAILQ_ENTRY(conn) held_link;	/* connections with held replies */
	struct server	*srv;
	evutil_socket_t	 fd;
	struct event	*rev;		/* persistent; added while reading */
	struct event	*wev;		/* added only while output is left over */
	struct evbuffer	*in;		/* unfinished frame, frames not taken */
	int		 buffered;	/* in holds bytes (spares asking per read) */
	struct evbuffer	*out;		/* output before the region */
	struct frame_decoder *dec;
	TAILQ_ENTRY(conn) region_link;	/* connections with a region */
	size_t		 region_off;	/* the region, in srv->pass */
	size_t		 region_len;
	int		 on_region;
	time_t		 last_io;	/* for the idle sweep */
	int		 reading;	/* rev is added */
	int		 writing;	/* wev is added */
	size_t		 sendable;	/* head of the output that may go */
	struct held	*hq;		/* ring of held replies */
	size_t		 hq_cap;
	size_t		 hq_head;
	size_t		 hq_n;
	int		 on_held;
	int		 paused;	/* not read: too much output pending */
	int		 closing;	/* read no more; close once replies are out */
	char		 peer[64];
};

struct listener {
	struct evconnlistener *lev;
	char		 name[300];
};

struct server {
	struct server_config cfg;
	struct listener	*listeners;
	size_t		 nlisteners;
	TAILQ_HEAD(, conn) conns;
	TAILQ_HEAD(, conn) held;
	TAILQ_HEAD(, conn) regions;	/* connections with bytes in pass */
	size_t		 nconns;
	uint8_t		*rbuf;		/* where read() puts bytes */
	struct frame_out *pass;		/* replies of this loop pass */
	struct frame_out *aside;	/* replies made off the hot path */
	struct evbuffer	*scratch;	/* held replies being settled */
	struct event	*accept_retry;	/* re-enable listeners after accept errors */
	struct event	*drain_timer;
	struct event	*flush_ev;	/* "before sleep": hand writes to the engine */
	struct event	*sweep_ev;	/* idle timeouts, once a second */
	int		 flush_queued;
	time_t		 last_reject_log;
	time_t		 now;		/* refreshed by the sweep */
	int		 stopping;
	void		(*done)(void *);
	void		*done_arg;
};

static void conn_read_cb(evutil_socket_t, short, void *);
static int conn_release(struct conn *, uint64_t, const char *);
static void conn_write_cb(evutil_socket_t, short, void *);
static void conn_set_reading(struct conn *, int);

static size_t
conn_pending(const struct conn *c)
{
	return (evbuffer_get_length(c->out) + c->region_len +
	    c->hq_n * REPLY_OVERHEAD);
}

/*
 * c's region is empty now.  Once no connection has one, the pass buffer
 * starts again from its beginning.
 */
static void
conn_region_clear(struct conn *c)
{
	struct server *s = c->srv;

	c->region_len = 0;
	if (c->on_region) {
		TAILQ_REMOVE(&s->regions, c, region_link);
		c->on_region = 0;
	}
	if (TAILQ_EMPTY(&s->regions))
		frame_out_truncate(s->pass, 0);
}

/* Move c's region to the end of its output evbuffer.  Returns 0 or -1. */
static int
conn_spill(struct conn *c)
{
	if (c->region_len == 0)
		return (0);
	if (evbuffer_add(c->out, frame_out_data(c->srv->pass) + c->region_off,
	    c->region_len) != 0)
		return (-1);
	conn_region_clear(c);
	return (0);
}

static void
server_check_done(struct server *s)
{
	void (*done)(void *);

	if (s->stopping && s->nconns == 0 && s->done != NULL) {
		done = s->done;
		s->done = NULL;
		if (s->drain_timer != NULL)
			event_del(s->drain_timer);
		done(s->done_arg);
	}
}

static void
conn_free(struct conn *c)
{
	struct server *s = c->srv;

	free(c->hq);
	conn_region_clear(c);
	if (c->on_held)
		TAILQ_REMOVE(&s->held, c, held_link);
	TAILQ_REMOVE(&s->conns, c, link);
	s->nconns--;
	stats_add(s->cfg.stats, STATS_CONNECTIONS_CURRENT, -1);
	event_free(c->rev);
	event_free(c->wev);
	evbuffer_free(c->in);
	evbuffer_free(c->out);
	evutil_closesocket(c->fd);
	frame_decoder_free(c->dec);
	log_debug("client %s: closed", c->peer);
	free(c);
	server_check_done(s);
}

/* Close c if it is done: no more reading, nothing held, nothing unsent. */
static int
conn_maybe_finish(struct conn *c)
{
	if (c->closing && c->hq_n == 0 && c->region_len == 0 &&
	    evbuffer_get_length(c->out) == 0) {
		conn_free(c);
		return (1);
	}
	return (0);
}

/* Start reading c again once its pending output has drained below the limit. */
static void
conn_maybe_resume(struct conn *c)
{
	if (!c->paused || c->closing ||
	    conn_pending(c) >= c->srv->cfg.output_limit)
		return;
	c->paused = 0;
	conn_set_reading(c, 1);
	/*
	 * Frames may already sit in the input buffer, and no new bytes may
	 * ever come to announce them: run the read callback, deferred, so
	 * that it never runs inside the caller's own callback.
	 */
	if (evbuffer_get_length(c->in) > 0)
		event_active(c->rev, EV_READ, 0);
}

/* Append a held reply's marker, growing the ring.  Returns 0 or -1. */
static ALWAYS_INLINE int
conn_hold(struct conn *c, uint64_t id, uint64_t wait_seq, size_t len)
{
	struct held *nq;
	size_t i, cap;

	if (c->hq_n == c->hq_cap) {
		cap = c->hq_cap > 0 ? c->hq_cap * 2 : 16;
		if ((nq = calloc(cap, sizeof(*nq))) == NULL)
			return (-1);
		for (i = 0; i < c->hq_n; i++)
			nq[i] = c->hq[(c->hq_head + i) % c->hq_cap];
		free(c->hq);
		c->hq = nq;
		c->hq_cap = cap;
		c->hq_head = 0;
	}
	nq = &c->hq[(c->hq_head + c->hq_n) % c->hq_cap];
	nq->id = id;
	nq->wait_seq = wait_seq;
	nq->len = len;
	c->hq_n++;
	return (0);
}

/*
 * The last len bytes of c->out are the reply to request id: make them
 * sendable, or hold them behind earlier ones or until wait_seq is durable.
 * Returns 0, or -1 when out of memory.
 */
static ALWAYS_INLINE int
conn_reply(struct conn *c, uint64_t id, uint64_t wait_seq, size_t len)
{
	struct server *s = c->srv;
	const char *why;

	if (c->hq_n == 0 &&
	    (wait_seq == 0 || wait_seq <= engine_durable_seq(s->cfg.engine))) {
		c->sendable += len;
		return (0);
	}
	if (conn_hold(c, id, wait_seq, len) != 0)
		return (-1);
	/*
	 * Activated now, the flush joins the end of the active queue, so it
	 * runs once after every read callback of this loop pass: all of the
	 * pass's writes go to the engine (and, under never, to the file) in
	 * one go, and the replies they hold leave in the same pass.
	 */
	if (!s->flush_queued) {
		s->flush_queued = 1;
		event_active(s->flush_ev, EV_TIMEOUT, 0);
	}
	if (!c->on_held) {
		TAILQ_INSERT_TAIL(&s->held, c, held_link);
		c->on_held = 1;
	}
	/*
	 * A read-only engine's durable sequence never advances again and no
	 * notify will come: settle the reply now rather than hold it forever.
	 */
	if ((why = engine_readonly_reason(s->cfg.engine)) != NULL)
		return (conn_release(c, engine_durable_seq(s->cfg.engine), why));
	return (0);
}

/*
 * The engine turned read-only: cut the held replies out of c->out and put
 * them back one by one, each either as it was (durable) or replaced by
 * UNAVAILABLE.  Rare, so it may copy.  Returns 0, or -1 when out of memory.
 */
static int
conn_settle(struct conn *c, uint64_t durable, const char *why)
{
	struct server *s = c->srv;
	struct evbuffer *tail = s->scratch;
	struct held *h;
	char msg[300];
	int rc = 0;

	if (conn_spill(c) != 0)
		return (-1);
	evbuffer_drain(tail, evbuffer_get_length(tail));
	if (evbuffer_remove_buffer(c->out, tail,
	    evbuffer_get_length(c->out) - c->sendable) < 0)
		return (-1);
	snprintf(msg, sizeof(msg), "write not made durable: %s", why);
	for (; c->hq_n > 0 && rc == 0; c->hq_n--) {
		h = &c->hq[c->hq_head];
		c->hq_head = (c->hq_head + 1) % c->hq_cap;
		if (h->wait_seq <= durable)
			rc = evbuffer_remove_buffer(tail, c->out, h->len) ==
			    (int)h->len ? 0 : -1;
		else {
			evbuffer_drain(tail, h->len);
			rc = dispatch_unavailable(s->cfg.dispatch, s->aside,
			    h->id, msg);
			if (rc == 0)
				rc = evbuffer_add(c->out,
				    frame_out_data(s->aside),
				    frame_out_len(s->aside));
			frame_out_truncate(s->aside, 0);
		}
	}
	c->sendable = evbuffer_get_length(c->out);
	return (rc);
}

/*
 * Make sendable c's held replies that durable covers.  When the engine
 * has turned read-only (why != NULL), a write past durable will never be
 * durable: its reply (and that of a read that saw it) becomes UNAVAILABLE.
 * Returns 0, or -1 when out of memory.
 */
static int
conn_release(struct conn *c, uint64_t durable, const char *why)
{
	struct server *s = c->srv;
	struct held *h;

	while (c->hq_n > 0) {
		h = &c->hq[c->hq_head];
		if (h->wait_seq > durable) {
			if (why == NULL)
				break;
			if (conn_settle(c, durable, why) != 0)
				return (-1);
			break;
		}
		c->sendable += h->len;
		c->hq_head = (c->hq_head + 1) % c->hq_cap;
		c->hq_n--;
	}
	if (c->hq_n == 0 && c->on_held) {
		TAILQ_REMOVE(&s->held, c, held_link);
		c->on_held = 0;
	}
	return (0);
}

/* Stop reading c for good; it closes once its replies are out. */
static void
conn_stop_reading(struct conn *c)
{
	c->closing = 1;
	conn_set_reading(c, 0);
}

/*
 * Make c's region end where the pass buffer does, so that c's next
 * replies extend it.  Returns 0, or -1 when out of memory.
 */
static int
conn_region_tail(struct conn *c)
{
	struct server *s = c->srv;

	if (c->region_len > 0 &&
	    c->region_off + c->region_len != frame_out_len(s->pass)) {
		/* Another connection wrote after c's region (rare). */
		return (conn_spill(c));
	}
	return (0);
}

/*
 * The len bytes at off in the pass buffer (its end) are c's reply r: add
 * them to c's region, let them go or hold them, and apply the output
 * limits.  Returns 0, or -1 when c must be dropped at once (out of
 * memory, or past the output hard limit).
 */
static ALWAYS_INLINE int
conn_account(struct conn *c, const struct dispatch_reply *r, size_t off,
    size_t len)
{
	struct server *s = c->srv;
	size_t pending;

	if (c->region_len == 0)
		c->region_off = off;
	c->region_len += len;
	if (!c->on_region) {
		TAILQ_INSERT_TAIL(&s->regions, c, region_link);
		c->on_region = 1;
	}
	if (conn_reply(c, r->id, r->wait_seq, len) != 0)
		return (-1);
	pending = conn_pending(c);
	if (pending > s->cfg.output_hard_limit) {
		log_warnx("client %s: %zu bytes of replies pending, over "
		    "client-output-hard-limit %llu; disconnecting", c->peer,
		    pending, (unsigned long long)s->cfg.output_hard_limit);
		stats_add(s->cfg.stats, STATS_CONNECTIONS_DROPPED, 1);
		return (-1);
	}
	if (pending >= s->cfg.output_limit) {
		/* Backpressure: the write callback resumes reading. */
		c->paused = 1;
		conn_set_reading(c, 0);
	}
	return (0);
}

/* Dispatch sent a reply that closes c: the frame of len bytes did not parse. */
static void
conn_malformed(struct conn *c, size_t len)
{
	log_info("client %s: a frame of %zu bytes does not parse as a "
	    "request; closing", c->peer, len);
	conn_stop_reading(c);
}

/*
 * Answer one whole frame, its payload data (len bytes).  The reply goes to
 * the end of c's region.  Returns 0, or -1 when c must be dropped at once
 * (out of memory, or past the output hard limit).
 */
static int
conn_frame(struct conn *c, const uint8_t *data, size_t len)
{
	struct server *s = c->srv;
	struct dispatch_reply r;
	size_t before;

	if (conn_region_tail(c) != 0)
		return (-1);
	before = frame_out_len(s->pass);
	if (dispatch_request(s->cfg.dispatch, data, len, s->pass, &r) != 0)
		return (-1);
	if (r.close)
		conn_malformed(c, len);
	return (conn_account(c, &r, before, frame_out_len(s->pass) - before));
}

/*
 * Answer a frame that FRAME_TOO_LARGE refused.  The reply goes to the end
 * of c's region.  *skip is set when the caller must skip the frame (else
 * c stops reading).  Returns 0, or -1 when c must be dropped at once.
 */
static int
conn_too_large(struct conn *c, int *skip)
{
	struct server *s = c->srv;
	struct dispatch_reply r;
	uint64_t announced = frame_rejected_len(c->dec);
	size_t before;

	*skip = 0;
	if (conn_region_tail(c) != 0)
		return (-1);
	before = frame_out_len(s->pass);
	stats_add(s->cfg.stats, STATS_FRAMES_TOO_LARGE, 1);
	memset(&r, 0, sizeof(r));
	if (dispatch_too_large(s->cfg.dispatch, s->pass, announced,
	    s->cfg.max_frame) != 0)
		return (-1);
	if (announced > (uint64_t)FRAME_ABSURD_FACTOR * s->cfg.max_frame) {
		log_info("client %s: frame announces %llu bytes, more than "
		    "%d x max-frame; closing", c->peer,
		    (unsigned long long)announced, FRAME_ABSURD_FACTOR);
		conn_stop_reading(c);
	} else {
		log_debug("client %s: skipping a frame of %llu bytes", c->peer,
		    (unsigned long long)announced);
		*skip = 1;
	}
	return (conn_account(c, &r, before, frame_out_len(s->pass) - before));
}

/* The state of conn_frames() that its reply callback sees. */
struct conn_batch {
	struct conn	*c;
	const struct dispatch_frame *frames;
	size_t		 answered;
	int		 drop;
};

/* After each reply of a batch: what conn_frame() does after its one. */
static int
conn_batch_reply(void *arg, const struct dispatch_reply *r, size_t off,
    size_t len)
{
	struct conn_batch *b = arg;
	struct conn *c = b->c;

	if (r->close)
		conn_malformed(c, b->frames[b->answered].len);
	b->answered++;
	if (conn_account(c, r, off, len) != 0) {
		b->drop = 1;
		return (1);
	}
	return (c->closing || c->paused);
}

/*
 * Answer the whole frames at buf + *off (of n bytes at buf) as
 * conn_frame() would one by one, but up to DISPATCH_BATCH_MAX in one
 * dispatch call, so that runs of gets among them are looked up together.
 * first[0] and first[1] are the first two, already decoded, and first1
 * the bytes the second took.  Answering stops where conn_frame() would
 * have stopped reading (backpressure, a frame that does not parse);
 * *off is moved past the frames answered.  Returns 0, or -1 when c must
 * be dropped at once.
 */
static int
conn_frames(struct conn *c, const uint8_t *buf, size_t n, size_t *off,
    const struct dispatch_frame first[2], size_t first1)
{
	struct server *s = c->srv;
	struct dispatch_frame fr[DISPATCH_BATCH_MAX];
	size_t end[DISPATCH_BATCH_MAX], at = *off + first1, used, nf = 2;
	struct conn_batch b = { c, fr, 0, 0 };
	int k;

	fr[0] = first[0];
	fr[1] = first[1];
	end[0] = *off;
	end[1] = at;
	for (; nf < DISPATCH_BATCH_MAX; nf++) {
		/* What stops this is decoded again by the caller. */
		if (frame_decode_mem(c->dec, buf + at, n - at, &fr[nf].data,
		    &fr[nf].len, &used) != FRAME_READY)
			break;
		at += used;
		end[nf] = at;
	}
	if (conn_region_tail(c) != 0)
		return (-1);
	k = dispatch_requests(s->cfg.dispatch, fr, nf, s->pass,
	    conn_batch_reply, &b);
	if (k <= 0 || b.drop)
		return (-1);
	/* Frames not answered are offered again later. */
	*off = end[k - 1];
	return (0);
}

/*
 * Answer the whole frames at the head of the n bytes at buf, without
 * copying them, until c stops reading or what is left is not a whole
 * frame; *taken is set to how many bytes at buf are dealt with.  A frame
 * followed by another whole one goes to conn_frames() with those after
 * it; a lone frame, as at pipeline 1, the plain way.  Returns 0, or -1
 * when c must be dropped at once.
 */
static ALWAYS_INLINE int
conn_process_mem(struct conn *c, const uint8_t *buf, size_t n, size_t *taken)
{
	struct dispatch_frame fr[2];
	enum frame_status fs;
	size_t off = 0, used;
	int skip;

	/* The callers only come while c reads. */
	do {
		fs = frame_decode_mem(c->dec, buf + off, n - off, &fr[0].data,
		    &fr[0].len, &used);
		off += used;
		if (fs == FRAME_AGAIN)
			break;
		if (fs == FRAME_READY) {
			fs = frame_decode_mem(c->dec, buf + off, n - off,
			    &fr[1].data, &fr[1].len, &used);
			if (fs == FRAME_READY) {
				if (conn_frames(c, buf, n, &off, fr, used) != 0)
					return (-1);
				continue;
			}
			/* Not READY: nothing was skipped, used is 0. */
			if (conn_frame(c, fr[0].data, fr[0].len) != 0)
				return (-1);
			if (fs == FRAME_AGAIN || c->closing || c->paused)
				break;
		}
		/* FRAME_TOO_LARGE: its prefix starts at buf + off. */
		if (conn_too_large(c, &skip) != 0)
			return (-1);
		if (skip)
			off += frame_skip_mem(c->dec);
	} while (!c->closing && !c->paused);
	*taken = off;
	return (0);
}

/*
 * Handle every whole frame in the n bytes just read into buf (c's input
 * evbuffer being empty) without copying them; keep what is left (an
 * unfinished frame, or frames not taken while c is paused) in the input
 * evbuffer.  Returns 0, or -1 when c must be dropped at once.
 */
static ALWAYS_INLINE int
conn_process_read(struct conn *c, const uint8_t *buf, size_t n)
{
	size_t taken;

	if (conn_process_mem(c, buf, n, &taken) != 0)
		return (-1);
	if (taken < n) {
		if (evbuffer_add(c->in, buf + taken, n - taken) != 0)
			return (-1);
		c->buffered = 1;
	}
	return (0);
}

/*
 * Handle every whole frame in c's input evbuffer: those in its first
 * chunk in place, as a read's are, and a frame that spans chunks after
 * making it contiguous.  Returns 0, or -1 when c must be dropped at once.
 */
static int
conn_process(struct conn *c)
{
	struct evbuffer_iovec v;
	const uint8_t *data = NULL;
	enum frame_status fs;
	size_t len = 0, taken;
	int skip;

	while (!c->closing && !c->paused) {
		if (evbuffer_peek(c->in, -1, NULL, &v, 1) < 1)
			break;
		if (conn_process_mem(c, v.iov_base, v.iov_len, &taken) != 0)
			return (-1);
		if (taken > 0) {
			if (evbuffer_drain(c->in, taken) != 0)
				return (-1);
			continue;
		}
		if (c->closing || c->paused)
			break;
		fs = frame_decode(c->dec, c->in, &data, &len);
		if (fs == FRAME_AGAIN)
			break;
		if (fs == FRAME_READY) {
			if (conn_frame(c, data, len) != 0)
				return (-1);
			frame_consume(c->dec, c->in);
		} else {
			if (conn_too_large(c, &skip) != 0)
				return (-1);
			if (skip)
				frame_skip(c->dec, c->in);
		}
	}
	c->buffered = evbuffer_get_length(c->in) > 0;
	return (0);
}

/* Count n bytes written to c. */
static void
conn_wrote(struct conn *c, size_t n)
{
	stats_add(c->srv->cfg.stats, STATS_BYTES_OUT, (int64_t)n);
	c->last_io = c->srv->now;
	c->sendable -= n;
}

/*
 * Write the sendable head of c's output without waiting: the output
 * evbuffer first, then the region, usually all of a pass's replies in one
 * write().  What the socket does not take goes to the output evbuffer (so
 * that a region never holds sendable bytes after this) and waits for the
 * write event, which is registered only then.  Returns 0, or -1 when the
 * connection is broken and must be dropped.
 */
static int
conn_send(struct conn *c)
{
	struct server *s = c->srv;
	size_t want, olen;
	ssize_t n;

	if (c->sendable > 0 && (olen = evbuffer_get_length(c->out)) > 0) {
		want = c->sendable < olen ? c->sendable : olen;
		n = evbuffer_write_atmost(c->out, c->fd, (ev_ssize_t)want);
		if (n < 0 && !RETRIABLE(errno))
			goto broken;
		if (n > 0)
			conn_wrote(c, (size_t)n);
		if (n < (ssize_t)want)
			goto full;
	}
	if (c->sendable > 0 && c->region_len > 0) {
		want = c->sendable < c->region_len ? c->sendable :
		    c->region_len;
		n = write(c->fd, frame_out_data(s->pass) + c->region_off, want);
		if (n < 0 && !RETRIABLE(errno))
			goto broken;
		if (n > 0) {
			conn_wrote(c, (size_t)n);
			c->region_off += (size_t)n;
			c->region_len -= (size_t)n;
			if (c->region_len == 0)
				conn_region_clear(c);
		}
	}
full:
	if (c->sendable > 0 && conn_spill(c) != 0)
		return (-1);
	if (c->sendable > 0 && !c->writing) {
		if (event_add(c->wev, NULL) != 0)
			return (-1);
		c->writing = 1;
	} else if (c->sendable == 0 && c->writing) {
		event_del(c->wev);
		c->writing = 0;
	}
	return (0);
broken:
	log_debug("client %s: %s", c->peer, strerror(errno));
	return (-1);
}

/* Register or drop c's read event, only when that changes. */
static void
conn_set_reading(struct conn *c, int on)
{
	if (on && !c->reading) {
		if (event_add(c->rev, NULL) == 0)
			c->reading = 1;
	} else if (!on && c->reading) {
		event_del(c->rev);
		c->reading = 0;
	}
}

/*
 * Read once (as Redis does: the event is level-triggered, so what is left
 * comes back in the next pass), then handle every whole frame and send
 * the replies that need no wait.
 */
static void
conn_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	struct server *s = c->srv;
	struct evbuffer_iovec v;
	uint64_t left;
	uint8_t *p = s->rbuf;
	size_t room = READ_SIZE;
	ssize_t n;

	(void)what;
	if (c->paused || c->closing)
		goto process;
	/* Bytes after an unfinished frame belong with it, in the evbuffer. */
	if (c->buffered) {
		if (evbuffer_reserve_space(c->in, READ_SIZE, &v, 1) < 1)
			goto drop;
		p = v.iov_base;
		room = v.iov_len;
	}
	n = read(fd, p, room);
	if (n > 0) {
		stats_add(s->cfg.stats, STATS_BYTES_IN, (int64_t)n);
		c->last_io = s->now;
		if (!c->buffered) {
			if (conn_process_read(c, p, (size_t)n) != 0)
				goto drop;
			goto send;
		}
		v.iov_len = (size_t)n;
		if (evbuffer_commit_space(c->in, &v, 1) != 0)
			goto drop;
	} else if (n == 0) {
		/* The client may have only shut down its side: answer what it sent. */
		left = evbuffer_get_length(c->in) + frame_skipping(c->dec);
		if (left > 0)
			log_debug("client %s: closed with %llu bytes of an "
			    "unfinished frame", c->peer,
			    (unsigned long long)left);
		conn_stop_reading(c);
	} else if (!RETRIABLE(errno)) {
		log_debug("client %s: %s", c->peer, strerror(errno));
		goto drop;
	}
process:
	if (conn_process(c) != 0)
		goto drop;
send:
	if (conn_send(c) != 0)
		goto drop;
	if (conn_maybe_finish(c))
		return;
	/*
	 * The socket may have taken at once all the output that paused c:
	 * then no write event is left to resume it.
	 */
	if (c->paused)
		conn_maybe_resume(c);
	return;
drop:
	conn_free(c);
}

static void
conn_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)fd;
	(void)what;
	if (conn_send(c) != 0) {
		conn_free(c);
		return;
	}
	if (conn_maybe_finish(c))
		return;
	conn_maybe_resume(c);
}

/*
 * Close connections that neither sent nor took a byte for idle-timeout
 * seconds.  Once a second is precise enough for a timeout in seconds, and
 * costs nothing per request.
 */
static void
server_sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server *s = arg;
	struct conn *c, *next;

	(void)fd;
	(void)what;
	s->now = time(NULL);
	if (s->cfg.idle_timeout == 0)
		return;
	for (c = TAILQ_FIRST(&s->conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, link);
		if (s->now - c->last_io < (time_t)s->cfg.idle_timeout)
			continue;
		log_info("client %s: idle for %u seconds; closing", c->peer,
		    s->cfg.idle_timeout);
		stats_add(s->cfg.stats, STATS_CONNECTIONS_TIMED_OUT, 1);
		conn_free(c);
	}
}

static void
sockaddr_name(const struct sockaddr *sa, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)sa;

		evutil_inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		snprintf(buf, len, "[%s]:%u", host, ntohs(s6->sin6_port));
	} else if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)sa;

		evutil_inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		snprintf(buf, len, "%s:%u", host, ntohs(s4->sin_port));
	} else
		snprintf(buf, len, "(family %d)", sa->sa_family);
}

/* Over max-clients: say why in one frame, then close. */
static void
server_reject(struct server *s, evutil_socket_t fd, const char *peer)
{
	char msg[128];
	time_t now = time(NULL);

	stats_add(s->cfg.stats, STATS_CONNECTIONS_REJECTED, 1);
	if (now != s->last_reject_log) {
		/* Once a second at most: a flood must not flood the log. */
		log_warnx("client %s: refused, %zu connections is max-clients",
		    peer, s->nconns);
		s->last_reject_log = now;
	}
	snprintf(msg, sizeof(msg), "too many clients (max-clients %lu)",
	    (unsigned long)s->cfg.max_clients);
	if (dispatch_unavailable(s->cfg.dispatch, s->aside, 0, msg) == 0) {
		/* Best effort: the socket is fresh. */
		if (write(fd, frame_out_data(s->aside),
		    frame_out_len(s->aside)) < 0)
			log_debug("client %s: %s", peer, strerror(errno));
	}
	frame_out_truncate(s->aside, 0);
	evutil_closesocket(fd);
}

static void
server_accept_cb(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct server *s = arg;
	struct conn *c;
	char peer[64];
	int one = 1;

	(void)lev;
	(void)salen;
	sockaddr_name(sa, peer, sizeof(peer));
	if (s->stopping) {
		evutil_closesocket(fd);
		return;
	}
	if (s->nconns >= s->cfg.max_clients) {
		server_reject(s, fd, peer);
		return;
	}
	/* Replies are small and pipelined: do not let Nagle hold them. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if ((c = calloc(1, sizeof(*c))) == NULL)
		goto fail;
	c->srv = s;
	memcpy(c->peer, peer, sizeof(c->peer));
	if ((c->dec = frame_decoder_new(s->cfg.max_frame)) == NULL)
		goto fail;
	c->fd = fd;
	c->last_io = s->now;
	if ((c->in = evbuffer_new()) == NULL ||
	    (c->out = evbuffer_new()) == NULL ||
	    (c->rev = event_new(s->cfg.base, fd, EV_READ | EV_PERSIST,
	    conn_read_cb, c)) == NULL ||
	    (c->wev = event_new(s->cfg.base, fd, EV_WRITE | EV_PERSIST,
	    conn_write_cb, c)) == NULL)
		goto fail;
	conn_set_reading(c, 1);
	if (!c->reading)
		goto fail;
	TAILQ_INSERT_TAIL(&s->conns, c, link);
	s->nconns++;
	stats_add(s->cfg.stats, STATS_CONNECTIONS_CURRENT, 1);
	stats_add(s->cfg.stats, STATS_CONNECTIONS_TOTAL, 1);
	log_debug("client %s: connected", peer);
	return;
fail:
	log_warnx("client %s: out of memory; closing", peer);
	if (c != NULL) {
		if (c->rev != NULL)
			event_free(c->rev);
		if (c->wev != NULL)
			event_free(c->wev);
		evbuffer_free(c->in);
		evbuffer_free(c->out);
		frame_decoder_free(c->dec);
		free(c);
	}
	if (fd >= 0)
		evutil_closesocket(fd);
}

static void
server_accept_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server *s = arg;
	size_t i;

	(void)fd;
	(void)what;
	if (s->stopping)
		return;
	for (i = 0; i < s->nlisteners; i++)
		evconnlistener_enable(s->listeners[i].lev);
}

/*
 * accept() failed (most often EMFILE).  The listening socket stays
 * readable, so pause accepting for a moment rather than spin.
 */
static void
server_accept_error_cb(struct evconnlistener *lev, void *arg)
{
	struct server *s = arg;
	struct timeval tv = { 0, 100000 };
	size_t i;

	(void)lev;
	log_warnx("accept: %s; pausing new connections for 100 ms",
	    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	for (i = 0; i < s->nlisteners; i++)
		evconnlistener_disable(s->listeners[i].lev);
	event_add(s->accept_retry, &tv);
}

static int
server_getaddrinfo(const struct endpoint *ep, struct evutil_addrinfo **res,
    char *err, size_t errlen)
{
	struct evutil_addrinfo hints;
	char port[8], name[300];
	int rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	hints.ai_flags = EVUTIL_AI_PASSIVE;
	snprintf(port, sizeof(port), "%u", (unsigned)ep->port);
	rc = evutil_getaddrinfo(ep->host, port, &hints, res);
	if (rc != 0) {
		snprintf(err, errlen, "listen %s: %s",
		    endpoint_format(ep, name, sizeof(name)),
		    evutil_gai_strerror(rc));
		return (-1);
	}
	return (0);
}

int
server_resolve(const struct endpoint *ep, char *err, size_t errlen)
{
	struct evutil_addrinfo *res;

	if (server_getaddrinfo(ep, &res, err, errlen) != 0)
		return (-1);
	evutil_freeaddrinfo(res);
	return (0);
}

static int
server_bind(struct server *s, const struct endpoint *ep, char *err,
    size_t errlen)
{
	struct evutil_addrinfo *res, *ai;
	struct listener *grown, *l;
	struct sockaddr_storage ss;
	socklen_t sslen;
	unsigned flags;
	char name[300], actual[64];
	int rc = -1;

	if (server_getaddrinfo(ep, &res, err, errlen) != 0)
		return (-1);
	endpoint_format(ep, name, sizeof(name));
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		grown = realloc(s->listeners,
		    (s->nlisteners + 1) * sizeof(*grown));
		if (grown == NULL) {
			snprintf(err, errlen, "listen %s: out of memory", name);
			goto out;
		}
		s->listeners = grown;
		l = &s->listeners[s->nlisteners];
		flags = LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE |
		    LEV_OPT_CLOSE_ON_EXEC;
		/* [::] and 0.0.0.0 on the same port must be able to coexist. */
		if (ai->ai_family == AF_INET6)
			flags |= LEV_OPT_BIND_IPV6ONLY;
		l->lev = evconnlistener_new_bind(s->cfg.base, server_accept_cb,
		    s, flags, 511, ai->ai_addr, (int)ai->ai_addrlen);
		if (l->lev == NULL) {
			sockaddr_name(ai->ai_addr, actual, sizeof(actual));
			snprintf(err, errlen, "listen %s (%s): %s", name, actual,
			    evutil_socket_error_to_string(
			    EVUTIL_SOCKET_ERROR()));
			goto out;
		}
		evconnlistener_set_error_cb(l->lev, server_accept_error_cb);
		s->nlisteners++;
		sslen = sizeof(ss);
		if (getsockname(evconnlistener_get_fd(l->lev),
		    (struct sockaddr *)&ss, &sslen) == 0)
			sockaddr_name((struct sockaddr *)&ss, actual,
			    sizeof(actual));
		else
			snprintf(actual, sizeof(actual), "?");
		snprintf(l->name, sizeof(l->name), "%s", actual);
		log_info("listening on %s", actual);
	}
	rc = 0;
out:
	evutil_freeaddrinfo(res);
	return (rc);
}

static void
server_flush_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server *s = arg;
	struct conn *c;

	(void)fd;
	(void)what;
	s->flush_queued = 0;
	engine_flush(s->cfg.engine);
	server_durable(s);
	/*
	 * The pass is over: what regions still hold waits for durability
	 * beyond it, in the output evbuffers, so that the pass buffer can
	 * start again.
	 */
	while ((c = TAILQ_FIRST(&s->regions)) != NULL) {
		if (conn_spill(c) != 0) {
			log_warnx("client %s: out of memory; closing", c->peer);
			conn_free(c);
		}
	}
}

int
server_new(const struct server_config *cfg, struct server **out, char *err,
    size_t errlen)
{
	struct server *s;
	size_t i;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		snprintf(err, errlen, "server: out of memory");
		return (-1);
	}
	s->cfg = *cfg;
	s->now = time(NULL);
	TAILQ_INIT(&s->conns);
	TAILQ_INIT(&s->held);
	TAILQ_INIT(&s->regions);
	if ((s->rbuf = malloc(READ_SIZE)) == NULL ||
	    (s->pass = frame_out_new(PASS_BUFFER_SIZE)) == NULL ||
	    (s->aside = frame_out_new(1024)) == NULL ||
	    (s->scratch = evbuffer_new()) == NULL ||
	    (s->flush_ev = event_new(cfg->base, -1, 0, server_flush_cb,
	    s)) == NULL ||
	    (s->sweep_ev = event_new(cfg->base, -1, EV_PERSIST,
	    server_sweep_cb, s)) == NULL ||
	    event_add(s->sweep_ev, &(struct timeval){ 1, 0 }) != 0 ||
	    (s->accept_retry = evtimer_new(cfg->base, server_accept_retry_cb,
	    s)) == NULL) {
		snprintf(err, errlen, "server: out of memory");
		goto fail;
	}
	for (i = 0; i < cfg->nlisten; i++)
		if (server_bind(s, &cfg->listen[i], err, errlen) != 0)
			goto fail;
	*out = s;
	return (0);
fail:
	server_free(s);
	return (-1);
}

void
server_durable(struct server *s)
{
	struct conn *c, *next;
	uint64_t durable = engine_durable_seq(s->cfg.engine);
	const char *why = engine_readonly_reason(s->cfg.engine);

	for (c = TAILQ_FIRST(&s->held); c != NULL; c = next) {
		next = TAILQ_NEXT(c, held_link);
		if (conn_release(c, durable, why) != 0) {
			log_warnx("client %s: out of memory; closing", c->peer);
			conn_free(c);
			continue;
		}
		if (conn_send(c) != 0) {
			conn_free(c);
			continue;
		}
		if (conn_maybe_finish(c))
			continue;
		conn_maybe_resume(c);
	}
}

static void
server_drain_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server *s = arg;
	struct conn *c;

	(void)fd;
	(void)what;
	if (s->nconns > 0)
		log_warnx("shutdown: closing %zu clients that did not take "
		    "their replies within %u seconds", s->nconns,
		    s->cfg.drain_seconds);
	while ((c = TAILQ_FIRST(&s->conns)) != NULL)
		conn_free(c);
	server_check_done(s);
}

static void
server_close_listeners(struct server *s)
{
	size_t i;

	for (i = 0; i < s->nlisteners; i++)
		evconnlistener_free(s->listeners[i].lev);
	free(s->listeners);
	s->listeners = NULL;
	s->nlisteners = 0;
}

void
server_shutdown(struct server *s, void (*done)(void *), void *arg)
{
	struct conn *c, *next;
	struct timeval tv;

	s->stopping = 1;
	s->done = done;
	s->done_arg = arg;
	server_close_listeners(s);
	if (s->accept_retry != NULL)
		event_del(s->accept_retry);
	for (c = TAILQ_FIRST(&s->conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, link);
		conn_stop_reading(c);
		conn_maybe_finish(c);
	}
	/* What is durable already (or never will be, read-only) goes out now. */
	server_durable(s);
	if (s->nconns > 0) {
		if ((s->drain_timer = evtimer_new(s->cfg.base,
		    server_drain_timeout_cb, s)) == NULL) {
			server_drain_timeout_cb(-1, 0, s);
			return;
		}
		tv.tv_sec = s->cfg.drain_seconds;
		tv.tv_usec = 0;
		evtimer_add(s->drain_timer, &tv);
	}
	server_check_done(s);
}

void
server_free(struct server *s)
{
	struct conn *c;

	if (s == NULL)
		return;
	s->done = NULL;
	server_close_listeners(s);
	while ((c = TAILQ_FIRST(&s->conns)) != NULL)
		conn_free(c);
	if (s->accept_retry != NULL)
		event_free(s->accept_retry);
	if (s->drain_timer != NULL)
		event_free(s->drain_timer);
	if (s->flush_ev != NULL)
		event_free(s->flush_ev);
	if (s->sweep_ev != NULL)
		event_free(s->sweep_ev);
	if (s->scratch != NULL)
		evbuffer_free(s->scratch);
	frame_out_free(s->aside);
	frame_out_free(s->pass);
	free(s->rbuf);
	free(s);
}
