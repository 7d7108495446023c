/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * iova.c - virtual to IOVA, and the node of an address.
 *
 * A hugetlb segment's pages never move, so their physical addresses are read
 * once from /proc/self/pagemap right after populate and kept in seg->pa.
 * Without CAP_SYS_ADMIN the kernel reports PFN 0: then, and for the small-page
 * tiers (whose pages may move), the IOVA is the virtual address.
 * Lookups take no lock: see tarn__mem_seg_find().
 */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "mem_priv.h"

#define PM_PRESENT  (1ull << 63)
#define PM_PFN_MASK ((1ull << 55) - 1)

static int iova_pa; /* relaxed: written at init before any segment exists */

/* Physical address of the 4 KiB page at `va`, 0 if unknown. */
static uint64_t pagemap_pa(int fd, const void *va)
{
	uint64_t e;
	off_t off = (off_t)((uintptr_t)va / TARN__PAGE_4K * sizeof(e));
	if (pread(fd, &e, sizeof(e), off) != (ssize_t)sizeof(e))
		return 0;
	if (!(e & PM_PRESENT) || (e & PM_PFN_MASK) == 0)
		return 0;
	return (e & PM_PFN_MASK) * TARN__PAGE_4K + (uintptr_t)va % TARN__PAGE_4K;
}

int tarn__iova_init(enum tarn_iova_mode mode)
{
	int pa = 0;
	if (mode != TARN_IOVA_VA) {
		int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			/* A page of our own, surely present: the stack. */
			volatile char probe[64];
			probe[0] = 1;
			pa = pagemap_pa(fd, (const void *)probe) != 0;
			close(fd);
		}
		if (mode == TARN_IOVA_PA && !pa) {
			TARN__ERR(MEM_LOG,
			          "--iova-mode pa: physical addresses cannot be read here "
			          "(/proc/self/pagemap gives them only with CAP_SYS_ADMIN): run as "
			          "root, or use --iova-mode va with vfio-pci and an IOMMU");
			return -EPERM;
		}
	}
	__atomic_store_n(&iova_pa, pa, __ATOMIC_RELAXED);
	TARN__DEBUG(MEM_LOG, "IOVA: %s",
	            pa                     ? "physical addresses for hugepage memory"
	            : mode == TARN_IOVA_VA ? "virtual addresses (--iova-mode va)"
	                                   : "virtual addresses (pagemap gives no PFNs)");
	return 0;
}

enum tarn_iova_mode tarn_iova_mode(void)
{
	if (!tarn__mem_ready())
		return TARN_IOVA_AUTO;
	return __atomic_load_n(&iova_pa, __ATOMIC_RELAXED) ? TARN_IOVA_PA : TARN_IOVA_VA;
}

int tarn_mem_iova_is_pa(void)
{
	return __atomic_load_n(&iova_pa, __ATOMIC_RELAXED);
}

void tarn__iova_seg_setup(struct tarn__mem_seg *seg)
{
	seg->pa = NULL;
	if (!seg->be->huge || !__atomic_load_n(&iova_pa, __ATOMIC_RELAXED))
		return;
	size_t pages = seg->len / seg->page_size;
	uint64_t *pa = malloc(pages * sizeof(*pa));
	if (pa == NULL)
		return;
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		free(pa);
		return;
	}
	for (size_t i = 0; i < pages; i++) {
		pa[i] = pagemap_pa(fd, (char *)seg->addr + i * seg->page_size);
		if (pa[i] == 0) {
			/* Not readable after all: this segment uses VA. */
			free(pa);
			pa = NULL;
			break;
		}
	}
	close(fd);
	seg->pa = pa;
}

tarn_iova_t tarn_mem_virt2iova(const void *addr)
{
	const struct tarn__mem_seg *s = tarn__mem_seg_find(addr);
	if (s == NULL)
		return TARN_BAD_IOVA;
	if (s->pa == NULL)
		return (tarn_iova_t)(uintptr_t)addr;
	uintptr_t off = (uintptr_t)addr - (uintptr_t)s->addr;
	return s->pa[off / s->page_size] + off % s->page_size;
}

int tarn_mem_node_of(const void *addr)
{
	if (addr == NULL)
		return -EFAULT;
	return tarn__mem_backends[TARN__TIER_4K]->node_of(addr);
}
