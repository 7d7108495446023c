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
#include <string.h>
#include <unistd.h>

#include "app.h"

/* Most words in a line (command and arguments). */
#define MAX_WORDS 6
#define PROMPT    "tarn-fwd> "

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
	(void)app;
	if (running) {
		printf("forwarding is already running\n");
		return FWD_CMD_CONTINUE;
	}
	return argc > 0 && strcmp(argv[0], "tx_first") == 0 ? FWD_CMD_START_TX_FIRST
	                                                    : FWD_CMD_START;
}

static enum fwd_cmd_action cmd_show_port_stats(struct fwd_app *app, int argc, char **argv,
                                               int running)
{
	(void)argc, (void)argv, (void)running;
	fwd_show_port_stats(app, stdout);
	return FWD_CMD_CONTINUE;
}

static enum fwd_cmd_action cmd_show_port_info(struct fwd_app *app, int argc, char **argv,
                                              int running)
{
	(void)app, (void)argc, (void)argv, (void)running;
	tarn_eth_dev_dump(stdout);
	return FWD_CMD_CONTINUE;
}

static enum fwd_cmd_action cmd_show_pool(struct fwd_app *app, int argc, char **argv, int running)
{
	(void)argc, (void)argv, (void)running;
	fwd_show_pool_stats(app, stdout);
	return FWD_CMD_CONTINUE;
}

static enum fwd_cmd_action cmd_show_fwd(struct fwd_app *app, int argc, char **argv, int running)
{
	(void)app, (void)argc, (void)argv, (void)running;
	fwd_show_fwd_stats(stdout);
	return FWD_CMD_CONTINUE;
}

static enum fwd_cmd_action cmd_clear_port_stats(struct fwd_app *app, int argc, char **argv,
                                                int running)
{
	(void)argc, (void)argv, (void)running;
	for (unsigned i = 0; i < app->nb_ports; i++)
		tarn_eth_stats_reset(app->port_ids[i]);
	printf("port statistics cleared\n");
	return FWD_CMD_CONTINUE;
}

static enum fwd_cmd_action cmd_set_fwd(struct fwd_app *app, int argc, char **argv, int running)
{
	(void)argc;
	int m = fwd_mode_parse(argv[0]);
	if (running)
		printf("stop forwarding first\n");
	else if (m < 0)
		printf("unknown mode '%s' (io, mac, macswap, rxonly, txonly, flowgen)\n", argv[0]);
	else if (fwd_streams_build(app, (enum fwd_mode)m) == 0)
		printf("forwarding mode: %s\n", argv[0]);
	return FWD_CMD_CONTINUE;
}

/* ------------------------------------------------------------------------ */
/* The table */

#define ANY_ARGS MAX_WORDS

static const struct fwd_cmd cmds[] = {
	{ "start", "[tx_first]", "start forwarding", 0, ANY_ARGS, cmd_start },
	{ "stop", "", "stop forwarding, print its statistics", 0, ANY_ARGS, cmd_stop },
	{ "show port stats", "all", "port counters", 0, ANY_ARGS, cmd_show_port_stats },
	{ "show port info", "all", "port configuration", 0, ANY_ARGS, cmd_show_port_info },
	{ "show pool", "stats", "mbuf pool", 0, ANY_ARGS, cmd_show_pool },
	{ "show fwd", "stats", "stream counters", 0, ANY_ARGS, cmd_show_fwd },
	{ "clear port stats", "all", "reset port counters", 0, ANY_ARGS, cmd_clear_port_stats },
	{ "set fwd", "MODE", "io, mac, macswap, rxonly, txonly, flowgen", 1, 1, cmd_set_fwd },
	{ "quit", "", "stop and exit", 0, ANY_ARGS, cmd_quit },
	{ "exit", "", NULL, 0, ANY_ARGS, cmd_quit },
	{ "help", "", NULL, 0, ANY_ARGS, cmd_help },
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
		printf("  %-23s %s\n", usage, cmds[i].help);
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
	fwd_show_fwd_stats(stdout);
	fflush(stdout);
}

void fwd_cmdline_loop(struct fwd_app *app)
{
	char line[256];
	printf("tarn-fwd interactive, %s mode; type 'help'\n" PROMPT, fwd_mode_name(fwd.mode));
	fflush(stdout);
	while (!fwd_got_signal()) {
		if (!stdin_line(&app->in, line, sizeof(line), 100))
			continue;
		enum fwd_cmd_action a = cmd_line(app, line, 0);
		if (a == FWD_CMD_QUIT)
			break;
		if (a != FWD_CMD_START && a != FWD_CMD_START_TX_FIRST)
			continue;
		if (a == FWD_CMD_START_TX_FIRST)
			printf("sent %u packets first\n", fwd_tx_first(app));
		printf("forwarding started (%s mode), 'stop' to stop\n" PROMPT,
		       fwd_mode_name(fwd.mode));
		fflush(stdout);
		enum fwd_run_end e = fwd_run(app);
		stopped_summary(app);
		if (e == FWD_END_QUIT || e == FWD_END_SIGNAL)
			break;
		printf(PROMPT);
		fflush(stdout);
	}
}
