/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tx.c - af_xdp transmit (fast path).
 *
 * TX sends an mbuf of the UMEM's pool as it is (zero copy) when it is one
 * direct segment that this call owns alone (refcnt 1) and needs no tag
 * inserted; anything else (another pool, a chain, a clone, a shared mbuf,
 * TARN_MBUF_F_TX_VLAN/QINQ) is copied into a frame taken from the UMEM's
 * pool, with the tags inserted, and freed. Completed frames go back to the
 * pool in bulk. One sendto() per burst drives the kernel (copy mode
 * transmits in that call); a packet the interface cannot carry (shorter
 * than an Ethernet header, longer than MTU + 14, + 4 when VLAN-tagged, or
 * than the chunk) is taken, freed and counted as an error. When the kick
 * finds the interface down or gone, later bursts take nothing until a kick
 * succeeds again; what was already in the TX ring goes out then (or comes
 * back to the pool at stop).
 *
 * Only the queue's polling thread runs these functions (and the control
 * path at stop, with the port stopped); q->mtu is read relaxed.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "axdp_priv.h"

void tarn__axdp_tx_sync(struct axdp_txq *q)
{
	struct xdp_statistics st;

	q->polls = 0;
	if (tarn__axdp_xsk_stats(q->fd, &st) != 0)
		return;
	if (st.tx_invalid_descs > q->k_errors)
		tarn__eth_count(&q->stats->errors, st.tx_invalid_descs - q->k_errors);
	q->k_errors = st.tx_invalid_descs;
}

/* Take back the frames whose transmission completed, in bulk to the pool. */
void tarn__axdp_tx_reclaim(struct axdp_txq *q)
{
	void *objs[AXDP_BULK];
	uint32_t idx = 0, nobj = 0;
	const uint32_t got = xsk_ring_cons__peek(&q->cq, q->ring_size, &idx);

	for (uint32_t i = 0; i < got; i++) {
		struct tarn_mbuf *m =
		    tarn__axdp_mbuf(&q->lay, *xsk_ring_cons__comp_addr(&q->cq, idx + i));
		const uint32_t oi = tarn__axdp_idx(&q->lay, m);

		if (tarn_unlikely(oi >= q->lay.n || !tarn__axdp_bit_take(q->kbits, oi)))
			continue; /* not ours */
		objs[nobj++] = m;
		if (nobj == AXDP_BULK) {
			tarn_mempool_put_bulk(q->mp, objs, nobj);
			nobj = 0;
		}
		q->inflight--;
	}
	if (got != 0)
		xsk_ring_cons__release(&q->cq, got);
	if (nobj != 0)
		tarn_mempool_put_bulk(q->mp, objs, nobj);
}

/*
 * Drive the kernel: copy mode transmits in sendto(). 0, or -errno when the
 * interface is down or gone (q->down set).
 */
int tarn__axdp_tx_kick(struct axdp_txq *q)
{
	if (!xsk_ring_prod__needs_wakeup(&q->tx))
		return 0;
	for (unsigned tries = 0; tries < 8; tries++) {
		if (sendto(q->fd, NULL, 0, MSG_DONTWAIT, NULL, 0) >= 0) {
			q->down = 0;
			return 0;
		}
		switch (errno) {
		case EAGAIN: /* more than one call's budget, or the completion ring full */
			tarn__axdp_tx_reclaim(q);
			continue;
		case EBUSY: /* the device dropped one (completed anyway) */
		case EINTR:
			continue;
		case ENETDOWN:
		case ENXIO:
		case ENODEV:
			q->down = 1;
			return -ENETDOWN;
		default:
			return 0;
		}
	}
	return 0;
}

/* Copy `len` bytes of packet `m` from offset `off` to `dst` (the mbuf
 * library's reader copies when they span segments). Returns 0, or -1 when
 * the chain holds fewer bytes than its pkt_len says. */
static int copy_range(const struct tarn_mbuf *m, uint32_t off, uint32_t len, uint8_t *dst)
{
	const void *src = tarn_pktmbuf_read(m, off, len, dst);

	if (src == NULL)
		return -1;
	if (src != dst)
		memcpy(dst, src, len);
	return 0;
}

/*
 * A packet the zero-copy test refused: check it, copy it into a frame of
 * the UMEM's pool (inserting the tags its flags ask for) and describe that
 * frame in `d`. Returns 1 (described; `m` freed), 0 (a packet the interface
 * cannot carry: freed, an error), -1 (no frame to copy into: `m` stays with
 * the caller).
 */
static int tx_slow(struct axdp_txq *q, struct tarn_mbuf *m, struct xdp_desc *d, uint32_t mtu,
                   uint64_t *bytes)
{
	const unsigned ntags = tarn__eth_tx_ntags(m);
	const uint32_t plen = m->pkt_len;
	const uint32_t len = plen + ntags * AXDP_VLAN_HLEN;
	uint8_t tb[2];
	int tagged = ntags != 0;

	if (plen < AXDP_ETH_HLEN || len > q->chunk)
		goto bad;
	if (!tagged) {
		const uint8_t *t = tarn_pktmbuf_read(m, 12, 2, tb);
		const uint16_t type = t != NULL ? (uint16_t)(t[0] << 8 | t[1]) : 0;
		tagged = type == TARN__ETH_TPID_8021Q || type == TARN__ETH_TPID_8021AD;
	}
	if (len > mtu + AXDP_ETH_HLEN + (tagged ? AXDP_VLAN_HLEN : 0))
		goto bad;

	void *obj;
	if (tarn_mempool_get(q->mp, &obj) != 0)
		return -1;
	uint8_t *dst = (uint8_t *)obj + q->lay.buf_off;
	int rc;
	if (ntags == 0) {
		rc = copy_range(m, 0, plen, dst);
	} else {
		rc = copy_range(m, 0, 12, dst);
		tarn__eth_tx_tags(dst + 12, m, ntags);
		rc |= copy_range(m, 12, plen - 12, dst + 12 + ntags * TARN__ETH_VLAN_HLEN);
	}
	if (tarn_unlikely(rc != 0)) {
		tarn_mempool_put(q->mp, obj);
		goto bad;
	}
	d->addr = tarn__axdp_addr(&q->lay, obj);
	d->len = len;
	d->options = 0;
	tarn__axdp_bit_set(q->kbits, tarn__axdp_idx(&q->lay, obj));
	*bytes += len;
	tarn_pktmbuf_free(m);
	return 1;
bad:
	tarn_pktmbuf_free(m);
	return 0;
}

uint16_t tarn__axdp_tx_burst(void *qd, struct tarn_mbuf **pkts, uint16_t n)
{
	struct axdp_txq *q = qd;
	uint32_t idx = 0, i, j = 0, errors = 0;
	uint64_t bytes = 0;

	if (q->inflight != 0)
		tarn__axdp_tx_reclaim(q);
	if (tarn_unlikely(q->down) && tarn__axdp_tx_kick(q) < 0) {
		tarn__eth_count(&q->stats->errors, n);
		return 0;
	}
	uint32_t k = xsk_prod_nb_free(&q->tx, n);
	if (k > n)
		k = n;
	if (tarn_unlikely(k == 0 || xsk_ring_prod__reserve(&q->tx, k, &idx) != k)) {
		tarn__axdp_tx_kick(q);
		tarn__eth_count(&q->stats->errors, n);
		return 0;
	}
	/* relaxed: mtu_set may store it while the port runs */
	const uint32_t mtu = __atomic_load_n(&q->mtu, __ATOMIC_RELAXED);
	const uint32_t lim = mtu + AXDP_ETH_HLEN < q->chunk ? mtu + AXDP_ETH_HLEN : q->chunk;
	const uint32_t span = lim - AXDP_ETH_HLEN;

	for (i = 0; i < k; i++) {
		struct tarn_mbuf *m = pkts[i];
		struct xdp_desc *d = xsk_ring_prod__tx_desc(&q->tx, idx + j);

		if (tarn_likely(m->pool == q->mp && m->next == NULL && m->mbuf_flags == 0 &&
		                m->nb_segs == 1 &&
		                (m->ol_flags & (TARN_MBUF_F_TX_VLAN | TARN_MBUF_F_TX_QINQ)) == 0 &&
		                (uint32_t)(m->data_len - AXDP_ETH_HLEN) <= span &&
		                tarn_mbuf_refcnt_read(m) == 1)) {
			/* zero copy: the frame is the mbuf's data room */
			d->addr = tarn__axdp_addr(&q->lay, m) |
			          ((uint64_t)m->data_off << XSK_UNALIGNED_BUF_OFFSET_SHIFT);
			d->len = m->data_len;
			d->options = 0;
			tarn__axdp_bit_set(q->kbits, tarn__axdp_idx(&q->lay, m));
			bytes += m->data_len;
			j++;
			continue;
		}
		const int r = tx_slow(q, m, d, mtu, &bytes);
		if (r > 0)
			j++;
		else if (r == 0)
			errors++;
		else
			break; /* no frame to copy into: the rest stay with the caller */
	}
	/* Give back the reserved slots not written (only this thread produces). */
	q->tx.cached_prod -= k - j;
	if (j != 0) {
		/* release: the descriptors are written before the kernel sees them */
		xsk_ring_prod__submit(&q->tx, j);
		q->inflight += j;
		tarn__axdp_tx_kick(q);
	}
	tarn__eth_count_burst(q->stats, j, bytes, errors + (n - i), 0);
	if (tarn_unlikely(++q->polls >= AXDP_STATS_POLLS))
		tarn__axdp_tx_sync(q);
	return (uint16_t)i;
}
