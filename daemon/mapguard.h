/*
 * mapguard.h: a fault on a mapped segment as an error, not a dead daemon.
 *
 * Segments are read through shared mappings.  When the kernel cannot
 * supply a mapped page, because the file was cut short behind the engine's
 * back or the disk failed to read the page in again, the access raises
 * SIGBUS, whose default action kills the process and every client with it.
 * A thread about to read a mapping arms a guard; the handler sends a fault
 * inside an armed guard back to the guard's sigsetjmp(), and the reader
 * reports an I/O error for that one record.  A fault anywhere else still
 * kills the process, as a wild access should.
 *
 * Only the program's top level installs the handler (the engine is a
 * library and leaves the process's signals alone); without it a guard
 * costs a sigsetjmp() and changes nothing.
 *
 *	struct mapguard g;
 *
 *	mapguard_arm(&g);
 *	if (sigsetjmp(g.env, 0) != 0) {
 *		mapguard_disarm(&g);
 *		return (the error);	// g.addr: the address that faulted
 *	}
 *	... read the mapping: no lock taken, nothing allocated ...
 *	mapguard_disarm(&g);
 *
 * Between arm and disarm the code must not take a lock, since a fault
 * leaves through siglongjmp() and would skip the release; what it
 * allocates must be reachable through memory the fault path frees, and
 * the local variables it changes and reads after a fault must be volatile.
 */
#ifndef KVD_MAPGUARD_H
#define KVD_MAPGUARD_H

#include <setjmp.h>

struct mapguard {
	sigjmp_buf		 env;
	const void		*addr;		/* set when a fault was caught */
	struct mapguard		*outer;		/* the guard this one hides */
};

/*
 * mapguard_install():
 * Install the SIGBUS handler for the whole process (once, from the top
 * level, before any thread reads a mapping).  Returns 0, or -1 with errno.
 */
int mapguard_install(void);

/*
 * The calling thread's innermost guard.  Only the two functions below and
 * the handler touch it; it is in the header so that a guarded read, which
 * every get makes, costs no calls.
 */
extern _Thread_local struct mapguard *mapguard_top;

/* mapguard_arm(g): make g the calling thread's guard; call sigsetjmp next. */
static inline void
mapguard_arm(struct mapguard *g)
{
	g->addr = NULL;
	g->outer = mapguard_top;
	mapguard_top = g;
}

/* mapguard_disarm(g): restore the guard g hid; after a fault too. */
static inline void
mapguard_disarm(struct mapguard *g)
{
	if (mapguard_top == g)
		mapguard_top = g->outer;
}

#endif /* !KVD_MAPGUARD_H */
