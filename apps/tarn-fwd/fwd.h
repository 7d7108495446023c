/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fwd.h - tarn-fwd internals shared by its files: configuration, streams,
 * forwarding lcores, the engines.
 */
#ifndef TARN_FWD_H
#define TARN_FWD_H

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

#endif /* TARN_FWD_H */
