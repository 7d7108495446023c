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
 *   the preempted thread can get it.
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

/* ------------------------------------------------------------------------ */
/* Internal fast path. Everything here is static inline and prefixed tarn__.
 *
 * Ordering edges, named in the comments where they are used:
 *   R_PT  release store (or release CAS) of prod.tail: publishes the slots
 *         producers wrote.                  Pairs with A_CPT.
 *   R_CT  release store (or release CAS) of cons.tail: says consumers have
 *         finished reading their slots.     Pairs with A_PCT.
 *   A_PCT acquire load of cons.tail by a producer, before it writes slots:
 *         the consumers' reads of those slots happen before our writes.
 *   A_CPT acquire load of prod.tail by a consumer, before it reads slots:
 *         the producers' writes of those slots happen before our reads.
 *   R_H / A_H  release CAS of a side's head / acquire load of that head by
 *         another thread of the same side: the opposite tail it then reads
 *         is at least as new as the one the mover of the head saw, so free
 *         (or used) space is never computed from an older opposite tail than
 *         the head already accounts for (it would underflow).
 *   A_TW  acquire load of the own side's tail while waiting for earlier
 *         operations (MT; done after the head move, before the copy):
 *         their slot accesses happen before our R_PT/R_CT, which a plain
 *         store would otherwise not carry along.
 *   A side's cached copy of the other side's tail travels in its head
 *         word (MT, ST): R_H publishes it and A_H reads it, so a thread
 *         using a copy that another thread of its side stored inherits
 *         that thread's A_PCT / A_CPT.
 *   R_RT / A_RT  RTS: every tail update is a release CAS, so they form one
 *         release sequence and an A_CPT/A_PCT that reads the final value
 *         synchronises with all of them; the acquire reload of the own tail
 *         orders the following head read after the head moves of the
 *         operations whose completions it counts.
 */

#define TARN__RING_INLINE static inline __attribute__((always_inline))

/*
 * Test hooks at the ring's ordering points. Only a library and a program
 * both compiled with -DTARN__RING_HOOKS (the hooked copy of the ring and
 * mempool that tests/ring/meson.build builds for the preemption tests) call
 * tarn__ring_hook(); in every other build the macro is empty, so the
 * installed library and the programs built on it carry no trace of it.
 *   MOVE   the head was read and the room found, the head not yet moved
 *          (ST: two threads of a single-thread side parked here both
 *          reserve the same slots; MT, RTS: the compare-and-swap will fail)
 *   HEAD   a head move succeeded, nothing copied yet (a thread parked here
 *          is a thread preempted right after its head move)
 *   TAIL   the copy is done, the tail not yet published
 *   OPP    the other side's tail was just read (fresh), not yet used
 *   COUNT  tarn_ring_count() between its loads of the two tails
 * `is_prod` says which side `ht` is (so the hook finds the ring).
 */
enum tarn__ring_hook_point {
	TARN__RING_HOOK_HEAD = 0,
	TARN__RING_HOOK_TAIL = 1,
	TARN__RING_HOOK_OPP = 2,
	TARN__RING_HOOK_COUNT = 3,
	TARN__RING_HOOK_MOVE = 4,
};
#ifdef TARN__RING_HOOKS
TARN_API void tarn__ring_hook(const struct tarn_ring_headtail *ht, int is_prod, int point);
/* The function tarn__ring_hook() calls (NULL: none), with the ring, the
 * side (1: producer) and the point. */
typedef void (*tarn__ring_hook_fn)(struct tarn_ring *r, int is_prod, int point);
TARN_API void tarn__ring_hook_set(tarn__ring_hook_fn fn);
/* Move a ring with no operation in flight `k` positions forward, as if k
 * elements had gone through it: heads, tails and cached copies + k, each
 * element moved to the slot of its new position. */
TARN_API void tarn__ring_hook_advance(struct tarn_ring *r, uint32_t k);
#define TARN__RING_HOOK(ht, is_prod, point) tarn__ring_hook((ht), (is_prod), (point))
#else
#define TARN__RING_HOOK(ht, is_prod, point) ((void)0)
#endif

/** Internal: behaviour of a call. */
enum tarn__ring_behavior {
	TARN__RING_FIXED = 0,    /* bulk: all or nothing */
	TARN__RING_VARIABLE = 1, /* burst: as many as possible */
};

/* Wait politely: pause, and after TARN_RING_SPINS_BEFORE_YIELD rounds give
 * the CPU away (the thread we wait for is probably preempted). */
static inline __attribute__((cold)) void tarn__ring_relax(unsigned *spins)
{
	if (tarn_likely(++*spins < TARN_RING_SPINS_BEFORE_YIELD)) {
#if defined(__x86_64__) || defined(__i386__)
		__builtin_ia32_pause();
#elif defined(__aarch64__)
		__asm__ volatile("yield" ::: "memory");
#endif
	} else {
		*spins = 0;
		sched_yield();
	}
}

/* Slot array, right after the structure. */
TARN__RING_INLINE uint8_t *tarn__ring_slots(const struct tarn_ring *r)
{
	return (uint8_t *)(uintptr_t)(r + 1);
}

/* -- copies. `n` whole elements from `s` to `d`; no overlap. memcpy with a
 * constant size compiles to plain moves and is free of aliasing rules. */

/*
 * Pointers (8 bytes), mostly n >= 2 (the inline path moves one element
 * itself, see tarn__ring_enqueue_fast()). Two blocks that may overlap, as memcpy
 * implementations do, up to 8 pointers; 64-byte blocks and an overlapping
 * last one above. Bytes written twice get the same value both times, and
 * nobody looks at them before the copy is published (slots) or returned
 * (objs). Two or three well-predicted branches whatever `n`: the old
 * four-at-a-time loop with a switch for the rest took up to eight.
 */
TARN__RING_INLINE void tarn__ring_copy_8(uint8_t *d, const uint8_t *s, uint32_t n)
{
	if (n <= 4) {
		if (n >= 2) {
			memcpy(d, s, 16);
			memcpy(d + 8 * (size_t)(n - 2), s + 8 * (size_t)(n - 2), 16);
		} else if (n == 1) {
			memcpy(d, s, 8);
		}
	} else if (n <= 8) {
		memcpy(d, s, 32);
		memcpy(d + 8 * (size_t)(n - 4), s + 8 * (size_t)(n - 4), 32);
	} else {
		for (uint32_t i = 0; i + 8 < n; i += 8)
			memcpy(d + 8 * (size_t)i, s + 8 * (size_t)i, 64);
		memcpy(d + 8 * (size_t)(n - 8), s + 8 * (size_t)(n - 8), 64);
	}
}

TARN__RING_INLINE void tarn__ring_copy_16(uint8_t *d, const uint8_t *s, uint32_t n)
{
	uint32_t i = 0;

	for (; i + 2 <= n; i += 2)
		memcpy(d + 16 * i, s + 16 * i, 32);
	if (n & 1)
		memcpy(d + 16 * i, s + 16 * i, 16);
}

TARN__RING_INLINE void tarn__ring_copy_4(uint8_t *d, const uint8_t *s, uint32_t n)
{
	uint32_t i = 0;

	for (; i + 8 <= n; i += 8)
		memcpy(d + 4 * i, s + 4 * i, 32);
	for (; i < n; i++)
		memcpy(d + 4 * i, s + 4 * i, 4);
}

TARN__RING_INLINE void tarn__ring_copy(uint8_t *d, const uint8_t *s, uint32_t esize, uint32_t n)
{
	if (esize == 8) {
		tarn__ring_copy_8(d, s, n);
	} else if (esize == 16) {
		tarn__ring_copy_16(d, s, n);
	} else if (esize == 4) {
		tarn__ring_copy_4(d, s, n);
	} else if (esize == 32) {
		for (uint32_t i = 0; i < n; i++)
			memcpy(d + 32 * (size_t)i, s + 32 * (size_t)i, 32);
	} else {
		memcpy(d, s, (size_t)esize * n);
	}
}

/* One element: single-element calls, and the rare copies that wrap around
 * the end of the slot array. The element index `i < n` bounds every source
 * (or destination) access in a way the compiler can see, so callers passing
 * exactly-sized arrays get no -Warray-bounds false positive. */
TARN__RING_INLINE void tarn__ring_copy_one(uint8_t *d, const uint8_t *s, uint32_t esize)
{
	if (esize == 8)
		memcpy(d, s, 8);
	else if (esize == 16)
		memcpy(d, s, 16);
	else if (esize == 4)
		memcpy(d, s, 4);
	else if (esize == 32)
		memcpy(d, s, 32);
	else
		memcpy(d, s, esize);
}

/* Copy `n` (>= 1) elements into the slots from position `pos`, wrapping
 * around (the out-of-line paths; the inline one is tarn__ring_enqueue_fast()). */
TARN__RING_INLINE void tarn__ring_copy_in(struct tarn_ring *r, uint32_t pos, const void *objs,
                                          uint32_t esize, uint32_t n)
{
	const uint32_t idx = pos & r->mask;
	uint8_t *slots = tarn__ring_slots(r);
	const uint8_t *src = (const uint8_t *)objs;
	const uint32_t to_end = r->size - idx; /* idx < size: >= 1 */
	if (tarn_likely(n <= to_end)) {
		tarn__ring_copy(slots + (size_t)idx * esize, src, esize, n);
	} else {
		uint32_t i = 0;

		for (; i < to_end; i++)
			tarn__ring_copy_one(slots + (size_t)(idx + i) * esize,
			                    src + (size_t)i * esize, esize);
		for (; i < n; i++)
			tarn__ring_copy_one(slots + (size_t)(i - to_end) * esize,
			                    src + (size_t)i * esize, esize);
	}
}

/* Copy `n` (>= 1) elements out of the slots from position `pos`, wrapping
 * around (the out-of-line paths). */
TARN__RING_INLINE void tarn__ring_copy_out(const struct tarn_ring *r, uint32_t pos, void *objs,
                                           uint32_t esize, uint32_t n)
{
	const uint32_t idx = pos & r->mask;
	const uint8_t *slots = tarn__ring_slots(r);
	uint8_t *dst = (uint8_t *)objs;
	const uint32_t to_end = r->size - idx; /* idx < size: >= 1 */
	if (tarn_likely(n <= to_end)) {
		tarn__ring_copy(dst, slots + (size_t)idx * esize, esize, n);
	} else {
		uint32_t i = 0;

		for (; i < to_end; i++)
			tarn__ring_copy_one(dst + (size_t)i * esize,
			                    slots + (size_t)(idx + i) * esize, esize);
		for (; i < n; i++)
			tarn__ring_copy_one(dst + (size_t)i * esize,
			                    slots + (size_t)(i - to_end) * esize, esize);
	}
}

/* How many of `want` elements an operation takes when `avail` are there. */
TARN__RING_INLINE uint32_t tarn__ring_take(uint32_t want, uint32_t avail, int behavior)
{
	if (tarn_likely(want <= avail))
		return want;
	return behavior == TARN__RING_VARIABLE ? avail : 0;
}

/* A head word of position `pos` and second half `hi` (the copy or the RTS
 * count), and its halves: plain shifts, so the word stays in a register. */
TARN__RING_INLINE uint64_t tarn__ring_word(uint32_t pos, uint32_t hi)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return (uint64_t)pos | (uint64_t)hi << 32;
#else
	return (uint64_t)hi | (uint64_t)pos << 32;
#endif
}

TARN__RING_INLINE uint32_t tarn__ring_word_pos(uint64_t w)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return (uint32_t)w;
#else
	return (uint32_t)(w >> 32);
#endif
}

TARN__RING_INLINE uint32_t tarn__ring_word_hi(uint64_t w)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return (uint32_t)(w >> 32);
#else
	return (uint32_t)w;
#endif
}

/* -- head moves. `ht` is the own side, `opp_tail` the other side's tail
 * position, `is_prod` (a constant) says which side: the room is the free
 * slots for a producer (capacity + cons_tail - head) and the elements for a
 * consumer (prod_tail - head). */

/*
 * Room seen from the head word `hw`, in two steps.
 *
 * First (MT and ST: `use_copy`) from `hw.v.opp`, this side's cached copy of
 * the other side's tail, which travels in the head word on this side's own
 * cache line: while it shows enough room the other side's line is not
 * touched, so a producer and a consumer on two cores stop stealing each
 * other's line on every call. The copy is used when it shows `want`, is in
 * range, and the caller did not ask for an exact figure (`exact`:
 * free_space/available requested).
 *
 * Otherwise the real tail is read; `*copy` gets the value the head move
 * stores with the new position (the copy unchanged, or the fresh tail).
 *
 * Why the copy is in the head word: it is then stored only together with a
 * head move, by the one 64-bit compare-and-swap (MT) that succeeds only if
 * the side did not move since its head was read, i.e. since before the tail
 * was read. A thread preempted after reading the tail can therefore never
 * store that value once the side has moved on; while the side stands still
 * the other side's tail moves at most `cap` positions, so a stored copy is
 * never more than `cap` behind the tail. (A copy in a field of its own,
 * refreshed by a plain store, could be stored by a thread that read the
 * tail 2^32 - k positions earlier: in 32-bit arithmetic that value is k
 * positions AHEAD of the tail, and the next call would take room that is
 * not there.) ST: one thread at a time writes the head word. RTS keeps no
 * copy (its head word holds the operation count): it reads the other
 * side's tail on every call.
 *
 * A stale copy only underestimates the room: tails only move forward, so
 * a copy k positions behind gives room - k, and when k exceeds the room the
 * unsigned result wraps above `cap` and is caught by the range check. So a
 * failed bulk call or a short burst is always decided on a fresh tail.
 *
 * Branch layout (what is measured): a producer usually finds room in its
 * copy (a ring is rarely nearly full), so its refresh is out of line; a
 * consumer usually has caught up with what its copy shows (a ring is often
 * nearly empty, and always in a one-thread enqueue-then-dequeue loop), so
 * its refresh is not marked unlikely. The range check is a separate branch
 * (not or-ed with the first), so each is one fused compare-and-jump.
 *
 * Returns how many elements the operation takes; `*avail` gets the room.
 */
TARN__RING_INLINE uint32_t tarn__ring_room(const struct tarn_ring_headtail *ht,
                                           const uint32_t *opp_tail, int is_prod, int use_copy,
                                           uint32_t cap, uint64_t hw, uint32_t want, int behavior,
                                           int exact, uint32_t *avail, uint32_t *copy)
{
	const uint32_t base = is_prod ? cap : 0;
	uint32_t room;

	(void)ht; /* the hooked test build's hook only */
	if (use_copy) {
		/* the copy came in the head word: A_H (MT) carries the
		 * A_PCT / A_CPT of the thread that stored it, so the other
		 * side's slot accesses happen before ours through that chain */
		room = base + tarn__ring_word_hi(hw) - tarn__ring_word_pos(hw);
		int cached_ok;

		if (is_prod)
			cached_ok = !exact && tarn_likely(room >= want) && tarn_likely(room <= cap);
		else
			cached_ok = !exact && room >= want && tarn_likely(room <= cap);
		if (cached_ok) {
			*avail = room;
			*copy = tarn__ring_word_hi(hw);
			return want;
		}
	}
	/* A_PCT / A_CPT: pairs with the other side's R_CT / R_PT */
	const uint32_t opp = __atomic_load_n(opp_tail, __ATOMIC_ACQUIRE);

	TARN__RING_HOOK(ht, is_prod, TARN__RING_HOOK_OPP);
	*copy = opp;
	room = base + opp - tarn__ring_word_pos(hw);
	*avail = room;
	return tarn__ring_take(want, room, behavior);
}

TARN__RING_INLINE uint32_t tarn__ring_move_head_st(struct tarn_ring_headtail *ht,
                                                   const uint32_t *opp_tail, int is_prod,
                                                   uint32_t cap, uint32_t want, int behavior,
                                                   int exact, uint32_t *old_head, uint32_t *avail)
{
	uint32_t copy;
	/* relaxed: only this thread writes this head (ST contract) */
	const uint64_t hw = __atomic_load_n(&ht->head.raw, __ATOMIC_RELAXED);
	const uint32_t head = tarn__ring_word_pos(hw);
	const uint32_t n =
	    tarn__ring_room(ht, opp_tail, is_prod, 1, cap, hw, want, behavior, exact, avail, &copy);

	*old_head = head;
	if (n != 0)
		TARN__RING_HOOK(ht, is_prod, TARN__RING_HOOK_MOVE);
	if (n != 0)
		/* relaxed: no other thread of this side; the other side reads
		 * only our tail, published with release after the copy */
		__atomic_store_n(&ht->head.raw, tarn__ring_word(head + n, copy), __ATOMIC_RELAXED);
	return n;
}

/* MT, one attempt. `*lost` set: another thread of this side moved the head
 * first and nothing is reserved (the caller then starts over out of line,
 * see tarn__ring_enqueue_mt_slow()). No loop in the fast path: the compiler
 * then hoists no addresses into registers for the loop's sake. */
TARN__RING_INLINE uint32_t tarn__ring_move_head_mt(struct tarn_ring_headtail *ht,
                                                   const uint32_t *opp_tail, int is_prod,
                                                   uint32_t cap, uint32_t want, int behavior,
                                                   int exact, uint32_t *old_head, uint32_t *avail,
                                                   int *lost)
{
	uint32_t copy;
	/* A_H: pairs with R_H of the thread that moved the head to this value */
	uint64_t hw = __atomic_load_n(&ht->head.raw, __ATOMIC_ACQUIRE);
	const uint32_t head = tarn__ring_word_pos(hw);
	const uint32_t n =
	    tarn__ring_room(ht, opp_tail, is_prod, 1, cap, hw, want, behavior, exact, avail, &copy);

	*old_head = head;
	*lost = 0;
	if (n == 0)
		return 0;
	TARN__RING_HOOK(ht, is_prod, TARN__RING_HOOK_MOVE);
	/* R_H on success (it publishes the copy too); on failure nothing is
	 * reserved nor stored (relaxed: the value read is dropped, the slow
	 * path reloads the head with A_H) */
	if (tarn_unlikely(!__atomic_compare_exchange_n(&ht->head.raw, &hw,
	                                               tarn__ring_word(head + n, copy), 0,
	                                               __ATOMIC_RELEASE, __ATOMIC_RELAXED)))
		*lost = 1;
	return n;
}

/* MT, until it succeeds or finds no room (the slow path). */
TARN__RING_INLINE uint32_t tarn__ring_move_head_mt_loop(struct tarn_ring_headtail *ht,
                                                        const uint32_t *opp_tail, int is_prod,
                                                        uint32_t cap, uint32_t want, int behavior,
                                                        int exact, uint32_t *old_head,
                                                        uint32_t *avail)
{
	uint32_t n, copy;
	/* A_H: pairs with R_H of the thread that moved the head to this value */
	uint64_t hw = __atomic_load_n(&ht->head.raw, __ATOMIC_ACQUIRE);

	do {
		n = tarn__ring_room(ht, opp_tail, is_prod, 1, cap, hw, want, behavior, exact, avail,
		                    &copy);
		if (n == 0)
			break;
		TARN__RING_HOOK(ht, is_prod, TARN__RING_HOOK_MOVE);
		/* R_H on success; A_H on failure (head reloaded: same reason
		 * as the load above) */
	} while (!__atomic_compare_exchange_n(&ht->head.raw, &hw,
	                                      tarn__ring_word(tarn__ring_word_pos(hw) + n, copy), 0,
	                                      __ATOMIC_RELEASE, __ATOMIC_ACQUIRE));
	*old_head = tarn__ring_word_pos(hw);
	return n;
}

/* ST and MT: publish the slots up to `new_tail`.
 * R_PT / R_CT: pairs with the other side's A_CPT / A_PCT. */
TARN__RING_INLINE void tarn__ring_update_tail(struct tarn_ring_headtail *ht, uint32_t new_tail)
{
	__atomic_store_n(&ht->tail.v.pos, new_tail, __ATOMIC_RELEASE);
}

/*
 * MT: tails are published in the order heads were reserved, so an
 * operation waits until the operations of its side that reserved before it
 * have published (tail == its old head) before it publishes. The check is
 * made right after the head move, before the copy; without contention the
 * tail is already there and it is one load and one fused compare-and-jump.
 * Measured: with the check after the copy, a one-thread MP/MC
 * enqueue+dequeue of one pointer took 30% longer on the machine of
 * docs/performance.md, for the same instructions. When the tail is not
 * there yet, the rest of the operation is done out of line
 * (tarn__ring_enqueue_finish()).
 */
TARN__RING_INLINE int tarn__ring_turn_mt(const struct tarn_ring_headtail *ht, uint32_t old_tail)
{
	/* A_TW: pairs with the R_PT / R_CT of the operations that reserved
	 * before us: their slot accesses happen before our R_PT / R_CT, which
	 * a plain store would otherwise not carry along */
	return __atomic_load_n(&ht->tail.v.pos, __ATOMIC_ACQUIRE) == old_tail;
}

static __attribute__((noinline, cold, unused)) void
tarn__ring_wait_turn_mt(const struct tarn_ring_headtail *ht, uint32_t old_tail)
{
	unsigned spins = 0;

	/* A_TW, as in tarn__ring_turn_mt() */
	while (!tarn__ring_turn_mt(ht, old_tail))
		tarn__ring_relax(&spins);
}

/* -- RTS. */

/* Wait until the head is at most `htd_max` ahead of the tail; return the
 * head read after the wait. Out of line, as tarn__ring_wait_turn_mt(). */
static __attribute__((noinline, cold, unused)) uint64_t
tarn__ring_rts_throttle(const struct tarn_ring_headtail *ht, uint32_t htd_max)
{
	union tarn_ring_poscnt oh;
	unsigned spins = 0;

	do {
		tarn__ring_relax(&spins);
		/* A_H, as in tarn__ring_move_head_rts() */
		oh.raw = __atomic_load_n(&ht->head.raw, __ATOMIC_ACQUIRE);
		/* relaxed: as in tarn__ring_move_head_rts() */
	} while (oh.v.pos - __atomic_load_n(&ht->tail.v.pos, __ATOMIC_RELAXED) > htd_max);
	return oh.raw;
}

TARN__RING_INLINE uint32_t tarn__ring_move_head_rts(struct tarn_ring_headtail *ht,
                                                    const uint32_t *opp_tail, int is_prod,
                                                    uint32_t cap, uint32_t want, int behavior,
                                                    int exact, uint32_t *old_head, uint32_t *avail)
{
	const uint32_t htd_max = ht->htd_max;
	union tarn_ring_poscnt oh, nh;
	uint32_t n, copy;

	/* A_H: pairs with R_H below, done by the thread that moved the head */
	oh.raw = __atomic_load_n(&ht->head.raw, __ATOMIC_ACQUIRE);
	for (;;) {
		/* Bound the head-tail distance so publication cannot be put off
		 * for ever. relaxed: the tail position is only a throttle here;
		 * a stale value makes us wait a little longer, nothing else. */
		if (tarn_unlikely(oh.v.pos - __atomic_load_n(&ht->tail.v.pos, __ATOMIC_RELAXED) >
		                  htd_max))
			oh.raw = tarn__ring_rts_throttle(ht, htd_max);
		n = tarn__ring_room(ht, opp_tail, is_prod, 0, cap, oh.raw, want, behavior, exact,
		                    avail, &copy);
		if (n == 0)
			break;
		nh.v.pos = oh.v.pos + n;
		nh.v.cnt = oh.v.cnt + 1;
		TARN__RING_HOOK(ht, is_prod, TARN__RING_HOOK_MOVE);
		/* R_H on success; A_H on failure (oh reloaded) */
		if (tarn_likely(__atomic_compare_exchange_n(&ht->head.raw, &oh.raw, nh.raw, 0,
		                                            __ATOMIC_RELEASE, __ATOMIC_ACQUIRE)))
			break;
	}
	*old_head = oh.v.pos;
	return n;
}

TARN__RING_INLINE void tarn__ring_update_tail_rts(struct tarn_ring_headtail *ht)
{
	union tarn_ring_poscnt ot, nt, h;

	/* A_RT: pairs with the R_RT of the last tail update; orders the head
	 * load below after the head moves of every operation counted in ot */
	ot.raw = __atomic_load_n(&ht->tail.raw, __ATOMIC_ACQUIRE);
	do {
		/* relaxed: ordered after the acquire of ot (A_RT), so it sees at
		 * least the starts of the operations ot counts as finished; a
		 * newer value only means more operations started and one of
		 * them will publish */
		h.raw = __atomic_load_n(&ht->head.raw, __ATOMIC_RELAXED);
		nt.raw = ot.raw;
		nt.v.cnt++;
		/* last one in flight: everything up to the head is written */
		if (nt.v.cnt == h.v.cnt)
			nt.v.pos = h.v.pos;
		/* R_RT on success (R_PT / R_CT for the other side); A_RT on
		 * failure, as above */
	} while (tarn_unlikely(!__atomic_compare_exchange_n(&ht->tail.raw, &ot.raw, nt.raw, 0,
	                                                    __ATOMIC_RELEASE, __ATOMIC_ACQUIRE)));
}

/* -- generic enqueue / dequeue, `sync` and `esize` constant after inlining */

/* Move the head of side `ht` (`is_prod` constant) in mode `sync` (`*lost`:
 * see tarn__ring_move_head_mt(); always 0 in the other modes). */
TARN__RING_INLINE uint32_t tarn__ring_move_head(struct tarn_ring_headtail *ht,
                                                const uint32_t *opp_tail, int is_prod, int sync,
                                                uint32_t cap, uint32_t want, int behavior,
                                                int exact, uint32_t *old_head, uint32_t *avail,
                                                int *lost)
{
	*lost = 0;
	if (sync == TARN_RING_SYNC_ST)
		return tarn__ring_move_head_st(ht, opp_tail, is_prod, cap, want, behavior, exact,
		                               old_head, avail);
	if (sync == TARN_RING_SYNC_MT)
		return tarn__ring_move_head_mt(ht, opp_tail, is_prod, cap, want, behavior, exact,
		                               old_head, avail, lost);
	return tarn__ring_move_head_rts(ht, opp_tail, is_prod, cap, want, behavior, exact, old_head,
	                                avail);
}

/*
 * Slow paths, out of line:
 * - the whole operation, when the fast path's one compare-and-swap lost
 *   (MT; nothing reserved yet: start over);
 * - the rest of it (wait, copy, publish), when the operations of the side
 *   that reserved before ours have not published yet (MT), or when the
 *   elements wrap around the end of the slot array (any mode; once per
 *   round of the ring at most).
 * Then no value of the operation lives across a call in the inlined fast
 * path (the waits may yield the CPU), and the element-by-element loops of
 * the wrap are not there either: the fast path and its caller need fewer
 * registers, so fewer callee-saved ones to push and pop on every call (and
 * a lock-prefixed instruction waits for those pushes to drain). Measured
 * with gcc -O2: tarn__mempool_get_direct() and _put_direct(), which inline
 * an MP/MC ring call, went from six pushes each to three.
 */
static __attribute__((noinline, unused)) void
tarn__ring_enqueue_finish(struct tarn_ring *r, uint32_t head, const void *objs, unsigned esize,
                          uint32_t n, int sync)
{
	if (sync == TARN_RING_SYNC_MT && !tarn__ring_turn_mt(&r->prod, head))
		tarn__ring_wait_turn_mt(&r->prod, head);
	tarn__ring_copy_in(r, head, objs, esize, n);
	TARN__RING_HOOK(&r->prod, 1, TARN__RING_HOOK_TAIL);
	if (sync == TARN_RING_SYNC_RTS)
		tarn__ring_update_tail_rts(&r->prod);
	else
		tarn__ring_update_tail(&r->prod, head + n);
}

static __attribute__((noinline, unused)) void tarn__ring_dequeue_finish(struct tarn_ring *r,
                                                                        uint32_t head, void *objs,
                                                                        unsigned esize, uint32_t n,
                                                                        int sync)
{
	if (sync == TARN_RING_SYNC_MT && !tarn__ring_turn_mt(&r->cons, head))
		tarn__ring_wait_turn_mt(&r->cons, head);
	tarn__ring_copy_out(r, head, objs, esize, n);
	TARN__RING_HOOK(&r->cons, 0, TARN__RING_HOOK_TAIL);
	if (sync == TARN_RING_SYNC_RTS)
		tarn__ring_update_tail_rts(&r->cons);
	else
		tarn__ring_update_tail(&r->cons, head + n);
}

static __attribute__((noinline, unused)) unsigned
tarn__ring_enqueue_mt_slow(struct tarn_ring *r, const void *objs, unsigned esize, unsigned want,
                           int behavior, unsigned *free_space)
{
	uint32_t head, room;
	const uint32_t n =
	    tarn__ring_move_head_mt_loop(&r->prod, &r->cons.tail.v.pos, 1, r->capacity, want,
	                                 behavior, free_space != NULL, &head, &room);

	if (n != 0) {
		TARN__RING_HOOK(&r->prod, 1, TARN__RING_HOOK_HEAD);
		tarn__ring_enqueue_finish(r, head, objs, esize, n, TARN_RING_SYNC_MT);
	}
	if (free_space != NULL)
		*free_space = room - n;
	return n;
}

static __attribute__((noinline, unused)) unsigned
tarn__ring_dequeue_mt_slow(struct tarn_ring *r, void *objs, unsigned esize, unsigned want,
                           int behavior, unsigned *available)
{
	uint32_t head, room;
	const uint32_t n =
	    tarn__ring_move_head_mt_loop(&r->cons, &r->prod.tail.v.pos, 0, r->capacity, want,
	                                 behavior, available != NULL, &head, &room);

	if (n != 0) {
		TARN__RING_HOOK(&r->cons, 0, TARN__RING_HOOK_HEAD);
		tarn__ring_dequeue_finish(r, head, objs, esize, n, TARN_RING_SYNC_MT);
	}
	if (available != NULL)
		*available = room - n;
	return n;
}

/*
 * The inline copy-and-publish: one element (the commonest call of all) is
 * a single move with no wrap test (a slot never straddles the end); more
 * go in blocks when they do not wrap. Everything else is the finish above.
 * Returns 0 when the caller must call the finish instead.
 */
TARN__RING_INLINE int tarn__ring_enqueue_fast(struct tarn_ring *r, uint32_t head, const void *objs,
                                              unsigned esize, uint32_t n, int sync)
{
	const uint32_t idx = head & r->mask;
	uint8_t *slot = tarn__ring_slots(r) + (size_t)idx * esize;

	if (sync == TARN_RING_SYNC_MT && tarn_unlikely(!tarn__ring_turn_mt(&r->prod, head)))
		return 0;
	if (tarn_likely(n == 1))
		tarn__ring_copy_one(slot, (const uint8_t *)objs, esize);
	else if (tarn_likely(n <= r->size - idx))
		tarn__ring_copy(slot, (const uint8_t *)objs, esize, n);
	else
		return 0;
	TARN__RING_HOOK(&r->prod, 1, TARN__RING_HOOK_TAIL);
	if (sync == TARN_RING_SYNC_RTS)
		tarn__ring_update_tail_rts(&r->prod);
	else
		tarn__ring_update_tail(&r->prod, head + n);
	return 1;
}

TARN__RING_INLINE int tarn__ring_dequeue_fast(struct tarn_ring *r, uint32_t head, void *objs,
                                              unsigned esize, uint32_t n, int sync)
{
	const uint32_t idx = head & r->mask;
	const uint8_t *slot = tarn__ring_slots(r) + (size_t)idx * esize;

	if (sync == TARN_RING_SYNC_MT && tarn_unlikely(!tarn__ring_turn_mt(&r->cons, head)))
		return 0;
	if (tarn_likely(n == 1))
		tarn__ring_copy_one((uint8_t *)objs, slot, esize);
	else if (tarn_likely(n <= r->size - idx))
		tarn__ring_copy((uint8_t *)objs, slot, esize, n);
	else
		return 0;
	TARN__RING_HOOK(&r->cons, 0, TARN__RING_HOOK_TAIL);
	if (sync == TARN_RING_SYNC_RTS)
		tarn__ring_update_tail_rts(&r->cons);
	else
		tarn__ring_update_tail(&r->cons, head + n);
	return 1;
}

TARN__RING_INLINE unsigned tarn__ring_do_enqueue(struct tarn_ring *r, const void *objs,
                                                 unsigned esize, unsigned want, int behavior,
                                                 int sync, unsigned *free_space)
{
	uint32_t head, room;
	int lost;
	const uint32_t n =
	    tarn__ring_move_head(&r->prod, &r->cons.tail.v.pos, 1, sync, r->capacity, want,
	                         behavior, free_space != NULL, &head, &room, &lost);

	if (tarn_unlikely(lost))
		return tarn__ring_enqueue_mt_slow(r, objs, esize, want, behavior, free_space);
	if (n != 0)
		TARN__RING_HOOK(&r->prod, 1, TARN__RING_HOOK_HEAD);
	if (n != 0 && tarn_unlikely(!tarn__ring_enqueue_fast(r, head, objs, esize, n, sync)))
		tarn__ring_enqueue_finish(r, head, objs, esize, n, sync);
	if (free_space != NULL)
		*free_space = room - n;
	return n;
}

TARN__RING_INLINE unsigned tarn__ring_do_dequeue(struct tarn_ring *r, void *objs, unsigned esize,
                                                 unsigned want, int behavior, int sync,
                                                 unsigned *available)
{
	uint32_t head, room;
	int lost;
	const uint32_t n =
	    tarn__ring_move_head(&r->cons, &r->prod.tail.v.pos, 0, sync, r->capacity, want,
	                         behavior, available != NULL, &head, &room, &lost);

	if (tarn_unlikely(lost))
		return tarn__ring_dequeue_mt_slow(r, objs, esize, want, behavior, available);
	if (n != 0)
		TARN__RING_HOOK(&r->cons, 0, TARN__RING_HOOK_HEAD);
	if (n != 0 && tarn_unlikely(!tarn__ring_dequeue_fast(r, head, objs, esize, n, sync)))
		tarn__ring_dequeue_finish(r, head, objs, esize, n, sync);
	if (available != NULL)
		*available = room - n;
	return n;
}

/* Dispatch on the side's mode, read from the ring (same line as the head). */
TARN__RING_INLINE unsigned tarn__ring_enqueue(struct tarn_ring *r, const void *objs, unsigned esize,
                                              unsigned n, int behavior, unsigned *free_space)
{
	switch (r->prod.sync) {
	case TARN_RING_SYNC_ST:
		return tarn__ring_do_enqueue(r, objs, esize, n, behavior, TARN_RING_SYNC_ST,
		                             free_space);
	case TARN_RING_SYNC_RTS:
		return tarn__ring_do_enqueue(r, objs, esize, n, behavior, TARN_RING_SYNC_RTS,
		                             free_space);
	default:
		return tarn__ring_do_enqueue(r, objs, esize, n, behavior, TARN_RING_SYNC_MT,
		                             free_space);
	}
}

TARN__RING_INLINE unsigned tarn__ring_dequeue(struct tarn_ring *r, void *objs, unsigned esize,
                                              unsigned n, int behavior, unsigned *available)
{
	switch (r->cons.sync) {
	case TARN_RING_SYNC_ST:
		return tarn__ring_do_dequeue(r, objs, esize, n, behavior, TARN_RING_SYNC_ST,
		                             available);
	case TARN_RING_SYNC_RTS:
		return tarn__ring_do_dequeue(r, objs, esize, n, behavior, TARN_RING_SYNC_RTS,
		                             available);
	default:
		return tarn__ring_do_dequeue(r, objs, esize, n, behavior, TARN_RING_SYNC_MT,
		                             available);
	}
}

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
