/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * linux_if.c - Linux network interface helpers shared by the af_packet,
 * af_xdp and tap drivers (linux_if.h).
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

/* The fault point of `l`'s calls, when it has one. */
#define LIF_FAULT(l, err) ((l)->fault != NULL && TARN__FAULT((l)->fault, err))

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

int tarn__lif_ioctl(const struct tarn__lif *l, unsigned long req, struct ifreq *ifr)
{
	char name[IFNAMSIZ];
	int rc = tarn__lif_name_now(l, name);

	if (rc < 0)
		return rc;
	memcpy(ifr->ifr_name, name, IFNAMSIZ);
	return LIF_FAULT(l, EIO) || ioctl(l->fd, req, ifr) < 0 ? -errno : 0;
}

int tarn__lif_ethtool(const struct tarn__lif *l, void *cmd)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_data = (char *)cmd;
	return tarn__lif_ioctl(l, SIOCETHTOOL, &ifr);
}

int tarn__lif_mtu(const struct tarn__lif *l, const char *spec, uint32_t *mtu)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	int rc = tarn__lif_ioctl(l, SIOCGIFMTU, &ifr);
	if (rc < 0) {
		TARN__ERR(TARN__ETH_LOG, "port spec '%s': interface '%s': cannot read its MTU: %s",
		          spec, l->ifname, strerror(-rc));
		return rc;
	}
	*mtu = (uint32_t)ifr.ifr_mtu;
	return 0;
}

int tarn__lif_hwaddr(const struct tarn__lif *l, const char *spec, struct tarn_ether_addr *mac)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	int rc = tarn__lif_ioctl(l, SIOCGIFHWADDR, &ifr);
	if (rc < 0) {
		TARN__ERR(TARN__ETH_LOG,
		          "port spec '%s': interface '%s': cannot read its address: %s", spec,
		          l->ifname, strerror(-rc));
		return rc;
	}
	if (ifr.ifr_hwaddr.sa_family != ARPHRD_ETHER) {
		TARN__ERR(TARN__ETH_LOG,
		          "port spec '%s': interface '%s' is not an Ethernet interface (hardware "
		          "type %u)",
		          spec, l->ifname, (unsigned)ifr.ifr_hwaddr.sa_family);
		return -EINVAL;
	}
	memcpy(mac->addr_bytes, ifr.ifr_hwaddr.sa_data, TARN_ETHER_ADDR_LEN);
	return 0;
}

int tarn__lif_index(int fd, const char *fault, const char *spec, const char *ifname, int *ifindex)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, ifname, IFNAMSIZ);
	if ((fault != NULL && TARN__FAULT(fault, ENODEV)) || ioctl(fd, SIOCGIFINDEX, &ifr) < 0) {
		int rc = -errno;
		if (rc == -ENODEV)
			TARN__ERR(
			    TARN__ETH_LOG,
			    "port spec '%s': no interface named '%s' in this network namespace "
			    "(ip link show)",
			    spec, ifname);
		else
			TARN__ERR(TARN__ETH_LOG, "port spec '%s': interface '%s': %s", spec, ifname,
			          strerror(-rc));
		return rc;
	}
	*ifindex = ifr.ifr_ifindex;
	return 0;
}

int tarn__lif_set_mac(const struct tarn__lif *l, const char *port,
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
		          port, l->ifname, tarn_ether_format_addr(buf, sizeof(buf), mac),
		          strerror(-rc), rc == -EPERM ? " (needs CAP_NET_ADMIN)" : "");
	return rc;
}

int tarn__lif_set_mtu(const struct tarn__lif *l, const char *port, uint32_t mtu,
                      const char *einval_hint)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_mtu = (int)mtu;
	int rc = tarn__lif_ioctl(l, SIOCSIFMTU, &ifr);
	if (rc < 0)
		TARN__ERR(TARN__ETH_LOG, "port '%s': cannot set the MTU of %s to %u: %s%s", port,
		          l->ifname, mtu, strerror(-rc),
		          rc == -EPERM    ? " (needs CAP_NET_ADMIN)"
		          : rc == -EINVAL ? einval_hint
		                          : "");
	return rc;
}

/* Carrier of an interface that is up: ETHTOOL_GLINK reads it at once
 * (IFF_RUNNING follows it through the kernel's linkwatch, a little later);
 * IFF_RUNNING when the driver has no ethtool. */
int tarn__lif_carrier(const struct tarn__lif *l, short flags)
{
	struct ethtool_value ev;

	memset(&ev, 0, sizeof(ev));
	ev.cmd = ETHTOOL_GLINK;
	if (tarn__lif_ethtool(l, &ev) == 0)
		return ev.data != 0;
	return (flags & IFF_RUNNING) != 0;
}

int tarn__lif_start_check(const struct tarn__lif *l, const char *port, const char *name)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	int rc = tarn__lif_ioctl(l, SIOCGIFFLAGS, &ifr);
	if (rc < 0) {
		TARN__ERR(TARN__ETH_LOG, "port '%s': start: cannot read the flags of %s: %s", port,
		          name, strerror(-rc));
		return rc;
	}
	if (!(ifr.ifr_flags & IFF_UP)) {
		TARN__ERR(TARN__ETH_LOG,
		          "port '%s': start: interface %s is down: bring it up first (ip link set "
		          "%s up)",
		          port, name, name);
		return -ENETDOWN;
	}
	if (!tarn__lif_carrier(l, ifr.ifr_flags))
		TARN__WARN(TARN__ETH_LOG,
		           "port '%s': interface %s has no carrier: the port starts with its link "
		           "down, packets flow once it comes up",
		           port, name);
	return 0;
}

int tarn__lif_link(const struct tarn__lif *l, const struct tarn__eth_dev *dev, int *gone_logged,
                   struct tarn_eth_link *link)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	int rc = tarn__lif_ioctl(l, SIOCGIFFLAGS, &ifr);
	if (rc < 0) {
		if (rc == -ENODEV || rc == -ENXIO) {
			tarn__lif_log_gone(dev, l, gone_logged);
			return -ENODEV;
		}
		TARN__ERR(TARN__ETH_LOG, "port '%s': link: cannot read the flags of %s: %s",
		          dev->name, l->ifname, strerror(-rc));
		return rc;
	}
	if (!(ifr.ifr_flags & IFF_UP) || !tarn__lif_carrier(l, ifr.ifr_flags))
		return 0; /* down: zeroed */
	link->up = 1;

	struct ethtool_cmd ec;
	memset(&ec, 0, sizeof(ec));
	ec.cmd = ETHTOOL_GSET;
	if (tarn__lif_ethtool(l, &ec) == 0) {
		const uint32_t speed = ethtool_cmd_speed(&ec);
		link->speed_mbps = speed == (uint32_t)SPEED_UNKNOWN ? 0 : speed;
		link->full_duplex = ec.duplex == DUPLEX_FULL;
		link->autoneg = ec.autoneg == AUTONEG_ENABLE;
	}
	/* No ethtool (or no speed): up, speed 0 = unknown. */
	return 0;
}

int tarn__lif_promisc(const struct tarn__lif *l, const struct tarn__eth_dev *dev, int on,
                      int *promisc, int *gone_logged)
{
	struct packet_mreq mr;
	char name[IFNAMSIZ];

	if (tarn__lif_name_now(l, name) < 0) {
		tarn__lif_log_gone(dev, l, gone_logged);
		return -ENODEV;
	}
	if (on == *promisc)
		return 0;
	memset(&mr, 0, sizeof(mr));
	mr.mr_ifindex = l->ifindex;
	mr.mr_type = PACKET_MR_PROMISC;
	if (setsockopt(l->fd, SOL_PACKET, on ? PACKET_ADD_MEMBERSHIP : PACKET_DROP_MEMBERSHIP, &mr,
	               sizeof(mr)) < 0) {
		int err = errno;
		TARN__ERR(TARN__ETH_LOG, "port '%s': cannot turn promiscuous mode %s on %s: %s",
		          dev->name, on ? "on" : "off", name, strerror(err));
		return -err;
	}
	*promisc = on;
	return 0;
}

void tarn__lif_log_gone(const struct tarn__eth_dev *dev, const struct tarn__lif *l, int *logged)
{
	if (*logged)
		return;
	*logged = 1;
	TARN__ERR(TARN__ETH_LOG,
	          "port %u '%s': interface %s (index %d) no longer exists: link down, TX "
	          "refused; stop and close the port",
	          (unsigned)dev->port_id, dev->name, l->ifname, l->ifindex);
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
