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
 * frame_decode_mem(d, buf, len, data, flen, used):
 * frame_decode() over len bytes at buf rather than an evbuffer, for a
 * caller that reads into memory of its own and wants no copy.  The same
 * decoder may be used with frame_decode() too: a frame being skipped is
 * skipped across both.  *used is set whatever the status: how many bytes
 * at the head of buf are dealt with and must not be offered again (the
 * payload of a frame being skipped, and for FRAME_READY the whole frame,
 * whose payload is *data, *flen bytes inside buf).  After FRAME_TOO_LARGE,
 * the rejected frame's prefix starts at buf + *used; the caller gives up
 * or calls frame_skip_mem().  As with frame_decode(), the limit is
 * checked on the prefix alone.
 */
enum frame_status frame_decode_mem(struct frame_decoder *d,
    const uint8_t *buf, size_t len, const uint8_t **data, size_t *flen,
    size_t *used);

/*
 * frame_skip_mem(d):
 * After FRAME_TOO_LARGE from frame_decode_mem(), discard that frame.
 * Returns how many bytes at the head of what is left to drop now (its
 * prefix); its payload is dropped by later frame_decode_mem() or
 * frame_decode() calls as it arrives.
 */
size_t frame_skip_mem(struct frame_decoder *d);

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
 * frame_encode_max(out, msg, max):
 * frame_encode() for a message the caller knows packs to at most max bytes
 * (see frame_out_encode_max(): the same promise, the same abort if it is
 * broken).  Returns 0, or -1 with errno EMSGSIZE (max over a frame's limit)
 * or ENOMEM.
 */
int frame_encode_max(struct evbuffer *out, const struct ProtobufCMessage *msg,
    size_t max);

/*
 * frame_encode_raw(out, payload, len):
 * Append len bytes that are already serialized as one frame to out.  Returns
 * 0, or -1 with errno EMSGSIZE or ENOMEM.
 */
int frame_encode_raw(struct evbuffer *out, const void *payload, size_t len);

/*
 * A flat, growing output buffer that frames are encoded into back to back.
 * It is there for a server that answers many small requests: an evbuffer
 * frees its memory each time it is drained empty, so encoding each reply
 * into one would cost an allocation and a free per request, while this
 * buffer keeps its memory from one use to the next.  Bytes are addressed
 * by offset: growing may move them.
 */
struct frame_out;

/*
 * frame_out_new(keep):
 * An empty buffer that starts with keep bytes of room and shrinks back to
 * that when reset after holding much more.  Returns NULL (errno ENOMEM).
 */
struct frame_out *frame_out_new(size_t keep);

/* frame_out_free(o): free o.  A NULL o is a no-op. */
void frame_out_free(struct frame_out *o);

/*
 * frame_out_encode(o, msg):
 * Append msg, serialized, as one frame to o.  Returns 0, or -1 with errno
 * EMSGSIZE if the message does not fit a frame or ENOMEM if o cannot grow;
 * then o is as it was.
 */
int frame_out_encode(struct frame_out *o, const struct ProtobufCMessage *msg);

/*
 * frame_out_encode_max(o, msg, max):
 * frame_out_encode() for a message that the caller knows packs to at most
 * max bytes, which spares sizing the message before packing it (protobuf-c
 * packs only into room known to be large enough).  The bound is the
 * caller's promise, from the fields it set: a message that packs to more
 * is a bug that has already written past the room, and aborts the
 * process.  Returns 0, or -1 with errno EMSGSIZE (max over a frame's
 * limit) or ENOMEM; then o is as it was.
 */
int frame_out_encode_max(struct frame_out *o,
    const struct ProtobufCMessage *msg, size_t max);

/*
 * frame_out_data(o), frame_out_len(o):
 * The bytes in o and how many there are.  The pointer is valid until the
 * next call that appends to o.
 */
const uint8_t *frame_out_data(const struct frame_out *o);
size_t frame_out_len(const struct frame_out *o);

/*
 * frame_out_truncate(o, len):
 * Keep only the first len bytes of o (len at most frame_out_len(o)).  At 0,
 * memory well past what o was created to keep is given back.
 */
void frame_out_truncate(struct frame_out *o, size_t len);

#endif /* !KVD_FRAME_H */
