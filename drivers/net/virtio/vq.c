/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vq.c - split virtqueues in tarn memory.
 *
 * One memzone per queue holds the descriptor table, the avail ring and, on
 * the next 4 KiB, the used ring (the legacy layout, which modern devices
 * take too), then whatever the queue keeps beside its ring for the device
 * (TX header slots, the control queue's command buffer). The zone is
 * aligned on its own size rounded up to a power of two (at most 2 MiB), so
 * it never straddles a hugepage: its IOVAs are contiguous even when they
 * are physical addresses, which a legacy device (one 32-bit page number for
 * the whole ring) needs. tarn_pci_dma_check() confirms the device can reach
 * it.
 */
#include <stdio.h>
#include <string.h>

#include "virtio_priv.h"

uint64_t tarn__vt_ring_bytes(uint16_t size, uint64_t *avail_off, uint64_t *used_off)
{
	uint64_t a = (uint64_t)size * sizeof(struct vt_desc);
	/* flags, idx, ring[size], used_event */
	uint64_t avail_end = a + 4 + 2ull * size + 2;
	uint64_t u = TARN_ALIGN_CEIL(avail_end, (uint64_t)VT_LEGACY_ALIGN);
	/* flags, idx, ring[size], avail_event */
	uint64_t used_end = u + 4 + sizeof(struct vt_used_elem) * size + 2;
	if (avail_off != NULL)
		*avail_off = a;
	if (used_off != NULL)
		*used_off = u;
	return TARN_ALIGN_CEIL(used_end, (uint64_t)TARN_CACHE_LINE);
}

static uint64_t pow2_ceil(uint64_t v)
{
	uint64_t p = 1;
	while (p < v)
		p <<= 1;
	return p;
}

int tarn__vt_vq_alloc(struct vt_vq *vq, const struct vt_hw *hw, const char *name, uint16_t index,
                      uint16_t size, int socket, size_t extra)
{
	memset(vq, 0, sizeof(*vq));
	uint64_t ring = tarn__vt_ring_bytes(size, &vq->avail_off, &vq->used_off);
	uint64_t len = ring + TARN_ALIGN_CEIL((uint64_t)extra, (uint64_t)TARN_CACHE_LINE);
	uint64_t align = pow2_ceil(len);
	if (align > (2u << 20))
		align = 2u << 20;
	if (align < VT_LEGACY_ALIGN)
		align = VT_LEGACY_ALIGN;
	const struct tarn_memzone *mz = tarn_memzone_reserve(name, len, socket, align);
	if (mz == NULL) {
		int err = (int)tarn_errno;
		TARN__ERR(VT_LOG,
		          "%s: queue %u: no memory for its ring (%llu bytes on socket %d: %s)",
		          hw->name, index, (unsigned long long)len, socket, tarn_strerror(err));
		return -ENOMEM;
	}
	char why[256];
	if (tarn_pci_dma_check(hw->pci, mz->addr, len, why, sizeof(why)) < 0) {
		TARN__ERR(VT_LOG, "%s: queue %u: its ring is not reachable by the device: %s",
		          hw->name, index, why);
		tarn_memzone_free(mz);
		return -EFAULT;
	}
	vq->mz = mz;
	vq->desc = mz->addr;
	vq->avail = (struct vt_avail *)((uint8_t *)mz->addr + vq->avail_off);
	vq->used = (struct vt_used *)((uint8_t *)mz->addr + vq->used_off);
	vq->iova = tarn_mem_virt2iova(mz->addr);
	vq->size = size;
	vq->mask = (uint16_t)(size - 1);
	vq->index = index;
	vq->hw = hw;
	tarn__vt_vq_reset(vq);
	return 0;
}

void tarn__vt_vq_free(struct vt_vq *vq)
{
	if (vq->mz != NULL)
		tarn_memzone_free(vq->mz);
	vq->mz = NULL;
	vq->desc = NULL;
	vq->avail = NULL;
	vq->used = NULL;
}

void tarn__vt_vq_reset(struct vt_vq *vq)
{
	uint64_t ring = tarn__vt_ring_bytes(vq->size, NULL, NULL);
	memset(vq->desc, 0, ring);
	for (uint16_t i = 0; i < vq->size; i++)
		vq->desc[i].next = (uint16_t)(i + 1);
	vq->free_head = 0;
	vq->nfree = vq->size;
	vq->avail_idx = 0;
	vq->used_cons = 0;
	/* Polled: the device must not interrupt (we have no vector anyway). */
	vq->avail->flags = VT_AVAIL_F_NO_INTR;
}
