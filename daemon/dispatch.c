/*
 * dispatch.c: run a Request against the engine.  See dispatch.h.
 */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <protobuf-c/protobuf-c.h>

#include "dispatch.h"
#include "frame.h"
#include "log.h"
#include "proto/kv.pb-c.h"
#include "stats.h"

/*
 * Requests are unpacked into an arena: nearly every request fits, so
 * unpacking costs no malloc and freeing the request is a reset.  What does
 * not fit (a large value) comes from malloc and is freed piece by piece.
 */
#define ARENA_SIZE	(16u << 10)
#define ARENA_ALIGN	_Alignof(max_align_t)

/*
 * For the few functions on every request's path that the batched path
 * shares: inlined all the same, so that a lone request (pipeline 1) pays
 * no call more than it did before runs of gets were batched.
 */
#define ALWAYS_INLINE	inline __attribute__((always_inline))

struct dispatch {
	struct dispatch_config cfg;
	char		msg[256];	/* the current response's message */
	ProtobufCAllocator alloc;
	size_t		 arena_used;
	size_t		 arena_spilled;	/* pieces taken from malloc */
	_Alignas(max_align_t) uint8_t arena[ARENA_SIZE];
};

static void *
arena_alloc(void *arg, size_t size)
{
	struct dispatch *d = arg;
	size_t need = (size + ARENA_ALIGN - 1) & ~(ARENA_ALIGN - 1);
	void *p;

	if (need >= size && need <= ARENA_SIZE - d->arena_used) {
		p = d->arena + d->arena_used;
		d->arena_used += need;
		return (p);
	}
	if ((p = malloc(size)) != NULL)
		d->arena_spilled++;
	return (p);
}

static void
arena_free(void *arg, void *p)
{
	struct dispatch *d = arg;
	const uint8_t *b = p;

	if (b >= d->arena && b < d->arena + ARENA_SIZE)
		return;		/* the reset after the request takes it back */
	free(p);
}

/* One iteration page being collected: each entry owns its key and value. */
struct iter_page {
	Kv__Entry	**ents;
	size_t		 n;
	size_t		 cap;
	size_t		 bytes;
	int		 keys_only;
	int		 cut;		/* stopped on the byte budget */
	int		 nomem;
};

/* An entry and its bytes in one allocation. */
struct iter_entry {
	Kv__Entry	ent;
	uint8_t		data[];
};

struct dispatch *
dispatch_new(const struct dispatch_config *cfg)
{
	struct dispatch *d;

	if ((d = calloc(1, sizeof(*d))) == NULL)
		return (NULL);
	d->cfg = *cfg;
	d->alloc.alloc = arena_alloc;
	d->alloc.free = arena_free;
	d->alloc.allocator_data = d;
	return (d);
}

void
dispatch_free(struct dispatch *d)
{
	free(d);
}

static int
dispatch_send(struct frame_out *out, Kv__Response *resp)
{
	if (frame_out_encode(out, &resp->base) != 0) {
		log_warn("encoding a response of %zu bytes",
		    protobuf_c_message_get_packed_size(&resp->base));
		return (-1);
	}
	return (0);
}

/*
 * The most a Response of the common kinds packs to beyond the bytes of
 * its one string or bytes field: every field dispatch may set in them
 * (id, status, message, the result, and in the result one bytes field and
 * a seq) at its longest.  A varint takes at most 10 bytes (an enum too,
 * when negative), a tag 1 (field numbers below 16) and a length prefix at
 * most 5: 6 fields times 16 bytes is more than enough.  (The compact
 * result's tag takes 2 bytes, but its response has 4 fields at most.)
 */
#define RESPONSE_FIXED_MAX	96

/*
 * dispatch_send() for a response that packs to at most RESPONSE_FIXED_MAX
 * + extra bytes, extra being the length of its one string or bytes field:
 * packed without being sized first.
 */
static int
dispatch_send_small(struct frame_out *out, Kv__Response *resp, size_t extra)
{
	if (frame_out_encode_max(out, &resp->base,
	    RESPONSE_FIXED_MAX + extra) != 0) {
		log_warn("encoding a response of %zu bytes",
		    protobuf_c_message_get_packed_size(&resp->base));
		return (-1);
	}
	return (0);
}

/* An error response: status, id and the message in d->msg. */
static int
dispatch_fail(struct dispatch *d, struct frame_out *out, uint64_t id,
    Kv__Status status)
{
	Kv__Response resp = KV__RESPONSE__INIT;

	resp.id = id;
	resp.status = status;
	resp.message = d->msg;
	return (dispatch_send_small(out, &resp, strlen(d->msg)));
}

int
dispatch_too_large(struct dispatch *d, struct frame_out *out,
    uint64_t announced, uint32_t max_frame)
{
	snprintf(d->msg, sizeof(d->msg),
	    "frame of %llu bytes exceeds max-frame %lu",
	    (unsigned long long)announced, (unsigned long)max_frame);
	return (dispatch_fail(d, out, 0, KV__STATUS__TOO_LARGE));
}

int
dispatch_unavailable(struct dispatch *d, struct frame_out *out, uint64_t id,
    const char *why)
{
	snprintf(d->msg, sizeof(d->msg), "%s", why);
	return (dispatch_fail(d, out, id, KV__STATUS__UNAVAILABLE));
}

/*
 * Map an engine error onto a status and message.  Writes that fail for a
 * storage reason get UNAVAILABLE (the client may try another server or
 * later); a read that fails is the server's fault, INTERNAL.
 */
static Kv__Status
dispatch_engine_error(struct dispatch *d, int rc, const char *op, int write)
{
	const char *why;

	switch (rc) {
	case ENGINE_ENOTFOUND:
		snprintf(d->msg, sizeof(d->msg), "no such key");
		return (KV__STATUS__NOT_FOUND);
	case ENGINE_EINVAL:
		snprintf(d->msg, sizeof(d->msg), "%s: invalid argument", op);
		return (KV__STATUS__INVALID_ARGUMENT);
	case ENGINE_ETOOLARGE:
		snprintf(d->msg, sizeof(d->msg), "%s: key or value too large",
		    op);
		return (KV__STATUS__TOO_LARGE);
	case ENGINE_EREADONLY:
		why = engine_readonly_reason(d->cfg.engine);
		snprintf(d->msg, sizeof(d->msg), "writes refused: %s",
		    why != NULL ? why : "storage is read-only");
		return (KV__STATUS__UNAVAILABLE);
	case ENGINE_ECORRUPT:
		snprintf(d->msg, sizeof(d->msg),
		    "%s: stored data failed its checksum", op);
		log_error("%s: %s", op, engine_strerror(rc));
		return (KV__STATUS__INTERNAL);
	default:
		snprintf(d->msg, sizeof(d->msg), "%s: %s", op,
		    engine_strerror(rc));
		log_error("%s: %s", op, engine_strerror(rc));
		return (write ? KV__STATUS__UNAVAILABLE : KV__STATUS__INTERNAL);
	}
}

/* Check a key against the limits; 0 if fine, else the status to send. */
static Kv__Status
dispatch_check_key(struct dispatch *d, const ProtobufCBinaryData *key)
{
	if (key->len == 0) {
		snprintf(d->msg, sizeof(d->msg), "key is empty");
		return (KV__STATUS__INVALID_ARGUMENT);
	}
	if (key->len > d->cfg.max_key) {
		snprintf(d->msg, sizeof(d->msg),
		    "key of %zu bytes exceeds max-key %lu", key->len,
		    (unsigned long)d->cfg.max_key);
		return (KV__STATUS__TOO_LARGE);
	}
	return (KV__STATUS__OK);
}

static ALWAYS_INLINE int
dispatch_put(struct dispatch *d, const Kv__Request *req,
    struct frame_out *out, struct dispatch_reply *r)
{
	Kv__Response resp = KV__RESPONSE__INIT;
	Kv__PutResponse put = KV__PUT_RESPONSE__INIT;
	const Kv__PutRequest *p = req->put;
	Kv__Status st;
	uint64_t seq = 0;
	int rc;

	if ((st = dispatch_check_key(d, &p->key)) != KV__STATUS__OK)
		goto fail;
	if (p->value.len > d->cfg.max_value) {
		snprintf(d->msg, sizeof(d->msg),
		    "value of %zu bytes exceeds max-value %lu", p->value.len,
		    (unsigned long)d->cfg.max_value);
		st = KV__STATUS__TOO_LARGE;
		goto fail;
	}
	rc = engine_put(d->cfg.engine, p->key.data, p->key.len,
	    p->value.data, p->value.len, &seq);
	if (rc != ENGINE_OK) {
		st = dispatch_engine_error(d, rc, "put", 1);
		goto fail;
	}
	stats_op(d->cfg.stats, STATS_OP_PUT, 0);
	r->wait_seq = seq;
	put.seq = seq;
	resp.id = req->id;
	resp.result_case = KV__RESPONSE__RESULT_PUT;
	resp.put = &put;
	return (dispatch_send_small(out, &resp, 0));
fail:
	stats_op(d->cfg.stats, STATS_OP_PUT, 1);
	return (dispatch_fail(d, out, req->id, st));
}

/*
 * Answer a get.  With looked NULL it is looked up now; else looked holds
 * the result of engine_get_many() for it (its key ignored when the limits
 * refuse it).
 */
static ALWAYS_INLINE int
dispatch_get(struct dispatch *d, const Kv__Request *req,
    const struct engine_read *looked, struct frame_out *out,
    struct dispatch_reply *r)
{
	Kv__Response resp = KV__RESPONSE__INIT;
	Kv__GetResponse get = KV__GET_RESPONSE__INIT;
	const Kv__GetRequest *g = req->get;
	Kv__Status st;
	const void *value = NULL;
	size_t vlen = 0;
	uint64_t seq = 0;
	int rc;

	if ((st = dispatch_check_key(d, &g->key)) != KV__STATUS__OK) {
		stats_op(d->cfg.stats, STATS_OP_GET, 1);
		return (dispatch_fail(d, out, req->id, st));
	}
	if (looked == NULL)
		rc = engine_get_ref(d->cfg.engine, g->key.data, g->key.len,
		    &value, &vlen, &seq);
	else {
		rc = looked->rc;
		value = looked->value;
		vlen = looked->vlen;
		seq = looked->seq;
	}
	if (rc == ENGINE_ENOTFOUND) {
		/* Absence can be as fresh as a tombstone not yet synced. */
		r->wait_seq = seq;
		stats_op(d->cfg.stats, STATS_OP_GET, 0);
		snprintf(d->msg, sizeof(d->msg), "no such key");
		return (dispatch_fail(d, out, req->id, KV__STATUS__NOT_FOUND));
	}
	if (rc != ENGINE_OK) {
		stats_op(d->cfg.stats, STATS_OP_GET, 1);
		st = dispatch_engine_error(d, rc, "get", 0);
		return (dispatch_fail(d, out, req->id, st));
	}
	stats_op(d->cfg.stats, STATS_OP_GET, 0);
	r->wait_seq = seq;
	/* Packed straight from the engine's verified copy: no malloc, no memcpy. */
	get.value.data = (uint8_t *)(uintptr_t)value;	/* only read while packing */
	get.value.len = vlen;
	get.seq = seq;
	resp.id = req->id;
	resp.result_case = KV__RESPONSE__RESULT_GET;
	resp.get = &get;
	return (dispatch_send_small(out, &resp, vlen));
}

static ALWAYS_INLINE int
dispatch_delete(struct dispatch *d, const Kv__Request *req,
    struct frame_out *out, struct dispatch_reply *r)
{
	Kv__Response resp = KV__RESPONSE__INIT;
	Kv__DeleteResponse del = KV__DELETE_RESPONSE__INIT;
	const Kv__DeleteRequest *dr = req->delete_;
	Kv__Status st;
	uint64_t seq = 0;
	int rc;

	if ((st = dispatch_check_key(d, &dr->key)) != KV__STATUS__OK) {
		stats_op(d->cfg.stats, STATS_OP_DELETE, 1);
		return (dispatch_fail(d, out, req->id, st));
	}
	rc = engine_delete(d->cfg.engine, dr->key.data, dr->key.len, &seq);
	if (rc == ENGINE_ENOTFOUND) {
		/* "Not found" may rest on another client's delete not yet durable. */
		r->wait_seq = seq;
		stats_op(d->cfg.stats, STATS_OP_DELETE, 0);
		snprintf(d->msg, sizeof(d->msg), "no such key");
		return (dispatch_fail(d, out, req->id, KV__STATUS__NOT_FOUND));
	}
	if (rc != ENGINE_OK) {
		stats_op(d->cfg.stats, STATS_OP_DELETE, 1);
		st = dispatch_engine_error(d, rc, "delete", 1);
		return (dispatch_fail(d, out, req->id, st));
	}
	stats_op(d->cfg.stats, STATS_OP_DELETE, 0);
	r->wait_seq = seq;
	del.seq = seq;
	resp.id = req->id;
	resp.result_case = KV__RESPONSE__RESULT_DELETE;
	resp.delete_ = &del;
	return (dispatch_send_small(out, &resp, 0));
}

static int
iter_collect(void *arg, const struct engine_entry *ent)
{
	struct iter_page *pg = arg;
	struct iter_entry *ie;
	Kv__Entry **grown;
	size_t vlen = pg->keys_only ? 0 : ent->vlen;
	size_t cap;

	if (pg->n == pg->cap) {
		cap = pg->cap == 0 ? 64 : pg->cap * 2;
		if ((grown = realloc(pg->ents, cap * sizeof(*grown))) == NULL) {
			pg->nomem = 1;
			return (1);
		}
		pg->ents = grown;
		pg->cap = cap;
	}
	if ((ie = malloc(sizeof(*ie) + ent->klen + vlen)) == NULL) {
		pg->nomem = 1;
		return (1);
	}
	kv__entry__init(&ie->ent);
	memcpy(ie->data, ent->key, ent->klen);
	if (vlen > 0)
		memcpy(ie->data + ent->klen, ent->value, vlen);
	ie->ent.key.data = ie->data;
	ie->ent.key.len = ent->klen;
	ie->ent.value.data = vlen > 0 ? ie->data + ent->klen : NULL;
	ie->ent.value.len = vlen;
	pg->ents[pg->n++] = &ie->ent;
	pg->bytes += ent->klen + vlen;
	/* The page always holds at least this entry; stop past the budget. */
	if (pg->bytes > DISPATCH_ITER_BYTES) {
		pg->cut = 1;
		return (1);
	}
	return (0);
}

static int
dispatch_iter(struct dispatch *d, const Kv__Request *req,
    struct frame_out *out, struct dispatch_reply *r)
{
	Kv__Response resp = KV__RESPONSE__INIT;
	Kv__IterResponse it = KV__ITER_RESPONSE__INIT;
	const Kv__IterRequest *ir = req->iter;
	struct iter_page pg;
	Kv__Status st;
	size_t limit, i;
	uint64_t seq = 0;
	int rc, more = 0, ret;

	memset(&pg, 0, sizeof(pg));
	pg.keys_only = ir->keys_only;
	limit = ir->limit == 0 ? DISPATCH_ITER_DEFAULT : ir->limit;
	if (limit > DISPATCH_ITER_MAX)
		limit = DISPATCH_ITER_MAX;
	rc = engine_iter(d->cfg.engine, ir->start.data, ir->start.len,
	    ir->start_exclusive, ir->end.data, ir->end.len, ir->prefix.data,
	    ir->prefix.len, limit, ir->keys_only, iter_collect, &pg, &more,
	    &seq);
	if (pg.nomem) {
		snprintf(d->msg, sizeof(d->msg), "iter: out of memory");
		st = KV__STATUS__INTERNAL;
		goto fail;
	}
	if (rc != ENGINE_OK) {
		st = dispatch_engine_error(d, rc, "iter", 0);
		goto fail;
	}
	stats_op(d->cfg.stats, STATS_OP_ITER, 0);
	r->wait_seq = seq;
	it.n_entries = pg.n;
	it.entries = pg.ents;
	it.more = more || pg.cut;
	resp.id = req->id;
	resp.result_case = KV__RESPONSE__RESULT_ITER;
	resp.iter = &it;
	ret = dispatch_send(out, &resp);
	goto out;
fail:
	stats_op(d->cfg.stats, STATS_OP_ITER, 1);
	ret = dispatch_fail(d, out, req->id, st);
out:
	for (i = 0; i < pg.n; i++)
		free(pg.ents[i]);	/* the entry heads its iter_entry */
	free(pg.ents);
	return (ret);
}

static int
dispatch_ping(struct dispatch *d, const Kv__Request *req,
    struct frame_out *out)
{
	Kv__Response resp = KV__RESPONSE__INIT;
	Kv__PingResponse ping = KV__PING_RESPONSE__INIT;

	stats_op(d->cfg.stats, STATS_OP_PING, 0);
	ping.payload = req->ping->payload;
	resp.id = req->id;
	resp.result_case = KV__RESPONSE__RESULT_PING;
	resp.ping = &ping;
	return (dispatch_send_small(out, &resp, ping.payload.len));
}

/* Stats collected into a growing array of Kv__Stat. */
struct stats_list {
	Kv__Stat	*items;
	Kv__Stat	**ptrs;
	size_t		 n;
	size_t		 cap;
	int		 nomem;
};

static void
stats_collect(void *arg, const struct stats_item *item)
{
	struct stats_list *l = arg;
	Kv__Stat *items;
	size_t cap;

	if (l->nomem)
		return;
	if (l->n == l->cap) {
		cap = l->cap == 0 ? 64 : l->cap * 2;
		if ((items = realloc(l->items, cap * sizeof(*items))) == NULL) {
			l->nomem = 1;
			return;
		}
		l->items = items;
		l->cap = cap;
	}
	kv__stat__init(&l->items[l->n]);
	/* protobuf-c only reads the string while packing. */
	l->items[l->n].name = (char *)(uintptr_t)item->name;
	l->items[l->n].value = item->value;
	l->n++;
}

static int
dispatch_stats(struct dispatch *d, const Kv__Request *req,
    struct frame_out *out)
{
	Kv__Response resp = KV__RESPONSE__INIT;
	Kv__StatsResponse sr = KV__STATS_RESPONSE__INIT;
	struct stats_list l;
	size_t i;
	int ret;

	memset(&l, 0, sizeof(l));
	/* Count this request first, so that it sees itself. */
	stats_op(d->cfg.stats, STATS_OP_STATS, 0);
	stats_foreach(d->cfg.stats, d->cfg.engine, stats_collect, &l);
	if (!l.nomem && (l.ptrs = calloc(l.n + 1, sizeof(*l.ptrs))) == NULL)
		l.nomem = 1;
	if (l.nomem) {
		free(l.items);
		snprintf(d->msg, sizeof(d->msg), "stats: out of memory");
		return (dispatch_fail(d, out, req->id, KV__STATUS__INTERNAL));
	}
	for (i = 0; i < l.n; i++)
		l.ptrs[i] = &l.items[i];
	sr.n_stats = l.n;
	sr.stats = l.ptrs;
	resp.id = req->id;
	resp.result_case = KV__RESPONSE__RESULT_STATS;
	resp.stats = &sr;
	ret = dispatch_send(out, &resp);
	free(l.ptrs);
	free(l.items);
	return (ret);
}

/*
 * Start a compaction.  The reply goes at once: it reports that the run
 * was scheduled, not that it finished (the stats say when), and it
 * depends on no write, so nothing holds it.
 */
static int
dispatch_compact(struct dispatch *d, const Kv__Request *req,
    struct frame_out *out)
{
	Kv__Response resp = KV__RESPONSE__INIT;
	Kv__CompactResponse cr = KV__COMPACT_RESPONSE__INIT;
	struct engine_stats es;
	Kv__Status st;
	int rc;

	/* Compaction rewrites files: refused, as writes are, when read-only. */
	if ((rc = engine_compact(d->cfg.engine)) != ENGINE_OK) {
		stats_op(d->cfg.stats, STATS_OP_COMPACT, 1);
		st = dispatch_engine_error(d, rc, "compact", 1);
		return (dispatch_fail(d, out, req->id, st));
	}
	stats_op(d->cfg.stats, STATS_OP_COMPACT, 0);
	engine_stats(d->cfg.engine, &es);
	cr.pending = es.compact_pending != 0;
	resp.id = req->id;
	resp.result_case = KV__RESPONSE__RESULT_COMPACT;
	resp.compact = &cr;
	return (dispatch_send_small(out, &resp, 0));
}

/*
 * Answer req, the Request unpacked from a frame of len bytes (NULL: it did
 * not parse).  r is filled in; the request is not freed.
 */
static ALWAYS_INLINE int
dispatch_one(struct dispatch *d, const Kv__Request *req, size_t len,
    struct frame_out *out, struct dispatch_reply *r)
{
	memset(r, 0, sizeof(*r));
	if (req == NULL) {
		stats_add(d->cfg.stats, STATS_FRAMES_MALFORMED, 1);
		r->close = 1;
		snprintf(d->msg, sizeof(d->msg),
		    "frame of %zu bytes does not parse as a Request", len);
		return (dispatch_fail(d, out, 0, KV__STATUS__INVALID_ARGUMENT));
	}
	r->id = req->id;
	switch (req->op_case) {
	case KV__REQUEST__OP_PUT:
		return (dispatch_put(d, req, out, r));
	case KV__REQUEST__OP_GET:
		return (dispatch_get(d, req, NULL, out, r));
	case KV__REQUEST__OP_DELETE:
		return (dispatch_delete(d, req, out, r));
	case KV__REQUEST__OP_ITER:
		return (dispatch_iter(d, req, out, r));
	case KV__REQUEST__OP_PING:
		return (dispatch_ping(d, req, out));
	case KV__REQUEST__OP_STATS:
		return (dispatch_stats(d, req, out));
	case KV__REQUEST__OP_COMPACT:
		return (dispatch_compact(d, req, out));
	default:
		/* Also what a newer client's unknown operation looks like. */
		stats_op(d->cfg.stats, STATS_OP_NONE, 1);
		snprintf(d->msg, sizeof(d->msg),
		    "request has no operation this server knows");
		return (dispatch_fail(d, out, req->id,
		    KV__STATUS__INVALID_ARGUMENT));
	}
}

/* Free the n requests unpacked (NULL for those that did not parse). */
static void
dispatch_release(struct dispatch *d, Kv__Request *const *req, size_t n)
{
	size_t i;

	if (d->arena_spilled > 0)
		for (i = 0; i < n; i++)
			if (req[i] != NULL)
				kv__request__free_unpacked(req[i], &d->alloc);
	d->arena_used = d->arena_spilled = 0;
}

int
dispatch_request(struct dispatch *d, const uint8_t *payload, size_t len,
    struct frame_out *out, struct dispatch_reply *r)
{
	Kv__Request *req;
	int ret;

	req = kv__request__unpack(&d->alloc, len, payload);
	ret = dispatch_one(d, req, len, out, r);
	/* Only pieces that spilled to malloc need the walk that frees them. */
	if (d->arena_spilled > 0 && req != NULL)
		kv__request__free_unpacked(req, &d->alloc);
	d->arena_used = d->arena_spilled = 0;
	return (ret);
}

/*
 * Answer the run of m gets in req and hand each reply to cb: two or more
 * looked up together (their keys set up in rd), a lone one as usual.
 * Sets *answered.  Returns 0 to go on, 1 when cb asked to stop, or -1
 * when a response could not be encoded.
 */
static int
dispatch_run(struct dispatch *d, Kv__Request *const *req,
    struct engine_read *rd, size_t m, struct frame_out *out,
    dispatch_reply_cb cb, void *arg, size_t *answered)
{
	struct dispatch_reply r;
	size_t j, before;
	int stop = 0;

	if (m > 1)
		(void)engine_get_many(d->cfg.engine, rd, m);
	for (j = 0; j < m && !stop; j++) {
		before = frame_out_len(out);
		memset(&r, 0, sizeof(r));
		r.id = req[j]->id;
		if (dispatch_get(d, req[j], m > 1 ? &rd[j] : NULL, out,
		    &r) != 0) {
			*answered = j;
			return (-1);
		}
		stop = cb(arg, &r, before, frame_out_len(out) - before) != 0;
	}
	*answered = j;
	if (m > 1)
		stats_add(d->cfg.stats, STATS_GETS_BATCHED, (int64_t)j);
	return (stop);
}

int
dispatch_requests(struct dispatch *d, const struct dispatch_frame *f,
    size_t n, struct frame_out *out, dispatch_reply_cb cb, void *arg)
{
	Kv__Request *req[DISPATCH_BATCH_MAX];
	struct engine_read rd[DISPATCH_BATCH_MAX];
	struct dispatch_reply r;
	const ProtobufCBinaryData *key;
	size_t i, k, done = 0, nreq = 0, before;
	int stop = 0;

	if (n > DISPATCH_BATCH_MAX)
		n = DISPATCH_BATCH_MAX;
	/*
	 * Gets are looked up when the run they belong to ends, at the next
	 * request that is not a get (answered after them) or after the last
	 * frame, so every request still takes effect in order.
	 */
	for (i = 0; i < n; i++) {
		req[i] = kv__request__unpack(&d->alloc, f[i].len, f[i].data);
		nreq = i + 1;
		if (req[i] != NULL && req[i]->op_case == KV__REQUEST__OP_GET) {
			/* A key over the limits is refused, not looked up. */
			key = &req[i]->get->key;
			rd[i].key = key->data;
			rd[i].klen = key->len <= d->cfg.max_key ? key->len : 0;
			continue;
		}
		if (i > done) {
			stop = dispatch_run(d, req + done, rd + done, i - done,
			    out, cb, arg, &k);
			done += k;
			if (stop != 0)
				break;
		}
		before = frame_out_len(out);
		if (dispatch_one(d, req[i], f[i].len, out, &r) != 0) {
			stop = -1;
			break;
		}
		done++;
		if (cb(arg, &r, before, frame_out_len(out) - before) != 0) {
			stop = 1;
			break;
		}
	}
	if (stop == 0 && n > done) {
		stop = dispatch_run(d, req + done, rd + done, n - done, out, cb,
		    arg, &k);
		done += k;
	}
	dispatch_release(d, req, nreq);
	return (stop < 0 ? -1 : (int)done);
}
