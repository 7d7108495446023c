// SPDX-License-Identifier: BSD-3-Clause
// mbuf reference counts across threads (meant to run clean under TSan):
// shared references freed concurrently, clones read and freed by another
// thread while the owner frees the original, concurrent refcnt updates.
#include "mbuf_test.h"

#include <atomic>
#include <thread>

namespace
{

#if defined(__SANITIZE_THREAD__)
constexpr int kRounds = 300;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
constexpr int kRounds = 300;
#else
constexpr int kRounds = 3000;
#endif
#else
constexpr int kRounds = 3000;
#endif

// Spin until `go` is set, so both threads start together.
void wait_for(const std::atomic<bool> &go)
{
	while (!go.load(std::memory_order_acquire))
		std::this_thread::yield();
}

TEST(MbufThreads, TwoOwnersFreeConcurrently)
{
	Pool p("mb_t2free", 256, 32);
	for (int round = 0; round < kRounds / 100 + 1; round++) {
		std::vector<struct tarn_mbuf *> v;
		for (int i = 0; i < 100; i++) {
			struct tarn_mbuf *m = mbuf_with(p, 64, (unsigned)i);
			ASSERT_NE(m, nullptr);
			EXPECT_EQ(tarn_mbuf_refcnt_update(m, 1), 2);
			v.push_back(m);
		}
		std::atomic<bool> go{ false };
		std::atomic<unsigned> sum{ 0 };
		auto owner = [&]() {
			wait_for(go);
			unsigned s = 0;
			for (auto *m : v) {
				s += tarn_pktmbuf_mtod(m, uint8_t *)[1]; // read, then drop
				tarn_pktmbuf_free(m);
			}
			sum += s;
		};
		std::thread a(owner), b(owner);
		go.store(true, std::memory_order_release);
		a.join();
		b.join();
		EXPECT_EQ(sum.load(), 2u * 5050) << "each owner read bytes 1..100";
		EXPECT_EQ(p.in_use(), 0u);
		// the buffers are reusable and writable by this thread now
		struct tarn_mbuf *ms[100];
		ASSERT_EQ(tarn_pktmbuf_alloc_bulk(p, ms, 100), 0);
		for (auto *m : ms)
			memset(m->buf_addr, 0, m->buf_len);
		tarn_pktmbuf_free_bulk(ms, 100);
	}
}

TEST(MbufThreads, CloneReadElsewhereWhileOriginalFreed)
{
	Pool p("mb_tclone", 64, 16);
	Pool cp("mb_tclonec", 64, 16, 0, 0);
	std::atomic<struct tarn_mbuf *> slot{ nullptr };
	std::atomic<bool> stop{ false };
	std::atomic<unsigned> seen{ 0 };
	std::thread reader([&]() {
		for (;;) {
			struct tarn_mbuf *c = slot.exchange(nullptr, std::memory_order_acq_rel);
			if (c == nullptr) {
				if (stop.load(std::memory_order_acquire))
					break;
				std::this_thread::yield();
				continue;
			}
			const uint8_t *d = tarn_pktmbuf_mtod(c, const uint8_t *);
			unsigned ok = 1;
			for (unsigned i = 0; i < c->data_len; i++)
				ok &= d[i] == (uint8_t)(d[0] + i);
			seen += ok;
			tarn_pktmbuf_free(c); // may be the last reference
		}
	});
	for (int i = 0; i < kRounds; i++) {
		struct tarn_mbuf *m = mbuf_with(p, 200, (unsigned)i);
		ASSERT_NE(m, nullptr);
		struct tarn_mbuf *c = tarn_pktmbuf_clone(m, cp);
		ASSERT_NE(c, nullptr);
		struct tarn_mbuf *expected = nullptr;
		while (!slot.compare_exchange_weak(expected, c, std::memory_order_acq_rel)) {
			expected = nullptr;
			std::this_thread::yield();
		}
		tarn_pktmbuf_free(m); // races with the reader's free of the clone
	}
	while (slot.load(std::memory_order_acquire) != nullptr)
		std::this_thread::yield();
	stop.store(true, std::memory_order_release);
	reader.join();
	EXPECT_EQ(seen.load(), (unsigned)kRounds);
	EXPECT_EQ(p.in_use(), 0u);
	EXPECT_EQ(cp.in_use(), 0u);
}

TEST(MbufThreads, ConcurrentRefcntUpdates)
{
	Pool p("mb_trefs", 8);
	struct tarn_mbuf *m = mbuf_with(p, 10);
	ASSERT_NE(m, nullptr);
	// this thread and each worker hold one reference
	EXPECT_EQ(tarn_mbuf_refcnt_update(m, 2), 3);
	std::atomic<bool> go{ false };
	auto worker = [&]() {
		wait_for(go);
		for (int i = 0; i < kRounds * 10; i++) {
			tarn_mbuf_refcnt_update(m, 1);
			tarn_mbuf_refcnt_update(m, -1);
		}
		tarn_pktmbuf_free(m); // drop this worker's reference
	};
	std::thread a(worker), b(worker);
	go.store(true, std::memory_order_release);
	a.join();
	b.join();
	EXPECT_EQ(tarn_mbuf_refcnt_read(m), 1);
	EXPECT_EQ(p.in_use(), 1u);
	tarn_pktmbuf_free(m);
	EXPECT_EQ(p.in_use(), 0u);
}

} // namespace
