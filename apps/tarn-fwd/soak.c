/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * soak.c - tarn-fwd --soak: forwarding under random load, with proof at
 * the end (and at every pause) that no packet and no mbuf was lost.
 *
 * Every stream, every round: receive a random burst (1..--burst), edit it
 * (mac, macswap), free a random part of it now and then (consumed),
 * generate a random burst of packets of random length now and then
 * (generated), transmit all, and free what TX refused (dropped). Each
 * stream draws from its own xorshift64* generator, seeded from --seed.
 *
 * The main lcore pauses the forwarding lcores at random times (up to
 * --soak-cycle seconds apart) and, with every thread quiet, checks:
 *
 *   - every stream: rx + generated = tx + dropped + consumed;
 *   - every port: the tx of the streams sending on it = its opackets, what
 *     they dropped = its oerrors, the rx of the streams receiving on it plus
 *     what the soak drained = its ipackets;
 *   - the pool: tarn_mempool_check() passes, and the mbufs in use are
 *     exactly the packets waiting in the rings (sum of opackets - sum of
 *     ipackets): nothing is held anywhere else.
 *
 * Then it does some of: flush every thread's mbuf cache, stop and restart
 * every port (a ring port keeps its packets), drain every RX queue, move
 * the streams to other lcores at random (so a queue changes thread), and
 * checks again before it restarts the lcores. At the end it drains every
 * queue, checks the same and, for every cable, that what one end sent the
 * other end received (packets and bytes). tarn-fwd then closes the ports;
 * soak_report() adds the pool's in-use count after the close (must be 0)
 * and prints the verdict.
 */
#include <inttypes.h>
#include <sched.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fwd.h"
#include "json_priv.h"

#define SOAK_PROG "tarn-fwd: soak"
/* Rounds the main lcore forwards between two looks at the clock. */
#define SOAK_MAIN_ROUNDS 256
/* Highest CPU number counted by the summary. */
#define SOAK_MAX_CPUS 4096
/* Rounds counted locally before they are reported to telemetry. */
#define SOAK_POLL_REPORT 1024

/* ------------------------------------------------------------------------ */
/* Random numbers */

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* xorshift64*: the state must not be 0. */
static inline uint64_t rng_next(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dull;
}

/* A number in [0, n). */
static inline uint64_t rng_below(uint64_t *s, uint64_t n)
{
	return (rng_next(s) >> 11) % n;
}

static uint64_t seed_state(uint64_t seed, uint64_t salt)
{
	uint64_t x = seed ^ (salt * 0x9e3779b97f4a7c15ull);
	uint64_t v = splitmix64(&x);
	return v != 0 ? v : 1;
}

uint64_t soak_default_seed(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t x = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	return splitmix64(&x);
}

/* ------------------------------------------------------------------------ */
/* The engine (forwarding lcores) */

/* One round of one stream. Returns non-zero if it found work. */
static inline unsigned soak_stream_run(struct fwd_stream *s, enum fwd_mode mode, unsigned burst,
                                       unsigned pkt_len, struct tarn_mbuf **pkts)
{
	const uint64_t r = rng_next(&s->rng);
	const uint16_t want = (uint16_t)(1 + (r >> 8) % burst);
	const unsigned sel = (unsigned)(r >> 56);
	uint16_t nb = 0;

	if (s->do_rx) {
		nb = tarn_eth_rx_burst(s->rx_port, s->rx_queue, pkts, want);
		if (nb > 0) {
			fwd_count(&s->rx, nb);
			if (mode != FWD_IO)
				nb = fwd_mac_burst(s, pkts, nb, mode == FWD_MACSWAP);
		}
	}
	/* Consume: one full burst in four, and now and then any burst. */
	if (nb > 0 && ((nb == want && (sel & 3) == 0) || sel == 0x80)) {
		const uint16_t k = (uint16_t)(1 + (r >> 24) % nb);
		tarn_pktmbuf_free_bulk(pkts + nb - k, k);
		fwd_count(&s->consumed, k);
		nb = (uint16_t)(nb - k);
	}
	/* Generate: one round in two when the queue gave less than asked (few
	 * packets about) and TX has not refused anything lately, and now and
	 * then a flood whatever the load. */
	if (s->hold > 0)
		s->hold--;
	if (s->do_tx && ((nb < want && (sel & 0x10) && s->hold == 0) || sel == 0xff)) {
		const uint16_t g = (uint16_t)(1 + (r >> 32) % burst);
		if (tarn_pktmbuf_alloc_bulk(s->pool != NULL ? s->pool : fwd.pool, pkts + nb, g) !=
		    0) {
			fwd_count(&s->nombuf, 1);
		} else {
			uint64_t lr = r;
			for (uint16_t i = 0; i < g; i++) {
				lr = rng_next(&s->rng);
				const unsigned len =
				    TARN_ETHER_HDR_LEN +
				    (unsigned)((lr >> 16) % (pkt_len - TARN_ETHER_HDR_LEN + 1));
				fwd_build_packet(pkts[nb + i], len, &s->tx_src, &s->tx_dst,
				                 (uint32_t)(lr >> 48));
			}
			fwd_count(&s->gen, g);
			nb = (uint16_t)(nb + g);
		}
	}
	if (nb > 0 && s->do_tx) {
		const uint16_t sent = tarn_eth_tx_burst(s->tx_port, s->tx_queue, pkts, nb);
		fwd_count(&s->tx, sent);
		if (sent < nb) {
			/* Back off exponentially: the consumer of that ring may
			 * be a thread that waits for the CPU (lcores > CPUs). */
			s->backoff = s->backoff == 0           ? 16
			             : s->backoff < (1u << 20) ? 2 * s->backoff
			                                       : s->backoff;
			s->hold = s->backoff / 2 + (uint32_t)((r >> 40) % s->backoff);
			tarn_pktmbuf_free_bulk(pkts + sent, (unsigned)(nb - sent));
			fwd_count(&s->dropped, (uint64_t)(nb - sent));
		} else {
			s->backoff /= 2;
		}
	} else if (nb > 0) {
		tarn_pktmbuf_free_bulk(pkts, nb);
		fwd_count(&s->consumed, nb);
	}
	return nb > 0;
}

/* Run the streams of `lcore` for `iterations` rounds, or until the stop
 * flag (iterations 0). */
static void soak_loop(struct soak_ctx *c, uint32_t lcore, unsigned iterations)
{
	/* received + generated: up to two bursts */
	struct tarn_mbuf *pkts[2 * FWD_MAX_BURST];
	const enum fwd_mode mode = fwd.mode;
	const unsigned burst = fwd.burst, pkt_len = fwd.pkt_len;
	unsigned n, it = 0, polls = 0, busy = 0;
	struct fwd_stream *ss = fwd_lcore_streams(lcore, &n);
	const int main_lcore = c->main_forwards;

	if (n == 0)
		return;
	while (!__atomic_load_n(&fwd_stop_flag, __ATOMIC_RELAXED)) {
		unsigned work = 0;
		for (unsigned i = 0; i < n; i++)
			work |= soak_stream_run(&ss[i], mode, burst, pkt_len, pkts);
		busy += work != 0;
		/* Nothing to do: let a thread that shares the CPU run (there may
		 * be more lcores than CPUs). */
		if (!work && !main_lcore)
			sched_yield();
		if (++polls == SOAK_POLL_REPORT) {
			tarn_telemetry_lcore_polls(polls, busy);
			polls = busy = 0;
		}
		if (iterations != 0 && ++it == iterations)
			break;
	}
	tarn_telemetry_lcore_polls(polls, busy);
}

static int soak_lcore_main(void *arg)
{
	soak_loop(arg, tarn_lcore_id(), 0);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Setup */

/* The value of `key` in a port spec "DRIVER:K=V,...", copied to `out`; 0 if
 * found. */
static int spec_value(const char *spec, const char *key, char *out, size_t size)
{
	const char *p = strchr(spec, ':');
	const size_t kl = strlen(key);
	while (p != NULL) {
		p++;
		if (strncmp(p, key, kl) == 0 && p[kl] == '=') {
			const char *v = p + kl + 1;
			size_t n = strcspn(v, ",");
			if (n >= size)
				n = size - 1;
			memcpy(out, v, n);
			out[n] = '\0';
			return 0;
		}
		p = strchr(p, ',');
	}
	return -1;
}

int soak_setup(struct soak_ctx *c)
{
	struct tarn_eth_dev_info info[TARN_MAX_ETHPORTS];

	memset(&c->st, 0, sizeof(c->st));
	memset(info, 0, sizeof(info));
	if (fwd.mode != FWD_IO && fwd.mode != FWD_MAC && fwd.mode != FWD_MACSWAP) {
		fprintf(stderr,
		        SOAK_PROG ": --soak forwards: --fwd must be io, mac or macswap (not %s)\n",
		        fwd_mode_name(fwd.mode));
		return FWD_EXIT_USAGE;
	}
	for (unsigned i = 0; i < c->nb_ports; i++) {
		if (tarn_eth_dev_info_get(c->ports[i], &info[i]) < 0 ||
		    strcmp(info[i].driver_name, "ring") != 0) {
			fprintf(stderr,
			        SOAK_PROG
			        ": --soak checks in-memory ports only: port %u (%s) is not "
			        "a ring port\n",
			        i, info[i].spec);
			return FWD_EXIT_USAGE;
		}
	}
	c->st.nb_rxq = info[0].nb_rx_queues;
	/* Cables: who receives what port i sends. */
	for (unsigned i = 0; i < c->nb_ports; i++) {
		char v[TARN_NAME_SIZE];
		c->st.dst[i] = -1;
		if (spec_value(info[i].spec, "loop", v, sizeof(v)) == 0 && strcmp(v, "1") == 0) {
			c->st.dst[i] = (int)i;
			continue;
		}
		if (spec_value(info[i].spec, "peer", v, sizeof(v)) == 0) {
			for (unsigned j = 0; j < c->nb_ports; j++)
				if (strcmp(info[j].name, v) == 0)
					c->st.dst[i] = (int)j;
			continue;
		}
		for (unsigned j = 0; j < c->nb_ports; j++)
			if (j != i && spec_value(info[j].spec, "peer", v, sizeof(v)) == 0 &&
			    strcmp(v, info[i].name) == 0)
				c->st.dst[i] = (int)j;
	}
	/* Distinct CPUs of the lcores (the main one included). */
	uint32_t l;
	char seen[SOAK_MAX_CPUS] = { 0 };
	TARN_LCORE_FOREACH(l)
	{
		int cpu = tarn_lcore_cpu(l);
		if (cpu >= 0 && cpu < SOAK_MAX_CPUS && !seen[cpu]) {
			seen[cpu] = 1;
			c->st.cpus++;
		}
	}
	if (!c->json) {
		printf("tarn-fwd: soak: seed %" PRIu64 " (--seed %" PRIu64
		       " repeats the random choices; thread timing differs), pauses every 0-%g s\n",
		       c->seed, c->seed, c->cycle);
		fflush(stdout);
	}
	/* The pools packets come from: fwd.pool and the streams' own. */
	c->st.pools[c->st.nb_pools++] = fwd.pool;
	for (unsigned i = 0; i < fwd.nb_streams; i++) {
		struct tarn_mempool *mp = fwd.streams[i].pool;
		unsigned k = 0;
		while (k < c->st.nb_pools && c->st.pools[k] != mp)
			k++;
		if (mp != NULL && k == c->st.nb_pools)
			c->st.pools[c->st.nb_pools++] = mp;
	}
	c->st.rng = seed_state(c->seed, 0xffffffffu);
	for (unsigned i = 0; i < fwd.nb_streams; i++)
		fwd.streams[i].rng = seed_state(c->seed, i);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Checks (all threads but the main one quiet) */

static void fail(struct soak_ctx *c, const char *where, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail(struct soak_ctx *c, const char *where, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, SOAK_PROG ": FAILED at %s: ", where);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	c->st.failures++;
}

/* Every check; `st` is filled with the port counters. */
static void check_all(struct soak_ctx *c, const char *where, struct tarn_eth_stats *st)
{
	uint64_t s_tx[TARN_MAX_ETHPORTS] = { 0 }, s_rx[TARN_MAX_ETHPORTS] = { 0 },
	         s_dr[TARN_MAX_ETHPORTS] = { 0 };
	uint64_t sum_op = 0, sum_ip = 0;

	for (unsigned i = 0; i < c->nb_ports; i++)
		if (tarn_eth_stats_get(c->ports[i], &st[i]) < 0)
			fail(c, where, "cannot read the counters of port %u", i);
	for (unsigned i = 0; i < fwd.nb_streams; i++) {
		const struct fwd_stream *s = &fwd.streams[i];
		const uint64_t rx = fwd_read(&s->rx), gen = fwd_read(&s->gen),
		               tx = fwd_read(&s->tx), dr = fwd_read(&s->dropped),
		               co = fwd_read(&s->consumed);
		if (rx + gen != tx + dr + co)
			fail(c, where,
			     "stream %u (port %u q%u -> port %u q%u): rx %" PRIu64
			     " + generated %" PRIu64 " != tx %" PRIu64 " + dropped %" PRIu64
			     " + consumed %" PRIu64,
			     i, (unsigned)s->rx_port, (unsigned)s->rx_queue, (unsigned)s->tx_port,
			     (unsigned)s->tx_queue, rx, gen, tx, dr, co);
		for (unsigned p = 0; p < c->nb_ports; p++) {
			if (c->ports[p] == s->tx_port) {
				s_tx[p] += tx;
				s_dr[p] += dr;
			}
			if (c->ports[p] == s->rx_port)
				s_rx[p] += rx;
		}
	}
	for (unsigned p = 0; p < c->nb_ports; p++) {
		if (s_tx[p] != st[p].opackets)
			fail(c, where,
			     "port %u: the streams sent %" PRIu64 ", the port counted %" PRIu64, p,
			     s_tx[p], st[p].opackets);
		if (s_dr[p] != st[p].oerrors)
			fail(c, where,
			     "port %u: the streams dropped %" PRIu64 " refused packets, the port "
			     "counted %" PRIu64 " oerrors",
			     p, s_dr[p], st[p].oerrors);
		if (s_rx[p] + c->st.drained[p] != st[p].ipackets)
			fail(c, where,
			     "port %u: the streams received %" PRIu64
			     " and the soak drained %" PRIu64 ", the port counted %" PRIu64,
			     p, s_rx[p], c->st.drained[p], st[p].ipackets);
		if (st[p].imissed != 0 || st[p].ierrors != 0 || st[p].rx_nombuf != 0)
			fail(c, where,
			     "port %u: imissed %" PRIu64 " ierrors %" PRIu64 " rx_nombuf %" PRIu64
			     " (a ring port has none)",
			     p, st[p].imissed, st[p].ierrors, st[p].rx_nombuf);
		sum_op += st[p].opackets;
		sum_ip += st[p].ipackets;
	}
	if (sum_ip > sum_op) {
		fail(c, where, "ports received %" PRIu64 " packets, more than the %" PRIu64 " sent",
		     sum_ip, sum_op);
		return;
	}
	c->st.in_flight = sum_op - sum_ip;
	uint64_t in_use = 0;
	for (unsigned k = 0; k < c->st.nb_pools; k++)
		in_use += tarn_mempool_in_use_count(c->st.pools[k]);
	if (in_use != c->st.in_flight)
		fail(c, where,
		     "%" PRIu64 " mbufs in use, but %" PRIu64 " packets in the rings (sent %" PRIu64
		     " - received %" PRIu64 "): %s",
		     in_use, c->st.in_flight, sum_op, sum_ip,
		     in_use > c->st.in_flight ? "mbufs lost" : "mbufs counted twice");
	for (unsigned k = 0; k < c->st.nb_pools; k++)
		if (tarn_mempool_check(c->st.pools[k]) != 0)
			fail(c, where, "tarn_mempool_check(%s) failed (see the log line above)",
			     tarn_mempool_name(c->st.pools[k]));
}

/* Give every thread's cached mbufs back to their pool (threads quiet). */
static void flush_all(struct soak_ctx *c)
{
	for (unsigned k = 0; k < c->st.nb_pools; k++)
		tarn_mempool_cache_flush(c->st.pools[k], TARN_MEMPOOL_FLUSH_ALL);
}

/* Receive and free everything waiting on every RX queue of every port. */
static void drain_all(struct soak_ctx *c)
{
	struct tarn_mbuf *pkts[FWD_MAX_BURST];
	for (unsigned p = 0; p < c->nb_ports; p++)
		for (uint16_t q = 0; q < c->st.nb_rxq; q++) {
			uint16_t n;
			while ((n = tarn_eth_rx_burst(c->ports[p], q, pkts, FWD_MAX_BURST)) > 0) {
				tarn_pktmbuf_free_bulk(pkts, n);
				c->st.drained[p] += n;
			}
		}
}

/* Give the streams to lcores at random (an lcore may get none), keeping
 * them sorted by lcore as fwd.c expects. */
static void reassign(struct soak_ctx *c)
{
	struct fwd_stream tmp[FWD_MAX_STREAMS];
	const unsigned n = fwd.nb_streams;

	memcpy(tmp, fwd.streams, n * sizeof(tmp[0]));
	for (unsigned i = 0; i < n; i++)
		tmp[i].lcore = c->lcores[rng_below(&c->st.rng, c->nb_lcores)];
	pthread_mutex_lock(c->lock);
	unsigned k = 0;
	for (unsigned li = 0; li < c->nb_lcores; li++)
		for (unsigned i = 0; i < n; i++)
			if (tmp[i].lcore == c->lcores[li])
				fwd.streams[k++] = tmp[i];
	pthread_mutex_unlock(c->lock);
}

static void lcores_stop(struct soak_ctx *c)
{
	__atomic_store_n(&fwd_stop_flag, 1, __ATOMIC_RELAXED);
	if (!c->main_forwards)
		tarn_lcore_wait_all();
}

static void lcores_start(struct soak_ctx *c)
{
	__atomic_store_n(&fwd_stop_flag, 0, __ATOMIC_RELAXED);
	if (!c->main_forwards)
		for (unsigned i = 0; i < c->nb_lcores; i++)
			tarn_lcore_launch(c->lcores[i], soak_lcore_main, c);
}

/*
 * TARN_FWD_SOAK_FAULT: make the soak lose something on purpose, once (at
 * the first pause, or at the end), to see that its checks catch it:
 * "leak" keeps one mbuf from the pool, "drop" receives one packet and
 * frees it without counting it, "lose" makes the pool lose one mbuf: it is
 * taken out of the store behind the pool's back (the store's dequeue
 * called directly), as a store that dropped it would, so that no get
 * counts it as handed out.
 */
static void inject_fault(struct soak_ctx *c)
{
	const char *f = getenv("TARN_FWD_SOAK_FAULT");

	if (c->st.fault_done || f == NULL || f[0] == '\0')
		return;
	c->st.fault_done = 1;
	if (strcmp(f, "leak") == 0) {
		c->st.fault_kept = tarn_pktmbuf_alloc(fwd.pool);
		fprintf(stderr, SOAK_PROG ": TARN_FWD_SOAK_FAULT=leak: keeping one mbuf (%s)\n",
		        c->st.fault_kept != NULL ? "done" : "the pool is empty");
	} else if (strcmp(f, "drop") == 0) {
		struct tarn_mbuf *m = NULL;
		for (unsigned p = 0; p < c->nb_ports && m == NULL; p++)
			for (uint16_t q = 0; q < c->st.nb_rxq && m == NULL; q++)
				if (tarn_eth_rx_burst(c->ports[p], q, &m, 1) == 0)
					m = NULL;
		if (m == NULL) {
			c->st.fault_done = 0; /* nothing waiting: at the next pause */
			return;
		}
		tarn_pktmbuf_free(m);
		fprintf(stderr, SOAK_PROG
		        ": TARN_FWD_SOAK_FAULT=drop: freed one packet without counting it\n");
	} else if (strcmp(f, "lose") == 0) {
		void *obj;
		struct tarn_mempool *mp = fwd.pool;
		if (mp->ops->dequeue(mp, &obj, 1) != 0) {
			c->st.fault_done = 0; /* the store is empty: at the next pause */
			return;
		}
		fprintf(stderr,
		        SOAK_PROG ": TARN_FWD_SOAK_FAULT=lose: one mbuf taken from the store of "
		                  "'%s' behind the pool's back\n",
		        tarn_mempool_name(mp));
	} else {
		fprintf(stderr, SOAK_PROG ": TARN_FWD_SOAK_FAULT=%s: unknown (leak, drop, lose)\n",
		        f);
	}
}

/* One pause: check, shake, check again. */
static void pause_once(struct soak_ctx *c, double t)
{
	struct tarn_eth_stats st[TARN_MAX_ETHPORTS];
	char where[64];

	c->st.pauses++;
	snprintf(where, sizeof(where), "pause %u (%.2f s)", c->st.pauses, t);
	inject_fault(c);
	check_all(c, where, st);
	const uint64_t r = rng_next(&c->st.rng);
	int acted = 0;
	if (r & 1) {
		flush_all(c);
		c->st.flushes++;
		acted = 1;
	}
	if (r & 2) {
		for (unsigned p = 0; p < c->nb_ports; p++)
			if (tarn_eth_dev_stop(c->ports[p]) < 0)
				fail(c, where, "port %u: stop failed", p);
		for (unsigned p = 0; p < c->nb_ports; p++)
			if (tarn_eth_dev_start(c->ports[p]) < 0)
				fail(c, where, "port %u: start failed", p);
		c->st.restarts++;
		acted = 1;
	}
	if ((r & 4) && !c->main_forwards && c->nb_lcores > 1) {
		reassign(c);
		c->st.reassigns++;
		acted = 1;
	}
	if (((r >> 3) & 7) == 0) {
		drain_all(c);
		c->st.drains++;
		acted = 1;
	}
	if (acted)
		check_all(c, where, st);
}

/* ------------------------------------------------------------------------ */
/* The run */

static double soak_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void soak_sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static double next_pause(struct soak_ctx *c, double t)
{
	if (c->cycle <= 0)
		return 1e300;
	return t + c->cycle * (double)rng_below(&c->st.rng, 1000001) / 1e6;
}

double soak_run(struct soak_ctx *c)
{
	const double t0 = soak_now();
	double np = next_pause(c, t0), next_stats = t0 + c->stats_period;

	if (c->got_signal())
		return 0;
	__atomic_store_n(c->running, 1, __ATOMIC_RELAXED);
	lcores_start(c);
	while (c->st.failures == 0) {
		if (c->main_forwards)
			soak_loop(c, c->lcores[0], SOAK_MAIN_ROUNDS);
		else
			soak_sleep_ms(10);
		const double t = soak_now();
		if (c->got_signal())
			break;
		if (c->duration > 0 && t - t0 >= c->duration)
			break;
		if (c->stats_period > 0 && t >= next_stats) {
			c->print_period(c->arg, t - t0);
			next_stats += c->stats_period;
			if (next_stats < t)
				next_stats = t + c->stats_period;
		}
		if (t >= np) {
			lcores_stop(c);
			pause_once(c, t - t0);
			if (c->st.failures != 0 || c->got_signal())
				break;
			lcores_start(c);
			np = next_pause(c, soak_now());
		}
	}
	lcores_stop(c);
	__atomic_store_n(c->running, 0, __ATOMIC_RELAXED);
	c->st.seconds = soak_now() - t0;

	/* The end: empty every queue, then everything must add up, and every
	 * cable must have delivered what went into it. */
	struct tarn_eth_stats st[TARN_MAX_ETHPORTS];
	inject_fault(c);
	drain_all(c);
	flush_all(c);
	check_all(c, "the end", st);
	for (unsigned p = 0; p < c->nb_ports; p++) {
		const int d = c->st.dst[p];
		if (d < 0) {
			c->st.left += st[p].opackets;
			continue;
		}
		if (st[p].opackets != st[d].ipackets || st[p].obytes != st[d].ibytes)
			fail(c, "the end",
			     "cable port %u -> port %d: sent %" PRIu64 " packets %" PRIu64
			     " bytes, received %" PRIu64 " packets %" PRIu64 " bytes",
			     p, d, st[p].opackets, st[p].obytes, st[d].ipackets, st[d].ibytes);
	}
	return c->st.seconds;
}

/* The streams' counters at the end. */
struct soak_totals {
	uint64_t rx, gen, tx, dropped, consumed, nombuf, drained, lost;
};

static void report_json(const struct soak_ctx *c, const struct soak_totals *t, int pass,
                        unsigned in_use_after_close, unsigned pool_size)
{
	const struct soak_state *S = &c->st;
	char seed[24];
	struct tarn__json j;
	snprintf(seed, sizeof(seed), "%" PRIu64, c->seed); /* a string: 64 bits exactly */
	tarn__json_init(&j, stdout, TARN__JSON_COMPACT);
	tarn__json_object_open(&j, NULL);
	tarn__json_string(&j, "event", "soak");
	tarn__json_string(&j, "result", pass ? "pass" : "fail");
	tarn__json_double(&j, "duration_s", S->seconds, 3);
	tarn__json_string(&j, "seed", seed);
	tarn__json_uint(&j, "fwd_lcores", c->nb_lcores);
	tarn__json_uint(&j, "cpus", S->cpus);
	tarn__json_uint(&j, "ports", c->nb_ports);
	tarn__json_uint(&j, "rxq", S->nb_rxq);
	tarn__json_uint(&j, "streams", fwd.nb_streams);
	tarn__json_uint(&j, "pauses", S->pauses);
	tarn__json_uint(&j, "port_restarts", S->restarts);
	tarn__json_uint(&j, "drains", S->drains);
	tarn__json_uint(&j, "reassigns", S->reassigns);
	tarn__json_uint(&j, "cache_flushes", S->flushes);
	tarn__json_uint(&j, "moved", t->tx);
	tarn__json_uint(&j, "rx", t->rx);
	tarn__json_uint(&j, "generated", t->gen);
	tarn__json_uint(&j, "consumed", t->consumed);
	tarn__json_uint(&j, "dropped", t->dropped);
	tarn__json_uint(&j, "drained", t->drained);
	tarn__json_uint(&j, "left", S->left);
	tarn__json_uint(&j, "nombuf", t->nombuf);
	tarn__json_uint(&j, "lost", t->lost);
	tarn__json_uint(&j, "mbufs", pool_size);
	tarn__json_uint(&j, "mbufs_in_use", in_use_after_close);
	tarn__json_uint(&j, "failed_checks", S->failures);
	if (tarn__json_finish(&j) != 0)
		fprintf(stderr, SOAK_PROG ": the JSON event could not be written\n");
	putchar('\n');
}

static void report_human(const struct soak_ctx *c, const struct soak_totals *t, int pass,
                         unsigned in_use_after_close, unsigned pool_size)
{
	const struct soak_state *S = &c->st;
	printf("soak: seed %" PRIu64 ", %u forwarding lcore(s) on %u CPU(s), %u ports x %u "
	       "queues, %u streams; %u pauses (%u port restarts, %u drains, %u reassigns, "
	       "%u cache flushes)\n",
	       c->seed, c->nb_lcores, S->cpus, c->nb_ports, (unsigned)S->nb_rxq, fwd.nb_streams,
	       S->pauses, S->restarts, S->drains, S->reassigns, S->flushes);
	printf("soak: generated %" PRIu64 ", consumed %" PRIu64 ", dropped %" PRIu64
	       ", drained %" PRIu64 ", left %" PRIu64 ", alloc failures %" PRIu64 "\n",
	       t->gen, t->consumed, t->dropped, t->drained, S->left, t->nombuf);
	printf("soak: %s: %.2f s, %" PRIu64 " packets moved, lost %" PRIu64
	       ", mbufs in use %u of %u\n",
	       pass ? "PASS" : "FAIL", S->seconds, t->tx, t->lost, in_use_after_close, pool_size);
}

int soak_report(struct soak_ctx *c, unsigned in_use_after_close, unsigned pool_size, int json)
{
	struct soak_totals t = { 0 };
	for (unsigned i = 0; i < fwd.nb_streams; i++) {
		const struct fwd_stream *s = &fwd.streams[i];
		t.rx += fwd_read(&s->rx);
		t.gen += fwd_read(&s->gen);
		t.tx += fwd_read(&s->tx);
		t.dropped += fwd_read(&s->dropped);
		t.consumed += fwd_read(&s->consumed);
		t.nombuf += fwd_read(&s->nombuf);
	}
	for (unsigned p = 0; p < c->nb_ports; p++)
		t.drained += c->st.drained[p];
	/* Every generated packet must have left through a counted exit: freed
	 * by a stream (consumed, dropped), drained by the soak, or left in a
	 * cable nobody receives from (freed when the port closed). */
	const uint64_t out = t.consumed + t.dropped + t.drained + c->st.left;
	/* lost: packets not accounted for, plus mbufs not back in the pool */
	t.lost = (t.gen > out ? t.gen - out : out - t.gen) + in_use_after_close;
	if (t.gen != out)
		fail(c, "the end",
		     "generated %" PRIu64 " packets, %" PRIu64 " accounted for (consumed %" PRIu64
		     " + dropped %" PRIu64 " + drained %" PRIu64 " + left %" PRIu64 ")",
		     t.gen, out, t.consumed, t.dropped, t.drained, c->st.left);
	if (in_use_after_close != 0)
		fail(c, "the end", "%u mbufs still in use after the ports closed",
		     in_use_after_close);
	const int pass = c->st.failures == 0;
	if (json)
		report_json(c, &t, pass, in_use_after_close, pool_size);
	else
		report_human(c, &t, pass, in_use_after_close, pool_size);
	fflush(stdout);
	if (!pass) {
		fprintf(stderr, SOAK_PROG ": %u check(s) failed (seed %" PRIu64 ")\n",
		        c->st.failures, c->seed);
		return FWD_EXIT_FAIL;
	}
	return FWD_EXIT_OK;
}
