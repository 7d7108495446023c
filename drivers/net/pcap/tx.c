/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tx.c - pcap transmit (fast path): every packet written to tx_pcap
 * (pcap_dump, microsecond timestamps of the time of transmission, snaplen
 * 262144: longer packets are cut and keep their length in the record), or
 * injected on iface= (pcap_inject). A chained packet is made contiguous
 * first. A write error (disk full) is logged; from then on TX refuses every
 * packet (oerrors). Without tx_pcap or iface, TX frees the packets and
 * counts them as sent.
 *
 * Only the queue's polling thread runs these functions.
 */
#include <errno.h>
#include <string.h>
#include <sys/time.h>

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

/* tx_pcap: every packet written (cut to PCAP_TX_SNAPLEN), all taken; after
 * a write error nothing is taken any more. */
static uint16_t file_tx(struct pcap_txq *q, struct tarn_mbuf **pkts, uint16_t n)
{
	struct pcap_port *pp = q->pp;
	FILE *f = pcap_dump_file(pp->dumper);

	if (tarn_unlikely(q->failed || ferror(f))) {
		if (!q->failed) {
			q->failed = 1;
			TARN__ERR(
			    PCAP_LOG,
			    "pcap port %u: writing tx_pcap %s failed (disk full?): TX refuses "
			    "every packet from now on (oerrors)",
			    (unsigned)q->port_id, pp->tx_path);
		}
		tarn__eth_count(&q->stats->errors, n);
		return 0;
	}
	struct pcap_pkthdr hdr;
	uint64_t bytes = 0;
	gettimeofday(&hdr.ts, NULL);
	for (uint16_t i = 0; i < n; i++) {
		const struct tarn_mbuf *m = pkts[i];
		hdr.len = m->pkt_len;
		hdr.caplen = m->pkt_len < PCAP_TX_SNAPLEN ? m->pkt_len : PCAP_TX_SNAPLEN;
		pcap_dump((u_char *)pp->dumper, &hdr, linear(m, q->lin, hdr.caplen));
		bytes += m->pkt_len;
	}
	tarn_pktmbuf_free_bulk(pkts, n);
	tarn__eth_count_burst(q->stats, n, bytes, 0, 0);
	return n;
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
	if (q->pp->dumper != NULL)
		return file_tx(q, pkts, n);
	if (q->pp->live_tx != NULL)
		return live_tx(q, pkts, n);
	return tarn__eth_tx_discard(q->stats, pkts, n); /* no sink: a null port */
}
