/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sysfs.c - PCI devices as /sys/bus/pci describes them: enumeration, the
 * bound driver, the IOMMU group, the resources; the auto IOVA choice; who
 * holds a file open.
 *
 * Everything here reads files and symlinks only, so it works before
 * tarn_init() and on a fake tree (tests set the roots).
 */
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pci_priv.h"

/* Roots are short (a test's temporary directory at most), so that every
 * path built on them fits PATH_MAX. */
#define ROOT_MAX 1024
static char sysfs_root[ROOT_MAX] = "/sys";
static char dev_root[ROOT_MAX] = "/dev";

/* Copy `src` into `dst` of `size` bytes, cutting it if it is too long. */
static void copy_cut(char *dst, size_t size, const char *src)
{
	size_t n = strnlen(src, size - 1);
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* TARN_SYSFS and TARN_DEVFS (absolute paths) move the roots, as DPDK's
 * SYSFS_PCI_DEVICES does: for tests on a fake tree and for chroots. */
static pthread_once_t roots_once = PTHREAD_ONCE_INIT;

static void roots_from_env(void)
{
	const char *s = getenv("TARN_SYSFS"), *d = getenv("TARN_DEVFS");
	if (s != NULL && s[0] == '/')
		copy_cut(sysfs_root, sizeof(sysfs_root), s);
	if (d != NULL && d[0] == '/')
		copy_cut(dev_root, sizeof(dev_root), d);
}

const char *tarn__pci_sysfs_root(void)
{
	pthread_once(&roots_once, roots_from_env);
	return sysfs_root;
}

const char *tarn__pci_dev_root(void)
{
	pthread_once(&roots_once, roots_from_env);
	return dev_root;
}

void tarn__pci_set_roots(const char *sysfs, const char *dev)
{
	pthread_once(&roots_once, roots_from_env);
	copy_cut(sysfs_root, sizeof(sysfs_root), sysfs ? sysfs : "/sys");
	copy_cut(dev_root, sizeof(dev_root), dev ? dev : "/dev");
}

/* ------------------------------------------------------------------------ */
/* Addresses */

/* Parse exactly `max_digits` or fewer hex digits; advance *p. */
static int hex_field(const char **p, unsigned max_digits, uint32_t *out)
{
	const char *s = *p;
	uint32_t v = 0;
	unsigned n = 0;
	while (isxdigit((unsigned char)*s)) {
		if (++n > max_digits)
			return -EINVAL;
		unsigned c = (unsigned char)*s;
		v = v * 16 + (unsigned)(isdigit(c) ? c - '0' : tolower(c) - 'a' + 10);
		s++;
	}
	if (n == 0)
		return -EINVAL;
	*p = s;
	*out = v;
	return 0;
}

int tarn_pci_addr_parse(const char *s, struct tarn_pci_addr *addr)
{
	if (s == NULL || addr == NULL)
		return -EINVAL;
	/* Count the colons: two with a domain, one without. */
	unsigned colons = 0;
	for (const char *c = s; *c; c++)
		colons += *c == ':';
	uint32_t dom = 0, bus, dev, fn;
	const char *p = s;
	if (colons == 2) {
		if (hex_field(&p, 8, &dom) < 0 || *p++ != ':')
			return -EINVAL;
	} else if (colons != 1)
		return -EINVAL;
	if (hex_field(&p, 2, &bus) < 0 || *p++ != ':' || hex_field(&p, 2, &dev) < 0 ||
	    *p++ != '.' || hex_field(&p, 1, &fn) < 0 || *p != '\0')
		return -EINVAL;
	if (dev > 0x1f || fn > 7)
		return -EINVAL;
	addr->domain = dom;
	addr->bus = (uint8_t)bus;
	addr->devid = (uint8_t)dev;
	addr->function = (uint8_t)fn;
	return 0;
}

char *tarn_pci_addr_format(const struct tarn_pci_addr *addr, char *buf, size_t size)
{
	if (addr == NULL || buf == NULL)
		return NULL;
	int n = snprintf(buf, size, "%04x:%02x:%02x.%x", addr->domain, addr->bus, addr->devid,
	                 addr->function);
	if (n < 0 || (size_t)n >= size) {
		if (size > 0)
			buf[0] = '\0';
		return NULL;
	}
	return buf;
}

/* ------------------------------------------------------------------------ */
/* Reading one device */

void tarn__pci_dev_path(const char *name, const char *file, char *buf, size_t size)
{
	if (snprintf(buf, size, "%s/bus/pci/devices/%s%s%s", tarn__pci_sysfs_root(), name,
	             file ? "/" : "", file ? file : "") >= (int)size)
		buf[0] = '\0'; /* cannot happen with ROOT_MAX roots; an empty path fails */
}

/* Read a file holding one number (any base strtoull accepts). */
static int read_num(const char *name, const char *file, long long *out)
{
	char path[PATH_MAX];
	tarn__pci_dev_path(name, file, path, sizeof(path));
	FILE *f = fopen(path, "re");
	if (f == NULL)
		return -errno;
	char line[64];
	int rc = -EINVAL;
	if (fgets(line, sizeof(line), f) != NULL) {
		char *end;
		errno = 0;
		long long v = strtoll(line, &end, 0);
		if (errno == 0 && end != line && (*end == '\n' || *end == '\0')) {
			*out = v;
			rc = 0;
		}
	}
	fclose(f);
	return rc;
}

/* Basename of the target of a symlink of the device, or "" if none. */
static void read_link_base(const char *name, const char *file, char *buf, size_t size)
{
	char path[PATH_MAX], target[PATH_MAX];
	tarn__pci_dev_path(name, file, path, sizeof(path));
	ssize_t n = readlink(path, target, sizeof(target) - 1);
	buf[0] = '\0';
	if (n <= 0)
		return;
	target[n] = '\0';
	const char *b = strrchr(target, '/');
	copy_cut(buf, size, b ? b + 1 : target);
}

/* The first network interface under `dir` (a net/ directory), or "". */
static void first_entry(const char *dir, char *buf, size_t size)
{
	buf[0] = '\0';
	DIR *d = opendir(dir);
	if (d == NULL)
		return;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		copy_cut(buf, size, e->d_name);
		break;
	}
	closedir(d);
}

/* Network interface of a device: <dev>/net/IF, or <dev>/virtioN/net/IF. */
static void read_interface(const char *name, char *buf, size_t size)
{
	char path[PATH_MAX];
	tarn__pci_dev_path(name, "net", path, sizeof(path));
	first_entry(path, buf, size);
	if (buf[0] != '\0')
		return;
	tarn__pci_dev_path(name, NULL, path, sizeof(path));
	DIR *d = opendir(path);
	if (d == NULL)
		return;
	struct dirent *e;
	while ((e = readdir(d)) != NULL && buf[0] == '\0') {
		if (strncmp(e->d_name, "virtio", 6) != 0)
			continue;
		char sub[PATH_MAX];
		int n = snprintf(sub, sizeof(sub), "%s/%s/net", path, e->d_name);
		if (n > 0 && (size_t)n < sizeof(sub))
			first_entry(sub, buf, size);
	}
	closedir(d);
}

static enum tarn_pci_kdrv kdrv_of(const char *driver)
{
	if (driver[0] == '\0')
		return TARN_PCI_KDRV_NONE;
	if (strcmp(driver, "vfio-pci") == 0)
		return TARN_PCI_KDRV_VFIO;
	if (strcmp(driver, "uio_pci_generic") == 0 || strcmp(driver, "igb_uio") == 0)
		return TARN_PCI_KDRV_UIO;
	return TARN_PCI_KDRV_KERNEL;
}

int tarn__pci_read_info(const char *name, struct tarn_pci_info *info)
{
	memset(info, 0, sizeof(*info));
	if (tarn_pci_addr_parse(name, &info->addr) < 0)
		return -ENODEV;
	tarn_pci_addr_format(&info->addr, info->name, sizeof(info->name));
	long long v;
	if (read_num(name, "vendor", &v) < 0)
		return -ENODEV;
	info->vendor_id = (uint16_t)v;
	if (read_num(name, "device", &v) < 0)
		return -ENODEV;
	info->device_id = (uint16_t)v;
	if (read_num(name, "subsystem_vendor", &v) == 0)
		info->subsys_vendor_id = (uint16_t)v;
	if (read_num(name, "subsystem_device", &v) == 0)
		info->subsys_device_id = (uint16_t)v;
	if (read_num(name, "class", &v) == 0)
		info->class_code = (uint32_t)v & 0xffffff;
	info->numa_node = -1;
	/* -1, or absent, means the firmware names no node. */
	if (read_num(name, "numa_node", &v) == 0 && v >= 0 && v < TARN_MAX_SOCKETS)
		info->numa_node = (int)v;
	read_link_base(name, "driver", info->driver, sizeof(info->driver));
	info->kdrv = kdrv_of(info->driver);
	char grp[32];
	read_link_base(name, "iommu_group", grp, sizeof(grp));
	info->iommu_group = -1;
	if (grp[0] != '\0') {
		char *end;
		long g = strtol(grp, &end, 10);
		if (*end == '\0' && g >= 0 && g < INT_MAX)
			info->iommu_group = (int)g;
	}
	if (info->kdrv == TARN_PCI_KDRV_KERNEL)
		read_interface(name, info->interface, sizeof(info->interface));
	return 0;
}

int tarn_pci_info_get(const char *addr, struct tarn_pci_info *info)
{
	struct tarn_pci_addr a;
	if (info == NULL || tarn_pci_addr_parse(addr, &a) < 0)
		return -EINVAL;
	char name[TARN_PCI_NAME_SIZE];
	tarn_pci_addr_format(&a, name, sizeof(name));
	return tarn__pci_read_info(name, info);
}

static int addr_cmp(const struct tarn_pci_addr *a, const struct tarn_pci_addr *b)
{
	uint64_t ka =
	    (uint64_t)a->domain << 16 | (uint64_t)a->bus << 8 | a->devid << 3 | a->function;
	uint64_t kb =
	    (uint64_t)b->domain << 16 | (uint64_t)b->bus << 8 | b->devid << 3 | b->function;
	return ka < kb ? -1 : ka > kb;
}

static int info_cmp(const void *a, const void *b)
{
	return addr_cmp(&((const struct tarn_pci_info *)a)->addr,
	                &((const struct tarn_pci_info *)b)->addr);
}

int tarn_pci_scan(struct tarn_pci_info *list, unsigned max)
{
	if (list == NULL && max > 0)
		return -EINVAL;
	char path[PATH_MAX];
	if (snprintf(path, sizeof(path), "%s/bus/pci/devices", tarn__pci_sysfs_root()) >=
	    (int)sizeof(path))
		return 0;
	DIR *d = opendir(path);
	if (d == NULL)
		return 0; /* no PCI bus */
	/* Read all of them, sort, then copy the first `max`. */
	unsigned n = 0, cap = 0;
	struct tarn_pci_info *all = NULL;
	struct dirent *e;
	int rc = 0;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (n == cap) {
			unsigned ncap = cap ? cap * 2 : 32;
			struct tarn_pci_info *p = realloc(all, ncap * sizeof(*p));
			if (p == NULL) {
				rc = -ENOMEM;
				break;
			}
			all = p;
			cap = ncap;
		}
		if (tarn__pci_read_info(e->d_name, &all[n]) == 0)
			n++;
	}
	closedir(d);
	if (rc == 0) {
		if (n > 1)
			qsort(all, n, sizeof(*all), info_cmp);
		for (unsigned i = 0; i < n && i < max; i++)
			list[i] = all[i];
		rc = (int)n;
	}
	free(all);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Resources, groups */

int tarn__pci_read_resources(const char *name, struct tarn__pci_resource res[TARN_PCI_MAX_BARS])
{
	char path[PATH_MAX];
	tarn__pci_dev_path(name, "resource", path, sizeof(path));
	memset(res, 0, sizeof(*res) * TARN_PCI_MAX_BARS);
	FILE *f = fopen(path, "re");
	if (f == NULL)
		return -errno;
	char line[128];
	int rc = 0;
	for (unsigned i = 0; i < TARN_PCI_MAX_BARS; i++) {
		unsigned long long s, z, fl;
		if (fgets(line, sizeof(line), f) == NULL ||
		    sscanf(line, "%llx %llx %llx", &s, &z, &fl) != 3) {
			rc = -EIO;
			break;
		}
		res[i].start = s;
		res[i].end = z;
		res[i].flags = fl;
	}
	fclose(f);
	return rc;
}

int tarn__pci_group_blockers(int group, char *buf, size_t size)
{
	char path[PATH_MAX];
	buf[0] = '\0';
	if (snprintf(path, sizeof(path), "%s/kernel/iommu_groups/%d/devices",
	             tarn__pci_sysfs_root(), group) >= (int)sizeof(path))
		return 0;
	DIR *d = opendir(path);
	if (d == NULL)
		return 0;
	int n = 0;
	size_t used = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		char drv[TARN_NAME_SIZE];
		read_link_base(e->d_name, "driver", drv, sizeof(drv));
		/* vfio-pci and no driver keep a group viable; so do the
		 * drivers the kernel allows beside vfio (bridges). */
		if (drv[0] == '\0' || strcmp(drv, "vfio-pci") == 0 ||
		    strcmp(drv, "pcieport") == 0 || strcmp(drv, "pci-stub") == 0)
			continue;
		n++;
		int w = snprintf(buf + used, size - used, "%s%s (%s)", used ? ", " : "", e->d_name,
		                 drv);
		if (w > 0 && (size_t)w < size - used)
			used += (size_t)w;
	}
	closedir(d);
	return n;
}

int tarn__pci_find_holder(const char *path, char *buf, size_t size)
{
	DIR *proc = opendir("/proc");
	if (proc == NULL)
		return -ENOENT;
	pid_t self = getpid();
	struct dirent *p;
	int rc = -ENOENT;
	while (rc != 0 && (p = readdir(proc)) != NULL) {
		char *end;
		long pid = strtol(p->d_name, &end, 10);
		if (*end != '\0' || pid <= 0 || pid == self)
			continue;
		char fddir[64];
		snprintf(fddir, sizeof(fddir), "/proc/%ld/fd", pid);
		DIR *fds = opendir(fddir);
		if (fds == NULL)
			continue;
		struct dirent *f;
		while ((f = readdir(fds)) != NULL) {
			if (f->d_name[0] == '.')
				continue;
			char link[PATH_MAX], target[PATH_MAX];
			snprintf(link, sizeof(link), "%s/%s", fddir, f->d_name);
			ssize_t n = readlink(link, target, sizeof(target) - 1);
			if (n <= 0)
				continue;
			target[n] = '\0';
			if (strcmp(target, path) != 0)
				continue;
			char comm[64] = "?", cpath[64];
			snprintf(cpath, sizeof(cpath), "/proc/%ld/comm", pid);
			FILE *c = fopen(cpath, "re");
			if (c != NULL) {
				if (fgets(comm, sizeof(comm), c) != NULL)
					comm[strcspn(comm, "\n")] = '\0';
				fclose(c);
			}
			snprintf(buf, size, "process %ld (%s)", pid, comm);
			rc = 0;
			break;
		}
		closedir(fds);
	}
	closedir(proc);
	return rc;
}

int tarn_pci_device_holder(const char *addr, char *who, size_t size)
{
	char tmp[8];
	if (who == NULL) {
		who = tmp;
		size = sizeof(tmp);
	}
	struct tarn_pci_info info;
	int rc = tarn_pci_info_get(addr, &info);
	if (rc < 0)
		return rc;
	char path[PATH_MAX];
	if (info.kdrv == TARN_PCI_KDRV_VFIO && info.iommu_group >= 0) {
		snprintf(path, sizeof(path), "%s/vfio/%d", tarn__pci_dev_root(), info.iommu_group);
		return tarn__pci_find_holder(path, who, size) == 0 ? 1 : 0;
	}
	if (info.kdrv != TARN_PCI_KDRV_UIO)
		return 0;
	char dir[PATH_MAX];
	tarn__pci_dev_path(info.name, "uio", dir, sizeof(dir));
	char uio[64] = "";
	first_entry(dir, uio, sizeof(uio));
	if (uio[0] == '\0')
		return 0;
	if (snprintf(path, sizeof(path), "%s/%s", tarn__pci_dev_root(), uio) >= (int)sizeof(path))
		return 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	/* The lock is taken only to test it, and dropped at once. */
	int held = flock(fd, LOCK_EX | LOCK_NB) != 0;
	close(fd);
	if (held && tarn__pci_find_holder(path, who, size) < 0)
		snprintf(who, size, "another process");
	return held;
}

/* ------------------------------------------------------------------------ */
/* The auto IOVA mode */

enum tarn_iova_mode tarn_pci_iova_auto(char *why, size_t size)
{
	char tmp[8];
	if (why == NULL) {
		why = tmp;
		size = sizeof(tmp);
	}
	enum { MAX = 512 };
	struct tarn_pci_info *list = malloc(MAX * sizeof(*list));
	int n = list ? tarn_pci_scan(list, MAX) : 0;
	if (n > MAX)
		n = MAX;
	char vfio_name[TARN_PCI_NAME_SIZE] = "", uio_name[TARN_PCI_NAME_SIZE] = "";
	for (int i = 0; i < n; i++) {
		if (list[i].kdrv == TARN_PCI_KDRV_VFIO && list[i].iommu_group >= 0 &&
		    vfio_name[0] == '\0')
			memcpy(vfio_name, list[i].name, sizeof(vfio_name));
		if (list[i].kdrv == TARN_PCI_KDRV_UIO && uio_name[0] == '\0')
			memcpy(uio_name, list[i].name, sizeof(uio_name));
	}
	free(list);
	const char *vfio = vfio_name[0] ? vfio_name : NULL, *uio = uio_name[0] ? uio_name : NULL;
	if (vfio != NULL) {
		snprintf(why, size, "VA: %s is bound to vfio-pci behind an IOMMU", vfio);
		return TARN_IOVA_VA;
	}
	if (uio != NULL) {
		snprintf(why, size,
		         "PA: %s is bound to uio (no IOMMU: the device needs physical "
		         "addresses)",
		         uio);
		return TARN_IOVA_PA;
	}
	snprintf(why, size,
	         "no device bound to vfio-pci or uio: physical addresses for "
	         "hugepages where readable, virtual otherwise");
	return TARN_IOVA_AUTO;
}
