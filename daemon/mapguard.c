/*
 * mapguard.c: SIGBUS on a mapped segment as an error.  See mapguard.h.
 */
#include "config.h"

#include <signal.h>
#include <stddef.h>
#include <string.h>

#include "daemon/mapguard.h"

/*
 * The guard of each thread: the handler runs on the thread that faulted,
 * so a per-thread pointer is the only way for it to find the reader.
 * Like errno, this is state of the thread, not of any engine.
 */
_Thread_local struct mapguard *mapguard_top;

static void
on_sigbus(int sig, siginfo_t *si, void *uc)
{
	struct mapguard *g = mapguard_top;

	(void)uc;
	if (g != NULL) {
		g->addr = si->si_addr;
		mapguard_top = g->outer;
		siglongjmp(g->env, 1);
	}
	/*
	 * Not a guarded read (or a SIGBUS sent with kill): die as the
	 * default action would, now, rather than only when the access runs
	 * again.
	 */
	signal(sig, SIG_DFL);
	raise(sig);
}

int
mapguard_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigbus;
	/*
	 * SA_NODEFER: the handler leaves by siglongjmp() to a sigsetjmp()
	 * that did not save the mask (saving it costs a system call per
	 * read), so SIGBUS must not be blocked while it runs, or it would
	 * stay blocked and the next fault would kill the process.
	 */
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	return (sigaction(SIGBUS, &sa, NULL));
}
