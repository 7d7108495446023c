/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ctrl.c - tap control path: the key table, create and close (making or
 * attaching to the interface, and putting an attached one back as it was
 * found), queue setup, start (bringing the interface up) and stop. The
 * link, promiscuous, MTU and MAC ops are drivers/net/common/linux_if.c's,
 * through tun.c's ioctl hook.
 */
#include <errno.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap_priv.h"

static const struct tarn__key tap_keys[] = {
	TARN__LIF_KEY_IFACE(struct tap_port,
	                    "the interface: created, or attached to if it exists and is a tap",
	                    .def_text = "tarn_tapP, P the port id"),
	TARN__KEY_UINT_AT("queues", struct tap_port, queues, 1, TARN_ETH_MAX_QUEUES, 1,
	                  "queue pairs, a descriptor each; more than 1 makes a multi-queue tap",
	                  .doc = "A multi-queue tap is IFF_MULTI_QUEUE; an existing tap must have "
	                         "been made so (ip tuntap add NAME mode tap multi_queue)",
	                  .flags = TARN__ETH_KEY_QUEUES),
	TARN__KEY_END,
};

/* ------------------------------------------------------------------------ */
/* The interface */

/* A new MTU changes how RX reads (tarn__tap_rxq_set_vec). */
static void mtu_changed(struct tarn__eth_dev *dev, uint32_t mtu)
{
	for (uint16_t q = 0; q < TARN_ETH_MAX_QUEUES; q++)
		if (dev->rxq[q] != NULL)
			tarn__tap_rxq_set_vec(dev->rxq[q], mtu);
}

/* The interface, for linux_if.c: ioctls through the tun descriptor in the
 * interface's namespace (fault points in tun.c), promiscuous mode as
 * IFF_PROMISC, the link up at a nominal speed when IFF_UP and IFF_RUNNING. */
static const struct tarn__lif_ops tap_lif_ops = {
	.ifreq = tarn__tap_ifreq,
	.promisc_flag = 1,
	.nominal_speed = TAP_SPEED_MBPS,
	.mtu_changed = mtu_changed,
};

/* A log line for a failed control call of create, start, stop or close. */
static int ctl_err(const struct tarn__eth_dev *dev, const char *what, int rc)
{
	const struct tap_port *tp = dev->priv;
	TARN__ERR(TAP_LOG, "tap port %u: cannot %s of '%s': %s%s", (unsigned)dev->port_id, what,
	          tp->lif.ifname, strerror(-rc),
	          rc == -ENODEV  ? " (the interface is gone)"
	          : rc == -EPERM ? " (needs CAP_NET_ADMIN: run as root)"
	                         : "");
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Create and close */

/* An existing interface `name` must be a tap, multi-queue for queues > 1. */
static int attach_check(const struct tarn__eth_dev *dev, struct tap_port *tp, const char *name)
{
	const long fl = tarn__tap_tun_flags(name);

	if (fl == -ENOENT) {
		TARN__ERR(TAP_LOG,
		          "port spec '%s': interface '%s' exists and is not a tap device (pick "
		          "another iface name)",
		          dev->spec, name);
		return -EINVAL;
	}
	if (fl >= 0 && !(fl & IFF_TAP)) {
		TARN__ERR(TAP_LOG,
		          "port spec '%s': interface '%s' is a tun (layer 3) device, not a tap",
		          dev->spec, name);
		return -EINVAL;
	}
	if (fl >= 0 && tp->queues > 1 && !(fl & IFF_MULTI_QUEUE)) {
		TARN__ERR(
		    TAP_LOG,
		    "port spec '%s': tap '%s' is single-queue: queues=%u needs a tap made with "
		    "multi_queue (ip tuntap add %s mode tap multi_queue)",
		    dev->spec, name, (unsigned)tp->queues, name);
		return -EINVAL;
	}
	if (fl >= 0)
		tp->multi_queue = (fl & IFF_MULTI_QUEUE) != 0;
	return 0;
}

/* The interface's state becomes the port's (mac= goes to the interface). */
static int state_read(struct tarn__eth_dev *dev, struct tap_port *tp,
                      const struct tarn__eth_spec *spec)
{
	struct tarn__lif *l = &tp->lif;
	unsigned hwtype;
	int rc = tarn__lif_get_flags(l, &tp->orig_flags);

	if (rc == 0)
		rc = tarn__lif_get_mtu(l, &tp->orig_mtu);
	if (rc == 0)
		rc = tarn__lif_get_mac(l, &tp->orig_mac, &hwtype);
	if (rc < 0)
		return ctl_err(dev, "read the state", rc);
	rc = tarn__lif_mac_init(dev, l, spec, &tp->orig_mac);
	if (rc < 0)
		return rc;
	dev->mtu = tp->orig_mtu;
	dev->promiscuous = (tp->orig_flags & IFF_PROMISC) != 0;
	l->mtu_known = dev->mtu;
	l->promisc = dev->promiscuous;
	return 0;
}

/* Make the interface or attach to it, open a descriptor per queue pair and
 * the control socket, and take the interface's state. */
static int tap_create(struct tarn__eth_dev *dev, const struct tarn__eth_spec *spec)
{
	struct tap_port *tp = dev->priv;
	struct tarn__lif *l = &tp->lif;
	int rc = 0;

	l->ops = &tap_lif_ops;
	l->fd = -1;
	if (l->ifname[0] == '\0')
		snprintf(l->ifname, sizeof(l->ifname), "tarn_tap%u", (unsigned)dev->port_id);
	/* Attach to an existing interface, or create it. */
	tp->created = if_nametoindex(l->ifname) == 0;
	tp->multi_queue = tp->queues > 1;
	if (!tp->created)
		rc = attach_check(dev, tp, l->ifname);
	for (unsigned i = 0; rc == 0 && i < tp->queues; i++)
		rc = tarn__tap_fd_open(dev, tp, i);
	if (rc == 0)
		rc = tarn__tap_ctl_open(dev, tp);
	if (rc == 0)
		rc = state_read(dev, tp, spec);
	if (rc < 0) {
		tarn__tap_fds_close(tp);
		return rc;
	}
	l->ifindex = (int)if_nametoindex(l->ifname);     /* for messages: it may move */
	dev->numa_node = tarn__lif_numa_node(l->ifname); /* -1: a tap has no device */
	TARN__INFO(TAP_LOG, "tap port %u: %s interface '%s', %u queue%s, mtu %u",
	           (unsigned)dev->port_id, tp->created ? "created" : "attached to", l->ifname,
	           tp->nb_fds, tp->nb_fds > 1 ? "s (multi-queue)" : "", dev->mtu);
	return 0;
}

/* Put an attached interface back as it was found. */
static void state_restore(struct tarn__eth_dev *dev, struct tap_port *tp)
{
	struct tarn__lif *l = &tp->lif;
	struct tarn_ether_addr mac;
	uint32_t mtu = 0;
	short f = 0;
	unsigned hwtype;
	int rc = tarn__lif_get_flags(l, &f);

	if (rc == 0 && (f & IFF_PROMISC) != (tp->orig_flags & IFF_PROMISC))
		rc = tarn__lif_set_flags(l, IFF_PROMISC, tp->orig_flags);
	if (rc == 0)
		rc = tarn__lif_get_mtu(l, &mtu);
	if (rc == 0 && mtu != tp->orig_mtu)
		rc = tarn__lif_set_mtu(dev, l, tp->orig_mtu);
	if (rc == 0)
		rc = tarn__lif_get_mac(l, &mac, &hwtype);
	if (rc == 0 && memcmp(&mac, &tp->orig_mac, sizeof(mac)) != 0)
		rc = tarn__lif_set_mac(dev, l, &tp->orig_mac);
	if (rc < 0 && rc != -ENODEV)
		ctl_err(dev, "restore the state", rc);
}

/* Closing the last descriptor of a tap the driver made deletes it. */
static void tap_close(struct tarn__eth_dev *dev)
{
	struct tap_port *tp = dev->priv;

	if (!tp->created)
		state_restore(dev, tp);
	tarn__tap_fds_close(tp);
	TARN__INFO(TAP_LOG, "tap port %u: %s '%s'", (unsigned)dev->port_id,
	           tp->created ? "deleted" : "detached from", tp->lif.ifname);
}

/* ------------------------------------------------------------------------ */
/* Queues */

/* ethdev checked the queue against queues= and the pool (an Ethernet header
 * fits after the headroom). nb_desc is not used: the kernel queues frames
 * (the interface's txqueuelen). */
static int tap_rx_queue_setup(struct tarn__eth_dev *dev, void *qd, const struct tarn__eth_qconf *c)
{
	struct tap_port *tp = dev->priv;
	struct tap_rxq *q = qd;
	uint8_t *spill = malloc(TAP_SPILL_SIZE);

	if (spill == NULL) {
		TARN__ERR(TAP_LOG, "tap port %u: RX queue %u: out of memory",
		          (unsigned)dev->port_id, (unsigned)c->id);
		return -ENOMEM;
	}
	q->fd = tp->fd[c->id];
	q->port_id = dev->port_id;
	q->room = (uint16_t)c->room;
	q->mp = c->mp;
	q->stats = c->stats;
	q->spill = spill;
	snprintf(q->ifname, sizeof(q->ifname), "%s", tp->lif.ifname);
	tarn__tap_rxq_set_vec(q, dev->mtu);
	return 0;
}

/* TX queue i writes to descriptor i. */
static int tap_tx_queue_setup(struct tarn__eth_dev *dev, void *qd, const struct tarn__eth_qconf *c)
{
	struct tap_port *tp = dev->priv;
	struct tap_txq *q = qd;

	q->fd = tp->fd[c->id];
	q->port_id = dev->port_id;
	q->stats = c->stats;
	snprintf(q->ifname, sizeof(q->ifname), "%s", tp->lif.ifname);
	return 0;
}

/* The mbufs kept for the next reads go back to the pool. */
static void tap_rx_queue_release(struct tarn__eth_dev *dev, void *qd)
{
	struct tap_rxq *q = qd;

	(void)dev;
	tarn_pktmbuf_free_bulk(q->stash, q->nb_stash);
	free(q->spill);
}

/* ------------------------------------------------------------------------ */
/* Start and stop */

/* Bring the interface up, with what configure() asked (an MTU, promiscuous
 * mode) applied, or else follow the interface's MTU; RX picks its read mode
 * for the MTU. */
static int tap_start(struct tarn__eth_dev *dev)
{
	struct tap_port *tp = dev->priv;
	struct tarn__lif *l = &tp->lif;
	uint32_t mtu = 0;
	short f = 0;
	int rc = tarn__lif_get_flags(l, &f);

	if (rc < 0)
		return ctl_err(dev, "read the flags", rc);
	if (dev->mtu != l->mtu_known) {
		rc = tarn__lif_set_mtu(dev, l, dev->mtu);
		if (rc < 0)
			return rc;
		l->mtu_known = dev->mtu;
	} else if (tarn__lif_get_mtu(l, &mtu) == 0 && mtu > 0) {
		dev->mtu = l->mtu_known = mtu;
	}
	const short want_promisc = dev->promiscuous != l->promisc
	                               ? (short)(dev->promiscuous ? IFF_PROMISC : 0)
	                               : (short)(f & IFF_PROMISC);
	tp->up_before_start = (f & IFF_UP) != 0;
	rc = tarn__lif_set_flags(l, IFF_UP | IFF_PROMISC, (short)(IFF_UP | want_promisc));
	if (rc < 0)
		return ctl_err(dev, "bring up", rc);
	dev->promiscuous = l->promisc = want_promisc != 0;
	for (uint16_t q = 0; q < dev->nb_rxq; q++)
		tarn__tap_rxq_set_vec(dev->rxq[q], dev->mtu);
	return 0;
}

/* An interface that was down before start goes down again. */
static void tap_stop(struct tarn__eth_dev *dev)
{
	struct tap_port *tp = dev->priv;

	if (tp->up_before_start)
		return;
	int rc = tarn__lif_set_flags(&tp->lif, IFF_UP, 0);
	if (rc == -ENODEV)
		TARN__INFO(TAP_LOG, "tap port %u: '%s' is gone", (unsigned)dev->port_id,
		           tp->lif.ifname);
	else if (rc < 0)
		ctl_err(dev, "bring down", rc);
}

const struct tarn__eth_driver tarn__eth_tap_driver = {
	.name = "tap",
	.summary = "Linux TAP interface",
	.keys = tap_keys,
	.priv_size = sizeof(struct tap_port),
	.rxq_size = sizeof(struct tap_rxq),
	.txq_size = sizeof(struct tap_txq),
	.rx_data_min = TARN_ETHER_HDR_LEN,
	.rx_data_what = "an Ethernet header",
	.create = tap_create,
	.close = tap_close,
	.rx_queue_setup = tap_rx_queue_setup,
	.tx_queue_setup = tap_tx_queue_setup,
	.rx_queue_release = tap_rx_queue_release,
	.start = tap_start,
	.stop = tap_stop,
	TARN__LIF_DRIVER_OPS,
	.rx_burst = tarn__tap_rx_burst,
	.tx_burst = tarn__tap_tx_burst,
};
