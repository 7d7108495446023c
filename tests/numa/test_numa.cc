// SPDX-License-Identifier: BSD-3-Clause
// numa: memory asked for socket 1 lies on node 1 - with hugepages and with
// every fallback tier - checked with tarn_mem_node_of() and independently,
// page by page, with move_pages(2) and get_mempolicy(MPOL_F_NODE|MPOL_F_ADDR).
// Needs two NUMA nodes: skips elsewhere. scripts/numa-vm-test.sh runs it in
// a two-node VM.
#include "mem_test.h"

#include <numa.h>
#include <numaif.h>

using namespace memtest;

namespace
{

#define NEED_TWO_NODES()                                                                           \
	do {                                                                                       \
		if (tarn_socket_count() < 2)                                                       \
			GTEST_SKIP()                                                               \
			    << "needs 2 NUMA nodes, this machine has " << tarn_socket_count()      \
			    << " (run scripts/numa-vm-test.sh BUILD_DIR)";                         \
	} while (0)

// Every page of [addr, addr+len) is on `node`: returns "" or a description.
std::string check_pages(const void *addr, size_t len, int node)
{
	const size_t pg = TARN__PAGE_4K;
	uintptr_t start = (uintptr_t)addr & ~(uintptr_t)(pg - 1);
	uintptr_t end = (uintptr_t)addr + len;
	std::vector<void *> pages;
	for (uintptr_t p = start; p < end; p += pg)
		pages.push_back((void *)p);
	std::vector<int> status(pages.size(), -1);
	if (move_pages(0, pages.size(), pages.data(), nullptr, status.data(), 0) != 0)
		return std::string("move_pages: ") + strerror(errno);
	size_t wrong = 0;
	int first_bad = -1;
	for (size_t i = 0; i < pages.size(); i++) {
		if (status[i] != node) {
			if (wrong++ == 0)
				first_bad = status[i];
		}
		int pol_node = -1;
		if (get_mempolicy(&pol_node, nullptr, 0, pages[i], MPOL_F_NODE | MPOL_F_ADDR) != 0)
			return std::string("get_mempolicy: ") + strerror(errno);
		if (pol_node != node && wrong++ == 0)
			first_bad = pol_node;
	}
	// tarn's own answer, on the first, middle and last page.
	for (size_t i : { (size_t)0, pages.size() / 2, pages.size() - 1 })
		if (tarn_mem_node_of(pages[i]) != node && wrong++ == 0)
			first_bad = tarn_mem_node_of(pages[i]);
	if (wrong == 0)
		return "";
	return std::to_string(wrong) + " of " + std::to_string(pages.size()) +
	       " page checks not on node " + std::to_string(node) +
	       " (first seen: " + std::to_string(first_bad) + ")";
}

// The checker itself: memory bound to node 0 must fail a node-1 check.
TEST(Numa, CheckerDetectsWrongNode)
{
	NEED_TWO_NODES();
	size_t len = 1u << 20;
	void *p = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(p, MAP_FAILED);
	unsigned long mask = 1ul; // node 0
	ASSERT_EQ(mbind(p, len, MPOL_BIND, &mask, sizeof(mask) * 8, 0), 0);
	memset(p, 1, len);
	EXPECT_EQ(check_pages(p, len, 0), "");
	EXPECT_NE(check_pages(p, len, 1), "");
	munmap(p, len);
}

class NumaPlacement : public ::testing::TestWithParam<const char *>
{
      protected:
	void TearDown() override
	{
		if (tarn_initialized())
			tarn_cleanup();
		tarn__mem_force_backend(nullptr);
	}
};

TEST_P(NumaPlacement, Socket1MemoryIsOnNode1)
{
	NEED_TWO_NODES();
	std::string be = GetParam();
	bool huge = be == "hugetlbfs" || be == "memfd" || be == "anon-hugetlb";
	struct tarn_config cfg = test_config("tarnnuma");
	if (huge) {
		if (huge_free(1) < 40 || huge_free(0) < 8)
			GTEST_SKIP() << "needs 40 free hugepages on node 1 and 8 on node 0";
		cfg.huge_policy = TARN_HUGE_REQUIRE;
	} else {
		cfg.huge_policy = TARN_HUGE_NONE;
	}
	if (be == "hugetlbfs") {
		std::string m = find_hugetlbfs();
		if (m.empty())
			GTEST_SKIP() << "no hugetlbfs mount";
		snprintf(cfg.huge_dir, sizeof(cfg.huge_dir), "%s", m.c_str());
	}
	if (be == "thp" && !tarn__thp_usable())
		GTEST_SKIP() << "THP disabled";
	ASSERT_EQ(tarn__mem_force_backend(be.c_str()), 0);
	// --socket-mem 0,64
	cfg.socket_mem_mb[1] = 64;
	LogCapture log;
	ASSERT_EQ(tarn_init(&cfg), 0) << log.all();

	struct tarn_mem_socket_stats st;
	ASSERT_EQ(tarn_mem_socket_stats(1, &st), 0);
	EXPECT_STREQ(st.backend, be.c_str());
	EXPECT_GE(st.reserved, 64u << 20);
	ASSERT_EQ(tarn_mem_socket_stats(0, &st), 0);
	EXPECT_EQ(st.reserved, 0u) << "--socket-mem 0,64 reserved on socket 0";

	// A memzone carved from the up-front segment.
	const struct tarn_memzone *mz = tarn_memzone_reserve("numa_mz1", 16u << 20, 1, 0);
	ASSERT_NE(mz, nullptr) << tarn_strerror(tarn_errno);
	EXPECT_EQ(mz->socket, 1);
	EXPECT_EQ(tarn_mem_socket_of(mz->addr), 1);
	EXPECT_EQ(check_pages(mz->addr, mz->len, 1), "");
	// Beyond --socket-mem: a grown segment, still on node 1.
	const struct tarn_memzone *grown = tarn_memzone_reserve("numa_grown", 60u << 20, 1, 0);
	ASSERT_NE(grown, nullptr) << tarn_strerror(tarn_errno) << log.all();
	ASSERT_EQ(tarn_mem_socket_stats(1, &st), 0);
	EXPECT_EQ(st.segments, 2u);
	EXPECT_EQ(check_pages(grown->addr, grown->len, 1), "");
	// tarn_malloc_socket on socket 1.
	void *p = tarn_malloc_socket(1u << 20, 0, 1);
	ASSERT_NE(p, nullptr);
	EXPECT_EQ(tarn_mem_socket_of(p), 1);
	EXPECT_EQ(check_pages(p, 1u << 20, 1), "");
	tarn_free(p);
	// And socket 0 memory is on node 0.
	const struct tarn_memzone *mz0 = tarn_memzone_reserve("numa_mz0", 8u << 20, 0, 0);
	ASSERT_NE(mz0, nullptr) << tarn_strerror(tarn_errno);
	EXPECT_EQ(check_pages(mz0->addr, mz0->len, 0), "");
	EXPECT_EQ(tarn_memzone_free(mz), 0);
	EXPECT_EQ(tarn_memzone_free(grown), 0);
	EXPECT_EQ(tarn_memzone_free(mz0), 0);
	EXPECT_EQ(tarn_cleanup(), 0);
	if (be == "hugetlbfs") {
		EXPECT_TRUE(files_with_prefix(cfg.huge_dir, "tarnnuma").empty());
	}
}

INSTANTIATE_TEST_SUITE_P(Tiers, NumaPlacement,
                         ::testing::Values("hugetlbfs", "memfd", "anon-hugetlb", "thp", "4k"),
                         [](const ::testing::TestParamInfo<const char *> &i) {
	                         std::string s = i.param;
	                         for (auto &c : s)
		                         if (c == '-')
			                         c = '_';
	                         return s;
                         });

// The default policy, both sockets up front, populated in parallel.
TEST(Numa, BothSocketsUpFront)
{
	NEED_TWO_NODES();
	struct tarn_config cfg = test_config("tarnnuma");
	cfg.socket_mem_mb[0] = 32;
	cfg.socket_mem_mb[1] = 32;
	cfg.log_level = TARN_LOG_DEBUG;
	LogCapture log;
	ASSERT_EQ(tarn_init(&cfg), 0) << log.all();
	EXPECT_TRUE(log.contains("init phases")) << log.all();
	for (int s = 0; s < 2; s++) {
		std::string name = "both" + std::to_string(s);
		const struct tarn_memzone *mz = tarn_memzone_reserve(name.c_str(), 16u << 20, s, 0);
		ASSERT_NE(mz, nullptr);
		EXPECT_EQ(check_pages(mz->addr, mz->len, s), "") << "socket " << s;
	}
	struct tarn_mem_socket_stats st;
	ASSERT_EQ(tarn_mem_socket_stats(1, &st), 0);
	EXPECT_EQ(st.segments, 1u);
	// Print the phase timings so the VM run shows them.
	for (auto &l : log.lines)
		if (l.msg.find("init phases") != std::string::npos ||
		    l.msg.find("populated in") != std::string::npos)
			printf("  [log] %s: %s\n", l.comp.c_str(), l.msg.c_str());
	EXPECT_EQ(tarn_cleanup(), 0);
	tarn_log_set_level(TARN_LOG_NOTICE);
}

// TARN_SOCKET_ANY from an lcore on node 1 means socket 1, never a silent 0.
TEST(Numa, AnySocketFollowsTheCallingLcore)
{
	NEED_TWO_NODES();
	int cpu1 = -1;
	for (unsigned c = 0; c < tarn_cpu_count(); c++)
		if (tarn_cpu_socket(c) == 1) {
			cpu1 = (int)c;
			break;
		}
	int cpu0 = -1;
	for (unsigned c = 0; c < tarn_cpu_count(); c++)
		if (tarn_cpu_socket(c) == 0) {
			cpu0 = (int)c;
			break;
		}
	if (cpu0 < 0 || cpu1 < 0)
		GTEST_SKIP() << "no CPU on node 0 or node 1";
	struct tarn_config cfg = test_config("tarnnuma");
	snprintf(cfg.lcores, sizeof(cfg.lcores), "0@%d,1@%d", cpu0, cpu1);
	ASSERT_EQ(tarn_init(&cfg), 0);
	ASSERT_EQ(tarn_lcore_socket(1), 1);
	static const struct tarn_memzone *mz;
	static void *p;
	ASSERT_EQ(tarn_lcore_launch(
	              1,
	              [](void *) -> int {
		              mz = tarn_memzone_reserve("any1", 4u << 20, TARN_SOCKET_ANY, 0);
		              p = tarn_malloc_socket(4096, 0, TARN_SOCKET_ANY);
		              return mz != nullptr && p != nullptr ? 0 : -1;
	              },
	              nullptr),
	          0);
	int rc = -1;
	ASSERT_EQ(tarn_lcore_wait(1, &rc), 0);
	ASSERT_EQ(rc, 0);
	EXPECT_EQ(mz->socket, 1);
	EXPECT_EQ(tarn_mem_socket_of(p), 1);
	EXPECT_EQ(check_pages(mz->addr, mz->len, 1), "");
	EXPECT_EQ(check_pages(p, 4096, 1), "");
	tarn_free(p);
	EXPECT_EQ(tarn_cleanup(), 0);
}

} // namespace
