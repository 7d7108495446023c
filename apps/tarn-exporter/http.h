/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * http.h - the little HTTP/1.x tarn-exporter speaks: one request per
 * connection, GET /metrics only, the request head read strictly and within
 * bounds, one response with Content-Length and "Connection: close".
 */
#ifndef TARN_EXPORTER_HTTP_H
#define TARN_EXPORTER_HTTP_H

#include <stddef.h>

/* Longest request head (request line and headers); a longer one gets 431. */
#define HTTP_MAX_HEAD 8192
/* Most header fields; more gets 431. */
#define HTTP_MAX_HEADERS 64

/*
 * Where the request head in buf[0..len) ends: the length up to and
 * including the empty line (CRLF CRLF, or LF LF), or 0 when it has not
 * arrived yet.
 */
size_t http_head_end(const char *buf, size_t len);

/*
 * Judge a complete request head (buf[0..len), as http_head_end() found it).
 * Returns the status to answer: 200 for a well-formed GET of /metrics; 400
 * (malformed: request line, header syntax, a missing or repeated Host in
 * HTTP/1.1, a body, bytes that HTTP forbids), 404 (another path), 405
 * (another method), 431 (too many header fields), 505 (a version other than
 * HTTP/1.0 and 1.1). `*openmetrics` is set when the Accept header prefers
 * application/openmetrics-text over text/plain.
 */
int http_judge(const char *buf, size_t len, int *openmetrics);

/* The reason phrase of a status code. */
const char *http_reason(int code);

/*
 * A complete response: status line, Date, Content-Type, Content-Length,
 * "Connection: close" (and "Allow: GET" for 405), then the body. Returns a
 * malloc'd buffer of *len bytes, or NULL (out of memory).
 */
char *http_response(int code, const char *content_type, const char *body, size_t body_len,
                    size_t *len);

#endif /* TARN_EXPORTER_HTTP_H */
