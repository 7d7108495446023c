// SPDX-License-Identifier: BSD-3-Clause
// Shared by the suites that need root, network namespaces, veth pairs or
// /dev/net/tun: when a test cannot get what it needs, it skips only for what
// this machine cannot do (not root, no CAP_NET_ADMIN, a kernel without the
// feature), saying which; as root on a machine that has the feature, a setup
// that fails is a broken environment and the test fails
// (NEED_OR_FAIL below). scripts/netns-run.sh applies the same rule to the
// namespace and veth pairs it makes (TARN_NETNS_SKIP / TARN_NETNS_ERROR).
#ifndef TARN_TEST_NEED_H
#define TARN_TEST_NEED_H

#include <sys/utsname.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

namespace need
{

inline std::string getenv_str(const char *name)
{
	const char *v = getenv(name);
	return v != nullptr ? v : "";
}

// Does the calling process have capability `cap` in its effective set?
inline bool has_cap(unsigned cap)
{
	std::ifstream f("/proc/self/status");
	std::string line;
	while (std::getline(f, line)) {
		unsigned long long eff;
		if (sscanf(line.c_str(), "CapEff: %llx", &eff) == 1)
			return (eff >> cap) & 1;
	}
	return false;
}

inline bool file_has(const std::string &path, const std::string &what)
{
	std::ifstream f(path);
	std::string line;
	while (std::getline(f, line))
		if (line.find(what) != std::string::npos)
			return true;
	return false;
}

// Can this kernel have driver `name`: loaded (/sys/module, or `symbol`, one
// of its functions, in /proc/kallsyms: a built-in driver without parameters
// has no /sys/module entry), or installed as a module for this kernel?
inline bool kernel_has_module(const std::string &name, const std::string &symbol)
{
	if (access(("/sys/module/" + name).c_str(), F_OK) == 0)
		return true;
	{
		std::ifstream f("/proc/kallsyms");
		std::string line;
		const std::string tail = " " + symbol;
		while (std::getline(f, line))
			if (line.size() > tail.size() &&
			    line.compare(line.size() - tail.size(), tail.size(), tail) == 0)
				return true;
	}
	struct utsname u;
	if (uname(&u) != 0)
		return false;
	const std::string dir = std::string("/lib/modules/") + u.release;
	return file_has(dir + "/modules.builtin", "/" + name + ".ko") ||
	       file_has(dir + "/modules.dep", "/" + name + ".ko");
}

constexpr unsigned kCapNetAdmin = 12;
constexpr unsigned kCapNetRaw = 13;

// Why this machine cannot make network namespaces for the test, or "" when
// it can (root with CAP_NET_ADMIN, a kernel with network namespaces).
inline std::string machine_cannot_netns()
{
	if (geteuid() != 0)
		return "needs root (CAP_NET_ADMIN) for network namespaces";
	if (!has_cap(kCapNetAdmin))
		return "root without CAP_NET_ADMIN (a container without it?)";
	if (access("/proc/self/ns/net", F_OK) != 0)
		return "the kernel has no network namespaces (CONFIG_NET_NS)";
	return "";
}

// The same for veth pairs (network namespaces, and the veth driver).
inline std::string machine_cannot_veth()
{
	std::string why = machine_cannot_netns();
	if (why.empty() && !kernel_has_module("veth", "veth_newlink"))
		why = "the kernel has no veth driver (CONFIG_VETH)";
	return why;
}

// The same for TAP interfaces (root, CAP_NET_ADMIN, the tun driver).
inline std::string machine_cannot_tun()
{
	if (geteuid() != 0)
		return "needs root (CAP_NET_ADMIN) to create tap interfaces";
	if (!has_cap(kCapNetAdmin))
		return "root without CAP_NET_ADMIN (a container without it?)";
	if (access("/sys/class/misc/tun", F_OK) != 0 && !kernel_has_module("tun", "tun_chr_open"))
		return "the kernel has no tun driver (CONFIG_TUN)";
	return "";
}

} // namespace need

// Stop the test: skipped with the reason when `cannot` (what the machine
// cannot do, from need::machine_cannot_*()) is not empty, else failed with
// `why`: the machine can, so the environment is broken.
#define NEED_OR_FAIL(cannot, why)                                                                  \
	do {                                                                                       \
		const std::string cannot__ = (cannot);                                             \
		if (!cannot__.empty())                                                             \
			GTEST_SKIP() << cannot__;                                                  \
		FAIL() << (why) << " (root on a machine that can do this: a broken environment, "  \
		       << "not a skip)";                                                           \
	} while (0)

// The veth pairs of scripts/netns-run.sh (TARN_VETH0, TARN_NETNS): present,
// or the test skips with the script's reason (TARN_NETNS_SKIP: what the
// machine cannot do) or fails with it (TARN_NETNS_ERROR: root, and the
// machine can). Run directly rather than through the script, it skips.
#define NEED_NETNS_RUN()                                                                           \
	do {                                                                                       \
		const std::string err__ = need::getenv_str("TARN_NETNS_ERROR");                    \
		if (!err__.empty())                                                                \
			FAIL() << err__;                                                           \
		if (need::getenv_str("TARN_VETH0").empty() ||                                      \
		    need::getenv_str("TARN_NETNS").empty()) {                                      \
			std::string why__ = need::getenv_str("TARN_NETNS_SKIP");                   \
			GTEST_SKIP() << (why__.empty() ? "no veth pair: run through "              \
			                                 "scripts/netns-run.sh (meson test does)"  \
			                               : why__);                                   \
		}                                                                                  \
	} while (0)

#endif
