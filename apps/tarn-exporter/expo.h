/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * expo.h - tarn-exporter's exposition: the model of a collection written as
 * OpenMetrics 1.0.0 text or as Prometheus text format 0.0.4. Both carry the
 * same families, samples and labels; docs/metrics.md lists them.
 */
#ifndef TARN_EXPORTER_EXPO_H
#define TARN_EXPORTER_EXPO_H

#include <stddef.h>
#include <stdint.h>

#include "collect.h"

/* HTTP status codes the exporter answers with, counted by code. */
#define EXPO_NCODES 10
extern const int expo_codes[EXPO_NCODES];
/* Why a connection was closed without an answer. */
enum expo_drop { DROP_TIMEOUT, DROP_EVICTED, DROP_FULL, DROP_WRITE, EXPO_NDROPS };
extern const char *const expo_drop_names[EXPO_NDROPS];

/* The exporter's own figures. */
struct expo_self {
	const char *version;
	uint64_t responses[EXPO_NCODES]; /* by expo_codes[] */
	uint64_t dropped[EXPO_NDROPS];
	uint64_t collections;
	uint64_t scrapes[2]; /* /metrics answered: [0] Prometheus text, [1] OpenMetrics */
};

/* The index of `code` in expo_codes[] (the last one, 500, if not listed). */
unsigned expo_code_index(int code);

/*
 * Write the metrics. `m` may be NULL (no collection: only the exporter's
 * own figures). Returns a malloc'd buffer of *len bytes, or NULL (out of
 * memory, or more than EXPO_MAX_BYTES).
 */
#define EXPO_MAX_BYTES (64u << 20)
char *expo_render(const struct x_model *m, const struct expo_self *self, int openmetrics,
                  size_t *len);

#endif /* TARN_EXPORTER_EXPO_H */
