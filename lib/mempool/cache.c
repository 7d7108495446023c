/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * cache.c - thread slots, per-thread caches and the out-of-line get/put:
 * refill, flush (the adaptive policy of tarn_mempool.h), direct store access,
 * the reserve accounting, and what a
 * thread gives back when it exits or unregisters.
 *
 * A thread gets a slot (1 .. TARN_MEMPOOL_MAX_THREADS-1) on its first get or
 * put on any pool; the slot indexes every pool's cache table. A slot's cache
 * of a pool is made on the slot owner's first use of that pool, published in
 * m->caches[slot] (all pools) and m->pub.fast[slot] (pools whose inline path
 * may use it: not debug, cache_size > 0). When the thread exits or
 * unregisters, its caches are drained into the stores, their counters are
 * added to the pool's retired counters, fast[slot] is cleared and the slot is
 * freed; the cache memory stays with the pool for the slot's next owner.
 */
#include <sched.h>
#include <string.h>

#include "mempool_priv.h"
#include "tarn_ring.h"

__thread uint32_t tarn__mempool_tslot;

static pthread_mutex_t slot_lock = PTHREAD_MUTEX_INITIALIZER;
static bool slot_used[TARN_MEMPOOL_MAX_THREADS];
static unsigned slot_gen;        /* bumped (atomic) each time a slot is freed */
static __thread unsigned noslot; /* slot_gen + 1 when this thread found none */
static int slot_full_logged;     /* atomic */
static pthread_key_t slot_key;
static bool slot_key_ok; /* slot_key was created (written once, under slot_once) */
static pthread_once_t slot_once = PTHREAD_ONCE_INIT;

static void thread_release(void);

/* pthread key destructor: a thread that used pools exits. */
static void slot_key_destructor(void *v)
{
	/* glibc keeps __thread variables alive while key destructors run; the
	 * key value is the slot all the same, in case a libc does not. */
	if (tarn__mempool_tslot == 0)
		tarn__mempool_tslot = (uint32_t)(uintptr_t)v;
	thread_release();
}

static void slot_once_init(void)
{
	int rc = pthread_key_create(&slot_key, slot_key_destructor);
	/* Without the key an exiting plain thread would leave its cached
	 * objects behind, and the key variable holds no key of ours (0 is
	 * some other user's key): no thread gets a slot, so no cache. */
	slot_key_ok = rc == 0;
	if (!slot_key_ok)
		TARN__ERR(MP_LOG,
		          "cannot create a thread key (%s): every thread works without a "
		          "cache (slower)",
		          tarn_strerror(-rc));
	tarn__thread_exit_hook_add(thread_release);
}

void tarn__mp_thread_hook_init(void)
{
	pthread_once(&slot_once, slot_once_init);
}

/* Give the calling thread a slot; 0 when all are taken. */
static uint32_t slot_acquire(void)
{
	unsigned gen = __atomic_load_n(&slot_gen, __ATOMIC_RELAXED);
	/* Already failed and no slot was freed since: stay uncached cheaply. */
	if (noslot != 0 && noslot == gen + 1)
		return 0;
	tarn__mp_thread_hook_init();
	if (!slot_key_ok) {
		/* pthread_once: slot_key_ok is visible to every caller */
		noslot = gen + 1;
		return 0;
	}
	uint32_t s = 0;
	pthread_mutex_lock(&slot_lock);
	for (uint32_t i = 1; i < TARN_MEMPOOL_MAX_THREADS; i++) {
		if (!slot_used[i]) {
			slot_used[i] = true;
			s = i;
			break;
		}
	}
	pthread_mutex_unlock(&slot_lock);
	if (s == 0) {
		noslot = gen + 1;
		if (!__atomic_exchange_n(&slot_full_logged, 1, __ATOMIC_RELAXED))
			TARN__WARN(MP_LOG,
			           "more than %d threads use pools: the others work "
			           "without caches (slower)",
			           TARN_MEMPOOL_MAX_THREADS - 1);
		return 0;
	}
	noslot = 0;
	tarn__mempool_tslot = s;
	pthread_setspecific(slot_key, (void *)(uintptr_t)s);
	return s;
}

/* Move a drained cache's counters to the pool's retired counters and forget
 * its owner, so that the slot's next owner starts from zero. */
static void cache_retire(struct tarn__mempool *m, struct tarn_mempool_cache *c)
{
	struct tarn_mempool_stats st;
	memset(&st, 0, sizeof(st));
	tarn__mp_cache_add(&st, c);
	struct tarn__mp_counters *r = &m->retired;
	tarn__mp_cnt_add(&r->hit_objs, st.hit_objs);
	tarn__mp_cnt_add(&r->miss_objs, st.get_objs - st.hit_objs);
	tarn__mp_cnt_add(&r->put_objs, st.put_objs);
	tarn__mp_cnt_add(&r->refills, st.refills);
	tarn__mp_cnt_add(&r->refill_objs, st.refill_objs);
	tarn__mp_cnt_add(&r->flushes, st.flushes);
	tarn__mp_cnt_add(&r->flush_objs, st.flush_objs);
	tarn__mp_cnt_add(&r->direct_gets, st.direct_gets);
	tarn__mp_cnt_add(&r->direct_puts, st.direct_puts);
	tarn__mp_cnt_add(&r->fails, st.fails);
	tarn__mp_cnt_add(&r->fail_objs, st.fail_objs);
	tarn__mp_cnt_add(&r->reserved_objs, st.reserved_objs);
	uint64_t old = __atomic_load_n(&r->len_hw, __ATOMIC_RELAXED);
	while (st.cache_len_hw > old &&
	       !__atomic_compare_exchange_n(&r->len_hw, &old, (uint64_t)st.cache_len_hw, 0,
	                                    __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
	/* The cache is empty (drained): a zero state is consistent with a zero
	 * slow_dlen. */
	uint64_t *zero[] = { &c->state,         &c->moved,       (uint64_t *)&c->slow_dlen,
		             &c->slow_hit_objs, &c->miss_objs,   &c->slow_put_objs,
		             &c->fails,         &c->refills,     &c->refill_objs,
		             &c->flushes,       &c->flush_objs,  &c->fail_objs,
		             &c->direct_gets,   &c->direct_puts, &c->reserved_objs };
	for (size_t i = 0; i < TARN_ARRAY_SIZE(zero); i++)
		__atomic_store_n(zero[i], 0, __ATOMIC_RELAXED);
	__atomic_store_n(&c->len_hw, 0, __ATOMIC_RELAXED);
	c->last_op = 0;
	__atomic_store_n(&c->lcore, TARN_LCORE_ID_ANY, __ATOMIC_RELAXED);
	__atomic_store_n(&c->tid, 0, __ATOMIC_RELAXED);
}

/* The calling thread stops using tarn (exit, unregister): drain its caches
 * into the stores and free its slot. Idempotent. */
static void thread_release(void)
{
	uint32_t s = tarn__mempool_tslot;
	if (s == 0)
		return;
	pthread_mutex_lock(&tarn__mp_list_lock);
	for (struct tarn__mempool *m = tarn__mp_list; m != NULL; m = m->next) {
		struct tarn_mempool_cache *c = __atomic_load_n(&m->caches[s], __ATOMIC_ACQUIRE);
		if (c == NULL)
			continue;
		if (c == TARN__MP_CACHE_FAILED) {
			__atomic_store_n(&m->caches[s], NULL, __ATOMIC_RELEASE);
			continue;
		}
		/* relaxed: only this slot's owner (us) reads fast[s] */
		__atomic_store_n(&m->pub.fast[s], NULL, __ATOMIC_RELAXED);
		/* a single-producer store has its producer elsewhere: the
		 * objects go to the stash, not into the store */
		tarn__mp_cache_drain(m, c, m->sp_store);
		cache_retire(m, c);
	}
	pthread_mutex_unlock(&tarn__mp_list_lock);
	tarn__mempool_tslot = 0;
	/* a slot exists only when the key does (slot_acquire()) */
	pthread_setspecific(slot_key, NULL);
	pthread_mutex_lock(&slot_lock);
	slot_used[s] = false;
	pthread_mutex_unlock(&slot_lock);
	__atomic_fetch_add(&slot_gen, 1, __ATOMIC_RELAXED);
}

/* Make (or take over) the cache of slot `s` for the calling thread. */
static struct tarn_mempool_cache *cache_arm(struct tarn__mempool *m, uint32_t s,
                                            struct tarn_mempool_cache *c)
{
	if (c == NULL) {
		size_t sz = sizeof(*c) + (size_t)m->pub.cache_size * sizeof(void *);
		c = tarn_malloc_socket(sz, TARN_CACHE_LINE, m->socket);
		if (c == NULL) {
			TARN__WARN(MP_LOG,
			           "'%s': no memory for a thread cache on socket %d: the "
			           "thread works without one",
			           m->pub.name, m->socket);
			__atomic_store_n(&m->caches[s], TARN__MP_CACHE_FAILED, __ATOMIC_RELEASE);
			return NULL;
		}
		c->size = m->pub.cache_size;
		c->slot = s;
		c->mp = &m->pub;
	}
	__atomic_store_n(&c->lcore, tarn_lcore_id(), __ATOMIC_RELAXED);
	__atomic_store_n(&c->tid, tarn__mp_gettid(), __ATOMIC_RELAXED);
	/* release: pairs with the acquire loads of statistics and flush-all */
	__atomic_store_n(&m->caches[s], c, __ATOMIC_RELEASE);
	if (!m->debug)
		/* relaxed: read only by this thread (the slot's owner) */
		__atomic_store_n(&m->pub.fast[s], c, __ATOMIC_RELAXED);
	return c;
}

/* The calling thread's cache of `m`, made on first use; NULL: work uncached. */
static struct tarn_mempool_cache *thread_cache(struct tarn__mempool *m)
{
	uint32_t s = tarn__mempool_tslot;
	if (tarn_unlikely(s == 0)) {
		s = slot_acquire();
		if (s == 0)
			return NULL;
	}
	/* acquire: a cache made by the slot's previous owner is fully visible
	 * (also ordered by slot_lock) */
	struct tarn_mempool_cache *c = __atomic_load_n(&m->caches[s], __ATOMIC_ACQUIRE);
	if (tarn_likely(c != NULL && c != TARN__MP_CACHE_FAILED &&
	                __atomic_load_n(&c->tid, __ATOMIC_RELAXED) != 0))
		return c;
	if (c == TARN__MP_CACHE_FAILED)
		return NULL;
	return cache_arm(m, s, c);
}

/* ------------------------------------------------------------------------ */
/* Store access                                                              */

/* One store operation. A store that is an MP/MC ring
 * (TARN_MEMPOOL_OPS_F_RING_MPMC: the default "ring_mp_mc") is called inline,
 * the others through their ops. */
static inline int store_deq(struct tarn__mempool *m, void **dst, unsigned n)
{
	if (tarn_likely(m->ring_mpmc))
		return tarn_ring_mc_dequeue_bulk(m->pub.store, dst, n, NULL) == n ? 0 : -ENOBUFS;
	return m->pub.ops->dequeue(&m->pub, dst, n);
}

static inline int store_enq(struct tarn__mempool *m, void *const *objs, unsigned n)
{
	if (tarn_likely(m->ring_mpmc))
		return tarn_ring_mp_enqueue_bulk(m->pub.store, objs, n, NULL) == n ? 0 : -ENOBUFS;
	return m->pub.ops->enqueue(&m->pub, objs, n);
}

/* ---- the stash (see struct tarn__mempool) ---- */

static inline bool stash_empty(const struct tarn__mempool *m)
{
	/* relaxed: a hint; the stash itself is read under its lock */
	return tarn_likely(__atomic_load_n(&m->stash_n, __ATOMIC_RELAXED) == 0);
}

static void stash_push_locked(struct tarn__mempool *m, void *const *objs, unsigned n)
{
	/* The links are relaxed atomics, not plain: a "stack" store's pop may
	 * still read the link of an object it lost the race for (see
	 * ops_stack.c), and that object may be here by then. */
	for (unsigned i = 0; i < n; i++) {
		struct tarn_mempool_objhdr *h = tarn__mp_hdr(objs[i]);
		__atomic_store_n(&h->next, m->stash, __ATOMIC_RELAXED);
		m->stash = h;
	}
	__atomic_store_n(&m->stash_n, m->stash_n + n, __ATOMIC_RELAXED);
}

static void stash_pop_locked(struct tarn__mempool *m, void **dst, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		struct tarn_mempool_objhdr *h = m->stash;
		m->stash = __atomic_load_n(&h->next, __ATOMIC_RELAXED);
		__atomic_store_n(&h->next, NULL, __ATOMIC_RELAXED);
		dst[i] = h + 1;
	}
	__atomic_store_n(&m->stash_n, m->stash_n - n, __ATOMIC_RELAXED);
}

static __attribute__((noinline)) void stash_push(struct tarn__mempool *m, void *const *objs,
                                                 unsigned n)
{
	pthread_mutex_lock(&m->stash_lock);
	stash_push_locked(m, objs, n);
	pthread_mutex_unlock(&m->stash_lock);
}

/* A store refused objects it must take (its ops broke their contract, see
 * tarn_mempool_ops): say so, at most a few times per pool. */
static __attribute__((noinline, cold)) void store_refused(struct tarn__mempool *m, unsigned n,
                                                          const char *what)
{
	const uint64_t k = __atomic_fetch_add(&m->refused, 1, __ATOMIC_RELAXED);
	if (k < 8)
		TARN__ERR(MP_LOG, "'%s': store '%s' refused %u objects: %s", m->pub.name,
		          m->pub.ops->name, n, what);
}

/*
 * Take between `min` and `max` objects from the store into dst (as many as it
 * can up to max; without a reserve: max, else min), return how many, or 0
 * when it cannot give `min`. `reserved` lets it dig into the reserve.
 */
static __attribute__((noinline)) unsigned store_get_raw(struct tarn__mempool *m, void **dst,
                                                        unsigned min, unsigned max, bool reserved)
{
	if (m->reserve == 0) {
		if (max > min && store_deq(m, dst, max) == 0)
			return max;
		return store_deq(m, dst, min) == 0 ? min : 0;
	}
	/* Claim k objects from the accounted count first: the store then holds
	 * them for us (puts add to acct only after their enqueue completed). */
	const int64_t floor = reserved ? 0 : (int64_t)m->reserve;
	int64_t cur = __atomic_load_n(&m->acct, __ATOMIC_RELAXED);
	unsigned k;
	do {
		int64_t avail = cur - floor;
		if (avail < (int64_t)min)
			return 0;
		k = avail < (int64_t)max ? (unsigned)avail : max;
		/* relaxed: acct is a budget, the store's own ordering carries
		 * the objects */
	} while (!__atomic_compare_exchange_n(&m->acct, &cur, cur - k, 0, __ATOMIC_RELAXED,
	                                      __ATOMIC_RELAXED));
	/* The k objects are in the store. A store may publish a finished put
	 * late (an RTS ring waits for the puts in flight): wait for them. */
	for (unsigned long tries = 0; store_deq(m, dst, k) != 0; tries++) {
		if (tarn_unlikely(tries >= (1ul << 24))) {
			/* seconds of waiting: the ops broke their contract */
			__atomic_fetch_add(&m->acct, k, __ATOMIC_RELAXED);
			TARN__ERR(MP_LOG, "'%s': store '%s' does not give %u accounted objects",
			          m->pub.name, m->pub.ops->name, k);
			return 0;
		}
		if (tries % 64 == 63)
			sched_yield();
	}
	return k;
}

/* The store alone could not give `min`: the stash, and the rest (if the
 * stash has fewer than `min`) from the store, all or nothing. Under the
 * stash lock, so two getters never both count on the same stashed
 * objects. The store is only dequeued from (by the getter). */
static __attribute__((noinline)) unsigned stash_get(struct tarn__mempool *m, void **dst,
                                                    unsigned min, unsigned max, bool reserved)
{
	unsigned got = 0;

	pthread_mutex_lock(&m->stash_lock);
	const unsigned s = (unsigned)m->stash_n;
	if (s >= min) {
		got = s < max ? s : max;
		stash_pop_locked(m, dst, got);
	} else if (s > 0) {
		stash_pop_locked(m, dst, s);
		const unsigned r = store_get_raw(m, dst + s, min - s, max - s, reserved);
		if (r == 0)
			stash_push_locked(m, dst, s);
		else
			got = s + r;
	}
	pthread_mutex_unlock(&m->stash_lock);
	return got;
}

static inline unsigned store_get(struct tarn__mempool *m, void **dst, unsigned min, unsigned max,
                                 bool reserved)
{
	const unsigned k = store_get_raw(m, dst, min, max, reserved);
	if (tarn_likely(k != 0) || stash_empty(m))
		return k;
	return stash_get(m, dst, min, max, reserved);
}

/* Take exactly n: the common case inline. */
static inline bool store_get_n(struct tarn__mempool *m, void **dst, unsigned n, bool reserved)
{
	if (tarn_likely(m->reserve == 0)) {
		if (tarn_likely(store_deq(m, dst, n) == 0))
			return true;
		return !stash_empty(m) && stash_get(m, dst, n, n, reserved) == n;
	}
	return store_get(m, dst, n, n, reserved) == n;
}

/* Move the stash into the store. Called by a put that reached the store:
 * for a single-producer store that is its producer. */
static __attribute__((noinline)) void stash_to_store(struct tarn__mempool *m)
{
	void *batch[64];

	pthread_mutex_lock(&m->stash_lock);
	while (m->stash_n != 0) {
		const unsigned k = m->stash_n < 64 ? (unsigned)m->stash_n : 64;
		stash_pop_locked(m, batch, k);
		if (tarn_unlikely(store_enq(m, batch, k) != 0)) {
			stash_push_locked(m, batch, k);
			store_refused(m, k, "they stay in the pool's stash");
			break;
		}
		if (m->reserve != 0)
			__atomic_fetch_add(&m->acct, k, __ATOMIC_RELAXED);
	}
	pthread_mutex_unlock(&m->stash_lock);
}

/* Give n objects to the store: 0, or -ENOBUFS if it refused them (nothing
 * taken; impossible for the built-in stores, which hold the whole pool). */
static inline int store_put(struct tarn__mempool *m, void *const *objs, unsigned n)
{
	if (tarn_unlikely(store_enq(m, objs, n) != 0))
		return -ENOBUFS;
	if (m->reserve != 0)
		__atomic_fetch_add(&m->acct, n, __ATOMIC_RELAXED);
	if (tarn_unlikely(!stash_empty(m)))
		stash_to_store(m);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Cache algorithm (see the policy in tarn_mempool.h)                        */

/* Counter update: the cache's own counter (owner-only) or, for a thread
 * without a cache, the pool's retired counter (atomic). */
#define STAT(m, c, f, v)                                                                           \
	do {                                                                                       \
		if ((c) != NULL)                                                                   \
			tarn__mp_own_add(&(c)->f, (v));                                            \
		else                                                                               \
			tarn__mp_cnt_add(&(m)->retired.f, (v));                                    \
	} while (0)
/* Objects got from a cache / put by the out-of-line path. */
#define STAT_HIT(m, c, v)                                                                          \
	do {                                                                                       \
		if ((c) != NULL)                                                                   \
			tarn__mp_own_add(&(c)->slow_hit_objs, (v));                                \
		else                                                                               \
			tarn__mp_cnt_add(&(m)->retired.hit_objs, (v));                             \
	} while (0)
#define STAT_PUT(m, c, v)                                                                          \
	do {                                                                                       \
		if ((c) != NULL)                                                                   \
			tarn__mp_own_add(&(c)->slow_put_objs, (v));                                \
		else                                                                               \
			tarn__mp_cnt_add(&(m)->retired.put_objs, (v));                             \
	} while (0)

/* tarn_mempool_cache::last_op */
enum { LAST_NONE = 0, LAST_REFILL = 1, LAST_FLUSH = 2 };

static inline uint32_t len_get(const struct tarn_mempool_cache *c)
{
	/* relaxed: only the owner writes state; statistics read it */
	return (uint32_t)__atomic_load_n(&c->state, __ATOMIC_RELAXED) & TARN__MP_LEN_MASK;
}

/* Set len from the out-of-line path: the inline path's moves stay, the
 * change of length is recorded in slow_dlen (see struct tarn_mempool_cache). */
static inline void len_set(struct tarn_mempool_cache *c, uint32_t len)
{
	const uint64_t st = __atomic_load_n(&c->state, __ATOMIC_RELAXED);
	const uint32_t old = (uint32_t)st & TARN__MP_LEN_MASK;
	__atomic_store_n(&c->state, (st & ~(uint64_t)TARN__MP_LEN_MASK) | len, __ATOMIC_RELAXED);
	tarn__mp_own_add((uint64_t *)&c->slow_dlen, (uint64_t)((int64_t)len - (int64_t)old));
}

/* Move the inline path's moves from `state` to the 64-bit `moved` (at every
 * refill and flush, so that the 52 bits of `state` never wrap in practice). */
static inline void moves_fold(struct tarn_mempool_cache *c)
{
	const uint64_t st = __atomic_load_n(&c->state, __ATOMIC_RELAXED);
	const uint64_t moves = st >> TARN__MP_LEN_BITS;
	if (moves != 0) {
		tarn__mp_own_add(&c->moved, moves);
		__atomic_store_n(&c->state, st & TARN__MP_LEN_MASK, __ATOMIC_RELAXED);
	}
}

static inline void hw_note(struct tarn_mempool_cache *c, uint32_t len)
{
	if (len > c->len_hw)
		__atomic_store_n(&c->len_hw, len, __ATOMIC_RELAXED);
}

static inline void copy(void **d, void *const *s, unsigned n)
{
	if (n != 0)
		memcpy(d, s, (size_t)n * sizeof(void *));
}

/* Count a get / put made straight on the store. A cache of size 0 counts
 * only direct_gets / direct_puts (every get of it is a miss, every put a
 * direct one: tarn__mp_cache_add() adds them to the misses and puts). */
static inline void count_direct_get(struct tarn__mempool *m, struct tarn_mempool_cache *c,
                                    unsigned n)
{
	if (c != NULL && c->size == 0) {
		tarn__mp_own_add(&c->direct_gets, n);
		return;
	}
	STAT(m, c, miss_objs, n);
	STAT(m, c, direct_gets, n);
}

static inline void count_direct_put(struct tarn__mempool *m, struct tarn_mempool_cache *c,
                                    unsigned n)
{
	if (c != NULL && c->size == 0) {
		tarn__mp_own_add(&c->direct_puts, n);
		return;
	}
	STAT_PUT(m, c, n);
	STAT(m, c, direct_puts, n);
}

/* No cache, or a cache of size 0: straight to the store. */
static inline int get_direct(struct tarn__mempool *m, struct tarn_mempool_cache *c, void **objs,
                             unsigned n)
{
	if (tarn_unlikely(!store_get_n(m, objs, n, false))) {
		STAT(m, c, fails, 1);
		STAT(m, c, fail_objs, n);
		return -ENOBUFS;
	}
	count_direct_get(m, c, n);
	return 0;
}

static inline int put_direct(struct tarn__mempool *m, struct tarn_mempool_cache *c,
                             void *const *objs, unsigned n)
{
	if (tarn_unlikely(store_put(m, objs, n) != 0)) {
		store_refused(m, n, "the put fails and the caller keeps them");
		return -ENOBUFS;
	}
	count_direct_put(m, c, n);
	return 0;
}

static int get_refill(struct tarn__mempool *m, struct tarn_mempool_cache *c, void **objs,
                      unsigned n);

/* Take n (> 0, <= size of pool) objects for an ordinary get. */
static inline __attribute__((always_inline)) int
do_get(struct tarn__mempool *m, struct tarn_mempool_cache *c, void **objs, unsigned n)
{
	if (c == NULL || c->size == 0)
		return get_direct(m, c, objs, n);
	uint32_t len = len_get(c);
	const uint32_t size = c->size;
	if (n <= len) {
		len -= n;
		copy(objs, &c->objs[len], n);
		len_set(c, len);
		STAT_HIT(m, c, n);
		return 0;
	}
	if (n > size) {
		/* Too big for the cache: the cached objects (hot) and the rest
		 * from the store, all or nothing. */
		const unsigned need = n - len;
		if (!store_get_n(m, objs + len, need, false)) {
			STAT(m, c, fails, 1);
			STAT(m, c, fail_objs, n);
			return -ENOBUFS;
		}
		copy(objs, c->objs, len);
		len_set(c, 0);
		STAT(m, c, miss_objs, n);
		STAT(m, c, direct_gets, need);
		return 0;
	}
	return get_refill(m, c, objs, n);
}

/* A get of len < n <= size: refill to full (at least the missing n - len),
 * then serve n. Out of line so that the direct path stays small. */
static __attribute__((noinline)) int
get_refill(struct tarn__mempool *m, struct tarn_mempool_cache *c, void **objs, unsigned n)
{
	uint32_t len = len_get(c);
	const uint32_t size = c->size;
	/* to full after a refill (the thread consumes), else to half */
	uint32_t target = c->last_op == LAST_REFILL ? size : size / 2;
	if (target < n)
		target = n;
	const unsigned got = store_get(m, &c->objs[len], n - len, target - len, false);
	if (got == 0)
		goto fail;
	len += got;
	hw_note(c, len);
	len -= n;
	copy(objs, &c->objs[len], n);
	len_set(c, len);
	moves_fold(c);
	c->last_op = LAST_REFILL;
	STAT(m, c, refills, 1);
	STAT(m, c, refill_objs, got);
	STAT(m, c, miss_objs, n);
	return 0;
fail:
	STAT(m, c, fails, 1);
	STAT(m, c, fail_objs, n);
	return -ENOBUFS;
}

static int put_flush(struct tarn__mempool *m, struct tarn_mempool_cache *c, void *const *objs,
                     unsigned n);

/* Take back n (> 0) objects already checked: 0, or -ENOBUFS if the store
 * refused (the objects stay the caller's, nothing counted). */
static inline __attribute__((always_inline)) int
do_put(struct tarn__mempool *m, struct tarn_mempool_cache *c, void *const *objs, unsigned n)
{
	if (c == NULL || c->size == 0)
		return put_direct(m, c, objs, n);
	const uint32_t len = len_get(c), size = c->size;
	if (n <= size - len) {
		copy(&c->objs[len], objs, n);
		len_set(c, len + n);
		STAT_PUT(m, c, n);
		return 0;
	}
	if (n > size)
		return put_direct(m, c, objs, n);
	return put_flush(m, c, objs, n);
}

/* A put of n <= size that does not fit: flush the oldest objects, down to
 * empty after a flush (the thread produces), else down to min(size/2,
 * size - n); keep the hottest, then add the n. Out of line so that the
 * direct path stays small. If the store refuses the flush, the cache is
 * left as it was and the put fails. */
static __attribute__((noinline)) int
put_flush(struct tarn__mempool *m, struct tarn_mempool_cache *c, void *const *objs, unsigned n)
{
	const uint32_t len = len_get(c), size = c->size;
	uint32_t keep = 0;
	if (c->last_op != LAST_FLUSH)
		keep = size - n < size / 2 ? size - n : size / 2;
	const uint32_t f = len - keep;
	hw_note(c, len);
	if (tarn_unlikely(store_put(m, c->objs, f) != 0)) {
		store_refused(m, f,
		              "the cache keeps them, the put fails and the caller keeps its "
		              "objects");
		return -ENOBUFS;
	}
	memmove(c->objs, c->objs + f, (size_t)keep * sizeof(void *));
	copy(&c->objs[keep], objs, n);
	len_set(c, keep + n);
	moves_fold(c);
	c->last_op = LAST_FLUSH;
	STAT(m, c, flushes, 1);
	STAT(m, c, flush_objs, f);
	STAT_PUT(m, c, n);
	return 0;
}

unsigned tarn__mp_cache_drain(struct tarn__mempool *m, struct tarn_mempool_cache *c, bool to_stash)
{
	const uint32_t len = len_get(c);
	if (len == 0)
		return 0;
	hw_note(c, len);
	if (to_stash) {
		stash_push(m, c->objs, len);
	} else if (tarn_unlikely(store_put(m, c->objs, len) != 0)) {
		store_refused(m, len, "they go to the pool's stash");
		stash_push(m, c->objs, len);
	}
	len_set(c, 0);
	moves_fold(c);
	tarn__mp_own_add(&c->flushes, 1);
	tarn__mp_own_add(&c->flush_objs, len);
	return len;
}

void tarn__mp_caches_free(struct tarn__mempool *m)
{
	for (unsigned s = 0; s < TARN_MEMPOOL_MAX_THREADS; s++) {
		struct tarn_mempool_cache *c = m->caches[s];
		m->caches[s] = NULL;
		m->pub.fast[s] = NULL;
		if (c != NULL && c != TARN__MP_CACHE_FAILED)
			tarn_free(c);
	}
}

/* ------------------------------------------------------------------------ */
/* Entry points                                                              */

static void unpoison_objs(struct tarn__mempool *m, void *const *objs, unsigned n)
{
	(void)m;
	(void)objs;
	(void)n;
#ifdef TARN_MEMPOOL_ASAN
	for (unsigned i = 0; i < n; i++)
		tarn__mp_unpoison_one(m, objs[i]);
#endif
}

static void poison_objs(struct tarn__mempool *m, void *const *objs, unsigned n)
{
	(void)m;
	(void)objs;
	(void)n;
#ifdef TARN_MEMPOOL_ASAN
	for (unsigned i = 0; i < n; i++)
		tarn__mp_poison_one(m, objs[i]);
#endif
}

/* Everything the inline path leaves out: argument checks, the thread's first
 * use of the pool (slot, cache), threads without a cache, debug mode. */
static __attribute__((noinline)) int get_general(struct tarn_mempool *mp, void **objs, unsigned n)
{
	if (mp == NULL || objs == NULL)
		return -EINVAL;
	if (n == 0)
		return 0;
	if (n > mp->size)
		return -EINVAL;
	struct tarn__mempool *m = tarn__mp(mp);
	struct tarn_mempool_cache *c = thread_cache(m);
	int rc = do_get(m, c, objs, n);
	if (rc == 0) {
		if (m->debug)
			tarn__mp_dbg_mark_out(m, objs, n);
		unpoison_objs(m, objs, n);
	}
	return rc;
}

/*
 * Pools without caches: the inline path found the thread's cache of size 0
 * (mp, objs valid, n > 0). The whole get or put is here, with the default
 * store's ring call inlined (flatten): one call from the program, as many as
 * a store operation needs anyway.
 */
__attribute__((flatten)) int tarn__mempool_get_direct(struct tarn_mempool *mp,
                                                      struct tarn_mempool_cache *c, void **objs,
                                                      unsigned n)
{
	struct tarn__mempool *m = tarn__mp(mp);
	if (tarn_likely(m->ring_direct)) {
		if (tarn_unlikely(tarn_ring_mc_dequeue_bulk(mp->store, objs, n, NULL) != n) &&
		    (n > mp->size || stash_empty(m) || stash_get(m, objs, n, n, false) != n))
			goto fail;
	} else if (n > mp->size || !store_get_n(m, objs, n, false)) {
		goto fail;
	}
	tarn__mp_own_add(&c->direct_gets, n); /* a miss: see count_direct_get() */
	unpoison_objs(m, objs, n);
	return 0;
fail:
	if (n > mp->size)
		return -EINVAL;
	tarn__mp_own_add(&c->fails, 1);
	tarn__mp_own_add(&c->fail_objs, n);
	return -ENOBUFS;
}

__attribute__((flatten)) int tarn__mempool_put_direct(struct tarn_mempool *mp,
                                                      struct tarn_mempool_cache *c,
                                                      void *const *objs, unsigned n)
{
	struct tarn__mempool *m = tarn__mp(mp);
	poison_objs(m, objs, n);
	if (tarn_likely(m->ring_direct)) {
		if (tarn_unlikely(tarn_ring_mp_enqueue_bulk(mp->store, objs, n, NULL) != n))
			goto refused;
		if (tarn_unlikely(!stash_empty(m)))
			stash_to_store(m);
	} else if (tarn_unlikely(store_put(m, objs, n) != 0)) {
		goto refused;
	}
	tarn__mp_own_add(&c->direct_puts, n); /* a put: see count_direct_put() */
	return 0;
refused:
	store_refused(m, n, "the put fails and the caller keeps them");
	unpoison_objs(m, objs, n);
	return -ENOBUFS;
}

/* The inline path's cache does not hold n objects. */
static __attribute__((noinline)) int get_miss(struct tarn__mempool *m, struct tarn_mempool_cache *c,
                                              void **objs, unsigned n)
{
	if (tarn_unlikely(n > m->pub.size))
		return -EINVAL;
	int rc = do_get(m, c, objs, n);
	if (rc == 0)
		unpoison_objs(m, objs, n);
	return rc;
}

int tarn__mempool_get_slow(struct tarn_mempool *mp, struct tarn_mempool_cache *c, void **objs,
                           unsigned n)
{
	/* c != NULL: from the inline path with the thread's armed cache (never
	 * a debug pool); mp and objs are valid and n > len. */
	if (tarn_likely(c != NULL))
		return get_miss(tarn__mp(mp), c, objs, n);
	return get_general(mp, objs, n);
}

static __attribute__((noinline)) int put_general(struct tarn_mempool *mp, void *const *objs,
                                                 unsigned n)
{
	if (mp == NULL || (objs == NULL && n > 0))
		return -EINVAL;
	if (n == 0)
		return 0;
	struct tarn__mempool *m = tarn__mp(mp);
	struct tarn_mempool_cache *c = thread_cache(m);
	if (!m->debug) {
		poison_objs(m, objs, n);
		const int rc = do_put(m, c, objs, n);
		if (tarn_unlikely(rc != 0))
			unpoison_objs(m, objs, n);
		return rc;
	}
	int rc = 0;
	void *ok[128];
	for (unsigned i = 0; i < n;) {
		const unsigned k = n - i < 128 ? n - i : 128;
		const unsigned a = tarn__mp_dbg_accept(m, objs + i, k, ok);
		if (a < k)
			rc = -EINVAL;
		if (a > 0) {
			poison_objs(m, ok, a);
			if (tarn_unlikely(do_put(m, c, ok, a) != 0)) {
				/* refused by the store: they stay the caller's */
				unpoison_objs(m, ok, a);
				tarn__mp_dbg_mark_out(m, ok, a);
				rc = -ENOBUFS;
			}
		}
		i += k;
	}
	return rc;
}

/* The inline path's cache has size 0, or no room for n objects. */
static __attribute__((noinline)) int
put_cached(struct tarn__mempool *m, struct tarn_mempool_cache *c, void *const *objs, unsigned n)
{
	poison_objs(m, objs, n);
	const int rc = do_put(m, c, objs, n);
	if (tarn_unlikely(rc != 0))
		unpoison_objs(m, objs, n);
	return rc;
}

int tarn__mempool_put_slow(struct tarn_mempool *mp, struct tarn_mempool_cache *c, void *const *objs,
                           unsigned n)
{
	/* c != NULL: from the inline path with the thread's armed cache; mp
	 * and objs are valid, n > 0. */
	if (tarn_likely(c != NULL))
		return put_cached(tarn__mp(mp), c, objs, n);
	return put_general(mp, objs, n);
}

int tarn_mempool_get_reserved(struct tarn_mempool *mp, void **objs, unsigned n)
{
	if (mp == NULL || objs == NULL)
		return -EINVAL;
	if (n == 0)
		return 0;
	if (n > mp->size)
		return -EINVAL;
	struct tarn__mempool *m = tarn__mp(mp);
	struct tarn_mempool_cache *c = thread_cache(m);
	const uint32_t len = c != NULL ? len_get(c) : 0;
	if (n <= len) {
		copy(objs, &c->objs[len - n], n);
		len_set(c, len - n);
		STAT_HIT(m, c, n);
	} else {
		/* The cached objects, then the rest from the store, reserve
		 * included; no refill (that would move reserve objects into a
		 * cache where ordinary gets could take them). */
		const unsigned need = n - len;
		if (!store_get_n(m, objs + len, need, true)) {
			STAT(m, c, fails, 1);
			STAT(m, c, fail_objs, n);
			return -ENOBUFS;
		}
		if (len > 0) {
			copy(objs, c->objs, len);
			len_set(c, 0);
			STAT(m, c, miss_objs, n);
			STAT(m, c, direct_gets, need);
		} else {
			count_direct_get(m, c, n);
		}
	}
	STAT(m, c, reserved_objs, n);
	if (m->debug)
		tarn__mp_dbg_mark_out(m, objs, n);
	unpoison_objs(m, objs, n);
	return 0;
}

int tarn_mempool_cache_flush(struct tarn_mempool *mp, int which)
{
	if (mp == NULL || (which != TARN_MEMPOOL_FLUSH_SELF && which != TARN_MEMPOOL_FLUSH_ALL))
		return -EINVAL;
	struct tarn__mempool *m = tarn__mp(mp);
	unsigned moved = 0;
	if (which == TARN_MEMPOOL_FLUSH_SELF) {
		const uint32_t s = tarn__mempool_tslot;
		struct tarn_mempool_cache *c =
		    s ? __atomic_load_n(&m->caches[s], __ATOMIC_ACQUIRE) : NULL;
		/* a single-producer store's producer may be another thread:
		 * to the stash, as at thread exit */
		if (c != NULL && c != TARN__MP_CACHE_FAILED)
			moved = tarn__mp_cache_drain(m, c, m->sp_store);
		return (int)moved;
	}
	/* Serialised with thread exits, which drain caches too. */
	pthread_mutex_lock(&tarn__mp_list_lock);
	for (unsigned s = 1; s < TARN_MEMPOOL_MAX_THREADS; s++) {
		struct tarn_mempool_cache *c = __atomic_load_n(&m->caches[s], __ATOMIC_ACQUIRE);
		if (c != NULL && c != TARN__MP_CACHE_FAILED)
			moved += tarn__mp_cache_drain(m, c, false);
	}
	pthread_mutex_unlock(&tarn__mp_list_lock);
	return (int)moved;
}
