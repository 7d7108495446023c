/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_fwd: tarn-fwd's forwarding engines (apps/tarn-fwd/fwd.c, compiled
 * in as it is) on fuzzed frames. Two cabled ring ports: frames are
 * injected on port A, the engine runs one stream that receives on port B
 * and transmits on port B (back to A), and what comes out on A is checked.
 *
 * Input: mode (io, mac, macswap, rxonly, txonly, flowgen), burst 1..512,
 * generated packet length 14..2048, flows 1..2048, engine rounds 1..8, then
 * up to 256 frames, each a 2-byte length (0 .. 3 x 2048: longer than one
 * mbuf means a chain), a byte that splits it into up to 4 segments, and its
 * bytes (what the input lacks is a pattern).
 *
 * Checked, besides no crash or out-of-bounds access: the stream's counters
 * balance (rx + gen = tx + dropped + consumed) and rx is what the engine
 * took from B; in io/mac/macswap every frame it took comes out in order,
 * of the same length, with the mode's edit and nothing else changed, or is
 * dropped only when its first segment is too short to edit (12 bytes for
 * macswap, 14 for mac); rxonly sends nothing; txonly/flowgen send packets
 * of the configured length with the stream's addresses, a correct IPv4
 * header checksum and (flowgen) flows below the flow count; every mbuf is back in
 * the pool at the end.
 */
#include <string.h>

#include "fuzz_common.h"
#include "fwd.h"

#define ROOM       TARN_MBUF_DEFAULT_DATAROOM
#define MAX_FRAMES 256
#define MAX_LEN    (3 * ROOM)
#define POOL_SIZE  4096

static struct tarn_mempool *pool;
static uint16_t port_a, port_b;
static struct fwd_stream stream;
static struct tarn_ether_addr mac_a, mac_b;

/* The injected frames, for the oracle. */
static uint8_t frames[MAX_FRAMES][MAX_LEN];
static unsigned frame_len[MAX_FRAMES], frame_seg0[MAX_FRAMES];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	fuzz_init_tarn("tarn-fuzz-fwd");
	pool = tarn_pktmbuf_pool_create("fzf", POOL_SIZE, 0, 0, TARN_MBUF_DEFAULT_BUF_SIZE, 0);
	if (pool == NULL || tarn_eth_dev_create("ring:name=fza", &port_a) < 0 ||
	    tarn_eth_dev_create("ring:name=fzb,peer=fza", &port_b) < 0)
		abort();
	const uint16_t ports[2] = { port_a, port_b };
	for (int i = 0; i < 2; i++)
		if (tarn_eth_dev_configure(ports[i], 1, 1, NULL) < 0 ||
		    tarn_eth_rx_queue_setup(ports[i], 0, 2048, TARN_SOCKET_ANY, pool) < 0 ||
		    tarn_eth_tx_queue_setup(ports[i], 0, 1024, TARN_SOCKET_ANY) < 0 ||
		    tarn_eth_dev_start(ports[i]) < 0)
			abort();
	tarn_eth_macaddr_get(port_a, &mac_a);
	tarn_eth_macaddr_get(port_b, &mac_b);
	return 0;
}

struct rd {
	const uint8_t *p;
	size_t n;
};

static unsigned rd8(struct rd *r)
{
	if (r->n == 0)
		return 0;
	r->n--;
	return *r->p++;
}

static unsigned rd16(struct rd *r)
{
	unsigned hi = rd8(r);
	return hi << 8 | rd8(r);
}

static void fail(const char *what, unsigned i)
{
	fprintf(stderr, "fuzz_fwd: %s mode: %s (frame/packet %u)\n", fwd_mode_name(fwd.mode), what,
	        i);
	abort();
}

/* A packet of `len` bytes from `src`: as many segments as it needs, or up
 * to 1 + (split & 3) if that is more, the first one's length picked by the
 * rest of `split`. Its first segment's length goes to *seg0. */
static struct tarn_mbuf *make_pkt(const uint8_t *src, unsigned len, unsigned split, unsigned *seg0)
{
	unsigned nseg = len == 0 ? 1 : (len + ROOM - 1) / ROOM;
	if (1 + (split & 3) > nseg && 1 + (split & 3) <= len)
		nseg = 1 + (split & 3);
	struct tarn_mbuf *head = NULL;
	unsigned off = 0;
	for (unsigned s = 0; s < nseg; s++) {
		const unsigned left = len - off, rest = nseg - 1 - s;
		unsigned take = left;
		if (rest > 0) {
			/* leave at least a byte for each later segment, and no
			 * more than they can hold */
			const unsigned lo = left > rest * ROOM ? left - rest * ROOM : 1;
			const unsigned hi = left - rest < ROOM ? left - rest : ROOM;
			take = s == 0 ? lo + (split >> 2) % (hi - lo + 1) : hi;
		}
		struct tarn_mbuf *m = tarn_pktmbuf_alloc(pool);
		if (m == NULL || take > ROOM)
			abort();
		char *d = tarn_pktmbuf_append(m, (uint16_t)take);
		if (d == NULL)
			abort();
		memcpy(d, src + off, take);
		off += take;
		if (s == 0) {
			head = m;
			*seg0 = take;
		} else if (tarn_pktmbuf_chain(head, m) != 0) {
			abort();
		}
	}
	if (off != len || head->pkt_len != len)
		abort();
	return head;
}

/* The bytes of packet `m` into `out` (at most MAX_LEN). */
static unsigned flatten(const struct tarn_mbuf *m, uint8_t *out)
{
	unsigned off = 0;
	for (; m != NULL; m = m->next) {
		if (off + m->data_len > MAX_LEN)
			abort();
		memcpy(out + off, tarn_pktmbuf_mtod(m, const uint8_t *), m->data_len);
		off += m->data_len;
	}
	return off;
}

static uint16_t ip_csum(const uint8_t *p)
{
	uint32_t sum = 0;
	for (int i = 0; i < 20; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rd r = { data, size };
	static uint8_t got[MAX_LEN];
	struct tarn_mbuf *pkts[MAX_FRAMES];

	fwd.mode = (enum fwd_mode)(rd8(&r) % FWD_NB_MODES);
	fwd.burst = 1 + rd16(&r) % FWD_MAX_BURST;
	fwd.pkt_len = TARN_ETHER_HDR_LEN + rd16(&r) % (ROOM - TARN_ETHER_HDR_LEN + 1);
	fwd.nb_flows = 1 + rd16(&r) % 2048;
	const unsigned rounds = 1 + rd8(&r) % 8;
	fwd.pool = pool;
	fwd.streams = &stream;
	fwd.nb_streams = 1;
	fwd_stop_flag = 0;
	memset(&stream, 0, sizeof(stream));
	stream.rx_port = stream.tx_port = port_b;
	stream.do_rx = stream.do_tx = 1;
	stream.lcore = tarn_lcore_id();
	stream.tx_src = mac_b;
	stream.tx_dst = mac_a;

	/* Inject the frames on A (they arrive on B's RX). */
	unsigned n = 0;
	while (r.n > 0 && n < MAX_FRAMES) {
		unsigned len = rd16(&r) % (MAX_LEN + 1), split = rd8(&r);
		for (unsigned i = 0; i < len; i++)
			frames[n][i] = r.n > 0 ? (uint8_t)rd8(&r) : (uint8_t)(i * 7 + n);
		frame_len[n] = len;
		pkts[n] = make_pkt(frames[n], len, split, &frame_seg0[n]);
		n++;
	}
	if (n > 0 && tarn_eth_tx_burst(port_a, 0, pkts, (uint16_t)n) != n)
		abort();

	fwd_lcore_run(stream.lcore, rounds);

	/* What the engine did not take stays on B: drain it. */
	uint16_t left;
	unsigned untaken = 0;
	while ((left = tarn_eth_rx_burst(port_b, 0, pkts, MAX_FRAMES)) > 0) {
		tarn_pktmbuf_free_bulk(pkts, left);
		untaken += left;
	}
	const uint64_t rx = fwd_read(&stream.rx), gen = fwd_read(&stream.gen),
	               tx = fwd_read(&stream.tx), dropped = fwd_read(&stream.dropped),
	               consumed = fwd_read(&stream.consumed);
	if (rx + gen != tx + dropped + consumed)
		fail("counters do not balance", 0);
	if (rx + untaken != n)
		fail("frames lost between the ports", (unsigned)rx);

	/* What came out on A. */
	unsigned out = 0, next = 0;
	while ((left = tarn_eth_rx_burst(port_a, 0, pkts, MAX_FRAMES)) > 0) {
		for (uint16_t k = 0; k < left; k++, out++) {
			const struct tarn_mbuf *m = pkts[k];
			const char *why;
			if (tarn_mbuf_check(m, 1, &why) != 0)
				fail(why, out);
			const unsigned len = flatten(m, got);
			if (len != m->pkt_len)
				fail("pkt_len is not the sum of the segments", out);
			switch (fwd.mode) {
			case FWD_IO:
			case FWD_MAC:
			case FWD_MACSWAP: {
				const unsigned need = fwd.mode == FWD_IO ? 0
				                      : fwd.mode == FWD_MAC
				                          ? TARN_ETHER_HDR_LEN
				                          : 2 * TARN_ETHER_ADDR_LEN;
				while (next < rx && frame_seg0[next] < need)
					next++; /* dropped: too short to edit */
				if (next >= rx)
					fail("more packets out than frames taken", out);
				const uint8_t *f = frames[next];
				if (len != frame_len[next])
					fail("length changed", next);
				uint8_t want[2 * TARN_ETHER_ADDR_LEN];
				unsigned edited = need ? 2 * TARN_ETHER_ADDR_LEN : 0;
				if (fwd.mode == FWD_MAC) {
					memcpy(want, mac_a.addr_bytes, 6);
					memcpy(want + 6, mac_b.addr_bytes, 6);
				} else if (fwd.mode == FWD_MACSWAP) {
					memcpy(want, f + 6, 6);
					memcpy(want + 6, f, 6);
				}
				if (memcmp(got, want, edited) != 0)
					fail("addresses not edited as the mode says", next);
				if (memcmp(got + edited, f + edited, len - edited) != 0)
					fail("bytes changed that the mode does not edit", next);
				next++;
				break;
			}
			case FWD_RXONLY:
				fail("rxonly sent a packet", out);
				break;
			case FWD_TXONLY:
			case FWD_FLOWGEN:
				if (len != fwd.pkt_len || m->nb_segs != 1)
					fail("generated packet of the wrong length", out);
				if (memcmp(got, mac_a.addr_bytes, 6) != 0 ||
				    memcmp(got + 6, mac_b.addr_bytes, 6) != 0 || got[12] != 0x08 ||
				    got[13] != 0x00)
					fail("generated Ethernet header wrong", out);
				if (len >= 34 && ip_csum(got + 14) != 0)
					fail("generated IPv4 checksum wrong", out);
				if (len >= 34 && fwd.mode == FWD_FLOWGEN) {
					const unsigned f = (unsigned)got[32] << 8 | got[33];
					if (f >= fwd.nb_flows)
						fail("flow out of range", out);
				}
				break;
			case FWD_NB_MODES:
				break;
			}
		}
		tarn_pktmbuf_free_bulk(pkts, left);
	}
	if (out != tx)
		fail("packets out on A differ from the stream's tx count", out);
	if (fwd.mode == FWD_IO || fwd.mode == FWD_MAC || fwd.mode == FWD_MACSWAP) {
		unsigned short_ones = 0;
		const unsigned need = fwd.mode == FWD_IO    ? 0
		                      : fwd.mode == FWD_MAC ? TARN_ETHER_HDR_LEN
		                                            : 2 * TARN_ETHER_ADDR_LEN;
		for (unsigned i = 0; i < rx; i++)
			short_ones += frame_seg0[i] < need;
		if (dropped != short_ones || tx + dropped != rx)
			fail("drops are not exactly the frames too short to edit", 0);
	}
	if (tarn_mempool_avail_count(pool) != POOL_SIZE)
		fail("an mbuf was not given back", 0);
	return 0;
}
