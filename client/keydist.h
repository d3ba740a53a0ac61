/*
 * keydist.h: random numbers and key distributions for kvbench.
 *
 * A keydist_rng is a small, fast generator (xoshiro256**) that each load
 * generating connection or thread owns, so no state is shared while
 * drawing.  A struct keydist holds the constants of one distribution over
 * the key numbers 0..n-1; it is read-only once made, so any number of
 * threads may draw from it, each with its own keydist_rng.
 *
 * The distributions are YCSB's:
 *   uniform   every key number equally likely.
 *   zipfian   key numbers drawn by popularity rank from a Zipf law with
 *             exponent theta (YCSB: 0.99), the ranks scattered over the key
 *             space by a fixed permutation (as YCSB's "scrambled zipfian"
 *             does with a hash), so that the hot keys are not neighbours.
 *   latest    the most recently inserted keys are the most popular: rank r
 *             (Zipf) means the r-th newest key.  The caller passes the
 *             current number of keys to each draw.
 */
#ifndef KVD_KEYDIST_H
#define KVD_KEYDIST_H

#include <stdint.h>

struct keydist_rng {
	uint64_t	s[4];
};

/*
 * keydist_rng_seed(r, seed):
 * Initialise r from seed; the same seed gives the same sequence.
 */
void keydist_rng_seed(struct keydist_rng *r, uint64_t seed);

/* keydist_rng_next(r): 64 random bits. */
uint64_t keydist_rng_next(struct keydist_rng *r);

/* keydist_rng_below(r, n): a uniform number in 0..n-1; 0 when n is 0. */
uint64_t keydist_rng_below(struct keydist_rng *r, uint64_t n);

/* keydist_rng_unit(r): a uniform double in [0, 1). */
double keydist_rng_unit(struct keydist_rng *r);

enum keydist_kind {
	KEYDIST_UNIFORM,
	KEYDIST_ZIPFIAN,
	KEYDIST_LATEST,
};

struct keydist;

/*
 * keydist_new(kind, n, theta):
 * A distribution of the given kind over the key numbers 0..n-1 (n >= 1);
 * theta (0 < theta < 1) is the Zipf exponent, ignored for uniform.  Making
 * a zipfian or latest distribution sums n powers, so it takes time in
 * proportion to n (about 20 ns a key).  Returns NULL if n is 0, theta is
 * out of range, or memory is short.  Free with keydist_free().
 */
struct keydist *keydist_new(enum keydist_kind kind, uint64_t n, double theta);

/* keydist_free(d): free d.  A NULL d is a no-op. */
void keydist_free(struct keydist *d);

/*
 * keydist_next(d, r, count):
 * Draw a key number with r.  For uniform and zipfian the result is in
 * 0..n-1.  For latest, count is the number of keys that exist now (keys
 * 0..count-1, count >= 1, the newest being count-1) and the result is
 * count-1 minus a Zipf rank over n, so in 0..count-1; the ranks keep the
 * constants of n (the count when d was made) as keys are added, which is
 * close enough while inserts are a small share of the work.
 */
uint64_t keydist_next(const struct keydist *d, struct keydist_rng *r,
    uint64_t count);

/* keydist_kind_name(kind): "uniform", "zipfian" or "latest". */
const char *keydist_kind_name(enum keydist_kind kind);

#endif /* !KVD_KEYDIST_H */
