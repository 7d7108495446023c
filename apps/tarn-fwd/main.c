/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tarn-fwd: a testpmd-like forwarding application on tarn ports.
 *
 *   tarn-fwd [tarn options] [--port SPEC]... [--fwd MODE] [--burst N] ...
 *
 * With no --port it runs its embedded default: two cabled ring ports, io
 * forwarding seeded with one burst per port, Mpps per port every second for
 * 5 seconds, then a summary. docs/tarn-fwd.md describes every option; app.h
 * the files.
 *
 * Threads: the main lcore sets everything up, prints statistics and reads
 * commands (-i); the worker lcores forward. With a single lcore the main
 * lcore forwards too, and does its housekeeping every few hundred rounds.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "app.h"

/* Rounds the main lcore forwards between two looks at the clock. */
#define MAIN_ROUNDS 256

/* ------------------------------------------------------------------------ */
/* Time, signals */

/* The signal that asked to stop, 0 if none: the one piece of state outside
 * struct fwd_app, as a signal handler can reach nothing else. The handler
 * may run on any thread: lock-free atomic stores are async-signal-safe and
 * race-free. */
static int signal_seen;

static void on_signal(int sig)
{
	__atomic_store_n(&signal_seen, sig, __ATOMIC_RELAXED);
	__atomic_store_n(&fwd_stop_flag, 1, __ATOMIC_RELAXED);
}

int fwd_got_signal(void)
{
	return __atomic_load_n(&signal_seen, __ATOMIC_RELAXED);
}

/* SIGINT and SIGTERM stop the run; so does SIGPIPE: a reader of stdout that
 * went away (`tarn-fwd | head -1`) ends the run as cleanly (the writes that
 * follow fail with EPIPE, unseen), instead of killing the process with its
 * hugepage files and socket left behind. */
static void signals_install(void)
{
	app_signals(on_signal, (const int[]){ SIGINT, SIGTERM, SIGPIPE, 0 });
}

/* After the run: stdout's writes that failed. SIGPIPE (its reader left)
 * is a stop like SIGTERM, said on stderr; another error (a full disk) lost
 * output: FWD_EXIT_FAIL. */
static int stdout_check(void)
{
	errno = 0;
	if (fflush(stdout) == 0 && !ferror(stdout))
		return FWD_EXIT_OK;
	const int e = errno;
	if (fwd_got_signal() == SIGPIPE || e == EPIPE) {
		fprintf(stderr, PROG ": stdout was closed by its reader: stopped, cleaned up\n");
		return FWD_EXIT_OK;
	}
	fprintf(stderr, PROG ": output to stdout lost: %s\n", e ? strerror(e) : "a write failed");
	return FWD_EXIT_FAIL;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* ------------------------------------------------------------------------ */
/* The run */

/* Start the forwarding lcores (when the main lcore does not forward). */
static void lcores_launch(const struct fwd_app *app)
{
	if (app->main_forwards)
		return;
	for (unsigned i = 0; i < app->nb_fwd_lcores; i++)
		tarn_lcore_launch(app->fwd_lcores[i], fwd_lcore_main,
		                  (void *)(uintptr_t)app->fwd_lcores[i]);
}

/* The main lcore's part of one round: forward (single lcore) or wait, then
 * statistics and commands. Returns 1 when the run ends (`*end` says why). */
static int run_round(struct fwd_app *app, double t0, double *next_stats, enum fwd_run_end *end)
{
	const struct fwd_options *o = &app->opt;
	if (app->main_forwards)
		fwd_lcore_run(app->fwd_lcores[0], MAIN_ROUNDS);
	else if (!o->interactive)
		sleep_ms(20);
	const double t = app_now_s();
	if (fwd_got_signal()) {
		*end = FWD_END_SIGNAL;
		return 1;
	}
	/* -i runs until "stop" */
	if (!o->interactive && o->duration > 0 && t - t0 >= o->duration) {
		*end = FWD_END_DURATION;
		return 1;
	}
	if (o->stats_period > 0 && t >= *next_stats) {
		fwd_print_period(app, t - t0);
		*next_stats += o->stats_period;
		if (*next_stats < t)
			*next_stats = t + o->stats_period;
	}
	if (o->interactive) {
		enum fwd_cmd_action a = fwd_cmdline_poll(app, app->main_forwards ? 0 : 20);
		if (a == FWD_CMD_QUIT || a == FWD_CMD_STOP) {
			*end = a == FWD_CMD_QUIT ? FWD_END_QUIT : FWD_END_STOP;
			return 1;
		}
	}
	return 0;
}

enum fwd_run_end fwd_run(struct fwd_app *app)
{
	enum fwd_run_end end = FWD_END_DURATION;
	__atomic_store_n(&fwd_stop_flag, 0, __ATOMIC_RELAXED);
	if (fwd_got_signal())
		return FWD_END_SIGNAL;
	fwd_snap_all(app, app->last);
	__atomic_store_n(&app->running, 1, __ATOMIC_RELAXED);
	const double t0 = app_now_s();
	double next_stats = t0 + app->opt.stats_period;
	lcores_launch(app);
	while (!run_round(app, t0, &next_stats, &end))
		;
	__atomic_store_n(&fwd_stop_flag, 1, __ATOMIC_RELAXED);
	if (!app->main_forwards)
		tarn_lcore_wait_all();
	__atomic_store_n(&app->running, 0, __ATOMIC_RELAXED);
	app->totals.seconds += app_now_s() - t0;
	return end;
}

/* ------------------------------------------------------------------------ */
/* --soak (soak.c): what it needs, kept until soak_report() */

static void soak_print_period(void *arg, double elapsed)
{
	fwd_print_period(arg, elapsed);
}

static int soak_prepare(struct fwd_app *app)
{
	const struct fwd_options *o = &app->opt;
	app->soak = (struct soak_ctx){
		.ports = app->port_ids,
		.nb_ports = app->nb_ports,
		.lcores = app->fwd_lcores,
		.nb_lcores = app->nb_fwd_lcores,
		.main_forwards = app->main_forwards,
		.lock = &app->lock,
		.running = &app->running,
		.duration = o->duration,
		.cycle = o->soak_cycle,
		.stats_period = o->stats_period,
		.seed = o->seed_given ? o->seed : soak_default_seed(),
		.json = o->json,
		.got_signal = fwd_got_signal,
		.print_period = soak_print_period,
		.arg = app,
	};
	return soak_setup(&app->soak);
}

/* ------------------------------------------------------------------------ */
/* Start, run, stop */

/* Size the pools (before the ports exist: from the options), set the
 * engines' parameters. */
static void pools_size(struct fwd_app *app)
{
	const struct fwd_options *o = &app->opt;
	app->mbufs_needed = fwd_mbufs_needed(app);
	app->pool_size = o->mbufs ? o->mbufs : app->mbufs_needed;
	if (o->mbufs != 0 && o->mbufs < app->mbufs_needed)
		fprintf(stderr,
		        PROG ": warning: --mbufs %u is below the %u mbufs this configuration can "
		             "hold at once (ports x queues x descriptors + cache x lcores + bursts "
		             "in flight): expect rx_nombuf and drops\n",
		        o->mbufs, app->mbufs_needed);
	fwd.burst = o->burst;
	fwd.pkt_len = o->pkt_len;
	fwd.nb_flows = 1024;
}

/* What runs, where, and where telemetry is (human or the start event). */
static void print_start(struct fwd_app *app)
{
	char tel_path[128] = "";
	tarn_telemetry_path(tel_path, sizeof(tel_path));
	if (app->opt.json) {
		fwd_event_start(app, tel_path);
		return;
	}
	printf(PROG ": %s forwarding on %u port(s), %u stream(s), %u forwarding lcore(s), "
	            "pool of %u mbufs\n",
	       fwd_mode_name(fwd.mode), app->nb_ports, fwd.nb_streams, app->nb_fwd_lcores,
	       app->pool_size);
	if (tel_path[0] != '\0')
		printf(PROG ": telemetry at %s (tarn-top --file-prefix %s, "
		            "dpdk-telemetry.py -f %s)\n",
		       tel_path, app->file_prefix, app->file_prefix);
	fflush(stdout);
}

/* Run as the options say: interactive, soak, or forward for the duration. */
static void run_mode(struct fwd_app *app)
{
	if (app->opt.interactive) {
		fwd_cmdline_loop(app);
		return;
	}
	enum fwd_run_end e = FWD_END_DURATION;
	if (app->opt.soak) {
		fwd_snap_all(app, app->last); /* for fwd_print_period() */
		app->totals.seconds += soak_run(&app->soak);
		if (fwd_got_signal())
			e = FWD_END_SIGNAL;
	} else {
		if (app->opt.tx_first)
			fwd_tx_first(app, 1);
		e = fwd_run(app);
	}
	if (e == FWD_END_SIGNAL && !app->opt.json && fwd_got_signal() != SIGPIPE)
		printf("\nsignal %d: stopping\n", fwd_got_signal());
}

/* Final counters, then every mbuf back and checked: the summary, and the
 * exit status. */
static int finish(struct fwd_app *app)
{
	int exit_code = FWD_EXIT_OK;
	struct tarn_eth_stats st[TARN_MAX_ETHPORTS];
	for (unsigned i = 0; i < app->nb_ports; i++)
		tarn_eth_stats_get(app->port_ids[i], &st[i]);
	const unsigned nb_ports = app->nb_ports;
	if (fwd_ports_close(app) > 0)
		exit_code = FWD_EXIT_FAIL;
	app->nb_ports = nb_ports; /* for the summary's port list */
	/* Every mbuf must be back. One missing was either leaked (handed out,
	 * never freed) or lost by the pool (never handed out): the pools'
	 * conservation check tells them apart, in every build. */
	const unsigned in_use = fwd_pools_in_use(app);
	unsigned lost = 0;
	const unsigned bad = fwd_pools_check(app, &lost);
	fwd_print_summary(app, st, in_use, lost, 1);
	if (app->opt.soak &&
	    soak_report(&app->soak, in_use, app->pool_size, app->opt.json) != FWD_EXIT_OK)
		exit_code = FWD_EXIT_FAIL;
	app->nb_ports = 0;
	if (bad != 0)
		fprintf(stderr, PROG ": tarn_mempool_check failed on %u pool(s) (see above)\n",
		        bad);
	if (lost != 0)
		fprintf(stderr,
		        PROG ": %u mbufs lost: missing from the pool but never handed out "
		             "(lost by the pool or its store, not leaked)\n",
		        lost);
	if (in_use > lost)
		fprintf(stderr, PROG ": %u mbufs leaked\n", in_use - lost);
	if (in_use != 0 || bad != 0) {
		exit_code = FWD_EXIT_FAIL;
		fwd_pools_free(app, TARN_MEMPOOL_FREE_FORCE);
	} else {
		fwd_pools_free(app, 0);
	}
	return exit_code;
}

/* Options and tarn_init(). 0, or an exit status (message printed). */
static int start(struct fwd_app *app, struct tarn_config *cfg, int argc, char **argv)
{
	if (tarn_config_init(cfg) < 0) {
		fprintf(stderr,
		        PROG ": bad TARN_* environment variable (see the log line above)\n");
		return FWD_EXIT_USAGE;
	}
	if (fwd_argv_testpmd(&argc, argv) < 0)
		return FWD_EXIT_USAGE;
	int rc = tarn_config_parse_args(cfg, &argc, argv);
	if (rc < 0) {
		fprintf(stderr, PROG ": bad tarn option (see the log line above and --help)\n");
		return FWD_EXIT_USAGE;
	}
	fwd_options_init(&app->opt);
	rc = fwd_options_parse(&app->opt, argc, argv);
	if (rc != 0)
		return rc > 0 ? -1 : FWD_EXIT_USAGE; /* -1: --help, exit 0 */
	rc = fwd_options_finish(&app->opt, &app->embedded);
	if (rc != 0)
		return rc;
	fwd_default_lcores(cfg);
	app->file_prefix = cfg->file_prefix;
	rc = tarn_init(cfg);
	if (rc < 0) {
		fprintf(stderr, PROG ": tarn_init: %s\n", tarn_strerror(rc));
		return rc == -EINVAL ? FWD_EXIT_USAGE : FWD_EXIT_FAIL;
	}
	return 0;
}

int main(int argc, char **argv)
{
	/* One application, passed to every call (big: kept off the stack). */
	static struct fwd_app app = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct tarn_config cfg;

	int rc = start(&app, &cfg, argc, argv);
	if (rc != 0)
		return rc < 0 ? FWD_EXIT_OK : rc;
	signals_install();
	rc = fwd_pick_lcores(&app);
	if (rc != 0) {
		tarn_cleanup();
		return rc;
	}
	pools_size(&app);
	rc = fwd_ports_setup(&app);
	if (rc == 0 && fwd_streams_build(&app, app.opt.mode) < 0)
		rc = FWD_EXIT_USAGE;
	if (rc == 0 && app.opt.soak)
		rc = soak_prepare(&app);
	if (rc != 0) {
		fwd_ports_close(&app);
		fwd_pools_free(&app, TARN_MEMPOOL_FREE_FORCE);
		tarn_cleanup();
		return rc;
	}
	/* Telemetry is on unless --no-telemetry: say where. */
	fwd_telemetry_register(&app);
	print_start(&app);
	run_mode(&app);
	rc = finish(&app);
	tarn_cleanup();
	int out = stdout_check();
	return rc != FWD_EXIT_OK ? rc : out;
}
