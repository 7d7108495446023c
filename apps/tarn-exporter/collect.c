/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * collect.c - tarn-exporter's collection (see collect.h): socket discovery,
 * a telemetry v2 client with a deadline per process, and the model.
 */
#include "collect.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "app_util.h"
#include "json.h"
#include "tel_client.h"

#define SOCKET_NAME "dpdk_telemetry.v2"

const char *const x_state_names[XS_NSTATES] = { "ok",     "not_tarn", "stale",
	                                        "denied", "timeout",  "error" };

/* ------------------------------------------------------------------------ */
/* Discovery */

/* dpdk_telemetry.v2, or dpdk_telemetry.v2:<digits>. */
static int socket_name(const char *name)
{
	const size_t n = strlen(SOCKET_NAME);
	if (strncmp(name, SOCKET_NAME, n) != 0)
		return 0;
	if (name[n] == '\0')
		return 1;
	if (name[n] != ':' || name[n + 1] == '\0')
		return 0;
	for (const char *p = name + n + 1; *p != '\0'; p++)
		if (*p < '0' || *p > '9')
			return 0;
	return 1;
}

struct found {
	char path[256];
	char label[X_NAME];
	int foreign; /* owned by neither root nor its runtime directory's owner */
};

static int found_cmp(const void *a, const void *b)
{
	return strcmp(((const struct found *)a)->path, ((const struct found *)b)->path);
}

/* Add a socket path; its label is its directory's name plus the socket's
 * ":N" suffix. Duplicates are dropped. */
static void add_found(struct found *f, unsigned *n, const char *path, int foreign)
{
	if (*n >= X_MAX_SOCKETS || strlen(path) >= sizeof(f[0].path))
		return;
	for (unsigned i = 0; i < *n; i++)
		if (strcmp(f[i].path, path) == 0)
			return;
	struct found *e = &f[(*n)++];
	app_copy_str(e->path, sizeof(e->path), path);
	e->foreign = foreign;
	const char *base = strrchr(path, '/');
	const char *dir_end = base != NULL ? base : path;
	const char *dir = dir_end;
	while (dir > path && dir[-1] != '/')
		dir--;
	char label[X_NAME];
	const char *suffix = base != NULL ? strchr(base, ':') : NULL;
	snprintf(label, sizeof(label), "%.*s%s", (int)(dir_end - dir), dir, suffix ? suffix : "");
	app_copy_str(e->label, sizeof(e->label), label[0] != '\0' ? label : path);
}

/*
 * The sockets one level below `root`. A socket owned by another user than
 * root and `root`'s owner is marked foreign and never read: in root's
 * /var/run/dpdk it could only have been put there through a directory
 * someone else controls, and would pass off made-up figures as a process's.
 */
static void scan_dir(const char *root, struct found *f, unsigned *n)
{
	struct stat rs;
	DIR *d = stat(root, &rs) == 0 ? opendir(root) : NULL;
	if (d == NULL)
		return;
	struct dirent *e;
	while ((e = readdir(d)) != NULL && *n < X_MAX_SOCKETS) {
		if (e->d_name[0] == '.')
			continue;
		char sub[512];
		if (snprintf(sub, sizeof(sub), "%s/%s", root, e->d_name) >= (int)sizeof(sub))
			continue;
		struct stat st;
		if (lstat(sub, &st) != 0 || !S_ISDIR(st.st_mode))
			continue;
		DIR *sd = opendir(sub);
		if (sd == NULL)
			continue;
		struct dirent *s;
		while ((s = readdir(sd)) != NULL && *n < X_MAX_SOCKETS) {
			if (!socket_name(s->d_name))
				continue;
			char path[768];
			if (snprintf(path, sizeof(path), "%s/%s", sub, s->d_name) >=
			    (int)sizeof(path))
				continue;
			if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
				add_found(f, n, path, st.st_uid != 0 && st.st_uid != rs.st_uid);
		}
		closedir(sd);
	}
	closedir(d);
}

/* ------------------------------------------------------------------------ */
/* A telemetry client with a deadline */

struct client {
	struct tel_conn t;
	double deadline;
	int failed; /* XS_TIMEOUT or XS_ERROR once something went wrong */
};

/* The state a telemetry error reports. */
static int state_of(int err)
{
	return err == -ETIMEDOUT ? XS_TIMEOUT : XS_ERROR;
}

/* Connect and read the info message. 0, or the state to report. */
static int client_open(struct client *c, const char *path, long *pid, char *version, size_t vlen)
{
	int rc = tel_connect(&c->t, path);
	if (rc < 0)
		return rc == -ECONNREFUSED || rc == -ENOENT ? XS_STALE
		       : rc == -EACCES || rc == -EPERM      ? XS_DENIED
		                                            : XS_ERROR;
	rc = tel_read_info(&c->t, c->deadline, X_MAX_REPLY, pid, version, vlen);
	return rc < 0 ? state_of(rc) : 0;
}

/*
 * Run a request; the value of its reply, NULL for null (unknown command,
 * bad parameter) or on failure (then c->failed is set and every later query
 * returns NULL at once). The value lives until the next query.
 */
static const struct jval *query(struct client *c, const char *fmt, const char *arg)
{
	jdoc_free(c->t.doc);
	c->t.doc = NULL;
	if (c->failed)
		return NULL;
	char req[1024];
	if (snprintf(req, sizeof(req), fmt, arg) >= (int)sizeof(req))
		return NULL;
	if (send(c->t.fd, req, strlen(req), MSG_NOSIGNAL) < 0) {
		c->failed = XS_ERROR;
		return NULL;
	}
	long n = tel_recv(&c->t, c->t.max_len, c->deadline);
	if (n < 0) {
		c->failed = state_of((int)n);
		return NULL;
	}
	c->t.doc = jdoc_parse(c->t.buf, (size_t)n, NULL, 0);
	if (c->t.doc == NULL || c->t.doc->root->type != J_OBJ || c->t.doc->root->child == NULL) {
		c->failed = XS_ERROR;
		return NULL;
	}
	const struct jval *v = c->t.doc->root->child;
	return v->type == J_NULL ? NULL : v;
}

/* query() of `fmt` with a number for its %s. */
static const struct jval *query_id(struct client *c, const char *fmt, unsigned id)
{
	char num[16];
	snprintf(num, sizeof(num), "%u", id);
	return query(c, fmt, num);
}

static int64_t jget_i64(const struct jval *o, const char *key, int64_t def)
{
	const struct jval *v = jget(o, key);
	return v != NULL && v->type == J_NUM ? (int64_t)v->num : def;
}

/* ------------------------------------------------------------------------ */
/* What one process has */

struct cmds {
	int tarn_pools, tarn_ports, tarn_lcores, fwd, dpdk_ports, dpdk_info, dpdk_link, any_tarn;
	int tarn_dpdk_pools; /* tarn's socket in a DPDK process: DPDK pools on tarn's ops */
	int tarn_socket;     /* DPDK's socket in a process with tarn's plugin */
};

static void read_cmds(struct client *c, struct cmds *k)
{
	memset(k, 0, sizeof(*k));
	const struct jval *l = query(c, "%s", "/");
	enum { N_NAMES = 12 };
	int have[N_NAMES] = { 0 };
	static const char *const names[N_NAMES] = {
		"/tarn/mempool/list",
		"/tarn/mempool/info",
		"/tarn/ethdev/list",
		"/tarn/ethdev/stats",
		"/tarn/lcore/list",
		"/tarn/fwd/info",
		"/ethdev/list",
		"/ethdev/stats",
		"/ethdev/info",
		"/tarn/dpdk/mempool/list",
		"/tarn/dpdk/mempool/info",
		"/tarn/socket",
	};
	for (const struct jval *e = l != NULL ? l->child : NULL; e != NULL; e = e->next) {
		if (e->type != J_STR)
			continue;
		if (strncmp(e->str, "/tarn/", 6) == 0)
			k->any_tarn = 1;
		for (unsigned i = 0; i < N_NAMES; i++)
			if (strcmp(e->str, names[i]) == 0)
				have[i] = 1;
		if (strcmp(e->str, "/ethdev/link_status") == 0)
			k->dpdk_link = 1;
	}
	k->tarn_pools = have[0] && have[1];
	k->tarn_ports = have[2] && have[3];
	k->tarn_lcores = have[4];
	k->fwd = have[5];
	k->dpdk_ports = have[6] && have[7];
	k->dpdk_info = have[8];
	k->tarn_dpdk_pools = have[9] && have[10];
	k->tarn_socket = have[11];
}

/* Pools of a list command and their info command (tarn's /tarn/mempool/list
 * and info, or the plugin's /tarn/dpdk/mempool/list and info), added to
 * p->pools; a name already there is skipped (one series per pool). */
static void read_pools(struct client *c, struct x_proc *p, const char *list_cmd,
                       const char *info_cmd)
{
	/* one collection at a time (the collector thread): one static table */
	static char names[X_MAX_POOLS][X_NAME];
	unsigned n = 0;
	const struct jval *l = query(c, "%s", list_cmd);
	for (const struct jval *e = l != NULL ? l->child : NULL; e != NULL && n < X_MAX_POOLS;
	     e = e->next)
		if (e->type == J_STR && e->str[0] != '\0' && strlen(e->str) < X_NAME)
			app_copy_str(names[n++], X_NAME, e->str);
	if (n == 0 || p->npools >= X_MAX_POOLS)
		return;
	struct x_pool *pools = realloc(p->pools, (p->npools + n) * sizeof(*pools));
	if (pools == NULL)
		return;
	p->pools = pools;
	char fmt[64];
	snprintf(fmt, sizeof(fmt), "%s,%%s", info_cmd);
	for (unsigned i = 0; i < n && p->npools < X_MAX_POOLS; i++) {
		int dup = 0;
		for (unsigned j = 0; j < p->npools; j++)
			dup |= strcmp(p->pools[j].name, names[i]) == 0;
		if (dup)
			continue;
		const struct jval *v = query(c, fmt, names[i]);
		if (v == NULL)
			continue; /* freed since the list (or the process failed) */
		struct x_pool *x = &p->pools[p->npools++];
		memset(x, 0, sizeof(*x));
		app_copy_str(x->name, sizeof(x->name), names[i]);
		tel_pool_counts_read(v, &x->c);
		x->has_stats = jget(v, "get_objs") != NULL;
		const struct jval *cs = jget(v, "caches");
		for (const struct jval *e = cs != NULL ? cs->child : NULL;
		     e != NULL && x->ncaches < X_MAX_CACHES; e = e->next) {
			if (e->type != J_OBJ)
				continue;
			struct x_cache *k = &x->caches[x->ncaches++];
			const int64_t lc = jget_i64(e, "lcore", -1);
			k->lcore = lc < 0 || lc > 1000000 ? -1 : (int)lc;
			k->has_tid = jget(e, "tid") != NULL;
			k->tid = (long)jget_i64(e, "tid", 0);
			k->has_stats = jget(e, "get_objs") != NULL;
			k->len = jget_u64(e, "len", 0);
			k->get = jget_u64(e, "get_objs", 0);
			k->hit = jget_u64(e, "hit_objs", 0);
			k->put = jget_u64(e, "put_objs", 0);
			k->refills = jget_u64(e, "refills", 0);
			k->flushes = jget_u64(e, "flushes", 0);
			k->fails = jget_u64(e, "fails", 0);
		}
		/* two caches of one lcore and thread would be one series twice */
		for (unsigned a = 0; a < x->ncaches; a++)
			for (unsigned b = a + 1; b < x->ncaches; b++)
				if (x->caches[a].lcore == x->caches[b].lcore &&
				    x->caches[a].tid == x->caches[b].tid &&
				    x->caches[a].has_tid == x->caches[b].has_tid)
					x->caches[b--] = x->caches[--x->ncaches];
	}
}

/* The ids of a list command's reply. */
static unsigned read_ids(struct client *c, const char *cmd, unsigned *ids, unsigned max)
{
	return tel_ids(query(c, "%s", cmd), ids, max);
}

static void read_queues(const struct jval *arr, struct x_queue *q, unsigned *nq)
{
	*nq = 0;
	for (const struct jval *e = arr != NULL ? arr->child : NULL;
	     e != NULL && *nq < X_MAX_QUEUES; e = e->next) {
		if (e->type != J_OBJ)
			continue;
		struct x_queue *x = &q[(*nq)++];
		x->id = (unsigned)jget_u64(e, "queue", *nq - 1);
		x->packets = jget_u64(e, "packets", 0);
		x->bytes = jget_u64(e, "bytes", 0);
		x->errors = jget_u64(e, "errors", 0);
		x->missed = jget_u64(e, "missed", 0);
		x->nombuf = jget_u64(e, "nombuf", 0);
		x->tarn = 1;
	}
}

/* tarn's ports: /tarn/ethdev/stats (counters, per queue) and
 * /tarn/ethdev/info (MAC, MTU, link). */
static void read_tarn_ports(struct client *c, struct x_proc *p)
{
	unsigned ids[X_MAX_PORTS];
	unsigned n = read_ids(c, "/tarn/ethdev/list", ids, X_MAX_PORTS);
	p->ports = calloc(n ? n : 1, sizeof(*p->ports));
	if (p->ports == NULL)
		return;
	for (unsigned i = 0; i < n; i++) {
		const struct jval *v = query_id(c, "/tarn/ethdev/stats,%s", ids[i]);
		if (v == NULL)
			continue; /* closed since the list */
		struct x_port *x = &p->ports[p->nports++];
		x->id = ids[i];
		app_copy_str(x->name, sizeof(x->name), jget_str(v, "name", ""));
		app_copy_str(x->driver, sizeof(x->driver), jget_str(v, "driver", ""));
		app_copy_str(x->state, sizeof(x->state), jget_str(v, "state", ""));
		tel_port_counts_read(v, &x->c);
		read_queues(jget(v, "rx_queues"), x->rxq, &x->nrxq);
		read_queues(jget(v, "tx_queues"), x->txq, &x->ntxq);
		v = query_id(c, "/tarn/ethdev/info,%s", ids[i]);
		if (v != NULL) {
			app_copy_str(x->mac, sizeof(x->mac), jget_str(v, "mac", ""));
			x->mtu = jget_u64(v, "mtu", 0);
			const struct jval *up = jget(v, "link_up");
			if (up != NULL && up->type == J_BOOL) {
				x->has_link = 1;
				x->link_up = up->boolean;
				x->speed_mbps = jget_u64(v, "link_speed_mbps", 0);
			}
		}
	}
}

/* Element i of an array, or NULL. */
static const struct jval *nth(const struct jval *arr, unsigned i)
{
	const struct jval *e = arr != NULL && arr->type == J_ARR ? arr->child : NULL;
	while (e != NULL && i-- > 0)
		e = e->next;
	return e;
}

/* A DPDK process's ports: DPDK's /ethdev/stats (totals and the q_* arrays
 * of its first 16 queues), /ethdev/info and /ethdev/link_status. */
static void read_dpdk_ports(struct client *c, const struct cmds *k, struct x_proc *p)
{
	unsigned ids[X_MAX_PORTS];
	unsigned n = read_ids(c, "/ethdev/list", ids, X_MAX_PORTS);
	p->ports = calloc(n ? n : 1, sizeof(*p->ports));
	if (p->ports == NULL)
		return;
	for (unsigned i = 0; i < n; i++) {
		unsigned nrx = 0, ntx = 0;
		struct x_port tmp;
		memset(&tmp, 0, sizeof(tmp));
		tmp.id = ids[i];
		snprintf(tmp.name, sizeof(tmp.name), "%u", ids[i]);
		app_copy_str(tmp.driver, sizeof(tmp.driver), "dpdk");
		const struct jval *v = k->dpdk_info ? query_id(c, "/ethdev/info,%s", ids[i]) : NULL;
		if (v != NULL) {
			app_copy_str(tmp.name, sizeof(tmp.name), jget_str(v, "name", tmp.name));
			app_copy_str(tmp.mac, sizeof(tmp.mac), jget_str(v, "mac_addr", ""));
			tmp.mtu = jget_u64(v, "mtu", 0);
			nrx = (unsigned)jget_u64(v, "nb_rx_queues", 0);
			ntx = (unsigned)jget_u64(v, "nb_tx_queues", 0);
			app_copy_str(tmp.state, sizeof(tmp.state),
			             jget_u64(v, "dev_started", 0) ? "started" : "stopped");
		}
		v = query_id(c, "/ethdev/stats,%s", ids[i]);
		if (v == NULL)
			continue;
		tel_port_counts_read(v, &tmp.c);
		static const char *const qk[] = { "q_ipackets", "q_ibytes", "q_errors",
			                          "q_opackets", "q_obytes" };
		const struct jval *arr[5];
		for (unsigned j = 0; j < 5; j++)
			arr[j] = jget(v, qk[j]);
		/* DPDK fills 16 slots (RTE_ETHDEV_QUEUE_STAT_CNTRS) */
		for (unsigned q = 0; q < nrx && q < X_MAX_QUEUES && q < 16; q++) {
			struct x_queue *x = &tmp.rxq[tmp.nrxq++];
			x->id = q;
			x->packets = jval_u64(nth(arr[0], q), 0);
			x->bytes = jval_u64(nth(arr[1], q), 0);
			x->errors = jval_u64(nth(arr[2], q), 0);
		}
		for (unsigned q = 0; q < ntx && q < X_MAX_QUEUES && q < 16; q++) {
			struct x_queue *x = &tmp.txq[tmp.ntxq++];
			x->id = q;
			x->packets = jval_u64(nth(arr[3], q), 0);
			x->bytes = jval_u64(nth(arr[4], q), 0);
		}
		v = k->dpdk_link ? query_id(c, "/ethdev/link_status,%s", ids[i]) : NULL;
		if (v != NULL) {
			const char *s = jget_str(v, "status", NULL);
			if (s != NULL) {
				tmp.has_link = 1;
				tmp.link_up = strcmp(s, "UP") == 0;
				tmp.speed_mbps = jget_u64(v, "speed", 0);
			}
		}
		p->ports[p->nports++] = tmp;
	}
}

static void read_lcores(struct client *c, struct x_proc *p)
{
	unsigned ids[X_MAX_LCORES];
	unsigned n = read_ids(c, "/tarn/lcore/list", ids, X_MAX_LCORES);
	p->lcores = calloc(n ? n : 1, sizeof(*p->lcores));
	if (p->lcores == NULL)
		return;
	for (unsigned i = 0; i < n; i++) {
		const struct jval *v = query_id(c, "/tarn/lcore/info,%s", ids[i]);
		if (v == NULL)
			continue;
		tel_lcore_read(v, ids[i], "", &p->lcores[p->nlcores++]);
	}
}

static void read_fwd(struct client *c, struct x_proc *p)
{
	const struct jval *v = query(c, "%s", "/tarn/fwd/info");
	if (v == NULL || v->type != J_OBJ)
		return;
	struct x_fwd *f = &p->fwd;
	f->present = 1;
	app_copy_str(f->mode, sizeof(f->mode), jget_str(v, "mode", ""));
	const struct jval *r = jget(v, "running");
	f->running = r != NULL && r->type == J_BOOL && r->boolean;
	f->rx = jget_u64(v, "rx", 0);
	f->gen = jget_u64(v, "gen", 0);
	f->tx = jget_u64(v, "tx", 0);
	f->dropped = jget_u64(v, "dropped", 0);
	f->consumed = jget_u64(v, "consumed", 0);
}

static void proc_clear(struct x_proc *p)
{
	free(p->pools);
	free(p->ports);
	free(p->lcores);
	p->pools = NULL;
	p->ports = NULL;
	p->lcores = NULL;
	p->npools = p->nports = p->nlcores = 0;
}

/* Read one process. Its state: XS_OK and the figures, or what went wrong. */
static enum x_state read_proc(const struct found *f, double budget, struct x_proc *p)
{
	const double t0 = app_now_s();
	memset(p, 0, sizeof(*p));
	app_copy_str(p->label, sizeof(p->label), f->label);
	app_copy_str(p->path, sizeof(p->path), f->path);
	struct client c = { .t = TEL_CONN_INIT, .deadline = t0 + budget };
	int rc = client_open(&c, f->path, &p->pid, p->version, sizeof(p->version));
	if (rc != 0) {
		tel_close(&c.t);
		return (enum x_state)rc;
	}
	struct cmds k;
	read_cmds(&c, &k);
	if (!c.failed && !k.any_tarn) {
		tel_close(&c.t);
		return XS_NOT_TARN;
	}
	p->kind = strncmp(p->version, "tarn", 4) == 0 && !k.tarn_dpdk_pools ? "tarn" : "dpdk";
	if (k.tarn_pools)
		read_pools(&c, p, "/tarn/mempool/list", "/tarn/mempool/info");
	if (k.tarn_dpdk_pools)
		read_pools(&c, p, "/tarn/dpdk/mempool/list", "/tarn/dpdk/mempool/info");
	if (k.tarn_socket) {
		const struct jval *v = query(&c, "%s", "/tarn/socket");
		if (v != NULL && jget_str(v, "path", NULL) != NULL)
			app_copy_str(p->tarn_path, sizeof(p->tarn_path), jget_str(v, "path", ""));
	}
	if (k.tarn_ports)
		read_tarn_ports(&c, p);
	else if (k.dpdk_ports)
		read_dpdk_ports(&c, &k, p);
	if (k.tarn_lcores)
		read_lcores(&c, p);
	if (k.fwd)
		read_fwd(&c, p);
	const int failed = c.failed;
	tel_close(&c.t);
	p->seconds = app_now_s() - t0;
	if (failed) {
		/* half-read figures would mislead: keep only that it failed */
		proc_clear(p);
		memset(&p->fwd, 0, sizeof(p->fwd));
		return (enum x_state)failed;
	}
	return XS_OK;
}

/*
 * A DPDK process with tarn's plugin has two sockets: DPDK's (its ports, and
 * /tarn/socket naming the other) and tarn's, "<EAL prefix>.tarn" (its pools
 * on tarn's ops). They are one process: tarn's figures join the DPDK
 * socket's entry, under the DPDK prefix, and tarn's entry goes. tarn's
 * socket is read here when the scan did not find it (another directory).
 */
static void merge_plugin_sockets(struct x_model *m, const struct x_config *cfg)
{
	for (unsigned i = 0; i < m->nprocs; i++) {
		struct x_proc *d = &m->procs[i];
		if (d->state != XS_OK || d->tarn_path[0] == '\0')
			continue;
		struct x_proc *t = NULL, extra;
		for (unsigned j = 0; j < m->nprocs && t == NULL; j++)
			if (j != i && strcmp(m->procs[j].path, d->tarn_path) == 0)
				t = &m->procs[j];
		if (t == NULL) {
			/* the path is the DPDK process's word: read it only if the
			 * socket is root's or belongs to the DPDK socket's owner */
			struct stat ds, ts;
			if (lstat(d->path, &ds) != 0 || lstat(d->tarn_path, &ts) != 0 ||
			    !S_ISSOCK(ts.st_mode) || (ts.st_uid != 0 && ts.st_uid != ds.st_uid))
				continue;
			struct found f = { .foreign = 0 };
			app_copy_str(f.path, sizeof(f.path), d->tarn_path);
			app_copy_str(f.label, sizeof(f.label), d->label);
			enum x_state s = read_proc(&f, cfg->process_timeout, &extra);
			m->states[s]++;
			if (s != XS_OK) {
				proc_clear(&extra);
				continue;
			}
			t = &extra;
		}
		if (t->state != XS_OK && t != &extra)
			continue;
		if (t->pid != d->pid) {
			if (t == &extra)
				proc_clear(&extra);
			continue; /* not the same process: leave both as they are */
		}
		/* d's pools (none: DPDK's socket has no pool command) then t's */
		struct x_pool *pools =
		    realloc(d->pools, (d->npools + t->npools + 1) * sizeof(*pools));
		if (pools != NULL) {
			d->pools = pools;
			memcpy(d->pools + d->npools, t->pools, t->npools * sizeof(*pools));
			d->npools += t->npools;
		}
		if (d->nlcores == 0) {
			free(d->lcores);
			d->lcores = t->lcores;
			d->nlcores = t->nlcores;
			t->lcores = NULL;
			t->nlcores = 0;
		}
		d->seconds += t->seconds;
		proc_clear(t);
		if (t != &extra)
			t->state = XS_NSTATES; /* merged: removed below */
	}
	unsigned out = 0;
	for (unsigned i = 0; i < m->nprocs; i++)
		if (m->procs[i].state != XS_NSTATES)
			m->procs[out++] = m->procs[i];
	m->nprocs = out;
}

/* ------------------------------------------------------------------------ */

struct x_model *x_collect(const struct x_config *cfg)
{
	const double t0 = app_now_s();
	struct x_model *m = calloc(1, sizeof(*m));
	struct found *f = calloc(X_MAX_SOCKETS, sizeof(*f));
	if (m == NULL || f == NULL) {
		free(f);
		free(m);
		return NULL;
	}
	unsigned n = 0;
	for (unsigned i = 0; i < cfg->nsockets; i++)
		add_found(f, &n, cfg->sockets[i], 0); /* named by the user: trusted */
	for (unsigned i = 0; i < cfg->ndirs; i++)
		scan_dir(cfg->dirs[i], f, &n);
	qsort(f, n, sizeof(*f), found_cmp);
	m->procs = calloc(n ? n : 1, sizeof(*m->procs));
	if (m->procs == NULL) {
		free(f);
		free(m);
		return NULL;
	}
	for (unsigned i = 0; i < n && !(cfg->stop != NULL && *cfg->stop); i++) {
		if (f[i].foreign) {
			m->states[XS_DENIED]++;
			continue;
		}
		struct x_proc *p = &m->procs[m->nprocs];
		enum x_state s = read_proc(&f[i], cfg->process_timeout, p);
		m->states[s]++;
		p->state = s;
		/* a process that is gone, not tarn's, or not ours to read is left out */
		if (s == XS_OK || s == XS_TIMEOUT || s == XS_ERROR)
			m->nprocs++;
		else
			proc_clear(p);
	}
	merge_plugin_sockets(m, cfg);
	free(f);
	m->seconds = app_now_s() - t0;
	return m;
}

void x_model_free(struct x_model *m)
{
	if (m == NULL)
		return;
	for (unsigned i = 0; i < m->nprocs; i++)
		proc_clear(&m->procs[i]);
	free(m->procs);
	free(m);
}
