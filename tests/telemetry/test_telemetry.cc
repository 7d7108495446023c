// SPDX-License-Identifier: BSD-3-Clause
// telemetry unit tests: socket path (DPDK client's logic), mode, removal at
// cleanup and at exit, a stale socket replaced, a second process of one
// prefix, the info message, every built-in command's JSON, unknown and
// too-long commands, many clients, --no-telemetry, command registration and
// its errors, the reply builder (escaping, nesting, misuse, truncation),
// tarn_telemetry_query(), lcore poll counters, and a threaded run.
#include "telemetry_test.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <thread>
#include <vector>

#include <tarn/tarn.h>

#include "../common/test_log.h"

namespace
{

std::string prefix_for(const char *what)
{
	return std::string("tarn-test-tel-") + what + "-" + std::to_string(getpid());
}

struct tarn_config test_cfg(const std::string &prefix)
{
	struct tarn_config cfg;
	tarn_config_init(&cfg);
	snprintf(cfg.lcores, sizeof(cfg.lcores), "0");
	cfg.no_pin_main = 1;
	snprintf(cfg.file_prefix, sizeof(cfg.file_prefix), "%s", prefix.c_str());
	return cfg;
}

std::string sock_path(const std::string &prefix, unsigned instance = 0)
{
	char p[128];
	EXPECT_GT(tarn_telemetry_socket_path(prefix.c_str(), instance, p, sizeof(p)), 0);
	return p;
}

std::string dir_of(const std::string &path)
{
	return path.substr(0, path.rfind('/'));
}

bool exists(const std::string &p)
{
	struct stat st;
	return lstat(p.c_str(), &st) == 0;
}

template <typename F> int in_child(F fn)
{
	fflush(nullptr);
	pid_t pid = fork();
	if (pid == 0)
		_exit(fn());
	if (pid < 0)
		return -1;
	int st = 0;
	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

std::string query(const std::string &req)
{
	static char buf[TARN_TELEMETRY_MAX_OUTPUT + 1];
	int n = tarn_telemetry_query(req.c_str(), buf, sizeof(buf));
	EXPECT_GT(n, 0) << req;
	return n > 0 ? std::string(buf, (size_t)n) : std::string();
}

// For threads: no EXPECT, "" on error.
std::string query_or_empty(const std::string &req)
{
	static thread_local char buf[TARN_TELEMETRY_MAX_OUTPUT + 1];
	int n = tarn_telemetry_query(req.c_str(), buf, sizeof(buf));
	return n > 0 ? std::string(buf, (size_t)n) : std::string();
}

// tarn initialised with telemetry on, a prefix of its own.
class Tel : public ::testing::Test
{
      protected:
	std::string prefix, path;
	void SetUp() override
	{
		tarn_log_set_handler(TestLog::fn, nullptr);
		TestLog::clear();
		prefix = prefix_for("fix");
		struct tarn_config cfg = test_cfg(prefix);
		ASSERT_EQ(tarn_init(&cfg), 0) << TestLog::all();
		char p[128];
		ASSERT_GT(tarn_telemetry_path(p, sizeof(p)), 0) << TestLog::all();
		path = p;
	}
	void TearDown() override
	{
		int port;
		TARN_ETH_FOREACH_DEV(port)
		{
			tarn_eth_dev_close((uint16_t)port);
		}
		EXPECT_EQ(tarn_cleanup(), 0);
		tarn_log_set_handler(nullptr, nullptr);
	}
};

// ---------------------------------------------------------------------------
// Paths, as dpdk-telemetry.py computes them

TEST(TelPath, RuntimeDirFollowsDpdkClient)
{
	char buf[256];
	const char *saved_rd = getenv("RUNTIME_DIRECTORY");
	std::string keep_rd = saved_rd ? saved_rd : "";
	setenv("RUNTIME_DIRECTORY", "/run/myunit", 1);
	ASSERT_GT(tarn_telemetry_runtime_dir(buf, sizeof(buf)), 0);
	EXPECT_STREQ(buf, "/run/myunit/dpdk");
	unsetenv("RUNTIME_DIRECTORY");
	const char *saved_xdg = getenv("XDG_RUNTIME_DIR");
	std::string keep_xdg = saved_xdg ? saved_xdg : "";
	setenv("XDG_RUNTIME_DIR", "/run/user/4242", 1);
	ASSERT_GT(tarn_telemetry_runtime_dir(buf, sizeof(buf)), 0);
	EXPECT_STREQ(buf, getuid() == 0 ? "/var/run/dpdk" : "/run/user/4242/dpdk");
	unsetenv("XDG_RUNTIME_DIR");
	ASSERT_GT(tarn_telemetry_runtime_dir(buf, sizeof(buf)), 0);
	EXPECT_STREQ(buf, getuid() == 0 ? "/var/run/dpdk" : "/tmp/dpdk");
	if (saved_rd)
		setenv("RUNTIME_DIRECTORY", keep_rd.c_str(), 1);
	if (saved_xdg)
		setenv("XDG_RUNTIME_DIR", keep_xdg.c_str(), 1);
}

TEST(TelPath, SocketPathAndErrors)
{
	char root[256], buf[256];
	ASSERT_GT(tarn_telemetry_runtime_dir(root, sizeof(root)), 0);
	ASSERT_GT(tarn_telemetry_socket_path("tarn", 0, buf, sizeof(buf)), 0);
	EXPECT_EQ(std::string(buf), std::string(root) + "/tarn/dpdk_telemetry.v2");
	ASSERT_GT(tarn_telemetry_socket_path("fwd", 2, buf, sizeof(buf)), 0);
	EXPECT_EQ(std::string(buf), std::string(root) + "/fwd/dpdk_telemetry.v2:2");
	EXPECT_EQ(tarn_telemetry_socket_path(nullptr, 0, buf, sizeof(buf)), -EINVAL);
	EXPECT_EQ(tarn_telemetry_socket_path("", 0, buf, sizeof(buf)), -EINVAL);
	EXPECT_EQ(tarn_telemetry_socket_path("a/b", 0, buf, sizeof(buf)), -EINVAL);
	EXPECT_EQ(tarn_telemetry_socket_path("..", 0, buf, sizeof(buf)), -EINVAL);
	EXPECT_EQ(tarn_telemetry_socket_path("tarn", 0, nullptr, 10), -EINVAL);
	EXPECT_EQ(tarn_telemetry_socket_path("tarn", 0, buf, 8), -ENAMETOOLONG);
	EXPECT_EQ(tarn_telemetry_socket_path(std::string(120, 'x').c_str(), 0, buf, sizeof(buf)),
	          -ENAMETOOLONG);
	EXPECT_EQ(tarn_telemetry_runtime_dir(nullptr, 10), -EINVAL);
	EXPECT_EQ(tarn_telemetry_runtime_dir(buf, 4), -ENAMETOOLONG);
	EXPECT_EQ(tarn_telemetry_path(nullptr, 10), -EINVAL);
	EXPECT_EQ(tarn_telemetry_path(buf, sizeof(buf)), -ENOENT); // not initialised
}

TEST_F(Tel, SocketWhereDpdkClientLooksWithMode0600)
{
	EXPECT_EQ(path, sock_path(prefix));
	struct stat st;
	ASSERT_EQ(lstat(path.c_str(), &st), 0);
	EXPECT_TRUE(S_ISSOCK(st.st_mode));
	EXPECT_EQ(st.st_mode & 07777, 0600u);
	ASSERT_EQ(stat(dir_of(path).c_str(), &st), 0);
	EXPECT_EQ(st.st_mode & 07777, 0700u);
	char small[8];
	EXPECT_EQ(tarn_telemetry_path(small, sizeof(small)), -ENAMETOOLONG);
}

TEST(TelLife, SocketRemovedAtCleanup)
{
	const std::string prefix = prefix_for("cleanup");
	struct tarn_config cfg = test_cfg(prefix);
	for (int round = 0; round < 2; round++) {
		ASSERT_EQ(tarn_init(&cfg), 0);
		const std::string p = sock_path(prefix);
		EXPECT_TRUE(exists(p));
		{
			TelClient c; // a connected client does not keep it alive
			ASSERT_TRUE(c.open(p)) << strerror(errno);
			ASSERT_EQ(tarn_cleanup(), 0);
			EXPECT_TRUE(c.closed_by_server());
		}
		EXPECT_FALSE(exists(p)) << "socket left after tarn_cleanup()";
		EXPECT_FALSE(exists(dir_of(p))) << "empty prefix directory left";
		char buf[128];
		EXPECT_EQ(tarn_telemetry_path(buf, sizeof(buf)), -ENOENT);
	}
}

TEST(TelLife, SocketRemovedAtExitWithoutCleanup)
{
	const std::string prefix = prefix_for("exit");
	const std::string p = sock_path(prefix);
	int rc = in_child([&] {
		tarn_log_set_level(TARN_LOG_ERR);
		struct tarn_config cfg = test_cfg(prefix);
		if (tarn_init(&cfg) != 0)
			return 1;
		if (!exists(p))
			return 2;
		exit(0); // atexit handlers run, tarn_cleanup() is never called
	});
	ASSERT_EQ(rc, 0);
	EXPECT_FALSE(exists(p));
}

TEST_F(Tel, ForkedChildCleanupKeepsParentSocket)
{
	int rc = in_child([] { return tarn_cleanup() == 0 ? 0 : 1; });
	EXPECT_EQ(rc, 0);
	EXPECT_TRUE(exists(path));
	TelClient c;
	ASSERT_TRUE(c.open(path)) << strerror(errno);
	EXPECT_NE(c.ask("/info").find("\"pid\":" + std::to_string(getpid())), std::string::npos);
}

// A socket left by a process that died (bound, never unlinked).
TEST(TelLife, StaleSocketReplaced)
{
	const std::string prefix = prefix_for("stale");
	const std::string p = sock_path(prefix);
	char root[256];
	ASSERT_GT(tarn_telemetry_runtime_dir(root, sizeof(root)), 0);
	mkdir(root, 0700);
	ASSERT_TRUE(mkdir(dir_of(p).c_str(), 0700) == 0 || errno == EEXIST);
	int fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	struct sockaddr_un sun = {};
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", p.c_str());
	ASSERT_EQ(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0) << strerror(errno);
	close(fd); // stale now: nobody listens
	TelClient probe;
	ASSERT_FALSE(probe.open(p));
	ASSERT_EQ(errno, ECONNREFUSED);

	struct tarn_config cfg = test_cfg(prefix);
	ASSERT_EQ(tarn_init(&cfg), 0);
	char got[128];
	ASSERT_GT(tarn_telemetry_path(got, sizeof(got)), 0);
	EXPECT_EQ(std::string(got), p) << "the stale socket was not replaced";
	TelClient c;
	ASSERT_TRUE(c.open(p)) << strerror(errno);
	EXPECT_NE(c.info.find("\"pid\":" + std::to_string(getpid())), std::string::npos);
	c.close();
	EXPECT_EQ(tarn_cleanup(), 0);
	EXPECT_FALSE(exists(p));
}

// Another live process on the same prefix: DPDK's ":N" suffix; its socket stays.
TEST(TelLife, SecondProcessOfOnePrefixGetsSuffix)
{
	const std::string prefix = prefix_for("twice");
	const std::string p0 = sock_path(prefix), p1 = sock_path(prefix, 1);
	char root[256];
	ASSERT_GT(tarn_telemetry_runtime_dir(root, sizeof(root)), 0);
	mkdir(root, 0700);
	ASSERT_TRUE(mkdir(dir_of(p0).c_str(), 0700) == 0 || errno == EEXIST);
	int fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	struct sockaddr_un sun = {};
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", p0.c_str());
	ASSERT_EQ(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	ASSERT_EQ(listen(fd, 4), 0); // the "other process"

	struct tarn_config cfg = test_cfg(prefix);
	ASSERT_EQ(tarn_init(&cfg), 0);
	char got[128];
	ASSERT_GT(tarn_telemetry_path(got, sizeof(got)), 0);
	EXPECT_EQ(std::string(got), p1);
	TelClient c;
	ASSERT_TRUE(c.open(p1)) << strerror(errno);
	EXPECT_NE(c.info.find("\"pid\":" + std::to_string(getpid())), std::string::npos);
	c.close();
	EXPECT_EQ(tarn_cleanup(), 0);
	EXPECT_FALSE(exists(p1));
	EXPECT_TRUE(exists(p0)) << "cleanup removed another process's socket";
	close(fd);
	unlink(p0.c_str());
	rmdir(dir_of(p0).c_str());
}

// A second process of the prefix died without cleaning up (its ":1"
// socket bound, nobody listening): the last one to leave removes it and the
// directory, and leaves a live process's socket alone. The threadsafe
// death test of the ASan mempool suite left exactly this behind.
TEST(TelLife, CleanupRemovesSocketsOfDeadProcesses)
{
	const std::string prefix = prefix_for("dead");
	const std::string p0 = sock_path(prefix), p1 = sock_path(prefix, 1),
	                  p2 = sock_path(prefix, 2);
	struct tarn_config cfg = test_cfg(prefix);
	ASSERT_EQ(tarn_init(&cfg), 0);
	char got[128];
	ASSERT_GT(tarn_telemetry_path(got, sizeof(got)), 0);
	ASSERT_EQ(std::string(got), p0);
	auto bound = [](const std::string &path) {
		int fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
		struct sockaddr_un sun = {};
		sun.sun_family = AF_UNIX;
		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path.c_str());
		EXPECT_EQ(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0) << strerror(errno);
		return fd;
	};
	close(bound(p1)); // the dead process's
	int live = bound(p2);
	ASSERT_EQ(listen(live, 4), 0); // a live one's
	EXPECT_EQ(tarn_cleanup(), 0);
	EXPECT_FALSE(exists(p0));
	EXPECT_FALSE(exists(p1)) << "the socket of a dead process was left";
	EXPECT_TRUE(exists(p2)) << "cleanup removed a live process's socket";
	EXPECT_TRUE(exists(dir_of(p0)));
	close(live);
	// now nobody listens at p2 either: the next process to leave takes it
	// and the directory
	ASSERT_EQ(tarn_init(&cfg), 0);
	EXPECT_EQ(tarn_cleanup(), 0);
	EXPECT_FALSE(exists(p2));
	EXPECT_FALSE(exists(dir_of(p0))) << "the prefix directory was left";
}

TEST(TelLife, UnusableRuntimeDirWarnsAndInitSucceeds)
{
	const char *saved = getenv("RUNTIME_DIRECTORY");
	std::string keep = saved ? saved : "";
	setenv("RUNTIME_DIRECTORY", "/nonexistent-tarn-dir/x", 1);
	tarn_log_set_handler(TestLog::fn, nullptr);
	TestLog::clear();
	struct tarn_config cfg = test_cfg(prefix_for("nodir"));
	ASSERT_EQ(tarn_init(&cfg), 0);
	char buf[128];
	EXPECT_EQ(tarn_telemetry_path(buf, sizeof(buf)), -ENOENT);
	EXPECT_TRUE(TestLog::contains("telemetry not started")) << TestLog::all();
	EXPECT_EQ(tarn_cleanup(), 0);
	tarn_log_set_handler(nullptr, nullptr);
	if (saved)
		setenv("RUNTIME_DIRECTORY", keep.c_str(), 1);
	else
		unsetenv("RUNTIME_DIRECTORY");
}

// ---------------------------------------------------------------------------
// A runtime directory another user could control is passed over; the lock
// wait is bounded (issue 17). The cases with a second user are in
// test_telemetry_users.cc; these need no other user and create nothing
// outside a directory of their own.

// RUNTIME_DIRECTORY set to a new private directory for the scope.
struct PrivateRunDir {
	std::string base, keep;
	bool had = false;
	PrivateRunDir()
	{
		char t[] = "/tmp/tarn-test-tel-rd-XXXXXX";
		base = mkdtemp(t) ? t : "";
		const char *rd = getenv("RUNTIME_DIRECTORY");
		had = rd != nullptr;
		keep = rd ? rd : "";
		setenv("RUNTIME_DIRECTORY", base.c_str(), 1);
	}
	std::string dpdk() const
	{
		return base + "/dpdk";
	}
	~PrivateRunDir()
	{
		if (had)
			setenv("RUNTIME_DIRECTORY", keep.c_str(), 1);
		else
			unsetenv("RUNTIME_DIRECTORY");
		if (!base.empty() && base.rfind("/tmp/tarn-test-tel-rd-", 0) == 0) {
			EXPECT_EQ(system(("rm -rf " + base).c_str()), 0);
		}
	}
};

std::string refusals()
{
	char why[1024];
	int n = tarn_telemetry_runtime_dir_refusals(why, sizeof(why));
	EXPECT_GE(n, 0);
	return n >= 0 ? std::string(why) : std::string();
}

// Rundir resolution only: nothing is created, so the fallback (this user's
// /run/user/<uid> or /tmp/tarn-<uid>) is only named.
TEST(TelPath, UnsafeRuntimeDirIsPassedOver)
{
	PrivateRunDir rd;
	ASSERT_FALSE(rd.base.empty()) << strerror(errno);
	char buf[256];
	// safe (absent, then this user's 0700 directory): DPDK's location, no refusal
	ASSERT_GT(tarn_telemetry_runtime_dir(buf, sizeof(buf)), 0);
	EXPECT_EQ(std::string(buf), rd.dpdk());
	EXPECT_EQ(refusals(), "");
	EXPECT_EQ(tarn_telemetry_runtime_dir_refusals(nullptr, 0), 0);
	EXPECT_EQ(tarn_telemetry_runtime_dir_refusals(nullptr, 4), -EINVAL);
	ASSERT_EQ(mkdir(rd.dpdk().c_str(), 0700), 0);
	ASSERT_GT(tarn_telemetry_runtime_dir(buf, sizeof(buf)), 0);
	EXPECT_EQ(std::string(buf), rd.dpdk());

	struct {
		const char *what;
		std::function<void()> make;
		std::string why;
	} cases[] = {
		{ "writable by others", [&] { chmod(rd.dpdk().c_str(), 0777); },
		  rd.dpdk() + " is writable by others (mode 0777)" },
		{ "writable by the group", [&] { chmod(rd.dpdk().c_str(), 0770); },
		  rd.dpdk() + " is writable by its group (mode 0770)" },
		{ "a symbolic link",
		  [&] {
		          rmdir(rd.dpdk().c_str());
		          EXPECT_EQ(symlink("/tmp", rd.dpdk().c_str()), 0);
		  },
		  rd.dpdk() + " is a symbolic link" },
		{ "a file",
		  [&] {
		          unlink(rd.dpdk().c_str());
		          close(open(rd.dpdk().c_str(), O_CREAT | O_WRONLY, 0600));
		  },
		  rd.dpdk() + " is not a directory" },
		{ "a parent anyone may write, not sticky",
		  [&] {
		          unlink(rd.dpdk().c_str());
		          chmod(rd.base.c_str(), 0777);
		  },
		  rd.base + " is writable by others without the sticky bit (mode 0777)" },
	};
	for (auto &c : cases) {
		c.make();
		std::string why = refusals();
		EXPECT_NE(why.find(c.why), std::string::npos) << c.what << ": " << why;
		int n = tarn_telemetry_runtime_dir(buf, sizeof(buf));
		if (n > 0) {
			EXPECT_NE(std::string(buf), rd.dpdk()) << c.what;
			EXPECT_TRUE(std::string(buf) ==
			                "/run/user/" + std::to_string(geteuid()) + "/dpdk" ||
			            std::string(buf) ==
			                "/tmp/tarn-" + std::to_string(geteuid()) + "/dpdk")
			    << buf;
		} else {
			EXPECT_EQ(n, -EACCES) << c.what; // the fallback is refused too: said so
			EXPECT_NE(why.find("tarn-" + std::to_string(geteuid())), std::string::npos)
			    << why;
		}
	}
	// a sticky parent anyone may write (as /tmp) is safe
	chmod(rd.base.c_str(), 01777);
	ASSERT_GT(tarn_telemetry_runtime_dir(buf, sizeof(buf)), 0);
	EXPECT_EQ(std::string(buf), rd.dpdk());
	chmod(rd.base.c_str(), 0700);
	// the text is cut to the buffer; its whole length is returned
	chmod(rd.base.c_str(), 0777);
	char small[8];
	int whole = tarn_telemetry_runtime_dir_refusals(small, sizeof(small));
	EXPECT_GT(whole, 8);
	EXPECT_EQ(strlen(small), 7u);
	chmod(rd.base.c_str(), 0700);
	if (geteuid() == 0) {
		// another owner (a uid with no passwd entry: "uid N")
		ASSERT_EQ(mkdir(rd.dpdk().c_str(), 0700), 0);
		ASSERT_EQ(chown(rd.dpdk().c_str(), 54321, 54321), 0);
		std::string why = refusals();
		EXPECT_NE(why.find(rd.dpdk() + " belongs to uid 54321, not to user root (uid 0)"),
		          std::string::npos)
		    << why;
		ASSERT_EQ(chmod(rd.dpdk().c_str(), 0777), 0);
		why = refusals();
		EXPECT_NE(
		    why.find(" belongs to uid 54321, not to user root (uid 0) and is writable by "
		             "others (mode 0777)"),
		    std::string::npos)
		    << why;
		// a parent of another user
		rmdir(rd.dpdk().c_str());
		ASSERT_EQ(chown(rd.base.c_str(), 54321, 54321), 0);
		why = refusals();
		EXPECT_NE(
		    why.find(rd.base + " belongs to uid 54321, who could replace anything in it"),
		    std::string::npos)
		    << why;
	}
}

// A child holds the runtime directory's lock (flock) until told to stop.
struct LockHolder {
	pid_t pid = -1;
	bool take(const std::string &dir)
	{
		int ready[2];
		if (pipe(ready) != 0)
			return false;
		fflush(nullptr);
		pid = fork();
		if (pid == 0) {
			int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY);
			if (fd < 0 || flock(fd, LOCK_EX) != 0)
				_exit(1);
			if (write(ready[1], "l", 1) != 1)
				_exit(2);
			pause();
			_exit(0);
		}
		close(ready[1]);
		char c;
		bool ok = pid > 0 && read(ready[0], &c, 1) == 1;
		close(ready[0]);
		return ok;
	}
	~LockHolder()
	{
		if (pid > 0) {
			kill(pid, SIGKILL);
			waitpid(pid, nullptr, 0);
		}
	}
};

double seconds_since(std::chrono::steady_clock::time_point t0)
{
	return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Another process holding the lock for ever no longer hangs tarn_init():
// after TARN_TELEMETRY_LOCK_WAIT_MS it goes on without telemetry and names
// the holder.
TEST(TelDir, LockHeldTooLongIsNotWaitedForAtStart)
{
	PrivateRunDir rd;
	ASSERT_EQ(mkdir(rd.dpdk().c_str(), 0700), 0);
	LockHolder h;
	ASSERT_TRUE(h.take(rd.dpdk()));
	tarn_log_set_handler(TestLog::fn, nullptr);
	TestLog::clear();
	struct tarn_config cfg = test_cfg(prefix_for("lock"));
	auto t0 = std::chrono::steady_clock::now();
	ASSERT_EQ(tarn_init(&cfg), 0);
	const double took = seconds_since(t0);
	EXPECT_GE(took, TARN_TELEMETRY_LOCK_WAIT_MS / 1000.0 * 0.95);
	EXPECT_LT(took, TARN_TELEMETRY_LOCK_WAIT_MS / 1000.0 + 30); // not for ever
	char buf[128];
	EXPECT_EQ(tarn_telemetry_path(buf, sizeof(buf)), -ENOENT);
	const std::string want = "another process (pid " + std::to_string(h.pid) +
	                         ") has held the lock on " + rd.dpdk() + " for more than " +
	                         std::to_string(TARN_TELEMETRY_LOCK_WAIT_MS) + " ms";
	EXPECT_TRUE(TestLog::contains(want)) << TestLog::all();
	EXPECT_TRUE(TestLog::contains("telemetry not started")) << TestLog::all();
	EXPECT_EQ(tarn_cleanup(), 0);
	tarn_log_set_handler(nullptr, nullptr);
}

// ... nor delays tarn_cleanup() for longer than the bound: the socket, ours
// by its inode, is removed without the lock.
TEST(TelDir, LockHeldTooLongIsNotWaitedForAtCleanup)
{
	PrivateRunDir rd;
	tarn_log_set_handler(TestLog::fn, nullptr);
	TestLog::clear();
	const std::string prefix = prefix_for("lockexit");
	struct tarn_config cfg = test_cfg(prefix);
	ASSERT_EQ(tarn_init(&cfg), 0);
	char p[128];
	ASSERT_GT(tarn_telemetry_path(p, sizeof(p)), 0) << TestLog::all();
	EXPECT_EQ(std::string(p).rfind(rd.dpdk() + "/", 0), 0u) << p;
	LockHolder h;
	ASSERT_TRUE(h.take(rd.dpdk()));
	auto t0 = std::chrono::steady_clock::now();
	EXPECT_EQ(tarn_cleanup(), 0);
	const double took = seconds_since(t0);
	EXPECT_GE(took, TARN_TELEMETRY_LOCK_WAIT_MS / 1000.0 * 0.95);
	EXPECT_LT(took, TARN_TELEMETRY_LOCK_WAIT_MS / 1000.0 + 30);
	EXPECT_FALSE(exists(p)) << "socket left behind";
	EXPECT_TRUE(TestLog::contains(std::string("removing ") + p + " without the lock"))
	    << TestLog::all();
	tarn_log_set_handler(nullptr, nullptr);
}

// ---------------------------------------------------------------------------
// Turning it off

TEST(TelOff, ConfigFieldOptionAndVariable)
{
	const std::string prefix = prefix_for("off");
	struct tarn_config cfg = test_cfg(prefix);
	cfg.no_telemetry = 1;
	ASSERT_EQ(tarn_init(&cfg), 0);
	char buf[128];
	EXPECT_EQ(tarn_telemetry_path(buf, sizeof(buf)), -ENOENT);
	EXPECT_FALSE(exists(sock_path(prefix)));
	// the commands still answer in-process
	EXPECT_NE(query("/tarn/info").find("\"initialized\":true"), std::string::npos);
	EXPECT_EQ(tarn_cleanup(), 0);

	// --no-telemetry
	char a0[] = "prog", a1[] = "--no-telemetry", a2[] = "x";
	char *argv[] = { a0, a1, a2, nullptr };
	int argc = 3;
	struct tarn_config c2;
	tarn_config_init(&c2);
	EXPECT_EQ(c2.no_telemetry, 0);
	EXPECT_EQ(tarn_config_parse_args(&c2, &argc, argv), 1);
	EXPECT_EQ(c2.no_telemetry, 1);
	EXPECT_EQ(argc, 2);
	char a3[] = "--no-telemetry=1";
	char *argv2[] = { a0, a3, nullptr };
	argc = 2;
	tarn_log_set_handler(TestLog::fn, nullptr);
	EXPECT_EQ(tarn_config_parse_args(&c2, &argc, argv2), -EINVAL); // takes no value

	// TARN_NO_TELEMETRY
	for (const char *v : { "1", "yes", "TRUE", "on" }) {
		setenv("TARN_NO_TELEMETRY", v, 1);
		tarn_config_init(&c2);
		EXPECT_EQ(c2.no_telemetry, 1) << v;
	}
	for (const char *v : { "0", "no", "false", "off" }) {
		setenv("TARN_NO_TELEMETRY", v, 1);
		tarn_config_init(&c2);
		EXPECT_EQ(c2.no_telemetry, 0) << v;
	}
	TestLog::clear();
	setenv("TARN_NO_TELEMETRY", "maybe", 1);
	EXPECT_EQ(tarn_config_init(&c2), -EINVAL); // refused, as a bad option is
	EXPECT_EQ(c2.no_telemetry, 0);
	EXPECT_TRUE(TestLog::contains("TARN_NO_TELEMETRY")) << TestLog::all();
	unsetenv("TARN_NO_TELEMETRY");
	tarn_log_set_handler(nullptr, nullptr);
}

// ---------------------------------------------------------------------------
// The protocol

TEST_F(Tel, InfoMessageOnConnect)
{
	TelClient c;
	ASSERT_TRUE(c.open(path)) << strerror(errno);
	Json j(c.info);
	ASSERT_TRUE(j.ok()) << c.info << ": " << j.err;
	EXPECT_EQ(jget_u64(j.root(), "pid", 0), (uint64_t)getpid());
	EXPECT_EQ(jget_u64(j.root(), "max_output_len", 0), (uint64_t)TARN_TELEMETRY_MAX_OUTPUT);
	EXPECT_EQ(std::string(jget_str(j.root(), "version", "")),
	          std::string("tarn ") + tarn_version());
	EXPECT_LT(c.info.size(), 1024u); // the DPDK client reads it with recv(1024)
	// /info says the same
	Json i(c.ask("/info"));
	ASSERT_TRUE(i.ok());
	EXPECT_EQ(jget_u64(i.value("/info"), "pid", 0), (uint64_t)getpid());
}

TEST_F(Tel, ListHasEveryCommand)
{
	TelClient c;
	ASSERT_TRUE(c.open(path));
	std::string r = c.ask("/");
	Json j(r);
	ASSERT_TRUE(j.ok()) << r;
	const jval *list = j.value("/");
	ASSERT_NE(list, nullptr);
	ASSERT_EQ(list->type, J_ARR);
	std::vector<std::string> names;
	for (const jval *e = list->child; e; e = e->next)
		names.push_back(e->str ? e->str : "");
	for (const char *want :
	     { "/", "/info", "/help", "/tarn/info", "/tarn/mempool/list", "/tarn/mempool/info",
	       "/tarn/ethdev/list", "/tarn/ethdev/info", "/tarn/ethdev/stats", "/tarn/lcore/list",
	       "/tarn/lcore/info", "/mempool/list", "/mempool/info", "/ethdev/list",
	       "/ethdev/stats" })
		EXPECT_NE(std::find(names.begin(), names.end(), want), names.end()) << want;
}

TEST_F(Tel, Help)
{
	TelClient c;
	ASSERT_TRUE(c.open(path));
	EXPECT_EQ(c.ask("/help"),
	          "{\"/help\":\"Returns help text for a command. Parameters: string command\"}");
	std::string r = c.ask("/help,/tarn/mempool/info");
	Json j(r);
	ASSERT_TRUE(j.ok()) << r;
	const char *h = jget_str(j.value("/help"), "/tarn/mempool/info", nullptr);
	ASSERT_NE(h, nullptr) << r;
	EXPECT_NE(std::string(h).find("pool name"), std::string::npos);
	EXPECT_EQ(c.ask("/help,/no/such"), "{\"/help\":null}");
}

TEST_F(Tel, MempoolCommands)
{
	struct tarn_mempool *mp =
	    tarn_mempool_create("tel_pool", 1024, 64, 32, 0, nullptr, nullptr, TARN_SOCKET_ANY, 0);
	ASSERT_NE(mp, nullptr);
	void *objs[100];
	ASSERT_EQ(tarn_mempool_get_bulk(mp, objs, 100), 0);
	tarn_mempool_put_bulk(mp, objs, 40);
	TelClient c;
	ASSERT_TRUE(c.open(path));
	for (const char *cmd : { "/tarn/mempool/list", "/mempool/list" }) {
		Json l(c.ask(cmd));
		ASSERT_TRUE(l.ok());
		const jval *arr = l.value(cmd);
		ASSERT_NE(arr, nullptr);
		bool found = false;
		for (const jval *e = arr->child; e; e = e->next)
			found |= e->str && std::string(e->str) == "tel_pool";
		EXPECT_TRUE(found) << cmd;
	}
	std::string r = c.ask("/tarn/mempool/info,tel_pool");
	Json j(r);
	ASSERT_TRUE(j.ok()) << r << ": " << j.err;
	const jval *v = j.value("/tarn/mempool/info");
	ASSERT_NE(v, nullptr) << r;
	EXPECT_STREQ(jget_str(v, "name", ""), "tel_pool");
	EXPECT_EQ(jget_u64(v, "size", 0), 1024u);
	EXPECT_EQ(jget_u64(v, "in_use", 0), 60u);
	EXPECT_EQ(jget_u64(v, "avail", 0), 1024u - 60u);
	EXPECT_EQ(jget_u64(v, "cache_size", 0), 32u);
	EXPECT_EQ(jget_u64(v, "get_objs", 0), 100u);
	EXPECT_EQ(jget_u64(v, "put_objs", 0), 40u);
	for (const char *k : { "hit_objs", "hit_percent", "refills", "flushes", "fails", "cached" })
		EXPECT_NE(jget(v, k), nullptr) << k;
	// this thread's cache: its fill
	const jval *caches = jget(v, "caches");
	ASSERT_NE(caches, nullptr);
	ASSERT_GE(jcount(caches), 1u);
	bool mine = false;
	for (const jval *e = caches->child; e; e = e->next) {
		if (jget_num(e, "lcore", -2) == (double)tarn_lcore_id()) {
			mine = true;
			EXPECT_LE(jget_u64(e, "len", 999), 32u);
			EXPECT_EQ(jget_u64(e, "size", 0), 32u);
		}
	}
	EXPECT_TRUE(mine) << r;
	// DPDK's keys
	r = c.ask("/mempool/info,tel_pool");
	Json d(r);
	ASSERT_TRUE(d.ok()) << r;
	const jval *dv = d.value("/mempool/info");
	EXPECT_EQ(jget_u64(dv, "size", 0), 1024u);
	EXPECT_EQ(jget_u64(dv, "in_use_count", 0), 60u);
	EXPECT_EQ(jget_u64(dv, "avail_count", 0), 964u);
	EXPECT_EQ(jget_u64(dv, "cache_size", 0), 32u);
	EXPECT_EQ(jget_u64(dv, "elt_size", 0), 64u);
	// bad names
	EXPECT_EQ(c.ask("/tarn/mempool/info,nosuch"), "{\"/tarn/mempool/info\":null}");
	EXPECT_EQ(c.ask("/tarn/mempool/info"), "{\"/tarn/mempool/info\":null}");
	EXPECT_EQ(c.ask("/tarn/mempool/info,"), "{\"/tarn/mempool/info\":null}");
	EXPECT_EQ(c.ask("/mempool/info," + std::string(200, 'p')), "{\"/mempool/info\":null}");
	tarn_mempool_put_bulk(mp, objs + 40, 60);
	EXPECT_EQ(tarn_mempool_free(mp, 0), 0);
	EXPECT_EQ(c.ask("/tarn/mempool/info,tel_pool"), "{\"/tarn/mempool/info\":null}");
}

TEST_F(Tel, EthdevCommands)
{
	struct tarn_mempool *mp = tarn_pktmbuf_pool_create(
	    "tel_mbufs", 512, 0, 0, TARN_MBUF_DEFAULT_BUF_SIZE, TARN_SOCKET_ANY);
	ASSERT_NE(mp, nullptr);
	uint16_t port;
	ASSERT_EQ(tarn_eth_dev_create("ring:name=tel0,loop=1", &port), 0) << TestLog::all();
	ASSERT_EQ(tarn_eth_dev_configure(port, 2, 2, nullptr), 0);
	for (uint16_t q = 0; q < 2; q++) {
		ASSERT_EQ(tarn_eth_tx_queue_setup(port, q, 64, TARN_SOCKET_ANY), 0);
		ASSERT_EQ(tarn_eth_rx_queue_setup(port, q, 64, TARN_SOCKET_ANY, mp), 0);
	}
	ASSERT_EQ(tarn_eth_dev_start(port), 0);
	// 10 packets of 100 bytes on queue 1, received back
	struct tarn_mbuf *pkts[10];
	ASSERT_EQ(tarn_pktmbuf_alloc_bulk(mp, pkts, 10), 0);
	for (auto *m : pkts)
		ASSERT_NE(tarn_pktmbuf_append(m, 100), nullptr);
	ASSERT_EQ(tarn_eth_tx_burst(port, 1, pkts, 10), 10);
	ASSERT_EQ(tarn_eth_rx_burst(port, 1, pkts, 10), 10);
	tarn_pktmbuf_free_bulk(pkts, 10);

	TelClient c;
	ASSERT_TRUE(c.open(path));
	const std::string id = std::to_string(port);
	for (const char *cmd : { "/tarn/ethdev/list", "/ethdev/list" }) {
		Json l(c.ask(cmd));
		ASSERT_TRUE(l.ok());
		ASSERT_EQ(jcount(l.value(cmd)), 1u);
		EXPECT_EQ(jval_u64(jindex(l.value(cmd), 0), 99), port);
	}
	std::string r = c.ask("/tarn/ethdev/stats," + id);
	Json j(r);
	ASSERT_TRUE(j.ok()) << r << ": " << j.err;
	const jval *v = j.value("/tarn/ethdev/stats");
	ASSERT_NE(v, nullptr) << r;
	EXPECT_STREQ(jget_str(v, "name", ""), "tel0");
	EXPECT_STREQ(jget_str(v, "driver", ""), "ring");
	EXPECT_STREQ(jget_str(v, "state", ""), "started");
	EXPECT_EQ(jget_u64(v, "ipackets", 0), 10u);
	EXPECT_EQ(jget_u64(v, "opackets", 0), 10u);
	EXPECT_EQ(jget_u64(v, "ibytes", 0), 1000u);
	EXPECT_EQ(jget_u64(v, "obytes", 0), 1000u);
	for (const char *k : { "imissed", "ierrors", "oerrors", "rx_nombuf" })
		EXPECT_EQ(jget_u64(v, k, 99), 0u) << k;
	const jval *rxq = jget(v, "rx_queues"), *txq = jget(v, "tx_queues");
	ASSERT_EQ(jcount(rxq), 2u);
	ASSERT_EQ(jcount(txq), 2u);
	EXPECT_EQ(jget_u64(jindex(rxq, 0), "packets", 99), 0u);
	EXPECT_EQ(jget_u64(jindex(rxq, 1), "packets", 0), 10u);
	EXPECT_EQ(jget_u64(jindex(rxq, 1), "bytes", 0), 1000u);
	for (const char *k : { "errors", "missed", "nombuf" })
		EXPECT_NE(jget(jindex(rxq, 1), k), nullptr) << k;
	EXPECT_EQ(jget_u64(jindex(txq, 1), "packets", 0), 10u);
	// DPDK's layout
	r = c.ask("/ethdev/stats," + id);
	Json d(r);
	ASSERT_TRUE(d.ok()) << r;
	const jval *dv = d.value("/ethdev/stats");
	EXPECT_EQ(jget_u64(dv, "ipackets", 0), 10u);
	for (const char *k : { "q_ipackets", "q_opackets", "q_ibytes", "q_obytes", "q_errors" })
		EXPECT_EQ(jcount(jget(dv, k)), 16u) << k;
	EXPECT_EQ(jval_u64(jindex(jget(dv, "q_ipackets"), 1), 0), 10u);
	EXPECT_EQ(jval_u64(jindex(jget(dv, "q_obytes"), 1), 0), 1000u);
	// info
	r = c.ask("/tarn/ethdev/info," + id);
	Json i(r);
	ASSERT_TRUE(i.ok()) << r;
	EXPECT_STREQ(jget_str(i.value("/tarn/ethdev/info"), "spec", ""), "ring:name=tel0,loop=1");
	EXPECT_EQ(jget_u64(i.value("/tarn/ethdev/info"), "nb_rx_queues", 0), 2u);
	// bad ids
	for (const char *bad : { "", ",", ",abc", ",-1", ",31", ",99999999999", ",0x0", ", 0" }) {
		for (const char *cmd :
		     { "/tarn/ethdev/stats", "/ethdev/stats", "/tarn/ethdev/info" }) {
			std::string req = std::string(cmd) + bad;
			EXPECT_EQ(c.ask(req), std::string("{\"") + cmd + "\":null}") << req;
		}
	}
	tarn_eth_dev_close(port);
	EXPECT_EQ(c.ask("/tarn/ethdev/stats," + id), "{\"/tarn/ethdev/stats\":null}");
	EXPECT_EQ(tarn_mempool_free(mp, 0), 0);
}

TEST_F(Tel, LcoreCommandsAndBusyRatio)
{
	uint64_t p = 1, b = 1;
	ASSERT_EQ(tarn_telemetry_lcore_usage(tarn_lcore_id(), &p, &b), 0);
	EXPECT_EQ(p, 0u); // zeroed by tarn_init()
	tarn_telemetry_lcore_polls(10, 4);
	tarn_telemetry_lcore_polls(10, 0);
	TelClient c;
	ASSERT_TRUE(c.open(path));
	Json l(c.ask("/tarn/lcore/list"));
	ASSERT_TRUE(l.ok());
	ASSERT_EQ(jcount(l.value("/tarn/lcore/list")), 1u);
	std::string r = c.ask("/tarn/lcore/info," + std::to_string(tarn_lcore_id()));
	Json j(r);
	ASSERT_TRUE(j.ok()) << r;
	const jval *v = j.value("/tarn/lcore/info");
	EXPECT_STREQ(jget_str(v, "role", ""), "main");
	EXPECT_EQ(jget_u64(v, "polls", 0), 20u);
	EXPECT_EQ(jget_u64(v, "busy_polls", 0), 4u);
	EXPECT_DOUBLE_EQ(jget_num(v, "busy_percent", -1), 20.0);
	EXPECT_EQ(c.ask("/tarn/lcore/info,5"), "{\"/tarn/lcore/info\":null}");
	EXPECT_EQ(c.ask("/tarn/lcore/info,abc"), "{\"/tarn/lcore/info\":null}");
	EXPECT_EQ(c.ask("/tarn/lcore/info,128"), "{\"/tarn/lcore/info\":null}");
	// a registered thread is listed with its role; a thread without an id counts nothing
	std::thread t([&] {
		tarn_telemetry_lcore_polls(5, 5); // no lcore id: ignored
		int id = tarn_thread_register();
		ASSERT_GE(id, 0);
		std::string rr = query("/tarn/lcore/info," + std::to_string(id));
		EXPECT_NE(rr.find("\"role\":\"registered\""), std::string::npos) << rr;
		tarn_thread_unregister();
	});
	t.join();
	EXPECT_EQ(tarn_telemetry_lcore_usage(TARN_MAX_LCORES, &p, &b), -EINVAL);
	EXPECT_EQ(tarn_telemetry_lcore_usage(0, nullptr, &b), -EINVAL);
}

TEST_F(Tel, TarnInfo)
{
	std::string r = query("/tarn/info");
	Json j(r);
	ASSERT_TRUE(j.ok()) << r;
	const jval *v = j.value("/tarn/info");
	EXPECT_STREQ(jget_str(v, "file_prefix", ""), prefix.c_str());
	EXPECT_EQ(jget_u64(v, "pid", 0), (uint64_t)getpid());
	EXPECT_EQ(jget_u64(v, "lcores", 0), 1u);
}

TEST_F(Tel, UnknownAndMalformedRequests)
{
	TelClient c;
	ASSERT_TRUE(c.open(path));
	EXPECT_EQ(c.ask("/no/such/command"), "{\"/no/such/command\":null}");
	EXPECT_EQ(c.ask("/no/such,with,params"), "{\"/no/such\":null}");
	EXPECT_EQ(c.ask("tarn"), "{\"tarn\":null}");
	EXPECT_EQ(c.ask(","), "{\"\":null}");
	EXPECT_EQ(c.ask("/info\n"), c.ask("/info")); // a trailing newline is dropped
	// a key that needs escaping comes back as valid JSON
	std::string r = c.ask("/x\"y\\z\x01");
	Json j(r);
	ASSERT_TRUE(j.ok()) << r;
	const jval *v = j.value("/x\"y\\z\x01"); // the key comes back as sent
	ASSERT_NE(v, nullptr) << r;
	EXPECT_EQ(v->type, J_NULL);
	// a request with an embedded NUL ends there
	EXPECT_EQ(c.ask(std::string("/info\0junk", 10)), c.ask("/info"));
	// still alive
	EXPECT_NE(c.ask("/info").find("max_output_len"), std::string::npos);
}

TEST_F(Tel, TooLongCommands)
{
	TelClient c;
	ASSERT_TRUE(c.open(path));
	// longer than TARN_TELEMETRY_CMD_MAX-1: null, key cut to CMD_MAX-1
	const std::string cmd = "/" + std::string(200, 'a');
	std::string r = c.ask(cmd);
	EXPECT_EQ(r, "{\"" + cmd.substr(0, TARN_TELEMETRY_CMD_MAX - 1) + "\":null}");
	// a registered command plus one character is unknown
	EXPECT_EQ(c.ask("/tarn/infox"), "{\"/tarn/infox\":null}");
	// longer than a request may be (cut at TARN_TELEMETRY_MAX_REQUEST): still null
	const std::string huge = "/info," + std::string(5000, 'p');
	r = c.ask(huge);
	Json j(r);
	ASSERT_TRUE(j.ok()) << r.substr(0, 200);
	// /info ignores parameters; the cut request still runs it
	EXPECT_NE(j.value("/info"), nullptr);
	const std::string huge_cmd = "/" + std::string(5000, 'b');
	r = c.ask(huge_cmd);
	EXPECT_EQ(r, "{\"" + huge_cmd.substr(0, TARN_TELEMETRY_CMD_MAX - 1) + "\":null}");
	EXPECT_NE(c.ask("/info").find("\"pid\""), std::string::npos); // connection still fine
}

TEST_F(Tel, ManyClients)
{
	std::vector<TelClient> clients(TARN_TELEMETRY_MAX_CLIENTS);
	for (auto &c : clients)
		ASSERT_TRUE(c.open(path)) << strerror(errno);
	// interleaved requests, each answered on its own connection
	for (int round = 0; round < 3; round++)
		for (size_t i = 0; i < clients.size(); i++) {
			std::string want = "/tarn/lcore/info," + std::to_string(tarn_lcore_id());
			std::string r = clients[i].ask(i % 2 ? want : "/info");
			EXPECT_NE(r.find(i % 2 ? "\"/tarn/lcore/info\":{" : "\"/info\":{"),
			          std::string::npos)
			    << i << ": " << r;
		}
	// pipelined: several requests before reading
	TelClient &c0 = clients[0];
	for (int k = 0; k < 5; k++)
		ASSERT_EQ(send(c0.fd, "/info", 5, MSG_NOSIGNAL), 5);
	for (int k = 0; k < 5; k++)
		EXPECT_NE(c0.recv_msg().find("\"/info\""), std::string::npos) << k;
	// one more than the limit is closed at once
	TelClient extra;
	ASSERT_TRUE(extra.open(path, false));
	EXPECT_TRUE(extra.closed_by_server());
	// a slot freed is a slot for a new client
	clients.back().close();
	TelClient again;
	bool ok = false;
	for (int tries = 0; tries < 50 && !ok; tries++) {
		ok = again.open(path);
		if (!ok)
			usleep(20000);
	}
	EXPECT_TRUE(ok);
	EXPECT_NE(again.ask("/info").find("\"pid\""), std::string::npos);
}

TEST_F(Tel, ThreadedClientsWhileAppRuns)
{
	struct tarn_mempool *mp =
	    tarn_mempool_create("tel_busy", 4096, 64, 64, 0, nullptr, nullptr, TARN_SOCKET_ANY, 0);
	ASSERT_NE(mp, nullptr);
	std::atomic<bool> stop{ false };
	std::thread worker([&] {
		int id = tarn_thread_register();
		void *objs[32];
		while (!stop.load(std::memory_order_relaxed)) {
			if (tarn_mempool_get_bulk(mp, objs, 32) == 0)
				tarn_mempool_put_bulk(mp, objs, 32);
			tarn_telemetry_lcore_polls(1, 1);
			// leave the CPU to the readers on a loaded machine (or valgrind)
			std::this_thread::yield();
		}
		tarn_mempool_cache_flush(mp, TARN_MEMPOOL_FLUSH_SELF);
		if (id >= 0)
			tarn_thread_unregister();
	});
	std::vector<std::thread> readers;
	std::atomic<int> good{ 0 };
	for (int t = 0; t < 3; t++)
		readers.emplace_back([&] {
			TelClient c;
			if (!c.open(path))
				return;
			for (int i = 0; i < 20; i++) {
				Json j(c.ask("/tarn/mempool/info,tel_busy"));
				Json l(c.ask("/tarn/lcore/list"));
				Json q(query_or_empty("/tarn/mempool/list"));
				if (j.ok() && jget(j.value("/tarn/mempool/info"), "caches") &&
				    l.ok() && q.ok())
					good++;
			}
		});
	for (auto &t : readers)
		t.join();
	stop = true;
	worker.join();
	EXPECT_EQ(good.load(), 60);
	EXPECT_EQ(tarn_mempool_free(mp, 0), 0);
}

// ---------------------------------------------------------------------------
// Registering commands

int echo_cb(const char *cmd, const char *params, struct tarn_telemetry_data *d)
{
	(void)cmd;
	if (params == nullptr)
		return -EINVAL;
	return tarn_telemetry_string(d, params);
}

int nested_cb(const char *, const char *, struct tarn_telemetry_data *d)
{
	EXPECT_EQ(tarn_telemetry_start_dict(d), 0);
	EXPECT_EQ(tarn_telemetry_dict_int(d, "neg", -5), 0);
	EXPECT_EQ(tarn_telemetry_dict_uint(d, "big", UINT64_MAX), 0);
	EXPECT_EQ(tarn_telemetry_dict_double(d, "half", 0.5), 0);
	EXPECT_EQ(tarn_telemetry_dict_double(d, "nan", NAN), 0);
	EXPECT_EQ(tarn_telemetry_dict_bool(d, "yes", 1), 0);
	EXPECT_EQ(tarn_telemetry_dict_string(d, "s", "a\"b\\c\n\x01\xff\xc3\xa9"), 0);
	EXPECT_EQ(tarn_telemetry_dict_string(d, "none", nullptr), 0);
	EXPECT_EQ(tarn_telemetry_dict_open_array(d, "arr"), 0);
	EXPECT_EQ(tarn_telemetry_array_int(d, -1), 0);
	EXPECT_EQ(tarn_telemetry_array_uint(d, 2), 0);
	EXPECT_EQ(tarn_telemetry_array_double(d, 1.25), 0);
	EXPECT_EQ(tarn_telemetry_array_bool(d, 0), 0);
	EXPECT_EQ(tarn_telemetry_array_string(d, "x"), 0);
	EXPECT_EQ(tarn_telemetry_array_open_dict(d), 0);
	EXPECT_EQ(tarn_telemetry_dict_uint(d, "k", 7), 0);
	EXPECT_EQ(tarn_telemetry_close(d), 0);
	EXPECT_EQ(tarn_telemetry_array_open_array(d), 0);
	EXPECT_EQ(tarn_telemetry_close(d), 0);
	EXPECT_EQ(tarn_telemetry_close(d), 0);
	EXPECT_EQ(tarn_telemetry_dict_open_dict(d, "left_open"), 0);
	EXPECT_EQ(tarn_telemetry_dict_uint(d, "z", 0), 0);
	return 0; // "left_open" is closed for us
}

int misuse_cb(const char *, const char *, struct tarn_telemetry_data *d)
{
	EXPECT_EQ(tarn_telemetry_dict_uint(d, "early", 1), -EINVAL); // nothing started
	EXPECT_EQ(tarn_telemetry_start_array(d), 0);
	EXPECT_EQ(tarn_telemetry_start_dict(d), -EINVAL);          // twice
	EXPECT_EQ(tarn_telemetry_string(d, "s"), -EINVAL);         // twice
	EXPECT_EQ(tarn_telemetry_dict_uint(d, "k", 1), -EINVAL);   // dict entry in array
	EXPECT_EQ(tarn_telemetry_dict_open_dict(d, "k"), -EINVAL); // same
	EXPECT_EQ(tarn_telemetry_close(d), -EINVAL);               // nothing nested open
	EXPECT_EQ(tarn_telemetry_array_open_dict(d), 0);
	EXPECT_EQ(tarn_telemetry_array_uint(d, 1), -EINVAL);         // array entry in dict
	EXPECT_EQ(tarn_telemetry_dict_uint(d, nullptr, 1), -EINVAL); // no key
	EXPECT_EQ(tarn_telemetry_dict_uint(d, "", 1), -EINVAL);
	EXPECT_EQ(tarn_telemetry_dict_uint(d, std::string(TARN_TELEMETRY_NAME_MAX, 'k').c_str(), 1),
	          -EINVAL);
	EXPECT_EQ(tarn_telemetry_close(d), 0);
	// nesting: the top level plus MAX_DEPTH-1 more
	for (int i = 1; i < TARN_TELEMETRY_MAX_DEPTH; i++)
		EXPECT_EQ(tarn_telemetry_array_open_array(d), 0) << i;
	EXPECT_EQ(tarn_telemetry_array_open_array(d), -EINVAL);
	EXPECT_EQ(tarn_telemetry_start_dict(nullptr), -EINVAL);
	EXPECT_EQ(tarn_telemetry_close(nullptr), -EINVAL);
	EXPECT_EQ(tarn_telemetry_array_uint(nullptr, 1), -EINVAL);
	return 0;
}

// Fills the reply far beyond max_output_len.
std::atomic<int> flood_enospc{ 0 };
int flood_cb(const char *, const char *params, struct tarn_telemetry_data *d)
{
	tarn_telemetry_start_dict(d);
	tarn_telemetry_dict_open_array(d, "numbers");
	int first_fail = -1;
	for (int i = 0; i < 100000; i++)
		if (tarn_telemetry_array_uint(d, 1000000000ull + (uint64_t)i) == -ENOSPC &&
		    first_fail < 0)
			first_fail = i;
	// fill the last bytes: then not even an empty container fits
	for (int i = 0; i < 100; i++)
		tarn_telemetry_array_uint(d, 1);
	// inside a container that cannot be opened, everything is -ENOSPC until closed
	int nested = tarn_telemetry_array_open_dict(d);
	int inner = tarn_telemetry_dict_uint(d, "inner", 1);
	int closed = tarn_telemetry_close(d);
	flood_enospc = (first_fail > 0) + (nested == -ENOSPC) + (inner == -ENOSPC) + (closed == 0);
	tarn_telemetry_close(d);
	if (params != nullptr)
		tarn_telemetry_dict_string(d, "after", "fits?");
	return 0;
}

int big_string_cb(const char *, const char *, struct tarn_telemetry_data *d)
{
	static std::string s(200000, 's');
	return tarn_telemetry_string(d, s.c_str()) == -ENOSPC ? 0 : -1;
}

int reentrant_cb(const char *, const char *, struct tarn_telemetry_data *d)
{
	char buf[256];
	tarn_telemetry_start_dict(d);
	tarn_telemetry_dict_int(d, "query", tarn_telemetry_query("/info", buf, sizeof(buf)));
	return 0;
}

int fail_cb(const char *, const char *, struct tarn_telemetry_data *d)
{
	tarn_telemetry_start_dict(d);
	tarn_telemetry_dict_uint(d, "partial", 1);
	return -EIO; // a failing callback answers null, whatever it built
}

int empty_cb(const char *, const char *, struct tarn_telemetry_data *)
{
	return 0;
}

TEST(TelRegister, BeforeInitAndErrors)
{
	tarn_log_set_handler(TestLog::fn, nullptr);
	// before tarn_init(): allowed
	int rc = tarn_telemetry_register_cmd("/test/echo", echo_cb, "Echoes its parameter");
	ASSERT_TRUE(rc == 0 || rc == -EEXIST);
	TestLog::clear();
	EXPECT_EQ(tarn_telemetry_register_cmd("/test/echo", echo_cb, "again"), -EEXIST);
	EXPECT_TRUE(TestLog::contains("already registered"));
	EXPECT_EQ(tarn_telemetry_register_cmd("/tarn/info", echo_cb, "clash"), -EEXIST);
	EXPECT_EQ(tarn_telemetry_register_cmd(nullptr, echo_cb, "x"), -EINVAL);
	EXPECT_EQ(tarn_telemetry_register_cmd("/test/x", nullptr, "x"), -EINVAL);
	TestLog::clear();
	EXPECT_EQ(tarn_telemetry_register_cmd("test/x", echo_cb, "x"), -EINVAL);
	EXPECT_TRUE(TestLog::contains("does not start with '/'")) << TestLog::all();
	EXPECT_EQ(tarn_telemetry_register_cmd("/test/a,b", echo_cb, "x"), -EINVAL);
	EXPECT_EQ(tarn_telemetry_register_cmd("/test/a b", echo_cb, "x"), -EINVAL);
	EXPECT_EQ(tarn_telemetry_register_cmd("/test/\"", echo_cb, "x"), -EINVAL);
	EXPECT_EQ(tarn_telemetry_register_cmd(
	              ("/" + std::string(TARN_TELEMETRY_CMD_MAX - 1, 'c')).c_str(), echo_cb, "x"),
	          -EINVAL);
	EXPECT_EQ(
	    tarn_telemetry_register_cmd(
	        ("/" + std::string(TARN_TELEMETRY_CMD_MAX - 2, 'c')).c_str(), empty_cb, nullptr),
	    0); // exactly the longest
	TestLog::clear();
	EXPECT_EQ(tarn_telemetry_register_cmd("/test/longhelp", echo_cb,
	                                      std::string(TARN_TELEMETRY_HELP_MAX, 'h').c_str()),
	          -EINVAL);
	EXPECT_TRUE(TestLog::contains("help text")) << TestLog::all();
	// in-process, before init
	std::string r = query("/test/echo,hello");
	EXPECT_EQ(r, "{\"/test/echo\":\"hello\"}");
	tarn_log_set_handler(nullptr, nullptr);
}

TEST_F(Tel, RegisteredCommandsOverTheSocket)
{
	for (auto [name, fn] : std::vector<std::pair<const char *, tarn_telemetry_cb>>{
	         { "/test/echo", echo_cb },
	         { "/test/nested", nested_cb },
	         { "/test/misuse", misuse_cb },
	         { "/test/flood", flood_cb },
	         { "/test/bigstring", big_string_cb },
	         { "/test/reentrant", reentrant_cb },
	         { "/test/fail", fail_cb },
	         { "/test/empty", empty_cb } }) {
		int rc = tarn_telemetry_register_cmd(name, fn, "test");
		ASSERT_TRUE(rc == 0 || rc == -EEXIST) << name;
	}
	TelClient c;
	ASSERT_TRUE(c.open(path));
	EXPECT_EQ(c.ask("/test/echo,a,b,c"), "{\"/test/echo\":\"a,b,c\"}");
	EXPECT_EQ(c.ask("/test/echo"), "{\"/test/echo\":null}");
	EXPECT_NE(c.ask("/").find("\"/test/nested\""), std::string::npos);
	EXPECT_EQ(c.ask("/help,/test/echo"), "{\"/help\":{\"/test/echo\":\"test\"}}");

	std::string r = c.ask("/test/nested");
	EXPECT_EQ(r, "{\"/test/nested\":{\"neg\":-5,\"big\":18446744073709551615,\"half\":0.5,"
	             "\"nan\":null,\"yes\":true,\"s\":\"a\\\"b\\\\c\\n\\u0001\\ufffd\xc3\xa9\","
	             "\"none\":null,\"arr\":[-1,2,1.25,false,\"x\",{\"k\":7},[]],"
	             "\"left_open\":{\"z\":0}}}");
	Json j(r);
	ASSERT_TRUE(j.ok()) << r << ": " << j.err;
	EXPECT_EQ(jget_u64(j.value("/test/nested"), "big", 0), UINT64_MAX);

	tarn_log_set_handler(TestLog::fn, nullptr);
	TestLog::clear();
	r = c.ask("/test/misuse");
	Json m(r);
	EXPECT_TRUE(m.ok()) << r;
	EXPECT_TRUE(TestLog::contains("reply to '/test/misuse'")) << TestLog::all();

	TestLog::clear();
	r = c.ask("/test/flood,x");
	EXPECT_LE(r.size(), (size_t)TARN_TELEMETRY_MAX_OUTPUT);
	EXPECT_GT(r.size(), (size_t)TARN_TELEMETRY_MAX_OUTPUT - 32);
	Json f(r);
	ASSERT_TRUE(f.ok()) << "cut reply is not valid JSON: ..." << r.substr(r.size() - 100);
	EXPECT_GT(jcount(jget(f.value("/test/flood"), "numbers")), 1000u);
	EXPECT_EQ(flood_enospc.load(), 4);
	EXPECT_TRUE(TestLog::contains("cut at")) << TestLog::all();

	r = c.ask("/test/bigstring");
	EXPECT_LE(r.size(), (size_t)TARN_TELEMETRY_MAX_OUTPUT);
	Json bs(r);
	ASSERT_TRUE(bs.ok()) << r.substr(0, 100);
	ASSERT_NE(bs.value("/test/bigstring"), nullptr);
	EXPECT_EQ(bs.value("/test/bigstring")->type, J_STR);

	EXPECT_EQ(c.ask("/test/reentrant"),
	          "{\"/test/reentrant\":{\"query\":" + std::to_string(-EDEADLK) + "}}");
	EXPECT_EQ(c.ask("/test/fail"), "{\"/test/fail\":null}");
	EXPECT_EQ(c.ask("/test/empty"), "{\"/test/empty\":null}");
	tarn_log_set_handler(nullptr, nullptr);
}

TEST(TelQuery, Errors)
{
	char buf[16];
	EXPECT_EQ(tarn_telemetry_query(nullptr, buf, sizeof(buf)), -EINVAL);
	EXPECT_EQ(tarn_telemetry_query("/info", nullptr, 10), -EINVAL);
	EXPECT_EQ(tarn_telemetry_query("/info", buf, sizeof(buf)), -ENOSPC);
	EXPECT_EQ(tarn_telemetry_query("/x", buf, sizeof(buf)), 11); // {"/x":null}
	EXPECT_STREQ(buf, "{\"/x\":null}");
	EXPECT_EQ(tarn_telemetry_query("/x", buf, 11), -ENOSPC); // no room for the NUL
}

} // namespace
