// SPDX-License-Identifier: BSD-3-Clause
// Shared by the test suites: captures tarn's log lines so error-path tests
// stay quiet and can look for the line they provoked. Install with
// tarn_log_set_handler(TestLog::fn, nullptr).
#ifndef TARN_TEST_LOG_H
#define TARN_TEST_LOG_H

#include <mutex>
#include <string>
#include <vector>

#include <tarn/tarn_env.h>

struct TestLog {
	static inline std::mutex mu;
	static inline std::vector<std::string> lines;
	static void fn(enum tarn_log_level, const char *comp, const char *msg, void *)
	{
		std::lock_guard<std::mutex> g(mu);
		lines.push_back(std::string(comp) + ": " + msg);
	}
	static void clear()
	{
		std::lock_guard<std::mutex> g(mu);
		lines.clear();
	}
	static bool contains(const std::string &s)
	{
		std::lock_guard<std::mutex> g(mu);
		for (auto &l : lines)
			if (l.find(s) != std::string::npos)
				return true;
		return false;
	}
	// The last line, or "(no log line)".
	static std::string last()
	{
		std::lock_guard<std::mutex> g(mu);
		return lines.empty() ? std::string("(no log line)") : lines.back();
	}
	// Every line, newline-separated (for failure messages).
	static std::string all()
	{
		std::lock_guard<std::mutex> g(mu);
		std::string r;
		for (auto &l : lines)
			r += l + "\n";
		return r;
	}
};

#endif
