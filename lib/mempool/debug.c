/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * debug.c - debug mode (cookies, put checks, owner tracking), the audit and
 * the invariant check.
 *
 * Head cookie (in the object header, just before the object):
 *   IN    the object is in the pool (store or a cache)
 *   OUT   the object is in use
 *   QUAR  quarantined: its trailer was found overwritten; never handed out
 * Every transition is a CAS, so two threads putting the same object at once
 * cannot both succeed: one of them is reported as a double put.
 * Trailer cookie: 8 bytes right after the element (rounded up to 8), checked
 * on put and by tarn_mempool_check().
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "mempool_priv.h"

/* Most reports logged per pool; later ones are only counted. */
#define DBG_LOG_MAX 32

static __thread int32_t my_tid;

int32_t tarn__mp_gettid(void)
{
	if (tarn_unlikely(my_tid == 0))
		my_tid = (int32_t)syscall(SYS_gettid);
	return my_tid;
}

static inline uint64_t *trailer_of(const struct tarn__mempool *m, void *obj)
{
	return (uint64_t *)(void *)((char *)obj + m->trailer_off);
}

void tarn__mp_dbg_obj_init(struct tarn__mempool *m, void *obj)
{
	tarn__mp_hdr(obj)->cookie = TARN__MP_COOKIE_IN;
	*trailer_of(m, obj) = TARN__MP_TRAILER;
}

static void report(struct tarn__mempool *m, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void report(struct tarn__mempool *m, const char *fmt, ...)
{
	uint64_t k = __atomic_fetch_add(&m->dbg_logged, 1, __ATOMIC_RELAXED);
	if (k > DBG_LOG_MAX)
		return;
	if (k == DBG_LOG_MAX) {
		TARN__ERR(MP_LOG,
		          "'%s': further debug reports are only counted (tarn_mempool_stats)",
		          m->pub.name);
		return;
	}
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	TARN__ERR(MP_LOG, "'%s': %s", m->pub.name, msg);
}

static void owner_get(const struct tarn__mempool *m, unsigned idx, int *lcore, int *tid)
{
	uint32_t l = __atomic_load_n(&m->owners[idx].lcore, __ATOMIC_RELAXED);
	*lcore = l == TARN_LCORE_ID_ANY ? -1 : (int)l;
	*tid = __atomic_load_n(&m->owners[idx].tid, __ATOMIC_RELAXED);
}

void tarn__mp_dbg_mark_out(struct tarn__mempool *m, void *const *objs, unsigned n)
{
	const uint32_t lcore = tarn_lcore_id();
	const int32_t tid = tarn__mp_gettid();
	for (unsigned i = 0; i < n; i++) {
		struct tarn_mempool_objhdr *h = tarn__mp_hdr(objs[i]);
		const unsigned idx = tarn__mp_obj_idx(m, objs[i]);
		uint64_t ck = TARN__MP_COOKIE_IN;
		if (!__atomic_compare_exchange_n(&h->cookie, &ck, TARN__MP_COOKIE_OUT, 0,
		                                 __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
			tarn__mp_cnt_add(&m->dbg_corrupt, 1);
			report(m,
			       "object #%u (%p) handed out with a bad head cookie %#llx (written "
			       "after put?)",
			       idx, objs[i], (unsigned long long)ck);
			__atomic_store_n(&h->cookie, TARN__MP_COOKIE_OUT, __ATOMIC_RELAXED);
		}
		__atomic_store_n(&m->owners[idx].lcore, lcore, __ATOMIC_RELAXED);
		__atomic_store_n(&m->owners[idx].tid, tid, __ATOMIC_RELAXED);
	}
}

/* The pool (other than m) that `p` is an object of, or NULL. */
static const struct tarn__mempool *owner_pool(const struct tarn__mempool *m, const void *p)
{
	const struct tarn__mempool *found = NULL;
	/* A put from a tarn_mempool_walk() callback: the lock is ours already. */
	const bool locked = tarn__mp_in_walk;
	if (!locked)
		pthread_mutex_lock(&tarn__mp_list_lock);
	for (const struct tarn__mempool *o = tarn__mp_list; o != NULL; o = o->next)
		if (o != m && tarn__mp_is_obj(o, p))
			found = o;
	if (!locked)
		pthread_mutex_unlock(&tarn__mp_list_lock);
	return found;
}

unsigned tarn__mp_dbg_accept(struct tarn__mempool *m, void *const *objs, unsigned n, void **ok)
{
	unsigned a = 0;
	for (unsigned i = 0; i < n; i++) {
		void *p = objs[i];
		/* Range and stride first: no header of a stray pointer is read. */
		if (!tarn__mp_is_obj(m, p)) {
			const struct tarn__mempool *o = p != NULL ? owner_pool(m, p) : NULL;
			if (o != NULL) {
				tarn__mp_cnt_add(&m->dbg_wrong_pool, 1);
				report(m, "put of %p, an object of pool '%s' (refused)", p,
				       o->pub.name);
			} else {
				tarn__mp_cnt_add(&m->dbg_foreign_put, 1);
				report(m,
				       "put of %p, which is not an object of this pool (refused)",
				       p);
			}
			continue;
		}
		const unsigned idx = tarn__mp_obj_idx(m, p);
		struct tarn_mempool_objhdr *h = tarn__mp_hdr(p);
		int lc, tid;
		if (h->mp != &m->pub) {
			tarn__mp_cnt_add(&m->dbg_corrupt, 1);
			report(m, "put of object #%u (%p) whose header was overwritten (refused)",
			       idx, p);
			continue;
		}
		uint64_t ck = __atomic_load_n(&h->cookie, __ATOMIC_RELAXED);
		if (ck == TARN__MP_COOKIE_IN || ck == TARN__MP_COOKIE_QUAR) {
			tarn__mp_cnt_add(&m->dbg_double_put, 1);
			owner_get(m, idx, &lc, &tid);
			report(m,
			       "double put of object #%u (%p)%s, last taken by lcore %d thread %d "
			       "(refused)",
			       idx, p, ck == TARN__MP_COOKIE_QUAR ? ", which is quarantined" : "",
			       lc, tid);
			continue;
		}
		if (ck != TARN__MP_COOKIE_OUT || *trailer_of(m, p) != TARN__MP_TRAILER) {
			const bool head = ck != TARN__MP_COOKIE_OUT;
			if (__atomic_compare_exchange_n(&h->cookie, &ck, TARN__MP_COOKIE_QUAR, 0,
			                                __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
				tarn__mp_cnt_add(head ? &m->dbg_corrupt : &m->dbg_overflow, 1);
				tarn__mp_cnt_add(&m->dbg_quarantined, 1);
				owner_get(m, idx, &lc, &tid);
				report(m,
				       "%s of object #%u (%p), taken by lcore %d thread %d: "
				       "quarantined",
				       head ? "head cookie overwritten (underflow?)"
				            : "overflow past the element",
				       idx, p, lc, tid);
			} else {
				tarn__mp_cnt_add(&m->dbg_double_put, 1);
				report(m, "double put of object #%u (%p) (refused)", idx, p);
			}
			continue;
		}
		/* OUT -> IN; a concurrent put of the same object loses here */
		if (!__atomic_compare_exchange_n(&h->cookie, &ck, TARN__MP_COOKIE_IN, 0,
		                                 __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
			tarn__mp_cnt_add(&m->dbg_double_put, 1);
			report(m, "double put of object #%u (%p) (refused)", idx, p);
			continue;
		}
		ok[a++] = p;
	}
	return a;
}

/* ------------------------------------------------------------------------ */
/* Check and audit                                                           */

#define CHECK_FAIL(...)                                                                            \
	do {                                                                                       \
		TARN__ERR(MP_LOG, __VA_ARGS__);                                                    \
		return -EUCLEAN;                                                                   \
	} while (0)

/* Mark object `idx` seen; true if it was already. */
static bool seen_mark(uint8_t *seen, unsigned idx)
{
	bool was = (seen[idx / 8] & (1u << (idx % 8))) != 0;
	seen[idx / 8] |= (uint8_t)(1u << (idx % 8));
	return was;
}

/* The cache of thread slot `s`: its inline pointer, its size, its objects
 * (each of the pool, each once); adds its length to *cached. */
static int check_cache(const struct tarn__mempool *m, unsigned s, uint8_t *seen, uint64_t *cached)
{
	const struct tarn_mempool *mp = &m->pub;
	const struct tarn_mempool_cache *c = __atomic_load_n(&m->caches[s], __ATOMIC_ACQUIRE);
	const struct tarn_mempool_cache *f = mp->fast[s];
	if (c == NULL || c == TARN__MP_CACHE_FAILED) {
		if (f != NULL)
			CHECK_FAIL("check '%s': slot %u has an inline cache but no cache", mp->name,
			           s);
		return 0;
	}
	if (f != NULL && (f != c || m->debug))
		CHECK_FAIL("check '%s': slot %u inline cache pointer is wrong", mp->name, s);
	const uint32_t len =
	    (uint32_t)__atomic_load_n(&c->state, __ATOMIC_RELAXED) & TARN__MP_LEN_MASK;
	if (c->size != mp->cache_size || len > c->size)
		CHECK_FAIL("check '%s': cache of slot %u holds %u objects, size %u (pool "
		           "cache_size %u)",
		           mp->name, s, len, c->size, mp->cache_size);
	for (uint32_t i = 0; i < len; i++) {
		const void *obj = c->objs[i];
		if (!tarn__mp_is_obj(m, obj))
			CHECK_FAIL("check '%s': cache of slot %u holds %p, not an object of "
			           "the pool",
			           mp->name, s, obj);
		const unsigned idx = tarn__mp_obj_idx(m, obj);
		if (seen_mark(seen, idx))
			CHECK_FAIL("check '%s': object #%u is cached twice", mp->name, idx);
		if (m->debug && tarn__mp_hdr(obj)->cookie != TARN__MP_COOKIE_IN)
			CHECK_FAIL("check '%s': cached object #%u is not marked as in the "
			           "pool",
			           mp->name, idx);
	}
	*cached += len;
	return 0;
}

/* The stash: objects of the pool, each once, as many as it counts. */
static int check_stash(struct tarn__mempool *m, uint8_t *seen, uint64_t *stashed)
{
	const struct tarn_mempool *mp = &m->pub;
	const unsigned n = mp->size;
	pthread_mutex_lock(&m->stash_lock);
	uint64_t k = 0;
	const char *bad = NULL;
	unsigned bad_idx = 0;
	for (const struct tarn_mempool_objhdr *h = m->stash; h != NULL && bad == NULL;
	     h = __atomic_load_n(&h->next, __ATOMIC_RELAXED)) {
		const void *obj = h + 1;
		if (!tarn__mp_is_obj(m, obj)) {
			bad = "holds a pointer that is not an object of the pool";
			break;
		}
		bad_idx = tarn__mp_obj_idx(m, obj);
		if (seen_mark(seen, bad_idx))
			bad = "holds an object that is also cached or stashed twice";
		else if (m->debug && h->cookie != TARN__MP_COOKIE_IN)
			bad = "holds an object not marked as in the pool";
		if (++k > n)
			bad = "is longer than the pool (a cycle?)";
	}
	const uint64_t stash_n = __atomic_load_n(&m->stash_n, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&m->stash_lock);
	*stashed = k;
	if (bad != NULL)
		CHECK_FAIL("check '%s': the stash %s (object #%u)", mp->name, bad, bad_idx);
	if (k != stash_n)
		CHECK_FAIL("check '%s': the stash links %llu objects but counts %llu", mp->name,
		           (unsigned long long)k, (unsigned long long)stash_n);
	return 0;
}

/* The counts: store + caches + stash + handed out = n, the store's own
 * check, the reserve's accounting. */
static int check_counts(const struct tarn__mempool *m, unsigned store, uint64_t cached,
                        uint64_t stashed)
{
	const struct tarn_mempool *mp = &m->pub;
	const unsigned n = mp->size;
	if ((uint64_t)store + cached + stashed > n)
		CHECK_FAIL("check '%s': %u objects in the store + %llu in caches + %llu stashed > "
		           "%u objects",
		           mp->name, store, (unsigned long long)cached, (unsigned long long)stashed,
		           n);
	/* Conservation, in every build: every object is in the store, in a
	 * cache, in the stash, or out (handed out and not taken back, by the
	 * always-on per-thread counters). A store that dropped objects, or a
	 * put that lost them, shows here even outside debug mode. */
	struct tarn_mempool_stats st;
	tarn_mempool_stats(mp, &st);
	const int64_t held = st.held;
	const int64_t sum = (int64_t)store + (int64_t)cached + (int64_t)stashed + held;
	if (sum != (int64_t)n)
		CHECK_FAIL("check '%s': %lld object(s) %s: %u in the store + %llu in caches + %llu "
		           "stashed + %lld handed out and not taken back = %lld, the pool has %u%s",
		           mp->name, (long long)(sum < (int64_t)n ? (int64_t)n - sum : sum - n),
		           sum < (int64_t)n ? "lost" : "counted twice", store,
		           (unsigned long long)cached, (unsigned long long)stashed, (long long)held,
		           (long long)sum, n,
		           held < 0 ? " (more objects put than got: objects that no get of this "
		                      "pool handed out were put)"
		                    : "");
	if (mp->ops->check != NULL && mp->ops->check(mp) != 0)
		CHECK_FAIL("check '%s': the store ('%s') is inconsistent", mp->name, mp->ops->name);
	if (m->reserve != 0 && __atomic_load_n(&m->acct, __ATOMIC_RELAXED) != (int64_t)store)
		CHECK_FAIL("check '%s': reserve accounting says %lld objects in the store, it has "
		           "%u",
		           mp->name, (long long)__atomic_load_n(&m->acct, __ATOMIC_RELAXED), store);
	return 0;
}

/* Debug mode: every object's header, cookie and (in the pool) trailer; as
 * many marked as in the pool as the store, the caches and the stash hold. */
static int check_objects(const struct tarn__mempool *m, unsigned store, uint64_t cached,
                         uint64_t stashed)
{
	const struct tarn_mempool *mp = &m->pub;
	uint64_t in = 0;
	for (unsigned i = 0; i < mp->size; i++) {
		char *obj = tarn__mp_obj_at(m, i);
		const struct tarn_mempool_objhdr *h = tarn__mp_hdr(obj);
		const uint64_t ck = __atomic_load_n(&h->cookie, __ATOMIC_RELAXED);
		if (h->mp != mp)
			CHECK_FAIL("check '%s': header of object #%u is overwritten", mp->name, i);
		if (ck == TARN__MP_COOKIE_IN) {
			in++;
			if (*trailer_of(m, obj) != TARN__MP_TRAILER)
				CHECK_FAIL("check '%s': object #%u in the pool has its "
				           "trailer overwritten (write after put?)",
				           mp->name, i);
		} else if (ck != TARN__MP_COOKIE_OUT && ck != TARN__MP_COOKIE_QUAR) {
			CHECK_FAIL("check '%s': object #%u has a bad head cookie %#llx", mp->name,
			           i, (unsigned long long)ck);
		}
	}
	if (in != store + cached + stashed)
		CHECK_FAIL("check '%s': %llu objects marked in the pool, but %u in the "
		           "store + %llu in caches + %llu stashed",
		           mp->name, (unsigned long long)in, store, (unsigned long long)cached,
		           (unsigned long long)stashed);
	return 0;
}

int tarn_mempool_check(const struct tarn_mempool *mp)
{
	if (mp == NULL)
		return -EINVAL;
	struct tarn__mempool *m = tarn__mp(mp);
	uint8_t *seen = calloc((mp->size + 7) / 8, 1);
	if (seen == NULL)
		return -ENOMEM;
	const unsigned store = mp->ops->count(mp);
	uint64_t cached = 0, stashed = 0;
	int rc = 0;
	if (m->caches[0] != NULL || mp->fast[0] != NULL) {
		TARN__ERR(MP_LOG, "check '%s': thread slot 0 has a cache", mp->name);
		rc = -EUCLEAN;
	}
	for (unsigned s = 1; s < TARN_MEMPOOL_MAX_THREADS && rc == 0; s++)
		rc = check_cache(m, s, seen, &cached);
	if (rc == 0)
		rc = check_stash(m, seen, &stashed);
	if (rc == 0)
		rc = check_counts(m, store, cached, stashed);
	if (rc == 0 && m->debug)
		rc = check_objects(m, store, cached, stashed);
	free(seen);
	return rc;
}

int tarn_mempool_audit(const struct tarn_mempool *mp, FILE *out)
{
	if (mp == NULL)
		return -EINVAL;
	if (out == NULL)
		out = stdout;
	const struct tarn__mempool *m = tarn__mp(mp);
	int rc = tarn_mempool_check(mp);
	if (rc < 0) {
		fprintf(out, "pool '%s': check failed (%s): see the log\n", mp->name,
		        tarn_strerror(rc));
		return rc;
	}
	const unsigned in_use = tarn_mempool_in_use_count(mp);
	fprintf(out, "pool '%s': %u objects, %u available, %u in use\n", mp->name, mp->size,
	        mp->size - in_use, in_use);
	if (!m->debug) {
		if (in_use > 0)
			fprintf(out,
			        "  (owners are tracked in debug mode only: TARN_MEMPOOL_F_DEBUG "
			        "or TARN_DEBUG=mempool)\n");
		return (int)in_use;
	}
	for (unsigned i = 0; i < mp->size; i++) {
		char *obj = tarn__mp_obj_at(m, i);
		const uint64_t ck = __atomic_load_n(&tarn__mp_hdr(obj)->cookie, __ATOMIC_RELAXED);
		if (ck == TARN__MP_COOKIE_IN)
			continue;
		int lc, tid;
		owner_get(m, i, &lc, &tid);
		fprintf(out, "  object #%u %p %s by lcore %d thread %d\n", i, (void *)obj,
		        ck == TARN__MP_COOKIE_QUAR ? "quarantined, taken" : "in use, taken", lc,
		        tid);
	}
	return (int)in_use;
}
