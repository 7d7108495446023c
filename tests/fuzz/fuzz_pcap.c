/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_pcap: the pcap driver's capture file reader. Each input becomes a
 * file that an RX port replays (pcap:rx_pcap=FILE): create() checks it,
 * then every packet is received until the replay ends.
 *
 * The first byte is the run's settings, the rest the file:
 *   bits 0-1  passes over the file (loop=1..3)
 *   bit 2     mbufs of 64 data bytes (long records become chains of many
 *             segments) instead of 2048
 *   bit 3     the file changes after create() checked it: its second half
 *             (split at the offset in the next two bytes) replaces it, so
 *             replay meets records create() never saw (lengths that lie,
 *             cut records, garbage)
 *   bit 4     rate=recorded (timestamps from the file; the run stops at
 *             the first burst that has to wait)
 *   bit 5     a pool of 8 mbufs of 64 data bytes (takes precedence over
 *             bit 2): a record over 512 bytes can never fit; it is skipped
 *             and counted in ierrors, the replay goes on
 * Checked: no crash or out-of-bounds access whatever the lengths in the
 * file; every packet received is a sane chain (tarn_mbuf_check()) of at
 * most the file's size; a file create() accepted replays at most
 * loop x (records in it) packets before it changes, and when it does not
 * change and replays at full rate, every record of every pass is either
 * received or counted in ierrors (none waits for ever); after the port is
 * closed the pools are full again and no descriptor is left open.
 */
#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_common.h"

static struct tarn_mempool *big, *small, *tiny;
static char path[256];

static unsigned count_fds(void)
{
	unsigned n = 0;
	DIR *d = opendir("/proc/self/fd");
	if (d == NULL)
		return 0;
	for (struct dirent *e; (e = readdir(d)) != NULL;)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* The capture file: created afresh for each input (never through a link
 * left in its place), rewritten in place when it "changes", removed at the
 * end of the input. */
static void write_file(const uint8_t *p, size_t n, int create)
{
	int fd = open(
	    path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW | (create ? O_CREAT | O_EXCL : O_TRUNC), 0600);
	if (fd < 0) {
		perror(path);
		abort();
	}
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w <= 0)
			abort();
		p += w, n -= (size_t)w;
	}
	close(fd);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	fuzz_init_tarn("tarn-fuzz-pcap");
	big = tarn_pktmbuf_pool_create("fzp_big", 1024, 0, 0, TARN_MBUF_DEFAULT_BUF_SIZE, 0);
	small = tarn_pktmbuf_pool_create("fzp_small", 8192, 0, 0, 64 + TARN_PKTMBUF_HEADROOM, 0);
	tiny = tarn_pktmbuf_pool_create("fzp_tiny", 8, 0, 0, 64 + TARN_PKTMBUF_HEADROOM, 0);
	if (big == NULL || small == NULL || tiny == NULL)
		abort();
	const char *tmp = getenv("TMPDIR");
	snprintf(path, sizeof(path), "%s/tarn-fuzz-pcap.%d.pcap", tmp != NULL ? tmp : "/tmp",
	         (int)getpid());
	unlink(path); /* left by a crash of an earlier process of this pid */
	return 0;
}

static void check_pkt(struct tarn_mbuf *m, size_t file_size)
{
	const char *why;
	if (tarn_mbuf_check(m, 1, &why) != 0) {
		fprintf(stderr, "fuzz_pcap: bad packet: %s\n", why);
		abort();
	}
	if (m->pkt_len == 0 || m->pkt_len > file_size) {
		fprintf(stderr, "fuzz_pcap: packet of %u bytes from a %zu-byte file\n", m->pkt_len,
		        file_size);
		abort();
	}
	/* read every byte: ASan checks they lie inside the mbufs */
	volatile uint8_t sum = 0;
	for (struct tarn_mbuf *s = m; s != NULL; s = s->next)
		for (unsigned i = 0; i < s->data_len; i++)
			sum += tarn_pktmbuf_mtod(s, const uint8_t *)[i];
	(void)sum;
}

/* Record headers create() would walk in a file it accepted (the count of
 * packets one pass may give). */
static uint64_t nb_records(const uint8_t *p, size_t n)
{
	if (n < 24)
		return 0;
	uint32_t magic;
	memcpy(&magic, p, 4);
	const int swapped = magic == 0xd4c3b2a1u || magic == 0x4d3cb2a1u;
	uint64_t off = 24, k = 0;
	while (off + 16 <= n) {
		uint32_t caplen;
		memcpy(&caplen, p + off + 8, 4);
		if (swapped)
			caplen = __builtin_bswap32(caplen);
		off += 16 + (uint64_t)caplen;
		k++;
	}
	return k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 1 << 20)
		return 0;
	const unsigned flags = data[0];
	const unsigned loops = 1 + (flags & 3) % 3;
	struct tarn_mempool *mp = flags & 32 ? tiny : flags & 4 ? small : big;
	const uint8_t *file = data + 1;
	size_t file_size = size - 1;
	const uint8_t *later = NULL;
	size_t later_size = 0;
	if ((flags & 8) && file_size >= 2) {
		size_t split = ((size_t)file[0] << 8 | file[1]) % (file_size - 1);
		later = file + 2 + split;
		later_size = file_size - 2 - split;
		file += 2;
		file_size = split;
	}
	/* counted here: libFuzzer opens files of its own between inputs */
	const unsigned base_fds = count_fds();
	write_file(file, file_size, 1);

	char spec[TARN_ETH_SPEC_MAX];
	snprintf(spec, sizeof(spec), "pcap:rx_pcap=%s,loop=%u%s", path, loops,
	         flags & 16 ? ",rate=recorded" : "");
	uint16_t port;
	if (tarn_eth_dev_create(spec, &port) == 0) {
		const uint64_t most =
		    later != NULL ? UINT64_MAX : loops * nb_records(file, file_size);
		if (later != NULL) {
			write_file(later, later_size, 0);
			file_size = later_size > file_size ? later_size : file_size;
		}
		if (tarn_eth_dev_configure(port, 1, 1, NULL) < 0 ||
		    tarn_eth_rx_queue_setup(port, 0, 256, TARN_SOCKET_ANY, mp) < 0 ||
		    tarn_eth_tx_queue_setup(port, 0, 256, TARN_SOCKET_ANY) < 0 ||
		    tarn_eth_dev_start(port) < 0)
			abort();
		uint64_t got = 0;
		unsigned idle = 0;
		/* Until the replay ends: a few empty bursts in a row (a record
		 * the pool cannot hold stays, counted in rx_nombuf). */
		for (unsigned b = 0; b < 4096 && idle < 3; b++) {
			struct tarn_mbuf *pkts[32];
			uint16_t nb = tarn_eth_rx_burst(port, 0, pkts, 32);
			idle = nb == 0 ? idle + 1 : 0;
			for (uint16_t i = 0; i < nb; i++)
				check_pkt(pkts[i], file_size);
			tarn_pktmbuf_free_bulk(pkts, nb);
			got += nb;
		}
		if (got > most) {
			fprintf(stderr, "fuzz_pcap: %llu packets from %llu records x %u passes\n",
			        (unsigned long long)got, (unsigned long long)most / loops, loops);
			abort();
		}
		struct tarn_eth_stats st;
		if (tarn_eth_stats_get(port, &st) < 0 || st.ipackets != got)
			abort();
		if (later == NULL && !(flags & 16) && idle >= 3 &&
		    got + st.ierrors != loops * nb_records(file, file_size)) {
			fprintf(stderr,
			        "fuzz_pcap: %llu received + %llu ierrors from %llu records x %u "
			        "passes\n",
			        (unsigned long long)got, (unsigned long long)st.ierrors,
			        (unsigned long long)nb_records(file, file_size), loops);
			abort();
		}
		tarn_eth_dev_stop(port);
		tarn_eth_dev_close(port);
	}
	unlink(path);
	if (tarn_eth_dev_count() != 0 || tarn_mempool_avail_count(big) != 1024 ||
	    tarn_mempool_avail_count(small) != 8192 || tarn_mempool_avail_count(tiny) != 8) {
		fprintf(stderr, "fuzz_pcap: a port or an mbuf was not given back\n");
		abort();
	}
	if (count_fds() != base_fds) {
		fprintf(stderr, "fuzz_pcap: descriptor leaked (%u open, %u before):\n", count_fds(),
		        base_fds);
		DIR *d = opendir("/proc/self/fd");
		for (struct dirent *e; d != NULL && (e = readdir(d)) != NULL;) {
			char l[300], t[256] = "";
			snprintf(l, sizeof(l), "/proc/self/fd/%s", e->d_name);
			ssize_t n = readlink(l, t, sizeof(t) - 1);
			t[n > 0 ? n : 0] = '\0';
			fprintf(stderr, "  %s -> %s\n", e->d_name, t);
		}
		if (d != NULL)
			closedir(d);
		abort();
	}
	return 0;
}
