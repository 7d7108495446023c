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
	double t = fwd_now_s();
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

void fwd_show_port_stats(const struct fwd_app *app, FILE *f)
{
	for (unsigned i = 0; i < app->nb_ports; i++) {
		struct tarn_eth_stats st;
		struct tarn_eth_dev_info info;
		if (tarn_eth_stats_get(app->port_ids[i], &st) < 0 ||
		    tarn_eth_dev_info_get(app->port_ids[i], &info) < 0)
			continue;
		fprintf(f,
		        "port %u (%s, %s)\n"
		        "  RX-packets: %-14" PRIu64 " RX-bytes: %-16" PRIu64
		        " RX-missed: %-10" PRIu64 " RX-errors: %-10" PRIu64 " RX-nombuf: %" PRIu64
		        "\n"
		        "  TX-packets: %-14" PRIu64 " TX-bytes: %-16" PRIu64 " TX-errors: %" PRIu64
		        "\n",
		        (unsigned)app->port_ids[i], info.name, info.spec, st.ipackets, st.ibytes,
		        st.imissed, st.ierrors, st.rx_nombuf, st.opackets, st.obytes, st.oerrors);
	}
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
                       int leak_checked)
{
	struct fwd_totals t = app->totals;
	fwd_streams_total(&t);
	if (app->opt.json) {
		fwd_event_summary(app, st, &t, in_use, leak_checked);
		return;
	}
	const double secs = t.seconds > 0 ? t.seconds : 1e-9;
	printf("\n---- %s forwarding, %.2f s, %u forwarding lcore(s)%s, burst %u ----\n",
	       fwd_mode_name(fwd.mode), t.seconds, app->nb_fwd_lcores,
	       app->main_forwards ? " (the main lcore)" : "", app->opt.burst);
	for (unsigned i = 0; i < app->nb_ports; i++)
		printf("port %u (%s): rx %" PRIu64 " pkts %.3f Mpps, tx %" PRIu64
		       " pkts %.3f Mpps, imissed %" PRIu64 " ierrors %" PRIu64 " oerrors %" PRIu64
		       " rx_nombuf %" PRIu64 "\n",
		       (unsigned)app->port_ids[i], app->opt.ports[i], st[i].ipackets,
		       (double)st[i].ipackets / secs / 1e6, st[i].opackets,
		       (double)st[i].opackets / secs / 1e6, st[i].imissed, st[i].ierrors,
		       st[i].oerrors, st[i].rx_nombuf);
	fwd_show_fwd_stats(stdout);
	printf("total: rx %" PRIu64 " gen %" PRIu64 " tx %" PRIu64 " (%.3f Mpps) dropped %" PRIu64
	       " consumed %" PRIu64 "\n",
	       t.rx, t.gen, t.tx, (double)t.tx / secs / 1e6, t.dropped, t.consumed);
	char pl[192];
	const unsigned all = app->pool_size * app->nb_pools;
	if (in_use == 0)
		printf("mbufs: all %u returned to %s\n", all, fwd_pools_label(app, pl, sizeof(pl)));
	else
		printf("mbufs: LEAK: %u of %u not returned to %s\n", in_use, all,
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
	struct fwd_totals t = { 0 };
	pthread_mutex_lock(&app->lock);
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
