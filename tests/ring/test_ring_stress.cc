// SPDX-License-Identifier: BSD-3-Clause
// ring stress: more producers and consumers than cores, in every mode.
// Every element is dequeued exactly once, each consumer sees each
// producer's elements in FIFO order (consecutive with one consumer), counts
// and checksums add up, and tarn_ring_check() passes afterwards.
#include "ring_test.h"

#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <algorithm>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <sched.h>

namespace
{

// Elements per producer; sanitizer builds move 1/16 of it.
#if RING_TEST_SANITIZED
constexpr uint64_t kScale = 4;
#else
constexpr uint64_t kScale = 1;
#endif

// Each case stops producing after this many seconds even if its elements
// are not all moved, so a loaded machine cannot stretch the suite; every
// element produced is still checked. A case must move at least kMinMoved.
#if RING_TEST_SANITIZED
constexpr double kDeadline = 3.0;
#else
constexpr double kDeadline = 1.5;
#endif
constexpr uint64_t kMinMoved = 20000;

constexpr unsigned kSeqBits = 40;
constexpr uint64_t kSeqMask = (uint64_t(1) << kSeqBits) - 1;

uint64_t encode(unsigned producer, uint64_t seq)
{
	return (uint64_t(producer + 1) << kSeqBits) | seq;
}

struct StressCase {
	const char *name;
	unsigned flags;
	unsigned producers, consumers;
	unsigned count;   // ring count argument
	unsigned esize;   // 8 or 16 (16: the value and its complement)
	uint64_t total;   // elements moved in all, before scaling
	uint32_t htd_max; // UINT32_MAX: the default
	bool named_calls; // use the mode-named calls instead of the flag-following ones
};

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

constexpr unsigned kMaxBatch = 32;

struct Shared {
	struct tarn_ring *r;
	const StressCase *c;
	uint64_t per_producer;
	uint64_t total;
	std::chrono::steady_clock::time_point deadline;
	std::atomic<uint64_t> consumed{ 0 };
	std::atomic<uint64_t> produced{ 0 };       // added by each producer when done
	std::atomic<unsigned> producers_done{ 0 }; // then this
	std::vector<uint64_t> produced_by;         // per producer, written by it
	std::atomic<uint64_t> errors{ 0 };
	std::atomic<uint64_t> sum_out{ 0 };
	std::atomic<uint64_t> empty_polls{ 0 };
	std::atomic<uint64_t> full_polls{ 0 };
	std::unique_ptr<std::atomic<uint8_t>[]> seen; // [producer * per_producer + seq]
	std::atomic<bool> go{ false };
	char first_error[256] = "";
	std::atomic<bool> have_error{ false };

	void error(const char *fmt, uint64_t a, uint64_t b, uint64_t cc)
	{
		errors.fetch_add(1);
		bool expect = false;
		if (have_error.compare_exchange_strong(expect, true))
			snprintf(first_error, sizeof(first_error), fmt, a, b, cc);
	}
};

unsigned do_enqueue(Shared &sh, const void *objs, unsigned n, bool bulk)
{
	struct tarn_ring *r = sh.r;
	const unsigned es = sh.c->esize;
	if (!sh.c->named_calls) {
		if (es == 8)
			return bulk ? tarn_ring_enqueue_bulk(r, static_cast<void *const *>(objs), n,
			                                     nullptr)
			            : tarn_ring_enqueue_burst(r, static_cast<void *const *>(objs),
			                                      n, nullptr);
		return bulk ? tarn_ring_enqueue_bulk_elem(r, objs, 16, n, nullptr)
		            : tarn_ring_enqueue_burst_elem(r, objs, 16, n, nullptr);
	}
	switch (tarn_ring_get_prod_sync(r)) {
	case TARN_RING_SYNC_ST:
		return bulk ? tarn_ring_sp_enqueue_bulk_elem(r, objs, es, n, nullptr)
		            : tarn_ring_sp_enqueue_burst_elem(r, objs, es, n, nullptr);
	case TARN_RING_SYNC_RTS:
		return bulk ? tarn_ring_mp_rts_enqueue_bulk_elem(r, objs, es, n, nullptr)
		            : tarn_ring_mp_rts_enqueue_burst_elem(r, objs, es, n, nullptr);
	default:
		return bulk ? tarn_ring_mp_enqueue_bulk_elem(r, objs, es, n, nullptr)
		            : tarn_ring_mp_enqueue_burst_elem(r, objs, es, n, nullptr);
	}
}

unsigned do_dequeue(Shared &sh, void *objs, unsigned n, bool bulk)
{
	struct tarn_ring *r = sh.r;
	const unsigned es = sh.c->esize;
	if (!sh.c->named_calls) {
		if (es == 8)
			return bulk ? tarn_ring_dequeue_bulk(r, static_cast<void **>(objs), n,
			                                     nullptr)
			            : tarn_ring_dequeue_burst(r, static_cast<void **>(objs), n,
			                                      nullptr);
		return bulk ? tarn_ring_dequeue_bulk_elem(r, objs, 16, n, nullptr)
		            : tarn_ring_dequeue_burst_elem(r, objs, 16, n, nullptr);
	}
	switch (tarn_ring_get_cons_sync(r)) {
	case TARN_RING_SYNC_ST:
		return bulk ? tarn_ring_sc_dequeue_bulk_elem(r, objs, es, n, nullptr)
		            : tarn_ring_sc_dequeue_burst_elem(r, objs, es, n, nullptr);
	case TARN_RING_SYNC_RTS:
		return bulk ? tarn_ring_mc_rts_dequeue_bulk_elem(r, objs, es, n, nullptr)
		            : tarn_ring_mc_rts_dequeue_burst_elem(r, objs, es, n, nullptr);
	default:
		return bulk ? tarn_ring_mc_dequeue_bulk_elem(r, objs, es, n, nullptr)
		            : tarn_ring_mc_dequeue_burst_elem(r, objs, es, n, nullptr);
	}
}

void producer(Shared &sh, unsigned id)
{
	XorShift rng(id + 1);
	uint64_t buf[2 * kMaxBatch];
	const unsigned words = sh.c->esize / 8;
	uint64_t seq = 0;
	while (!sh.go.load(std::memory_order_acquire))
		std::this_thread::yield();
	while (seq < sh.per_producer) {
		if ((seq & 1023) < kMaxBatch && std::chrono::steady_clock::now() > sh.deadline)
			break;
		unsigned n = 1 + rng.next() % kMaxBatch;
		if (n > sh.per_producer - seq)
			n = unsigned(sh.per_producer - seq);
		for (unsigned i = 0; i < n; i++) {
			buf[i * words] = encode(id, seq + i);
			if (words == 2)
				buf[i * words + 1] = ~encode(id, seq + i);
		}
		unsigned done = 0;
		while (done < n) {
			const bool bulk = rng.next() & 1;
			unsigned k = do_enqueue(sh, buf + done * words, n - done, bulk);
			if (bulk && k != 0 && k != n - done) {
				sh.error("bulk enqueue returned %" PRIu64 " of %" PRIu64
				         "%.0" PRIu64,
				         k, n - done, 0);
			}
			if (k == 0) {
				sh.full_polls.fetch_add(1, std::memory_order_relaxed);
				std::this_thread::yield();
			}
			done += k;
		}
		seq += n;
	}
	sh.produced_by[id] = seq;
	sh.produced.fetch_add(seq);
	sh.producers_done.fetch_add(1, std::memory_order_release);
}

// All producers finished and everything they produced was consumed.
bool all_done(Shared &sh)
{
	if (sh.producers_done.load(std::memory_order_acquire) != sh.c->producers)
		return false;
	return sh.consumed.load() == sh.produced.load();
}

void consumer(Shared &sh, unsigned id)
{
	XorShift rng(1000 + id);
	uint64_t buf[2 * kMaxBatch];
	const unsigned words = sh.c->esize / 8;
	const unsigned np = sh.c->producers;
	const bool single = sh.c->consumers == 1;
	std::vector<int64_t> last(np, -1);
	uint64_t sum = 0;
	while (!sh.go.load(std::memory_order_acquire))
		std::this_thread::yield();
	while (!all_done(sh)) {
		const unsigned want = 1 + rng.next() % kMaxBatch;
		const bool bulk = rng.next() & 1;
		unsigned k = do_dequeue(sh, buf, want, bulk);
		if (k == 0) {
			sh.empty_polls.fetch_add(1, std::memory_order_relaxed);
			std::this_thread::yield();
			continue;
		}
		if (k > want || (bulk && k != want))
			sh.error("dequeue returned %" PRIu64 " for %" PRIu64 " (bulk %" PRIu64 ")",
			         k, want, bulk);
		for (unsigned i = 0; i < k; i++) {
			const uint64_t v = buf[i * words];
			const uint64_t p = (v >> kSeqBits) - 1;
			const uint64_t seq = v & kSeqMask;
			if (words == 2 && buf[i * words + 1] != ~v) {
				sh.error("element %" PRIu64 " torn: second half %" PRIu64
				         "%.0" PRIu64,
				         v, buf[i * words + 1], 0);
				continue;
			}
			if (p >= np || seq >= sh.per_producer) {
				sh.error("bad element %" PRIu64 " (producer %" PRIu64
				         ", seq %" PRIu64 ")",
				         v, p, seq);
				continue;
			}
			// FIFO per producer: increasing for every consumer,
			// consecutive when there is only one
			if (int64_t(seq) <= last[p] || (single && int64_t(seq) != last[p] + 1))
				sh.error("producer %" PRIu64 ": seq %" PRIu64 " after %" PRIu64, p,
				         seq, uint64_t(last[p]));
			last[p] = int64_t(seq);
			if (sh.seen[p * sh.per_producer + seq].fetch_add(
			        1, std::memory_order_relaxed) != 0)
				sh.error("producer %" PRIu64 " seq %" PRIu64
				         " dequeued twice%.0" PRIu64,
				         p, seq, 0);
			sum += v;
		}
		sh.consumed.fetch_add(k, std::memory_order_relaxed);
	}
	sh.sum_out.fetch_add(sum);
}

class RingStress : public ::testing::TestWithParam<StressCase>
{
};

TEST_P(RingStress, ExactlyOnceFifoPerProducer)
{
	const StressCase &c = GetParam();
	std::string name = std::string("stress-") + c.name;
	struct tarn_ring *r =
	    tarn_ring_create_elem(name.c_str(), c.esize, c.count, TARN_SOCKET_ANY, c.flags);
	ASSERT_NE(r, nullptr) << tarn_strerror(tarn_errno);
	if (c.htd_max != UINT32_MAX) {
		const uint32_t p = r->prod.sync == TARN_RING_SYNC_RTS ? c.htd_max : UINT32_MAX;
		const uint32_t q = r->cons.sync == TARN_RING_SYNC_RTS ? c.htd_max : UINT32_MAX;
		ASSERT_EQ(tarn_ring_set_htd_max(r, p, q), 0);
	}

	Shared sh;
	sh.r = r;
	sh.c = &c;
	sh.per_producer = c.total / kScale / c.producers;
	sh.total = sh.per_producer * c.producers;
	sh.produced_by.assign(c.producers, 0);
	sh.seen.reset(new std::atomic<uint8_t>[sh.total]);
	for (uint64_t i = 0; i < sh.total; i++)
		sh.seen[i].store(0, std::memory_order_relaxed);

	std::vector<std::thread> threads;
	for (unsigned i = 0; i < c.producers; i++)
		threads.emplace_back(producer, std::ref(sh), i);
	for (unsigned i = 0; i < c.consumers; i++)
		threads.emplace_back(consumer, std::ref(sh), i);
	auto t0 = std::chrono::steady_clock::now();
	sh.deadline = t0 + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
	                       std::chrono::duration<double>(kDeadline));
	sh.go.store(true, std::memory_order_release);
	for (auto &t : threads)
		t.join();
	double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

	EXPECT_EQ(sh.errors.load(), 0u) << sh.first_error;
	const uint64_t moved = sh.produced.load();
	EXPECT_EQ(sh.consumed.load(), moved);
	EXPECT_GE(moved, std::min<uint64_t>(kMinMoved, sh.total));
	// every element produced was dequeued once; nothing else was
	uint64_t missing = 0, dup = 0, extra = 0, sum_in = 0;
	for (unsigned p = 0; p < c.producers; p++)
		for (uint64_t s = 0; s < sh.per_producer; s++) {
			const uint8_t n = sh.seen[p * sh.per_producer + s].load();
			if (s < sh.produced_by[p]) {
				missing += n == 0;
				dup += n > 1;
				sum_in += encode(p, s);
			} else {
				extra += n != 0;
			}
		}
	EXPECT_EQ(missing, 0u);
	EXPECT_EQ(dup, 0u);
	EXPECT_EQ(extra, 0u);
	EXPECT_EQ(sh.sum_out.load(), sum_in);
	EXPECT_TRUE(tarn_ring_empty(r));
	EXPECT_EQ(tarn_ring_check(r), 0) << RingLog::last();
	if (c.flags & TARN_RING_F_MP_RTS_ENQ) {
		EXPECT_EQ(r->prod.head.v.cnt, r->prod.tail.v.cnt);
	}
	printf("[ stress   ] %-12s %uP+%uC: %" PRIu64 " elements in %.2f s (%.1f M/s), "
	       "%" PRIu64 " empty / %" PRIu64 " full polls\n",
	       c.name, c.producers, c.consumers, moved, secs, moved / secs / 1e6,
	       sh.empty_polls.load(), sh.full_polls.load());
	EXPECT_EQ(tarn_ring_free(r), 0);
}

constexpr unsigned RTS = TARN_RING_F_MP_RTS_ENQ | TARN_RING_F_MC_RTS_DEQ;
constexpr unsigned SPSC = TARN_RING_F_SP_ENQ | TARN_RING_F_SC_DEQ;
constexpr uint32_t DEF = UINT32_MAX;

const StressCase kCases[] = {
	// name, flags, producers, consumers, count, esize, total, htd_max, named
	{ "mpmc", 0, 4, 4, 256, 8, 8000000, DEF, false },
	{ "mpmc_named", 0, 4, 4, 64, 8, 4000000, DEF, true },
	{ "rts", RTS, 4, 4, 256, 8, 8000000, DEF, false },
	{ "rts_named", RTS, 4, 4, 64, 8, 4000000, DEF, true },
	{ "rts_htd0", RTS, 4, 4, 64, 8, 2000000, 0, false },
	{ "spsc", SPSC, 1, 1, 256, 8, 8000000, DEF, false },
	{ "spsc_named", SPSC, 1, 1, 32, 8, 4000000, DEF, true },
	{ "mp_sc", TARN_RING_F_SC_DEQ, 4, 1, 128, 8, 4000000, DEF, false },
	{ "sp_mc", TARN_RING_F_SP_ENQ, 1, 4, 128, 8, 4000000, DEF, false },
	{ "rts_sc", TARN_RING_F_MP_RTS_ENQ | TARN_RING_F_SC_DEQ, 4, 1, 128, 8, 4000000, DEF,
	  false },
	{ "sp_rts", TARN_RING_F_SP_ENQ | TARN_RING_F_MC_RTS_DEQ, 1, 4, 128, 8, 4000000, DEF,
	  false },
	{ "mpmc_exact", TARN_RING_F_EXACT_SZ, 4, 4, 100, 8, 4000000, DEF, false },
	{ "mpmc_elem16", 0, 4, 4, 128, 16, 4000000, DEF, false },
	{ "rts_elem16", RTS | TARN_RING_F_EXACT_SZ, 4, 4, 50, 16, 4000000, DEF, true },
	{ "spsc_elem16", SPSC, 1, 1, 64, 16, 4000000, DEF, false },
};

INSTANTIATE_TEST_SUITE_P(Modes, RingStress, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<StressCase> &i) {
	                         return std::string(i.param.name);
                         });

} // namespace
