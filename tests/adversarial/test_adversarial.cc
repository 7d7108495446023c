// SPDX-License-Identifier: BSD-3-Clause
// The cases of issue 17 that need another user or odd files, as an
// adversarial user would set them up (docs/reliability.md lists them):
//
// - another user's (or a world-writable, or symlinked) <run>/dpdk is passed
//   over for the victim's own /tmp/tarn-<uid>/dpdk, with a warning that
//   names it and says why; nothing of the victim's goes in it;
// - a socket planted there by another user is not trusted by tarn-top
//   (SO_PEERCRED), and tarn-top -f never looks there;
// - tarn-top's messages say what is wrong: a directory of another user,
//   a socket of another user, no safe directory at all;
// - a lock held by another user cannot delay tarn-fwd; one held by the
//   victim's own other process delays its start and exit by at most
//   TARN_TELEMETRY_LOCK_WAIT_MS;
// - a FIFO (or a device) named like a hugepage file in a shared hugetlbfs
//   mount hangs neither tarn's start nor tarn-doctor.
//
// The suite runs in a mount namespace of its own with a tmpfs on /tmp, so
// that /tmp/dpdk and /tmp/tarn-<uid> are the real paths a non-root user
// without XDG_RUNTIME_DIR gets, yet nobody else's (a build under /tmp is
// carried over onto that tmpfs, so the programs it runs are still there); it creates two users
// (victim and mallory) with useradd and removes them after (and any left by
// a run that died). It needs root and skips, saying so, without it.
#include "telemetry_test.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include <tarn/tarn_telemetry.h>

#include "../common/child.h"
#include "../common/need.h"
#include "../common/test_user.h"

namespace
{

const std::string kVictimTag = "tarnv", kMalloryTag = "tarnm";
constexpr unsigned kCapSysAdmin = 21;
constexpr unsigned kAtRecursive = 0x8000; // AT_RECURSIVE (open_tree)

// "/tmp/x" when `path` (resolved) lies under /tmp/x, else "".
std::string top_under_tmp(const char *path)
{
	char *real = realpath(path, nullptr);
	std::string p = real ? real : path;
	free(real);
	if (p.compare(0, 5, "/tmp/") != 0)
		return "";
	return p.substr(0, p.find('/', 5));
}

class AdvEnv : public ::testing::Environment
{
      public:
	static inline std::string skip;
	static inline TestUser victim, mallory;

	void SetUp() override
	{
		if (geteuid() != 0) {
			skip =
			    "needs root: it creates two users (useradd) and mounts a private /tmp "
			    "and hugetlbfs in a mount namespace of its own";
			return;
		}
		if (!need::has_cap(kCapSysAdmin)) {
			skip = "root without CAP_SYS_ADMIN: no mount namespace, so no private /tmp";
			return;
		}
		// a private /tmp: /tmp/dpdk and /tmp/tarn-<uid> are ours alone (as
		// root with CAP_SYS_ADMIN a failure here is a broken environment)
		ASSERT_EQ(unshare(CLONE_NEWNS), 0) << strerror(errno);
		ASSERT_EQ(mount("none", "/", "none", MS_REC | MS_PRIVATE, nullptr), 0)
		    << strerror(errno);
		// A checkout or build under /tmp (a clone in /tmp/x) stays where it
		// is: its top directory under /tmp is cloned as a detached mount
		// before the tmpfs covers /tmp, and attached again on top of it.
		const std::string keep = top_under_tmp(TARN_FWD);
		int keep_fd = -1;
		if (!keep.empty()) {
			keep_fd = open_tree(AT_FDCWD, keep.c_str(), OPEN_TREE_CLONE | kAtRecursive);
			ASSERT_GE(keep_fd, 0) << "open_tree " << keep << ": " << strerror(errno);
		}
		ASSERT_EQ(mount("tarn-test-tmp", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV,
		                "mode=1777,size=64m"),
		          0)
		    << strerror(errno);
		if (keep_fd >= 0) {
			ASSERT_EQ(mkdir(keep.c_str(), 0755), 0) << keep << ": " << strerror(errno);
			ASSERT_EQ(move_mount(keep_fd, "", AT_FDCWD, keep.c_str(),
			                     MOVE_MOUNT_F_EMPTY_PATH),
			          0)
			    << "move_mount " << keep << ": " << strerror(errno);
			close(keep_fd);
		}
		TestUser::remove_stale(kVictimTag);
		TestUser::remove_stale(kMalloryTag);
		std::string err = victim.create(kVictimTag + std::to_string(getpid()));
		ASSERT_EQ(err, "");
		err = mallory.create(kMalloryTag + std::to_string(getpid()));
		ASSERT_EQ(err, "");
	}
	void TearDown() override
	{
		victim.remove();
		mallory.remove();
	}
};

::testing::Environment *const adv_env = ::testing::AddGlobalTestEnvironment(new AdvEnv);

#define NEED_ENV()                                                                                 \
	do {                                                                                       \
		if (!AdvEnv::skip.empty())                                                         \
			GTEST_SKIP() << AdvEnv::skip;                                              \
		ASSERT_TRUE(AdvEnv::victim.ok() && AdvEnv::mallory.ok());                          \
	} while (0)

const TestUser &victim()
{
	return AdvEnv::victim;
}
const TestUser &mallory()
{
	return AdvEnv::mallory;
}

std::string prefix_for(const char *what)
{
	return std::string("tarn-test-adv-") + what + "-" + std::to_string(getpid());
}

// Run a shell command; stdout and stderr captured separately.
Result sh(const std::string &cmd)
{
	static int seq;
	return run_child(cmd, "/tmp/adv-" + std::to_string(seq++) + ".err");
}

bool exists(const std::string &p)
{
	struct stat st;
	return lstat(p.c_str(), &st) == 0;
}

// A directory with this owner and mode (chmod after mkdir: the umask).
void mk_dir(const std::string &p, mode_t mode, const TestUser *owner)
{
	ASSERT_EQ(mkdir(p.c_str(), 0700), 0) << p << ": " << strerror(errno);
	if (owner != nullptr) {
		ASSERT_EQ(chown(p.c_str(), owner->uid, owner->gid), 0) << strerror(errno);
	}
	ASSERT_EQ(chmod(p.c_str(), mode), 0);
}

std::string ls(const std::string &dir)
{
	return sh("ls -A " + dir).out;
}

std::string uid_s(const TestUser &u)
{
	return std::to_string(u.uid);
}

// "user NAME (uid N)", as the messages name a user.
std::string who(const TestUser &u)
{
	return "user " + u.name + " (uid " + uid_s(u) + ")";
}

// The victim's own fallback runtime directory.
std::string fallback()
{
	return "/tmp/tarn-" + uid_s(victim()) + "/dpdk";
}

// tarn-fwd (its embedded ring ports) run in the background as `u` (or as
// root with a null `u`), its output in a log file.
struct Fwd {
	pid_t pid = -1;
	std::string log;
	int code = -1;

	bool start(const TestUser *u, const std::string &prefix, const std::string &duration,
	           const std::vector<std::string> &env = {})
	{
		static int seq;
		log = "/tmp/adv-fwd-" + std::to_string(seq++) + ".log";
		std::vector<std::string> a;
		if (u != nullptr)
			a = u->as_argv(env);
		else
			a = { "/usr/bin/env" }, a.insert(a.end(), env.begin(), env.end());
		for (const char *s : { TARN_FWD, "--file-prefix", prefix.c_str(), "--lcores", "0",
		                       "--stats-period", "0", "--duration", duration.c_str() })
			a.push_back(s);
		fflush(nullptr);
		pid = fork();
		if (pid == 0) {
			int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
			if (fd < 0)
				_exit(126);
			dup2(fd, 1);
			dup2(fd, 2);
			std::vector<char *> argv;
			for (auto &s : a)
				argv.push_back(const_cast<char *>(s.c_str()));
			argv.push_back(nullptr);
			execv(argv[0], argv.data());
			_exit(127);
		}
		return pid > 0;
	}
	// Wait for its end, at most `seconds` (then kill it: -1).
	int wait(double seconds)
	{
		auto end =
		    std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
		int st = 0;
		while (pid > 0) {
			pid_t r = waitpid(pid, &st, WNOHANG);
			if (r == pid) {
				pid = -1;
				code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
				return code;
			}
			if (std::chrono::steady_clock::now() > end) {
				kill(pid, SIGKILL);
				waitpid(pid, &st, 0);
				pid = -1;
				return code = -1;
			}
			std::this_thread::sleep_for(std::chrono::milliseconds(20));
		}
		return code;
	}
	int stop()
	{
		if (pid > 0)
			kill(pid, SIGINT);
		return wait(60);
	}
	std::string out() const
	{
		return slurp(log);
	}
	~Fwd()
	{
		if (pid > 0) {
			kill(pid, SIGKILL);
			waitpid(pid, nullptr, 0);
		}
		if (!log.empty())
			unlink(log.c_str());
	}
};

bool wait_for(const std::string &path, double seconds = 30)
{
	auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
	while (!exists(path)) {
		if (std::chrono::steady_clock::now() > end)
			return false;
		std::this_thread::sleep_for(std::chrono::milliseconds(50));
	}
	return true;
}

double seconds_since(std::chrono::steady_clock::time_point t0)
{
	return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// A child, as `u`, holding the flock of `dir` until killed.
struct LockHolder {
	pid_t pid = -1;
	bool take(const std::string &dir, const TestUser &u)
	{
		int ready[2];
		if (pipe(ready) != 0)
			return false;
		fflush(nullptr);
		pid = fork();
		if (pid == 0) {
			if (setgroups(0, nullptr) != 0 || setresgid(u.gid, u.gid, u.gid) != 0 ||
			    setresuid(u.uid, u.uid, u.uid) != 0)
				_exit(1);
			int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY);
			if (fd < 0 || flock(fd, LOCK_EX) != 0)
				_exit(2);
			if (write(ready[1], "l", 1) != 1)
				_exit(3);
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

// Every test starts and ends with nothing of the run directories in /tmp
// (private to the suite).
class Adv : public ::testing::Test
{
      protected:
	void SetUp() override
	{
		NEED_ENV();
		wipe();
	}
	void TearDown() override
	{
		if (AdvEnv::skip.empty())
			wipe();
	}
	static void wipe()
	{
		// only in the suite's own tmpfs
		EXPECT_EQ(system("rm -rf /tmp/dpdk /tmp/tarn-[0-9]* /tmp/rt-* /tmp/m-*"), 0);
	}
};

// ---------------------------------------------------------------------------
// The runtime directory of another user

// What runs as a test user starts in a clean environment (env -i) but keeps
// the test command's TARN_TEST_RUN: scripts/leftovers.py knows a run's
// processes by it. Without it a tarn-fwd of the victim that outlived a timed
// out case was nobody's, and its hugepage files and runtime directory were
// left behind unreported.
TEST_F(Adv, TestUserProcessesCarryTheRunToken)
{
	NEED_ENV();
	const char *token = getenv("TARN_TEST_RUN");
	Result r = sh(victim().as("X=1") + "/bin/sh -c 'echo \"[$X][$TARN_TEST_RUN]\"'");
	ASSERT_EQ(r.code, 0) << r.err;
	EXPECT_EQ(r.out, "[1][" + std::string(token ? token : "") + "]\n");
}

// Issue 17: "a dpdk/ directory made by another user with mode 0777 is
// accepted, and the victim's socket lands in a directory the other user
// owns". Now it is passed over, said so, and the victim's own is used.
TEST_F(Adv, ForeignWorldWritableRunDirIsPassedOver)
{
	mk_dir("/tmp/dpdk", 0777, &mallory());
	const std::string prefix = prefix_for("ww");
	Fwd fwd;
	ASSERT_TRUE(fwd.start(&victim(), prefix, "60"));
	const std::string sock = fallback() + "/" + prefix + "/dpdk_telemetry.v2";
	ASSERT_TRUE(wait_for(sock)) << fwd.out();
	EXPECT_EQ(ls("/tmp/dpdk"), "") << "the victim put something in mallory's directory";
	const std::string warn = "/tmp/dpdk belongs to " + who(mallory()) + ", not to " +
	                         who(victim()) + " and is writable by others (mode 0777): not " +
	                         "used; telemetry goes under " + fallback();
	EXPECT_NE(fwd.out().find(warn), std::string::npos) << fwd.out();
	// the victim's, closed to others
	for (const std::string &d :
	     { "/tmp/tarn-" + uid_s(victim()), fallback(), fallback() + "/" + prefix }) {
		struct stat st;
		ASSERT_EQ(lstat(d.c_str(), &st), 0) << d;
		EXPECT_TRUE(S_ISDIR(st.st_mode)) << d;
		EXPECT_EQ(st.st_uid, victim().uid) << d;
		EXPECT_EQ(st.st_mode & 07777, 0700u) << d;
	}
	struct stat st;
	ASSERT_EQ(lstat(sock.c_str(), &st), 0);
	EXPECT_EQ(st.st_uid, victim().uid);
	EXPECT_EQ(st.st_mode & 07777, 0600u);

	// tarn-top, as the victim, finds it there
	Result r = sh(victim().as() + TARN_TOP + " --once --json -d 0.2 -f " + prefix);
	ASSERT_EQ(r.code, 0) << r.err;
	Json j(r.out);
	ASSERT_TRUE(j.ok()) << r.out;
	EXPECT_EQ(jget_u64(j.root(), "pid", 0), (uint64_t)fwd.pid);
	EXPECT_EQ(jget_str(j.root(), "socket", ""), sock);
	// and DPDK's client with the RUNTIME_DIRECTORY the warning names
	// (the system's python3: the one meson found may sit in root's home)
	if (!std::string(DPDK_TELEMETRY_PY).empty() && access(DPDK_TELEMETRY_PY, R_OK) == 0 &&
	    access("/usr/bin/python3", X_OK) == 0) {
		r = sh("printf '/tarn/info\\n' | " +
		       victim().as("RUNTIME_DIRECTORY=/tmp/tarn-" + uid_s(victim())) +
		       "/usr/bin/python3 " + DPDK_TELEMETRY_PY + " -f " + prefix);
		EXPECT_EQ(r.code, 0) << r.err;
		EXPECT_NE(r.out.find("\"file_prefix\": \"" + prefix + "\""), std::string::npos)
		    << r.out << r.err;
	}
	EXPECT_EQ(fwd.stop(), 0) << fwd.out();
	EXPECT_FALSE(exists(sock)) << "socket left behind";
	EXPECT_FALSE(exists(fallback() + "/" + prefix)) << "prefix directory left behind";
}

// Issue 17: "that user then renames it and plants a socket of their own,
// and tarn-top -f PREFIX talks to the impostor". Now tarn-top -f never
// looks in mallory's directory, and a socket named explicitly that mallory
// serves is refused before a single request is sent.
TEST_F(Adv, ImpostorSocketIsNotTrusted)
{
	mk_dir("/tmp/dpdk", 0777, &mallory());
	const std::string prefix = prefix_for("imp");
	mk_dir("/tmp/dpdk/" + prefix, 0777, &mallory());
	const std::string fake_path = "/tmp/dpdk/" + prefix + "/dpdk_telemetry.v2";
	FakeServer fake;
	ASSERT_TRUE(
	    fake.start(fake_path, "/tmp/m-fake.log",
	               "{\"version\":\"tarn 0.1.0\",\"pid\":1,\"max_output_len\":16384}",
	               { { "/tarn/info", "{\"/tarn/info\":{\"file_prefix\":\"impostor\"}}" } },
	               mallory().uid, mallory().gid, 0777));
	Fwd fwd;
	ASSERT_TRUE(fwd.start(&victim(), prefix, "60"));
	const std::string sock = fallback() + "/" + prefix + "/dpdk_telemetry.v2";
	ASSERT_TRUE(wait_for(sock)) << fwd.out();

	Result r = sh(victim().as() + TARN_TOP + " --once --json -d 0.2 -f " + prefix);
	ASSERT_EQ(r.code, 0) << r.err;
	Json j(r.out);
	ASSERT_TRUE(j.ok()) << r.out;
	EXPECT_EQ(jget_u64(j.root(), "pid", 0), (uint64_t)fwd.pid);
	EXPECT_STREQ(jget_str(j.root(), "file_prefix", ""), prefix.c_str());
	EXPECT_EQ(fake.events(), "") << "tarn-top -f went to the impostor";

	r = sh(victim().as() + TARN_TOP + " --once -d 0.2 --socket " + fake_path);
	EXPECT_EQ(r.code, 1) << r.out;
	EXPECT_NE(r.err.find("served by " + who(mallory()) + ", pid " + std::to_string(fake.pid) +
	                     ", not by " + who(victim()) + " or root: not trusted"),
	          std::string::npos)
	    << r.err;
	EXPECT_EQ(r.out, "");
	// (the server sees the connection when it gets to it)
	for (int i = 0; i < 250 && fake.events().empty(); i++)
		std::this_thread::sleep_for(std::chrono::milliseconds(20));
	EXPECT_EQ(fake.events(), "connect\n") << "a request reached the impostor";

	// --pid looks only in the victim's own directory
	r = sh(victim().as() + TARN_TOP + " --once --json -d 0.2 --pid " + std::to_string(fwd.pid));
	EXPECT_EQ(r.code, 0) << r.err;
	EXPECT_EQ(fake.events(), "connect\n");
	EXPECT_EQ(fwd.stop(), 0) << fwd.out();
}

// Issue 17: "when /tmp/dpdk already exists owned by another user with mode
// 0700, every other non-root user runs without telemetry, and tarn-top tells
// them 'the process runs as another user', which is wrong".
TEST_F(Adv, ForeignPrivateRunDir)
{
	mk_dir("/tmp/dpdk", 0700, &mallory());
	const std::string prefix = prefix_for("priv");
	// nothing running: tarn-top says where it looked and why
	Result r = sh(victim().as() + TARN_TOP + " --once -f " + prefix);
	EXPECT_EQ(r.code, 1);
	EXPECT_NE(r.err.find("/tmp/dpdk belongs to " + who(mallory()) + ", not to " +
	                     who(victim()) + ": not used; this user's sockets are under " +
	                     fallback()),
	          std::string::npos)
	    << r.err;
	EXPECT_EQ(r.err.find("runs as another user"), std::string::npos) << r.err;
	// the victim's tarn-fwd has telemetry, in the fallback
	Fwd fwd;
	ASSERT_TRUE(fwd.start(&victim(), prefix, "60"));
	const std::string sock = fallback() + "/" + prefix + "/dpdk_telemetry.v2";
	ASSERT_TRUE(wait_for(sock)) << fwd.out();
	r = sh(victim().as() + TARN_TOP + " --once --json -d 0.2 -f " + prefix);
	ASSERT_EQ(r.code, 0) << r.err;
	EXPECT_EQ(Json(r.out).ok() ? jget_u64(Json(r.out).root(), "pid", 0) : 0, (uint64_t)fwd.pid);
	// a socket path in mallory's directory: whose it is and why it is closed
	r = sh(victim().as() + TARN_TOP + " --once --socket /tmp/dpdk/" + prefix +
	       "/dpdk_telemetry.v2");
	EXPECT_EQ(r.code, 1);
	EXPECT_NE(r.err.find("directory /tmp/dpdk belongs to " + who(mallory()) +
	                     ", mode 0700, and is not open to you: a process of yours does not "
	                     "put its socket there"),
	          std::string::npos)
	    << r.err;
	EXPECT_EQ(fwd.stop(), 0) << fwd.out();
}

// The victim's own world-writable directory (an old tool's umask) and a
// symbolic link planted by mallory are passed over as well.
TEST_F(Adv, WritableOrSymlinkedRunDirIsPassedOver)
{
	mk_dir("/tmp/dpdk", 0777, &victim());
	const std::string prefix = prefix_for("own");
	{
		Fwd fwd;
		ASSERT_TRUE(fwd.start(&victim(), prefix, "0.5"));
		EXPECT_EQ(fwd.wait(60), 0) << fwd.out();
		EXPECT_NE(fwd.out().find("/tmp/dpdk is writable by others (mode 0777): not used; "
		                         "telemetry goes under " +
		                         fallback()),
		          std::string::npos)
		    << fwd.out();
		EXPECT_NE(fwd.out().find("telemetry at " + fallback() + "/" + prefix),
		          std::string::npos)
		    << fwd.out();
	}
	ASSERT_EQ(rmdir("/tmp/dpdk"), 0);
	mk_dir("/tmp/m-dir", 0777, &mallory());
	ASSERT_EQ(symlink("/tmp/m-dir", "/tmp/dpdk"), 0);
	ASSERT_EQ(lchown("/tmp/dpdk", mallory().uid, mallory().gid), 0);
	Fwd fwd;
	ASSERT_TRUE(fwd.start(&victim(), prefix, "0.5"));
	EXPECT_EQ(fwd.wait(60), 0) << fwd.out();
	EXPECT_NE(fwd.out().find("/tmp/dpdk is a symbolic link: not used"), std::string::npos)
	    << fwd.out();
	EXPECT_EQ(ls("/tmp/m-dir"), "") << "the victim followed mallory's link";
}

// Mallory takes the fallback as well: the victim runs without telemetry
// (saying why), creates nothing in either, and tarn-top says why.
TEST_F(Adv, NoSafeRunDir)
{
	mk_dir("/tmp/dpdk", 0700, &mallory());
	mk_dir("/tmp/tarn-" + uid_s(victim()), 0777, &mallory());
	const std::string prefix = prefix_for("none");
	Fwd fwd;
	ASSERT_TRUE(fwd.start(&victim(), prefix, "0.5"));
	EXPECT_EQ(fwd.wait(60), 0) << fwd.out();
	const std::string why =
	    "no runtime directory is safe for this user: /tmp/dpdk belongs to " + who(mallory()) +
	    ", not to " + who(victim()) + "; /tmp/tarn-" + uid_s(victim()) + " belongs to " +
	    who(mallory()) + ", not to " + who(victim()) + " and is writable by others (mode 0777)";
	EXPECT_NE(fwd.out().find("telemetry not started for prefix " + prefix + ": " + why),
	          std::string::npos)
	    << fwd.out();
	EXPECT_EQ(ls("/tmp/tarn-" + uid_s(victim())), "");
	Result r = sh(victim().as() + TARN_TOP + " --once -f " + prefix);
	EXPECT_EQ(r.code, 1);
	EXPECT_NE(r.err.find("no runtime directory is safe for this user, so no process of yours "
	                     "has a telemetry socket: /tmp/dpdk belongs to"),
	          std::string::npos)
	    << r.err;
}

// Root's socket, read by a user: "belongs to user root", not a wrong guess;
// root reads the user's socket (root trusts every process).
TEST_F(Adv, RootAndUserSockets)
{
	mk_dir("/tmp/rt-root", 0755, nullptr);
	const std::string prefix = prefix_for("root");
	Fwd rootfwd;
	ASSERT_TRUE(rootfwd.start(nullptr, prefix, "60", { "RUNTIME_DIRECTORY=/tmp/rt-root" }));
	const std::string rsock = "/tmp/rt-root/dpdk/" + prefix + "/dpdk_telemetry.v2";
	ASSERT_TRUE(wait_for(rsock)) << rootfwd.out();
	Result r = sh(victim().as() + TARN_TOP + " --once --socket " + rsock);
	EXPECT_EQ(r.code, 1);
	EXPECT_NE(r.err.find("directory /tmp/rt-root/dpdk belongs to user root (uid 0), mode 0700, "
	                     "and is not open to you"),
	          std::string::npos)
	    << r.err;
	// with the directories opened, the socket itself (0600) is what stops it
	ASSERT_EQ(chmod("/tmp/rt-root/dpdk", 0755), 0);
	ASSERT_EQ(chmod(("/tmp/rt-root/dpdk/" + prefix).c_str(), 0755), 0);
	r = sh(victim().as() + TARN_TOP + " --once --socket " + rsock);
	EXPECT_EQ(r.code, 1);
	EXPECT_NE(r.err.find("the socket belongs to user root (uid 0), mode 0600: the process runs "
	                     "as that user"),
	          std::string::npos)
	    << r.err;
	ASSERT_EQ(chmod(("/tmp/rt-root/dpdk/" + prefix).c_str(), 0700), 0);
	EXPECT_EQ(rootfwd.stop(), 0) << rootfwd.out();

	Fwd fwd;
	ASSERT_TRUE(fwd.start(&victim(), prefix, "60"));
	const std::string vsock = "/tmp/dpdk/" + prefix + "/dpdk_telemetry.v2";
	ASSERT_TRUE(wait_for(vsock)) << fwd.out();
	r = sh(std::string(TARN_TOP) + " --once --json -d 0.2 --socket " + vsock);
	ASSERT_EQ(r.code, 0) << r.err;
	EXPECT_EQ(Json(r.out).ok() ? jget_u64(Json(r.out).root(), "pid", 0) : 0, (uint64_t)fwd.pid);
	EXPECT_EQ(fwd.stop(), 0) << fwd.out();
}

// ---------------------------------------------------------------------------
// The lock

// Issue 17: "another user holding the lock hangs tarn-fwd's start". Mallory
// can no longer hold it: her directory is not used at all.
TEST_F(Adv, ForeignLockCannotDelay)
{
	mk_dir("/tmp/dpdk", 0777, &mallory());
	LockHolder h;
	ASSERT_TRUE(h.take("/tmp/dpdk", mallory()));
	const std::string prefix = prefix_for("flock");
	Fwd fwd;
	ASSERT_TRUE(fwd.start(&victim(), prefix, "0.5"));
	EXPECT_EQ(fwd.wait(60), 0) << "tarn-fwd hung on mallory's lock:\n" << fwd.out();
	EXPECT_NE(fwd.out().find("telemetry at " + fallback() + "/" + prefix), std::string::npos)
	    << fwd.out();
	EXPECT_EQ(fwd.out().find("held the lock"), std::string::npos) << fwd.out();
}

// The victim's own other process holding the lock delays start and exit by
// the bound at most, and says who holds it.
TEST_F(Adv, OwnLockDelaysByTheBoundAtMost)
{
	mk_dir("/tmp/dpdk", 0700, &victim());
	const std::string prefix = prefix_for("olock");
	{
		LockHolder h;
		ASSERT_TRUE(h.take("/tmp/dpdk", victim()));
		Fwd fwd;
		auto t0 = std::chrono::steady_clock::now();
		ASSERT_TRUE(fwd.start(&victim(), prefix, "0.5"));
		EXPECT_EQ(fwd.wait(60), 0) << fwd.out();
		const double took = seconds_since(t0);
		EXPECT_GE(took, 0.5 + TARN_TELEMETRY_LOCK_WAIT_MS / 1000.0 * 0.95) << fwd.out();
		EXPECT_NE(fwd.out().find("another process (pid " + std::to_string(h.pid) +
		                         ") has held the lock on /tmp/dpdk for more than " +
		                         std::to_string(TARN_TELEMETRY_LOCK_WAIT_MS) + " ms"),
		          std::string::npos)
		    << fwd.out();
	}
	// taken while it runs: its exit waits the bound, then removes its socket
	Fwd fwd;
	ASSERT_TRUE(fwd.start(&victim(), prefix, "0"));
	const std::string sock = "/tmp/dpdk/" + prefix + "/dpdk_telemetry.v2";
	ASSERT_TRUE(wait_for(sock)) << fwd.out();
	LockHolder h;
	ASSERT_TRUE(h.take("/tmp/dpdk", victim()));
	auto t0 = std::chrono::steady_clock::now();
	EXPECT_EQ(fwd.stop(), 0) << fwd.out();
	const double took = seconds_since(t0);
	EXPECT_GE(took, TARN_TELEMETRY_LOCK_WAIT_MS / 1000.0 * 0.95);
	EXPECT_LT(took, TARN_TELEMETRY_LOCK_WAIT_MS / 1000.0 + 30);
	EXPECT_FALSE(exists(sock)) << "socket left behind";
	EXPECT_NE(fwd.out().find("removing " + sock + " without the lock"), std::string::npos)
	    << fwd.out();
}

// ---------------------------------------------------------------------------
// Odd files in a shared hugetlbfs mount

// Issue 17: "a FIFO named like a hugepage file in a shared hugetlbfs mount
// hangs tarn_init and tarn-doctor". Mallory puts a FIFO (and root a device
// node) with tarn's name in a mount anyone may write (mode 1777); a stale
// regular file next to them is still removed.
TEST_F(Adv, FifoNamedLikeHugepageFileHangsNothing)
{
	const std::string mnt = "/tmp/m-huge";
	ASSERT_EQ(mkdir(mnt.c_str(), 0755), 0);
	ASSERT_EQ(mount("none", mnt.c_str(), "hugetlbfs", 0, "mode=1777"), 0) << strerror(errno);
	const std::string prefix = prefix_for("fifo");
	// pid 999999999 is never alive: these look stale
	const std::string fifo = mnt + "/" + prefix + ".tarnseg.999999999.0.0";
	const std::string dev = mnt + "/" + prefix + ".tarnseg.999999999.0.1";
	const std::string stale = mnt + "/" + prefix + ".tarnseg.999999999.0.2";
	Result r = sh(mallory().as() + "mkfifo " + fifo);
	ASSERT_EQ(r.code, 0) << r.err;
	ASSERT_EQ(mknod(dev.c_str(), S_IFCHR | 0666, makedev(1, 3)), 0) << strerror(errno);
	int fd = open(stale.c_str(), O_CREAT | O_WRONLY, 0600);
	ASSERT_GE(fd, 0) << strerror(errno);
	close(fd);

	Fwd fwd;
	ASSERT_TRUE(fwd.start(nullptr, prefix, "0.5",
	                      { "TARN_HUGE_DIR=" + mnt, "RUNTIME_DIRECTORY=/tmp" }));
	EXPECT_EQ(fwd.wait(60), 0) << "tarn-fwd hung on the FIFO:\n" << fwd.out();
	EXPECT_NE(fwd.out().find(fifo + " is not a regular file (mode 010644): left alone"),
	          std::string::npos)
	    << fwd.out();
	EXPECT_NE(fwd.out().find(dev + " is not a regular file"), std::string::npos) << fwd.out();
	EXPECT_TRUE(exists(fifo));
	EXPECT_TRUE(exists(dev));
	EXPECT_FALSE(exists(stale)) << "the stale regular file was not removed";

	r = sh("timeout 60 " + std::string(TARN_DOCTOR) + " --file-prefix " + prefix);
	EXPECT_NE(r.code, 124) << "tarn-doctor hung on the FIFO";
	EXPECT_NE(r.out.find(fifo + ": not a regular file (mode 010644): not tarn's, left alone"),
	          std::string::npos)
	    << r.out;
	unlink(fifo.c_str());
	unlink(dev.c_str());
	EXPECT_EQ(ls(mnt), "");
	EXPECT_EQ(umount(mnt.c_str()), 0) << strerror(errno);
	rmdir(mnt.c_str());
}

// ---------------------------------------------------------------------------
// Environment variables (no root needed)

// Issue 17: "the TARN_* environment variables, given bad values, log an
// error and are then ignored while the run goes on (exit 0); the same value
// as an option is refused with exit 2". The programs now exit 2 for both,
// naming the variable.
TEST(AdvApps, BadEnvironmentVariableIsRefused)
{
	const struct {
		const char *prog, *args;
	} progs[] = { { TARN_FWD, "--duration 0.1" },
		      { TARN_DOCTOR, "" },
		      { TARN_BENCH, "--no-dpdk --seconds 0.01 --filter no-such-row ring" } };
	for (const auto &p : progs) {
		for (const char *env : { "TARN_HUGE=maybe", "TARN_LOG_LEVEL=loud", "TARN_LCORES=0-",
		                         "TARN_FILE_PREFIX=../x", "TARN_NO_TELEMETRY=maybe" }) {
			Result r = sh(std::string("env ") + env + " " + p.prog + " " + p.args);
			EXPECT_EQ(r.code, 2) << env << " " << p.prog << "\n" << r.out << r.err;
			const std::string var(env, strchr(env, '=') - env);
			EXPECT_NE(r.err.find("environment variable " + var + "='" +
			                     (strchr(env, '=') + 1) + "' refused"),
			          std::string::npos)
			    << r.err;
		}
	}
}

// ---------------------------------------------------------------------------
// tarn-fwd's stdout and --duration (no root needed)

// Hugepage files of `prefix` in any hugetlbfs mount, as "dir/name" lines.
std::string hugepage_files(const std::string &prefix)
{
	return sh("for d in $(awk '$3 == \"hugetlbfs\" {print $2}' /proc/mounts); do ls \"$d\" "
	          "2>/dev/null | grep -F '" +
	          prefix + ".tarnseg.' | sed \"s|^|$d/|\"; done")
	    .out;
}

// Issue 17: "tarn-fwd ... | head -1 dies of SIGPIPE and leaves its hugepage
// files (14 MiB) and socket until the next run with that prefix". A reader
// that goes away now ends the run like SIGTERM: stopped, mbufs checked,
// everything removed, exit 0, and a line on stderr says why.
TEST(AdvApps, BrokenStdoutEndsTheRunCleanly)
{
	for (const char *mode : { "", "--json" }) {
		const std::string prefix = prefix_for(mode[0] ? "pipej" : "pipe");
		const std::string err = "/tmp/adv-pipe-" + std::to_string(getpid()) + ".err";
		// stats every 0.1 s: the second line meets a closed pipe; no
		// --duration: only the pipe can end it (timeout: a hang fails)
		Result r = sh("timeout 120 bash -c '" + std::string(TARN_FWD) + " --file-prefix " +
		              prefix + " " + mode + " --stats-period 0.1 --duration 0 2>" + err +
		              " | head -1 >/dev/null; echo ${PIPESTATUS[0]}'");
		const std::string fwd_err = slurp(err);
		unlink(err.c_str());
		EXPECT_EQ(r.out, "0\n") << mode << ": " << r.err << fwd_err;
		EXPECT_NE(fwd_err.find("stdout was closed by its reader: stopped, cleaned up"),
		          std::string::npos)
		    << fwd_err;
		EXPECT_EQ(hugepage_files(prefix), "") << "hugepage files left behind";
		char sock[128];
		ASSERT_GT(tarn_telemetry_socket_path(prefix.c_str(), 0, sock, sizeof(sock)), 0);
		EXPECT_FALSE(exists(sock)) << "telemetry socket left behind";
		EXPECT_FALSE(exists(std::string(sock).substr(0, std::string(sock).rfind('/'))));
	}
}

// Output lost for another reason (a full disk) is a failure: exit 1.
TEST(AdvApps, StdoutOnAFullDiskIsOutputLost)
{
	const std::string prefix = prefix_for("full");
	Result r = sh(std::string(TARN_FWD) + " --file-prefix " + prefix +
	              " --stats-period 0.05 --duration 0.3 >/dev/full");
	EXPECT_EQ(r.code, 1) << r.err;
	EXPECT_NE(r.err.find("output to stdout lost"), std::string::npos) << r.err;
	EXPECT_EQ(hugepage_files(prefix), "");
}

// Issue 17: "--duration says 'a number >= 0' but its limit is 1e9; 0x2 is
// taken as 2 s". Seconds are decimal, and the message gives the range.
TEST(AdvApps, DurationIsADecimalNumberOfSeconds)
{
	for (const char *bad :
	     { "0x2", "1e3", "inf", "nan", "1000000001", "-1", ".", "", " 2", "2s", "1.5.2" }) {
		Result r = sh(std::string(TARN_FWD) + " --no-telemetry --duration '" + bad + "'");
		EXPECT_EQ(r.code, 2) << bad << ": " << r.err;
		EXPECT_NE(r.err.find("--duration '" + std::string(bad) +
		                     "': expected seconds, a decimal number from 0 to 1000000000"),
		          std::string::npos)
		    << r.err;
	}
	for (const char *bad : { "0x1", "1e-1" }) {
		Result r = sh(std::string(TARN_FWD) + " --no-telemetry --stats-period " + bad);
		EXPECT_EQ(r.code, 2) << bad << ": " << r.err;
	}
	for (const char *good : { "0.2", ".2", "0." }) {
		// "0." is 0: until a signal; the others end by themselves
		const bool until_signal = std::string(good) == "0.";
		Result r = sh(std::string("timeout ") +
		              (until_signal ? "--preserve-status -s INT 1 " : "60 ") + TARN_FWD +
		              " --file-prefix " + prefix_for("dur") +
		              " --stats-period 0 --duration " + good);
		EXPECT_EQ(r.code, 0) << good << ": " << r.err;
	}
}

} // namespace
