/*
 * dispatch.h: one Request in, one Response out, through the engine.
 *
 * Dispatch decodes a frame's payload as a Request, checks it against the
 * limits, calls the engine and encodes the Response as a frame; given
 * several frames at once, it looks up a run of gets among them together.
 * It knows the wire messages and engine.h, nothing of sockets or of the
 * record format.  It also tells the server how long a reply must be
 * held: a write until the engine counts it durable under the fsync policy
 * (under "always", once an fdatasync covers it), and a read that observed
 * a write not yet durable until that write is.
 */
#ifndef KVD_DISPATCH_H
#define KVD_DISPATCH_H

#include <stddef.h>
#include <stdint.h>

#include "engine.h"

struct frame_out;
struct stats;
struct dispatch;

struct dispatch_config {
	struct engine	*engine;
	struct stats	*stats;
	uint32_t	 max_key;
	uint32_t	 max_value;
};

/* What the server must do with the reply dispatch just encoded. */
struct dispatch_reply {
	uint64_t	id;		/* the request's id (0 if it did not parse) */
	uint64_t	wait_seq;	/* hold the reply until durable >= this; 0: send now */
	int		close;		/* close the connection after this reply */
};

/* Iteration pages: the server's default and cap, and the byte budget. */
#define DISPATCH_ITER_DEFAULT	1000
#define DISPATCH_ITER_MAX	10000
#define DISPATCH_ITER_BYTES	(4u << 20)

/*
 * dispatch_new(cfg):
 * A dispatcher over cfg->engine that counts into cfg->stats (both are
 * borrowed and must outlive it).  Returns NULL when out of memory.
 */
struct dispatch *dispatch_new(const struct dispatch_config *cfg);

/* dispatch_free(d): free d.  NULL is a no-op. */
void dispatch_free(struct dispatch *d);

/*
 * dispatch_request(d, payload, len, out, r):
 * Run the request in payload (len bytes, the body of one frame) and append
 * its Response frame to out.  r says how to treat the reply.  A payload
 * that does not parse gets INVALID_ARGUMENT with id 0 and r->close set.
 * Returns 0, or -1 if the response could not be encoded (out of memory).
 */
int dispatch_request(struct dispatch *d, const uint8_t *payload, size_t len,
    struct frame_out *out, struct dispatch_reply *r);

/* The most frames dispatch_requests() takes in one call. */
#define DISPATCH_BATCH_MAX	ENGINE_GET_MANY_MAX

/* One whole frame's payload, for dispatch_requests(). */
struct dispatch_frame {
	const uint8_t	*data;
	size_t		 len;
};

/*
 * Called by dispatch_requests() after each reply: r says how to treat it,
 * and it is the len bytes at offset off of the output, its end.  Returns
 * 0 to go on, or nonzero to answer no further frame now.
 */
typedef int (*dispatch_reply_cb)(void *arg, const struct dispatch_reply *r,
    size_t off, size_t len);

/*
 * dispatch_requests(d, frames, n, out, cb, arg):
 * dispatch_request() for each of the first n frames in order (at most
 * DISPATCH_BATCH_MAX), calling cb after each reply, except that each run
 * of two or more consecutive gets is looked up with one engine_get_many()
 * once the run ends (at a request that is not a get, or after the last
 * frame): their index walks overlap, and their replies are what one get
 * at a time would give.  Each frame is unpacked once, and the batch
 * itself allocates nothing.
 *
 * When cb asks to stop (a client to pause or close), the frames after
 * that reply are left as if never seen: no effect, no reply, gets looked
 * up ahead forgotten.  The caller offers them again later, and they are
 * unpacked again then: at most the rest of a run and the request that
 * ended it.  cb may call dispatch_unavailable() and dispatch_too_large()
 * on d, with another output, and engine_durable_seq() and
 * engine_readonly_reason(), but nothing else of d or of the engine.
 *
 * Returns how many frames were answered (at least one), or -1 if a
 * response could not be encoded (out of memory).
 */
int dispatch_requests(struct dispatch *d, const struct dispatch_frame *frames,
    size_t n, struct frame_out *out, dispatch_reply_cb cb, void *arg);

/*
 * dispatch_too_large(d, out, announced, max_frame):
 * Append the TOO_LARGE response (id 0) for a frame that announced
 * announced bytes over max_frame.  Returns 0 or -1 (out of memory).
 */
int dispatch_too_large(struct dispatch *d, struct frame_out *out,
    uint64_t announced, uint32_t max_frame);

/*
 * dispatch_unavailable(d, out, id, why):
 * Append an UNAVAILABLE response with id and the one-line reason why.
 * Returns 0 or -1 (out of memory).
 */
int dispatch_unavailable(struct dispatch *d, struct frame_out *out,
    uint64_t id, const char *why);

#endif /* !KVD_DISPATCH_H */
