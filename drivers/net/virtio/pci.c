/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pci.c - the virtio PCI transport: a modern device (virtio 1.0, 4.1.4: the
 * common, notify, ISR and device configuration structures found through
 * vendor-specific capabilities in memory BARs) or a legacy one (4.1.4.8:
 * registers in I/O BAR 0), behind one set of calls.
 *
 * Register accesses of a modern device are volatile loads and stores in the
 * mapped BARs; a legacy device's go through tarn_pci_bar_read/write (port
 * I/O with uio on x86, pread/pwrite with vfio). Only the doorbell is on the
 * fast path; everything else runs at create, start and stop.
 */
#include <string.h>
#include <time.h>

#include "virtio_priv.h"

/* Vendor-specific capability (virtio_pci_cap) fields. */
#define CAP_VNDR       0x09
#define CAP_CFG_TYPE   3
#define CAP_BAR        4
#define CAP_OFFSET     8
#define CAP_LENGTH     12
#define CAP_NOTIFY_MUL 16
#define CFG_COMMON     1
#define CFG_NOTIFY     2
#define CFG_ISR        3
#define CFG_DEVICE     4

/* Common configuration (virtio_pci_common_cfg) offsets. */
#define COM_DFSELECT  0x00
#define COM_DF        0x04
#define COM_GFSELECT  0x08
#define COM_GF        0x0c
#define COM_MSIX      0x10
#define COM_NUMQ      0x12
#define COM_STATUS    0x14
#define COM_GEN       0x15
#define COM_Q_SELECT  0x16
#define COM_Q_SIZE    0x18
#define COM_Q_MSIX    0x1a
#define COM_Q_ENABLE  0x1c
#define COM_Q_NOFF    0x1e
#define COM_Q_DESCLO  0x20
#define COM_Q_DESCHI  0x24
#define COM_Q_AVAILLO 0x28
#define COM_Q_AVAILHI 0x2c
#define COM_Q_USEDLO  0x30
#define COM_Q_USEDHI  0x34
#define COM_LEN       0x38
#define VT_NO_VECTOR  0xffff

/* Legacy I/O registers. */
#define LEG_HOST_F   0x00
#define LEG_GUEST_F  0x04
#define LEG_Q_PFN    0x08
#define LEG_Q_NUM    0x0c
#define LEG_Q_SEL    0x0e
#define LEG_Q_NOTIFY 0x10
#define LEG_STATUS   0x12
#define LEG_CFG      0x14 /* device config without MSI-X; 0x18 with */

#define PCI_CAP_MSIX 0x11
#define MSIX_ENABLE  0x8000

/* ------------------------------------------------------------------------ */
/* Register access */

static inline uint8_t rd8(volatile uint8_t *b, unsigned off)
{
	return *(volatile uint8_t *)(b + off);
}
static inline uint16_t rd16(volatile uint8_t *b, unsigned off)
{
	return *(volatile uint16_t *)(b + off);
}
static inline uint32_t rd32(volatile uint8_t *b, unsigned off)
{
	return *(volatile uint32_t *)(b + off);
}
static inline void wr8(volatile uint8_t *b, unsigned off, uint8_t v)
{
	*(volatile uint8_t *)(b + off) = v;
}
static inline void wr16(volatile uint8_t *b, unsigned off, uint16_t v)
{
	*(volatile uint16_t *)(b + off) = v;
}
static inline void wr32(volatile uint8_t *b, unsigned off, uint32_t v)
{
	*(volatile uint32_t *)(b + off) = v;
}

static uint32_t io_rd(const struct vt_hw *hw, unsigned off, unsigned len)
{
	uint32_t v = 0;
	if (tarn_pci_bar_read(hw->pci, hw->io_bar, &v, len, off) < 0)
		return len == 1 ? 0xff : len == 2 ? 0xffff : 0xffffffff; /* as a dead device */
	return v;
}

static void io_wr(const struct vt_hw *hw, unsigned off, unsigned len, uint32_t v)
{
	(void)tarn_pci_bar_write(hw->pci, hw->io_bar, &v, len, off);
}

/* ------------------------------------------------------------------------ */
/* Finding the registers */

struct cap_loc {
	bool found;
	uint8_t bar;
	uint32_t offset, length, notify_mult;
};

/* The first capability of each configuration type. */
static int read_caps(struct tarn_pci_device *pci, struct cap_loc loc[5])
{
	memset(loc, 0, sizeof(*loc) * 5);
	for (int c = tarn_pci_find_capability(pci, CAP_VNDR, 0); c > 0;
	     c = tarn_pci_find_capability(pci, CAP_VNDR, c)) {
		uint8_t cap[20];
		if (tarn_pci_config_read(pci, cap, sizeof(cap), (uint64_t)c) < 0)
			return -EIO;
		uint8_t type = cap[CAP_CFG_TYPE];
		if (type < CFG_COMMON || type > CFG_DEVICE || loc[type].found)
			continue;
		if (cap[CAP_BAR] >= TARN_PCI_MAX_BARS)
			continue;
		loc[type].found = true;
		loc[type].bar = cap[CAP_BAR];
		memcpy(&loc[type].offset, cap + CAP_OFFSET, 4);
		memcpy(&loc[type].length, cap + CAP_LENGTH, 4);
		if (type == CFG_NOTIFY)
			memcpy(&loc[type].notify_mult, cap + CAP_NOTIFY_MUL, 4);
	}
	return 0;
}

/* The mapped address of a capability's structure, checked against its BAR. */
static volatile uint8_t *cap_addr(struct vt_hw *hw, const struct cap_loc *l, const char *what)
{
	struct tarn_pci_bar bar;
	if (tarn_pci_bar_info(hw->pci, l->bar, &bar) < 0 || bar.is_io || bar.size == 0 ||
	    l->offset > bar.size || l->length > bar.size - l->offset) {
		TARN__ERR(VT_LOG, "%s: the %s structure lies outside BAR %u", hw->name, what,
		          l->bar);
		return NULL;
	}
	uint8_t *base = tarn_pci_bar_map(hw->pci, l->bar);
	if (base == NULL)
		return NULL;
	return base + l->offset;
}

static int init_modern(struct vt_hw *hw, const struct cap_loc loc[5])
{
	hw->common = cap_addr(hw, &loc[CFG_COMMON], "common configuration");
	hw->notify_base = cap_addr(hw, &loc[CFG_NOTIFY], "notification");
	hw->isr = cap_addr(hw, &loc[CFG_ISR], "ISR");
	hw->devcfg = cap_addr(hw, &loc[CFG_DEVICE], "device configuration");
	if (hw->common == NULL || hw->notify_base == NULL || hw->isr == NULL || hw->devcfg == NULL)
		return -ENOTSUP;
	if (loc[CFG_COMMON].length < COM_LEN) {
		TARN__ERR(VT_LOG, "%s: common configuration of %u bytes, %u expected", hw->name,
		          loc[CFG_COMMON].length, COM_LEN);
		return -ENOTSUP;
	}
	hw->notify_mult = loc[CFG_NOTIFY].notify_mult;
	hw->notify_len = loc[CFG_NOTIFY].length;
	hw->devcfg_len = loc[CFG_DEVICE].length;
	hw->modern = true;
	/* No interrupts: a poll-mode driver uses no MSI-X vector. */
	wr16(hw->common, COM_MSIX, VT_NO_VECTOR);
	return 0;
}

static int init_legacy(struct vt_hw *hw)
{
	struct tarn_pci_bar bar;
	if (tarn_pci_bar_info(hw->pci, 0, &bar) < 0 || !bar.is_io || bar.size < LEG_CFG) {
		TARN__ERR(VT_LOG,
		          "%s: no legacy I/O BAR 0 (a virtio 1.0-only device: use layout=modern, "
		          "the default)",
		          hw->name);
		return -ENOTSUP;
	}
	hw->io_bar = 0;
	hw->legacy_cfg = LEG_CFG;
	/* With MSI-X on, two vector registers come before the device config. */
	int c = tarn_pci_find_capability(hw->pci, PCI_CAP_MSIX, 0);
	uint16_t ctl = 0;
	if (c > 0 && tarn_pci_config_read(hw->pci, &ctl, 2, (uint64_t)c + 2) == 0 &&
	    (ctl & MSIX_ENABLE))
		hw->legacy_cfg = LEG_CFG + 4;
	hw->devcfg_len = bar.size - hw->legacy_cfg;
	hw->modern = false;
	return 0;
}

int tarn__vt_hw_init(struct vt_hw *hw, struct tarn_pci_device *pci, enum vt_layout want)
{
	memset(hw, 0, sizeof(*hw));
	hw->pci = pci;
	hw->name = tarn_pci_device_info(pci)->name;
	struct cap_loc loc[5];
	if (read_caps(pci, loc) < 0) {
		TARN__ERR(VT_LOG, "%s: cannot read its capabilities", hw->name);
		return -EIO;
	}
	bool has_modern = loc[CFG_COMMON].found && loc[CFG_NOTIFY].found && loc[CFG_ISR].found &&
	                  loc[CFG_DEVICE].found;
	if (want == VT_LAYOUT_LEGACY)
		return init_legacy(hw);
	if (has_modern)
		return init_modern(hw, loc);
	if (want == VT_LAYOUT_MODERN) {
		TARN__ERR(VT_LOG,
		          "%s: no virtio 1.0 capabilities (a legacy device: use "
		          "layout=legacy or auto)",
		          hw->name);
		return -ENOTSUP;
	}
	return init_legacy(hw);
}

/* ------------------------------------------------------------------------ */
/* Status and features */

uint8_t tarn__vt_get_status(const struct vt_hw *hw)
{
	return hw->modern ? rd8(hw->common, COM_STATUS) : (uint8_t)io_rd(hw, LEG_STATUS, 1);
}

void tarn__vt_set_status(const struct vt_hw *hw, uint8_t status)
{
	if (hw->modern)
		wr8(hw->common, COM_STATUS, status);
	else
		io_wr(hw, LEG_STATUS, 1, status);
}

int tarn__vt_reset(const struct vt_hw *hw)
{
	tarn__vt_set_status(hw, 0);
	/* A modern device may take time to reset (4.1.4.3.2): read until 0. */
	for (int i = 0; i < 1000; i++) {
		if (tarn__vt_get_status(hw) == 0)
			return 0;
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
	}
	TARN__ERR(VT_LOG, "%s: the device did not reset (status 0x%02x after 1 s)", hw->name,
	          tarn__vt_get_status(hw));
	return -ETIMEDOUT;
}

static uint64_t read_features(const struct vt_hw *hw)
{
	if (!hw->modern)
		return io_rd(hw, LEG_HOST_F, 4);
	wr32(hw->common, COM_DFSELECT, 0);
	uint64_t lo = rd32(hw->common, COM_DF);
	wr32(hw->common, COM_DFSELECT, 1);
	uint64_t hi = rd32(hw->common, COM_DF);
	return hi << 32 | lo;
}

static void write_features(const struct vt_hw *hw, uint64_t f)
{
	if (!hw->modern) {
		io_wr(hw, LEG_GUEST_F, 4, (uint32_t)f);
		return;
	}
	wr32(hw->common, COM_GFSELECT, 0);
	wr32(hw->common, COM_GF, (uint32_t)f);
	wr32(hw->common, COM_GFSELECT, 1);
	wr32(hw->common, COM_GF, (uint32_t)(f >> 32));
}

int tarn__vt_negotiate(struct vt_hw *hw, uint64_t want)
{
	int rc = tarn__vt_reset(hw);
	if (rc < 0)
		return rc;
	tarn__vt_set_status(hw, VT_STATUS_ACK);
	tarn__vt_set_status(hw, VT_STATUS_ACK | VT_STATUS_DRIVER);
	hw->dev_features = read_features(hw);
	if (hw->modern) {
		if (!(hw->dev_features & VT_BIT(VT_F_VERSION_1))) {
			TARN__ERR(VT_LOG, "%s: modern layout without VIRTIO_F_VERSION_1 offered",
			          hw->name);
			tarn__vt_set_status(hw, VT_STATUS_FAILED);
			return -EIO;
		}
		want |= VT_BIT(VT_F_VERSION_1);
	} else {
		want &= 0xffffffffull; /* legacy features are 32 bits */
	}
	hw->features = want & hw->dev_features;
	write_features(hw, hw->features);
	if (hw->modern) {
		tarn__vt_set_status(hw, VT_STATUS_ACK | VT_STATUS_DRIVER | VT_STATUS_FEATURES_OK);
		if (!(tarn__vt_get_status(hw) & VT_STATUS_FEATURES_OK)) {
			TARN__ERR(VT_LOG, "%s: the device refused features 0x%llx (offered 0x%llx)",
			          hw->name, (unsigned long long)hw->features,
			          (unsigned long long)hw->dev_features);
			tarn__vt_set_status(hw, VT_STATUS_FAILED);
			return -EIO;
		}
	}
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Device configuration */

static void read_config_once(const struct vt_hw *hw, unsigned off, void *buf, unsigned len)
{
	uint8_t *p = buf;
	if (hw->modern) {
		if (len == 2 && off % 2 == 0) {
			uint16_t v = rd16(hw->devcfg, off);
			memcpy(p, &v, 2);
		} else if (len == 4 && off % 4 == 0) {
			uint32_t v = rd32(hw->devcfg, off);
			memcpy(p, &v, 4);
		} else {
			for (unsigned i = 0; i < len; i++)
				p[i] = rd8(hw->devcfg, off + i);
		}
		return;
	}
	if ((len == 2 || len == 4) && off % len == 0) {
		uint32_t v = io_rd(hw, hw->legacy_cfg + off, len);
		memcpy(p, &v, len);
		return;
	}
	for (unsigned i = 0; i < len; i++)
		p[i] = (uint8_t)io_rd(hw, hw->legacy_cfg + off + i, 1);
}

void tarn__vt_read_config(const struct vt_hw *hw, unsigned off, void *buf, unsigned len)
{
	if (off > hw->devcfg_len || len > hw->devcfg_len - off) {
		memset(buf, 0, len);
		return;
	}
	if (!hw->modern) {
		read_config_once(hw, off, buf, len);
		return;
	}
	/* The generation counter changes when the device changes its config
	 * mid-read (4.1.4.3): read again until it holds still. */
	for (int i = 0; i < 100; i++) {
		uint8_t g0 = rd8(hw->common, COM_GEN);
		read_config_once(hw, off, buf, len);
		if (rd8(hw->common, COM_GEN) == g0)
			return;
	}
}

/* ------------------------------------------------------------------------ */
/* Queues */

uint16_t tarn__vt_queue_max(const struct vt_hw *hw, uint16_t index)
{
	if (hw->modern) {
		if (index >= rd16(hw->common, COM_NUMQ))
			return 0;
		wr16(hw->common, COM_Q_SELECT, index);
		return rd16(hw->common, COM_Q_SIZE);
	}
	io_wr(hw, LEG_Q_SEL, 2, index);
	return (uint16_t)io_rd(hw, LEG_Q_NUM, 2);
}

int tarn__vt_queue_program(const struct vt_hw *hw, struct vt_vq *vq)
{
	const uint64_t desc = vq->iova, avail = vq->iova + vq->avail_off,
	               used = vq->iova + vq->used_off;
	if (!hw->modern) {
		io_wr(hw, LEG_Q_SEL, 2, vq->index);
		uint16_t num = (uint16_t)io_rd(hw, LEG_Q_NUM, 2);
		if (num != vq->size) {
			TARN__ERR(VT_LOG, "%s: legacy queue %u has %u descriptors, not %u",
			          hw->name, vq->index, num, vq->size);
			return -EIO;
		}
		if (desc % VT_LEGACY_ALIGN != 0 || (desc >> 12) > UINT32_MAX) {
			TARN__ERR(VT_LOG,
			          "%s: queue %u at IOVA 0x%llx: a legacy device needs it "
			          "4 KiB-aligned below 16 TiB",
			          hw->name, vq->index, (unsigned long long)desc);
			return -EIO;
		}
		io_wr(hw, LEG_Q_PFN, 4, (uint32_t)(desc >> 12));
		vq->notify = NULL;
		return 0;
	}
	wr16(hw->common, COM_Q_SELECT, vq->index);
	wr16(hw->common, COM_Q_SIZE, vq->size);
	wr16(hw->common, COM_Q_MSIX, VT_NO_VECTOR);
	wr32(hw->common, COM_Q_DESCLO, (uint32_t)desc);
	wr32(hw->common, COM_Q_DESCHI, (uint32_t)(desc >> 32));
	wr32(hw->common, COM_Q_AVAILLO, (uint32_t)avail);
	wr32(hw->common, COM_Q_AVAILHI, (uint32_t)(avail >> 32));
	wr32(hw->common, COM_Q_USEDLO, (uint32_t)used);
	wr32(hw->common, COM_Q_USEDHI, (uint32_t)(used >> 32));
	uint64_t noff = (uint64_t)rd16(hw->common, COM_Q_NOFF) * hw->notify_mult;
	if (noff + 2 > hw->notify_len) {
		TARN__ERR(VT_LOG, "%s: queue %u's doorbell lies outside the notify structure",
		          hw->name, vq->index);
		return -EIO;
	}
	vq->notify = (volatile uint16_t *)(hw->notify_base + noff);
	wr16(hw->common, COM_Q_ENABLE, 1);
	return 0;
}

void tarn__vt_legacy_notify(const struct vt_hw *hw, uint16_t index)
{
	io_wr(hw, LEG_Q_NOTIFY, 2, index);
}
