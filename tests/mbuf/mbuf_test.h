// SPDX-License-Identifier: BSD-3-Clause
// mbuf tests: shared set-up (tarn_init once per process, log capture) and
// helpers.
#ifndef TARN_MBUF_TEST_H
#define TARN_MBUF_TEST_H

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "../common/test_log.h"
#include <tarn/tarn.h>
#include <tarn/tarn_mbuf.h>

// Log lines captured while the suite runs (errors the tests provoke on purpose
// stay off the terminal; tests can look for them).
using MbufLog = TestLog;

// A pool freed at the end of the scope; the test fails if mbufs are still
// in use then (tarn_mempool_free() says -EBUSY).
class Pool
{
      public:
	Pool(const char *name, unsigned n, unsigned cache = 0, uint16_t priv = 0,
	     uint16_t room = TARN_MBUF_DEFAULT_BUF_SIZE)
	{
		mp = tarn_pktmbuf_pool_create(name, n, cache, priv, room, TARN_SOCKET_ANY);
		EXPECT_NE(mp, nullptr) << name << ": " << tarn_strerror(tarn_errno);
	}
	~Pool()
	{
		if (mp != nullptr) {
			tarn_mempool_cache_flush(mp, TARN_MEMPOOL_FLUSH_ALL);
			EXPECT_EQ(tarn_mempool_free(mp, 0), 0) << tarn_mempool_name(mp);
		}
	}
	Pool(const Pool &) = delete;
	Pool &operator=(const Pool &) = delete;
	operator struct tarn_mempool *() const
	{
		return mp;
	}
	unsigned in_use() const
	{
		return tarn_mempool_in_use_count(mp);
	}
	struct tarn_mempool *mp;
};

// Allocate an mbuf holding `len` bytes: byte i is (seed + i) & 0xff.
inline struct tarn_mbuf *mbuf_with(struct tarn_mempool *mp, uint16_t len, unsigned seed = 0)
{
	struct tarn_mbuf *m = tarn_pktmbuf_alloc(mp);
	if (m == nullptr)
		return nullptr;
	char *p = tarn_pktmbuf_append(m, len);
	if (p == nullptr) {
		tarn_pktmbuf_free(m);
		return nullptr;
	}
	for (unsigned i = 0; i < len; i++)
		p[i] = (char)((seed + i) & 0xff);
	return m;
}

// The packet's bytes, across segments.
inline std::vector<uint8_t> mbuf_bytes(const struct tarn_mbuf *m)
{
	std::vector<uint8_t> v;
	for (const struct tarn_mbuf *s = m; s != nullptr; s = s->next) {
		const uint8_t *p = tarn_pktmbuf_mtod(s, const uint8_t *);
		v.insert(v.end(), p, p + s->data_len);
	}
	return v;
}

inline void expect_sane(const struct tarn_mbuf *m)
{
	const char *why = nullptr;
	EXPECT_EQ(tarn_mbuf_check(m, 1, &why), 0) << (why ? why : "");
}

#endif
