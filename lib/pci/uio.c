/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * uio.c - devices bound to uio_pci_generic (or igb_uio): no IOMMU, so the
 * device DMAs to physical addresses and the IOVA mode must be PA.
 *
 * The claim is a flock(LOCK_EX | LOCK_NB) on /dev/uioN, held while the
 * device is open (the kernel drops it if the process dies). Configuration
 * space is the sysfs `config` file, memory BARs are mmap()s of sysfs
 * `resourceN`, and I/O BARs are reached with in/out instructions after
 * ioperm() on x86 (CAP_SYS_RAWIO), else with pread/pwrite on `resourceN`
 * (the kernel does the port access).
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#if defined(__x86_64__) || defined(__i386__)
#include <sys/io.h>
#define HAVE_PORT_IO 1
#else
#define HAVE_PORT_IO 0
#endif

#include "pci_priv.h"
#include "tarn_mem.h"

/* The uioN of a device, from <dev>/uio/. */
static int uio_number(const char *name)
{
	char path[PATH_MAX];
	tarn__pci_dev_path(name, "uio", path, sizeof(path));
	DIR *d = opendir(path);
	if (d == NULL)
		return -ENOENT;
	int n = -ENOENT;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		char *end;
		if (strncmp(e->d_name, "uio", 3) != 0)
			continue;
		long v = strtol(e->d_name + 3, &end, 10);
		if (*end == '\0' && v >= 0 && v < INT_MAX) {
			n = (int)v;
			break;
		}
	}
	closedir(d);
	return n;
}

static int claim(struct tarn_pci_device *dev)
{
	const char *name = dev->info.name;
	int num = uio_number(name);
	if (num < 0) {
		TARN__ERR(PCI_LOG, "%s: bound to %s but has no uio device (sysfs %s/uio missing)",
		          name, dev->info.driver, name);
		return -ENODEV;
	}
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/uio%d", tarn__pci_dev_root(), num);
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		int err = errno;
		TARN__ERR(PCI_LOG, "%s: cannot open %s: %s%s", name, path, strerror(err),
		          err == EACCES || err == EPERM ? " (run as root)" : "");
		return err == EACCES || err == EPERM ? -EACCES : -ENODEV;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		char who[128];
		if (tarn__pci_find_holder(path, who, sizeof(who)) == 0)
			TARN__ERR(PCI_LOG, "%s: in use: %s holds %s", name, who, path);
		else
			TARN__ERR(PCI_LOG, "%s: in use: another process holds %s", name, path);
		close(fd);
		return -EBUSY;
	}
	dev->uio_fd = fd;
	return 0;
}

/* Open sysfs resourceN (once). */
static int bar_fd(struct tarn_pci_device *dev, unsigned bar)
{
	struct tarn__pci_bar_priv *bp = &dev->bar[bar];
	if (bp->fd >= 0)
		return bp->fd;
	char file[32], path[PATH_MAX];
	snprintf(file, sizeof(file), "resource%u", bar);
	tarn__pci_dev_path(dev->info.name, file, path, sizeof(path));
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		int err = errno;
		TARN__ERR(PCI_LOG, "%s: cannot open %s: %s", dev->info.name, path, strerror(err));
		return -err;
	}
	bp->fd = fd;
	return fd;
}

int tarn__uio_open(struct tarn_pci_device *dev)
{
	const char *name = dev->info.name;
	if (!tarn_mem_iova_is_pa()) {
		TARN__ERR(PCI_LOG,
		          "%s: bound to %s (no IOMMU), which needs physical addresses, but the "
		          "IOVA mode is VA: run as root with hugepages and --iova-mode pa (or "
		          "bind the device to vfio-pci with the IOMMU on)",
		          name, dev->info.driver);
		return -ENOTSUP;
	}
	int rc = claim(dev);
	if (rc < 0)
		return rc;
	char path[PATH_MAX];
	tarn__pci_dev_path(name, "config", path, sizeof(path));
	dev->cfg_fd = open(path, O_RDWR | O_CLOEXEC);
	if (dev->cfg_fd < 0) {
		rc = -errno;
		TARN__ERR(PCI_LOG, "%s: cannot open %s: %s", name, path, strerror(-rc));
		rc = rc == -EACCES || rc == -EPERM ? -EACCES : -EIO;
		goto fail;
	}
	struct stat st;
	dev->cfg_size = fstat(dev->cfg_fd, &st) == 0 && st.st_size > 0 ? (uint64_t)st.st_size
	                                                               : TARN__PCI_CFG_SIZE;
	struct tarn__pci_resource res[TARN_PCI_MAX_BARS];
	rc = tarn__pci_read_resources(name, res);
	if (rc < 0) {
		TARN__ERR(PCI_LOG, "%s: cannot read its sysfs resource file: %s", name,
		          strerror(-rc));
		rc = -EIO;
		goto fail;
	}
	for (unsigned b = 0; b < TARN_PCI_MAX_BARS; b++) {
		struct tarn__pci_bar_priv *bp = &dev->bar[b];
		bp->fd = -1;
		if (res[b].end <= res[b].start ||
		    !(res[b].flags & (TARN__IORESOURCE_IO | TARN__IORESOURCE_MEM)))
			continue;
		bp->size = res[b].end - res[b].start + 1;
		bp->is_io = (res[b].flags & TARN__IORESOURCE_IO) != 0;
		bp->port = res[b].start;
#if HAVE_PORT_IO
		if (bp->is_io && res[b].end < 0x10000 &&
		    ioperm((unsigned long)bp->port, (unsigned long)bp->size, 1) == 0)
			bp->port_ok = true;
#endif
		/* Without port I/O, the kernel does it through resourceN. */
		if (bp->is_io && !bp->port_ok && bar_fd(dev, b) < 0) {
			rc = -EIO;
			goto fail;
		}
	}
	return 0;
fail:
	tarn__uio_close(dev);
	return rc;
}

void tarn__uio_close(struct tarn_pci_device *dev)
{
	for (unsigned b = 0; b < TARN_PCI_MAX_BARS; b++) {
		struct tarn__pci_bar_priv *bp = &dev->bar[b];
		if (bp->addr != NULL)
			munmap(bp->addr, bp->size);
		bp->addr = NULL;
		if (bp->fd >= 0)
			close(bp->fd);
		bp->fd = -1;
#if HAVE_PORT_IO
		if (bp->port_ok)
			ioperm((unsigned long)bp->port, (unsigned long)bp->size, 0);
		bp->port_ok = false;
#endif
	}
	if (dev->cfg_fd >= 0)
		close(dev->cfg_fd);
	dev->cfg_fd = -1;
	if (dev->uio_fd >= 0)
		close(dev->uio_fd); /* drops the flock */
	dev->uio_fd = -1;
}

int tarn__uio_map_bar(struct tarn_pci_device *dev, unsigned bar)
{
	struct tarn__pci_bar_priv *bp = &dev->bar[bar];
	int fd = bar_fd(dev, bar);
	if (fd < 0)
		return fd;
	void *a = mmap(NULL, bp->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (a == MAP_FAILED) {
		int err = errno;
		TARN__ERR(PCI_LOG, "%s: mmap of BAR %u (%llu bytes): %s", dev->info.name, bar,
		          (unsigned long long)bp->size, strerror(err));
		return -err;
	}
	bp->addr = a;
	return 0;
}

int tarn__uio_cfg_rw(const struct tarn_pci_device *dev, bool write, void *buf, size_t len,
                     uint64_t off)
{
	ssize_t n = write ? pwrite(dev->cfg_fd, buf, len, (off_t)off)
	                  : pread(dev->cfg_fd, buf, len, (off_t)off);
	return n == (ssize_t)len ? 0 : -EIO;
}

int tarn__uio_bar_rw(const struct tarn_pci_device *dev, unsigned bar, bool write, void *buf,
                     size_t len, uint64_t off)
{
	const struct tarn__pci_bar_priv *bp = &dev->bar[bar];
#if HAVE_PORT_IO
	if (bp->port_ok) {
		unsigned short port = (unsigned short)(bp->port + off);
		if (write) {
			if (len == 1)
				outb(*(const uint8_t *)buf, port);
			else if (len == 2)
				outw(*(const uint16_t *)buf, port);
			else
				outl(*(const uint32_t *)buf, port);
		} else {
			if (len == 1)
				*(uint8_t *)buf = inb(port);
			else if (len == 2)
				*(uint16_t *)buf = inw(port);
			else
				*(uint32_t *)buf = inl(port);
		}
		return 0;
	}
#endif
	int fd = bp->fd; /* opened by tarn__uio_open() for I/O BARs */
	if (fd < 0)
		return -EIO;
	ssize_t n = write ? pwrite(fd, buf, len, (off_t)off) : pread(fd, buf, len, (off_t)off);
	return n == (ssize_t)len ? 0 : -EIO;
}
