/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ethdev.c - ports: the driver table, creation from spec strings, the
 * lifecycle (configure, queue setup, start, stop, close), the fast-path
 * table, statistics, link, MAC, promiscuous mode and MTU.
 *
 * Every control call takes `eth_lock`; driver ops run under it. The
 * fast-path table tarn__eth_fp_ops is written only by start/stop/close.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "ethdev_driver_priv.h"
#include "tarn_mem.h"

/* The built-in drivers. Referenced from here so a static link pulls them in. */
/* clang-format off */
static const struct tarn__eth_driver *const eth_drivers[] = {
	&tarn__eth_ring_driver,
	&tarn__eth_null_driver,
#ifdef TARN_DRIVER_AF_PACKET
	&tarn__eth_af_packet_driver,
#endif
#ifdef TARN_DRIVER_TAP
	&tarn__eth_tap_driver,
#endif
#ifdef TARN_DRIVER_PCAP
	&tarn__eth_pcap_driver,
#endif
#ifdef TARN_DRIVER_AF_XDP
	&tarn__eth_af_xdp_driver,
#endif
};
/* clang-format on */
#define NB_DRIVERS (sizeof(eth_drivers) / sizeof(eth_drivers[0]))

/* Keys every driver accepts, handled here. */
static const char *const generic_keys[] = { "name", "mac", "socket", NULL };

TARN_API struct tarn_eth_fp_ops tarn__eth_fp_ops[TARN_MAX_ETHPORTS];

static pthread_mutex_t eth_lock = PTHREAD_MUTEX_INITIALIZER;
static struct tarn__eth_dev *eth_devs[TARN_MAX_ETHPORTS];

/* ------------------------------------------------------------------------ */
/* Drivers */

unsigned tarn_eth_driver_count(void)
{
	return NB_DRIVERS;
}

const char *tarn_eth_driver_name(unsigned idx)
{
	return idx < NB_DRIVERS ? eth_drivers[idx]->name : NULL;
}

const char *tarn_eth_driver_help(unsigned idx)
{
	return idx < NB_DRIVERS ? eth_drivers[idx]->help : NULL;
}

static const struct tarn__eth_driver *driver_find(const char *name)
{
	for (size_t i = 0; i < NB_DRIVERS; i++)
		if (strcmp(eth_drivers[i]->name, name) == 0)
			return eth_drivers[i];
	return NULL;
}

static int key_in(const char *const *keys, const char *key)
{
	for (; keys != NULL && *keys != NULL; keys++)
		if (strcmp(*keys, key) == 0)
			return 1;
	return 0;
}

/* "name, mac, socket, peer, loop" */
static void valid_keys(const struct tarn__eth_driver *drv, char *buf, size_t size)
{
	size_t off = 0;
	const char *const *lists[2] = { generic_keys, drv->keys };
	buf[0] = '\0';
	for (int l = 0; l < 2; l++) {
		for (const char *const *k = lists[l]; k != NULL && *k != NULL; k++) {
			int n = snprintf(buf + off, size - off, "%s%s", off ? ", " : "", *k);
			if (n < 0 || (size_t)n >= size - off)
				return;
			off += (size_t)n;
		}
	}
}

/* ------------------------------------------------------------------------ */
/* Ports */

/* The port, or NULL. eth_lock held. */
static struct tarn__eth_dev *dev_get(uint16_t port_id)
{
	return port_id < TARN_MAX_ETHPORTS ? eth_devs[port_id] : NULL;
}

#define LOCK_DEV(dev, port_id)                                                                     \
	pthread_mutex_lock(&eth_lock);                                                             \
	struct tarn__eth_dev *dev = dev_get(port_id);                                              \
	if (dev == NULL) {                                                                         \
		pthread_mutex_unlock(&eth_lock);                                                   \
		TARN__ERR(TARN__ETH_LOG, "%s: port %u does not exist", __func__,                   \
		          (unsigned)(port_id));                                                    \
		return -ENODEV;                                                                    \
	}

static struct tarn__eth_dev *dev_by_name(const char *name)
{
	for (unsigned i = 0; i < TARN_MAX_ETHPORTS; i++)
		if (eth_devs[i] != NULL && strcmp(eth_devs[i]->name, name) == 0)
			return eth_devs[i];
	return NULL;
}

static void fp_clear(uint16_t port_id)
{
	memset(&tarn__eth_fp_ops[port_id], 0, sizeof(tarn__eth_fp_ops[port_id]));
}

static void release_queues(struct tarn__eth_dev *dev)
{
	for (uint16_t q = 0; q < TARN_ETH_MAX_QUEUES; q++) {
		if (dev->rxq[q] != NULL) {
			dev->drv->rx_queue_release(dev, q, dev->rxq[q]);
			dev->rxq[q] = NULL;
		}
		if (dev->txq[q] != NULL) {
			dev->drv->tx_queue_release(dev, q, dev->txq[q]);
			dev->txq[q] = NULL;
		}
	}
}

static void dev_free(struct tarn__eth_dev *dev)
{
	tarn_free(dev->priv);
	tarn_free(dev);
}

int tarn_eth_dev_create(const char *spec, uint16_t *port_id)
{
	struct tarn__eth_spec s;
	char keys[256];
	int rc;

	if (port_id == NULL) {
		TARN__ERR(TARN__ETH_LOG, "tarn_eth_dev_create: NULL port_id");
		return -EINVAL;
	}
	if (!tarn_initialized()) {
		TARN__ERR(TARN__ETH_LOG, "tarn_eth_dev_create: call tarn_init() first");
		return -EINVAL;
	}
	rc = tarn__eth_spec_parse(spec, &s);
	if (rc < 0)
		return rc;

	const struct tarn__eth_driver *drv = driver_find(s.driver);
	if (drv == NULL) {
		char names[128] = "";
		size_t off = 0;
		for (size_t i = 0; i < NB_DRIVERS && off < sizeof(names); i++)
			off += (size_t)snprintf(names + off, sizeof(names) - off, "%s%s",
			                        i ? ", " : "", eth_drivers[i]->name);
		TARN__ERR(TARN__ETH_LOG, "port spec '%s': unknown driver '%s' (drivers: %s)", spec,
		          s.driver, names);
		return -ENODEV;
	}
	for (unsigned i = 0; i < s.nb_kv; i++) {
		if (!key_in(generic_keys, s.kv[i].key) && !key_in(drv->keys, s.kv[i].key)) {
			valid_keys(drv, keys, sizeof(keys));
			TARN__ERR(TARN__ETH_LOG,
			          "port spec '%s': unknown key '%s' for driver '%s' (valid keys: "
			          "%s)",
			          spec, s.kv[i].key, drv->name, keys);
			return -EINVAL;
		}
	}

	/* Generic keys. */
	struct tarn_ether_addr mac = { { 0x02, 0x74, 0x61, 0x72, 0x6e, 0 } };
	const char *v = tarn__eth_spec_get(&s, "mac");
	if (v != NULL && tarn_ether_parse_addr(v, &mac) < 0) {
		TARN__ERR(TARN__ETH_LOG,
		          "port spec '%s': mac=%s: expected a unicast address xx:xx:xx:xx:xx:xx, "
		          "not all zeros",
		          spec, v);
		return -EINVAL;
	}
	if (v != NULL && ((mac.addr_bytes[0] & 1) ||
	                  !(mac.addr_bytes[0] | mac.addr_bytes[1] | mac.addr_bytes[2] |
	                    mac.addr_bytes[3] | mac.addr_bytes[4] | mac.addr_bytes[5]))) {
		TARN__ERR(TARN__ETH_LOG, "port spec '%s': mac=%s: multicast or all-zero address",
		          spec, v);
		return -EINVAL;
	}
	uint64_t sock = UINT64_MAX;
	rc = tarn__eth_spec_get_u64(&s, "socket", 0, TARN_MAX_SOCKETS - 1, &sock);
	if (rc < 0)
		return rc;
	int socket = tarn_socket_resolve(sock == UINT64_MAX ? TARN_SOCKET_ANY : (int)sock);
	if (socket < 0) {
		TARN__ERR(TARN__ETH_LOG, "port spec '%s': socket %" PRIu64 " does not exist", spec,
		          sock);
		return -EINVAL;
	}
	const char *name = tarn__eth_spec_get(&s, "name");
	if (name != NULL && strlen(name) >= TARN_NAME_SIZE) {
		TARN__ERR(TARN__ETH_LOG, "port spec '%s': name longer than %d characters", spec,
		          TARN_NAME_SIZE - 1);
		return -EINVAL;
	}

	pthread_mutex_lock(&eth_lock);
	uint16_t id = 0;
	while (id < TARN_MAX_ETHPORTS && eth_devs[id] != NULL)
		id++;
	if (id == TARN_MAX_ETHPORTS) {
		pthread_mutex_unlock(&eth_lock);
		TARN__ERR(TARN__ETH_LOG, "port spec '%s': all %d ports are in use", spec,
		          TARN_MAX_ETHPORTS);
		return -ENOSPC;
	}
	char pname[TARN_NAME_SIZE];
	if (name != NULL)
		snprintf(pname, sizeof(pname), "%s", name);
	else
		snprintf(pname, sizeof(pname), "%s%u", drv->name, (unsigned)id);
	if (dev_by_name(pname) != NULL) {
		pthread_mutex_unlock(&eth_lock);
		TARN__ERR(TARN__ETH_LOG, "port spec '%s': a port named '%s' exists", spec, pname);
		return -EEXIST;
	}

	struct tarn__eth_dev *dev = tarn_malloc_socket(sizeof(*dev), 0, socket);
	void *priv = drv->priv_size ? tarn_malloc_socket(drv->priv_size, 0, socket) : NULL;
	if (dev == NULL || (drv->priv_size && priv == NULL)) {
		tarn_free(dev);
		tarn_free(priv);
		pthread_mutex_unlock(&eth_lock);
		TARN__ERR(TARN__ETH_LOG, "port spec '%s': out of memory on socket %d", spec,
		          socket);
		return -ENOMEM;
	}
	dev->port_id = id;
	dev->state = TARN_ETH_STATE_CREATED;
	dev->drv = drv;
	dev->priv = priv;
	snprintf(dev->name, sizeof(dev->name), "%s", pname);
	snprintf(dev->spec, sizeof(dev->spec), "%s", spec);
	dev->socket = socket;
	dev->socket_given = sock != UINT64_MAX;
	dev->numa_node = TARN_SOCKET_ANY;
	dev->mtu = TARN_ETH_DEFAULT_MTU;
	if (v == NULL)
		mac.addr_bytes[5] = (uint8_t)id;
	dev->mac = mac;

	rc = drv->create(dev, &s);
	if (rc < 0) {
		dev_free(dev);
		pthread_mutex_unlock(&eth_lock);
		return rc;
	}
	fp_clear(id);
	eth_devs[id] = dev;
	pthread_mutex_unlock(&eth_lock);
	TARN__INFO(TARN__ETH_LOG, "port %u '%s' created from '%s'", (unsigned)id, pname, spec);
	*port_id = id;
	return 0;
}

int tarn_eth_dev_configure(uint16_t port_id, uint16_t nb_rxq, uint16_t nb_txq,
                           const struct tarn_eth_conf *conf)
{
	LOCK_DEV(dev, port_id);
	int rc = 0;
	if (dev->state == TARN_ETH_STATE_STARTED) {
		TARN__ERR(TARN__ETH_LOG, "port %u: configure while started (stop it first)",
		          (unsigned)port_id);
		rc = -EBUSY;
	} else if (nb_rxq == 0 || nb_rxq > dev->drv->max_rx_queues || nb_txq == 0 ||
	           nb_txq > dev->drv->max_tx_queues) {
		TARN__ERR(TARN__ETH_LOG,
		          "port %u: configure with %u RX and %u TX queues (driver %s: 1 to %u RX, "
		          "1 to %u TX)",
		          (unsigned)port_id, (unsigned)nb_rxq, (unsigned)nb_txq, dev->drv->name,
		          (unsigned)dev->drv->max_rx_queues, (unsigned)dev->drv->max_tx_queues);
		rc = -EINVAL;
	} else if (conf != NULL && conf->mtu != 0 &&
	           (conf->mtu < TARN_ETH_MIN_MTU || conf->mtu > TARN_ETH_MAX_MTU)) {
		TARN__ERR(TARN__ETH_LOG, "port %u: MTU %u out of range %d .. %d", (unsigned)port_id,
		          conf->mtu, TARN_ETH_MIN_MTU, TARN_ETH_MAX_MTU);
		rc = -EINVAL;
	} else {
		release_queues(dev);
		dev->nb_rxq = nb_rxq;
		dev->nb_txq = nb_txq;
		if (conf != NULL && conf->mtu != 0)
			dev->mtu = conf->mtu;
		if (conf != NULL && conf->promiscuous)
			dev->promiscuous = 1;
		dev->state = TARN_ETH_STATE_CONFIGURED;
	}
	pthread_mutex_unlock(&eth_lock);
	return rc;
}

/* Common checks of queue setup. eth_lock held. */
static int queue_setup_check(struct tarn__eth_dev *dev, const char *dir, uint16_t queue_id,
                             uint16_t nb_q, uint32_t *nb_desc, int *socket)
{
	unsigned p = dev->port_id;
	if (dev->state == TARN_ETH_STATE_STARTED) {
		TARN__ERR(TARN__ETH_LOG, "port %u: %s queue %u setup while started", p, dir,
		          (unsigned)queue_id);
		return -EBUSY;
	}
	if (dev->state != TARN_ETH_STATE_CONFIGURED) {
		TARN__ERR(TARN__ETH_LOG, "port %u: %s queue setup before configure", p, dir);
		return -EINVAL;
	}
	if (queue_id >= nb_q) {
		TARN__ERR(TARN__ETH_LOG, "port %u: %s queue %u does not exist (%u configured)", p,
		          dir, (unsigned)queue_id, (unsigned)nb_q);
		return -EINVAL;
	}
	if (*nb_desc == 0)
		*nb_desc = TARN_ETH_DEFAULT_DESC;
	if (*nb_desc > TARN_ETH_MAX_DESC) {
		TARN__ERR(TARN__ETH_LOG, "port %u: %s queue %u: %u descriptors (at most %d)", p,
		          dir, (unsigned)queue_id, *nb_desc, TARN_ETH_MAX_DESC);
		return -EINVAL;
	}
	int s = tarn_socket_resolve(*socket);
	if (s < 0) {
		TARN__ERR(TARN__ETH_LOG, "port %u: %s queue %u: socket %d does not exist", p, dir,
		          (unsigned)queue_id, *socket);
		return -EINVAL;
	}
	*socket = s;
	return 0;
}

int tarn_eth_rx_queue_setup(uint16_t port_id, uint16_t queue_id, uint32_t nb_desc, int socket,
                            struct tarn_mempool *mb_pool)
{
	LOCK_DEV(dev, port_id);
	int rc = queue_setup_check(dev, "RX", queue_id, dev->nb_rxq, &nb_desc, &socket);
	if (rc == 0 && mb_pool == NULL) {
		TARN__ERR(TARN__ETH_LOG, "port %u: RX queue %u: NULL mbuf pool", (unsigned)port_id,
		          (unsigned)queue_id);
		rc = -EINVAL;
	}
	if (rc == 0) {
		if (dev->rxq[queue_id] != NULL) {
			dev->drv->rx_queue_release(dev, queue_id, dev->rxq[queue_id]);
			dev->rxq[queue_id] = NULL;
		}
		void *q = NULL;
		rc = dev->drv->rx_queue_setup(dev, queue_id, nb_desc, socket, mb_pool,
		                              &dev->rxq_stats[queue_id], &q);
		if (rc == 0)
			dev->rxq[queue_id] = q;
	}
	pthread_mutex_unlock(&eth_lock);
	return rc;
}

int tarn_eth_tx_queue_setup(uint16_t port_id, uint16_t queue_id, uint32_t nb_desc, int socket)
{
	LOCK_DEV(dev, port_id);
	int rc = queue_setup_check(dev, "TX", queue_id, dev->nb_txq, &nb_desc, &socket);
	if (rc == 0) {
		if (dev->txq[queue_id] != NULL) {
			dev->drv->tx_queue_release(dev, queue_id, dev->txq[queue_id]);
			dev->txq[queue_id] = NULL;
		}
		void *q = NULL;
		rc = dev->drv->tx_queue_setup(dev, queue_id, nb_desc, socket,
		                              &dev->txq_stats[queue_id], &q);
		if (rc == 0)
			dev->txq[queue_id] = q;
	}
	pthread_mutex_unlock(&eth_lock);
	return rc;
}

int tarn_eth_dev_start(uint16_t port_id)
{
	LOCK_DEV(dev, port_id);
	int rc = 0;
	if (dev->state == TARN_ETH_STATE_STARTED) {
		TARN__ERR(TARN__ETH_LOG, "port %u: already started", (unsigned)port_id);
		rc = -EALREADY;
		goto out;
	}
	if (dev->state != TARN_ETH_STATE_CONFIGURED) {
		TARN__ERR(TARN__ETH_LOG, "port %u: start before configure", (unsigned)port_id);
		rc = -EINVAL;
		goto out;
	}
	for (uint16_t q = 0; q < dev->nb_rxq; q++) {
		if (dev->rxq[q] == NULL) {
			TARN__ERR(TARN__ETH_LOG, "port %u: start: RX queue %u is not set up",
			          (unsigned)port_id, (unsigned)q);
			rc = -EINVAL;
			goto out;
		}
	}
	for (uint16_t q = 0; q < dev->nb_txq; q++) {
		if (dev->txq[q] == NULL) {
			TARN__ERR(TARN__ETH_LOG, "port %u: start: TX queue %u is not set up",
			          (unsigned)port_id, (unsigned)q);
			rc = -EINVAL;
			goto out;
		}
	}
	if (dev->drv->start != NULL) {
		rc = dev->drv->start(dev);
		if (rc < 0)
			goto out;
	}
	struct tarn_eth_fp_ops *fp = &tarn__eth_fp_ops[port_id];
	fp->rx_burst = dev->drv->rx_burst;
	fp->tx_burst = dev->drv->tx_burst;
	memcpy(fp->rxq, dev->rxq, sizeof(fp->rxq));
	memcpy(fp->txq, dev->txq, sizeof(fp->txq));
	fp->nb_rxq = dev->nb_rxq;
	fp->nb_txq = dev->nb_txq;
	dev->state = TARN_ETH_STATE_STARTED;
	TARN__INFO(TARN__ETH_LOG, "port %u '%s' started", (unsigned)port_id, dev->name);
out:
	pthread_mutex_unlock(&eth_lock);
	return rc;
}

/* eth_lock held. */
static void dev_stop(struct tarn__eth_dev *dev)
{
	if (dev->state != TARN_ETH_STATE_STARTED)
		return;
	fp_clear(dev->port_id);
	if (dev->drv->stop != NULL)
		dev->drv->stop(dev);
	dev->state = TARN_ETH_STATE_CONFIGURED;
}

int tarn_eth_dev_stop(uint16_t port_id)
{
	LOCK_DEV(dev, port_id);
	dev_stop(dev);
	pthread_mutex_unlock(&eth_lock);
	return 0;
}

/* eth_lock held. */
static void dev_close(struct tarn__eth_dev *dev)
{
	uint16_t id = dev->port_id;
	dev_stop(dev);
	release_queues(dev);
	dev->drv->close(dev);
	eth_devs[id] = NULL;
	fp_clear(id);
	TARN__INFO(TARN__ETH_LOG, "port %u '%s' closed", (unsigned)id, dev->name);
	dev_free(dev);
}

int tarn_eth_dev_close(uint16_t port_id)
{
	LOCK_DEV(dev, port_id);
	dev_close(dev);
	pthread_mutex_unlock(&eth_lock);
	return 0;
}

void tarn__ethdev_cleanup(void)
{
	pthread_mutex_lock(&eth_lock);
	for (unsigned i = 0; i < TARN_MAX_ETHPORTS; i++)
		if (eth_devs[i] != NULL)
			dev_close(eth_devs[i]);
	pthread_mutex_unlock(&eth_lock);
}

/* ------------------------------------------------------------------------ */
/* Lookup and information */

int tarn_eth_dev_is_valid_port(uint16_t port_id)
{
	pthread_mutex_lock(&eth_lock);
	int ok = dev_get(port_id) != NULL;
	pthread_mutex_unlock(&eth_lock);
	return ok;
}

unsigned tarn_eth_dev_count(void)
{
	unsigned n = 0;
	pthread_mutex_lock(&eth_lock);
	for (unsigned i = 0; i < TARN_MAX_ETHPORTS; i++)
		n += eth_devs[i] != NULL;
	pthread_mutex_unlock(&eth_lock);
	return n;
}

int tarn_eth_dev_next(int prev)
{
	int next = -1;
	if (prev < -1)
		prev = -1;
	pthread_mutex_lock(&eth_lock);
	for (int i = prev + 1; i < TARN_MAX_ETHPORTS; i++) {
		if (eth_devs[i] != NULL) {
			next = i;
			break;
		}
	}
	pthread_mutex_unlock(&eth_lock);
	return next;
}

int tarn_eth_dev_get_by_name(const char *name, uint16_t *port_id)
{
	if (name == NULL || port_id == NULL)
		return -EINVAL;
	pthread_mutex_lock(&eth_lock);
	struct tarn__eth_dev *dev = dev_by_name(name);
	if (dev != NULL)
		*port_id = dev->port_id;
	pthread_mutex_unlock(&eth_lock);
	return dev != NULL ? 0 : -ENOENT;
}

int tarn_eth_dev_info_get(uint16_t port_id, struct tarn_eth_dev_info *info)
{
	if (info == NULL)
		return -EINVAL;
	LOCK_DEV(dev, port_id);
	memset(info, 0, sizeof(*info));
	snprintf(info->driver_name, sizeof(info->driver_name), "%s", dev->drv->name);
	snprintf(info->name, sizeof(info->name), "%s", dev->name);
	snprintf(info->spec, sizeof(info->spec), "%s", dev->spec);
	info->state = dev->state;
	info->socket = dev->socket;
	info->numa_node = dev->socket_given ? dev->socket : dev->numa_node;
	info->nb_rx_queues = dev->nb_rxq;
	info->nb_tx_queues = dev->nb_txq;
	info->max_rx_queues = dev->drv->max_rx_queues;
	info->max_tx_queues = dev->drv->max_tx_queues;
	info->min_desc = 1;
	info->max_desc = TARN_ETH_MAX_DESC;
	info->min_mtu = TARN_ETH_MIN_MTU;
	info->max_mtu = TARN_ETH_MAX_MTU;
	info->mtu = dev->mtu;
	info->promiscuous = dev->promiscuous;
	info->mac = dev->mac;
	pthread_mutex_unlock(&eth_lock);
	return 0;
}

int tarn_eth_dev_socket_id(uint16_t port_id)
{
	LOCK_DEV(dev, port_id);
	int s = dev->socket;
	pthread_mutex_unlock(&eth_lock);
	return s;
}

/* ------------------------------------------------------------------------ */
/* Statistics */

static uint64_t ld(const uint64_t *p)
{
	/* relaxed: pairs with the polling thread's relaxed store (tarn__eth_count);
	 * a whole value is all a snapshot needs. */
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static void qstats_read(const struct tarn__eth_qstats *cur, const struct tarn__eth_qstats *base,
                        struct tarn_eth_queue_stats *out)
{
	out->packets = ld(&cur->packets) - base->packets;
	out->bytes = ld(&cur->bytes) - base->bytes;
	out->errors = ld(&cur->errors) - base->errors;
	out->missed = ld(&cur->missed) - base->missed;
	out->nombuf = ld(&cur->nombuf) - base->nombuf;
}

int tarn_eth_stats_get(uint16_t port_id, struct tarn_eth_stats *stats)
{
	if (stats == NULL)
		return -EINVAL;
	LOCK_DEV(dev, port_id);
	memset(stats, 0, sizeof(*stats));
	for (unsigned q = 0; q < TARN_ETH_MAX_QUEUES; q++) {
		struct tarn_eth_queue_stats rx, tx;
		qstats_read(&dev->rxq_stats[q], &dev->rxq_base[q], &rx);
		qstats_read(&dev->txq_stats[q], &dev->txq_base[q], &tx);
		stats->ipackets += rx.packets;
		stats->ibytes += rx.bytes;
		stats->ierrors += rx.errors;
		stats->imissed += rx.missed;
		stats->rx_nombuf += rx.nombuf;
		stats->opackets += tx.packets;
		stats->obytes += tx.bytes;
		stats->oerrors += tx.errors;
	}
	pthread_mutex_unlock(&eth_lock);
	return 0;
}

static int queue_stats_get(uint16_t port_id, uint16_t queue_id, struct tarn_eth_queue_stats *st,
                           int rx)
{
	if (st == NULL || queue_id >= TARN_ETH_MAX_QUEUES)
		return -EINVAL;
	LOCK_DEV(dev, port_id);
	if (rx)
		qstats_read(&dev->rxq_stats[queue_id], &dev->rxq_base[queue_id], st);
	else
		qstats_read(&dev->txq_stats[queue_id], &dev->txq_base[queue_id], st);
	pthread_mutex_unlock(&eth_lock);
	return 0;
}

int tarn_eth_rx_queue_stats_get(uint16_t port_id, uint16_t queue_id,
                                struct tarn_eth_queue_stats *stats)
{
	return queue_stats_get(port_id, queue_id, stats, 1);
}

int tarn_eth_tx_queue_stats_get(uint16_t port_id, uint16_t queue_id,
                                struct tarn_eth_queue_stats *stats)
{
	return queue_stats_get(port_id, queue_id, stats, 0);
}

static void qstats_snap(const struct tarn__eth_qstats *cur, struct tarn__eth_qstats *base)
{
	base->packets = ld(&cur->packets);
	base->bytes = ld(&cur->bytes);
	base->errors = ld(&cur->errors);
	base->missed = ld(&cur->missed);
	base->nombuf = ld(&cur->nombuf);
}

int tarn_eth_stats_reset(uint16_t port_id)
{
	LOCK_DEV(dev, port_id);
	for (unsigned q = 0; q < TARN_ETH_MAX_QUEUES; q++) {
		qstats_snap(&dev->rxq_stats[q], &dev->rxq_base[q]);
		qstats_snap(&dev->txq_stats[q], &dev->txq_base[q]);
	}
	pthread_mutex_unlock(&eth_lock);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Link, MAC, promiscuous mode, MTU */

int tarn_eth_link_get(uint16_t port_id, struct tarn_eth_link *link)
{
	if (link == NULL)
		return -EINVAL;
	LOCK_DEV(dev, port_id);
	memset(link, 0, sizeof(*link));
	int rc = 0;
	if (dev->drv->link_get != NULL) {
		rc = dev->drv->link_get(dev, link);
	} else if (dev->state == TARN_ETH_STATE_STARTED) {
		link->up = 1;
		link->speed_mbps = 10000;
		link->full_duplex = 1;
		link->autoneg = 0;
	}
	pthread_mutex_unlock(&eth_lock);
	return rc;
}

int tarn_eth_macaddr_get(uint16_t port_id, struct tarn_ether_addr *mac)
{
	if (mac == NULL)
		return -EINVAL;
	LOCK_DEV(dev, port_id);
	*mac = dev->mac;
	pthread_mutex_unlock(&eth_lock);
	return 0;
}

int tarn_eth_macaddr_set(uint16_t port_id, const struct tarn_ether_addr *mac)
{
	if (mac == NULL)
		return -EINVAL;
	const uint8_t *b = mac->addr_bytes;
	if ((b[0] & 1) || !(b[0] | b[1] | b[2] | b[3] | b[4] | b[5])) {
		TARN__ERR(TARN__ETH_LOG, "port %u: MAC address must be unicast and not all zeros",
		          (unsigned)port_id);
		return -EINVAL;
	}
	LOCK_DEV(dev, port_id);
	int rc = dev->drv->mac_set != NULL ? dev->drv->mac_set(dev, mac) : 0;
	if (rc == 0)
		dev->mac = *mac;
	pthread_mutex_unlock(&eth_lock);
	return rc;
}

static int promisc_set(uint16_t port_id, int on)
{
	LOCK_DEV(dev, port_id);
	int rc = dev->drv->promisc_set != NULL ? dev->drv->promisc_set(dev, on) : 0;
	if (rc == 0)
		dev->promiscuous = on;
	pthread_mutex_unlock(&eth_lock);
	return rc;
}

int tarn_eth_promiscuous_enable(uint16_t port_id)
{
	return promisc_set(port_id, 1);
}

int tarn_eth_promiscuous_disable(uint16_t port_id)
{
	return promisc_set(port_id, 0);
}

int tarn_eth_promiscuous_get(uint16_t port_id)
{
	LOCK_DEV(dev, port_id);
	int on = dev->promiscuous;
	pthread_mutex_unlock(&eth_lock);
	return on;
}

int tarn_eth_dev_set_mtu(uint16_t port_id, uint32_t mtu)
{
	LOCK_DEV(dev, port_id);
	int rc = 0;
	if (mtu < TARN_ETH_MIN_MTU || mtu > TARN_ETH_MAX_MTU) {
		TARN__ERR(TARN__ETH_LOG, "port %u: MTU %u out of range %d .. %d", (unsigned)port_id,
		          mtu, TARN_ETH_MIN_MTU, TARN_ETH_MAX_MTU);
		rc = -EINVAL;
	} else {
		rc = dev->drv->mtu_set != NULL ? dev->drv->mtu_set(dev, mtu) : 0;
		if (rc == 0)
			dev->mtu = mtu;
	}
	pthread_mutex_unlock(&eth_lock);
	return rc;
}

int tarn_eth_dev_get_mtu(uint16_t port_id, uint32_t *mtu)
{
	if (mtu == NULL)
		return -EINVAL;
	LOCK_DEV(dev, port_id);
	*mtu = dev->mtu;
	pthread_mutex_unlock(&eth_lock);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Addresses and dump */

char *tarn_ether_format_addr(char *buf, size_t size, const struct tarn_ether_addr *mac)
{
	if (buf == NULL || mac == NULL || size < 18)
		return NULL;
	const uint8_t *b = mac->addr_bytes;
	snprintf(buf, size, "%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4], b[5]);
	return buf;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int tarn_ether_parse_addr(const char *s, struct tarn_ether_addr *mac)
{
	struct tarn_ether_addr m;
	if (s == NULL || mac == NULL || strlen(s) != 17)
		return -EINVAL;
	for (int i = 0; i < TARN_ETHER_ADDR_LEN; i++) {
		int hi = hexval(s[3 * i]), lo = hexval(s[3 * i + 1]);
		if (hi < 0 || lo < 0 || (i < 5 && s[3 * i + 2] != ':'))
			return -EINVAL;
		m.addr_bytes[i] = (uint8_t)(hi << 4 | lo);
	}
	*mac = m;
	return 0;
}

static const char *state_name(enum tarn_eth_state s)
{
	switch (s) {
	case TARN_ETH_STATE_CREATED:
		return "created";
	case TARN_ETH_STATE_CONFIGURED:
		return "stopped";
	case TARN_ETH_STATE_STARTED:
		return "started";
	}
	return "?";
}

void tarn_eth_dev_dump(FILE *out)
{
	if (out == NULL)
		out = stdout;
	for (int p = tarn_eth_dev_next(-1); p >= 0; p = tarn_eth_dev_next(p)) {
		struct tarn_eth_dev_info info;
		struct tarn_eth_stats st;
		char mac[18];
		if (tarn_eth_dev_info_get((uint16_t)p, &info) < 0 ||
		    tarn_eth_stats_get((uint16_t)p, &st) < 0)
			continue;
		fprintf(out,
		        "port %d '%s' (%s) %s socket %d rxq %u txq %u mtu %u mac %s%s\n"
		        "  rx %" PRIu64 " pkts %" PRIu64 " bytes, errors %" PRIu64
		        ", missed %" PRIu64 ", nombuf %" PRIu64 "\n"
		        "  tx %" PRIu64 " pkts %" PRIu64 " bytes, errors %" PRIu64 "\n",
		        p, info.name, info.spec, state_name(info.state), info.socket,
		        (unsigned)info.nb_rx_queues, (unsigned)info.nb_tx_queues, info.mtu,
		        tarn_ether_format_addr(mac, sizeof(mac), &info.mac),
		        info.promiscuous ? " promiscuous" : "", st.ipackets, st.ibytes, st.ierrors,
		        st.imissed, st.rx_nombuf, st.opackets, st.obytes, st.oerrors);
	}
}
