/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ops_ring.c - stores on a tarn ring of exactly `n` pointers.
 *
 *   ring_mp_mc  any number of threads put and get (the default)
 *   ring_sp_sc  one thread at a time puts, one thread at a time gets
 *   ring_sp_mc  one putter, any number of getters
 *   ring_mp_sc  any number of putters, one getter
 *   ring_rts    any number of threads, relaxed tail sync (the ring's RTS
 *               mode): stays fast when threads outnumber cores, because a
 *               preempted thread does not stall the others
 *
 * Each op function calls the ring function of its mode by name, so the
 * mode is fixed at compile time (no dispatch on the ring's flags). The ring
 * holds all `n` objects (TARN_RING_F_EXACT_SZ; an RTS ring 2n + n/4, proved
 * at ring_alloc()), so an enqueue the pool makes always fits. An RTS ring publishes a finished
 * enqueue only when every enqueue in flight has finished: a get may then see
 * fewer objects than were put, for a moment (the reserve accounting waits
 * for them, see store_get() in cache.c). Progress: as the ring's MT mode (lock-free head moves; a
 * preempted thread delays the tail publication of later ones of its side), RTS
 * mode (lock-free; nobody waits for a preempted thread) or ST mode
 * (wait-free).
 */
#include "mempool_priv.h"
#include "tarn_ring.h"

/*
 * Capacity: a put into the store must never be refused (the pool hands the
 * store at most the objects it does not hold, see tarn_mempool_ops).
 *
 * MT and ST rings: a consumer returns its objects only after its slots are
 * released in order (an MT consumer waits for the earlier ones before it
 * publishes), so every slot between the consumer tail T and the producer
 * head P holds an object that is not handed out: P - T <= n, and `n`
 * slots always take a put.
 *
 * RTS rings: a consumer hands its objects out as soon as it has copied
 * them, but the consumer tail only moves when the LAST consumer in flight
 * finishes. With one consumer preempted after its head move, the slots
 * between T and the consumer head H stay taken while their objects come
 * back and are put again. The bound, with h = the consumer side's htd_max
 * and k the objects of a put:
 *
 *   P - T + k = (P - H) + (H - T) + k
 *
 * - (P - H) + k <= n: the slots between H and P hold objects that are in
 *   the store or being put, all distinct from the k (the pool puts only
 *   objects it does not hold), and there are n objects.
 * - H - T <= h + n: H - T grows only by a consumer's head move (T only
 *   moves forward). A move from H0 succeeds only after H0 - T' <= h was
 *   seen with T' <= T (the tail read is at most stale, never ahead, and the
 *   compare-and-swap fails if H moved meanwhile), and it takes m <= n
 *   objects (no more are published). So after it H - T <= h + m <= h + n,
 *   and any later move first waits until H - T <= h again. (One consumer
 *   can overshoot h; DPDK's RTS mode, which bounds only the distance before
 *   the move, has the same property.)
 *
 * So P - T + k <= 2n + h: the ring gets capacity 2n + h, with h fixed here
 * (ceil(n / 4), about what the ring's default capacity / 8 gave the old 2n
 * ring) and never changed afterwards (the pool does not expose the ring's
 * tarn_ring_set_htd_max()). The earlier capacity of 2n assumed H - T <= n
 * and lost objects: a consumer preempted after taking 1, a get of h - 1
 * (H - T = h, still allowed to start), a put of those, a get of n - 1 and
 * its put needed 2n + h - 2 slots (tests/mempool, MempoolPreempt.RtsStore*).
 */
static int ring_alloc(struct tarn_mempool *mp, unsigned flags)
{
	char name[TARN_NAME_SIZE];
	tarn__mp_sub_name(name, tarn__mp(mp)->id, mp->name);
	uint64_t count = mp->size;
	uint32_t htd = 0;
	if (flags & TARN_RING_F_MC_RTS_DEQ) {
		htd = (uint32_t)((mp->size + 3ull) / 4);
		count = 2ull * mp->size + htd;
	}
	if (count >= TARN_RING_SIZE_MAX)
		return -ENOMEM;
	struct tarn_ring *r = tarn_ring_create(name, (unsigned)count, tarn__mp(mp)->socket,
	                                       flags | TARN_RING_F_EXACT_SZ);
	if (r == NULL)
		return -(int)tarn_errno;
	if ((flags & TARN_RING_F_MC_RTS_DEQ) && tarn_ring_set_htd_max(r, UINT32_MAX, htd) != 0) {
		tarn_ring_free(r);
		return -EINVAL;
	}
	mp->store = r;
	return 0;
}

static void ring_free(struct tarn_mempool *mp)
{
	tarn_ring_free(mp->store);
	mp->store = NULL;
}

static unsigned ring_count(const struct tarn_mempool *mp)
{
	return tarn_ring_count(mp->store);
}

static int ring_check(const struct tarn_mempool *mp)
{
	return tarn_ring_check(mp->store) == 0 ? 0 : -EUCLEAN;
}

#define RING_OPS(NAME, FLAGS, ENQ, DEQ, CAPS)                                                      \
	static int NAME##_alloc(struct tarn_mempool *mp)                                           \
	{                                                                                          \
		return ring_alloc(mp, FLAGS);                                                      \
	}                                                                                          \
	static int NAME##_enqueue(struct tarn_mempool *mp, void *const *objs, unsigned n)          \
	{                                                                                          \
		return ENQ(mp->store, objs, n, NULL) == n ? 0 : -ENOBUFS;                          \
	}                                                                                          \
	static int NAME##_dequeue(struct tarn_mempool *mp, void **objs, unsigned n)                \
	{                                                                                          \
		return DEQ(mp->store, objs, n, NULL) == n ? 0 : -ENOBUFS;                          \
	}                                                                                          \
	const struct tarn_mempool_ops tarn__mp_ops_##NAME = {                                      \
		.name = #NAME,                                                                     \
		.alloc = NAME##_alloc,                                                             \
		.free = ring_free,                                                                 \
		.enqueue = NAME##_enqueue,                                                         \
		.dequeue = NAME##_dequeue,                                                         \
		.count = ring_count,                                                               \
		.check = ring_check,                                                               \
		.flags = CAPS,                                                                     \
	};

RING_OPS(ring_mp_mc, 0, tarn_ring_mp_enqueue_bulk, tarn_ring_mc_dequeue_bulk,
         TARN_MEMPOOL_OPS_F_RING_MPMC)
RING_OPS(ring_sp_sc, TARN_RING_F_SP_ENQ | TARN_RING_F_SC_DEQ, tarn_ring_sp_enqueue_bulk,
         tarn_ring_sc_dequeue_bulk, TARN_MEMPOOL_OPS_F_SP)
RING_OPS(ring_sp_mc, TARN_RING_F_SP_ENQ, tarn_ring_sp_enqueue_bulk, tarn_ring_mc_dequeue_bulk,
         TARN_MEMPOOL_OPS_F_SP)
RING_OPS(ring_mp_sc, TARN_RING_F_SC_DEQ, tarn_ring_mp_enqueue_bulk, tarn_ring_sc_dequeue_bulk, 0)
RING_OPS(ring_rts, TARN_RING_F_MP_RTS_ENQ | TARN_RING_F_MC_RTS_DEQ, tarn_ring_mp_rts_enqueue_bulk,
         tarn_ring_mc_rts_dequeue_bulk, 0)
