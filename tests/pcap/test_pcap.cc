// SPDX-License-Identifier: BSD-3-Clause
// pcap driver tests. Every capture file is written by the test (by hand, so
// that byte order, timestamp precision and every kind of damage can be
// chosen): replay with every byte checked (chains for packets longer than
// an mbuf, truncated captures, timestamps), loop=N, loop=0, rate=recorded,
// rx_nombuf without losing the packet, TX to a file read back with libpcap,
// a file replayed through the built tarn-fwd into another and compared,
// hostile and randomly corrupted files (a clean -EINVAL, never a crash: run
// it under ASan), a file changed after create, spec errors, and live
// capture/inject on a veth pair (root only).
#include <gtest/gtest.h>

#include <dirent.h>
#include <net/if.h>
#include <pcap/pcap.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "../common/need.h"
#include "../common/test_log.h"
#include <tarn/tarn_env.h>
#include <tarn/tarn_ethdev.h>
#include <tarn/tarn_mbuf.h>
#include <tarn/tarn_mempool.h>

namespace
{

using Log = TestLog;
using Bytes = std::vector<uint8_t>;

class PcapEnv : public ::testing::Environment
{
      public:
	void SetUp() override
	{
		tarn_log_set_handler(Log::fn, nullptr);
		struct tarn_config cfg;
		ASSERT_EQ(tarn_config_init(&cfg), 0);
		snprintf(cfg.lcores, sizeof(cfg.lcores), "0");
		cfg.no_pin_main = 1;
		snprintf(cfg.file_prefix, sizeof(cfg.file_prefix), "tarn-test-pcap");
		ASSERT_EQ(tarn_init(&cfg), 0);
	}
	void TearDown() override
	{
		EXPECT_EQ(tarn_cleanup(), 0);
		tarn_log_set_handler(nullptr, nullptr);
	}
};

::testing::Environment *const pcap_env = ::testing::AddGlobalTestEnvironment(new PcapEnv);

void close_all_ports()
{
	int p;
	TARN_ETH_FOREACH_DEV(p)
	{
		tarn_eth_dev_close((uint16_t)p);
	}
}

// An mbuf pool for one test. Its destructor closes every port first, then
// fails the test if an mbuf is still out.
struct Pool {
	struct tarn_mempool *mp;
	explicit Pool(unsigned n = 1024, uint16_t room = TARN_MBUF_DEFAULT_BUF_SIZE)
	{
		static int seq;
		std::string name = "pcap_test_" + std::to_string(seq++);
		mp = tarn_pktmbuf_pool_create(name.c_str(), n, 0, 0, room, TARN_SOCKET_ANY);
		EXPECT_NE(mp, nullptr) << tarn_strerror(tarn_errno);
	}
	~Pool()
	{
		close_all_ports();
		if (mp == nullptr)
			return;
		EXPECT_EQ(tarn_mempool_in_use_count(mp), 0u) << "mbufs leaked";
		tarn_mempool_free(mp, TARN_MEMPOOL_FREE_FORCE);
	}
};

// A temporary directory, removed with its files.
struct TmpDir {
	std::string path;
	TmpDir()
	{
		char t[] = "/tmp/tarn-pcap-XXXXXX";
		EXPECT_NE(mkdtemp(t), nullptr);
		path = t;
	}
	~TmpDir()
	{
		DIR *d = opendir(path.c_str());
		if (d != nullptr) {
			struct dirent *e;
			while ((e = readdir(d)) != nullptr)
				if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
					unlink((path + "/" + e->d_name).c_str());
			closedir(d);
		}
		rmdir(path.c_str());
	}
	std::string operator/(const std::string &n) const
	{
		return path + "/" + n;
	}
};

// A classic pcap file, written by hand.
struct PcapFile {
	Bytes b;
	bool sw = false;
	void u32(uint32_t v)
	{
		if (sw)
			v = __builtin_bswap32(v);
		const uint8_t *p = (const uint8_t *)&v;
		b.insert(b.end(), p, p + 4);
	}
	void u16(uint16_t v)
	{
		if (sw)
			v = __builtin_bswap16(v);
		const uint8_t *p = (const uint8_t *)&v;
		b.insert(b.end(), p, p + 2);
	}
	PcapFile &header(uint32_t magic = 0xa1b2c3d4, bool swapped = false,
	                 uint32_t snaplen = 65535, uint32_t linktype = 1, uint16_t vmaj = 2)
	{
		sw = swapped;
		u32(magic);
		u16(vmaj);
		u16(4);
		u32(0);
		u32(0);
		u32(snaplen);
		u32(linktype);
		return *this;
	}
	// A record of `data`; `len` 0: data.size(); `caplen` -1: data.size().
	PcapFile &rec(uint32_t sec, uint32_t frac, const Bytes &data, uint32_t len = 0,
	              int64_t caplen = -1)
	{
		u32(sec);
		u32(frac);
		u32(caplen < 0 ? (uint32_t)data.size() : (uint32_t)caplen);
		u32(len == 0 ? (uint32_t)data.size() : len);
		b.insert(b.end(), data.begin(), data.end());
		return *this;
	}
	std::string write(const std::string &path) const
	{
		FILE *f = fopen(path.c_str(), "wb");
		EXPECT_NE(f, nullptr) << path;
		if (f != nullptr) {
			if (!b.empty()) {
				EXPECT_EQ(fwrite(b.data(), 1, b.size(), f), b.size());
			}
			fclose(f);
		}
		return path;
	}
};

// A frame of `len` bytes whose content depends on `seed`.
Bytes frame(size_t len, uint32_t seed)
{
	Bytes f(len);
	for (size_t i = 0; i < len; i++)
		f[i] = (uint8_t)(i * 13 + seed * 31 + (i >> 8));
	if (len >= 14) {
		memset(f.data(), 0xff, 6);
		f[12] = 0x88;
		f[13] = 0xb5;
	}
	return f;
}

Bytes mbuf_bytes(const struct tarn_mbuf *m)
{
	Bytes b;
	for (const struct tarn_mbuf *s = m; s != nullptr; s = s->next) {
		const uint8_t *d = tarn_pktmbuf_mtod(s, const uint8_t *);
		b.insert(b.end(), d, d + s->data_len);
	}
	return b;
}

uint16_t create(const std::string &spec)
{
	uint16_t p = UINT16_MAX;
	EXPECT_EQ(tarn_eth_dev_create(spec.c_str(), &p), 0) << spec << "\n" << Log::all();
	return p;
}

void bring_up(uint16_t port, struct tarn_mempool *mp)
{
	ASSERT_EQ(tarn_eth_dev_configure(port, 1, 1, nullptr), 0) << Log::all();
	ASSERT_EQ(tarn_eth_tx_queue_setup(port, 0, 0, TARN_SOCKET_ANY), 0) << Log::all();
	ASSERT_EQ(tarn_eth_rx_queue_setup(port, 0, 0, TARN_SOCKET_ANY, mp), 0) << Log::all();
	ASSERT_EQ(tarn_eth_dev_start(port), 0) << Log::all();
}

// Receive until `max` packets or a burst returns 0; the mbufs go to `out`
// when given, else are freed.
std::vector<Bytes> rx_all(uint16_t port, size_t max = SIZE_MAX,
                          std::vector<struct tarn_mbuf *> *out = nullptr)
{
	std::vector<Bytes> got;
	while (got.size() < max) {
		struct tarn_mbuf *pkts[32];
		uint16_t want = (uint16_t)std::min<size_t>(32, max - got.size());
		uint16_t n = tarn_eth_rx_burst(port, 0, pkts, want);
		if (n == 0)
			break;
		for (uint16_t i = 0; i < n; i++) {
			got.push_back(mbuf_bytes(pkts[i]));
			EXPECT_EQ(tarn_mbuf_check(pkts[i], 1, nullptr), 0);
			if (out != nullptr)
				out->push_back(pkts[i]);
			else
				tarn_pktmbuf_free(pkts[i]);
		}
	}
	return got;
}

struct tarn_eth_stats stats(uint16_t port)
{
	struct tarn_eth_stats st = {};
	EXPECT_EQ(tarn_eth_stats_get(port, &st), 0);
	return st;
}

// The packets of a pcap file, read with libpcap (an independent reader).
struct Rec {
	Bytes data;
	uint32_t len;
};
std::vector<Rec> read_with_libpcap(const std::string &path)
{
	std::vector<Rec> v;
	char err[PCAP_ERRBUF_SIZE];
	pcap_t *p = pcap_open_offline(path.c_str(), err);
	EXPECT_NE(p, nullptr) << err;
	if (p == nullptr)
		return v;
	EXPECT_EQ(pcap_datalink(p), DLT_EN10MB);
	struct pcap_pkthdr *h;
	const u_char *d;
	int rc;
	while ((rc = pcap_next_ex(p, &h, &d)) == 1)
		v.push_back({ Bytes(d, d + h->caplen), h->len });
	EXPECT_EQ(rc, PCAP_ERROR_BREAK) << pcap_geterr(p);
	pcap_close(p);
	return v;
}

class Pcap : public ::testing::Test
{
      protected:
	void SetUp() override
	{
		Log::clear();
		ASSERT_EQ(tarn_eth_dev_count(), 0u);
	}
	void TearDown() override
	{
		close_all_ports();
	}
};

// ---------------------------------------------------------------------------
// Replay

TEST_F(Pcap, ReplaysEveryByteOfEveryPacket)
{
	TmpDir dir;
	Pool pool;
	// 2048 fills an mbuf exactly, 2049 needs two, 9000 five.
	const std::vector<size_t> sizes = { 60, 64, 14, 1514, 2048, 2049, 3000, 9000, 1 };
	PcapFile f;
	f.header();
	uint64_t total = 0;
	for (size_t i = 0; i < sizes.size(); i++) {
		f.rec(1700000000 + (uint32_t)i, (uint32_t)(i * 1000), frame(sizes[i], (uint32_t)i));
		total += sizes[i];
	}
	// A truncated capture: 100 of 1500 bytes.
	f.rec(1700000100, 5, frame(100, 77), 1500);
	uint16_t p = create("pcap:rx_pcap=" + f.write(dir / "in.pcap"));
	bring_up(p, pool.mp);
	std::vector<struct tarn_mbuf *> ms;
	auto got = rx_all(p, SIZE_MAX, &ms);
	ASSERT_EQ(got.size(), sizes.size() + 1) << Log::all();
	for (size_t i = 0; i < sizes.size(); i++) {
		EXPECT_EQ(got[i], frame(sizes[i], (uint32_t)i)) << "packet " << i;
		EXPECT_EQ(ms[i]->pkt_len, sizes[i]);
		EXPECT_EQ(ms[i]->nb_segs, (sizes[i] + 2047) / 2048) << "packet " << i;
		EXPECT_EQ(ms[i]->port, p);
		EXPECT_TRUE(ms[i]->ol_flags & TARN_MBUF_F_RX_TIMESTAMP);
		EXPECT_FALSE(ms[i]->ol_flags & TARN_MBUF_F_RX_TRUNCATED);
		EXPECT_EQ(ms[i]->timestamp, (1700000000ull + i) * 1000000000ull + i * 1000000ull);
	}
	EXPECT_EQ(got.back(), frame(100, 77));
	EXPECT_TRUE(ms.back()->ol_flags & TARN_MBUF_F_RX_TRUNCATED);
	tarn_pktmbuf_free_bulk(ms.data(), (unsigned)ms.size());
	struct tarn_mbuf *m;
	EXPECT_EQ(tarn_eth_rx_burst(p, 0, &m, 1), 0) << "loop=1 (default): one pass";
	struct tarn_eth_stats st = stats(p);
	EXPECT_EQ(st.ipackets, sizes.size() + 1);
	EXPECT_EQ(st.ibytes, total + 100);
	EXPECT_EQ(st.ierrors, 0u);
	EXPECT_EQ(st.rx_nombuf, 0u);
}

TEST_F(Pcap, ReadsBothByteOrdersAndNanosecondTimestamps)
{
	TmpDir dir;
	Pool pool;
	struct Kind {
		uint32_t magic;
		bool swapped;
		uint64_t mult;
	};
	const Kind kinds[] = { { 0xa1b2c3d4, true, 1000 },
		               { 0xa1b23c4d, false, 1 },
		               { 0xa1b23c4d, true, 1 } };
	int k = 0;
	for (const Kind &kd : kinds) {
		PcapFile f;
		f.header(kd.magic, kd.swapped);
		f.rec(10, 999, frame(60, 1)).rec(11, 5, frame(1514, 2));
		uint16_t p = create("pcap:rx_pcap=" + f.write(dir / ("k" + std::to_string(k++))));
		bring_up(p, pool.mp);
		std::vector<struct tarn_mbuf *> ms;
		auto got = rx_all(p, SIZE_MAX, &ms);
		ASSERT_EQ(got.size(), 2u) << Log::all();
		EXPECT_EQ(got[0], frame(60, 1));
		EXPECT_EQ(got[1], frame(1514, 2));
		EXPECT_EQ(ms[0]->timestamp, 10ull * 1000000000ull + 999 * kd.mult);
		tarn_pktmbuf_free_bulk(ms.data(), 2);
		ASSERT_EQ(tarn_eth_dev_close(p), 0);
	}
}

TEST_F(Pcap, LoopNGivesNTimesThePacketsAndLoopZeroNeverEnds)
{
	TmpDir dir;
	Pool pool;
	PcapFile f;
	f.header();
	for (uint32_t i = 0; i < 5; i++)
		f.rec(i, 0, frame(60 + i, i));
	const std::string path = f.write(dir / "in.pcap");

	uint16_t p = create("pcap:rx_pcap=" + path + ",loop=3");
	bring_up(p, pool.mp);
	auto got = rx_all(p);
	ASSERT_EQ(got.size(), 15u);
	for (size_t i = 0; i < got.size(); i++)
		EXPECT_EQ(got[i], frame(60 + i % 5, (uint32_t)(i % 5))) << i;
	EXPECT_EQ(rx_all(p).size(), 0u);
	EXPECT_EQ(stats(p).ipackets, 15u);
	EXPECT_EQ(stats(p).ibytes, 3u * (60 + 61 + 62 + 63 + 64));
	ASSERT_EQ(tarn_eth_dev_close(p), 0);

	p = create("pcap:rx_pcap=" + path + ",loop=0");
	bring_up(p, pool.mp);
	size_t n = 0;
	for (int round = 0; round < 100; round++)
		n += rx_all(p, 7).size();
	EXPECT_EQ(n, 700u) << "forever";
}

TEST_F(Pcap, RecordedRateHoldsPacketsUntilTheirTime)
{
	TmpDir dir;
	Pool pool;
	PcapFile f;
	f.header();
	f.rec(1000, 0, frame(60, 1)).rec(1000 + 3600, 0, frame(60, 2));
	uint16_t p = create("pcap:rx_pcap=" + f.write(dir / "hour.pcap") + ",rate=recorded");
	bring_up(p, pool.mp);
	EXPECT_EQ(rx_all(p).size(), 1u);
	EXPECT_EQ(rx_all(p).size(), 0u) << "the second one is an hour later";
	ASSERT_EQ(tarn_eth_dev_close(p), 0);

	// 0, 50 and 100 ms: all three come, each not sooner than its recorded
	// time after the first burst (the replay's clock starts there, after t0:
	// so packet i returned before t0 + i * 50 ms would be early).
	PcapFile g;
	g.header(0xa1b23c4d);
	for (uint32_t i = 0; i < 3; i++)
		g.rec(5, i * 50000000u, frame(64, i));
	p = create("pcap:rx_pcap=" + g.write(dir / "ms.pcap") + ",rate=recorded");
	bring_up(p, pool.mp);
	const auto t0 = std::chrono::steady_clock::now();
	std::vector<Bytes> got;
	std::vector<std::chrono::steady_clock::duration> at;
	while (got.size() < 3 && std::chrono::steady_clock::now() - t0 < std::chrono::seconds(10)) {
		auto v = rx_all(p);
		const auto now = std::chrono::steady_clock::now() - t0;
		got.insert(got.end(), v.begin(), v.end());
		at.insert(at.end(), v.size(), now);
		std::this_thread::sleep_for(std::chrono::milliseconds(1));
	}
	ASSERT_EQ(got.size(), 3u);
	for (uint32_t i = 0; i < 3; i++) {
		EXPECT_EQ(got[i], frame(64, i));
		EXPECT_GE(at[i], std::chrono::milliseconds(50 * i))
		    << "packet " << i << " came "
		    << std::chrono::duration_cast<std::chrono::microseconds>(at[i]).count()
		    << " us after the first burst, before its recorded time";
	}
}

TEST_F(Pcap, NombufKeepsThePacketForTheNextBurst)
{
	TmpDir dir;
	PcapFile f;
	f.header();
	f.rec(1, 0, frame(5000, 1)).rec(2, 0, frame(60, 2));
	const std::string path = f.write(dir / "in.pcap");
	{
		Pool pool(3);
		uint16_t p = create("pcap:rx_pcap=" + path);
		bring_up(p, pool.mp);
		// 5000 bytes take all three mbufs; the 60-byte packet finds none.
		struct tarn_mbuf *ms[32];
		ASSERT_EQ(tarn_eth_rx_burst(p, 0, ms, 32), 1);
		EXPECT_EQ(ms[0]->nb_segs, 3);
		EXPECT_EQ(mbuf_bytes(ms[0]), frame(5000, 1));
		EXPECT_EQ(stats(p).rx_nombuf, 1u);
		tarn_pktmbuf_free(ms[0]);
		auto got = rx_all(p);
		ASSERT_EQ(got.size(), 1u);
		EXPECT_EQ(got[0], frame(60, 2));
		EXPECT_EQ(stats(p).ipackets, 2u);
		EXPECT_EQ(stats(p).ibytes, 5060u);
		EXPECT_EQ(stats(p).rx_nombuf, 1u);
	}
	{
		// Too few mbufs left for the first packet (the application
		// holds one of the three): nothing is lost while the port
		// waits; once the mbuf is back the packet comes. (A packet the
		// whole pool cannot hold is not waited for:
		// AFrameThePoolCanNeverHoldIsSkipped.)
		Pool small(3);
		struct tarn_mbuf *held = tarn_pktmbuf_alloc(small.mp);
		ASSERT_NE(held, nullptr);
		uint16_t p = create("pcap:rx_pcap=" + path);
		bring_up(p, small.mp);
		EXPECT_EQ(rx_all(p).size(), 0u);
		EXPECT_EQ(rx_all(p).size(), 0u);
		EXPECT_EQ(stats(p).rx_nombuf, 2u);
		tarn_pktmbuf_free(held);
		auto got = rx_all(p, 1);
		ASSERT_EQ(got.size(), 1u);
		EXPECT_EQ(got[0], frame(5000, 1));
		got = rx_all(p);
		ASSERT_EQ(got.size(), 1u);
		EXPECT_EQ(got[0], frame(60, 2));
		EXPECT_EQ(stats(p).ierrors, 0u);
		close_all_ports();
	}
}

// ---------------------------------------------------------------------------
// Transmit

TEST_F(Pcap, WritesTxToAFileFlushedAtStop)
{
	TmpDir dir;
	Pool pool;
	const std::string out = dir / "out.pcap";
	uint16_t p = create("pcap:tx_pcap=" + out);
	bring_up(p, pool.mp);
	std::vector<Bytes> frames = { frame(60, 1), frame(1514, 2), frame(5000, 3), frame(14, 4) };
	std::vector<struct tarn_mbuf *> ms;
	for (auto &fr : frames) {
		// As chains of at most 2000-byte segments.
		struct tarn_mbuf *head = nullptr;
		for (size_t off = 0; off < fr.size(); off += 2000) {
			size_t l = std::min<size_t>(2000, fr.size() - off);
			struct tarn_mbuf *m = tarn_pktmbuf_alloc(pool.mp);
			ASSERT_NE(m, nullptr);
			memcpy(tarn_pktmbuf_append(m, (uint16_t)l), fr.data() + off, l);
			if (head == nullptr)
				head = m;
			else
				ASSERT_EQ(tarn_pktmbuf_chain(head, m), 0);
		}
		ms.push_back(head);
	}
	ASSERT_EQ(tarn_eth_tx_burst(p, 0, ms.data(), (uint16_t)ms.size()), ms.size());
	ASSERT_EQ(tarn_eth_dev_stop(p), 0);
	auto recs = read_with_libpcap(out);
	ASSERT_EQ(recs.size(), frames.size());
	for (size_t i = 0; i < frames.size(); i++) {
		EXPECT_EQ(recs[i].data, frames[i]) << i;
		EXPECT_EQ(recs[i].len, frames[i].size());
	}
	struct tarn_eth_stats st = stats(p);
	EXPECT_EQ(st.opackets, 4u);
	EXPECT_EQ(st.obytes, 60u + 1514 + 5000 + 14);
	EXPECT_EQ(st.oerrors, 0u);
	// RX of a TX-only port receives nothing.
	struct tarn_mbuf *m;
	ASSERT_EQ(tarn_eth_dev_start(p), 0);
	EXPECT_EQ(tarn_eth_rx_burst(p, 0, &m, 1), 0);
}

TEST_F(Pcap, TxWithoutASinkFreesAndCounts)
{
	TmpDir dir;
	Pool pool;
	PcapFile f;
	f.header();
	f.rec(1, 0, frame(60, 1));
	uint16_t p = create("pcap:rx_pcap=" + f.write(dir / "in.pcap"));
	bring_up(p, pool.mp);
	struct tarn_mbuf *ms[3];
	for (auto &m : ms) {
		m = tarn_pktmbuf_alloc(pool.mp);
		tarn_pktmbuf_append(m, 100);
	}
	EXPECT_EQ(tarn_eth_tx_burst(p, 0, ms, 3), 3);
	EXPECT_EQ(stats(p).opackets, 3u);
	EXPECT_EQ(stats(p).obytes, 300u);
}

// The round trip: replay a file through tarn-fwd into a tx_pcap file.
TEST_F(Pcap, TarnFwdReplaysAFileIntoAnotherByteForByte)
{
	TmpDir dir;
	PcapFile f;
	f.header();
	std::vector<Bytes> in;
	for (uint32_t i = 0; i < 200; i++) {
		in.push_back(frame(60 + (i * 97) % 2900, i)); // up to 2959: some chains
		f.rec(100 + i, i, in.back());
	}
	const std::string inp = f.write(dir / "in.pcap"), outp = dir / "out.pcap";
	const std::string err = dir / "fwd.err";
	const bool two = sysconf(_SC_NPROCESSORS_ONLN) >= 2;
	const std::string cmd = std::string(TARN_FWD) + " --file-prefix tarn-test-pcap-fwd-" +
	                        std::to_string(getpid()) + " --lcores " + (two ? "0,1" : "0") +
	                        " --port pcap:rx_pcap=" + inp +
	                        ",loop=2 --port pcap:tx_pcap=" + outp +
	                        " --fwd io --duration 1 --stats-period 0 --json 2>" + err;
	std::string out;
	FILE *pp = popen(cmd.c_str(), "r");
	ASSERT_NE(pp, nullptr);
	char buf[4096];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), pp)) > 0)
		out.append(buf, n);
	int st = pclose(pp);
	ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << out << Log::all();
	EXPECT_NE(out.find("\"leaked\":0"), std::string::npos) << out;
	auto recs = read_with_libpcap(outp);
	ASSERT_EQ(recs.size(), 2 * in.size()) << out;
	for (size_t i = 0; i < recs.size(); i++) {
		EXPECT_EQ(recs[i].data, in[i % in.size()]) << "packet " << i;
		EXPECT_EQ(recs[i].len, in[i % in.size()].size());
	}
}

// ---------------------------------------------------------------------------
// Hostile files

TEST_F(Pcap, HostileFilesAreRefusedWithAClearError)
{
	TmpDir dir;
	struct Case {
		const char *name;
		PcapFile file;
		const char *log;
	};
	std::vector<Case> cases;
	auto add = [&](const char *name, PcapFile f, const char *log) {
		cases.push_back({ name, f, log });
	};
	PcapFile f;
	add("empty", f, "empty file");
	f.b = { 0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0 };
	add("truncated-header", f, "truncated file header (10 of 24 bytes)");
	add("wrong-magic", PcapFile().header(0x12345678), "bad magic 0x12345678");
	add("pcapng", PcapFile().header(0x0a0d0d0a), "pcapng");
	add("version", PcapFile().header(0xa1b2c3d4, false, 65535, 1, 3), "version 3.4");
	add("huge-snaplen", PcapFile().header(0xa1b2c3d4, false, 0xffffffffu),
	    "snaplen 4294967295");
	add("huge-snaplen-swapped", PcapFile().header(0xa1b2c3d4, true, 262145), "snaplen 262145");
	add("linktype", PcapFile().header(0xa1b2c3d4, false, 65535, 113), "link type 113");
	f = PcapFile();
	f.header().rec(1, 0, frame(60, 1));
	f.b.resize(24 + 16 + 60 + 10); // a second record header cut at 10 bytes
	add("truncated-record-header", f, "record 1 at offset 100: truncated header (10 of 16");
	f = PcapFile();
	f.header().rec(1, 0, frame(100, 1));
	f.b.resize(f.b.size() - 50);
	add("truncated-record", f, "record 0 at offset 24: truncated: caplen 100 but 50 bytes");
	f = PcapFile();
	f.header().rec(1, 0, frame(60, 1), 0xffffffffu, 0xffffffffu);
	add("caplen-ffffffff", f, "caplen 4294967295 is larger than the file's snaplen 65535");
	f = PcapFile();
	f.header(0xa1b2c3d4, false, 100).rec(1, 0, frame(200, 1));
	add("caplen-over-snaplen", f, "caplen 200 is larger than the file's snaplen 100");
	f = PcapFile();
	f.header().rec(1, 0, frame(60, 1), 40);
	add("caplen-over-len", f, "caplen 60 is larger than the packet's length 40");
	f = PcapFile();
	f.header().rec(1, 0, frame(60, 1)).rec(2, 0, frame(300000, 2));
	add("caplen-over-max", f, "record 1 at offset 100: caplen 300000");

	uint16_t p = UINT16_MAX;
	for (auto &c : cases) {
		Log::clear();
		const std::string path = c.file.write(dir / c.name);
		EXPECT_EQ(tarn_eth_dev_create(("pcap:rx_pcap=" + path).c_str(), &p), -EINVAL)
		    << c.name;
		EXPECT_TRUE(Log::contains(c.log)) << c.name << ": " << Log::all();
		EXPECT_TRUE(Log::contains(path)) << "the log names the file";
	}
	Log::clear();
	EXPECT_EQ(tarn_eth_dev_create(("pcap:rx_pcap=" + dir / "missing").c_str(), &p), -ENOENT);
	EXPECT_TRUE(Log::contains("cannot open")) << Log::all();
	EXPECT_EQ(tarn_eth_dev_create(("pcap:rx_pcap=" + dir.path).c_str(), &p), -EINVAL);
	EXPECT_TRUE(Log::contains("not a regular file")) << Log::all();
	EXPECT_EQ(p, UINT16_MAX);
	EXPECT_EQ(tarn_eth_dev_count(), 0u);
}

// Random damage to a valid file: create refuses it (-EINVAL) or it replays;
// never a crash, an overflow (ASan) or a leak.
TEST_F(Pcap, CorruptedFilesNeverCrash)
{
	TmpDir dir;
	Pool pool(256);
	PcapFile good;
	good.header();
	for (uint32_t i = 0; i < 8; i++)
		good.rec(i, i, frame(20 + i * 700, i));
	std::mt19937 rng(12345);
	int refused = 0, replayed = 0;
	for (int it = 0; it < 300; it++) {
		PcapFile f = good;
		const int kind = it % 3;
		if (kind == 0 || kind == 2) {
			int flips = 1 + (int)(rng() % 4);
			for (int k = 0; k < flips; k++) {
				// Mostly in the headers, where damage matters.
				size_t at = rng() % 2 ? rng() % 24 : rng() % f.b.size();
				f.b[at] ^= (uint8_t)(1u << (rng() % 8));
			}
		}
		if (kind >= 1)
			f.b.resize(rng() % (f.b.size() + 1));
		const std::string path = f.write(dir / "fuzz.pcap");
		uint16_t p;
		int rc = tarn_eth_dev_create(("pcap:rx_pcap=" + path).c_str(), &p);
		if (rc != 0) {
			EXPECT_EQ(rc, -EINVAL) << "iteration " << it;
			refused++;
			continue;
		}
		replayed++;
		bring_up(p, pool.mp);
		for (auto &b : rx_all(p))
			EXPECT_LE(b.size(), 65535u);
		ASSERT_EQ(tarn_eth_dev_close(p), 0);
	}
	EXPECT_GT(refused, 0);
	EXPECT_GT(replayed, 0);
}

// The file shrinks after create: the bad record counts one ierror and ends
// the pass.
TEST_F(Pcap, FileTruncatedAfterCreateCountsAnError)
{
	TmpDir dir;
	Pool pool;
	PcapFile f;
	f.header();
	for (uint32_t i = 0; i < 10; i++)
		f.rec(i, 0, frame(100, i));
	const std::string path = f.write(dir / "in.pcap");
	uint16_t p = create("pcap:rx_pcap=" + path + ",loop=2");
	ASSERT_EQ(truncate(path.c_str(), 24 + 4 * 116 + 50), 0); // inside record 4
	bring_up(p, pool.mp);
	auto got = rx_all(p);
	got = rx_all(p); // the second pass, after the burst that hit the error
	struct tarn_eth_stats st = stats(p);
	EXPECT_EQ(st.ipackets, 8u) << "4 good records, twice";
	EXPECT_EQ(st.ierrors, 2u) << "one per pass";
	EXPECT_TRUE(Log::contains("the file changed since the port was created")) << Log::all();
}

// ---------------------------------------------------------------------------
// Spec errors

TEST_F(Pcap, BadSpecsAreRefusedWithAReason)
{
	TmpDir dir;
	PcapFile f;
	f.header().rec(1, 0, frame(60, 1));
	const std::string in = f.write(dir / "in.pcap");
	struct Case {
		std::string spec;
		int rc;
		const char *log;
	};
	const std::vector<Case> cases = {
		{ "pcap", -EINVAL, "needs rx_pcap=FILE, tx_pcap=FILE or iface=NAME" },
		{ "pcap:iface=lo,rx_pcap=" + in, -EINVAL, "iface excludes" },
		{ "pcap:tx_pcap=" + dir / "o.pcap" + ",loop=2", -EINVAL, "go with rx_pcap" },
		{ "pcap:rx_pcap=" + in + ",rate=fast", -EINVAL, "expected max or recorded" },
		{ "pcap:rx_pcap=" + in + ",loop=x", -EINVAL, "loop" },
		{ "pcap:rx_pcap=" + in + ",tx_pcap=" + in, -EINVAL, "tx_pcap is the rx_pcap file" },
		{ "pcap:tx_pcap=" + dir / "nodir/o.pcap", -ENOENT, "cannot create" },
		{ "pcap:iface=abcdefghijklmnopq", -EINVAL, "longer than 15" },
	};
	for (const auto &c : cases) {
		Log::clear();
		uint16_t p;
		EXPECT_EQ(tarn_eth_dev_create(c.spec.c_str(), &p), c.rc) << c.spec;
		EXPECT_TRUE(Log::contains(c.log)) << c.spec << ": " << Log::all();
	}
	if (geteuid() == 0) {
		uint16_t p;
		Log::clear();
		EXPECT_EQ(tarn_eth_dev_create("pcap:iface=tarnnosuchif0", &p), -ENODEV);
		EXPECT_TRUE(Log::contains("no such interface")) << Log::all();
	}
	EXPECT_EQ(read_with_libpcap(in).size(), 1u) << "rx_pcap left intact";
	EXPECT_EQ(tarn_eth_dev_count(), 0u);

	// One queue each way.
	uint16_t p = create("pcap:rx_pcap=" + in);
	EXPECT_EQ(tarn_eth_dev_configure(p, 2, 1, nullptr), -EINVAL);
	EXPECT_EQ(tarn_eth_dev_configure(p, 1, 2, nullptr), -EINVAL);
}

// ---------------------------------------------------------------------------
// Issue 17: other ports' files, full disks, FIFOs, frames the pool cannot
// hold, truncated records written out

Bytes slurp(const std::string &path)
{
	Bytes b;
	FILE *f = fopen(path.c_str(), "rb");
	if (f == nullptr)
		return b;
	uint8_t buf[65536];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		b.insert(b.end(), buf, buf + n);
	fclose(f);
	return b;
}

// Record lengths of a pcap file written by tarn (native order), and whether
// it ends on a whole record: what libpcap would call a truncated dump file.
struct Walk {
	size_t records = 0;
	bool whole = true;
};
Walk walk(const Bytes &b)
{
	Walk w;
	size_t off = 24;
	if (b.size() < 24) {
		w.whole = false;
		return w;
	}
	while (off < b.size()) {
		uint32_t caplen;
		if (off + 16 > b.size()) {
			w.whole = false;
			break;
		}
		memcpy(&caplen, b.data() + off + 8, 4);
		if (off + 16 + caplen > b.size()) {
			w.whole = false;
			break;
		}
		off += 16 + caplen;
		w.records++;
	}
	return w;
}

// A packet of `fr`'s bytes in one mbuf of `mp` (2048 bytes of room at most).
struct tarn_mbuf *one_mbuf(struct tarn_mempool *mp, const Bytes &fr)
{
	struct tarn_mbuf *m = tarn_pktmbuf_alloc(mp);
	EXPECT_NE(m, nullptr);
	if (m != nullptr)
		memcpy(tarn_pktmbuf_append(m, (uint16_t)fr.size()), fr.data(), fr.size());
	return m;
}

// Issue 17: "--port pcap:rx_pcap=x.pcap --port pcap:tx_pcap=x.pcap truncates
// the input capture to 24 bytes; two ports with the same tx_pcap write a
// corrupt file". A file is the same file by device and inode, whatever
// name reaches it (the name itself, a hard link, a symbolic link): a
// tx_pcap that is a file another port reads or writes, or an rx_pcap that
// another port writes, is refused before anything is truncated.
TEST_F(Pcap, AFileOfAnotherPortIsNeverWrittenOver)
{
	TmpDir dir;
	PcapFile f;
	f.header().rec(1, 0, frame(60, 1)).rec(2, 0, frame(70, 2));
	const std::string in = f.write(dir / "in.pcap"), hard = dir / "hard.pcap",
	                  sym = dir / "sym.pcap";
	ASSERT_EQ(link(in.c_str(), hard.c_str()), 0);
	ASSERT_EQ(symlink(in.c_str(), sym.c_str()), 0);
	uint16_t reader = create("pcap:rx_pcap=" + in);
	uint16_t p = UINT16_MAX;
	for (const std::string &name : { in, hard, sym }) {
		Log::clear();
		EXPECT_EQ(tarn_eth_dev_create(("pcap:tx_pcap=" + name).c_str(), &p), -EINVAL)
		    << name;
		EXPECT_TRUE(Log::contains("tx_pcap " + name + " is the file port " +
		                          std::to_string(reader) + " reads (rx_pcap)"))
		    << Log::all();
		// the same port, through a link: refused as before
		EXPECT_EQ(
		    tarn_eth_dev_create(("pcap:rx_pcap=" + in + ",tx_pcap=" + name).c_str(), &p),
		    -EINVAL)
		    << name;
		EXPECT_EQ(slurp(in), f.b) << "the input was written over through " << name;
	}
	EXPECT_EQ(tarn_eth_dev_count(), 1u);

	// Two writers of one file; a reader of a file a port writes.
	const std::string out = dir / "out.pcap", out_sym = dir / "out-sym.pcap";
	ASSERT_EQ(symlink(out.c_str(), out_sym.c_str()), 0);
	uint16_t writer = create("pcap:tx_pcap=" + out);
	for (const std::string &name : { out, out_sym }) {
		Log::clear();
		EXPECT_EQ(tarn_eth_dev_create(("pcap:tx_pcap=" + name).c_str(), &p), -EINVAL)
		    << name;
		EXPECT_TRUE(Log::contains("tx_pcap " + name + " is the file port " +
		                          std::to_string(writer) + " writes (tx_pcap)"))
		    << Log::all();
		Log::clear();
		EXPECT_EQ(tarn_eth_dev_create(("pcap:rx_pcap=" + name).c_str(), &p), -EINVAL)
		    << name;
		EXPECT_TRUE(Log::contains("rx_pcap " + name + " is the file port " +
		                          std::to_string(writer) + " writes (tx_pcap)"))
		    << Log::all();
	}
	EXPECT_EQ(tarn_eth_dev_count(), 2u);
	// Closed, the files are free again.
	ASSERT_EQ(tarn_eth_dev_close(writer), 0);
	ASSERT_EQ(tarn_eth_dev_close(reader), 0);
	uint16_t w2 = create("pcap:tx_pcap=" + out_sym);
	ASSERT_EQ(tarn_eth_dev_close(w2), 0);
	uint16_t rw = create("pcap:rx_pcap=" + hard + ",tx_pcap=" + out);
	EXPECT_EQ(tarn_eth_dev_close(rw), 0);
}

// Issue 17: "on a full filesystem, tx_pcap counted 916 packets sent with 862
// in the file at burst 1, and at burst 32 the last record was cut". A
// packet is counted in opackets only once it is in the file; what a write
// error kept out is refused (the caller keeps it) and counted in oerrors;
// the file ends on a whole record; stop says the output was lost (-EIO).
// The full disk is RLIMIT_FSIZE here (EFBIG, with SIGXFSZ ignored): no
// root needed, and the cut falls inside a record, where the test puts it.
TEST_F(Pcap, AWriteErrorLosesNoCountAndLeavesWholeRecords)
{
	TmpDir dir;
	Pool pool;
	struct Restore {
		struct rlimit rl;
		void (*sig)(int);
		Restore()
		{
			getrlimit(RLIMIT_FSIZE, &rl);
			sig = signal(SIGXFSZ, SIG_IGN);
		}
		~Restore()
		{
			setrlimit(RLIMIT_FSIZE, &rl);
			signal(SIGXFSZ, sig);
		}
	} restore;
	const Bytes fr = frame(1000, 9);
	for (unsigned burst : { 1u, 32u }) {
		SCOPED_TRACE("burst " + std::to_string(burst));
		const std::string out = dir / ("out" + std::to_string(burst) + ".pcap");
		uint16_t p = create("pcap:tx_pcap=" + out);
		bring_up(p, pool.mp);
		// room for 5 records and half of a sixth
		struct rlimit rl = restore.rl;
		rl.rlim_cur = 24 + 5 * (16 + 1000) + 500;
		ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &rl), 0);
		uint64_t sent = 0, offered = 0;
		for (int round = 0; round < 8; round++) {
			struct tarn_mbuf *ms[32];
			for (unsigned i = 0; i < burst; i++)
				ms[i] = one_mbuf(pool.mp, fr);
			const uint16_t n = tarn_eth_tx_burst(p, 0, ms, (uint16_t)burst);
			tarn_pktmbuf_free_bulk(ms + n, burst - n); // refused: ours
			sent += n;
			offered += burst;
		}
		ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &restore.rl), 0);
		EXPECT_EQ(sent, 5u) << "taken: only the packets written";
		struct tarn_eth_stats st = stats(p);
		EXPECT_EQ(st.opackets, 5u);
		EXPECT_EQ(st.obytes, 5000u);
		EXPECT_EQ(st.oerrors, offered - 5);
		EXPECT_TRUE(Log::contains("tx_pcap " + out)) << Log::all();
		EXPECT_EQ(tarn_eth_dev_stop(p), -EIO) << "stop says the output was lost";
		const Bytes b = slurp(out);
		const Walk w = walk(b);
		EXPECT_TRUE(w.whole) << "the file ends inside a record: " << b.size() << " bytes";
		EXPECT_EQ(w.records, 5u);
		EXPECT_EQ(b.size(), 24u + 5 * 1016);
		EXPECT_EQ(read_with_libpcap(out).size(), 5u);
		EXPECT_EQ(tarn_eth_dev_close(p), -EIO) << "and close says it again";
	}
}

// Issue 17: "rx_pcap naming a FIFO (or a symlink to one) blocks forever in
// open()". It is refused at once, -EINVAL; tx_pcap on a FIFO too. Should
// the open block, a helper thread opens the other end after 5 s (so the
// test fails instead of hanging).
TEST_F(Pcap, AFifoIsRefusedWithoutBlocking)
{
	TmpDir dir;
	const std::string fifo = dir / "fifo", sym = dir / "fifo-sym";
	ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
	ASSERT_EQ(symlink(fifo.c_str(), sym.c_str()), 0);
	struct Case {
		std::string spec;
		int unblock_flags; // how the helper opens the other end
	};
	const Case cases[] = { { "pcap:rx_pcap=" + fifo, O_WRONLY },
		               { "pcap:rx_pcap=" + sym, O_WRONLY },
		               { "pcap:tx_pcap=" + fifo, O_RDONLY } };
	// a writer whose reader went away (the old code) must not kill the test
	struct NoSigpipe {
		void (*old)(int) = signal(SIGPIPE, SIG_IGN);
		~NoSigpipe()
		{
			signal(SIGPIPE, old);
		}
	} nosigpipe;
	for (const Case &c : cases) {
		Log::clear();
		std::atomic<bool> done{ false };
		std::thread unblock([&] {
			for (int i = 0; i < 500 && !done; i++)
				std::this_thread::sleep_for(std::chrono::milliseconds(10));
			if (!done) {
				int fd = open(fifo.c_str(), c.unblock_flags | O_NONBLOCK);
				std::this_thread::sleep_for(std::chrono::milliseconds(200));
				if (fd >= 0)
					close(fd);
			}
		});
		const auto t0 = std::chrono::steady_clock::now();
		uint16_t p = UINT16_MAX;
		const int rc = tarn_eth_dev_create(c.spec.c_str(), &p);
		const auto took = std::chrono::steady_clock::now() - t0;
		done = true;
		unblock.join();
		EXPECT_LT(took, std::chrono::seconds(4)) << c.spec << ": create blocked";
		EXPECT_EQ(rc, -EINVAL) << c.spec;
		EXPECT_TRUE(Log::contains("not a regular file (a FIFO)")) << Log::all();
		if (rc == 0)
			tarn_eth_dev_close(p);
	}
}

// Issue 17: "a packet bigger than the whole pool can hold (--mbufs 100 and a
// 262143-byte frame) blocks a pcap replay forever with rx_nombuf climbing".
// A record that needs more mbufs than the pool has is skipped, one ierror
// each time the replay meets it, logged once with what to change.
TEST_F(Pcap, AFrameThePoolCanNeverHoldIsSkipped)
{
	TmpDir dir;
	Pool pool(100);
	PcapFile f;
	f.header(0xa1b2c3d4, false, 262144);
	f.rec(1, 0, frame(60, 1)).rec(2, 0, frame(262143, 2)).rec(3, 0, frame(61, 3));
	uint16_t p = create("pcap:rx_pcap=" + f.write(dir / "big.pcap") + ",loop=2");
	bring_up(p, pool.mp);
	std::vector<Bytes> got;
	for (int i = 0; i < 10; i++) {
		auto v = rx_all(p);
		got.insert(got.end(), v.begin(), v.end());
	}
	const std::vector<Bytes> want = { frame(60, 1), frame(61, 3), frame(60, 1), frame(61, 3) };
	EXPECT_EQ(got, want);
	struct tarn_eth_stats st = stats(p);
	EXPECT_EQ(st.ierrors, 2u) << "once per pass";
	EXPECT_EQ(st.rx_nombuf, 0u) << "not a wait: it can never fit";
	EXPECT_TRUE(Log::contains("262143 bytes need 128 mbufs of 2048 bytes, the pool has 100"))
	    << Log::all();
	EXPECT_TRUE(Log::contains("a pool of at least 128 mbufs")) << Log::all();
}

// Issue 17: "a truncated record replayed to tx_pcap is written with its
// captured length as its original length". It keeps its original length.
TEST_F(Pcap, ATruncatedRecordKeepsItsOriginalLengthWhenWritten)
{
	TmpDir dir;
	Pool pool;
	PcapFile f;
	f.header(0xa1b2c3d4, false, 128);
	f.rec(1, 0, frame(100, 1), 1500).rec(2, 0, frame(60, 2));
	const std::string out = dir / "out.pcap";
	uint16_t p = create("pcap:rx_pcap=" + f.write(dir / "in.pcap") + ",tx_pcap=" + out);
	bring_up(p, pool.mp);
	struct tarn_mbuf *ms[4];
	ASSERT_EQ(tarn_eth_rx_burst(p, 0, ms, 4), 2);
	EXPECT_EQ(ms[0]->pkt_len, 100u);
	EXPECT_TRUE(ms[0]->ol_flags & TARN_MBUF_F_RX_TRUNCATED);
	EXPECT_EQ(ms[0]->hash.orig_len, 1500u) << "the length on the wire, with the mbuf";
	EXPECT_FALSE(ms[1]->ol_flags & TARN_MBUF_F_RX_TRUNCATED);
	ASSERT_EQ(tarn_eth_tx_burst(p, 0, ms, 2), 2);
	ASSERT_EQ(tarn_eth_dev_stop(p), 0);
	auto recs = read_with_libpcap(out);
	ASSERT_EQ(recs.size(), 2u);
	EXPECT_EQ(recs[0].data, frame(100, 1));
	EXPECT_EQ(recs[0].len, 1500u) << "the original length";
	EXPECT_EQ(recs[1].len, 60u);
}

// The same cases through tarn-fwd: a refused port is a bad port spec (exit
// 2) and the input is intact; a full disk (a 64 KiB tmpfs in a private
// mount namespace) exits 1 saying that output was lost, with the file
// whole and the counters matching it.
struct FwdRun {
	int code;
	std::string out, err;
};
// tarn-fwd ARGS, its stderr in a file of `dir`; `pre` and `post` around it
// (a shell command that runs it).
FwdRun run_fwd(const std::string &args, const std::string &dir, const std::string &pre = "",
               const std::string &post = "")
{
	static int seq;
	const std::string err = dir + "/fwd" + std::to_string(seq++) + ".err";
	const std::string cmd = pre + std::string(TARN_FWD) + " --file-prefix tarn-test-pcap-fwd-" +
	                        std::to_string(getpid()) + " --stats-period 0 --json " + args +
	                        " 2>" + err + post;
	FwdRun r{ -1, "", "" };
	FILE *pp = popen(cmd.c_str(), "r");
	if (pp == nullptr)
		return r;
	char buf[4096];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), pp)) > 0)
		r.out.append(buf, n);
	int st = pclose(pp);
	r.code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	Bytes e = slurp(err);
	r.err.assign(e.begin(), e.end());
	unlink(err.c_str());
	return r;
}

// A counter of port `port` in tarn-fwd's JSON summary, or -1.
long long summary_counter(const std::string &out, unsigned port, const std::string &name)
{
	const size_t s = out.find("\"event\":\"summary\"");
	if (s == std::string::npos)
		return -1;
	const size_t at = out.find("{\"port\":" + std::to_string(port) + ",", s);
	if (at == std::string::npos)
		return -1;
	const size_t k = out.find("\"" + name + "\":", at);
	if (k == std::string::npos)
		return -1;
	return atoll(out.c_str() + k + name.size() + 3);
}

TEST_F(Pcap, TarnFwdRefusesToWriteOverAFileOfAnotherPort)
{
	TmpDir dir;
	PcapFile f;
	f.header().rec(1, 0, frame(60, 1));
	const std::string in = f.write(dir / "in.pcap"), hard = dir / "hard.pcap",
	                  sym = dir / "sym.pcap";
	ASSERT_EQ(link(in.c_str(), hard.c_str()), 0);
	ASSERT_EQ(symlink(in.c_str(), sym.c_str()), 0);
	const std::string cases[] = {
		"--port pcap:rx_pcap=" + in + " --port pcap:tx_pcap=" + in,
		"--port pcap:rx_pcap=" + sym + " --port pcap:tx_pcap=" + hard,
		"--port pcap:rx_pcap=" + in + " --port pcap:tx_pcap=" + dir / "o.pcap" +
		    " --port pcap:tx_pcap=" + dir / "o.pcap",
	};
	for (const std::string &args : cases) {
		FwdRun r = run_fwd(args + " --duration 0.1", dir.path);
		EXPECT_EQ(r.code, 2) << args << "\n" << r.err;
		EXPECT_NE(r.err.find(" is the file port "), std::string::npos) << r.err;
		EXPECT_EQ(slurp(in), f.b) << args << ": the input was written over";
	}
}

TEST_F(Pcap, TarnFwdOnAFullDiskSaysOutputWasLost)
{
	if (geteuid() != 0)
		GTEST_SKIP() << "needs root (CAP_SYS_ADMIN) to mount a small tmpfs in a private "
		                "mount namespace";
	TmpDir dir;
	PcapFile f;
	f.header();
	for (uint32_t i = 0; i < 100; i++)
		f.rec(i, 0, frame(1000, i));
	const std::string in = f.write(dir / "in.pcap"), mnt = dir / "mnt";
	ASSERT_EQ(mkdir(mnt.c_str(), 0700), 0);
	struct Rmdir {
		std::string d;
		~Rmdir()
		{
			rmdir(d.c_str());
		}
	} rmd{ mnt };
	for (const char *burst : { "1", "32" }) {
		SCOPED_TRACE(std::string("burst ") + burst);
		// tarn-fwd in its own mount namespace: the tmpfs goes with it
		const std::string out = mnt + "/out.pcap", copy = dir / "out.pcap";
		FwdRun r =
		    run_fwd("--port pcap:rx_pcap=" + in + " --port pcap:tx_pcap=" + out +
		                " --burst " + burst + " --duration 0.1",
		            dir.path,
		            "unshare -m --propagation private sh -c 'mount -t tmpfs -o size=64k "
		            "tarn-test " +
		                mnt + " || exit 99; ",
		            "; rc=$?; cp " + out + " " + copy + "; exit $rc'");
		ASSERT_NE(r.code, 99) << "mount of a tmpfs failed: " << r.err;
		EXPECT_EQ(r.code, 1) << r.out << r.err;
		EXPECT_NE(r.err.find("output lost"), std::string::npos) << r.err;
		const Bytes b = slurp(copy);
		unlink(copy.c_str());
		const Walk w = walk(b);
		EXPECT_TRUE(w.whole) << "the file ends inside a record: " << b.size() << " bytes";
		EXPECT_GT(w.records, 0u);
		EXPECT_LT(w.records, 100u);
		EXPECT_EQ(summary_counter(r.out, 1, "opackets"), (long long)w.records) << r.out;
		EXPECT_EQ(summary_counter(r.out, 1, "oerrors"), 100 - (long long)w.records)
		    << r.out;
	}
}

// ---------------------------------------------------------------------------
// Live interfaces (root)

int sh(const std::string &cmd)
{
	return system((cmd + " >/dev/null 2>&1").c_str());
}

unsigned long sysfs_flags(const std::string &n)
{
	unsigned long v = 0;
	FILE *f = fopen(("/sys/class/net/" + n + "/flags").c_str(), "r");
	if (f != nullptr) {
		if (fscanf(f, "%lx", &v) != 1)
			v = 0;
		fclose(f);
	}
	return v;
}

TEST_F(Pcap, LiveInterfaceCaptureAndInjectOnAVethPair)
{
	const std::string cannot = need::machine_cannot_veth();
	if (!cannot.empty())
		GTEST_SKIP() << cannot << " (live capture on a veth pair)";
	const std::string a = "tpv" + std::to_string(getpid() % 1000000) + "a",
	                  b = "tpv" + std::to_string(getpid() % 1000000) + "b";
	if (sh("ip link add " + a + " type veth peer name " + b) != 0)
		NEED_OR_FAIL("", "ip link add " + a + " type veth peer name " + b + " failed");
	struct Del {
		std::string n;
		~Del()
		{
			sh("ip link del " + n);
		}
	} del{ a };
	for (auto &n : { a, b }) {
		sh("sysctl -qw net.ipv6.conf." + n + ".disable_ipv6=1");
		ASSERT_EQ(sh("ip link set " + n + " up"), 0);
	}
	Pool pool;
	uint16_t pa = create("pcap:iface=" + a), pb = create("pcap:iface=" + b);
	bring_up(pa, pool.mp);
	bring_up(pb, pool.mp);
	struct tarn_eth_link link;
	ASSERT_EQ(tarn_eth_link_get(pa, &link), 0);
	EXPECT_EQ(link.up, 1);

	ASSERT_EQ(tarn_eth_promiscuous_enable(pb), 0) << Log::all();
	EXPECT_TRUE(sysfs_flags(b) & IFF_PROMISC);
	ASSERT_EQ(tarn_eth_promiscuous_disable(pb), 0);
	EXPECT_FALSE(sysfs_flags(b) & IFF_PROMISC);

	std::vector<Bytes> sent = { frame(60, 1), frame(1514, 2), frame(100, 3) };
	std::vector<struct tarn_mbuf *> ms;
	for (auto &fr : sent) {
		struct tarn_mbuf *m = tarn_pktmbuf_alloc(pool.mp);
		memcpy(tarn_pktmbuf_append(m, (uint16_t)fr.size()), fr.data(), fr.size());
		ms.push_back(m);
	}
	ASSERT_EQ(tarn_eth_tx_burst(pa, 0, ms.data(), 3), 3) << Log::all();
	std::vector<Bytes> got;
	auto end = std::chrono::steady_clock::now() + std::chrono::seconds(3);
	while (got.size() < 3 && std::chrono::steady_clock::now() < end) {
		for (auto &x : rx_all(pb))
			if (x.size() >= 14 && x[12] == 0x88 && x[13] == 0xb5)
				got.push_back(x);
		std::this_thread::sleep_for(std::chrono::milliseconds(1));
	}
	EXPECT_EQ(got, sent);
	EXPECT_EQ(stats(pa).opackets, 3u);
	EXPECT_EQ(stats(pa).obytes, 60u + 1514 + 100);
	EXPECT_TRUE(rx_all(pa).empty()) << "a port does not capture what it injects";
}

} // namespace
