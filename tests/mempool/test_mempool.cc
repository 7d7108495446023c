// SPDX-License-Identifier: BSD-3-Clause
// mempool unit tests: every call, every error, the cache policy, the
// reserve, the stores, debug mode, statistics, thread exit.
#include "mempool_test.h"

#include <tarn/tarn_ring.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

static uint32_t worker_id = TARN_LCORE_ID_ANY;

void mp_test_init()
{
	struct tarn_config cfg;
	ASSERT_EQ(tarn_config_init(&cfg), 0);
	cpu_set_t set;
	ASSERT_EQ(sched_getaffinity(0, sizeof(set), &set), 0);
	int cpus[2], k = 0;
	for (int c = 0; c < CPU_SETSIZE && c < TARN_MAX_LCORES && k < 2; c++)
		if (CPU_ISSET(c, &set))
			cpus[k++] = c;
	ASSERT_GE(k, 1);
	if (k == 2)
		snprintf(cfg.lcores, sizeof(cfg.lcores), "%d,%d", cpus[0], cpus[1]);
	else
		snprintf(cfg.lcores, sizeof(cfg.lcores), "%d", cpus[0]);
	cfg.no_pin_main = 1;
	snprintf(cfg.file_prefix, sizeof(cfg.file_prefix), "tarn-test-mempool");
	ASSERT_EQ(tarn_init(&cfg), 0);
	worker_id = tarn_lcore_next(TARN_LCORE_ID_ANY, 1);
}

uint32_t mp_test_worker()
{
	return worker_id;
}

bool mp_my_stats(struct tarn_mempool *mp, struct tarn_mempool_thread_stats *out)
{
	struct tarn_mempool_thread_stats ts[TARN_MEMPOOL_MAX_THREADS];
	int k = tarn_mempool_thread_stats(mp, ts, TARN_MEMPOOL_MAX_THREADS);
	pid_t me = (pid_t)syscall(SYS_gettid);
	for (int i = 0; i < k && i < TARN_MEMPOOL_MAX_THREADS; i++) {
		if (ts[i].tid == me) {
			*out = ts[i];
			return true;
		}
	}
	return false;
}

namespace
{

class MempoolEnv : public ::testing::Environment
{
      public:
	void SetUp() override
	{
		tarn_log_set_handler(MpLog::fn, nullptr);
		mp_test_init();
	}
	void TearDown() override
	{
		EXPECT_EQ(tarn_cleanup(), 0);
		tarn_log_set_handler(nullptr, nullptr);
	}
};

::testing::Environment *const mp_env = ::testing::AddGlobalTestEnvironment(new MempoolEnv);

struct tarn_mempool_params params(const char *name, unsigned n, unsigned elt, unsigned cache)
{
	struct tarn_mempool_params p;
	tarn_mempool_params_init(&p);
	p.name = name;
	p.n = n;
	p.elt_size = elt;
	p.cache_size = cache;
	return p;
}

// create_params must fail with `err`.
void expect_create_fails(const struct tarn_mempool_params &p, int err)
{
	tarn_errno = 0;
	struct tarn_mempool *mp = tarn_mempool_create_params(&p);
	EXPECT_EQ(mp, nullptr);
	EXPECT_EQ(tarn_errno, err) << tarn_strerror(tarn_errno);
	if (mp != nullptr)
		tarn_mempool_free(mp, TARN_MEMPOOL_FREE_FORCE);
}

unsigned store_count(struct tarn_mempool *mp)
{
	struct tarn_mempool_stats st;
	EXPECT_EQ(tarn_mempool_stats(mp, &st), 0);
	return tarn_mempool_avail_count(mp) - (unsigned)st.cached;
}

// ---------------------------------------------------------------------------
// creation and its errors

TEST(MempoolCreate, ParamsInit)
{
	struct tarn_mempool_params p;
	memset(&p, 0xab, sizeof(p));
	EXPECT_EQ(tarn_mempool_params_init(&p), 0);
	EXPECT_EQ(p.name, nullptr);
	EXPECT_EQ(p.n, 0u);
	EXPECT_EQ(p.socket, TARN_SOCKET_ANY);
	EXPECT_EQ(p.ops_name, nullptr);
	EXPECT_EQ(p.reserve, 0u);
	EXPECT_EQ(tarn_mempool_params_init(nullptr), -EINVAL);
}

TEST(MempoolCreate, Errors)
{
	MpLog::clear();
	tarn_errno = 0;
	EXPECT_EQ(tarn_mempool_create_params(nullptr), nullptr);
	EXPECT_EQ(tarn_errno, EINVAL);

	auto p = params("err", 64, 32, 0);
	p.name = nullptr;
	expect_create_fails(p, EINVAL);
	p.name = "";
	expect_create_fails(p, EINVAL);
	p.name = "a-name-that-is-far-too-long-for-a-pool";
	expect_create_fails(p, ENAMETOOLONG);
	p = params("err", 0, 32, 0);
	expect_create_fails(p, EINVAL);
	EXPECT_TRUE(MpLog::contains("n must be"));
	p = params("err", TARN_MEMPOOL_MAX_OBJS + 1, 32, 0);
	expect_create_fails(p, EINVAL);
	p = params("err", 64, 0, 0);
	expect_create_fails(p, EINVAL);
	p = params("err", 64, TARN_MEMPOOL_MAX_ELT_SIZE + 1, 0);
	expect_create_fails(p, EINVAL);
	p = params("err", 1024, 32, TARN_MEMPOOL_CACHE_MAX + 1);
	expect_create_fails(p, EINVAL);
	p = params("err", 16, 32, 32);
	expect_create_fails(p, EINVAL);
	p = params("err", 64, 32, 0);
	p.priv_size = TARN_MEMPOOL_MAX_PRIV_SIZE + 1;
	expect_create_fails(p, EINVAL);
	p = params("err", 64, 32, 0);
	p.reserve = 65;
	expect_create_fails(p, EINVAL);
	p = params("err", 64, 32, 0);
	p.flags = 0x8000;
	expect_create_fails(p, EINVAL);
	p = params("err", 64, 32, 0);
	p.socket = 99;
	expect_create_fails(p, EINVAL);
	p = params("err", 64, 32, 0);
	p.ops_name = "no-such-ops";
	expect_create_fails(p, ENOENT);
	p = params("err", 64, 32, 0);
	p.ops_name = "";
	expect_create_fails(p, ENOENT);
	// more memory than any machine has: the memzone cannot be made
	p = params("err", TARN_MEMPOOL_MAX_OBJS, TARN_MEMPOOL_MAX_ELT_SIZE, 0);
	expect_create_fails(p, ENOMEM);
	EXPECT_TRUE(MpLog::contains("no memory for"));
	{
		Pool a("dup", 64, 32, 0);
		p = params("dup", 64, 32, 0);
		expect_create_fails(p, EEXIST);
	}
	// Everything undone: the same name works again, nothing is left over.
	Pool again("dup", 64, 32, 0);
	EXPECT_NE(again.mp, nullptr);
}

TEST(MempoolCreate, SimpleCreateAndAccessors)
{
	struct tarn_mempool *mp =
	    tarn_mempool_create("simple", 100, 100, 8, 40, nullptr, nullptr, TARN_SOCKET_ANY, 0);
	ASSERT_NE(mp, nullptr) << tarn_strerror(tarn_errno);
	EXPECT_STREQ(tarn_mempool_name(mp), "simple");
	EXPECT_EQ(tarn_mempool_size(mp), 100u);
	EXPECT_EQ(tarn_mempool_elt_size(mp), 100u);
	EXPECT_EQ(tarn_mempool_cache_size(mp), 8u);
	EXPECT_EQ(tarn_mempool_priv_size(mp), 40u);
	unsigned stride = tarn_mempool_obj_stride(mp);
	EXPECT_EQ(stride % TARN_CACHE_LINE, 0u);
	EXPECT_GE(stride, 100u + sizeof(struct tarn_mempool_objhdr));
	char *priv = static_cast<char *>(tarn_mempool_get_priv(mp));
	ASSERT_NE(priv, nullptr);
	EXPECT_EQ(reinterpret_cast<uintptr_t>(priv) % TARN_CACHE_LINE, 0u);
	for (int i = 0; i < 40; i++)
		EXPECT_EQ(priv[i], 0);
	memset(priv, 0x5a, 40);
	EXPECT_EQ(tarn_mempool_socket(mp), tarn_socket_resolve(TARN_SOCKET_ANY));
	EXPECT_EQ(tarn_mempool_flags(mp), 0u);
	EXPECT_EQ(tarn_mempool_debug_enabled(mp), 0);
	EXPECT_STREQ(tarn_mempool_ops_name(mp), "ring_mp_mc");
	EXPECT_EQ(tarn_mempool_reserve(mp), 0u);
	const struct tarn_memzone *mz = tarn_mempool_memzone(mp);
	ASSERT_NE(mz, nullptr);
	EXPECT_GE(mz->len, (size_t)100 * stride);
	EXPECT_EQ(tarn_mempool_avail_count(mp), 100u);
	EXPECT_EQ(tarn_mempool_in_use_count(mp), 0u);
	EXPECT_TRUE(tarn_mempool_full(mp));
	EXPECT_FALSE(tarn_mempool_empty(mp));
	EXPECT_EQ(tarn_mempool_check(mp), 0);
	EXPECT_EQ(tarn_mempool_free(mp, 0), 0);

	// no private area
	mp = tarn_mempool_create("nopriv", 10, 8, 0, 0, nullptr, nullptr, TARN_SOCKET_ANY, 0);
	ASSERT_NE(mp, nullptr);
	EXPECT_EQ(tarn_mempool_get_priv(mp), nullptr);
	EXPECT_EQ(tarn_mempool_free(mp, 0), 0);
}

// The physical address of `va` as the kernel says it (/proc/self/pagemap,
// read here independently of tarn's own table): 0 if not present or not
// readable.
static uint64_t pagemap_phys(int fd, const void *va)
{
	const uint64_t base = (uint64_t)sysconf(_SC_PAGESIZE);
	uint64_t e = 0;
	if (pread(fd, &e, sizeof(e), (off_t)((uintptr_t)va / base * sizeof(e))) != sizeof(e))
		return 0;
	if (!(e >> 63 & 1) || (e & ((1ull << 55) - 1)) == 0)
		return 0;
	return (e & ((1ull << 55) - 1)) * base + (uintptr_t)va % base;
}

// With physical IOVAs, an object's IOVA plus an offset must be right for
// every byte of it: no object may cross a boundary between two hugepages
// that are not physically adjacent (the pool is laid out page by page).
// Checked against the kernel's pagemap, not against tarn's own table.
TEST(MempoolCreate, IovaHoldsForEveryByteOfEveryObject)
{
	if (!tarn_mem_iova_is_pa())
		GTEST_SKIP()
		    << "IOVAs are virtual here (needs root and hugepages): nothing can cross";
	const unsigned n = 3000, elt = 2300; // about 7 MB: several 2 MiB pages
	struct tarn_mempool *mp =
	    tarn_mempool_create("mp_iova", n, elt, 0, 0, nullptr, nullptr, TARN_SOCKET_ANY, 0);
	ASSERT_NE(mp, nullptr) << tarn_strerror(-(int)tarn_errno);
	const struct tarn_memzone *mz = tarn_mempool_memzone(mp);
	ASSERT_NE(mz, nullptr);
	if (mz->page_size <= 4096) {
		const uint64_t page = mz->page_size; // mz goes with the pool
		tarn_mempool_free(mp, 0);
		GTEST_SKIP() << "the pool is not on hugepages (page size " << page << ")";
	}
	const int pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	ASSERT_GE(pm, 0) << "/proc/self/pagemap: " << strerror(errno);
	struct Close {
		int fd;
		~Close()
		{
			close(fd);
		}
	} close_pm{ pm };
	std::set<uintptr_t> seen;
	unsigned crossing = 0;
	for (unsigned i = 0; i < n; i++) {
		char *o = static_cast<char *>(tarn_mempool_obj_at(mp, i));
		ASSERT_NE(o, nullptr);
		ASSERT_EQ(tarn_mempool_obj_index(mp, o), (int)i);
		ASSERT_TRUE(seen.insert((uintptr_t)o).second);
		tarn_iova_t io = tarn_mempool_virt2iova(o);
		ASSERT_NE(io, TARN_BAD_IOVA);
		ASSERT_EQ(tarn_mem_virt2iova(o), io);
		ASSERT_EQ(io, pagemap_phys(pm, o)) << "object " << i << " at " << (void *)o;
		for (unsigned off : { 1u, elt / 2, elt - 1 }) {
			ASSERT_EQ(tarn_mem_virt2iova(o + off), io + off)
			    << "object " << i << " at " << (void *)o << ", byte " << off;
			ASSERT_EQ(pagemap_phys(pm, o + off), io + off)
			    << "object " << i << " at " << (void *)o << ", byte " << off
			    << ": the kernel's physical address differs";
		}
		if ((uintptr_t)o / mz->page_size != ((uintptr_t)o + elt - 1) / mz->page_size)
			crossing++;
	}
	// Objects do not overlap: consecutive ones are at least a stride apart.
	uintptr_t prev = 0;
	for (uintptr_t a : seen) {
		if (prev != 0) {
			EXPECT_GE(a - prev, (uintptr_t)tarn_mempool_obj_stride(mp));
		}
		prev = a;
	}
	// Every object gets taken and given back through the store.
	std::vector<void *> all(n);
	ASSERT_EQ(tarn_mempool_get_bulk(mp, all.data(), n), 0);
	for (void *o : all)
		EXPECT_EQ(seen.count((uintptr_t)o), 1u);
	tarn_mempool_put_bulk(mp, all.data(), n);
	EXPECT_EQ(tarn_mempool_avail_count(mp), n);
	RecordProperty("objects_crossing_a_page", (int)crossing);
	EXPECT_EQ(tarn_mempool_free(mp, 0), 0);
}

TEST(MempoolCreate, AccessorsRejectNull)
{
	EXPECT_EQ(tarn_mempool_name(nullptr), nullptr);
	EXPECT_EQ(tarn_mempool_size(nullptr), 0u);
	EXPECT_EQ(tarn_mempool_elt_size(nullptr), 0u);
	EXPECT_EQ(tarn_mempool_obj_stride(nullptr), 0u);
	EXPECT_EQ(tarn_mempool_cache_size(nullptr), 0u);
	EXPECT_EQ(tarn_mempool_priv_size(nullptr), 0u);
	EXPECT_EQ(tarn_mempool_get_priv(nullptr), nullptr);
	EXPECT_EQ(tarn_mempool_socket(nullptr), -EINVAL);
	EXPECT_EQ(tarn_mempool_flags(nullptr), 0u);
	EXPECT_EQ(tarn_mempool_debug_enabled(nullptr), 0);
	EXPECT_EQ(tarn_mempool_ops_name(nullptr), nullptr);
	EXPECT_EQ(tarn_mempool_reserve(nullptr), 0u);
	EXPECT_EQ(tarn_mempool_memzone(nullptr), nullptr);
	EXPECT_EQ(tarn_mempool_obj_index(nullptr, nullptr), -EINVAL);
	EXPECT_EQ(tarn_mempool_obj_at(nullptr, 0), nullptr);
	EXPECT_EQ(tarn_mempool_avail_count(nullptr), 0u);
	EXPECT_EQ(tarn_mempool_in_use_count(nullptr), 0u);
	EXPECT_EQ(tarn_mempool_full(nullptr), 0);
	EXPECT_EQ(tarn_mempool_empty(nullptr), 0);
	EXPECT_EQ(tarn_mempool_check(nullptr), -EINVAL);
	EXPECT_EQ(tarn_mempool_audit(nullptr, stdout), -EINVAL);
	struct tarn_mempool_stats st;
	EXPECT_EQ(tarn_mempool_stats(nullptr, &st), -EINVAL);
	EXPECT_EQ(tarn_mempool_thread_stats(nullptr, nullptr, 0), -EINVAL);
	EXPECT_EQ(tarn_mempool_cache_flush(nullptr, TARN_MEMPOOL_FLUSH_SELF), -EINVAL);
	EXPECT_EQ(tarn_mempool_obj_iter(nullptr, nullptr, nullptr), -EINVAL);
}

TEST(MempoolCreate, OpsChosenByFlagsAndName)
{
	struct {
		unsigned flags;
		const char *ops;
		const char *want;
	} cases[] = {
		{ 0, nullptr, "ring_mp_mc" },
		{ TARN_MEMPOOL_F_SP_PUT | TARN_MEMPOOL_F_SC_GET, nullptr, "ring_sp_sc" },
		{ TARN_MEMPOOL_F_SP_PUT, nullptr, "ring_sp_mc" },
		{ TARN_MEMPOOL_F_SC_GET, nullptr, "ring_mp_sc" },
		{ 0, "stack", "stack" },
		{ 0, "ring_rts", "ring_rts" },
		{ TARN_MEMPOOL_F_SP_PUT, "ring_mp_mc", "ring_mp_mc" }, // a name wins
	};
	for (auto &c : cases) {
		Pool p("ops", 64, 16, 8, c.flags, c.ops);
		ASSERT_NE(p.mp, nullptr);
		EXPECT_STREQ(tarn_mempool_ops_name(p), c.want);
		EXPECT_EQ(tarn_mempool_flags(p), c.flags);
		// every store works through refills and flushes
		void *objs[64];
		ASSERT_EQ(tarn_mempool_get_bulk(p, objs, 64), 0);
		EXPECT_TRUE(tarn_mempool_empty(p));
		EXPECT_EQ(tarn_mempool_put_bulk(p, objs, 64), 0);
		EXPECT_TRUE(tarn_mempool_full(p));
		EXPECT_EQ(tarn_mempool_check(p), 0);
	}
}

TEST(MempoolCreate, ObjectLayout)
{
	Pool p("layout", 50, 200, 0);
	ASSERT_NE(p.mp, nullptr);
	const struct tarn_memzone *mz = tarn_mempool_memzone(p);
	std::set<void *> seen;
	for (unsigned i = 0; i < 50; i++) {
		void *obj = tarn_mempool_obj_at(p, i);
		ASSERT_NE(obj, nullptr);
		EXPECT_EQ(reinterpret_cast<uintptr_t>(obj) % TARN_CACHE_LINE, 0u);
		EXPECT_GE(static_cast<char *>(obj), static_cast<char *>(mz->addr));
		EXPECT_LE(static_cast<char *>(obj) + 200, static_cast<char *>(mz->addr) + mz->len);
		EXPECT_EQ(tarn_mempool_obj_index(p, obj), (int)i);
		EXPECT_EQ(tarn_mempool_from_obj(obj), p.mp);
		EXPECT_EQ(tarn_mempool_virt2iova(obj), tarn_mem_virt2iova(obj));
		EXPECT_NE(tarn_mempool_virt2iova(obj), TARN_BAD_IOVA);
		seen.insert(obj);
	}
	EXPECT_EQ(seen.size(), 50u);
	EXPECT_EQ(tarn_mempool_obj_at(p, 50), nullptr);
	char *o0 = static_cast<char *>(tarn_mempool_obj_at(p, 0));
	EXPECT_EQ(tarn_mempool_obj_index(p, o0 + 8), -EINVAL);
	EXPECT_EQ(tarn_mempool_obj_index(p, o0 - tarn_mempool_obj_stride(p)), -EINVAL);
	EXPECT_EQ(tarn_mempool_obj_index(p, o0 + 50 * tarn_mempool_obj_stride(p)), -EINVAL);
	EXPECT_EQ(tarn_mempool_obj_index(p, nullptr), -EINVAL);
	// Objects handed out are the pool's and each is writable in full.
	void *objs[50];
	ASSERT_EQ(tarn_mempool_get_bulk(p, objs, 50), 0);
	for (void *o : objs) {
		EXPECT_EQ(seen.count(o), 1u);
		memset(o, 0xee, 200);
	}
	EXPECT_EQ(tarn_mempool_put_bulk(p, objs, 50), 0);
	EXPECT_EQ(tarn_mempool_check(p), 0);
}

struct InitRecord {
	std::vector<unsigned> calls;
	std::vector<void *> objs;
	struct tarn_mempool *mp = nullptr;
	void *arg = nullptr;
};

void record_init(struct tarn_mempool *mp, void *arg, void *obj, unsigned idx)
{
	InitRecord *r = static_cast<InitRecord *>(arg);
	r->mp = mp;
	r->arg = arg;
	r->calls.push_back(idx);
	r->objs.push_back(obj);
	// zeroed memory, writable element
	EXPECT_EQ(static_cast<unsigned char *>(obj)[0], 0);
	*static_cast<uint32_t *>(obj) = idx * 7 + 1;
}

TEST(MempoolCreate, ObjInitRunsOncePerObject)
{
	InitRecord rec;
	struct tarn_mempool *mp =
	    tarn_mempool_create("init", 300, 64, 16, 0, record_init, &rec, TARN_SOCKET_ANY, 0);
	ASSERT_NE(mp, nullptr);
	EXPECT_EQ(rec.mp, mp);
	EXPECT_EQ(rec.arg, &rec);
	ASSERT_EQ(rec.calls.size(), 300u);
	for (unsigned i = 0; i < 300; i++) {
		EXPECT_EQ(rec.calls[i], i);
		EXPECT_EQ(rec.objs[i], tarn_mempool_obj_at(mp, i));
	}
	// Gets and puts never run it again, and the content stays.
	void *objs[300];
	ASSERT_EQ(tarn_mempool_get_bulk(mp, objs, 300), 0);
	for (void *o : objs) {
		int idx = tarn_mempool_obj_index(mp, o);
		EXPECT_EQ(*static_cast<uint32_t *>(o), (uint32_t)idx * 7 + 1);
	}
	EXPECT_EQ(tarn_mempool_put_bulk(mp, objs, 300), 0);
	EXPECT_EQ(rec.calls.size(), 300u);

	// obj_iter visits every object in order, without changing them
	struct Iter {
		unsigned n = 0;
		bool ok = true;
	} it;
	auto fn = [](struct tarn_mempool *m, void *arg, void *obj, unsigned idx) {
		Iter *t = static_cast<Iter *>(arg);
		t->ok &= t->n == idx && tarn_mempool_obj_at(m, idx) == obj &&
		         *static_cast<uint32_t *>(obj) == idx * 7 + 1;
		t->n++;
	};
	EXPECT_EQ(tarn_mempool_obj_iter(mp, fn, &it), 300);
	EXPECT_EQ(it.n, 300u);
	EXPECT_TRUE(it.ok);
	EXPECT_EQ(tarn_mempool_obj_iter(mp, nullptr, &it), -EINVAL);
	EXPECT_EQ(rec.calls.size(), 300u);
	EXPECT_EQ(tarn_mempool_free(mp, 0), 0);
}

// ---------------------------------------------------------------------------
// lifetime: free, lookup, walk, cleanup

TEST(MempoolLifetime, FreeErrors)
{
	MpLog::clear();
	EXPECT_EQ(tarn_mempool_free(nullptr, 0), -EINVAL);
	static struct tarn_mempool fake;
	EXPECT_EQ(tarn_mempool_free(&fake, 0), -EINVAL);
	struct tarn_mempool *mp =
	    tarn_mempool_create("freeme", 16, 8, 4, 0, nullptr, nullptr, TARN_SOCKET_ANY, 0);
	ASSERT_NE(mp, nullptr);
	EXPECT_EQ(tarn_mempool_free(mp, 0x10), -EINVAL);
	void *o;
	ASSERT_EQ(tarn_mempool_get(mp, &o), 0);
	EXPECT_EQ(tarn_mempool_free(mp, 0), -EBUSY);
	EXPECT_TRUE(MpLog::contains("1 of 16 objects still in use"));
	// still alive and usable
	EXPECT_EQ(tarn_mempool_lookup("freeme"), mp);
	EXPECT_EQ(tarn_mempool_put(mp, o), 0);
	EXPECT_EQ(tarn_mempool_free(mp, 0), 0);
	EXPECT_EQ(tarn_mempool_lookup("freeme"), nullptr);
	EXPECT_EQ(tarn_mempool_free(mp, 0), -EINVAL); // already freed: not a pool
	// forced free with objects out
	mp = tarn_mempool_create("freeme", 16, 8, 4, 0, nullptr, nullptr, TARN_SOCKET_ANY, 0);
	ASSERT_NE(mp, nullptr);
	void *objs[5];
	ASSERT_EQ(tarn_mempool_get_bulk(mp, objs, 5), 0);
	EXPECT_EQ(tarn_mempool_free(mp, TARN_MEMPOOL_FREE_FORCE), 0);
}

TEST(MempoolLifetime, Lookup)
{
	Pool a("look-a", 8, 8, 0), b("look-b", 8, 8, 0);
	EXPECT_EQ(tarn_mempool_lookup("look-a"), a.mp);
	EXPECT_EQ(tarn_mempool_lookup("look-b"), b.mp);
	tarn_errno = 0;
	EXPECT_EQ(tarn_mempool_lookup("look-c"), nullptr);
	EXPECT_EQ(tarn_errno, ENOENT);
	EXPECT_EQ(tarn_mempool_lookup(nullptr), nullptr);
	EXPECT_EQ(tarn_errno, EINVAL);
	EXPECT_EQ(tarn_mempool_lookup(""), nullptr);
	EXPECT_EQ(tarn_errno, EINVAL);
	EXPECT_EQ(tarn_mempool_lookup("a-name-that-is-far-too-long-for-a-pool"), nullptr);
	EXPECT_EQ(tarn_errno, ENAMETOOLONG);
}

struct WalkArg {
	std::vector<std::string> names;
	struct tarn_mempool *dbg = nullptr;
	int put_rc = 0;
};

TEST(MempoolLifetime, Walk)
{
	Pool a("walk-a", 8, 8, 0), b("walk-b", 8, 8, 0, TARN_MEMPOOL_F_DEBUG);
	WalkArg arg;
	arg.dbg = b.mp;
	auto fn = [](struct tarn_mempool *mp, void *v) {
		WalkArg *w = static_cast<WalkArg *>(v);
		w->names.push_back(tarn_mempool_name(mp));
		// A debug put from a walk callback looks up other pools without
		// locking again (no deadlock).
		if (mp == w->dbg) {
			int x;
			w->put_rc = tarn_mempool_put(mp, &x);
		}
	};
	int n = tarn_mempool_walk(fn, &arg);
	EXPECT_GE(n, 2);
	EXPECT_EQ((size_t)n, arg.names.size());
	EXPECT_NE(std::find(arg.names.begin(), arg.names.end(), "walk-a"), arg.names.end());
	EXPECT_NE(std::find(arg.names.begin(), arg.names.end(), "walk-b"), arg.names.end());
	EXPECT_EQ(arg.put_rc, -EINVAL);
	EXPECT_EQ(tarn_mempool_walk(nullptr, nullptr), -EINVAL);
}

// ---------------------------------------------------------------------------
// get and put

TEST(MempoolGetPut, ArgumentErrors)
{
	Pool p("args", 32, 16, 8);
	void *objs[40];
	EXPECT_EQ(tarn_mempool_get_bulk(nullptr, objs, 1), -EINVAL);
	EXPECT_EQ(tarn_mempool_get_bulk(p, nullptr, 1), -EINVAL);
	EXPECT_EQ(tarn_mempool_get_bulk(p, objs, 0), 0);
	EXPECT_EQ(tarn_mempool_get_bulk(p, objs, 33), -EINVAL);
	EXPECT_EQ(tarn_mempool_get(nullptr, objs), -EINVAL);
	EXPECT_EQ(tarn_mempool_get(p, nullptr), -EINVAL);
	EXPECT_EQ(tarn_mempool_put_bulk(nullptr, objs, 1), -EINVAL);
	EXPECT_EQ(tarn_mempool_put_bulk(p, nullptr, 1), -EINVAL);
	EXPECT_EQ(tarn_mempool_put_bulk(p, nullptr, 0), 0);
	EXPECT_EQ(tarn_mempool_put_bulk(p, objs, 0), 0);
	EXPECT_EQ(tarn_mempool_put(nullptr, objs[0]), -EINVAL);
	EXPECT_EQ(tarn_mempool_get_reserved(nullptr, objs, 1), -EINVAL);
	EXPECT_EQ(tarn_mempool_get_reserved(p, nullptr, 1), -EINVAL);
	EXPECT_EQ(tarn_mempool_get_reserved(p, objs, 0), 0);
	EXPECT_EQ(tarn_mempool_get_reserved(p, objs, 33), -EINVAL);
	EXPECT_EQ(tarn_mempool_cache_flush(p, 7), -EINVAL);
	EXPECT_TRUE(tarn_mempool_full(p));
	// the same once the thread has its cache (the inline path finds it)
	void *o;
	ASSERT_EQ(tarn_mempool_get(p, &o), 0);
	ASSERT_EQ(tarn_mempool_put(p, o), 0);
	EXPECT_EQ(tarn_mempool_get_bulk(p, objs, 33), -EINVAL);
	EXPECT_EQ(tarn_mempool_get_bulk(p, objs, 0), 0);
	EXPECT_EQ(tarn_mempool_put_bulk(p, objs, 0), 0);
	// and on a pool without caches
	Pool u("args-nocache", 32, 16, 0);
	ASSERT_EQ(tarn_mempool_get(u, &o), 0);
	ASSERT_EQ(tarn_mempool_put(u, o), 0);
	EXPECT_EQ(tarn_mempool_get_bulk(u, objs, 33), -EINVAL);
	EXPECT_EQ(tarn_mempool_get_bulk(u, objs, 0), 0);
	EXPECT_TRUE(tarn_mempool_full(u));
	struct tarn_mempool_stats st;
	ASSERT_EQ(tarn_mempool_stats(u, &st), 0);
	EXPECT_EQ(st.fails, 0u); // invalid calls are not failures
}

TEST(MempoolGetPut, SingleObjects)
{
	Pool p("single", 4, 16, 0);
	void *o[5];
	for (int i = 0; i < 4; i++)
		ASSERT_EQ(tarn_mempool_get(p, &o[i]), 0);
	EXPECT_EQ(tarn_mempool_get(p, &o[4]), -ENOBUFS);
	EXPECT_TRUE(tarn_mempool_empty(p));
	std::set<void *> distinct(o, o + 4);
	EXPECT_EQ(distinct.size(), 4u);
	for (int i = 0; i < 4; i++)
		EXPECT_EQ(tarn_mempool_put(p, o[i]), 0);
	EXPECT_TRUE(tarn_mempool_full(p));
}

TEST(MempoolGetPut, AllOrNothing)
{
	for (unsigned cache : { 0u, 16u }) {
		Pool p("aon", 64, 16, cache);
		void *objs[64], *more[8];
		ASSERT_EQ(tarn_mempool_get_bulk(p, objs, 60), 0);
		EXPECT_EQ(tarn_mempool_avail_count(p), 4u);
		// 5 > 4 available: nothing taken, whatever is cached stays
		EXPECT_EQ(tarn_mempool_get_bulk(p, more, 5), -ENOBUFS);
		EXPECT_EQ(tarn_mempool_avail_count(p), 4u);
		EXPECT_EQ(tarn_mempool_get_bulk(p, more, 4), 0);
		EXPECT_TRUE(tarn_mempool_empty(p));
		EXPECT_EQ(tarn_mempool_get_bulk(p, more + 4, 1), -ENOBUFS);
		std::set<void *> distinct(objs, objs + 60);
		distinct.insert(more, more + 4);
		EXPECT_EQ(distinct.size(), 64u);
		EXPECT_EQ(tarn_mempool_put_bulk(p, objs, 60), 0);
		EXPECT_EQ(tarn_mempool_put_bulk(p, more, 4), 0);
		EXPECT_TRUE(tarn_mempool_full(p));
		EXPECT_EQ(tarn_mempool_check(p), 0);
		struct tarn_mempool_stats st;
		ASSERT_EQ(tarn_mempool_stats(p, &st), 0);
		EXPECT_EQ(st.fails, 2u);
		EXPECT_EQ(st.fail_objs, 6u);
	}
}

struct XorShift {
	uint64_t s;
	explicit XorShift(uint64_t seed) : s(seed * 0x9e3779b97f4a7c15ull + 1)
	{
	}
	uint32_t next()
	{
		s ^= s << 13;
		s ^= s >> 7;
		s ^= s << 17;
		return uint32_t(s >> 11);
	}
};

// The cache policy of the header, step by step.
TEST(MempoolCache, AdaptiveRefillAndFlush)
{
	const unsigned S = 32;
	Pool p("policy", 256, 16, S);
	struct tarn_mempool_thread_stats t;
	std::vector<void *> held;
	void *objs[64];
	auto take = [&](unsigned n) {
		ASSERT_EQ(tarn_mempool_get_bulk(p, objs, n), 0);
		held.insert(held.end(), objs, objs + n);
	};
	auto give = [&](unsigned n) {
		ASSERT_LE(n, held.size());
		ASSERT_EQ(tarn_mempool_put_bulk(p, &held[held.size() - n], n), 0);
		held.resize(held.size() - n);
	};

	// larger than the cache: straight from the store (the cache is made)
	take(48);
	ASSERT_TRUE(mp_my_stats(p, &t));
	EXPECT_EQ(t.cache_size, S);
	EXPECT_EQ(t.cache_len, 0u);
	EXPECT_EQ(t.st.direct_gets, 48u);
	EXPECT_EQ(t.st.refills, 0u);
	EXPECT_EQ(t.lcore, tarn_lcore_id());
	EXPECT_EQ(t.tid, (int32_t)syscall(SYS_gettid));

	// first refill: to half
	take(1);
	ASSERT_TRUE(mp_my_stats(p, &t));
	EXPECT_EQ(t.cache_len, S / 2 - 1);
	EXPECT_EQ(t.st.refills, 1u);
	EXPECT_EQ(t.st.refill_objs, S / 2);
	take(S / 2 - 1); // hits
	ASSERT_TRUE(mp_my_stats(p, &t));
	EXPECT_EQ(t.cache_len, 0u);
	EXPECT_EQ(t.st.hit_objs, S / 2 - 1);

	// a refill after a refill: to full
	take(1);
	ASSERT_TRUE(mp_my_stats(p, &t));
	EXPECT_EQ(t.cache_len, S - 1);
	EXPECT_EQ(t.st.refills, 2u);
	EXPECT_EQ(t.st.refill_objs, S / 2 + S);

	// fill up, then a flush after a refill: down to half
	give(1);
	ASSERT_TRUE(mp_my_stats(p, &t));
	EXPECT_EQ(t.cache_len, S);
	void *last = held.back();
	give(1);
	ASSERT_TRUE(mp_my_stats(p, &t));
	EXPECT_EQ(t.cache_len, S / 2 + 1);
	EXPECT_EQ(t.st.flushes, 1u);
	EXPECT_EQ(t.st.flush_objs, S / 2);
	// the hottest stayed: the last one put comes back first
	void *x;
	ASSERT_EQ(tarn_mempool_get(p, &x), 0);
	EXPECT_EQ(x, last);
	ASSERT_EQ(tarn_mempool_put(p, x), 0);

	// a flush after a flush: down to empty
	give(S / 2 - 1);
	ASSERT_TRUE(mp_my_stats(p, &t));
	EXPECT_EQ(t.cache_len, S);
	give(2);
	ASSERT_TRUE(mp_my_stats(p, &t));
	EXPECT_EQ(t.cache_len, 2u);
	EXPECT_EQ(t.st.flushes, 2u);
	EXPECT_EQ(t.st.flush_objs, S / 2 + S);

	// a put larger than the cache: straight to the store
	give(40);
	ASSERT_TRUE(mp_my_stats(p, &t));
	EXPECT_EQ(t.st.direct_puts, 40u);
	EXPECT_EQ(t.cache_len, 2u);

	// a refill after a flush: to half again (n = S - 2 > S/2: to n)
	take(S - 2);
	ASSERT_TRUE(mp_my_stats(p, &t));
	EXPECT_EQ(t.st.refills, 3u);
	EXPECT_EQ(t.st.refill_objs, S / 2 + S + (S - 4));
	EXPECT_EQ(t.cache_len, 0u);

	give((unsigned)held.size());
	ASSERT_TRUE(mp_my_stats(p, &t));
	EXPECT_LE(t.st.cache_len_hw, S);
	EXPECT_TRUE(tarn_mempool_full(p));
	EXPECT_EQ(tarn_mempool_check(p), 0);
	struct tarn_mempool_stats st;
	ASSERT_EQ(tarn_mempool_stats(p, &st), 0);
	EXPECT_EQ(st.get_objs, st.put_objs);
	EXPECT_EQ(st.held, 0);
}

// Store operations per 1000 objects for a few access patterns, with the
// real pool (the figures quoted in tarn_mempool.h).
TEST(MempoolCache, PolicyStoreTraffic)
{
	const unsigned S = 512, N = 8192;
	struct Figures {
		double ops_per_k, moved_per_obj;
	};
	auto figures = [](const struct tarn_mempool_thread_stats &t, uint64_t objs) {
		return Figures{ 1000.0 * double(t.st.refills + t.st.flushes) / double(objs),
			        double(t.st.refill_objs + t.st.flush_objs) / double(objs) };
	};
	// receive-only and transmit-only threads: whole caches per store op
	{
		Pool p("traffic-rxtx", N, 16, S);
		std::vector<void *> batch(1024);
		pthread_barrier_t b;
		pthread_barrier_init(&b, nullptr, 2);
		const unsigned rounds = 64;
		struct tarn_mempool_thread_stats tx {
		};
		std::thread txt([&] {
			for (unsigned r = 0; r < rounds; r++) {
				pthread_barrier_wait(&b); // batch ready
				for (unsigned i = 0; i < 1024; i += 32)
					EXPECT_EQ(tarn_mempool_put_bulk(p, &batch[i], 32), 0);
				pthread_barrier_wait(&b); // batch given back
			}
			EXPECT_TRUE(mp_my_stats(p, &tx));
		});
		for (unsigned r = 0; r < rounds; r++) {
			for (unsigned i = 0; i < 1024; i += 32)
				ASSERT_EQ(tarn_mempool_get_bulk(p, &batch[i], 32), 0);
			pthread_barrier_wait(&b);
			pthread_barrier_wait(&b);
		}
		txt.join();
		struct tarn_mempool_thread_stats rx;
		ASSERT_TRUE(mp_my_stats(p, &rx));
		Figures frx = figures(rx, rounds * 1024ull), ftx = figures(tx, rounds * 1024ull);
		RecordProperty("rx_store_ops_per_1000", std::to_string(frx.ops_per_k));
		RecordProperty("tx_store_ops_per_1000", std::to_string(ftx.ops_per_k));
		printf("store operations per 1000 objects: receive-only %.3f, transmit-only %.3f\n",
		       frx.ops_per_k, ftx.ops_per_k);
		EXPECT_LT(frx.ops_per_k, 2.1); // 1000 / 512 = 1.95
		EXPECT_LT(ftx.ops_per_k, 2.1);
		pthread_barrier_destroy(&b);
	}
	// gets and puts alternating in random bursts: the cache absorbs them
	{
		Pool p("traffic-walk", N, 16, S);
		XorShift rng(7);
		std::vector<void *> held;
		void *o[32];
		uint64_t objs = 0;
		for (int i = 0; i < 200000; i++) {
			unsigned n = 1 + rng.next() % 32;
			if ((rng.next() & 1) || held.size() < n) {
				ASSERT_EQ(tarn_mempool_get_bulk(p, o, n), 0);
				held.insert(held.end(), o, o + n);
			} else {
				ASSERT_EQ(tarn_mempool_put_bulk(p, &held[held.size() - n], n), 0);
				held.resize(held.size() - n);
			}
			objs += n;
			if (held.size() > N - 2 * S) {
				// keep the walk inside the pool: give half back
				unsigned k = (unsigned)held.size() / 2;
				for (unsigned j = 0; j < k; j += 32) {
					unsigned m = std::min(32u, k - j);
					ASSERT_EQ(
					    tarn_mempool_put_bulk(p, &held[held.size() - m], m), 0);
					held.resize(held.size() - m);
					objs += m;
				}
			}
		}
		struct tarn_mempool_thread_stats t;
		ASSERT_TRUE(mp_my_stats(p, &t));
		Figures f = figures(t, objs);
		RecordProperty("walk_store_ops_per_1000", std::to_string(f.ops_per_k));
		printf("random bursts: %.3f store operations per 1000 objects, %.3f objects moved "
		       "per object\n",
		       f.ops_per_k, f.moved_per_obj);
		EXPECT_LT(f.ops_per_k, 0.8);
		EXPECT_LT(f.moved_per_obj, 0.3);
		ASSERT_EQ(tarn_mempool_put_bulk(p, held.data(), (unsigned)held.size()), 0);
	}
	// a get/put cycle a little larger than the cache
	{
		Pool p("traffic-cycle", N, 16, S);
		std::vector<void *> held(640);
		uint64_t objs = 0;
		for (int r = 0; r < 2000; r++) {
			for (unsigned i = 0; i < 640; i += 32)
				ASSERT_EQ(tarn_mempool_get_bulk(p, &held[i], 32), 0);
			for (unsigned i = 0; i < 640; i += 32)
				ASSERT_EQ(tarn_mempool_put_bulk(p, &held[i], 32), 0);
			objs += 1280;
		}
		struct tarn_mempool_thread_stats t;
		ASSERT_TRUE(mp_my_stats(p, &t));
		Figures f = figures(t, objs);
		RecordProperty("cycle640_moved_per_obj", std::to_string(f.moved_per_obj));
		printf("640-object cycles: %.3f store operations per 1000 objects, %.3f objects "
		       "moved per object\n",
		       f.ops_per_k, f.moved_per_obj);
		EXPECT_LT(f.moved_per_obj, 0.45);
	}
}

TEST(MempoolCache, HottestObjectComesBack)
{
	Pool p("hot", 64, 16, 16);
	void *a, *b, *x;
	ASSERT_EQ(tarn_mempool_get(p, &a), 0);
	ASSERT_EQ(tarn_mempool_get(p, &b), 0);
	ASSERT_EQ(tarn_mempool_put(p, a), 0);
	ASSERT_EQ(tarn_mempool_put(p, b), 0);
	ASSERT_EQ(tarn_mempool_get(p, &x), 0);
	EXPECT_EQ(x, b);
	ASSERT_EQ(tarn_mempool_get(p, &x), 0);
	EXPECT_EQ(x, a);
	ASSERT_EQ(tarn_mempool_put(p, a), 0);
	ASSERT_EQ(tarn_mempool_put(p, b), 0);
}

// Random gets and puts: counts exact after every call, the cache never above
// its size, no object out twice.
TEST(MempoolCache, CountsExactAndBounded)
{
	for (unsigned cache : { 0u, 1u, 7u, 32u, 512u }) {
		const unsigned N = 1024;
		Pool p("exact", N, 8, cache);
		XorShift rng(cache + 1);
		std::vector<void *> held;
		std::set<void *> out;
		void *objs[600];
		for (int it = 0; it < 3000; it++) {
			unsigned n = 1 + rng.next() % (rng.next() % 8 == 0 ? 600 : 40);
			if (rng.next() % 2 == 0) {
				int rc = tarn_mempool_get_bulk(p, objs, n);
				if (n <= N - held.size()) {
					ASSERT_EQ(rc, 0) << "n " << n << " held " << held.size();
				} else {
					ASSERT_EQ(rc, -ENOBUFS);
					continue;
				}
				for (unsigned i = 0; i < n; i++) {
					ASSERT_TRUE(out.insert(objs[i]).second)
					    << "handed out twice";
					held.push_back(objs[i]);
				}
			} else {
				n = std::min<unsigned>(n, (unsigned)held.size());
				for (unsigned i = 0; i < n; i++) {
					size_t k = rng.next() % held.size();
					objs[i] = held[k];
					held[k] = held.back();
					held.pop_back();
					out.erase(objs[i]);
				}
				ASSERT_EQ(tarn_mempool_put_bulk(p, objs, n), 0);
			}
			ASSERT_EQ(tarn_mempool_avail_count(p) + held.size(), N);
			struct tarn_mempool_thread_stats t;
			if (mp_my_stats(p, &t)) {
				ASSERT_LE(t.cache_len, cache);
				ASSERT_LE(t.st.cache_len_hw, cache);
				ASSERT_EQ(t.st.held, (int64_t)held.size());
			}
		}
		ASSERT_EQ(tarn_mempool_put_bulk(p, held.data(), (unsigned)held.size()), 0);
		EXPECT_TRUE(tarn_mempool_full(p));
		EXPECT_EQ(tarn_mempool_check(p), 0);
	}
}

TEST(MempoolCache, FlushSelfAndAll)
{
	Pool p("flush", 128, 8, 32);
	void *objs[20];
	ASSERT_EQ(tarn_mempool_get_bulk(p, objs, 20), 0);
	ASSERT_EQ(tarn_mempool_put_bulk(p, objs, 20), 0);
	struct tarn_mempool_thread_stats t;
	ASSERT_TRUE(mp_my_stats(p, &t));
	EXPECT_GT(t.cache_len, 0u);
	EXPECT_EQ(tarn_mempool_cache_flush(p, TARN_MEMPOOL_FLUSH_SELF), (int)t.cache_len);
	ASSERT_TRUE(mp_my_stats(p, &t));
	EXPECT_EQ(t.cache_len, 0u);
	EXPECT_EQ(tarn_mempool_cache_flush(p, TARN_MEMPOOL_FLUSH_SELF), 0);
	EXPECT_TRUE(tarn_mempool_full(p));

	// another thread's cache, drained by flush-all while that thread is
	// alive but quiescent (waiting on a barrier)
	pthread_barrier_t b1, b2;
	pthread_barrier_init(&b1, nullptr, 2);
	pthread_barrier_init(&b2, nullptr, 2);
	std::thread th([&] {
		void *o[10];
		EXPECT_EQ(tarn_mempool_get_bulk(p, o, 10), 0);
		EXPECT_EQ(tarn_mempool_put_bulk(p, o, 10), 0);
		pthread_barrier_wait(&b1);
		pthread_barrier_wait(&b2);
	});
	pthread_barrier_wait(&b1);
	ASSERT_EQ(tarn_mempool_get_bulk(p, objs, 5), 0);
	ASSERT_EQ(tarn_mempool_put_bulk(p, objs, 5), 0);
	struct tarn_mempool_stats st;
	ASSERT_EQ(tarn_mempool_stats(p, &st), 0);
	EXPECT_EQ(st.threads, 2u);
	struct tarn_mempool_thread_stats ts[4];
	ASSERT_EQ(tarn_mempool_thread_stats(p, ts, 4), 2);
	EXPECT_GT(ts[0].cache_len, 0u);
	EXPECT_GT(ts[1].cache_len, 0u);
	EXPECT_EQ(st.cached, (uint64_t)ts[0].cache_len + ts[1].cache_len);
	EXPECT_EQ(tarn_mempool_cache_flush(p, TARN_MEMPOOL_FLUSH_ALL), (int)st.cached);
	ASSERT_EQ(tarn_mempool_stats(p, &st), 0);
	EXPECT_EQ(st.cached, 0u);
	EXPECT_TRUE(tarn_mempool_full(p));
	EXPECT_EQ(tarn_mempool_check(p), 0);
	pthread_barrier_wait(&b2);
	th.join();
	EXPECT_TRUE(tarn_mempool_full(p));
	EXPECT_EQ(tarn_mempool_check(p), 0);
	pthread_barrier_destroy(&b1);
	pthread_barrier_destroy(&b2);
}

// ---------------------------------------------------------------------------
// threads: lcores, plain pthreads, registered threads

struct LcoreWork {
	struct tarn_mempool *mp;
	unsigned get, put;
	std::vector<void *> *held;
	int rc = 0;
	int32_t tid = 0;
};

int lcore_work(void *arg)
{
	LcoreWork *w = static_cast<LcoreWork *>(arg);
	w->tid = (int32_t)syscall(SYS_gettid);
	for (unsigned i = 0; i < w->get; i++) {
		void *o;
		if (tarn_mempool_get(w->mp, &o) != 0) {
			w->rc = -1;
			return -1;
		}
		w->held->push_back(o);
	}
	for (unsigned i = 0; i < w->put && !w->held->empty(); i++) {
		void *o = w->held->back();
		w->held->pop_back();
		tarn_mempool_put(w->mp, o);
	}
	return 0;
}

TEST(MempoolThreads, WorkerLcoreCountsExact)
{
	uint32_t wk = mp_test_worker();
	if (wk == TARN_LCORE_ID_ANY)
		GTEST_SKIP() << "one CPU: no worker lcore";
	Pool p("lcore", 512, 32, 32);
	std::vector<void *> held;
	LcoreWork w{ p.mp, 100, 60, &held };
	ASSERT_EQ(tarn_lcore_launch(wk, lcore_work, &w), 0);
	int ret = -1;
	ASSERT_EQ(tarn_lcore_wait(wk, &ret), 0);
	ASSERT_EQ(ret, 0);
	EXPECT_EQ(held.size(), 40u);
	EXPECT_EQ(tarn_mempool_in_use_count(p), 40u);
	// the worker's cache is listed with its lcore and counts
	struct tarn_mempool_thread_stats ts[8];
	int k = tarn_mempool_thread_stats(p, ts, 8);
	bool found = false;
	for (int i = 0; i < k; i++) {
		if (ts[i].lcore == wk) {
			found = true;
			EXPECT_EQ(ts[i].tid, w.tid);
			EXPECT_EQ(ts[i].st.held, 40);
			EXPECT_LE(ts[i].cache_len, 32u);
		}
	}
	EXPECT_TRUE(found);
	// main puts the worker's objects back: counts stay exact across threads
	ASSERT_EQ(tarn_mempool_put_bulk(p, held.data(), 40), 0);
	EXPECT_TRUE(tarn_mempool_full(p));
	EXPECT_EQ(tarn_mempool_check(p), 0);
}

TEST(MempoolThreads, PlainThreadExitFlushes)
{
	Pool p("pthread", 256, 16, 64);
	pthread_barrier_t b1, b2;
	pthread_barrier_init(&b1, nullptr, 2);
	pthread_barrier_init(&b2, nullptr, 2);
	int32_t tid = 0;
	std::thread th([&] {
		tid = (int32_t)syscall(SYS_gettid);
		void *o[50];
		ASSERT_EQ(tarn_mempool_get_bulk(p, o, 50), 0);
		ASSERT_EQ(tarn_mempool_put_bulk(p, o, 30), 0);
		pthread_barrier_wait(&b1); // main checks while we hold 20 + cache
		pthread_barrier_wait(&b2);
		ASSERT_EQ(tarn_mempool_put_bulk(p, o + 30, 20), 0);
	});
	pthread_barrier_wait(&b1);
	struct tarn_mempool_stats st;
	ASSERT_EQ(tarn_mempool_stats(p, &st), 0);
	EXPECT_EQ(st.threads, 1u);
	EXPECT_EQ(st.cached, 30u); // first refill: to max(64/2, 50), all taken; 30 put
	EXPECT_EQ(tarn_mempool_in_use_count(p), 20u);
	struct tarn_mempool_thread_stats ts[4];
	ASSERT_EQ(tarn_mempool_thread_stats(p, ts, 4), 1);
	EXPECT_EQ(ts[0].tid, tid);
	EXPECT_EQ(ts[0].lcore, TARN_LCORE_ID_ANY);
	pthread_barrier_wait(&b2);
	th.join();
	// the exit flushed the cache: everything is back in the store
	ASSERT_EQ(tarn_mempool_stats(p, &st), 0);
	EXPECT_EQ(st.threads, 0u);
	EXPECT_EQ(st.cached, 0u);
	EXPECT_EQ(st.get_objs, 50u);
	EXPECT_EQ(st.put_objs, 50u);
	EXPECT_EQ(tarn_mempool_thread_stats(p, ts, 4), 0);
	EXPECT_TRUE(tarn_mempool_full(p));
	EXPECT_EQ(store_count(p), 256u);
	EXPECT_EQ(tarn_mempool_check(p), 0);
	pthread_barrier_destroy(&b1);
	pthread_barrier_destroy(&b2);
}

TEST(MempoolThreads, UnregisterFlushes)
{
	Pool p("unreg", 128, 16, 32);
	std::thread th([&] {
		ASSERT_GE(tarn_thread_register(), 0);
		void *o[10];
		ASSERT_EQ(tarn_mempool_get_bulk(p, o, 10), 0);
		ASSERT_EQ(tarn_mempool_put_bulk(p, o, 10), 0);
		struct tarn_mempool_thread_stats t;
		ASSERT_TRUE(mp_my_stats(p, &t));
		EXPECT_EQ(t.lcore, tarn_lcore_id());
		EXPECT_EQ(t.cache_len, 16u); // refilled to half, 10 taken, 10 put back
		ASSERT_EQ(tarn_thread_unregister(), 0);
		// flushed at unregister, before the thread exits
		EXPECT_FALSE(mp_my_stats(p, &t));
		struct tarn_mempool_stats st;
		ASSERT_EQ(tarn_mempool_stats(p, &st), 0);
		EXPECT_EQ(st.cached, 0u);
		EXPECT_TRUE(tarn_mempool_full(p));
		// the thread may go on using the pool: it gets a new slot
		ASSERT_EQ(tarn_mempool_get_bulk(p, o, 3), 0);
		ASSERT_EQ(tarn_mempool_put_bulk(p, o, 3), 0);
	});
	th.join();
	EXPECT_TRUE(tarn_mempool_full(p));
	struct tarn_mempool_stats st;
	ASSERT_EQ(tarn_mempool_stats(p, &st), 0);
	EXPECT_EQ(st.cached, 0u);
	EXPECT_EQ(tarn_mempool_check(p), 0);
}

// More threads than slots: the ones without a slot work on the store.
TEST(MempoolThreads, BeyondTheSlotBound)
{
	const unsigned T = TARN_MEMPOOL_MAX_THREADS + 4;
	Pool p("many", 5 * T + 100, 16, 4);
	pthread_barrier_t b1, b2;
	pthread_barrier_init(&b1, nullptr, T + 1);
	pthread_barrier_init(&b2, nullptr, T + 1);
	std::vector<std::thread> th;
	std::atomic<unsigned> errors{ 0 };
	for (unsigned i = 0; i < T; i++) {
		th.emplace_back([&] {
			void *o[2];
			if (tarn_mempool_get_bulk(p, o, 2) != 0)
				errors++;
			if (tarn_mempool_put(p, o[1]) != 0)
				errors++;
			pthread_barrier_wait(&b1);
			pthread_barrier_wait(&b2);
			if (tarn_mempool_put(p, o[0]) != 0)
				errors++;
		});
	}
	pthread_barrier_wait(&b1);
	EXPECT_EQ(tarn_mempool_in_use_count(p), T);
	struct tarn_mempool_stats st;
	ASSERT_EQ(tarn_mempool_stats(p, &st), 0);
	EXPECT_LE(st.threads, TARN_MEMPOOL_MAX_THREADS - 1u);
	EXPECT_GE(st.direct_gets, 2u * 4); // at least 4 threads went uncached
	pthread_barrier_wait(&b2);
	for (auto &t : th)
		t.join();
	EXPECT_EQ(errors.load(), 0u);
	EXPECT_TRUE(tarn_mempool_full(p));
	ASSERT_EQ(tarn_mempool_stats(p, &st), 0);
	EXPECT_EQ(st.get_objs, 2u * T);
	EXPECT_EQ(st.put_objs, 2u * T);
	EXPECT_EQ(tarn_mempool_check(p), 0);
	pthread_barrier_destroy(&b1);
	pthread_barrier_destroy(&b2);
}

// ---------------------------------------------------------------------------
// reserve

TEST(MempoolReserve, OrdinaryGetsStopAtTheReserve)
{
	for (unsigned cache : { 0u, 16u }) {
		Pool p("reserve", 100, 16, cache, 0, nullptr, 10);
		ASSERT_NE(p.mp, nullptr);
		EXPECT_EQ(tarn_mempool_reserve(p), 10u);
		std::vector<void *> held;
		void *objs[10];
		for (int i = 0; i < 9; i++) {
			ASSERT_EQ(tarn_mempool_get_bulk(p, objs, 10), 0) << i;
			held.insert(held.end(), objs, objs + 10);
		}
		// 90 out; the store holds the 10 of the reserve
		EXPECT_EQ(tarn_mempool_get(p, &objs[0]), -ENOBUFS);
		EXPECT_EQ(tarn_mempool_avail_count(p), 10u);
		EXPECT_EQ(tarn_mempool_get_reserved(p, objs, 11), -ENOBUFS);
		ASSERT_EQ(tarn_mempool_get_reserved(p, objs, 10), 0);
		held.insert(held.end(), objs, objs + 10);
		EXPECT_TRUE(tarn_mempool_empty(p));
		EXPECT_EQ(tarn_mempool_get_reserved(p, objs, 1), -ENOBUFS);
		std::set<void *> distinct(held.begin(), held.end());
		EXPECT_EQ(distinct.size(), 100u);
		struct tarn_mempool_stats st;
		ASSERT_EQ(tarn_mempool_stats(p, &st), 0);
		EXPECT_EQ(st.reserved_objs, 10u);
		// back: once flushed to the store, the reserve is whole again
		ASSERT_EQ(tarn_mempool_put_bulk(p, held.data(), 100), 0);
		tarn_mempool_cache_flush(p, TARN_MEMPOOL_FLUSH_SELF);
		EXPECT_TRUE(tarn_mempool_full(p));
		EXPECT_EQ(tarn_mempool_check(p), 0);
	}
}

TEST(MempoolReserve, ReservedGetUsesTheCacheFirst)
{
	Pool p("res-cache", 64, 16, 16, 0, nullptr, 8);
	void *a, *x;
	ASSERT_EQ(tarn_mempool_get(p, &a), 0); // refill to half: the cache holds 7
	ASSERT_EQ(tarn_mempool_put(p, a), 0);
	ASSERT_EQ(tarn_mempool_get_reserved(p, &x, 1), 0);
	EXPECT_EQ(x, a);                     // from the cache, the reserve untouched
	EXPECT_EQ(store_count(p), 64u - 8u); // the first refill took 16/2
	ASSERT_EQ(tarn_mempool_put(p, x), 0);
	EXPECT_EQ(tarn_mempool_check(p), 0);
}

TEST(MempoolReserve, WholePoolReserved)
{
	Pool p("res-all", 8, 16, 0, 0, nullptr, 8);
	void *o[8];
	EXPECT_EQ(tarn_mempool_get(p, &o[0]), -ENOBUFS);
	ASSERT_EQ(tarn_mempool_get_reserved(p, o, 8), 0);
	ASSERT_EQ(tarn_mempool_put_bulk(p, o, 8), 0);
	EXPECT_TRUE(tarn_mempool_full(p));
	EXPECT_EQ(tarn_mempool_check(p), 0);
}

// ---------------------------------------------------------------------------
// stores

TEST(MempoolStack, Lifo)
{
	Pool p("stack", 8, 16, 0, 0, "stack");
	void *o[8], *x[3];
	ASSERT_EQ(tarn_mempool_get_bulk(p, o, 8), 0);
	EXPECT_EQ(tarn_mempool_get(p, &x[0]), -ENOBUFS);
	ASSERT_EQ(tarn_mempool_put(p, o[3]), 0);
	ASSERT_EQ(tarn_mempool_put(p, o[5]), 0);
	ASSERT_EQ(tarn_mempool_get(p, &x[0]), 0);
	EXPECT_EQ(x[0], o[5]);
	ASSERT_EQ(tarn_mempool_get(p, &x[0]), 0);
	EXPECT_EQ(x[0], o[3]);
	// bulk: the last one put is on top
	void *in[3] = { o[0], o[1], o[2] };
	ASSERT_EQ(tarn_mempool_put_bulk(p, in, 3), 0);
	ASSERT_EQ(tarn_mempool_get_bulk(p, x, 3), 0);
	EXPECT_EQ(x[0], o[2]);
	EXPECT_EQ(x[1], o[1]);
	EXPECT_EQ(x[2], o[0]);
	ASSERT_EQ(tarn_mempool_put_bulk(p, o, 8), 0);
	EXPECT_TRUE(tarn_mempool_full(p));
	EXPECT_EQ(tarn_mempool_check(p), 0);
	// all or nothing
	ASSERT_EQ(tarn_mempool_get_bulk(p, o, 6), 0);
	EXPECT_EQ(tarn_mempool_get_bulk(p, x, 3), -ENOBUFS);
	EXPECT_EQ(tarn_mempool_avail_count(p), 2u);
	ASSERT_EQ(tarn_mempool_put_bulk(p, o, 6), 0);
	EXPECT_EQ(tarn_mempool_check(p), 0);
}

// The difference the stack makes: a ring hands back the oldest object.
TEST(MempoolStack, HotObjectFirstUnlikeRing)
{
	for (const char *ops : { "ring_mp_mc", "stack" }) {
		Pool p("hotstore", 8, 16, 0, 0, ops);
		void *o[8], *x;
		ASSERT_EQ(tarn_mempool_get_bulk(p, o, 8), 0);
		ASSERT_EQ(tarn_mempool_put_bulk(p, o, 7), 0);
		ASSERT_EQ(tarn_mempool_put(p, o[7]), 0);
		ASSERT_EQ(tarn_mempool_get(p, &x), 0);
		EXPECT_EQ(x, strcmp(ops, "stack") == 0 ? o[7] : o[0]) << ops;
		ASSERT_EQ(tarn_mempool_put(p, x), 0);
		EXPECT_EQ(tarn_mempool_check(p), 0);
	}
}

// A store written by the user, registered by name.
struct VecStore {
	std::mutex mu;
	std::vector<void *> v;
};

int vec_alloc(struct tarn_mempool *mp)
{
	mp->store = new VecStore;
	return 0;
}
void vec_free(struct tarn_mempool *mp)
{
	delete static_cast<VecStore *>(mp->store);
}
int vec_enq(struct tarn_mempool *mp, void *const *objs, unsigned n)
{
	VecStore *s = static_cast<VecStore *>(mp->store);
	std::lock_guard<std::mutex> g(s->mu);
	s->v.insert(s->v.end(), objs, objs + n);
	return 0;
}
int vec_deq(struct tarn_mempool *mp, void **objs, unsigned n)
{
	VecStore *s = static_cast<VecStore *>(mp->store);
	std::lock_guard<std::mutex> g(s->mu);
	if (s->v.size() < n)
		return -ENOBUFS;
	for (unsigned i = 0; i < n; i++) {
		objs[i] = s->v.back();
		s->v.pop_back();
	}
	return 0;
}
unsigned vec_count(const struct tarn_mempool *mp)
{
	VecStore *s = static_cast<VecStore *>(mp->store);
	std::lock_guard<std::mutex> g(s->mu);
	return (unsigned)s->v.size();
}
int fail_alloc(struct tarn_mempool *)
{
	return -ENOMEM;
}

// ---------------------------------------------------------------------------
// no object lost: stores that break their contract, single-producer stores
// and threads that come and go, no thread key

// Stores on a tarn ring, with faults a test switches on: `drop` makes the
// next enqueue keep all but its last object and still return 0 (a lossy
// store), `refuse` makes enqueues fail with -ENOBUFS (a store that cannot
// take what the pool gives it). `sp_watch` records the threads that enqueue
// and whether two ever did at the same time.
struct FaultyStore {
	static inline std::atomic<int> drop{ 0 }, refuse{ 0 };
	static inline std::atomic<int> in_enq{ 0 }, overlap{ 0 };
	static inline std::atomic<bool> watch{ false };
	static inline std::mutex mu;
	static inline std::set<pid_t> enq_tids;
};

int fs_alloc(struct tarn_mempool *mp)
{
	char name[TARN_NAME_SIZE];
	snprintf(name, sizeof(name), "fs:%.20s", tarn_mempool_name(mp));
	struct tarn_ring *r =
	    tarn_ring_create(name, tarn_mempool_size(mp), TARN_SOCKET_ANY, TARN_RING_F_EXACT_SZ);
	if (r == nullptr)
		return -(int)tarn_errno;
	mp->store = r;
	return 0;
}
void fs_free(struct tarn_mempool *mp)
{
	tarn_ring_free(static_cast<struct tarn_ring *>(mp->store));
}
int fs_enq(struct tarn_mempool *mp, void *const *objs, unsigned n)
{
	auto *r = static_cast<struct tarn_ring *>(mp->store);
	if (FaultyStore::watch) {
		if (FaultyStore::in_enq.fetch_add(1) != 0)
			FaultyStore::overlap++;
		std::lock_guard<std::mutex> g(FaultyStore::mu);
		FaultyStore::enq_tids.insert((pid_t)syscall(SYS_gettid));
	}
	int rc = 0;
	if (FaultyStore::refuse)
		rc = -ENOBUFS;
	else if (n > 0 && FaultyStore::drop.exchange(0) != 0)
		rc = tarn_ring_mp_enqueue_bulk(r, objs, n - 1, nullptr) == n - 1 ? 0 : -ENOBUFS;
	else
		rc = tarn_ring_mp_enqueue_bulk(r, objs, n, nullptr) == n ? 0 : -ENOBUFS;
	if (FaultyStore::watch)
		FaultyStore::in_enq--;
	return rc;
}
int fs_deq(struct tarn_mempool *mp, void **objs, unsigned n)
{
	auto *r = static_cast<struct tarn_ring *>(mp->store);
	return tarn_ring_mc_dequeue_bulk(r, objs, n, nullptr) == n ? 0 : -ENOBUFS;
}
unsigned fs_count(const struct tarn_mempool *mp)
{
	return tarn_ring_count(static_cast<const struct tarn_ring *>(mp->store));
}

void faulty_ops_register(const char *name, unsigned flags)
{
	struct tarn_mempool_ops ops;
	memset(&ops, 0, sizeof(ops));
	snprintf(ops.name, sizeof(ops.name), "%s", name);
	ops.alloc = fs_alloc;
	ops.free = fs_free;
	ops.enqueue = fs_enq;
	ops.dequeue = fs_deq;
	ops.count = fs_count;
	ops.flags = flags;
	int rc = tarn_mempool_ops_register(&ops);
	ASSERT_TRUE(rc == 0 || rc == -EEXIST) << rc;
}

// A store that drops an object while saying it took it: outside debug mode
// the check used to see only "store + caches <= n" and took the lost object
// for one in use. The conservation sum (store + caches + stash + handed out
// - taken back == n) finds it in every build.
TEST(MempoolNoLoss, CheckFindsAnObjectTheStoreLost)
{
	faulty_ops_register("test_faulty", 0);
	for (unsigned cache : { 0u, 16u }) {
		SCOPED_TRACE("cache " + std::to_string(cache));
		Pool p("lossy", 64, 32, cache, 0, "test_faulty");
		ASSERT_NE(p.mp, nullptr);
		std::vector<void *> o(64);
		ASSERT_EQ(tarn_mempool_get_bulk(p, o.data(), 40), 0);
		ASSERT_EQ(tarn_mempool_put_bulk(p, o.data(), 40), 0);
		EXPECT_EQ(tarn_mempool_check(p), 0) << MpLog::last();
		// through the store again, one object dropped on the way
		ASSERT_EQ(tarn_mempool_get_bulk(p, o.data(), 40), 0);
		FaultyStore::drop = 1;
		ASSERT_EQ(tarn_mempool_put_bulk(p, o.data(), 40), 0); // the store lied
		// (40 > the cache: straight to the store)
		EXPECT_EQ(FaultyStore::drop.load(), 0) << "the put reached the store";
		MpLog::clear();
		EXPECT_EQ(tarn_mempool_in_use_count(p), 1u) << "looks like an object in use";
		EXPECT_EQ(tarn_mempool_check(p), -EUCLEAN);
		EXPECT_TRUE(MpLog::contains("1 object(s) lost")) << MpLog::last();
		// and freeing the pool (as tarn-fwd's leak check at exit does)
		// says it is lost, not held
		EXPECT_EQ(tarn_mempool_free(p, 0), -EBUSY);
		EXPECT_TRUE(MpLog::contains("1 of them were never handed out")) << MpLog::last();
		FaultyStore::drop = 0;
	}
}

// A store that refuses: the put fails with -ENOBUFS and the objects stay
// the caller's (direct put, cache flush); a cache given back at thread exit
// goes to the stash. Nothing is lost, every count stays exact, and the
// check passes throughout. (It used to return 0 and drop the objects.)
TEST(MempoolNoLoss, RefusedPutFailsAndLosesNothing)
{
	faulty_ops_register("test_faulty", 0);
	MpLog::clear();
	{
		Pool p("refuse0", 64, 32, 0, 0, "test_faulty");
		ASSERT_NE(p.mp, nullptr);
		void *o[8];
		ASSERT_EQ(tarn_mempool_get_bulk(p, o, 8), 0);
		FaultyStore::refuse = 1;
		EXPECT_EQ(tarn_mempool_put_bulk(p, o, 8), -ENOBUFS);
		EXPECT_EQ(tarn_mempool_put(p, o[0]), -ENOBUFS);
		FaultyStore::refuse = 0;
		EXPECT_TRUE(MpLog::contains("refused 8 objects")) << MpLog::last();
		EXPECT_EQ(tarn_mempool_in_use_count(p), 8u) << "still the caller's";
		EXPECT_EQ(tarn_mempool_check(p), 0) << MpLog::last();
		for (void *x : o)
			memset(x, 0, 32); // still usable (ASan: not poisoned)
		EXPECT_EQ(tarn_mempool_put_bulk(p, o, 8), 0);
		EXPECT_TRUE(tarn_mempool_full(p));
		EXPECT_EQ(tarn_mempool_check(p), 0) << MpLog::last();
	}
	{
		Pool p("refuse16", 64, 32, 16, 0, "test_faulty");
		ASSERT_NE(p.mp, nullptr);
		void *o[32];
		ASSERT_EQ(tarn_mempool_get_bulk(p, o, 16), 0);
		ASSERT_EQ(tarn_mempool_get_bulk(p, o + 16, 16), 0);
		ASSERT_EQ(tarn_mempool_put_bulk(p, o, 16), 0); // the cache is full now
		FaultyStore::refuse = 1;
		EXPECT_EQ(tarn_mempool_put_bulk(p, o + 16, 8), -ENOBUFS);       // flush refused
		EXPECT_EQ(tarn_mempool_put_bulk(p, o + 16, 32 - 16), -ENOBUFS); // too: 16 = size
		FaultyStore::refuse = 0;
		EXPECT_EQ(tarn_mempool_in_use_count(p), 16u);
		EXPECT_EQ(tarn_mempool_check(p), 0) << MpLog::last();
		EXPECT_EQ(tarn_mempool_put_bulk(p, o + 16, 16), 0);
		EXPECT_TRUE(tarn_mempool_full(p));
		EXPECT_EQ(tarn_mempool_check(p), 0) << MpLog::last();

		// a thread exits with a cache the store refuses: to the stash
		std::thread t([&] {
			void *x[4];
			ASSERT_EQ(tarn_mempool_get_bulk(p, x, 4), 0);
			ASSERT_EQ(tarn_mempool_put_bulk(p, x, 4), 0);
			FaultyStore::refuse = 1;
		});
		t.join();
		FaultyStore::refuse = 0;
		EXPECT_TRUE(MpLog::contains("stash")) << MpLog::last();
		EXPECT_TRUE(tarn_mempool_full(p)) << tarn_mempool_avail_count(p);
		EXPECT_EQ(tarn_mempool_check(p), 0) << MpLog::last();
		// and every object can be had again, the stashed ones included
		std::vector<void *> all(64);
		ASSERT_EQ(tarn_mempool_get_bulk(p, all.data(), 64), 0);
		std::set<void *> uniq(all.begin(), all.end());
		EXPECT_EQ(uniq.size(), 64u);
		ASSERT_EQ(tarn_mempool_put_bulk(p, all.data(), 64), 0);
		EXPECT_EQ(tarn_mempool_check(p), 0) << MpLog::last();
	}
}

// Store ops that say they are single-producer (TARN_MEMPOOL_OPS_F_SP): with
// one putter thread and getter threads that come and go (exit, unregister,
// flush their own cache), every enqueue comes from the putter, never two at
// once, and every object comes back. (A thread's exit used to enqueue its
// cache: a second producer.)
TEST(MempoolNoLoss, SingleProducerStoreSeesOnlyItsProducer)
{
	faulty_ops_register("test_faulty_sp", TARN_MEMPOOL_OPS_F_SP);
	const unsigned n = 512;
	Pool p("spwatch", n, 32, 32, 0, "test_faulty_sp");
	ASSERT_NE(p.mp, nullptr);
	{
		std::lock_guard<std::mutex> g(FaultyStore::mu);
		FaultyStore::enq_tids.clear();
	}
	FaultyStore::overlap = 0;
	FaultyStore::watch = true;

	struct tarn_ring *handoff =
	    tarn_ring_create("sp_handoff", 1024, TARN_SOCKET_ANY, TARN_RING_F_SC_DEQ);
	ASSERT_NE(handoff, nullptr);
	std::atomic<bool> stop{ false };
	pid_t putter_tid = 0;
	std::thread putter([&] {
		putter_tid = (pid_t)syscall(SYS_gettid);
		void *o[64];
		for (;;) {
			unsigned k = tarn_ring_dequeue_burst(handoff, o, 64, nullptr);
			if (k == 0) {
				if (stop)
					break;
				std::this_thread::yield();
				continue;
			}
			ASSERT_EQ(tarn_mempool_put_bulk(p, o, k), 0);
		}
	});
	for (int i = 0; i < (MP_TEST_SANITIZED ? 60 : 300); i++) {
		// getters one at a time (the SC side is free, but keep it simple)
		std::thread g([&, i] {
			if (i % 3 == 1) {
				ASSERT_GE(tarn_thread_register(), 0);
			}
			void *o[8];
			if (tarn_mempool_get_bulk(p, o, 8) == 0)
				while (tarn_ring_enqueue_bulk(handoff, o, 8, nullptr) == 0)
					std::this_thread::yield();
			if (i % 3 == 1) {
				EXPECT_EQ(tarn_thread_unregister(), 0);
			} else if (i % 3 == 2) {
				EXPECT_GE(tarn_mempool_cache_flush(p, TARN_MEMPOOL_FLUSH_SELF), 0);
			}
		});
		g.join();
	}
	while (!tarn_ring_empty(handoff))
		std::this_thread::yield();
	stop = true;
	putter.join();
	FaultyStore::watch = false;
	EXPECT_EQ(FaultyStore::overlap.load(), 0) << "two enqueues at once";
	{
		std::lock_guard<std::mutex> g(FaultyStore::mu);
		EXPECT_EQ(FaultyStore::enq_tids.size(), 1u);
		EXPECT_EQ(FaultyStore::enq_tids.count(putter_tid), 1u) << "an enqueue by a getter";
	}
	EXPECT_TRUE(tarn_mempool_full(p)) << tarn_mempool_avail_count(p);
	EXPECT_EQ(tarn_mempool_check(p), 0) << MpLog::last();
	EXPECT_EQ(tarn_ring_free(handoff), 0);
}

// pthread_key_create() fails (every key of the process is taken): no thread
// gets a cache, so none can leave objects behind when it exits, and no one
// else's key is written (the key variable used to stay 0, someone else's
// key, and got the thread's slot number). Run in a fresh process: the key
// is made once per process.
void no_key_child()
{
	std::vector<pthread_key_t> keys;
	pthread_key_t k;
	while (pthread_key_create(&k, nullptr) == 0)
		keys.push_back(k);
	if (keys.empty())
		exit(10);
	const pthread_key_t theirs = keys[0]; // every key is someone's now
	struct tarn_mempool *mp =
	    tarn_mempool_create("nokey", 64, 32, 16, 0, nullptr, nullptr, TARN_SOCKET_ANY, 0);
	if (mp == nullptr)
		exit(11);
	int bad = 0;
	std::thread t([&] {
		void *mark = &bad;
		pthread_setspecific(theirs, mark);
		void *before0 = pthread_getspecific(0);
		void *o[4];
		if (tarn_mempool_get_bulk(mp, o, 4) != 0 || tarn_mempool_put_bulk(mp, o, 4) != 0)
			bad = 12;
		else if (pthread_getspecific(theirs) != mark || pthread_getspecific(0) != before0)
			bad = 13; // another user's key written
		struct tarn_mempool_stats st;
		tarn_mempool_stats(mp, &st);
		if (st.cached != 0)
			bad = 14; // a cache, which nothing would give back at exit
	});
	t.join();
	if (bad != 0)
		exit(bad);
	struct tarn_mempool_stats st;
	tarn_mempool_stats(mp, &st);
	if (!tarn_mempool_full(mp) || st.threads != 0 || tarn_mempool_check(mp) != 0)
		exit(15);
	if (!MpLog::contains("cannot create a thread key"))
		exit(16); // said so
	exit(0);
}

TEST(MempoolNoLossDeathTest, NoThreadKeyMeansNoCacheAndNothingLost)
{
	GTEST_FLAG_SET(death_test_style, "threadsafe");
	EXPECT_EXIT(no_key_child(), ::testing::ExitedWithCode(0), "");
}

// TARN_MEMPOOL_OPS_F_RING_MPMC: the pool calls the ring inline for ops
// that say their store is an MP/MC ring of pointers ("ring_mp_mc"); a copy
// of those ops under another name works the same; ops that declare it with
// another store fail the creation (EINVAL, a log line, nothing left).
// (Before the table fills in RegisterAndLookup: 3 registrations.)
TEST(MempoolOps, RingMpmcCapabilityIsChecked)
{
	const struct tarn_mempool_ops *mpmc = tarn_mempool_ops_lookup("ring_mp_mc");
	ASSERT_NE(mpmc, nullptr);
	EXPECT_EQ(mpmc->flags, TARN_MEMPOOL_OPS_F_RING_MPMC);
	for (const char *b : { "ring_sp_sc", "ring_sp_mc", "ring_mp_sc", "ring_rts", "stack" })
		EXPECT_EQ(tarn_mempool_ops_lookup(b)->flags & TARN_MEMPOOL_OPS_F_RING_MPMC, 0u)
		    << b;

	struct tarn_mempool_ops copy = *mpmc;
	snprintf(copy.name, sizeof(copy.name), "test_mpmc_copy");
	int rc = tarn_mempool_ops_register(&copy);
	ASSERT_TRUE(rc == 0 || rc == -EEXIST) << rc;
	for (unsigned cache : { 0u, 8u }) {
		Pool p("mpmc_copy", 100, 16, cache, 0, "test_mpmc_copy");
		ASSERT_NE(p.mp, nullptr);
		void *o[100];
		ASSERT_EQ(tarn_mempool_get_bulk(p, o, 100), 0);
		EXPECT_EQ(tarn_mempool_get(p, &o[0]), -ENOBUFS);
		ASSERT_EQ(tarn_mempool_put_bulk(p, o, 100), 0);
		EXPECT_TRUE(tarn_mempool_full(p));
		EXPECT_EQ(tarn_mempool_check(p), 0) << MpLog::last();
	}

	// the capability on stores that are not MP/MC rings of pointers
	for (const char *base : { "ring_rts", "ring_sp_sc" }) {
		struct tarn_mempool_ops liar = *tarn_mempool_ops_lookup(base);
		snprintf(liar.name, sizeof(liar.name), "test_%s_as_mpmc", base + 5);
		liar.flags |= TARN_MEMPOOL_OPS_F_RING_MPMC;
		rc = tarn_mempool_ops_register(&liar);
		ASSERT_TRUE(rc == 0 || rc == -EEXIST) << rc;
		MpLog::clear();
		struct tarn_mempool_params p = params("liar", 64, 16, 0);
		p.ops_name = liar.name;
		expect_create_fails(p, EINVAL);
		EXPECT_TRUE(MpLog::contains("declare TARN_MEMPOOL_OPS_F_RING_MPMC"))
		    << MpLog::last();
		// nothing left: the name and its memory can be had again
		p.ops_name = nullptr;
		Pool ok(p);
		EXPECT_NE(ok.mp, nullptr);
	}
}

TEST(MempoolOps, RegisterAndLookup)
{
	struct tarn_mempool_ops ops;
	memset(&ops, 0, sizeof(ops));
	snprintf(ops.name, sizeof(ops.name), "test_vec");
	ops.alloc = vec_alloc;
	ops.free = vec_free;
	ops.enqueue = vec_enq;
	ops.dequeue = vec_deq;
	ops.count = vec_count;
	ASSERT_EQ(tarn_mempool_ops_register(&ops), 0);
	EXPECT_EQ(tarn_mempool_ops_register(&ops), -EEXIST);
	const struct tarn_mempool_ops *found = tarn_mempool_ops_lookup("test_vec");
	ASSERT_NE(found, nullptr);
	EXPECT_EQ(found->dequeue, vec_deq);
	{
		Pool p("vec", 100, 16, 8, 0, "test_vec");
		ASSERT_NE(p.mp, nullptr);
		EXPECT_STREQ(tarn_mempool_ops_name(p), "test_vec");
		void *o[100];
		ASSERT_EQ(tarn_mempool_get_bulk(p, o, 100), 0);
		EXPECT_EQ(tarn_mempool_get(p, &o[0]), -ENOBUFS);
		ASSERT_EQ(tarn_mempool_put_bulk(p, o, 100), 0);
		EXPECT_TRUE(tarn_mempool_full(p));
		EXPECT_EQ(tarn_mempool_check(p), 0); // no ops check: skipped
	}
	// a store that cannot be made: creation fails and undoes everything
	struct tarn_mempool_ops bad = ops;
	snprintf(bad.name, sizeof(bad.name), "test_fail");
	bad.alloc = fail_alloc;
	ASSERT_EQ(tarn_mempool_ops_register(&bad), 0);
	struct tarn_mempool_params p = params("failing", 10, 16, 0);
	p.ops_name = "test_fail";
	expect_create_fails(p, ENOMEM);
	p.ops_name = nullptr;
	Pool ok(p);
	EXPECT_NE(ok.mp, nullptr);

	// errors
	EXPECT_EQ(tarn_mempool_ops_register(nullptr), -EINVAL);
	struct tarn_mempool_ops e = ops;
	e.name[0] = '\0';
	EXPECT_EQ(tarn_mempool_ops_register(&e), -EINVAL);
	e = ops;
	memset(e.name, 'x', sizeof(e.name)); // unterminated
	EXPECT_EQ(tarn_mempool_ops_register(&e), -EINVAL);
	for (int which = 0; which < 5; which++) {
		e = ops;
		snprintf(e.name, sizeof(e.name), "test_missing");
		if (which == 0)
			e.alloc = nullptr;
		if (which == 1)
			e.free = nullptr;
		if (which == 2)
			e.enqueue = nullptr;
		if (which == 3)
			e.dequeue = nullptr;
		if (which == 4)
			e.count = nullptr;
		EXPECT_EQ(tarn_mempool_ops_register(&e), -EINVAL) << which;
	}
	e = ops;
	snprintf(e.name, sizeof(e.name), "test_badflags");
	e.flags = 0x80000000u;
	EXPECT_EQ(tarn_mempool_ops_register(&e), -EINVAL);
	e = ops;
	snprintf(e.name, sizeof(e.name), "stack");
	EXPECT_EQ(tarn_mempool_ops_register(&e), -EEXIST);
	tarn_errno = 0;
	EXPECT_EQ(tarn_mempool_ops_lookup(nullptr), nullptr);
	EXPECT_EQ(tarn_errno, EINVAL);
	EXPECT_EQ(tarn_mempool_ops_lookup(""), nullptr);
	EXPECT_EQ(tarn_errno, EINVAL);
	EXPECT_EQ(tarn_mempool_ops_lookup("nope"), nullptr);
	EXPECT_EQ(tarn_errno, ENOENT);
	for (const char *b :
	     { "ring_mp_mc", "ring_sp_sc", "ring_sp_mc", "ring_mp_sc", "ring_rts", "stack" })
		EXPECT_NE(tarn_mempool_ops_lookup(b), nullptr) << b;
	// fill the table
	int rc = 0;
	for (int i = 0; i < TARN_MEMPOOL_MAX_OPS + 1 && rc == 0; i++) {
		e = ops;
		snprintf(e.name, sizeof(e.name), "test_fill%d", i);
		rc = tarn_mempool_ops_register(&e);
	}
	EXPECT_EQ(rc, -ENOSPC);
}

// ---------------------------------------------------------------------------
// statistics and dumps

TEST(MempoolStats, CountersAndDump)
{
	Pool p("stats", 128, 16, 16);
	void *o[128];
	ASSERT_EQ(tarn_mempool_get_bulk(p, o, 4), 0);     // miss: refill to 8, 4 left
	ASSERT_EQ(tarn_mempool_get_bulk(p, o + 4, 4), 0); // hit
	ASSERT_EQ(tarn_mempool_put_bulk(p, o, 8), 0);
	struct tarn_mempool_stats st;
	ASSERT_EQ(tarn_mempool_stats(p, &st), 0);
	EXPECT_EQ(st.get_objs, 8u);
	EXPECT_EQ(st.hit_objs, 4u);
	EXPECT_EQ(st.put_objs, 8u);
	EXPECT_EQ(st.held, 0);
	EXPECT_EQ(st.refills, 1u);
	EXPECT_EQ(st.refill_objs, 8u);
	EXPECT_EQ(st.threads, 1u);
	EXPECT_EQ(st.cached, 8u);
	EXPECT_EQ(st.fails, 0u);
	ASSERT_EQ(tarn_mempool_get_bulk(p, o, 128), 0);
	EXPECT_EQ(tarn_mempool_get(p, &o[0]), -ENOBUFS);
	ASSERT_EQ(tarn_mempool_stats(p, &st), 0);
	EXPECT_EQ(st.fails, 1u);
	EXPECT_EQ(st.fail_objs, 1u);
	EXPECT_EQ(st.held, 128);
	ASSERT_EQ(tarn_mempool_put_bulk(p, o, 128), 0);

	struct tarn_mempool_thread_stats ts[4];
	EXPECT_EQ(tarn_mempool_thread_stats(p, nullptr, 0), 1);
	EXPECT_EQ(tarn_mempool_thread_stats(p, nullptr, 1), -EINVAL);
	EXPECT_EQ(tarn_mempool_stats(p, nullptr), -EINVAL);
	ASSERT_EQ(tarn_mempool_thread_stats(p, ts, 4), 1);
	EXPECT_EQ(ts[0].lcore, tarn_lcore_id());
	EXPECT_EQ(ts[0].cache_size, 16u);
	EXPECT_GE(ts[0].slot, 1u);

	// a pool without caches counts every get as a miss and a direct get
	Pool u("stats-nocache", 64, 16, 0);
	ASSERT_EQ(tarn_mempool_get_bulk(u, o, 10), 0);
	ASSERT_EQ(tarn_mempool_put_bulk(u, o, 4), 0);
	ASSERT_EQ(tarn_mempool_stats(u, &st), 0);
	EXPECT_EQ(st.get_objs, 10u);
	EXPECT_EQ(st.hit_objs, 0u);
	EXPECT_EQ(st.direct_gets, 10u);
	EXPECT_EQ(st.put_objs, 4u);
	EXPECT_EQ(st.direct_puts, 4u);
	EXPECT_EQ(st.held, 6);
	EXPECT_EQ(st.cached, 0u);
	EXPECT_EQ(st.threads, 1u);
	ASSERT_EQ(tarn_mempool_put_bulk(u, o + 4, 6), 0);

	char *buf = nullptr;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	ASSERT_NE(f, nullptr);
	tarn_mempool_dump(f);
	tarn_mempool_dump_pool(f, p);
	tarn_mempool_dump_pool(f, nullptr);
	fclose(f);
	std::string out(buf, len);
	free(buf);
	EXPECT_NE(out.find("# name"), std::string::npos);
	EXPECT_NE(out.find("stats "), std::string::npos);
	EXPECT_NE(out.find("ring_mp_mc"), std::string::npos);
	EXPECT_NE(out.find("thread slot"), std::string::npos);
	EXPECT_NE(out.find("mempool: NULL"), std::string::npos);
}

// ---------------------------------------------------------------------------
// debug mode

struct DebugPool : Pool {
	DebugPool(const char *name, unsigned n = 32, unsigned elt = 64, unsigned cache = 8)
	    : Pool(name, n, elt, cache, TARN_MEMPOOL_F_DEBUG)
	{
	}
};

TEST(MempoolDebug, EnabledByFlagOrEnv)
{
	{
		DebugPool d("dbg-flag", 32, 96, 8);
		EXPECT_TRUE(tarn_mempool_debug_enabled(d));
		EXPECT_TRUE(tarn_mempool_flags(d) & TARN_MEMPOOL_F_DEBUG);
		// the trailer makes the stride larger than without debug
		Pool n("dbg-none", 32, 96, 8);
		EXPECT_GT(tarn_mempool_obj_stride(d), tarn_mempool_obj_stride(n));
	}
	struct {
		const char *env;
		bool on;
	} cases[] = { { "mempool", true }, { "ring,mempool", true }, { "all", true },
		      { "ring", false },   { "mempoolx", false },    { "", false } };
	for (auto &c : cases) {
		setenv("TARN_DEBUG", c.env, 1);
		Pool p("dbg-env", 16, 16, 4);
		EXPECT_EQ(tarn_mempool_debug_enabled(p) != 0, c.on) << c.env;
	}
	unsetenv("TARN_DEBUG");
}

TEST(MempoolDebug, DoublePut)
{
	DebugPool d("dbl");
	MpLog::clear();
	void *o, *objs[2];
	ASSERT_EQ(tarn_mempool_get(d, &o), 0);
	EXPECT_EQ(tarn_mempool_put(d, o), 0);
	EXPECT_EQ(tarn_mempool_put(d, o), -EINVAL);
	EXPECT_TRUE(MpLog::contains("double put"));
	// twice in one bulk: the first is taken, the second refused
	ASSERT_EQ(tarn_mempool_get(d, &o), 0);
	objs[0] = objs[1] = o;
	EXPECT_EQ(tarn_mempool_put_bulk(d, objs, 2), -EINVAL);
	struct tarn_mempool_stats st;
	ASSERT_EQ(tarn_mempool_stats(d, &st), 0);
	EXPECT_EQ(st.dbg_double_put, 2u);
	EXPECT_EQ(st.put_objs, 2u);
	EXPECT_TRUE(tarn_mempool_full(d));
	EXPECT_EQ(tarn_mempool_check(d), 0);
}

TEST(MempoolDebug, ForeignPointers)
{
	DebugPool d("foreign");
	MpLog::clear();
	void *o;
	ASSERT_EQ(tarn_mempool_get(d, &o), 0);
	int on_stack;
	void *heap = malloc(64);
	void *bad[4] = { &on_stack, heap, static_cast<char *>(o) + 8, nullptr };
	for (void *b : bad)
		EXPECT_EQ(tarn_mempool_put(d, b), -EINVAL);
	// a good one among bad ones is still taken
	void *mix[3] = { &on_stack, o, heap };
	EXPECT_EQ(tarn_mempool_put_bulk(d, mix, 3), -EINVAL);
	free(heap);
	EXPECT_TRUE(MpLog::contains("not an object of this pool"));
	struct tarn_mempool_stats st;
	ASSERT_EQ(tarn_mempool_stats(d, &st), 0);
	EXPECT_EQ(st.dbg_foreign_put, 6u);
	EXPECT_EQ(st.dbg_double_put, 0u);
	EXPECT_TRUE(tarn_mempool_full(d));
	EXPECT_EQ(tarn_mempool_check(d), 0);
}

TEST(MempoolDebug, WrongPool)
{
	DebugPool a("wrong-a");
	Pool b("wrong-b", 32, 64, 8);
	MpLog::clear();
	void *o;
	ASSERT_EQ(tarn_mempool_get(b, &o), 0);
	EXPECT_EQ(tarn_mempool_put(a, o), -EINVAL);
	EXPECT_TRUE(MpLog::contains("an object of pool 'wrong-b'"));
	struct tarn_mempool_stats st;
	ASSERT_EQ(tarn_mempool_stats(a, &st), 0);
	EXPECT_EQ(st.dbg_wrong_pool, 1u);
	EXPECT_TRUE(tarn_mempool_full(a));
	EXPECT_EQ(tarn_mempool_in_use_count(b), 1u);
	EXPECT_EQ(tarn_mempool_put(b, o), 0);
	EXPECT_EQ(tarn_mempool_check(a), 0);
	EXPECT_EQ(tarn_mempool_check(b), 0);
}

TEST(MempoolDebug, OverflowIsCaughtOnPutAndQuarantined)
{
	DebugPool d("overflow", 16, 64, 4);
	MpLog::clear();
	void *o;
	ASSERT_EQ(tarn_mempool_get(d, &o), 0);
	memset(o, 1, 64);                  // the whole element: fine
	static_cast<char *>(o)[64] = 0x55; // one byte past it
	EXPECT_EQ(tarn_mempool_put(d, o), -EINVAL);
	EXPECT_TRUE(MpLog::contains("overflow past the element"));
	struct tarn_mempool_stats st;
	ASSERT_EQ(tarn_mempool_stats(d, &st), 0);
	EXPECT_EQ(st.dbg_overflow, 1u);
	EXPECT_EQ(st.dbg_quarantined, 1u);
	// kept out of circulation: never handed out again
	EXPECT_EQ(tarn_mempool_in_use_count(d), 1u);
	void *all[15];
	ASSERT_EQ(tarn_mempool_get_bulk(d, all, 15), 0);
	for (void *x : all)
		EXPECT_NE(x, o);
	ASSERT_EQ(tarn_mempool_put_bulk(d, all, 15), 0);
	EXPECT_EQ(tarn_mempool_put(d, o), -EINVAL); // still refused
	EXPECT_EQ(tarn_mempool_check(d), 0);
	char *buf = nullptr;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	EXPECT_EQ(tarn_mempool_audit(d, f), 1);
	fclose(f);
	std::string out(buf, len);
	free(buf);
	EXPECT_NE(out.find("quarantined"), std::string::npos) << out;
}

TEST(MempoolDebug, UnderflowIsCaught)
{
	DebugPool d("underflow", 16, 64, 4);
	void *o;
	ASSERT_EQ(tarn_mempool_get(d, &o), 0);
	static_cast<char *>(o)[-1] ^= 0x5a; // the head cookie
	EXPECT_EQ(tarn_mempool_put(d, o), -EINVAL);
	struct tarn_mempool_stats st;
	ASSERT_EQ(tarn_mempool_stats(d, &st), 0);
	EXPECT_EQ(st.dbg_corrupt, 1u);
	EXPECT_EQ(st.dbg_quarantined, 1u);
	EXPECT_EQ(tarn_mempool_in_use_count(d), 1u);
	EXPECT_EQ(tarn_mempool_check(d), 0);
}

TEST(MempoolDebug, CheckFindsWriteAfterPut)
{
	DebugPool d("wap", 16, 64, 0);
	void *o;
	ASSERT_EQ(tarn_mempool_get(d, &o), 0);
	ASSERT_EQ(tarn_mempool_put(d, o), 0);
	EXPECT_EQ(tarn_mempool_check(d), 0);
	uint64_t *trailer = reinterpret_cast<uint64_t *>(static_cast<char *>(o) + 64);
	uint64_t saved = *trailer;
	*trailer = 0;
	MpLog::clear();
	EXPECT_EQ(tarn_mempool_check(d), -EUCLEAN);
	EXPECT_TRUE(MpLog::contains("trailer overwritten"));
	FILE *f = fopen("/dev/null", "w");
	EXPECT_EQ(tarn_mempool_audit(d, f), -EUCLEAN);
	fclose(f);
	*trailer = saved;
	EXPECT_EQ(tarn_mempool_check(d), 0);
}

// Outside debug mode a double put is undefined, but check() notices the
// object twice in a cache.
TEST(MempoolCheck, DuplicateInCacheIsFound)
{
	struct tarn_mempool *mp =
	    tarn_mempool_create("dupcheck", 16, 16, 8, 0, nullptr, nullptr, TARN_SOCKET_ANY, 0);
	ASSERT_NE(mp, nullptr);
	void *o;
	ASSERT_EQ(tarn_mempool_get(mp, &o), 0);
	ASSERT_EQ(tarn_mempool_put(mp, o), 0);
	ASSERT_EQ(tarn_mempool_put(mp, o), 0);
	EXPECT_EQ(tarn_mempool_check(mp), -EUCLEAN);
	EXPECT_EQ(tarn_mempool_free(mp, TARN_MEMPOOL_FREE_FORCE), 0);
}

struct AuditWork {
	struct tarn_mempool *mp;
	void *objs[3];
	int32_t tid;
};

int audit_take(void *arg)
{
	AuditWork *w = static_cast<AuditWork *>(arg);
	w->tid = (int32_t)syscall(SYS_gettid);
	return tarn_mempool_get_bulk(w->mp, w->objs, 3);
}

int audit_give(void *arg)
{
	AuditWork *w = static_cast<AuditWork *>(arg);
	return tarn_mempool_put_bulk(w->mp, w->objs, 3);
}

TEST(MempoolDebug, AuditListsOwners)
{
	DebugPool d("audit", 32, 64, 8);
	void *mine[2];
	ASSERT_EQ(tarn_mempool_get_bulk(d, mine, 2), 0);
	AuditWork w{ d.mp, {}, 0 };
	uint32_t wk = mp_test_worker();
	std::string who;
	if (wk != TARN_LCORE_ID_ANY) {
		ASSERT_EQ(tarn_lcore_launch(wk, audit_take, &w), 0);
		int ret = -1;
		ASSERT_EQ(tarn_lcore_wait(wk, &ret), 0);
		ASSERT_EQ(ret, 0);
		who = "lcore " + std::to_string(wk) + " thread " + std::to_string(w.tid);
	} else {
		std::thread th([&] { audit_take(&w); });
		th.join();
		who = "lcore -1 thread " + std::to_string(w.tid);
	}
	char *buf = nullptr;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	EXPECT_EQ(tarn_mempool_audit(d, f), 5);
	fclose(f);
	std::string out(buf, len);
	free(buf);
	std::string me = "lcore " + std::to_string((int)tarn_lcore_id()) + " thread " +
	                 std::to_string((int)syscall(SYS_gettid));
	size_t count_me = 0, count_w = 0, pos = 0;
	while ((pos = out.find(me, pos)) != std::string::npos) {
		count_me++;
		pos++;
	}
	pos = 0;
	while ((pos = out.find(who, pos)) != std::string::npos) {
		count_w++;
		pos++;
	}
	EXPECT_EQ(count_me, 2u) << out;
	EXPECT_EQ(count_w, 3u) << out;
	EXPECT_NE(out.find("5 in use"), std::string::npos) << out;

	// -EBUSY names the owners in the log; forcing works
	MpLog::clear();
	EXPECT_EQ(tarn_mempool_free(d, 0), -EBUSY);
	EXPECT_TRUE(MpLog::contains("still in use"));
	EXPECT_TRUE(MpLog::contains(who.c_str()));
	if (wk != TARN_LCORE_ID_ANY) {
		ASSERT_EQ(tarn_lcore_launch(wk, audit_give, &w), 0);
		ASSERT_EQ(tarn_lcore_wait(wk, nullptr), 0);
	} else {
		ASSERT_EQ(audit_give(&w), 0);
	}
	EXPECT_EQ(tarn_mempool_in_use_count(d), 2u);
	EXPECT_EQ(tarn_mempool_free(d, 0), -EBUSY);
	EXPECT_EQ(tarn_mempool_free(d, TARN_MEMPOOL_FREE_FORCE), 0);
	d.mp = nullptr;
}

TEST(MempoolDebug, AuditWithoutDebug)
{
	Pool p("audit-nodbg", 16, 16, 4);
	void *o;
	ASSERT_EQ(tarn_mempool_get(p, &o), 0);
	char *buf = nullptr;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	EXPECT_EQ(tarn_mempool_audit(p, f), 1);
	fclose(f);
	std::string out(buf, len);
	free(buf);
	EXPECT_NE(out.find("debug mode only"), std::string::npos);
	ASSERT_EQ(tarn_mempool_put(p, o), 0);
}

#ifdef TARN_MEMPOOL_ASAN
// A use after put is reported by AddressSanitizer (objects in the pool are
// poisoned), in debug mode and outside it.
TEST(MempoolAsanDeathTest, UseAfterPut)
{
	GTEST_FLAG_SET(death_test_style, "threadsafe");
	for (unsigned flags : { 0u, TARN_MEMPOOL_F_DEBUG }) {
		Pool p("asan", 16, 64, 8, flags);
		void *o;
		ASSERT_EQ(tarn_mempool_get(p, &o), 0);
		memset(o, 1, 64); // fine while in use
		ASSERT_EQ(tarn_mempool_put(p, o), 0);
		EXPECT_DEATH(static_cast<volatile char *>(o)[3] = 2, "use-after-poison");
		ASSERT_EQ(tarn_mempool_get(p, &o), 0); // unpoisoned again
		static_cast<volatile char *>(o)[3] = 2;
		ASSERT_EQ(tarn_mempool_put(p, o), 0);
	}
}
#endif

// ---------------------------------------------------------------------------
// tarn_cleanup() frees the pools; nothing works before tarn_init()

TEST(MempoolZLast, CleanupFreesPoolsAndInitIsNeeded)
{
	struct tarn_mempool *mp =
	    tarn_mempool_create("survivor", 64, 16, 8, 0, nullptr, nullptr, TARN_SOCKET_ANY, 0);
	ASSERT_NE(mp, nullptr);
	void *o;
	ASSERT_EQ(tarn_mempool_get(mp, &o), 0); // one left out: cleanup says so
	MpLog::clear();
	ASSERT_EQ(tarn_cleanup(), 0);
	EXPECT_TRUE(MpLog::contains("'survivor' freed with 1 objects in use"));
	tarn_errno = 0;
	EXPECT_EQ(tarn_mempool_create("late", 8, 8, 0, 0, nullptr, nullptr, TARN_SOCKET_ANY, 0),
	          nullptr);
	EXPECT_EQ(tarn_errno, EINVAL);
	mp_test_init();
	EXPECT_EQ(tarn_mempool_lookup("survivor"), nullptr);
	EXPECT_EQ(tarn_errno, ENOENT);
	// pools work again after re-initialisation, on every lcore
	Pool p("after", 64, 16, 8);
	std::vector<void *> held;
	LcoreWork w{ p.mp, 10, 10, &held };
	if (mp_test_worker() != TARN_LCORE_ID_ANY) {
		ASSERT_EQ(tarn_lcore_launch(mp_test_worker(), lcore_work, &w), 0);
		int ret = -1;
		ASSERT_EQ(tarn_lcore_wait(mp_test_worker(), &ret), 0);
		EXPECT_EQ(ret, 0);
	}
	EXPECT_TRUE(tarn_mempool_full(p));
}

} // namespace
