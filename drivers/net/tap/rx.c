/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * rx.c - tap receive (fast path).
 *
 * RX reads one frame per read() into a fresh mbuf (read() measured ~12%
 * faster than readv() on this path) while the MTU + 22 (Ethernet header and
 * two VLAN tags) is below the mbuf's room; otherwise with readv() into the
 * mbuf and a 64 KiB spill buffer, whose bytes go into chained mbufs. Start
 * and mtu_set pick the mode (tarn__tap_rxq_set_vec). The kernel cuts a frame
 * longer than the buffers and returns the bytes copied (older kernels: the
 * whole length), so a read() that fills the mbuf means the MTU was raised
 * outside tarn: that frame is counted in ierrors and the queue switches to
 * readv(). mbufs come from the pool TAP_RX_STASH at a time and wait in the
 * queue's stash for the next reads.
 *
 * Only the queue's polling thread runs the burst.
 */
#include <errno.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "tap_priv.h"

/* Fill the stash of `q`. Returns the number of mbufs in it (0: pool empty). */
static unsigned rx_refill(struct tap_rxq *q)
{
	if (tarn_pktmbuf_alloc_bulk(q->mp, q->stash, TAP_RX_STASH) == 0) {
		q->nb_stash = TAP_RX_STASH;
		return TAP_RX_STASH;
	}
	/* Not a whole stash: take what the pool has. */
	unsigned n = 0;
	while (n < TAP_RX_STASH && (q->stash[n] = tarn_pktmbuf_alloc(q->mp)) != NULL)
		n++;
	q->nb_stash = n;
	return n;
}

/*
 * Put the `len - room` bytes of the spill buffer after `m` (which holds the
 * first `room` bytes) into chained mbufs. Returns 0, or -1 when the pool ran
 * dry (`m` and what was chained are freed).
 */
static int rx_spill(struct tap_rxq *q, struct tarn_mbuf *m, uint32_t len)
{
	struct tarn_mbuf *last = m;
	uint32_t off = 0, left = len - q->room;
	uint16_t segs = 1;

	m->data_len = q->room;
	while (left > 0) {
		struct tarn_mbuf *s =
		    q->nb_stash > 0 ? q->stash[--q->nb_stash] : tarn_pktmbuf_alloc(q->mp);
		if (s == NULL) {
			m->nb_segs = segs;
			m->pkt_len = len - left;
			tarn_pktmbuf_free(m);
			return -1;
		}
		const uint16_t l = left < q->room ? (uint16_t)left : q->room;
		memcpy(tarn_pktmbuf_mtod(s, uint8_t *), q->spill + off, l);
		s->data_len = l;
		last->next = s;
		last = s;
		segs++;
		off += l;
		left -= l;
	}
	m->nb_segs = segs;
	return 0;
}

/* The interface went away (or RX failed for good): log, count, stop. */
static void rx_gone(struct tap_rxq *q, int err)
{
	q->gone = 1;
	tarn__eth_count(&q->stats->errors, 1);
	TARN__ERR(TAP_LOG, "tap port %u: RX on '%s' failed: %s%s", (unsigned)q->port_id, q->ifname,
	          strerror(err),
	          err == EBADFD ? " (the interface was deleted; RX stops, close the port)"
	                        : " (RX stops)");
}

/* The RX burst of struct tarn__eth_driver: a read() (or readv()) per frame
 * until the kernel has none, an mbuf from the stash each. */
uint16_t tarn__tap_rx_burst(void *qd, struct tarn_mbuf **pkts, uint16_t n)
{
	struct tap_rxq *q = qd;
	uint64_t bytes = 0, errors = 0, nombuf = 0;
	uint16_t nb = 0;

	if (tarn_unlikely(q->gone))
		return 0;
	/* relaxed: a flag only this thread acts on; see struct tap_rxq */
	int vec = __atomic_load_n(&q->use_readv, __ATOMIC_RELAXED);
	while (nb < n) {
		if (q->nb_stash == 0 && rx_refill(q) == 0) {
			nombuf++;
			break;
		}
		struct tarn_mbuf *m = q->stash[q->nb_stash - 1];
		uint8_t *d = tarn_pktmbuf_mtod(m, uint8_t *);
		ssize_t r;
		if (tarn_likely(!vec)) {
			r = read(q->fd, d, q->room);
		} else {
			struct iovec iov[2] = { { d, q->room }, { q->spill, TAP_SPILL_SIZE } };
			r = readv(q->fd, iov, 2);
		}
		if (tarn_unlikely(r <= 0)) {
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
				rx_gone(q, errno);
			break;
		}
		const size_t cap = vec ? (size_t)q->room + TAP_SPILL_SIZE : q->room;
		if (tarn_unlikely((size_t)r >= cap)) {
			/* The buffers are full: the kernel cut the frame (no frame
			 * of the MTU fills them, see tarn__tap_rxq_set_vec()). */
			errors++;
			if (!vec) {
				vec = 1;
				__atomic_store_n(&q->use_readv, 1, __ATOMIC_RELAXED);
				TARN__WARN(
				    TAP_LOG,
				    "tap port %u: '%s' sent a frame longer than an mbuf's %u "
				    "bytes (MTU raised outside tarn?): dropped (ierrors); the "
				    "queue reads into chains from now on",
				    (unsigned)q->port_id, q->ifname, (unsigned)q->room);
			}
			continue;
		}
		q->nb_stash--;
		if (tarn_likely((size_t)r <= q->room)) {
			m->data_len = (uint16_t)r;
		} else if (rx_spill(q, m, (uint32_t)r) < 0) {
			nombuf++;
			continue;
		}
		m->pkt_len = (uint32_t)r;
		m->port = q->port_id;
		m->packet_type = TARN_PTYPE_L2_ETHER;
		pkts[nb++] = m;
		bytes += (uint64_t)r;
	}
	tarn__eth_count_burst(q->stats, nb, bytes, errors, nombuf);
	return nb;
}

void tarn__tap_rxq_set_vec(struct tap_rxq *q, uint32_t mtu)
{
	/* relaxed: see struct tap_rxq */
	__atomic_store_n(&q->use_readv, mtu + TAP_FRAME_OVERHEAD >= q->room, __ATOMIC_RELAXED);
}
