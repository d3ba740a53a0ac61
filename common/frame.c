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

/* At reset, an output buffer over this many times its keep size shrinks. */
#define FRAME_OUT_SHRINK	16

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

struct frame_out {
	uint8_t		*data;
	size_t		 len;
	size_t		 cap;
	size_t		 keep;
};

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

enum frame_status
frame_decode_mem(struct frame_decoder *d, const uint8_t *buf, size_t len,
    const uint8_t **data, size_t *flen, size_t *used)
{
	size_t skip = 0;
	uint32_t n;

	if (d->skip_left > 0) {
		skip = len < d->skip_left ? len : (size_t)d->skip_left;
		d->skip_left -= skip;
		buf += skip;
		len -= skip;
	}
	*used = skip;
	if (d->skip_left > 0 || len < FRAME_HEADER_SIZE)
		return (FRAME_AGAIN);
	n = frame_header_get(buf);
	if (n > d->max_frame) {
		d->rejected_len = n;
		return (FRAME_TOO_LARGE);
	}
	if (len - FRAME_HEADER_SIZE < n)
		return (FRAME_AGAIN);
	*data = buf + FRAME_HEADER_SIZE;
	*flen = n;
	*used = skip + FRAME_HEADER_SIZE + n;
	return (FRAME_READY);
}

size_t
frame_skip_mem(struct frame_decoder *d)
{
	d->skip_left = d->rejected_len;
	return (FRAME_HEADER_SIZE);
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

/* Pack msg (at most max bytes) straight into out: no temporary copy. */
static int
encode_into(struct evbuffer *out, const struct ProtobufCMessage *msg,
    size_t max)
{
	struct evbuffer_iovec v;
	size_t n;
	uint8_t *p;

	if (max > FRAME_LEN_MAX) {
		errno = EMSGSIZE;
		return (-1);
	}
	if (evbuffer_reserve_space(out, (ev_ssize_t)(FRAME_HEADER_SIZE + max),
	    &v, 1) != 1) {
		errno = ENOMEM;
		return (-1);
	}
	p = v.iov_base;
	n = protobuf_c_message_pack(msg, p + FRAME_HEADER_SIZE);
	if (n > max)
		abort();	/* memory past the room is overwritten */
	frame_header_put(p, (uint32_t)n);
	v.iov_len = FRAME_HEADER_SIZE + n;
	if (evbuffer_commit_space(out, &v, 1) != 0) {
		errno = ENOMEM;
		return (-1);
	}
	return (0);
}

int
frame_encode(struct evbuffer *out, const struct ProtobufCMessage *msg)
{
	return (encode_into(out, msg, protobuf_c_message_get_packed_size(msg)));
}

int
frame_encode_max(struct evbuffer *out, const struct ProtobufCMessage *msg,
    size_t max)
{
	return (encode_into(out, msg, max));
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

/* Make room for need more bytes in o.  Returns 0 or -1 (ENOMEM). */
static int
frame_out_grow(struct frame_out *o, size_t need)
{
	size_t cap = o->cap;
	uint8_t *p;

	if (need > SIZE_MAX - o->len) {
		errno = ENOMEM;
		return (-1);
	}
	while (cap - o->len < need)
		cap = cap > SIZE_MAX / 2 ? SIZE_MAX : cap * 2;
	if ((p = realloc(o->data, cap)) == NULL)
		return (-1);
	o->data = p;
	o->cap = cap;
	return (0);
}

struct frame_out *
frame_out_new(size_t keep)
{
	struct frame_out *o;

	if (keep < FRAME_HEADER_SIZE)
		keep = FRAME_HEADER_SIZE;
	if ((o = calloc(1, sizeof(*o))) == NULL)
		return (NULL);
	if ((o->data = malloc(keep)) == NULL) {
		free(o);
		return (NULL);
	}
	o->cap = o->keep = keep;
	return (o);
}

void
frame_out_free(struct frame_out *o)
{
	if (o == NULL)
		return;
	free(o->data);
	free(o);
}

int
frame_out_encode(struct frame_out *o, const struct ProtobufCMessage *msg)
{
	return (frame_out_encode_max(o, msg,
	    protobuf_c_message_get_packed_size(msg)));
}

int
frame_out_encode_max(struct frame_out *o, const struct ProtobufCMessage *msg,
    size_t max)
{
	size_t n;

	if (max > FRAME_LEN_MAX) {
		errno = EMSGSIZE;
		return (-1);
	}
	if (o->cap - o->len < FRAME_HEADER_SIZE + max &&
	    frame_out_grow(o, FRAME_HEADER_SIZE + max) != 0)
		return (-1);
	n = protobuf_c_message_pack(msg, o->data + o->len + FRAME_HEADER_SIZE);
	if (n > max)
		abort();	/* memory past the room is overwritten */
	frame_header_put(o->data + o->len, (uint32_t)n);
	o->len += FRAME_HEADER_SIZE + n;
	return (0);
}

const uint8_t *
frame_out_data(const struct frame_out *o)
{
	return (o->data);
}

size_t
frame_out_len(const struct frame_out *o)
{
	return (o->len);
}

void
frame_out_truncate(struct frame_out *o, size_t len)
{
	uint8_t *p;

	if (len < o->len)
		o->len = len;
	if (o->len == 0 && o->cap / FRAME_OUT_SHRINK > o->keep &&
	    (p = realloc(o->data, o->keep)) != NULL) {
		o->data = p;
		o->cap = o->keep;
	}
}
