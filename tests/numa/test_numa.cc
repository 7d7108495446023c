// SPDX-License-Identifier: BSD-3-Clause
// numa: memory asked for socket 1 lies on node 1 - with hugepages and with
// every fallback tier - checked with tarn_mem_node_of() and independently,
// page by page, with move_pages(2) and get_mempolicy(MPOL_F_NODE|MPOL_F_ADDR).
// Pools, mbuf pools and rings lie on the node they were asked for, and lcores
// on both nodes get and put objects of one pool (remote and local) without
// handing an object out twice or losing one. Needs two NUMA nodes: skips
// elsewhere. scripts/numa-vm-test.sh runs it in a two-node VM.
// test_numa_fwd.cc (same binary): tarn-fwd's pool placement.
#include "mem_test.h"

#include <atomic>

#include <numa.h>
#include <numaif.h>

#include <tarn/tarn.h>

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

// The first CPU of `node`, -1 if none.
int cpu_of_node(int node)
{
	for (unsigned c = 0; c < tarn_cpu_count(); c++)
		if (tarn_cpu_socket(c) == node)
			return (int)c;
	return -1;
}

// Pools, mbuf pools and rings asked for socket s lie on node s: the whole
// memzone of each pool (objects, headers), an mbuf's data, every slot of a
// ring.
TEST(Numa, PoolsMbufsAndRingsOnTheAskedNode)
{
	NEED_TWO_NODES();
	struct tarn_config cfg = test_config("tarnnuma");
	LogCapture log;
	ASSERT_EQ(tarn_init(&cfg), 0) << log.all();
	for (int s = 0; s < 2; s++) {
		SCOPED_TRACE("socket " + std::to_string(s));
		std::string n = std::to_string(s);
		struct tarn_mempool *mp = tarn_mempool_create(("np" + n).c_str(), 2047, 256, 32, 0,
		                                              nullptr, nullptr, s, 0);
		ASSERT_NE(mp, nullptr) << tarn_strerror(tarn_errno) << log.all();
		EXPECT_EQ(tarn_mempool_socket(mp), s);
		const struct tarn_memzone *mz = tarn_mempool_memzone(mp);
		ASSERT_NE(mz, nullptr);
		EXPECT_EQ(check_pages(mz->addr, mz->len, s), "");
		// Every object, by itself (they lie inside the memzone: a check that
		// the pool does not carve objects from elsewhere).
		unsigned off = 0;
		for (unsigned i = 0; i < tarn_mempool_size(mp); i++) {
			void *o = tarn_mempool_obj_at(mp, i);
			if (o == nullptr || tarn_mem_node_of(o) != s)
				off++;
		}
		EXPECT_EQ(off, 0u) << "objects not on node " << s;
		EXPECT_EQ(tarn_mempool_free(mp, 0), 0);

		struct tarn_mempool *pp = tarn_pktmbuf_pool_create(("nm" + n).c_str(), 1023, 32, 0,
		                                                   TARN_MBUF_DEFAULT_BUF_SIZE, s);
		ASSERT_NE(pp, nullptr) << tarn_strerror(tarn_errno) << log.all();
		EXPECT_EQ(tarn_mempool_socket(pp), s);
		mz = tarn_mempool_memzone(pp);
		ASSERT_NE(mz, nullptr);
		EXPECT_EQ(check_pages(mz->addr, mz->len, s), "");
		struct tarn_mbuf *m = tarn_pktmbuf_alloc(pp);
		ASSERT_NE(m, nullptr);
		char *data = tarn_pktmbuf_mtod(m, char *);
		memset(data, 0x5a, 1500);
		EXPECT_EQ(check_pages(data, 1500, s), "");
		EXPECT_EQ(check_pages(m, sizeof(*m), s), "");
		tarn_pktmbuf_free(m);
		EXPECT_EQ(tarn_mempool_free(pp, 0), 0);

		struct tarn_ring *r = tarn_ring_create(("nr" + n).c_str(), 1u << 16, s, 0);
		ASSERT_NE(r, nullptr) << tarn_strerror(tarn_errno);
		EXPECT_EQ(r->socket, s);
		EXPECT_EQ(check_pages(r, sizeof(*r) + (size_t)r->size * r->esize, s), "");
		EXPECT_EQ(tarn_ring_free(r), 0);
	}
	EXPECT_EQ(tarn_cleanup(), 0);
}

// One pool on socket 1; lcore 1 (node 0: remote) and lcore 2 (node 1: local)
// get and put its objects at the same time, by bulks of 1 to 32, cached and
// uncached. Each object carries an owner word that a getter must find free:
// an object handed out twice fails the test. At the end every object is back.
// Then mbufs allocated on node 0 from a node-1 pool are filled, passed through
// a ring to node 1, checked and freed there (the cross-node free path).
struct RemoteArgs {
	struct tarn_mempool *mp;
	unsigned rounds;
	std::atomic<unsigned> *dups;
	std::atomic<unsigned> *fails;
	int cpu_node; // the node the lcore ran on (read back by the test)
};

int remote_worker(void *arg)
{
	auto *a = static_cast<RemoteArgs *>(arg);
	const uint32_t me = tarn_lcore_id() + 1;
	void *objs[32];
	uint64_t rng = 0x9e3779b97f4a7c15ull * me;
	a->cpu_node = numa_node_of_cpu(sched_getcpu());
	for (unsigned r = 0; r < a->rounds; r++) {
		rng ^= rng << 13;
		rng ^= rng >> 7;
		rng ^= rng << 17;
		unsigned n = 1 + (unsigned)(rng % 32);
		if (tarn_mempool_get_bulk(a->mp, objs, n) != 0) {
			a->fails->fetch_add(1);
			continue;
		}
		for (unsigned i = 0; i < n; i++) {
			auto *owner = static_cast<std::atomic<uint32_t> *>(objs[i]);
			uint32_t was = owner->exchange(me);
			if (was != 0)
				a->dups->fetch_add(1);
		}
		for (unsigned i = 0; i < n; i++) {
			auto *owner = static_cast<std::atomic<uint32_t> *>(objs[i]);
			uint32_t expect = me;
			if (!owner->compare_exchange_strong(expect, 0))
				a->dups->fetch_add(1);
		}
		tarn_mempool_put_bulk(a->mp, objs, n);
	}
	tarn_mempool_cache_flush(a->mp, TARN_MEMPOOL_FLUSH_SELF);
	return 0;
}

TEST(Numa, RemoteGetPutFromBothNodes)
{
	NEED_TWO_NODES();
	int c0 = cpu_of_node(0), c1 = cpu_of_node(1);
	if (c0 < 0 || c1 < 0)
		GTEST_SKIP() << "no CPU on node 0 or node 1";
	struct tarn_config cfg = test_config("tarnnuma");
	// lcore 0: main; 1 on node 0 (remote to the pool); 2 on node 1 (local).
	snprintf(cfg.lcores, sizeof(cfg.lcores), "0@%d,1@%d,2@%d", c0, c0, c1);
	LogCapture log;
	ASSERT_EQ(tarn_init(&cfg), 0) << log.all();
	ASSERT_EQ(tarn_lcore_socket(1), 0);
	ASSERT_EQ(tarn_lcore_socket(2), 1);
	for (unsigned cache : { 0u, 64u }) {
		SCOPED_TRACE("cache " + std::to_string(cache));
		const unsigned n = 512;
		std::string name = "remote" + std::to_string(cache);
		// The constructor clears every object's owner word.
		struct tarn_mempool *mp = tarn_mempool_create(
		    name.c_str(), n, 64, cache, 0,
		    [](struct tarn_mempool *, void *, void *obj, unsigned) { memset(obj, 0, 64); },
		    nullptr, 1, 0);
		ASSERT_NE(mp, nullptr) << tarn_strerror(tarn_errno) << log.all();
		std::atomic<unsigned> dups{ 0 }, fails{ 0 };
		RemoteArgs a1{ mp, 20000, &dups, &fails, -1 }, a2 = a1;
		ASSERT_EQ(tarn_lcore_launch(1, remote_worker, &a1), 0);
		ASSERT_EQ(tarn_lcore_launch(2, remote_worker, &a2), 0);
		EXPECT_EQ(tarn_lcore_wait_all(), 0);
		EXPECT_EQ(a1.cpu_node, 0) << "lcore 1 did not run on node 0";
		EXPECT_EQ(a2.cpu_node, 1) << "lcore 2 did not run on node 1";
		EXPECT_EQ(dups.load(), 0u) << "objects handed out twice";
		// 2 lcores x (32 held + cache) never exhaust 512 objects.
		EXPECT_EQ(fails.load(), 0u);
		EXPECT_EQ(tarn_mempool_in_use_count(mp), 0u);
		EXPECT_EQ(tarn_mempool_avail_count(mp), n);
		EXPECT_EQ(tarn_mempool_check(mp), 0);
		const struct tarn_memzone *mz = tarn_mempool_memzone(mp);
		EXPECT_EQ(check_pages(mz->addr, mz->len, 1), "");
		EXPECT_EQ(tarn_mempool_free(mp, 0), 0);
	}

	// mbufs: allocated and filled on node 0, freed on node 1.
	struct tarn_mempool *pp =
	    tarn_pktmbuf_pool_create("remote_mb", 1023, 32, 0, TARN_MBUF_DEFAULT_BUF_SIZE, 1);
	ASSERT_NE(pp, nullptr) << tarn_strerror(tarn_errno);
	struct tarn_ring *r = tarn_ring_create("remote_r", 1024, 0, 0);
	ASSERT_NE(r, nullptr);
	static struct tarn_mempool *s_pp;
	static struct tarn_ring *s_r;
	static const unsigned total = 20000;
	s_pp = pp;
	s_r = r;
	ASSERT_EQ(tarn_lcore_launch(
	              1,
	              [](void *) -> int {
		              unsigned sent = 0;
		              while (sent < total) {
			              struct tarn_mbuf *m = tarn_pktmbuf_alloc(s_pp);
			              if (m == nullptr)
				              continue; // all in flight: wait for frees
			              char *d = tarn_pktmbuf_append(m, 256);
			              if (d == nullptr)
				              return -1;
			              memset(d, (int)(sent & 0xff), 256);
			              void *o = m;
			              while (tarn_ring_enqueue_bulk(s_r, &o, 1, nullptr) != 1)
				              ;
			              sent++;
		              }
		              tarn_mempool_cache_flush(s_pp, TARN_MEMPOOL_FLUSH_SELF);
		              return 0;
	              },
	              nullptr),
	          0);
	ASSERT_EQ(
	    tarn_lcore_launch(
	        2,
	        [](void *) -> int {
		        unsigned got = 0, bad = 0;
		        void *objs[32];
		        while (got < total) {
			        unsigned k = tarn_ring_dequeue_burst(s_r, objs, 32, nullptr);
			        for (unsigned i = 0; i < k; i++) {
				        auto *m = static_cast<struct tarn_mbuf *>(objs[i]);
				        const unsigned char *d =
				            tarn_pktmbuf_mtod(m, const unsigned char *);
				        unsigned char want = (unsigned char)((got + i) & 0xff);
				        if (m->pkt_len != 256 || d[0] != want || d[255] != want)
					        bad++;
				        tarn_pktmbuf_free(m);
			        }
			        got += k;
		        }
		        tarn_mempool_cache_flush(s_pp, TARN_MEMPOOL_FLUSH_SELF);
		        return bad == 0 ? 0 : -1;
	        },
	        nullptr),
	    0);
	int rc1 = -1, rc2 = -1;
	EXPECT_EQ(tarn_lcore_wait(1, &rc1), 0);
	EXPECT_EQ(tarn_lcore_wait(2, &rc2), 0);
	EXPECT_EQ(rc1, 0);
	EXPECT_EQ(rc2, 0) << "mbuf data changed between node 0 and node 1";
	EXPECT_EQ(tarn_mempool_in_use_count(pp), 0u);
	EXPECT_EQ(tarn_mempool_check(pp), 0);
	EXPECT_EQ(tarn_ring_free(r), 0);
	EXPECT_EQ(tarn_mempool_free(pp, 0), 0);
	EXPECT_EQ(tarn_cleanup(), 0);
}

} // namespace
