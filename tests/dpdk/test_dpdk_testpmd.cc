// SPDX-License-Identifier: BSD-3-Clause
// The unmodified dpdk-testpmd on the plugin: runs scripts/dpdk-plugin-test.sh
// (two net_ring ports, io then txonly forwarding, the pool checked with
// testpmd's own dump_mempool and the plugin's log) for each of the plugin's
// ops. Skips when dpdk-testpmd is not installed (the script exits 77).
#include <gtest/gtest.h>

#include <cstdlib>

#include <sys/wait.h>

#include <cstdio>
#include <string>

#include "../common/child.h"

// The plugin to load: scripts/dpdk-safe-plugin.sh (which runs this test)
// sets TARN_DPDK_PLUGIN to a copy DPDK accepts when the build is under a
// world-writable directory such as /tmp; else the one meson built.
static std::string plugin_path()
{
	const char *p = getenv("TARN_DPDK_PLUGIN");
	return p != nullptr && *p != '\0' ? std::string(p) : std::string(TARN_DPDK_PLUGIN);
}

namespace
{

struct ScriptRun {
	int code;
	std::string out;
};

ScriptRun run_script(const std::string &ops)
{
	const std::string cmd = std::string(DPDK_PLUGIN_TEST) + " -B " + BUILD_ROOT + " -p " +
	                        plugin_path() + " -o " + ops + " 2>&1";
	ScriptRun r{ -1, "" };
	r.code = run_capture(cmd, &r.out);
	return r;
}

class Testpmd : public ::testing::TestWithParam<const char *>
{
};

TEST_P(Testpmd, ForwardsOnThePluginAndLeaksNothing)
{
	if (TESTPMD_SKIP[0] != '\0')
		GTEST_SKIP() << TESTPMD_SKIP;
	ScriptRun r = run_script(GetParam());
	if (r.code == 77)
		GTEST_SKIP() << r.out;
	EXPECT_EQ(r.code, 0) << r.out;
	EXPECT_NE(r.out.find("dpdk-plugin-test: PASSED"), std::string::npos) << r.out;
	EXPECT_NE(r.out.find("no mbuf leaked"), std::string::npos) << r.out;
	// The output names the checks that passed; show them in the log.
	printf("%s", r.out.c_str());
}

INSTANTIATE_TEST_SUITE_P(Ops, Testpmd, ::testing::Values("tarn", "tarn_stack"));

} // namespace

TEST(TestpmdScript, SkipsClearlyWithoutTestpmdAndRejectsBadOptions)
{
	const std::string script = DPDK_PLUGIN_TEST;
	FILE *p = popen(
	    ("DPDK_TESTPMD=/nonexistent/dpdk-testpmd " + script + " -p " + plugin_path() + " 2>&1")
	        .c_str(),
	    "r");
	ASSERT_NE(p, nullptr);
	std::string out;
	char buf[1024];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), p)) > 0)
		out.append(buf, n);
	int st = pclose(p);
	EXPECT_EQ(WEXITSTATUS(st), 77) << out;
	EXPECT_NE(out.find("SKIP: dpdk-testpmd not found"), std::string::npos) << out;

	st = system((script + " -o nosuchops >/dev/null 2>&1").c_str());
	EXPECT_EQ(WEXITSTATUS(st), 2) << "a bad -o is a usage error";
	st = system((script + " -p /nonexistent/plugin.so >/dev/null 2>&1").c_str());
	EXPECT_EQ(WEXITSTATUS(st), 1) << "a missing plugin is a failure, not a skip";
}
