/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * umem.c - a tarn mbuf pool as the UMEM of an AF_XDP socket: where its
 * objects lie (the layout that maps an mbuf to its UMEM address and to its
 * index in the pool, and back), the bitmaps of the frames the kernel holds,
 * getting every one of them back at stop, and the UMEM registration.
 *
 * Control path only (start and stop, under the ethdev control mutex); the
 * fast path uses the layout through the inline functions of axdp_priv.h.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "axdp_priv.h"
#include "tarn_mem.h"

/* ------------------------------------------------------------------------ */
/* Layout */

static int is_pow2(uint64_t v)
{
	return v != 0 && (v & (v - 1)) == 0;
}

/*
 * A pool made page by page (no memory for it in one piece) has `per`
 * objects per hugepage, the pages a power of two apart: find them, so that
 * an object's index is its page's first index plus its place in the page.
 */
static int layout_pages(struct axdp_layout *l, struct tarn_mempool *mp, uint32_t stride,
                        const char *port)
{
	uint32_t per = 1;

	while (per < l->n &&
	       (uintptr_t)tarn_mempool_obj_at(mp, per) == l->obj0 + (uintptr_t)per * stride)
		per++;
	const uintptr_t chunk = (uintptr_t)tarn_mempool_obj_at(mp, per) - l->obj0;
	if (!is_pow2(chunk)) {
		TARN__ERR(AXDP_LOG, "port '%s': pool '%s': unexpected object layout", port,
		          tarn_mempool_name(mp));
		return -EINVAL;
	}
	l->per_chunk = per;
	l->chunk_shift = (uint32_t)__builtin_ctzll(chunk);
	return 0;
}

/* Check the mapping on the objects around every boundary it has. */
static int layout_probe(const struct axdp_layout *l, struct tarn_mempool *mp, uintptr_t end,
                        const char *port)
{
	const uint32_t n = l->n;
	const uint32_t probe[] = { 0,
		                   1,
		                   n / 2,
		                   n - 1,
		                   l->per_chunk ? l->per_chunk - 1 : 0,
		                   l->per_chunk ? l->per_chunk : 0 };

	for (unsigned i = 0; i < TARN_ARRAY_SIZE(probe); i++) {
		const uint32_t k = probe[i] < n ? probe[i] : n - 1;
		const void *o = tarn_mempool_obj_at(mp, k);
		if (tarn__axdp_idx(l, o) != k || (uintptr_t)o + l->buf_off >= end) {
			TARN__ERR(AXDP_LOG, "port '%s': pool '%s': object %u does not map back",
			          port, tarn_mempool_name(mp), k);
			return -EINVAL;
		}
	}
	return 0;
}

/* Zero copy: the driver DMAs into the frames, so a frame must not cross a
 * boundary between hugepages that are not physically adjacent. */
static int layout_zc_ok(const struct axdp_layout *l, struct tarn_mempool *mp)
{
	const struct tarn_memzone *mz = tarn_mempool_memzone(mp);
	const uint64_t pg = mz->page_size;
	const int room = tarn_pktmbuf_data_room_size(mp);

	if (pg <= (uint64_t)sysconf(_SC_PAGESIZE) || !tarn_mem_iova_is_pa())
		return 0;
	for (uint32_t i = 0; i < l->n; i++) {
		const uintptr_t a = (uintptr_t)tarn_mempool_obj_at(mp, i) + l->buf_off;
		const uintptr_t z = a + (uintptr_t)room - 1;
		if (a / pg == z / pg)
			continue;
		const tarn_iova_t ia = tarn_mem_virt2iova((void *)a);
		const tarn_iova_t iz = tarn_mem_virt2iova((void *)z);
		if (ia == TARN_BAD_IOVA || iz == TARN_BAD_IOVA || iz - ia != z - a)
			return 0;
	}
	return 1;
}

int tarn__axdp_layout_init(struct axdp_layout *l, struct tarn_mempool *mp, const char *port,
                           int *zc_ok)
{
	const struct tarn_memzone *mz = tarn_mempool_memzone(mp);
	const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	const uint32_t stride = tarn_mempool_obj_stride(mp);
	const int priv = tarn_pktmbuf_priv_size(mp);

	memset(l, 0, sizeof(*l));
	l->n = tarn_mempool_size(mp);
	if (mz == NULL || l->n == 0 || stride == 0 || priv < 0) {
		TARN__ERR(AXDP_LOG, "port '%s': pool '%s' is not an mbuf pool in tarn memory", port,
		          tarn_mempool_name(mp));
		return -EINVAL;
	}
	/* The UMEM: whole pages, from the one that holds the memzone's start
	 * through the one that holds its end. */
	const uintptr_t start = (uintptr_t)mz->addr & ~(page - 1);
	const uintptr_t end = ((uintptr_t)mz->addr + mz->len + page - 1) & ~(page - 1);
	l->umem = (uint8_t *)start;
	l->umem_len = end - start;
	l->obj0 = (uintptr_t)tarn_mempool_obj_at(mp, 0);
	l->buf_off = (uint32_t)(sizeof(struct tarn_mbuf) + (unsigned)priv);
	/* index = offset / stride, as (offset >> shift) * inverse of the odd
	 * factor mod 2^64 (Newton: each step doubles the correct low bits). */
	l->shift = (uint32_t)__builtin_ctz(stride);
	const uint64_t odd = stride >> l->shift;
	uint64_t inv = odd;
	for (int i = 0; i < 6; i++)
		inv *= 2 - odd * inv;
	l->inv = inv;

	const uintptr_t last = (uintptr_t)tarn_mempool_obj_at(mp, l->n - 1);
	if (last != l->obj0 + (uintptr_t)(l->n - 1) * stride &&
	    layout_pages(l, mp, stride, port) < 0)
		return -EINVAL;
	if (layout_probe(l, mp, end, port) < 0)
		return -EINVAL;
	*zc_ok = layout_zc_ok(l, mp);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Frames the kernel holds */

int tarn__axdp_bits_alloc(struct tarn__eth_dev *dev, struct axdp_rxq *rxq, struct axdp_txq *txq)
{
	const size_t bytes = (rxq->lay.n + 63u) / 64u * sizeof(uint64_t);

	rxq->kbits = tarn_malloc_socket(bytes, 0, rxq->socket);
	if (txq != NULL)
		txq->kbits = tarn_malloc_socket(bytes, 0, txq->socket);
	if (rxq->kbits == NULL || (txq != NULL && txq->kbits == NULL)) {
		TARN__ERR(AXDP_LOG, "port '%s': queue %u: out of memory", dev->name,
		          (unsigned)rxq->queue_id);
		return -ENOMEM;
	}
	return 0;
}

/* Put back every object whose bit is set in `bits` (and clear them). */
static unsigned reclaim(struct tarn_mempool *mp, const struct axdp_layout *l, uint64_t *bits)
{
	void *objs[AXDP_BULK];
	unsigned nobj = 0, total = 0;

	if (bits == NULL)
		return 0;
	for (uint32_t w = 0; w < (l->n + 63) / 64; w++) {
		while (bits[w] != 0) {
			const uint32_t b = (uint32_t)__builtin_ctzll(bits[w]);
			bits[w] &= bits[w] - 1;
			objs[nobj++] = tarn_mempool_obj_at(mp, w * 64 + b);
			total++;
			if (nobj == AXDP_BULK) {
				tarn_mempool_put_bulk(mp, objs, nobj);
				nobj = 0;
			}
		}
	}
	if (nobj != 0)
		tarn_mempool_put_bulk(mp, objs, nobj);
	return total;
}

void tarn__axdp_frames_back(struct tarn__eth_dev *dev, struct axdp_rxq *rxq, struct axdp_txq *txq,
                            int keep)
{
	if (!keep) {
		unsigned r = reclaim(rxq->mp, &rxq->lay, rxq->kbits);
		if (txq != NULL)
			r += reclaim(txq->mp, &txq->lay, txq->kbits);
		TARN__DEBUG(AXDP_LOG, "port '%s': queue %u: %u frames back from the kernel",
		            dev->name, rxq->dev_queue, r);
		tarn_free(rxq->kbits);
		if (txq != NULL)
			tarn_free(txq->kbits);
	}
	/* keep: the objects stay out of the pool, and the bitmaps, which name
	 * them, are not freed either (a leak, logged by the caller). */
	rxq->kbits = NULL;
	if (txq != NULL)
		txq->kbits = NULL;
}

/* ------------------------------------------------------------------------ */
/* Registration */

static int umem_error(const struct tarn__eth_dev *dev, const struct axdp_rxq *q, int rc)
{
	if (rc == -ENOMEM || rc == -EPERM)
		TARN__ERR(AXDP_LOG,
		          "port '%s': queue %u: cannot register pool '%s' (%llu KiB) as UMEM: %s: "
		          "the kernel pins the pool's pages; raise RLIMIT_MEMLOCK (ulimit -l) or "
		          "run with CAP_IPC_LOCK (root)",
		          dev->name, (unsigned)q->queue_id, tarn_mempool_name(q->mp),
		          (unsigned long long)(q->lay.umem_len >> 10), strerror(-rc));
	else
		TARN__ERR(AXDP_LOG, "port '%s': queue %u: cannot register pool '%s' as UMEM: %s",
		          dev->name, (unsigned)q->queue_id, tarn_mempool_name(q->mp),
		          strerror(-rc));
	return rc;
}

int tarn__axdp_umem_create(struct tarn__eth_dev *dev, struct axdp_rxq *rxq, struct axdp_txq *txq)
{
	const struct xsk_umem_config ucfg = {
		.fill_size = rxq->ring_size,
		.comp_size = txq != NULL ? txq->ring_size : 32,
		.frame_size = rxq->chunk,
		.frame_headroom = 0,
		.flags = XDP_UMEM_UNALIGNED_CHUNK_FLAG,
	};
	int rc = xsk_umem__create(&rxq->umem, rxq->lay.umem, rxq->lay.umem_len, &rxq->fq,
	                          txq != NULL ? &txq->cq : &rxq->cq_spare, &ucfg);
	if (rc < 0) {
		rxq->umem = NULL;
		return umem_error(dev, rxq, rc);
	}
	return 0;
}
