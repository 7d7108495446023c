/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * app_util.h - internal to tarn's apps (apps/common, a static library that
 * is never installed): the small helpers tarn-fwd, tarn-top, tarn-exporter
 * and tarn-doctor share, so each program's option errors read alike. No
 * promise of stability. The examples (apps/examples) do not use it: each is
 * one file a user copies.
 */
#ifndef TARN_APP_UTIL_H
#define TARN_APP_UTIL_H

#include <stddef.h>

/* Monotonic seconds (CLOCK_MONOTONIC). */
double app_now_s(void);

/* Copy `s` (NULL: "") into dst[size] (size >= 1), cut to size - 1 bytes. */
void app_copy_str(char *dst, size_t size, const char *s);

/* Install `handler` (empty mask, no SA_RESTART) for each signal of `sigs`,
 * a list ending with 0. */
void app_signals(void (*handler)(int), const int *sigs);

/*
 * Option errors, each printed on stderr as "PROG: ... (see --help)" and
 * returning -1:
 *   app_bad_value: "--NAME 'VAL': expected WHAT";
 *   app_opt_error: getopt_long's answer `c` for argv[optind - 1]: ':' a
 *     value missing ("option '...' needs a value"), anything else "unknown
 *     option '...'";
 *   app_no_operand: argv[optind] is left after the options ("unexpected
 *     argument '...'"); returns 0 (nothing printed) when none is left.
 */
int app_bad_value(const char *prog, const char *name, const char *val, const char *what);
int app_opt_error(const char *prog, int c, char *const *argv);
int app_no_operand(const char *prog, int argc, char *const *argv);

/* A whole number of decimal digits, from `min` to `max`, into *out: 0, or
 * -1 with app_bad_value()'s "a whole number from MIN to MAX". */
int app_parse_long(const char *prog, const char *name, const char *val, long min, long max,
                   long *out);

/* Seconds as strtod() reads them, from `min` to `max`, into *out: 0, or -1
 * with app_bad_value()'s "seconds from MIN to MAX". */
int app_parse_seconds(const char *prog, const char *name, const char *val, double min, double max,
                      double *out);

#endif /* TARN_APP_UTIL_H */
