/*
 * engine-check.c: engine_check() and engine_repair(), the offline tools
 * behind kvd --check and kvd --repair.  See engine.h.
 *
 * Both read the directory the way recovery does (the same newest-segment
 * and compaction rules), so "clean" means exactly "engine_open() would
 * neither refuse nor change anything".
 */
#include "config.h"

#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon/engine-int.h"
#include "daemon/fileio.h"
#include "daemon/hint.h"
#include "daemon/record.h"
#include "daemon/scan.h"
#include "daemon/segment.h"

struct seg {
	uint64_t		 id;
	char			 name[SEGMENT_NAME_MAX];
	int			 fd;
	uint8_t			*map;
	uint64_t		 size;
	int			 hdr_ok;
	const char		*hdr_why;
	struct segment_header	 h;
	int			 superseded;
	int			 empty;
	int			 last;
	int			 bad;	/* needs rewriting */
};

struct dirscan {
	int		 dirfd;
	struct seg	*segs;
	size_t		 nsegs;
	char		**hints;	/* names */
	uint64_t	*hint_ids;
	size_t		 nhints;
	char		**tmps;
	size_t		 ntmps;
	void		(*report)(void *, const char *);
	void		*arg;
	int		 problems;
};

static void
say(struct dirscan *d, int problem, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
say(struct dirscan *d, int problem, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (problem)
		d->problems++;
	if (d->report != NULL)
		d->report(d->arg, line);
}

#ifndef CHECK_TEST_PREAD
/* tests/check-unreadable.c fails chosen reads with EIO here. */
#define CHECK_TEST_PREAD	pread
#endif

/* Read n bytes at off; -1 with errno (EIO as well for a file cut short). */
static int
read_at(int fd, uint8_t *buf, size_t n, uint64_t off)
{
	ssize_t r;

	while (n > 0) {
		if ((r = CHECK_TEST_PREAD(fd, buf, n, (off_t)off)) < 0) {
			if (errno == EINTR)
				continue;
			return (-1);
		}
		if (r == 0) {
			errno = EIO;
			return (-1);
		}
		buf += r;
		n -= (size_t)r;
		off += (uint64_t)r;
	}
	return (0);
}

#define READ_BLOCK	(1u << 20)

/*
 * A page of a segment that the disk cannot read back raises SIGBUS when
 * its mapping is touched: the check that is run because a disk misbehaves
 * would die of it.  So every segment is first read through with pread();
 * a page that fails is reported and replaced in the mapping by a page of
 * zeros, which the checks below then see as damage like any other.
 * Returns 0, or -1 when the mapping cannot be patched.
 */
static int
patch_unreadable(struct dirscan *d, struct seg *s)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	uint64_t off, p, run = 0, run_from = 0, n, m;
	uint8_t *buf;
	int err = 0;

	if ((buf = malloc(READ_BLOCK)) == NULL) {
		say(d, 1, "%s: out of memory", s->name);
		return (-1);
	}
	for (off = 0; off < s->size; off += READ_BLOCK) {
		n = s->size - off < READ_BLOCK ? s->size - off : READ_BLOCK;
		if (read_at(s->fd, buf, (size_t)n, off) == 0)
			continue;
		for (p = off; p < off + n; p += page) {
			m = off + n - p < page ? off + n - p : page;
			if (read_at(s->fd, buf, (size_t)m, p) == 0) {
				if (run > 0)
					say(d, 1, "%s: offset %" PRIu64 ": %"
					    PRIu64 " bytes cannot be read (%s); "
					    "taken as zeros", s->name, run_from,
					    run, strerror(err));
				run = 0;
				continue;
			}
			if (run == 0) {
				run_from = p;
				err = errno;
			}
			run += m;
			if (mmap(s->map + p, page, PROT_READ, MAP_FIXED |
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED) {
				say(d, 1, "%s: offset %" PRIu64 ": cannot be "
				    "read, nor replaced: %s", s->name, p,
				    strerror(errno));
				free(buf);
				return (-1);
			}
			s->bad = 1;
		}
	}
	if (run > 0)
		say(d, 1, "%s: offset %" PRIu64 ": %" PRIu64 " bytes cannot be "
		    "read (%s); taken as zeros", s->name, run_from, run,
		    strerror(err));
	free(buf);
	return (0);
}

/*
 * Read a whole hint file into memory (*buf, *len; free *buf).  Returns 0,
 * or -1 after saying why (quietly: repair just moves such a hint aside).
 */
static int
load_hint(struct dirscan *d, const char *name, int quiet, uint8_t **buf,
    size_t *len)
{
	void (*report)(void *, const char *) = d->report;
	int problems = d->problems;
	struct stat st;
	int fd;

	*buf = NULL;
	if (quiet)
		d->report = NULL;
	if ((fd = openat(d->dirfd, name, O_RDONLY | O_CLOEXEC)) < 0 ||
	    fstat(fd, &st) != 0) {
		say(d, 1, "%s: cannot open: %s (kvd scans the segment instead)",
		    name, strerror(errno));
		goto fail;
	}
	if (st.st_size == 0 || (uint64_t)st.st_size > SIZE_MAX) {
		say(d, 1, "%s: empty (kvd scans the segment instead)", name);
		goto fail;
	}
	if ((*buf = malloc((size_t)st.st_size)) == NULL) {
		say(d, 1, "%s: out of memory for %lld bytes", name,
		    (long long)st.st_size);
		goto fail;
	}
	if (read_at(fd, *buf, (size_t)st.st_size, 0) != 0) {
		say(d, 1, "%s: cannot be read: %s (kvd scans the segment "
		    "instead)", name, strerror(errno));
		goto fail;
	}
	close(fd);
	*len = (size_t)st.st_size;
	d->report = report;
	return (0);
fail:
	if (fd >= 0)
		close(fd);
	free(*buf);
	*buf = NULL;
	d->report = report;
	if (quiet)
		d->problems = problems;
	return (-1);
}

static int
segcmp(const void *a, const void *b)
{
	const struct seg *x = a, *y = b;

	return ((x->id > y->id) - (x->id < y->id));
}

static struct seg *
seg_find(struct dirscan *d, uint64_t id)
{
	size_t i;

	for (i = 0; i < d->nsegs; i++)
		if (d->segs[i].id == id)
			return (&d->segs[i]);
	return (NULL);
}

static void
dirscan_free(struct dirscan *d)
{
	size_t i;

	for (i = 0; i < d->nsegs; i++) {
		if (d->segs[i].map != NULL)
			munmap(d->segs[i].map, (size_t)d->segs[i].size);
		if (d->segs[i].fd >= 0)
			close(d->segs[i].fd);
		free(d->segs[i].h.inputs);
	}
	for (i = 0; i < d->nhints; i++)
		free(d->hints[i]);
	for (i = 0; i < d->ntmps; i++)
		free(d->tmps[i]);
	free(d->segs);
	free(d->hints);
	free(d->hint_ids);
	free(d->tmps);
	if (d->dirfd >= 0)
		close(d->dirfd);
}

static int
push_name(char ***v, size_t *n, const char *name)
{
	char **nv;

	if ((nv = realloc(*v, (*n + 1) * sizeof(*nv))) == NULL)
		return (-1);
	*v = nv;
	if ((nv[*n] = strdup(name)) == NULL)
		return (-1);
	(*n)++;
	return (0);
}

static int
holds_nothing(const struct seg *s)
{
	uint64_t from = s->hdr_ok ? s->h.len : SEGMENT_HEADER_BASE;

	return (s->size <= from || scan_is_zero(s->map + from, s->size - from));
}

/* Read the directory the way recovery does. */
static int
dirscan_load(struct dirscan *d, const char *dir)
{
	DIR *dp;
	struct dirent *de;
	struct stat st;
	struct seg *s;
	uint64_t id;
	size_t i, j;
	int fd;

	if ((fd = dup(d->dirfd)) < 0 || (dp = fdopendir(fd)) == NULL) {
		say(d, 1, "%s: cannot read directory: %s", dir, strerror(errno));
		if (fd >= 0)
			close(fd);
		return (ENGINE_EIO);
	}
	rewinddir(dp);
	while ((de = readdir(dp)) != NULL) {
		switch (segment_parse_name(de->d_name, &id)) {
		case SEGMENT_FILE_SEG:
			if ((s = realloc(d->segs, (d->nsegs + 1) *
			    sizeof(*s))) == NULL)
				goto nomem;
			d->segs = s;
			s = &d->segs[d->nsegs++];
			memset(s, 0, sizeof(*s));
			s->id = id;
			s->fd = -1;
			snprintf(s->name, sizeof(s->name), "%.39s", de->d_name);
			break;
		case SEGMENT_FILE_HINT: {
			uint64_t *ni;

			if (push_name(&d->hints, &d->nhints, de->d_name) != 0 ||
			    (ni = realloc(d->hint_ids, d->nhints *
			    sizeof(*ni))) == NULL)
				goto nomem;
			d->hint_ids = ni;
			d->hint_ids[d->nhints - 1] = id;
			break;
		}
		case SEGMENT_FILE_TMP:
			if (push_name(&d->tmps, &d->ntmps, de->d_name) != 0)
				goto nomem;
			break;
		default:
			break;
		}
	}
	closedir(dp);
	if (d->nsegs > 1)
		qsort(d->segs, d->nsegs, sizeof(d->segs[0]), segcmp);
	for (i = 0; i < d->nsegs; i++) {
		s = &d->segs[i];
		if ((s->fd = openat(d->dirfd, s->name, O_RDONLY | O_CLOEXEC)) < 0 ||
		    fstat(s->fd, &st) != 0) {
			say(d, 1, "%s: cannot open: %s", s->name, strerror(errno));
			return (ENGINE_EIO);
		}
		s->size = (uint64_t)st.st_size;
		if (s->size > 0 && (s->map = mmap(NULL, (size_t)s->size,
		    PROT_READ, MAP_SHARED, s->fd, 0)) == MAP_FAILED) {
			s->map = NULL;
			say(d, 1, "%s: cannot map: %s", s->name, strerror(errno));
			return (ENGINE_EIO);
		}
		if (s->size > 0 && patch_unreadable(d, s) != 0)
			return (ENGINE_EIO);
		if (segment_header_decode(s->map, (size_t)s->size, &s->h,
		    &s->hdr_why) == 0) {
			if (s->h.id == s->id)
				s->hdr_ok = 1;
			else
				s->hdr_why = "header names another segment id";
		}
	}
	for (i = 0; i < d->nsegs; i++) {
		s = &d->segs[i];
		if (!s->hdr_ok || !(s->h.flags & SEGMENT_FLAG_COMPACTED))
			continue;
		for (j = 0; j < s->h.ninputs; j++) {
			struct seg *o = seg_find(d, s->h.inputs[j]);

			if (o != NULL && o->id < s->id)
				o->superseded = 1;
		}
	}
	for (i = d->nsegs; i-- > 0;) {
		s = &d->segs[i];
		if (s->superseded || (s->hdr_ok &&
		    (s->h.flags & SEGMENT_FLAG_COMPACTED)))
			continue;
		if (holds_nothing(s)) {
			s->empty = 1;
			continue;
		}
		s->last = 1;
		break;
	}
	return (0);
nomem:
	closedir(dp);
	say(d, 1, "%s: out of memory", dir);
	return (ENGINE_ENOMEM);
}

/* Report every problem in one segment's records. */
static void
check_records(struct dirscan *d, struct seg *s)
{
	struct scan sc;
	uint64_t off = s->hdr_ok ? s->h.len : 0, next;

	if (!s->hdr_ok) {
		say(d, 1, "%s: offset 0: unreadable segment header (%s)",
		    s->name, s->hdr_why);
		s->bad = 1;
		if (!record_find_next(s->map, 0, s->size, 0, &off))
			return;
		say(d, 0, "%s: offset %" PRIu64 ": valid records resume here",
		    s->name, off);
	}
	for (;;) {
		if (scan_segment(s->map, s->size, off, 0, &sc) != 0)
			return;
		switch (sc.tail) {
		case SCAN_CLEAN:
			return;
		case SCAN_UNREADABLE:
			say(d, 1, "%s: offset %" PRIu64 ": %s", s->name, sc.end,
			    sc.why);
			s->bad = 1;
			return;
		case SCAN_ZERO:
			if (s->last)
				return;		/* preallocated space */
			say(d, 1, "%s: offset %" PRIu64 ": %" PRIu64 " zero "
			    "bytes where records should be", s->name, sc.end,
			    s->size - sc.end);
			s->bad = 1;
			return;
		case SCAN_TORN:
			/* A compacted segment's seqs are not ordered: look again without that filter. */
			if (!s->last && record_find_next(s->map, sc.end + 1,
			    s->size, 0, &next)) {
				say(d, 1, "%s: offset %" PRIu64 ": %s; valid "
				    "records resume at offset %" PRIu64, s->name,
				    sc.end, sc.why, next);
				s->bad = 1;
				off = next;
				continue;
			}
			if (s->last)
				say(d, 1, "%s: offset %" PRIu64 ": torn record "
				    "(%s): kvd cuts these %" PRIu64 " bytes at "
				    "start", s->name, sc.end, sc.why,
				    s->size - sc.end);
			else
				say(d, 1, "%s: offset %" PRIu64 ": %s; nothing "
				    "valid follows (%" PRIu64 " bytes)", s->name,
				    sc.end, sc.why, s->size - sc.end);
			s->bad = 1;
			return;
		case SCAN_DAMAGED:
			say(d, 1, "%s: offset %" PRIu64 ": %s; valid records "
			    "resume at offset %" PRIu64, s->name, sc.end, sc.why,
			    sc.resume);
			s->bad = 1;
			off = sc.resume;
			continue;
		}
	}
}

static void
check_all(struct dirscan *d)
{
	struct seg *s;
	struct hint_info info;
	struct segment fake;
	const char *why;
	size_t i;

	for (i = 0; i < d->ntmps; i++)
		say(d, 1, "%s: unfinished temporary file (kvd removes it at "
		    "start)", d->tmps[i]);
	for (i = 0; i < d->nsegs; i++) {
		s = &d->segs[i];
		if (s->superseded) {
			say(d, 1, "%s: replaced by a finished compaction (kvd "
			    "removes it at start)", s->name);
			continue;
		}
		if (s->empty && !s->last) {
			size_t k;
			int above = 1;

			/* Only an empty segment above every written log segment is harmless. */
			for (k = i + 1; k < d->nsegs; k++)
				if (d->segs[k].last)
					above = 0;
			if (above) {
				say(d, 1, "%s: newest segment, created but "
				    "never written (kvd removes it at start)",
				    s->name);
				continue;
			}
			s->empty = 0;
		}
		check_records(d, s);
	}
	for (i = 0; i < d->nhints; i++) {
		uint8_t *m;
		size_t len;

		s = seg_find(d, d->hint_ids[i]);
		if (s == NULL || s->superseded || s->empty || s->last ||
		    !s->hdr_ok) {
			say(d, 1, "%s: no sealed segment of that id (kvd removes "
			    "or ignores it)", d->hints[i]);
			continue;
		}
		if (load_hint(d, d->hints[i], 0, &m, &len) != 0)
			continue;
		memset(&fake, 0, sizeof(fake));
		fake.id = s->id;
		fake.nonce = s->h.nonce;
		fake.hdr_len = s->h.len;
		if (hint_validate(m, len, &fake, s->size, &info, &why) != 0)
			say(d, 1, "%s: %s (kvd scans the segment instead)",
			    d->hints[i], why);
		free(m);
	}
}

static int
dirscan_open(struct dirscan *d, const char *dir, int exclusive,
    void (*report)(void *, const char *), void *arg)
{
	int lockfd;

	memset(d, 0, sizeof(*d));
	d->report = report;
	d->arg = arg;
	if ((d->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		say(d, 1, "%s: cannot open data directory: %s", dir,
		    strerror(errno));
		return (ENGINE_EIO);
	}
	lockfd = openat(d->dirfd, ENGINE_LOCK_FILE, (exclusive ? O_RDWR |
	    O_CREAT : O_RDONLY) | O_CLOEXEC, 0644);
	if (lockfd < 0 && (exclusive || errno != ENOENT)) {
		say(d, 1, "%s/%s: %s", dir, ENGINE_LOCK_FILE, strerror(errno));
		return (ENGINE_EIO);
	}
	if (lockfd >= 0 && flock(lockfd, (exclusive ? LOCK_EX : LOCK_SH) |
	    LOCK_NB) != 0) {
		say(d, 1, "%s: data directory in use by another process (it "
		    "holds the lock on %s/%s)", dir, dir, ENGINE_LOCK_FILE);
		close(lockfd);
		return (ENGINE_ELOCKED);
	}
	/* The descriptor (and with it the lock) lives until the process drops it. */
	return (lockfd);
}

int
engine_check(const char *dir, void (*report)(void *arg, const char *line),
    void *arg)
{
	struct dirscan d;
	int lockfd, r;

	if ((lockfd = dirscan_open(&d, dir, 0, report, arg)) < -1) {
		dirscan_free(&d);
		return (lockfd);
	}
	if ((r = dirscan_load(&d, dir)) == 0) {
		check_all(&d);
		r = d.problems > 0 ? 1 : 0;
	}
	dirscan_free(&d);
	if (lockfd >= 0)
		close(lockfd);
	return (r);
}

/* ---- repair ---- */

/* Hard-link name into damaged/ under a name not yet used there. */
static int
save_aside(struct dirscan *d, const struct fileio *io, int damfd,
    const char *name, char *saved, size_t savedlen)
{
	time_t now = time(NULL);
	int i;

	for (i = 0; i < 1000; i++) {
		snprintf(saved, savedlen, "%s.%lld%s%.0d", name, (long long)now,
		    i > 0 ? "." : "", i);
		if (io->linkat(io->arg, d->dirfd, name, damfd, saved) == 0)
			return (0);
		if (errno != EEXIST)
			return (-1);
	}
	errno = EEXIST;
	return (-1);
}

/* Move a file (hint, temporary) into damaged/: a link there, then unlink here. */
static int
move_aside(struct dirscan *d, const struct fileio *io, int damfd,
    const char *name)
{
	char saved[SEGMENT_NAME_MAX + 64];

	if (save_aside(d, io, damfd, name, saved, sizeof(saved)) != 0 ||
	    io->fsync(io->arg, damfd) != 0 ||
	    io->unlinkat(io->arg, d->dirfd, name) != 0) {
		say(d, 1, "%s: cannot move into %s/: %s", name,
		    ENGINE_DAMAGED_DIR, strerror(errno));
		return (-1);
	}
	say(d, 0, "%s: moved to %s/%s", name, ENGINE_DAMAGED_DIR, saved);
	return (0);
}

/* Rewrite a damaged segment with every valid record it holds. */
static int
rewrite_segment(struct dirscan *d, const struct fileio *io, int damfd,
    struct seg *s)
{
	struct record_header h;
	const char *why;
	char tmp[SEGMENT_NAME_MAX + 8], saved[SEGMENT_NAME_MAX + 64];
	uint8_t *hdr = NULL;
	uint64_t off, rs, kept = 0, nkept = 0, wpos, next;
	uint16_t flags = s->hdr_ok ? s->h.flags : 0;
	uint32_t ninputs = s->hdr_ok ? s->h.ninputs : 0;
	size_t hlen = segment_header_size(ninputs);
	int fd = -1;

	snprintf(tmp, sizeof(tmp), "%s.tmp", s->name);
	if ((hdr = malloc(hlen)) == NULL)
		goto nomem;
	segment_header_encode(hdr, s->id, segment_nonce(), flags,
	    s->hdr_ok ? s->h.inputs : NULL, ninputs);
	if ((fd = openat(d->dirfd, tmp, O_RDWR | O_CREAT | O_TRUNC |
	    O_CLOEXEC, 0644)) < 0 || io->pwrite(io->arg, fd, hdr, hlen, 0) != 0)
		goto ioerr;
	wpos = hlen;
	off = s->hdr_ok ? s->h.len : 0;
	if (!s->hdr_ok && !record_find_next(s->map, 0, s->size, 0, &off))
		off = s->size;
	while (off < s->size) {
		if (s->size - off >= RECORD_HEADER_SIZE &&
		    record_header_decode(s->map + off, &h, &why) == 0 &&
		    (rs = record_size(h.klen, h.vlen)) <= s->size - off &&
		    record_verify(s->map + off, (size_t)rs)) {
			if (io->pwrite(io->arg, fd, s->map + off, (size_t)rs,
			    (off_t)wpos) != 0)
				goto ioerr;
			wpos += rs;
			kept += rs;
			nkept++;
			off += rs;
			continue;
		}
		if (!record_find_next(s->map, off + 1, s->size, 0, &next)) {
			if (!scan_is_zero(s->map + off, s->size - off))
				say(d, 0, "%s: dropping %" PRIu64 " bytes from "
				    "offset %" PRIu64 " (nothing valid follows)",
				    s->name, s->size - off, off);
			break;
		}
		say(d, 0, "%s: dropping %" PRIu64 " bytes at offset %" PRIu64,
		    s->name, next - off, off);
		off = next;
	}
	if (io->fdatasync(io->arg, fd) != 0)
		goto ioerr;
	close(fd);
	fd = -1;
	/* The original stays reachable in damaged/ before it is replaced here. */
	if (save_aside(d, io, damfd, s->name, saved, sizeof(saved)) != 0 ||
	    io->fsync(io->arg, damfd) != 0)
		goto ioerr;
	if (io->renameat(io->arg, d->dirfd, tmp, s->name) != 0 ||
	    io->fsync(io->arg, d->dirfd) != 0)
		goto ioerr;
	say(d, 0, "%s: rewritten with %" PRIu64 " valid records (%" PRIu64
	    " bytes); the original is %s/%s", s->name, nkept, kept,
	    ENGINE_DAMAGED_DIR, saved);
	free(hdr);
	return (0);
nomem:
	errno = ENOMEM;
ioerr:
	say(d, 1, "%s: repair failed: %s", s->name, strerror(errno));
	if (fd >= 0)
		close(fd);
	(void)io->unlinkat(io->arg, d->dirfd, tmp);
	free(hdr);
	return (-1);
}

int
engine_repair(const char *dir, void (*report)(void *arg, const char *line),
    void *arg)
{
	const struct fileio *io = fileio_posix();
	struct dirscan d;
	struct seg *s;
	char hname[SEGMENT_NAME_MAX];
	size_t i, k;
	int lockfd, damfd = -1, r = 0, quiet_problems;

	if ((lockfd = dirscan_open(&d, dir, 1, report, arg)) < 0) {
		dirscan_free(&d);
		return (lockfd);
	}
	if ((r = dirscan_load(&d, dir)) != 0)
		goto out;
	/* Find what is damaged without printing the check's lines twice. */
	d.report = NULL;
	check_all(&d);
	d.report = report;
	quiet_problems = d.problems;
	d.problems = 0;
	if (quiet_problems == 0) {
		say(&d, 0, "%s: nothing to repair", dir);
		goto out;
	}
	if (mkdirat(d.dirfd, ENGINE_DAMAGED_DIR, 0755) != 0 && errno != EEXIST) {
		say(&d, 1, "%s/%s: %s", dir, ENGINE_DAMAGED_DIR, strerror(errno));
		r = ENGINE_EIO;
		goto out;
	}
	if ((damfd = openat(d.dirfd, ENGINE_DAMAGED_DIR, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) < 0) {
		say(&d, 1, "%s/%s: %s", dir, ENGINE_DAMAGED_DIR, strerror(errno));
		r = ENGINE_EIO;
		goto out;
	}
	for (i = 0; i < d.ntmps; i++)
		(void)move_aside(&d, io, damfd, d.tmps[i]);
	for (i = 0; i < d.nsegs; i++) {
		s = &d.segs[i];
		if (s->superseded)
			continue;	/* recovery removes it as a compaction's last step */
		if (s->empty && !s->last && !s->bad) {
			int above = 1;

			for (k = i + 1; k < d.nsegs; k++)
				if (d.segs[k].last)
					above = 0;
			if (above) {
				(void)move_aside(&d, io, damfd, s->name);
				continue;
			}
		}
		if (!s->bad)
			continue;
		if (rewrite_segment(&d, io, damfd, s) != 0)
			continue;
		/* Its hint describes the old file. */
		segment_filename(hname, s->id, SEGMENT_FILE_HINT);
		for (k = 0; k < d.nhints; k++)
			if (strcmp(d.hints[k], hname) == 0 &&
			    move_aside(&d, io, damfd, hname) == 0)
				d.hint_ids[k] = UINT64_MAX;
	}
	/* Hints that check_all() refused go aside too; the engine rebuilds them. */
	for (k = 0; k < d.nhints; k++) {
		struct hint_info info;
		struct segment fake;
		const char *why;
		uint8_t *m;
		size_t len;
		int good = 0;

		if (d.hint_ids[k] == UINT64_MAX)
			continue;
		s = seg_find(&d, d.hint_ids[k]);
		if (s != NULL && !s->superseded && !s->empty && !s->last &&
		    s->hdr_ok && load_hint(&d, d.hints[k], 1, &m, &len) == 0) {
			memset(&fake, 0, sizeof(fake));
			fake.id = s->id;
			fake.nonce = s->h.nonce;
			fake.hdr_len = s->h.len;
			good = hint_validate(m, len, &fake, s->size, &info,
			    &why) == 0;
			free(m);
		}
		if (!good && !(s != NULL && s->superseded))
			(void)move_aside(&d, io, damfd, d.hints[k]);
	}
	r = d.problems > 0 ? ENGINE_EIO : 0;
out:
	if (damfd >= 0)
		close(damfd);
	dirscan_free(&d);
	if (lockfd >= 0)
		close(lockfd);
	return (r);
}
