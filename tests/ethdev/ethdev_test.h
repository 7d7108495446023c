// SPDX-License-Identifier: BSD-3-Clause
// ethdev tests: what the test files share.
#ifndef TARN_ETHDEV_TEST_H
#define TARN_ETHDEV_TEST_H

#include <gtest/gtest.h>

#include <mutex>
#include <string>
#include <vector>

#include "../common/test_log.h"
#include <tarn/tarn_env.h>
#include <tarn/tarn_ethdev.h>
#include <tarn/tarn_mbuf.h>
#include <tarn/tarn_mempool.h>
#include <tarn/tarn_ring.h>

#include "ethdev_driver_priv.h"

// Log lines seen since the last clear.
using EthLog = TestLog;

// An mbuf pool freed at the end of the scope; the test fails if an mbuf is
// still out then.
struct Pool {
	struct tarn_mempool *mp;
	explicit Pool(unsigned n = 1024, unsigned cache = 0,
	              uint16_t room = TARN_MBUF_DEFAULT_BUF_SIZE)
	{
		static int seq;
		std::string name = "eth_test_" + std::to_string(seq++);
		mp = tarn_pktmbuf_pool_create(name.c_str(), n, cache, 0, room, TARN_SOCKET_ANY);
		EXPECT_NE(mp, nullptr) << tarn_strerror(tarn_errno);
	}
	~Pool()
	{
		if (mp == nullptr)
			return;
		tarn_mempool_cache_flush(mp, TARN_MEMPOOL_FLUSH_SELF);
		EXPECT_EQ(tarn_mempool_in_use_count(mp), 0u) << "mbufs leaked";
		tarn_mempool_free(mp, TARN_MEMPOOL_FREE_FORCE);
	}
	unsigned in_use() const
	{
		return tarn_mempool_in_use_count(mp);
	}
};

// Close every port still open (each test starts and ends with none).
inline void close_all_ports()
{
	int p;
	TARN_ETH_FOREACH_DEV(p)
	{
		tarn_eth_dev_close((uint16_t)p);
	}
}

#endif
