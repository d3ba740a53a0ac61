/*
 * engine-model.c: random sequences of put, get, delete, iterate, compact,
 * reopen and crash-reopen agree with a simple in-memory sorted map.
 *
 * make check runs a fixed seed.  Any seed (and a longer run) by hand:
 *	tests/engine-model SEED [OPS]
 * or KVD_ENGINE_SEED / KVD_ENGINE_OPS in the environment.  A failure
 * prints the seed and the operation number.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon/engine-int.h"
#include "tests/engine-util.h"

#define DEFAULT_SEED	20241125u
#define DEFAULT_OPS	3000u
#define MAXK		8

/* The program's top level: parameters from the command line. */
static uint64_t seed = DEFAULT_SEED;
static unsigned long nops = DEFAULT_OPS;

struct ment {
	uint8_t		 key[MAXK];
	size_t		 klen;
	uint8_t		*val;
	size_t		 vlen;
};

struct model {
	struct ment	*v;
	size_t		 n;
	size_t		 cap;
};

static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return (*s * 2685821657736338717ull);
}

static int
kcmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	size_t n = alen < blen ? alen : blen;
	int c = n > 0 ? memcmp(a, b, n) : 0;

	if (c != 0)
		return (c);
	return ((alen > blen) - (alen < blen));
}

/* Index of the first entry >= key. */
static size_t
m_lower(const struct model *m, const uint8_t *k, size_t klen)
{
	size_t lo = 0, hi = m->n, mid;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		if (kcmp(m->v[mid].key, m->v[mid].klen, k, klen) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (lo);
}

static struct ment *
m_find(struct model *m, const uint8_t *k, size_t klen)
{
	size_t i = m_lower(m, k, klen);

	if (i < m->n && kcmp(m->v[i].key, m->v[i].klen, k, klen) == 0)
		return (&m->v[i]);
	return (NULL);
}

static void
m_put(struct model *m, const uint8_t *k, size_t klen, const uint8_t *v,
    size_t vlen)
{
	struct ment *e = m_find(m, k, klen);
	size_t i;

	if (e == NULL) {
		if (m->n == m->cap) {
			m->cap = m->cap ? m->cap * 2 : 256;
			assert_non_null(m->v = realloc(m->v, m->cap *
			    sizeof(*m->v)));
		}
		i = m_lower(m, k, klen);
		memmove(&m->v[i + 1], &m->v[i], (m->n - i) * sizeof(*m->v));
		m->n++;
		e = &m->v[i];
		memcpy(e->key, k, klen);
		e->klen = klen;
	} else
		free(e->val);
	assert_non_null(e->val = malloc(vlen + 1));
	memcpy(e->val, v, vlen);
	e->vlen = vlen;
}

static int
m_del(struct model *m, const uint8_t *k, size_t klen)
{
	struct ment *e = m_find(m, k, klen);
	size_t i;

	if (e == NULL)
		return (0);
	i = (size_t)(e - m->v);
	free(e->val);
	memmove(&m->v[i], &m->v[i + 1], (m->n - i - 1) * sizeof(*m->v));
	m->n--;
	return (1);
}

static void
m_free(struct model *m)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		free(m->v[i].val);
	free(m->v);
}

static void
rand_key(uint64_t *s, uint8_t *k, size_t *klen)
{
	static const uint8_t alpha[] = { 0, 1, 'a', 'b', 0xff };
	size_t i, n = 1 + rnd(s) % 4;

	if (rnd(s) % 4 == 0)
		n += rnd(s) % (MAXK - 3);
	for (i = 0; i < n; i++)
		k[i] = alpha[rnd(s) % sizeof(alpha)];
	*klen = n;
}

static size_t
rand_vlen(uint64_t *s)
{
	unsigned r = (unsigned)(rnd(s) % 100);

	if (r < 70)
		return (rnd(s) % 41);
	if (r < 95)
		return (40 + rnd(s) % 360);
	return (2000 + rnd(s) % 4000);	/* larger than a segment */
}

struct got {
	uint8_t		(*keys)[MAXK];
	size_t		*klens;
	uint8_t		**vals;
	size_t		*vlens;
	size_t		 n;
	size_t		 cap;
	int		 keys_only;
};

static int
got_cb(void *arg, const struct engine_entry *ent)
{
	struct got *g = arg;

	if (g->n == g->cap) {
		g->cap = g->cap ? g->cap * 2 : 64;
		assert_non_null(g->keys = realloc(g->keys, g->cap *
		    sizeof(*g->keys)));
		assert_non_null(g->klens = realloc(g->klens, g->cap *
		    sizeof(*g->klens)));
		assert_non_null(g->vals = realloc(g->vals, g->cap *
		    sizeof(*g->vals)));
		assert_non_null(g->vlens = realloc(g->vlens, g->cap *
		    sizeof(*g->vlens)));
	}
	assert_true(ent->klen <= MAXK);
	memcpy(g->keys[g->n], ent->key, ent->klen);
	g->klens[g->n] = ent->klen;
	g->vlens[g->n] = ent->vlen;
	g->vals[g->n] = NULL;
	if (!g->keys_only) {
		assert_non_null(ent->value);
		assert_non_null(g->vals[g->n] = malloc(ent->vlen + 1));
		memcpy(g->vals[g->n], ent->value, ent->vlen);
	} else
		assert_null(ent->value);
	g->n++;
	return (0);
}

static void
got_free(struct got *g)
{
	size_t i;

	for (i = 0; i < g->n; i++)
		free(g->vals[i]);
	free(g->keys);
	free(g->klens);
	free(g->vals);
	free(g->vlens);
}

static int
in_range(const struct ment *e, const uint8_t *end, size_t elen,
    const uint8_t *prefix, size_t plen)
{
	if (elen > 0 && kcmp(e->key, e->klen, end, elen) >= 0)
		return (0);
	if (plen > 0 && (e->klen < plen || memcmp(e->key, prefix, plen) != 0))
		return (0);
	return (1);
}

/* One random range, read in pages of limit, compared with the model. */
static void
check_iter(struct tenv *t, struct model *m, uint64_t *s, unsigned long op)
{
	uint8_t start[MAXK], end[MAXK], prefix[MAXK], last[MAXK];
	size_t slen = 0, elen = 0, plen = 0, lastlen = 0, limit, i, at;
	struct got g;
	int excl, more = 1, first = 1, keys_only;
	uint64_t seq;

	if (rnd(s) % 3 != 0)
		rand_key(s, start, &slen);
	if (rnd(s) % 3 == 0)
		rand_key(s, end, &elen);
	if (rnd(s) % 3 == 0) {
		plen = 1 + rnd(s) % 2;
		for (i = 0; i < plen; i++)
			prefix[i] = (uint8_t[]){ 0, 'a', 0xff }[rnd(s) % 3];
	}
	if (slen > 0 && elen > 0 && kcmp(end, elen, start, slen) < 0) {
		memset(&g, 0, sizeof(g));
		assert_int_equal(engine_iter(t->e, start, slen, 0, end, elen,
		    NULL, 0, 0, 0, got_cb, &g, &more, &seq), ENGINE_EINVAL);
		return;
	}
	excl = slen > 0 && rnd(s) % 2;
	limit = rnd(s) % 4 == 0 ? 0 : 1 + rnd(s) % 20;
	keys_only = rnd(s) % 4 == 0;
	/* Expected: from the larger of start and prefix. */
	at = 0;
	if (slen > 0) {
		at = m_lower(m, start, slen);
		if (excl && at < m->n &&
		    kcmp(m->v[at].key, m->v[at].klen, start, slen) == 0)
			at++;
	}
	if (plen > 0 && (slen == 0 || kcmp(prefix, plen, start, slen) > 0))
		at = m_lower(m, prefix, plen);
	while (at < m->n && plen > 0 && kcmp(m->v[at].key, m->v[at].klen,
	    prefix, plen) < 0)
		at++;
	while (more) {
		memset(&g, 0, sizeof(g));
		g.keys_only = keys_only;
		if (first)
			assert_int_equal(engine_iter(t->e, start, slen, excl, end,
			    elen, prefix, plen, limit, keys_only, got_cb, &g,
			    &more, &seq), 0);
		else
			assert_int_equal(engine_iter(t->e, last, lastlen, 1, end,
			    elen, prefix, plen, limit, keys_only, got_cb, &g,
			    &more, &seq), 0);
		for (i = 0; i < g.n; i++, at++) {
			if (at >= m->n || !in_range(&m->v[at], end, elen, prefix,
			    plen))
				fail_msg("seed %llu op %lu: iter returned an "
				    "extra key", (unsigned long long)seed, op);
			if (kcmp(g.keys[i], g.klens[i], m->v[at].key,
			    m->v[at].klen) != 0)
				fail_msg("seed %llu op %lu: iter key %zu differs",
				    (unsigned long long)seed, op, i);
			assert_int_equal(g.vlens[i], m->v[at].vlen);
			if (!keys_only && g.vlens[i] > 0)
				assert_memory_equal(g.vals[i], m->v[at].val,
				    g.vlens[i]);
		}
		if (limit > 0)
			assert_true(g.n <= limit);
		if (more)
			assert_true(g.n > 0);
		if (g.n > 0) {
			memcpy(last, g.keys[g.n - 1], g.klens[g.n - 1]);
			lastlen = g.klens[g.n - 1];
		}
		first = 0;
		got_free(&g);
	}
	if (at < m->n && in_range(&m->v[at], end, elen, prefix, plen))
		fail_msg("seed %llu op %lu: iter missed keys",
		    (unsigned long long)seed, op);
}

static void
check_get(struct tenv *t, struct model *m, const uint8_t *k, size_t klen,
    unsigned long op)
{
	struct ment *e = m_find(m, k, klen);
	void *v;
	size_t vlen;
	uint64_t seq;
	int r = engine_get(t->e, k, klen, &v, &vlen, &seq);

	if (e == NULL) {
		if (r != ENGINE_ENOTFOUND)
			fail_msg("seed %llu op %lu: get of a deleted key gave %d",
			    (unsigned long long)seed, op, r);
		return;
	}
	if (r != 0)
		fail_msg("seed %llu op %lu: get gave %d (%s)",
		    (unsigned long long)seed, op, r, engine_strerror(r));
	if (vlen != e->vlen || (vlen > 0 && memcmp(v, e->val, vlen) != 0))
		fail_msg("seed %llu op %lu: wrong value",
		    (unsigned long long)seed, op);
	free(v);
}

/*
 * A run of gets at once, some keys repeated or empty: each result is what
 * the model says, and every value is still intact after the whole run.
 */
static void
check_get_many(struct tenv *t, struct model *m, uint64_t *s, unsigned long op)
{
	enum { MAXRUN = ENGINE_GET_MANY_MAX };
	struct engine_read rd[MAXRUN + 1];
	uint8_t keys[MAXRUN][MAXK];
	size_t n = 1 + rnd(s) % MAXRUN, i;
	struct ment *e;

	/* More than it takes is refused whole. */
	assert_int_equal(engine_get_many(t->e, rd, MAXRUN + 1), ENGINE_EINVAL);
	for (i = 0; i < n; i++) {
		if (i > 0 && rnd(s) % 8 == 0) {
			memcpy(keys[i], keys[i - 1], rd[i - 1].klen);
			rd[i].klen = rd[i - 1].klen;
		} else
			rand_key(s, keys[i], &rd[i].klen);
		rd[i].key = keys[i];
		if (rnd(s) % 32 == 0)
			rd[i].klen = 0;
	}
	/* Both ways of walking the index: side by side, and one by one. */
	t->e->side_by_side_min = rnd(s) % 2 ? 0 : GET_MANY_SIDE_BY_SIDE;
	assert_int_equal(engine_get_many(t->e, rd, n), 0);
	for (i = 0; i < n; i++) {
		if (rd[i].klen == 0) {
			if (rd[i].rc != ENGINE_EINVAL)
				fail_msg("seed %llu op %lu: get_many of an "
				    "empty key gave %d", (unsigned long long)seed,
				    op, rd[i].rc);
			continue;
		}
		e = m_find(m, keys[i], rd[i].klen);
		if (e == NULL) {
			if (rd[i].rc != ENGINE_ENOTFOUND)
				fail_msg("seed %llu op %lu: get_many of a "
				    "missing key gave %d", (unsigned long long)seed,
				    op, rd[i].rc);
			continue;
		}
		if (rd[i].rc != 0)
			fail_msg("seed %llu op %lu: get_many gave %d (%s)",
			    (unsigned long long)seed, op, rd[i].rc,
			    engine_strerror(rd[i].rc));
		if (rd[i].vlen != e->vlen || (e->vlen > 0 &&
		    memcmp(rd[i].value, e->val, e->vlen) != 0))
			fail_msg("seed %llu op %lu: get_many key %zu of %zu: "
			    "wrong value", (unsigned long long)seed, op, i, n);
	}
}

static void
check_everything(struct tenv *t, struct model *m, unsigned long op)
{
	struct got g;
	size_t i;
	int more;
	uint64_t seq;

	memset(&g, 0, sizeof(g));
	assert_int_equal(engine_iter(t->e, NULL, 0, 0, NULL, 0, NULL, 0, 0, 0,
	    got_cb, &g, &more, &seq), 0);
	if (g.n != m->n)
		fail_msg("seed %llu op %lu: %zu keys, model has %zu",
		    (unsigned long long)seed, op, g.n, m->n);
	for (i = 0; i < g.n; i++) {
		if (kcmp(g.keys[i], g.klens[i], m->v[i].key, m->v[i].klen) != 0 ||
		    g.vlens[i] != m->v[i].vlen || (g.vlens[i] > 0 &&
		    memcmp(g.vals[i], m->v[i].val, g.vlens[i]) != 0))
			fail_msg("seed %llu op %lu: entry %zu differs",
			    (unsigned long long)seed, op, i);
	}
	got_free(&g);
}

/* Kill the process at a quiet moment: open a copy taken while it runs. */
static void
crash_reopen(struct tenv *t)
{
	char copy[600];

	tenv_wait_durable(t, engine_durable_seq(t->e) > 0 ?
	    engine_durable_seq(t->e) : 0);
	tenv_wait_idle(t);
	snprintf(copy, sizeof(copy), "%s/crash-copy", t->root);
	tenv_copy_dir(t->dir, copy);
	tenv_close(t);
	rmtree(t->dir);
	assert_int_equal(rename(copy, t->dir), 0);
	if (tenv_open(t) != 0)
		fail_msg("seed %llu: open after crash: %s",
		    (unsigned long long)seed, t->err);
}

static void
test_model(void **state)
{
	struct tenv t;
	struct model m;
	uint64_t s = seed * 0x9e3779b97f4a7c15ull + 1, last = 0, sq;
	uint8_t k[MAXK], *val;
	size_t klen, vlen, i;
	unsigned long op;
	unsigned r;
	int ret;

	(void)state;
	memset(&m, 0, sizeof(m));
	print_message("seed %llu, %lu operations (rerun: engine-model %llu "
	    "%lu)\n", (unsigned long long)seed, nops,
	    (unsigned long long)seed, nops);
	tenv_init(&t, (enum engine_sync)(rnd(&s) % 3));
	t.cfg.segment_size = 2048;
	t.cfg.compact_ratio = 0.4;
	t.cfg.preallocate = (int)(rnd(&s) % 2);
	t.cfg.max_value = 8192;
	assert_int_equal(tenv_open(&t), 0);
	assert_non_null(val = malloc(8192));
	for (op = 0; op < nops; op++) {
		r = (unsigned)(rnd(&s) % 100);
		rand_key(&s, k, &klen);
		if (r < 40) {
			vlen = rand_vlen(&s);
			for (i = 0; i < vlen; i++)
				val[i] = (uint8_t)rnd(&s);
			assert_int_equal(engine_put(t.e, k, klen, val, vlen, &sq),
			    0);
			assert_true(sq > last);
			last = sq;
			m_put(&m, k, klen, val, vlen);
		} else if (r < 54) {
			check_get(&t, &m, k, klen, op);
		} else if (r < 60) {
			check_get_many(&t, &m, &s, op);
		} else if (r < 72) {
			ret = engine_delete(t.e, k, klen, &sq);
			if (m_del(&m, k, klen)) {
				assert_int_equal(ret, 0);
				assert_true(sq > last);
				last = sq;
			} else
				assert_int_equal(ret, ENGINE_ENOTFOUND);
		} else if (r < 84) {
			check_iter(&t, &m, &s, op);
		} else if (r < 86) {
			assert_int_equal(engine_compact(t.e), 0);
		} else if (r < 88) {
			tenv_reopen(&t);
			check_everything(&t, &m, op);
		} else if (r < 89) {
			crash_reopen(&t);
			check_everything(&t, &m, op);
		} else if (r < 92) {
			if (last > 0)
				tenv_wait_durable(&t, last);
		} else
			engine_service(t.e);
	}
	tenv_wait_idle(&t);
	check_everything(&t, &m, op);
	tenv_reopen(&t);
	check_everything(&t, &m, op);
	assert_int_equal(engine_compact(t.e), 0);
	tenv_wait_idle(&t);
	check_everything(&t, &m, op);
	tenv_reopen(&t);
	check_everything(&t, &m, op);
	free(val);
	m_free(&m);
	tenv_done(&t);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_model),
	};
	const char *s;

	if ((s = getenv("KVD_ENGINE_SEED")) != NULL)
		seed = strtoull(s, NULL, 0);
	if ((s = getenv("KVD_ENGINE_OPS")) != NULL)
		nops = strtoul(s, NULL, 0);
	if (argc > 1)
		seed = strtoull(argv[1], NULL, 0);
	if (argc > 2)
		nops = strtoul(argv[2], NULL, 0);
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
