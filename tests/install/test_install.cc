// SPDX-License-Identifier: BSD-3-Clause
// tarn installed under a non-default prefix, and programs built against
// that install exactly as README.md and docs/guide.md say: shared, fully
// static, libtarn.a with shared system libraries; the DPDK plugin's place
// and run path. tests/install/install-check.sh does the work.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

static const std::string script = std::string(SOURCE_ROOT) + "/tests/install/install-check.sh";
static const std::string dir = std::string(BUILD_ROOT) + "/install-check";

static int sh(const std::string &cmd)
{
	int rc = system(cmd.c_str());
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

class Install : public ::testing::Test
{
      protected:
	static int setup_rc;
	static void SetUpTestSuite()
	{
		setup_rc =
		    sh(script + " setup " + dir + " " + SOURCE_ROOT + " " + INSTALL_MESON_ARGS);
	}
	static void TearDownTestSuite()
	{
		sh(script + " clean " + dir);
	}
	void SetUp() override
	{
		ASSERT_EQ(setup_rc, 0) << "configure, build or install failed";
	}
};
int Install::setup_rc = -1;

TEST_F(Install, SharedProgram)
{
	EXPECT_EQ(sh(script + " shared " + dir), 0);
}

TEST_F(Install, FullyStaticProgram)
{
	if (std::string(STATIC_BLOCKED) != "")
		GTEST_SKIP() << "no fully static program on this machine: " << STATIC_BLOCKED;
	EXPECT_EQ(sh(script + " static " + dir), 0);
}

TEST_F(Install, StaticLibtarnSharedSystemLibraries)
{
	EXPECT_EQ(sh(script + " mixed " + dir), 0);
}

TEST_F(Install, DpdkPlugin)
{
	int rc = sh(script + " plugin " + dir);
	if (rc == 77)
		GTEST_SKIP() << "libdpdk not found: no plugin";
	EXPECT_EQ(rc, 0);
}
