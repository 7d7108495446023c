/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * rx.c - af_xdp receive (fast path): a received packet is handed out as the
 * mbuf whose data room the kernel wrote it into, without a copy.
 *
 * RX takes descriptors from the RX ring and writes the first cache line of
 * their mbufs (rearm word, lengths, port, flags cleared). The fill ring is
 * topped up in bulk from the pool (raw gets: nothing of the mbuf is touched
 * until it is received) once AXDP_FILL_BATCH frames are owed, and on every
 * burst that finds the RX ring empty while frames are owed, so a queue that
 * ran out of mbufs recovers as soon as the pool has some again. Frames the
 * pool could not give are counted once in rx_nombuf. Kernel drops (no frame,
 * RX ring full) come from XDP_STATISTICS as imissed, read every
 * AXDP_STATS_POLLS bursts and at stop.
 *
 * Only the queue's polling thread runs these functions (and the control
 * path at start and stop, with the port stopped). The rings' producer and
 * consumer words are libxdp's, with the acquire/release pairs it documents.
 */
#include <string.h>
#include <sys/socket.h>

#include "axdp_priv.h"

void tarn__axdp_rx_sync(struct axdp_rxq *q)
{
	struct xdp_statistics st;

	q->polls = 0;
	if (tarn__axdp_xsk_stats(q->fd, &st) != 0)
		return;
	/* rx_dropped: no frame in the fill ring (or too long); rx_ring_full: no
	 * room in the RX ring. Both are packets the queue missed. */
	const uint64_t missed = st.rx_dropped + st.rx_ring_full;
	const uint64_t errs = st.rx_invalid_descs;
	if (missed > q->k_missed)
		tarn__eth_count(&q->stats->missed, missed - q->k_missed);
	if (errs > q->k_errors)
		tarn__eth_count(&q->stats->errors, errs - q->k_errors);
	q->k_missed = missed;
	q->k_errors = errs;
}

/*
 * Post the owed frames to the fill ring, in bulk from the pool. The fill
 * ring has room: the kernel holds nb_desc - owed frames and the ring holds
 * at least nb_desc entries.
 */
void tarn__axdp_rx_refill(struct axdp_rxq *q)
{
	void *objs[AXDP_BULK];
	uint32_t want = q->owed;
	int failed = 0;

	while (want > 0 && !failed) {
		uint32_t k = want < AXDP_BULK ? want : AXDP_BULK, idx;

		if (tarn_unlikely(tarn_mempool_get_bulk(q->mp, objs, k) != 0)) {
			/* Not k left: take what there is. */
			uint32_t j = 0;
			while (j < k && tarn_mempool_get(q->mp, &objs[j]) == 0)
				j++;
			failed = 1;
			k = j;
			if (k == 0)
				break;
		}
		if (tarn_unlikely(xsk_ring_prod__reserve(&q->fq, k, &idx) != k)) {
			tarn_mempool_put_bulk(q->mp, objs, k); /* cannot happen (see above) */
			break;
		}
		for (uint32_t i = 0; i < k; i++) {
			*xsk_ring_prod__fill_addr(&q->fq, idx + i) =
			    tarn__axdp_addr(&q->lay, objs[i]);
			tarn__axdp_bit_set(q->kbits, tarn__axdp_idx(&q->lay, objs[i]));
		}
		/* release: the addresses are written before the kernel sees them */
		xsk_ring_prod__submit(&q->fq, k);
		want -= k;
	}
	q->owed = want;
	if (want < q->starved)
		q->starved = want;
	if (failed && want > q->starved) {
		tarn__eth_count(&q->stats->nombuf, want - q->starved);
		q->starved = want;
	}
	if (q->fill_wakeup && xsk_ring_prod__needs_wakeup(&q->fq))
		(void)recvfrom(q->fd, NULL, 0, MSG_DONTWAIT, NULL, NULL);
}

uint16_t tarn__axdp_rx_burst(void *qd, struct tarn_mbuf **pkts, uint16_t n)
{
	struct axdp_rxq *q = qd;
	uint32_t idx = 0, k = 0, bad = 0;
	uint64_t bytes = 0;
	const uint32_t got = xsk_ring_cons__peek(&q->rx, n, &idx);

	for (uint32_t i = 0; i < got; i++) {
		const struct xdp_desc *d = xsk_ring_cons__rx_desc(&q->rx, idx + i);
		const uint64_t off = xsk_umem__extract_offset(d->addr);
		struct tarn_mbuf *m = tarn__axdp_mbuf(&q->lay, d->addr);
		const uint32_t oi = tarn__axdp_idx(&q->lay, m);

		if (tarn_unlikely(oi >= q->lay.n || !tarn__axdp_bit_take(q->kbits, oi))) {
			bad++; /* not a frame of ours: leave it alone */
			continue;
		}
		if (tarn_unlikely(off + d->len > q->chunk)) {
			bad++;
			q->owed++; /* ours again: back to the pool, replaced below */
			tarn_mempool_put(q->mp, m);
			continue;
		}
		/* refcnt 1 and nb_segs 1 (as every free mbuf), the port, data_off */
		m->rearm_data = q->rearm | off;
		m->ol_flags = 0;
		m->packet_type = 0;
		m->pkt_len = d->len;
		m->data_len = (uint16_t)d->len;
		m->vlan_tci = 0;
		m->vlan_tci_outer = 0;
		m->next = NULL;
		pkts[k++] = m;
		bytes += d->len;
	}
	if (got != 0) {
		/* release: done reading the descriptors */
		xsk_ring_cons__release(&q->rx, got);
		q->owed += got - bad;
	}
	if (q->owed >= q->batch || (got == 0 && q->owed != 0))
		tarn__axdp_rx_refill(q);
	if (got == 0 && q->busy_poll != 0)
		(void)recvfrom(q->fd, NULL, 0, MSG_DONTWAIT, NULL, NULL);
	if (tarn_unlikely(++q->polls >= AXDP_STATS_POLLS))
		tarn__axdp_rx_sync(q);
	tarn__eth_count_burst(q->stats, k, bytes, bad, 0);
	return (uint16_t)k;
}
