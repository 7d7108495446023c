/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * stats.c - counts, statistics and dumps.
 *
 * Every figure is read with relaxed atomic loads from the caches (written
 * only by their owners) and the pool's retired counters, without a lock: a
 * cache, once made, lives as long as its pool, so the table can be walked at
 * any time. Figures taken while other threads run are a snapshot, exact at
 * quiescent points.
 */
#include <string.h>

#include "mempool_priv.h"

#define LD(p) __atomic_load_n((p), __ATOMIC_RELAXED)

static inline const struct tarn_mempool_cache *slot_cache(const struct tarn__mempool *m, unsigned s)
{
	/* acquire: pairs with the release store that published the cache */
	const struct tarn_mempool_cache *c = __atomic_load_n(&m->caches[s], __ATOMIC_ACQUIRE);
	return c == TARN__MP_CACHE_FAILED ? NULL : c;
}

uint64_t tarn__mp_cached(const struct tarn__mempool *m)
{
	uint64_t sum = 0;
	for (unsigned s = 1; s < TARN_MEMPOOL_MAX_THREADS; s++) {
		const struct tarn_mempool_cache *c = slot_cache(m, s);
		if (c != NULL)
			sum += (uint32_t)LD(&c->state) & TARN__MP_LEN_MASK;
	}
	return sum;
}

unsigned tarn_mempool_avail_count(const struct tarn_mempool *mp)
{
	if (mp == NULL)
		return 0;
	uint64_t avail = (uint64_t)mp->ops->count(mp) + tarn__mp_cached(tarn__mp(mp)) +
	                 __atomic_load_n(&tarn__mp(mp)->stash_n, __ATOMIC_RELAXED);
	/* a snapshot may count an object twice while it moves */
	return avail > mp->size ? mp->size : (unsigned)avail;
}

unsigned tarn_mempool_in_use_count(const struct tarn_mempool *mp)
{
	if (mp == NULL)
		return 0;
	return mp->size - tarn_mempool_avail_count(mp);
}

int tarn_mempool_full(const struct tarn_mempool *mp)
{
	return mp != NULL && tarn_mempool_avail_count(mp) == mp->size;
}

int tarn_mempool_empty(const struct tarn_mempool *mp)
{
	return mp != NULL && tarn_mempool_avail_count(mp) == 0;
}

void tarn__mp_cache_add(struct tarn_mempool_stats *st, const struct tarn_mempool_cache *c)
{
	const uint64_t word = LD(&c->state);
	const uint32_t len = (uint32_t)word & TARN__MP_LEN_MASK;
	const uint64_t moves = LD(&c->moved) + (word >> TARN__MP_LEN_BITS);
	/* inline puts - inline gets = len - the change the slow path made */
	const int64_t diff = (int64_t)len - (int64_t)LD(&c->slow_dlen);
	/* A snapshot taken while the owner runs may be inconsistent: clamp. */
	const int64_t two_puts = (int64_t)moves + diff, two_gets = (int64_t)moves - diff;
	const uint64_t fast_puts = two_puts > 0 ? (uint64_t)two_puts / 2 : 0;
	const uint64_t fast_gets = two_gets > 0 ? (uint64_t)two_gets / 2 : 0;
	const uint64_t hit = fast_gets + LD(&c->slow_hit_objs);
	uint64_t miss = LD(&c->miss_objs), put = fast_puts + LD(&c->slow_put_objs);
	if (c->size == 0) {
		/* a cache of size 0 counts only its direct gets and puts */
		miss += LD(&c->direct_gets);
		put += LD(&c->direct_puts);
	}
	st->get_objs += hit + miss;
	st->hit_objs += hit;
	st->put_objs += put;
	st->refills += LD(&c->refills);
	st->refill_objs += LD(&c->refill_objs);
	st->flushes += LD(&c->flushes);
	st->flush_objs += LD(&c->flush_objs);
	st->direct_gets += LD(&c->direct_gets);
	st->direct_puts += LD(&c->direct_puts);
	st->fails += LD(&c->fails);
	st->fail_objs += LD(&c->fail_objs);
	st->reserved_objs += LD(&c->reserved_objs);
	st->cached += len;
	const uint32_t hw = LD(&c->len_hw);
	if (hw > st->cache_len_hw)
		st->cache_len_hw = hw;
	st->held = (int64_t)st->get_objs - (int64_t)st->put_objs;
}

int tarn_mempool_stats(const struct tarn_mempool *mp, struct tarn_mempool_stats *st)
{
	if (mp == NULL || st == NULL)
		return -EINVAL;
	const struct tarn__mempool *m = tarn__mp(mp);
	memset(st, 0, sizeof(*st));
	const struct tarn__mp_counters *r = &m->retired;
	st->hit_objs = LD(&r->hit_objs);
	st->get_objs = st->hit_objs + LD(&r->miss_objs);
	st->put_objs = LD(&r->put_objs);
	st->refills = LD(&r->refills);
	st->refill_objs = LD(&r->refill_objs);
	st->flushes = LD(&r->flushes);
	st->flush_objs = LD(&r->flush_objs);
	st->direct_gets = LD(&r->direct_gets);
	st->direct_puts = LD(&r->direct_puts);
	st->fails = LD(&r->fails);
	st->fail_objs = LD(&r->fail_objs);
	st->reserved_objs = LD(&r->reserved_objs);
	st->cache_len_hw = (uint32_t)LD(&r->len_hw);
	for (unsigned s = 1; s < TARN_MEMPOOL_MAX_THREADS; s++) {
		const struct tarn_mempool_cache *c = slot_cache(m, s);
		if (c == NULL)
			continue;
		tarn__mp_cache_add(st, c);
		if (LD(&c->tid) != 0)
			st->threads++;
	}
	st->held = (int64_t)st->get_objs - (int64_t)st->put_objs;
	st->dbg_double_put = LD(&m->dbg_double_put);
	st->dbg_foreign_put = LD(&m->dbg_foreign_put);
	st->dbg_wrong_pool = LD(&m->dbg_wrong_pool);
	st->dbg_overflow = LD(&m->dbg_overflow);
	st->dbg_corrupt = LD(&m->dbg_corrupt);
	st->dbg_quarantined = LD(&m->dbg_quarantined);
	return 0;
}

int tarn_mempool_thread_stats(const struct tarn_mempool *mp, struct tarn_mempool_thread_stats *out,
                              unsigned max)
{
	if (mp == NULL || (out == NULL && max > 0))
		return -EINVAL;
	const struct tarn__mempool *m = tarn__mp(mp);
	unsigned k = 0;
	for (unsigned s = 1; s < TARN_MEMPOOL_MAX_THREADS; s++) {
		const struct tarn_mempool_cache *c = slot_cache(m, s);
		if (c == NULL)
			continue;
		const int32_t tid = LD(&c->tid);
		if (tid == 0)
			continue; /* released: its counters are in the totals only */
		if (k < max) {
			struct tarn_mempool_thread_stats *t = &out[k];
			memset(t, 0, sizeof(*t));
			t->slot = s;
			t->lcore = LD(&c->lcore);
			t->tid = tid;
			t->cache_size = c->size;
			t->cache_len = (uint32_t)LD(&c->state) & TARN__MP_LEN_MASK;
			tarn__mp_cache_add(&t->st, c);
		}
		k++;
	}
	return (int)k;
}

static double hit_rate(const struct tarn_mempool_stats *st)
{
	return st->get_objs ? 100.0 * (double)st->hit_objs / (double)st->get_objs : 0.0;
}

static void dump_header(FILE *out)
{
	fprintf(out, "# %-24s %8s %7s %7s %5s %4s %8s %8s %7s %-10s %4s %6s %8s %8s %6s %s\n",
	        "name", "objs", "elt", "stride", "cache", "thr", "avail", "in_use", "reserve",
	        "ops", "sock", "hit%", "refills", "flushes", "fails", "flags");
}

static void dump_line(FILE *out, const struct tarn_mempool *mp)
{
	const struct tarn__mempool *m = tarn__mp(mp);
	struct tarn_mempool_stats st;
	tarn_mempool_stats(mp, &st);
	const unsigned avail = tarn_mempool_avail_count(mp);
	fprintf(out,
	        "%-26s %8u %7u %7u %5u %4u %8u %8u %7u %-10s %4d %6.2f %8llu %8llu %6llu %s%s\n",
	        mp->name, mp->size, mp->elt_size, m->stride, mp->cache_size, st.threads, avail,
	        mp->size - avail, m->reserve, mp->ops->name, m->socket, hit_rate(&st),
	        (unsigned long long)st.refills, (unsigned long long)st.flushes,
	        (unsigned long long)st.fails, m->debug ? "debug" : "-",
	        (mp->flags & (TARN_MEMPOOL_F_SP_PUT | TARN_MEMPOOL_F_SC_GET)) ? ",sp/sc" : "");
}

static void dump_one(struct tarn_mempool *mp, void *arg)
{
	dump_line(arg, mp);
}

void tarn_mempool_dump(FILE *out)
{
	if (out == NULL)
		out = stdout;
	dump_header(out);
	tarn_mempool_walk(dump_one, out);
}

void tarn_mempool_dump_pool(FILE *out, const struct tarn_mempool *mp)
{
	if (out == NULL)
		out = stdout;
	if (mp == NULL) {
		fprintf(out, "mempool: NULL\n");
		return;
	}
	const struct tarn__mempool *m = tarn__mp(mp);
	dump_header(out);
	dump_line(out, mp);
	struct tarn_mempool_stats st;
	tarn_mempool_stats(mp, &st);
	fprintf(out,
	        "  gets %llu (hits %llu, %.2f%%), puts %llu, held %lld, cached %llu (high %u)\n"
	        "  refills %llu (%llu objs), flushes %llu (%llu objs), direct gets %llu, direct "
	        "puts %llu\n"
	        "  failed gets %llu (%llu objs), reserved gets %llu objs\n",
	        (unsigned long long)st.get_objs, (unsigned long long)st.hit_objs, hit_rate(&st),
	        (unsigned long long)st.put_objs, (long long)st.held, (unsigned long long)st.cached,
	        st.cache_len_hw, (unsigned long long)st.refills, (unsigned long long)st.refill_objs,
	        (unsigned long long)st.flushes, (unsigned long long)st.flush_objs,
	        (unsigned long long)st.direct_gets, (unsigned long long)st.direct_puts,
	        (unsigned long long)st.fails, (unsigned long long)st.fail_objs,
	        (unsigned long long)st.reserved_objs);
	if (m->debug)
		fprintf(out,
		        "  debug: double puts %llu, foreign %llu, wrong pool %llu, overflows %llu, "
		        "corrupt %llu, quarantined %llu\n",
		        (unsigned long long)st.dbg_double_put,
		        (unsigned long long)st.dbg_foreign_put,
		        (unsigned long long)st.dbg_wrong_pool, (unsigned long long)st.dbg_overflow,
		        (unsigned long long)st.dbg_corrupt, (unsigned long long)st.dbg_quarantined);
	for (unsigned s = 1; s < TARN_MEMPOOL_MAX_THREADS; s++) {
		const struct tarn_mempool_cache *c = slot_cache(m, s);
		if (c == NULL || LD(&c->tid) == 0)
			continue;
		struct tarn_mempool_stats t;
		memset(&t, 0, sizeof(t));
		tarn__mp_cache_add(&t, c);
		const uint32_t lc = LD(&c->lcore);
		fprintf(out,
		        "  thread slot %3u tid %7d lcore %3d: cache %u/%u, gets %llu (hit %.2f%%), "
		        "puts %llu, held %lld, refills %llu, flushes %llu, fails %llu\n",
		        s, (int)LD(&c->tid), lc == TARN_LCORE_ID_ANY ? -1 : (int)lc,
		        (uint32_t)LD(&c->state) & TARN__MP_LEN_MASK, c->size,
		        (unsigned long long)t.get_objs, hit_rate(&t),
		        (unsigned long long)t.put_objs, (long long)t.held,
		        (unsigned long long)t.refills, (unsigned long long)t.flushes,
		        (unsigned long long)t.fails);
	}
}
