/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * skeleton-fwd: the smallest complete forwarding program on tarn.
 *
 *   skeleton-fwd [tarn options] [-n PACKETS] [-t SECONDS] [SPEC0 SPEC1]
 *
 * Two ports from spec strings (default: two cabled in-memory ring ports), an
 * mbuf pool, and a loop on the main lcore sending what one port receives out
 * of the other, for SECONDS (default 1) or PACKETS (default: no limit). Then
 * port counters, cleanup and a leak check: exit 0 only if every mbuf came
 * back and the ports' counters agree with the program's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <tarn/tarn.h>

#define NB_MBUFS 4096 /* > 2 ports x (RX ring + TX ring) + cache + bursts */
#define NB_DESC  512
#define BURST    32

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Create, configure (1 RX + 1 TX queue), set up and start a port. */
static int port_open(const char *spec, struct tarn_mempool *pool, uint16_t *port)
{
	int rc = tarn_eth_dev_create(spec, port);
	if (rc == 0) {
		rc = tarn_eth_dev_configure(*port, 1, 1, NULL);
		if (rc == 0)
			rc = tarn_eth_rx_queue_setup(*port, 0, NB_DESC, TARN_SOCKET_ANY, pool);
		if (rc == 0)
			rc = tarn_eth_tx_queue_setup(*port, 0, NB_DESC, TARN_SOCKET_ANY);
		if (rc == 0)
			rc = tarn_eth_dev_start(*port);
		if (rc < 0)
			tarn_eth_dev_close(*port);
	}
	if (rc < 0)
		fprintf(stderr, "skeleton-fwd: port '%s': %s\n", spec, tarn_strerror(rc));
	return rc;
}

/* Send one burst of 64-byte broadcast frames; returns how many the port took. */
static unsigned send_first_burst(struct tarn_mempool *pool, uint16_t port)
{
	struct tarn_mbuf *pkts[BURST];
	if (tarn_pktmbuf_alloc_bulk(pool, pkts, BURST) != 0)
		return 0;
	for (unsigned i = 0; i < BURST; i++) {
		char *frame = tarn_pktmbuf_append(pkts[i], 64);
		memset(frame, 0, 64);
		memset(frame, 0xff, TARN_ETHER_ADDR_LEN); /* destination: broadcast */
	}
	unsigned sent = tarn_eth_tx_burst(port, 0, pkts, BURST);
	tarn_pktmbuf_free_bulk(pkts + sent, BURST - sent); /* what TX did not take */
	return sent;
}

/* Forward between the two ports until a limit; 1 if the counts check out. */
static int forward(struct tarn_mempool *pool, const uint16_t ports[2], const char *specs[2],
                   unsigned long target, double seconds)
{
	unsigned long seeded = send_first_burst(pool, ports[0]) + send_first_burst(pool, ports[1]);
	unsigned long fwd = 0, dropped = 0;
	const double t0 = now_s();

	while ((target == 0 || fwd < target) && now_s() - t0 < seconds) {
		for (int p = 0; p < 2; p++) {
			struct tarn_mbuf *pkts[BURST];
			uint16_t n = tarn_eth_rx_burst(ports[p], 0, pkts, BURST);
			uint16_t sent = tarn_eth_tx_burst(ports[p ^ 1], 0, pkts, n);
			/* the caller still owns what TX did not take */
			tarn_pktmbuf_free_bulk(pkts + sent, n - sent);
			fwd += sent;
			dropped += n - sent;
		}
	}
	const double dt = now_s() - t0;
	printf("forwarded %lu packets in %.1f ms (%.2f Mpps), %lu dropped, %lu seeded\n", fwd,
	       dt * 1e3, (double)fwd / dt / 1e6, dropped, seeded);
	uint64_t opackets = 0;
	for (int p = 0; p < 2; p++) {
		struct tarn_eth_stats st;
		tarn_eth_stats_get(ports[p], &st);
		printf("port %u (%s): rx %llu tx %llu oerrors %llu rx_nombuf %llu\n", ports[p],
		       specs[p], (unsigned long long)st.ipackets, (unsigned long long)st.opackets,
		       (unsigned long long)st.oerrors, (unsigned long long)st.rx_nombuf);
		opackets += st.opackets;
	}
	return fwd > 0 && opackets == seeded + fwd; /* the ports agree with our count */
}

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: skeleton-fwd [tarn options] [-n PACKETS] [-t SECONDS] [SPEC0 SPEC1]\n\n"
	        "Forward what each of two ports receives out of the other (default: two\n"
	        "cabled ring ports) for SECONDS (default 1) or PACKETS, then print the\n"
	        "counters and check that every mbuf came back (exit 0 only then).\n\n");
	tarn_config_usage(out); /* the tarn options */
}

int main(int argc, char **argv)
{
	const char *specs[2] = { "ring:name=p0", "ring:name=p1,peer=p0" };
	unsigned long target = 0;
	double seconds = 1;
	int opt, ok = 0, nb_ports = 0, bad = 0;
	uint16_t ports[2];
	char *end = NULL;

	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		}
	if (tarn_init_args(&argc, argv) < 0) /* takes the tarn options out of argv */
		return 2;
	while ((opt = getopt(argc, argv, "n:t:")) != -1) {
		if (opt == 'n')
			target = strtoul(optarg, &end, 10);
		else if (opt == 't')
			seconds = strtod(optarg, &end);
		bad |= opt == '?' || (end != NULL && *end != '\0'); /* not a number */
	}
	if (bad || (argc - optind != 0 && argc - optind != 2) || !(seconds > 0)) {
		fprintf(stderr, "usage: skeleton-fwd [tarn options] [-n PACKETS] [-t SECONDS] "
		                "[SPEC0 SPEC1] (--help for more)\n");
		tarn_cleanup();
		return 2;
	}
	for (int i = 0; optind + i < argc; i++) /* SPEC0 SPEC1 */
		specs[i] = argv[optind + i];

	/* mbufs with 2048 data bytes after the headroom, a 256-mbuf cache per thread */
	struct tarn_mempool *pool = tarn_pktmbuf_pool_create(
	    "skel_mbufs", NB_MBUFS, 256, 0, TARN_MBUF_DEFAULT_BUF_SIZE, TARN_SOCKET_ANY);
	if (pool == NULL) {
		fprintf(stderr, "skeleton-fwd: pool: %s\n", tarn_strerror(tarn_errno));
		tarn_cleanup();
		return 1;
	}
	while (nb_ports < 2 && port_open(specs[nb_ports], pool, &ports[nb_ports]) == 0)
		nb_ports++;
	if (nb_ports == 2)
		ok = forward(pool, ports, specs, target, seconds);
	while (nb_ports > 0)
		tarn_eth_dev_close(ports[--nb_ports]); /* frees the mbufs still in queues */

	unsigned in_use = tarn_mempool_in_use_count(pool);
	printf("mbufs: %u of %u not returned%s\n", in_use, NB_MBUFS, in_use ? " (LEAK)" : "");
	tarn_mempool_free(pool, TARN_MEMPOOL_FREE_FORCE);
	tarn_cleanup();
	return ok && in_use == 0 ? 0 : 1;
}
