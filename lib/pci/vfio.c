/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vfio.c - devices bound to vfio-pci: the process's one container (type 1
 * IOMMU), its groups, device fds and regions, and the DMA mapping of tarn
 * memory into the container.
 *
 * The container exists while at least one vfio device is open. When its
 * first group is attached (and the IOMMU type set), a segment listener is
 * registered with lib/mem: every live segment is mapped at its IOVA, and
 * every segment created later is mapped before its memory is handed out
 * (a mapping failure fails that reservation). Before the last group goes,
 * the listener is removed, which unmaps everything.
 *
 * Locks: tarn_pci_open()/close() run under the pci lock and call in here;
 * the listener callback runs under lib/mem's listener lock and touches only
 * the container fd (stable while the listener is registered) and the
 * mapping table (map_lock), never the pci lock.
 */
#include <fcntl.h>
#include <limits.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "mem_hook_priv.h"
#include "pci_priv.h"
#include "tarn_mem.h"

/* One attached group. */
struct group {
	int num;
	int fd;
	unsigned refs; /* open devices of the group */
};

/* One DMA mapping in the container. */
struct mapping {
	uint64_t vaddr, iova, size;
};

#define MAX_GROUPS 64
#define MAX_RANGES 16

static struct {
	int fd; /* /dev/vfio/vfio, -1 when there is no container */
	unsigned long type;
	bool listening; /* the segment listener is registered */
	struct group groups[MAX_GROUPS];
	unsigned n_groups;
	/* usable IOVA ranges of the IOMMU (inclusive ends); none: unknown */
	struct {
		uint64_t start, end;
	} ranges[MAX_RANGES];
	unsigned n_ranges;
} ctr = { .fd = -1 };

/* The mapping table, written by the listener (under map_lock). */
static pthread_mutex_t map_lock = PTHREAD_MUTEX_INITIALIZER;
static struct mapping *maps;
static unsigned n_maps, cap_maps;

unsigned tarn__vfio_mapped_count(void)
{
	/* relaxed: a count for tests and logs, no ordering needed */
	return __atomic_load_n(&n_maps, __ATOMIC_RELAXED);
}

bool tarn__vfio_active(void)
{
	return ctr.fd >= 0 && ctr.listening;
}

/* ------------------------------------------------------------------------ */
/* DMA mapping */

static bool have_cap_ipc_lock(void)
{
	FILE *f = fopen("/proc/self/status", "re");
	if (f == NULL)
		return false;
	char line[256];
	unsigned long long v = 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "CapEff: %llx", &v) == 1)
			break;
	fclose(f);
	return (v >> 14) & 1; /* CAP_IPC_LOCK */
}

static bool iova_in_ranges(uint64_t iova, uint64_t size)
{
	if (ctr.n_ranges == 0)
		return true;
	for (unsigned i = 0; i < ctr.n_ranges; i++)
		if (iova >= ctr.ranges[i].start && iova + size - 1 <= ctr.ranges[i].end)
			return true;
	return false;
}

static void log_map_error(int err, uint64_t iova, uint64_t size)
{
	char extra[256] = "";
	if (err == ENOMEM && !have_cap_ipc_lock()) {
		struct rlimit rl;
		if (getrlimit(RLIMIT_MEMLOCK, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
			snprintf(extra, sizeof(extra),
			         ": vfio pins DMA memory against the memlock limit, %llu KiB here; "
			         "raise it (ulimit -l unlimited, or LimitMEMLOCK=infinity for a "
			         "service) or run with CAP_IPC_LOCK",
			         (unsigned long long)(rl.rlim_cur >> 10));
	}
	TARN__ERR(PCI_LOG, "vfio: DMA mapping of %llu KiB at IOVA 0x%llx failed: %s%s",
	          (unsigned long long)(size >> 10), (unsigned long long)iova, strerror(err), extra);
}

static int map_one(uint64_t vaddr, uint64_t iova, uint64_t size)
{
	if (!iova_in_ranges(iova, size)) {
		uint64_t top = 0;
		for (unsigned i = 0; i < ctr.n_ranges; i++)
			if (ctr.ranges[i].end > top)
				top = ctr.ranges[i].end;
		TARN__ERR(PCI_LOG,
		          "vfio: IOVA 0x%llx-0x%llx is outside what the IOMMU can address "
		          "(up to 0x%llx): use --iova-mode pa%s",
		          (unsigned long long)iova, (unsigned long long)(iova + size - 1),
		          (unsigned long long)top,
		          tarn_iova_mode() == TARN_IOVA_VA
		              ? " (tarn asks for low virtual addresses under IOVA as VA, but this "
		                "mapping did not get one: ASan's shadow, or another mapping, "
		                "holds them)"
		              : "");
		return -ERANGE;
	}
	if (n_maps == cap_maps) {
		unsigned ncap = cap_maps ? cap_maps * 2 : 64;
		struct mapping *m = realloc(maps, ncap * sizeof(*m));
		if (m == NULL)
			return -ENOMEM;
		maps = m;
		cap_maps = ncap;
	}
	struct vfio_iommu_type1_dma_map dm = {
		.argsz = sizeof(dm),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = vaddr,
		.iova = iova,
		.size = size,
	};
	if (TARN__FAULT("vfio_map_dma", ENOMEM) || ioctl(ctr.fd, VFIO_IOMMU_MAP_DMA, &dm) != 0) {
		int err = errno;
		log_map_error(err, iova, size);
		return -err;
	}
	maps[n_maps] = (struct mapping){ .vaddr = vaddr, .iova = iova, .size = size };
	/* relaxed: see tarn__vfio_mapped_count() */
	__atomic_store_n(&n_maps, n_maps + 1, __ATOMIC_RELAXED);
	return 0;
}

static void unmap_index(unsigned i)
{
	struct vfio_iommu_type1_dma_unmap du = {
		.argsz = sizeof(du),
		.iova = maps[i].iova,
		.size = maps[i].size,
	};
	if (ioctl(ctr.fd, VFIO_IOMMU_UNMAP_DMA, &du) != 0 || du.size != maps[i].size)
		TARN__WARN(PCI_LOG, "vfio: unmapping IOVA 0x%llx (%llu KiB): %s",
		           (unsigned long long)maps[i].iova,
		           (unsigned long long)(maps[i].size >> 10), strerror(errno));
	maps[i] = maps[n_maps - 1];
	__atomic_store_n(&n_maps, n_maps - 1, __ATOMIC_RELAXED);
}

/* Unmap every mapping whose virtual range lies in [va, va + len). */
static void unmap_range(uint64_t va, uint64_t len)
{
	for (unsigned i = n_maps; i-- > 0;)
		if (maps[i].vaddr >= va && maps[i].vaddr - va < len)
			unmap_index(i);
}

/* The segment listener. */
static int seg_event(void *arg, bool add, const struct tarn__mem_seg_view *seg)
{
	(void)arg;
	uint64_t va = (uint64_t)(uintptr_t)seg->addr;
	pthread_mutex_lock(&map_lock);
	int rc = 0;
	if (!add) {
		unmap_range(va, seg->len);
	} else if (seg->pa == NULL) {
		rc = map_one(va, va, seg->len);
	} else {
		/* Physical IOVAs: one mapping per run of physically contiguous
		 * pages. */
		size_t pages = seg->len / seg->page_size;
		for (size_t i = 0; i < pages && rc == 0;) {
			size_t j = i + 1;
			while (j < pages && seg->pa[j] == seg->pa[i] + (j - i) * seg->page_size)
				j++;
			rc = map_one(va + i * seg->page_size, seg->pa[i], (j - i) * seg->page_size);
			i = j;
		}
		if (rc < 0)
			unmap_range(va, seg->len);
	}
	pthread_mutex_unlock(&map_lock);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Container */

/* Read the IOMMU's usable IOVA ranges (kernel 5.4+; none: unknown). */
static void read_iova_ranges(void)
{
	ctr.n_ranges = 0;
	struct vfio_iommu_type1_info probe = { .argsz = sizeof(probe) };
	if (ioctl(ctr.fd, VFIO_IOMMU_GET_INFO, &probe) != 0 || probe.argsz <= sizeof(probe))
		return;
	struct vfio_iommu_type1_info *info = calloc(1, probe.argsz);
	if (info == NULL)
		return;
	info->argsz = probe.argsz;
	if (ioctl(ctr.fd, VFIO_IOMMU_GET_INFO, info) != 0 ||
	    !(info->flags & VFIO_IOMMU_INFO_CAPS) || info->cap_offset == 0) {
		free(info);
		return;
	}
	/* The capabilities sit at 4-byte offsets: read them with memcpy (an
	 * 8-byte aligned access through a cast pointer would be undefined),
	 * each within the bytes the kernel filled. */
	const char *base = (const char *)info;
	uint32_t off = info->cap_offset;
	while (off != 0 && off + sizeof(struct vfio_info_cap_header) <= info->argsz) {
		struct vfio_info_cap_header h;
		memcpy(&h, base + off, sizeof(h));
		if (h.id == VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE &&
		    off + sizeof(struct vfio_iommu_type1_info_cap_iova_range) <= info->argsz) {
			struct vfio_iommu_type1_info_cap_iova_range r;
			memcpy(&r, base + off, sizeof(r));
			size_t at = off + sizeof(r);
			for (uint32_t i = 0; i < r.nr_iovas && ctr.n_ranges < MAX_RANGES &&
			                     at + sizeof(struct vfio_iova_range) <= info->argsz;
			     i++, at += sizeof(struct vfio_iova_range)) {
				struct vfio_iova_range v;
				memcpy(&v, base + at, sizeof(v));
				ctr.ranges[ctr.n_ranges].start = v.start;
				ctr.ranges[ctr.n_ranges].end = v.end;
				ctr.n_ranges++;
			}
			break;
		}
		if (h.next <= off)
			break;
		off = h.next;
	}
	free(info);
}

static int container_open(void)
{
	if (ctr.fd >= 0)
		return 0;
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/vfio/vfio", tarn__pci_dev_root());
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		int err = errno;
		TARN__ERR(PCI_LOG, "vfio: cannot open %s: %s%s", path, strerror(err),
		          err == ENOENT ? " (load the module: modprobe vfio-pci)" : "");
		return err == ENOENT ? -ENOTSUP : -err;
	}
	int ver = ioctl(fd, VFIO_GET_API_VERSION);
	if (ver != VFIO_API_VERSION) {
		TARN__ERR(PCI_LOG, "vfio: %s speaks API version %d, tarn needs %d", path, ver,
		          VFIO_API_VERSION);
		close(fd);
		return -ENOTSUP;
	}
	unsigned long type = 0;
	if (ioctl(fd, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) > 0)
		type = VFIO_TYPE1v2_IOMMU;
	else if (ioctl(fd, VFIO_CHECK_EXTENSION, VFIO_TYPE1_IOMMU) > 0)
		type = VFIO_TYPE1_IOMMU;
	if (type == 0) {
		TARN__ERR(PCI_LOG, "vfio: no type 1 IOMMU support (modprobe vfio_iommu_type1; "
		                   "an IOMMU must be on: intel_iommu=on or amd_iommu=on)");
		close(fd);
		return -ENOTSUP;
	}
	ctr.fd = fd;
	ctr.type = type;
	ctr.n_groups = 0;
	ctr.listening = false;
	return 0;
}

/* Close the container if no group is left. */
static void container_release(void)
{
	if (ctr.fd < 0 || ctr.n_groups != 0)
		return;
	close(ctr.fd);
	ctr.fd = -1;
	ctr.n_ranges = 0;
}

/* ------------------------------------------------------------------------ */
/* Groups */

static struct group *group_find(int num)
{
	for (unsigned i = 0; i < ctr.n_groups; i++)
		if (ctr.groups[i].num == num)
			return &ctr.groups[i];
	return NULL;
}

static int group_open_fd(const struct tarn_pci_device *dev, int num)
{
	char path[PATH_MAX], noiommu[PATH_MAX];
	snprintf(path, sizeof(path), "%s/vfio/%d", tarn__pci_dev_root(), num);
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd >= 0)
		return fd;
	int err = errno;
	const char *name = dev->info.name;
	if (err == EBUSY) {
		char who[128];
		if (tarn__pci_find_holder(path, who, sizeof(who)) == 0)
			TARN__ERR(PCI_LOG, "%s: in use: %s has its IOMMU group %d (%s) open", name,
			          who, num, path);
		else
			TARN__ERR(PCI_LOG,
			          "%s: in use: another process has its IOMMU group %d (%s) open",
			          name, num, path);
		return -EBUSY;
	}
	snprintf(noiommu, sizeof(noiommu), "%s/vfio/noiommu-%d", tarn__pci_dev_root(), num);
	if (err == ENOENT && access(noiommu, F_OK) == 0) {
		TARN__ERR(PCI_LOG,
		          "%s: vfio is in no-IOMMU mode (%s): tarn does not use it; bind the "
		          "device to uio_pci_generic instead (scripts/devbind.sh --bind "
		          "uio_pci_generic %s), or turn the IOMMU on",
		          name, noiommu, name);
		return -ENOTSUP;
	}
	if (err == EACCES || err == EPERM) {
		TARN__ERR(PCI_LOG,
		          "%s: cannot open %s: %s (give this user the group: chown USER %s, or "
		          "run as root)",
		          name, path, strerror(err), path);
		return -EACCES;
	}
	TARN__ERR(PCI_LOG, "%s: cannot open %s: %s", name, path, strerror(err));
	return err == ENOENT ? -ENODEV : -err;
}

/* Attach group `num` to the container (set the IOMMU and start mapping
 * when it is the first). */
static int group_get(const struct tarn_pci_device *dev, int num)
{
	struct group *g = group_find(num);
	if (g != NULL) {
		g->refs++;
		return 0;
	}
	if (ctr.n_groups == MAX_GROUPS) {
		TARN__ERR(PCI_LOG, "%s: more than %d IOMMU groups open", dev->info.name,
		          MAX_GROUPS);
		return -ENOSPC;
	}
	int rc = container_open();
	if (rc < 0)
		return rc;
	int fd = group_open_fd(dev, num);
	if (fd < 0) {
		container_release();
		return fd;
	}
	struct vfio_group_status st = { .argsz = sizeof(st) };
	if (ioctl(fd, VFIO_GROUP_GET_STATUS, &st) != 0) {
		rc = -errno;
		TARN__ERR(PCI_LOG, "%s: IOMMU group %d: VFIO_GROUP_GET_STATUS: %s", dev->info.name,
		          num, strerror(-rc));
		goto fail;
	}
	if (!(st.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		char who[512];
		int n = tarn__pci_group_blockers(num, who, sizeof(who));
		TARN__ERR(PCI_LOG,
		          "%s: IOMMU group %d is not viable: every device in it must be bound to "
		          "vfio-pci or to no driver%s%s%s",
		          dev->info.name, num, n ? "; bound elsewhere: " : "", who,
		          n ? " (unbind them: scripts/devbind.sh --bind vfio-pci ADDR)" : "");
		rc = -EBUSY;
		goto fail;
	}
	if (ioctl(fd, VFIO_GROUP_SET_CONTAINER, &ctr.fd) != 0) {
		rc = -errno;
		TARN__ERR(PCI_LOG, "%s: IOMMU group %d: VFIO_GROUP_SET_CONTAINER: %s",
		          dev->info.name, num, strerror(-rc));
		goto fail;
	}
	bool first = ctr.n_groups == 0;
	if (first) {
		if (ioctl(ctr.fd, VFIO_SET_IOMMU, ctr.type) != 0) {
			rc = -errno;
			TARN__ERR(PCI_LOG, "%s: VFIO_SET_IOMMU: %s", dev->info.name, strerror(-rc));
			goto fail_unset;
		}
		read_iova_ranges();
		/* Map every segment now, and every later one as it comes. */
		rc = tarn__mem_listener_add(seg_event, NULL);
		if (rc < 0) {
			TARN__ERR(PCI_LOG, "%s: tarn memory could not be mapped for DMA (%s)",
			          dev->info.name, strerror(-rc));
			rc = rc == -ERANGE ? -ENOTSUP : -ENOMEM;
			goto fail_unset;
		}
		ctr.listening = true;
		TARN__INFO(PCI_LOG, "vfio: container ready, %u mapping%s of tarn memory",
		           tarn__vfio_mapped_count(), tarn__vfio_mapped_count() == 1 ? "" : "s");
	}
	ctr.groups[ctr.n_groups++] = (struct group){ .num = num, .fd = fd, .refs = 1 };
	return 0;
fail_unset:
	ioctl(fd, VFIO_GROUP_UNSET_CONTAINER);
fail:
	close(fd);
	container_release();
	return rc;
}

static void group_put(int num)
{
	struct group *g = group_find(num);
	if (g == NULL || --g->refs > 0)
		return;
	if (ctr.n_groups == 1 && ctr.listening) {
		/* The last group: unmap while the IOMMU is still set. */
		tarn__mem_listener_del(seg_event, NULL);
		ctr.listening = false;
	}
	if (ioctl(g->fd, VFIO_GROUP_UNSET_CONTAINER) != 0)
		TARN__WARN(PCI_LOG, "vfio: IOMMU group %d: VFIO_GROUP_UNSET_CONTAINER: %s", num,
		           strerror(errno));
	close(g->fd);
	*g = ctr.groups[--ctr.n_groups];
	container_release();
}

/* ------------------------------------------------------------------------ */
/* Devices */

int tarn__vfio_open(struct tarn_pci_device *dev)
{
	const char *name = dev->info.name;
	int num = dev->info.iommu_group;
	if (num < 0) {
		TARN__ERR(PCI_LOG,
		          "%s: bound to vfio-pci but in no IOMMU group: the IOMMU is off (boot "
		          "with intel_iommu=on or amd_iommu=on), or use uio_pci_generic",
		          name);
		return -ENOTSUP;
	}
	int rc = group_get(dev, num);
	if (rc < 0)
		return rc;
	struct group *g = group_find(num);
	int fd = ioctl(g->fd, VFIO_GROUP_GET_DEVICE_FD, name);
	if (fd < 0) {
		rc = -errno;
		TARN__ERR(PCI_LOG, "%s: VFIO_GROUP_GET_DEVICE_FD: %s", name, strerror(-rc));
		if (rc == -EBUSY)
			TARN__ERR(PCI_LOG, "%s: the device is open already", name);
		group_put(num);
		return rc == -EBUSY ? -EBUSY : -EIO;
	}
	dev->vfio_fd = fd;
	dev->vfio_group = num;
	struct vfio_device_info di = { .argsz = sizeof(di) };
	if (ioctl(fd, VFIO_DEVICE_GET_INFO, &di) != 0 || !(di.flags & VFIO_DEVICE_FLAGS_PCI) ||
	    di.num_regions <= VFIO_PCI_CONFIG_REGION_INDEX) {
		TARN__ERR(PCI_LOG, "%s: not a vfio PCI device (VFIO_DEVICE_GET_INFO)", name);
		rc = -EIO;
		goto fail;
	}
	struct vfio_region_info ri = { .argsz = sizeof(ri), .index = VFIO_PCI_CONFIG_REGION_INDEX };
	if (ioctl(fd, VFIO_DEVICE_GET_REGION_INFO, &ri) != 0) {
		rc = -EIO;
		TARN__ERR(PCI_LOG, "%s: config region: %s", name, strerror(errno));
		goto fail;
	}
	dev->vfio_cfg_off = ri.offset;
	dev->vfio_cfg_size = ri.size;
	for (unsigned b = 0; b < TARN_PCI_MAX_BARS; b++) {
		struct tarn__pci_bar_priv *bp = &dev->bar[b];
		struct vfio_region_info r = { .argsz = sizeof(r),
			                      .index = VFIO_PCI_BAR0_REGION_INDEX + b };
		if (ioctl(fd, VFIO_DEVICE_GET_REGION_INFO, &r) != 0 || r.size == 0)
			continue;
		uint32_t reg = 0;
		if (tarn__vfio_rw(dev, false, &reg, 4,
		                  dev->vfio_cfg_off + TARN__PCI_CFG_BAR0 + 4 * b) < 0)
			continue;
		bp->size = r.size;
		bp->is_io = reg & 1;
		bp->vfio_off = r.offset;
		bp->vfio_mmap = (r.flags & VFIO_REGION_INFO_FLAG_MMAP) != 0;
	}
	return 0;
fail:
	close(fd);
	dev->vfio_fd = -1;
	group_put(num);
	return rc;
}

void tarn__vfio_close(struct tarn_pci_device *dev)
{
	for (unsigned b = 0; b < TARN_PCI_MAX_BARS; b++) {
		if (dev->bar[b].addr != NULL)
			munmap(dev->bar[b].addr, dev->bar[b].size);
		dev->bar[b].addr = NULL;
	}
	if (dev->vfio_fd >= 0) {
		close(dev->vfio_fd);
		dev->vfio_fd = -1;
		group_put(dev->vfio_group);
	}
}

int tarn__vfio_map_bar(struct tarn_pci_device *dev, unsigned bar)
{
	struct tarn__pci_bar_priv *bp = &dev->bar[bar];
	if (!bp->vfio_mmap) {
		TARN__ERR(PCI_LOG, "%s: vfio does not let BAR %u be mapped", dev->info.name, bar);
		return -ENOTSUP;
	}
	void *a = mmap(NULL, bp->size, PROT_READ | PROT_WRITE, MAP_SHARED, dev->vfio_fd,
	               (off_t)bp->vfio_off);
	if (a == MAP_FAILED) {
		int err = errno;
		TARN__ERR(PCI_LOG, "%s: mmap of BAR %u (%llu bytes): %s", dev->info.name, bar,
		          (unsigned long long)bp->size, strerror(err));
		return -err;
	}
	bp->addr = a;
	return 0;
}

int tarn__vfio_rw(const struct tarn_pci_device *dev, bool write, void *buf, size_t len,
                  uint64_t off)
{
	ssize_t n = write ? pwrite(dev->vfio_fd, buf, len, (off_t)off)
	                  : pread(dev->vfio_fd, buf, len, (off_t)off);
	return n == (ssize_t)len ? 0 : -EIO;
}
