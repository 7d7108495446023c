// SPDX-License-Identifier: BSD-3-Clause
// mem: hugepage discovery, init/cleanup with --socket-mem, memzones,
// tarn_malloc_socket/tarn_free, IOVA, socket_of/node_of, stats and dump,
// every backend tier, the hugepage policies, hugetlbfs file hygiene.
#include "mem_test.h"

#include <atomic>
#include <set>
#include <thread>
#include <vector>

#include <signal.h>
#include <sys/file.h>

using namespace memtest;

namespace
{

// Tests that call tarn_init() themselves; always leave tarn uninitialised.
class MemInit : public ::testing::Test
{
      protected:
	void TearDown() override
	{
		if (tarn_initialized())
			tarn_cleanup();
		tarn__mem_force_backend(nullptr);
		std::string m = HugeEnv::mount_dir();
		if (!m.empty()) {
			EXPECT_TRUE(files_with_prefix(m, "tarntest").empty())
			    << "hugetlbfs files left behind in " << m;
		}
	}
};

// Tests on an initialised tarn with no memory reserved up front.
class Mem : public MemInit
{
      protected:
	void SetUp() override
	{
		struct tarn_config cfg = test_config();
		ASSERT_EQ(tarn_init(&cfg), 0);
	}
};

bool all_zero(const void *p, size_t len)
{
	const unsigned char *c = static_cast<const unsigned char *>(p);
	for (size_t i = 0; i < len; i++)
		if (c[i] != 0)
			return false;
	return true;
}

// Skip unless hugepages can be used (free pages and, for files, a mount).
#define NEED_HUGEPAGES(n)                                                                          \
	do {                                                                                       \
		if (tarn_hugepage_default_size() == 0)                                             \
			GTEST_SKIP() << "the kernel offers no hugepages";                          \
		if (huge_free(0) < (n))                                                            \
			GTEST_SKIP()                                                               \
			    << "needs " << (n) << " free hugepages on node 0, has "                \
			    << huge_free(0) << " (run as root: the suite reserves them itself)";   \
	} while (0)

#define NEED_ROOT()                                                                                \
	do {                                                                                       \
		if (!is_root())                                                                    \
			GTEST_SKIP() << "needs root";                                              \
	} while (0)

// ---------------------------------------------------------------------------
// Hugepage discovery (no init needed)

TEST(HugeInfo, ListsSizesPerNode)
{
	int n = tarn_hugepage_info_get(nullptr, 0);
	ASSERT_GE(n, 0);
	std::vector<struct tarn_hugepage_info> v(n + 1);
	ASSERT_EQ(tarn_hugepage_info_get(v.data(), (unsigned)v.size()), n);
	uint64_t def = tarn_hugepage_default_size();
	bool found_default = false;
	for (int i = 0; i < n; i++) {
		EXPECT_NE(v[i].page_size, 0u);
		EXPECT_EQ(v[i].page_size & (v[i].page_size - 1), 0u) << "not a power of two";
		EXPECT_LE(v[i].free, v[i].total);
		EXPECT_GE(v[i].node, 0);
		if (v[i].page_size == def)
			found_default = true;
		// Matches sysfs.
		char dir[256];
		ASSERT_EQ(tarn__huge_sysfs_dir(v[i].node, v[i].page_size, dir, sizeof(dir)), 0);
		EXPECT_EQ((long)v[i].total, read_long(std::string(dir) + "/nr_hugepages"));
	}
	if (def != 0) {
		EXPECT_TRUE(found_default);
		EXPECT_TRUE(def == (2u << 20) || def == (1u << 30) || def >= 4096);
	}
}

// Whatever the number of entries n (one page size on one node included):
// max = n - 1 fills n - 1 and returns n, max = 0 writes nothing, a larger
// array gets n entries and nothing past them.
TEST(HugeInfo, TruncatesAndRejectsNull)
{
	EXPECT_EQ(tarn_hugepage_info_get(nullptr, 1), -EINVAL);
	const int n = tarn_hugepage_info_get(nullptr, 0);
	if (n <= 0)
		GTEST_SKIP() << "the kernel offers no hugepages (no entries to truncate)";
	std::vector<struct tarn_hugepage_info> all(n + 2), some(n + 2);
	memset(all.data(), 0xab, all.size() * sizeof(all[0]));
	EXPECT_EQ(tarn_hugepage_info_get(all.data(), (unsigned)n + 2), n);
	for (int i = 0; i < n; i++)
		EXPECT_NE(all[i].page_size, 0xababababababababull) << "entry " << i;
	EXPECT_EQ(all[n].node, (int)0xabababab) << "wrote past the entries there are";

	memset(some.data(), 0xab, some.size() * sizeof(some[0]));
	EXPECT_EQ(tarn_hugepage_info_get(some.data(), (unsigned)n - 1), n);
	for (int i = 0; i < n - 1; i++) {
		EXPECT_EQ(some[i].page_size, all[i].page_size) << "entry " << i;
		EXPECT_EQ(some[i].node, all[i].node) << "entry " << i;
	}
	EXPECT_EQ(some[n - 1].node, (int)0xabababab) << "wrote past max";
	EXPECT_EQ(some[n - 1].page_size, 0xababababababababull) << "wrote past max";

	memset(some.data(), 0xab, some.size() * sizeof(some[0]));
	EXPECT_EQ(tarn_hugepage_info_get(some.data(), 0), n);
	EXPECT_EQ(some[0].node, (int)0xabababab) << "max 0 wrote an entry";
}

TEST(HugeInfo, FixCommandNamesNodeAndCount)
{
	uint64_t def = tarn_hugepage_default_size();
	if (def == 0)
		GTEST_SKIP() << "no hugepages";
	char cmd[300];
	tarn__huge_fix_cmd(0, def, 256, cmd, sizeof(cmd));
	EXPECT_NE(strstr(cmd, "echo 256 > "), nullptr) << cmd;
	EXPECT_NE(strstr(cmd, "nr_hugepages"), nullptr) << cmd;
	EXPECT_NE(strstr(cmd, std::to_string(def >> 10).c_str()), nullptr) << cmd;
}

// ---------------------------------------------------------------------------
// Calls before tarn_init()

TEST(MemNotInit, EveryCallFails)
{
	ASSERT_FALSE(tarn_initialized());
	EXPECT_EQ(tarn_memzone_reserve("x", 64, 0, 0), nullptr);
	EXPECT_EQ(tarn_errno, EINVAL);
	EXPECT_EQ(tarn_memzone_lookup("x"), nullptr);
	EXPECT_EQ(tarn_errno, EINVAL);
	EXPECT_EQ(tarn_memzone_free(nullptr), -EINVAL);
	EXPECT_EQ(tarn_malloc_socket(64, 0, 0), nullptr);
	EXPECT_EQ(tarn_errno, EINVAL);
	int x = 0;
	{
		LogCapture log;
		tarn_free(&x); // logged, not a crash
		EXPECT_EQ(log.at_most(TARN_LOG_ERR).size(), 1u);
	}
	tarn_free(nullptr);
	EXPECT_EQ(tarn_mem_socket_of(&x), -EINVAL);
	EXPECT_EQ(tarn_mem_virt2iova(&x), TARN_BAD_IOVA);
	struct tarn_mem_socket_stats st;
	EXPECT_EQ(tarn_mem_socket_stats(0, &st), -EINVAL);
	int calls = 0;
	tarn_memzone_walk([](const struct tarn_memzone *, void *a) { ++*(int *)a; }, &calls);
	EXPECT_EQ(calls, 0);
	char *buf = nullptr;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	tarn_mem_dump(f);
	fclose(f);
	EXPECT_NE(strstr(buf, "not initialised"), nullptr);
	free(buf);
	tarn_mem_dump(nullptr);
	// node_of works on any mapped address.
	EXPECT_GE(tarn_mem_node_of(&x), 0);
}

// ---------------------------------------------------------------------------
// init / cleanup

TEST_F(MemInit, InitCleanupRepeat)
{
	struct tarn_config cfg = test_config();
	for (int i = 0; i < 3; i++) {
		ASSERT_EQ(tarn_init(&cfg), 0);
		EXPECT_NE(tarn_memzone_reserve("r", 100, 0, 0), nullptr);
		ASSERT_EQ(tarn_cleanup(), 0);
	}
	EXPECT_EQ(tarn_cleanup(), -EINVAL);
}

TEST_F(MemInit, SocketMemReservedUpFront)
{
	struct tarn_config cfg = test_config();
	cfg.socket_mem_mb[0] = 16;
	LogCapture log;
	tarn_log_set_level(TARN_LOG_DEBUG);
	cfg.log_level = TARN_LOG_DEBUG;
	ASSERT_EQ(tarn_init(&cfg), 0) << log.all();
	struct tarn_mem_socket_stats st;
	ASSERT_EQ(tarn_mem_socket_stats(0, &st), 0);
	EXPECT_EQ(st.socket, 0);
	EXPECT_GE(st.reserved, 16u << 20);
	EXPECT_EQ(st.segments, 1u);
	EXPECT_EQ(st.used, 0u);
	EXPECT_NE(st.backend, nullptr);
	EXPECT_EQ(st.pages * st.page_size, st.reserved);
	// The init phases are timed in the debug log.
	EXPECT_TRUE(log.contains("init phases: probe")) << log.all();
	// A memzone that fits comes from that segment: no growth.
	const struct tarn_memzone *mz = tarn_memzone_reserve("fits", 8u << 20, 0, 0);
	ASSERT_NE(mz, nullptr);
	ASSERT_EQ(tarn_mem_socket_stats(0, &st), 0);
	EXPECT_EQ(st.segments, 1u);
	EXPECT_GE(st.used, 8u << 20);
	// The memory is populated: resident before anyone touches it.
	long pg = sysconf(_SC_PAGESIZE);
	size_t n = (8u << 20) / pg;
	std::vector<unsigned char> vec(n);
	ASSERT_EQ(mincore(mz->addr, n * pg & ~(size_t)(pg - 1), vec.data()), 0);
	size_t resident = 0;
	for (auto c : vec)
		resident += c & 1;
	EXPECT_EQ(resident, (n * pg & ~(size_t)(pg - 1)) / pg);
	tarn_log_set_level(TARN_LOG_NOTICE);
}

TEST_F(MemInit, SocketMemOnMissingSocketFails)
{
	unsigned n = tarn_socket_count();
	if (n >= TARN_MAX_SOCKETS)
		GTEST_SKIP();
	struct tarn_config cfg = test_config();
	cfg.socket_mem_mb[n] = 4;
	LogCapture log;
	EXPECT_EQ(tarn_init(&cfg), -EINVAL);
	EXPECT_FALSE(tarn_initialized());
}

TEST_F(MemInit, HeapGrowsOnDemand)
{
	struct tarn_config cfg = test_config();
	ASSERT_EQ(tarn_init(&cfg), 0);
	struct tarn_mem_socket_stats st;
	ASSERT_EQ(tarn_mem_socket_stats(0, &st), 0);
	EXPECT_EQ(st.segments, 0u);
	EXPECT_EQ(st.reserved, 0u);
	const struct tarn_memzone *a = tarn_memzone_reserve("g1", 3u << 20, 0, 0);
	ASSERT_NE(a, nullptr);
	ASSERT_EQ(tarn_mem_socket_stats(0, &st), 0);
	EXPECT_EQ(st.segments, 1u);
	EXPECT_GE(st.reserved, 3u << 20);
	EXPECT_EQ(st.reserved % st.page_size, 0u) << "whole pages";
	const struct tarn_memzone *b = tarn_memzone_reserve("g2", st.reserved, 0, 0);
	ASSERT_NE(b, nullptr);
	ASSERT_EQ(tarn_mem_socket_stats(0, &st), 0);
	EXPECT_EQ(st.segments, 2u);
}

// ---------------------------------------------------------------------------
// memzones

TEST_F(Mem, MemzoneReserveLookupFree)
{
	const struct tarn_memzone *mz = tarn_memzone_reserve("zone_a", 10000, 0, 0);
	ASSERT_NE(mz, nullptr) << tarn_strerror(tarn_errno);
	EXPECT_STREQ(mz->name, "zone_a");
	EXPECT_EQ(mz->len, 10000u);
	EXPECT_EQ(mz->socket, 0);
	EXPECT_EQ((uintptr_t)mz->addr % TARN_CACHE_LINE, 0u);
	EXPECT_NE(mz->page_size, 0u);
	EXPECT_EQ(mz->iova, tarn_mem_virt2iova(mz->addr));
	EXPECT_TRUE(all_zero(mz->addr, mz->len));
	memset(mz->addr, 0x5a, mz->len);
	EXPECT_EQ(tarn_memzone_lookup("zone_a"), mz);
	EXPECT_EQ(tarn_memzone_lookup("zone_b"), nullptr);
	EXPECT_EQ(tarn_errno, ENOENT);
	EXPECT_EQ(tarn_memzone_free(mz), 0);
	EXPECT_EQ(tarn_memzone_lookup("zone_a"), nullptr);
	EXPECT_EQ(tarn_errno, ENOENT);
	// Freed memory comes back zeroed.
	const struct tarn_memzone *again = tarn_memzone_reserve("zone_a", 10000, 0, 0);
	ASSERT_NE(again, nullptr);
	EXPECT_TRUE(all_zero(again->addr, again->len));
	EXPECT_EQ(tarn_memzone_free(again), 0);
}

TEST_F(Mem, MemzoneBadArguments)
{
	EXPECT_EQ(tarn_memzone_reserve(nullptr, 64, 0, 0), nullptr);
	EXPECT_EQ(tarn_errno, EINVAL);
	EXPECT_EQ(tarn_memzone_reserve("", 64, 0, 0), nullptr);
	EXPECT_EQ(tarn_errno, EINVAL);
	std::string longest(TARN_NAME_SIZE - 1, 'n'), too_long(TARN_NAME_SIZE, 'n');
	EXPECT_EQ(tarn_memzone_reserve(too_long.c_str(), 64, 0, 0), nullptr);
	EXPECT_EQ(tarn_errno, ENAMETOOLONG);
	EXPECT_EQ(tarn_memzone_lookup(too_long.c_str()), nullptr);
	EXPECT_EQ(tarn_errno, ENAMETOOLONG);
	EXPECT_EQ(tarn_memzone_lookup(nullptr), nullptr);
	EXPECT_EQ(tarn_errno, EINVAL);
	const struct tarn_memzone *mz = tarn_memzone_reserve(longest.c_str(), 64, 0, 0);
	ASSERT_NE(mz, nullptr);
	EXPECT_EQ(tarn_memzone_lookup(longest.c_str()), mz);
	EXPECT_EQ(tarn_memzone_free(mz), 0);
	EXPECT_EQ(tarn_memzone_reserve("len0", 0, 0, 0), nullptr);
	EXPECT_EQ(tarn_errno, EINVAL);
	for (size_t bad : { (size_t)3, (size_t)48, (size_t)100, (size_t)(1ull << 31),
	                    (size_t)(1ull << 40), (size_t)-1 }) {
		EXPECT_EQ(tarn_memzone_reserve("badalign", 64, 0, bad), nullptr) << bad;
		EXPECT_EQ(tarn_errno, EINVAL);
	}
	for (int bad : { (int)tarn_socket_count(), TARN_MAX_SOCKETS, -2, 1 << 20 }) {
		EXPECT_EQ(tarn_memzone_reserve("badsock", 64, bad, 0), nullptr) << bad;
		EXPECT_EQ(tarn_errno, EINVAL);
	}
	EXPECT_EQ(tarn_memzone_free(nullptr), -EINVAL);
	struct tarn_memzone fake;
	memset(&fake, 0, sizeof(fake));
	EXPECT_EQ(tarn_memzone_free(&fake), -EINVAL);
	tarn_memzone_walk(nullptr, nullptr);
}

TEST_F(Mem, MemzoneDuplicateName)
{
	const struct tarn_memzone *a = tarn_memzone_reserve("dup", 128, 0, 0);
	ASSERT_NE(a, nullptr);
	EXPECT_EQ(tarn_memzone_reserve("dup", 128, 0, 0), nullptr);
	EXPECT_EQ(tarn_errno, EEXIST);
	EXPECT_EQ(tarn_memzone_free(a), 0);
	EXPECT_EQ(tarn_memzone_free(a), -EINVAL) << "double free must be rejected";
	const struct tarn_memzone *b = tarn_memzone_reserve("dup", 128, 0, 0);
	ASSERT_NE(b, nullptr);
	EXPECT_EQ(tarn_memzone_free(b), 0);
}

TEST_F(Mem, MemzoneEveryAlignmentUpTo1G)
{
	std::vector<const struct tarn_memzone *> zones;
	for (unsigned k = 0; k <= 30; k++) {
		size_t align = (size_t)1 << k;
		std::string name = "al" + std::to_string(k);
		const struct tarn_memzone *mz = tarn_memzone_reserve(name.c_str(), 100, 0, align);
		ASSERT_NE(mz, nullptr) << "align " << align << ": " << tarn_strerror(tarn_errno);
		EXPECT_EQ((uintptr_t)mz->addr % align, 0u) << "align " << align;
		EXPECT_EQ((uintptr_t)mz->addr % TARN_CACHE_LINE, 0u);
		EXPECT_TRUE(all_zero(mz->addr, 100));
		memset(mz->addr, 0xff, 100);
		zones.push_back(mz);
	}
	// No two overlap.
	std::set<uintptr_t> starts;
	for (auto *z : zones)
		EXPECT_TRUE(starts.insert((uintptr_t)z->addr).second);
	for (auto *z : zones)
		EXPECT_EQ(tarn_memzone_free(z), 0);
	struct tarn_mem_socket_stats st;
	ASSERT_EQ(tarn_mem_socket_stats(0, &st), 0);
	EXPECT_EQ(st.used, 0u);
}

// "The socket of X" is tarn_<X>_socket(); tarn_mem_socket_of() is an alias.
TEST_F(Mem, SocketOfAnAddressUnderBothNames)
{
	const struct tarn_memzone *mz = tarn_memzone_reserve("names", 4096, 0, 0);
	ASSERT_NE(mz, nullptr);
	EXPECT_EQ(tarn_mem_socket(mz->addr), 0);
	EXPECT_EQ(tarn_mem_socket((const char *)mz->addr + 4095), 0);
	EXPECT_EQ(tarn_mem_socket_of(mz->addr), tarn_mem_socket(mz->addr));
	int x;
	EXPECT_EQ(tarn_mem_socket(&x), -EINVAL);
	EXPECT_EQ(tarn_mem_socket(nullptr), -EINVAL);
	EXPECT_EQ(tarn_mem_socket_of(nullptr), -EINVAL);
	EXPECT_EQ(tarn_memzone_free(mz), 0);
}

TEST_F(Mem, MemzoneAnySocketIsCallersSocket)
{
	const struct tarn_memzone *mz = tarn_memzone_reserve("any", 64, TARN_SOCKET_ANY, 0);
	ASSERT_NE(mz, nullptr);
	EXPECT_EQ(mz->socket, tarn_socket_id());
	EXPECT_EQ(tarn_mem_socket_of(mz->addr), tarn_socket_id());
	EXPECT_EQ(tarn_memzone_free(mz), 0);
}

TEST_F(Mem, MemzoneExhaustion)
{
	// More than the machine has: an error, not the OOM killer.
	const struct tarn_memzone *mz = tarn_memzone_reserve("huge", (size_t)1 << 46, 0, 0);
	EXPECT_EQ(mz, nullptr);
	EXPECT_EQ(tarn_errno, ENOMEM);
	mz = tarn_memzone_reserve("huge", SIZE_MAX - 4096, 0, 0);
	EXPECT_EQ(mz, nullptr);
	EXPECT_EQ(tarn_errno, ENOMEM);
	// Still usable afterwards.
	mz = tarn_memzone_reserve("small", 64, 0, 0);
	ASSERT_NE(mz, nullptr);
	EXPECT_EQ(tarn_memzone_free(mz), 0);
}

TEST_F(Mem, MemzoneWalk)
{
	const char *names[] = { "w1", "w2", "w3" };
	for (const char *n : names)
		ASSERT_NE(tarn_memzone_reserve(n, 256, 0, 0), nullptr);
	std::set<std::string> seen;
	tarn_memzone_walk(
	    [](const struct tarn_memzone *mz, void *arg) {
		    static_cast<std::set<std::string> *>(arg)->insert(mz->name);
	    },
	    &seen);
	EXPECT_EQ(seen, std::set<std::string>({ "w1", "w2", "w3" }));
	for (const char *n : names)
		EXPECT_EQ(tarn_memzone_free(tarn_memzone_lookup(n)), 0);
}

TEST_F(Mem, FreeBlocksCoalesce)
{
	// Three neighbours freed in the order middle, first, last leave one block.
	const struct tarn_memzone *a = tarn_memzone_reserve("ca", 4096, 0, 0);
	const struct tarn_memzone *b = tarn_memzone_reserve("cb", 4096, 0, 0);
	const struct tarn_memzone *c = tarn_memzone_reserve("cc", 4096, 0, 0);
	ASSERT_TRUE(a && b && c);
	struct tarn_mem_socket_stats st;
	ASSERT_EQ(tarn_mem_socket_stats(0, &st), 0);
	uint64_t reserved = st.reserved;
	EXPECT_EQ(tarn_memzone_free(b), 0);
	EXPECT_EQ(tarn_memzone_free(a), 0);
	EXPECT_EQ(tarn_memzone_free(c), 0);
	struct tarn__heap_stats hs;
	tarn__heap_stats(0, &hs);
	EXPECT_EQ(hs.used, 0u);
	EXPECT_EQ(hs.free_blocks, (uint64_t)hs.segments);
	EXPECT_EQ(hs.largest_free, reserved / hs.segments);
	// The whole segment can be handed out again in one piece.
	const struct tarn_memzone *all = tarn_memzone_reserve("all", reserved, 0, 0);
	ASSERT_NE(all, nullptr);
	ASSERT_EQ(tarn_mem_socket_stats(0, &st), 0);
	EXPECT_EQ(st.reserved, reserved) << "should have reused the free block";
	EXPECT_EQ(tarn_memzone_free(all), 0);
}

TEST_F(Mem, MemzoneConcurrent)
{
	std::atomic<int> failures{ 0 };
	std::vector<std::thread> ts;
	for (int t = 0; t < 4; t++) {
		ts.emplace_back([t, &failures] {
			for (int i = 0; i < 200; i++) {
				std::string n = "t" + std::to_string(t) + "_" + std::to_string(i);
				const struct tarn_memzone *mz =
				    tarn_memzone_reserve(n.c_str(), 64 + 64 * (i % 50), 0, 0);
				if (mz == nullptr || !all_zero(mz->addr, mz->len)) {
					failures++;
					continue;
				}
				memset(mz->addr, t + 1, mz->len);
				if (tarn_memzone_lookup(n.c_str()) != mz)
					failures++;
				if (tarn_memzone_free(mz) != 0)
					failures++;
			}
		});
	}
	// Racing reservations of one name: exactly one wins.
	std::atomic<int> won{ 0 };
	std::vector<std::thread> racers;
	for (int t = 0; t < 4; t++)
		racers.emplace_back([&won] {
			if (tarn_memzone_reserve("contended", 64, 0, 0) != nullptr)
				won++;
		});
	for (auto &t : ts)
		t.join();
	for (auto &t : racers)
		t.join();
	EXPECT_EQ(failures.load(), 0);
	EXPECT_EQ(won.load(), 1);
	EXPECT_EQ(tarn_memzone_free(tarn_memzone_lookup("contended")), 0);
	struct tarn_mem_socket_stats st;
	ASSERT_EQ(tarn_mem_socket_stats(0, &st), 0);
	EXPECT_EQ(st.used, 0u);
}

// ---------------------------------------------------------------------------
// tarn_malloc_socket / tarn_free

TEST_F(Mem, MallocFree)
{
	void *p = tarn_malloc_socket(1000, 0, 0);
	ASSERT_NE(p, nullptr);
	EXPECT_EQ((uintptr_t)p % TARN_CACHE_LINE, 0u);
	EXPECT_TRUE(all_zero(p, 1000));
	memset(p, 0xee, 1000);
	EXPECT_EQ(tarn_mem_socket_of(p), 0);
	EXPECT_EQ(tarn_mem_socket_of((char *)p + 999), 0);
	struct tarn_mem_socket_stats st;
	ASSERT_EQ(tarn_mem_socket_stats(0, &st), 0);
	EXPECT_GE(st.used, 1000u);
	tarn_free(p);
	ASSERT_EQ(tarn_mem_socket_stats(0, &st), 0);
	EXPECT_EQ(st.used, 0u);
	tarn_free(nullptr);
	void *q = tarn_malloc_socket(1000, 0, TARN_SOCKET_ANY);
	ASSERT_NE(q, nullptr);
	EXPECT_TRUE(all_zero(q, 1000));
	EXPECT_EQ(tarn_mem_socket_of(q), tarn_socket_id());
	tarn_free(q);
}

TEST_F(Mem, MallocBadArguments)
{
	EXPECT_EQ(tarn_malloc_socket(0, 0, 0), nullptr);
	EXPECT_EQ(tarn_errno, EINVAL);
	EXPECT_EQ(tarn_malloc_socket(64, 3, 0), nullptr);
	EXPECT_EQ(tarn_errno, EINVAL);
	EXPECT_EQ(tarn_malloc_socket(64, 0, (int)tarn_socket_count()), nullptr);
	EXPECT_EQ(tarn_errno, EINVAL);
	EXPECT_EQ(tarn_malloc_socket(64, 0, -5), nullptr);
	EXPECT_EQ(tarn_errno, EINVAL);
	EXPECT_EQ(tarn_malloc_socket((size_t)1 << 46, 0, 0), nullptr);
	EXPECT_EQ(tarn_errno, ENOMEM);
	EXPECT_EQ(tarn_malloc_socket(SIZE_MAX, 0, 0), nullptr);
	EXPECT_EQ(tarn_errno, ENOMEM);
}

TEST_F(Mem, MallocAlignments)
{
	std::vector<void *> ptrs;
	for (unsigned k = 0; k <= 22; k++) {
		size_t align = (size_t)1 << k;
		void *p = tarn_malloc_socket(72, align, 0);
		ASSERT_NE(p, nullptr) << align;
		EXPECT_EQ((uintptr_t)p % align, 0u);
		EXPECT_TRUE(all_zero(p, 72));
		memset(p, 1, 72);
		ptrs.push_back(p);
	}
	for (void *p : ptrs)
		tarn_free(p);
	struct tarn_mem_socket_stats st;
	ASSERT_EQ(tarn_mem_socket_stats(0, &st), 0);
	EXPECT_EQ(st.used, 0u);
}

TEST_F(Mem, FreeRejectsForeignAndDoubleFree)
{
	LogCapture log;
	int on_stack = 0;
	tarn_free(&on_stack);
	void *p = tarn_malloc_socket(128, 0, 0);
	ASSERT_NE(p, nullptr);
	tarn_free((char *)p + 64); // inside tarn memory, not a block start
	tarn_free(p);
	tarn_free(p); // double free
	auto errs = log.at_most(TARN_LOG_ERR);
	ASSERT_EQ(errs.size(), 3u) << log.all();
	EXPECT_NE(errs[2].msg.find("double free"), std::string::npos) << errs[2].msg;
	struct tarn_mem_socket_stats st;
	ASSERT_EQ(tarn_mem_socket_stats(0, &st), 0);
	EXPECT_EQ(st.used, 0u);
	// A memzone's address is not a malloc block either.
	const struct tarn_memzone *mz = tarn_memzone_reserve("notmalloc", 4096, 0, 0);
	ASSERT_NE(mz, nullptr);
	tarn_free(mz->addr);
	EXPECT_EQ(log.at_most(TARN_LOG_ERR).size(), 4u);
	EXPECT_EQ(tarn_memzone_free(mz), 0);
}

TEST_F(Mem, MallocStress)
{
	std::vector<std::thread> ts;
	std::atomic<int> bad{ 0 };
	for (int t = 0; t < 4; t++)
		ts.emplace_back([t, &bad] {
			std::vector<std::pair<unsigned char *, size_t>> live;
			unsigned seed = 1234 + t;
			for (int i = 0; i < 3000; i++) {
				if (live.empty() || rand_r(&seed) % 3 != 0) {
					size_t sz = 1 + rand_r(&seed) % 5000;
					auto *p = (unsigned char *)tarn_malloc_socket(
					    sz, (size_t)64 << (rand_r(&seed) % 4), 0);
					if (p == nullptr || !all_zero(p, sz)) {
						bad++;
						continue;
					}
					memset(p, t + 1, sz);
					live.push_back({ p, sz });
				} else {
					size_t k = rand_r(&seed) % live.size();
					for (size_t j = 0; j < live[k].second; j++)
						if (live[k].first[j] != t + 1) {
							bad++;
							break;
						}
					tarn_free(live[k].first);
					live[k] = live.back();
					live.pop_back();
				}
			}
			for (auto &l : live)
				tarn_free(l.first);
		});
	for (auto &t : ts)
		t.join();
	EXPECT_EQ(bad.load(), 0);
	struct tarn_mem_socket_stats st;
	ASSERT_EQ(tarn_mem_socket_stats(0, &st), 0);
	EXPECT_EQ(st.used, 0u);
}

// ---------------------------------------------------------------------------
// addresses

TEST_F(Mem, Virt2Iova)
{
	int on_stack = 0;
	EXPECT_EQ(tarn_mem_virt2iova(&on_stack), TARN_BAD_IOVA);
	EXPECT_EQ(tarn_mem_virt2iova(nullptr), TARN_BAD_IOVA);
	const struct tarn_memzone *mz = tarn_memzone_reserve("iova", 3u << 20, 0, 0);
	ASSERT_NE(mz, nullptr);
	EXPECT_EQ(mz->iova, tarn_mem_virt2iova(mz->addr));
	// Within one page the IOVA moves with the address.
	uintptr_t a = (uintptr_t)mz->addr;
	uintptr_t page_end = (a | (mz->page_size - 1)) + 1;
	size_t span = page_end - a;
	if (span > mz->len)
		span = mz->len;
	EXPECT_EQ(tarn_mem_virt2iova((char *)mz->addr + span - 1), mz->iova + span - 1);
	if (mz->page_size == TARN__PAGE_4K || !tarn_mem_iova_is_pa()) {
		EXPECT_EQ(mz->iova, (tarn_iova_t)a) << "virtual IOVA expected";
	} else {
		EXPECT_NE(mz->iova, (tarn_iova_t)a) << "physical IOVA expected";
	}
	EXPECT_EQ(tarn_memzone_free(mz), 0);
}

TEST_F(Mem, SocketOfAndNodeOf)
{
	int on_stack = 0;
	EXPECT_EQ(tarn_mem_socket_of(&on_stack), -EINVAL);
	EXPECT_EQ(tarn_mem_socket_of(nullptr), -EINVAL);
	const struct tarn_memzone *mz = tarn_memzone_reserve("sock", 8192, 0, 0);
	ASSERT_NE(mz, nullptr);
	EXPECT_EQ(tarn_mem_socket_of(mz->addr), 0);
	EXPECT_EQ(tarn_mem_socket_of((char *)mz->addr + mz->len - 1), 0);
	EXPECT_EQ(tarn_mem_node_of(mz->addr), 0);
	EXPECT_EQ(tarn_mem_node_of(nullptr), -EFAULT);
	// An unmapped address.
	void *hole = mmap(nullptr, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(hole, MAP_FAILED);
	munmap(hole, 4096);
	EXPECT_LT(tarn_mem_node_of(hole), 0);
	EXPECT_EQ(tarn_memzone_free(mz), 0);
}

// ---------------------------------------------------------------------------
// statistics and dump

TEST_F(Mem, StatsArguments)
{
	struct tarn_mem_socket_stats st;
	EXPECT_EQ(tarn_mem_socket_stats(0, nullptr), -EINVAL);
	EXPECT_EQ(tarn_mem_socket_stats(-2, &st), -EINVAL);
	EXPECT_EQ(tarn_mem_socket_stats((int)tarn_socket_count(), &st), -EINVAL);
	EXPECT_EQ(tarn_mem_socket_stats(TARN_SOCKET_ANY, &st), 0);
	EXPECT_EQ(st.socket, tarn_socket_id());
	// Before any segment, the backend the socket would use is named.
	EXPECT_NE(st.backend, nullptr);
	EXPECT_EQ(st.segments, 0u);
}

TEST_F(Mem, Dump)
{
	const struct tarn_memzone *mz = tarn_memzone_reserve("dumped_zone", 5000, 0, 0);
	ASSERT_NE(mz, nullptr);
	char *buf = nullptr;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	tarn_mem_dump(f);
	fclose(f);
	std::string s(buf, len);
	free(buf);
	struct tarn_mem_socket_stats st;
	ASSERT_EQ(tarn_mem_socket_stats(0, &st), 0);
	EXPECT_NE(s.find("socket 0: backend " + std::string(st.backend)), std::string::npos) << s;
	EXPECT_NE(s.find("kB pages"), std::string::npos) << s;
	EXPECT_NE(s.find(std::to_string(st.pages) + " pages"), std::string::npos) << s;
	EXPECT_NE(s.find("reserved"), std::string::npos) << s;
	EXPECT_NE(s.find("used"), std::string::npos) << s;
	EXPECT_NE(s.find("memzones: 1"), std::string::npos) << s;
	EXPECT_NE(s.find("dumped_zone"), std::string::npos) << s;
	EXPECT_EQ(tarn_memzone_free(mz), 0);
}

// ---------------------------------------------------------------------------
// backends, one at a time

class Backend : public MemInit, public ::testing::WithParamInterface<const char *>
{
};

TEST_P(Backend, ServesSocketMemAndGrowth)
{
	std::string name = GetParam();
	bool huge = name == "hugetlbfs" || name == "memfd" || name == "anon-hugetlb";
	struct tarn_config cfg = test_config();
	if (huge) {
		NEED_HUGEPAGES(8);
		cfg.huge_policy = TARN_HUGE_REQUIRE;
	}
	if (name == "hugetlbfs") {
		std::string m = HugeEnv::mount_dir();
		if (m.empty())
			GTEST_SKIP() << "no hugetlbfs mount (root mounts one for the suite)";
		if (access(m.c_str(), W_OK) != 0)
			GTEST_SKIP() << m << " is not writable";
		snprintf(cfg.huge_dir, sizeof(cfg.huge_dir), "%s", m.c_str());
	}
	if (name == "thp" && !tarn__thp_usable())
		GTEST_SKIP() << "transparent huge pages disabled";
	ASSERT_EQ(tarn__mem_force_backend(name.c_str()), 0);
	cfg.socket_mem_mb[0] = 4;
	LogCapture log;
	ASSERT_EQ(tarn_init(&cfg), 0) << log.all();
	struct tarn_mem_socket_stats st;
	ASSERT_EQ(tarn_mem_socket_stats(0, &st), 0);
	EXPECT_STREQ(st.backend, name.c_str());
	EXPECT_EQ(st.page_size, huge ? tarn_hugepage_default_size() : TARN__PAGE_4K);
	if (name == "hugetlbfs") {
		auto files = files_with_prefix(cfg.huge_dir, "tarntest.tarnseg.");
		ASSERT_EQ(files.size(), 1u);
		std::string f = std::string(cfg.huge_dir) + "/" + files[0];
		struct stat sb;
		ASSERT_EQ(stat(f.c_str(), &sb), 0);
		EXPECT_EQ(sb.st_mode & 0777, 0600u);
		EXPECT_EQ(files[0], "tarntest.tarnseg." + std::to_string(getpid()) + ".0.0");
		EXPECT_EQ(files[0].find("map_"), std::string::npos);
		// Held with a shared lock: an exclusive one cannot be taken.
		int fd = open(f.c_str(), O_RDONLY);
		ASSERT_GE(fd, 0);
		EXPECT_NE(flock(fd, LOCK_EX | LOCK_NB), 0);
		close(fd);
	}
	const struct tarn_memzone *a = tarn_memzone_reserve("in_init", 1u << 20, 0, 0);
	ASSERT_NE(a, nullptr);
	EXPECT_EQ(tarn_mem_node_of(a->addr), 0);
	const struct tarn_memzone *b = tarn_memzone_reserve("grown", 5u << 20, 0, 0);
	ASSERT_NE(b, nullptr) << log.all();
	ASSERT_EQ(tarn_mem_socket_stats(0, &st), 0);
	EXPECT_EQ(st.segments, 2u);
	EXPECT_TRUE(all_zero(b->addr, b->len));
	memset(b->addr, 1, b->len);
	if (huge && tarn_mem_iova_is_pa()) {
		EXPECT_NE(b->iova, (tarn_iova_t)(uintptr_t)b->addr);
	} else {
		EXPECT_EQ(b->iova, (tarn_iova_t)(uintptr_t)b->addr);
	}
	EXPECT_EQ(tarn_cleanup(), 0);
	if (name == "hugetlbfs") {
		EXPECT_TRUE(files_with_prefix(cfg.huge_dir, "tarntest").empty());
	}
}

INSTANTIATE_TEST_SUITE_P(Tiers, Backend,
                         ::testing::Values("hugetlbfs", "memfd", "anon-hugetlb", "thp", "4k"),
                         [](const ::testing::TestParamInfo<const char *> &i) {
	                         std::string s = i.param;
	                         for (auto &c : s)
		                         if (c == '-')
			                         c = '_';
	                         return s;
                         });

TEST_F(MemInit, ForceBackendRejectsUnknown)
{
	EXPECT_EQ(tarn__mem_force_backend("nope"), -EINVAL);
	EXPECT_EQ(tarn__mem_force_backend(nullptr), 0);
}

// ---------------------------------------------------------------------------
// policies

TEST_F(MemInit, RequireWithoutHugepagesFailsWithOneLine)
{
	if (tarn_hugepage_default_size() == 0)
		GTEST_SKIP() << "the kernel offers no hugepages";
	HugeGrab grab; // every free hugepage, so that none is left
	ASSERT_EQ(huge_free(0), 0) << "could not take every free hugepage";
	struct tarn_config cfg = test_config();
	cfg.huge_policy = TARN_HUGE_REQUIRE;
	cfg.socket_mem_mb[0] = 16;
	{
		LogCapture log;
		EXPECT_EQ(tarn_init(&cfg), -ENOMEM);
		EXPECT_FALSE(tarn_initialized());
		auto errs = log.at_most(TARN_LOG_WARNING);
		ASSERT_EQ(errs.size(), 1u) << log.all();
		const std::string &m = errs[0].msg;
		EXPECT_EQ(errs[0].comp, "mem");
		uint64_t need = (16ull << 20) / tarn_hugepage_default_size();
		EXPECT_NE(m.find(std::to_string(need) + " hugepages"), std::string::npos) << m;
		EXPECT_NE(m.find("node 0"), std::string::npos) << m;
		std::string cmd = "echo " + std::to_string(huge_total(0) + (long)need) + " > " +
		                  huge_dir_of(0) + "/nr_hugepages";
		EXPECT_NE(m.find(cmd), std::string::npos) << m << "\nexpected: " << cmd;
	}
	// No --socket-mem: init works, the first reservation fails the same way.
	cfg.socket_mem_mb[0] = 0;
	ASSERT_EQ(tarn_init(&cfg), 0);
	{
		LogCapture log;
		EXPECT_EQ(tarn_memzone_reserve("req", 4096, 0, 0), nullptr);
		EXPECT_EQ(tarn_errno, ENOMEM);
		EXPECT_EQ(tarn_malloc_socket(4096, 0, 0), nullptr);
		EXPECT_EQ(tarn_errno, ENOMEM);
		auto errs = log.at_most(TARN_LOG_WARNING);
		ASSERT_EQ(errs.size(), 2u) << log.all();
		EXPECT_NE(errs[0].msg.find("nr_hugepages"), std::string::npos) << errs[0].msg;
	}
}

TEST_F(MemInit, PreferFallsBackAndSaysSoOnce)
{
	if (tarn_hugepage_default_size() == 0)
		GTEST_SKIP() << "the kernel offers no hugepages";
	HugeGrab grab;
	ASSERT_EQ(huge_free(0), 0) << "could not take every free hugepage";
	struct tarn_config cfg = test_config();
	cfg.huge_policy = TARN_HUGE_PREFER;
	cfg.socket_mem_mb[0] = 8;
	LogCapture log;
	ASSERT_EQ(tarn_init(&cfg), 0) << log.all();
	struct tarn_mem_socket_stats st;
	ASSERT_EQ(tarn_mem_socket_stats(0, &st), 0);
	EXPECT_TRUE(strcmp(st.backend, "thp") == 0 || strcmp(st.backend, "4k") == 0) << st.backend;
	EXPECT_GE(st.reserved, 8u << 20);
	// Growth falls back too, without another warning.
	ASSERT_NE(tarn_memzone_reserve("pf1", 16u << 20, 0, 0), nullptr);
	ASSERT_NE(tarn_memzone_reserve("pf2", 16u << 20, 0, 0), nullptr);
	auto warns = log.at_most(TARN_LOG_WARNING);
	ASSERT_EQ(warns.size(), 1u) << log.all();
	EXPECT_EQ(warns[0].level, TARN_LOG_WARNING);
	EXPECT_NE(warns[0].msg.find("nr_hugepages"), std::string::npos) << warns[0].msg;
	EXPECT_NE(warns[0].msg.find("normal pages"), std::string::npos) << warns[0].msg;
}

TEST_F(MemInit, NoHugeUsesNormalPages)
{
	struct tarn_config cfg = test_config();
	cfg.huge_policy = TARN_HUGE_NONE;
	cfg.socket_mem_mb[0] = 4;
	std::string m = HugeEnv::mount_dir();
	long free_before = huge_free(0);
	LogCapture log;
	ASSERT_EQ(tarn_init(&cfg), 0) << log.all();
	struct tarn_mem_socket_stats st;
	ASSERT_EQ(tarn_mem_socket_stats(0, &st), 0);
	EXPECT_TRUE(strcmp(st.backend, "thp") == 0 || strcmp(st.backend, "4k") == 0) << st.backend;
	EXPECT_EQ(st.page_size, TARN__PAGE_4K);
	EXPECT_EQ(log.at_most(TARN_LOG_WARNING).size(), 0u) << log.all();
	EXPECT_EQ(huge_free(0), free_before) << "--no-huge took hugepages";
	if (!m.empty()) {
		EXPECT_TRUE(files_with_prefix(m, "tarntest").empty());
	}
}

TEST_F(MemInit, HugepagesUsedWhenFree)
{
	NEED_HUGEPAGES(8);
	struct tarn_config cfg = test_config();
	cfg.socket_mem_mb[0] = 8;
	std::string m = HugeEnv::mount_dir();
	if (!m.empty())
		snprintf(cfg.huge_dir, sizeof(cfg.huge_dir), "%s", m.c_str());
	long free_before = huge_free(0);
	LogCapture log;
	ASSERT_EQ(tarn_init(&cfg), 0) << log.all();
	struct tarn_mem_socket_stats st;
	ASSERT_EQ(tarn_mem_socket_stats(0, &st), 0);
	EXPECT_STREQ(st.backend, m.empty() || access(m.c_str(), W_OK) != 0 ? "memfd" : "hugetlbfs");
	EXPECT_EQ(st.page_size, tarn_hugepage_default_size());
	EXPECT_EQ(huge_free(0), free_before - (long)st.pages);
	EXPECT_EQ(log.at_most(TARN_LOG_WARNING).size(), 0u) << log.all();
	EXPECT_EQ(tarn_cleanup(), 0);
	EXPECT_EQ(huge_free(0), free_before) << "hugepages not given back";
}

TEST_F(MemInit, RequireWithLimitedMountLeavesNoFile)
{
	NEED_ROOT();
	NEED_HUGEPAGES(8);
	// A hugetlbfs mount that holds 2 pages: the file is created, mapping
	// 8 pages fails, and the file must be gone.
	char dir[] = "/tmp/tarn-test-small.XXXXXX";
	ASSERT_NE(mkdtemp(dir), nullptr);
	std::string opt = "size=" + std::to_string(2 * tarn_hugepage_default_size());
	if (mount("none", dir, "hugetlbfs", 0, opt.c_str()) != 0) {
		rmdir(dir);
		GTEST_SKIP() << "cannot mount hugetlbfs: " << strerror(errno);
	}
	struct tarn_config cfg = test_config();
	cfg.huge_policy = TARN_HUGE_REQUIRE;
	cfg.socket_mem_mb[0] = 16;
	snprintf(cfg.huge_dir, sizeof(cfg.huge_dir), "%s", dir);
	tarn__mem_force_backend("hugetlbfs");
	{
		LogCapture log;
		EXPECT_EQ(tarn_init(&cfg), -ENOMEM) << log.all();
	}
	EXPECT_TRUE(files_with_prefix(dir, "").size() <= 2u); // "." and ".."
	EXPECT_TRUE(files_with_prefix(dir, "tarntest").empty());
	// Unforced, the mount's limit is that backend's: memfd still serves
	// hugepages instead of falling back to normal pages.
	tarn__mem_force_backend(nullptr);
	{
		LogCapture log;
		ASSERT_EQ(tarn_init(&cfg), 0) << log.all();
		struct tarn_mem_socket_stats st;
		ASSERT_EQ(tarn_mem_socket_stats(0, &st), 0);
		EXPECT_STREQ(st.backend, "memfd");
		EXPECT_EQ(tarn_cleanup(), 0);
	}
	EXPECT_TRUE(files_with_prefix(dir, "tarntest").empty());
	umount(dir);
	rmdir(dir);
}

// ---------------------------------------------------------------------------
// hugetlbfs file hygiene

// A pid that is not running.
pid_t dead_pid()
{
	pid_t pid = fork();
	if (pid == 0)
		_exit(0);
	waitpid(pid, nullptr, 0);
	return pid;
}

void touch(const std::string &path)
{
	int fd = open(path.c_str(), O_CREAT | O_WRONLY, 0600);
	ASSERT_GE(fd, 0) << path << ": " << strerror(errno);
	close(fd);
}

// The cleaner itself, on any directory (no root needed).
TEST(MemStale, CleanerRemovesOnlyUnlockedFilesOfItsPrefix)
{
	char dir[] = "/tmp/tarn-test-stale.XXXXXX";
	ASSERT_NE(mkdtemp(dir), nullptr);
	std::string d = dir;
	pid_t dead = dead_pid();
	std::string stale = d + "/tarntest.tarnseg." + std::to_string(dead) + ".0.0";
	std::string held = d + "/tarntest.tarnseg." + std::to_string(dead) + ".0.1";
	std::string other_prefix = d + "/tarnother.tarnseg." + std::to_string(dead) + ".0.0";
	std::string longer_prefix = d + "/tarntest2.tarnseg." + std::to_string(dead) + ".0.0";
	std::string not_ours = d + "/tarntest.rtemap_0";
	std::string malformed = d + "/tarntest.tarnseg.x";
	for (auto &p : { stale, held, other_prefix, longer_prefix, not_ours, malformed })
		touch(p);
	// A live process holds `held` locked.
	int ready[2], go[2];
	ASSERT_EQ(pipe(ready), 0);
	ASSERT_EQ(pipe(go), 0);
	pid_t child = fork();
	if (child == 0) {
		int fd = open(held.c_str(), O_RDONLY);
		char c = flock(fd, LOCK_SH) == 0 ? 'y' : 'n';
		(void)!write(ready[1], &c, 1);
		(void)!read(go[0], &c, 1);
		_exit(0);
	}
	char c = 0;
	ASSERT_EQ(read(ready[0], &c, 1), 1);
	ASSERT_EQ(c, 'y');
	EXPECT_EQ(tarn__huge_clean_stale(dir, "tarntest"), 1);
	EXPECT_NE(access(stale.c_str(), F_OK), 0) << "stale file kept";
	EXPECT_EQ(access(held.c_str(), F_OK), 0) << "locked file removed";
	for (auto &p : { other_prefix, longer_prefix, not_ours, malformed })
		EXPECT_EQ(access(p.c_str(), F_OK), 0) << p << " removed";
	(void)!write(go[1], "x", 1);
	waitpid(child, nullptr, 0);
	// Once its holder is gone, it is stale too.
	EXPECT_EQ(tarn__huge_clean_stale(dir, "tarntest"), 1);
	EXPECT_NE(access(held.c_str(), F_OK), 0);
	EXPECT_EQ(tarn__huge_clean_stale(nullptr, "tarntest"), -EINVAL);
	EXPECT_LT(tarn__huge_clean_stale("/nonexistent-dir", "tarntest"), 0);
	for (int fd : { ready[0], ready[1], go[0], go[1] })
		close(fd);
	for (auto &p : { other_prefix, longer_prefix, not_ours, malformed })
		unlink(p.c_str());
	rmdir(dir);
}

TEST_F(MemInit, InitRemovesStaleFilesInHugetlbfs)
{
	std::string m = HugeEnv::mount_dir();
	if (m.empty() || access(m.c_str(), W_OK) != 0)
		GTEST_SKIP() << "no writable hugetlbfs mount";
	std::string stale = m + "/tarntest.tarnseg." + std::to_string(dead_pid()) + ".0.7";
	touch(stale);
	struct tarn_config cfg = test_config();
	snprintf(cfg.huge_dir, sizeof(cfg.huge_dir), "%s", m.c_str());
	ASSERT_EQ(tarn_init(&cfg), 0);
	EXPECT_NE(access(stale.c_str(), F_OK), 0) << "init kept a stale file";
}

TEST_F(MemInit, CrashedProcessFilesRemovedByNextInit)
{
	NEED_HUGEPAGES(4);
	std::string m = HugeEnv::mount_dir();
	if (m.empty() || access(m.c_str(), W_OK) != 0)
		GTEST_SKIP() << "no writable hugetlbfs mount";
	// A child reserves hugetlbfs memory and dies without tarn_cleanup().
	int rc = in_child([&] {
		struct tarn_config cfg = test_config();
		cfg.socket_mem_mb[0] = 4;
		cfg.huge_policy = TARN_HUGE_REQUIRE;
		snprintf(cfg.huge_dir, sizeof(cfg.huge_dir), "%s", m.c_str());
		tarn_log_set_level(TARN_LOG_ERR);
		tarn__mem_force_backend("hugetlbfs");
		if (tarn_init(&cfg) != 0)
			return 1;
		kill(getpid(), SIGKILL);
		return 2;
	});
	ASSERT_EQ(rc, 128 + SIGKILL);
	ASSERT_EQ(files_with_prefix(m, "tarntest.tarnseg.").size(), 1u)
	    << "the crash left no file?";
	struct tarn_config cfg = test_config();
	snprintf(cfg.huge_dir, sizeof(cfg.huge_dir), "%s", m.c_str());
	LogCapture log;
	ASSERT_EQ(tarn_init(&cfg), 0);
	EXPECT_TRUE(files_with_prefix(m, "tarntest.tarnseg.").empty()) << log.all();
}

TEST_F(MemInit, ExitWithoutCleanupLeavesNoFile)
{
	NEED_HUGEPAGES(4);
	std::string m = HugeEnv::mount_dir();
	if (m.empty() || access(m.c_str(), W_OK) != 0)
		GTEST_SKIP() << "no writable hugetlbfs mount";
	fflush(nullptr);
	pid_t pid = fork();
	if (pid == 0) {
		struct tarn_config cfg = test_config();
		cfg.socket_mem_mb[0] = 4;
		snprintf(cfg.huge_dir, sizeof(cfg.huge_dir), "%s", m.c_str());
		tarn_log_set_level(TARN_LOG_ERR);
		tarn__mem_force_backend("hugetlbfs");
		if (tarn_init(&cfg) != 0)
			_exit(1);
		if (files_with_prefix(m, "tarntest.tarnseg.").size() != 1)
			_exit(2);
		exit(0); // atexit handlers run; tarn_cleanup() is never called
	}
	int st = 0;
	ASSERT_EQ(waitpid(pid, &st, 0), pid);
	ASSERT_TRUE(WIFEXITED(st));
	ASSERT_EQ(WEXITSTATUS(st), 0);
	EXPECT_TRUE(files_with_prefix(m, "tarntest").empty());
}

TEST_F(MemInit, ForkedChildCleanupKeepsParentFiles)
{
	NEED_HUGEPAGES(4);
	std::string m = HugeEnv::mount_dir();
	if (m.empty() || access(m.c_str(), W_OK) != 0)
		GTEST_SKIP() << "no writable hugetlbfs mount";
	struct tarn_config cfg = test_config();
	cfg.socket_mem_mb[0] = 4;
	snprintf(cfg.huge_dir, sizeof(cfg.huge_dir), "%s", m.c_str());
	ASSERT_EQ(tarn__mem_force_backend("hugetlbfs"), 0);
	ASSERT_EQ(tarn_init(&cfg), 0);
	const struct tarn_memzone *mz = tarn_memzone_reserve("parent", 1 << 20, 0, 0);
	ASSERT_NE(mz, nullptr);
	memset(mz->addr, 0x11, mz->len);
	int rc = in_child([] { return tarn_cleanup() == 0 ? 0 : 1; });
	EXPECT_EQ(rc, 0);
	EXPECT_EQ(files_with_prefix(m, "tarntest.tarnseg.").size(), 1u)
	    << "a child's cleanup removed its parent's file";
	EXPECT_EQ(((unsigned char *)mz->addr)[100], 0x11);
	EXPECT_EQ(tarn_cleanup(), 0);
	EXPECT_TRUE(files_with_prefix(m, "tarntest").empty());
}

#ifdef TARN_FAULT_INJECTION
extern "C" {
extern void (*tarn__mem_hugefile_created_hook)(const char *path);
}

// What a stale-file cleaner of another process does at the worst moment:
// it holds LOCK_EX on a file we just created (between our open(O_EXCL) and
// our flock(LOCK_SH)) for a while, then lets go.
struct CleanerHold {
	static inline int fd = -1;
	static inline bool locked = false;
	static inline std::thread release;
	static void hook(const char *path)
	{
		if (fd >= 0)
			return; // the first file only
		fd = open(path, O_RDONLY | O_CLOEXEC);
		locked = fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0;
		release = std::thread([] {
			usleep(30000);
			close(fd);
		});
	}
};

// The creator waits for the cleaner's lock instead of failing its tier
// (it used to try LOCK_SH|LOCK_NB once: the hugetlbfs tier failed for
// nothing, and with the backend required, tarn_init failed).
TEST_F(MemInit, NewHugepageFileLockedByACleanerMeanwhile)
{
	NEED_HUGEPAGES(4);
	std::string m = HugeEnv::mount_dir();
	if (m.empty() || access(m.c_str(), W_OK) != 0)
		GTEST_SKIP() << "no writable hugetlbfs mount";
	struct tarn_config cfg = test_config();
	cfg.socket_mem_mb[0] = 4;
	cfg.huge_policy = TARN_HUGE_REQUIRE;
	snprintf(cfg.huge_dir, sizeof(cfg.huge_dir), "%s", m.c_str());
	ASSERT_EQ(tarn__mem_force_backend("hugetlbfs"), 0);
	tarn__mem_hugefile_created_hook = CleanerHold::hook;
	LogCapture log;
	const int rc = tarn_init(&cfg);
	tarn__mem_hugefile_created_hook = nullptr;
	if (CleanerHold::release.joinable())
		CleanerHold::release.join();
	ASSERT_TRUE(CleanerHold::locked) << "the hook did not hold the new file's lock";
	CleanerHold::fd = -1;
	ASSERT_EQ(rc, 0) << log.all();
	struct tarn_mem_socket_stats st;
	ASSERT_EQ(tarn_mem_socket_stats(0, &st), 0);
	EXPECT_STREQ(st.backend, "hugetlbfs");
	EXPECT_EQ(files_with_prefix(m, "tarntest.tarnseg.").size(), 1u);
	EXPECT_EQ(tarn_cleanup(), 0);
	EXPECT_TRUE(files_with_prefix(m, "tarntest").empty());
}
#endif

// ---------------------------------------------------------------------------
// unprivileged use

TEST_F(MemInit, WorksWithoutPrivileges)
{
	NEED_ROOT(); // to drop them
	int rc = in_child([] {
		if (setgid(65534) != 0 || setuid(65534) != 0)
			return 10;
		struct tarn_config cfg = test_config();
		cfg.socket_mem_mb[0] = 8;
		tarn_log_set_level(TARN_LOG_ERR);
		if (tarn_init(&cfg) != 0)
			return 11;
		const struct tarn_memzone *mz = tarn_memzone_reserve("unpriv", 1 << 20, 0, 0);
		if (mz == nullptr)
			return 12;
		memset(mz->addr, 1, mz->len);
		if (tarn_mem_iova_is_pa())
			return 13; // pagemap hides PFNs from non-root
		if (tarn_mem_virt2iova(mz->addr) != (tarn_iova_t)(uintptr_t)mz->addr)
			return 14;
		void *p = tarn_malloc_socket(100, 0, 0);
		if (p == nullptr)
			return 15;
		tarn_free(p);
		return tarn_cleanup() == 0 ? 0 : 16;
	});
	EXPECT_EQ(rc, 0);
}

} // namespace

// 64 free hugepages of the default size on node 0 when root.
static ::testing::Environment *const huge_env =
    ::testing::AddGlobalTestEnvironment(new HugeEnv(64));
