/*
 * segment.c: segment files.  See segment.h.
 */
#include "config.h"

#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <xxhash.h>

#include "daemon/byteorder.h"
#include "daemon/fileio.h"
#include "daemon/segment.h"

void
segment_filename(char buf[SEGMENT_NAME_MAX], uint64_t id,
    enum segment_file kind)
{
	const char *suffix = kind == SEGMENT_FILE_HINT ? ".hint" :
	    kind == SEGMENT_FILE_TMP ? ".seg.tmp" : ".seg";

	snprintf(buf, SEGMENT_NAME_MAX, "%016" PRIx64 "%s", id, suffix);
}

enum segment_file
segment_parse_name(const char *name, uint64_t *id)
{
	size_t len = strlen(name), i;
	uint64_t v = 0;
	const char *rest;

	if (len > 4 && strcmp(name + len - 4, ".tmp") == 0)
		return (SEGMENT_FILE_TMP);
	if (strcmp(name, SEGMENT_SPARE_NAME) == 0)
		return (SEGMENT_FILE_SPARE);
	if (len < 17)
		return (SEGMENT_FILE_OTHER);
	for (i = 0; i < 16; i++) {
		char c = name[i];

		if (c >= '0' && c <= '9')
			v = v << 4 | (uint64_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v = v << 4 | (uint64_t)(c - 'a' + 10);
		else
			return (SEGMENT_FILE_OTHER);
	}
	rest = name + 16;
	*id = v;
	if (strcmp(rest, ".seg") == 0)
		return (SEGMENT_FILE_SEG);
	if (strcmp(rest, ".hint") == 0)
		return (SEGMENT_FILE_HINT);
	return (SEGMENT_FILE_OTHER);
}

size_t
segment_header_size(uint32_t ninputs)
{
	return (SEGMENT_HEADER_BASE + (size_t)ninputs * 8);
}

void
segment_header_encode(uint8_t *buf, uint64_t id, uint64_t nonce,
    uint16_t flags, const uint64_t *inputs, uint32_t ninputs)
{
	size_t len = segment_header_size(ninputs), i;

	memcpy(buf, SEGMENT_MAGIC, 8);
	le16_put(buf + 8, SEGMENT_VERSION);
	le16_put(buf + 10, flags);
	le32_put(buf + 12, (uint32_t)len);
	le64_put(buf + 16, id);
	le64_put(buf + 24, nonce);
	le32_put(buf + 32, ninputs);
	le32_put(buf + 36, 0);
	for (i = 0; i < ninputs; i++)
		le64_put(buf + 40 + 8 * i, inputs[i]);
	le64_put(buf + len - 8, XXH3_64bits(buf, len - 8));
}

int
segment_header_decode(const uint8_t *buf, size_t avail,
    struct segment_header *h, const char **why)
{
	size_t len, i;

	memset(h, 0, sizeof(*h));
	if (avail < SEGMENT_HEADER_BASE) {
		*why = "short";
		return (-1);
	}
	if (memcmp(buf, SEGMENT_MAGIC, 8) != 0) {
		*why = "bad magic (not a kvd segment)";
		return (-1);
	}
	h->version = le16_get(buf + 8);
	h->flags = le16_get(buf + 10);
	h->len = le32_get(buf + 12);
	h->id = le64_get(buf + 16);
	h->nonce = le64_get(buf + 24);
	h->ninputs = le32_get(buf + 32);
	if (h->version != SEGMENT_VERSION) {
		*why = "unsupported segment format version";
		return (-1);
	}
	if (h->ninputs > SEGMENT_MAX_INPUTS ||
	    h->len != segment_header_size(h->ninputs) ||
	    le32_get(buf + 36) != 0 || (h->flags & ~SEGMENT_FLAG_COMPACTED)) {
		*why = "malformed segment header";
		return (-1);
	}
	len = h->len;
	if (avail < len) {
		*why = "short";
		return (-1);
	}
	if (le64_get(buf + len - 8) != XXH3_64bits(buf, len - 8)) {
		*why = "segment header checksum mismatch";
		return (-1);
	}
	if (h->ninputs > 0) {
		if ((h->inputs = calloc(h->ninputs, sizeof(uint64_t))) == NULL) {
			*why = "out of memory";
			return (-1);
		}
		for (i = 0; i < h->ninputs; i++)
			h->inputs[i] = le64_get(buf + 40 + 8 * i);
	}
	return (0);
}

uint64_t
segment_nonce(void)
{
	uint64_t v;
	struct timespec ts;

	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) == (ssize_t)sizeof(v))
		return (v);
	/* Only to tell files apart, not for secrecy: time and pid will do. */
	clock_gettime(CLOCK_REALTIME, &ts);
	return (XXH3_64bits(&ts, sizeof(ts)) ^ (uint64_t)getpid());
}

static struct segment *
segment_alloc(uint64_t id, const char *name)
{
	struct segment *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return (NULL);
	s->id = id;
	s->fd = -1;
	snprintf(s->name, sizeof(s->name), "%s", name);
	atomic_init(&s->written, 0);
	atomic_init(&s->sealed, 0);
	return (s);
}

int
segment_remap(struct segment *s, size_t len, char *err, size_t errlen)
{
	void *m;

	if (s->map != NULL)
		munmap(s->map, s->maplen);
	s->map = NULL;
	s->maplen = 0;
	if (len == 0)
		return (0);
	if ((m = mmap(NULL, len, PROT_READ, MAP_SHARED, s->fd, 0)) ==
	    MAP_FAILED) {
		snprintf(err, errlen, "%s: mmap: %s", s->name, strerror(errno));
		return (-1);
	}
	s->map = m;
	s->maplen = len;
	return (0);
}

int
segment_create(int dirfd, const struct fileio *io, const char *name,
    uint64_t id, uint16_t flags, const uint64_t *inputs, uint32_t ninputs,
    uint64_t cap, int preallocate, struct segment **out, char *err,
    size_t errlen)
{
	struct segment *s;
	uint8_t *hdr = NULL;
	size_t hlen = segment_header_size(ninputs);

	if ((s = segment_alloc(id, name)) == NULL ||
	    (hdr = malloc(hlen)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", name);
		goto err0;
	}
	if (ninputs > 0) {
		if ((s->inputs = calloc(ninputs, sizeof(uint64_t))) == NULL) {
			snprintf(err, errlen, "%s: out of memory", name);
			goto err0;
		}
		memcpy(s->inputs, inputs, ninputs * sizeof(uint64_t));
	}
	s->ninputs = ninputs;
	s->flags = flags;
	s->nonce = segment_nonce();
	s->hdr_len = (uint32_t)hlen;
	if (cap < hlen)
		cap = hlen;
	s->cap = cap;
	if ((s->fd = openat(dirfd, name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC,
	    0644)) < 0) {
		snprintf(err, errlen, "%s: create: %s", name, strerror(errno));
		goto err0;
	}
	segment_header_encode(hdr, id, s->nonce, flags, inputs, ninputs);
	if (preallocate && io->fallocate(io->arg, s->fd, (off_t)cap) != 0) {
		snprintf(err, errlen, "%s: preallocating %" PRIu64 " bytes: %s",
		    name, cap, strerror(errno));
		goto err1;
	}
	s->preallocated = preallocate;
	if (io->pwrite(io->arg, s->fd, hdr, hlen, 0) != 0) {
		snprintf(err, errlen, "%s: writing header: %s", name,
		    strerror(errno));
		goto err1;
	}
	if (segment_remap(s, (size_t)cap, err, errlen) != 0)
		goto err1;
	s->end = hlen;
	atomic_store(&s->written, hlen);
	free(hdr);
	*out = s;
	return (0);
err1:
	/* Nothing was acknowledged into it: a half-made file would only confuse recovery. */
	(void)io->unlinkat(io->arg, dirfd, name);
err0:
	free(hdr);
	segment_free(s);
	return (-1);
}

int
segment_adopt(const struct fileio *io, int fd, const char *name, uint64_t id,
    uint64_t cap, struct segment **out, char *err, size_t errlen)
{
	struct segment *s;
	uint8_t hdr[SEGMENT_HEADER_BASE];
	size_t hlen = segment_header_size(0);

	if ((s = segment_alloc(id, name)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", name);
		return (-1);
	}
	s->nonce = segment_nonce();
	s->hdr_len = (uint32_t)hlen;
	s->cap = cap;
	segment_header_encode(hdr, id, s->nonce, 0, NULL, 0);
	if (io->pwrite(io->arg, fd, hdr, hlen, 0) != 0) {
		snprintf(err, errlen, "%s: writing header: %s", name,
		    strerror(errno));
		segment_free(s);
		return (-1);
	}
	s->fd = fd;
	if (segment_remap(s, (size_t)cap, err, errlen) != 0) {
		s->fd = -1;
		segment_free(s);
		return (-1);
	}
	s->preallocated = 1;
	s->end = hlen;
	atomic_store(&s->written, hlen);
	*out = s;
	return (0);
}

int
segment_open(int dirfd, const char *name, uint64_t id, int writable,
    struct segment **out, uint64_t *size, char *err, size_t errlen)
{
	struct segment *s;
	struct stat st;

	if ((s = segment_alloc(id, name)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", name);
		return (-1);
	}
	if ((s->fd = openat(dirfd, name, (writable ? O_RDWR : O_RDONLY) |
	    O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "%s: open: %s", name, strerror(errno));
		goto err;
	}
	if (fstat(s->fd, &st) != 0) {
		snprintf(err, errlen, "%s: stat: %s", name, strerror(errno));
		goto err;
	}
	if ((uint64_t)st.st_size > UINT32_MAX) {
		snprintf(err, errlen, "%s: file of %jd bytes is larger than any "
		    "segment can be", name, (intmax_t)st.st_size);
		goto err;
	}
	if (segment_remap(s, (size_t)st.st_size, err, errlen) != 0)
		goto err;
	*size = (uint64_t)st.st_size;
	*out = s;
	return (0);
err:
	segment_free(s);
	return (-1);
}

void
segment_free(struct segment *s)
{
	if (s == NULL)
		return;
	if (s->map != NULL)
		munmap(s->map, s->maplen);
	if (s->fd >= 0)
		close(s->fd);
	free(s->inputs);
	free(s);
}
