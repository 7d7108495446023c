/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * events.c - tarn-fwd --json: one JSON object per line on stdout, written
 * with libtarn's internal JSON writer (json_priv.h):
 *
 *   {"event":"start",...}    the configuration and where pools and RX
 *                            queues went (and where the pools' objects lie)
 *   {"event":"stats",...}    one per --stats-period
 *   {"event":"summary",...}  at exit: ports, streams, totals, mbufs
 *   {"event":"soak",...}     --soak's verdict (soak.c)
 *
 * docs/tarn-fwd.md describes every field.
 */
#include "app.h"
#include "json_priv.h"

/* Begin an event line: {"event":NAME */
static void event_begin(struct tarn__json *j, const char *name)
{
	tarn__json_init(j, stdout, TARN__JSON_COMPACT);
	tarn__json_object_open(j, NULL);
	tarn__json_string(j, "event", name);
}

/* Close the event, end the line. */
static void event_end(struct tarn__json *j)
{
	if (tarn__json_finish(j) != 0)
		fprintf(stderr, PROG ": a JSON event could not be written\n");
	putchar('\n');
	fflush(stdout);
}

/* ------------------------------------------------------------------------ */
/* start */

/* "pools": where each pool went and where its objects really lie (node:
 * of the first object; off_node: objects of a sample that are not on the
 * pool's socket). */
static void pools_json(const struct fwd_app *app, struct tarn__json *j)
{
	tarn__json_array_open(j, "pools");
	for (int s = 0; s < TARN_MAX_SOCKETS; s++) {
		struct tarn_mempool *mp = app->pools[s];
		if (mp == NULL)
			continue;
		struct fwd_node_check c = fwd_pool_nodes(mp);
		tarn__json_object_open(j, NULL);
		tarn__json_string(j, "name", tarn_mempool_name(mp));
		tarn__json_int(j, "socket", tarn_mempool_socket(mp));
		tarn__json_uint(j, "size", tarn_mempool_size(mp));
		tarn__json_int(j, "node", c.first);
		tarn__json_uint(j, "off_node", c.off);
		tarn__json_close(j);
	}
	tarn__json_close(j);
}

/* "rxqs": where each RX queue went, and why. */
static void rxqs_json(const struct fwd_app *app, struct tarn__json *j)
{
	tarn__json_array_open(j, "rxqs");
	for (unsigned pi = 0; pi < app->nb_ports; pi++) {
		for (unsigned q = 0; q < app->opt.rxq; q++) {
			const struct fwd_rxq_place *r = &app->rxq_place[pi][q];
			tarn__json_object_open(j, NULL);
			tarn__json_uint(j, "port", app->port_ids[pi]);
			tarn__json_uint(j, "queue", q);
			tarn__json_uint(j, "lcore", r->lcore);
			tarn__json_int(j, "lcore_socket", r->lcore_socket);
			tarn__json_int(j, "port_socket", r->port_socket);
			tarn__json_int(j, "pool_socket", r->socket);
			tarn__json_string(j, "why", r->why);
			tarn__json_string(j, "pool", tarn_mempool_name(app->pools[r->socket]));
			tarn__json_close(j);
		}
	}
	tarn__json_close(j);
}

void fwd_event_start(const struct fwd_app *app, const char *telemetry_path)
{
	struct tarn__json j;
	event_begin(&j, "start");
	tarn__json_string(&j, "mode", fwd_mode_name(fwd.mode));
	tarn__json_uint(&j, "ports", app->nb_ports);
	tarn__json_uint(&j, "streams", fwd.nb_streams);
	tarn__json_uint(&j, "fwd_lcores", app->nb_fwd_lcores);
	tarn__json_uint(&j, "mbufs", app->pool_size);
	tarn__json_uint(&j, "mbufs_needed", app->mbufs_needed);
	tarn__json_double(&j, "duration_s", app->opt.duration, 3);
	tarn__json_string(&j, "telemetry", telemetry_path[0] != '\0' ? telemetry_path : NULL);
	tarn__json_uint(&j, "sockets", tarn_socket_count());
	pools_json(app, &j);
	rxqs_json(app, &j);
	event_end(&j);
}

/* ------------------------------------------------------------------------ */
/* stats */

void fwd_event_stats(const struct fwd_app *app, double elapsed, const struct fwd_port_snap *cur,
                     const double *rx_pps, const double *tx_pps, double total_rx_pps)
{
	struct tarn__json j;
	event_begin(&j, "stats");
	tarn__json_double(&j, "time_s", elapsed, 3);
	tarn__json_array_open(&j, "ports");
	for (unsigned i = 0; i < app->nb_ports; i++) {
		tarn__json_object_open(&j, NULL);
		tarn__json_uint(&j, "port", app->port_ids[i]);
		tarn__json_double(&j, "rx_pps", rx_pps[i], 0);
		tarn__json_double(&j, "tx_pps", tx_pps[i], 0);
		tarn__json_uint(&j, "ipackets", cur[i].st.ipackets);
		tarn__json_uint(&j, "opackets", cur[i].st.opackets);
		tarn__json_uint(&j, "oerrors", cur[i].st.oerrors);
		tarn__json_uint(&j, "rx_nombuf", cur[i].st.rx_nombuf);
		tarn__json_close(&j);
	}
	tarn__json_close(&j);
	tarn__json_double(&j, "rx_pps", total_rx_pps, 0);
	event_end(&j);
}

/* ------------------------------------------------------------------------ */
/* summary */

static void summary_ports(const struct fwd_app *app, struct tarn__json *j,
                          const struct tarn_eth_stats *st, double secs)
{
	tarn__json_array_open(j, "ports");
	for (unsigned i = 0; i < app->nb_ports; i++) {
		const struct tarn_eth_stats *d = &st[i];
		tarn__json_object_open(j, NULL);
		tarn__json_uint(j, "port", app->port_ids[i]);
		tarn__json_string(j, "spec", app->opt.ports[i]);
		tarn__json_uint(j, "ipackets", d->ipackets);
		tarn__json_uint(j, "opackets", d->opackets);
		tarn__json_uint(j, "ibytes", d->ibytes);
		tarn__json_uint(j, "obytes", d->obytes);
		tarn__json_uint(j, "imissed", d->imissed);
		tarn__json_uint(j, "ierrors", d->ierrors);
		tarn__json_uint(j, "oerrors", d->oerrors);
		tarn__json_uint(j, "rx_nombuf", d->rx_nombuf);
		tarn__json_double(j, "rx_mpps", (double)d->ipackets / secs / 1e6, 3);
		tarn__json_double(j, "tx_mpps", (double)d->opackets / secs / 1e6, 3);
		tarn__json_close(j);
	}
	tarn__json_close(j);
}

static void summary_streams(struct tarn__json *j)
{
	tarn__json_array_open(j, "streams");
	for (unsigned i = 0; i < fwd.nb_streams; i++) {
		const struct fwd_stream *s = &fwd.streams[i];
		tarn__json_object_open(j, NULL);
		tarn__json_uint(j, "lcore", s->lcore);
		tarn__json_uint(j, "rx_port", s->rx_port);
		tarn__json_uint(j, "rx_queue", s->rx_queue);
		tarn__json_uint(j, "tx_port", s->tx_port);
		tarn__json_uint(j, "tx_queue", s->tx_queue);
		tarn__json_uint(j, "rx", fwd_read(&s->rx));
		tarn__json_uint(j, "gen", fwd_read(&s->gen));
		tarn__json_uint(j, "tx", fwd_read(&s->tx));
		tarn__json_uint(j, "dropped", fwd_read(&s->dropped));
		tarn__json_uint(j, "consumed", fwd_read(&s->consumed));
		tarn__json_uint(j, "nombuf", fwd_read(&s->nombuf));
		tarn__json_close(j);
	}
	tarn__json_close(j);
}

void fwd_event_summary(const struct fwd_app *app, const struct tarn_eth_stats *st,
                       const struct fwd_totals *t, unsigned in_use, unsigned lost, int leak_checked)
{
	const double secs = t->seconds > 0 ? t->seconds : 1e-9;
	struct tarn__json j;
	event_begin(&j, "summary");
	tarn__json_string(&j, "mode", fwd_mode_name(fwd.mode));
	tarn__json_double(&j, "duration_s", t->seconds, 3);
	tarn__json_uint(&j, "burst", app->opt.burst);
	tarn__json_uint(&j, "pkt_len", app->opt.pkt_len);
	tarn__json_uint(&j, "fwd_lcores", app->nb_fwd_lcores);
	tarn__json_bool(&j, "main_forwards", app->main_forwards);
	summary_ports(app, &j, st, secs);
	summary_streams(&j);
	tarn__json_object_open(&j, "totals");
	tarn__json_uint(&j, "rx", t->rx);
	tarn__json_uint(&j, "gen", t->gen);
	tarn__json_uint(&j, "tx", t->tx);
	tarn__json_uint(&j, "dropped", t->dropped);
	tarn__json_uint(&j, "consumed", t->consumed);
	tarn__json_double(&j, "tx_mpps", (double)t->tx / secs / 1e6, 3);
	tarn__json_double(&j, "rx_mpps", (double)t->rx / secs / 1e6, 3);
	tarn__json_close(&j);
	tarn__json_object_open(&j, "mbufs");
	tarn__json_uint(&j, "pool", app->pool_size);
	tarn__json_uint(&j, "pools", app->nb_pools);
	tarn__json_uint(&j, "in_use_at_exit", in_use);
	tarn__json_bool(&j, "checked", leak_checked);
	tarn__json_uint(&j, "leaked", in_use - lost);
	tarn__json_uint(&j, "lost", lost);
	event_end(&j);
}
