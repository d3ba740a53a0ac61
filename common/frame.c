/*
 * frame.c: the length-prefixed frame codec.  See frame.h.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <protobuf-c/protobuf-c.h>

#include "frame.h"

struct frame_decoder {
	uint32_t	max_frame;
	uint32_t	ready_len;	/* payload length of the FRAME_READY frame */
	int		ready;		/* a frame_decode() returned FRAME_READY */
	uint32_t	rejected_len;	/* announced length of the refused frame */
	uint64_t	skip_left;	/* payload bytes of a skipped frame to drop */
};

static uint32_t
frame_header_get(const uint8_t h[FRAME_HEADER_SIZE])
{
	return ((uint32_t)h[0] << 24) | ((uint32_t)h[1] << 16) |
	    ((uint32_t)h[2] << 8) | (uint32_t)h[3];
}

static void
frame_header_put(uint8_t h[FRAME_HEADER_SIZE], uint32_t len)
{
	h[0] = (uint8_t)(len >> 24);
	h[1] = (uint8_t)(len >> 16);
	h[2] = (uint8_t)(len >> 8);
	h[3] = (uint8_t)len;
}

struct frame_decoder *
frame_decoder_new(uint32_t max_frame)
{
	struct frame_decoder *d;

	if ((d = calloc(1, sizeof(*d))) == NULL)
		return (NULL);
	d->max_frame = max_frame;
	return (d);
}

void
frame_decoder_free(struct frame_decoder *d)
{
	free(d);
}

enum frame_status
frame_decode(struct frame_decoder *d, struct evbuffer *in,
    const uint8_t **data, size_t *len)
{
	uint8_t hdr[FRAME_HEADER_SIZE];
	uint8_t *p;
	size_t have;
	uint32_t n;

	if (d->skip_left > 0) {
		have = evbuffer_get_length(in);
		if (have > d->skip_left)
			have = (size_t)d->skip_left;
		evbuffer_drain(in, have);
		d->skip_left -= have;
		if (d->skip_left > 0)
			return (FRAME_AGAIN);
	}

	have = evbuffer_get_length(in);
	if (have < FRAME_HEADER_SIZE)
		return (FRAME_AGAIN);
	/* Copy the prefix out: pulling it up could make libevent copy chains. */
	if (evbuffer_copyout(in, hdr, sizeof(hdr)) != (ev_ssize_t)sizeof(hdr))
		return (FRAME_AGAIN);
	n = frame_header_get(hdr);
	if (n > d->max_frame) {
		d->rejected_len = n;
		return (FRAME_TOO_LARGE);
	}
	if (have - FRAME_HEADER_SIZE < n)
		return (FRAME_AGAIN);

	/* Only now, with the whole frame present and within the limit. */
	if ((p = evbuffer_pullup(in, (ev_ssize_t)FRAME_HEADER_SIZE + n)) == NULL)
		return (FRAME_AGAIN);
	d->ready = 1;
	d->ready_len = n;
	*data = p + FRAME_HEADER_SIZE;
	*len = n;
	return (FRAME_READY);
}

void
frame_consume(struct frame_decoder *d, struct evbuffer *in)
{
	if (!d->ready)
		return;
	evbuffer_drain(in, (size_t)FRAME_HEADER_SIZE + d->ready_len);
	d->ready = 0;
	d->ready_len = 0;
}

void
frame_skip(struct frame_decoder *d, struct evbuffer *in)
{
	evbuffer_drain(in, FRAME_HEADER_SIZE);
	d->skip_left = d->rejected_len;
}

uint64_t
frame_rejected_len(const struct frame_decoder *d)
{
	return (d->rejected_len);
}

uint64_t
frame_skipping(const struct frame_decoder *d)
{
	return (d->skip_left);
}

int
frame_encode(struct evbuffer *out, const struct ProtobufCMessage *msg)
{
	struct evbuffer_iovec v;
	size_t n;
	uint8_t *p;

	n = protobuf_c_message_get_packed_size(msg);
	if (n > FRAME_LEN_MAX) {
		errno = EMSGSIZE;
		return (-1);
	}
	/* Pack straight into the output buffer: no temporary copy. */
	if (evbuffer_reserve_space(out, (ev_ssize_t)(FRAME_HEADER_SIZE + n),
	    &v, 1) != 1) {
		errno = ENOMEM;
		return (-1);
	}
	p = v.iov_base;
	frame_header_put(p, (uint32_t)n);
	if (protobuf_c_message_pack(msg, p + FRAME_HEADER_SIZE) != n) {
		errno = EMSGSIZE;
		return (-1);
	}
	v.iov_len = FRAME_HEADER_SIZE + n;
	if (evbuffer_commit_space(out, &v, 1) != 0) {
		errno = ENOMEM;
		return (-1);
	}
	return (0);
}

int
frame_encode_raw(struct evbuffer *out, const void *payload, size_t len)
{
	uint8_t hdr[FRAME_HEADER_SIZE];

	if (len > FRAME_LEN_MAX) {
		errno = EMSGSIZE;
		return (-1);
	}
	frame_header_put(hdr, (uint32_t)len);
	if (evbuffer_expand(out, sizeof(hdr) + len) != 0 ||
	    evbuffer_add(out, hdr, sizeof(hdr)) != 0 ||
	    (len > 0 && evbuffer_add(out, payload, len) != 0)) {
		errno = ENOMEM;
		return (-1);
	}
	return (0);
}
