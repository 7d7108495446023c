// SPDX-License-Identifier: BSD-3-Clause
// Fault injection: every numbered failure point (TARN__FAULT in env_priv.h:
// mmap, mbind, populate, hugetlbfs open/ftruncate/mmap, memfd, heap
// allocation, lcore thread creation) is made to fail in turn while a program
// initialises tarn, creates an mbuf pool and two cabled ring ports, starts
// them, moves packets, and tears everything down. For each point: the
// failure is reported as an error (or absorbed by a documented fallback),
// nothing is left behind (file descriptors, tarn mappings, hugetlbfs files,
// free hugepages back to where they were), and a clean run works right
// after.
#include <gtest/gtest.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fstream>
#include <mntent.h>
#include <sched.h>
#include <string>
#include <vector>

#include "../common/proc_snapshot.h"
#include "../common/test_log.h"
#include <tarn/tarn.h>

extern "C" {
#include "env_priv.h"
}

namespace
{

const char *const kPrefix = "tarn-test-fault";

// Mappings of tarn segments: hugetlbfs files and memfds are named
// PREFIX.tarnseg.*.
unsigned count_tarn_maps()
{
	std::ifstream f("/proc/self/maps");
	std::string line;
	unsigned n = 0;
	while (std::getline(f, line))
		if (line.find(std::string(kPrefix) + ".tarnseg") != std::string::npos)
			n++;
	return n;
}

// Files of this test's prefix in every hugetlbfs mount.
std::vector<std::string> huge_files()
{
	std::vector<std::string> out;
	FILE *m = setmntent("/proc/mounts", "r");
	if (m == nullptr)
		return out;
	while (struct mntent *e = getmntent(m)) {
		if (strcmp(e->mnt_type, "hugetlbfs") != 0)
			continue;
		DIR *d = opendir(e->mnt_dir);
		if (d == nullptr)
			continue;
		while (struct dirent *f = readdir(d))
			if (strncmp(f->d_name, kPrefix, strlen(kPrefix)) == 0)
				out.push_back(std::string(e->mnt_dir) + "/" + f->d_name);
		closedir(d);
	}
	endmntent(m);
	return out;
}

// Free hugepages of every size, summed in bytes.
unsigned long long free_huge_bytes()
{
	unsigned long long total = 0;
	DIR *d = opendir("/sys/kernel/mm/hugepages");
	if (d == nullptr)
		return 0;
	while (struct dirent *e = readdir(d)) {
		unsigned long kb;
		if (sscanf(e->d_name, "hugepages-%lukB", &kb) != 1)
			continue;
		std::ifstream f(std::string("/sys/kernel/mm/hugepages/") + e->d_name +
		                "/free_hugepages");
		unsigned long long n = 0;
		f >> n;
		total += n * kb * 1024;
	}
	closedir(d);
	return total;
}

// Hugepage memory mapped by this process (HugetlbPages of /proc/self/status).
unsigned long long own_huge_kb()
{
	std::ifstream f("/proc/self/status");
	std::string line;
	while (std::getline(f, line)) {
		unsigned long long kb;
		if (sscanf(line.c_str(), "HugetlbPages: %llu kB", &kb) == 1)
			return kb;
	}
	return 0;
}

// What a run must give back. The system-wide free hugepage count is
// compared as "not lower" at the end of a walk: the suite runs alone in CI
// (is_parallel: false), but other processes may take or free hugepages
// meanwhile; this process's own hugepages (own_huge) must be 0 each time.
struct Snapshot {
	unsigned fds, maps;
	unsigned long long huge_free, own_huge;
	static Snapshot take()
	{
		return { count_fds(), count_tarn_maps(), free_huge_bytes(), own_huge_kb() };
	}
};

// Set by RequirePolicyHasNoFallback: program() checks that the memory it got
// is hugepages (every memzone, the pool's included, and this process's
// HugetlbPages), and fails with "fell back ..." when it is not.
bool g_require_huge = false;
// MiB program() reserves at init on socket 0 (--socket-mem).
uint64_t g_socket_mem_mb = 4;

void memzone_page_check(const struct tarn_memzone *mz, void *arg)
{
	auto *bad = static_cast<std::string *>(arg);
	if (mz->page_size <= 4096 && bad->empty())
		*bad = std::string("memzone ") + mz->name + " is on " +
		       std::to_string(mz->page_size) + "-byte pages";
}

// The program under test. Returns 0, or the first error with `where` set;
// every step it took is undone before it returns.
int program(std::string *where)
{
	struct tarn_config cfg;
	tarn_config_init(&cfg);
	cpu_set_t set;
	sched_getaffinity(0, sizeof(set), &set);
	int cpus[2], k = 0;
	for (int c = 0; c < CPU_SETSIZE && k < 2; c++)
		if (CPU_ISSET(c, &set))
			cpus[k++] = c;
	if (k == 2) // a worker lcore: its thread creation is a point too
		snprintf(cfg.lcores, sizeof(cfg.lcores), "%d,%d", cpus[0], cpus[1]);
	else
		snprintf(cfg.lcores, sizeof(cfg.lcores), "%d", cpus[0]);
	cfg.no_pin_main = 1;
	snprintf(cfg.file_prefix, sizeof(cfg.file_prefix), "%s", kPrefix);
	cfg.socket_mem_mb[0] = g_socket_mem_mb; // a segment at init

	int rc = tarn_init(&cfg);
	if (rc < 0) {
		*where = "tarn_init";
		return rc;
	}
	uint16_t ports[2];
	int nports = 0;
	struct tarn_mempool *mp = tarn_pktmbuf_pool_create(
	    "fault_pool", 2048, 32, 0, TARN_MBUF_DEFAULT_BUF_SIZE, TARN_SOCKET_ANY);
	if (mp == nullptr) {
		*where = "pool create";
		rc = -(int)tarn_errno;
		goto out;
	}
	{
		// A debug pool: its owner records are one more step for
		// tarn_mempool_create_params() to unwind.
		struct tarn_mempool *dbg =
		    tarn_mempool_create("fault_dbg", 64, 64, 0, 0, nullptr, nullptr,
		                        TARN_SOCKET_ANY, TARN_MEMPOOL_F_DEBUG);
		if (dbg == nullptr) {
			*where = "debug pool create";
			rc = -(int)tarn_errno;
			goto out;
		}
		if ((rc = tarn_mempool_free(dbg, 0)) < 0) {
			*where = "debug pool free";
			goto out;
		}
	}
	if (g_require_huge) {
		std::string bad;
		tarn_memzone_walk(memzone_page_check, &bad);
		if (bad.empty() && own_huge_kb() == 0)
			bad = "no hugepage mapped (HugetlbPages 0)";
		if (!bad.empty()) {
			*where = "fell back to normal pages under --huge require: " + bad;
			rc = -EPROTO;
			goto out;
		}
	}
	for (const char *spec : { "ring:name=f0", "ring:name=f1,peer=f0" }) {
		rc = tarn_eth_dev_create(spec, &ports[nports]);
		if (rc < 0) {
			*where = std::string("port create ") + spec;
			goto out;
		}
		nports++;
	}
	for (int i = 0; i < 2; i++) {
		if ((rc = tarn_eth_dev_configure(ports[i], 1, 1, nullptr)) < 0 ||
		    (rc = tarn_eth_rx_queue_setup(ports[i], 0, 512, TARN_SOCKET_ANY, mp)) < 0 ||
		    (rc = tarn_eth_tx_queue_setup(ports[i], 0, 512, TARN_SOCKET_ANY)) < 0 ||
		    (rc = tarn_eth_dev_start(ports[i])) < 0) {
			*where = "port " + std::to_string(i) + " setup";
			goto out;
		}
	}
	{
		struct tarn_mbuf *m[32];
		if (tarn_pktmbuf_alloc_bulk(mp, m, 32) < 0) {
			*where = "alloc";
			rc = -ENOBUFS;
			goto out;
		}
		for (auto *b : m)
			tarn_pktmbuf_append(b, 64);
		uint16_t sent = tarn_eth_tx_burst(ports[0], 0, m, 32);
		tarn_pktmbuf_free_bulk(m + sent, 32 - sent);
		uint16_t got = tarn_eth_rx_burst(ports[1], 0, m, 32);
		tarn_pktmbuf_free_bulk(m, got);
		if (sent != 32 || got != 32) {
			*where = "forwarding";
			rc = -EIO;
		}
	}
out:
	for (int i = nports - 1; i >= 0; i--)
		tarn_eth_dev_close(ports[i]);
	if (mp != nullptr && tarn_mempool_free(mp, 0) < 0) {
		*where = "pool free (mbufs still out)";
		rc = -EBUSY;
		tarn_mempool_free(mp, TARN_MEMPOOL_FREE_FORCE);
	}
	int crc = tarn_cleanup();
	if (rc == 0 && crc < 0) {
		*where = "tarn_cleanup";
		rc = crc;
	}
	return rc;
}

class Fault : public ::testing::Test
{
      protected:
	void SetUp() override
	{
		tarn_log_set_handler(TestLog::fn, nullptr);
	}
	void TearDown() override
	{
		tarn__fault_arm(0);
		tarn_log_set_handler(nullptr, nullptr);
	}
};

TEST_F(Fault, CleanRunCountsThePoints)
{
	Snapshot before = Snapshot::take();
	tarn__fault_arm(0);
	std::string where;
	ASSERT_EQ(program(&where), 0) << where << "\n" << TestLog::all();
	EXPECT_GT(tarn__fault_points(), 5u);
	EXPECT_EQ(tarn__fault_fired(), nullptr);
	Snapshot after = Snapshot::take();
	EXPECT_EQ(after.fds, before.fds);
	EXPECT_EQ(after.maps, 0u);
	EXPECT_GE(after.huge_free, before.huge_free);
	EXPECT_EQ(after.own_huge, 0u);
	EXPECT_TRUE(huge_files().empty());
	RecordProperty("fault_points", (int)tarn__fault_points());
}

// Checks after a run that had faults injected: the failure (if any) was
// reported, nothing was left behind, and a clean run works right after.
struct Walk {
	Snapshot base = Snapshot::take();
	unsigned runs = 0, failed = 0, absorbed = 0;

	// One run with points n (and m, if not 0) failing. Returns whether the
	// run succeeded (the failures were absorbed) and sets *points to the
	// number of points it reached.
	bool run(uint64_t n, uint64_t m, uint64_t *points, bool verbose)
	{
		std::string label = "point " + std::to_string(n);
		if (m != 0)
			label += " then " + std::to_string(m);
		SCOPED_TRACE(label);
		TestLog::clear();
		tarn__fault_arm2(n, m);
		std::string where;
		int rc = program(&where);
		const char *site = tarn__fault_fired();
		unsigned fired = tarn__fault_fired_count();
		*points = tarn__fault_points();
		tarn__fault_arm(0);
		runs++;
		EXPECT_NE(site, nullptr) << label << " was not reached";
		if (site == nullptr)
			return false;
		if (m != 0 && fired < 2)
			return false; // the second point is past the end: nothing new
		if (verbose)
			printf("  %-18s %-20s %s%s\n", label.c_str(), site,
			       rc < 0 ? "error at " : "absorbed", rc < 0 ? where.c_str() : "");
		if (rc < 0) {
			failed++;
			EXPECT_FALSE(TestLog::all().empty())
			    << site << " failed " << where << " without a log line";
		} else {
			absorbed++;
		}
		EXPECT_FALSE(tarn_initialized()) << site;
		Snapshot now = Snapshot::take();
		EXPECT_EQ(now.fds, base.fds)
		    << site << " (" << where << "): file descriptors leaked";
		EXPECT_EQ(now.maps, 0u) << site << " (" << where << "): tarn mappings left";
		EXPECT_EQ(now.own_huge, 0u) << site << " (" << where << "): hugepages still mapped";
		EXPECT_TRUE(huge_files().empty()) << site << ": hugetlbfs files left";
		std::string w2;
		EXPECT_EQ(program(&w2), 0) << "after " << site << ": " << w2 << "\n"
		                           << TestLog::all();
		return rc == 0;
	}
};

TEST_F(Fault, EveryPointFailsCleanly)
{
	// Count the points of a clean run, then fail each one in turn. Where a
	// failure is absorbed (a fallback: the next hugepage backend, the
	// uncached path), the fallback's own points are walked too.
	tarn__fault_arm(0);
	std::string where;
	ASSERT_EQ(program(&where), 0) << where;
	const uint64_t points = tarn__fault_points();
	ASSERT_GT(points, 0u);
	Walk w;
	unsigned second = 0;
	for (uint64_t n = 1; n <= points; n++) {
		uint64_t reached = 0;
		bool absorbed = w.run(n, 0, &reached, true);
		if (::testing::Test::HasFatalFailure())
			return;
		if (!absorbed)
			continue;
		for (uint64_t m = n + 1; m <= reached; m++) {
			uint64_t r2;
			w.run(n, m, &r2, false);
			second++;
		}
	}
	// System-wide, once at the end (per step, own_huge, the files and the
	// descriptors are exact; this count also moves with other processes).
	EXPECT_GE(free_huge_bytes(), w.base.huge_free) << "hugepages not given back";
	RecordProperty("fault_points", (int)points);
	RecordProperty("runs", (int)w.runs);
	printf("walked %llu fault points of a clean run and %u second failures on the "
	       "fallback paths: %u runs, %u failed with an error, %u absorbed\n",
	       (unsigned long long)points, second, w.runs, w.failed, w.absorbed);
}

// Under --huge require there is no fallback to normal pages: a failure of
// the hugepage backends (after the next hugepage backend was tried) is an
// error of tarn_init, and it leaves nothing behind either.
TEST_F(Fault, RequirePolicyHasNoFallback)
{
	const uint64_t page = tarn_hugepage_default_size();
	if (page == 0)
		GTEST_SKIP() << "the kernel offers no hugepages";
	if (free_huge_bytes() < (8ull << 20))
		GTEST_SKIP() << "needs 8 MiB of free hugepages (scripts/hugepages.sh)";
	setenv("TARN_HUGE", "require", 1);
	g_require_huge = true;
	struct Restore {
		~Restore()
		{
			g_require_huge = false;
			g_socket_mem_mb = 4;
			unsetenv("TARN_HUGE");
		}
	} restore;
	Snapshot base = Snapshot::take();

	// More than node 0 has free (with room for others freeing some
	// meanwhile): refused up front, where --huge prefer would use normal
	// pages; nothing is taken.
	{
		struct tarn_hugepage_info info[16];
		const int n = tarn_hugepage_info_get(info, 16);
		uint64_t free_pages = 0;
		for (int i = 0; i < n && i < 16; i++)
			if (info[i].node == 0 && info[i].page_size == page)
				free_pages = info[i].free;
		g_socket_mem_mb = ((free_pages + 64) * page) >> 20;
		TestLog::clear();
		std::string where;
		EXPECT_EQ(program(&where), -ENOMEM) << where << "\n" << TestLog::all();
		EXPECT_EQ(where, "tarn_init");
		EXPECT_TRUE(TestLog::contains("not enough hugepages")) << TestLog::all();
		EXPECT_FALSE(TestLog::contains("normal pages")) << TestLog::all();
		EXPECT_EQ(own_huge_kb(), 0u);
		EXPECT_TRUE(huge_files().empty());
		g_socket_mem_mb = 4;
	}

	// Every point, and every second point on the path a first failure
	// took (the next hugepage backend): each run either fails in
	// tarn_init or the pool's create, or gets hugepages (program() checks
	// every memzone and HugetlbPages): never normal pages.
	tarn__fault_arm(0);
	std::string where;
	int rc = program(&where);
	const uint64_t points = tarn__fault_points();
	ASSERT_EQ(rc, 0) << "a clean run under --huge require, with hugepages free: " << where
	                 << "\n"
	                 << TestLog::all();
	unsigned errors = 0, absorbed = 0, runs = 0;
	auto one = [&](uint64_t n, uint64_t m, uint64_t *reached) {
		tarn__fault_arm2(n, m);
		where.clear();
		rc = program(&where);
		const char *site = tarn__fault_fired();
		*reached = tarn__fault_points();
		tarn__fault_arm(0);
		runs++;
		const std::string label = std::to_string(n) +
		                          (m ? " then " + std::to_string(m) : "") + " (" +
		                          (site ? site : "not reached") + ")";
		EXPECT_EQ(where.find("fell back"), std::string::npos) << label << ": " << where;
		if (site != nullptr && rc < 0 && (where == "tarn_init" || where == "pool create"))
			errors++;
		else if (site != nullptr && rc == 0)
			absorbed++;
		Snapshot now = Snapshot::take();
		EXPECT_EQ(now.fds, base.fds) << label;
		EXPECT_EQ(now.own_huge, 0u) << label;
		EXPECT_TRUE(huge_files().empty()) << label;
		return rc == 0 && site != nullptr;
	};
	for (uint64_t n = 1; n <= points; n++) {
		uint64_t reached = 0;
		if (!one(n, 0, &reached))
			continue;
		for (uint64_t m = n + 1; m <= reached; m++) {
			uint64_t r2;
			one(n, m, &r2);
		}
		if (::testing::Test::HasFailure())
			break;
	}
	EXPECT_GT(errors, 0u) << "no point failed tarn_init or the pool's create";
	EXPECT_GT(absorbed, 0u) << "no failure was absorbed by the next hugepage backend";
	RecordProperty("runs", (int)runs);
	RecordProperty("errors", (int)errors);
	RecordProperty("absorbed", (int)absorbed);
}

} // namespace
