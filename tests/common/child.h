// SPDX-License-Identifier: BSD-3-Clause
// Shared by the suites that run a program through the shell and look at what
// it printed: its standard output read through a pipe, its exit status (128 +
// the signal for a killed one), and, for run_child(), its standard error
// through a file of the caller's.
#ifndef TARN_TEST_CHILD_H
#define TARN_TEST_CHILD_H

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

struct Result {
	int code;
	std::string out, err;
};

inline std::string slurp(const std::string &path)
{
	std::ifstream f(path);
	std::stringstream ss;
	ss << f.rdbuf();
	return ss.str();
}

// Run `cmd` through the shell; its standard output appended to `*out`.
// Returns its exit status, 128 + the signal that killed it, or -1 when it
// could not be started.
inline int run_capture(const std::string &cmd, std::string *out)
{
	FILE *p = popen(cmd.c_str(), "r");
	if (p == nullptr)
		return -1;
	char buf[4096];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), p)) > 0)
		out->append(buf, n);
	int st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

// Run `cmd` through the shell with its standard error sent to the file
// `err` (read into the result, then removed).
inline Result run_child(const std::string &cmd, const std::string &err)
{
	Result r;
	r.code = run_capture(cmd + " 2>" + err, &r.out);
	EXPECT_NE(r.code, -1) << cmd << ": popen failed";
	if (r.code == -1)
		return { -1, "", "" };
	r.err = slurp(err);
	unlink(err.c_str());
	return r;
}

#endif
