// SPDX-License-Identifier: BSD-3-Clause
// meson install works, and a program outside the tree builds against the
// installed library with `pkg-config --cflags --libs libtarn`.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

static int sh(const std::string &cmd)
{
	int rc = system(cmd.c_str());
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

TEST(Install, ProgramBuildsWithPkgConfig)
{
	std::string script = std::string(SOURCE_ROOT) + "/tests/install/install-check.sh";
	EXPECT_EQ(sh(script + " " + BUILD_ROOT + " shared"), 0);
}

TEST(Install, ProgramBuildsStatic)
{
	std::string script = std::string(SOURCE_ROOT) + "/tests/install/install-check.sh";
	EXPECT_EQ(sh(script + " " + BUILD_ROOT + " static"), 0);
}
