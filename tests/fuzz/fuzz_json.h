/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_json.h - a strict JSON checker (RFC 8259) for the fuzz targets that
 * check telemetry replies: objects, arrays, strings (escapes, valid UTF-8,
 * no control characters), numbers, true/false/null; nesting bounded.
 */
#ifndef TARN_FUZZ_JSON_H
#define TARN_FUZZ_JSON_H

#include <stddef.h>

struct fjson {
	const unsigned char *p, *end;
	unsigned depth;
};

#define FJSON_MAX_DEPTH 64

static int fjson_value(struct fjson *j);

static void fjson_ws(struct fjson *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static int fjson_lit(struct fjson *j, const char *s)
{
	for (; *s != '\0'; s++, j->p++)
		if (j->p >= j->end || *j->p != (unsigned char)*s)
			return 0;
	return 1;
}

static int fjson_hex(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* One UTF-8 sequence (shortest form, no surrogates, <= U+10FFFF). */
static int fjson_utf8(struct fjson *j)
{
	const unsigned char c = *j->p;
	unsigned len, cp, min;
	if (c < 0x80) {
		j->p++;
		return 1;
	}
	if ((c & 0xe0) == 0xc0)
		len = 2, min = 0x80, cp = c & 0x1f;
	else if ((c & 0xf0) == 0xe0)
		len = 3, min = 0x800, cp = c & 0x0f;
	else if ((c & 0xf8) == 0xf0)
		len = 4, min = 0x10000, cp = c & 0x07;
	else
		return 0;
	if ((size_t)(j->end - j->p) < len)
		return 0;
	for (unsigned i = 1; i < len; i++) {
		if ((j->p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (j->p[i] & 0x3fu);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	j->p += len;
	return 1;
}

static int fjson_string(struct fjson *j)
{
	if (j->p >= j->end || *j->p != '"')
		return 0;
	j->p++;
	while (j->p < j->end) {
		const unsigned char c = *j->p;
		if (c == '"') {
			j->p++;
			return 1;
		}
		if (c < 0x20)
			return 0;
		if (c == '\\') {
			j->p++;
			if (j->p >= j->end)
				return 0;
			const unsigned char e = *j->p++;
			if (e == 'u') {
				for (int i = 0; i < 4; i++, j->p++)
					if (j->p >= j->end || !fjson_hex(*j->p))
						return 0;
			} else if (e != '"' && e != '\\' && e != '/' && e != 'b' && e != 'f' &&
			           e != 'n' && e != 'r' && e != 't') {
				return 0;
			}
			continue;
		}
		if (!fjson_utf8(j))
			return 0;
	}
	return 0;
}

static int fjson_digits(struct fjson *j)
{
	const unsigned char *s = j->p;
	while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
		j->p++;
	return j->p > s;
}

static int fjson_number(struct fjson *j)
{
	if (j->p < j->end && *j->p == '-')
		j->p++;
	if (j->p < j->end && *j->p == '0')
		j->p++;
	else if (!fjson_digits(j))
		return 0;
	if (j->p < j->end && *j->p == '.') {
		j->p++;
		if (!fjson_digits(j))
			return 0;
	}
	if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
		j->p++;
		if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
			j->p++;
		if (!fjson_digits(j))
			return 0;
	}
	return 1;
}

/* '{' or '[' already seen at j->p. */
static int fjson_container(struct fjson *j, int dict)
{
	const unsigned char close = dict ? '}' : ']';
	if (++j->depth > FJSON_MAX_DEPTH)
		return 0;
	j->p++;
	fjson_ws(j);
	if (j->p < j->end && *j->p == close) {
		j->p++;
		j->depth--;
		return 1;
	}
	for (;;) {
		fjson_ws(j);
		if (dict) {
			if (!fjson_string(j))
				return 0;
			fjson_ws(j);
			if (j->p >= j->end || *j->p != ':')
				return 0;
			j->p++;
		}
		if (!fjson_value(j))
			return 0;
		fjson_ws(j);
		if (j->p >= j->end)
			return 0;
		if (*j->p == ',') {
			j->p++;
			continue;
		}
		if (*j->p != close)
			return 0;
		j->p++;
		j->depth--;
		return 1;
	}
}

static int fjson_value(struct fjson *j)
{
	fjson_ws(j);
	if (j->p >= j->end)
		return 0;
	switch (*j->p) {
	case '{':
		return fjson_container(j, 1);
	case '[':
		return fjson_container(j, 0);
	case '"':
		return fjson_string(j);
	case 't':
		return fjson_lit(j, "true");
	case 'f':
		return fjson_lit(j, "false");
	case 'n':
		return fjson_lit(j, "null");
	default:
		return fjson_number(j);
	}
}

/* Whether s[0..n) is exactly one JSON value (white space around allowed). */
static inline int fjson_valid(const char *s, size_t n)
{
	struct fjson j = { (const unsigned char *)s, (const unsigned char *)s + n, 0 };
	if (!fjson_value(&j))
		return 0;
	fjson_ws(&j);
	return j.p == j.end;
}

#endif
