/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * file.c - the pcap driver's capture files.
 *
 * rx_pcap is read by this driver, not libpcap, so that every inconsistency
 * is an error rather than a silent fix-up (libpcap quietly cuts records
 * longer than the snaplen): create() reads the header and walks every
 * record header, and refuses the file (-EINVAL, a log line naming the
 * record and its offset) when the header is short or has a bad magic,
 * version, snaplen (> 262144) or link type, or a record is cut short or
 * claims caplen > snaplen or caplen > len. tx_pcap is written by libpcap's
 * pcap_dump into a file created (truncated) at create.
 *
 * Fault points: "pcap-open", "pcap-fdopen", "pcap-fopen", "pcap-open-dead".
 * Control path only (create, stop, close), but tarn__pcap_rec_parse, which
 * the replay uses too.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pcap_priv.h"

/* A field of the file, in the file's byte order. */
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
int tarn__pcap_rec_parse(const struct pcap_port *pp, const uint8_t *h, struct pcap_rec *r,
                         char *why, size_t wsize)
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

/* rx_pcap opened for reading: a regular file. NULL with *rc set (logged). */
static FILE *rx_file_fopen(const struct tarn__eth_dev *dev, const char *path, struct stat *st,
                           int *rc)
{
	int fd = TARN__FAULT("pcap-open", EMFILE) ? -1 : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		*rc = -errno;
		FILE_ERR(dev, path, "cannot open: %s", strerror(-*rc));
		return NULL;
	}
	if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode)) {
		FILE_ERR(dev, path, "not a regular file");
		close(fd);
		*rc = -EINVAL;
		return NULL;
	}
	FILE *f = TARN__FAULT("pcap-fdopen", ENOMEM) ? NULL : fdopen(fd, "rb");
	if (f == NULL) {
		*rc = -errno;
		close(fd);
		FILE_ERR(dev, path, "%s", strerror(-*rc));
		return NULL;
	}
	setvbuf(f, NULL, _IOFBF, PCAP_FILE_BUF);
	return f;
}

/* The file header. 0 or -EINVAL (logged). */
static int rx_file_header(const struct tarn__eth_dev *dev, struct pcap_port *pp, FILE *f)
{
	uint8_t h[PCAP_FILE_HDR_LEN];
	char why[160];
	const size_t n = fread(h, 1, sizeof(h), f);

	if (n == 0) {
		FILE_ERR(dev, pp->rx_path, "empty file (no pcap header)");
		return -EINVAL;
	}
	if (n < sizeof(h)) {
		FILE_ERR(dev, pp->rx_path, "truncated file header (%zu of %d bytes)", n,
		         PCAP_FILE_HDR_LEN);
		return -EINVAL;
	}
	if (file_hdr_parse(pp, h, why, sizeof(why)) < 0) {
		FILE_ERR(dev, pp->rx_path, "%s", why);
		return -EINVAL;
	}
	return 0;
}

/* Walk the record headers of a file of `size` bytes: each must be whole
 * and consistent. 0 with pp->nb_records and first_ts_ns set, or -errno
 * (logged, naming the record and its offset). */
static int rx_file_walk(const struct tarn__eth_dev *dev, struct pcap_port *pp, FILE *f,
                        uint64_t size)
{
	const char *path = pp->rx_path;
	uint8_t h[PCAP_REC_HDR_LEN];
	uint64_t off = PCAP_FILE_HDR_LEN, idx = 0;
	char why[160];

	for (;; idx++) {
		struct pcap_rec r;
		const size_t n = fread(h, 1, PCAP_REC_HDR_LEN, f);
		if (n == 0 && feof(f))
			break;
		if (n < PCAP_REC_HDR_LEN) {
			FILE_ERR(dev, path,
			         "record %" PRIu64 " at offset %" PRIu64
			         ": truncated header (%zu of %d bytes)",
			         idx, off, n, PCAP_REC_HDR_LEN);
			return -EINVAL;
		}
		if (tarn__pcap_rec_parse(pp, h, &r, why, sizeof(why)) < 0) {
			FILE_ERR(dev, path, "record %" PRIu64 " at offset %" PRIu64 ": %s", idx,
			         off, why);
			return -EINVAL;
		}
		if (off + PCAP_REC_HDR_LEN + r.caplen > size) {
			FILE_ERR(dev, path,
			         "record %" PRIu64 " at offset %" PRIu64
			         ": truncated: caplen %" PRIu32 " but %" PRIu64 " bytes left",
			         idx, off, r.caplen, size - off - PCAP_REC_HDR_LEN);
			return -EINVAL;
		}
		if (idx == 0)
			pp->first_ts_ns = r.ts_ns;
		if (fseeko(f, (off_t)r.caplen, SEEK_CUR) < 0) {
			const int rc = -errno;
			FILE_ERR(dev, path, "seek: %s", strerror(-rc));
			return rc;
		}
		off += PCAP_REC_HDR_LEN + r.caplen;
	}
	pp->nb_records = idx;
	return 0;
}

int tarn__pcap_rx_file_open(struct tarn__eth_dev *dev, struct pcap_port *pp)
{
	struct stat st;
	int rc;
	FILE *f = rx_file_fopen(dev, pp->rx_path, &st, &rc);

	if (f == NULL)
		return rc;
	rc = rx_file_header(dev, pp, f);
	if (rc == 0)
		rc = rx_file_walk(dev, pp, f, (uint64_t)st.st_size);
	/* fflush drops what the walk buffered: replay reads the file afresh. */
	if (rc == 0 &&
	    (ferror(f) || fflush(f) != 0 || fseeko(f, PCAP_FILE_HDR_LEN, SEEK_SET) < 0)) {
		FILE_ERR(dev, pp->rx_path, "read error");
		rc = -EIO;
	}
	if (rc < 0) {
		fclose(f);
		return rc;
	}
	pp->rx_file = f;
	if (pp->nb_records == 0)
		TARN__WARN(PCAP_LOG, "port spec '%s': rx_pcap %s has no packets", dev->spec,
		           pp->rx_path);
	return 0;
}

int tarn__pcap_tx_file_open(struct tarn__eth_dev *dev, struct pcap_port *pp)
{
	const char *path = pp->tx_path;
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
int tarn__pcap_tx_file_flush(struct pcap_port *pp)
{
	if (pcap_dump_flush(pp->dumper) != 0 || ferror(pcap_dump_file(pp->dumper))) {
		TARN__ERR(PCAP_LOG, "pcap port %u: tx_pcap %s: write error (disk full?)",
		          (unsigned)pp->port_id, pp->tx_path);
		return -EIO;
	}
	return 0;
}
