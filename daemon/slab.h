/*
 * slab.h: memory for the index's nodes, carved from large mappings that
 * the kernel may back with transparent huge pages.
 *
 * A 10M-key index is some 450 MB of nodes.  With 4 KiB pages every lookup
 * misses the TLB at least at the leaf, and in a virtual machine a TLB miss
 * is a two-dimensional page walk; malloc's heap cannot be asked for huge
 * pages, a mapping of our own can (madvise MADV_HUGEPAGE).  Measured with
 * taskset -c 0 tests/engine-bench 10000000, malloc'd nodes -> slab: puts
 * 0.80M -> 0.94-1.04M/s, random gets 0.72M -> 0.80-0.85M/s, index 31.7 ->
 * 28.3 bytes per key beyond the key.
 *
 * Blocks are multiples of SLAB_UNIT bytes up to SLAB_MAX; each size has a
 * free list, so a node that grows leaves its old block for the next node
 * growing through the same size.  Memory goes back to the system only when
 * the slab is destroyed.  In sanitizer builds every block is a malloc of
 * its own, so that the sanitizer still sees overruns between nodes.
 *
 * Not thread-safe; one slab per tree.
 */
#ifndef KVD_SLAB_H
#define KVD_SLAB_H

#include <stddef.h>

/* Sanitizer builds: every block a malloc of its own (see above). */
#if defined(__SANITIZE_ADDRESS__)
#define SLAB_BLOCKS_FROM_MALLOC	1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SLAB_BLOCKS_FROM_MALLOC	1
#endif
#endif

#define SLAB_UNIT	64u
#define SLAB_MAX	65536u

struct slab;

/* slab_new(): an empty slab (maps nothing yet), or NULL when memory is short. */
struct slab *slab_new(void);

/*
 * slab_destroy(s): unmap everything.  Release every block first: sanitizer
 * builds report a block still held as a leak.  NULL is a no-op.
 */
void slab_destroy(struct slab *s);

/*
 * slab_alloc(s, size):
 * A block of at least size bytes (1..SLAB_MAX), aligned for any object, or
 * NULL when memory is short.
 */
void *slab_alloc(struct slab *s, size_t size);

/* slab_release(s, p, size): return p, allocated with this size.  NULL is a no-op. */
void slab_release(struct slab *s, void *p, size_t size);

/*
 * slab_realloc(s, p, oldsize, newsize):
 * Like realloc: the first min(oldsize, newsize) bytes are kept.  NULL when
 * memory is short, and then p is untouched.  Shrinking never fails.
 */
void *slab_realloc(struct slab *s, void *p, size_t oldsize, size_t newsize);

/* slab_mapped(s): bytes mapped from the system (for stats). */
size_t slab_mapped(const struct slab *s);

#endif /* !KVD_SLAB_H */
