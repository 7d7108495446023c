/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ctrl.c - af_packet control path: the key table, create and close, queue
 * setup, start and stop, and what the rings say about an MTU. The link,
 * promiscuous, MTU and MAC ops are drivers/net/common/linux_if.c's, with
 * this driver's MTU rule (check_mtu) and TX length check (mtu_changed).
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "afp_priv.h"

static const struct tarn__key_word afp_rxrings[] = {
	{ "v2", AFP_RX_V2, "a frame per packet", 0 },
	{ "v3", AFP_RX_V3, "packets in blocks", 0 },
	TARN__KEY_WORDS_END,
};

static const struct tarn__key_word afp_tx_modes[] = {
	{ "mmsg", 0, "sendmmsg() from the mbufs", 0 },
	{ "ring", 1, "a TPACKET_V2 transmit ring", 0 },
	TARN__KEY_WORDS_END,
};

static const struct tarn__key afp_keys[] = {
	TARN__LIF_KEY_ATTACH(struct afp_port),
	TARN__KEY_UINT_AT("qpairs", struct afp_port, qpairs, 1, TARN_ETH_MAX_QUEUES, 0,
	                  "the most queues of each kind", .def_text = "not set",
	                  .doc = "A queue setup beyond it is refused. Without it the number of "
	                         "queues given to tarn_eth_dev_configure() decides",
	                  .flags = TARN__ETH_KEY_QUEUES),
	TARN__KEY_UINT_AT("framesz", struct afp_port, framesz, AFP_MIN_FRAMESZ, AFP_MAX_FRAMESZ,
	                  AFP_DEFAULT_FRAMESZ, "frame size of the rings",
	                  .align = TPACKET_ALIGNMENT, .metavar = "B",
	                  .doc = "It must hold MTU + 18 (Ethernet header and one VLAN tag) + 66 "
	                         "bytes of ring header: at least 1584 for MTU 1500. It is also the "
	                         "longest packet TX accepts (framesz - 32)"),
	TARN__KEY_UINT_AT("framecnt", struct afp_port, framecnt, 1, AFP_MAX_FRAMECNT, 0,
	                  "frames per ring", .def_text = "the queue's nb_desc",
	                  .doc = "Rounded up to whole blocks; at most 1 GiB per ring"),
	TARN__KEY_UINT_AT("blocksz", struct afp_port, blocksz, 1, AFP_MAX_BLOCKSZ, 0,
	                  "ring block size: a multiple of the page size, at least framesz",
	                  .metavar = "B", .def_text = "framesz rounded up to the page size",
	                  .doc = "With rxring=v3 it is the unit the kernel hands over (and must "
	                         "hold MTU + 148)"),
	TARN__KEY_ENUM_AT("rxring", struct afp_port, rxring, afp_rxrings, AFP_RX_V2, "receive ring",
	                  .doc = "v2 = TPACKET_V2, handed over packet by packet; v3 = TPACKET_V3, "
	                         "a block handed over when full or after 1 ms (see \"V2 or V3\")"),
	TARN__KEY_ENUM_AT("tx", struct afp_port, tx_ring, afp_tx_modes, 0, "transmit",
	                  .doc = "mmsg: one sendmmsg() per burst (up to 64 packets per call) "
	                         "straight from the mbufs, an iovec per segment; ring: packets "
	                         "copied into frames, one sendto(MSG_DONTWAIT) per burst"),
	TARN__KEY_UINT_AT("qdisc_bypass", struct afp_port, qdisc_bypass, 0, 1, 1,
	                  "1: PACKET_QDISC_BYPASS on the transmit sockets, packets skip the "
	                  "interface's qdisc",
	                  .metavar = "0|1"),
	TARN__KEY_END,
};
/* ------------------------------------------------------------------------ */
/* MTU */

/* Smallest framesz for an MTU (see AFP_MAX_PKT). */
static uint32_t min_framesz(uint32_t mtu)
{
	return (uint32_t)TPACKET_ALIGN(AFP_V2_MACOFF + AFP_MAX_PKT(mtu));
}

/* Smallest TPACKET_V3 block for an MTU. */
static uint32_t min_blocksz(uint32_t mtu)
{
	return (uint32_t)(AFP_V3_BLKHDR + AFP_V3_MACOFF + AFP_MAX_PKT(mtu));
}

/* Can the port's rings carry `mtu`? 0 or -EINVAL with a log line. */
static int check_mtu(const struct tarn__eth_dev *dev, uint32_t mtu, const char *what)
{
	const struct afp_port *p = dev->priv;

	if (p->framesz < min_framesz(mtu)) {
		TARN__ERR(
		    AFP_LOG,
		    "port '%s': %s: framesz %u cannot hold a packet of MTU %u: it needs "
		    "framesz >= %u (MTU + %u bytes of Ethernet header and VLAN tag + %u bytes "
		    "of ring header); give a larger framesz",
		    dev->name, what, p->framesz, mtu, min_framesz(mtu),
		    AFP_ETH_HLEN + AFP_VLAN_HLEN, (unsigned)AFP_V2_MACOFF);
		return -EINVAL;
	}
	if (p->rxring == AFP_RX_V3 && p->blocksz < min_blocksz(mtu)) {
		TARN__ERR(AFP_LOG,
		          "port '%s': %s: blocksz %u cannot hold a packet of MTU %u in a "
		          "TPACKET_V3 block: it needs blocksz >= %u",
		          dev->name, what, p->blocksz, mtu, min_blocksz(mtu));
		return -EINVAL;
	}
	return 0;
}

/* The TX queues check packet lengths against the MTU: tell them. */
static void mtu_changed(struct tarn__eth_dev *dev, uint32_t mtu)
{
	tarn__lif_txq_mtu(dev, offsetof(struct afp_txq, mtu), mtu);
}

/* The interface, for linux_if.c: ioctls by index on the control socket
 * (fault point "afp-ioctl"), promiscuous mode as its membership, the speed
 * from ethtool. */
static const struct tarn__lif_ops afp_lif_ops = {
	.fault = "afp-ioctl",
	.mtu_check = check_mtu,
	.mtu_changed = mtu_changed,
};

/* ------------------------------------------------------------------------ */
/* Create and close */

/* What the key table cannot say: blocksz against the page size and framesz. */
static int keys_check(struct tarn__eth_dev *dev, struct afp_port *p)
{
	const uint32_t page = (uint32_t)sysconf(_SC_PAGESIZE);

	if (p->blocksz == 0)
		p->blocksz = (p->framesz + page - 1) / page * page;
	if (p->blocksz % page != 0 || p->blocksz < p->framesz) {
		TARN__ERR(AFP_LOG,
		          "port spec '%s': blocksz %u must be a multiple of the page size (%u) "
		          "and at least framesz (%u)",
		          dev->spec, p->blocksz, page, p->framesz);
		return -EINVAL;
	}
	return 0;
}

/* The control socket (protocol 0: it never receives) carries the ioctls and
 * the promiscuous membership; the queues' sockets are made at start. */
static int afp_create(struct tarn__eth_dev *dev, const struct tarn__eth_spec *spec)
{
	struct afp_port *p = dev->priv;
	struct tarn__lif *l = &p->lif;
	struct tarn_ether_addr if_mac;

	l->ops = &afp_lif_ops;
	l->fd = -1;
	int rc = keys_check(dev, p);
	if (rc < 0)
		return rc;
	l->fd =
	    TARN__FAULT("afp-socket", EMFILE) ? -1 : socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (l->fd < 0)
		return tarn__afp_open_error(dev, "cannot open an AF_PACKET socket", errno);
	rc = tarn__lif_attach(dev, l, &if_mac);
	if (rc == 0)
		rc = tarn__lif_mac_init(dev, l, spec, &if_mac);
	if (rc == 0)
		rc = check_mtu(dev, l->mtu_known, l->ifname);
	if (rc < 0) {
		tarn__lif_close(l);
		return rc;
	}
	dev->mtu = l->mtu_known;
	dev->promiscuous = 0;
	TARN__INFO(AFP_LOG,
	           "port '%s': af_packet on %s (index %d), MTU %u, %s receive ring, frames of %u "
	           "in blocks of %u",
	           dev->name, l->ifname, l->ifindex, l->mtu_known,
	           p->rxring == AFP_RX_V3 ? "TPACKET_V3" : "TPACKET_V2", p->framesz, p->blocksz);
	return 0;
}

/* Closing the control socket drops the promiscuous membership. */
static void afp_close(struct tarn__eth_dev *dev)
{
	tarn__lif_close(tarn__lif_of(dev));
}

/* ------------------------------------------------------------------------ */
/* Queues */

/* ethdev checked the queue against qpairs and the pool: its mbufs have
 * room after the headroom. The socket and ring come at start. */
static int afp_rx_queue_setup(struct tarn__eth_dev *dev, void *qd, const struct tarn__eth_qconf *c)
{
	struct afp_rxq *q = qd;
	int rc = tarn__afp_ring_check(dev, dev->priv, c->nb_desc, "RX", c->id);

	if (rc < 0)
		return rc;
	q->s.fd = -1;
	q->mp = c->mp;
	q->stats = c->stats;
	q->port_id = dev->port_id;
	q->queue_id = c->id;
	q->nb_desc = c->nb_desc;
	q->room = (uint16_t)c->room;
	return 0;
}

/* The socket (and ring, tx=ring) come at start; the MTU is the port's. */
static int afp_tx_queue_setup(struct tarn__eth_dev *dev, void *qd, const struct tarn__eth_qconf *c)
{
	struct afp_port *p = dev->priv;
	struct afp_txq *q = qd;
	int rc = tarn__afp_ring_check(dev, p, c->nb_desc, "TX", c->id);

	if (rc < 0)
		return rc;
	q->s.fd = -1;
	q->stats = c->stats;
	q->port_id = dev->port_id;
	q->queue_id = c->id;
	q->nb_desc = c->nb_desc;
	q->mtu = dev->mtu;
	memcpy(q->ifname, p->lif.ifname, IFNAMSIZ);
	return 0;
}

/* The sockets were closed at stop; closing again is harmless. */
static void afp_rx_queue_release(struct tarn__eth_dev *dev, void *q)
{
	(void)dev;
	tarn__afp_sock_close(&((struct afp_rxq *)q)->s);
}

/* As for RX: the socket was closed at stop. */
static void afp_tx_queue_release(struct tarn__eth_dev *dev, void *q)
{
	(void)dev;
	tarn__afp_sock_close(&((struct afp_txq *)q)->s);
}

/* ------------------------------------------------------------------------ */
/* Start and stop */

/* Close every queue's socket: what waited in a receive ring is lost, the
 * kernel's drop counter is read first. */
static void afp_stop(struct tarn__eth_dev *dev)
{
	for (uint16_t q = 0; q < TARN_ETH_MAX_QUEUES; q++) {
		struct afp_txq *txq = dev->txq[q];
		struct afp_rxq *rxq = dev->rxq[q];
		if (txq != NULL && txq->s.fd >= 0) {
			/* Whatever a soft error left queued goes now. */
			(void)sendto(txq->s.fd, NULL, 0, MSG_DONTWAIT, NULL, 0);
			tarn__afp_sock_close(&txq->s);
		}
		if (rxq != NULL && rxq->s.fd >= 0) {
			tarn__afp_rx_sync_drops(rxq);
			tarn__afp_sock_close(&rxq->s);
		}
	}
}

/* The interface up (and what configure recorded applied), then a socket
 * per queue: TX first, then RX in one fanout group when there are several. */
static int afp_start(struct tarn__eth_dev *dev)
{
	struct afp_port *p = dev->priv;
	char name[IFNAMSIZ];
	int fanout = -1;
	int rc = tarn__lif_start(dev, name);

	if (rc == 0)
		mtu_changed(dev, dev->mtu);
	for (uint16_t q = 0; rc == 0 && q < dev->nb_txq; q++)
		rc = tarn__afp_txq_open(dev, p, dev->txq[q]);
	for (uint16_t q = 0; rc == 0 && q < dev->nb_rxq; q++)
		rc = tarn__afp_rxq_open(dev, p, dev->rxq[q], dev->nb_rxq > 1 ? &fanout : NULL);
	if (rc < 0) {
		afp_stop(dev);
		return rc;
	}
	if (dev->nb_rxq > 1)
		TARN__INFO(AFP_LOG, "port '%s': %u RX queues in fanout group %u", dev->name,
		           (unsigned)dev->nb_rxq, (unsigned)fanout);
	return 0;
}

const struct tarn__eth_driver tarn__eth_af_packet_driver = {
	.name = "af_packet",
	.summary = "Linux interface through PACKET_MMAP rings",
	.keys = afp_keys,
	.priv_size = sizeof(struct afp_port),
	.rxq_size = sizeof(struct afp_rxq),
	.txq_size = sizeof(struct afp_txq),
	.rx_data_min = 1,
	.create = afp_create,
	.close = afp_close,
	.rx_queue_setup = afp_rx_queue_setup,
	.tx_queue_setup = afp_tx_queue_setup,
	.rx_queue_release = afp_rx_queue_release,
	.tx_queue_release = afp_tx_queue_release,
	.start = afp_start,
	.stop = afp_stop,
	TARN__LIF_DRIVER_OPS,
	.rx_burst = tarn__afp_rx_burst,
	.tx_burst = tarn__afp_tx_burst,
};
