/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tarn-info: initialise tarn, print the topology and the memory it reserved,
 * take objects from a pool and give them back.
 *
 *   tarn-info [tarn options]       e.g. tarn-info --socket-mem 64 --log-level info
 */
#include <stdio.h>
#include <string.h>

#include <tarn/tarn.h>

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			printf("usage: %s [tarn options]\n\n"
			       "Initialise tarn, print the topology and reserved memory, and\n"
			       "exercise a packet-buffer-sized pool.\n\n",
			       argv[0]);
			tarn_config_usage(stdout);
			return 0;
		}
	}
	int rc = tarn_init_args(&argc, argv);
	if (rc < 0) {
		fprintf(stderr, "tarn-info: tarn_init: %s\n", tarn_strerror(rc));
		return 1;
	}
	if (argc > 1) {
		fprintf(stderr, "tarn-info: unexpected argument '%s' (see --help)\n", argv[1]);
		tarn_cleanup();
		return 2;
	}
	printf("tarn %s\n", tarn_version());
	tarn_topology_dump(stdout);

	/* 8192 objects of 2 KiB with a 256-object cache on the main lcore's socket. */
	struct tarn_mempool *mp =
	    tarn_mempool_create("info_pool", 8192, 2048, 256, 0, NULL, NULL, TARN_SOCKET_ANY, 0);
	if (mp == NULL) {
		fprintf(stderr, "tarn-info: pool: %s\n", tarn_strerror(tarn_errno));
		tarn_cleanup();
		return 1;
	}
	void *objs[32];
	unsigned long moved = 0;
	for (int i = 0; i < 100000; i++) {
		if (tarn_mempool_get_bulk(mp, objs, 32) != 0) {
			fprintf(stderr, "tarn-info: get_bulk failed\n");
			break;
		}
		tarn_mempool_put_bulk(mp, objs, 32);
		moved += 32;
	}
	printf("\nmoved %lu objects through pool 'info_pool'\n\n", moved);
	tarn_mem_dump(stdout);
	printf("\n");
	tarn_mempool_dump(stdout);
	int leaked = tarn_mempool_in_use_count(mp) != 0;
	tarn_mempool_free(mp, 0);
	tarn_cleanup();
	return leaked ? 1 : 0;
}
