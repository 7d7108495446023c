/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * af_packet_ethdev.c - the "af_packet" driver: ports on Linux network
 * interfaces through PACKET_MMAP rings shared with the kernel.
 *
 *   af_packet:iface=NAME[,qpairs=N][,framesz=B][,framecnt=N][,blocksz=B]
 *             [,rxring=v2|v3][,tx=mmsg|ring][,qdisc_bypass=1|0]
 *
 * docs/drivers/af_packet.md describes the keys, the errors and the counters.
 *
 * Sockets (AF_PACKET, SOCK_RAW), in the network namespace of the thread that
 * creates (control socket) or starts (data sockets) the port:
 * - a control socket per port, opened at create with protocol 0 so that it
 *   never receives anything. It carries the ioctls on the interface and the
 *   promiscuous membership (PACKET_MR_PROMISC), which the kernel drops when
 *   the socket closes: a program that dies leaves no interface promiscuous.
 * - per RX queue, opened at start: a receive ring, TPACKET_V2 (one frame per
 *   packet, the default) or TPACKET_V3 (packets packed in blocks, rxring=v3),
 *   bound to the interface for every protocol, with PACKET_IGNORE_OUTGOING so
 *   that the port does not receive what it (or anyone else) transmits on the
 *   interface. With more than one RX queue the sockets form one
 *   PACKET_FANOUT_HASH group whose id the kernel picks unique
 *   (PACKET_FANOUT_FLAG_UNIQUEID), so a flow always lands on the same queue.
 * - per TX queue, opened at start: a socket bound to the interface with
 *   protocol 0 (so it receives nothing), with PACKET_QDISC_BYPASS
 *   (qdisc_bypass=1, default). tx=mmsg (default): packets go with one
 *   sendmmsg() per burst (up to 64 per call), straight from the mbufs (an
 *   iovec per segment). tx=ring: a TPACKET_V2 transmit ring, with
 *   PACKET_LOSS (the kernel skips a frame it cannot send instead of stopping
 *   the ring). On veth, sendmmsg() costs less CPU per packet than the
 *   ring (docs/drivers/af_packet.md has the figures): the ring's skbs point
 *   into the ring's pages (a page reference per packet, a destructor giving
 *   the frame back), where sendmmsg() copies a small packet into the skb.
 *   The default RX ring is TPACKET_V2 because a V3 block reaches user space
 *   only when full or after its timeout (1 ms at best, a jiffy in practice):
 *   with few packets in flight (a ping, a request/response, a forwarding
 *   loop seeded with 8 packets) V3 runs at timer speed.
 * Sockets are closed at stop; what was in the receive ring is lost then.
 *
 * Fast path:
 * - RX copies each packet from the ring into an mbuf of the queue's pool
 *   (chained mbufs when it does not fit in one) and gives the slot back to
 *   the kernel at once. A VLAN tag the kernel stripped (always, on Linux)
 *   comes back as vlan_tci + TARN_MBUF_F_RX_VLAN | RX_VLAN_STRIPPED when its
 *   TPID is 0x8100; a tag with another TPID (802.1ad) is put back into the
 *   data, since the mbuf cannot say which TPID it had. When the pool is
 *   empty the packets stay in the ring (the kernel drops what no longer
 *   fits, counted as missed) and rx_nombuf grows by the number of packets
 *   that waited. Kernel drops (PACKET_STATISTICS) are read when the ring
 *   flags them (TP_STATUS_LOSING), every AFP_STATS_POLLS bursts and at stop.
 * - TX (both modes) inserts the VLAN/QinQ tags TARN_MBUF_F_TX_VLAN / TX_QINQ
 *   ask for and frees the mbufs the kernel took. A packet the interface
 *   cannot carry (shorter than an Ethernet header, longer than the frame or
 *   than MTU + 14, + 4 when its first tag is 802.1Q) is taken, freed and
 *   counted as an error. What the kernel does not take (sendmmsg() stopped
 *   early: socket buffer full; tx=ring: ring full) stays with the caller and
 *   counts as errors, as every refused packet. When the interface is down or
 *   gone the packets stay with the caller, tx returns 0 and counts them as
 *   errors (tx=ring: the burst's frames are taken back, and later bursts
 *   first check with an empty kick). tx=ring copies each packet into a free
 *   frame and kicks the kernel once per burst with sendto(MSG_DONTWAIT).
 *
 * Every op runs under the ethdev control mutex. The only state the fast path
 * and the control path share is txq->mtu (relaxed atomic: mtu_set may run
 * while the port forwards) and the counters (ethdev_driver_priv.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/ethtool.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../common/linux_if.h"
#include "ethdev_driver_priv.h"
#include "tarn_mbuf.h"
#include "tarn_mem.h"

#define AFP_LOG TARN__ETH_LOG

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif
#ifndef PACKET_FANOUT_FLAG_UNIQUEID
#define PACKET_FANOUT_FLAG_UNIQUEID 0x2000
#endif

/* Defaults and limits of the spec keys. */
#define AFP_DEFAULT_FRAMESZ 2048u
#define AFP_MIN_FRAMESZ     128u
#define AFP_MAX_FRAMESZ     65536u
#define AFP_MAX_BLOCKSZ     (4u << 20)
#define AFP_MAX_FRAMECNT    (1u << 20)
#define AFP_MAX_RING_BYTES  (1ull << 30)
/* TPACKET_V3: a block is handed to user space at the latest this many ms
 * after its first packet (the kernel's minimum). */
#define AFP_V3_BLOCK_TMO_MS 1u
/* RX bursts between two reads of the kernel's drop counter. */
#define AFP_STATS_POLLS 1024u

/* Ethernet: header, one VLAN tag, and the two tag types. */
#define AFP_ETH_HLEN    14u
#define AFP_VLAN_HLEN   4u
#define AFP_TPID_8021Q  0x8100u
#define AFP_TPID_8021AD 0x88a8u

/* Where the kernel puts a packet in a receive frame: the ring header, the
 * sockaddr_ll and padding up to TPACKET_ALIGN(hdrlen + 16) for the network
 * header, minus the Ethernet header (net/packet/af_packet.c, tpacket_rcv). */
#define AFP_V2_MACOFF (TPACKET_ALIGN(TPACKET2_HDRLEN + 16) - AFP_ETH_HLEN)
#define AFP_V3_MACOFF (TPACKET_ALIGN(TPACKET3_HDRLEN + 16) - AFP_ETH_HLEN)
/* First packet of a TPACKET_V3 block (no private area). */
#define AFP_V3_BLKHDR ((sizeof(struct tpacket_block_desc) + 7u) & ~7u)
/* Data of a TPACKET_V2 transmit frame (no PACKET_TX_HAS_OFF). */
#define AFP_TX_DATAOFF (TPACKET2_HDRLEN - sizeof(struct sockaddr_ll))
/* Largest packet a frame of a port must carry: MTU + Ethernet header + one
 * VLAN tag (an inner tag of QinQ stays in the data on receive, and the
 * kernel lets a tagged frame be 4 bytes longer on transmit). */
#define AFP_MAX_PKT(mtu) ((mtu) + AFP_ETH_HLEN + AFP_VLAN_HLEN)

enum afp_rxring { AFP_RX_V2 = 2, AFP_RX_V3 = 3 };

/* dev->priv: the keys (filled by ethdev from afp_keys), then the port. */
struct afp_port {
	char ifname[IFNAMSIZ]; /* iface=, the name at create (it may be renamed) */
	uint32_t qpairs;       /* 0: not given */
	uint32_t framesz;      /* frame size of both rings */
	uint32_t framecnt;     /* frames per ring, 0: the queue's nb_desc */
	uint32_t blocksz;      /* block size of both rings, 0: framesz in pages */
	enum afp_rxring rxring;
	int tx_ring; /* tx=ring: TPACKET_V2 transmit ring; 0: sendmmsg() */
	uint32_t qdisc_bypass;
	int ifindex;
	int ctl_fd;         /* control socket, -1 when closed */
	int promisc;        /* the PACKET_MR_PROMISC membership is held */
	uint32_t mtu_known; /* the interface MTU as last read or set */
	int gone_logged;    /* "interface gone" was logged */
};

/* One RX queue: the fast-path part first. */
struct afp_rxq {
	uint8_t *ring;           /* the mapped ring, NULL when stopped */
	uint8_t **frames;        /* V2: address of each frame */
	struct tarn_mempool *mp; /* pool RX allocates from */
	struct tarn__eth_qstats *stats;
	int fd; /* ring socket, -1 when stopped */
	uint16_t port_id;
	uint16_t room;         /* data room of a fresh mbuf */
	uint8_t v3;            /* TPACKET_V3 ring */
	uint8_t skip_outgoing; /* no PACKET_IGNORE_OUTGOING: drop own TX here */
	uint32_t nb_slots;     /* V2: frames, V3: blocks */
	uint32_t cur;          /* V2: next frame, V3: current block */
	uint32_t block_size;   /* V3 */
	uint32_t blk_left;     /* V3: packets left in the open block (0: none open) */
	uint8_t *blk_pkt;      /* V3: next packet of the open block */
	uint32_t polls;        /* bursts since the last drop-counter read */
	/* Control path. */
	size_t ring_len;
	uint32_t nb_desc;
	uint16_t queue_id;
} TARN_CACHE_ALIGNED;

/* sendmmsg() transmit: messages per call, and iovecs per message. */
#define AFP_MMSG_BATCH  64u
#define AFP_MMSG_MAXIOV 32u

/* One TX queue. */
struct afp_txq {
	int fd;            /* -1 when stopped */
	uint8_t ring_mode; /* tx=ring: TPACKET_V2 ring; else sendmmsg() */
	uint8_t down;      /* ring: the last kick failed (interface down or gone) */
	uint8_t err_logged;
	uint16_t port_id;
	uint16_t queue_id;
	struct tarn__eth_qstats *stats;
	uint32_t max_data; /* longest packet a frame holds */
	uint32_t mtu;      /* relaxed atomic: written by mtu_set */
	/* tx=ring */
	uint8_t *ring;    /* NULL when stopped */
	uint8_t **frames; /* address of each frame */
	uint32_t nb_frames;
	uint32_t cur; /* next frame to fill */
	/* Control path. */
	size_t ring_len;
	uint32_t nb_desc;
	char ifname[IFNAMSIZ];
	/* sendmmsg(): one batch being built (the queue's thread only). */
	struct mmsghdr msgs[AFP_MMSG_BATCH];
	uint16_t msg_pkt[AFP_MMSG_BATCH]; /* index in the burst of each message */
	uint8_t tags[AFP_MMSG_BATCH][2 * AFP_VLAN_HLEN];
	struct iovec iov[AFP_MMSG_BATCH * AFP_MMSG_MAXIOV];
} TARN_CACHE_ALIGNED;

static const struct tarn__key_word afp_rxrings[] = {
	{ "v2", AFP_RX_V2, "a frame per packet", 0 },
	{ "v3", AFP_RX_V3, "packets in blocks", 0 },
	{ NULL, 0, NULL, 0 },
};

static const struct tarn__key_word afp_tx_modes[] = {
	{ "mmsg", 0, "sendmmsg() from the mbufs", 0 },
	{ "ring", 1, "a TPACKET_V2 transmit ring", 0 },
	{ NULL, 0, NULL, 0 },
};

static const struct tarn__key afp_keys[] = {
	{ .name = "iface",
	  .type = TARN__KEY_CUSTOM,
	  TARN__KEY_AT(struct afp_port, ifname),
	  .parse = tarn__eth_key_ifname,
	  .metavar = "NAME",
	  .values = TARN__ETH_IFNAME_VALUES,
	  .help = "the network interface to attach to",
	  .doc = "In the network namespace of the thread that creates the port",
	  .flags = TARN__KEY_REQUIRED },
	{ .name = "qpairs",
	  .type = TARN__KEY_UINT,
	  TARN__KEY_AT(struct afp_port, qpairs),
	  .min = 1,
	  .max = TARN_ETH_MAX_QUEUES,
	  .def_text = "not set",
	  .help = "the most queues of each kind",
	  .doc = "A queue setup beyond it is refused. Without it the number of queues given "
	         "to tarn_eth_dev_configure() decides",
	  .flags = TARN__ETH_KEY_QUEUES },
	{ .name = "framesz",
	  .type = TARN__KEY_UINT,
	  TARN__KEY_AT(struct afp_port, framesz),
	  .min = AFP_MIN_FRAMESZ,
	  .max = AFP_MAX_FRAMESZ,
	  .align = TPACKET_ALIGNMENT,
	  .def = AFP_DEFAULT_FRAMESZ,
	  .metavar = "B",
	  .help = "frame size of the rings",
	  .doc = "It must hold MTU + 18 (Ethernet header and one VLAN tag) + 66 bytes of ring "
	         "header: at least 1584 for MTU 1500. It is also the longest packet TX accepts "
	         "(framesz - 32)" },
	{ .name = "framecnt",
	  .type = TARN__KEY_UINT,
	  TARN__KEY_AT(struct afp_port, framecnt),
	  .min = 1,
	  .max = AFP_MAX_FRAMECNT,
	  .def_text = "the queue's nb_desc",
	  .help = "frames per ring",
	  .doc = "Rounded up to whole blocks; at most 1 GiB per ring" },
	{ .name = "blocksz",
	  .type = TARN__KEY_UINT,
	  TARN__KEY_AT(struct afp_port, blocksz),
	  .min = 1,
	  .max = AFP_MAX_BLOCKSZ,
	  .metavar = "B",
	  .def_text = "framesz rounded up to the page size",
	  .help = "ring block size: a multiple of the page size, at least framesz",
	  .doc = "With rxring=v3 it is the unit the kernel hands over (and must hold MTU + "
	         "148)" },
	{ .name = "rxring",
	  .type = TARN__KEY_ENUM,
	  TARN__KEY_AT(struct afp_port, rxring),
	  .def = AFP_RX_V2,
	  .words = afp_rxrings,
	  .help = "receive ring",
	  .doc = "v2 = TPACKET_V2, handed over packet by packet; v3 = TPACKET_V3, a block "
	         "handed over when full or after 1 ms (see \"V2 or V3\")" },
	{ .name = "tx",
	  .type = TARN__KEY_ENUM,
	  TARN__KEY_AT(struct afp_port, tx_ring),
	  .def = 0,
	  .words = afp_tx_modes,
	  .help = "transmit",
	  .doc = "mmsg: one sendmmsg() per burst (up to 64 packets per call) straight from "
	         "the mbufs, an iovec per segment; ring: packets copied into frames, one "
	         "sendto(MSG_DONTWAIT) per burst" },
	{ .name = "qdisc_bypass",
	  .type = TARN__KEY_UINT,
	  TARN__KEY_AT(struct afp_port, qdisc_bypass),
	  .max = 1,
	  .def = 1,
	  .metavar = "0|1",
	  .help = "1: PACKET_QDISC_BYPASS on the transmit sockets, packets skip the interface's "
	          "qdisc" },
	{ .name = NULL },
};

/* ------------------------------------------------------------------------ */
/* Fast path: receive */

static inline uint32_t ld_acquire(const uint32_t *p)
{
	/* acquire: pairs with the kernel's smp_wmb() before it hands a frame or
	 * block to user space (__packet_set_status / prb_close_block): the
	 * packet data is read after the status. */
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static inline void st_release(uint32_t *p, uint32_t v)
{
	/* release: every read of the slot (and, on TX, every write of the frame)
	 * happens before the kernel may see it as its own again; the kernel
	 * reads the status with smp_rmb() after it. */
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

/* Allocate up to `want` mbufs into pkts: all at once, else as many as the
 * pool gives. Returns how many. */
static inline unsigned rx_alloc(struct afp_rxq *q, struct tarn_mbuf **pkts, unsigned want)
{
	if (tarn_likely(tarn_pktmbuf_alloc_bulk(q->mp, pkts, want) == 0))
		return want;
	unsigned k = 0;
	while (k < want && (pkts[k] = tarn_pktmbuf_alloc(q->mp)) != NULL)
		k++;
	return k;
}

/*
 * Copy `len` bytes made of up to three pieces (the packet data, possibly cut
 * after the addresses for a VLAN tag to go back in) into the mbuf `head`,
 * chaining more mbufs of the queue's pool when it does not fit. Returns 0,
 * or -ENOBUFS with `head` back to an empty one-segment mbuf.
 */
static int rx_copy_slow(struct afp_rxq *q, struct tarn_mbuf *head, const uint8_t *data,
                        uint32_t len, const uint8_t *tag)
{
	const uint8_t *part[3];
	uint32_t plen[3], np = 0;

	if (tag != NULL && len >= 2 * TARN_ETHER_ADDR_LEN) {
		part[0] = data, plen[0] = 2 * TARN_ETHER_ADDR_LEN;
		part[1] = tag, plen[1] = AFP_VLAN_HLEN;
		part[2] = data + plen[0], plen[2] = len - plen[0];
		np = 3;
	} else {
		part[0] = data, plen[0] = len;
		np = 1;
	}
	struct tarn_mbuf *m = head;
	uint32_t total = 0, left = tarn_pktmbuf_tailroom(m);
	uint8_t *dst = tarn_pktmbuf_mtod(m, uint8_t *);
	for (uint32_t i = 0; i < np; i++) {
		const uint8_t *src = part[i];
		uint32_t rem = plen[i];
		while (rem > 0) {
			if (left == 0) {
				struct tarn_mbuf *s = tarn_pktmbuf_alloc(q->mp);
				if (s == NULL) {
					tarn_pktmbuf_free(head->next);
					head->next = NULL;
					head->nb_segs = 1;
					head->data_len = 0;
					head->pkt_len = 0;
					return -ENOBUFS;
				}
				m->next = s;
				m = s;
				head->nb_segs++;
				left = tarn_pktmbuf_tailroom(m);
				dst = tarn_pktmbuf_mtod(m, uint8_t *);
			}
			uint32_t c = rem < left ? rem : left;
			memcpy(dst, src, c);
			dst += c, src += c, rem -= c, left -= c;
			m->data_len = (uint16_t)(m->data_len + c);
			total += c;
		}
	}
	head->pkt_len = total;
	return 0;
}

/*
 * Fill mbuf `m` with one received packet. Returns 0, or -ENOBUFS (the
 * packet needed more mbufs than the pool had; `m` is still an empty mbuf).
 */
static inline int rx_fill(struct afp_rxq *q, struct tarn_mbuf *m, const uint8_t *data, uint32_t len,
                          uint32_t status, uint16_t tci, uint16_t tpid)
{
	m->port = q->port_id;
	if (tarn_unlikely(status & TP_STATUS_VLAN_VALID)) {
		if ((status & TP_STATUS_VLAN_TPID_VALID) && tpid != AFP_TPID_8021Q && tpid != 0) {
			/* Not an 802.1Q tag: put it back where it was. */
			const uint8_t tag[AFP_VLAN_HLEN] = { (uint8_t)(tpid >> 8), (uint8_t)tpid,
				                             (uint8_t)(tci >> 8), (uint8_t)tci };
			return rx_copy_slow(q, m, data, len, tag);
		}
		m->vlan_tci = tci;
		m->ol_flags |= TARN_MBUF_F_RX_VLAN | TARN_MBUF_F_RX_VLAN_STRIPPED;
	}
	if (tarn_likely(len <= q->room)) {
		memcpy(tarn_pktmbuf_mtod(m, void *), data, len);
		m->data_len = (uint16_t)len;
		m->pkt_len = len;
		return 0;
	}
	return rx_copy_slow(q, m, data, len, NULL);
}

/* Add the kernel's drop counter (read and reset by PACKET_STATISTICS) to
 * missed. Polling thread, or the control path with the port stopping. */
static void rx_sync_drops(struct afp_rxq *q)
{
	struct tpacket_stats_v3 st; /* a tpacket_stats followed by one more counter */
	socklen_t sl = q->v3 ? sizeof(st) : sizeof(struct tpacket_stats);

	q->polls = 0;
	memset(&st, 0, sizeof(st));
	if (q->fd >= 0 && getsockopt(q->fd, SOL_PACKET, PACKET_STATISTICS, &st, &sl) == 0 &&
	    st.tp_drops != 0)
		tarn__eth_count(&q->stats->missed, st.tp_drops);
}

/* The socket said the packet is one it sent out (only without
 * PACKET_IGNORE_OUTGOING). */
static inline int rx_is_outgoing(const void *hdr, size_t hdr_size)
{
	const struct sockaddr_ll *sll =
	    (const struct sockaddr_ll *)((const uint8_t *)hdr + TPACKET_ALIGN(hdr_size));
	return sll->sll_pkttype == PACKET_OUTGOING;
}

static uint16_t rx_v2(struct afp_rxq *q, struct tarn_mbuf **pkts, uint16_t n)
{
	const uint32_t nb_slots = q->nb_slots;
	uint32_t cur = q->cur, i = cur, ready = 0;

	/* How many frames are ready (they are in cache for the copy below); at
	 * most the whole ring. */
	const uint32_t max = n < nb_slots ? n : nb_slots;
	while (ready < max) {
		const struct tpacket2_hdr *h = (const struct tpacket2_hdr *)q->frames[i];
		if (!(ld_acquire(&h->tp_status) & TP_STATUS_USER))
			break;
		ready++;
		if (++i == nb_slots)
			i = 0;
	}
	if (ready == 0) {
		if (tarn_unlikely(++q->polls >= AFP_STATS_POLLS))
			rx_sync_drops(q);
		return 0;
	}
	const unsigned got = rx_alloc(q, pkts, ready);
	if (tarn_unlikely(got < ready))
		tarn__eth_count(&q->stats->nombuf, ready - got);

	uint16_t nb = 0;
	uint32_t used = 0, losing = 0;
	uint64_t bytes = 0, errors = 0, nombuf = 0;
	i = cur;
	while (used < ready && nb < got) {
		struct tpacket2_hdr *h = (struct tpacket2_hdr *)q->frames[i];
		const uint32_t st = h->tp_status;
		const uint32_t len = h->tp_snaplen;
		uint32_t next = i + 1 == nb_slots ? 0 : i + 1;

		if (used + 1 < ready)
			__builtin_prefetch(q->frames[next] + AFP_V2_MACOFF);
		losing |= st;
		if (tarn_unlikely(h->tp_len != len)) {
			errors++; /* longer than the frame: truncated by the kernel */
		} else if (tarn_unlikely(q->skip_outgoing && rx_is_outgoing(h, sizeof(*h)))) {
			/* our own transmission, seen without PACKET_IGNORE_OUTGOING */
		} else if (tarn_likely(rx_fill(q, pkts[nb], (const uint8_t *)h + h->tp_mac, len, st,
		                               h->tp_vlan_tci, h->tp_vlan_tpid) == 0)) {
			bytes += pkts[nb]->pkt_len;
			nb++;
		} else {
			nombuf++;
		}
		st_release(&h->tp_status, TP_STATUS_KERNEL);
		used++;
		i = next;
	}
	q->cur = i;
	if (tarn_unlikely(nb < got))
		tarn_pktmbuf_free_bulk(pkts + nb, got - nb);
	if (nb > 0) {
		tarn__eth_count(&q->stats->packets, nb);
		tarn__eth_count(&q->stats->bytes, bytes);
	}
	if (tarn_unlikely(errors != 0))
		tarn__eth_count(&q->stats->errors, errors);
	if (tarn_unlikely(nombuf != 0))
		tarn__eth_count(&q->stats->nombuf, nombuf);
	if (tarn_unlikely((losing & TP_STATUS_LOSING) || ++q->polls >= AFP_STATS_POLLS))
		rx_sync_drops(q);
	return nb;
}

static inline struct tpacket_block_desc *v3_block(const struct afp_rxq *q, uint32_t b)
{
	return (struct tpacket_block_desc *)(q->ring + (size_t)b * q->block_size);
}

static uint16_t rx_v3(struct afp_rxq *q, struct tarn_mbuf **pkts, uint16_t n)
{
	uint16_t nb = 0;
	unsigned got = 0;
	uint32_t losing = 0;
	uint64_t bytes = 0, errors = 0, nombuf = 0;

	while (nb < n) {
		if (q->blk_left == 0) {
			/* Open the next block, if the kernel has handed it over. */
			struct tpacket_block_desc *b = v3_block(q, q->cur);
			if (!(ld_acquire(&b->hdr.bh1.block_status) & TP_STATUS_USER))
				break;
			q->blk_left = b->hdr.bh1.num_pkts;
			q->blk_pkt = (uint8_t *)b + b->hdr.bh1.offset_to_first_pkt;
			if (tarn_unlikely(q->blk_left == 0)) {
				st_release(&b->hdr.bh1.block_status, TP_STATUS_KERNEL);
				q->cur = q->cur + 1 == q->nb_slots ? 0 : q->cur + 1;
				continue;
			}
		}
		if (nb == got) {
			unsigned want = (unsigned)(n - nb);
			if (want > q->blk_left)
				want = q->blk_left;
			unsigned k = rx_alloc(q, pkts + got, want);
			got += k;
			if (k < want) {
				nombuf += want - k;
				if (k == 0)
					break;
			}
		}
		struct tpacket3_hdr *h = (struct tpacket3_hdr *)q->blk_pkt;
		const uint32_t st = h->tp_status;
		const uint32_t len = h->tp_snaplen;

		if (q->blk_left > 1)
			__builtin_prefetch(q->blk_pkt + h->tp_next_offset + AFP_V3_MACOFF);
		losing |= st;
		if (tarn_unlikely(h->tp_len != len)) {
			errors++;
		} else if (tarn_unlikely(q->skip_outgoing && rx_is_outgoing(h, sizeof(*h)))) {
			/* our own transmission */
		} else if (tarn_likely(rx_fill(q, pkts[nb], (const uint8_t *)h + h->tp_mac, len, st,
		                               h->hv1.tp_vlan_tci, h->hv1.tp_vlan_tpid) == 0)) {
			bytes += pkts[nb]->pkt_len;
			nb++;
		} else {
			nombuf++;
		}
		q->blk_pkt += h->tp_next_offset;
		if (--q->blk_left == 0) {
			/* Every packet of the block read: hand it back. */
			st_release(&v3_block(q, q->cur)->hdr.bh1.block_status, TP_STATUS_KERNEL);
			q->cur = q->cur + 1 == q->nb_slots ? 0 : q->cur + 1;
		}
	}
	if (tarn_unlikely(nb < got))
		tarn_pktmbuf_free_bulk(pkts + nb, got - nb);
	if (nb > 0) {
		tarn__eth_count(&q->stats->packets, nb);
		tarn__eth_count(&q->stats->bytes, bytes);
	}
	if (tarn_unlikely(errors != 0))
		tarn__eth_count(&q->stats->errors, errors);
	if (tarn_unlikely(nombuf != 0))
		tarn__eth_count(&q->stats->nombuf, nombuf);
	if (tarn_unlikely((losing & TP_STATUS_LOSING) || ++q->polls >= AFP_STATS_POLLS))
		rx_sync_drops(q);
	return nb;
}

static uint16_t afp_rx_burst(void *qd, struct tarn_mbuf **pkts, uint16_t n)
{
	struct afp_rxq *q = qd;

	if (tarn_unlikely(n == 0))
		return 0;
	return q->v3 ? rx_v3(q, pkts, n) : rx_v2(q, pkts, n);
}

/* ------------------------------------------------------------------------ */
/* Fast path: transmit */

/* A transmit frame the kernel is done with (timestamp flags aside). */
static inline int tx_frame_free(uint32_t status)
{
	return (status & ~(TP_STATUS_TS_SOFTWARE | TP_STATUS_TS_RAW_HARDWARE)) ==
	       TP_STATUS_AVAILABLE;
}

/* sendto() errors that leave the frames queued for the next kick. */
static inline int kick_soft_error(int err)
{
	return err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS || err == EINTR;
}

/* Copy packet `m` (any chain) into `dst`, inserting its TX_VLAN / TX_QINQ
 * tags after the addresses. The caller checked the lengths. */
static void tx_copy_slow(uint8_t *dst, const struct tarn_mbuf *m, unsigned ntags)
{
	uint32_t off = 0;

	if (ntags != 0) {
		const void *p = tarn_pktmbuf_read(m, 0, 2 * TARN_ETHER_ADDR_LEN, dst);
		if (p != dst)
			memcpy(dst, p, 2 * TARN_ETHER_ADDR_LEN);
		uint8_t *t = dst + 2 * TARN_ETHER_ADDR_LEN;
		if (ntags == 2) {
			t[0] = AFP_TPID_8021AD >> 8, t[1] = AFP_TPID_8021AD & 0xff;
			t[2] = (uint8_t)(m->vlan_tci_outer >> 8), t[3] = (uint8_t)m->vlan_tci_outer;
			t += AFP_VLAN_HLEN;
		}
		t[0] = AFP_TPID_8021Q >> 8, t[1] = AFP_TPID_8021Q & 0xff;
		t[2] = (uint8_t)(m->vlan_tci >> 8), t[3] = (uint8_t)m->vlan_tci;
		off = 2 * TARN_ETHER_ADDR_LEN;
		dst = t + AFP_VLAN_HLEN;
	}
	/* The rest, segment by segment from `off`. */
	for (const struct tarn_mbuf *s = m; s != NULL; s = s->next) {
		if (off >= s->data_len) {
			off -= s->data_len;
			continue;
		}
		const uint32_t c = s->data_len - off;
		memcpy(dst, tarn_pktmbuf_mtod_offset(s, const uint8_t *, off), c);
		dst += c;
		off = 0;
	}
}

/* A packet longer than MTU + 14: the kernel takes it only when its (first)
 * Ethernet type is 802.1Q, and 4 bytes more at most (packet_snd /
 * tpacket_snd: packet_extra_vlan_len_allowed). A QinQ insertion puts 802.1ad
 * first, so it gets no extra room. */
static int tx_len_ok_tagged(const struct tarn_mbuf *m, uint32_t len, uint32_t mtu, unsigned ntags)
{
	uint8_t b[2];

	if (len > mtu + AFP_ETH_HLEN + AFP_VLAN_HLEN || ntags == 2)
		return 0;
	if (ntags == 1)
		return 1;
	const uint8_t *p = tarn_pktmbuf_read(m, 2 * TARN_ETHER_ADDR_LEN, 2, b);
	return p != NULL && ((uint32_t)p[0] << 8 | p[1]) == AFP_TPID_8021Q;
}

/* Length on the wire of packet `m` with the tags it asks for (`*ntags`), or
 * 0 when the interface cannot carry it. */
static inline uint32_t tx_wire_len(const struct afp_txq *q, const struct tarn_mbuf *m, uint32_t mtu,
                                   unsigned *ntags)
{
	const unsigned nt = tarn_unlikely(m->ol_flags & (TARN_MBUF_F_TX_VLAN | TARN_MBUF_F_TX_QINQ))
	                        ? ((m->ol_flags & TARN_MBUF_F_TX_QINQ) ? 2u : 1u)
	                        : 0u;
	const uint32_t len = m->pkt_len + nt * AFP_VLAN_HLEN;

	*ntags = nt;
	if (tarn_unlikely(len < AFP_ETH_HLEN || len > q->max_data ||
	                  (len > mtu + AFP_ETH_HLEN && !tx_len_ok_tagged(m, len, mtu, nt))))
		return 0;
	return len;
}

static void tx_log_down(struct afp_txq *q, int err)
{
	if (q->err_logged)
		return;
	q->err_logged = 1;
	TARN__WARN(AFP_LOG,
	           "port %u TX queue %u: interface %s does not take packets (%s): bursts "
	           "return 0 and count errors until it does",
	           (unsigned)q->port_id, (unsigned)q->queue_id, q->ifname, strerror(err));
}

/* --- tx=ring: TPACKET_V2 transmit ring, one sendto() kick per burst --- */

/* Kick with nothing queued: 0 if the interface takes packets again. */
static int tx_probe(struct afp_txq *q)
{
	if (sendto(q->fd, NULL, 0, MSG_DONTWAIT, NULL, 0) < 0 && !kick_soft_error(errno))
		return -1;
	q->down = 0;
	return 0;
}

static uint16_t tx_ring(struct afp_txq *q, struct tarn_mbuf **pkts, uint16_t n)
{
	if (tarn_unlikely(q->down) && tx_probe(q) < 0) {
		tarn__eth_count(&q->stats->errors, n);
		return 0;
	}
	/* relaxed: a value mtu_set may change while we run; either is fine */
	const uint32_t mtu = __atomic_load_n(&q->mtu, __ATOMIC_RELAXED);
	const uint32_t first = q->cur;
	uint32_t cur = first;
	uint16_t i, queued = 0;
	uint64_t bytes = 0, bad = 0;

	for (i = 0; i < n; i++) {
		const struct tarn_mbuf *m = pkts[i];
		struct tpacket2_hdr *h = (struct tpacket2_hdr *)q->frames[cur];
		unsigned ntags;

		if (tarn_unlikely(!tx_frame_free(ld_acquire(&h->tp_status))))
			break; /* ring full */
		const uint32_t len = tx_wire_len(q, m, mtu, &ntags);
		if (tarn_unlikely(len == 0)) {
			bad++; /* taken and freed below, counted as an error */
			continue;
		}
		uint8_t *dst = (uint8_t *)h + AFP_TX_DATAOFF;
		if (tarn_likely(ntags == 0 && m->next == NULL))
			memcpy(dst, tarn_pktmbuf_mtod(m, const void *), len);
		else
			tx_copy_slow(dst, m, ntags);
		h->tp_len = len;
		h->tp_snaplen = len;
		st_release(&h->tp_status, TP_STATUS_SEND_REQUEST);
		bytes += len;
		queued++;
		if (++cur == q->nb_frames)
			cur = 0;
	}
	if (tarn_likely(queued != 0) && sendto(q->fd, NULL, 0, MSG_DONTWAIT, NULL, 0) < 0) {
		const int err = errno;
		if (!kick_soft_error(err)) {
			/* Interface down or gone: the kernel took nothing (it checks
			 * the device before the first frame). Take the frames back;
			 * the packets stay the caller's. */
			for (uint32_t k = 0, f = first; k < queued; k++) {
				uint32_t *stp = &((struct tpacket2_hdr *)q->frames[f])->tp_status;
				if (*stp == TP_STATUS_SEND_REQUEST)
					*stp = TP_STATUS_AVAILABLE;
				f = f + 1 == q->nb_frames ? 0 : f + 1;
			}
			q->down = 1;
			tx_log_down(q, err);
			tarn__eth_count(&q->stats->errors, n);
			return 0;
		}
		/* Soft (socket buffer full): the frames stay queued and go with
		 * the next kick. */
	}
	q->cur = cur;
	tarn_pktmbuf_free_bulk(pkts, i);
	if (queued != 0) {
		tarn__eth_count(&q->stats->packets, queued);
		tarn__eth_count(&q->stats->bytes, bytes);
	}
	if (tarn_unlikely(bad != 0 || i < n))
		tarn__eth_count(&q->stats->errors, bad + (uint64_t)(n - i));
	return i;
}

/* --- tx=mmsg (default): sendmmsg() straight from the mbufs --- */

/* Append iovecs for bytes [from, to) of the chain `m`. -1 when more than
 * `max` iovecs would be needed. */
static int iov_range(const struct tarn_mbuf *m, uint32_t from, uint32_t to, struct iovec *iov,
                     unsigned *niov, unsigned max)
{
	uint32_t pos = 0;

	for (; m != NULL && pos < to; m = m->next) {
		const uint32_t a = pos, b = pos + m->data_len;
		pos = b;
		if (b <= from || m->data_len == 0)
			continue;
		const uint32_t lo = a < from ? from : a, hi = b < to ? b : to;
		if (*niov == max)
			return -1;
		iov[*niov].iov_base = tarn_pktmbuf_mtod_offset(m, uint8_t *, lo - a);
		iov[*niov].iov_len = hi - lo;
		(*niov)++;
	}
	return 0;
}

/* mmsg_set() for a chain or a packet with tags. */
static int mmsg_set_slow(struct afp_txq *q, unsigned k, const struct tarn_mbuf *m, unsigned ntags)
{
	struct iovec *iov = &q->iov[k * AFP_MMSG_MAXIOV];
	unsigned niov = 0;

	if (ntags == 0) {
		if (iov_range(m, 0, m->pkt_len, iov, &niov, AFP_MMSG_MAXIOV) < 0)
			return -1;
	} else {
		uint8_t *t = q->tags[k];
		const uint32_t a = 2 * TARN_ETHER_ADDR_LEN;
		if (ntags == 2) {
			t[0] = AFP_TPID_8021AD >> 8, t[1] = AFP_TPID_8021AD & 0xff;
			t[2] = (uint8_t)(m->vlan_tci_outer >> 8), t[3] = (uint8_t)m->vlan_tci_outer;
		}
		uint8_t *u = t + (ntags - 1) * AFP_VLAN_HLEN;
		u[0] = AFP_TPID_8021Q >> 8, u[1] = AFP_TPID_8021Q & 0xff;
		u[2] = (uint8_t)(m->vlan_tci >> 8), u[3] = (uint8_t)m->vlan_tci;
		if (iov_range(m, 0, a, iov, &niov, AFP_MMSG_MAXIOV - 1) < 0)
			return -1;
		iov[niov].iov_base = t;
		iov[niov].iov_len = ntags * AFP_VLAN_HLEN;
		niov++;
		if (iov_range(m, a, m->pkt_len, iov, &niov, AFP_MMSG_MAXIOV) < 0)
			return -1;
	}
	q->msgs[k].msg_hdr.msg_iov = iov;
	q->msgs[k].msg_hdr.msg_iovlen = niov;
	return 0;
}

/* Describe packet `m` as message `k` of the batch. -1 when it has too many
 * segments for one message. */
static inline int mmsg_set(struct afp_txq *q, unsigned k, const struct tarn_mbuf *m, unsigned ntags)
{
	if (tarn_likely(ntags == 0 && m->next == NULL)) {
		struct iovec *iov = &q->iov[k * AFP_MMSG_MAXIOV];
		iov->iov_base = tarn_pktmbuf_mtod(m, void *);
		iov->iov_len = m->data_len;
		q->msgs[k].msg_hdr.msg_iov = iov;
		q->msgs[k].msg_hdr.msg_iovlen = 1;
		return 0;
	}
	return mmsg_set_slow(q, k, m, ntags);
}

static uint16_t tx_mmsg(struct afp_txq *q, struct tarn_mbuf **pkts, uint16_t n)
{
	/* relaxed: a value mtu_set may change while we run; either is fine */
	const uint32_t mtu = __atomic_load_n(&q->mtu, __ATOMIC_RELAXED);
	uint16_t i = 0, taken = 0;
	uint64_t sent = 0, bytes = 0, bad = 0;
	uint64_t bad_at[AFP_MMSG_BATCH]; /* bad packets before each message */

	while (i < n) {
		unsigned k = 0;
		/* One batch: the next packets, the bad ones skipped (taken). */
		while (i < n && k < AFP_MMSG_BATCH) {
			const struct tarn_mbuf *m = pkts[i];
			unsigned ntags;
			if (tarn_unlikely(tx_wire_len(q, m, mtu, &ntags) == 0) ||
			    tarn_unlikely(mmsg_set(q, k, m, ntags) < 0)) {
				bad++;
				i++;
				continue;
			}
			q->msg_pkt[k] = i;
			bad_at[k] = bad;
			k++;
			i++;
		}
		if (k == 0) {
			taken = i;
			break;
		}
		const int r = sendmmsg(q->fd, q->msgs, k, MSG_DONTWAIT);
		const unsigned ok = r > 0 ? (unsigned)r : 0;
		for (unsigned j = 0; j < ok; j++)
			bytes += q->msgs[j].msg_len;
		sent += ok;
		if (tarn_likely(ok == k)) {
			taken = i;
			continue;
		}
		/* The kernel refused message `ok`: it and what follows stay the
		 * caller's (socket buffer full, or the interface down or gone). */
		if (r < 0 && !kick_soft_error(errno))
			tx_log_down(q, errno);
		taken = q->msg_pkt[ok];
		bad = bad_at[ok];
		break;
	}
	tarn_pktmbuf_free_bulk(pkts, taken);
	if (tarn_likely(sent != 0)) {
		tarn__eth_count(&q->stats->packets, sent);
		tarn__eth_count(&q->stats->bytes, bytes);
	}
	if (tarn_unlikely(bad != 0 || taken < n))
		tarn__eth_count(&q->stats->errors, bad + (uint64_t)(n - taken));
	return taken;
}

static uint16_t afp_tx_burst(void *qd, struct tarn_mbuf **pkts, uint16_t n)
{
	struct afp_txq *q = qd;

	if (tarn_unlikely(n == 0))
		return 0;
	return q->ring_mode ? tx_ring(q, pkts, n) : tx_mmsg(q, pkts, n);
}

/* ------------------------------------------------------------------------ */
/* Interface helpers (control path) */

/* The port's interface for the helpers of linux_if.h; its ioctls are the
 * fault point "afp-ioctl". */
#define AFP_LIF(p)                                                                                 \
	(&(const struct tarn__lif){ (p)->ctl_fd, (p)->ifindex, (p)->ifname, "afp-ioctl" })

static void log_gone(struct tarn__eth_dev *dev, struct afp_port *p)
{
	tarn__lif_log_gone(dev, AFP_LIF(p), &p->gone_logged);
}

/* Smallest framesz for an MTU (see AFP_MAX_PKT). */
static uint32_t min_framesz(uint32_t mtu)
{
	return (uint32_t)TPACKET_ALIGN(AFP_V2_MACOFF + AFP_MAX_PKT(mtu));
}

/* Smallest TPACKET_V3 block for an MTU. */
static uint32_t min_blocksz(uint32_t mtu)
{
	return (uint32_t)(AFP_V3_BLKHDR + AFP_V3_MACOFF + AFP_MAX_PKT(mtu));
}

/* Can the port's rings carry `mtu`? 0 or -EINVAL with a log line. */
static int check_mtu(const struct tarn__eth_dev *dev, const struct afp_port *p, uint32_t mtu,
                     const char *what)
{
	if (p->framesz < min_framesz(mtu)) {
		TARN__ERR(
		    AFP_LOG,
		    "port '%s': %s: framesz %u cannot hold a packet of MTU %u: it needs "
		    "framesz >= %u (MTU + %u bytes of Ethernet header and VLAN tag + %u bytes "
		    "of ring header); give a larger framesz",
		    dev->name, what, p->framesz, mtu, min_framesz(mtu),
		    AFP_ETH_HLEN + AFP_VLAN_HLEN, (unsigned)AFP_V2_MACOFF);
		return -EINVAL;
	}
	if (p->rxring == AFP_RX_V3 && p->blocksz < min_blocksz(mtu)) {
		TARN__ERR(AFP_LOG,
		          "port '%s': %s: blocksz %u cannot hold a packet of MTU %u in a "
		          "TPACKET_V3 block: it needs blocksz >= %u",
		          dev->name, what, p->blocksz, mtu, min_blocksz(mtu));
		return -EINVAL;
	}
	return 0;
}

static int open_error(const struct tarn__eth_dev *dev, const char *what, int err)
{
	if (err == EPERM || err == EACCES) {
		TARN__ERR(AFP_LOG,
		          "port '%s': %s: %s: af_packet ports need CAP_NET_RAW (run as root, or "
		          "grant it: setcap cap_net_raw,cap_net_admin+ep PROGRAM)",
		          dev->name, what, strerror(err));
		return -EPERM;
	}
	TARN__ERR(AFP_LOG, "port '%s': %s: %s", dev->name, what, strerror(err));
	return -err;
}

/* ------------------------------------------------------------------------ */
/* Rings (control path) */

struct afp_geom {
	uint32_t block_size, block_nr, frame_size, frame_nr;
};

static void ring_geom(const struct afp_port *p, uint32_t nb_desc, struct afp_geom *g)
{
	const uint32_t want = p->framecnt != 0 ? p->framecnt : nb_desc;
	const uint32_t fpb = p->blocksz / p->framesz;

	g->block_size = p->blocksz;
	g->frame_size = p->framesz;
	g->block_nr = (want + fpb - 1) / fpb;
	g->frame_nr = g->block_nr * fpb;
}

static int ring_check(const struct tarn__eth_dev *dev, const struct afp_port *p, uint32_t nb_desc,
                      const char *dir, uint16_t queue_id)
{
	struct afp_geom g;

	ring_geom(p, nb_desc, &g);
	if ((uint64_t)g.block_nr * g.block_size > AFP_MAX_RING_BYTES) {
		TARN__ERR(AFP_LOG,
		          "port '%s': %s queue %u: a ring of %u blocks of %u bytes is more than "
		          "the %llu bytes allowed (lower framecnt, or the queue's descriptors)",
		          dev->name, dir, (unsigned)queue_id, g.block_nr, g.block_size,
		          AFP_MAX_RING_BYTES);
		return -EINVAL;
	}
	return 0;
}

/* Address of every frame of a ring mapped at `ring`. */
static uint8_t **frame_table(const struct afp_geom *g, uint8_t *ring, int numa)
{
	uint8_t **t = tarn_malloc_socket(sizeof(*t) * g->frame_nr, 0, numa);
	if (t == NULL)
		return NULL;
	const uint32_t fpb = g->block_size / g->frame_size;
	for (uint32_t i = 0; i < g->frame_nr; i++)
		t[i] = ring + (size_t)(i / fpb) * g->block_size + (size_t)(i % fpb) * g->frame_size;
	return t;
}

static int sockopt_int(int fd, int opt, int val)
{
	return TARN__FAULT("afp-setsockopt", ENOPROTOOPT) ||
	               setsockopt(fd, SOL_PACKET, opt, &val, sizeof(val)) < 0
	           ? -errno
	           : 0;
}

static void rxq_close(struct afp_rxq *q)
{
	if (q->ring != NULL)
		munmap(q->ring, q->ring_len);
	if (q->fd >= 0)
		close(q->fd);
	tarn_free(q->frames);
	q->ring = NULL;
	q->frames = NULL;
	q->fd = -1;
}

static void txq_close(struct afp_txq *q)
{
	if (q->ring != NULL)
		munmap(q->ring, q->ring_len);
	if (q->fd >= 0)
		close(q->fd);
	tarn_free(q->frames);
	q->ring = NULL;
	q->frames = NULL;
	q->fd = -1;
}

/*
 * Open RX queue `q`'s ring socket. `fanout` is NULL for a lone RX queue, else
 * the group id: -1 for the first queue (the kernel picks a unique id, stored
 * back), then that id. The kernel's unique ids start at 0 after boot, so 0
 * is a valid id.
 */
static int rxq_open(struct tarn__eth_dev *dev, struct afp_port *p, struct afp_rxq *q, int numa,
                    int *fanout)
{
	struct afp_geom g;
	char what[96];
	int rc, fd;

	ring_geom(p, q->nb_desc, &g);
	snprintf(what, sizeof(what), "RX queue %u on %s", (unsigned)q->queue_id, p->ifname);
	fd = TARN__FAULT("afp-socket", EMFILE) ? -1 : socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return open_error(dev, what, errno);
	q->fd = fd;
	q->v3 = p->rxring == AFP_RX_V3;
	rc = sockopt_int(fd, PACKET_VERSION, q->v3 ? TPACKET_V3 : TPACKET_V2);
	if (rc < 0) {
		TARN__ERR(AFP_LOG, "port '%s': %s: PACKET_VERSION %s: %s", dev->name, what,
		          q->v3 ? "TPACKET_V3" : "TPACKET_V2", strerror(-rc));
		goto fail;
	}
	if (q->v3) {
		struct tpacket_req3 req;
		memset(&req, 0, sizeof(req));
		req.tp_block_size = g.block_size;
		req.tp_block_nr = g.block_nr;
		req.tp_frame_size = g.frame_size;
		req.tp_frame_nr = g.frame_nr;
		req.tp_retire_blk_tov = AFP_V3_BLOCK_TMO_MS;
		rc = TARN__FAULT("afp-rx-ring", ENOMEM) ||
		             setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof(req)) < 0
		         ? -errno
		         : 0;
	} else {
		struct tpacket_req req;
		memset(&req, 0, sizeof(req));
		req.tp_block_size = g.block_size;
		req.tp_block_nr = g.block_nr;
		req.tp_frame_size = g.frame_size;
		req.tp_frame_nr = g.frame_nr;
		rc = TARN__FAULT("afp-rx-ring", ENOMEM) ||
		             setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof(req)) < 0
		         ? -errno
		         : 0;
	}
	if (rc < 0) {
		TARN__ERR(AFP_LOG,
		          "port '%s': %s: cannot make a receive ring of %u blocks of %u bytes "
		          "(frames of %u): %s",
		          dev->name, what, g.block_nr, g.block_size, g.frame_size, strerror(-rc));
		goto fail;
	}
	q->ring_len = (size_t)g.block_nr * g.block_size;
	void *map = TARN__FAULT("afp-mmap", ENOMEM)
	                ? MAP_FAILED
	                : mmap(NULL, q->ring_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		rc = -errno;
		TARN__ERR(AFP_LOG, "port '%s': %s: mmap of the %zu-byte receive ring: %s",
		          dev->name, what, q->ring_len, strerror(-rc));
		goto fail;
	}
	q->ring = map;
	if (q->v3) {
		q->nb_slots = g.block_nr;
		q->block_size = g.block_size;
	} else {
		q->nb_slots = g.frame_nr;
		q->frames = frame_table(&g, q->ring, numa);
		if (q->frames == NULL) {
			rc = -ENOMEM;
			TARN__ERR(AFP_LOG, "port '%s': %s: out of memory", dev->name, what);
			goto fail;
		}
	}
	q->cur = 0;
	q->blk_left = 0;
	q->blk_pkt = NULL;
	q->polls = 0;
	rc = sockopt_int(fd, PACKET_IGNORE_OUTGOING, 1);
	q->skip_outgoing = rc < 0;
	if (rc < 0)
		TARN__INFO(AFP_LOG,
		           "port '%s': %s: no PACKET_IGNORE_OUTGOING (%s): outgoing packets are "
		           "dropped after the copy",
		           dev->name, what, strerror(-rc));

	struct sockaddr_ll sll;
	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ALL);
	sll.sll_ifindex = p->ifindex;
	if (TARN__FAULT("afp-bind", EADDRNOTAVAIL) ||
	    bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		rc = -errno;
		TARN__ERR(AFP_LOG, "port '%s': %s: bind: %s", dev->name, what, strerror(-rc));
		goto fail;
	}
	if (fanout != NULL) {
		int arg = *fanout < 0 ? (PACKET_FANOUT_HASH | PACKET_FANOUT_FLAG_UNIQUEID) << 16
		                      : (PACKET_FANOUT_HASH << 16) | *fanout;
		rc = sockopt_int(fd, PACKET_FANOUT, arg);
		if (rc < 0) {
			TARN__ERR(AFP_LOG,
			          "port '%s': %s: cannot join a PACKET_FANOUT_HASH group%s: %s "
			          "(%u RX queues need Linux >= 4.5)",
			          dev->name, what, *fanout >= 0 ? "" : " with a unique id",
			          strerror(-rc), (unsigned)dev->nb_rxq);
			goto fail;
		}
		if (*fanout < 0) {
			/* The group id in the low 16 bits; the kernel hands out
			 * unique ids from 0 after boot, so any value is an id. */
			int val = 0;
			socklen_t sl = sizeof(val);
			if (TARN__FAULT("afp-getsockopt", ENOPROTOOPT) ||
			    getsockopt(fd, SOL_PACKET, PACKET_FANOUT, &val, &sl) < 0) {
				rc = -errno;
				TARN__ERR(AFP_LOG,
				          "port '%s': %s: cannot read the fanout group id: %s",
				          dev->name, what, strerror(-rc));
				goto fail;
			}
			*fanout = val & 0xffff;
		}
	}
	return 0;
fail:
	rxq_close(q);
	return rc;
}

static int txq_open(struct tarn__eth_dev *dev, struct afp_port *p, struct afp_txq *q, int numa)
{
	struct afp_geom g;
	char what[96];
	int rc, fd;

	ring_geom(p, q->nb_desc, &g);
	snprintf(what, sizeof(what), "TX queue %u on %s", (unsigned)q->queue_id, p->ifname);
	fd = TARN__FAULT("afp-socket", EMFILE) ? -1 : socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return open_error(dev, what, errno);
	q->fd = fd;
	q->ring_mode = (uint8_t)p->tx_ring;
	q->max_data = g.frame_size - (uint32_t)AFP_TX_DATAOFF;
	q->down = 0;
	q->err_logged = 0;
	if (p->qdisc_bypass) {
		rc = sockopt_int(fd, PACKET_QDISC_BYPASS, 1);
		if (rc < 0)
			TARN__WARN(AFP_LOG,
			           "port '%s': %s: PACKET_QDISC_BYPASS: %s (going through "
			           "the qdisc)",
			           dev->name, what, strerror(-rc));
	}
	/* Room in the socket for a ring's worth of packets in flight (best
	 * effort: without CAP_NET_ADMIN the kernel caps it at net.core.wmem_max). */
	int sndbuf = (int)(g.frame_nr * (g.frame_size + 512u));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof(sndbuf)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));

	if (q->ring_mode) {
		rc = sockopt_int(fd, PACKET_VERSION, TPACKET_V2);
		if (rc == 0)
			rc = sockopt_int(fd, PACKET_LOSS, 1);
		if (rc < 0) {
			TARN__ERR(AFP_LOG, "port '%s': %s: TPACKET_V2 / PACKET_LOSS: %s", dev->name,
			          what, strerror(-rc));
			goto fail;
		}
		struct tpacket_req req;
		memset(&req, 0, sizeof(req));
		req.tp_block_size = g.block_size;
		req.tp_block_nr = g.block_nr;
		req.tp_frame_size = g.frame_size;
		req.tp_frame_nr = g.frame_nr;
		if (TARN__FAULT("afp-tx-ring", ENOMEM) ||
		    setsockopt(fd, SOL_PACKET, PACKET_TX_RING, &req, sizeof(req)) < 0) {
			rc = -errno;
			TARN__ERR(AFP_LOG,
			          "port '%s': %s: cannot make a transmit ring of %u blocks of %u "
			          "bytes (frames of %u): %s",
			          dev->name, what, g.block_nr, g.block_size, g.frame_size,
			          strerror(-rc));
			goto fail;
		}
		q->ring_len = (size_t)g.block_nr * g.block_size;
		void *map =
		    TARN__FAULT("afp-mmap", ENOMEM)
		        ? MAP_FAILED
		        : mmap(NULL, q->ring_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (map == MAP_FAILED) {
			rc = -errno;
			TARN__ERR(AFP_LOG, "port '%s': %s: mmap of the %zu-byte transmit ring: %s",
			          dev->name, what, q->ring_len, strerror(-rc));
			goto fail;
		}
		q->ring = map;
		q->frames = frame_table(&g, q->ring, numa);
		if (q->frames == NULL) {
			rc = -ENOMEM;
			TARN__ERR(AFP_LOG, "port '%s': %s: out of memory", dev->name, what);
			goto fail;
		}
		q->nb_frames = g.frame_nr;
		q->cur = 0;
	} else {
		for (unsigned k = 0; k < AFP_MMSG_BATCH; k++)
			memset(&q->msgs[k], 0, sizeof(q->msgs[k]));
	}
	struct sockaddr_ll sll;
	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = 0; /* transmit only: no receive hook */
	sll.sll_ifindex = p->ifindex;
	if (TARN__FAULT("afp-bind", EADDRNOTAVAIL) ||
	    bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		rc = -errno;
		TARN__ERR(AFP_LOG, "port '%s': %s: bind: %s", dev->name, what, strerror(-rc));
		goto fail;
	}
	return 0;
fail:
	txq_close(q);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Control path: ops */

/* What the key table cannot say: blocksz against the page size and framesz. */
static int keys_check(struct tarn__eth_dev *dev, struct afp_port *p)
{
	const uint32_t page = (uint32_t)sysconf(_SC_PAGESIZE);

	if (p->blocksz == 0)
		p->blocksz = (p->framesz + page - 1) / page * page;
	if (p->blocksz % page != 0 || p->blocksz < p->framesz) {
		TARN__ERR(AFP_LOG,
		          "port spec '%s': blocksz %u must be a multiple of the page size (%u) "
		          "and at least framesz (%u)",
		          dev->spec, p->blocksz, page, p->framesz);
		return -EINVAL;
	}
	return 0;
}

static int afp_create(struct tarn__eth_dev *dev, const struct tarn__eth_spec *spec)
{
	struct afp_port *p = dev->priv;
	int rc;

	p->ctl_fd = -1;
	rc = keys_check(dev, p);
	if (rc < 0)
		return rc;
	p->ctl_fd =
	    TARN__FAULT("afp-socket", EMFILE) ? -1 : socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (p->ctl_fd < 0)
		return open_error(dev, "cannot open an AF_PACKET socket", errno);

	rc = tarn__lif_index(p->ctl_fd, "afp-ioctl", dev->spec, p->ifname, &p->ifindex);
	if (rc < 0)
		goto fail;

	struct tarn_ether_addr if_mac;
	rc = tarn__lif_hwaddr(AFP_LIF(p), dev->spec, &if_mac);
	if (rc < 0)
		goto fail;
	if (tarn__eth_spec_get(spec, "mac") != NULL) {
		/* mac=: the interface takes it */
		rc = tarn__lif_set_mac(AFP_LIF(p), dev->name, &dev->mac);
		if (rc < 0)
			goto fail;
	} else {
		dev->mac = if_mac;
	}
	rc = tarn__lif_mtu(AFP_LIF(p), dev->spec, &p->mtu_known);
	if (rc < 0)
		goto fail;
	rc = check_mtu(dev, p, p->mtu_known, p->ifname);
	if (rc < 0)
		goto fail;
	dev->mtu = p->mtu_known;
	dev->promiscuous = 0;
	dev->numa_node = tarn__lif_numa_node(p->ifname);
	TARN__INFO(AFP_LOG,
	           "port '%s': af_packet on %s (index %d), MTU %u, %s receive ring, frames of %u "
	           "in blocks of %u",
	           dev->name, p->ifname, p->ifindex, p->mtu_known,
	           p->rxring == AFP_RX_V3 ? "TPACKET_V3" : "TPACKET_V2", p->framesz, p->blocksz);
	return 0;
fail:
	close(p->ctl_fd);
	p->ctl_fd = -1;
	return rc;
}

static void afp_close(struct tarn__eth_dev *dev)
{
	struct afp_port *p = dev->priv;

	/* Closing the socket drops the promiscuous membership. */
	if (p->ctl_fd >= 0)
		close(p->ctl_fd);
	p->ctl_fd = -1;
	p->promisc = 0;
}

/* ethdev checked the queue against qpairs and the pool: its mbufs have
 * room after the headroom. */
static int afp_rx_queue_setup(struct tarn__eth_dev *dev, void *qd, const struct tarn__eth_qconf *c)
{
	struct afp_port *p = dev->priv;
	struct afp_rxq *q = qd;
	int rc = ring_check(dev, p, c->nb_desc, "RX", c->id);

	if (rc < 0)
		return rc;
	q->fd = -1;
	q->mp = c->mp;
	q->stats = c->stats;
	q->port_id = dev->port_id;
	q->queue_id = c->id;
	q->nb_desc = c->nb_desc;
	q->room = (uint16_t)(tarn_pktmbuf_data_room_size(c->mp) - TARN_PKTMBUF_HEADROOM);
	return 0;
}

static int afp_tx_queue_setup(struct tarn__eth_dev *dev, void *qd, const struct tarn__eth_qconf *c)
{
	struct afp_port *p = dev->priv;
	struct afp_txq *q = qd;
	int rc = ring_check(dev, p, c->nb_desc, "TX", c->id);

	if (rc < 0)
		return rc;
	q->fd = -1;
	q->stats = c->stats;
	q->port_id = dev->port_id;
	q->queue_id = c->id;
	q->nb_desc = c->nb_desc;
	q->mtu = dev->mtu;
	memcpy(q->ifname, p->ifname, IFNAMSIZ);
	return 0;
}

/* The sockets were closed at stop; closing again is harmless. */
static void afp_rx_queue_release(struct tarn__eth_dev *dev, void *q)
{
	(void)dev;
	rxq_close(q);
}

static void afp_tx_queue_release(struct tarn__eth_dev *dev, void *q)
{
	(void)dev;
	txq_close(q);
}

static int promisc_apply(struct tarn__eth_dev *dev, struct afp_port *p, int on)
{
	return tarn__lif_promisc(AFP_LIF(p), dev, on, &p->promisc, &p->gone_logged);
}

static int mtu_apply(struct tarn__eth_dev *dev, struct afp_port *p, uint32_t mtu)
{
	int rc = check_mtu(dev, p, mtu, "mtu_set");
	if (rc < 0)
		return rc;
	rc = tarn__lif_set_mtu(AFP_LIF(p), dev->name, mtu, "");
	if (rc < 0)
		return rc;
	p->mtu_known = mtu;
	for (uint16_t q = 0; q < TARN_ETH_MAX_QUEUES; q++) {
		struct afp_txq *txq = dev->txq[q];
		if (txq != NULL) /* relaxed: the TX path reads it once per burst */
			__atomic_store_n(&txq->mtu, mtu, __ATOMIC_RELAXED);
	}
	return 0;
}

static void afp_stop(struct tarn__eth_dev *dev)
{
	for (uint16_t q = 0; q < TARN_ETH_MAX_QUEUES; q++) {
		struct afp_txq *txq = dev->txq[q];
		struct afp_rxq *rxq = dev->rxq[q];
		if (txq != NULL && txq->fd >= 0) {
			/* Whatever a soft error left queued goes now. */
			(void)sendto(txq->fd, NULL, 0, MSG_DONTWAIT, NULL, 0);
			txq_close(txq);
		}
		if (rxq != NULL && rxq->fd >= 0) {
			rx_sync_drops(rxq);
			rxq_close(rxq);
		}
	}
}

static int afp_start(struct tarn__eth_dev *dev)
{
	struct afp_port *p = dev->priv;
	char name[IFNAMSIZ];
	int rc = tarn__lif_name_now(AFP_LIF(p), name);

	if (rc < 0) {
		log_gone(dev, p);
		return -ENODEV;
	}
	rc = tarn__lif_start_check(AFP_LIF(p), dev->name, name);
	if (rc < 0)
		return rc;
	/* What configure asked (ethdev records it without calling the ops). */
	if (dev->mtu != p->mtu_known) {
		rc = mtu_apply(dev, p, dev->mtu);
		if (rc < 0)
			return rc;
	}
	if (dev->promiscuous != p->promisc) {
		rc = promisc_apply(dev, p, dev->promiscuous);
		if (rc < 0)
			return rc;
	}

	int fanout = -1;
	for (uint16_t q = 0; q < dev->nb_txq; q++) {
		struct afp_txq *txq = dev->txq[q];
		__atomic_store_n(&txq->mtu, dev->mtu, __ATOMIC_RELAXED);
		rc = txq_open(dev, p, txq, dev->socket);
		if (rc < 0)
			goto fail;
	}
	for (uint16_t q = 0; q < dev->nb_rxq; q++) {
		rc = rxq_open(dev, p, dev->rxq[q], dev->socket, dev->nb_rxq > 1 ? &fanout : NULL);
		if (rc < 0)
			goto fail;
	}
	if (dev->nb_rxq > 1)
		TARN__INFO(AFP_LOG, "port '%s': %u RX queues in fanout group %u", dev->name,
		           (unsigned)dev->nb_rxq, (unsigned)fanout);
	return 0;
fail:
	afp_stop(dev);
	return rc;
}

static int afp_link_get(struct tarn__eth_dev *dev, struct tarn_eth_link *link)
{
	struct afp_port *p = dev->priv;

	return tarn__lif_link(AFP_LIF(p), dev, &p->gone_logged, link);
}

static int afp_promisc_set(struct tarn__eth_dev *dev, int on)
{
	return promisc_apply(dev, dev->priv, on);
}

static int afp_mtu_set(struct tarn__eth_dev *dev, uint32_t mtu)
{
	return mtu_apply(dev, dev->priv, mtu);
}

static int afp_mac_set(struct tarn__eth_dev *dev, const struct tarn_ether_addr *mac)
{
	struct afp_port *p = dev->priv;

	return tarn__lif_set_mac(AFP_LIF(p), dev->name, mac);
}

const struct tarn__eth_driver tarn__eth_af_packet_driver = {
	.name = "af_packet",
	.summary = "Linux interface through PACKET_MMAP rings",
	.keys = afp_keys,
	.priv_size = sizeof(struct afp_port),
	.rxq_size = sizeof(struct afp_rxq),
	.txq_size = sizeof(struct afp_txq),
	.rx_data_min = 1,
	.create = afp_create,
	.close = afp_close,
	.rx_queue_setup = afp_rx_queue_setup,
	.tx_queue_setup = afp_tx_queue_setup,
	.rx_queue_release = afp_rx_queue_release,
	.tx_queue_release = afp_tx_queue_release,
	.start = afp_start,
	.stop = afp_stop,
	.link_get = afp_link_get,
	.promisc_set = afp_promisc_set,
	.mtu_set = afp_mtu_set,
	.mac_set = afp_mac_set,
	.rx_burst = afp_rx_burst,
	.tx_burst = afp_tx_burst,
};
