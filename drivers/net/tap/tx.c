/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tx.c - tap transmit (fast path): a one-segment packet with write(), a
 * chain with writev(). What the kernel refuses for the queue (full, the
 * interface down) stays with the caller and counts as errors; a frame the
 * kernel refuses for itself (too short, too many segments) is taken,
 * freed and counted as an error, so a caller that retries does not stall
 * on it.
 *
 * Only the queue's polling thread runs the burst.
 */
#include <errno.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "tap_priv.h"

/* The interface was deleted: log once; TX refuses everything from now on. */
static void tx_gone(struct tap_txq *q, int err)
{
	q->gone = 1;
	TARN__ERR(TAP_LOG,
	          "tap port %u: TX on '%s' failed: %s (the interface was deleted; TX refuses "
	          "every packet from now on, close the port)",
	          (unsigned)q->port_id, q->ifname, strerror(err));
}

/* The TX burst of struct tarn__eth_driver. */
uint16_t tarn__tap_tx_burst(void *qd, struct tarn_mbuf **pkts, uint16_t n)
{
	struct tap_txq *q = qd;
	uint64_t bytes = 0, sent = 0, dropped = 0;
	uint16_t i;

	if (tarn_unlikely(q->gone)) {
		tarn__eth_count(&q->stats->errors, n);
		return 0;
	}
	for (i = 0; i < n; i++) {
		struct tarn_mbuf *m = pkts[i];
		ssize_t r;
		if (tarn_likely(m->next == NULL)) {
			r = write(q->fd, tarn_pktmbuf_mtod(m, void *), m->data_len);
		} else {
			struct iovec iov[TAP_TX_MAX_SEGS];
			const struct tarn_mbuf *s = m;
			int k = 0;
			for (; s != NULL && k < TAP_TX_MAX_SEGS; s = s->next, k++) {
				iov[k].iov_base = tarn_pktmbuf_mtod(s, void *);
				iov[k].iov_len = s->data_len;
			}
			if (s != NULL) {
				r = -1;
				errno = EMSGSIZE;
			} else {
				r = writev(q->fd, iov, k);
			}
		}
		if (tarn_likely(r >= 0)) {
			sent++;
			bytes += m->pkt_len;
			continue;
		}
		if (errno == EINTR) {
			i--;
			continue;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS || errno == EIO)
			break; /* queue full or interface down: the caller keeps the rest */
		if (errno == EBADFD) {
			tx_gone(q, errno);
			break;
		}
		/* The kernel refused this frame (too short, too many segments):
		 * it is taken and dropped, so a caller that retries does not
		 * stall on it. */
		dropped++;
	}
	/* pkts[0 .. i-1] were written or dropped: all taken. */
	tarn_pktmbuf_free_bulk(pkts, i);
	tarn__eth_count_burst(q->stats, sent, bytes, dropped + (uint64_t)(n - i), 0);
	return i;
}
