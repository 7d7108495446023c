/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fwd.h - tarn-fwd internals shared by its files: configuration, streams,
 * forwarding lcores, the engines.
 */
#ifndef TARN_FWD_H
#define TARN_FWD_H

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

#include <tarn/tarn.h>
#include <tarn/tarn_ethdev.h>
#include <tarn/tarn_mbuf.h>

#define FWD_MAX_BURST   512
#define FWD_MAX_STREAMS (TARN_MAX_ETHPORTS * TARN_ETH_MAX_QUEUES)
/* Exit codes. */
#define FWD_EXIT_OK    0
#define FWD_EXIT_FAIL  1
#define FWD_EXIT_USAGE 2

enum fwd_mode {
	FWD_IO = 0,  /* forward as is */
	FWD_MAC,     /* rewrite source and destination MAC */
	FWD_MACSWAP, /* swap source and destination MAC */
	FWD_RXONLY,  /* receive and free */
	FWD_TXONLY,  /* generate (and drain RX) */
	FWD_FLOWGEN, /* generate over many flows (and drain RX) */
	FWD_NB_MODES
};

const char *fwd_mode_name(enum fwd_mode m);
/* The mode named `s`, or -1. */
int fwd_mode_parse(const char *s);

/*
 * One stream: what one lcore does with one (port, queue).
 * Forwarding modes: rx (rx_port, queue) -> tx (tx_port, queue).
 * txonly/flowgen: generate on (tx_port, queue) and drain (rx_port, queue).
 * rxonly: drain (rx_port, queue).
 * Counters are written only by the lcore running the stream (relaxed load +
 * store), read by the main lcore (relaxed loads). For every stream at every
 * quiescent point: rx + gen == tx + dropped + consumed.
 */
struct fwd_stream {
	uint16_t rx_port, rx_queue;
	uint16_t tx_port, tx_queue;
	int do_rx, do_tx; /* queue exists on that side */
	uint32_t lcore;
	struct tarn_ether_addr tx_src, tx_dst; /* mac mode and generated packets */
	uint32_t flow;                         /* flowgen: next flow */
	uint64_t rx;                           /* packets received */
	uint64_t gen;                          /* packets generated */
	uint64_t tx;                           /* packets the TX port took */
	uint64_t dropped;  /* packets freed because TX refused them (or too short to edit) */
	uint64_t consumed; /* packets freed on purpose (rxonly, drained RX of generators) */
	uint64_t nombuf;   /* generation bursts that found the pool empty */
	struct tarn_mempool *pool; /* generated packets come from it (the pool placed for
	                              the stream's port and lcore), NULL: fwd.pool */
	uint64_t rng;              /* --soak: the stream's random state (its lcore only) */
	uint32_t hold;             /* --soak: rounds left without generating (TX refused) */
	uint32_t backoff;          /* --soak: the next hold, doubled at each refusal */
} __attribute__((aligned(64)));

/* Everything the engines need. */
struct fwd_conf {
	enum fwd_mode mode;
	unsigned burst;
	unsigned pkt_len;
	unsigned nb_flows;
	struct tarn_mempool *pool;
	struct fwd_stream *streams;
	unsigned nb_streams;
};

extern struct fwd_conf fwd;

/* Set by the signal handler, "stop", --duration: forwarding lcores return. */
extern int fwd_stop_flag;

/* Run the streams of `lcore` until fwd_stop_flag is set. Argument: lcore id. */
int fwd_lcore_main(void *arg);

/*
 * Run the streams of `lcore` for `iterations` rounds (the main lcore when it
 * forwards itself, between housekeeping).
 */
void fwd_lcore_run(uint32_t lcore, unsigned iterations);

/* The streams of `lcore` (contiguous in fwd.streams, sorted by lcore). */
struct fwd_stream *fwd_lcore_streams(uint32_t lcore, unsigned *n);

/* mac (swap 0) or macswap (swap 1) edit of `nb` packets; too short ones are
 * freed and counted as dropped. Returns the packets kept, at the front. */
uint16_t fwd_mac_burst(struct fwd_stream *s, struct tarn_mbuf **pkts, uint16_t nb, int swap);

/* Fill `m` with a `len`-byte Ethernet/IPv4/UDP packet (flow 0). 0 or -1. */
int fwd_build_packet(struct tarn_mbuf *m, unsigned len, const struct tarn_ether_addr *src,
                     const struct tarn_ether_addr *dst, uint32_t flow);

/* Relaxed single-writer counter update and its reader. */
static inline void fwd_count(uint64_t *c, uint64_t n)
{
	__atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
}
static inline uint64_t fwd_read(const uint64_t *c)
{
	return __atomic_load_n(c, __ATOMIC_RELAXED);
}

/*
 * --soak (soak.c): random bursts, generation and consumption on every
 * stream, pauses at random times that check every counter and the pool, and
 * a final check that nothing was lost.
 */

/* What the soak keeps between its calls; only soak.c reads or writes it. */
struct soak_state {
	int dst[TARN_MAX_ETHPORTS];          /* index of the port that receives what port i sends */
	uint64_t drained[TARN_MAX_ETHPORTS]; /* packets the soak drained from port i */
	uint64_t rng;                        /* the main lcore's generator */
	struct tarn_mempool *pools[FWD_MAX_STREAMS + 1]; /* every pool the streams use */
	unsigned nb_pools;
	unsigned pauses, restarts, drains, reassigns, flushes;
	unsigned failures;
	double seconds;
	uint64_t left;      /* packets left in cables with no receiving end at the end */
	uint64_t in_flight; /* packets in the rings at the last check */
	unsigned cpus;
	uint16_t nb_rxq;
	int fault_done;               /* TARN_FWD_SOAK_FAULT injected */
	struct tarn_mbuf *fault_kept; /* TARN_FWD_SOAK_FAULT=leak: the mbuf kept */
};

/* What the soak needs from tarn-fwd (filled by main.c), and its state. */
struct soak_ctx {
	const uint16_t *ports; /* port ids, in --port order */
	unsigned nb_ports;
	const uint32_t *lcores; /* forwarding lcores */
	unsigned nb_lcores;
	int main_forwards;     /* the main lcore forwards (single lcore) */
	pthread_mutex_t *lock; /* guards the stream table (telemetry reads it) */
	int *running;          /* "running" flag for telemetry */
	double duration;       /* seconds, 0: until a signal */
	double cycle;          /* most seconds between two pauses, 0: no pauses */
	double stats_period;   /* seconds between two print_period() calls, 0: never */
	uint64_t seed;
	int json; /* --json: no human lines on stdout */
	int (*got_signal)(void);
	void (*print_period)(void *arg, double elapsed);
	void *arg; /* print_period()'s */
	struct soak_state st;
};

/* A seed from the clock. */
uint64_t soak_default_seed(void);
/* Check the configuration (ring ports, a forwarding mode), find the cables,
 * seed the streams. 0 or FWD_EXIT_USAGE (message printed). `c` must live
 * until soak_report(). */
int soak_setup(struct soak_ctx *c);
/* Run the soak until the duration or a signal; drain the ports and check
 * at the end. Returns the seconds it ran. */
double soak_run(struct soak_ctx *c);
/* After the ports closed: check the pool's `in_use` count, print the result
 * (human or JSON). FWD_EXIT_OK or FWD_EXIT_FAIL. */
int soak_report(struct soak_ctx *c, unsigned in_use_after_close, unsigned pool_size, int json);

#endif /* TARN_FWD_H */
