/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tarn-fwd: a testpmd-like forwarding application on tarn ports.
 *
 *   tarn-fwd [tarn options] [--port SPEC]... [--fwd MODE] [--burst N] ...
 *
 * With no --port it runs its embedded default: two cabled ring ports, io
 * forwarding seeded with one burst per port, Mpps per port every second for
 * 5 seconds, then a summary. docs/tarn-fwd.md describes every option.
 *
 * Threads: the main lcore sets everything up, prints statistics and reads
 * commands (-i); the worker lcores forward. With a single lcore the main
 * lcore forwards too, and does its housekeeping every few hundred rounds.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fwd.h"

#define PROG             "tarn-fwd"
#define POOL_NAME        "fwd_mbufs"
#define DEFAULT_DURATION 5.0
/* Rounds the main lcore forwards between two looks at the clock. */
#define MAIN_ROUNDS 256

/* ------------------------------------------------------------------------ */
/* Options */

struct options {
	const char *ports[TARN_MAX_ETHPORTS];
	unsigned nb_ports;
	enum fwd_mode mode;
	unsigned burst;
	unsigned rxq, txq;
	unsigned rxd, txd;
	unsigned mbufs; /* 0: computed */
	unsigned mbuf_cache;
	unsigned pkt_len;
	double stats_period;
	double duration; /* < 0: not given */
	int json;
	int interactive;
	int tx_first;
};

static struct options opt = {
	.mode = FWD_IO,
	.burst = 32,
	.rxq = 1,
	.txq = 1,
	.rxd = 1024,
	.txd = 1024,
	.mbuf_cache = 256,
	.pkt_len = 64,
	.stats_period = 1.0,
	.duration = -1.0,
};

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: " PROG " [tarn options] [options]\n"
	        "\n"
	        "Forward packets between tarn ports, testpmd-like. Without --port: two cabled\n"
	        "ring ports, io forwarding seeded with one burst per port, for 5 seconds.\n"
	        "\n"
	        "options:\n"
	        "  --port SPEC         add a port, DRIVER[:KEY=VALUE,...] (repeatable)\n"
	        "  --fwd MODE          io (default), mac, macswap, rxonly, txonly, flowgen\n"
	        "  --burst N           packets per burst, 1-%d (default 32)\n"
	        "  --rxq N, --txq N    queues per port, 1-%d (default 1)\n"
	        "  --rxd N, --txd N    descriptors per queue, 1-%d (default 1024)\n"
	        "  --mbufs N           mbufs in the pool (default: computed from the above)\n"
	        "  --mbuf-cache N      per-lcore mbuf cache, 0-%d (default 256)\n"
	        "  --pkt-len N         length of generated packets, 14-%d (default 64)\n"
	        "  --tx-first          send one burst on every port before forwarding\n"
	        "  --stats-period S    print statistics every S seconds, 0: never (default 1)\n"
	        "  --duration S        stop after S seconds, 0: at SIGINT/SIGTERM (default 5\n"
	        "                      without --port, else 0)\n"
	        "  --json              print statistics as JSON lines on stdout\n"
	        "  -i, --interactive   read commands from stdin (type 'help')\n"
	        "  -h, --help          this text\n"
	        "\n"
	        "Forwarding lcores are the worker lcores of --lcores (default: the first two\n"
	        "allowed CPUs); with one lcore the main lcore forwards and prints.\n"
	        "\n",
	        FWD_MAX_BURST, TARN_ETH_MAX_QUEUES, TARN_ETH_MAX_DESC, TARN_MEMPOOL_CACHE_MAX,
	        TARN_MBUF_DEFAULT_DATAROOM);
	fprintf(out, "drivers:\n");
	for (unsigned i = 0; i < tarn_eth_driver_count(); i++)
		fprintf(out, "  %-8s %s\n", tarn_eth_driver_name(i), tarn_eth_driver_help(i));
	fprintf(out, "  every driver: name=NAME, mac=XX:XX:XX:XX:XX:XX, socket=N\n\n");
	tarn_config_usage(out);
}

static int bad_value(const char *name, const char *val, const char *what)
{
	fprintf(stderr, PROG ": --%s '%s': expected %s (see --help)\n", name, val, what);
	return -1;
}

static int parse_uint(const char *name, const char *val, unsigned min, unsigned max, unsigned *out)
{
	char what[96];
	char *end;
	snprintf(what, sizeof(what), "a whole number from %u to %u", min, max);
	if (val[0] < '0' || val[0] > '9')
		return bad_value(name, val, what);
	errno = 0;
	unsigned long v = strtoul(val, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return bad_value(name, val, what);
	*out = (unsigned)v;
	return 0;
}

static int parse_seconds(const char *name, const char *val, double *out)
{
	char *end;
	if ((val[0] < '0' || val[0] > '9') && val[0] != '.')
		return bad_value(name, val, "seconds, a number >= 0");
	errno = 0;
	double v = strtod(val, &end);
	if (errno != 0 || *end != '\0' || !(v >= 0) || v > 1e9)
		return bad_value(name, val, "seconds, a number >= 0");
	*out = v;
	return 0;
}

enum {
	OPT_PORT = 256,
	OPT_FWD,
	OPT_BURST,
	OPT_RXQ,
	OPT_TXQ,
	OPT_RXD,
	OPT_TXD,
	OPT_MBUFS,
	OPT_MBUF_CACHE,
	OPT_PKT_LEN,
	OPT_STATS_PERIOD,
	OPT_DURATION,
	OPT_JSON,
	OPT_TX_FIRST,
};

static const struct option long_opts[] = {
	{ "port", required_argument, NULL, OPT_PORT },
	{ "fwd", required_argument, NULL, OPT_FWD },
	{ "burst", required_argument, NULL, OPT_BURST },
	{ "rxq", required_argument, NULL, OPT_RXQ },
	{ "txq", required_argument, NULL, OPT_TXQ },
	{ "rxd", required_argument, NULL, OPT_RXD },
	{ "txd", required_argument, NULL, OPT_TXD },
	{ "mbufs", required_argument, NULL, OPT_MBUFS },
	{ "mbuf-cache", required_argument, NULL, OPT_MBUF_CACHE },
	{ "pkt-len", required_argument, NULL, OPT_PKT_LEN },
	{ "stats-period", required_argument, NULL, OPT_STATS_PERIOD },
	{ "duration", required_argument, NULL, OPT_DURATION },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "tx-first", no_argument, NULL, OPT_TX_FIRST },
	{ "interactive", no_argument, NULL, 'i' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static const char *opt_name(int c)
{
	for (const struct option *o = long_opts; o->name != NULL; o++)
		if (o->val == c)
			return o->name;
	return "?";
}

/* Parse the application's options. 0, 1 (--help printed) or -1 (error printed). */
static int parse_app_args(int argc, char **argv)
{
	int c, m;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":ih", long_opts, NULL)) != -1) {
		const char *name = opt_name(c);
		int rc = 0;
		switch (c) {
		case OPT_PORT:
			if (opt.nb_ports == TARN_MAX_ETHPORTS) {
				fprintf(stderr, PROG ": --port: at most %d ports\n",
				        TARN_MAX_ETHPORTS);
				return -1;
			}
			opt.ports[opt.nb_ports++] = optarg;
			break;
		case OPT_FWD:
			m = fwd_mode_parse(optarg);
			if (m < 0)
				return bad_value(name, optarg,
				                 "io, mac, macswap, rxonly, txonly or flowgen");
			opt.mode = (enum fwd_mode)m;
			break;
		case OPT_BURST:
			rc = parse_uint(name, optarg, 1, FWD_MAX_BURST, &opt.burst);
			break;
		case OPT_RXQ:
			rc = parse_uint(name, optarg, 1, TARN_ETH_MAX_QUEUES, &opt.rxq);
			break;
		case OPT_TXQ:
			rc = parse_uint(name, optarg, 1, TARN_ETH_MAX_QUEUES, &opt.txq);
			break;
		case OPT_RXD:
			rc = parse_uint(name, optarg, 1, TARN_ETH_MAX_DESC, &opt.rxd);
			break;
		case OPT_TXD:
			rc = parse_uint(name, optarg, 1, TARN_ETH_MAX_DESC, &opt.txd);
			break;
		case OPT_MBUFS:
			rc = parse_uint(name, optarg, 1, TARN_MEMPOOL_MAX_OBJS, &opt.mbufs);
			break;
		case OPT_MBUF_CACHE:
			rc = parse_uint(name, optarg, 0, TARN_MEMPOOL_CACHE_MAX, &opt.mbuf_cache);
			break;
		case OPT_PKT_LEN:
			rc = parse_uint(name, optarg, TARN_ETHER_HDR_LEN,
			                TARN_MBUF_DEFAULT_DATAROOM, &opt.pkt_len);
			break;
		case OPT_STATS_PERIOD:
			rc = parse_seconds(name, optarg, &opt.stats_period);
			break;
		case OPT_DURATION:
			rc = parse_seconds(name, optarg, &opt.duration);
			break;
		case OPT_JSON:
			opt.json = 1;
			break;
		case OPT_TX_FIRST:
			opt.tx_first = 1;
			break;
		case 'i':
			opt.interactive = 1;
			break;
		case 'h':
			usage(stdout);
			return 1;
		case ':':
			fprintf(stderr, PROG ": option '%s' needs a value (see --help)\n",
			        argv[optind - 1]);
			return -1;
		default:
			fprintf(stderr, PROG ": unknown option '%s' (see --help)\n",
			        argv[optind - 1]);
			return -1;
		}
		if (rc < 0)
			return -1;
	}
	if (optind < argc) {
		fprintf(stderr, PROG ": unexpected argument '%s' (see --help)\n", argv[optind]);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Time, signals */

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The signal that asked to stop, 0 if none. The handler may run on any
 * thread: lock-free atomic stores are async-signal-safe and race-free. */
static int signal_seen;

static void on_signal(int sig)
{
	__atomic_store_n(&signal_seen, sig, __ATOMIC_RELAXED);
	__atomic_store_n(&fwd_stop_flag, 1, __ATOMIC_RELAXED);
}

static int got_signal(void)
{
	return __atomic_load_n(&signal_seen, __ATOMIC_RELAXED);
}

static void signals_install(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

/* ------------------------------------------------------------------------ */
/* Setup */

static uint16_t port_ids[TARN_MAX_ETHPORTS];
static unsigned nb_ports;
static uint32_t fwd_lcores[TARN_MAX_LCORES];
static unsigned nb_fwd_lcores;
static int main_forwards;
static unsigned pool_size;

static uint16_t peer_of(unsigned idx)
{
	unsigned p = idx ^ 1u;
	return port_ids[p < nb_ports ? p : idx];
}

/* The lcores that forward: the workers, or the main lcore alone. */
static void pick_fwd_lcores(void)
{
	uint32_t l;
	nb_fwd_lcores = 0;
	TARN_LCORE_FOREACH_WORKER(l)
	{
		fwd_lcores[nb_fwd_lcores++] = l;
	}
	main_forwards = nb_fwd_lcores == 0;
	if (main_forwards)
		fwd_lcores[nb_fwd_lcores++] = tarn_lcore_main();
}

static struct fwd_stream streams[FWD_MAX_STREAMS];
/* Guards fwd.mode and the stream table: /tarn/fwd/info reads them from the
 * telemetry thread while "set fwd" rebuilds them. */
static pthread_mutex_t fwd_lock = PTHREAD_MUTEX_INITIALIZER;
/* Forwarding is running (read by /tarn/fwd/info). */
static int fwd_running;

/* Streams of the mode, assigned round robin to the forwarding lcores and
 * sorted by lcore. 0 or -1 (error printed). */
static int streams_build(enum fwd_mode mode)
{
	const int forwarding = mode == FWD_IO || mode == FWD_MAC || mode == FWD_MACSWAP;
	unsigned nq;

	if (forwarding && opt.txq < opt.rxq) {
		fprintf(stderr,
		        PROG ": %s mode forwards RX queue i to TX queue i: --txq (%u) must be at "
		             "least --rxq (%u)\n",
		        fwd_mode_name(mode), opt.txq, opt.rxq);
		return -1;
	}
	if (mode == FWD_TXONLY || mode == FWD_FLOWGEN)
		nq = opt.rxq > opt.txq ? opt.rxq : opt.txq;
	else
		nq = opt.rxq;

	struct fwd_stream tmp[FWD_MAX_STREAMS];
	unsigned n = 0;
	for (unsigned pi = 0; pi < nb_ports; pi++) {
		for (unsigned q = 0; q < nq; q++) {
			struct fwd_stream *s = &tmp[n];
			memset(s, 0, sizeof(*s));
			s->rx_port = port_ids[pi];
			s->rx_queue = (uint16_t)q;
			s->do_rx = q < opt.rxq;
			if (forwarding) {
				s->tx_port = peer_of(pi);
				s->do_tx = 1;
			} else {
				s->tx_port = port_ids[pi];
				s->do_tx = mode != FWD_RXONLY && q < opt.txq;
			}
			s->tx_queue = (uint16_t)q;
			tarn_eth_macaddr_get(s->tx_port, &s->tx_src);
			/* Destination: the port cabled to the TX port (its pair). */
			unsigned txi = 0;
			while (txi < nb_ports && port_ids[txi] != s->tx_port)
				txi++;
			tarn_eth_macaddr_get(peer_of(txi), &s->tx_dst);
			s->lcore = fwd_lcores[n % nb_fwd_lcores];
			n++;
		}
	}
	/* Sort by lcore, keeping the order within an lcore. */
	pthread_mutex_lock(&fwd_lock);
	unsigned k = 0;
	for (unsigned li = 0; li < nb_fwd_lcores; li++)
		for (unsigned i = 0; i < n; i++)
			if (tmp[i].lcore == fwd_lcores[li])
				streams[k++] = tmp[i];
	fwd.mode = mode;
	fwd.streams = streams;
	fwd.nb_streams = n;
	pthread_mutex_unlock(&fwd_lock);
	return 0;
}

/*
 * --tx-first / "start tx_first": one burst of generated packets on every TX
 * queue of every port, addressed to the port's pair. Returns packets sent.
 */
static unsigned tx_first(void)
{
	struct tarn_mbuf *pkts[FWD_MAX_BURST];
	unsigned sent = 0;

	for (unsigned pi = 0; pi < nb_ports; pi++) {
		struct tarn_ether_addr src, dst;
		tarn_eth_macaddr_get(port_ids[pi], &src);
		tarn_eth_macaddr_get(peer_of(pi), &dst);
		for (unsigned q = 0; q < opt.txq; q++) {
			if (tarn_pktmbuf_alloc_bulk(fwd.pool, pkts, opt.burst) != 0)
				return sent;
			for (unsigned k = 0; k < opt.burst; k++)
				fwd_build_packet(pkts[k], opt.pkt_len, &src, &dst, k);
			const uint16_t nb =
			    tarn_eth_tx_burst(port_ids[pi], (uint16_t)q, pkts, (uint16_t)opt.burst);
			if (nb < opt.burst)
				tarn_pktmbuf_free_bulk(pkts + nb, opt.burst - nb);
			sent += nb;
		}
	}
	return sent;
}

/* What the pool may have to hold at once. */
static unsigned mbufs_needed(void)
{
	uint64_t n = (uint64_t)nb_ports * (opt.rxq * opt.rxd + opt.txq * opt.txd);
	n += (uint64_t)opt.mbuf_cache * tarn_lcore_count();
	n += (uint64_t)opt.burst * nb_ports * (opt.rxq > opt.txq ? opt.rxq : opt.txq);
	return n > TARN_MEMPOOL_MAX_OBJS ? TARN_MEMPOOL_MAX_OBJS : (unsigned)n;
}

static int ports_setup(void)
{
	for (unsigned i = 0; i < opt.nb_ports; i++) {
		int rc = tarn_eth_dev_create(opt.ports[i], &port_ids[i]);
		if (rc < 0) {
			fprintf(stderr, PROG ": --port '%s': %s (see the log line above)\n",
			        opt.ports[i], tarn_strerror(rc));
			return FWD_EXIT_USAGE;
		}
		nb_ports++;
	}
	for (unsigned i = 0; i < nb_ports; i++) {
		uint16_t p = port_ids[i];
		int rc = tarn_eth_dev_configure(p, (uint16_t)opt.rxq, (uint16_t)opt.txq, NULL);
		for (unsigned q = 0; rc == 0 && q < opt.txq; q++)
			rc = tarn_eth_tx_queue_setup(p, (uint16_t)q, opt.txd, TARN_SOCKET_ANY);
		for (unsigned q = 0; rc == 0 && q < opt.rxq; q++)
			rc = tarn_eth_rx_queue_setup(p, (uint16_t)q, opt.rxd, TARN_SOCKET_ANY,
			                             fwd.pool);
		if (rc == 0)
			rc = tarn_eth_promiscuous_enable(p);
		if (rc == 0)
			rc = tarn_eth_dev_start(p);
		if (rc < 0) {
			fprintf(stderr, PROG ": port %u (%s): setup failed: %s\n", (unsigned)p,
			        opt.ports[i], tarn_strerror(rc));
			return rc == -EINVAL ? FWD_EXIT_USAGE : FWD_EXIT_FAIL;
		}
	}
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Statistics */

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

struct port_snap {
	struct tarn_eth_stats st;
	double t;
};
static struct port_snap last[TARN_MAX_ETHPORTS];
static struct port_snap first[TARN_MAX_ETHPORTS];

static void snap_all(struct port_snap *s)
{
	double t = now_s();
	for (unsigned i = 0; i < nb_ports; i++) {
		tarn_eth_stats_get(port_ids[i], &s[i].st);
		s[i].t = t;
	}
}

static void print_period(double elapsed)
{
	struct port_snap cur[TARN_MAX_ETHPORTS];
	double total = 0;
	snap_all(cur);
	if (opt.json)
		printf("{\"event\":\"stats\",\"time_s\":%.3f,\"ports\":[", elapsed);
	else
		printf("%7.2f s ", elapsed);
	for (unsigned i = 0; i < nb_ports; i++) {
		double dt = cur[i].t - last[i].t;
		double rx = dt > 0 ? (double)(cur[i].st.ipackets - last[i].st.ipackets) / dt : 0;
		double tx = dt > 0 ? (double)(cur[i].st.opackets - last[i].st.opackets) / dt : 0;
		total += rx;
		if (opt.json)
			printf(
			    "%s{\"port\":%u,\"rx_pps\":%.0f,\"tx_pps\":%.0f,\"ipackets\":%" PRIu64
			    ",\"opackets\":%" PRIu64 ",\"oerrors\":%" PRIu64
			    ",\"rx_nombuf\":%" PRIu64 "}",
			    i ? "," : "", (unsigned)port_ids[i], rx, tx, cur[i].st.ipackets,
			    cur[i].st.opackets, cur[i].st.oerrors, cur[i].st.rx_nombuf);
		else
			printf(" | port %u: rx %8.3f Mpps tx %8.3f Mpps", (unsigned)port_ids[i],
			       rx / 1e6, tx / 1e6);
		last[i] = cur[i];
	}
	if (opt.json)
		printf("],\"rx_pps\":%.0f}\n", total);
	else
		printf(" | total rx %8.3f Mpps\n", total / 1e6);
	fflush(stdout);
}

static void show_port_stats(FILE *f)
{
	for (unsigned i = 0; i < nb_ports; i++) {
		struct tarn_eth_stats st;
		struct tarn_eth_dev_info info;
		if (tarn_eth_stats_get(port_ids[i], &st) < 0 ||
		    tarn_eth_dev_info_get(port_ids[i], &info) < 0)
			continue;
		fprintf(f,
		        "port %u (%s, %s)\n"
		        "  RX-packets: %-14" PRIu64 " RX-bytes: %-16" PRIu64
		        " RX-missed: %-10" PRIu64 " RX-errors: %-10" PRIu64 " RX-nombuf: %" PRIu64
		        "\n"
		        "  TX-packets: %-14" PRIu64 " TX-bytes: %-16" PRIu64 " TX-errors: %" PRIu64
		        "\n",
		        (unsigned)port_ids[i], info.name, info.spec, st.ipackets, st.ibytes,
		        st.imissed, st.ierrors, st.rx_nombuf, st.opackets, st.obytes, st.oerrors);
	}
}

static void show_fwd_stats(FILE *f)
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

static void show_pool_stats(FILE *f)
{
	struct tarn_mempool_stats st;
	if (tarn_mempool_stats(fwd.pool, &st) == 0)
		fprintf(f,
		        "pool %s: %u mbufs, %u available, %u in use; gets %" PRIu64
		        " (cache hits %" PRIu64 "), puts %" PRIu64 ", failed gets %" PRIu64 "\n",
		        tarn_mempool_name(fwd.pool), tarn_mempool_size(fwd.pool),
		        tarn_mempool_avail_count(fwd.pool), tarn_mempool_in_use_count(fwd.pool),
		        st.get_objs, st.hit_objs, st.put_objs, st.fails);
}

/* Totals of one run, kept for the summary. */
struct run_totals {
	double seconds;
	uint64_t rx, gen, tx, dropped, consumed;
};
static struct run_totals totals;

static void streams_total(struct run_totals *t)
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
/* Telemetry: /tarn/fwd/info; tarn's own commands (pools, ports, lcores with
 * the busy ratio fwd.c reports) come with tarn_init(). */

static int tel_fwd_info(const char *cmd, const char *params, struct tarn_telemetry_data *d)
{
	(void)cmd;
	(void)params;
	struct run_totals t = { 0 };
	pthread_mutex_lock(&fwd_lock);
	streams_total(&t);
	tarn_telemetry_start_dict(d);
	tarn_telemetry_dict_string(d, "mode", fwd_mode_name(fwd.mode));
	tarn_telemetry_dict_bool(d, "running", __atomic_load_n(&fwd_running, __ATOMIC_RELAXED));
	tarn_telemetry_dict_uint(d, "burst", fwd.burst);
	tarn_telemetry_dict_uint(d, "pkt_len", fwd.pkt_len);
	tarn_telemetry_dict_uint(d, "streams", fwd.nb_streams);
	tarn_telemetry_dict_string(d, "pool", POOL_NAME);
	tarn_telemetry_dict_bool(d, "main_forwards", main_forwards);
	tarn_telemetry_dict_open_array(d, "fwd_lcores");
	for (unsigned i = 0; i < nb_fwd_lcores; i++)
		tarn_telemetry_array_uint(d, fwd_lcores[i]);
	tarn_telemetry_close(d);
	tarn_telemetry_dict_uint(d, "rx", t.rx);
	tarn_telemetry_dict_uint(d, "gen", t.gen);
	tarn_telemetry_dict_uint(d, "tx", t.tx);
	tarn_telemetry_dict_uint(d, "dropped", t.dropped);
	tarn_telemetry_dict_uint(d, "consumed", t.consumed);
	pthread_mutex_unlock(&fwd_lock);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Running */

enum run_end { END_DURATION, END_SIGNAL, END_STOP, END_QUIT };

static int cmd_handle(char *line, int running, int *quit);

/*
 * One line from stdin if one is ready within `timeout_ms`; 1 if `buf` holds
 * one. End of input reads as "quit". Reads with read(2) into a buffer of its
 * own, so lines that arrive together are all seen (stdio would keep them
 * where poll(2) cannot see them).
 */
static int stdin_line(char *buf, size_t size, int timeout_ms)
{
	static char acc[1024];
	static size_t len;
	static int eof;

	for (;;) {
		char *nl = memchr(acc, '\n', len);
		if (nl != NULL || len == sizeof(acc) || (eof && len > 0)) {
			size_t n = nl != NULL ? (size_t)(nl - acc) + 1 : len;
			size_t c = n < size ? n : size - 1;
			memcpy(buf, acc, c);
			buf[c] = '\0';
			memmove(acc, acc + n, len - n);
			len -= n;
			return 1;
		}
		if (eof) {
			snprintf(buf, size, "quit");
			return 1;
		}
		struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
		if (poll(&pfd, 1, timeout_ms) <= 0)
			return 0;
		ssize_t r = read(STDIN_FILENO, acc + len, sizeof(acc) - len);
		if (r <= 0) {
			if (r < 0 && errno == EINTR)
				return 0;
			eof = 1;
		} else {
			len += (size_t)r;
		}
		timeout_ms = 0;
	}
}

static void sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* Forward until the duration ends, a signal comes, or (-i) stop/quit. */
static enum run_end run_forwarding(void)
{
	enum run_end end = END_DURATION;
	double t0, next_stats, duration = opt.interactive ? 0 : opt.duration;
	char line[256];

	__atomic_store_n(&fwd_stop_flag, 0, __ATOMIC_RELAXED);
	if (got_signal())
		return END_SIGNAL;
	snap_all(first);
	memcpy(last, first, sizeof(last));
	__atomic_store_n(&fwd_running, 1, __ATOMIC_RELAXED);
	t0 = now_s();
	next_stats = t0 + opt.stats_period;
	if (!main_forwards)
		for (unsigned i = 0; i < nb_fwd_lcores; i++)
			tarn_lcore_launch(fwd_lcores[i], fwd_lcore_main,
			                  (void *)(uintptr_t)fwd_lcores[i]);

	for (;;) {
		if (main_forwards)
			fwd_lcore_run(fwd_lcores[0], MAIN_ROUNDS);
		else if (!opt.interactive)
			sleep_ms(20);
		double t = now_s();
		if (got_signal()) {
			end = END_SIGNAL;
			break;
		}
		if (duration > 0 && t - t0 >= duration)
			break;
		if (opt.stats_period > 0 && t >= next_stats) {
			print_period(t - t0);
			next_stats += opt.stats_period;
			if (next_stats < t)
				next_stats = t + opt.stats_period;
		}
		if (opt.interactive && stdin_line(line, sizeof(line), main_forwards ? 0 : 20)) {
			int quit = 0;
			if (cmd_handle(line, 1, &quit) == 1) {
				end = quit ? END_QUIT : END_STOP;
				break;
			}
		}
	}
	__atomic_store_n(&fwd_stop_flag, 1, __ATOMIC_RELAXED);
	if (!main_forwards)
		tarn_lcore_wait_all();
	__atomic_store_n(&fwd_running, 0, __ATOMIC_RELAXED);
	totals.seconds += now_s() - t0;
	return end;
}

/* ------------------------------------------------------------------------ */
/* Interactive commands */

static int forwarding_stopped_summary(void);

static void cmd_help(void)
{
	printf("commands:\n"
	       "  start [tx_first]        start forwarding\n"
	       "  stop                    stop forwarding, print its statistics\n"
	       "  show port stats all     port counters\n"
	       "  show port info all      port configuration\n"
	       "  show pool stats         mbuf pool\n"
	       "  show fwd stats          stream counters\n"
	       "  clear port stats all    reset port counters\n"
	       "  set fwd MODE            io, mac, macswap, rxonly, txonly, flowgen\n"
	       "  quit                    stop and exit\n");
}

/*
 * Handle one command. Returns 1 when forwarding must stop (`*quit` set for
 * quit), 0 otherwise. `running`: forwarding is running.
 */
static int cmd_handle(char *line, int running, int *quit)
{
	char *w[6] = { 0 };
	int n = 0;
	for (char *tok = strtok(line, " \t\r\n"); tok != NULL && n < 6;
	     tok = strtok(NULL, " \t\r\n"))
		w[n++] = tok;
	if (n == 0)
		goto prompt;
#define IS(i, s) (n > (i) && strcmp(w[i], s) == 0)
	if (IS(0, "quit") || IS(0, "exit")) {
		*quit = 1;
		return 1;
	} else if (IS(0, "help")) {
		cmd_help();
	} else if (IS(0, "stop")) {
		if (running)
			return 1;
		printf("forwarding is not running\n");
	} else if (IS(0, "start")) {
		if (running)
			printf("forwarding is already running\n");
		else
			return 2 + IS(1, "tx_first");
	} else if (IS(0, "show") && IS(1, "port") && IS(2, "stats")) {
		show_port_stats(stdout);
	} else if (IS(0, "show") && IS(1, "port") && IS(2, "info")) {
		tarn_eth_dev_dump(stdout);
	} else if (IS(0, "show") && IS(1, "pool")) {
		show_pool_stats(stdout);
	} else if (IS(0, "show") && IS(1, "fwd")) {
		show_fwd_stats(stdout);
	} else if (IS(0, "clear") && IS(1, "port") && IS(2, "stats")) {
		for (unsigned i = 0; i < nb_ports; i++)
			tarn_eth_stats_reset(port_ids[i]);
		printf("port statistics cleared\n");
	} else if (IS(0, "set") && IS(1, "fwd") && n == 3) {
		int m = fwd_mode_parse(w[2]);
		if (running)
			printf("stop forwarding first\n");
		else if (m < 0)
			printf("unknown mode '%s' (io, mac, macswap, rxonly, txonly, flowgen)\n",
			       w[2]);
		else if (streams_build((enum fwd_mode)m) == 0)
			printf("forwarding mode: %s\n", w[2]);
	} else {
		printf("unknown command '%s' (type 'help')\n", w[0]);
	}
#undef IS
prompt:
	printf("tarn-fwd> ");
	fflush(stdout);
	return 0;
}

static int interactive_loop(void)
{
	char line[256];
	printf("tarn-fwd interactive, %s mode; type 'help'\ntarn-fwd> ", fwd_mode_name(fwd.mode));
	fflush(stdout);
	while (!got_signal()) {
		if (!stdin_line(line, sizeof(line), 100))
			continue;
		int quit = 0;
		int r = cmd_handle(line, 0, &quit);
		if (quit)
			break;
		if (r >= 2) {
			if (r == 3)
				printf("sent %u packets first\n", tx_first());
			printf("forwarding started (%s mode), 'stop' to stop\ntarn-fwd> ",
			       fwd_mode_name(fwd.mode));
			fflush(stdout);
			enum run_end e = run_forwarding();
			forwarding_stopped_summary();
			if (e == END_QUIT || e == END_SIGNAL)
				break;
			printf("tarn-fwd> ");
			fflush(stdout);
		}
	}
	return 0;
}

static int forwarding_stopped_summary(void)
{
	if (opt.json)
		return 0;
	printf("forwarding stopped\n");
	show_fwd_stats(stdout);
	fflush(stdout);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Summary and teardown */

static void print_summary(const struct tarn_eth_stats *st, unsigned in_use, int leak_checked)
{
	struct run_totals t = totals;
	streams_total(&t);
	const double secs = t.seconds > 0 ? t.seconds : 1e-9;

	if (opt.json) {
		printf("{\"event\":\"summary\",\"mode\":\"%s\",\"duration_s\":%.3f,\"burst\":%u,"
		       "\"pkt_len\":%u,\"fwd_lcores\":%u,\"main_forwards\":%s,\"ports\":[",
		       fwd_mode_name(fwd.mode), t.seconds, opt.burst, opt.pkt_len, nb_fwd_lcores,
		       main_forwards ? "true" : "false");
		for (unsigned i = 0; i < nb_ports; i++) {
			struct tarn_eth_stats d = st[i];
			printf("%s{\"port\":%u,\"spec\":", i ? "," : "", (unsigned)port_ids[i]);
			json_str(stdout, opt.ports[i]);
			printf(",\"ipackets\":%" PRIu64 ",\"opackets\":%" PRIu64
			       ",\"ibytes\":%" PRIu64 ",\"obytes\":%" PRIu64 ",\"imissed\":%" PRIu64
			       ",\"ierrors\":%" PRIu64 ",\"oerrors\":%" PRIu64
			       ",\"rx_nombuf\":%" PRIu64 ",\"rx_mpps\":%.3f,\"tx_mpps\":%.3f}",
			       d.ipackets, d.opackets, d.ibytes, d.obytes, d.imissed, d.ierrors,
			       d.oerrors, d.rx_nombuf, (double)d.ipackets / secs / 1e6,
			       (double)d.opackets / secs / 1e6);
		}
		printf("],\"streams\":[");
		for (unsigned i = 0; i < fwd.nb_streams; i++) {
			const struct fwd_stream *s = &fwd.streams[i];
			printf("%s{\"lcore\":%u,\"rx_port\":%u,\"rx_queue\":%u,\"tx_port\":%u,"
			       "\"tx_queue\":%u,\"rx\":%" PRIu64 ",\"gen\":%" PRIu64
			       ",\"tx\":%" PRIu64 ",\"dropped\":%" PRIu64 ",\"consumed\":%" PRIu64
			       ",\"nombuf\":%" PRIu64 "}",
			       i ? "," : "", s->lcore, (unsigned)s->rx_port, (unsigned)s->rx_queue,
			       (unsigned)s->tx_port, (unsigned)s->tx_queue, fwd_read(&s->rx),
			       fwd_read(&s->gen), fwd_read(&s->tx), fwd_read(&s->dropped),
			       fwd_read(&s->consumed), fwd_read(&s->nombuf));
		}
		printf("],\"totals\":{\"rx\":%" PRIu64 ",\"gen\":%" PRIu64 ",\"tx\":%" PRIu64
		       ",\"dropped\":%" PRIu64 ",\"consumed\":%" PRIu64
		       ",\"tx_mpps\":%.3f,\"rx_mpps\":%.3f},",
		       t.rx, t.gen, t.tx, t.dropped, t.consumed, (double)t.tx / secs / 1e6,
		       (double)t.rx / secs / 1e6);
		printf(
		    "\"mbufs\":{\"pool\":%u,\"in_use_at_exit\":%u,\"checked\":%s,\"leaked\":%u}}\n",
		    pool_size, in_use, leak_checked ? "true" : "false", in_use);
		fflush(stdout);
		return;
	}
	printf("\n---- %s forwarding, %.2f s, %u forwarding lcore(s)%s, burst %u ----\n",
	       fwd_mode_name(fwd.mode), t.seconds, nb_fwd_lcores,
	       main_forwards ? " (the main lcore)" : "", opt.burst);
	for (unsigned i = 0; i < nb_ports; i++)
		printf("port %u (%s): rx %" PRIu64 " pkts %.3f Mpps, tx %" PRIu64
		       " pkts %.3f Mpps, imissed %" PRIu64 " ierrors %" PRIu64 " oerrors %" PRIu64
		       " rx_nombuf %" PRIu64 "\n",
		       (unsigned)port_ids[i], opt.ports[i], st[i].ipackets,
		       (double)st[i].ipackets / secs / 1e6, st[i].opackets,
		       (double)st[i].opackets / secs / 1e6, st[i].imissed, st[i].ierrors,
		       st[i].oerrors, st[i].rx_nombuf);
	show_fwd_stats(stdout);
	printf("total: rx %" PRIu64 " gen %" PRIu64 " tx %" PRIu64 " (%.3f Mpps) dropped %" PRIu64
	       " consumed %" PRIu64 "\n",
	       t.rx, t.gen, t.tx, (double)t.tx / secs / 1e6, t.dropped, t.consumed);
	if (in_use == 0)
		printf("mbufs: all %u returned to pool '%s'\n", pool_size, POOL_NAME);
	else
		printf("mbufs: LEAK: %u of %u not returned to pool '%s'\n", in_use, pool_size,
		       POOL_NAME);
	fflush(stdout);
}

static void ports_close(void)
{
	for (unsigned i = 0; i < nb_ports; i++)
		tarn_eth_dev_stop(port_ids[i]);
	for (unsigned i = 0; i < nb_ports; i++)
		tarn_eth_dev_close(port_ids[i]);
	nb_ports = 0;
}

/* ------------------------------------------------------------------------ */

/* Default --lcores: the first two CPUs the process may run on. */
static void default_lcores(struct tarn_config *cfg)
{
	cpu_set_t set;
	int cpus[2], n = 0;
	if (cfg->lcores[0] != '\0' || sched_getaffinity(0, sizeof(set), &set) != 0)
		return;
	for (int c = 0; c < CPU_SETSIZE && n < 2; c++)
		if (CPU_ISSET(c, &set))
			cpus[n++] = c;
	if (n == 2)
		snprintf(cfg->lcores, sizeof(cfg->lcores), "%d,%d", cpus[0], cpus[1]);
}

int main(int argc, char **argv)
{
	struct tarn_config cfg;
	int rc;

	tarn_config_init(&cfg);
	rc = tarn_config_parse_args(&cfg, &argc, argv);
	if (rc < 0) {
		fprintf(stderr, PROG ": bad tarn option (see the log line above and --help)\n");
		return FWD_EXIT_USAGE;
	}
	rc = parse_app_args(argc, argv);
	if (rc != 0)
		return rc > 0 ? FWD_EXIT_OK : FWD_EXIT_USAGE;

	int embedded = opt.nb_ports == 0;
	if (embedded) {
		opt.ports[0] = "ring:name=p0";
		opt.ports[1] = "ring:name=p1,peer=p0";
		opt.nb_ports = 2;
		opt.tx_first = 1;
	}
	if (opt.duration < 0)
		opt.duration = embedded ? DEFAULT_DURATION : 0;
	if (opt.mbufs != 0 && opt.mbuf_cache > opt.mbufs) {
		fprintf(stderr, PROG ": --mbuf-cache %u is larger than --mbufs %u\n",
		        opt.mbuf_cache, opt.mbufs);
		return FWD_EXIT_USAGE;
	}
	default_lcores(&cfg);

	rc = tarn_init(&cfg);
	if (rc < 0) {
		fprintf(stderr, PROG ": tarn_init: %s\n", tarn_strerror(rc));
		return rc == -EINVAL ? FWD_EXIT_USAGE : FWD_EXIT_FAIL;
	}
	signals_install();
	pick_fwd_lcores();

	/* The pool: sized by the streams before the ports exist, so count the
	 * ports from the options. */
	nb_ports = opt.nb_ports;
	unsigned needed = mbufs_needed();
	nb_ports = 0;
	pool_size = opt.mbufs ? opt.mbufs : needed;
	if (opt.mbufs != 0 && opt.mbufs < needed)
		fprintf(stderr,
		        PROG ": warning: --mbufs %u is below the %u mbufs this configuration can "
		             "hold at once (ports x queues x descriptors + cache x lcores + bursts "
		             "in flight): expect rx_nombuf and drops\n",
		        opt.mbufs, needed);
	unsigned cache = opt.mbuf_cache < pool_size ? opt.mbuf_cache : pool_size;
	fwd.pool = tarn_pktmbuf_pool_create(POOL_NAME, pool_size, cache, 0,
	                                    TARN_MBUF_DEFAULT_BUF_SIZE, TARN_SOCKET_ANY);
	if (fwd.pool == NULL) {
		fprintf(stderr, PROG ": cannot create a pool of %u mbufs: %s\n", pool_size,
		        tarn_strerror(tarn_errno));
		tarn_cleanup();
		return FWD_EXIT_FAIL;
	}
	fwd.burst = opt.burst;
	fwd.pkt_len = opt.pkt_len;
	fwd.nb_flows = 1024;

	int exit_code = FWD_EXIT_OK;
	rc = ports_setup();
	if (rc == 0 && streams_build(opt.mode) < 0)
		rc = FWD_EXIT_USAGE;
	if (rc != 0) {
		exit_code = rc;
		ports_close();
		tarn_mempool_free(fwd.pool, TARN_MEMPOOL_FREE_FORCE);
		tarn_cleanup();
		return exit_code;
	}

	/* Telemetry is on unless --no-telemetry: say where. */
	tarn_telemetry_register_cmd("/tarn/fwd/info", tel_fwd_info,
	                            "Returns tarn-fwd's mode, lcores and packet totals. No "
	                            "parameters");
	char tel_path[128] = "";
	tarn_telemetry_path(tel_path, sizeof(tel_path));
	if (!opt.json) {
		printf(PROG ": %s forwarding on %u port(s), %u stream(s), %u forwarding lcore(s), "
		            "pool of %u mbufs\n",
		       fwd_mode_name(fwd.mode), nb_ports, fwd.nb_streams, nb_fwd_lcores, pool_size);
		if (tel_path[0] != '\0')
			printf(PROG ": telemetry at %s (tarn-top --file-prefix %s, "
			            "dpdk-telemetry.py -f %s)\n",
			       tel_path, cfg.file_prefix, cfg.file_prefix);
		fflush(stdout);
	} else {
		printf("{\"event\":\"start\",\"mode\":\"%s\",\"ports\":%u,\"streams\":%u,"
		       "\"fwd_lcores\":%u,\"mbufs\":%u,\"mbufs_needed\":%u,\"duration_s\":%.3f,"
		       "\"telemetry\":",
		       fwd_mode_name(fwd.mode), nb_ports, fwd.nb_streams, nb_fwd_lcores, pool_size,
		       needed, opt.duration);
		if (tel_path[0] != '\0')
			json_str(stdout, tel_path);
		else
			printf("null");
		printf("}\n");
		fflush(stdout);
	}

	if (opt.interactive) {
		interactive_loop();
	} else {
		if (opt.tx_first)
			tx_first();
		enum run_end e = run_forwarding();
		if (e == END_SIGNAL && !opt.json)
			printf("\nsignal %d: stopping\n", got_signal());
	}

	/* Final counters, then give every mbuf back and check that all came. */
	struct tarn_eth_stats st[TARN_MAX_ETHPORTS];
	for (unsigned i = 0; i < nb_ports; i++)
		tarn_eth_stats_get(port_ids[i], &st[i]);
	unsigned saved_ports = nb_ports;
	ports_close();
	nb_ports = saved_ports; /* for the summary's port list */
	unsigned in_use = tarn_mempool_in_use_count(fwd.pool);
	print_summary(st, in_use, 1);
	nb_ports = 0;
	if (in_use != 0) {
		fprintf(stderr, PROG ": %u mbufs leaked\n", in_use);
		exit_code = FWD_EXIT_FAIL;
		tarn_mempool_free(fwd.pool, TARN_MEMPOOL_FREE_FORCE);
	} else {
		tarn_mempool_free(fwd.pool, 0);
	}
	tarn_cleanup();
	return exit_code;
}
