/* SPDX-License-Identifier: BSD-3-Clause */
/* app_util.c - the helpers of app_util.h. */
#include "app_util.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

double app_now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void app_copy_str(char *dst, size_t size, const char *s)
{
	if (s == NULL)
		s = "";
	size_t n = strnlen(s, size - 1);
	memcpy(dst, s, n);
	dst[n] = '\0';
}

void app_signals(void (*handler)(int), const int *sigs)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = handler;
	sigemptyset(&sa.sa_mask);
	for (; *sigs != 0; sigs++)
		sigaction(*sigs, &sa, NULL);
}

int app_bad_value(const char *prog, const char *name, const char *val, const char *what)
{
	fprintf(stderr, "%s: --%s '%s': expected %s (see --help)\n", prog, name, val, what);
	return -1;
}

int app_opt_error(const char *prog, int c, char *const *argv)
{
	fprintf(stderr, "%s: %s '%s'%s (see --help)\n", prog,
	        c == ':' ? "option" : "unknown option", argv[optind - 1],
	        c == ':' ? " needs a value" : "");
	return -1;
}

int app_no_operand(const char *prog, int argc, char *const *argv)
{
	if (optind >= argc)
		return 0;
	fprintf(stderr, "%s: unexpected argument '%s' (see --help)\n", prog, argv[optind]);
	return -1;
}

int app_parse_long(const char *prog, const char *name, const char *val, long min, long max,
                   long *out)
{
	char *end, what[80];
	snprintf(what, sizeof(what), "a whole number from %ld to %ld", min, max);
	if (val[0] < '0' || val[0] > '9')
		return app_bad_value(prog, name, val, what);
	errno = 0;
	long v = strtol(val, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return app_bad_value(prog, name, val, what);
	*out = v;
	return 0;
}

int app_parse_seconds(const char *prog, const char *name, const char *val, double min, double max,
                      double *out)
{
	char *end, what[64];
	snprintf(what, sizeof(what), "seconds from %g to %g", min, max);
	errno = 0;
	double d = strtod(val, &end);
	if (errno != 0 || end == val || *end != '\0' || !(d >= min && d <= max))
		return app_bad_value(prog, name, val, what);
	*out = d;
	return 0;
}
