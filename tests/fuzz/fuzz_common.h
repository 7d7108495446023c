/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_common.h - what the libFuzzer targets share: quiet logging and a
 * tarn initialised once per process on normal pages.
 */
#ifndef TARN_FUZZ_COMMON_H
#define TARN_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <tarn/tarn.h>

static void fuzz_log_drop(enum tarn_log_level level, const char *comp, const char *msg, void *arg)
{
	(void)level, (void)comp, (void)msg, (void)arg;
}

/* Logging off (errors are expected by the thousand); tarn started once,
 * without its telemetry socket. */
static inline void fuzz_init_tarn(const char *prefix)
{
	tarn_log_set_handler(fuzz_log_drop, NULL);
	struct tarn_config cfg;
	tarn_config_init(&cfg);
	cfg.huge_policy = TARN_HUGE_NONE;
	cfg.no_pin_main = 1;
	/* No telemetry socket: a client of another process would open a
	 * descriptor in the middle of a run (fuzz_pcap counts them). */
	cfg.no_telemetry = 1;
	snprintf(cfg.lcores, sizeof(cfg.lcores), "0");
	snprintf(cfg.file_prefix, sizeof(cfg.file_prefix), "%s", prefix);
	if (tarn_init(&cfg) < 0) {
		fprintf(stderr, "fuzz: tarn_init failed\n");
		abort();
	}
}

#endif
