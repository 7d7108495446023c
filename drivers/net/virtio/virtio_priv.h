/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio_priv.h - internal: what the files of the virtio-net PCI driver
 * share. Never installed.
 *
 *   pci.c      the transport: a modern (virtio 1.0 capabilities) or a
 *              legacy (I/O BAR) device behind one set of calls: status,
 *              features, device config, queue programming, doorbells.
 *   vq.c       split virtqueues in tarn memory: layout, reset, the
 *              descriptor free list.
 *   rx.c       receive: used ring to mbufs (merged buffers chained), bulk
 *              refill from the queue's pool.
 *   tx.c       transmit: mbufs (chains too) posted without a copy, freed
 *              when the device has used them.
 *   ctrl.c     the control queue (promiscuous mode, MAC, queue pairs),
 *              link, MTU, statistics.
 *   ethdev.c   the port: keys, create/close, queues, start/stop.
 *
 * The device is another agent writing the same memory (qemu's thread, or a
 * NIC through DMA): every store the device must see before it reads an
 * index is ordered by a release store of that index, every load of what the
 * device wrote follows an acquire load of its index, and the doorbell
 * decision reads the device's flags after a full fence (the store of our
 * index and the load of its flags must not pass each other). On x86-64 the
 * release and acquire are plain moves; the full fence is an mfence.
 */
#ifndef TARN_VIRTIO_PRIV_H
#define TARN_VIRTIO_PRIV_H

#include <stdbool.h>
#include <stdint.h>

#include "ethdev_driver_priv.h"
#include "tarn_mbuf.h"
#include "tarn_mem.h"
#include "tarn_pci.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VT_LOG "virtio"

/* ------------------------------------------------------------------------ */
/* Feature bits (virtio 1.x, 5.1.3 and 6). */
#define VT_NET_F_CSUM          0
#define VT_NET_F_MTU           3
#define VT_NET_F_MAC           5
#define VT_NET_F_MRG_RXBUF     15
#define VT_NET_F_STATUS        16
#define VT_NET_F_CTRL_VQ       17
#define VT_NET_F_CTRL_RX       18
#define VT_NET_F_MQ            22
#define VT_NET_F_CTRL_MAC_ADDR 23
#define VT_F_NOTIFY_ON_EMPTY   24
#define VT_F_ANY_LAYOUT        27
#define VT_F_VERSION_1         32
#define VT_F_ACCESS_PLATFORM   33
#define VT_NET_F_SPEED_DUPLEX  63
#define VT_BIT(f)              (1ull << (f))

/* Device status bits. */
#define VT_STATUS_ACK         0x01
#define VT_STATUS_DRIVER      0x02
#define VT_STATUS_DRIVER_OK   0x04
#define VT_STATUS_FEATURES_OK 0x08
#define VT_STATUS_NEEDS_RESET 0x40
#define VT_STATUS_FAILED      0x80

/* virtio-net device configuration (little-endian on a modern device). */
#define VT_NET_CFG_MAC       0
#define VT_NET_CFG_STATUS    6
#define VT_NET_CFG_MAX_PAIRS 8
#define VT_NET_CFG_MTU       10
#define VT_NET_CFG_SPEED     12
#define VT_NET_CFG_DUPLEX    16
#define VT_NET_S_LINK_UP     1

/* The header in front of every packet: 10 bytes, 12 with num_buffers
 * (VERSION_1 or MRG_RXBUF). No offloads are negotiated: TX writes zeros. */
struct vt_net_hdr {
	uint8_t flags;
	uint8_t gso_type;
	uint16_t hdr_len;
	uint16_t gso_size;
	uint16_t csum_start;
	uint16_t csum_offset;
	uint16_t num_buffers;
};
_Static_assert(sizeof(struct vt_net_hdr) == 12, "virtio_net_hdr_mrg_rxbuf is 12 bytes");

/* ------------------------------------------------------------------------ */
/* Split virtqueues (virtio 1.x, 2.6). */

#define VT_DESC_F_NEXT      1
#define VT_DESC_F_WRITE     2
#define VT_AVAIL_F_NO_INTR  1 /* driver: do not interrupt us */
#define VT_USED_F_NO_NOTIFY 1 /* device: no doorbell needed */
/* Legacy devices want the used ring on the next 4 KiB (and the queue
 * address in 4 KiB units). */
#define VT_LEGACY_ALIGN 4096

struct vt_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct vt_avail {
	uint16_t flags;
	uint16_t idx;
	uint16_t ring[];
};

struct vt_used_elem {
	uint32_t id;
	uint32_t len;
};

struct vt_used {
	uint16_t flags;
	uint16_t idx;
	struct vt_used_elem ring[];
};

struct vt_hw;

/* One virtqueue, as RX, TX and the control queue share it. */
struct vt_vq {
	struct vt_desc *desc;
	struct vt_avail *avail;
	struct vt_used *used;
	uint16_t size;      /* descriptors, a power of two */
	uint16_t mask;      /* size - 1 */
	uint16_t avail_idx; /* our copy of avail->idx (we are its only writer) */
	uint16_t used_cons; /* next used entry to read */
	uint16_t free_head; /* descriptor free list (TX, control) */
	uint16_t nfree;
	uint16_t index;                /* queue number on the device */
	volatile uint16_t *notify;     /* modern: the doorbell; NULL: legacy */
	const struct vt_hw *hw;        /* legacy doorbells go through it */
	const struct tarn_memzone *mz; /* the ring memory */
	tarn_iova_t iova;              /* of desc (the ring start) */
	uint64_t avail_off, used_off;  /* of avail and used from desc */
	uint64_t kicks;                /* doorbells rung (xstats) */
};

/* Bytes of a ring of `size` descriptors in the legacy layout (which modern
 * devices accept too): descriptors, avail ring, then the used ring on the
 * next VT_LEGACY_ALIGN. */
uint64_t tarn__vt_ring_bytes(uint16_t size, uint64_t *avail_off, uint64_t *used_off);

/*
 * Reserve `extra` bytes after the ring (TX headers) too, on `socket`, in
 * memory the device can reach (checked with tarn_pci_dma_check()); set up
 * `vq` for queue `index`. Returns 0, or -ENOMEM / -EFAULT with a log line.
 */
int tarn__vt_vq_alloc(struct vt_vq *vq, const struct vt_hw *hw, const char *name, uint16_t index,
                      uint16_t size, int socket, size_t extra);
void tarn__vt_vq_free(struct vt_vq *vq);
/* Zero the ring (a reset device forgets it), indexes 0, every descriptor on
 * the free list, and ask the device for no interrupts. */
void tarn__vt_vq_reset(struct vt_vq *vq);

/* Ring the doorbell of `vq` (the device reads its avail ring). */
static inline void tarn__vt_notify(struct vt_vq *vq);

/*
 * Publish avail->idx and ring the doorbell unless the device said it does
 * not need it. Called after the descriptors and avail entries are written.
 */
static inline void tarn__vt_publish(struct vt_vq *vq)
{
	/* release: the descriptors and avail ring entries written before are
	 * visible to the device before the index that hands them over (the
	 * device's load of avail->idx pairs with it). */
	__atomic_store_n(&vq->avail->idx, vq->avail_idx, __ATOMIC_RELEASE);
	/* seq_cst: the flags the device writes after reading our index must
	 * not be read before the index store is visible, or both sides could
	 * miss each other (we skip the doorbell, it stops polling). */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!(__atomic_load_n(&vq->used->flags, __ATOMIC_RELAXED) & VT_USED_F_NO_NOTIFY))
		tarn__vt_notify(vq);
}

/* Used entries the device has published and we have not read. */
static inline uint16_t tarn__vt_used_ready(const struct vt_vq *vq)
{
	/* acquire: pairs with the device's release of used->idx; the used
	 * entries (and, for RX, the packet data) below it are then visible. */
	return (uint16_t)(__atomic_load_n(&vq->used->idx, __ATOMIC_ACQUIRE) - vq->used_cons);
}

/* ------------------------------------------------------------------------ */
/* The transport (pci.c). */

enum vt_layout {
	VT_LAYOUT_AUTO = 0, /* modern when the device has the capabilities */
	VT_LAYOUT_MODERN,
	VT_LAYOUT_LEGACY,
};

struct vt_hw {
	struct tarn_pci_device *pci;
	const char *name; /* the PCI address, for log lines */
	bool modern;
	/* modern: the mapped structures of the capabilities */
	volatile uint8_t *common;
	volatile uint8_t *notify_base;
	uint32_t notify_mult;
	uint64_t notify_len;
	volatile uint8_t *isr;
	volatile uint8_t *devcfg;
	uint64_t devcfg_len;
	/* legacy: BAR 0 (I/O) and where the device config starts in it */
	unsigned io_bar;
	unsigned legacy_cfg;
	uint64_t dev_features; /* what the device offers */
	uint64_t features;     /* what was negotiated */
};

/*
 * Find the device's registers: the modern capabilities (common, notify,
 * ISR, device config, their BARs mapped) or the legacy I/O BAR, as `want`
 * says. Returns 0, or -ENOTSUP (the device has no such layout) with a log
 * line.
 */
int tarn__vt_hw_init(struct vt_hw *hw, struct tarn_pci_device *pci, enum vt_layout want);

uint8_t tarn__vt_get_status(const struct vt_hw *hw);
void tarn__vt_set_status(const struct vt_hw *hw, uint8_t status);
/* Write 0 to the status and wait until the device reads back 0 (at most a
 * second). Returns 0 or -ETIMEDOUT. After it the device uses no ring. */
int tarn__vt_reset(const struct vt_hw *hw);
/*
 * Reset, ACKNOWLEDGE, DRIVER, negotiate `want` & what the device offers
 * (FEATURES_OK checked on a modern device). Returns 0, or -EIO (the device
 * refused the features or is broken) with a log line.
 */
int tarn__vt_negotiate(struct vt_hw *hw, uint64_t want);
/* Device config: `len` bytes at `off`, read consistently (generation). */
void tarn__vt_read_config(const struct vt_hw *hw, unsigned off, void *buf, unsigned len);
/* Most descriptors queue `index` takes (0: no such queue). */
uint16_t tarn__vt_queue_max(const struct vt_hw *hw, uint16_t index);
/* Give queue `vq->index` its ring and enable it; set vq->notify. Returns 0
 * or -EIO (a legacy device with another queue size, or a ring above what
 * its 32-bit PFN reaches). */
int tarn__vt_queue_program(const struct vt_hw *hw, struct vt_vq *vq);
/* Legacy doorbell: a 16-bit write of the queue index to I/O register 16. */
void tarn__vt_legacy_notify(const struct vt_hw *hw, uint16_t index);

static inline void tarn__vt_notify(struct vt_vq *vq)
{
	tarn__eth_count(&vq->kicks, 1);
	if (tarn_likely(vq->notify != NULL))
		*vq->notify = vq->index; /* MMIO store: the device traps it */
	else
		tarn__vt_legacy_notify(vq->hw, vq->index);
}

static inline bool tarn__vt_has(const struct vt_hw *hw, unsigned f)
{
	return (hw->features & VT_BIT(f)) != 0;
}

/* ------------------------------------------------------------------------ */
/* Queues (rx.c, tx.c). */

/* Size bins of the xstats (bytes, as received or sent): 64, 65-127,
 * 128-255, 256-511, 512-1023, 1024-1518, larger. */
#define VT_SIZE_BINS 7

struct vt_rxq {
	struct vt_vq vq;
	struct tarn_mempool *mp;
	struct tarn__eth_qstats *stats;
	struct tarn_mbuf **sw; /* the mbuf of each descriptor */
	uint16_t *refill;      /* descriptors to give new mbufs, a stack */
	uint16_t nrefill;
	uint16_t hdr_size; /* 10 or 12 */
	bool mrg;          /* MRG_RXBUF: a packet may span buffers */
	uint16_t port_id;
	uint32_t buf_room; /* bytes of a buffer the device may write */
	uint64_t size_bins[VT_SIZE_BINS];
	uint64_t refill_fail; /* refills the pool could not serve (whole bursts) */
	char name[TARN_NAME_SIZE];
} TARN_CACHE_ALIGNED;

struct vt_txq {
	struct vt_vq vq;
	struct tarn__eth_qstats *stats;
	struct tarn_mbuf **sw; /* the packet of each chain head */
	uint16_t *ndesc;       /* descriptors of each chain head */
	uint8_t *hdrs;         /* a zeroed header slot per descriptor */
	tarn_iova_t hdrs_iova;
	uint16_t hdr_size;
	bool can_push;        /* the header may share the packet's descriptor */
	uint16_t free_thresh; /* reclaim when fewer free descriptors */
	const struct tarn_pci_device *pci;
	/* The last tarn segment found DMA-able, [ok_lo, ok_hi); a buffer in
	 * it whose first and last byte agree in the ok_cross bits (the same
	 * hugepage, with physical IOVAs; 0: no limit) is good. */
	uintptr_t ok_lo, ok_hi, ok_cross;
	uint64_t size_bins[VT_SIZE_BINS];
	uint64_t refused_dma; /* packets refused: unreachable memory, a broken chain */
	uint64_t full;        /* bursts cut short by a full ring */
	char name[TARN_NAME_SIZE];
} TARN_CACHE_ALIGNED;

static inline unsigned tarn__vt_size_bin(uint32_t len)
{
	if (len <= 64)
		return 0;
	if (len < 1024) /* 65-127: 1, 128-255: 2, 256-511: 3, 512-1023: 4 */
		return 32u - (unsigned)__builtin_clz(len) - 6u;
	return len <= 1518 ? 5 : 6;
}

int tarn__vt_rxq_init(struct vt_rxq *q, const struct vt_hw *hw, const char *name, uint16_t index,
                      uint16_t size, int socket, struct tarn_mempool *mp, uint16_t port_id);
void tarn__vt_rxq_fini(struct vt_rxq *q);
/* Before a (re)start: the ring reset, every descriptor given an mbuf (those
 * the queue holds, then new ones). Returns 0 or -ENOBUFS (the pool could not
 * fill the ring: nothing is posted; the mbufs stay with the queue). */
int tarn__vt_rxq_prepare(struct vt_rxq *q);
uint16_t tarn__vt_rx_burst(void *q, struct tarn_mbuf **pkts, uint16_t n);

int tarn__vt_txq_init(struct vt_txq *q, const struct vt_hw *hw, const char *name, uint16_t index,
                      uint16_t size, int socket, const struct tarn_pci_device *pci);
void tarn__vt_txq_fini(struct vt_txq *q);
/* After a stop (device reset): free every packet still in the ring, reset
 * the ring. */
void tarn__vt_txq_reset(struct vt_txq *q);
uint16_t tarn__vt_tx_burst(void *q, struct tarn_mbuf **pkts, uint16_t n);

/* ------------------------------------------------------------------------ */
/* The control queue (ctrl.c). */

#define VT_CTRL_RX           0
#define VT_CTRL_RX_PROMISC   0
#define VT_CTRL_RX_ALLMULTI  1
#define VT_CTRL_MAC          1
#define VT_CTRL_MAC_ADDR_SET 1
#define VT_CTRL_MQ           4
#define VT_CTRL_MQ_PAIRS_SET 0

struct vt_ctrlq {
	struct vt_vq vq;
	/* class, command, data and the ack, in DMA-able memory after the ring */
	uint8_t *buf;
	tarn_iova_t buf_iova;
	bool ready; /* programmed on the device (between start and stop) */
};

int tarn__vt_ctrl_init(struct vt_ctrlq *c, const struct vt_hw *hw, const char *name, uint16_t index,
                       int socket);
void tarn__vt_ctrl_fini(struct vt_ctrlq *c);
/* Send one command and wait for the device's ack (at most a second).
 * Returns 0, -EIO (the device said no), -ETIMEDOUT or -ENOTSUP (no control
 * queue running). */
int tarn__vt_ctrl_cmd(struct vt_ctrlq *c, uint8_t cls, uint8_t cmd, const void *data, uint16_t len);

#ifdef __cplusplus
}
#endif

#endif /* TARN_VIRTIO_PRIV_H */
