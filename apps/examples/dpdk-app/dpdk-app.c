/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dpdk-app - tarn inside a DPDK program: an rte_mempool whose store is a
 * tarn ring (the "tarn" ops of librte_mempool_tarn.so, chosen explicitly),
 * an mbuf pool on the same ops, and a tarn pool for the program's own
 * records next to them. Every lcore takes packets and records in bursts,
 * links and checks them, and gives them back; at the end every object must
 * be back in its pool. Exit status 0 when every check passed, 1 otherwise.
 *
 *   dpdk-app [EAL options] -d PATH/librte_mempool_tarn.so [-- tarn options]
 *   dpdk-app -l 0-1 --no-pci --no-huge -m 128 -d build/drivers/dpdk/librte_mempool_tarn.so
 *
 * Build: cc dpdk-app.c $(pkg-config --cflags --libs libdpdk libtarn)
 */
#include <stdio.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <tarn/tarn.h>

#define N_PKTS 4095 /* DPDK pool on the tarn ops */
#define N_RECS 4095 /* tarn pool of the program's records */
#define PKT_SZ 256
#define BURST  32
#define ROUNDS 20000

/* A record of the program, in a tarn pool: which packet it describes. */
struct rec {
	void *pkt;
	unsigned lcore;
	uint64_t seq;
};

static struct rte_mempool *pkts;
static struct tarn_mempool *recs;
static unsigned errors;   /* atomic */
static unsigned finished; /* atomic: lcores done (release), read after the wait */

static void fail(const char *what)
{
	__atomic_fetch_add(&errors, 1, __ATOMIC_RELAXED);
	fprintf(stderr, "dpdk-app: FAILED: %s\n", what);
}

/* Each packet object starts with its index (set once by rte_mempool_obj_iter). */
static void pkt_init(struct rte_mempool *mp, void *arg, void *obj, unsigned idx)
{
	(void)mp;
	(void)arg;
	*(unsigned *)obj = idx;
}

/* On every lcore: take BURST packets and BURST records, link them, check the
 * links, give everything back. */
static int worker(void *arg)
{
	(void)arg;
	void *p[BURST], *r[BURST];
	for (uint64_t i = 0; i < ROUNDS; i++) {
		if (rte_mempool_get_bulk(pkts, p, BURST) != 0)
			continue; /* the other lcores hold them now: try again */
		if (tarn_mempool_get_bulk(recs, r, BURST) != 0) {
			rte_mempool_put_bulk(pkts, p, BURST);
			continue;
		}
		for (unsigned k = 0; k < BURST; k++) {
			struct rec *x = r[k];
			x->pkt = p[k];
			x->lcore = rte_lcore_id();
			x->seq = i;
		}
		for (unsigned k = 0; k < BURST; k++) {
			const struct rec *x = r[k];
			if (x->pkt != p[k] || *(unsigned *)x->pkt >= N_PKTS)
				fail("a record lost its packet");
		}
		tarn_mempool_put_bulk(recs, r, BURST);
		rte_mempool_put_bulk(pkts, p, BURST);
	}
	__atomic_fetch_add(&finished, 1, __ATOMIC_RELEASE);
	return 0;
}

static void find_store(struct tarn_ring *r, void *arg)
{
	const char *dot = strchr(tarn_ring_get_name(r), '.');
	if (dot != NULL && strcmp(dot + 1, "app_pkts") == 0)
		*(struct tarn_ring **)arg = r;
}

int main(int argc, char **argv)
{
	int rc = rte_eal_init(argc, argv);
	if (rc < 0) {
		fprintf(stderr, "dpdk-app: rte_eal_init: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	argc -= rc;
	argv += rc;
	int done = 0; /* reached the end of the checks */

	/* tarn next to the EAL: the EAL's main lcore (already pinned), no
	 * hugepages (DPDK has them), no telemetry socket (DPDK has one). tarn
	 * options after "--" (e.g. --log-level info) apply on top. Started
	 * before the first pool on the tarn ops, so the plugin uses it. */
	struct tarn_config cfg;
	if ((rc = tarn_config_init(&cfg)) < 0) { /* a malformed TARN_* variable */
		fprintf(stderr, "dpdk-app: tarn_config_init: %s\n", tarn_strerror(rc));
		rte_eal_cleanup();
		return 1;
	}
	snprintf(cfg.lcores, sizeof(cfg.lcores), "%u@%d", rte_lcore_id(),
	         rte_lcore_to_cpu_id((int)rte_lcore_id()));
	cfg.no_pin_main = 1;
	cfg.huge_policy = TARN_HUGE_NONE;
	cfg.no_telemetry = 1;
	snprintf(cfg.file_prefix, sizeof(cfg.file_prefix), "dpdk-app");
	if ((rc = tarn_config_parse_args(&cfg, &argc, argv)) < 0 || (rc = tarn_init(&cfg)) < 0) {
		fprintf(stderr, "dpdk-app: tarn_init: %s\n", tarn_strerror(rc));
		rte_eal_cleanup();
		return 1;
	}
	if (argc > 1) {
		fprintf(stderr,
		        "dpdk-app: unknown argument '%s' (EAL options, then -- and tarn options)\n",
		        argv[1]);
		tarn_cleanup();
		rte_eal_cleanup();
		return 2;
	}

	/* An rte_mempool on the tarn ops, chosen explicitly. */
	pkts = rte_mempool_create_empty("app_pkts", N_PKTS, PKT_SZ, 256, 0, SOCKET_ID_ANY, 0);
	if (pkts == NULL || (rc = rte_mempool_set_ops_byname(pkts, "tarn", NULL)) != 0) {
		fprintf(stderr,
		        "dpdk-app: no mempool on the \"tarn\" ops (%s): load the plugin "
		        "with -d PATH/librte_mempool_tarn.so\n",
		        rte_strerror(pkts == NULL ? rte_errno : -rc));
		goto out;
	}
	if ((rc = rte_mempool_populate_default(pkts)) != N_PKTS) {
		fprintf(stderr, "dpdk-app: populate: %s\n", rte_strerror(rc < 0 ? -rc : EIO));
		goto out;
	}
	rte_mempool_obj_iter(pkts, pkt_init, NULL);
	/* The program's own records, in a tarn pool. */
	recs = tarn_mempool_create("app_recs", N_RECS, sizeof(struct rec), 256, 0, NULL, NULL,
	                           TARN_SOCKET_ANY, 0);
	if (recs == NULL) {
		fprintf(stderr, "dpdk-app: tarn_mempool_create: %s\n", tarn_strerror(tarn_errno));
		goto out;
	}

	unsigned lc;
	RTE_LCORE_FOREACH_WORKER(lc)
	{
		rte_eal_remote_launch(worker, NULL, lc);
	}
	worker(NULL);
	rte_eal_mp_wait_lcore();
	/* pairs with the workers' release: their caches are quiet now */
	if (__atomic_load_n(&finished, __ATOMIC_ACQUIRE) != rte_lcore_count())
		fail("an lcore did not finish");

	/* Everything is back: DPDK's count (lcore caches + store), then, with
	 * every lcore cache flushed (all lcores are idle), the tarn ring. */
	if (rte_mempool_avail_count(pkts) != N_PKTS)
		fail("packets missing from app_pkts");
	RTE_LCORE_FOREACH(lc)
	{
		rte_mempool_cache_flush(rte_mempool_default_cache(pkts, lc), pkts);
	}
	struct tarn_ring *store = NULL;
	tarn_ring_walk(find_store, &store);
	if (store == NULL)
		fail("the tarn ring of app_pkts is not in tarn's ring list");
	else if (tarn_ring_count(store) != N_PKTS)
		fail("the tarn ring does not hold every packet");
	if (tarn_mempool_in_use_count(recs) != 0)
		fail("records missing from app_recs");

	/* mbufs on the same ops: what --mbuf-pool-ops-name tarn gives testpmd. */
	struct rte_mempool *mbufs = rte_pktmbuf_pool_create_by_ops(
	    "app_mbufs", 1023, 64, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY, "tarn");
	struct rte_mbuf *m[BURST];
	if (mbufs == NULL || rte_pktmbuf_alloc_bulk(mbufs, m, BURST) != 0) {
		fail("no mbufs from a pool on the tarn ops");
	} else {
		for (unsigned k = 0; k < BURST; k++)
			if (rte_pktmbuf_append(m[k], 64) == NULL)
				fail("rte_pktmbuf_append");
		rte_pktmbuf_free_bulk(m, BURST);
		if (rte_mempool_avail_count(mbufs) != 1023)
			fail("mbufs missing from app_mbufs");
	}
	rte_mempool_free(mbufs);
	done = 1;
	printf("dpdk-app: %u lcores, %d rounds of %d packets + %d records each; app_pkts %u/%u "
	       "back (tarn ring %s: %u), app_recs %u/%u back, mbufs ok: %s\n",
	       rte_lcore_count(), ROUNDS, BURST, BURST, rte_mempool_avail_count(pkts), N_PKTS,
	       store ? tarn_ring_get_name(store) : "?", store ? tarn_ring_count(store) : 0,
	       tarn_mempool_avail_count(recs), N_RECS, mbufs ? "yes" : "no");
out:
	/* DPDK's pools first: their stores are tarn's. */
	rte_mempool_free(pkts);
	if (recs != NULL && tarn_mempool_free(recs, 0) != 0)
		fail("tarn_mempool_free(app_recs)");
	tarn_cleanup();
	rte_eal_cleanup();
	if (done && errors == 0) {
		printf("dpdk-app: all checks passed\n");
		return 0;
	}
	fprintf(stderr, "dpdk-app: %s\n", done ? "some checks failed" : "stopped early");
	return 1;
}
