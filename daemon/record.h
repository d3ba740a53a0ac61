/*
 * record.h: the log record, the unit every segment file is made of.
 *
 * A record is a 24-byte header, then the key, then the value (see
 * kvd-format(5) for the byte layout).  Its checksum covers every byte after
 * the checksum field itself, header included, so a flipped bit anywhere in
 * the record is detected.  These functions only encode and check bytes in
 * memory; they do no I/O.
 */
#ifndef KVD_RECORD_H
#define KVD_RECORD_H

#include <stddef.h>
#include <stdint.h>

#define RECORD_HEADER_SIZE	24

/* Hard limits of the format; the engine's configured limits sit below. */
#define RECORD_KEY_MAX		16384u
#define RECORD_VALUE_MAX	(1u << 30)

enum record_type {
	RECORD_PUT = 1,
	RECORD_DELETE = 2,
};

struct record_header {
	uint32_t	checksum;
	uint8_t		type;
	uint64_t	seq;
	uint32_t	klen;
	uint32_t	vlen;
};

/* record_size(klen, vlen): bytes of a whole record. */
static inline uint64_t
record_size(uint64_t klen, uint64_t vlen)
{
	return (RECORD_HEADER_SIZE + klen + vlen);
}

/*
 * record_encode(buf, type, seq, key, klen, value, vlen):
 * Write a complete record, checksum included, into buf, which must hold
 * record_size(klen, vlen) bytes.  value may be NULL when vlen is 0.
 */
void record_encode(void *buf, enum record_type type, uint64_t seq,
    const void *key, uint32_t klen, const void *value, uint32_t vlen);

/*
 * record_header_decode(buf, h):
 * Read the RECORD_HEADER_SIZE bytes at buf into h.  Returns 0 when the
 * header is well formed (known type, zero reserved bytes, 1 <= klen <=
 * RECORD_KEY_MAX, vlen <= RECORD_VALUE_MAX, vlen 0 for a delete), or -1 with
 * *why set to a short description of the first problem.
 */
int record_header_decode(const void *buf, struct record_header *h,
    const char **why);

/*
 * record_checksum(buf, len):
 * The checksum of a record of len bytes at buf (over bytes 4..len).
 */
uint32_t record_checksum(const void *buf, size_t len);

/*
 * record_verify(buf, len):
 * 1 when the record of len bytes at buf carries the right checksum, else 0.
 */
int record_verify(const void *buf, size_t len);

/*
 * record_find_next(buf, from, len, min_seq, out):
 * Search buf[from, len) for the first offset at which a whole valid record
 * (well-formed header, inside len, good checksum, seq > min_seq) starts.
 * Returns 1 and sets *out, or 0 when there is none.  Recovery uses it to
 * tell a torn tail (nothing valid follows) from damage in the middle.
 */
int record_find_next(const uint8_t *buf, uint64_t from, uint64_t len,
    uint64_t min_seq, uint64_t *out);

#endif /* !KVD_RECORD_H */
