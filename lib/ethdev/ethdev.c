/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ethdev.c - ports: creation from spec strings, the lifecycle (configure,
 * queue setup, start, stop, close), the fast-path table, statistics, link,
 * MAC, promiscuous mode and MTU.
 *
 * What every driver would otherwise check or do itself is done here, once,
 * with one wording per error: the spec's keys (spec.c, from the driver's key
 * table), the queue counts, the descriptor counts, the RX pool (an mbuf
 * pool whose mbufs hold what the port receives), the queues' memory.
 *
 * Every control call takes `eth_lock` (dev_lock()); driver ops run under
 * it. The fast-path table tarn__eth_fp_ops is written only by
 * start/stop/close.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ethdev_priv.h"
#include "tarn_mem.h"

TARN_API struct tarn_eth_fp_ops tarn__eth_fp_ops[TARN_MAX_ETHPORTS];

static pthread_mutex_t eth_lock = PTHREAD_MUTEX_INITIALIZER;
static struct tarn__eth_dev *eth_devs[TARN_MAX_ETHPORTS];

/* ------------------------------------------------------------------------ */
/* Ports */

/* Most queues of a driver (0 in its table: TARN_ETH_MAX_QUEUES). */
static uint16_t max_rxq(const struct tarn__eth_driver *drv)
{
	return drv->max_rx_queues != 0 ? drv->max_rx_queues : TARN_ETH_MAX_QUEUES;
}

static uint16_t max_txq(const struct tarn__eth_driver *drv)
{
	return drv->max_tx_queues != 0 ? drv->max_tx_queues : TARN_ETH_MAX_QUEUES;
}

/* The port, or NULL. eth_lock held. */
static struct tarn__eth_dev *dev_get(uint16_t port_id)
{
	return port_id < TARN_MAX_ETHPORTS ? eth_devs[port_id] : NULL;
}

/*
 * Take the control mutex and return port `port_id`; NULL (mutex released,
 * a log line naming `fn`) when there is no such port: the caller returns
 * -ENODEV.
 */
static struct tarn__eth_dev *dev_lock(uint16_t port_id, const char *fn)
{
	pthread_mutex_lock(&eth_lock);
	struct tarn__eth_dev *dev = dev_get(port_id);
	if (dev == NULL) {
		pthread_mutex_unlock(&eth_lock);
		TARN__ERR(TARN__ETH_LOG, "%s: port %u does not exist", fn, (unsigned)port_id);
	}
	return dev;
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

/* Release queue `q` of `dev` (RX: rx != 0) if set up. eth_lock held. */
static void queue_release(struct tarn__eth_dev *dev, uint16_t q, int rx)
{
	void **slot = rx ? &dev->rxq[q] : &dev->txq[q];
	void (*release)(struct tarn__eth_dev *, void *) =
	    rx ? dev->drv->rx_queue_release : dev->drv->tx_queue_release;

	if (*slot == NULL)
		return;
	if (release != NULL)
		release(dev, *slot);
	tarn_free(*slot);
	*slot = NULL;
}

static void release_queues(struct tarn__eth_dev *dev)
{
	for (uint16_t q = 0; q < TARN_ETH_MAX_QUEUES; q++) {
		queue_release(dev, q, 1);
		queue_release(dev, q, 0);
	}
}

static void dev_free(struct tarn__eth_dev *dev)
{
	tarn_free(dev->priv);
	tarn_free(dev);
}

/* A free port id (eth_lock held), or -ENOSPC with a log line. */
static int port_id_take(const char *spec)
{
	for (uint16_t id = 0; id < TARN_MAX_ETHPORTS; id++)
		if (eth_devs[id] == NULL)
			return id;
	TARN__ERR(TARN__ETH_LOG, "port spec '%s': all %d ports are in use", spec,
	          TARN_MAX_ETHPORTS);
	return -ENOSPC;
}

/*
 * The port structure of a new port `id` of driver `drv` (eth_lock held):
 * allocated on its socket with its private structure, named, its generic
 * keys applied. NULL with *rc set (and a log line) on failure.
 */
static struct tarn__eth_dev *dev_alloc(const struct tarn__eth_driver *drv, const char *spec,
                                       const struct tarn__eth_generic *g, uint16_t id, int *rc)
{
	char pname[TARN_NAME_SIZE];
	const int socket = tarn_socket_resolve(
	    g->socket == TARN__ETH_SOCKET_NOT_GIVEN ? TARN_SOCKET_ANY : (int)g->socket);

	if (socket < 0) {
		TARN__ERR(TARN__ETH_LOG, "port spec '%s': socket %u does not exist", spec,
		          (unsigned)g->socket);
		*rc = -EINVAL;
		return NULL;
	}
	if (g->name[0] != '\0')
		snprintf(pname, sizeof(pname), "%s", g->name);
	else
		snprintf(pname, sizeof(pname), "%s%u", drv->name, (unsigned)id);
	if (dev_by_name(pname) != NULL) {
		TARN__ERR(TARN__ETH_LOG, "port spec '%s': a port named '%s' exists", spec, pname);
		*rc = -EEXIST;
		return NULL;
	}
	struct tarn__eth_dev *dev = tarn_malloc_socket(sizeof(*dev), 0, socket);
	void *priv = drv->priv_size ? tarn_malloc_socket(drv->priv_size, 0, socket) : NULL;
	if (dev == NULL || (drv->priv_size && priv == NULL)) {
		tarn_free(dev);
		tarn_free(priv);
		TARN__ERR(TARN__ETH_LOG, "port spec '%s': out of memory on socket %d", spec,
		          socket);
		*rc = -ENOMEM;
		return NULL;
	}
	dev->port_id = id;
	dev->state = TARN_ETH_STATE_CREATED;
	dev->drv = drv;
	dev->priv = priv;
	snprintf(dev->name, sizeof(dev->name), "%s", pname);
	snprintf(dev->spec, sizeof(dev->spec), "%s", spec);
	dev->socket = socket;
	dev->socket_given = g->socket != TARN__ETH_SOCKET_NOT_GIVEN;
	dev->numa_node = TARN_SOCKET_ANY;
	dev->mtu = TARN_ETH_DEFAULT_MTU;
	/* mac= is never all zeros: all zeros is "not given". */
	static const struct tarn_ether_addr zero;
	dev->mac = g->mac;
	if (memcmp(&g->mac, &zero, sizeof(zero)) == 0)
		dev->mac =
		    (struct tarn_ether_addr){ { 0x02, 0x74, 0x61, 0x72, 0x6e, (uint8_t)id } };
	dev->rx_data_min = drv->rx_data_min;
	snprintf(dev->rx_data_what, sizeof(dev->rx_data_what), "%s",
	         drv->rx_data_what != NULL ? drv->rx_data_what : "a packet");
	return dev;
}

/* The port's queue-pair limit from its TARN__ETH_KEY_QUEUES key, if any. */
static void dev_queue_key(struct tarn__eth_dev *dev)
{
	for (const struct tarn__key *k = dev->drv->keys; k != NULL && k->name != NULL; k++) {
		if (k->flags & TARN__ETH_KEY_QUEUES) {
			dev->queue_key = k;
			dev->queue_pairs = (uint32_t)tarn__key_uint(k, dev->priv);
		}
	}
}

int tarn_eth_dev_create(const char *spec, uint16_t *port_id)
{
	struct tarn__eth_spec s;
	struct tarn__eth_generic g;
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
	const struct tarn__eth_driver *drv = tarn__eth_driver_of(spec, &s);
	if (drv == NULL)
		return -ENODEV;
	rc = tarn__eth_spec_generic(drv, spec, &s, &g);
	if (rc < 0)
		return rc;

	pthread_mutex_lock(&eth_lock);
	const int id = port_id_take(spec);
	struct tarn__eth_dev *dev = id < 0 ? NULL : dev_alloc(drv, spec, &g, (uint16_t)id, &rc);
	if (dev == NULL) {
		pthread_mutex_unlock(&eth_lock);
		return id < 0 ? id : rc;
	}
	rc = tarn__eth_spec_driver(drv, spec, &s, dev->priv);
	if (rc == 0) {
		dev_queue_key(dev);
		rc = drv->create(dev, &s);
	}
	if (rc < 0) {
		dev_free(dev);
		pthread_mutex_unlock(&eth_lock);
		return rc;
	}
	fp_clear(dev->port_id);
	eth_devs[dev->port_id] = dev;
	pthread_mutex_unlock(&eth_lock);
	TARN__INFO(TARN__ETH_LOG, "port %u '%s' created from '%s'", (unsigned)dev->port_id,
	           dev->name, spec);
	*port_id = dev->port_id;
	return 0;
}

int tarn_eth_dev_configure(uint16_t port_id, uint16_t nb_rxq, uint16_t nb_txq,
                           const struct tarn_eth_conf *conf)
{
	struct tarn__eth_dev *dev = dev_lock(port_id, __func__);
	if (dev == NULL)
		return -ENODEV;
	int rc = 0;
	if (dev->state == TARN_ETH_STATE_STARTED) {
		TARN__ERR(TARN__ETH_LOG, "port %u: configure while started (stop it first)",
		          (unsigned)port_id);
		rc = -EBUSY;
	} else if (nb_rxq == 0 || nb_rxq > max_rxq(dev->drv) || nb_txq == 0 ||
	           nb_txq > max_txq(dev->drv)) {
		TARN__ERR(TARN__ETH_LOG,
		          "port %u: configure with %u RX and %u TX queues (driver %s: 1 to %u RX, "
		          "1 to %u TX)",
		          (unsigned)port_id, (unsigned)nb_rxq, (unsigned)nb_txq, dev->drv->name,
		          (unsigned)max_rxq(dev->drv), (unsigned)max_txq(dev->drv));
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

/* Common checks of queue setup (eth_lock held); fills `c` but its pool. */
static int queue_setup_check(struct tarn__eth_dev *dev, const char *dir, uint16_t queue_id,
                             uint16_t nb_q, uint32_t nb_desc, int socket, struct tarn__eth_qconf *c)
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
	if (dev->queue_pairs != 0 && queue_id >= dev->queue_pairs) {
		TARN__ERR(
		    TARN__ETH_LOG,
		    "port %u '%s': %s queue %u: the port has %s=%u (add %s=N to the spec, N up "
		    "to %u)",
		    p, dev->name, dir, (unsigned)queue_id, dev->queue_key->name, dev->queue_pairs,
		    dev->queue_key->name, (unsigned)dev->queue_key->max);
		return -EINVAL;
	}
	if (nb_desc == 0)
		nb_desc = TARN_ETH_DEFAULT_DESC;
	if (nb_desc > TARN_ETH_MAX_DESC) {
		TARN__ERR(TARN__ETH_LOG, "port %u: %s queue %u: %u descriptors (at most %d)", p,
		          dir, (unsigned)queue_id, nb_desc, TARN_ETH_MAX_DESC);
		return -EINVAL;
	}
	int s = tarn_socket_resolve(socket);
	if (s < 0) {
		TARN__ERR(TARN__ETH_LOG, "port %u: %s queue %u: socket %d does not exist", p, dir,
		          (unsigned)queue_id, socket);
		return -EINVAL;
	}
	c->id = queue_id;
	c->nb_desc = nb_desc;
	c->socket = s;
	c->mp = NULL;
	c->room = 0;
	c->stats = NULL;
	return 0;
}

/* An RX queue's pool: an mbuf pool whose mbufs hold dev->rx_data_min bytes
 * after the headroom (*data: what they hold). eth_lock held. */
static int rx_pool_check(const struct tarn__eth_dev *dev, uint16_t queue_id,
                         struct tarn_mempool *mp, uint32_t *data)
{
	const unsigned p = dev->port_id, q = queue_id;
	if (mp == NULL) {
		TARN__ERR(TARN__ETH_LOG, "port %u: RX queue %u: NULL mbuf pool", p, q);
		return -EINVAL;
	}
	const int room = tarn_pktmbuf_data_room_size(mp);
	if (room < 0 || !tarn_pktmbuf_pool_is_mbuf_pool(mp)) {
		TARN__ERR(TARN__ETH_LOG,
		          "port %u '%s': RX queue %u: pool '%s' is not an mbuf pool (make it with "
		          "tarn_pktmbuf_pool_create())",
		          p, dev->name, q, tarn_mempool_name(mp));
		return -EINVAL;
	}
	/* An mbuf's data starts after min(headroom, room) bytes. */
	const uint32_t head =
	    (uint32_t)room < TARN_PKTMBUF_HEADROOM ? (uint32_t)room : TARN_PKTMBUF_HEADROOM;
	if ((uint32_t)room - head < dev->rx_data_min) {
		TARN__ERR(TARN__ETH_LOG,
		          "port %u '%s': RX queue %u: pool '%s' has a smaller data room than the "
		          "port needs: %s does not fit in %d bytes (it needs %u: %u + the %d-byte "
		          "headroom)",
		          p, dev->name, q, tarn_mempool_name(mp), dev->rx_data_what, room,
		          dev->rx_data_min + TARN_PKTMBUF_HEADROOM, dev->rx_data_min,
		          TARN_PKTMBUF_HEADROOM);
		return -EINVAL;
	}
	*data = (uint32_t)room - head;
	return 0;
}

/* Set up queue `c->id` (RX: rx != 0) in fresh memory of the queue's size. */
static int queue_setup(struct tarn__eth_dev *dev, int rx, struct tarn__eth_qconf *c)
{
	const char *dir = rx ? "RX" : "TX";
	void *q = tarn_malloc_socket(rx ? dev->drv->rxq_size : dev->drv->txq_size, 0, c->socket);

	if (q == NULL) {
		TARN__ERR(TARN__ETH_LOG, "port %u '%s': %s queue %u: out of memory on socket %d",
		          (unsigned)dev->port_id, dev->name, dir, (unsigned)c->id, c->socket);
		return -ENOMEM;
	}
	c->stats = rx ? &dev->rxq_stats[c->id] : &dev->txq_stats[c->id];
	int rc = rx ? dev->drv->rx_queue_setup(dev, q, c) : dev->drv->tx_queue_setup(dev, q, c);
	if (rc < 0) {
		tarn_free(q);
		return rc;
	}
	if (rx)
		dev->rxq[c->id] = q;
	else
		dev->txq[c->id] = q;
	return 0;
}

int tarn_eth_rx_queue_setup(uint16_t port_id, uint16_t queue_id, uint32_t nb_desc, int socket,
                            struct tarn_mempool *mb_pool)
{
	struct tarn__eth_qconf c;
	struct tarn__eth_dev *dev = dev_lock(port_id, __func__);
	if (dev == NULL)
		return -ENODEV;
	int rc = queue_setup_check(dev, "RX", queue_id, dev->nb_rxq, nb_desc, socket, &c);
	if (rc == 0)
		rc = rx_pool_check(dev, queue_id, mb_pool, &c.room);
	if (rc == 0) {
		queue_release(dev, queue_id, 1);
		c.mp = mb_pool;
		rc = queue_setup(dev, 1, &c);
	}
	pthread_mutex_unlock(&eth_lock);
	return rc;
}

int tarn_eth_tx_queue_setup(uint16_t port_id, uint16_t queue_id, uint32_t nb_desc, int socket)
{
	struct tarn__eth_qconf c;
	struct tarn__eth_dev *dev = dev_lock(port_id, __func__);
	if (dev == NULL)
		return -ENODEV;
	int rc = queue_setup_check(dev, "TX", queue_id, dev->nb_txq, nb_desc, socket, &c);
	if (rc == 0) {
		queue_release(dev, queue_id, 0);
		rc = queue_setup(dev, 0, &c);
	}
	pthread_mutex_unlock(&eth_lock);
	return rc;
}

int tarn_eth_dev_start(uint16_t port_id)
{
	struct tarn__eth_dev *dev = dev_lock(port_id, __func__);
	if (dev == NULL)
		return -ENODEV;
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
/* -EIO when the port's output failed (dev->output_failed), else 0. */
static int output_status(const struct tarn__eth_dev *dev)
{
	return __atomic_load_n(&dev->output_failed, __ATOMIC_RELAXED) ? -EIO : 0;
}

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
	struct tarn__eth_dev *dev = dev_lock(port_id, __func__);
	if (dev == NULL)
		return -ENODEV;
	dev_stop(dev);
	const int rc = output_status(dev);
	pthread_mutex_unlock(&eth_lock);
	return rc;
}

/* eth_lock held. Returns output_status() of the port before it went. */
static int dev_close(struct tarn__eth_dev *dev)
{
	uint16_t id = dev->port_id;
	dev_stop(dev);
	release_queues(dev);
	if (dev->drv->close != NULL)
		dev->drv->close(dev);
	const int rc = output_status(dev);
	eth_devs[id] = NULL;
	fp_clear(id);
	TARN__INFO(TARN__ETH_LOG, "port %u '%s' closed", (unsigned)id, dev->name);
	dev_free(dev);
	return rc;
}

int tarn_eth_dev_close(uint16_t port_id)
{
	struct tarn__eth_dev *dev = dev_lock(port_id, __func__);
	if (dev == NULL)
		return -ENODEV;
	const int rc = dev_close(dev);
	pthread_mutex_unlock(&eth_lock);
	return rc;
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
	struct tarn__eth_dev *dev = dev_lock(port_id, __func__);
	if (dev == NULL)
		return -ENODEV;
	memset(info, 0, sizeof(*info));
	snprintf(info->driver_name, sizeof(info->driver_name), "%s", dev->drv->name);
	snprintf(info->name, sizeof(info->name), "%s", dev->name);
	snprintf(info->spec, sizeof(info->spec), "%s", dev->spec);
	info->state = dev->state;
	info->socket = dev->socket;
	info->numa_node = dev->socket_given ? dev->socket : dev->numa_node;
	info->nb_rx_queues = dev->nb_rxq;
	info->nb_tx_queues = dev->nb_txq;
	info->max_rx_queues = max_rxq(dev->drv);
	info->max_tx_queues = max_txq(dev->drv);
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

int tarn_eth_dev_socket(uint16_t port_id)
{
	struct tarn__eth_dev *dev = dev_lock(port_id, __func__);
	if (dev == NULL)
		return -ENODEV;
	int s = dev->socket;
	pthread_mutex_unlock(&eth_lock);
	return s;
}

int tarn_eth_dev_socket_id(uint16_t port_id) __attribute__((alias("tarn_eth_dev_socket")));

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
	struct tarn__eth_dev *dev = dev_lock(port_id, __func__);
	if (dev == NULL)
		return -ENODEV;
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
	struct tarn__eth_dev *dev = dev_lock(port_id, __func__);
	if (dev == NULL)
		return -ENODEV;
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
	struct tarn__eth_dev *dev = dev_lock(port_id, __func__);
	if (dev == NULL)
		return -ENODEV;
	for (unsigned q = 0; q < TARN_ETH_MAX_QUEUES; q++) {
		qstats_snap(&dev->rxq_stats[q], &dev->rxq_base[q]);
		qstats_snap(&dev->txq_stats[q], &dev->txq_base[q]);
	}
	pthread_mutex_unlock(&eth_lock);
	return 0;
}

/* One xstat at `i` of `xs` when it fits; returns i + 1. */
__attribute__((format(printf, 5, 6))) static unsigned
xstat_put(struct tarn_eth_xstat *xs, unsigned n, unsigned i, uint64_t v, const char *fmt, ...)
{
	if (i < n) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(xs[i].name, sizeof(xs[i].name), fmt, ap);
		va_end(ap);
		xs[i].value = v;
	}
	return i + 1;
}

int tarn_eth_xstats_get(uint16_t port_id, struct tarn_eth_xstat *xs, unsigned n)
{
	if (xs == NULL && n > 0)
		return -EINVAL;
	struct tarn__eth_dev *dev = dev_lock(port_id, __func__);
	if (dev == NULL)
		return -ENODEV;
	struct tarn_eth_queue_stats rx[TARN_ETH_MAX_QUEUES], tx[TARN_ETH_MAX_QUEUES];
	uint64_t t[8] = { 0 };
	for (unsigned q = 0; q < TARN_ETH_MAX_QUEUES; q++) {
		qstats_read(&dev->rxq_stats[q], &dev->rxq_base[q], &rx[q]);
		qstats_read(&dev->txq_stats[q], &dev->txq_base[q], &tx[q]);
		t[0] += rx[q].packets, t[1] += tx[q].packets, t[2] += rx[q].bytes;
		t[3] += tx[q].bytes, t[4] += rx[q].missed, t[5] += rx[q].errors;
		t[6] += tx[q].errors, t[7] += rx[q].nombuf;
	}
	static const char *const totals[] = { "rx_good_packets",  "tx_good_packets",
		                              "rx_good_bytes",    "tx_good_bytes",
		                              "rx_missed_errors", "rx_errors",
		                              "tx_errors",        "rx_mbuf_allocation_errors" };
	unsigned i = 0;
	for (unsigned k = 0; k < TARN_ARRAY_SIZE(totals); k++)
		i = xstat_put(xs, n, i, t[k], "%s", totals[k]);
	for (unsigned q = 0; q < dev->nb_rxq; q++) {
		i = xstat_put(xs, n, i, rx[q].packets, "rx_q%u_packets", q);
		i = xstat_put(xs, n, i, rx[q].bytes, "rx_q%u_bytes", q);
		i = xstat_put(xs, n, i, rx[q].errors, "rx_q%u_errors", q);
	}
	for (unsigned q = 0; q < dev->nb_txq; q++) {
		i = xstat_put(xs, n, i, tx[q].packets, "tx_q%u_packets", q);
		i = xstat_put(xs, n, i, tx[q].bytes, "tx_q%u_bytes", q);
	}
	for (unsigned q = 0; q < dev->nb_rxq; q++) {
		i = xstat_put(xs, n, i, rx[q].missed, "rx_q%u_missed_errors", q);
		i = xstat_put(xs, n, i, rx[q].nombuf, "rx_q%u_mbuf_allocation_errors", q);
	}
	if (dev->drv->xstats_get != NULL) {
		int d = dev->drv->xstats_get(dev, i < n ? xs + i : NULL, i < n ? n - i : 0);
		if (d > 0)
			i += (unsigned)d;
	}
	pthread_mutex_unlock(&eth_lock);
	return (int)i;
}

/* ------------------------------------------------------------------------ */
/* Link, MAC, promiscuous mode, MTU */

int tarn_eth_link_get(uint16_t port_id, struct tarn_eth_link *link)
{
	if (link == NULL)
		return -EINVAL;
	struct tarn__eth_dev *dev = dev_lock(port_id, __func__);
	if (dev == NULL)
		return -ENODEV;
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
	struct tarn__eth_dev *dev = dev_lock(port_id, __func__);
	if (dev == NULL)
		return -ENODEV;
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
	struct tarn__eth_dev *dev = dev_lock(port_id, __func__);
	if (dev == NULL)
		return -ENODEV;
	int rc = dev->drv->mac_set != NULL ? dev->drv->mac_set(dev, mac) : 0;
	if (rc == 0)
		dev->mac = *mac;
	pthread_mutex_unlock(&eth_lock);
	return rc;
}

static int promisc_set(uint16_t port_id, int on)
{
	struct tarn__eth_dev *dev = dev_lock(port_id, __func__);
	if (dev == NULL)
		return -ENODEV;
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
	struct tarn__eth_dev *dev = dev_lock(port_id, __func__);
	if (dev == NULL)
		return -ENODEV;
	int on = dev->promiscuous;
	pthread_mutex_unlock(&eth_lock);
	return on;
}

int tarn_eth_dev_set_mtu(uint16_t port_id, uint32_t mtu)
{
	struct tarn__eth_dev *dev = dev_lock(port_id, __func__);
	if (dev == NULL)
		return -ENODEV;
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
	struct tarn__eth_dev *dev = dev_lock(port_id, __func__);
	if (dev == NULL)
		return -ENODEV;
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
