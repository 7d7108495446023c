// SPDX-License-Identifier: BSD-3-Clause
// Shared by the suites that need a second user (another user's files,
// sockets and locks; a program run as an unprivileged user): a system user
// made for one test run with useradd and removed after with userdel, named
// <tag><pid of the test>, and the command prefix that runs a program as it.
// Needs root; a suite skips with a message when it is not root.
#ifndef TARN_TEST_USER_H
#define TARN_TEST_USER_H

#include <pwd.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

struct TestUser {
	std::string name;
	uid_t uid = (uid_t)-1;
	gid_t gid = (gid_t)-1;

	bool ok() const
	{
		return uid != (uid_t)-1;
	}

	// useradd, retried while another process holds the passwd lock
	// (useradd's exit 10, or 1 for "cannot open"). Empty, or what failed.
	std::string create(const std::string &user)
	{
		name = user;
		const std::string cmd = "useradd -r -M -N -s /usr/sbin/nologin -c 'tarn test user, "
		                        "pid " +
		                        std::to_string(getpid()) + "' " + user + " 2>&1";
		std::string out;
		for (int tries = 0; tries < 50; tries++) {
			out.clear();
			FILE *p = popen(cmd.c_str(), "r");
			if (p == nullptr)
				return "popen: " + std::string(strerror(errno));
			char buf[512];
			size_t n;
			while ((n = fread(buf, 1, sizeof(buf), p)) > 0)
				out.append(buf, n);
			int st = pclose(p);
			int code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
			if (code == 0)
				break;
			if (code != 10 && code != 1)
				return cmd + ": exit " + std::to_string(code) + ": " + out;
			std::this_thread::sleep_for(std::chrono::milliseconds(200));
		}
		struct passwd *pw = getpwnam(user.c_str());
		if (pw == nullptr)
			return "useradd " + user + " made no passwd entry: " + out;
		uid = pw->pw_uid;
		gid = pw->pw_gid;
		return "";
	}

	// userdel, retried like useradd. Safe to call twice.
	void remove()
	{
		if (!ok())
			return;
		remove_named(name);
		uid = (uid_t)-1;
	}

	static void remove_named(const std::string &user)
	{
		const std::string cmd = "userdel " + user + " >/dev/null 2>&1";
		for (int tries = 0; tries < 50; tries++) {
			int st = system(cmd.c_str());
			int code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
			if (code == 0 || code == 6) // 6: no such user
				return;
			std::this_thread::sleep_for(std::chrono::milliseconds(200));
		}
	}

	// Users <tag><pid> left by a run that died before removing them (its
	// pid is gone): removed.
	static void remove_stale(const std::string &tag)
	{
		std::vector<std::string> stale;
		setpwent();
		for (struct passwd *pw = getpwent(); pw != nullptr; pw = getpwent()) {
			std::string n = pw->pw_name;
			if (n.compare(0, tag.size(), tag) != 0 || n.size() == tag.size())
				continue;
			const std::string digits = n.substr(tag.size());
			if (digits.find_first_not_of("0123456789") != std::string::npos)
				continue;
			long pid = strtol(digits.c_str(), nullptr, 10);
			if (pid > 0 && pid != (long)getpid() && kill((pid_t)pid, 0) != 0 &&
			    errno == ESRCH)
				stale.push_back(n);
		}
		endpwent();
		for (auto &n : stale)
			remove_named(n);
	}

	// TARN_TEST_RUN=<token> when the test command set one (scripts/test.sh:
	// its leftover check knows a run's processes by it, so what runs as a
	// test user in a clean environment must keep it), else "". The token
	// is test.sh's own "test.sh-<pid>-<seconds>": nothing a shell expands.
	static std::string run_token()
	{
		const char *v = getenv("TARN_TEST_RUN");
		if (v == nullptr || *v == '\0' ||
		    std::string(v).find_first_not_of(
		        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		        "0123456789.-_") != std::string::npos)
			return "";
		return std::string("TARN_TEST_RUN=") + v;
	}

	// "setpriv ... env -i PATH=... [TARN_TEST_RUN=...] <env>": the start of
	// a shell command that runs what follows as this user, with no
	// supplementary group, in a clean environment plus `env` ("A=1 B=2").
	std::string as(const std::string &env = "") const
	{
		return "setpriv --reuid=" + std::to_string(uid) +
		       " --regid=" + std::to_string(gid) +
		       " --clear-groups -- env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin " +
		       run_token() + " " + env + " ";
	}

	// argv for execv() of the same.
	std::vector<std::string> as_argv(const std::vector<std::string> &env) const
	{
		std::vector<std::string> a = { "/usr/bin/setpriv",
			                       "--reuid=" + std::to_string(uid),
			                       "--regid=" + std::to_string(gid),
			                       "--clear-groups",
			                       "--",
			                       "/usr/bin/env",
			                       "-i",
			                       "PATH=/usr/sbin:/usr/bin:/sbin:/bin" };
		if (!run_token().empty())
			a.push_back(run_token());
		a.insert(a.end(), env.begin(), env.end());
		return a;
	}
};

#endif
