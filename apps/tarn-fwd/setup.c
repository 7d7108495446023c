/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * setup.c - tarn-fwd's ports, mbuf pools and their NUMA placement, streams.
 *
 * Placement: one mbuf pool per socket in use; each RX queue (its memory and
 * its pool) on the socket of the port when known (the device's NUMA node,
 * tarn_eth_dev_info.numa_node), else on that of the lcore that polls it
 * (--pool-socket overrides). docs/tarn-fwd.md.
 */
#include <errno.h>
#include <string.h>

#include "app.h"

/* The lcores that forward: the workers, or the main lcore alone; the first
 * --nb-cores of them. */
int fwd_pick_lcores(struct fwd_app *app)
{
	uint32_t l;
	app->nb_fwd_lcores = 0;
	TARN_LCORE_FOREACH_WORKER(l)
	{
		app->fwd_lcores[app->nb_fwd_lcores++] = l;
	}
	app->main_forwards = app->nb_fwd_lcores == 0;
	if (app->main_forwards)
		app->fwd_lcores[app->nb_fwd_lcores++] = tarn_lcore_main();
	app->nb_lcores_avail = app->nb_fwd_lcores;
	const unsigned want = app->opt.nb_cores;
	if (want > app->nb_lcores_avail) {
		fprintf(stderr,
		        PROG
		        ": --nb-cores %u: %u forwarding lcore%s (the workers of --lcores; with "
		        "one lcore the main lcore forwards): give more --lcores\n",
		        want, app->nb_lcores_avail, app->nb_lcores_avail == 1 ? "" : "s");
		return FWD_EXIT_USAGE;
	}
	if (want != 0)
		app->nb_fwd_lcores = want;
	return 0;
}

/* The port cabled to port index `idx` (its pair: 0-1, 2-3, ...), itself
 * when it has no pair. */
static uint16_t peer_of(const struct fwd_app *app, unsigned idx)
{
	unsigned p = idx ^ 1u;
	return app->port_ids[p < app->nb_ports ? p : idx];
}

unsigned fwd_mbufs_needed(const struct fwd_app *app)
{
	const struct fwd_options *o = &app->opt;
	uint64_t n = (uint64_t)o->nb_ports * (o->rxq * o->rxd + o->txq * o->txd);
	n += (uint64_t)o->mbuf_cache * tarn_lcore_count();
	n += (uint64_t)o->burst * o->nb_ports * (o->rxq > o->txq ? o->rxq : o->txq);
	return n > TARN_MEMPOOL_MAX_OBJS ? TARN_MEMPOOL_MAX_OBJS : (unsigned)n;
}

/* ------------------------------------------------------------------------ */
/* Placement */

/*
 * The socket of port `pi` when it is known: the NUMA node of its device
 * (as testpmd takes the device's node) or the spec's socket=N, which the
 * driver reports in tarn_eth_dev_info.numa_node. -1 when unknown (a virtual
 * port: its structures are merely where it was created).
 */
static int port_known_socket(const struct fwd_app *app, unsigned pi)
{
	struct tarn_eth_dev_info info;
	if (tarn_eth_dev_info_get(app->port_ids[pi], &info) < 0 || info.numa_node < 0 ||
	    (unsigned)info.numa_node >= tarn_socket_count())
		return -1;
	return info.numa_node;
}

/* Streams per port in `mode`: stream n = port index x this + queue. */
static unsigned streams_per_port(const struct fwd_options *o, enum fwd_mode mode)
{
	if (mode == FWD_TXONLY || mode == FWD_FLOWGEN)
		return o->rxq > o->txq ? o->rxq : o->txq;
	return o->rxq;
}

/* Where the queues of port `pi` that `lcore` polls go (see above). */
static int place_socket(const struct fwd_app *app, unsigned pi, uint32_t lcore, const char **why)
{
	const int ps = app->opt.pool_socket;
	if (ps >= 0) {
		*why = "option";
		return ps;
	}
	if (ps == POOL_SOCKET_PORT) {
		*why = "port";
		return tarn_eth_dev_socket(app->port_ids[pi]);
	}
	if (ps == POOL_SOCKET_AUTO) {
		int s = port_known_socket(app, pi);
		if (s >= 0) {
			*why = "port";
			return s;
		}
	}
	*why = "lcore";
	return tarn_socket_resolve(tarn_lcore_socket(lcore));
}

/* The pool on `socket`, created on first use; NULL (message printed). */
static struct tarn_mempool *pool_on(struct fwd_app *app, int socket)
{
	if (socket < 0 || socket >= TARN_MAX_SOCKETS)
		return NULL;
	if (app->pools[socket] != NULL)
		return app->pools[socket];
	char name[TARN_NAME_SIZE];
	if (app->pools_multi || app->nb_pools > 0)
		snprintf(name, sizeof(name), POOL_NAME "_s%d", socket);
	else
		snprintf(name, sizeof(name), POOL_NAME);
	const unsigned size = app->pool_size;
	const unsigned cache = app->opt.mbuf_cache < size ? app->opt.mbuf_cache : size;
	struct tarn_mempool *mp =
	    tarn_pktmbuf_pool_create(name, size, cache, 0, TARN_MBUF_DEFAULT_BUF_SIZE, socket);
	if (mp == NULL) {
		fprintf(stderr, PROG ": cannot create a pool of %u mbufs on socket %d: %s\n", size,
		        socket, tarn_strerror(tarn_errno));
		return NULL;
	}
	app->pools[socket] = mp;
	app->nb_pools++;
	return mp;
}

static void node_check_cb(struct tarn_mempool *mp, void *arg, void *obj, unsigned idx)
{
	(void)mp;
	struct fwd_node_check *c = arg;
	if (idx % c->step != 0)
		return;
	int n = tarn_mem_node_of(obj);
	if (idx == 0)
		c->first = n;
	if (n >= 0 && n != c->socket)
		c->off++;
}

struct fwd_node_check fwd_pool_nodes(struct tarn_mempool *mp)
{
	struct fwd_node_check c = { tarn_mempool_socket(mp), -1, tarn_mempool_size(mp) / 1024 + 1,
		                    0 };
	tarn_mempool_obj_iter(mp, node_check_cb, &c);
	return c;
}

/* Plan where every RX queue (and every generator of the start-up mode)
 * goes; `want[s]` set for every socket that needs a pool. */
static void plan_placement(struct fwd_app *app, int want[TARN_MAX_SOCKETS])
{
	const struct fwd_options *o = &app->opt;
	const unsigned nq = streams_per_port(o, o->mode);
	for (unsigned pi = 0; pi < app->nb_ports; pi++) {
		for (unsigned q = 0; q < nq; q++) {
			/* fwd_streams_build() gives stream n to lcore n % nb_fwd_lcores */
			const uint32_t lcore = app->fwd_lcores[(pi * nq + q) % app->nb_fwd_lcores];
			const char *why;
			int s = place_socket(app, pi, lcore, &why);
			if (s < 0 || s >= TARN_MAX_SOCKETS)
				s = 0;
			want[s] = 1;
			if (q < o->rxq)
				app->rxq_place[pi][q] = (struct fwd_rxq_place){
					.lcore = lcore,
					.lcore_socket = tarn_lcore_socket(lcore),
					.port_socket = port_known_socket(app, pi),
					.socket = s,
					.why = why,
				};
		}
	}
}

/* Print where each RX queue and its pool went (when there is a choice),
 * and warn, as testpmd does, once per (port, lcore) when a port and an
 * lcore that polls it are on different sockets. */
static void report_placement(const struct fwd_app *app)
{
	const struct fwd_options *o = &app->opt;
	const int show =
	    !o->json && (tarn_socket_count() > 1 || o->pool_socket != POOL_SOCKET_AUTO);
	for (unsigned pi = 0; pi < app->nb_ports; pi++) {
		for (unsigned q = 0; q < o->rxq; q++) {
			const struct fwd_rxq_place *r = &app->rxq_place[pi][q];
			if (show)
				printf(PROG
				       ": port %u rxq %u: lcore %u (socket %d), pool %s on socket "
				       "%d (%s)\n",
				       (unsigned)app->port_ids[pi], q, r->lcore, r->lcore_socket,
				       tarn_mempool_name(app->pools[r->socket]), r->socket,
				       strcmp(r->why, "option") == 0 ? "--pool-socket"
				       : strcmp(r->why, "port") == 0
				           ? "the port's socket"
				           : "the polling lcore's socket");
			int seen = 0;
			for (unsigned k = 0; k < q; k++)
				seen |= app->rxq_place[pi][k].lcore == r->lcore;
			if (seen || r->port_socket < 0 || r->port_socket == r->lcore_socket)
				continue;
			fprintf(stderr,
			        PROG ": warning: port %u (%s) is on socket %d but lcore %u, which "
			             "polls it, is on socket %d: its packets cross sockets (give "
			             "--lcores on socket %d for best performance)\n",
			        (unsigned)app->port_ids[pi], o->ports[pi], r->port_socket, r->lcore,
			        r->lcore_socket, r->port_socket);
		}
	}
	fflush(stdout);
}

/*
 * A pool that did not get hugepages although tarn may use them: say how many
 * pages of the hugepage size would hold the pools of that socket (all of
 * them: tarn's own fallback line counts only the reservation that failed),
 * and where to find the command that reserves them.
 */
static void hugepage_note(const struct fwd_app *app)
{
	const struct tarn_config *cfg = tarn_config_get();
	if (cfg == NULL || cfg->huge_policy == TARN_HUGE_NONE)
		return;
	const uint64_t page =
	    cfg->huge_page_size ? cfg->huge_page_size : tarn_hugepage_default_size();
	if (page == 0)
		return;
	for (int s = 0; s < TARN_MAX_SOCKETS; s++) {
		const struct tarn_mempool *mp = app->pools[s];
		const struct tarn_memzone *mz = mp != NULL ? tarn_mempool_memzone(mp) : NULL;
		if (mz == NULL || mz->page_size >= page)
			continue;
		const uint64_t bytes = mz->len, pages = (bytes + page - 1) / page;
		const uint64_t mib = (pages * page + (1u << 20) - 1) >> 20;
		/* the doctor's options for it: --socket-mem 0,...,MIB (socket s) */
		char opts[160];
		size_t len = 0;
		if (cfg->huge_page_size != 0)
			len = (size_t)snprintf(
			    opts, sizeof(opts), "--huge-size %llu%s ",
			    (unsigned long long)(page >= (1ull << 30) ? page >> 30 : page >> 20),
			    page >= (1ull << 30) ? "G" : "M");
		len += (size_t)snprintf(opts + len, sizeof(opts) - len, "--socket-mem ");
		for (int k = 0; k < s && len < sizeof(opts); k++)
			len += (size_t)snprintf(opts + len, sizeof(opts) - len, "0,");
		if (len < sizeof(opts))
			snprintf(opts + len, sizeof(opts) - len, "%llu", (unsigned long long)mib);
		fprintf(stderr,
		        PROG
		        ": note: pool %s (%.1f MiB) is on %llu kB pages, not hugepages: %llu "
		        "hugepage%s of %llu kB on socket %d would hold it (tarn-doctor %s says how "
		        "to reserve them)\n",
		        tarn_mempool_name(mp), (double)bytes / (1 << 20),
		        (unsigned long long)(mz->page_size >> 10), (unsigned long long)pages,
		        pages == 1 ? "" : "s", (unsigned long long)(page >> 10), s, opts);
	}
}

/*
 * Plan the placement, create the pools, set fwd.pool (tx_first and --soak:
 * the pool on the main lcore's socket, else the first), report. After the
 * ports are created. 0, FWD_EXIT_USAGE or FWD_EXIT_FAIL (message printed).
 */
static int pools_create(struct fwd_app *app)
{
	const int ps = app->opt.pool_socket;
	if (ps >= 0 && (unsigned)ps >= tarn_socket_count()) {
		fprintf(stderr, PROG ": --pool-socket %d: this machine has %u socket(s)\n", ps,
		        tarn_socket_count());
		return FWD_EXIT_USAGE;
	}
	int want[TARN_MAX_SOCKETS] = { 0 };
	unsigned n = 0;
	plan_placement(app, want);
	for (int s = 0; s < TARN_MAX_SOCKETS; s++)
		n += (unsigned)want[s];
	app->pools_multi = n > 1;
	for (int s = 0; s < TARN_MAX_SOCKETS; s++)
		if (want[s] && pool_on(app, s) == NULL)
			return FWD_EXIT_FAIL;
	const int ms = tarn_socket_resolve(tarn_lcore_socket(tarn_lcore_main()));
	struct tarn_mempool *main_pool = ms >= 0 && ms < TARN_MAX_SOCKETS ? app->pools[ms] : NULL;
	for (int s = 0; main_pool == NULL && s < TARN_MAX_SOCKETS; s++)
		main_pool = app->pools[s];
	pthread_mutex_lock(&app->lock); /* /tarn/fwd/info reads it */
	fwd.pool = main_pool;
	pthread_mutex_unlock(&app->lock);
	report_placement(app);
	hugepage_note(app);
	return 0;
}

unsigned fwd_pools_in_use(const struct fwd_app *app)
{
	unsigned n = 0;
	for (int s = 0; s < TARN_MAX_SOCKETS; s++)
		if (app->pools[s] != NULL)
			n += tarn_mempool_in_use_count(app->pools[s]);
	return n;
}

unsigned fwd_pools_check(const struct fwd_app *app, unsigned *lost)
{
	unsigned bad = 0;
	*lost = 0;
	for (int s = 0; s < TARN_MAX_SOCKETS; s++) {
		struct tarn_mempool *mp = app->pools[s];
		if (mp == NULL)
			continue;
		if (tarn_mempool_check(mp) != 0)
			bad++;
		/* missing, but not handed out by the per-thread counters
		 * (always on): "No object lost" in tarn_mempool.h */
		struct tarn_mempool_stats st;
		const unsigned in_use = tarn_mempool_in_use_count(mp);
		if (tarn_mempool_stats(mp, &st) == 0 && st.held >= 0 && (uint64_t)st.held < in_use)
			*lost += in_use - (unsigned)st.held;
	}
	return bad;
}

void fwd_pools_free(struct fwd_app *app, unsigned flags)
{
	/* /tarn/fwd/info reads fwd.pool's name under the lock, and the
	 * telemetry thread runs until tarn_cleanup(): unhook it first */
	pthread_mutex_lock(&app->lock);
	fwd.pool = NULL;
	pthread_mutex_unlock(&app->lock);
	for (int s = 0; s < TARN_MAX_SOCKETS; s++) {
		if (app->pools[s] != NULL)
			tarn_mempool_free(app->pools[s], flags);
		app->pools[s] = NULL;
	}
	app->nb_pools = 0;
}

const char *fwd_pools_label(const struct fwd_app *app, char *buf, size_t size)
{
	size_t len = (size_t)snprintf(buf, size, "pool%s", app->nb_pools > 1 ? "s" : "");
	const char *sep = " ";
	for (int s = 0; s < TARN_MAX_SOCKETS && len < size; s++) {
		if (app->pools[s] == NULL)
			continue;
		len += (size_t)snprintf(buf + len, size - len, "%s'%s'", sep,
		                        tarn_mempool_name(app->pools[s]));
		sep = ", ";
	}
	return buf;
}

/* ------------------------------------------------------------------------ */
/* Ports */

/* Configure, set up the queues of, and start port index `i`. 0 or an
 * exit status (message printed). */
static int port_start(struct fwd_app *app, unsigned i)
{
	const struct fwd_options *o = &app->opt;
	const uint16_t p = app->port_ids[i];
	int rc = tarn_eth_dev_configure(p, (uint16_t)o->rxq, (uint16_t)o->txq, NULL);
	for (unsigned q = 0; rc == 0 && q < o->txq; q++)
		rc = tarn_eth_tx_queue_setup(p, (uint16_t)q, o->txd, TARN_SOCKET_ANY);
	for (unsigned q = 0; rc == 0 && q < o->rxq; q++) {
		const int s = app->rxq_place[i][q].socket;
		rc = tarn_eth_rx_queue_setup(p, (uint16_t)q, o->rxd, s, app->pools[s]);
	}
	if (rc == 0)
		rc = tarn_eth_promiscuous_enable(p);
	if (rc == 0)
		rc = tarn_eth_dev_start(p);
	if (rc < 0) {
		fprintf(stderr, PROG ": port %u (%s): setup failed: %s\n", (unsigned)p, o->ports[i],
		        tarn_strerror(rc));
		return rc == -EINVAL ? FWD_EXIT_USAGE : FWD_EXIT_FAIL;
	}
	return 0;
}

int fwd_ports_setup(struct fwd_app *app)
{
	for (unsigned i = 0; i < app->opt.nb_ports; i++) {
		int rc = tarn_eth_dev_create(app->opt.ports[i], &app->port_ids[i]);
		if (rc < 0) {
			fprintf(stderr, PROG ": --port '%s': %s (see the log line above)\n",
			        app->opt.ports[i], tarn_strerror(rc));
			return FWD_EXIT_USAGE;
		}
		app->nb_ports++;
	}
	int rc = pools_create(app);
	for (unsigned i = 0; rc == 0 && i < app->nb_ports; i++)
		rc = port_start(app, i);
	return rc;
}

unsigned fwd_ports_close(struct fwd_app *app)
{
	unsigned failed = 0;
	for (unsigned i = 0; i < app->nb_ports; i++)
		tarn_eth_dev_stop(app->port_ids[i]);
	for (unsigned i = 0; i < app->nb_ports; i++) {
		if (tarn_eth_dev_close(app->port_ids[i]) == -EIO) {
			fprintf(stderr,
			        PROG
			        ": port %u (%s): output lost: its output failed while it ran, "
			        "the packets it refused since are in its oerrors (see the log)\n",
			        (unsigned)app->port_ids[i], app->opt.ports[i]);
			failed++;
		}
	}
	app->nb_ports = 0;
	return failed;
}

/* ------------------------------------------------------------------------ */
/* Streams */

/* Stream (port index `pi`, queue `q`) of `mode` into `s`. 0 or -1. */
static int stream_init(struct fwd_app *app, struct fwd_stream *s, enum fwd_mode mode, unsigned pi,
                       unsigned q, uint32_t lcore)
{
	const struct fwd_options *o = &app->opt;
	const int forwarding = mode == FWD_IO || mode == FWD_MAC || mode == FWD_MACSWAP;
	memset(s, 0, sizeof(*s));
	s->rx_port = app->port_ids[pi];
	s->rx_queue = (uint16_t)q;
	s->do_rx = q < o->rxq;
	if (forwarding) {
		s->tx_port = peer_of(app, pi);
		s->do_tx = 1;
	} else {
		s->tx_port = app->port_ids[pi];
		s->do_tx = mode != FWD_RXONLY && q < o->txq;
	}
	s->tx_queue = (uint16_t)q;
	tarn_eth_macaddr_get(s->tx_port, &s->tx_src);
	/* Destination: the port cabled to the TX port (its pair). */
	unsigned txi = 0;
	while (txi < app->nb_ports && app->port_ids[txi] != s->tx_port)
		txi++;
	tarn_eth_macaddr_get(peer_of(app, txi), &s->tx_dst);
	s->lcore = lcore;
	/* Generated packets come from the pool placed for (port, lcore). */
	const char *why;
	s->pool = pool_on(app, place_socket(app, pi, s->lcore, &why));
	return s->pool != NULL ? 0 : -1;
}

int fwd_streams_build(struct fwd_app *app, enum fwd_mode mode)
{
	const struct fwd_options *o = &app->opt;
	const int forwarding = mode == FWD_IO || mode == FWD_MAC || mode == FWD_MACSWAP;
	if (forwarding && o->txq < o->rxq) {
		fprintf(stderr,
		        PROG ": %s mode forwards RX queue i to TX queue i: --txq (%u) must be at "
		             "least --rxq (%u)\n",
		        fwd_mode_name(mode), o->txq, o->rxq);
		return -1;
	}
	const unsigned nq = streams_per_port(o, mode);
	struct fwd_stream tmp[FWD_MAX_STREAMS];
	unsigned n = 0;
	for (unsigned pi = 0; pi < app->nb_ports; pi++)
		for (unsigned q = 0; q < nq; q++, n++)
			if (stream_init(app, &tmp[n], mode, pi, q,
			                app->fwd_lcores[n % app->nb_fwd_lcores]) < 0)
				return -1;
	/* The counters of the streams being replaced go to the totals. */
	fwd_streams_retire(app);
	/* Sort by lcore, keeping the order within an lcore. */
	pthread_mutex_lock(&app->lock);
	unsigned k = 0;
	for (unsigned li = 0; li < app->nb_fwd_lcores; li++)
		for (unsigned i = 0; i < n; i++)
			if (tmp[i].lcore == app->fwd_lcores[li])
				app->streams[k++] = tmp[i];
	fwd.mode = mode;
	app->modes_used |= 1u << mode;
	app->stream_builds++;
	memset(app->run_base, 0, sizeof(app->run_base));
	fwd.streams = app->streams;
	fwd.nb_streams = n;
	pthread_mutex_unlock(&app->lock);
	return 0;
}

/*
 * --tx-first / "start tx_first [N]": one burst (N bursts) of generated
 * packets on every TX queue of every port, addressed to the port's pair.
 */
unsigned fwd_tx_first(struct fwd_app *app, unsigned bursts)
{
	const struct fwd_options *o = &app->opt;
	struct tarn_mbuf *pkts[FWD_MAX_BURST];
	unsigned sent = 0;

	for (unsigned b = 0; b < bursts; b++) {
		for (unsigned pi = 0; pi < app->nb_ports; pi++) {
			struct tarn_ether_addr src, dst;
			tarn_eth_macaddr_get(app->port_ids[pi], &src);
			tarn_eth_macaddr_get(peer_of(app, pi), &dst);
			for (unsigned q = 0; q < o->txq; q++) {
				const int s = app->rxq_place[pi][q < o->rxq ? q : 0].socket;
				struct tarn_mempool *mp =
				    app->pools[s] != NULL ? app->pools[s] : fwd.pool;
				if (tarn_pktmbuf_alloc_bulk(mp, pkts, o->burst) != 0)
					return sent;
				for (unsigned k = 0; k < o->burst; k++)
					fwd_build_packet(pkts[k], o->pkt_len, &src, &dst, k);
				const uint16_t nb = tarn_eth_tx_burst(
				    app->port_ids[pi], (uint16_t)q, pkts, (uint16_t)o->burst);
				if (nb < o->burst)
					tarn_pktmbuf_free_bulk(pkts + nb, o->burst - nb);
				sent += nb;
			}
		}
	}
	return sent;
}
