/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file tarn_telemetry.h
 * Telemetry: live statistics over a UNIX socket that DPDK's own client
 * (`dpdk-telemetry.py`) and `tarn-top` read, and commands an application adds.
 *
 * ## The endpoint
 * tarn_init() starts one server thread (not an lcore; it runs on the CPUs no
 * lcore uses) listening on a SOCK_SEQPACKET UNIX socket at
 * ```
 *   <runtime dir>/dpdk/<file prefix>/dpdk_telemetry.v2
 * ```
 * where the runtime dir is `$RUNTIME_DIRECTORY` if set, else `/var/run` for
 * root, else `$XDG_RUNTIME_DIR`, else `/tmp` (exactly what dpdk-telemetry.py
 * computes; run it with `-f <file prefix>`). If a live process already
 * listens there (two processes with one prefix), the socket is
 * `dpdk_telemetry.v2:1`, `:2`, ... (`dpdk-telemetry.py -i N`). A socket left
 * by a dead process is replaced. The socket has mode 0600 in directories of
 * mode 0700; it is removed by tarn_cleanup() and at exit(), together with
 * the sockets dead processes left in the prefix directory (nobody listens
 * on them) and the directory once empty.
 *
 * A runtime directory that another user could control is never used: one
 * that belongs to another user, is writable by others or is a symbolic link
 * is passed over for this user's own fallback, with a warning that names it
 * and says why (tarn_telemetry_runtime_dir() has the rules). The server
 * checks each directory it creates or enters (`dpdk/` and `dpdk/<prefix>/`)
 * on the open descriptor, and waits at most TARN_TELEMETRY_LOCK_WAIT_MS for
 * the lock that orders the processes of one user creating and removing
 * their sockets: when another process holds it longer, tarn_init() goes on
 * without telemetry (and tarn_cleanup() removes its own socket without the
 * lock), with a warning naming the holder's pid.
 * `--no-telemetry` (or TARN_NO_TELEMETRY=1, or tarn_config::no_telemetry)
 * turns it off. If it cannot start, tarn_init() still succeeds and logs a
 * warning saying why.
 *
 * ## The protocol (DPDK telemetry v2)
 * On connect the server sends one message:
 * `{"version":"tarn 0.1.0","pid":1234,"max_output_len":65536}`.
 * Each request is one message, a command with optional parameters after the
 * first comma (`/tarn/mempool/info,fwd_mbufs`), and gets one reply message
 * `{"<command>":<value>}`. An unknown command, a command longer than
 * TARN_TELEMETRY_CMD_MAX-1 characters, or a callback that fails gets
 * `{"<command>":null}`, as DPDK answers. Built-in commands: `/` (list of
 * commands), `/info`, `/help,<command>`, `/tarn/info`, `/tarn/mempool/list`,
 * `/tarn/mempool/info,NAME`, `/tarn/ethdev/list`, `/tarn/ethdev/info,ID`,
 * `/tarn/ethdev/stats,ID`, `/tarn/lcore/list`, `/tarn/lcore/info,ID`, and
 * DPDK's `/mempool/list`, `/mempool/info,NAME`, `/ethdev/list`,
 * `/ethdev/stats,ID`, `/ethdev/xstats,ID`, `/ethdev/info,ID`,
 * `/ethdev/link_status,ID`, `/eal/params` and `/eal/app_params` with DPDK's
 * keys. docs/telemetry.md shows each reply.
 * At most TARN_TELEMETRY_MAX_CLIENTS clients at a time; one more is closed
 * at once.
 *
 * ## Adding a command
 * @code
 * static int my_cmd(const char *cmd, const char *params, struct tarn_telemetry_data *d)
 * {
 *         tarn_telemetry_start_dict(d);
 *         tarn_telemetry_dict_uint(d, "flows", nb_flows);
 *         tarn_telemetry_dict_open_array(d, "per_core");
 *         for (unsigned i = 0; i < n; i++)
 *                 tarn_telemetry_array_uint(d, counts[i]);
 *         tarn_telemetry_close(d);
 *         return 0;
 * }
 * tarn_telemetry_register_cmd("/myapp/flows", my_cmd, "Returns flow counts. No parameters");
 * @endcode
 * The builder writes JSON straight into a fixed buffer: no allocation. A
 * reply that would exceed max_output_len is cut at an entry boundary (still
 * valid JSON) and the adding call returns -ENOSPC, as DPDK does.
 *
 * ## Threads
 * Callbacks run one at a time (a mutex serialises every command, from the
 * socket or from tarn_telemetry_query()), on the server thread or on the
 * thread calling tarn_telemetry_query(), while the application's lcores run:
 * they must read shared state in a thread-safe way, return quickly (every
 * client waits), and not call tarn_telemetry_query(). Registration is
 * thread-safe and may happen before tarn_init(); commands stay registered
 * for the life of the process.
 */
#ifndef TARN_TELEMETRY_H
#define TARN_TELEMETRY_H

#include <stddef.h>
#include <stdint.h>

#include "tarn_env.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/** @name Limits */
/**@{*/

/** Longest wait for the runtime directory's lock, in milliseconds. */
#define TARN_TELEMETRY_LOCK_WAIT_MS 2000
/** Longest command, terminator included ("/tarn/mempool/info" is 19). */
#define TARN_TELEMETRY_CMD_MAX 64
/** Longest help text, terminator included. */
#define TARN_TELEMETRY_HELP_MAX 128
/** Longest dictionary key, terminator included. */
#define TARN_TELEMETRY_NAME_MAX 64
/** Most registered commands (built-in ones included). */
#define TARN_TELEMETRY_MAX_CMDS 128
/** Deepest nesting of containers in a reply (the top-level one included). */
#define TARN_TELEMETRY_MAX_DEPTH 8
/** Longest reply in bytes (the max_output_len of the info message). */
#define TARN_TELEMETRY_MAX_OUTPUT 65536
/** Longest request in bytes read from the socket (longer ones are cut). */
#define TARN_TELEMETRY_MAX_REQUEST 1024
/** Most clients connected at a time. */
#define TARN_TELEMETRY_MAX_CLIENTS 16
/** File name of the socket in its directory (DPDK's name). */
#define TARN_TELEMETRY_SOCKET_NAME "dpdk_telemetry.v2"
/**@}*/

/* ------------------------------------------------------------------------ */
/** @name Commands */
/**@{*/

/** The reply a callback builds (opaque; see the builder functions). */
struct tarn_telemetry_data;

/**
 * A command's callback.
 * @param cmd     the command as registered ("/myapp/flows").
 * @param params  what followed the first comma of the request, or NULL if
 *                nothing did. Untrusted: validate it.
 * @param d       the reply: start it with tarn_telemetry_start_dict(),
 *                tarn_telemetry_start_array() or tarn_telemetry_string().
 * @return 0 for a reply; a negative value makes the reply `null` (bad or
 *   unknown parameters, as DPDK does). A callback that returns 0 without
 *   starting the reply also answers `null`.
 */
typedef int (*tarn_telemetry_cb)(const char *cmd, const char *params,
                                 struct tarn_telemetry_data *d);

/**
 * Register a command.
 * @param cmd   starts with '/', 2 .. TARN_TELEMETRY_CMD_MAX-1 characters from
 *              letters, digits and "/_-.", no comma.
 * @param fn    the callback.
 * @param help  one line for `/help,<cmd>`, at most TARN_TELEMETRY_HELP_MAX-1
 *              characters; NULL: none ("").
 * @return 0; -EINVAL (NULL `cmd` or `fn`, a malformed command, a help text
 *   too long: the log line says which); -EEXIST (already registered: the
 *   first registration stays); -ENOSPC (TARN_TELEMETRY_MAX_CMDS commands).
 * Thread-safe; works before tarn_init(). A command cannot be unregistered:
 * `fn` must stay valid for the life of the process.
 */
TARN_API int tarn_telemetry_register_cmd(const char *cmd, tarn_telemetry_cb fn, const char *help);

/**
 * Run a request in this process, as if it came from the socket, and write
 * the reply (`{"<cmd>":<value>}`, NUL-terminated) to `buf`. Works whether or
 * not the server runs, also before tarn_init().
 * @param request  command and optional ",params".
 * @param buf      receives the reply.
 * @param size     size of `buf`; TARN_TELEMETRY_MAX_OUTPUT + 1 holds any reply.
 * @return the reply's length (without the NUL); -EINVAL (NULL argument);
 *   -ENOSPC (`buf` too small: nothing written); -EDEADLK (called from a
 *   callback).
 * Thread-safe; blocking (waits for a command in progress).
 */
TARN_API int tarn_telemetry_query(const char *request, char *buf, size_t size);
/**@}*/

/* ------------------------------------------------------------------------ */
/** @name Reply builder (inside a callback; no allocation)
 * Every call returns 0 or a negative errno: -EINVAL for a call out of
 * place (an entry added to a container of the other kind, a key that is
 * NULL, empty or too long, a second start, a close with nothing open, nesting
 * deeper than TARN_TELEMETRY_MAX_DEPTH: each logged), -ENOSPC when the entry
 * does not fit in the reply (nothing of it is written; inside a container
 * that could not be opened every call returns -ENOSPC until its close).
 * Strings are escaped as JSON needs, the C1 controls (U+0080-U+009F) too;
 * bytes that are not UTF-8 become U+FFFD.
 * Non-finite doubles are written as null.
 */
/**@{*/

/** Make the reply a dictionary; add entries with tarn_telemetry_dict_*(). */
TARN_API int tarn_telemetry_start_dict(struct tarn_telemetry_data *d);
/** Make the reply an array; add entries with tarn_telemetry_array_*(). */
TARN_API int tarn_telemetry_start_array(struct tarn_telemetry_data *d);
/** Make the reply one string. */
TARN_API int tarn_telemetry_string(struct tarn_telemetry_data *d, const char *s);

/** Add `"name": v` to the current dictionary. */
TARN_API int tarn_telemetry_dict_int(struct tarn_telemetry_data *d, const char *name, int64_t v);
/** @copydoc tarn_telemetry_dict_int */
TARN_API int tarn_telemetry_dict_uint(struct tarn_telemetry_data *d, const char *name, uint64_t v);
/** @copydoc tarn_telemetry_dict_int */
TARN_API int tarn_telemetry_dict_double(struct tarn_telemetry_data *d, const char *name, double v);
/** Add `"name": true` (v non-zero) or `false`. */
TARN_API int tarn_telemetry_dict_bool(struct tarn_telemetry_data *d, const char *name, int v);
/** Add `"name": "s"` (NULL `s`: null). */
TARN_API int tarn_telemetry_dict_string(struct tarn_telemetry_data *d, const char *name,
                                        const char *s);
/** Add `"name": {` and make it the current container, until tarn_telemetry_close(). */
TARN_API int tarn_telemetry_dict_open_dict(struct tarn_telemetry_data *d, const char *name);
/** Add `"name": [` and make it the current container, until tarn_telemetry_close(). */
TARN_API int tarn_telemetry_dict_open_array(struct tarn_telemetry_data *d, const char *name);

/** Append v to the current array. */
TARN_API int tarn_telemetry_array_int(struct tarn_telemetry_data *d, int64_t v);
/** @copydoc tarn_telemetry_array_int */
TARN_API int tarn_telemetry_array_uint(struct tarn_telemetry_data *d, uint64_t v);
/** @copydoc tarn_telemetry_array_int */
TARN_API int tarn_telemetry_array_double(struct tarn_telemetry_data *d, double v);
/** Append true (v non-zero) or false. */
TARN_API int tarn_telemetry_array_bool(struct tarn_telemetry_data *d, int v);
/** Append "s" (NULL `s`: null). */
TARN_API int tarn_telemetry_array_string(struct tarn_telemetry_data *d, const char *s);
/** Append `{` and make it the current container, until tarn_telemetry_close(). */
TARN_API int tarn_telemetry_array_open_dict(struct tarn_telemetry_data *d);
/** Append `[` and make it the current container, until tarn_telemetry_close(). */
TARN_API int tarn_telemetry_array_open_array(struct tarn_telemetry_data *d);

/**
 * Close the container opened last by a *_open_*() call. Containers still
 * open when the callback returns are closed for it.
 * @return 0; -EINVAL if no nested container is open.
 */
TARN_API int tarn_telemetry_close(struct tarn_telemetry_data *d);
/**@}*/

/* ------------------------------------------------------------------------ */
/** @name Socket paths */
/**@{*/

/**
 * The directory holding this user's telemetry directories, one per prefix.
 *
 * First choice is where DPDK's client looks: `$RUNTIME_DIRECTORY/dpdk` if
 * set, else `/var/run/dpdk` for root, else `$XDG_RUNTIME_DIR/dpdk`, else
 * `/tmp/dpdk`. That choice is passed over when it is not safe for this user
 * (the effective uid): when it exists and is not a directory (a symbolic
 * link included), belongs to another user, or is writable by group or
 * others; or when its parent belongs to a user other than this one or root,
 * or is writable by group or others without the sticky bit. Then the
 * user's own fallback is used: `/run/user/<uid>/dpdk` when `/run/user/<uid>`
 * exists and passes the same checks, else `/tmp/tarn-<uid>/dpdk`
 * (`/tmp/tarn-<uid>` created with mode 0700 by the server, and itself
 * refused unless it is a directory of this user closed to group and
 * others). tarn_telemetry_runtime_dir_refusals() says what was passed over
 * and why. Nothing is created here; a directory that does not exist yet is
 * not passed over (the server creates it with mode 0700).
 *
 * dpdk-telemetry.py reads a fallback when run with
 * `RUNTIME_DIRECTORY=<the fallback without /dpdk>`; it does not check who
 * serves a socket, tarn-top does (SO_PEERCRED).
 *
 * @return the length written; -EINVAL (NULL `buf`); -ENAMETOOLONG (does not
 *   fit in `size`); -EACCES (every choice was refused: see
 *   tarn_telemetry_runtime_dir_refusals()). Thread-safe; works before
 *   tarn_init().
 */
TARN_API int tarn_telemetry_runtime_dir(char *buf, size_t size);

/**
 * What tarn_telemetry_runtime_dir() passes over, and why, in one line of
 * text for a person, e.g. "/tmp/dpdk belongs to user mallory (uid 1002), not
 * to user alice (uid 1001)". Empty when DPDK's own location is used.
 * @param buf  where the text goes (NUL-terminated, cut to fit), may be NULL
 *   when `size` is 0.
 * @param size  bytes at `buf`.
 * @return the length of the whole text (as snprintf), 0 when nothing was
 *   passed over; -EINVAL (NULL `buf` with `size` > 0). Thread-safe; works
 *   before tarn_init().
 */
TARN_API int tarn_telemetry_runtime_dir_refusals(char *buf, size_t size);

/**
 * The socket path of a file prefix: `<runtime dir>/<prefix>/dpdk_telemetry.v2`,
 * followed by `:<instance>` when `instance` > 0, the runtime dir being
 * tarn_telemetry_runtime_dir().
 * @return the length written; -EINVAL (NULL argument, an empty prefix or one
 *   with '/'); -ENAMETOOLONG (longer than `size` or than a UNIX socket path
 *   may be); -EACCES (no runtime directory is safe for this user).
 *   Thread-safe; works before tarn_init().
 */
TARN_API int tarn_telemetry_socket_path(const char *prefix, unsigned instance, char *buf,
                                        size_t size);

/**
 * The path the server of this process listens on.
 * @return the length written; -ENOENT (the server is not running: tarn not
 *   initialised, --no-telemetry, or it could not start); -EINVAL (NULL
 *   `buf`); -ENAMETOOLONG (`size` too small). Thread-safe.
 */
TARN_API int tarn_telemetry_path(char *buf, size_t size);
/**@}*/

/* ------------------------------------------------------------------------ */
/** @name lcore busy ratio
 * A polling loop reports how many polls it made and how many of them found
 * work; `/tarn/lcore/info,ID` and tarn-top show busy / polls. Counting is the
 * application's: e.g. count locally and report every 1024 polls.
 */
/**@{*/

/** Internal: poll counters of one lcore, written only by that lcore. */
struct tarn__telemetry_lcore {
	uint64_t polls;                                       /**< polls reported */
	uint64_t busy;                                        /**< of which found work */
	uint8_t pad_[TARN_CACHE_LINE - 2 * sizeof(uint64_t)]; /**< one line per lcore */
} TARN_CACHE_ALIGNED;

/** Internal: the counters, indexed by lcore id. */
extern TARN_API struct tarn__telemetry_lcore tarn__telemetry_lcores[TARN_MAX_LCORES];

/**
 * Add `polls` polls, `busy` of which found work, to the calling thread's
 * lcore. Does nothing in a thread without an lcore id.
 * Only the lcore itself may call it (single writer). Wait-free; inline.
 */
static inline void tarn_telemetry_lcore_polls(uint64_t polls, uint64_t busy)
{
	const uint32_t id = tarn_lcore_id();
	struct tarn__telemetry_lcore *l;

	if (tarn_unlikely(id >= TARN_MAX_LCORES))
		return;
	l = &tarn__telemetry_lcores[id];
	/* Single writer: a relaxed load of its own value is exact. polls is
	 * stored before busy; the release store of busy pairs with the acquire
	 * load in tarn_telemetry_lcore_usage(), so a reader never sees more
	 * busy polls than polls. */
	__atomic_store_n(&l->polls, __atomic_load_n(&l->polls, __ATOMIC_RELAXED) + polls,
	                 __ATOMIC_RELAXED);
	__atomic_store_n(&l->busy, __atomic_load_n(&l->busy, __ATOMIC_RELAXED) + busy,
	                 __ATOMIC_RELEASE);
}

/**
 * Read an lcore's poll counters (zeroed by tarn_init()).
 * @return 0; -EINVAL (`lcore` >= TARN_MAX_LCORES, NULL pointer).
 * Thread-safe, wait-free; `*busy` <= `*polls`.
 */
TARN_API int tarn_telemetry_lcore_usage(uint32_t lcore, uint64_t *polls, uint64_t *busy);
/**@}*/

#ifdef __cplusplus
}
#endif

#endif /* TARN_TELEMETRY_H */
