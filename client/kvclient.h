/*
 * kvclient.h: the C client library for kvd.
 *
 * This header is the manual of libkvclient; kvclient(3) gives an overview
 * and a complete example.  Link with `pkg-config --cflags --libs kvclient`.
 *
 * THREE WAYS TO TALK TO kvd
 *
 *   synchronous  kv_put(), kv_get(), kv_delete(), kv_ping(), kv_stats(),
 *                kv_compact() and the kv_iter_*() iterator send one request
 *                and wait for its answer on a kv_conn.
 *   pipelined    kv_pipe_put(), kv_pipe_get(), ... queue requests on a
 *                kv_conn; kv_pipe_send() writes all of them at once and
 *                kv_pipe_recv() returns the answers one by one, in order.
 *   asynchronous kv_async_*() issue requests on the application's own
 *                libevent event_base and call a callback with each answer.
 * The pipelined and asynchronous APIs read a range one page per request
 * (kv_pipe_iter(), kv_async_iter() with a kv_range; see RANGES below).
 *
 * KEYS AND VALUES are arbitrary bytes, passed as a pointer and a length.  A
 * key may not be empty; a value may be.  The server enforces its own limits
 * (by default keys up to 4096 bytes, values up to 32 MiB) and answers
 * KV_TOO_LARGE beyond them.
 *
 * RETURN CODES.  Every call that can fail returns an int:
 *   KV_OK (0)        success.
 *   > 0              the server answered with this status (the numbers are
 *                    the protocol's, see kv-protocol(7)): KV_NOT_FOUND,
 *                    KV_INVALID_ARGUMENT, KV_TOO_LARGE, ...  The connection
 *                    is still usable.
 *   < 0              a KV_ERR_* code: the library could not get an answer.
 * kv_strerror() names any of them.  kv_errmsg() (kv_async_errmsg() for an
 * asynchronous handle) holds a one-line message for humans about the last
 * failed call: the server's own message, or what the library saw, e.g.
 * "connect to 127.0.0.1:7878: Connection refused".
 *
 * BROKEN CONNECTIONS.  After KV_ERR_IO, KV_ERR_TIMEOUT or KV_ERR_PROTOCOL
 * the connection is closed and every later request on the handle fails with
 * KV_ERR_CLOSED until the application calls kv_connect() again.  The library
 * never re-sends a request by itself: a write whose answer was lost may or
 * may not have been applied, and only the application can decide whether to
 * repeat it.
 *
 * THREADS.  The library keeps no global state and needs no initialisation.
 * A handle (kv_conn, kv_async and everything made from them) must be used by
 * one thread at a time; different handles may be used by different threads
 * at once.
 *
 * SIGNALS AND OUTPUT.  The library never prints, never exits or aborts, and
 * writes to sockets with MSG_NOSIGNAL, so a closed connection cannot raise
 * SIGPIPE in the application.
 *
 * OWNERSHIP is stated for every call.  Pointers the library hands out that
 * are "borrowed" stay valid only until the next call on the same handle.
 */
#ifndef KVCLIENT_H
#define KVCLIENT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct event_base;

/* Library version: 0.1.0.  Compare with kv_version() at run time. */
#define KV_VERSION_MAJOR	0
#define KV_VERSION_MINOR	1
#define KV_VERSION_PATCH	0

/*
 * Statuses the server can answer with.  The numbers are the protocol's (and
 * gRPC's), so a status can be stored, logged or compared across languages.
 */
#define KV_OK			0	/* success */
#define KV_INVALID_ARGUMENT	3	/* the request is malformed (e.g. empty key) */
#define KV_NOT_FOUND		5	/* no such key; also: iterator exhausted */
#define KV_PERMISSION_DENIED	7	/* the client may not do this */
#define KV_TOO_LARGE		8	/* a frame, key or value exceeds a limit */
#define KV_FAILED_PRECONDITION	9	/* reserved for compare-and-swap */
#define KV_INTERNAL		13	/* server fault, e.g. a stored value failed its checksum */
#define KV_UNAVAILABLE		14	/* the server cannot take writes now, or is stopping */
#define KV_UNAUTHENTICATED	16	/* the client did not prove who it is */

/* Errors the library reports without an answer from the server. */
#define KV_ERR_NOMEM		(-1)	/* out of memory */
#define KV_ERR_ARG		(-2)	/* bad argument: NULL handle, empty key, bad endpoint, ... */
#define KV_ERR_RESOLVE		(-3)	/* the endpoint's host name could not be resolved */
#define KV_ERR_CONNECT		(-4)	/* no connection could be made to the endpoint */
#define KV_ERR_TIMEOUT		(-5)	/* the connect or request timeout passed; connection closed */
#define KV_ERR_IO		(-6)	/* send or receive failed, or the server closed; connection closed */
#define KV_ERR_PROTOCOL		(-7)	/* the server's bytes break the protocol; connection closed */
#define KV_ERR_CLOSED		(-8)	/* not connected: kv_connect() first (or again) */
#define KV_ERR_STATE		(-9)	/* the call does not fit the handle's state (see each call) */
#define KV_ERR_STATUS		(-10)	/* the server answered a status this library does not know */

/*
 * kv_strerror(code):
 * A short static description of any status or KV_ERR_* code ("not found",
 * "connection timed out", ...); "unknown error" for a number it does not
 * know.  Never NULL; the string is constant and must not be freed.
 */
const char *kv_strerror(int code);

/*
 * kv_status_name(code):
 * The protocol name of a server status ("OK", "NOT_FOUND", ...) or of a
 * KV_ERR_* code ("ERR_TIMEOUT", ...); NULL for a number it does not know.
 * The string is constant.
 */
const char *kv_status_name(int code);

/*
 * kv_version():
 * The library's version as a constant string, e.g. "0.1.0".
 */
const char *kv_version(void);

/*
 * kv_free(p):
 * Release memory the library handed over to the caller (the value returned
 * by kv_get()).  A NULL p is a no-op.
 */
void kv_free(void *p);

/* ---------------------------------------------------------------------- */
/* Options                                                                 */
/* ---------------------------------------------------------------------- */

/*
 * Connection options.  The handle copies them when it is made, so one
 * kv_options can serve many handles and be freed right after.  Secure
 * channel keys will be set here too when the server supports them.
 */
typedef struct kv_options kv_options;

/*
 * kv_options_new():
 * Options with the defaults: connect timeout 5000 ms, request timeout
 * 30000 ms, largest accepted response frame 67108864 bytes (64 MiB).
 * Returns NULL if memory is short.  Free with kv_options_free().
 */
kv_options *kv_options_new(void);

/* kv_options_free(o): free o.  A NULL o is a no-op. */
void kv_options_free(kv_options *o);

/*
 * kv_options_set_connect_timeout(o, ms):
 * Give up a connection attempt (name resolution excluded) after ms
 * milliseconds, across all the addresses the endpoint resolves to.  0 means
 * wait as long as the operating system does.  Returns KV_OK, or KV_ERR_ARG
 * if o is NULL.
 */
int kv_options_set_connect_timeout(kv_options *o, unsigned int ms);

/*
 * kv_options_set_request_timeout(o, ms):
 * A synchronous call (or one kv_pipe_send() or kv_pipe_recv()) fails with
 * KV_ERR_TIMEOUT if it has not finished after ms milliseconds; an
 * asynchronous request fails the same way if its answer has not arrived ms
 * milliseconds after it was issued.  Either way the connection is closed,
 * because a late answer could otherwise be taken for the next one.  0 means
 * no timeout.  Returns KV_OK, or KV_ERR_ARG if o is NULL.
 */
int kv_options_set_request_timeout(kv_options *o, unsigned int ms);

/*
 * kv_options_set_max_response(o, bytes):
 * The largest response frame the client accepts.  A server that announces a
 * longer one is treated as broken (KV_ERR_PROTOCOL) before anything is
 * allocated for it.  Raise it only if the server's max-value is raised
 * above 32 MiB.  Returns KV_OK, or KV_ERR_ARG if o is NULL or bytes is 0.
 */
int kv_options_set_max_response(kv_options *o, uint32_t bytes);

/* ---------------------------------------------------------------------- */
/* Synchronous connections                                                 */
/* ---------------------------------------------------------------------- */

typedef struct kv_conn kv_conn;

/*
 * kv_conn_new(opts):
 * A new, unconnected handle with a copy of opts (NULL: the defaults).
 * Returns NULL if memory is short.  Free with kv_conn_free().
 */
kv_conn *kv_conn_new(const kv_options *opts);

/*
 * kv_conn_free(c):
 * Close the connection, if any, and free c.  Iterators made on c must be
 * freed first.  A NULL c is a no-op.
 */
void kv_conn_free(kv_conn *c);

/*
 * kv_connect(c, endpoint):
 * Connect c to endpoint: "HOST:PORT", "[IPV6]:PORT" or "HOST" (port 7878).
 * A NULL endpoint means "127.0.0.1:7878".  An existing connection of c is
 * closed first, and requests still pending on it are dropped.  Every
 * address the host resolves to is tried in turn.  Name resolution blocks.
 * Returns KV_OK, or
 *   KV_ERR_ARG      endpoint does not parse (the message says why)
 *   KV_ERR_RESOLVE  the host name does not resolve
 *   KV_ERR_CONNECT  no address accepted the connection
 *   KV_ERR_TIMEOUT  the connect timeout passed
 *   KV_ERR_NOMEM
 */
int kv_connect(kv_conn *c, const char *endpoint);

/*
 * kv_close(c):
 * Close the connection of c (pending requests are dropped) but keep the
 * handle for a later kv_connect().  A NULL or unconnected c is a no-op.
 */
void kv_close(kv_conn *c);

/*
 * kv_errmsg(c):
 * A one-line message about the last call on c that did not return KV_OK:
 * the server's message for a server status, or what the library saw.
 * Borrowed: valid until the next call on c.  "" if there is nothing to say.
 */
const char *kv_errmsg(const kv_conn *c);

/*
 * kv_put(c, key, keylen, val, vallen, seqp):
 * Store val under key.  If seqp is not NULL, *seqp receives the sequence
 * number the server gave the write.  The reply comes only once the server's
 * durability policy is met.  Returns KV_OK, a server status
 * (KV_INVALID_ARGUMENT, KV_TOO_LARGE, KV_UNAVAILABLE, ...) or
 *   KV_ERR_ARG      key is empty, or key/val is NULL with a non-zero length
 *   KV_ERR_STATE    pipelined requests are pending on c
 *   KV_ERR_CLOSED, KV_ERR_IO, KV_ERR_TIMEOUT, KV_ERR_PROTOCOL, KV_ERR_STATUS,
 *   KV_ERR_NOMEM
 * The library copies key and val before returning.
 */
int kv_put(kv_conn *c, const void *key, size_t keylen, const void *val,
    size_t vallen, uint64_t *seqp);

/*
 * kv_get(c, key, keylen, valp, vallenp, seqp):
 * Fetch the value of key.  On KV_OK, *valp points at a copy of the value
 * (never NULL, even for an empty value) that the caller owns and releases
 * with kv_free(); *vallenp holds its length; *seqp (if seqp is not NULL) the
 * sequence number of the write that stored it.  Returns KV_OK, KV_NOT_FOUND,
 * another server status, or the KV_ERR_* codes of kv_put() (KV_ERR_ARG also
 * when valp or vallenp is NULL).  On anything but KV_OK, *valp is NULL.
 */
int kv_get(kv_conn *c, const void *key, size_t keylen, void **valp,
    size_t *vallenp, uint64_t *seqp);

/*
 * kv_delete(c, key, keylen, seqp):
 * Delete key.  Returns KV_OK (and the tombstone's sequence number in *seqp
 * if seqp is not NULL), KV_NOT_FOUND if the key did not exist (nothing was
 * written), another server status, or the KV_ERR_* codes of kv_put().
 */
int kv_delete(kv_conn *c, const void *key, size_t keylen, uint64_t *seqp);

/*
 * kv_ping(c):
 * Send a ping and check that the server echoes it.  Returns KV_OK, a server
 * status, or the KV_ERR_* codes of kv_put() (KV_ERR_PROTOCOL if the echo
 * differs).
 */
int kv_ping(kv_conn *c);

/* Statistics the server reports: a list of (name, unsigned value). */
typedef struct kv_statlist kv_statlist;

/*
 * kv_stats(c, statsp):
 * Fetch the server's statistics.  On KV_OK, *statsp is a new kv_statlist the
 * caller owns and frees with kv_stats_free(); otherwise *statsp is NULL.
 * The names and units are documented in kvd(8).  Returns the codes of
 * kv_put().
 */
int kv_stats(kv_conn *c, kv_statlist **statsp);

/* kv_stats_count(s): how many statistics s holds. */
size_t kv_stats_count(const kv_statlist *s);

/*
 * kv_stats_name(s, i), kv_stats_value(s, i):
 * The name and value of statistic i (0 <= i < kv_stats_count(s)), in the
 * server's order.  The name is borrowed from s; NULL (name) or 0 (value)
 * when i is out of range.
 */
const char *kv_stats_name(const kv_statlist *s, size_t i);
uint64_t kv_stats_value(const kv_statlist *s, size_t i);

/*
 * kv_stats_find(s, name, valuep):
 * Look up a statistic by name.  Returns KV_OK with the value in *valuep, or
 * KV_NOT_FOUND.
 */
int kv_stats_find(const kv_statlist *s, const char *name, uint64_t *valuep);

/* kv_stats_free(s): free s.  A NULL s is a no-op. */
void kv_stats_free(kv_statlist *s);

/*
 * kv_compact(c, pendingp):
 * Ask the server to compact its storage: rewrite the live records of every
 * sealed segment file that holds overwritten or deleted ones, reclaiming
 * their disk space.  The compaction runs in the background; the answer
 * comes at once and says only that it was scheduled.  If pendingp is not
 * NULL, *pendingp receives 1 when a compaction is queued or running for
 * this request, 0 when there was nothing to compact (and 0 on any error).
 * A request made while a compaction runs is queued behind it; requests
 * queued together merge.  To wait for the end, poll kv_stats() until
 * "compaction_pending" is 0; "compactions" counts finished runs and
 * "compaction_failures" failed ones (kvd(8) describes them).  The server
 * compacts on request whatever its compact-ratio, even 1, which turns
 * only its automatic compaction off.  Returns KV_OK, a server status
 * (KV_UNAVAILABLE when the server no longer accepts writes: compaction
 * writes too), or the KV_ERR_* codes of kv_put().
 */
int kv_compact(kv_conn *c, int *pendingp);

/* ---------------------------------------------------------------------- */
/* Iterators: ordered range reads                                          */
/* ---------------------------------------------------------------------- */

/*
 * An iterator walks keys in ascending unsigned-byte order and fetches them
 * from the server a page at a time, continuing after the last key of each
 * page, so every key that exists for the whole scan is returned exactly
 * once.  Between kv_iter_next() calls the connection is idle and may be used
 * for other synchronous calls.
 */
typedef struct kv_iter kv_iter;

/*
 * kv_iter_new(c, itp):
 * A new iterator over all keys of c's server; narrow it with the
 * kv_iter_set_*() calls before the first kv_iter_next().  *itp is owned by
 * the caller (free with kv_iter_free(), before c).  Returns KV_OK,
 * KV_ERR_ARG or KV_ERR_NOMEM.
 */
int kv_iter_new(kv_conn *c, kv_iter **itp);

/*
 * kv_iter_set_start(it, key, len):  first key, inclusive (default: the
 *                                   smallest key).
 * kv_iter_set_end(it, key, len):    stop before this key (default: no end).
 * kv_iter_set_prefix(it, p, len):   only keys that begin with p; combines
 *                                   with start and end.
 * kv_iter_set_limit(it, n):         at most n entries in all (0: no limit).
 * kv_iter_set_page_size(it, n):     ask for n entries per request (0: the
 *                                   server's default page; the server may
 *                                   send fewer).
 * kv_iter_set_keys_only(it, on):    leave values out (kv_iter_next() then
 *                                   gives empty values).
 * The arguments are copied.  An empty start, end or prefix (len 0) removes
 * that bound.  Each returns KV_OK, KV_ERR_ARG, KV_ERR_NOMEM, or KV_ERR_STATE
 * once kv_iter_next() has been called.
 */
int kv_iter_set_start(kv_iter *it, const void *key, size_t len);
int kv_iter_set_end(kv_iter *it, const void *key, size_t len);
int kv_iter_set_prefix(kv_iter *it, const void *prefix, size_t len);
int kv_iter_set_limit(kv_iter *it, uint64_t n);
int kv_iter_set_page_size(kv_iter *it, uint32_t n);
int kv_iter_set_keys_only(kv_iter *it, int on);

/*
 * kv_iter_next(it, keyp, keylenp, valp, vallenp):
 * Step to the next entry.  Returns
 *   KV_OK         the entry's key is at *keyp (*keylenp bytes) and its
 *                 value at *valp (*vallenp bytes); any of the four
 *                 pointers may be NULL if not wanted.  Borrowed: valid
 *                 until the next kv_iter_next() or kv_iter_free() on it.
 *   KV_NOT_FOUND  no more entries (and every later call says the same).
 *   a server status or KV_ERR_* code of kv_put(); the iterator is then
 *                 finished and keeps returning that code.  KV_ERR_PROTOCOL
 *                 also if the server's keys are out of order or outside the
 *                 range, which would otherwise loop or repeat keys.
 */
int kv_iter_next(kv_iter *it, const void **keyp, size_t *keylenp,
    const void **valp, size_t *vallenp);

/* kv_iter_free(it): free it.  A NULL it is a no-op. */
void kv_iter_free(kv_iter *it);

/* ---------------------------------------------------------------------- */
/* RANGES: one page of an ordered read (pipelined and asynchronous)        */
/* ---------------------------------------------------------------------- */

/*
 * A kv_range describes one `iter` request: which keys, and how many per
 * page.  kv_pipe_iter() and kv_async_iter() fetch ONE page with it; unlike
 * kv_iter_next() they do not continue by themselves.  To read the next
 * page, call kv_range_continue() with the page's reply (or set the start to
 * the page's last key with start_exclusive on) and issue the range again,
 * with the same prefix, end and limit.  Every key that exists for the whole
 * scan is then returned exactly once, in ascending unsigned-byte order.
 */
typedef struct kv_range kv_range;

/* The answer to one pipelined or asynchronous request (see Replies). */
typedef struct kv_reply kv_reply;

/*
 * kv_range_new():
 * A range over all keys, starting at the smallest, with the server's
 * default page (1000 entries), values included.  Returns NULL if memory is
 * short.  Owned by the caller; free with kv_range_free().  A range is only
 * read by the kv_*_iter() calls, which copy it into the request, so it may
 * be changed or freed as soon as they return.
 */
kv_range *kv_range_new(void);

/* kv_range_free(r): free r.  A NULL r is a no-op. */
void kv_range_free(kv_range *r);

/*
 * kv_range_set_start(r, key, len):  first key, inclusive unless
 *                                   start_exclusive is on (default: the
 *                                   smallest key).
 * kv_range_set_end(r, key, len):    stop before this key (default: no end).
 * kv_range_set_prefix(r, p, len):   only keys that begin with p; combines
 *                                   with start and end.
 * The bytes are copied; an empty one (len 0) removes that bound.  Each
 * returns KV_OK, KV_ERR_ARG (r NULL, or NULL bytes with a length) or
 * KV_ERR_NOMEM (r is then unchanged).
 */
int kv_range_set_start(kv_range *r, const void *key, size_t len);
int kv_range_set_end(kv_range *r, const void *key, size_t len);
int kv_range_set_prefix(kv_range *r, const void *prefix, size_t len);

/*
 * kv_range_set_start_exclusive(r, on):  leave the start key itself out
 *                                       (how a scan continues after the
 *                                       last key of a page).
 * kv_range_set_limit(r, n):             at most n entries in the page (0:
 *                                       the server's default of 1000; the
 *                                       server caps n at 10000 and ends a
 *                                       page after 4 MiB of keys and
 *                                       values, so a page may hold fewer
 *                                       entries than n while more follow).
 * kv_range_set_keys_only(r, on):        leave values out (the entries'
 *                                       values are then empty).
 * Each returns KV_OK, or KV_ERR_ARG if r is NULL.
 */
int kv_range_set_start_exclusive(kv_range *r, int on);
int kv_range_set_limit(kv_range *r, uint32_t n);
int kv_range_set_keys_only(kv_range *r, int on);

/*
 * kv_range_continue(r, page):
 * Prepare r for the page after page (the reply to an iter issued with r):
 * the start becomes page's last key, start_exclusive is turned on; prefix,
 * end, limit and keys_only stay.  Returns
 *   KV_OK          issue r again for the next page
 *   KV_NOT_FOUND   page was the last one (kv_reply_more() is 0): the scan
 *                  is complete and r is unchanged
 *   KV_ERR_ARG     r or page is NULL, or page is not a successful iter
 *   KV_ERR_NOMEM   r is unchanged
 */
int kv_range_continue(kv_range *r, const kv_reply *page);

/* ---------------------------------------------------------------------- */
/* Replies (pipelined and asynchronous calls)                              */
/* ---------------------------------------------------------------------- */

/*
 * A kv_reply is the answer to one pipelined or asynchronous request.
 * Always borrowed: from kv_pipe_recv() until the next call on the same
 * kv_conn; in an asynchronous callback until the callback returns.
 */

/* The status of the request: KV_OK, a server status or a KV_ERR_* code. */
int kv_reply_status(const kv_reply *r);

/* The message for a status other than KV_OK ("" otherwise); borrowed. */
const char *kv_reply_message(const kv_reply *r);

/* The sequence number of a put or delete, or of the value a get returned; 0 otherwise. */
uint64_t kv_reply_seq(const kv_reply *r);

/*
 * kv_reply_value(r, lenp):
 * The value a successful get returned, with its length in *lenp (lenp may
 * be NULL).  Borrowed like r.  NULL (and *lenp 0) if r is not a successful
 * get.
 */
const void *kv_reply_value(const kv_reply *r, size_t *lenp);

/*
 * kv_reply_compact_pending(r):
 * 1 if r is the answer to a successful compact and a compaction is queued
 * or running for it (see kv_compact()); 0 otherwise.
 */
int kv_reply_compact_pending(const kv_reply *r);

/*
 * kv_reply_stats(r):
 * The statistics of a successful stats request, borrowed like r (do not
 * kv_stats_free() them); NULL otherwise.
 */
const kv_statlist *kv_reply_stats(const kv_reply *r);

/*
 * kv_reply_entries(r):
 * How many entries the page of a successful iter holds; 0 for an empty
 * page and for any other reply.
 *
 * kv_reply_entry(r, i, keyp, keylenp, valp, vallenp):
 * Entry i (0 <= i < kv_reply_entries(r)) of the page, in ascending key
 * order: its key at *keyp (*keylenp bytes, never 0) and its value at *valp
 * (*vallenp bytes; empty for a keys_only range).  Any of the four pointers
 * may be NULL if not wanted.  Borrowed like r: copy what must outlive it.
 * Returns KV_OK, or KV_ERR_ARG if r is NULL, not a successful iter, or i
 * is out of range (the outputs are then NULL and 0).
 *
 * kv_reply_more(r):
 * 1 if the page of a successful iter says more keys may match (continue
 * with kv_range_continue()), 0 if the scan is complete, and 0 for any other
 * reply.  A page may hold fewer entries than the range's limit and still
 * say 1 (the server ends pages at 4 MiB), and the last page may be empty.
 *
 * The library checks each page before handing it out: its keys must be
 * non-empty and strictly ascending, and an empty page must not say "more"
 * (which would make a continuing scan loop for ever).  A page that breaks
 * this fails with KV_ERR_PROTOCOL and closes the connection.  It does not
 * check that the keys lie inside the range; kv_iter_next() does.
 */
size_t kv_reply_entries(const kv_reply *r);
int kv_reply_entry(const kv_reply *r, size_t i, const void **keyp,
    size_t *keylenp, const void **valp, size_t *vallenp);
int kv_reply_more(const kv_reply *r);

/* ---------------------------------------------------------------------- */
/* Pipelined calls on a kv_conn                                            */
/* ---------------------------------------------------------------------- */

/*
 * kv_pipe_put(c, key, keylen, val, vallen), kv_pipe_get(c, key, keylen),
 * kv_pipe_delete(c, key, keylen), kv_pipe_ping(c):
 * Queue one request on c without sending it; the bytes are copied into c's
 * output buffer.  Returns KV_OK, KV_ERR_ARG (empty key, NULL with a length),
 * KV_ERR_CLOSED or KV_ERR_NOMEM.  While requests are pending, the
 * synchronous calls and iterators on c return KV_ERR_STATE.
 */
int kv_pipe_put(kv_conn *c, const void *key, size_t keylen, const void *val,
    size_t vallen);
int kv_pipe_get(kv_conn *c, const void *key, size_t keylen);
int kv_pipe_delete(kv_conn *c, const void *key, size_t keylen);
int kv_pipe_ping(kv_conn *c);

/*
 * kv_pipe_iter(c, r):
 * Queue a request for one page of range r (NULL: all keys, the server's
 * default page), as the other kv_pipe_*() calls do; r is copied into the
 * request and may be changed or freed at once.  kv_pipe_recv() returns the
 * page, read with kv_reply_entries(), kv_reply_entry() and kv_reply_more().
 * Each page is one request: the next page of the scan can only be asked
 * for once this one's last key is known (see kv_range_continue()), but
 * pages of different ranges may be queued together.  Returns KV_OK,
 * KV_ERR_ARG (c NULL, or the range does not fit in a frame), KV_ERR_CLOSED
 * or KV_ERR_NOMEM.
 */
int kv_pipe_iter(kv_conn *c, const kv_range *r);

/*
 * kv_pipe_send(c):
 * Write every queued request, in as few system calls as the socket allows.
 * Answers that arrive meanwhile are read into memory, so a server that
 * stops reading until its answers are read cannot deadlock the send.
 * Returns KV_OK, KV_ERR_CLOSED, KV_ERR_IO, KV_ERR_TIMEOUT or KV_ERR_NOMEM;
 * after an error every pending request is dropped (see BROKEN CONNECTIONS).
 */
int kv_pipe_send(kv_conn *c);

/*
 * kv_pipe_pending(c):
 * Requests queued or sent on c whose answers kv_pipe_recv() has not yet
 * returned.
 */
size_t kv_pipe_pending(const kv_conn *c);

/*
 * kv_pipe_recv(c, replyp):
 * The answer to the oldest pending request, sending queued requests first
 * if kv_pipe_send() was not called.  Sets *replyp to a reply borrowed from
 * c (valid until the next call on c) and returns its status: KV_OK or a
 * server status for that request, which leaves the others unaffected.  A
 * KV_ERR_* code means the connection broke (every pending request is then
 * dropped); *replyp still carries the code and message.  Returns
 * KV_ERR_STATE (and *replyp NULL) when nothing is pending.
 */
int kv_pipe_recv(kv_conn *c, const kv_reply **replyp);

/* ---------------------------------------------------------------------- */
/* Asynchronous calls on a libevent event_base                             */
/* ---------------------------------------------------------------------- */

typedef struct kv_async kv_async;

/*
 * A request's callback: called once per request, in request order, from the
 * event loop (never from inside the kv_async_*() call that issued it), with
 * the reply (borrowed until the callback returns).  kv_reply_status(r) is
 * KV_OK, a server status, or a KV_ERR_* code if the request could not be
 * answered (KV_ERR_CLOSED when kv_async_free() discards it).  The callback
 * may issue new requests and may call kv_async_free().
 */
typedef void kv_async_cb(kv_async *a, const kv_reply *r, void *arg);

/*
 * The handle's event callback: code KV_OK once the connection is made; a
 * KV_ERR_* code when it could not be made or was lost, after every pending
 * request's callback got that code.  message says what happened (borrowed).
 * The callback may call kv_async_free() or kv_async_connect().
 */
typedef void kv_async_event_cb(kv_async *a, int code, const char *message,
    void *arg);

/*
 * kv_async_new(base, opts, event_cb, arg):
 * A new unconnected asynchronous handle whose I/O runs on base (which must
 * outlive it), with a copy of opts (NULL: defaults).  event_cb may be NULL.
 * Returns NULL if memory is short.  Free with kv_async_free().
 */
kv_async *kv_async_new(struct event_base *base, const kv_options *opts,
    kv_async_event_cb *event_cb, void *arg);

/*
 * kv_async_connect(a, endpoint):
 * Start connecting a to endpoint (as for kv_connect()).  Name resolution
 * blocks; the TCP connect does not.  Requests may be issued at once: they
 * are sent when the connection is made.  The event callback reports the
 * outcome.  Returns KV_OK (connecting), or KV_ERR_ARG, KV_ERR_RESOLVE,
 * KV_ERR_CONNECT, KV_ERR_STATE (a is already connected or connecting) or
 * KV_ERR_NOMEM, with kv_async_errmsg() saying why; then the event callback
 * is not called.
 */
int kv_async_connect(kv_async *a, const char *endpoint);

/*
 * kv_async_free(a):
 * Close a and free it.  The callback of every pending request is called
 * with KV_ERR_CLOSED first; the event callback is not.  May be called from
 * inside a callback of a.  A NULL a is a no-op.
 */
void kv_async_free(kv_async *a);

/* kv_async_errmsg(a): as kv_errmsg(), for an asynchronous handle. */
const char *kv_async_errmsg(const kv_async *a);

/*
 * kv_async_put(a, key, keylen, val, vallen, cb, arg),
 * kv_async_get(a, key, keylen, cb, arg),
 * kv_async_delete(a, key, keylen, cb, arg),
 * kv_async_ping(a, cb, arg), kv_async_stats(a, cb, arg),
 * kv_async_compact(a, cb, arg):
 * Issue one request; cb (which may be NULL to ignore the reply) is called
 * with its reply and arg.  Requests issued during one pass of the event
 * loop go out together in one write.  The bytes are copied.  Returns KV_OK
 * (cb will be called exactly once), or KV_ERR_ARG, KV_ERR_CLOSED (a is not
 * connected or connecting) or KV_ERR_NOMEM (cb will not be called).  The
 * answers are read with kv_reply_seq(), kv_reply_value(), kv_reply_stats()
 * and kv_reply_compact_pending().
 */
int kv_async_put(kv_async *a, const void *key, size_t keylen,
    const void *val, size_t vallen, kv_async_cb *cb, void *arg);
int kv_async_get(kv_async *a, const void *key, size_t keylen,
    kv_async_cb *cb, void *arg);
int kv_async_delete(kv_async *a, const void *key, size_t keylen,
    kv_async_cb *cb, void *arg);
int kv_async_ping(kv_async *a, kv_async_cb *cb, void *arg);
int kv_async_stats(kv_async *a, kv_async_cb *cb, void *arg);
int kv_async_compact(kv_async *a, kv_async_cb *cb, void *arg);

/*
 * kv_async_iter(a, r, cb, arg):
 * Issue a request for one page of range r (NULL: all keys, the server's
 * default page); cb gets the page, read with kv_reply_entries(),
 * kv_reply_entry() and kv_reply_more(), borrowed until cb returns.  r is
 * copied into the request and may be changed or freed at once.  To scan a
 * range, call kv_range_continue() from cb and issue the next page from
 * there until it returns KV_NOT_FOUND (kvclient(3) has an example).
 * Returns as kv_async_put() does (KV_ERR_ARG also if the range does not fit
 * in a frame).
 */
int kv_async_iter(kv_async *a, const kv_range *r, kv_async_cb *cb, void *arg);

/* kv_async_pending(a): requests issued on a whose callback has not run yet. */
size_t kv_async_pending(const kv_async *a);

#ifdef __cplusplus
}
#endif

#endif /* !KVCLIENT_H */
