/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_mbuf: mbuf operations driven by a byte script. Each pair of input
 * bytes is (operation, argument) on a table of up to 8 packets: alloc,
 * append, prepend, adj, trim, chain, clone, deep copy, linearize, read,
 * write into the data, free. After every operation each live packet must
 * pass tarn_mbuf_check(); at the end every packet is freed and the pools
 * must be full again (nothing lost, nothing freed twice: ASan and the
 * mempool's own accounting).
 */
#include <string.h>

#include "fuzz_common.h"

#define SLOTS 8

static struct tarn_mempool *pool, *small;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	fuzz_init_tarn("tarn-fuzz-mbuf");
	pool =
	    tarn_pktmbuf_pool_create("fz", 256, 0, 0, TARN_MBUF_DEFAULT_BUF_SIZE, TARN_SOCKET_ANY);
	/* A second pool with small data rooms: chains of many segments. */
	small = tarn_pktmbuf_pool_create("fz_small", 256, 0, 0, 64 + TARN_PKTMBUF_HEADROOM,
	                                 TARN_SOCKET_ANY);
	if (pool == NULL || small == NULL)
		abort();
	return 0;
}

static void check(struct tarn_mbuf *m)
{
	const char *why;
	if (m != NULL && tarn_mbuf_check(m, 1, &why) != 0) {
		fprintf(stderr, "fuzz_mbuf: bad packet: %s\n", why);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tarn_mbuf *slot[SLOTS] = { 0 };
	uint8_t buf[4096];
	for (size_t i = 0; i + 1 < size && i < 512; i += 2) {
		unsigned op = data[i] % 12, arg = data[i + 1];
		unsigned a = arg % SLOTS, b = (arg / SLOTS) % SLOTS;
		struct tarn_mbuf *m = slot[a];
		switch (op) {
		case 0: /* alloc */
			if (m == NULL)
				slot[a] = tarn_pktmbuf_alloc(arg & 0x80 ? small : pool);
			break;
		case 1: /* append */
			if (m != NULL) {
				char *p = tarn_pktmbuf_append(m, (uint16_t)(arg * 9));
				if (p != NULL)
					memset(p, arg, (size_t)arg * 9);
			}
			break;
		case 2: /* prepend */
			if (m != NULL) {
				char *p = tarn_pktmbuf_prepend(m, (uint16_t)arg);
				if (p != NULL)
					memset(p, 0xa5, arg);
			}
			break;
		case 3:
			if (m != NULL)
				(void)tarn_pktmbuf_adj(m, (uint16_t)(arg * 3));
			break;
		case 4:
			if (m != NULL)
				(void)tarn_pktmbuf_trim(m, (uint16_t)(arg * 3));
			break;
		case 5: /* chain b onto a */
			if (m != NULL && slot[b] != NULL && a != b &&
			    tarn_pktmbuf_chain(m, slot[b]) == 0)
				slot[b] = NULL;
			break;
		case 6: /* clone a into b */
			if (m != NULL && slot[b] == NULL)
				slot[b] = tarn_pktmbuf_clone(m, pool);
			break;
		case 7: /* deep copy of a range of a into b */
			if (m != NULL && slot[b] == NULL)
				slot[b] = tarn_pktmbuf_copy(m, arg & 1 ? small : pool, arg / 2,
				                            (uint32_t)arg * 7);
			break;
		case 8:
			if (m != NULL)
				(void)tarn_pktmbuf_linearize(m);
			break;
		case 9: /* read across segments */
			if (m != NULL) {
				uint32_t off = (uint32_t)arg * 5,
				         len = (uint32_t)arg * 11 % sizeof(buf);
				const uint8_t *p = tarn_pktmbuf_read(m, off, len, buf);
				if (p != NULL && len > 0 && (p[0] | p[len - 1]) == 0x100)
					abort(); /* touch both ends */
			}
			break;
		case 10: /* write into the first segment's data */
			if (m != NULL && m->data_len > 0)
				tarn_pktmbuf_mtod(m, uint8_t *)[arg % m->data_len] = (uint8_t)arg;
			break;
		case 11:
			tarn_pktmbuf_free(m);
			slot[a] = NULL;
			break;
		}
		for (unsigned k = 0; k < SLOTS; k++)
			check(slot[k]);
	}
	for (unsigned k = 0; k < SLOTS; k++)
		tarn_pktmbuf_free(slot[k]);
	if (tarn_mempool_in_use_count(pool) != 0 || tarn_mempool_in_use_count(small) != 0) {
		fprintf(stderr, "fuzz_mbuf: mbufs lost: %u + %u in use\n",
		        tarn_mempool_in_use_count(pool), tarn_mempool_in_use_count(small));
		abort();
	}
	return 0;
}
