/*
 * histogram.h: a log-bucketed histogram of latencies, in the manner of
 * HdrHistogram.
 *
 * Values (kvbench records nanoseconds) fall into buckets whose width grows
 * with the value: each power of two is split into 128 equal sub-buckets, so
 * a recorded value is known to within 1/128 (under 0.8%) of itself across
 * the whole 64-bit range, with a fixed table of counts and no allocation
 * after histogram_new().  Recording is an index computation and an
 * increment, cheap enough for every request of a benchmark.
 *
 * A histogram is used by one thread at a time; threads that record
 * separately are combined afterwards with histogram_add().
 */
#ifndef KVD_HISTOGRAM_H
#define KVD_HISTOGRAM_H

#include <stdint.h>

struct histogram;

/*
 * histogram_new():
 * An empty histogram.  Returns NULL if memory is short.  Free with
 * histogram_free().
 */
struct histogram *histogram_new(void);

/* histogram_free(h): free h.  A NULL h is a no-op. */
void histogram_free(struct histogram *h);

/* histogram_reset(h): forget every value recorded in h. */
void histogram_reset(struct histogram *h);

/* histogram_record(h, v): count one occurrence of the value v. */
void histogram_record(struct histogram *h, uint64_t v);

/*
 * histogram_add(dst, src):
 * Add every value counted in src to dst (src is unchanged).
 */
void histogram_add(struct histogram *dst, const struct histogram *src);

/* histogram_count(h): how many values h holds. */
uint64_t histogram_count(const struct histogram *h);

/*
 * histogram_min(h), histogram_max(h):
 * The smallest and largest value recorded, exactly (not bucketed); 0 when
 * h is empty.
 */
uint64_t histogram_min(const struct histogram *h);
uint64_t histogram_max(const struct histogram *h);

/* histogram_mean(h): the exact mean of the values; 0 when h is empty. */
double histogram_mean(const struct histogram *h);

/*
 * histogram_percentile(h, p):
 * The value at or below which p percent (0 <= p <= 100) of the recorded
 * values fall: the top of the bucket that holds the ceil(p% of count)-th
 * smallest value, never more than histogram_max() nor less than
 * histogram_min().  So p 50 is the median, p 100 the maximum.  0 when h is
 * empty.  A p outside 0..100 is taken as the nearer end.
 */
uint64_t histogram_percentile(const struct histogram *h, double p);

#endif /* !KVD_HISTOGRAM_H */
