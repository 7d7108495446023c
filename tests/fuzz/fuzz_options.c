/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_options: the tarn option parser. The input is split at NUL and
 * newline bytes into an argv ("prog" first) and given to
 * tarn_config_parse_args(); the same strings go through the size parser.
 * Checked: no crash, no out-of-bounds access (ASan), and the parser's
 * contract: on success argc never grows and argv keeps only non-tarn
 * arguments, in order, each one of the input's.
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
		argv[argc++] = p;
		p = q + 1;
	}
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
