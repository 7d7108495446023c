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
 * claims caplen > snaplen or caplen > len. tx_pcap is created (truncated)
 * at create with its file header; tx.c writes the records.
 *
 * Both are opened O_NONBLOCK and must be regular files: a FIFO is refused
 * at once instead of blocking the open until another process opens its
 * other end. A file is known by device and inode, whatever name reaches it
 * (hard or symbolic link): a tx_pcap that another open port reads or
 * writes, or an rx_pcap that another port writes, is refused before
 * anything is truncated.
 *
 * Fault points: "pcap-open", "pcap-fdopen", "pcap-fopen", "pcap-write-hdr".
 * Control path only (create, close), but tarn__pcap_rec_parse, which the
 * replay uses too.
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

/* ------------------------------------------------------------------------ */
/* The open ports' files */

/* Every pcap port created and not closed, by port id: only create and
 * close (under the ethdev control mutex) touch it. */
static struct pcap_port *open_ports[TARN_MAX_ETHPORTS];

void tarn__pcap_port_add(struct pcap_port *pp)
{
	if (pp->port_id < TARN_MAX_ETHPORTS)
		open_ports[pp->port_id] = pp;
}

void tarn__pcap_port_remove(const struct pcap_port *pp)
{
	if (pp->port_id < TARN_MAX_ETHPORTS && open_ports[pp->port_id] == pp)
		open_ports[pp->port_id] = NULL;
}

static int same_file(const struct pcap_file_id *id, const struct stat *st)
{
	return id->set && id->dev == st->st_dev && id->ino == st->st_ino;
}

static void file_id_set(struct pcap_file_id *id, const struct stat *st)
{
	id->dev = st->st_dev;
	id->ino = st->st_ino;
	id->set = 1;
}

/* Another open port that uses file `st`: as its tx_pcap (*writes = 1), or,
 * when `readers` is set, as its rx_pcap (*writes = 0). NULL if none. */
static const struct pcap_port *file_user(const struct pcap_port *self, const struct stat *st,
                                         int readers, int *writes)
{
	for (unsigned i = 0; i < TARN_MAX_ETHPORTS; i++) {
		const struct pcap_port *o = open_ports[i];
		if (o == NULL || o == self)
			continue;
		if (same_file(&o->tx_id, st)) {
			*writes = 1;
			return o;
		}
		if (readers && same_file(&o->rx_id, st)) {
			*writes = 0;
			return o;
		}
	}
	return NULL;
}

/* What a file that is not a regular one is, for the messages. */
static const char *file_kind(mode_t m)
{
	if (S_ISFIFO(m))
		return "a FIFO";
	if (S_ISDIR(m))
		return "a directory";
	if (S_ISCHR(m))
		return "a character device";
	if (S_ISBLK(m))
		return "a block device";
	if (S_ISSOCK(m))
		return "a socket";
	return "not a plain file";
}

/* Clear O_NONBLOCK (the file was opened with it, so that a FIFO could not
 * block the open). */
static int blocking(int fd)
{
	const int fl = fcntl(fd, F_GETFL);
	return fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0 ? -errno : 0;
}

/* ------------------------------------------------------------------------ */
/* rx_pcap */

/* A log line on file `path` of key `key` of a port spec. */
#define PATH_ERR(dev, key, path, ...)                                                              \
	do {                                                                                       \
		char m__[200];                                                                     \
		snprintf(m__, sizeof(m__), __VA_ARGS__);                                           \
		TARN__ERR(PCAP_LOG, "port spec '%s': %s %s: %s", (dev)->spec, key, path, m__);     \
	} while (0)
#define FILE_ERR(dev, path, ...) PATH_ERR(dev, "rx_pcap", path, __VA_ARGS__)

/* rx_pcap opened for reading: a regular file that no other port writes.
 * NULL with *rc set (logged). */
static FILE *rx_file_fopen(const struct tarn__eth_dev *dev, const struct pcap_port *pp,
                           const char *path, struct stat *st, int *rc)
{
	int fd = TARN__FAULT("pcap-open", EMFILE)
	             ? -1
	             : open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		*rc = -errno;
		FILE_ERR(dev, path, "cannot open: %s", strerror(-*rc));
		return NULL;
	}
	if (fstat(fd, st) < 0) {
		*rc = -errno;
		FILE_ERR(dev, path, "cannot stat: %s", strerror(-*rc));
		close(fd);
		return NULL;
	}
	if (!S_ISREG(st->st_mode)) {
		FILE_ERR(dev, path, "not a regular file (%s)", file_kind(st->st_mode));
		close(fd);
		*rc = -EINVAL;
		return NULL;
	}
	int writes;
	const struct pcap_port *o = file_user(pp, st, 0, &writes);
	if (o != NULL) {
		TARN__ERR(
		    PCAP_LOG,
		    "port spec '%s': rx_pcap %s is the file port %u writes (tx_pcap): it would "
		    "be read while it is written",
		    dev->spec, path, (unsigned)o->port_id);
		close(fd);
		*rc = -EINVAL;
		return NULL;
	}
	*rc = blocking(fd);
	if (*rc < 0) {
		FILE_ERR(dev, path, "fcntl: %s", strerror(-*rc));
		close(fd);
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
	FILE *f = rx_file_fopen(dev, pp, pp->rx_path, &st, &rc);

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
	file_id_set(&pp->rx_id, &st);
	if (pp->nb_records == 0)
		TARN__WARN(PCAP_LOG, "port spec '%s': rx_pcap %s has no packets", dev->spec,
		           pp->rx_path);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* tx_pcap */

#define TX_ERR(dev, path, ...) PATH_ERR(dev, "tx_pcap", path, __VA_ARGS__)

/* May port `pp` write file `st` as its tx_pcap? 0, or -EINVAL (logged)
 * when it is its own rx_pcap, or a file another port reads or writes. */
static int tx_file_refused(const struct tarn__eth_dev *dev, const struct pcap_port *pp,
                           const char *path, const struct stat *st)
{
	if (same_file(&pp->rx_id, st)) {
		TARN__ERR(PCAP_LOG,
		          "port spec '%s': tx_pcap is the rx_pcap file (it would be overwritten)",
		          dev->spec);
		return -EINVAL;
	}
	int writes;
	const struct pcap_port *o = file_user(pp, st, 1, &writes);
	if (o == NULL)
		return 0;
	TARN__ERR(PCAP_LOG, "port spec '%s': tx_pcap %s is the file port %u %s (%s): %s", dev->spec,
	          path, (unsigned)o->port_id, writes ? "writes" : "reads",
	          writes ? "tx_pcap" : "rx_pcap",
	          writes ? "two writers would corrupt it" : "it would be overwritten");
	return -EINVAL;
}

/* The file header of tx_pcap: classic pcap, microseconds, this host's byte
 * order (as libpcap writes it), snaplen PCAP_TX_SNAPLEN, Ethernet. */
static int tx_file_header(int fd)
{
	uint8_t h[PCAP_FILE_HDR_LEN];
	const uint32_t magic = PCAP_MAGIC_USEC, zero = 0, snaplen = PCAP_TX_SNAPLEN,
	               link = PCAP_LINKTYPE_ETHERNET;
	const uint16_t vmaj = 2, vmin = 4;
	memcpy(h, &magic, 4);
	memcpy(h + 4, &vmaj, 2);
	memcpy(h + 6, &vmin, 2);
	memcpy(h + 8, &zero, 4);  /* thiszone */
	memcpy(h + 12, &zero, 4); /* sigfigs */
	memcpy(h + 16, &snaplen, 4);
	memcpy(h + 20, &link, 4);
	if (TARN__FAULT("pcap-write-hdr", ENOSPC))
		return -errno;
	for (size_t off = 0; off < sizeof(h);) {
		const ssize_t w = write(fd, h + off, sizeof(h) - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		off += (size_t)w;
	}
	return 0;
}

int tarn__pcap_tx_file_open(struct tarn__eth_dev *dev, struct pcap_port *pp)
{
	const char *path = pp->tx_path;
	struct stat st;
	/* Not truncated before it is known to be no other port's file (and
	 * O_NONBLOCK: a FIFO without a reader fails with ENXIO at once). */
	int fd = TARN__FAULT("pcap-fopen", EMFILE)
	             ? -1
	             : open(path, O_WRONLY | O_CREAT | O_NONBLOCK | O_CLOEXEC | O_NOCTTY, 0666);
	if (fd < 0) {
		const int e = errno;
		if (e == ENXIO && stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
			TX_ERR(dev, path, "not a regular file (%s)", file_kind(st.st_mode));
			return -EINVAL;
		}
		TX_ERR(dev, path, "cannot create: %s", strerror(e));
		return -e;
	}
	int rc = fstat(fd, &st) < 0 ? -errno : 0;
	if (rc < 0) {
		TX_ERR(dev, path, "cannot stat: %s", strerror(-rc));
	} else if (!S_ISREG(st.st_mode)) {
		TX_ERR(dev, path, "not a regular file (%s)", file_kind(st.st_mode));
		rc = -EINVAL;
	} else {
		rc = tx_file_refused(dev, pp, path, &st);
	}
	if (rc == 0 && (ftruncate(fd, 0) < 0 || (rc = blocking(fd)) < 0)) {
		rc = rc < 0 ? rc : -errno;
		TX_ERR(dev, path, "cannot truncate: %s", strerror(-rc));
	}
	if (rc == 0 && (rc = tx_file_header(fd)) < 0)
		TX_ERR(dev, path, "cannot write the file header: %s", strerror(-rc));
	if (rc < 0) {
		close(fd);
		return rc;
	}
	pp->tx_fd = fd;
	pp->tx_open = 1;
	pp->tx_off = PCAP_FILE_HDR_LEN;
	file_id_set(&pp->tx_id, &st);
	return 0;
}
