/* SPDX-License-Identifier: BSD-3-Clause */
/* log.c - leveled logging with component tags, to stderr or a callback. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "env_priv.h"

static int log_level = TARN_LOG_NOTICE;
static tarn_log_fn log_fn;
static void *log_arg;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const level_names[] = {
	[TARN_LOG_ERR] = "err",   [TARN_LOG_WARNING] = "warning", [TARN_LOG_NOTICE] = "notice",
	[TARN_LOG_INFO] = "info", [TARN_LOG_DEBUG] = "debug",
};

int tarn_log_set_level(int level)
{
	if (level < TARN_LOG_ERR || level > TARN_LOG_DEBUG)
		return -EINVAL;
	__atomic_store_n(&log_level, level, __ATOMIC_RELAXED);
	return 0;
}

int tarn_log_get_level(void)
{
	return __atomic_load_n(&log_level, __ATOMIC_RELAXED);
}

void tarn_log_set_handler(tarn_log_fn fn, void *arg)
{
	pthread_mutex_lock(&log_lock);
	log_fn = fn;
	log_arg = arg;
	pthread_mutex_unlock(&log_lock);
}

int tarn_log_level_parse(const char *s)
{
	if (s == NULL || *s == '\0')
		return -EINVAL;
	for (int l = TARN_LOG_ERR; l <= TARN_LOG_DEBUG; l++)
		if (strcasecmp(s, level_names[l]) == 0)
			return l;
	if (strcasecmp(s, "error") == 0)
		return TARN_LOG_ERR;
	if (strcasecmp(s, "warn") == 0)
		return TARN_LOG_WARNING;
	char *end;
	long v = strtol(s, &end, 10);
	if (*end != '\0' || v < TARN_LOG_ERR || v > TARN_LOG_DEBUG)
		return -EINVAL;
	return (int)v;
}

void tarn_vlog(enum tarn_log_level level, const char *comp, const char *fmt, va_list ap)
{
	if ((int)level > tarn_log_get_level())
		return;
	char msg[1024];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	size_t len = strlen(msg);
	while (len > 0 && msg[len - 1] == '\n')
		msg[--len] = '\0';
	if (comp == NULL)
		comp = "tarn";

	pthread_mutex_lock(&log_lock);
	if (log_fn != NULL) {
		tarn_log_fn fn = log_fn;
		void *arg = log_arg;
		pthread_mutex_unlock(&log_lock);
		fn(level, comp, msg, arg);
		return;
	}
	fprintf(stderr, "tarn: %s: %s%s\n", comp,
	        level == TARN_LOG_ERR       ? "error: "
	        : level == TARN_LOG_WARNING ? "warning: "
	                                    : "",
	        msg);
	pthread_mutex_unlock(&log_lock);
}

void tarn_log(enum tarn_log_level level, const char *comp, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	tarn_vlog(level, comp, fmt, ap);
	va_end(ap);
}
