/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * json_priv.h - internal: a small JSON writer, shared by telemetry (its
 * replies use the escaper), tarn-fwd (its JSON events), tarn-bench (its
 * rows) and tarn-top (--json). Never installed. The functions are exported
 * from libtarn in the INTERNAL version node (lib/libtarn.map) so that
 * tarn's own apps can call them; they carry no promise of stability.
 *
 * A writer prints one JSON value to a FILE as it is built:
 *
 *     struct tarn__json j;
 *     tarn__json_init(&j, stdout, TARN__JSON_COMPACT);
 *     tarn__json_object_open(&j, NULL);
 *     tarn__json_string(&j, "event", "stats");
 *     tarn__json_double(&j, "time_s", 1.5, 3);
 *     tarn__json_array_open(&j, "ports");
 *     tarn__json_uint(&j, NULL, 0);
 *     tarn__json_close(&j);
 *     if (tarn__json_finish(&j) < 0) ...     -> {"event":"stats","time_s":1.500,"ports":[0]}
 *
 * In an object every entry has a key; in an array, and for the top-level
 * value, the key is NULL. A misuse (a key missing or extra, a close with
 * nothing open, nesting deeper than TARN__JSON_MAX_DEPTH, a second
 * top-level value) writes nothing and is remembered: tarn__json_finish()
 * returns the first error. Strings are escaped as JSON needs (quote,
 * backslash, control characters, C1 controls too) and bytes that are not
 * UTF-8 become U+FFFD, so the output is valid JSON whatever the input. A
 * writer is used by one thread at a time.
 */
#ifndef TARN_JSON_PRIV_H
#define TARN_JSON_PRIV_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "tarn_env.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Deepest nesting of containers. */
#define TARN__JSON_MAX_DEPTH 16

/* Separators: {"a":1,"b":[1,2]} or {"a": 1, "b": [1, 2]}. */
#define TARN__JSON_COMPACT 0
#define TARN__JSON_SPACED  1

struct tarn__json {
	FILE *f;
	int spaced;     /* TARN__JSON_SPACED */
	int err;        /* first error: -EINVAL (misuse) */
	int done;       /* the top-level value is complete */
	unsigned depth; /* open containers */
	uint8_t is_object[TARN__JSON_MAX_DEPTH];
	uint8_t has_entry[TARN__JSON_MAX_DEPTH];
};

/* Start a writer on `f` with `style` (TARN__JSON_COMPACT or _SPACED). */
TARN_API void tarn__json_init(struct tarn__json *j, FILE *f, int style);
/* Open an object or an array: an entry `key` of the current object, an
 * element of the current array (key NULL), or the top-level value (NULL). */
TARN_API void tarn__json_object_open(struct tarn__json *j, const char *key);
TARN_API void tarn__json_array_open(struct tarn__json *j, const char *key);
/* Close the innermost open object or array. */
TARN_API void tarn__json_close(struct tarn__json *j);
/* Values; `key` as for tarn__json_object_open(). A NULL string is null. */
TARN_API void tarn__json_string(struct tarn__json *j, const char *key, const char *s);
TARN_API void tarn__json_uint(struct tarn__json *j, const char *key, uint64_t v);
TARN_API void tarn__json_int(struct tarn__json *j, const char *key, int64_t v);
TARN_API void tarn__json_bool(struct tarn__json *j, const char *key, int v);
TARN_API void tarn__json_null(struct tarn__json *j, const char *key);
/* `v` with `decimals` digits after the point (printf "%.*f"); NaN and the
 * infinities, which JSON cannot spell, are written as null. */
TARN_API void tarn__json_double(struct tarn__json *j, const char *key, double v, int decimals);
/*
 * Close whatever is still open. Writes nothing else (no newline).
 * Returns 0, -EINVAL after a misuse (what was written may not be valid
 * JSON), or -EIO when the stream reported an error.
 */
TARN_API int tarn__json_finish(struct tarn__json *j);

/*
 * Write `s` (`n` bytes) as a JSON string, quotes included, into
 * out[0 .. size): quote and backslash escaped, \n \t \r by name, other
 * control characters, DEL and the C1 controls (U+0080-U+009F) as \u00XX,
 * bytes that are not part of a valid UTF-8 sequence as \ufffd. Writes
 * nothing past `size` (`out` may be NULL when `size` is 0) and no
 * terminating NUL. Returns the length the whole string needs, like
 * snprintf.
 */
TARN_API size_t tarn__json_escape(char *out, size_t size, const char *s, size_t n);

#ifdef __cplusplus
}
#endif

#endif /* TARN_JSON_PRIV_H */
