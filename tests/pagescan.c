/*
 * pagescan.c: scans with the page-level iter calls.  See pagescan.h.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "pagescan.h"

static char *
dup_bytes(const void *p, size_t len)
{
	char *s = malloc(len + 1);

	if (s != NULL) {
		if (len > 0)
			memcpy(s, p, len);
		s[len] = '\0';
	}
	return (s);
}

static int
pagescan_fail(struct pagescan *ps, int status, const char *msg)
{
	ps->status = status;
	(void)snprintf(ps->message, sizeof(ps->message), "%s", msg);
	return (status);
}

/*
 * Take in one page.  Returns KV_OK to go on (r continued), KV_NOT_FOUND at
 * the end, or an error recorded in ps.
 */
static int
pagescan_page(struct pagescan *ps, kv_range *r, const kv_reply *page)
{
	const void *k, *v;
	size_t i, n, kl, vl, cap;
	int e;

	if (kv_reply_status(page) != KV_OK)
		return (pagescan_fail(ps, kv_reply_status(page),
		    kv_reply_message(page)));
	n = kv_reply_entries(page);
	ps->pages++;
	if (n == 0)
		ps->empty_pages++;
	if (ps->n + n > ps->cap) {
		cap = ps->cap == 0 ? 64 : ps->cap;
		while (cap < ps->n + n)
			cap *= 2;
		if ((ps->keys = realloc(ps->keys, cap * sizeof(char *))) == NULL ||
		    (ps->vals = realloc(ps->vals, cap * sizeof(char *))) == NULL ||
		    (ps->keylens = realloc(ps->keylens,
		    cap * sizeof(size_t))) == NULL ||
		    (ps->vallens = realloc(ps->vallens,
		    cap * sizeof(size_t))) == NULL)
			return (pagescan_fail(ps, KV_ERR_NOMEM, "out of memory"));
		ps->cap = cap;
	}
	for (i = 0; i < n; i++) {
		if ((e = kv_reply_entry(page, i, &k, &kl, &v, &vl)) != KV_OK)
			return (pagescan_fail(ps, e, "kv_reply_entry failed"));
		ps->keys[ps->n] = dup_bytes(k, kl);
		ps->vals[ps->n] = dup_bytes(v, vl);
		ps->keylens[ps->n] = kl;
		ps->vallens[ps->n] = vl;
		ps->n++;
		if (ps->keys[ps->n - 1] == NULL || ps->vals[ps->n - 1] == NULL)
			return (pagescan_fail(ps, KV_ERR_NOMEM, "out of memory"));
	}
	if (kv_reply_entry(page, n, &k, &kl, NULL, NULL) != KV_ERR_ARG ||
	    k != NULL || kl != 0)
		return (pagescan_fail(ps, KV_ERR_STATE,
		    "kv_reply_entry accepted an index past the page"));
	e = kv_range_continue(r, page);
	if (e == KV_NOT_FOUND && kv_reply_more(page))
		return (pagescan_fail(ps, KV_ERR_STATE,
		    "kv_range_continue ended a page that says more"));
	if (e == KV_OK && !kv_reply_more(page))
		return (pagescan_fail(ps, KV_ERR_STATE,
		    "kv_range_continue went on after the last page"));
	if (e != KV_OK && e != KV_NOT_FOUND)
		return (pagescan_fail(ps, e, "kv_range_continue failed"));
	if (e == KV_OK && ps->pages >= PAGESCAN_MAX_PAGES)
		return (pagescan_fail(ps, KV_ERR_STATE, "too many pages"));
	return (e);
}

struct async_scan {
	struct pagescan	*ps;
	kv_range	*r;
	int		 ended;		/* ps->status is final */
};

static void
async_page_cb(kv_async *a, const kv_reply *page, void *arg)
{
	struct async_scan *s = arg;
	int e;

	if (s->ended)
		return;
	e = pagescan_page(s->ps, s->r, page);
	if (e == KV_OK && (e = kv_async_iter(a, s->r, async_page_cb, s)) ==
	    KV_OK)
		return;
	if (e == KV_NOT_FOUND)
		s->ps->status = KV_OK;
	else if (s->ps->status == KV_OK)	/* kv_async_iter() failed */
		(void)pagescan_fail(s->ps, e, kv_async_errmsg(a));
	s->ended = 1;
	/* Freeing the handle empties the loop, which then returns. */
	kv_async_free(a);
}

static void
async_event_cb(kv_async *a, int code, const char *message, void *arg)
{
	struct async_scan *s = arg;

	if (code == KV_OK || s->ended)
		return;
	(void)pagescan_fail(s->ps, code, message);
	s->ended = 1;
	kv_async_free(a);
}

int
pagescan_async(const char *endpoint, kv_range *r, struct pagescan *ps)
{
	struct async_scan s = { ps, r, 0 };
	struct event_base *base;
	kv_async *a;
	int e;

	memset(ps, 0, sizeof(*ps));
	if ((base = event_base_new()) == NULL)
		return (pagescan_fail(ps, KV_ERR_NOMEM, "event_base_new"));
	if ((a = kv_async_new(base, NULL, async_event_cb, &s)) == NULL) {
		event_base_free(base);
		return (pagescan_fail(ps, KV_ERR_NOMEM, "kv_async_new"));
	}
	if ((e = kv_async_connect(a, endpoint)) != KV_OK ||
	    (e = kv_async_iter(a, r, async_page_cb, &s)) != KV_OK) {
		(void)pagescan_fail(ps, e, kv_async_errmsg(a));
		kv_async_free(a);
		event_base_free(base);
		return (e);
	}
	if (event_base_dispatch(base) != 0 && !s.ended)
		(void)pagescan_fail(ps, KV_ERR_STATE, "event_base_dispatch");
	else if (!s.ended)
		(void)pagescan_fail(ps, KV_ERR_STATE,
		    "the event loop ended before the scan did");
	event_base_free(base);
	return (ps->status);
}

int
pagescan_pipe(kv_conn *c, kv_range *r, struct pagescan *ps)
{
	const kv_reply *page;
	int e;

	memset(ps, 0, sizeof(*ps));
	for (;;) {
		if ((e = kv_pipe_iter(c, r)) != KV_OK)
			return (pagescan_fail(ps, e, kv_errmsg(c)));
		(void)kv_pipe_recv(c, &page);
		if ((e = pagescan_page(ps, r, page)) == KV_NOT_FOUND)
			return (ps->status = KV_OK);
		if (e != KV_OK)
			return (e);
	}
}

void
pagescan_free(struct pagescan *ps)
{
	size_t i;

	for (i = 0; i < ps->n; i++) {
		free(ps->keys[i]);
		free(ps->vals[i]);
	}
	free(ps->keys);
	free(ps->vals);
	free(ps->keylens);
	free(ps->vallens);
	memset(ps, 0, sizeof(*ps));
}
