// SPDX-License-Identifier: BSD-3-Clause
// mbuf unit tests: pools, alloc/free, data editing, chains, clones, copies,
// linearize, free_bulk, reset, dump, names, sanity check.
#include "mbuf_test.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace
{

class MbufEnv : public ::testing::Environment
{
      public:
	void SetUp() override
	{
		tarn_log_set_handler(MbufLog::fn, nullptr);
		struct tarn_config cfg;
		ASSERT_EQ(tarn_config_init(&cfg), 0);
		snprintf(cfg.lcores, sizeof(cfg.lcores), "0");
		cfg.no_pin_main = 1;
		snprintf(cfg.file_prefix, sizeof(cfg.file_prefix), "tarn-test-mbuf");
		ASSERT_EQ(tarn_init(&cfg), 0);
	}
	void TearDown() override
	{
		EXPECT_EQ(tarn_cleanup(), 0);
		tarn_log_set_handler(nullptr, nullptr);
	}
};

::testing::Environment *const mbuf_env = ::testing::AddGlobalTestEnvironment(new MbufEnv);

// ---------------------------------------------------------------------------
// Layout

TEST(MbufLayout, DescriptorIs128BytesWithHotFieldsOnFirstLine)
{
	EXPECT_EQ(sizeof(struct tarn_mbuf), 128u);
	EXPECT_LT(offsetof(struct tarn_mbuf, next), 64u);
	EXPECT_LT(offsetof(struct tarn_mbuf, pool), 64u);
	EXPECT_LT(offsetof(struct tarn_mbuf, pkt_len), 64u);
	EXPECT_LT(offsetof(struct tarn_mbuf, ol_flags), 64u);
	EXPECT_LT(offsetof(struct tarn_mbuf, hash), 64u);
	EXPECT_EQ(offsetof(struct tarn_mbuf, buf_iova), 64u);
	EXPECT_EQ(offsetof(struct tarn_mbuf, rearm_data), offsetof(struct tarn_mbuf, data_off));
}

// ---------------------------------------------------------------------------
// Pools

TEST(MbufPool, CreateErrors)
{
	MbufLog::clear();
	EXPECT_EQ(tarn_pktmbuf_pool_create(nullptr, 16, 0, 0, 2176, TARN_SOCKET_ANY), nullptr);
	EXPECT_EQ(tarn_errno, EINVAL);
	EXPECT_EQ(tarn_pktmbuf_pool_create("mb_err", 0, 0, 0, 2176, TARN_SOCKET_ANY), nullptr);
	EXPECT_EQ(tarn_errno, EINVAL);
	EXPECT_EQ(tarn_pktmbuf_pool_create("mb_err", 16, 0, 7, 2176, TARN_SOCKET_ANY), nullptr);
	EXPECT_EQ(tarn_errno, EINVAL);
	EXPECT_TRUE(MbufLog::contains("priv_size 7"));
	EXPECT_EQ(tarn_pktmbuf_pool_create("mb_err", 16, TARN_MEMPOOL_CACHE_MAX + 1, 0, 2176,
	                                   TARN_SOCKET_ANY),
	          nullptr);
	EXPECT_EQ(tarn_errno, EINVAL);
	EXPECT_EQ(tarn_pktmbuf_pool_create("mb_err", 16, 32, 0, 2176, TARN_SOCKET_ANY), nullptr)
	    << "cache larger than n";
	EXPECT_EQ(tarn_errno, EINVAL);
	EXPECT_EQ(tarn_pktmbuf_pool_create("mb_err", 16, 0, 0, 2176, 77), nullptr);
	EXPECT_EQ(tarn_errno, EINVAL);
	EXPECT_EQ(tarn_pktmbuf_pool_create("a_name_that_is_much_too_long_for_tarn", 16, 0, 0, 2176,
	                                   TARN_SOCKET_ANY),
	          nullptr);
	EXPECT_EQ(tarn_errno, ENAMETOOLONG);
	EXPECT_EQ(tarn_pktmbuf_pool_create_by_ops("mb_err", 16, 0, 0, 2176, TARN_SOCKET_ANY,
	                                          "no_such_ops", 0),
	          nullptr);
	EXPECT_EQ(tarn_errno, ENOENT);
	EXPECT_EQ(tarn_pktmbuf_pool_create_by_ops("mb_err", 16, 0, 0, 2176, TARN_SOCKET_ANY,
	                                          nullptr, 0x8000),
	          nullptr);
	EXPECT_EQ(tarn_errno, EINVAL);
	{
		Pool p("mb_dup", 16);
		EXPECT_EQ(tarn_pktmbuf_pool_create("mb_dup", 16, 0, 0, 2176, TARN_SOCKET_ANY),
		          nullptr);
		EXPECT_EQ(tarn_errno, EEXIST);
	}
	// Accessors reject what is not an mbuf pool.
	EXPECT_EQ(tarn_pktmbuf_data_room_size(nullptr), -EINVAL);
	EXPECT_EQ(tarn_pktmbuf_priv_size(nullptr), -EINVAL);
	EXPECT_FALSE(tarn_pktmbuf_pool_is_mbuf_pool(nullptr));
	struct tarn_mempool *plain =
	    tarn_mempool_create("mb_plain", 16, 64, 0, 64, nullptr, nullptr, TARN_SOCKET_ANY, 0);
	ASSERT_NE(plain, nullptr);
	EXPECT_FALSE(tarn_pktmbuf_pool_is_mbuf_pool(plain));
	EXPECT_EQ(tarn_pktmbuf_data_room_size(plain), -EINVAL);
	EXPECT_EQ(tarn_pktmbuf_priv_size(plain), -EINVAL);
	EXPECT_EQ(tarn_mempool_free(plain, 0), 0);
}

TEST(MbufPool, ObjectsAreInitialisedOnce)
{
	Pool p("mb_init", 32, 8, 64, 1000);
	ASSERT_NE(p.mp, nullptr);
	EXPECT_TRUE(tarn_pktmbuf_pool_is_mbuf_pool(p));
	EXPECT_EQ(tarn_pktmbuf_data_room_size(p), 1000);
	EXPECT_EQ(tarn_pktmbuf_priv_size(p), 64);
	EXPECT_GE(tarn_mempool_elt_size(p), sizeof(struct tarn_mbuf) + 64 + 1000);

	struct tarn_mbuf *ms[32];
	ASSERT_EQ(tarn_pktmbuf_alloc_bulk(p, ms, 32), 0);
	for (auto *m : ms) {
		EXPECT_EQ(m->pool, p.mp);
		EXPECT_EQ(tarn_mempool_from_obj(m), p.mp);
		EXPECT_EQ(m->buf_addr, (char *)m + sizeof(*m) + 64);
		EXPECT_EQ(tarn_mbuf_to_priv(m), (void *)((char *)m + sizeof(*m)));
		EXPECT_EQ(m->buf_len, 1000);
		EXPECT_EQ(m->priv_size, 64);
		EXPECT_EQ(m->refcnt, 1);
		EXPECT_TRUE(TARN_MBUF_DIRECT(m));
		const tarn_iova_t iova = tarn_mempool_virt2iova(m);
		if (iova != TARN_BAD_IOVA) {
			EXPECT_EQ(m->buf_iova, iova + sizeof(*m) + 64);
		}
		EXPECT_EQ(tarn_pktmbuf_iova(m), m->buf_iova + m->data_off);
		EXPECT_EQ(tarn_pktmbuf_iova_offset(m, 10), m->buf_iova + m->data_off + 10);
		// the private area and the buffer are writable, end to end
		memset(tarn_mbuf_to_priv(m), 0xab, 64);
		memset(m->buf_addr, 0xcd, m->buf_len);
		expect_sane(m);
	}
	EXPECT_EQ(p.in_use(), 32u);
	tarn_pktmbuf_free_bulk(ms, 32);
	EXPECT_EQ(p.in_use(), 0u);
}

// ---------------------------------------------------------------------------
// Alloc and free

TEST(MbufAlloc, FreshMbufFields)
{
	Pool p("mb_fresh", 8, 4);
	struct tarn_mbuf *m = tarn_pktmbuf_alloc(p);
	ASSERT_NE(m, nullptr);
	EXPECT_EQ(m->data_off, TARN_PKTMBUF_HEADROOM);
	EXPECT_EQ(m->data_len, 0);
	EXPECT_EQ(m->pkt_len, 0u);
	EXPECT_EQ(m->nb_segs, 1);
	EXPECT_EQ(m->next, nullptr);
	EXPECT_EQ(m->port, TARN_MBUF_PORT_INVALID);
	EXPECT_EQ(m->ol_flags, 0u);
	EXPECT_EQ(m->packet_type, 0u);
	EXPECT_EQ(m->vlan_tci, 0);
	EXPECT_EQ(m->vlan_tci_outer, 0);
	EXPECT_EQ(tarn_mbuf_refcnt_read(m), 1);
	EXPECT_EQ(tarn_pktmbuf_headroom(m), TARN_PKTMBUF_HEADROOM);
	EXPECT_EQ(tarn_pktmbuf_tailroom(m), TARN_MBUF_DEFAULT_DATAROOM);
	EXPECT_EQ(tarn_pktmbuf_mtod(m, char *), (char *)m->buf_addr + TARN_PKTMBUF_HEADROOM);
	EXPECT_EQ(tarn_pktmbuf_mtod_offset(m, char *, 14),
	          (char *)m->buf_addr + TARN_PKTMBUF_HEADROOM + 14);
	EXPECT_TRUE(tarn_pktmbuf_is_contiguous(m));
	expect_sane(m);

	// Dirty everything alloc resets, free, and take it back: all reset.
	ASSERT_NE(tarn_pktmbuf_append(m, 100), nullptr);
	ASSERT_EQ(tarn_pktmbuf_adj(m, 10), 0);
	m->port = 3;
	m->ol_flags = TARN_MBUF_F_RX_VLAN | TARN_MBUF_F_RX_RSS_HASH;
	m->packet_type = TARN_PTYPE_L2_ETHER | TARN_PTYPE_L3_IPV4 | TARN_PTYPE_L4_UDP;
	m->vlan_tci = 42;
	m->vlan_tci_outer = 7;
	m->hash.rss = 0x12345678;
	struct tarn_mbuf *old = m;
	tarn_pktmbuf_free(m);
	EXPECT_EQ(p.in_use(), 0u);
	m = tarn_pktmbuf_alloc(p);
	ASSERT_EQ(m, old) << "a cache hands back the mbuf just freed";
	EXPECT_EQ(m->data_off, TARN_PKTMBUF_HEADROOM);
	EXPECT_EQ(m->data_len, 0);
	EXPECT_EQ(m->pkt_len, 0u);
	EXPECT_EQ(m->port, TARN_MBUF_PORT_INVALID);
	EXPECT_EQ(m->ol_flags, 0u);
	EXPECT_EQ(m->packet_type, 0u);
	EXPECT_EQ(m->vlan_tci, 0);
	EXPECT_EQ(m->vlan_tci_outer, 0);
	tarn_pktmbuf_free(m);
}

TEST(MbufAlloc, DataRoomSmallerThanHeadroom)
{
	Pool p("mb_small", 4, 0, 0, 64);
	struct tarn_mbuf *m = tarn_pktmbuf_alloc(p);
	ASSERT_NE(m, nullptr);
	EXPECT_EQ(m->buf_len, 64);
	EXPECT_EQ(m->data_off, 64);
	EXPECT_EQ(tarn_pktmbuf_tailroom(m), 0);
	EXPECT_EQ(tarn_pktmbuf_append(m, 1), nullptr);
	expect_sane(m);
	tarn_pktmbuf_free(m);

	Pool z("mb_zero", 4, 0, 0, 0);
	m = tarn_pktmbuf_alloc(z);
	ASSERT_NE(m, nullptr);
	EXPECT_EQ(m->buf_len, 0);
	EXPECT_EQ(m->data_off, 0);
	EXPECT_EQ(tarn_pktmbuf_prepend(m, 1), nullptr);
	expect_sane(m);
	tarn_pktmbuf_free(m);
}

class MbufAllocCache : public ::testing::TestWithParam<unsigned>
{
};

TEST_P(MbufAllocCache, UntilExhaustedThenNoBufs)
{
	const unsigned cache = GetParam();
	Pool p(("mb_exh" + std::to_string(cache)).c_str(), 64, cache);
	std::vector<struct tarn_mbuf *> got;
	for (unsigned i = 0; i < 64; i++) {
		struct tarn_mbuf *m = tarn_pktmbuf_alloc(p);
		ASSERT_NE(m, nullptr) << i;
		got.push_back(m);
	}
	EXPECT_EQ(p.in_use(), 64u);
	tarn_errno = 0;
	EXPECT_EQ(tarn_pktmbuf_alloc(p), nullptr);
	EXPECT_EQ(tarn_errno, ENOBUFS);
	struct tarn_mbuf *bulk[32];
	EXPECT_EQ(tarn_pktmbuf_alloc_bulk(p, bulk, 1), -ENOBUFS);

	// Give 10 back: a bulk of 32 fails and takes nothing; a bulk of 10 works.
	tarn_pktmbuf_free_bulk(got.data() + 54, 10);
	got.resize(54);
	EXPECT_EQ(p.in_use(), 54u);
	EXPECT_EQ(tarn_pktmbuf_alloc_bulk(p, bulk, 32), -ENOBUFS);
	EXPECT_EQ(p.in_use(), 54u);
	ASSERT_EQ(tarn_pktmbuf_alloc_bulk(p, bulk, 10), 0);
	for (unsigned i = 0; i < 10; i++) {
		EXPECT_EQ(bulk[i]->data_len, 0);
		EXPECT_EQ(bulk[i]->refcnt, 1);
		got.push_back(bulk[i]);
	}
	EXPECT_EQ(p.in_use(), 64u);
	tarn_pktmbuf_free_bulk(got.data(), (unsigned)got.size());
	EXPECT_EQ(p.in_use(), 0u);
	EXPECT_TRUE(tarn_mempool_full(p));
}

INSTANTIATE_TEST_SUITE_P(Cache, MbufAllocCache, ::testing::Values(0u, 16u, 64u));

TEST(MbufAlloc, InvalidArguments)
{
	Pool p("mb_inval", 8);
	struct tarn_mbuf *ms[16];
	tarn_errno = 0;
	EXPECT_EQ(tarn_pktmbuf_alloc(nullptr), nullptr);
	EXPECT_EQ(tarn_errno, EINVAL);
	EXPECT_EQ(tarn_pktmbuf_alloc_bulk(nullptr, ms, 4), -EINVAL);
	EXPECT_EQ(tarn_pktmbuf_alloc_bulk(p, nullptr, 4), -EINVAL);
	EXPECT_EQ(tarn_pktmbuf_alloc_bulk(p, ms, 9), -EINVAL) << "more than the pool holds";
	EXPECT_EQ(tarn_pktmbuf_alloc_bulk(p, ms, 0), 0);
	// NULL frees are no-ops
	tarn_pktmbuf_free(nullptr);
	tarn_pktmbuf_free_seg(nullptr);
	tarn_pktmbuf_free_bulk(nullptr, 4);
	struct tarn_mbuf *nulls[3] = { nullptr, nullptr, nullptr };
	tarn_pktmbuf_free_bulk(nulls, 3);
	tarn_pktmbuf_reset(nullptr);
	EXPECT_EQ(p.in_use(), 0u);
	// the NULL-tolerant inline helpers
	EXPECT_EQ(tarn_pktmbuf_headroom(nullptr), 0);
	EXPECT_EQ(tarn_pktmbuf_tailroom(nullptr), 0);
	EXPECT_EQ(tarn_pktmbuf_lastseg(nullptr), nullptr);
	EXPECT_EQ(tarn_pktmbuf_prepend(nullptr, 1), nullptr);
	EXPECT_EQ(tarn_pktmbuf_append(nullptr, 1), nullptr);
	EXPECT_EQ(tarn_pktmbuf_adj(nullptr, 1), -EINVAL);
	EXPECT_EQ(tarn_pktmbuf_trim(nullptr, 1), -EINVAL);
	EXPECT_EQ(tarn_pktmbuf_read(nullptr, 0, 1, nullptr), nullptr);
}

// ---------------------------------------------------------------------------
// Editing data

TEST(MbufEdit, PrependUntilHeadroomExhausted)
{
	Pool p("mb_prep", 4);
	struct tarn_mbuf *m = mbuf_with(p, 10);
	ASSERT_NE(m, nullptr);
	char *d = tarn_pktmbuf_prepend(m, 14);
	ASSERT_NE(d, nullptr);
	EXPECT_EQ(d, tarn_pktmbuf_mtod(m, char *));
	EXPECT_EQ(m->data_len, 24);
	EXPECT_EQ(m->pkt_len, 24u);
	EXPECT_EQ(tarn_pktmbuf_headroom(m), TARN_PKTMBUF_HEADROOM - 14);
	// more than what is left: NULL, nothing changed
	EXPECT_EQ(tarn_pktmbuf_prepend(m, TARN_PKTMBUF_HEADROOM - 13), nullptr);
	EXPECT_EQ(m->data_len, 24);
	EXPECT_EQ(m->pkt_len, 24u);
	EXPECT_EQ(m->data_off, TARN_PKTMBUF_HEADROOM - 14);
	// exactly what is left works, then nothing more
	EXPECT_EQ(tarn_pktmbuf_prepend(m, TARN_PKTMBUF_HEADROOM - 14), m->buf_addr);
	EXPECT_EQ(tarn_pktmbuf_headroom(m), 0);
	EXPECT_EQ(tarn_pktmbuf_prepend(m, 1), nullptr);
	EXPECT_NE(tarn_pktmbuf_prepend(m, 0), nullptr);
	EXPECT_EQ(m->pkt_len, 10u + TARN_PKTMBUF_HEADROOM);
	expect_sane(m);
	tarn_pktmbuf_free(m);
}

TEST(MbufEdit, AppendUntilTailroomExhausted)
{
	Pool p("mb_app", 4, 0, 0, 256);
	struct tarn_mbuf *m = tarn_pktmbuf_alloc(p);
	ASSERT_NE(m, nullptr);
	const uint16_t room = tarn_pktmbuf_tailroom(m);
	EXPECT_EQ(room, 256 - TARN_PKTMBUF_HEADROOM);
	char *a = tarn_pktmbuf_append(m, 100);
	ASSERT_NE(a, nullptr);
	EXPECT_EQ(a, tarn_pktmbuf_mtod(m, char *));
	char *b = tarn_pktmbuf_append(m, 20);
	EXPECT_EQ(b, a + 100);
	EXPECT_EQ(tarn_pktmbuf_append(m, (uint16_t)(room - 119)), nullptr);
	EXPECT_EQ(m->data_len, 120);
	EXPECT_EQ(m->pkt_len, 120u);
	EXPECT_NE(tarn_pktmbuf_append(m, (uint16_t)(room - 120)), nullptr);
	EXPECT_EQ(tarn_pktmbuf_tailroom(m), 0);
	EXPECT_EQ(tarn_pktmbuf_append(m, 1), nullptr);
	EXPECT_EQ(m->pkt_len, room);
	expect_sane(m);
	tarn_pktmbuf_free(m);
}

TEST(MbufEdit, AdjAndTrim)
{
	Pool p("mb_adj", 4);
	struct tarn_mbuf *m = mbuf_with(p, 100);
	ASSERT_NE(m, nullptr);
	EXPECT_EQ(tarn_pktmbuf_adj(m, 101), -EINVAL);
	EXPECT_EQ(tarn_pktmbuf_trim(m, 101), -EINVAL);
	EXPECT_EQ(m->data_len, 100);
	EXPECT_EQ(m->pkt_len, 100u);
	EXPECT_EQ(m->data_off, TARN_PKTMBUF_HEADROOM);
	EXPECT_EQ(tarn_pktmbuf_adj(m, 10), 0);
	EXPECT_EQ(tarn_pktmbuf_mtod(m, uint8_t *)[0], 10);
	EXPECT_EQ(m->data_off, TARN_PKTMBUF_HEADROOM + 10);
	EXPECT_EQ(tarn_pktmbuf_trim(m, 20), 0);
	EXPECT_EQ(m->data_len, 70);
	EXPECT_EQ(m->pkt_len, 70u);
	EXPECT_EQ(tarn_pktmbuf_mtod(m, uint8_t *)[69], 79);
	EXPECT_EQ(tarn_pktmbuf_adj(m, 71), -EINVAL);
	EXPECT_EQ(tarn_pktmbuf_adj(m, 70), 0);
	EXPECT_EQ(m->pkt_len, 0u);
	EXPECT_EQ(tarn_pktmbuf_trim(m, 1), -EINVAL);
	EXPECT_EQ(tarn_pktmbuf_trim(m, 0), 0);
	expect_sane(m);
	tarn_pktmbuf_free(m);
}

TEST(MbufEdit, ResetClearsEverythingAllocDoesAndTxOffload)
{
	Pool p("mb_reset", 4);
	struct tarn_mbuf *m = mbuf_with(p, 60);
	ASSERT_NE(m, nullptr);
	m->port = 1;
	m->ol_flags = TARN_MBUF_F_TX_IP_CKSUM | TARN_MBUF_F_TX_IPV4;
	m->l2_len = 14;
	m->l3_len = 20;
	m->packet_type = TARN_PTYPE_L3_IPV4;
	m->vlan_tci = 5;
	m->hash.rss = 77;
	m->udata64[0] = 99;
	ASSERT_EQ(tarn_pktmbuf_adj(m, 4), 0);
	tarn_pktmbuf_reset(m);
	EXPECT_EQ(m->data_off, TARN_PKTMBUF_HEADROOM);
	EXPECT_EQ(m->data_len, 0);
	EXPECT_EQ(m->pkt_len, 0u);
	EXPECT_EQ(m->port, TARN_MBUF_PORT_INVALID);
	EXPECT_EQ(m->ol_flags, 0u);
	EXPECT_EQ(m->tx_offload, 0u);
	EXPECT_EQ(m->l2_len, 0u);
	EXPECT_EQ(m->packet_type, 0u);
	EXPECT_EQ(m->vlan_tci, 0);
	EXPECT_EQ(m->nb_segs, 1);
	EXPECT_EQ(m->refcnt, 1);
	EXPECT_EQ(m->hash.rss, 77u) << "hash is meaningful only with its flag: left alone";
	EXPECT_EQ(m->udata64[0], 99u);
	expect_sane(m);
	tarn_pktmbuf_free(m);
}

TEST(MbufEdit, ReadInsideAndAcrossSegments)
{
	Pool p("mb_read", 8);
	struct tarn_mbuf *a = mbuf_with(p, 10, 0);
	struct tarn_mbuf *b = mbuf_with(p, 10, 10);
	struct tarn_mbuf *c = mbuf_with(p, 10, 20);
	ASSERT_EQ(tarn_pktmbuf_chain(a, b), 0);
	ASSERT_EQ(tarn_pktmbuf_chain(a, c), 0);
	uint8_t buf[30];
	// inside one segment: a pointer into it, buf unused
	EXPECT_EQ(tarn_pktmbuf_read(a, 2, 5, nullptr), tarn_pktmbuf_mtod_offset(a, char *, 2));
	EXPECT_EQ(tarn_pktmbuf_read(a, 12, 5, nullptr), tarn_pktmbuf_mtod_offset(b, char *, 2));
	EXPECT_EQ(tarn_pktmbuf_read(a, 20, 10, nullptr), tarn_pktmbuf_mtod(c, char *));
	// across: a copy in buf
	const uint8_t *r = (const uint8_t *)tarn_pktmbuf_read(a, 5, 22, buf);
	ASSERT_EQ(r, buf);
	for (unsigned i = 0; i < 22; i++)
		EXPECT_EQ(r[i], 5 + i);
	EXPECT_EQ(tarn_pktmbuf_read(a, 5, 22, nullptr), nullptr) << "needs a copy, no buf";
	EXPECT_EQ(tarn_pktmbuf_read(a, 0, 31, buf), nullptr);
	EXPECT_EQ(tarn_pktmbuf_read(a, 30, 1, buf), nullptr);
	EXPECT_NE(tarn_pktmbuf_read(a, 30, 0, buf), nullptr);
	EXPECT_EQ(tarn_pktmbuf_read(a, UINT32_MAX, 2, buf), nullptr);
	r = (const uint8_t *)tarn_pktmbuf_read(a, 0, 30, buf);
	ASSERT_NE(r, nullptr);
	for (unsigned i = 0; i < 30; i++)
		EXPECT_EQ(r[i], i);
	tarn_pktmbuf_free(a);
	EXPECT_EQ(p.in_use(), 0u);
}

// ---------------------------------------------------------------------------
// Chains

TEST(MbufChain, HundredSegments)
{
	Pool p("mb_ch100", 128, 32);
	struct tarn_mbuf *head = mbuf_with(p, 7, 0);
	ASSERT_NE(head, nullptr);
	uint32_t total = 7;
	for (unsigned i = 1; i < 100; i++) {
		struct tarn_mbuf *s = mbuf_with(p, (uint16_t)(i % 50 + 1), total);
		ASSERT_NE(s, nullptr);
		total += i % 50 + 1;
		ASSERT_EQ(tarn_pktmbuf_chain(head, s), 0);
		EXPECT_EQ(s->nb_segs, 1);
		EXPECT_EQ(s->pkt_len, s->data_len);
	}
	EXPECT_EQ(head->nb_segs, 100);
	EXPECT_EQ(head->pkt_len, total);
	EXPECT_FALSE(tarn_pktmbuf_is_contiguous(head));
	expect_sane(head);
	std::vector<uint8_t> bytes = mbuf_bytes(head);
	ASSERT_EQ(bytes.size(), total);
	for (uint32_t i = 0; i < total; i++)
		ASSERT_EQ(bytes[i], i & 0xff) << i;

	// append and trim act on the last segment, keeping pkt_len right
	struct tarn_mbuf *last = tarn_pktmbuf_lastseg(head);
	const uint16_t last_len = last->data_len;
	char *t = tarn_pktmbuf_append(head, 3);
	ASSERT_NE(t, nullptr);
	EXPECT_EQ(t, tarn_pktmbuf_mtod_offset(last, char *, last_len));
	EXPECT_EQ(head->pkt_len, total + 3);
	EXPECT_EQ(tarn_pktmbuf_trim(head, (uint16_t)(last->data_len + 1)), -EINVAL);
	EXPECT_EQ(tarn_pktmbuf_trim(head, 3), 0);
	EXPECT_EQ(head->pkt_len, total);
	expect_sane(head);

	EXPECT_EQ(p.in_use(), 100u);
	tarn_pktmbuf_free(head);
	EXPECT_EQ(p.in_use(), 0u);
}

TEST(MbufChain, Errors)
{
	Pool p("mb_cherr", 8);
	struct tarn_mbuf *a = mbuf_with(p, 10);
	struct tarn_mbuf *b = mbuf_with(p, 10);
	struct tarn_mbuf *c = mbuf_with(p, 10);
	EXPECT_EQ(tarn_pktmbuf_chain(nullptr, b), -EINVAL);
	EXPECT_EQ(tarn_pktmbuf_chain(a, nullptr), -EINVAL);
	EXPECT_EQ(tarn_pktmbuf_chain(a, a), -EINVAL);
	ASSERT_EQ(tarn_pktmbuf_chain(a, b), 0);
	EXPECT_EQ(tarn_pktmbuf_chain(a, b), -EINVAL) << "b already in a: a loop";
	EXPECT_EQ(tarn_pktmbuf_chain(b, a), -EINVAL) << "a leads to b: a loop";

	// past the segment limit: refused, nothing changed
	const uint16_t saved = a->nb_segs;
	a->nb_segs = TARN_MBUF_MAX_SEGS;
	EXPECT_EQ(tarn_pktmbuf_chain(a, c), -EOVERFLOW);
	a->nb_segs = saved;
	EXPECT_EQ(a->next->next, nullptr);
	// past the length limit
	const uint32_t saved_len = c->pkt_len;
	c->pkt_len = UINT32_MAX - 5;
	EXPECT_EQ(tarn_pktmbuf_chain(a, c), -EOVERFLOW);
	c->pkt_len = saved_len;
	ASSERT_EQ(tarn_pktmbuf_chain(a, c), 0);
	EXPECT_EQ(a->nb_segs, 3);
	EXPECT_EQ(a->pkt_len, 30u);
	expect_sane(a);
	tarn_pktmbuf_free(a);
	EXPECT_EQ(p.in_use(), 0u);
}

TEST(MbufChain, FreeChainOfTwoPoolsReturnsEverySegment)
{
	Pool pa("mb_2pa", 64, 16);
	Pool pb("mb_2pb", 64, 0, 0, 512);
	struct tarn_mbuf *head = mbuf_with(pa, 10);
	ASSERT_NE(head, nullptr);
	for (unsigned i = 1; i < 40; i++)
		ASSERT_EQ(tarn_pktmbuf_chain(head, mbuf_with(i % 3 ? pb : pa, 10)), 0);
	expect_sane(head);
	EXPECT_EQ(pa.in_use() + pb.in_use(), 40u);
	EXPECT_GT(pb.in_use(), 0u);
	tarn_pktmbuf_free(head);
	EXPECT_TRUE(tarn_mempool_full(pa));
	EXPECT_TRUE(tarn_mempool_full(pb));
}

TEST(MbufChain, FreeSegOnlyFreesOne)
{
	Pool p("mb_fseg", 8);
	struct tarn_mbuf *a = mbuf_with(p, 10);
	struct tarn_mbuf *b = mbuf_with(p, 10);
	ASSERT_EQ(tarn_pktmbuf_chain(a, b), 0);
	// detach b by hand, then free the two separately
	a->next = nullptr;
	a->nb_segs = 1;
	a->pkt_len = a->data_len;
	tarn_pktmbuf_free_seg(a);
	EXPECT_EQ(p.in_use(), 1u);
	tarn_pktmbuf_free_seg(b);
	EXPECT_EQ(p.in_use(), 0u);
}

// ---------------------------------------------------------------------------
// Clones

TEST(MbufClone, SharesDataAndKeepsItAlive)
{
	Pool p("mb_cl", 16);
	Pool cp("mb_clp", 16, 0, 0, 0); // descriptors only
	struct tarn_mbuf *m = mbuf_with(p, 64);
	ASSERT_NE(m, nullptr);
	m->port = 2;
	m->ol_flags = TARN_MBUF_F_RX_RSS_HASH;
	m->hash.rss = 0xabcd;
	m->packet_type = TARN_PTYPE_L2_ETHER;

	struct tarn_mbuf *c = tarn_pktmbuf_clone(m, cp);
	ASSERT_NE(c, nullptr);
	EXPECT_TRUE(TARN_MBUF_INDIRECT(c));
	EXPECT_EQ(c->direct, m);
	EXPECT_EQ(tarn_mbuf_refcnt_read(m), 2);
	EXPECT_EQ(tarn_mbuf_refcnt_read(c), 1);
	EXPECT_EQ(tarn_pktmbuf_mtod(c, char *), tarn_pktmbuf_mtod(m, char *));
	EXPECT_EQ(c->pkt_len, 64u);
	EXPECT_EQ(c->port, 2);
	EXPECT_EQ(c->hash.rss, 0xabcdu);
	EXPECT_EQ(c->ol_flags, TARN_MBUF_F_RX_RSS_HASH);
	EXPECT_EQ(c->buf_iova, m->buf_iova);
	expect_sane(c);
	expect_sane(m);
	// data shared both ways
	tarn_pktmbuf_mtod(m, char *)[0] = 'x';
	EXPECT_EQ(tarn_pktmbuf_mtod(c, char *)[0], 'x');
	// the clone's own view can move independently
	EXPECT_EQ(tarn_pktmbuf_adj(c, 4), 0);
	EXPECT_EQ(m->data_len, 64);

	// clone of the clone: attached to the original direct mbuf
	struct tarn_mbuf *cc = tarn_pktmbuf_clone(c, cp);
	ASSERT_NE(cc, nullptr);
	EXPECT_EQ(cc->direct, m);
	EXPECT_EQ(tarn_mbuf_refcnt_read(m), 3);
	EXPECT_EQ(tarn_mbuf_refcnt_read(c), 1);
	EXPECT_EQ(cc->data_len, 60);
	expect_sane(cc);

	// original first: the buffer stays until the last clone goes
	tarn_pktmbuf_free(m);
	EXPECT_EQ(p.in_use(), 1u);
	EXPECT_EQ(tarn_mbuf_refcnt_read(cc->direct), 2);
	EXPECT_EQ(tarn_pktmbuf_mtod(cc, char *)[60 - 60], 4) << "data still readable";
	expect_sane(cc);
	tarn_pktmbuf_free(cc);
	EXPECT_EQ(p.in_use(), 1u);
	EXPECT_EQ(cp.in_use(), 1u);
	tarn_pktmbuf_free(c);
	EXPECT_EQ(p.in_use(), 0u);
	EXPECT_EQ(cp.in_use(), 0u);

	// a detached clone mbuf comes back direct, with its own buffer
	struct tarn_mbuf *again = tarn_pktmbuf_alloc(cp);
	ASSERT_NE(again, nullptr);
	EXPECT_TRUE(TARN_MBUF_DIRECT(again));
	EXPECT_EQ(again->buf_addr, (char *)again + sizeof(*again));
	EXPECT_EQ(again->buf_len, 0);
	EXPECT_EQ(again->direct, nullptr);
	expect_sane(again);
	tarn_pktmbuf_free(again);
}

// Every order of freeing a direct mbuf and two clones (one a clone of the
// other) returns the buffer exactly when the last goes.
TEST(MbufClone, AnyFreeOrder)
{
	Pool p("mb_clord", 8);
	Pool cp("mb_clordc", 8, 0, 0, 0);
	const int orders[6][3] = { { 0, 1, 2 }, { 0, 2, 1 }, { 1, 0, 2 },
		                   { 1, 2, 0 }, { 2, 0, 1 }, { 2, 1, 0 } };
	for (auto &o : orders) {
		struct tarn_mbuf *ms[3];
		ms[0] = mbuf_with(p, 32);
		ASSERT_NE(ms[0], nullptr);
		ms[1] = tarn_pktmbuf_clone(ms[0], cp);
		ASSERT_NE(ms[1], nullptr);
		ms[2] = tarn_pktmbuf_clone(ms[1], cp);
		ASSERT_NE(ms[2], nullptr);
		for (int k = 0; k < 3; k++) {
			EXPECT_EQ(p.in_use(), 1u) << "before free " << k;
			tarn_pktmbuf_free(ms[o[k]]);
		}
		EXPECT_EQ(p.in_use(), 0u);
		EXPECT_EQ(cp.in_use(), 0u);
	}
}

TEST(MbufClone, ChainClone)
{
	Pool p("mb_clch", 32);
	Pool cp("mb_clchc", 32, 0, 0, 0);
	struct tarn_mbuf *head = mbuf_with(p, 20, 0);
	for (unsigned i = 1; i < 5; i++)
		ASSERT_EQ(tarn_pktmbuf_chain(head, mbuf_with(p, 20, 20 * i)), 0);
	struct tarn_mbuf *c = tarn_pktmbuf_clone(head, cp);
	ASSERT_NE(c, nullptr);
	EXPECT_EQ(c->nb_segs, 5);
	EXPECT_EQ(c->pkt_len, 100u);
	expect_sane(c);
	EXPECT_EQ(mbuf_bytes(c), mbuf_bytes(head));
	for (struct tarn_mbuf *s = head; s != nullptr; s = s->next)
		EXPECT_EQ(tarn_mbuf_refcnt_read(s), 2);
	tarn_pktmbuf_free(head);
	EXPECT_EQ(p.in_use(), 5u);
	std::vector<uint8_t> bytes = mbuf_bytes(c);
	for (unsigned i = 0; i < 100; i++)
		EXPECT_EQ(bytes[i], i);
	tarn_pktmbuf_free(c);
	EXPECT_EQ(p.in_use(), 0u);
	EXPECT_EQ(cp.in_use(), 0u);
}

TEST(MbufClone, ErrorsLeaveNothingBehind)
{
	Pool p("mb_clerr", 8);
	Pool cp("mb_clerrc", 2, 0, 0, 0);
	struct tarn_mbuf *head = mbuf_with(p, 20);
	for (unsigned i = 1; i < 3; i++)
		ASSERT_EQ(tarn_pktmbuf_chain(head, mbuf_with(p, 20)), 0);
	tarn_errno = 0;
	EXPECT_EQ(tarn_pktmbuf_clone(nullptr, cp), nullptr);
	EXPECT_EQ(tarn_errno, EINVAL);
	EXPECT_EQ(tarn_pktmbuf_clone(head, nullptr), nullptr);
	EXPECT_EQ(tarn_errno, EINVAL);
	// 3 segments, 2 descriptors: fails, and every reference taken is dropped
	EXPECT_EQ(tarn_pktmbuf_clone(head, cp), nullptr);
	EXPECT_EQ(tarn_errno, ENOBUFS);
	EXPECT_EQ(cp.in_use(), 0u);
	for (struct tarn_mbuf *s = head; s != nullptr; s = s->next)
		EXPECT_EQ(tarn_mbuf_refcnt_read(s), 1);
	// refcnt at its maximum
	struct tarn_mbuf *one = mbuf_with(p, 4);
	tarn_mbuf_refcnt_set(one, TARN_MBUF_MAX_REFCNT);
	EXPECT_EQ(tarn_pktmbuf_clone(one, cp), nullptr);
	EXPECT_EQ(tarn_errno, EOVERFLOW);
	EXPECT_EQ(cp.in_use(), 0u);
	tarn_mbuf_refcnt_set(one, 1);
	tarn_pktmbuf_free(one);
	tarn_pktmbuf_free(head);
	EXPECT_EQ(p.in_use(), 0u);
}

TEST(MbufClone, AttachDetach)
{
	Pool p("mb_att", 8);
	struct tarn_mbuf *m = mbuf_with(p, 30);
	struct tarn_mbuf *mi = tarn_pktmbuf_alloc(p);
	struct tarn_mbuf *other = mbuf_with(p, 5);
	ASSERT_NE(mi, nullptr);
	EXPECT_EQ(tarn_pktmbuf_attach(nullptr, m), -EINVAL);
	EXPECT_EQ(tarn_pktmbuf_attach(mi, nullptr), -EINVAL);
	EXPECT_EQ(tarn_pktmbuf_attach(m, m), -EINVAL);
	EXPECT_EQ(tarn_pktmbuf_detach(nullptr), -EINVAL);
	EXPECT_EQ(tarn_pktmbuf_detach(m), -EINVAL) << "not indirect";
	ASSERT_EQ(tarn_pktmbuf_attach(mi, m), 0);
	EXPECT_EQ(tarn_pktmbuf_attach(mi, other), -EINVAL) << "already indirect";
	tarn_mbuf_refcnt_update(other, 1);
	EXPECT_EQ(tarn_pktmbuf_attach(other, m), -EINVAL) << "shared";
	tarn_mbuf_refcnt_update(other, -1);
	EXPECT_EQ(tarn_mbuf_refcnt_read(m), 2);
	EXPECT_EQ(mi->data_len, 30);
	EXPECT_EQ(tarn_pktmbuf_detach(mi), 0);
	EXPECT_TRUE(TARN_MBUF_DIRECT(mi));
	EXPECT_EQ(mi->data_len, 0);
	EXPECT_EQ(mi->pkt_len, 0u);
	EXPECT_EQ(mi->data_off, TARN_PKTMBUF_HEADROOM);
	EXPECT_EQ(mi->buf_addr, (char *)mi + sizeof(*mi));
	EXPECT_EQ(tarn_mbuf_refcnt_read(m), 1);
	expect_sane(mi);
	// detach of the last reference frees the direct mbuf
	ASSERT_EQ(tarn_pktmbuf_attach(mi, m), 0);
	tarn_pktmbuf_free(m);
	EXPECT_EQ(p.in_use(), 3u);
	EXPECT_EQ(tarn_pktmbuf_detach(mi), 0);
	EXPECT_EQ(p.in_use(), 2u);
	tarn_pktmbuf_free(mi);
	tarn_pktmbuf_free(other);
	EXPECT_EQ(p.in_use(), 0u);
}

// ---------------------------------------------------------------------------
// Deep copy

class MbufCopy : public ::testing::Test
{
      protected:
	void SetUp() override
	{
		head = mbuf_with(src, 100, 0);
		ASSERT_NE(head, nullptr);
		ASSERT_EQ(tarn_pktmbuf_chain(head, mbuf_with(src, 50, 100)), 0);
		ASSERT_EQ(tarn_pktmbuf_chain(head, mbuf_with(src, 0, 150)), 0); // empty segment
		ASSERT_EQ(tarn_pktmbuf_chain(head, mbuf_with(src, 200, 150)), 0);
		head->port = 4;
		head->packet_type = TARN_PTYPE_L2_ETHER;
		head->ol_flags = TARN_MBUF_F_RX_VLAN;
		head->vlan_tci = 9;
		head->l2_len = 14;
	}
	void TearDown() override
	{
		tarn_pktmbuf_free(head);
		EXPECT_EQ(src.in_use(), 0u);
		EXPECT_EQ(dst.in_use(), 0u);
	}
	void check(uint32_t off, uint32_t len, uint32_t want_len)
	{
		struct tarn_mbuf *c = tarn_pktmbuf_copy(head, dst, off, len);
		ASSERT_NE(c, nullptr) << off << "/" << len << ": " << tarn_strerror(tarn_errno);
		expect_sane(c);
		EXPECT_EQ(c->pkt_len, want_len);
		EXPECT_EQ(c->port, 4);
		EXPECT_EQ(c->vlan_tci, 9);
		EXPECT_EQ(c->ol_flags, TARN_MBUF_F_RX_VLAN);
		EXPECT_EQ(c->l2_len, 14u);
		EXPECT_TRUE(TARN_MBUF_DIRECT(c));
		std::vector<uint8_t> b = mbuf_bytes(c);
		ASSERT_EQ(b.size(), want_len);
		for (uint32_t i = 0; i < want_len; i++)
			ASSERT_EQ(b[i], (off + i) & 0xff) << off << "/" << len << " at " << i;
		EXPECT_GE(c->nb_segs, (want_len + 63) / 64);
		tarn_pktmbuf_free(c);
	}
	Pool src{ "mb_cpsrc", 16 };
	// small segments: 64 bytes of data after the headroom
	Pool dst{ "mb_cpdst", 16, 0, 0, TARN_PKTMBUF_HEADROOM + 64 };
	struct tarn_mbuf *head = nullptr;
};

TEST_F(MbufCopy, WholeAndParts)
{
	ASSERT_EQ(head->pkt_len, 350u);
	check(0, TARN_MBUF_COPY_ALL, 350);
	check(0, 350, 350);
	check(0, 1000, 350);
	check(99, 2, 2);      // across the first boundary
	check(120, 100, 100); // across the empty segment
	check(150, 200, 200);
	check(349, 10, 1);
	check(350, 10, 0); // nothing left: one empty mbuf
	check(10, 0, 0);
}

TEST_F(MbufCopy, Errors)
{
	tarn_errno = 0;
	EXPECT_EQ(tarn_pktmbuf_copy(nullptr, dst, 0, 1), nullptr);
	EXPECT_EQ(tarn_errno, EINVAL);
	EXPECT_EQ(tarn_pktmbuf_copy(head, nullptr, 0, 1), nullptr);
	EXPECT_EQ(tarn_errno, EINVAL);
	EXPECT_EQ(tarn_pktmbuf_copy(head, dst, 351, 1), nullptr);
	EXPECT_EQ(tarn_errno, EINVAL);
	// 350 bytes need 6 mbufs of 64: with 4 left the copy fails, leaking none
	struct tarn_mbuf *hold[12];
	ASSERT_EQ(tarn_pktmbuf_alloc_bulk(dst, hold, 12), 0);
	EXPECT_EQ(tarn_pktmbuf_copy(head, dst, 0, TARN_MBUF_COPY_ALL), nullptr);
	EXPECT_EQ(tarn_errno, ENOBUFS);
	EXPECT_EQ(dst.in_use(), 12u);
	tarn_pktmbuf_free_bulk(hold, 12);
	// a pool without data room cannot hold bytes
	Pool z("mb_cpz", 4, 0, 0, 0);
	EXPECT_EQ(tarn_pktmbuf_copy(head, z, 0, 10), nullptr);
	EXPECT_EQ(tarn_errno, EINVAL);
	EXPECT_EQ(z.in_use(), 0u);
	struct tarn_mbuf *e = tarn_pktmbuf_copy(head, z, 0, 0);
	ASSERT_NE(e, nullptr) << "an empty copy needs no room";
	tarn_pktmbuf_free(e);
}

TEST_F(MbufCopy, CopyOfAClone)
{
	Pool cp("mb_cpcl", 8, 0, 0, 0);
	struct tarn_mbuf *c = tarn_pktmbuf_clone(head, cp);
	ASSERT_NE(c, nullptr);
	struct tarn_mbuf *d = tarn_pktmbuf_copy(c, dst, 5, 300);
	ASSERT_NE(d, nullptr);
	std::vector<uint8_t> b = mbuf_bytes(d);
	ASSERT_EQ(b.size(), 300u);
	for (uint32_t i = 0; i < 300; i++)
		ASSERT_EQ(b[i], (5 + i) & 0xff);
	tarn_pktmbuf_free(c);
	tarn_pktmbuf_free(d);
}

// ---------------------------------------------------------------------------
// Linearize

TEST(MbufLinearize, IntoFirstSegment)
{
	Pool p("mb_lin", 16);
	struct tarn_mbuf *head = mbuf_with(p, 100, 0);
	ASSERT_EQ(tarn_pktmbuf_chain(head, mbuf_with(p, 300, 100)), 0);
	ASSERT_EQ(tarn_pktmbuf_chain(head, mbuf_with(p, 0, 0)), 0);
	ASSERT_EQ(tarn_pktmbuf_chain(head, mbuf_with(p, 500, 400)), 0);
	char *first = tarn_pktmbuf_mtod(head, char *);
	EXPECT_EQ(p.in_use(), 4u);
	ASSERT_EQ(tarn_pktmbuf_linearize(head), 0);
	EXPECT_EQ(p.in_use(), 1u);
	EXPECT_EQ(head->nb_segs, 1);
	EXPECT_EQ(head->next, nullptr);
	EXPECT_EQ(head->pkt_len, 900u);
	EXPECT_EQ(head->data_len, 900);
	EXPECT_EQ(tarn_pktmbuf_mtod(head, char *), first) << "data did not move";
	const uint8_t *d = tarn_pktmbuf_mtod(head, const uint8_t *);
	for (unsigned i = 0; i < 900; i++)
		ASSERT_EQ(d[i], i & 0xff);
	expect_sane(head);
	EXPECT_EQ(tarn_pktmbuf_linearize(head), 0) << "one segment: nothing to do";
	tarn_pktmbuf_free(head);
	EXPECT_EQ(tarn_pktmbuf_linearize(nullptr), -EINVAL);
}

TEST(MbufLinearize, NoRoomOrShared)
{
	Pool p("mb_lin2", 16);
	Pool cp("mb_lin2c", 4, 0, 0, 0);
	struct tarn_mbuf *head = mbuf_with(p, 1500, 0);
	ASSERT_EQ(tarn_pktmbuf_chain(head, mbuf_with(p, 1500, 1500)), 0);
	EXPECT_EQ(tarn_pktmbuf_linearize(head), -ENOSPC);
	EXPECT_EQ(head->nb_segs, 2);
	EXPECT_EQ(head->data_len, 1500);
	expect_sane(head);
	tarn_pktmbuf_free(head);

	head = mbuf_with(p, 100, 0);
	ASSERT_EQ(tarn_pktmbuf_chain(head, mbuf_with(p, 100, 100)), 0);
	struct tarn_mbuf *c = tarn_pktmbuf_clone(head, cp);
	ASSERT_NE(c, nullptr);
	EXPECT_EQ(tarn_pktmbuf_linearize(head), -EBUSY);
	EXPECT_EQ(tarn_pktmbuf_linearize(c), -EBUSY);
	tarn_pktmbuf_free(c);
	// the other segments of the packet may be shared: only references drop
	struct tarn_mbuf *c2 = tarn_pktmbuf_clone(head->next, cp);
	ASSERT_NE(c2, nullptr);
	ASSERT_EQ(tarn_pktmbuf_linearize(head), 0);
	EXPECT_EQ(p.in_use(), 2u);
	EXPECT_EQ(tarn_pktmbuf_mtod(c2, uint8_t *)[0], 100);
	tarn_pktmbuf_free(c2);
	tarn_pktmbuf_free(head);
	EXPECT_EQ(p.in_use(), 0u);
}

// ---------------------------------------------------------------------------
// Reference counts and free_bulk

TEST(MbufRefcnt, UpdateAndFree)
{
	Pool p("mb_ref", 4);
	struct tarn_mbuf *m = mbuf_with(p, 10);
	EXPECT_EQ(tarn_mbuf_refcnt_update(m, 2), 3);
	EXPECT_EQ(tarn_mbuf_refcnt_update(m, -1), 2);
	tarn_pktmbuf_free(m); // 2 -> 1
	EXPECT_EQ(p.in_use(), 1u);
	EXPECT_EQ(tarn_mbuf_refcnt_read(m), 1);
	tarn_pktmbuf_free(m); // the last
	EXPECT_EQ(p.in_use(), 0u);
	m = tarn_pktmbuf_alloc(p);
	EXPECT_EQ(tarn_mbuf_refcnt_read(m), 1) << "a free mbuf has refcnt 1";
	tarn_pktmbuf_free(m);
}

TEST(MbufFreeBulk, MixedPoolsChainsRefcounts)
{
	Pool pa("mb_fba", 64, 16);
	Pool pb("mb_fbb", 64, 0);
	Pool cp("mb_fbc", 16, 0, 0, 0);
	std::vector<struct tarn_mbuf *> v;
	for (int i = 0; i < 8; i++)
		v.push_back(mbuf_with(pa, 10)); // a run of simple mbufs of pa
	for (int i = 0; i < 4; i++)
		v.push_back(mbuf_with(pb, 10)); // then of pb
	v.push_back(nullptr);
	struct tarn_mbuf *chain = mbuf_with(pa, 10);
	ASSERT_EQ(tarn_pktmbuf_chain(chain, mbuf_with(pb, 10)), 0);
	ASSERT_EQ(tarn_pktmbuf_chain(chain, mbuf_with(pa, 10)), 0);
	v.push_back(chain);
	struct tarn_mbuf *shared = mbuf_with(pb, 10);
	tarn_mbuf_refcnt_update(shared, 1);
	v.push_back(shared);
	struct tarn_mbuf *orig = mbuf_with(pa, 10);
	struct tarn_mbuf *clone = tarn_pktmbuf_clone(orig, cp);
	ASSERT_NE(clone, nullptr);
	v.push_back(clone);
	for (int i = 0; i < 5; i++)
		v.push_back(mbuf_with(i & 1 ? pa : pb, 10)); // alternating pools
	EXPECT_EQ(pa.in_use(), 8u + 2 + 1 + 2);
	EXPECT_EQ(pb.in_use(), 4u + 1 + 1 + 3);

	tarn_pktmbuf_free_bulk(v.data(), (unsigned)v.size());
	// left: `shared` (one reference) and `orig` (its own reference)
	EXPECT_EQ(pa.in_use(), 1u);
	EXPECT_EQ(pb.in_use(), 1u);
	EXPECT_EQ(cp.in_use(), 0u);
	EXPECT_EQ(tarn_mbuf_refcnt_read(shared), 1);
	EXPECT_EQ(tarn_mbuf_refcnt_read(orig), 1);
	struct tarn_mbuf *rest[2] = { shared, orig };
	tarn_pktmbuf_free_bulk(rest, 2);
	EXPECT_TRUE(tarn_mempool_full(pa));
	EXPECT_TRUE(tarn_mempool_full(pb));
}

TEST(MbufFreeBulk, ManyAcrossBatches)
{
	// more segments than one internal batch, mixed, through the slow path
	Pool pa("mb_fbm_a", 512, 64);
	Pool pb("mb_fbm_b", 512, 64);
	std::vector<struct tarn_mbuf *> v;
	for (int i = 0; i < 100; i++) {
		struct tarn_mbuf *m = mbuf_with(pa, 1);
		if (i % 7 == 0) {
			ASSERT_EQ(tarn_pktmbuf_chain(m, mbuf_with(pb, 1)), 0);
		}
		v.push_back(m);
	}
	for (int i = 0; i < 300; i++)
		v.push_back(mbuf_with(i % 50 < 25 ? pa : pb, 1));
	tarn_pktmbuf_free_bulk(v.data(), (unsigned)v.size());
	EXPECT_TRUE(tarn_mempool_full(pa));
	EXPECT_TRUE(tarn_mempool_full(pb));
}

TEST(MbufFreeBulk, SimpleRunIsOnePutFromTheCallersArray)
{
	// A run of simple mbufs of one pool goes back as one put of the caller's
	// array: with a cache, the cache's put counter moves by the run length
	// and its most recent entries are exactly the array, in order.
	Pool p("mb_fbrun", 256, 128);
	struct tarn_mbuf *ms[32];
	ASSERT_EQ(tarn_pktmbuf_alloc_bulk(p, ms, 32), 0);
	struct tarn_mempool_stats before, after;
	ASSERT_EQ(tarn_mempool_stats(p, &before), 0);
	tarn_pktmbuf_free_bulk(ms, 32);
	ASSERT_EQ(tarn_mempool_stats(p, &after), 0);
	EXPECT_EQ(after.put_objs - before.put_objs, 32u);
	struct tarn_mbuf *again[32];
	ASSERT_EQ(tarn_pktmbuf_alloc_bulk(p, again, 32), 0);
	for (int i = 0; i < 32; i++)
		EXPECT_EQ(again[i], ms[i]) << "LIFO cache gives the same array back";
	tarn_pktmbuf_free_bulk(again, 32);
}

// ---------------------------------------------------------------------------
// Sanity check

TEST(MbufCheck, CatchesEachCorruption)
{
	Pool p("mb_chk", 16);
	Pool other("mb_chko", 4);
	const char *why = nullptr;
	EXPECT_EQ(tarn_mbuf_check(nullptr, 1, &why), -EINVAL);
	EXPECT_NE(why, nullptr);
	EXPECT_EQ(tarn_mbuf_check(nullptr, 0, nullptr), -EINVAL);

	struct tarn_mbuf *m = mbuf_with(p, 100);
	ASSERT_EQ(tarn_pktmbuf_chain(m, mbuf_with(p, 100)), 0);
	ASSERT_EQ(tarn_pktmbuf_chain(m, mbuf_with(p, 100)), 0);
	struct tarn_mbuf *s2 = m->next, *s3 = m->next->next;
	ASSERT_EQ(tarn_mbuf_check(m, 1, &why), 0);

	auto expect_bad = [&](const char *what, const struct tarn_mbuf *x, int hdr) {
		why = nullptr;
		EXPECT_EQ(tarn_mbuf_check(x, hdr, &why), -EINVAL) << what;
		ASSERT_NE(why, nullptr) << what;
		EXPECT_NE(std::string(why).find(what), std::string::npos)
		    << "expected \"" << what << "\", got \"" << why << "\"";
	};
	struct tarn_mempool *pool = m->pool;
	m->pool = nullptr;
	expect_bad("bad pool", m, 0);
	m->pool = other;
	expect_bad("bad pool", m, 0);
	m->pool = pool;

	tarn_mbuf_refcnt_set(s2, 0);
	expect_bad("refcnt 0", m, 1);
	tarn_mbuf_refcnt_set(s2, 1);

	m->data_len = (uint16_t)(m->buf_len - m->data_off + 1);
	expect_bad("lengths inconsistent", m, 0);
	m->data_len = 100;

	m->pkt_len = 299;
	expect_bad("lengths inconsistent", m, 1);
	EXPECT_EQ(tarn_mbuf_check(m, 0, nullptr), 0) << "a segment alone is fine";
	m->pkt_len = 300;

	m->nb_segs = 2;
	expect_bad("segment count mismatch", m, 1);
	m->nb_segs = 3;

	s3->next = m; // loop back to the head
	expect_bad("loop in chain", m, 1);
	s3->next = s2; // loop on the tail
	expect_bad("loop in chain", m, 1);
	s3->next = nullptr;

	void *ba = s3->buf_addr;
	s3->buf_addr = (char *)ba + 1;
	expect_bad("bad buf_addr", m, 1);
	s3->buf_addr = nullptr;
	expect_bad("bad buf_addr", m, 1);
	s3->buf_addr = ba;

	const uint16_t bl = s2->buf_len;
	s2->buf_len = 100;
	expect_bad("bad buf_len", m, 1);
	s2->buf_len = bl;

	// indirect mbufs
	Pool cp("mb_chkc", 4, 0, 0, 0);
	struct tarn_mbuf *c = tarn_pktmbuf_clone(s3, cp);
	ASSERT_NE(c, nullptr);
	EXPECT_EQ(tarn_mbuf_check(c, 1, &why), 0);
	struct tarn_mbuf *d = c->direct;
	c->direct = nullptr;
	expect_bad("indirect mbuf without a direct mbuf", c, 0);
	c->direct = d;
	c->buf_addr = (char *)c->buf_addr + 8;
	expect_bad("not its direct mbuf's", c, 0);
	c->buf_addr = d->buf_addr;
	ASSERT_EQ(tarn_mbuf_check(m, 1, &why), 0) << why;
	ASSERT_EQ(tarn_mbuf_check(c, 1, &why), 0) << why;
	tarn_pktmbuf_free(c);
	tarn_pktmbuf_free(m);
}

// ---------------------------------------------------------------------------
// Dump and names

TEST(MbufDump, PrintsMetadataSegmentsAndBytes)
{
	Pool p("mb_dump", 8);
	struct tarn_mbuf *m = mbuf_with(p, 20, 0x41);
	ASSERT_EQ(tarn_pktmbuf_chain(m, mbuf_with(p, 20, 0x41 + 20)), 0);
	m->ol_flags = TARN_MBUF_F_RX_VLAN | TARN_MBUF_F_RX_L4_CKSUM_BAD | (1ULL << 30);
	m->packet_type = TARN_PTYPE_L2_ETHER | TARN_PTYPE_L3_IPV4 | TARN_PTYPE_L4_TCP;
	char *buf = nullptr;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);
	ASSERT_NE(f, nullptr);
	tarn_pktmbuf_dump(f, m, 30);
	tarn_pktmbuf_dump(f, nullptr, 0);
	fclose(f);
	std::string s(buf, size);
	free(buf);
	EXPECT_NE(s.find("pkt_len 40"), std::string::npos) << s;
	EXPECT_NE(s.find("nb_segs 2"), std::string::npos) << s;
	EXPECT_NE(s.find("RX_VLAN RX_L4_CKSUM_BAD 0x40000000"), std::string::npos) << s;
	EXPECT_NE(s.find("L2_ETHER L3_IPV4 L4_TCP"), std::string::npos) << s;
	EXPECT_NE(s.find("segment 1"), std::string::npos) << s;
	EXPECT_NE(s.find("00000000: 41 42 43"), std::string::npos) << s;
	EXPECT_NE(s.find("|ABCDEFGHIJKLMNOP|"), std::string::npos) << s;
	EXPECT_NE(s.find("00000010: 51 52"), std::string::npos) << s;
	EXPECT_NE(s.find("data (30 of 40 bytes)"), std::string::npos) << s;
	EXPECT_NE(s.find("mbuf: NULL"), std::string::npos) << s;
	tarn_pktmbuf_free(m);
}

TEST(MbufNames, FlagsAndPacketTypes)
{
	EXPECT_STREQ(tarn_mbuf_flag_name(TARN_MBUF_F_RX_RSS_HASH), "RX_RSS_HASH");
	EXPECT_STREQ(tarn_mbuf_flag_name(TARN_MBUF_F_TX_TCP_SEG), "TX_TCP_SEG");
	EXPECT_EQ(tarn_mbuf_flag_name(TARN_MBUF_F_RX_VLAN | TARN_MBUF_F_TX_VLAN), nullptr);
	EXPECT_EQ(tarn_mbuf_flag_name(1ULL << 63), nullptr);
	// every defined flag has a name, and TARN_MBUF_F_ALL is exactly them
	uint64_t named = 0;
	for (int b = 0; b < 64; b++) {
		if (tarn_mbuf_flag_name(1ULL << b) != nullptr)
			named |= 1ULL << b;
	}
	EXPECT_EQ(named, TARN_MBUF_F_ALL);
	EXPECT_EQ(named & TARN_MBUF_F_RX_MASK & TARN_MBUF_F_TX_MASK, 0u);

	char buf[64];
	EXPECT_EQ(tarn_mbuf_flags_str(0, buf, sizeof(buf)), 0);
	EXPECT_STREQ(buf, "");
	EXPECT_GT(tarn_mbuf_flags_str(TARN_MBUF_F_TX_VLAN | TARN_MBUF_F_RX_VLAN, buf, sizeof(buf)),
	          0);
	EXPECT_STREQ(buf, "RX_VLAN TX_VLAN");
	EXPECT_EQ(tarn_mbuf_flags_str(TARN_MBUF_F_ALL, buf, sizeof(buf)), -ENOSPC);
	EXPECT_LT(strlen(buf), sizeof(buf));
	EXPECT_EQ(tarn_mbuf_flags_str(0, nullptr, 4), -EINVAL);
	EXPECT_EQ(tarn_mbuf_flags_str(0, buf, 0), -EINVAL);

	EXPECT_GT(tarn_ptype_str(TARN_PTYPE_L2_ETHER_VLAN | TARN_PTYPE_L3_IPV6 | TARN_PTYPE_L4_UDP,
	                         buf, sizeof(buf)),
	          0);
	EXPECT_STREQ(buf, "L2_ETHER_VLAN L3_IPV6 L4_UDP");
	tarn_ptype_str(TARN_PTYPE_UNKNOWN, buf, sizeof(buf));
	EXPECT_STREQ(buf, "UNKNOWN");
	tarn_ptype_str(0xf0000 | 0xe, buf, sizeof(buf));
	EXPECT_STREQ(buf, "L2_0xe 0xf0000");
	EXPECT_EQ(tarn_ptype_str(TARN_PTYPE_L2_ETHER, buf, 4), -ENOSPC);
	EXPECT_EQ(tarn_ptype_str(TARN_PTYPE_L2_ETHER, nullptr, 4), -EINVAL);
	EXPECT_EQ(tarn_ptype_str(TARN_PTYPE_L2_ETHER, buf, 0), -EINVAL);
}

} // namespace
