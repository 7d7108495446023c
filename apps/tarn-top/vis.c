/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vis.c - tarn-top's escaping of what a process sends (vis.h).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "vis.h"

const char *vis(char *out, size_t size, const char *s)
{
	size_t o = 0;
	const unsigned char *p = (const unsigned char *)s;
	while (*p != '\0') {
		char piece[20];
		size_t n = 0, take = 1;
		if (*p >= 0x20 && *p < 0x7f && *p != '\\') {
			piece[n++] = (char)*p;
		} else if (*p == '\\') {
			piece[n++] = '\\';
			piece[n++] = '\\';
		} else if (*p >= 0xc2 && *p <= 0xf4) {
			/* a UTF-8 lead byte: keep the whole sequence if it is valid,
			 * shortest, not a surrogate, and not a C1 control */
			size_t len = *p >= 0xf0 ? 4 : *p >= 0xe0 ? 3 : 2;
			uint32_t cp = *p & (0x7f >> len);
			size_t i = 1;
			for (; i < len && (p[i] & 0xc0) == 0x80; i++)
				cp = cp << 6 | (p[i] & 0x3f);
			const uint32_t min = len == 2 ? 0xa0 : len == 3 ? 0x800 : 0x10000;
			if (i == len && cp >= min && cp <= 0x10ffff &&
			    !(cp >= 0xd800 && cp <= 0xdfff)) {
				memcpy(piece, p, len);
				n = take = len;
			}
		}
		if (n == 0)
			n = (size_t)snprintf(piece, sizeof(piece), "\\x%02x", *p);
		if (o + n >= size)
			break;
		memcpy(out + o, piece, n);
		o += n;
		p += take;
	}
	if (size > 0)
		out[o] = '\0';
	return out;
}
