// SPDX-License-Identifier: BSD-3-Clause
// ring unit tests: every call, every mode, edges (empty, full, wrap-around,
// 32-bit position wrap), element rings, error paths, check/dump/walk.
#include "ring_test.h"

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

void ring_test_init()
{
	struct tarn_config cfg;
	ASSERT_EQ(tarn_config_init(&cfg), 0);
	snprintf(cfg.lcores, sizeof(cfg.lcores), "0");
	cfg.no_pin_main = 1;
	snprintf(cfg.file_prefix, sizeof(cfg.file_prefix), "tarn-test-ring");
	ASSERT_EQ(tarn_init(&cfg), 0);
}

namespace
{

class RingEnv : public ::testing::Environment
{
      public:
	void SetUp() override
	{
		tarn_log_set_handler(RingLog::fn, nullptr);
		ring_test_init();
	}
	void TearDown() override
	{
		EXPECT_EQ(tarn_cleanup(), 0);
		tarn_log_set_handler(nullptr, nullptr);
	}
};

::testing::Environment *const ring_env = ::testing::AddGlobalTestEnvironment(new RingEnv);

void *P(uintptr_t v)
{
	return reinterpret_cast<void *>(v);
}

// A ring freed at the end of the scope.
struct Ring {
	struct tarn_ring *r;
	Ring(const char *name, unsigned count, unsigned flags, unsigned esize = 8)
	{
		r = tarn_ring_create_elem(name, esize, count, TARN_SOCKET_ANY, flags);
		EXPECT_NE(r, nullptr) << name << ": " << tarn_strerror(tarn_errno);
	}
	~Ring()
	{
		if (r != nullptr) {
			EXPECT_EQ(tarn_ring_free(r), 0);
		}
	}
	Ring(const Ring &) = delete;
	Ring &operator=(const Ring &) = delete;
};

struct tarn_ring *fake_ring_addr()
{
	static struct tarn_ring fake;
	return &fake;
}

// Put all four positions of a quiescent ring at `pos` (white box: lets the
// tests cross the 2^32 wrap of the free-running counters quickly).
void set_positions(struct tarn_ring *r, uint32_t pos)
{
	ASSERT_EQ(tarn_ring_count(r), 0u);
	r->prod.head.v.pos = r->prod.tail.v.pos = pos;
	r->cons.head.v.pos = r->cons.tail.v.pos = pos;
	// MT and ST sides keep a copy of the other side's tail in the head
	// word (RTS sides their operation count, left alone)
	if (r->prod.sync != TARN_RING_SYNC_RTS)
		r->prod.head.v.opp = pos;
	if (r->cons.sync != TARN_RING_SYNC_RTS)
		r->cons.head.v.opp = pos;
}

// ---------------------------------------------------------------------------
// creation, lookup, free

TEST(RingCreate, Geometry)
{
	struct {
		unsigned count, flags, size, capacity;
	} cases[] = {
		{ 2, 0, 2, 1 },
		{ 4, 0, 4, 3 },
		{ 1024, 0, 1024, 1023 },
		{ 1, TARN_RING_F_EXACT_SZ, 2, 1 },
		{ 5, TARN_RING_F_EXACT_SZ, 8, 5 },
		{ 7, TARN_RING_F_EXACT_SZ, 8, 7 },
		{ 8, TARN_RING_F_EXACT_SZ, 16, 8 },
		{ 1000, TARN_RING_F_EXACT_SZ, 1024, 1000 },
	};
	for (auto &c : cases) {
		Ring g("geom", c.count, c.flags);
		ASSERT_NE(g.r, nullptr);
		EXPECT_EQ(tarn_ring_get_size(g.r), c.size) << c.count;
		EXPECT_EQ(tarn_ring_get_capacity(g.r), c.capacity) << c.count;
		EXPECT_EQ(tarn_ring_free_count(g.r), c.capacity);
		EXPECT_EQ(tarn_ring_count(g.r), 0u);
		EXPECT_TRUE(tarn_ring_empty(g.r));
		EXPECT_FALSE(tarn_ring_full(g.r));
		EXPECT_EQ(tarn_ring_get_esize(g.r), 8u);
		EXPECT_EQ(tarn_ring_get_flags(g.r), c.flags);
		EXPECT_STREQ(tarn_ring_get_name(g.r), "geom");
		EXPECT_EQ(tarn_ring_check(g.r), 0) << RingLog::last();
		// the slot array is aligned for any element and for the line pairs
		EXPECT_EQ(reinterpret_cast<uintptr_t>(g.r) % TARN_RING_PART_SIZE, 0u);
	}
}

TEST(RingCreate, SyncModesFollowFlags)
{
	struct {
		unsigned flags;
		enum tarn_ring_sync prod, cons;
	} cases[] = {
		{ 0, TARN_RING_SYNC_MT, TARN_RING_SYNC_MT },
		{ TARN_RING_F_SP_ENQ, TARN_RING_SYNC_ST, TARN_RING_SYNC_MT },
		{ TARN_RING_F_SC_DEQ, TARN_RING_SYNC_MT, TARN_RING_SYNC_ST },
		{ TARN_RING_F_MP_RTS_ENQ | TARN_RING_F_MC_RTS_DEQ, TARN_RING_SYNC_RTS,
		  TARN_RING_SYNC_RTS },
		{ TARN_RING_F_SP_ENQ | TARN_RING_F_MC_RTS_DEQ, TARN_RING_SYNC_ST,
		  TARN_RING_SYNC_RTS },
		{ TARN_RING_F_MP_RTS_ENQ | TARN_RING_F_SC_DEQ, TARN_RING_SYNC_RTS,
		  TARN_RING_SYNC_ST },
	};
	for (auto &c : cases) {
		Ring g("sync", 64, c.flags);
		ASSERT_NE(g.r, nullptr);
		EXPECT_EQ(tarn_ring_get_prod_sync(g.r), c.prod) << c.flags;
		EXPECT_EQ(tarn_ring_get_cons_sync(g.r), c.cons) << c.flags;
	}
}

void expect_create_fails(const char *name, unsigned esize, unsigned count, int socket,
                         unsigned flags, int err)
{
	RingLog::clear();
	tarn_errno = 0;
	EXPECT_EQ(tarn_ring_create_elem(name, esize, count, socket, flags), nullptr)
	    << "count " << count << " esize " << esize << " flags " << flags;
	EXPECT_EQ(tarn_errno, err) << "count " << count << " esize " << esize << " flags " << flags
	                           << ": " << tarn_strerror(tarn_errno);
}

TEST(RingCreate, Errors)
{
	// count
	expect_create_fails("e", 8, 0, TARN_SOCKET_ANY, 0, EINVAL);
	expect_create_fails("e", 8, 1, TARN_SOCKET_ANY, 0, EINVAL);
	expect_create_fails("e", 8, 3, TARN_SOCKET_ANY, 0, EINVAL);
	expect_create_fails("e", 8, 1000, TARN_SOCKET_ANY, 0, EINVAL);
	expect_create_fails("e", 8, 0xffffffffu, TARN_SOCKET_ANY, 0, EINVAL);
	expect_create_fails("e", 8, 0, TARN_SOCKET_ANY, TARN_RING_F_EXACT_SZ, EINVAL);
	expect_create_fails("e", 8, TARN_RING_SIZE_MAX, TARN_SOCKET_ANY, TARN_RING_F_EXACT_SZ,
	                    EINVAL);
	expect_create_fails("e", 8, 0xffffffffu, TARN_SOCKET_ANY, TARN_RING_F_EXACT_SZ, EINVAL);
	EXPECT_TRUE(RingLog::contains("ring: "));
	// flags
	expect_create_fails("e", 8, 64, TARN_SOCKET_ANY, 0x100, EINVAL);
	expect_create_fails("e", 8, 64, TARN_SOCKET_ANY, 0x80000000u, EINVAL);
	expect_create_fails("e", 8, 64, TARN_SOCKET_ANY,
	                    TARN_RING_F_SP_ENQ | TARN_RING_F_MP_RTS_ENQ, EINVAL);
	expect_create_fails("e", 8, 64, TARN_SOCKET_ANY,
	                    TARN_RING_F_SC_DEQ | TARN_RING_F_MC_RTS_DEQ, EINVAL);
	// element size
	expect_create_fails("e", 0, 64, TARN_SOCKET_ANY, 0, EINVAL);
	expect_create_fails("e", 1, 64, TARN_SOCKET_ANY, 0, EINVAL);
	expect_create_fails("e", 6, 64, TARN_SOCKET_ANY, 0, EINVAL);
	expect_create_fails("e", 10, 64, TARN_SOCKET_ANY, 0, EINVAL);
	// socket
	expect_create_fails("e", 8, 64, 97, 0, EINVAL);
	expect_create_fails("e", 8, 64, -5, 0, EINVAL);
	// name
	expect_create_fails(nullptr, 8, 64, TARN_SOCKET_ANY, 0, EINVAL);
	expect_create_fails("", 8, 64, TARN_SOCKET_ANY, 0, EINVAL);
	std::string longname(TARN_NAME_SIZE, 'x');
	expect_create_fails(longname.c_str(), 8, 64, TARN_SOCKET_ANY, 0, ENAMETOOLONG);
	// the longest name that fits
	std::string maxname(TARN_NAME_SIZE - 1, 'y');
	{
		Ring ok(maxname.c_str(), 64, 0);
		EXPECT_EQ(tarn_ring_lookup(maxname.c_str()), ok.r);
	}
	// memory: 2^20 slots of 1 GiB cannot be had
	expect_create_fails("huge", 1u << 30, 1u << 20, TARN_SOCKET_ANY, 0, ENOMEM);
	// the pointer form validates the same way
	tarn_errno = 0;
	EXPECT_EQ(tarn_ring_create("e", 6, TARN_SOCKET_ANY, 0), nullptr);
	EXPECT_EQ(tarn_errno, EINVAL);
	// nothing was left registered by the failures
	tarn_errno = 0;
	EXPECT_EQ(tarn_ring_lookup("e"), nullptr);
	EXPECT_EQ(tarn_errno, ENOENT);
}

TEST(RingCreate, NameTakenAndReusedAfterFree)
{
	struct tarn_ring *a = tarn_ring_create("dup", 64, TARN_SOCKET_ANY, 0);
	ASSERT_NE(a, nullptr);
	tarn_errno = 0;
	EXPECT_EQ(tarn_ring_create("dup", 64, TARN_SOCKET_ANY, 0), nullptr);
	EXPECT_EQ(tarn_errno, EEXIST);
	tarn_errno = 0;
	EXPECT_EQ(tarn_ring_create_elem("dup", 16, 8, TARN_SOCKET_ANY, TARN_RING_F_EXACT_SZ),
	          nullptr);
	EXPECT_EQ(tarn_errno, EEXIST);
	EXPECT_EQ(tarn_ring_free(a), 0);
	struct tarn_ring *b = tarn_ring_create("dup", 64, 0, 0);
	ASSERT_NE(b, nullptr);
	EXPECT_EQ(tarn_ring_lookup("dup"), b);
	EXPECT_EQ(tarn_ring_free(b), 0);
}

TEST(RingCreate, LookupAndFree)
{
	struct tarn_ring *a = tarn_ring_create("la", 8, TARN_SOCKET_ANY, 0);
	struct tarn_ring *b = tarn_ring_create("lb", 8, TARN_SOCKET_ANY, 0);
	struct tarn_ring *c = tarn_ring_create("lc", 8, TARN_SOCKET_ANY, 0);
	ASSERT_TRUE(a && b && c);
	EXPECT_EQ(tarn_ring_lookup("la"), a);
	EXPECT_EQ(tarn_ring_lookup("lb"), b);
	EXPECT_EQ(tarn_ring_lookup("lc"), c);
	// free from the middle of the list
	EXPECT_EQ(tarn_ring_free(b), 0);
	tarn_errno = 0;
	EXPECT_EQ(tarn_ring_lookup("lb"), nullptr);
	EXPECT_EQ(tarn_errno, ENOENT);
	EXPECT_EQ(tarn_ring_lookup("la"), a);
	EXPECT_EQ(tarn_ring_lookup("lc"), c);
	// a second free, NULL, and something that is no ring
	RingLog::clear();
	EXPECT_EQ(tarn_ring_free(b), -EINVAL);
	EXPECT_TRUE(RingLog::contains("not a live ring"));
	EXPECT_EQ(tarn_ring_free(nullptr), -EINVAL);
	EXPECT_EQ(tarn_ring_free(fake_ring_addr()), -EINVAL);
	EXPECT_EQ(tarn_ring_free(c), 0);
	EXPECT_EQ(tarn_ring_free(a), 0);
	// lookup errors
	tarn_errno = 0;
	EXPECT_EQ(tarn_ring_lookup(nullptr), nullptr);
	EXPECT_EQ(tarn_errno, EINVAL);
	tarn_errno = 0;
	EXPECT_EQ(tarn_ring_lookup(""), nullptr);
	EXPECT_EQ(tarn_errno, EINVAL);
	std::string longname(TARN_NAME_SIZE + 3, 'z');
	tarn_errno = 0;
	EXPECT_EQ(tarn_ring_lookup(longname.c_str()), nullptr);
	EXPECT_EQ(tarn_errno, ENAMETOOLONG);
}

void count_ring(struct tarn_ring *r, void *arg)
{
	auto *names = static_cast<std::vector<std::string> *>(arg);
	names->push_back(tarn_ring_get_name(r));
}

TEST(RingCreate, Walk)
{
	EXPECT_EQ(tarn_ring_walk(nullptr, nullptr), -EINVAL);
	std::vector<std::string> before;
	int n0 = tarn_ring_walk(count_ring, &before);
	ASSERT_GE(n0, 0);
	{
		Ring a("walk-a", 16, 0), b("walk-b", 16, TARN_RING_F_SP_ENQ);
		std::vector<std::string> names;
		EXPECT_EQ(tarn_ring_walk(count_ring, &names), n0 + 2);
		ASSERT_EQ(names.size(), size_t(n0 + 2));
		// creation order
		EXPECT_EQ(names[n0], "walk-a");
		EXPECT_EQ(names[n0 + 1], "walk-b");
	}
	std::vector<std::string> after;
	EXPECT_EQ(tarn_ring_walk(count_ring, &after), n0);
}

// Rings left at tarn_cleanup() are freed, rings need tarn_init(), and tarn
// can be started again afterwards.
TEST(RingCreate, CleanupFreesRingsAndInitIsNeeded)
{
	ASSERT_NE(tarn_ring_create("left-1", 64, TARN_SOCKET_ANY, 0), nullptr);
	ASSERT_NE(tarn_ring_create_elem("left-2", 16, 100, TARN_SOCKET_ANY, TARN_RING_F_EXACT_SZ),
	          nullptr);
	ASSERT_EQ(tarn_cleanup(), 0);
	std::vector<std::string> names;
	EXPECT_EQ(tarn_ring_walk(count_ring, &names), 0);
	tarn_errno = 0;
	EXPECT_EQ(tarn_ring_lookup("left-1"), nullptr);
	EXPECT_EQ(tarn_errno, ENOENT);
	tarn_errno = 0;
	EXPECT_EQ(tarn_ring_create("noinit", 64, TARN_SOCKET_ANY, 0), nullptr);
	EXPECT_EQ(tarn_errno, EINVAL);
	ring_test_init();
	Ring again("left-1", 64, 0);
	EXPECT_NE(again.r, nullptr);
}

// ---------------------------------------------------------------------------
// operations, in every mode through the flag-following calls

struct ModeCase {
	const char *name;
	unsigned flags;
};

const ModeCase kModes[] = {
	{ "mpmc", 0 },
	{ "spsc", TARN_RING_F_SP_ENQ | TARN_RING_F_SC_DEQ },
	{ "sp_mc", TARN_RING_F_SP_ENQ },
	{ "mp_sc", TARN_RING_F_SC_DEQ },
	{ "rts", TARN_RING_F_MP_RTS_ENQ | TARN_RING_F_MC_RTS_DEQ },
	{ "rts_sp", TARN_RING_F_SP_ENQ | TARN_RING_F_MC_RTS_DEQ },
	{ "rts_sc", TARN_RING_F_MP_RTS_ENQ | TARN_RING_F_SC_DEQ },
	{ "rts_mc", TARN_RING_F_MP_RTS_ENQ },
	{ "mpmc_exact", TARN_RING_F_EXACT_SZ },
	{ "rts_exact", TARN_RING_F_EXACT_SZ | TARN_RING_F_MP_RTS_ENQ | TARN_RING_F_MC_RTS_DEQ },
};

class RingMode : public ::testing::TestWithParam<ModeCase>
{
      protected:
	// 16 slots: capacity 15, or 10 with EXACT_SZ
	unsigned count() const
	{
		return (GetParam().flags & TARN_RING_F_EXACT_SZ) ? 10 : 16;
	}
};

TEST_P(RingMode, EmptyAndZero)
{
	Ring g("mode", count(), GetParam().flags);
	ASSERT_NE(g.r, nullptr);
	void *objs[4] = { P(1), P(2), P(3), P(4) };
	unsigned avail = 99, fr = 99;
	EXPECT_EQ(tarn_ring_dequeue_bulk(g.r, objs, 1, &avail), 0u);
	EXPECT_EQ(avail, 0u);
	EXPECT_EQ(tarn_ring_dequeue_burst(g.r, objs, 4, &avail), 0u);
	EXPECT_EQ(avail, 0u);
	EXPECT_EQ(objs[0], P(1)); // untouched
	void *one = P(7);
	EXPECT_EQ(tarn_ring_dequeue(g.r, &one), -ENOENT);
	EXPECT_EQ(one, P(7));
	// n == 0 moves nothing and reports the state
	EXPECT_EQ(tarn_ring_enqueue_bulk(g.r, objs, 0, &fr), 0u);
	EXPECT_EQ(fr, tarn_ring_get_capacity(g.r));
	EXPECT_EQ(tarn_ring_enqueue_burst(g.r, objs, 0, nullptr), 0u);
	EXPECT_EQ(tarn_ring_dequeue_bulk(g.r, objs, 0, nullptr), 0u);
	EXPECT_EQ(tarn_ring_check(g.r), 0) << RingLog::last();
}

TEST_P(RingMode, BulkAllOrNothing)
{
	Ring g("mode", count(), GetParam().flags);
	ASSERT_NE(g.r, nullptr);
	const unsigned cap = tarn_ring_get_capacity(g.r);
	std::vector<void *> in(cap + 5), out(cap + 5);
	for (unsigned i = 0; i < in.size(); i++)
		in[i] = P(0x1000 + i);
	unsigned fr = 0, avail = 0;

	// more than the capacity: nothing
	EXPECT_EQ(tarn_ring_enqueue_bulk(g.r, in.data(), cap + 1, &fr), 0u);
	EXPECT_EQ(fr, cap);
	EXPECT_EQ(tarn_ring_count(g.r), 0u);
	// 3 in
	EXPECT_EQ(tarn_ring_enqueue_bulk(g.r, in.data(), 3, &fr), 3u);
	EXPECT_EQ(fr, cap - 3);
	EXPECT_EQ(tarn_ring_count(g.r), 3u);
	EXPECT_EQ(tarn_ring_free_count(g.r), cap - 3);
	// cap - 2 no longer fits: nothing moves, free space reported
	EXPECT_EQ(tarn_ring_enqueue_bulk(g.r, in.data() + 3, cap - 2, &fr), 0u);
	EXPECT_EQ(fr, cap - 3);
	EXPECT_EQ(tarn_ring_count(g.r), 3u);
	// fill exactly
	EXPECT_EQ(tarn_ring_enqueue_bulk(g.r, in.data() + 3, cap - 3, &fr), cap - 3);
	EXPECT_EQ(fr, 0u);
	EXPECT_TRUE(tarn_ring_full(g.r));
	EXPECT_FALSE(tarn_ring_empty(g.r));
	EXPECT_EQ(tarn_ring_free_count(g.r), 0u);
	EXPECT_EQ(tarn_ring_enqueue_bulk(g.r, in.data(), 1, &fr), 0u);
	EXPECT_EQ(fr, 0u);
	EXPECT_EQ(tarn_ring_enqueue(g.r, P(5)), -ENOBUFS);
	EXPECT_EQ(tarn_ring_check(g.r), 0) << RingLog::last();
	// dequeue more than there is: nothing
	EXPECT_EQ(tarn_ring_dequeue_bulk(g.r, out.data(), cap + 1, &avail), 0u);
	EXPECT_EQ(avail, cap);
	// dequeue in two steps, FIFO
	EXPECT_EQ(tarn_ring_dequeue_bulk(g.r, out.data(), 2, &avail), 2u);
	EXPECT_EQ(avail, cap - 2);
	EXPECT_EQ(tarn_ring_dequeue_bulk(g.r, out.data() + 2, cap - 2, &avail), cap - 2);
	EXPECT_EQ(avail, 0u);
	for (unsigned i = 0; i < cap; i++)
		EXPECT_EQ(out[i], in[i]) << i;
	EXPECT_TRUE(tarn_ring_empty(g.r));
	EXPECT_EQ(tarn_ring_check(g.r), 0) << RingLog::last();
}

TEST_P(RingMode, BurstAsManyAsFit)
{
	Ring g("mode", count(), GetParam().flags);
	ASSERT_NE(g.r, nullptr);
	const unsigned cap = tarn_ring_get_capacity(g.r);
	std::vector<void *> in(cap + 5), out(cap + 5);
	for (unsigned i = 0; i < in.size(); i++)
		in[i] = P(0x2000 + i);
	unsigned fr = 0, avail = 0;

	EXPECT_EQ(tarn_ring_enqueue_burst(g.r, in.data(), 4, &fr), 4u);
	EXPECT_EQ(fr, cap - 4);
	// asks for more than fits: takes what fits
	EXPECT_EQ(tarn_ring_enqueue_burst(g.r, in.data() + 4, cap + 1, &fr), cap - 4);
	EXPECT_EQ(fr, 0u);
	EXPECT_EQ(tarn_ring_enqueue_burst(g.r, in.data(), 3, &fr), 0u);
	EXPECT_EQ(fr, 0u);
	// dequeue burst larger than the content
	EXPECT_EQ(tarn_ring_dequeue_burst(g.r, out.data(), 5, &avail), 5u);
	EXPECT_EQ(avail, cap - 5);
	EXPECT_EQ(tarn_ring_dequeue_burst(g.r, out.data() + 5, cap + 5, &avail), cap - 5);
	EXPECT_EQ(avail, 0u);
	for (unsigned i = 0; i < cap; i++)
		EXPECT_EQ(out[i], in[i]) << i;
	EXPECT_EQ(tarn_ring_dequeue_burst(g.r, out.data(), 1, &avail), 0u);
	EXPECT_EQ(tarn_ring_check(g.r), 0) << RingLog::last();
}

TEST_P(RingMode, SingleObject)
{
	Ring g("mode", count(), GetParam().flags);
	ASSERT_NE(g.r, nullptr);
	for (uintptr_t i = 1; i <= 100; i++) {
		ASSERT_EQ(tarn_ring_enqueue(g.r, P(i)), 0);
		ASSERT_EQ(tarn_ring_enqueue(g.r, P(i + 1000)), 0);
		void *o = nullptr;
		ASSERT_EQ(tarn_ring_dequeue(g.r, &o), 0);
		EXPECT_EQ(o, P(i));
		ASSERT_EQ(tarn_ring_dequeue(g.r, &o), 0);
		EXPECT_EQ(o, P(i + 1000));
	}
	EXPECT_EQ(tarn_ring_check(g.r), 0) << RingLog::last();
}

// Every batch size against every slot offset: the copies split at the end
// of the slot array in every possible place.
TEST_P(RingMode, WrapAround)
{
	Ring g("mode", count(), GetParam().flags);
	ASSERT_NE(g.r, nullptr);
	const unsigned cap = tarn_ring_get_capacity(g.r);
	const unsigned size = tarn_ring_get_size(g.r);
	std::vector<void *> in(cap), out(cap);
	uintptr_t next_in = 1, next_out = 1;
	for (unsigned round = 0; round < 4 * size; round++) {
		for (unsigned n = 1; n <= cap; n++) {
			for (unsigned i = 0; i < n; i++)
				in[i] = P(next_in++);
			ASSERT_EQ(tarn_ring_enqueue_bulk(g.r, in.data(), n, nullptr), n);
			ASSERT_EQ(tarn_ring_count(g.r), n);
			// dequeue in two parts, bulk then burst
			const unsigned a = n / 2;
			ASSERT_EQ(tarn_ring_dequeue_bulk(g.r, out.data(), a, nullptr), a);
			ASSERT_EQ(tarn_ring_dequeue_burst(g.r, out.data() + a, cap, nullptr),
			          n - a);
			for (unsigned i = 0; i < n; i++)
				ASSERT_EQ(out[i], P(next_out++));
		}
		// shift the offset by one
		ASSERT_EQ(tarn_ring_enqueue(g.r, P(next_in++)), 0);
		void *o;
		ASSERT_EQ(tarn_ring_dequeue(g.r, &o), 0);
		ASSERT_EQ(o, P(next_out++));
	}
	EXPECT_EQ(tarn_ring_check(g.r), 0) << RingLog::last();
}

// Every batch size from 1 to the capacity of a 128-slot ring, at slot
// offsets spread over the whole array (so the copies run straight, in
// blocks and split at the end): an enqueue writes exactly its own slots
// (white box: every other slot keeps a marker), and a dequeue writes
// exactly `n` pointers (the ones after them keep theirs).
TEST_P(RingMode, BatchSizesTouchOnlyTheirSlots)
{
	const bool exact = GetParam().flags & TARN_RING_F_EXACT_SZ;
	Ring g("mode-sizes", exact ? 100 : 128, GetParam().flags);
	ASSERT_NE(g.r, nullptr);
	const unsigned cap = tarn_ring_get_capacity(g.r);
	const unsigned size = tarn_ring_get_size(g.r);
	void **slots = reinterpret_cast<void **>(g.r + 1);
	auto marker = [](unsigned j) { return P(0xdead0000u + j); };
	std::vector<void *> in(cap), out(cap + 4);
	uintptr_t seq = 1;
	for (unsigned n = 1; n <= cap; n++) {
		for (unsigned off = n % 7; off < size; off += 7) {
			ASSERT_EQ(tarn_ring_reset(g.r), 0);
			set_positions(g.r, off);
			for (unsigned j = 0; j < size; j++)
				slots[j] = marker(j);
			for (unsigned i = 0; i < n; i++)
				in[i] = P(seq++);
			ASSERT_EQ(tarn_ring_enqueue_bulk(g.r, in.data(), n, nullptr), n);
			for (unsigned j = 0; j < size; j++) {
				const unsigned k = (j - off) & (size - 1); // element index
				ASSERT_EQ(slots[j], k < n ? in[k] : marker(j))
				    << "n " << n << " offset " << off << " slot " << j;
			}
			for (unsigned i = 0; i < cap + 4; i++)
				out[i] = marker(1000 + i);
			ASSERT_EQ(tarn_ring_dequeue_bulk(g.r, out.data(), n, nullptr), n);
			for (unsigned i = 0; i < cap + 4; i++)
				ASSERT_EQ(out[i], i < n ? in[i] : marker(1000 + i))
				    << "n " << n << " offset " << off << " out " << i;
			ASSERT_EQ(tarn_ring_check(g.r), 0) << RingLog::last();
		}
	}
}

// The free-running 32-bit positions wrap past 2^32.
TEST_P(RingMode, PositionWrap32)
{
	Ring g("mode", count(), GetParam().flags);
	ASSERT_NE(g.r, nullptr);
	const unsigned cap = tarn_ring_get_capacity(g.r);
	set_positions(g.r, 0xffffffffu - 20);
	EXPECT_EQ(tarn_ring_check(g.r), 0) << RingLog::last();
	std::vector<void *> in(cap), out(cap);
	uintptr_t next_in = 1, next_out = 1;
	for (unsigned k = 0; k < 30; k++) {
		const unsigned n = 1 + k % cap;
		for (unsigned i = 0; i < n; i++)
			in[i] = P(next_in++);
		unsigned fr;
		ASSERT_EQ(tarn_ring_enqueue_bulk(g.r, in.data(), n, &fr), n);
		ASSERT_EQ(fr, cap - n);
		ASSERT_EQ(tarn_ring_count(g.r), n);
		ASSERT_EQ(tarn_ring_enqueue_burst(g.r, in.data(), cap, &fr), cap - n);
		ASSERT_TRUE(tarn_ring_full(g.r));
		unsigned avail;
		ASSERT_EQ(tarn_ring_dequeue_bulk(g.r, out.data(), n, &avail), n);
		ASSERT_EQ(avail, cap - n);
		for (unsigned i = 0; i < n; i++)
			ASSERT_EQ(out[i], P(next_out++));
		ASSERT_EQ(tarn_ring_dequeue_burst(g.r, out.data(), cap, &avail), cap - n);
		ASSERT_EQ(avail, 0u);
		ASSERT_EQ(tarn_ring_check(g.r), 0) << RingLog::last();
	}
	EXPECT_LT(g.r->prod.tail.v.pos, 0xffffffffu - 20); // it did wrap
}

TEST_P(RingMode, Reset)
{
	Ring g("mode", count(), GetParam().flags);
	ASSERT_NE(g.r, nullptr);
	void *objs[3] = { P(1), P(2), P(3) };
	ASSERT_EQ(tarn_ring_enqueue_bulk(g.r, objs, 3, nullptr), 3u);
	EXPECT_EQ(tarn_ring_reset(g.r), 0);
	EXPECT_TRUE(tarn_ring_empty(g.r));
	EXPECT_EQ(tarn_ring_free_count(g.r), tarn_ring_get_capacity(g.r));
	EXPECT_EQ(tarn_ring_check(g.r), 0) << RingLog::last();
	EXPECT_EQ(tarn_ring_reset(nullptr), -EINVAL);
	ASSERT_EQ(tarn_ring_enqueue_bulk(g.r, objs, 3, nullptr), 3u);
	void *out[3];
	ASSERT_EQ(tarn_ring_dequeue_bulk(g.r, out, 3, nullptr), 3u);
	EXPECT_EQ(out[2], P(3));
}

INSTANTIATE_TEST_SUITE_P(Modes, RingMode, ::testing::ValuesIn(kModes),
                         [](const ::testing::TestParamInfo<ModeCase> &i) {
	                         return std::string(i.param.name);
                         });

// ---------------------------------------------------------------------------
// the calls whose mode is in the name

TEST(RingNamed, MtAndStCallsOnMtRing)
{
	Ring g("named", 32, 0);
	ASSERT_NE(g.r, nullptr);
	void *in[40], *out[40];
	for (uintptr_t i = 0; i < 40; i++)
		in[i] = P(i + 1);
	unsigned fr, av;
	EXPECT_EQ(tarn_ring_mp_enqueue_bulk(g.r, in, 5, &fr), 5u);
	EXPECT_EQ(fr, 26u);
	EXPECT_EQ(tarn_ring_sp_enqueue_bulk(g.r, in + 5, 5, &fr), 5u);
	EXPECT_EQ(fr, 21u);
	EXPECT_EQ(tarn_ring_mp_enqueue_bulk(g.r, in + 10, 22, &fr), 0u);
	EXPECT_EQ(tarn_ring_sp_enqueue_bulk(g.r, in + 10, 22, &fr), 0u);
	EXPECT_EQ(tarn_ring_mp_enqueue_burst(g.r, in + 10, 10, &fr), 10u);
	EXPECT_EQ(tarn_ring_sp_enqueue_burst(g.r, in + 20, 20, &fr), 11u);
	EXPECT_EQ(fr, 0u);
	EXPECT_EQ(tarn_ring_mc_dequeue_bulk(g.r, out, 4, &av), 4u);
	EXPECT_EQ(av, 27u);
	EXPECT_EQ(tarn_ring_sc_dequeue_bulk(g.r, out + 4, 4, &av), 4u);
	EXPECT_EQ(tarn_ring_mc_dequeue_bulk(g.r, out + 8, 24, &av), 0u);
	EXPECT_EQ(tarn_ring_sc_dequeue_bulk(g.r, out + 8, 24, &av), 0u);
	EXPECT_EQ(tarn_ring_mc_dequeue_burst(g.r, out + 8, 3, &av), 3u);
	EXPECT_EQ(tarn_ring_sc_dequeue_burst(g.r, out + 11, 40, &av), 20u);
	EXPECT_EQ(av, 0u);
	for (unsigned i = 0; i < 31; i++)
		EXPECT_EQ(out[i], in[i]) << i;
	EXPECT_EQ(tarn_ring_check(g.r), 0) << RingLog::last();
}

TEST(RingNamed, RtsCalls)
{
	Ring g("named-rts", 32, TARN_RING_F_MP_RTS_ENQ | TARN_RING_F_MC_RTS_DEQ);
	ASSERT_NE(g.r, nullptr);
	void *in[40], *out[40];
	for (uintptr_t i = 0; i < 40; i++)
		in[i] = P(i + 1);
	unsigned fr, av;
	EXPECT_EQ(tarn_ring_mp_rts_enqueue_bulk(g.r, in, 6, &fr), 6u);
	EXPECT_EQ(fr, 25u);
	EXPECT_EQ(tarn_ring_mp_rts_enqueue_bulk(g.r, in + 6, 26, &fr), 0u);
	EXPECT_EQ(tarn_ring_mp_rts_enqueue_burst(g.r, in + 6, 34, &fr), 25u);
	EXPECT_EQ(fr, 0u);
	EXPECT_EQ(tarn_ring_mc_rts_dequeue_bulk(g.r, out, 32, &av), 0u);
	EXPECT_EQ(av, 31u);
	EXPECT_EQ(tarn_ring_mc_rts_dequeue_bulk(g.r, out, 7, &av), 7u);
	EXPECT_EQ(tarn_ring_mc_rts_dequeue_burst(g.r, out + 7, 40, &av), 24u);
	EXPECT_EQ(av, 0u);
	for (unsigned i = 0; i < 31; i++)
		EXPECT_EQ(out[i], in[i]) << i;
	// the counters agree: 2 operations started and finished on each side
	// (the failed bulk calls count for nothing)
	EXPECT_EQ(g.r->prod.head.v.cnt, 2u);
	EXPECT_EQ(g.r->prod.tail.v.cnt, 2u);
	EXPECT_EQ(g.r->cons.head.v.cnt, 2u);
	EXPECT_EQ(tarn_ring_check(g.r), 0) << RingLog::last();
}

// ST calls on either side of an RTS ring are the caller's business, but a
// ring created SP/SC may use MT calls (MT is a superset).
TEST(RingNamed, MtCallsOnStRing)
{
	Ring g("named-st", 8, TARN_RING_F_SP_ENQ | TARN_RING_F_SC_DEQ);
	ASSERT_NE(g.r, nullptr);
	void *in[4] = { P(1), P(2), P(3), P(4) }, *out[4];
	EXPECT_EQ(tarn_ring_mp_enqueue_bulk(g.r, in, 2, nullptr), 2u);
	EXPECT_EQ(tarn_ring_enqueue_bulk(g.r, in + 2, 2, nullptr), 2u);
	EXPECT_EQ(tarn_ring_mc_dequeue_bulk(g.r, out, 3, nullptr), 3u);
	EXPECT_EQ(tarn_ring_dequeue_bulk(g.r, out + 3, 1, nullptr), 1u);
	for (unsigned i = 0; i < 4; i++)
		EXPECT_EQ(out[i], in[i]);
	EXPECT_EQ(tarn_ring_check(g.r), 0) << RingLog::last();
}

TEST(RingNamed, HtdMax)
{
	Ring rts("htd", 64, TARN_RING_F_MP_RTS_ENQ | TARN_RING_F_MC_RTS_DEQ);
	Ring mt("htd-mt", 64, 0);
	ASSERT_TRUE(rts.r && mt.r);
	EXPECT_EQ(rts.r->prod.htd_max, 63u / 8);
	EXPECT_EQ(tarn_ring_set_htd_max(nullptr, 1, 1), -EINVAL);
	EXPECT_EQ(tarn_ring_set_htd_max(rts.r, 64, UINT32_MAX), -EINVAL);
	EXPECT_EQ(tarn_ring_set_htd_max(rts.r, UINT32_MAX, 100), -EINVAL);
	EXPECT_EQ(tarn_ring_set_htd_max(mt.r, 4, UINT32_MAX), -ENOTSUP);
	EXPECT_EQ(tarn_ring_set_htd_max(mt.r, UINT32_MAX, UINT32_MAX), 0);
	EXPECT_EQ(tarn_ring_set_htd_max(rts.r, 0, 63), 0);
	EXPECT_EQ(rts.r->prod.htd_max, 0u);
	EXPECT_EQ(rts.r->cons.htd_max, 63u);
	EXPECT_EQ(tarn_ring_set_htd_max(rts.r, UINT32_MAX, 5), 0);
	EXPECT_EQ(rts.r->prod.htd_max, 0u);
	EXPECT_EQ(rts.r->cons.htd_max, 5u);
	// htd_max 0 still lets one operation at a time through
	void *in[10] = {}, *out[10];
	EXPECT_EQ(tarn_ring_enqueue_bulk(rts.r, in, 10, nullptr), 10u);
	EXPECT_EQ(tarn_ring_enqueue_bulk(rts.r, in, 10, nullptr), 10u);
	EXPECT_EQ(tarn_ring_dequeue_bulk(rts.r, out, 10, nullptr), 10u);
	EXPECT_EQ(tarn_ring_dequeue_bulk(rts.r, out, 10, nullptr), 10u);
	EXPECT_EQ(tarn_ring_check(rts.r), 0) << RingLog::last();
}

// ---------------------------------------------------------------------------
// element rings

template <unsigned N> struct Elem {
	uint8_t b[N];
};

template <unsigned N> Elem<N> make_elem(uint32_t seq)
{
	Elem<N> e;
	for (unsigned i = 0; i < N; i++)
		e.b[i] = uint8_t(seq * 31 + i * 7 + (seq >> 8));
	return e;
}

template <unsigned N> bool same(const Elem<N> &a, const Elem<N> &b)
{
	return memcmp(a.b, b.b, N) == 0;
}

// `esize` may be the constant N or a value the compiler cannot see
// (run-time element size: the memcpy path).
template <unsigned N> void elem_roundtrip(unsigned flags, unsigned esize)
{
	ASSERT_EQ(esize, N);
	std::string name = "elem" + std::to_string(N);
	Ring g(name.c_str(), 32, flags, N);
	ASSERT_NE(g.r, nullptr);
	EXPECT_EQ(tarn_ring_get_esize(g.r), N);
	const unsigned cap = tarn_ring_get_capacity(g.r);
	std::vector<Elem<N>> in(cap + 3), out(cap + 3);
	uint32_t next_in = 0, next_out = 0;
	for (unsigned round = 0; round < 3 * 32; round++) {
		// odd rounds: bulk of 1..cap; even rounds: burst asking for more
		// than fits, so exactly cap go in and come out
		const bool bulk = round % 2;
		const unsigned n = bulk ? 1 + round % cap : cap;
		for (unsigned i = 0; i < n + 3; i++)
			in[i] = make_elem<N>(next_in + i);
		unsigned fr, av;
		if (bulk)
			ASSERT_EQ(tarn_ring_enqueue_bulk_elem(g.r, in.data(), esize, n, &fr), n);
		else
			ASSERT_EQ(tarn_ring_enqueue_burst_elem(g.r, in.data(), esize, n + 3, &fr),
			          n);
		next_in += n;
		ASSERT_EQ(fr, cap - n);
		if (bulk)
			ASSERT_EQ(tarn_ring_dequeue_bulk_elem(g.r, out.data(), esize, n, &av), n);
		else
			ASSERT_EQ(tarn_ring_dequeue_burst_elem(g.r, out.data(), esize, n + 1, &av),
			          n);
		ASSERT_EQ(av, 0u);
		for (unsigned i = 0; i < n; i++) {
			ASSERT_TRUE(same(out[i], make_elem<N>(next_out++)))
			    << "N " << N << " flags " << flags << " round " << round << " i " << i;
		}
		// shift the slot offset so splits fall everywhere
		if (round % 3 == 0) {
			in[0] = make_elem<N>(next_in++);
			ASSERT_EQ(tarn_ring_enqueue_bulk_elem(g.r, in.data(), esize, 1, nullptr),
			          1u);
			ASSERT_EQ(tarn_ring_dequeue_bulk_elem(g.r, out.data(), esize, 1, nullptr),
			          1u);
			ASSERT_TRUE(same(out[0], make_elem<N>(next_out++)));
		}
	}
	EXPECT_EQ(tarn_ring_check(g.r), 0) << RingLog::last();
}

template <unsigned N> void elem_named(unsigned esize)
{
	Ring st("elem-st", 16, 0, N);
	Ring rts("elem-rts", 16, TARN_RING_F_MP_RTS_ENQ | TARN_RING_F_MC_RTS_DEQ, N);
	ASSERT_TRUE(st.r && rts.r);
	// room for the largest burst asked below, though only 15 fit the ring
	std::vector<Elem<N>> in(24), out(24);
	for (unsigned i = 0; i < 24; i++)
		in[i] = make_elem<N>(i);
	struct tarn_ring *r = st.r;
	EXPECT_EQ(tarn_ring_mp_enqueue_bulk_elem(r, in.data(), esize, 3, nullptr), 3u);
	EXPECT_EQ(tarn_ring_sp_enqueue_bulk_elem(r, in.data() + 3, esize, 3, nullptr), 3u);
	EXPECT_EQ(tarn_ring_mp_enqueue_burst_elem(r, in.data() + 6, esize, 3, nullptr), 3u);
	EXPECT_EQ(tarn_ring_sp_enqueue_burst_elem(r, in.data() + 9, esize, 9, nullptr), 6u);
	EXPECT_EQ(tarn_ring_mc_dequeue_bulk_elem(r, out.data(), esize, 4, nullptr), 4u);
	EXPECT_EQ(tarn_ring_sc_dequeue_bulk_elem(r, out.data() + 4, esize, 4, nullptr), 4u);
	EXPECT_EQ(tarn_ring_mc_dequeue_burst_elem(r, out.data() + 8, esize, 2, nullptr), 2u);
	EXPECT_EQ(tarn_ring_sc_dequeue_burst_elem(r, out.data() + 10, esize, 9, nullptr), 5u);
	for (unsigned i = 0; i < 15; i++)
		EXPECT_TRUE(same(out[i], in[i])) << i;
	EXPECT_EQ(tarn_ring_check(r), 0) << RingLog::last();
	r = rts.r;
	EXPECT_EQ(tarn_ring_mp_rts_enqueue_bulk_elem(r, in.data(), esize, 7, nullptr), 7u);
	EXPECT_EQ(tarn_ring_mp_rts_enqueue_burst_elem(r, in.data() + 7, esize, 10, nullptr), 8u);
	EXPECT_EQ(tarn_ring_mc_rts_dequeue_bulk_elem(r, out.data(), esize, 9, nullptr), 9u);
	EXPECT_EQ(tarn_ring_mc_rts_dequeue_burst_elem(r, out.data() + 9, esize, 9, nullptr), 6u);
	for (unsigned i = 0; i < 15; i++)
		EXPECT_TRUE(same(out[i], in[i])) << i;
	EXPECT_EQ(tarn_ring_check(r), 0) << RingLog::last();
}

volatile unsigned runtime_esize_sink;

// An element size the compiler cannot constant-fold.
unsigned opaque(unsigned v)
{
	runtime_esize_sink = v;
	return runtime_esize_sink;
}

TEST(RingElem, Sizes4_8_16_32)
{
	for (unsigned flags : { 0u, TARN_RING_F_SP_ENQ | TARN_RING_F_SC_DEQ,
	                        TARN_RING_F_MP_RTS_ENQ | TARN_RING_F_MC_RTS_DEQ }) {
		elem_roundtrip<4>(flags, 4);
		elem_roundtrip<8>(flags, 8);
		elem_roundtrip<16>(flags, 16);
		elem_roundtrip<32>(flags, 32);
	}
	elem_named<4>(4);
	elem_named<8>(8);
	elem_named<16>(16);
	elem_named<32>(32);
}

TEST(RingElem, OtherAndRuntimeSizes)
{
	elem_roundtrip<12>(0, 12);
	elem_roundtrip<20>(0, 20);
	elem_roundtrip<128>(0, 128);
	elem_roundtrip<4>(0, opaque(4));
	elem_roundtrip<8>(0, opaque(8));
	elem_roundtrip<16>(0, opaque(16));
	elem_roundtrip<24>(0, opaque(24));
	elem_roundtrip<256>(0, opaque(256));
	elem_named<12>(opaque(12));
	elem_named<64>(64);
}

// Pointer calls on a ring of 8-byte elements are the same thing.
TEST(RingElem, PointerCallsOnElem8)
{
	Ring g("elem8ptr", 16, 0, 8);
	ASSERT_NE(g.r, nullptr);
	uint64_t vals[3] = { 11, 22, 33 };
	ASSERT_EQ(tarn_ring_enqueue_bulk_elem(g.r, vals, 8, 3, nullptr), 3u);
	void *out[3];
	ASSERT_EQ(tarn_ring_dequeue_bulk(g.r, out, 3, nullptr), 3u);
	EXPECT_EQ(out[0], P(11));
	EXPECT_EQ(out[2], P(33));
}

// ---------------------------------------------------------------------------
// check and dump

TEST(RingCheck, DetectsBrokenInvariants)
{
	EXPECT_EQ(tarn_ring_check(nullptr), -EINVAL);
	Ring g("chk", 16, TARN_RING_F_MP_RTS_ENQ);
	ASSERT_NE(g.r, nullptr);
	struct tarn_ring *r = g.r;
	void *objs[4] = {};
	ASSERT_EQ(tarn_ring_enqueue_bulk(r, objs, 4, nullptr), 4u);
	ASSERT_EQ(tarn_ring_check(r), 0) << RingLog::last();
	struct tarn_ring saved;
	memcpy(&saved, r, sizeof(saved));

	struct Corruption {
		const char *what;
		void (*apply)(struct tarn_ring *);
	} cases[] = {
		{ "in flight", [](struct tarn_ring *x) { x->prod.head.v.pos += 1; } },
		{ "consumer head", [](struct tarn_ring *x) { x->cons.head.v.pos += 1; } },
		{ "above capacity",
		  [](struct tarn_ring *x) {
		          x->prod.head.v.pos += 20;
		          x->prod.tail.v.pos += 20;
		  } },
		{ "past producer tail",
		  [](struct tarn_ring *x) {
		          x->cons.head.v.pos += 5;
		          x->cons.tail.v.pos += 5;
		  } },
		{ "RTS counts", [](struct tarn_ring *x) { x->prod.tail.v.cnt += 1; } },
		{ "mask", [](struct tarn_ring *x) { x->mask = 7; } },
		{ "size", [](struct tarn_ring *x) { x->size = 12; } },
		{ "capacity", [](struct tarn_ring *x) { x->capacity = 16; } },
		{ "element size", [](struct tarn_ring *x) { x->esize = 6; } },
		{ "mode", [](struct tarn_ring *x) { x->cons.sync = TARN_RING_SYNC_RTS; } },
		{ "flags", [](struct tarn_ring *x) { x->flags |= 0x400; } },
		{ "htd_max", [](struct tarn_ring *x) { x->prod.htd_max = 100; } },
		{ "cached tail ahead", [](struct tarn_ring *x) { x->cons.head.v.opp += 5; } },
		{ "cached tail too old", [](struct tarn_ring *x) { x->cons.head.v.opp -= 16; } },
	};
	for (auto &c : cases) {
		RingLog::clear();
		c.apply(r);
		EXPECT_EQ(tarn_ring_check(r), -EIO) << c.what;
		EXPECT_TRUE(RingLog::contains("check chk: ")) << c.what;
		memcpy(static_cast<void *>(r), &saved, sizeof(saved));
		EXPECT_EQ(tarn_ring_check(r), 0) << c.what;
	}
}

std::string dump_to_string(const struct tarn_ring *r)
{
	char *buf = nullptr;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	tarn_ring_dump(f, r);
	fclose(f);
	std::string s(buf, len);
	free(buf);
	return s;
}

TEST(RingCheck, Dump)
{
	Ring g("dumped", 64, TARN_RING_F_SP_ENQ | TARN_RING_F_MC_RTS_DEQ);
	ASSERT_NE(g.r, nullptr);
	void *objs[5] = {};
	ASSERT_EQ(tarn_ring_enqueue_bulk(g.r, objs, 5, nullptr), 5u);
	std::string s = dump_to_string(g.r);
	EXPECT_NE(s.find("ring dumped"), std::string::npos) << s;
	EXPECT_NE(s.find("capacity 63"), std::string::npos) << s;
	EXPECT_NE(s.find("producer: ST, head 5, tail 5"), std::string::npos) << s;
	EXPECT_NE(s.find("consumer: RTS"), std::string::npos) << s;
	EXPECT_NE(s.find("used 5, free 58"), std::string::npos) << s;
	EXPECT_NE(dump_to_string(nullptr).find("NULL"), std::string::npos);
}

} // namespace
