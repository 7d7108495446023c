// SPDX-License-Identifier: BSD-3-Clause
// tarn-doctor's memory advice, on this machine's real memory, hugepages
// and mounts: a fix is printed only when it can work (memory the node has,
// a page size the kernel offers, a mount point nothing is mounted on),
// otherwise the doctor says what cannot be done; it does not run a trial
// that cannot fit in memory, and announces the one it runs.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "../common/child.h"

namespace
{

struct Doctor {
	int code;
	std::string out;
};

Doctor doctor(const std::string &args)
{
	Doctor d{ -1, "" };
	// Its own file prefix and no telemetry socket: a trial leaves nothing.
	d.code = run_capture(std::string(TARN_DOCTOR) +
	                         " --no-telemetry --file-prefix tarn-doctor-test-" +
	                         std::to_string(getpid()) + " " + args + " 2>&1",
	                     &d.out);
	return d;
}

bool has(const std::string &s, const std::string &what)
{
	return s.find(what) != std::string::npos;
}

long read_long(const std::string &path)
{
	std::ifstream f(path);
	long v = -1;
	f >> v;
	return f ? v : -1;
}

std::string huge_dir(const std::string &size_kb)
{
	std::string d = "/sys/devices/system/node/node0/hugepages/hugepages-" + size_kb + "kB";
	struct stat st;
	if (stat(d.c_str(), &st) == 0)
		return d;
	return "/sys/kernel/mm/hugepages/hugepages-" + size_kb + "kB";
}

// What is mounted on `dir` ("" for nothing), from /proc/mounts: "type opts".
std::string mounted_on(const std::string &dir)
{
	std::ifstream f("/proc/mounts");
	std::string dev, mnt, type, opts, rest;
	while (f >> dev >> mnt >> type >> opts) {
		std::getline(f, rest);
		if (mnt == dir)
			return type + " " + opts;
	}
	return "";
}

bool any_hugetlbfs_of(const std::string &pagesize)
{
	std::ifstream f("/proc/mounts");
	std::string line;
	while (std::getline(f, line))
		if (has(line, " hugetlbfs ") && has(line, "pagesize=" + pagesize))
			return true;
	return false;
}

} // namespace

TEST(Doctor, MoreMemoryThanTheMachineHasGetsNoFixAndNoTrial)
{
	// 95 TiB: no machine this runs on has it. Without --no-trial: the
	// doctor must not try (it would fail, or wake the OOM killer).
	Doctor d = doctor("--socket-mem 99999999");
	EXPECT_EQ(d.code, 1) << d.out;
	EXPECT_TRUE(has(d.out, "trial tarn_init(): not run")) << d.out;
	EXPECT_TRUE(has(d.out, "cannot be reserved, in hugepages or not")) << d.out;
	EXPECT_TRUE(has(d.out, "Ask for at most about")) << d.out;
	EXPECT_FALSE(has(d.out, "fix: echo")) << "a fix that cannot work: " << d.out;
	EXPECT_TRUE(has(d.out, "verdict: tarn CANNOT start as asked")) << d.out;
}

TEST(Doctor, MoreMemoryThanTheMachineHasWithoutHugepages)
{
	Doctor d = doctor("--huge none --socket-mem 99999999");
	EXPECT_EQ(d.code, 1) << d.out;
	EXPECT_TRUE(has(d.out, "trial tarn_init(): not run")) << d.out;
	EXPECT_TRUE(has(d.out, "in normal pages: node 0 has")) << d.out;
	// (stale hugepage files of other processes may bring fixes of their own)
	EXPECT_FALSE(has(d.out, "fix: echo")) << d.out;
	EXPECT_FALSE(has(d.out, "fix: mkdir")) << d.out;
}

TEST(Doctor, PageSizeTheKernelDoesNotOfferIsAnErrorWithoutMountOrPoolFix)
{
	struct stat st;
	if (stat(huge_dir("16384").c_str(), &st) == 0)
		GTEST_SKIP() << "this kernel offers 16 MiB hugepages";
	Doctor d = doctor("--huge-size 16M --socket-mem 64 --no-trial");
	EXPECT_EQ(d.code, 1) << d.out;
	EXPECT_TRUE(has(d.out, "[error] --huge-size 16M: the kernel offers no such hugepages"))
	    << d.out;
	EXPECT_TRUE(has(d.out, "fix: --huge-size with a size offered here (")) << d.out;
	EXPECT_FALSE(has(d.out, "mount -t hugetlbfs")) << d.out;
	EXPECT_FALSE(has(d.out, "nr_hugepages")) << d.out;
}

TEST(Doctor, MountFixNeverGoesOverAnotherMount)
{
	struct stat st;
	if (stat(huge_dir("1048576").c_str(), &st) != 0)
		GTEST_SKIP() << "this machine offers no 1 GiB hugepages";
	if (any_hugetlbfs_of("1024M") || any_hugetlbfs_of("1G"))
		GTEST_SKIP() << "a hugetlbfs of 1 GiB pages is mounted already: no mount to advise";
	std::string on_dev = mounted_on("/dev/hugepages");
	if (on_dev.empty())
		GTEST_SKIP() << "nothing is mounted on /dev/hugepages: it is the right place";
	Doctor d = doctor("--huge-size 1G --no-trial");
	EXPECT_TRUE(has(d.out, "no writable hugetlbfs mount for 1048576 kB pages")) << d.out;
	EXPECT_TRUE(has(d.out, "mount -t hugetlbfs -o pagesize=1G none /dev/hugepages-1G"))
	    << d.out;
	EXPECT_FALSE(has(d.out, "none /dev/hugepages\n")) << "over " << on_dev << ": " << d.out;
	EXPECT_FALSE(has(d.out, "none /dev/hugepages ")) << "over " << on_dev << ": " << d.out;

	// --huge-dir on that other mount: an error, and a fix elsewhere.
	d = doctor("--huge-size 1G --huge-dir /dev/hugepages --no-trial");
	EXPECT_EQ(d.code, 1) << d.out;
	EXPECT_TRUE(has(d.out, "--huge-dir /dev/hugepages is a mount of another page size"))
	    << d.out;
	EXPECT_TRUE(has(d.out, "--huge-dir /dev/hugepages-1G")) << d.out;
}

TEST(Doctor, ShortHugepagesThatFitGetTheCountThatWorks)
{
	const std::string dir = huge_dir("2048");
	long fr = read_long(dir + "/free_hugepages"), total = read_long(dir + "/nr_hugepages");
	if (fr < 0 || total < 0)
		GTEST_SKIP() << "no 2 MiB hugepages on this machine";
	if (read_long("/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages") < 0)
		GTEST_SKIP() << "no 2 MiB hugepages";
	// One page more than node 0 has free: 2 MiB of memory, which it has.
	long mb = (fr + 1) * 2;
	Doctor d = doctor("--huge-size 2M --socket-mem " + std::to_string(mb) + " --no-trial");
	// Another process may take or give back pages meanwhile: read again.
	long fr2 = read_long(dir + "/free_hugepages"), total2 = read_long(dir + "/nr_hugepages");
	if (fr2 != fr || total2 != total)
		GTEST_SKIP() << "the hugepage counts moved during the run";
	EXPECT_EQ(d.code, 0) << d.out;
	EXPECT_TRUE(has(d.out, "fix: echo " + std::to_string(total + 1) + " > " + dir +
	                           "/nr_hugepages   (takes 2 MiB of the"))
	    << d.out;
	EXPECT_TRUE(has(d.out, "(tarn falls back to normal pages, not hugepages)")) << d.out;
}

TEST(Doctor, TrialSaysWhatItReservesBeforeDoingIt)
{
	Doctor d = doctor("--huge none --socket-mem 16");
	EXPECT_EQ(d.code, 0) << d.out;
	size_t said =
	    d.out.find("trial: tarn_init() now reserves and touches 16 MiB (--socket-mem)");
	size_t done = d.out.find("trial tarn_init(): OK");
	ASSERT_NE(said, std::string::npos) << d.out;
	ASSERT_NE(done, std::string::npos) << d.out;
	EXPECT_LT(said, done) << d.out;

	d = doctor("--huge none --socket-mem 16 --no-trial");
	EXPECT_EQ(d.code, 0) << d.out;
	EXPECT_FALSE(has(d.out, "trial")) << d.out;
}
