/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Linux network interface helpers shared by the af_packet, af_xdp and tap
 * drivers (internal, never installed): ioctls on an interface found by its
 * index (it may be renamed), link state and speed, promiscuous mode through
 * a PACKET_MR_PROMISC membership, MTU and MAC address, and the device's
 * NUMA node. Compiled into libtarn when one of them is built.
 */
#ifndef TARN_DRIVERS_NET_LINUX_IF_H
#define TARN_DRIVERS_NET_LINUX_IF_H

#include <net/if.h>
#include <stdint.h>

#include "ethdev_driver_priv.h"

/* An interface as a driver holds it (a view of the port's fields). */
struct tarn__lif {
	int fd;             /* control socket (AF_PACKET, protocol 0) */
	int ifindex;        /* the interface's index */
	const char *ifname; /* its name at create, for messages */
	const char *fault;  /* fault point site of the ioctls, NULL: none */
};

/* The interface's current name (found by index: it may have been renamed).
 * 0, or -errno (-ENODEV when it no longer exists). */
int tarn__lif_name_now(const struct tarn__lif *l, char name[IFNAMSIZ]);

/* ioctl `req` on the interface. 0 or -errno. */
int tarn__lif_ioctl(const struct tarn__lif *l, unsigned long req, struct ifreq *ifr);

/* SIOCETHTOOL with command structure `cmd` (its `cmd` field set). 0 or -errno. */
int tarn__lif_ethtool(const struct tarn__lif *l, void *cmd);

/* The interface's MTU, read at create for port spec `spec`. 0 or -errno
 * (logged). */
int tarn__lif_mtu(const struct tarn__lif *l, const char *spec, uint32_t *mtu);

/* The interface's MAC address, read at create for port spec `spec`: 0, or
 * -errno or -EINVAL when it is not an Ethernet interface (logged). */
int tarn__lif_hwaddr(const struct tarn__lif *l, const char *spec, struct tarn_ether_addr *mac);

/* Index of interface `ifname` (SIOCGIFINDEX on `fd`, fault point `fault`
 * when not NULL), logged against `spec` on failure. 0 or -errno. */
int tarn__lif_index(int fd, const char *fault, const char *spec, const char *ifname, int *ifindex);

/* Set the MAC address (logged on failure). 0 or -errno. */
int tarn__lif_set_mac(const struct tarn__lif *l, const char *port,
                      const struct tarn_ether_addr *mac);

/* Set the MTU (logged on failure; `einval_hint` follows the error on
 * EINVAL). 0 or -errno. */
int tarn__lif_set_mtu(const struct tarn__lif *l, const char *port, uint32_t mtu,
                      const char *einval_hint);

/* Carrier of an interface that is up (ETHTOOL_GLINK, else IFF_RUNNING in
 * `flags`): 1 or 0. */
int tarn__lif_carrier(const struct tarn__lif *l, short flags);

/* Checks before a port starts on the interface, now named `name`: its flags
 * readable (-errno), up (-ENETDOWN), a warning when it has no carrier. 0 or
 * -errno (logged). */
int tarn__lif_start_check(const struct tarn__lif *l, const char *port, const char *name);

/* Link state into `link` (zeroed by the caller): up when IFF_UP and carrier,
 * speed/duplex/autoneg from ethtool. 0, -ENODEV when the interface no longer
 * exists (tarn__lif_log_gone with `gone_logged`) or -errno (logged). */
int tarn__lif_link(const struct tarn__lif *l, const struct tarn__eth_dev *dev, int *gone_logged,
                   struct tarn_eth_link *link);

/* Promiscuous mode on or off through the membership of `l->fd`; `*promisc`
 * is the membership held. 0, -ENODEV when the interface no longer exists
 * (tarn__lif_log_gone with `gone_logged`) or -errno (logged). */
int tarn__lif_promisc(const struct tarn__lif *l, const struct tarn__eth_dev *dev, int on,
                      int *promisc, int *gone_logged);

/* Log once (`*logged`) that the port's interface no longer exists. */
void tarn__lif_log_gone(const struct tarn__eth_dev *dev, const struct tarn__lif *l, int *logged);

/* NUMA node of the device under interface `ifname` (sysfs
 * /sys/class/net/IF/device/numa_node, as the sysfs of this network
 * namespace shows it), or TARN_SOCKET_ANY (-1) when it has none (veth,
 * tap), the kernel does not know it, or tarn has no such socket. */
int tarn__lif_numa_node(const char *ifname);

#endif
