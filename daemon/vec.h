/*
 * vec.h: large transient arrays kept out of the malloc heap.
 *
 * Background jobs build arrays of megabytes (a segment's keys for its hint,
 * a compaction's moves) and free them minutes later.  From malloc such
 * blocks raise glibc's mmap threshold and then stay in the process's
 * resident memory after being freed; mapped directly, they go back to the
 * system at once.
 */
#ifndef KVD_VEC_H
#define KVD_VEC_H

#include <stddef.h>

struct vec {
	void	*p;		/* NULL when empty */
	size_t	 cap;		/* bytes mapped */
};

/*
 * vec_reserve(v, bytes):
 * Make v->p hold at least bytes (contents kept, growing geometrically).
 * Returns 0, or -1 when memory is short (v unchanged).
 */
int vec_reserve(struct vec *v, size_t bytes);

/* vec_free(v): unmap v and empty it. */
void vec_free(struct vec *v);

#endif /* !KVD_VEC_H */
