/*
 * spare.h: the next segment's file, made ahead of need.
 *
 * An fdatasync after appending into fallocated space still commits a
 * journal transaction, because the appended blocks change from unwritten
 * to written extents.  Into blocks that already hold zeros on disk it only
 * writes data.  Measured with kvd --fsync always on CPU 0 and kvbench -c 50
 * -P 16 -d 100 -r 100000 -t put -n 2000000 on CPU 1, fsync_p50_us from
 * kvctl stats: 227-441 us fallocated, 131-153 us into zeros.  In this VM
 * a sync also holds up the CPU that waits for it, so under fsync always
 * the time is taken from the loop.  A thread of its own writes the next
 * segment's file full of zeros and syncs it while the current one fills.  Taking the spare is a rename; when none is ready the
 * engine falls back to fallocate.
 *
 * The spare is SEGMENT_SPARE_NAME in the data directory, never part of the
 * data: an unfinished or unused one is removed at the next start.
 */
#ifndef KVD_SPARE_H
#define KVD_SPARE_H

#include <stdint.h>

#include "daemon/engine.h"

struct spare;

/*
 * spare_start(dirfd, size, report, arg):
 * Start the thread and have it make a spare of size bytes.  report (called
 * from that thread) hears of failures, which only cost the speed-up.
 * NULL when the thread cannot start.
 */
struct spare *spare_start(int dirfd, uint64_t size,
    void (*report)(void *, enum engine_log_level, const char *), void *arg);

/*
 * spare_take(sp, name, fd):
 * If a spare is ready, rename it to name and give its open file in *fd
 * (the caller owns it): 1.  0 when none is ready yet, -1 when the rename
 * failed (errno set).  Either way the thread starts on the next one.
 */
int spare_take(struct spare *sp, const char *name, int *fd);

/* spare_ready(sp): 1 when a spare is written and synced, waiting to be taken. */
int spare_ready(struct spare *sp);

/* spare_stop(sp): stop the thread and remove an unused spare.  NULL is a no-op. */
void spare_stop(struct spare *sp);

#endif /* !KVD_SPARE_H */
