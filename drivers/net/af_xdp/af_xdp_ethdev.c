/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * af_xdp_ethdev.c - the "af_xdp" driver: ports on Linux network interfaces
 * through AF_XDP sockets whose UMEM is the memory of a tarn mbuf pool.
 *
 *   af_xdp:iface=NAME[,queue=Q][,queues=N][,mode=auto|native|generic]
 *          [,zerocopy=auto|on|off][,busy_poll=USECS][,attach=link|legacy]
 *
 * docs/drivers/af_xdp.md describes the keys, the errors and the counters.
 *
 * Port RX/TX queue i is device queue Q + i, served by one AF_XDP socket
 * (created at start, in the network namespace of the starting thread, and
 * closed at stop). The XDP program (af_xdp_bpf.c) redirects those device
 * queues to the sockets.
 *
 * UMEM. The UMEM of queue i's socket is the whole memzone of the pool given
 * to RX queue i (rounded out to pages), registered with
 * XDP_UMEM_UNALIGNED_CHUNK_FLAG since the objects are not a power of two
 * apart. A frame is the data room of an mbuf: its UMEM address is the offset
 * of the mbuf's buf_addr from the UMEM start, the chunk size is the data
 * room (at most a page), and the kernel writes a packet XDP_PACKET_HEADROOM
 * (256) bytes into it, so a received mbuf has data_off 256. An address maps
 * back to its mbuf by subtracting the descriptor and private area sizes.
 *
 * Ownership. Every frame the kernel holds through a queue (posted to the fill
 * ring and not yet received, or transmitted and not yet completed) has its
 * bit set in that queue's bitmap, indexed by the object's index in the pool
 * (computed with a multiplication by the inverse of the stride: no
 * division). The RX path clears a bit when the frame comes back on the RX
 * ring, the TX path when it comes back on the completion ring; a descriptor
 * whose bit is not set is not ours and is skipped (counted as an error), so
 * no frame is handed out twice. At stop, after the socket is closed (and, in
 * zero-copy mode, after the driver gave the queue up), every object whose
 * bit is still set goes back to the pool: none is lost, whatever the kernel
 * held (fill ring, its own free list, RX ring, TX in flight).
 *
 * Fast path:
 * - RX takes descriptors from the RX ring and hands their mbufs out as they
 *   are (no copy): it writes the first cache line (rearm word, lengths,
 *   port, flags cleared). The fill ring is topped up in bulk from the pool
 *   (raw gets: nothing of the mbuf is touched until it is received) once
 *   AXDP_FILL_BATCH frames are owed, and on every burst that finds the RX
 *   ring empty while frames are owed, so a queue that ran out of mbufs
 *   recovers as soon as the pool has some again. Frames the pool could not
 *   give are counted once in rx_nombuf. Kernel drops (no frame, RX ring
 *   full) come from XDP_STATISTICS as imissed, read every AXDP_STATS_POLLS
 *   bursts and at stop.
 * - TX sends an mbuf of the UMEM's pool as it is (zero copy) when it is one
 *   direct segment that this call owns alone (refcnt 1) and needs no tag
 *   inserted; anything else (another pool, a chain, a clone, a shared mbuf,
 *   TARN_MBUF_F_TX_VLAN/QINQ) is copied into a frame taken from the UMEM's
 *   pool, with the tags inserted, and freed. Completed frames go back to the
 *   pool in bulk. One sendto() per burst drives the kernel (copy mode
 *   transmits in that call); a packet the interface cannot carry (shorter
 *   than an Ethernet header, longer than MTU + 14, + 4 when VLAN-tagged, or
 *   than the chunk) is taken, freed and counted as an error. When the kick
 *   finds the interface down or gone, later bursts take nothing until a
 *   kick succeeds again; what was already in the TX ring goes out then (or
 *   comes back to the pool at stop).
 *
 * Every op runs under the ethdev control mutex. The fast path and the
 * control path share only txq->mtu (relaxed atomic) and the counters.
 */
#include <errno.h>
#include <linux/ethtool.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/if_packet.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <xdp/xsk.h>

#include "af_xdp_priv.h"
#include "../common/linux_if.h"
#include "ethdev_driver_priv.h"
#include "tarn_mbuf.h"
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

/* Where the kernel writes a received packet in a frame (XDP_PACKET_HEADROOM). */
#define AXDP_XDP_HEADROOM 256u
/* Smallest and largest chunk (XDP_UMEM_MIN_CHUNK_SIZE; a page). */
#define AXDP_MIN_CHUNK 2048u
#define AXDP_MAX_CHUNK 4096u
#define AXDP_ETH_HLEN  14u
#define AXDP_VLAN_HLEN 4u
/* Largest frame on an interface of MTU `mtu`: header and one VLAN tag. */
#define AXDP_MAX_PKT(mtu) ((mtu) + AXDP_ETH_HLEN + AXDP_VLAN_HLEN)
/* Refill the fill ring once this many frames are owed (or fewer for small rings). */
#define AXDP_FILL_BATCH 32u
/* Objects moved per bulk get/put. */
#define AXDP_BULK 64u
/* Bursts between two reads of the kernel's counters. */
#define AXDP_STATS_POLLS 1024u
/* How long start retries a bind that finds the queue still held by a socket
 * being released (the kernel frees it from a work item), and how long stop
 * waits for in-flight transmissions and, in zero-copy mode, for the driver
 * to give the queue up. */
#define AXDP_BIND_WAIT_MS  2000u
#define AXDP_DRAIN_MS      200u
#define AXDP_ZC_RELEASE_MS 2000u

#define AXDP_TX_SLOW_FLAGS (TARN_MBUF_F_TX_VLAN | TARN_MBUF_F_TX_QINQ)
#define AXDP_TPID_8021Q    0x8100u
#define AXDP_TPID_8021AD   0x88a8u

enum axdp_zc { AXDP_ZC_AUTO = 0, AXDP_ZC_ON, AXDP_ZC_OFF };

/* dev->priv: the keys (filled by ethdev from axdp_keys), then the port. */
struct axdp_port {
	char ifname[IFNAMSIZ]; /* iface=, the name at create (it may be renamed) */
	uint32_t queue;        /* first device queue */
	uint32_t queues;       /* device queues the port may use */
	enum axdp_mode mode;
	enum axdp_zc zerocopy;
	uint32_t busy_poll; /* SO_BUSY_POLL microseconds, 0: off */
	int legacy;         /* attach=legacy */
	int ifindex;
	int ctl_fd;          /* AF_PACKET socket, protocol 0: ioctls, promiscuity */
	uint32_t dev_queues; /* queues of the interface at create, 0: unknown */
	struct axdp_prog *prog;
	int attached;       /* holds an axdp_prog_attach() */
	int promisc;        /* the PACKET_MR_PROMISC membership is held */
	uint32_t mtu_known; /* the interface MTU as last read or set */
	int gone_logged;
};

/* How the objects of a pool map to UMEM addresses and to their indexes. */
struct axdp_layout {
	uint8_t *umem;        /* UMEM start: the page that holds the memzone's start */
	uint64_t umem_len;    /* through the page that holds its end */
	uintptr_t obj0;       /* object 0 (an mbuf) */
	uint64_t inv;         /* inverse of the stride's odd factor, mod 2^64 */
	uint32_t shift;       /* trailing zero bits of the stride */
	uint32_t per_chunk;   /* objects per hugepage in the page-by-page layout, 0: contiguous */
	uint32_t chunk_shift; /* log2 of that page */
	uint32_t n;           /* objects */
	uint32_t buf_off;     /* from an mbuf to its buf_addr: descriptor + private area */
};

/* One RX queue: the fast-path part first. */
struct axdp_rxq {
	struct xsk_ring_cons rx;
	struct xsk_ring_prod fq;
	struct axdp_layout lay;
	uint64_t *kbits; /* objects the kernel holds through the fill ring */
	struct tarn_mempool *mp;
	struct tarn__eth_qstats *stats;
	uint64_t rearm;   /* rearm word of a received mbuf, data_off 0 */
	uint32_t owed;    /* frames received and not yet replaced */
	uint32_t starved; /* owed frames already counted in rx_nombuf */
	uint32_t batch;   /* refill once this many are owed */
	uint32_t polls;   /* bursts since the kernel's counters were read */
	uint32_t busy_poll;
	int fill_wakeup;             /* zero-copy: the driver may need a wakeup to refill */
	int fd;                      /* the socket, -1 when stopped */
	uint64_t k_missed, k_errors; /* kernel counters at the last read */
	/* control */
	struct xsk_umem *umem;
	struct xsk_socket *xsk;
	struct xsk_ring_cons cq_spare; /* completion ring when there is no TX queue */
	struct axdp_txq *txq;          /* the TX queue sharing the socket, or NULL */
	uint32_t nb_desc, ring_size, chunk, frame_len;
	uint32_t dev_queue;
	uint16_t queue_id, port_id;
	int socket;
	int zc; /* zero-copy in use */
};

/* One TX queue. */
struct axdp_txq {
	struct xsk_ring_prod tx;
	struct xsk_ring_cons cq;
	struct axdp_layout lay;
	uint64_t *kbits;         /* objects the kernel holds for transmission */
	struct tarn_mempool *mp; /* the UMEM's pool (RX queue's) */
	struct tarn__eth_qstats *stats;
	uint32_t mtu;      /* relaxed atomic: mtu_set may change it while running */
	uint32_t chunk;    /* longest frame the UMEM takes */
	uint32_t inflight; /* frames transmitted, completion not seen yet */
	uint32_t polls;
	int fd;   /* the socket, -1 when stopped */
	int down; /* the last kick found the interface down or gone */
	uint64_t k_errors;
	/* control */
	uint32_t nb_desc, ring_size;
	uint16_t queue_id, port_id;
	int socket;
};

static const struct tarn__key_word axdp_modes[] = {
	{ "auto", AXDP_MODE_AUTO, "native when the driver has XDP, else generic", 0 },
	{ "native", AXDP_MODE_NATIVE, "the driver's XDP", 0 },
	{ "generic", AXDP_MODE_GENERIC, "skb-based XDP, any interface", 0 },
	{ NULL, 0, NULL, 0 },
};

static const struct tarn__key_word axdp_zerocopy[] = {
	{ "auto", AXDP_ZC_AUTO, "zero copy when the driver can", 0 },
	{ "on", AXDP_ZC_ON, "zero copy or fail", 0 },
	{ "1", AXDP_ZC_ON, NULL, 1 },
	{ "off", AXDP_ZC_OFF, "copy mode", 0 },
	{ "0", AXDP_ZC_OFF, NULL, 1 },
	{ NULL, 0, NULL, 0 },
};

static const struct tarn__key_word axdp_attach[] = {
	{ "link", 0, "a bpf_link: the kernel detaches the program when the process ends", 0 },
	{ "legacy", 1, "netlink", 0 },
	{ NULL, 0, NULL, 0 },
};

static const struct tarn__key axdp_keys[] = {
	{ .name = "iface",
	  .type = TARN__KEY_CUSTOM,
	  TARN__KEY_AT(struct axdp_port, ifname),
	  .parse = tarn__eth_key_ifname,
	  .metavar = "NAME",
	  .values = TARN__ETH_IFNAME_VALUES,
	  .help = "the network interface to attach to",
	  .doc = "In the network namespace of the thread that creates the port",
	  .flags = TARN__KEY_REQUIRED },
	{ .name = "queue",
	  .type = TARN__KEY_UINT,
	  TARN__KEY_AT(struct axdp_port, queue),
	  .max = 65535,
	  .metavar = "Q",
	  .help = "the first device queue",
	  .doc = "Port queue i is device queue Q + i" },
	{ .name = "queues",
	  .type = TARN__KEY_UINT,
	  TARN__KEY_AT(struct axdp_port, queues),
	  .min = 1,
	  .max = TARN_ETH_MAX_QUEUES,
	  .def = 1,
	  .help = "device queues the port may use, its queue pairs",
	  .doc = "Device queues Q .. Q+N-1, all within the interface's queues, claimed at "
	         "create: a queue setup beyond them is refused, another port cannot take them",
	  .flags = TARN__ETH_KEY_QUEUES },
	{ .name = "mode",
	  .type = TARN__KEY_ENUM,
	  TARN__KEY_AT(struct axdp_port, mode),
	  .def = AXDP_MODE_AUTO,
	  .words = axdp_modes,
	  .help = "how the XDP program is attached",
	  .doc = "native: XDP_FLAGS_DRV_MODE (veth has it); generic: XDP_FLAGS_SKB_MODE" },
	{ .name = "zerocopy",
	  .type = TARN__KEY_ENUM,
	  TARN__KEY_AT(struct axdp_port, zerocopy),
	  .def = AXDP_ZC_AUTO,
	  .words = axdp_zerocopy,
	  .help = "zero copy, the driver writing into the pool's mbufs, or copy mode",
	  .doc = "on: bind with XDP_ZEROCOPY, the NIC DMAs into the pool (start fails where the "
	         "driver or the memory cannot); off: XDP_COPY; auto: the kernel chooses, zero "
	         "copy where the driver has it and the pool is in physically contiguous "
	         "hugepages. 1 and 0 are taken for on and off" },
	{ .name = "busy_poll",
	  .type = TARN__KEY_UINT,
	  TARN__KEY_AT(struct axdp_port, busy_poll),
	  .max = 1000000,
	  .metavar = "USECS",
	  .help = "SO_BUSY_POLL microseconds with SO_PREFER_BUSY_POLL; 0: off",
	  .doc = "With a budget of 64 on each socket: an empty RX burst drives the device's NAPI "
	         "from the polling thread. Above net.core.busy_read it needs CAP_NET_ADMIN" },
	{ .name = "attach",
	  .type = TARN__KEY_ENUM,
	  TARN__KEY_AT(struct axdp_port, legacy),
	  .def = 0,
	  .words = axdp_attach,
	  .help = "how the program is attached",
	  .doc = "legacy (ip link set dev X xdp) is for kernels without XDP links: the program "
	         "stays after a crash, and the next create on the interface removes it" },
	{ .name = NULL },
};

/* ------------------------------------------------------------------------ */
/* Layout: mbuf <-> UMEM address <-> object index (fast path) */

static inline uint32_t lay_idx(const struct axdp_layout *l, const void *obj)
{
	uint64_t o = (uint64_t)((uintptr_t)obj - l->obj0), base = 0;

	if (l->per_chunk != 0) {
		base = (o >> l->chunk_shift) * l->per_chunk;
		o &= ((uint64_t)1 << l->chunk_shift) - 1;
	}
	/* o is an exact multiple of the stride 2^shift * odd: the product by
	 * the odd factor's inverse is the quotient (anything else gives a
	 * number the callers' range check refuses, or a bit not set). */
	return (uint32_t)(base + (o >> l->shift) * l->inv);
}

static inline uint64_t lay_addr(const struct axdp_layout *l, const void *m)
{
	return (uint64_t)((const uint8_t *)m + l->buf_off - l->umem);
}

static inline struct tarn_mbuf *lay_mbuf(const struct axdp_layout *l, uint64_t addr)
{
	return (struct tarn_mbuf *)(void *)(l->umem + xsk_umem__extract_addr(addr) - l->buf_off);
}

static inline void bit_set(uint64_t *b, uint32_t i)
{
	b[i >> 6] |= (uint64_t)1 << (i & 63);
}

/* Clear bit i; non-zero if it was set. */
static inline int bit_take(uint64_t *b, uint32_t i)
{
	const uint64_t m = (uint64_t)1 << (i & 63);
	const uint64_t w = b[i >> 6];

	b[i >> 6] = w & ~m;
	return (w & m) != 0;
}

/* ------------------------------------------------------------------------ */
/* RX (fast path) */

/* The kernel's counters of socket `fd` (XDP_STATISTICS). 0, or -1 (no
 * socket, or the kernel refused). */
static int xsk_stats(int fd, struct xdp_statistics *st)
{
	socklen_t len = sizeof(*st);

	memset(st, 0, sizeof(*st));
	return fd >= 0 && getsockopt(fd, SOL_XDP, XDP_STATISTICS, st, &len) == 0 ? 0 : -1;
}

static void rx_sync_kernel(struct axdp_rxq *q)
{
	struct xdp_statistics st;

	q->polls = 0;
	if (xsk_stats(q->fd, &st) != 0)
		return;
	/* rx_dropped: no frame in the fill ring (or too long); rx_ring_full: no
	 * room in the RX ring. Both are packets the queue missed. */
	const uint64_t missed = st.rx_dropped + st.rx_ring_full;
	const uint64_t errs = st.rx_invalid_descs;
	if (missed > q->k_missed)
		tarn__eth_count(&q->stats->missed, missed - q->k_missed);
	if (errs > q->k_errors)
		tarn__eth_count(&q->stats->errors, errs - q->k_errors);
	q->k_missed = missed;
	q->k_errors = errs;
}

/*
 * Post the owed frames to the fill ring, in bulk from the pool. The fill
 * ring has room: the kernel holds nb_desc - owed frames and the ring holds
 * at least nb_desc entries.
 */
static void rx_refill(struct axdp_rxq *q)
{
	void *objs[AXDP_BULK];
	uint32_t want = q->owed;
	int failed = 0;

	while (want > 0 && !failed) {
		uint32_t k = want < AXDP_BULK ? want : AXDP_BULK, idx;

		if (tarn_unlikely(tarn_mempool_get_bulk(q->mp, objs, k) != 0)) {
			/* Not k left: take what there is. */
			uint32_t j = 0;
			while (j < k && tarn_mempool_get(q->mp, &objs[j]) == 0)
				j++;
			failed = 1;
			k = j;
			if (k == 0)
				break;
		}
		if (tarn_unlikely(xsk_ring_prod__reserve(&q->fq, k, &idx) != k)) {
			tarn_mempool_put_bulk(q->mp, objs, k); /* cannot happen (see above) */
			break;
		}
		for (uint32_t i = 0; i < k; i++) {
			*xsk_ring_prod__fill_addr(&q->fq, idx + i) = lay_addr(&q->lay, objs[i]);
			bit_set(q->kbits, lay_idx(&q->lay, objs[i]));
		}
		/* release: the addresses are written before the kernel sees them */
		xsk_ring_prod__submit(&q->fq, k);
		want -= k;
	}
	q->owed = want;
	if (want < q->starved)
		q->starved = want;
	if (failed && want > q->starved) {
		tarn__eth_count(&q->stats->nombuf, want - q->starved);
		q->starved = want;
	}
	if (q->fill_wakeup && xsk_ring_prod__needs_wakeup(&q->fq))
		(void)recvfrom(q->fd, NULL, 0, MSG_DONTWAIT, NULL, NULL);
}

static uint16_t axdp_rx_burst(void *qd, struct tarn_mbuf **pkts, uint16_t n)
{
	struct axdp_rxq *q = qd;
	uint32_t idx = 0, k = 0, bad = 0;
	uint64_t bytes = 0;
	const uint32_t got = xsk_ring_cons__peek(&q->rx, n, &idx);

	for (uint32_t i = 0; i < got; i++) {
		const struct xdp_desc *d = xsk_ring_cons__rx_desc(&q->rx, idx + i);
		const uint64_t off = xsk_umem__extract_offset(d->addr);
		struct tarn_mbuf *m = lay_mbuf(&q->lay, d->addr);
		const uint32_t oi = lay_idx(&q->lay, m);

		if (tarn_unlikely(oi >= q->lay.n || !bit_take(q->kbits, oi))) {
			bad++; /* not a frame of ours: leave it alone */
			continue;
		}
		if (tarn_unlikely(off + d->len > q->chunk)) {
			bad++;
			q->owed++; /* ours again: back to the pool, replaced below */
			tarn_mempool_put(q->mp, m);
			continue;
		}
		/* refcnt 1 and nb_segs 1 (as every free mbuf), the port, data_off */
		m->rearm_data = q->rearm | off;
		m->ol_flags = 0;
		m->packet_type = 0;
		m->pkt_len = d->len;
		m->data_len = (uint16_t)d->len;
		m->vlan_tci = 0;
		m->vlan_tci_outer = 0;
		m->next = NULL;
		pkts[k++] = m;
		bytes += d->len;
	}
	if (got != 0) {
		/* release: done reading the descriptors */
		xsk_ring_cons__release(&q->rx, got);
		q->owed += got - bad;
	}
	if (q->owed >= q->batch || (got == 0 && q->owed != 0))
		rx_refill(q);
	if (got == 0 && q->busy_poll != 0)
		(void)recvfrom(q->fd, NULL, 0, MSG_DONTWAIT, NULL, NULL);
	if (tarn_unlikely(++q->polls >= AXDP_STATS_POLLS))
		rx_sync_kernel(q);
	if (k != 0) {
		tarn__eth_count(&q->stats->packets, k);
		tarn__eth_count(&q->stats->bytes, bytes);
	}
	if (tarn_unlikely(bad != 0))
		tarn__eth_count(&q->stats->errors, bad);
	return (uint16_t)k;
}

/* ------------------------------------------------------------------------ */
/* TX (fast path) */

static void tx_sync_kernel(struct axdp_txq *q)
{
	struct xdp_statistics st;

	q->polls = 0;
	if (xsk_stats(q->fd, &st) != 0)
		return;
	if (st.tx_invalid_descs > q->k_errors)
		tarn__eth_count(&q->stats->errors, st.tx_invalid_descs - q->k_errors);
	q->k_errors = st.tx_invalid_descs;
}

/* Take back the frames whose transmission completed, in bulk to the pool. */
static void tx_reclaim(struct axdp_txq *q)
{
	void *objs[AXDP_BULK];
	uint32_t idx = 0, nobj = 0;
	const uint32_t got = xsk_ring_cons__peek(&q->cq, q->ring_size, &idx);

	for (uint32_t i = 0; i < got; i++) {
		struct tarn_mbuf *m = lay_mbuf(&q->lay, *xsk_ring_cons__comp_addr(&q->cq, idx + i));
		const uint32_t oi = lay_idx(&q->lay, m);

		if (tarn_unlikely(oi >= q->lay.n || !bit_take(q->kbits, oi)))
			continue; /* not ours */
		objs[nobj++] = m;
		if (nobj == AXDP_BULK) {
			tarn_mempool_put_bulk(q->mp, objs, nobj);
			nobj = 0;
		}
		q->inflight--;
	}
	if (got != 0)
		xsk_ring_cons__release(&q->cq, got);
	if (nobj != 0)
		tarn_mempool_put_bulk(q->mp, objs, nobj);
}

/*
 * Drive the kernel: copy mode transmits in sendto(). 0, or -errno when the
 * interface is down or gone (q->down set).
 */
static int tx_kick(struct axdp_txq *q)
{
	if (!xsk_ring_prod__needs_wakeup(&q->tx))
		return 0;
	for (unsigned tries = 0; tries < 8; tries++) {
		if (sendto(q->fd, NULL, 0, MSG_DONTWAIT, NULL, 0) >= 0) {
			q->down = 0;
			return 0;
		}
		switch (errno) {
		case EAGAIN: /* more than one call's budget, or the completion ring full */
			tx_reclaim(q);
			continue;
		case EBUSY: /* the device dropped one (completed anyway) */
		case EINTR:
			continue;
		case ENETDOWN:
		case ENXIO:
		case ENODEV:
			q->down = 1;
			return -ENETDOWN;
		default:
			return 0;
		}
	}
	return 0;
}

/* Copy `len` bytes of packet `m` from offset `off` to `dst` (the mbuf
 * library's reader copies when they span segments). Returns 0, or -1 when
 * the chain holds fewer bytes than its pkt_len says. */
static int copy_range(const struct tarn_mbuf *m, uint32_t off, uint32_t len, uint8_t *dst)
{
	const void *src = tarn_pktmbuf_read(m, off, len, dst);

	if (src == NULL)
		return -1;
	if (src != dst)
		memcpy(dst, src, len);
	return 0;
}

static inline void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/*
 * A packet the zero-copy test refused: check it, copy it into a frame of
 * the UMEM's pool (inserting the tags its flags ask for) and describe that
 * frame in `d`. Returns 1 (described; `m` freed), 0 (a packet the interface
 * cannot carry: freed, an error), -1 (no frame to copy into: `m` stays with
 * the caller).
 */
static int tx_slow(struct axdp_txq *q, struct tarn_mbuf *m, struct xdp_desc *d, uint32_t mtu,
                   uint64_t *bytes)
{
	const unsigned ntags = (m->ol_flags & TARN_MBUF_F_TX_QINQ)   ? 2
	                       : (m->ol_flags & TARN_MBUF_F_TX_VLAN) ? 1
	                                                             : 0;
	const uint32_t plen = m->pkt_len;
	const uint32_t len = plen + ntags * AXDP_VLAN_HLEN;
	uint8_t tb[2];
	int tagged = ntags != 0;

	if (plen < AXDP_ETH_HLEN || len > q->chunk)
		goto bad;
	if (!tagged) {
		const uint8_t *t = tarn_pktmbuf_read(m, 12, 2, tb);
		const uint16_t type = t != NULL ? (uint16_t)(t[0] << 8 | t[1]) : 0;
		tagged = type == AXDP_TPID_8021Q || type == AXDP_TPID_8021AD;
	}
	if (len > mtu + AXDP_ETH_HLEN + (tagged ? AXDP_VLAN_HLEN : 0))
		goto bad;

	void *obj;
	if (tarn_mempool_get(q->mp, &obj) != 0)
		return -1;
	uint8_t *dst = (uint8_t *)obj + q->lay.buf_off;
	int rc;
	if (ntags == 0) {
		rc = copy_range(m, 0, plen, dst);
	} else {
		uint8_t *p = dst + 12;
		rc = copy_range(m, 0, 12, dst);
		if (ntags == 2) {
			put_be16(p, AXDP_TPID_8021AD);
			put_be16(p + 2, m->vlan_tci_outer);
			p += 4;
		}
		put_be16(p, AXDP_TPID_8021Q);
		put_be16(p + 2, m->vlan_tci);
		rc |= copy_range(m, 12, plen - 12, p + 4);
	}
	if (tarn_unlikely(rc != 0)) {
		tarn_mempool_put(q->mp, obj);
		goto bad;
	}
	d->addr = lay_addr(&q->lay, obj);
	d->len = len;
	d->options = 0;
	bit_set(q->kbits, lay_idx(&q->lay, obj));
	*bytes += len;
	tarn_pktmbuf_free(m);
	return 1;
bad:
	tarn_pktmbuf_free(m);
	return 0;
}

static uint16_t axdp_tx_burst(void *qd, struct tarn_mbuf **pkts, uint16_t n)
{
	struct axdp_txq *q = qd;
	uint32_t idx = 0, i, j = 0, errors = 0;
	uint64_t bytes = 0;

	if (q->inflight != 0)
		tx_reclaim(q);
	if (tarn_unlikely(q->down) && tx_kick(q) < 0) {
		tarn__eth_count(&q->stats->errors, n);
		return 0;
	}
	uint32_t k = xsk_prod_nb_free(&q->tx, n);
	if (k > n)
		k = n;
	if (tarn_unlikely(k == 0 || xsk_ring_prod__reserve(&q->tx, k, &idx) != k)) {
		tx_kick(q);
		tarn__eth_count(&q->stats->errors, n);
		return 0;
	}
	/* relaxed: mtu_set may store it while the port runs */
	const uint32_t mtu = __atomic_load_n(&q->mtu, __ATOMIC_RELAXED);
	const uint32_t lim = mtu + AXDP_ETH_HLEN < q->chunk ? mtu + AXDP_ETH_HLEN : q->chunk;
	const uint32_t span = lim - AXDP_ETH_HLEN;

	for (i = 0; i < k; i++) {
		struct tarn_mbuf *m = pkts[i];
		struct xdp_desc *d = xsk_ring_prod__tx_desc(&q->tx, idx + j);

		if (tarn_likely(m->pool == q->mp && m->next == NULL && m->mbuf_flags == 0 &&
		                m->nb_segs == 1 && (m->ol_flags & AXDP_TX_SLOW_FLAGS) == 0 &&
		                (uint32_t)(m->data_len - AXDP_ETH_HLEN) <= span &&
		                tarn_mbuf_refcnt_read(m) == 1)) {
			/* zero copy: the frame is the mbuf's data room */
			d->addr = lay_addr(&q->lay, m) |
			          ((uint64_t)m->data_off << XSK_UNALIGNED_BUF_OFFSET_SHIFT);
			d->len = m->data_len;
			d->options = 0;
			bit_set(q->kbits, lay_idx(&q->lay, m));
			bytes += m->data_len;
			j++;
			continue;
		}
		const int r = tx_slow(q, m, d, mtu, &bytes);
		if (r > 0)
			j++;
		else if (r == 0)
			errors++;
		else
			break; /* no frame to copy into: the rest stay with the caller */
	}
	/* Give back the reserved slots not written (only this thread produces). */
	q->tx.cached_prod -= k - j;
	if (j != 0) {
		/* release: the descriptors are written before the kernel sees them */
		xsk_ring_prod__submit(&q->tx, j);
		q->inflight += j;
		tx_kick(q);
		tarn__eth_count(&q->stats->packets, j);
		tarn__eth_count(&q->stats->bytes, bytes);
	}
	if (tarn_unlikely(errors + (n - i) != 0))
		tarn__eth_count(&q->stats->errors, errors + (n - i));
	if (tarn_unlikely(++q->polls >= AXDP_STATS_POLLS))
		tx_sync_kernel(q);
	return (uint16_t)i;
}

/* ------------------------------------------------------------------------ */
/* Interface helpers (control path) */

/* The port's interface for the helpers of linux_if.h (no fault points). */
#define AXDP_LIF(p) (&(const struct tarn__lif){ (p)->ctl_fd, (p)->ifindex, (p)->ifname, NULL })

static void log_gone(struct tarn__eth_dev *dev, struct axdp_port *p)
{
	tarn__lif_log_gone(dev, AXDP_LIF(p), &p->gone_logged);
}

/* Queues of the interface (the larger of RX and TX, as the kernel counts
 * them for AF_XDP): ETHTOOL_GCHANNELS, else sysfs. 0 when unknown. */
static uint32_t if_queues(const struct axdp_port *p)
{
	struct ethtool_channels ch;

	memset(&ch, 0, sizeof(ch));
	ch.cmd = ETHTOOL_GCHANNELS;
	if (tarn__lif_ethtool(AXDP_LIF(p), &ch) == 0) {
		const uint32_t rx = ch.rx_count + ch.combined_count;
		const uint32_t tx = ch.tx_count + ch.combined_count;
		const uint32_t m = rx > tx ? rx : tx;
		if (m != 0)
			return m;
	}
	/* No ethtool channels: count /sys/class/net/IF/queues/rx-N (right when
	 * sysfs was mounted in this network namespace). */
	uint32_t nq = 0;
	char path[128];
	for (;;) {
		snprintf(path, sizeof(path), "/sys/class/net/%s/queues/rx-%u", p->ifname, nq);
		if (access(path, F_OK) != 0)
			break;
		nq++;
	}
	return nq;
}

/* "queue Q" or "queues Q..R" */
static const char *queues_str(char *buf, size_t size, uint32_t first, uint32_t n)
{
	if (n == 1)
		snprintf(buf, size, "queue %u", first);
	else
		snprintf(buf, size, "queues %u..%u", first, first + n - 1);
	return buf;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sleep_us(unsigned us)
{
	struct timespec ts = { 0, (long)us * 1000 };
	nanosleep(&ts, NULL);
}

/* ------------------------------------------------------------------------ */
/* Layout of a pool (control path) */

static int is_pow2(uint64_t v)
{
	return v != 0 && (v & (v - 1)) == 0;
}

static uint32_t ring_size_for(uint32_t n)
{
	uint32_t s = 1;
	while (s < n)
		s <<= 1;
	return s;
}

/*
 * Work out how the objects of `mp` lie in its memzone (contiguous, or page
 * by page) and check the arithmetic against tarn_mempool_obj_at().
 * *zc_ok: whether every frame lies in physically contiguous memory, as
 * zero-copy drivers need.
 */
static int layout_init(struct axdp_layout *l, struct tarn_mempool *mp, const char *port, int *zc_ok)
{
	const struct tarn_memzone *mz = tarn_mempool_memzone(mp);
	const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	const uint32_t n = tarn_mempool_size(mp);
	const uint32_t stride = tarn_mempool_obj_stride(mp);
	const int priv = tarn_pktmbuf_priv_size(mp);

	memset(l, 0, sizeof(*l));
	if (mz == NULL || n == 0 || stride == 0 || priv < 0) {
		TARN__ERR(AXDP_LOG, "port '%s': pool '%s' is not an mbuf pool in tarn memory", port,
		          tarn_mempool_name(mp));
		return -EINVAL;
	}
	const uintptr_t start = (uintptr_t)mz->addr & ~(page - 1);
	const uintptr_t end = ((uintptr_t)mz->addr + mz->len + page - 1) & ~(page - 1);
	l->umem = (uint8_t *)start;
	l->umem_len = end - start;
	l->n = n;
	l->obj0 = (uintptr_t)tarn_mempool_obj_at(mp, 0);
	l->buf_off = (uint32_t)(sizeof(struct tarn_mbuf) + (unsigned)priv);
	l->shift = (uint32_t)__builtin_ctz(stride);
	const uint64_t odd = stride >> l->shift;
	uint64_t inv = odd; /* Newton: each step doubles the correct low bits */
	for (int i = 0; i < 6; i++)
		inv *= 2 - odd * inv;
	l->inv = inv;

	const uintptr_t last = (uintptr_t)tarn_mempool_obj_at(mp, n - 1);
	if (last != l->obj0 + (uintptr_t)(n - 1) * stride) {
		uint32_t per = 1;
		while (per < n &&
		       (uintptr_t)tarn_mempool_obj_at(mp, per) == l->obj0 + (uintptr_t)per * stride)
			per++;
		const uintptr_t chunk = (uintptr_t)tarn_mempool_obj_at(mp, per) - l->obj0;
		if (!is_pow2(chunk)) {
			TARN__ERR(AXDP_LOG, "port '%s': pool '%s': unexpected object layout", port,
			          tarn_mempool_name(mp));
			return -EINVAL;
		}
		l->per_chunk = per;
		l->chunk_shift = (uint32_t)__builtin_ctzll(chunk);
	}
	/* Check the mapping on the objects around every boundary it has. */
	const uint32_t probe[] = { 0,
		                   1,
		                   n / 2,
		                   n - 1,
		                   l->per_chunk ? l->per_chunk - 1 : 0,
		                   l->per_chunk ? l->per_chunk : 0 };
	for (unsigned i = 0; i < sizeof(probe) / sizeof(probe[0]); i++) {
		const uint32_t k = probe[i] < n ? probe[i] : n - 1;
		const void *o = tarn_mempool_obj_at(mp, k);
		if (lay_idx(l, o) != k || (uintptr_t)o + l->buf_off >= end) {
			TARN__ERR(AXDP_LOG, "port '%s': pool '%s': object %u does not map back",
			          port, tarn_mempool_name(mp), k);
			return -EINVAL;
		}
	}

	/* Zero copy: the driver DMAs into the frames; a frame must not cross a
	 * boundary between pages that are not physically adjacent. */
	*zc_ok = 0;
	if (mz->page_size > page && tarn_mem_iova_is_pa()) {
		const uint64_t pg = mz->page_size;
		const int room = tarn_pktmbuf_data_room_size(mp);
		int ok = 1;
		for (uint32_t i = 0; i < n && ok; i++) {
			const uintptr_t a = (uintptr_t)tarn_mempool_obj_at(mp, i) + l->buf_off;
			const uintptr_t z = a + (uintptr_t)room - 1;
			if (a / pg == z / pg)
				continue;
			const tarn_iova_t ia = tarn_mem_virt2iova((void *)a);
			const tarn_iova_t iz = tarn_mem_virt2iova((void *)z);
			ok = ia != TARN_BAD_IOVA && iz != TARN_BAD_IOVA && iz - ia == z - a;
		}
		*zc_ok = ok;
	}
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Sockets (control path) */

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
			                     .sxdp_ifindex = (uint32_t)p->ifindex,
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

/* Put back every object whose bit is set in `bits` (and clear them). */
static unsigned reclaim(struct tarn_mempool *mp, const struct axdp_layout *l, uint64_t *bits)
{
	void *objs[AXDP_BULK];
	unsigned nobj = 0, total = 0;

	if (bits == NULL)
		return 0;
	for (uint32_t w = 0; w < (l->n + 63) / 64; w++) {
		while (bits[w] != 0) {
			const uint32_t b = (uint32_t)__builtin_ctzll(bits[w]);
			bits[w] &= bits[w] - 1;
			objs[nobj++] = tarn_mempool_obj_at(mp, w * 64 + b);
			total++;
			if (nobj == AXDP_BULK) {
				tarn_mempool_put_bulk(mp, objs, nobj);
				nobj = 0;
			}
		}
	}
	if (nobj != 0)
		tarn_mempool_put_bulk(mp, objs, nobj);
	return total;
}

static void queue_close(struct tarn__eth_dev *dev, struct axdp_port *p, struct axdp_rxq *rxq)
{
	struct axdp_txq *txq = rxq->txq;

	if (rxq->fd < 0)
		return;
	if (txq != NULL && txq->fd >= 0) {
		/* Let what is in flight complete, so its frames come back in order. */
		const uint64_t t0 = now_ms();
		tx_reclaim(txq);
		while (txq->inflight != 0 && !txq->down && now_ms() - t0 < AXDP_DRAIN_MS) {
			tx_kick(txq);
			sleep_us(100);
			tx_reclaim(txq);
		}
		tx_sync_kernel(txq);
	}
	rx_sync_kernel(rxq);
	axdp_prog_map_clear(p->prog, rxq->dev_queue);
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
		          dev->name, rxq->dev_queue, p->ifname, AXDP_ZC_RELEASE_MS,
		          tarn_mempool_name(rxq->mp));
	}
	if (!keep) {
		unsigned r = reclaim(rxq->mp, &rxq->lay, rxq->kbits);
		if (txq != NULL)
			r += reclaim(txq->mp, &txq->lay, txq->kbits);
		TARN__DEBUG(AXDP_LOG, "port '%s': queue %u: %u frames back from the kernel",
		            dev->name, rxq->dev_queue, r);
		tarn_free(rxq->kbits);
		if (txq != NULL)
			tarn_free(txq->kbits);
	}
	rxq->kbits = NULL;
	rxq->owed = rxq->starved = 0;
	memset(&rxq->rx, 0, sizeof(rxq->rx));
	memset(&rxq->fq, 0, sizeof(rxq->fq));
	if (txq != NULL) {
		txq->kbits = NULL;
		txq->inflight = 0;
		txq->down = 0;
		memset(&txq->tx, 0, sizeof(txq->tx));
		memset(&txq->cq, 0, sizeof(txq->cq));
	}
	rxq->txq = NULL;
}

static int umem_error(const struct tarn__eth_dev *dev, const struct axdp_rxq *q, int rc)
{
	if (rc == -ENOMEM || rc == -EPERM)
		TARN__ERR(AXDP_LOG,
		          "port '%s': queue %u: cannot register pool '%s' (%llu KiB) as UMEM: %s: "
		          "the kernel pins the pool's pages; raise RLIMIT_MEMLOCK (ulimit -l) or "
		          "run with CAP_IPC_LOCK (root)",
		          dev->name, (unsigned)q->queue_id, tarn_mempool_name(q->mp),
		          (unsigned long long)(q->lay.umem_len >> 10), strerror(-rc));
	else
		TARN__ERR(AXDP_LOG, "port '%s': queue %u: cannot register pool '%s' as UMEM: %s",
		          dev->name, (unsigned)q->queue_id, tarn_mempool_name(q->mp),
		          strerror(-rc));
	return rc;
}

static int queue_open(struct tarn__eth_dev *dev, struct axdp_port *p, struct axdp_rxq *rxq,
                      struct axdp_txq *txq)
{
	int zc_ok = 0, rc;
	char name[IFNAMSIZ];

	rc = layout_init(&rxq->lay, rxq->mp, dev->name, &zc_ok);
	if (rc < 0)
		return rc;
	const size_t words = (rxq->lay.n + 63u) / 64u;
	rxq->kbits = tarn_malloc_socket(words * sizeof(uint64_t), 0, rxq->socket);
	if (txq != NULL)
		txq->kbits = tarn_malloc_socket(words * sizeof(uint64_t), 0, txq->socket);
	if (rxq->kbits == NULL || (txq != NULL && txq->kbits == NULL)) {
		TARN__ERR(AXDP_LOG, "port '%s': queue %u: out of memory", dev->name,
		          (unsigned)rxq->queue_id);
		rc = -ENOMEM;
		goto fail;
	}
	if (p->zerocopy == AXDP_ZC_ON && !zc_ok) {
		TARN__ERR(
		    AXDP_LOG,
		    "port '%s': zerocopy=on: pool '%s' is not in physically contiguous "
		    "hugepages (tarn with hugepages, as root), so a driver cannot DMA into its "
		    "frames; use zerocopy=auto or off",
		    dev->name, tarn_mempool_name(rxq->mp));
		rc = -EINVAL;
		goto fail;
	}

	struct xsk_umem_config ucfg = {
		.fill_size = rxq->ring_size,
		.comp_size = txq != NULL ? txq->ring_size : 32,
		.frame_size = rxq->chunk,
		.frame_headroom = 0,
		.flags = XDP_UMEM_UNALIGNED_CHUNK_FLAG,
	};
	uint16_t bind = XDP_USE_NEED_WAKEUP;
	if (p->zerocopy == AXDP_ZC_ON)
		bind |= XDP_ZEROCOPY;
	else if (p->zerocopy == AXDP_ZC_OFF || !zc_ok)
		bind |= XDP_COPY; /* auto: the kernel tries zero copy, else copies */
	struct xsk_socket_config scfg = {
		.rx_size = rxq->ring_size,
		.tx_size = txq != NULL ? txq->ring_size : 0,
		.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD,
		.xdp_flags = 0,
		.bind_flags = bind,
	};
	rc = tarn__lif_name_now(AXDP_LIF(p), name);
	if (rc < 0) {
		log_gone(dev, p);
		rc = -ENODEV;
		goto fail;
	}
	const uint64_t t0 = now_ms();
	unsigned tries = 0;
	for (;;) {
		rc = xsk_umem__create(&rxq->umem, rxq->lay.umem, rxq->lay.umem_len, &rxq->fq,
		                      txq != NULL ? &txq->cq : &rxq->cq_spare, &ucfg);
		if (rc < 0) {
			rxq->umem = NULL;
			umem_error(dev, rxq, rc);
			goto fail;
		}
		rc = xsk_socket__create(&rxq->xsk, name, rxq->dev_queue, rxq->umem, &rxq->rx,
		                        txq != NULL ? &txq->tx : NULL, &scfg);
		if (rc == 0)
			break;
		rxq->xsk = NULL;
		(void)xsk_umem__delete(rxq->umem);
		rxq->umem = NULL;
		/* The socket of the last start may still hold the queue: the
		 * kernel releases it from a work item. */
		if (rc != -EBUSY || now_ms() - t0 > AXDP_BIND_WAIT_MS)
			break;
		tries++;
		sleep_us(2000);
	}
	if (rc < 0) {
		if (rc == -EBUSY)
			TARN__ERR(AXDP_LOG,
			          "port '%s': queue %u of %s is taken by another AF_XDP socket "
			          "(another program?)",
			          dev->name, rxq->dev_queue, name);
		else if (p->zerocopy == AXDP_ZC_ON && (rc == -EOPNOTSUPP || rc == -EINVAL))
			TARN__ERR(
			    AXDP_LOG,
			    "port '%s': zerocopy=on: the driver of %s has no zero-copy AF_XDP "
			    "support (%s; veth has none): use zerocopy=auto or off",
			    dev->name, name, strerror(-rc));
		else
			TARN__ERR(AXDP_LOG,
			          "port '%s': cannot bind an AF_XDP socket to %s queue %u: %s",
			          dev->name, name, rxq->dev_queue, strerror(-rc));
		goto fail;
	}
	if (tries != 0)
		TARN__DEBUG(AXDP_LOG,
		            "port '%s': queue %u was still held by the last socket (%u "
		            "retries)",
		            dev->name, rxq->dev_queue, tries);
	rxq->fd = xsk_socket__fd(rxq->xsk);
	rxq->k_missed = rxq->k_errors = 0;
	rxq->polls = 0;
	rxq->owed = rxq->starved = 0;
	rxq->busy_poll = 0;
	rxq->txq = txq;
	if (txq != NULL) {
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
			rc = -errno;
			TARN__ERR(AXDP_LOG, "port '%s': busy_poll=%u: %s%s", dev->name,
			          p->busy_poll, strerror(-rc),
			          rc == -EPERM ? " (SO_BUSY_POLL above net.core.busy_read needs "
			                         "CAP_NET_ADMIN)"
			                       : "");
			goto fail;
		}
		rxq->busy_poll = p->busy_poll;
	}
	if (txq != NULL) {
		/* One sendto() may transmit a whole ring (kernel 6.17; older
		 * kernels transmit 32 a call and refuse the option). */
		unsigned budget = txq->ring_size;
		if (budget >= 32)
			(void)setsockopt(rxq->fd, SOL_XDP, XDP_MAX_TX_SKB_BUDGET, &budget,
			                 sizeof(budget));
	}

	/* Post nb_desc frames. */
	rxq->owed = rxq->nb_desc;
	rx_refill(rxq);
	rc = axdp_prog_map_set(p->prog, dev->name, rxq->dev_queue, rxq->fd);
	if (rc < 0)
		goto fail;
	return 0;
fail:
	if (rxq->fd >= 0) {
		queue_close(dev, p, rxq); /* frees the bitmaps after reclaiming */
		return rc;
	}
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
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Control path: keys, create, close */

static int axdp_create(struct tarn__eth_dev *dev, const struct tarn__eth_spec *spec)
{
	struct axdp_port *p = dev->priv;
	int rc;

	p->ctl_fd = -1;

	/* AF_XDP at all, and the right to use it. */
	int xfd = socket(AF_XDP, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (xfd < 0) {
		rc = -errno;
		if (rc == -EAFNOSUPPORT || rc == -EPROTONOSUPPORT || rc == -ENOSYS) {
			TARN__ERR(
			    AXDP_LOG,
			    "port spec '%s': this kernel has no AF_XDP sockets (%s): it needs "
			    "CONFIG_XDP_SOCKETS (Linux 4.18 or later)",
			    dev->spec, strerror(-rc));
			return -EAFNOSUPPORT;
		}
		if (rc == -EPERM || rc == -EACCES) {
			TARN__ERR(
			    AXDP_LOG,
			    "port spec '%s': cannot open an AF_XDP socket: %s: af_xdp ports need "
			    "CAP_NET_RAW, CAP_NET_ADMIN and CAP_BPF (or CAP_SYS_ADMIN): run as "
			    "root",
			    dev->spec, strerror(-rc));
			return -EPERM;
		}
		TARN__ERR(AXDP_LOG, "port spec '%s': cannot open an AF_XDP socket: %s", dev->spec,
		          strerror(-rc));
		return rc;
	}
	close(xfd);
	p->ctl_fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (p->ctl_fd < 0) {
		rc = -errno;
		TARN__ERR(AXDP_LOG, "port spec '%s': cannot open a control socket: %s%s", dev->spec,
		          strerror(-rc), rc == -EPERM ? " (needs CAP_NET_RAW: run as root)" : "");
		return rc == -EACCES ? -EPERM : rc;
	}

	rc = tarn__lif_index(p->ctl_fd, NULL, dev->spec, p->ifname, &p->ifindex);
	if (rc < 0)
		goto fail;

	struct tarn_ether_addr if_mac;
	rc = tarn__lif_hwaddr(AXDP_LIF(p), dev->spec, &if_mac);
	if (rc < 0)
		goto fail;

	p->dev_queues = if_queues(p);
	if (p->dev_queues != 0 && p->queue + p->queues > p->dev_queues) {
		if (p->queues == 1)
			TARN__ERR(
			    AXDP_LOG,
			    "port spec '%s': queue %u is out of range: %s has %u queue%s (0..%u)",
			    dev->spec, p->queue, p->ifname, p->dev_queues,
			    p->dev_queues == 1 ? "" : "s", p->dev_queues - 1);
		else
			TARN__ERR(
			    AXDP_LOG,
			    "port spec '%s': queues %u..%u are out of range: %s has %u queue%s "
			    "(0..%u)",
			    dev->spec, p->queue, p->queue + p->queues - 1, p->ifname, p->dev_queues,
			    p->dev_queues == 1 ? "" : "s", p->dev_queues - 1);
		rc = -EINVAL;
		goto fail;
	}
	rc = tarn__lif_mtu(AXDP_LIF(p), dev->spec, &p->mtu_known);
	if (rc < 0)
		goto fail;
	if (AXDP_MAX_PKT(p->mtu_known) > AXDP_MAX_CHUNK - AXDP_XDP_HEADROOM) {
		TARN__ERR(AXDP_LOG,
		          "port spec '%s': %s has MTU %u: an AF_XDP frame (a page less %u bytes "
		          "of XDP headroom) holds packets of MTU %u at most",
		          dev->spec, p->ifname, p->mtu_known, AXDP_XDP_HEADROOM,
		          AXDP_MAX_CHUNK - AXDP_XDP_HEADROOM - AXDP_ETH_HLEN - AXDP_VLAN_HLEN);
		rc = -EINVAL;
		goto fail;
	}

	rc = axdp_prog_get(dev->name, dev->port_id, p->ifindex, p->ifname, p->dev_queues, p->queue,
	                   p->queues, &p->prog);
	if (rc < 0)
		goto fail;

	if (tarn__eth_spec_get(spec, "mac") != NULL) {
		/* mac=: the interface takes it */
		rc = tarn__lif_set_mac(AXDP_LIF(p), dev->name, &dev->mac);
		if (rc < 0) {
			axdp_prog_put(p->prog, p->queue, p->queues);
			p->prog = NULL;
			goto fail;
		}
	} else {
		dev->mac = if_mac;
	}
	dev->mtu = p->mtu_known;
	dev->promiscuous = 0;
	dev->numa_node = tarn__lif_numa_node(p->ifname);
	char qs[48];
	TARN__INFO(AXDP_LOG,
	           "port '%s': af_xdp on %s (index %d), %s of %u, MTU %u, mode=%s, zerocopy=%s",
	           dev->name, p->ifname, p->ifindex,
	           queues_str(qs, sizeof(qs), p->queue, p->queues), p->dev_queues, p->mtu_known,
	           p->mode == AXDP_MODE_AUTO     ? "auto"
	           : p->mode == AXDP_MODE_NATIVE ? "native"
	                                         : "generic",
	           p->zerocopy == AXDP_ZC_AUTO ? "auto"
	           : p->zerocopy == AXDP_ZC_ON ? "on"
	                                       : "off");
	return 0;
fail:
	close(p->ctl_fd);
	p->ctl_fd = -1;
	return rc;
}

static void axdp_close(struct tarn__eth_dev *dev)
{
	struct axdp_port *p = dev->priv;

	axdp_prog_put(p->prog, p->queue, p->queues);
	p->prog = NULL;
	if (p->ctl_fd >= 0) /* closing it drops the promiscuous membership */
		close(p->ctl_fd);
	p->ctl_fd = -1;
	p->promisc = 0;
}

/* ------------------------------------------------------------------------ */
/* Control path: queues */

/* Can the frames of a pool whose data room is `room` carry `mtu`? */
static int check_frame(const struct tarn__eth_dev *dev, uint32_t chunk, uint32_t mtu,
                       const char *what)
{
	if (chunk - AXDP_XDP_HEADROOM < AXDP_MAX_PKT(mtu)) {
		TARN__ERR(AXDP_LOG,
		          "port '%s': %s: frames of %u bytes (the data room, at most a page) hold "
		          "%u bytes after the %u-byte XDP headroom: too small for MTU %u (%u bytes "
		          "with the Ethernet header and a VLAN tag)",
		          dev->name, what, chunk, chunk - AXDP_XDP_HEADROOM, AXDP_XDP_HEADROOM, mtu,
		          AXDP_MAX_PKT(mtu));
		return -EINVAL;
	}
	return 0;
}

/* ethdev checked the queue against queues= and the pool's data room (at
 * least AXDP_MIN_CHUNK, headroom included: a frame is the whole data room). */
static int axdp_rx_queue_setup(struct tarn__eth_dev *dev, void *qd, const struct tarn__eth_qconf *c)
{
	struct axdp_port *p = dev->priv;
	struct axdp_rxq *q = qd;
	char what[32];

	if (tarn_mempool_memzone(c->mp) == NULL) {
		TARN__ERR(AXDP_LOG,
		          "port '%s': RX queue %u: pool '%s' is not in tarn memory (its memzone is "
		          "the UMEM)",
		          dev->name, (unsigned)c->id, tarn_mempool_name(c->mp));
		return -EINVAL;
	}
	const uint32_t room = (uint32_t)tarn_pktmbuf_data_room_size(c->mp);
	const uint32_t chunk = room < AXDP_MAX_CHUNK ? room : AXDP_MAX_CHUNK;
	snprintf(what, sizeof(what), "RX queue %u", (unsigned)c->id);
	int rc = check_frame(dev, chunk, dev->mtu, what);
	if (rc < 0)
		return rc;
	if (c->nb_desc > tarn_mempool_size(c->mp))
		TARN__WARN(
		    AXDP_LOG,
		    "port '%s': RX queue %u: %u descriptors but pool '%s' has only %u mbufs: "
		    "the fill ring takes what there is (rx_nombuf counts the rest)",
		    dev->name, (unsigned)c->id, c->nb_desc, tarn_mempool_name(c->mp),
		    tarn_mempool_size(c->mp));
	q->fd = -1;
	q->mp = c->mp;
	q->stats = c->stats;
	q->port_id = dev->port_id;
	q->queue_id = c->id;
	q->dev_queue = p->queue + c->id;
	q->socket = c->socket;
	q->nb_desc = c->nb_desc;
	q->ring_size = ring_size_for(c->nb_desc);
	q->chunk = chunk;
	q->frame_len = chunk - AXDP_XDP_HEADROOM;
	q->batch = c->nb_desc / 2 < AXDP_FILL_BATCH ? (c->nb_desc / 2 ? c->nb_desc / 2 : 1)
	                                            : AXDP_FILL_BATCH;
	q->rearm = ((uint64_t)1 << 16) | ((uint64_t)1 << 32) | ((uint64_t)dev->port_id << 48);
	return 0;
}

static int axdp_tx_queue_setup(struct tarn__eth_dev *dev, void *qd, const struct tarn__eth_qconf *c)
{
	struct axdp_txq *q = qd;

	q->fd = -1;
	q->stats = c->stats;
	q->port_id = dev->port_id;
	q->queue_id = c->id;
	q->socket = c->socket;
	q->nb_desc = c->nb_desc;
	q->ring_size = ring_size_for(c->nb_desc);
	q->mtu = dev->mtu;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Control path: start, stop, link, promiscuous mode, MTU, MAC */

static int promisc_apply(struct tarn__eth_dev *dev, struct axdp_port *p, int on)
{
	return tarn__lif_promisc(AXDP_LIF(p), dev, on, &p->promisc, &p->gone_logged);
}

static int mtu_apply(struct tarn__eth_dev *dev, struct axdp_port *p, uint32_t mtu)
{
	for (uint16_t q = 0; q < TARN_ETH_MAX_QUEUES; q++) {
		const struct axdp_rxq *rxq = dev->rxq[q];
		if (rxq != NULL && check_frame(dev, rxq->chunk, mtu, "mtu_set") < 0)
			return -EINVAL;
	}
	if (AXDP_MAX_PKT(mtu) > AXDP_MAX_CHUNK - AXDP_XDP_HEADROOM)
		return check_frame(dev, AXDP_MAX_CHUNK, mtu, "mtu_set");
	int rc = tarn__lif_set_mtu(AXDP_LIF(p), dev->name, mtu,
	                           " (with an XDP program attached, the driver may allow less)");
	if (rc < 0)
		return rc;
	p->mtu_known = mtu;
	for (uint16_t q = 0; q < TARN_ETH_MAX_QUEUES; q++) {
		struct axdp_txq *txq = dev->txq[q];
		if (txq != NULL) /* relaxed: the TX path reads it once per burst */
			__atomic_store_n(&txq->mtu, mtu, __ATOMIC_RELAXED);
	}
	return 0;
}

static void axdp_stop(struct tarn__eth_dev *dev)
{
	struct axdp_port *p = dev->priv;

	/* Packets stop going to the sockets first (they go to the stack). */
	if (p->attached) {
		axdp_prog_detach(p->prog);
		p->attached = 0;
	}
	for (uint16_t q = 0; q < TARN_ETH_MAX_QUEUES; q++) {
		struct axdp_rxq *rxq = dev->rxq[q];
		if (rxq != NULL)
			queue_close(dev, p, rxq);
	}
}

static int axdp_start(struct tarn__eth_dev *dev)
{
	struct axdp_port *p = dev->priv;
	char name[IFNAMSIZ];
	int rc = tarn__lif_name_now(AXDP_LIF(p), name);

	if (rc < 0) {
		log_gone(dev, p);
		return -ENODEV;
	}
	if (dev->nb_txq > dev->nb_rxq) {
		TARN__ERR(
		    AXDP_LOG,
		    "port '%s': start: %u TX queues but %u RX queues: TX queue i uses the "
		    "socket, and so the UMEM (pool), of RX queue i; configure at least as many "
		    "RX queues as TX queues",
		    dev->name, (unsigned)dev->nb_txq, (unsigned)dev->nb_rxq);
		return -EINVAL;
	}
	rc = tarn__lif_start_check(AXDP_LIF(p), dev->name, name);
	if (rc < 0)
		return rc;
	if (dev->mtu != p->mtu_known) { /* what configure asked */
		rc = mtu_apply(dev, p, dev->mtu);
		if (rc < 0)
			return rc;
	}
	if (dev->promiscuous != p->promisc) {
		rc = promisc_apply(dev, p, dev->promiscuous);
		if (rc < 0)
			return rc;
	}
	for (uint16_t q = 0; q < dev->nb_rxq; q++) {
		rc = queue_open(dev, p, dev->rxq[q], q < dev->nb_txq ? dev->txq[q] : NULL);
		if (rc < 0)
			goto fail;
	}
	rc = axdp_prog_attach(p->prog, dev->name, p->mode, p->legacy);
	if (rc < 0)
		goto fail;
	p->attached = 1;

	unsigned zc = 0;
	for (uint16_t q = 0; q < dev->nb_rxq; q++)
		zc += ((struct axdp_rxq *)dev->rxq[q])->zc != 0;
	char qs[48];
	TARN__INFO(AXDP_LOG,
	           "port '%s': started on %s %s: XDP in %s mode (%s), %s; UMEM: pool '%s'",
	           dev->name, name, queues_str(qs, sizeof(qs), p->queue, dev->nb_rxq),
	           axdp_prog_mode_name(p->prog), p->legacy ? "netlink attach" : "bpf_link",
	           zc == dev->nb_rxq ? "zero-copy"
	           : zc == 0         ? "copy mode (no zero-copy)"
	                             : "zero-copy on some queues",
	           tarn_mempool_name(((struct axdp_rxq *)dev->rxq[0])->mp));
	return 0;
fail:
	axdp_stop(dev);
	return rc;
}

static int axdp_link_get(struct tarn__eth_dev *dev, struct tarn_eth_link *link)
{
	struct axdp_port *p = dev->priv;

	return tarn__lif_link(AXDP_LIF(p), dev, &p->gone_logged, link);
}

static int axdp_promisc_set(struct tarn__eth_dev *dev, int on)
{
	return promisc_apply(dev, dev->priv, on);
}

static int axdp_mtu_set(struct tarn__eth_dev *dev, uint32_t mtu)
{
	return mtu_apply(dev, dev->priv, mtu);
}

static int axdp_mac_set(struct tarn__eth_dev *dev, const struct tarn_ether_addr *mac)
{
	struct axdp_port *p = dev->priv;

	return tarn__lif_set_mac(AXDP_LIF(p), dev->name, mac);
}

const struct tarn__eth_driver tarn__eth_af_xdp_driver = {
	.name = "af_xdp",
	.summary = "Linux interface through AF_XDP sockets whose UMEM is the RX queue's mbuf pool",
	.keys = axdp_keys,
	.priv_size = sizeof(struct axdp_port),
	.rxq_size = sizeof(struct axdp_rxq),
	.txq_size = sizeof(struct axdp_txq),
	/* A frame is an mbuf's whole data room, at least AXDP_MIN_CHUNK. */
	.rx_data_min = AXDP_MIN_CHUNK - TARN_PKTMBUF_HEADROOM,
	.rx_data_what = "an AF_XDP frame",
	.create = axdp_create,
	.close = axdp_close,
	.start = axdp_start,
	.stop = axdp_stop,
	.rx_queue_setup = axdp_rx_queue_setup,
	.tx_queue_setup = axdp_tx_queue_setup,
	.link_get = axdp_link_get,
	.promisc_set = axdp_promisc_set,
	.mtu_set = axdp_mtu_set,
	.mac_set = axdp_mac_set,
	.rx_burst = axdp_rx_burst,
	.tx_burst = axdp_tx_burst,
};
