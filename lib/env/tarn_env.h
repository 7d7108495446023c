/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file tarn_env.h
 * Environment: initialisation and cleanup, options, errors, logging, lcores
 * (pinned worker threads) and the NUMA topology.
 *
 * A tarn program calls tarn_init() once (usually after
 * tarn_config_parse_args() has read the tarn options from argv), uses pools
 * and ports, and calls tarn_cleanup() at the end. The thread that calls
 * tarn_init() becomes the main lcore; the other lcores of `--lcores` are
 * started as pinned threads that wait for work given by tarn_lcore_launch().
 *
 * Error convention: functions returning `int` return 0 (or a count) on
 * success and a negative errno on failure; functions returning a pointer
 * return NULL and set ::tarn_errno. tarn_strerror() explains either.
 */
#ifndef TARN_ENV_H
#define TARN_ENV_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Marks a function exported from libtarn. */
#if defined(TARN_BUILDING_LIB)
#define TARN_API __attribute__((visibility("default")))
#else
#define TARN_API
#endif

/** Size of a CPU cache line, the unit of alignment for shared structures. */
#define TARN_CACHE_LINE 64
/** Align a type or variable on a cache line. */
#define TARN_CACHE_ALIGNED __attribute__((aligned(TARN_CACHE_LINE)))
/** Branch hint for the fast path: `x` is expected to be true. */
#define tarn_likely(x) __builtin_expect(!!(x), 1)
/** Branch hint for the fast path: `x` is expected to be false. */
#define tarn_unlikely(x) __builtin_expect(!!(x), 0)

/* 0, and in C a compile error when `a` is a pointer rather than an array. */
#ifdef __cplusplus
#define TARN__ARRAY_CHECK(a) 0
#else
#define TARN__ARRAY_CHECK(a)                                                                       \
	(0 * sizeof(struct {                                                                       \
		 int tarn_array_size_of_a_pointer : 1 -                                            \
		     2 * __builtin_types_compatible_p(__typeof__(a), __typeof__(&(a)[0]));         \
	 }))
#endif
/**
 * Number of elements of the array `a`, a constant expression. In C, passing
 * a pointer instead of an array is a compile error.
 */
#define TARN_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]) + TARN__ARRAY_CHECK(a))
/**
 * `v` rounded up to a multiple of `align`, in the (promoted) type of `v`.
 * `align` must be a power of two and is evaluated twice; a constant
 * expression when both are constants. Use with unsigned types; `v` +
 * `align` - 1 must not overflow.
 */
#define TARN_ALIGN_CEIL(v, align)                                                                  \
	(((v) + ((__typeof__(+(v)))(align)-1)) & ~((__typeof__(+(v)))(align)-1))
/** `v` rounded down to a multiple of `align` (a power of two), in the type of `v`. */
#define TARN_ALIGN_FLOOR(v, align) ((v) & ~((__typeof__(+(v)))(align)-1))
/** Non-zero when `v` is a multiple of `align` (a power of two). */
#define TARN_IS_ALIGNED(v, align) (((v) & ((__typeof__(+(v)))(align)-1)) == 0)
/** Non-zero when `n` is a power of two (0 is not). */
#define TARN_IS_POWER_OF_2(n) ((n) != 0 && ((n) & ((n)-1)) == 0)

/** Highest number of lcores (ids 0 .. TARN_MAX_LCORES-1). */
#define TARN_MAX_LCORES 128
/** Highest number of NUMA sockets (nodes) tarn manages. */
#define TARN_MAX_SOCKETS 8
/** Socket argument meaning "the calling thread's socket" (never a silent 0). */
#define TARN_SOCKET_ANY (-1)
/** Value of tarn_lcore_id() in a thread that has no lcore id. */
#define TARN_LCORE_ID_ANY UINT32_MAX
/** Longest name of a named object (ring, memzone, pool), terminator included. */
#define TARN_NAME_SIZE 32

/* ------------------------------------------------------------------------ */
/** @name Errors */
/**@{*/

/** Location of the calling thread's tarn_errno (use ::tarn_errno). */
TARN_API int *tarn_errno_location(void);
/** Last error of a pointer-returning tarn call in this thread (a positive errno). */
#define tarn_errno (*tarn_errno_location())

/**
 * Describe an error code.
 * @param err an errno value, positive or negative (as returned by tarn calls).
 * @return a static string; never NULL. Thread-safe.
 */
TARN_API const char *tarn_strerror(int err);
/**@}*/

/* ------------------------------------------------------------------------ */
/** @name Logging */
/**@{*/

/** Log levels, as syslog numbers them. */
enum tarn_log_level {
	TARN_LOG_ERR = 3,     /**< an operation failed */
	TARN_LOG_WARNING = 4, /**< something works, but not as asked (a fallback) */
	TARN_LOG_NOTICE = 5,  /**< a normal but significant event (the default level) */
	TARN_LOG_INFO = 6,    /**< progress and choices made */
	TARN_LOG_DEBUG = 7,   /**< detail, including the time of each init phase */
};

/**
 * Log sink. `comp` is the component tag ("env", "mem", "mempool", ...),
 * `msg` the formatted message without a trailing newline.
 */
typedef void (*tarn_log_fn)(enum tarn_log_level level, const char *comp, const char *msg,
                            void *arg);

/**
 * Set the log level: messages above it are dropped. Usable before tarn_init().
 * @return 0, or -EINVAL if `level` is not between TARN_LOG_ERR and TARN_LOG_DEBUG.
 * Thread-safe.
 */
TARN_API int tarn_log_set_level(int level);
/** @return the current log level. Thread-safe. */
TARN_API int tarn_log_get_level(void);
/**
 * Send log messages to `fn` instead of stderr; NULL restores stderr.
 * Thread-safe; `fn` may be called from any thread and must be thread-safe.
 */
TARN_API void tarn_log_set_handler(tarn_log_fn fn, void *arg);
/**
 * Log a message with a component tag. Thread-safe. Messages are formatted as
 * `tarn: <comp>: <message>` on stderr.
 */
TARN_API void tarn_log(enum tarn_log_level level, const char *comp, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/** va_list form of tarn_log(). */
TARN_API void tarn_vlog(enum tarn_log_level level, const char *comp, const char *fmt, va_list ap);
/**
 * Parse a level name ("err", "warning", "notice", "info", "debug") or number.
 * @return the level, or -EINVAL.
 */
TARN_API int tarn_log_level_parse(const char *s);
/**@}*/

/* ------------------------------------------------------------------------ */
/** @name Configuration and initialisation */
/**@{*/

/** What to do when hugepages are not available. */
enum tarn_huge_policy {
	/** Use hugepages; fall back to normal pages (THP, then 4 KiB), saying so once. */
	TARN_HUGE_PREFER = 0,
	/** Hugepages only: fail with -ENOMEM and a log line that says how to reserve them. */
	TARN_HUGE_REQUIRE,
	/** Never use hugepages (`--no-huge`): transparent huge pages, then 4 KiB pages. */
	TARN_HUGE_NONE,
};

/**
 * How DMA-capable drivers address tarn memory (`--iova-mode`), as the IOVA
 * that tarn_mem_virt2iova() returns and that a device is given.
 */
enum tarn_iova_mode {
	/**
	 * Decide at tarn_init(): VA when a PCI device is bound to vfio-pci
	 * behind an IOMMU, PA when devices are bound to uio_pci_generic (or
	 * igb_uio) and none to vfio-pci, and otherwise PA for hugepage memory
	 * where physical addresses are readable (root), VA elsewhere.
	 */
	TARN_IOVA_AUTO = 0,
	/** IOVA = virtual address, for every segment (vfio with an IOMMU maps them). */
	TARN_IOVA_VA,
	/**
	 * IOVA = physical address (uio, or vfio with PA mapping): needs
	 * /proc/self/pagemap to give physical addresses (CAP_SYS_ADMIN) and
	 * hugepages (pages that never move); tarn_init() refuses otherwise.
	 */
	TARN_IOVA_PA,
};

/** Longest file prefix, terminator included. */
#define TARN_PREFIX_SIZE 32
/** Longest path (hugetlbfs mount), terminator included. */
#define TARN_PATH_SIZE 256

/**
 * Options of tarn_init(). Fill with tarn_config_init() first, then change
 * fields or parse argv with tarn_config_parse_args().
 */
struct tarn_config {
	/**
	 * lcores to start, as a list of CPUs "0-3,8" (lcore id = CPU number) or
	 * of `ID@CPU` pairs "0@2,1@3". The first lcore is the main lcore: the
	 * thread calling tarn_init(), pinned to its CPU. Empty: one main lcore
	 * (id 0) on the first CPU the process may run on.
	 */
	char lcores[256];
	/** MiB to reserve up front per socket (index = socket); 0: none up front. */
	uint64_t socket_mem_mb[TARN_MAX_SOCKETS];
	/** hugetlbfs mount to use; empty: the first mount of the page size found. */
	char huge_dir[TARN_PATH_SIZE];
	/** Hugepage policy (`--huge`, `--no-huge`). Default TARN_HUGE_PREFER. */
	enum tarn_huge_policy huge_policy;
	/** Hugepage size in bytes (`--huge-size 2M|1G`); 0: the system default. */
	uint64_t huge_page_size;
	/** Log level applied by tarn_init(); default TARN_LOG_NOTICE. */
	int log_level;
	/**
	 * Names this process's files (hugetlbfs files, runtime directory):
	 * letters, digits, '-', '_' and '.', at most 31 characters, and never
	 * containing "map_" (DPDK's EAL removes unlocked files matching `*map_*`).
	 * Default "tarn".
	 */
	char file_prefix[TARN_PREFIX_SIZE];
	/** Skip pinning the main thread to its lcore's CPU (`--no-pin-main`). */
	int no_pin_main;
	/**
	 * Do not start the telemetry socket (`--no-telemetry`,
	 * TARN_NO_TELEMETRY=1); see tarn_telemetry.h.
	 */
	int no_telemetry;
	/**
	 * IOVA mode (`--iova-mode auto|va|pa`, TARN_IOVA_MODE); default
	 * TARN_IOVA_AUTO. tarn_iova_mode() says what tarn_init() chose.
	 */
	enum tarn_iova_mode iova_mode;
};

/**
 * Fill `cfg` with defaults, then apply the environment variables
 * TARN_LOG_LEVEL, TARN_LCORES, TARN_SOCKET_MEM, TARN_HUGE, TARN_FILE_PREFIX,
 * TARN_IOVA_MODE (same syntax as the options) and TARN_NO_TELEMETRY (1/yes/true or
 * 0/no/false). An empty variable counts as unset. A malformed variable is
 * refused as the same value of its option is: an error is logged naming it
 * and what was expected, the others are still applied, and the call returns
 * -EINVAL (an application exits as for a bad option; `cfg` then holds the
 * defaults and the valid variables, for one that chooses to go on).
 * @return 0; -EINVAL if `cfg` is NULL or a variable is malformed.
 */
TARN_API int tarn_config_init(struct tarn_config *cfg);

/**
 * Read tarn options from argv into `cfg` and remove them from argv, leaving
 * argv[0] and every other argument in order for the application. Options
 * (both `--opt VALUE` and `--opt=VALUE` forms):
 * `--lcores LIST`, `--socket-mem MB[,MB...]`, `--huge-dir DIR`, `--no-huge`,
 * `--huge require|prefer|none`, `--huge-size 2M|1G`, `--log-level LEVEL`,
 * `--file-prefix NAME`, `--no-pin-main`, `--no-telemetry`, `--iova-mode auto|va|pa`.
 * Arguments after a lone `--` are
 * left alone.
 *
 * @param cfg   configuration filled by tarn_config_init().
 * @param argc  in: argument count; out: count left.
 * @param argv  arguments; rearranged in place (a NULL follows the last).
 * @return the number of arguments consumed (>= 0), or -EINVAL for a malformed
 *         value or a missing value, with a log line naming the option and what
 *         was expected. On error `cfg` may hold the options before the bad one;
 *         argv is untouched.
 */
TARN_API int tarn_config_parse_args(struct tarn_config *cfg, int *argc, char **argv);

/**
 * Print the help text of the tarn options (for an application's `--help`).
 */
TARN_API void tarn_config_usage(FILE *out);

/**
 * Initialise tarn: logging, topology, lcores, memory (reserve `socket_mem_mb`
 * per socket, bound to that node and populated up front), stale-file cleanup,
 * and the telemetry socket unless `no_telemetry` (if the socket cannot be
 * made, a warning says why and tarn_init() still succeeds).
 * The calling thread becomes the main lcore.
 *
 * @param cfg  options; NULL means the defaults of tarn_config_init().
 * @return 0;
 *   -EALREADY if tarn is already initialised;
 *   -EINVAL for an invalid option (an lcore CPU that does not exist or is not
 *   allowed, a socket that does not exist, a bad prefix), or, with a NULL
 *   `cfg`, a malformed TARN_* variable;
 *   -ENOMEM when memory cannot be reserved as asked (the log says how many
 *   hugepages were missing on which node and the command that reserves them);
 *   -EAGAIN if an lcore thread could not be started.
 *   On failure everything done so far is undone and tarn_init() may be retried.
 * Not thread-safe: call it once, from one thread.
 */
TARN_API int tarn_init(const struct tarn_config *cfg);

/**
 * Parse argv with tarn_config_parse_args() on top of tarn_config_init()
 * defaults and call tarn_init().
 * @return the number of arguments consumed (>= 0), or a negative errno from
 *         any step (-EINVAL for a malformed TARN_* variable).
 */
TARN_API int tarn_init_args(int *argc, char **argv);

/**
 * Release everything tarn holds: stops the telemetry server (removing its
 * socket) and the lcore threads (waiting for running
 * functions to return), frees pools, rings and memzones, unmaps and removes
 * hugepage files. tarn_init() works again afterwards.
 * @return 0, or -EINVAL if tarn is not initialised (nothing is done).
 * Not thread-safe; no other thread may be using tarn.
 */
TARN_API int tarn_cleanup(void);

/** @return non-zero if tarn_init() succeeded and tarn_cleanup() was not called. */
TARN_API int tarn_initialized(void);

/** @return the configuration tarn was initialised with, or NULL. */
TARN_API const struct tarn_config *tarn_config_get(void);
/**@}*/

/* ------------------------------------------------------------------------ */
/**
 * @name Topology
 *
 * "The socket of X" is spelled one way across tarn: `tarn_<X>_socket(X)`,
 * returning a socket (NUMA node) number, or a negative errno when X is not
 * valid: tarn_cpu_socket(), tarn_lcore_socket(), tarn_thread_socket() (the
 * calling thread), tarn_mempool_socket(), tarn_eth_dev_socket(),
 * tarn_mem_socket() (an address in tarn memory). The DPDK-familiar names
 * tarn_socket_id() and tarn_eth_dev_socket_id(), and the older
 * tarn_mem_socket_of(), stay as aliases of the same functions.
 * (tarn_mem_node_of() is another question: the node the kernel put a page
 * on, asked of the kernel.)
 */
/**@{*/

/**
 * @return the number of NUMA sockets (nodes with memory or CPUs); 1 where
 * libnuma says NUMA is not available. Valid before tarn_init().
 */
TARN_API unsigned tarn_socket_count(void);
/** @return the socket of `cpu`, or -EINVAL if there is no such CPU. */
TARN_API int tarn_cpu_socket(unsigned cpu);
/** @return the number of CPUs the system has (configured), >= 1. */
TARN_API unsigned tarn_cpu_count(void);
/**
 * @return the socket of the calling thread: its lcore's socket for an lcore
 * thread (and a registered one), else that of the CPU it runs on now.
 * Never fails; 0 on a one-node machine. Thread-safe.
 */
TARN_API int tarn_thread_socket(void);
/** The same as tarn_thread_socket(), under DPDK's name (rte_socket_id()). */
TARN_API int tarn_socket_id(void);
/**
 * Resolve a socket argument: TARN_SOCKET_ANY becomes tarn_thread_socket().
 * @return the socket, or -EINVAL if `socket` is neither TARN_SOCKET_ANY nor an
 * existing socket.
 */
TARN_API int tarn_socket_resolve(int socket);
/** Print sockets and their CPUs, and the lcores, to `out`. */
TARN_API void tarn_topology_dump(FILE *out);
/**@}*/

/* ------------------------------------------------------------------------ */
/** @name lcores */
/**@{*/

/** Internal: the calling thread's lcore id (read through tarn_lcore_id()). */
extern TARN_API __thread uint32_t tarn__lcore_id;

/**
 * @return the calling thread's lcore id, or TARN_LCORE_ID_ANY if it has none
 * (neither an lcore thread nor registered). Thread-safe, wait-free.
 */
static inline uint32_t tarn_lcore_id(void)
{
	return tarn__lcore_id;
}

/** @return the main lcore's id, or TARN_LCORE_ID_ANY before tarn_init(). */
TARN_API uint32_t tarn_lcore_main(void);
/** @return the number of lcores started by tarn_init() (main included). */
TARN_API unsigned tarn_lcore_count(void);
/**
 * @return non-zero if `id` is an lcore started by tarn_init() or a registered
 * thread's id.
 */
TARN_API int tarn_lcore_is_enabled(uint32_t id);
/**
 * Iterate over lcores started by tarn_init().
 * @param prev previous id, or TARN_LCORE_ID_ANY to start.
 * @param skip_main non-zero to skip the main lcore.
 * @return the next enabled lcore id after `prev`, or TARN_LCORE_ID_ANY at the end.
 */
TARN_API uint32_t tarn_lcore_next(uint32_t prev, int skip_main);
/** Loop over the worker lcores (all but the main one). */
#define TARN_LCORE_FOREACH_WORKER(i)                                                               \
	for ((i) = tarn_lcore_next(TARN_LCORE_ID_ANY, 1); (i) != TARN_LCORE_ID_ANY;                \
	     (i) = tarn_lcore_next((i), 1))
/** Loop over all lcores started by tarn_init(). */
#define TARN_LCORE_FOREACH(i)                                                                      \
	for ((i) = tarn_lcore_next(TARN_LCORE_ID_ANY, 0); (i) != TARN_LCORE_ID_ANY;                \
	     (i) = tarn_lcore_next((i), 0))

/**
 * @return the socket of lcore `id`, or -EINVAL if `id` is not enabled.
 * A registered thread's socket is the one it ran on when it registered.
 */
TARN_API int tarn_lcore_socket(uint32_t id);
/** @return the CPU lcore `id` is pinned to, -1 if not pinned, -EINVAL if not enabled. */
TARN_API int tarn_lcore_cpu(uint32_t id);

/** Function run on an lcore; its return value is collected by tarn_lcore_wait(). */
typedef int (*tarn_lcore_fn)(void *arg);

/**
 * Run `fn(arg)` on worker lcore `id`.
 * @return 0; -EINVAL if `id` is not a worker lcore started by tarn_init() (the
 * main lcore included) or `fn` is NULL; -EBUSY if the lcore is still running
 * a function (wait for it first).
 * Thread-safe for distinct ids; call from the main lcore.
 */
TARN_API int tarn_lcore_launch(uint32_t id, tarn_lcore_fn fn, void *arg);

/**
 * Wait until worker lcore `id` has finished its function.
 * @param id      a worker lcore.
 * @param retval  if not NULL, receives the function's return value.
 * @return 0 (also when nothing was launched: *retval is then left alone);
 * -EINVAL if `id` is not a worker lcore.
 */
TARN_API int tarn_lcore_wait(uint32_t id, int *retval);

/**
 * Wait for every worker lcore.
 * @return 0 if every function returned 0, else the first non-zero return value.
 */
TARN_API int tarn_lcore_wait_all(void);

/**
 * Give the calling thread (one not started by tarn) an lcore id, the lowest
 * one not in use. Its socket is the one it runs on now; it is not pinned.
 * @return the id (>= 0) — the thread's existing id if it already has one;
 * -ENOSPC if all TARN_MAX_LCORES ids are in use; -EINVAL if tarn is not
 * initialised.
 * Thread-safe.
 */
TARN_API int tarn_thread_register(void);

/**
 * Give the calling thread's registered id back. Pool caches the thread holds
 * are flushed to their pools first.
 * @return 0; -EINVAL if the thread is not registered (lcore threads started by
 * tarn_init() cannot unregister).
 * Thread-safe.
 */
TARN_API int tarn_thread_unregister(void);
/**@}*/

/** @return the tarn version string, e.g. "0.1.0". */
TARN_API const char *tarn_version(void);

#ifdef __cplusplus
}
#endif

#endif /* TARN_ENV_H */
