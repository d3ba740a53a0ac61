/*
 * metrics.h: the Prometheus text endpoint (--metrics HOST:PORT).
 *
 * An evhttp server on the loop answers GET /metrics with every figure of
 * stats_foreach() in the Prometheus text exposition format (version
 * 0.0.4), so that no exporter sidecar is needed.  Any other path gets 404.
 */
#ifndef KVD_METRICS_H
#define KVD_METRICS_H

#include <stddef.h>

#include "endpoint.h"

struct event_base;
struct engine;
struct stats;
struct metrics;

/*
 * metrics_new(base, ep, st, engine, out, err, errlen):
 * Bind ep and serve /metrics from st and engine (borrowed; they must
 * outlive the endpoint).  Returns 0, or -1 with one line in err naming the
 * address and the problem.
 */
int metrics_new(struct event_base *base, const struct endpoint *ep,
    struct stats *st, struct engine *engine, struct metrics **out,
    char *err, size_t errlen);

/*
 * metrics_render(st, engine, out):
 * Append the exposition text to the evbuffer out.  Returns 0 or -1 (out of
 * memory).  Exposed for tests and for metrics.c itself.
 */
struct evbuffer;
int metrics_render(struct stats *st, struct engine *engine,
    struct evbuffer *out);

/* metrics_free(m): stop serving and free m.  NULL is a no-op. */
void metrics_free(struct metrics *m);

#endif /* !KVD_METRICS_H */
