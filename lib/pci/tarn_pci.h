/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file tarn_pci.h
 * PCI devices: enumeration from sysfs, user-space access through vfio-pci or
 * uio_pci_generic, and DMA into tarn memory.
 *
 * ## Finding devices
 *
 * tarn_pci_scan() and tarn_pci_info_get() read /sys/bus/pci/devices: the
 * address, vendor and device ids, class, NUMA node, the kernel driver the
 * device is bound to and its IOMMU group. They work before tarn_init().
 *
 * ## Opening a device
 *
 * A device is handed to user space by binding it to `vfio-pci` or
 * `uio_pci_generic` (scripts/devbind.sh does it; tarn never rebinds a
 * device itself). tarn_pci_open() then uses whichever the device is bound
 * to:
 * - **vfio-pci**: the device's IOMMU group is attached to the process's one
 *   vfio container (type 1 IOMMU). Every segment of tarn memory — those
 *   reserved before the open and every one reserved later — is mapped into
 *   the container at its IOVA (tarn_mem_virt2iova()), so the device can DMA
 *   into any tarn memzone, pool or mbuf and nowhere else. The mappings go
 *   when the last vfio device of the process is closed. The group must be
 *   viable: every device in it bound to vfio-pci (or to no driver).
 * - **uio_pci_generic**: no IOMMU; the device DMAs to physical addresses, so
 *   the IOVA mode must be PA (tarn_iova_mode(); `--iova-mode pa` or auto
 *   with the device bound before tarn_init()) and DMA memory must be
 *   hugepages. Memory BARs are mapped through sysfs `resourceN`, I/O BARs
 *   are reached with port I/O (x86, ioperm) or through the `resourceN` file.
 *
 * A device is claimed by one process at a time: a second tarn_pci_open(),
 * in this process or another, fails with -EBUSY and a log line that says
 * who holds it (the vfio group is exclusive to one process; a uio device is
 * locked with flock()).
 *
 * ## IOVA modes
 *
 * `--iova-mode va|pa|auto` (struct tarn_config::iova_mode) decides at
 * tarn_init() what tarn_mem_virt2iova() returns: virtual addresses (VA,
 * needs vfio and an IOMMU) or physical addresses (PA, needs root and
 * hugepages; refused at tarn_init() otherwise). auto chooses VA when a
 * device is bound to vfio-pci behind an IOMMU and PA otherwise (where
 * physical addresses can be read). tarn_pci_iova_auto() says what auto
 * would choose and why.
 *
 * ## Threads
 *
 * Every function is thread-safe (one mutex guards the device table and
 * the container). The register accessors of one device (config space and
 * BAR reads and writes) may be called from several threads; what a device
 * makes of concurrent accesses is the driver's business.
 *
 * Functions that open devices need tarn_init() first; the sysfs readers
 * and the address helpers do not.
 *
 * The environment variables TARN_SYSFS and TARN_DEVFS (absolute paths,
 * read once) make the component read another sysfs tree and another /dev,
 * as DPDK's SYSFS_PCI_DEVICES does: for tests on a fake tree and chroots.
 */
#ifndef TARN_PCI_H
#define TARN_PCI_H

#include <stddef.h>
#include <stdint.h>

#include "tarn_env.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @name Addresses and enumeration (usable before tarn_init()) */
/**@{*/

/** Size of a formatted PCI address, "dddd:bb:dd.f" with its terminator. */
#define TARN_PCI_NAME_SIZE 16
/** Most BARs of a PCI function. */
#define TARN_PCI_MAX_BARS 6

/** A PCI address: domain:bus:device.function. */
struct tarn_pci_addr {
	uint32_t domain;  /**< 0 .. 0xffff on most machines */
	uint8_t bus;      /**< 0 .. 255 */
	uint8_t devid;    /**< device, 0 .. 31 */
	uint8_t function; /**< 0 .. 7 */
};

/**
 * Parse "DDDD:BB:DD.F" or "BB:DD.F" (domain 0), hexadecimal digits.
 * @param s     the text.
 * @param addr  receives the address.
 * @return 0; -EINVAL (NULL, malformed, device above 0x1f, function above 7,
 *   trailing characters). Thread-safe.
 */
TARN_API int tarn_pci_addr_parse(const char *s, struct tarn_pci_addr *addr);

/**
 * Format an address as sysfs names it ("0000:00:10.0").
 * @param addr  the address.
 * @param buf   at least TARN_PCI_NAME_SIZE bytes.
 * @param size  size of `buf`.
 * @return `buf`, or NULL if an argument is NULL or `size` is too small
 *   (`buf` is then the empty string when `size` > 0).
 */
TARN_API char *tarn_pci_addr_format(const struct tarn_pci_addr *addr, char *buf, size_t size);

/** How a device is (or is not) open to user space, from its bound driver. */
enum tarn_pci_kdrv {
	TARN_PCI_KDRV_NONE = 0, /**< bound to no driver */
	TARN_PCI_KDRV_VFIO,     /**< vfio-pci */
	TARN_PCI_KDRV_UIO,      /**< uio_pci_generic (or igb_uio) */
	TARN_PCI_KDRV_KERNEL,   /**< a kernel driver (virtio-pci, e1000e, ...) */
};

/** A PCI device as sysfs describes it. */
struct tarn_pci_info {
	struct tarn_pci_addr addr;      /**< its address */
	char name[TARN_PCI_NAME_SIZE];  /**< the address as text, "0000:00:10.0" */
	uint16_t vendor_id;             /**< PCI vendor id */
	uint16_t device_id;             /**< PCI device id */
	uint16_t subsys_vendor_id;      /**< subsystem vendor id (0 if sysfs has none) */
	uint16_t subsys_device_id;      /**< subsystem device id (0 if sysfs has none) */
	uint32_t class_code;            /**< class, subclass, prog-if (0x020000: Ethernet) */
	int numa_node;                  /**< NUMA node, -1 when the firmware says none */
	char driver[TARN_NAME_SIZE];    /**< bound driver's name, "" when none */
	enum tarn_pci_kdrv kdrv;        /**< what that driver means for tarn */
	int iommu_group;                /**< IOMMU group number, -1 when none */
	char interface[TARN_NAME_SIZE]; /**< network interface of a kernel driver, or "" */
};

/**
 * List the PCI devices, sorted by address.
 * @param list  array of `max` entries (may be NULL when `max` is 0).
 * @param max   its size.
 * @return the number of devices (may exceed `max`: only `max` are written),
 *   0 on a machine without PCI; -EINVAL (`list` NULL with `max` > 0);
 *   -ENOMEM. Thread-safe; works before tarn_init().
 */
TARN_API int tarn_pci_scan(struct tarn_pci_info *list, unsigned max);

/**
 * Describe one device.
 * @param addr  its address ("0000:00:10.0" or "00:10.0").
 * @param info  receives the description.
 * @return 0; -EINVAL (NULL or malformed address); -ENODEV (no such device).
 * Thread-safe; works before tarn_init().
 */
TARN_API int tarn_pci_info_get(const char *addr, struct tarn_pci_info *info);

/**
 * Is the device held by another process (open through vfio or uio)?
 * Reads /proc to find the holder of its /dev/vfio/N (vfio) or tests the
 * lock on its /dev/uioN (uio), without keeping anything open.
 * @param addr  the device's address.
 * @param who   receives "process PID (NAME)" when held (may be NULL).
 * @param size  size of `who`.
 * @return 1 held (`who` says by whom; "another process" when /proc does not
 *   say), 0 not held (or not bound to vfio-pci or uio); -EINVAL (malformed
 *   address); -ENODEV (no such device). Thread-safe; works before
 *   tarn_init(); a process of another user may be missed without root.
 */
TARN_API int tarn_pci_device_holder(const char *addr, char *who, size_t size);

/**
 * What `--iova-mode auto` chooses on this machine now, and why: VA when a
 * device is bound to vfio-pci behind an IOMMU, PA when devices are bound to
 * uio and none to vfio-pci, TARN_IOVA_AUTO (physical addresses for
 * hugepages where readable, virtual otherwise) when no device is bound to
 * either. tarn_init() calls it when the mode is auto.
 * @param why   receives one line (may be NULL).
 * @param size  size of `why`.
 * @return the mode. Thread-safe; works before tarn_init().
 */
TARN_API enum tarn_iova_mode tarn_pci_iova_auto(char *why, size_t size);
/**@}*/

/** @name Device access */
/**@{*/

/** An open PCI device (opaque). */
struct tarn_pci_device;

/**
 * Open a device for user-space access through the driver it is bound to
 * (vfio-pci or uio_pci_generic), with bus mastering on and, for vfio, tarn
 * memory DMA-mapped (see the file comment).
 * @param addr  the device's address.
 * @return the device, or NULL with tarn_errno:
 *   EINVAL   malformed address, or tarn not initialised;
 *   ENODEV   no device at that address;
 *   ENXIO    the device is bound to a kernel driver or to none (the log
 *            names the driver and the command that binds it to vfio-pci);
 *   EBUSY    the device is open already, in this process or another (the
 *            log names the other process when it can), or its IOMMU group
 *            holds a device bound to a kernel driver (the log names it);
 *   EACCES   /dev/vfio/N or the sysfs files cannot be opened (permissions:
 *            the log says which file);
 *   ENOTSUP  uio while the IOVA mode is VA (uio needs physical addresses),
 *            vfio's no-IOMMU mode, or a vfio without the type 1 IOMMU;
 *   ENOMEM   memory could not be mapped for DMA (often the memlock limit:
 *            the log says so), or no memory.
 *   On failure nothing stays open or mapped.
 * Thread-safe.
 */
TARN_API struct tarn_pci_device *tarn_pci_open(const char *addr);

/**
 * Close a device: bus mastering off, BARs unmapped, files closed; with the
 * last vfio device the container goes and with it the DMA mappings. A
 * driver resets its device before closing it (the device must not DMA
 * after the mappings go).
 * @return 0; -EINVAL (NULL, or not an open device).
 * Thread-safe; nothing may use `dev` afterwards.
 */
TARN_API int tarn_pci_close(struct tarn_pci_device *dev);

/** @return the device's description (valid until it is closed), or NULL if `dev` is NULL. */
TARN_API const struct tarn_pci_info *tarn_pci_device_info(const struct tarn_pci_device *dev);

/**
 * Read `len` bytes of configuration space at `off`.
 * @return 0; -EINVAL (NULL arguments, range beyond the config space);
 *   -EIO (the kernel refused). Thread-safe.
 */
TARN_API int tarn_pci_config_read(const struct tarn_pci_device *dev, void *buf, size_t len,
                                  uint64_t off);

/**
 * Write `len` bytes of configuration space at `off`.
 * @return as tarn_pci_config_read(). Thread-safe.
 */
TARN_API int tarn_pci_config_write(const struct tarn_pci_device *dev, const void *buf, size_t len,
                                   uint64_t off);

/**
 * Walk the capability list in configuration space.
 * @param dev    the device.
 * @param cap    capability id (9: vendor-specific, 0x11: MSI-X, ...).
 * @param after  0 to start, or the offset of the previous match to go on.
 * @return the offset of the next capability `cap` (> 0); -ENOENT when there
 *   is no other; -EINVAL (NULL `dev`); -EIO (a read failed or the list
 *   loops). Thread-safe.
 */
TARN_API int tarn_pci_find_capability(const struct tarn_pci_device *dev, uint8_t cap, int after);

/** A BAR of an open device. */
struct tarn_pci_bar {
	uint64_t size; /**< bytes; 0 when the BAR is not implemented */
	int is_io;     /**< non-zero for an I/O-port BAR */
	/** mapped address of a memory BAR after tarn_pci_bar_map(), else NULL */
	void *addr;
};

/**
 * Describe BAR `bar`.
 * @return 0; -EINVAL (NULL arguments, bar >= TARN_PCI_MAX_BARS). Thread-safe.
 */
TARN_API int tarn_pci_bar_info(const struct tarn_pci_device *dev, unsigned bar,
                               struct tarn_pci_bar *info);

/**
 * Map memory BAR `bar` (whole) into the process; mapping it again returns
 * the same address. Unmapped by tarn_pci_close().
 * @return the address, or NULL with tarn_errno EINVAL (NULL `dev`, no such
 *   BAR, an I/O BAR), ENOTSUP (the kernel does not allow mapping it), or
 *   the errno of mmap(). Thread-safe.
 */
TARN_API void *tarn_pci_bar_map(struct tarn_pci_device *dev, unsigned bar);

/**
 * Read from BAR `bar` at `off` (an I/O BAR, or a memory BAR without a
 * mapping): `len` 1, 2 or 4 bytes, naturally aligned, one access.
 * @return 0; -EINVAL (NULL arguments, bad length or alignment, range beyond
 *   the BAR, no such BAR); -EIO. Thread-safe.
 */
TARN_API int tarn_pci_bar_read(const struct tarn_pci_device *dev, unsigned bar, void *buf,
                               size_t len, uint64_t off);

/**
 * Write to BAR `bar` at `off`: `len` 1, 2 or 4 bytes, naturally aligned, one
 * access. For I/O BARs this is what a legacy device's doorbell costs: one
 * port instruction (uio on x86) or one pwrite() (vfio, uio elsewhere).
 * @return as tarn_pci_bar_read(). Thread-safe.
 */
TARN_API int tarn_pci_bar_write(const struct tarn_pci_device *dev, unsigned bar, const void *buf,
                                size_t len, uint64_t off);

/**
 * Check that a device can DMA to [addr, addr + len): the range is tarn
 * memory, and its IOVAs are what the device uses (mapped into the vfio
 * container; physical, on hugepages, with uio).
 * @param dev   the device.
 * @param addr  start of the range.
 * @param len   bytes (> 0).
 * @param why   receives the reason of a refusal (may be NULL).
 * @param size  size of `why`.
 * @return 0; -EINVAL (NULL `dev`, len 0); -EFAULT (not tarn memory, or
 *   memory whose IOVA the device cannot use: `why` says which).
 * Thread-safe, lock-free.
 */
TARN_API int tarn_pci_dma_check(const struct tarn_pci_device *dev, const void *addr, size_t len,
                                char *why, size_t size);

/** A region of memory a device reaches (see tarn_pci_dma_region()). */
struct tarn_pci_dma_region {
	void *start; /**< first byte */
	size_t len;  /**< bytes */
	/**
	 * 0: any range inside the region is reachable as one range of IOVAs;
	 * else a power of two (the hugepage size with physical IOVAs): a range
	 * that does not cross a multiple of it is.
	 */
	uint64_t boundary;
};

/**
 * The largest region around `addr` that the device reaches, for a driver
 * to cache instead of calling tarn_pci_dma_check() per buffer: the tarn
 * memory segment holding `addr` (mapped into the container with vfio; with
 * physical IOVAs, a range that stays within a hugepage is contiguous).
 * @return 0 with `*r` filled; -EINVAL (NULL arguments); -EFAULT (`addr` is
 *   not tarn memory, or uio and its memory has no physical addresses).
 * Thread-safe, lock-free.
 */
TARN_API int tarn_pci_dma_region(const struct tarn_pci_device *dev, const void *addr,
                                 struct tarn_pci_dma_region *r);

/**
 * @return the number of IOVA ranges this process has mapped into its vfio
 * container (0 without vfio): what a test counts to prove that a failed or
 * closed device left nothing mapped. Thread-safe.
 */
TARN_API unsigned tarn_pci_dma_mapped_count(void);
/**@}*/

#ifdef __cplusplus
}
#endif

#endif /* TARN_PCI_H */
