/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * json.c - the small JSON writer of json_priv.h: the string escaper (used by
 * telemetry's reply builder too) and a writer that prints to a FILE.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "json_priv.h"

/* Where escaped bytes go: a bounded buffer, or a stream. */
struct sink {
	char *out;
	size_t size;
	size_t len; /* bytes needed so far */
	FILE *f;
};

static void put(struct sink *k, const void *p, size_t n)
{
	if (k->f != NULL)
		fwrite(p, 1, n, k->f);
	else if (k->len + n <= k->size)
		memcpy(k->out + k->len, p, n);
	k->len += n;
}

/* Length of a valid UTF-8 sequence at s[0..n), or 0 if it is not one. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t len;
	uint32_t min, cp;
	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0)
		len = 2, min = 0x80, cp = s[0] & 0x1f;
	else if ((s[0] & 0xf0) == 0xe0)
		len = 3, min = 0x800, cp = s[0] & 0x0f;
	else if ((s[0] & 0xf8) == 0xf0)
		len = 4, min = 0x10000, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* The escape of the control character (C0, DEL or C1) `c`. */
static void put_control(struct sink *k, unsigned char c)
{
	const char *named = c == '\n' ? "\\n" : c == '\t' ? "\\t" : c == '\r' ? "\\r" : NULL;
	if (named != NULL) {
		put(k, named, 2);
	} else {
		char esc[8];
		snprintf(esc, sizeof(esc), "\\u%04x", c);
		put(k, esc, 6);
	}
}

static void escape_to(struct sink *k, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	put(k, "\"", 1);
	for (size_t i = 0; i < n;) {
		const unsigned char c = p[i];
		if (c == '"' || c == '\\') {
			const char esc[2] = { '\\', (char)c };
			put(k, esc, 2);
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			put_control(k, c);
			i++;
		} else if (c == 0xc2 && i + 1 < n && p[i + 1] >= 0x80 && p[i + 1] <= 0x9f) {
			/* a C1 control (U+0080-U+009F), escaped like C0: a terminal
			 * that shows the JSON must not act on it */
			put_control(k, p[i + 1]);
			i += 2;
		} else {
			size_t len = utf8_len(p + i, n - i);
			if (len == 0) {
				put(k, "\\ufffd", 6);
				i++;
			} else {
				put(k, p + i, len);
				i += len;
			}
		}
	}
	put(k, "\"", 1);
}

size_t tarn__json_escape(char *out, size_t size, const char *s, size_t n)
{
	struct sink k = { .out = out, .size = out != NULL ? size : 0 };
	escape_to(&k, s, n);
	return k.len;
}

/* ------------------------------------------------------------------------ */
/* The writer */

void tarn__json_init(struct tarn__json *j, FILE *f, int style)
{
	memset(j, 0, sizeof(*j));
	j->f = f;
	j->spaced = style == TARN__JSON_SPACED;
}

static void misuse(struct tarn__json *j)
{
	if (j->err == 0)
		j->err = -EINVAL;
}

/*
 * Begin an entry: check that `key` fits where it is written, write the
 * separator and the key. Returns 0, or -1 (a misuse, nothing written).
 */
static int entry(struct tarn__json *j, const char *key)
{
	if (j->err != 0)
		return -1;
	if (j->depth == 0) {
		if (key != NULL || j->done) {
			misuse(j);
			return -1;
		}
		return 0;
	}
	const unsigned d = j->depth - 1;
	if ((key != NULL) != (j->is_object[d] != 0)) {
		misuse(j);
		return -1;
	}
	if (j->has_entry[d])
		fputs(j->spaced ? ", " : ",", j->f);
	j->has_entry[d] = 1;
	if (key != NULL) {
		struct sink k = { .f = j->f };
		escape_to(&k, key, strlen(key));
		fputs(j->spaced ? ": " : ":", j->f);
	}
	return 0;
}

/* A scalar was written: at the top level, the value is complete. */
static void scalar_done(struct tarn__json *j)
{
	if (j->depth == 0)
		j->done = 1;
}

static void open_container(struct tarn__json *j, const char *key, int object)
{
	if (j->depth == TARN__JSON_MAX_DEPTH) {
		misuse(j);
		return;
	}
	if (entry(j, key) < 0)
		return;
	fputc(object ? '{' : '[', j->f);
	j->is_object[j->depth] = (uint8_t)object;
	j->has_entry[j->depth] = 0;
	j->depth++;
}

void tarn__json_object_open(struct tarn__json *j, const char *key)
{
	open_container(j, key, 1);
}

void tarn__json_array_open(struct tarn__json *j, const char *key)
{
	open_container(j, key, 0);
}

void tarn__json_close(struct tarn__json *j)
{
	if (j->err != 0)
		return;
	if (j->depth == 0) {
		misuse(j);
		return;
	}
	j->depth--;
	fputc(j->is_object[j->depth] ? '}' : ']', j->f);
	scalar_done(j);
}

void tarn__json_string(struct tarn__json *j, const char *key, const char *s)
{
	if (entry(j, key) < 0)
		return;
	if (s == NULL) {
		fputs("null", j->f);
	} else {
		struct sink k = { .f = j->f };
		escape_to(&k, s, strlen(s));
	}
	scalar_done(j);
}

void tarn__json_uint(struct tarn__json *j, const char *key, uint64_t v)
{
	if (entry(j, key) < 0)
		return;
	fprintf(j->f, "%" PRIu64, v);
	scalar_done(j);
}

void tarn__json_int(struct tarn__json *j, const char *key, int64_t v)
{
	if (entry(j, key) < 0)
		return;
	fprintf(j->f, "%" PRId64, v);
	scalar_done(j);
}

void tarn__json_bool(struct tarn__json *j, const char *key, int v)
{
	if (entry(j, key) < 0)
		return;
	fputs(v ? "true" : "false", j->f);
	scalar_done(j);
}

void tarn__json_null(struct tarn__json *j, const char *key)
{
	if (entry(j, key) < 0)
		return;
	fputs("null", j->f);
	scalar_done(j);
}

void tarn__json_double(struct tarn__json *j, const char *key, double v, int decimals)
{
	if (entry(j, key) < 0)
		return;
	if (isfinite(v))
		fprintf(j->f, "%.*f", decimals < 0 ? 0 : decimals > 17 ? 17 : decimals, v);
	else
		fputs("null", j->f);
	scalar_done(j);
}

int tarn__json_finish(struct tarn__json *j)
{
	while (j->err == 0 && j->depth > 0)
		tarn__json_close(j);
	if (j->err != 0)
		return j->err;
	return ferror(j->f) ? -EIO : 0;
}
