/*
 * frame-codec.c: the frame codec splits, joins and refuses frames correctly.
 */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/buffer.h>
#include <event2/event.h>

#include "frame.h"
#include "proto/kv.pb-c.h"

/*
 * libevent's allocator hook lets the oversized-frame tests prove that an
 * announced length never turns into an allocation.
 */
static size_t largest_alloc;

static void *
count_malloc(size_t n)
{
	if (n > largest_alloc)
		largest_alloc = n;
	return (malloc(n));
}

static void *
count_realloc(void *p, size_t n)
{
	if (n > largest_alloc)
		largest_alloc = n;
	return (realloc(p, n));
}

/* A stream of several frames of different sizes, one of them empty. */
struct stream {
	uint8_t	*bytes;
	size_t	 len;
	size_t	 nframes;
	size_t	 sizes[8];
};

static void
stream_build(struct stream *s)
{
	static const size_t sizes[] = { 1, 0, 5, 300, 0, 70000, 2 };
	struct evbuffer *b = evbuffer_new();
	size_t i, j;

	assert_non_null(b);
	s->nframes = sizeof(sizes) / sizeof(sizes[0]);
	for (i = 0; i < s->nframes; i++) {
		uint8_t *p = malloc(sizes[i] + 1);

		assert_non_null(p);
		for (j = 0; j < sizes[i]; j++)
			p[j] = (uint8_t)(i * 31 + j);
		assert_int_equal(frame_encode_raw(b, p, sizes[i]), 0);
		s->sizes[i] = sizes[i];
		free(p);
	}
	s->len = evbuffer_get_length(b);
	s->bytes = malloc(s->len);
	assert_non_null(s->bytes);
	assert_int_equal(evbuffer_remove(b, s->bytes, s->len), (int)s->len);
	evbuffer_free(b);
}

static void
frame_check(const struct stream *s, size_t i, const uint8_t *data, size_t len)
{
	size_t j;

	assert_true(i < s->nframes);
	assert_int_equal(len, s->sizes[i]);
	for (j = 0; j < len; j++)
		assert_int_equal(data[j], (uint8_t)(i * 31 + j));
}

/* Decode everything complete in b; return how many frames came out. */
static size_t
drain_frames(struct frame_decoder *d, struct evbuffer *b,
    const struct stream *s, size_t first)
{
	const uint8_t *data;
	size_t len, n = 0;
	enum frame_status st;

	while ((st = frame_decode(d, b, &data, &len)) == FRAME_READY) {
		frame_check(s, first + n, data, len);
		frame_consume(d, b);
		n++;
	}
	assert_int_equal(st, FRAME_AGAIN);
	return (n);
}

static void
test_several_frames_in_one_buffer(void **state)
{
	struct stream s;
	struct frame_decoder *d;
	struct evbuffer *b;

	(void)state;
	stream_build(&s);
	d = frame_decoder_new(1 << 20);
	b = evbuffer_new();
	assert_non_null(d);
	evbuffer_add(b, s.bytes, s.len);
	assert_int_equal(drain_frames(d, b, &s, 0), s.nframes);
	assert_int_equal(evbuffer_get_length(b), 0);
	evbuffer_free(b);
	frame_decoder_free(d);
	free(s.bytes);
}

static void
test_split_at_every_byte_boundary(void **state)
{
	struct stream s;
	struct frame_decoder *d;
	struct evbuffer *b;
	size_t cut, got;

	(void)state;
	stream_build(&s);
	/* The stream in two parts, cut at each offset in turn. */
	for (cut = 0; cut <= s.len; cut++) {
		d = frame_decoder_new(1 << 20);
		b = evbuffer_new();
		evbuffer_add(b, s.bytes, cut);
		got = drain_frames(d, b, &s, 0);
		evbuffer_add(b, s.bytes + cut, s.len - cut);
		got += drain_frames(d, b, &s, got);
		assert_int_equal(got, s.nframes);
		assert_int_equal(evbuffer_get_length(b), 0);
		evbuffer_free(b);
		frame_decoder_free(d);
	}
	/* And one byte at a time. */
	d = frame_decoder_new(1 << 20);
	b = evbuffer_new();
	for (cut = 0, got = 0; cut < s.len; cut++) {
		evbuffer_add(b, s.bytes + cut, 1);
		got += drain_frames(d, b, &s, got);
	}
	assert_int_equal(got, s.nframes);
	evbuffer_free(b);
	frame_decoder_free(d);
	free(s.bytes);
}

static void
test_zero_length_frame(void **state)
{
	static const uint8_t zero[4] = { 0, 0, 0, 0 };
	struct frame_decoder *d = frame_decoder_new(0);
	struct evbuffer *b = evbuffer_new();
	const uint8_t *data = NULL;
	size_t len = 99;

	(void)state;
	evbuffer_add(b, zero, 3);
	assert_int_equal(frame_decode(d, b, &data, &len), FRAME_AGAIN);
	evbuffer_add(b, zero + 3, 1);
	assert_int_equal(frame_decode(d, b, &data, &len), FRAME_READY);
	assert_int_equal(len, 0);
	frame_consume(d, b);
	assert_int_equal(evbuffer_get_length(b), 0);
	assert_int_equal(frame_decode(d, b, &data, &len), FRAME_AGAIN);
	evbuffer_free(b);
	frame_decoder_free(d);
}

static void
check_refused_without_allocating(uint32_t announced, uint32_t max)
{
	uint8_t hdr[4] = { (uint8_t)(announced >> 24), (uint8_t)(announced >> 16),
	    (uint8_t)(announced >> 8), (uint8_t)announced };
	uint8_t body[64];
	struct frame_decoder *d = frame_decoder_new(max);
	struct evbuffer *b = evbuffer_new();
	const uint8_t *data;
	size_t len, before;

	memset(body, 0xAB, sizeof(body));
	evbuffer_add(b, hdr, sizeof(hdr));
	evbuffer_add(b, body, sizeof(body));
	before = evbuffer_get_length(b);
	largest_alloc = 0;
	assert_int_equal(frame_decode(d, b, &data, &len), FRAME_TOO_LARGE);
	/* No allocation at all, let alone one near the announced size. */
	assert_int_equal(largest_alloc, 0);
	assert_int_equal(evbuffer_get_length(b), before);
	assert_int_equal(frame_rejected_len(d), announced);
	/* Asking again does not change the answer or the buffer. */
	assert_int_equal(frame_decode(d, b, &data, &len), FRAME_TOO_LARGE);
	assert_int_equal(largest_alloc, 0);
	evbuffer_free(b);
	frame_decoder_free(d);
}

static void
test_oversized_length_not_allocated(void **state)
{
	(void)state;
	check_refused_without_allocating(1024 * 1024 + 1, 1024 * 1024);
	check_refused_without_allocating(65, 64);
}

static void
test_length_all_ones(void **state)
{
	(void)state;
	check_refused_without_allocating(0xFFFFFFFFu, 64 * 1024 * 1024);
	/* Even with the largest limit the type allows, it is not buffered. */
	check_refused_without_allocating(0xFFFFFFFFu, 0xFFFFFFFEu);
}

static void
test_skip_oversized_then_continue(void **state)
{
	struct frame_decoder *d = frame_decoder_new(16);
	struct evbuffer *b = evbuffer_new();
	struct evbuffer *src = evbuffer_new();
	uint8_t big[100], small[3] = { 7, 8, 9 };
	const uint8_t *data;
	size_t len, i, n;
	enum frame_status st;
	uint8_t *all;

	(void)state;
	memset(big, 0x55, sizeof(big));
	frame_encode_raw(src, big, sizeof(big));
	frame_encode_raw(src, small, sizeof(small));
	n = evbuffer_get_length(src);
	all = malloc(n);
	evbuffer_remove(src, all, n);

	/* Fed in 7-byte pieces: the skipped body straddles several reads. */
	for (i = 0, st = FRAME_AGAIN; i < n; i += 7) {
		evbuffer_add(b, all + i, n - i < 7 ? n - i : 7);
		st = frame_decode(d, b, &data, &len);
		if (st == FRAME_TOO_LARGE) {
			assert_int_equal(frame_rejected_len(d), 100);
			frame_skip(d, b);
			st = frame_decode(d, b, &data, &len);
		}
		if (st == FRAME_READY)
			break;
		/* Skipped bytes are dropped, not buffered. */
		assert_true(evbuffer_get_length(b) < FRAME_HEADER_SIZE + 16);
	}
	assert_int_equal(st, FRAME_READY);
	assert_int_equal(len, 3);
	assert_memory_equal(data, small, 3);
	frame_consume(d, b);
	assert_int_equal(evbuffer_get_length(b), 0);
	assert_int_equal(frame_skipping(d), 0);
	free(all);
	evbuffer_free(src);
	evbuffer_free(b);
	frame_decoder_free(d);
}

static void
test_protobuf_round_trip(void **state)
{
	Kv__Request req = KV__REQUEST__INIT, *out;
	Kv__PutRequest put = KV__PUT_REQUEST__INIT;
	struct frame_decoder *d = frame_decoder_new(1 << 20);
	struct evbuffer *b = evbuffer_new();
	uint8_t key[256], val[1000];
	const uint8_t *data;
	size_t len, i;

	(void)state;
	for (i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)i;
	memset(val, 0, sizeof(val));
	put.key.data = key;
	put.key.len = sizeof(key);
	put.value.data = val;
	put.value.len = sizeof(val);
	req.id = 0xFEEDFACECAFEBEEFull;
	req.op_case = KV__REQUEST__OP_PUT;
	req.put = &put;
	assert_int_equal(frame_encode(b, &req.base), 0);
	/* Packed into room from a bound: the same frame. */
	assert_int_equal(frame_encode_max(b, &req.base,
	    protobuf_c_message_get_packed_size(&req.base) + 100), 0);
	len = evbuffer_get_length(b) / 2;
	data = evbuffer_pullup(b, -1);
	assert_memory_equal(data, data + len, len);
	errno = 0;
	assert_int_equal(frame_encode_max(b, &req.base,
	    (size_t)FRAME_LEN_MAX + 1), -1);
	assert_int_equal(errno, EMSGSIZE);
	assert_int_equal(evbuffer_get_length(b), 2 * len);
	for (i = 0; i < 2; i++) {
		assert_int_equal(frame_decode(d, b, &data, &len), FRAME_READY);
		out = kv__request__unpack(NULL, len, data);
		assert_non_null(out);
		assert_int_equal(out->id, req.id);
		assert_int_equal(out->op_case, KV__REQUEST__OP_PUT);
		assert_int_equal(out->put->key.len, sizeof(key));
		assert_memory_equal(out->put->key.data, key, sizeof(key));
		assert_int_equal(out->put->value.len, sizeof(val));
		kv__request__free_unpacked(out, NULL);
		frame_consume(d, b);
	}
	assert_int_equal(evbuffer_get_length(b), 0);
	evbuffer_free(b);
	frame_decoder_free(d);
}

static void
test_consume_without_frame_is_noop(void **state)
{
	struct frame_decoder *d = frame_decoder_new(8);
	struct evbuffer *b = evbuffer_new();

	(void)state;
	evbuffer_add(b, "\0\0", 2);
	frame_consume(d, b);
	assert_int_equal(evbuffer_get_length(b), 2);
	frame_decoder_free(NULL);
	evbuffer_free(b);
	frame_decoder_free(d);
}

/*
 * Decode from memory as a server does: whatever was not used stays at the
 * head of the window and the next bytes are appended after it.  Returns
 * how many frames came out of buf[0..*len), and leaves in it what is left.
 */
static size_t
drain_frames_mem(struct frame_decoder *d, uint8_t *buf, size_t *len,
    const struct stream *s, size_t first)
{
	const uint8_t *data;
	size_t flen, used, off = 0, n = 0;
	enum frame_status st;

	while ((st = frame_decode_mem(d, buf + off, *len - off, &data, &flen,
	    &used)) == FRAME_READY) {
		assert_true(data >= buf + off && data + flen <= buf + *len);
		frame_check(s, first + n, data, flen);
		off += used;
		n++;
	}
	assert_int_equal(st, FRAME_AGAIN);
	off += used;
	memmove(buf, buf + off, *len - off);
	*len -= off;
	return (n);
}

static void
test_mem_split_at_every_byte_boundary(void **state)
{
	struct stream s;
	struct frame_decoder *d;
	uint8_t *win;
	size_t cut, got, len;

	(void)state;
	stream_build(&s);
	win = malloc(s.len);
	assert_non_null(win);
	for (cut = 0; cut <= s.len; cut++) {
		d = frame_decoder_new(1 << 20);
		memcpy(win, s.bytes, cut);
		len = cut;
		got = drain_frames_mem(d, win, &len, &s, 0);
		memcpy(win + len, s.bytes + cut, s.len - cut);
		len += s.len - cut;
		got += drain_frames_mem(d, win, &len, &s, got);
		assert_int_equal(got, s.nframes);
		assert_int_equal(len, 0);
		frame_decoder_free(d);
	}
	/* And one byte at a time. */
	d = frame_decoder_new(1 << 20);
	for (cut = 0, got = 0, len = 0; cut < s.len; cut++) {
		win[len++] = s.bytes[cut];
		got += drain_frames_mem(d, win, &len, &s, got);
	}
	assert_int_equal(got, s.nframes);
	assert_int_equal(len, 0);
	frame_decoder_free(d);
	free(win);
	free(s.bytes);
}

static void
test_mem_oversized_refused_then_skipped(void **state)
{
	struct frame_decoder *d = frame_decoder_new(16);
	struct evbuffer *src = evbuffer_new();
	struct evbuffer *b = evbuffer_new();
	uint8_t big[100], small[3] = { 7, 8, 9 }, *all;
	const uint8_t *data;
	size_t flen, used, n, off, i;

	(void)state;
	memset(big, 0x55, sizeof(big));
	frame_encode_raw(src, small, sizeof(small));
	frame_encode_raw(src, big, sizeof(big));
	frame_encode_raw(src, small, sizeof(small));
	frame_encode_raw(src, big, sizeof(big));
	frame_encode_raw(src, small, sizeof(small));
	n = evbuffer_get_length(src);
	all = malloc(n);
	evbuffer_remove(src, all, n);

	/* All at once: a frame, a refusal that takes nothing, and so on. */
	off = 0;
	assert_int_equal(frame_decode_mem(d, all, n, &data, &flen, &used),
	    FRAME_READY);
	assert_int_equal(flen, 3);
	assert_memory_equal(data, small, 3);
	off += used;
	assert_int_equal(frame_decode_mem(d, all + off, n - off, &data, &flen,
	    &used), FRAME_TOO_LARGE);
	assert_int_equal(used, 0);
	assert_int_equal(frame_rejected_len(d), 100);
	/* Asking again does not change the answer. */
	assert_int_equal(frame_decode_mem(d, all + off, n - off, &data, &flen,
	    &used), FRAME_TOO_LARGE);
	assert_int_equal(frame_skip_mem(d), FRAME_HEADER_SIZE);
	off += FRAME_HEADER_SIZE;
	/* The skipped payload is used up along with the next frame. */
	assert_int_equal(frame_decode_mem(d, all + off, n - off, &data, &flen,
	    &used), FRAME_READY);
	assert_int_equal(used, sizeof(big) + FRAME_HEADER_SIZE + 3);
	assert_memory_equal(data, small, 3);
	off += used;

	/* The second big frame's payload comes in pieces, one via an evbuffer. */
	assert_int_equal(frame_decode_mem(d, all + off, n - off, &data, &flen,
	    &used), FRAME_TOO_LARGE);
	off += used + frame_skip_mem(d);
	for (i = 0; i < 40; i += 8) {
		assert_int_equal(frame_decode_mem(d, all + off, 8, &data, &flen,
		    &used), FRAME_AGAIN);
		assert_int_equal(used, 8);
		off += used;
	}
	assert_int_equal(frame_skipping(d), sizeof(big) - 40);
	evbuffer_add(b, all + off, 30);
	assert_int_equal(frame_decode(d, b, &data, &flen), FRAME_AGAIN);
	assert_int_equal(evbuffer_get_length(b), 0);
	off += 30;
	assert_int_equal(frame_decode_mem(d, all + off, n - off, &data, &flen,
	    &used), FRAME_READY);
	assert_int_equal(flen, 3);
	assert_memory_equal(data, small, 3);
	assert_int_equal(off + used, n);
	assert_int_equal(frame_skipping(d), 0);
	free(all);
	evbuffer_free(src);
	evbuffer_free(b);
	frame_decoder_free(d);
}

static void
test_mem_oversized_not_allocated(void **state)
{
	static const uint8_t hdr[8] = { 0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3, 4 };
	struct frame_decoder *d = frame_decoder_new(64);
	const uint8_t *data;
	size_t flen, used;

	(void)state;
	largest_alloc = 0;
	assert_int_equal(frame_decode_mem(d, hdr, 3, &data, &flen, &used),
	    FRAME_AGAIN);
	assert_int_equal(used, 0);
	assert_int_equal(frame_decode_mem(d, hdr, sizeof(hdr), &data, &flen,
	    &used), FRAME_TOO_LARGE);
	assert_int_equal(frame_rejected_len(d), 0xFFFFFFFFu);
	assert_int_equal(largest_alloc, 0);
	frame_decoder_free(d);
}

/* Unpack the request frame at data and check it is the one made for i. */
static void
request_check(const uint8_t *data, size_t len, uint64_t id, size_t klen)
{
	Kv__Request *req;
	size_t j;

	req = kv__request__unpack(NULL, len, data);
	assert_non_null(req);
	assert_int_equal(req->id, id);
	assert_int_equal(req->op_case, KV__REQUEST__OP_GET);
	assert_int_equal(req->get->key.len, klen);
	for (j = 0; j < klen; j++)
		assert_int_equal(req->get->key.data[j], (uint8_t)(id + j));
	kv__request__free_unpacked(req, NULL);
}

static void
test_out_encode_round_trip(void **state)
{
	Kv__Request req = KV__REQUEST__INIT;
	Kv__GetRequest get = KV__GET_REQUEST__INIT;
	struct frame_decoder *d = frame_decoder_new(1 << 20);
	struct frame_out *o = frame_out_new(64);
	uint8_t key[3000];
	const uint8_t *data, *p;
	size_t i, j, klen, flen, used, len, sizes[40];

	(void)state;
	assert_non_null(o);
	assert_int_equal(frame_out_len(o), 0);
	req.op_case = KV__REQUEST__OP_GET;
	req.get = &get;
	/* Enough frames, some large, to make the buffer grow and move. */
	for (i = 0; i < 40; i++) {
		klen = i % 7 == 6 ? 2900 : i;
		for (j = 0; j < klen; j++)
			key[j] = (uint8_t)(i + j);
		get.key.data = key;
		get.key.len = klen;
		req.id = i;
		sizes[i] = protobuf_c_message_get_packed_size(&req.base);
		if (i % 2 == 0)
			assert_int_equal(frame_out_encode(o, &req.base), 0);
		else	/* the exact size is a bound too */
			assert_int_equal(frame_out_encode_max(o, &req.base,
			    i % 4 == 1 ? sizes[i] : sizes[i] + 100), 0);
	}
	p = frame_out_data(o);
	len = frame_out_len(o);
	for (i = 0; i < 40; i++) {
		assert_int_equal(frame_decode_mem(d, p, len, &data, &flen,
		    &used), FRAME_READY);
		assert_int_equal(flen, sizes[i]);
		assert_int_equal(used, FRAME_HEADER_SIZE + sizes[i]);
		request_check(data, flen, i, i % 7 == 6 ? 2900 : i);
		p += used;
		len -= used;
	}
	assert_int_equal(len, 0);

	/* Truncating keeps a prefix; at 0 the buffer starts again. */
	len = FRAME_HEADER_SIZE + sizes[0];
	frame_out_truncate(o, len);
	assert_int_equal(frame_out_len(o), len);
	frame_out_truncate(o, len + 10);
	assert_int_equal(frame_out_len(o), len);
	frame_out_truncate(o, 0);
	assert_int_equal(frame_out_len(o), 0);
	req.id = 3;
	get.key.len = 3;
	for (j = 0; j < 3; j++)
		key[j] = (uint8_t)(3 + j);
	assert_int_equal(frame_out_encode(o, &req.base), 0);
	assert_int_equal(frame_decode_mem(d, frame_out_data(o),
	    frame_out_len(o), &data, &flen, &used), FRAME_READY);
	request_check(data, flen, 3, 3);
	frame_out_free(o);
	frame_out_free(NULL);
	frame_decoder_free(d);
}

static void
test_out_bound_over_frame_limit(void **state)
{
	Kv__Request req = KV__REQUEST__INIT;
	struct frame_out *o = frame_out_new(16);

	(void)state;
	assert_non_null(o);
	req.id = 1;
	assert_int_equal(frame_out_encode(o, &req.base), 0);
	errno = 0;
	assert_int_equal(frame_out_encode_max(o, &req.base,
	    (size_t)FRAME_LEN_MAX + 1), -1);
	assert_int_equal(errno, EMSGSIZE);
	/* Nothing of the refused frame is left behind. */
	assert_int_equal(frame_out_len(o), FRAME_HEADER_SIZE + 2);
	frame_out_free(o);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_several_frames_in_one_buffer),
		cmocka_unit_test(test_split_at_every_byte_boundary),
		cmocka_unit_test(test_zero_length_frame),
		cmocka_unit_test(test_oversized_length_not_allocated),
		cmocka_unit_test(test_length_all_ones),
		cmocka_unit_test(test_skip_oversized_then_continue),
		cmocka_unit_test(test_protobuf_round_trip),
		cmocka_unit_test(test_consume_without_frame_is_noop),
		cmocka_unit_test(test_mem_split_at_every_byte_boundary),
		cmocka_unit_test(test_mem_oversized_refused_then_skipped),
		cmocka_unit_test(test_mem_oversized_not_allocated),
		cmocka_unit_test(test_out_encode_round_trip),
		cmocka_unit_test(test_out_bound_over_frame_limit),
	};

	event_set_mem_functions(count_malloc, count_realloc, free);
	return (cmocka_run_group_tests_name("frame-codec", tests, NULL, NULL));
}
