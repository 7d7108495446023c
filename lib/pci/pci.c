/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pci.c - the public device calls: the table of open devices, open and
 * close, register access dispatched to vfio.c or uio.c, capability walks
 * and DMA checks.
 */
#include <stdlib.h>
#include <string.h>

#include "mem_hook_priv.h"
#include "pci_priv.h"
#include "tarn_mem.h"

/* Guards the open list and everything vfio.c and uio.c keep. */
static pthread_mutex_t pci_lock = PTHREAD_MUTEX_INITIALIZER;
static struct tarn_pci_device *open_list;

static bool is_open(const struct tarn_pci_device *dev)
{
	for (const struct tarn_pci_device *d = open_list; d != NULL; d = d->next)
		if (d == dev)
			return true;
	return false;
}

/* Field by field: the struct has a padding byte that nobody initialises. */
static bool addr_eq(const struct tarn_pci_addr *x, const struct tarn_pci_addr *y)
{
	return x->domain == y->domain && x->bus == y->bus && x->devid == y->devid &&
	       x->function == y->function;
}

static struct tarn_pci_device *find_open(const struct tarn_pci_addr *a)
{
	for (struct tarn_pci_device *d = open_list; d != NULL; d = d->next)
		if (addr_eq(&d->info.addr, a))
			return d;
	return NULL;
}

static int cfg_rw(const struct tarn_pci_device *dev, bool write, void *buf, size_t len,
                  uint64_t off)
{
	if (dev->kdrv == TARN_PCI_KDRV_VFIO) {
		if (off > dev->vfio_cfg_size || len > dev->vfio_cfg_size - off)
			return -EINVAL;
		return tarn__vfio_rw(dev, write, buf, len, dev->vfio_cfg_off + off);
	}
	if (off > dev->cfg_size || len > dev->cfg_size - off)
		return -EINVAL;
	return tarn__uio_cfg_rw(dev, write, buf, len, off);
}

/* Turn bus mastering (and memory/I/O decoding) on or off. */
static int bus_master(struct tarn_pci_device *dev, bool on)
{
	uint16_t cmd;
	int rc = cfg_rw(dev, false, &cmd, sizeof(cmd), TARN__PCI_CFG_COMMAND);
	if (rc < 0)
		return rc;
	uint16_t want =
	    on ? (uint16_t)(cmd | TARN__PCI_CMD_MASTER | TARN__PCI_CMD_MEMORY | TARN__PCI_CMD_IO)
	       : (uint16_t)(cmd & ~TARN__PCI_CMD_MASTER);
	if (want == cmd)
		return 0;
	return cfg_rw(dev, true, &want, sizeof(want), TARN__PCI_CFG_COMMAND);
}

static const char *bind_hint(char *buf, size_t size, const char *name)
{
	snprintf(buf, size,
	         "bind it to vfio-pci (scripts/devbind.sh --bind vfio-pci %s) or, without "
	         "an IOMMU, to uio_pci_generic",
	         name);
	return buf;
}

/* Open `dev` through the driver it is bound to (vfio-pci or uio): 0, or
 * -errno (logged; -ENXIO when bound to the kernel's driver or none). */
static int kdrv_open(struct tarn_pci_device *dev, const char *name)
{
	char hint[160];
	switch (dev->kdrv) {
	case TARN_PCI_KDRV_VFIO:
		return tarn__vfio_open(dev);
	case TARN_PCI_KDRV_UIO:
		return tarn__uio_open(dev);
	case TARN_PCI_KDRV_KERNEL:
		TARN__ERR(PCI_LOG, "%s: bound to the kernel driver %s%s%s%s: %s", name,
		          dev->info.driver, dev->info.interface[0] ? " (interface " : "",
		          dev->info.interface, dev->info.interface[0] ? ")" : "",
		          bind_hint(hint, sizeof(hint), name));
		return -ENXIO;
	default:
		TARN__ERR(PCI_LOG, "%s: bound to no driver: %s", name,
		          bind_hint(hint, sizeof(hint), name));
		return -ENXIO;
	}
}

struct tarn_pci_device *tarn_pci_open(const char *addr)
{
	struct tarn_pci_addr a;
	if (addr == NULL || tarn_pci_addr_parse(addr, &a) < 0) {
		TARN__ERR(PCI_LOG, "'%s' is not a PCI address (expected DDDD:BB:DD.F or BB:DD.F)",
		          addr ? addr : "(null)");
		return tarn__err_null(EINVAL);
	}
	if (!tarn_initialized()) {
		TARN__ERR(PCI_LOG, "%s: tarn_init() first", addr);
		return tarn__err_null(EINVAL);
	}
	struct tarn_pci_device *dev = calloc(1, sizeof(*dev));
	if (dev == NULL)
		return tarn__err_null(ENOMEM);
	dev->vfio_fd = dev->uio_fd = dev->cfg_fd = -1;
	dev->vfio_group = -1;
	for (unsigned b = 0; b < TARN_PCI_MAX_BARS; b++)
		dev->bar[b].fd = -1;
	char name[TARN_PCI_NAME_SIZE];
	tarn_pci_addr_format(&a, name, sizeof(name));
	int rc = tarn__pci_read_info(name, &dev->info);
	if (rc < 0) {
		TARN__ERR(PCI_LOG, "%s: no such PCI device (see scripts/devbind.sh --status)",
		          name);
		free(dev);
		return tarn__err_null(ENODEV);
	}
	dev->kdrv = dev->info.kdrv;
	pthread_mutex_lock(&pci_lock);
	if (find_open(&a) != NULL) {
		TARN__ERR(PCI_LOG, "%s: open already in this process", name);
		rc = -EBUSY;
		goto fail;
	}
	rc = kdrv_open(dev, name);
	if (rc < 0)
		goto fail;
	rc = bus_master(dev, true);
	if (rc < 0) {
		TARN__ERR(PCI_LOG, "%s: cannot turn bus mastering on (config write: %s)", name,
		          strerror(-rc));
		if (dev->kdrv == TARN_PCI_KDRV_VFIO)
			tarn__vfio_close(dev);
		else
			tarn__uio_close(dev);
		rc = -EIO;
		goto fail;
	}
	dev->next = open_list;
	open_list = dev;
	pthread_mutex_unlock(&pci_lock);
	TARN__INFO(PCI_LOG, "%s: open through %s (%04x:%04x, node %d, IOVA as %s)", name,
	           dev->info.driver, dev->info.vendor_id, dev->info.device_id, dev->info.numa_node,
	           tarn_mem_iova_is_pa() ? "PA" : "VA");
	return dev;
fail:
	pthread_mutex_unlock(&pci_lock);
	free(dev);
	return tarn__err_null(-rc);
}

static void close_locked(struct tarn_pci_device *dev)
{
	bus_master(dev, false);
	if (dev->kdrv == TARN_PCI_KDRV_VFIO)
		tarn__vfio_close(dev);
	else
		tarn__uio_close(dev);
	for (struct tarn_pci_device **p = &open_list; *p != NULL; p = &(*p)->next) {
		if (*p == dev) {
			*p = dev->next;
			break;
		}
	}
	TARN__INFO(PCI_LOG, "%s: closed", dev->info.name);
	free(dev);
}

int tarn_pci_close(struct tarn_pci_device *dev)
{
	if (dev == NULL)
		return -EINVAL;
	pthread_mutex_lock(&pci_lock);
	if (!is_open(dev)) {
		pthread_mutex_unlock(&pci_lock);
		return -EINVAL;
	}
	close_locked(dev);
	pthread_mutex_unlock(&pci_lock);
	return 0;
}

void tarn__pci_cleanup(void)
{
	pthread_mutex_lock(&pci_lock);
	while (open_list != NULL) {
		TARN__WARN(PCI_LOG, "%s: still open at cleanup: closed", open_list->info.name);
		close_locked(open_list);
	}
	pthread_mutex_unlock(&pci_lock);
}

const struct tarn_pci_info *tarn_pci_device_info(const struct tarn_pci_device *dev)
{
	return dev ? &dev->info : NULL;
}

int tarn_pci_config_read(const struct tarn_pci_device *dev, void *buf, size_t len, uint64_t off)
{
	if (dev == NULL || buf == NULL)
		return -EINVAL;
	return cfg_rw(dev, false, buf, len, off);
}

int tarn_pci_config_write(const struct tarn_pci_device *dev, const void *buf, size_t len,
                          uint64_t off)
{
	if (dev == NULL || buf == NULL)
		return -EINVAL;
	/* cfg_rw takes a non-const buffer for both directions; a write only
	 * reads it. */
	return cfg_rw(dev, true, (void *)(uintptr_t)buf, len, off);
}

int tarn_pci_find_capability(const struct tarn_pci_device *dev, uint8_t cap, int after)
{
	if (dev == NULL || after < 0 || after >= TARN__PCI_CFG_SIZE)
		return -EINVAL;
	uint16_t status;
	if (cfg_rw(dev, false, &status, 2, TARN__PCI_CFG_STATUS) < 0)
		return -EIO;
	if (!(status & TARN__PCI_STATUS_CAP_LIST))
		return -ENOENT;
	uint8_t pos;
	if (after == 0) {
		if (cfg_rw(dev, false, &pos, 1, TARN__PCI_CFG_CAP_PTR) < 0)
			return -EIO;
	} else if (cfg_rw(dev, false, &pos, 1, (uint64_t)after + 1) < 0) {
		return -EIO;
	}
	/* At most 48 capabilities fit in 192 bytes: more is a loop. */
	for (int hops = 0; pos >= 0x40 && hops < 48; hops++) {
		pos &= 0xfc;
		uint8_t hdr[2];
		if (cfg_rw(dev, false, hdr, 2, pos) < 0)
			return -EIO;
		if (hdr[0] == cap)
			return pos;
		pos = hdr[1];
	}
	return pos == 0 ? -ENOENT : -EIO;
}

int tarn_pci_bar_info(const struct tarn_pci_device *dev, unsigned bar, struct tarn_pci_bar *info)
{
	if (dev == NULL || info == NULL || bar >= TARN_PCI_MAX_BARS)
		return -EINVAL;
	info->size = dev->bar[bar].size;
	info->is_io = dev->bar[bar].is_io;
	info->addr = dev->bar[bar].addr;
	return 0;
}

void *tarn_pci_bar_map(struct tarn_pci_device *dev, unsigned bar)
{
	if (dev == NULL || bar >= TARN_PCI_MAX_BARS)
		return tarn__err_null(EINVAL);
	pthread_mutex_lock(&pci_lock);
	struct tarn__pci_bar_priv *bp = &dev->bar[bar];
	int rc = 0;
	if (!is_open(dev) || bp->size == 0 || bp->is_io)
		rc = -EINVAL;
	else if (bp->addr == NULL)
		rc = dev->kdrv == TARN_PCI_KDRV_VFIO ? tarn__vfio_map_bar(dev, bar)
		                                     : tarn__uio_map_bar(dev, bar);
	void *a = bp->addr;
	pthread_mutex_unlock(&pci_lock);
	if (rc < 0)
		return tarn__err_null(-rc);
	return a;
}

static int bar_rw(const struct tarn_pci_device *dev, unsigned bar, bool write, void *buf,
                  size_t len, uint64_t off)
{
	if (dev == NULL || buf == NULL || bar >= TARN_PCI_MAX_BARS)
		return -EINVAL;
	const struct tarn__pci_bar_priv *bp = &dev->bar[bar];
	if ((len != 1 && len != 2 && len != 4) || off % len != 0 || bp->size == 0 ||
	    off >= bp->size || len > bp->size - off)
		return -EINVAL;
	if (!bp->is_io && bp->addr != NULL) {
		volatile void *p = (volatile char *)bp->addr + off;
		if (write) {
			if (len == 1)
				*(volatile uint8_t *)p = *(const uint8_t *)buf;
			else if (len == 2)
				*(volatile uint16_t *)p = *(const uint16_t *)buf;
			else
				*(volatile uint32_t *)p = *(const uint32_t *)buf;
		} else {
			if (len == 1)
				*(uint8_t *)buf = *(volatile uint8_t *)p;
			else if (len == 2)
				*(uint16_t *)buf = *(volatile uint16_t *)p;
			else
				*(uint32_t *)buf = *(volatile uint32_t *)p;
		}
		return 0;
	}
	if (dev->kdrv == TARN_PCI_KDRV_VFIO)
		return tarn__vfio_rw(dev, write, buf, len, bp->vfio_off + off);
	if (!bp->is_io)
		return -EINVAL; /* uio: a memory BAR is reached through its mapping */
	return tarn__uio_bar_rw(dev, bar, write, buf, len, off);
}

int tarn_pci_bar_read(const struct tarn_pci_device *dev, unsigned bar, void *buf, size_t len,
                      uint64_t off)
{
	return bar_rw(dev, bar, false, buf, len, off);
}

int tarn_pci_bar_write(const struct tarn_pci_device *dev, unsigned bar, const void *buf, size_t len,
                       uint64_t off)
{
	/* bar_rw only reads `buf` for a write. */
	return bar_rw(dev, bar, true, (void *)(uintptr_t)buf, len, off);
}

int tarn_pci_dma_check(const struct tarn_pci_device *dev, const void *addr, size_t len, char *why,
                       size_t size)
{
	char tmp[8];
	if (why == NULL) {
		why = tmp;
		size = sizeof(tmp);
	}
	if (dev == NULL || len == 0) {
		snprintf(why, size, "invalid arguments");
		return -EINVAL;
	}
	struct tarn__mem_seg_view v;
	if (tarn__mem_seg_lookup(addr, &v) < 0) {
		snprintf(why, size, "%p is not tarn memory", addr);
		return -EFAULT;
	}
	uintptr_t off = (uintptr_t)addr - (uintptr_t)v.addr;
	if (len > v.len - off) {
		snprintf(why, size, "%p + %zu runs past the end of its tarn memory segment", addr,
		         len);
		return -EFAULT;
	}
	if (dev->kdrv == TARN_PCI_KDRV_VFIO)
		return 0; /* every live segment is mapped into the container */
	/* uio: the device sees physical addresses. */
	if (v.pa == NULL) {
		snprintf(why, size,
		         "%p is on %s pages whose physical address is not known (uio needs "
		         "hugepages and physical IOVAs)",
		         addr, v.page_size > 4096 ? "huge" : "normal");
		return -EFAULT;
	}
	size_t first = off / v.page_size, last = (off + len - 1) / v.page_size;
	for (size_t p = first + 1; p <= last; p++) {
		if (v.pa[p] != v.pa[first] + (p - first) * v.page_size) {
			snprintf(why, size,
			         "%p + %zu crosses hugepages that are not physically adjacent",
			         addr, len);
			return -EFAULT;
		}
	}
	return 0;
}

int tarn_pci_dma_region(const struct tarn_pci_device *dev, const void *addr,
                        struct tarn_pci_dma_region *r)
{
	if (dev == NULL || r == NULL)
		return -EINVAL;
	struct tarn__mem_seg_view v;
	if (tarn__mem_seg_lookup(addr, &v) < 0)
		return -EFAULT;
	if (dev->kdrv != TARN_PCI_KDRV_VFIO && v.pa == NULL)
		return -EFAULT;
	r->start = v.addr;
	r->len = v.len;
	/* vfio maps a segment as one range (VA), or page runs at their
	 * physical addresses: within a page, always contiguous. */
	r->boundary = v.pa == NULL ? 0 : v.page_size;
	return 0;
}

unsigned tarn_pci_dma_mapped_count(void)
{
	return tarn__vfio_mapped_count();
}
