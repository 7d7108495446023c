/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_spec: port spec strings ("driver:key=value,..."). Every input goes
 * through the spec parser and every value through the typed key reader
 * (lib/env/keys.c) as a number, a word and a string; inputs naming the
 * in-memory drivers (ring, null) also go through tarn_eth_dev_create(),
 * and a port it creates is closed again (drivers on kernel interfaces are
 * left out: a fuzzer must not create tap devices or open sockets).
 * Checked: no crash or out-of-bounds access, a parsed spec never holds
 * more than TARN_ETH_MAX_KV pairs, and no port outlives its input.
 */
#include <string.h>

#include "ethdev_driver_priv.h"
#include "fuzz_common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	fuzz_init_tarn("tarn-fuzz-spec");
	return 0;
}

/* One key of each type, as drivers declare them. */
struct fuzz_cfg {
	uint32_t n;
	int w;
	char s[16];
};

static const struct tarn__key_word fuzz_words[] = {
	{ "on", 1, "one", 0 },
	{ "off", 0, NULL, 0 },
	{ "1", 1, NULL, 1 },
	{ NULL, 0, NULL, 0 },
};

static const struct tarn__key fuzz_keys[] = {
	{ .name = "n",
	  .type = TARN__KEY_UINT,
	  TARN__KEY_AT(struct fuzz_cfg, n),
	  .max = 1000,
	  .align = 8,
	  .help = "n" },
	{ .name = "w",
	  .type = TARN__KEY_ENUM,
	  TARN__KEY_AT(struct fuzz_cfg, w),
	  .words = fuzz_words,
	  .help = "w" },
	{ .name = "s", .type = TARN__KEY_STR, TARN__KEY_AT(struct fuzz_cfg, s), .help = "s" },
	{ .name = NULL },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 2 * TARN_ETH_SPEC_MAX)
		return 0;
	char *s = malloc(size + 1);
	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';

	struct tarn__eth_spec spec;
	if (tarn__eth_spec_parse(s, &spec) == 0) {
		if (spec.nb_kv > TARN_ETH_MAX_KV)
			abort();
		for (unsigned i = 0; i < spec.nb_kv; i++) {
			struct fuzz_cfg cfg;
			char why[128];
			memset(&cfg, 0, sizeof(cfg));
			tarn__keys_defaults(fuzz_keys, &cfg);
			for (const struct tarn__key *k = fuzz_keys; k->name != NULL; k++)
				if (tarn__key_parse(k, spec.kv[i].value, &cfg, why, sizeof(why)) <
				        0 &&
				    why[0] == '\0')
					abort(); /* an error always says why */
			if (cfg.n > 1000 || cfg.n % 8 != 0 || strlen(cfg.s) >= sizeof(cfg.s))
				abort();
			if (tarn__eth_spec_get(&spec, spec.kv[i].key) == NULL)
				abort();
		}
	}
	if (strncmp(s, "ring", 4) == 0 || strncmp(s, "null", 4) == 0) {
		uint16_t port;
		if (tarn_eth_dev_create(s, &port) == 0)
			tarn_eth_dev_close(port);
	}
	if (tarn_eth_dev_count() != 0)
		abort();
	free(s);
	return 0;
}
