/*
 * segment.h: segment files, the numbered append-only logs of a data
 * directory.
 *
 * A segment starts with a header (magic, version, flags, id, a random nonce,
 * and for a compaction output the ids of the segments it replaces, all under
 * a checksum), then records back to back.  Segments are read through a
 * read-only shared mapping; writes go through struct fileio.  See
 * kvd-format(5).
 */
#ifndef KVD_SEGMENT_H
#define KVD_SEGMENT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct fileio;

#define SEGMENT_MAGIC		"KVDSEG\r\n"
#define SEGMENT_VERSION		1
#define SEGMENT_HEADER_BASE	48	/* header without input ids */
#define SEGMENT_MAX_INPUTS	4096
#define SEGMENT_FLAG_COMPACTED	0x1	/* written by compaction, never torn */

/* File name kinds in a data directory. */
enum segment_file {
	SEGMENT_FILE_SEG,	/* 0123456789abcdef.seg */
	SEGMENT_FILE_HINT,	/* 0123456789abcdef.hint */
	SEGMENT_FILE_TMP,	/* anything ending in .tmp */
	SEGMENT_FILE_SPARE,	/* SEGMENT_SPARE_NAME */
	SEGMENT_FILE_OTHER,
};

/*
 * A file of zeros made ahead of the next segment (see spare.h): not part
 * of the data, removed at start.
 */
#define SEGMENT_SPARE_NAME	"spare.seg.zero"

#define SEGMENT_NAME_MAX	40

struct segment_header {
	uint16_t	version;
	uint16_t	flags;
	uint32_t	len;		/* header bytes; records start here */
	uint64_t	id;
	uint64_t	nonce;
	uint32_t	ninputs;
	uint64_t	*inputs;	/* malloc'd, ninputs ids */
};

struct segment {
	uint64_t	 id;
	uint64_t	 nonce;
	uint16_t	 flags;
	uint32_t	 hdr_len;
	uint64_t	*inputs;
	uint32_t	 ninputs;
	int		 fd;
	uint8_t		*map;		/* read-only view of [0, maplen) */
	size_t		 maplen;
	char		 name[SEGMENT_NAME_MAX];

	/* Owned by the engine's loop thread. */
	uint64_t	 end;		/* end of the records appended so far */
	uint64_t	 cap;		/* rotate before end passes this */
	uint64_t	 min_seq;	/* 0: no records */
	uint64_t	 max_seq;
	uint64_t	 total;		/* record bytes */
	uint64_t	 live;		/* bytes of records the index points at */
	uint64_t	 tomb;		/* bytes of tombstones */
	int		 active;	/* the segment being appended to */
	int		 has_hint;
	int		 busy;		/* a background job reads it */
	int		 unreadable;	/* compaction found damage: not tried again until the next open */
	int		 preallocated;
	int		 dirsynced;	/* its directory entry is durable */

	/* Set by the sync thread, read anywhere. */
	_Atomic uint64_t written;	/* bytes in the file: reads below use map */
	atomic_int	 sealed;	/* truncated to end and synced */
};

/*
 * segment_filename(buf, id, kind):
 * Write the file name of segment id of the given kind ("%016x.seg",
 * ".hint", ".seg.tmp" for SEGMENT_FILE_TMP) into buf.
 */
void segment_filename(char buf[SEGMENT_NAME_MAX], uint64_t id,
    enum segment_file kind);

/*
 * segment_parse_name(name, id):
 * The kind of a directory entry; *id is set for SEG and HINT.
 */
enum segment_file segment_parse_name(const char *name, uint64_t *id);

/*
 * segment_header_encode(buf, id, nonce, flags, inputs, ninputs):
 * Write a header into buf (segment_header_size(ninputs) bytes).
 */
void segment_header_encode(uint8_t *buf, uint64_t id, uint64_t nonce,
    uint16_t flags, const uint64_t *inputs, uint32_t ninputs);

/* segment_header_size(ninputs): bytes of a header listing ninputs ids. */
size_t segment_header_size(uint32_t ninputs);

/*
 * segment_header_decode(buf, avail, h, why):
 * Parse and verify the header at the start of avail bytes.  Returns 0 with
 * h filled (h->inputs malloc'd, free it), or -1 with *why set: "short" when
 * avail cannot hold it, else what is wrong.
 */
int segment_header_decode(const uint8_t *buf, size_t avail,
    struct segment_header *h, const char **why);

/*
 * segment_create(dirfd, io, name, id, flags, inputs, ninputs, cap,
 *     preallocate, out, err, errlen):
 * Create the file name (which must not exist), write its header and, when
 * preallocate is set, reserve cap bytes.  The result is mapped for cap
 * bytes.  The header is not synced.  inputs is copied.  Returns 0 or -1 with
 * one line in err.
 */
int segment_create(int dirfd, const struct fileio *io, const char *name,
    uint64_t id, uint16_t flags, const uint64_t *inputs, uint32_t ninputs,
    uint64_t cap, int preallocate, struct segment **out, char *err,
    size_t errlen);

/*
 * segment_adopt(io, fd, name, id, cap, out, err, errlen):
 * segment_create() of a log segment (no flags, no inputs) in fd, an open
 * file already named name that holds cap bytes of zeros already on disk:
 * only the header is written.  On success the segment owns fd; on failure
 * the caller still does.
 */
int segment_adopt(const struct fileio *io, int fd, const char *name,
    uint64_t id, uint64_t cap, struct segment **out, char *err, size_t errlen);

/*
 * segment_open(dirfd, name, id, writable, out, size, err, errlen):
 * Open an existing segment file and map its size.  The header is not
 * parsed (recovery decides what a bad header means); *size is the file size.
 * Returns 0 or -1 with one line in err.
 */
int segment_open(int dirfd, const char *name, uint64_t id, int writable,
    struct segment **out, uint64_t *size, char *err, size_t errlen);

/*
 * segment_remap(s, len, err, errlen):
 * Map len bytes of s instead of the current view (for appending past the
 * file's size).  Returns 0 or -1.
 */
int segment_remap(struct segment *s, size_t len, char *err, size_t errlen);

/* segment_free(s): unmap, close and free s.  NULL is a no-op. */
void segment_free(struct segment *s);

/* segment_nonce(): a random 64-bit value for a new segment. */
uint64_t segment_nonce(void);

#endif /* !KVD_SEGMENT_H */
