// SPDX-License-Identifier: BSD-3-Clause
// Helpers shared by the mem and numa suites: log capture, hugepage set-up,
// a hugetlbfs mount, grabbing every free hugepage, forked children.
#ifndef TARN_MEM_TEST_H
#define TARN_MEM_TEST_H

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include <dirent.h>
#include <fcntl.h>
#include <mntent.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <tarn/tarn_env.h>
#include <tarn/tarn_mem.h>

#include "mem_priv.h"

namespace memtest
{

// Capture log lines (level, component, message); restores stderr logging.
struct LogCapture {
	struct Line {
		int level;
		std::string comp, msg;
	};
	std::mutex lock;
	std::vector<Line> lines;
	static void fn(enum tarn_log_level level, const char *comp, const char *msg, void *arg)
	{
		auto *self = static_cast<LogCapture *>(arg);
		std::lock_guard<std::mutex> g(self->lock);
		self->lines.push_back({ (int)level, comp, msg });
	}
	LogCapture()
	{
		tarn_log_set_handler(fn, this);
	}
	~LogCapture()
	{
		tarn_log_set_handler(nullptr, nullptr);
	}
	// Lines at `level` or more severe (lower number).
	std::vector<Line> at_most(int level)
	{
		std::lock_guard<std::mutex> g(lock);
		std::vector<Line> out;
		for (auto &l : lines)
			if (l.level <= level)
				out.push_back(l);
		return out;
	}
	bool contains(const char *s)
	{
		std::lock_guard<std::mutex> g(lock);
		for (auto &l : lines)
			if (l.msg.find(s) != std::string::npos)
				return true;
		return false;
	}
	std::string all()
	{
		std::lock_guard<std::mutex> g(lock);
		std::string s;
		for (auto &l : lines)
			s += std::to_string(l.level) + " " + l.comp + ": " + l.msg + "\n";
		return s;
	}
};

static inline bool is_root()
{
	return geteuid() == 0;
}

static inline long read_long(const std::string &path)
{
	FILE *f = fopen(path.c_str(), "r");
	if (f == nullptr)
		return -1;
	long v = -1;
	if (fscanf(f, "%ld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

static inline bool write_long(const std::string &path, long v)
{
	FILE *f = fopen(path.c_str(), "w");
	if (f == nullptr)
		return false;
	bool ok = fprintf(f, "%ld\n", v) > 0;
	return fclose(f) == 0 && ok;
}

// sysfs directory of the default hugepage size on `node`.
static inline std::string huge_dir_of(int node)
{
	char buf[256];
	uint64_t sz = tarn_hugepage_default_size();
	if (sz == 0 || tarn__huge_sysfs_dir(node, sz, buf, sizeof(buf)) < 0)
		return "";
	return buf;
}

static inline long huge_free(int node = 0)
{
	std::string d = huge_dir_of(node);
	return d.empty() ? 0 : read_long(d + "/free_hugepages");
}

static inline long huge_total(int node = 0)
{
	std::string d = huge_dir_of(node);
	return d.empty() ? 0 : read_long(d + "/nr_hugepages");
}

static inline bool is_hugetlbfs(const char *dir)
{
	struct statfs sf;
	return statfs(dir, &sf) == 0 && (unsigned long)sf.f_type == 0x958458f6ul;
}

// First hugetlbfs mount of the default page size, "" if none.
static inline std::string find_hugetlbfs()
{
	char buf[TARN_PATH_SIZE];
	if (tarn__hugetlbfs_mount(tarn_hugepage_default_size(), buf, sizeof(buf)) == 0)
		return buf;
	return "";
}

// Names in `dir` that start with `prefix`.
static inline std::vector<std::string> files_with_prefix(const std::string &dir,
                                                         const std::string &prefix)
{
	std::vector<std::string> out;
	DIR *d = opendir(dir.c_str());
	if (d == nullptr)
		return out;
	while (struct dirent *e = readdir(d))
		if (strncmp(e->d_name, prefix.c_str(), prefix.size()) == 0)
			out.push_back(e->d_name);
	closedir(d);
	return out;
}

/*
 * Process-wide hugepage set-up for a suite: when root, make sure `want` free
 * default-size hugepages exist on each node in `nodes` (raising nr_hugepages,
 * restored at the end) and that a hugetlbfs mount exists (a private one is
 * mounted in /tmp if needed, unmounted at the end).
 */
class HugeEnv : public ::testing::Environment
{
      public:
	explicit HugeEnv(long want, int nodes = 1) : want_(want), nodes_(nodes)
	{
	}
	void SetUp() override
	{
		instance = this;
		if (!is_root() || tarn_hugepage_default_size() == 0)
			return;
		for (int n = 0; n < nodes_; n++) {
			std::string d = huge_dir_of(n);
			if (d.empty())
				continue;
			long total = read_long(d + "/nr_hugepages");
			long fr = read_long(d + "/free_hugepages");
			if (fr >= want_)
				continue;
			saved_.push_back({ d + "/nr_hugepages", total });
			write_long(d + "/nr_hugepages", total + (want_ - fr));
		}
		mount_ = find_hugetlbfs();
		if (mount_.empty()) {
			char tmpl[] = "/tmp/tarn-test-huge.XXXXXX";
			if (mkdtemp(tmpl) != nullptr) {
				if (mount("none", tmpl, "hugetlbfs", 0, nullptr) == 0) {
					mount_ = tmpl;
					own_mount_ = true;
				} else {
					rmdir(tmpl);
				}
			}
		}
	}
	void TearDown() override
	{
		for (auto &s : saved_)
			write_long(s.first, s.second);
		if (own_mount_) {
			umount(mount_.c_str());
			rmdir(mount_.c_str());
		}
		instance = nullptr;
	}
	// hugetlbfs mount usable by the tests, "" if none.
	static std::string mount_dir()
	{
		return instance != nullptr ? instance->mount_ : find_hugetlbfs();
	}
	static inline HugeEnv *instance = nullptr;

      private:
	long want_;
	int nodes_;
	std::vector<std::pair<std::string, long>> saved_;
	std::string mount_;
	bool own_mount_ = false;
};

// Take every free default-size hugepage of the process's reach; give them
// back on destruction.
struct HugeGrab {
	void *addr = MAP_FAILED;
	size_t len = 0;
	HugeGrab()
	{
		uint64_t page = tarn_hugepage_default_size();
		if (page == 0)
			return;
		long total_free = 0;
		for (int n = 0; n < 64; n++) {
			std::string d = huge_dir_of(n);
			if (d.empty())
				break;
			long f = read_long(d + "/free_hugepages");
			total_free += f > 0 ? f : 0;
			if (d.find("/node") == std::string::npos)
				break;
		}
		while (total_free > 0) {
			len = (size_t)total_free * page;
			addr =
			    mmap(nullptr, len, PROT_READ | PROT_WRITE,
			         MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_POPULATE, -1, 0);
			if (addr != MAP_FAILED)
				break;
			total_free--; /* someone took one meanwhile */
		}
		if (addr == MAP_FAILED)
			len = 0;
	}
	~HugeGrab()
	{
		if (addr != MAP_FAILED)
			munmap(addr, len);
	}
};

// Run `fn` in a forked child; returns its exit status (or 128+signal).
template <typename F> static inline int in_child(F fn)
{
	fflush(nullptr);
	pid_t pid = fork();
	if (pid == 0) {
		int rc = fn();
		_exit(rc);
	}
	if (pid < 0)
		return -1;
	int st = 0;
	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

// Default config for tests: quiet, given prefix.
static inline struct tarn_config test_config(const char *prefix = "tarntest")
{
	struct tarn_config cfg;
	tarn_config_init(&cfg);
	snprintf(cfg.file_prefix, sizeof(cfg.file_prefix), "%s", prefix);
	cfg.no_pin_main = 1;
	return cfg;
}

} // namespace memtest

#endif
