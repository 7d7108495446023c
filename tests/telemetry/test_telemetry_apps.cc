// SPDX-License-Identifier: BSD-3-Clause
// telemetry end to end: the built tarn-fwd runs (its embedded two cabled ring
// ports, io forwarding) with a file prefix of its own; DPDK's own client
// dpdk-telemetry.py reads /tarn/ethdev/stats from it; tarn-top --once --json
// (by prefix and by pid) reports its pool, ports and lcores with rates; and
// tarn-top's screen, run in tmux, shows the pool and port rows and quits on
// 'q'. Also tarn-top's errors (no such process, bad options) and the socket
// going away when tarn-fwd exits.
#include "telemetry_test.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "../common/child.h"

namespace
{

// Run a shell command; stdout and stderr captured separately.
Result sh(const std::string &cmd)
{
	static int seq;
	const std::string err = "/tmp/tarn-test-telapps-" + std::to_string(getpid()) + "-" +
	                        std::to_string(seq++) + ".err";
	return run_child(cmd, err);
}

// The runtime directory as dpdk-telemetry.py computes it.
std::string runtime_dir()
{
	const char *rd = getenv("RUNTIME_DIRECTORY");
	std::string base;
	if (rd != nullptr && rd[0] != '\0')
		base = rd;
	else if (getuid() == 0)
		base = "/var/run";
	else
		base = getenv("XDG_RUNTIME_DIR") && getenv("XDG_RUNTIME_DIR")[0]
		           ? getenv("XDG_RUNTIME_DIR")
		           : "/tmp";
	return base + "/dpdk";
}

bool exists(const std::string &p)
{
	struct stat st;
	return lstat(p.c_str(), &st) == 0;
}

// One tarn-fwd for the whole suite, stopped with SIGINT at the end.
class FwdEnv : public ::testing::Environment
{
      public:
	static inline pid_t pid = -1;
	static inline std::string prefix, sock, log;
	static inline int exit_code = -1;

	void SetUp() override
	{
		prefix = "tarn-test-telapps-" + std::to_string(getpid());
		sock = runtime_dir() + "/" + prefix + "/dpdk_telemetry.v2";
		log = "/tmp/" + prefix + ".log";
		const std::string lcores = sysconf(_SC_NPROCESSORS_ONLN) >= 2 ? "0,1" : "0";
		fflush(nullptr);
		pid = fork();
		if (pid == 0) {
			int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
			if (fd >= 0) {
				dup2(fd, 1);
				dup2(fd, 2);
			}
			// at most 120 s, should the suite die before stopping it
			execl(TARN_FWD, TARN_FWD, "--file-prefix", prefix.c_str(), "--lcores",
			      lcores.c_str(), "--duration", "120", "--stats-period", "0",
			      (char *)nullptr);
			_exit(127);
		}
		ASSERT_GT(pid, 0);
		// wait for its socket (sanitizer builds start slowly)
		for (int i = 0; i < 300 && !exists(sock); i++)
			std::this_thread::sleep_for(std::chrono::milliseconds(100));
		ASSERT_TRUE(exists(sock)) << "tarn-fwd made no telemetry socket at " << sock << "\n"
		                          << slurp(log);
	}
	void TearDown() override
	{
		if (pid > 0) {
			kill(pid, SIGINT);
			int st = 0;
			waitpid(pid, &st, 0);
			exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
			EXPECT_EQ(exit_code, 0) << slurp(log);
			EXPECT_FALSE(exists(sock)) << "tarn-fwd left its socket behind";
		}
		unlink(log.c_str());
	}
};

::testing::Environment *const fwd_env = ::testing::AddGlobalTestEnvironment(new FwdEnv);

// The first JSON object line of `out` that starts with `{"<cmd>"`.
std::string reply_line(const std::string &out, const std::string &cmd)
{
	std::istringstream in(out);
	std::string line;
	while (std::getline(in, line))
		if (line.rfind("{\"" + cmd + "\"", 0) == 0)
			return line;
	return "";
}

TEST(DpdkClient, ReadsTarnFwdStats)
{
	if (std::string(DPDK_TELEMETRY_PY).empty() || access(DPDK_TELEMETRY_PY, R_OK) != 0)
		GTEST_SKIP() << "DPDK's dpdk-telemetry.py is not installed (package dpdk-dev)";
	if (std::string(PYTHON3).empty())
		GTEST_SKIP() << "python3 is not installed";
	// the client reads commands from stdin and prints one JSON reply per line
	Result r =
	    sh("printf '/tarn/ethdev/stats,0\\n/ethdev/stats,1\\n/tarn/fwd/info\\n/nope\\n' | " +
	       std::string(PYTHON3) + " " + DPDK_TELEMETRY_PY + " -f " + FwdEnv::prefix);
	ASSERT_EQ(r.code, 0) << r.out << r.err;
	std::string line = reply_line(r.out, "/tarn/ethdev/stats");
	Json j(line);
	ASSERT_TRUE(j.ok()) << "no /tarn/ethdev/stats reply in:\n" << r.out << r.err;
	const jval *v = j.value("/tarn/ethdev/stats");
	EXPECT_STREQ(jget_str(v, "name", ""), "p0");
	EXPECT_STREQ(jget_str(v, "state", ""), "started");
	EXPECT_GT(jget_u64(v, "ipackets", 0), 0u) << line;
	EXPECT_GT(jget_u64(v, "opackets", 0), 0u) << line;
	EXPECT_EQ(jcount(jget(v, "rx_queues")), 1u) << line;
	Json d(reply_line(r.out, "/ethdev/stats"));
	ASSERT_TRUE(d.ok()) << r.out;
	EXPECT_GT(jget_u64(d.value("/ethdev/stats"), "ipackets", 0), 0u);
	Json f(reply_line(r.out, "/tarn/fwd/info"));
	ASSERT_TRUE(f.ok()) << r.out;
	EXPECT_STREQ(jget_str(f.value("/tarn/fwd/info"), "mode", ""), "io");
	EXPECT_EQ(reply_line(r.out, "/nope"), "{\"/nope\": null}");
}

// tarn-top --once --json: pools, ports with rates, lcores with a busy ratio.
void check_top_json(const Result &r)
{
	ASSERT_EQ(r.code, 0) << r.err;
	Json j(r.out);
	ASSERT_TRUE(j.ok()) << r.out << ": " << j.err;
	const jval *root = j.root();
	EXPECT_EQ(jget_u64(root, "pid", 0), (uint64_t)FwdEnv::pid);
	EXPECT_STREQ(jget_str(root, "file_prefix", ""), FwdEnv::prefix.c_str());
	EXPECT_GT(jget_num(root, "interval_s", 0), 0.0);

	const jval *pools = jget(root, "pools");
	const jval *pool = nullptr;
	for (const jval *p = pools ? pools->child : nullptr; p; p = p->next)
		if (std::string(jget_str(p, "name", "")) == "fwd_mbufs")
			pool = p;
	ASSERT_NE(pool, nullptr) << r.out;
	EXPECT_GT(jget_u64(pool, "size", 0), 0u);
	EXPECT_EQ(jget_u64(pool, "in_use", 0) + jget_u64(pool, "avail", 0),
	          jget_u64(pool, "size", 1));
	EXPECT_EQ(jget_u64(pool, "cache_size", 0), 256u);
	for (const char *k : { "hit_percent", "refills", "refills_per_s", "fails", "caches" })
		EXPECT_NE(jget(pool, k), nullptr) << k;
	EXPECT_GE(jcount(jget(pool, "caches")), 1u) << r.out;

	const jval *ports = jget(root, "ports");
	ASSERT_EQ(jcount(ports), 2u) << r.out;
	for (const jval *p = ports->child; p; p = p->next) {
		const std::string name = jget_str(p, "name", "");
		EXPECT_TRUE(name == "p0" || name == "p1") << name;
		// io forwarding between two cabled ring ports never stops moving packets
		EXPECT_GT(jget_num(p, "rx_pps", 0), 0.0) << r.out;
		EXPECT_GT(jget_num(p, "tx_pps", 0), 0.0) << r.out;
		EXPECT_GT(jget_num(p, "rx_bps", 0), 0.0) << r.out;
		EXPECT_EQ(jcount(jget(p, "rx_queues")), 1u);
		const jval *q = jindex(jget(p, "rx_queues"), 0);
		for (const char *k : { "pps", "bps", "drops_per_s", "drops" })
			EXPECT_NE(jget(q, k), nullptr) << k;
	}

	const jval *lcores = jget(root, "lcores");
	ASSERT_GE(jcount(lcores), 1u) << r.out;
	bool busy_seen = false;
	for (const jval *l = lcores->child; l; l = l->next) {
		const jval *b = jget(l, "busy_percent");
		ASSERT_NE(b, nullptr);
		if (b->type == J_NUM) {
			EXPECT_GE(b->num, 0.0);
			EXPECT_LE(b->num, 100.0);
			busy_seen = true;
		}
	}
	EXPECT_TRUE(busy_seen) << "no forwarding lcore reported polls: " << r.out;
}

TEST(Top, OnceJsonByPrefix)
{
	check_top_json(sh(std::string(TARN_TOP) + " --once --json --interval 0.5 --file-prefix " +
	                  FwdEnv::prefix));
}

TEST(Top, OnceJsonByPid)
{
	check_top_json(sh(std::string(TARN_TOP) + " --once --json -d 0.5 --pid " +
	                  std::to_string(FwdEnv::pid)));
}

TEST(Top, OnceJsonBySocket)
{
	check_top_json(
	    sh(std::string(TARN_TOP) + " --once --json -d 0.5 --socket " + FwdEnv::sock));
}

TEST(Top, JsonLinesForIterations)
{
	Result r = sh(std::string(TARN_TOP) + " --json -n 2 -d 0.2 -f " + FwdEnv::prefix);
	ASSERT_EQ(r.code, 0) << r.err;
	std::istringstream in(r.out);
	std::string line;
	int n = 0;
	while (std::getline(in, line)) {
		Json j(line);
		EXPECT_TRUE(j.ok()) << line;
		n++;
	}
	EXPECT_EQ(n, 2);
}

TEST(Top, OnceText)
{
	Result r = sh(std::string(TARN_TOP) + " --once -d 0.3 -f " + FwdEnv::prefix);
	ASSERT_EQ(r.code, 0) << r.err;
	for (const char *want : { "POOL", "fwd_mbufs", "PORT", "p0", "p1", "LCORE", "worker" })
		EXPECT_NE(r.out.find(want), std::string::npos) << want << " missing in:\n" << r.out;
	EXPECT_EQ(r.out.find("\033["), std::string::npos) << "escape codes in a pipe";
}

TEST(Top, ErrorsAreClear)
{
	Result r = sh(std::string(TARN_TOP) + " --once --file-prefix tarn-no-such-prefix-xyz");
	EXPECT_EQ(r.code, 1);
	EXPECT_NE(r.err.find("no tarn process with file prefix 'tarn-no-such-prefix-xyz'"),
	          std::string::npos)
	    << r.err;
	r = sh(std::string(TARN_TOP) + " --once --pid 999999999");
	EXPECT_EQ(r.code, 1);
	EXPECT_NE(r.err.find("no telemetry socket of process 999999999"), std::string::npos)
	    << r.err;
	r = sh(std::string(TARN_TOP) + " --once --socket /nonexistent/sock");
	EXPECT_EQ(r.code, 1);
	EXPECT_NE(r.err.find("/nonexistent/sock does not exist"), std::string::npos) << r.err;
	// issue 17: a file that is not a socket says so; a prefix that is not a
	// name is a bad argument (2), like the others
	r = sh(std::string(TARN_TOP) + " --once --socket /etc/passwd");
	EXPECT_EQ(r.code, 2) << r.err;
	EXPECT_NE(r.err.find("/etc/passwd: not a socket (it is a regular file)"), std::string::npos)
	    << r.err;
	EXPECT_EQ(r.err.find("gone"), std::string::npos) << r.err;
	r = sh(std::string(TARN_TOP) + " --once --socket /tmp");
	EXPECT_EQ(r.code, 2) << r.err;
	EXPECT_NE(r.err.find("not a socket (it is a directory)"), std::string::npos) << r.err;
	r = sh("TARN_FILE_PREFIX=../x " + std::string(TARN_TOP) + " --once");
	EXPECT_EQ(r.code, 2) << r.err;
	EXPECT_NE(r.err.find("TARN_FILE_PREFIX"), std::string::npos) << r.err;
	for (const char *bad : { "--interval 0", "--interval x", "--pid 0", "--bogus", "-n 0",
	                         "--pid 1 --file-prefix a", "extra", "--instance 2 --pid 5",
	                         "-f ../../x", "-f ..", "-f .", "--file-prefix=", "-f a/b" }) {
		r = sh(std::string(TARN_TOP) + " " + bad);
		EXPECT_EQ(r.code, 2) << bad << ": " << r.err;
		EXPECT_FALSE(r.err.empty()) << bad;
	}
	r = sh(std::string(TARN_TOP) + " --help");
	EXPECT_EQ(r.code, 0);
	EXPECT_NE(r.out.find("--file-prefix"), std::string::npos);
	// a socket file whose process is gone
	const std::string dead = "/tmp/tarn-test-telapps-dead-" + std::to_string(getpid());
	int fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	struct sockaddr_un sun = {};
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", dead.c_str());
	ASSERT_EQ(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	close(fd);
	r = sh(std::string(TARN_TOP) + " --once --socket " + dead);
	EXPECT_EQ(r.code, 1);
	EXPECT_NE(r.err.find("gone"), std::string::npos) << r.err;
	unlink(dead.c_str());
}

// issue 17: what a process sends is shown escaped: names with escape
// sequences (retitle, clear, colours), a newline that would forge a line,
// DEL, a C1 control in UTF-8 and a raw C1 byte. The text view shows them as
// \xHH (and the JSON view as \u00XX), so neither output carries a control
// character; UTF-8 text stays as it is.
TEST(Top, NamesFromTheProcessAreEscaped)
{
	const std::string sock = "/tmp/tarn-test-telapps-esc-" + std::to_string(getpid());
	const std::string raw_c1 = "\x9b"; // CSI in 8-bit terminals, not UTF-8
	FakeServer fake;
	ASSERT_TRUE(fake.start(
	    sock, sock + ".log",
	    "{\"version\":\"tarn \\u001b[2Jx\",\"pid\":1,\"max_output_len\":16384}",
	    {
	        { "/tarn/info",
	          "{\"/tarn/info\":{\"file_prefix\":\"pre\\u001b]0;pwned\\u0007\"}}" },
	        { "/tarn/mempool/list", "{\"/tarn/mempool/list\":[\"ev\\u001b[31mil\"]}" },
	        { "/tarn/mempool/info",
	          "{\"/tarn/mempool/info\":{\"size\":10,\"in_use\":1,\"avail\":9,\"caches\":[]}}" },
	        { "/tarn/ethdev/list", "{\"/tarn/ethdev/list\":[0]}" },
	        { "/tarn/ethdev/stats",
	          "{\"/tarn/ethdev/stats\":{\"name\":\"p0\\nPOOL forged\",\"driver\":\"r\\u009bg\","
	          "\"state\":\"s" +
	              raw_c1 + "t\\u007f\\\\\",\"rx_queues\":[],\"tx_queues\":[]}}" },
	        { "/tarn/lcore/list", "{\"/tarn/lcore/list\":[0]}" },
	        { "/tarn/lcore/info",
	          "{\"/tarn/lcore/"
	          "info\":{\"role\":\"m\\u00e9in\\u001b\",\"cpu\":0,\"socket\":0}}" },
	    }))
	    << strerror(errno);
	Result r = sh(std::string(TARN_TOP) + " --once -d 0.1 --socket " + sock);
	ASSERT_EQ(r.code, 0) << r.err;
	for (char c : r.out) {
		unsigned char u = (unsigned char)c;
		EXPECT_FALSE((u < 0x20 && c != '\n') || u == 0x7f || u == 0x9b)
		    << "control byte " << (int)u << " in:\n"
		    << r.out;
	}
	// fixed-width columns are cut between escapes: name 16, driver 8, state 10
	for (const char *want :
	     { "tarn \\x1b[2Jx", "pre\\x1b]0;pwned\\x07", "ev\\x1b[31mil", " p0\\x0aPOOL forge ",
	       " r\\xc2 ", " s\\x9bt\\x7f ", "m\xc3\xa9in\\x1b" })
		EXPECT_NE(r.out.find(want), std::string::npos) << want << " not in:\n" << r.out;
	// no line of its own starts with what the name tried to forge
	EXPECT_EQ(r.out.find("\nPOOL forged"), std::string::npos) << r.out;

	r = sh(std::string(TARN_TOP) + " --once --json -d 0.1 --socket " + sock);
	ASSERT_EQ(r.code, 0) << r.err;
	for (char c : r.out) {
		unsigned char u = (unsigned char)c;
		EXPECT_FALSE((u < 0x20 && c != '\n') || u == 0x7f) << (int)u << " in " << r.out;
	}
	EXPECT_EQ(r.out.find("\xc2\x9b"), std::string::npos) << "C1 control left raw in JSON";
	Json j(r.out);
	ASSERT_TRUE(j.ok()) << j.err << ": " << r.out;
	const jval *port = jindex(jget(j.root(), "ports"), 0);
	EXPECT_STREQ(jget_str(port, "name", ""), "p0\nPOOL forged"); // the value itself is kept
	EXPECT_STREQ(jget_str(port, "driver", ""), "r\xc2\x9bg");
	EXPECT_NE(fake.events().find("cmd /tarn/lcore/info,0"), std::string::npos) << fake.events();
}

// The screen, in a real terminal (tmux).
TEST(Top, ScreenInTmux)
{
	if (std::string(TMUX).empty())
		GTEST_SKIP()
		    << "tmux was not found when this build was configured (-Dtests=enabled "
		       "requires it; scripts/setup.sh installs it)";
	const std::string srv = "tarn-test-top-" + std::to_string(getpid());
	const std::string tmux = std::string(TMUX) + " -L " + srv + " -f /dev/null";
	// The server goes however the test ends (a failed ASSERT included).
	struct KillServer {
		std::string cmd;
		~KillServer()
		{
			sh(cmd);
		}
	} kill_server{ tmux + " kill-server" };
	Result r = sh(tmux + " new-session -d -s top -x 160 -y 50 '" + TARN_TOP +
	              " --interval 0.5 --file-prefix " + FwdEnv::prefix + "; sleep 30'");
	ASSERT_EQ(r.code, 0) << r.err;
	std::string screen;
	bool ok = false;
	// ~2 s of refreshes, longer under sanitizers
	for (int i = 0; i < 100 && !ok; i++) {
		std::this_thread::sleep_for(std::chrono::milliseconds(100));
		screen = sh(tmux + " capture-pane -p -t top").out;
		ok = screen.find("fwd_mbufs") != std::string::npos &&
		     screen.find(" p0 ") != std::string::npos &&
		     screen.find(" p1 ") != std::string::npos &&
		     screen.find("rates after the next sample") == std::string::npos;
	}
	EXPECT_TRUE(ok) << "screen:\n" << screen;
	EXPECT_NE(screen.find("POOL"), std::string::npos) << screen;
	EXPECT_NE(screen.find("PORT"), std::string::npos) << screen;
	EXPECT_NE(screen.find("LCORE"), std::string::npos) << screen;
	EXPECT_NE(screen.find("(q: quit)"), std::string::npos) << screen;
	// q quits: tarn-top ends, the shell goes on to "sleep", and the screen
	// is the normal one again (no tarn-top rows)
	sh(tmux + " send-keys -t top q");
	bool quit = false;
	for (int i = 0; i < 50 && !quit; i++) {
		std::this_thread::sleep_for(std::chrono::milliseconds(100));
		Result ps = sh(tmux + " list-panes -t top -F '#{pane_current_command}'");
		quit = ps.out.find("sleep") != std::string::npos;
	}
	EXPECT_TRUE(quit) << "tarn-top did not quit on 'q'";
	screen = sh(tmux + " capture-pane -p -t top").out;
	EXPECT_EQ(screen.find("fwd_mbufs"), std::string::npos) << "alternate screen not left:\n"
	                                                       << screen;
}

} // namespace
