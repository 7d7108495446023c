/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * linux_if.h - internal: a port on a Linux network interface, shared by the
 * af_packet, af_xdp and tap drivers. Never installed; compiled into libtarn
 * when one of them is built.
 *
 * A driver whose private structure starts with a struct tarn__lif gets:
 * - the control ops, to put in its struct tarn__eth_driver as they are:
 *   tarn__lif_link_get, tarn__lif_promisc_set, tarn__lif_mtu_set and
 *   tarn__lif_mac_set. They act on the interface (found again by its index
 *   on every call, since it may be renamed), and a struct tarn__lif_ops says
 *   what differs between drivers: how an ioctl reaches the interface, how
 *   promiscuous mode is held, where the link speed comes from, and what the
 *   driver's buffers say about an MTU;
 * - helpers for create (tarn__lif_attach, tarn__lif_mac_init), close
 *   (tarn__lif_close) and start (tarn__lif_start), the same for every such
 *   driver.
 * Every function runs under the ethdev control mutex (driver ops only).
 */
#ifndef TARN_DRIVERS_NET_LINUX_IF_H
#define TARN_DRIVERS_NET_LINUX_IF_H

#include <net/if.h>
#include <stdint.h>

#include "ethdev_driver_priv.h"

struct tarn__lif;

/* What differs between the drivers on Linux interfaces. */
struct tarn__lif_ops {
	/* Fault point site of the ioctls by index (tarn__lif_name_now,
	 * tarn__lif_ioctl), NULL: none. */
	const char *fault;
	/* Run SIOC* ioctl `req` on the interface (ifr_name filled by the
	 * hook). 0 or -errno, -ENODEV when the interface is gone. NULL: by its
	 * index, on l->fd, in the namespace that created the port. */
	int (*ifreq)(struct tarn__lif *l, unsigned long req, struct ifreq *ifr);
	/* Non-zero: promiscuous mode is IFF_PROMISC on the interface (it
	 * stays when the program ends). 0: a PACKET_MR_PROMISC membership of
	 * l->fd, which the kernel drops when the socket closes. */
	int promisc_flag;
	/* Non-zero: the link is up when the interface is IFF_UP and
	 * IFF_RUNNING, at this nominal speed, full duplex (a tap has no
	 * speed). 0: carrier, speed, duplex and autoneg from ethtool. */
	uint32_t nominal_speed;
	/* Can the port's buffers carry `mtu`? 0, or -EINVAL with a log line
	 * (`what`: who asked, e.g. "mtu_set"). NULL: any MTU. */
	int (*mtu_check)(const struct tarn__eth_dev *dev, uint32_t mtu, const char *what);
	/* The interface took `mtu`: tell the queues (the TX path's length
	 * check, the RX read mode). NULL: nothing to tell. */
	void (*mtu_changed)(struct tarn__eth_dev *dev, uint32_t mtu);
	/* Said after the error when the kernel refuses an MTU with EINVAL. */
	const char *mtu_einval_hint;
};

/* The interface of a port: the first member of the driver's private
 * structure, so that the ops find it at dev->priv. */
struct tarn__lif {
	char ifname[IFNAMSIZ]; /* the name at create (the iface= key lands here) */
	int ifindex;
	int fd; /* control socket, -1 when closed */
	const struct tarn__lif_ops *ops;
	int promisc;        /* promiscuous mode as last applied (the membership held) */
	uint32_t mtu_known; /* the interface's MTU as last read or set */
	int gone_logged;    /* "no longer exists" was logged */
};

/* The iface= key of a driver whose private structure `T` starts with its
 * struct tarn__lif (keys_priv.h: more designators may follow the help). */
#define TARN__LIF_KEY_IFACE(T, help_, ...)                                                         \
	TARN__KEY_CUSTOM_AT("iface", T, lif.ifname, tarn__eth_key_ifname, help_,                   \
	                    .metavar = "NAME", .values = TARN__ETH_IFNAME_VALUES, __VA_ARGS__)

/* The iface= key of a driver that attaches to an existing interface. */
#define TARN__LIF_KEY_ATTACH(T)                                                                    \
	TARN__LIF_KEY_IFACE(T, "the network interface to attach to",                               \
	                    .doc = "In the network namespace of the thread that creates the port", \
	                    .flags = TARN__KEY_REQUIRED)

/* The control ops of such a driver's struct tarn__eth_driver. */
#define TARN__LIF_DRIVER_OPS                                                                       \
	.link_get = tarn__lif_link_get, .promisc_set = tarn__lif_promisc_set,                      \
	.mtu_set = tarn__lif_mtu_set, .mac_set = tarn__lif_mac_set

/* The interface of port `dev`. */
static inline struct tarn__lif *tarn__lif_of(const struct tarn__eth_dev *dev)
{
	return (struct tarn__lif *)dev->priv;
}

/* ------------------------------------------------------------------------ */
/* Control ops (struct tarn__eth_driver), for a private structure that
 * starts with a struct tarn__lif whose ops are set. */

/* The interface's link (see nominal_speed). 0, -ENODEV when the interface
 * no longer exists (logged once), or -errno (logged). */
int tarn__lif_link_get(struct tarn__eth_dev *dev, struct tarn_eth_link *link);

/* Promiscuous mode on or off (see promisc_flag). 0, -ENODEV when the
 * interface no longer exists (logged once), or -errno (logged). */
int tarn__lif_promisc_set(struct tarn__eth_dev *dev, int on);

/* The interface's MTU: ops->mtu_check, the ioctl, then ops->mtu_changed.
 * 0 or -errno (logged; -EPERM says it needs CAP_NET_ADMIN). */
int tarn__lif_mtu_set(struct tarn__eth_dev *dev, uint32_t mtu);

/* The interface's MAC address. 0 or -errno (logged). */
int tarn__lif_mac_set(struct tarn__eth_dev *dev, const struct tarn_ether_addr *mac);

/* ------------------------------------------------------------------------ */
/* Create and start */

/*
 * At create, with l->ifname, l->fd and l->ops set: find the interface's
 * index (-ENODEV: none of that name in this network namespace), read its
 * MAC into *if_mac (-EINVAL: not an Ethernet interface), its MTU into
 * l->mtu_known and its device's NUMA node into dev->numa_node. 0 or -errno,
 * logged against the port spec.
 */
int tarn__lif_attach(struct tarn__eth_dev *dev, struct tarn__lif *l,
                     struct tarn_ether_addr *if_mac);

/* The port's MAC at create: mac= of `spec` goes to the interface (logged on
 * failure), else the port takes `if_mac`. 0 or -errno. */
int tarn__lif_mac_init(struct tarn__eth_dev *dev, struct tarn__lif *l,
                       const struct tarn__eth_spec *spec, const struct tarn_ether_addr *if_mac);

/* Close the control socket (at close, or when create fails after opening
 * it): the promiscuous membership it held goes with it. Harmless when it is
 * closed already. */
void tarn__lif_close(struct tarn__lif *l);

/*
 * At start: the interface still there (-ENODEV, logged once), readable and
 * up (-ENETDOWN, "bring it up first"), a warning when it has no carrier;
 * then what tarn_eth_dev_configure() recorded without calling the ops (an
 * MTU, promiscuous mode) is applied. `name` receives the interface's
 * current name. 0 or -errno (logged).
 */
int tarn__lif_start(struct tarn__eth_dev *dev, char name[IFNAMSIZ]);

/* NUMA node of the device under interface `ifname` (sysfs
 * /sys/class/net/IF/device/numa_node, as the sysfs of this network
 * namespace shows it), or TARN_SOCKET_ANY (-1) when it has none (veth,
 * tap), the kernel does not know it, or tarn has no such socket. */
int tarn__lif_numa_node(const char *ifname);

/* ------------------------------------------------------------------------ */
/* Calls on the interface, for the drivers' own needs */

/* The interface's current name, found by its index on l->fd (it may have
 * been renamed). 0, or -errno (-ENODEV when it no longer exists). */
int tarn__lif_name_now(const struct tarn__lif *l, char name[IFNAMSIZ]);

/* ioctl `req` on the interface (see ops->ifreq). 0 or -errno. */
int tarn__lif_ioctl(struct tarn__lif *l, unsigned long req, struct ifreq *ifr);

/* SIOCETHTOOL with command structure `cmd` (its `cmd` field set). 0 or -errno. */
int tarn__lif_ethtool(struct tarn__lif *l, void *cmd);

/* The interface's flags, MTU, MAC (and its hardware type, ARPHRD_ETHER for
 * Ethernet), and the bits `mask` of its flags set to `val`. 0 or -errno,
 * not logged. */
int tarn__lif_get_flags(struct tarn__lif *l, short *flags);
int tarn__lif_get_mtu(struct tarn__lif *l, uint32_t *mtu);
int tarn__lif_get_mac(struct tarn__lif *l, struct tarn_ether_addr *mac, unsigned *hwtype);
int tarn__lif_set_flags(struct tarn__lif *l, short mask, short val);

/* Set the MAC address / the MTU, logged on failure for port `dev`. 0 or
 * -errno. */
int tarn__lif_set_mac(struct tarn__eth_dev *dev, struct tarn__lif *l,
                      const struct tarn_ether_addr *mac);
int tarn__lif_set_mtu(struct tarn__eth_dev *dev, struct tarn__lif *l, uint32_t mtu);

/* Store `mtu` in the uint32_t at offset `off` of every TX queue of `dev`
 * set up (relaxed: the TX path reads it once per burst, either value is
 * fine): an ops->mtu_changed for a TX path that checks packet lengths. */
void tarn__lif_txq_mtu(struct tarn__eth_dev *dev, size_t off, uint32_t mtu);

/* Log once (l->gone_logged) that the port's interface no longer exists. */
void tarn__lif_log_gone(const struct tarn__eth_dev *dev, struct tarn__lif *l);

#endif /* TARN_DRIVERS_NET_LINUX_IF_H */
