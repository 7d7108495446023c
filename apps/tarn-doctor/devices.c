/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * devices.c - tarn-doctor's PCI device checks: what stops a tarn program
 * from opening a NIC through vfio-pci or uio_pci_generic, and the exact
 * commands that fix it.
 *
 *   IOMMU        on (groups in sysfs) or off, and what that allows
 *   modules      vfio-pci (and /dev/vfio/vfio), uio_pci_generic
 *   IOVA mode    what --iova-mode means here, and for uio whether physical
 *                addresses can be had (root, hugepages)
 *   per device   the driver it is bound to; for vfio its group, the group's
 *                viability (members bound to other drivers), /dev/vfio/N's
 *                permissions, a process holding it; for uio root and the
 *                IOVA mode; the memlock limit vfio pins DMA memory against
 *
 * sysfs and /dev are read through lib/pci (TARN_SYSFS and TARN_DEVFS move
 * them, for tests).
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <tarn/tarn_mem.h>
#include <tarn/tarn_pci.h>

#include "doctor.h"

/* Devices found usable, for the trial. */
static char usable[DOCTOR_MAX_PCI][TARN_PCI_NAME_SIZE];
static unsigned n_usable;

static const char *root(const char *env, const char *def)
{
	const char *r = getenv(env);
	return r != NULL && r[0] == '/' ? r : def;
}

static bool iommu_on(unsigned *groups)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/kernel/iommu_groups", root("TARN_SYSFS", "/sys"));
	*groups = 0;
	DIR *d = opendir(path);
	if (d == NULL)
		return false;
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		*groups += e->d_name[0] != '.';
	closedir(d);
	return *groups > 0;
}

static bool driver_loaded(const char *drv)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/bus/pci/drivers/%s", root("TARN_SYSFS", "/sys"), drv);
	return access(path, F_OK) == 0;
}

/* The IOMMU fix, for the machine's CPU vendor. */
static const char *iommu_fix(void)
{
	static char fix[512];
	const char *opt = "intel_iommu=on";
	FILE *f = fopen("/proc/cpuinfo", "re");
	if (f != NULL) {
		char line[256];
		while (fgets(line, sizeof(line), f) != NULL)
			if (strncmp(line, "vendor_id", 9) == 0) {
				if (strstr(line, "AuthenticAMD") != NULL)
					opt = "amd_iommu=on";
				break;
			}
		fclose(f);
	}
	snprintf(fix, sizeof(fix),
	         "add '%s iommu=pt' to GRUB_CMDLINE_LINUX in /etc/default/grub, run "
	         "update-grub and reboot (the IOMMU must also be on in the firmware: VT-d / "
	         "AMD-Vi); without an IOMMU, use uio_pci_generic as root with --iova-mode pa",
	         opt);
	return fix;
}

/* Members of `group` bound to a driver that breaks its viability. */
static void check_group(const struct tarn_pci_info *dev)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/kernel/iommu_groups/%d/devices",
	         root("TARN_SYSFS", "/sys"), dev->iommu_group);
	DIR *d = opendir(path);
	if (d == NULL)
		return;
	char who[512] = "", fix[768] = "scripts/devbind.sh --bind vfio-pci";
	size_t wu = 0, fu = strlen(fix);
	unsigned n = 0, members = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		members++;
		struct tarn_pci_info m;
		if (tarn_pci_info_get(e->d_name, &m) < 0 || strcmp(m.name, dev->name) == 0)
			continue;
		/* vfio-pci, no driver, and the drivers vfio allows beside it. */
		if (m.driver[0] == '\0' || m.kdrv == TARN_PCI_KDRV_VFIO ||
		    strcmp(m.driver, "pcieport") == 0 || strcmp(m.driver, "pci-stub") == 0)
			continue;
		n++;
		int w = snprintf(who + wu, sizeof(who) - wu, "%s%s (%s)", wu ? ", " : "", m.name,
		                 m.driver);
		if (w > 0 && (size_t)w < sizeof(who) - wu)
			wu += (size_t)w;
		w = snprintf(fix + fu, sizeof(fix) - fu, " %s", m.name);
		if (w > 0 && (size_t)w < sizeof(fix) - fu)
			fu += (size_t)w;
	}
	closedir(d);
	printf("    IOMMU group %d: %u device%s%s%s\n", dev->iommu_group, members,
	       members == 1 ? "" : "s", n ? ", bound elsewhere: " : ", viable", who);
	if (n > 0)
		problem(true, fix,
		        "%s: its IOMMU group %d is not viable: %s %s bound to a driver other than "
		        "vfio-pci (vfio refuses the group; unbinding %s also works)",
		        dev->name, dev->iommu_group, who, n == 1 ? "is" : "are",
		        n == 1 ? "it" : "them");
}

static void check_vfio_node(const struct tarn_pci_info *dev)
{
	char path[PATH_MAX], fix[PATH_MAX + 256];
	snprintf(path, sizeof(path), "%s/vfio/%d", root("TARN_DEVFS", "/dev"), dev->iommu_group);
	if (access(path, F_OK) != 0) {
		problem(true, NULL, "%s: %s is missing although the device is bound to vfio-pci",
		        dev->name, path);
		return;
	}
	if (access(path, R_OK | W_OK) != 0) {
		snprintf(
		    fix, sizeof(fix),
		    "chown %d %s   (for good: a udev rule SUBSYSTEM==\"vfio\", OWNER=\"USER\"; "
		    "or run as root)",
		    (int)geteuid(), path);
		problem(true, fix, "%s: %s is not readable and writable by this user", dev->name,
		        path);
		return;
	}
	printf("    %s: read-write for this user\n", path);
}

static void check_memlock(const struct tarn_config *cfg)
{
	struct rlimit rl;
	if (doctor_cap(DOCTOR_CAP_IPC_LOCK) || getrlimit(RLIMIT_MEMLOCK, &rl) != 0 ||
	    rl.rlim_cur == RLIM_INFINITY)
		return;
	uint64_t need = 0;
	for (unsigned s = 0; s < TARN_MAX_SOCKETS; s++)
		need += cfg->socket_mem_mb[s] << 20;
	/* vfio pins every segment it maps: what --socket-mem reserves, and
	 * what heaps grow by later (pools, rings): at least 64 MiB more. */
	need += 64ull << 20;
	if (rl.rlim_cur >= need)
		return;
	problem(true,
	        "ulimit -l unlimited   (in the shell that starts the program; for good, add "
	        "'USER - memlock unlimited' to /etc/security/limits.conf, or "
	        "LimitMEMLOCK=infinity to a systemd service)",
	        "memlock limit %llu KiB without CAP_IPC_LOCK: vfio pins the DMA-mapped memory "
	        "against it, and this request needs at least %llu MiB",
	        (unsigned long long)(rl.rlim_cur >> 10), (unsigned long long)(need >> 20));
}

static void check_one(const struct tarn_config *cfg, const char *addr, bool iommu)
{
	struct tarn_pci_info dev;
	char fix[512];
	int rc = tarn_pci_info_get(addr, &dev);
	if (rc < 0) {
		problem(true, "scripts/devbind.sh --status   (lists the network devices)",
		        "--pci %s: %s", addr,
		        rc == -EINVAL ? "not a PCI address (DDDD:BB:DD.F)" : "no such PCI device");
		return;
	}
	printf("  %s  %04x:%04x  node %d  %s%s%s\n", dev.name, dev.vendor_id, dev.device_id,
	       dev.numa_node, dev.driver[0] ? dev.driver : "(no driver)",
	       dev.interface[0] ? ", interface " : "", dev.interface);
	if (dev.kdrv == TARN_PCI_KDRV_KERNEL || dev.kdrv == TARN_PCI_KDRV_NONE) {
		if (iommu)
			snprintf(fix, sizeof(fix), "scripts/devbind.sh --bind vfio-pci %s",
			         dev.name);
		else
			snprintf(fix, sizeof(fix),
			         "scripts/devbind.sh --bind uio_pci_generic %s   (no IOMMU here: "
			         "then run as root with --iova-mode pa)",
			         dev.name);
		problem(true, fix, "%s is bound to %s%s: a tarn driver cannot open it", dev.name,
		        dev.driver[0] ? "the kernel driver " : "no driver", dev.driver);
		return;
	}
	char who[128];
	if (tarn_pci_device_holder(dev.name, who, sizeof(who)) == 1) {
		problem(true, "stop that process first (a device has one owner at a time)",
		        "%s is in use: %s holds it", dev.name, who);
		return;
	}
	if (dev.kdrv == TARN_PCI_KDRV_VFIO) {
		if (dev.iommu_group < 0 || !iommu) {
			problem(true, iommu_fix(),
			        "%s is bound to vfio-pci but the IOMMU is off (no IOMMU group)",
			        dev.name);
			return;
		}
		check_group(&dev);
		check_vfio_node(&dev);
		check_memlock(cfg);
	} else {
		if (geteuid() != 0)
			problem(true, "run the program as root",
			        "%s is bound to %s: its /dev/uio and sysfs files are root's, and "
			        "physical addresses need CAP_SYS_ADMIN",
			        dev.name, dev.driver);
		else if (cfg->iova_mode == TARN_IOVA_VA)
			problem(true, "--iova-mode pa (or auto)",
			        "%s is bound to %s (no IOMMU): it needs physical addresses, but "
			        "--iova-mode va was asked",
			        dev.name, dev.driver);
		else if (cfg->huge_policy == TARN_HUGE_NONE)
			problem(true, "drop --no-huge / --huge none",
			        "%s is bound to %s: it DMAs to physical addresses, which only "
			        "hugepages keep (--huge none was asked)",
			        dev.name, dev.driver);
	}
	if (n_usable < DOCTOR_MAX_PCI)
		memcpy(usable[n_usable++], dev.name, TARN_PCI_NAME_SIZE);
}

void doctor_check_devices(const struct tarn_config *cfg, const char *const *addrs, unsigned n)
{
	unsigned groups;
	bool iommu = iommu_on(&groups);
	bool vfio = driver_loaded("vfio-pci"), uio = driver_loaded("uio_pci_generic");
	printf("PCI devices:\n");
	if (iommu)
		printf("  IOMMU: on (%u groups)\n", groups);
	else
		printf("  IOMMU: off (no IOMMU groups: vfio-pci cannot be used; uio_pci_generic "
		       "can, as root)\n");
	printf("  vfio-pci: %s; uio_pci_generic: %s\n", vfio ? "loaded" : "not loaded",
	       uio ? "loaded" : "not loaded");
	if (cfg->iova_mode == TARN_IOVA_AUTO) {
		char why[256];
		tarn_pci_iova_auto(why, sizeof(why));
		printf("  IOVA mode: auto: %s\n", why);
	} else {
		printf("  IOVA mode: %s (asked)\n", cfg->iova_mode == TARN_IOVA_VA ? "va" : "pa");
	}
	/* The devices: those asked for, else those handed to user space. */
	const char *list[DOCTOR_MAX_PCI];
	struct tarn_pci_info *all = NULL;
	if (n == 0) {
		int total = tarn_pci_scan(NULL, 0);
		if (total > 0 && (all = calloc((size_t)total, sizeof(*all))) != NULL) {
			total = tarn_pci_scan(all, (unsigned)total);
			for (int i = 0; i < total && n < DOCTOR_MAX_PCI; i++)
				if (all[i].kdrv == TARN_PCI_KDRV_VFIO ||
				    all[i].kdrv == TARN_PCI_KDRV_UIO)
					list[n++] = all[i].name;
		}
		addrs = list;
		if (n == 0)
			printf(
			    "  (no device bound to vfio-pci or uio; name one with --pci ADDR)\n");
	}
	bool want_vfio = false;
	for (unsigned i = 0; i < n; i++) {
		struct tarn_pci_info d;
		if (tarn_pci_info_get(addrs[i], &d) == 0 && d.kdrv != TARN_PCI_KDRV_UIO)
			want_vfio = true;
	}
	if (want_vfio && iommu && !vfio)
		problem(true, "modprobe vfio-pci", "the vfio-pci module is not loaded");
	if (want_vfio && !iommu)
		printf("  (the IOMMU is off: devices need uio_pci_generic, or turn it on: %s)\n",
		       iommu_fix());
	for (unsigned i = 0; i < n; i++)
		check_one(cfg, addrs[i], iommu);
	free(all);
}

void doctor_trial_devices(void)
{
	for (unsigned i = 0; i < n_usable; i++) {
		struct tarn_pci_device *d = tarn_pci_open(usable[i]);
		if (d == NULL) {
			printf("trial open of %s: %s (see the log lines above)\n", usable[i],
			       tarn_strerror((int)tarn_errno));
			problem(true, "see the trial's log lines", "%s could not be opened: %s",
			        usable[i], tarn_strerror((int)tarn_errno));
			continue;
		}
		printf("trial open of %s: OK through %s, %u DMA mapping%s, IOVA as %s\n", usable[i],
		       tarn_pci_device_info(d)->driver, tarn_pci_dma_mapped_count(),
		       tarn_pci_dma_mapped_count() == 1 ? "" : "s",
		       tarn_mem_iova_is_pa() ? "PA" : "VA");
		tarn_pci_close(d);
	}
}
