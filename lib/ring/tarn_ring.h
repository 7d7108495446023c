/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file tarn_ring.h
 * Lock-free fixed-capacity FIFO ring of pointers or of fixed-size elements.
 *
 * A ring has a producer side and a consumer side. Each side has a head (how
 * far operations have reserved slots) and a tail (how far operations have
 * finished and published them). An enqueue reserves slots by moving the
 * producer head, copies its elements in, then moves the producer tail so the
 * consumers see them; a dequeue does the same on the consumer side. Positions
 * are free-running 32-bit counters; a slot's index is `pos & mask`.
 *
 * Each side has one of three synchronisation modes, chosen at creation:
 *
 * - **MT** (multi-thread, the default): any number of threads on that side.
 *   The head is moved with a compare-and-swap; tails are published in the
 *   order heads were reserved, so an operation waits for the ones of the
 *   same side that reserved before it. A thread preempted between its two
 *   steps stalls the later ones of its side until it runs again; the waiters
 *   spin, then yield their CPU (see TARN_RING_SPINS_BEFORE_YIELD) so that
 *   the preempted thread can get it. An operation that had to wait pauses
 *   after publishing (as many rounds as it waited, at most 64), so that threads
 *   of one side on different cores run in spells instead of alternating
 *   operation by operation and taking the side's cache line from each
 *   other every time.
 * - **ST** (single thread, TARN_RING_F_SP_ENQ / TARN_RING_F_SC_DEQ): one
 *   thread at a time on that side; no atomic read-modify-write at all.
 * - **RTS** (relaxed tail sync, TARN_RING_F_MP_RTS_ENQ /
 *   TARN_RING_F_MC_RTS_DEQ): any number of threads, and it keeps moving when
 *   threads outnumber cores. Head and tail are each a (position, count) pair
 *   updated as one 64-bit word. Starting an operation moves the head
 *   position and increments the head count; finishing one increments the
 *   tail count, and the operation whose increment makes the tail count equal
 *   to the head count -- the last one in flight -- also sets the tail
 *   position to the head position, publishing everything reserved so far.
 *   Nobody waits for an earlier operation to finish, so a preempted thread
 *   does not stall the others of its side; it only delays when their
 *   elements become visible to the other side. So that publication cannot be
 *   postponed forever by a stream of new operations, an operation starts
 *   only while the head is at most `htd_max` slots ahead of the tail
 *   (capacity / 8 by default, see tarn_ring_set_htd_max()); past that it
 *   waits (spin, then yield) for the in-flight ones to finish.
 *
 * Each side also keeps, on its own cache line, a copy of the other side's
 * tail, and reads the other side's line only when that copy shows too
 * little room (or an exact free/available count is asked for). A producer
 * and a consumer on two cores then stop pulling each other's line across on
 * every call while the ring is neither nearly full nor nearly empty. A
 * stale copy can only make the room look smaller, and a call never fails
 * or comes up short on a stale copy: it rereads the real tail first.
 *
 * Every call exists in a form that follows the ring's creation flags
 * (tarn_ring_enqueue_bulk()) and in forms whose mode is in the name
 * (tarn_ring_mp_enqueue_bulk(), tarn_ring_sp_enqueue_bulk(),
 * tarn_ring_mp_rts_enqueue_bulk()). On one side of a ring, calls that run
 * at the same time must use the same mode: MT calls may be mixed with ST
 * calls only when the ST call runs alone on its side, and RTS calls must
 * never overlap MT or ST calls on their side (the counters would disagree).
 *
 * Bulk calls move all `n` elements or none; burst calls move as many as they
 * can. Pointer calls are for rings of 8-byte slots (tarn_ring_create());
 * `_elem` calls take the element size, which must be the ring's.
 *
 * Creation, lookup and freeing take a mutex (slow path); the data path takes
 * no lock. Rings need tarn_init() (their memory comes from the socket heaps).
 */
#ifndef TARN_RING_H
#define TARN_RING_H

#include <errno.h>
#include <sched.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "tarn_env.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @name Creation flags */
/**@{*/
/** The default enqueue is single-producer (ST). */
#define TARN_RING_F_SP_ENQ 0x0001u
/** The default dequeue is single-consumer (ST). */
#define TARN_RING_F_SC_DEQ 0x0002u
/**
 * Capacity is exactly `count`, which may be any number >= 1; the slot array
 * is the next power of two above `count`. Without it `count` must be a power
 * of two >= 2 and the capacity is `count - 1`.
 */
#define TARN_RING_F_EXACT_SZ 0x0004u
/** The default enqueue is multi-producer relaxed tail sync (RTS). */
#define TARN_RING_F_MP_RTS_ENQ 0x0008u
/** The default dequeue is multi-consumer relaxed tail sync (RTS). */
#define TARN_RING_F_MC_RTS_DEQ 0x0010u
/** All valid creation flags. */
#define TARN_RING_F_MASK                                                                           \
	(TARN_RING_F_SP_ENQ | TARN_RING_F_SC_DEQ | TARN_RING_F_EXACT_SZ | TARN_RING_F_MP_RTS_ENQ | \
	 TARN_RING_F_MC_RTS_DEQ)
/**@}*/

/** Largest number of slots a ring may have (positions are 32-bit counters). */
#define TARN_RING_SIZE_MAX (1u << 31)

/**
 * How many times a waiting operation spins (with a CPU pause) before it
 * yields its CPU with sched_yield(). A wait that lasts longer than a few
 * microseconds almost always means the thread it waits for was preempted;
 * yielding lets that thread run instead of burning the rest of the time
 * slice. Define before including this header to change it.
 */
#ifndef TARN_RING_SPINS_BEFORE_YIELD
#define TARN_RING_SPINS_BEFORE_YIELD 256u
#endif

/**
 * How the fast-path calls are declared: `static inline`, forced inline so a
 * caller with a large loop body still gets the call inlined (an out-of-line
 * copy costs a call and loses the constant element size and bulk count).
 * Define before including this header to change it, e.g. to build exported
 * copies for FFI users.
 */
#ifndef TARN_RING_INLINE
#define TARN_RING_INLINE static inline __attribute__((always_inline))
#endif

/** Synchronisation mode of one side of a ring. */
enum tarn_ring_sync {
	TARN_RING_SYNC_MT = 0,  /**< multi-thread: CAS on head, tails published in order */
	TARN_RING_SYNC_ST = 1,  /**< single thread */
	TARN_RING_SYNC_RTS = 2, /**< multi-thread, relaxed tail sync */
};

/**
 * A position and a second 32-bit value updated together as one 64-bit
 * word. In a head, the second value is, in RTS mode, the number of
 * operations started (`cnt`) and, in MT and ST modes, this side's cached
 * copy of the other side's tail position (`opp`); in a tail it is, in RTS
 * mode, the number of operations finished (unused otherwise). `v.pos` is
 * the low half on little-endian machines and the high half on big-endian
 * ones, so `raw` and `v` always describe the same word.
 */
union tarn_ring_poscnt {
	uint64_t raw; /**< both, for 64-bit atomics */
	struct {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
		uint32_t pos; /**< free-running position */
		union {
			uint32_t cnt; /**< RTS: operations started (head) or finished (tail) */
			uint32_t opp; /**< MT/ST head: copy of the other side's tail position */
		};
#else
		union {
			uint32_t cnt;
			uint32_t opp;
		};
		uint32_t pos;
#endif
	} v; /**< the two halves */
};

/**
 * State of one side (producer or consumer). Written by the threads of that
 * side; the other side reads only `tail`. In MT and ST modes the head word
 * also carries this side's cached copy of the other side's tail
 * (`head.v.opp`), so that a call only reads the other side's cache line when
 * the copy shows too little room; the copy changes only together with the
 * head position (one 64-bit compare-and-swap in MT mode), so a thread that
 * read the other side's tail and was then preempted cannot store that value
 * after the side has moved on (see tarn__ring_room()).
 */
struct tarn_ring_headtail {
	union tarn_ring_poscnt head; /**< reserved up to here (and MT/ST: the copy) */
	union tarn_ring_poscnt tail; /**< published up to here */
	uint32_t sync;               /**< enum tarn_ring_sync of this side */
	uint32_t htd_max;            /**< RTS: most slots head may run ahead of tail */
};

/** Bytes given to each of the three parts of struct tarn_ring (two cache lines). */
#define TARN_RING_PART_SIZE (2 * TARN_CACHE_LINE)

/**
 * A ring. The slot array follows the structure in the same allocation.
 *
 * Three parts of two cache lines each: the read-only configuration, the
 * producer state, the consumer state. Two lines rather than one because
 * CPUs fetch adjacent line pairs: producers and consumers then never touch a
 * line pair the other side writes, except the other side's tail.
 *
 * Fields are public only for the inline fast path: use the functions.
 */
struct tarn_ring {
	/* ---- part 0: configuration, written once at creation ---- */
	char name[TARN_NAME_SIZE]; /**< unique name */
	uint32_t flags;            /**< TARN_RING_F_* given at creation */
	uint32_t size;             /**< slots, a power of two */
	uint32_t mask;             /**< size - 1 */
	uint32_t capacity;         /**< most elements the ring holds (< size) */
	uint32_t esize;            /**< bytes per element, a multiple of 4 */
	int32_t socket;            /**< socket of the memory */
	struct tarn_ring *next;    /**< internal: name list, under its mutex */
	/** padding: keeps the producer part off the configuration's line pair */
	uint8_t pad_conf[TARN_RING_PART_SIZE - TARN_NAME_SIZE - 6 * sizeof(uint32_t) -
	                 sizeof(struct tarn_ring *)];

	/* ---- part 1: producer state, written by producers ---- */
	struct tarn_ring_headtail prod; /**< producer head and tail */
	/** padding: the rest of the producer's line pair */
	uint8_t pad_prod[TARN_RING_PART_SIZE - sizeof(struct tarn_ring_headtail)];

	/* ---- part 2: consumer state, written by consumers ---- */
	struct tarn_ring_headtail cons; /**< consumer head and tail */
	/** padding: the rest of the consumer's line pair; slots start after it */
	uint8_t pad_cons[TARN_RING_PART_SIZE - sizeof(struct tarn_ring_headtail)];
} TARN_CACHE_ALIGNED;

#ifndef __cplusplus
_Static_assert(sizeof(struct tarn_ring) == 3 * TARN_RING_PART_SIZE, "ring header size");
_Static_assert(offsetof(struct tarn_ring, prod) == TARN_RING_PART_SIZE, "producer part");
_Static_assert(offsetof(struct tarn_ring, cons) == 2 * TARN_RING_PART_SIZE, "consumer part");
_Static_assert(sizeof(union tarn_ring_poscnt) == 8, "poscnt is one 64-bit word");
#endif

/* ------------------------------------------------------------------------ */
/** @name Creation, lookup, inspection (slow path) */
/**@{*/

/**
 * Create a ring of pointers (8-byte slots).
 *
 * @param name   unique name, 1 to TARN_NAME_SIZE-1 characters.
 * @param count  slots: a power of two >= 2 (capacity `count - 1`), or with
 *               TARN_RING_F_EXACT_SZ any number from 1 to TARN_RING_SIZE_MAX-1
 *               (capacity `count`).
 * @param socket socket for the memory, or TARN_SOCKET_ANY for the caller's.
 * @param flags  0 (MP/MC) or an OR of TARN_RING_F_*; at most one of
 *               TARN_RING_F_SP_ENQ and TARN_RING_F_MP_RTS_ENQ, and at most
 *               one of TARN_RING_F_SC_DEQ and TARN_RING_F_MC_RTS_DEQ.
 * @return the empty ring, or NULL with tarn_errno set to:
 *   EINVAL (bad count, flags or socket, or tarn not initialised),
 *   ENAMETOOLONG (name too long; EINVAL for NULL or empty),
 *   EEXIST (a ring of that name exists), ENOMEM (no memory on that socket).
 * Thread-safe (takes the ring list mutex). Blocking.
 */
TARN_API struct tarn_ring *tarn_ring_create(const char *name, unsigned count, int socket,
                                            unsigned flags);

/**
 * Create a ring of fixed-size elements.
 *
 * @param esize  bytes per element: a multiple of 4, > 0.
 * @param name, count, socket, flags  as tarn_ring_create().
 * @return the empty ring, or NULL with tarn_errno as tarn_ring_create()
 *   (EINVAL also for a bad `esize`, ENOMEM also when `esize * slots`
 *   overflows).
 * Thread-safe. Blocking.
 */
TARN_API struct tarn_ring *tarn_ring_create_elem(const char *name, unsigned esize, unsigned count,
                                                 int socket, unsigned flags);

/**
 * Free a ring and its memory.
 * @param r  a ring from tarn_ring_create() or tarn_ring_create_elem().
 * @return 0, or -EINVAL if `r` is NULL or not a live ring.
 * Thread-safe with respect to the other slow-path calls; no thread may use
 * the ring during or after the call. Blocking.
 */
TARN_API int tarn_ring_free(struct tarn_ring *r);

/**
 * Find a ring by name.
 * @return the ring, or NULL with tarn_errno ENOENT (no such ring), EINVAL
 *   (NULL or empty name) or ENAMETOOLONG.
 * Thread-safe. Blocking.
 */
TARN_API struct tarn_ring *tarn_ring_lookup(const char *name);

/**
 * Empty the ring: heads and tails back to 0.
 * @return 0, or -EINVAL if `r` is NULL.
 * Not thread-safe: no operation may be in flight on the ring.
 */
TARN_API int tarn_ring_reset(struct tarn_ring *r);

/**
 * Set how far an RTS side's head may run ahead of its tail (see the file
 * comment). Smaller values publish sooner; larger ones let more operations
 * overlap.
 * @param r         the ring.
 * @param prod_max  limit for the producer side, 0 .. capacity;
 *                  UINT32_MAX leaves it unchanged.
 * @param cons_max  same for the consumer side.
 * @return 0; -EINVAL if `r` is NULL or a value is above the capacity;
 *   -ENOTSUP if a value other than UINT32_MAX is given for a side that is
 *   not RTS.
 * Not thread-safe: call before the ring is in use.
 */
TARN_API int tarn_ring_set_htd_max(struct tarn_ring *r, uint32_t prod_max, uint32_t cons_max);

/**
 * Check the ring's invariants: configuration (power-of-two size, mask,
 * capacity below size, element size, sync modes matching the flags); for
 * each side head at or ahead of tail by at most the capacity; elements held
 * (producer tail - consumer tail, and producer head - consumer tail) at most
 * the capacity; consumer head not past the producer tail; and, as the call
 * is meant for quiescent rings, head == tail on each side (and equal RTS
 * counts).
 * @return 0, -EIO with a log line naming the first broken invariant, or
 *   -EINVAL if `r` is NULL.
 * Call it only while no operation is in flight on the ring (e.g. after a
 * stress test); it reads the state with relaxed atomic loads.
 */
TARN_API int tarn_ring_check(const struct tarn_ring *r);

/**
 * Print the ring's configuration and state (heads, tails, count) to `f`.
 * `f` NULL means stdout; `r` NULL prints a line saying so.
 * Thread-safe; figures read while operations run are a snapshot.
 */
TARN_API void tarn_ring_dump(FILE *f, const struct tarn_ring *r);

/**
 * Call `fn(r, arg)` for every ring, in creation order. Runs under the ring
 * list mutex: `fn` must not create, free or look up rings.
 * @return the number of rings visited, or -EINVAL if `fn` is NULL.
 * Thread-safe. Blocking.
 */
TARN_API int tarn_ring_walk(void (*fn)(struct tarn_ring *r, void *arg), void *arg);
/**@}*/

/* The internal fast path (tarn__*, static inline, and its slow paths, static
 * noinline): installed beside this header for the inline calls below, not
 * part of the API. */
#include "tarn_ring_pvt.h"

/* ------------------------------------------------------------------------ */
/**
 * @name Enqueue and dequeue of pointers, following the ring's flags
 *
 * Common contract: `r` is a live ring of 8-byte slots; `objs` holds `n`
 * pointers; `n` may be 0. No call fails on bad input: passing NULL `r` is a
 * programming error (undefined, like any fast-path call). The mode (and so
 * the thread safety and progress guarantee) is the one the ring's flags
 * chose for that side: see the mode-named calls below.
 */
/**@{*/

/**
 * Enqueue `n` pointers, all or nothing.
 * @param r           the ring.
 * @param objs        the pointers to enqueue.
 * @param n           how many.
 * @param free_space  if not NULL, receives the free slots left after the
 *                    call (before it, on failure).
 * @return `n`, or 0 if fewer than `n` slots were free (nothing enqueued).
 */
TARN_RING_INLINE unsigned tarn_ring_enqueue_bulk(struct tarn_ring *r, void *const *objs, unsigned n,
                                                 unsigned *free_space)
{
	return tarn__ring_enqueue(r, objs, sizeof(void *), n, TARN__RING_FIXED, free_space);
}

/**
 * Enqueue up to `n` pointers: as many as there are free slots.
 * @param r, objs, n, free_space  as tarn_ring_enqueue_bulk().
 * @return the number enqueued, 0 .. n (the first ones of `objs`).
 */
TARN_RING_INLINE unsigned tarn_ring_enqueue_burst(struct tarn_ring *r, void *const *objs,
                                                  unsigned n, unsigned *free_space)
{
	return tarn__ring_enqueue(r, objs, sizeof(void *), n, TARN__RING_VARIABLE, free_space);
}

/**
 * Dequeue `n` pointers, all or nothing.
 * @param r          the ring.
 * @param objs       receives the pointers (room for `n`).
 * @param n          how many.
 * @param available  if not NULL, receives the elements left after the call
 *                   (before it, on failure).
 * @return `n`, or 0 if fewer than `n` were available (nothing dequeued).
 */
TARN_RING_INLINE unsigned tarn_ring_dequeue_bulk(struct tarn_ring *r, void **objs, unsigned n,
                                                 unsigned *available)
{
	return tarn__ring_dequeue(r, objs, sizeof(void *), n, TARN__RING_FIXED, available);
}

/**
 * Dequeue up to `n` pointers: as many as are available.
 * @param r, objs, n, available  as tarn_ring_dequeue_bulk().
 * @return the number dequeued, 0 .. n.
 */
TARN_RING_INLINE unsigned tarn_ring_dequeue_burst(struct tarn_ring *r, void **objs, unsigned n,
                                                  unsigned *available)
{
	return tarn__ring_dequeue(r, objs, sizeof(void *), n, TARN__RING_VARIABLE, available);
}

/**
 * Enqueue one pointer.
 * @return 0, or -ENOBUFS if the ring is full.
 */
TARN_RING_INLINE int tarn_ring_enqueue(struct tarn_ring *r, void *obj)
{
	return tarn_ring_enqueue_bulk(r, &obj, 1, NULL) ? 0 : -ENOBUFS;
}

/**
 * Dequeue one pointer.
 * @param r    the ring.
 * @param obj  receives the pointer.
 * @return 0, or -ENOENT if the ring is empty (`*obj` untouched).
 */
TARN_RING_INLINE int tarn_ring_dequeue(struct tarn_ring *r, void **obj)
{
	return tarn_ring_dequeue_bulk(r, obj, 1, NULL) ? 0 : -ENOENT;
}
/**@}*/

/**
 * @name Enqueue and dequeue of pointers, mode in the name
 *
 * Same arguments and return values as the calls that follow the flags.
 * - `mp`/`mc` (MT): thread-safe for any number of threads on that side.
 *   Reserving is lock-free (a CAS loop); publishing waits for the earlier
 *   operations of the same side, so the call is blocking: a preempted
 *   thread delays the later ones of its side (they spin, then yield).
 * - `sp`/`sc` (ST): only one thread at a time on that side; wait-free.
 * - `mp_rts`/`mc_rts` (RTS): thread-safe for any number of threads on that
 *   side; lock-free while the head is within `htd_max` of the tail, else
 *   waits for in-flight operations (spin, then yield). A preempted thread
 *   delays only the visibility of the side's newer elements.
 */
/**@{*/

/** Multi-producer enqueue, all or nothing (see tarn_ring_enqueue_bulk()). */
TARN_RING_INLINE unsigned tarn_ring_mp_enqueue_bulk(struct tarn_ring *r, void *const *objs,
                                                    unsigned n, unsigned *free_space)
{
	return tarn__ring_do_enqueue(r, objs, sizeof(void *), n, TARN__RING_FIXED,
	                             TARN_RING_SYNC_MT, free_space);
}

/** Single-producer enqueue, all or nothing (see tarn_ring_enqueue_bulk()). */
TARN_RING_INLINE unsigned tarn_ring_sp_enqueue_bulk(struct tarn_ring *r, void *const *objs,
                                                    unsigned n, unsigned *free_space)
{
	return tarn__ring_do_enqueue(r, objs, sizeof(void *), n, TARN__RING_FIXED,
	                             TARN_RING_SYNC_ST, free_space);
}

/** RTS multi-producer enqueue, all or nothing (see tarn_ring_enqueue_bulk()). */
TARN_RING_INLINE unsigned tarn_ring_mp_rts_enqueue_bulk(struct tarn_ring *r, void *const *objs,
                                                        unsigned n, unsigned *free_space)
{
	return tarn__ring_do_enqueue(r, objs, sizeof(void *), n, TARN__RING_FIXED,
	                             TARN_RING_SYNC_RTS, free_space);
}

/** Multi-producer enqueue of up to `n` (see tarn_ring_enqueue_burst()). */
TARN_RING_INLINE unsigned tarn_ring_mp_enqueue_burst(struct tarn_ring *r, void *const *objs,
                                                     unsigned n, unsigned *free_space)
{
	return tarn__ring_do_enqueue(r, objs, sizeof(void *), n, TARN__RING_VARIABLE,
	                             TARN_RING_SYNC_MT, free_space);
}

/** Single-producer enqueue of up to `n` (see tarn_ring_enqueue_burst()). */
TARN_RING_INLINE unsigned tarn_ring_sp_enqueue_burst(struct tarn_ring *r, void *const *objs,
                                                     unsigned n, unsigned *free_space)
{
	return tarn__ring_do_enqueue(r, objs, sizeof(void *), n, TARN__RING_VARIABLE,
	                             TARN_RING_SYNC_ST, free_space);
}

/** RTS multi-producer enqueue of up to `n` (see tarn_ring_enqueue_burst()). */
TARN_RING_INLINE unsigned tarn_ring_mp_rts_enqueue_burst(struct tarn_ring *r, void *const *objs,
                                                         unsigned n, unsigned *free_space)
{
	return tarn__ring_do_enqueue(r, objs, sizeof(void *), n, TARN__RING_VARIABLE,
	                             TARN_RING_SYNC_RTS, free_space);
}

/** Multi-consumer dequeue, all or nothing (see tarn_ring_dequeue_bulk()). */
TARN_RING_INLINE unsigned tarn_ring_mc_dequeue_bulk(struct tarn_ring *r, void **objs, unsigned n,
                                                    unsigned *available)
{
	return tarn__ring_do_dequeue(r, objs, sizeof(void *), n, TARN__RING_FIXED,
	                             TARN_RING_SYNC_MT, available);
}

/** Single-consumer dequeue, all or nothing (see tarn_ring_dequeue_bulk()). */
TARN_RING_INLINE unsigned tarn_ring_sc_dequeue_bulk(struct tarn_ring *r, void **objs, unsigned n,
                                                    unsigned *available)
{
	return tarn__ring_do_dequeue(r, objs, sizeof(void *), n, TARN__RING_FIXED,
	                             TARN_RING_SYNC_ST, available);
}

/** RTS multi-consumer dequeue, all or nothing (see tarn_ring_dequeue_bulk()). */
TARN_RING_INLINE unsigned tarn_ring_mc_rts_dequeue_bulk(struct tarn_ring *r, void **objs,
                                                        unsigned n, unsigned *available)
{
	return tarn__ring_do_dequeue(r, objs, sizeof(void *), n, TARN__RING_FIXED,
	                             TARN_RING_SYNC_RTS, available);
}

/** Multi-consumer dequeue of up to `n` (see tarn_ring_dequeue_burst()). */
TARN_RING_INLINE unsigned tarn_ring_mc_dequeue_burst(struct tarn_ring *r, void **objs, unsigned n,
                                                     unsigned *available)
{
	return tarn__ring_do_dequeue(r, objs, sizeof(void *), n, TARN__RING_VARIABLE,
	                             TARN_RING_SYNC_MT, available);
}

/** Single-consumer dequeue of up to `n` (see tarn_ring_dequeue_burst()). */
TARN_RING_INLINE unsigned tarn_ring_sc_dequeue_burst(struct tarn_ring *r, void **objs, unsigned n,
                                                     unsigned *available)
{
	return tarn__ring_do_dequeue(r, objs, sizeof(void *), n, TARN__RING_VARIABLE,
	                             TARN_RING_SYNC_ST, available);
}

/** RTS multi-consumer dequeue of up to `n` (see tarn_ring_dequeue_burst()). */
TARN_RING_INLINE unsigned tarn_ring_mc_rts_dequeue_burst(struct tarn_ring *r, void **objs,
                                                         unsigned n, unsigned *available)
{
	return tarn__ring_do_dequeue(r, objs, sizeof(void *), n, TARN__RING_VARIABLE,
	                             TARN_RING_SYNC_RTS, available);
}
/**@}*/

/* ------------------------------------------------------------------------ */
/**
 * @name Enqueue and dequeue of fixed-size elements
 *
 * As the pointer calls, with `objs` an array of `n` elements of `esize`
 * bytes each; `esize` must be the ring's element size (a multiple of 4).
 * 4, 8, 16 and 32 bytes have dedicated copy loops (inline moves when
 * `esize` is a compile-time constant, as it usually is); other sizes are
 * copied with one memcpy() per contiguous run. Thread safety and progress as the corresponding
 * pointer calls.
 */
/**@{*/

/** Enqueue `n` elements, all or nothing, following the flags. @return n or 0. */
TARN_RING_INLINE unsigned tarn_ring_enqueue_bulk_elem(struct tarn_ring *r, const void *objs,
                                                      unsigned esize, unsigned n,
                                                      unsigned *free_space)
{
	return tarn__ring_enqueue(r, objs, esize, n, TARN__RING_FIXED, free_space);
}

/** Enqueue up to `n` elements, following the flags. @return the number enqueued. */
TARN_RING_INLINE unsigned tarn_ring_enqueue_burst_elem(struct tarn_ring *r, const void *objs,
                                                       unsigned esize, unsigned n,
                                                       unsigned *free_space)
{
	return tarn__ring_enqueue(r, objs, esize, n, TARN__RING_VARIABLE, free_space);
}

/** Dequeue `n` elements, all or nothing, following the flags. @return n or 0. */
TARN_RING_INLINE unsigned tarn_ring_dequeue_bulk_elem(struct tarn_ring *r, void *objs,
                                                      unsigned esize, unsigned n,
                                                      unsigned *available)
{
	return tarn__ring_dequeue(r, objs, esize, n, TARN__RING_FIXED, available);
}

/** Dequeue up to `n` elements, following the flags. @return the number dequeued. */
TARN_RING_INLINE unsigned tarn_ring_dequeue_burst_elem(struct tarn_ring *r, void *objs,
                                                       unsigned esize, unsigned n,
                                                       unsigned *available)
{
	return tarn__ring_dequeue(r, objs, esize, n, TARN__RING_VARIABLE, available);
}

/** Multi-producer (MT) enqueue of `n` elements, all or nothing. @return n or 0. */
TARN_RING_INLINE unsigned tarn_ring_mp_enqueue_bulk_elem(struct tarn_ring *r, const void *objs,
                                                         unsigned esize, unsigned n,
                                                         unsigned *free_space)
{
	return tarn__ring_do_enqueue(r, objs, esize, n, TARN__RING_FIXED, TARN_RING_SYNC_MT,
	                             free_space);
}

/** Single-producer (ST) enqueue of `n` elements, all or nothing. @return n or 0. */
TARN_RING_INLINE unsigned tarn_ring_sp_enqueue_bulk_elem(struct tarn_ring *r, const void *objs,
                                                         unsigned esize, unsigned n,
                                                         unsigned *free_space)
{
	return tarn__ring_do_enqueue(r, objs, esize, n, TARN__RING_FIXED, TARN_RING_SYNC_ST,
	                             free_space);
}

/** RTS multi-producer enqueue of `n` elements, all or nothing. @return n or 0. */
TARN_RING_INLINE unsigned tarn_ring_mp_rts_enqueue_bulk_elem(struct tarn_ring *r, const void *objs,
                                                             unsigned esize, unsigned n,
                                                             unsigned *free_space)
{
	return tarn__ring_do_enqueue(r, objs, esize, n, TARN__RING_FIXED, TARN_RING_SYNC_RTS,
	                             free_space);
}

/** Multi-producer (MT) enqueue of up to `n` elements. @return the number enqueued. */
TARN_RING_INLINE unsigned tarn_ring_mp_enqueue_burst_elem(struct tarn_ring *r, const void *objs,
                                                          unsigned esize, unsigned n,
                                                          unsigned *free_space)
{
	return tarn__ring_do_enqueue(r, objs, esize, n, TARN__RING_VARIABLE, TARN_RING_SYNC_MT,
	                             free_space);
}

/** Single-producer (ST) enqueue of up to `n` elements. @return the number enqueued. */
TARN_RING_INLINE unsigned tarn_ring_sp_enqueue_burst_elem(struct tarn_ring *r, const void *objs,
                                                          unsigned esize, unsigned n,
                                                          unsigned *free_space)
{
	return tarn__ring_do_enqueue(r, objs, esize, n, TARN__RING_VARIABLE, TARN_RING_SYNC_ST,
	                             free_space);
}

/** RTS multi-producer enqueue of up to `n` elements. @return the number enqueued. */
TARN_RING_INLINE unsigned tarn_ring_mp_rts_enqueue_burst_elem(struct tarn_ring *r, const void *objs,
                                                              unsigned esize, unsigned n,
                                                              unsigned *free_space)
{
	return tarn__ring_do_enqueue(r, objs, esize, n, TARN__RING_VARIABLE, TARN_RING_SYNC_RTS,
	                             free_space);
}

/** Multi-consumer (MT) dequeue of `n` elements, all or nothing. @return n or 0. */
TARN_RING_INLINE unsigned tarn_ring_mc_dequeue_bulk_elem(struct tarn_ring *r, void *objs,
                                                         unsigned esize, unsigned n,
                                                         unsigned *available)
{
	return tarn__ring_do_dequeue(r, objs, esize, n, TARN__RING_FIXED, TARN_RING_SYNC_MT,
	                             available);
}

/** Single-consumer (ST) dequeue of `n` elements, all or nothing. @return n or 0. */
TARN_RING_INLINE unsigned tarn_ring_sc_dequeue_bulk_elem(struct tarn_ring *r, void *objs,
                                                         unsigned esize, unsigned n,
                                                         unsigned *available)
{
	return tarn__ring_do_dequeue(r, objs, esize, n, TARN__RING_FIXED, TARN_RING_SYNC_ST,
	                             available);
}

/** RTS multi-consumer dequeue of `n` elements, all or nothing. @return n or 0. */
TARN_RING_INLINE unsigned tarn_ring_mc_rts_dequeue_bulk_elem(struct tarn_ring *r, void *objs,
                                                             unsigned esize, unsigned n,
                                                             unsigned *available)
{
	return tarn__ring_do_dequeue(r, objs, esize, n, TARN__RING_FIXED, TARN_RING_SYNC_RTS,
	                             available);
}

/** Multi-consumer (MT) dequeue of up to `n` elements. @return the number dequeued. */
TARN_RING_INLINE unsigned tarn_ring_mc_dequeue_burst_elem(struct tarn_ring *r, void *objs,
                                                          unsigned esize, unsigned n,
                                                          unsigned *available)
{
	return tarn__ring_do_dequeue(r, objs, esize, n, TARN__RING_VARIABLE, TARN_RING_SYNC_MT,
	                             available);
}

/** Single-consumer (ST) dequeue of up to `n` elements. @return the number dequeued. */
TARN_RING_INLINE unsigned tarn_ring_sc_dequeue_burst_elem(struct tarn_ring *r, void *objs,
                                                          unsigned esize, unsigned n,
                                                          unsigned *available)
{
	return tarn__ring_do_dequeue(r, objs, esize, n, TARN__RING_VARIABLE, TARN_RING_SYNC_ST,
	                             available);
}

/** RTS multi-consumer dequeue of up to `n` elements. @return the number dequeued. */
TARN_RING_INLINE unsigned tarn_ring_mc_rts_dequeue_burst_elem(struct tarn_ring *r, void *objs,
                                                              unsigned esize, unsigned n,
                                                              unsigned *available)
{
	return tarn__ring_do_dequeue(r, objs, esize, n, TARN__RING_VARIABLE, TARN_RING_SYNC_RTS,
	                             available);
}
/**@}*/

/* ------------------------------------------------------------------------ */
/**
 * @name State
 *
 * Thread-safe and wait-free; while operations run the figures are a
 * snapshot that may be stale by the time the caller looks at it. Exact when
 * no operation is in flight.
 */
/**@{*/

/**
 * @return the number of elements in the ring (published by producers, not
 * yet reclaimed by consumers), 0 .. capacity: a value the count had at some
 * moment during the call when the consumer tail stood still long enough to
 * be read twice around the producer tail (a few tries), else an estimate
 * clamped to the capacity.
 */
TARN_RING_INLINE unsigned tarn_ring_count(const struct tarn_ring *r)
{
	/* A_CT: acquire load of cons.tail. It pairs with the R_CT of the
	 * consumer that stored the value read, which had read prod.tail at
	 * least that far with A_CPT (RTS: every tail update is a release
	 * CAS, see R_RT, so the acquire synchronises with all of them): the
	 * prod.tail load below, ordered after it, reads at least that value
	 * too, so prod - cons never "goes negative" (an empty ring never reads
	 * as full). */
	uint32_t cons = __atomic_load_n(&r->cons.tail.v.pos, __ATOMIC_ACQUIRE);
	uint32_t count = 0;

	for (unsigned tries = 0; tries < 4; tries++) {
		TARN__RING_HOOK(&r->cons, 0, TARN__RING_HOOK_COUNT);
		/* acquire: orders the reload of cons.tail after this load (and
		 * nothing is read from the slots) */
		const uint32_t prod = __atomic_load_n(&r->prod.tail.v.pos, __ATOMIC_ACQUIRE);
		/* acquire: A_CT again, for the next round */
		const uint32_t again = __atomic_load_n(&r->cons.tail.v.pos, __ATOMIC_ACQUIRE);

		count = prod - cons;
		/* The consumer tail had this value before and after the
		 * producer tail was read: prod - cons is the count at that
		 * moment, at most the capacity (producers never run more than
		 * the capacity ahead of the consumer tail). */
		if (tarn_likely(again == cons))
			return count;
		cons = again;
	}
	/* The consumers kept moving: prod was read before the last cons, so
	 * the difference may count elements already gone; clamp. */
	return count > r->capacity ? r->capacity : count;
}

/** @return the number of free slots, capacity - tarn_ring_count(). */
TARN_RING_INLINE unsigned tarn_ring_free_count(const struct tarn_ring *r)
{
	return r->capacity - tarn_ring_count(r);
}

/** @return non-zero if the ring holds no element. */
TARN_RING_INLINE int tarn_ring_empty(const struct tarn_ring *r)
{
	return tarn_ring_count(r) == 0;
}

/** @return non-zero if the ring has no free slot. */
TARN_RING_INLINE int tarn_ring_full(const struct tarn_ring *r)
{
	return tarn_ring_free_count(r) == 0;
}

/** @return the most elements the ring can hold. */
TARN_RING_INLINE unsigned tarn_ring_get_capacity(const struct tarn_ring *r)
{
	return r->capacity;
}

/** @return the number of slots (a power of two, > capacity). */
TARN_RING_INLINE unsigned tarn_ring_get_size(const struct tarn_ring *r)
{
	return r->size;
}

/** @return the element size in bytes (8 for pointer rings). */
TARN_RING_INLINE unsigned tarn_ring_get_esize(const struct tarn_ring *r)
{
	return r->esize;
}

/** @return the creation flags. */
TARN_RING_INLINE unsigned tarn_ring_get_flags(const struct tarn_ring *r)
{
	return r->flags;
}

/** @return the ring's name. */
TARN_RING_INLINE const char *tarn_ring_get_name(const struct tarn_ring *r)
{
	return r->name;
}

/** @return the producer side's head-tail distance limit (RTS; see
 *  tarn_ring_set_htd_max()), or 0 when that side is not RTS. */
TARN_RING_INLINE unsigned tarn_ring_get_prod_htd_max(const struct tarn_ring *r)
{
	return r->prod.sync == TARN_RING_SYNC_RTS ? r->prod.htd_max : 0;
}

/** @return the consumer side's head-tail distance limit (RTS; see
 *  tarn_ring_set_htd_max()), or 0 when that side is not RTS. */
TARN_RING_INLINE unsigned tarn_ring_get_cons_htd_max(const struct tarn_ring *r)
{
	return r->cons.sync == TARN_RING_SYNC_RTS ? r->cons.htd_max : 0;
}

/** @return the producer side's mode (enum tarn_ring_sync). */
TARN_RING_INLINE enum tarn_ring_sync tarn_ring_get_prod_sync(const struct tarn_ring *r)
{
	return (enum tarn_ring_sync)r->prod.sync;
}

/** @return the consumer side's mode (enum tarn_ring_sync). */
TARN_RING_INLINE enum tarn_ring_sync tarn_ring_get_cons_sync(const struct tarn_ring *r)
{
	return (enum tarn_ring_sync)r->cons.sync;
}
/**@}*/

#ifdef __cplusplus
}
#endif

#endif /* TARN_RING_H */
