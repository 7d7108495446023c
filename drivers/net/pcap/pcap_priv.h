/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pcap_priv.h - internal to the "pcap" driver: ports on capture files and,
 * through libpcap, on live interfaces. Never installed.
 *
 *   pcap:rx_pcap=FILE[,loop=N][,rate=max|recorded][,tx_pcap=FILE]
 *   pcap:tx_pcap=FILE
 *   pcap:iface=NAME
 *
 * rx_pcap: RX replays the packets of a classic pcap file (Ethernet link
 * type, microsecond or nanosecond timestamps, either byte order), `loop`
 * passes over it (0: forever), as fast as asked or (rate=recorded) at the
 * pace of its timestamps. The file is read by this driver, not libpcap, so
 * that every inconsistency is an error rather than a silent fix-up (libpcap
 * quietly cuts records longer than the snaplen): create() reads the header
 * and walks every record header, and refuses the file (-EINVAL, a log line
 * naming the record and its offset) when the header is short or has a bad
 * magic, version, snaplen (> 262144) or link type, or a record is cut short
 * or claims caplen > snaplen or caplen > len. A file that changes after
 * create() is read defensively: a record found bad during replay counts one
 * ierror and ends the pass. Packets longer than an mbuf's room go into a
 * chain; records with caplen 0 are dropped and counted in ierrors.
 *
 * tx_pcap: TX writes every packet to a pcap file (libpcap's pcap_dump,
 * microsecond timestamps of the time of transmission, snaplen 262144: longer
 * packets are cut and keep their length in the record). The file is created
 * (truncated) at create() and flushed at stop and close. A write error
 * (disk full) is logged; from then on TX refuses every packet (oerrors).
 *
 * iface: RX captures (libpcap, immediate mode, non-blocking, incoming
 * packets only) and TX injects (pcap_inject) on a live interface, each
 * through its own libpcap handle (a pcap_t is not safe to share between the
 * RX and TX threads); the TX handle's kernel filter rejects everything so it
 * captures nothing. Promiscuous mode is a PACKET_MR_PROMISC membership of the
 * RX handle's socket.
 *
 * One RX queue and one TX queue. RX without rx_pcap/iface receives nothing;
 * TX without tx_pcap/iface frees the packets and counts them as sent.
 *
 * docs/drivers/pcap.md describes the keys, the errors and the counters. The
 * driver's files, by concern:
 *   ctrl.c  the keys, create/close (files and libpcap handles), queues,
 *           start/stop, link and promiscuous mode
 *   file.c  the pcap file format: the checks of rx_pcap, opening tx_pcap
 *   rx.c    receive: replay of rx_pcap, live capture (fast path)
 *   tx.c    transmit: to tx_pcap, live injection (fast path)
 *
 * Every op runs under the ethdev control mutex; the replay state is the RX
 * polling thread's while the port runs.
 */
#ifndef TARN_PCAP_PRIV_H
#define TARN_PCAP_PRIV_H

#include <net/if.h>
#include <stdint.h>
#include <stdio.h>

#include <pcap/pcap.h>

#include "../common/linux_if.h"
#include "ethdev_driver_priv.h"
#include "tarn_mbuf.h"

#define PCAP_LOG TARN__ETH_LOG

/* Classic pcap files. */
#define PCAP_MAGIC_USEC   0xa1b2c3d4u
#define PCAP_MAGIC_NSEC   0xa1b23c4du
#define PCAPNG_MAGIC      0x0a0d0d0au
#define PCAP_FILE_HDR_LEN 24
#define PCAP_REC_HDR_LEN  16
/* Largest snaplen accepted (libpcap's largest for Ethernet). */
#define PCAP_MAX_SNAPLEN       262144u
#define PCAP_LINKTYPE_ETHERNET 1u
/* Snaplen of the files TX writes, and of live capture. */
#define PCAP_TX_SNAPLEN   262144u
#define PCAP_LIVE_SNAPLEN 65535
/* stdio buffer of the files. */
#define PCAP_FILE_BUF (256u * 1024u)

enum pcap_mode { PCAP_MODE_FILE, PCAP_MODE_IFACE };

/* A record header, in host order. */
struct pcap_rec {
	uint64_t ts_ns;
	uint32_t caplen;
	uint32_t len;
};

/* dev->priv: the keys (filled by ethdev from the key table of ctrl.c), then
 * the port. */
struct pcap_port {
	/* iface=: lif.ifname ("" for none); first, so that linux_if.h's link
	 * and promiscuous ops find it in iface mode */
	struct tarn__lif lif;
	char rx_path[TARN_ETH_VALUE_MAX]; /* rx_pcap=, "" for none */
	char tx_path[TARN_ETH_VALUE_MAX]; /* tx_pcap=, "" for none */
	uint64_t loops;                   /* loop=: passes; 0: forever */
	int rate_recorded;                /* rate=recorded */
	enum pcap_mode mode;
	uint16_t port_id;
	/* ---- rx_pcap ---- */
	FILE *rx_file;
	int swapped, nsec;
	uint32_t snaplen;
	uint64_t nb_records;
	uint64_t first_ts_ns;
	/* Replay state: only the RX polling thread touches it while the port
	 * runs; start() resets wall_base while it is stopped. */
	struct pcap_rec rec; /* the record header read, its data not yet */
	int have_rec;
	int done;
	uint64_t pass;    /* passes finished */
	uint64_t rec_idx; /* index of the next record in the pass */
	uint64_t wall_base;
	int rx_err_logged;
	/* ---- tx_pcap ---- */
	pcap_t *tx_dead;
	pcap_dumper_t *dumper;
	/* ---- iface ---- */
	pcap_t *live_rx, *live_tx;
};

struct pcap_rxq {
	struct pcap_port *pp;
	struct tarn_mempool *mp;
	struct tarn__eth_qstats *stats;
	uint16_t port_id;
	uint16_t room; /* data bytes of one mbuf */
	int err_logged;
	/* live capture callback state (one burst) */
	struct tarn_mbuf **cb_pkts;
	uint16_t cb_nb, cb_max;
	uint64_t cb_bytes, cb_nombuf;
} TARN_CACHE_ALIGNED;

struct pcap_txq {
	struct pcap_port *pp;
	struct tarn__eth_qstats *stats;
	uint8_t *lin; /* a chained packet, made contiguous */
	uint16_t port_id;
	int failed;
	int err_logged;
} TARN_CACHE_ALIGNED;

/* file.c */
/* Open rx_pcap and check all of it. 0 or -errno (logged, naming the record
 * and its offset). */
int tarn__pcap_rx_file_open(struct tarn__eth_dev *dev, struct pcap_port *pp);
/* Create (truncate) tx_pcap and its libpcap dumper. 0 or -errno (logged). */
int tarn__pcap_tx_file_open(struct tarn__eth_dev *dev, struct pcap_port *pp);
/* Flush tx_pcap. 0 or -EIO (logged). */
int tarn__pcap_tx_file_flush(struct pcap_port *pp);
/* Parse a record header. 0, or -EINVAL with the reason in `why`. */
int tarn__pcap_rec_parse(const struct pcap_port *pp, const uint8_t *h, struct pcap_rec *r,
                         char *why, size_t wsize);

/* rx.c, tx.c */
uint16_t tarn__pcap_rx_burst(void *qd, struct tarn_mbuf **pkts, uint16_t n);
uint16_t tarn__pcap_tx_burst(void *qd, struct tarn_mbuf **pkts, uint16_t n);

#endif /* TARN_PCAP_PRIV_H */
