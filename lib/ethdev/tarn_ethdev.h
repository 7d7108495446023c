/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file tarn_ethdev.h
 * Ports: creation from a spec string, configuration, queues, start/stop,
 * the burst calls, statistics, link, MAC address, promiscuous mode, MTU.
 *
 * ## Life of a port
 *
 * ```
 *   tarn_eth_dev_create("ring:name=a")          -> CREATED
 *   tarn_eth_dev_configure(port, nb_rxq, nb_txq) -> CONFIGURED
 *   tarn_eth_rx_queue_setup() / tarn_eth_tx_queue_setup(), every queue
 *   tarn_eth_dev_start()                          -> STARTED
 *       tarn_eth_rx_burst() / tarn_eth_tx_burst() from the polling threads
 *   tarn_eth_dev_stop()                           -> CONFIGURED
 *   tarn_eth_dev_close()                          -> the id is free again
 * ```
 *
 * ## Spec strings
 *
 * `DRIVER[:KEY=VALUE[,KEY=VALUE...]]`, e.g. `null:size=128` or
 * `ring:name=b,peer=a`. DRIVER is a built-in driver (tarn_eth_driver_count(),
 * tarn_eth_driver_name()). Keys are letters, digits, '_' and '-'; values are
 * 1 to TARN_ETH_VALUE_MAX-1 printable characters other than ',', '=' and
 * space; a key may appear once; at most TARN_ETH_MAX_KV pairs; the whole spec
 * is at most TARN_ETH_SPEC_MAX-1 characters. Every driver accepts the generic
 * keys:
 * - `name=NAME`: the port's name (unique, 1 to TARN_NAME_SIZE-1 characters);
 *   default: the driver name followed by the port id ("ring0").
 * - `mac=XX:XX:XX:XX:XX:XX`: the MAC address (unicast, not all zeros);
 *   default 02:74:61:72:6e:PP (locally administered, PP = port id).
 * - `socket=N`: the NUMA socket of the port's structures; default: the
 *   caller's socket.
 *
 * Built-in drivers (docs/tarn-fwd.md has the details):
 * - `ring`: in-memory port whose queues are tarn rings. `peer=NAME` cables
 *   the new port to the existing ring port NAME (TX queue i of either end
 *   feeds RX queue i of the other); `loop=1` cables the port to itself (TX
 *   queue i feeds its own RX queue i). Without either, the port's far end is
 *   free and a later port may name it as its peer; until then what it
 *   transmits waits in the cable (up to the ring size) and it receives
 *   nothing. The ring between a TX queue and an RX queue is created by the
 *   first of the two queue setups, with that setup's `nb_desc` as capacity.
 *   `bytes=0` counts packets only (ibytes/obytes stay 0, as with DPDK's
 *   net_ring): reading each packet's length is most of the per-packet cost
 *   of an in-memory port.
 * - `null`: RX returns `size` byte packets (`size=N`, 14 .. the pool's data room after headroom,
 *   default 64) allocated from the queue's pool, with an Ethernet/IPv4
 *   header; TX frees what it is given.
 *
 * ## Fast path
 *
 * tarn_eth_rx_burst() and tarn_eth_tx_burst() are static inline: a bounds
 * check on the port and queue, then one indirect call to the driver through
 * a flat per-port array (`tarn__eth_fp_ops`) holding the burst functions and
 * the queues' data pointers. On a port that is not started they return 0
 * without calling the driver.
 *
 * ## Threads
 *
 * The control calls (everything but the bursts and the statistics readers)
 * take one mutex and may be called from any thread. The burst calls of one
 * queue must be made by one thread at a time (as in DPDK); different queues
 * may be polled by different threads. No thread may poll a port while it is
 * stopped, reconfigured or closed. Statistics may be read and reset from any
 * thread while the port runs.
 *
 * Every call needs tarn_init() first. Ports still open at tarn_cleanup()
 * must be closed before it (tarn-fwd and the tests do).
 */
#ifndef TARN_ETHDEV_H
#define TARN_ETHDEV_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "tarn_env.h"
#include "tarn_mbuf.h"
#include "tarn_mempool.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/** @name Limits */
/**@{*/

/** Most ports open at a time (port ids 0 .. TARN_MAX_ETHPORTS-1). */
#define TARN_MAX_ETHPORTS 32
/** Most RX queues and most TX queues of a port. */
#define TARN_ETH_MAX_QUEUES 16
/** Longest spec string, terminator included. */
#define TARN_ETH_SPEC_MAX 256
/** Longest key of a spec, terminator included. */
#define TARN_ETH_KEY_MAX 32
/** Longest value of a spec, terminator included. */
#define TARN_ETH_VALUE_MAX 64
/** Most key=value pairs in a spec. */
#define TARN_ETH_MAX_KV 16
/** Descriptors of a queue when setup is given 0. */
#define TARN_ETH_DEFAULT_DESC 1024
/** Most descriptors of a queue. */
#define TARN_ETH_MAX_DESC 65536
/** Smallest MTU. */
#define TARN_ETH_MIN_MTU 68
/** Largest MTU. */
#define TARN_ETH_MAX_MTU 9600
/** Default MTU. */
#define TARN_ETH_DEFAULT_MTU 1500
/** Bytes in an Ethernet address. */
#define TARN_ETHER_ADDR_LEN 6
/** Bytes in an Ethernet header (no VLAN). */
#define TARN_ETHER_HDR_LEN 14
/** Ethernet type of IPv4. */
#define TARN_ETHER_TYPE_IPV4 0x0800
/**@}*/

/* ------------------------------------------------------------------------ */
/** @name Types */
/**@{*/

/** An Ethernet (MAC) address. */
struct tarn_ether_addr {
	uint8_t addr_bytes[TARN_ETHER_ADDR_LEN]; /**< in transmission order */
};

/** An Ethernet header, as on the wire. */
struct tarn_ether_hdr {
	struct tarn_ether_addr dst; /**< destination address */
	struct tarn_ether_addr src; /**< source address */
	uint16_t ether_type;        /**< type, big-endian */
} __attribute__((packed));

/** Port configuration (tarn_eth_dev_configure()). Zeroed means the defaults. */
struct tarn_eth_conf {
	/** MTU, TARN_ETH_MIN_MTU .. TARN_ETH_MAX_MTU; 0: keep the current one. */
	uint32_t mtu;
	/** Non-zero: enable promiscuous mode (also tarn_eth_promiscuous_enable()). */
	uint32_t promiscuous;
};

/** Link state. */
struct tarn_eth_link {
	uint32_t speed_mbps; /**< speed in Mbit/s; 0 when down */
	uint8_t up;          /**< non-zero when the link is up */
	uint8_t full_duplex; /**< non-zero for full duplex */
	uint8_t autoneg;     /**< non-zero if autonegotiated */
};

/** Port state. */
enum tarn_eth_state {
	TARN_ETH_STATE_CREATED = 1,    /**< created, not configured */
	TARN_ETH_STATE_CONFIGURED = 2, /**< configured (queues maybe set up), stopped */
	TARN_ETH_STATE_STARTED = 3,    /**< started: bursts reach the driver */
};

/** What tarn_eth_dev_info_get() reports. */
struct tarn_eth_dev_info {
	char driver_name[TARN_NAME_SIZE]; /**< driver ("ring", "null") */
	char name[TARN_NAME_SIZE];        /**< port name */
	char spec[TARN_ETH_SPEC_MAX];     /**< the spec the port was created from */
	enum tarn_eth_state state;        /**< current state */
	int socket;                       /**< socket of the port's structures */
	/**
	 * NUMA node the port belongs to: the `socket=` of its spec when given,
	 * else the node of the device under it (a port on a kernel interface:
	 * the node of the interface's device, as sysfs says), else
	 * TARN_SOCKET_ANY (-1): no device (ring, null, pcap, tap, veth) or an
	 * unknown node. Where an application puts a port's pools and lcores to
	 * keep them on the device's node (testpmd's rule).
	 */
	int numa_node;
	uint16_t nb_rx_queues;      /**< configured RX queues (0 before configure) */
	uint16_t nb_tx_queues;      /**< configured TX queues */
	uint16_t max_rx_queues;     /**< most RX queues the driver supports */
	uint16_t max_tx_queues;     /**< most TX queues */
	uint32_t min_desc;          /**< fewest descriptors per queue */
	uint32_t max_desc;          /**< most descriptors per queue */
	uint32_t min_mtu;           /**< smallest MTU */
	uint32_t max_mtu;           /**< largest MTU */
	uint32_t mtu;               /**< current MTU */
	int promiscuous;            /**< promiscuous mode on */
	struct tarn_ether_addr mac; /**< current MAC address */
};

/**
 * Counters of a port. Every counter counts since the port was created or
 * since the last tarn_eth_stats_reset().
 */
struct tarn_eth_stats {
	uint64_t ipackets;  /**< packets received (returned by rx_burst) */
	uint64_t opackets;  /**< packets transmitted (taken by tx_burst) */
	uint64_t ibytes;    /**< bytes received (pkt_len) */
	uint64_t obytes;    /**< bytes transmitted */
	uint64_t imissed;   /**< packets the device dropped on receive (queue full) */
	uint64_t ierrors;   /**< erroneous packets received and dropped */
	uint64_t oerrors;   /**< packets tx_burst refused (the caller kept them) */
	uint64_t rx_nombuf; /**< receive failures for lack of mbufs in the pool */
};

/** Counters of one queue (RX: errors/missed/nombuf are RX ones; TX: errors). */
struct tarn_eth_queue_stats {
	uint64_t packets; /**< packets received or transmitted */
	uint64_t bytes;   /**< bytes received or transmitted */
	uint64_t errors;  /**< RX: ierrors; TX: oerrors */
	uint64_t missed;  /**< RX: imissed; TX: 0 */
	uint64_t nombuf;  /**< RX: rx_nombuf; TX: 0 */
};
/**@}*/

/* ------------------------------------------------------------------------ */
/** @name Drivers */
/**@{*/

/** @return the number of built-in drivers. Thread-safe; works before tarn_init(). */
TARN_API unsigned tarn_eth_driver_count(void);

/**
 * @param idx  0 .. tarn_eth_driver_count()-1.
 * @return the name of driver `idx`, or NULL if `idx` is out of range.
 * Thread-safe; works before tarn_init().
 */
TARN_API const char *tarn_eth_driver_name(unsigned idx);

/**
 * @param idx  0 .. tarn_eth_driver_count()-1.
 * @return one line describing driver `idx`: what its ports are, then each
 *   of its keys as `KEY=VALUE (what it does; default D)`, made from the
 *   driver's key table (the generic keys name, mac and socket are left
 *   out); NULL if `idx` is out of range.
 * Thread-safe; works before tarn_init().
 */
TARN_API const char *tarn_eth_driver_help(unsigned idx);
/**@}*/

/* ------------------------------------------------------------------------ */
/** @name Creation and lifecycle (control path, thread-safe, blocking) */
/**@{*/

/**
 * Create a port from a spec string (see the file comment).
 *
 * @param spec     `DRIVER[:KEY=VALUE,...]`.
 * @param port_id  receives the new port's id.
 * @return 0;
 *   -EINVAL for a malformed spec (NULL or empty, too long, no driver name,
 *   empty key or value, missing '=', duplicate key, too many pairs, a value
 *   too long or not valid for its key, an unknown key: the log line names
 *   the driver's valid keys), a NULL `port_id`, or tarn not initialised;
 *   -ENODEV for an unknown driver (the log lists the drivers);
 *   -EEXIST if a port of that name exists;
 *   -ENOENT if a key names something that does not exist (ring `peer`);
 *   -EBUSY if it names something already taken (a ring peer already cabled);
 *   -ENOSPC if TARN_MAX_ETHPORTS ports are open;
 *   -ENOMEM.
 *   On failure nothing is created and `*port_id` is untouched.
 */
TARN_API int tarn_eth_dev_create(const char *spec, uint16_t *port_id);

/**
 * Set the number of queues and the configuration. On a configured port the
 * queues set up before are released (their mbufs freed) and must be set up
 * again.
 * @param port_id  the port.
 * @param nb_rxq   RX queues, 1 .. max_rx_queues.
 * @param nb_txq   TX queues, 1 .. max_tx_queues.
 * @param conf     configuration, or NULL for the defaults.
 * @return 0; -ENODEV (no such port); -EBUSY (started); -EINVAL (a queue
 *   count out of range, a bad MTU).
 */
TARN_API int tarn_eth_dev_configure(uint16_t port_id, uint16_t nb_rxq, uint16_t nb_txq,
                                    const struct tarn_eth_conf *conf);

/**
 * Set up RX queue `queue_id`; a queue already set up is released first.
 * @param port_id   the port.
 * @param queue_id  0 .. nb_rxq-1.
 * @param nb_desc   descriptors (the queue's capacity), 0 for
 *                  TARN_ETH_DEFAULT_DESC, at most TARN_ETH_MAX_DESC.
 * @param socket    socket for the queue's memory, or TARN_SOCKET_ANY.
 * @param mb_pool   pool of mbufs (from tarn_pktmbuf_pool_create()) that RX
 *                  allocates from.
 * @return 0; -ENODEV; -EBUSY (started); -EINVAL (not configured, queue id out
 *   of range, too many descriptors, bad socket, NULL pool, a pool whose
 *   buffers are too small for the driver); -ENOMEM.
 */
TARN_API int tarn_eth_rx_queue_setup(uint16_t port_id, uint16_t queue_id, uint32_t nb_desc,
                                     int socket, struct tarn_mempool *mb_pool);

/**
 * Set up TX queue `queue_id`; a queue already set up is released first.
 * @param port_id, queue_id, nb_desc, socket  as tarn_eth_rx_queue_setup().
 * @return 0; -ENODEV; -EBUSY (started); -EINVAL (not configured, queue id
 *   out of range, too many descriptors, bad socket); -ENOMEM.
 */
TARN_API int tarn_eth_tx_queue_setup(uint16_t port_id, uint16_t queue_id, uint32_t nb_desc,
                                     int socket);

/**
 * Start the port: the bursts reach the driver from now on.
 * @return 0; -ENODEV; -EALREADY (already started); -EINVAL (not configured,
 *   or a queue not set up: the log names it).
 */
TARN_API int tarn_eth_dev_start(uint16_t port_id);

/**
 * Stop the port: the bursts return 0 from now on. Packets queued in the
 * driver stay there (a ring port keeps them for the next start).
 * No thread may be polling the port during the call.
 * @return 0 (also when the port is not started); -ENODEV; -EIO: the port is
 *   stopped, but its output failed while it ran, and what it refused since
 *   is lost to its sink (a pcap port whose tx_pcap could not be written, a
 *   full disk: the log says which; the refused packets are in oerrors).
 *   Every later stop and close of the port returns -EIO again, as close(2)
 *   reports a write error it kept.
 */
TARN_API int tarn_eth_dev_stop(uint16_t port_id);

/**
 * Close the port: stop it if started, release its queues (mbufs the driver
 * holds go back to their pools) and free the port id.
 * @return 0; -ENODEV (no such port, e.g. closed already); -EIO: the port is
 *   closed, but its output failed while it ran (see tarn_eth_dev_stop()).
 */
TARN_API int tarn_eth_dev_close(uint16_t port_id);
/**@}*/

/* ------------------------------------------------------------------------ */
/** @name Lookup and information (thread-safe) */
/**@{*/

/** @return non-zero if `port_id` is an open port. */
TARN_API int tarn_eth_dev_is_valid_port(uint16_t port_id);

/** @return the number of open ports. */
TARN_API unsigned tarn_eth_dev_count(void);

/**
 * Iterate over the open ports.
 * @param prev  the previous id, or -1 to start.
 * @return the next open port id after `prev`, or -1 at the end.
 */
TARN_API int tarn_eth_dev_next(int prev);

/** Loop over the open ports (`p` is an int). */
#define TARN_ETH_FOREACH_DEV(p)                                                                    \
	for ((p) = tarn_eth_dev_next(-1); (p) >= 0; (p) = tarn_eth_dev_next(p))

/**
 * Find a port by name.
 * @return 0 with `*port_id` set; -ENOENT (no such port); -EINVAL (NULL
 *   arguments).
 */
TARN_API int tarn_eth_dev_get_by_name(const char *name, uint16_t *port_id);

/**
 * Describe a port.
 * @return 0; -ENODEV; -EINVAL (`info` NULL).
 */
TARN_API int tarn_eth_dev_info_get(uint16_t port_id, struct tarn_eth_dev_info *info);

/**
 * @return the socket of the port's structures (the spec's `socket=`, else
 * the socket of the thread that created it), or -ENODEV. Where its device
 * sits is tarn_eth_dev_info.numa_node.
 */
TARN_API int tarn_eth_dev_socket(uint16_t port_id);
/** The same as tarn_eth_dev_socket(), under DPDK's name (rte_eth_dev_socket_id()). */
TARN_API int tarn_eth_dev_socket_id(uint16_t port_id);
/**@}*/

/* ------------------------------------------------------------------------ */
/** @name Statistics (any thread, while the port runs) */
/**@{*/

/**
 * Read the port's counters: the sums of its queues' counters.
 * @return 0; -ENODEV; -EINVAL (`stats` NULL).
 * Thread-safe and lock-free with respect to the polling threads; a snapshot.
 */
TARN_API int tarn_eth_stats_get(uint16_t port_id, struct tarn_eth_stats *stats);

/**
 * Read one RX queue's counters.
 * @param port_id   the port.
 * @param queue_id  0 .. TARN_ETH_MAX_QUEUES-1 (a queue never used reads 0).
 * @param stats     filled with the queue's counters.
 * @return 0; -ENODEV; -EINVAL (queue id out of range, `stats` NULL).
 */
TARN_API int tarn_eth_rx_queue_stats_get(uint16_t port_id, uint16_t queue_id,
                                         struct tarn_eth_queue_stats *stats);

/** As tarn_eth_rx_queue_stats_get(), for a TX queue. */
TARN_API int tarn_eth_tx_queue_stats_get(uint16_t port_id, uint16_t queue_id,
                                         struct tarn_eth_queue_stats *stats);

/**
 * Reset every counter of the port (and its queues) to 0. Safe while the port
 * runs: the counters the polling threads update are not written; the current
 * values become the new zero.
 * @return 0; -ENODEV.
 */
TARN_API int tarn_eth_stats_reset(uint16_t port_id);

/** Longest name of an extended statistic, terminator included. */
#define TARN_ETH_XSTAT_NAME_SIZE 64

/** An extended statistic: a named counter. */
struct tarn_eth_xstat {
	char name[TARN_ETH_XSTAT_NAME_SIZE]; /**< DPDK's name where DPDK has one */
	uint64_t value;                      /**< its value */
};

/**
 * Extended statistics of a port, in DPDK's names and order: the totals of
 * tarn_eth_stats_get() (rx_good_packets, tx_good_packets, rx_good_bytes,
 * tx_good_bytes, rx_missed_errors, rx_errors, tx_errors,
 * rx_mbuf_allocation_errors), then per configured queue rx_qN_packets,
 * rx_qN_bytes, rx_qN_errors, tx_qN_packets, tx_qN_bytes,
 * rx_qN_missed_errors and rx_qN_mbuf_allocation_errors; then the driver's
 * own counters (docs/drivers/DRIVER.md names them), which count from the
 * queue's setup: tarn_eth_stats_reset() resets only the first part.
 * @param port_id  the port.
 * @param xstats   receives at most `n` of them (may be NULL when `n` is 0).
 * @param n        room in `xstats`.
 * @return the number the port has (may exceed `n`: only `n` are written);
 *   -ENODEV; -EINVAL (`xstats` NULL with `n` > 0).
 * Thread-safe; a snapshot while the port runs (as tarn_eth_stats_get()).
 */
TARN_API int tarn_eth_xstats_get(uint16_t port_id, struct tarn_eth_xstat *xstats, unsigned n);
/**@}*/

/* ------------------------------------------------------------------------ */
/** @name Link, MAC, promiscuous mode, MTU (control path) */
/**@{*/

/**
 * Read the link state. Ring and null ports are up, 10 Gbit/s full duplex,
 * while started, down otherwise; ports on kernel interfaces report the
 * interface's state.
 * @return 0; -ENODEV; -EINVAL (`link` NULL); a driver's error reading the
 *   device (e.g. -ENODEV when its interface is gone).
 */
TARN_API int tarn_eth_link_get(uint16_t port_id, struct tarn_eth_link *link);

/** @return 0 with `*mac` set; -ENODEV; -EINVAL (`mac` NULL). */
TARN_API int tarn_eth_macaddr_get(uint16_t port_id, struct tarn_ether_addr *mac);

/**
 * Set the MAC address (on the device too, for drivers on kernel interfaces).
 * @return 0; -ENODEV; -EINVAL (NULL, multicast or all-zero address); a
 *   driver's error (e.g. -EPERM without CAP_NET_ADMIN); the address is
 *   unchanged on error.
 */
TARN_API int tarn_eth_macaddr_set(uint16_t port_id, const struct tarn_ether_addr *mac);

/**
 * Turn promiscuous mode on or off. Ring and null ports deliver every packet
 * either way; the mode is recorded and reported. Drivers on kernel
 * interfaces apply it to the interface.
 * @return 0; -ENODEV; a driver's error (mode unchanged).
 */
TARN_API int tarn_eth_promiscuous_enable(uint16_t port_id);
/** @copydoc tarn_eth_promiscuous_enable */
TARN_API int tarn_eth_promiscuous_disable(uint16_t port_id);
/** @return 1 if promiscuous, 0 if not, -ENODEV. */
TARN_API int tarn_eth_promiscuous_get(uint16_t port_id);

/**
 * Set the MTU (allowed while started).
 * @return 0; -ENODEV; -EINVAL (outside min_mtu .. max_mtu, or larger than
 *   the driver's buffers hold); a driver's error (MTU unchanged).
 */
TARN_API int tarn_eth_dev_set_mtu(uint16_t port_id, uint32_t mtu);

/** @return 0 with `*mtu` set; -ENODEV; -EINVAL (`mtu` NULL). */
TARN_API int tarn_eth_dev_get_mtu(uint16_t port_id, uint32_t *mtu);

/**
 * Format a MAC address as "xx:xx:xx:xx:xx:xx".
 * @param buf   at least 18 bytes.
 * @param size  size of `buf`.
 * @param mac   the address.
 * @return `buf`, or NULL if `buf`/`mac` is NULL or `size` < 18.
 */
TARN_API char *tarn_ether_format_addr(char *buf, size_t size, const struct tarn_ether_addr *mac);

/**
 * Parse "xx:xx:xx:xx:xx:xx" (hex digits, either case).
 * @return 0, or -EINVAL.
 */
TARN_API int tarn_ether_parse_addr(const char *s, struct tarn_ether_addr *mac);

/** Print one block per port: name, driver, state, queues, link, MAC, counters. */
TARN_API void tarn_eth_dev_dump(FILE *out);
/**@}*/

/* ------------------------------------------------------------------------ */
/* Fast path: internal structures read by the inline calls. */

/** Internal: a driver's receive function. */
typedef uint16_t (*tarn_eth_rx_burst_t)(void *rxq, struct tarn_mbuf **pkts, uint16_t n);
/** Internal: a driver's transmit function. */
typedef uint16_t (*tarn_eth_tx_burst_t)(void *txq, struct tarn_mbuf **pkts, uint16_t n);

/**
 * Internal: what the burst calls need of one port, in one flat array indexed
 * by port id. Written only by tarn_eth_dev_start()/stop()/close() (no thread
 * may poll the port then); zero while the port is not started, so the bursts
 * return 0 without a call.
 */
struct tarn_eth_fp_ops {
	tarn_eth_rx_burst_t rx_burst;   /**< driver RX */
	tarn_eth_tx_burst_t tx_burst;   /**< driver TX */
	uint16_t nb_rxq;                /**< started RX queues; 0 when stopped */
	uint16_t nb_txq;                /**< started TX queues; 0 when stopped */
	void *rxq[TARN_ETH_MAX_QUEUES]; /**< driver data of each RX queue */
	void *txq[TARN_ETH_MAX_QUEUES]; /**< driver data of each TX queue */
} TARN_CACHE_ALIGNED;

/** Internal: the fast-path table. */
extern TARN_API struct tarn_eth_fp_ops tarn__eth_fp_ops[TARN_MAX_ETHPORTS];

/* ------------------------------------------------------------------------ */
/** @name Burst calls (static inline fast path) */
/**@{*/

/**
 * Receive up to `nb_pkts` packets from RX queue `queue_id`.
 *
 * @param port_id   the port.
 * @param queue_id  the RX queue.
 * @param rx_pkts   receives the mbufs; the caller owns them afterwards.
 * @param nb_pkts   room in `rx_pkts`.
 * @return the number of packets received, 0 .. nb_pkts; 0 also for a port
 *   that is not started or does not exist, or a queue out of range.
 * One thread at a time per queue. Wait-free for ring and null ports.
 */
static inline uint16_t tarn_eth_rx_burst(uint16_t port_id, uint16_t queue_id,
                                         struct tarn_mbuf **rx_pkts, uint16_t nb_pkts)
{
	const struct tarn_eth_fp_ops *fp;

	if (tarn_unlikely(port_id >= TARN_MAX_ETHPORTS))
		return 0;
	fp = &tarn__eth_fp_ops[port_id];
	if (tarn_unlikely(queue_id >= fp->nb_rxq))
		return 0;
	return fp->rx_burst(fp->rxq[queue_id], rx_pkts, nb_pkts);
}

/**
 * Transmit up to `nb_pkts` packets on TX queue `queue_id`.
 *
 * The port takes the first `n` packets (the return value); the caller still
 * owns `tx_pkts[n .. nb_pkts-1]` and must retry or free them. Refused packets
 * count as oerrors.
 *
 * @param port_id   the port.
 * @param queue_id  the TX queue.
 * @param tx_pkts   the mbufs to send.
 * @param nb_pkts   how many.
 * @return the number of packets taken, 0 .. nb_pkts; 0 for a port that is
 *   not started or does not exist, or a queue out of range.
 * One thread at a time per queue. Wait-free for ring and null ports.
 */
static inline uint16_t tarn_eth_tx_burst(uint16_t port_id, uint16_t queue_id,
                                         struct tarn_mbuf **tx_pkts, uint16_t nb_pkts)
{
	const struct tarn_eth_fp_ops *fp;

	if (tarn_unlikely(port_id >= TARN_MAX_ETHPORTS))
		return 0;
	fp = &tarn__eth_fp_ops[port_id];
	if (tarn_unlikely(queue_id >= fp->nb_txq))
		return 0;
	return fp->tx_burst(fp->txq[queue_id], tx_pkts, nb_pkts);
}
/**@}*/

#ifdef __cplusplus
}
#endif

#endif /* TARN_ETHDEV_H */
