/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ring_ethdev.c - the "ring" driver: in-memory ports whose queues are tarn
 * rings.
 *
 * Ports are joined by a cable with two ends (sides 0 and 1). A cable holds
 * one ring per direction and queue: rings[d][q] carries what side d
 * transmits on queue q to the other side's RX queue q. A loop cable has one
 * end, whose RX queue q reads rings[0][q], the ring its TX queue q writes.
 *
 *   ring:name=a            new cable, port a at side 0, side 1 free
 *   ring:name=b,peer=a     port b takes side 1 of a's cable
 *   ring:loop=1            new loop cable
 *   bytes=0                count packets only (no ibytes/obytes), see sum_len()
 *
 * A ring is created by the first queue setup that needs it (the TX queue of
 * one end or the RX queue of the other), with that setup's nb_desc as its
 * capacity, single-producer single-consumer (one thread per queue). The
 * cable lives until both ends are closed: a port closed first leaves what it
 * transmitted for its peer. Releasing an RX queue frees the mbufs waiting in
 * its ring; freeing the cable frees whatever is left in every ring.
 *
 * Every op runs under the ethdev control mutex (ethdev_driver_priv.h), which
 * also protects the cable list.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ethdev_driver_priv.h"
#include "tarn_mbuf.h"
#include "tarn_mem.h"
#include "tarn_ring.h"

#define RING_LOG TARN__ETH_LOG

struct ring_cable {
	struct ring_cable *next;
	unsigned id;
	int loop;
	struct tarn__eth_dev *end[2];
	struct tarn_ring *rings[2][TARN_ETH_MAX_QUEUES];
};

/* dev->priv: the keys, then the port's place on its cable. */
struct ring_port {
	char peer[TARN_NAME_SIZE]; /* peer=: the ring port to cable to, "" for none */
	uint32_t loop;             /* loop=1: TX queue i feeds own RX queue i */
	uint32_t count_bytes;      /* bytes=1 (default): count ibytes/obytes */
	struct ring_cable *cable;
	int side;
};

/* Data of one queue, handed to the burst functions. */
struct ring_queue {
	struct tarn_ring *ring;
	struct tarn__eth_qstats *stats;
	int count_bytes;
} TARN_CACHE_ALIGNED;

static const struct tarn__key ring_keys[] = {
	TARN__KEY_STR_AT("peer", struct ring_port, peer,
	                 "cable to ring port NAME: TX queue i feeds the other's RX queue i",
	                 .metavar = "NAME",
	                 .doc = "Without peer or loop the port's far end is free and a later port "
	                        "may name it as its peer; what it transmits meanwhile waits in "
	                        "the cable"),
	TARN__KEY_UINT_AT("loop", struct ring_port, loop, 0, 1, 0,
	                  "1: TX queue i feeds own RX queue i", .metavar = "0|1"),
	TARN__KEY_UINT_AT(
	    "bytes", struct ring_port, count_bytes, 0, 1, 1,
	    "count ibytes/obytes; 0: packets only, as DPDK's net_ring", .metavar = "0|1",
	    .doc = "Reading each packet's length is most of the per-packet cost of an "
	           "in-memory port"),
	TARN__KEY_END,
};

static struct ring_cable *cables;
static unsigned cable_seq;

/* ------------------------------------------------------------------------ */
/* Fast path */

/*
 * Sum of pkt_len of n packets. Counting bytes is most of the driver's
 * per-packet work: the ring moves 8 bytes per packet, and reading the length
 * costs two more loads per packet on each side (the pointer, then the mbuf).
 * Ports created with bytes=0 skip it (and report 0 bytes, as DPDK's net_ring
 * does).
 */
static inline uint64_t sum_len(struct tarn_mbuf *const *p, unsigned n)
{
	uint64_t a = 0, b = 0, c = 0, d = 0;
	unsigned i = 0;
	for (; i + 4 <= n; i += 4) {
		a += p[i]->pkt_len;
		b += p[i + 1]->pkt_len;
		c += p[i + 2]->pkt_len;
		d += p[i + 3]->pkt_len;
	}
	for (; i < n; i++)
		a += p[i]->pkt_len;
	return a + b + c + d;
}

static uint16_t ring_rx_burst(void *qd, struct tarn_mbuf **pkts, uint16_t n)
{
	struct ring_queue *q = qd;
	const uint16_t nb = (uint16_t)tarn_ring_sc_dequeue_burst(q->ring, (void **)pkts, n, NULL);

	if (nb == 0)
		return 0;
	tarn__eth_count(&q->stats->packets, nb);
	if (q->count_bytes)
		tarn__eth_count(&q->stats->bytes, sum_len(pkts, nb));
	return nb;
}

static uint16_t ring_tx_burst(void *qd, struct tarn_mbuf **pkts, uint16_t n)
{
	struct ring_queue *q = qd;
	/* Count before the enqueue: once a packet is in the ring it belongs
	 * to the consumer, which may free it at once. */
	uint64_t bytes = q->count_bytes ? sum_len(pkts, n) : 0;
	const uint16_t nb =
	    (uint16_t)tarn_ring_sp_enqueue_burst(q->ring, (void *const *)pkts, n, NULL);
	if (tarn_unlikely(nb < n)) {
		/* the refused ones are still the caller's: safe to read */
		if (q->count_bytes)
			bytes -= sum_len(pkts + nb, (unsigned)(n - nb));
		tarn__eth_count(&q->stats->errors, (uint64_t)(n - nb));
	}
	tarn__eth_count(&q->stats->packets, nb);
	if (q->count_bytes)
		tarn__eth_count(&q->stats->bytes, bytes);
	return nb;
}

/* ------------------------------------------------------------------------ */
/* Cables */

/* Free the mbufs waiting in `r`. */
static void ring_drain(struct tarn_ring *r)
{
	struct tarn_mbuf *pkts[64];
	unsigned n;

	while ((n = tarn_ring_sc_dequeue_burst(r, (void **)pkts, 64, NULL)) > 0)
		tarn_pktmbuf_free_bulk(pkts, n);
}

static void cable_free(struct ring_cable *c)
{
	for (struct ring_cable **pp = &cables; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	for (int d = 0; d < 2; d++) {
		for (int q = 0; q < TARN_ETH_MAX_QUEUES; q++) {
			if (c->rings[d][q] != NULL) {
				ring_drain(c->rings[d][q]);
				tarn_ring_free(c->rings[d][q]);
			}
		}
	}
	free(c);
}

/* The ring of direction `d`, queue `q`, created if needed. */
static struct tarn_ring *cable_ring(struct tarn__eth_dev *dev, struct ring_cable *c, int d,
                                    uint16_t q, uint32_t nb_desc, int socket)
{
	if (c->rings[d][q] != NULL) {
		if (tarn_ring_get_capacity(c->rings[d][q]) != nb_desc)
			TARN__INFO(RING_LOG,
			           "port %u: queue %u shares the ring made by its peer, capacity "
			           "%u (asked %u)",
			           (unsigned)dev->port_id, (unsigned)q,
			           tarn_ring_get_capacity(c->rings[d][q]), nb_desc);
		return c->rings[d][q];
	}
	char name[TARN_NAME_SIZE];
	snprintf(name, sizeof(name), "eth_ring%u_%d_%u", c->id, d, (unsigned)q);
	struct tarn_ring *r = tarn_ring_create(
	    name, nb_desc, socket, TARN_RING_F_SP_ENQ | TARN_RING_F_SC_DEQ | TARN_RING_F_EXACT_SZ);
	if (r == NULL) {
		int err = tarn_errno;
		TARN__ERR(RING_LOG, "port %u: queue %u: cannot create ring %s of %u: %s",
		          (unsigned)dev->port_id, (unsigned)q, name, nb_desc, tarn_strerror(err));
		return NULL;
	}
	c->rings[d][q] = r;
	return r;
}

/* The ring port named `name`, its cable and side, or NULL. */
static struct ring_cable *cable_find(const char *name, int *side)
{
	for (struct ring_cable *c = cables; c != NULL; c = c->next) {
		for (int s = 0; s < 2; s++) {
			if (c->end[s] != NULL && strcmp(c->end[s]->name, name) == 0) {
				*side = s;
				return c;
			}
		}
	}
	return NULL;
}

/* ------------------------------------------------------------------------ */
/* Control path */

/* Take the free side of the cable of ring port `rp->peer`. */
static int cable_join(struct tarn__eth_dev *dev, struct ring_port *rp)
{
	int s;
	struct ring_cable *c = cable_find(rp->peer, &s);

	if (c == NULL) {
		TARN__ERR(RING_LOG, "port spec '%s': no ring port named '%s' to cable to",
		          dev->spec, rp->peer);
		return -ENOENT;
	}
	if (c->loop || c->end[1 - s] != NULL) {
		TARN__ERR(RING_LOG, "port spec '%s': ring port '%s' is already cabled%s", dev->spec,
		          rp->peer, c->loop ? " to itself (loop=1)" : "");
		return -EBUSY;
	}
	c->end[1 - s] = dev;
	rp->cable = c;
	rp->side = 1 - s;
	return 0;
}

static int ring_create(struct tarn__eth_dev *dev, const struct tarn__eth_spec *spec)
{
	struct ring_port *rp = dev->priv;

	(void)spec;
	if (rp->peer[0] != '\0' && rp->loop) {
		TARN__ERR(RING_LOG, "port spec '%s': peer and loop=1 exclude each other",
		          dev->spec);
		return -EINVAL;
	}
	if (rp->peer[0] != '\0')
		return cable_join(dev, rp);
	/* A new cable, this port at side 0. */
	struct ring_cable *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return -ENOMEM;
	c->id = cable_seq++;
	c->loop = (int)rp->loop;
	c->end[0] = dev;
	c->next = cables;
	cables = c;
	rp->cable = c;
	rp->side = 0;
	return 0;
}

static void ring_close(struct tarn__eth_dev *dev)
{
	struct ring_port *rp = dev->priv;
	struct ring_cable *c = rp->cable;

	c->end[rp->side] = NULL;
	if (c->end[0] == NULL && c->end[1] == NULL)
		cable_free(c);
	rp->cable = NULL;
}

/* Queue `q` reads or writes the ring of direction `d`. */
static int queue_make(struct tarn__eth_dev *dev, int d, struct ring_queue *q,
                      const struct tarn__eth_qconf *c)
{
	struct ring_port *rp = dev->priv;

	q->ring = cable_ring(dev, rp->cable, d, c->id, c->nb_desc, c->socket);
	if (q->ring == NULL)
		return -ENOMEM;
	q->stats = c->stats;
	q->count_bytes = (int)rp->count_bytes;
	return 0;
}

/* RX: packets arrive allocated by the sender, the pool is not used. */
static int ring_rx_queue_setup(struct tarn__eth_dev *dev, void *q, const struct tarn__eth_qconf *c)
{
	struct ring_port *rp = dev->priv;
	return queue_make(dev, rp->cable->loop ? 0 : 1 - rp->side, q, c);
}

static int ring_tx_queue_setup(struct tarn__eth_dev *dev, void *q, const struct tarn__eth_qconf *c)
{
	struct ring_port *rp = dev->priv;
	return queue_make(dev, rp->side, q, c);
}

/* This port is the ring's only consumer and it is stopped: what waits in
 * it goes back to its pools. (What a TX queue sent stays in its ring, for
 * the peer.) */
static void ring_rx_queue_release(struct tarn__eth_dev *dev, void *q)
{
	(void)dev;
	ring_drain(((struct ring_queue *)q)->ring);
}

const struct tarn__eth_driver tarn__eth_ring_driver = {
	.name = "ring",
	.summary = "in-memory port",
	.keys = ring_keys,
	.priv_size = sizeof(struct ring_port),
	.rxq_size = sizeof(struct ring_queue),
	.txq_size = sizeof(struct ring_queue),
	.create = ring_create,
	.close = ring_close,
	.rx_queue_setup = ring_rx_queue_setup,
	.tx_queue_setup = ring_tx_queue_setup,
	.rx_queue_release = ring_rx_queue_release,
	.rx_burst = ring_rx_burst,
	.tx_burst = ring_tx_burst,
};
