// SPDX-License-Identifier: BSD-3-Clause
// The stores under preemption: a stress harness (docs/reliability.md).
//
// For each store kind (ring_mp_mc, ring_sp_sc, ring_sp_mc, ring_mp_sc,
// ring_rts, stack), rounds of 100 to 250 milliseconds, each on a new
// small pool (so that empty, full and wrap-around are hit all the time)
// with a random size, cache size and reserve:
// - more worker threads than CPUs get and put random bulks of 1 up to the
//   pool size, hand objects to each other (an object is often put by
//   another thread than the one that got it), flush their own cache,
//   unregister and register again, and exit (a new worker replaces them);
// - the store's contract is kept the way a program would: for a
//   single-producer store every put call holds one "put" mutex, for a
//   single-consumer store every get call one "get" mutex; nothing else
//   (thread exit, unregistration, FLUSH_SELF) holds anything;
// - the ring's ordering points are hooked (the hooked build,
//   tests/ring/ring_hooks.h): a worker reaching one sometimes yields, sleeps
//   or stops for a while, exactly as if it were preempted there;
// - conservation is checked continuously: every object handed out is
//   marked with its holder, so an object handed out twice is seen at once;
//   and every ~50 ms all workers pause between two calls and the
//   controller checks tarn_mempool_check() (store + caches + stash + handed
//   out - taken back == n) and that the pool's count of objects out is
//   exactly the number the workers hold.
// TARN_HARNESS_SECS sets the seconds per store kind (default 1: the test
// command's share, 0.25 under valgrind; rounds last an eighth of it, 100
// to 250 ms);
// TARN_HARNESS_SEED the random seed (default: from the clock, printed).
// scripts/soak.sh --stores SECONDS runs it for minutes.
#include "../ring/ring_hooks.h"
#include "mempool_test.h"

#include <tarn/tarn_ring.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cerrno>
#include <cinttypes>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <sched.h>
#include <unistd.h>
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#else
#define RUNNING_ON_VALGRIND 0
#endif

namespace
{

::testing::Environment *const env =
    ::testing::AddGlobalTestEnvironment(new ringhook::Env("tarn-test-mp-harness", MpLog::fn));

// A positive number of seconds from the environment, `def` if unset; a
// bad value fails the test (never a silent default).
double env_secs(const char *name, double def)
{
	const char *v = getenv(name);
	if (v == nullptr || *v == '\0')
		return def;
	char *end = nullptr;
	errno = 0;
	const double d = strtod(v, &end);
	if (errno != 0 || *end != '\0' || !(d > 0) || d > 1e6) {
		ADD_FAILURE() << name << "='" << v << "': expected seconds > 0";
		return -1;
	}
	return d;
}

uint64_t harness_seed()
{
	static const uint64_t seed = [] {
		const char *v = getenv("TARN_HARNESS_SEED");
		uint64_t s =
		    v != nullptr && *v != '\0'
		        ? strtoull(v, nullptr, 0)
		        : (uint64_t)std::chrono::steady_clock::now().time_since_epoch().count();
		printf("harness seed %" PRIu64 " (TARN_HARNESS_SEED to repeat)\n", s);
		return s;
	}();
	return seed;
}

unsigned cpus()
{
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof(set), &set) != 0)
		return 1;
	int n = CPU_COUNT(&set);
	return n > 0 ? (unsigned)n : 1u;
}

// Figures of one store kind, summed over its rounds.
struct Figures {
	std::atomic<uint64_t> gets{ 0 }, got_objs{ 0 }, failed_gets{ 0 }, puts{ 0 }, put_objs{ 0 },
	    handoffs{ 0 }, flushes{ 0 }, unregisters{ 0 }, exits{ 0 }, stalls{ 0 }, parks{ 0 },
	    checks{ 0 };
};

// One round: one pool, its workers, the controller (the test's thread).
struct Round {
	struct tarn_mempool *mp = nullptr;
	struct tarn_ring *store = nullptr; // the store's ring, or nullptr (stack)
	unsigned n = 0, max_bulk = 0;
	bool sp = false, sc = false;
	std::mutex put_mu, get_mu; // the SP / SC contract
	Figures *fig = nullptr;

	// holder + 1 of every object (0: in the pool): the continuous check
	std::unique_ptr<std::atomic<uint32_t>[]> holder;
	std::atomic<uint64_t> errors{ 0 };
	std::mutex err_mu;
	std::string first_error;

	// objects handed between workers (and left by workers that exit)
	std::mutex orphan_mu;
	std::vector<void *> orphans;

	// pause protocol
	std::mutex ctl_mu;
	std::condition_variable ctl_cv;
	std::atomic<bool> pause{ false }, stop{ false };
	unsigned running = 0, paused = 0;
	std::atomic<uint64_t> held_by_workers{ 0 };

	void error(const std::string &e)
	{
		if (errors.fetch_add(1) == 0) {
			std::lock_guard<std::mutex> g(err_mu);
			first_error = e;
		}
	}
};

// What a worker does at the ring's ordering points: mostly nothing; now
// and then yield, sleep a little, or stop for a few milliseconds (a thread
// preempted right after its head move, before its tail publication, ...).
struct StallAction {
	Round *rd;
	std::mt19937_64 *rng;
	bool operator()(struct tarn_ring *r, int, int point)
	{
		if (r != rd->store || point == TARN__RING_HOOK_COUNT)
			return true;
		const uint64_t x = (*rng)();
		if ((x & 31) != 0)
			return true;
		rd->fig->stalls++;
		switch ((x >> 5) & 15) {
		case 0:
		case 1:
		case 2:
			// long enough for the others to go round the pool
			rd->fig->parks++;
			std::this_thread::sleep_for(
			    std::chrono::microseconds(500 + (x >> 12) % 3000));
			break;
		case 3:
		case 4:
		case 5:
			std::this_thread::sleep_for(std::chrono::microseconds((x >> 12) % 200));
			break;
		default:
			sched_yield();
			break;
		}
		return true;
	}
};

// Mark objects as held by `who` (they came from the pool) or as back
// (they go to the pool); an object already marked otherwise is an error.
void mark_out(Round &rd, void *const *o, unsigned k, uint32_t who)
{
	for (unsigned i = 0; i < k; i++) {
		const int idx = tarn_mempool_obj_index(rd.mp, o[i]);
		if (idx < 0) {
			rd.error("get handed out " + std::to_string((uintptr_t)o[i]) +
			         ", not an object of the pool");
			continue;
		}
		uint32_t prev = rd.holder[idx].exchange(who + 1);
		if (prev != 0)
			rd.error("object #" + std::to_string(idx) + " handed out to worker " +
			         std::to_string(who) + " while worker " + std::to_string(prev - 1) +
			         " holds it");
		memcpy(o[i], &who, sizeof(who)); // the object is ours: write to it
	}
}

void mark_back(Round &rd, void *const *o, unsigned k)
{
	for (unsigned i = 0; i < k; i++) {
		const int idx = tarn_mempool_obj_index(rd.mp, o[i]);
		if (idx < 0 || rd.holder[idx].exchange(0) == 0)
			rd.error("put of object #" + std::to_string(idx) + ", which nobody holds");
	}
}

int do_get(Round &rd, void **o, unsigned k)
{
	if (rd.sc) {
		std::lock_guard<std::mutex> g(rd.get_mu);
		return tarn_mempool_get_bulk(rd.mp, o, k);
	}
	return tarn_mempool_get_bulk(rd.mp, o, k);
}

int do_put(Round &rd, void *const *o, unsigned k)
{
	if (rd.sp) {
		std::lock_guard<std::mutex> g(rd.put_mu);
		return tarn_mempool_put_bulk(rd.mp, o, k);
	}
	return tarn_mempool_put_bulk(rd.mp, o, k);
}

// Give `k` of the objects `held` back to the pool (the last k).
void give_back(Round &rd, std::vector<void *> &held, unsigned k)
{
	if (k == 0)
		return;
	void **o = held.data() + held.size() - k;
	mark_back(rd, o, k);
	rd.held_by_workers -= k;
	const int rc = do_put(rd, o, k);
	if (rc != 0) {
		rd.error("put of " + std::to_string(k) + " objects failed: " + tarn_strerror(rc));
		return; // they stay counted as lost: the round fails anyway
	}
	rd.fig->puts++;
	rd.fig->put_objs += k;
	held.resize(held.size() - k);
}

// A bulk size: mostly small, sometimes up to the cache, now and then up to
// the whole pool.
unsigned bulk(std::mt19937_64 &rng, unsigned max)
{
	const uint64_t x = rng();
	unsigned lim = (x & 7) < 4 ? 8 : (x & 7) < 6 ? 64 : max;
	if (lim > max)
		lim = max;
	return 1 + (unsigned)((x >> 8) % lim);
}

void worker(Round *rdp, uint32_t id, uint64_t seed, std::atomic<bool> *done)
{
	Round &rd = *rdp;
	std::mt19937_64 rng(seed);
	ringhook::arm(StallAction{ &rd, &rng });
	bool registered = tarn_thread_register() >= 0;
	std::vector<void *> held;
	std::vector<void *> buf(rd.n);
	bool exiting = false;

	while (!rd.stop.load(std::memory_order_relaxed) && !exiting) {
		if (rd.pause.load(std::memory_order_relaxed)) {
			ringhook::disarm(); // no stall while the others wait
			std::unique_lock<std::mutex> g(rd.ctl_mu);
			rd.paused++;
			rd.ctl_cv.notify_all();
			rd.ctl_cv.wait(g, [&] { return !rd.pause.load(); });
			rd.paused--;
			g.unlock();
			ringhook::arm(StallAction{ &rd, &rng });
			continue;
		}
		const uint64_t x = rng() % 1000;
		if (x < 430) { // get
			const unsigned k = bulk(rng, rd.max_bulk);
			const int rc = do_get(rd, buf.data(), k);
			rd.fig->gets++;
			if (rc == 0) {
				rd.held_by_workers += k;
				mark_out(rd, buf.data(), k, id);
				held.insert(held.end(), buf.data(), buf.data() + k);
				rd.fig->got_objs += k;
			} else if (rc == -ENOBUFS) {
				rd.fig->failed_gets++;
			} else {
				rd.error(std::string("get failed: ") + tarn_strerror(rc));
			}
		} else if (x < 900) { // put some or all back
			if (!held.empty())
				give_back(rd, held,
				          (rng() & 1) ? (unsigned)held.size()
				                      : 1 + (unsigned)(rng() % held.size()));
		} else if (x < 960) { // hand some to another worker, or adopt
			std::lock_guard<std::mutex> g(rd.orphan_mu);
			if (!held.empty() && (rng() & 1)) {
				const unsigned k = 1 + (unsigned)(rng() % held.size());
				for (unsigned i = 0; i < k; i++) {
					void *o = held.back();
					held.pop_back();
					const int idx = tarn_mempool_obj_index(rd.mp, o);
					rd.holder[idx].store(UINT32_MAX); // in transit
					rd.orphans.push_back(o);
				}
				rd.fig->handoffs++;
			} else {
				while (!rd.orphans.empty()) {
					void *o = rd.orphans.back();
					rd.orphans.pop_back();
					const int idx = tarn_mempool_obj_index(rd.mp, o);
					if (rd.holder[idx].exchange(id + 1) != UINT32_MAX)
						rd.error("an orphan was not in transit");
					held.push_back(o);
				}
			}
		} else if (x < 980) { // flush the own cache
			if (tarn_mempool_cache_flush(rd.mp, TARN_MEMPOOL_FLUSH_SELF) < 0)
				rd.error("FLUSH_SELF failed");
			rd.fig->flushes++;
		} else if (x < 993) { // unregister, register again
			if (registered) {
				if (tarn_thread_unregister() != 0)
					rd.error("unregister failed");
				rd.fig->unregisters++;
			}
			registered = tarn_thread_register() >= 0;
		} else { // exit: what we hold goes to the others
			exiting = true;
		}
	}
	// What the thread still holds: back to the pool at the end of the
	// round, to the orphans on exit (the thread's cache goes back when the
	// thread is gone: the case under test).
	if (exiting) {
		std::lock_guard<std::mutex> g(rd.orphan_mu);
		for (void *o : held) {
			rd.holder[tarn_mempool_obj_index(rd.mp, o)].store(UINT32_MAX);
			rd.orphans.push_back(o);
		}
		held.clear();
		rd.fig->exits++;
	} else {
		give_back(rd, held, (unsigned)held.size());
	}
	ringhook::disarm();
	{
		std::lock_guard<std::mutex> g(rd.ctl_mu);
		rd.running--;
		rd.ctl_cv.notify_all();
	}
	done->store(true);
	// returns: tarn's thread-exit hook gives the cache back after this
}

struct WorkerThread {
	std::thread t;
	std::unique_ptr<std::atomic<bool>> done;
};

// Stop the workers between two calls and check conservation exactly.
void quiescent_check(Round &rd, std::vector<WorkerThread> &ws)
{
	std::unique_lock<std::mutex> g(rd.ctl_mu);
	rd.pause = true;
	rd.ctl_cv.wait(g, [&] { return rd.paused == rd.running; });
	g.unlock();
	// the workers that exited are gone for good once joined (their
	// caches given back by then)
	for (auto &w : ws)
		if (w.t.joinable() && w.done->load())
			w.t.join();
	uint64_t orphans;
	{
		std::lock_guard<std::mutex> og(rd.orphan_mu);
		orphans = rd.orphans.size();
	}
	const uint64_t out = rd.held_by_workers.load();
	const int rc = tarn_mempool_check(rd.mp);
	if (rc != 0)
		rd.error("tarn_mempool_check: " + MpLog::last());
	struct tarn_mempool_stats st;
	tarn_mempool_stats(rd.mp, &st);
	if (st.held != (int64_t)out)
		rd.error("the pool counts " + std::to_string(st.held) +
		         " objects out, the workers " + "hold " + std::to_string(out) + " (" +
		         std::to_string(orphans) + " between two of them)");
	if ((uint64_t)tarn_mempool_avail_count(rd.mp) + out != rd.n)
		rd.error("available " + std::to_string(tarn_mempool_avail_count(rd.mp)) +
		         " + held " + std::to_string(out) + " != " + std::to_string(rd.n));
	rd.fig->checks++;
	g.lock();
	rd.pause = false;
	rd.ctl_cv.notify_all();
}

void run_round(const char *ops, unsigned n, unsigned cache, unsigned reserve, bool debug,
               double secs, uint64_t seed, Figures &fig, std::string *err)
{
	Round rd;
	rd.fig = &fig;
	struct tarn_mempool_params p;
	tarn_mempool_params_init(&p);
	p.name = "harness";
	p.n = n;
	p.elt_size = 16;
	p.cache_size = cache;
	p.ops_name = ops;
	p.reserve = reserve;
	p.flags = debug ? TARN_MEMPOOL_F_DEBUG : 0;
	rd.mp = tarn_mempool_create_params(&p);
	if (rd.mp == nullptr) {
		*err = std::string("create: ") + tarn_strerror(tarn_errno);
		return;
	}
	rd.n = n;
	rd.max_bulk = n - reserve;
	rd.sp = strstr(ops, "_sp_") != nullptr;
	rd.sc = strcmp(ops + strlen(ops) - 3, "_sc") == 0;
	rd.store =
	    strncmp(ops, "ring", 4) == 0 ? static_cast<struct tarn_ring *>(rd.mp->store) : nullptr;
	rd.holder.reset(new std::atomic<uint32_t>[n]());

	const unsigned nworkers = 2 * cpus() + 2; // threads outnumber CPUs
	std::vector<WorkerThread> ws;
	uint32_t next_id = 0;
	auto spawn = [&] {
		WorkerThread w;
		w.done.reset(new std::atomic<bool>(false));
		{
			std::lock_guard<std::mutex> g(rd.ctl_mu);
			rd.running++;
		}
		w.t = std::thread(worker, &rd, next_id, seed * 1000003 + next_id, w.done.get());
		next_id++;
		ws.push_back(std::move(w));
	};
	for (unsigned i = 0; i < nworkers; i++)
		spawn();
	const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(secs);
	auto next_check = std::chrono::steady_clock::now() + std::chrono::milliseconds(50);
	while (std::chrono::steady_clock::now() < end && rd.errors == 0) {
		std::this_thread::sleep_for(std::chrono::milliseconds(5));
		unsigned alive = 0;
		for (auto &w : ws) {
			if (w.t.joinable() && w.done->load())
				w.t.join();
			alive += w.t.joinable();
		}
		while (alive++ < nworkers)
			spawn();
		if (std::chrono::steady_clock::now() >= next_check) {
			quiescent_check(rd, ws);
			next_check =
			    std::chrono::steady_clock::now() + std::chrono::milliseconds(50);
		}
	}
	rd.stop = true;
	{
		std::lock_guard<std::mutex> g(rd.ctl_mu);
		rd.ctl_cv.notify_all();
	}
	for (auto &w : ws)
		if (w.t.joinable())
			w.t.join();
	// the orphans go back from here (a putter like any other)
	for (void *o : rd.orphans)
		rd.holder[tarn_mempool_obj_index(rd.mp, o)].store(0);
	rd.held_by_workers -= rd.orphans.size();
	if (!rd.orphans.empty() && do_put(rd, rd.orphans.data(), (unsigned)rd.orphans.size()) != 0)
		rd.error("put of the orphans failed");
	rd.orphans.clear();
	// the controller's own cache, then the final count
	tarn_mempool_cache_flush(rd.mp, TARN_MEMPOOL_FLUSH_SELF);
	if (rd.errors == 0) {
		if (tarn_mempool_check(rd.mp) != 0)
			rd.error("final check: " + MpLog::last());
		else if (!tarn_mempool_full(rd.mp))
			rd.error("final: " + std::to_string(tarn_mempool_avail_count(rd.mp)) +
			         " of " + std::to_string(n) + " available");
		else if (rd.held_by_workers != 0)
			rd.error("the workers' count is off");
	}
	if (rd.errors != 0)
		*err = rd.first_error + " (" + std::to_string(rd.errors.load()) +
		       " error(s); pool " + std::to_string(n) + ", cache " + std::to_string(cache) +
		       ", reserve " + std::to_string(reserve) + (debug ? ", debug" : "") +
		       ", seed " + std::to_string(seed) + ")";
	EXPECT_EQ(tarn_mempool_free(rd.mp, rd.errors == 0 ? 0 : TARN_MEMPOOL_FREE_FORCE), 0);
}

class MempoolHarness : public ::testing::TestWithParam<const char *>
{
};

TEST_P(MempoolHarness, ConservationUnderPreemption)
{
	const char *ops = GetParam();
	// Under valgrind (the test command's memcheck run of every test
	// program) threads run one at a time: a quarter of a second per kind
	// walks every code path for memcheck, without the concurrency.
	const double secs = env_secs("TARN_HARNESS_SECS", RUNNING_ON_VALGRIND ? 0.25 : 1.0);
	ASSERT_GT(secs, 0);
	// rounds: at least 8 pool shapes per kind in the test command's second
	const double round_secs = std::min(0.25, std::max(0.1, secs / 8));
	const uint64_t seed = harness_seed() ^ std::hash<std::string>()(ops);
	std::mt19937_64 rng(seed);
	Figures fig;
	unsigned rounds = 0;
	const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(secs);
	MpLog::clear();
	do {
		// small pools: empty, full and wrap-around all the time
		static const unsigned sizes[] = { 1, 2, 7, 16, 63, 64, 100, 257, 1000 };
		const unsigned n = sizes[rng() % (sizeof(sizes) / sizeof(sizes[0]))];
		const unsigned caches[] = { 0, 1, 4, n / 2, n };
		unsigned cache = caches[rng() % 5];
		if (cache > n)
			cache = n;
		if (cache > TARN_MEMPOOL_CACHE_MAX)
			cache = TARN_MEMPOOL_CACHE_MAX;
		const unsigned reserve = (rng() % 4 == 0) ? n / 8 : 0;
		const bool debug = rng() % 4 == 0; // the out-of-line path for everything
		std::string err;
		const uint64_t round_seed = rng();
		run_round(ops, n, cache, reserve, debug, round_secs, round_seed, fig, &err);
		rounds++;
		ASSERT_TRUE(err.empty()) << ops << ": " << err;
	} while (std::chrono::steady_clock::now() < end);
	EXPECT_FALSE(MpLog::contains("refused")) << MpLog::last();
	printf("harness %-10s %4u rounds, %8" PRIu64 " gets (%" PRIu64 " objs, %" PRIu64
	       " failed), %8" PRIu64 " puts (%" PRIu64 " objs), %6" PRIu64 " handoffs, %5" PRIu64
	       " flushes, %5" PRIu64 " unregisters, %5" PRIu64 " exits, %7" PRIu64
	       " stalls (%" PRIu64 " long), %4" PRIu64 " checks: all objects back\n",
	       ops, rounds, fig.gets.load(), fig.got_objs.load(), fig.failed_gets.load(),
	       fig.puts.load(), fig.put_objs.load(), fig.handoffs.load(), fig.flushes.load(),
	       fig.unregisters.load(), fig.exits.load(), fig.stalls.load(), fig.parks.load(),
	       fig.checks.load());
	RecordProperty("rounds", (int)rounds);
	RecordProperty("checks", (int)fig.checks.load());
}

INSTANTIATE_TEST_SUITE_P(Stores, MempoolHarness,
                         ::testing::Values("ring_mp_mc", "ring_sp_sc", "ring_sp_mc", "ring_mp_sc",
                                           "ring_rts", "stack"),
                         [](const ::testing::TestParamInfo<const char *> &i) {
	                         return std::string(i.param);
                         });

} // namespace
