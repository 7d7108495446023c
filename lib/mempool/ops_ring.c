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
 * holds all `n` objects (TARN_RING_F_EXACT_SZ; see ring_alloc() for RTS), so
 * an enqueue the pool makes always fits. An RTS ring publishes a finished
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
 * Capacity. MT and ST rings release slots in order as operations finish, so
 * `n` slots always hold the `n` objects. An RTS ring releases the slots of a
 * finished dequeue only when every dequeue in flight has finished, so objects
 * already handed out (and maybe put back) can still occupy slots: up to the
 * consumer's head-tail distance (htd_max + the largest operation, at most
 * n). An RTS store therefore gets 2n slots, and its puts never fail.
 */
static int ring_alloc(struct tarn_mempool *mp, unsigned flags)
{
	char name[TARN_NAME_SIZE];
	tarn__mp_sub_name(name, tarn__mp(mp)->id, mp->name);
	uint64_t count = mp->size;
	if (flags & TARN_RING_F_MC_RTS_DEQ)
		count *= 2;
	if (count >= TARN_RING_SIZE_MAX)
		return -ENOMEM;
	struct tarn_ring *r = tarn_ring_create(name, (unsigned)count, tarn__mp(mp)->socket,
	                                       flags | TARN_RING_F_EXACT_SZ);
	if (r == NULL)
		return -(int)tarn_errno;
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

#define RING_OPS(NAME, FLAGS, ENQ, DEQ)                                                            \
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
	};

RING_OPS(ring_mp_mc, 0, tarn_ring_mp_enqueue_bulk, tarn_ring_mc_dequeue_bulk)
RING_OPS(ring_sp_sc, TARN_RING_F_SP_ENQ | TARN_RING_F_SC_DEQ, tarn_ring_sp_enqueue_bulk,
         tarn_ring_sc_dequeue_bulk)
RING_OPS(ring_sp_mc, TARN_RING_F_SP_ENQ, tarn_ring_sp_enqueue_bulk, tarn_ring_mc_dequeue_bulk)
RING_OPS(ring_mp_sc, TARN_RING_F_SC_DEQ, tarn_ring_mp_enqueue_bulk, tarn_ring_sc_dequeue_bulk)
RING_OPS(ring_rts, TARN_RING_F_MP_RTS_ENQ | TARN_RING_F_MC_RTS_DEQ, tarn_ring_mp_rts_enqueue_bulk,
         tarn_ring_mc_rts_dequeue_bulk)
