/*
 * kvclient.c: what every part of libkvclient shares: options, status names,
 * replies and statistics.  See kvclient.h.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kvc.h"

#define KVC_DEFAULT_CONNECT_MS	5000
#define KVC_DEFAULT_REQUEST_MS	30000
#define KVC_DEFAULT_MAX_RESPONSE (64u * 1024 * 1024)

const uint8_t kvc_ping_payload[8] = { 'k', 'v', 'c', 'l', 'i', 'e', 'n', 't' };

const Kv__StatsResponse kvc_no_stats = KV__STATS_RESPONSE__INIT;

static const struct {
	int		 code;
	const char	*name;
	const char	*text;
} kvc_codes[] = {
	{ KV_OK,			"OK",			"success" },
	{ KV_INVALID_ARGUMENT,		"INVALID_ARGUMENT",	"invalid argument" },
	{ KV_NOT_FOUND,			"NOT_FOUND",		"not found" },
	{ KV_PERMISSION_DENIED,		"PERMISSION_DENIED",	"permission denied" },
	{ KV_TOO_LARGE,			"TOO_LARGE",		"too large" },
	{ KV_FAILED_PRECONDITION,	"FAILED_PRECONDITION",	"failed precondition" },
	{ KV_INTERNAL,			"INTERNAL",		"internal server error" },
	{ KV_UNAVAILABLE,		"UNAVAILABLE",		"server unavailable" },
	{ KV_UNAUTHENTICATED,		"UNAUTHENTICATED",	"not authenticated" },
	{ KV_ERR_NOMEM,			"ERR_NOMEM",		"out of memory" },
	{ KV_ERR_ARG,			"ERR_ARG",		"invalid argument to a library call" },
	{ KV_ERR_RESOLVE,		"ERR_RESOLVE",		"host name does not resolve" },
	{ KV_ERR_CONNECT,		"ERR_CONNECT",		"cannot connect" },
	{ KV_ERR_TIMEOUT,		"ERR_TIMEOUT",		"timed out" },
	{ KV_ERR_IO,			"ERR_IO",		"connection lost" },
	{ KV_ERR_PROTOCOL,		"ERR_PROTOCOL",		"protocol error" },
	{ KV_ERR_CLOSED,		"ERR_CLOSED",		"not connected" },
	{ KV_ERR_STATE,			"ERR_STATE",		"call not allowed in this state" },
	{ KV_ERR_STATUS,		"ERR_STATUS",		"unknown status from server" },
};

const char *
kv_strerror(int code)
{
	size_t i;

	for (i = 0; i < sizeof(kvc_codes) / sizeof(kvc_codes[0]); i++)
		if (kvc_codes[i].code == code)
			return (kvc_codes[i].text);
	return ("unknown error");
}

const char *
kv_status_name(int code)
{
	size_t i;

	for (i = 0; i < sizeof(kvc_codes) / sizeof(kvc_codes[0]); i++)
		if (kvc_codes[i].code == code)
			return (kvc_codes[i].name);
	return (NULL);
}

int
kvc_status_known(int status)
{
	return (status >= 0 && kv_status_name(status) != NULL);
}

const char *
kv_version(void)
{
	return (PACKAGE_VERSION);
}

void
kv_free(void *p)
{
	free(p);
}

void
kvc_errf(char *buf, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(buf, KVC_ERRMSG_MAX, fmt, ap);
	va_end(ap);
}

uint64_t
kvc_now_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000);
}

/* ---- options ---- */

void
kvc_options_copy(struct kv_options *dst, const kv_options *opts)
{
	if (opts != NULL) {
		*dst = *opts;
		return;
	}
	dst->connect_ms = KVC_DEFAULT_CONNECT_MS;
	dst->request_ms = KVC_DEFAULT_REQUEST_MS;
	dst->max_response = KVC_DEFAULT_MAX_RESPONSE;
}

kv_options *
kv_options_new(void)
{
	kv_options *o;

	if ((o = malloc(sizeof(*o))) == NULL)
		return (NULL);
	kvc_options_copy(o, NULL);
	return (o);
}

void
kv_options_free(kv_options *o)
{
	free(o);
}

int
kv_options_set_connect_timeout(kv_options *o, unsigned int ms)
{
	if (o == NULL)
		return (KV_ERR_ARG);
	o->connect_ms = ms;
	return (KV_OK);
}

int
kv_options_set_request_timeout(kv_options *o, unsigned int ms)
{
	if (o == NULL)
		return (KV_ERR_ARG);
	o->request_ms = ms;
	return (KV_OK);
}

int
kv_options_set_max_response(kv_options *o, uint32_t bytes)
{
	if (o == NULL || bytes == 0)
		return (KV_ERR_ARG);
	o->max_response = bytes;
	return (KV_OK);
}

/* ---- replies ---- */

void
kvc_reply_clear(struct kv_reply *r)
{
	if (r->resp != NULL)
		kv__response__free_unpacked(r->resp, r->alloc);
	r->resp = NULL;
	r->alloc = NULL;
	r->status = KV_OK;
	r->message = "";
	r->stats.resp = NULL;
	r->stats.st = NULL;
	r->msgbuf[0] = '\0';
}

void
kvc_reply_error(struct kv_reply *r, int code, const char *msg)
{
	kvc_reply_clear(r);
	r->status = code;
	(void)snprintf(r->msgbuf, sizeof(r->msgbuf), "%s", msg);
	r->message = r->msgbuf;
}

int
kv_reply_status(const kv_reply *r)
{
	return (r == NULL ? KV_ERR_ARG : r->status);
}

const char *
kv_reply_message(const kv_reply *r)
{
	return (r == NULL || r->message == NULL ? "" : r->message);
}

uint64_t
kv_reply_seq(const kv_reply *r)
{
	if (r == NULL || r->resp == NULL || r->status != KV_OK)
		return (0);
	switch (r->resp->result_case) {
	case KV__RESPONSE__RESULT_PUT:
		return (r->resp->put->seq);
	case KV__RESPONSE__RESULT_GET:
		return (r->resp->get->seq);
	case KV__RESPONSE__RESULT_DELETE:
		return (r->resp->delete_->seq);
	default:
		return (0);
	}
}

const void *
kv_reply_value(const kv_reply *r, size_t *lenp)
{
	if (lenp != NULL)
		*lenp = 0;
	if (r == NULL || r->resp == NULL || r->status != KV_OK ||
	    r->resp->result_case != KV__RESPONSE__RESULT_GET)
		return (NULL);
	if (lenp != NULL)
		*lenp = r->resp->get->value.len;
	/* An empty value still gets a usable pointer, as kv_get() promises. */
	return (r->resp->get->value.data != NULL ?
	    (const void *)r->resp->get->value.data : (const void *)"");
}

const kv_statlist *
kv_reply_stats(const kv_reply *r)
{
	if (r == NULL || r->status != KV_OK || r->stats.st == NULL)
		return (NULL);
	return (&r->stats);
}

int
kv_reply_compact_pending(const kv_reply *r)
{
	if (r == NULL || r->resp == NULL || r->status != KV_OK ||
	    r->resp->result_case != KV__RESPONSE__RESULT_COMPACT)
		return (0);
	return (r->resp->compact->pending ? 1 : 0);
}

/* The iter page of r, or NULL if r is not a successful iter. */
static const Kv__IterResponse *
reply_page(const kv_reply *r)
{
	if (r == NULL || r->resp == NULL || r->status != KV_OK ||
	    r->resp->result_case != KV__RESPONSE__RESULT_ITER)
		return (NULL);
	return (r->resp->iter);
}

size_t
kv_reply_entries(const kv_reply *r)
{
	const Kv__IterResponse *ip = reply_page(r);

	return (ip == NULL ? 0 : ip->n_entries);
}

int
kv_reply_entry(const kv_reply *r, size_t i, const void **keyp,
    size_t *keylenp, const void **valp, size_t *vallenp)
{
	const Kv__IterResponse *ip = reply_page(r);
	const Kv__Entry *e;

	if (keyp != NULL)
		*keyp = NULL;
	if (keylenp != NULL)
		*keylenp = 0;
	if (valp != NULL)
		*valp = NULL;
	if (vallenp != NULL)
		*vallenp = 0;
	if (ip == NULL || i >= ip->n_entries)
		return (KV_ERR_ARG);
	e = ip->entries[i];
	if (keyp != NULL)
		*keyp = e->key.data;
	if (keylenp != NULL)
		*keylenp = e->key.len;
	/* An empty value still gets a usable pointer, as for kv_reply_value(). */
	if (valp != NULL)
		*valp = e->value.data != NULL ?
		    (const void *)e->value.data : (const void *)"";
	if (vallenp != NULL)
		*vallenp = e->value.len;
	return (KV_OK);
}

int
kv_reply_more(const kv_reply *r)
{
	const Kv__IterResponse *ip = reply_page(r);

	return (ip != NULL && ip->more);
}

/* ---- ranges ---- */

kv_range *
kv_range_new(void)
{
	return (calloc(1, sizeof(kv_range)));
}

void
kv_range_free(kv_range *r)
{
	if (r == NULL)
		return;
	free(r->start);
	free(r->end);
	free(r->prefix);
	free(r);
}

/* Replace the bound *dst with a copy of src; unchanged on failure. */
static int
range_copy(uint8_t **dst, size_t *dstlen, const void *src, size_t len)
{
	uint8_t *p = NULL;

	if (src == NULL && len > 0)
		return (KV_ERR_ARG);
	if (len > 0) {
		if ((p = malloc(len)) == NULL)
			return (KV_ERR_NOMEM);
		memcpy(p, src, len);
	}
	free(*dst);
	*dst = p;
	*dstlen = len;
	return (KV_OK);
}

int
kv_range_set_start(kv_range *r, const void *key, size_t len)
{
	return (r == NULL ? KV_ERR_ARG :
	    range_copy(&r->start, &r->startlen, key, len));
}

int
kv_range_set_end(kv_range *r, const void *key, size_t len)
{
	return (r == NULL ? KV_ERR_ARG :
	    range_copy(&r->end, &r->endlen, key, len));
}

int
kv_range_set_prefix(kv_range *r, const void *prefix, size_t len)
{
	return (r == NULL ? KV_ERR_ARG :
	    range_copy(&r->prefix, &r->prefixlen, prefix, len));
}

int
kv_range_set_start_exclusive(kv_range *r, int on)
{
	if (r == NULL)
		return (KV_ERR_ARG);
	r->start_exclusive = on != 0;
	return (KV_OK);
}

int
kv_range_set_limit(kv_range *r, uint32_t n)
{
	if (r == NULL)
		return (KV_ERR_ARG);
	r->limit = n;
	return (KV_OK);
}

int
kv_range_set_keys_only(kv_range *r, int on)
{
	if (r == NULL)
		return (KV_ERR_ARG);
	r->keys_only = on != 0;
	return (KV_OK);
}

int
kv_range_continue(kv_range *r, const kv_reply *page)
{
	const Kv__IterResponse *ip = reply_page(page);
	const Kv__Entry *last;
	int e;

	if (r == NULL || ip == NULL)
		return (KV_ERR_ARG);
	/* The library refuses an empty page that says "more", so n > 0 here. */
	if (!ip->more || ip->n_entries == 0)
		return (KV_NOT_FOUND);
	last = ip->entries[ip->n_entries - 1];
	if ((e = range_copy(&r->start, &r->startlen, last->key.data,
	    last->key.len)) != KV_OK)
		return (e);
	r->start_exclusive = 1;
	return (KV_OK);
}

/* ---- statistics ---- */

size_t
kv_stats_count(const kv_statlist *s)
{
	return (s == NULL || s->st == NULL ? 0 : s->st->n_stats);
}

const char *
kv_stats_name(const kv_statlist *s, size_t i)
{
	if (i >= kv_stats_count(s))
		return (NULL);
	return (s->st->stats[i]->name);
}

uint64_t
kv_stats_value(const kv_statlist *s, size_t i)
{
	if (i >= kv_stats_count(s))
		return (0);
	return (s->st->stats[i]->value);
}

int
kv_stats_find(const kv_statlist *s, const char *name, uint64_t *valuep)
{
	size_t i, n;

	if (name == NULL)
		return (KV_ERR_ARG);
	n = kv_stats_count(s);
	for (i = 0; i < n; i++) {
		if (strcmp(s->st->stats[i]->name, name) == 0) {
			if (valuep != NULL)
				*valuep = s->st->stats[i]->value;
			return (KV_OK);
		}
	}
	return (KV_NOT_FOUND);
}

void
kv_stats_free(kv_statlist *s)
{
	if (s == NULL)
		return;
	if (s->resp != NULL)
		kv__response__free_unpacked(s->resp, NULL);
	free(s);
}
