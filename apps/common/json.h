/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * json.h - internal to tarn's apps (apps/common): a small JSON reader, for
 * the telemetry replies tarn-top and tarn-exporter read (and the tests that
 * check them). Parses one reply into a tree of nodes and looks values up by
 * key. Numbers keep their exact unsigned value
 * when they are whole and non-negative (64-bit counters).
 */
#ifndef TARN_APPS_JSON_H
#define TARN_APPS_JSON_H

#include <stddef.h>
#include <stdint.h>

enum jtype { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };

struct jval {
	enum jtype type;
	int boolean;
	double num;
	uint64_t u64;       /* exact value of a whole non-negative number */
	int is_u64;         /* u64 holds it */
	char *str;          /* J_STR: the decoded string */
	char *key;          /* member of an object: its key */
	struct jval *child; /* J_ARR, J_OBJ: first element */
	struct jval *next;  /* next element of the parent */
	struct jval *all;   /* every node of the document, for freeing */
};

struct jdoc {
	struct jval *root;
	struct jval *nodes;
};

/*
 * Parse `len` bytes of `text` (one JSON value, surrounded by white space
 * only). Returns the document, or NULL with a reason in `err` (malformed
 * text, too deep, out of memory).
 */
struct jdoc *jdoc_parse(const char *text, size_t len, char *err, size_t errlen);
void jdoc_free(struct jdoc *doc);

/* Member `key` of object `o`, or NULL (also when `o` is not an object). */
const struct jval *jget(const struct jval *o, const char *key);
/* Numbers and strings of members, or `def` when missing or of another type. */
uint64_t jget_u64(const struct jval *o, const char *key, uint64_t def);
double jget_num(const struct jval *o, const char *key, double def);
const char *jget_str(const struct jval *o, const char *key, const char *def);
/* Unsigned value of a number node, or `def`. */
uint64_t jval_u64(const struct jval *v, uint64_t def);

#endif /* TARN_APPS_JSON_H */
