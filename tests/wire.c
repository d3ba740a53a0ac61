/*
 * wire.c: the test client.  See wire.h.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <event2/buffer.h>

#include "frame.h"
#include "wire.h"

/* Responses may be large (a whole iteration page or a big value). */
#define WIRE_MAX_FRAME	(256u << 20)

struct wire {
	int		 fd;
	struct evbuffer	*in;
	struct evbuffer	*out;
	struct frame_decoder *dec;
};

struct wire *
wire_connect(uint16_t port)
{
	struct sockaddr_in sin;
	struct wire *w;
	int one = 1;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return (NULL);
	w->fd = -1;
	if ((w->in = evbuffer_new()) == NULL ||
	    (w->out = evbuffer_new()) == NULL ||
	    (w->dec = frame_decoder_new(WIRE_MAX_FRAME)) == NULL)
		goto fail;
	if ((w->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		goto fail;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(w->fd, (struct sockaddr *)&sin, sizeof(sin)) != 0)
		goto fail;
	(void)setsockopt(w->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return (w);
fail:
	wire_free(w);
	return (NULL);
}

void
wire_free(struct wire *w)
{
	int saved = errno;

	if (w == NULL)
		return;
	if (w->fd >= 0)
		close(w->fd);
	if (w->in != NULL)
		evbuffer_free(w->in);
	if (w->out != NULL)
		evbuffer_free(w->out);
	frame_decoder_free(w->dec);
	free(w);
	errno = saved;
}

int
wire_fd(const struct wire *w)
{
	return (w->fd);
}

int
wire_queue(struct wire *w, const Kv__Request *req)
{
	return (frame_encode(w->out, &req->base));
}

int
wire_queue_raw(struct wire *w, const void *payload, size_t len)
{
	return (frame_encode_raw(w->out, payload, len));
}

int
wire_send_raw(struct wire *w, const void *buf, size_t len)
{
	if (evbuffer_add(w->out, buf, len) != 0)
		return (-1);
	return (wire_flush(w));
}

int
wire_flush(struct wire *w)
{
	int n;

	while (evbuffer_get_length(w->out) > 0) {
		n = evbuffer_write(w->out, w->fd);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return (-1);
		}
	}
	return (0);
}

static long
wire_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* Try to cut one response out of the input.  1: got one, 0: need more, -1: bad. */
static int
wire_take(struct wire *w, Kv__Response **out)
{
	const uint8_t *data;
	size_t len;

	switch (frame_decode(w->dec, w->in, &data, &len)) {
	case FRAME_AGAIN:
		return (0);
	case FRAME_TOO_LARGE:
		errno = EMSGSIZE;
		return (-1);
	case FRAME_READY:
		break;
	}
	*out = kv__response__unpack(NULL, len, data);
	frame_consume(w->dec, w->in);
	if (*out == NULL) {
		errno = EBADMSG;
		return (-1);
	}
	return (1);
}

Kv__Response *
wire_recv(struct wire *w, int timeout_ms)
{
	Kv__Response *r = NULL;
	struct pollfd pfd;
	long deadline = wire_now_ms() + timeout_ms;
	int rc, n;

	for (;;) {
		if ((rc = wire_take(w, &r)) != 0)
			return (rc > 0 ? r : NULL);
		pfd.fd = w->fd;
		pfd.events = POLLIN;
		n = poll(&pfd, 1, (int)(deadline - wire_now_ms()));
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0 || deadline <= wire_now_ms()) {
			errno = ETIMEDOUT;
			return (NULL);
		}
		n = evbuffer_read(w->in, w->fd, 65536);
		if (n == 0) {
			errno = 0;
			return (NULL);
		}
		if (n < 0 && errno != EINTR && errno != EAGAIN)
			return (NULL);
	}
}

int
wire_exchange(struct wire *w, size_t nresp,
    int (*cb)(void *, Kv__Response *), void *arg, int timeout_ms)
{
	Kv__Response *r;
	struct pollfd pfd;
	long deadline = wire_now_ms() + timeout_ms;
	size_t got = 0;
	int n, rc;

	while (got < nresp) {
		while (got < nresp && (rc = wire_take(w, &r)) != 0) {
			if (rc < 0)
				return (-1);
			got++;
			rc = cb(arg, r);
			kv__response__free_unpacked(r, NULL);
			if (rc != 0)
				return (rc);
		}
		if (got == nresp)
			break;
		pfd.fd = w->fd;
		pfd.events = POLLIN |
		    (evbuffer_get_length(w->out) > 0 ? POLLOUT : 0);
		n = poll(&pfd, 1, (int)(deadline - wire_now_ms()));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || deadline <= wire_now_ms()) {
			errno = ETIMEDOUT;
			return (-1);
		}
		if (pfd.revents & POLLOUT) {
			/* Never block in a write: the server may be waiting for us to read. */
			n = evbuffer_write_atmost(w->out, w->fd, 65536);
			if (n < 0 && errno != EAGAIN && errno != EINTR)
				return (-1);
		}
		if (pfd.revents & (POLLIN | POLLERR | POLLHUP)) {
			n = evbuffer_read(w->in, w->fd, 65536);
			if (n == 0) {
				errno = 0;
				return (-1);
			}
			if (n < 0 && errno != EAGAIN && errno != EINTR)
				return (-1);
		}
	}
	return (wire_flush(w));
}

int
wire_wait_eof(struct wire *w, int timeout_ms)
{
	char buf[4096];
	struct pollfd pfd;
	long deadline = wire_now_ms() + timeout_ms;
	ssize_t n;

	for (;;) {
		pfd.fd = w->fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, (int)(deadline - wire_now_ms())) <= 0 &&
		    deadline <= wire_now_ms())
			return (0);
		n = read(w->fd, buf, sizeof(buf));
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return (1);
	}
}

int
wire_put(struct wire *w, uint64_t id, const void *key, size_t klen,
    const void *val, size_t vlen)
{
	Kv__Request req = KV__REQUEST__INIT;
	Kv__PutRequest put = KV__PUT_REQUEST__INIT;

	put.key.data = (uint8_t *)(uintptr_t)key;
	put.key.len = klen;
	put.value.data = (uint8_t *)(uintptr_t)val;
	put.value.len = vlen;
	req.id = id;
	req.op_case = KV__REQUEST__OP_PUT;
	req.put = &put;
	return (wire_queue(w, &req));
}

int
wire_get(struct wire *w, uint64_t id, const void *key, size_t klen)
{
	Kv__Request req = KV__REQUEST__INIT;
	Kv__GetRequest get = KV__GET_REQUEST__INIT;

	get.key.data = (uint8_t *)(uintptr_t)key;
	get.key.len = klen;
	req.id = id;
	req.op_case = KV__REQUEST__OP_GET;
	req.get = &get;
	return (wire_queue(w, &req));
}

int
wire_delete(struct wire *w, uint64_t id, const void *key, size_t klen)
{
	Kv__Request req = KV__REQUEST__INIT;
	Kv__DeleteRequest del = KV__DELETE_REQUEST__INIT;

	del.key.data = (uint8_t *)(uintptr_t)key;
	del.key.len = klen;
	req.id = id;
	req.op_case = KV__REQUEST__OP_DELETE;
	req.delete_ = &del;
	return (wire_queue(w, &req));
}

int
wire_ping(struct wire *w, uint64_t id, const void *payload, size_t len)
{
	Kv__Request req = KV__REQUEST__INIT;
	Kv__PingRequest ping = KV__PING_REQUEST__INIT;

	ping.payload.data = (uint8_t *)(uintptr_t)payload;
	ping.payload.len = len;
	req.id = id;
	req.op_case = KV__REQUEST__OP_PING;
	req.ping = &ping;
	return (wire_queue(w, &req));
}

int
wire_stats(struct wire *w, uint64_t id)
{
	Kv__Request req = KV__REQUEST__INIT;
	Kv__StatsRequest st = KV__STATS_REQUEST__INIT;

	req.id = id;
	req.op_case = KV__REQUEST__OP_STATS;
	req.stats = &st;
	return (wire_queue(w, &req));
}

int
wire_compact(struct wire *w, uint64_t id)
{
	Kv__Request req = KV__REQUEST__INIT;
	Kv__CompactRequest c = KV__COMPACT_REQUEST__INIT;

	req.id = id;
	req.op_case = KV__REQUEST__OP_COMPACT;
	req.compact = &c;
	return (wire_queue(w, &req));
}

int
wire_iter(struct wire *w, uint64_t id, const void *prefix, size_t plen,
    const void *start, size_t slen, int start_exclusive, uint32_t limit)
{
	Kv__Request req = KV__REQUEST__INIT;
	Kv__IterRequest it = KV__ITER_REQUEST__INIT;

	it.prefix.data = (uint8_t *)(uintptr_t)prefix;
	it.prefix.len = plen;
	it.start.data = (uint8_t *)(uintptr_t)start;
	it.start.len = slen;
	it.start_exclusive = start_exclusive;
	it.limit = limit;
	req.id = id;
	req.op_case = KV__REQUEST__OP_ITER;
	req.iter = &it;
	return (wire_queue(w, &req));
}

Kv__Response *
wire_call(struct wire *w)
{
	if (wire_flush(w) != 0)
		return (NULL);
	return (wire_recv(w, WIRE_TIMEOUT_MS));
}

int
wire_stat(const Kv__Response *resp, const char *name, uint64_t *value)
{
	size_t i;

	if (resp->result_case != KV__RESPONSE__RESULT_STATS)
		return (-1);
	for (i = 0; i < resp->stats->n_stats; i++)
		if (strcmp(resp->stats->stats[i]->name, name) == 0) {
			*value = resp->stats->stats[i]->value;
			return (0);
		}
	return (-1);
}
