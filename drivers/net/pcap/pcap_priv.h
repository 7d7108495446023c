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
 * tx_pcap: TX writes every packet to a pcap file (microsecond timestamps of
 * the time of transmission, snaplen 262144: longer packets are cut and keep
 * their length in the record, as does a packet received truncated,
 * TARN_MBUF_F_RX_TRUNCATED with hash.orig_len). The file is created
 * (truncated) at create(); each burst is one writev() of whole records, so
 * what opackets counts is in the file. A write error (disk full) cuts the
 * file back to its last whole record; the packets not written are refused
 * (oerrors), as is every packet from then on, and the port's stop and
 * close return -EIO (dev->output_failed).
 *
 * Files: rx_pcap and tx_pcap must be regular files (a FIFO is refused
 * without blocking); a file is known by device and inode, and no port
 * writes a file another port of the process reads or writes (a list of the
 * open ports, under the ethdev control mutex).
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
#include <sys/types.h>
#include <sys/uio.h>

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
/* stdio buffer of rx_pcap. */
#define PCAP_FILE_BUF (256u * 1024u)
/* One writev() of TX: at most this many records and iovecs (IOV_MAX). */
#define PCAP_TX_CHUNK 256
#define PCAP_TX_IOV   1024

enum pcap_mode { PCAP_MODE_FILE, PCAP_MODE_IFACE };

/* A file, by device and inode (set: a file is open). */
struct pcap_file_id {
	dev_t dev;
	ino_t ino;
	int set;
};

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
	struct tarn__eth_dev *dev; /* for dev->output_failed */
	struct pcap_file_id rx_id, tx_id;
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
	int tx_open; /* tx_fd is the file */
	int tx_fd;
	/* Bytes of whole records in the file: where the next one goes (the TX
	 * polling thread's while the port runs). */
	uint64_t tx_off;
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
	/* The most bytes a packet of the pool can have (its mbufs, less its
	 * reserve, times room): a longer record can never be received. */
	uint64_t pool_bytes;
	unsigned pool_mbufs;
	int big_logged;
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
	int failed; /* tx_pcap: a write failed, TX refuses everything */
	int err_logged;
	/* tx_pcap: one writev() of records: their headers, their bytes in the
	 * file (header included), the iovecs (headers and segments). */
	uint8_t hdr[PCAP_TX_CHUNK][PCAP_REC_HDR_LEN];
	uint32_t rec_bytes[PCAP_TX_CHUNK];
	struct iovec iov[PCAP_TX_IOV];
} TARN_CACHE_ALIGNED;

/* file.c */
/* Open rx_pcap and check all of it. 0 or -errno (logged, naming the record
 * and its offset). */
int tarn__pcap_rx_file_open(struct tarn__eth_dev *dev, struct pcap_port *pp);
/* Create (truncate) tx_pcap and write its file header: a regular file that
 * no other port reads or writes. 0 or -errno (logged). */
int tarn__pcap_tx_file_open(struct tarn__eth_dev *dev, struct pcap_port *pp);
/* The list of open ports whose files are checked (ethdev control mutex):
 * a port joins it when its create succeeded and leaves it at close. */
void tarn__pcap_port_add(struct pcap_port *pp);
void tarn__pcap_port_remove(const struct pcap_port *pp);
/* Parse a record header. 0, or -EINVAL with the reason in `why`. */
int tarn__pcap_rec_parse(const struct pcap_port *pp, const uint8_t *h, struct pcap_rec *r,
                         char *why, size_t wsize);

/* rx.c, tx.c */
uint16_t tarn__pcap_rx_burst(void *qd, struct tarn_mbuf **pkts, uint16_t n);
uint16_t tarn__pcap_tx_burst(void *qd, struct tarn_mbuf **pkts, uint16_t n);

#endif /* TARN_PCAP_PRIV_H */
