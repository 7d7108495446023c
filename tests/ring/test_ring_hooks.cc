// SPDX-License-Identifier: BSD-3-Clause
// ring tests that need a thread stopped at an exact point of an operation
// (the hooked build, -DTARN__RING_HOOKS): the count read while the ring
// moves between its two loads, and a copy of the other side's tail read by
// a thread that is then preempted while the ring goes round 2^32 positions.
#include "ring_hooks.h"
#include "ring_test.h"

#include <cstdint>
#include <cstdio>
#include <thread>

namespace
{

::testing::Environment *const env =
    ::testing::AddGlobalTestEnvironment(new ringhook::Env("tarn-test-ring-hooks", RingLog::fn));

void *P(uintptr_t v)
{
	return reinterpret_cast<void *>(v);
}

struct Ring {
	struct tarn_ring *r;
	Ring(const char *name, unsigned count, unsigned flags)
	{
		r = tarn_ring_create(name, count, TARN_SOCKET_ANY, flags);
		EXPECT_NE(r, nullptr) << name << ": " << tarn_strerror(tarn_errno);
	}
	~Ring()
	{
		tarn_ring_free(r);
	}
};

// tarn_ring_count() reads the consumer tail, then the producer tail. Between
// the two loads the ring goes round more than its capacity while it never
// holds more than one element: the count must still be a value the ring
// had (0 or 1), not the distance between two tails read at different times
// (which the old code clamped to the capacity: an empty ring read as full).
TEST(RingHooks, CountIsAValueTheRingHad)
{
	Ring ring("hk_count", 16, 0);
	ASSERT_NE(ring.r, nullptr);
	ASSERT_EQ(tarn_ring_enqueue(ring.r, P(1)), 0);
	int rounds = 0;
	ringhook::arm([&](struct tarn_ring *r, int, int point) {
		if (point != TARN__RING_HOOK_COUNT || r != ring.r)
			return true;
		void *o;
		for (int i = 0; i < 40; i++) {
			EXPECT_EQ(tarn_ring_dequeue(r, &o), 0);
			EXPECT_EQ(tarn_ring_enqueue(r, o), 0);
			rounds++;
		}
		return false;
	});
	const unsigned c = tarn_ring_count(ring.r);
	ringhook::disarm();
	EXPECT_EQ(rounds, 40);
	EXPECT_LE(c, 1u) << "count read across 40 rounds of a ring of capacity 15";
	EXPECT_EQ(tarn_ring_count(ring.r), 1u);
	EXPECT_EQ(tarn_ring_free_count(ring.r), 14u);
	EXPECT_EQ(tarn_ring_check(ring.r), 0);
}

// A thread reads the other side's tail to refresh its side's cached copy,
// and is preempted right then (the OPP hook). Meanwhile the ring goes round
// 2^32 - 2 positions (tarn__ring_hook_advance(): as if that many elements
// had gone through), so the value it read is now 2 positions AHEAD of the
// real tail in 32-bit arithmetic. When it resumes, that value must not
// become the side's copy: the old code stored it, and the next call then
// dequeued 2 elements that were never enqueued (consumer) or overwrote 2
// that were not yet dequeued (producer).
class RingHooksStaleCopy : public ::testing::TestWithParam<unsigned>
{
};

TEST_P(RingHooksStaleCopy, Consumer)
{
	const unsigned flags = GetParam();
	Ring ring("hk_stale_c", 16, flags);
	ASSERT_NE(ring.r, nullptr);
	void *in[4] = { P(1), P(2), P(3), P(4) };
	ASSERT_EQ(tarn_ring_enqueue_bulk(ring.r, in, 4, nullptr), 4u);

	ringhook::Parker pk;
	void *out[8] = {};
	unsigned got = 99;
	std::thread c([&] {
		ringhook::arm(ringhook::park_at(pk, TARN__RING_HOOK_OPP, 0, ring.r));
		// wants 6: the consumer's copy (0) shows none, so it reads the
		// real producer tail (4) and parks
		got = tarn_ring_dequeue_burst(ring.r, out, 6, nullptr);
		ringhook::disarm();
	});
	ASSERT_TRUE(pk.wait_parked());
	tarn__ring_hook_advance(ring.r, UINT32_MAX - 1); // 2^32 - 2
	pk.release();
	c.join();
	// it may take the 4 elements or none (it starts over when it sees the
	// ring moved); never more, and only the elements enqueued
	ASSERT_LE(got, 4u);
	for (unsigned i = 0; i < got; i++)
		EXPECT_EQ(out[i], in[i]) << i;
	void *rest[8];
	const unsigned more = tarn_ring_dequeue_burst(ring.r, rest, 8, nullptr);
	EXPECT_EQ(got + more, 4u) << "elements dequeued in all";
	for (unsigned i = 0; i < more; i++)
		EXPECT_EQ(rest[i], in[got + i]) << i;
	EXPECT_EQ(tarn_ring_check(ring.r), 0);
}

TEST_P(RingHooksStaleCopy, Producer)
{
	const unsigned flags = GetParam();
	Ring ring("hk_stale_p", 16, flags);
	ASSERT_NE(ring.r, nullptr);
	void *fill[15];
	for (unsigned i = 0; i < 15; i++)
		fill[i] = P(100 + i);
	ASSERT_EQ(tarn_ring_enqueue_bulk(ring.r, fill, 15, nullptr), 15u);
	void *first[4];
	ASSERT_EQ(tarn_ring_dequeue_bulk(ring.r, first, 4, nullptr), 4u);

	ringhook::Parker pk;
	unsigned put = 99;
	void *six[6] = { P(1), P(2), P(3), P(4), P(5), P(6) };
	std::thread p([&] {
		ringhook::arm(ringhook::park_at(pk, TARN__RING_HOOK_OPP, 1, ring.r));
		// 6 do not fit (4 free): the producer's copy (0) shows none, so it
		// reads the real consumer tail (4) and parks
		put = tarn_ring_enqueue_bulk(ring.r, six, 6, nullptr);
		ringhook::disarm();
	});
	ASSERT_TRUE(pk.wait_parked());
	tarn__ring_hook_advance(ring.r, UINT32_MAX - 1);
	pk.release();
	p.join();
	EXPECT_EQ(put, 0u) << "6 elements do not fit in 4 free slots";
	// the same again from here: still 4 free
	EXPECT_EQ(tarn_ring_enqueue_bulk(ring.r, six, 6, nullptr), 0u);
	EXPECT_EQ(tarn_ring_check(ring.r), 0);
	void *out[15];
	ASSERT_EQ(tarn_ring_dequeue_burst(ring.r, out, 15, nullptr), 11u);
	for (unsigned i = 0; i < 11; i++)
		EXPECT_EQ(out[i], fill[4 + i]) << i;
	EXPECT_EQ(tarn_ring_check(ring.r), 0);
}

INSTANTIATE_TEST_SUITE_P(Modes, RingHooksStaleCopy,
                         ::testing::Values(0u, TARN_RING_F_MP_RTS_ENQ | TARN_RING_F_MC_RTS_DEQ),
                         [](const ::testing::TestParamInfo<unsigned> &i) {
	                         return std::string(i.param == 0 ? "MT" : "RTS");
                         });

} // namespace
