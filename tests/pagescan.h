/*
 * pagescan.h: a whole-range scan done one page request at a time with the
 * pipelined (kv_pipe_iter) or asynchronous (kv_async_iter) API, continuing
 * each page with kv_range_continue(): the way an application uses them.
 * Shared by the test against the stand-in server (kvclient-pages.c) and the
 * one against kvd (kvclient-kvd.c).
 */
#ifndef KVD_TESTS_PAGESCAN_H
#define KVD_TESTS_PAGESCAN_H

#include <stddef.h>

#include "kvclient.h"

/* Never ask for more pages than this: a broken continuation must end. */
#define PAGESCAN_MAX_PAGES	100000

/* What a scan saw.  Keys and values are NUL-terminated copies. */
struct pagescan {
	size_t	  n;		/* entries received */
	char	**keys;
	char	**vals;
	size_t	 *keylens;
	size_t	 *vallens;
	size_t	  pages;	/* pages received */
	size_t	  empty_pages;	/* of which empty */
	int	  status;	/* KV_OK: the scan reached the end */
	char	  message[256];	/* for any other status */
	size_t	  cap;
};

/*
 * pagescan_async(endpoint, r, ps):
 * On a new event_base, connect a kv_async to endpoint and scan r (which is
 * advanced page by page) from the callbacks until the last page, an error,
 * or PAGESCAN_MAX_PAGES.  Fills *ps (zeroed first).  Returns ps->status.
 */
int pagescan_async(const char *endpoint, kv_range *r, struct pagescan *ps);

/* pagescan_pipe(c, r, ps): the same with kv_pipe_iter() on c. */
int pagescan_pipe(kv_conn *c, kv_range *r, struct pagescan *ps);

/* pagescan_free(ps): free what *ps holds. */
void pagescan_free(struct pagescan *ps);

#endif /* !KVD_TESTS_PAGESCAN_H */
