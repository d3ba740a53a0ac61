/*
 * stats.c: counters and the list of reported figures.  See stats.h.
 */
#include "config.h"

#include <stdlib.h>
#include <time.h>

#include "engine.h"
#include "stats.h"

struct stats {
	struct timespec	 start;
	uint64_t	 c[STATS_NCOUNTERS];
	uint64_t	 ops[STATS_NOPS];
	uint64_t	 errors[STATS_NOPS];
};

/* Protocol names and Prometheus families of the per-operation figures. */
static const char *const ops_names[STATS_NOPS] = {
	"ops_put", "ops_get", "ops_delete", "ops_iter", "ops_ping",
	"ops_stats", "ops_compact", "ops_none"
};
static const char *const errors_names[STATS_NOPS] = {
	"errors_put", "errors_get", "errors_delete", "errors_iter",
	"errors_ping", "errors_stats", "errors_compact", "errors_none"
};
static const char *const op_labels[STATS_NOPS] = {
	"op=\"put\"", "op=\"get\"", "op=\"delete\"", "op=\"iter\"",
	"op=\"ping\"", "op=\"stats\"", "op=\"compact\"", "op=\"none\""
};

static const struct {
	const char	*name;
	const char	*family;
	const char	*help;
	enum stats_type	 type;
} counter_defs[STATS_NCOUNTERS] = {
	[STATS_CONNECTIONS_CURRENT] = { "connections_current",
	    "kvd_connections_current", "Open client connections.", STATS_GAUGE },
	[STATS_CONNECTIONS_TOTAL] = { "connections_total",
	    "kvd_connections_total", "Client connections accepted.",
	    STATS_COUNTER },
	[STATS_CONNECTIONS_REJECTED] = { "connections_rejected",
	    "kvd_connections_rejected_total",
	    "Connections refused because max-clients was reached.",
	    STATS_COUNTER },
	[STATS_CONNECTIONS_DROPPED] = { "connections_dropped",
	    "kvd_connections_dropped_total",
	    "Clients disconnected past client-output-hard-limit.",
	    STATS_COUNTER },
	[STATS_CONNECTIONS_TIMED_OUT] = { "connections_timed_out",
	    "kvd_connections_timed_out_total",
	    "Clients disconnected after idle-timeout.", STATS_COUNTER },
	[STATS_FRAMES_MALFORMED] = { "frames_malformed",
	    "kvd_frames_malformed_total",
	    "Frames that did not parse as a request.", STATS_COUNTER },
	[STATS_FRAMES_TOO_LARGE] = { "frames_too_large",
	    "kvd_frames_too_large_total",
	    "Frames refused for exceeding max-frame.", STATS_COUNTER },
	[STATS_BYTES_IN] = { "bytes_in", "kvd_bytes_in_total",
	    "Bytes received from clients.", STATS_COUNTER },
	[STATS_BYTES_OUT] = { "bytes_out", "kvd_bytes_out_total",
	    "Bytes sent to clients.", STATS_COUNTER },
	[STATS_GETS_BATCHED] = { "gets_batched", "kvd_gets_batched_total",
	    "Gets answered in a run of pipelined gets looked up together.",
	    STATS_COUNTER },
};

struct stats *
stats_new(void)
{
	struct stats *st;

	if ((st = calloc(1, sizeof(*st))) == NULL)
		return (NULL);
	clock_gettime(CLOCK_MONOTONIC, &st->start);
	return (st);
}

void
stats_free(struct stats *st)
{
	free(st);
}

void
stats_add(struct stats *st, enum stats_counter c, int64_t n)
{
	st->c[c] += (uint64_t)n;
}

uint64_t
stats_get(const struct stats *st, enum stats_counter c)
{
	return (st->c[c]);
}

void
stats_op(struct stats *st, enum stats_op op, int failed)
{
	st->ops[op]++;
	if (failed)
		st->errors[op]++;
}

static void
stats_emit(void (*cb)(void *, const struct stats_item *), void *arg,
    const char *name, const char *family, const char *label,
    const char *help, enum stats_type type, uint64_t value)
{
	struct stats_item it = { name, family, label, help, type, value };

	cb(arg, &it);
}

void
stats_foreach(struct stats *st, struct engine *engine,
    void (*cb)(void *arg, const struct stats_item *item), void *arg)
{
	struct engine_stats es;
	struct timespec now;
	size_t i;

	clock_gettime(CLOCK_MONOTONIC, &now);
	stats_emit(cb, arg, "uptime_seconds", "kvd_uptime_seconds", NULL,
	    "Seconds since kvd started.", STATS_GAUGE,
	    (uint64_t)(now.tv_sec - st->start.tv_sec));
	for (i = 0; i < STATS_NCOUNTERS; i++)
		stats_emit(cb, arg, counter_defs[i].name, counter_defs[i].family,
		    NULL, counter_defs[i].help, counter_defs[i].type, st->c[i]);
	for (i = 0; i < STATS_NOPS; i++)
		stats_emit(cb, arg, ops_names[i], "kvd_operations_total",
		    op_labels[i], "Requests handled, by operation.",
		    STATS_COUNTER, st->ops[i]);
	for (i = 0; i < STATS_NOPS; i++)
		stats_emit(cb, arg, errors_names[i], "kvd_errors_total",
		    op_labels[i], "Requests answered with an error status "
		    "(not OK, not NOT_FOUND), by operation.", STATS_COUNTER,
		    st->errors[i]);
	if (engine == NULL)
		return;
	engine_stats(engine, &es);
	stats_emit(cb, arg, "keys", "kvd_keys", NULL, "Live keys.",
	    STATS_GAUGE, es.keys);
	stats_emit(cb, arg, "live_bytes", "kvd_live_bytes", NULL,
	    "Bytes of records the index points at.", STATS_GAUGE,
	    es.live_bytes);
	stats_emit(cb, arg, "dead_bytes", "kvd_dead_bytes", NULL,
	    "Bytes of overwritten or deleted records not yet compacted.",
	    STATS_GAUGE, es.dead_bytes);
	stats_emit(cb, arg, "index_bytes", "kvd_index_bytes", NULL,
	    "Memory held by the in-memory index.", STATS_GAUGE, es.index_bytes);
	stats_emit(cb, arg, "segments", "kvd_segments", NULL,
	    "Segment files in the data directory.", STATS_GAUGE, es.segments);
	stats_emit(cb, arg, "compactions", "kvd_compactions_total", NULL,
	    "Compaction runs completed.", STATS_COUNTER, es.compactions);
	stats_emit(cb, arg, "compaction_failures",
	    "kvd_compaction_failures_total", NULL,
	    "Compaction runs given up after an error (the log says why).",
	    STATS_COUNTER, es.compact_failures);
	stats_emit(cb, arg, "compaction_pending", "kvd_compaction_pending",
	    NULL, "1 from a compact request until the compaction it started "
	    "has finished.", STATS_GAUGE, es.compact_pending ? 1 : 0);
	stats_emit(cb, arg, "fsyncs", "kvd_fsyncs_total", NULL,
	    "fdatasync calls made for durability.", STATS_COUNTER, es.fsyncs);
	stats_emit(cb, arg, "fsync_p50_us", "kvd_fsync_p50_microseconds",
	    NULL, "Median fdatasync latency, microseconds.", STATS_GAUGE,
	    es.fsync_p50_us);
	stats_emit(cb, arg, "fsync_p99_us", "kvd_fsync_p99_microseconds",
	    NULL, "99th percentile fdatasync latency, microseconds.",
	    STATS_GAUGE, es.fsync_p99_us);
	stats_emit(cb, arg, "last_seq", "kvd_last_seq", NULL,
	    "Highest sequence number appended.", STATS_GAUGE, es.last_seq);
	stats_emit(cb, arg, "durable_seq", "kvd_durable_seq", NULL,
	    "Highest sequence number known durable.", STATS_GAUGE,
	    es.durable_seq);
	stats_emit(cb, arg, "readonly", "kvd_readonly", NULL,
	    "1 when writes are refused after a write or sync failure.",
	    STATS_GAUGE, es.readonly ? 1 : 0);
}
