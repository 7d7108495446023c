/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * spec.c - port spec strings `DRIVER[:KEY=VALUE,...]`: their syntax, then
 * their keys read against the generic keys and the driver's key table
 * (keys_priv.h), with one wording for each error.
 *
 * The parser trusts nothing: every length is checked before a copy, every
 * character class is checked, and the log line quotes the spec with
 * non-printable characters replaced so a hostile string cannot garble the log.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "ethdev_priv.h"

/* Copy at most TARN_ETH_SPEC_MAX-1 bytes of `s` for a log line, printable only. */
static void sanitize(char *dst, size_t size, const char *s)
{
	size_t i = 0;
	for (; s[i] != '\0' && i + 1 < size; i++)
		dst[i] = isprint((unsigned char)s[i]) ? s[i] : '?';
	dst[i] = '\0';
}

static int is_name_char(char c)
{
	return islower((unsigned char)c) || isdigit((unsigned char)c) || c == '_';
}

static int is_key_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '-';
}

static int is_value_char(char c)
{
	return isgraph((unsigned char)c) && c != ',' && c != '=';
}

#define SPEC_ERR(clean, ...)                                                                       \
	do {                                                                                       \
		char m__[160];                                                                     \
		snprintf(m__, sizeof(m__), __VA_ARGS__);                                           \
		TARN__ERR(TARN__ETH_LOG, "port spec '%s': %s (expected DRIVER[:KEY=VALUE,...])",   \
		          clean, m__);                                                             \
	} while (0)

/* The driver name: `dlen` bytes of `spec`, into s->driver. */
static int spec_driver(const char *spec, size_t dlen, const char *clean, struct tarn__eth_spec *s)
{
	if (dlen == 0) {
		SPEC_ERR(clean, "no driver name before ':'");
		return -EINVAL;
	}
	if (dlen >= sizeof(s->driver)) {
		SPEC_ERR(clean, "driver name longer than %zu characters", sizeof(s->driver) - 1);
		return -EINVAL;
	}
	for (size_t i = 0; i < dlen; i++) {
		if (!is_name_char(spec[i])) {
			SPEC_ERR(clean,
			         "bad character at position %zu of the driver name (lower-case "
			         "letters, digits and '_')",
			         i + 1);
			return -EINVAL;
		}
	}
	memcpy(s->driver, spec, dlen);
	return 0;
}

/* The key of the pair at `p` (`klen` bytes, at position `pos` of the spec):
 * not empty, not too long, of key characters. */
static int spec_key(const char *p, size_t klen, size_t pos, const char *clean)
{
	if (klen == 0) {
		SPEC_ERR(clean, "empty key at position %zu", pos);
		return -EINVAL;
	}
	if (klen >= TARN_ETH_KEY_MAX) {
		SPEC_ERR(clean, "key at position %zu longer than %d characters", pos,
		         TARN_ETH_KEY_MAX - 1);
		return -EINVAL;
	}
	for (size_t i = 0; i < klen; i++) {
		if (!is_key_char(p[i])) {
			SPEC_ERR(
			    clean,
			    "bad character in the key at position %zu (letters, digits, '_' and "
			    "'-')",
			    pos);
			return -EINVAL;
		}
	}
	return 0;
}

/* The value `v` (`vlen` bytes) of the key whose `klen` bytes are at `cp` in
 * `clean`: not empty, not too long, of value characters. */
static int spec_value(const char *v, size_t vlen, size_t klen, const char *clean, const char *cp)
{
	if (vlen == 0) {
		SPEC_ERR(clean, "empty value for key '%.*s'", (int)klen, cp);
		return -EINVAL;
	}
	if (vlen >= TARN_ETH_VALUE_MAX) {
		SPEC_ERR(clean, "value of key '%.*s' longer than %d characters", (int)klen, cp,
		         TARN_ETH_VALUE_MAX - 1);
		return -EINVAL;
	}
	for (size_t i = 0; i < vlen; i++) {
		if (!is_value_char(v[i])) {
			SPEC_ERR(
			    clean,
			    "bad character in the value of key '%.*s' (printable, no space, ',' "
			    "or '=')",
			    (int)klen, cp);
			return -EINVAL;
		}
	}
	return 0;
}

/* One KEY=VALUE pair of `plen` bytes at `p`, added to `s`. */
static int spec_pair(const char *spec, const char *p, size_t plen, const char *clean,
                     struct tarn__eth_spec *s)
{
	const size_t pos = (size_t)(p - spec) + 1;
	const char *cp = clean + (p - spec); /* p, printable, for the log */

	if (plen == 0) {
		SPEC_ERR(clean, "empty KEY=VALUE pair at position %zu", pos);
		return -EINVAL;
	}
	const char *eq = memchr(p, '=', plen);
	if (eq == NULL) {
		SPEC_ERR(clean, "'%.*s' at position %zu is not KEY=VALUE", (int)plen, cp, pos);
		return -EINVAL;
	}
	const size_t klen = (size_t)(eq - p), vlen = plen - klen - 1;
	if (spec_key(p, klen, pos, clean) < 0 || spec_value(eq + 1, vlen, klen, clean, cp) < 0)
		return -EINVAL;
	for (unsigned i = 0; i < s->nb_kv; i++) {
		if (strlen(s->kv[i].key) == klen && memcmp(s->kv[i].key, p, klen) == 0) {
			SPEC_ERR(clean, "key '%.*s' given twice", (int)klen, cp);
			return -EINVAL;
		}
	}
	if (s->nb_kv == TARN_ETH_MAX_KV) {
		SPEC_ERR(clean, "more than %d KEY=VALUE pairs", TARN_ETH_MAX_KV);
		return -EINVAL;
	}
	memcpy(s->kv[s->nb_kv].key, p, klen);
	memcpy(s->kv[s->nb_kv].value, eq + 1, vlen);
	s->nb_kv++;
	return 0;
}

int tarn__eth_spec_parse(const char *spec, struct tarn__eth_spec *out)
{
	char clean[TARN_ETH_SPEC_MAX];
	struct tarn__eth_spec s;

	if (out == NULL) {
		TARN__ERR(TARN__ETH_LOG, "port spec: NULL output");
		return -EINVAL;
	}
	if (spec == NULL || spec[0] == '\0') {
		TARN__ERR(TARN__ETH_LOG, "port spec: empty (expected DRIVER[:KEY=VALUE,...], "
		                         "e.g. ring:loop=1 or null:size=64)");
		return -EINVAL;
	}
	sanitize(clean, sizeof(clean), spec);
	const size_t len = strnlen(spec, TARN_ETH_SPEC_MAX);
	if (len >= TARN_ETH_SPEC_MAX) {
		SPEC_ERR(clean, "longer than %d characters", TARN_ETH_SPEC_MAX - 1);
		return -EINVAL;
	}
	memset(&s, 0, sizeof(s));
	/* The driver name: up to ':' or the end; then KEY=VALUE pairs
	 * separated by ','. */
	const char *colon = strchr(spec, ':');
	if (spec_driver(spec, colon ? (size_t)(colon - spec) : len, clean, &s) < 0)
		return -EINVAL;
	const char *p = colon != NULL && colon[1] != '\0' ? colon + 1 : NULL;
	while (p != NULL) {
		const char *end = strchr(p, ',');
		if (spec_pair(spec, p, end ? (size_t)(end - p) : strlen(p), clean, &s) < 0)
			return -EINVAL;
		p = end != NULL ? end + 1 : NULL;
	}
	*out = s;
	return 0;
}

const char *tarn__eth_spec_get(const struct tarn__eth_spec *s, const char *key)
{
	if (s == NULL || key == NULL)
		return NULL;
	for (unsigned i = 0; i < s->nb_kv; i++)
		if (strcmp(s->kv[i].key, key) == 0)
			return s->kv[i].value;
	return NULL;
}

/* Log a bad value: "port spec 'SPEC': KEY 'VALUE': WHY". */
static int bad_value(const char *spec, const char *key, const char *value, const char *why)
{
	TARN__ERR(TARN__ETH_LOG, "port spec '%s': %s '%s': %s", spec, key, value, why);
	return -EINVAL;
}

int tarn__eth_spec_generic(const struct tarn__eth_driver *drv, const char *spec,
                           const struct tarn__eth_spec *s, struct tarn__eth_generic *g)
{
	char buf[256];

	for (unsigned i = 0; i < s->nb_kv; i++) {
		if (tarn__key_find(tarn__eth_generic_keys, s->kv[i].key) == NULL &&
		    tarn__key_find(drv->keys, s->kv[i].key) == NULL) {
			tarn__eth_valid_keys(drv, buf, sizeof(buf));
			TARN__ERR(TARN__ETH_LOG,
			          "port spec '%s': unknown key '%s' for driver '%s' (valid keys: "
			          "%s)",
			          spec, s->kv[i].key, drv->name, buf);
			return -EINVAL;
		}
	}
	for (const struct tarn__key *k = drv->keys; k != NULL && k->name != NULL; k++) {
		if ((k->flags & TARN__KEY_REQUIRED) && tarn__eth_spec_get(s, k->name) == NULL) {
			tarn__key_syntax(k, buf, sizeof(buf));
			TARN__ERR(TARN__ETH_LOG, "port spec '%s': %s needs %s (%s)", spec,
			          drv->name, buf, k->help);
			return -EINVAL;
		}
	}
	memset(g, 0, sizeof(*g));
	g->socket = TARN__ETH_SOCKET_NOT_GIVEN;
	for (unsigned i = 0; i < s->nb_kv; i++) {
		const struct tarn__key *k = tarn__key_find(tarn__eth_generic_keys, s->kv[i].key);
		if (k != NULL && tarn__key_parse(k, s->kv[i].value, g, buf, sizeof(buf)) < 0)
			return bad_value(spec, k->name, s->kv[i].value, buf);
	}
	return 0;
}

int tarn__eth_spec_driver(const struct tarn__eth_driver *drv, const char *spec,
                          const struct tarn__eth_spec *s, void *priv)
{
	char why[256];

	tarn__keys_defaults(drv->keys, priv);
	for (unsigned i = 0; i < s->nb_kv; i++) {
		const struct tarn__key *k = tarn__key_find(drv->keys, s->kv[i].key);
		if (k != NULL && tarn__key_parse(k, s->kv[i].value, priv, why, sizeof(why)) < 0)
			return bad_value(spec, k->name, s->kv[i].value, why);
	}
	return 0;
}
