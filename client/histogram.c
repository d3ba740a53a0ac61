/*
 * histogram.c: the log-bucketed latency histogram.  See histogram.h.
 *
 * The layout is HdrHistogram's with two significant binary digits of
 * magnitude per bucket: bucket 0 counts the values 0..255 one by one; bucket
 * b >= 1 covers [128 << b, 256 << b) in 128 steps of 1 << b.  The index of a
 * value is therefore (b << 7) + (v >> b), with b taken from the position of
 * the value's highest set bit, so recording needs no loop and no division.
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "histogram.h"

#define SUB_BITS	7			/* 128 sub-buckets per bucket */
#define SUB_HALF	(1u << SUB_BITS)
#define BUCKETS		(64 - SUB_BITS)		/* enough for any uint64_t */
#define SLOTS		((BUCKETS + 1) << SUB_BITS)

struct histogram {
	uint64_t	count;
	uint64_t	min;
	uint64_t	max;
	long double	sum;	/* 64-bit nanosecond sums can pass 2^64 */
	uint64_t	slots[SLOTS];
};

static unsigned int
histogram_bucket(uint64_t v)
{
	/* v | 255 puts anything below 256 into bucket 0. */
	return ((unsigned int)(63 - __builtin_clzll(v | (2 * SUB_HALF - 1))) -
	    SUB_BITS);
}

static size_t
histogram_index(uint64_t v)
{
	unsigned int b = histogram_bucket(v);

	return (((size_t)b << SUB_BITS) + (size_t)(v >> b));
}

/* The largest value that lands in slot i. */
static uint64_t
histogram_slot_top(size_t i)
{
	size_t b, sub;

	if (i < 2 * SUB_HALF)
		return (i);
	/* Slots of bucket b >= 1 start at (b + 1) << SUB_BITS. */
	b = (i >> SUB_BITS) - 1;
	sub = i - (b << SUB_BITS);
	if (b + SUB_BITS + 1 >= 64 && sub == 2 * SUB_HALF - 1)
		return (UINT64_MAX);
	return ((((uint64_t)sub + 1) << b) - 1);
}

struct histogram *
histogram_new(void)
{
	struct histogram *h;

	if ((h = calloc(1, sizeof(*h))) == NULL)
		return (NULL);
	h->min = UINT64_MAX;
	return (h);
}

void
histogram_free(struct histogram *h)
{
	free(h);
}

void
histogram_reset(struct histogram *h)
{
	memset(h, 0, sizeof(*h));
	h->min = UINT64_MAX;
}

void
histogram_record(struct histogram *h, uint64_t v)
{
	h->slots[histogram_index(v)]++;
	h->count++;
	h->sum += (long double)v;
	if (v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
}

void
histogram_add(struct histogram *dst, const struct histogram *src)
{
	size_t i;

	if (src->count == 0)
		return;
	for (i = 0; i < SLOTS; i++)
		dst->slots[i] += src->slots[i];
	dst->count += src->count;
	dst->sum += src->sum;
	if (src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
}

uint64_t
histogram_count(const struct histogram *h)
{
	return (h->count);
}

uint64_t
histogram_min(const struct histogram *h)
{
	return (h->count == 0 ? 0 : h->min);
}

uint64_t
histogram_max(const struct histogram *h)
{
	return (h->max);
}

double
histogram_mean(const struct histogram *h)
{
	return (h->count == 0 ? 0.0 : (double)(h->sum / (long double)h->count));
}

uint64_t
histogram_percentile(const struct histogram *h, double p)
{
	uint64_t want, seen, top;
	size_t i;

	if (h->count == 0)
		return (0);
	if (!(p > 0.0))		/* also NaN */
		return (h->min);
	if (p >= 100.0)
		return (h->max);
	want = (uint64_t)ceil(p / 100.0 * (double)h->count);
	if (want < 1)
		want = 1;
	if (want > h->count)
		want = h->count;
	seen = 0;
	for (i = 0; i < SLOTS; i++) {
		seen += h->slots[i];
		if (seen >= want)
			break;
	}
	top = histogram_slot_top(i < SLOTS ? i : SLOTS - 1);
	if (top > h->max)
		top = h->max;
	if (top < h->min)
		top = h->min;
	return (top);
}
