/*
 * scan.c: walking a segment's records.  See scan.h.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "daemon/record.h"
#include "daemon/scan.h"

int
scan_is_zero(const uint8_t *p, uint64_t n)
{
	static const uint8_t zero[4096];
	uint64_t k;

	while (n > 0) {
		k = n < sizeof(zero) ? n : sizeof(zero);
		if (memcmp(p, zero, (size_t)k) != 0)
			return (0);
		p += k;
		n -= k;
	}
	return (1);
}

static int
push(struct scan *s, const struct hint_entry *e)
{
	struct hint_entry *n;
	size_t cap;

	if (s->n == s->cap) {
		cap = s->cap ? s->cap * 2 : 1024;
		if ((n = realloc(s->ents, cap * sizeof(*n))) == NULL)
			return (-1);
		s->ents = n;
		s->cap = cap;
	}
	s->ents[s->n++] = *e;
	return (0);
}

int
scan_segment(const uint8_t *map, uint64_t size, uint64_t start, int collect,
    struct scan *s)
{
	struct record_header h;
	struct hint_entry e;
	uint64_t off = start, rs = 0;
	const char *why;

	memset(s, 0, sizeof(*s));
	while (off < size) {
		why = NULL;
		if (size - off < RECORD_HEADER_SIZE)
			why = "record header cut short by the end of the file";
		else if (record_header_decode(map + off, &h, &why) != 0)
			;
		else if ((rs = record_size(h.klen, h.vlen)) > size - off)
			why = "record runs past the end of the file";
		else if (!record_verify(map + off, (size_t)rs))
			why = "record checksum mismatch";
		if (why != NULL) {
			s->end = off;
			s->why = why;
			if (scan_is_zero(map + off, size - off))
				s->tail = SCAN_ZERO;
			else if (record_find_next(map, off + 1, size, s->max_seq,
			    &s->resume))
				s->tail = SCAN_DAMAGED;
			else
				s->tail = SCAN_TORN;
			return (0);
		}
		if (collect) {
			e.key = map + off + RECORD_HEADER_SIZE;
			e.klen = h.klen;
			e.off = (uint32_t)off;
			e.vlen = h.vlen;
			e.type = h.type;
			e.seq = h.seq;
			if (push(s, &e) != 0)
				return (-1);
		}
		if (s->min_seq == 0 || h.seq < s->min_seq)
			s->min_seq = h.seq;
		if (h.seq > s->max_seq)
			s->max_seq = h.seq;
		s->total += rs;
		off += rs;
	}
	s->end = off;
	s->tail = SCAN_CLEAN;
	return (0);
}

static int
entcmp(const void *a, const void *b)
{
	const struct hint_entry *x = a, *y = b;
	size_t n = x->klen < y->klen ? x->klen : y->klen;
	int c = memcmp(x->key, y->key, n);

	if (c != 0)
		return (c);
	if (x->klen != y->klen)
		return (x->klen < y->klen ? -1 : 1);
	/* Newest first, so the first of a run of equal keys is the one kept. */
	return ((x->seq < y->seq) - (x->seq > y->seq));
}

int
scan_newest(struct scan *s)
{
	size_t i, j;

	if (s->n == 0)
		return (0);
	qsort(s->ents, s->n, sizeof(s->ents[0]), entcmp);
	for (i = 1, j = 0; i < s->n; i++) {
		if (s->ents[i].klen == s->ents[j].klen &&
		    memcmp(s->ents[i].key, s->ents[j].key, s->ents[i].klen) == 0)
			continue;
		s->ents[++j] = s->ents[i];
	}
	s->n = j + 1;
	return (0);
}

void
scan_free(struct scan *s)
{
	free(s->ents);
	s->ents = NULL;
	s->n = s->cap = 0;
}
