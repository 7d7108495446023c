/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * telemetry_priv.h - internal: the reply builder's state, command execution
 * and the built-in commands, shared by data.c, telemetry.c, server.c and
 * cmds.c. Never installed.
 */
#ifndef TARN_TELEMETRY_PRIV_H
#define TARN_TELEMETRY_PRIV_H

#include <sys/stat.h>
#include <sys/un.h>

#include "env_priv.h"
#include "json_priv.h" /* tarn__json_escape() */
#include "tarn_telemetry.h"

#define TEL_LOG "telemetry"

/* Kinds of open containers. */
#define TEL_DICT  1
#define TEL_ARRAY 2

/* The reply being built: JSON written straight into buf[0 .. cap). */
struct tarn_telemetry_data {
	char *buf;
	size_t cap;     /* bytes the value may take, closing brackets included */
	size_t len;     /* bytes written */
	int started;    /* 0: nothing yet; 1: string; 2: container */
	int over;       /* the entry being written did not fit */
	int truncated;  /* an entry was left out for lack of room */
	unsigned depth; /* open containers, the top-level one included */
	unsigned dead;  /* nested containers that could not be opened */
	uint8_t kind[TARN_TELEMETRY_MAX_DEPTH];
	uint32_t count[TARN_TELEMETRY_MAX_DEPTH];
	const char *cmd; /* for log lines */
};

/* Begin a reply in `buf` of `cap` bytes. */
void tarn__tel_data_init(struct tarn_telemetry_data *d, char *buf, size_t cap, const char *cmd);
/* Close what is open. Returns the value's length, 0 if nothing was started. */
size_t tarn__tel_data_finish(struct tarn_telemetry_data *d);

/*
 * Run one request (`req`, `n` bytes, not necessarily NUL-terminated) and
 * write the reply to out[0..size), NUL-terminated. Returns its length.
 * The caller holds tarn__tel_exec_lock; `size` >= TARN_TELEMETRY_MAX_OUTPUT+1.
 */
size_t tarn__tel_exec_locked(const char *req, size_t n, char *out, size_t size);
extern pthread_mutex_t tarn__tel_exec_lock;
/* The reply buffer shared under tarn__tel_exec_lock. */
extern char tarn__tel_out[TARN_TELEMETRY_MAX_OUTPUT + 1];
/* The info message (also /info). Returns its length. */
int tarn__tel_info_json(char *buf, size_t size);

/* Register a built-in command (same checks as the public call). */
int tarn__tel_register(const char *cmd, tarn_telemetry_cb fn, const char *help);
/* Register "/", "/info", "/help" and the built-ins below, once. */
void tarn__tel_builtins(void);
/* The built-in tarn and DPDK-alias commands (cmds.c). */
void tarn__tel_register_builtins(void);
/* Start the telemetry server (tarn_init(), lib/tarn/init.c; never fails
 * tarn_init: warns) and stop it (tarn_cleanup()). */
void tarn__telemetry_init(const struct tarn_config *cfg);
void tarn__telemetry_cleanup(void);
/* Zero the lcore poll counters (tarn_init()). */
void tarn__tel_lcores_reset(void);
/* Parse a decimal id 0 .. max (params of ",ID" commands). 0 or -EINVAL. */
int tarn__tel_parse_id(const char *params, unsigned max, unsigned *out);

/* Where this user's sockets go (rundir.c). */
struct tarn__tel_rundir {
	char base[sizeof(((struct sockaddr_un *)0)->sun_path)]; /* the parent of dir */
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];  /* <base>/dpdk */
	int own_base;  /* base is this user's own (/tmp/tarn-<uid>): create and check it */
	int fallback;  /* not DPDK's location */
	char why[512]; /* the locations passed over and why, "; "-separated */
};
/* Choose the runtime directory. 0; -ENAMETOOLONG; -EACCES (every location
 * refused: r->why says why). Creates nothing. */
int tarn__tel_rundir_resolve(struct tarn__tel_rundir *r);
/* Is the directory `path`, of lstat/fstat `st`, safe for this user: a real
 * directory of the effective uid closed to group and others writing? 0, or
 * -EPERM / -ENOTDIR with `why` saying which and why. */
int tarn__tel_dir_check(const char *path, const struct stat *st, char *why, size_t size);
/* "user NAME (uid N)", or "uid N" without a passwd entry. */
void tarn__tel_who(uid_t uid, char *buf, size_t size);

#endif /* TARN_TELEMETRY_PRIV_H */
