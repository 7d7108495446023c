/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ethdev_driver_priv.h - internal: the interface between ethdev and the net
 * drivers compiled into libtarn (drivers/net/<name>/). Never installed.
 *
 * A driver is a const struct tarn__eth_driver listed in the driver table of
 * ethdev.c. Every op is called by ethdev with its control mutex held, so ops
 * never run concurrently with each other (a driver's own global state, such
 * as the ring driver's list of cables, needs no other lock). ethdev checks
 * the arguments and the port state before calling an op; the preconditions
 * below are what it guarantees.
 */
#ifndef TARN_ETHDEV_DRIVER_PRIV_H
#define TARN_ETHDEV_DRIVER_PRIV_H

#include <stdint.h>

#include "env_priv.h"
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

/* The value of `key`, or NULL if the spec does not have it. */
const char *tarn__eth_spec_get(const struct tarn__eth_spec *s, const char *key);

/*
 * Read `key` as an unsigned decimal number in [min, max]; `*out` is left
 * alone when the key is absent. Returns 0, or -EINVAL with a log line naming
 * the key, the value and the range.
 */
int tarn__eth_spec_get_u64(const struct tarn__eth_spec *s, const char *key, uint64_t min,
                           uint64_t max, uint64_t *out);

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

/* ------------------------------------------------------------------------ */
/* A port, as drivers see it. */

struct tarn__eth_driver;

struct tarn__eth_dev {
	uint16_t port_id;
	enum tarn_eth_state state;
	const struct tarn__eth_driver *drv;
	void *priv; /* driver state, drv->priv_size bytes, zeroed */
	char name[TARN_NAME_SIZE];
	char spec[TARN_ETH_SPEC_MAX];
	int socket;
	int socket_given; /* the spec has socket= (ethdev's) */
	/* NUMA node of the device under the port, -1 when none or unknown.
	 * create() sets it (drivers on kernel interfaces: the node of the
	 * interface's device, tarn__lif_numa_node()); a socket= in the spec
	 * overrides it in what tarn_eth_dev_info_get() reports. */
	int numa_node;
	uint16_t nb_rxq, nb_txq;
	uint32_t mtu;
	int promiscuous;
	struct tarn_ether_addr mac;
	/* Driver data of each queue (NULL: not set up). */
	void *rxq[TARN_ETH_MAX_QUEUES];
	void *txq[TARN_ETH_MAX_QUEUES];
	/* Counters, updated by the drivers; base: their values at the last reset. */
	struct tarn__eth_qstats rxq_stats[TARN_ETH_MAX_QUEUES];
	struct tarn__eth_qstats txq_stats[TARN_ETH_MAX_QUEUES];
	struct tarn__eth_qstats rxq_base[TARN_ETH_MAX_QUEUES];
	struct tarn__eth_qstats txq_base[TARN_ETH_MAX_QUEUES];
};

/* ------------------------------------------------------------------------ */
/* A driver. Return values are 0 or a negative errno (with a log line). */

struct tarn__eth_driver {
	const char *name;        /* the DRIVER of spec strings */
	const char *const *keys; /* its own keys, NULL-terminated (generic ones are ethdev's) */
	const char *help;        /* one line describing the keys */
	size_t priv_size;        /* bytes of dev->priv */
	uint16_t max_rx_queues;  /* <= TARN_ETH_MAX_QUEUES */
	uint16_t max_tx_queues;

	/* Create the port. dev has port_id, name, spec, socket, mac set and a
	 * zeroed priv; the spec's keys are all valid (driver or generic). On
	 * failure nothing of it may remain. */
	int (*create)(struct tarn__eth_dev *dev, const struct tarn__eth_spec *spec);
	/* Free what create made. Called once, with every queue released and the
	 * port stopped. */
	void (*close)(struct tarn__eth_dev *dev);

	/* Set up a queue: queue_id < nb_rxq/nb_txq, nb_desc within
	 * [1, TARN_ETH_MAX_DESC], socket resolved, mp not NULL, the queue not
	 * set up (ethdev released it before), port not started. `stats` is the
	 * queue's counters, to be kept and updated by the burst functions.
	 * Sets *qdata, the pointer handed to the burst functions. */
	int (*rx_queue_setup)(struct tarn__eth_dev *dev, uint16_t queue_id, uint32_t nb_desc,
	                      int socket, struct tarn_mempool *mp, struct tarn__eth_qstats *stats,
	                      void **qdata);
	int (*tx_queue_setup)(struct tarn__eth_dev *dev, uint16_t queue_id, uint32_t nb_desc,
	                      int socket, struct tarn__eth_qstats *stats, void **qdata);
	/* Release a queue set up before: free what it holds (mbufs back to
	 * their pools) and its memory. Port not started. */
	void (*rx_queue_release)(struct tarn__eth_dev *dev, uint16_t queue_id, void *qdata);
	void (*tx_queue_release)(struct tarn__eth_dev *dev, uint16_t queue_id, void *qdata);

	/* Optional: called at start (every queue set up) and stop. */
	int (*start)(struct tarn__eth_dev *dev);
	void (*stop)(struct tarn__eth_dev *dev);

	/* Optional control ops, called with the port in any state (created,
	 * configured, started or stopped). NULL: ethdev's default.
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

	/* The burst functions (see tarn_eth_rx_burst_t). */
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

/*
 * Internal: close every open port. Meant to be called by tarn_cleanup()
 * before pools and rings are freed (see the report on env).
 */
void tarn__ethdev_cleanup(void);

#ifdef __cplusplus
}
#endif

#endif /* TARN_ETHDEV_DRIVER_PRIV_H */
