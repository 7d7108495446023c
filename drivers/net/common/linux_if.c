/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * linux_if.c - a port on a Linux network interface: the control ops and the
 * create/start helpers shared by the af_packet, af_xdp and tap drivers
 * (linux_if.h).
 *
 * The interface is named again on every call: af_packet and af_xdp find its
 * current name by its index (SIOCGIFNAME on the control socket), tap asks
 * its tun descriptor (ops->ifreq), so a renamed interface is still the one
 * controlled and a deleted one is reported as -ENODEV, logged once.
 */
#include "linux_if.h"

#include <errno.h>
#include <linux/ethtool.h>
#include <linux/if_packet.h>
#include <linux/sockios.h>
#include <net/if_arp.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

/* The fault point of `l`'s ioctls by index, when it has one. */
#define LIF_FAULT(l, err) ((l)->ops->fault != NULL && TARN__FAULT((l)->ops->fault, err))

/* " (needs CAP_NET_ADMIN)" after an EPERM of a call that changes the interface. */
static const char *perm_hint(int rc)
{
	return rc == -EPERM ? " (needs CAP_NET_ADMIN)" : "";
}

/* An error that says the interface no longer exists. */
static int is_gone(int rc)
{
	return rc == -ENODEV || rc == -ENXIO;
}

/* ------------------------------------------------------------------------ */
/* Calls on the interface */

int tarn__lif_name_now(const struct tarn__lif *l, char name[IFNAMSIZ])
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_ifindex = l->ifindex;
	if (LIF_FAULT(l, ENODEV) || ioctl(l->fd, SIOCGIFNAME, &ifr) < 0)
		return -errno;
	memcpy(name, ifr.ifr_name, IFNAMSIZ);
	name[IFNAMSIZ - 1] = '\0';
	return 0;
}

int tarn__lif_ioctl(struct tarn__lif *l, unsigned long req, struct ifreq *ifr)
{
	char name[IFNAMSIZ];

	if (l->ops->ifreq != NULL)
		return l->ops->ifreq(l, req, ifr);
	int rc = tarn__lif_name_now(l, name);
	if (rc < 0)
		return rc;
	memcpy(ifr->ifr_name, name, IFNAMSIZ);
	return LIF_FAULT(l, EIO) || ioctl(l->fd, req, ifr) < 0 ? -errno : 0;
}

int tarn__lif_ethtool(struct tarn__lif *l, void *cmd)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_data = (char *)cmd;
	return tarn__lif_ioctl(l, SIOCETHTOOL, &ifr);
}

/* A SIOCG* ioctl `req` into a zeroed `ifr`. */
static int lif_get(struct tarn__lif *l, unsigned long req, struct ifreq *ifr)
{
	memset(ifr, 0, sizeof(*ifr));
	return tarn__lif_ioctl(l, req, ifr);
}

int tarn__lif_get_flags(struct tarn__lif *l, short *flags)
{
	struct ifreq ifr;
	int rc = lif_get(l, SIOCGIFFLAGS, &ifr);

	if (rc == 0)
		*flags = ifr.ifr_flags;
	return rc;
}

int tarn__lif_set_flags(struct tarn__lif *l, short mask, short val)
{
	struct ifreq ifr;
	int rc = lif_get(l, SIOCGIFFLAGS, &ifr);

	if (rc < 0)
		return rc;
	const short f = (short)((ifr.ifr_flags & ~mask) | (val & mask));
	if (f == ifr.ifr_flags)
		return 0;
	ifr.ifr_flags = f;
	return tarn__lif_ioctl(l, SIOCSIFFLAGS, &ifr);
}

int tarn__lif_get_mtu(struct tarn__lif *l, uint32_t *mtu)
{
	struct ifreq ifr;
	int rc = lif_get(l, SIOCGIFMTU, &ifr);

	if (rc == 0)
		*mtu = (uint32_t)ifr.ifr_mtu;
	return rc;
}

int tarn__lif_get_mac(struct tarn__lif *l, struct tarn_ether_addr *mac, unsigned *hwtype)
{
	struct ifreq ifr;
	int rc = lif_get(l, SIOCGIFHWADDR, &ifr);

	if (rc == 0) {
		memcpy(mac->addr_bytes, ifr.ifr_hwaddr.sa_data, TARN_ETHER_ADDR_LEN);
		*hwtype = ifr.ifr_hwaddr.sa_family;
	}
	return rc;
}

int tarn__lif_set_mac(struct tarn__eth_dev *dev, struct tarn__lif *l,
                      const struct tarn_ether_addr *mac)
{
	struct ifreq ifr;
	char buf[18];

	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
	memcpy(ifr.ifr_hwaddr.sa_data, mac->addr_bytes, TARN_ETHER_ADDR_LEN);
	int rc = tarn__lif_ioctl(l, SIOCSIFHWADDR, &ifr);
	if (rc < 0)
		TARN__ERR(TARN__ETH_LOG, "port '%s': cannot set the MAC address of %s to %s: %s%s",
		          dev->name, l->ifname, tarn_ether_format_addr(buf, sizeof(buf), mac),
		          strerror(-rc), perm_hint(rc));
	return rc;
}

int tarn__lif_set_mtu(struct tarn__eth_dev *dev, struct tarn__lif *l, uint32_t mtu)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_mtu = (int)mtu;
	int rc = tarn__lif_ioctl(l, SIOCSIFMTU, &ifr);
	if (rc < 0)
		TARN__ERR(TARN__ETH_LOG, "port '%s': cannot set the MTU of %s to %u: %s%s",
		          dev->name, l->ifname, mtu, strerror(-rc),
		          rc == -EINVAL && l->ops->mtu_einval_hint != NULL ? l->ops->mtu_einval_hint
		                                                           : perm_hint(rc));
	return rc;
}

void tarn__lif_log_gone(const struct tarn__eth_dev *dev, struct tarn__lif *l)
{
	if (l->gone_logged)
		return;
	l->gone_logged = 1;
	TARN__ERR(TARN__ETH_LOG,
	          "port %u '%s': interface %s (index %d) no longer exists: link down, TX "
	          "refused; stop and close the port",
	          (unsigned)dev->port_id, dev->name, l->ifname, l->ifindex);
}

/* Carrier of an interface that is up: ETHTOOL_GLINK reads it at once
 * (IFF_RUNNING follows it through the kernel's linkwatch, a little later);
 * IFF_RUNNING when the driver has no ethtool. */
static int carrier(struct tarn__lif *l, short flags)
{
	struct ethtool_value ev;

	memset(&ev, 0, sizeof(ev));
	ev.cmd = ETHTOOL_GLINK;
	if (tarn__lif_ethtool(l, &ev) == 0)
		return ev.data != 0;
	return (flags & IFF_RUNNING) != 0;
}

/* ------------------------------------------------------------------------ */
/* Control ops */

/* Speed, duplex and autoneg of an interface that is up, from ethtool (no
 * ethtool, or no speed: up with speed 0, unknown). */
static void link_ethtool(struct tarn__lif *l, struct tarn_eth_link *link)
{
	struct ethtool_cmd ec;

	memset(&ec, 0, sizeof(ec));
	ec.cmd = ETHTOOL_GSET;
	if (tarn__lif_ethtool(l, &ec) == 0) {
		const uint32_t speed = ethtool_cmd_speed(&ec);
		link->speed_mbps = speed == (uint32_t)SPEED_UNKNOWN ? 0 : speed;
		link->full_duplex = ec.duplex == DUPLEX_FULL;
		link->autoneg = ec.autoneg == AUTONEG_ENABLE;
	}
}

int tarn__lif_link_get(struct tarn__eth_dev *dev, struct tarn_eth_link *link)
{
	struct tarn__lif *l = tarn__lif_of(dev);
	short flags = 0;
	int rc = tarn__lif_get_flags(l, &flags);

	if (rc < 0) {
		if (is_gone(rc)) {
			tarn__lif_log_gone(dev, l);
			return -ENODEV;
		}
		TARN__ERR(TARN__ETH_LOG, "port '%s': link: cannot read the flags of %s: %s",
		          dev->name, l->ifname, strerror(-rc));
		return rc;
	}
	if (l->ops->nominal_speed != 0) {
		if ((flags & IFF_UP) && (flags & IFF_RUNNING)) {
			link->up = 1;
			link->speed_mbps = l->ops->nominal_speed;
			link->full_duplex = 1;
		}
		return 0;
	}
	if (!(flags & IFF_UP) || !carrier(l, flags))
		return 0; /* down: zeroed */
	link->up = 1;
	link_ethtool(l, link);
	return 0;
}

/* Promiscuous mode as a PACKET_MR_PROMISC membership of l->fd: the kernel
 * counts memberships, and drops them when the socket closes. */
static int promisc_by_membership(struct tarn__lif *l, int on)
{
	struct packet_mreq mr;
	char name[IFNAMSIZ];

	if (tarn__lif_name_now(l, name) < 0)
		return -ENODEV;
	if (on == l->promisc)
		return 0;
	memset(&mr, 0, sizeof(mr));
	mr.mr_ifindex = l->ifindex;
	mr.mr_type = PACKET_MR_PROMISC;
	if (setsockopt(l->fd, SOL_PACKET, on ? PACKET_ADD_MEMBERSHIP : PACKET_DROP_MEMBERSHIP, &mr,
	               sizeof(mr)) < 0)
		return -errno;
	return 0;
}

int tarn__lif_promisc_set(struct tarn__eth_dev *dev, int on)
{
	struct tarn__lif *l = tarn__lif_of(dev);
	int rc = l->ops->promisc_flag ? tarn__lif_set_flags(l, IFF_PROMISC, on ? IFF_PROMISC : 0)
	                              : promisc_by_membership(l, on);

	if (rc == 0) {
		l->promisc = on;
		return 0;
	}
	if (is_gone(rc)) {
		tarn__lif_log_gone(dev, l);
		return -ENODEV;
	}
	TARN__ERR(TARN__ETH_LOG, "port '%s': cannot turn promiscuous mode %s on %s: %s%s",
	          dev->name, on ? "on" : "off", l->ifname, strerror(-rc), perm_hint(rc));
	return rc;
}

int tarn__lif_mtu_set(struct tarn__eth_dev *dev, uint32_t mtu)
{
	struct tarn__lif *l = tarn__lif_of(dev);
	int rc = l->ops->mtu_check != NULL ? l->ops->mtu_check(dev, mtu, "mtu_set") : 0;

	if (rc == 0)
		rc = tarn__lif_set_mtu(dev, l, mtu);
	if (rc < 0)
		return rc;
	l->mtu_known = mtu;
	if (l->ops->mtu_changed != NULL)
		l->ops->mtu_changed(dev, mtu);
	return 0;
}

void tarn__lif_txq_mtu(struct tarn__eth_dev *dev, size_t off, uint32_t mtu)
{
	for (uint16_t q = 0; q < TARN_ETH_MAX_QUEUES; q++) {
		uint8_t *txq = dev->txq[q];
		if (txq != NULL) /* relaxed: see linux_if.h */
			__atomic_store_n((uint32_t *)(void *)(txq + off), mtu, __ATOMIC_RELAXED);
	}
}

int tarn__lif_mac_set(struct tarn__eth_dev *dev, const struct tarn_ether_addr *mac)
{
	return tarn__lif_set_mac(dev, tarn__lif_of(dev), mac);
}

/* ------------------------------------------------------------------------ */
/* Create and start */

/* The interface's index into l->ifindex (SIOCGIFINDEX on l->fd). */
static int lif_index(const struct tarn__eth_dev *dev, struct tarn__lif *l)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, l->ifname, IFNAMSIZ);
	if (LIF_FAULT(l, ENODEV) || ioctl(l->fd, SIOCGIFINDEX, &ifr) < 0) {
		const int rc = -errno;
		if (rc == -ENODEV)
			TARN__ERR(
			    TARN__ETH_LOG,
			    "port spec '%s': no interface named '%s' in this network namespace "
			    "(ip link show)",
			    dev->spec, l->ifname);
		else
			TARN__ERR(TARN__ETH_LOG, "port spec '%s': interface '%s': %s", dev->spec,
			          l->ifname, strerror(-rc));
		return rc;
	}
	l->ifindex = ifr.ifr_ifindex;
	return 0;
}

/* The interface's MAC address (Ethernet interfaces only) and MTU. */
static int lif_read(const struct tarn__eth_dev *dev, struct tarn__lif *l,
                    struct tarn_ether_addr *mac)
{
	unsigned hwtype = 0;
	int rc = tarn__lif_get_mac(l, mac, &hwtype);

	if (rc < 0) {
		TARN__ERR(TARN__ETH_LOG,
		          "port spec '%s': interface '%s': cannot read its address: %s", dev->spec,
		          l->ifname, strerror(-rc));
		return rc;
	}
	if (hwtype != ARPHRD_ETHER) {
		TARN__ERR(TARN__ETH_LOG,
		          "port spec '%s': interface '%s' is not an Ethernet interface (hardware "
		          "type %u)",
		          dev->spec, l->ifname, hwtype);
		return -EINVAL;
	}
	rc = tarn__lif_get_mtu(l, &l->mtu_known);
	if (rc < 0)
		TARN__ERR(TARN__ETH_LOG, "port spec '%s': interface '%s': cannot read its MTU: %s",
		          dev->spec, l->ifname, strerror(-rc));
	return rc;
}

int tarn__lif_attach(struct tarn__eth_dev *dev, struct tarn__lif *l, struct tarn_ether_addr *if_mac)
{
	int rc = lif_index(dev, l);

	if (rc == 0)
		rc = lif_read(dev, l, if_mac);
	if (rc < 0)
		return rc;
	dev->numa_node = tarn__lif_numa_node(l->ifname);
	return 0;
}

int tarn__lif_mac_init(struct tarn__eth_dev *dev, struct tarn__lif *l,
                       const struct tarn__eth_spec *spec, const struct tarn_ether_addr *if_mac)
{
	if (tarn__eth_spec_get(spec, "mac") != NULL)
		return tarn__lif_set_mac(dev, l, &dev->mac); /* the interface takes mac= */
	dev->mac = *if_mac;
	return 0;
}

void tarn__lif_close(struct tarn__lif *l)
{
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
	l->promisc = 0;
}

/* The interface is up; a warning when it has no carrier. */
static int start_check(struct tarn__eth_dev *dev, struct tarn__lif *l, const char *name)
{
	short flags = 0;
	int rc = tarn__lif_get_flags(l, &flags);

	if (rc < 0) {
		TARN__ERR(TARN__ETH_LOG, "port '%s': start: cannot read the flags of %s: %s",
		          dev->name, name, strerror(-rc));
		return rc;
	}
	if (!(flags & IFF_UP)) {
		TARN__ERR(TARN__ETH_LOG,
		          "port '%s': start: interface %s is down: bring it up first (ip link set "
		          "%s up)",
		          dev->name, name, name);
		return -ENETDOWN;
	}
	if (!carrier(l, flags))
		TARN__WARN(TARN__ETH_LOG,
		           "port '%s': interface %s has no carrier: the port starts with its link "
		           "down, packets flow once it comes up",
		           dev->name, name);
	return 0;
}

int tarn__lif_start(struct tarn__eth_dev *dev, char name[IFNAMSIZ])
{
	struct tarn__lif *l = tarn__lif_of(dev);
	int rc = tarn__lif_name_now(l, name);

	if (rc < 0) {
		tarn__lif_log_gone(dev, l);
		return -ENODEV;
	}
	rc = start_check(dev, l, name);
	if (rc == 0 && dev->mtu != l->mtu_known)
		rc = tarn__lif_mtu_set(dev, dev->mtu);
	if (rc == 0 && dev->promiscuous != l->promisc)
		rc = tarn__lif_promisc_set(dev, dev->promiscuous);
	return rc;
}

int tarn__lif_numa_node(const char *ifname)
{
	char path[IFNAMSIZ + 48];
	int node = -1;

	/* The name went through tarn__eth_key_ifname (no '/') or is the
	 * kernel's own. */
	snprintf(path, sizeof(path), "/sys/class/net/%s/device/numa_node", ifname);
	FILE *f = fopen(path, "re");
	if (f == NULL)
		return TARN_SOCKET_ANY; /* no device (veth, tap, bridge) */
	if (fscanf(f, "%d", &node) != 1)
		node = -1;
	fclose(f);
	if (node < 0 || node >= TARN_MAX_SOCKETS || (unsigned)node >= tarn_socket_count())
		return TARN_SOCKET_ANY;
	return node;
}
