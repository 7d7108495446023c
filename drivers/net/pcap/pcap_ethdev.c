/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pcap_ethdev.c - the "pcap" driver: ports on capture files and, through
 * libpcap, on live interfaces.
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
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <linux/if_packet.h>

#include <pcap/pcap.h>

#include "ethdev_driver_priv.h"
#include "tarn_mbuf.h"
#include "tarn_mem.h"

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

/* dev->priv: the keys (filled by ethdev from pcap_keys), then the port. */
struct pcap_port {
	char rx_path[TARN_ETH_VALUE_MAX]; /* rx_pcap=, "" for none */
	char tx_path[TARN_ETH_VALUE_MAX]; /* tx_pcap=, "" for none */
	char iface[IFNAMSIZ];             /* iface=, "" for none */
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

static const struct tarn__key_word pcap_rates[] = {
	{ "max", 0, NULL, 0 },
	{ "recorded", 1, NULL, 0 },
	{ NULL, 0, NULL, 0 },
};

static const struct tarn__key pcap_keys[] = {
	{ .name = "rx_pcap",
	  .type = TARN__KEY_STR,
	  TARN__KEY_AT(struct pcap_port, rx_path),
	  .metavar = "FILE",
	  .def_text = "none: RX receives nothing",
	  .help = "RX replays the packets of this classic pcap file",
	  .doc = "Checked whole at create: a bad header or record is refused with its offset" },
	{ .name = "tx_pcap",
	  .type = TARN__KEY_STR,
	  TARN__KEY_AT(struct pcap_port, tx_path),
	  .metavar = "FILE",
	  .def_text = "none: TX frees the packets and counts them as sent",
	  .help = "TX writes every packet to this pcap file, created or truncated" },
	{ .name = "iface",
	  .type = TARN__KEY_CUSTOM,
	  TARN__KEY_AT(struct pcap_port, iface),
	  .parse = tarn__eth_key_ifname,
	  .metavar = "NAME",
	  .values = TARN__ETH_IFNAME_VALUES,
	  .help = "RX captures and TX injects on this live interface",
	  .doc = "Excludes rx_pcap and tx_pcap" },
	{ .name = "loop",
	  .type = TARN__KEY_UINT,
	  TARN__KEY_AT(struct pcap_port, loops),
	  .max = UINT32_MAX,
	  .def = 1,
	  .help = "passes over rx_pcap; 0: forever" },
	{ .name = "rate",
	  .type = TARN__KEY_ENUM,
	  TARN__KEY_AT(struct pcap_port, rate_recorded),
	  .def = 0,
	  .words = pcap_rates,
	  .help = "replay rx_pcap as fast as asked (max) or at the pace of its timestamps "
	          "(recorded)",
	  .doc = "recorded: each packet when its timestamp, relative to the pass's first "
	         "packet, has come" },
	{ .name = NULL },
};

/* ------------------------------------------------------------------------ */
/* Packets and mbufs */

/*
 * A packet of `len` bytes as a chain of mbufs of `room` bytes each, lengths
 * set (data_len, pkt_len, nb_segs), data not written. NULL if the pool
 * cannot give them all (none taken then).
 */
static struct tarn_mbuf *chain_alloc(struct tarn_mempool *mp, uint16_t room, uint32_t len)
{
	struct tarn_mbuf *head = tarn_pktmbuf_alloc(mp);
	if (tarn_unlikely(head == NULL))
		return NULL;
	head->data_len = (uint16_t)(len < room ? len : room);
	head->pkt_len = len;
	struct tarn_mbuf *last = head;
	uint32_t left = len - head->data_len;
	uint16_t segs = 1;
	while (tarn_unlikely(left > 0)) {
		struct tarn_mbuf *s = tarn_pktmbuf_alloc(mp);
		if (s == NULL) {
			head->nb_segs = segs;
			head->pkt_len = len - left;
			tarn_pktmbuf_free(head);
			return NULL;
		}
		s->data_len = (uint16_t)(left < room ? left : room);
		left -= s->data_len;
		last->next = s;
		last = s;
		segs++;
	}
	head->nb_segs = segs;
	return head;
}

/* Copy `len` bytes of `src` into the chain `m` made by chain_alloc(). */
static void chain_fill(struct tarn_mbuf *m, const uint8_t *src)
{
	for (; m != NULL; m = m->next) {
		memcpy(tarn_pktmbuf_mtod(m, uint8_t *), src, m->data_len);
		src += m->data_len;
	}
}

/* Mark a received packet. */
static void rx_meta(struct tarn_mbuf *m, uint16_t port, uint64_t ts_ns, int truncated)
{
	m->port = port;
	m->packet_type = TARN_PTYPE_L2_ETHER;
	m->timestamp = ts_ns;
	m->ol_flags = TARN_MBUF_F_RX_TIMESTAMP | (truncated ? TARN_MBUF_F_RX_TRUNCATED : 0);
}

/* The first `len` bytes of packet `m`, contiguous: its data if it is one
 * segment, else a copy in `buf`. */
static const uint8_t *linear(const struct tarn_mbuf *m, uint8_t *buf, uint32_t len)
{
	if (m->next == NULL)
		return tarn_pktmbuf_mtod(m, const uint8_t *);
	uint32_t off = 0;
	for (const struct tarn_mbuf *s = m; s != NULL && off < len; s = s->next) {
		uint32_t l = s->data_len < len - off ? s->data_len : len - off;
		memcpy(buf + off, tarn_pktmbuf_mtod(s, const uint8_t *), l);
		off += l;
	}
	return buf;
}

/* ------------------------------------------------------------------------ */
/* Reading capture files */

static uint32_t rd32(const uint8_t *p, int swapped)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return swapped ? __builtin_bswap32(v) : v;
}

static uint16_t rd16(const uint8_t *p, int swapped)
{
	uint16_t v;
	memcpy(&v, p, 2);
	return swapped ? __builtin_bswap16(v) : v;
}

/* Parse a record header. Returns 0, or -EINVAL with the reason in `why`. */
static int rec_parse(const struct pcap_port *pp, const uint8_t *h, struct pcap_rec *r, char *why,
                     size_t wsize)
{
	const uint32_t sec = rd32(h, pp->swapped), frac = rd32(h + 4, pp->swapped);
	r->caplen = rd32(h + 8, pp->swapped);
	r->len = rd32(h + 12, pp->swapped);
	r->ts_ns = (uint64_t)sec * 1000000000u + (pp->nsec ? frac : (uint64_t)frac * 1000u);
	if (r->caplen > pp->snaplen) {
		snprintf(why, wsize,
		         "caplen %" PRIu32 " is larger than the file's snaplen %" PRIu32, r->caplen,
		         pp->snaplen);
		return -EINVAL;
	}
	if (r->caplen > r->len) {
		snprintf(why, wsize,
		         "caplen %" PRIu32 " is larger than the packet's length %" PRIu32,
		         r->caplen, r->len);
		return -EINVAL;
	}
	return 0;
}

/* Parse the file header. Returns 0, or -EINVAL with the reason in `why`. */
static int file_hdr_parse(struct pcap_port *pp, const uint8_t *h, char *why, size_t wsize)
{
	uint32_t magic;
	memcpy(&magic, h, 4);
	if (magic == PCAP_MAGIC_USEC || magic == PCAP_MAGIC_NSEC) {
		pp->swapped = 0;
	} else if (magic == __builtin_bswap32(PCAP_MAGIC_USEC) ||
	           magic == __builtin_bswap32(PCAP_MAGIC_NSEC)) {
		pp->swapped = 1;
		magic = __builtin_bswap32(magic);
	} else if (magic == PCAPNG_MAGIC) {
		snprintf(why, wsize,
		         "a pcapng file: only classic pcap is read (convert it: editcap -F pcap "
		         "IN OUT)");
		return -EINVAL;
	} else {
		snprintf(why, wsize, "bad magic 0x%08" PRIx32 ": not a pcap file", magic);
		return -EINVAL;
	}
	pp->nsec = magic == PCAP_MAGIC_NSEC;
	const uint16_t vmaj = rd16(h + 4, pp->swapped), vmin = rd16(h + 6, pp->swapped);
	const uint32_t snaplen = rd32(h + 16, pp->swapped), linktype = rd32(h + 20, pp->swapped);
	if (vmaj != 2) {
		snprintf(why, wsize, "version %u.%u (expected 2.4)", vmaj, vmin);
		return -EINVAL;
	}
	if (snaplen > PCAP_MAX_SNAPLEN) {
		snprintf(why, wsize,
		         "snaplen %" PRIu32 " is larger than %u (damaged or hostile file)", snaplen,
		         PCAP_MAX_SNAPLEN);
		return -EINVAL;
	}
	/* Some writers put 0 for "no limit". */
	pp->snaplen = snaplen == 0 ? PCAP_MAX_SNAPLEN : snaplen;
	if ((linktype & 0xffffu) != PCAP_LINKTYPE_ETHERNET) {
		snprintf(why, wsize, "link type %" PRIu32 " is not Ethernet (1)",
		         linktype & 0xffffu);
		return -EINVAL;
	}
	return 0;
}

#define FILE_ERR(dev, path, ...)                                                                   \
	do {                                                                                       \
		char m__[200];                                                                     \
		snprintf(m__, sizeof(m__), __VA_ARGS__);                                           \
		TARN__ERR(PCAP_LOG, "port spec '%s': rx_pcap %s: %s", (dev)->spec, path, m__);     \
	} while (0)

/* Open rx_pcap and check all of it (see the file comment). */
static int rx_file_open(struct tarn__eth_dev *dev, struct pcap_port *pp, const char *path)
{
	char why[160];
	uint8_t h[PCAP_FILE_HDR_LEN];
	struct stat st;

	int fd = TARN__FAULT("pcap-open", EMFILE) ? -1 : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		FILE_ERR(dev, path, "cannot open: %s", strerror(e));
		return -e;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		FILE_ERR(dev, path, "not a regular file");
		close(fd);
		return -EINVAL;
	}
	FILE *f = TARN__FAULT("pcap-fdopen", ENOMEM) ? NULL : fdopen(fd, "rb");
	if (f == NULL) {
		int e = errno;
		close(fd);
		FILE_ERR(dev, path, "%s", strerror(e));
		return -e;
	}
	setvbuf(f, NULL, _IOFBF, PCAP_FILE_BUF);
	int rc = -EINVAL;
	size_t n = fread(h, 1, sizeof(h), f);
	if (n == 0) {
		FILE_ERR(dev, path, "empty file (no pcap header)");
		goto fail;
	}
	if (n < sizeof(h)) {
		FILE_ERR(dev, path, "truncated file header (%zu of %d bytes)", n,
		         PCAP_FILE_HDR_LEN);
		goto fail;
	}
	if (file_hdr_parse(pp, h, why, sizeof(why)) < 0) {
		FILE_ERR(dev, path, "%s", why);
		goto fail;
	}
	/* Walk the record headers. */
	const uint64_t size = (uint64_t)st.st_size;
	uint64_t off = PCAP_FILE_HDR_LEN, idx = 0;
	for (;;) {
		struct pcap_rec r;
		n = fread(h, 1, PCAP_REC_HDR_LEN, f);
		if (n == 0 && feof(f))
			break;
		if (n < PCAP_REC_HDR_LEN) {
			FILE_ERR(dev, path,
			         "record %" PRIu64 " at offset %" PRIu64
			         ": truncated header (%zu of %d bytes)",
			         idx, off, n, PCAP_REC_HDR_LEN);
			goto fail;
		}
		if (rec_parse(pp, h, &r, why, sizeof(why)) < 0) {
			FILE_ERR(dev, path, "record %" PRIu64 " at offset %" PRIu64 ": %s", idx,
			         off, why);
			goto fail;
		}
		if (off + PCAP_REC_HDR_LEN + r.caplen > size) {
			FILE_ERR(dev, path,
			         "record %" PRIu64 " at offset %" PRIu64
			         ": truncated: caplen %" PRIu32 " but %" PRIu64 " bytes left",
			         idx, off, r.caplen, size - off - PCAP_REC_HDR_LEN);
			goto fail;
		}
		if (idx == 0)
			pp->first_ts_ns = r.ts_ns;
		if (fseeko(f, (off_t)r.caplen, SEEK_CUR) < 0) {
			rc = -errno;
			FILE_ERR(dev, path, "seek: %s", strerror(-rc));
			goto fail;
		}
		off += PCAP_REC_HDR_LEN + r.caplen;
		idx++;
	}
	/* fflush drops what the walk buffered: replay reads the file afresh. */
	if (ferror(f) || fflush(f) != 0 || fseeko(f, PCAP_FILE_HDR_LEN, SEEK_SET) < 0) {
		FILE_ERR(dev, path, "read error");
		rc = -EIO;
		goto fail;
	}
	pp->rx_file = f;
	pp->nb_records = idx;
	if (idx == 0)
		TARN__WARN(PCAP_LOG, "port spec '%s': rx_pcap %s has no packets", dev->spec, path);
	return 0;
fail:
	fclose(f);
	return rc;
}

/* The pass ended (end of file or a bad record): rewind for the next one,
 * or mark the replay done. */
static void pass_end(struct pcap_port *pp, uint64_t now)
{
	pp->have_rec = 0;
	pp->pass++;
	pp->rec_idx = 0;
	if ((pp->loops != 0 && pp->pass >= pp->loops) || pp->nb_records == 0 ||
	    fseeko(pp->rx_file, PCAP_FILE_HDR_LEN, SEEK_SET) < 0) {
		pp->done = 1;
		return;
	}
	pp->wall_base = now;
}

static void rx_bad_record(struct pcap_rxq *q, const char *why)
{
	struct pcap_port *pp = q->pp;
	if (q->err_logged)
		return;
	q->err_logged = 1;
	TARN__ERR(PCAP_LOG,
	          "pcap port %u: rx_pcap %s: record %" PRIu64 " of pass %" PRIu64
	          ": %s (the file changed since the port was created?): counted in ierrors, the "
	          "pass ends there (logged once)",
	          (unsigned)q->port_id, pp->rx_path, pp->rec_idx, pp->pass, why);
}

/* Read the next record header. 1: got it; 0: end of file; -1: bad (logged). */
static int rec_next(struct pcap_rxq *q)
{
	struct pcap_port *pp = q->pp;
	uint8_t h[PCAP_REC_HDR_LEN];
	char why[160];
	size_t n = fread(h, 1, sizeof(h), pp->rx_file);
	if (n == 0 && feof(pp->rx_file)) {
		clearerr(pp->rx_file);
		return 0;
	}
	if (n < sizeof(h)) {
		snprintf(why, sizeof(why), "truncated header");
		rx_bad_record(q, why);
		clearerr(pp->rx_file);
		return -1;
	}
	if (rec_parse(pp, h, &pp->rec, why, sizeof(why)) < 0) {
		rx_bad_record(q, why);
		return -1;
	}
	pp->have_rec = 1;
	return 1;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint16_t file_rx(struct pcap_rxq *q, struct tarn_mbuf **pkts, uint16_t n)
{
	struct pcap_port *pp = q->pp;
	uint64_t bytes = 0, errors = 0, nombuf = 0, now = 0;
	uint16_t nb = 0;
	int last_end = -1; /* packets delivered when the last pass ended */

	if (pp->done)
		return 0;
	if (pp->rate_recorded) {
		now = mono_ns();
		if (pp->wall_base == 0)
			pp->wall_base = now;
	}
	while (nb < n) {
		if (!pp->have_rec) {
			int rc = rec_next(q);
			if (rc <= 0) {
				/* The burst goes on into the next pass, unless the
				 * pass that just ended gave nothing: a pass of bad
				 * or empty records cannot keep a burst spinning. */
				errors += rc < 0;
				pass_end(pp, now);
				if (pp->done || (int)nb == last_end)
					break;
				last_end = nb;
				continue;
			}
		}
		if (pp->rate_recorded) {
			/* Hold the packet until its time (relative to the pass's
			 * first packet) has come; earlier ones go at once. */
			const int64_t due = (int64_t)(pp->rec.ts_ns - pp->first_ts_ns);
			if (due > 0 && (uint64_t)due > now - pp->wall_base)
				break;
		}
		const uint32_t caplen = pp->rec.caplen;
		if (tarn_unlikely(caplen == 0)) {
			pp->have_rec = 0;
			pp->rec_idx++;
			errors++;
			continue;
		}
		struct tarn_mbuf *m = chain_alloc(q->mp, q->room, caplen);
		if (tarn_unlikely(m == NULL)) {
			nombuf++; /* the record stays for the next burst */
			break;
		}
		int short_read = 0;
		for (struct tarn_mbuf *s = m; s != NULL; s = s->next)
			if (fread(tarn_pktmbuf_mtod(s, uint8_t *), 1, s->data_len, pp->rx_file) !=
			    s->data_len)
				short_read = 1;
		if (tarn_unlikely(short_read)) {
			tarn_pktmbuf_free(m);
			rx_bad_record(q, "truncated data");
			clearerr(pp->rx_file);
			errors++;
			pass_end(pp, now);
			if (pp->done || (int)nb == last_end)
				break;
			last_end = nb;
			continue;
		}
		rx_meta(m, q->port_id, pp->rec.ts_ns, caplen < pp->rec.len);
		pp->have_rec = 0;
		pp->rec_idx++;
		pkts[nb++] = m;
		bytes += caplen;
	}
	if (nb > 0) {
		tarn__eth_count(&q->stats->packets, nb);
		tarn__eth_count(&q->stats->bytes, bytes);
	}
	if (tarn_unlikely(errors > 0))
		tarn__eth_count(&q->stats->errors, errors);
	if (tarn_unlikely(nombuf > 0))
		tarn__eth_count(&q->stats->nombuf, nombuf);
	return nb;
}

/* ------------------------------------------------------------------------ */
/* Live capture */

static void live_cb(u_char *user, const struct pcap_pkthdr *h, const u_char *bytes)
{
	struct pcap_rxq *q = (struct pcap_rxq *)user;
	if (tarn_unlikely(h->caplen == 0 || q->cb_nb >= q->cb_max))
		return;
	struct tarn_mbuf *m = chain_alloc(q->mp, q->room, h->caplen);
	if (tarn_unlikely(m == NULL)) {
		q->cb_nombuf++; /* the packet is lost */
		return;
	}
	chain_fill(m, bytes);
	rx_meta(m, q->port_id,
	        (uint64_t)h->ts.tv_sec * 1000000000u + (uint64_t)h->ts.tv_usec * 1000u,
	        h->caplen < h->len);
	q->cb_pkts[q->cb_nb++] = m;
	q->cb_bytes += h->caplen;
}

static uint16_t live_rx(struct pcap_rxq *q, struct tarn_mbuf **pkts, uint16_t n)
{
	if (tarn_unlikely(n == 0))
		return 0; /* pcap_dispatch() takes 0 as "no limit" */
	q->cb_pkts = pkts;
	q->cb_max = n;
	q->cb_nb = 0;
	q->cb_bytes = 0;
	q->cb_nombuf = 0;
	int rc = pcap_dispatch(q->pp->live_rx, n, live_cb, (u_char *)q);
	if (tarn_unlikely(rc < 0)) {
		tarn__eth_count(&q->stats->errors, 1);
		if (!q->err_logged) {
			q->err_logged = 1;
			TARN__ERR(PCAP_LOG,
			          "pcap port %u: capture on '%s' failed: %s (counted in ierrors, "
			          "logged once)",
			          (unsigned)q->port_id, q->pp->iface, pcap_geterr(q->pp->live_rx));
		}
	}
	if (q->cb_nb > 0) {
		tarn__eth_count(&q->stats->packets, q->cb_nb);
		tarn__eth_count(&q->stats->bytes, q->cb_bytes);
	}
	if (tarn_unlikely(q->cb_nombuf > 0))
		tarn__eth_count(&q->stats->nombuf, q->cb_nombuf);
	return q->cb_nb;
}

static uint16_t pcap_rx_burst(void *qd, struct tarn_mbuf **pkts, uint16_t n)
{
	struct pcap_rxq *q = qd;
	if (q->pp->rx_file != NULL)
		return file_rx(q, pkts, n);
	if (q->pp->live_rx != NULL)
		return live_rx(q, pkts, n);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Transmit */

static uint16_t file_tx(struct pcap_txq *q, struct tarn_mbuf **pkts, uint16_t n)
{
	struct pcap_port *pp = q->pp;
	FILE *f = pcap_dump_file(pp->dumper);

	if (tarn_unlikely(q->failed || ferror(f))) {
		if (!q->failed) {
			q->failed = 1;
			TARN__ERR(
			    PCAP_LOG,
			    "pcap port %u: writing tx_pcap %s failed (disk full?): TX refuses "
			    "every packet from now on (oerrors)",
			    (unsigned)q->port_id, pp->tx_path);
		}
		tarn__eth_count(&q->stats->errors, n);
		return 0;
	}
	struct pcap_pkthdr hdr;
	uint64_t bytes = 0;
	gettimeofday(&hdr.ts, NULL);
	for (uint16_t i = 0; i < n; i++) {
		const struct tarn_mbuf *m = pkts[i];
		hdr.len = m->pkt_len;
		hdr.caplen = m->pkt_len < PCAP_TX_SNAPLEN ? m->pkt_len : PCAP_TX_SNAPLEN;
		pcap_dump((u_char *)pp->dumper, &hdr, linear(m, q->lin, hdr.caplen));
		bytes += m->pkt_len;
	}
	tarn_pktmbuf_free_bulk(pkts, n);
	tarn__eth_count(&q->stats->packets, n);
	tarn__eth_count(&q->stats->bytes, bytes);
	return n;
}

static uint16_t live_tx(struct pcap_txq *q, struct tarn_mbuf **pkts, uint16_t n)
{
	struct pcap_port *pp = q->pp;
	uint64_t bytes = 0, sent = 0, dropped = 0;
	uint16_t i;

	for (i = 0; i < n; i++) {
		const struct tarn_mbuf *m = pkts[i];
		const uint32_t len = m->pkt_len < PCAP_TX_SNAPLEN ? m->pkt_len : PCAP_TX_SNAPLEN;
		errno = 0;
		if (tarn_likely(pcap_inject(pp->live_tx, linear(m, q->lin, len), len) >= 0)) {
			sent++;
			bytes += len;
			continue;
		}
		const int e = errno;
		if (e == EINTR) {
			i--;
			continue;
		}
		if (e == EAGAIN || e == EWOULDBLOCK || e == ENOBUFS)
			break; /* the caller keeps the rest */
		if (e == ENETDOWN || e == ENXIO || e == ENODEV) {
			if (!q->err_logged) {
				q->err_logged = 1;
				TARN__ERR(
				    PCAP_LOG,
				    "pcap port %u: inject on '%s' failed: %s (refused, counted in "
				    "oerrors; logged once)",
				    (unsigned)q->port_id, pp->iface, pcap_geterr(pp->live_tx));
			}
			break;
		}
		dropped++; /* this frame refused (too long): taken and dropped */
	}
	tarn_pktmbuf_free_bulk(pkts, i);
	if (sent > 0) {
		tarn__eth_count(&q->stats->packets, sent);
		tarn__eth_count(&q->stats->bytes, bytes);
	}
	if (tarn_unlikely(dropped + (uint64_t)(n - i) > 0))
		tarn__eth_count(&q->stats->errors, dropped + (uint64_t)(n - i));
	return i;
}

static uint16_t pcap_tx_burst(void *qd, struct tarn_mbuf **pkts, uint16_t n)
{
	struct pcap_txq *q = qd;
	if (q->pp->dumper != NULL)
		return file_tx(q, pkts, n);
	if (q->pp->live_tx != NULL)
		return live_tx(q, pkts, n);
	/* No sink: a null port. */
	uint64_t bytes = 0;
	for (uint16_t i = 0; i < n; i++)
		bytes += pkts[i]->pkt_len;
	tarn_pktmbuf_free_bulk(pkts, n);
	tarn__eth_count(&q->stats->packets, n);
	tarn__eth_count(&q->stats->bytes, bytes);
	return n;
}

/* ------------------------------------------------------------------------ */
/* Create and close */

static int tx_file_open(struct tarn__eth_dev *dev, struct pcap_port *pp, const char *path)
{
	struct stat st;
	if (pp->rx_file != NULL && stat(path, &st) == 0) {
		struct stat rx;
		if (fstat(fileno(pp->rx_file), &rx) == 0 && rx.st_dev == st.st_dev &&
		    rx.st_ino == st.st_ino) {
			TARN__ERR(PCAP_LOG,
			          "port spec '%s': tx_pcap is the rx_pcap file (it would be "
			          "overwritten)",
			          dev->spec);
			return -EINVAL;
		}
	}
	FILE *f = TARN__FAULT("pcap-fopen", EMFILE) ? NULL : fopen(path, "wbe");
	if (f == NULL) {
		int e = errno;
		TARN__ERR(PCAP_LOG, "port spec '%s': tx_pcap %s: cannot create: %s", dev->spec,
		          path, strerror(e));
		return -e;
	}
	setvbuf(f, NULL, _IOFBF, PCAP_FILE_BUF);
	pp->tx_dead = TARN__FAULT("pcap-open-dead", ENOMEM)
	                  ? NULL
	                  : pcap_open_dead(DLT_EN10MB, (int)PCAP_TX_SNAPLEN);
	pp->dumper = pp->tx_dead != NULL ? pcap_dump_fopen(pp->tx_dead, f) : NULL;
	if (pp->dumper == NULL) {
		TARN__ERR(PCAP_LOG, "port spec '%s': tx_pcap %s: %s", dev->spec, path,
		          pp->tx_dead != NULL ? pcap_geterr(pp->tx_dead) : "out of memory");
		if (pp->tx_dead != NULL)
			pcap_close(pp->tx_dead);
		pp->tx_dead = NULL;
		fclose(f);
		return -EIO;
	}
	return 0;
}

/* Flush the TX file; returns 0 or -EIO (logged). */
static int tx_file_flush(struct pcap_port *pp)
{
	if (pcap_dump_flush(pp->dumper) != 0 || ferror(pcap_dump_file(pp->dumper))) {
		TARN__ERR(PCAP_LOG, "pcap port %u: tx_pcap %s: write error (disk full?)",
		          (unsigned)pp->port_id, pp->tx_path);
		return -EIO;
	}
	return 0;
}

/* A libpcap handle on `iface`, activated. */
static int live_open(struct tarn__eth_dev *dev, const char *iface, int for_tx, pcap_t **out)
{
	char errbuf[PCAP_ERRBUF_SIZE] = "";
	pcap_t *p = pcap_create(iface, errbuf);
	if (p == NULL) {
		TARN__ERR(PCAP_LOG, "port spec '%s': iface %s: %s", dev->spec, iface, errbuf);
		return -ENOMEM;
	}
	pcap_set_snaplen(p, for_tx ? 64 : PCAP_LIVE_SNAPLEN);
	pcap_set_promisc(p, 0);
	pcap_set_immediate_mode(p, 1);
	if (for_tx)
		pcap_set_buffer_size(p, 64 * 1024);
	int rc = pcap_activate(p);
	if (rc < 0) {
		int err;
		const char *hint = "";
		switch (rc) {
		case PCAP_ERROR_NO_SUCH_DEVICE:
			err = -ENODEV;
			hint = " (no such interface)";
			break;
		case PCAP_ERROR_PERM_DENIED:
			err = -EPERM;
			hint = " (needs CAP_NET_RAW: run as root)";
			break;
		case PCAP_ERROR_IFACE_NOT_UP:
			err = -ENETDOWN;
			hint = " (bring the interface up)";
			break;
		default:
			err = -EIO;
			break;
		}
		TARN__ERR(PCAP_LOG, "port spec '%s': iface %s: %s%s", dev->spec, iface,
		          pcap_geterr(p), hint);
		pcap_close(p);
		return err;
	}
	if (rc > 0)
		TARN__WARN(PCAP_LOG, "port spec '%s': iface %s: %s", dev->spec, iface,
		           pcap_geterr(p));
	if (pcap_datalink(p) != DLT_EN10MB) {
		TARN__ERR(PCAP_LOG, "port spec '%s': iface %s is not Ethernet (link type %s)",
		          dev->spec, iface, pcap_datalink_val_to_name(pcap_datalink(p)));
		pcap_close(p);
		return -EINVAL;
	}
	if (pcap_setnonblock(p, 1, errbuf) < 0) {
		TARN__ERR(PCAP_LOG, "port spec '%s': iface %s: non-blocking mode: %s", dev->spec,
		          iface, errbuf);
		pcap_close(p);
		return -EIO;
	}
	if (for_tx) {
		/* Capture nothing on the TX handle: a kernel filter that drops all. */
		struct bpf_insn drop = { BPF_RET | BPF_K, 0, 0, 0 };
		struct bpf_program prog = { 1, &drop };
		if (pcap_setfilter(p, &prog) < 0)
			TARN__WARN(PCAP_LOG, "port spec '%s': iface %s: TX handle filter: %s",
			           dev->spec, iface, pcap_geterr(p));
	} else if (pcap_setdirection(p, PCAP_D_IN) < 0) {
		TARN__WARN(PCAP_LOG, "port spec '%s': iface %s: cannot capture incoming only: %s",
		           dev->spec, iface, pcap_geterr(p));
	}
	*out = p;
	return 0;
}

static void port_free(struct pcap_port *pp)
{
	if (pp->rx_file != NULL)
		fclose(pp->rx_file);
	pp->rx_file = NULL;
	if (pp->dumper != NULL)
		pcap_dump_close(pp->dumper);
	pp->dumper = NULL;
	if (pp->tx_dead != NULL)
		pcap_close(pp->tx_dead);
	pp->tx_dead = NULL;
	if (pp->live_rx != NULL)
		pcap_close(pp->live_rx);
	pp->live_rx = NULL;
	if (pp->live_tx != NULL)
		pcap_close(pp->live_tx);
	pp->live_tx = NULL;
}

/* What the key table cannot say: which keys go together. */
static int keys_check(const struct tarn__eth_dev *dev, const struct pcap_port *pp,
                      const struct tarn__eth_spec *spec)
{
	const int rx = pp->rx_path[0] != '\0', tx = pp->tx_path[0] != '\0';
	const int iface = pp->iface[0] != '\0';

	if (!rx && !tx && !iface) {
		TARN__ERR(PCAP_LOG,
		          "port spec '%s': pcap needs rx_pcap=FILE, tx_pcap=FILE or iface=NAME",
		          dev->spec);
		return -EINVAL;
	}
	if (iface && (rx || tx)) {
		TARN__ERR(PCAP_LOG,
		          "port spec '%s': iface excludes rx_pcap and tx_pcap (use two ports)",
		          dev->spec);
		return -EINVAL;
	}
	if (!rx && (tarn__eth_spec_get(spec, "loop") != NULL ||
	            tarn__eth_spec_get(spec, "rate") != NULL)) {
		TARN__ERR(PCAP_LOG, "port spec '%s': loop and rate go with rx_pcap", dev->spec);
		return -EINVAL;
	}
	return 0;
}

static int pcap_create_port(struct tarn__eth_dev *dev, const struct tarn__eth_spec *spec)
{
	struct pcap_port *pp = dev->priv;
	int rc = keys_check(dev, pp, spec);

	if (rc < 0)
		return rc;
	pp->port_id = dev->port_id;
	if (pp->iface[0] != '\0') {
		pp->mode = PCAP_MODE_IFACE;
		rc = live_open(dev, pp->iface, 0, &pp->live_rx);
		if (rc == 0)
			rc = live_open(dev, pp->iface, 1, &pp->live_tx);
		if (rc < 0)
			port_free(pp);
		return rc;
	}
	pp->mode = PCAP_MODE_FILE;
	if (pp->rx_path[0] != '\0') {
		rc = rx_file_open(dev, pp, pp->rx_path);
		if (rc < 0)
			return rc;
	}
	if (pp->tx_path[0] != '\0') {
		rc = tx_file_open(dev, pp, pp->tx_path);
		if (rc < 0) {
			port_free(pp);
			return rc;
		}
	}
	if (pp->rx_path[0] != '\0')
		TARN__INFO(PCAP_LOG,
		           "pcap port %u: rx_pcap %s: %" PRIu64 " packets, %s, loop %" PRIu64 "%s",
		           (unsigned)dev->port_id, pp->rx_path, pp->nb_records,
		           pp->nsec ? "ns" : "us", pp->loops,
		           pp->rate_recorded ? ", recorded rate" : "");
	return 0;
}

static void pcap_close_port(struct tarn__eth_dev *dev)
{
	struct pcap_port *pp = dev->priv;
	if (pp->dumper != NULL)
		tx_file_flush(pp);
	port_free(pp);
}

/* ------------------------------------------------------------------------ */
/* Queues, start, stop, control */

/* ethdev checked the pool: an Ethernet header fits after the headroom. */
static int pcap_rx_queue_setup(struct tarn__eth_dev *dev, void *qd, const struct tarn__eth_qconf *c)
{
	struct pcap_rxq *q = qd;

	q->pp = dev->priv;
	q->mp = c->mp;
	q->stats = c->stats;
	q->port_id = dev->port_id;
	q->room = (uint16_t)(tarn_pktmbuf_data_room_size(c->mp) - TARN_PKTMBUF_HEADROOM);
	return 0;
}

/* A chained packet is made contiguous in `lin` for pcap_dump/pcap_inject. */
static int pcap_tx_queue_setup(struct tarn__eth_dev *dev, void *qd, const struct tarn__eth_qconf *c)
{
	struct pcap_txq *q = qd;
	uint8_t *lin = TARN__FAULT("pcap-malloc", ENOMEM) ? NULL : malloc(PCAP_TX_SNAPLEN);

	if (lin == NULL) {
		TARN__ERR(PCAP_LOG, "pcap port %u: TX queue %u: out of memory",
		          (unsigned)dev->port_id, (unsigned)c->id);
		return -ENOMEM;
	}
	q->pp = dev->priv;
	q->stats = c->stats;
	q->lin = lin;
	q->port_id = dev->port_id;
	return 0;
}

static void pcap_tx_queue_release(struct tarn__eth_dev *dev, void *qd)
{
	(void)dev;
	free(((struct pcap_txq *)qd)->lin);
}

static int pcap_start(struct tarn__eth_dev *dev)
{
	struct pcap_port *pp = dev->priv;
	pp->wall_base = 0; /* a recorded-rate replay resumes without a catch-up burst */
	return 0;
}

static void pcap_stop(struct tarn__eth_dev *dev)
{
	struct pcap_port *pp = dev->priv;
	if (pp->dumper != NULL)
		tx_file_flush(pp);
}

static int iface_flags(const struct pcap_port *pp, short *flags)
{
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", pp->iface);
	int rc = ioctl(s, SIOCGIFFLAGS, &ifr) < 0 ? -errno : 0;
	close(s);
	*flags = ifr.ifr_flags;
	return rc;
}

static int pcap_link_get(struct tarn__eth_dev *dev, struct tarn_eth_link *link)
{
	struct pcap_port *pp = dev->priv;
	if (pp->mode == PCAP_MODE_FILE) {
		link->up = dev->state == TARN_ETH_STATE_STARTED;
	} else {
		short f = 0;
		int rc = iface_flags(pp, &f);
		if (rc < 0) {
			TARN__ERR(PCAP_LOG, "pcap port %u: link state of '%s': %s",
			          (unsigned)dev->port_id, pp->iface, strerror(-rc));
			return rc;
		}
		link->up = (f & IFF_UP) && (f & IFF_RUNNING);
	}
	if (link->up) {
		link->speed_mbps = 10000;
		link->full_duplex = 1;
	}
	return 0;
}

static int pcap_promisc_set(struct tarn__eth_dev *dev, int on)
{
	struct pcap_port *pp = dev->priv;
	if (pp->mode == PCAP_MODE_FILE)
		return 0; /* recorded only */
	struct packet_mreq mr;
	memset(&mr, 0, sizeof(mr));
	mr.mr_ifindex = (int)if_nametoindex(pp->iface);
	mr.mr_type = PACKET_MR_PROMISC;
	if (mr.mr_ifindex == 0 ||
	    setsockopt(pcap_fileno(pp->live_rx), SOL_PACKET,
	               on ? PACKET_ADD_MEMBERSHIP : PACKET_DROP_MEMBERSHIP, &mr, sizeof(mr)) < 0) {
		int e = mr.mr_ifindex == 0 ? ENODEV : errno;
		if (!on && e == EADDRNOTAVAIL)
			return 0; /* was not on */
		TARN__ERR(PCAP_LOG, "pcap port %u: promiscuous mode %s on '%s': %s",
		          (unsigned)dev->port_id, on ? "on" : "off", pp->iface, strerror(e));
		return -e;
	}
	return 0;
}

const struct tarn__eth_driver tarn__eth_pcap_driver = {
	.name = "pcap",
	.summary = "capture files and live interfaces (libpcap)",
	.keys = pcap_keys,
	.priv_size = sizeof(struct pcap_port),
	.rxq_size = sizeof(struct pcap_rxq),
	.txq_size = sizeof(struct pcap_txq),
	.max_rx_queues = 1,
	.max_tx_queues = 1,
	.rx_data_min = TARN_ETHER_HDR_LEN,
	.rx_data_what = "an Ethernet header",
	.create = pcap_create_port,
	.close = pcap_close_port,
	.rx_queue_setup = pcap_rx_queue_setup,
	.tx_queue_setup = pcap_tx_queue_setup,
	.tx_queue_release = pcap_tx_queue_release,
	.start = pcap_start,
	.stop = pcap_stop,
	.link_get = pcap_link_get,
	.promisc_set = pcap_promisc_set,
	.rx_burst = pcap_rx_burst,
	.tx_burst = pcap_tx_burst,
};
