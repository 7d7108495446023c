// SPDX-License-Identifier: BSD-3-Clause
// pci: addresses, enumeration of a fake sysfs tree (every field, sorting,
// truncation, errors), the auto IOVA choice, --iova-mode, the segment
// listener hook of lib/mem, and tarn_pci_open()'s error paths (kernel
// driver, no driver, no device, vfio missing, uio under IOVA VA, a claim
// held by another process), each leaving no descriptor open and nothing
// mapped. A uio device on the fake tree (config file, resource files) opens
// as root with physical IOVAs: config space, capability walks, BARs through
// files and mmap, the in-process claim. Real devices are the VM suite's
// (tests/virtio).
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <tarn/tarn.h>

#include "../common/proc_snapshot.h"
#include "../common/test_log.h"
#include "fake_sysfs.h"
#include "mem_hook_priv.h"
#include "pci_priv.h"

using namespace fakesys;

namespace
{

bool is_root()
{
	return geteuid() == 0;
}

struct tarn_config test_config()
{
	struct tarn_config cfg;
	tarn_config_init(&cfg);
	snprintf(cfg.file_prefix, sizeof(cfg.file_prefix), "%s", "tarnpci");
	cfg.no_pin_main = 1;
	return cfg;
}

class PciInit : public ::testing::Test
{
      protected:
	void TearDown() override
	{
		if (tarn_initialized())
			tarn_cleanup();
		tarn_log_set_handler(nullptr, nullptr);
	}
};

// ---------------------------------------------------------------------------
// Addresses

TEST(PciAddr, ParsesBothForms)
{
	struct tarn_pci_addr a;
	ASSERT_EQ(tarn_pci_addr_parse("0000:00:10.0", &a), 0);
	EXPECT_EQ(a.domain, 0u);
	EXPECT_EQ(a.bus, 0);
	EXPECT_EQ(a.devid, 0x10);
	EXPECT_EQ(a.function, 0);
	ASSERT_EQ(tarn_pci_addr_parse("41:1f.7", &a), 0);
	EXPECT_EQ(a.domain, 0u);
	EXPECT_EQ(a.bus, 0x41);
	EXPECT_EQ(a.devid, 0x1f);
	EXPECT_EQ(a.function, 7);
	ASSERT_EQ(tarn_pci_addr_parse("10000:Ab:0C.3", &a), 0);
	EXPECT_EQ(a.domain, 0x10000u);
	EXPECT_EQ(a.bus, 0xab);
	EXPECT_EQ(a.devid, 0x0c);
}

TEST(PciAddr, RejectsMalformed)
{
	struct tarn_pci_addr a;
	for (const char *s :
	     { "", "0000:00:10", "00:10", "0000:00:20.0", "0000:00:10.8", "0000:00:10.0 ",
	       "0000:00:10.0x", "zz:10.0", "000:100:10.0", "0:0:0:0.0", "0000-00:10.0",
	       "123456789:00:10.0", ":00:10.0", "0000::10.0", "00:.0" })
		EXPECT_EQ(tarn_pci_addr_parse(s, &a), -EINVAL) << s;
	EXPECT_EQ(tarn_pci_addr_parse(nullptr, &a), -EINVAL);
	EXPECT_EQ(tarn_pci_addr_parse("00:10.0", nullptr), -EINVAL);
}

TEST(PciAddr, FormatsAsSysfsDoes)
{
	struct tarn_pci_addr a = { 0, 0x41, 0, 0 };
	char buf[TARN_PCI_NAME_SIZE];
	ASSERT_NE(tarn_pci_addr_format(&a, buf, sizeof(buf)), nullptr);
	EXPECT_STREQ(buf, "0000:41:00.0");
	EXPECT_EQ(tarn_pci_addr_format(&a, buf, 12), nullptr); // needs 13
	EXPECT_STREQ(buf, "") << "no truncated address left behind";
	EXPECT_EQ(tarn_pci_addr_format(nullptr, buf, sizeof(buf)), nullptr);
	EXPECT_EQ(tarn_pci_addr_format(&a, nullptr, sizeof(buf)), nullptr);
	ASSERT_NE(tarn_pci_addr_format(&a, buf, sizeof(buf)), nullptr);
	struct tarn_pci_addr b;
	ASSERT_EQ(tarn_pci_addr_parse(buf, &b), 0);
	EXPECT_EQ(a.domain, b.domain);
	EXPECT_EQ(a.bus, b.bus);
	EXPECT_EQ(a.devid, b.devid);
	EXPECT_EQ(a.function, b.function);
}

// ---------------------------------------------------------------------------
// Enumeration

TEST(PciScan, ReadsEveryFieldSorted)
{
	FakeTree t;
	populate(t);
	struct tarn_pci_info list[8];
	ASSERT_EQ(tarn_pci_scan(list, 8), 4);
	EXPECT_STREQ(list[0].name, "0000:00:10.0");
	EXPECT_STREQ(list[1].name, "0000:00:1f.2");
	EXPECT_STREQ(list[2].name, "0000:00:1f.3");
	EXPECT_STREQ(list[3].name, "0000:41:00.0");

	const struct tarn_pci_info &v = list[0];
	EXPECT_EQ(v.vendor_id, 0x1af4);
	EXPECT_EQ(v.device_id, 0x1041);
	EXPECT_EQ(v.subsys_vendor_id, 0x1af4);
	EXPECT_EQ(v.subsys_device_id, 0x0001);
	EXPECT_EQ(v.class_code, 0x020000u);
	EXPECT_EQ(v.numa_node, -1);
	EXPECT_STREQ(v.driver, "virtio-pci");
	EXPECT_EQ(v.kdrv, TARN_PCI_KDRV_KERNEL);
	EXPECT_EQ(v.iommu_group, 5);
	EXPECT_STREQ(v.interface, "eth1");

	EXPECT_EQ(list[1].kdrv, TARN_PCI_KDRV_NONE);
	EXPECT_STREQ(list[1].driver, "");
	EXPECT_EQ(list[1].iommu_group, 6);
	EXPECT_EQ(list[2].kdrv, TARN_PCI_KDRV_UIO);
	EXPECT_EQ(list[2].numa_node, -1); // no numa_node file
	EXPECT_EQ(list[3].kdrv, TARN_PCI_KDRV_VFIO);
	EXPECT_EQ(list[3].numa_node, 1);
	EXPECT_EQ(list[3].iommu_group, 8);
	EXPECT_STREQ(list[3].interface, "");
}

TEST(PciScan, CountsTruncatesAndRejects)
{
	FakeTree t;
	populate(t);
	EXPECT_EQ(tarn_pci_scan(nullptr, 0), 4);
	EXPECT_EQ(tarn_pci_scan(nullptr, 1), -EINVAL);
	struct tarn_pci_info list[2];
	memset(list, 0x5a, sizeof(list));
	ASSERT_EQ(tarn_pci_scan(list, 1), 4);
	EXPECT_STREQ(list[0].name, "0000:00:10.0");
	EXPECT_EQ(((unsigned char *)&list[1])[0], 0x5a) << "wrote past max";
}

TEST(PciScan, SkipsEntriesThatAreNotDevices)
{
	FakeTree t;
	populate(t);
	FakeTree::mk(t.sys + "/bus/pci/devices/not-an-address");
	FakeTree::mk(t.sys + "/bus/pci/devices/0000:00:05.0"); // no vendor file
	EXPECT_EQ(tarn_pci_scan(nullptr, 0), 4);
}

TEST(PciScan, NoPciBusIsEmpty)
{
	FakeTree t;
	tarn__pci_set_roots((t.root + "/nothing").c_str(), t.dev.c_str());
	EXPECT_EQ(tarn_pci_scan(nullptr, 0), 0);
}

TEST(PciInfo, FindsByEitherFormAndRejects)
{
	FakeTree t;
	populate(t);
	struct tarn_pci_info info;
	ASSERT_EQ(tarn_pci_info_get("41:00.0", &info), 0);
	EXPECT_STREQ(info.name, "0000:41:00.0");
	EXPECT_EQ(info.numa_node, 1);
	EXPECT_EQ(tarn_pci_info_get("0000:00:11.0", &info), -ENODEV);
	EXPECT_EQ(tarn_pci_info_get("nonsense", &info), -EINVAL);
	EXPECT_EQ(tarn_pci_info_get(nullptr, &info), -EINVAL);
	EXPECT_EQ(tarn_pci_info_get("00:10.0", nullptr), -EINVAL);
}

TEST(PciInfo, GroupBlockersNameKernelBoundMembers)
{
	FakeTree t;
	populate(t);
	char buf[256];
	EXPECT_EQ(tarn__pci_group_blockers(6, buf, sizeof(buf)), 1);
	EXPECT_STREQ(buf, "0000:00:1f.3 (uio_pci_generic)");
	EXPECT_EQ(tarn__pci_group_blockers(8, buf, sizeof(buf)), 0); // vfio-pci only
	EXPECT_EQ(tarn__pci_group_blockers(99, buf, sizeof(buf)), 0);
}

// ---------------------------------------------------------------------------
// IOVA modes

TEST(PciIova, AutoFollowsTheBoundDevices)
{
	FakeTree t;
	char why[256];
	EXPECT_EQ(tarn_pci_iova_auto(why, sizeof(why)), TARN_IOVA_AUTO) << why;
	t.add("0000:00:1f.3", "0x8086", "0x2930", "0x0c0500", -1, "uio_pci_generic", 6);
	EXPECT_EQ(tarn_pci_iova_auto(why, sizeof(why)), TARN_IOVA_PA);
	EXPECT_NE(std::string(why).find("0000:00:1f.3"), std::string::npos) << why;
	t.add("0000:41:00.0", "0x1af4", "0x1041", "0x020000", 1, "vfio-pci", 8);
	EXPECT_EQ(tarn_pci_iova_auto(why, sizeof(why)), TARN_IOVA_VA);
	EXPECT_NE(std::string(why).find("0000:41:00.0"), std::string::npos) << why;
	EXPECT_EQ(tarn_pci_iova_auto(nullptr, 0), TARN_IOVA_VA);
}

TEST(PciIova, OptionParsesAndRejects)
{
	struct tarn_config cfg = test_config();
	const char *argv0[] = { "prog", "--iova-mode", "va", "x", "--iova-mode=pa", nullptr };
	char *argv[6];
	for (int i = 0; i < 6; i++)
		argv[i] = const_cast<char *>(argv0[i]);
	int argc = 5;
	EXPECT_EQ(tarn_config_parse_args(&cfg, &argc, argv), 3);
	EXPECT_EQ(cfg.iova_mode, TARN_IOVA_PA);
	EXPECT_EQ(argc, 2);
	EXPECT_STREQ(argv[1], "x");

	TestLog::clear();
	tarn_log_set_handler(TestLog::fn, nullptr);
	const char *bad0[] = { "prog", "--iova-mode", "phys", nullptr };
	char *bad[4];
	for (int i = 0; i < 4; i++)
		bad[i] = const_cast<char *>(bad0[i]);
	argc = 3;
	EXPECT_EQ(tarn_config_parse_args(&cfg, &argc, bad), -EINVAL);
	EXPECT_TRUE(TestLog::contains("--iova-mode 'phys': expected auto, va or pa"))
	    << TestLog::all();

	setenv("TARN_IOVA_MODE", "va", 1);
	tarn_config_init(&cfg);
	EXPECT_EQ(cfg.iova_mode, TARN_IOVA_VA);
	setenv("TARN_IOVA_MODE", "bogus", 1);
	tarn_config_init(&cfg);
	EXPECT_EQ(cfg.iova_mode, TARN_IOVA_AUTO);
	unsetenv("TARN_IOVA_MODE");
	tarn_log_set_handler(nullptr, nullptr);

	char *out = nullptr;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	tarn_config_usage(f);
	fclose(f);
	EXPECT_NE(std::string(out, len).find("--iova-mode MODE"), std::string::npos);
	free(out);
}

TEST_F(PciInit, VaModeGivesVirtualIovas)
{
	struct tarn_config cfg = test_config();
	cfg.iova_mode = TARN_IOVA_VA;
	ASSERT_EQ(tarn_init(&cfg), 0);
	EXPECT_EQ(tarn_iova_mode(), TARN_IOVA_VA);
	EXPECT_EQ(tarn_mem_iova_is_pa(), 0);
	const struct tarn_memzone *mz = tarn_memzone_reserve("va", 4096, 0, 0);
	ASSERT_NE(mz, nullptr);
	EXPECT_EQ(mz->iova, (tarn_iova_t)(uintptr_t)mz->addr);
	EXPECT_EQ(tarn_mem_virt2iova((char *)mz->addr + 100),
	          (tarn_iova_t)(uintptr_t)mz->addr + 100);
}

TEST_F(PciInit, PaModeRefusesNormalPages)
{
	TestLog::clear();
	tarn_log_set_handler(TestLog::fn, nullptr);
	struct tarn_config cfg = test_config();
	cfg.iova_mode = TARN_IOVA_PA;
	cfg.huge_policy = TARN_HUGE_NONE;
	EXPECT_EQ(tarn_init(&cfg), -EINVAL);
	EXPECT_FALSE(tarn_initialized());
	EXPECT_TRUE(TestLog::contains("--iova-mode pa needs hugepages")) << TestLog::all();
	EXPECT_EQ(tarn_iova_mode(), TARN_IOVA_AUTO);
	cfg.iova_mode = (enum tarn_iova_mode)7;
	cfg.huge_policy = TARN_HUGE_PREFER;
	EXPECT_EQ(tarn_init(&cfg), -EINVAL);
	EXPECT_TRUE(TestLog::contains("invalid iova_mode 7")) << TestLog::all();
}

// Runs as a child: a non-root process asking for PA must be refused.
TEST_F(PciInit, PaModeRefusedWithoutPhysicalAddresses)
{
	pid_t pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		if (is_root() && setuid(65534) != 0)
			_exit(10);
		TestLog::clear();
		tarn_log_set_handler(TestLog::fn, nullptr);
		struct tarn_config cfg = test_config();
		cfg.iova_mode = TARN_IOVA_PA;
		int rc = tarn_init(&cfg);
		if (rc != -EPERM)
			_exit(11);
		_exit(TestLog::contains("physical addresses cannot be read here") ? 0 : 12);
	}
	int st;
	ASSERT_EQ(waitpid(pid, &st, 0), pid);
	ASSERT_TRUE(WIFEXITED(st));
	EXPECT_EQ(WEXITSTATUS(st), 0);
}

bool hugepages_free()
{
	struct tarn_hugepage_info hi[16];
	int n = tarn_hugepage_info_get(hi, 16);
	for (int i = 0; i < n && i < 16; i++)
		if (hi[i].page_size == tarn_hugepage_default_size() && hi[i].free >= 8)
			return true;
	return false;
}

TEST_F(PciInit, PaModeGivesPhysicalIovasOnHugepages)
{
	if (!is_root() || !hugepages_free())
		GTEST_SKIP() << "needs root and free hugepages";
	struct tarn_config cfg = test_config();
	cfg.iova_mode = TARN_IOVA_PA;
	ASSERT_EQ(tarn_init(&cfg), 0);
	EXPECT_EQ(tarn_iova_mode(), TARN_IOVA_PA);
	const struct tarn_memzone *mz = tarn_memzone_reserve("pa", 4096, 0, 0);
	ASSERT_NE(mz, nullptr);
	EXPECT_GT(mz->page_size, 4096u) << "PA mode must not fall back to normal pages";
	EXPECT_NE(mz->iova, (tarn_iova_t)(uintptr_t)mz->addr);
	// Independently of tarn's table: the pagemap entry of the page.
	int fd = open("/proc/self/pagemap", O_RDONLY);
	ASSERT_GE(fd, 0);
	uint64_t e = 0;
	ASSERT_EQ(pread(fd, &e, 8, (off_t)((uintptr_t)mz->addr / 4096 * 8)), 8);
	close(fd);
	uint64_t pa = (e & ((1ull << 55) - 1)) * 4096 + (uintptr_t)mz->addr % 4096;
	EXPECT_EQ(mz->iova, pa);
}

// ---------------------------------------------------------------------------
// The segment listener (lib/mem hook)

struct Heard {
	int adds = 0, dels = 0;
	int fail_after = -1; // refuse the add after this many
	std::vector<void *> live;
};

int listener(void *arg, bool add, const struct tarn__mem_seg_view *v)
{
	Heard *h = static_cast<Heard *>(arg);
	if (add) {
		if (h->fail_after >= 0 && h->adds >= h->fail_after)
			return -ENOMEM;
		h->adds++;
		h->live.push_back(v->addr);
	} else {
		h->dels++;
		for (size_t i = 0; i < h->live.size(); i++)
			if (h->live[i] == v->addr) {
				h->live.erase(h->live.begin() + (long)i);
				break;
			}
	}
	EXPECT_EQ(v->len % v->page_size, 0u);
	return 0;
}

TEST_F(PciInit, ListenerHearsEverySegment)
{
	Heard early;
	EXPECT_EQ(tarn__mem_listener_add(listener, &early), -EINVAL); // not initialised
	struct tarn_config cfg = test_config();
	cfg.socket_mem_mb[0] = 4;
	ASSERT_EQ(tarn_init(&cfg), 0);
	Heard h;
	ASSERT_EQ(tarn__mem_listener_add(listener, &h), 0);
	EXPECT_EQ(h.adds, 1) << "the --socket-mem segment is replayed";
	// A zone bigger than the first segment grows the heap.
	const struct tarn_memzone *mz = tarn_memzone_reserve("big", 8u << 20, 0, 0);
	ASSERT_NE(mz, nullptr);
	EXPECT_EQ(h.adds, 2);
	struct tarn__mem_seg_view v;
	ASSERT_EQ(tarn__mem_seg_lookup(mz->addr, &v), 0);
	EXPECT_EQ(h.live.back(), v.addr);
	int x;
	EXPECT_EQ(tarn__mem_seg_lookup(&x, &v), -ENOENT);
	tarn__mem_listener_del(listener, &h);
	EXPECT_EQ(h.dels, 2);
	EXPECT_TRUE(h.live.empty());
	tarn__mem_listener_del(listener, &h); // not registered: nothing
	EXPECT_EQ(h.dels, 2);
	EXPECT_EQ(tarn__mem_listener_add(nullptr, &h), -EINVAL);
	// Registered again, it hears the segments go at cleanup.
	Heard last;
	ASSERT_EQ(tarn__mem_listener_add(listener, &last), 0);
	EXPECT_EQ(last.adds, 2);
	ASSERT_EQ(tarn_cleanup(), 0);
	EXPECT_EQ(last.dels, 2);
}

TEST_F(PciInit, ListenerRefusalFailsTheReservation)
{
	struct tarn_config cfg = test_config();
	cfg.socket_mem_mb[0] = 4;
	ASSERT_EQ(tarn_init(&cfg), 0);
	Heard h;
	h.fail_after = 0;
	EXPECT_EQ(tarn__mem_listener_add(listener, &h), -ENOMEM) << "the replay was refused";
	EXPECT_EQ(h.adds, 0);
	h.fail_after = 1;
	ASSERT_EQ(tarn__mem_listener_add(listener, &h), 0);
	struct tarn_mem_socket_stats before, after;
	ASSERT_EQ(tarn_mem_socket_stats(0, &before), 0);
	TestLog::clear();
	tarn_log_set_handler(TestLog::fn, nullptr);
	EXPECT_EQ(tarn_memzone_reserve("refused", 8u << 20, 0, 0), nullptr);
	EXPECT_EQ(tarn_errno, ENOMEM);
	EXPECT_TRUE(TestLog::contains("could not be mapped for DMA")) << TestLog::all();
	ASSERT_EQ(tarn_mem_socket_stats(0, &after), 0);
	EXPECT_EQ(after.segments, before.segments) << "the refused segment was kept";
	EXPECT_EQ(after.reserved, before.reserved);
	tarn__mem_listener_del(listener, &h);
	EXPECT_NE(tarn_memzone_reserve("fine", 8u << 20, 0, 0), nullptr);
}

// ---------------------------------------------------------------------------
// Opening devices: error paths on the fake tree

class PciOpen : public PciInit
{
      protected:
	void SetUp() override
	{
		struct tarn_config cfg = test_config();
		ASSERT_EQ(tarn_init(&cfg), 0);
		TestLog::clear();
		tarn_log_set_handler(TestLog::fn, nullptr);
		fds = count_fds();
	}
	// Nothing left open or mapped.
	void expect_clean()
	{
		EXPECT_EQ(count_fds(), fds);
		EXPECT_EQ(tarn_pci_dma_mapped_count(), 0u);
	}
	unsigned fds = 0;
};

TEST_F(PciOpen, KernelBoundNamesTheDriverAndTheFix)
{
	FakeTree t;
	populate(t);
	fds = count_fds();
	EXPECT_EQ(tarn_pci_open("0000:00:10.0"), nullptr);
	EXPECT_EQ(tarn_errno, ENXIO);
	EXPECT_TRUE(TestLog::contains("0000:00:10.0: bound to the kernel driver virtio-pci "
	                              "(interface eth1)"))
	    << TestLog::all();
	EXPECT_TRUE(TestLog::contains("scripts/devbind.sh --bind vfio-pci 0000:00:10.0"));
	expect_clean();
}

TEST_F(PciOpen, UnboundAndMissingAndMalformed)
{
	FakeTree t;
	populate(t);
	fds = count_fds();
	EXPECT_EQ(tarn_pci_open("00:1f.2"), nullptr);
	EXPECT_EQ(tarn_errno, ENXIO);
	EXPECT_TRUE(TestLog::contains("bound to no driver")) << TestLog::all();
	EXPECT_EQ(tarn_pci_open("0000:00:12.0"), nullptr);
	EXPECT_EQ(tarn_errno, ENODEV);
	EXPECT_TRUE(TestLog::contains("0000:00:12.0: no such PCI device"));
	EXPECT_EQ(tarn_pci_open("00:12"), nullptr);
	EXPECT_EQ(tarn_errno, EINVAL);
	EXPECT_EQ(tarn_pci_open(nullptr), nullptr);
	EXPECT_EQ(tarn_errno, EINVAL);
	expect_clean();
}

TEST_F(PciOpen, VfioWithoutTheModuleSaysSo)
{
	FakeTree t;
	populate(t);
	fds = count_fds();
	EXPECT_EQ(tarn_pci_open("0000:41:00.0"), nullptr);
	EXPECT_EQ(tarn_errno, ENOTSUP);
	EXPECT_TRUE(TestLog::contains("modprobe vfio-pci")) << TestLog::all();
	expect_clean();
}

TEST_F(PciOpen, VfioWithoutAGroupSaysTheIommuIsOff)
{
	FakeTree t;
	t.add("0000:00:10.0", "0x1af4", "0x1041", "0x020000", -1, "vfio-pci", -1);
	fds = count_fds();
	EXPECT_EQ(tarn_pci_open("0000:00:10.0"), nullptr);
	EXPECT_EQ(tarn_errno, ENOTSUP);
	EXPECT_TRUE(TestLog::contains("in no IOMMU group")) << TestLog::all();
	expect_clean();
}

TEST_F(PciOpen, NotInitialised)
{
	tarn_cleanup();
	FakeTree t;
	populate(t);
	EXPECT_EQ(tarn_pci_open("0000:41:00.0"), nullptr);
	EXPECT_EQ(tarn_errno, EINVAL);
}

TEST_F(PciOpen, UioUnderVirtualIovasIsRefused)
{
	// This fixture's tarn chose its mode itself; force VA to be sure.
	tarn_cleanup();
	struct tarn_config cfg = test_config();
	cfg.iova_mode = TARN_IOVA_VA;
	ASSERT_EQ(tarn_init(&cfg), 0);
	FakeTree t;
	populate(t);
	t.add_uio_files("0000:00:1f.3", 0);
	fds = count_fds();
	EXPECT_EQ(tarn_pci_open("0000:00:1f.3"), nullptr);
	EXPECT_EQ(tarn_errno, ENOTSUP);
	EXPECT_TRUE(TestLog::contains("which needs physical addresses, but the IOVA mode is VA"))
	    << TestLog::all();
	expect_clean();
}

TEST(PciApi, NullArgumentsAreRejected)
{
	struct tarn_pci_bar bar;
	uint32_t v;
	EXPECT_EQ(tarn_pci_close(nullptr), -EINVAL);
	EXPECT_EQ(tarn_pci_device_info(nullptr), nullptr);
	EXPECT_EQ(tarn_pci_config_read(nullptr, &v, 4, 0), -EINVAL);
	EXPECT_EQ(tarn_pci_config_write(nullptr, &v, 4, 0), -EINVAL);
	EXPECT_EQ(tarn_pci_find_capability(nullptr, 9, 0), -EINVAL);
	EXPECT_EQ(tarn_pci_bar_info(nullptr, 0, &bar), -EINVAL);
	EXPECT_EQ(tarn_pci_bar_map(nullptr, 0), nullptr);
	EXPECT_EQ(tarn_errno, EINVAL);
	EXPECT_EQ(tarn_pci_bar_read(nullptr, 0, &v, 4, 0), -EINVAL);
	EXPECT_EQ(tarn_pci_bar_write(nullptr, 0, &v, 4, 0), -EINVAL);
	EXPECT_EQ(tarn_pci_dma_check(nullptr, &v, 4, nullptr, 0), -EINVAL);
}

// ---------------------------------------------------------------------------
// A uio device on the fake tree (root, physical IOVAs)

class PciUio : public PciInit
{
      protected:
	void SetUp() override
	{
		if (!is_root() || !hugepages_free())
			GTEST_SKIP() << "uio needs physical IOVAs: root and free hugepages";
		struct tarn_config cfg = test_config();
		cfg.iova_mode = TARN_IOVA_PA;
		ASSERT_EQ(tarn_init(&cfg), 0);
		populate(t);
		t.add_uio_files("0000:00:1f.3", 0);
		TestLog::clear();
		tarn_log_set_handler(TestLog::fn, nullptr);
		fds = count_fds();
	}
	FakeTree t;
	unsigned fds = 0;
};

TEST_F(PciUio, OpensAndReachesConfigAndBars)
{
	struct tarn_pci_device *d = tarn_pci_open("0000:00:1f.3");
	ASSERT_NE(d, nullptr) << TestLog::all();
	const struct tarn_pci_info *info = tarn_pci_device_info(d);
	ASSERT_NE(info, nullptr);
	EXPECT_STREQ(info->name, "0000:00:1f.3");
	EXPECT_EQ(info->kdrv, TARN_PCI_KDRV_UIO);

	// Bus mastering was turned on in the command register.
	uint16_t cmd = 0;
	ASSERT_EQ(tarn_pci_config_read(d, &cmd, 2, 4), 0);
	EXPECT_EQ(cmd & 0x7, 0x7);
	uint32_t id;
	ASSERT_EQ(tarn_pci_config_read(d, &id, 4, 0), 0);
	EXPECT_EQ(id, 0x10001af4u);
	EXPECT_EQ(tarn_pci_config_read(d, &id, 4, 254), -EINVAL);
	EXPECT_EQ(tarn_pci_config_read(d, &id, 4, 1u << 20), -EINVAL);

	EXPECT_EQ(tarn_pci_find_capability(d, 0x09, 0), 0x40);
	EXPECT_EQ(tarn_pci_find_capability(d, 0x09, 0x40), 0x60);
	EXPECT_EQ(tarn_pci_find_capability(d, 0x09, 0x60), -ENOENT);
	EXPECT_EQ(tarn_pci_find_capability(d, 0x11, 0), 0x50);
	EXPECT_EQ(tarn_pci_find_capability(d, 0x05, 0), -ENOENT);
	uint8_t loop[2] = { 0x11, 0x60 };
	ASSERT_EQ(tarn_pci_config_write(d, loop, 2, 0x60), 0); // 0x60 -> 0x60
	EXPECT_EQ(tarn_pci_find_capability(d, 0x05, 0), -EIO) << "a looping list";

	struct tarn_pci_bar bar;
	ASSERT_EQ(tarn_pci_bar_info(d, 0, &bar), 0);
	EXPECT_EQ(bar.size, 32u);
	EXPECT_TRUE(bar.is_io);
	ASSERT_EQ(tarn_pci_bar_info(d, 4, &bar), 0);
	EXPECT_EQ(bar.size, 16384u);
	EXPECT_FALSE(bar.is_io);
	EXPECT_EQ(bar.addr, nullptr);
	ASSERT_EQ(tarn_pci_bar_info(d, 1, &bar), 0);
	EXPECT_EQ(bar.size, 0u);
	EXPECT_EQ(tarn_pci_bar_info(d, 6, &bar), -EINVAL);

	// The I/O BAR lies above the x86 port range: reached through resource0.
	uint16_t v = 0xbeef;
	ASSERT_EQ(tarn_pci_bar_write(d, 0, &v, 2, 16), 0);
	std::string r0 = read_all(t.devdir("0000:00:1f.3") + "/resource0");
	EXPECT_EQ((uint8_t)r0[16], 0xef);
	EXPECT_EQ((uint8_t)r0[17], 0xbe);
	v = 0;
	ASSERT_EQ(tarn_pci_bar_read(d, 0, &v, 2, 16), 0);
	EXPECT_EQ(v, 0xbeef);
	EXPECT_EQ(tarn_pci_bar_read(d, 0, &v, 2, 17), -EINVAL) << "unaligned";
	EXPECT_EQ(tarn_pci_bar_read(d, 0, &v, 3, 16), -EINVAL) << "length 3";
	EXPECT_EQ(tarn_pci_bar_read(d, 0, &v, 2, 32), -EINVAL) << "past the BAR";
	EXPECT_EQ(tarn_pci_bar_read(d, 4, &v, 2, 0), -EINVAL) << "uio memory BAR, not mapped";
	EXPECT_EQ(tarn_pci_bar_read(d, 1, &v, 2, 0), -EINVAL) << "no BAR 1";

	EXPECT_EQ(tarn_pci_bar_map(d, 0), nullptr) << "an I/O BAR cannot be mapped";
	EXPECT_EQ(tarn_errno, EINVAL);
	void *m = tarn_pci_bar_map(d, 4);
	ASSERT_NE(m, nullptr) << TestLog::all();
	EXPECT_EQ(tarn_pci_bar_map(d, 4), m) << "mapped once";
	uint32_t w = 0x12345678;
	ASSERT_EQ(tarn_pci_bar_write(d, 4, &w, 4, 0x100), 0);
	EXPECT_EQ(((volatile uint32_t *)m)[0x40], 0x12345678u);

	// DMA: hugepage memory with physical addresses, not the stack.
	const struct tarn_memzone *mz = tarn_memzone_reserve("dma", 65536, 0, 0);
	ASSERT_NE(mz, nullptr);
	char why[256];
	EXPECT_EQ(tarn_pci_dma_check(d, mz->addr, mz->len, why, sizeof(why)), 0) << why;
	EXPECT_EQ(tarn_pci_dma_check(d, &w, 4, why, sizeof(why)), -EFAULT);
	EXPECT_NE(std::string(why).find("not tarn memory"), std::string::npos) << why;
	EXPECT_EQ(tarn_pci_dma_check(d, mz->addr, 0, why, sizeof(why)), -EINVAL);

	// Claimed: a second open in this process is refused.
	EXPECT_EQ(tarn_pci_open("0000:00:1f.3"), nullptr);
	EXPECT_EQ(tarn_errno, EBUSY);
	EXPECT_TRUE(TestLog::contains("open already in this process")) << TestLog::all();

	ASSERT_EQ(tarn_pci_close(d), 0);
	EXPECT_EQ(tarn_pci_close(d), -EINVAL) << "closed twice";
	EXPECT_EQ(fds_under(t.root), 0u);
	// Bus mastering is off again.
	std::string cfg = read_all(t.devdir("0000:00:1f.3") + "/config");
	EXPECT_EQ(cfg[4] & 0x4, 0);
}

TEST_F(PciUio, ClaimedByAnotherProcessNamesIt)
{
	int pipefd[2];
	ASSERT_EQ(pipe(pipefd), 0);
	pid_t pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		int fd = open((t.dev + "/uio0").c_str(), O_RDWR);
		char ok = fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0 ? 1 : 0;
		(void)!write(pipefd[1], &ok, 1);
		pause();
		_exit(0);
	}
	char ok = 0;
	ASSERT_EQ(read(pipefd[0], &ok, 1), 1);
	ASSERT_EQ(ok, 1);
	EXPECT_EQ(tarn_pci_open("0000:00:1f.3"), nullptr);
	EXPECT_EQ(tarn_errno, EBUSY);
	EXPECT_TRUE(TestLog::contains("in use: process " + std::to_string(pid))) << TestLog::all();
	kill(pid, SIGKILL);
	waitpid(pid, nullptr, 0);
	close(pipefd[0]);
	close(pipefd[1]);
	EXPECT_EQ(count_fds(), fds);
	// The holder is gone: the device opens.
	struct tarn_pci_device *d = tarn_pci_open("0000:00:1f.3");
	ASSERT_NE(d, nullptr) << TestLog::all();
	EXPECT_EQ(tarn_pci_close(d), 0);
}

TEST_F(PciUio, CleanupClosesWhatIsStillOpen)
{
	struct tarn_pci_device *d = tarn_pci_open("0000:00:1f.3");
	ASSERT_NE(d, nullptr) << TestLog::all();
	ASSERT_NE(tarn_pci_bar_map(d, 4), nullptr);
	ASSERT_EQ(fds_under(t.root), 4u) << "uio0, config, resource0, resource4";
	ASSERT_EQ(tarn_cleanup(), 0);
	EXPECT_TRUE(TestLog::contains("0000:00:1f.3: still open at cleanup")) << TestLog::all();
	EXPECT_EQ(fds_under(t.root), 0u);
}

} // namespace
