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
 * List the hugepage sizes and per-node counts the kernel offers.
 * @param info  array of `max` entries to fill.
 * @param max   its size.
 * @return the number of entries available (may exceed `max`: only `max` are
 *         written), or -EINVAL if `info` is NULL with `max` > 0.
 *         0 if the kernel has no hugepage support.
 */
TARN_API int tarn_hugepage_info_get(struct tarn_hugepage_info *info, unsigned max);

/** @return the default hugepage size in bytes (Hugepagesize), 0 if none. */
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
	uint64_t page_size;        /**< page size of the backing memory */
	tarn_iova_t iova;          /**< IOVA of `addr` (see tarn_mem_virt2iova()) */
};

/**
 * Reserve a named region.
 * @param name   unique name, 1 to TARN_NAME_SIZE-1 characters.
 * @param len    bytes, > 0.
 * @param socket socket, or TARN_SOCKET_ANY for the calling thread's socket.
 * @param align  alignment, a power of two; 0 means TARN_CACHE_LINE.
 * @return the memzone (its memory is zeroed), or NULL with tarn_errno:
 *   EINVAL (bad name, len 0, align not a power of two, no such socket, tarn
 *   not initialised), EEXIST (name in use), ENAMETOOLONG, ENOMEM (no memory
 *   on that socket under the hugepage policy; the log says what was missing).
 * Thread-safe.
 */
TARN_API const struct tarn_memzone *tarn_memzone_reserve(const char *name, size_t len,
							  int socket, size_t align);

/**
 * Find a memzone by name.
 * @return it, or NULL with tarn_errno ENOENT (no such name) or EINVAL.
 * Thread-safe.
 */
TARN_API const struct tarn_memzone *tarn_memzone_lookup(const char *name);

/**
 * Free a memzone; its memory returns to the socket's heap.
 * @return 0, or -EINVAL if `mz` is NULL or not a live memzone.
 * Thread-safe; nothing may use the memory afterwards.
 */
TARN_API int tarn_memzone_free(const struct tarn_memzone *mz);

/** Call `fn` for every memzone (under a lock: `fn` must not reserve or free). */
TARN_API void tarn_memzone_walk(void (*fn)(const struct tarn_memzone *, void *), void *arg);
/**@}*/

/** @name Socket heaps, for control structures */
/**@{*/

/**
 * Allocate zeroed memory on a socket's heap (hugepage-backed like memzones).
 * @param size   bytes, > 0.
 * @param align  power of two, or 0 for TARN_CACHE_LINE.
 * @param socket socket or TARN_SOCKET_ANY.
 * @return the memory, or NULL with tarn_errno EINVAL or ENOMEM.
 * Thread-safe.
 */
TARN_API void *tarn_malloc_socket(size_t size, size_t align, int socket);

/**
 * Free memory from tarn_malloc_socket(). NULL is ignored.
 * Thread-safe.
 */
TARN_API void tarn_free(void *ptr);

/** @return the socket of memory from tarn_malloc_socket() or a memzone, or -EINVAL. */
TARN_API int tarn_mem_socket_of(const void *addr);
/**@}*/

/** @name Addresses */
/**@{*/

/**
 * Translate a virtual address inside tarn-managed memory to its IOVA:
 * the physical address when tarn can read /proc/self/pagemap (root) and the
 * memory is pinned hugepages, else the virtual address itself.
 * @return the IOVA, or TARN_BAD_IOVA if `addr` is not tarn memory.
 * Thread-safe, lock-free.
 */
TARN_API tarn_iova_t tarn_mem_virt2iova(const void *addr);

/** @return non-zero when IOVAs are physical addresses, 0 when virtual. */
TARN_API int tarn_mem_iova_is_pa(void);

/**
 * The NUMA node the page holding `addr` actually sits on (asks the kernel,
 * move_pages(2)); works for any mapped address.
 * @return the node, or a negative errno (-EFAULT if not mapped).
 */
TARN_API int tarn_mem_node_of(const void *addr);
/**@}*/

/** @name Statistics */
/**@{*/

/** Memory of one socket. */
struct tarn_mem_socket_stats {
	int socket;           /**< socket */
	uint64_t page_size;   /**< page size of its memory (of the first segment) */
	uint64_t pages;       /**< pages reserved */
	uint64_t reserved;    /**< bytes reserved (mapped and populated) */
	uint64_t used;        /**< bytes handed out (memzones and allocations) */
	const char *backend;  /**< backend name of its first segment ("hugetlbfs", ...) */
	unsigned segments;    /**< number of segments */
};

/**
 * Memory statistics for `socket`.
 * @return 0, or -EINVAL (no such socket, NULL stats, not initialised).
 */
TARN_API int tarn_mem_socket_stats(int socket, struct tarn_mem_socket_stats *stats);

/** Print, per socket: backend, page size, pages, bytes reserved and used; then memzones. */
TARN_API void tarn_mem_dump(FILE *out);
/**@}*/

#ifdef __cplusplus
}
#endif

#endif /* TARN_MEM_H */
