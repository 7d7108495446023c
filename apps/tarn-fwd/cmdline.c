/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * cmdline.c - tarn-fwd's interactive command line (-i), testpmd-like.
 *
 * Every command is one line of the table `cmds` below: its words, its
 * arguments, a line of help, the counts of arguments it takes and its
 * handler (struct fwd_cmd, app.h). A line of input selects the command
 * whose name has the most words in front of the line; what follows are its
 * arguments. "help" prints the table. To add a command, write its handler
 * and add its line.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app.h"

/* Most words in a line (command and arguments). */
#define MAX_WORDS 6
#define PROMPT    "tarn-fwd> "

/* ------------------------------------------------------------------------ */
/* Arguments */

/*
 * "all" or a port id: the range of port indexes [*first, *end). 0, or -1
 * (message printed).
 */
static int ports_arg(const struct fwd_app *app, const char *a, unsigned *first, unsigned *end)
{
	if (strcmp(a, "all") == 0) {
		*first = 0;
		*end = app->nb_ports;
		return 0;
	}
	char *e;
	errno = 0;
	unsigned long id = strtoul(a, &e, 10);
	if (a[0] >= '0' && a[0] <= '9' && *e == '\0' && errno == 0)
		for (unsigned i = 0; i < app->nb_ports; i++)
			if (app->port_ids[i] == id) {
				*first = i;
				*end = i + 1;
				return 0;
			}
	printf("no port '%s': give a port id (", a);
	for (unsigned i = 0; i < app->nb_ports; i++)
		printf("%s%u", i ? ", " : "", (unsigned)app->port_ids[i]);
	printf(") or all\n");
	return -1;
}

/* A whole number in [min, max]: 0, or -1 (message printed). */
static int uint_arg(const char *what, const char *a, unsigned min, unsigned max, unsigned *out)
{
	char *e;
	errno = 0;
	unsigned long v = strtoul(a, &e, 10);
	if (a[0] < '0' || a[0] > '9' || *e != '\0' || errno != 0 || v < min || v > max) {
		printf("%s '%s': expected a whole number from %u to %u\n", what, a, min, max);
		return -1;
	}
	*out = (unsigned)v;
	return 0;
}

/* Commands that change the configuration wait for "stop". */
static int stopped(int running)
{
	if (running)
		printf("forwarding runs: stop it first\n");
	return !running;
}

/* ------------------------------------------------------------------------ */
/* Handlers */

static enum fwd_cmd_action cmd_quit(struct fwd_app *app, int argc, char **argv, int running)
{
	(void)app, (void)argc, (void)argv, (void)running;
	return FWD_CMD_QUIT;
}

static enum fwd_cmd_action cmd_help(struct fwd_app *app, int argc, char **argv, int running);

static enum fwd_cmd_action cmd_stop(struct fwd_app *app, int argc, char **argv, int running)
{
	(void)app, (void)argc, (void)argv;
	if (running)
		return FWD_CMD_STOP;
	printf("forwarding is not running\n");
	return FWD_CMD_CONTINUE;
}

static enum fwd_cmd_action cmd_start(struct fwd_app *app, int argc, char **argv, int running)
{
	if (running) {
		printf("forwarding is already running\n");
		return FWD_CMD_CONTINUE;
	}
	unsigned bursts = 1;
	if (argc > 0 && strcmp(argv[0], "tx_first") != 0) {
		printf("start: expected nothing or tx_first [N]\n");
		return FWD_CMD_CONTINUE;
	}
	if (argc > 1 && uint_arg("tx_first", argv[1], 1, 1000000, &bursts) < 0)
		return FWD_CMD_CONTINUE;
	for (unsigned i = 0; i < app->nb_ports; i++) {
		struct tarn_eth_dev_info info;
		if (tarn_eth_dev_info_get(app->port_ids[i], &info) == 0 &&
		    info.state != TARN_ETH_STATE_STARTED) {
			printf("port %u is stopped: port start %u (or all) first\n",
			       (unsigned)app->port_ids[i], (unsigned)app->port_ids[i]);
			return FWD_CMD_CONTINUE;
		}
	}
	app->tx_first_bursts = argc > 0 ? bursts : 0;
	return argc > 0 ? FWD_CMD_START_TX_FIRST : FWD_CMD_START;
}

/* "show port stats|xstats|info N|all" */
static enum fwd_cmd_action show_ports(struct fwd_app *app, const char *which,
                                      void (*fn)(struct fwd_app *, unsigned, FILE *))
{
	unsigned first, end;
	if (ports_arg(app, which, &first, &end) == 0)
		for (unsigned i = first; i < end; i++)
			fn(app, i, stdout);
	return FWD_CMD_CONTINUE;
}

static void xstats_one(struct fwd_app *app, unsigned pi, FILE *f)
{
	fwd_show_port_xstats(app, pi, f);
}

static void info_one(struct fwd_app *app, unsigned pi, FILE *f)
{
	fwd_show_port_info(app, pi, f);
}

static enum fwd_cmd_action cmd_show_port_stats(struct fwd_app *app, int argc, char **argv,
                                               int running)
{
	(void)argc, (void)running;
	return show_ports(app, argv[0], fwd_show_port_stats);
}

static enum fwd_cmd_action cmd_show_port_xstats(struct fwd_app *app, int argc, char **argv,
                                                int running)
{
	(void)argc, (void)running;
	return show_ports(app, argv[0], xstats_one);
}

static enum fwd_cmd_action cmd_show_port_info(struct fwd_app *app, int argc, char **argv,
                                              int running)
{
	(void)argc, (void)running;
	return show_ports(app, argv[0], info_one);
}

/* "show port N rxq|txq" */
static enum fwd_cmd_action cmd_show_port_queues(struct fwd_app *app, int argc, char **argv,
                                                int running)
{
	(void)argc, (void)running;
	unsigned first, end;
	const int rx = strcmp(argv[1], "rxq") == 0;
	if (!rx && strcmp(argv[1], "txq") != 0)
		printf("show port %s %s: expected rxq or txq\n", argv[0], argv[1]);
	else if (ports_arg(app, argv[0], &first, &end) == 0)
		for (unsigned i = first; i < end; i++)
			fwd_show_port_queues(app, i, rx, stdout);
	return FWD_CMD_CONTINUE;
}

static enum fwd_cmd_action cmd_clear_port_stats(struct fwd_app *app, int argc, char **argv,
                                                int running)
{
	(void)argc, (void)running;
	unsigned first, end;
	if (ports_arg(app, argv[0], &first, &end) == 0) {
		for (unsigned i = first; i < end; i++)
			fwd_clear_port_stats(app, i);
		printf("port statistics cleared (show port stats counts from here; the summary "
		       "at exit counts from the start)\n");
	}
	return FWD_CMD_CONTINUE;
}

static enum fwd_cmd_action cmd_show_config(struct fwd_app *app, int argc, char **argv, int running)
{
	(void)argc, (void)running;
	if (strcmp(argv[0], "fwd") == 0)
		fwd_show_config(app, stdout);
	else
		printf("show config %s: expected fwd\n", argv[0]);
	return FWD_CMD_CONTINUE;
}

static enum fwd_cmd_action cmd_show_pool(struct fwd_app *app, int argc, char **argv, int running)
{
	(void)argc, (void)argv, (void)running;
	fwd_show_pool_stats(app, stdout);
	return FWD_CMD_CONTINUE;
}

static enum fwd_cmd_action cmd_dump_mempool(struct fwd_app *app, int argc, char **argv, int running)
{
	(void)argc, (void)argv, (void)running;
	fwd_dump_pools(app, stdout);
	return FWD_CMD_CONTINUE;
}

static enum fwd_cmd_action cmd_show_fwd(struct fwd_app *app, int argc, char **argv, int running)
{
	(void)running;
	if (argc > 0 && strcmp(argv[0], "all") != 0)
		printf("show fwd stats %s: expected nothing or all\n", argv[0]);
	else
		fwd_show_run_stats(app, stdout);
	return FWD_CMD_CONTINUE;
}

static enum fwd_cmd_action cmd_set_fwd(struct fwd_app *app, int argc, char **argv, int running)
{
	(void)argc;
	int m = fwd_mode_parse(argv[0]);
	if (!stopped(running))
		return FWD_CMD_CONTINUE;
	if (m < 0)
		printf("unknown mode '%s' (io, mac, macswap, rxonly, txonly, flowgen)\n", argv[0]);
	else if (fwd_streams_build(app, (enum fwd_mode)m) == 0)
		printf("forwarding mode: %s\n", argv[0]);
	return FWD_CMD_CONTINUE;
}

static enum fwd_cmd_action cmd_set_burst(struct fwd_app *app, int argc, char **argv, int running)
{
	(void)argc;
	unsigned b;
	if (!stopped(running) || uint_arg("burst", argv[0], 1, FWD_MAX_BURST, &b) < 0)
		return FWD_CMD_CONTINUE;
	app->opt.burst = b;
	fwd.burst = b;
	printf("burst: %u\n", b);
	const unsigned need = fwd_mbufs_needed(app);
	if (need > app->pool_size)
		printf("note: the pools hold %u mbufs each; with this burst the ports may hold %u "
		       "at once: expect rx_nombuf\n",
		       app->pool_size, need);
	return FWD_CMD_CONTINUE;
}

static enum fwd_cmd_action cmd_set_nbcore(struct fwd_app *app, int argc, char **argv, int running)
{
	(void)argc;
	unsigned n;
	if (!stopped(running) || uint_arg("nbcore", argv[0], 1, app->nb_lcores_avail, &n) < 0)
		return FWD_CMD_CONTINUE;
	const unsigned old = app->nb_fwd_lcores;
	app->nb_fwd_lcores = n;
	if (fwd_streams_build(app, fwd.mode) < 0) {
		app->nb_fwd_lcores = old;
		fwd_streams_build(app, fwd.mode);
		return FWD_CMD_CONTINUE;
	}
	printf("forwarding lcores: %u of %u\n", n, app->nb_lcores_avail);
	return FWD_CMD_CONTINUE;
}

static enum fwd_cmd_action cmd_set_promisc(struct fwd_app *app, int argc, char **argv, int running)
{
	(void)argc, (void)running;
	unsigned first, end;
	const int on = strcmp(argv[1], "on") == 0;
	if (!on && strcmp(argv[1], "off") != 0) {
		printf("set promisc %s %s: expected on or off\n", argv[0], argv[1]);
		return FWD_CMD_CONTINUE;
	}
	if (ports_arg(app, argv[0], &first, &end) < 0)
		return FWD_CMD_CONTINUE;
	for (unsigned i = first; i < end; i++) {
		const uint16_t p = app->port_ids[i];
		int rc = on ? tarn_eth_promiscuous_enable(p) : tarn_eth_promiscuous_disable(p);
		if (rc < 0)
			printf("port %u: promiscuous mode %s: %s\n", (unsigned)p, argv[1],
			       tarn_strerror(rc));
		else
			printf("port %u: promiscuous mode %s\n", (unsigned)p, on ? "on" : "off");
	}
	return FWD_CMD_CONTINUE;
}

/* "port stop|start N|all" */
static enum fwd_cmd_action cmd_port(struct fwd_app *app, int argc, char **argv, int running)
{
	(void)argc;
	unsigned first, end;
	const int start = strcmp(argv[0], "start") == 0;
	if (!start && strcmp(argv[0], "stop") != 0) {
		printf("port %s: expected port stop|start N|all\n", argv[0]);
		return FWD_CMD_CONTINUE;
	}
	if (!stopped(running) || ports_arg(app, argv[1], &first, &end) < 0)
		return FWD_CMD_CONTINUE;
	for (unsigned i = first; i < end; i++) {
		const uint16_t p = app->port_ids[i];
		struct tarn_eth_dev_info info;
		if (tarn_eth_dev_info_get(p, &info) == 0 &&
		    (info.state == TARN_ETH_STATE_STARTED) == start) {
			printf("port %u is %s already\n", (unsigned)p,
			       start ? "started" : "stopped");
			continue;
		}
		int rc = start ? tarn_eth_dev_start(p) : tarn_eth_dev_stop(p);
		if (rc == -EIO && !start)
			printf("port %u stopped; its output failed while it ran: the packets it "
			       "refused since are lost (oerrors; see the log)\n",
			       (unsigned)p);
		else if (rc < 0)
			printf("port %u: %s: %s\n", (unsigned)p, argv[0], tarn_strerror(rc));
		else
			printf("port %u %s\n", (unsigned)p, start ? "started" : "stopped");
	}
	return FWD_CMD_CONTINUE;
}

/* ------------------------------------------------------------------------ */
/* The table */

#define ANY_ARGS MAX_WORDS

static const struct fwd_cmd cmds[] = {
	{ "start", "[tx_first [N]]",
	  "start forwarding (first N bursts, default 1, on every TX queue)", 0, 2, cmd_start },
	{ "stop", "", "stop forwarding, print its statistics", 0, 0, cmd_stop },
	{ "show port stats", "N|all", "port counters, rates since the last show", 1, 1,
	  cmd_show_port_stats },
	{ "show port xstats", "N|all", "extended port counters (DPDK's names, since start)", 1, 1,
	  cmd_show_port_xstats },
	{ "show port info", "N|all", "port configuration and link", 1, 1, cmd_show_port_info },
	{ "show port", "N rxq|txq", "a port's queues: configuration and counters", 2, 2,
	  cmd_show_port_queues },
	{ "clear port stats", "N|all", "show port stats counts from 0 again", 1, 1,
	  cmd_clear_port_stats },
	{ "show config", "fwd", "streams: which lcore forwards what", 1, 1, cmd_show_config },
	{ "show fwd stats", "[all]", "stream counters of this (or the last) run", 0, 1,
	  cmd_show_fwd },
	{ "show pool stats", "", "mbuf pools, one line each", 0, 0, cmd_show_pool },
	{ "dump_mempool", "", "mbuf pools in full: thread caches, store, check", 0, 0,
	  cmd_dump_mempool },
	{ "set fwd", "MODE", "io, mac, macswap, rxonly, txonly, flowgen", 1, 1, cmd_set_fwd },
	{ "set burst", "N", "packets per burst, 1-512", 1, 1, cmd_set_burst },
	{ "set nbcore", "N", "forwarding lcores: the first N of the workers", 1, 1,
	  cmd_set_nbcore },
	{ "set promisc", "N|all on|off", "promiscuous mode", 2, 2, cmd_set_promisc },
	{ "port", "stop|start N|all", "stop or start ports (forwarding stopped)", 2, 2, cmd_port },
	{ "help", "", "this list", 0, ANY_ARGS, cmd_help },
	{ "quit", "", "stop and exit, with the summary", 0, ANY_ARGS, cmd_quit },
	{ "exit", "", NULL, 0, ANY_ARGS, cmd_quit },
};

static enum fwd_cmd_action cmd_help(struct fwd_app *app, int argc, char **argv, int running)
{
	(void)app, (void)argc, (void)argv, (void)running;
	printf("commands:\n");
	for (size_t i = 0; i < TARN_ARRAY_SIZE(cmds); i++) {
		char usage[64];
		if (cmds[i].help == NULL)
			continue;
		snprintf(usage, sizeof(usage), "%s%s%s", cmds[i].name, cmds[i].args[0] ? " " : "",
		         cmds[i].args);
		printf("  %-29s %s\n", usage, cmds[i].help);
	}
	return FWD_CMD_CONTINUE;
}

/*
 * The number of words of `name` when they are the first words of `w`
 * (`n` of them), else 0.
 */
static int name_matches(const char *name, char **w, int n)
{
	int k = 0;
	for (const char *p = name; *p != '\0'; k++) {
		const size_t len = strcspn(p, " ");
		if (k >= n || strlen(w[k]) != len || strncmp(w[k], p, len) != 0)
			return 0;
		p += len;
		p += *p == ' ';
	}
	return k;
}

/* The command for words w[0..n): the longest name that matches and takes
 * that many arguments; NULL if none. `*used`: the words of its name. */
static const struct fwd_cmd *cmd_find(char **w, int n, int *used)
{
	const struct fwd_cmd *best = NULL;
	*used = 0;
	for (size_t i = 0; i < TARN_ARRAY_SIZE(cmds); i++) {
		const int k = name_matches(cmds[i].name, w, n);
		const unsigned args = (unsigned)(n - k);
		if (k > *used && args >= cmds[i].min_args && args <= cmds[i].max_args) {
			best = &cmds[i];
			*used = k;
		}
	}
	return best;
}

/*
 * Run one line. Prints the prompt after it unless forwarding must stop or
 * start (the caller prints what follows). `running`: forwarding runs.
 */
static enum fwd_cmd_action cmd_line(struct fwd_app *app, char *line, int running)
{
	char *w[MAX_WORDS] = { 0 };
	int n = 0;
	for (char *tok = strtok(line, " \t\r\n"); tok != NULL && n < MAX_WORDS;
	     tok = strtok(NULL, " \t\r\n"))
		w[n++] = tok;
	enum fwd_cmd_action a = FWD_CMD_CONTINUE;
	if (n > 0) {
		int used;
		const struct fwd_cmd *c = cmd_find(w, n, &used);
		if (c != NULL)
			a = c->fn(app, n - used, w + used, running);
		else
			printf("unknown command '%s' (type 'help')\n", w[0]);
	}
	if (a == FWD_CMD_CONTINUE) {
		printf(PROMPT);
		fflush(stdout);
	}
	return a;
}

/* ------------------------------------------------------------------------ */
/* Input */

/*
 * One line from stdin if one is ready within `timeout_ms`; 1 if `buf` holds
 * one. End of input reads as "quit". Reads with read(2) into a buffer of its
 * own, so lines that arrive together are all seen (stdio would keep them
 * where poll(2) cannot see them).
 */
static int stdin_line(struct fwd_stdin *in, char *buf, size_t size, int timeout_ms)
{
	for (;;) {
		char *nl = memchr(in->acc, '\n', in->len);
		if (nl != NULL || in->len == sizeof(in->acc) || (in->eof && in->len > 0)) {
			size_t n = nl != NULL ? (size_t)(nl - in->acc) + 1 : in->len;
			size_t c = n < size ? n : size - 1;
			memcpy(buf, in->acc, c);
			buf[c] = '\0';
			memmove(in->acc, in->acc + n, in->len - n);
			in->len -= n;
			return 1;
		}
		if (in->eof) {
			snprintf(buf, size, "quit");
			return 1;
		}
		struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
		if (poll(&pfd, 1, timeout_ms) <= 0)
			return 0;
		ssize_t r = read(STDIN_FILENO, in->acc + in->len, sizeof(in->acc) - in->len);
		if (r <= 0) {
			if (r < 0 && errno == EINTR)
				return 0;
			in->eof = 1;
		} else {
			in->len += (size_t)r;
		}
		timeout_ms = 0;
	}
}

enum fwd_cmd_action fwd_cmdline_poll(struct fwd_app *app, int timeout_ms)
{
	char line[256];
	if (!stdin_line(&app->in, line, sizeof(line), timeout_ms))
		return FWD_CMD_CONTINUE;
	enum fwd_cmd_action a = cmd_line(app, line, 1);
	return a == FWD_CMD_STOP || a == FWD_CMD_QUIT ? a : FWD_CMD_CONTINUE;
}

/* After a run: its stream counters (not with --json). */
static void stopped_summary(const struct fwd_app *app)
{
	if (app->opt.json)
		return;
	printf("forwarding stopped\n");
	fwd_show_run_stats(app, stdout);
	fflush(stdout);
}

void fwd_cmdline_loop(struct fwd_app *app)
{
	char line[256];
	enum fwd_cmd_action a = FWD_CMD_CONTINUE;
	if (app->opt.auto_start) {
		/* --auto-start: as if "start" (or "start tx_first" with --tx-first) */
		a = app->opt.tx_first ? FWD_CMD_START_TX_FIRST : FWD_CMD_START;
		app->tx_first_bursts = 1;
	}
	printf("tarn-fwd interactive, %s mode; type 'help'\n%s", fwd_mode_name(fwd.mode),
	       a == FWD_CMD_CONTINUE ? PROMPT : "");
	fflush(stdout);
	while (!fwd_got_signal()) {
		if (a == FWD_CMD_CONTINUE) {
			if (!stdin_line(&app->in, line, sizeof(line), 100))
				continue;
			a = cmd_line(app, line, 0);
		}
		if (a == FWD_CMD_QUIT)
			break;
		if (a != FWD_CMD_START && a != FWD_CMD_START_TX_FIRST) {
			a = FWD_CMD_CONTINUE;
			continue;
		}
		/* "stop" and "show fwd stats" show this run */
		fwd_run_mark(app);
		if (a == FWD_CMD_START_TX_FIRST)
			printf("sent %u packets first\n", fwd_tx_first(app, app->tx_first_bursts));
		printf("forwarding started (%s mode), 'stop' to stop\n" PROMPT,
		       fwd_mode_name(fwd.mode));
		fflush(stdout);
		enum fwd_run_end e = fwd_run(app);
		stopped_summary(app);
		if (e == FWD_END_QUIT || e == FWD_END_SIGNAL)
			break;
		printf(PROMPT);
		fflush(stdout);
		a = FWD_CMD_CONTINUE;
	}
}
