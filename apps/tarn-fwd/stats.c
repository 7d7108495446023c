/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * stats.c - tarn-fwd's statistics: the per-period rates, testpmd-like
 * counters of ports, streams and pools, the summary at exit, and the
 * /tarn/fwd/info telemetry command. The --json forms are in events.c.
 */
#include <inttypes.h>
#include <string.h>

#include "app.h"

void fwd_snap_all(const struct fwd_app *app, struct fwd_port_snap *s)
{
	double t = app_now_s();
	for (unsigned i = 0; i < app->nb_ports; i++) {
		tarn_eth_stats_get(app->port_ids[i], &s[i].st);
		s[i].t = t;
	}
}

void fwd_print_period(struct fwd_app *app, double elapsed)
{
	struct fwd_port_snap cur[TARN_MAX_ETHPORTS];
	double rx[TARN_MAX_ETHPORTS], tx[TARN_MAX_ETHPORTS];
	double total = 0;
	fwd_snap_all(app, cur);
	for (unsigned i = 0; i < app->nb_ports; i++) {
		const struct fwd_port_snap *l = &app->last[i];
		const double dt = cur[i].t - l->t;
		rx[i] = dt > 0 ? (double)(cur[i].st.ipackets - l->st.ipackets) / dt : 0;
		tx[i] = dt > 0 ? (double)(cur[i].st.opackets - l->st.opackets) / dt : 0;
		total += rx[i];
	}
	if (app->opt.json) {
		fwd_event_stats(app, elapsed, cur, rx, tx, total);
	} else {
		printf("%7.2f s ", elapsed);
		for (unsigned i = 0; i < app->nb_ports; i++)
			printf(" | port %u: rx %8.3f Mpps tx %8.3f Mpps",
			       (unsigned)app->port_ids[i], rx[i] / 1e6, tx[i] / 1e6);
		printf(" | total rx %8.3f Mpps\n", total / 1e6);
	}
	memcpy(app->last, cur, app->nb_ports * sizeof(cur[0]));
	fflush(stdout);
}

/* ------------------------------------------------------------------------ */
/* The command line's views (cmdline.c) */

static const char *state_name(enum tarn_eth_state s)
{
	return s == TARN_ETH_STATE_STARTED      ? "started"
	       : s == TARN_ETH_STATE_CONFIGURED ? "stopped"
	                                        : "created";
}

void fwd_show_port_stats(struct fwd_app *app, unsigned pi, FILE *f)
{
	struct fwd_port_snap now = { .t = app_now_s() };
	if (tarn_eth_stats_get(app->port_ids[pi], &now.st) < 0)
		return;
	const struct tarn_eth_stats *z = &app->port_zero[pi];
	const struct fwd_port_snap *l = &app->show_last[pi];
	/* rates since the last show (0 at the first, as testpmd) */
	const double dt = l->t > 0 ? now.t - l->t : 0;
	const double rx_pps = dt > 0 ? (double)(now.st.ipackets - l->st.ipackets) / dt : 0;
	const double tx_pps = dt > 0 ? (double)(now.st.opackets - l->st.opackets) / dt : 0;
	const double rx_bps = dt > 0 ? 8.0 * (double)(now.st.ibytes - l->st.ibytes) / dt : 0;
	const double tx_bps = dt > 0 ? 8.0 * (double)(now.st.obytes - l->st.obytes) / dt : 0;
	fprintf(f,
	        "  ######################## NIC statistics for port %-2u ########################\n"
	        "  RX-packets: %-10" PRIu64 " RX-missed: %-10" PRIu64 " RX-bytes:  %" PRIu64 "\n"
	        "  RX-errors: %" PRIu64 "\n"
	        "  RX-nombuf:  %-10" PRIu64 "\n"
	        "  TX-packets: %-10" PRIu64 " TX-errors: %-10" PRIu64 " TX-bytes:  %" PRIu64 "\n"
	        "\n"
	        "  Throughput (since last show)\n"
	        "  Rx-pps: %12.0f          Rx-bps: %12.0f\n"
	        "  Tx-pps: %12.0f          Tx-bps: %12.0f\n"
	        "  ############################################################################\n",
	        (unsigned)app->port_ids[pi], now.st.ipackets - z->ipackets,
	        now.st.imissed - z->imissed, now.st.ibytes - z->ibytes, now.st.ierrors - z->ierrors,
	        now.st.rx_nombuf - z->rx_nombuf, now.st.opackets - z->opackets,
	        now.st.oerrors - z->oerrors, now.st.obytes - z->obytes, rx_pps, rx_bps, tx_pps,
	        tx_bps);
	app->show_last[pi] = now;
}

void fwd_clear_port_stats(struct fwd_app *app, unsigned pi)
{
	tarn_eth_stats_get(app->port_ids[pi], &app->port_zero[pi]);
	app->show_last[pi] = (struct fwd_port_snap){ .st = app->port_zero[pi], .t = app_now_s() };
}

/*
 * DPDK's xstats of the port, as /ethdev/xstats gives them (the same names
 * and values a DPDK telemetry client reads): the reply's one flat object of
 * counters, printed one per line.
 */
void fwd_show_port_xstats(const struct fwd_app *app, unsigned pi, FILE *f)
{
	static char buf[TARN_TELEMETRY_MAX_OUTPUT + 1];
	char req[32];
	snprintf(req, sizeof(req), "/ethdev/xstats,%u", (unsigned)app->port_ids[pi]);
	fprintf(f, "###### NIC extended statistics for port %-2u\n", (unsigned)app->port_ids[pi]);
	if (tarn_telemetry_query(req, buf, sizeof(buf)) < 0) {
		fprintf(f, "(not available)\n");
		return;
	}
	/* {"/ethdev/xstats":{"name":value,...}} */
	const char *p = strstr(buf, "\":{");
	if (p == NULL) {
		fprintf(f, "(not available)\n");
		return;
	}
	p += 3;
	while (*p == '"') {
		const char *k = p + 1, *ke = strchr(k, '"');
		if (ke == NULL || ke[1] != ':')
			break;
		const char *v = ke + 2;
		const size_t vl = strcspn(v, ",}");
		fprintf(f, "%.*s: %.*s\n", (int)(ke - k), k, (int)vl, v);
		p = v + vl;
		if (*p == ',')
			p++;
	}
	fprintf(f, "######################################################################\n");
}

void fwd_show_port_info(const struct fwd_app *app, unsigned pi, FILE *f)
{
	const uint16_t port = app->port_ids[pi];
	struct tarn_eth_dev_info info;
	struct tarn_eth_link link;
	char mac[18];
	if (tarn_eth_dev_info_get(port, &info) < 0)
		return;
	const int lk = tarn_eth_link_get(port, &link);
	tarn_ether_format_addr(mac, sizeof(mac), &info.mac);
	fprintf(f, "\n********************* Infos for port %-2u *********************\n",
	        (unsigned)port);
	fprintf(f, "MAC address: %s\n", mac);
	fprintf(f, "Device name: %s\n", info.name);
	fprintf(f, "Driver name: %s\n", info.driver_name);
	fprintf(f, "Spec: %s\n", info.spec);
	fprintf(f, "State: %s\n", state_name(info.state));
	if (info.numa_node >= 0)
		fprintf(f, "Connect to socket: %d\n", info.numa_node);
	else
		fprintf(f,
		        "Connect to socket: unknown (a virtual port; its structures are on "
		        "socket %d)\n",
		        info.socket);
	if (lk == 0) {
		fprintf(f, "Link status: %s\n", link.up ? "up" : "down");
		fprintf(f, "Link speed: %" PRIu32 " Mbps\n", link.speed_mbps);
		fprintf(f, "Link duplex: %s\n", link.full_duplex ? "full-duplex" : "half-duplex");
	} else {
		fprintf(f, "Link status: unknown (%s)\n", tarn_strerror(lk));
	}
	fprintf(f, "MTU: %" PRIu32 " (%" PRIu32 " .. %" PRIu32 ")\n", info.mtu, info.min_mtu,
	        info.max_mtu);
	fprintf(f, "Promiscuous mode: %s\n", info.promiscuous ? "enabled" : "disabled");
	fprintf(f, "Current number of RX queues: %u (max %u)\n", (unsigned)info.nb_rx_queues,
	        (unsigned)info.max_rx_queues);
	fprintf(f, "Current number of TX queues: %u (max %u)\n", (unsigned)info.nb_tx_queues,
	        (unsigned)info.max_tx_queues);
	fprintf(f, "Descriptors per queue: %u RX, %u TX (%" PRIu32 " .. %" PRIu32 ")\n",
	        app->opt.rxd, app->opt.txd, info.min_desc, info.max_desc);
}

void fwd_show_port_queues(const struct fwd_app *app, unsigned pi, int rx, FILE *f)
{
	const uint16_t port = app->port_ids[pi];
	struct tarn_eth_dev_info info;
	if (tarn_eth_dev_info_get(port, &info) < 0)
		return;
	const unsigned nq = rx ? info.nb_rx_queues : info.nb_tx_queues;
	for (unsigned q = 0; q < nq; q++) {
		struct tarn_eth_queue_stats qs;
		if ((rx ? tarn_eth_rx_queue_stats_get
		        : tarn_eth_tx_queue_stats_get)(port, (uint16_t)q, &qs) < 0)
			memset(&qs, 0, sizeof(qs));
		if (rx) {
			const struct fwd_rxq_place *r = &app->rxq_place[pi][q];
			fprintf(
			    f,
			    "port %u rxq %u: %u descriptors, socket %d, pool %s, polled by lcore "
			    "%u; packets %" PRIu64 " bytes %" PRIu64 " errors %" PRIu64
			    " missed %" PRIu64 " nombuf %" PRIu64 "\n",
			    (unsigned)port, q, app->opt.rxd, r->socket,
			    app->pools[r->socket] ? tarn_mempool_name(app->pools[r->socket]) : "-",
			    r->lcore, qs.packets, qs.bytes, qs.errors, qs.missed, qs.nombuf);
		} else {
			fprintf(f,
			        "port %u txq %u: %u descriptors; packets %" PRIu64 " bytes %" PRIu64
			        " errors %" PRIu64 "\n",
			        (unsigned)port, q, app->opt.txd, qs.packets, qs.bytes, qs.errors);
		}
	}
}

void fwd_show_config(const struct fwd_app *app, FILE *f)
{
	fprintf(f, "%s packet forwarding - ports=%u - cores=%u - streams=%u - burst=%u%s\n",
	        fwd_mode_name(fwd.mode), app->nb_ports, app->nb_fwd_lcores, fwd.nb_streams,
	        fwd.burst, app->main_forwards ? " (the main lcore forwards)" : "");
	for (unsigned li = 0; li < app->nb_fwd_lcores; li++) {
		const uint32_t lc = app->fwd_lcores[li];
		unsigned n;
		struct fwd_stream *ss = fwd_lcore_streams(lc, &n);
		fprintf(f, "Logical Core %u (socket %d) forwards packets on %u streams:\n", lc,
		        tarn_lcore_socket(lc), n);
		for (unsigned i = 0; i < n; i++) {
			const struct fwd_stream *st = &ss[i];
			char dst[18];
			tarn_ether_format_addr(dst, sizeof(dst), &st->tx_dst);
			if (st->do_rx && st->do_tx)
				fprintf(f, "  RX P=%u/Q=%u -> TX P=%u/Q=%u peer=%s\n",
				        (unsigned)st->rx_port, (unsigned)st->rx_queue,
				        (unsigned)st->tx_port, (unsigned)st->tx_queue, dst);
			else if (st->do_rx)
				fprintf(f, "  RX P=%u/Q=%u\n", (unsigned)st->rx_port,
				        (unsigned)st->rx_queue);
			else
				fprintf(f, "  TX P=%u/Q=%u peer=%s\n", (unsigned)st->tx_port,
				        (unsigned)st->tx_queue, dst);
		}
	}
	if (app->nb_fwd_lcores < app->nb_lcores_avail)
		fprintf(f, "(%u more lcore(s) idle: set nbcore N)\n",
		        app->nb_lcores_avail - app->nb_fwd_lcores);
}

void fwd_show_fwd_stats(FILE *f)
{
	for (unsigned i = 0; i < fwd.nb_streams; i++) {
		const struct fwd_stream *s = &fwd.streams[i];
		fprintf(f,
		        "lcore %u: port %u q%u -> port %u q%u: rx %" PRIu64 " gen %" PRIu64
		        " tx %" PRIu64 " dropped %" PRIu64 " consumed %" PRIu64 "\n",
		        s->lcore, (unsigned)s->rx_port, (unsigned)s->rx_queue, (unsigned)s->tx_port,
		        (unsigned)s->tx_queue, fwd_read(&s->rx), fwd_read(&s->gen),
		        fwd_read(&s->tx), fwd_read(&s->dropped), fwd_read(&s->consumed));
	}
}

void fwd_dump_pools(const struct fwd_app *app, FILE *f)
{
	for (int s = 0; s < TARN_MAX_SOCKETS; s++) {
		const struct tarn_mempool *mp = app->pools[s];
		struct tarn_mempool_stats st;
		if (mp == NULL || tarn_mempool_stats(mp, &st) != 0)
			continue;
		fflush(f);
		tarn_mempool_dump_pool(f, mp);
		/* what is in the store: the available objects less the cached */
		const unsigned size = tarn_mempool_size(mp), avail = tarn_mempool_avail_count(mp);
		const unsigned in_use = tarn_mempool_in_use_count(mp);
		const unsigned store = avail - (unsigned)(st.cached < avail ? st.cached : avail);
		const int chk = tarn_mempool_check(mp);
		fprintf(f,
		        "  store (%s): %u objects; thread caches: %" PRIu64 "; in use: %u; "
		        "%u + %" PRIu64 " + %u = %u of %u%s\n",
		        tarn_mempool_ops_name(mp), store, st.cached, in_use, store, st.cached,
		        in_use, store + (unsigned)st.cached + in_use, size,
		        chk == 0 ? " (tarn_mempool_check: ok)" : " (tarn_mempool_check FAILED)");
	}
	fflush(f);
}

void fwd_show_pool_stats(const struct fwd_app *app, FILE *f)
{
	struct tarn_mempool_stats st;
	for (int s = 0; s < TARN_MAX_SOCKETS; s++) {
		struct tarn_mempool *mp = app->pools[s];
		if (mp == NULL || tarn_mempool_stats(mp, &st) != 0)
			continue;
		fprintf(f,
		        "pool %s: socket %d, %u mbufs, %u available, %u in use; gets %" PRIu64
		        " (cache hits %" PRIu64 "), puts %" PRIu64 ", failed gets %" PRIu64 "\n",
		        tarn_mempool_name(mp), s, tarn_mempool_size(mp),
		        tarn_mempool_avail_count(mp), tarn_mempool_in_use_count(mp), st.get_objs,
		        st.hit_objs, st.put_objs, st.fails);
	}
}

void fwd_streams_retire(struct fwd_app *app)
{
	pthread_mutex_lock(&app->lock);
	fwd_streams_total(&app->totals);
	for (unsigned i = 0; i < fwd.nb_streams; i++) {
		struct fwd_stream *s = &fwd.streams[i];
		/* forwarding is stopped: no lcore writes them */
		__atomic_store_n(&s->rx, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&s->gen, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&s->tx, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&s->dropped, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&s->consumed, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&s->nombuf, 0, __ATOMIC_RELAXED);
	}
	pthread_mutex_unlock(&app->lock);
}

/* One stream's counters. */
static struct fwd_totals stream_counts(const struct fwd_stream *s)
{
	return (struct fwd_totals){ .rx = fwd_read(&s->rx),
		                    .gen = fwd_read(&s->gen),
		                    .tx = fwd_read(&s->tx),
		                    .dropped = fwd_read(&s->dropped),
		                    .consumed = fwd_read(&s->consumed) };
}

void fwd_run_mark(struct fwd_app *app)
{
	for (unsigned i = 0; i < fwd.nb_streams; i++)
		app->run_base[i] = stream_counts(&fwd.streams[i]);
}

void fwd_show_run_stats(const struct fwd_app *app, FILE *f)
{
	for (unsigned i = 0; i < fwd.nb_streams; i++) {
		const struct fwd_stream *s = &fwd.streams[i];
		const struct fwd_totals now = stream_counts(s), *b = &app->run_base[i];
		fprintf(f,
		        "lcore %u: port %u q%u -> port %u q%u: rx %" PRIu64 " gen %" PRIu64
		        " tx %" PRIu64 " dropped %" PRIu64 " consumed %" PRIu64 "\n",
		        s->lcore, (unsigned)s->rx_port, (unsigned)s->rx_queue, (unsigned)s->tx_port,
		        (unsigned)s->tx_queue, now.rx - b->rx, now.gen - b->gen, now.tx - b->tx,
		        now.dropped - b->dropped, now.consumed - b->consumed);
	}
}

void fwd_streams_total(struct fwd_totals *t)
{
	for (unsigned i = 0; i < fwd.nb_streams; i++) {
		const struct fwd_stream *s = &fwd.streams[i];
		t->rx += fwd_read(&s->rx);
		t->gen += fwd_read(&s->gen);
		t->tx += fwd_read(&s->tx);
		t->dropped += fwd_read(&s->dropped);
		t->consumed += fwd_read(&s->consumed);
	}
}

/* ------------------------------------------------------------------------ */
/* The summary */

void fwd_print_summary(const struct fwd_app *app, const struct tarn_eth_stats *st, unsigned in_use,
                       unsigned lost, int leak_checked)
{
	struct fwd_totals t = app->totals;
	fwd_streams_total(&t);
	if (app->opt.json) {
		fwd_event_summary(app, st, &t, in_use, lost, leak_checked);
		return;
	}
	const double secs = t.seconds > 0 ? t.seconds : 1e-9;
	char modes[96] = "";
	if (app->modes_used & ~(1u << fwd.mode)) {
		/* "set fwd" changed it: the totals count every mode */
		size_t len = (size_t)snprintf(modes, sizeof(modes), " (modes run:");
		for (int m = 0; m < FWD_NB_MODES && len < sizeof(modes); m++)
			if (app->modes_used & (1u << m))
				len += (size_t)snprintf(modes + len, sizeof(modes) - len, " %s",
				                        fwd_mode_name((enum fwd_mode)m));
		if (len < sizeof(modes))
			snprintf(modes + len, sizeof(modes) - len, ")");
	}
	printf("\n---- %s forwarding%s, %.2f s, %u forwarding lcore(s)%s, burst %u ----\n",
	       fwd_mode_name(fwd.mode), modes, t.seconds, app->nb_fwd_lcores,
	       app->main_forwards ? " (the main lcore)" : "", app->opt.burst);
	for (unsigned i = 0; i < app->nb_ports; i++)
		printf("port %u (%s): rx %" PRIu64 " pkts %.3f Mpps, tx %" PRIu64
		       " pkts %.3f Mpps, imissed %" PRIu64 " ierrors %" PRIu64 " oerrors %" PRIu64
		       " rx_nombuf %" PRIu64 "\n",
		       (unsigned)app->port_ids[i], app->opt.ports[i], st[i].ipackets,
		       (double)st[i].ipackets / secs / 1e6, st[i].opackets,
		       (double)st[i].opackets / secs / 1e6, st[i].imissed, st[i].ierrors,
		       st[i].oerrors, st[i].rx_nombuf);
	if (app->stream_builds > 1)
		printf("streams since the last 'set fwd' or 'set nbcore' (the total counts the "
		       "earlier ones too):\n");
	fwd_show_fwd_stats(stdout);
	/* every run and every mode: the port lines above count them too */
	printf("total: rx %" PRIu64 " (%.3f Mpps) gen %" PRIu64 " tx %" PRIu64
	       " (%.3f Mpps) dropped %" PRIu64 " consumed %" PRIu64 "\n",
	       t.rx, (double)t.rx / secs / 1e6, t.gen, t.tx, (double)t.tx / secs / 1e6, t.dropped,
	       t.consumed);
	char pl[192];
	const unsigned all = app->pool_size * app->nb_pools;
	if (in_use == 0)
		printf("mbufs: all %u returned to %s\n", all, fwd_pools_label(app, pl, sizeof(pl)));
	if (lost != 0)
		printf("mbufs: LOST: %u of %u missing from %s were never handed out "
		       "(lost by the pool, tarn_mempool_check)\n",
		       lost, all, fwd_pools_label(app, pl, sizeof(pl)));
	if (in_use > lost)
		printf("mbufs: LEAK: %u of %u not returned to %s\n", in_use - lost, all,
		       fwd_pools_label(app, pl, sizeof(pl)));
	fflush(stdout);
}

/* ------------------------------------------------------------------------ */
/* Telemetry: /tarn/fwd/info; tarn's own commands (pools, ports, lcores with
 * the busy ratio fwd.c reports) come with tarn_init(). */

/* The application /tarn/fwd/info describes. A telemetry callback has no
 * argument of its own: set once, before the command is registered. */
static struct fwd_app *tel_app;

static int tel_fwd_info(const char *cmd, const char *params, struct tarn_telemetry_data *d)
{
	(void)cmd;
	(void)params;
	struct fwd_app *app = tel_app;
	pthread_mutex_lock(&app->lock);
	struct fwd_totals t = app->totals; /* every run and mode, then the current streams */
	fwd_streams_total(&t);
	tarn_telemetry_start_dict(d);
	tarn_telemetry_dict_string(d, "mode", fwd_mode_name(fwd.mode));
	tarn_telemetry_dict_bool(d, "running", __atomic_load_n(&app->running, __ATOMIC_RELAXED));
	tarn_telemetry_dict_uint(d, "burst", fwd.burst);
	tarn_telemetry_dict_uint(d, "pkt_len", fwd.pkt_len);
	tarn_telemetry_dict_uint(d, "streams", fwd.nb_streams);
	tarn_telemetry_dict_string(d, "pool", fwd.pool != NULL ? tarn_mempool_name(fwd.pool) : "");
	tarn_telemetry_dict_bool(d, "main_forwards", app->main_forwards);
	tarn_telemetry_dict_open_array(d, "fwd_lcores");
	for (unsigned i = 0; i < app->nb_fwd_lcores; i++)
		tarn_telemetry_array_uint(d, app->fwd_lcores[i]);
	tarn_telemetry_close(d);
	tarn_telemetry_dict_uint(d, "rx", t.rx);
	tarn_telemetry_dict_uint(d, "gen", t.gen);
	tarn_telemetry_dict_uint(d, "tx", t.tx);
	tarn_telemetry_dict_uint(d, "dropped", t.dropped);
	tarn_telemetry_dict_uint(d, "consumed", t.consumed);
	pthread_mutex_unlock(&app->lock);
	return 0;
}

void fwd_telemetry_register(struct fwd_app *app)
{
	tel_app = app;
	tarn_telemetry_register_cmd("/tarn/fwd/info", tel_fwd_info,
	                            "Returns tarn-fwd's mode, lcores and packet totals. No "
	                            "parameters");
}
