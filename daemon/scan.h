/*
 * scan.h: reading a segment's records one after another.
 *
 * Recovery, hint generation, engine_check and engine_repair all walk a
 * segment the same way; this is that walk.  It verifies every record and
 * stops at the first bad one, then says what follows it: only zero bytes
 * (preallocated space), nothing valid (a torn tail), or more valid records
 * (damage in the middle of the log).
 */
#ifndef KVD_SCAN_H
#define KVD_SCAN_H

#include <stddef.h>
#include <stdint.h>

#include "daemon/hint.h"
#include "daemon/vec.h"

enum scan_tail {
	SCAN_CLEAN,	/* the records end exactly at the end of the file */
	SCAN_ZERO,	/* only zero bytes follow the last record */
	SCAN_TORN,	/* a bad record, and nothing valid after it */
	SCAN_DAMAGED,	/* a bad record, and valid records after it */
	SCAN_UNREADABLE, /* a page the kernel cannot supply, at end */
};

struct scan {
	struct hint_entry	*ents;		/* every valid record, in file order */
	size_t			 n;
	struct vec		 mem;		/* where ents lives */
	uint64_t		 end;		/* offset after the last valid record */
	uint64_t		 min_seq;	/* 0 when no records */
	uint64_t		 max_seq;
	uint64_t		 total;		/* bytes of valid records */
	enum scan_tail		 tail;
	const char		*why;		/* what is wrong at end (TORN, DAMAGED) */
	uint64_t		 resume;	/* DAMAGED: the next valid record */
};

/*
 * scan_segment(map, size, start, collect, s):
 * Walk the records of map[start, size).  With collect set, s->ents lists
 * every valid record before the first bad one (keys point into map).  A
 * page of the mapping the kernel cannot supply (the file was cut short
 * under the mapping, or the disk failed to read it) ends the walk with
 * SCAN_UNREADABLE and end at the byte that faulted, when the program
 * installed mapguard's handler (see mapguard.h).  Returns 0, or -1 when
 * memory is short.
 */
int scan_segment(const uint8_t *map, uint64_t size, uint64_t start,
    int collect, struct scan *s);

/*
 * scan_newest(s):
 * Sort s->ents by key (in place) and keep only the newest record of each
 * key: the order hint_write wants.  Returns 0.
 */
int scan_newest(struct scan *s);

/* scan_push(s, e): append e to s->ents.  Returns 0, or -1 when memory is short. */
int scan_push(struct scan *s, const struct hint_entry *e);

/* scan_is_zero(p, n): 1 when n bytes at p are all zero. */
int scan_is_zero(const uint8_t *p, uint64_t n);

/* scan_free(s): free s->ents (s itself is the caller's). */
void scan_free(struct scan *s);

#endif /* !KVD_SCAN_H */
