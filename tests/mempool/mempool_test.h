// SPDX-License-Identifier: BSD-3-Clause
// mempool tests: what the unit and stress files share.
#ifndef TARN_MEMPOOL_TEST_H
#define TARN_MEMPOOL_TEST_H

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <string>
#include <vector>

#include "../common/test_log.h"
#include <tarn/tarn_env.h>
#include <tarn/tarn_mem.h>
#include <tarn/tarn_mempool.h>

// Sanitizer builds run the stress tests with fewer iterations.
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define MP_TEST_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
#define MP_TEST_SANITIZED 1
#endif
#endif
#ifndef MP_TEST_SANITIZED
#define MP_TEST_SANITIZED 0
#endif

// Log lines seen since the last clear. The environment installs the handler
// so error-path tests stay quiet and can look for their line.
using MpLog = TestLog;

// Start tarn for the mempool tests: lcores "0-1" when two CPUs exist, else
// "0"; main thread not pinned; a file prefix of its own.
void mp_test_init();
// The worker lcore, or TARN_LCORE_ID_ANY when there is only the main one.
uint32_t mp_test_worker();

// A pool freed (forced) at the end of the scope.
struct Pool {
	struct tarn_mempool *mp = nullptr;
	explicit Pool(const struct tarn_mempool_params &p)
	{
		mp = tarn_mempool_create_params(&p);
		EXPECT_NE(mp, nullptr) << p.name << ": " << tarn_strerror(tarn_errno);
	}
	Pool(const char *name, unsigned n, unsigned elt, unsigned cache, unsigned flags = 0,
	     const char *ops = nullptr, unsigned reserve = 0)
	{
		struct tarn_mempool_params p;
		tarn_mempool_params_init(&p);
		p.name = name;
		p.n = n;
		p.elt_size = elt;
		p.cache_size = cache;
		p.flags = flags;
		p.ops_name = ops;
		p.reserve = reserve;
		mp = tarn_mempool_create_params(&p);
		EXPECT_NE(mp, nullptr) << name << ": " << tarn_strerror(tarn_errno);
	}
	~Pool()
	{
		if (mp != nullptr) {
			EXPECT_EQ(tarn_mempool_free(mp, TARN_MEMPOOL_FREE_FORCE), 0);
		}
	}
	operator struct tarn_mempool *() const
	{
		return mp;
	}
	Pool(const Pool &) = delete;
	Pool &operator=(const Pool &) = delete;
};

// The calling thread's statistics for `mp` (slot found by tid); false if the
// thread has no cache of it.
bool mp_my_stats(struct tarn_mempool *mp, struct tarn_mempool_thread_stats *out);

#endif
