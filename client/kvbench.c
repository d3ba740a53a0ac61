/*
 * kvbench: load generator and latency meter for kvd.  See kvbench(1).
 *
 * The model is redis-benchmark's: one thread runs one libevent loop that
 * drives every connection through libkvclient's asynchronous API, so the
 * client spends as little CPU per request as the server it measures and a
 * single core can saturate the server.  With -P N each connection sends N
 * requests at once and sends the next N when all of them are answered (as
 * redis-benchmark -P does); every request of a batch is timed from the
 * moment the batch was issued.
 *
 * Scans are the exception: they run one thread per connection on
 * synchronous connections, one request at a time each.  kvbench was written
 * before libkvclient had kv_async_iter(); moving scans onto the loop is
 * still to do.
 *
 * Exit status: 0 success, 1 a connection or server error, 2 usage error.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "benchcfg.h"
#include "histogram.h"
#include "keydist.h"
#include "kvclient.h"

#define EXIT_FAIL	1
#define EXIT_USAGE	2

#define KEY_LEN		16		/* "key:" and 12 digits, as redis-benchmark -r */
#define ERR_MAX		256
#define ESC_MAX		160		/* a peer's message, escaped, inside ERR_MAX */
#define PROGRESS_NS	250000000ULL	/* progress line and watchdog period */
#define NS		1000000000ULL

enum phase {
	PH_WARM,	/* issue, but do not count */
	PH_MEASURE,
	PH_STOP,	/* issue nothing more */
};

/* Per-operation results of one test, for one thread. */
struct opstats {
	struct histogram	*lat;	/* nanoseconds; NULL: op not in the test */
	uint64_t		 ok;
	uint64_t		 notfound;
	uint64_t		 errors;
};

struct stats {
	struct opstats		op[BENCH_OP_COUNT];
	uint64_t		last_done;	/* ns: latest measured answer */
	_Atomic uint64_t	done;		/* measured answers, for progress */
	_Atomic uint64_t	replies;	/* all answers, warm-up included */
};

/* One test run: what every connection asks before each request. */
struct run {
	const struct benchcfg		*cfg;
	const struct benchcfg_test	*test;
	const struct keydist		*dist;
	double				 cum[BENCH_OP_COUNT];	/* cumulative weights */
	uint64_t			 limit;		/* requests; 0: by time */
	uint64_t			 warm_end;	/* ns */
	uint64_t			 duration;	/* ns; 0: by requests */
	_Atomic uint64_t		 issued;
	_Atomic uint64_t		 measure_start;	/* ns; 0: not yet */
	_Atomic int			 stop;
	struct rusage			 ru_start;
};

struct bench;

/* One request of an asynchronous batch. */
struct slot {
	struct aconn	*c;
	uint64_t	 key;
	uint8_t		 op;
	uint8_t		 measured;
	uint8_t		 stage;		/* rmw: 0 get sent, 1 put sent */
};

/* An asynchronous connection of the event loop. */
struct aconn {
	struct bench		*b;
	kv_async		*a;
	struct keydist_rng	 rng;
	struct slot		*slots;		/* cfg->pipeline */
	unsigned int		 outstanding;
	uint64_t		 batch_start;	/* ns */
	int			 connected;
};

/* A synchronous connection with its own thread, for tests that scan. */
struct sworker {
	struct bench		*b;
	kv_conn			*c;
	struct keydist_rng	 rng;
	struct stats		 st;
	pthread_t		 tid;
	int			 running;
	int			 failed;
	char			 err[ERR_MAX];
};

struct bench {
	const struct benchcfg	*cfg;
	struct event_base	*base;
	struct event		*tick;
	kv_options		*aopts;
	kv_options		*sopts;
	uint8_t			*value;
	struct aconn		*aconns;	/* NULL until a test needs them */
	unsigned int		 nconnected;
	struct sworker		*sworkers;	/* NULL until a test needs them */
	_Atomic uint64_t	 inserted;	/* keys put past the key space */
	/*
	 * Inserts complete out of order, so reads of the "latest" keys go
	 * only up to the newest insert below which all are acknowledged (as
	 * YCSB's acknowledged counter does): a read must not ask for a key
	 * whose put is still on its way.  ins_done has a bit per insert in
	 * flight, in a ring larger than the requests that can be in flight.
	 */
	pthread_mutex_t		 ins_lock;
	uint8_t			*ins_done;
	uint64_t		 ins_mask;	/* bits in the ring, minus 1 */
	_Atomic uint64_t	 ins_acked;
	struct run		*run;		/* the test running now */
	struct stats		*st;		/* its results (event loop) */
	unsigned int		 active;	/* connections with a batch out */
	int			 progress;	/* print a progress line */
	uint64_t		 progress_done;	/* at the last tick */
	uint64_t		 progress_at;
	uint64_t		 silent_since;	/* ns: replies last changed */
	uint64_t		 silent_replies;
	int			 failed;
	int			 closing;	/* freeing handles: ignore callbacks */
	char			 err[ERR_MAX];
	uint64_t		 server_errors;
	char			 first_status[ERR_MAX];
};

/* The result of one test, after threads are merged. */
struct result {
	const struct benchcfg_test	*test;
	struct opstats			 op[BENCH_OP_COUNT];
	struct histogram		*all;
	uint64_t			 requests;
	double				 seconds;
	double				 cpu_us_per_op;
};

static uint64_t
now_ns(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec);
}

/* Copy a message from the network with non-printable bytes escaped. */
static void
copy_escaped(char *dst, size_t cap, const char *src)
{
	size_t o = 0;
	unsigned char ch;

	for (; *src != '\0' && o + 5 < cap; src++) {
		ch = (unsigned char)*src;
		if (ch >= 0x20 && ch < 0x7f)
			dst[o++] = (char)ch;
		else
			o += (size_t)snprintf(dst + o, cap - o, "\\x%02x", ch);
	}
	dst[o] = '\0';
}

static void
bench_fail(struct bench *b, const char *what, const char *msg)
{
	char esc[ESC_MAX];

	if (b->failed)
		return;
	b->failed = 1;
	copy_escaped(esc, sizeof(esc), msg);
	(void)snprintf(b->err, sizeof(b->err), "%s: %s", what, esc);
}

/*
 * "key:" and the number in 12 decimal digits, as redis-benchmark -r does.
 * Two digits per step: this runs for every request, and the load generator
 * must cost less per request than the server it measures.
 */
static void
format_key(char key[KEY_LEN], uint64_t n)
{
	static const char pairs[] =
	    "00010203040506070809101112131415161718192021222324"
	    "25262728293031323334353637383940414243444546474849"
	    "50515253545556575859606162636465666768697071727374"
	    "75767778798081828384858687888990919293949596979899";
	int i;

	memcpy(key, "key:", 4);
	for (i = KEY_LEN - 2; i >= 4; i -= 2) {
		memcpy(key + i, pairs + 2 * (n % 100), 2);
		n /= 100;
	}
}

/* ---- statistics ---- */

static int
stats_init(struct stats *st, const struct benchcfg_test *t)
{
	int i;

	memset(st, 0, sizeof(*st));
	for (i = 0; i < BENCH_OP_COUNT; i++)
		if (benchcfg_test_has(t, (enum benchcfg_op)i) &&
		    (st->op[i].lat = histogram_new()) == NULL)
			return (-1);
	return (0);
}

static void
stats_free(struct stats *st)
{
	int i;

	for (i = 0; i < BENCH_OP_COUNT; i++) {
		histogram_free(st->op[i].lat);
		st->op[i].lat = NULL;
	}
}

/* Count one answer of op with status code, started at t0, ended at t1. */
static void
stats_count(struct bench *b, struct stats *st, enum benchcfg_op op,
    int measured, int code, const char *msg, uint64_t t0, uint64_t t1)
{
	struct opstats *o = &st->op[op];
	uint64_t n;

	n = atomic_load_explicit(&st->replies, memory_order_relaxed);
	atomic_store_explicit(&st->replies, n + 1, memory_order_relaxed);
	if (!measured)
		return;
	if (code == KV_OK)
		o->ok++;
	else if (code == KV_NOT_FOUND)
		o->notfound++;
	else {
		o->errors++;
		/* Only the event loop reports here; threads keep their own. */
		if (b != NULL && b->server_errors++ == 0) {
			char esc[ESC_MAX];

			copy_escaped(esc, sizeof(esc), msg);
			(void)snprintf(b->first_status, sizeof(b->first_status),
			    "%s: %s: %s", benchcfg_op_name(op),
			    kv_status_name(code) != NULL ?
			    kv_status_name(code) : "status", esc);
		}
	}
	histogram_record(o->lat, t1 - t0);
	if (t1 > st->last_done)
		st->last_done = t1;
	n = atomic_load_explicit(&st->done, memory_order_relaxed);
	atomic_store_explicit(&st->done, n + 1, memory_order_relaxed);
}

/* ---- the run: who may issue what ---- */

static void
run_init(struct run *r, const struct benchcfg *cfg,
    const struct benchcfg_test *t, const struct keydist *dist)
{
	double sum = 0.0;
	int i;

	memset(r, 0, sizeof(*r));
	r->cfg = cfg;
	r->test = t;
	r->dist = dist;
	for (i = 0; i < BENCH_OP_COUNT; i++) {
		sum += t->weight[i];
		r->cum[i] = sum;
	}
	if (t->kind == BENCH_TEST_LOAD) {
		r->limit = cfg->keyspace;
		r->warm_end = 0;
		r->duration = 0;
	} else {
		r->limit = cfg->requests;
		r->warm_end = now_ns() + (uint64_t)(cfg->warmup * 1e9);
		r->duration = (uint64_t)(cfg->seconds * 1e9);
	}
	atomic_init(&r->issued, 0);
	atomic_init(&r->measure_start, 0);
	atomic_init(&r->stop, 0);
}

/*
 * May a request be issued at now?  PH_MEASURE hands out a sequence number
 * (the key of a load test) in *seqp.  Thread-safe: the synchronous workers
 * all call it.
 */
static enum phase
run_ticket(struct run *r, uint64_t now, uint64_t *seqp)
{
	uint64_t start, zero = 0;

	if (atomic_load_explicit(&r->stop, memory_order_relaxed))
		return (PH_STOP);
	if (now < r->warm_end)
		return (PH_WARM);
	start = atomic_load(&r->measure_start);
	if (start == 0) {
		if (atomic_compare_exchange_strong(&r->measure_start, &zero,
		    now)) {
			start = now;
			(void)getrusage(RUSAGE_SELF, &r->ru_start);
		} else
			start = zero;
	}
	if (r->duration != 0 && now - start >= r->duration) {
		atomic_store(&r->stop, 1);
		return (PH_STOP);
	}
	*seqp = atomic_fetch_add_explicit(&r->issued, 1, memory_order_relaxed);
	if (r->limit != 0 && *seqp >= r->limit) {
		atomic_store(&r->stop, 1);
		return (PH_STOP);
	}
	return (PH_MEASURE);
}

static enum benchcfg_op
run_pick_op(const struct run *r, struct keydist_rng *rng)
{
	double u;
	int i;

	if (r->test->kind != BENCH_TEST_MIX) {
		for (i = 0; i < BENCH_OP_COUNT; i++)
			if (r->test->weight[i] > 0.0)
				return ((enum benchcfg_op)i);
	}
	u = keydist_rng_unit(rng) * r->cum[BENCH_OP_COUNT - 1];
	for (i = 0; i < BENCH_OP_COUNT - 1; i++)
		if (u < r->cum[i] && r->test->weight[i] > 0.0)
			return ((enum benchcfg_op)i);
	/* Rounding: the last operation that has a weight. */
	for (i = BENCH_OP_COUNT - 1; i > 0; i--)
		if (r->test->weight[i] > 0.0)
			break;
	return ((enum benchcfg_op)i);
}

static uint64_t
run_pick_key(struct bench *b, const struct run *r, struct keydist_rng *rng,
    enum benchcfg_op op, uint64_t seq)
{
	uint64_t ins;

	if (r->test->kind == BENCH_TEST_LOAD)
		return (seq);
	if (op == BENCH_OP_INSERT)
		return (b->cfg->keyspace +
		    atomic_fetch_add_explicit(&b->inserted, 1,
		    memory_order_relaxed));
	ins = atomic_load_explicit(&b->ins_acked, memory_order_relaxed);
	return (keydist_next(r->dist, rng, b->cfg->keyspace + ins));
}

/* The insert of key number key was answered. */
static void
insert_done(struct bench *b, uint64_t key)
{
	uint64_t i = key - b->cfg->keyspace, acked;

	(void)pthread_mutex_lock(&b->ins_lock);
	acked = atomic_load(&b->ins_acked);
	if (i < acked) {
		/* Given up on below, and counted already. */
		(void)pthread_mutex_unlock(&b->ins_lock);
		return;
	}
	/*
	 * An insert so far ahead that the ring would wrap: the ones still
	 * unanswered behind it are given up as answered, so the bits of
	 * two inserts never share a place.
	 */
	while (i - acked > b->ins_mask) {
		b->ins_done[(acked & b->ins_mask) / 8] &=
		    (uint8_t)~(1u << (acked % 8));
		acked++;
	}
	b->ins_done[(i & b->ins_mask) / 8] |= (uint8_t)(1u << (i % 8));
	while ((b->ins_done[(acked & b->ins_mask) / 8] &
	    (1u << (acked % 8))) != 0) {
		b->ins_done[(acked & b->ins_mask) / 8] &=
		    (uint8_t)~(1u << (acked % 8));
		acked++;
	}
	atomic_store(&b->ins_acked, acked);
	(void)pthread_mutex_unlock(&b->ins_lock);
}

/* ---- the event loop: asynchronous connections ---- */

static void aconn_batch(struct aconn *c);

static int
aconn_issue(struct aconn *c, struct slot *s);

static void
aconn_reply(kv_async *a, const kv_reply *r, void *arg)
{
	struct slot *s = arg;
	struct aconn *c = s->c;
	struct bench *b = c->b;
	enum benchcfg_op op = (enum benchcfg_op)s->op;
	int code = kv_reply_status(r);

	(void)a;
	if (b->closing)
		return;
	if (code < 0) {
		/* The connection broke: the event callback says so too. */
		bench_fail(b, "connection", kv_reply_message(r));
		(void)event_base_loopbreak(b->base);
		return;
	}
	if (op == BENCH_OP_RMW && s->stage == 0 &&
	    (code == KV_OK || code == KV_NOT_FOUND)) {
		s->stage = 1;
		if (aconn_issue(c, s) != 0) {
			(void)event_base_loopbreak(b->base);
			return;
		}
		return;
	}
	if (op == BENCH_OP_INSERT)
		insert_done(b, s->key);
	stats_count(b, b->st, op, s->measured, code, kv_reply_message(r),
	    c->batch_start, now_ns());
	if (--c->outstanding == 0)
		aconn_batch(c);
}

/* Send the request of slot s.  Returns 0, or -1 after bench_fail(). */
static int
aconn_issue(struct aconn *c, struct slot *s)
{
	struct bench *b = c->b;
	char key[KEY_LEN];
	int rc;

	format_key(key, s->key);
	switch ((enum benchcfg_op)s->op) {
	case BENCH_OP_PUT:
	case BENCH_OP_INSERT:
		rc = kv_async_put(c->a, key, KEY_LEN, b->value,
		    b->cfg->value_size, aconn_reply, s);
		break;
	case BENCH_OP_GET:
		rc = kv_async_get(c->a, key, KEY_LEN, aconn_reply, s);
		break;
	case BENCH_OP_DEL:
		rc = kv_async_delete(c->a, key, KEY_LEN, aconn_reply, s);
		break;
	case BENCH_OP_RMW:
		if (s->stage == 0)
			rc = kv_async_get(c->a, key, KEY_LEN, aconn_reply, s);
		else
			rc = kv_async_put(c->a, key, KEY_LEN, b->value,
			    b->cfg->value_size, aconn_reply, s);
		break;
	case BENCH_OP_ITER:
	default:
		/* benchcfg sends scanning tests to the threads. */
		bench_fail(b, "internal", "iter on an asynchronous connection");
		return (-1);
	}
	if (rc != KV_OK) {
		bench_fail(b, "request", kv_async_errmsg(c->a));
		return (-1);
	}
	return (0);
}

/* Issue the next batch of c, or let c go idle when the run is over. */
static void
aconn_batch(struct aconn *c)
{
	struct bench *b = c->b;
	struct run *r = b->run;
	unsigned int i, n = 0;
	enum phase ph;
	uint64_t now = now_ns(), seq = 0;
	struct slot *s;

	if (!b->failed)
		for (i = 0; i < b->cfg->pipeline; i++) {
			ph = run_ticket(r, now, &seq);
			if (ph == PH_STOP)
				break;
			s = &c->slots[n];
			s->op = (uint8_t)run_pick_op(r, &c->rng);
			s->key = run_pick_key(b, r, &c->rng,
			    (enum benchcfg_op)s->op, seq);
			s->measured = ph == PH_MEASURE;
			s->stage = 0;
			if (aconn_issue(c, s) != 0)
				break;
			n++;
		}
	c->batch_start = now;
	c->outstanding = n;
	if (n == 0 && --b->active == 0)
		(void)event_base_loopbreak(b->base);
	if (b->failed)
		(void)event_base_loopbreak(b->base);
}

static void
aconn_event(kv_async *a, int code, const char *msg, void *arg)
{
	struct aconn *c = arg;
	struct bench *b = c->b;

	(void)a;
	if (b->closing)
		return;
	if (code == KV_OK) {
		c->connected = 1;
		if (++b->nconnected == b->cfg->connections)
			(void)event_base_loopbreak(b->base);
		return;
	}
	bench_fail(b, "connection", msg);
	(void)event_base_loopbreak(b->base);
}

static void
print_progress(struct bench *b, const char *name, uint64_t done,
    uint64_t now)
{
	double dt = (double)(now - b->progress_at) / 1e9;
	uint64_t start = atomic_load(&b->run->measure_start);

	if (start == 0)
		fprintf(stderr, "\r\033[K%s: warming up", name);
	else
		fprintf(stderr, "\r\033[K%s: %" PRIu64 " requests, %.0f/s, "
		    "%.1f s", name, done, dt > 0 ? (double)(done -
		    b->progress_done) / dt : 0.0, (double)(now - start) / 1e9);
	fflush(stderr);
	b->progress_done = done;
	b->progress_at = now;
}

static void
clear_progress(struct bench *b)
{
	if (b->progress) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
	}
}

/* Every PROGRESS_NS: the progress line, and the watchdog on silence. */
static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct bench *b = arg;
	uint64_t now = now_ns(), replies;
	char msg[ERR_MAX];

	(void)fd;
	(void)what;
	replies = atomic_load(&b->st->replies);
	if (replies != b->silent_replies || b->active == 0) {
		b->silent_replies = replies;
		b->silent_since = now;
	} else if (now - b->silent_since >=
	    (uint64_t)b->cfg->timeout_ms * 1000000ULL) {
		(void)snprintf(msg, sizeof(msg), "no answer for %.1f s "
		    "(--timeout)", (double)b->cfg->timeout_ms / 1000.0);
		bench_fail(b, "server", msg);
		(void)event_base_loopbreak(b->base);
		return;
	}
	if (b->progress)
		print_progress(b, b->run->test->name,
		    atomic_load(&b->st->done), now);
}

static int
bench_connect_async(struct bench *b)
{
	const struct benchcfg *cfg = b->cfg;
	struct aconn *c;
	unsigned int i;
	int rc;

	if ((b->aconns = calloc(cfg->connections, sizeof(*b->aconns))) ==
	    NULL) {
		bench_fail(b, "connections", "out of memory");
		return (-1);
	}
	for (i = 0; i < cfg->connections; i++) {
		c = &b->aconns[i];
		c->b = b;
		keydist_rng_seed(&c->rng, cfg->seed * 1000003ULL + i);
		if ((c->slots = calloc(cfg->pipeline, sizeof(*c->slots))) ==
		    NULL ||
		    (c->a = kv_async_new(b->base, b->aopts, aconn_event, c)) ==
		    NULL) {
			bench_fail(b, "connections", "out of memory");
			return (-1);
		}
		for (rc = 0; (unsigned int)rc < cfg->pipeline; rc++)
			c->slots[rc].c = c;
		if ((rc = kv_async_connect(c->a, cfg->server)) != KV_OK) {
			bench_fail(b, "connect", kv_async_errmsg(c->a));
			return (-1);
		}
	}
	if (event_base_dispatch(b->base) == -1)
		bench_fail(b, "event loop", "dispatch failed");
	if (!b->failed && b->nconnected != cfg->connections)
		bench_fail(b, "connect", "the event loop stopped early");
	return (b->failed ? -1 : 0);
}

/* Run test r on the event loop; results in st. */
static int
bench_run_async(struct bench *b, struct run *r, struct stats *st)
{
	struct timeval tv = { 0, (suseconds_t)(PROGRESS_NS / 1000) };
	unsigned int i;

	if (b->aconns == NULL && bench_connect_async(b) != 0)
		return (-1);
	b->run = r;
	b->st = st;
	b->silent_since = now_ns();
	b->silent_replies = 0;
	b->progress_done = 0;
	b->progress_at = now_ns();
	if (b->tick == NULL &&
	    (b->tick = event_new(b->base, -1, EV_PERSIST, tick_cb, b)) ==
	    NULL) {
		bench_fail(b, "event loop", "out of memory");
		return (-1);
	}
	(void)event_add(b->tick, &tv);
	b->active = b->cfg->connections;
	for (i = 0; i < b->cfg->connections && !b->failed; i++)
		aconn_batch(&b->aconns[i]);
	if (!b->failed && b->active > 0 &&
	    event_base_dispatch(b->base) == -1)
		bench_fail(b, "event loop", "dispatch failed");
	(void)event_del(b->tick);
	clear_progress(b);
	return (b->failed ? -1 : 0);
}

/* ---- threads: synchronous connections, for scans ---- */

/* One synchronous request of op on key.  Returns its status. */
static int
sworker_do(struct sworker *w, const struct run *r, enum benchcfg_op op,
    uint64_t key)
{
	struct bench *b = w->b;
	char k[KEY_LEN];
	kv_iter *it = NULL;
	void *v = NULL;
	size_t vlen;
	uint32_t n;
	int rc;

	format_key(k, key);
	switch (op) {
	case BENCH_OP_PUT:
	case BENCH_OP_INSERT:
		return (kv_put(w->c, k, KEY_LEN, b->value, b->cfg->value_size,
		    NULL));
	case BENCH_OP_GET:
		rc = kv_get(w->c, k, KEY_LEN, &v, &vlen, NULL);
		kv_free(v);
		return (rc);
	case BENCH_OP_DEL:
		return (kv_delete(w->c, k, KEY_LEN, NULL));
	case BENCH_OP_RMW:
		rc = kv_get(w->c, k, KEY_LEN, &v, &vlen, NULL);
		kv_free(v);
		if (rc != KV_OK && rc != KV_NOT_FOUND)
			return (rc);
		return (kv_put(w->c, k, KEY_LEN, b->value, b->cfg->value_size,
		    NULL));
	case BENCH_OP_ITER:
		n = 1 + (uint32_t)keydist_rng_below(&w->rng,
		    r->cfg->scan_length);
		if ((rc = kv_iter_new(w->c, &it)) != KV_OK)
			return (rc);
		if ((rc = kv_iter_set_start(it, k, KEY_LEN)) != KV_OK ||
		    (rc = kv_iter_set_limit(it, n)) != KV_OK ||
		    (rc = kv_iter_set_page_size(it, n)) != KV_OK)
			goto out;
		while ((rc = kv_iter_next(it, NULL, NULL, NULL, NULL)) == KV_OK)
			;
		/* The end of the scan is NOT_FOUND: that is success. */
		if (rc == KV_NOT_FOUND)
			rc = KV_OK;
out:
		kv_iter_free(it);
		return (rc);
	case BENCH_OP_COUNT:
		break;
	}
	return (KV_ERR_ARG);
}

static void *
sworker_main(void *arg)
{
	struct sworker *w = arg;
	struct run *r = w->b->run;
	enum benchcfg_op op;
	enum phase ph;
	uint64_t seq = 0, key, t0, t1;
	int rc;

	for (;;) {
		t0 = now_ns();
		if ((ph = run_ticket(r, t0, &seq)) == PH_STOP)
			break;
		op = run_pick_op(r, &w->rng);
		key = run_pick_key(w->b, r, &w->rng, op, seq);
		rc = sworker_do(w, r, op, key);
		t1 = now_ns();
		if (op == BENCH_OP_INSERT)
			insert_done(w->b, key);
		if (rc < 0) {
			w->failed = 1;
			copy_escaped(w->err, sizeof(w->err), kv_errmsg(w->c));
			atomic_store(&r->stop, 1);
			break;
		}
		if (rc != KV_OK && rc != KV_NOT_FOUND && !w->failed &&
		    w->err[0] == '\0') {
			char esc[ESC_MAX];

			copy_escaped(esc, sizeof(esc), kv_errmsg(w->c));
			(void)snprintf(w->err, sizeof(w->err), "%s: %s: %s",
			    benchcfg_op_name(op), kv_status_name(rc) != NULL ?
			    kv_status_name(rc) : "status", esc);
		}
		stats_count(NULL, &w->st, op, ph == PH_MEASURE, rc, "", t0, t1);
	}
	return (NULL);
}

static int
bench_connect_sync(struct bench *b)
{
	const struct benchcfg *cfg = b->cfg;
	struct sworker *w;
	unsigned int i;

	if ((b->sworkers = calloc(cfg->connections, sizeof(*b->sworkers))) ==
	    NULL) {
		bench_fail(b, "connections", "out of memory");
		return (-1);
	}
	for (i = 0; i < cfg->connections; i++) {
		w = &b->sworkers[i];
		w->b = b;
		keydist_rng_seed(&w->rng, cfg->seed * 1000003ULL + i);
		if ((w->c = kv_conn_new(b->sopts)) == NULL) {
			bench_fail(b, "connections", "out of memory");
			return (-1);
		}
		if (kv_connect(w->c, cfg->server) != KV_OK) {
			bench_fail(b, "connect", kv_errmsg(w->c));
			return (-1);
		}
	}
	return (0);
}

/* Run test r on one thread per connection; results merged into st. */
static int
bench_run_sync(struct bench *b, struct run *r, struct stats *st)
{
	const struct benchcfg *cfg = b->cfg;
	struct timespec nap = { 0, (long)PROGRESS_NS };
	struct sworker *w;
	unsigned int i, started = 0;
	uint64_t done;
	int e, o, rc = 0;

	if (b->sworkers == NULL && bench_connect_sync(b) != 0)
		return (-1);
	b->run = r;
	b->progress_done = 0;
	b->progress_at = now_ns();
	for (i = 0; i < cfg->connections; i++) {
		w = &b->sworkers[i];
		w->failed = 0;
		w->err[0] = '\0';
		if (stats_init(&w->st, r->test) != 0) {
			bench_fail(b, "statistics", "out of memory");
			atomic_store(&r->stop, 1);
			break;
		}
		if ((e = pthread_create(&w->tid, NULL, sworker_main, w)) != 0) {
			bench_fail(b, "thread", strerror(e));
			atomic_store(&r->stop, 1);
			break;
		}
		w->running = 1;
		started++;
	}
	/* Threads end on their own: by count, by time, or on an error. */
	for (;;) {
		for (i = 0; i < started; i++)
			if (pthread_tryjoin_np(b->sworkers[i].tid, NULL) == 0)
				b->sworkers[i].running = 0;
		for (i = 0; i < started && !b->sworkers[i].running; i++)
			;
		if (i == started)
			break;
		if (b->progress) {
			for (done = 0, i = 0; i < started; i++)
				done += atomic_load(&b->sworkers[i].st.done);
			print_progress(b, r->test->name, done, now_ns());
		}
		(void)nanosleep(&nap, NULL);
	}
	clear_progress(b);
	for (i = 0; i < cfg->connections; i++) {
		w = &b->sworkers[i];
		if (w->failed) {
			bench_fail(b, "connection", w->err);
			rc = -1;
		} else if (w->err[0] != '\0' && b->first_status[0] == '\0')
			(void)snprintf(b->first_status,
			    sizeof(b->first_status), "%s", w->err);
		for (o = 0; o < BENCH_OP_COUNT; o++) {
			if (w->st.op[o].lat == NULL)
				continue;
			histogram_add(st->op[o].lat, w->st.op[o].lat);
			st->op[o].ok += w->st.op[o].ok;
			st->op[o].notfound += w->st.op[o].notfound;
			st->op[o].errors += w->st.op[o].errors;
			b->server_errors += w->st.op[o].errors;
		}
		if (w->st.last_done > st->last_done)
			st->last_done = w->st.last_done;
		stats_free(&w->st);
	}
	return (b->failed ? -1 : rc);
}

/* ---- reports ---- */

static double
ms(uint64_t ns)
{
	return ((double)ns / 1e6);
}

static int
result_make(struct result *res, const struct run *r, struct stats *st)
{
	struct rusage ru;
	uint64_t start = atomic_load(&r->measure_start);
	double cpu;
	int i;

	memset(res, 0, sizeof(*res));
	res->test = r->test;
	if ((res->all = histogram_new()) == NULL)
		return (-1);
	for (i = 0; i < BENCH_OP_COUNT; i++) {
		res->op[i] = st->op[i];
		if (st->op[i].lat == NULL)
			continue;
		histogram_add(res->all, st->op[i].lat);
		res->requests += histogram_count(st->op[i].lat);
	}
	res->seconds = start != 0 && st->last_done > start ?
	    (double)(st->last_done - start) / 1e9 : 0.0;
	(void)getrusage(RUSAGE_SELF, &ru);
	cpu = (double)(ru.ru_utime.tv_sec - r->ru_start.ru_utime.tv_sec +
	    ru.ru_stime.tv_sec - r->ru_start.ru_stime.tv_sec) * 1e6 +
	    (double)(ru.ru_utime.tv_usec - r->ru_start.ru_utime.tv_usec +
	    ru.ru_stime.tv_usec - r->ru_start.ru_stime.tv_usec);
	res->cpu_us_per_op = res->requests > 0 ? cpu / (double)res->requests :
	    0.0;
	return (0);
}

static void
result_free(struct result *res)
{
	histogram_free(res->all);
	res->all = NULL;
}

static double
rate(const struct result *res, uint64_t n)
{
	return (res->seconds > 0 ? (double)n / res->seconds : 0.0);
}

static int
result_single_op(const struct result *res)
{
	int i, n = 0;

	for (i = 0; i < BENCH_OP_COUNT; i++)
		if (res->op[i].lat != NULL)
			n++;
	return (n == 1);
}

static void
text_line(FILE *f, const char *name, uint64_t n, double secs, double ops,
    const struct histogram *h, uint64_t notfound, uint64_t errors)
{
	fprintf(f, "%-8s %10" PRIu64 " requests in %6.2f s %10.0f/s   "
	    "latency ms: p50 %.3f  p99 %.3f  p99.9 %.3f  max %.3f", name, n,
	    secs, ops, ms(histogram_percentile(h, 50.0)),
	    ms(histogram_percentile(h, 99.0)),
	    ms(histogram_percentile(h, 99.9)), ms(histogram_max(h)));
	if (notfound > 0)
		fprintf(f, "  (%" PRIu64 " not found)", notfound);
	if (errors > 0)
		fprintf(f, "  %" PRIu64 " ERRORS", errors);
	putc('\n', f);
}

static void
report_header(FILE *f, const struct benchcfg *cfg)
{
	if (cfg->format == BENCH_CSV) {
		fprintf(f, "\"test\",\"rps\",\"avg_latency_ms\",\"min_latency_ms\","
		    "\"p50_latency_ms\",\"p95_latency_ms\",\"p99_latency_ms\","
		    "\"max_latency_ms\",\"p999_latency_ms\",\"requests\","
		    "\"not_found\",\"errors\",\"client_cpu_us_per_op\"\n");
	} else if (cfg->format == BENCH_TEXT) {
		fprintf(f, "kvbench %s: %s, %u connections, pipeline %u, "
		    "%" PRIu32 "-byte values, %" PRIu64 " keys, %.1f s warm-up\n",
		    kv_version(), cfg->server != NULL ? cfg->server :
		    "127.0.0.1:7878", cfg->connections, cfg->pipeline,
		    cfg->value_size, cfg->keyspace, cfg->warmup);
	} else {
		fprintf(f, "{\"kvbench\":\"%s\",\"connections\":%u,"
		    "\"pipeline\":%u,\"value_size\":%" PRIu32 ",\"keyspace\":%"
		    PRIu64 ",\"warmup_s\":%g,\"tests\":[", kv_version(),
		    cfg->connections, cfg->pipeline, cfg->value_size,
		    cfg->keyspace, cfg->warmup);
	}
}

static void
json_latency(FILE *f, const struct histogram *h)
{
	fprintf(f, "\"latency_ms\":{\"mean\":%.4f,\"min\":%.4f,\"p50\":%.4f,"
	    "\"p99\":%.4f,\"p99_9\":%.4f,\"max\":%.4f}",
	    histogram_mean(h) / 1e6, ms(histogram_min(h)),
	    ms(histogram_percentile(h, 50.0)), ms(histogram_percentile(h, 99.0)),
	    ms(histogram_percentile(h, 99.9)), ms(histogram_max(h)));
}

static void
csv_line(FILE *f, const char *name, double ops, const struct histogram *h,
    uint64_t notfound, uint64_t errors, double cpu)
{
	fprintf(f, "\"%s\",\"%.2f\",\"%.3f\",\"%.3f\",\"%.3f\",\"%.3f\","
	    "\"%.3f\",\"%.3f\",\"%.3f\",\"%" PRIu64 "\",\"%" PRIu64 "\",\"%"
	    PRIu64 "\",\"%.2f\"\n", name, ops, histogram_mean(h) / 1e6,
	    ms(histogram_min(h)), ms(histogram_percentile(h, 50.0)),
	    ms(histogram_percentile(h, 95.0)), ms(histogram_percentile(h, 99.0)),
	    ms(histogram_max(h)), ms(histogram_percentile(h, 99.9)),
	    histogram_count(h), notfound, errors, cpu);
}

static void
report_result(FILE *f, const struct benchcfg *cfg, const struct result *res,
    int first)
{
	const struct opstats *o;
	uint64_t nf = 0, errs = 0, n;
	char name[40];
	int i, single = result_single_op(res), comma = 0;

	for (i = 0; i < BENCH_OP_COUNT; i++) {
		nf += res->op[i].notfound;
		errs += res->op[i].errors;
	}
	switch (cfg->format) {
	case BENCH_TEXT:
		text_line(f, res->test->name, res->requests, res->seconds,
		    rate(res, res->requests), res->all, nf, errs);
		if (!single)
			for (i = 0; i < BENCH_OP_COUNT; i++) {
				o = &res->op[i];
				if (o->lat == NULL)
					continue;
				(void)snprintf(name, sizeof(name), "  %s",
				    benchcfg_op_name((enum benchcfg_op)i));
				n = histogram_count(o->lat);
				text_line(f, name, n, res->seconds, rate(res, n),
				    o->lat, o->notfound, o->errors);
			}
		fprintf(f, "%-8s client CPU %.2f us/request\n", "",
		    res->cpu_us_per_op);
		break;
	case BENCH_CSV:
		csv_line(f, res->test->name, rate(res, res->requests), res->all,
		    nf, errs, res->cpu_us_per_op);
		if (!single)
			for (i = 0; i < BENCH_OP_COUNT; i++) {
				o = &res->op[i];
				if (o->lat == NULL)
					continue;
				(void)snprintf(name, sizeof(name), "%s/%s",
				    res->test->name,
				    benchcfg_op_name((enum benchcfg_op)i));
				csv_line(f, name, rate(res,
				    histogram_count(o->lat)), o->lat,
				    o->notfound, o->errors, res->cpu_us_per_op);
			}
		break;
	case BENCH_JSON:
		fprintf(f, "%s{\"name\":\"%s\",\"distribution\":\"%s\","
		    "\"requests\":%" PRIu64 ",\"seconds\":%.6f,"
		    "\"ops_per_sec\":%.2f,\"not_found\":%" PRIu64 ",\"errors\":%"
		    PRIu64 ",\"client_cpu_us_per_op\":%.3f,", first ? "" : ",",
		    res->test->name, keydist_kind_name(res->test->dist),
		    res->requests, res->seconds, rate(res, res->requests), nf,
		    errs, res->cpu_us_per_op);
		json_latency(f, res->all);
		fputs(",\"ops\":{", f);
		for (i = 0; i < BENCH_OP_COUNT; i++) {
			o = &res->op[i];
			if (o->lat == NULL)
				continue;
			n = histogram_count(o->lat);
			fprintf(f, "%s\"%s\":{\"requests\":%" PRIu64 ","
			    "\"ops_per_sec\":%.2f,\"not_found\":%" PRIu64 ","
			    "\"errors\":%" PRIu64 ",", comma ? "," : "",
			    benchcfg_op_name((enum benchcfg_op)i), n,
			    rate(res, n), o->notfound, o->errors);
			json_latency(f, o->lat);
			putc('}', f);
			comma = 1;
		}
		fputs("}}", f);
		break;
	}
	fflush(f);
}

static void
report_footer(FILE *f, const struct benchcfg *cfg)
{
	if (cfg->format == BENCH_JSON)
		fputs("]}\n", f);
	fflush(f);
}

/* ---- setup and teardown ---- */

static void
bench_close_async(struct bench *b)
{
	unsigned int i;

	if (b->aconns == NULL)
		return;
	b->closing = 1;
	for (i = 0; i < b->cfg->connections; i++) {
		kv_async_free(b->aconns[i].a);
		free(b->aconns[i].slots);
	}
	free(b->aconns);
	b->aconns = NULL;
	b->nconnected = 0;
	b->closing = 0;
}

static void
bench_close_sync(struct bench *b)
{
	unsigned int i;

	if (b->sworkers == NULL)
		return;
	for (i = 0; i < b->cfg->connections; i++)
		kv_conn_free(b->sworkers[i].c);
	free(b->sworkers);
	b->sworkers = NULL;
}

static void
bench_free(struct bench *b)
{
	bench_close_async(b);
	bench_close_sync(b);
	if (b->tick != NULL)
		event_free(b->tick);
	if (b->base != NULL)
		event_base_free(b->base);
	kv_options_free(b->aopts);
	kv_options_free(b->sopts);
	free(b->value);
	free(b->ins_done);
	(void)pthread_mutex_destroy(&b->ins_lock);
}

static int
bench_init(struct bench *b, const struct benchcfg *cfg)
{
	struct event_config *ec;

	memset(b, 0, sizeof(*b));
	b->cfg = cfg;
	atomic_init(&b->inserted, 0);
	atomic_init(&b->ins_acked, 0);
	(void)pthread_mutex_init(&b->ins_lock, NULL);
	/* Twice the requests that can be in flight, rounded up to 2^k bits. */
	for (b->ins_mask = 65535; b->ins_mask < 2ULL * cfg->connections *
	    cfg->pipeline; b->ins_mask = b->ins_mask * 2 + 1)
		;
	if ((b->ins_done = calloc((b->ins_mask + 1) / 8, 1)) == NULL)
		return (-1);
	b->progress = !cfg->quiet && isatty(STDERR_FILENO);
	if ((b->value = malloc(cfg->value_size > 0 ? cfg->value_size : 1)) ==
	    NULL)
		return (-1);
	/* The bytes redis-benchmark sends, so both carry the same payload. */
	memset(b->value, 'x', cfg->value_size);
	if ((b->aopts = kv_options_new()) == NULL ||
	    (b->sopts = kv_options_new()) == NULL)
		return (-1);
	/*
	 * No per-request timeout on the event loop: the library would read
	 * the clock and re-arm a timer for every request.  The tick's
	 * watchdog catches a silent server instead.
	 */
	(void)kv_options_set_connect_timeout(b->aopts, cfg->timeout_ms);
	(void)kv_options_set_request_timeout(b->aopts, 0);
	(void)kv_options_set_connect_timeout(b->sopts, cfg->timeout_ms);
	(void)kv_options_set_request_timeout(b->sopts, cfg->timeout_ms);
	if ((ec = event_config_new()) == NULL)
		return (-1);
	/* One thread owns the loop: no locks. */
	(void)event_config_set_flag(ec, EVENT_BASE_FLAG_NOLOCK);
	b->base = event_base_new_with_config(ec);
	event_config_free(ec);
	return (b->base == NULL ? -1 : 0);
}

/* Run one test and print its result.  Returns 0 or -1 (b->err says why). */
static int
bench_test(struct bench *b, const struct benchcfg_test *t, int first)
{
	const struct benchcfg *cfg = b->cfg;
	struct keydist *dist = NULL;
	struct result res;
	struct stats st;
	struct run r;
	int rc = -1;

	memset(&res, 0, sizeof(res));
	if (stats_init(&st, t) != 0) {
		bench_fail(b, "statistics", "out of memory");
		goto out;
	}
	if (t->kind != BENCH_TEST_LOAD &&
	    (dist = keydist_new(t->dist, cfg->keyspace, cfg->theta)) == NULL) {
		bench_fail(b, "key distribution", "out of memory");
		goto out;
	}
	run_init(&r, cfg, t, dist);
	/* One set of connections at a time: the server sees -c clients. */
	if (benchcfg_test_has(t, BENCH_OP_ITER)) {
		bench_close_async(b);
		rc = bench_run_sync(b, &r, &st);
	} else {
		bench_close_sync(b);
		rc = bench_run_async(b, &r, &st);
	}
	if (rc != 0)
		goto out;
	if (result_make(&res, &r, &st) != 0) {
		bench_fail(b, "statistics", "out of memory");
		rc = -1;
		goto out;
	}
	report_result(stdout, cfg, &res, first);
out:
	result_free(&res);
	stats_free(&st);
	keydist_free(dist);
	return (rc);
}

int
main(int argc, char *argv[])
{
	struct benchcfg cfg;
	struct bench b;
	char err[ERR_MAX];
	size_t i;
	int status = 0;

	if (benchcfg_parse(&cfg, argc, argv, err, sizeof(err)) != 0) {
		fprintf(stderr, "kvbench: %s\n", err);
		fputs(benchcfg_usage(), stderr);
		return (EXIT_USAGE);
	}
	if (cfg.help) {
		fputs(benchcfg_usage(), stdout);
		return (0);
	}
	if (cfg.version) {
		printf("kvbench %s (libkvclient %s)\n", PACKAGE_VERSION,
		    kv_version());
		return (0);
	}
	if (bench_init(&b, &cfg) != 0) {
		fprintf(stderr, "kvbench: out of memory\n");
		bench_free(&b);
		return (EXIT_FAIL);
	}
	report_header(stdout, &cfg);
	for (i = 0; i < cfg.ntests; i++)
		if (bench_test(&b, &cfg.tests[i], i == 0) != 0) {
			status = EXIT_FAIL;
			break;
		}
	report_footer(stdout, &cfg);
	if (b.failed)
		fprintf(stderr, "kvbench: %s\n", b.err);
	if (b.server_errors > 0) {
		fprintf(stderr, "kvbench: %" PRIu64 " requests failed; the "
		    "first: %s\n", b.server_errors, b.first_status);
		status = EXIT_FAIL;
	}
	bench_free(&b);
	return (status);
}
