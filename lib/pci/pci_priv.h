/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pci_priv.h - internal: what the files of the pci component share.
 * Never installed.
 *
 *   sysfs.c  reading /sys/bus/pci (enumeration, drivers, IOMMU groups,
 *            resources), the auto IOVA choice, finding who holds a file.
 *   vfio.c   the container, groups, device fds, regions, DMA mapping.
 *   uio.c    uio_pci_generic: /dev/uioN claim, sysfs config and resources,
 *            port I/O.
 *   pci.c    the public calls: the device table, open/close, register
 *            access dispatched to vfio or uio, DMA checks.
 */
#ifndef TARN_PCI_PRIV_H
#define TARN_PCI_PRIV_H

#include <stdbool.h>
#include <sys/types.h>

#include "env_priv.h"
#include "tarn_pci.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PCI_LOG "pci"

/* Offsets and bits of the PCI configuration header. */
#define TARN__PCI_CFG_COMMAND     0x04
#define TARN__PCI_CMD_IO          0x1
#define TARN__PCI_CMD_MEMORY      0x2
#define TARN__PCI_CMD_MASTER      0x4
#define TARN__PCI_CMD_INTX_OFF    0x400
#define TARN__PCI_CFG_STATUS      0x06
#define TARN__PCI_STATUS_CAP_LIST 0x10
#define TARN__PCI_CFG_BAR0        0x10
#define TARN__PCI_CFG_CAP_PTR     0x34
#define TARN__PCI_CFG_SIZE        256 /* what capability walks read */

/* ------------------------------------------------------------------------ */
/* sysfs.c */

/* Roots of the trees read (tests point them at a fake tree). */
const char *tarn__pci_sysfs_root(void);
const char *tarn__pci_dev_root(void);
/*
 * Tests: read sysfs under `sysfs` ("/sys" when NULL) and device nodes under
 * `dev` ("/dev" when NULL). Not thread-safe against concurrent readers.
 */
void tarn__pci_set_roots(const char *sysfs, const char *dev);

/* Fill `info` for the device directory `name` ("0000:00:10.0"). 0 or
 * -ENODEV. */
int tarn__pci_read_info(const char *name, struct tarn_pci_info *info);
/* Path of a file of a device: <sysfs>/bus/pci/devices/<name>/<file>. */
void tarn__pci_dev_path(const char *name, const char *file, char *buf, size_t size);

/* One line of the sysfs "resource" file. */
struct tarn__pci_resource {
	uint64_t start, end, flags;
};
#define TARN__IORESOURCE_IO  0x100
#define TARN__IORESOURCE_MEM 0x200
/* Read the first TARN_PCI_MAX_BARS lines of a device's resource file. */
int tarn__pci_read_resources(const char *name, struct tarn__pci_resource res[TARN_PCI_MAX_BARS]);

/* The devices of an IOMMU group that are bound to a driver other than
 * vfio-pci, as "0000:00:1f.3 (uio_pci_generic)" joined with ", ". Returns the
 * number of such devices. */
int tarn__pci_group_blockers(int group, char *buf, size_t size);

/* A process (other than us) that has `path` open: writes "pid N (comm)" to
 * buf and returns 0, or -ENOENT. Reads /proc; best effort. */
int tarn__pci_find_holder(const char *path, char *buf, size_t size);

/* ------------------------------------------------------------------------ */
/* The device (pci.c), as vfio.c and uio.c fill it. */

struct tarn__pci_bar_priv {
	uint64_t size;
	bool is_io;
	void *addr;        /* mmap of a memory BAR, or NULL */
	uint64_t port;     /* uio: first port of an I/O BAR */
	bool port_ok;      /* uio: ioperm() granted: in/out instructions */
	int fd;            /* uio: sysfs resourceN, opened on demand, or -1 */
	uint64_t vfio_off; /* vfio: offset of the region in the device fd */
	bool vfio_mmap;    /* vfio: the region may be mmap()ed */
};

struct tarn_pci_device {
	struct tarn_pci_info info;
	enum tarn_pci_kdrv kdrv;
	struct tarn__pci_bar_priv bar[TARN_PCI_MAX_BARS];
	/* vfio */
	int vfio_fd;            /* device fd, -1 */
	int vfio_group;         /* group number, -1 */
	uint64_t vfio_cfg_off;  /* config region offset in the device fd */
	uint64_t vfio_cfg_size; /* its size */
	/* uio */
	int uio_fd; /* /dev/uioN, flock()ed, -1 */
	int cfg_fd; /* sysfs config file, -1 */
	uint64_t cfg_size;
	struct tarn_pci_device *next; /* the open list */
};

/* ------------------------------------------------------------------------ */
/* vfio.c: called with the pci lock held. */

/* Open `dev` (info filled, kdrv VFIO): group, container, device fd,
 * regions. On error everything is undone and a log line written. */
int tarn__vfio_open(struct tarn_pci_device *dev);
void tarn__vfio_close(struct tarn_pci_device *dev);
int tarn__vfio_map_bar(struct tarn_pci_device *dev, unsigned bar);
/* pread/pwrite on the device fd at `off` (a region's offset included). */
int tarn__vfio_rw(const struct tarn_pci_device *dev, bool write, void *buf, size_t len,
                  uint64_t off);
/* Mappings in the container now. Lock-free read. */
unsigned tarn__vfio_mapped_count(void);
/* Is the container set up (DMA mapped)? */
bool tarn__vfio_active(void);

/* ------------------------------------------------------------------------ */
/* uio.c: called with the pci lock held. */

int tarn__uio_open(struct tarn_pci_device *dev);
void tarn__uio_close(struct tarn_pci_device *dev);
int tarn__uio_map_bar(struct tarn_pci_device *dev, unsigned bar);
int tarn__uio_cfg_rw(const struct tarn_pci_device *dev, bool write, void *buf, size_t len,
                     uint64_t off);
int tarn__uio_bar_rw(const struct tarn_pci_device *dev, unsigned bar, bool write, void *buf,
                     size_t len, uint64_t off);

/* ------------------------------------------------------------------------ */
/* pci.c */

/* Close every device still open (tarn_cleanup(), before memory goes). */
void tarn__pci_cleanup(void);

#ifdef __cplusplus
}
#endif

#endif /* TARN_PCI_PRIV_H */
