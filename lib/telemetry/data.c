/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * data.c - the reply builder: JSON written straight into a fixed buffer.
 *
 * Every entry is written after a mark; if it does not fit together with the
 * closing brackets of every open container, the buffer goes back to the mark
 * and the call returns -ENOSPC, so a cut reply is still valid JSON.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "telemetry_priv.h"

void tarn__tel_data_init(struct tarn_telemetry_data *d, char *buf, size_t cap, const char *cmd)
{
	memset(d, 0, sizeof(*d));
	d->buf = buf;
	d->cap = cap;
	d->cmd = cmd;
}

/* ------------------------------------------------------------------------ */
/* Low-level writing: never past cap; `over` says an entry did not fit. */

static void put_mem(struct tarn_telemetry_data *d, const char *s, size_t n)
{
	if (d->over || d->len + n > d->cap) {
		d->over = 1;
		return;
	}
	memcpy(d->buf + d->len, s, n);
	d->len += n;
}

static void put_str(struct tarn_telemetry_data *d, const char *s)
{
	put_mem(d, s, strlen(s));
}

static void put_json_string(struct tarn_telemetry_data *d, const char *s)
{
	if (s == NULL) {
		put_str(d, "null");
		return;
	}
	if (d->over)
		return;
	size_t n = strlen(s);
	size_t need = tarn__json_escape(d->buf + d->len, d->cap - d->len, s, n);
	if (d->len + need > d->cap)
		d->over = 1;
	else
		d->len += need;
}

static int misuse(struct tarn_telemetry_data *d, const char *what)
{
	TARN__ERR(TEL_LOG, "reply to '%s': %s", d->cmd ? d->cmd : "?", what);
	return -EINVAL;
}

/* Start an entry of the current container, which must be of kind `kind`;
 * for a dictionary, write the key. Returns 0 with *mark set, or an error. */
static int entry_begin(struct tarn_telemetry_data *d, int kind, const char *name, size_t *mark)
{
	if (d->dead > 0)
		return -ENOSPC;
	if (d->depth == 0)
		return misuse(d, "entry added before tarn_telemetry_start_dict/array()");
	if (d->kind[d->depth - 1] != kind)
		return misuse(d, kind == TEL_DICT ? "dictionary entry added to an array"
		                                  : "array entry added to a dictionary");
	if (kind == TEL_DICT) {
		if (name == NULL || name[0] == '\0')
			return misuse(d, "dictionary key is NULL or empty");
		if (strnlen(name, TARN_TELEMETRY_NAME_MAX) >= TARN_TELEMETRY_NAME_MAX)
			return misuse(d, "dictionary key longer than TARN_TELEMETRY_NAME_MAX-1");
	}
	*mark = d->len;
	d->over = 0;
	if (d->count[d->depth - 1] > 0)
		put_mem(d, ",", 1);
	if (kind == TEL_DICT) {
		put_json_string(d, name);
		put_mem(d, ":", 1);
	}
	return 0;
}

/* End an entry: keep it if it fits with `extra` more closing bytes and the
 * closing brackets of the open containers, else take it back. */
static int entry_end(struct tarn_telemetry_data *d, size_t mark, size_t extra)
{
	if (d->over || d->len + d->depth + extra > d->cap) {
		d->len = mark;
		d->over = 0;
		d->truncated = 1;
		return -ENOSPC;
	}
	d->count[d->depth - 1]++;
	return 0;
}

static int start(struct tarn_telemetry_data *d, int kind)
{
	if (d == NULL)
		return -EINVAL;
	if (d->started)
		return misuse(d, "reply started twice");
	if (d->cap < 2)
		return -ENOSPC;
	d->started = 2;
	d->depth = 1;
	d->kind[0] = (uint8_t)kind;
	d->count[0] = 0;
	put_mem(d, kind == TEL_DICT ? "{" : "[", 1);
	return 0;
}

int tarn_telemetry_start_dict(struct tarn_telemetry_data *d)
{
	return start(d, TEL_DICT);
}

int tarn_telemetry_start_array(struct tarn_telemetry_data *d)
{
	return start(d, TEL_ARRAY);
}

int tarn_telemetry_string(struct tarn_telemetry_data *d, const char *s)
{
	if (d == NULL)
		return -EINVAL;
	if (d->started)
		return misuse(d, "reply started twice");
	if (s == NULL)
		return misuse(d, "tarn_telemetry_string(NULL)");
	d->over = 0;
	put_json_string(d, s);
	if (d->over) {
		/* As much of the string as fits, still a valid JSON string. */
		d->over = 0;
		d->len = 0;
		d->truncated = 1;
		size_t n = strlen(s);
		while (n > 0 && tarn__json_escape(NULL, 0, s, n) > d->cap)
			n = n > 64 ? n - n / 8 : n - 1;
		/* not even "" fits a buffer under 2 bytes: nothing (null) */
		if (tarn__json_escape(NULL, 0, s, n) <= d->cap)
			d->len = tarn__json_escape(d->buf, d->cap, s, n);
		d->started = 1;
		return -ENOSPC;
	}
	d->started = 1;
	return 0;
}

/* Write one scalar entry; `val` is the JSON text of the value. */
static int add_scalar(struct tarn_telemetry_data *d, int kind, const char *name, const char *val,
                      const char *str)
{
	if (d == NULL)
		return -EINVAL;
	size_t mark;
	int rc = entry_begin(d, kind, name, &mark);
	if (rc < 0)
		return rc;
	if (val != NULL)
		put_str(d, val);
	else
		put_json_string(d, str);
	return entry_end(d, mark, 0);
}

static const char *fmt_int(char *b, size_t n, int64_t v)
{
	snprintf(b, n, "%" PRId64, v);
	return b;
}

static const char *fmt_uint(char *b, size_t n, uint64_t v)
{
	snprintf(b, n, "%" PRIu64, v);
	return b;
}

static const char *fmt_double(char *b, size_t n, double v)
{
	if (!isfinite(v))
		return "null";
	snprintf(b, n, "%.10g", v);
	return b;
}

int tarn_telemetry_dict_int(struct tarn_telemetry_data *d, const char *name, int64_t v)
{
	char b[32];
	return add_scalar(d, TEL_DICT, name, fmt_int(b, sizeof(b), v), NULL);
}

int tarn_telemetry_dict_uint(struct tarn_telemetry_data *d, const char *name, uint64_t v)
{
	char b[32];
	return add_scalar(d, TEL_DICT, name, fmt_uint(b, sizeof(b), v), NULL);
}

int tarn_telemetry_dict_double(struct tarn_telemetry_data *d, const char *name, double v)
{
	char b[40];
	return add_scalar(d, TEL_DICT, name, fmt_double(b, sizeof(b), v), NULL);
}

int tarn_telemetry_dict_bool(struct tarn_telemetry_data *d, const char *name, int v)
{
	return add_scalar(d, TEL_DICT, name, v ? "true" : "false", NULL);
}

int tarn_telemetry_dict_string(struct tarn_telemetry_data *d, const char *name, const char *s)
{
	return add_scalar(d, TEL_DICT, name, s == NULL ? "null" : NULL, s);
}

int tarn_telemetry_array_int(struct tarn_telemetry_data *d, int64_t v)
{
	char b[32];
	return add_scalar(d, TEL_ARRAY, NULL, fmt_int(b, sizeof(b), v), NULL);
}

int tarn_telemetry_array_uint(struct tarn_telemetry_data *d, uint64_t v)
{
	char b[32];
	return add_scalar(d, TEL_ARRAY, NULL, fmt_uint(b, sizeof(b), v), NULL);
}

int tarn_telemetry_array_double(struct tarn_telemetry_data *d, double v)
{
	char b[40];
	return add_scalar(d, TEL_ARRAY, NULL, fmt_double(b, sizeof(b), v), NULL);
}

int tarn_telemetry_array_bool(struct tarn_telemetry_data *d, int v)
{
	return add_scalar(d, TEL_ARRAY, NULL, v ? "true" : "false", NULL);
}

int tarn_telemetry_array_string(struct tarn_telemetry_data *d, const char *s)
{
	return add_scalar(d, TEL_ARRAY, NULL, s == NULL ? "null" : NULL, s);
}

/* Open a nested container as an entry of the current one. */
static int open_nested(struct tarn_telemetry_data *d, int parent, const char *name, int kind)
{
	if (d == NULL)
		return -EINVAL;
	if (d->dead > 0) {
		d->dead++;
		return -ENOSPC;
	}
	if (d->depth >= TARN_TELEMETRY_MAX_DEPTH && d->depth > 0)
		return misuse(d, "containers nested deeper than TARN_TELEMETRY_MAX_DEPTH");
	size_t mark;
	int rc = entry_begin(d, parent, name, &mark);
	if (rc < 0)
		return rc;
	put_mem(d, kind == TEL_DICT ? "{" : "[", 1);
	/* one more closing bracket to reserve: the new container's */
	rc = entry_end(d, mark, 1);
	if (rc < 0) {
		d->dead = 1;
		return rc;
	}
	d->kind[d->depth] = (uint8_t)kind;
	d->count[d->depth] = 0;
	d->depth++;
	return 0;
}

int tarn_telemetry_dict_open_dict(struct tarn_telemetry_data *d, const char *name)
{
	return open_nested(d, TEL_DICT, name, TEL_DICT);
}

int tarn_telemetry_dict_open_array(struct tarn_telemetry_data *d, const char *name)
{
	return open_nested(d, TEL_DICT, name, TEL_ARRAY);
}

int tarn_telemetry_array_open_dict(struct tarn_telemetry_data *d)
{
	return open_nested(d, TEL_ARRAY, NULL, TEL_DICT);
}

int tarn_telemetry_array_open_array(struct tarn_telemetry_data *d)
{
	return open_nested(d, TEL_ARRAY, NULL, TEL_ARRAY);
}

int tarn_telemetry_close(struct tarn_telemetry_data *d)
{
	if (d == NULL)
		return -EINVAL;
	if (d->dead > 0) {
		d->dead--;
		return 0;
	}
	if (d->depth <= 1)
		return misuse(d, "tarn_telemetry_close() with no nested container open");
	d->depth--;
	/* room was reserved when it was opened */
	d->buf[d->len++] = d->kind[d->depth] == TEL_DICT ? '}' : ']';
	return 0;
}

size_t tarn__tel_data_finish(struct tarn_telemetry_data *d)
{
	if (!d->started)
		return 0;
	d->dead = 0;
	while (d->depth > 0) {
		d->depth--;
		d->buf[d->len++] = d->kind[d->depth] == TEL_DICT ? '}' : ']';
	}
	if (d->truncated) {
		/* Said once as a warning (a poller would repeat it every second). */
		static int warned;
		const int first = !__atomic_exchange_n(&warned, 1, __ATOMIC_RELAXED);
		tarn_log(first ? TARN_LOG_WARNING : TARN_LOG_DEBUG, TEL_LOG,
		         "reply to '%s' cut at %zu bytes (max_output_len): entries left out",
		         d->cmd ? d->cmd : "?", d->len);
	}
	return d->len;
}
