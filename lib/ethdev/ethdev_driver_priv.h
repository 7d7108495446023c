/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ethdev_driver_priv.h - internal: the interface between ethdev and the net
 * drivers compiled into libtarn (drivers/net/<name>/). Never installed.
 *
 * A driver is a const struct tarn__eth_driver listed in the driver table of
 * lib/ethdev/driver.c. It declares what is particular to its device (its
 * keys, its limits, the room it needs in an RX mbuf, the size of its queue
 * structures) and implements ops; ethdev reads and checks the spec keys,
 * the queue and descriptor counts and the RX pool, allocates the queues,
 * and makes the help and the docs' key tables from the declarations.
 *
 * Every op is called by ethdev with its control mutex held, so ops never
 * run concurrently with each other (a driver's own global state, such as
 * the ring driver's list of cables, needs no other lock). ethdev checks the
 * arguments and the port state before calling an op; the preconditions
 * below are what it guarantees. docs/architecture.md ("Drivers") has the
 * picture.
 */
#ifndef TARN_ETHDEV_DRIVER_PRIV_H
#define TARN_ETHDEV_DRIVER_PRIV_H

#include <stdint.h>

#include "env_priv.h"
#include "keys_priv.h"
#include "tarn_ethdev.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Log tag of ethdev and the drivers. */
#define TARN__ETH_LOG "ethdev"

/* ------------------------------------------------------------------------ */
/* Spec strings, parsed. */

struct tarn__eth_kv {
	char key[TARN_ETH_KEY_MAX];
	char value[TARN_ETH_VALUE_MAX];
};

struct tarn__eth_spec {
	char driver[TARN_NAME_SIZE];
	unsigned nb_kv;
	struct tarn__eth_kv kv[TARN_ETH_MAX_KV];
};

/*
 * Parse `DRIVER[:KEY=VALUE,...]` into `out` (syntax only: the driver and the
 * keys are not checked against anything). Returns 0, or -EINVAL with a log
 * line saying what is wrong and where.
 */
int tarn__eth_spec_parse(const char *spec, struct tarn__eth_spec *out);

/* The value of `key`, or NULL if the spec does not have it. A driver's
 * create() uses it to know whether a key was given at all (e.g. mac=). */
const char *tarn__eth_spec_get(const struct tarn__eth_spec *s, const char *key);

/* ------------------------------------------------------------------------ */
/* Driver keys (keys_priv.h), read by ethdev into dev->priv before create().
 *
 * A driver lists its keys in a table of struct tarn__key whose offsets are
 * into its private structure (priv_size bytes, zeroed):
 *
 *   static const struct tarn__key null_keys[] = {
 *           TARN__KEY_UINT_AT("size", struct null_port, size, 14, 9614, 64,
 *                             "bytes of each received packet"),
 *           TARN__KEY_END,
 *   };
 *
 * ethdev refuses a key that is neither generic (name, mac, socket) nor in
 * the table, a required key that is missing, and a value its type, range,
 * alignment or words do not allow, each with one wording:
 *   port spec 'SPEC': KEY 'VALUE': expected a decimal number from 1 to 16
 *   port spec 'SPEC': DRIVER needs KEY=METAVAR (help)
 * It writes the defaults, then the given values, and only then calls
 * create(), which checks what the table cannot say (one key against
 * another, the device). The same table makes tarn_eth_driver_help() and the
 * key table of docs/drivers/DRIVER.md (checked by the ethdev suite).
 */

/* A UINT key whose value is the most queue pairs of the port (0: the
 * driver's max_rx_queues/max_tx_queues). ethdev refuses a queue setup
 * beyond it, saying "the port has KEY=N (add KEY=N to the spec, ...)". */
#define TARN__ETH_KEY_QUEUES TARN__KEY_USER

/* CUSTOM reader of a network interface name into char[IFNAMSIZ]: 1 to 15
 * characters, none of '/', ':', '%' (a name template) or white space, not
 * "." or "..": what the kernel takes as an interface's name. */
int tarn__eth_key_ifname(const char *value, void *field, size_t size, char *why, size_t why_size);
/* What it takes, for the `values` of such a key. */
#define TARN__ETH_IFNAME_VALUES "an interface name: 1-15 characters, no /, :, % or space"

/* The driver named `name`, or NULL (the docs check and the tests). */
const struct tarn__eth_driver *tarn__eth_driver_find(const char *name);

/* The keys every driver takes (name, mac, socket), for the docs. */
extern const struct tarn__key tarn__eth_generic_keys[];

/* ------------------------------------------------------------------------ */
/* Per-queue counters: written only by the thread polling the queue (relaxed
 * load + relaxed store, so readers on other threads see whole values without
 * a data race), read by tarn_eth_stats_get() from any thread. */

struct tarn__eth_qstats {
	uint64_t packets;
	uint64_t bytes;
	uint64_t errors;
	uint64_t missed;
	uint64_t nombuf;
} TARN_CACHE_ALIGNED;

/* Add `n` to a counter of a queue. Only the polling thread calls it. */
static inline void tarn__eth_count(uint64_t *ctr, uint64_t n)
{
	/* relaxed: single writer (the polling thread); readers only need a
	 * whole value, no ordering with anything else. */
	__atomic_store_n(ctr, __atomic_load_n(ctr, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
}

/*
 * Add what a burst counted to its queue's counters, at the end of the burst
 * (one store per non-zero counter). TX bursts give nombuf 0, a constant the
 * compiler drops. Only the polling thread calls it.
 */
static inline void tarn__eth_count_burst(struct tarn__eth_qstats *st, uint64_t packets,
                                         uint64_t bytes, uint64_t errors, uint64_t nombuf)
{
	if (tarn_likely(packets != 0)) {
		tarn__eth_count(&st->packets, packets);
		tarn__eth_count(&st->bytes, bytes);
	}
	if (tarn_unlikely(errors != 0))
		tarn__eth_count(&st->errors, errors);
	if (tarn_unlikely(nombuf != 0))
		tarn__eth_count(&st->nombuf, nombuf);
}

/* TX into nothing (a null port, a pcap port without a sink): free the
 * packets and count them as sent. */
static inline uint16_t tarn__eth_tx_discard(struct tarn__eth_qstats *st, struct tarn_mbuf **pkts,
                                            uint16_t n)
{
	uint64_t bytes = 0;

	for (uint16_t i = 0; i < n; i++)
		bytes += pkts[i]->pkt_len;
	tarn_pktmbuf_free_bulk(pkts, n);
	tarn__eth_count_burst(st, n, bytes, 0, 0);
	return n;
}

/* ------------------------------------------------------------------------ */
/* VLAN tags a driver inserts on transmit (TARN_MBUF_F_TX_VLAN / TX_QINQ). */

#define TARN__ETH_VLAN_HLEN   4u      /* one tag: TPID and TCI */
#define TARN__ETH_TPID_8021Q  0x8100u /* the (inner) tag of vlan_tci */
#define TARN__ETH_TPID_8021AD 0x88a8u /* the outer tag of vlan_tci_outer */

/* Tags packet `m` asks to insert: 2 (TX_QINQ: vlan_tci_outer with TPID
 * 0x88a8, then vlan_tci with 0x8100), 1 (TX_VLAN: vlan_tci), 0. */
static inline unsigned tarn__eth_tx_ntags(const struct tarn_mbuf *m)
{
	if (tarn_likely(!(m->ol_flags & (TARN_MBUF_F_TX_VLAN | TARN_MBUF_F_TX_QINQ))))
		return 0;
	return (m->ol_flags & TARN_MBUF_F_TX_QINQ) ? 2 : 1;
}

/* Write the `ntags` tags of `m` at `t` (ntags * 4 bytes), in wire order:
 * they go right after the two MAC addresses. */
static inline void tarn__eth_tx_tags(uint8_t *t, const struct tarn_mbuf *m, unsigned ntags)
{
	if (ntags == 2) {
		t[0] = (uint8_t)(TARN__ETH_TPID_8021AD >> 8), t[1] = (uint8_t)TARN__ETH_TPID_8021AD;
		t[2] = (uint8_t)(m->vlan_tci_outer >> 8), t[3] = (uint8_t)m->vlan_tci_outer;
		t += TARN__ETH_VLAN_HLEN;
	}
	t[0] = (uint8_t)(TARN__ETH_TPID_8021Q >> 8), t[1] = (uint8_t)TARN__ETH_TPID_8021Q;
	t[2] = (uint8_t)(m->vlan_tci >> 8), t[3] = (uint8_t)m->vlan_tci;
}

/* ------------------------------------------------------------------------ */
/* A port, as drivers see it. */

struct tarn__eth_driver;

struct tarn__eth_dev {
	uint16_t port_id;
	enum tarn_eth_state state;
	const struct tarn__eth_driver *drv;
	void *priv; /* driver state, drv->priv_size bytes: its keys, then zeroes */
	char name[TARN_NAME_SIZE];
	char spec[TARN_ETH_SPEC_MAX];
	int socket;
	int socket_given; /* the spec has socket= (ethdev's) */
	/* NUMA node of the device under the port, -1 when none or unknown.
	 * create() sets it (drivers on kernel interfaces: the node of the
	 * interface's device, tarn__lif_numa_node()); a socket= in the spec
	 * overrides it in what tarn_eth_dev_info_get() reports. */
	int numa_node;
	/* Bytes an mbuf of an RX queue's pool must hold after the headroom,
	 * and what needs them ("a packet", "size=200"), for ethdev's check at
	 * RX queue setup. From the driver's rx_data_min/rx_data_what; create()
	 * may raise it for a port. */
	uint32_t rx_data_min;
	char rx_data_what[48];
	/* Most queue pairs of the port, from its TARN__ETH_KEY_QUEUES key (0:
	 * the driver's max), and that key. */
	uint32_t queue_pairs;
	const struct tarn__key *queue_key;
	uint16_t nb_rxq, nb_txq;
	uint32_t mtu;
	int promiscuous;
	struct tarn_ether_addr mac;
	/* Output failed: a driver sets it (a relaxed atomic store, from its TX
	 * burst or an op) when its device failed so that what the port refuses
	 * from then on is lost to its sink, not backpressure (a pcap port's
	 * tx_pcap could not be written). tarn_eth_dev_stop() and
	 * tarn_eth_dev_close() then return -EIO. Never cleared. */
	int output_failed;
	/* Driver data of each queue (NULL: not set up). */
	void *rxq[TARN_ETH_MAX_QUEUES];
	void *txq[TARN_ETH_MAX_QUEUES];
	/* Counters, updated by the drivers; base: their values at the last reset. */
	struct tarn__eth_qstats rxq_stats[TARN_ETH_MAX_QUEUES];
	struct tarn__eth_qstats txq_stats[TARN_ETH_MAX_QUEUES];
	struct tarn__eth_qstats rxq_base[TARN_ETH_MAX_QUEUES];
	struct tarn__eth_qstats txq_base[TARN_ETH_MAX_QUEUES];
};

/* What a queue setup is given (ethdev checked every field). */
struct tarn__eth_qconf {
	uint16_t id;      /* < nb_rxq/nb_txq, and < the port's queue pairs */
	uint32_t nb_desc; /* 1 .. TARN_ETH_MAX_DESC (0 was made the default) */
	int socket;       /* resolved: the queue's memory is there */
	/* RX: an mbuf pool whose mbufs hold dev->rx_data_min bytes after the
	 * headroom; TX: NULL. */
	struct tarn_mempool *mp;
	/* RX: the bytes of data one of its mbufs holds after the headroom. */
	uint32_t room;
	/* The queue's counters, for the burst functions to update. */
	struct tarn__eth_qstats *stats;
};

/* ------------------------------------------------------------------------ */
/* A driver: what is particular to its device, and nothing ethdev does for
 * every driver. Return values are 0 or a negative errno with a log line.
 * Every op runs with ethdev's control mutex held, so ops never run
 * concurrently (a driver's own global state needs no other lock).
 * docs/architecture.md ("Writing a driver") walks through one. */

struct tarn__eth_driver {
	const char *name;    /* the DRIVER of spec strings */
	const char *summary; /* what a port is, a phrase ("in-memory port") */
	/* Its keys (see above), ended by a NULL name; they land in priv. */
	const struct tarn__key *keys;
	size_t priv_size; /* bytes of dev->priv */
	/* Bytes of the memory ethdev allocates for each queue (zeroed, cache
	 * aligned, on the queue's socket) and hands to setup and the bursts. */
	size_t rxq_size, txq_size;
	uint16_t max_rx_queues; /* <= TARN_ETH_MAX_QUEUES; 0: TARN_ETH_MAX_QUEUES */
	uint16_t max_tx_queues;
	/* Default of dev->rx_data_min and rx_data_what (NULL: "a packet"). */
	uint32_t rx_data_min;
	const char *rx_data_what;

	/* Create the port. dev has port_id, name, spec, socket, mac (generic
	 * mac= or the default) and priv filled from the keys; the spec's keys
	 * are all known and their values valid. `spec` says which were given.
	 * On failure nothing of it may remain (ethdev frees priv). */
	int (*create)(struct tarn__eth_dev *dev, const struct tarn__eth_spec *spec);
	/* Optional: free what create made. Called once, with every queue
	 * released and the port stopped. */
	void (*close)(struct tarn__eth_dev *dev);

	/* Set up a queue in `q` (rxq_size/txq_size bytes, zeroed), the
	 * pointer the burst functions get. The port is configured, not
	 * started; a queue set up before was released first. On failure
	 * ethdev frees `q`: the op frees only what it allocated itself. */
	int (*rx_queue_setup)(struct tarn__eth_dev *dev, void *q, const struct tarn__eth_qconf *c);
	int (*tx_queue_setup)(struct tarn__eth_dev *dev, void *q, const struct tarn__eth_qconf *c);
	/* Optional: release what a queue holds (mbufs back to their pools,
	 * memory the setup allocated); ethdev frees `q` itself afterwards.
	 * Port not started. */
	void (*rx_queue_release)(struct tarn__eth_dev *dev, void *q);
	void (*tx_queue_release)(struct tarn__eth_dev *dev, void *q);

	/* Optional: called at start (every queue set up) and stop. */
	int (*start)(struct tarn__eth_dev *dev);
	void (*stop)(struct tarn__eth_dev *dev);

	/* Optional control ops, called with the port in any state (created,
	 * configured, started or stopped). NULL: ethdev's default. Drivers on
	 * Linux interfaces use the ones of drivers/net/common/linux_if.h.
	 * link_get: fill *link (zeroed before the call) from the device. Default:
	 *   up, 10 Gbit/s full duplex while started, down otherwise.
	 * promisc_set: apply on = 0/1 to the device; dev->promiscuous is updated
	 *   by ethdev only when it returns 0. Default: record only.
	 * mtu_set: apply the MTU (already checked against TARN_ETH_MIN_MTU ..
	 *   TARN_ETH_MAX_MTU); dev->mtu is updated only when it returns 0. A
	 *   driver refuses an MTU its buffers cannot hold with -EINVAL.
	 * mac_set: apply a unicast MAC; dev->mac is updated only on 0.
	 * A driver's create may set dev->mtu, dev->mac and dev->promiscuous
	 * from the device it attaches to. */
	int (*link_get)(struct tarn__eth_dev *dev, struct tarn_eth_link *link);
	int (*promisc_set)(struct tarn__eth_dev *dev, int on);
	int (*mtu_set)(struct tarn__eth_dev *dev, uint32_t mtu);
	int (*mac_set)(struct tarn__eth_dev *dev, const struct tarn_ether_addr *mac);

	/* Optional: the driver's own extended statistics (after ethdev's in
	 * tarn_eth_xstats_get()): write the first `n` into `xs` (names and
	 * values), return how many the port has. Any port state; the counters
	 * are the polling threads': read them with relaxed loads. */
	int (*xstats_get)(struct tarn__eth_dev *dev, struct tarn_eth_xstat *xs, unsigned n);

	/* The burst functions (see tarn_eth_rx_burst_t); they get `q`. */
	tarn_eth_rx_burst_t rx_burst;
	tarn_eth_tx_burst_t tx_burst;
};

/* The built-in drivers (drivers/net/<name>/). */
extern const struct tarn__eth_driver tarn__eth_ring_driver;
extern const struct tarn__eth_driver tarn__eth_null_driver;
/* Drivers built when their folder and dependencies are there (see
 * drivers/net/meson.build); each defines TARN_DRIVER_<NAME>. */
extern const struct tarn__eth_driver tarn__eth_af_packet_driver;
extern const struct tarn__eth_driver tarn__eth_tap_driver;
extern const struct tarn__eth_driver tarn__eth_pcap_driver;
extern const struct tarn__eth_driver tarn__eth_af_xdp_driver;
extern const struct tarn__eth_driver tarn__eth_virtio_driver;

/*
 * Internal: close every open port. Meant to be called by tarn_cleanup()
 * before pools and rings are freed (see the report on env).
 */
void tarn__ethdev_cleanup(void);

#ifdef __cplusplus
}
#endif

#endif /* TARN_ETHDEV_DRIVER_PRIV_H */
