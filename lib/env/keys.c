/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * keys.c - typed keys declared in one table (keys_priv.h): read a value into
 * its field, write the defaults, say the help and the docs' rows.
 *
 * Every message a user sees about a value is made here, from the table, so
 * a key's range is said the same way by the error, the help and the docs.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "keys_priv.h"

const struct tarn__key *tarn__key_find(const struct tarn__key *keys, const char *name)
{
	for (const struct tarn__key *k = keys; k != NULL && k->name != NULL; k++)
		if (strcmp(k->name, name) == 0)
			return k;
	return NULL;
}

/* Store `v` in the unsigned field of `size` bytes at `p` (size checked by
 * tarn__keys_check: 1, 2, 4 or 8, and max fits). */
static void store_uint(void *p, size_t size, uint64_t v)
{
	switch (size) {
	case 1: {
		uint8_t x = (uint8_t)v;
		memcpy(p, &x, 1);
		break;
	}
	case 2: {
		uint16_t x = (uint16_t)v;
		memcpy(p, &x, 2);
		break;
	}
	case 4: {
		uint32_t x = (uint32_t)v;
		memcpy(p, &x, 4);
		break;
	}
	default:
		memcpy(p, &v, 8);
		break;
	}
}

uint64_t tarn__key_uint(const struct tarn__key *k, const void *base)
{
	const uint8_t *p = (const uint8_t *)base + k->offset;
	uint8_t b1;
	uint16_t b2;
	uint32_t b4;
	uint64_t b8;
	int e;

	if (k->type == TARN__KEY_ENUM) {
		memcpy(&e, p, sizeof(e));
		return (uint64_t)(int64_t)e;
	}
	switch (k->size) {
	case 1:
		memcpy(&b1, p, 1);
		return b1;
	case 2:
		memcpy(&b2, p, 2);
		return b2;
	case 4:
		memcpy(&b4, p, 4);
		return b4;
	default:
		memcpy(&b8, p, 8);
		return b8;
	}
}

void tarn__keys_defaults(const struct tarn__key *keys, void *base)
{
	for (const struct tarn__key *k = keys; k != NULL && k->name != NULL; k++) {
		uint8_t *p = (uint8_t *)base + k->offset;
		if (k->type == TARN__KEY_UINT) {
			store_uint(p, k->size, k->def);
		} else if (k->type == TARN__KEY_ENUM) {
			const int v = (int)k->def;
			memcpy(p, &v, sizeof(v));
		}
	}
}

/* Append to buf[*off..size) like snprintf; *off may pass size (truncated). */
static void add(char *buf, size_t size, size_t *off, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void add(char *buf, size_t size, size_t *off, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	const int n =
	    vsnprintf(*off < size ? buf + *off : NULL, *off < size ? size - *off : 0, fmt, ap);
	va_end(ap);
	if (n > 0)
		*off += (size_t)n;
}

/* "w1 (help), w2 or w3"; `quote`: each word in backquotes (docs). */
static void words_list(const struct tarn__key *k, char *buf, size_t size, size_t *off, int quote)
{
	unsigned n = 0, i = 0;
	for (const struct tarn__key_word *w = k->words; w->word != NULL; w++)
		n += !w->alias;
	for (const struct tarn__key_word *w = k->words; w->word != NULL; w++) {
		if (w->alias)
			continue;
		add(buf, size, off, "%s%s%s%s",
		    i == 0       ? ""
		    : i + 1 == n ? " or "
		                 : ", ",
		    quote ? "`" : "", w->word, quote ? "`" : "");
		if (w->help != NULL)
			add(buf, size, off, " (%s)", w->help);
		i++;
	}
}

static int parse_uint(const struct tarn__key *k, const char *value, uint64_t *out, char *why,
                      size_t why_size)
{
	/* Digits only: strtoull alone would take "-1", " 5" and "0x10". */
	int ok = value[0] != '\0';
	for (const char *c = value; *c != '\0'; c++)
		if (!isdigit((unsigned char)*c))
			ok = 0;
	uint64_t v = 0;
	if (ok) {
		char *end;
		errno = 0;
		v = strtoull(value, &end, 10);
		ok = errno == 0 && *end == '\0';
	}
	if (!ok || v < k->min || v > k->max) {
		size_t off = 0;
		add(why, why_size, &off, "expected a decimal number from %" PRIu64 " to %" PRIu64,
		    k->min, k->max);
		if (k->align > 1)
			add(why, why_size, &off, ", a multiple of %" PRIu64, k->align);
		return -EINVAL;
	}
	if (k->align > 1 && v % k->align != 0) {
		snprintf(why, why_size, "not a multiple of %" PRIu64, k->align);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

int tarn__key_parse(const struct tarn__key *k, const char *value, void *base, char *why,
                    size_t why_size)
{
	uint8_t *p = (uint8_t *)base + k->offset;
	uint64_t v;
	size_t off = 0;

	switch (k->type) {
	case TARN__KEY_UINT:
		if (parse_uint(k, value, &v, why, why_size) < 0)
			return -EINVAL;
		store_uint(p, k->size, v);
		return 0;
	case TARN__KEY_ENUM:
		for (const struct tarn__key_word *w = k->words; w->word != NULL; w++) {
			if (strcmp(w->word, value) == 0) {
				memcpy(p, &w->value, sizeof(w->value));
				return 0;
			}
		}
		add(why, why_size, &off, "expected ");
		words_list(k, why, why_size, &off, 0);
		return -EINVAL;
	case TARN__KEY_STR: {
		const size_t len = strlen(value);
		if (len == 0 || len >= k->size) {
			snprintf(why, why_size, "expected 1 to %zu characters", k->size - 1);
			return -EINVAL;
		}
		memcpy(p, value, len + 1);
		return 0;
	}
	case TARN__KEY_CUSTOM:
		return k->parse(value, p, k->size, why, why_size) < 0 ? -EINVAL : 0;
	}
	snprintf(why, why_size, "key of an unknown type");
	return -EINVAL;
}

int tarn__keys_check(const struct tarn__key *keys, char *why, size_t why_size)
{
	for (const struct tarn__key *k = keys; k != NULL && k->name != NULL; k++) {
		const char *bad = NULL;
		if (tarn__key_find(keys, k->name) != k)
			bad = "declared twice";
		else if (k->help == NULL)
			bad = "has no help";
		else if (k->type == TARN__KEY_UINT &&
		         (k->size == 3 || k->size == 0 || k->size > 8 || (k->size & (k->size - 1))))
			bad = "is a number in a field that is not 1, 2, 4 or 8 bytes";
		else if (k->type == TARN__KEY_UINT && k->size < 8 && k->max >> (8 * k->size) != 0)
			bad = "has a max its field cannot hold";
		else if (k->type == TARN__KEY_UINT && k->min > k->max)
			bad = "has min > max";
		else if (k->type == TARN__KEY_UINT && k->size < 8 && k->def >> (8 * k->size) != 0)
			bad = "has a default its field cannot hold";
		else if (k->type == TARN__KEY_ENUM &&
		         (k->words == NULL || k->words[0].word == NULL || k->words[0].alias))
			bad = "is an ENUM without words (or with an alias first)";
		else if (k->type == TARN__KEY_ENUM && k->size != sizeof(int))
			bad = "is an ENUM in a field that is not an int";
		else if (k->type == TARN__KEY_STR && k->size < 2)
			bad = "is a string in a field shorter than 2 bytes";
		else if (k->type == TARN__KEY_CUSTOM && k->parse == NULL)
			bad = "is CUSTOM without a parser";
		if (bad == NULL && k->type == TARN__KEY_ENUM) {
			bad = "has a default that is not one of its words";
			for (const struct tarn__key_word *w = k->words; w->word != NULL; w++)
				if ((uint64_t)(int64_t)w->value == k->def && !w->alias)
					bad = NULL;
		}
		if (bad != NULL) {
			snprintf(why, why_size, "key '%s' %s", k->name, bad);
			return -EINVAL;
		}
	}
	return 0;
}

int tarn__key_syntax(const struct tarn__key *k, char *buf, size_t size)
{
	size_t off = 0;
	add(buf, size, &off, "%s=", k->name);
	if (k->metavar != NULL) {
		add(buf, size, &off, "%s", k->metavar);
	} else if (k->type == TARN__KEY_ENUM) {
		unsigned i = 0;
		for (const struct tarn__key_word *w = k->words; w->word != NULL; w++)
			if (!w->alias)
				add(buf, size, &off, "%s%s", i++ ? "|" : "", w->word);
	} else {
		add(buf, size, &off, "%s", k->type == TARN__KEY_UINT ? "N" : "VALUE");
	}
	return (int)off;
}

int tarn__key_values(const struct tarn__key *k, char *buf, size_t size)
{
	size_t off = 0;
	if (size > 0)
		buf[0] = '\0';
	if (k->values != NULL) {
		add(buf, size, &off, "%s", k->values);
		return (int)off;
	}
	switch (k->type) {
	case TARN__KEY_UINT:
		add(buf, size, &off, "%" PRIu64 "%s%" PRIu64, k->min,
		    k->max == k->min + 1 ? " or " : "-", k->max);
		if (k->align > 1)
			add(buf, size, &off, ", a multiple of %" PRIu64, k->align);
		break;
	case TARN__KEY_ENUM:
		words_list(k, buf, size, &off, 1);
		break;
	case TARN__KEY_STR:
		add(buf, size, &off, "1-%zu characters", k->size - 1);
		break;
	case TARN__KEY_CUSTOM:
		add(buf, size, &off, "%s", k->metavar != NULL ? k->metavar : "VALUE");
		break;
	}
	return (int)off;
}

int tarn__key_default(const struct tarn__key *k, char *buf, size_t size)
{
	if (k->def_text != NULL)
		return snprintf(buf, size, "%s", k->def_text);
	if (k->flags & TARN__KEY_REQUIRED)
		return snprintf(buf, size, "required");
	if (k->type == TARN__KEY_UINT)
		return snprintf(buf, size, "%" PRIu64, k->def);
	if (k->type == TARN__KEY_ENUM)
		for (const struct tarn__key_word *w = k->words; w->word != NULL; w++)
			if ((uint64_t)(int64_t)w->value == k->def && !w->alias)
				return snprintf(buf, size, "%s", w->word);
	return snprintf(buf, size, "not set");
}

int tarn__key_usage(const struct tarn__key *k, char *buf, size_t size)
{
	size_t off = (size_t)tarn__key_syntax(k, buf, size);
	char def[96];

	if (k->flags & TARN__KEY_REQUIRED) {
		add(buf, size, &off, " (required: %s)", k->help);
		return (int)off;
	}
	tarn__key_default(k, def, sizeof(def));
	if (k->def_text == NULL && (k->type == TARN__KEY_STR || k->type == TARN__KEY_CUSTOM))
		add(buf, size, &off, " (%s)", k->help);
	else
		add(buf, size, &off, " (%s; default %s)", k->help, def);
	return (int)off;
}

/* `s` with '|' escaped (a Markdown table cell). */
static void md_cell(FILE *out, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '|')
			fputc('\\', out);
		fputc(*s, out);
	}
}

void tarn__keys_markdown(const struct tarn__key *keys, FILE *out)
{
	char buf[512];

	fprintf(out, "| key | values | default | what it does |\n|---|---|---|---|\n");
	for (const struct tarn__key *k = keys; k != NULL && k->name != NULL; k++) {
		fputs("| `", out);
		tarn__key_syntax(k, buf, sizeof(buf));
		md_cell(out, buf);
		fputs("` | ", out);
		tarn__key_values(k, buf, sizeof(buf));
		md_cell(out, buf);
		fputs(" | ", out);
		tarn__key_default(k, buf, sizeof(buf));
		md_cell(out, buf);
		fputs(" | ", out);
		md_cell(out, k->help);
		if (k->doc != NULL) {
			fputs(". ", out);
			md_cell(out, k->doc);
		}
		fputs(" |\n", out);
	}
}
