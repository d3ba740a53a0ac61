/*
 * fakekvd.c: a stand-in kvd on a thread, for client tests.  See fakekvd.h.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "fakekvd.h"
#include "frame.h"
#include "proto/kv.pb-c.h"

#define FAKE_PAGE_DEFAULT	1000
#define FAKE_PAGE_MAX		10000
#define FAKE_PAGE_BYTES		(4u * 1024 * 1024)

struct fake_entry {
	uint8_t		*k, *v;
	size_t		 klen, vlen;
	uint64_t	 seq;
};

struct fake {
	enum fake_mode		 mode;
	int			 lfd;
	int			 stop[2];
	pthread_t		 th;
	char			 endpoint[64];
	atomic_uint_fast64_t	 requests;
	atomic_uint_fast64_t	 connections;
	struct fake_entry	*e;
	size_t			 n, cap;
	uint64_t		 seq;
};

static int
fake_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	size_t m = alen < blen ? alen : blen;
	int r;

	if (m > 0 && (r = memcmp(a, b, m)) != 0)
		return (r);
	return (alen < blen ? -1 : alen > blen);
}

/* First index whose key is >= k (or > k when after is set). */
static size_t
fake_lower(const struct fake *f, const uint8_t *k, size_t klen, int after)
{
	size_t lo = 0, hi = f->n, mid;
	int c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = fake_cmp(f->e[mid].k, f->e[mid].klen, k, klen);
		if (c < 0 || (after && c == 0))
			lo = mid + 1;
		else
			hi = mid;
	}
	return (lo);
}

static int
fake_find(const struct fake *f, const ProtobufCBinaryData *k, size_t *ip)
{
	*ip = fake_lower(f, k->data, k->len, 0);
	return (*ip < f->n && fake_cmp(f->e[*ip].k, f->e[*ip].klen, k->data,
	    k->len) == 0);
}

static void *
fake_dup(const void *p, size_t n)
{
	void *q = malloc(n + 1);

	if (q == NULL)
		abort();	/* a test fixture, not the library */
	if (n > 0)
		memcpy(q, p, n);
	return (q);
}

static uint64_t
fake_put(struct fake *f, const Kv__PutRequest *p)
{
	struct fake_entry *ne;
	size_t i;

	if (fake_find(f, &p->key, &i)) {
		free(f->e[i].v);
		f->e[i].v = fake_dup(p->value.data, p->value.len);
		f->e[i].vlen = p->value.len;
		f->e[i].seq = ++f->seq;
		return (f->seq);
	}
	if (f->n == f->cap) {
		f->cap = f->cap == 0 ? 64 : f->cap * 2;
		if ((ne = realloc(f->e, f->cap * sizeof(*ne))) == NULL)
			abort();
		f->e = ne;
	}
	memmove(&f->e[i + 1], &f->e[i], (f->n - i) * sizeof(*f->e));
	f->e[i].k = fake_dup(p->key.data, p->key.len);
	f->e[i].klen = p->key.len;
	f->e[i].v = fake_dup(p->value.data, p->value.len);
	f->e[i].vlen = p->value.len;
	f->e[i].seq = ++f->seq;
	f->n++;
	return (f->seq);
}

static int
fake_has_prefix(const struct fake_entry *e, const ProtobufCBinaryData *p)
{
	return (p->len == 0 || (e->klen >= p->len &&
	    memcmp(e->k, p->data, p->len) == 0));
}

static int
fake_in_range(const struct fake_entry *e, const Kv__IterRequest *ir)
{
	if (ir->end.len > 0 &&
	    fake_cmp(e->k, e->klen, ir->end.data, ir->end.len) >= 0)
		return (0);
	return (fake_has_prefix(e, &ir->prefix));
}

/* Fill resp with one page of ir; entries[] is malloc'd for the caller. */
static void
fake_iter(struct fake *f, const Kv__IterRequest *ir, Kv__IterResponse *ip,
    Kv__Entry *ents, Kv__Entry **ptrs)
{
	size_t i, limit, n = 0, bytes = 0;
	int exclusive = ir->start_exclusive && f->mode != FAKE_DISORDER;

	limit = ir->limit == 0 ? FAKE_PAGE_DEFAULT : ir->limit;
	if (limit > FAKE_PAGE_MAX)
		limit = FAKE_PAGE_MAX;
	i = fake_lower(f, ir->start.data, ir->start.len, exclusive);
	if (ir->prefix.len > 0 && fake_cmp(ir->start.data, ir->start.len,
	    ir->prefix.data, ir->prefix.len) < 0)
		i = fake_lower(f, ir->prefix.data, ir->prefix.len, 0);
	ip->more = 0;
	for (; i < f->n && fake_in_range(&f->e[i], ir); i++) {
		if (n == limit || bytes > FAKE_PAGE_BYTES) {
			ip->more = 1;
			break;
		}
		kv__entry__init(&ents[n]);
		ents[n].key.data = f->e[i].k;
		ents[n].key.len = f->e[i].klen;
		if (!ir->keys_only) {
			ents[n].value.data = f->e[i].v;
			ents[n].value.len = f->e[i].vlen;
		}
		bytes += f->e[i].klen + f->e[i].vlen;
		ptrs[n] = &ents[n];
		n++;
	}
	/* A full page says "more" without looking: real servers may do that. */
	if (n == limit)
		ip->more = 1;
	ip->n_entries = n;
	ip->entries = ptrs;
}

static void
fake_answer(struct fake *f, const Kv__Request *req, struct evbuffer *out)
{
	Kv__Response r = KV__RESPONSE__INIT;
	Kv__PutResponse pr = KV__PUT_RESPONSE__INIT;
	Kv__GetResponse gr = KV__GET_RESPONSE__INIT;
	Kv__DeleteResponse dr = KV__DELETE_RESPONSE__INIT;
	Kv__IterResponse ir = KV__ITER_RESPONSE__INIT;
	Kv__PingResponse png = KV__PING_RESPONSE__INIT;
	Kv__StatsResponse sr = KV__STATS_RESPONSE__INIT;
	Kv__CompactResponse cr = KV__COMPACT_RESPONSE__INIT;
	Kv__Stat st[2] = { KV__STAT__INIT, KV__STAT__INIT };
	Kv__Stat *stp[2] = { &st[0], &st[1] };
	Kv__Entry *ents = NULL, **ptrs = NULL;
	const ProtobufCBinaryData *key = NULL;
	size_t i, cap;

	r.id = req->id;
	r.status = KV__STATUS__OK;
	switch (req->op_case) {
	case KV__REQUEST__OP_PUT:	key = &req->put->key; break;
	case KV__REQUEST__OP_GET:	key = &req->get->key; break;
	case KV__REQUEST__OP_DELETE:	key = &req->delete_->key; break;
	default:			break;
	}
	if (key != NULL && key->len == 0) {
		r.status = KV__STATUS__INVALID_ARGUMENT;
		r.message = (char *)"the key is empty";
		goto send;
	}
	switch (req->op_case) {
	case KV__REQUEST__OP_PUT:
		pr.seq = fake_put(f, req->put);
		r.result_case = KV__RESPONSE__RESULT_PUT;
		r.put = &pr;
		break;
	case KV__REQUEST__OP_GET:
		if (!fake_find(f, key, &i)) {
			r.status = KV__STATUS__NOT_FOUND;
			r.message = (char *)"key not found";
			break;
		}
		gr.value.data = f->e[i].v;
		gr.value.len = f->e[i].vlen;
		gr.seq = f->e[i].seq;
		r.result_case = KV__RESPONSE__RESULT_GET;
		r.get = &gr;
		break;
	case KV__REQUEST__OP_DELETE:
		if (!fake_find(f, key, &i)) {
			r.status = KV__STATUS__NOT_FOUND;
			r.message = (char *)"key not found";
			break;
		}
		free(f->e[i].k);
		free(f->e[i].v);
		memmove(&f->e[i], &f->e[i + 1], (f->n - i - 1) * sizeof(*f->e));
		f->n--;
		dr.seq = ++f->seq;
		r.result_case = KV__RESPONSE__RESULT_DELETE;
		r.delete_ = &dr;
		break;
	case KV__REQUEST__OP_ITER:
		cap = req->iter->limit == 0 ? FAKE_PAGE_DEFAULT :
		    req->iter->limit > FAKE_PAGE_MAX ? FAKE_PAGE_MAX :
		    req->iter->limit;
		ents = calloc(cap, sizeof(*ents));
		ptrs = calloc(cap, sizeof(*ptrs));
		if (ents == NULL || ptrs == NULL)
			abort();
		if (f->mode == FAKE_EMPTY_MORE)
			ir.more = 1;
		else
			fake_iter(f, req->iter, &ir, ents, ptrs);
		if (f->mode == FAKE_PAGE_DISORDER && ir.n_entries >= 2) {
			ptrs[0] = &ents[1];
			ptrs[1] = &ents[0];
		}
		if (f->mode == FAKE_EMPTY_KEY && ir.n_entries >= 1)
			ents[0].key.len = 0;
		r.result_case = KV__RESPONSE__RESULT_ITER;
		r.iter = &ir;
		break;
	case KV__REQUEST__OP_PING:
		png.payload = req->ping->payload;
		if (f->mode == FAKE_BAD_PING) {
			png.payload.data = (uint8_t *)"other";
			png.payload.len = 5;
		}
		r.result_case = KV__RESPONSE__RESULT_PING;
		r.ping = &png;
		break;
	case KV__REQUEST__OP_STATS:
		st[0].name = (char *)"keys";
		st[0].value = f->n;
		st[1].name = (char *)"requests_total";
		st[1].value = atomic_load(&f->requests);
		sr.n_stats = 2;
		sr.stats = stp;
		r.result_case = KV__RESPONSE__RESULT_STATS;
		r.stats = &sr;
		break;
	case KV__REQUEST__OP_COMPACT:
		/* Something to compact once something was stored. */
		cr.pending = f->n > 0;
		r.result_case = KV__RESPONSE__RESULT_COMPACT;
		r.compact = &cr;
		break;
	default:
		r.status = KV__STATUS__INVALID_ARGUMENT;
		r.message = (char *)"the request has no operation";
		break;
	}
send:
	switch (f->mode) {
	case FAKE_WRONG_ID:
		r.id += 100;
		break;
	case FAKE_UNKNOWN_STATUS:
		r.status = (Kv__Status)42;
		r.message = (char *)"a status from the future";
		break;
	case FAKE_ID_ZERO:
		r.id = 0;
		r.status = KV__STATUS__UNAVAILABLE;
		r.message = (char *)"too many clients";
		r.result_case = KV__RESPONSE__RESULT__NOT_SET;
		break;
	default:
		break;
	}
	if (frame_encode(out, &r.base) != 0)
		abort();
	free(ents);
	free(ptrs);
}

/* Write all of out to fd; MSG_NOSIGNAL keeps a gone client from killing the test. */
static int
fake_flush(int fd, struct evbuffer *out)
{
	size_t len;
	ssize_t n;
	uint8_t *p;

	while ((len = evbuffer_get_length(out)) > 0) {
		if (len > 65536)
			len = 65536;
		if ((p = evbuffer_pullup(out, (ev_ssize_t)len)) == NULL)
			return (-1);
		n = send(fd, p, len, MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return (-1);
		(void)evbuffer_drain(out, (size_t)n);
	}
	return (0);
}

/* Serve one connection; returns 1 if asked to stop. */
static int
fake_serve(struct fake *f, int fd)
{
	static const uint8_t huge[4] = { 0x80, 0, 0, 0 };
	static const uint8_t garbage[3] = { 0xff, 0xff, 0xff };
	struct evbuffer *in = evbuffer_new(), *out = evbuffer_new();
	struct frame_decoder *dec = frame_decoder_new(128u * 1024 * 1024);
	struct pollfd pfd[2];
	const uint8_t *data;
	Kv__Request *req;
	size_t len;
	int rc = 0;

	if (in == NULL || out == NULL || dec == NULL)
		abort();
	for (;;) {
		pfd[0].fd = fd;
		pfd[0].events = POLLIN;
		pfd[1].fd = f->stop[0];
		pfd[1].events = POLLIN;
		if (poll(pfd, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[1].revents != 0) {
			rc = 1;
			break;
		}
		if (evbuffer_read(in, fd, 1 << 20) <= 0)
			break;
		while (frame_decode(dec, in, &data, &len) == FRAME_READY) {
			req = kv__request__unpack(NULL, len, data);
			frame_consume(dec, in);
			atomic_fetch_add(&f->requests, 1);
			if (req == NULL)
				abort();
			switch (f->mode) {
			case FAKE_SILENT:
				break;
			case FAKE_CLOSE:
				kv__request__free_unpacked(req, NULL);
				goto out;
			case FAKE_HUGE:
				(void)evbuffer_add(out, huge, sizeof(huge));
				break;
			case FAKE_GARBAGE:
				(void)frame_encode_raw(out, garbage, sizeof(garbage));
				break;
			default:
				fake_answer(f, req, out);
				break;
			}
			kv__request__free_unpacked(req, NULL);
		}
		if (fake_flush(fd, out) != 0)
			break;
	}
out:
	evbuffer_free(in);
	evbuffer_free(out);
	frame_decoder_free(dec);
	return (rc);
}

static void *
fake_main(void *arg)
{
	struct fake *f = arg;
	struct pollfd pfd[2];
	int fd;

	for (;;) {
		pfd[0].fd = f->lfd;
		pfd[0].events = POLLIN;
		pfd[1].fd = f->stop[0];
		pfd[1].events = POLLIN;
		if (poll(pfd, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[1].revents != 0)
			break;
		if ((fd = accept(f->lfd, NULL, NULL)) == -1)
			continue;
		atomic_fetch_add(&f->connections, 1);
		if (fake_serve(f, fd)) {
			(void)close(fd);
			break;
		}
		(void)close(fd);
	}
	return (NULL);
}

struct fake *
fake_start(enum fake_mode mode)
{
	struct sockaddr_in sin;
	socklen_t slen = sizeof(sin);
	struct fake *f;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return (NULL);
	f->mode = mode;
	atomic_init(&f->requests, 0);
	atomic_init(&f->connections, 0);
	if (pipe(f->stop) == -1)
		goto err0;
	if ((f->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		goto err1;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(f->lfd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(f->lfd, 16) == -1 ||
	    getsockname(f->lfd, (struct sockaddr *)&sin, &slen) == -1)
		goto err2;
	(void)snprintf(f->endpoint, sizeof(f->endpoint), "127.0.0.1:%u",
	    (unsigned)ntohs(sin.sin_port));
	if (pthread_create(&f->th, NULL, fake_main, f) != 0)
		goto err2;
	return (f);

err2:
	(void)close(f->lfd);
err1:
	(void)close(f->stop[0]);
	(void)close(f->stop[1]);
err0:
	fprintf(stderr, "fakekvd: cannot start: %s\n", strerror(errno));
	free(f);
	return (NULL);
}

const char *
fake_endpoint(const struct fake *f)
{
	return (f->endpoint);
}

uint64_t
fake_requests(const struct fake *f)
{
	return (atomic_load(&((struct fake *)(uintptr_t)f)->requests));
}

uint64_t
fake_connections(const struct fake *f)
{
	return (atomic_load(&((struct fake *)(uintptr_t)f)->connections));
}

void
fake_stop(struct fake *f)
{
	size_t i;

	if (f == NULL)
		return;
	(void)write(f->stop[1], "x", 1);
	(void)pthread_join(f->th, NULL);
	(void)close(f->lfd);
	(void)close(f->stop[0]);
	(void)close(f->stop[1]);
	for (i = 0; i < f->n; i++) {
		free(f->e[i].k);
		free(f->e[i].v);
	}
	free(f->e);
	free(f);
}

int
fake_setup_mode(void **state, enum fake_mode mode)
{
	struct fake_conn *x = calloc(1, sizeof(*x));

	if (x == NULL || (x->f = fake_start(mode)) == NULL ||
	    (x->c = kv_conn_new(NULL)) == NULL ||
	    kv_connect(x->c, fake_endpoint(x->f)) != KV_OK) {
		if (x != NULL) {
			kv_conn_free(x->c);
			fake_stop(x->f);
		}
		free(x);
		return (-1);
	}
	*state = x;
	return (0);
}

int
fake_setup(void **state)
{
	return (fake_setup_mode(state, FAKE_NORMAL));
}

int
fake_teardown(void **state)
{
	struct fake_conn *x = *state;

	kv_conn_free(x->c);
	fake_stop(x->f);
	free(x);
	return (0);
}
