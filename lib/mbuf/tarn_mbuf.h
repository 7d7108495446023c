/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file tarn_mbuf.h
 * Packet buffers (mbufs) on tarn pools.
 *
 * ## Layout of one pool object
 *
 * ```
 *  | struct tarn_mbuf (128 B) | private area (priv_size) | headroom | data ... | tailroom |
 *  ^ m                        ^ tarn_mbuf_to_priv(m)     ^ buf_addr ^ buf_addr + data_off
 *                                                        |<---------- buf_len --------->|
 * ```
 *
 * An mbuf pool (tarn_pktmbuf_pool_create()) is a tarn mempool whose objects
 * are `sizeof(struct tarn_mbuf) + priv_size + data_room_size` bytes, each
 * initialised once at creation. As in DPDK, **`data_room_size` includes the
 * headroom**: it is the whole buffer (`buf_len`), and an mbuf fresh from
 * tarn_pktmbuf_alloc() has `min(TARN_PKTMBUF_HEADROOM, buf_len)` bytes of
 * headroom and the rest as tailroom. Pass TARN_MBUF_DEFAULT_BUF_SIZE (2048 +
 * 128) to get 2048 bytes of room for packet data after the default headroom.
 * A `data_room_size` of 0 makes buffer-less mbufs, fit only for clones.
 *
 * ## The descriptor
 *
 * struct tarn_mbuf is 128 bytes, two cache lines. The first line holds what a
 * receive path writes (lengths, flags, packet type, RSS hash, VLAN, port) and
 * what alloc and free read and write (buffer address, data offset, reference
 * count, segment count, pool, next segment): allocating, receiving, freeing
 * and forwarding a single-segment packet touch only that line. The second
 * line holds the buffer's IOVA (read by DMA drivers when they post a
 * buffer), the transmit offload lengths, the link to the direct mbuf of a
 * clone, a timestamp and fields free for the application.
 *
 * ## Segments, chains and clones
 *
 * A packet is a chain of segments linked by `next`. Its first segment (the
 * head) carries `pkt_len` (sum of the segments' `data_len`) and `nb_segs`;
 * the other segments have `nb_segs` 1. A **direct** mbuf owns its buffer. An
 * **indirect** mbuf (a clone, tarn_pktmbuf_clone(), tarn_pktmbuf_attach())
 * points at the buffer of a direct mbuf and holds a reference on it: the
 * direct mbuf's `refcnt` counts its own owner plus every mbuf attached to it,
 * and it goes back to its pool only when the last reference goes. A clone of
 * a clone attaches to the original direct mbuf.
 *
 * ## Reference counts and thread safety
 *
 * An mbuf has one owner at a time: its fields and data are not synchronised,
 * and only the owner reads or writes them. The exception is `refcnt`, which
 * several owners may share (clones, or explicit references taken with
 * tarn_mbuf_refcnt_update()): a reference count of 1 means "owned
 * exclusively", so it is read with one (acquire) load and set with a plain
 * store, without atomic read-modify-write; above 1, every update is an atomic
 * read-modify-write (acquire-release, so that the thread that drops the last
 * reference sees every write the other owners made before dropping theirs).
 * Freeing an mbuf, a chain or a clone, attaching and detaching are therefore
 * thread-safe with respect to other owners of the same buffer; everything else
 * is the owner's business. The free mbufs of a pool have refcnt 1, `next`
 * NULL, `nb_segs` 1 and are direct.
 *
 * ## What the fast path trusts
 *
 * The static inline calls (alloc, alloc_bulk, free, free_bulk, mtod,
 * headroom, tailroom, prepend, append, adj, trim, refcnt) check NULL
 * arguments (an error or a no-op, as each says), but trust that a non-NULL
 * mbuf is a live mbuf of a tarn mbuf pool, as DPDK's do. Two debug modes
 * check more:
 * - **`TARN_DEBUG=mbuf`** in the environment (a comma-separated list; `all`
 *   works too) when a pool is created: its mbufs are marked so that every
 *   free takes the out-of-line path, which runs tarn_mbuf_check() on the
 *   packet and refuses (logs, counts, leaks rather than corrupts) a bad one;
 *   the pool is also created in mempool debug mode, which catches double
 *   frees and foreign pointers. Pools created without it pay nothing.
 * - **`#define TARN_MBUF_DEBUG`** before including tarn headers: every inline
 *   call in that translation unit sanity-checks its mbuf and fails as for an
 *   invalid argument (logging the reason) when the check fails.
 *
 * Every function needs tarn_init() first.
 */
#ifndef TARN_MBUF_H
#define TARN_MBUF_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "tarn_env.h"
#include "tarn_mem.h"
#include "tarn_mempool.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/** @name Sizes and limits */
/**@{*/

/** Headroom left in front of the data of a freshly allocated mbuf. */
#ifndef TARN_PKTMBUF_HEADROOM
#define TARN_PKTMBUF_HEADROOM 128
#endif
/** Default room for packet data after the headroom. */
#define TARN_MBUF_DEFAULT_DATAROOM 2048
/**
 * Default `data_room_size` for tarn_pktmbuf_pool_create(): the data room
 * plus the headroom (the data room size includes the headroom).
 */
#define TARN_MBUF_DEFAULT_BUF_SIZE (TARN_MBUF_DEFAULT_DATAROOM + TARN_PKTMBUF_HEADROOM)
/** Largest `data_room_size` (buf_len is 16 bits). */
#define TARN_MBUF_MAX_DATAROOM UINT16_MAX
/** Largest per-mbuf private area; it must also be a multiple of TARN_MBUF_PRIV_ALIGN. */
#define TARN_MBUF_MAX_PRIV_SIZE UINT16_MAX
/** Alignment (and granularity) of the per-mbuf private area. */
#define TARN_MBUF_PRIV_ALIGN 8
/** Most segments in one packet (nb_segs is 16 bits). */
#define TARN_MBUF_MAX_SEGS UINT16_MAX
/** `port` of an mbuf that did not come from a port. */
#define TARN_MBUF_PORT_INVALID UINT16_MAX
/** Largest reference count. */
#define TARN_MBUF_MAX_REFCNT UINT16_MAX
/** tarn_pktmbuf_copy() length meaning "to the end of the packet". */
#define TARN_MBUF_COPY_ALL UINT32_MAX
/**@}*/

/* ------------------------------------------------------------------------ */
/** @name Offload flags (`ol_flags`)
 * Receive flags (bits 0-31) are set by a port's receive path and say what it
 * found; transmit flags (bits 32-63) are set by the application and ask a
 * port to do something on transmit. A field the flags describe (vlan_tci,
 * hash.rss, hash.orig_len, timestamp, the transmit lengths) is meaningful
 * only when its flag is set.
 */
/**@{*/

/** RX: `vlan_tci` holds the packet's (outer-most, or only) VLAN tag. */
#define TARN_MBUF_F_RX_VLAN (1ULL << 0)
/** RX: that VLAN tag was removed from the packet data. */
#define TARN_MBUF_F_RX_VLAN_STRIPPED (1ULL << 1)
/** RX: `hash.rss` holds the RSS hash the port computed. */
#define TARN_MBUF_F_RX_RSS_HASH (1ULL << 2)
/** RX: IPv4 header checksum checked, good. */
#define TARN_MBUF_F_RX_IP_CKSUM_GOOD (1ULL << 3)
/** RX: IPv4 header checksum checked, bad. */
#define TARN_MBUF_F_RX_IP_CKSUM_BAD (1ULL << 4)
/** RX: L4 (TCP, UDP, SCTP) checksum checked, good. */
#define TARN_MBUF_F_RX_L4_CKSUM_GOOD (1ULL << 5)
/** RX: L4 checksum checked, bad. */
#define TARN_MBUF_F_RX_L4_CKSUM_BAD (1ULL << 6)
/** RX: outer IPv4 checksum of a tunnelled packet is bad. */
#define TARN_MBUF_F_RX_OUTER_IP_CKSUM_BAD (1ULL << 7)
/** RX: `vlan_tci_outer` holds the outer tag of a QinQ packet (and `vlan_tci` the inner). */
#define TARN_MBUF_F_RX_QINQ (1ULL << 8)
/** RX: both QinQ tags were removed from the packet data. */
#define TARN_MBUF_F_RX_QINQ_STRIPPED (1ULL << 9)
/** RX: `timestamp` holds the receive time (nanoseconds, the port's clock). */
#define TARN_MBUF_F_RX_TIMESTAMP (1ULL << 10)
/** RX: the packet was coalesced from several (large receive offload). */
#define TARN_MBUF_F_RX_LRO (1ULL << 11)
/** RX: the frame was truncated (capture ports: a record captured short, or
 *  cut to fit the buffers); `hash.orig_len` holds its length on the wire. */
#define TARN_MBUF_F_RX_TRUNCATED (1ULL << 12)
/** Mask of the receive flags. */
#define TARN_MBUF_F_RX_MASK 0x00000000ffffffffULL

/** TX: insert `vlan_tci` as a VLAN tag. */
#define TARN_MBUF_F_TX_VLAN (1ULL << 32)
/** TX: insert `vlan_tci_outer` and `vlan_tci` as QinQ tags. */
#define TARN_MBUF_F_TX_QINQ (1ULL << 33)
/** TX: the packet is IPv4 (needs `l2_len`, `l3_len`). */
#define TARN_MBUF_F_TX_IPV4 (1ULL << 34)
/** TX: the packet is IPv6 (needs `l2_len`, `l3_len`). */
#define TARN_MBUF_F_TX_IPV6 (1ULL << 35)
/** TX: compute the IPv4 header checksum. */
#define TARN_MBUF_F_TX_IP_CKSUM (1ULL << 36)
/** TX: compute the TCP checksum. */
#define TARN_MBUF_F_TX_TCP_CKSUM (1ULL << 37)
/** TX: compute the UDP checksum. */
#define TARN_MBUF_F_TX_UDP_CKSUM (1ULL << 38)
/** TX: TCP segmentation (needs `l4_len` and `tso_segsz`). */
#define TARN_MBUF_F_TX_TCP_SEG (1ULL << 39)
/** TX: compute the outer IPv4 checksum of a tunnelled packet (`outer_l2_len`, `outer_l3_len`). */
#define TARN_MBUF_F_TX_OUTER_IP_CKSUM (1ULL << 40)
/** TX: send at `timestamp` (ports that support it). */
#define TARN_MBUF_F_TX_TIMESTAMP (1ULL << 41)
/** Mask of the transmit flags. */
#define TARN_MBUF_F_TX_MASK 0xffffffff00000000ULL
/** Every flag defined. */
#define TARN_MBUF_F_ALL (((1ULL << 13) - 1) | (((1ULL << 10) - 1) << 32))
/**@}*/

/* ------------------------------------------------------------------------ */
/** @name Packet types (`packet_type`): L2 in bits 0-3, L3 in 4-7, L4 in 8-11 */
/**@{*/
#define TARN_PTYPE_UNKNOWN       0x0000u /**< nothing known */
#define TARN_PTYPE_L2_ETHER      0x0001u /**< Ethernet */
#define TARN_PTYPE_L2_ETHER_VLAN 0x0002u /**< Ethernet with a VLAN tag */
#define TARN_PTYPE_L2_ETHER_QINQ 0x0003u /**< Ethernet with two VLAN tags */
#define TARN_PTYPE_L2_ETHER_ARP  0x0004u /**< ARP */
#define TARN_PTYPE_L2_ETHER_LLDP 0x0005u /**< LLDP */
#define TARN_PTYPE_L2_MASK       0x000fu /**< L2 field */
#define TARN_PTYPE_L3_IPV4       0x0010u /**< IPv4 without options */
#define TARN_PTYPE_L3_IPV4_EXT   0x0020u /**< IPv4 with options */
#define TARN_PTYPE_L3_IPV6       0x0030u /**< IPv6 without extension headers */
#define TARN_PTYPE_L3_IPV6_EXT   0x0040u /**< IPv6 with extension headers */
#define TARN_PTYPE_L3_MASK       0x00f0u /**< L3 field */
#define TARN_PTYPE_L4_TCP        0x0100u /**< TCP */
#define TARN_PTYPE_L4_UDP        0x0200u /**< UDP */
#define TARN_PTYPE_L4_ICMP       0x0300u /**< ICMP or ICMPv6 */
#define TARN_PTYPE_L4_SCTP       0x0400u /**< SCTP */
#define TARN_PTYPE_L4_FRAG       0x0500u /**< an IP fragment */
#define TARN_PTYPE_L4_NONFRAG    0x0600u /**< IP, none of the above, not a fragment */
#define TARN_PTYPE_L4_MASK       0x0f00u /**< L4 field */
/**@}*/

/* ------------------------------------------------------------------------ */
/** @name The descriptor */
/**@{*/

/** `mbuf_flags`: the mbuf is indirect (attached to another mbuf's buffer). */
#define TARN_MBUF_IND 0x0001u
/** `mbuf_flags`: the mbuf's pool is in mbuf debug mode (every free is checked). */
#define TARN_MBUF_DEBUGGED 0x0002u

/**
 * A packet buffer: descriptor of one segment of a packet. 128 bytes; see the
 * file comment for the layout and the rules. Fields marked read-only are
 * managed by tarn calls.
 */
struct tarn_mbuf {
	/* ---- cache line 0: receive, alloc and free ---- */
	/** Start of the buffer (read-only: set at creation, by attach and detach). */
	void *buf_addr;
	union {
		/**
		 * data_off, refcnt, nb_segs and port as one word: what a receive
		 * path (re)writes at once when it posts a fresh buffer.
		 */
		uint64_t rearm_data;
		__extension__ struct {
			/** Offset of the data from buf_addr (headroom = data_off). */
			uint16_t data_off;
			/** Reference count (use tarn_mbuf_refcnt_*(); 1 = owned exclusively). */
			uint16_t refcnt;
			/** Segments in the packet (head only; 1 in other segments). */
			uint16_t nb_segs;
			/** Port the packet came from, or TARN_MBUF_PORT_INVALID. */
			uint16_t port;
		};
	};
	/** Offload flags, TARN_MBUF_F_*. */
	uint64_t ol_flags;
	/** Packet type, TARN_PTYPE_* (L2 | L3 | L4). */
	uint32_t packet_type;
	/** Length of the whole packet: sum of data_len over the chain (head only). */
	uint32_t pkt_len;
	/** Bytes of data in this segment. */
	uint16_t data_len;
	/** VLAN tag (TCI) when TARN_MBUF_F_RX_VLAN / TX_VLAN; inner tag of QinQ. */
	uint16_t vlan_tci;
	/** Outer VLAN tag when TARN_MBUF_F_RX_QINQ / TX_QINQ. */
	uint16_t vlan_tci_outer;
	/** Length of the buffer (read-only). */
	uint16_t buf_len;
	/** Hashes the receive path computed, or what its flag says. */
	union {
		uint32_t rss; /**< RSS hash when TARN_MBUF_F_RX_RSS_HASH */
		/** Length of the frame on the wire when TARN_MBUF_F_RX_TRUNCATED
		 *  (more than pkt_len, the bytes captured): a port writing
		 *  captures (pcap tx_pcap) records it as the frame's length. */
		uint32_t orig_len;
		uint32_t usr; /**< free for the application otherwise */
	} hash;
	/** Size of the private area after the descriptor (read-only). */
	uint16_t priv_size;
	/** TARN_MBUF_IND, TARN_MBUF_DEBUGGED (read-only). */
	uint16_t mbuf_flags;
	/** The pool the mbuf belongs to (read-only). */
	struct tarn_mempool *pool;
	/** Next segment of the packet, or NULL. */
	struct tarn_mbuf *next;

	/* ---- cache line 1: DMA address, transmit, clones, application ---- */
	/** IOVA of buf_addr, for DMA (read-only; TARN_BAD_IOVA if unknown). */
	tarn_iova_t buf_iova TARN_CACHE_ALIGNED;
	/**
	 * Transmit offload lengths, read by a port only with the TARN_MBUF_F_TX_*
	 * flags that need them. tarn_pktmbuf_alloc() does not clear them
	 * (they live on the second cache line): set every one your flags use,
	 * or call tarn_pktmbuf_reset().
	 */
	union {
		uint64_t tx_offload; /**< all of them at once */
		__extension__ struct {
			uint64_t l2_len : 7;     /**< L2 header length (inner for tunnels) */
			uint64_t l3_len : 9;     /**< L3 header length */
			uint64_t l4_len : 8;     /**< L4 header length */
			uint64_t tso_segsz : 16; /**< TCP segment size for TARN_MBUF_F_TX_TCP_SEG */
			uint64_t outer_l3_len : 9; /**< outer L3 header length */
			uint64_t outer_l2_len : 7; /**< outer L2 header length */
			uint64_t tx_unused : 8;    /**< unused, 0 */
		};
	};
	/** Indirect mbuf: the direct mbuf whose buffer it uses (read-only); else NULL. */
	struct tarn_mbuf *direct;
	/** Receive or transmit time when TARN_MBUF_F_RX_TIMESTAMP / TX_TIMESTAMP. */
	uint64_t timestamp;
	/** Free for the application and drivers; zeroed at pool creation only. */
	uint64_t udata64[4];
};

TARN__STATIC_ASSERT(sizeof(struct tarn_mbuf) == 2 * TARN_CACHE_LINE, "mbuf is 128 bytes");
TARN__STATIC_ASSERT(offsetof(struct tarn_mbuf, data_off) == 8 &&
                        offsetof(struct tarn_mbuf, refcnt) == 10 &&
                        offsetof(struct tarn_mbuf, nb_segs) == 12 &&
                        offsetof(struct tarn_mbuf, port) == 14,
                    "data_off, refcnt, nb_segs, port form one 8-byte word (rearmed at once)");
TARN__STATIC_ASSERT(offsetof(struct tarn_mbuf, next) + sizeof(void *) <= TARN_CACHE_LINE &&
                        offsetof(struct tarn_mbuf, pool) + sizeof(void *) <= TARN_CACHE_LINE &&
                        offsetof(struct tarn_mbuf, mbuf_flags) < TARN_CACHE_LINE &&
                        offsetof(struct tarn_mbuf, pkt_len) < TARN_CACHE_LINE &&
                        offsetof(struct tarn_mbuf, hash) < TARN_CACHE_LINE,
                    "what alloc, free and receive touch is on the first cache line");
TARN__STATIC_ASSERT(offsetof(struct tarn_mbuf, buf_iova) == TARN_CACHE_LINE,
                    "the second cache line starts with buf_iova");

/** Mbuf private data of a pool (tarn_mempool_get_priv() of an mbuf pool). */
struct tarn_pktmbuf_pool_private {
	uint32_t magic;          /**< TARN_PKTMBUF_POOL_MAGIC */
	uint16_t data_room_size; /**< buf_len of every mbuf (headroom included) */
	uint16_t priv_size;      /**< per-mbuf private area */
	uint32_t flags;          /**< TARN_PKTMBUF_POOL_F_* */
	uint32_t reserved;       /**< 0 */
};
/** Marks the private area of an mbuf pool. */
#define TARN_PKTMBUF_POOL_MAGIC 0x6d627566u /* "mbuf" */
/** Pool flag: mbuf debug mode (TARN_DEBUG=mbuf at creation). */
#define TARN_PKTMBUF_POOL_F_DEBUG 0x1u
/**@}*/

/* ------------------------------------------------------------------------ */
/** @name Pools */
/**@{*/

/**
 * Create a pool of packet buffers: a tarn mempool of `n` objects of
 * `sizeof(struct tarn_mbuf) + priv_size + data_room_size` bytes, each
 * initialised once (buffer address and IOVA, lengths, refcnt 1, pool), with a
 * private area recording `data_room_size` and `priv_size`.
 *
 * @param name           unique pool name (1 .. TARN_NAME_SIZE-1 characters).
 * @param n              number of mbufs, >= 1.
 * @param cache_size     per-thread cache, 0 .. min(n, TARN_MEMPOOL_CACHE_MAX).
 * @param priv_size      per-mbuf private area, a multiple of TARN_MBUF_PRIV_ALIGN,
 *                       <= TARN_MBUF_MAX_PRIV_SIZE.
 * @param data_room_size buffer length, headroom included (e.g.
 *                       TARN_MBUF_DEFAULT_BUF_SIZE), 0 .. TARN_MBUF_MAX_DATAROOM;
 *                       0 makes a pool for clones only.
 * @param socket         socket, or TARN_SOCKET_ANY for the caller's.
 * @return the pool (free it with tarn_mempool_free()), or NULL with tarn_errno:
 *   EINVAL (NULL name, n 0, bad cache_size, priv_size not aligned or too
 *   large, data_room_size too large, no such socket, tarn not initialised),
 *   ENAMETOOLONG, EEXIST (name taken), ENOMEM (no memory on the socket).
 * Thread-safe. Blocking.
 */
TARN_API struct tarn_mempool *tarn_pktmbuf_pool_create(const char *name, unsigned n,
                                                       unsigned cache_size, uint16_t priv_size,
                                                       uint16_t data_room_size, int socket);

/**
 * tarn_pktmbuf_pool_create() with a named store (see struct tarn_mempool_ops:
 * "ring_mp_mc", "ring_sp_sc", "stack", ...) and mempool creation flags.
 * @param name           as tarn_pktmbuf_pool_create().
 * @param n              as tarn_pktmbuf_pool_create().
 * @param cache_size     as tarn_pktmbuf_pool_create().
 * @param priv_size      as tarn_pktmbuf_pool_create().
 * @param data_room_size as tarn_pktmbuf_pool_create().
 * @param socket         as tarn_pktmbuf_pool_create().
 * @param ops_name store ops, or NULL for the default.
 * @param flags    TARN_MEMPOOL_F_* (TARN_MEMPOOL_F_DEBUG: mempool debug mode).
 * @return as tarn_pktmbuf_pool_create(); also ENOENT (no such ops), EINVAL
 *   (unknown flags).
 */
TARN_API struct tarn_mempool *tarn_pktmbuf_pool_create_by_ops(const char *name, unsigned n,
                                                              unsigned cache_size,
                                                              uint16_t priv_size,
                                                              uint16_t data_room_size, int socket,
                                                              const char *ops_name, unsigned flags);

/**
 * @return non-zero if `mp` is a pool made by tarn_pktmbuf_pool_create() (its
 * private area carries the mbuf pool mark), 0 otherwise (NULL included).
 */
TARN_API int tarn_pktmbuf_pool_is_mbuf_pool(struct tarn_mempool *mp);

/**
 * @return the data room size (buf_len, headroom included) of the mbufs of
 * `mp`, or -EINVAL if `mp` is NULL or not an mbuf pool.
 */
TARN_API int tarn_pktmbuf_data_room_size(struct tarn_mempool *mp);

/**
 * @return the per-mbuf private area size of `mp`, or -EINVAL if `mp` is NULL
 * or not an mbuf pool.
 */
TARN_API int tarn_pktmbuf_priv_size(struct tarn_mempool *mp);
/**@}*/

/* ------------------------------------------------------------------------ */
/* Internal: out-of-line parts of the inline calls. */

/** Internal: free a packet the inline path could not (chain, shared, indirect, debug). */
TARN_API void tarn__pktmbuf_free_slow(struct tarn_mbuf *m);
/** Internal: free_bulk from the first mbuf the inline path could not handle. */
TARN_API void tarn__pktmbuf_free_bulk_slow(struct tarn_mbuf **mbufs, unsigned n);
/** Internal: log a failed TARN_MBUF_DEBUG check; returns -EINVAL. */
TARN_API int tarn__mbuf_debug_fail(const struct tarn_mbuf *m, const char *func, const char *reason);
/** Internal: tarn_pktmbuf_read() when the bytes span segments. */
TARN_API const void *tarn__pktmbuf_read_slow(const struct tarn_mbuf *m, uint32_t off, uint32_t len,
                                             void *buf);

/**
 * Sanity-check an mbuf (and, for a packet head, its whole chain).
 *
 * Checks: `m` non-NULL; its pool set, an mbuf pool, and the pool its object
 * header names; buf_addr set, and for a direct mbuf where its layout puts it,
 * with the pool's buf_len and no direct link; an indirect mbuf's direct mbuf
 * set, direct, with a refcnt not 0, and the buffers equal; refcnt not 0; data_off +
 * data_len within buf_len. For a head (`is_header` non-zero) also: no loop in
 * the chain, nb_segs equal to the number of segments, pkt_len equal to the
 * sum of their data_len, and every segment valid as above.
 *
 * @param m         the mbuf.
 * @param is_header non-zero if `m` is the first segment of a packet.
 * @param reason    if not NULL, receives a static string naming the first
 *                  problem found (on success, left alone).
 * @return 0 if the mbuf is sane; -EINVAL otherwise.
 * Reads the mbufs without synchronisation: call it as their owner. A garbage
 * pointer in a pool or next field may still crash it (it is a check of
 * invariants, not a validator of arbitrary memory).
 */
TARN_API int tarn_mbuf_check(const struct tarn_mbuf *m, int is_header, const char **reason);

#ifdef TARN_MBUF_DEBUG
#define TARN__MBUF_DEBUG_CHECK(m, hdr, fail)                                                       \
	do {                                                                                       \
		const char *tarn__why = NULL;                                                      \
		if (tarn_mbuf_check((m), (hdr), &tarn__why) != 0) {                                \
			tarn__mbuf_debug_fail((m), __func__, tarn__why);                           \
			fail;                                                                      \
		}                                                                                  \
	} while (0)
#else
#define TARN__MBUF_DEBUG_CHECK(m, hdr, fail) ((void)0)
#endif

/* ------------------------------------------------------------------------ */
/** @name Data access (macros and inline; trust a valid mbuf) */
/**@{*/

/**
 * Pointer to the data of segment `m`, `o` bytes in, cast to type `t`.
 * Trusts `m` (undefined if NULL).
 */
#define tarn_pktmbuf_mtod_offset(m, t, o) ((t)((char *)(m)->buf_addr + (m)->data_off + (o)))
/** Pointer to the data of segment `m`, cast to type `t`. Trusts `m`. */
#define tarn_pktmbuf_mtod(m, t) tarn_pktmbuf_mtod_offset(m, t, 0)
/** IOVA of the data of segment `m`, `o` bytes in. Trusts `m`. */
#define tarn_pktmbuf_iova_offset(m, o) ((tarn_iova_t)((m)->buf_iova + (m)->data_off + (o)))
/** IOVA of the data of segment `m`. Trusts `m`. */
#define tarn_pktmbuf_iova(m) tarn_pktmbuf_iova_offset(m, 0)
/** Length of the packet whose head is `m`. Trusts `m`. */
#define tarn_pktmbuf_pkt_len(m) ((m)->pkt_len)
/** Data length of segment `m`. Trusts `m`. */
#define tarn_pktmbuf_data_len(m) ((m)->data_len)
/** Non-zero if `m` is indirect (attached to another mbuf's buffer). Trusts `m`. */
#define TARN_MBUF_INDIRECT(m) (((m)->mbuf_flags & TARN_MBUF_IND) != 0)
/** Non-zero if `m` owns its buffer. Trusts `m`. */
#define TARN_MBUF_DIRECT(m) (!TARN_MBUF_INDIRECT(m))

/**
 * @return the per-mbuf private area (just after the descriptor); meaningful
 * when the pool has priv_size > 0. Trusts `m`.
 */
static inline void *tarn_mbuf_to_priv(struct tarn_mbuf *m)
{
	return (char *)m + sizeof(struct tarn_mbuf);
}

/**
 * @return the headroom of segment `m` (bytes before its data), 0 if `m` is NULL.
 * Wait-free.
 */
static inline uint16_t tarn_pktmbuf_headroom(const struct tarn_mbuf *m)
{
	return m != NULL ? m->data_off : 0;
}

/**
 * @return the tailroom of segment `m` (bytes after its data), 0 if `m` is NULL.
 * Wait-free.
 */
static inline uint16_t tarn_pktmbuf_tailroom(const struct tarn_mbuf *m)
{
	return m != NULL ? (uint16_t)(m->buf_len - m->data_off - m->data_len) : 0;
}

/**
 * @return the last segment of the packet whose head is `m` (walks the
 * chain), or NULL if `m` is NULL.
 */
static inline struct tarn_mbuf *tarn_pktmbuf_lastseg(struct tarn_mbuf *m)
{
	if (m == NULL)
		return NULL;
	while (m->next != NULL)
		m = m->next;
	return m;
}

/** @return non-zero if the packet whose head is `m` is one segment. Trusts `m`. */
static inline int tarn_pktmbuf_is_contiguous(const struct tarn_mbuf *m)
{
	return m->nb_segs == 1;
}

/**
 * Read `len` bytes of a packet at offset `off`, wherever they lie.
 * @param m    packet head.
 * @param off  offset in the packet.
 * @param len  bytes wanted.
 * @param buf  room for `len` bytes, used only when they span segments.
 * @return a pointer to the bytes: into the segment when they lie in one, else
 *   `buf` holding a copy; NULL if `m` is NULL, `off + len` exceeds pkt_len,
 *   or a copy is needed and `buf` is NULL.
 */
static inline const void *tarn_pktmbuf_read(const struct tarn_mbuf *m, uint32_t off, uint32_t len,
                                            void *buf)
{
	if (tarn_likely(m != NULL && (uint64_t)off + len <= m->data_len))
		return tarn_pktmbuf_mtod_offset(m, const char *, off);
	return tarn__pktmbuf_read_slow(m, off, len, buf);
}
/**@}*/

/* ------------------------------------------------------------------------ */
/** @name Reference counts */
/**@{*/

/**
 * @return the reference count of `m` (acquire load). Trusts `m`.
 * Thread-safe, wait-free.
 */
static inline uint16_t tarn_mbuf_refcnt_read(const struct tarn_mbuf *m)
{
	/* acquire: pairs with the release half of the acq_rel decrement in
	 * tarn_mbuf_refcnt_update() of another owner, so that an owner who
	 * then sees 1 also sees everything that owner did with the buffer. */
	return __atomic_load_n(&m->refcnt, __ATOMIC_ACQUIRE);
}

/**
 * Set the reference count of `m`. Only for an mbuf owned exclusively (no
 * other thread may hold a reference). Trusts `m`.
 */
static inline void tarn_mbuf_refcnt_set(struct tarn_mbuf *m, uint16_t v)
{
	/* relaxed: nobody else holds a reference; the atomic store only keeps
	 * the access atomic like every other access to refcnt */
	__atomic_store_n(&m->refcnt, v, __ATOMIC_RELAXED);
}

/**
 * Add `delta` (possibly negative) to the reference count of `m`.
 *
 * When the count is 1 the caller owns the mbuf exclusively and the update is
 * a plain store; otherwise it is an atomic acquire-release add. A delta that
 * would take the count below 0 or above TARN_MBUF_MAX_REFCNT is undefined
 * (with TARN_MBUF_DEBUG: refused, returns the count unchanged). To drop a
 * reference and free on the last, use tarn_pktmbuf_free(), not this.
 *
 * @return the new count. Trusts `m`. Thread-safe with other owners; wait-free.
 */
static inline uint16_t tarn_mbuf_refcnt_update(struct tarn_mbuf *m, int16_t delta)
{
	uint16_t cur = tarn_mbuf_refcnt_read(m);

#ifdef TARN_MBUF_DEBUG
	if ((int)cur + delta < 0 || (int)cur + delta > TARN_MBUF_MAX_REFCNT) {
		tarn__mbuf_debug_fail(m, __func__, "refcnt out of range");
		return cur;
	}
#endif
	if (tarn_likely(cur == 1)) {
		cur = (uint16_t)(1 + delta);
		tarn_mbuf_refcnt_set(m, cur);
		return cur;
	}
	/* acq_rel: release publishes this owner's accesses to the buffer to the
	 * owner that drops the last reference; acquire makes them visible to
	 * this one if it is that owner. */
	return __atomic_add_fetch(&m->refcnt, (uint16_t)delta, __ATOMIC_ACQ_REL);
}
/**@}*/

/* ------------------------------------------------------------------------ */
/** @name Allocation and free (static inline fast path) */
/**@{*/

/*
 * Internal: what alloc resets, all on the first cache line.
 *
 * refcnt is not written: a free mbuf has refcnt 1 (the free paths restore
 * it). Writing it here, e.g. as part of one 8-byte store of the rearm word,
 * makes the 2-byte refcnt load of a following free depend on forwarding from
 * a wider store, which measured 20-25% slower on an alloc+free loop (see
 * docs/mbuf.md). The constant stores below are merged by the compiler.
 */
static inline __attribute__((always_inline)) void tarn__pktmbuf_reset_line0(struct tarn_mbuf *m)
{
	const uint16_t bl = m->buf_len;

	m->data_off = bl < TARN_PKTMBUF_HEADROOM ? bl : (uint16_t)TARN_PKTMBUF_HEADROOM;
	m->nb_segs = 1;
	m->port = TARN_MBUF_PORT_INVALID;
	m->ol_flags = 0;
	m->packet_type = 0;
	m->pkt_len = 0;
	m->data_len = 0;
	m->vlan_tci = 0;
	m->vlan_tci_outer = 0;
	m->next = NULL;
}

/**
 * Reset the metadata of a one-segment mbuf to what tarn_pktmbuf_alloc()
 * hands out, and also clear the transmit offload lengths: headroom
 * min(TARN_PKTMBUF_HEADROOM, buf_len), no data, no flags, packet type 0,
 * port TARN_MBUF_PORT_INVALID, VLAN tags 0, nb_segs 1, next NULL. Leaves
 * refcnt, the buffer, hash, timestamp and udata64 alone.
 * @param m an mbuf, not part of a chain (the next segments would be lost);
 *          NULL is ignored. Its data is the caller's: with refcnt > 1 (or an
 *          indirect mbuf) other owners keep seeing the buffer, not this
 *          descriptor.
 */
static inline void tarn_pktmbuf_reset(struct tarn_mbuf *m)
{
	if (tarn_unlikely(m == NULL))
		return;
	tarn__pktmbuf_reset_line0(m);
	m->tx_offload = 0;
}

/**
 * Allocate one mbuf: one segment, no data, headroom
 * min(TARN_PKTMBUF_HEADROOM, buf_len), refcnt 1, ol_flags 0, packet_type 0,
 * port TARN_MBUF_PORT_INVALID, VLAN tags 0. Fields of the second cache line
 * (tx_offload, timestamp, udata64) are left as they were.
 * @param mp an mbuf pool (another kind of pool is undefined).
 * @return the mbuf, or NULL with tarn_errno ENOBUFS (pool empty) or EINVAL
 *   (`mp` NULL).
 * Thread-safe (see tarn_mempool_get_bulk()); wait-free on a cache hit.
 */
static inline struct tarn_mbuf *tarn_pktmbuf_alloc(struct tarn_mempool *mp)
{
	void *obj;
	const int rc = tarn_mempool_get(mp, &obj);

	if (tarn_unlikely(rc != 0)) {
		tarn_errno = -rc;
		return NULL;
	}
	tarn__pktmbuf_reset_line0((struct tarn_mbuf *)obj);
	TARN__MBUF_DEBUG_CHECK((struct tarn_mbuf *)obj, 1, (void)0);
	return (struct tarn_mbuf *)obj;
}

/**
 * Allocate `n` mbufs, all or nothing, each as tarn_pktmbuf_alloc() makes it.
 * @param mp    an mbuf pool.
 * @param mbufs receives `n` mbufs.
 * @param n     count; 0 succeeds.
 * @return 0; -ENOBUFS if the pool cannot give `n` now (nothing taken);
 *   -EINVAL if `mp` or `mbufs` is NULL or `n` exceeds the pool's size.
 * Thread-safe; wait-free on a cache hit.
 */
static inline int tarn_pktmbuf_alloc_bulk(struct tarn_mempool *mp, struct tarn_mbuf **mbufs,
                                          unsigned n)
{
	const int rc = tarn_mempool_get_bulk(mp, (void **)mbufs, n);

	if (tarn_unlikely(rc != 0))
		return rc;
	for (unsigned i = 0; i < n; i++) {
		tarn__pktmbuf_reset_line0(mbufs[i]);
		TARN__MBUF_DEBUG_CHECK(mbufs[i], 1, (void)0);
	}
	return 0;
}

/* Internal: an mbuf that can go straight back to its pool: last segment,
 * direct, not debugged, refcnt 1 (owned exclusively). */
static inline __attribute__((always_inline)) int tarn__pktmbuf_simple(const struct tarn_mbuf *m)
{
	return m->next == NULL && m->mbuf_flags == 0 && tarn_mbuf_refcnt_read(m) == 1;
}

/**
 * Free a packet: every segment of the chain from `m`, each returned to its
 * own pool when its last reference goes (a segment with refcnt > 1 only
 * loses one reference; an indirect segment drops its reference on the
 * direct mbuf, which is freed if it was the last).
 * @param m packet head (any segment: the chain from it is freed); NULL does
 *          nothing. Trusted to be a live mbuf. In mbuf debug mode
 *          (TARN_DEBUG=mbuf) it is checked as a packet head, so a sub-chain
 *          handed to free must have its nb_segs and pkt_len set to match.
 * Thread-safe with other owners of shared segments; wait-free for a simple
 * mbuf when the cache has room.
 */
static inline void tarn_pktmbuf_free(struct tarn_mbuf *m)
{
	if (m == NULL)
		return;
	TARN__MBUF_DEBUG_CHECK(m, 0, return );
	/* the pool first: the put's cache lookup hangs on it (measured) */
	struct tarn_mempool *mp = m->pool;

	if (tarn_likely(tarn__pktmbuf_simple(m))) {
		tarn_mempool_put(mp, m);
		return;
	}
	tarn__pktmbuf_free_slow(m);
}

/**
 * Free `n` packets as tarn_pktmbuf_free() does each, batching the returns:
 * every run of consecutive simple mbufs (one segment, direct, refcnt 1) of the
 * same pool goes back with one tarn_mempool_put_bulk() straight from `mbufs`;
 * from the first other mbuf on (NULL, chain, shared, indirect, another pool
 * mixed in), segments are gathered and put back per pool in batches.
 * @param mbufs packets; NULL entries are skipped; `mbufs` NULL does nothing.
 * @param n     count.
 * Thread-safe as tarn_pktmbuf_free().
 */
static inline void tarn_pktmbuf_free_bulk(struct tarn_mbuf **mbufs, unsigned n)
{
	unsigned i = 0;

	if (tarn_unlikely(mbufs == NULL))
		return;
	while (i < n) {
		struct tarn_mbuf *m = mbufs[i];

		if (tarn_unlikely(m == NULL || !tarn__pktmbuf_simple(m))) {
			tarn__pktmbuf_free_bulk_slow(mbufs + i, n - i);
			return;
		}
		struct tarn_mempool *mp = m->pool;
		unsigned j = i + 1;

		while (j < n) {
			const struct tarn_mbuf *x = mbufs[j];

			if (x == NULL || x->pool != mp || !tarn__pktmbuf_simple(x))
				break;
			j++;
		}
		tarn_mempool_put_bulk(mp, (void *const *)(mbufs + i), j - i);
		i = j;
	}
}

/**
 * Free one segment only, ignoring its `next` (the caller deals with the rest
 * of the chain): returned to its pool when its last reference goes.
 * @param m a segment; NULL does nothing.
 * Thread-safe as tarn_pktmbuf_free().
 */
TARN_API void tarn_pktmbuf_free_seg(struct tarn_mbuf *m);
/**@}*/

/* ------------------------------------------------------------------------ */
/** @name Editing data (static inline; trust a valid mbuf, reject NULL) */
/**@{*/

/**
 * Prepend `len` bytes to a packet: move the data start of the first segment
 * back into its headroom.
 * @param m   packet head.
 * @param len bytes.
 * @return a pointer to the new start of data (the `len` bytes to fill), or
 *   NULL (packet unchanged) if `m` is NULL or the headroom is under `len`.
 */
static inline char *tarn_pktmbuf_prepend(struct tarn_mbuf *m, uint16_t len)
{
	if (tarn_unlikely(m == NULL || len > m->data_off))
		return NULL;
	TARN__MBUF_DEBUG_CHECK(m, 1, return NULL);
	m->data_off = (uint16_t)(m->data_off - len);
	m->data_len = (uint16_t)(m->data_len + len);
	m->pkt_len += len;
	return (char *)m->buf_addr + m->data_off;
}

/**
 * Append `len` bytes to a packet, in the tailroom of its last segment.
 * @param m   packet head.
 * @param len bytes.
 * @return a pointer to the appended bytes (to fill), or NULL (packet
 *   unchanged) if `m` is NULL or the last segment's tailroom is under `len`.
 */
static inline char *tarn_pktmbuf_append(struct tarn_mbuf *m, uint16_t len)
{
	if (tarn_unlikely(m == NULL))
		return NULL;
	TARN__MBUF_DEBUG_CHECK(m, 1, return NULL);
	struct tarn_mbuf *last = m->next == NULL ? m : tarn_pktmbuf_lastseg(m);

	if (tarn_unlikely(len > tarn_pktmbuf_tailroom(last)))
		return NULL;
	char *tail = (char *)last->buf_addr + last->data_off + last->data_len;
	last->data_len = (uint16_t)(last->data_len + len);
	m->pkt_len += len;
	return tail;
}

/**
 * Remove `len` bytes from the start of a packet (from its first segment).
 * @param m   packet head.
 * @param len bytes, at most the first segment's data_len.
 * @return 0; -EINVAL (packet unchanged) if `m` is NULL or `len` exceeds the
 *   first segment's data_len.
 */
static inline int tarn_pktmbuf_adj(struct tarn_mbuf *m, uint16_t len)
{
	if (tarn_unlikely(m == NULL || len > m->data_len))
		return -EINVAL;
	TARN__MBUF_DEBUG_CHECK(m, 1, return -EINVAL);
	m->data_off = (uint16_t)(m->data_off + len);
	m->data_len = (uint16_t)(m->data_len - len);
	m->pkt_len -= len;
	return 0;
}

/**
 * Remove `len` bytes from the end of a packet (from its last segment).
 * @param m   packet head.
 * @param len bytes, at most the last segment's data_len.
 * @return 0; -EINVAL (packet unchanged) if `m` is NULL or `len` exceeds the
 *   last segment's data_len.
 */
static inline int tarn_pktmbuf_trim(struct tarn_mbuf *m, uint16_t len)
{
	if (tarn_unlikely(m == NULL))
		return -EINVAL;
	TARN__MBUF_DEBUG_CHECK(m, 1, return -EINVAL);
	struct tarn_mbuf *last = m->next == NULL ? m : tarn_pktmbuf_lastseg(m);

	if (tarn_unlikely(len > last->data_len))
		return -EINVAL;
	last->data_len = (uint16_t)(last->data_len - len);
	m->pkt_len -= len;
	return 0;
}
/**@}*/

/* ------------------------------------------------------------------------ */
/** @name Chains, clones, copies (out of line) */
/**@{*/

/**
 * Concatenate two packets: append the chain of `tail` to that of `head`.
 * `tail` stops being a packet head (its nb_segs becomes 1, its pkt_len its
 * data_len); free only `head` afterwards.
 * @return 0; -EINVAL if either is NULL or they are the same mbuf; -EOVERFLOW
 *   (nothing changed) if the segments would exceed TARN_MBUF_MAX_SEGS or the
 *   length UINT32_MAX.
 */
TARN_API int tarn_pktmbuf_chain(struct tarn_mbuf *head, struct tarn_mbuf *tail);

/**
 * Attach `mi` to the buffer of `m`: `mi` becomes indirect and shows the same
 * data (buf_addr, buf_iova, buf_len, data_off, data_len) and the metadata of
 * `m` (port, ol_flags, packet_type, vlan tags, hash, tx_offload, timestamp);
 * the direct mbuf (`m`, or the mbuf `m` is attached to) gains a reference.
 * @param mi a direct mbuf with refcnt 1, not in a chain (next NULL), owned by
 *           the caller (e.g. fresh from tarn_pktmbuf_alloc()); the data it held
 *           is dropped. It becomes a one-segment packet (pkt_len = data_len).
 * @param m  a segment (direct or indirect).
 * @return 0; -EINVAL (NULL, `mi` == `m`, `mi` not as described); -EOVERFLOW if
 *   the direct mbuf's refcnt is at TARN_MBUF_MAX_REFCNT.
 * Thread-safe with other owners of the direct mbuf.
 */
TARN_API int tarn_pktmbuf_attach(struct tarn_mbuf *mi, struct tarn_mbuf *m);

/**
 * Detach an indirect mbuf: it gets its own (empty) buffer back, and the
 * direct mbuf loses a reference (and goes back to its pool if it was the
 * last). Its data_len and pkt_len become 0; `next` and `nb_segs` are left
 * alone (fix the packet head's pkt_len if `mi` is in a chain).
 * @return 0; -EINVAL if `mi` is NULL or not indirect.
 */
TARN_API int tarn_pktmbuf_detach(struct tarn_mbuf *mi);

/**
 * Clone a packet: a new chain of indirect mbufs from `pool`, one per segment
 * of `md`, each attached to its segment's buffer. The clone shows the same
 * bytes (writes to them are seen by both) and has the metadata, pkt_len and
 * nb_segs of `md`. Freeing either, in any order, keeps the data alive until
 * the last reference goes.
 * @param md   packet head.
 * @param pool pool for the new descriptors (any mbuf pool; a data room of 0
 *             is enough).
 * @return the clone, or NULL with tarn_errno EINVAL (NULL argument), ENOBUFS
 *   (pool empty; nothing changed), EOVERFLOW (a refcnt at its maximum).
 */
TARN_API struct tarn_mbuf *tarn_pktmbuf_clone(struct tarn_mbuf *md, struct tarn_mempool *pool);

/**
 * Deep copy `len` bytes of a packet from offset `off` into new direct mbufs
 * of `pool`, each filled to its tailroom (after the default headroom). The
 * metadata (port, flags, packet type, VLAN tags, hash, tx_offload, timestamp)
 * is copied.
 * @param m    packet head.
 * @param pool pool for the copy.
 * @param off  offset of the first byte, <= pkt_len.
 * @param len  bytes, truncated to what follows `off`; TARN_MBUF_COPY_ALL for
 *             the rest of the packet. A length of 0 gives one empty mbuf.
 * @return the copy, or NULL with tarn_errno EINVAL (NULL argument, `off`
 *   beyond pkt_len, a pool with no data room while there are bytes to copy),
 *   ENOBUFS (pool empty; nothing leaked), EOVERFLOW (more than
 *   TARN_MBUF_MAX_SEGS segments needed).
 */
TARN_API struct tarn_mbuf *tarn_pktmbuf_copy(const struct tarn_mbuf *m, struct tarn_mempool *pool,
                                             uint32_t off, uint32_t len);

/**
 * Make a packet one segment: copy the data of the other segments into the
 * tailroom of the first and free them. The data of the first segment does
 * not move, so pointers into it stay valid.
 * @param m packet head.
 * @return 0 (also for a packet already in one segment); -EINVAL if `m` is
 *   NULL; -ENOSPC (nothing changed) if the first segment's tailroom is too
 *   small for the rest; -EBUSY (nothing changed) if the first segment's
 *   buffer is shared (indirect, or refcnt > 1), since writing its tailroom
 *   would write into another owner's buffer.
 */
TARN_API int tarn_pktmbuf_linearize(struct tarn_mbuf *m);
/**@}*/

/* ------------------------------------------------------------------------ */
/** @name Names, dump, debug */
/**@{*/

/**
 * @return the name of one TARN_MBUF_F_* flag ("RX_VLAN", ...), or NULL if
 * `flag` is not exactly one known flag.
 */
TARN_API const char *tarn_mbuf_flag_name(uint64_t flag);

/**
 * Write the names of the flags in `ol_flags`, separated by spaces (unknown
 * bits as one hexadecimal number), into `buf`.
 * @return the length written (truncated to fit, always terminated), or
 *   -EINVAL if `buf` is NULL or `size` 0; -ENOSPC if it was truncated.
 */
TARN_API int tarn_mbuf_flags_str(uint64_t ol_flags, char *buf, size_t size);

/**
 * Write a packet type as "L2_ETHER L3_IPV4 L4_TCP" into `buf`.
 * @return as tarn_mbuf_flags_str().
 */
TARN_API int tarn_ptype_str(uint32_t packet_type, char *buf, size_t size);

/**
 * Print a packet: the head's metadata, then each segment (address, lengths,
 * refcnt, direct or indirect) and a hex dump of the first `dump_len` bytes of
 * the packet's data.
 * @param f        stream (NULL: stdout).
 * @param m        packet head (NULL prints a line saying so).
 * @param dump_len bytes of data to hex-dump (0: none).
 * Reads the chain as its owner; stops after TARN_MBUF_MAX_SEGS segments.
 */
TARN_API void tarn_pktmbuf_dump(FILE *f, const struct tarn_mbuf *m, unsigned dump_len);

/**
 * @return the number of bad frees refused in mbuf debug mode and failed
 * TARN_MBUF_DEBUG checks since start. Thread-safe.
 */
TARN_API uint64_t tarn_mbuf_debug_errors(void);
/**@}*/

#ifdef __cplusplus
}
#endif

#endif /* TARN_MBUF_H */
