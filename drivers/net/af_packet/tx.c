/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tx.c - af_packet transmit (fast path).
 *
 * tx=mmsg (default): one sendmmsg() per burst (up to AFP_MMSG_BATCH packets
 * per call) straight from the mbufs, an iovec per segment, no copy in user
 * space. tx=ring: a TPACKET_V2 transmit ring with PACKET_LOSS (the kernel
 * skips a frame it cannot send instead of stopping the ring): each packet is
 * copied into a free frame, and one sendto(MSG_DONTWAIT) per burst kicks the
 * kernel. On veth, sendmmsg() costs less CPU per packet than the ring
 * (docs/drivers/af_packet.md has the figures): the ring's skbs point into
 * the ring's pages (a page reference per packet, a destructor giving the
 * frame back), where sendmmsg() copies a small packet into the skb.
 *
 * Both modes insert the VLAN/QinQ tags TARN_MBUF_F_TX_VLAN / TX_QINQ ask for
 * and free the mbufs the kernel took. A packet the interface cannot carry
 * (shorter than an Ethernet header, longer than the frame or than MTU + 14,
 * + 4 when its first tag is 802.1Q) is taken, freed and counted as an error.
 * What the kernel does not take (sendmmsg() stopped early: socket buffer
 * full; tx=ring: ring full) stays with the caller and counts as errors, as
 * every refused packet. When the interface is down or gone the packets stay
 * with the caller, TX returns 0 and counts them as errors (tx=ring: the
 * burst's frames are taken back, and later bursts first check with an empty
 * kick).
 *
 * Only the queue's polling thread runs these functions; q->mtu is read
 * relaxed (mtu_set may change it while the port runs: either value is fine).
 */
#include <errno.h>
#include <string.h>
#include <sys/uio.h>

#include "afp_priv.h"

/* A transmit frame the kernel is done with (timestamp flags aside). */
static inline int tx_frame_free(uint32_t status)
{
	return (status & ~(TP_STATUS_TS_SOFTWARE | TP_STATUS_TS_RAW_HARDWARE)) ==
	       TP_STATUS_AVAILABLE;
}

/* sendto() errors that leave the frames queued for the next kick. */
static inline int kick_soft_error(int err)
{
	return err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS || err == EINTR;
}

/* Copy packet `m` (any chain) into `dst`, inserting its TX_VLAN / TX_QINQ
 * tags after the addresses. The caller checked the lengths. */
static void tx_copy_slow(uint8_t *dst, const struct tarn_mbuf *m, unsigned ntags)
{
	uint32_t off = 0;

	if (ntags != 0) {
		const void *p = tarn_pktmbuf_read(m, 0, 2 * TARN_ETHER_ADDR_LEN, dst);
		if (p != dst)
			memcpy(dst, p, 2 * TARN_ETHER_ADDR_LEN);
		tarn__eth_tx_tags(dst + 2 * TARN_ETHER_ADDR_LEN, m, ntags);
		off = 2 * TARN_ETHER_ADDR_LEN;
		dst += 2 * TARN_ETHER_ADDR_LEN + ntags * TARN__ETH_VLAN_HLEN;
	}
	/* The rest, segment by segment from `off`. */
	for (const struct tarn_mbuf *s = m; s != NULL; s = s->next) {
		if (off >= s->data_len) {
			off -= s->data_len;
			continue;
		}
		const uint32_t c = s->data_len - off;
		memcpy(dst, tarn_pktmbuf_mtod_offset(s, const uint8_t *, off), c);
		dst += c;
		off = 0;
	}
}

/* A packet longer than MTU + 14: the kernel takes it only when its (first)
 * Ethernet type is 802.1Q, and 4 bytes more at most (packet_snd /
 * tpacket_snd: packet_extra_vlan_len_allowed). A QinQ insertion puts 802.1ad
 * first, so it gets no extra room. */
static int tx_len_ok_tagged(const struct tarn_mbuf *m, uint32_t len, uint32_t mtu, unsigned ntags)
{
	uint8_t b[2];

	if (len > mtu + AFP_ETH_HLEN + AFP_VLAN_HLEN || ntags == 2)
		return 0;
	if (ntags == 1)
		return 1;
	const uint8_t *p = tarn_pktmbuf_read(m, 2 * TARN_ETHER_ADDR_LEN, 2, b);
	return p != NULL && ((uint32_t)p[0] << 8 | p[1]) == AFP_TPID_8021Q;
}

/* Length on the wire of packet `m` with the tags it asks for (`*ntags`), or
 * 0 when the interface cannot carry it. */
static inline uint32_t tx_wire_len(const struct afp_txq *q, const struct tarn_mbuf *m, uint32_t mtu,
                                   unsigned *ntags)
{
	const unsigned nt = tarn__eth_tx_ntags(m);
	const uint32_t len = m->pkt_len + nt * AFP_VLAN_HLEN;

	*ntags = nt;
	if (tarn_unlikely(len < AFP_ETH_HLEN || len > q->max_data ||
	                  (len > mtu + AFP_ETH_HLEN && !tx_len_ok_tagged(m, len, mtu, nt))))
		return 0;
	return len;
}

/* Log once that the interface takes nothing (down or gone). */
static void tx_log_down(struct afp_txq *q, int err)
{
	if (q->err_logged)
		return;
	q->err_logged = 1;
	TARN__WARN(AFP_LOG,
	           "port %u TX queue %u: interface %s does not take packets (%s): bursts "
	           "return 0 and count errors until it does",
	           (unsigned)q->port_id, (unsigned)q->queue_id, q->ifname, strerror(err));
}

/* --- tx=ring: TPACKET_V2 transmit ring, one sendto() kick per burst --- */

/* Kick with nothing queued: 0 if the interface takes packets again. */
static int tx_probe(struct afp_txq *q)
{
	if (sendto(q->s.fd, NULL, 0, MSG_DONTWAIT, NULL, 0) < 0 && !kick_soft_error(errno))
		return -1;
	q->down = 0;
	return 0;
}

/*
 * tx=ring: copy each packet into the next free frame, mark it for sending,
 * and kick the kernel once for the burst. A full ring stops the burst; a
 * kick the interface refuses takes the frames back (the packets stay the
 * caller's).
 */
static uint16_t tx_ring(struct afp_txq *q, struct tarn_mbuf **pkts, uint16_t n)
{
	if (tarn_unlikely(q->down) && tx_probe(q) < 0) {
		tarn__eth_count(&q->stats->errors, n);
		return 0;
	}
	/* relaxed: a value mtu_set may change while we run; either is fine */
	const uint32_t mtu = __atomic_load_n(&q->mtu, __ATOMIC_RELAXED);
	const uint32_t first = q->cur;
	uint32_t cur = first;
	uint16_t i, queued = 0;
	uint64_t bytes = 0, bad = 0;

	for (i = 0; i < n; i++) {
		const struct tarn_mbuf *m = pkts[i];
		struct tpacket2_hdr *h = (struct tpacket2_hdr *)q->s.frames[cur];
		unsigned ntags;

		if (tarn_unlikely(!tx_frame_free(tarn__afp_ld_acquire(&h->tp_status))))
			break; /* ring full */
		const uint32_t len = tx_wire_len(q, m, mtu, &ntags);
		if (tarn_unlikely(len == 0)) {
			bad++; /* taken and freed below, counted as an error */
			continue;
		}
		uint8_t *dst = (uint8_t *)h + AFP_TX_DATAOFF;
		if (tarn_likely(ntags == 0 && m->next == NULL))
			memcpy(dst, tarn_pktmbuf_mtod(m, const void *), len);
		else
			tx_copy_slow(dst, m, ntags);
		h->tp_len = len;
		h->tp_snaplen = len;
		tarn__afp_st_release(&h->tp_status, TP_STATUS_SEND_REQUEST);
		bytes += len;
		queued++;
		if (++cur == q->nb_frames)
			cur = 0;
	}
	if (tarn_likely(queued != 0) && sendto(q->s.fd, NULL, 0, MSG_DONTWAIT, NULL, 0) < 0) {
		const int err = errno;
		if (!kick_soft_error(err)) {
			/* Interface down or gone: the kernel took nothing (it checks
			 * the device before the first frame). Take the frames back;
			 * the packets stay the caller's. */
			for (uint32_t k = 0, f = first; k < queued; k++) {
				uint32_t *stp = &((struct tpacket2_hdr *)q->s.frames[f])->tp_status;
				if (*stp == TP_STATUS_SEND_REQUEST)
					*stp = TP_STATUS_AVAILABLE;
				f = f + 1 == q->nb_frames ? 0 : f + 1;
			}
			q->down = 1;
			tx_log_down(q, err);
			tarn__eth_count(&q->stats->errors, n);
			return 0;
		}
		/* Soft (socket buffer full): the frames stay queued and go with
		 * the next kick. */
	}
	q->cur = cur;
	tarn_pktmbuf_free_bulk(pkts, i);
	tarn__eth_count_burst(q->stats, queued, bytes, bad + (uint64_t)(n - i), 0);
	return i;
}

/* --- tx=mmsg (default): sendmmsg() straight from the mbufs --- */

/* Append iovecs for bytes [from, to) of the chain `m`. -1 when more than
 * `max` iovecs would be needed. */
static int iov_range(const struct tarn_mbuf *m, uint32_t from, uint32_t to, struct iovec *iov,
                     unsigned *niov, unsigned max)
{
	uint32_t pos = 0;

	for (; m != NULL && pos < to; m = m->next) {
		const uint32_t a = pos, b = pos + m->data_len;
		pos = b;
		if (b <= from || m->data_len == 0)
			continue;
		const uint32_t lo = a < from ? from : a, hi = b < to ? b : to;
		if (*niov == max)
			return -1;
		iov[*niov].iov_base = tarn_pktmbuf_mtod_offset(m, uint8_t *, lo - a);
		iov[*niov].iov_len = hi - lo;
		(*niov)++;
	}
	return 0;
}

/* mmsg_set() for a chain or a packet with tags. */
static int mmsg_set_slow(struct afp_txq *q, unsigned k, const struct tarn_mbuf *m, unsigned ntags)
{
	struct iovec *iov = &q->iov[k * AFP_MMSG_MAXIOV];
	unsigned niov = 0;

	if (ntags == 0) {
		if (iov_range(m, 0, m->pkt_len, iov, &niov, AFP_MMSG_MAXIOV) < 0)
			return -1;
	} else {
		uint8_t *t = q->tags[k];
		const uint32_t a = 2 * TARN_ETHER_ADDR_LEN;
		tarn__eth_tx_tags(t, m, ntags);
		if (iov_range(m, 0, a, iov, &niov, AFP_MMSG_MAXIOV - 1) < 0)
			return -1;
		iov[niov].iov_base = t;
		iov[niov].iov_len = ntags * AFP_VLAN_HLEN;
		niov++;
		if (iov_range(m, a, m->pkt_len, iov, &niov, AFP_MMSG_MAXIOV) < 0)
			return -1;
	}
	q->msgs[k].msg_hdr.msg_iov = iov;
	q->msgs[k].msg_hdr.msg_iovlen = niov;
	return 0;
}

/* Describe packet `m` as message `k` of the batch. -1 when it has too many
 * segments for one message. */
static inline int mmsg_set(struct afp_txq *q, unsigned k, const struct tarn_mbuf *m, unsigned ntags)
{
	if (tarn_likely(ntags == 0 && m->next == NULL)) {
		struct iovec *iov = &q->iov[k * AFP_MMSG_MAXIOV];
		iov->iov_base = tarn_pktmbuf_mtod(m, void *);
		iov->iov_len = m->data_len;
		q->msgs[k].msg_hdr.msg_iov = iov;
		q->msgs[k].msg_hdr.msg_iovlen = 1;
		return 0;
	}
	return mmsg_set_slow(q, k, m, ntags);
}

/*
 * tx=mmsg: the packets as messages of sendmmsg() calls of at most
 * AFP_MMSG_BATCH, straight from the mbufs; a packet the interface cannot
 * carry is skipped (taken, an error). Where the kernel stops taking, the
 * rest stays with the caller.
 */
static uint16_t tx_mmsg(struct afp_txq *q, struct tarn_mbuf **pkts, uint16_t n)
{
	/* relaxed: a value mtu_set may change while we run; either is fine */
	const uint32_t mtu = __atomic_load_n(&q->mtu, __ATOMIC_RELAXED);
	uint16_t i = 0, taken = 0;
	uint64_t sent = 0, bytes = 0, bad = 0;
	uint64_t bad_at[AFP_MMSG_BATCH]; /* bad packets before each message */

	while (i < n) {
		unsigned k = 0;
		/* One batch: the next packets, the bad ones skipped (taken). */
		while (i < n && k < AFP_MMSG_BATCH) {
			const struct tarn_mbuf *m = pkts[i];
			unsigned ntags;
			if (tarn_unlikely(tx_wire_len(q, m, mtu, &ntags) == 0) ||
			    tarn_unlikely(mmsg_set(q, k, m, ntags) < 0)) {
				bad++;
				i++;
				continue;
			}
			q->msg_pkt[k] = i;
			bad_at[k] = bad;
			k++;
			i++;
		}
		if (k == 0) {
			taken = i;
			break;
		}
		const int r = sendmmsg(q->s.fd, q->msgs, k, MSG_DONTWAIT);
		const unsigned ok = r > 0 ? (unsigned)r : 0;
		for (unsigned j = 0; j < ok; j++)
			bytes += q->msgs[j].msg_len;
		sent += ok;
		if (tarn_likely(ok == k)) {
			taken = i;
			continue;
		}
		/* The kernel refused message `ok`: it and what follows stay the
		 * caller's (socket buffer full, or the interface down or gone). */
		if (r < 0 && !kick_soft_error(errno))
			tx_log_down(q, errno);
		taken = q->msg_pkt[ok];
		bad = bad_at[ok];
		break;
	}
	tarn_pktmbuf_free_bulk(pkts, taken);
	tarn__eth_count_burst(q->stats, sent, bytes, bad + (uint64_t)(n - taken), 0);
	return taken;
}

/* The TX burst of struct tarn__eth_driver. */
uint16_t tarn__afp_tx_burst(void *qd, struct tarn_mbuf **pkts, uint16_t n)
{
	struct afp_txq *q = qd;

	if (tarn_unlikely(n == 0))
		return 0;
	return q->ring_mode ? tx_ring(q, pkts, n) : tx_mmsg(q, pkts, n);
}