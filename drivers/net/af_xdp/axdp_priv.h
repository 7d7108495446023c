/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * axdp_priv.h - internal to the "af_xdp" driver: ports on Linux network
 * interfaces through AF_XDP sockets whose UMEM is the memory of a tarn mbuf
 * pool. Never installed.
 *
 *   af_xdp:iface=NAME[,queue=Q][,queues=N][,mode=auto|native|generic]
 *          [,zerocopy=auto|on|off][,busy_poll=USECS][,attach=link|legacy]
 *
 * docs/drivers/af_xdp.md describes the keys, the errors and the counters.
 * The driver's files, by concern:
 *   ctrl.c  the keys, create/close, queue setup, start/stop, the MTU rule
 *   xsk.c   a queue's AF_XDP socket, opened at start and closed at stop
 *   umem.c  a pool as UMEM: where its objects lie, which frames the kernel
 *           holds, and getting them back
 *   bpf.c   the XDP program that redirects the device queues to the sockets
 *   rx.c    receive (fast path): mbufs handed out as the kernel wrote them
 *   tx.c    transmit (fast path): mbufs sent where they lie, or copied
 * The link, promiscuous, MTU and MAC ops are drivers/net/common/linux_if.c's.
 *
 * Port RX/TX queue i is device queue Q + i, served by one AF_XDP socket
 * (created at start, in the network namespace of the starting thread, and
 * closed at stop). RX queue i's socket carries TX queue i too, so TX queue i
 * sends from the UMEM of RX queue i's pool.
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
 * Every op runs under the ethdev control mutex, and so does everything in
 * bpf.c (its list of programs needs no lock of its own). The fast path and
 * the control path share only txq->mtu (relaxed atomic) and the counters.
 */
#ifndef TARN_AXDP_PRIV_H
#define TARN_AXDP_PRIV_H

#include <net/if.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include <xdp/xsk.h>

#include "../common/linux_if.h"
#include "ethdev_driver_priv.h"
#include "tarn_mbuf.h"

#define AXDP_LOG TARN__ETH_LOG

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

/* mode= of a port: how the XDP program is attached. */
enum axdp_mode {
	AXDP_MODE_AUTO = 0, /* native when the driver has XDP, else generic */
	AXDP_MODE_NATIVE,   /* driver (XDP_FLAGS_DRV_MODE) */
	AXDP_MODE_GENERIC,  /* generic, skb based (XDP_FLAGS_SKB_MODE) */
};

/* zerocopy= of a port. */
enum axdp_zc { AXDP_ZC_AUTO = 0, AXDP_ZC_ON, AXDP_ZC_OFF };

/* dev->priv: the interface (first: linux_if.h's ops find it there; the
 * iface= key lands in lif.ifname), the other keys (filled by ethdev from
 * the key table of ctrl.c), then what create and start hold. */
struct axdp_port {
	struct tarn__lif lif;
	uint32_t queue;  /* first device queue */
	uint32_t queues; /* device queues the port may use */
	enum axdp_mode mode;
	enum axdp_zc zerocopy;
	uint32_t busy_poll;  /* SO_BUSY_POLL microseconds, 0: off */
	int legacy;          /* attach=legacy */
	uint32_t dev_queues; /* queues of the interface at create, 0: unknown */
	struct axdp_prog *prog;
	int attached; /* holds a tarn__axdp_prog_attach() */
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

struct axdp_txq;

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
	uint32_t nb_desc, ring_size, chunk;
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

/* ------------------------------------------------------------------------ */
/* Layout: mbuf <-> UMEM address <-> object index (fast path) */

static inline uint32_t tarn__axdp_idx(const struct axdp_layout *l, const void *obj)
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

static inline uint64_t tarn__axdp_addr(const struct axdp_layout *l, const void *m)
{
	return (uint64_t)((const uint8_t *)m + l->buf_off - l->umem);
}

static inline struct tarn_mbuf *tarn__axdp_mbuf(const struct axdp_layout *l, uint64_t addr)
{
	return (struct tarn_mbuf *)(void *)(l->umem + xsk_umem__extract_addr(addr) - l->buf_off);
}

/* The kernel holds object `i` now. */
static inline void tarn__axdp_bit_set(uint64_t *b, uint32_t i)
{
	b[i >> 6] |= (uint64_t)1 << (i & 63);
}

/* Object `i` came back from the kernel: clear its bit; non-zero if it was
 * set (a frame the kernel held through this queue). */
static inline int tarn__axdp_bit_take(uint64_t *b, uint32_t i)
{
	const uint64_t m = (uint64_t)1 << (i & 63);
	const uint64_t w = b[i >> 6];

	b[i >> 6] = w & ~m;
	return (w & m) != 0;
}

/* ------------------------------------------------------------------------ */
/* Between the files */

/* rx.c */
uint16_t tarn__axdp_rx_burst(void *qd, struct tarn_mbuf **pkts, uint16_t n);
/* Post the owed frames to the fill ring, in bulk from the pool. */
void tarn__axdp_rx_refill(struct axdp_rxq *q);
/* Add the kernel's counters (XDP_STATISTICS) to missed and errors. */
void tarn__axdp_rx_sync(struct axdp_rxq *q);

/* tx.c */
uint16_t tarn__axdp_tx_burst(void *qd, struct tarn_mbuf **pkts, uint16_t n);
/* Take back the frames whose transmission completed. */
void tarn__axdp_tx_reclaim(struct axdp_txq *q);
/* Drive the kernel; 0, or -ENETDOWN when the interface is down or gone. */
int tarn__axdp_tx_kick(struct axdp_txq *q);
void tarn__axdp_tx_sync(struct axdp_txq *q);

/* Both: the kernel's counters of socket `fd` (XDP_STATISTICS). 0, or -1
 * (no socket, or the kernel refused). */
static inline int tarn__axdp_xsk_stats(int fd, struct xdp_statistics *st)
{
	socklen_t len = sizeof(*st);

	memset(st, 0, sizeof(*st));
	return fd >= 0 && getsockopt(fd, SOL_XDP, XDP_STATISTICS, st, &len) == 0 ? 0 : -1;
}

/* umem.c */
/*
 * Work out how the objects of pool `mp` lie in its memzone and check the
 * arithmetic against tarn_mempool_obj_at(); *zc_ok: whether every frame
 * lies in physically contiguous memory, as zero-copy drivers need. 0 or
 * -EINVAL (logged).
 */
int tarn__axdp_layout_init(struct axdp_layout *l, struct tarn_mempool *mp, const char *port,
                           int *zc_ok);
/* The frame bitmaps of a queue pair (txq may be NULL). 0 or -ENOMEM (logged). */
int tarn__axdp_bits_alloc(struct tarn__eth_dev *dev, struct axdp_rxq *rxq, struct axdp_txq *txq);
/* Every object the kernel still holds back to its pool (unless `keep`: a
 * zero-copy driver may still write into them), then free the bitmaps. */
void tarn__axdp_frames_back(struct tarn__eth_dev *dev, struct axdp_rxq *rxq, struct axdp_txq *txq,
                            int keep);
/* Register the pool of `rxq` as the UMEM of its socket, with its fill ring
 * and the completion ring of `txq` (or a spare one). 0 or -errno (logged). */
int tarn__axdp_umem_create(struct tarn__eth_dev *dev, struct axdp_rxq *rxq, struct axdp_txq *txq);

/* xsk.c */
/* Open the AF_XDP socket of RX queue `rxq` and TX queue `txq` (NULL when
 * the port has fewer TX queues), post its fill ring and point the XSKMAP
 * entry at it. 0 or -errno (logged; nothing left open). */
int tarn__axdp_queue_open(struct tarn__eth_dev *dev, struct axdp_rxq *rxq, struct axdp_txq *txq);
/* Close it: in-flight TX drained, the socket closed, every frame back. */
void tarn__axdp_queue_close(struct tarn__eth_dev *dev, struct axdp_rxq *rxq);

/* ------------------------------------------------------------------------ */
/* bpf.c: the XDP program that redirects an interface's queues to AF_XDP
 * sockets, shared by the af_xdp ports of the process on that interface. */

/*
 * Prefix of the names of the programs tarn loads: "tarnxsk_" followed by
 * the loading process id in hexadecimal. A program of that name left
 * attached (legacy attach) by a process that no longer exists is removed by
 * the next start on the interface.
 */
#define AXDP_PROG_PREFIX "tarnxsk_"

/*
 * The program and XSKMAP of one interface (in one network namespace). The
 * program is loaded when the first port on the interface is created, and
 * attached while at least one of them is started.
 */
struct axdp_prog {
	struct axdp_prog *next;
	int ifindex;
	uint64_t ns_dev, ns_ino; /* network namespace (/proc/thread-self/ns/net) */
	char ifname[IFNAMSIZ];   /* name when loaded (for messages) */
	int prog_fd, map_fd;
	int link_fd; /* bpf_link of the attachment, -1 if none */
	uint32_t prog_id;
	uint32_t map_entries;  /* XSKMAP size: the interface's queues */
	unsigned users;        /* ports that hold it (create .. close) */
	unsigned started;      /* ports started (attached while > 0) */
	uint32_t attach_flags; /* XDP_FLAGS_DRV_MODE or _SKB_MODE while attached */
	int legacy;            /* attached through netlink, not a bpf_link */
	uint8_t *queue_owner;  /* map_entries bytes: port id + 1 using each queue, 0: free */
};

/*
 * Find or load the program of interface `ifindex` for port `port_id` and
 * claim queues [first, first + count) of it. Checks what is attached to the
 * interface now: another program (not tarn's, or tarn's of a live process)
 * is an error; a tarn program left by a dead process is removed.
 * Returns 0 with *out set, or a negative errno with a log line:
 * -EPERM (no CAP_BPF/CAP_SYS_ADMIN/CAP_NET_ADMIN), -EBUSY (queues taken by
 * another port, or another XDP program on the interface), -ENOMEM,
 * -EOPNOTSUPP (no BPF/XSKMAP support in the kernel).
 */
int tarn__axdp_prog_get(const char *port, uint16_t port_id, int ifindex, const char *ifname,
                        uint32_t nb_dev_queues, uint32_t first, uint32_t count,
                        struct axdp_prog **out);

/* Release what tarn__axdp_prog_get() took; the last user unloads the program. */
void tarn__axdp_prog_put(struct axdp_prog *p, uint32_t first, uint32_t count);

/*
 * Attach the program (first started port) in `mode`, or check that the
 * attached one is in a mode `mode` accepts. `legacy`: netlink attach
 * instead of a bpf_link. Returns 0 or a negative errno with a log line
 * (-EBUSY: another program is attached; -EOPNOTSUPP: the mode is not
 * available; -EINVAL: the program is attached in another mode).
 */
int tarn__axdp_prog_attach(struct axdp_prog *p, const char *port, enum axdp_mode mode, int legacy);

/* Undo one tarn__axdp_prog_attach(); the last one detaches the program. */
void tarn__axdp_prog_detach(struct axdp_prog *p);

/* Point XSKMAP entry `qid` at the AF_XDP socket `fd`. 0 or -errno (logged). */
int tarn__axdp_prog_map_set(struct axdp_prog *p, const char *port, uint32_t qid, int fd);

/* Clear XSKMAP entry `qid` (closing the socket clears it too). */
void tarn__axdp_prog_map_clear(struct axdp_prog *p, uint32_t qid);

/* "native" or "generic" while attached, else "detached". */
const char *tarn__axdp_prog_mode_name(const struct axdp_prog *p);

#endif /* TARN_AXDP_PRIV_H */
