/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * mem_priv.h - internal: what the files of the mem component share.
 * Never installed.
 *
 * Layers, bottom up:
 *   backend.c   the OS layer: struct tarn__mem_backend (one per tier) maps,
 *               binds, populates and releases one segment.
 *   hugeinfo.c  sysfs and /proc readers: hugepage sizes and per-node counts,
 *               hugetlbfs mounts, stale hugetlbfs files.
 *   segment.c   the segment table (lock-free lookups) and the tier chain
 *               that obeys the hugepage policy.
 *   heap.c      one heap per socket: first-fit free list with coalescing.
 *   memzone.c   named regions and tarn_malloc_socket()/tarn_free().
 *   iova.c      virtual -> IOVA and the node of an address.
 *   mem.c       tarn__mem_init()/cleanup(), statistics, dump.
 */
#ifndef TARN_MEM_PRIV_H
#define TARN_MEM_PRIV_H

#include <pthread.h>
#include <stdbool.h>
#include <sys/types.h>

#include "env_priv.h"
#include "tarn_mem.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MEM_LOG "mem"

/* Highest number of segments (mappings) the process holds at once. */
#define TARN__MEM_MAX_SEGS 1024
/* Largest alignment tarn_memzone_reserve() and tarn_malloc_socket() accept. */
#define TARN__MEM_MAX_ALIGN ((uint64_t)TARN_MEM_MAX_ALIGN)
/* Base page size assumed for pagemap and 4 KiB tiers. */
#define TARN__PAGE_4K 4096ull
/* First address segments ask for under IOVA as VA (see tarn__mem_ctx.va_hint). */
#define TARN__VA_HINT_BASE (4ull << 30)
/* Unit of growth and alignment of segments of the non-hugetlb tiers (a PMD). */
#define TARN__THP_SIZE (2ull << 20)

/* ------------------------------------------------------------------------ */
/* Backends (backend.c)                                                      */

/* The tiers, best first. */
enum tarn__mem_tier {
	TARN__TIER_HUGETLBFS = 0, /* a file in a hugetlbfs mount */
	TARN__TIER_MEMFD,         /* memfd_create(MFD_HUGETLB) */
	TARN__TIER_ANON_HUGE,     /* mmap(MAP_ANONYMOUS | MAP_HUGETLB) */
	TARN__TIER_THP,           /* anonymous memory, madvise(MADV_HUGEPAGE) */
	TARN__TIER_4K,            /* anonymous memory, base pages */
	TARN__TIER_COUNT
};

/* What the backends need to know, fixed at tarn__mem_init(). */
struct tarn__mem_ctx {
	uint64_t huge_page_size;              /* hugepage size the hugetlb tiers use; 0: none */
	char huge_dir[TARN_PATH_SIZE];        /* hugetlbfs mount for TIER_HUGETLBFS, "" if none */
	char prefix[TARN_PREFIX_SIZE];        /* file prefix */
	bool numa;                            /* the kernel has NUMA (mbind works) */
	unsigned next_file[TARN_MAX_SOCKETS]; /* next <n> of hugetlbfs file names */
	/*
	 * Under IOVA as VA: the address the next segment asks mmap() for,
	 * bumped by each reservation (relaxed atomics: a hint, not a claim);
	 * 0: let the kernel choose. Segments then sit from 4 GiB up, within
	 * what an IOMMU with a 39-bit address width (qemu's intel-iommu) can
	 * map, instead of near the top of the 47-bit user space.
	 */
	uint64_t va_hint;
};

struct tarn__mem_seg;

/*
 * A backend. Every op returns 0 or a negative errno and never raises a signal.
 * A segment goes through reserve -> populate -> (use) -> release; release is
 * also the undo of a reserve whose populate failed.
 */
struct tarn__mem_backend {
	const char *name; /* "hugetlbfs", "memfd", "anon-hugetlb", "thp", "4k" */
	enum tarn__mem_tier tier;
	bool huge; /* draws from the kernel's hugepage pool */
	/*
	 * Can this backend work in this process? Cheap and side-effect free
	 * (it may create and remove an empty object). Pre: ctx filled.
	 * Returns 0, or a negative errno with a reason written to `why`.
	 */
	int (*probe)(const struct tarn__mem_ctx *ctx, char *why, size_t whylen);
	/*
	 * Map seg->len bytes of virtual memory, not yet touched, at an address
	 * `a` with (a + va_offset) % va_align == 0.
	 * Pre: seg->len, seg->page_size, seg->socket set; seg->len a multiple
	 * of seg->page_size; va_align a power of two >= seg->page_size;
	 * va_offset a multiple of seg->page_size, < va_align.
	 * Post (0): seg->addr, and seg->fd / seg->path for file backends; the
	 * file (if any) exists, mode 0600, flock(LOCK_SH) held.
	 * Post (error): nothing is left mapped or created.
	 */
	int (*reserve)(struct tarn__mem_ctx *ctx, struct tarn__mem_seg *seg, uint64_t va_align,
	               uint64_t va_offset);
	/*
	 * Bind the mapping to node seg->socket (MPOL_BIND, before any page is
	 * touched) and fault every page in, writable, so that using it never
	 * faults. Pre: a successful reserve, nothing touched yet.
	 * Returns 0, -ENOMEM when the pages are not there (never SIGBUS), or
	 * another negative errno. On error the segment still needs release.
	 */
	int (*populate)(const struct tarn__mem_ctx *ctx, struct tarn__mem_seg *seg);
	/*
	 * Unmap, close and remove the file. Pre: a successful reserve. Post:
	 * nothing of the segment remains. Returns 0 or the first error seen
	 * (the rest is still released).
	 */
	int (*release)(struct tarn__mem_seg *seg);
	/*
	 * The node the page holding `addr` is on (move_pages(2)).
	 * Pre: addr mapped. Returns the node or a negative errno.
	 */
	int (*node_of)(const void *addr);
};

extern const struct tarn__mem_backend *const tarn__mem_backends[TARN__TIER_COUNT];

/* Populate threads report errors instead of logging; this is the limit. */
#define TARN__MEM_WHY_SIZE 768

/* ------------------------------------------------------------------------ */
/* Segments (segment.c)                                                      */

/* Slot states of the segment table. */
enum { TARN__SEG_FREE = 0, TARN__SEG_LIVE = 1, TARN__SEG_CLAIMED = 2 };

/* One mapping: a whole number of pages on one socket from one backend. */
struct tarn__mem_seg {
	int state; /* TARN__SEG_*; read with acquire by lock-free lookups */
	void *addr;
	size_t len;
	uint64_t page_size;
	int socket;
	int fd;       /* file backends: the open, flock()ed file; else -1 */
	bool initial; /* reserved by --socket-mem at init */
	uint64_t *pa; /* physical address of each page, or NULL: IOVA = VA */
	const struct tarn__mem_backend *be;
	char path[TARN_PATH_SIZE + 64]; /* hugetlbfs file, "" otherwise */
};

extern struct tarn__mem_seg tarn__mem_segs[TARN__MEM_MAX_SEGS];

/* Lock-free: the live segment holding `addr`, or NULL. */
const struct tarn__mem_seg *tarn__mem_seg_find(const void *addr);

/* A request for a new segment on one socket. */
struct tarn__seg_req {
	int socket;
	size_t min_len;               /* bytes needed at least (before rounding to pages) */
	uint64_t align;               /* the user's alignment; > page size asks for an aligned VA */
	uint64_t lead;                /* bytes before the aligned address (a header) */
	bool initial;                 /* a --socket-mem reservation (one-shot, logs phases) */
	bool quiet;                   /* don't log (a populate thread): fill `why` instead */
	bool no_huge;                 /* skip the hugetlb tiers (known short, already logged) */
	char why[TARN__MEM_WHY_SIZE]; /* out: the reason of a failure */
	bool fell_back;               /* out: a lower tier than the best was used */
	uint64_t ns;                  /* out: time spent */
};

/*
 * Create, populate and publish a segment following the hugepage policy.
 * Returns the segment (state LIVE) or NULL with a negative errno in *err and
 * the reason in req->why (logged unless req->quiet).
 * Thread-safe (several sockets may grow at once).
 */
struct tarn__mem_seg *tarn__mem_seg_create(struct tarn__seg_req *req, int *err);
/* Release a segment and free its slot. Not concurrent with lookups of it. */
void tarn__mem_seg_destroy(struct tarn__mem_seg *seg);
/*
 * mem's part of tarn_init() (lib/tarn/init.c): discover hugepages, reserve
 * cfg->socket_mem_mb per socket, start the heaps. 0 or a negative errno
 * (logged). tarn__mem_cleanup(): release everything (tarn_cleanup()).
 */
int tarn__mem_init(const struct tarn_config *cfg);
void tarn__mem_cleanup(void);
/* Release every segment (cleanup). No concurrent users. */
void tarn__mem_seg_destroy_all(void);
/* Remove the hugetlbfs file names of every live segment, keeping the
 * mappings (at exit: nothing is left behind even without tarn_cleanup()). */
void tarn__mem_seg_unlink_files(void);
/* Forget the file names without removing them (a forked child must not
 * remove its parent's files). No concurrent users. */
void tarn__mem_seg_forget_files(void);

/* ------------------------------------------------------------------------ */
/* Heaps (heap.c)                                                            */

/* Free block header, written at the start of each free block. */
struct tarn__free_blk {
	struct tarn__free_blk *next, *prev; /* address order */
	size_t len;                         /* bytes, multiple of TARN__HEAP_UNIT */
	const struct tarn__mem_seg *seg;    /* blocks never merge across segments */
	bool clean; /* every byte after this header is zero (never handed out) */
};

/* Heap granularity: blocks start and end on cache lines. */
#define TARN__HEAP_UNIT ((size_t)TARN_CACHE_LINE)

/* A chunk carved from a heap: what to give back to tarn__heap_free(). */
struct tarn__chunk {
	void *start;
	size_t len;
	const struct tarn__mem_seg *seg;
};

int tarn__heap_init(void);
void tarn__heap_fini(void);
/*
 * Carve `size` bytes aligned on `align` (power of two, >= TARN__HEAP_UNIT)
 * with at least `hdr` bytes before it inside the chunk, on `socket`
 * (resolved); zeroed. Grows the heap when needed.
 * Returns the aligned address (chunk in *c) or NULL with a positive errno in
 * *err. Thread-safe (per-socket mutex).
 */
void *tarn__heap_alloc(int socket, size_t size, size_t align, size_t hdr, struct tarn__chunk *c,
                       int *err);
/* Give a chunk back. Thread-safe. */
void tarn__heap_free(int socket, const struct tarn__chunk *c);
/* Add a new segment's memory to its socket's heap (caller holds nothing). */
void tarn__heap_add_seg(struct tarn__mem_seg *seg);

/* Per-socket accounting, read by stats and dump. */
struct tarn__heap_stats {
	uint64_t reserved, used, pages;
	unsigned segments;
	uint64_t page_size;
	const char *backend;
	uint64_t free_blocks, largest_free;
};
void tarn__heap_stats(int socket, struct tarn__heap_stats *st);

/* ------------------------------------------------------------------------ */
/* Memzones (memzone.c)                                                      */

void tarn__memzone_fini(void);
unsigned tarn__memzone_count(void);

/* ------------------------------------------------------------------------ */
/* Hugepage info (hugeinfo.c)                                                */

/* sysfs directory of a page size on a node, e.g.
 * /sys/devices/system/node/node0/hugepages/hugepages-2048kB (falls back to
 * /sys/kernel/mm/hugepages/... when there is no node directory). */
int tarn__huge_sysfs_dir(int node, uint64_t page_size, char *buf, size_t size);
/* Free / total hugepages of a size on a node; negative errno if unknown. */
int64_t tarn__huge_free(int node, uint64_t page_size);
int64_t tarn__huge_total(int node, uint64_t page_size);
/* The command that sets the pool of a size on a node to `count` pages. */
void tarn__huge_fix_cmd(int node, uint64_t page_size, uint64_t count, char *buf, size_t size);
/*
 * First hugetlbfs mount serving `page_size` (from /proc/mounts, pagesize=
 * option, default size when absent). Returns 0 and the path, or -ENOENT.
 */
int tarn__hugetlbfs_mount(uint64_t page_size, char *buf, size_t size);
/* Page size of the hugetlbfs mount at `dir`, or a negative errno. */
int64_t tarn__hugetlbfs_pagesize(const char *dir);
/*
 * Remove stale files `<prefix>.tarnseg.*` in `dir`: those whose flock can be
 * taken with LOCK_EX|LOCK_NB. Returns the number removed or a negative errno.
 */
int tarn__huge_clean_stale(const char *dir, const char *prefix);
/* Node directories present in sysfs (bit n set: node n). */
uint64_t tarn__sysfs_nodes(void);
/* MemAvailable-like estimate of bytes a node can still give (MemFree of the
 * node, or MemAvailable of the system); 0 if unknown. */
uint64_t tarn__node_mem_avail(int node);
/* Is THP usable with madvise? (enabled is always or madvise) */
bool tarn__thp_usable(void);

/* ------------------------------------------------------------------------ */
/* IOVA (iova.c)                                                             */

/* Fill seg->pa when physical addresses can be read and the backend pins its
 * pages (hugetlb tiers); leaves it NULL otherwise. */
void tarn__iova_seg_setup(struct tarn__mem_seg *seg);
/* Decide at init whether IOVAs are physical: never under TARN_IOVA_VA;
 * where pagemap gives them otherwise; TARN_IOVA_PA fails with -EPERM (and a
 * log line) when it does not. */
int tarn__iova_init(enum tarn_iova_mode mode);

/* ------------------------------------------------------------------------ */
/* State shared by the files (mem.c)                                         */

struct tarn__mem_state {
	int ready; /* acquire/release: set last by init, cleared first by cleanup */
	enum tarn_huge_policy policy;
	struct tarn__mem_ctx ctx;
	/* usable tiers, best first (policy applied); end with -1 */
	int tiers[TARN__TIER_COUNT + 1];
	/* the one-time fallback warning was given */
	int fallback_logged;
	/* tests: restrict the chain to one backend (-1: no restriction) */
	int forced_tier;
	unsigned n_sockets;
	pid_t pid; /* process that ran tarn__mem_init() */
};
extern struct tarn__mem_state tarn__mem;

/* Is mem initialised? (acquire; pairs with the release store in init) */
static inline bool tarn__mem_ready(void)
{
	return __atomic_load_n(&tarn__mem.ready, __ATOMIC_ACQUIRE) != 0;
}

/*
 * Tests: use only the backend called `name` (NULL: all, as the policy
 * says). Call before tarn_init(); stays until changed. Returns 0 or -EINVAL.
 */
int tarn__mem_force_backend(const char *name);

#ifdef __cplusplus
}
#endif

#endif /* TARN_MEM_PRIV_H */
