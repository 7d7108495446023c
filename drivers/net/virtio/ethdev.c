/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ethdev.c - the "virtio" driver: a port on a virtio-net PCI device that
 * lib/pci opens through vfio-pci or uio_pci_generic.
 *
 * create   opens the device, resets it, negotiates the features once to
 *          learn what the device gives (MAC, MTU, queue pairs, control
 *          queue), and resets it again: it stays silent until start.
 * setup    a queue's ring and tables in tarn memory on the device's node
 *          (the queue's socket when the device names none).
 * start    reset, negotiate, program every queue (RX rings full of mbufs),
 *          the control queue, DRIVER_OK; then the control commands (queue
 *          pairs, promiscuous mode, the MAC when one was asked for).
 * stop     reset: the device forgets every ring and stops DMA at once; the
 *          packets still in TX rings are freed, RX mbufs stay for the next
 *          start.
 * close    reset, free, close the PCI device.
 *
 * Because start always resets first, a device left running by a process
 * killed with -9 is taken over cleanly by the next one.
 */
#include <stdio.h>
#include <string.h>

#include "virtio_priv.h"

enum { MRG_OFF = 0, MRG_ON = 1 };

/* dev->priv: the keys, then the device. */
struct vt_port {
	char pci_addr[TARN_PCI_NAME_SIZE]; /* pci= */
	int layout;                        /* layout= (enum vt_layout) */
	int mrg_rxbuf;                     /* mrg_rxbuf= */
	struct tarn_pci_device *pci;
	struct vt_hw hw;
	struct vt_ctrlq ctrl;
	bool has_ctrl;
	uint64_t want;      /* features asked for */
	uint16_t max_pairs; /* queue pairs of the device */
	uint32_t max_mtu;   /* from the device (MTU feature), else TARN_ETH_MAX_MTU */
	bool mac_given;     /* mac= in the spec: set it on the device */
};

static int key_pci(const char *value, void *field, size_t size, char *why, size_t why_size)
{
	struct tarn_pci_addr a;
	if (tarn_pci_addr_parse(value, &a) < 0 || tarn_pci_addr_format(&a, field, size) == NULL) {
		snprintf(why, why_size, "expected a PCI address DDDD:BB:DD.F or BB:DD.F");
		return -EINVAL;
	}
	return 0;
}

static const struct tarn__key_word layout_words[] = {
	{ "auto", VT_LAYOUT_AUTO, "modern when the device has it", 0 },
	{ "modern", VT_LAYOUT_MODERN, "virtio 1.0 capabilities", 0 },
	{ "legacy", VT_LAYOUT_LEGACY, "the legacy I/O BAR", 0 },
	TARN__KEY_WORDS_END,
};

static const struct tarn__key_word onoff_words[] = {
	{ "on", 1, NULL, 0 }, { "off", 0, NULL, 0 }, { "1", 1, NULL, 1 },
	{ "0", 0, NULL, 1 },  TARN__KEY_WORDS_END,
};

static const struct tarn__key vt_keys[] = {
	TARN__KEY_CUSTOM_AT("pci", struct vt_port, pci_addr, key_pci,
	                    "the virtio-net device, bound to vfio-pci or uio_pci_generic",
	                    .metavar = "ADDR", .values = "a PCI address, DDDD:BB:DD.F or BB:DD.F",
	                    .doc = "scripts/devbind.sh --status lists them; tarn-doctor --pci ADDR "
	                           "says what stops one from opening",
	                    .flags = TARN__KEY_REQUIRED),
	TARN__KEY_ENUM_AT("layout", struct vt_port, layout, layout_words, VT_LAYOUT_AUTO,
	                  "register layout of a transitional device",
	                  .doc = "A virtio 1.0-only device (behind an IOMMU, 1af4:1041) has no "
	                         "legacy layout"),
	TARN__KEY_ENUM_AT("mrg_rxbuf", struct vt_port, mrg_rxbuf, onoff_words, MRG_ON,
	                  "let a received packet span several mbufs, VIRTIO_NET_F_MRG_RXBUF",
	                  .doc = "off: every RX mbuf must hold a whole frame of the MTU"),
	TARN__KEY_END,
};

/* ------------------------------------------------------------------------ */
/* Create and close */

static int open_error(int err)
{
	/* -ENODEV means "unknown driver" to ethdev: no such device is ENOENT. */
	return err == ENODEV ? -ENOENT : -err;
}

/* What the device gives: MAC, MTU, queue pairs, link. */
static void read_device(struct tarn__eth_dev *dev, struct vt_port *p)
{
	struct vt_hw *hw = &p->hw;
	p->max_pairs = 1;
	if (tarn__vt_has(hw, VT_NET_F_MQ) && tarn__vt_has(hw, VT_NET_F_CTRL_VQ)) {
		uint16_t n = 0;
		tarn__vt_read_config(hw, VT_NET_CFG_MAX_PAIRS, &n, 2);
		if (n >= 1)
			p->max_pairs = n > TARN_ETH_MAX_QUEUES ? TARN_ETH_MAX_QUEUES : n;
	}
	p->max_mtu = TARN_ETH_MAX_MTU;
	if (tarn__vt_has(hw, VT_NET_F_MTU)) {
		uint16_t mtu = 0;
		tarn__vt_read_config(hw, VT_NET_CFG_MTU, &mtu, 2);
		if (mtu >= TARN_ETH_MIN_MTU && mtu < p->max_mtu)
			p->max_mtu = mtu;
		if (mtu >= TARN_ETH_MIN_MTU && mtu < dev->mtu)
			dev->mtu = mtu;
	}
	if (tarn__vt_has(hw, VT_NET_F_MAC) && !p->mac_given)
		tarn__vt_read_config(hw, VT_NET_CFG_MAC, dev->mac.addr_bytes, TARN_ETHER_ADDR_LEN);
	p->has_ctrl = tarn__vt_has(hw, VT_NET_F_CTRL_VQ);
}

static int vt_create(struct tarn__eth_dev *dev, const struct tarn__eth_spec *spec)
{
	struct vt_port *p = dev->priv;
	p->mac_given = tarn__eth_spec_get(spec, "mac") != NULL;
	p->pci = tarn_pci_open(p->pci_addr);
	if (p->pci == NULL)
		return open_error((int)tarn_errno);
	const struct tarn_pci_info *info = tarn_pci_device_info(p->pci);
	int rc = -ENXIO;
	if (info->vendor_id != 0x1af4 || (info->device_id != 0x1000 && info->device_id != 0x1041)) {
		TARN__ERR(VT_LOG,
		          "%s: not a virtio-net device (%04x:%04x; expected 1af4:1000 or "
		          "1af4:1041)",
		          p->pci_addr, info->vendor_id, info->device_id);
		goto fail;
	}
	rc = tarn__vt_hw_init(&p->hw, p->pci, (enum vt_layout)p->layout);
	if (rc < 0)
		goto fail;
	p->want = VT_BIT(VT_NET_F_MAC) | VT_BIT(VT_NET_F_STATUS) | VT_BIT(VT_NET_F_MTU) |
	          VT_BIT(VT_NET_F_CTRL_VQ) | VT_BIT(VT_NET_F_CTRL_RX) |
	          VT_BIT(VT_NET_F_CTRL_MAC_ADDR) | VT_BIT(VT_NET_F_MQ) |
	          VT_BIT(VT_NET_F_SPEED_DUPLEX) | VT_BIT(VT_F_ANY_LAYOUT) | VT_BIT(VT_F_VERSION_1) |
	          VT_BIT(VT_F_ACCESS_PLATFORM);
	if (p->mrg_rxbuf == MRG_ON)
		p->want |= VT_BIT(VT_NET_F_MRG_RXBUF);
	rc = tarn__vt_negotiate(&p->hw, p->want);
	if (rc < 0)
		goto fail;
	read_device(dev, p);
	tarn__vt_reset(&p->hw); /* silent until start */
	if (p->has_ctrl) {
		char name[TARN_NAME_SIZE];
		snprintf(name, sizeof(name), "vt%u_ctrl", (unsigned)dev->port_id);
		int node = info->numa_node >= 0 ? info->numa_node : dev->socket;
		rc = tarn__vt_ctrl_init(&p->ctrl, &p->hw, name, (uint16_t)(2 * p->max_pairs), node);
		if (rc < 0)
			goto fail;
	}
	dev->numa_node = info->numa_node;
	if (!dev->socket_given && info->numa_node >= 0)
		dev->socket = info->numa_node;
	/* Without merged buffers every RX mbuf holds a whole frame. */
	if (!tarn__vt_has(&p->hw, VT_NET_F_MRG_RXBUF)) {
		dev->rx_data_min = dev->mtu + TARN_ETHER_HDR_LEN + 4;
		snprintf(dev->rx_data_what, sizeof(dev->rx_data_what),
		         "a frame of MTU %u (mrg_rxbuf off)", dev->mtu);
	}
	TARN__INFO(VT_LOG,
	           "port %u: %s, %s layout, features 0x%llx, %u queue pair%s, MTU %u (max %u)%s",
	           (unsigned)dev->port_id, p->pci_addr, p->hw.modern ? "modern" : "legacy",
	           (unsigned long long)p->hw.features, p->max_pairs, p->max_pairs == 1 ? "" : "s",
	           dev->mtu, p->max_mtu, p->has_ctrl ? ", control queue" : "");
	return 0;
fail:
	tarn_pci_close(p->pci);
	p->pci = NULL;
	return rc;
}

static void vt_close(struct tarn__eth_dev *dev)
{
	struct vt_port *p = dev->priv;
	tarn__vt_reset(&p->hw);
	tarn__vt_ctrl_fini(&p->ctrl);
	tarn_pci_close(p->pci);
	p->pci = NULL;
}

/* ------------------------------------------------------------------------ */
/* Queues */

/* Descriptors of a ring: what was asked, within what the device takes, a
 * power of two (a legacy device's size is fixed). */
static uint16_t ring_size(const struct vt_port *p, uint16_t index, uint32_t asked)
{
	uint16_t max = tarn__vt_queue_max(&p->hw, index);
	if (!p->hw.modern || max == 0)
		return max;
	uint32_t n = asked < max ? asked : max;
	while (n & (n - 1))
		n &= n - 1;
	return (uint16_t)n;
}

static int queue_check(struct tarn__eth_dev *dev, const char *dir, uint16_t id, uint16_t index,
                       uint32_t nb_desc, uint16_t *size)
{
	struct vt_port *p = dev->priv;
	if (id >= p->max_pairs) {
		TARN__ERR(VT_LOG, "port %u: %s queue %u: the device has %u queue pair%s",
		          (unsigned)dev->port_id, dir, (unsigned)id, p->max_pairs,
		          p->max_pairs == 1 ? "" : "s (MQ)");
		return -EINVAL;
	}
	*size = ring_size(p, index, nb_desc);
	if (*size == 0) {
		TARN__ERR(VT_LOG, "port %u: %s queue %u: the device has no virtqueue %u",
		          (unsigned)dev->port_id, dir, (unsigned)id, (unsigned)index);
		return -EINVAL;
	}
	if (*size != nb_desc)
		TARN__INFO(VT_LOG,
		           "port %u: %s queue %u: %u descriptors (asked %u; the device takes "
		           "%s)",
		           (unsigned)dev->port_id, dir, (unsigned)id, *size, nb_desc,
		           p->hw.modern ? "powers of two up to its queue size" : "its fixed size");
	return 0;
}

static int ring_socket(const struct tarn__eth_dev *dev, int queue_socket)
{
	/* The ring on the device's node; the queue's when it names none. */
	return dev->numa_node >= 0 ? dev->numa_node : queue_socket;
}

static int vt_rx_queue_setup(struct tarn__eth_dev *dev, void *qd, const struct tarn__eth_qconf *c)
{
	struct vt_port *p = dev->priv;
	struct vt_rxq *q = qd;
	uint16_t index = (uint16_t)(2 * c->id), size;
	int rc = queue_check(dev, "RX", c->id, index, c->nb_desc, &size);
	if (rc < 0)
		return rc;
	char name[TARN_NAME_SIZE];
	snprintf(name, sizeof(name), "vt%u_rx%u", (unsigned)dev->port_id, (unsigned)c->id);
	q->stats = c->stats;
	return tarn__vt_rxq_init(q, &p->hw, name, index, size, ring_socket(dev, c->socket), c->mp,
	                         dev->port_id);
}

static int vt_tx_queue_setup(struct tarn__eth_dev *dev, void *qd, const struct tarn__eth_qconf *c)
{
	struct vt_port *p = dev->priv;
	struct vt_txq *q = qd;
	uint16_t index = (uint16_t)(2 * c->id + 1), size;
	int rc = queue_check(dev, "TX", c->id, index, c->nb_desc, &size);
	if (rc < 0)
		return rc;
	char name[TARN_NAME_SIZE];
	snprintf(name, sizeof(name), "vt%u_tx%u", (unsigned)dev->port_id, (unsigned)c->id);
	q->stats = c->stats;
	return tarn__vt_txq_init(q, &p->hw, name, index, size, ring_socket(dev, c->socket), p->pci);
}

static void vt_rx_queue_release(struct tarn__eth_dev *dev, void *q)
{
	(void)dev;
	tarn__vt_rxq_fini(q);
}

static void vt_tx_queue_release(struct tarn__eth_dev *dev, void *q)
{
	(void)dev;
	tarn__vt_txq_fini(q);
}

/* ------------------------------------------------------------------------ */
/* Start and stop */

static int ctrl_apply(struct tarn__eth_dev *dev, struct vt_port *p)
{
	int rc = 0;
	if (tarn__vt_has(&p->hw, VT_NET_F_MQ)) {
		uint16_t pairs = dev->nb_rxq > dev->nb_txq ? dev->nb_rxq : dev->nb_txq;
		rc = tarn__vt_ctrl_cmd(&p->ctrl, VT_CTRL_MQ, VT_CTRL_MQ_PAIRS_SET, &pairs, 2);
		if (rc < 0)
			return rc;
	}
	if (tarn__vt_has(&p->hw, VT_NET_F_CTRL_RX)) {
		uint8_t on = dev->promiscuous ? 1 : 0;
		rc = tarn__vt_ctrl_cmd(&p->ctrl, VT_CTRL_RX, VT_CTRL_RX_PROMISC, &on, 1);
		if (rc < 0)
			return rc;
	}
	if (p->mac_given && tarn__vt_has(&p->hw, VT_NET_F_CTRL_MAC_ADDR))
		rc = tarn__vt_ctrl_cmd(&p->ctrl, VT_CTRL_MAC, VT_CTRL_MAC_ADDR_SET,
		                       dev->mac.addr_bytes, TARN_ETHER_ADDR_LEN);
	return rc;
}

static int vt_start(struct tarn__eth_dev *dev)
{
	struct vt_port *p = dev->priv;
	int rc = tarn__vt_negotiate(&p->hw, p->want);
	if (rc < 0)
		return rc;
	for (uint16_t i = 0; i < dev->nb_rxq && rc == 0; i++) {
		struct vt_rxq *q = dev->rxq[i];
		rc = tarn__vt_rxq_prepare(q);
		if (rc == -ENOBUFS)
			TARN__ERR(VT_LOG,
			          "port %u: RX queue %u: its pool cannot fill %u descriptors",
			          (unsigned)dev->port_id, (unsigned)i, q->vq.size);
		if (rc == 0)
			rc = tarn__vt_queue_program(&p->hw, &q->vq);
	}
	for (uint16_t i = 0; i < dev->nb_txq && rc == 0; i++) {
		struct vt_txq *q = dev->txq[i];
		tarn__vt_txq_reset(q);
		rc = tarn__vt_queue_program(&p->hw, &q->vq);
	}
	if (rc == 0 && p->has_ctrl) {
		tarn__vt_vq_reset(&p->ctrl.vq);
		rc = tarn__vt_queue_program(&p->hw, &p->ctrl.vq);
	}
	if (rc < 0)
		goto fail;
	tarn__vt_set_status(&p->hw, tarn__vt_get_status(&p->hw) | VT_STATUS_DRIVER_OK);
	p->ctrl.ready = p->has_ctrl;
	if (p->has_ctrl && (rc = ctrl_apply(dev, p)) < 0)
		goto fail;
	for (uint16_t i = 0; i < dev->nb_rxq; i++)
		tarn__vt_notify(&((struct vt_rxq *)dev->rxq[i])->vq);
	return 0;
fail:
	p->ctrl.ready = false;
	tarn__vt_reset(&p->hw);
	return rc < 0 ? rc : -EIO;
}

static void vt_stop(struct tarn__eth_dev *dev)
{
	struct vt_port *p = dev->priv;
	p->ctrl.ready = false;
	tarn__vt_reset(&p->hw);
	for (uint16_t i = 0; i < dev->nb_txq; i++)
		if (dev->txq[i] != NULL)
			tarn__vt_txq_reset(dev->txq[i]);
}

/* ------------------------------------------------------------------------ */
/* Link, promiscuous mode, MTU, MAC */

static int vt_link_get(struct tarn__eth_dev *dev, struct tarn_eth_link *link)
{
	struct vt_port *p = dev->priv;
	bool started = dev->state == TARN_ETH_STATE_STARTED;
	link->up = started;
	if (started && tarn__vt_has(&p->hw, VT_NET_F_STATUS)) {
		uint16_t st = 0;
		tarn__vt_read_config(&p->hw, VT_NET_CFG_STATUS, &st, 2);
		link->up = (st & VT_NET_S_LINK_UP) != 0;
	}
	link->full_duplex = 1;
	/* The speed only when the device says it (0: unknown). */
	if (link->up && tarn__vt_has(&p->hw, VT_NET_F_SPEED_DUPLEX)) {
		uint32_t speed = 0;
		uint8_t duplex = 1;
		tarn__vt_read_config(&p->hw, VT_NET_CFG_SPEED, &speed, 4);
		tarn__vt_read_config(&p->hw, VT_NET_CFG_DUPLEX, &duplex, 1);
		link->speed_mbps = speed == UINT32_MAX ? 0 : speed;
		link->full_duplex = duplex == 1;
	}
	return 0;
}

static int vt_promisc_set(struct tarn__eth_dev *dev, int on)
{
	struct vt_port *p = dev->priv;
	if (!tarn__vt_has(&p->hw, VT_NET_F_CTRL_RX)) {
		TARN__ERR(VT_LOG, "port %u: the device has no receive filter control (CTRL_RX)",
		          (unsigned)dev->port_id);
		return -ENOTSUP;
	}
	if (dev->state != TARN_ETH_STATE_STARTED)
		return 0; /* applied at start */
	uint8_t v = on ? 1 : 0;
	return tarn__vt_ctrl_cmd(&p->ctrl, VT_CTRL_RX, VT_CTRL_RX_PROMISC, &v, 1);
}

static int vt_mac_set(struct tarn__eth_dev *dev, const struct tarn_ether_addr *mac)
{
	struct vt_port *p = dev->priv;
	if (!tarn__vt_has(&p->hw, VT_NET_F_CTRL_MAC_ADDR)) {
		TARN__ERR(VT_LOG, "port %u: the device cannot change its MAC (no CTRL_MAC_ADDR)",
		          (unsigned)dev->port_id);
		return -ENOTSUP;
	}
	p->mac_given = true;
	if (dev->state != TARN_ETH_STATE_STARTED)
		return 0; /* applied at start */
	return tarn__vt_ctrl_cmd(&p->ctrl, VT_CTRL_MAC, VT_CTRL_MAC_ADDR_SET, mac->addr_bytes,
	                         TARN_ETHER_ADDR_LEN);
}

static int vt_mtu_set(struct tarn__eth_dev *dev, uint32_t mtu)
{
	struct vt_port *p = dev->priv;
	if (mtu > p->max_mtu) {
		TARN__ERR(VT_LOG, "port %u: MTU %u: the device takes at most %u",
		          (unsigned)dev->port_id, mtu, p->max_mtu);
		return -EINVAL;
	}
	if (!tarn__vt_has(&p->hw, VT_NET_F_MRG_RXBUF)) {
		uint32_t frame = mtu + TARN_ETHER_HDR_LEN + 4;
		for (uint16_t i = 0; i < dev->nb_rxq; i++) {
			const struct vt_rxq *q = dev->rxq[i];
			if (q != NULL && q->buf_room - q->hdr_size < frame) {
				TARN__ERR(
				    VT_LOG,
				    "port %u: MTU %u: RX queue %u's mbufs hold %u bytes, a frame "
				    "takes %u (mrg_rxbuf is off)",
				    (unsigned)dev->port_id, mtu, (unsigned)i,
				    q->buf_room - q->hdr_size, frame);
				return -EINVAL;
			}
		}
		dev->rx_data_min = frame;
		snprintf(dev->rx_data_what, sizeof(dev->rx_data_what),
		         "a frame of MTU %u (mrg_rxbuf off)", mtu);
	}
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Extended statistics */

static const char *const bin_names[VT_SIZE_BINS] = {
	"size_64_packets",       "size_65_127_packets",   "size_128_255_packets",
	"size_256_511_packets",  "size_512_1023_packets", "size_1024_1518_packets",
	"size_1519_max_packets",
};

static unsigned put(struct tarn_eth_xstat *xs, unsigned n, unsigned i, const char *dir, unsigned q,
                    const char *what, const uint64_t *ctr)
{
	if (i < n) {
		snprintf(xs[i].name, sizeof(xs[i].name), "%s_q%u_%s", dir, q, what);
		/* relaxed: a counter the polling thread writes (tarn__eth_count) */
		xs[i].value = __atomic_load_n(ctr, __ATOMIC_RELAXED);
	}
	return i + 1;
}

static int vt_xstats_get(struct tarn__eth_dev *dev, struct tarn_eth_xstat *xs, unsigned n)
{
	unsigned i = 0;
	for (unsigned q = 0; q < dev->nb_rxq; q++) {
		const struct vt_rxq *r = dev->rxq[q];
		if (r == NULL)
			continue;
		for (unsigned b = 0; b < VT_SIZE_BINS; b++)
			i = put(xs, n, i, "rx", q, bin_names[b], &r->size_bins[b]);
		i = put(xs, n, i, "rx", q, "refill_failures", &r->refill_fail);
		i = put(xs, n, i, "rx", q, "notifications", &r->vq.kicks);
	}
	for (unsigned q = 0; q < dev->nb_txq; q++) {
		const struct vt_txq *t = dev->txq[q];
		if (t == NULL)
			continue;
		for (unsigned b = 0; b < VT_SIZE_BINS; b++)
			i = put(xs, n, i, "tx", q, bin_names[b], &t->size_bins[b]);
		i = put(xs, n, i, "tx", q, "notifications", &t->vq.kicks);
		i = put(xs, n, i, "tx", q, "ring_full", &t->full);
		i = put(xs, n, i, "tx", q, "refused", &t->refused_dma);
	}
	return (int)i;
}

const struct tarn__eth_driver tarn__eth_virtio_driver = {
	.name = "virtio",
	.summary = "virtio-net PCI device through vfio-pci or uio_pci_generic, poll mode",
	.keys = vt_keys,
	.priv_size = sizeof(struct vt_port),
	.rxq_size = sizeof(struct vt_rxq),
	.txq_size = sizeof(struct vt_txq),
	.max_rx_queues = TARN_ETH_MAX_QUEUES,
	.max_tx_queues = TARN_ETH_MAX_QUEUES,
	.rx_data_min = 64,
	.rx_data_what = "a buffer (merged buffers chain the rest)",
	.create = vt_create,
	.close = vt_close,
	.rx_queue_setup = vt_rx_queue_setup,
	.tx_queue_setup = vt_tx_queue_setup,
	.rx_queue_release = vt_rx_queue_release,
	.tx_queue_release = vt_tx_queue_release,
	.start = vt_start,
	.stop = vt_stop,
	.link_get = vt_link_get,
	.promisc_set = vt_promisc_set,
	.mtu_set = vt_mtu_set,
	.mac_set = vt_mac_set,
	.xstats_get = vt_xstats_get,
	.rx_burst = tarn__vt_rx_burst,
	.tx_burst = tarn__vt_tx_burst,
};
