/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ctrl.c - af_xdp control path: the key table, create and close (the XDP
 * program loaded and the device queues claimed at create), queue setup,
 * start and stop, and what the frames say about an MTU. The link,
 * promiscuous, MTU and MAC ops are drivers/net/common/linux_if.c's, with
 * this driver's MTU rule (mtu_check) and TX length check (mtu_changed).
 */
#include <errno.h>
#include <linux/ethtool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "axdp_priv.h"

static const struct tarn__key_word axdp_modes[] = {
	{ "auto", AXDP_MODE_AUTO, "native when the driver has XDP, else generic", 0 },
	{ "native", AXDP_MODE_NATIVE, "the driver's XDP", 0 },
	{ "generic", AXDP_MODE_GENERIC, "skb-based XDP, any interface", 0 },
	TARN__KEY_WORDS_END,
};

static const struct tarn__key_word axdp_zerocopy[] = {
	{ "auto", AXDP_ZC_AUTO, "zero copy when the driver can", 0 },
	{ "on", AXDP_ZC_ON, "zero copy or fail", 0 },
	{ "1", AXDP_ZC_ON, NULL, 1 },
	{ "off", AXDP_ZC_OFF, "copy mode", 0 },
	{ "0", AXDP_ZC_OFF, NULL, 1 },
	TARN__KEY_WORDS_END,
};

static const struct tarn__key_word axdp_attach[] = {
	{ "link", 0, "a bpf_link: the kernel detaches the program when the process ends", 0 },
	{ "legacy", 1, "netlink", 0 },
	TARN__KEY_WORDS_END,
};

static const struct tarn__key axdp_keys[] = {
	TARN__LIF_KEY_ATTACH(struct axdp_port),
	TARN__KEY_UINT_AT("queue", struct axdp_port, queue, 0, 65535, 0, "the first device queue",
	                  .metavar = "Q", .doc = "Port queue i is device queue Q + i"),
	TARN__KEY_UINT_AT("queues", struct axdp_port, queues, 1, TARN_ETH_MAX_QUEUES, 1,
	                  "device queues the port may use, its queue pairs",
	                  .doc = "Device queues Q .. Q+N-1, all within the interface's queues, "
	                         "claimed at create: a queue setup beyond them is refused, another "
	                         "port cannot take them",
	                  .flags = TARN__ETH_KEY_QUEUES),
	TARN__KEY_ENUM_AT("mode", struct axdp_port, mode, axdp_modes, AXDP_MODE_AUTO,
	                  "how the XDP program is attached",
	                  .doc = "native: XDP_FLAGS_DRV_MODE (veth has it); generic: "
	                         "XDP_FLAGS_SKB_MODE"),
	TARN__KEY_ENUM_AT("zerocopy", struct axdp_port, zerocopy, axdp_zerocopy, AXDP_ZC_AUTO,
	                  "zero copy, the driver writing into the pool's mbufs, or copy mode",
	                  .doc = "on: bind with XDP_ZEROCOPY, the NIC DMAs into the pool (start "
	                         "fails where the driver or the memory cannot); off: XDP_COPY; "
	                         "auto: the kernel chooses, zero copy where the driver has it and "
	                         "the pool is in physically contiguous hugepages. 1 and 0 are "
	                         "taken for on and off"),
	TARN__KEY_UINT_AT("busy_poll", struct axdp_port, busy_poll, 0, 1000000, 0,
	                  "SO_BUSY_POLL microseconds with SO_PREFER_BUSY_POLL; 0: off",
	                  .metavar = "USECS",
	                  .doc = "With a budget of 64 on each socket: an empty RX burst drives the "
	                         "device's NAPI from the polling thread. Above net.core.busy_read "
	                         "it needs CAP_NET_ADMIN"),
	TARN__KEY_ENUM_AT("attach", struct axdp_port, legacy, axdp_attach, 0,
	                  "how the program is attached",
	                  .doc = "legacy (ip link set dev X xdp) is for kernels without XDP links: "
	                         "the program stays after a crash, and the next create on the "
	                         "interface removes it"),
	TARN__KEY_END,
};

/* ------------------------------------------------------------------------ */
/* MTU */

/* Can frames of `chunk` bytes (the data room, at most a page) carry `mtu`? */
static int check_frame(const struct tarn__eth_dev *dev, uint32_t chunk, uint32_t mtu,
                       const char *what)
{
	if (chunk - AXDP_XDP_HEADROOM < AXDP_MAX_PKT(mtu)) {
		TARN__ERR(AXDP_LOG,
		          "port '%s': %s: frames of %u bytes (the data room, at most a page) hold "
		          "%u bytes after the %u-byte XDP headroom: too small for MTU %u (%u bytes "
		          "with the Ethernet header and a VLAN tag)",
		          dev->name, what, chunk, chunk - AXDP_XDP_HEADROOM, AXDP_XDP_HEADROOM, mtu,
		          AXDP_MAX_PKT(mtu));
		return -EINVAL;
	}
	return 0;
}

/* The frames of every RX queue set up, and the largest frame there is,
 * must carry `mtu`. */
static int mtu_check(const struct tarn__eth_dev *dev, uint32_t mtu, const char *what)
{
	for (uint16_t q = 0; q < TARN_ETH_MAX_QUEUES; q++) {
		const struct axdp_rxq *rxq = dev->rxq[q];
		if (rxq != NULL && check_frame(dev, rxq->chunk, mtu, what) < 0)
			return -EINVAL;
	}
	return check_frame(dev, AXDP_MAX_CHUNK, mtu, what);
}

/* The TX queues check packet lengths against the MTU: tell them. */
static void mtu_changed(struct tarn__eth_dev *dev, uint32_t mtu)
{
	tarn__lif_txq_mtu(dev, offsetof(struct axdp_txq, mtu), mtu);
}

/* The interface, for linux_if.c: ioctls by index on the control socket,
 * promiscuous mode as its membership, the speed from ethtool. */
static const struct tarn__lif_ops axdp_lif_ops = {
	.mtu_check = mtu_check,
	.mtu_changed = mtu_changed,
	.mtu_einval_hint = " (with an XDP program attached, the driver may allow less)",
};

/* ------------------------------------------------------------------------ */
/* Create and close */

/* Queues of the interface (the larger of RX and TX, as the kernel counts
 * them for AF_XDP): ETHTOOL_GCHANNELS, else sysfs. 0 when unknown. */
static uint32_t if_queues(struct axdp_port *p)
{
	struct ethtool_channels ch;

	memset(&ch, 0, sizeof(ch));
	ch.cmd = ETHTOOL_GCHANNELS;
	if (tarn__lif_ethtool(&p->lif, &ch) == 0) {
		const uint32_t rx = ch.rx_count + ch.combined_count;
		const uint32_t tx = ch.tx_count + ch.combined_count;
		const uint32_t m = rx > tx ? rx : tx;
		if (m != 0)
			return m;
	}
	/* No ethtool channels: count /sys/class/net/IF/queues/rx-N (right when
	 * sysfs was mounted in this network namespace). */
	uint32_t nq = 0;
	char path[128];
	for (;;) {
		snprintf(path, sizeof(path), "/sys/class/net/%s/queues/rx-%u", p->lif.ifname, nq);
		if (access(path, F_OK) != 0)
			break;
		nq++;
	}
	return nq;
}

/* "queue Q" or "queues Q..R" */
static const char *queues_str(char *buf, size_t size, uint32_t first, uint32_t n)
{
	if (n == 1)
		snprintf(buf, size, "queue %u", first);
	else
		snprintf(buf, size, "queues %u..%u", first, first + n - 1);
	return buf;
}

/* AF_XDP at all, and the right to use it: open a socket and close it. */
static int xdp_probe(const struct tarn__eth_dev *dev)
{
	int xfd = socket(AF_XDP, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (xfd >= 0) {
		close(xfd);
		return 0;
	}
	const int rc = -errno;
	if (rc == -EAFNOSUPPORT || rc == -EPROTONOSUPPORT || rc == -ENOSYS) {
		TARN__ERR(AXDP_LOG,
		          "port spec '%s': this kernel has no AF_XDP sockets (%s): it needs "
		          "CONFIG_XDP_SOCKETS (Linux 4.18 or later)",
		          dev->spec, strerror(-rc));
		return -EAFNOSUPPORT;
	}
	if (rc == -EPERM || rc == -EACCES) {
		TARN__ERR(AXDP_LOG,
		          "port spec '%s': cannot open an AF_XDP socket: %s: af_xdp ports need "
		          "CAP_NET_RAW, CAP_NET_ADMIN and CAP_BPF (or CAP_SYS_ADMIN): run as root",
		          dev->spec, strerror(-rc));
		return -EPERM;
	}
	TARN__ERR(AXDP_LOG, "port spec '%s': cannot open an AF_XDP socket: %s", dev->spec,
	          strerror(-rc));
	return rc;
}

/* The control socket (AF_PACKET, protocol 0: it never receives): the
 * ioctls and the promiscuous membership. */
static int ctl_open(const struct tarn__eth_dev *dev, struct tarn__lif *l)
{
	l->fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (l->fd >= 0)
		return 0;
	const int rc = -errno;
	TARN__ERR(AXDP_LOG, "port spec '%s': cannot open a control socket: %s%s", dev->spec,
	          strerror(-rc), rc == -EPERM ? " (needs CAP_NET_RAW: run as root)" : "");
	return rc == -EACCES ? -EPERM : rc;
}

/* The device queues the port asks for must exist (when the count is known),
 * and the interface's MTU must fit a frame. */
static int iface_check(const struct tarn__eth_dev *dev, struct axdp_port *p)
{
	const struct tarn__lif *l = &p->lif;
	const uint32_t n = p->dev_queues;

	if (n != 0 && p->queue + p->queues > n) {
		if (p->queues == 1)
			TARN__ERR(
			    AXDP_LOG,
			    "port spec '%s': queue %u is out of range: %s has %u queue%s (0..%u)",
			    dev->spec, p->queue, l->ifname, n, n == 1 ? "" : "s", n - 1);
		else
			TARN__ERR(
			    AXDP_LOG,
			    "port spec '%s': queues %u..%u are out of range: %s has %u queue%s "
			    "(0..%u)",
			    dev->spec, p->queue, p->queue + p->queues - 1, l->ifname, n,
			    n == 1 ? "" : "s", n - 1);
		return -EINVAL;
	}
	if (AXDP_MAX_PKT(l->mtu_known) > AXDP_MAX_CHUNK - AXDP_XDP_HEADROOM) {
		TARN__ERR(AXDP_LOG,
		          "port spec '%s': %s has MTU %u: an AF_XDP frame (a page less %u bytes of "
		          "XDP headroom) holds packets of MTU %u at most",
		          dev->spec, l->ifname, l->mtu_known, AXDP_XDP_HEADROOM,
		          AXDP_MAX_CHUNK - AXDP_XDP_HEADROOM - AXDP_ETH_HLEN - AXDP_VLAN_HLEN);
		return -EINVAL;
	}
	return 0;
}

static const char *const axdp_mode_names[] = { "auto", "native", "generic" };
static const char *const axdp_zc_names[] = { "auto", "on", "off" };

/* The interface checked, the XDP program loaded (or shared with the other
 * ports on the interface) and the device queues claimed; the sockets come
 * at start. mac= goes to the interface last, so nothing is left to undo on
 * it when an earlier step fails. */
static int axdp_create(struct tarn__eth_dev *dev, const struct tarn__eth_spec *spec)
{
	struct axdp_port *p = dev->priv;
	struct tarn__lif *l = &p->lif;
	struct tarn_ether_addr if_mac;
	char qs[48];

	l->ops = &axdp_lif_ops;
	l->fd = -1;
	int rc = xdp_probe(dev);
	if (rc == 0)
		rc = ctl_open(dev, l);
	if (rc < 0)
		return rc;
	rc = tarn__lif_attach(dev, l, &if_mac);
	if (rc == 0) {
		p->dev_queues = if_queues(p);
		rc = iface_check(dev, p);
	}
	if (rc == 0)
		rc = tarn__axdp_prog_get(dev->name, dev->port_id, l->ifindex, l->ifname,
		                         p->dev_queues, p->queue, p->queues, &p->prog);
	if (rc == 0 && (rc = tarn__lif_mac_init(dev, l, spec, &if_mac)) < 0) {
		tarn__axdp_prog_put(p->prog, p->queue, p->queues);
		p->prog = NULL;
	}
	if (rc < 0) {
		tarn__lif_close(l);
		return rc;
	}
	dev->mtu = l->mtu_known;
	dev->promiscuous = 0;
	TARN__INFO(
	    AXDP_LOG, "port '%s': af_xdp on %s (index %d), %s of %u, MTU %u, mode=%s, zerocopy=%s",
	    dev->name, l->ifname, l->ifindex, queues_str(qs, sizeof(qs), p->queue, p->queues),
	    p->dev_queues, l->mtu_known, axdp_mode_names[p->mode], axdp_zc_names[p->zerocopy]);
	return 0;
}

/* The program goes when its last port closes; closing the control socket
 * drops the promiscuous membership. */
static void axdp_close(struct tarn__eth_dev *dev)
{
	struct axdp_port *p = dev->priv;

	tarn__axdp_prog_put(p->prog, p->queue, p->queues);
	p->prog = NULL;
	tarn__lif_close(&p->lif);
}

/* ------------------------------------------------------------------------ */
/* Queues */

static uint32_t ring_size_for(uint32_t n)
{
	uint32_t s = 1;
	while (s < n)
		s <<= 1;
	return s;
}

/* The socket and the UMEM come at start. */
static int axdp_rx_queue_setup(struct tarn__eth_dev *dev, void *qd, const struct tarn__eth_qconf *c)
{
	struct axdp_port *p = dev->priv;
	struct axdp_rxq *q = qd;
	char what[32];

	if (tarn_mempool_memzone(c->mp) == NULL) {
		TARN__ERR(AXDP_LOG,
		          "port '%s': RX queue %u: pool '%s' is not in tarn memory (its memzone is "
		          "the UMEM)",
		          dev->name, (unsigned)c->id, tarn_mempool_name(c->mp));
		return -EINVAL;
	}
	const uint32_t room = (uint32_t)tarn_pktmbuf_data_room_size(c->mp);
	const uint32_t chunk = room < AXDP_MAX_CHUNK ? room : AXDP_MAX_CHUNK;
	snprintf(what, sizeof(what), "RX queue %u", (unsigned)c->id);
	int rc = check_frame(dev, chunk, dev->mtu, what);
	if (rc < 0)
		return rc;
	if (c->nb_desc > tarn_mempool_size(c->mp))
		TARN__WARN(
		    AXDP_LOG,
		    "port '%s': RX queue %u: %u descriptors but pool '%s' has only %u mbufs: "
		    "the fill ring takes what there is (rx_nombuf counts the rest)",
		    dev->name, (unsigned)c->id, c->nb_desc, tarn_mempool_name(c->mp),
		    tarn_mempool_size(c->mp));
	q->fd = -1;
	q->mp = c->mp;
	q->stats = c->stats;
	q->port_id = dev->port_id;
	q->queue_id = c->id;
	q->dev_queue = p->queue + c->id;
	q->socket = c->socket;
	q->nb_desc = c->nb_desc;
	q->ring_size = ring_size_for(c->nb_desc);
	q->chunk = chunk;
	q->batch = c->nb_desc / 2 < AXDP_FILL_BATCH ? (c->nb_desc / 2 ? c->nb_desc / 2 : 1)
	                                            : AXDP_FILL_BATCH;
	q->rearm = ((uint64_t)1 << 16) | ((uint64_t)1 << 32) | ((uint64_t)dev->port_id << 48);
	return 0;
}

/* TX queue i sends on RX queue i's socket, from its UMEM (at start). */
static int axdp_tx_queue_setup(struct tarn__eth_dev *dev, void *qd, const struct tarn__eth_qconf *c)
{
	struct axdp_txq *q = qd;

	q->fd = -1;
	q->stats = c->stats;
	q->port_id = dev->port_id;
	q->queue_id = c->id;
	q->socket = c->socket;
	q->nb_desc = c->nb_desc;
	q->ring_size = ring_size_for(c->nb_desc);
	q->mtu = dev->mtu;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Start and stop */

/* Packets stop going to the sockets first (they go to the stack), then
 * every socket is closed and its frames come back. */
static void axdp_stop(struct tarn__eth_dev *dev)
{
	struct axdp_port *p = dev->priv;

	if (p->attached) {
		tarn__axdp_prog_detach(p->prog);
		p->attached = 0;
	}
	for (uint16_t q = 0; q < TARN_ETH_MAX_QUEUES; q++) {
		struct axdp_rxq *rxq = dev->rxq[q];
		if (rxq != NULL)
			tarn__axdp_queue_close(dev, rxq);
	}
}

/* "started on veth0 queue 0: XDP in native mode (bpf_link), copy mode ..." */
static void log_started(const struct tarn__eth_dev *dev, const struct axdp_port *p,
                        const char *name)
{
	unsigned zc = 0;
	char qs[48];

	for (uint16_t q = 0; q < dev->nb_rxq; q++)
		zc += ((struct axdp_rxq *)dev->rxq[q])->zc != 0;
	TARN__INFO(AXDP_LOG,
	           "port '%s': started on %s %s: XDP in %s mode (%s), %s; UMEM: pool '%s'",
	           dev->name, name, queues_str(qs, sizeof(qs), p->queue, dev->nb_rxq),
	           tarn__axdp_prog_mode_name(p->prog), p->legacy ? "netlink attach" : "bpf_link",
	           zc == dev->nb_rxq ? "zero-copy"
	           : zc == 0         ? "copy mode (no zero-copy)"
	                             : "zero-copy on some queues",
	           tarn_mempool_name(((struct axdp_rxq *)dev->rxq[0])->mp));
}

/* The interface up (and what configure recorded applied), a socket per RX
 * queue (carrying TX queue i too), then the program attached. */
static int axdp_start(struct tarn__eth_dev *dev)
{
	struct axdp_port *p = dev->priv;
	char name[IFNAMSIZ];

	if (dev->nb_txq > dev->nb_rxq) {
		TARN__ERR(AXDP_LOG,
		          "port '%s': start: %u TX queues but %u RX queues: TX queue i uses the "
		          "socket, and so the UMEM (pool), of RX queue i; configure at least as "
		          "many RX queues as TX queues",
		          dev->name, (unsigned)dev->nb_txq, (unsigned)dev->nb_rxq);
		return -EINVAL;
	}
	int rc = tarn__lif_start(dev, name);
	if (rc < 0)
		return rc;
	for (uint16_t q = 0; rc == 0 && q < dev->nb_rxq; q++)
		rc = tarn__axdp_queue_open(dev, dev->rxq[q], q < dev->nb_txq ? dev->txq[q] : NULL);
	if (rc == 0)
		rc = tarn__axdp_prog_attach(p->prog, dev->name, p->mode, p->legacy);
	if (rc < 0) {
		axdp_stop(dev);
		return rc;
	}
	p->attached = 1;
	log_started(dev, p, name);
	return 0;
}

const struct tarn__eth_driver tarn__eth_af_xdp_driver = {
	.name = "af_xdp",
	.summary = "Linux interface through AF_XDP sockets whose UMEM is the RX queue's mbuf pool",
	.keys = axdp_keys,
	.priv_size = sizeof(struct axdp_port),
	.rxq_size = sizeof(struct axdp_rxq),
	.txq_size = sizeof(struct axdp_txq),
	/* A frame is an mbuf's whole data room, at least AXDP_MIN_CHUNK. */
	.rx_data_min = AXDP_MIN_CHUNK - TARN_PKTMBUF_HEADROOM,
	.rx_data_what = "an AF_XDP frame",
	.create = axdp_create,
	.close = axdp_close,
	.rx_queue_setup = axdp_rx_queue_setup,
	.tx_queue_setup = axdp_tx_queue_setup,
	.start = axdp_start,
	.stop = axdp_stop,
	TARN__LIF_DRIVER_OPS,
	.rx_burst = tarn__axdp_rx_burst,
	.tx_burst = tarn__axdp_tx_burst,
};
