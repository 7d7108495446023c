// SPDX-License-Identifier: BSD-3-Clause
// mempool stress: more threads than cores (every lcore plus plain pthreads)
// getting and putting at random on every store, with and without caches,
// reserve and debug mode. Every object is handed out to one thread at a time
// (each is marked while held), counts add up, and tarn_mempool_check()
// passes afterwards.
#include "mempool_test.h"

#include <tarn/tarn_ring.h>

#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <pthread.h>

namespace
{

#if MP_TEST_SANITIZED
constexpr unsigned kIters = 6000;
#else
constexpr unsigned kIters = 150000;
#endif
constexpr unsigned kPthreads = 4;

struct XorShift {
	uint64_t s;
	explicit XorShift(uint64_t seed) : s(seed * 0x9e3779b97f4a7c15ull + 1)
	{
	}
	uint32_t next()
	{
		s ^= s << 13;
		s ^= s >> 7;
		s ^= s << 17;
		return uint32_t(s >> 11);
	}
};

struct Shared {
	struct tarn_mempool *mp = nullptr;
	unsigned iters = kIters;
	unsigned n = 0;
	unsigned max_hold = 64;
	bool use_reserved = false;
	std::unique_ptr<std::atomic<uint8_t>[]> marks;
	std::atomic<uint64_t> errors{ 0 };
	std::atomic<uint64_t> got{ 0 }, failed{ 0 };
	std::atomic<bool> go{ false };
	std::mutex mu;
	std::string first_error;

	void error(const std::string &e)
	{
		if (errors.fetch_add(1) == 0) {
			std::lock_guard<std::mutex> g(mu);
			first_error = e;
		}
	}
};

struct Worker {
	Shared *sh;
	unsigned id;
};

// Take and give back at random; every object held is marked and stamped.
int stress_loop(void *arg)
{
	Worker *w = static_cast<Worker *>(arg);
	Shared *sh = w->sh;
	XorShift rng(w->id + 1);
	std::vector<void *> held;
	void *objs[32];
	const uint64_t stamp_base = uint64_t(w->id + 1) << 40;
	while (!sh->go.load(std::memory_order_acquire))
		;
	for (unsigned it = 0; it < sh->iters && sh->errors.load(std::memory_order_relaxed) == 0;
	     it++) {
		const unsigned r = rng.next();
		if (held.size() + 32 <= sh->max_hold && (r & 1)) {
			const unsigned k = 1 + (r >> 1) % 32;
			const bool reserved = sh->use_reserved && (r >> 8) % 16 == 0;
			int rc = reserved ? tarn_mempool_get_reserved(sh->mp, objs, k)
			                  : tarn_mempool_get_bulk(sh->mp, objs, k);
			if (rc == -ENOBUFS) {
				sh->failed++;
				continue;
			}
			if (rc != 0) {
				sh->error("get returned " + std::to_string(rc));
				break;
			}
			sh->got += k;
			for (unsigned i = 0; i < k; i++) {
				int idx = tarn_mempool_obj_index(sh->mp, objs[i]);
				if (idx < 0) {
					sh->error("got a pointer that is not an object");
					break;
				}
				if (sh->marks[idx].exchange(1) != 0) {
					sh->error("object #" + std::to_string(idx) +
					          " handed out twice");
					break;
				}
				*static_cast<uint64_t *>(objs[i]) = stamp_base | (uint64_t)idx;
				held.push_back(objs[i]);
			}
		} else if (!held.empty()) {
			unsigned k = 1 + (r >> 1) % 32;
			if (k > held.size())
				k = (unsigned)held.size();
			for (unsigned i = 0; i < k; i++) {
				size_t j = (r >> 7) % held.size();
				objs[i] = held[j];
				held[j] = held.back();
				held.pop_back();
				int idx = tarn_mempool_obj_index(sh->mp, objs[i]);
				if (*static_cast<uint64_t *>(objs[i]) !=
				    (stamp_base | (uint64_t)idx))
					sh->error("object #" + std::to_string(idx) +
					          " written by another thread while held");
				if (sh->marks[idx].exchange(0) != 1)
					sh->error("object #" + std::to_string(idx) +
					          " was not marked");
			}
			if (tarn_mempool_put_bulk(sh->mp, objs, k) != 0)
				sh->error("put failed");
		}
	}
	for (void *o : held) {
		int idx = tarn_mempool_obj_index(sh->mp, o);
		sh->marks[idx].store(0);
	}
	if (!held.empty() && tarn_mempool_put_bulk(sh->mp, held.data(), (unsigned)held.size()) != 0)
		sh->error("final put failed");
	return 0;
}

struct StressCase {
	const char *name;
	const char *ops;
	unsigned n, cache, reserve, flags;
	unsigned iters_div; // fewer iterations where every call is a store op
};

// gtest prints parameters; without this it dumps the struct's bytes,
// padding included (uninitialised, which valgrind reports).
void PrintTo(const StressCase &c, std::ostream *os)
{
	*os << c.name;
}

class MempoolStress : public ::testing::TestWithParam<StressCase>
{
};

TEST_P(MempoolStress, NoDuplicatesCountsExactCheckPasses)
{
	const StressCase &c = GetParam();
	Pool p(c.name, c.n, 64, c.cache, c.flags, c.ops, c.reserve);
	ASSERT_NE(p.mp, nullptr);
	Shared sh;
	sh.mp = p.mp;
	sh.n = c.n;
	sh.use_reserved = c.reserve > 0;
	sh.iters = kIters / (c.iters_div ? c.iters_div : 1);
	sh.marks.reset(new std::atomic<uint8_t>[c.n]);
	for (unsigned i = 0; i < c.n; i++)
		sh.marks[i].store(0);

	// every worker lcore, the main lcore, and plain pthreads: more threads
	// than cores
	std::vector<Worker> workers(TARN_MAX_LCORES + kPthreads + 1);
	unsigned nw = 0;
	std::vector<uint32_t> launched;
	uint32_t id;
	TARN_LCORE_FOREACH_WORKER(id)
	{
		workers[nw] = Worker{ &sh, nw };
		ASSERT_EQ(tarn_lcore_launch(id, stress_loop, &workers[nw]), 0);
		launched.push_back(id);
		nw++;
	}
	std::vector<std::thread> th;
	for (unsigned i = 0; i < kPthreads; i++) {
		workers[nw] = Worker{ &sh, nw };
		Worker *w = &workers[nw];
		th.emplace_back([w] { stress_loop(w); });
		nw++;
	}
	workers[nw] = Worker{ &sh, nw };
	Worker *mine = &workers[nw];
	sh.go.store(true, std::memory_order_release);
	stress_loop(mine);
	for (auto &t : th)
		t.join();
	for (uint32_t l : launched) {
		int ret = -1;
		ASSERT_EQ(tarn_lcore_wait(l, &ret), 0);
		EXPECT_EQ(ret, 0);
	}
	EXPECT_EQ(sh.errors.load(), 0u) << sh.first_error;
	EXPECT_GT(sh.got.load(), 0u);

	// quiescent: everything is back (pthread caches flushed at their exit)
	EXPECT_EQ(tarn_mempool_check(p), 0);
	EXPECT_EQ(tarn_mempool_avail_count(p), c.n);
	EXPECT_TRUE(tarn_mempool_full(p));
	struct tarn_mempool_stats st;
	ASSERT_EQ(tarn_mempool_stats(p, &st), 0);
	EXPECT_EQ(st.get_objs, sh.got.load());
	EXPECT_EQ(st.put_objs, sh.got.load());
	EXPECT_EQ(st.held, 0);
	EXPECT_EQ(st.fails, sh.failed.load());
	EXPECT_LE(st.cache_len_hw, c.cache);
	EXPECT_LE(st.threads, (unsigned)launched.size() + 1u);
	struct tarn_mempool_thread_stats ts[TARN_MAX_LCORES];
	int k = tarn_mempool_thread_stats(p, ts, TARN_MAX_LCORES);
	for (int i = 0; i < k && i < TARN_MAX_LCORES; i++)
		EXPECT_LE(ts[i].cache_len, c.cache);
	if (c.flags & TARN_MEMPOOL_F_DEBUG) {
		EXPECT_EQ(st.dbg_double_put + st.dbg_foreign_put + st.dbg_wrong_pool +
		              st.dbg_overflow + st.dbg_corrupt,
		          0u);
		EXPECT_EQ(tarn_mempool_audit(p, nullptr), 0);
	}
	for (unsigned i = 0; i < c.n; i++)
		ASSERT_EQ(sh.marks[i].load(), 0) << i;
}

INSTANTIATE_TEST_SUITE_P(
    Stores, MempoolStress,
    // The MT ring (ring_mp_mc) stalls when a thread is preempted between
    // reserving and publishing slots: with more threads than cores and
    // every call a store operation, those cases run fewer iterations.
    ::testing::Values(StressCase{ "st-ring-c0", "ring_mp_mc", 600, 0, 0, 0, 8 },
                      StressCase{ "st-ring-c32", "ring_mp_mc", 600, 32, 0, 0, 1 },
                      StressCase{ "st-ring-c512", "ring_mp_mc", 2048, 512, 0, 0, 1 },
                      StressCase{ "st-ring-tight", "ring_mp_mc", 300, 16, 0, 0, 8 },
                      StressCase{ "st-rts-c0", "ring_rts", 600, 0, 0, 0, 1 },
                      StressCase{ "st-rts-tight", "ring_rts", 300, 16, 0, 0, 1 },
                      StressCase{ "st-rts-res", "ring_rts", 600, 16, 50, 0, 1 },
                      StressCase{ "st-stack-c0", "stack", 600, 0, 0, 0, 1 },
                      StressCase{ "st-stack-c32", "stack", 600, 32, 0, 0, 1 },
                      StressCase{ "st-ring-res", "ring_mp_mc", 600, 16, 50, 0, 8 },
                      StressCase{ "st-stack-res", "stack", 600, 8, 50, 0, 1 },
                      StressCase{ "st-ring-debug", "ring_mp_mc", 600, 16, 0, TARN_MEMPOOL_F_DEBUG,
                                  4 },
                      StressCase{ "st-stack-debug", "stack", 600, 0, 20, TARN_MEMPOOL_F_DEBUG, 1 }),
    [](const ::testing::TestParamInfo<StressCase> &i) {
	    std::string s = i.param.name;
	    for (char &ch : s)
		    if (ch == '-')
			    ch = '_';
	    return s;
    });

// ---------------------------------------------------------------------------
// The reserve is exact under concurrency: threads that only take drain the
// pool down to exactly `reserve` objects in the store, and reserved gets
// then take exactly those.

struct Drain {
	struct tarn_mempool *mp;
	pthread_barrier_t *bar;
	std::vector<void *> held;
	unsigned reserved = 0;
	int rc = 0;
};

int drain(void *arg)
{
	Drain *d = static_cast<Drain *>(arg);
	void *o;
	pthread_barrier_wait(d->bar);
	while (tarn_mempool_get(d->mp, &o) == 0)
		d->held.push_back(o);
	pthread_barrier_wait(d->bar); // everybody failed: the reserve is left
	pthread_barrier_wait(d->bar); // main checked
	while (tarn_mempool_get_reserved(d->mp, &o, 1) == 0) {
		d->held.push_back(o);
		d->reserved++;
	}
	pthread_barrier_wait(d->bar);
	return 0;
}

TEST(MempoolStressReserve, ExactUnderConcurrency)
{
	const unsigned N = 4000, R = 123;
	for (const char *ops : { "ring_mp_mc", "ring_rts", "stack" }) {
		Pool p("st-reserve", N, 16, 16, 0, ops, R);
		ASSERT_NE(p.mp, nullptr);
		const unsigned T = 6;
		pthread_barrier_t bar;
		pthread_barrier_init(&bar, nullptr, T + 1);
		std::vector<Drain> d(T);
		std::vector<std::thread> th;
		for (unsigned i = 0; i < T; i++) {
			d[i].mp = p.mp;
			d[i].bar = &bar;
			th.emplace_back([&d, i] { drain(&d[i]); });
		}
		pthread_barrier_wait(&bar);
		pthread_barrier_wait(&bar);
		size_t held = 0;
		for (auto &x : d)
			held += x.held.size();
		struct tarn_mempool_stats st;
		ASSERT_EQ(tarn_mempool_stats(p, &st), 0);
		EXPECT_EQ(held, N - R) << ops;
		EXPECT_EQ(st.cached, 0u) << ops;
		EXPECT_EQ(tarn_mempool_avail_count(p), R) << ops;
		pthread_barrier_wait(&bar);
		pthread_barrier_wait(&bar);
		unsigned reserved = 0;
		for (auto &x : d)
			reserved += x.reserved;
		EXPECT_EQ(reserved, R) << ops;
		EXPECT_TRUE(tarn_mempool_empty(p));
		for (auto &t : th)
			t.join();
		for (auto &x : d)
			ASSERT_EQ(tarn_mempool_put_bulk(p, x.held.data(), (unsigned)x.held.size()),
			          0);
		tarn_mempool_cache_flush(p, TARN_MEMPOOL_FLUSH_SELF);
		EXPECT_TRUE(tarn_mempool_full(p));
		EXPECT_EQ(tarn_mempool_check(p), 0) << ops;
		pthread_barrier_destroy(&bar);
	}
}

// ---------------------------------------------------------------------------
// Debug mode: two threads putting the same object at once -- exactly one
// wins, the other is reported as a double put, the pool stays consistent.

TEST(MempoolStressDebug, RacingDoublePuts)
{
#if MP_TEST_SANITIZED
	const unsigned rounds = 300;
#else
	const unsigned rounds = 3000;
#endif
	for (unsigned cache : { 0u, 8u }) {
		Pool p("st-race", 64, 32, cache, TARN_MEMPOOL_F_DEBUG);
		ASSERT_NE(p.mp, nullptr);
		pthread_barrier_t bar;
		pthread_barrier_init(&bar, nullptr, 3);
		void *volatile obj = nullptr;
		std::atomic<unsigned> ok{ 0 }, refused{ 0 }, other{ 0 };
		auto racer = [&] {
			for (unsigned r = 0; r < rounds; r++) {
				pthread_barrier_wait(&bar); // obj is set
				int rc = tarn_mempool_put(p, obj);
				if (rc == 0)
					ok++;
				else if (rc == -EINVAL)
					refused++;
				else
					other++;
				pthread_barrier_wait(&bar); // both done
			}
		};
		std::thread a(racer), b(racer);
		for (unsigned r = 0; r < rounds; r++) {
			void *o;
			ASSERT_EQ(tarn_mempool_get(p, &o), 0);
			obj = o;
			pthread_barrier_wait(&bar);
			pthread_barrier_wait(&bar);
		}
		a.join();
		b.join();
		EXPECT_EQ(ok.load(), rounds);
		EXPECT_EQ(refused.load(), rounds);
		EXPECT_EQ(other.load(), 0u);
		struct tarn_mempool_stats st;
		ASSERT_EQ(tarn_mempool_stats(p, &st), 0);
		EXPECT_EQ(st.dbg_double_put, rounds);
		EXPECT_TRUE(tarn_mempool_full(p));
		EXPECT_EQ(tarn_mempool_check(p), 0);
		pthread_barrier_destroy(&bar);
	}
}

// ---------------------------------------------------------------------------
// Single-producer / single-consumer stores: one thread only gets, another
// only puts (objects handed over through a ring of their own).

TEST(MempoolStressSpSc, OneGetterOnePutter)
{
	for (unsigned cache : { 0u, 32u }) {
		Pool p("st-spsc", 512, 32, cache, TARN_MEMPOOL_F_SP_PUT | TARN_MEMPOOL_F_SC_GET);
		ASSERT_NE(p.mp, nullptr);
		EXPECT_STREQ(tarn_mempool_ops_name(p), "ring_sp_sc");
		const unsigned total = kIters;
		struct tarn_ring *hand = tarn_ring_create("st-spsc-hand", 1024, TARN_SOCKET_ANY,
		                                          TARN_RING_F_SP_ENQ | TARN_RING_F_SC_DEQ);
		ASSERT_NE(hand, nullptr);
		std::atomic<bool> getter_done{ false }, putter_done{ false };
		std::atomic<unsigned> errors{ 0 };
		std::thread getter([&] {
			unsigned moved = 0;
			void *o[8];
			while (moved < total) {
				if (tarn_mempool_get_bulk(p, o, 8) != 0) {
					std::this_thread::yield();
					continue;
				}
				while (tarn_ring_enqueue_bulk(hand, o, 8, nullptr) == 0)
					std::this_thread::yield();
				moved += 8;
			}
			getter_done = true;
			// our exit flush is a put: wait until the putter is done
			while (!putter_done.load())
				std::this_thread::yield();
		});
		std::thread putter([&] {
			void *o[32];
			for (;;) {
				unsigned k = tarn_ring_dequeue_burst(hand, o, 32, nullptr);
				if (k > 0) {
					if (tarn_mempool_put_bulk(p, o, k) != 0)
						errors++;
				} else if (getter_done.load() && tarn_ring_count(hand) == 0) {
					break;
				} else {
					std::this_thread::yield();
				}
			}
			putter_done = true;
		});
		getter.join();
		putter.join();
		EXPECT_EQ(errors.load(), 0u);
		EXPECT_TRUE(tarn_mempool_full(p));
		EXPECT_EQ(tarn_mempool_check(p), 0);
		EXPECT_EQ(tarn_ring_free(hand), 0);
	}
}

} // namespace
