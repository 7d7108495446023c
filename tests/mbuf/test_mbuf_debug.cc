// SPDX-License-Identifier: BSD-3-Clause
// mbuf debug modes: TARN_DEBUG=mbuf pools (checked frees, mempool debug) and
// TARN_MBUF_DEBUG (checked inline calls, enabled for this file only).
#define TARN_MBUF_DEBUG 1
#include "mbuf_test.h"

#include <cstdlib>

namespace
{

// A pool created with TARN_DEBUG=mbuf in the environment.
struct DebugPool : Pool {
	static const char *with_env(const char *name)
	{
		setenv("TARN_DEBUG", "mbuf", 1);
		return name;
	}
	explicit DebugPool(const char *name, unsigned n) : Pool(with_env(name), n)
	{
		unsetenv("TARN_DEBUG");
	}
};

TEST(MbufDebug, EnvModeChecksEveryFree)
{
	DebugPool p("mb_dbg", 16);
	ASSERT_NE(p.mp, nullptr);
	EXPECT_TRUE(tarn_mempool_debug_enabled(p));
	auto *priv = static_cast<struct tarn_pktmbuf_pool_private *>(tarn_mempool_get_priv(p));
	EXPECT_EQ(priv->flags & TARN_PKTMBUF_POOL_F_DEBUG, TARN_PKTMBUF_POOL_F_DEBUG);

	// ordinary use works
	struct tarn_mbuf *m = mbuf_with(p, 50);
	ASSERT_NE(m, nullptr);
	EXPECT_EQ(m->mbuf_flags & TARN_MBUF_DEBUGGED, TARN_MBUF_DEBUGGED);
	ASSERT_EQ(tarn_pktmbuf_chain(m, mbuf_with(p, 50)), 0);
	tarn_pktmbuf_free(m);
	EXPECT_EQ(p.in_use(), 0u);

	// a corrupted packet is refused, not freed
	const uint64_t errs = tarn_mbuf_debug_errors();
	MbufLog::clear();
	m = mbuf_with(p, 50);
	m->pkt_len = 49;
	tarn_pktmbuf_free(m);
	EXPECT_EQ(tarn_mbuf_debug_errors(), errs + 1);
	EXPECT_TRUE(MbufLog::contains("refused"));
	EXPECT_EQ(p.in_use(), 1u);

	// in a bulk, only the bad one stays out
	struct tarn_mbuf *v[3] = { mbuf_with(p, 1), m, mbuf_with(p, 1) };
	tarn_pktmbuf_free_bulk(v, 3);
	EXPECT_EQ(tarn_mbuf_debug_errors(), errs + 2);
	EXPECT_EQ(p.in_use(), 1u);

	// a loop is refused (the free would never end)
	m->pkt_len = 50;
	struct tarn_mbuf *s = mbuf_with(p, 50);
	ASSERT_EQ(tarn_pktmbuf_chain(m, s), 0);
	s->next = m;
	tarn_pktmbuf_free(m);
	EXPECT_EQ(tarn_mbuf_debug_errors(), errs + 3);
	EXPECT_EQ(p.in_use(), 2u);
	s->next = nullptr;
	tarn_pktmbuf_free_seg(s); // a segment alone checks as a segment: fine
	m->next = nullptr;
	m->nb_segs = 1;
	m->pkt_len = 50;
	tarn_pktmbuf_free(m);
	EXPECT_EQ(p.in_use(), 0u);

#if !defined(TARN_MEMPOOL_ASAN)
	// double free: caught by the mempool's debug mode (under ASan the second
	// free would read a poisoned mbuf, which ASan reports instead)
	struct tarn_mempool_stats st;
	m = tarn_pktmbuf_alloc(p);
	tarn_pktmbuf_free(m);
	tarn_pktmbuf_free(m);
	ASSERT_EQ(tarn_mempool_stats(p, &st), 0);
	EXPECT_EQ(st.dbg_double_put, 1u);
	EXPECT_EQ(p.in_use(), 0u);
#endif
}

TEST(MbufDebug, PoolsWithoutEnvAreNotDebugged)
{
	Pool p("mb_nodbg", 4);
	struct tarn_mbuf *m = tarn_pktmbuf_alloc(p);
	EXPECT_EQ(m->mbuf_flags, 0);
	EXPECT_FALSE(tarn_mempool_debug_enabled(p));
	tarn_pktmbuf_free(m);
}

TEST(MbufDebug, InlineCallsCheckTheirMbuf)
{
	Pool p("mb_inl", 8);
	struct tarn_mbuf *m = mbuf_with(p, 100);
	ASSERT_NE(m, nullptr);
	const uint64_t errs = tarn_mbuf_debug_errors();
	m->pkt_len = 7; // inconsistent with data_len
	EXPECT_EQ(tarn_pktmbuf_prepend(m, 1), nullptr);
	EXPECT_EQ(tarn_pktmbuf_append(m, 1), nullptr);
	EXPECT_EQ(tarn_pktmbuf_adj(m, 1), -EINVAL);
	EXPECT_EQ(tarn_pktmbuf_trim(m, 1), -EINVAL);
	EXPECT_EQ(tarn_mbuf_debug_errors(), errs + 4);
	EXPECT_EQ(m->data_len, 100) << "nothing changed";
	// refcnt out of range is refused
	EXPECT_EQ(tarn_mbuf_refcnt_update(m, -2), 1);
	EXPECT_EQ(tarn_mbuf_debug_errors(), errs + 5);
	// a free of a bad segment is refused (the packet is leaked, not corrupted)
	tarn_mbuf_refcnt_set(m, 0);
	tarn_pktmbuf_free(m);
	EXPECT_EQ(tarn_mbuf_debug_errors(), errs + 6);
	EXPECT_EQ(p.in_use(), 1u);
	tarn_mbuf_refcnt_set(m, 1);
	m->pkt_len = 100;
	EXPECT_NE(tarn_pktmbuf_prepend(m, 1), nullptr);
	tarn_pktmbuf_free(m);
	EXPECT_EQ(p.in_use(), 0u);
	// and allocations are checked too (they pass)
	struct tarn_mbuf *ms[4];
	ASSERT_EQ(tarn_pktmbuf_alloc_bulk(p, ms, 4), 0);
	tarn_pktmbuf_free_bulk(ms, 4);
	EXPECT_EQ(tarn_mbuf_debug_errors(), errs + 6);
}

} // namespace
