/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lcore_priv.h - internal: lcore table shared by lcore.c, options.c, env.c,
 * and what lib/tarn/init.c calls to start and stop the lcores. Never installed.
 */
#ifndef TARN_LCORE_PRIV_H
#define TARN_LCORE_PRIV_H

#include <sched.h>

#include "env_priv.h"

/* A parsed --lcores list: lcore ids in list order (first = main) and their CPUs. */
struct tarn__lcore_list {
	unsigned n;
	uint32_t id[TARN_MAX_LCORES];
	int cpu[TARN_MAX_LCORES];
};

/*
 * Parse "0-3,8" (id = cpu) or "0@2,1@3" (id@cpu), mixed freely. Checks syntax,
 * id range and duplicates, not whether the CPUs exist (see tarn__lcores_start).
 * On error logs what is wrong and returns -EINVAL.
 */
int tarn__lcores_parse(const char *s, struct tarn__lcore_list *out);

/* Start the lcores of `list` (the caller becomes list->id[0]). 0 or -errno. */
int tarn__lcores_start(const struct tarn__lcore_list *list, int pin_main);
/* Stop and join the workers, forget registered threads, restore affinity. */
void tarn__lcores_stop(void);
/* Socket of the calling thread's lcore, or -1 if it has none. */
int tarn__lcore_self_socket(void);

/* The calling main thread's CPU affinity before tarn_init() pinned it. 0 or -errno. */
int tarn__lcore_orig_affinity(cpu_set_t *set);

/* Validate a file prefix (logs why not). 0 or -EINVAL. */
int tarn__file_prefix_check(const char *prefix);

/*
 * env's part of tarn_init() (lib/tarn/init.c, under its lock): check `cfg`
 * again (log level, file prefix, huge policy, --socket-mem sockets; the log
 * level is applied), choose the lcore list into `list` (cfg->lcores, or the
 * first CPU this process may run on) and keep `cfg` for tarn_config_get().
 * Logs what is wrong. 0 or a negative errno.
 */
int tarn__env_configure(const struct tarn_config *cfg, struct tarn__lcore_list *list);
/* Mark tarn initialised (1) or not (0): what tarn_initialized() returns. */
void tarn__env_set_initialized(int on);

/* The option table of options.c, for the tests: the long name (without
 * "--") of option `i`, with its value's name in *metavar (NULL: takes none)
 * and its environment variable in *env (NULL: none); NULL past the last. */
const char *tarn__config_option(size_t i, const char **metavar, const char **env);

#endif
