/*
 * kvc.h: the inside of libkvclient, shared by its synchronous (sync.c) and
 * asynchronous (async.c) halves.  Nothing here is installed or exported:
 * the library exports only the kv_* symbols of kvclient.h.
 *
 * kvc_net_*    endpoint parsing, name resolution, non-blocking connect
 * kvc_arena_*  a bump allocator for protobuf-c, reset after each reply, so
 *              pipelined and asynchronous replies cost no malloc in the
 *              steady state
 * kvc_wire_*   one connection's bytes: the socket, the input and output
 *              evbuffers, request encoding and response checking
 */
#ifndef KVC_H
#define KVC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <protobuf-c/protobuf-c.h>

#include "kvclient.h"
#include "proto/kv.pb-c.h"

struct addrinfo;
struct evbuffer;
struct frame_decoder;

/* Room for one error line; longer server messages are cut. */
#define KVC_ERRMSG_MAX		512

#define KVC_DEFAULT_HOST	"127.0.0.1"
#define KVC_DEFAULT_PORT	"7878"

struct kv_options {
	unsigned int	connect_ms;
	unsigned int	request_ms;
	uint32_t	max_response;
};

/* One iter request's fields; empty bounds have len 0 (and NULL bytes). */
struct kv_range {
	uint8_t		*start, *end, *prefix;
	size_t		 startlen, endlen, prefixlen;
	uint32_t	 limit;
	int		 start_exclusive;
	int		 keys_only;
};

/* Copy opts (or the defaults when NULL) into dst. */
void kvc_options_copy(struct kv_options *dst, const kv_options *opts);

/* Format an error line into buf (KVC_ERRMSG_MAX bytes). */
void kvc_errf(char *buf, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Milliseconds on the monotonic clock. */
uint64_t kvc_now_ms(void);

/* ---- endpoints and sockets ---- */

struct kvc_endpoint {
	char	host[256];
	char	port[8];
	char	display[280];	/* "host:port" or "[v6]:port", for messages */
};

/*
 * Parse "HOST:PORT", "[V6]:PORT", "HOST" or a bare IPv6 address; NULL means
 * the default endpoint.  Returns KV_OK or KV_ERR_ARG with err filled in.
 */
int kvc_net_parse(struct kvc_endpoint *ep, const char *s, char *err);

/* Resolve ep to stream addresses.  Returns KV_OK, KV_ERR_RESOLVE or KV_ERR_NOMEM. */
int kvc_net_resolve(const struct kvc_endpoint *ep, struct addrinfo **resp,
    char *err);

/*
 * Start a non-blocking connect to ai.  Returns the socket (>= 0) with
 * *donep 1 if already connected, 0 if in progress; or -1 with errno set.
 */
int kvc_net_connect_start(const struct addrinfo *ai, int *donep);

/* After the socket became writable: 0 if connected, else -1 with errno. */
int kvc_net_connect_finish(int fd);

/* Turn on TCP_NODELAY: requests are small and latency matters. */
void kvc_net_nodelay(int fd);

/* ---- the reply arena ---- */

struct kvc_arena_block;

struct kvc_arena {
	ProtobufCAllocator	 pa;	/* hands out memory from this arena */
	uint8_t			*base;
	size_t			 cap;
	size_t			 used;
	size_t			 overflow;	/* bytes of the blocks below */
	struct kvc_arena_block	*blocks;	/* allocations that did not fit */
};

void kvc_arena_init(struct kvc_arena *a);
/* Forget every allocation; grow the base block if the last round overflowed. */
void kvc_arena_reset(struct kvc_arena *a);
void kvc_arena_free(struct kvc_arena *a);

/* ---- replies ---- */

enum kvc_op {
	KVC_OP_PUT = 1,
	KVC_OP_GET,
	KVC_OP_DELETE,
	KVC_OP_ITER,
	KVC_OP_PING,
	KVC_OP_STATS,
	KVC_OP_COMPACT,
};

struct kv_statlist {
	Kv__Response		*resp;	/* owned (kv_stats()) or NULL (a view) */
	const Kv__StatsResponse	*st;	/* NULL: no statistics */
};

struct kv_reply {
	int			 status;
	const char		*message;
	Kv__Response		*resp;	/* NULL for a library error */
	ProtobufCAllocator	*alloc;	/* what resp was unpacked with */
	struct kv_statlist		 stats;	/* view for kv_reply_stats() */
	char			 msgbuf[KVC_ERRMSG_MAX];
};

/* Release what r holds and make it empty. */
void kvc_reply_clear(struct kv_reply *r);

/* Make r a library error with status code and the message in msg. */
void kvc_reply_error(struct kv_reply *r, int code, const char *msg);

/* The bytes that a ping carries, checked when they come back. */
extern const uint8_t kvc_ping_payload[8];

/* The statistics of an OK stats answer that carries none. */
extern const Kv__StatsResponse kvc_no_stats;

/* ---- one connection's bytes ---- */

struct kvc_wire {
	int			 fd;		/* -1: not connected */
	struct evbuffer		*in;
	struct evbuffer		*out;
	struct frame_decoder	*dec;
	uint32_t		 max_response;
	uint64_t		 next_id;	/* id of the next request encoded */
	uint64_t		 expect_id;	/* id of the next response due */
};

/* Returns KV_OK or KV_ERR_NOMEM. */
int kvc_wire_init(struct kvc_wire *w, uint32_t max_response);
/* Close the socket and drop buffered bytes both ways; ids start over. */
void kvc_wire_close(struct kvc_wire *w);
void kvc_wire_free(struct kvc_wire *w);

/*
 * Encode req (its id is assigned here) into w->out.  Returns KV_OK,
 * KV_ERR_ARG (the request is too large for a frame) or KV_ERR_NOMEM.
 */
int kvc_wire_encode(struct kvc_wire *w, Kv__Request *req, char *err);

/* Encode a put, get, delete, ping, stats or compact request for key/val. */
int kvc_wire_encode_op(struct kvc_wire *w, enum kvc_op op, const void *key,
    size_t keylen, const void *val, size_t vallen, char *err);

/* Encode an iter request for one page of rg (NULL: all keys). */
int kvc_wire_encode_iter(struct kvc_wire *w, const struct kv_range *rg,
    char *err);

/*
 * Write as much of w->out as the socket takes without blocking.  Returns 1
 * when w->out is empty, 0 when the socket is full, or KV_ERR_IO.
 */
int kvc_wire_flush(struct kvc_wire *w, char *err);

/*
 * Read what the socket has into w->in.  Returns 1 when bytes came, 0 when
 * none were there, or KV_ERR_IO (also when the server closed).
 */
int kvc_wire_fill(struct kvc_wire *w, char *err);

/*
 * If a whole response sits at the head of w->in, unpack it with alloc (NULL:
 * malloc), check it answers request w->expect_id of kind op, and fill r.
 * Returns 1 (r holds the reply; its status may be a server status or
 * KV_ERR_STATUS), 0 (more bytes are needed) or KV_ERR_PROTOCOL or
 * KV_ERR_NOMEM (the connection cannot go on; err says why).
 */
int kvc_wire_decode(struct kvc_wire *w, enum kvc_op op,
    ProtobufCAllocator *alloc, struct kv_reply *r, char *err);

/* Is a status one that the protocol defines? */
int kvc_status_known(int status);

#endif /* !KVC_H */
