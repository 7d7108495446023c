/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * backend.c - the OS layer: one struct tarn__mem_backend per tier.
 *
 *   hugetlbfs     a file <prefix>.tarnseg.<pid>.<node>.<n> in a hugetlbfs
 *                 mount, mode 0600, flock(LOCK_SH) while mapped, removed at
 *                 release (or by the next init after a crash)
 *   memfd         memfd_create(MFD_HUGETLB): no file to leave behind
 *   anon-hugetlb  mmap(MAP_ANONYMOUS | MAP_HUGETLB)
 *   thp           anonymous memory with madvise(MADV_HUGEPAGE)
 *   4k            anonymous memory
 *
 * Every mapping is first reserved as PROT_NONE address space at the wanted
 * alignment, then the backend maps over it with MAP_FIXED; mbind(MPOL_BIND)
 * is applied before any page is touched; pages are faulted in with
 * madvise(MADV_POPULATE_WRITE), which fails with an error where touching the
 * memory would raise SIGBUS (hugepages gone).
 */
#include <fcntl.h>
#include <linux/memfd.h>
#include <numaif.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mem_priv.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
#ifndef MFD_HUGETLB
#define MFD_HUGETLB 0x0004U
#endif
#ifndef MAP_HUGE_SHIFT
#define MAP_HUGE_SHIFT 26
#endif

/* log2 of a power of two. */
static unsigned ilog2(uint64_t v)
{
	return 63u - (unsigned)__builtin_clzll(v);
}

/*
 * Reserve `len` bytes of address space at `a` with (a + off) % align == 0,
 * PROT_NONE, nothing committed. Returns the address or NULL (errno set).
 */
static void *va_reserve(size_t len, uint64_t align, uint64_t off)
{
	size_t span = len + align;
	if (span < len) {
		errno = ENOMEM;
		return NULL;
	}
	/* Under IOVA as VA, ask for low addresses (see tarn__mem_ctx.va_hint);
	 * a hint the kernel cannot honour only moves the mapping. */
	uint64_t hint = __atomic_load_n(&tarn__mem.ctx.va_hint, __ATOMIC_RELAXED);
	if (hint != 0)
		hint = __atomic_fetch_add(&tarn__mem.ctx.va_hint, TARN_ALIGN_CEIL(span, align),
		                          __ATOMIC_RELAXED);
	void *base = TARN__FAULT("mmap-reserve", ENOMEM)
	                 ? MAP_FAILED
	                 : mmap((void *)(uintptr_t)hint, span, PROT_NONE,
	                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (base == MAP_FAILED)
		return NULL;
	uintptr_t b = (uintptr_t)base;
	uintptr_t a = TARN_ALIGN_CEIL(b + off, align) - off;
	if (a < b)
		a += align;
	if (a > b)
		munmap(base, a - b);
	if (b + span > a + len)
		munmap((void *)(a + len), b + span - (a + len));
	return (void *)a;
}

/* Bind [addr, addr+len) to `node` before it is touched. */
static int bind_node(const struct tarn__mem_ctx *ctx, void *addr, size_t len, int node)
{
	if (!ctx->numa)
		return 0;
	unsigned long mask[TARN_MAX_SOCKETS / (8 * sizeof(unsigned long)) + 1] = { 0 };
	mask[node / (8 * sizeof(unsigned long))] = 1ul << (node % (8 * sizeof(unsigned long)));
	/* maxnode counts bits; the kernel reads maxnode - 1 of them. */
	if (TARN__FAULT("mbind", EIO) ||
	    mbind(addr, len, MPOL_BIND, mask, sizeof(mask) * 8, 0) != 0)
		return -errno;
	return 0;
}

static int populate_write_missing; /* relaxed: a hint, any value is safe */

/*
 * Fault every page in. With MADV_POPULATE_WRITE the kernel reports a missing
 * hugepage as an error; kernels before 5.14 lack it, and there every page is
 * written instead, which is safe only because the caller checked the free
 * hugepages of the node first (segment.c).
 */
static int populate_range(void *addr, size_t len, uint64_t page)
{
	if (!__atomic_load_n(&populate_write_missing, __ATOMIC_RELAXED)) {
		for (;;) {
			if (TARN__FAULT("populate", ENOMEM))
				return -ENOMEM;
			if (madvise(addr, len, MADV_POPULATE_WRITE) == 0)
				return 0;
			if (errno == EINTR || errno == EAGAIN)
				continue;
			break;
		}
		if (errno != EINVAL)
			/* EFAULT is what a hugepage shortage (SIGBUS) becomes. */
			return errno == EFAULT || errno == ENOMEM ? -ENOMEM : -errno;
		__atomic_store_n(&populate_write_missing, 1, __ATOMIC_RELAXED);
	}
	for (size_t off = 0; off < len; off += page)
		*(volatile char *)((char *)addr + off) = 0;
	return 0;
}

static int generic_populate(const struct tarn__mem_ctx *ctx, struct tarn__mem_seg *seg)
{
	int rc = bind_node(ctx, seg->addr, seg->len, seg->socket);
	if (rc < 0)
		return rc;
	return populate_range(seg->addr, seg->len, seg->page_size);
}

static int generic_node_of(const void *addr)
{
	void *page = (void *)TARN_ALIGN_FLOOR((uintptr_t)addr, TARN__PAGE_4K);
	int status = -1;
	if (move_pages(0, 1, &page, NULL, &status, 0) != 0)
		return errno == ENOSYS ? 0 : -errno;
	return status; /* a node, or -EFAULT / -ENOENT */
}

static int unmap_seg(struct tarn__mem_seg *seg)
{
	int rc = 0;
	if (seg->addr != NULL && munmap(seg->addr, seg->len) != 0)
		rc = -errno;
	seg->addr = NULL;
	return rc;
}

/* ---- hugetlbfs ---------------------------------------------------------- */

static int hugetlbfs_probe(const struct tarn__mem_ctx *ctx, char *why, size_t whylen)
{
	if (ctx->huge_page_size == 0) {
		snprintf(why, whylen, "no hugepage size");
		return -ENOTSUP;
	}
	if (ctx->huge_dir[0] == '\0') {
		snprintf(why, whylen, "no hugetlbfs mount for %llu kB pages",
		         (unsigned long long)(ctx->huge_page_size >> 10));
		return -ENOENT;
	}
	if (access(ctx->huge_dir, W_OK | X_OK) != 0) {
		int e = errno;
		snprintf(why, whylen, "%s: %s", ctx->huge_dir, strerror(e));
		return -e;
	}
	return 0;
}

#ifdef TARN_FAULT_INJECTION
/* Test builds: called right after a hugepage file is created, before it is
 * locked (tests/mem: a stale-file cleaner of another process holding the
 * lock at that moment). */
void (*tarn__mem_hugefile_created_hook)(const char *path);
#endif

/*
 * Take the shared lock that marks a new hugepage file as in use, as the
 * stale-file cleaner expects (tarn__huge_clean_stale(): it removes only
 * files whose LOCK_EX it can take). Between our open(O_EXCL) and this call
 * a cleaner of another process may hold LOCK_EX on the file for the few
 * system calls it takes to look at it: wait for it (briefly, with a bound:
 * its hold is microseconds; a minute-long one is a stuck process), then
 * make sure the file is still the one at our path (a cleaner that found it
 * stale, e.g. after a clock step made it look old, has unlinked it).
 * Returns 0 (locked, still ours), 1 (unlinked meanwhile: take another
 * name) or a negative errno.
 */
static int hugefile_lock_new(int fd, const char *path)
{
	unsigned wait_us = 10;
	uint64_t waited_us = 0;

	while (flock(fd, LOCK_SH | LOCK_NB) != 0) {
		if (errno == EINTR)
			continue;
		if (errno != EWOULDBLOCK)
			return -errno;
		if (waited_us >= 2000000) {
			TARN__ERR(MEM_LOG, "%s: locked by another process for 2 s", path);
			return -EBUSY;
		}
		usleep(wait_us);
		waited_us += wait_us;
		if (wait_us < 10000)
			wait_us *= 2;
	}
	struct stat mine, there;
	if (fstat(fd, &mine) != 0)
		return -errno;
	if (mine.st_nlink == 0 || stat(path, &there) != 0 || there.st_ino != mine.st_ino ||
	    there.st_dev != mine.st_dev) {
		TARN__DEBUG(MEM_LOG, "%s: removed by a stale-file cleaner right after creation",
		            path);
		return 1;
	}
	return 0;
}

/*
 * Create and lock a new hugepage file for `seg`, named in seg->path: its
 * fd, or -errno (seg->path empty, nothing left). A name taken by a crashed
 * process with our pid (in another mount than the one cleaned at init) is
 * skipped, not reused; a file removed by another process's cleaner before
 * we locked it too.
 */
static int hugefile_create(struct tarn__mem_ctx *ctx, struct tarn__mem_seg *seg)
{
	for (int tries = 0; tries < 16; tries++) {
		/* Relaxed: only the uniqueness of the number matters. */
		unsigned n = __atomic_fetch_add(&ctx->next_file[seg->socket], 1, __ATOMIC_RELAXED);
		int len = snprintf(seg->path, sizeof(seg->path), "%s/%s.tarnseg.%d.%d.%u",
		                   ctx->huge_dir, ctx->prefix, (int)getpid(), seg->socket, n);
		if (len < 0 || (size_t)len >= sizeof(seg->path)) {
			seg->path[0] = '\0';
			return -ENAMETOOLONG;
		}
		int fd = TARN__FAULT("open-hugefile", EACCES)
		             ? -1
		             : open(seg->path, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
		if (fd < 0 && errno != EEXIST) {
			int rc = -errno;
			seg->path[0] = '\0';
			return rc;
		}
		if (fd < 0)
			continue;
#ifdef TARN_FAULT_INJECTION
		if (tarn__mem_hugefile_created_hook != NULL)
			tarn__mem_hugefile_created_hook(seg->path);
#endif
		/* Shared lock first: from here on a cleaner sees the file as in
		 * use. */
		int rc = hugefile_lock_new(fd, seg->path);
		if (rc == 1) {
			close(fd); /* not ours to unlink any more */
			continue;
		}
		if (rc < 0) {
			unlink(seg->path);
			close(fd);
			seg->path[0] = '\0';
			return rc;
		}
		return fd;
	}
	seg->path[0] = '\0';
	return -EEXIST;
}

static int hugetlbfs_reserve(struct tarn__mem_ctx *ctx, struct tarn__mem_seg *seg,
                             uint64_t va_align, uint64_t va_offset)
{
	int fd = hugefile_create(ctx, seg), rc;
	if (fd < 0)
		return fd;
	if (fchmod(fd, 0600) != 0 || TARN__FAULT("ftruncate-hugefile", ENOSPC) ||
	    ftruncate(fd, (off_t)seg->len) != 0) {
		rc = -errno;
		goto fail;
	}
	void *va = va_reserve(seg->len, va_align, va_offset);
	if (va == NULL) {
		rc = -errno;
		goto fail;
	}
	/* MAP_FIXED over our own PROT_NONE reservation. Without
	 * MAP_NORESERVE the kernel reserves the hugepages now (globally). */
	void *a = TARN__FAULT("mmap-hugefile", ENOMEM)
	              ? MAP_FAILED
	              : mmap(va, seg->len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0);
	if (a == MAP_FAILED) {
		rc = -errno;
		munmap(va, seg->len);
		goto fail;
	}
	seg->addr = a;
	seg->fd = fd;
	return 0;
fail:
	unlink(seg->path);
	close(fd);
	seg->path[0] = '\0';
	return rc;
}

static int file_release(struct tarn__mem_seg *seg)
{
	int rc = unmap_seg(seg);
	/* Unlink while the lock is still held, then close (drops the lock). */
	if (seg->path[0] != '\0' && unlink(seg->path) != 0 && rc == 0)
		rc = -errno;
	seg->path[0] = '\0';
	if (seg->fd >= 0 && close(seg->fd) != 0 && rc == 0)
		rc = -errno;
	seg->fd = -1;
	return rc;
}

static const struct tarn__mem_backend be_hugetlbfs = {
	.name = "hugetlbfs",
	.tier = TARN__TIER_HUGETLBFS,
	.huge = true,
	.probe = hugetlbfs_probe,
	.reserve = hugetlbfs_reserve,
	.populate = generic_populate,
	.release = file_release,
	.node_of = generic_node_of,
};

/* ---- memfd MFD_HUGETLB -------------------------------------------------- */

static int memfd_open(uint64_t page_size, const char *name)
{
	unsigned flags = MFD_CLOEXEC | MFD_HUGETLB | (ilog2(page_size) << MFD_HUGE_SHIFT);
	return memfd_create(name, flags);
}

static int memfd_probe(const struct tarn__mem_ctx *ctx, char *why, size_t whylen)
{
	if (ctx->huge_page_size == 0) {
		snprintf(why, whylen, "no hugepage size");
		return -ENOTSUP;
	}
	int fd = memfd_open(ctx->huge_page_size, "tarn-probe");
	if (fd < 0) {
		int e = errno;
		snprintf(why, whylen, "memfd_create(MFD_HUGETLB): %s", strerror(e));
		return -e;
	}
	close(fd);
	return 0;
}

static int memfd_reserve(struct tarn__mem_ctx *ctx, struct tarn__mem_seg *seg, uint64_t va_align,
                         uint64_t va_offset)
{
	char name[64];
	snprintf(name, sizeof(name), "%s.tarnseg.%d", ctx->prefix, seg->socket);
	int fd = TARN__FAULT("memfd", ENOMEM) ? -1 : memfd_open(seg->page_size, name);
	if (fd < 0)
		return -errno;
	int rc;
	if (ftruncate(fd, (off_t)seg->len) != 0) {
		rc = -errno;
		goto fail;
	}
	void *va = va_reserve(seg->len, va_align, va_offset);
	if (va == NULL) {
		rc = -errno;
		goto fail;
	}
	void *a = mmap(va, seg->len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0);
	if (a == MAP_FAILED) {
		rc = -errno;
		munmap(va, seg->len);
		goto fail;
	}
	seg->addr = a;
	seg->fd = fd;
	seg->path[0] = '\0';
	return 0;
fail:
	close(fd);
	return rc;
}

static const struct tarn__mem_backend be_memfd = {
	.name = "memfd",
	.tier = TARN__TIER_MEMFD,
	.huge = true,
	.probe = memfd_probe,
	.reserve = memfd_reserve,
	.populate = generic_populate,
	.release = file_release,
	.node_of = generic_node_of,
};

/* ---- anonymous MAP_HUGETLB ---------------------------------------------- */

static int anon_huge_probe(const struct tarn__mem_ctx *ctx, char *why, size_t whylen)
{
	if (ctx->huge_page_size == 0) {
		snprintf(why, whylen, "no hugepage size");
		return -ENOTSUP;
	}
	return 0;
}

/* Anonymous memory over a reservation. */
static int anon_map(struct tarn__mem_seg *seg, uint64_t va_align, uint64_t va_offset, int flags)
{
	void *va = va_reserve(seg->len, va_align, va_offset);
	if (va == NULL)
		return -errno;
	void *a = TARN__FAULT("mmap-anon", ENOMEM)
	              ? MAP_FAILED
	              : mmap(va, seg->len, PROT_READ | PROT_WRITE,
	                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | flags, -1, 0);
	if (a == MAP_FAILED) {
		int rc = -errno;
		munmap(va, seg->len);
		return rc;
	}
	seg->addr = a;
	seg->fd = -1;
	seg->path[0] = '\0';
	return 0;
}

static int anon_huge_reserve(struct tarn__mem_ctx *ctx, struct tarn__mem_seg *seg,
                             uint64_t va_align, uint64_t va_offset)
{
	(void)ctx;
	return anon_map(seg, va_align, va_offset,
	                MAP_HUGETLB | (int)(ilog2(seg->page_size) << MAP_HUGE_SHIFT));
}

static int anon_release(struct tarn__mem_seg *seg)
{
	return unmap_seg(seg);
}

static const struct tarn__mem_backend be_anon_huge = {
	.name = "anon-hugetlb",
	.tier = TARN__TIER_ANON_HUGE,
	.huge = true,
	.probe = anon_huge_probe,
	.reserve = anon_huge_reserve,
	.populate = generic_populate,
	.release = anon_release,
	.node_of = generic_node_of,
};

/* ---- transparent huge pages --------------------------------------------- */

static int thp_probe(const struct tarn__mem_ctx *ctx, char *why, size_t whylen)
{
	(void)ctx;
	if (!tarn__thp_usable()) {
		snprintf(why, whylen,
		         "transparent huge pages are disabled "
		         "(/sys/kernel/mm/transparent_hugepage/enabled)");
		return -ENOTSUP;
	}
	return 0;
}

static int thp_reserve(struct tarn__mem_ctx *ctx, struct tarn__mem_seg *seg, uint64_t va_align,
                       uint64_t va_offset)
{
	(void)ctx;
	int rc = anon_map(seg, va_align, va_offset, 0);
	if (rc < 0)
		return rc;
	if (madvise(seg->addr, seg->len, MADV_HUGEPAGE) != 0) {
		rc = -errno;
		unmap_seg(seg);
		return rc;
	}
	return 0;
}

static const struct tarn__mem_backend be_thp = {
	.name = "thp",
	.tier = TARN__TIER_THP,
	.huge = false,
	.probe = thp_probe,
	.reserve = thp_reserve,
	.populate = generic_populate,
	.release = anon_release,
	.node_of = generic_node_of,
};

/* ---- 4 KiB pages -------------------------------------------------------- */

static int small_probe(const struct tarn__mem_ctx *ctx, char *why, size_t whylen)
{
	(void)ctx;
	(void)why;
	(void)whylen;
	return 0;
}

static int small_reserve(struct tarn__mem_ctx *ctx, struct tarn__mem_seg *seg, uint64_t va_align,
                         uint64_t va_offset)
{
	(void)ctx;
	return anon_map(seg, va_align, va_offset, 0);
}

static const struct tarn__mem_backend be_4k = {
	.name = "4k",
	.tier = TARN__TIER_4K,
	.huge = false,
	.probe = small_probe,
	.reserve = small_reserve,
	.populate = generic_populate,
	.release = anon_release,
	.node_of = generic_node_of,
};

const struct tarn__mem_backend *const tarn__mem_backends[TARN__TIER_COUNT] = {
	[TARN__TIER_HUGETLBFS] = &be_hugetlbfs,
	[TARN__TIER_MEMFD] = &be_memfd,
	[TARN__TIER_ANON_HUGE] = &be_anon_huge,
	[TARN__TIER_THP] = &be_thp,
	[TARN__TIER_4K] = &be_4k,
};
