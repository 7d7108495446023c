/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * expo.c - the metrics, family by family (see expo.h). A family's samples
 * are written together, as OpenMetrics requires: each family loops over the
 * processes of the model.
 *
 * The two formats differ only in their metadata: OpenMetrics names a
 * counter family without its _total suffix and an info family without
 * _info, has # UNIT lines and ends with # EOF; Prometheus 0.0.4 names the
 * family as its samples are named and calls an info family a gauge.
 */
#include "expo.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tarn/tarn_env.h> /* TARN_ARRAY_SIZE */

const int expo_codes[EXPO_NCODES] = { 200, 400, 404, 405, 408, 413, 431, 503, 505, 500 };
const char *const expo_drop_names[EXPO_NDROPS] = { "timeout", "evicted", "full", "write" };

unsigned expo_code_index(int code)
{
	for (unsigned i = 0; i < EXPO_NCODES; i++)
		if (expo_codes[i] == code)
			return i;
	return EXPO_NCODES - 1;
}

/* ------------------------------------------------------------------------ */
/* Output buffer */

struct out {
	char *p;
	size_t len, cap;
	int failed;
	int om; /* OpenMetrics */
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->failed)
		return;
	if (o->len + n + 1 > o->cap) {
		size_t cap = o->cap ? o->cap : 65536;
		while (cap < o->len + n + 1)
			cap *= 2;
		char *p = cap <= EXPO_MAX_BYTES ? realloc(o->p, cap) : NULL;
		if (p == NULL) {
			o->failed = 1;
			return;
		}
		o->p = p;
		o->cap = cap;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
	o->p[o->len] = '\0';
}

static void puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

static void printf_(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void printf_(struct out *o, const char *fmt, ...)
{
	char b[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(b, sizeof(b), fmt, ap);
	va_end(ap);
	if (n > 0)
		put(o, b, (size_t)n < sizeof(b) ? (size_t)n : sizeof(b) - 1);
}

/* Length of the valid UTF-8 sequence at s (1..4), 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t left)
{
	if (s[0] < 0x80)
		return 1;
	size_t n = s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 ? 2 : 0;
	if (n == 0 || n > left)
		return 0;
	for (size_t i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	/* no overlong 3/4-byte forms, no surrogates, nothing above U+10FFFF */
	if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] >= 0xa0) ||
	    (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] >= 0x90))
		return 0;
	return n;
}

/* A label value or HELP text: \ " and newline escaped (" only in label
 * values), bytes that are not UTF-8 replaced by U+FFFD. */
static void escaped(struct out *o, const char *s, int quote)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t left = strlen(s);
	while (left > 0) {
		const size_t n = utf8_len(p, left);
		if (n == 0) {
			puts_(o, "\xef\xbf\xbd");
			p++;
			left--;
			continue;
		}
		if (*p == '\\')
			puts_(o, "\\\\");
		else if (*p == '\n')
			puts_(o, "\\n");
		else if (*p == '"' && quote)
			puts_(o, "\\\"");
		else
			put(o, (const char *)p, n);
		p += n;
		left -= n;
	}
}

/* ------------------------------------------------------------------------ */
/* Families and samples */

enum ftype { COUNTER, GAUGE, INFO };

struct lbl {
	const char *k, *v;
};

#define MAX_LABELS 8

/* The family being written. */
struct fam {
	const char *name;
	enum ftype type;
};

static const char *suffix(enum ftype t)
{
	return t == COUNTER ? "_total" : t == INFO ? "_info" : "";
}

/* `unit` is set only for base units (bytes, seconds): the family name ends
 * with it, as OpenMetrics requires of # UNIT. */
static struct fam family(struct out *o, const char *name, enum ftype t, const char *unit,
                         const char *help)
{
	static const char *const om_type[] = { "counter", "gauge", "info" };
	static const char *const prom_type[] = { "counter", "gauge", "gauge" };
	const char *sfx = o->om ? "" : suffix(t);
	printf_(o, "# HELP %s%s ", name, sfx);
	escaped(o, help, o->om); /* OpenMetrics escapes " in HELP too */
	printf_(o, "\n# TYPE %s%s %s\n", name, sfx, o->om ? om_type[t] : prom_type[t]);
	if (o->om && unit != NULL)
		printf_(o, "# UNIT %s %s\n", name, unit);
	return (struct fam){ name, t };
}

static void labels(struct out *o, const struct lbl *l, unsigned n)
{
	if (n == 0)
		return;
	puts_(o, "{");
	for (unsigned i = 0; i < n; i++) {
		printf_(o, "%s%s=\"", i ? "," : "", l[i].k);
		escaped(o, l[i].v, 1);
		puts_(o, "\"");
	}
	puts_(o, "}");
}

static void sample_u64(struct out *o, const struct fam *f, const struct lbl *l, unsigned n,
                       uint64_t v)
{
	printf_(o, "%s%s", f->name, suffix(f->type));
	labels(o, l, n);
	printf_(o, " %" PRIu64 "\n", v);
}

static void sample_f(struct out *o, const struct fam *f, const struct lbl *l, unsigned n, double v)
{
	printf_(o, "%s%s", f->name, suffix(f->type));
	labels(o, l, n);
	printf_(o, " %.6f\n", v);
}

/* ------------------------------------------------------------------------ */
/* Label sets */

struct lset {
	struct lbl l[MAX_LABELS];
	unsigned n;
	char num[4][24]; /* numbers written as label values */
};

static void lset_add(struct lset *s, const char *k, const char *v)
{
	if (s->n < MAX_LABELS)
		s->l[s->n++] = (struct lbl){ k, v };
}

static void lset_num(struct lset *s, unsigned slot, const char *k, long long v)
{
	snprintf(s->num[slot], sizeof(s->num[slot]), "%lld", v);
	lset_add(s, k, s->num[slot]);
}

static void pool_labels(struct lset *s, const struct x_proc *p, const struct x_pool *x)
{
	s->n = 0;
	lset_add(s, "process", p->label);
	lset_add(s, "pool", x->name);
}

static void port_labels(struct lset *s, const struct x_proc *p, const struct x_port *x)
{
	s->n = 0;
	lset_add(s, "process", p->label);
	lset_num(s, 0, "port", x->id);
	lset_add(s, "name", x->name);
}

#define FOR_PROCS(m, p)                                                                            \
	for (const struct x_proc *p = (m) ? (m)->procs : NULL; p && p < (m)->procs + (m)->nprocs;  \
	     p++)

/* ------------------------------------------------------------------------ */
/* Table-driven families: one uint64_t field of a struct each */

struct ufam {
	const char *name;
	enum ftype type;
	const char *unit;
	size_t off;
	const char *help;
	int stats; /* only where tarn's statistics are there (has_stats) */
};

#define U64_AT(ptr, off) (*(const uint64_t *)((const char *)(ptr) + (off)))

static const struct ufam pool_fams[] = {
	{ "tarn_mempool_size_objects", GAUGE, NULL, offsetof(struct x_pool, c.size),
	  "Objects in the pool (available plus in use).", 0 },
	{ "tarn_mempool_cached_objects", GAUGE, NULL, offsetof(struct x_pool, c.cached),
	  "Available objects held in the threads' caches now (counted in state=\"available\").",
	  0 },
	{ "tarn_mempool_reserve_objects", GAUGE, NULL, offsetof(struct x_pool, c.reserve),
	  "Objects kept back for priority gets (tarn_mempool_get_reserved).", 1 },
	{ "tarn_mempool_cache_size_objects", GAUGE, NULL, offsetof(struct x_pool, c.cache_size),
	  "Capacity of each thread's cache of the pool.", 0 },
	{ "tarn_mempool_element_size_bytes", GAUGE, "bytes", offsetof(struct x_pool, c.elt_size),
	  "Usable bytes of each object.", 0 },
	{ "tarn_mempool_get_objects", COUNTER, NULL, offsetof(struct x_pool, c.get_objs),
	  "Objects handed out by gets.", 1 },
	{ "tarn_mempool_put_objects", COUNTER, NULL, offsetof(struct x_pool, c.put_objs),
	  "Objects given back by puts.", 1 },
	{ "tarn_mempool_cache_hit_objects", COUNTER, NULL, offsetof(struct x_pool, c.hit_objs),
	  "Objects of gets served by a thread's cache without touching the shared store.", 1 },
	{ "tarn_mempool_cache_refills", COUNTER, NULL, offsetof(struct x_pool, c.refills),
	  "Bulk moves from the shared store into a thread's cache.", 1 },
	{ "tarn_mempool_cache_refill_objects", COUNTER, NULL,
	  offsetof(struct x_pool, c.refill_objs), "Objects moved by refills.", 1 },
	{ "tarn_mempool_cache_flushes", COUNTER, NULL, offsetof(struct x_pool, c.flushes),
	  "Bulk moves from a thread's cache back to the shared store.", 1 },
	{ "tarn_mempool_cache_flush_objects", COUNTER, NULL, offsetof(struct x_pool, c.flush_objs),
	  "Objects moved by flushes.", 1 },
	{ "tarn_mempool_direct_get_objects", COUNTER, NULL, offsetof(struct x_pool, c.direct_gets),
	  "Objects got straight from the shared store (a get larger than the cache).", 1 },
	{ "tarn_mempool_direct_put_objects", COUNTER, NULL, offsetof(struct x_pool, c.direct_puts),
	  "Objects put straight to the shared store (no room in the cache).", 1 },
	{ "tarn_mempool_get_failures", COUNTER, NULL, offsetof(struct x_pool, c.fails),
	  "Gets that failed: not enough objects available (the pool ran dry).", 1 },
	{ "tarn_mempool_get_failed_objects", COUNTER, NULL, offsetof(struct x_pool, c.fail_objs),
	  "Objects asked for by gets that failed.", 1 },
	{ "tarn_mempool_reserve_get_objects", COUNTER, NULL,
	  offsetof(struct x_pool, c.reserved_objs), "Objects got by priority gets.", 1 },
};

static const struct ufam cache_fams[] = {
	{ "tarn_mempool_thread_cache_objects", GAUGE, NULL, offsetof(struct x_cache, len),
	  "Objects in one thread's cache of the pool now.", 0 },
	{ "tarn_mempool_thread_get_objects", COUNTER, NULL, offsetof(struct x_cache, get),
	  "Objects handed out to one thread.", 1 },
	{ "tarn_mempool_thread_cache_hit_objects", COUNTER, NULL, offsetof(struct x_cache, hit),
	  "Objects of one thread's gets served by its cache.", 1 },
	{ "tarn_mempool_thread_put_objects", COUNTER, NULL, offsetof(struct x_cache, put),
	  "Objects given back by one thread.", 1 },
	{ "tarn_mempool_thread_cache_refills", COUNTER, NULL, offsetof(struct x_cache, refills),
	  "Refills of one thread's cache from the shared store.", 1 },
	{ "tarn_mempool_thread_cache_flushes", COUNTER, NULL, offsetof(struct x_cache, flushes),
	  "Flushes of one thread's cache to the shared store.", 1 },
	{ "tarn_mempool_thread_get_failures", COUNTER, NULL, offsetof(struct x_cache, fails),
	  "Failed gets of one thread.", 1 },
};

static const struct ufam port_fams[] = {
	{ "tarn_port_rx_packets", COUNTER, NULL, offsetof(struct x_port, c.ipackets),
	  "Packets received (returned by rx_burst).", 0 },
	{ "tarn_port_tx_packets", COUNTER, NULL, offsetof(struct x_port, c.opackets),
	  "Packets transmitted (taken by tx_burst).", 0 },
	{ "tarn_port_rx_bytes", COUNTER, "bytes", offsetof(struct x_port, c.ibytes),
	  "Bytes received.", 0 },
	{ "tarn_port_tx_bytes", COUNTER, "bytes", offsetof(struct x_port, c.obytes),
	  "Bytes transmitted.", 0 },
	{ "tarn_port_rx_missed_packets", COUNTER, NULL, offsetof(struct x_port, c.imissed),
	  "Packets the device dropped on receive because an RX queue was full.", 0 },
	{ "tarn_port_rx_errors", COUNTER, NULL, offsetof(struct x_port, c.ierrors),
	  "Erroneous packets received and dropped.", 0 },
	{ "tarn_port_tx_errors", COUNTER, NULL, offsetof(struct x_port, c.oerrors),
	  "Packets tx_burst refused (the application kept or dropped them).", 0 },
	{ "tarn_port_rx_nombuf", COUNTER, NULL, offsetof(struct x_port, c.rx_nombuf),
	  "Receive failures for lack of packet buffers in the RX queue's pool.", 0 },
	{ "tarn_port_mtu_bytes", GAUGE, "bytes", offsetof(struct x_port, mtu), "The port's MTU.",
	  0 },
};

struct qfam {
	const char *name;
	const char *unit;
	size_t off;
	int tx;        /* a TX queue family */
	int need_tarn; /* only where the queue has tarn's per-queue drop counters */
	const char *help;
};

static const struct qfam queue_fams[] = {
	{ "tarn_rxq_packets", NULL, offsetof(struct x_queue, packets), 0, 0,
	  "Packets received on one RX queue." },
	{ "tarn_rxq_bytes", "bytes", offsetof(struct x_queue, bytes), 0, 0,
	  "Bytes received on one RX queue." },
	{ "tarn_rxq_errors", NULL, offsetof(struct x_queue, errors), 0, 0,
	  "Erroneous packets dropped on one RX queue." },
	{ "tarn_rxq_missed_packets", NULL, offsetof(struct x_queue, missed), 0, 1,
	  "Packets dropped because one RX queue was full." },
	{ "tarn_rxq_nombuf", NULL, offsetof(struct x_queue, nombuf), 0, 1,
	  "Receive failures of one RX queue for lack of packet buffers." },
	{ "tarn_txq_packets", NULL, offsetof(struct x_queue, packets), 1, 0,
	  "Packets transmitted on one TX queue." },
	{ "tarn_txq_bytes", "bytes", offsetof(struct x_queue, bytes), 1, 0,
	  "Bytes transmitted on one TX queue." },
	{ "tarn_txq_errors", NULL, offsetof(struct x_queue, errors), 1, 1,
	  "Packets one TX queue refused." },
};

static const struct ufam fwd_fams[] = {
	{ "tarn_fwd_rx_packets", COUNTER, NULL, offsetof(struct x_fwd, rx),
	  "Packets tarn-fwd's streams received.", 0 },
	{ "tarn_fwd_tx_packets", COUNTER, NULL, offsetof(struct x_fwd, tx),
	  "Packets tarn-fwd's streams sent (forwarded or generated).", 0 },
	{ "tarn_fwd_generated_packets", COUNTER, NULL, offsetof(struct x_fwd, gen),
	  "Packets tarn-fwd generated (txonly, flowgen, tx_first).", 0 },
	{ "tarn_fwd_dropped_packets", COUNTER, NULL, offsetof(struct x_fwd, dropped),
	  "Packets tarn-fwd freed because a TX queue refused them.", 0 },
	{ "tarn_fwd_consumed_packets", COUNTER, NULL, offsetof(struct x_fwd, consumed),
	  "Packets tarn-fwd received and freed on purpose (rxonly).", 0 },
};

/* ------------------------------------------------------------------------ */

static void process_families(struct out *o, const struct x_model *m)
{
	struct lset s;
	struct fam f = family(o, "tarn_process", INFO, NULL,
	                      "A process whose telemetry socket the exporter read: its pid, "
	                      "version and kind (tarn, or dpdk with tarn's plugin).");
	FOR_PROCS(m, p)
	{
		if (p->state != XS_OK)
			continue;
		s.n = 0;
		lset_add(&s, "process", p->label);
		lset_num(&s, 0, "pid", p->pid);
		lset_add(&s, "version", p->version);
		lset_add(&s, "kind", p->kind);
		lset_add(&s, "socket", p->path);
		sample_u64(o, &f, s.l, s.n, 1);
	}
	f = family(o, "tarn_process_up", GAUGE, NULL,
	           "1 if the process answered in time, 0 if it did not (its figures are then "
	           "left out). A process that exited is not listed.");
	FOR_PROCS(m, p)
	{
		struct lbl l = { "process", p->label };
		sample_u64(o, &f, &l, 1, p->state == XS_OK);
	}
	f = family(o, "tarn_process_collect_seconds", GAUGE, "seconds",
	           "Time the exporter took to read the process.");
	FOR_PROCS(m, p)
	{
		struct lbl l = { "process", p->label };
		if (p->state == XS_OK)
			sample_f(o, &f, &l, 1, p->seconds);
	}
}

static void pool_families(struct out *o, const struct x_model *m)
{
	struct lset s;
	struct fam f = family(o, "tarn_mempool_objects", GAUGE, NULL,
	                      "Objects of the pool by state: available (in the shared store or "
	                      "a thread's cache) or in_use; the two add up to "
	                      "tarn_mempool_size_objects.");
	FOR_PROCS(m, p)
	for (const struct x_pool *x = p->pools; x && x < p->pools + p->npools; x++) {
		pool_labels(&s, p, x);
		lset_add(&s, "state", "available");
		sample_u64(o, &f, s.l, s.n, x->c.avail);
		s.l[s.n - 1].v = "in_use";
		sample_u64(o, &f, s.l, s.n, x->c.in_use);
	}
	for (size_t i = 0; i < TARN_ARRAY_SIZE(pool_fams); i++) {
		const struct ufam *u = &pool_fams[i];
		f = family(o, u->name, u->type, u->unit, u->help);
		FOR_PROCS(m, p)
		for (const struct x_pool *x = p->pools; x && x < p->pools + p->npools; x++) {
			if (u->stats && !x->has_stats)
				continue;
			pool_labels(&s, p, x);
			sample_u64(o, &f, s.l, s.n, U64_AT(x, u->off));
		}
	}
	for (size_t i = 0; i < TARN_ARRAY_SIZE(cache_fams); i++) {
		const struct ufam *u = &cache_fams[i];
		f = family(o, u->name, u->type, u->unit, u->help);
		FOR_PROCS(m, p)
		for (const struct x_pool *x = p->pools; x && x < p->pools + p->npools; x++)
			for (const struct x_cache *c = x->caches; c < x->caches + x->ncaches; c++) {
				if (u->stats && !c->has_stats)
					continue;
				pool_labels(&s, p, x);
				if (c->lcore < 0)
					lset_add(&s, "lcore", "none");
				else
					lset_num(&s, 0, "lcore", c->lcore);
				if (c->has_tid)
					lset_num(&s, 1, "tid", c->tid);
				sample_u64(o, &f, s.l, s.n, U64_AT(c, u->off));
			}
	}
}

static void port_families(struct out *o, const struct x_model *m)
{
	struct lset s;
	struct fam f = family(o, "tarn_port", INFO, NULL,
	                      "A port: its driver, state (created, configured, started; stopped "
	                      "or started for a DPDK port) and MAC address.");
	FOR_PROCS(m, p)
	for (const struct x_port *x = p->ports; x && x < p->ports + p->nports; x++) {
		port_labels(&s, p, x);
		lset_add(&s, "driver", x->driver);
		lset_add(&s, "state", x->state);
		lset_add(&s, "mac", x->mac);
		sample_u64(o, &f, s.l, s.n, 1);
	}
	f = family(o, "tarn_port_link_up", GAUGE, NULL, "1 if the port's link is up, 0 if down.");
	FOR_PROCS(m, p)
	for (const struct x_port *x = p->ports; x && x < p->ports + p->nports; x++)
		if (x->has_link) {
			port_labels(&s, p, x);
			sample_u64(o, &f, s.l, s.n, (uint64_t)x->link_up);
		}
	f = family(o, "tarn_port_link_speed_bytes_per_second", GAUGE, NULL,
	           "The link's speed (0 when down).");
	FOR_PROCS(m, p)
	for (const struct x_port *x = p->ports; x && x < p->ports + p->nports; x++)
		if (x->has_link) {
			port_labels(&s, p, x);
			sample_u64(o, &f, s.l, s.n,
			           x->speed_mbps * 125000u); /* Mbit/s to bytes/s */
		}
	for (size_t i = 0; i < TARN_ARRAY_SIZE(port_fams); i++) {
		const struct ufam *u = &port_fams[i];
		f = family(o, u->name, u->type, u->unit, u->help);
		FOR_PROCS(m, p)
		for (const struct x_port *x = p->ports; x && x < p->ports + p->nports; x++) {
			port_labels(&s, p, x);
			sample_u64(o, &f, s.l, s.n, U64_AT(x, u->off));
		}
	}
	for (size_t i = 0; i < TARN_ARRAY_SIZE(queue_fams); i++) {
		const struct qfam *u = &queue_fams[i];
		f = family(o, u->name, COUNTER, u->unit, u->help);
		FOR_PROCS(m, p)
		for (const struct x_port *x = p->ports; x && x < p->ports + p->nports; x++) {
			const struct x_queue *q = u->tx ? x->txq : x->rxq;
			const unsigned nq = u->tx ? x->ntxq : x->nrxq;
			for (unsigned j = 0; j < nq; j++) {
				if (u->need_tarn && !q[j].tarn)
					continue;
				port_labels(&s, p, x);
				lset_num(&s, 1, "queue", q[j].id);
				sample_u64(o, &f, s.l, s.n, U64_AT(&q[j], u->off));
			}
		}
	}
}

static void lcore_families(struct out *o, const struct x_model *m)
{
	struct lset s;
	struct fam f = family(o, "tarn_lcore", INFO, NULL,
	                      "An lcore: its role (main, worker, registered), CPU and socket.");
	FOR_PROCS(m, p)
	for (const struct tel_lcore *x = p->lcores; x && x < p->lcores + p->nlcores; x++) {
		s.n = 0;
		lset_add(&s, "process", p->label);
		lset_num(&s, 0, "lcore", x->id);
		lset_add(&s, "role", x->role);
		lset_num(&s, 1, "cpu", x->cpu);
		lset_num(&s, 2, "socket", x->socket);
		sample_u64(o, &f, s.l, s.n, 1);
	}
	static const struct {
		const char *name, *help;
		int busy;
	} lf[] = {
		{ "tarn_lcore_polls", "Polls the lcore's loop reported.", 0 },
		{ "tarn_lcore_busy_polls",
		  "Polls that found work; busy share = rate(busy_polls) / rate(polls).", 1 },
	};
	for (size_t i = 0; i < TARN_ARRAY_SIZE(lf); i++) {
		f = family(o, lf[i].name, COUNTER, NULL, lf[i].help);
		FOR_PROCS(m, p)
		for (const struct tel_lcore *x = p->lcores; x && x < p->lcores + p->nlcores; x++) {
			s.n = 0;
			lset_add(&s, "process", p->label);
			lset_num(&s, 0, "lcore", x->id);
			sample_u64(o, &f, s.l, s.n, lf[i].busy ? x->busy : x->polls);
		}
	}
}

static void fwd_families(struct out *o, const struct x_model *m)
{
	struct fam f = family(o, "tarn_fwd", INFO, NULL, "tarn-fwd's forwarding mode.");
	FOR_PROCS(m, p)
	{
		if (!p->fwd.present)
			continue;
		struct lbl l[2] = { { "process", p->label }, { "mode", p->fwd.mode } };
		sample_u64(o, &f, l, 2, 1);
	}
	f = family(o, "tarn_fwd_running", GAUGE, NULL,
	           "1 while tarn-fwd forwards, 0 when stopped.");
	FOR_PROCS(m, p)
	{
		struct lbl l = { "process", p->label };
		if (p->fwd.present)
			sample_u64(o, &f, &l, 1, (uint64_t)p->fwd.running);
	}
	for (size_t i = 0; i < TARN_ARRAY_SIZE(fwd_fams); i++) {
		const struct ufam *u = &fwd_fams[i];
		f = family(o, u->name, u->type, u->unit, u->help);
		FOR_PROCS(m, p)
		{
			struct lbl l = { "process", p->label };
			if (p->fwd.present)
				sample_u64(o, &f, &l, 1, U64_AT(&p->fwd, u->off));
		}
	}
}

static void self_families(struct out *o, const struct x_model *m, const struct expo_self *self)
{
	struct fam f = family(o, "tarn_exporter_build", INFO, NULL, "tarn-exporter's version.");
	struct lbl v = { "version", self->version };
	sample_u64(o, &f, &v, 1, 1);
	f = family(o, "tarn_exporter_sockets", GAUGE, NULL,
	           "Telemetry sockets found in the last collection, by what happened: ok, "
	           "not_tarn (no tarn command), stale (its process is gone), denied (another "
	           "user's, or owned by neither root nor its directory's owner), timeout, error.");
	for (unsigned i = 0; i < XS_NSTATES; i++) {
		struct lbl l = { "state", x_state_names[i] };
		sample_u64(o, &f, &l, 1, m != NULL ? m->states[i] : 0);
	}
	f = family(o, "tarn_exporter_collect_seconds", GAUGE, "seconds",
	           "Time the last collection took.");
	sample_f(o, &f, NULL, 0, m != NULL ? m->seconds : 0.0);
	f = family(o, "tarn_exporter_collections", COUNTER, NULL, "Collections made.");
	sample_u64(o, &f, NULL, 0, self->collections);
	f = family(o, "tarn_exporter_scrapes", COUNTER, NULL,
	           "Metrics responses, by format: openmetrics (asked for with Accept: "
	           "application/openmetrics-text, as Prometheus does) or prometheus (text 0.0.4).");
	static const char *const formats[2] = { "prometheus", "openmetrics" };
	for (unsigned i = 0; i < 2; i++) {
		struct lbl l = { "format", formats[i] };
		sample_u64(o, &f, &l, 1, self->scrapes[i]);
	}
	f = family(o, "tarn_exporter_http_responses", COUNTER, NULL,
	           "HTTP responses sent, by status code.");
	for (unsigned i = 0; i < EXPO_NCODES; i++) {
		char code[8];
		snprintf(code, sizeof(code), "%d", expo_codes[i]);
		struct lbl l = { "code", code };
		sample_u64(o, &f, &l, 1, self->responses[i]);
	}
	f = family(o, "tarn_exporter_http_dropped_connections", COUNTER, NULL,
	           "HTTP connections closed without a response: timeout (request or response "
	           "too slow), evicted (the oldest unfinished request, to make room), full (no "
	           "room), write (the client went away).");
	for (unsigned i = 0; i < EXPO_NDROPS; i++) {
		struct lbl l = { "reason", expo_drop_names[i] };
		sample_u64(o, &f, &l, 1, self->dropped[i]);
	}
}

char *expo_render(const struct x_model *m, const struct expo_self *self, int openmetrics,
                  size_t *len)
{
	struct out o = { .om = openmetrics != 0 };
	process_families(&o, m);
	pool_families(&o, m);
	port_families(&o, m);
	lcore_families(&o, m);
	fwd_families(&o, m);
	self_families(&o, m, self);
	if (o.om)
		puts_(&o, "# EOF\n");
	if (o.failed) {
		free(o.p);
		return NULL;
	}
	*len = o.len;
	return o.p;
}
