/*
 * recover.h: rebuilding the engine's state from its data directory.
 *
 * Hints of sealed segments are merged (they are sorted by key), sealed
 * segments without a usable hint are scanned and sorted, and the result is
 * bulk-loaded into the index; then the newest log segment, whose records
 * are newer than everything else, is replayed in order.  A torn tail of that
 * segment is cut; a bad record anywhere else stops recovery.  See
 * kvd-format(5) for the exact rules.
 */
#ifndef KVD_RECOVER_H
#define KVD_RECOVER_H

#include <stddef.h>

struct engine;

/*
 * recover_dir(e, err, errlen):
 * Fill e->segs, e->index, e->active, e->next_id, e->last_seq and
 * e->last_delete_seq from e->dirfd.  Leftover temporary files, segments
 * that a finished compaction replaced, empty newest segments and orphan
 * hints are removed.  Returns 0 or an ENGINE_E* code with one line in err
 * naming the file, the offset and the problem.
 */
int recover_dir(struct engine *e, char *err, size_t errlen);

#endif /* !KVD_RECOVER_H */
