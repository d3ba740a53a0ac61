/*
 * compact.h: the background thread that writes hint files and compacts.
 *
 * One job at a time.  The owner thread picks the job (a sealed segment
 * without a hint, or a set of sealed segments to compact) in
 * compactor_schedule(); the thread does the file work; the owner applies
 * the result in compactor_service().
 *
 * A compaction copies the live records of its input segments into one new
 * segment whose header lists the inputs, in this order:
 *   1. write "<id>.seg.tmp" and its hint, fdatasync both;
 *   2. wait until every newer record that made an input record dead is
 *      durable (otherwise a crash could lose both);
 *   3. rename to "<id>.seg" (the commit point), fsync the directory;
 *   4. the owner points the index at the copies (in chunks);
 *   5. unlink the inputs and their hints, fsync the directory.
 * A crash before 3 leaves a temporary file that recovery removes; after 3,
 * recovery sees the output's input list and removes the inputs itself.
 */
#ifndef KVD_COMPACT_H
#define KVD_COMPACT_H

struct engine;

/* compactor_start(e): start the thread; NULL when memory or threads are short. */
struct compactor *compactor_start(struct engine *e);

/*
 * compactor_stop(e):
 * Stop the thread, abandoning an unfinished job (its temporary files are
 * removed; a committed output is left for recovery), and free it.
 */
void compactor_stop(struct engine *e);

/* compactor_schedule(e): on the owner thread, start the next job if one is due. */
void compactor_schedule(struct engine *e);

/* compactor_service(e): on the owner thread, apply what the thread finished. */
void compactor_service(struct engine *e);

/* compactor_idle(e): 1 when no job is running or due. */
int compactor_idle(struct engine *e);

/*
 * compactor_requested(e):
 * On the owner thread, 1 while an engine_compact() request is queued or
 * running, and the engine is not read-only (a read-only engine starts no
 * job, so the request would never end).
 */
int compactor_requested(struct engine *e);

#endif /* !KVD_COMPACT_H */
