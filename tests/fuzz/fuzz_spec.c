/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_spec: port spec strings ("driver:key=value,..."). Every input goes
 * through the spec parser and the numeric key reader; inputs naming the
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
			uint64_t v = 7;
			(void)tarn__eth_spec_get_u64(&spec, spec.kv[i].key, 0, 1000, &v);
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
