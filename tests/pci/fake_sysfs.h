// SPDX-License-Identifier: BSD-3-Clause
// A fake /sys and /dev for the pci suites: PCI devices laid out as the
// kernel lays them out, under a temporary directory removed at the end.
#ifndef TARN_TEST_FAKE_SYSFS_H
#define TARN_TEST_FAKE_SYSFS_H

#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <string>

#include <gtest/gtest.h>

#include "pci_priv.h"

namespace fakesys
{

inline void write_file(const std::string &path, const std::string &text)
{
	std::ofstream f(path, std::ios::binary);
	f << text;
}

// Descriptors of this process open on files under `dir`.
inline unsigned fds_under(const std::string &dir)
{
	unsigned n = 0;
	DIR *d = opendir("/proc/self/fd");
	if (d == nullptr)
		return 0;
	while (struct dirent *e = readdir(d)) {
		char link[300], target[4096];
		snprintf(link, sizeof(link), "/proc/self/fd/%s", e->d_name);
		ssize_t len = readlink(link, target, sizeof(target) - 1);
		if (len <= 0)
			continue;
		target[len] = '\0';
		if (std::string(target).rfind(dir, 0) == 0)
			n++;
	}
	closedir(d);
	return n;
}

inline std::string read_all(const std::string &path)
{
	std::ifstream f(path, std::ios::binary);
	return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

inline int rm_entry(const char *p, const struct stat *, int, struct FTW *)
{
	return remove(p);
}

// A fake /sys and /dev under a temporary directory, with PCI devices as the
// kernel lays them out (devices under /sys/devices, links in bus/pci/devices,
// driver and iommu_group links, uio/uioN, config and resource files).
struct FakeTree {
	std::string root, sys, dev;
	FakeTree()
	{
		char tmpl[] = "/tmp/tarn-pci-XXXXXX";
		root = mkdtemp(tmpl);
		sys = root + "/sys";
		dev = root + "/dev";
		mk(sys + "/bus/pci/devices");
		mk(sys + "/devices/pci0000:00");
		mk(sys + "/kernel/iommu_groups");
		mk(dev + "/vfio");
		tarn__pci_set_roots(sys.c_str(), dev.c_str());
	}
	~FakeTree()
	{
		tarn__pci_set_roots(nullptr, nullptr);
		nftw(root.c_str(), rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	}
	static void mk(const std::string &d)
	{
		std::string cur;
		size_t pos = 0;
		while (pos != std::string::npos) {
			pos = d.find('/', pos + 1);
			cur = d.substr(0, pos);
			mkdir(cur.c_str(), 0755);
		}
	}
	std::string devdir(const std::string &name)
	{
		return sys + "/devices/pci0000:00/" + name;
	}
	// A device; driver "" for none, group -1 for none, node -2 for no
	// numa_node file.
	void add(const std::string &name, const std::string &vendor, const std::string &device,
	         const std::string &cls, int node, const std::string &driver, int group)
	{
		std::string d = devdir(name);
		mk(d);
		write_file(d + "/vendor", vendor + "\n");
		write_file(d + "/device", device + "\n");
		write_file(d + "/subsystem_vendor", "0x1af4\n");
		write_file(d + "/subsystem_device", "0x0001\n");
		write_file(d + "/class", cls + "\n");
		if (node != -2)
			write_file(d + "/numa_node", std::to_string(node) + "\n");
		EXPECT_EQ(symlink(("../../../devices/pci0000:00/" + name).c_str(),
		                  (sys + "/bus/pci/devices/" + name).c_str()),
		          0);
		if (!driver.empty()) {
			mk(sys + "/bus/pci/drivers/" + driver);
			EXPECT_EQ(symlink(("../../../bus/pci/drivers/" + driver).c_str(),
			                  (d + "/driver").c_str()),
			          0);
		}
		if (group >= 0) {
			std::string g = sys + "/kernel/iommu_groups/" + std::to_string(group);
			mk(g + "/devices");
			EXPECT_EQ(
			    symlink(
			        ("../../../kernel/iommu_groups/" + std::to_string(group)).c_str(),
			        (d + "/iommu_group").c_str()),
			    0);
			EXPECT_EQ(symlink(("../../../../devices/pci0000:00/" + name).c_str(),
			                  (g + "/devices/" + name).c_str()),
			          0);
		}
	}
	void add_net(const std::string &name, const std::string &ifname)
	{
		mk(devdir(name) + "/virtio3/net/" + ifname);
	}
	// A uio device node and the files uio.c reads: a 256-byte config
	// space with a capability list, an I/O BAR 0 above the x86 port range
	// (reached through resource0) and a 16 KiB memory BAR 4.
	void add_uio_files(const std::string &name, int uio)
	{
		std::string d = devdir(name);
		mk(d + "/uio/uio" + std::to_string(uio));
		write_file(dev + "/uio" + std::to_string(uio), "");
		std::string cfg(256, '\0');
		cfg[0] = 0xf4, cfg[1] = 0x1a, cfg[2] = 0x00, cfg[3] = 0x10;
		cfg[6] = 0x10; // status: capability list
		cfg[0x34] = 0x40;
		cfg[0x40] = 0x09, cfg[0x41] = 0x50; // vendor-specific
		cfg[0x50] = 0x11, cfg[0x51] = 0x60; // MSI-X
		cfg[0x60] = 0x09, cfg[0x61] = 0x00; // vendor-specific, last
		write_file(d + "/config", cfg);
		std::string res = "0x0000000000010000 0x000000000001001f 0x0000000000040101\n"
		                  "0x0000000000000000 0x0000000000000000 0x0000000000000000\n"
		                  "0x0000000000000000 0x0000000000000000 0x0000000000000000\n"
		                  "0x0000000000000000 0x0000000000000000 0x0000000000000000\n"
		                  "0x00000000fe600000 0x00000000fe603fff 0x000000000014220c\n"
		                  "0x0000000000000000 0x0000000000000000 0x0000000000000000\n"
		                  "0x0000000000000000 0x0000000000000000 0x0000000000000000\n";
		write_file(d + "/resource", res);
		write_file(d + "/resource0", std::string(32, '\0'));
		write_file(d + "/resource4", std::string(16384, '\0'));
	}
};

// The layout of the VM's first NIC pair with --nic-numa, plus an ICH9 group
// with one member bound to uio.
inline void populate(FakeTree &t)
{
	t.add("0000:00:10.0", "0x1af4", "0x1041", "0x020000", -1, "virtio-pci", 5);
	t.add_net("0000:00:10.0", "eth1");
	t.add("0000:41:00.0", "0x1af4", "0x1041", "0x020000", 1, "vfio-pci", 8);
	t.add("0000:00:1f.2", "0x8086", "0x2922", "0x010601", -1, "", 6);
	t.add("0000:00:1f.3", "0x8086", "0x2930", "0x0c0500", -2, "uio_pci_generic", 6);
}

} // namespace fakesys

#endif
