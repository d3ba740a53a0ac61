/*
 * keydist.c: random numbers and key distributions.  See keydist.h.
 *
 * The Zipf draw is the rejection-free method of Gray et al., "Quickly
 * generating billion-record synthetic databases" (SIGMOD 1994), which YCSB
 * also uses: with zeta(n) = sum of 1/i^theta for i = 1..n precomputed, one
 * uniform number and one pow() give a rank.
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>

#include "keydist.h"

struct keydist {
	enum keydist_kind	kind;
	uint64_t		n;
	double			theta;
	double			alpha;	/* 1 / (1 - theta) */
	double			zetan;
	double			eta;
	double			half_pow_theta;	/* 1 + 0.5^theta */
	uint64_t		mult;	/* the rank scramble, see below */
};

static uint64_t
rotl(uint64_t x, int k)
{
	return ((x << k) | (x >> (64 - k)));
}

/* splitmix64: spreads one seed over the four words of xoshiro's state. */
static uint64_t
splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return (z ^ (z >> 31));
}

void
keydist_rng_seed(struct keydist_rng *r, uint64_t seed)
{
	int i;

	for (i = 0; i < 4; i++)
		r->s[i] = splitmix64(&seed);
}

uint64_t
keydist_rng_next(struct keydist_rng *r)
{
	uint64_t *s = r->s;
	uint64_t out = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return (out);
}

uint64_t
keydist_rng_below(struct keydist_rng *r, uint64_t n)
{
	/* Lemire's multiply-shift: no division, bias below 2^-64 * n. */
	return ((uint64_t)(((unsigned __int128)keydist_rng_next(r) * n) >> 64));
}

double
keydist_rng_unit(struct keydist_rng *r)
{
	return ((double)(keydist_rng_next(r) >> 11) * 0x1.0p-53);
}

static uint64_t
gcd(uint64_t a, uint64_t b)
{
	uint64_t t;

	while (b != 0) {
		t = a % b;
		a = b;
		b = t;
	}
	return (a);
}

/*
 * The multiplier of the rank scramble: near n times the golden ratio, and
 * coprime with n, so that rank * mult mod n is a permutation of 0..n-1 that
 * puts consecutive ranks far apart.  YCSB hashes ranks modulo n instead,
 * which maps several ranks to one key and leaves about a third of the keys
 * never drawn; a permutation keeps every key reachable.
 */
static uint64_t
scramble_multiplier(uint64_t n)
{
	uint64_t m = (uint64_t)((double)n * 0.6180339887498949);

	if (m == 0)
		m = 1;
	while (gcd(m, n) != 1)
		m++;
	return (m % n == 0 ? 1 : m);
}

struct keydist *
keydist_new(enum keydist_kind kind, uint64_t n, double theta)
{
	struct keydist *d;
	double zeta2;
	uint64_t i;

	if (n == 0)
		return (NULL);
	if (kind != KEYDIST_UNIFORM && !(theta > 0.0 && theta < 1.0))
		return (NULL);
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return (NULL);
	d->kind = kind;
	d->n = n;
	d->theta = theta;
	d->mult = scramble_multiplier(n);
	if (kind == KEYDIST_UNIFORM)
		return (d);
	/* Summed smallest first: fewer rounding errors. */
	d->zetan = 0.0;
	for (i = n; i >= 1; i--)
		d->zetan += 1.0 / pow((double)i, theta);
	zeta2 = 1.0 + 1.0 / pow(2.0, theta);
	d->alpha = 1.0 / (1.0 - theta);
	d->half_pow_theta = 1.0 + pow(0.5, theta);
	d->eta = (1.0 - pow(2.0 / (double)n, 1.0 - theta)) /
	    (1.0 - zeta2 / d->zetan);
	return (d);
}

void
keydist_free(struct keydist *d)
{
	free(d);
}

/* A Zipf rank in 0..n-1: 0 is the most popular. */
static uint64_t
keydist_rank(const struct keydist *d, struct keydist_rng *r)
{
	double u = keydist_rng_unit(r);
	double uz = u * d->zetan;
	uint64_t k;

	if (uz < 1.0)
		return (0);
	if (uz < d->half_pow_theta)
		return (d->n > 1 ? 1 : 0);
	k = (uint64_t)((double)d->n * pow(d->eta * u - d->eta + 1.0, d->alpha));
	return (k < d->n ? k : d->n - 1);
}

uint64_t
keydist_next(const struct keydist *d, struct keydist_rng *r, uint64_t count)
{
	uint64_t rank;

	switch (d->kind) {
	case KEYDIST_UNIFORM:
		return (keydist_rng_below(r, d->n));
	case KEYDIST_ZIPFIAN:
		return ((uint64_t)(((unsigned __int128)keydist_rank(d, r) *
		    d->mult) % d->n));
	case KEYDIST_LATEST:
		if (count == 0)
			return (0);
		rank = keydist_rank(d, r);
		return (rank < count ? count - 1 - rank : 0);
	}
	return (0);
}

const char *
keydist_kind_name(enum keydist_kind kind)
{
	switch (kind) {
	case KEYDIST_UNIFORM:	return ("uniform");
	case KEYDIST_ZIPFIAN:	return ("zipfian");
	case KEYDIST_LATEST:	return ("latest");
	}
	return ("?");
}
