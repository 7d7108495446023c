/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * mempool_priv.h - internal: what the files of the mempool component share.
 * Never installed.
 *
 *   mempool.c   creation, free, lookup, walk, accessors, ops table, cleanup
 *   cache.c     thread slots, per-thread caches, the out-of-line get/put,
 *               refill and flush, the reserve accounting, thread exit
 *   ops_ring.c  "ring_*" stores on tarn rings
 *   ops_stack.c "stack": lock-free LIFO (Treiber stack with an ABA tag)
 *   debug.c     cookies, put checks, owner tracking, audit, check
 *   stats.c     counts, statistics, dump
 */
#ifndef TARN_MEMPOOL_PRIV_H
#define TARN_MEMPOOL_PRIV_H

#include <pthread.h>
#include <stdbool.h>

#include "env_priv.h"
#include "tarn_mempool.h"

#define MP_LOG "mempool"

/* Debug cookies (in the object header / after the element). */
#define TARN__MP_COOKIE_IN   0x6e69702e6e726174ull /* object is in the pool */
#define TARN__MP_COOKIE_OUT  0x74756f2e6e726174ull /* object is in use */
#define TARN__MP_COOKIE_QUAR 0x7271712e6e726174ull /* quarantined (overflow seen) */
#define TARN__MP_TRAILER     0x6c69742e6e726174ull /* trailer of every object */

/* Marks a thread slot whose cache could not be allocated (works uncached). */
#define TARN__MP_CACHE_FAILED ((struct tarn_mempool_cache *)(uintptr_t)1)

/* Counters kept outside the caches: those of threads beyond the slot bound
 * and those of released caches. Updated with relaxed atomic adds. */
struct tarn__mp_counters {
	uint64_t hit_objs, miss_objs, put_objs;
	uint64_t refills, refill_objs, flushes, flush_objs;
	uint64_t direct_gets, direct_puts;
	uint64_t fails, fail_objs, reserved_objs;
	uint64_t len_hw;
};

/* Who took an object (debug mode). */
struct tarn__mp_owner {
	uint32_t lcore;
	int32_t tid;
};

/* The library's view of a pool: the public part first. */
struct tarn__mempool {
	struct tarn_mempool pub;

	/* Every thread slot's cache (debug pools and cache_size 0 included), or
	 * NULL, or TARN__MP_CACHE_FAILED. Written by the slot's owner thread
	 * with release (pairs with the acquire loads of statistics); a cache
	 * lives until the pool is freed and is reused by the slot's next owner. */
	struct tarn_mempool_cache *caches[TARN_MEMPOOL_MAX_THREADS];

	/* Reserve accounting (reserve > 0 only): objects in the store as
	 * ordinary and reserved gets may count them. Decremented (CAS) before a
	 * dequeue, incremented after an enqueue, so it never exceeds what the
	 * store really holds. Alone on its line: every store op touches it. */
	int64_t acct TARN_CACHE_ALIGNED;
	uint8_t pad_acct[TARN_CACHE_LINE - sizeof(int64_t)];

	/* Stash: available objects outside the store and the caches, linked
	 * through their headers' `next` (free in every store but "stack", and
	 * these objects are in no store), under stash_lock. It takes the
	 * caches that threads give back on exit, on tarn_thread_unregister()
	 * and on TARN_MEMPOOL_FLUSH_SELF when the store is single-producer
	 * (those threads are not the producer), and anything a store refuses
	 * where no caller can take it back. Gets take from it when the store
	 * is short; the next put that reaches the store (the producer's, for a
	 * single-producer store) moves it into the store. stash_n is read
	 * without the lock (relaxed: a hint that the stash is worth locking;
	 * exact at quiescent points). */
	pthread_mutex_t stash_lock;
	struct tarn_mempool_objhdr *stash;
	uint64_t stash_n;
	uint64_t refused; /* store refusals logged (atomic; rate limit of the log) */

	/* ---- read-mostly, slow path ---- */
	struct tarn__mempool *next; /* pool list, under tarn__mp_list_lock */
	unsigned id;                /* unique per process (names of ring, memzone) */
	unsigned stride;            /* bytes between objects */
	unsigned trailer_off;       /* debug: offset of the trailer from the object */
	unsigned reserve;
	unsigned priv_size;
	int socket;
	bool debug;
	bool sp_store;    /* the ops are TARN_MEMPOOL_OPS_F_SP: drains go to the stash */
	bool ring_mpmc;   /* TARN_MEMPOOL_OPS_F_RING_MPMC: the ring called inline, not the ops */
	bool ring_direct; /* ring_mpmc and no reserve: gets and puts are one ring call */
	char *first_obj;  /* object 0 */
	char *end_obj;    /* one stride past the last object */
	/* Page-aware layout (see layout_pages() in mempool.c): 0 when objects
	 * follow each other every `stride` bytes; else the memory is cut in
	 * chunks of `chunk` bytes (one hugepage, chunk-aligned), each holding
	 * `per_chunk` objects from its start + TARN_CACHE_LINE, so no object
	 * crosses a page boundary and its IOVA is valid for all its bytes. */
	size_t chunk;
	unsigned per_chunk;
	const struct tarn_memzone *mz; /* the objects' memory */
	void *priv;                    /* private area (after this struct), or NULL */
	struct tarn__mp_owner *owners; /* debug: who took each object */
	struct tarn__mp_counters retired;

	/* debug counters, atomic */
	uint64_t dbg_double_put, dbg_foreign_put, dbg_wrong_pool, dbg_overflow, dbg_corrupt,
	    dbg_quarantined;
	uint64_t dbg_logged; /* reports logged so far (rate limit) */
};

static inline struct tarn__mempool *tarn__mp(const struct tarn_mempool *mp)
{
	return (struct tarn__mempool *)(uintptr_t)mp;
}

static inline struct tarn_mempool_objhdr *tarn__mp_hdr(const void *obj)
{
	return (struct tarn_mempool_objhdr *)(uintptr_t)obj - 1;
}

/* Is `p` the start of one of m's objects? Range and stride, no memory read. */
static inline bool tarn__mp_is_obj(const struct tarn__mempool *m, const void *p)
{
	const char *c = (const char *)p;
	if (c < m->first_obj || c >= m->end_obj)
		return false;
	size_t off = (size_t)(c - m->first_obj);
	if (m->chunk == 0)
		return off % m->stride == 0;
	size_t in = off % m->chunk;
	return in % m->stride == 0 && in / m->stride < m->per_chunk;
}

/* Index of object `p` (tarn__mp_is_obj(m, p) holds). */
static inline unsigned tarn__mp_obj_idx(const struct tarn__mempool *m, const void *p)
{
	size_t off = (size_t)((const char *)p - m->first_obj);
	if (m->chunk == 0)
		return (unsigned)(off / m->stride);
	return (unsigned)(off / m->chunk * m->per_chunk + off % m->chunk / m->stride);
}

/* Address of object `i` (< size). */
static inline char *tarn__mp_obj_at(const struct tarn__mempool *m, unsigned i)
{
	if (m->chunk == 0)
		return m->first_obj + (size_t)i * m->stride;
	return m->first_obj + (size_t)(i / m->per_chunk) * m->chunk +
	       (size_t)(i % m->per_chunk) * m->stride;
}

/* Name of a structure made for pool `id` (memzone, ring): "mp<id>:<name>",
 * the pool name cut to fit; unique through the id. */
static inline void tarn__mp_sub_name(char out[TARN_NAME_SIZE], unsigned id, const char *name)
{
	int k = snprintf(out, TARN_NAME_SIZE, "mp%u:", id);
	size_t i = k > 0 ? (size_t)k : 0;
	for (; i < TARN_NAME_SIZE - 1 && *name != '\0'; i++)
		out[i] = *name++;
	out[i] = '\0';
}

/* relaxed atomic add on a counter read concurrently by statistics */
static inline void tarn__mp_cnt_add(uint64_t *c, uint64_t v)
{
	__atomic_fetch_add(c, v, __ATOMIC_RELAXED);
}

/* Owner-only counter update: relaxed load + store (no locked instruction). */
static inline void tarn__mp_own_add(uint64_t *c, uint64_t v)
{
	__atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + v, __ATOMIC_RELAXED);
}

/* ---- mempool.c ---- */

/* Pool list: creation order. The mutex also serialises create/free with
 * thread exits (which flush into every pool). */
extern pthread_mutex_t tarn__mp_list_lock;
extern struct tarn__mempool *tarn__mp_list;
/* Set while the calling thread runs a tarn_mempool_walk() callback (it then
 * holds tarn__mp_list_lock). */
extern __thread int tarn__mp_in_walk;

/* The built-in ops (mempool.c registers them in the table). */
extern const struct tarn_mempool_ops tarn__mp_ops_ring_mp_mc;
extern const struct tarn_mempool_ops tarn__mp_ops_ring_sp_sc;
extern const struct tarn_mempool_ops tarn__mp_ops_ring_sp_mc;
extern const struct tarn_mempool_ops tarn__mp_ops_ring_mp_sc;
extern const struct tarn_mempool_ops tarn__mp_ops_ring_rts;
extern const struct tarn_mempool_ops tarn__mp_ops_stack;

/* ---- cache.c ---- */

/* Empty one cache: into the store, or into the stash when `to_stash` (a
 * thread giving back its cache of a single-producer store) or when the
 * store refuses; returns the objects moved. Caller: the owner, or anyone at
 * a quiescent point. */
unsigned tarn__mp_cache_drain(struct tarn__mempool *m, struct tarn_mempool_cache *c, bool to_stash);

/* Free every cache of a pool (pool free; no users). */
void tarn__mp_caches_free(struct tarn__mempool *m);

/* Register the thread-exit hook (once). */
void tarn__mp_thread_hook_init(void);

/* Free every pool left (tarn_cleanup(), lib/tarn/init.c; no users). */
void tarn__mempool_cleanup(void);

/* ---- debug.c ---- */

/* Set up cookies and trailer of object `obj` (creation). */
void tarn__mp_dbg_obj_init(struct tarn__mempool *m, void *obj);
/* Mark objects handed out: cookie in -> out, owner recorded. */
void tarn__mp_dbg_mark_out(struct tarn__mempool *m, void *const *objs, unsigned n);
/* Check objects being put; copies the accepted ones to `ok` (room for n)
 * with their cookie set to "in"; returns how many were accepted. */
unsigned tarn__mp_dbg_accept(struct tarn__mempool *m, void *const *objs, unsigned n, void **ok);
/* The kernel thread id of the caller (cached). */
int32_t tarn__mp_gettid(void);

/* ---- stats.c ---- */

/* Objects in all caches (lock-free snapshot). */
uint64_t tarn__mp_cached(const struct tarn__mempool *m);
/* Add one cache's figures (gets and puts recovered from its state word, see
 * struct tarn_mempool_cache) to `st`. A snapshot; exact when quiescent. */
void tarn__mp_cache_add(struct tarn_mempool_stats *st, const struct tarn_mempool_cache *c);

/* ---- ASan, library side ---- */
#ifdef TARN_MEMPOOL_ASAN
static inline void tarn__mp_poison_one(const struct tarn__mempool *m, void *obj)
{
	ASAN_POISON_MEMORY_REGION(obj, m->pub.elt_size);
}
static inline void tarn__mp_unpoison_one(const struct tarn__mempool *m, void *obj)
{
	ASAN_UNPOISON_MEMORY_REGION(obj, m->pub.elt_size);
}
#else
#define tarn__mp_poison_one(m, obj)   ((void)0)
#define tarn__mp_unpoison_one(m, obj) ((void)0)
#endif
/* Unpoison the whole object memory (before it goes back to the heap). */
#ifdef TARN_MEMPOOL_ASAN
#define tarn__mp_unpoison_all(m) ASAN_UNPOISON_MEMORY_REGION((m)->mz->addr, (m)->mz->len)
#else
#define tarn__mp_unpoison_all(m) ((void)0)
#endif

#endif /* TARN_MEMPOOL_PRIV_H */
