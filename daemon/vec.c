/*
 * vec.c: mapped arrays.  See vec.h.
 */
#include "config.h"

#include <sys/mman.h>

#include <stddef.h>

#include "daemon/vec.h"

int
vec_reserve(struct vec *v, size_t bytes)
{
	size_t cap = v->cap ? v->cap : 65536;
	void *p;

	if (bytes <= v->cap)
		return (0);
	while (cap < bytes)
		cap *= 2;
	if (v->p == NULL)
		p = mmap(NULL, cap, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	else
		p = mremap(v->p, v->cap, cap, MREMAP_MAYMOVE);
	if (p == MAP_FAILED)
		return (-1);
	v->p = p;
	v->cap = cap;
	return (0);
}

void
vec_free(struct vec *v)
{
	if (v->p != NULL)
		munmap(v->p, v->cap);
	v->p = NULL;
	v->cap = 0;
}
