/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * rx.c - pcap receive (fast path): the replay of rx_pcap, `loop` passes
 * over it, as fast as asked or (rate=recorded) at the pace of its
 * timestamps; or live capture on iface= (libpcap, immediate mode,
 * non-blocking, incoming packets only). Packets longer than an mbuf's room
 * go into a chain; records with caplen 0, and records longer than the RX
 * queue's whole pool can hold (they could never be received: skipped, not
 * waited for, logged once with the pool it would take), are dropped and
 * counted in ierrors. A truncated record gives TARN_MBUF_F_RX_TRUNCATED with
 * its original length in hash.orig_len. A file that changed since create() is read defensively: a
 * record found bad counts one ierror and ends the pass (logged once).
 *
 * Only the queue's polling thread runs these functions.
 */
#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "pcap_priv.h"

/*
 * A packet of `len` bytes as a chain of mbufs of `room` bytes each, lengths
 * set (data_len, pkt_len, nb_segs), data not written. NULL if the pool
 * cannot give them all (none taken then).
 */
static struct tarn_mbuf *chain_alloc(struct tarn_mempool *mp, uint16_t room, uint32_t len)
{
	struct tarn_mbuf *head = tarn_pktmbuf_alloc(mp);
	if (tarn_unlikely(head == NULL))
		return NULL;
	head->data_len = (uint16_t)(len < room ? len : room);
	head->pkt_len = len;
	struct tarn_mbuf *last = head;
	uint32_t left = len - head->data_len;
	uint16_t segs = 1;
	while (tarn_unlikely(left > 0)) {
		struct tarn_mbuf *s = tarn_pktmbuf_alloc(mp);
		if (s == NULL) {
			head->nb_segs = segs;
			head->pkt_len = len - left;
			tarn_pktmbuf_free(head);
			return NULL;
		}
		s->data_len = (uint16_t)(left < room ? left : room);
		left -= s->data_len;
		last->next = s;
		last = s;
		segs++;
	}
	head->nb_segs = segs;
	return head;
}

/* Copy `len` bytes of `src` into the chain `m` made by chain_alloc(). */
static void chain_fill(struct tarn_mbuf *m, const uint8_t *src)
{
	for (; m != NULL; m = m->next) {
		memcpy(tarn_pktmbuf_mtod(m, uint8_t *), src, m->data_len);
		src += m->data_len;
	}
}

/* Mark a received packet of `caplen` bytes captured of `len`: a truncated
 * one carries its length on the wire in hash.orig_len. */
static void rx_meta(struct tarn_mbuf *m, uint16_t port, uint64_t ts_ns, uint32_t caplen,
                    uint32_t len)
{
	m->port = port;
	m->packet_type = TARN_PTYPE_L2_ETHER;
	m->timestamp = ts_ns;
	m->ol_flags = TARN_MBUF_F_RX_TIMESTAMP;
	if (tarn_unlikely(caplen < len)) {
		m->ol_flags |= TARN_MBUF_F_RX_TRUNCATED;
		m->hash.orig_len = len;
	}
}

/* The pass ended (end of file or a bad record): rewind for the next one,
 * or mark the replay done. */
static void pass_end(struct pcap_port *pp, uint64_t now)
{
	pp->have_rec = 0;
	pp->pass++;
	pp->rec_idx = 0;
	if ((pp->loops != 0 && pp->pass >= pp->loops) || pp->nb_records == 0 ||
	    fseeko(pp->rx_file, PCAP_FILE_HDR_LEN, SEEK_SET) < 0) {
		pp->done = 1;
		return;
	}
	pp->wall_base = now;
}

/* Log (once) a record found bad during the replay. */
static void rx_bad_record(struct pcap_rxq *q, const char *why)
{
	struct pcap_port *pp = q->pp;
	if (q->err_logged)
		return;
	q->err_logged = 1;
	TARN__ERR(PCAP_LOG,
	          "pcap port %u: rx_pcap %s: record %" PRIu64 " of pass %" PRIu64
	          ": %s (the file changed since the port was created?): counted in ierrors, the "
	          "pass ends there (logged once)",
	          (unsigned)q->port_id, pp->rx_path, pp->rec_idx, pp->pass, why);
}

/* Log (once) a record longer than the RX queue's whole pool can hold. */
static void rx_too_big(struct pcap_rxq *q)
{
	const struct pcap_port *pp = q->pp;
	if (q->big_logged)
		return;
	q->big_logged = 1;
	const uint64_t need = ((uint64_t)pp->rec.caplen + q->room - 1) / q->room;
	TARN__ERR(PCAP_LOG,
	          "pcap port %u: rx_pcap %s: record %" PRIu64 " of pass %" PRIu64 ": %" PRIu32
	          " bytes need %" PRIu64 " mbufs of %u bytes, the pool has %u: it can never be "
	          "received, so it is skipped and counted in ierrors (logged once); give the RX "
	          "queue a pool of at least %" PRIu64 " mbufs (tarn-fwd --mbufs) or mbufs with "
	          "more room",
	          (unsigned)q->port_id, pp->rx_path, pp->rec_idx, pp->pass, pp->rec.caplen, need,
	          (unsigned)q->room, q->pool_mbufs, need);
}

/* Read the next record header. 1: got it; 0: end of file; -1: bad (logged). */
static int rec_next(struct pcap_rxq *q)
{
	struct pcap_port *pp = q->pp;
	uint8_t h[PCAP_REC_HDR_LEN];
	char why[160];
	size_t n = fread(h, 1, sizeof(h), pp->rx_file);
	if (n == 0 && feof(pp->rx_file)) {
		clearerr(pp->rx_file);
		return 0;
	}
	if (n < sizeof(h)) {
		snprintf(why, sizeof(why), "truncated header");
		rx_bad_record(q, why);
		clearerr(pp->rx_file);
		return -1;
	}
	if (tarn__pcap_rec_parse(pp, h, &pp->rec, why, sizeof(why)) < 0) {
		rx_bad_record(q, why);
		return -1;
	}
	pp->have_rec = 1;
	return 1;
}

/* Nanoseconds of the monotonic clock (rate=recorded). */
static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The data of the record read, into a chain of mbufs; NULL: the pool is
 * empty (*short_read 0: the record stays for the next burst) or the file
 * ended inside the record (*short_read 1). */
static struct tarn_mbuf *rec_data(struct pcap_rxq *q, int *short_read)
{
	struct pcap_port *pp = q->pp;
	struct tarn_mbuf *m = chain_alloc(q->mp, q->room, pp->rec.caplen);

	*short_read = 0;
	if (tarn_unlikely(m == NULL))
		return NULL;
	for (struct tarn_mbuf *s = m; s != NULL; s = s->next)
		if (fread(tarn_pktmbuf_mtod(s, uint8_t *), 1, s->data_len, pp->rx_file) !=
		    s->data_len)
			*short_read = 1;
	if (tarn_likely(!*short_read))
		return m;
	tarn_pktmbuf_free(m);
	rx_bad_record(q, "truncated data");
	clearerr(pp->rx_file);
	return NULL;
}

/* With rate=recorded, is the record read due (its time, relative to the
 * pass's first packet, has come)? Earlier ones go at once. */
static int rec_due(const struct pcap_port *pp, uint64_t now)
{
	const int64_t due = (int64_t)(pp->rec.ts_ns - pp->first_ts_ns);
	return !pp->rate_recorded || due <= 0 || (uint64_t)due <= now - pp->wall_base;
}

/*
 * Replay: the records of the file, one packet each, from where the last
 * burst stopped; at the end of the file the pass ends and the next begins
 * (loop=), in the same burst unless the pass that just ended gave nothing:
 * a pass of bad or empty records cannot keep a burst spinning.
 */
static uint16_t file_rx(struct pcap_rxq *q, struct tarn_mbuf **pkts, uint16_t n)
{
	struct pcap_port *pp = q->pp;
	uint64_t bytes = 0, errors = 0, nombuf = 0, now = 0;
	uint16_t nb = 0;
	int last_end = -1; /* packets delivered when the last pass ended */
	int rc = 1;

	if (pp->done)
		return 0;
	if (pp->rate_recorded) {
		now = mono_ns();
		if (pp->wall_base == 0)
			pp->wall_base = now;
	}
	while (nb < n) {
		if (!pp->have_rec)
			rc = rec_next(q);
		if (rc <= 0) { /* end of file, or a bad record */
			errors += rc < 0;
			pass_end(pp, now);
			if (pp->done || (int)nb == last_end)
				break;
			last_end = nb;
			rc = 1;
			continue;
		}
		if (!rec_due(pp, now))
			break;
		if (tarn_unlikely(pp->rec.caplen == 0 || pp->rec.caplen > q->pool_bytes)) {
			/* never received: empty, or more than the whole pool */
			if (pp->rec.caplen != 0) {
				rx_too_big(q);
				if (fseeko(pp->rx_file, (off_t)pp->rec.caplen, SEEK_CUR) < 0) {
					rc = -1; /* counted as an error, the pass ends */
					continue;
				}
			}
			pp->have_rec = 0;
			pp->rec_idx++;
			errors++;
			continue;
		}
		int short_read;
		struct tarn_mbuf *m = rec_data(q, &short_read);
		if (tarn_unlikely(m == NULL)) {
			if (!short_read) {
				nombuf++; /* the record stays for the next burst */
				break;
			}
			rc = -1; /* counted as an error, the pass ends */
			continue;
		}
		rx_meta(m, q->port_id, pp->rec.ts_ns, pp->rec.caplen, pp->rec.len);
		pp->have_rec = 0;
		pp->rec_idx++;
		pkts[nb++] = m;
		bytes += m->pkt_len;
	}
	tarn__eth_count_burst(q->stats, nb, bytes, errors, nombuf);
	return nb;
}

/* ------------------------------------------------------------------------ */
/* Live capture */

static void live_cb(u_char *user, const struct pcap_pkthdr *h, const u_char *bytes)
{
	struct pcap_rxq *q = (struct pcap_rxq *)user;
	if (tarn_unlikely(h->caplen == 0 || q->cb_nb >= q->cb_max))
		return;
	struct tarn_mbuf *m = chain_alloc(q->mp, q->room, h->caplen);
	if (tarn_unlikely(m == NULL)) {
		q->cb_nombuf++; /* the packet is lost */
		return;
	}
	chain_fill(m, bytes);
	rx_meta(m, q->port_id,
	        (uint64_t)h->ts.tv_sec * 1000000000u + (uint64_t)h->ts.tv_usec * 1000u, h->caplen,
	        h->len);
	q->cb_pkts[q->cb_nb++] = m;
	q->cb_bytes += h->caplen;
}

/* Live capture: what pcap_dispatch() gives for this burst, through
 * live_cb(); a capture error counts one ierror (logged once). */
static uint16_t live_rx(struct pcap_rxq *q, struct tarn_mbuf **pkts, uint16_t n)
{
	if (tarn_unlikely(n == 0))
		return 0; /* pcap_dispatch() takes 0 as "no limit" */
	q->cb_pkts = pkts;
	q->cb_max = n;
	q->cb_nb = 0;
	q->cb_bytes = 0;
	q->cb_nombuf = 0;
	int rc = pcap_dispatch(q->pp->live_rx, n, live_cb, (u_char *)q);
	if (tarn_unlikely(rc < 0)) {
		tarn__eth_count(&q->stats->errors, 1);
		if (!q->err_logged) {
			q->err_logged = 1;
			TARN__ERR(PCAP_LOG,
			          "pcap port %u: capture on '%s' failed: %s (counted in ierrors, "
			          "logged once)",
			          (unsigned)q->port_id, q->pp->lif.ifname,
			          pcap_geterr(q->pp->live_rx));
		}
	}
	tarn__eth_count_burst(q->stats, q->cb_nb, q->cb_bytes, 0, q->cb_nombuf);
	return q->cb_nb;
}

/* The RX burst of struct tarn__eth_driver: replay, capture, or nothing. */
uint16_t tarn__pcap_rx_burst(void *qd, struct tarn_mbuf **pkts, uint16_t n)
{
	struct pcap_rxq *q = qd;
	if (q->pp->rx_file != NULL)
		return file_rx(q, pkts, n);
	if (q->pp->live_rx != NULL)
		return live_rx(q, pkts, n);
	return 0;
}
