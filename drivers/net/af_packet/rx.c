/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * rx.c - af_packet receive (fast path): packets are copied from the ring the
 * kernel fills into mbufs of the queue's pool.
 *
 * Each packet goes into an mbuf (chained mbufs when it does not fit in one)
 * and its slot goes back to the kernel at once, so the ring never waits for
 * the application. TPACKET_V2 (default): one frame per packet, handed over
 * as soon as it is written. TPACKET_V3 (rxring=v3): packets packed in
 * blocks, a block handed over when full or after its timeout, given back
 * when every packet of it is read.
 *
 * A VLAN tag the kernel stripped (always, on Linux) comes back as vlan_tci +
 * TARN_MBUF_F_RX_VLAN | RX_VLAN_STRIPPED when its TPID is 0x8100; a tag with
 * another TPID (802.1ad) is put back into the data, since the mbuf cannot
 * say which TPID it had. When the pool is empty the packets stay in the
 * ring (the kernel drops what no longer fits, counted as missed) and
 * rx_nombuf grows by the number of packets that waited. Kernel drops
 * (PACKET_STATISTICS) are read when the ring flags them (TP_STATUS_LOSING),
 * every AFP_STATS_POLLS bursts and at stop.
 *
 * Only the queue's polling thread runs these functions; the ring's status
 * words are the only memory shared with the kernel (afp_priv.h names the
 * ordering).
 */
#include <string.h>

#include "afp_priv.h"

/* Allocate up to `want` mbufs into pkts: all at once, else as many as the
 * pool gives. Returns how many. */
static inline unsigned rx_alloc(struct afp_rxq *q, struct tarn_mbuf **pkts, unsigned want)
{
	if (tarn_likely(tarn_pktmbuf_alloc_bulk(q->mp, pkts, want) == 0))
		return want;
	unsigned k = 0;
	while (k < want && (pkts[k] = tarn_pktmbuf_alloc(q->mp)) != NULL)
		k++;
	return k;
}

/*
 * Copy `len` bytes made of up to three pieces (the packet data, possibly cut
 * after the addresses for a VLAN tag to go back in) into the mbuf `head`,
 * chaining more mbufs of the queue's pool when it does not fit. Returns 0,
 * or -ENOBUFS with `head` back to an empty one-segment mbuf.
 */
static int rx_copy_slow(struct afp_rxq *q, struct tarn_mbuf *head, const uint8_t *data,
                        uint32_t len, const uint8_t *tag)
{
	const uint8_t *part[3];
	uint32_t plen[3], np = 0;

	if (tag != NULL && len >= 2 * TARN_ETHER_ADDR_LEN) {
		part[0] = data, plen[0] = 2 * TARN_ETHER_ADDR_LEN;
		part[1] = tag, plen[1] = AFP_VLAN_HLEN;
		part[2] = data + plen[0], plen[2] = len - plen[0];
		np = 3;
	} else {
		part[0] = data, plen[0] = len;
		np = 1;
	}
	struct tarn_mbuf *m = head;
	uint32_t total = 0, left = tarn_pktmbuf_tailroom(m);
	uint8_t *dst = tarn_pktmbuf_mtod(m, uint8_t *);
	for (uint32_t i = 0; i < np; i++) {
		const uint8_t *src = part[i];
		uint32_t rem = plen[i];
		while (rem > 0) {
			if (left == 0) {
				struct tarn_mbuf *s = tarn_pktmbuf_alloc(q->mp);
				if (s == NULL) {
					tarn_pktmbuf_free(head->next);
					head->next = NULL;
					head->nb_segs = 1;
					head->data_len = 0;
					head->pkt_len = 0;
					return -ENOBUFS;
				}
				m->next = s;
				m = s;
				head->nb_segs++;
				left = tarn_pktmbuf_tailroom(m);
				dst = tarn_pktmbuf_mtod(m, uint8_t *);
			}
			uint32_t c = rem < left ? rem : left;
			memcpy(dst, src, c);
			dst += c, src += c, rem -= c, left -= c;
			m->data_len = (uint16_t)(m->data_len + c);
			total += c;
		}
	}
	head->pkt_len = total;
	return 0;
}

/*
 * Fill mbuf `m` with one received packet. Returns 0, or -ENOBUFS (the
 * packet needed more mbufs than the pool had; `m` is still an empty mbuf).
 */
static inline int rx_fill(struct afp_rxq *q, struct tarn_mbuf *m, const uint8_t *data, uint32_t len,
                          uint32_t status, uint16_t tci, uint16_t tpid)
{
	m->port = q->port_id;
	if (tarn_unlikely(status & TP_STATUS_VLAN_VALID)) {
		if ((status & TP_STATUS_VLAN_TPID_VALID) && tpid != AFP_TPID_8021Q && tpid != 0) {
			/* Not an 802.1Q tag: put it back where it was. */
			const uint8_t tag[AFP_VLAN_HLEN] = { (uint8_t)(tpid >> 8), (uint8_t)tpid,
				                             (uint8_t)(tci >> 8), (uint8_t)tci };
			return rx_copy_slow(q, m, data, len, tag);
		}
		m->vlan_tci = tci;
		m->ol_flags |= TARN_MBUF_F_RX_VLAN | TARN_MBUF_F_RX_VLAN_STRIPPED;
	}
	if (tarn_likely(len <= q->room)) {
		memcpy(tarn_pktmbuf_mtod(m, void *), data, len);
		m->data_len = (uint16_t)len;
		m->pkt_len = len;
		return 0;
	}
	return rx_copy_slow(q, m, data, len, NULL);
}

/* Add the kernel's drop counter (read and reset by PACKET_STATISTICS) to
 * missed. Polling thread, or the control path with the port stopping. */
void tarn__afp_rx_sync_drops(struct afp_rxq *q)
{
	struct tpacket_stats_v3 st; /* a tpacket_stats followed by one more counter */
	socklen_t sl = q->v3 ? sizeof(st) : sizeof(struct tpacket_stats);

	q->polls = 0;
	memset(&st, 0, sizeof(st));
	if (q->s.fd >= 0 && getsockopt(q->s.fd, SOL_PACKET, PACKET_STATISTICS, &st, &sl) == 0 &&
	    st.tp_drops != 0)
		tarn__eth_count(&q->stats->missed, st.tp_drops);
}

/* The socket said the packet is one it sent out (only without
 * PACKET_IGNORE_OUTGOING). */
static inline int rx_is_outgoing(const void *hdr, size_t hdr_size)
{
	const struct sockaddr_ll *sll =
	    (const struct sockaddr_ll *)((const uint8_t *)hdr + TPACKET_ALIGN(hdr_size));
	return sll->sll_pkttype == PACKET_OUTGOING;
}

/* What a burst saw, counted once at its end (rx_end()). */
struct rx_tally {
	uint64_t bytes, errors, nombuf;
	uint32_t losing; /* the slots' status bits, or-ed: TP_STATUS_LOSING */
};

/*
 * One slot of the ring: its packet into `m`. The slot's header `h` (of
 * `hsize` bytes) says the status `st`, the packet's captured and real
 * lengths and the stripped VLAN tag. Returns 1 when `m` holds the packet, 0
 * when the slot gave none (truncated: an error; our own transmission seen
 * without PACKET_IGNORE_OUTGOING; no mbuf for a chain: nombuf).
 */
static inline int rx_slot(struct afp_rxq *q, struct tarn_mbuf *m, const void *h, size_t hsize,
                          uint32_t mac, uint32_t snaplen, uint32_t len, uint32_t st, uint16_t tci,
                          uint16_t tpid, struct rx_tally *t)
{
	t->losing |= st;
	if (tarn_unlikely(len != snaplen)) {
		t->errors++; /* longer than the frame: truncated by the kernel */
		return 0;
	}
	if (tarn_unlikely(q->skip_outgoing && rx_is_outgoing(h, hsize)))
		return 0;
	if (tarn_likely(rx_fill(q, m, (const uint8_t *)h + mac, snaplen, st, tci, tpid) == 0)) {
		t->bytes += m->pkt_len;
		return 1;
	}
	t->nombuf++;
	return 0;
}

/* End of a burst that allocated `got` mbufs and filled `nb`: the spare ones
 * go back, the counters are added, the kernel's drops read when the ring
 * flagged some or every AFP_STATS_POLLS bursts. */
static inline uint16_t rx_end(struct afp_rxq *q, struct tarn_mbuf **pkts, uint16_t nb, unsigned got,
                              const struct rx_tally *t)
{
	if (tarn_unlikely(nb < got))
		tarn_pktmbuf_free_bulk(pkts + nb, got - nb);
	tarn__eth_count_burst(q->stats, nb, t->bytes, t->errors, t->nombuf);
	if (tarn_unlikely((t->losing & TP_STATUS_LOSING) || ++q->polls >= AFP_STATS_POLLS))
		tarn__afp_rx_sync_drops(q);
	return nb;
}

/* Frames ready from q->cur on (they are in cache for the copy), at most
 * `max`. */
static inline uint32_t rx_v2_ready(const struct afp_rxq *q, uint32_t max)
{
	uint32_t i = q->cur, ready = 0;

	while (ready < max) {
		const struct tpacket2_hdr *h = (const struct tpacket2_hdr *)q->s.frames[i];
		if (!(tarn__afp_ld_acquire(&h->tp_status) & TP_STATUS_USER))
			break;
		ready++;
		if (++i == q->nb_slots)
			i = 0;
	}
	return ready;
}

/* TPACKET_V2: the frames ready, one packet each; an mbuf per frame is
 * allocated first, and a frame whose packet has no mbuf waits in the ring. */
static uint16_t rx_v2(struct afp_rxq *q, struct tarn_mbuf **pkts, uint16_t n)
{
	const uint32_t nb_slots = q->nb_slots;
	const uint32_t ready = rx_v2_ready(q, n < nb_slots ? n : nb_slots);
	struct rx_tally t = { 0, 0, 0, 0 };

	if (ready == 0) {
		if (tarn_unlikely(++q->polls >= AFP_STATS_POLLS))
			tarn__afp_rx_sync_drops(q);
		return 0;
	}
	const unsigned got = rx_alloc(q, pkts, ready);
	if (tarn_unlikely(got < ready))
		tarn__eth_count(&q->stats->nombuf, ready - got);

	uint16_t nb = 0;
	uint32_t used = 0, i = q->cur;
	while (used < ready && nb < got) {
		struct tpacket2_hdr *h = (struct tpacket2_hdr *)q->s.frames[i];
		const uint32_t next = i + 1 == nb_slots ? 0 : i + 1;

		if (used + 1 < ready)
			__builtin_prefetch(q->s.frames[next] + AFP_V2_MACOFF);
		nb +=
		    (uint16_t)rx_slot(q, pkts[nb], h, sizeof(*h), h->tp_mac, h->tp_snaplen,
		                      h->tp_len, h->tp_status, h->tp_vlan_tci, h->tp_vlan_tpid, &t);
		tarn__afp_st_release(&h->tp_status, TP_STATUS_KERNEL);
		used++;
		i = next;
	}
	q->cur = i;
	return rx_end(q, pkts, nb, got, &t);
}

/* Block `b` of a TPACKET_V3 ring. */
static inline struct tpacket_block_desc *v3_block(const struct afp_rxq *q, uint32_t b)
{
	return (struct tpacket_block_desc *)(q->s.ring + (size_t)b * q->block_size);
}

/* Give the current block back to the kernel and move to the next. */
static inline void v3_block_done(struct afp_rxq *q, struct tpacket_block_desc *b)
{
	tarn__afp_st_release(&b->hdr.bh1.block_status, TP_STATUS_KERNEL);
	q->cur = q->cur + 1 == q->nb_slots ? 0 : q->cur + 1;
}

/* Open the next block if the kernel has handed it over: 1, or 0 (none). */
static inline int v3_block_open(struct afp_rxq *q)
{
	for (;;) {
		struct tpacket_block_desc *b = v3_block(q, q->cur);
		if (!(tarn__afp_ld_acquire(&b->hdr.bh1.block_status) & TP_STATUS_USER))
			return 0;
		q->blk_left = b->hdr.bh1.num_pkts;
		q->blk_pkt = (uint8_t *)b + b->hdr.bh1.offset_to_first_pkt;
		if (tarn_likely(q->blk_left != 0))
			return 1;
		v3_block_done(q, b); /* an empty block (retired by its timer) */
	}
}

/* TPACKET_V3: packets of the open block, then of the next ones; mbufs are
 * allocated at most a block's remaining packets at a time. */
static uint16_t rx_v3(struct afp_rxq *q, struct tarn_mbuf **pkts, uint16_t n)
{
	struct rx_tally t = { 0, 0, 0, 0 };
	uint16_t nb = 0;
	unsigned got = 0;

	while (nb < n) {
		if (q->blk_left == 0 && !v3_block_open(q))
			break;
		if (nb == got) {
			const unsigned want =
			    (unsigned)(n - nb) < q->blk_left ? (unsigned)(n - nb) : q->blk_left;
			const unsigned k = rx_alloc(q, pkts + got, want);
			got += k;
			t.nombuf += want - k;
			if (k == 0)
				break;
		}
		struct tpacket3_hdr *h = (struct tpacket3_hdr *)q->blk_pkt;
		if (q->blk_left > 1)
			__builtin_prefetch(q->blk_pkt + h->tp_next_offset + AFP_V3_MACOFF);
		nb += (uint16_t)rx_slot(q, pkts[nb], h, sizeof(*h), h->tp_mac, h->tp_snaplen,
		                        h->tp_len, h->tp_status, h->hv1.tp_vlan_tci,
		                        h->hv1.tp_vlan_tpid, &t);
		q->blk_pkt += h->tp_next_offset;
		if (--q->blk_left == 0) /* every packet of the block read */
			v3_block_done(q, v3_block(q, q->cur));
	}
	return rx_end(q, pkts, nb, got, &t);
}

/* The RX burst of struct tarn__eth_driver. */
uint16_t tarn__afp_rx_burst(void *qd, struct tarn_mbuf **pkts, uint16_t n)
{
	struct afp_rxq *q = qd;

	if (tarn_unlikely(n == 0))
		return 0;
	return q->v3 ? rx_v3(q, pkts, n) : rx_v2(q, pkts, n);
}
