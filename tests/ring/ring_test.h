// SPDX-License-Identifier: BSD-3-Clause
// ring tests: what the unit and stress files share.
#ifndef TARN_RING_TEST_H
#define TARN_RING_TEST_H

#include <gtest/gtest.h>

#include <mutex>
#include <string>
#include <vector>

#include "../common/test_log.h"
#include <tarn/tarn_env.h>
#include <tarn/tarn_ring.h>

// Sanitizer builds run the stress tests with fewer elements.
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define RING_TEST_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
#define RING_TEST_SANITIZED 1
#endif
#endif
#ifndef RING_TEST_SANITIZED
#define RING_TEST_SANITIZED 0
#endif

// Log lines seen since the last clear (the environment installs the handler
// so the error-path tests stay quiet and can look for their line).
using RingLog = TestLog;

// Start tarn the way the ring tests need it: one lcore, main thread not
// pinned (runs anywhere), a file prefix of its own.
void ring_test_init();

#endif
