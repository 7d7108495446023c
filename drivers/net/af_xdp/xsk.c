/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * xsk.c - a queue pair's AF_XDP socket: opened at start on device queue
 * Q + i (the pool of RX queue i as its UMEM, TX queue i on the same
 * socket), closed at stop with every frame back in its pool.
 *
 * Opening: the pool's layout and frame bitmaps (umem.c), the UMEM and the
 * socket (retrying a bind that finds the queue still held by the socket of
 * the last start, which the kernel releases from a work item), the socket's
 * options (zero copy in use, busy polling, the TX budget), the fill ring
 * posted, the XSKMAP entry (bpf.c) pointed at the socket. Closing: in-flight
 * transmissions given AXDP_DRAIN_MS to complete, the XSKMAP entry cleared,
 * the socket closed, in zero-copy mode the driver given AXDP_ZC_RELEASE_MS
 * to release the queue, then every frame the kernel held back to its pool.
 *
 * Control path only (start and stop, under the ethdev control mutex).
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "axdp_priv.h"
#include "tarn_mem.h"

#ifndef SO_BUSY_POLL
#define SO_BUSY_POLL 46
#endif
#ifndef SO_PREFER_BUSY_POLL
#define SO_PREFER_BUSY_POLL 69
#endif
#ifndef SO_BUSY_POLL_BUDGET
#define SO_BUSY_POLL_BUDGET 70
#endif
/* Most descriptors one sendto() transmits in copy mode (kernel 6.17; the
 * default is 32). */
#ifndef XDP_MAX_TX_SKB_BUDGET
#define XDP_MAX_TX_SKB_BUDGET 9
#endif

/* Milliseconds of the monotonic clock, for the waits below. */
static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Sleep `us` microseconds (the waits below poll the kernel). */
static void sleep_us(unsigned us)
{
	struct timespec ts = { 0, (long)us * 1000 };
	nanosleep(&ts, NULL);
}

/* ------------------------------------------------------------------------ */
/* Close */

/*
 * Zero copy: after its socket closed, the kernel gives the queue back to the
 * driver from a work item; until then the driver may still write into the
 * frames it holds. Wait until a bind on the queue works (the kernel refuses
 * a second socket on a queue with -EBUSY while the old one is there).
 * 0, or -ETIMEDOUT.
 */
static int wait_queue_released(const struct axdp_port *p, uint32_t qid)
{
	const size_t len = 2 * AXDP_MIN_CHUNK;
	const uint64_t t0 = now_ms();
	void *area = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int rc = -ETIMEDOUT;

	if (area == MAP_FAILED)
		return -ENOMEM;
	do {
		int fd = socket(AF_XDP, SOCK_RAW | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			rc = -errno;
			break;
		}
		struct xdp_umem_reg mr = { .addr = (uint64_t)(uintptr_t)area,
			                   .len = len,
			                   .chunk_size = AXDP_MIN_CHUNK,
			                   .headroom = 0,
			                   .flags = 0 };
		int two = 2;
		struct sockaddr_xdp sxdp = { .sxdp_family = AF_XDP,
			                     .sxdp_flags = XDP_COPY,
			                     .sxdp_ifindex = (uint32_t)p->lif.ifindex,
			                     .sxdp_queue_id = qid };
		int b = -1;
		if (setsockopt(fd, SOL_XDP, XDP_UMEM_REG, &mr, sizeof(mr)) == 0 &&
		    setsockopt(fd, SOL_XDP, XDP_UMEM_FILL_RING, &two, sizeof(two)) == 0 &&
		    setsockopt(fd, SOL_XDP, XDP_UMEM_COMPLETION_RING, &two, sizeof(two)) == 0 &&
		    setsockopt(fd, SOL_XDP, XDP_RX_RING, &two, sizeof(two)) == 0)
			b = bind(fd, (struct sockaddr *)&sxdp, sizeof(sxdp));
		const int err = b == 0 ? 0 : errno;
		close(fd);
		if (err != EBUSY) {
			rc = 0; /* free (or an error that says nothing about it) */
			break;
		}
		sleep_us(1000);
	} while (now_ms() - t0 < AXDP_ZC_RELEASE_MS);
	munmap(area, len);
	return rc;
}

/* Let what TX queue `txq` has in flight complete, so its frames come back
 * through the completion ring (at most AXDP_DRAIN_MS). */
static void tx_drain(struct axdp_txq *txq)
{
	const uint64_t t0 = now_ms();

	tarn__axdp_tx_reclaim(txq);
	while (txq->inflight != 0 && !txq->down && now_ms() - t0 < AXDP_DRAIN_MS) {
		tarn__axdp_tx_kick(txq);
		sleep_us(100);
		tarn__axdp_tx_reclaim(txq);
	}
	tarn__axdp_tx_sync(txq);
}

/* The queues' rings point into the closed socket's memory: forget them. */
static void queue_reset(struct axdp_rxq *rxq, struct axdp_txq *txq)
{
	rxq->owed = rxq->starved = 0;
	memset(&rxq->rx, 0, sizeof(rxq->rx));
	memset(&rxq->fq, 0, sizeof(rxq->fq));
	if (txq != NULL) {
		txq->inflight = 0;
		txq->down = 0;
		memset(&txq->tx, 0, sizeof(txq->tx));
		memset(&txq->cq, 0, sizeof(txq->cq));
	}
	rxq->txq = NULL;
}

void tarn__axdp_queue_close(struct tarn__eth_dev *dev, struct axdp_rxq *rxq)
{
	struct axdp_port *p = dev->priv;
	struct axdp_txq *txq = rxq->txq;

	if (rxq->fd < 0)
		return;
	if (txq != NULL && txq->fd >= 0)
		tx_drain(txq);
	tarn__axdp_rx_sync(rxq);
	tarn__axdp_prog_map_clear(p->prog, rxq->dev_queue);
	xsk_socket__delete(rxq->xsk);
	(void)xsk_umem__delete(rxq->umem); /* closes the socket */
	rxq->xsk = NULL;
	rxq->umem = NULL;
	rxq->fd = -1;
	if (txq != NULL)
		txq->fd = -1;

	int keep = 0;
	if (rxq->zc && wait_queue_released(p, rxq->dev_queue) < 0) {
		/* Frames the driver may still write into must not be reused. */
		keep = 1;
		TARN__ERR(AXDP_LOG,
		          "port '%s': queue %u of %s: the driver did not release its zero-copy "
		          "buffers within %u ms: they stay out of pool '%s' (a leak, not a reuse)",
		          dev->name, rxq->dev_queue, p->lif.ifname, AXDP_ZC_RELEASE_MS,
		          tarn_mempool_name(rxq->mp));
	}
	tarn__axdp_frames_back(dev, rxq, txq, keep);
	queue_reset(rxq, txq);
}

/* ------------------------------------------------------------------------ */
/* Open */

/* Undo a queue_open() that failed before the socket existed. */
static void open_undo(struct axdp_rxq *rxq, struct axdp_txq *txq)
{
	if (rxq->xsk != NULL)
		xsk_socket__delete(rxq->xsk);
	if (rxq->umem != NULL)
		(void)xsk_umem__delete(rxq->umem);
	rxq->xsk = NULL;
	rxq->umem = NULL;
	tarn_free(rxq->kbits);
	rxq->kbits = NULL;
	if (txq != NULL) {
		tarn_free(txq->kbits);
		txq->kbits = NULL;
	}
}

/* The pool's layout and the frame bitmaps; zerocopy=on needs a pool a
 * driver can DMA into. */
static int frames_init(struct tarn__eth_dev *dev, const struct axdp_port *p, struct axdp_rxq *rxq,
                       struct axdp_txq *txq, int *zc_ok)
{
	int rc = tarn__axdp_layout_init(&rxq->lay, rxq->mp, dev->name, zc_ok);

	if (rc == 0)
		rc = tarn__axdp_bits_alloc(dev, rxq, txq);
	if (rc == 0 && p->zerocopy == AXDP_ZC_ON && !*zc_ok) {
		TARN__ERR(AXDP_LOG,
		          "port '%s': zerocopy=on: pool '%s' is not in physically contiguous "
		          "hugepages (tarn with hugepages, as root), so a driver cannot DMA into "
		          "its frames; use zerocopy=auto or off",
		          dev->name, tarn_mempool_name(rxq->mp));
		rc = -EINVAL;
	}
	return rc;
}

/* Why the socket could not be bound. */
static void bind_error(const struct tarn__eth_dev *dev, const struct axdp_port *p,
                       const struct axdp_rxq *rxq, const char *name, int rc)
{
	if (rc == -EBUSY)
		TARN__ERR(AXDP_LOG,
		          "port '%s': queue %u of %s is taken by another AF_XDP socket (another "
		          "program?)",
		          dev->name, rxq->dev_queue, name);
	else if (p->zerocopy == AXDP_ZC_ON && (rc == -EOPNOTSUPP || rc == -EINVAL))
		TARN__ERR(
		    AXDP_LOG,
		    "port '%s': zerocopy=on: the driver of %s has no zero-copy AF_XDP support "
		    "(%s; veth has none): use zerocopy=auto or off",
		    dev->name, name, strerror(-rc));
	else
		TARN__ERR(AXDP_LOG, "port '%s': cannot bind an AF_XDP socket to %s queue %u: %s",
		          dev->name, name, rxq->dev_queue, strerror(-rc));
}

/*
 * The UMEM and the socket on interface `name`. The socket of the last start
 * may still hold the queue (the kernel releases it from a work item): a
 * bind that finds it busy is retried for AXDP_BIND_WAIT_MS. `zc_ok`: the
 * pool can take zero copy (else copy mode; auto lets the kernel try).
 */
static int xsk_create(struct tarn__eth_dev *dev, const struct axdp_port *p, struct axdp_rxq *rxq,
                      struct axdp_txq *txq, const char *name, int zc_ok)
{
	uint16_t bind = XDP_USE_NEED_WAKEUP;
	if (p->zerocopy == AXDP_ZC_ON)
		bind |= XDP_ZEROCOPY;
	else if (p->zerocopy == AXDP_ZC_OFF || !zc_ok)
		bind |= XDP_COPY; /* auto: the kernel tries zero copy, else copies */
	const struct xsk_socket_config scfg = {
		.rx_size = rxq->ring_size,
		.tx_size = txq != NULL ? txq->ring_size : 0,
		.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD,
		.xdp_flags = 0,
		.bind_flags = bind,
	};
	const uint64_t t0 = now_ms();
	unsigned tries = 0;
	int rc;

	for (;;) {
		rc = tarn__axdp_umem_create(dev, rxq, txq);
		if (rc < 0)
			return rc;
		rc = xsk_socket__create(&rxq->xsk, name, rxq->dev_queue, rxq->umem, &rxq->rx,
		                        txq != NULL ? &txq->tx : NULL, &scfg);
		if (rc == 0)
			break;
		rxq->xsk = NULL;
		(void)xsk_umem__delete(rxq->umem);
		rxq->umem = NULL;
		if (rc != -EBUSY || now_ms() - t0 > AXDP_BIND_WAIT_MS) {
			bind_error(dev, p, rxq, name, rc);
			return rc;
		}
		tries++;
		sleep_us(2000);
	}
	if (tries != 0)
		TARN__DEBUG(AXDP_LOG,
		            "port '%s': queue %u was still held by the last socket (%u retries)",
		            dev->name, rxq->dev_queue, tries);
	return 0;
}

/* A fresh socket: the queues' fast-path state from zero. */
static void queue_state(struct tarn__eth_dev *dev, struct axdp_rxq *rxq, struct axdp_txq *txq)
{
	rxq->fd = xsk_socket__fd(rxq->xsk);
	rxq->k_missed = rxq->k_errors = 0;
	rxq->polls = 0;
	rxq->owed = rxq->starved = 0;
	rxq->busy_poll = 0;
	rxq->txq = txq;
	if (txq == NULL)
		return;
	txq->lay = rxq->lay;
	txq->mp = rxq->mp;
	txq->chunk = rxq->chunk;
	txq->inflight = 0;
	txq->down = 0;
	txq->polls = 0;
	txq->k_errors = 0;
	__atomic_store_n(&txq->mtu, dev->mtu, __ATOMIC_RELAXED);
	txq->fd = rxq->fd;
}

/* Options of the socket: is zero copy in use (the driver then needs a
 * wakeup to refill), busy polling (busy_poll=), the TX budget of a call. */
static int xsk_options(struct tarn__eth_dev *dev, const struct axdp_port *p, struct axdp_rxq *rxq,
                       const struct axdp_txq *txq)
{
	struct xdp_options opt;
	socklen_t olen = sizeof(opt);

	memset(&opt, 0, sizeof(opt));
	rxq->zc = getsockopt(rxq->fd, SOL_XDP, XDP_OPTIONS, &opt, &olen) == 0 &&
	          (opt.flags & XDP_OPTIONS_ZEROCOPY) != 0;
	rxq->fill_wakeup = rxq->zc;
	if (p->busy_poll != 0) {
		int one = 1, us = (int)p->busy_poll, budget = (int)AXDP_BULK;
		if (setsockopt(rxq->fd, SOL_SOCKET, SO_PREFER_BUSY_POLL, &one, sizeof(one)) != 0 ||
		    setsockopt(rxq->fd, SOL_SOCKET, SO_BUSY_POLL, &us, sizeof(us)) != 0 ||
		    setsockopt(rxq->fd, SOL_SOCKET, SO_BUSY_POLL_BUDGET, &budget, sizeof(budget)) !=
		        0) {
			const int rc = -errno;
			TARN__ERR(AXDP_LOG, "port '%s': busy_poll=%u: %s%s", dev->name,
			          p->busy_poll, strerror(-rc),
			          rc == -EPERM ? " (SO_BUSY_POLL above net.core.busy_read needs "
			                         "CAP_NET_ADMIN)"
			                       : "");
			return rc;
		}
		rxq->busy_poll = p->busy_poll;
	}
	if (txq != NULL && txq->ring_size >= 32) {
		/* One sendto() may transmit a whole ring (kernel 6.17; older
		 * kernels transmit 32 a call and refuse the option). */
		unsigned budget = txq->ring_size;
		(void)setsockopt(rxq->fd, SOL_XDP, XDP_MAX_TX_SKB_BUDGET, &budget, sizeof(budget));
	}
	return 0;
}

int tarn__axdp_queue_open(struct tarn__eth_dev *dev, struct axdp_rxq *rxq, struct axdp_txq *txq)
{
	struct axdp_port *p = dev->priv;
	char name[IFNAMSIZ];
	int zc_ok = 0;
	int rc = frames_init(dev, p, rxq, txq, &zc_ok);

	if (rc == 0 && tarn__lif_name_now(&p->lif, name) < 0) {
		tarn__lif_log_gone(dev, &p->lif);
		rc = -ENODEV;
	}
	if (rc == 0)
		rc = xsk_create(dev, p, rxq, txq, name, zc_ok);
	if (rc < 0) {
		open_undo(rxq, txq);
		return rc;
	}
	queue_state(dev, rxq, txq);
	rc = xsk_options(dev, p, rxq, txq);
	if (rc == 0) {
		/* Post nb_desc frames, then let the XDP program redirect to it. */
		rxq->owed = rxq->nb_desc;
		tarn__axdp_rx_refill(rxq);
		rc = tarn__axdp_prog_map_set(p->prog, dev->name, rxq->dev_queue, rxq->fd);
	}
	if (rc < 0)
		tarn__axdp_queue_close(dev, rxq); /* frees the bitmaps after reclaiming */
	return rc;
}
