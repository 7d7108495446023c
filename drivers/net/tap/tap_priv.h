/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tap_priv.h - internal to the "tap" driver: a port on a Linux TAP
 * interface (/dev/net/tun, IFF_TAP | IFF_NO_PI). Never installed.
 *
 *   tap:iface=NAME[,queues=N]
 *
 * docs/drivers/tap.md describes the keys, the errors and the counters. The
 * driver's files, by concern:
 *   ctrl.c  the keys, create/close, queue setup, start/stop
 *   tun.c   the /dev/net/tun descriptors, and ioctls on the interface in the
 *           network namespace it is in now
 *   rx.c    receive: read() into mbufs (fast path)
 *   tx.c    transmit: write() from mbufs (fast path)
 * The link, promiscuous, MTU and MAC ops are drivers/net/common/linux_if.c's,
 * reaching the interface through tun.c (tarn__tap_ifreq).
 *
 * The port is the far end of a virtual Ethernet cable whose near end is the
 * kernel's interface NAME: what the kernel sends out of NAME, RX reads; what
 * TX writes, the kernel receives on NAME. create() makes the interface, or
 * attaches to an existing tap of that name, and opens one file descriptor
 * per queue pair (IFF_MULTI_QUEUE when queues > 1), all non-blocking. RX
 * queue i and TX queue i share descriptor i. Every descriptor is opened at
 * create, so the interface may be moved to another network namespace
 * afterwards (the descriptors stay valid).
 *
 * MAC, MTU, promiscuous mode and link state are the interface's: create
 * reads them (or applies mac=), the control ops apply them with ioctls, start
 * brings the interface up and stop restores its previous up/down state.
 * close deletes an interface the driver created (closing the last descriptor
 * of a non-persistent tap deletes it) and puts back the flags, MTU and MAC of
 * one it attached to.
 *
 * An interface deleted while the port runs: read()/write() fail with EBADFD;
 * the queue logs it once, counts one ierror (RX) or every packet it refuses
 * (TX, oerrors), and makes no more system calls; link_get returns -ENODEV
 * with the link down.
 *
 * Every op runs under the ethdev control mutex. The fast path and the
 * control path share rxq->use_readv (relaxed atomic) and the counters.
 */
#ifndef TARN_TAP_PRIV_H
#define TARN_TAP_PRIV_H

#include <net/if.h>
#include <stdint.h>
#include <sys/types.h>

#include "../common/linux_if.h"
#include "ethdev_driver_priv.h"
#include "tarn_mbuf.h"

#define TAP_LOG      TARN__ETH_LOG
#define TAP_TUN_PATH "/dev/net/tun"
/* mbufs a queue allocates at once and keeps for the next reads. */
#define TAP_RX_STASH 32
/* Spill buffer of an RX queue: the rest of a frame longer than one mbuf. */
#define TAP_SPILL_SIZE 65536
/* Longest frame for an MTU: Ethernet header and two VLAN tags, no FCS. */
#define TAP_FRAME_OVERHEAD (TARN_ETHER_HDR_LEN + 8)
/* Most segments of a packet TX writes with one writev(). */
#define TAP_TX_MAX_SEGS 64
/* Nominal speed reported while the link is up (a tap has none). */
#define TAP_SPEED_MBPS 10000

/* dev->priv: the interface (first: linux_if.h's ops find it there; the
 * iface= key lands in lif.ifname, "" for tarn_tapP; lif.fd is the control
 * socket, in the namespace identified by ns_dev/ns_ino), the other key, then
 * the port. */
struct tap_port {
	struct tarn__lif lif;
	uint32_t queues; /* queues=: queue pairs, a descriptor each */
	unsigned nb_fds; /* descriptors open */
	int fd[TARN_ETH_MAX_QUEUES];
	int created; /* the driver made the interface (deleted at close) */
	int multi_queue;
	dev_t ns_dev;
	ino_t ns_ino;
	/* Found at create; put back at close on an attached interface. */
	short orig_flags;
	uint32_t orig_mtu;
	struct tarn_ether_addr orig_mac;
	int up_before_start;
};

struct tap_rxq {
	int fd;
	uint16_t port_id;
	uint16_t room; /* bytes of data one mbuf holds (data room after headroom) */
	/* 1: read with readv() and the spill buffer. Written by the control
	 * path (start, mtu_set) and by the polling thread, read by the latter:
	 * relaxed atomics, nothing else is published through it. */
	int use_readv;
	int gone; /* the interface is gone (polling thread only) */
	unsigned nb_stash;
	struct tarn_mempool *mp;
	struct tarn__eth_qstats *stats;
	uint8_t *spill;
	struct tarn_mbuf *stash[TAP_RX_STASH];
	char ifname[IFNAMSIZ];
} TARN_CACHE_ALIGNED;

struct tap_txq {
	int fd;
	uint16_t port_id;
	int gone;
	struct tarn__eth_qstats *stats;
	char ifname[IFNAMSIZ];
} TARN_CACHE_ALIGNED;

/* rx.c */
uint16_t tarn__tap_rx_burst(void *qd, struct tarn_mbuf **pkts, uint16_t n);
/* read() while the longest frame of `mtu` leaves the mbuf not full, else
 * readv() with the spill buffer (any thread: a relaxed store). */
void tarn__tap_rxq_set_vec(struct tap_rxq *q, uint32_t mtu);

/* tx.c */
uint16_t tarn__tap_tx_burst(void *qd, struct tarn_mbuf **pkts, uint16_t n);

/* tun.c */
/* The tun flags of an existing interface (sysfs), -ENOENT if it is not a
 * tun/tap device, -EIO if they cannot be read. */
long tarn__tap_tun_flags(const char *name);
/* Open queue descriptor `i` (TUNSETIFF on lif.ifname). 0 or -errno (logged). */
int tarn__tap_fd_open(struct tarn__eth_dev *dev, struct tap_port *tp, unsigned i);
/* The control socket, in the calling thread's namespace. 0 or -errno. */
int tarn__tap_ctl_open(struct tarn__eth_dev *dev, struct tap_port *tp);
/* Close the descriptors and the control socket. */
void tarn__tap_fds_close(struct tap_port *tp);
/* linux_if.h's ifreq hook: SIOC* ioctl `req` on the interface, named by its
 * tun descriptor, in the namespace it is in now. 0 or -errno; -ENODEV when
 * the interface is gone. */
int tarn__tap_ifreq(struct tarn__lif *l, unsigned long req, struct ifreq *ifr);

#endif /* TARN_TAP_PRIV_H */
