/*
 * recover.c: rebuilding state from the data directory.  See recover.h.
 */
#include "config.h"

#include <sys/mman.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/btree.h"
#include "daemon/engine-int.h"
#include "daemon/fileio.h"
#include "daemon/hint.h"
#include "daemon/record.h"
#include "daemon/recover.h"
#include "daemon/scan.h"
#include "daemon/segment.h"

/* One segment file found in the directory. */
struct cand {
	uint64_t	 id;
	struct segment	*seg;
	uint64_t	 size;
	int		 hdr_ok;
	const char	*hdr_why;
	int		 superseded;	/* a finished compaction replaced it */
	int		 empty;		/* a newest log segment holding no record */
	int		 hinted;
	uint8_t		*hmap;		/* its hint file, mapped */
	size_t		 hlen;
	struct hint_info hinfo;
	struct scan	 scan;
};

struct dirlist {
	struct cand	*c;
	size_t		 n;
	uint64_t	*hints;
	size_t		 nhints;
	uint64_t	 max_id;
};

static int
candcmp(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;

	return ((x->id > y->id) - (x->id < y->id));
}

static struct cand *
cand_find(const struct dirlist *dl, uint64_t id)
{
	size_t lo = 0, hi = dl->n, mid;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		if (dl->c[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (lo < dl->n && dl->c[lo].id == id ? &dl->c[lo] : NULL);
}

static void
dirlist_free(struct dirlist *dl)
{
	size_t i;

	for (i = 0; i < dl->n; i++) {
		segment_free(dl->c[i].seg);
		if (dl->c[i].hmap != NULL)
			munmap(dl->c[i].hmap, dl->c[i].hlen);
		scan_free(&dl->c[i].scan);
	}
	free(dl->c);
	free(dl->hints);
}

/* List segment and hint files; remove leftover temporary files. */
static int
list_dir(struct engine *e, struct dirlist *dl, char *err, size_t errlen)
{
	DIR *d;
	struct dirent *de;
	uint64_t id;
	size_t capc = 0, caph = 0;
	int fd;

	memset(dl, 0, sizeof(*dl));
	if ((fd = dup(e->dirfd)) < 0 || (d = fdopendir(fd)) == NULL) {
		snprintf(err, errlen, "%s: cannot read directory: %s", e->dir,
		    strerror(errno));
		if (fd >= 0)
			close(fd);
		return (ENGINE_EIO);
	}
	rewinddir(d);
	while ((errno = 0, de = readdir(d)) != NULL) {
		switch (segment_parse_name(de->d_name, &id)) {
		case SEGMENT_FILE_TMP:
			/* An unfinished compaction, hint or repair: never committed. */
			if (e->io->unlinkat(e->io->arg, e->dirfd, de->d_name) == 0)
				engine_log(e, ENGINE_LOG_INFO, "%s: removed "
				    "unfinished temporary file", de->d_name);
			continue;
		case SEGMENT_FILE_SPARE:
			/* Zeros made for a segment that never came: remade later. */
			(void)e->io->unlinkat(e->io->arg, e->dirfd, de->d_name);
			continue;
		case SEGMENT_FILE_SEG:
			if (dl->n == capc) {
				struct cand *n;

				capc = capc ? capc * 2 : 16;
				if ((n = realloc(dl->c, capc * sizeof(*n))) ==
				    NULL)
					goto nomem;
				dl->c = n;
			}
			memset(&dl->c[dl->n], 0, sizeof(dl->c[0]));
			dl->c[dl->n++].id = id;
			break;
		case SEGMENT_FILE_HINT:
			if (dl->nhints == caph) {
				uint64_t *n;

				caph = caph ? caph * 2 : 16;
				if ((n = realloc(dl->hints, caph *
				    sizeof(*n))) == NULL)
					goto nomem;
				dl->hints = n;
			}
			dl->hints[dl->nhints++] = id;
			break;
		default:
			continue;
		}
		if (id > dl->max_id)
			dl->max_id = id;
	}
	if (errno != 0) {
		snprintf(err, errlen, "%s: reading directory: %s", e->dir,
		    strerror(errno));
		closedir(d);
		return (ENGINE_EIO);
	}
	closedir(d);
	if (dl->n > 1)
		qsort(dl->c, dl->n, sizeof(dl->c[0]), candcmp);
	return (0);
nomem:
	closedir(d);
	snprintf(err, errlen, "%s: out of memory listing the directory", e->dir);
	return (ENGINE_ENOMEM);
}

static int
open_cand(struct engine *e, struct cand *c, char *err, size_t errlen)
{
	struct segment_header h;
	char name[SEGMENT_NAME_MAX];

	segment_filename(name, c->id, SEGMENT_FILE_SEG);
	if (c->id > UINT32_MAX) {
		snprintf(err, errlen, "%s: segment id beyond what the index "
		    "can address", name);
		return (ENGINE_ECORRUPT);
	}
	if (segment_open(e->dirfd, name, c->id, 1, &c->seg, &c->size, err,
	    errlen) != 0)
		return (ENGINE_EIO);
	if (segment_header_decode(c->seg->map, (size_t)c->size, &h,
	    &c->hdr_why) != 0) {
		c->hdr_ok = 0;
		return (0);
	}
	if (h.id != c->id) {
		free(h.inputs);
		c->hdr_ok = 0;
		c->hdr_why = "header names another segment id";
		return (0);
	}
	c->hdr_ok = 1;
	c->seg->nonce = h.nonce;
	c->seg->flags = h.flags;
	c->seg->hdr_len = h.len;
	c->seg->inputs = h.inputs;
	c->seg->ninputs = h.ninputs;
	return (0);
}

static int
is_log(const struct cand *c)
{
	return (c->hdr_ok && !(c->seg->flags & SEGMENT_FLAG_COMPACTED));
}

/* Holds no record: a header (maybe torn) and zeros at most. */
static int
holds_nothing(const struct cand *c)
{
	uint64_t from = c->hdr_ok ? c->seg->hdr_len : SEGMENT_HEADER_BASE;

	if (c->size <= from)
		return (1);
	return (scan_is_zero(c->seg->map + from, c->size - from));
}

static void
load_hint(struct engine *e, const struct dirlist *dl, struct cand *c)
{
	char name[SEGMENT_NAME_MAX];
	struct stat st;
	const char *why;
	void *m;
	size_t i;
	int fd;

	for (i = 0; i < dl->nhints; i++)
		if (dl->hints[i] == c->id)
			break;
	if (i == dl->nhints)
		return;
	segment_filename(name, c->id, SEGMENT_FILE_HINT);
	if ((fd = openat(e->dirfd, name, O_RDONLY | O_CLOEXEC)) < 0) {
		engine_log(e, ENGINE_LOG_WARN, "%s: cannot open (%s); scanning "
		    "the segment instead", name, strerror(errno));
		return;
	}
	if (fstat(fd, &st) != 0 || st.st_size == 0 ||
	    (m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd,
	    0)) == MAP_FAILED) {
		engine_log(e, ENGINE_LOG_WARN, "%s: cannot map (empty or "
		    "unreadable); scanning the segment instead", name);
		close(fd);
		return;
	}
	close(fd);
	if (hint_validate(m, (size_t)st.st_size, c->seg, c->size, &c->hinfo,
	    &why) != 0) {
		engine_log(e, ENGINE_LOG_WARN, "%s: %s; scanning the segment "
		    "instead", name, why);
		munmap(m, (size_t)st.st_size);
		return;
	}
	c->hmap = m;
	c->hlen = (size_t)st.st_size;
	c->hinted = 1;
}

/* Scan a sealed segment: every record must be good. */
static int
scan_sealed(struct cand *c, char *err, size_t errlen)
{
	if (scan_segment(c->seg->map, c->size, c->seg->hdr_len, 1,
	    &c->scan) != 0 || scan_newest(&c->scan) != 0) {
		snprintf(err, errlen, "%s: out of memory scanning", c->seg->name);
		return (ENGINE_ENOMEM);
	}
	if (c->scan.tail == SCAN_UNREADABLE) {
		snprintf(err, errlen, "%s: offset %" PRIu64 ": %s; run kvd "
		    "--check", c->seg->name, c->scan.end, c->scan.why);
		return (ENGINE_EIO);
	}
	if (c->scan.tail != SCAN_CLEAN) {
		snprintf(err, errlen, "%s: offset %" PRIu64 ": %s in a sealed "
		    "segment; run kvd --check, then kvd --repair",
		    c->seg->name, c->scan.end, c->scan.why != NULL ?
		    c->scan.why : "zero bytes where records should be");
		return (ENGINE_ECORRUPT);
	}
	return (0);
}

/* ---- merging sorted per-segment lists ---- */

struct stream {
	struct cand		*c;
	size_t			 pos;	/* hint: byte offset; scan: index */
	uint64_t		 left;
	struct hint_entry	 cur;
};

static int
stream_advance(struct stream *s)
{
	if (s->left == 0)
		return (0);
	s->left--;
	if (s->c->hinted)
		hint_next(s->c->hmap, &s->pos, &s->cur);
	else
		s->cur = s->c->scan.ents[s->pos++];
	return (1);
}

static int
entkeycmp(const struct hint_entry *a, const struct hint_entry *b)
{
	size_t n = a->klen < b->klen ? a->klen : b->klen;
	int c = memcmp(a->key, b->key, n);

	if (c != 0)
		return (c);
	return ((a->klen > b->klen) - (a->klen < b->klen));
}

static void
heap_down(struct stream **h, size_t n, size_t i)
{
	size_t l, r, m;
	struct stream *t;

	for (;;) {
		l = 2 * i + 1;
		r = l + 1;
		m = i;
		if (l < n && entkeycmp(&h[l]->cur, &h[m]->cur) < 0)
			m = l;
		if (r < n && entkeycmp(&h[r]->cur, &h[m]->cur) < 0)
			m = r;
		if (m == i)
			return;
		t = h[i];
		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}

static int
merge_sealed(struct engine *e, struct dirlist *dl, struct cand **sealed,
    size_t nsealed, char *err, size_t errlen)
{
	struct stream *st = NULL, **heap = NULL;
	struct btree_builder *b = NULL;
	struct hint_entry best;
	struct cand *bestc;
	struct btree_loc loc;
	size_t n = 0, i;
	uint64_t last_del = 0;
	int r = ENGINE_ENOMEM;

	(void)dl;
	if ((st = calloc(nsealed + 1, sizeof(*st))) == NULL ||
	    (heap = calloc(nsealed + 1, sizeof(*heap))) == NULL ||
	    (b = btree_builder_new()) == NULL)
		goto out;
	for (i = 0; i < nsealed; i++) {
		st[i].c = sealed[i];
		if (sealed[i]->hinted) {
			st[i].pos = HINT_HEADER_SIZE;
			st[i].left = sealed[i]->hinfo.count;
		} else
			st[i].left = sealed[i]->scan.n;
		if (stream_advance(&st[i]))
			heap[n++] = &st[i];
	}
	for (i = n; i-- > 0;)
		heap_down(heap, n, i);
	while (n > 0) {
		/* Gather every segment's record of the smallest key; the newest wins. */
		best = heap[0]->cur;
		bestc = heap[0]->c;
		for (;;) {
			struct stream *s = heap[0];

			if (s->cur.type == RECORD_DELETE && s->cur.seq > last_del)
				last_del = s->cur.seq;
			if (s->cur.seq > best.seq) {
				best = s->cur;
				bestc = s->c;
			}
			if (!stream_advance(s))
				heap[0] = heap[--n];
			if (n == 0)
				break;
			heap_down(heap, n, 0);
			if (entkeycmp(&heap[0]->cur, &best) != 0)
				break;
		}
		if (best.type == RECORD_DELETE) {
			bestc->seg->tomb += record_size(best.klen, 0);
			continue;
		}
		loc.seg = (uint32_t)bestc->id;
		loc.off = best.off;
		loc.vlen = best.vlen;
		loc.seq = best.seq;
		if (btree_builder_add(b, best.key, best.klen, &loc) != 0)
			goto out;
		bestc->seg->live += record_size(best.klen, best.vlen);
	}
	if ((e->index = btree_builder_finish(b)) == NULL) {
		b = NULL;
		goto out;
	}
	b = NULL;
	atomic_store(&e->last_delete_seq, last_del);
	r = 0;
out:
	if (r != 0)
		snprintf(err, errlen, "%s: out of memory building the index",
		    e->dir);
	btree_builder_free(b);
	free(heap);
	free(st);
	return (r);
}

/* ---- the newest log segment ---- */

static int
replay_last(struct engine *e, struct dirlist *dl, struct cand *c, char *err,
    size_t errlen)
{
	struct scan *s = &c->scan;
	struct segment *seg = c->seg, *oseg;
	struct btree_loc loc, old;
	struct cand *oc;
	size_t i;
	int r;

	if (scan_segment(seg->map, c->size, seg->hdr_len, 1, s) != 0) {
		snprintf(err, errlen, "%s: out of memory scanning", seg->name);
		return (ENGINE_ENOMEM);
	}
	if (s->tail == SCAN_UNREADABLE) {
		snprintf(err, errlen, "%s: offset %" PRIu64 ": %s; run kvd "
		    "--check", seg->name, s->end, s->why);
		return (ENGINE_EIO);
	}
	if (s->tail == SCAN_DAMAGED) {
		snprintf(err, errlen, "%s: offset %" PRIu64 ": %s, but valid "
		    "records follow at offset %" PRIu64 ": the log is damaged, "
		    "not torn; run kvd --check, then kvd --repair", seg->name,
		    s->end, s->why, s->resume);
		return (ENGINE_ECORRUPT);
	}
	if (s->tail == SCAN_TORN)
		engine_log(e, ENGINE_LOG_WARN, "%s: torn record at offset "
		    "%" PRIu64 " (%s): cutting %" PRIu64 " bytes; writes after "
		    "this point were never acknowledged as durable", seg->name,
		    s->end, s->why, c->size - s->end);
	for (i = 0; i < s->n; i++) {
		const struct hint_entry *en = &s->ents[i];
		uint64_t sz = record_size(en->klen, en->vlen);

		/* Guard the invariant that the newest segment holds the newest records. */
		if (btree_get(e->index, en->key, en->klen, &old) == 0 &&
		    old.seq > en->seq)
			continue;
		if (en->type == RECORD_DELETE) {
			r = btree_delete(e->index, en->key, en->klen, &old);
			seg->tomb += sz;
			if (en->seq > atomic_load(&e->last_delete_seq))
				atomic_store(&e->last_delete_seq, en->seq);
		} else {
			loc.seg = (uint32_t)c->id;
			loc.off = en->off;
			loc.vlen = en->vlen;
			loc.seq = en->seq;
			if ((r = btree_put(e->index, en->key, en->klen, &loc,
			    &old)) < 0) {
				snprintf(err, errlen, "%s: out of memory "
				    "building the index", seg->name);
				return (ENGINE_ENOMEM);
			}
			seg->live += sz;
		}
		if (r == 1) {
			oc = cand_find(dl, old.seg);
			oseg = oc != NULL ? oc->seg : NULL;
			if (oseg != NULL)
				oseg->live -= record_size(en->klen, old.vlen);
		}
	}
	seg->total = s->total;
	seg->min_seq = s->min_seq;
	seg->max_seq = s->max_seq;
	seg->end = s->end;
	return (0);
}

/*
 * Make the newest log segment writable again: cut a torn tail, then either
 * keep appending to it or seal it when it is full.
 */
static int
reopen_last(struct engine *e, struct cand *c, char *err, size_t errlen)
{
	struct segment *seg = c->seg;
	uint64_t cap;
	int cut = c->scan.tail == SCAN_TORN ||
	    (c->scan.tail == SCAN_ZERO && !e->cfg.preallocate);

	if (cut || (seg->end >= e->segment_size && c->size > seg->end)) {
		if (e->io->ftruncate(e->io->arg, seg->fd, (off_t)seg->end) != 0 ||
		    e->io->fdatasync(e->io->arg, seg->fd) != 0) {
			snprintf(err, errlen, "%s: cutting the tail at offset "
			    "%" PRIu64 ": %s", seg->name, seg->end,
			    strerror(errno));
			return (ENGINE_EIO);
		}
		c->size = seg->end;
	} else if (e->io->fdatasync(e->io->arg, seg->fd) != 0) {
		/* What a crashed process left in the page cache becomes durable now. */
		snprintf(err, errlen, "%s: fdatasync: %s", seg->name,
		    strerror(errno));
		return (ENGINE_EIO);
	}
	atomic_store(&seg->written, seg->end);
	seg->dirsynced = 1;
	if (seg->end >= e->segment_size) {
		seg->cap = seg->end;
		atomic_store(&seg->sealed, 1);
		return (0);
	}
	cap = e->segment_size;
	seg->cap = cap;
	seg->active = 1;
	if (e->cfg.preallocate) {
		if (c->size < cap &&
		    e->io->fallocate(e->io->arg, seg->fd, (off_t)cap) != 0)
			engine_log(e, ENGINE_LOG_WARN, "%s: preallocating: %s",
			    seg->name, strerror(errno));
		else
			seg->preallocated = 1;
	}
	if (segment_remap(seg, (size_t)cap, err, errlen) != 0)
		return (ENGINE_EIO);
	e->active = seg;
	return (0);
}

static void
remove_file(struct engine *e, uint64_t id, enum segment_file kind,
    const char *why)
{
	char name[SEGMENT_NAME_MAX];

	segment_filename(name, id, kind);
	if (e->io->unlinkat(e->io->arg, e->dirfd, name) == 0)
		engine_log(e, ENGINE_LOG_INFO, "%s: removed (%s)", name, why);
	else if (errno != ENOENT)
		engine_log(e, ENGINE_LOG_WARN, "%s: cannot remove (%s): %s",
		    name, why, strerror(errno));
}

int
recover_dir(struct engine *e, char *err, size_t errlen)
{
	struct dirlist dl;
	struct cand *c, *last = NULL, **sealed = NULL, *o;
	size_t i, j, nsealed = 0;
	int r, removed = 0;

	if ((r = list_dir(e, &dl, err, errlen)) != 0)
		return (r);
	for (i = 0; i < dl.n; i++)
		if ((r = open_cand(e, &dl.c[i], err, errlen)) != 0)
			goto out;
	/* A committed compaction output names the segments it replaced. */
	for (i = 0; i < dl.n; i++) {
		c = &dl.c[i];
		if (!c->hdr_ok || !(c->seg->flags & SEGMENT_FLAG_COMPACTED))
			continue;
		for (j = 0; j < c->seg->ninputs; j++)
			if ((o = cand_find(&dl, c->seg->inputs[j])) != NULL &&
			    o->id < c->id)
				o->superseded = 1;
	}
	/* The newest log segment with records; empty ones above it were never written. */
	for (i = dl.n; i-- > 0;) {
		c = &dl.c[i];
		if (c->superseded || (c->hdr_ok && !is_log(c)))
			continue;
		if (holds_nothing(c)) {
			c->empty = 1;
			continue;
		}
		if (!c->hdr_ok) {
			snprintf(err, errlen, "%s: unreadable segment header "
			    "(%s); run kvd --check, then kvd --repair",
			    c->seg->name, c->hdr_why);
			r = ENGINE_ECORRUPT;
			goto out;
		}
		last = c;
		break;
	}
	if ((sealed = calloc(dl.n + 1, sizeof(*sealed))) == NULL) {
		snprintf(err, errlen, "%s: out of memory", e->dir);
		r = ENGINE_ENOMEM;
		goto out;
	}
	for (i = 0; i < dl.n; i++) {
		c = &dl.c[i];
		if (c->superseded || c == last || (c->empty && (last == NULL ||
		    c->id > last->id)))
			continue;
		c->empty = 0;
		if (!c->hdr_ok) {
			snprintf(err, errlen, "%s: unreadable segment header "
			    "(%s); run kvd --check, then kvd --repair",
			    c->seg->name, c->hdr_why);
			r = ENGINE_ECORRUPT;
			goto out;
		}
		load_hint(e, &dl, c);
		if (!c->hinted && (r = scan_sealed(c, err, errlen)) != 0)
			goto out;
		c->seg->total = c->size - c->seg->hdr_len;
		c->seg->min_seq = c->hinted ? c->hinfo.min_seq : c->scan.min_seq;
		c->seg->max_seq = c->hinted ? c->hinfo.max_seq : c->scan.max_seq;
		c->seg->end = c->seg->cap = c->size;
		c->seg->has_hint = c->hinted;
		c->seg->dirsynced = 1;
		atomic_store(&c->seg->written, c->size);
		atomic_store(&c->seg->sealed, 1);
		sealed[nsealed++] = c;
	}
	if ((r = merge_sealed(e, &dl, sealed, nsealed, err, errlen)) != 0)
		goto out;
	for (i = 0, j = 0; i < nsealed; i++)
		j += sealed[i]->hinted;
	engine_log(e, ENGINE_LOG_INFO, "%s: %zu sealed segments read from "
	    "hint files, %zu scanned", e->dir, j, nsealed - j);
	for (i = 0; i < nsealed; i++) {
		/* The lists are no longer needed: the index has what it needs. */
		scan_free(&sealed[i]->scan);
		if (sealed[i]->hmap != NULL) {
			munmap(sealed[i]->hmap, sealed[i]->hlen);
			sealed[i]->hmap = NULL;
		}
	}
	if (last != NULL) {
		if ((r = replay_last(e, &dl, last, err, errlen)) != 0 ||
		    (r = reopen_last(e, last, err, errlen)) != 0)
			goto out;
		scan_free(&last->scan);
	}

	e->last_seq = 0;
	for (i = 0; i < dl.n; i++) {
		c = &dl.c[i];
		if (c->superseded || c->empty)
			continue;
		if (c->seg->max_seq > e->last_seq)
			e->last_seq = c->seg->max_seq;
	}
	e->next_id = dl.max_id + 1;
	for (i = 0; i < dl.n; i++) {
		c = &dl.c[i];
		if (c->superseded || c->empty)
			continue;
		if (segtab_add(&e->segs, c->seg) != 0) {
			snprintf(err, errlen, "%s: out of memory", e->dir);
			r = ENGINE_ENOMEM;
			goto out;
		}
		c->seg = NULL;
	}
	/* Everything is loaded: now tidy what a crash left behind. */
	for (i = 0; i < dl.n; i++) {
		c = &dl.c[i];
		if (c->superseded) {
			remove_file(e, c->id, SEGMENT_FILE_SEG,
			    "replaced by a finished compaction");
			remove_file(e, c->id, SEGMENT_FILE_HINT,
			    "its segment was replaced");
			removed = 1;
		} else if (c->empty) {
			remove_file(e, c->id, SEGMENT_FILE_SEG,
			    "newest segment, created but never written");
			removed = 1;
		}
	}
	for (i = 0; i < dl.nhints; i++) {
		struct segment *s = segtab_find(&e->segs, dl.hints[i]);

		if ((s == NULL && cand_find(&dl, dl.hints[i]) == NULL) ||
		    (s != NULL && s->active)) {
			remove_file(e, dl.hints[i], SEGMENT_FILE_HINT,
			    "no sealed segment of that id");
			removed = 1;
		}
	}
	if (removed && e->io->fsync(e->io->arg, e->dirfd) != 0)
		engine_log(e, ENGINE_LOG_WARN, "%s: fsync: %s", e->dir,
		    strerror(errno));
	r = 0;
out:
	free(sealed);
	dirlist_free(&dl);
	return (r);
}
