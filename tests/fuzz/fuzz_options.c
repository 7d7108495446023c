/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_options: the tarn option parser. The input is split at NUL and
 * newline bytes into an argv ("prog" first) and given to
 * tarn_config_parse_args(); the same strings go through the size parser.
 * A piece "TARN_<NAME>=<value>" naming one of the option variables is set
 * in the environment instead, for tarn_config_init() (issue 17: the
 * variables and the options must agree).
 * Checked: no crash, no out-of-bounds access (ASan), and the parser's
 * contract: on success argc never grows and argv keeps only non-tarn
 * arguments, in order, each one of the input's; a variable is refused by
 * tarn_config_init() exactly when its value is refused as the option's.
 */
#include <string.h>

#include "env_priv.h"
#include "fuzz_common.h"

#define MAX_ARGS 64

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	tarn_log_set_handler(fuzz_log_drop, NULL);
	return 0;
}

/* The option variables and their options ("": no option takes the value). */
static const struct {
	const char *var, *opt;
} vars[] = {
	{ "TARN_LCORES", "--lcores" },
	{ "TARN_SOCKET_MEM", "--socket-mem" },
	{ "TARN_HUGE_DIR", "--huge-dir" },
	{ "TARN_HUGE", "--huge" },
	{ "TARN_HUGE_SIZE", "--huge-size" },
	{ "TARN_LOG_LEVEL", "--log-level" },
	{ "TARN_FILE_PREFIX", "--file-prefix" },
	{ "TARN_IOVA_MODE", "--iova-mode" },
	{ "TARN_NO_TELEMETRY", "" },
};
#define N_VARS (sizeof(vars) / sizeof(vars[0]))

/* Is `s` "VAR=value" for one of vars[]? Its index, or -1. */
static int var_of(const char *s)
{
	for (size_t i = 0; i < N_VARS; i++) {
		size_t n = strlen(vars[i].var);
		if (strncmp(s, vars[i].var, n) == 0 && s[n] == '=')
			return (int)i;
	}
	return -1;
}

/* The variable alone: refused by tarn_config_init() exactly when its
 * option refuses the value. */
static void check_var(int v, const char *val)
{
	for (size_t i = 0; i < N_VARS; i++)
		unsetenv(vars[i].var);
	setenv(vars[v].var, val, 1);
	struct tarn_config cfg;
	const int env_bad = tarn_config_init(&cfg) < 0;
	unsetenv(vars[v].var);
	if (val[0] == '\0') {
		if (env_bad)
			abort(); /* empty: as unset */
		return;
	}
	if (vars[v].opt[0] == '\0')
		return;
	char *arg = malloc(strlen(vars[v].opt) + strlen(val) + 2);
	if (arg == NULL)
		return;
	sprintf(arg, "%s=%s", vars[v].opt, val);
	char *argv[] = { "prog", arg, NULL };
	int argc = 2;
	struct tarn_config c2;
	tarn_config_init(&c2);
	const int opt_bad = tarn_config_parse_args(&c2, &argc, argv) < 0;
	free(arg);
	if (env_bad != opt_bad)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 4096)
		return 0;
	char *buf = malloc(size + 1);
	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	char *argv[MAX_ARGS + 2], *orig[MAX_ARGS + 2];
	int argc = 0;
	argv[argc++] = "prog";
	char *p = buf, *end = buf + size;
	while (p < end && argc < MAX_ARGS) {
		char *q = p;
		while (q < end && *q != '\0' && *q != '\n')
			q++;
		*q = '\0';
		int v = var_of(p);
		if (v >= 0)
			check_var(v, p + strlen(vars[v].var) + 1);
		else
			argv[argc++] = p;
		p = q + 1;
	}
	for (size_t i = 0; i < N_VARS; i++)
		unsetenv(vars[i].var);
	argv[argc] = NULL;
	memcpy(orig, argv, sizeof(char *) * (size_t)(argc + 1));
	const int argc0 = argc;

	struct tarn_config cfg;
	tarn_config_init(&cfg);
	int rc = tarn_config_parse_args(&cfg, &argc, argv);
	if (rc >= 0) {
		if (argc > argc0 || argc < 1 || argv[argc] != NULL)
			abort();
		/* What is left is a subsequence of the input's arguments. */
		int j = 0;
		for (int i = 0; i < argc; i++) {
			while (j < argc0 && orig[j] != argv[i])
				j++;
			if (j == argc0)
				abort();
			j++;
		}
	}
	for (int i = 1; i < argc0; i++) {
		uint64_t v;
		(void)tarn__parse_size(orig[i], &v);
	}
	free(buf);
	return 0;
}
