/*
 * hint.h: hint files, the keys and record locations of one sealed segment.
 *
 * A hint file lists, in ascending key order, the newest record of each key
 * in its segment (puts and tombstones), so that startup can rebuild the
 * index by merging sorted lists instead of reading every value.  It names
 * the segment by id, nonce and size, and one checksum covers the whole file:
 * a hint that is stale, truncated, corrupt or has anything appended is
 * refused and the segment is scanned instead.  See kvd-format(5).
 */
#ifndef KVD_HINT_H
#define KVD_HINT_H

#include <stddef.h>
#include <stdint.h>

struct fileio;
struct segment;

#define HINT_MAGIC		"KVDHINT\n"
#define HINT_END_MAGIC		"KVDHEND\n"
#define HINT_VERSION		1
#define HINT_HEADER_SIZE	64
#define HINT_ENTRY_BASE		20
#define HINT_TRAILER_SIZE	24

/* One key's newest record in a segment. */
struct hint_entry {
	const uint8_t	*key;
	uint32_t	 klen;
	uint32_t	 off;
	uint32_t	 vlen;
	uint8_t		 type;		/* RECORD_PUT or RECORD_DELETE */
	uint64_t	 seq;
	uint64_t	 sortkey;	/* scan_newest's use only */
};

/* What a hint file says about its segment as a whole. */
struct hint_info {
	uint64_t	seg_id;
	uint64_t	seg_nonce;
	uint64_t	seg_size;
	uint64_t	min_seq;
	uint64_t	max_seq;
	uint64_t	count;
};

/*
 * hint_write(dirfd, io, seg, size, ents, n, min_seq, max_seq, err, errlen):
 * Write the hint of segment seg (of size bytes) from ents, which must be
 * sorted by key with one entry per key: to "<id>.hint.tmp", fdatasync, then
 * rename to "<id>.hint".  Returns 0 or -1 with one line in err (the
 * temporary file removed).
 */
int hint_write(int dirfd, const struct fileio *io, const struct segment *seg,
    uint64_t size, const struct hint_entry *ents, size_t n,
    uint64_t min_seq, uint64_t max_seq, char *err, size_t errlen);

/*
 * hint_validate(buf, len, seg, size, info, why):
 * Check a whole hint file in memory against segment seg of size bytes:
 * header, checksum, trailer, every entry in bounds and keys strictly
 * ascending.  Returns 0 with *info filled, or -1 with *why describing the
 * first problem.
 */
int hint_validate(const uint8_t *buf, size_t len, const struct segment *seg,
    uint64_t size, struct hint_info *info, const char **why);

/*
 * hint_next(buf, pos, e):
 * Decode the entry at byte offset *pos of a validated hint into e and move
 * *pos past it.  Entries start at HINT_HEADER_SIZE; there are info.count.
 */
void hint_next(const uint8_t *buf, size_t *pos, struct hint_entry *e);

#endif /* !KVD_HINT_H */
