/*
 * wire.h: a small wire-level client for tests.
 *
 * It speaks frames through common/frame.h and the generated messages, but
 * also lets a test send any bytes at all (garbage, truncated or oversized
 * frames), so tests can check what kvd does with them.  Every receive has
 * a timeout, so a stuck server fails a test instead of hanging it.
 */
#ifndef KVD_TESTS_WIRE_H
#define KVD_TESTS_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "proto/kv.pb-c.h"

/* A blocking TCP connection with an outgoing queue and a response decoder. */
struct wire;

/* Default timeout of wire_recv() and wire_exchange(), milliseconds. */
#define WIRE_TIMEOUT_MS	60000

/*
 * wire_connect(port):
 * Connect to 127.0.0.1:port.  Returns NULL (errno set) on failure.
 */
struct wire *wire_connect(uint16_t port);

/* wire_free(w): close and free w.  NULL is a no-op. */
void wire_free(struct wire *w);

/* wire_fd(w): the socket, for tests that poke at it directly. */
int wire_fd(const struct wire *w);

/*
 * wire_send_raw(w, buf, len):
 * Write len bytes as they are (after anything queued).  Returns 0 or -1.
 */
int wire_send_raw(struct wire *w, const void *buf, size_t len);

/*
 * wire_queue(w, req):
 * Append req as one frame to w's outgoing queue, unsent.  Returns 0 or -1.
 */
int wire_queue(struct wire *w, const Kv__Request *req);

/*
 * wire_queue_raw(w, payload, len):
 * Append one frame holding exactly payload to the queue.  Returns 0 or -1.
 */
int wire_queue_raw(struct wire *w, const void *payload, size_t len);

/* wire_flush(w): send the whole queue (blocking).  Returns 0 or -1. */
int wire_flush(struct wire *w);

/*
 * wire_recv(w, timeout_ms):
 * Read the next response.  Returns it (free with
 * kv__response__free_unpacked(r, NULL)), or NULL on EOF (errno 0), timeout
 * (ETIMEDOUT), a frame that does not parse (EBADMSG) or an error.
 */
Kv__Response *wire_recv(struct wire *w, int timeout_ms);

/*
 * wire_exchange(w, nresp, cb, arg, timeout_ms):
 * Send the queue and at the same time read nresp responses, passing each
 * to cb (which owns nothing: the response is freed after cb returns).
 * Sending and reading together lets a test pipeline any number of
 * requests without deadlocking against the server's backpressure.
 * Returns 0, -1 on a socket error, EOF or timeout, or cb's nonzero value.
 */
int wire_exchange(struct wire *w, size_t nresp,
    int (*cb)(void *arg, Kv__Response *resp), void *arg, int timeout_ms);

/*
 * wire_wait_eof(w, timeout_ms):
 * Discard input until the server closes.  Returns 1 on EOF (or reset),
 * 0 on timeout.
 */
int wire_wait_eof(struct wire *w, int timeout_ms);

/* Queue one request of each kind; key and values are byte strings. */
int wire_put(struct wire *w, uint64_t id, const void *key, size_t klen,
    const void *val, size_t vlen);
int wire_get(struct wire *w, uint64_t id, const void *key, size_t klen);
int wire_delete(struct wire *w, uint64_t id, const void *key, size_t klen);
int wire_ping(struct wire *w, uint64_t id, const void *payload, size_t len);
int wire_stats(struct wire *w, uint64_t id);
int wire_compact(struct wire *w, uint64_t id);
int wire_iter(struct wire *w, uint64_t id, const void *prefix, size_t plen,
    const void *start, size_t slen, int start_exclusive, uint32_t limit);

/*
 * wire_call(w, req_queued):
 * Flush and read one response (WIRE_TIMEOUT_MS).  Returns it or NULL.
 */
Kv__Response *wire_call(struct wire *w);

/*
 * wire_stat(resp, name, value):
 * Look name up in a stats response.  Returns 0 and sets *value, or -1.
 */
int wire_stat(const Kv__Response *resp, const char *name, uint64_t *value);

#endif /* !KVD_TESTS_WIRE_H */
