/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * null_ethdev.c - the "null" driver: a source and a sink.
 *
 * RX allocates `size`-byte packets from the queue's pool and writes a valid
 * Ethernet + IPv4 + UDP header (as far as `size` allows; the rest of the
 * payload is left as the buffer holds it): destination the port's MAC,
 * source 02:00:00:00:00:01, 10.0.0.1:1024 -> 10.0.0.2:1024. When the pool
 * cannot give a whole burst it returns what it can get and counts the rest
 * as rx_nombuf. TX frees every packet it is given and counts it.
 */
#include <errno.h>
#include <string.h>

#include "ethdev_driver_priv.h"
#include "tarn_mbuf.h"
#include "tarn_mem.h"

#define NULL_LOG TARN__ETH_LOG
/* Ethernet + IPv4 (no options) + UDP. */
#define NULL_HDR_LEN      (TARN_ETHER_HDR_LEN + 20 + 8)
#define NULL_DEFAULT_SIZE 64
#define NULL_MAX_SIZE     (TARN_ETH_MAX_MTU + TARN_ETHER_HDR_LEN)

/* dev->priv: its one key. */
struct null_port {
	uint32_t size; /* size=: bytes of each received packet */
};

struct null_rxq {
	struct tarn_mempool *mp;
	struct tarn__eth_qstats *stats;
	uint32_t size;
	uint16_t port_id;
	uint8_t hdr[NULL_HDR_LEN]; /* header template, copied into each packet */
} TARN_CACHE_ALIGNED;

struct null_txq {
	struct tarn__eth_qstats *stats;
} TARN_CACHE_ALIGNED;

static const struct tarn__key null_keys[] = {
	TARN__KEY_UINT_AT("size", struct null_port, size, TARN_ETHER_HDR_LEN, NULL_MAX_SIZE,
	                  NULL_DEFAULT_SIZE,
	                  "bytes of each received packet, Ethernet/IPv4/UDP headers included",
	                  .doc = "The RX pool's mbufs must hold it after the headroom (one segment "
	                         "per packet)"),
	TARN__KEY_END,
};

/* ------------------------------------------------------------------------ */
/* Fast path */

static uint16_t null_rx_burst(void *qd, struct tarn_mbuf **pkts, uint16_t n)
{
	struct null_rxq *q = qd;
	uint16_t nb = n;

	if (tarn_unlikely(tarn_pktmbuf_alloc_bulk(q->mp, pkts, n) != 0)) {
		/* Not a whole burst: take what is left, one by one. */
		for (nb = 0; nb < n; nb++) {
			pkts[nb] = tarn_pktmbuf_alloc(q->mp);
			if (pkts[nb] == NULL)
				break;
		}
		tarn__eth_count(&q->stats->nombuf, (uint64_t)(n - nb));
	}
	const uint32_t size = q->size;
	const uint32_t hlen = size < NULL_HDR_LEN ? size : NULL_HDR_LEN;
	for (uint16_t i = 0; i < nb; i++) {
		struct tarn_mbuf *m = pkts[i];
		m->data_len = (uint16_t)size;
		m->pkt_len = size;
		m->port = q->port_id;
		m->packet_type = TARN_PTYPE_L2_ETHER | TARN_PTYPE_L3_IPV4 | TARN_PTYPE_L4_UDP;
		memcpy(tarn_pktmbuf_mtod(m, uint8_t *), q->hdr, hlen);
	}
	tarn__eth_count_burst(q->stats, nb, (uint64_t)nb * size, 0, 0);
	return nb;
}

/* TX frees every packet it is given and counts it. */
static uint16_t null_tx_burst(void *qd, struct tarn_mbuf **pkts, uint16_t n)
{
	return tarn__eth_tx_discard(((struct null_txq *)qd)->stats, pkts, n);
}

/* ------------------------------------------------------------------------ */
/* Control path */

static uint16_t ip_csum(const uint8_t *h, unsigned len)
{
	uint32_t sum = 0;
	for (unsigned i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(h[i] << 8 | h[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Ethernet, IPv4 and UDP headers of a `size`-byte packet. */
static void make_header(uint8_t *h, const struct tarn_ether_addr *dst, uint32_t size)
{
	static const uint8_t src[TARN_ETHER_ADDR_LEN] = { 0x02, 0, 0, 0, 0, 0x01 };
	const uint32_t ip_len = size > TARN_ETHER_HDR_LEN ? size - TARN_ETHER_HDR_LEN : 0;
	const uint32_t udp_len = ip_len > 20 ? ip_len - 20 : 0;
	uint8_t *ip = h + TARN_ETHER_HDR_LEN;
	uint8_t *udp = ip + 20;

	memset(h, 0, NULL_HDR_LEN);
	memcpy(h, dst->addr_bytes, TARN_ETHER_ADDR_LEN);
	memcpy(h + TARN_ETHER_ADDR_LEN, src, TARN_ETHER_ADDR_LEN);
	h[12] = TARN_ETHER_TYPE_IPV4 >> 8;
	h[13] = TARN_ETHER_TYPE_IPV4 & 0xff;
	ip[0] = 0x45;                   /* version 4, 5 words */
	ip[2] = (uint8_t)(ip_len >> 8); /* total length */
	ip[3] = (uint8_t)ip_len;
	ip[8] = 64;              /* TTL */
	ip[9] = 17;              /* UDP */
	ip[12] = 10, ip[15] = 1; /* 10.0.0.1 */
	ip[16] = 10, ip[19] = 2; /* 10.0.0.2 */
	const uint16_t c = ip_csum(ip, 20);
	ip[10] = (uint8_t)(c >> 8);
	ip[11] = (uint8_t)c;
	udp[0] = 1024 >> 8; /* source port 1024 */
	udp[2] = 1024 >> 8; /* destination port 1024 */
	udp[4] = (uint8_t)(udp_len >> 8);
	udp[5] = (uint8_t)udp_len;
	/* UDP checksum 0: none */
}

/* The RX pool must hold a whole packet in one mbuf: ethdev checks it. */
static int null_create(struct tarn__eth_dev *dev, const struct tarn__eth_spec *spec)
{
	const struct null_port *np = dev->priv;

	(void)spec;
	dev->rx_data_min = np->size;
	snprintf(dev->rx_data_what, sizeof(dev->rx_data_what), "size=%u", np->size);
	return 0;
}

/* The MAC address may have changed since the queues were set up. */
static int null_start(struct tarn__eth_dev *dev)
{
	struct null_port *np = dev->priv;
	for (uint16_t q = 0; q < dev->nb_rxq; q++) {
		struct null_rxq *rxq = dev->rxq[q];
		make_header(rxq->hdr, &dev->mac, np->size);
	}
	return 0;
}

static int null_rx_queue_setup(struct tarn__eth_dev *dev, void *qd, const struct tarn__eth_qconf *c)
{
	const struct null_port *np = dev->priv;
	struct null_rxq *q = qd;

	q->mp = c->mp;
	q->stats = c->stats;
	q->size = np->size;
	q->port_id = dev->port_id;
	make_header(q->hdr, &dev->mac, np->size);
	return 0;
}

static int null_tx_queue_setup(struct tarn__eth_dev *dev, void *qd, const struct tarn__eth_qconf *c)
{
	struct null_txq *q = qd;

	(void)dev;
	q->stats = c->stats;
	return 0;
}

const struct tarn__eth_driver tarn__eth_null_driver = {
	.name = "null",
	.summary = "source and sink, RX makes packets and TX frees them",
	.keys = null_keys,
	.priv_size = sizeof(struct null_port),
	.rxq_size = sizeof(struct null_rxq),
	.txq_size = sizeof(struct null_txq),
	.create = null_create,
	.rx_queue_setup = null_rx_queue_setup,
	.tx_queue_setup = null_tx_queue_setup,
	.start = null_start,
	.rx_burst = null_rx_burst,
	.tx_burst = null_tx_burst,
};
