/*
 * scan.c: walking a segment's records.  See scan.h.
 */
#include "config.h"

#include <setjmp.h>
#include <string.h>

#include "daemon/mapguard.h"
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

int
scan_push(struct scan *s, const struct hint_entry *e)
{
	if (vec_reserve(&s->mem, (s->n + 1) * sizeof(*e)) != 0)
		return (-1);
	s->ents = s->mem.p;
	s->ents[s->n++] = *e;
	return (0);
}

static int
scan_walk(const uint8_t *map, uint64_t size, uint64_t start, int collect,
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
			if (scan_push(s, &e) != 0)
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

int
scan_segment(const uint8_t *map, uint64_t size, uint64_t start, int collect,
    struct scan *s)
{
	struct mapguard g;
	uintptr_t at;
	int r;

	memset(s, 0, sizeof(*s));
	mapguard_arm(&g);
	if (sigsetjmp(g.env, 0) != 0) {
		mapguard_disarm(&g);
		at = (uintptr_t)g.addr - (uintptr_t)map;
		s->end = at < size ? at : size;
		s->tail = SCAN_UNREADABLE;
		s->why = "page cannot be read (the file was cut short under "
		    "kvd, or the disk failed to read it)";
		return (0);
	}
	r = scan_walk(map, size, start, collect, s);
	mapguard_disarm(&g);
	return (r);
}

static int
entcmp(const struct hint_entry *x, const struct hint_entry *y)
{
	size_t n = x->klen < y->klen ? x->klen : y->klen;
	int c = memcmp(x->key, y->key, n);

	if (c != 0)
		return (c);
	if (x->klen != y->klen)
		return (x->klen < y->klen ? -1 : 1);
	/* Newest first, so the first of a run of equal keys is the one kept. */
	return ((x->seq < y->seq) - (x->seq > y->seq));
}

static void
swap(struct hint_entry *a, struct hint_entry *b)
{
	struct hint_entry t = *a;

	*a = *b;
	*b = t;
}

/*
 * In-place quicksort (median of three, insertion sort below 16, recursion
 * on the smaller side): qsort's merge sort would want a second array as
 * large as the first.
 */
static void
sort_ents(struct hint_entry *v, size_t n)
{
	size_t i, j, mid;

	while (n > 16) {
		mid = n / 2;
		if (entcmp(&v[mid], &v[0]) < 0)
			swap(&v[mid], &v[0]);
		if (entcmp(&v[n - 1], &v[0]) < 0)
			swap(&v[n - 1], &v[0]);
		if (entcmp(&v[n - 1], &v[mid]) < 0)
			swap(&v[n - 1], &v[mid]);
		swap(&v[mid], &v[n - 2]);
		/* v[0] <= pivot (v[n-2]) <= v[n-1]: Hoare partition of [1, n-2). */
		i = 0;
		j = n - 2;
		for (;;) {
			while (entcmp(&v[++i], &v[n - 2]) < 0)
				;
			while (entcmp(&v[n - 2], &v[--j]) < 0)
				;
			if (i >= j)
				break;
			swap(&v[i], &v[j]);
		}
		swap(&v[i], &v[n - 2]);
		if (i < n - i - 1) {
			sort_ents(v, i);
			v += i + 1;
			n -= i + 1;
		} else {
			sort_ents(v + i + 1, n - i - 1);
			n = i;
		}
	}
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && entcmp(&v[j], &v[j - 1]) < 0; j--)
			swap(&v[j], &v[j - 1]);
}

int
scan_newest(struct scan *s)
{
	size_t i, j;

	if (s->n == 0)
		return (0);
	sort_ents(s->ents, s->n);
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
	vec_free(&s->mem);
	s->ents = NULL;
	s->n = 0;
}
