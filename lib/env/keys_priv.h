/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * keys_priv.h - internal: typed keys declared in one table. Never installed.
 *
 * A table of struct tarn__key says, for each key of a KEY=VALUE list, its
 * type, its range or words, its default, where its value lands in a
 * configuration structure (an offset and a size) and one line of help. The
 * functions below read a value into that structure, write the defaults, and
 * print the help and the documentation rows, all from the same table, so a
 * key's range in its error message, in --help and in the docs cannot drift
 * apart from the code that checks it.
 *
 * Users: ethdev reads the spec strings of ports with it (the driver keys
 * land in the driver's private structure, ethdev_driver_priv.h); the env
 * options are a natural next user for their plain typed options.
 *
 * The functions log nothing: a parse error comes back as a short reason
 * ("expected a decimal number from 1 to 16") that the caller puts in its own
 * log line with its context ("port spec 'null:size=5': size '5': ...").
 * Nothing here keeps state; every function is thread-safe.
 */
#ifndef TARN_KEYS_PRIV_H
#define TARN_KEYS_PRIV_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

enum tarn__key_type {
	/* Unsigned decimal number (digits only) in [min, max], a multiple of
	 * `align` when align > 1; stored in an unsigned integer field of
	 * `size` bytes (1, 2, 4 or 8). */
	TARN__KEY_UINT,
	/* One of `words`; the word's value is stored in an int field. */
	TARN__KEY_ENUM,
	/* A string of 1 .. size-1 characters, stored in char[size]. */
	TARN__KEY_STR,
	/* Read by `parse` into the field. */
	TARN__KEY_CUSTOM,
};

/* A word an ENUM key takes. */
struct tarn__key_word {
	const char *word;
	int value;
	/* What the word means, said in error messages, help and docs, or
	 * NULL when the word says it. */
	const char *help;
	/* Non-zero: an alias of a listed word with the same value, accepted
	 * but not listed (e.g. "1" for "on"). */
	int alias;
};

/*
 * A CUSTOM key's reader: parse `value` into `field` (`size` bytes). Returns
 * 0, or -EINVAL with `why` (why_size bytes) saying what was expected
 * ("expected a unicast address xx:xx:xx:xx:xx:xx, not all zeros").
 */
typedef int (*tarn__key_parse_fn)(const char *value, void *field, size_t size, char *why,
                                  size_t why_size);

/* Flags of a key. */
#define TARN__KEY_REQUIRED 0x1u   /* the list must give it */
#define TARN__KEY_USER     0x100u /* first bit left to the table's user */

struct tarn__key {
	const char *name; /* NULL ends a table */
	enum tarn__key_type type;
	size_t offset;            /* of the field in the configuration structure */
	size_t size;              /* of the field */
	uint64_t min, max, align; /* UINT */
	/* UINT: the default (may lie outside [min, max]: a "not given" mark
	 * the user of the value knows, e.g. 0 for "the queue's nb_desc");
	 * ENUM: the default word's value. STR and CUSTOM keys have no default
	 * of their own: the field keeps what the caller put there (zeroes). */
	uint64_t def;
	const struct tarn__key_word *words; /* ENUM, ended by a NULL word */
	tarn__key_parse_fn parse;           /* CUSTOM */
	/* The VALUE in help ("N", "B", "NAME"); NULL: "N" for UINT, the
	 * listed words joined by '|' for ENUM, "VALUE" otherwise. */
	const char *metavar;
	/* The values it takes, as docs say them, when they are not UINT's
	 * range, ENUM's words or STR's length (a CUSTOM key: "an interface
	 * name"); NULL: generated. */
	const char *values;
	/* The default as help and docs say it, when it is not the plain value
	 * of `def` ("the queue's nb_desc"); NULL: `def` (UINT, ENUM), "none"
	 * (STR, CUSTOM), "required" for a required key. */
	const char *def_text;
	const char *help; /* what it does: a short phrase, no final period */
	const char *doc;  /* more for the docs' table (sentences), or NULL */
	unsigned flags;   /* TARN__KEY_* */
};

/* The offset and size of `member` of `type`, for a table entry:
 * `{ .name = "size", .type = TARN__KEY_UINT, TARN__KEY_AT(struct null_cfg, size), ... }` */
#define TARN__KEY_AT(type, member)                                                                 \
	.offset = offsetof(type, member), .size = sizeof(((type *)0)->member)

/*
 * Table entries, a key each (the help, then any more designators: .align,
 * .metavar, .values, .def_text, .doc, .flags), and the end of a table:
 *
 *   static const struct tarn__key null_keys[] = {
 *           TARN__KEY_UINT_AT("size", struct null_port, size, 14, 9614, 64,
 *                             "bytes of each received packet"),
 *           TARN__KEY_END,
 *   };
 */
#define TARN__KEY_UINT_AT(key, T, member, lo, hi, dflt, help_, ...)                                \
	{                                                                                          \
		.name = (key), .type = TARN__KEY_UINT, TARN__KEY_AT(T, member), .min = (lo),       \
		.max = (hi), .def = (dflt), .help = (help_), __VA_ARGS__                           \
	}
#define TARN__KEY_ENUM_AT(key, T, member, words_, dflt, help_, ...)                                \
	{                                                                                          \
		.name = (key), .type = TARN__KEY_ENUM, TARN__KEY_AT(T, member), .words = (words_), \
		.def = (uint64_t)(dflt), .help = (help_), __VA_ARGS__                              \
	}
#define TARN__KEY_STR_AT(key, T, member, help_, ...)                                               \
	{                                                                                          \
		.name = (key), .type = TARN__KEY_STR, TARN__KEY_AT(T, member), .help = (help_),    \
		__VA_ARGS__                                                                        \
	}
#define TARN__KEY_CUSTOM_AT(key, T, member, parse_, help_, ...)                                    \
	{                                                                                          \
		.name = (key), .type = TARN__KEY_CUSTOM, TARN__KEY_AT(T, member),                  \
		.parse = (parse_), .help = (help_), __VA_ARGS__                                    \
	}
#define TARN__KEY_END                                                                              \
	{                                                                                          \
		.name = NULL                                                                       \
	}
/* The end of a table of words. */
#define TARN__KEY_WORDS_END                                                                        \
	{                                                                                          \
		NULL, 0, NULL, 0                                                                   \
	}

/* The key named `name` in `keys`, or NULL. */
const struct tarn__key *tarn__key_find(const struct tarn__key *keys, const char *name);

/* Write the default of every UINT and ENUM key of `keys` into `base`. */
void tarn__keys_defaults(const struct tarn__key *keys, void *base);

/*
 * Read `value` as key `k` into `base`. Returns 0, or -EINVAL with `why` set
 * (nothing written): "expected a decimal number from 1 to 16", "not a
 * multiple of 16", "expected v2 (a frame per packet) or v3 (...)", "longer
 * than 15 characters", or a CUSTOM parser's reason.
 */
int tarn__key_parse(const struct tarn__key *k, const char *value, void *base, char *why,
                    size_t why_size);

/* The value of UINT or ENUM key `k` in `base`. */
uint64_t tarn__key_uint(const struct tarn__key *k, const void *base);

/*
 * Check a table for the mistakes a declaration can make: a field size that
 * does not suit the type, a max that does not fit the field, min > max, an
 * ENUM without words or a default that is not one of them, a CUSTOM key
 * without a parser, a name given twice. Returns 0, or -EINVAL with `why`.
 */
int tarn__keys_check(const struct tarn__key *keys, char *why, size_t why_size);

/* "KEY=METAVAR". Returns the length snprintf would have written. */
int tarn__key_syntax(const struct tarn__key *k, char *buf, size_t size);

/* The values `k` takes, for docs: "1-16", "128-65536, a multiple of 16",
 * "`v2`: a frame per packet; `v3`: ...", "1-15 characters"; CUSTOM:
 * the metavar. */
int tarn__key_values(const struct tarn__key *k, char *buf, size_t size);

/* The default as help and docs say it (see def_text). */
int tarn__key_default(const struct tarn__key *k, char *buf, size_t size);

/* One help item: "KEY=METAVAR (help; default D)" or "KEY=METAVAR
 * (required: help)". */
int tarn__key_usage(const struct tarn__key *k, char *buf, size_t size);

/* A Markdown table of `keys` (header, then a row per key: syntax, values,
 * default, help and doc), '|' escaped. */
void tarn__keys_markdown(const struct tarn__key *keys, FILE *out);

#ifdef __cplusplus
}
#endif

#endif /* TARN_KEYS_PRIV_H */
