/*
 * fuzz-frame-request.c: fuzz target for what kvd does first with network
 * bytes: split them into frames and parse each frame as a Request.
 *
 * Built two ways: with clang -fsanitize=fuzzer as a libFuzzer target, and in
 * make check linked with tests/fuzz/smoke.c, which runs it over a bounded
 * number of deterministic mutations of valid streams.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>

#include <event2/buffer.h>

#include "frame.h"
#include "proto/kv.pb-c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct frame_decoder *d;
	struct evbuffer *in;
	const uint8_t *payload;
	Kv__Request *req;
	size_t len, off = 0, chunk;
	enum frame_status st;

	if (size == 0)
		return (0);
	/* The first byte picks the read size, so frames straddle reads. */
	chunk = (size_t)data[0] % 13 + 1;
	data++;
	size--;
	if ((d = frame_decoder_new(4096)) == NULL)
		return (0);
	if ((in = evbuffer_new()) == NULL) {
		frame_decoder_free(d);
		return (0);
	}
	while (off < size) {
		size_t n = size - off < chunk ? size - off : chunk;

		evbuffer_add(in, data + off, n);
		off += n;
		while ((st = frame_decode(d, in, &payload, &len)) != FRAME_AGAIN) {
			if (st == FRAME_TOO_LARGE) {
				frame_skip(d, in);
				continue;
			}
			req = kv__request__unpack(NULL, len, payload);
			if (req != NULL)
				kv__request__free_unpacked(req, NULL);
			frame_consume(d, in);
		}
	}
	evbuffer_free(in);
	frame_decoder_free(d);
	return (0);
}
