/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_top: what tarn-top does with the bytes a process sends it (issue 17:
 * a process of another user, or a hostile one, chooses them). The input is
 * one reply: tarn-top's JSON reader parses it (apps/tarn-top/json.c) and
 * every string and key goes through its escaping for the terminal
 * (apps/tarn-top/vis.c), whole and cut to a size taken from the input.
 *
 * Checked: the reader never reads or writes out of bounds (ASan); what the
 * escaping writes holds no control character (C0, DEL, C1 in UTF-8), only
 * valid UTF-8, and decodes (\\ and \xHH) back to the string exactly; a cut
 * is a prefix of the whole, cut between two escapes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "vis.h"

/* Decode vis() output into out; its length, or -1 if malformed. */
static long unvis(const char *s, char *out)
{
	size_t n = 0;
	while (*s != '\0') {
		if (*s != '\\') {
			out[n++] = *s++;
			continue;
		}
		if (s[1] == '\\') {
			out[n++] = '\\';
			s += 2;
			continue;
		}
		if (s[1] != 'x' || s[2] == '\0' || s[3] == '\0')
			return -1;
		char hex[3] = { s[2], s[3], 0 }, *end;
		long v = strtol(hex, &end, 16);
		if (*end != '\0' || v <= 0)
			return -1;
		out[n++] = (char)v;
		s += 4;
	}
	out[n] = '\0';
	return (long)n;
}

/* No control character, valid UTF-8 of code points >= U+00A0 only. */
static int clean(const unsigned char *p)
{
	while (*p != '\0') {
		if (*p < 0x80) {
			if (*p < 0x20 || *p == 0x7f)
				return 0;
			p++;
			continue;
		}
		size_t len = *p >= 0xf0 ? 4 : *p >= 0xe0 ? 3 : *p >= 0xc2 ? 2 : 0;
		if (len == 0 || *p > 0xf4)
			return 0;
		uint32_t cp = *p & (0x7f >> len);
		for (size_t i = 1; i < len; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (p[i] & 0x3f);
		}
		if (cp < 0xa0 || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff ||
		    (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000))
			return 0;
		p += len;
	}
	return 1;
}

static void check(const char *s, size_t cut)
{
	size_t len = strlen(s);
	size_t size = 4 * len + 1;
	char *out = malloc(size), *back = malloc(len + 1), *part = malloc(size);
	if (out == NULL || back == NULL || part == NULL)
		abort();
	vis(out, size, s);
	if (!clean((const unsigned char *)out))
		abort();
	if (unvis(out, back) != (long)len || memcmp(back, s, len) != 0)
		abort();
	/* cut: a prefix of the whole that decodes to a prefix of s */
	cut %= size + 1;
	vis(part, cut, s);
	if (cut > 0) {
		size_t pl = strlen(part);
		if (pl >= cut || strncmp(part, out, pl) != 0)
			abort();
		long bl = unvis(part, back);
		if (bl < 0 || memcmp(back, s, (size_t)bl) != 0)
			abort();
	}
	free(out);
	free(back);
	free(part);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 65536)
		return 0;
	size_t cut = data[0];
	struct jdoc *d = jdoc_parse((const char *)data + 1, size - 1, NULL, 0);
	if (d == NULL)
		return 0;
	for (const struct jval *v = d->nodes; v != NULL; v = v->all) {
		if (v->type == J_STR && v->str != NULL)
			check(v->str, cut);
		if (v->key != NULL)
			check(v->key, cut);
	}
	jdoc_free(d);
	return 0;
}
