/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * telemetry.c - the command table, running a request, lcore poll counters.
 * The socket server is in server.c, socket paths in rundir.c, the built-in
 * tarn commands in cmds.c.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "telemetry_priv.h"

struct tarn__telemetry_lcore tarn__telemetry_lcores[TARN_MAX_LCORES];

/* ------------------------------------------------------------------------ */
/* The command table */

struct cmd_entry {
	char cmd[TARN_TELEMETRY_CMD_MAX];
	char help[TARN_TELEMETRY_HELP_MAX];
	tarn_telemetry_cb fn;
};

/* Entries are appended under reg_lock and never removed. */
static struct cmd_entry cmds[TARN_TELEMETRY_MAX_CMDS];
static unsigned n_cmds;
static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t builtins_once = PTHREAD_ONCE_INIT;

pthread_mutex_t tarn__tel_exec_lock = PTHREAD_MUTEX_INITIALIZER;
char tarn__tel_out[TARN_TELEMETRY_MAX_OUTPUT + 1];
/* Set while this thread runs a callback (tarn_telemetry_query() would deadlock). */
static __thread int in_exec;

static int cmd_name_valid(const char *cmd, const char **why)
{
	size_t len = strnlen(cmd, TARN_TELEMETRY_CMD_MAX);
	if (len >= TARN_TELEMETRY_CMD_MAX) {
		*why = "longer than TARN_TELEMETRY_CMD_MAX-1 characters";
		return 0;
	}
	if (cmd[0] != '/') {
		*why = "does not start with '/'";
		return 0;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)cmd[i];
		if (!isalnum(c) && c != '/' && c != '_' && c != '-' && c != '.') {
			*why = "has a character other than letters, digits and \"/_-.\"";
			return 0;
		}
	}
	return 1;
}

int tarn__tel_register(const char *cmd, tarn_telemetry_cb fn, const char *help)
{
	const char *why = NULL;
	if (cmd == NULL || fn == NULL) {
		TARN__ERR(TEL_LOG, "register: %s is NULL",
		          cmd == NULL ? "the command" : "the callback");
		return -EINVAL;
	}
	if (!cmd_name_valid(cmd, &why)) {
		TARN__ERR(TEL_LOG, "register '%.*s': the command %s", TARN_TELEMETRY_CMD_MAX, cmd,
		          why);
		return -EINVAL;
	}
	if (help == NULL)
		help = "";
	if (strnlen(help, TARN_TELEMETRY_HELP_MAX) >= TARN_TELEMETRY_HELP_MAX) {
		TARN__ERR(TEL_LOG, "register '%s': help text longer than %d characters", cmd,
		          TARN_TELEMETRY_HELP_MAX - 1);
		return -EINVAL;
	}
	int rc = 0;
	pthread_mutex_lock(&reg_lock);
	for (unsigned i = 0; i < n_cmds; i++) {
		if (strcmp(cmds[i].cmd, cmd) == 0) {
			rc = -EEXIST;
			break;
		}
	}
	if (rc == 0 && n_cmds == TARN_TELEMETRY_MAX_CMDS)
		rc = -ENOSPC;
	if (rc == 0) {
		struct cmd_entry *e = &cmds[n_cmds];
		snprintf(e->cmd, sizeof(e->cmd), "%s", cmd);
		snprintf(e->help, sizeof(e->help), "%s", help);
		e->fn = fn;
		n_cmds++;
	}
	pthread_mutex_unlock(&reg_lock);
	if (rc == -EEXIST)
		TARN__ERR(TEL_LOG, "register '%s': already registered", cmd);
	else if (rc == -ENOSPC)
		TARN__ERR(TEL_LOG, "register '%s': table full (%d commands)", cmd,
		          TARN_TELEMETRY_MAX_CMDS);
	return rc;
}

static tarn_telemetry_cb lookup(const char *cmd)
{
	tarn_telemetry_cb fn = NULL;
	pthread_mutex_lock(&reg_lock);
	for (unsigned i = 0; i < n_cmds && fn == NULL; i++)
		if (strcmp(cmds[i].cmd, cmd) == 0)
			fn = cmds[i].fn;
	pthread_mutex_unlock(&reg_lock);
	return fn;
}

/* "/": every command, in registration order. */
static int cmd_list(const char *cmd, const char *params, struct tarn_telemetry_data *d)
{
	(void)cmd;
	(void)params;
	tarn_telemetry_start_array(d);
	pthread_mutex_lock(&reg_lock);
	for (unsigned i = 0; i < n_cmds; i++)
		tarn_telemetry_array_string(d, cmds[i].cmd);
	pthread_mutex_unlock(&reg_lock);
	return 0;
}

/* "/help": its own help without a parameter, {"<cmd>": help} with one, null
 * for an unknown command (as DPDK does). */
static int cmd_help(const char *cmd, const char *params, struct tarn_telemetry_data *d)
{
	const char *want = params != NULL ? params : cmd;
	int rc = -ENOENT;
	pthread_mutex_lock(&reg_lock);
	for (unsigned i = 0; i < n_cmds; i++) {
		if (strcmp(cmds[i].cmd, want) != 0)
			continue;
		if (params == NULL) {
			tarn_telemetry_string(d, cmds[i].help);
		} else {
			tarn_telemetry_start_dict(d);
			tarn_telemetry_dict_string(d, cmds[i].cmd, cmds[i].help);
		}
		rc = 0;
		break;
	}
	pthread_mutex_unlock(&reg_lock);
	return rc;
}

int tarn__tel_info_json(char *buf, size_t size)
{
	return snprintf(buf, size, "{\"version\":\"tarn %s\",\"pid\":%d,\"max_output_len\":%d}",
	                tarn_version(), (int)getpid(), TARN_TELEMETRY_MAX_OUTPUT);
}

static int cmd_info(const char *cmd, const char *params, struct tarn_telemetry_data *d)
{
	(void)cmd;
	(void)params;
	char v[64];
	snprintf(v, sizeof(v), "tarn %s", tarn_version());
	tarn_telemetry_start_dict(d);
	tarn_telemetry_dict_string(d, "version", v);
	tarn_telemetry_dict_int(d, "pid", getpid());
	tarn_telemetry_dict_int(d, "max_output_len", TARN_TELEMETRY_MAX_OUTPUT);
	return 0;
}

static void register_builtins(void)
{
	tarn__tel_register("/", cmd_list,
	                   "Returns list of available commands, Takes no parameters");
	tarn__tel_register("/info", cmd_info,
	                   "Returns telemetry information (version, pid, max_output_len). Takes no "
	                   "parameters");
	tarn__tel_register("/help", cmd_help,
	                   "Returns help text for a command. Parameters: string command");
	tarn__tel_register_builtins();
}

void tarn__tel_builtins(void)
{
	pthread_once(&builtins_once, register_builtins);
}

int tarn_telemetry_register_cmd(const char *cmd, tarn_telemetry_cb fn, const char *help)
{
	tarn__tel_builtins();
	return tarn__tel_register(cmd, fn, help);
}

/* ------------------------------------------------------------------------ */
/* Running a request */

size_t tarn__tel_exec_locked(const char *req, size_t n, char *out, size_t size)
{
	char line[TARN_TELEMETRY_MAX_REQUEST + 1];
	tarn__tel_builtins();
	if (n > TARN_TELEMETRY_MAX_REQUEST)
		n = TARN_TELEMETRY_MAX_REQUEST;
	memcpy(line, req, n);
	line[n] = '\0';
	n = strlen(line); /* an embedded NUL ends the request */
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	/* command[,params]: params is everything after the first comma */
	const char *params = NULL;
	char *comma = strchr(line, ',');
	if (comma != NULL) {
		*comma = '\0';
		if (comma[1] != '\0')
			params = comma + 1;
	}
	const char *cmd = line;
	const size_t cmd_len = strlen(cmd);
	tarn_telemetry_cb fn = cmd_len < TARN_TELEMETRY_CMD_MAX ? lookup(cmd) : NULL;

	/* {"<command, at most CMD_MAX-1 bytes>":<value>} */
	const size_t key_len =
	    cmd_len < TARN_TELEMETRY_CMD_MAX ? cmd_len : TARN_TELEMETRY_CMD_MAX - 1;
	size_t len = 0;
	out[len++] = '{';
	len += tarn__json_escape(out + len, size - len, cmd, key_len);
	out[len++] = ':';
	/* the value may take what is left of max_output_len after the closing } */
	const size_t room = TARN_TELEMETRY_MAX_OUTPUT - len - 1;
	struct tarn_telemetry_data d;
	tarn__tel_data_init(&d, out + len, room, cmd);
	int rc = -ENOENT;
	if (fn != NULL) {
		in_exec = 1;
		rc = fn(cmd, params, &d);
		in_exec = 0;
	}
	size_t vlen = tarn__tel_data_finish(&d);
	if (rc < 0 || vlen == 0) {
		memcpy(out + len, "null", 4);
		vlen = 4;
	}
	len += vlen;
	out[len++] = '}';
	out[len] = '\0';
	if (fn == NULL)
		TARN__DEBUG(TEL_LOG, "unknown command '%.*s'", (int)key_len, cmd);
	return len;
}

int tarn_telemetry_query(const char *request, char *buf, size_t size)
{
	if (request == NULL || buf == NULL)
		return -EINVAL;
	if (in_exec)
		return -EDEADLK;
	pthread_mutex_lock(&tarn__tel_exec_lock);
	size_t len =
	    tarn__tel_exec_locked(request, strlen(request), tarn__tel_out, sizeof(tarn__tel_out));
	int rc = (int)len;
	if (len + 1 > size)
		rc = -ENOSPC;
	else
		memcpy(buf, tarn__tel_out, len + 1);
	pthread_mutex_unlock(&tarn__tel_exec_lock);
	return rc;
}

int tarn__tel_parse_id(const char *params, unsigned max, unsigned *out)
{
	if (params == NULL || !isdigit((unsigned char)params[0]))
		return -EINVAL;
	unsigned long v = 0;
	for (const char *p = params; *p != '\0'; p++) {
		if (!isdigit((unsigned char)*p))
			return -EINVAL;
		v = v * 10 + (unsigned long)(*p - '0');
		if (v > max)
			return -EINVAL;
	}
	*out = (unsigned)v;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* lcore poll counters */

int tarn_telemetry_lcore_usage(uint32_t lcore, uint64_t *polls, uint64_t *busy)
{
	if (lcore >= TARN_MAX_LCORES || polls == NULL || busy == NULL)
		return -EINVAL;
	const struct tarn__telemetry_lcore *l = &tarn__telemetry_lcores[lcore];
	/* acquire: pairs with the release store of busy in
	 * tarn_telemetry_lcore_polls(); polls, stored before it, is at least
	 * as new */
	const uint64_t b = __atomic_load_n(&l->busy, __ATOMIC_ACQUIRE);
	const uint64_t p = __atomic_load_n(&l->polls, __ATOMIC_RELAXED);
	*polls = p;
	*busy = b <= p ? b : p;
	return 0;
}

void tarn__tel_lcores_reset(void)
{
	for (unsigned i = 0; i < TARN_MAX_LCORES; i++) {
		/* relaxed: no lcore polls during tarn_init() */
		__atomic_store_n(&tarn__telemetry_lcores[i].polls, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&tarn__telemetry_lcores[i].busy, 0, __ATOMIC_RELAXED);
	}
}
