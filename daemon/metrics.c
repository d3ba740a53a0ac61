/*
 * metrics.c: Prometheus text over evhttp.  See metrics.h.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/util.h>

#include "log.h"
#include "metrics.h"
#include "stats.h"

struct metrics {
	struct evhttp	*http;
	struct stats	*stats;
	struct engine	*engine;
};

struct render {
	struct evbuffer	*out;
	const char	*family;	/* the family whose HELP/TYPE was written last */
	int		 failed;
};

static void
render_item(void *arg, const struct stats_item *it)
{
	struct render *r = arg;

	/* Items of one family come together: HELP and TYPE once per family. */
	if (r->family == NULL || strcmp(r->family, it->family) != 0) {
		if (evbuffer_add_printf(r->out, "# HELP %s %s\n# TYPE %s %s\n",
		    it->family, it->help, it->family,
		    it->type == STATS_COUNTER ? "counter" : "gauge") < 0)
			r->failed = 1;
		r->family = it->family;
	}
	if (evbuffer_add_printf(r->out, "%s%s%s%s %llu\n", it->family,
	    it->label != NULL ? "{" : "", it->label != NULL ? it->label : "",
	    it->label != NULL ? "}" : "", (unsigned long long)it->value) < 0)
		r->failed = 1;
}

int
metrics_render(struct stats *st, struct engine *engine, struct evbuffer *out)
{
	struct render r = { out, NULL, 0 };

	stats_foreach(st, engine, render_item, &r);
	return (r.failed ? -1 : 0);
}

static void
metrics_request_cb(struct evhttp_request *req, void *arg)
{
	struct metrics *m = arg;
	struct evbuffer *body;
	const char *path;

	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET) {
		evhttp_send_error(req, 405, "Method Not Allowed");
		return;
	}
	path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	if (path == NULL || (strcmp(path, "/metrics") != 0 &&
	    strcmp(path, "/") != 0)) {
		evhttp_send_error(req, HTTP_NOTFOUND, "Not Found");
		return;
	}
	if ((body = evbuffer_new()) == NULL ||
	    metrics_render(m->stats, m->engine, body) != 0) {
		evbuffer_free(body);
		evhttp_send_error(req, HTTP_INTERNAL, "Out Of Memory");
		return;
	}
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
	evhttp_send_reply(req, HTTP_OK, "OK", body);
	evbuffer_free(body);
}

int
metrics_new(struct event_base *base, const struct endpoint *ep,
    struct stats *st, struct engine *engine, struct metrics **out,
    char *err, size_t errlen)
{
	struct evhttp_bound_socket *bound;
	struct metrics *m;
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	char name[300];

	endpoint_format(ep, name, sizeof(name));
	if ((m = calloc(1, sizeof(*m))) == NULL ||
	    (m->http = evhttp_new(base)) == NULL) {
		snprintf(err, errlen, "metrics %s: out of memory", name);
		free(m);
		return (-1);
	}
	m->stats = st;
	m->engine = engine;
	evhttp_set_allowed_methods(m->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
	/* A scraper has no business sending large requests or idling. */
	evhttp_set_max_headers_size(m->http, 8192);
	evhttp_set_max_body_size(m->http, 0);
	evhttp_set_timeout(m->http, 10);
	evhttp_set_gencb(m->http, metrics_request_cb, m);
	if ((bound = evhttp_bind_socket_with_handle(m->http, ep->host,
	    ep->port)) == NULL) {
		snprintf(err, errlen, "metrics %s: %s", name,
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		metrics_free(m);
		return (-1);
	}
	if (getsockname(evhttp_bound_socket_get_fd(bound),
	    (struct sockaddr *)&ss, &sslen) == 0 && ss.ss_family == AF_INET)
		log_info("metrics on http://%s:%u/metrics", ep->host,
		    ntohs(((struct sockaddr_in *)&ss)->sin_port));
	else if (ss.ss_family == AF_INET6)
		log_info("metrics on http://[%s]:%u/metrics", ep->host,
		    ntohs(((struct sockaddr_in6 *)&ss)->sin6_port));
	*out = m;
	return (0);
}

void
metrics_free(struct metrics *m)
{
	if (m == NULL)
		return;
	if (m->http != NULL)
		evhttp_free(m->http);
	free(m);
}
