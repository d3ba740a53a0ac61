/*
 * stats.h: kvd's counters, and one list of every figure it reports.
 *
 * The server and dispatch count events here; the stats request and the
 * Prometheus endpoint both read the same list through stats_foreach(), so
 * the two always agree.  kvd(8) documents each name.
 */
#ifndef KVD_STATS_H
#define KVD_STATS_H

#include <stdint.h>

struct engine;

/* The operations of the protocol, for per-operation counters. */
enum stats_op {
	STATS_OP_PUT,
	STATS_OP_GET,
	STATS_OP_DELETE,
	STATS_OP_ITER,
	STATS_OP_PING,
	STATS_OP_STATS,
	STATS_OP_COMPACT,
	STATS_OP_NONE,		/* a request with no (known) operation */
	STATS_NOPS
};

/* Counters the server keeps. */
enum stats_counter {
	STATS_CONNECTIONS_CURRENT,	/* a gauge: stats_add() with -1 too */
	STATS_CONNECTIONS_TOTAL,
	STATS_CONNECTIONS_REJECTED,	/* over max-clients */
	STATS_CONNECTIONS_DROPPED,	/* past the output hard limit */
	STATS_CONNECTIONS_TIMED_OUT,	/* idle-timeout */
	STATS_FRAMES_MALFORMED,		/* did not parse: connection closed */
	STATS_FRAMES_TOO_LARGE,
	STATS_BYTES_IN,
	STATS_BYTES_OUT,
	STATS_GETS_BATCHED,		/* gets answered in a run looked up together */
	STATS_NCOUNTERS
};

enum stats_type {
	STATS_COUNTER,		/* only grows */
	STATS_GAUGE,		/* goes up and down */
};

/* One figure handed to a stats_foreach() callback. */
struct stats_item {
	const char	*name;		/* protocol name, e.g. "ops_get" */
	const char	*family;	/* Prometheus metric, e.g. "kvd_operations_total" */
	const char	*label;		/* Prometheus label pair, e.g. "op=\"get\"", or NULL */
	const char	*help;		/* one line for # HELP */
	enum stats_type	 type;
	uint64_t	 value;
};

struct stats;

/*
 * stats_new():
 * Counters at zero; uptime_seconds counts from now.  Returns NULL when out
 * of memory.
 */
struct stats *stats_new(void);

/* stats_free(st): free st.  NULL is a no-op. */
void stats_free(struct stats *st);

/* stats_add(st, c, n): add n (may be negative for a gauge) to counter c. */
void stats_add(struct stats *st, enum stats_counter c, int64_t n);

/* stats_get(st, c): the current value of counter c. */
uint64_t stats_get(const struct stats *st, enum stats_counter c);

/*
 * stats_op(st, op, failed):
 * Count one request of operation op; failed counts it among the errors
 * too (a status other than OK and NOT_FOUND).
 */
void stats_op(struct stats *st, enum stats_op op, int failed);

/*
 * stats_foreach(st, engine, cb, arg):
 * Call cb once per figure, in a fixed order, with the server's counters
 * and engine's figures (engine may be NULL: its figures are left out).
 * The strings in item are static.
 */
void stats_foreach(struct stats *st, struct engine *engine,
    void (*cb)(void *arg, const struct stats_item *item), void *arg);

#endif /* !KVD_STATS_H */
