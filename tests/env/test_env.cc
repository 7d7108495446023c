// SPDX-License-Identifier: BSD-3-Clause
// env: options, init/cleanup, logging, errors, topology, lcores, registration.
#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <sched.h>

#include <tarn/tarn.h>

#include "macros_c.h"

extern "C" {
#include "lcore_priv.h"
}

namespace
{

// Build a mutable argv from strings.
struct Argv {
	std::vector<std::string> store;
	std::vector<char *> ptrs;
	int argc;
	explicit Argv(std::initializer_list<const char *> args)
	{
		for (const char *a : args)
			store.emplace_back(a);
		for (auto &s : store)
			ptrs.push_back(&s[0]);
		ptrs.push_back(nullptr);
		argc = (int)store.size();
	}
	char **argv()
	{
		return ptrs.data();
	}
};

// Capture log lines for assertions; restores stderr logging on destruction.
struct LogCapture {
	std::vector<std::string> lines;
	static void fn(enum tarn_log_level, const char *comp, const char *msg, void *arg)
	{
		static_cast<LogCapture *>(arg)->lines.push_back(std::string(comp) + ": " + msg);
	}
	LogCapture()
	{
		tarn_log_set_handler(fn, this);
	}
	~LogCapture()
	{
		tarn_log_set_handler(nullptr, nullptr);
	}
	bool contains(const char *s) const
	{
		for (auto &l : lines)
			if (l.find(s) != std::string::npos)
				return true;
		return false;
	}
};

std::string two_lcores()
{
	cpu_set_t set;
	sched_getaffinity(0, sizeof(set), &set);
	std::vector<int> cpus;
	for (int c = 0; c < CPU_SETSIZE && cpus.size() < 2; c++)
		if (CPU_ISSET(c, &set))
			cpus.push_back(c);
	std::string s = std::to_string(cpus[0]);
	if (cpus.size() > 1)
		s += "," + std::to_string(cpus[1]);
	return s;
}

struct tarn_config test_config(const std::string &lcores)
{
	struct tarn_config cfg;
	tarn_config_init(&cfg);
	snprintf(cfg.lcores, sizeof(cfg.lcores), "%s", lcores.c_str());
	cfg.no_pin_main = 1;
	snprintf(cfg.file_prefix, sizeof(cfg.file_prefix), "tarn-test-env");
	return cfg;
}

} // namespace

TEST(Macros, ArraySizeAndAlign)
{
	static const int five[5] = {};
	static_assert(TARN_ARRAY_SIZE(five) == 5, "a constant expression in C++ too");
	static_assert(TARN_ALIGN_CEIL(13u, 8u) == 16u, "a constant expression in C++ too");
	EXPECT_EQ(macros_c_array_size(), 5u * 100 + 7 * 10 + 3);

	struct {
		uint64_t v, a, ceil, floor;
	} cases[] = {
		{ 0, 8, 0, 0 },
		{ 1, 8, 8, 0 },
		{ 7, 8, 8, 0 },
		{ 8, 8, 8, 8 },
		{ 9, 8, 16, 8 },
		{ 4095, 4096, 4096, 0 },
		{ 4097, 4096, 8192, 4096 },
		{ 5, 1, 5, 5 },
		{ (1ull << 40) + 1, 1ull << 30, (1ull << 40) + (1ull << 30), 1ull << 40 },
	};
	for (const auto &c : cases) {
		EXPECT_EQ(TARN_ALIGN_CEIL(c.v, c.a), c.ceil) << c.v << " " << c.a;
		EXPECT_EQ(TARN_ALIGN_FLOOR(c.v, c.a), c.floor) << c.v << " " << c.a;
		EXPECT_EQ(macros_c_align_ceil(c.v, c.a), c.ceil) << c.v << " " << c.a;
		EXPECT_EQ(macros_c_align_floor(c.v, c.a), c.floor) << c.v << " " << c.a;
		EXPECT_TRUE(TARN_IS_ALIGNED(c.ceil, c.a));
		EXPECT_EQ(TARN_IS_ALIGNED(c.v, c.a) != 0, c.v == c.ceil);
	}
	EXPECT_EQ(TARN_ARRAY_SIZE(cases), 9u);
	/* The type of the value is kept: a 32-bit value stays 32 bits. */
	uint32_t v32 = 4097;
	static_assert(sizeof(TARN_ALIGN_CEIL(v32, 4096)) == 4, "type of v");
	EXPECT_EQ(TARN_ALIGN_CEIL(v32, 4096), 8192u);
	EXPECT_FALSE(TARN_IS_POWER_OF_2(0));
	EXPECT_TRUE(TARN_IS_POWER_OF_2(1));
	EXPECT_TRUE(TARN_IS_POWER_OF_2(1ull << 63));
	EXPECT_FALSE(TARN_IS_POWER_OF_2(6));
}

TEST(Errors, StrerrorAcceptsBothSigns)
{
	EXPECT_STREQ(tarn_strerror(EINVAL), tarn_strerror(-EINVAL));
	EXPECT_NE(std::string(tarn_strerror(-EALREADY)).find("already"), std::string::npos);
	EXPECT_NE(tarn_strerror(123456), nullptr);
	EXPECT_STREQ(tarn_strerror(0), "Success");
}

TEST(Errors, ErrnoIsPerThread)
{
	tarn_errno = EINVAL;
	std::thread t([] {
		EXPECT_EQ(tarn_errno, 0);
		tarn_errno = ENOMEM;
	});
	t.join();
	EXPECT_EQ(tarn_errno, EINVAL);
}

TEST(Log, LevelsAndHandler)
{
	int old = tarn_log_get_level();
	EXPECT_EQ(tarn_log_set_level(2), -EINVAL);
	EXPECT_EQ(tarn_log_set_level(8), -EINVAL);
	EXPECT_EQ(tarn_log_get_level(), old);
	ASSERT_EQ(tarn_log_set_level(TARN_LOG_INFO), 0);
	{
		LogCapture cap;
		tarn_log(TARN_LOG_INFO, "comp", "hello %d", 42);
		tarn_log(TARN_LOG_DEBUG, "comp", "hidden");
		ASSERT_EQ(cap.lines.size(), 1u);
		EXPECT_EQ(cap.lines[0], "comp: hello 42");
	}
	tarn_log_set_level(old);
	EXPECT_EQ(tarn_log_level_parse("debug"), TARN_LOG_DEBUG);
	EXPECT_EQ(tarn_log_level_parse("ERR"), TARN_LOG_ERR);
	EXPECT_EQ(tarn_log_level_parse("5"), TARN_LOG_NOTICE);
	EXPECT_EQ(tarn_log_level_parse("9"), -EINVAL);
	EXPECT_EQ(tarn_log_level_parse(""), -EINVAL);
	EXPECT_EQ(tarn_log_level_parse(nullptr), -EINVAL);
	EXPECT_EQ(tarn_log_level_parse("loud"), -EINVAL);
}

TEST(Options, Defaults)
{
	struct tarn_config cfg;
	EXPECT_EQ(tarn_config_init(nullptr), -EINVAL);
	unsetenv("TARN_LOG_LEVEL");
	ASSERT_EQ(tarn_config_init(&cfg), 0);
	EXPECT_STREQ(cfg.file_prefix, "tarn");
	EXPECT_EQ(cfg.huge_policy, TARN_HUGE_PREFER);
	EXPECT_EQ(cfg.log_level, TARN_LOG_NOTICE);
	EXPECT_EQ(cfg.lcores[0], '\0');
	for (int i = 0; i < TARN_MAX_SOCKETS; i++)
		EXPECT_EQ(cfg.socket_mem_mb[i], 0u);
}

TEST(Options, EnvironmentVariables)
{
	LogCapture cap;
	setenv("TARN_LOG_LEVEL", "debug", 1);
	setenv("TARN_SOCKET_MEM", "64", 1);
	struct tarn_config cfg;
	ASSERT_EQ(tarn_config_init(&cfg), 0);
	EXPECT_EQ(cfg.log_level, TARN_LOG_DEBUG);
	EXPECT_EQ(cfg.socket_mem_mb[0], 64u);
	setenv("TARN_SOCKET_MEM", "", 1); // empty: as unset
	ASSERT_EQ(tarn_config_init(&cfg), 0);
	EXPECT_EQ(cfg.socket_mem_mb[0], 0u);
	unsetenv("TARN_LOG_LEVEL");
	unsetenv("TARN_SOCKET_MEM");
}

// A malformed variable is refused as its option is (issue 17): -EINVAL with
// a line naming the variable and one saying what the option expects; the
// valid variables are still applied; tarn_init(NULL) and tarn_init_args()
// refuse too.
TEST(Options, MalformedEnvironmentVariableRefused)
{
	const struct {
		const char *var, *val, *opt;
	} bad[] = {
		{ "TARN_SOCKET_MEM", "junk", "--socket-mem" },
		{ "TARN_LCORES", "0-", "--lcores" },
		{ "TARN_HUGE", "maybe", "--huge" },
		{ "TARN_HUGE_SIZE", "3M", "--huge-size" },
		{ "TARN_HUGE_DIR", "relative/dir", "--huge-dir" },
		{ "TARN_LOG_LEVEL", "loud", "--log-level" },
		{ "TARN_FILE_PREFIX", "../x", "--file-prefix" },
		{ "TARN_FILE_PREFIX", "a_map_b", "--file-prefix" },
		{ "TARN_IOVA_MODE", "phys", "--iova-mode" },
		{ "TARN_NO_TELEMETRY", "maybe", "TARN_NO_TELEMETRY" },
	};
	for (const auto &b : bad) {
		LogCapture cap;
		setenv("TARN_LOG_LEVEL", "info", 1);
		setenv(b.var, b.val, 1); // TARN_LOG_LEVEL: replaces "info"
		struct tarn_config cfg;
		EXPECT_EQ(tarn_config_init(&cfg), -EINVAL) << b.var << "=" << b.val;
		std::string all;
		for (auto &l : cap.lines)
			all += l + "\n";
		const std::string want =
		    std::string("environment variable ") + b.var + "='" + b.val + "' refused";
		EXPECT_TRUE(cap.contains(want.c_str())) << all;
		EXPECT_TRUE(cap.contains(b.opt)) << all;
		if (strcmp(b.var, "TARN_LOG_LEVEL") != 0) {
			EXPECT_EQ(cfg.log_level, TARN_LOG_INFO)
			    << "a valid variable was not applied";
		}
		// the same value as the option is refused as well
		if (b.opt[0] == '-') {
			char a0[] = "app";
			std::string o = std::string(b.opt) + "=" + b.val;
			char *argv[] = { a0, o.data(), nullptr };
			int argc = 2;
			struct tarn_config c2;
			tarn_config_init(&c2);
			EXPECT_EQ(tarn_config_parse_args(&c2, &argc, argv), -EINVAL) << o;
		}
		EXPECT_EQ(tarn_init(nullptr), -EINVAL) << b.var;
		EXPECT_FALSE(tarn_initialized());
		char a0[] = "app";
		char *argv[] = { a0, nullptr };
		int argc = 1;
		EXPECT_EQ(tarn_init_args(&argc, argv), -EINVAL) << b.var;
		EXPECT_FALSE(tarn_initialized());
		unsetenv(b.var);
		unsetenv("TARN_LOG_LEVEL");
	}
}

TEST(Options, ParseRemovesTarnOptionsKeepsOthers)
{
	struct tarn_config cfg;
	tarn_config_init(&cfg);
	Argv a({ "app", "--port", "ring:x", "--lcores", "0-1", "--socket-mem=64,0", "-v",
	         "--no-huge", "--log-level", "info", "--file-prefix", "abc", "--", "--lcores",
	         "9" });
	int argc = a.argc;
	int rc = tarn_config_parse_args(&cfg, &argc, a.argv());
	EXPECT_EQ(rc, 8);
	ASSERT_EQ(argc, 7);
	const char *want[] = { "app", "--port", "ring:x", "-v", "--", "--lcores", "9" };
	for (int i = 0; i < argc; i++)
		EXPECT_STREQ(a.argv()[i], want[i]) << i;
	EXPECT_EQ(a.argv()[argc], nullptr);
	EXPECT_STREQ(cfg.lcores, "0-1");
	EXPECT_EQ(cfg.socket_mem_mb[0], 64u);
	EXPECT_EQ(cfg.socket_mem_mb[1], 0u);
	EXPECT_EQ(cfg.huge_policy, TARN_HUGE_NONE);
	EXPECT_EQ(cfg.log_level, TARN_LOG_INFO);
	EXPECT_STREQ(cfg.file_prefix, "abc");
}

TEST(Options, ParseAllForms)
{
	struct tarn_config cfg;
	tarn_config_init(&cfg);
	Argv a({ "app", "--huge=require", "--huge-size", "1G", "--huge-dir=/dev/hugepages",
	         "--no-pin-main", "--lcores=0@1,1@0" });
	int argc = a.argc;
	ASSERT_EQ(tarn_config_parse_args(&cfg, &argc, a.argv()), 6);
	EXPECT_EQ(argc, 1);
	EXPECT_EQ(cfg.huge_policy, TARN_HUGE_REQUIRE);
	EXPECT_EQ(cfg.huge_page_size, 1ull << 30);
	EXPECT_STREQ(cfg.huge_dir, "/dev/hugepages");
	EXPECT_EQ(cfg.no_pin_main, 1);
	EXPECT_STREQ(cfg.lcores, "0@1,1@0");
}

// DPDK's --log-level PATTERN:LEVEL sets tarn's one level: DPDK's numbers
// (syslog's + 1), its names, the three below err as err; a pattern other
// than '*' is said to apply to all of tarn.
TEST(Options, LogLevelInDpdksForm)
{
	const struct {
		const char *val;
		int level;
		bool notice;
	} ok[] = {
		{ "lib.eal:debug", TARN_LOG_DEBUG, true },
		{ "*:8", TARN_LOG_DEBUG, false },
		{ "*:info", TARN_LOG_INFO, false },
		{ "pmd.net.ring:7", TARN_LOG_INFO, true },
		{ "x:crit", TARN_LOG_ERR, true },
		{ "x:1", TARN_LOG_ERR, true },
		{ "lib.*:warning", TARN_LOG_WARNING, true },
	};
	for (auto &c : ok) {
		struct tarn_config cfg;
		tarn_config_init(&cfg);
		Argv a({ "app", "--log-level", c.val });
		int argc = a.argc;
		LogCapture cap;
		EXPECT_EQ(tarn_config_parse_args(&cfg, &argc, a.argv()), 2) << c.val;
		EXPECT_EQ(cfg.log_level, c.level) << c.val;
		EXPECT_EQ(cap.contains("tarn has one log level"), c.notice) << c.val;
	}
}

// Every hostile value is refused with -EINVAL, a log line, and argv untouched.
TEST(Options, HostileValuesRejected)
{
	const std::string longstr(5000, '1');
	const std::vector<std::pair<const char *, std::string>> bad = {
		{ "--lcores", "" },
		{ "--lcores", "a" },
		{ "--lcores", "0-" },
		{ "--lcores", "3-1" },
		{ "--lcores", "," },
		{ "--lcores", "1,,2" },
		{ "--lcores", "0,0" },
		{ "--lcores", "0@" },
		{ "--lcores", "@1" },
		{ "--lcores", "128" },
		{ "--lcores", "-1" },
		{ "--lcores", "0-1@2" },
		{ "--lcores", "99999999999" },
		{ "--lcores", longstr },
		{ "--lcores", "1," },
		{ "--socket-mem", "" },
		{ "--socket-mem", "a" },
		{ "--socket-mem", "1,,2" },
		{ "--socket-mem", "-5" },
		{ "--socket-mem", "1,2,3,4,5,6,7,8,9" },
		{ "--socket-mem", "99999999999999999999999" },
		{ "--socket-mem", "1," },
		{ "--huge-dir", "relative" },
		{ "--huge-dir", "" },
		{ "--huge", "maybe" },
		{ "--huge-size", "3M" },
		{ "--huge-size", "2X" },
		{ "--huge-size", "0" },
		{ "--log-level", "loud" },
		{ "--log-level", "11" },
		{ "--log-level", "8" }, // DPDK's debug: tarn's numbers are syslog's
		{ "--log-level", ":debug" },
		{ "--log-level", "lib.eal:" },
		{ "--log-level", "lib.eal:9" },
		{ "--log-level", "lib.eal:0" },
		{ "--log-level", "lib.eal:loud" },
		{ "--file-prefix", "" },
		{ "--file-prefix", "a/b" },
		{ "--file-prefix", "rtemap_" },
		{ "--file-prefix", ".." },
		{ "--file-prefix", longstr },
		{ "--file-prefix", "a b" },
	};
	for (auto &[opt, val] : bad) {
		struct tarn_config cfg;
		tarn_config_init(&cfg);
		struct tarn_config before = cfg;
		Argv a({ "app", "x", opt, val.c_str() });
		int argc = a.argc;
		LogCapture cap;
		EXPECT_EQ(tarn_config_parse_args(&cfg, &argc, a.argv()), -EINVAL)
		    << opt << " " << val;
		EXPECT_EQ(argc, 4);
		EXPECT_STREQ(a.argv()[2], opt);
		EXPECT_FALSE(cap.lines.empty()) << opt << " " << val;
		EXPECT_EQ(memcmp(&before, &cfg, sizeof(cfg)), 0);
	}
}

TEST(Options, MissingValueAndFlagWithValue)
{
	struct tarn_config cfg;
	tarn_config_init(&cfg);
	Argv a({ "app", "--lcores" });
	int argc = a.argc;
	EXPECT_EQ(tarn_config_parse_args(&cfg, &argc, a.argv()), -EINVAL);
	Argv b({ "app", "--no-huge=1" });
	argc = b.argc;
	EXPECT_EQ(tarn_config_parse_args(&cfg, &argc, b.argv()), -EINVAL);
	EXPECT_EQ(tarn_config_parse_args(nullptr, &argc, b.argv()), -EINVAL);
	EXPECT_EQ(tarn_config_parse_args(&cfg, nullptr, b.argv()), -EINVAL);
	argc = 0;
	EXPECT_EQ(tarn_config_parse_args(&cfg, &argc, nullptr), 0);
}

TEST(Options, UsageMentionsEveryOption)
{
	char *buf = nullptr;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	tarn_config_usage(f);
	fclose(f);
	std::string s(buf, len);
	free(buf);
	// Every option of the table that drives the parser (options.c), with
	// its value's name and its environment variable.
	size_t n = 0;
	const char *meta, *var;
	for (const char *name; (name = tarn__config_option(n, &meta, &var)) != nullptr; n++) {
		const std::string head =
		    std::string("--") + name + (meta ? std::string(" ") + meta : "");
		EXPECT_NE(s.find("  " + head + " "), std::string::npos) << head << " in\n" << s;
		if (var != nullptr) {
			EXPECT_NE(s.find(std::string("(environment: ") + var + ")"),
			          std::string::npos)
			    << var;
		}
	}
	EXPECT_GE(n, 10u) << "the option table";
	// ...and nothing the table does not have: every "--x" the text names
	// is an option.
	for (size_t at = s.find("--"); at != std::string::npos; at = s.find("--", at + 2)) {
		const size_t end = s.find_first_not_of("abcdefghijklmnopqrstuvwxyz-", at + 2);
		const std::string word = s.substr(at + 2, end - at - 2);
		bool known = false;
		for (size_t i = 0; const char *name = tarn__config_option(i, nullptr, nullptr); i++)
			known = known || word == name;
		EXPECT_TRUE(known) << "--" << word << " is in the help but not an option";
	}
	tarn_config_usage(nullptr); // no crash
}

TEST(Topology, Basics)
{
	EXPECT_GE(tarn_socket_count(), 1u);
	EXPECT_GE(tarn_cpu_count(), 1u);
	EXPECT_GE(tarn_cpu_socket(0), 0);
	EXPECT_EQ(tarn_cpu_socket(100000), -EINVAL);
	int s = tarn_socket_id();
	EXPECT_GE(s, 0);
	EXPECT_LT(s, (int)tarn_socket_count());
	EXPECT_EQ(tarn_socket_resolve(TARN_SOCKET_ANY), s);
	EXPECT_EQ(tarn_socket_resolve(0), 0);
	EXPECT_EQ(tarn_socket_resolve(-2), -EINVAL);
	EXPECT_EQ(tarn_socket_resolve(TARN_MAX_SOCKETS), -EINVAL);
	EXPECT_EQ(tarn_socket_resolve((int)tarn_socket_count()), -EINVAL);
	tarn_topology_dump(nullptr);
}

// "The socket of X" is tarn_<X>_socket(); DPDK's names are aliases.
TEST(Topology, SocketNames)
{
	EXPECT_EQ(tarn_thread_socket(), tarn_socket_id());
	EXPECT_EQ(tarn_socket_resolve(TARN_SOCKET_ANY), tarn_thread_socket());
	struct tarn_config cfg = test_config(two_lcores());
	ASSERT_EQ(tarn_init(&cfg), 0);
	EXPECT_EQ(tarn_thread_socket(), tarn_lcore_socket(tarn_lcore_main()));
	EXPECT_EQ(tarn_thread_socket(), tarn_socket_id());
	EXPECT_EQ(tarn_cleanup(), 0);
}

TEST(Init, CleanupWithoutInitAndTwice)
{
	EXPECT_FALSE(tarn_initialized());
	EXPECT_EQ(tarn_cleanup(), -EINVAL);
	struct tarn_config cfg = test_config(two_lcores());
	ASSERT_EQ(tarn_init(&cfg), 0);
	EXPECT_TRUE(tarn_initialized());
	EXPECT_EQ(tarn_init(&cfg), -EALREADY);
	EXPECT_EQ(tarn_init(nullptr), -EALREADY);
	EXPECT_STREQ(tarn_config_get()->file_prefix, "tarn-test-env");
	EXPECT_EQ(tarn_cleanup(), 0);
	EXPECT_EQ(tarn_cleanup(), -EINVAL);
	EXPECT_EQ(tarn_config_get(), nullptr);
	EXPECT_EQ(tarn_lcore_main(), TARN_LCORE_ID_ANY);
	EXPECT_EQ(tarn_lcore_id(), TARN_LCORE_ID_ANY);
}

TEST(Init, CyclesWork)
{
	for (int i = 0; i < 20; i++) {
		struct tarn_config cfg = test_config(two_lcores());
		ASSERT_EQ(tarn_init(&cfg), 0) << i;
		ASSERT_EQ(tarn_cleanup(), 0) << i;
	}
}

TEST(Init, BadConfigFailsCleanlyThenInitWorks)
{
	LogCapture cap;
	struct tarn_config cfg = test_config("100000");
	EXPECT_EQ(tarn_init(&cfg), -EINVAL); // not parseable: id out of range
	cfg = test_config("0@100000");
	EXPECT_EQ(tarn_init(&cfg), -EINVAL); // no such CPU
	EXPECT_TRUE(cap.contains("does not exist"));
	cfg = test_config("0");
	cfg.socket_mem_mb[TARN_MAX_SOCKETS - 1] = 1;
	if (tarn_socket_count() < TARN_MAX_SOCKETS) {
		EXPECT_EQ(tarn_init(&cfg), -EINVAL);
	}
	cfg = test_config("0");
	strcpy(cfg.file_prefix, "has/slash");
	EXPECT_EQ(tarn_init(&cfg), -EINVAL);
	cfg = test_config("0");
	cfg.huge_policy = (enum tarn_huge_policy)42;
	EXPECT_EQ(tarn_init(&cfg), -EINVAL);
	cfg = test_config("0");
	cfg.log_level = 0;
	EXPECT_EQ(tarn_init(&cfg), -EINVAL);
	EXPECT_FALSE(tarn_initialized());
	cfg = test_config(two_lcores());
	ASSERT_EQ(tarn_init(&cfg), 0);
	EXPECT_EQ(tarn_cleanup(), 0);
}

TEST(Init, InitArgs)
{
	Argv a(
	    { "app", "--lcores", "0", "--no-pin-main", "--file-prefix", "tarn-test-env", "rest" });
	int argc = a.argc;
	ASSERT_EQ(tarn_init_args(&argc, a.argv()), 5);
	EXPECT_EQ(argc, 2);
	EXPECT_STREQ(a.argv()[1], "rest");
	EXPECT_EQ(tarn_lcore_main(), 0u);
	EXPECT_EQ(tarn_cleanup(), 0);
	Argv b({ "app", "--lcores", "x" });
	argc = b.argc;
	EXPECT_EQ(tarn_init_args(&argc, b.argv()), -EINVAL);
	EXPECT_FALSE(tarn_initialized());
}

class Lcores : public ::testing::Test
{
      protected:
	void SetUp() override
	{
		struct tarn_config cfg = test_config(two_lcores());
		ASSERT_EQ(tarn_init(&cfg), 0);
	}
	void TearDown() override
	{
		EXPECT_EQ(tarn_cleanup(), 0);
	}
};

static int report_id(void *arg)
{
	*static_cast<uint32_t *>(arg) = tarn_lcore_id();
	return 7;
}

TEST_F(Lcores, MainAndWorkers)
{
	uint32_t main = tarn_lcore_main();
	EXPECT_EQ(tarn_lcore_id(), main);
	EXPECT_TRUE(tarn_lcore_is_enabled(main));
	EXPECT_GE(tarn_lcore_socket(main), 0);
	EXPECT_GE(tarn_lcore_cpu(main), 0);
	EXPECT_EQ(tarn_lcore_socket(TARN_MAX_LCORES), -EINVAL);
	EXPECT_EQ(tarn_lcore_cpu(TARN_LCORE_ID_ANY), -EINVAL);
	unsigned n = 0;
	uint32_t id;
	TARN_LCORE_FOREACH(id)
	n++;
	EXPECT_EQ(n, tarn_lcore_count());

	// launch/wait on every worker, each sees its own id
	TARN_LCORE_FOREACH_WORKER(id)
	{
		uint32_t seen = TARN_LCORE_ID_ANY;
		ASSERT_EQ(tarn_lcore_launch(id, report_id, &seen), 0);
		int ret = 0;
		ASSERT_EQ(tarn_lcore_wait(id, &ret), 0);
		EXPECT_EQ(ret, 7);
		EXPECT_EQ(seen, id);
		EXPECT_EQ(tarn_lcore_cpu(id), (int)id); // list "a,b": id = cpu
		// the worker is pinned to its CPU
		int on = -1;
		ASSERT_EQ(tarn_lcore_launch(
		              id,
		              [](void *a) { return *static_cast<int *>(a) = sched_getcpu(), 0; },
		              &on),
		          0);
		ASSERT_EQ(tarn_lcore_wait(id, nullptr), 0);
		EXPECT_EQ(on, (int)id);
	}
	EXPECT_EQ(tarn_lcore_launch(main, report_id, nullptr), -EINVAL);
	EXPECT_EQ(tarn_lcore_launch(TARN_MAX_LCORES, report_id, nullptr), -EINVAL);
	EXPECT_EQ(tarn_lcore_wait(main, nullptr), -EINVAL);
	EXPECT_EQ(tarn_lcore_wait(TARN_LCORE_ID_ANY, nullptr), -EINVAL);
	EXPECT_EQ(tarn_lcore_wait_all(), 0);
}

static std::atomic<int> gate;
static int wait_gate(void *)
{
	while (gate.load() == 0)
		sched_yield();
	return 3;
}

TEST_F(Lcores, BusyWhileRunningAndWaitAll)
{
	uint32_t id = tarn_lcore_next(TARN_LCORE_ID_ANY, 1);
	if (id == TARN_LCORE_ID_ANY)
		GTEST_SKIP() << "needs 2 CPUs for a worker lcore";
	EXPECT_EQ(tarn_lcore_launch(id, nullptr, nullptr), -EINVAL);
	gate = 0;
	ASSERT_EQ(tarn_lcore_launch(id, wait_gate, nullptr), 0);
	EXPECT_EQ(tarn_lcore_launch(id, wait_gate, nullptr), -EBUSY);
	gate = 1;
	EXPECT_EQ(tarn_lcore_wait_all(), 3);
	int ret = -1;
	EXPECT_EQ(tarn_lcore_wait(id, &ret), 0); // nothing launched since: retval untouched
	EXPECT_EQ(ret, -1);
}

TEST_F(Lcores, ThreadRegistration)
{
	EXPECT_EQ(tarn_thread_unregister(), -EINVAL); // main lcore cannot unregister
	std::thread t([] {
		EXPECT_EQ(tarn_lcore_id(), TARN_LCORE_ID_ANY);
		EXPECT_EQ(tarn_thread_unregister(), -EINVAL);
		int id = tarn_thread_register();
		ASSERT_GE(id, 0);
		EXPECT_EQ(tarn_thread_register(), id); // idempotent
		EXPECT_EQ(tarn_lcore_id(), (uint32_t)id);
		EXPECT_TRUE(tarn_lcore_is_enabled(id));
		EXPECT_EQ(tarn_lcore_cpu(id), -1);
		EXPECT_GE(tarn_lcore_socket(id), 0);
		EXPECT_EQ(tarn_lcore_launch(id, report_id, nullptr), -EINVAL);
		EXPECT_EQ(tarn_thread_unregister(), 0);
		EXPECT_EQ(tarn_lcore_id(), TARN_LCORE_ID_ANY);
		EXPECT_FALSE(tarn_lcore_is_enabled(id));
	});
	t.join();
}

TEST_F(Lcores, RegistrationExhaustsAndExitReleases)
{
	unsigned want = TARN_MAX_LCORES - tarn_lcore_count();
	std::atomic<unsigned> ok{ 0 }, nospc{ 0 };
	std::atomic<int> release{ 0 };
	std::vector<std::thread> ts;
	for (unsigned i = 0; i < want + 2; i++) {
		ts.emplace_back([&] {
			int id = tarn_thread_register();
			if (id >= 0)
				ok++;
			else if (id == -ENOSPC)
				nospc++;
			while (release.load() == 0)
				sched_yield();
			// exits without unregistering: the id must come back
		});
	}
	while (ok + nospc < want + 2)
		sched_yield();
	EXPECT_EQ(ok.load(), want);
	EXPECT_EQ(nospc.load(), 2u);
	release = 1;
	for (auto &t : ts)
		t.join();
	std::thread again([] { EXPECT_GE(tarn_thread_register(), 0); });
	again.join();
}

TEST(Lcore, RegisterWithoutInit)
{
	std::thread t([] { EXPECT_EQ(tarn_thread_register(), -EINVAL); });
	t.join();
}
