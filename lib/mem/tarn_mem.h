/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file tarn_mem.h
 * Memory: hugepages per NUMA socket, named memzones, socket heaps, IOVA.
 *
 * tarn reserves memory per socket from tiered backends (hugetlbfs file, memfd
 * with MFD_HUGETLB, anonymous MAP_HUGETLB, anonymous memory with transparent
 * huge pages, plain 4 KiB pages), binds it to its node and populates it up
 * front, so the fast path never page-faults. `--socket-mem` reserves memory at
 * tarn_init(); beyond that, a socket's heap grows on demand in whole pages.
 * Which backend serves a socket follows the hugepage policy of
 * struct tarn_config; a fallback to a lower tier is logged once.
 *
 * Memory a heap has grown by stays reserved until tarn_cleanup(): freeing a
 * memzone or a block returns it to the socket's heap, not to the kernel.
 * hugetlbfs files are named `<prefix>.tarnseg.<pid>.<node>.<n>`, mode 0600,
 * held with flock(LOCK_SH) while mapped, removed by tarn_cleanup() or at
 * exit; files left by a crashed process are removed by the next tarn_init()
 * with the same prefix. docs/memory.md describes the tiers and policies.
 *
 * Every function needs tarn_init() first unless it says otherwise.
 */
#ifndef TARN_MEM_H
#define TARN_MEM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "tarn_env.h"

#ifdef __cplusplus
extern "C" {
#endif

/** An I/O virtual address: physical where readable (root), else virtual. */
typedef uint64_t tarn_iova_t;
/** Returned by tarn_mem_virt2iova() for an address tarn does not manage. */
#define TARN_BAD_IOVA UINT64_MAX
/** Largest alignment tarn_memzone_reserve() and tarn_malloc_socket() accept. */
#define TARN_MEM_MAX_ALIGN ((size_t)1 << 30)

/** @name Hugepage discovery (usable before tarn_init()) */
/**@{*/

/** Hugepages of one size on one node, from sysfs. */
struct tarn_hugepage_info {
	uint64_t page_size; /**< bytes, e.g. 2097152 */
	int node;           /**< NUMA node */
	uint64_t total;     /**< pages reserved in the kernel's pool on that node */
	uint64_t free;      /**< of which free now */
};

/**
 * List the hugepage sizes and per-node counts the kernel offers, read from
 * /sys/devices/system/node/nodeN/hugepages (or /sys/kernel/mm/hugepages, as
 * node 0, on a kernel without NUMA), ordered by node, then page size.
 * Usable before tarn_init(). Thread-safe.
 * @param info  array of `max` entries to fill (may be NULL when `max` is 0).
 * @param max   its size.
 * @return the number of entries available (may exceed `max`: only `max` are
 *         written), or -EINVAL if `info` is NULL with `max` > 0.
 *         0 if the kernel has no hugepage support.
 */
TARN_API int tarn_hugepage_info_get(struct tarn_hugepage_info *info, unsigned max);

/**
 * @return the default hugepage size in bytes (Hugepagesize in /proc/meminfo),
 * 0 if none. Usable before tarn_init(). Thread-safe.
 */
TARN_API uint64_t tarn_hugepage_default_size(void);
/**@}*/

/** @name Memzones: named regions carved from a socket's memory */
/**@{*/

/** A named, contiguous-in-virtual-memory region on one socket. */
struct tarn_memzone {
	char name[TARN_NAME_SIZE]; /**< unique name */
	void *addr;                /**< start, aligned as asked */
	size_t len;                /**< length asked for */
	int socket;                /**< socket the memory is bound to */
	/** page size of the backing memory (4096 for the thp and 4k backends) */
	uint64_t page_size;
	tarn_iova_t iova; /**< IOVA of `addr` (see tarn_mem_virt2iova()) */
};

/**
 * Reserve a named region, carved from the socket's heap; the heap grows by
 * a new populated segment (whole pages) when it has no room.
 * @param name   unique name, 1 to TARN_NAME_SIZE-1 characters (copied).
 * @param len    bytes, > 0.
 * @param socket socket, or TARN_SOCKET_ANY for the calling thread's socket
 *               (tarn_socket_resolve()).
 * @param align  alignment, a power of two up to TARN_MEM_MAX_ALIGN; 0 (and
 *               anything below TARN_CACHE_LINE) means TARN_CACHE_LINE.
 * @return the memzone (its memory is zeroed and populated), or NULL with
 *   tarn_errno: EINVAL (NULL or empty name, len 0, bad align, no such
 *   socket, tarn not initialised), ENAMETOOLONG (name of TARN_NAME_SIZE
 *   characters or more), EEXIST (name in use, or being reserved by another
 *   thread), ENOMEM (no memory on that socket under the hugepage policy; one
 *   log line says what was missing and, for hugepages, the command that
 *   reserves them).
 * Thread-safe; blocking (may populate a new segment). Lookups are not
 * blocked while a reservation grows a heap.
 */
TARN_API const struct tarn_memzone *tarn_memzone_reserve(const char *name, size_t len, int socket,
                                                         size_t align);

/**
 * Find a memzone by name.
 * @return it, or NULL with tarn_errno ENOENT (no such name), EINVAL (NULL or
 * empty name, tarn not initialised) or ENAMETOOLONG.
 * Thread-safe (a mutex, held briefly).
 */
TARN_API const struct tarn_memzone *tarn_memzone_lookup(const char *name);

/**
 * Free a memzone; its memory returns to the socket's heap (not to the
 * kernel) and its name can be reserved again.
 * @return 0, or -EINVAL if `mz` is NULL, not a live memzone (already freed)
 * or tarn is not initialised.
 * Thread-safe; nothing may use the memory or `mz` afterwards.
 */
TARN_API int tarn_memzone_free(const struct tarn_memzone *mz);

/**
 * Call `fn` for every memzone, newest first. Does nothing if `fn` is NULL or
 * tarn is not initialised. Thread-safe: runs under the memzone lock, so `fn`
 * must not reserve, look up or free memzones.
 */
TARN_API void tarn_memzone_walk(void (*fn)(const struct tarn_memzone *, void *), void *arg);
/**@}*/

/** @name Socket heaps, for control structures */
/**@{*/

/**
 * Allocate zeroed memory on a socket's heap (hugepage-backed like memzones).
 * Each block costs a 64-byte header and is rounded to cache lines: meant for
 * control structures, not per-packet use.
 * @param size   bytes, > 0.
 * @param align  power of two up to TARN_MEM_MAX_ALIGN, or 0 for TARN_CACHE_LINE.
 * @param socket socket or TARN_SOCKET_ANY (the calling thread's socket).
 * @return the memory, or NULL with tarn_errno EINVAL (size 0, bad align, no
 * such socket, not initialised) or ENOMEM.
 * Thread-safe (per-socket mutex); blocking when the heap grows.
 */
TARN_API void *tarn_malloc_socket(size_t size, size_t align, int socket);

/**
 * Free memory from tarn_malloc_socket(). NULL is ignored. A pointer that is
 * not a live block (foreign memory, a memzone, an inner address, a double
 * free) is detected where possible, logged as an error and ignored.
 * Thread-safe.
 */
TARN_API void tarn_free(void *ptr);

/**
 * @return the socket of any address inside tarn memory (a memzone, a
 * tarn_malloc_socket() block, a pool's object), the socket it was reserved
 * on, or -EINVAL (NULL, not tarn memory, not initialised). Thread-safe,
 * lock-free (wait-free).
 */
TARN_API int tarn_mem_socket(const void *addr);
/** The same as tarn_mem_socket(), under its older name. */
TARN_API int tarn_mem_socket_of(const void *addr);
/**@}*/

/** @name Addresses */
/**@{*/

/**
 * Translate a virtual address inside tarn-managed memory to its IOVA:
 * the physical address when tarn can read /proc/self/pagemap (root) and the
 * memory is pinned hugepages, else the virtual address itself.
 * Physical addresses are read once when a segment is populated, so this is
 * a table lookup.
 * @return the IOVA, or TARN_BAD_IOVA if `addr` is not tarn memory (or tarn
 * is not initialised).
 * Thread-safe, lock-free (wait-free: a bounded scan of the segment table).
 */
TARN_API tarn_iova_t tarn_mem_virt2iova(const void *addr);

/**
 * @return non-zero when tarn can read physical addresses (CAP_SYS_ADMIN):
 * IOVAs of hugepage-backed memory are then physical; memory from the thp and
 * 4k backends always has virtual IOVAs (its pages may move). 0 when every
 * IOVA is virtual. Decided at tarn_init().
 */
TARN_API int tarn_mem_iova_is_pa(void);

/**
 * The IOVA mode tarn_init() chose (see enum tarn_iova_mode and
 * `--iova-mode`): TARN_IOVA_PA when hugepage memory has physical IOVAs
 * (tarn_mem_iova_is_pa() non-zero), TARN_IOVA_VA when every IOVA is the
 * virtual address; TARN_IOVA_AUTO before tarn_init(). Thread-safe.
 */
TARN_API enum tarn_iova_mode tarn_iova_mode(void);

/**
 * The NUMA node the page holding `addr` actually sits on (asks the kernel,
 * move_pages(2)); works for any mapped address, before tarn_init() too.
 * @return the node (0 on a kernel without NUMA), or a negative errno
 * (-EFAULT for NULL or an unmapped address, -ENOENT for a page not yet
 * touched). Thread-safe.
 */
TARN_API int tarn_mem_node_of(const void *addr);
/**@}*/

/** @name Statistics */
/**@{*/

/** Memory of one socket. */
struct tarn_mem_socket_stats {
	int socket; /**< socket */
	/** page size of its first segment (no segment yet: of the backend it would use) */
	uint64_t page_size;
	uint64_t pages;    /**< pages reserved (all segments) */
	uint64_t reserved; /**< bytes reserved (mapped and populated) */
	uint64_t used;     /**< bytes handed out (memzones and allocations) */
	/**
	 * backend of its first segment: "hugetlbfs", "memfd", "anon-hugetlb",
	 * "thp" or "4k" (no segment yet: the one it would use); a static string
	 */
	const char *backend;
	unsigned segments; /**< number of segments */
};

/**
 * Memory statistics for `socket` (TARN_SOCKET_ANY: the caller's socket).
 * @return 0, or -EINVAL (no such socket, NULL stats, not initialised).
 * Thread-safe (takes the socket's heap lock briefly).
 */
TARN_API int tarn_mem_socket_stats(int socket, struct tarn_mem_socket_stats *stats);

/**
 * Print, per socket: backend, page size, pages, bytes reserved and used,
 * segments; then the memzones. Prints a line saying so when tarn is not
 * initialised; does nothing if `out` is NULL. Thread-safe.
 */
TARN_API void tarn_mem_dump(FILE *out);
/**@}*/

#ifdef __cplusplus
}
#endif

#endif /* TARN_MEM_H */
