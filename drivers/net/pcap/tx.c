/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tx.c - pcap transmit (fast path): every packet written to tx_pcap as a
 * record (microsecond timestamps of the time of transmission, snaplen
 * 262144: longer packets are cut and keep their length in the record, as
 * does a packet received truncated), one writev() per burst straight from
 * the segments, as DPDK's pcap PMD flushes each burst: what opackets counts
 * is in the file, and a write error (disk full) cuts the file back to its
 * last whole record, refuses the packets not written and every packet
 * after (oerrors), and makes the port's stop and close return -EIO. Or
 * injected on iface= (pcap_inject, a chained packet made contiguous
 * first). Without tx_pcap or iface, TX frees the packets and counts them
 * as sent.
 *
 * Only the queue's polling thread runs these functions.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>

#include "pcap_priv.h"

/* The first `len` bytes of packet `m`, contiguous: its data if it is one
 * segment, else a copy in `buf`. */
static const uint8_t *linear(const struct tarn_mbuf *m, uint8_t *buf, uint32_t len)
{
	if (m->next == NULL)
		return tarn_pktmbuf_mtod(m, const uint8_t *);
	uint32_t off = 0;
	for (const struct tarn_mbuf *s = m; s != NULL && off < len; s = s->next) {
		uint32_t l = s->data_len < len - off ? s->data_len : len - off;
		memcpy(buf + off, tarn_pktmbuf_mtod(s, const uint8_t *), l);
		off += l;
	}
	return buf;
}

/* ------------------------------------------------------------------------ */
/* tx_pcap */

/* The length of `m` on the wire: pkt_len, or the original length of a
 * frame received truncated (a record captured short, replayed). */
static inline uint32_t wire_len(const struct tarn_mbuf *m)
{
	if (tarn_unlikely(m->ol_flags & TARN_MBUF_F_RX_TRUNCATED) && m->hash.orig_len > m->pkt_len)
		return m->hash.orig_len;
	return m->pkt_len;
}

/* The first write error: logged once; TX refuses everything from now on
 * and the port's stop and close say so (-EIO). */
static void tx_fail(struct pcap_txq *q, int err)
{
	struct pcap_port *pp = q->pp;
	q->failed = 1;
	__atomic_store_n(&pp->dev->output_failed, 1, __ATOMIC_RELAXED);
	TARN__ERR(PCAP_LOG,
	          "pcap port %u: writing tx_pcap %s failed: %s: the file ends with its last "
	          "whole record (%" PRIu64 " bytes); TX refuses every packet from now on "
	          "(oerrors)",
	          (unsigned)q->port_id, pp->tx_path, strerror(err), pp->tx_off);
}

/* Write `niov` iovecs of `nrec` records (q->rec_bytes) at pp->tx_off.
 * Returns the records now whole in the file; on an error (logged, q->failed
 * set) the file is cut back to its last whole record. */
static unsigned tx_write(struct pcap_txq *q, unsigned niov, unsigned nrec)
{
	struct pcap_port *pp = q->pp;
	struct iovec *iov = q->iov;
	uint64_t done = 0;
	int err = 0;

	while (niov > 0) {
		const ssize_t w = writev(pp->tx_fd, iov, (int)niov);
		if (tarn_unlikely(w <= 0)) {
			if (w < 0 && errno == EINTR)
				continue;
			err = w < 0 ? errno : EIO;
			break;
		}
		done += (uint64_t)w;
		/* a short write: go on from where it stopped */
		size_t left = (size_t)w;
		while (niov > 0 && left >= iov->iov_len) {
			left -= iov->iov_len;
			iov++;
			niov--;
		}
		if (niov > 0) {
			iov->iov_base = (uint8_t *)iov->iov_base + left;
			iov->iov_len -= left;
		}
	}
	if (tarn_likely(err == 0)) {
		pp->tx_off += done;
		return nrec;
	}
	/* The records written whole; the rest of the file goes. */
	unsigned whole = 0;
	uint64_t bytes = 0;
	while (whole < nrec && bytes + q->rec_bytes[whole] <= done)
		bytes += q->rec_bytes[whole++];
	pp->tx_off += bytes;
	if (bytes != done && (ftruncate(pp->tx_fd, (off_t)pp->tx_off) < 0 ||
	                      lseek(pp->tx_fd, (off_t)pp->tx_off, SEEK_SET) < 0))
		TARN__ERR(PCAP_LOG,
		          "pcap port %u: tx_pcap %s: cannot cut the file back to its last whole "
		          "record: %s",
		          (unsigned)q->port_id, pp->tx_path, strerror(errno));
	tx_fail(q, err);
	return whole;
}

/* tx_pcap: the packets written as records, one writev() per PCAP_TX_CHUNK
 * records (or PCAP_TX_IOV segments); what opackets counts is in the file.
 * After a write error nothing is taken any more: the caller keeps what was
 * not written, counted in oerrors. */
static uint16_t file_tx(struct pcap_txq *q, struct tarn_mbuf **pkts, uint16_t n)
{
	if (tarn_unlikely(q->failed)) {
		tarn__eth_count_burst(q->stats, 0, 0, n, 0);
		return 0;
	}
	struct timeval tv;
	gettimeofday(&tv, NULL);
	const uint32_t sec = (uint32_t)tv.tv_sec, usec = (uint32_t)tv.tv_usec;
	uint64_t bytes = 0;
	uint16_t sent = 0;

	while (sent < n && !q->failed) {
		unsigned nrec = 0, niov = 0;
		uint64_t chunk_bytes = 0;
		for (uint16_t i = sent; i < n && nrec < PCAP_TX_CHUNK; i++) {
			const struct tarn_mbuf *m = pkts[i];
			const uint32_t caplen =
			    m->pkt_len < PCAP_TX_SNAPLEN ? m->pkt_len : PCAP_TX_SNAPLEN;
			const uint32_t len = wire_len(m);
			/* the record: its header, then its segments (or a copy) */
			unsigned segs = 0;
			for (const struct tarn_mbuf *s = m; s != NULL; s = s->next)
				segs++;
			const int copy = segs + 1 > PCAP_TX_IOV;
			if (niov + 1 + (copy ? 1 : segs) > PCAP_TX_IOV)
				break; /* next writev */
			uint8_t *h = q->hdr[nrec];
			memcpy(h, &sec, 4);
			memcpy(h + 4, &usec, 4);
			memcpy(h + 8, &caplen, 4);
			memcpy(h + 12, &len, 4);
			q->iov[niov++] = (struct iovec){ h, PCAP_REC_HDR_LEN };
			if (tarn_unlikely(copy)) {
				/* only one such record per writev: lin holds it */
				q->iov[niov++] =
				    (struct iovec){ (void *)linear(m, q->lin, caplen), caplen };
				nrec++;
				q->rec_bytes[nrec - 1] = PCAP_REC_HDR_LEN + caplen;
				chunk_bytes += m->pkt_len;
				break;
			}
			uint32_t left = caplen;
			for (const struct tarn_mbuf *s = m; s != NULL && left > 0; s = s->next) {
				const uint32_t l = s->data_len < left ? s->data_len : left;
				if (l > 0)
					q->iov[niov++] =
					    (struct iovec){ tarn_pktmbuf_mtod(s, uint8_t *), l };
				left -= l;
			}
			q->rec_bytes[nrec++] = PCAP_REC_HDR_LEN + caplen;
			chunk_bytes += m->pkt_len;
		}
		const unsigned whole = tx_write(q, niov, nrec);
		if (tarn_unlikely(whole < nrec)) {
			for (unsigned k = 0; k < whole; k++)
				bytes += pkts[sent + k]->pkt_len;
			sent = (uint16_t)(sent + whole);
			break;
		}
		bytes += chunk_bytes;
		sent = (uint16_t)(sent + nrec);
	}
	tarn_pktmbuf_free_bulk(pkts, sent);
	tarn__eth_count_burst(q->stats, sent, bytes, (uint64_t)(n - sent), 0);
	return sent;
}

/* iface=: pcap_inject() per packet; a full socket stops the burst, an
 * interface gone stops it and logs once, a frame refused is dropped. */
static uint16_t live_tx(struct pcap_txq *q, struct tarn_mbuf **pkts, uint16_t n)
{
	struct pcap_port *pp = q->pp;
	uint64_t bytes = 0, sent = 0, dropped = 0;
	uint16_t i;

	for (i = 0; i < n; i++) {
		const struct tarn_mbuf *m = pkts[i];
		const uint32_t len = m->pkt_len < PCAP_TX_SNAPLEN ? m->pkt_len : PCAP_TX_SNAPLEN;
		errno = 0;
		if (tarn_likely(pcap_inject(pp->live_tx, linear(m, q->lin, len), len) >= 0)) {
			sent++;
			bytes += len;
			continue;
		}
		const int e = errno;
		if (e == EINTR) {
			i--;
			continue;
		}
		if (e == EAGAIN || e == EWOULDBLOCK || e == ENOBUFS)
			break; /* the caller keeps the rest */
		if (e == ENETDOWN || e == ENXIO || e == ENODEV) {
			if (!q->err_logged) {
				q->err_logged = 1;
				TARN__ERR(
				    PCAP_LOG,
				    "pcap port %u: inject on '%s' failed: %s (refused, counted in "
				    "oerrors; logged once)",
				    (unsigned)q->port_id, pp->lif.ifname, pcap_geterr(pp->live_tx));
			}
			break;
		}
		dropped++; /* this frame refused (too long): taken and dropped */
	}
	tarn_pktmbuf_free_bulk(pkts, i);
	tarn__eth_count_burst(q->stats, sent, bytes, dropped + (uint64_t)(n - i), 0);
	return i;
}

/* The TX burst of struct tarn__eth_driver: to the file, the interface, or
 * nowhere. */
uint16_t tarn__pcap_tx_burst(void *qd, struct tarn_mbuf **pkts, uint16_t n)
{
	struct pcap_txq *q = qd;
	if (q->pp->tx_open)
		return file_tx(q, pkts, n);
	if (q->pp->live_tx != NULL)
		return live_tx(q, pkts, n);
	return tarn__eth_tx_discard(q->stats, pkts, n); /* no sink: a null port */
}
