/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * app.h - tarn-fwd's application: its state, one struct fwd_app passed to
 * every call, and the calls between its files (laid out as testpmd's):
 *
 *   main.c     main(): options, tarn_init, setup, the run, the summary and
 *              the teardown; signals; the forwarding loop of the main lcore
 *   options.c  the command line: the option table, parsing, --help
 *   setup.c    ports, mbuf pools and their NUMA placement, streams,
 *              tx_first, teardown of ports and pools
 *   fwd.c      the forwarding engines (fwd.h), run by the forwarding lcores
 *   stats.c    per-period rates, port/stream/pool counters, the summary,
 *              the /tarn/fwd/info telemetry command
 *   events.c   the JSON events of --json (start, stats, summary)
 *   cmdline.c  the interactive command line (-i): a table of commands
 *   soak.c     --soak (fwd.h)
 *
 * Threads: the main lcore owns struct fwd_app; the forwarding lcores see
 * only the engines' configuration (fwd, fwd.h) and their streams; the
 * telemetry thread reads the streams and the mode under fwd_app.lock.
 */
#ifndef TARN_FWD_APP_H
#define TARN_FWD_APP_H

#include "app_util.h" /* apps/common: app_now_s(), option errors */
#include "fwd.h"

#define PROG      "tarn-fwd"
#define POOL_NAME "fwd_mbufs"

/* --pool-socket's words (a number is a socket). */
#define POOL_SOCKET_AUTO  (-1)
#define POOL_SOCKET_LCORE (-2)
#define POOL_SOCKET_PORT  (-3)

/* The application's options (options.c; docs/tarn-fwd.md). */
struct fwd_options {
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
	int stats_period_given; /* --stats-period given (-i prints no periods otherwise) */
	double duration;        /* < 0: not given */
	int json;
	int interactive;
	int tx_first;
	int pool_socket;   /* --pool-socket: a socket, or POOL_SOCKET_AUTO/_LCORE/_PORT */
	unsigned nb_cores; /* --nb-cores: forwarding lcores, 0: every worker */
	int auto_start;    /* --auto-start: -i starts forwarding at once */

	int soak;          /* --soak */
	int seed_given;    /* --seed */
	uint64_t seed;     /* --seed */
	double soak_cycle; /* --soak-cycle */
};

/* Where one RX queue and its pool are (setup.c). */
struct fwd_rxq_place {
	uint32_t lcore;   /* the lcore that polls the queue */
	int lcore_socket; /* its socket */
	int port_socket;  /* the port's socket when known, else -1 */
	int socket;       /* where the queue and its pool are */
	const char *why;  /* "lcore", "port" or "option" */
};

/* A port's counters and when they were read. */
struct fwd_port_snap {
	struct tarn_eth_stats st;
	double t;
};

/* Totals of the runs, kept for the summary. */
struct fwd_totals {
	double seconds;
	uint64_t rx, gen, tx, dropped, consumed;
};

/* The interactive command line's reader: bytes read, not yet a line. */
struct fwd_stdin {
	char acc[1024];
	size_t len;
	int eof;
};

struct fwd_app {
	struct fwd_options opt;
	const char *file_prefix; /* tarn's --file-prefix (the telemetry hint) */
	int embedded;            /* no --port: the built-in ring ports */

	/* Ports, in --port order. */
	uint16_t port_ids[TARN_MAX_ETHPORTS];
	unsigned nb_ports;

	/* Forwarding lcores: the workers, or the main lcore alone; the first
	 * nb_fwd_lcores of the nb_lcores_avail forward (--nb-cores, "set
	 * nbcore"). */
	uint32_t fwd_lcores[TARN_MAX_LCORES];
	unsigned nb_fwd_lcores;
	unsigned nb_lcores_avail;
	int main_forwards;

	/* mbuf pools: one per socket in use, pools[socket]. */
	struct tarn_mempool *pools[TARN_MAX_SOCKETS];
	unsigned nb_pools;
	int pools_multi;       /* more than one planned: names carry the socket */
	unsigned pool_size;    /* mbufs in each pool */
	unsigned mbufs_needed; /* what this configuration may hold at once */
	struct fwd_rxq_place rxq_place[TARN_MAX_ETHPORTS][TARN_ETH_MAX_QUEUES];

	/* The streams (fwd.streams points here). `lock` guards them, fwd.mode
	 * and fwd.pool: /tarn/fwd/info reads them from the telemetry thread
	 * while "set fwd" rebuilds them and while the pools are made and freed.
	 * `running`: forwarding runs (relaxed; read by telemetry). */
	struct fwd_stream streams[FWD_MAX_STREAMS];
	pthread_mutex_t lock;
	int running;

	/* Statistics: the counters at the last period; the totals of the runs
	 * and modes before the streams' current counters (fwd_streams_retire());
	 * what "clear port stats" made zero for "show port stats" (the port
	 * counters themselves run on, so that the summary adds up); the counters
	 * at the last "show port stats" (its rates). */
	struct fwd_port_snap last[TARN_MAX_ETHPORTS];
	struct fwd_totals totals;
	struct tarn_eth_stats port_zero[TARN_MAX_ETHPORTS];
	struct fwd_port_snap show_last[TARN_MAX_ETHPORTS];
	unsigned tx_first_bursts; /* "start tx_first N": N */
	unsigned modes_used;      /* 1 << mode for every mode that had streams */
	unsigned stream_builds;   /* times the streams were made ("set fwd", "set nbcore") */
	/* The streams' counters when the run started ("stop" shows the run). */
	struct fwd_totals run_base[FWD_MAX_STREAMS];

	struct fwd_stdin in;
	struct soak_ctx soak;
};

/* ---- main.c ---- */

/* The signal that asked to stop (SIGINT, SIGTERM), 0 if none. */
int fwd_got_signal(void);

/* ---- options.c ---- */

/* Set the defaults. */
void fwd_options_init(struct fwd_options *o);
/* Parse the application's options (tarn's are gone from argv).
 * 0, 1 (--help printed) or -1 (error printed). */
int fwd_options_parse(struct fwd_options *o, int argc, char **argv);
/*
 * Complete the options: the built-in ports when none was given (`*embedded`
 * set), the default duration, the checks between options. 0 or
 * FWD_EXIT_USAGE (message printed).
 */
int fwd_options_finish(struct fwd_options *o, int *embedded);
/* Default --lcores: the first two CPUs the process may run on. */
void fwd_default_lcores(struct tarn_config *cfg);
/*
 * testpmd's command line, before tarn's options are parsed: its EAL
 * options -l LIST and -m MB become tarn's --lcores and --socket-mem, and
 * the lone "--" that ends them goes (what follows are tarn-fwd's options).
 * Rewrites argv in place; `*argc` may shrink. -1 (message printed) when
 * an option misses its value.
 */
int fwd_argv_testpmd(int *argc, char **argv);

/* ---- setup.c ---- */

/* The forwarding lcores: the workers, or the main lcore alone; the first
 * --nb-cores of them forward. 0 or FWD_EXIT_USAGE (message printed). */
int fwd_pick_lcores(struct fwd_app *app);
/* What the pools may have to hold at once, for opt.nb_ports ports. */
unsigned fwd_mbufs_needed(const struct fwd_app *app);
/* Create the ports, place and create the pools, set up and start the
 * ports. 0, FWD_EXIT_USAGE or FWD_EXIT_FAIL (message printed). */
int fwd_ports_setup(struct fwd_app *app);
/* The streams of `mode`, assigned round robin to the forwarding lcores.
 * 0 or -1 (error printed). */
int fwd_streams_build(struct fwd_app *app, enum fwd_mode mode);
/* `bursts` bursts on every TX queue of every port; returns the packets
 * sent. */
unsigned fwd_tx_first(struct fwd_app *app, unsigned bursts);
/* Stop and close every port (nb_ports becomes 0). Returns the ports whose
 * output failed while they ran (stop or close said -EIO: a tx_pcap that
 * could not be written), each named on stderr. */
unsigned fwd_ports_close(struct fwd_app *app);
/* In-use mbufs over every pool. */
unsigned fwd_pools_in_use(const struct fwd_app *app);
/* tarn_mempool_check() on every pool (quiescent: lcores stopped, ports
 * closed); `*lost` gets the mbufs missing that no thread took (lost by a
 * pool or its store: the conservation count, not a leak). Returns the
 * number of pools whose check failed (each logged by the library). */
unsigned fwd_pools_check(const struct fwd_app *app, unsigned *lost);
/* Free every pool (TARN_MEMPOOL_FREE_FORCE in `flags` when mbufs leaked). */
void fwd_pools_free(struct fwd_app *app, unsigned flags);
/* "pool 'fwd_mbufs'" or "pools 'fwd_mbufs_s0', 'fwd_mbufs_s1'" into `buf`. */
const char *fwd_pools_label(const struct fwd_app *app, char *buf, size_t size);

/* Where the objects of a pool lie: the node of the first, and how many of a
 * sample (up to ~1024, spread over the pool) lie off the pool's socket. */
struct fwd_node_check {
	int socket, first;
	unsigned step, off;
};
struct fwd_node_check fwd_pool_nodes(struct tarn_mempool *mp);

/* ---- stats.c ---- */

/* Read every port's counters into `s` (one per port). */
void fwd_snap_all(const struct fwd_app *app, struct fwd_port_snap *s);
/* The rates since the last period (human line, or JSON event); `elapsed`:
 * seconds since the start of the run. */
void fwd_print_period(struct fwd_app *app, double elapsed);
/* testpmd-like views for the command line, of port index `pi`: counters
 * since the last "clear port stats" with the rates since the last show;
 * extended counters; configuration and link; queues. */
void fwd_show_port_stats(struct fwd_app *app, unsigned pi, FILE *f);
void fwd_show_port_xstats(const struct fwd_app *app, unsigned pi, FILE *f);
void fwd_show_port_info(const struct fwd_app *app, unsigned pi, FILE *f);
void fwd_show_port_queues(const struct fwd_app *app, unsigned pi, int rx, FILE *f);
/* "clear port stats" of port index `pi`. */
void fwd_clear_port_stats(struct fwd_app *app, unsigned pi);
/* The streams: who forwards what (testpmd's "show config fwd"). */
void fwd_show_config(const struct fwd_app *app, FILE *f);
/* The streams' counters. */
void fwd_show_fwd_stats(FILE *f);
/* Every mbuf pool: one line each (counts, gets, cache hits, puts). */
void fwd_show_pool_stats(const struct fwd_app *app, FILE *f);
/* Every mbuf pool in full: counts, every thread's cache, the store, and
 * the check that they add up (testpmd's dump_mempool). */
void fwd_dump_pools(const struct fwd_app *app, FILE *f);
/* Add the streams' counters to `t`. */
void fwd_streams_total(struct fwd_totals *t);
/* Move the streams' counters into app->totals and zero them, before the
 * streams change ("set fwd", "set nbcore"): the summary then counts every
 * mode. Forwarding must be stopped. Takes app->lock. */
void fwd_streams_retire(struct fwd_app *app);
/* A run starts: remember the streams' counters (fwd_show_run_stats()). */
void fwd_run_mark(struct fwd_app *app);
/* The streams' counters of this run (or the last one): testpmd's forward
 * statistics at "stop". */
void fwd_show_run_stats(const struct fwd_app *app, FILE *f);
/* The summary at exit: the final port counters `st`, the mbufs still in use
 * after the ports closed, `lost` of them lost by the pool, never handed out
 * (human text, or the JSON event). */
void fwd_print_summary(const struct fwd_app *app, const struct tarn_eth_stats *st, unsigned in_use,
                       unsigned lost, int leak_checked);
/* Register /tarn/fwd/info (tarn-fwd's mode, lcores and packet totals). */
void fwd_telemetry_register(struct fwd_app *app);

/* ---- events.c (--json) ---- */

/* {"event":"start",...}: the configuration and the placement. */
void fwd_event_start(const struct fwd_app *app, const char *telemetry_path);
/* {"event":"stats",...}: one period; `cur`: the counters now, `rx_pps` and
 * `tx_pps` per port. */
void fwd_event_stats(const struct fwd_app *app, double elapsed, const struct fwd_port_snap *cur,
                     const double *rx_pps, const double *tx_pps, double total_rx_pps);
/* {"event":"summary",...}: as fwd_print_summary(); `t`: the totals. */
void fwd_event_summary(const struct fwd_app *app, const struct tarn_eth_stats *st,
                       const struct fwd_totals *t, unsigned in_use, unsigned lost,
                       int leak_checked);

/* ---- cmdline.c (-i) ---- */

/* What the forwarding loop must do after a command. */
enum fwd_cmd_action {
	FWD_CMD_CONTINUE = 0,   /* nothing (the prompt was printed) */
	FWD_CMD_STOP,           /* stop forwarding */
	FWD_CMD_QUIT,           /* stop forwarding and exit */
	FWD_CMD_START,          /* start forwarding */
	FWD_CMD_START_TX_FIRST, /* send a burst on every port, then start */
};

/*
 * One interactive command. A line selects the command whose name has the
 * most words in front of the line ("show port stats all" selects
 * "show port stats"); the words after the name are its arguments, and
 * their count must be within [min_args, max_args]. Commands are in one
 * table in cmdline.c: a new command is a handler and a line there.
 */
struct fwd_cmd {
	const char *name; /* its words: "show port stats" */
	const char *args; /* its arguments, for help: "all", "[tx_first]", "" */
	const char *help; /* one line for help; NULL: not listed */
	unsigned min_args, max_args;
	/* argv: the arguments (argc of them); running: forwarding runs.
	 * Prints what it has to say on stdout. */
	enum fwd_cmd_action (*fn)(struct fwd_app *app, int argc, char **argv, int running);
};

/* Read and run commands until quit, end of input or a signal. */
void fwd_cmdline_loop(struct fwd_app *app);
/*
 * While forwarding runs: run the command of a line from stdin if one comes
 * within `timeout_ms`. Returns FWD_CMD_STOP, FWD_CMD_QUIT or
 * FWD_CMD_CONTINUE.
 */
enum fwd_cmd_action fwd_cmdline_poll(struct fwd_app *app, int timeout_ms);

/* ---- the run (main.c) ---- */

enum fwd_run_end { FWD_END_DURATION, FWD_END_SIGNAL, FWD_END_STOP, FWD_END_QUIT };
/* Forward until the duration ends, a signal comes, or (-i) stop/quit. */
enum fwd_run_end fwd_run(struct fwd_app *app);

#endif /* TARN_FWD_APP_H */
