// SPDX-License-Identifier: BSD-3-Clause
// Tests built against the hooked ring (-DTARN__RING_HOOKS, see
// tests/ring/meson.build): what a thread does when it reaches one of the
// ring's ordering points (tarn_ring.h, "Test hooks").
//
// Every thread has its own action (thread-local), so a test chooses which
// thread parks where: a thread parked at HEAD is exactly a thread preempted
// right after its head move, for as long as the test wants.
#ifndef TARN_RING_HOOKS_TEST_H
#define TARN_RING_HOOKS_TEST_H

#ifndef TARN__RING_HOOKS
#error "ring_hooks.h is for the tests built with -DTARN__RING_HOOKS"
#endif

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>

#include <gtest/gtest.h>

#include <cstdio>

#include <tarn/tarn.h>
#include <tarn/tarn_ring.h>

namespace ringhook
{

// What the calling thread does at a hook point. Returns true to stay armed,
// false to disarm after this call.
using Action = std::function<bool(struct tarn_ring *r, int is_prod, int point)>;

// The thread's action. `armed` is what the hook looks at first: a plain
// bool, still readable while a thread exits (tarn gives the thread's cache
// back from a pthread key destructor, after C++ thread_local objects such
// as `action` are gone).
inline thread_local bool armed = false;
inline thread_local Action action;

inline void arm(Action a)
{
	action = std::move(a);
	armed = true;
}

inline void disarm()
{
	armed = false;
	action = nullptr;
}

inline void dispatch(struct tarn_ring *r, int is_prod, int point)
{
	if (!armed)
		return;
	// Disarm while running: the action may itself call the ring.
	armed = false;
	Action a = std::move(action);
	action = nullptr;
	if (a(r, is_prod, point) && !armed)
		arm(std::move(a));
}

// Install the dispatcher (idempotent). Threads without an action pass
// through at the cost of a thread-local test.
inline void install()
{
	tarn__ring_hook_set(dispatch);
}

// A thread parked at a hook point until the test releases it.
class Parker
{
      public:
	// Called from the hook: say so, wait for release().
	void park()
	{
		std::unique_lock<std::mutex> g(mu_);
		parked_ = true;
		cv_.notify_all();
		cv_.wait(g, [this] { return released_; });
	}
	// Wait until a thread parked; false after `secs`.
	bool wait_parked(double secs = 10.0)
	{
		std::unique_lock<std::mutex> g(mu_);
		return cv_.wait_for(g, std::chrono::duration<double>(secs),
		                    [this] { return parked_; });
	}
	bool parked()
	{
		std::lock_guard<std::mutex> g(mu_);
		return parked_;
	}
	void release()
	{
		std::lock_guard<std::mutex> g(mu_);
		released_ = true;
		cv_.notify_all();
	}

      private:
	std::mutex mu_;
	std::condition_variable cv_;
	bool parked_ = false, released_ = false;
};

// Action: park on `pk` the first time this thread reaches `point` on side
// `is_prod` (-1: either) of ring `r` (nullptr: any ring).
inline Action park_at(Parker &pk, int point, int is_prod = -1, struct tarn_ring *r = nullptr)
{
	return [&pk, point, is_prod, r](struct tarn_ring *ring, int prod, int pt) {
		if (pt != point || (is_prod >= 0 && prod != is_prod) || (r != nullptr && ring != r))
			return true; // not yet: stay armed
		pk.park();
		return false;
	};
}

// The process-wide setup of a suite that uses the hooks: tarn on lcore 0
// with its own file prefix and log handler, the hooks installed; undone at
// the end. Register it with ::testing::AddGlobalTestEnvironment().
class Env : public ::testing::Environment
{
      public:
	Env(const char *prefix, tarn_log_fn log) : prefix_(prefix), log_(log)
	{
	}
	void SetUp() override
	{
		tarn_log_set_handler(log_, nullptr);
		struct tarn_config cfg;
		ASSERT_EQ(tarn_config_init(&cfg), 0);
		snprintf(cfg.lcores, sizeof(cfg.lcores), "0");
		cfg.no_pin_main = 1;
		snprintf(cfg.file_prefix, sizeof(cfg.file_prefix), "%s", prefix_);
		ASSERT_EQ(tarn_init(&cfg), 0);
		install();
	}
	void TearDown() override
	{
		tarn__ring_hook_set(nullptr);
		EXPECT_EQ(tarn_cleanup(), 0);
		tarn_log_set_handler(nullptr, nullptr);
	}

      private:
	const char *prefix_;
	tarn_log_fn log_;
};

} // namespace ringhook

#endif
