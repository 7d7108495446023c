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
	int pool_socket; /* --pool-socket: a socket, or POOL_SOCKET_AUTO/_LCORE/_PORT */

	int soak;          /* --soak */
	int seed_given;    /* --seed */
	uint64_t seed;     /* --seed */
	double soak_cycle; /* --soak-cycle */
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
	.pool_socket = -1, /* POOL_SOCKET_AUTO */
	.soak_cycle = 0.5,
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
	        "  --mbufs N           mbufs in each pool (default: computed from the above)\n"
	        "  --mbuf-cache N      per-lcore mbuf cache, 0-%d (default 256)\n"
	        "  --pool-socket WHERE socket of each RX queue's mbuf pool: auto (default: the\n"
	        "                      port's socket when known, else that of the lcore that\n"
	        "                      polls the queue), lcore, port, or a socket number\n"
	        "  --pkt-len N         length of generated packets, 14-%d (default 64)\n"
	        "  --tx-first          send one burst on every port before forwarding\n"
	        "  --stats-period S    print statistics every S seconds, 0: never (default 1)\n"
	        "  --duration S        stop after S seconds, 0: at SIGINT/SIGTERM (default 5\n"
	        "                      without --port, else 0)\n"
	        "  --json              print statistics as JSON lines on stdout\n"
	        "  --soak              soak test (ring ports): random bursts, generated and freed\n"
	        "                      packets, pauses that check the counters and the pool; exit\n"
	        "                      1 on any loss (without --port: four cabled ring ports)\n"
	        "  --seed N            random seed of --soak (default: from the clock, printed)\n"
	        "  --soak-cycle S      --soak pauses at most S s apart, 0: none (default 0.5)\n"
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
	OPT_POOL_SOCKET,
	OPT_SOAK,
	OPT_SEED,
	OPT_SOAK_CYCLE,
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
	{ "pool-socket", required_argument, NULL, OPT_POOL_SOCKET },
	{ "soak", no_argument, NULL, OPT_SOAK },
	{ "seed", required_argument, NULL, OPT_SEED },
	{ "soak-cycle", required_argument, NULL, OPT_SOAK_CYCLE },
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

/* --pool-socket's words (a number is a socket). */
#define POOL_SOCKET_AUTO  (-1)
#define POOL_SOCKET_LCORE (-2)
#define POOL_SOCKET_PORT  (-3)

static int parse_pool_socket(const char *name, const char *val)
{
	unsigned s;
	if (strcmp(val, "auto") == 0)
		opt.pool_socket = POOL_SOCKET_AUTO;
	else if (strcmp(val, "lcore") == 0)
		opt.pool_socket = POOL_SOCKET_LCORE;
	else if (strcmp(val, "port") == 0)
		opt.pool_socket = POOL_SOCKET_PORT;
	else if (val[0] >= '0' && val[0] <= '9' &&
	         parse_uint(name, val, 0, TARN_MAX_SOCKETS - 1, &s) == 0)
		opt.pool_socket = (int)s;
	else
		return bad_value(name, val, "auto, lcore, port or a socket number");
	return 0;
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
		case OPT_POOL_SOCKET:
			rc = parse_pool_socket(name, optarg);
			break;
		case OPT_SOAK:
			opt.soak = 1;
			break;
		case OPT_SEED: {
			char *end;
			errno = 0;
			opt.seed = strtoull(optarg, &end, 10);
			if (optarg[0] < '0' || optarg[0] > '9' || errno != 0 || *end != '\0')
				return bad_value(name, optarg, "a whole number from 0 to 2^64-1");
			opt.seed_given = 1;
			break;
		}
		case OPT_SOAK_CYCLE:
			rc = parse_seconds(name, optarg, &opt.soak_cycle);
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

/* ------------------------------------------------------------------------ */
/* NUMA placement: one mbuf pool per socket in use; each RX queue (its memory
 * and its pool) on the socket of the port when known, else on that of the
 * lcore that polls it (--pool-socket overrides). docs/tarn-fwd.md. */

static struct tarn_mempool *pools[TARN_MAX_SOCKETS];
static unsigned nb_pools;
/* More than one pool planned: names carry the socket (fwd_mbufs_s1). */
static int pools_multi;

struct rxq_place {
	uint32_t lcore;   /* the lcore that polls the queue */
	int lcore_socket; /* its socket */
	int port_socket;  /* the port's socket when known, else -1 */
	int socket;       /* where the queue and its pool are */
	const char *why;  /* "lcore", "port" or "option" */
};
static struct rxq_place rxq_place[TARN_MAX_ETHPORTS][TARN_ETH_MAX_QUEUES];

/* The value of `key` in port spec `spec` (DRIVER:K=V,...) into `buf`; 0 or -1. */
static int spec_value(const char *spec, const char *key, char *buf, size_t size)
{
	const size_t klen = strlen(key);
	for (const char *p = strchr(spec, ':'); p != NULL; p = strchr(p, ',')) {
		p++;
		const char *end = strchr(p, ',');
		size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
		if (len > klen && strncmp(p, key, klen) == 0 && p[klen] == '=') {
			if (len - klen - 1 >= size)
				return -1;
			memcpy(buf, p + klen + 1, len - klen - 1);
			buf[len - klen - 1] = '\0';
			return 0;
		}
	}
	return -1;
}

/*
 * The socket of port `pi` when it is known: the spec's socket=N, or the NUMA
 * node of the device under a kernel interface (iface=IF:
 * /sys/class/net/IF/device/numa_node, as testpmd takes the device's node).
 * -1 when unknown (a virtual port: its structures are merely where it was
 * created).
 */
static int port_known_socket(unsigned pi)
{
	char v[TARN_ETH_VALUE_MAX];
	if (spec_value(opt.ports[pi], "socket", v, sizeof(v)) == 0)
		return tarn_eth_dev_socket_id(port_ids[pi]);
	if (spec_value(opt.ports[pi], "iface", v, sizeof(v)) == 0 && strchr(v, '/') == NULL &&
	    v[0] != '.') {
		char path[TARN_ETH_VALUE_MAX + 48];
		int node = -1;
		snprintf(path, sizeof(path), "/sys/class/net/%s/device/numa_node", v);
		FILE *f = fopen(path, "r");
		if (f != NULL) {
			if (fscanf(f, "%d", &node) != 1)
				node = -1;
			fclose(f);
		}
		if (node >= 0 && (unsigned)node < tarn_socket_count())
			return node;
	}
	return -1;
}

/* Streams per port in `mode`: stream n = port index x this + queue. */
static unsigned streams_per_port(enum fwd_mode mode)
{
	if (mode == FWD_TXONLY || mode == FWD_FLOWGEN)
		return opt.rxq > opt.txq ? opt.rxq : opt.txq;
	return opt.rxq;
}

/* Where the queues of port `pi` that `lcore` polls go (see above). */
static int place_socket(unsigned pi, uint32_t lcore, const char **why)
{
	if (opt.pool_socket >= 0) {
		*why = "option";
		return opt.pool_socket;
	}
	if (opt.pool_socket == POOL_SOCKET_PORT) {
		*why = "port";
		return tarn_eth_dev_socket_id(port_ids[pi]);
	}
	if (opt.pool_socket == POOL_SOCKET_AUTO) {
		int ps = port_known_socket(pi);
		if (ps >= 0) {
			*why = "port";
			return ps;
		}
	}
	*why = "lcore";
	return tarn_socket_resolve(tarn_lcore_socket(lcore));
}

/* The pool on `socket`, created on first use; NULL (message printed). */
static struct tarn_mempool *pool_on(int socket)
{
	if (socket < 0 || socket >= TARN_MAX_SOCKETS)
		return NULL;
	if (pools[socket] != NULL)
		return pools[socket];
	char name[TARN_NAME_SIZE];
	if (pools_multi || nb_pools > 0)
		snprintf(name, sizeof(name), POOL_NAME "_s%d", socket);
	else
		snprintf(name, sizeof(name), POOL_NAME);
	unsigned cache = opt.mbuf_cache < pool_size ? opt.mbuf_cache : pool_size;
	struct tarn_mempool *mp =
	    tarn_pktmbuf_pool_create(name, pool_size, cache, 0, TARN_MBUF_DEFAULT_BUF_SIZE, socket);
	if (mp == NULL) {
		fprintf(stderr, PROG ": cannot create a pool of %u mbufs on socket %d: %s\n",
		        pool_size, socket, tarn_strerror(tarn_errno));
		return NULL;
	}
	pools[socket] = mp;
	nb_pools++;
	return mp;
}

/* Where the objects of `mp` lie: the node of the first one, and how many of
 * a sample (up to ~1024, spread over the pool) lie off the pool's socket. */
struct node_check {
	int socket, first;
	unsigned step, off;
};

static void node_check_cb(struct tarn_mempool *mp, void *arg, void *obj, unsigned idx)
{
	(void)mp;
	struct node_check *c = arg;
	if (idx % c->step != 0)
		return;
	int n = tarn_mem_node_of(obj);
	if (idx == 0)
		c->first = n;
	if (n >= 0 && n != c->socket)
		c->off++;
}

static struct node_check pool_nodes(struct tarn_mempool *mp)
{
	struct node_check c = { tarn_mempool_socket(mp), -1, tarn_mempool_size(mp) / 1024 + 1, 0 };
	tarn_mempool_obj_iter(mp, node_check_cb, &c);
	return c;
}

/* Guards fwd.mode, fwd.pool and the stream table: /tarn/fwd/info reads
 * them from the telemetry thread while "set fwd" rebuilds them and while
 * the pools are made and freed. */
static pthread_mutex_t fwd_lock = PTHREAD_MUTEX_INITIALIZER;

/*
 * Plan the placement of every RX queue (and of the generators of the start-up
 * mode), create the pools, set fwd.pool (tx_first and --soak: the pool on the
 * main lcore's socket, else the first), and warn, as testpmd does, when a
 * port and an lcore that polls it are on different sockets. After the ports
 * are created. 0, FWD_EXIT_USAGE or FWD_EXIT_FAIL (message printed).
 */
static int pools_create(void)
{
	if (opt.pool_socket >= 0 && (unsigned)opt.pool_socket >= tarn_socket_count()) {
		fprintf(stderr, PROG ": --pool-socket %d: this machine has %u socket(s)\n",
		        opt.pool_socket, tarn_socket_count());
		return FWD_EXIT_USAGE;
	}
	int want[TARN_MAX_SOCKETS] = { 0 };
	const unsigned nq = streams_per_port(opt.mode);
	unsigned n = 0;
	for (unsigned pi = 0; pi < nb_ports; pi++) {
		for (unsigned q = 0; q < nq; q++) {
			/* streams_build() gives stream n to lcore n % nb_fwd_lcores */
			const uint32_t lcore = fwd_lcores[(pi * nq + q) % nb_fwd_lcores];
			const char *why;
			int s = place_socket(pi, lcore, &why);
			if (s < 0 || s >= TARN_MAX_SOCKETS)
				s = 0;
			want[s] = 1;
			if (q < opt.rxq)
				rxq_place[pi][q] = (struct rxq_place){
					.lcore = lcore,
					.lcore_socket = tarn_lcore_socket(lcore),
					.port_socket = port_known_socket(pi),
					.socket = s,
					.why = why,
				};
		}
	}
	for (int s = 0; s < TARN_MAX_SOCKETS; s++)
		n += (unsigned)want[s];
	pools_multi = n > 1;
	for (int s = 0; s < TARN_MAX_SOCKETS; s++)
		if (want[s] && pool_on(s) == NULL)
			return FWD_EXIT_FAIL;
	const int ms = tarn_socket_resolve(tarn_lcore_socket(tarn_lcore_main()));
	struct tarn_mempool *main_pool = ms >= 0 && ms < TARN_MAX_SOCKETS ? pools[ms] : NULL;
	for (int s = 0; main_pool == NULL && s < TARN_MAX_SOCKETS; s++)
		main_pool = pools[s];
	pthread_mutex_lock(&fwd_lock); /* /tarn/fwd/info reads it */
	fwd.pool = main_pool;
	pthread_mutex_unlock(&fwd_lock);

	const int show =
	    !opt.json && (tarn_socket_count() > 1 || opt.pool_socket != POOL_SOCKET_AUTO);
	for (unsigned pi = 0; pi < nb_ports; pi++) {
		for (unsigned q = 0; q < opt.rxq; q++) {
			const struct rxq_place *r = &rxq_place[pi][q];
			if (show)
				printf(PROG
				       ": port %u rxq %u: lcore %u (socket %d), pool %s on socket "
				       "%d (%s)\n",
				       (unsigned)port_ids[pi], q, r->lcore, r->lcore_socket,
				       tarn_mempool_name(pools[r->socket]), r->socket,
				       strcmp(r->why, "option") == 0 ? "--pool-socket"
				       : strcmp(r->why, "port") == 0
				           ? "the port's socket"
				           : "the polling lcore's socket");
			/* Warn once per (port, lcore). */
			int seen = 0;
			for (unsigned k = 0; k < q; k++)
				seen |= rxq_place[pi][k].lcore == r->lcore;
			if (seen || r->port_socket < 0 || r->port_socket == r->lcore_socket)
				continue;
			fprintf(stderr,
			        PROG ": warning: port %u (%s) is on socket %d but lcore %u, which "
			             "polls it, is on socket %d: its packets cross sockets (give "
			             "--lcores on socket %d for best performance)\n",
			        (unsigned)port_ids[pi], opt.ports[pi], r->port_socket, r->lcore,
			        r->lcore_socket, r->port_socket);
		}
	}
	fflush(stdout);
	return 0;
}

/* In-use mbufs over every pool. */
static unsigned pools_in_use(void)
{
	unsigned n = 0;
	for (int s = 0; s < TARN_MAX_SOCKETS; s++)
		if (pools[s] != NULL)
			n += tarn_mempool_in_use_count(pools[s]);
	return n;
}

static void pools_free(unsigned flags)
{
	/* /tarn/fwd/info reads fwd.pool's name under fwd_lock, and the
	 * telemetry thread runs until tarn_cleanup(): unhook it first */
	pthread_mutex_lock(&fwd_lock);
	fwd.pool = NULL;
	pthread_mutex_unlock(&fwd_lock);
	for (int s = 0; s < TARN_MAX_SOCKETS; s++) {
		if (pools[s] != NULL)
			tarn_mempool_free(pools[s], flags);
		pools[s] = NULL;
	}
	nb_pools = 0;
}

/* "pool 'fwd_mbufs'" or "pools 'fwd_mbufs_s0', 'fwd_mbufs_s1'". */
static const char *pools_label(char *buf, size_t size)
{
	size_t len = (size_t)snprintf(buf, size, "pool%s", nb_pools > 1 ? "s" : "");
	const char *sep = " ";
	for (int s = 0; s < TARN_MAX_SOCKETS && len < size; s++) {
		if (pools[s] == NULL)
			continue;
		len += (size_t)snprintf(buf + len, size - len, "%s'%s'", sep,
		                        tarn_mempool_name(pools[s]));
		sep = ", ";
	}
	return buf;
}

static struct fwd_stream streams[FWD_MAX_STREAMS];
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
			/* Generated packets come from the pool placed for (port, lcore). */
			const char *why;
			s->pool = pool_on(place_socket(pi, s->lcore, &why));
			if (s->pool == NULL)
				return -1;
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
			struct tarn_mempool *mp = pools[rxq_place[pi][q < opt.rxq ? q : 0].socket];
			if (tarn_pktmbuf_alloc_bulk(mp != NULL ? mp : fwd.pool, pkts, opt.burst) !=
			    0)
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
	int prc = pools_create();
	if (prc != 0)
		return prc;
	for (unsigned i = 0; i < nb_ports; i++) {
		uint16_t p = port_ids[i];
		int rc = tarn_eth_dev_configure(p, (uint16_t)opt.rxq, (uint16_t)opt.txq, NULL);
		for (unsigned q = 0; rc == 0 && q < opt.txq; q++)
			rc = tarn_eth_tx_queue_setup(p, (uint16_t)q, opt.txd, TARN_SOCKET_ANY);
		for (unsigned q = 0; rc == 0 && q < opt.rxq; q++)
			rc =
			    tarn_eth_rx_queue_setup(p, (uint16_t)q, opt.rxd, rxq_place[i][q].socket,
			                            pools[rxq_place[i][q].socket]);
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
	for (int s = 0; s < TARN_MAX_SOCKETS; s++) {
		struct tarn_mempool *mp = pools[s];
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
	tarn_telemetry_dict_string(d, "pool", fwd.pool != NULL ? tarn_mempool_name(fwd.pool) : "");
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
/* --soak (soak.c): what it needs, kept until soak_report() */

static struct soak_ctx soak_ctx;

static int soak_prepare(void)
{
	soak_ctx = (struct soak_ctx){
		.ports = port_ids,
		.nb_ports = nb_ports,
		.lcores = fwd_lcores,
		.nb_lcores = nb_fwd_lcores,
		.main_forwards = main_forwards,
		.lock = &fwd_lock,
		.running = &fwd_running,
		.duration = opt.duration,
		.cycle = opt.soak_cycle,
		.stats_period = opt.stats_period,
		.seed = opt.seed_given ? opt.seed : soak_default_seed(),
		.json = opt.json,
		.got_signal = got_signal,
		.print_period = print_period,
	};
	return soak_setup(&soak_ctx);
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
		printf("\"mbufs\":{\"pool\":%u,\"pools\":%u,\"in_use_at_exit\":%u,\"checked\":%s,"
		       "\"leaked\":%u}}\n",
		       pool_size, nb_pools, in_use, leak_checked ? "true" : "false", in_use);
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
	char pl[192];
	if (in_use == 0)
		printf("mbufs: all %u returned to %s\n", pool_size * nb_pools,
		       pools_label(pl, sizeof(pl)));
	else
		printf("mbufs: LEAK: %u of %u not returned to %s\n", in_use, pool_size * nb_pools,
		       pools_label(pl, sizeof(pl)));
	fflush(stdout);
}

/* The start event's "pools" and "rxqs": where each pool and RX queue went,
 * and where the pool's objects really lie (node: of the first object,
 * off_node: objects of a sample that are not on the pool's socket). */
static void print_placement_json(void)
{
	printf(",\"sockets\":%u,\"pools\":[", tarn_socket_count());
	const char *sep = "";
	for (int s = 0; s < TARN_MAX_SOCKETS; s++) {
		if (pools[s] == NULL)
			continue;
		struct node_check c = pool_nodes(pools[s]);
		printf("%s{\"name\":", sep);
		json_str(stdout, tarn_mempool_name(pools[s]));
		printf(",\"socket\":%d,\"size\":%u,\"node\":%d,\"off_node\":%u}",
		       tarn_mempool_socket(pools[s]), tarn_mempool_size(pools[s]), c.first, c.off);
		sep = ",";
	}
	printf("],\"rxqs\":[");
	sep = "";
	for (unsigned pi = 0; pi < nb_ports; pi++) {
		for (unsigned q = 0; q < opt.rxq; q++) {
			const struct rxq_place *r = &rxq_place[pi][q];
			printf("%s{\"port\":%u,\"queue\":%u,\"lcore\":%u,\"lcore_socket\":%d,"
			       "\"port_socket\":%d,\"pool_socket\":%d,\"why\":\"%s\",\"pool\":",
			       sep, (unsigned)port_ids[pi], q, r->lcore, r->lcore_socket,
			       r->port_socket, r->socket, r->why);
			json_str(stdout, tarn_mempool_name(pools[r->socket]));
			printf("}");
			sep = ",";
		}
	}
	printf("]");
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
		if (opt.soak) {
			/* Two cables crossing the forwarding pairs (0-1, 2-3): a packet
			 * goes p0 -> p1 -> p3 -> p2 -> p0 through two streams. */
			opt.ports[1] = "ring:name=p1";
			opt.ports[2] = "ring:name=p2,peer=p0";
			opt.ports[3] = "ring:name=p3,peer=p1";
			opt.nb_ports = 4;
		}
	}
	if (opt.soak && opt.interactive) {
		fprintf(stderr, PROG ": --soak and --interactive do not go together\n");
		return FWD_EXIT_USAGE;
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
	/* The pools: one per socket in use, made by ports_setup() (pools_create()). */
	fwd.burst = opt.burst;
	fwd.pkt_len = opt.pkt_len;
	fwd.nb_flows = 1024;

	int exit_code = FWD_EXIT_OK;
	rc = ports_setup();
	if (rc == 0 && streams_build(opt.mode) < 0)
		rc = FWD_EXIT_USAGE;
	if (rc == 0 && opt.soak)
		rc = soak_prepare();
	if (rc != 0) {
		exit_code = rc;
		ports_close();
		pools_free(TARN_MEMPOOL_FREE_FORCE);
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
		print_placement_json();
		printf("}\n");
		fflush(stdout);
	}

	if (opt.interactive) {
		interactive_loop();
	} else if (opt.soak) {
		snap_all(first); /* for print_period() */
		memcpy(last, first, sizeof(last));
		totals.seconds += soak_run();
		if (got_signal() && !opt.json)
			printf("\nsignal %d: stopping\n", got_signal());
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
	unsigned in_use = pools_in_use();
	print_summary(st, in_use, 1);
	if (opt.soak && soak_report(in_use, pool_size, opt.json) != FWD_EXIT_OK)
		exit_code = FWD_EXIT_FAIL;
	nb_ports = 0;
	if (in_use != 0) {
		fprintf(stderr, PROG ": %u mbufs leaked\n", in_use);
		exit_code = FWD_EXIT_FAIL;
		pools_free(TARN_MEMPOOL_FREE_FORCE);
	} else {
		pools_free(0);
	}
	tarn_cleanup();
	return exit_code;
}
