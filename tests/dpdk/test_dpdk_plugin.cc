// SPDX-License-Identifier: BSD-3-Clause
// The DPDK mempool plugin in process: DPDK's EAL loads the built
// librte_mempool_tarn.so with -d (as any DPDK program would) and the tests
// create rte_mempools on its ops. They check that tarn starts lazily at the
// first pool and stops after the last one, follows the EAL (lcore, file
// prefix, no pinning, no hugepages), says at DPDK's default log level
// which pools it backs, shows them through tarn's telemetry (and DPDK's
// socket points to it), that every object is handed out once
// and get_count is exact (one lcore and two), SP/SC flags, the stack's LIFO
// order and its refusal of foreign pointers, mbuf pools, a tarn that cannot
// start, a store that cannot be created, and an application that owns tarn.
// The program links the shared libtarn, the one the plugin links: one tarn.
#include <gtest/gtest.h>

#include <sched.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <tarn/tarn.h>

#include "../common/test_log.h"

// Fewer rounds under ThreadSanitizer (every access is checked).
#if defined(__SANITIZE_THREAD__)
#define STRESS_ROUNDS 20000
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define STRESS_ROUNDS 20000
#endif
#endif
#ifndef STRESS_ROUNDS
#define STRESS_ROUNDS 200000
#endif

// The plugin to load: scripts/dpdk-safe-plugin.sh (which runs this test)
// sets TARN_DPDK_PLUGIN to a copy DPDK accepts when the build is under a
// world-writable directory such as /tmp; else the one meson built.
static const char *plugin_path()
{
	const char *p = getenv("TARN_DPDK_PLUGIN");
	return p != nullptr && *p != '\0' ? p : TARN_DPDK_PLUGIN;
}

namespace
{

std::string g_prefix; // DPDK's --file-prefix
FILE *g_log;          // DPDK's log stream

// DPDK's log since the last mark().
struct DpdkLog {
	static inline long from;
	static void mark()
	{
		fflush(g_log);
		from = ftell(g_log);
	}
	static std::string since()
	{
		fflush(g_log);
		long end = ftell(g_log);
		std::string s(end > from ? (size_t)(end - from) : 0, '\0');
		fseek(g_log, from, SEEK_SET);
		size_t n = fread(s.data(), 1, s.size(), g_log);
		s.resize(n);
		fseek(g_log, end, SEEK_SET);
		return s;
	}
	static bool contains(const std::string &what)
	{
		return since().find(what) != std::string::npos;
	}
};

// The first two CPUs this process may run on (one twice if there is one).
std::string lcores_arg()
{
	cpu_set_t set;
	std::vector<int> cpus;
	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		for (int c = 0; c < CPU_SETSIZE && cpus.size() < 2; c++)
			if (CPU_ISSET(c, &set))
				cpus.push_back(c);
	if (cpus.empty())
		cpus.push_back(0);
	if (cpus.size() == 1)
		cpus.push_back(cpus[0]);
	return "0@" + std::to_string(cpus[0]) + ",1@" + std::to_string(cpus[1]);
}

class EalEnv : public ::testing::Environment
{
      public:
	void SetUp() override
	{
		g_prefix = "tarn-dpdk-test-" + std::to_string(getpid());
		g_log = tmpfile();
		ASSERT_NE(g_log, nullptr);
		rte_openlog_stream(g_log);
		std::vector<std::string> args = {
			"test_dpdk_plugin",
			"--no-pci",
			"--no-huge",
			"-m",
			"256",
			"--no-shconf",
			"--file-prefix",
			g_prefix,
			"--lcores",
			lcores_arg(),
			"-d",
			plugin_path(),
			"--log-level",
			"pmd.mempool.tarn:info",
			"--log-level",
			"lib.eal:error",
		};
		std::vector<char *> argv;
		for (auto &a : args)
			argv.push_back(a.data());
		argv.push_back(nullptr);
		int rc = rte_eal_init((int)args.size(), argv.data());
		ASSERT_GE(rc, 0) << "rte_eal_init: " << rte_strerror(rte_errno);
	}
	void TearDown() override
	{
		// The EAL leaves its runtime directory (with --no-shconf, empty
		// once its telemetry socket is gone): the test leaves nothing.
		std::string dir = rte_eal_get_runtime_dir();
		rte_eal_cleanup();
		if (dir.find(g_prefix) != std::string::npos)
			std::system(("rm -rf '" + dir + "'").c_str());
	}
};

const auto *const g_env = ::testing::AddGlobalTestEnvironment(new EalEnv);

// A pool of n objects of 64 bytes on `ops`, populated; nullptr (with the
// populate result in *prc) when it fails.
rte_mempool *make_pool(const char *name, unsigned n, unsigned cache, const char *ops,
                       unsigned flags = 0, int *prc = nullptr)
{
	rte_mempool *mp = rte_mempool_create_empty(name, n, 64, cache, 0, SOCKET_ID_ANY, flags);
	EXPECT_NE(mp, nullptr) << name << ": " << rte_strerror(rte_errno);
	if (mp == nullptr)
		return nullptr;
	int rc = rte_mempool_set_ops_byname(mp, ops, nullptr);
	EXPECT_EQ(rc, 0) << "ops " << ops << " not registered";
	if (rc == 0)
		rc = rte_mempool_populate_default(mp);
	if (prc != nullptr)
		*prc = rc;
	if (rc != (int)n) {
		rte_mempool_free(mp);
		return nullptr;
	}
	// Zero every element: the stress test keeps an owner word in it.
	rte_mempool_obj_iter(
	    mp, [](rte_mempool *m, void *, void *obj, unsigned) { memset(obj, 0, m->elt_size); },
	    nullptr);
	return mp;
}

// The tarn store of a pool: "dpdk<seq>.<pool name>".
bool store_name_matches(const char *store, const char *pool)
{
	const char *dot = strchr(store, '.');
	return strncmp(store, "dpdk", 4) == 0 && dot != nullptr && strcmp(dot + 1, pool) == 0;
}

tarn_ring *find_ring(const char *pool)
{
	struct Arg {
		const char *pool;
		tarn_ring *r;
	} a = { pool, nullptr };
	tarn_ring_walk(
	    [](tarn_ring *r, void *p) {
		    auto *x = static_cast<Arg *>(p);
		    if (store_name_matches(tarn_ring_get_name(r), x->pool))
			    x->r = r;
	    },
	    &a);
	return a.r;
}

tarn_mempool *find_stack(const char *pool)
{
	struct Arg {
		const char *pool;
		tarn_mempool *mp;
	} a = { pool, nullptr };
	tarn_mempool_walk(
	    [](tarn_mempool *mp, void *p) {
		    auto *x = static_cast<Arg *>(p);
		    if (store_name_matches(tarn_mempool_name(mp), x->pool))
			    x->mp = mp;
	    },
	    &a);
	return a.mp;
}

// Objects in the tarn store, as tarn counts them.
unsigned store_count(const char *ops, const char *pool)
{
	if (strcmp(ops, "tarn") == 0) {
		tarn_ring *r = find_ring(pool);
		EXPECT_NE(r, nullptr) << "no tarn ring for " << pool;
		return r != nullptr ? tarn_ring_count(r) : ~0u;
	}
	tarn_mempool *s = find_stack(pool);
	EXPECT_NE(s, nullptr) << "no tarn stack for " << pool;
	return s != nullptr ? tarn_mempool_avail_count(s) : ~0u;
}

void flush_cache(rte_mempool *mp)
{
	unsigned lc;
	RTE_LCORE_FOREACH(lc)
	{
		rte_mempool_cache_flush(rte_mempool_default_cache(mp, lc), mp);
	}
}

} // namespace

// ---------------------------------------------------------------------------

TEST(DpdkPlugin, StartsLazilyFollowsTheEalAndStopsAfterTheLastPool)
{
	ASSERT_FALSE(tarn_initialized()) << "tarn must not start before a pool needs it";
	cpu_set_t before, after;
	ASSERT_EQ(sched_getaffinity(0, sizeof(before), &before), 0);
	rte_mempool *mp = rte_mempool_create_empty("lazy", 511, 64, 0, 0, SOCKET_ID_ANY, 0);
	ASSERT_NE(mp, nullptr);
	ASSERT_EQ(rte_mempool_set_ops_byname(mp, "tarn", nullptr), 0);
	EXPECT_FALSE(tarn_initialized()) << "choosing the ops starts nothing";
	DpdkLog::mark();
	ASSERT_EQ(rte_mempool_populate_default(mp), 511);
	ASSERT_TRUE(tarn_initialized());
	EXPECT_TRUE(DpdkLog::contains("started for pool lazy")) << DpdkLog::since();
	EXPECT_TRUE(DpdkLog::contains("pool lazy (511 objects, cache 0) is backed by tarn ring"))
	    << DpdkLog::since();

	const tarn_config *cfg = tarn_config_get();
	ASSERT_NE(cfg, nullptr);
	EXPECT_EQ(std::string(cfg->file_prefix), g_prefix + ".tarn");
	EXPECT_EQ(cfg->huge_policy, TARN_HUGE_NONE) << "the EAL has the hugepages";
	EXPECT_NE(cfg->no_pin_main, 0);
	EXPECT_EQ(cfg->no_telemetry, 0) << "tarn's telemetry shows the DPDK pools";
	char path[256];
	ASSERT_GT(tarn_telemetry_path(path, sizeof(path)), 0);
	EXPECT_NE(std::string(path).find("/" + g_prefix + ".tarn/dpdk_telemetry.v2"),
	          std::string::npos)
	    << path;
	EXPECT_EQ(tarn_lcore_main(), rte_lcore_id()) << "tarn's main lcore is the EAL lcore's id";
	EXPECT_EQ(tarn_lcore_count(), 1u) << "tarn starts no thread of its own";
	ASSERT_EQ(sched_getaffinity(0, sizeof(after), &after), 0);
	EXPECT_TRUE(CPU_EQUAL(&before, &after)) << "tarn must not re-pin an EAL thread";

	DpdkLog::mark();
	rte_mempool_free(mp);
	EXPECT_FALSE(tarn_initialized()) << "the plugin stops the tarn it started";
	EXPECT_TRUE(DpdkLog::contains("pool lazy: store")) << DpdkLog::since();
	EXPECT_TRUE(DpdkLog::contains("511 objects populated")) << DpdkLog::since();
	EXPECT_TRUE(DpdkLog::contains("stopping tarn")) << DpdkLog::since();
}

// ---------------------------------------------------------------------------

struct OpsCase {
	const char *ops;
	unsigned cache;
};

// Without this gtest prints the struct's bytes, padding included
// (uninitialised: valgrind reports it).
void PrintTo(const OpsCase &c, std::ostream *os)
{
	*os << c.ops << "/cache" << c.cache;
}

class DpdkOps : public ::testing::TestWithParam<OpsCase>
{
};

TEST_P(DpdkOps, EveryObjectOnceAndExactCounts)
{
	const OpsCase c = GetParam();
	const unsigned n = 1023;
	rte_mempool *mp = make_pool("once", n, c.cache, c.ops);
	ASSERT_NE(mp, nullptr);
	EXPECT_EQ(rte_mempool_avail_count(mp), n);
	EXPECT_EQ(store_count(c.ops, "once"), n) << "populate puts every object in the store";

	std::vector<void *> objs(n);
	for (unsigned i = 0; i < n; i += 32)
		ASSERT_EQ(rte_mempool_get_bulk(mp, &objs[i], std::min(32u, n - i)), 0) << i;
	std::set<void *> seen(objs.begin(), objs.end());
	EXPECT_EQ(seen.size(), n) << "an object was handed out twice";
	for (void *o : objs)
		ASSERT_EQ(rte_mempool_from_obj(o), mp);
	EXPECT_EQ(rte_mempool_avail_count(mp), 0u);
	EXPECT_EQ(store_count(c.ops, "once"), 0u);
	void *extra;
	EXPECT_EQ(rte_mempool_get(mp, &extra), -ENOBUFS);
	EXPECT_EQ(rte_mempool_avail_count(mp), 0u);

	for (unsigned i = 0; i < n; i += 32)
		rte_mempool_put_bulk(mp, &objs[i], std::min(32u, n - i));
	EXPECT_EQ(rte_mempool_avail_count(mp), n);
	flush_cache(mp);
	EXPECT_EQ(store_count(c.ops, "once"), n) << "get_count is the store's exact count";
	rte_mempool_free(mp);
	EXPECT_FALSE(tarn_initialized());
}

TEST_P(DpdkOps, BulkGetIsAllOrNothing)
{
	const OpsCase c = GetParam();
	const unsigned n = 1023;
	rte_mempool *mp = make_pool("allornothing", n, c.cache, c.ops);
	ASSERT_NE(mp, nullptr);
	std::vector<void *> objs(n);
	ASSERT_EQ(rte_mempool_get_bulk(mp, objs.data(), n - 3), 0);
	EXPECT_EQ(rte_mempool_get_bulk(mp, &objs[n - 3], 4), -ENOBUFS);
	EXPECT_EQ(rte_mempool_avail_count(mp), 3u) << "a failed get takes nothing";
	ASSERT_EQ(rte_mempool_get_bulk(mp, &objs[n - 3], 3), 0);
	EXPECT_EQ(rte_mempool_avail_count(mp), 0u);
	rte_mempool_put_bulk(mp, objs.data(), n);
	EXPECT_EQ(rte_mempool_avail_count(mp), n);
	rte_mempool_free(mp);
}

namespace
{
struct Stress {
	rte_mempool *mp;
	unsigned rounds;
	unsigned errors;  // atomic
	unsigned started; // atomic: lcores that began (release)
	unsigned done;    // atomic: lcores that finished (release)
};

// Take bursts of 1..32, keep up to two of them, check and give back. Each
// object's first word says who holds it: 0 in the pool, lcore + 1 out.
int stress_lcore(void *p)
{
	auto *s = static_cast<Stress *>(p);
	// The start and the end go through these atomics as well as through
	// rte_eal_remote_launch()/rte_eal_wait_lcore(): ThreadSanitizer cannot
	// see DPDK's (uninstrumented) hand-over, and would take the main
	// thread's later use of the pool's memory for a race.
	__atomic_fetch_add(&s->started, 1, __ATOMIC_ACQ_REL);
	while (__atomic_load_n(&s->started, __ATOMIC_ACQUIRE) < 2)
		rte_pause();
	const uint64_t me = rte_lcore_id() + 1;
	void *held[64];
	unsigned nheld = 0;
	for (unsigned i = 0; i < s->rounds; i++) {
		unsigned k = 1 + (i * 7 + (unsigned)me) % 32;
		if (nheld + k <= 64 && rte_mempool_get_bulk(s->mp, &held[nheld], k) == 0) {
			for (unsigned j = nheld; j < nheld + k; j++) {
				uint64_t *w = static_cast<uint64_t *>(held[j]);
				if (__atomic_exchange_n(w, me, __ATOMIC_RELAXED) != 0)
					__atomic_fetch_add(&s->errors, 1, __ATOMIC_RELAXED);
			}
			nheld += k;
		}
		if (nheld > 32 || (i & 1)) {
			for (unsigned j = 0; j < nheld; j++) {
				uint64_t *w = static_cast<uint64_t *>(held[j]);
				if (__atomic_exchange_n(w, 0, __ATOMIC_RELAXED) != me)
					__atomic_fetch_add(&s->errors, 1, __ATOMIC_RELAXED);
			}
			rte_mempool_put_bulk(s->mp, held, nheld);
			nheld = 0;
		}
	}
	for (unsigned j = 0; j < nheld; j++)
		*static_cast<uint64_t *>(held[j]) = 0;
	rte_mempool_put_bulk(s->mp, held, nheld);
	__atomic_fetch_add(&s->done, 1, __ATOMIC_RELEASE);
	return 0;
}
} // namespace

TEST_P(DpdkOps, TwoLcoresHandEachObjectToOneAtATime)
{
	const OpsCase c = GetParam();
	if (rte_lcore_count() < 2)
		GTEST_SKIP() << "needs two EAL lcores";
	// Small, so that the lcores contend for the store and sometimes drain it.
	const unsigned n = c.cache ? 1023 : 127;
	rte_mempool *mp = make_pool("stress", n, c.cache, c.ops);
	ASSERT_NE(mp, nullptr);
	Stress s = { mp, STRESS_ROUNDS, 0, 0, 0 };
	unsigned worker = rte_get_next_lcore(rte_lcore_id(), 1, 0);
	ASSERT_EQ(rte_eal_remote_launch(stress_lcore, &s, worker), 0);
	stress_lcore(&s);
	while (__atomic_load_n(&s.done, __ATOMIC_ACQUIRE) < 2)
		rte_pause();
	rte_eal_wait_lcore(worker);
	EXPECT_EQ(s.errors, 0u) << "an object was held by two lcores at once";
	EXPECT_EQ(rte_mempool_avail_count(mp), n);
	flush_cache(mp);
	EXPECT_EQ(store_count(c.ops, "stress"), n);
	std::vector<void *> objs(n);
	ASSERT_EQ(rte_mempool_get_bulk(mp, objs.data(), n), 0);
	EXPECT_EQ(std::set<void *>(objs.begin(), objs.end()).size(), n);
	rte_mempool_put_bulk(mp, objs.data(), n);
	rte_mempool_free(mp);
}

INSTANTIATE_TEST_SUITE_P(Ops, DpdkOps,
                         ::testing::Values(OpsCase{ "tarn", 0 }, OpsCase{ "tarn", 256 },
                                           OpsCase{ "tarn_stack", 0 },
                                           OpsCase{ "tarn_stack", 256 }),
                         [](const ::testing::TestParamInfo<OpsCase> &i) {
	                         return std::string(i.param.ops) + "_cache" +
	                                std::to_string(i.param.cache);
                         });

// ---------------------------------------------------------------------------

TEST(DpdkPlugin, RingModeFollowsTheSpScFlags)
{
	const struct {
		unsigned flags;
		tarn_ring_sync prod, cons;
	} cases[] = {
		{ 0, TARN_RING_SYNC_MT, TARN_RING_SYNC_MT },
		{ RTE_MEMPOOL_F_SP_PUT, TARN_RING_SYNC_ST, TARN_RING_SYNC_MT },
		{ RTE_MEMPOOL_F_SC_GET, TARN_RING_SYNC_MT, TARN_RING_SYNC_ST },
		{ RTE_MEMPOOL_F_SP_PUT | RTE_MEMPOOL_F_SC_GET, TARN_RING_SYNC_ST,
		  TARN_RING_SYNC_ST },
	};
	for (auto &k : cases) {
		rte_mempool *mp = make_pool("flags", 100, 0, "tarn", k.flags);
		ASSERT_NE(mp, nullptr);
		tarn_ring *r = find_ring("flags");
		ASSERT_NE(r, nullptr);
		EXPECT_EQ(tarn_ring_get_prod_sync(r), k.prod) << "flags " << k.flags;
		EXPECT_EQ(tarn_ring_get_cons_sync(r), k.cons) << "flags " << k.flags;
		EXPECT_EQ(tarn_ring_get_capacity(r), 100u) << "exactly the pool's size";
		rte_mempool_free(mp);
	}
}

TEST(DpdkPlugin, StackIsLifoOnTarnsStackStore)
{
	rte_mempool *mp = make_pool("lifo", 64, 0, "tarn_stack");
	ASSERT_NE(mp, nullptr);
	tarn_mempool *st = find_stack("lifo");
	ASSERT_NE(st, nullptr);
	EXPECT_STREQ(tarn_mempool_ops_name(st), "stack");
	EXPECT_EQ(tarn_mempool_size(st), 64u);
	void *a, *b, *x, *y;
	ASSERT_EQ(rte_mempool_get(mp, &a), 0);
	ASSERT_EQ(rte_mempool_get(mp, &b), 0);
	rte_mempool_put(mp, a);
	rte_mempool_put(mp, b);
	ASSERT_EQ(rte_mempool_get(mp, &x), 0);
	ASSERT_EQ(rte_mempool_get(mp, &y), 0);
	EXPECT_EQ(x, b) << "the object put last comes back first";
	EXPECT_EQ(y, a);
	rte_mempool_put(mp, x);
	rte_mempool_put(mp, y);
	rte_mempool_free(mp);
}

TEST(DpdkPlugin, StackRefusesForeignPointersAndKeepsTheRest)
{
	rte_mempool *mp = make_pool("foreign", 64, 0, "tarn_stack");
	ASSERT_NE(mp, nullptr);
	void *objs[2];
	ASSERT_EQ(rte_mempool_get_bulk(mp, objs, 2), 0);
	alignas(64) static char not_ours[64];
	void *batch[3] = { objs[0], not_ours, objs[1] };
	DpdkLog::mark();
	EXPECT_EQ(rte_mempool_ops_enqueue_bulk(mp, batch, 3), -EINVAL);
	EXPECT_TRUE(DpdkLog::contains("refused: not an object of this pool")) << DpdkLog::since();
	EXPECT_EQ(rte_mempool_avail_count(mp), 64u) << "the pool's own objects went in";
	DpdkLog::mark();
	rte_mempool_free(mp);
	EXPECT_TRUE(DpdkLog::contains("1 foreign put(s) refused")) << DpdkLog::since();
}

TEST(DpdkPlugin, MbufPools)
{
	for (const char *ops : { "tarn", "tarn_stack" }) {
		rte_mempool *mp = rte_pktmbuf_pool_create_by_ops(
		    "mbufs", 1023, 64, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY, ops);
		ASSERT_NE(mp, nullptr) << ops << ": " << rte_strerror(rte_errno);
		rte_mbuf *m[64];
		ASSERT_EQ(rte_pktmbuf_alloc_bulk(mp, m, 64), 0) << ops;
		for (auto *b : m) {
			ASSERT_NE(rte_pktmbuf_append(b, 100), nullptr);
			EXPECT_EQ(b->pool, mp);
		}
		EXPECT_EQ(rte_mempool_in_use_count(mp), 64u);
		rte_pktmbuf_free_bulk(m, 64);
		EXPECT_EQ(rte_mempool_avail_count(mp), 1023u) << ops;
		rte_mempool_free(mp);
	}
}

TEST(DpdkPlugin, TarnThatCannotStartFailsThePoolWithItsErrnoThenRetries)
{
	ASSERT_FALSE(tarn_initialized());
	// Hugepages only, and more of them than any machine has.
	setenv("TARN_HUGE", "require", 1);
	setenv("TARN_SOCKET_MEM", "100000000", 1);
	rte_mempool *mp = rte_mempool_create_empty("nostart", 100, 64, 0, 0, SOCKET_ID_ANY, 0);
	ASSERT_NE(mp, nullptr);
	ASSERT_EQ(rte_mempool_set_ops_byname(mp, "tarn", nullptr), 0);
	DpdkLog::mark();
	int rc = rte_mempool_populate_default(mp);
	unsetenv("TARN_HUGE");
	unsetenv("TARN_SOCKET_MEM");
	EXPECT_LT(rc, 0);
	EXPECT_TRUE(rc == -ENOMEM || rc == -EINVAL) << rc;
	EXPECT_TRUE(DpdkLog::contains("pool nostart: cannot start tarn")) << DpdkLog::since();
	EXPECT_FALSE(tarn_initialized());
	// The same pool, once tarn can start.
	EXPECT_EQ(rte_mempool_populate_default(mp), 100);
	EXPECT_TRUE(tarn_initialized());
	rte_mempool_free(mp);
	EXPECT_FALSE(tarn_initialized());
}

TEST(DpdkPlugin, StoreThatCannotBeCreatedFailsThePool)
{
	for (const char *ops : { "tarn", "tarn_stack" }) {
		// More objects than a tarn ring or the stack's index can take: the
		// store fails before DPDK reserves any memory for the objects.
		rte_mempool *mp =
		    rte_mempool_create_empty("toobig", UINT32_MAX, 64, 0, 0, SOCKET_ID_ANY, 0);
		if (mp == nullptr)
			GTEST_SKIP() << "DPDK refuses a pool of UINT32_MAX objects itself";
		ASSERT_EQ(rte_mempool_set_ops_byname(mp, ops, nullptr), 0);
		DpdkLog::mark();
		int rc = rte_mempool_populate_default(mp);
		EXPECT_LT(rc, 0) << ops;
		EXPECT_TRUE(DpdkLog::contains("pool toobig: cannot create")) << DpdkLog::since();
		EXPECT_FALSE(tarn_initialized()) << "the failed pool gave its hold on tarn back";
		rte_mempool_free(mp);
	}
}

// A reply of tarn's telemetry in this process ("" for null).
std::string tarn_query(const std::string &req)
{
	static char buf[TARN_TELEMETRY_MAX_OUTPUT + 1];
	int n = tarn_telemetry_query(req.c_str(), buf, sizeof(buf));
	EXPECT_GT(n, 0) << req;
	std::string r(buf, n > 0 ? (size_t)n : 0);
	return r.find(":null}") != std::string::npos ? "" : r;
}

// One request on DPDK's own telemetry socket of this process.
std::string dpdk_query(const std::string &req)
{
	std::string path = std::string(rte_eal_get_runtime_dir()) + "/dpdk_telemetry.v2";
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	EXPECT_GE(fd, 0);
	sockaddr_un sun{};
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path.c_str());
	std::string out;
	static char buf[65536];
	if (connect(fd, (sockaddr *)&sun, sizeof(sun)) == 0 && read(fd, buf, sizeof(buf)) > 0 &&
	    write(fd, req.data(), req.size()) == (ssize_t)req.size()) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n > 0)
			out.assign(buf, (size_t)n);
	} else {
		ADD_FAILURE() << "DPDK telemetry at " << path << ": " << strerror(errno);
	}
	close(fd);
	return out;
}

TEST(DpdkPlugin, NoticeLineAndTelemetryShowThePoolsItBacks)
{
	// DPDK's default level for the plugin's logtype: NOTICE.
	int lt = rte_log_register("pmd.mempool.tarn");
	ASSERT_GE(lt, 0);
	int old_level = rte_log_get_level((uint32_t)lt);
	rte_log_set_level((uint32_t)lt, RTE_LOG_NOTICE);
	DpdkLog::mark();
	EXPECT_EQ(dpdk_query("/tarn/socket"), "{\"/tarn/socket\":null}")
	    << "no tarn yet: no socket to point to";
	rte_mempool *mp = make_pool("seen", 1000, 32, "tarn");
	ASSERT_NE(mp, nullptr);
	rte_mempool *st = make_pool("seen_stack", 300, 0, "tarn_stack");
	ASSERT_NE(st, nullptr);
	std::string log = DpdkLog::since();
	std::string pid = std::to_string(getpid());
	EXPECT_NE(log.find("pool seen (1000 objects, cache 32) is backed by tarn ring dpdk"),
	          std::string::npos)
	    << log;
	EXPECT_NE(log.find("telemetry: tarn-top --pid " + pid), std::string::npos) << log;
	EXPECT_NE(log.find("pool seen_stack (300 objects, cache 0) is backed by tarn's lock-free "
	                   "stack dpdk"),
	          std::string::npos)
	    << log;
	EXPECT_EQ(log.find("started for pool"), std::string::npos)
	    << "info lines stay out at the default level: " << log;
	rte_log_set_level((uint32_t)lt, (uint32_t)old_level);

	// tarn's telemetry: the DPDK pools, with DPDK's counts and the store.
	void *objs[100];
	ASSERT_EQ(rte_mempool_get_bulk(mp, objs, 100), 0);
	EXPECT_EQ(tarn_query("/tarn/dpdk/mempool/list"),
	          "{\"/tarn/dpdk/mempool/list\":[\"seen\",\"seen_stack\"]}");
	std::string info = tarn_query("/tarn/dpdk/mempool/info,seen");
	for (const char *k :
	     { "\"name\":\"seen\"", "\"size\":1000", "\"in_use\":100", "\"avail\":900",
	       "\"cache_size\":32", "\"ops\":\"tarn\"", "\"populated\":1000",
	       "\"caches\":[{\"lcore\":", "\"store\":{\"name\":\"dpdk", "\"type\":\"ring\"",
	       "\"capacity\":1000" })
		EXPECT_NE(info.find(k), std::string::npos) << k << " in " << info;
	unsigned cached = 0, count = 0;
	ASSERT_EQ(sscanf(info.c_str() + info.find("\"cached\":"), "\"cached\":%u", &cached), 1);
	ASSERT_EQ(sscanf(info.c_str() + info.find("\"count\":"), "\"count\":%u", &count), 1);
	EXPECT_EQ(cached + count, 900u) << "lcore caches + store == avail: " << info;
	info = tarn_query("/tarn/dpdk/mempool/info,seen_stack");
	EXPECT_NE(info.find("\"type\":\"stack\""), std::string::npos) << info;
	EXPECT_NE(info.find("\"foreign_puts\":0"), std::string::npos) << info;
	EXPECT_EQ(tarn_query("/tarn/dpdk/mempool/info,nosuch"), "");
	EXPECT_EQ(tarn_query("/tarn/dpdk/mempool/info"), "");

	// DPDK's socket says where tarn's is.
	char path[256];
	ASSERT_GT(tarn_telemetry_path(path, sizeof(path)), 0);
	std::string where = dpdk_query("/tarn/socket");
	EXPECT_NE(where.find(std::string("\"path\":\"") + path + "\""), std::string::npos) << where;
	EXPECT_NE(where.find("\"pid\":" + pid), std::string::npos) << where;

	rte_mempool_put_bulk(mp, objs, 100);
	rte_mempool_free(st);
	EXPECT_EQ(tarn_query("/tarn/dpdk/mempool/list"),
	          "{\"/tarn/dpdk/mempool/list\":[\"seen\"]}");
	rte_mempool_free(mp);
	EXPECT_FALSE(tarn_initialized());
	EXPECT_EQ(dpdk_query("/tarn/socket"), "{\"/tarn/socket\":null}");
}

TEST(DpdkPlugin, ApplicationThatStartedTarnKeepsIt)
{
	tarn_config cfg;
	tarn_config_init(&cfg);
	cpu_set_t set;
	ASSERT_EQ(sched_getaffinity(0, sizeof(set), &set), 0);
	int cpu = 0;
	while (!CPU_ISSET(cpu, &set))
		cpu++;
	snprintf(cfg.lcores, sizeof(cfg.lcores), "%u@%d", rte_lcore_id(), cpu);
	cfg.no_pin_main = 1;
	cfg.no_telemetry = 1;
	cfg.huge_policy = TARN_HUGE_NONE;
	snprintf(cfg.file_prefix, sizeof(cfg.file_prefix), "tarn-dpdk-app-%d", (int)getpid());
	ASSERT_EQ(tarn_init(&cfg), 0);
	TestLog::clear();
	tarn_log_set_level(TARN_LOG_INFO);
	tarn_log_set_handler(TestLog::fn, nullptr);
	DpdkLog::mark();
	rte_mempool *mp = make_pool("appowned", 100, 0, "tarn");
	ASSERT_NE(mp, nullptr);
	// Both logs: tarn's (the application's handler) and DPDK's.
	EXPECT_TRUE(
	    TestLog::contains("dpdk: pool appowned (100 objects, cache 0) is backed by tarn ring"))
	    << TestLog::all();
	EXPECT_TRUE(
	    DpdkLog::contains("pool appowned (100 objects, cache 0) is backed by tarn ring"))
	    << DpdkLog::since();
	EXPECT_FALSE(DpdkLog::contains("telemetry: tarn-top")) << "this tarn runs no telemetry";
	EXPECT_FALSE(DpdkLog::contains("started for pool")) << "the plugin must use this tarn";
	rte_mempool_free(mp);
	EXPECT_TRUE(tarn_initialized()) << "tarn belongs to the application";
	tarn_log_set_handler(nullptr, nullptr);
	EXPECT_EQ(tarn_cleanup(), 0);
}
