/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file tarn_mempool.h
 * Object pools: `n` fixed-size, cache-line aligned objects carved from a
 * memzone on one socket, handed out and taken back in bulk.
 *
 * ## Structure
 *
 * ```
 *   objects (memzone) ─► shared store (ops: ring or lock-free stack)
 *                              ▲  refill (bulk)      │
 *                              │  flush (bulk)       ▼
 *                         per-thread cache ◄──► get / put (static inline)
 * ```
 *
 * - **Objects.** Each object is preceded by a 32-byte header
 *   (struct tarn_mempool_objhdr) that finds its pool
 *   (tarn_mempool_from_obj()), keeps its IOVA (tarn_mempool_virt2iova()), a
 *   link for the lock-free stack and the debug cookie. Objects are aligned on
 *   TARN_CACHE_LINE; the distance between two objects is
 *   tarn_mempool_obj_stride(). With physical IOVAs (root and hugepages),
 *   no object crosses a page boundary between pages that are not
 *   physically adjacent: a pool larger than a page is laid out page by page
 *   (each hugepage holds (page size - 64) / stride objects, the rest of the
 *   page is unused), a smaller one only when it would cross such a
 *   boundary, so an object's IOVA plus an offset is right for every byte of
 *   it. Objects larger than a page are the exception (a notice says so).
 * - **Shared store.** A pluggable set of operations (struct
 *   tarn_mempool_ops) found by name: "ring_mp_mc" (the default),
 *   "ring_sp_sc", "ring_sp_mc", "ring_mp_sc" (tarn rings; the flags
 *   TARN_MEMPOOL_F_SP_PUT / TARN_MEMPOOL_F_SC_GET choose them when no name is
 *   given), "ring_rts" (a ring in relaxed-tail-sync mode: for more threads
 *   than cores, where a preempted thread must not stall the others) and
 *   "stack" (a lock-free LIFO stack: the objects put last come back first,
 *   while they are still in the CPU caches).
 * - **Per-thread caches.** Every thread that uses a pool gets its own cache
 *   of that pool on first use, found through thread-local storage: no
 *   registration is needed, and cache memory is spent only on the threads
 *   that use the pool. A cache is written only by its thread: no locked
 *   instruction, no lock (plain loads and stores). Up to
 *   TARN_MEMPOOL_MAX_THREADS - 1 threads at a time get a cache; threads
 *   beyond that work directly on the store (still correct, slower). A thread
 *   that exits, or calls tarn_thread_unregister(), gives its cached objects
 *   back to the pool (the store, or the stash: see "Thread safety") and
 *   frees its caches.
 * - **Stash.** A list of available objects outside the store and the caches,
 *   under a mutex: the caches that threads give back when the store is
 *   single-producer, and anything a store refuses where no caller can take
 *   it back. Gets take from it when the store is short; the next put that
 *   reaches the store moves it there. Counted as available.
 *
 * ## Cache policy
 *
 * A cache of size `S` (`cache_size`) NEVER holds more than `S` objects. The
 * amounts a cache moves to and from the store adapt to the thread: a thread
 * that mostly takes (receive) or mostly gives back (transmit) moves whole
 * caches, a thread that does both settles in the middle.
 * - **get** of `n` objects is served from the cache when it holds `n`
 *   (the most recently put objects first). Otherwise, for `n <= S`, the cache
 *   is **refilled**, in one bulk dequeue, **to full** if its previous store
 *   operation was a refill too, else **to half** (`max(S/2, n)`); then `n`
 *   are taken from it. If the store cannot give that much, exactly the
 *   missing `n - len` are dequeued instead; if it cannot give those either,
 *   the get fails and nothing changes. A get of `n > S` takes the cached
 *   objects and the rest straight from the store, all or nothing.
 * - **put** of `n` objects goes to the cache when it has room. Otherwise,
 *   for `n <= S`, the cache is **flushed**, in one bulk enqueue of its oldest
 *   objects (the hottest stay), **to empty** if its previous store operation
 *   was a flush too, else **to half** (`min(S/2, S - n)`); then the `n` are
 *   added. A put of `n > S` goes straight to the store.
 *
 * Why (measured by counting store operations on traces, in the test
 * MempoolCache.PolicyStoreTraffic): a receive-only thread then moves `S` objects per
 * store operation and a transmit-only thread too, as DPDK's flush-everything
 * policy does; a thread whose gets and puts alternate in bursts stays in the
 * middle of its cache, where bursts of up to `S/2` either way never touch
 * the store (a random walk of bursts of 1..32 with S = 512 costs 0.45 store
 * operations per 1000 objects; always refilling to full and flushing to
 * empty would cost about 1.3); and a get/put cycle a little larger than the
 * cache (640 objects through a cache of 512) moves 0.4 objects per object
 * where flushing to empty moves 0.8. DPDK lets a cache grow to 1.5 `S`
 * instead, and flushes it whole.

 * ## Reserve
 *
 * A pool may keep `reserve` objects in its store that ordinary gets cannot
 * take and tarn_mempool_get_reserved() can, so a control path still gets
 * buffers when the data path has drained the pool. Objects in the caches are
 * outside the reserve. With `reserve > 0` every store operation also updates
 * one atomic counter, which makes the limit exact under concurrency.
 *
 * ## Debug mode
 *
 * Chosen at creation by TARN_MEMPOOL_F_DEBUG, or for every pool by the
 * environment variable `TARN_DEBUG=mempool` (a comma-separated list; `all`
 * works too), without rebuilding. In debug mode gets and puts take the
 * out-of-line path (the inline path finds no cache pointer for a debug pool,
 * so the check costs nothing to other pools) and:
 * - each object has a head cookie (in its header) saying whether it is in
 *   the pool or out, and a trailer cookie right after the element;
 * - a put of a pointer that is not an object of the pool (checked by range
 *   and stride before any header is read), of an object of another pool, an
 *   object already in the pool (double put) or an object whose trailer was
 *   overwritten (overflow) is refused, counted and logged, and the pool stays
 *   consistent; an overflowed object is quarantined (kept out of circulation);
 * - the lcore and thread that took each object are recorded, and
 *   tarn_mempool_audit() lists the objects in use with them.
 *
 * In AddressSanitizer builds the element of every object is poisoned while it
 * sits in the pool (store or cache), whatever the mode, so a use after put is
 * reported. The library and the program must then both be built with ASan.
 *
 * ## Thread safety
 *
 * Get and put calls are thread-safe for the default ops ("ring_mp_mc"),
 * "ring_rts" and "stack".
 *
 * Single-producer / single-consumer stores ("ring_sp_sc", "ring_sp_mc",
 * "ring_mp_sc", or ops with TARN_MEMPOOL_OPS_F_SP): the caller promises that
 * one thread at a time calls the put functions (SP) / the get functions
 * (SC) of the pool; "one at a time" means that one call finishes before
 * the next starts (a mutex, a handoff through a queue, a join). The pool
 * keeps its side of that contract whatever threads come and go:
 * - the store is enqueued only by a put call (its cache flush included),
 *   and dequeued only by a get call: a thread's exit,
 *   tarn_thread_unregister() and TARN_MEMPOOL_FLUSH_SELF never enqueue into
 *   a single-producer store; they move the thread's cached objects to the
 *   pool's stash, from which gets take and which the next put that reaches
 *   the store (the producer's) empties into the store. So a thread that only
 *   gets may exit at any time without becoming a second producer.
 * - TARN_MEMPOOL_FLUSH_ALL enqueues into the store directly: it already
 *   requires that no other thread gets or puts during the call.
 *
 * Progress: the fast path is wait-free (a cache hit); the store operations
 * are lock-free ("stack") or as the ring's mode says; the stash is locked
 * only when the store is short (get) or when the stash holds objects (put).
 * Creation, free, lookup, walk, flush-all and thread exit take a mutex;
 * counts and statistics are read without one (snapshots).
 *
 * ## No object lost
 *
 * At every quiescent point (no get or put in flight), with S the objects in
 * the store, C those in the caches, T those in the stash and H the objects
 * handed out and not taken back (objects got minus objects put, from the
 * per-thread counters, which are always on):
 *
 *     S + C + T + H == n
 *
 * tarn_mempool_check() verifies it in every build, so a lost object (a
 * store that drops what it was given, a put that lost it) is caught, not
 * mistaken for an object in use. A put never fails silently: the built-in
 * stores hold the whole pool, so they never refuse; a store that refuses
 * anyway makes the put return -ENOBUFS with the objects left to the caller.
 *
 * Every function needs tarn_init() first unless it says otherwise.
 */
#ifndef TARN_MEMPOOL_H
#define TARN_MEMPOOL_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "tarn_env.h"
#include "tarn_mem.h"

#if defined(__SANITIZE_ADDRESS__)
#define TARN_MEMPOOL_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TARN_MEMPOOL_ASAN 1
#endif
#endif
#ifdef TARN_MEMPOOL_ASAN
#include <sanitizer/asan_interface.h>
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/** @name Limits and flags */
/**@{*/

/** Largest cache size. */
#define TARN_MEMPOOL_CACHE_MAX 512
/**
 * Thread slots: threads 1 .. TARN_MEMPOOL_MAX_THREADS-1 at a time get
 * caches (slot 0 means "none yet" and is never populated).
 */
#define TARN_MEMPOOL_MAX_THREADS 256
/** Largest number of objects in a pool. */
#define TARN_MEMPOOL_MAX_OBJS (1u << 30)
/** Largest element size in bytes. */
#define TARN_MEMPOOL_MAX_ELT_SIZE (1u << 30)
/** Largest private area in bytes. */
#define TARN_MEMPOOL_MAX_PRIV_SIZE (1u << 20)
/** Longest ops name, terminator included. */
#define TARN_MEMPOOL_OPS_NAMESIZE 32
/** Most store ops that can be registered (built-in ones included). */
#define TARN_MEMPOOL_MAX_OPS 16

/** Creation flag: one thread at a time puts to the store (single producer). */
#define TARN_MEMPOOL_F_SP_PUT 0x0001u
/** Creation flag: one thread at a time gets from the store (single consumer). */
#define TARN_MEMPOOL_F_SC_GET 0x0002u
/** Creation flag: debug mode (cookies, owner tracking, put checks). */
#define TARN_MEMPOOL_F_DEBUG 0x0004u
/** All creation flags. */
#define TARN_MEMPOOL_F_MASK (TARN_MEMPOOL_F_SP_PUT | TARN_MEMPOOL_F_SC_GET | TARN_MEMPOOL_F_DEBUG)

/** tarn_mempool_free() flag: free even with objects in use. */
#define TARN_MEMPOOL_FREE_FORCE 0x0001u

/** tarn_mempool_cache_flush(): the calling thread's cache only. */
#define TARN_MEMPOOL_FLUSH_SELF 0
/** tarn_mempool_cache_flush(): every thread's cache (needs quiescence). */
#define TARN_MEMPOOL_FLUSH_ALL 1
/**@}*/

/* ------------------------------------------------------------------------ */
/** @name Types */
/**@{*/

struct tarn_mempool;
struct tarn_mempool_cache;

/**
 * Object constructor, called once per object at creation, in index order,
 * from the creating thread.
 * @param mp   the pool being created (its accessors work).
 * @param arg  the `obj_init_arg` given at creation.
 * @param obj  the object (elt_size bytes, zeroed).
 * @param idx  its index, 0 .. n-1.
 */
typedef void (*tarn_mempool_obj_cb_t)(struct tarn_mempool *mp, void *arg, void *obj, unsigned idx);

/**
 * Header in front of every object (the 32 bytes just before it). Internal
 * except through tarn_mempool_from_obj() and tarn_mempool_virt2iova().
 */
struct tarn_mempool_objhdr {
	/** Stack link while the object sits in a "stack" store. */
	struct tarn_mempool_objhdr *next;
	/** The pool the object belongs to. */
	struct tarn_mempool *mp;
	/** IOVA of the object (tarn_mem_virt2iova() at creation). */
	tarn_iova_t iova;
	/** Debug mode: head cookie (in pool / out / quarantined); else 0. */
	uint64_t cookie;
};

/** Internal: bits of tarn_mempool_cache::state that hold the cache's length. */
#define TARN__MP_LEN_BITS 12
/** Internal: mask of the length in tarn_mempool_cache::state. */
#define TARN__MP_LEN_MASK ((1u << TARN__MP_LEN_BITS) - 1)

/**
 * A per-thread cache. Only the owning thread writes it (relaxed atomic
 * stores, so that statistics can read it at any time). Internal: read through
 * tarn_mempool_stats() and tarn_mempool_thread_stats().
 *
 * The inline path keeps its state and its statistics in ONE 64-bit word,
 * `state`: the number of cached objects in the low TARN__MP_LEN_BITS bits and,
 * above them, the number of objects the inline path has moved (got plus put).
 * A get of n adds n * (2^12 - 1) to it, a put n * (2^12 + 1): one load and
 * one store per call, where separate counters would add a second chain of
 * read-modify-writes through memory (it costs a third of the throughput).
 * The number of gets and of puts are recovered from the moves and the change
 * of length they caused: the slow path keeps the length changes it makes in
 * `slow_dlen`, so fast puts - fast gets = len - slow_dlen. The slow path
 * folds the moves into the 64-bit `moved` at every refill and flush; the
 * 52 bits of `state` hold 4.5e15 moves between two of them.
 */
struct tarn_mempool_cache {
	/* ---- line 0: the inline path's word, slow-path counters ---- */
	uint64_t state;         /**< len | (moves since the last fold << TARN__MP_LEN_BITS) */
	uint32_t size;          /**< capacity: the pool's cache_size */
	uint32_t slot;          /**< thread slot that owns the cache */
	uint64_t moved;         /**< inline-path moves folded out of `state` */
	int64_t slow_dlen;      /**< change of len made by the out-of-line path */
	uint64_t slow_hit_objs; /**< objects got from the cache by the out-of-line path */
	uint64_t miss_objs;     /**< objects got by calls that touched the store */
	uint64_t slow_put_objs; /**< objects put by the out-of-line path */
	uint64_t fails;         /**< get calls that failed with -ENOBUFS */

	/* ---- line 1: store traffic ---- */
	uint64_t refills;       /**< bulk dequeues from the store into the cache */
	uint64_t refill_objs;   /**< objects moved by refills */
	uint64_t flushes;       /**< bulk enqueues from the cache to the store */
	uint64_t flush_objs;    /**< objects moved by flushes */
	uint64_t fail_objs;     /**< objects asked for by failed gets */
	uint64_t direct_gets;   /**< objects got straight from the store (no refill) */
	uint64_t direct_puts;   /**< objects put straight to the store (no cache room) */
	uint64_t reserved_objs; /**< objects got by tarn_mempool_get_reserved() */

	/* ---- line 2: owner ---- */
	uint32_t len_hw;         /**< highest len seen at a refill or flush */
	uint32_t lcore;          /**< lcore id of the owner when the cache was made */
	int32_t tid;             /**< kernel thread id of the owner; 0: no owner */
	uint32_t last_op;        /**< previous store operation: 0 none, 1 refill, 2 flush */
	struct tarn_mempool *mp; /**< the pool */

	/* ---- line 3 on: the cached objects, oldest first ---- */
	void *objs[] TARN_CACHE_ALIGNED; /**< `size` entries */
} TARN_CACHE_ALIGNED;

/**
 * A pool. Only the fields the inline path needs are here; the rest is
 * private to the library. Never allocate or copy one: use the functions.
 */
struct tarn_mempool {
	char name[TARN_NAME_SIZE]; /**< unique name */
	uint32_t size;             /**< number of objects */
	uint32_t elt_size;         /**< bytes usable in each object */
	uint32_t cache_size;       /**< per-thread cache size, 0 .. TARN_MEMPOOL_CACHE_MAX */
	uint32_t flags;            /**< TARN_MEMPOOL_F_* (debug included when chosen by env) */
	void *store;               /**< state of the shared store, owned by the ops */
	const struct tarn_mempool_ops *ops; /**< the store's ops */
	/**
	 * Cache of each thread slot for the inline path. NULL for slot 0, for
	 * threads that have none yet, and for every thread in debug mode (the
	 * out-of-line path then finds the cache elsewhere). With cache_size 0
	 * the entry is a cache of size 0: it only holds the thread's counters,
	 * and every call goes straight to the store.
	 */
	struct tarn_mempool_cache *fast[TARN_MEMPOOL_MAX_THREADS] TARN_CACHE_ALIGNED;
} TARN_CACHE_ALIGNED;

#ifdef __cplusplus
#define TARN__STATIC_ASSERT(c, m) static_assert(c, m)
#else
#define TARN__STATIC_ASSERT(c, m) _Static_assert(c, m)
#endif

TARN__STATIC_ASSERT(sizeof(struct tarn_mempool_objhdr) == 32, "object header is 32 bytes");
TARN__STATIC_ASSERT(offsetof(struct tarn_mempool_cache, state) == 0 &&
                        offsetof(struct tarn_mempool_cache, size) == 8,
                    "the inline path's word and the size lead the cache's first line");
TARN__STATIC_ASSERT(offsetof(struct tarn_mempool_cache, fails) + sizeof(uint64_t) ==
                        TARN_CACHE_LINE,
                    "state and slow-path counters fill exactly the first line");
TARN__STATIC_ASSERT(offsetof(struct tarn_mempool_cache, objs) == 3 * TARN_CACHE_LINE,
                    "cached objects start on the fourth line");
TARN__STATIC_ASSERT(TARN_MEMPOOL_CACHE_MAX <= TARN__MP_LEN_MASK,
                    "a cache length fits the length bits of the state word");
TARN__STATIC_ASSERT(offsetof(struct tarn_mempool, fast) == TARN_CACHE_LINE,
                    "the fast cache table starts on the pool's second line");

/**
 * Options of tarn_mempool_create_params(). Fill with
 * tarn_mempool_params_init() first, then set what differs.
 */
struct tarn_mempool_params {
	const char *name;    /**< unique name, 1 .. TARN_NAME_SIZE-1 characters */
	unsigned n;          /**< number of objects, 1 .. TARN_MEMPOOL_MAX_OBJS */
	unsigned elt_size;   /**< bytes per object, 1 .. TARN_MEMPOOL_MAX_ELT_SIZE */
	unsigned cache_size; /**< per-thread cache, 0 .. min(n, TARN_MEMPOOL_CACHE_MAX) */
	unsigned priv_size;  /**< private area (tarn_mempool_get_priv()), 0 .. 1 MiB */
	tarn_mempool_obj_cb_t obj_init; /**< constructor, or NULL */
	void *obj_init_arg;             /**< its argument */
	int socket;     /**< socket, or TARN_SOCKET_ANY (the caller's); default ANY */
	unsigned flags; /**< TARN_MEMPOOL_F_* */
	/** Store ops by name; NULL: chosen by the SP/SC flags ("ring_mp_mc"). */
	const char *ops_name;
	unsigned reserve; /**< objects only tarn_mempool_get_reserved() can take, 0 .. n */
};

/** Totals of a pool (tarn_mempool_stats()) or one thread's counters. */
struct tarn_mempool_stats {
	uint64_t get_objs;      /**< objects handed out (hits + misses) */
	uint64_t hit_objs;      /**< of which served by a cache without a store operation */
	uint64_t put_objs;      /**< objects taken back */
	uint64_t refills;       /**< refills of caches from the store */
	uint64_t refill_objs;   /**< objects they moved */
	uint64_t flushes;       /**< flushes of caches to the store */
	uint64_t flush_objs;    /**< objects they moved */
	uint64_t direct_gets;   /**< objects got straight from the store */
	uint64_t direct_puts;   /**< objects put straight to the store */
	uint64_t fails;         /**< get calls that failed (-ENOBUFS) */
	uint64_t fail_objs;     /**< objects those calls asked for */
	uint64_t reserved_objs; /**< objects got with tarn_mempool_get_reserved() */
	int64_t held;           /**< get_objs - put_objs (objects out, by this thread) */
	uint64_t cached;        /**< objects in caches now */
	uint32_t cache_len_hw;  /**< highest cache level seen at a refill or flush */
	uint32_t threads;       /**< threads with a cache of the pool (totals only) */
	/* Debug mode (totals only; 0 otherwise). */
	uint64_t dbg_double_put;  /**< puts of an object already in the pool */
	uint64_t dbg_foreign_put; /**< puts of a pointer that is no pool's object */
	uint64_t dbg_wrong_pool;  /**< puts of another pool's object */
	uint64_t dbg_overflow;    /**< puts of an object whose trailer was overwritten */
	uint64_t dbg_corrupt;     /**< objects found with a bad head cookie on get */
	uint64_t dbg_quarantined; /**< objects kept out of circulation (overflow) */
};

/** One thread's view (tarn_mempool_thread_stats()). */
struct tarn_mempool_thread_stats {
	uint32_t slot;  /**< thread slot, 1 .. TARN_MEMPOOL_MAX_THREADS-1 */
	uint32_t lcore; /**< the owner's lcore id when the cache was made, or TARN_LCORE_ID_ANY */
	int32_t tid;    /**< the owner's kernel thread id */
	uint32_t cache_size;          /**< capacity of its cache */
	uint32_t cache_len;           /**< objects in its cache now */
	struct tarn_mempool_stats st; /**< its counters */
};
/**@}*/

/* ------------------------------------------------------------------------ */
/** @name Creation and lifetime */
/**@{*/

/**
 * Fill `p` with the defaults: everything 0 / NULL, socket TARN_SOCKET_ANY.
 * @return 0, or -EINVAL if `p` is NULL. Usable before tarn_init().
 */
TARN_API int tarn_mempool_params_init(struct tarn_mempool_params *p);

/**
 * Create a pool from a parameter block.
 *
 * Reserves one memzone for the objects on the socket, lays the objects out
 * (header, element, debug trailer; cache-line aligned), runs `obj_init` on
 * each, and puts them all in the store. Debug mode is on when `flags` has
 * TARN_MEMPOOL_F_DEBUG or the environment has `TARN_DEBUG=mempool`.
 *
 * @return the pool, or NULL with tarn_errno:
 *   EINVAL (NULL `p`, tarn not initialised, `n` 0 or too large, `elt_size` 0
 *   or too large, `cache_size` above TARN_MEMPOOL_CACHE_MAX or `n`,
 *   `priv_size` too large, `reserve` above `n`, unknown flags, no such
 *   socket), ENAMETOOLONG, EEXIST (a pool of that name exists), ENOENT (no
 *   ops of that name), ENOMEM (no memory on that socket).
 * Thread-safe. Blocking.
 */
TARN_API struct tarn_mempool *tarn_mempool_create_params(const struct tarn_mempool_params *p);

/**
 * Create a pool: tarn_mempool_create_params() with the default ops (chosen by
 * the SP/SC flags) and no reserve.
 * @param name       unique name.
 * @param n          number of objects.
 * @param elt_size   bytes per object.
 * @param cache_size per-thread cache size, 0 .. min(n, TARN_MEMPOOL_CACHE_MAX).
 * @param priv_size  bytes of the pool's private area.
 * @param obj_init   constructor run once per object, or NULL.
 * @param arg        its argument.
 * @param socket     socket, or TARN_SOCKET_ANY (the caller's).
 * @param flags      TARN_MEMPOOL_F_*.
 * @return as tarn_mempool_create_params().
 */
TARN_API struct tarn_mempool *tarn_mempool_create(const char *name, unsigned n, unsigned elt_size,
                                                  unsigned cache_size, unsigned priv_size,
                                                  tarn_mempool_obj_cb_t obj_init, void *arg,
                                                  int socket, unsigned flags);

/**
 * Free a pool: its caches, store, objects and control structure.
 * @param mp     the pool.
 * @param flags  0 or TARN_MEMPOOL_FREE_FORCE.
 * @return 0; -EINVAL if `mp` is not a live pool or `flags` is unknown;
 *   -EBUSY without TARN_MEMPOOL_FREE_FORCE when objects are still in use
 *   (the log says how many, and in debug mode which and who took them;
 *   nothing is freed).
 * Thread-safe with respect to the other slow-path calls; no thread may use
 * the pool during or after the call. Blocking.
 */
TARN_API int tarn_mempool_free(struct tarn_mempool *mp, unsigned flags);

/**
 * Find a pool by name.
 * @return it, or NULL with tarn_errno ENOENT, EINVAL (NULL or empty name) or
 *   ENAMETOOLONG. Thread-safe. Blocking.
 */
TARN_API struct tarn_mempool *tarn_mempool_lookup(const char *name);

/**
 * Call `fn(mp, arg)` for every pool, in creation order, under the pool list
 * mutex (`fn` must not create or free pools).
 * @return the number of pools visited, or -EINVAL if `fn` is NULL.
 * Thread-safe. Blocking.
 */
TARN_API int tarn_mempool_walk(void (*fn)(struct tarn_mempool *mp, void *arg), void *arg);

/**
 * Call `fn` for every object of the pool, in index order, whether in the pool
 * or in use (as the constructor is called). In ASan builds the elements are
 * unpoisoned for the call and stay so until they are next put.
 * @return the number of objects, or -EINVAL if `mp` or `fn` is NULL.
 * Not synchronised with users of the objects: the caller decides what is safe.
 */
TARN_API int tarn_mempool_obj_iter(struct tarn_mempool *mp, tarn_mempool_obj_cb_t fn, void *arg);
/**@}*/

/* ------------------------------------------------------------------------ */
/** @name Accessors (thread-safe, wait-free) */
/**@{*/

/** @return the pool's name, or NULL if `mp` is NULL. */
TARN_API const char *tarn_mempool_name(const struct tarn_mempool *mp);
/** @return the number of objects, 0 if `mp` is NULL. */
TARN_API unsigned tarn_mempool_size(const struct tarn_mempool *mp);
/** @return the usable bytes per object, 0 if `mp` is NULL. */
TARN_API unsigned tarn_mempool_elt_size(const struct tarn_mempool *mp);
/** @return the distance in bytes between consecutive objects of one page
 *  (see "Objects" above), 0 if `mp` is NULL. */
TARN_API unsigned tarn_mempool_obj_stride(const struct tarn_mempool *mp);
/** @return the per-thread cache size, 0 if `mp` is NULL. */
TARN_API unsigned tarn_mempool_cache_size(const struct tarn_mempool *mp);
/** @return the private area size, 0 if `mp` is NULL. */
TARN_API unsigned tarn_mempool_priv_size(const struct tarn_mempool *mp);
/** @return the private area (cache-line aligned, zeroed at creation), NULL if none. */
TARN_API void *tarn_mempool_get_priv(struct tarn_mempool *mp);
/** @return the socket of the pool's memory, or -EINVAL if `mp` is NULL. */
TARN_API int tarn_mempool_socket(const struct tarn_mempool *mp);
/** @return the creation flags (with TARN_MEMPOOL_F_DEBUG if debug was chosen by env). */
TARN_API unsigned tarn_mempool_flags(const struct tarn_mempool *mp);
/** @return non-zero if the pool is in debug mode. */
TARN_API int tarn_mempool_debug_enabled(const struct tarn_mempool *mp);
/** @return the store ops' name, or NULL if `mp` is NULL. */
TARN_API const char *tarn_mempool_ops_name(const struct tarn_mempool *mp);
/** @return the reserve, 0 if `mp` is NULL. */
TARN_API unsigned tarn_mempool_reserve(const struct tarn_mempool *mp);
/** @return the memzone holding the objects, or NULL if `mp` is NULL. */
TARN_API const struct tarn_memzone *tarn_mempool_memzone(const struct tarn_mempool *mp);
/**
 * @return the index (0 .. n-1) of object `obj` of `mp`, or -EINVAL if `obj` is
 * not the start of one of its objects (checked by range and stride).
 */
TARN_API int tarn_mempool_obj_index(const struct tarn_mempool *mp, const void *obj);
/** @return object `idx` of `mp`, or NULL if `idx` is out of range or `mp` is NULL. */
TARN_API void *tarn_mempool_obj_at(const struct tarn_mempool *mp, unsigned idx);
/**@}*/

/* ------------------------------------------------------------------------ */
/** @name Counts (thread-safe; a snapshot while other threads run) */
/**@{*/

/**
 * @return the objects available: in the store, in every cache and in the stash (the
 * reserve included), 0 if `mp` is NULL. Exact when no call is in flight.
 */
TARN_API unsigned tarn_mempool_avail_count(const struct tarn_mempool *mp);
/** @return the objects in use: size - avail (quarantined ones included). */
TARN_API unsigned tarn_mempool_in_use_count(const struct tarn_mempool *mp);
/** @return non-zero if every object is available. */
TARN_API int tarn_mempool_full(const struct tarn_mempool *mp);
/** @return non-zero if no object is available. */
TARN_API int tarn_mempool_empty(const struct tarn_mempool *mp);
/**@}*/

/* ------------------------------------------------------------------------ */
/** @name Caches */
/**@{*/

/**
 * Give cached objects back to the store.
 * @param mp     the pool.
 * @param which  TARN_MEMPOOL_FLUSH_SELF: the calling thread's cache (always
 *               safe: with a single-producer store the objects go to the
 *               pool's stash, see "Thread safety"); TARN_MEMPOOL_FLUSH_ALL:
 *               every thread's cache, into the store — the caller must make
 *               sure no other thread gets or puts on this pool during the
 *               call (quiescence).
 * @return the number of objects moved (>= 0), or -EINVAL (`mp` NULL,
 *   `which` unknown).
 * Blocking (takes the pool's mutex for FLUSH_ALL).
 */
TARN_API int tarn_mempool_cache_flush(struct tarn_mempool *mp, int which);
/**@}*/

/* ------------------------------------------------------------------------ */
/** @name Statistics, dump, audit, check */
/**@{*/

/**
 * Sum the per-thread counters of a pool (plus those of threads beyond the
 * thread-slot bound and of caches already gone).
 * @return 0, or -EINVAL if `mp` or `st` is NULL. Thread-safe; a snapshot.
 */
TARN_API int tarn_mempool_stats(const struct tarn_mempool *mp, struct tarn_mempool_stats *st);

/**
 * Per-thread counters: one entry per thread that has a cache of the pool.
 * @param mp   the pool.
 * @param out  array of `max` entries (may be NULL when `max` is 0).
 * @param max  its size.
 * @return the number of threads with a cache (may exceed `max`: only `max`
 *   entries are written), or -EINVAL. Thread-safe; a snapshot.
 */
TARN_API int tarn_mempool_thread_stats(const struct tarn_mempool *mp,
                                       struct tarn_mempool_thread_stats *out, unsigned max);

/**
 * Print one slabinfo-like line per pool: name, objects, element size, stride,
 * cache size, threads with a cache, available, in use, reserve, ops, socket,
 * cache hit rate, refills, flushes, failures, debug. `out` NULL: stdout.
 * Thread-safe.
 */
TARN_API void tarn_mempool_dump(FILE *out);

/**
 * Print everything about one pool, with a line per thread cache.
 * `out` NULL: stdout. Thread-safe.
 */
TARN_API void tarn_mempool_dump_pool(FILE *out, const struct tarn_mempool *mp);

/**
 * Check the pool (tarn_mempool_check()) and list the objects in use: in debug
 * mode each with its index, address and the lcore and thread that took it,
 * and quarantined objects; otherwise only their number.
 * @return the number of objects in use (>= 0); -EINVAL if `mp` is NULL; or
 *   the error of tarn_mempool_check(). `out` NULL: stdout.
 * Needs quiescence for exact figures (as tarn_mempool_check()).
 */
TARN_API int tarn_mempool_audit(const struct tarn_mempool *mp, FILE *out);

/**
 * Validate the pool's invariants: no cache above its size, no object twice
 * in the caches and the stash, every cached or stashed object one of the
 * pool's, the stash's count right; conservation (see "No object lost"):
 * store + caches + stash + objects handed out and not taken back == `n`, in
 * every build; the store's own check (ring check, stack chain and count);
 * with a reserve, its accounting equal to the store count; in debug mode,
 * every object's header pointing to the pool and the number of objects with
 * an "in pool" cookie equal to the objects in store, caches and stash, and
 * trailers of objects in the pool intact.
 * @return 0; -EUCLEAN with a log line naming the first broken invariant;
 *   -EINVAL if `mp` is NULL.
 * Call it only when no thread gets or puts on the pool (e.g. after a stress):
 * a get or put in flight makes the conservation sum wrong for a moment.
 */
TARN_API int tarn_mempool_check(const struct tarn_mempool *mp);
/**@}*/

/* ------------------------------------------------------------------------ */
/** @name Store ops */
/**@{*/

/**
 * @name Store ops capabilities (tarn_mempool_ops::flags)
 */
/**@{*/
/**
 * `enqueue` is single-producer: at most one thread at a time may call it
 * (the built-in "ring_sp_sc" and "ring_sp_mc"). The pool then never
 * enqueues on its own behalf from a thread that is not putting: a thread's
 * exit, tarn_thread_unregister() and TARN_MEMPOOL_FLUSH_SELF move cached
 * objects to the pool's stash instead (see "Thread safety").
 */
#define TARN_MEMPOOL_OPS_F_SP 0x0001u
/**
 * The store is a tarn ring of pointers (`mp->store`, made by `alloc`) that
 * every thread may enqueue and dequeue (TARN_RING_SYNC_MT on both sides)
 * with room for `mp->size` objects, and `enqueue` / `dequeue` are
 * tarn_ring_mp_enqueue_bulk() / tarn_ring_mc_dequeue_bulk() of it: the pool
 * then calls the ring inline instead of through the two functions (the
 * built-in "ring_mp_mc"). Checked after `alloc`: a store that is not such a
 * ring fails the pool's creation with EINVAL.
 */
#define TARN_MEMPOOL_OPS_F_RING_MPMC 0x0002u
/** All capability flags. */
#define TARN_MEMPOOL_OPS_F_MASK (TARN_MEMPOOL_OPS_F_SP | TARN_MEMPOOL_OPS_F_RING_MPMC)
/**@}*/

/**
 * A shared store. Every function returns 0 or a negative errno and never
 * blocks on a lock held by another get or put. Preconditions the pool
 * guarantees:
 * - `alloc` is called once at creation, before any other op, with `mp->size`,
 *   the name, socket and flags readable through the accessors; it sets
 *   `mp->store`. It must hold `mp->size` objects.
 * - `enqueue` is given objects that are not in the store, never more than
 *   fit (store count + n <= mp->size): it must succeed (return 0). If it
 *   refuses all the same, the pool loses nothing: a put returns -ENOBUFS
 *   and leaves the objects with the caller (or in its cache), a cache given
 *   back at thread exit goes to the pool's stash, and an error is logged.
 * - `dequeue` is all or nothing: 0 with `n` objects, or -ENOBUFS with none.
 * - `count` may be called at any time; exact when no op is in flight.
 * - `check` (optional) is called only at quiescent points; 0 or -EUCLEAN.
 * - `free` is called once, when the pool is freed, with no op in flight.
 * Thread safety is the ops' own (documented with their name), declared to
 * the pool through `flags`.
 */
struct tarn_mempool_ops {
	char name[TARN_MEMPOOL_OPS_NAMESIZE];  /**< unique name */
	int (*alloc)(struct tarn_mempool *mp); /**< create the store */
	void (*free)(struct tarn_mempool *mp); /**< destroy it */
	int (*enqueue)(struct tarn_mempool *mp, void *const *objs, unsigned n); /**< add n */
	int (*dequeue)(struct tarn_mempool *mp, void **objs, unsigned n);       /**< take n */
	unsigned (*count)(const struct tarn_mempool *mp);                       /**< objects held */
	int (*check)(const struct tarn_mempool *mp); /**< optional validation */
	unsigned flags; /**< TARN_MEMPOOL_OPS_F_* capabilities (0: MP/MC, nothing special) */
};

/**
 * Register store ops (copied) so pools can be created with them by name.
 * @return 0; -EINVAL (NULL, empty or unterminated name, a missing mandatory
 *   function, an unknown capability flag); -EEXIST (name taken); -ENOSPC (table full). Usable
 * before tarn_init(). Thread-safe.
 */
TARN_API int tarn_mempool_ops_register(const struct tarn_mempool_ops *ops);

/**
 * Find store ops by name.
 * @return them, or NULL with tarn_errno ENOENT or EINVAL. Usable before
 *   tarn_init(). Thread-safe.
 */
TARN_API const struct tarn_mempool_ops *tarn_mempool_ops_lookup(const char *name);
/**@}*/

/* ------------------------------------------------------------------------ */
/* Internal: out-of-line parts of the inline calls. */

/**
 * Internal: the calling thread's slot (0: none yet). Read by the inline path.
 * Initial-exec TLS: one %fs-relative load, also from code in other shared
 * objects (4 bytes of static TLS when libtarn is loaded with dlopen()).
 */
extern TARN_API __thread uint32_t tarn__mempool_tslot __attribute__((tls_model("initial-exec")));

/**
 * Internal: get when the inline path could not serve it. `c` is the cache
 * the inline path found (NULL: none yet, no slot, debug, or bad arguments).
 */
TARN_API int tarn__mempool_get_slow(struct tarn_mempool *mp, struct tarn_mempool_cache *c,
                                    void **objs, unsigned n);
/** Internal: put when the inline path could not; `c` as for the get. */
TARN_API int tarn__mempool_put_slow(struct tarn_mempool *mp, struct tarn_mempool_cache *c,
                                    void *const *objs, unsigned n);
/** Internal: get of a pool without caches (`c` of size 0): straight to the store. */
TARN_API int tarn__mempool_get_direct(struct tarn_mempool *mp, struct tarn_mempool_cache *c,
                                      void **objs, unsigned n);
/** Internal: put of a pool without caches (`c` of size 0): straight to the store. */
TARN_API int tarn__mempool_put_direct(struct tarn_mempool *mp, struct tarn_mempool_cache *c,
                                      void *const *objs, unsigned n);

#ifdef TARN_MEMPOOL_ASAN
static inline void tarn__mempool_poison(const struct tarn_mempool *mp, void *const *objs,
                                        unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		ASAN_POISON_MEMORY_REGION(objs[i], mp->elt_size);
}
static inline void tarn__mempool_unpoison(const struct tarn_mempool *mp, void *const *objs,
                                          unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		ASAN_UNPOISON_MEMORY_REGION(objs[i], mp->elt_size);
}
#else
#define tarn__mempool_poison(mp, objs, n)   ((void)0)
#define tarn__mempool_unpoison(mp, objs, n) ((void)0)
#endif

/*
 * Copy n pointers (source and destination do not overlap). Fixed-size
 * memcpy compiles to plain vector moves, never to a call: one move for one
 * pointer; for 2..8 a first and a last block that may overlap (as memcpy
 * implementations do); beyond, 64-byte blocks and an overlapping last one.
 * At most three well-predicted branches for the sizes of the fast path.
 */
static inline __attribute__((always_inline)) void tarn__mempool_copy(void **d, void *const *s,
                                                                     unsigned n)
{
	if (n == 1) {
		d[0] = s[0];
	} else if (n <= 4) {
		if (n >= 2) {
			memcpy(d, s, 2 * sizeof(void *));
			memcpy(d + n - 2, s + n - 2, 2 * sizeof(void *));
		}
	} else if (n <= 8) {
		memcpy(d, s, 4 * sizeof(void *));
		memcpy(d + n - 4, s + n - 4, 4 * sizeof(void *));
	} else {
		for (unsigned i = 0; i + 8 < n; i += 8)
			memcpy(d + i, s + i, 8 * sizeof(void *));
		memcpy(d + n - 8, s + n - 8, 8 * sizeof(void *));
	}
}

/* ------------------------------------------------------------------------ */
/** @name Get and put (static inline fast path) */
/**@{*/

/**
 * Take `n` objects, all or nothing.
 *
 * Served from the calling thread's cache when it holds `n` objects (the
 * inline path: one thread-local load, one load of the cache pointer, a NULL
 * test); otherwise the out-of-line path refills the cache (see the file
 * comment), creating it on the thread's first use of the pool.
 *
 * @param mp    the pool.
 * @param objs  receives `n` object pointers.
 * @param n     number of objects; 0 succeeds and does nothing.
 * @return 0 with `n` objects in `objs`; -ENOBUFS if the pool cannot give `n`
 *   now (the reserve excluded; nothing taken); -EINVAL if `mp` or `objs` is
 *   NULL or `n` exceeds the pool size.
 * Thread-safe (see the file comment for SC ops). Allocation-free except for
 * the thread's cache on its first use of the pool. Wait-free on a cache hit;
 * otherwise the store's progress guarantee.
 */
static inline int tarn_mempool_get_bulk(struct tarn_mempool *mp, void **objs, unsigned n)
{
	struct tarn_mempool_cache *c = NULL;

	if (tarn_likely(mp != NULL && objs != NULL)) {
		c = mp->fast[tarn__mempool_tslot];
		if (tarn_likely(c != NULL)) {
			/* relaxed: only this thread writes state; statistics read it */
			const uint64_t st = __atomic_load_n(&c->state, __ATOMIC_RELAXED);
			const uint32_t len = (uint32_t)st & TARN__MP_LEN_MASK;

			if (tarn_likely(n <= len)) {
				tarn__mempool_copy(objs, &c->objs[len - n], n);
				/* len - n, moves + n (n <= len: no borrow) */
				__atomic_store_n(&c->state, st + (uint64_t)n * (TARN__MP_LEN_MASK),
				                 __ATOMIC_RELAXED);
				tarn__mempool_unpoison(mp, objs, n);
				return 0;
			}
			if (c->size == 0)
				return tarn__mempool_get_direct(mp, c, objs, n);
		}
	}
	return tarn__mempool_get_slow(mp, c, objs, n);
}

/**
 * Take one object.
 * @param mp   the pool.
 * @param obj  receives the object.
 * @return as tarn_mempool_get_bulk() with n = 1.
 */
static inline int tarn_mempool_get(struct tarn_mempool *mp, void **obj)
{
	return tarn_mempool_get_bulk(mp, obj, 1);
}

/**
 * Give `n` objects back.
 *
 * Stored in the calling thread's cache when it has room (the inline path);
 * otherwise the out-of-line path flushes the cache (see the file comment).
 *
 * @param mp    the pool the objects came from.
 * @param objs  `n` objects of `mp`.
 * @param n     number of objects; 0 does nothing.
 * @return 0; -EINVAL if `mp` is NULL, or `objs` is NULL with `n` > 0, or, in
 *   debug mode, if at least one object was refused (double put, foreign or
 *   other pool's pointer, overflow: logged and counted; the other objects are
 *   taken back); -ENOBUFS if the store refused the objects, which only a
 *   store that breaks the tarn_mempool_ops contract does (logged; none of
 *   the `n` objects was taken back: they are still the caller's, in debug
 *   mode those of the chunk the store refused). Outside debug mode, putting
 *   anything but objects of `mp` that are in use is undefined.
 * Thread-safe (see the file comment for SP ops). Wait-free when the cache
 * has room; otherwise the store's progress guarantee.
 */
static inline int tarn_mempool_put_bulk(struct tarn_mempool *mp, void *const *objs, unsigned n)
{
	struct tarn_mempool_cache *c = NULL;

	if (tarn_likely(mp != NULL && objs != NULL)) {
		c = mp->fast[tarn__mempool_tslot];
		if (tarn_likely(c != NULL)) {
			/* relaxed: only this thread writes state; statistics read it */
			const uint64_t st = __atomic_load_n(&c->state, __ATOMIC_RELAXED);
			const uint32_t len = (uint32_t)st & TARN__MP_LEN_MASK;

			if (tarn_likely(n <= c->size - len)) {
				tarn__mempool_poison(mp, objs, n);
				tarn__mempool_copy(&c->objs[len], objs, n);
				/* len + n, moves + n (len + n <= size: no carry) */
				__atomic_store_n(&c->state,
				                 st + (uint64_t)n * (TARN__MP_LEN_MASK + 2),
				                 __ATOMIC_RELAXED);
				return 0;
			}
			if (c->size == 0)
				return tarn__mempool_put_direct(mp, c, objs, n);
		}
	}
	return tarn__mempool_put_slow(mp, c, objs, n);
}

/**
 * Give one object back.
 * @return as tarn_mempool_put_bulk() with n = 1.
 */
static inline int tarn_mempool_put(struct tarn_mempool *mp, void *obj)
{
	return tarn_mempool_put_bulk(mp, &obj, 1);
}

/**
 * Take `n` objects, all or nothing, the reserve included: from the calling
 * thread's cache first, then from the store down to empty. Objects come back
 * with the ordinary put; they refill the reserve when caches flush (or call
 * tarn_mempool_cache_flush() with TARN_MEMPOOL_FLUSH_SELF).
 * @return 0; -ENOBUFS (nothing taken); -EINVAL as tarn_mempool_get_bulk().
 * Thread-safe. Not inline: meant for control paths.
 */
TARN_API int tarn_mempool_get_reserved(struct tarn_mempool *mp, void **objs, unsigned n);

/**
 * The pool an object belongs to (read from its header).
 * @param obj  an object of some pool (anything else is undefined).
 * @return the pool. Thread-safe, wait-free.
 */
static inline struct tarn_mempool *tarn_mempool_from_obj(const void *obj)
{
	return ((const struct tarn_mempool_objhdr *)obj - 1)->mp;
}

/**
 * The IOVA of an object (computed at creation).
 * @param obj  an object of some pool (anything else is undefined).
 * @return its IOVA (TARN_BAD_IOVA if the memory was not tarn's).
 * Thread-safe, wait-free.
 */
static inline tarn_iova_t tarn_mempool_virt2iova(const void *obj)
{
	return ((const struct tarn_mempool_objhdr *)obj - 1)->iova;
}
/**@}*/

#ifdef __cplusplus
}
#endif

#endif /* TARN_MEMPOOL_H */
