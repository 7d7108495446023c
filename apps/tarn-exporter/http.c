/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * http.c - request head parsing and responses (see http.h), after RFC 9112
 * (message syntax) and RFC 9110 (semantics), reduced to what one read-only
 * endpoint needs. Everything outside that is refused with a status code,
 * never guessed at.
 */
#include "http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

size_t http_head_end(const char *buf, size_t len)
{
	for (size_t i = 0; i + 1 < len; i++) {
		if (buf[i] != '\n')
			continue;
		/* LF LF, or LF CR LF (the end of CRLF CRLF) */
		if (buf[i + 1] == '\n')
			return i + 2;
		if (buf[i + 1] == '\r' && i + 2 < len && buf[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

/* RFC 9110 tchar */
static int tchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* A header value byte: visible ASCII, space, tab, or obs-text (0x80-0xff). */
static int vchar(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

/* The q value of one Accept element ("type/sub;a=b;q=0.5"): 0 .. 1000. */
static int qvalue(const char *p, const char *end)
{
	int q = 1000;
	for (const char *s = p; s < end; s++) {
		if (*s != ';')
			continue;
		s++;
		while (s < end && (*s == ' ' || *s == '\t'))
			s++;
		if (end - s >= 2 && (s[0] == 'q' || s[0] == 'Q') && s[1] == '=') {
			s += 2;
			if (s < end && *s == '1') {
				q = 1000;
			} else if (s < end && *s == '0') {
				q = 0;
				int scale = 100;
				s++;
				if (s < end && *s == '.')
					for (s++; s < end && *s >= '0' && *s <= '9' && scale > 0;
					     s++, scale /= 10)
						q += (*s - '0') * scale;
			}
		}
	}
	return q;
}

/* Does the Accept value prefer OpenMetrics? (a q above 0 and at least
 * that of text/plain and of any wildcard) */
static int accepts_openmetrics(const char *v, size_t n)
{
	const char *end = v + n;
	int om = 0, other = 0;
	for (const char *p = v; p < end;) {
		const char *e = memchr(p, ',', (size_t)(end - p));
		if (e == NULL)
			e = end;
		while (p < e && (*p == ' ' || *p == '\t'))
			p++;
		const size_t tl = (size_t)(e - p);
		const int q = qvalue(p, e);
		if (tl >= 28 && strncasecmp(p, "application/openmetrics-text", 28) == 0) {
			if (q > om)
				om = q;
		} else if ((tl >= 10 && strncasecmp(p, "text/plain", 10) == 0) ||
		           (tl >= 1 && p[0] == '*')) {
			if (q > other)
				other = q;
		}
		p = e < end ? e + 1 : end;
	}
	return om > 0 && om >= other;
}

int http_judge(const char *buf, size_t len, int *openmetrics)
{
	*openmetrics = 0;
	const char *p = buf, *end = buf + len;
	/* a NUL or a lone CR anywhere is malformed */
	for (const char *s = buf; s < end; s++)
		if (*s == '\0' || (*s == '\r' && (s + 1 >= end || s[1] != '\n')))
			return 400;
	/* request-line = method SP request-target SP HTTP-version */
	const char *eol = memchr(p, '\n', len);
	if (eol == NULL)
		return 400;
	const char *line_end = eol > p && eol[-1] == '\r' ? eol - 1 : eol;
	const char *sp1 = memchr(p, ' ', (size_t)(line_end - p));
	if (sp1 == NULL || sp1 == p)
		return 400;
	for (const char *s = p; s < sp1; s++)
		if (!tchar(*s))
			return 400;
	const char *target = sp1 + 1;
	const char *sp2 = memchr(target, ' ', (size_t)(line_end - target));
	if (sp2 == NULL || sp2 == target)
		return 400;
	const char *version = sp2 + 1;
	const size_t vlen = (size_t)(line_end - version);
	for (const char *s = target; s < sp2; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return 400;
	if (vlen != 8 || strncmp(version, "HTTP/", 5) != 0 || version[5] < '0' ||
	    version[5] > '9' || version[6] != '.' || version[7] < '0' || version[7] > '9')
		return 400;
	if (version[5] != '1' || (version[7] != '0' && version[7] != '1'))
		return 505;
	const int http11 = version[7] == '1';
	/* header fields: name ":" OWS value OWS */
	int hosts = 0, fields = 0, body = 0, om = 0;
	for (p = eol + 1; p < end;) {
		const char *e = memchr(p, '\n', (size_t)(end - p));
		if (e == NULL)
			return 400;
		const char *le = e > p && e[-1] == '\r' ? e - 1 : e;
		if (le == p)
			break; /* the empty line */
		if (++fields > HTTP_MAX_HEADERS)
			return 431;
		if (*p == ' ' || *p == '\t')
			return 400; /* obs-fold */
		const char *colon = memchr(p, ':', (size_t)(le - p));
		if (colon == NULL || colon == p)
			return 400;
		for (const char *s = p; s < colon; s++)
			if (!tchar(*s))
				return 400; /* includes space before the colon */
		const char *v = colon + 1, *ve = le;
		while (v < ve && (*v == ' ' || *v == '\t'))
			v++;
		while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
			ve--;
		for (const char *s = v; s < ve; s++)
			if (!vchar((unsigned char)*s))
				return 400;
		const size_t nl = (size_t)(colon - p), vl = (size_t)(ve - v);
		if (nl == 4 && strncasecmp(p, "host", 4) == 0)
			hosts++;
		else if (nl == 17 && strncasecmp(p, "transfer-encoding", 17) == 0)
			body = 1;
		else if (nl == 14 && strncasecmp(p, "content-length", 14) == 0) {
			/* only a zero length: GET /metrics takes no body */
			for (const char *s = v; s < ve; s++)
				if (*s != '0')
					body = 1;
			if (vl == 0)
				return 400;
		} else if (nl == 6 && strncasecmp(p, "accept", 6) == 0)
			om = accepts_openmetrics(v, vl);
		p = e + 1;
	}
	if (hosts > 1 || (http11 && hosts == 0))
		return 400;
	const size_t mlen = (size_t)(sp1 - buf);
	if (mlen != 3 || strncmp(buf, "GET", 3) != 0)
		return 405; /* its body, if any, is never read: the connection closes */
	if (body)
		return 400;
	/* origin-form "/metrics" (a query is not part of this endpoint), or
	 * absolute-form "http://authority/metrics" */
	const char *path = target;
	size_t plen = (size_t)(sp2 - target);
	if (plen > 7 && strncasecmp(path, "http://", 7) == 0) {
		const char *slash = memchr(path + 7, '/', plen - 7);
		if (slash == NULL)
			return 404;
		plen -= (size_t)(slash - path);
		path = slash;
	}
	if (plen != 8 || strncmp(path, "/metrics", 8) != 0)
		return 404;
	*openmetrics = om;
	return 200;
}

const char *http_reason(int code)
{
	switch (code) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 413:
		return "Content Too Large";
	case 431:
		return "Request Header Fields Too Large";
	case 503:
		return "Service Unavailable";
	case 505:
		return "HTTP Version Not Supported";
	default:
		return "Internal Server Error";
	}
}

char *http_response(int code, const char *content_type, const char *body, size_t body_len,
                    size_t *len)
{
	char date[64];
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	char head[512];
	int hn = snprintf(head, sizeof(head),
	                  "HTTP/1.1 %d %s\r\n"
	                  "Date: %s\r\n"
	                  "Server: tarn-exporter\r\n"
	                  "Content-Type: %s\r\n"
	                  "Content-Length: %zu\r\n"
	                  "Cache-Control: no-store\r\n"
	                  "%s"
	                  "Connection: close\r\n\r\n",
	                  code, http_reason(code), date, content_type, body_len,
	                  code == 405 ? "Allow: GET\r\n" : "");
	if (hn < 0 || (size_t)hn >= sizeof(head))
		return NULL;
	char *r = malloc((size_t)hn + body_len + 1);
	if (r == NULL)
		return NULL;
	memcpy(r, head, (size_t)hn);
	if (body_len > 0)
		memcpy(r + hn, body, body_len);
	r[(size_t)hn + body_len] = '\0';
	*len = (size_t)hn + body_len;
	return r;
}
