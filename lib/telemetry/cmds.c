/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * cmds.c - the built-in commands: /tarn/... (pools, ports, lcores) and the
 * DPDK aliases /mempool/..., /ethdev/... and /eal/params with DPDK's keys.
 *
 * Pools are read inside tarn_mempool_walk(), under the pool list mutex, so
 * a pool cannot be freed while its figures are read. Ports are read through
 * the ethdev calls, which check the port under their own mutex. Callbacks
 * run one at a time (telemetry.c), so the static buffers below are safe.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "telemetry_priv.h"
#include "tarn_ethdev.h"
#include "tarn_mempool.h"

/* ------------------------------------------------------------------------ */
/* /tarn/info */

static int cmd_tarn_info(const char *cmd, const char *params, struct tarn_telemetry_data *d)
{
	(void)cmd;
	(void)params;
	const struct tarn_config *cfg = tarn_config_get();
	tarn_telemetry_start_dict(d);
	tarn_telemetry_dict_string(d, "version", tarn_version());
	tarn_telemetry_dict_int(d, "pid", getpid());
	tarn_telemetry_dict_bool(d, "initialized", cfg != NULL);
	if (cfg != NULL)
		tarn_telemetry_dict_string(d, "file_prefix", cfg->file_prefix);
	tarn_telemetry_dict_uint(d, "lcores", tarn_lcore_count());
	if (tarn_lcore_main() != TARN_LCORE_ID_ANY)
		tarn_telemetry_dict_uint(d, "main_lcore", tarn_lcore_main());
	tarn_telemetry_dict_uint(d, "sockets", tarn_socket_count());
	tarn_telemetry_dict_uint(d, "ports", tarn_eth_dev_count());
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Pools */

static void pool_name(struct tarn_mempool *mp, void *arg)
{
	tarn_telemetry_array_string(arg, tarn_mempool_name(mp));
}

static int cmd_mempool_list(const char *cmd, const char *params, struct tarn_telemetry_data *d)
{
	(void)cmd;
	(void)params;
	tarn_telemetry_start_array(d);
	tarn_mempool_walk(pool_name, d);
	return 0;
}

struct pool_query {
	const char *name;
	struct tarn_telemetry_data *d;
	int dpdk; /* DPDK's keys */
	int found;
};

static double hit_percent(const struct tarn_mempool_stats *st)
{
	return st->get_objs ? 100.0 * (double)st->hit_objs / (double)st->get_objs : 0.0;
}

/* Per-thread figures: one call at a time, so one static array. */
static struct tarn_mempool_thread_stats thread_stats[TARN_MEMPOOL_MAX_THREADS];

static void pool_info_tarn(struct tarn_mempool *mp, struct tarn_telemetry_data *d)
{
	struct tarn_mempool_stats st;
	tarn_mempool_stats(mp, &st);
	const unsigned avail = tarn_mempool_avail_count(mp);
	const unsigned size = tarn_mempool_size(mp);
	tarn_telemetry_dict_string(d, "name", tarn_mempool_name(mp));
	tarn_telemetry_dict_uint(d, "size", size);
	tarn_telemetry_dict_uint(d, "in_use", size - avail);
	tarn_telemetry_dict_uint(d, "avail", avail);
	tarn_telemetry_dict_uint(d, "elt_size", tarn_mempool_elt_size(mp));
	tarn_telemetry_dict_uint(d, "cache_size", tarn_mempool_cache_size(mp));
	tarn_telemetry_dict_int(d, "socket", tarn_mempool_socket(mp));
	tarn_telemetry_dict_string(d, "ops", tarn_mempool_ops_name(mp));
	tarn_telemetry_dict_uint(d, "reserve", tarn_mempool_reserve(mp));
	tarn_telemetry_dict_bool(d, "debug", tarn_mempool_debug_enabled(mp));
	tarn_telemetry_dict_uint(d, "threads", st.threads);
	tarn_telemetry_dict_uint(d, "cached", st.cached);
	tarn_telemetry_dict_uint(d, "get_objs", st.get_objs);
	tarn_telemetry_dict_uint(d, "hit_objs", st.hit_objs);
	tarn_telemetry_dict_uint(d, "put_objs", st.put_objs);
	tarn_telemetry_dict_double(d, "hit_percent", hit_percent(&st));
	tarn_telemetry_dict_uint(d, "refills", st.refills);
	tarn_telemetry_dict_uint(d, "refill_objs", st.refill_objs);
	tarn_telemetry_dict_uint(d, "flushes", st.flushes);
	tarn_telemetry_dict_uint(d, "flush_objs", st.flush_objs);
	tarn_telemetry_dict_uint(d, "direct_gets", st.direct_gets);
	tarn_telemetry_dict_uint(d, "direct_puts", st.direct_puts);
	tarn_telemetry_dict_uint(d, "fails", st.fails);
	tarn_telemetry_dict_uint(d, "fail_objs", st.fail_objs);
	tarn_telemetry_dict_uint(d, "reserved_objs", st.reserved_objs);
	tarn_telemetry_dict_uint(d, "cache_len_hw", st.cache_len_hw);
	/* One entry per thread with a cache: its fill and its counters. */
	int n = tarn_mempool_thread_stats(mp, thread_stats, TARN_MEMPOOL_MAX_THREADS);
	tarn_telemetry_dict_open_array(d, "caches");
	for (int i = 0; i < n && i < TARN_MEMPOOL_MAX_THREADS; i++) {
		const struct tarn_mempool_thread_stats *t = &thread_stats[i];
		if (tarn_telemetry_array_open_dict(d) < 0)
			break;
		tarn_telemetry_dict_int(d, "lcore",
		                        t->lcore == TARN_LCORE_ID_ANY ? -1 : (int64_t)t->lcore);
		tarn_telemetry_dict_int(d, "tid", t->tid);
		tarn_telemetry_dict_uint(d, "len", t->cache_len);
		tarn_telemetry_dict_uint(d, "size", t->cache_size);
		tarn_telemetry_dict_uint(d, "get_objs", t->st.get_objs);
		tarn_telemetry_dict_uint(d, "hit_objs", t->st.hit_objs);
		tarn_telemetry_dict_uint(d, "put_objs", t->st.put_objs);
		tarn_telemetry_dict_uint(d, "refills", t->st.refills);
		tarn_telemetry_dict_uint(d, "flushes", t->st.flushes);
		tarn_telemetry_dict_uint(d, "fails", t->st.fails);
		tarn_telemetry_close(d);
	}
	tarn_telemetry_close(d);
}

/* DPDK's /mempool/info keys, where tarn has the same thing. */
static void pool_info_dpdk(struct tarn_mempool *mp, struct tarn_telemetry_data *d)
{
	const unsigned avail = tarn_mempool_avail_count(mp);
	tarn_telemetry_dict_string(d, "name", tarn_mempool_name(mp));
	tarn_telemetry_dict_uint(d, "flags", tarn_mempool_flags(mp));
	tarn_telemetry_dict_int(d, "socket_id", tarn_mempool_socket(mp));
	tarn_telemetry_dict_uint(d, "size", tarn_mempool_size(mp));
	tarn_telemetry_dict_uint(d, "cache_size", tarn_mempool_cache_size(mp));
	tarn_telemetry_dict_uint(d, "elt_size", tarn_mempool_elt_size(mp));
	tarn_telemetry_dict_uint(d, "private_data_size", tarn_mempool_priv_size(mp));
	tarn_telemetry_dict_uint(d, "populated_size", tarn_mempool_size(mp));
	tarn_telemetry_dict_string(d, "ops_name", tarn_mempool_ops_name(mp));
	tarn_telemetry_dict_uint(d, "avail_count", avail);
	tarn_telemetry_dict_uint(d, "in_use_count", tarn_mempool_size(mp) - avail);
}

static void pool_info_walk(struct tarn_mempool *mp, void *arg)
{
	struct pool_query *q = arg;
	if (q->found || strcmp(tarn_mempool_name(mp), q->name) != 0)
		return;
	q->found = 1;
	tarn_telemetry_start_dict(q->d);
	if (q->dpdk)
		pool_info_dpdk(mp, q->d);
	else
		pool_info_tarn(mp, q->d);
}

static int pool_info(const char *params, struct tarn_telemetry_data *d, int dpdk)
{
	if (params == NULL || params[0] == '\0' || strlen(params) >= TARN_NAME_SIZE)
		return -EINVAL;
	struct pool_query q = { .name = params, .d = d, .dpdk = dpdk };
	tarn_mempool_walk(pool_info_walk, &q);
	return q.found ? 0 : -ENOENT;
}

static int cmd_mempool_info(const char *cmd, const char *params, struct tarn_telemetry_data *d)
{
	(void)cmd;
	return pool_info(params, d, 0);
}

static int cmd_dpdk_mempool_info(const char *cmd, const char *params, struct tarn_telemetry_data *d)
{
	(void)cmd;
	return pool_info(params, d, 1);
}

/* ------------------------------------------------------------------------ */
/* Ports */

static int cmd_ethdev_list(const char *cmd, const char *params, struct tarn_telemetry_data *d)
{
	(void)cmd;
	(void)params;
	int p;
	tarn_telemetry_start_array(d);
	TARN_ETH_FOREACH_DEV(p)
	{
		tarn_telemetry_array_int(d, p);
	}
	return 0;
}

static const char *state_name(enum tarn_eth_state s)
{
	switch (s) {
	case TARN_ETH_STATE_CREATED:
		return "created";
	case TARN_ETH_STATE_CONFIGURED:
		return "configured";
	case TARN_ETH_STATE_STARTED:
		return "started";
	}
	return "?";
}

static int port_param(const char *params, uint16_t *port)
{
	unsigned id;
	if (tarn__tel_parse_id(params, TARN_MAX_ETHPORTS - 1, &id) < 0 ||
	    !tarn_eth_dev_is_valid_port((uint16_t)id))
		return -EINVAL;
	*port = (uint16_t)id;
	return 0;
}

static int cmd_ethdev_info(const char *cmd, const char *params, struct tarn_telemetry_data *d)
{
	(void)cmd;
	uint16_t port;
	struct tarn_eth_dev_info info;
	struct tarn_eth_link link;
	char mac[24];
	if (port_param(params, &port) < 0 || tarn_eth_dev_info_get(port, &info) < 0)
		return -EINVAL;
	tarn_telemetry_start_dict(d);
	tarn_telemetry_dict_uint(d, "port_id", port);
	tarn_telemetry_dict_string(d, "name", info.name);
	tarn_telemetry_dict_string(d, "driver", info.driver_name);
	tarn_telemetry_dict_string(d, "spec", info.spec);
	tarn_telemetry_dict_string(d, "state", state_name(info.state));
	tarn_telemetry_dict_int(d, "socket", info.socket);
	tarn_telemetry_dict_uint(d, "nb_rx_queues", info.nb_rx_queues);
	tarn_telemetry_dict_uint(d, "nb_tx_queues", info.nb_tx_queues);
	tarn_telemetry_dict_uint(d, "mtu", info.mtu);
	tarn_telemetry_dict_bool(d, "promiscuous", info.promiscuous);
	tarn_telemetry_dict_string(d, "mac", tarn_ether_format_addr(mac, sizeof(mac), &info.mac));
	if (tarn_eth_link_get(port, &link) == 0) {
		tarn_telemetry_dict_bool(d, "link_up", link.up);
		tarn_telemetry_dict_uint(d, "link_speed_mbps", link.speed_mbps);
	}
	return 0;
}

static void queue_dict(struct tarn_telemetry_data *d, unsigned q,
                       const struct tarn_eth_queue_stats *qs, int rx)
{
	if (tarn_telemetry_array_open_dict(d) < 0)
		return;
	tarn_telemetry_dict_uint(d, "queue", q);
	tarn_telemetry_dict_uint(d, "packets", qs->packets);
	tarn_telemetry_dict_uint(d, "bytes", qs->bytes);
	tarn_telemetry_dict_uint(d, "errors", qs->errors);
	if (rx) {
		tarn_telemetry_dict_uint(d, "missed", qs->missed);
		tarn_telemetry_dict_uint(d, "nombuf", qs->nombuf);
	}
	tarn_telemetry_close(d);
}

static void port_totals(struct tarn_telemetry_data *d, const struct tarn_eth_stats *st)
{
	tarn_telemetry_dict_uint(d, "ipackets", st->ipackets);
	tarn_telemetry_dict_uint(d, "opackets", st->opackets);
	tarn_telemetry_dict_uint(d, "ibytes", st->ibytes);
	tarn_telemetry_dict_uint(d, "obytes", st->obytes);
	tarn_telemetry_dict_uint(d, "imissed", st->imissed);
	tarn_telemetry_dict_uint(d, "ierrors", st->ierrors);
	tarn_telemetry_dict_uint(d, "oerrors", st->oerrors);
	tarn_telemetry_dict_uint(d, "rx_nombuf", st->rx_nombuf);
}

static int cmd_ethdev_stats(const char *cmd, const char *params, struct tarn_telemetry_data *d)
{
	(void)cmd;
	uint16_t port;
	struct tarn_eth_dev_info info;
	struct tarn_eth_stats st;
	struct tarn_eth_queue_stats qs;
	if (port_param(params, &port) < 0 || tarn_eth_dev_info_get(port, &info) < 0 ||
	    tarn_eth_stats_get(port, &st) < 0)
		return -EINVAL;
	tarn_telemetry_start_dict(d);
	tarn_telemetry_dict_uint(d, "port_id", port);
	tarn_telemetry_dict_string(d, "name", info.name);
	tarn_telemetry_dict_string(d, "driver", info.driver_name);
	tarn_telemetry_dict_string(d, "state", state_name(info.state));
	port_totals(d, &st);
	tarn_telemetry_dict_open_array(d, "rx_queues");
	for (unsigned q = 0; q < info.nb_rx_queues; q++)
		if (tarn_eth_rx_queue_stats_get(port, (uint16_t)q, &qs) == 0)
			queue_dict(d, q, &qs, 1);
	tarn_telemetry_close(d);
	tarn_telemetry_dict_open_array(d, "tx_queues");
	for (unsigned q = 0; q < info.nb_tx_queues; q++)
		if (tarn_eth_tx_queue_stats_get(port, (uint16_t)q, &qs) == 0)
			queue_dict(d, q, &qs, 0);
	tarn_telemetry_close(d);
	return 0;
}

/* DPDK's /ethdev/stats: the totals and q_* arrays of every queue counter
 * slot (16, as RTE_ETHDEV_QUEUE_STAT_CNTRS). */
static int cmd_dpdk_ethdev_stats(const char *cmd, const char *params, struct tarn_telemetry_data *d)
{
	(void)cmd;
	uint16_t port;
	struct tarn_eth_stats st;
	struct tarn_eth_queue_stats rx[TARN_ETH_MAX_QUEUES], tx[TARN_ETH_MAX_QUEUES];
	if (port_param(params, &port) < 0 || tarn_eth_stats_get(port, &st) < 0)
		return -EINVAL;
	for (unsigned q = 0; q < TARN_ETH_MAX_QUEUES; q++) {
		if (tarn_eth_rx_queue_stats_get(port, (uint16_t)q, &rx[q]) < 0)
			memset(&rx[q], 0, sizeof(rx[q]));
		if (tarn_eth_tx_queue_stats_get(port, (uint16_t)q, &tx[q]) < 0)
			memset(&tx[q], 0, sizeof(tx[q]));
	}
	tarn_telemetry_start_dict(d);
	port_totals(d, &st);
	static const char *const keys[] = { "q_ipackets", "q_opackets", "q_ibytes", "q_obytes",
		                            "q_errors" };
	for (unsigned k = 0; k < 5; k++) {
		tarn_telemetry_dict_open_array(d, keys[k]);
		for (unsigned q = 0; q < TARN_ETH_MAX_QUEUES; q++) {
			const uint64_t v = k == 0   ? rx[q].packets
			                   : k == 1 ? tx[q].packets
			                   : k == 2 ? rx[q].bytes
			                   : k == 3 ? tx[q].bytes
			                            : rx[q].errors;
			tarn_telemetry_array_uint(d, v);
		}
		tarn_telemetry_close(d);
	}
	return 0;
}

/* ------------------------------------------------------------------------ */
/* DPDK's /ethdev/info, /ethdev/xstats and /ethdev/link_status, in DPDK 22.11's
 * shapes (lib/ethdev/rte_ethdev.c), for tools written against DPDK:
 * Telegraf's dpdk input, dpdk-telemetry-exporter.py, dashboards. Keys tarn
 * has no honest value for are left out rather than invented (see
 * docs/telemetry.md). /ethdev/dump_priv and /ethdev/module_eeprom are not
 * registered: tarn's drivers have no private dump and no SFF module. */

/* DPDK's enum values: RTE_ETH_DEV_ATTACHED, RTE_ETH_QUEUE_STATE_STOPPED and
 * RTE_ETH_QUEUE_STATE_STARTED. */
#define DPDK_DEV_ATTACHED  1
#define DPDK_QUEUE_STOPPED 0
#define DPDK_QUEUE_STARTED 1

static int cmd_dpdk_ethdev_info(const char *cmd, const char *params, struct tarn_telemetry_data *d)
{
	(void)cmd;
	uint16_t port;
	struct tarn_eth_dev_info info;
	if (port_param(params, &port) < 0 || tarn_eth_dev_info_get(port, &info) < 0)
		return -EINVAL;
	const int started = info.state == TARN_ETH_STATE_STARTED;
	/* rte_ether_format_addr()'s form: upper-case hex */
	char mac[24];
	const uint8_t *b = info.mac.addr_bytes;
	snprintf(mac, sizeof(mac), "%02X:%02X:%02X:%02X:%02X:%02X", b[0], b[1], b[2], b[3], b[4],
	         b[5]);
	tarn_telemetry_start_dict(d);
	tarn_telemetry_dict_string(d, "name", info.name);
	tarn_telemetry_dict_int(d, "state", DPDK_DEV_ATTACHED); /* every listed port is */
	tarn_telemetry_dict_int(d, "nb_rx_queues", info.nb_rx_queues);
	tarn_telemetry_dict_int(d, "nb_tx_queues", info.nb_tx_queues);
	tarn_telemetry_dict_int(d, "port_id", port);
	tarn_telemetry_dict_int(d, "mtu", info.mtu);
	tarn_telemetry_dict_string(d, "mac_addr", mac);
	tarn_telemetry_dict_int(d, "promiscuous", info.promiscuous != 0);
	tarn_telemetry_dict_int(d, "dev_started", started);
	tarn_telemetry_dict_int(d, "lro", 0); /* tarn never aggregates received packets */
	tarn_telemetry_dict_int(d, "dev_configured", info.state != TARN_ETH_STATE_CREATED);
	/* tarn's queues start and stop with their port */
	tarn_telemetry_dict_open_array(d, "rxq_state");
	for (unsigned q = 0; q < info.nb_rx_queues; q++)
		tarn_telemetry_array_int(d, started ? DPDK_QUEUE_STARTED : DPDK_QUEUE_STOPPED);
	tarn_telemetry_close(d);
	tarn_telemetry_dict_open_array(d, "txq_state");
	for (unsigned q = 0; q < info.nb_tx_queues; q++)
		tarn_telemetry_array_int(d, started ? DPDK_QUEUE_STARTED : DPDK_QUEUE_STOPPED);
	tarn_telemetry_close(d);
	tarn_telemetry_dict_int(d, "numa_node", info.socket);
	return 0;
}

/* DPDK's /ethdev/xstats: tarn_eth_xstats_get(), which has DPDK's names and
 * order (the totals, rx_q<N>_packets/bytes/errors and tx_q<N>_packets/bytes
 * per queue, the per-RX-queue drop counters), then the driver's own. */
static int cmd_dpdk_ethdev_xstats(const char *cmd, const char *params,
                                  struct tarn_telemetry_data *d)
{
	(void)cmd;
	uint16_t port;
	if (port_param(params, &port) < 0)
		return -EINVAL;
	int n = tarn_eth_xstats_get(port, NULL, 0);
	if (n < 0)
		return -EINVAL;
	struct tarn_eth_xstat *xs = calloc((size_t)n + 1, sizeof(*xs));
	if (xs == NULL)
		return -ENOMEM;
	int got = tarn_eth_xstats_get(port, xs, (unsigned)n);
	if (got < 0) {
		free(xs);
		return -EINVAL;
	}
	tarn_telemetry_start_dict(d);
	for (int i = 0; i < got && i < n; i++)
		tarn_telemetry_dict_uint(d, xs[i].name, xs[i].value);
	free(xs);
	return 0;
}

/* DPDK's /ethdev/link_status: {"status":"DOWN"}, or "UP" with the speed in
 * Mbit/s and the duplex. */
static int cmd_dpdk_ethdev_link_status(const char *cmd, const char *params,
                                       struct tarn_telemetry_data *d)
{
	(void)cmd;
	uint16_t port;
	struct tarn_eth_link link;
	if (port_param(params, &port) < 0 || tarn_eth_link_get(port, &link) < 0)
		return -EINVAL;
	tarn_telemetry_start_dict(d);
	if (!link.up) {
		tarn_telemetry_dict_string(d, "status", "DOWN");
		return 0;
	}
	tarn_telemetry_dict_string(d, "status", "UP");
	tarn_telemetry_dict_uint(d, "speed", link.speed_mbps);
	tarn_telemetry_dict_string(d, "duplex", link.full_duplex ? "full-duplex" : "half-duplex");
	return 0;
}

/* ------------------------------------------------------------------------ */
/* DPDK's /eal/params and /eal/app_params: argv[0] and the tarn options (what
 * DPDK's EAL would have parsed), and the arguments left to the application,
 * as the last tarn_config_parse_args() (tarn_init_args()) split them. A
 * program that called tarn_init() without parsing arguments gets []. */

static void add_arg(const char *arg, void *d)
{
	tarn_telemetry_array_string(d, arg);
}

static int cmd_eal_params(const char *cmd, const char *params, struct tarn_telemetry_data *d)
{
	(void)params;
	tarn_telemetry_start_array(d);
	tarn__config_saved_args(strcmp(cmd, "/eal/app_params") == 0, add_arg, d);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* lcores */

static int cmd_lcore_list(const char *cmd, const char *params, struct tarn_telemetry_data *d)
{
	(void)cmd;
	(void)params;
	tarn_telemetry_start_array(d);
	for (uint32_t l = 0; l < TARN_MAX_LCORES; l++)
		if (tarn_lcore_is_enabled(l))
			tarn_telemetry_array_uint(d, l);
	return 0;
}

static int cmd_lcore_info(const char *cmd, const char *params, struct tarn_telemetry_data *d)
{
	(void)cmd;
	unsigned id;
	if (tarn__tel_parse_id(params, TARN_MAX_LCORES - 1, &id) < 0 || !tarn_lcore_is_enabled(id))
		return -EINVAL;
	int started = 0;
	uint32_t l;
	TARN_LCORE_FOREACH(l)
	{
		started |= l == id;
	}
	const char *role = id == tarn_lcore_main() ? "main" : started ? "worker" : "registered";
	uint64_t polls = 0, busy = 0;
	tarn_telemetry_lcore_usage(id, &polls, &busy);
	tarn_telemetry_start_dict(d);
	tarn_telemetry_dict_uint(d, "lcore_id", id);
	tarn_telemetry_dict_string(d, "role", role);
	const int cpu = tarn_lcore_cpu(id);
	tarn_telemetry_dict_int(d, "cpu", cpu < 0 ? -1 : cpu);
	tarn_telemetry_dict_int(d, "socket", tarn_lcore_socket(id));
	tarn_telemetry_dict_uint(d, "polls", polls);
	tarn_telemetry_dict_uint(d, "busy_polls", busy);
	if (polls > 0)
		tarn_telemetry_dict_double(d, "busy_percent", 100.0 * (double)busy / (double)polls);
	return 0;
}

/* ------------------------------------------------------------------------ */

void tarn__tel_register_builtins(void)
{
	tarn__tel_register("/tarn/info", cmd_tarn_info,
	                   "Returns tarn's version, pid, file prefix, lcore, socket and port "
	                   "counts. No parameters");
	tarn__tel_register("/tarn/mempool/list", cmd_mempool_list,
	                   "Returns the names of the pools. No parameters");
	tarn__tel_register("/tarn/mempool/info", cmd_mempool_info,
	                   "Returns a pool's counts, statistics and per-thread caches. "
	                   "Parameters: string pool name");
	tarn__tel_register("/tarn/ethdev/list", cmd_ethdev_list,
	                   "Returns the ids of the open ports. No parameters");
	tarn__tel_register("/tarn/ethdev/info", cmd_ethdev_info,
	                   "Returns a port's name, driver, state, queues, MAC and link. "
	                   "Parameters: int port_id");
	tarn__tel_register("/tarn/ethdev/stats", cmd_ethdev_stats,
	                   "Returns a port's counters, totals and per queue. Parameters: int "
	                   "port_id");
	tarn__tel_register("/tarn/lcore/list", cmd_lcore_list,
	                   "Returns the ids of the lcores (started and registered). No parameters");
	tarn__tel_register("/tarn/lcore/info", cmd_lcore_info,
	                   "Returns an lcore's role, CPU, socket and busy/idle polls. Parameters: "
	                   "int lcore_id");
	/* DPDK's names, with DPDK's keys, for tools written against DPDK. */
	tarn__tel_register("/mempool/list", cmd_mempool_list,
	                   "Returns list of available mempool. Takes no parameters");
	tarn__tel_register("/mempool/info", cmd_dpdk_mempool_info,
	                   "Returns mempool info. Parameters: pool_name");
	tarn__tel_register("/ethdev/list", cmd_ethdev_list,
	                   "Returns list of available ethdev ports. Takes no parameters");
	tarn__tel_register("/ethdev/stats", cmd_dpdk_ethdev_stats,
	                   "Returns the common stats for a port. Parameters: int port_id");
	tarn__tel_register("/ethdev/xstats", cmd_dpdk_ethdev_xstats,
	                   "Returns the extended stats for a port. Parameters: int port_id");
	tarn__tel_register("/ethdev/link_status", cmd_dpdk_ethdev_link_status,
	                   "Returns the link status for a port. Parameters: int port_id");
	tarn__tel_register("/ethdev/info", cmd_dpdk_ethdev_info,
	                   "Returns the device info for a port. Parameters: int port_id");
	tarn__tel_register("/eal/params", cmd_eal_params,
	                   "Returns EAL commandline parameters used. Takes no parameters");
	tarn__tel_register("/eal/app_params", cmd_eal_params,
	                   "Returns app commandline parameters used. Takes no parameters");
}
