/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tarn-top: a live view of a running tarn process — pools, ports, lcores —
 * read from its telemetry socket (DPDK telemetry v2, lib/telemetry).
 *
 *   tarn-top [--file-prefix NAME | --pid PID | --socket PATH] [--interval S]
 *            [--once] [--json] [--iterations N]
 *
 * Every interval it asks the process for /tarn/mempool/info of each pool,
 * /tarn/ethdev/stats of each port and /tarn/lcore/info of each lcore, and
 * shows rates computed from the difference with the previous sample.
 * docs/telemetry.md describes the screen and the JSON.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <tarn/tarn.h>

#include "json_priv.h" /* lib/env's JSON writer (tarn__json_*) */

#include "app_util.h"
#include "json.h"
#include "tel_client.h"
#include "vis.h"

#define PROG "tarn-top"
/* Exit codes. */
#define EXIT_OK      0
#define EXIT_FAIL    1 /* no process, connection lost, bad reply */
#define EXIT_USAGE   2

#define MAX_POOLS    64
#define MAX_CACHES   256
#define REPLY_WAIT_S 5.0

/* ------------------------------------------------------------------------ */
/* Options */

static struct {
	const char *prefix;
	long pid;
	const char *socket;
	unsigned instance;
	double interval;
	int once;
	int json;
	long iterations; /* 0: until q / signal */
} opt = { .interval = 1.0 };

static void usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: " PROG " [options]\n"
	    "\n"
	    "Live view of a running tarn process (pools, ports, lcores), read from its\n"
	    "telemetry socket. Press q to quit.\n"
	    "\n"
	    "  -f, --file-prefix NAME  the process's --file-prefix (default: $TARN_FILE_PREFIX,\n"
	    "                          else tarn)\n"
	    "  -p, --pid PID           the process with this pid (any prefix)\n"
	    "  -s, --socket PATH       this telemetry socket\n"
	    "  -i, --instance N        the N-th process of one prefix (socket suffix :N)\n"
	    "  -d, --interval S        seconds between samples, 0.1-3600 (default 1)\n"
	    "  -n, --iterations N      stop after N refreshes (default: until q)\n"
	    "      --once              print one sample (rates over one interval) and exit\n"
	    "      --json              JSON instead of the screen: one object per sample\n"
	    "  -h, --help              this text\n"
	    "\n"
	    "Sockets are under <run>/dpdk/<prefix>/dpdk_telemetry.v2, <run> being\n"
	    "$RUNTIME_DIRECTORY, /var/run for root, else $XDG_RUNTIME_DIR or /tmp; when\n"
	    "<run>/dpdk is not safe for this user (another user's, or writable by others),\n"
	    "this user's own /run/user/<uid>/dpdk or /tmp/tarn-<uid>/dpdk, as the process\n"
	    "chose. Only a process of this user (or root) is trusted: the socket's peer\n"
	    "is checked. Names the process sends are shown with control characters\n"
	    "escaped (\\xHH).\n"
	    "Exit status: 0 ok, 1 no process or connection lost, 2 bad usage.\n");
}

/* A prefix names one directory: not empty, no '/', not "." or "..". */
static int check_prefix(const char *name, const char *val)
{
	if (val[0] == '\0' || strchr(val, '/') != NULL || strcmp(val, ".") == 0 ||
	    strcmp(val, "..") == 0)
		return app_bad_value(PROG, name, val,
		                     "a file prefix (a name without '/', not . or ..)");
	return 0;
}

enum { OPT_ONCE = 256, OPT_JSON };

static const struct option long_opts[] = {
	{ "file-prefix", required_argument, NULL, 'f' },
	{ "pid", required_argument, NULL, 'p' },
	{ "socket", required_argument, NULL, 's' },
	{ "instance", required_argument, NULL, 'i' },
	{ "interval", required_argument, NULL, 'd' },
	{ "iterations", required_argument, NULL, 'n' },
	{ "once", no_argument, NULL, OPT_ONCE },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* 0, 1 (--help printed) or -1 (error printed). */
static int parse_args(int argc, char **argv)
{
	int c, sources = 0;
	long v;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":f:p:s:i:d:n:h", long_opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (check_prefix("file-prefix", optarg) < 0)
				return -1;
			opt.prefix = optarg;
			sources++;
			break;
		case 'p':
			if (app_parse_long(PROG, "pid", optarg, 1, 0x7fffffff, &opt.pid) < 0)
				return -1;
			sources++;
			break;
		case 's':
			opt.socket = optarg;
			sources++;
			break;
		case 'i':
			if (app_parse_long(PROG, "instance", optarg, 0, 1000, &v) < 0)
				return -1;
			opt.instance = (unsigned)v;
			break;
		case 'd':
			if (app_parse_seconds(PROG, "interval", optarg, 0.1, 3600, &opt.interval) <
			    0)
				return -1;
			break;
		case 'n':
			if (app_parse_long(PROG, "iterations", optarg, 1, 1000000000L,
			                   &opt.iterations) < 0)
				return -1;
			break;
		case OPT_ONCE:
			opt.once = 1;
			break;
		case OPT_JSON:
			opt.json = 1;
			break;
		case 'h':
			usage(stdout);
			return 1;
		default:
			return app_opt_error(PROG, c, argv);
		}
	}
	if (app_no_operand(PROG, argc, argv) < 0)
		return -1;
	if (sources > 1) {
		fprintf(stderr, PROG ": give one of --file-prefix, --pid and --socket\n");
		return -1;
	}
	if (opt.instance > 0 && (opt.pid != 0 || opt.socket != NULL)) {
		fprintf(stderr, PROG ": --instance goes with --file-prefix only\n");
		return -1;
	}
	if (opt.prefix == NULL && opt.pid == 0 && opt.socket == NULL) {
		const char *env = getenv("TARN_FILE_PREFIX");
		opt.prefix = env != NULL && env[0] != '\0' ? env : "tarn";
		if (check_prefix("file-prefix", opt.prefix) < 0) {
			fprintf(stderr, PROG ": (the prefix comes from TARN_FILE_PREFIX)\n");
			return -1;
		}
	}
	return 0;
}

/* ------------------------------------------------------------------------ */
/* The connection */

struct conn {
	struct tel_conn t; /* t.doc: the last reply */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	long pid;
	char version[64];
};

static struct conn conn = { .t = TEL_CONN_INIT };

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die_code(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));
static void term_restore(void);

static void vdie(int code, const char *fmt, va_list ap) __attribute__((noreturn));

/* Print "tarn-top: <message>" (escaped: it may quote what the process
 * sent) and exit with `code`. */
static void vdie(int code, const char *fmt, va_list ap)
{
	term_restore();
	char msg[2048], shown[4 * sizeof(msg)];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	fprintf(stderr, PROG ": %s\n", vis(shown, sizeof(shown), msg));
	exit(code);
}

static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vdie(EXIT_FAIL, fmt, ap);
}

static void die_code(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vdie(code, fmt, ap);
}

/* "user NAME (uid N)", or "uid N". */
static const char *who(uid_t uid, char *buf, size_t size)
{
	struct passwd *pw = getpwuid(uid);
	if (pw != NULL)
		snprintf(buf, size, "user %s (uid %u)", pw->pw_name, (unsigned)uid);
	else
		snprintf(buf, size, "uid %u", (unsigned)uid);
	return buf;
}

/*
 * Who listens on the connected socket `fd` (SO_PEERCRED: what the kernel
 * recorded, not what the process says)? A process of this user, or root, is
 * trusted; root trusts every process. 0 with the peer's pid, or -EPERM with
 * `why`.
 */
static int peer_check(int fd, long *pid, char *why, size_t size)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0 || len != sizeof(cr)) {
		snprintf(why, size, "cannot learn who serves it (SO_PEERCRED: %s)",
		         strerror(errno));
		return -EPERM;
	}
	const uid_t me = geteuid();
	if (me != 0 && cr.uid != me && cr.uid != 0) {
		char peer[96], self[96];
		snprintf(why, size,
		         "served by %s, pid %ld, not by %s or root: not trusted (another user's "
		         "socket where a process of yours is expected)",
		         who(cr.uid, peer, sizeof(peer)), (long)cr.pid,
		         who(me, self, sizeof(self)));
		return -EPERM;
	}
	*pid = cr.pid;
	return 0;
}

/* Connect to `path` and read the info message. 0 or -errno; on -EPROTO
 * and -EPERM `why` says what was wrong. */
static int conn_open(struct conn *c, const char *path, const char **why)
{
	static char peer_why[256];
	*why = NULL;
	int rc = tel_connect(&c->t, path);
	if (rc < 0)
		return rc;
	long peer_pid = 0, msg_pid = 0;
	if (peer_check(c->t.fd, &peer_pid, peer_why, sizeof(peer_why)) < 0) {
		*why = peer_why;
		tel_close(&c->t);
		return -EPERM;
	}
	snprintf(c->path, sizeof(c->path), "%s", path);
	rc = tel_read_info(&c->t, app_now_s() + REPLY_WAIT_S, 64u << 20, &msg_pid, c->version,
	                   sizeof(c->version));
	if (rc < 0) {
		if (rc == -EPROTO)
			*why = "the first message is not a telemetry info message";
		tel_close(&c->t);
		return rc;
	}
	/* the kernel's word for the pid, not the message's */
	c->pid = peer_pid > 0 ? peer_pid : msg_pid;
	return 0;
}

/*
 * Run `cmd` and return the value of its reply (NULL for `null`: unknown
 * command or bad parameter). The value lives until the next query. A lost
 * connection or a malformed reply ends the program.
 */
static const struct jval *query(struct conn *c, const char *cmd)
{
	jdoc_free(c->t.doc);
	c->t.doc = NULL;
	if (send(c->t.fd, cmd, strlen(cmd), MSG_NOSIGNAL) < 0)
		die("process %ld: connection lost (%s): did it exit?", c->pid, strerror(errno));
	long n = tel_recv(&c->t, c->t.max_len, app_now_s() + REPLY_WAIT_S);
	if (n == -ECONNRESET)
		die("process %ld closed the connection: did it exit?", c->pid);
	if (n < 0)
		die("process %ld: no reply to %s (%s)", c->pid, cmd, strerror((int)-n));
	char err[128];
	c->t.doc = jdoc_parse(c->t.buf, (size_t)n, err, sizeof(err));
	if (c->t.doc == NULL)
		die("process %ld: malformed reply to %s: %s", c->pid, cmd, err);
	const struct jval *root = c->t.doc->root;
	if (root->type != J_OBJ || root->child == NULL)
		die("process %ld: reply to %s is not {\"<command>\": value}", c->pid, cmd);
	const struct jval *v = root->child;
	return v->type == J_NULL ? NULL : v;
}

/* List the prefixes that have a socket, for an error message. */
static void list_prefixes(const char *root)
{
	DIR *d = opendir(root);
	if (d == NULL)
		return;
	struct dirent *e;
	int n = 0;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		char p[512];
		snprintf(p, sizeof(p), "%s/%s/%s", root, e->d_name, TARN_TELEMETRY_SOCKET_NAME);
		if (access(p, F_OK) != 0)
			continue;
		char name[4 * sizeof(e->d_name)];
		fprintf(stderr, "%s %s", n++ ? "," : PROG ": prefixes with a telemetry socket:",
		        vis(name, sizeof(name), e->d_name));
	}
	if (n > 0)
		fprintf(stderr, "\n");
	closedir(d);
}

/* Find the socket of process `pid` under the runtime directory: tarn's,
 * else another (a DPDK process's own, which may lead to tarn's). */
static int find_pid(const char *root, long pid, char *out, size_t size)
{
	DIR *d = opendir(root);
	if (d == NULL)
		return -errno;
	struct dirent *e;
	int found = -ENOENT, other = 0;
	while (found < 0 && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		char sub[512];
		snprintf(sub, sizeof(sub), "%s/%s", root, e->d_name);
		DIR *sd = opendir(sub);
		if (sd == NULL)
			continue;
		struct dirent *f;
		while (found < 0 && (f = readdir(sd)) != NULL) {
			if (strncmp(f->d_name, TARN_TELEMETRY_SOCKET_NAME,
			            strlen(TARN_TELEMETRY_SOCKET_NAME)) != 0)
				continue;
			char path[1024];
			snprintf(path, sizeof(path), "%s/%s", sub, f->d_name);
			struct conn c = { .t = TEL_CONN_INIT };
			const char *why;
			if (conn_open(&c, path, &why) == 0 && c.pid == pid && strlen(path) < size) {
				if (strncmp(c.version, "tarn", 4) == 0) {
					strcpy(out, path);
					found = 0;
				} else if (!other) {
					strcpy(out, path);
					other = 1;
				}
			}
			tel_close(&c.t);
		}
		closedir(sd);
	}
	closedir(d);
	return found < 0 && other ? 0 : found;
}

/*
 * The socket connected to has no /tarn/ commands. A DPDK process running
 * tarn's mempool plugin answers /tarn/socket with the path of tarn's socket
 * in that process: go there. Otherwise say why there is nothing to show.
 */
static void follow_tarn_socket(void)
{
	const struct jval *v = query(&conn, "/tarn/socket");
	const char *p = v != NULL ? jget_str(v, "path", NULL) : NULL;
	char path[sizeof(conn.path)], from[sizeof(conn.path)];
	snprintf(from, sizeof(from), "%s", conn.path);
	if (p == NULL || strlen(p) >= sizeof(path)) {
		int plugin = 0;
		const struct jval *list = query(&conn, "/");
		for (const struct jval *e = list ? list->child : NULL; e != NULL; e = e->next)
			plugin |= e->type == J_STR && strcmp(e->str, "/tarn/socket") == 0;
		if (plugin)
			die("process %ld (%s) at %s runs tarn's DPDK mempool plugin, but tarn has "
			    "not started (no pool on the tarn ops yet) or runs without its "
			    "telemetry socket (TARN_NO_TELEMETRY)",
			    conn.pid, conn.version, from);
		die("process %ld (%s) at %s is not a tarn process: it has no /tarn/ commands%s",
		    conn.pid, conn.version, from,
		    strncmp(conn.version, "DPDK", 4) == 0
		        ? " (a DPDK program shows its tarn pools when it runs tarn's mempool "
		          "plugin: -d .../librte_mempool_tarn.so --mbuf-pool-ops-name tarn)"
		        : "");
	}
	snprintf(path, sizeof(path), "%s", p);
	long dpdk_pid = conn.pid;
	tel_close(&conn.t);
	const char *why;
	int rc = conn_open(&conn, path, &why);
	if (rc == -EPROTO || rc == -EPERM)
		die("%s (tarn's socket in DPDK process %ld): %s", path, dpdk_pid, why);
	if (rc < 0)
		die("cannot connect to %s (tarn's socket in DPDK process %ld): %s", path, dpdk_pid,
		    strerror(-rc));
	if (query(&conn, "/tarn/info") == NULL)
		die("%s (tarn's socket in DPDK process %ld) has no /tarn/info", path, dpdk_pid);
}

/* Why `path` cannot be connected to (EACCES): the first directory on the
 * way that this user may not enter, or the socket itself. */
static void explain_access(const char *path, char *out, size_t size)
{
	char part[sizeof(((struct sockaddr_un *)0)->sun_path)], owner[96];
	snprintf(part, sizeof(part), "%s", path);
	struct stat st;
	for (char *slash = strchr(part + 1, '/'); slash != NULL; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		if (stat(part, &st) == 0 && access(part, X_OK) != 0) {
			snprintf(out, size,
			         "directory %s belongs to %s, mode %04o, and is not open to you%s",
			         part, who(st.st_uid, owner, sizeof(owner)),
			         (unsigned)(st.st_mode & 07777),
			         st.st_uid != geteuid() ? ": a process of yours does not put its "
			                                  "socket there"
			                                : "");
			return;
		}
		*slash = '/';
	}
	if (stat(path, &st) == 0 && st.st_uid != geteuid())
		snprintf(out, size,
		         "the socket belongs to %s, mode %04o: the process runs as that user (run "
		         "tarn-top as that user, or as root)",
		         who(st.st_uid, owner, sizeof(owner)), (unsigned)(st.st_mode & 07777));
	else if (stat(path, &st) == 0)
		snprintf(out, size, "the socket's mode (%04o) does not let you write to it",
		         (unsigned)(st.st_mode & 07777));
	else
		snprintf(out, size, "permission denied");
}

/* What a file that is not a socket is. */
static const char *file_kind(mode_t m)
{
	return S_ISREG(m)    ? "a regular file"
	       : S_ISDIR(m)  ? "a directory"
	       : S_ISFIFO(m) ? "a FIFO"
	       : S_ISCHR(m)  ? "a character device"
	       : S_ISBLK(m)  ? "a block device"
	       : S_ISLNK(m)  ? "a symbolic link"
	                     : "not a socket";
}

static void connect_target(void)
{
	char root[256], path[sizeof(conn.path)], refused[512] = "";
	tarn_telemetry_runtime_dir_refusals(refused, sizeof(refused));
	int rrc = tarn_telemetry_runtime_dir(root, sizeof(root));
	if (rrc == -EACCES && opt.socket == NULL)
		die("no runtime directory is safe for this user, so no process of yours has a "
		    "telemetry socket: %s",
		    refused);
	if (rrc < 0 && opt.socket == NULL)
		die("runtime directory: %s", tarn_strerror(rrc));
	/* a note for "not found": why the usual place was not looked in */
	char note[700] = "";
	if (refused[0] != '\0' && rrc >= 0)
		snprintf(note, sizeof(note), " (%s: not used; this user's sockets are under %s)",
		         refused, root);
	if (opt.socket != NULL) {
		snprintf(path, sizeof(path), "%s", opt.socket);
		struct stat st;
		if (stat(path, &st) == 0 && !S_ISSOCK(st.st_mode))
			die_code(
			    EXIT_USAGE,
			    "--socket %s: not a socket (it is %s): give the path of a telemetry "
			    "socket, <run>/dpdk/<prefix>/" TARN_TELEMETRY_SOCKET_NAME
			    " (see --help)",
			    path, file_kind(st.st_mode));
	} else if (opt.pid != 0) {
		if (find_pid(root, opt.pid, path, sizeof(path)) < 0) {
			list_prefixes(root);
			die("no telemetry socket of process %ld under %s: is it a tarn process, "
			    "running with telemetry (not --no-telemetry), as this user?%s",
			    opt.pid, root, note);
		}
	} else {
		int rc = tarn_telemetry_socket_path(opt.prefix, opt.instance, path, sizeof(path));
		if (rc < 0)
			die("--file-prefix '%s': %s", opt.prefix, tarn_strerror(rc));
	}
	const char *why;
	int rc = conn_open(&conn, path, &why);
	if (rc == -ENOENT || rc == -ECONNREFUSED) {
		if (opt.socket == NULL)
			list_prefixes(root);
		if (rc == -ENOENT)
			die("no tarn process with %s '%s': %s does not exist. Is it running, "
			    "with telemetry (not --no-telemetry), as this user?%s",
			    opt.socket ? "socket" : "file prefix",
			    opt.socket ? opt.socket : opt.prefix, path, opt.socket ? "" : note);
		die("%s is left by a process that is gone (connection refused)", path);
	}
	if (rc == -EACCES) {
		char expl[512];
		explain_access(path, expl, sizeof(expl));
		die("%s: %s%s", path, expl, opt.socket ? "" : note);
	}
	if (rc == -EPERM || rc == -EPROTO)
		die("%s: %s", path, why);
	if (rc < 0)
		die("cannot connect to %s: %s", path, strerror(-rc));
	if (query(&conn, "/tarn/info") == NULL)
		follow_tarn_socket();
}

/* ------------------------------------------------------------------------ */
/* Samples */

struct cache_s {
	int lcore;
	unsigned len, size;
};

struct pool_s {
	char name[TARN_NAME_SIZE];
	struct tel_pool_counts c;
	unsigned ncaches, ncaches_total;
	struct cache_s caches[MAX_CACHES];
};

struct queue_s {
	uint64_t packets, bytes, drops;
};

struct port_s {
	unsigned id;
	char name[TARN_NAME_SIZE], driver[TARN_NAME_SIZE], state[16];
	struct tel_port_counts c;
	unsigned nrxq, ntxq;
	struct queue_s rxq[TARN_ETH_MAX_QUEUES], txq[TARN_ETH_MAX_QUEUES];
};

struct sample {
	double t;    /* monotonic seconds */
	time_t wall; /* when */
	char prefix[TARN_PREFIX_SIZE];
	unsigned npools, npools_total, nports, nlcores;
	struct pool_s pools[MAX_POOLS];
	struct port_s ports[TARN_MAX_ETHPORTS];
	struct tel_lcore lcores[TARN_MAX_LCORES];
};

/* The pools of `list_cmd` (names), each read with `info_cmd`,NAME. */
static void sample_pool_set(struct sample *s, const char *list_cmd, const char *info_cmd)
{
	/* names first: the next query frees this reply */
	static char names[MAX_POOLS][TARN_NAME_SIZE];
	unsigned n = 0;
	const struct jval *list = query(&conn, list_cmd);
	for (const struct jval *e = list ? list->child : NULL; e != NULL; e = e->next) {
		s->npools_total++;
		if (e->type == J_STR && n < MAX_POOLS)
			app_copy_str(names[n++], TARN_NAME_SIZE, e->str);
	}
	for (unsigned i = 0; i < n && s->npools < MAX_POOLS; i++) {
		char cmd[96];
		snprintf(cmd, sizeof(cmd), "%s,%.*s", info_cmd, TARN_NAME_SIZE - 1, names[i]);
		const struct jval *v = query(&conn, cmd);
		if (v == NULL)
			continue; /* freed since the list */
		struct pool_s *p = &s->pools[s->npools++];
		memset(p, 0, sizeof(*p));
		app_copy_str(p->name, sizeof(p->name), names[i]);
		tel_pool_counts_read(v, &p->c);
		const struct jval *caches = jget(v, "caches");
		for (const struct jval *c = caches ? caches->child : NULL; c != NULL; c = c->next) {
			p->ncaches_total++;
			if (p->ncaches == MAX_CACHES)
				continue;
			struct cache_s *cs = &p->caches[p->ncaches++];
			cs->lcore = (int)jget_num(c, "lcore", -1);
			cs->len = (unsigned)jget_u64(c, "len", 0);
			cs->size = (unsigned)jget_u64(c, "size", 0);
		}
	}
}

static void sample_pools(struct sample *s)
{
	s->npools_total = 0;
	s->npools = 0;
	sample_pool_set(s, "/tarn/mempool/list", "/tarn/mempool/info");
	/* A DPDK process with tarn's mempool plugin: its DPDK pools on the tarn
	 * ops (null elsewhere: none). */
	sample_pool_set(s, "/tarn/dpdk/mempool/list", "/tarn/dpdk/mempool/info");
}

/* query() of "CMD,ID" on the connection. */
static const struct jval *query_id(const char *cmd, unsigned id)
{
	char req[96];
	snprintf(req, sizeof(req), "%s,%u", cmd, id);
	return query(&conn, req);
}

/* The queues of a port's stats reply (its "rx_queues" or "tx_queues" list)
 * into qs, at most TARN_ETH_MAX_QUEUES; returns how many. A queue's drops:
 * errors, and on RX also the packets missed and the mbufs it lacked. */
static unsigned read_queues(const struct jval *list, struct queue_s *qs, int rx)
{
	unsigned n = 0;
	for (const struct jval *q = list != NULL ? list->child : NULL;
	     q != NULL && n < TARN_ETH_MAX_QUEUES; q = q->next, n++) {
		qs[n].packets = jget_u64(q, "packets", 0);
		qs[n].bytes = jget_u64(q, "bytes", 0);
		qs[n].drops = jget_u64(q, "errors", 0);
		if (rx)
			qs[n].drops += jget_u64(q, "missed", 0) + jget_u64(q, "nombuf", 0);
	}
	return n;
}

static void sample_ports(struct sample *s)
{
	unsigned ids[TARN_MAX_ETHPORTS];
	unsigned n = tel_ids(query(&conn, "/tarn/ethdev/list"), ids, TARN_MAX_ETHPORTS);
	s->nports = 0;
	for (unsigned i = 0; i < n; i++) {
		const struct jval *v = query_id("/tarn/ethdev/stats", ids[i]);
		if (v == NULL)
			continue; /* closed since the list */
		struct port_s *p = &s->ports[s->nports++];
		memset(p, 0, sizeof(*p));
		p->id = ids[i];
		app_copy_str(p->name, sizeof(p->name), jget_str(v, "name", "?"));
		app_copy_str(p->driver, sizeof(p->driver), jget_str(v, "driver", "?"));
		app_copy_str(p->state, sizeof(p->state), jget_str(v, "state", "?"));
		tel_port_counts_read(v, &p->c);
		p->nrxq = read_queues(jget(v, "rx_queues"), p->rxq, 1);
		p->ntxq = read_queues(jget(v, "tx_queues"), p->txq, 0);
	}
}

static void sample_lcores(struct sample *s)
{
	unsigned ids[TARN_MAX_LCORES];
	unsigned n = tel_ids(query(&conn, "/tarn/lcore/list"), ids, TARN_MAX_LCORES);
	s->nlcores = 0;
	for (unsigned i = 0; i < n; i++) {
		const struct jval *v = query_id("/tarn/lcore/info", ids[i]);
		if (v == NULL)
			continue;
		tel_lcore_read(v, ids[i], "?", &s->lcores[s->nlcores++]);
	}
}

static void sample_take(struct sample *s)
{
	const struct jval *info = query(&conn, "/tarn/info");
	if (info == NULL)
		die("process %ld: /tarn/info gave no answer", conn.pid);
	app_copy_str(s->prefix, sizeof(s->prefix), jget_str(info, "file_prefix", "?"));
	sample_pools(s);
	sample_ports(s);
	sample_lcores(s);
	s->t = app_now_s();
	s->wall = time(NULL);
}

/* ------------------------------------------------------------------------ */
/* Rates: from the previous sample (NULL: none yet) */

static const struct pool_s *prev_pool(const struct sample *prev, const struct pool_s *p)
{
	for (unsigned i = 0; prev != NULL && i < prev->npools; i++)
		if (strcmp(prev->pools[i].name, p->name) == 0)
			return &prev->pools[i];
	return NULL;
}

static const struct port_s *prev_port(const struct sample *prev, const struct port_s *p)
{
	for (unsigned i = 0; prev != NULL && i < prev->nports; i++)
		if (prev->ports[i].id == p->id && strcmp(prev->ports[i].name, p->name) == 0)
			return &prev->ports[i];
	return NULL;
}

static const struct tel_lcore *prev_lcore(const struct sample *prev, const struct tel_lcore *l)
{
	for (unsigned i = 0; prev != NULL && i < prev->nlcores; i++)
		if (prev->lcores[i].id == l->id)
			return &prev->lcores[i];
	return NULL;
}

/* (cur - old) / dt; counters reset (cur < old) count from 0. */
static double rate(uint64_t cur, uint64_t old, double dt)
{
	return dt > 0 ? (double)(cur >= old ? cur - old : cur) / dt : 0.0;
}

/* Hit rate over the interval, or since the start without a previous sample
 * (or without gets in the interval). -1: no gets at all. */
static double pool_hit(const struct pool_s *p, const struct pool_s *o)
{
	const struct tel_pool_counts *c = &p->c, *b = o != NULL ? &o->c : NULL;
	if (b != NULL && c->get_objs > b->get_objs)
		return 100.0 * (double)(c->hit_objs - b->hit_objs) /
		       (double)(c->get_objs - b->get_objs);
	return c->get_objs > 0 ? 100.0 * (double)c->hit_objs / (double)c->get_objs : -1.0;
}

/* Busy percent over the interval (-1: no polls in it), or since the start. */
static double lcore_busy(const struct tel_lcore *l, const struct tel_lcore *o)
{
	if (o != NULL)
		return l->polls > o->polls
		           ? 100.0 * (double)(l->busy - o->busy) / (double)(l->polls - o->polls)
		           : -1.0;
	return l->polls > 0 ? 100.0 * (double)l->busy / (double)l->polls : -1.0;
}

struct port_rates {
	double rx_pps, tx_pps, rx_bps, tx_bps, rx_drops, tx_drops;
	double q_pps[2][TARN_ETH_MAX_QUEUES], q_bps[2][TARN_ETH_MAX_QUEUES],
	    q_drops[2][TARN_ETH_MAX_QUEUES];
};

static void port_rates(const struct port_s *p, const struct port_s *o, double dt,
                       struct port_rates *r)
{
	memset(r, 0, sizeof(*r));
	if (o == NULL)
		return;
	const struct tel_port_counts *c = &p->c, *b = &o->c;
	r->rx_pps = rate(c->ipackets, b->ipackets, dt);
	r->tx_pps = rate(c->opackets, b->opackets, dt);
	r->rx_bps = 8 * rate(c->ibytes, b->ibytes, dt);
	r->tx_bps = 8 * rate(c->obytes, b->obytes, dt);
	r->rx_drops = rate(c->imissed + c->ierrors + c->rx_nombuf,
	                   b->imissed + b->ierrors + b->rx_nombuf, dt);
	r->tx_drops = rate(c->oerrors, b->oerrors, dt);
	for (unsigned q = 0; q < p->nrxq; q++) {
		const struct queue_s z = { 0, 0, 0 }, *oq = q < o->nrxq ? &o->rxq[q] : &z;
		r->q_pps[0][q] = rate(p->rxq[q].packets, oq->packets, dt);
		r->q_bps[0][q] = 8 * rate(p->rxq[q].bytes, oq->bytes, dt);
		r->q_drops[0][q] = rate(p->rxq[q].drops, oq->drops, dt);
	}
	for (unsigned q = 0; q < p->ntxq; q++) {
		const struct queue_s z = { 0, 0, 0 }, *oq = q < o->ntxq ? &o->txq[q] : &z;
		r->q_pps[1][q] = rate(p->txq[q].packets, oq->packets, dt);
		r->q_bps[1][q] = 8 * rate(p->txq[q].bytes, oq->bytes, dt);
		r->q_drops[1][q] = rate(p->txq[q].drops, oq->drops, dt);
	}
}

/* ------------------------------------------------------------------------ */
/* JSON output (lib/env's writer, shared with tarn-fwd, tarn-bench and
 * telemetry) */

/* A rate: 3 decimals, or null when unknown (< 0). */
static void json_rate(struct tarn__json *j, const char *key, double v)
{
	if (v < 0)
		tarn__json_null(j, key);
	else
		tarn__json_double(j, key, v, 3);
}

static void json_pool(struct tarn__json *j, const struct pool_s *p, const struct pool_s *o,
                      double dt)
{
	tarn__json_object_open(j, NULL);
	tarn__json_string(j, "name", p->name);
	tarn__json_uint(j, "size", p->c.size);
	tarn__json_uint(j, "in_use", p->c.in_use);
	tarn__json_uint(j, "avail", p->c.avail);
	tarn__json_uint(j, "cache_size", p->c.cache_size);
	tarn__json_uint(j, "get_objs", p->c.get_objs);
	tarn__json_uint(j, "hit_objs", p->c.hit_objs);
	json_rate(j, "hit_percent", pool_hit(p, o));
	tarn__json_uint(j, "refills", p->c.refills);
	json_rate(j, "refills_per_s", o ? rate(p->c.refills, o->c.refills, dt) : -1);
	tarn__json_uint(j, "flushes", p->c.flushes);
	tarn__json_uint(j, "fails", p->c.fails);
	json_rate(j, "fails_per_s", o ? rate(p->c.fails, o->c.fails, dt) : -1);
	tarn__json_array_open(j, "caches");
	for (unsigned c = 0; c < p->ncaches; c++) {
		tarn__json_object_open(j, NULL);
		tarn__json_int(j, "lcore", p->caches[c].lcore);
		tarn__json_uint(j, "len", p->caches[c].len);
		tarn__json_uint(j, "size", p->caches[c].size);
		tarn__json_close(j);
	}
	tarn__json_close(j);
	tarn__json_close(j);
}

static void json_port(struct tarn__json *j, const struct port_s *p, const struct port_s *o,
                      double dt)
{
	struct port_rates r;
	port_rates(p, o, dt, &r);
	tarn__json_object_open(j, NULL);
	tarn__json_uint(j, "id", p->id);
	tarn__json_string(j, "name", p->name);
	tarn__json_string(j, "driver", p->driver);
	tarn__json_string(j, "state", p->state);
	tarn__json_uint(j, "ipackets", p->c.ipackets);
	tarn__json_uint(j, "opackets", p->c.opackets);
	tarn__json_uint(j, "ibytes", p->c.ibytes);
	tarn__json_uint(j, "obytes", p->c.obytes);
	tarn__json_uint(j, "imissed", p->c.imissed);
	tarn__json_uint(j, "ierrors", p->c.ierrors);
	tarn__json_uint(j, "oerrors", p->c.oerrors);
	tarn__json_uint(j, "rx_nombuf", p->c.rx_nombuf);
	const double none = o ? 0 : -1;
	json_rate(j, "rx_pps", o ? r.rx_pps : none);
	json_rate(j, "tx_pps", o ? r.tx_pps : none);
	json_rate(j, "rx_bps", o ? r.rx_bps : none);
	json_rate(j, "tx_bps", o ? r.tx_bps : none);
	json_rate(j, "rx_drops_per_s", o ? r.rx_drops : none);
	json_rate(j, "tx_drops_per_s", o ? r.tx_drops : none);
	for (int dir = 0; dir < 2; dir++) {
		const unsigned nq = dir ? p->ntxq : p->nrxq;
		const struct queue_s *qs = dir ? p->txq : p->rxq;
		tarn__json_array_open(j, dir ? "tx_queues" : "rx_queues");
		for (unsigned q = 0; q < nq; q++) {
			tarn__json_object_open(j, NULL);
			tarn__json_uint(j, "queue", q);
			tarn__json_uint(j, "packets", qs[q].packets);
			tarn__json_uint(j, "bytes", qs[q].bytes);
			tarn__json_uint(j, "drops", qs[q].drops);
			json_rate(j, "pps", o ? r.q_pps[dir][q] : none);
			json_rate(j, "bps", o ? r.q_bps[dir][q] : none);
			json_rate(j, "drops_per_s", o ? r.q_drops[dir][q] : none);
			tarn__json_close(j);
		}
		tarn__json_close(j);
	}
	tarn__json_close(j);
}

static void print_json(const struct sample *s, const struct sample *prev)
{
	const double dt = prev != NULL ? s->t - prev->t : 0;
	struct tarn__json j;
	tarn__json_init(&j, stdout, TARN__JSON_COMPACT);
	tarn__json_object_open(&j, NULL);
	tarn__json_int(&j, "time", (int64_t)s->wall);
	tarn__json_int(&j, "pid", conn.pid);
	tarn__json_string(&j, "version", conn.version);
	tarn__json_string(&j, "file_prefix", s->prefix);
	tarn__json_string(&j, "socket", conn.path);
	tarn__json_double(&j, "interval_s", dt, 3);
	tarn__json_array_open(&j, "pools");
	for (unsigned i = 0; i < s->npools; i++)
		json_pool(&j, &s->pools[i], prev_pool(prev, &s->pools[i]), dt);
	tarn__json_close(&j);
	tarn__json_array_open(&j, "ports");
	for (unsigned i = 0; i < s->nports; i++)
		json_port(&j, &s->ports[i], prev_port(prev, &s->ports[i]), dt);
	tarn__json_close(&j);
	tarn__json_array_open(&j, "lcores");
	for (unsigned i = 0; i < s->nlcores; i++) {
		const struct tel_lcore *l = &s->lcores[i];
		tarn__json_object_open(&j, NULL);
		tarn__json_uint(&j, "lcore_id", l->id);
		tarn__json_string(&j, "role", l->role);
		tarn__json_int(&j, "cpu", l->cpu);
		tarn__json_int(&j, "socket", l->socket);
		tarn__json_uint(&j, "polls", l->polls);
		tarn__json_uint(&j, "busy_polls", l->busy);
		json_rate(&j, "busy_percent", lcore_busy(l, prev_lcore(prev, l)));
		tarn__json_close(&j);
	}
	tarn__json_finish(&j);
	putchar('\n');
	fflush(stdout);
}

/* ------------------------------------------------------------------------ */
/* Screen */

static int tty_out;  /* stdout is a terminal: draw in place */
static int term_raw; /* stdin was put in raw mode */
static struct termios term_saved;
static volatile sig_atomic_t stop_sig;

static void term_restore(void)
{
	if (term_raw) {
		tcsetattr(STDIN_FILENO, TCSANOW, &term_saved);
		term_raw = 0;
	}
	if (tty_out) {
		/* cursor back, main screen back */
		fputs("\033[?25h\033[?1049l", stdout);
		fflush(stdout);
		tty_out = 0;
	}
}

static void on_signal(int sig)
{
	stop_sig = sig;
}

static void term_setup(void)
{
	app_signals(on_signal, (const int[]){ SIGINT, SIGTERM, SIGHUP, 0 });
	if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &term_saved) == 0) {
		struct termios t = term_saved;
		t.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
		t.c_cc[VMIN] = 0;
		t.c_cc[VTIME] = 0;
		if (tcsetattr(STDIN_FILENO, TCSANOW, &t) == 0)
			term_raw = 1;
	}
	if (isatty(STDOUT_FILENO)) {
		tty_out = 1;
		/* alternate screen, cursor hidden */
		fputs("\033[?1049h\033[?25l", stdout);
	}
	atexit(term_restore);
}

static unsigned term_cols(void)
{
	struct winsize ws;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	return 132;
}

/* The frame being drawn: lines cut at the terminal width. */
static unsigned cols;

static void line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void line(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (tty_out && strlen(buf) > cols)
		buf[cols] = '\0';
	fputs(buf, stdout);
	fputs(tty_out ? "\033[K\n" : "\n", stdout);
}

/* 1234567 -> "1.23M"; -1 -> "-". */
static const char *human(char *b, size_t n, double v)
{
	if (v < 0)
		snprintf(b, n, "-");
	else if (v >= 1e9)
		snprintf(b, n, "%.2fG", v / 1e9);
	else if (v >= 1e6)
		snprintf(b, n, "%.2fM", v / 1e6);
	else if (v >= 1e3)
		snprintf(b, n, "%.1fk", v / 1e3);
	else
		snprintf(b, n, "%.0f", v);
	return b;
}

static const char *pct(char *b, size_t n, double v)
{
	if (v < 0)
		snprintf(b, n, "-");
	else
		snprintf(b, n, "%.1f", v);
	return b;
}

static void draw(const struct sample *s, const struct sample *prev)
{
	const double dt = prev != NULL ? s->t - prev->t : 0;
	char b1[32], b2[32], b3[32], b4[32], b5[32], tbuf[32];
	/* what the process sent, escaped (vis()); a fixed-width field gets
	 * width + 1 bytes, so that it is cut between escapes, not inside one */
	char e1[4 * TARN_NAME_SIZE], e2[4 * TARN_NAME_SIZE], e3[4 * TARN_NAME_SIZE];
	cols = term_cols();
	if (tty_out)
		fputs("\033[H", stdout);
	struct tm tm;
	localtime_r(&s->wall, &tm);
	strftime(tbuf, sizeof(tbuf), "%H:%M:%S", &tm);
	line(PROG " - %s  pid %ld  prefix %s  %s  every %.1fs%s", tbuf, conn.pid,
	     vis(e1, sizeof(e1), s->prefix), vis(e2, sizeof(e2), conn.version), opt.interval,
	     term_raw ? "  (q: quit)" : "");
	line("%u pool%s, %u port%s, %u lcore%s%s", s->npools_total, s->npools_total == 1 ? "" : "s",
	     s->nports, s->nports == 1 ? "" : "s", s->nlcores, s->nlcores == 1 ? "" : "s",
	     prev == NULL ? "  (rates after the next sample)" : "");
	line("%s", "");
	line("%-20s %9s %9s %9s %6s %6s %9s %9s %7s  %s", "POOL", "SIZE", "IN_USE", "AVAIL",
	     "CACHE", "HIT%", "REFILL/s", "FLUSH/s", "FAILS", "CACHE FILL lcore:len");
	for (unsigned i = 0; i < s->npools; i++) {
		const struct pool_s *p = &s->pools[i], *o = prev_pool(prev, p);
		char fill[512] = "";
		size_t fl = 0;
		for (unsigned c = 0; c < p->ncaches && fl + 24 < sizeof(fill); c++) {
			const struct cache_s *cs = &p->caches[c];
			char who[16];
			if (cs->lcore >= 0)
				snprintf(who, sizeof(who), "%d", cs->lcore);
			else
				snprintf(who, sizeof(who), "-");
			fl += (size_t)snprintf(fill + fl, sizeof(fill) - fl, "%s%s:%u",
			                       c ? " " : "", who, cs->len);
		}
		if (p->ncaches_total > p->ncaches && fl + 8 < sizeof(fill))
			snprintf(fill + fl, sizeof(fill) - fl, " ...");
		line("%-20.20s %9" PRIu64 " %9" PRIu64 " %9" PRIu64 " %6" PRIu64
		     " %6s %9s %9s %7" PRIu64 "  %s",
		     vis(e1, 21, p->name), p->c.size, p->c.in_use, p->c.avail, p->c.cache_size,
		     pct(b1, sizeof(b1), pool_hit(p, o)),
		     human(b2, sizeof(b2), o ? rate(p->c.refills, o->c.refills, dt) : -1),
		     human(b3, sizeof(b3), o ? rate(p->c.flushes, o->c.flushes, dt) : -1),
		     p->c.fails, fill);
	}
	if (s->npools_total > s->npools)
		line("  ... %u more pools", s->npools_total - s->npools);
	line("%s", "");
	line("%-4s %-16s %-8s %-10s %9s %9s %9s %9s %9s %9s", "PORT", "NAME", "DRIVER", "STATE",
	     "RX pps", "TX pps", "RX bit/s", "TX bit/s", "RXDROP/s", "TXDROP/s");
	for (unsigned i = 0; i < s->nports; i++) {
		const struct port_s *p = &s->ports[i], *o = prev_port(prev, p);
		struct port_rates r;
		port_rates(p, o, dt, &r);
		const double none = o ? 0 : -1;
		line("%-4u %-16.16s %-8.8s %-10.10s %9s %9s %9s %9s %9s %9s", p->id,
		     vis(e1, 17, p->name), vis(e2, 9, p->driver), vis(e3, 11, p->state),
		     human(b1, sizeof(b1), o ? r.rx_pps : none),
		     human(b2, sizeof(b2), o ? r.tx_pps : none),
		     human(b3, sizeof(b3), o ? r.rx_bps : none),
		     human(b4, sizeof(b4), o ? r.tx_bps : none),
		     human(b5, sizeof(b5), o ? r.rx_drops : none),
		     human(tbuf, sizeof(tbuf), o ? r.tx_drops : none));
		const unsigned nq = p->nrxq > p->ntxq ? p->nrxq : p->ntxq;
		for (unsigned q = 0; nq > 1 && q < nq; q++) {
			const int rx = q < p->nrxq, tx = q < p->ntxq;
			char qn[24];
			snprintf(qn, sizeof(qn), "  queue %u", q);
			line("%-4s %-16s %-8s %-10s %9s %9s %9s %9s %9s %9s", "", qn, "", "",
			     human(b1, sizeof(b1), rx && o ? r.q_pps[0][q] : -1),
			     human(b2, sizeof(b2), tx && o ? r.q_pps[1][q] : -1),
			     human(b3, sizeof(b3), rx && o ? r.q_bps[0][q] : -1),
			     human(b4, sizeof(b4), tx && o ? r.q_bps[1][q] : -1),
			     human(b5, sizeof(b5), rx && o ? r.q_drops[0][q] : -1),
			     human(tbuf, sizeof(tbuf), tx && o ? r.q_drops[1][q] : -1));
		}
	}
	line("%s", "");
	line("%-6s %-10s %4s %6s %12s %7s", "LCORE", "ROLE", "CPU", "SOCKET", "POLLS", "BUSY%");
	for (unsigned i = 0; i < s->nlcores; i++) {
		const struct tel_lcore *l = &s->lcores[i];
		char cpu[24];
		if (l->cpu >= 0)
			snprintf(cpu, sizeof(cpu), "%ld", l->cpu);
		else
			snprintf(cpu, sizeof(cpu), "-");
		line("%-6u %-10s %4s %6ld %12s %7s", l->id, vis(e1, sizeof(e1), l->role), cpu,
		     l->socket, human(b1, sizeof(b1), (double)l->polls),
		     pct(b2, sizeof(b2), lcore_busy(l, prev_lcore(prev, l))));
	}
	if (tty_out)
		fputs("\033[J", stdout); /* clear what the last frame had below */
	else
		putchar('\n');
	fflush(stdout);
}

/* Wait `seconds`, reading keys. Returns 1 if the user asked to quit. */
static int wait_keys(double seconds)
{
	const double end = app_now_s() + seconds;
	for (;;) {
		if (stop_sig)
			return 1;
		double left = end - app_now_s();
		if (left <= 0)
			return 0;
		struct pollfd p = { .fd = STDIN_FILENO, .events = POLLIN };
		int r = poll(&p, term_raw ? 1 : 0, (int)(left * 1000) + 1);
		if (r > 0 && (p.revents & POLLIN)) {
			char c;
			ssize_t n = read(STDIN_FILENO, &c, 1);
			if (n == 1 && (c == 'q' || c == 'Q' || c == 3))
				return 1;
			if (n == 0)
				p.fd = -1; /* end of input: keep refreshing */
		}
	}
}

int main(int argc, char **argv)
{
	int rc = parse_args(argc, argv);
	if (rc != 0)
		return rc > 0 ? EXIT_OK : EXIT_USAGE;
	/* keep tarn's own log quiet: tarn-top only reads paths from libtarn */
	tarn_log_set_level(TARN_LOG_ERR);
	connect_target();

	static struct sample a, b;
	struct sample *cur = &a, *prev = &b;
	sample_take(prev);
	if (opt.once) {
		struct timespec ts = {
			.tv_sec = (time_t)opt.interval,
			.tv_nsec = (long)((opt.interval - (double)(time_t)opt.interval) * 1e9)
		};
		nanosleep(&ts, NULL);
		sample_take(cur);
		if (opt.json)
			print_json(cur, prev);
		else
			draw(cur, prev);
		tel_close(&conn.t);
		return EXIT_OK;
	}
	if (!opt.json)
		term_setup();
	/* The screen shows its first frame at once (rates from the next one);
	 * JSON waits one interval, so that every line has rates. */
	long shown = 0;
	if (!opt.json) {
		draw(prev, NULL);
		shown++;
	}
	while (opt.iterations == 0 || shown < opt.iterations) {
		if (wait_keys(opt.interval))
			break;
		sample_take(cur);
		if (opt.json)
			print_json(cur, prev);
		else
			draw(cur, prev);
		shown++;
		struct sample *t = prev;
		prev = cur;
		cur = t;
	}
	term_restore();
	tel_close(&conn.t);
	return EXIT_OK;
}
