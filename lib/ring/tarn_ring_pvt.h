/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tarn_ring_pvt.h - the ring's internals, included by tarn_ring.h (never on
 * its own): the inline fast path that tarn_ring.h's enqueue and dequeue
 * calls expand to, with its slow paths. Installed with tarn_ring.h because
 * the inline calls need it; not part of the API (everything here is tarn__
 * or TARN__ and may change without notice).
 *
 * The slow paths are static noinline, so every object that uses a ring
 * call has its own copy of them (in libtarn, 14 clones of 6 functions):
 * defined once in the library instead, they cost the inlined loops 0.2 to
 * 0.4 instructions per element at bulk 8 and 32 (the compiler no longer
 * knows which registers they clobber nor their constant arguments), so
 * they stay here.
 */
#ifndef TARN_RING_PVT_H
#define TARN_RING_PVT_H

#ifndef TARN_RING_H
#error "include tarn_ring.h, not tarn_ring_pvt.h"
#endif

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

/* One spin-wait hint to the CPU. */
static inline void tarn__ring_pause(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ volatile("yield" ::: "memory");
#endif
}

/* Wait politely: pause, and after TARN_RING_SPINS_BEFORE_YIELD rounds give
 * the CPU away (the thread we wait for is probably preempted). */
static inline __attribute__((cold)) void tarn__ring_relax(unsigned *spins)
{
	if (tarn_likely(++*spins < TARN_RING_SPINS_BEFORE_YIELD)) {
		tarn__ring_pause();
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
 * made after the copy, right before the publication (as DPDK's ring does);
 * without contention the tail is already there and it is one load and one
 * fused compare-and-jump. When it is not there yet, the wait and the
 * publication are done out of line (tarn__ring_publish_mt_wait()), so no
 * value of the inline path lives across the call.
 *
 * Why after the copy: with two threads on two cores taking objects in bulk
 * and putting them back a few at a time (the uncached two-lcore mempool
 * rows of docs/performance.md), the copy's cache misses (slots the other
 * core has just written) then overlap the wait for the other thread's
 * publication instead of following it. Measured in an MP/MC ring loop
 * (dequeue 32, then 32 enqueues of 1; two vCPUs; variants alternating in
 * one process), million objects/s: check and wait before the copy 21,
 * check after it 29, DPDK's ring (which checks after the copy too) 29;
 * when the host placed the vCPUs further apart, 3.8, 5.0 and 5.3, and 5.1
 * with the check right after the head move but the copy done before
 * waiting: the order of copy and wait counts, not where the check is.
 * Waits per ring operation 0.67 against 0.46, pause rounds 1.4 against
 * 0.6. A prefetch for ownership of the slot before waiting did not
 * recover it. One thread: the same instruction counts per object in the
 * uncached one-lcore mempool rows (scripts/bench-insns.py).
 */
TARN__RING_INLINE int tarn__ring_turn_mt(const struct tarn_ring_headtail *ht, uint32_t old_tail)
{
	/* A_TW: pairs with the R_PT / R_CT of the operations that reserved
	 * before us: their slot accesses happen before our R_PT / R_CT, which
	 * a plain store would otherwise not carry along */
	return __atomic_load_n(&ht->tail.v.pos, __ATOMIC_ACQUIRE) == old_tail;
}

/* Most pause rounds of the back-off after a wait (see below). */
#define TARN__RING_BACKOFF_MAX 64u

/*
 * MT, out of line: wait until the operations of side `ht` that reserved
 * before ours (old tail `old_tail`) have published, publish up to
 * `new_tail`, then back off: pause about as many rounds as the wait took
 * (at least one, at most TARN__RING_BACKOFF_MAX) before the caller's next
 * operation.
 *
 * Why the back-off: a wait means another thread of the side reserved right
 * behind or ahead of us and the two are interleaving operation by
 * operation. Each head move then takes the side's line from the other
 * core, and the other core takes it back to publish, so most operations
 * wait for a publication and every wait costs line transfers. Pausing
 * after our publication lets the other thread finish its next operation
 * (head move, copy, publication) on a line it holds, and the two threads
 * drift into runs of operations instead of alternating. Measured with two
 * threads on the two vCPUs, each dequeuing 4 eight times then enqueuing 32
 * on one MP/MC ring (the pattern of the mempool row cache=0 lcores=2 get=4
 * put=32 keep=32), alternating with DPDK's ring in one process: waits per
 * operation 0.25-0.35 without the back-off, 0.04-0.12 with it; tarn/DPDK
 * 0.93-1.13 -> 1.01-1.24 where a cache line round trip between the vCPUs
 * takes ~50 ns, 0.58-0.98 -> 1.14-2.22 where the host placed them ~250 ns
 * apart (docs/performance.md, "Where the rows stand"). A prefetch of the
 * slots before the head move, or keeping the value a lost
 * compare-and-swap returned, did not reduce the waits. The rounds counted
 * include those that yielded the CPU; the cap keeps the back-off short
 * after a long wait for a preempted thread.
 * One thread never waits, so the single-lcore rows are unchanged.
 */
static __attribute__((noinline, cold, unused)) void
tarn__ring_wait_publish_mt(struct tarn_ring_headtail *ht, uint32_t old_tail, uint32_t new_tail)
{
	unsigned spins = 0, rounds = 0;

	/* A_TW, as in tarn__ring_turn_mt() */
	while (!tarn__ring_turn_mt(ht, old_tail)) {
		tarn__ring_relax(&spins);
		rounds++;
	}
	tarn__ring_update_tail(ht, new_tail);
	if (rounds > TARN__RING_BACKOFF_MAX - 1)
		rounds = TARN__RING_BACKOFF_MAX - 1;
	for (unsigned i = 0; i <= rounds; i++)
		tarn__ring_pause();
}

/* MT, out of line: the copy of `n` elements from position `head` is done
 * but earlier operations of the side (`is_prod`, a constant) have not
 * published yet; wait for them, publish, back off. (The ring rather than
 * the side's address, and `n` rather than the new tail: the inline path
 * then keeps no extra value alive across its copy loop, and needs no extra
 * callee-saved register to push and pop on every call.) */
static __attribute__((noinline, unused)) void
tarn__ring_publish_mt_wait(struct tarn_ring *r, int is_prod, uint32_t head, uint32_t n)
{
	tarn__ring_wait_publish_mt(is_prod ? &r->prod : &r->cons, head, head + n);
}

/* -- RTS. */

/* Wait until the head is at most `htd_max` ahead of the tail; return the
 * head read after the wait. Out of line, as tarn__ring_wait_publish_mt(). */
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
 * - the rest of it (copy, wait, publish), when the elements wrap around
 *   the end of the slot array (any mode; once per round of the ring at
 *   most);
 * - the wait and the publication (tarn__ring_publish_mt_wait()), when the
 *   copy is done but the operations of the side that reserved before ours
 *   have not published yet (MT).
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
	tarn__ring_copy_in(r, head, objs, esize, n);
	TARN__RING_HOOK(&r->prod, 1, TARN__RING_HOOK_TAIL);
	if (sync == TARN_RING_SYNC_RTS)
		tarn__ring_update_tail_rts(&r->prod);
	else if (sync == TARN_RING_SYNC_MT && !tarn__ring_turn_mt(&r->prod, head))
		tarn__ring_wait_publish_mt(&r->prod, head, head + n);
	else
		tarn__ring_update_tail(&r->prod, head + n);
}

static __attribute__((noinline, unused)) void tarn__ring_dequeue_finish(struct tarn_ring *r,
                                                                        uint32_t head, void *objs,
                                                                        unsigned esize, uint32_t n,
                                                                        int sync)
{
	tarn__ring_copy_out(r, head, objs, esize, n);
	TARN__RING_HOOK(&r->cons, 0, TARN__RING_HOOK_TAIL);
	if (sync == TARN_RING_SYNC_RTS)
		tarn__ring_update_tail_rts(&r->cons);
	else if (sync == TARN_RING_SYNC_MT && !tarn__ring_turn_mt(&r->cons, head))
		tarn__ring_wait_publish_mt(&r->cons, head, head + n);
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
 * go in blocks when they do not wrap. A wrap is the finish above; a wait
 * for earlier operations of the side (MT) is tarn__ring_publish_mt_wait().
 * Returns 0 when the caller must call the finish instead (nothing copied).
 */
TARN__RING_INLINE int tarn__ring_enqueue_fast(struct tarn_ring *r, uint32_t head, const void *objs,
                                              unsigned esize, uint32_t n, int sync)
{
	const uint32_t idx = head & r->mask;
	uint8_t *slot = tarn__ring_slots(r) + (size_t)idx * esize;

	if (tarn_likely(n == 1))
		tarn__ring_copy_one(slot, (const uint8_t *)objs, esize);
	else if (tarn_likely(n <= r->size - idx))
		tarn__ring_copy(slot, (const uint8_t *)objs, esize, n);
	else
		return 0;
	TARN__RING_HOOK(&r->prod, 1, TARN__RING_HOOK_TAIL);
	if (sync == TARN_RING_SYNC_RTS)
		tarn__ring_update_tail_rts(&r->prod);
	else if (sync == TARN_RING_SYNC_MT && tarn_unlikely(!tarn__ring_turn_mt(&r->prod, head)))
		tarn__ring_publish_mt_wait(r, 1, head, n);
	else
		tarn__ring_update_tail(&r->prod, head + n);
	return 1;
}

TARN__RING_INLINE int tarn__ring_dequeue_fast(struct tarn_ring *r, uint32_t head, void *objs,
                                              unsigned esize, uint32_t n, int sync)
{
	const uint32_t idx = head & r->mask;
	const uint8_t *slot = tarn__ring_slots(r) + (size_t)idx * esize;

	if (tarn_likely(n == 1))
		tarn__ring_copy_one((uint8_t *)objs, slot, esize);
	else if (tarn_likely(n <= r->size - idx))
		tarn__ring_copy((uint8_t *)objs, slot, esize, n);
	else
		return 0;
	TARN__RING_HOOK(&r->cons, 0, TARN__RING_HOOK_TAIL);
	if (sync == TARN_RING_SYNC_RTS)
		tarn__ring_update_tail_rts(&r->cons);
	else if (sync == TARN_RING_SYNC_MT && tarn_unlikely(!tarn__ring_turn_mt(&r->cons, head)))
		tarn__ring_publish_mt_wait(r, 0, head, n);
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

#endif /* TARN_RING_PVT_H */
