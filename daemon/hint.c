/*
 * hint.c: hint files.  See hint.h.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xxhash.h>

#include "daemon/byteorder.h"
#include "daemon/fileio.h"
#include "daemon/hint.h"
#include "daemon/record.h"
#include "daemon/segment.h"
#include "daemon/vec.h"

int
hint_write(int dirfd, const struct fileio *io, const struct segment *seg,
    uint64_t size, const struct hint_entry *ents, size_t n, uint64_t min_seq,
    uint64_t max_seq, char *err, size_t errlen)
{
	char name[SEGMENT_NAME_MAX], tmp[SEGMENT_NAME_MAX + 8];
	struct vec mem = { NULL, 0 };
	uint8_t *buf, *p;
	size_t len = HINT_HEADER_SIZE + HINT_TRAILER_SIZE, i;
	int fd = -1;

	for (i = 0; i < n; i++)
		len += HINT_ENTRY_BASE + ents[i].klen;
	segment_filename(name, seg->id, SEGMENT_FILE_HINT);
	snprintf(tmp, sizeof(tmp), "%s.tmp", name);
	if (vec_reserve(&mem, len) != 0) {
		snprintf(err, errlen, "%s: out of memory", name);
		return (-1);
	}
	buf = mem.p;
	p = buf;
	memcpy(p, HINT_MAGIC, 8);
	le16_put(p + 8, HINT_VERSION);
	le16_put(p + 10, 0);
	le32_put(p + 12, HINT_HEADER_SIZE);
	le64_put(p + 16, seg->id);
	le64_put(p + 24, seg->nonce);
	le64_put(p + 32, size);
	le64_put(p + 40, min_seq);
	le64_put(p + 48, max_seq);
	le64_put(p + 56, 0);
	p += HINT_HEADER_SIZE;
	for (i = 0; i < n; i++) {
		le64_put(p, ents[i].seq);
		le32_put(p + 8, ents[i].off);
		le32_put(p + 12, ents[i].vlen);
		le16_put(p + 16, (uint16_t)ents[i].klen);
		p[18] = ents[i].type;
		p[19] = 0;
		memcpy(p + HINT_ENTRY_BASE, ents[i].key, ents[i].klen);
		p += HINT_ENTRY_BASE + ents[i].klen;
	}
	le64_put(p, n);
	le64_put(p + 8, XXH3_64bits(buf, (size_t)(p + 8 - buf)));
	memcpy(p + 16, HINT_END_MAGIC, 8);

	if ((fd = openat(dirfd, tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644)) < 0) {
		snprintf(err, errlen, "%s: create: %s", tmp, strerror(errno));
		goto err;
	}
	if (io->pwrite(io->arg, fd, buf, len, 0) != 0) {
		snprintf(err, errlen, "%s: write: %s", tmp, strerror(errno));
		goto err;
	}
	if (io->fdatasync(io->arg, fd) != 0) {
		snprintf(err, errlen, "%s: fdatasync: %s", tmp, strerror(errno));
		goto err;
	}
	close(fd);
	fd = -1;
	/* A hint only saves reading: no directory sync, a lost one is rebuilt. */
	if (io->renameat(io->arg, dirfd, tmp, name) != 0) {
		snprintf(err, errlen, "%s: rename to %s: %s", tmp, name,
		    strerror(errno));
		goto err;
	}
	vec_free(&mem);
	return (0);
err:
	if (fd >= 0)
		close(fd);
	(void)io->unlinkat(io->arg, dirfd, tmp);
	vec_free(&mem);
	return (-1);
}

static int
keycmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	size_t n = alen < blen ? alen : blen;
	int c = memcmp(a, b, n);

	if (c != 0)
		return (c);
	return ((alen > blen) - (alen < blen));
}

void
hint_next(const uint8_t *buf, size_t *pos, struct hint_entry *e)
{
	const uint8_t *p = buf + *pos;

	e->seq = le64_get(p);
	e->off = le32_get(p + 8);
	e->vlen = le32_get(p + 12);
	e->klen = le16_get(p + 16);
	e->type = p[18];
	e->key = p + HINT_ENTRY_BASE;
	*pos += HINT_ENTRY_BASE + e->klen;
}

int
hint_validate(const uint8_t *buf, size_t len, const struct segment *seg,
    uint64_t size, struct hint_info *info, const char **why)
{
	size_t pos, end;
	uint64_t n = 0;
	struct hint_entry e, prev = { NULL, 0, 0, 0, 0, 0, 0 };
	const uint8_t *t;

	if (len < HINT_HEADER_SIZE + HINT_TRAILER_SIZE) {
		*why = "shorter than a header and trailer";
		return (-1);
	}
	if (memcmp(buf, HINT_MAGIC, 8) != 0) {
		*why = "bad magic";
		return (-1);
	}
	if (le16_get(buf + 8) != HINT_VERSION || le16_get(buf + 10) != 0 ||
	    le32_get(buf + 12) != HINT_HEADER_SIZE || le64_get(buf + 56) != 0) {
		*why = "unsupported version or malformed header";
		return (-1);
	}
	t = buf + len - HINT_TRAILER_SIZE;
	if (memcmp(t + 16, HINT_END_MAGIC, 8) != 0) {
		*why = "truncated or has bytes appended (no end marker)";
		return (-1);
	}
	if (le64_get(t + 8) != XXH3_64bits(buf, len - 16)) {
		*why = "checksum mismatch";
		return (-1);
	}
	info->seg_id = le64_get(buf + 16);
	info->seg_nonce = le64_get(buf + 24);
	info->seg_size = le64_get(buf + 32);
	info->min_seq = le64_get(buf + 40);
	info->max_seq = le64_get(buf + 48);
	info->count = le64_get(t);
	if (info->seg_id != seg->id || info->seg_nonce != seg->nonce ||
	    info->seg_size != size) {
		*why = "stale (written for another version of the segment)";
		return (-1);
	}
	pos = HINT_HEADER_SIZE;
	end = len - HINT_TRAILER_SIZE;
	while (pos < end) {
		if (end - pos < HINT_ENTRY_BASE) {
			*why = "entry runs past the end";
			return (-1);
		}
		hint_next(buf, &pos, &e);
		if (pos > end) {
			*why = "entry runs past the end";
			return (-1);
		}
		if (e.klen == 0 || e.klen > RECORD_KEY_MAX ||
		    (e.type != RECORD_PUT && e.type != RECORD_DELETE) ||
		    buf[pos - e.klen - 1] != 0 ||
		    (e.type == RECORD_DELETE && e.vlen != 0) ||
		    e.vlen > RECORD_VALUE_MAX) {
			*why = "malformed entry";
			return (-1);
		}
		if (e.off < seg->hdr_len ||
		    e.off + record_size(e.klen, e.vlen) > size) {
			*why = "entry points outside its segment";
			return (-1);
		}
		if (e.seq < info->min_seq || e.seq > info->max_seq) {
			*why = "entry sequence number outside the header's range";
			return (-1);
		}
		if (n > 0 && keycmp(prev.key, prev.klen, e.key, e.klen) >= 0) {
			*why = "keys out of order";
			return (-1);
		}
		prev = e;
		n++;
	}
	if (n != info->count) {
		*why = "entry count mismatch";
		return (-1);
	}
	return (0);
}
