/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fwd.c - tarn-fwd forwarding engines.
 *
 * Each forwarding lcore runs its streams in turn: receive a burst, do the
 * mode's work, transmit, and free what TX did not take (counted as
 * dropped). Packets are edited only after their data_len was checked to hold
 * the bytes touched.
 */
#include <string.h>

#include "fwd.h"

struct fwd_conf fwd;
int fwd_stop_flag;

static const char *const mode_names[FWD_NB_MODES] = {
	[FWD_IO] = "io",         [FWD_MAC] = "mac",       [FWD_MACSWAP] = "macswap",
	[FWD_RXONLY] = "rxonly", [FWD_TXONLY] = "txonly", [FWD_FLOWGEN] = "flowgen",
};

const char *fwd_mode_name(enum fwd_mode m)
{
	return (unsigned)m < FWD_NB_MODES ? mode_names[m] : "?";
}

int fwd_mode_parse(const char *s)
{
	for (int m = 0; m < FWD_NB_MODES; m++)
		if (strcmp(s, mode_names[m]) == 0)
			return m;
	return -1;
}

/* ------------------------------------------------------------------------ */
/* Packets */

#define IP_HDR_LEN  20
#define UDP_HDR_LEN 8
#define L2_L3_LEN   (TARN_ETHER_HDR_LEN + IP_HDR_LEN)
#define PKT_HDR_LEN (L2_L3_LEN + UDP_HDR_LEN)

static uint16_t csum16(const uint8_t *p, unsigned len)
{
	uint32_t sum = 0;
	for (unsigned i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

int fwd_build_packet(struct tarn_mbuf *m, unsigned len, const struct tarn_ether_addr *src,
                     const struct tarn_ether_addr *dst, uint32_t flow)
{
	uint8_t h[PKT_HDR_LEN];

	if (len < TARN_ETHER_HDR_LEN || len > tarn_pktmbuf_tailroom(m))
		return -1;
	const unsigned ip_len = len - TARN_ETHER_HDR_LEN;
	const unsigned udp_len = ip_len > IP_HDR_LEN ? ip_len - IP_HDR_LEN : 0;
	uint8_t *ip = h + TARN_ETHER_HDR_LEN;
	uint8_t *udp = ip + IP_HDR_LEN;

	memset(h, 0, sizeof(h));
	memcpy(h, dst->addr_bytes, TARN_ETHER_ADDR_LEN);
	memcpy(h + TARN_ETHER_ADDR_LEN, src->addr_bytes, TARN_ETHER_ADDR_LEN);
	h[12] = TARN_ETHER_TYPE_IPV4 >> 8;
	h[13] = TARN_ETHER_TYPE_IPV4 & 0xff;
	ip[0] = 0x45;
	ip[2] = (uint8_t)(ip_len >> 8);
	ip[3] = (uint8_t)ip_len;
	ip[8] = 64;
	ip[9] = 17;
	ip[12] = 10, ip[15] = 1;                                /* 10.0.0.1 */
	ip[16] = 10, ip[17] = 1, ip[18] = (uint8_t)(flow >> 8); /* 10.1.x.y */
	ip[19] = (uint8_t)flow;
	const uint16_t c = csum16(ip, IP_HDR_LEN);
	ip[10] = (uint8_t)(c >> 8);
	ip[11] = (uint8_t)c;
	const uint16_t sport = (uint16_t)(1024 + (flow & 0x3ff));
	udp[0] = (uint8_t)(sport >> 8);
	udp[1] = (uint8_t)sport;
	udp[2] = 1024 >> 8;
	udp[4] = (uint8_t)(udp_len >> 8);
	udp[5] = (uint8_t)udp_len;

	memcpy(tarn_pktmbuf_mtod(m, uint8_t *), h, len < PKT_HDR_LEN ? len : PKT_HDR_LEN);
	m->data_len = (uint16_t)len;
	m->pkt_len = len;
	return 0;
}

/* mac: source = TX port's address, destination = its peer's. Packets too
 * short for an Ethernet header are freed and counted as dropped. Returns the
 * packets kept, compacted at the front of `pkts`. */
static inline uint16_t do_mac(struct fwd_stream *s, struct tarn_mbuf **pkts, uint16_t nb, int swap)
{
	uint16_t keep = 0;
	for (uint16_t i = 0; i < nb; i++) {
		struct tarn_mbuf *m = pkts[i];
		if (tarn_unlikely(m->data_len < 2 * TARN_ETHER_ADDR_LEN ||
		                  (!swap && m->data_len < TARN_ETHER_HDR_LEN))) {
			tarn_pktmbuf_free(m);
			fwd_count(&s->dropped, 1);
			continue;
		}
		uint8_t *e = tarn_pktmbuf_mtod(m, uint8_t *);
		if (swap) {
			uint8_t t[TARN_ETHER_ADDR_LEN];
			memcpy(t, e, TARN_ETHER_ADDR_LEN);
			memcpy(e, e + TARN_ETHER_ADDR_LEN, TARN_ETHER_ADDR_LEN);
			memcpy(e + TARN_ETHER_ADDR_LEN, t, TARN_ETHER_ADDR_LEN);
		} else {
			memcpy(e, s->tx_dst.addr_bytes, TARN_ETHER_ADDR_LEN);
			memcpy(e + TARN_ETHER_ADDR_LEN, s->tx_src.addr_bytes, TARN_ETHER_ADDR_LEN);
		}
		pkts[keep++] = m;
	}
	return keep;
}

/* Transmit `nb` packets, free and count what TX refused. */
static inline void fwd_send(struct fwd_stream *s, struct tarn_mbuf **pkts, uint16_t nb)
{
	if (nb == 0)
		return;
	const uint16_t sent = tarn_eth_tx_burst(s->tx_port, s->tx_queue, pkts, nb);
	fwd_count(&s->tx, sent);
	if (tarn_unlikely(sent < nb)) {
		tarn_pktmbuf_free_bulk(pkts + sent, nb - sent);
		fwd_count(&s->dropped, (uint64_t)(nb - sent));
	}
}

/* Receive and free. Returns the packets received. */
static inline uint16_t drain(struct fwd_stream *s, struct tarn_mbuf **pkts, uint16_t burst)
{
	const uint16_t nb = tarn_eth_rx_burst(s->rx_port, s->rx_queue, pkts, burst);
	if (nb > 0) {
		fwd_count(&s->rx, nb);
		tarn_pktmbuf_free_bulk(pkts, nb);
		fwd_count(&s->consumed, nb);
	}
	return nb;
}

/* Run one stream once. Returns non-zero if it found work (packets
 * received or generated), for the lcore's busy ratio. */
static inline __attribute__((always_inline)) unsigned stream_run(struct fwd_stream *s,
                                                                 const enum fwd_mode mode,
                                                                 const uint16_t burst,
                                                                 struct tarn_mbuf **pkts)
{
	switch (mode) {
	case FWD_IO:
	case FWD_MAC:
	case FWD_MACSWAP: {
		uint16_t nb = tarn_eth_rx_burst(s->rx_port, s->rx_queue, pkts, burst);
		if (nb == 0)
			return 0;
		fwd_count(&s->rx, nb);
		if (mode != FWD_IO)
			nb = do_mac(s, pkts, nb, mode == FWD_MACSWAP);
		fwd_send(s, pkts, nb);
		return 1;
	}
	case FWD_RXONLY:
		return drain(s, pkts, burst);
	case FWD_TXONLY:
	case FWD_FLOWGEN: {
		unsigned got = 0;
		if (s->do_rx)
			got = drain(s, pkts, burst);
		if (!s->do_tx)
			return got;
		if (tarn_pktmbuf_alloc_bulk(s->pool != NULL ? s->pool : fwd.pool, pkts, burst) !=
		    0) {
			fwd_count(&s->nombuf, 1);
			return got;
		}
		for (uint16_t i = 0; i < burst; i++) {
			uint32_t flow = 0;
			if (mode == FWD_FLOWGEN) {
				flow = s->flow;
				s->flow = flow + 1 == fwd.nb_flows ? 0 : flow + 1;
			}
			fwd_build_packet(pkts[i], fwd.pkt_len, &s->tx_src, &s->tx_dst, flow);
		}
		fwd_count(&s->gen, burst);
		fwd_send(s, pkts, burst);
		return 1;
	}
	case FWD_NB_MODES:
		break;
	}
	return 0;
}

/* Rounds counted locally before they are reported to telemetry. */
#define POLL_REPORT 1024

/* Run `n` streams `iterations` rounds, or until the stop flag (iterations 0).
 * A round that found work on any stream is a busy poll (telemetry's lcore
 * busy ratio). */
static inline __attribute__((always_inline)) void loop(struct fwd_stream *ss, unsigned n,
                                                       const enum fwd_mode mode, uint16_t burst,
                                                       unsigned iterations)
{
	struct tarn_mbuf *pkts[FWD_MAX_BURST];
	unsigned it = 0, polls = 0, busy = 0;

	/* relaxed: a flag; what the lcore did is published by its return
	 * (tarn_lcore_wait) */
	while (!__atomic_load_n(&fwd_stop_flag, __ATOMIC_RELAXED)) {
		unsigned work = 0;
		for (unsigned i = 0; i < n; i++)
			work |= stream_run(&ss[i], mode, burst, pkts);
		busy += work != 0;
		if (++polls == POLL_REPORT) {
			tarn_telemetry_lcore_polls(polls, busy);
			polls = busy = 0;
		}
		if (iterations != 0 && ++it == iterations)
			break;
	}
	tarn_telemetry_lcore_polls(polls, busy);
}

static void run(struct fwd_stream *ss, unsigned n, unsigned iterations)
{
	const uint16_t burst = (uint16_t)fwd.burst;

	switch (fwd.mode) {
	case FWD_IO:
		loop(ss, n, FWD_IO, burst, iterations);
		break;
	case FWD_MAC:
		loop(ss, n, FWD_MAC, burst, iterations);
		break;
	case FWD_MACSWAP:
		loop(ss, n, FWD_MACSWAP, burst, iterations);
		break;
	case FWD_RXONLY:
		loop(ss, n, FWD_RXONLY, burst, iterations);
		break;
	case FWD_TXONLY:
		loop(ss, n, FWD_TXONLY, burst, iterations);
		break;
	case FWD_FLOWGEN:
		loop(ss, n, FWD_FLOWGEN, burst, iterations);
		break;
	case FWD_NB_MODES:
		break;
	}
}

uint16_t fwd_mac_burst(struct fwd_stream *s, struct tarn_mbuf **pkts, uint16_t nb, int swap)
{
	return do_mac(s, pkts, nb, swap);
}

/* The streams of `lcore`: they are sorted by lcore. */
struct fwd_stream *fwd_lcore_streams(uint32_t lcore, unsigned *n)
{
	unsigned first = 0, cnt = 0;
	while (first < fwd.nb_streams && fwd.streams[first].lcore != lcore)
		first++;
	while (first + cnt < fwd.nb_streams && fwd.streams[first + cnt].lcore == lcore)
		cnt++;
	*n = cnt;
	return cnt ? &fwd.streams[first] : NULL;
}

void fwd_lcore_run(uint32_t lcore, unsigned iterations)
{
	unsigned n;
	struct fwd_stream *ss = fwd_lcore_streams(lcore, &n);
	if (n > 0)
		run(ss, n, iterations);
}

int fwd_lcore_main(void *arg)
{
	fwd_lcore_run((uint32_t)(uintptr_t)arg, 0);
	return 0;
}
