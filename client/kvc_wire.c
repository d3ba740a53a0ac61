/*
 * kvc_wire.c: one connection's bytes.  Requests are packed straight into
 * the output evbuffer and leave in one sendmsg() per batch; responses are
 * read into the input evbuffer and checked before anyone trusts them.
 * See kvc.h.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "frame.h"
#include "kvc.h"

/* How many evbuffer chains one sendmsg() may gather. */
#define KVC_WIRE_IOV	64
/* Bytes asked of the kernel per read. */
#define KVC_WIRE_READ	(256 * 1024)

int
kvc_wire_init(struct kvc_wire *w, uint32_t max_response)
{
	w->fd = -1;
	w->max_response = max_response;
	w->next_id = 1;
	w->expect_id = 1;
	w->in = evbuffer_new();
	w->out = evbuffer_new();
	w->dec = frame_decoder_new(max_response);
	if (w->in == NULL || w->out == NULL || w->dec == NULL) {
		kvc_wire_free(w);
		return (KV_ERR_NOMEM);
	}
	return (KV_OK);
}

void
kvc_wire_close(struct kvc_wire *w)
{
	struct frame_decoder *d;

	if (w->fd != -1)
		(void)close(w->fd);
	w->fd = -1;
	if (w->in != NULL)
		(void)evbuffer_drain(w->in, evbuffer_get_length(w->in));
	if (w->out != NULL)
		(void)evbuffer_drain(w->out, evbuffer_get_length(w->out));
	/* A fresh decoder: the old one may be halfway through a frame. */
	if ((d = frame_decoder_new(w->max_response)) != NULL) {
		frame_decoder_free(w->dec);
		w->dec = d;
	}
	/* Ids start at 1, so that 0 never names one of ours. */
	w->next_id = 1;
	w->expect_id = 1;
}

void
kvc_wire_free(struct kvc_wire *w)
{
	if (w->fd != -1)
		(void)close(w->fd);
	w->fd = -1;
	if (w->in != NULL)
		evbuffer_free(w->in);
	if (w->out != NULL)
		evbuffer_free(w->out);
	frame_decoder_free(w->dec);
	w->in = NULL;
	w->out = NULL;
	w->dec = NULL;
}

/*
 * A request packs to at most this many bytes beyond its key, value and
 * ping payload: the id (tag and a 10-byte varint), the operation's tag (2
 * bytes for field 16) and length (10), and two bytes fields' tags and
 * lengths (11 each).
 */
#define REQUEST_OVERHEAD_MAX	64

static int
encode(struct kvc_wire *w, Kv__Request *req, size_t max, char *err)
{
	int r;

	req->id = w->next_id;
	/* A bound saves protobuf-c sizing every request before packing it. */
	if (max > 0 && max <= FRAME_LEN_MAX)
		r = frame_encode_max(w->out, &req->base, max);
	else
		r = frame_encode(w->out, &req->base);
	if (r != 0) {
		if (errno == EMSGSIZE) {
			kvc_errf(err, "request of %zu bytes does not fit in a frame",
			    protobuf_c_message_get_packed_size(&req->base));
			return (KV_ERR_ARG);
		}
		kvc_errf(err, "out of memory for a request");
		return (KV_ERR_NOMEM);
	}
	w->next_id++;
	return (KV_OK);
}

int
kvc_wire_encode(struct kvc_wire *w, Kv__Request *req, char *err)
{
	return (encode(w, req, 0, err));
}

int
kvc_wire_encode_op(struct kvc_wire *w, enum kvc_op op, const void *key,
    size_t keylen, const void *val, size_t vallen, char *err)
{
	Kv__Request req = KV__REQUEST__INIT;
	Kv__PutRequest put = KV__PUT_REQUEST__INIT;
	Kv__GetRequest get = KV__GET_REQUEST__INIT;
	Kv__DeleteRequest del = KV__DELETE_REQUEST__INIT;
	Kv__PingRequest ping = KV__PING_REQUEST__INIT;
	Kv__StatsRequest stats = KV__STATS_REQUEST__INIT;
	Kv__CompactRequest compact = KV__COMPACT_REQUEST__INIT;
	ProtobufCBinaryData k = { keylen, (uint8_t *)(uintptr_t)key };

	switch (op) {
	case KVC_OP_PUT:
		put.key = k;
		put.value.len = vallen;
		put.value.data = (uint8_t *)(uintptr_t)val;
		req.op_case = KV__REQUEST__OP_PUT;
		req.put = &put;
		break;
	case KVC_OP_GET:
		get.key = k;
		req.op_case = KV__REQUEST__OP_GET;
		req.get = &get;
		break;
	case KVC_OP_DELETE:
		del.key = k;
		req.op_case = KV__REQUEST__OP_DELETE;
		req.delete_ = &del;
		break;
	case KVC_OP_PING:
		ping.payload.len = sizeof(kvc_ping_payload);
		ping.payload.data = (uint8_t *)(uintptr_t)kvc_ping_payload;
		req.op_case = KV__REQUEST__OP_PING;
		req.ping = &ping;
		break;
	case KVC_OP_STATS:
		req.op_case = KV__REQUEST__OP_STATS;
		req.stats = &stats;
		break;
	case KVC_OP_COMPACT:
		req.op_case = KV__REQUEST__OP_COMPACT;
		req.compact = &compact;
		break;
	default:
		kvc_errf(err, "internal error: cannot encode operation %d", (int)op);
		return (KV_ERR_ARG);
	}
	if (keylen > FRAME_LEN_MAX || vallen > FRAME_LEN_MAX)
		return (encode(w, &req, 0, err));	/* too large: says so */
	return (encode(w, &req, REQUEST_OVERHEAD_MAX + sizeof(kvc_ping_payload) +
	    keylen + vallen, err));
}

int
kvc_wire_encode_iter(struct kvc_wire *w, const struct kv_range *rg,
    char *err)
{
	Kv__Request req = KV__REQUEST__INIT;
	Kv__IterRequest ir = KV__ITER_REQUEST__INIT;

	if (rg != NULL) {
		ir.start.data = rg->start;
		ir.start.len = rg->startlen;
		ir.end.data = rg->end;
		ir.end.len = rg->endlen;
		ir.prefix.data = rg->prefix;
		ir.prefix.len = rg->prefixlen;
		ir.limit = rg->limit;
		ir.start_exclusive = rg->start_exclusive != 0;
		ir.keys_only = rg->keys_only != 0;
	}
	req.op_case = KV__REQUEST__OP_ITER;
	req.iter = &ir;
	return (kvc_wire_encode(w, &req, err));
}

int
kvc_wire_flush(struct kvc_wire *w, char *err)
{
	struct evbuffer_iovec v[KVC_WIRE_IOV];
	struct iovec iov[KVC_WIRE_IOV];
	struct msghdr mh;
	ssize_t n;
	int i, nv;

	while (evbuffer_get_length(w->out) > 0) {
		nv = evbuffer_peek(w->out, -1, NULL, v, KVC_WIRE_IOV);
		if (nv > KVC_WIRE_IOV)
			nv = KVC_WIRE_IOV;
		for (i = 0; i < nv; i++) {
			iov[i].iov_base = v[i].iov_base;
			iov[i].iov_len = v[i].iov_len;
		}
		memset(&mh, 0, sizeof(mh));
		mh.msg_iov = iov;
		mh.msg_iovlen = (size_t)nv;
		/* MSG_NOSIGNAL: a closed peer must not kill the application. */
		n = sendmsg(w->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return (0);
			kvc_errf(err, "send: %s", strerror(errno));
			return (KV_ERR_IO);
		}
		(void)evbuffer_drain(w->out, (size_t)n);
	}
	return (1);
}

int
kvc_wire_fill(struct kvc_wire *w, char *err)
{
	struct evbuffer_iovec v[2];
	struct iovec iov[2];
	struct msghdr mh;
	ssize_t n;
	int i, nv;

	nv = evbuffer_reserve_space(w->in, KVC_WIRE_READ, v, 2);
	if (nv <= 0) {
		kvc_errf(err, "out of memory for the server's response");
		return (KV_ERR_IO);
	}
	for (i = 0; i < nv; i++) {
		iov[i].iov_base = v[i].iov_base;
		iov[i].iov_len = v[i].iov_len;
	}
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = iov;
	mh.msg_iovlen = (size_t)nv;
	do
		n = recvmsg(w->fd, &mh, MSG_DONTWAIT);
	while (n == -1 && errno == EINTR);
	if (n == -1) {
		for (i = 0; i < nv; i++)
			v[i].iov_len = 0;
		(void)evbuffer_commit_space(w->in, v, 0);
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return (0);
		kvc_errf(err, "receive: %s", strerror(errno));
		return (KV_ERR_IO);
	}
	if (n == 0) {
		(void)evbuffer_commit_space(w->in, v, 0);
		kvc_errf(err, "the server closed the connection");
		return (KV_ERR_IO);
	}
	/* Say how much of each reserved extent the kernel filled. */
	for (i = 0; i < nv; i++) {
		if ((size_t)n < v[i].iov_len)
			v[i].iov_len = (size_t)n;
		n -= (ssize_t)v[i].iov_len;
	}
	if (evbuffer_commit_space(w->in, v, nv) != 0) {
		kvc_errf(err, "out of memory for the server's response");
		return (KV_ERR_IO);
	}
	return (1);
}

/* memcmp order, a proper prefix first: the server's key order. */
static int
kvc_keycmp(const ProtobufCBinaryData *a, const ProtobufCBinaryData *b)
{
	size_t n = a->len < b->len ? a->len : b->len;
	int r;

	if (n > 0 && (r = memcmp(a->data, b->data, n)) != 0)
		return (r);
	return (a->len < b->len ? -1 : a->len > b->len ? 1 : 0);
}

/*
 * Is an OK page one a caller can walk and continue from?  Keys out of
 * order would make a continuing scan repeat or skip keys, and an empty page
 * that says "more" would make it ask for the same page for ever.
 */
static int
kvc_wire_page_ok(const Kv__IterResponse *ip, char *err)
{
	size_t i;

	if (ip->more && ip->n_entries == 0) {
		kvc_errf(err, "the server sent an empty page that says more "
		    "entries follow");
		return (0);
	}
	for (i = 0; i < ip->n_entries; i++) {
		if (ip->entries[i]->key.len == 0) {
			kvc_errf(err, "the server sent an empty key in entry "
			    "%zu of a page", i);
			return (0);
		}
		if (i > 0 && kvc_keycmp(&ip->entries[i - 1]->key,
		    &ip->entries[i]->key) >= 0) {
			kvc_errf(err, "the server sent keys out of order in "
			    "entries %zu and %zu of a page", i - 1, i);
			return (0);
		}
	}
	return (1);
}

static const char *
kvc_op_name(enum kvc_op op)
{
	switch (op) {
	case KVC_OP_PUT:	return ("put");
	case KVC_OP_GET:	return ("get");
	case KVC_OP_DELETE:	return ("delete");
	case KVC_OP_ITER:	return ("iter");
	case KVC_OP_PING:	return ("ping");
	case KVC_OP_STATS:	return ("stats");
	case KVC_OP_COMPACT:	return ("compact");
	}
	return ("?");
}

/* Which result an OK answer to op must carry, and whether it may be left out. */
static int
kvc_wire_result_ok(enum kvc_op op, Kv__Response__ResultCase rc)
{
	switch (op) {
	case KVC_OP_PUT:
		return (rc == KV__RESPONSE__RESULT_PUT ||
		    rc == KV__RESPONSE__RESULT__NOT_SET);
	case KVC_OP_DELETE:
		return (rc == KV__RESPONSE__RESULT_DELETE ||
		    rc == KV__RESPONSE__RESULT__NOT_SET);
	case KVC_OP_STATS:
		return (rc == KV__RESPONSE__RESULT_STATS ||
		    rc == KV__RESPONSE__RESULT__NOT_SET);
	case KVC_OP_COMPACT:
		return (rc == KV__RESPONSE__RESULT_COMPACT ||
		    rc == KV__RESPONSE__RESULT__NOT_SET);
	/* A value or a page cannot be told apart from nothing: require it. */
	case KVC_OP_GET:
		return (rc == KV__RESPONSE__RESULT_GET);
	case KVC_OP_ITER:
		return (rc == KV__RESPONSE__RESULT_ITER);
	case KVC_OP_PING:
		return (rc == KV__RESPONSE__RESULT_PING);
	}
	return (0);
}

int
kvc_wire_decode(struct kvc_wire *w, enum kvc_op op,
    ProtobufCAllocator *alloc, struct kv_reply *r, char *err)
{
	const uint8_t *data;
	size_t len;
	Kv__Response *resp;
	int status;

	switch (frame_decode(w->dec, w->in, &data, &len)) {
	case FRAME_AGAIN:
		return (0);
	case FRAME_TOO_LARGE:
		kvc_errf(err, "the server announced a response of %llu bytes, "
		    "over the client's limit of %lu",
		    (unsigned long long)frame_rejected_len(w->dec),
		    (unsigned long)w->max_response);
		return (KV_ERR_PROTOCOL);
	case FRAME_READY:
		break;
	}
	resp = kv__response__unpack(alloc, len, data);
	frame_consume(w->dec, w->in);
	if (resp == NULL) {
		/* protobuf-c says NULL for both; a short frame cannot be ENOMEM. */
		kvc_errf(err, "the server's response (%zu bytes) does not parse "
		    "as a Response", len);
		return (KV_ERR_PROTOCOL);
	}
	status = (int)resp->status;
	/*
	 * The server answers in order, so the id must be the one due.  Id 0 is
	 * how it answers a request it could not read (an oversized frame, or
	 * a connection it refuses): an error in that request's place.
	 */
	if (resp->id != w->expect_id && !(resp->id == 0 && status != KV_OK)) {
		kvc_errf(err, "the server answered request %llu when %llu was due",
		    (unsigned long long)resp->id,
		    (unsigned long long)w->expect_id);
		kv__response__free_unpacked(resp, alloc);
		return (KV_ERR_PROTOCOL);
	}
	if (status == KV_OK && !kvc_wire_result_ok(op, resp->result_case)) {
		kvc_errf(err, "the server's OK answer to a %s carries the wrong "
		    "result (case %d)", kvc_op_name(op), (int)resp->result_case);
		kv__response__free_unpacked(resp, alloc);
		return (KV_ERR_PROTOCOL);
	}
	if (status == KV_OK && op == KVC_OP_PING &&
	    (resp->ping->payload.len != sizeof(kvc_ping_payload) ||
	    memcmp(resp->ping->payload.data, kvc_ping_payload,
	    sizeof(kvc_ping_payload)) != 0)) {
		kvc_errf(err, "the server's ping answer does not echo the payload");
		kv__response__free_unpacked(resp, alloc);
		return (KV_ERR_PROTOCOL);
	}
	if (status == KV_OK && op == KVC_OP_ITER &&
	    !kvc_wire_page_ok(resp->iter, err)) {
		kv__response__free_unpacked(resp, alloc);
		return (KV_ERR_PROTOCOL);
	}
	w->expect_id++;

	kvc_reply_clear(r);
	r->resp = resp;
	r->alloc = alloc;
	if (!kvc_status_known(status)) {
		r->status = KV_ERR_STATUS;
		kvc_errf(r->msgbuf, "unknown status %d from the server: %s",
		    status, resp->message != NULL ? resp->message : "");
		r->message = r->msgbuf;
		return (1);
	}
	r->status = status;
	r->message = resp->message != NULL ? resp->message : "";
	if (status == KV_OK && op == KVC_OP_STATS &&
	    resp->result_case == KV__RESPONSE__RESULT_STATS)
		r->stats.st = resp->stats;
	else if (status == KV_OK && op == KVC_OP_STATS)
		r->stats.st = &kvc_no_stats;
	return (1);
}
