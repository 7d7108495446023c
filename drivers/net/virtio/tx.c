/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tx.c - transmit.
 *
 * A packet is posted as it is: each segment is a descriptor pointing at the
 * segment's data (its IOVA), so nothing is copied. The virtio-net header
 * (no offloads: zeros) goes in front:
 *   - pushed into the headroom, sharing the first descriptor, when the
 *     device takes any layout (VERSION_1 or ANY_LAYOUT) and the packet is
 *     one direct, unshared segment with room before its data: one
 *     descriptor per packet, the common case;
 *   - otherwise in a header slot of the queue's own memory (one zeroed slot
 *     per descriptor, never written again), as a descriptor of its own
 *     chained before the segments: chains, clones and shared mbufs are sent
 *     this way without touching their buffers.
 * Descriptors come from a free list; the chain head names the packet. When
 * the device has used a chain (its used entry), its descriptors go back to
 * the list and the packet is freed (in bulk). That reclaim runs at the start
 * of a burst when fewer than a quarter of the descriptors are free, and
 * again when a burst finds the ring full.
 *
 * A segment whose buffer the device cannot reach (not tarn memory, or not
 * physical with uio) is refused with its packet: the range of the last
 * segment found good is cached, so the check costs two compares.
 */
#include <stdio.h>
#include <string.h>

#include "virtio_priv.h"

#define TX_FREE_CHUNK 64

/* Give the descriptors of used chains back and free their packets. */
static void reclaim(struct vt_txq *q)
{
	struct vt_vq *vq = &q->vq;
	uint16_t ready = tarn__vt_used_ready(vq);
	struct tarn_mbuf *done[TX_FREE_CHUNK];
	unsigned nd = 0;
	while (ready-- > 0) {
		const struct vt_used_elem *e = &vq->used->ring[vq->used_cons++ & vq->mask];
		uint16_t head = (uint16_t)e->id;
		if (tarn_unlikely(head >= vq->size || q->sw[head] == NULL))
			continue; /* a broken device: nothing of ours */
		uint16_t n = q->ndesc[head], tail = head;
		for (uint16_t k = 1; k < n; k++)
			tail = vq->desc[tail].next;
		vq->desc[tail].next = vq->free_head;
		vq->free_head = head;
		vq->nfree = (uint16_t)(vq->nfree + n);
		done[nd++] = q->sw[head];
		q->sw[head] = NULL;
		if (nd == TX_FREE_CHUNK) {
			tarn_pktmbuf_free_bulk(done, nd);
			nd = 0;
		}
	}
	if (nd > 0)
		tarn_pktmbuf_free_bulk(done, nd);
}

/* Can the device reach this segment's buffer? */
static inline bool dma_ok(struct vt_txq *q, const struct tarn_mbuf *s)
{
	const uintptr_t a = (uintptr_t)s->buf_addr, z = a + s->buf_len;
	if (tarn_likely(a >= q->ok_lo && z <= q->ok_hi && ((a ^ (z - 1)) & q->ok_cross) == 0))
		return true;
	if (s->buf_iova == TARN_BAD_IOVA ||
	    tarn_pci_dma_check(q->pci, s->buf_addr, s->buf_len, NULL, 0) < 0)
		return false;
	/* Good: remember its whole segment. */
	struct tarn_pci_dma_region r;
	if (tarn_pci_dma_region(q->pci, s->buf_addr, &r) == 0) {
		q->ok_lo = (uintptr_t)r.start;
		q->ok_hi = (uintptr_t)r.start + r.len;
		q->ok_cross = r.boundary ? ~(uintptr_t)(r.boundary - 1) : 0;
	}
	return true;
}

enum post_rc { POSTED, RING_FULL, REFUSED };

/* Post one packet. */
static inline enum post_rc post(struct vt_txq *q, struct tarn_mbuf *m, uint64_t *bytes)
{
	struct vt_vq *vq = &q->vq;
	const uint16_t hdr = q->hdr_size;
	struct vt_desc *d = vq->desc;
	if (tarn_likely(q->can_push && m->nb_segs == 1 && m->next == NULL && m->mbuf_flags == 0 &&
	                tarn_mbuf_refcnt_read(m) == 1 && m->data_off >= hdr)) {
		if (tarn_unlikely(vq->nfree == 0))
			return RING_FULL;
		if (tarn_unlikely(!dma_ok(q, m)))
			return REFUSED;
		uint16_t id = vq->free_head;
		vq->free_head = d[id].next;
		vq->nfree--;
		uint8_t *h = (uint8_t *)m->buf_addr + m->data_off - hdr;
		memset(h, 0, hdr);
		d[id].addr = m->buf_iova + m->data_off - hdr;
		d[id].len = (uint32_t)m->data_len + hdr;
		d[id].flags = 0;
		q->sw[id] = m;
		q->ndesc[id] = 1;
		vq->avail->ring[vq->avail_idx++ & vq->mask] = id;
		*bytes += m->pkt_len;
		tarn__eth_count(&q->size_bins[tarn__vt_size_bin(m->pkt_len)], 1);
		return POSTED;
	}
	/* A header descriptor, then one per segment. The chain is walked
	 * first: every segment reachable, and as many as nb_segs says (the
	 * descriptors are counted from it). */
	uint32_t segs = 0;
	for (const struct tarn_mbuf *s = m; s != NULL; s = s->next) {
		if (tarn_unlikely(++segs > m->nb_segs || !dma_ok(q, s)))
			return REFUSED;
	}
	if (tarn_unlikely(segs != m->nb_segs || segs + 1 > vq->size))
		return REFUSED;
	uint16_t need = (uint16_t)(segs + 1);
	if (need > vq->nfree)
		return RING_FULL;
	uint16_t head = vq->free_head, id = head;
	d[id].addr = q->hdrs_iova + (uint64_t)id * sizeof(struct vt_net_hdr);
	d[id].len = hdr;
	d[id].flags = VT_DESC_F_NEXT;
	for (const struct tarn_mbuf *s = m; s != NULL; s = s->next) {
		id = d[id].next;
		d[id].addr = s->buf_iova + s->data_off;
		d[id].len = s->data_len;
		d[id].flags = s->next != NULL ? VT_DESC_F_NEXT : 0;
	}
	vq->free_head = d[id].next;
	vq->nfree = (uint16_t)(vq->nfree - need);
	q->sw[head] = m;
	q->ndesc[head] = need;
	vq->avail->ring[vq->avail_idx++ & vq->mask] = head;
	*bytes += m->pkt_len;
	tarn__eth_count(&q->size_bins[tarn__vt_size_bin(m->pkt_len)], 1);
	return POSTED;
}

uint16_t tarn__vt_tx_burst(void *qd, struct tarn_mbuf **pkts, uint16_t n)
{
	struct vt_txq *q = qd;
	uint64_t bytes = 0;
	uint16_t nb = 0;

	if (q->vq.nfree < q->free_thresh)
		reclaim(q);
	for (; nb < n; nb++) {
		enum post_rc rc = post(q, pkts[nb], &bytes);
		if (tarn_likely(rc == POSTED))
			continue;
		if (rc == RING_FULL) {
			/* Reclaim once and try again before giving the rest back. */
			reclaim(q);
			rc = post(q, pkts[nb], &bytes);
			if (rc == POSTED)
				continue;
		}
		if (rc == REFUSED)
			tarn__eth_count(&q->refused_dma, 1);
		else
			tarn__eth_count(&q->full, 1);
		break;
	}
	if (nb > 0) {
		tarn__vt_publish(&q->vq);
		tarn__eth_count(&q->stats->packets, nb);
		tarn__eth_count(&q->stats->bytes, bytes);
	}
	if (tarn_unlikely(nb < n))
		tarn__eth_count(&q->stats->errors, (uint64_t)(n - nb));
	return nb;
}

/* ------------------------------------------------------------------------ */
/* Control path */

int tarn__vt_txq_init(struct vt_txq *q, const struct vt_hw *hw, const char *name, uint16_t index,
                      uint16_t size, int socket, const struct tarn_pci_device *pci)
{
	q->pci = pci;
	q->hdr_size =
	    tarn__vt_has(hw, VT_NET_F_MRG_RXBUF) || tarn__vt_has(hw, VT_F_VERSION_1) ? 12 : 10;
	q->can_push = tarn__vt_has(hw, VT_F_VERSION_1) || tarn__vt_has(hw, VT_F_ANY_LAYOUT);
	q->free_thresh = (uint16_t)(size / 4 ? size / 4 : 1);
	snprintf(q->name, sizeof(q->name), "%s", name);
	size_t hdrs = sizeof(struct vt_net_hdr) * size;
	int rc = tarn__vt_vq_alloc(&q->vq, hw, name, index, size, socket, hdrs);
	if (rc < 0)
		return rc;
	q->hdrs = (uint8_t *)q->vq.desc + tarn__vt_ring_bytes(size, NULL, NULL);
	q->hdrs_iova = tarn_mem_virt2iova(q->hdrs);
	memset(q->hdrs, 0, hdrs);
	q->sw = tarn_malloc_socket(sizeof(*q->sw) * size, 0, socket);
	q->ndesc = tarn_malloc_socket(sizeof(*q->ndesc) * size, 0, socket);
	if (q->sw == NULL || q->ndesc == NULL) {
		TARN__ERR(VT_LOG, "%s: TX queue %u: no memory for its mbuf table", hw->name, index);
		tarn__vt_txq_fini(q);
		return -ENOMEM;
	}
	return 0;
}

void tarn__vt_txq_reset(struct vt_txq *q)
{
	/* The device was reset: whatever it did not send is dropped. */
	unsigned dropped = 0;
	for (uint16_t i = 0; q->sw != NULL && i < q->vq.size; i++) {
		if (q->sw[i] != NULL) {
			tarn_pktmbuf_free(q->sw[i]);
			q->sw[i] = NULL;
			dropped++;
		}
	}
	if (dropped > 0)
		TARN__DEBUG(VT_LOG, "%s: %u packet%s still in the ring at stop, freed", q->name,
		            dropped, dropped == 1 ? "" : "s");
	if (q->vq.desc != NULL)
		tarn__vt_vq_reset(&q->vq);
}

void tarn__vt_txq_fini(struct vt_txq *q)
{
	tarn__vt_txq_reset(q);
	tarn_free(q->sw);
	tarn_free(q->ndesc);
	q->sw = NULL;
	q->ndesc = NULL;
	tarn__vt_vq_free(&q->vq);
}
