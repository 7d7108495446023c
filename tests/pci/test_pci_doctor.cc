// SPDX-License-Identifier: BSD-3-Clause
// tarn-doctor's PCI checks and scripts/devbind.sh --status, on a fake sysfs
// tree (TARN_SYSFS, TARN_DEVFS): a device bound to a kernel driver gets the
// devbind command, the IOMMU off gets the kernel option, a group with a
// member bound elsewhere names it and the command, /dev/vfio/N that the
// user cannot open gets the chown, uio under --iova-mode va is refused;
// every case prints its problem and the exit status says whether tarn can
// start.
#include <string>

#include <gtest/gtest.h>

#include "../common/child.h"
#include "fake_sysfs.h"

using namespace fakesys;

namespace
{

struct Out {
	int code;
	std::string out;
};

Out doctor(const FakeTree &t, const std::string &args, const std::string &prefix = "")
{
	Out o{ -1, "" };
	o.code = run_capture(prefix + "env TARN_SYSFS=" + t.sys + " TARN_DEVFS=" + t.dev + " " +
	                         TARN_DOCTOR + " --no-trial --no-telemetry " + args + " 2>&1",
	                     &o.out);
	return o;
}

bool has(const std::string &s, const std::string &what)
{
	return s.find(what) != std::string::npos;
}

TEST(DoctorPci, KernelBoundDeviceGetsTheBindCommand)
{
	FakeTree t;
	populate(t);
	Out o = doctor(t, "--pci 00:10.0");
	EXPECT_EQ(o.code, 1) << o.out;
	EXPECT_TRUE(has(o.out, "IOMMU: on (3 groups)")) << o.out;
	EXPECT_TRUE(has(o.out, "0000:00:10.0  1af4:1041  node -1  virtio-pci, interface eth1"))
	    << o.out;
	EXPECT_TRUE(has(o.out, "[error] 0000:00:10.0 is bound to the kernel driver virtio-pci"))
	    << o.out;
	EXPECT_TRUE(has(o.out, "fix: scripts/devbind.sh --bind vfio-pci 0000:00:10.0")) << o.out;
	EXPECT_TRUE(has(o.out, "verdict: tarn CANNOT start as asked")) << o.out;
}

TEST(DoctorPci, WithoutIommuTheFixIsUio)
{
	FakeTree t;
	t.add("0000:00:10.0", "0x1af4", "0x1000", "0x020000", -1, "virtio-pci", -1);
	Out o = doctor(t, "--pci 0000:00:10.0");
	EXPECT_EQ(o.code, 1) << o.out;
	EXPECT_TRUE(has(o.out, "IOMMU: off")) << o.out;
	EXPECT_TRUE(has(o.out, "scripts/devbind.sh --bind uio_pci_generic 0000:00:10.0")) << o.out;
	EXPECT_TRUE(has(o.out, "iommu=on iommu=pt")) << o.out;
}

TEST(DoctorPci, VfioWithoutIommuGroupGetsTheKernelOption)
{
	FakeTree t;
	t.add("0000:00:10.0", "0x1af4", "0x1041", "0x020000", -1, "vfio-pci", -1);
	Out o = doctor(t, "--pci 0000:00:10.0");
	EXPECT_EQ(o.code, 1) << o.out;
	EXPECT_TRUE(has(o.out, "is bound to vfio-pci but the IOMMU is off")) << o.out;
	EXPECT_TRUE(has(o.out, "to GRUB_CMDLINE_LINUX in /etc/default/grub")) << o.out;
}

TEST(DoctorPci, GroupWithAMemberBoundElsewhereNamesIt)
{
	FakeTree t;
	populate(t);
	// 1f.2 (no driver) and 1f.3 (uio) share group 6: bind 1f.2 to vfio.
	t.add("0000:00:1f.4", "0x8086", "0x2930", "0x0c0500", -1, "vfio-pci", 6);
	write_file(t.dev + "/vfio/6", "");
	Out o = doctor(t, "--pci 0000:00:1f.4");
	EXPECT_EQ(o.code, 1) << o.out;
	EXPECT_TRUE(has(o.out, "IOMMU group 6: 3 devices, bound elsewhere: 0000:00:1f.3 "
	                       "(uio_pci_generic)"))
	    << o.out;
	EXPECT_TRUE(has(o.out, "its IOMMU group 6 is not viable")) << o.out;
	EXPECT_TRUE(has(o.out, "fix: scripts/devbind.sh --bind vfio-pci 0000:00:1f.3")) << o.out;
	EXPECT_TRUE(has(o.out, "the vfio-pci module is not loaded") ||
	            has(o.out, "vfio-pci: loaded"))
	    << o.out;
}

TEST(DoctorPci, ViableGroupAndReadableNodeHaveNoProblem)
{
	FakeTree t;
	populate(t);
	FakeTree::mk(t.sys + "/bus/pci/drivers/vfio-pci");
	write_file(t.dev + "/vfio/8", "");
	Out o = doctor(t, ""); // no --pci: the devices bound to vfio or uio
	EXPECT_TRUE(has(o.out, "0000:41:00.0  1af4:1041  node 1  vfio-pci")) << o.out;
	EXPECT_TRUE(has(o.out, "IOMMU group 8: 1 device, viable")) << o.out;
	EXPECT_TRUE(has(o.out, "/vfio/8: read-write for this user")) << o.out;
	EXPECT_TRUE(has(o.out, "IOVA mode: auto: VA: 0000:41:00.0 is bound to vfio-pci")) << o.out;
	EXPECT_FALSE(has(o.out, "[error] 0000:41:00.0")) << o.out;
}

TEST(DoctorPci, MissingVfioNodeAndUnreadableNode)
{
	FakeTree t;
	populate(t);
	Out o = doctor(t, "--pci 41:00.0");
	EXPECT_EQ(o.code, 1) << o.out;
	EXPECT_TRUE(has(o.out, "/vfio/8 is missing although the device is bound to vfio-pci"))
	    << o.out;
	if (geteuid() != 0)
		GTEST_SKIP() << "the permission case runs as root (it drops to nobody)";
	write_file(t.dev + "/vfio/8", "");
	chmod((t.dev + "/vfio/8").c_str(), 0600);
	chmod(t.root.c_str(), 0755);
	o = doctor(t, "--pci 41:00.0", "setpriv --reuid=65534 --regid=65534 --clear-groups ");
	EXPECT_TRUE(has(o.out, "/vfio/8 is not readable and writable by this user")) << o.out;
	EXPECT_TRUE(has(o.out, "fix: chown 65534 ")) << o.out;
}

TEST(DoctorPci, UioUnderVaIsRefused)
{
	if (geteuid() != 0)
		GTEST_SKIP() << "as another user the uio check stops at 'run as root'";
	FakeTree t;
	populate(t);
	t.add_uio_files("0000:00:1f.3", 0);
	Out o = doctor(t, "--pci 00:1f.3 --iova-mode va");
	EXPECT_EQ(o.code, 1) << o.out;
	EXPECT_TRUE(has(o.out, "it needs physical addresses, but --iova-mode va was asked"))
	    << o.out;
	o = doctor(t, "--pci 00:1f.3 --no-huge");
	EXPECT_TRUE(has(o.out, "which only hugepages keep")) << o.out;
}

TEST(DoctorPci, BadPciArguments)
{
	FakeTree t;
	Out o = doctor(t, "--pci");
	EXPECT_EQ(o.code, 2);
	EXPECT_TRUE(has(o.out, "--pci needs a device address")) << o.out;
	o = doctor(t, "--pci nonsense --pci 0000:00:10.0");
	EXPECT_EQ(o.code, 1);
	EXPECT_TRUE(has(o.out, "--pci nonsense: not a PCI address")) << o.out;
	EXPECT_TRUE(has(o.out, "--pci 0000:00:10.0: no such PCI device")) << o.out;
}

TEST(Devbind, StatusListsNetworkAndUserSpaceDevices)
{
	FakeTree t;
	populate(t);
	std::string out;
	int rc = run_capture("TARN_SYSFS=" + t.sys + " " + DEVBIND + " --status 2>&1", &out);
	EXPECT_EQ(rc, 0) << out;
	EXPECT_TRUE(has(out, "0000:00:10.0  1af4:1041  020000  virtio-pci       -1    5      eth1"))
	    << out;
	EXPECT_TRUE(has(out, "0000:41:00.0  1af4:1041  020000  vfio-pci         1     8")) << out;
	EXPECT_TRUE(has(out, "0000:00:1f.3  8086:2930  0c0500  uio_pci_generic  -1")) << out;
	EXPECT_FALSE(has(out, "0000:00:1f.2")) << "not a network device, bound to nothing";
	EXPECT_TRUE(has(out, "IOMMU: on (3 groups)")) << out;
	rc = run_capture("TARN_SYSFS=" + t.sys + " " + DEVBIND + " --bind vfio-pci 00:10 2>&1",
	                 &out);
	EXPECT_EQ(rc, 2);
	EXPECT_TRUE(has(out, "'00:10' is not a PCI address")) << out;
	rc = run_capture(std::string(DEVBIND) + " --frobnicate 2>&1", &out);
	EXPECT_EQ(rc, 2);
	rc = run_capture(std::string(DEVBIND) + " --unbind 2>&1", &out);
	EXPECT_EQ(rc, 2);
	EXPECT_TRUE(has(out, "--unbind needs at least one device address")) << out;
}

} // namespace
