/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * afp_priv.h - internal to the "af_packet" driver: ports on Linux network
 * interfaces through PACKET_MMAP rings shared with the kernel. Never
 * installed.
 *
 *   af_packet:iface=NAME[,qpairs=N][,framesz=B][,framecnt=N][,blocksz=B]
 *             [,rxring=v2|v3][,tx=mmsg|ring][,qdisc_bypass=1|0]
 *
 * docs/drivers/af_packet.md describes the keys, the errors and the counters.
 * The driver's files, by concern:
 *   ctrl.c  the keys, create/close, queue setup, start/stop, the MTU rule
 *   ring.c  the queues' sockets and rings, opened at start, closed at stop
 *   rx.c    receive: copy from the ring into mbufs (fast path)
 *   tx.c    transmit: sendmmsg() from the mbufs, or a transmit ring (fast path)
 * The link, promiscuous, MTU and MAC ops are drivers/net/common/linux_if.c's.
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
 *   (qdisc_bypass=1, default). tx=mmsg (default): one sendmmsg() per burst
 *   straight from the mbufs; tx=ring: a TPACKET_V2 transmit ring (tx.c says
 *   why mmsg is the default).
 * Sockets are closed at stop; what was in the receive ring is lost then.
 *
 * Every op runs under the ethdev control mutex. The only state the fast path
 * and the control path share is txq->mtu (relaxed atomic: mtu_set may run
 * while the port forwards) and the counters (ethdev_driver_priv.h).
 */
#ifndef TARN_AFP_PRIV_H
#define TARN_AFP_PRIV_H

#include <linux/if_packet.h>
#include <net/if.h>
#include <stdint.h>
#include <sys/socket.h>

#include "../common/linux_if.h"
#include "ethdev_driver_priv.h"
#include "tarn_mbuf.h"

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

/* sendmmsg() transmit: messages per call, and iovecs per message. */
#define AFP_MMSG_BATCH  64u
#define AFP_MMSG_MAXIOV 32u

enum afp_rxring { AFP_RX_V2 = 2, AFP_RX_V3 = 3 };

/* dev->priv: the interface (first: linux_if.h's ops find it there; the
 * iface= key lands in lif.ifname), the other keys (filled by ethdev from
 * the key table of ctrl.c), then what create found. */
struct afp_port {
	struct tarn__lif lif;
	uint32_t qpairs;   /* 0: not given */
	uint32_t framesz;  /* frame size of both rings */
	uint32_t framecnt; /* frames per ring, 0: the queue's nb_desc */
	uint32_t blocksz;  /* block size of both rings, 0 until create computes it */
	enum afp_rxring rxring;
	int tx_ring; /* tx=ring: TPACKET_V2 transmit ring; 0: sendmmsg() */
	uint32_t qdisc_bypass;
};

/* A queue's socket and the ring mapped from it (ring.c). */
struct afp_sock {
	uint8_t *ring;    /* the mapped ring, NULL when none */
	uint8_t **frames; /* frame-per-packet rings: address of each frame */
	size_t ring_len;
	int fd; /* -1 when closed (the port is stopped) */
};

/* One RX queue: the fast-path part first. */
struct afp_rxq {
	struct afp_sock s;
	struct tarn_mempool *mp; /* pool RX allocates from */
	struct tarn__eth_qstats *stats;
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
	uint32_t nb_desc;
	uint16_t queue_id;
} TARN_CACHE_ALIGNED;

/* One TX queue. */
struct afp_txq {
	struct afp_sock s; /* tx=mmsg: no ring */
	uint8_t ring_mode; /* tx=ring: TPACKET_V2 ring; else sendmmsg() */
	uint8_t down;      /* ring: the last kick failed (interface down or gone) */
	uint8_t err_logged;
	uint16_t port_id;
	uint16_t queue_id;
	struct tarn__eth_qstats *stats;
	uint32_t max_data;  /* longest packet a frame holds */
	uint32_t mtu;       /* relaxed atomic: written by mtu_set */
	uint32_t nb_frames; /* tx=ring */
	uint32_t cur;       /* tx=ring: next frame to fill */
	/* Control path. */
	uint32_t nb_desc;
	char ifname[IFNAMSIZ];
	/* sendmmsg(): one batch being built (the queue's thread only). */
	struct mmsghdr msgs[AFP_MMSG_BATCH];
	uint16_t msg_pkt[AFP_MMSG_BATCH]; /* index in the burst of each message */
	uint8_t tags[AFP_MMSG_BATCH][2 * AFP_VLAN_HLEN];
	struct iovec iov[AFP_MMSG_BATCH * AFP_MMSG_MAXIOV];
} TARN_CACHE_ALIGNED;

/* The status word of a ring slot, shared with the kernel. */
static inline uint32_t tarn__afp_ld_acquire(const uint32_t *p)
{
	/* acquire: pairs with the kernel's smp_wmb() before it hands a frame or
	 * block to user space (__packet_set_status / prb_close_block): the
	 * packet data is read after the status. */
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static inline void tarn__afp_st_release(uint32_t *p, uint32_t v)
{
	/* release: every read of the slot (and, on TX, every write of the frame)
	 * happens before the kernel may see it as its own again; the kernel
	 * reads the status with smp_rmb() after it. */
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

/* rx.c */
uint16_t tarn__afp_rx_burst(void *qd, struct tarn_mbuf **pkts, uint16_t n);
/* Add the kernel's drop counter to missed (the polling thread, or stop). */
void tarn__afp_rx_sync_drops(struct afp_rxq *q);

/* tx.c */
uint16_t tarn__afp_tx_burst(void *qd, struct tarn_mbuf **pkts, uint16_t n);

/* ring.c */
/* Refuse a ring over AFP_MAX_RING_BYTES for a queue of nb_desc. 0 or -EINVAL. */
int tarn__afp_ring_check(const struct tarn__eth_dev *dev, const struct afp_port *p,
                         uint32_t nb_desc, const char *dir, uint16_t queue_id);
/* Open RX queue `q`'s ring socket at start; `fanout`: NULL for a lone RX
 * queue, else the group id, -1 for the first queue (the kernel picks one,
 * stored back). 0 or -errno (logged; nothing left open). */
int tarn__afp_rxq_open(struct tarn__eth_dev *dev, struct afp_port *p, struct afp_rxq *q,
                       int *fanout);
/* Open TX queue `q`'s socket (and ring) at start. 0 or -errno (logged). */
int tarn__afp_txq_open(struct tarn__eth_dev *dev, struct afp_port *p, struct afp_txq *q);
/* Close a queue's socket and unmap its ring (harmless when closed). */
void tarn__afp_sock_close(struct afp_sock *s);
/* An error opening a socket, with the CAP_NET_RAW hint for EPERM/EACCES. */
int tarn__afp_open_error(const struct tarn__eth_dev *dev, const char *what, int err);

#endif /* TARN_AFP_PRIV_H */
