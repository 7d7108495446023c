/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * options.c - tarn-fwd's command line: the option table, parsing, --help.
 * tarn's own options (--lcores, --file-prefix, ...) were taken out of argv
 * by tarn_config_parse_args() before these are parsed.
 */
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"

/* Seconds of the built-in run (no --port). */
#define DEFAULT_DURATION 5.0

void fwd_options_init(struct fwd_options *o)
{
	*o = (struct fwd_options){
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
		.pool_socket = POOL_SOCKET_AUTO,
		.soak_cycle = 0.5,
	};
}

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
	        "  --tx-first          send one burst on every TX queue of every port before\n"
	        "                      forwarding\n"
	        "  --stats-period S    print statistics every S seconds, 0: never (default 1;\n"
	        "                      with -i: 0)\n"
	        "  --duration S        stop after S seconds, 0: at SIGINT/SIGTERM (default 5\n"
	        "                      without --port, else 0)\n"
	        "  --json              print statistics as JSON lines on stdout\n"
	        "  --soak              soak test (ring ports): random bursts, generated and freed\n"
	        "                      packets, pauses that check the counters and the pool; exit\n"
	        "                      1 on any loss (without --port: four cabled ring ports)\n"
	        "  --seed N            random seed of --soak (default: from the clock, printed)\n"
	        "  --soak-cycle S      --soak pauses at most S s apart, 0: none (default 0.5)\n"
	        "  --nb-cores N        forwarding lcores: the first N workers (default: all)\n"
	        "  -i, --interactive   read commands from stdin (type 'help')\n"
	        "  --auto-start        with -i: start forwarding at once\n"
	        "  -h, --help          this text\n"
	        "\n"
	        "Forwarding lcores are the worker lcores of --lcores (default: the first two\n"
	        "allowed CPUs); with one lcore the main lcore forwards and prints.\n"
	        "\n"
	        "testpmd's spellings work too: --forward-mode=MODE (--fwd), --total-num-mbufs=N\n"
	        "(--mbufs), --mbcache=N (--mbuf-cache), --txpkts=N (--pkt-len); its EAL options\n"
	        "-l LIST (--lcores) and -m MB (--socket-mem MB, on socket 0), and a lone '--'\n"
	        "between them and these.\n"
	        "\n",
	        FWD_MAX_BURST, TARN_ETH_MAX_QUEUES, TARN_ETH_MAX_DESC, TARN_MEMPOOL_CACHE_MAX,
	        TARN_MBUF_DEFAULT_DATAROOM);
	fprintf(out, "drivers:\n");
	for (unsigned i = 0; i < tarn_eth_driver_count(); i++)
		fprintf(out, "  %-8s %s\n", tarn_eth_driver_name(i), tarn_eth_driver_help(i));
	fprintf(out, "  every driver: name=NAME, mac=XX:XX:XX:XX:XX:XX, socket=N\n\n");
	tarn_config_usage(out);
}

/* ------------------------------------------------------------------------ */
/* Values */

static int bad_value(const char *name, const char *val, const char *what)
{
	return app_bad_value(PROG, name, val, what);
}

static int parse_uint(const char *name, const char *val, unsigned min, unsigned max, unsigned *out)
{
	long v;
	if (app_parse_long(PROG, name, val, min, max, &v) < 0)
		return -1;
	*out = (unsigned)v;
	return 0;
}

/* The longest duration or period, in seconds (about 31 years). */
#define MAX_SECONDS 1e9

/* Seconds: decimal digits with an optional fraction ("2", "0.5", ".5", "2."),
 * 0 to MAX_SECONDS. strtod() alone would also take "0x2", "1e3", "inf" and
 * "nan". */
static int parse_seconds(const char *name, const char *val, double *out)
{
	static const char what[] = "seconds, a decimal number from 0 to 1000000000 (e.g. 2.5)";
	size_t digits = 0, dots = 0;
	for (const char *p = val; *p != '\0'; p++) {
		if (*p >= '0' && *p <= '9')
			digits++;
		else if (*p == '.' && dots == 0)
			dots++;
		else
			return bad_value(name, val, what);
	}
	if (digits == 0)
		return bad_value(name, val, what);
	char *end;
	errno = 0;
	double v = strtod(val, &end);
	if (errno != 0 || *end != '\0' || !(v >= 0) || v > MAX_SECONDS)
		return bad_value(name, val, what);
	*out = v;
	return 0;
}

static int parse_pool_socket(struct fwd_options *o, const char *name, const char *val)
{
	unsigned s;
	if (strcmp(val, "auto") == 0)
		o->pool_socket = POOL_SOCKET_AUTO;
	else if (strcmp(val, "lcore") == 0)
		o->pool_socket = POOL_SOCKET_LCORE;
	else if (strcmp(val, "port") == 0)
		o->pool_socket = POOL_SOCKET_PORT;
	else if (val[0] >= '0' && val[0] <= '9' &&
	         parse_uint(name, val, 0, TARN_MAX_SOCKETS - 1, &s) == 0)
		o->pool_socket = (int)s;
	else
		return bad_value(name, val, "auto, lcore, port or a socket number");
	return 0;
}

static int parse_seed(struct fwd_options *o, const char *name, const char *val)
{
	char *end;
	errno = 0;
	o->seed = strtoull(val, &end, 10);
	if (val[0] < '0' || val[0] > '9' || errno != 0 || *end != '\0')
		return bad_value(name, val, "a whole number from 0 to 2^64-1");
	o->seed_given = 1;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* The option table */

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
	OPT_NB_CORES,
	OPT_AUTO_START,
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
	{ "nb-cores", required_argument, NULL, OPT_NB_CORES },
	{ "auto-start", no_argument, NULL, OPT_AUTO_START },
	/* testpmd's names for tarn-fwd's options */
	{ "forward-mode", required_argument, NULL, OPT_FWD },
	{ "total-num-mbufs", required_argument, NULL, OPT_MBUFS },
	{ "mbcache", required_argument, NULL, OPT_MBUF_CACHE },
	{ "txpkts", required_argument, NULL, OPT_PKT_LEN },
	{ NULL, 0, NULL, 0 },
};

/* The options that take a whole number in a range, and where it goes. */
static const struct {
	int opt;
	unsigned min, max;
	size_t off; /* of the unsigned in struct fwd_options */
} uint_opts[] = {
	{ OPT_BURST, 1, FWD_MAX_BURST, offsetof(struct fwd_options, burst) },
	{ OPT_RXQ, 1, TARN_ETH_MAX_QUEUES, offsetof(struct fwd_options, rxq) },
	{ OPT_TXQ, 1, TARN_ETH_MAX_QUEUES, offsetof(struct fwd_options, txq) },
	{ OPT_RXD, 1, TARN_ETH_MAX_DESC, offsetof(struct fwd_options, rxd) },
	{ OPT_TXD, 1, TARN_ETH_MAX_DESC, offsetof(struct fwd_options, txd) },
	{ OPT_MBUFS, 1, TARN_MEMPOOL_MAX_OBJS, offsetof(struct fwd_options, mbufs) },
	{ OPT_MBUF_CACHE, 0, TARN_MEMPOOL_CACHE_MAX, offsetof(struct fwd_options, mbuf_cache) },
	{ OPT_PKT_LEN, TARN_ETHER_HDR_LEN, TARN_MBUF_DEFAULT_DATAROOM,
	  offsetof(struct fwd_options, pkt_len) },
	{ OPT_NB_CORES, 1, TARN_MAX_LCORES, offsetof(struct fwd_options, nb_cores) },
};

static const char *opt_name(int c)
{
	for (const struct option *o = long_opts; o->name != NULL; o++)
		if (o->val == c)
			return o->name;
	return "?";
}

/* The options that are not a bounded whole number. 0 or -1 (error printed). */
static int parse_other(struct fwd_options *o, int c, const char *name, const char *arg)
{
	int m;
	switch (c) {
	case OPT_PORT:
		if (o->nb_ports == TARN_MAX_ETHPORTS) {
			fprintf(stderr, PROG ": --port: at most %d ports\n", TARN_MAX_ETHPORTS);
			return -1;
		}
		o->ports[o->nb_ports++] = arg;
		return 0;
	case OPT_FWD:
		m = fwd_mode_parse(arg);
		if (m < 0)
			return bad_value(name, arg, "io, mac, macswap, rxonly, txonly or flowgen");
		o->mode = (enum fwd_mode)m;
		return 0;
	case OPT_STATS_PERIOD:
		o->stats_period_given = 1;
		return parse_seconds(name, arg, &o->stats_period);
	case OPT_DURATION:
		return parse_seconds(name, arg, &o->duration);
	case OPT_SOAK_CYCLE:
		return parse_seconds(name, arg, &o->soak_cycle);
	case OPT_POOL_SOCKET:
		return parse_pool_socket(o, name, arg);
	case OPT_SEED:
		return parse_seed(o, name, arg);
	case OPT_JSON:
		o->json = 1;
		return 0;
	case OPT_TX_FIRST:
		o->tx_first = 1;
		return 0;
	case OPT_SOAK:
		o->soak = 1;
		return 0;
	case 'i':
		o->interactive = 1;
		return 0;
	case OPT_AUTO_START:
		o->auto_start = 1;
		return 0;
	}
	return -1; /* not reached: every option of long_opts is handled */
}

/* One option `c` (getopt_long's answer; `li` the index of the long option
 * given, or -1). 0, 1 (--help) or -1 (printed). */
static int parse_one(struct fwd_options *o, int c, int li, char **argv)
{
	switch (c) {
	case 'h':
		usage(stdout);
		return 1;
	case ':':
	case '?':
		return app_opt_error(PROG, c, argv);
	}
	/* the name as given (--forward-mode or --fwd) */
	const char *name = li >= 0 ? long_opts[li].name : opt_name(c);
	for (size_t i = 0; i < TARN_ARRAY_SIZE(uint_opts); i++)
		if (uint_opts[i].opt == c)
			return parse_uint(name, optarg, uint_opts[i].min, uint_opts[i].max,
			                  (unsigned *)((char *)o + uint_opts[i].off));
	return parse_other(o, c, name, optarg);
}

int fwd_options_parse(struct fwd_options *o, int argc, char **argv)
{
	int c, li = -1;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":ih", long_opts, &li)) != -1) {
		int rc = parse_one(o, c, li, argv);
		li = -1;
		if (rc != 0)
			return rc;
	}
	return app_no_operand(PROG, argc, argv);
}

int fwd_options_finish(struct fwd_options *o, int *embedded)
{
	*embedded = o->nb_ports == 0;
	if (*embedded) {
		o->ports[0] = "ring:name=p0";
		o->ports[1] = "ring:name=p1,peer=p0";
		o->nb_ports = 2;
		o->tx_first = 1;
		if (o->soak) {
			/* Two cables crossing the forwarding pairs (0-1, 2-3): a packet
			 * goes p0 -> p1 -> p3 -> p2 -> p0 through two streams. */
			o->ports[1] = "ring:name=p1";
			o->ports[2] = "ring:name=p2,peer=p0";
			o->ports[3] = "ring:name=p3,peer=p1";
			o->nb_ports = 4;
		}
	}
	if (o->soak && o->interactive) {
		fprintf(stderr, PROG ": --soak and --interactive do not go together\n");
		return FWD_EXIT_USAGE;
	}
	if (o->duration < 0)
		o->duration = *embedded ? DEFAULT_DURATION : 0;
	/* -i: the prompt is not interrupted by periodic lines unless asked */
	if (o->interactive && !o->stats_period_given)
		o->stats_period = 0;
	if (o->mbufs != 0 && o->mbuf_cache > o->mbufs) {
		fprintf(stderr, PROG ": --mbuf-cache %u is larger than --mbufs %u\n", o->mbuf_cache,
		        o->mbufs);
		return FWD_EXIT_USAGE;
	}
	return 0;
}

void fwd_default_lcores(struct tarn_config *cfg)
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

/* "-l LIST" / "-lLIST" (and -m) as "--lcores=LIST": the joined forms need
 * a string that lives as long as argv. */
static char *eal_joined(const char *tarn_opt, const char *val)
{
	static char buf[4][320];
	static unsigned used;
	if (used == TARN_ARRAY_SIZE(buf) || strlen(val) + strlen(tarn_opt) + 2 > sizeof(buf[0]))
		return NULL;
	/* fits: checked above */
	char *b = buf[used++];
	const size_t ol = strlen(tarn_opt);
	memcpy(b, tarn_opt, ol);
	b[ol] = '=';
	memcpy(b + ol + 1, val, strlen(val) + 1);
	return b;
}

int fwd_argv_testpmd(int *argc, char **argv)
{
	static const struct {
		char flag;
		const char *tarn_opt;
	} eal[] = { { 'l', "--lcores" }, { 'm', "--socket-mem" } };
	for (int i = 1; i < *argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			/* testpmd's EAL | application separator: drop it */
			memmove(&argv[i], &argv[i + 1], (size_t)(*argc - i) * sizeof(*argv));
			(*argc)--;
			return 0;
		}
		for (size_t k = 0; k < TARN_ARRAY_SIZE(eal); k++) {
			if (argv[i][0] != '-' || argv[i][1] != eal[k].flag)
				continue;
			if (argv[i][2] != '\0') { /* -l0-3 */
				char *j = eal_joined(eal[k].tarn_opt, argv[i] + 2);
				if (j == NULL) {
					fprintf(stderr, PROG ": '%s': too long\n", argv[i]);
					return -1;
				}
				argv[i] = j;
			} else if (i + 1 < *argc) { /* -l 0-3 */
				argv[i] = (char *)eal[k].tarn_opt;
			} else {
				fprintf(stderr, PROG ": option '-%c' needs a value (see --help)\n",
				        eal[k].flag);
				return -1;
			}
		}
	}
	return 0;
}
