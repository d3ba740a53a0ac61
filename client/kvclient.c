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
