/*
 * frame.h: the length-prefixed frame codec.
 *
 * Every message on a kvd connection travels as a frame: a 4-byte big-endian
 * unsigned length N followed by N bytes of one serialized protobuf message.
 * This module is the only code that knows that layout.  Both kvd and
 * libkvclient read and write frames through it, over libevent evbuffers.
 */
#ifndef KVD_FRAME_H
#define KVD_FRAME_H

#include <stddef.h>
#include <stdint.h>

struct evbuffer;
struct ProtobufCMessage;

/* Bytes of the length prefix in front of every frame. */
#define FRAME_HEADER_SIZE	4

/* Largest payload a frame can announce. */
#define FRAME_LEN_MAX		UINT32_MAX

enum frame_status {
	FRAME_READY,		/* a whole frame is at the head of the buffer */
	FRAME_AGAIN,		/* more bytes are needed before anything can be said */
	FRAME_TOO_LARGE,	/* the next frame announces more than the limit */
};

struct frame_decoder;

/*
 * frame_decoder_new(max_frame):
 * Create an incremental decoder that accepts frames whose payload is at most
 * max_frame bytes.  Returns NULL (errno ENOMEM) if memory is short.
 */
struct frame_decoder *frame_decoder_new(uint32_t max_frame);

/* frame_decoder_free(d): free d.  A NULL d is a no-op. */
void frame_decoder_free(struct frame_decoder *d);

/*
 * frame_decode(d, in, data, len):
 * Look at the head of in.  Returns
 *   FRAME_READY      a frame is complete: *data points at its payload (made
 *                    contiguous inside in) and *len holds its length, which
 *                    may be 0.  The payload stays valid until the next call
 *                    that modifies in; call frame_consume() to drop it.
 *   FRAME_AGAIN      in does not yet hold a whole frame (or holds only body
 *                    bytes of a frame being skipped, which are discarded).
 *   FRAME_TOO_LARGE  the next frame announces a payload larger than the
 *                    limit.  Nothing was allocated for it and its prefix is
 *                    still in in.  The caller either gives up on the stream
 *                    or calls frame_skip() to discard that frame.
 * The limit is checked on the 4 prefix bytes alone, before the payload is
 * buffered or made contiguous, so an announced length can never cause an
 * allocation.
 */
enum frame_status frame_decode(struct frame_decoder *d, struct evbuffer *in,
    const uint8_t **data, size_t *len);

/*
 * frame_consume(d, in):
 * Drop the frame that the last frame_decode() returned as FRAME_READY.
 */
void frame_consume(struct frame_decoder *d, struct evbuffer *in);

/*
 * frame_skip(d, in):
 * After FRAME_TOO_LARGE, discard that frame: its prefix now and its payload
 * as it arrives over later frame_decode() calls, without buffering it.
 */
void frame_skip(struct frame_decoder *d, struct evbuffer *in);

/*
 * frame_rejected_len(d):
 * The length announced by the frame that the last FRAME_TOO_LARGE refused,
 * for error messages.
 */
uint64_t frame_rejected_len(const struct frame_decoder *d);

/*
 * frame_skipping(d):
 * Payload bytes of a skipped frame that have not arrived yet.
 */
uint64_t frame_skipping(const struct frame_decoder *d);

/*
 * frame_encode(out, msg):
 * Append msg, serialized, as one frame to out.  Returns 0, or -1 with errno
 * EMSGSIZE if the message does not fit a frame or ENOMEM if out cannot grow.
 */
int frame_encode(struct evbuffer *out, const struct ProtobufCMessage *msg);

/*
 * frame_encode_raw(out, payload, len):
 * Append len bytes that are already serialized as one frame to out.  Returns
 * 0, or -1 with errno EMSGSIZE or ENOMEM.
 */
int frame_encode_raw(struct evbuffer *out, const void *payload, size_t len);

#endif /* !KVD_FRAME_H */
