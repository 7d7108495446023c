/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * rx.c - receive.
 *
 * Every descriptor of an RX ring holds one mbuf of the queue's pool: the
 * device writes the virtio-net header into the end of the mbuf's headroom
 * and the frame right after it, at data_off, so the mbuf is handed up as it
 * is, without a copy. A used entry names the descriptor (its id) and the
 * bytes written; with MRG_RXBUF, the header's num_buffers says how many
 * used entries one packet takes, and the extra buffers (frame bytes from
 * their start) are chained as segments. A packet is taken only when all its
 * entries are published.
 *
 * Descriptors whose mbuf went up wait on a stack and get new mbufs in bulk
 * (tarn_pktmbuf_alloc_bulk()) once enough have gathered, or whenever a
 * burst finds nothing, so the ring never starves while the pool has mbufs.
 * The descriptor's address and length are the only things written per
 * buffer; a descriptor keeps its flags (device-writable, no chaining).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "virtio_priv.h"

/* Refill in chunks of this many mbufs (one bulk get each). */
#define RX_REFILL_CHUNK 64

static inline void post(struct vt_rxq *q, uint16_t id, struct tarn_mbuf *m)
{
	struct vt_desc *d = &q->vq.desc[id];
	q->sw[id] = m;
	d->addr = m->buf_iova + TARN_PKTMBUF_HEADROOM - q->hdr_size;
	d->len = q->buf_room;
	q->vq.avail->ring[q->vq.avail_idx++ & q->vq.mask] = id;
}

/* Give every waiting descriptor a new mbuf, as far as the pool allows. */
static void refill(struct vt_rxq *q)
{
	struct tarn_mbuf *m[RX_REFILL_CHUNK];
	bool posted = false;
	while (q->nrefill > 0) {
		unsigned n = q->nrefill < RX_REFILL_CHUNK ? q->nrefill : RX_REFILL_CHUNK;
		if (tarn_pktmbuf_alloc_bulk(q->mp, m, n) != 0) {
			tarn__eth_count(&q->refill_fail, 1);
			tarn__eth_count(&q->stats->nombuf, n);
			break;
		}
		for (unsigned i = 0; i < n; i++)
			post(q, q->refill[--q->nrefill], m[i]);
		posted = true;
	}
	if (posted)
		tarn__vt_publish(&q->vq);
}

/* Take the used entry at `cons`: its mbuf, the bytes written, and its
 * descriptor onto the refill stack. NULL for an entry naming no buffer we
 * posted (a broken device). */
static inline struct tarn_mbuf *take(struct vt_rxq *q, uint16_t cons, uint32_t *len)
{
	const struct vt_used_elem *e = &q->vq.used->ring[cons & q->vq.mask];
	uint32_t id = e->id;
	*len = e->len;
	if (tarn_unlikely(id >= q->vq.size || q->sw[id] == NULL))
		return NULL;
	struct tarn_mbuf *m = q->sw[id];
	q->sw[id] = NULL;
	q->refill[q->nrefill++] = (uint16_t)id;
	return m;
}

/* Chain the extra buffers of a merged packet onto `head`. Returns 0, or -1
 * when one is bad (the caller drops the whole packet). */
static int gather(struct vt_rxq *q, struct tarn_mbuf *head, uint16_t nbuf, uint16_t *cons)
{
	struct tarn_mbuf *last = head;
	int bad = 0;
	for (uint16_t k = 1; k < nbuf; k++) {
		uint32_t len;
		struct tarn_mbuf *s = take(q, (*cons)++, &len);
		if (s == NULL || len == 0 || len > q->buf_room) {
			bad = 1;
			if (s != NULL)
				tarn_pktmbuf_free_seg(s);
			continue;
		}
		if (bad)
			tarn_pktmbuf_free_seg(s);
		else {
			/* Only frame bytes, from the start of the buffer. */
			s->data_off = (uint16_t)(TARN_PKTMBUF_HEADROOM - q->hdr_size);
			s->data_len = (uint16_t)len;
			last->next = s;
			last = s;
			head->nb_segs++;
			head->pkt_len += len;
		}
	}
	return bad ? -1 : 0;
}

uint16_t tarn__vt_rx_burst(void *qd, struct tarn_mbuf **pkts, uint16_t n)
{
	struct vt_rxq *q = qd;
	uint16_t ready = tarn__vt_used_ready(&q->vq);
	uint16_t cons = q->vq.used_cons, nb = 0;
	uint64_t bytes = 0, errors = 0;

	while (nb < n && ready > 0) {
		const struct vt_used_elem *e = &q->vq.used->ring[cons & q->vq.mask];
		uint16_t nbuf = 1;
		if (q->mrg) {
			const struct tarn_mbuf *h = e->id < q->vq.size ? q->sw[e->id] : NULL;
			if (h != NULL) {
				const struct vt_net_hdr *hdr =
				    (const struct vt_net_hdr *)((const uint8_t *)h->buf_addr +
				                                TARN_PKTMBUF_HEADROOM -
				                                q->hdr_size);
				nbuf = hdr->num_buffers ? hdr->num_buffers : 1;
			}
			if (nbuf > ready)
				break; /* the rest of the packet is not published yet */
		}
		uint32_t len;
		struct tarn_mbuf *m = take(q, cons++, &len);
		ready = (uint16_t)(ready - nbuf);
		if (tarn_unlikely(m == NULL || len < q->hdr_size || len > q->buf_room)) {
			if (m != NULL)
				tarn_pktmbuf_free_seg(m);
			for (uint16_t k = 1; k < nbuf; k++) {
				uint32_t l2;
				struct tarn_mbuf *s = take(q, cons++, &l2);
				if (s != NULL)
					tarn_pktmbuf_free_seg(s);
			}
			errors++;
			continue;
		}
		len -= q->hdr_size;
		m->data_len = (uint16_t)len;
		m->pkt_len = len;
		m->port = q->port_id;
		if (tarn_unlikely(nbuf > 1) && gather(q, m, nbuf, &cons) < 0) {
			tarn_pktmbuf_free(m);
			errors++;
			continue;
		}
		tarn__eth_count(&q->size_bins[tarn__vt_size_bin(m->pkt_len)], 1);
		bytes += m->pkt_len;
		pkts[nb++] = m;
	}
	q->vq.used_cons = cons;
	/* Refill in bulk; and whenever the ring gave nothing, so it never
	 * starves after the pool ran dry for a while. */
	if (q->nrefill >= RX_REFILL_CHUNK / 2 || (nb == 0 && q->nrefill > 0))
		refill(q);
	if (nb > 0) {
		tarn__eth_count(&q->stats->packets, nb);
		tarn__eth_count(&q->stats->bytes, bytes);
	}
	if (tarn_unlikely(errors > 0))
		tarn__eth_count(&q->stats->errors, errors);
	return nb;
}

/* ------------------------------------------------------------------------ */
/* Control path */

int tarn__vt_rxq_init(struct vt_rxq *q, const struct vt_hw *hw, const char *name, uint16_t index,
                      uint16_t size, int socket, struct tarn_mempool *mp, uint16_t port_id)
{
	q->mp = mp;
	q->port_id = port_id;
	q->mrg = tarn__vt_has(hw, VT_NET_F_MRG_RXBUF);
	q->hdr_size = q->mrg || tarn__vt_has(hw, VT_F_VERSION_1) ? 12 : 10;
	snprintf(q->name, sizeof(q->name), "%s", name);
	int room = tarn_pktmbuf_data_room_size(mp);
	if (room <= TARN_PKTMBUF_HEADROOM) {
		TARN__ERR(VT_LOG,
		          "%s: RX queue %u: the pool's mbufs have no room after the headroom",
		          hw->name, index);
		return -EINVAL;
	}
	q->buf_room = (uint32_t)room - TARN_PKTMBUF_HEADROOM + q->hdr_size;
	/* The device writes into every mbuf of the pool: each buffer must be
	 * reachable as one range of IOVAs. With IOVA as VA that is a pool in
	 * tarn memory; with physical addresses, also one whose objects do not
	 * cross hugepages (mempool lays them out so). Checked once here, for
	 * each whole object (its buffer is inside), not on the fast path; the
	 * objects are not read: those in the pool are not the caller's (ASan
	 * builds poison them). */
	char why[256];
	const size_t elt = tarn_mempool_elt_size(mp);
	for (unsigned i = 0, n = tarn_mempool_size(mp); i < n; i++) {
		const void *obj = tarn_mempool_obj_at(mp, i);
		if (obj == NULL || tarn_pci_dma_check(hw->pci, obj, elt, why, sizeof(why)) < 0) {
			TARN__ERR(
			    VT_LOG,
			    "%s: RX queue %u: mbuf %u of pool '%s' is not reachable by the device: "
			    "%s",
			    hw->name, index, i, tarn_mempool_name(mp),
			    obj == NULL ? "no such object" : why);
			return -EINVAL;
		}
	}
	int rc = tarn__vt_vq_alloc(&q->vq, hw, name, index, size, socket, 0);
	if (rc < 0)
		return rc;
	q->sw = tarn_malloc_socket(sizeof(*q->sw) * size, 0, socket);
	q->refill = tarn_malloc_socket(sizeof(*q->refill) * size, 0, socket);
	if (q->sw == NULL || q->refill == NULL) {
		TARN__ERR(VT_LOG, "%s: RX queue %u: no memory for its mbuf table", hw->name, index);
		tarn__vt_rxq_fini(q);
		return -ENOMEM;
	}
	/* Descriptors are device-writable single buffers for good. */
	for (uint16_t i = 0; i < size; i++)
		q->vq.desc[i].flags = VT_DESC_F_WRITE;
	return 0;
}

void tarn__vt_rxq_fini(struct vt_rxq *q)
{
	if (q->sw != NULL)
		for (uint16_t i = 0; i < q->vq.size; i++)
			if (q->sw[i] != NULL)
				tarn_pktmbuf_free_seg(q->sw[i]);
	tarn_free(q->sw);
	tarn_free(q->refill);
	q->sw = NULL;
	q->refill = NULL;
	tarn__vt_vq_free(&q->vq);
}

int tarn__vt_rxq_prepare(struct vt_rxq *q)
{
	uint16_t size = q->vq.size, missing = 0;
	tarn__vt_vq_reset(&q->vq);
	for (uint16_t i = 0; i < size; i++)
		missing += q->sw[i] == NULL;
	/* All or nothing, so a failed start leaves the queue as it was. */
	struct tarn_mbuf **m = malloc(sizeof(*m) * (missing ? missing : 1));
	if (m == NULL)
		return -ENOMEM;
	if (missing > 0 && tarn_pktmbuf_alloc_bulk(q->mp, m, missing) != 0) {
		free(m);
		return -ENOBUFS;
	}
	uint16_t k = 0;
	q->nrefill = 0;
	for (uint16_t i = 0; i < size; i++) {
		q->vq.desc[i].flags = VT_DESC_F_WRITE;
		q->vq.desc[i].next = 0;
		struct tarn_mbuf *mb = q->sw[i] != NULL ? q->sw[i] : m[k++];
		/* A kept mbuf may hold an old frame's lengths: only its buffer
		 * matters, the burst rewrites the rest. */
		post(q, i, mb);
	}
	free(m);
	/* The device is not running yet: the index is read at its start. */
	__atomic_store_n(&q->vq.avail->idx, q->vq.avail_idx, __ATOMIC_RELEASE);
	return 0;
}
