// SPDX-License-Identifier: BSD-3-Clause
// mempool tests with a thread stopped at an exact point of a store
// operation (the hooked ring build, -DTARN__RING_HOOKS; tests/ring/ring_hooks.h):
// - an RTS store with a consumer preempted right after its head move must
//   still take every put (it used to refuse them: objects lost);
// - a single-producer store must see no second producer when another
//   thread exits, unregisters or flushes its own cache while the producer
//   is preempted in the middle of its enqueue (the exit used to enqueue the
//   thread's cache into the store: both wrote the same slots).
// The stress harness of the stores under preemption is in
// test_mempool_harness.cc.
#include "../ring/ring_hooks.h"
#include "mempool_test.h"

#include <tarn/tarn_ring.h>

#include <cstdio>
#include <thread>
#include <vector>

namespace
{

::testing::Environment *const env =
    ::testing::AddGlobalTestEnvironment(new ringhook::Env("tarn-test-mp-preempt", MpLog::fn));

// Every object back, no refusal logged, and the check (conservation
// included) passes.
void expect_all_back(struct tarn_mempool *mp)
{
	EXPECT_EQ(tarn_mempool_avail_count(mp), tarn_mempool_size(mp));
	EXPECT_EQ(tarn_mempool_in_use_count(mp), 0u);
	EXPECT_EQ(tarn_mempool_check(mp), 0) << MpLog::last();
	EXPECT_FALSE(MpLog::contains("refused")) << MpLog::last();
}

// The sequence of ../shared/repro/rts_overflow.c, with the preempted
// consumer a real thread parked by the hook instead of a head moved by
// hand: X takes 1 object and stops right after its head move; then, while
// the consumer head-tail distance allows new gets to start, a get of h - 1
// (the distance reaches h = the consumer htd_max), their put, a get of
// n - 1 (the last get that may start: the distance goes to h + n - 1) and
// its put, which needs 2n + h - 2 slots. The old 2n-slot store refused that
// put and the pool lost n - 1 objects while every call returned 0.
TEST(MempoolPreempt, RtsStoreTakesEveryPutWithAConsumerPreempted)
{
	for (unsigned n : { 64u, 1000u }) {
		SCOPED_TRACE("n " + std::to_string(n));
		MpLog::clear();
		Pool mp("rts_pre", n, 64, 0, 0, "ring_rts");
		ASSERT_NE(mp.mp, nullptr);
		auto *r = static_cast<struct tarn_ring *>(mp.mp->store);
		const unsigned h = tarn_ring_get_cons_htd_max(r);
		ASSERT_GE(h, 2u);
		ASSERT_LT(h, n);
		EXPECT_GE(tarn_ring_get_capacity(r), 2 * n + h - 2);

		ringhook::Parker pk;
		void *xobj = nullptr;
		int xrc = -1;
		std::thread x([&] {
			ringhook::arm(ringhook::park_at(pk, TARN__RING_HOOK_HEAD, 0, r));
			xrc = tarn_mempool_get(mp, &xobj);
			ringhook::disarm();
		});
		ASSERT_TRUE(pk.wait_parked());

		std::vector<void *> objs(n);
		ASSERT_EQ(tarn_mempool_get_bulk(mp, objs.data(), h - 1), 0);
		EXPECT_EQ(tarn_mempool_put_bulk(mp, objs.data(), h - 1), 0);
		ASSERT_EQ(tarn_mempool_get_bulk(mp, objs.data(), n - 1), 0);
		EXPECT_EQ(tarn_mempool_put_bulk(mp, objs.data(), n - 1), 0);
		// (no count here: the store counts the slots X has not released
		// yet as used, a snapshot with an operation in flight)

		pk.release();
		x.join();
		ASSERT_EQ(xrc, 0);
		EXPECT_EQ(tarn_mempool_put(mp, xobj), 0);
		expect_all_back(mp);
		EXPECT_EQ(tarn_ring_check(r), 0);
	}
}

// The SP stores: a producer P preempted in its enqueue after it read the
// producer head and before it moved it (the MOVE hook), and meanwhile
// another thread gives its cache back. Before, that was an SP enqueue too:
// it read the same producer head, wrote the same slots, P then wrote over
// them, and objects were lost (../shared/repro/spsc_exit.c saw 7184 of 8192
// go, by chance; here it happens every time). Now the thread's objects go
// to the pool's stash.
enum class GiveBack { Exit, Unregister, FlushSelf };

using SpParam = std::tuple<const char *, GiveBack>;

class MempoolPreemptSp : public ::testing::TestWithParam<SpParam>
{
};

TEST_P(MempoolPreemptSp, NoSecondProducerWhileTheProducerIsPreempted)
{
	const char *ops = std::get<0>(GetParam());
	const GiveBack how = std::get<1>(GetParam());
	const unsigned n = 256, cache = 32;
	MpLog::clear();
	Pool mp("sp_pre", n, 64, cache, 0, ops);
	ASSERT_NE(mp.mp, nullptr);
	auto *r = static_cast<struct tarn_ring *>(mp.mp->store);

	// G (the only getter) takes 8 objects; its cache is refilled to half
	// (16), so 8 stay cached.
	void *g_objs[8];
	std::vector<void *> p_objs;
	{
		std::thread g([&] {
			ASSERT_EQ(tarn_mempool_get_bulk(mp, g_objs, 8), 0);
			p_objs.assign(g_objs, g_objs + 8);
			// the cached objects give G something to give back
			ASSERT_GT(tarn_mempool_avail_count(mp) - tarn_ring_count(r), 0u);
		});
		g.join(); // exit: its cache goes back (the case under test too)
	}
	// P, the only putter, puts the 8 objects and more so that its cache
	// flushes into the store; it is parked before its head move.
	std::vector<void *> more(cache);
	ASSERT_EQ(tarn_mempool_get_bulk(mp, more.data(), cache),
	          0); // main: a getter, one at a time
	ringhook::Parker pk;
	int prc = -1;
	std::thread p([&] {
		ASSERT_EQ(tarn_mempool_put_bulk(mp, p_objs.data(), 8), 0); // cached
		ringhook::arm(ringhook::park_at(pk, TARN__RING_HOOK_MOVE, 1, r));
		prc = tarn_mempool_put_bulk(mp, more.data(), cache); // flushes: parks
		ringhook::disarm();
		// P stays registered until the end: its cache goes back at exit
	});
	ASSERT_TRUE(pk.wait_parked());

	// Meanwhile a getter (one at a time: main no longer gets) fills its
	// cache and gives it back the way under test.
	std::thread q([&] {
		if (how == GiveBack::Unregister) {
			ASSERT_GE(tarn_thread_register(), 0);
		}
		void *o[4];
		ASSERT_EQ(tarn_mempool_get_bulk(mp, o, 4), 0);
		ASSERT_EQ(tarn_mempool_put_bulk(mp, o, 4), 0); // cached (Q puts: see below)
		if (how == GiveBack::FlushSelf) {
			EXPECT_GT(tarn_mempool_cache_flush(mp, TARN_MEMPOOL_FLUSH_SELF), 0);
		} else if (how == GiveBack::Unregister) {
			EXPECT_EQ(tarn_thread_unregister(), 0);
		}
	});
	// Q's put above went to its cache (room), not to the store: it is not a
	// producer of the store. Its give-back must not be one either.
	q.join();
	pk.release();
	p.join();
	EXPECT_EQ(prc, 0);
	expect_all_back(mp);
	EXPECT_EQ(tarn_ring_check(r), 0);
}

std::string sp_name(const ::testing::TestParamInfo<SpParam> &i)
{
	static const char *const how[] = { "Exit", "Unregister", "FlushSelf" };
	return std::string(std::get<0>(i.param)) + "_" + how[(int)std::get<1>(i.param)];
}

INSTANTIATE_TEST_SUITE_P(Stores, MempoolPreemptSp,
                         ::testing::Combine(::testing::Values("ring_sp_sc", "ring_sp_mc"),
                                            ::testing::Values(GiveBack::Exit, GiveBack::Unregister,
                                                              GiveBack::FlushSelf)),
                         sp_name);

} // namespace
