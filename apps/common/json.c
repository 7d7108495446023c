/* SPDX-License-Identifier: BSD-3-Clause */
/* json.c - the small JSON reader of tarn's apps (see json.h). */
#include "json.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 32

struct parser {
	const char *p, *end;
	struct jdoc *doc;
	char *err;
	size_t errlen;
	int failed;
};

static void fail(struct parser *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void fail(struct parser *ps, const char *fmt, ...)
{
	if (ps->failed)
		return;
	ps->failed = 1;
	if (ps->err == NULL || ps->errlen == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(ps->err, ps->errlen, fmt, ap);
	va_end(ap);
}

static struct jval *node(struct parser *ps, enum jtype t)
{
	struct jval *v = calloc(1, sizeof(*v));
	if (v == NULL) {
		fail(ps, "out of memory");
		return NULL;
	}
	v->type = t;
	v->all = ps->doc->nodes;
	ps->doc->nodes = v;
	return v;
}

static void skip_ws(struct parser *ps)
{
	while (ps->p < ps->end &&
	       (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
		ps->p++;
}

static int hex4(const char *s, unsigned *out)
{
	unsigned v = 0;
	for (int i = 0; i < 4; i++) {
		char c = s[i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

static size_t put_utf8(char *o, unsigned cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | cp >> 6);
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | cp >> 12);
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | cp >> 18);
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* A string at ps->p (on the opening quote); returns it decoded, malloc'd. */
static char *parse_string(struct parser *ps)
{
	const char *s = ++ps->p;
	const char *q = s;
	while (q < ps->end && *q != '"') {
		if (*q == '\\')
			q++;
		q++;
	}
	if (q >= ps->end) {
		fail(ps, "unterminated string");
		return NULL;
	}
	/* decoded text is never longer than the escaped text */
	char *out = malloc((size_t)(q - s) + 1);
	if (out == NULL) {
		fail(ps, "out of memory");
		return NULL;
	}
	size_t n = 0;
	for (const char *p = s; p < q; p++) {
		if ((unsigned char)*p < 0x20) {
			fail(ps, "control character in a string");
			free(out);
			return NULL;
		}
		if (*p != '\\') {
			out[n++] = *p;
			continue;
		}
		p++;
		switch (*p) {
		case '"':
		case '\\':
		case '/':
			out[n++] = *p;
			break;
		case 'b':
			out[n++] = '\b';
			break;
		case 'f':
			out[n++] = '\f';
			break;
		case 'n':
			out[n++] = '\n';
			break;
		case 'r':
			out[n++] = '\r';
			break;
		case 't':
			out[n++] = '\t';
			break;
		case 'u': {
			unsigned cp;
			if (q - p < 5 || hex4(p + 1, &cp) < 0) {
				fail(ps, "bad \\u escape");
				free(out);
				return NULL;
			}
			p += 4;
			/* surrogate pairs are kept as U+FFFD: tarn never sends them */
			if (cp >= 0xd800 && cp <= 0xdfff)
				cp = 0xfffd;
			/* 6 escaped bytes always hold the <= 3 bytes written */
			n += put_utf8(out + n, cp);
			break;
		}
		default:
			fail(ps, "bad escape '\\%c'", *p);
			free(out);
			return NULL;
		}
	}
	out[n] = '\0';
	ps->p = q + 1;
	return out;
}

static struct jval *parse_value(struct parser *ps, int depth);

static struct jval *parse_container(struct parser *ps, int depth, int obj)
{
	struct jval *v = node(ps, obj ? J_OBJ : J_ARR);
	if (v == NULL)
		return NULL;
	ps->p++;
	skip_ws(ps);
	struct jval **tail = &v->child;
	if (ps->p < ps->end && *ps->p == (obj ? '}' : ']')) {
		ps->p++;
		return v;
	}
	for (;;) {
		char *key = NULL;
		skip_ws(ps);
		if (obj) {
			if (ps->p >= ps->end || *ps->p != '"') {
				fail(ps, "expected a key");
				return NULL;
			}
			key = parse_string(ps);
			if (key == NULL)
				return NULL;
			skip_ws(ps);
			if (ps->p >= ps->end || *ps->p != ':') {
				free(key);
				fail(ps, "expected ':'");
				return NULL;
			}
			ps->p++;
		}
		struct jval *e = parse_value(ps, depth + 1);
		if (e == NULL) {
			free(key);
			return NULL;
		}
		e->key = key;
		*tail = e;
		tail = &e->next;
		skip_ws(ps);
		if (ps->p < ps->end && *ps->p == ',') {
			ps->p++;
			continue;
		}
		if (ps->p < ps->end && *ps->p == (obj ? '}' : ']')) {
			ps->p++;
			return v;
		}
		fail(ps, "expected ',' or '%c'", obj ? '}' : ']');
		return NULL;
	}
}

static int match(struct parser *ps, const char *word)
{
	size_t n = strlen(word);
	if ((size_t)(ps->end - ps->p) >= n && memcmp(ps->p, word, n) == 0) {
		ps->p += n;
		return 1;
	}
	return 0;
}

static struct jval *parse_number(struct parser *ps)
{
	char buf[64];
	size_t n = 0;
	int whole = 1;
	while (ps->p < ps->end && n < sizeof(buf) - 1 &&
	       strchr("0123456789+-.eE", *ps->p) != NULL) {
		if (strchr(".eE-+", *ps->p) != NULL)
			whole = 0;
		buf[n++] = *ps->p++;
	}
	buf[n] = '\0';
	char *end;
	errno = 0;
	double d = strtod(buf, &end);
	if (n == 0 || *end != '\0') {
		fail(ps, "bad number '%s'", buf);
		return NULL;
	}
	struct jval *v = node(ps, J_NUM);
	if (v == NULL)
		return NULL;
	v->num = d;
	if (whole) {
		errno = 0;
		unsigned long long u = strtoull(buf, &end, 10);
		if (errno == 0 && *end == '\0') {
			v->u64 = u;
			v->is_u64 = 1;
		}
	}
	return v;
}

static struct jval *parse_value(struct parser *ps, int depth)
{
	if (depth > MAX_DEPTH) {
		fail(ps, "nested deeper than %d", MAX_DEPTH);
		return NULL;
	}
	skip_ws(ps);
	if (ps->p >= ps->end) {
		fail(ps, "unexpected end");
		return NULL;
	}
	struct jval *v;
	switch (*ps->p) {
	case '{':
		return parse_container(ps, depth, 1);
	case '[':
		return parse_container(ps, depth, 0);
	case '"': {
		char *s = parse_string(ps);
		if (s == NULL)
			return NULL;
		v = node(ps, J_STR);
		if (v == NULL) {
			free(s);
			return NULL;
		}
		v->str = s;
		return v;
	}
	default:
		break;
	}
	if (match(ps, "null"))
		return node(ps, J_NULL);
	if (match(ps, "true") || match(ps, "false")) {
		v = node(ps, J_BOOL);
		if (v != NULL)
			v->boolean = ps->p[-1] == 'e' && ps->p[-2] == 'u';
		return v;
	}
	if (*ps->p == '-' || (*ps->p >= '0' && *ps->p <= '9'))
		return parse_number(ps);
	fail(ps, "unexpected '%c'", *ps->p);
	return NULL;
}

struct jdoc *jdoc_parse(const char *text, size_t len, char *err, size_t errlen)
{
	struct jdoc *doc = calloc(1, sizeof(*doc));
	if (doc == NULL) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "out of memory");
		return NULL;
	}
	struct parser ps = {
		.p = text, .end = text + len, .doc = doc, .err = err, .errlen = errlen
	};
	doc->root = parse_value(&ps, 0);
	if (doc->root != NULL) {
		skip_ws(&ps);
		if (ps.p != ps.end)
			fail(&ps, "text after the value");
	}
	if (ps.failed || doc->root == NULL) {
		fail(&ps, "no value");
		jdoc_free(doc);
		return NULL;
	}
	return doc;
}

void jdoc_free(struct jdoc *doc)
{
	if (doc == NULL)
		return;
	struct jval *v = doc->nodes;
	while (v != NULL) {
		struct jval *next = v->all;
		free(v->str);
		free(v->key);
		free(v);
		v = next;
	}
	free(doc);
}

const struct jval *jget(const struct jval *o, const char *key)
{
	if (o == NULL || o->type != J_OBJ)
		return NULL;
	for (const struct jval *e = o->child; e != NULL; e = e->next)
		if (e->key != NULL && strcmp(e->key, key) == 0)
			return e;
	return NULL;
}

uint64_t jval_u64(const struct jval *v, uint64_t def)
{
	if (v == NULL || v->type != J_NUM)
		return def;
	if (v->is_u64)
		return v->u64;
	return v->num >= 0 && isfinite(v->num) ? (uint64_t)v->num : def;
}

uint64_t jget_u64(const struct jval *o, const char *key, uint64_t def)
{
	return jval_u64(jget(o, key), def);
}

double jget_num(const struct jval *o, const char *key, double def)
{
	const struct jval *v = jget(o, key);
	return v != NULL && v->type == J_NUM ? v->num : def;
}

const char *jget_str(const struct jval *o, const char *key, const char *def)
{
	const struct jval *v = jget(o, key);
	return v != NULL && v->type == J_STR ? v->str : def;
}
