// SPDX-License-Identifier: BSD-3-Clause
// virtio: the virtio-net PCI driver on real (emulated) devices. Runs inside
// `numa-vm --nics 2 [--iommu] [--nic-numa]`, started by
// scripts/virtio-vm-test.sh, which binds the cabled pair to vfio-pci (with
// the IOMMU) or uio_pci_generic (without) and says so in the environment:
//
//   VT_NIC0, VT_NIC1   the cabled pair (what one sends, the other receives)
//   VT_DRIVER          vfio-pci or uio_pci_generic
//   VT_LAYOUTS         register layouts to run the traffic cases with
//                      ("modern", or "modern legacy" for transitional NICs)
//   VT_KERNEL_DEV      a device bound to a kernel driver
//   VT_GROUP_DEV, VT_GROUP_PEER  two devices of one IOMMU group, both bound
//                      to no driver (vfio runs only)
//
// Cases: bytes checked both ways in bursts, chains, clones and frames
// spanning merged buffers; promiscuous mode and a MAC change through the
// control queue; stop/start and close/reopen with every mbuf back; each
// error case a clear error with nothing left mapped; tarn-fwd on the pair
// killed with -9, then restarted, forwarding with every mbuf back at exit;
// a NIC on node 1 with its rings and tarn-fwd's RX pool on node 1 (and the
// warning for its lcore on node 0).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <tarn/tarn.h>

#include "../common/child.h"
#include "../common/test_log.h"

namespace
{

std::string env(const char *name, const char *def = "")
{
	const char *v = getenv(name);
	return v != nullptr ? v : def;
}

bool in_vm()
{
	return !env("VT_NIC0").empty() && !env("VT_NIC1").empty();
}

#define NEED_VM()                                                                                  \
	do {                                                                                       \
		if (!in_vm())                                                                      \
			GTEST_SKIP()                                                               \
			    << "needs the NICs of the VM: scripts/virtio-vm-test.sh runs "         \
			       "this suite in numa-vm";                                            \
	} while (0)

bool vfio()
{
	return env("VT_DRIVER") == "vfio-pci";
}

bool has(const std::string &s, const std::string &what)
{
	return s.find(what) != std::string::npos;
}

// tarn, once for the whole suite, with the environment's tarn options
// (TARN_IOVA_MODE, TARN_LOG_LEVEL).
class TarnEnv : public ::testing::Environment
{
      public:
	void SetUp() override
	{
		if (!in_vm())
			return;
		struct tarn_config cfg;
		tarn_config_init(&cfg);
		snprintf(cfg.file_prefix, sizeof(cfg.file_prefix), "tarnvt%d", (int)getpid());
		cfg.no_pin_main = 1;
		cfg.no_telemetry = 1;
		ASSERT_EQ(tarn_init(&cfg), 0);
	}
	void TearDown() override
	{
		if (tarn_initialized()) {
			EXPECT_EQ(tarn_cleanup(), 0);
		}
	}
};

::testing::Environment *const tarn_env = ::testing::AddGlobalTestEnvironment(new TarnEnv);

// A port on a NIC, configured with one queue pair and started.
struct Port {
	uint16_t id = UINT16_MAX;
	struct tarn_ether_addr mac {
	};
	int create(const std::string &spec)
	{
		return tarn_eth_dev_create(spec.c_str(), &id);
	}
	int start(struct tarn_mempool *mp, unsigned nb_desc = 256)
	{
		int rc = tarn_eth_dev_configure(id, 1, 1, nullptr);
		if (rc == 0)
			rc = tarn_eth_rx_queue_setup(id, 0, nb_desc, TARN_SOCKET_ANY, mp);
		if (rc == 0)
			rc = tarn_eth_tx_queue_setup(id, 0, nb_desc, TARN_SOCKET_ANY);
		if (rc == 0)
			rc = tarn_eth_dev_start(id);
		if (rc == 0)
			rc = tarn_eth_macaddr_get(id, &mac);
		return rc;
	}
	void close()
	{
		if (id != UINT16_MAX) {
			EXPECT_EQ(tarn_eth_dev_close(id), 0);
		}
		id = UINT16_MAX;
	}
	~Port()
	{
		if (id != UINT16_MAX)
			tarn_eth_dev_close(id);
	}
};

struct tarn_mempool *make_pool(const char *name, unsigned n = 2048, uint16_t room = 2048 + 128,
                               int socket = TARN_SOCKET_ANY)
{
	return tarn_pktmbuf_pool_create(name, n, 64, 0, room, socket);
}

// The frame of sequence number `seq`, `len` bytes, from `src` to `dst`:
// ethertype 0x88b5 (local experimental), then seq and a pattern from it.
std::vector<uint8_t> frame(const struct tarn_ether_addr &dst, const struct tarn_ether_addr &src,
                           uint32_t seq, uint32_t len)
{
	std::vector<uint8_t> f(len);
	memcpy(f.data(), dst.addr_bytes, 6);
	memcpy(f.data() + 6, src.addr_bytes, 6);
	f[12] = 0x88, f[13] = 0xb5;
	memcpy(f.data() + 14, &seq, 4);
	for (uint32_t i = 18; i < len; i++)
		f[i] = (uint8_t)(i * 7 + seq);
	return f;
}

// One mbuf holding `f` (or a chain of `segs` segments splitting it).
struct tarn_mbuf *to_mbuf(struct tarn_mempool *mp, const std::vector<uint8_t> &f, unsigned segs = 1)
{
	struct tarn_mbuf *head = nullptr;
	size_t off = 0, per = (f.size() + segs - 1) / segs;
	for (unsigned s = 0; s < segs; s++) {
		size_t n = std::min(per, f.size() - off);
		struct tarn_mbuf *m = tarn_pktmbuf_alloc(mp);
		if (m == nullptr)
			break;
		char *d = tarn_pktmbuf_append(m, (uint16_t)n);
		if (d == nullptr) {
			ADD_FAILURE() << n << " bytes do not fit one mbuf of the pool";
			tarn_pktmbuf_free(m);
			break;
		}
		memcpy(d, f.data() + off, n);
		off += n;
		if (head == nullptr)
			head = m;
		else if (tarn_pktmbuf_chain(head, m) != 0) {
			tarn_pktmbuf_free(m);
			break;
		}
	}
	return head;
}

std::vector<uint8_t> bytes_of(const struct tarn_mbuf *m)
{
	std::vector<uint8_t> b(m->pkt_len);
	const void *p = tarn_pktmbuf_read(m, 0, m->pkt_len, b.data());
	if (p != nullptr && p != b.data())
		memcpy(b.data(), p, m->pkt_len);
	return b;
}

// Receive on `port` until `want` packets came or `ms` passed; every packet
// goes to `got` (the caller frees them with free_all()).
void receive(uint16_t port, size_t want, std::vector<struct tarn_mbuf *> &got, int ms = 5000)
{
	auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
	while (got.size() < want && std::chrono::steady_clock::now() < end) {
		struct tarn_mbuf *b[32];
		uint16_t n = tarn_eth_rx_burst(port, 0, b, 32);
		for (uint16_t i = 0; i < n; i++)
			got.push_back(b[i]);
		if (n == 0)
			std::this_thread::sleep_for(std::chrono::microseconds(200));
	}
}

void free_all(std::vector<struct tarn_mbuf *> &v)
{
	for (auto *m : v)
		tarn_pktmbuf_free(m);
	v.clear();
}

// Send every mbuf of `pkts` on `port` (retrying while the ring is full).
size_t send_all(uint16_t port, std::vector<struct tarn_mbuf *> pkts)
{
	size_t sent = 0;
	auto end = std::chrono::steady_clock::now() + std::chrono::seconds(5);
	while (sent < pkts.size() && std::chrono::steady_clock::now() < end) {
		uint16_t n = (uint16_t)std::min<size_t>(32, pkts.size() - sent);
		sent += tarn_eth_tx_burst(port, 0, pkts.data() + sent, n);
	}
	for (size_t i = sent; i < pkts.size(); i++)
		tarn_pktmbuf_free(pkts[i]);
	return sent;
}

// Frames of sizes from `lens` go from `a` to `b` as `segs`-segment mbufs;
// every byte of each is checked at `b`. Returns the frames that arrived
// intact.
size_t exchange(Port &a, Port &b, struct tarn_mempool *mp, const std::vector<uint32_t> &lens,
                unsigned segs, uint32_t seq0)
{
	std::map<uint32_t, std::vector<uint8_t>> want;
	std::vector<struct tarn_mbuf *> pkts;
	for (size_t i = 0; i < lens.size(); i++) {
		uint32_t seq = seq0 + (uint32_t)i;
		want[seq] = frame(b.mac, a.mac, seq, lens[i]);
		struct tarn_mbuf *m = to_mbuf(mp, want[seq], segs);
		EXPECT_NE(m, nullptr);
		if (m != nullptr)
			pkts.push_back(m);
	}
	EXPECT_EQ(send_all(a.id, pkts), lens.size());
	std::vector<struct tarn_mbuf *> got;
	receive(b.id, lens.size(), got);
	size_t good = 0;
	for (auto *m : got) {
		std::vector<uint8_t> f = bytes_of(m);
		uint32_t seq = 0;
		if (f.size() >= 18)
			memcpy(&seq, f.data() + 14, 4);
		auto it = want.find(seq);
		if (it == want.end()) {
			ADD_FAILURE() << "an unexpected frame of " << f.size() << " bytes";
			continue;
		}
		EXPECT_EQ(f, it->second)
		    << "frame " << seq << " (" << it->second.size() << " bytes) differs";
		good += f == it->second;
		want.erase(it);
	}
	EXPECT_TRUE(want.empty()) << want.size() << " frame(s) did not arrive";
	free_all(got);
	return good;
}

// Two ports on the cabled pair, started on one pool.
class Pair : public ::testing::Test
{
      protected:
	void open(const std::string &keys = "", uint16_t room = 2048 + 128)
	{
		mp = make_pool(("vt" + std::to_string(n_pool++)).c_str(), 2048, room);
		ASSERT_NE(mp, nullptr);
		ASSERT_EQ(a.create("virtio:pci=" + env("VT_NIC0") + keys), 0) << TestLog::all();
		ASSERT_EQ(b.create("virtio:pci=" + env("VT_NIC1") + keys), 0) << TestLog::all();
		ASSERT_EQ(a.start(mp), 0) << TestLog::all();
		ASSERT_EQ(b.start(mp), 0) << TestLog::all();
	}
	void SetUp() override
	{
		NEED_VM();
		TestLog::clear();
		tarn_log_set_handler(TestLog::fn, nullptr);
	}
	void TearDown() override
	{
		a.close();
		b.close();
		if (mp != nullptr) {
			EXPECT_EQ(tarn_mempool_in_use_count(mp), 0u)
			    << "mbufs not back in the pool";
			EXPECT_EQ(tarn_mempool_free(mp, 0), 0);
		}
		EXPECT_EQ(tarn_pci_dma_mapped_count(), 0u) << "mappings left after the last close";
		tarn_log_set_handler(nullptr, nullptr);
	}
	static inline int n_pool = 0;
	struct tarn_mempool *mp = nullptr;
	Port a, b;
};

std::vector<uint32_t> sizes(size_t n, uint32_t lo, uint32_t hi)
{
	std::vector<uint32_t> v;
	for (size_t i = 0; i < n; i++)
		v.push_back(lo + (uint32_t)((i * 997) % (hi - lo + 1)));
	return v;
}

std::vector<std::string> layouts()
{
	std::vector<std::string> v;
	std::istringstream in(env("VT_LAYOUTS", "modern"));
	for (std::string w; in >> w;)
		v.push_back(w);
	return v;
}

// ---------------------------------------------------------------------------
// Traffic

TEST_F(Pair, DescribesTheDevice)
{
	open();
	struct tarn_eth_dev_info info;
	ASSERT_EQ(tarn_eth_dev_info_get(a.id, &info), 0);
	EXPECT_STREQ(info.driver_name, "virtio");
	EXPECT_EQ(info.mtu, 1500u);
	struct tarn_pci_info pi;
	ASSERT_EQ(tarn_pci_info_get(env("VT_NIC1").c_str(), &pi), 0);
	ASSERT_EQ(tarn_eth_dev_info_get(b.id, &info), 0);
	EXPECT_EQ(info.numa_node, pi.numa_node) << "the device's node from sysfs";
	// qemu gives the NICs 52:54:00:12:34:1x.
	EXPECT_EQ(a.mac.addr_bytes[0], 0x52);
	EXPECT_EQ(a.mac.addr_bytes[5] ^ b.mac.addr_bytes[5], 0x01);
	struct tarn_eth_link link;
	ASSERT_EQ(tarn_eth_link_get(a.id, &link), 0);
	EXPECT_EQ(link.up, 1);
	ASSERT_EQ(tarn_eth_dev_stop(a.id), 0);
	ASSERT_EQ(tarn_eth_link_get(a.id, &link), 0);
	EXPECT_EQ(link.up, 0) << "down while stopped";
}

TEST_F(Pair, BytesBothWaysInBursts)
{
	for (const std::string &l : layouts()) {
		SCOPED_TRACE("layout=" + l);
		open(",layout=" + l);
		EXPECT_EQ(exchange(a, b, mp, sizes(96, 60, 1514), 1, 0), 96u);
		EXPECT_EQ(exchange(b, a, mp, sizes(96, 60, 1514), 1, 1000), 96u);
		struct tarn_eth_stats st;
		ASSERT_EQ(tarn_eth_stats_get(a.id, &st), 0);
		EXPECT_EQ(st.opackets, 96u);
		EXPECT_EQ(st.ipackets, 96u);
		EXPECT_EQ(st.oerrors, 0u);
		EXPECT_EQ(st.ierrors, 0u);
		// The driver's xstats: the size bins add up to the packets.
		std::vector<struct tarn_eth_xstat> xs(tarn_eth_xstats_get(a.id, nullptr, 0));
		ASSERT_GT(xs.size(), 0u);
		ASSERT_EQ(tarn_eth_xstats_get(a.id, xs.data(), (unsigned)xs.size()),
		          (int)xs.size());
		uint64_t rxbins = 0, txbins = 0, kicks = 0;
		bool good = false;
		for (const auto &x : xs) {
			std::string nm = x.name;
			if (nm.rfind("rx_q0_size_", 0) == 0)
				rxbins += x.value;
			if (nm.rfind("tx_q0_size_", 0) == 0)
				txbins += x.value;
			if (nm == "tx_q0_notifications")
				kicks = x.value;
			if (nm == "rx_good_packets")
				good = x.value == 96;
		}
		EXPECT_TRUE(good);
		EXPECT_EQ(rxbins, 96u);
		EXPECT_EQ(txbins, 96u);
		EXPECT_GT(kicks, 0u);
		EXPECT_LE(kicks, 96u) << "more doorbells than packets";
		a.close();
		b.close();
	}
}

TEST_F(Pair, ChainsAreSentWhole)
{
	for (const std::string &l : layouts()) {
		SCOPED_TRACE("layout=" + l);
		open(",layout=" + l);
		EXPECT_EQ(exchange(a, b, mp, sizes(40, 100, 1514), 3, 0), 40u);
		EXPECT_EQ(exchange(b, a, mp, sizes(40, 60, 1514), 2, 500), 40u);
		a.close();
		b.close();
	}
}

// mbufs of 512 bytes after the headroom: a 1514-byte frame spans four
// merged buffers and arrives as a chain.
TEST_F(Pair, LargeFramesArriveAsChainsOfMergedBuffers)
{
	open("", 512 + 128);
	// Sent as chains too: a 1514-byte frame does not fit one of these mbufs.
	std::vector<uint32_t> lens = { 1514, 1000, 513, 512, 60, 1514, 1400, 1024 };
	EXPECT_EQ(exchange(a, b, mp, lens, 4, 100), lens.size());
	struct tarn_eth_stats st;
	ASSERT_EQ(tarn_eth_stats_get(b.id, &st), 0);
	EXPECT_EQ(st.ipackets, lens.size());
	EXPECT_EQ(st.ibytes, 1514u + 1000 + 513 + 512 + 60 + 1514 + 1400 + 1024);
}

// A clone shares its data: it must go out without its buffer's headroom
// being written (the header gets a slot of its own).
TEST_F(Pair, ClonesGoOutWithoutTouchingTheSharedBuffer)
{
	open();
	std::vector<uint8_t> f = frame(b.mac, a.mac, 7, 200);
	struct tarn_mbuf *m = to_mbuf(mp, f);
	ASSERT_NE(m, nullptr);
	uint8_t *head = (uint8_t *)m->buf_addr + m->data_off - 12;
	memset(head, 0xa5, 12);
	struct tarn_mbuf *c = tarn_pktmbuf_clone(m, mp);
	ASSERT_NE(c, nullptr);
	ASSERT_EQ(send_all(a.id, { c }), 1u);
	std::vector<struct tarn_mbuf *> got;
	receive(b.id, 1, got);
	ASSERT_EQ(got.size(), 1u);
	EXPECT_EQ(bytes_of(got[0]), f);
	for (int i = 0; i < 12; i++)
		EXPECT_EQ(head[i], 0xa5) << "byte " << i << " of the shared headroom was written";
	free_all(got);
	// The clone is freed once the device is done with it and a burst
	// reclaims its descriptors (when fewer than a quarter are free): send
	// bursts until then, taking them in at the other end. Then m is alone.
	size_t extra = 0;
	std::vector<struct tarn_mbuf *> rest;
	for (int i = 0; i < 64 && tarn_mbuf_refcnt_read(m) != 1; i++) {
		std::vector<struct tarn_mbuf *> burst;
		for (uint32_t k = 0; k < 32; k++)
			burst.push_back(to_mbuf(mp, frame(b.mac, a.mac, 100 + k, 60)));
		extra += send_all(a.id, burst);
		receive(b.id, extra, rest, 20);
	}
	EXPECT_EQ(tarn_mbuf_refcnt_read(m), 1) << "the clone was never freed";
	receive(b.id, extra, rest);
	EXPECT_EQ(rest.size(), extra);
	free_all(rest);
	tarn_pktmbuf_free(m);
}

// The control queue: with promiscuous mode off the device drops frames for
// other MACs; on, it delivers them; a new MAC takes effect at once. Each
// check sends the frame in question, then a marker to the port's own MAC:
// one queue delivers in order, so when the marker is in, the frame before
// it came or was dropped (no timeout to wait out).
TEST_F(Pair, PromiscuousModeAndMacThroughTheControlQueue)
{
	open();
	ASSERT_EQ(tarn_eth_promiscuous_disable(b.id), 0) << TestLog::all();
	struct tarn_ether_addr other = { { 0x02, 0, 0, 0, 0x77, 0x01 } };
	// The sequence numbers that came in, up to the marker's (seq + 1).
	auto send_to = [&](const struct tarn_ether_addr &dst, const struct tarn_ether_addr &own,
	                   uint32_t seq) {
		send_all(a.id, { to_mbuf(mp, frame(dst, a.mac, seq, 100)),
		                 to_mbuf(mp, frame(own, a.mac, seq + 1, 100)) });
		std::vector<struct tarn_mbuf *> got;
		std::vector<uint32_t> seqs;
		auto end = std::chrono::steady_clock::now() + std::chrono::seconds(5);
		while ((seqs.empty() || seqs.back() != seq + 1) &&
		       std::chrono::steady_clock::now() < end) {
			receive(b.id, got.size() + 1, got, 100);
			seqs.clear();
			for (auto *m : got) {
				uint32_t s = 0;
				std::vector<uint8_t> f = bytes_of(m);
				if (f.size() >= 18)
					memcpy(&s, f.data() + 14, 4);
				seqs.push_back(s);
			}
		}
		free_all(got);
		return seqs;
	};
	using V = std::vector<uint32_t>;
	EXPECT_EQ(send_to(other, b.mac, 10), (V{ 11 }))
	    << "promiscuous off: a frame for another MAC came in";
	ASSERT_EQ(tarn_eth_promiscuous_enable(b.id), 0);
	EXPECT_EQ(send_to(other, b.mac, 20), (V{ 20, 21 }))
	    << "promiscuous on: the frame for another MAC did not come in";
	ASSERT_EQ(tarn_eth_promiscuous_disable(b.id), 0);
	struct tarn_ether_addr old = b.mac;
	ASSERT_EQ(tarn_eth_macaddr_set(b.id, &other), 0) << TestLog::all();
	EXPECT_EQ(send_to(old, other, 30), (V{ 31 }))
	    << "the old MAC still receives, or the new one does not";
}

TEST_F(Pair, MtuWithinWhatTheBuffersHold)
{
	open(",mrg_rxbuf=off");
	EXPECT_EQ(tarn_eth_dev_set_mtu(a.id, 1400), 0);
	EXPECT_EQ(tarn_eth_dev_set_mtu(a.id, 9000), -EINVAL) << "2048-byte mbufs, no merging";
	EXPECT_TRUE(TestLog::contains("mrg_rxbuf is off")) << TestLog::all();
	EXPECT_EQ(exchange(a, b, mp, sizes(20, 60, 1514), 1, 0), 20u);
}

TEST_F(Pair, PoolTooSmallWithoutMergedBuffersIsRefused)
{
	mp = make_pool("vtsmall", 1024, 512 + 128);
	ASSERT_NE(mp, nullptr);
	ASSERT_EQ(a.create("virtio:pci=" + env("VT_NIC0") + ",mrg_rxbuf=off"), 0);
	ASSERT_EQ(tarn_eth_dev_configure(a.id, 1, 1, nullptr), 0);
	EXPECT_EQ(tarn_eth_rx_queue_setup(a.id, 0, 256, TARN_SOCKET_ANY, mp), -EINVAL);
	EXPECT_TRUE(TestLog::contains("mrg_rxbuf off")) << TestLog::all();
}

// ---------------------------------------------------------------------------
// Lifecycle

TEST_F(Pair, StopStartAndCloseReopenKeepWorking)
{
	open();
	EXPECT_EQ(exchange(a, b, mp, sizes(32, 60, 1514), 1, 0), 32u);
	// Stopped and started again: the RX mbufs kept over the stop are posted
	// again.
	ASSERT_EQ(tarn_eth_dev_stop(a.id), 0);
	ASSERT_EQ(tarn_eth_dev_stop(b.id), 0);
	ASSERT_EQ(tarn_eth_dev_start(a.id), 0) << TestLog::all();
	ASSERT_EQ(tarn_eth_dev_start(b.id), 0) << TestLog::all();
	EXPECT_EQ(exchange(a, b, mp, sizes(32, 60, 1514), 1, 100), 32u);
	EXPECT_EQ(exchange(b, a, mp, sizes(32, 60, 1514), 1, 1000), 32u);
	// Packets still in a TX ring at stop are freed, not lost.
	std::vector<struct tarn_mbuf *> pkts;
	for (uint32_t i = 0; i < 64; i++)
		pkts.push_back(to_mbuf(mp, frame(b.mac, a.mac, 5000 + i, 1514)));
	send_all(a.id, pkts);
	ASSERT_EQ(tarn_eth_dev_stop(a.id), 0);
	ASSERT_EQ(tarn_eth_dev_stop(b.id), 0);
	a.close();
	b.close();
	EXPECT_EQ(tarn_mempool_in_use_count(mp), 0u) << "mbufs lost over stop and close";
	ASSERT_EQ(a.create("virtio:pci=" + env("VT_NIC0")), 0) << TestLog::all();
	ASSERT_EQ(b.create("virtio:pci=" + env("VT_NIC1")), 0);
	ASSERT_EQ(a.start(mp), 0);
	ASSERT_EQ(b.start(mp), 0);
	// Frames of the run before may still arrive: drain them first.
	std::vector<struct tarn_mbuf *> old;
	receive(b.id, 1000, old, 300);
	free_all(old);
	EXPECT_EQ(exchange(a, b, mp, sizes(32, 60, 1514), 1, 9000), 32u);
}

TEST_F(Pair, QueueSizesTheDeviceTakes)
{
	mp = make_pool("vtq", 2048);
	ASSERT_NE(mp, nullptr);
	ASSERT_EQ(a.create("virtio:pci=" + env("VT_NIC0")), 0);
	ASSERT_EQ(b.create("virtio:pci=" + env("VT_NIC1")), 0);
	// 100 descriptors become 64 (a power of two); more than the device's
	// 256 become 256; an info line says so.
	int level = tarn_log_get_level();
	tarn_log_set_level(TARN_LOG_INFO);
	ASSERT_EQ(a.start(mp, 100), 0) << TestLog::all();
	ASSERT_EQ(b.start(mp, 1024), 0) << TestLog::all();
	tarn_log_set_level(level);
	EXPECT_TRUE(TestLog::contains("64 descriptors (asked 100")) << TestLog::all();
	EXPECT_TRUE(TestLog::contains("256 descriptors (asked 1024")) << TestLog::all();
	EXPECT_EQ(exchange(a, b, mp, sizes(200, 60, 1514), 1, 0), 200u);
	EXPECT_EQ(tarn_eth_dev_configure(a.id, 2, 2, nullptr), -EBUSY);
	ASSERT_EQ(tarn_eth_dev_stop(a.id), 0);
	ASSERT_EQ(tarn_eth_dev_configure(a.id, 2, 2, nullptr), 0);
	EXPECT_EQ(tarn_eth_rx_queue_setup(a.id, 1, 256, TARN_SOCKET_ANY, mp), -EINVAL)
	    << "one queue pair without MQ";
	EXPECT_TRUE(TestLog::contains("the device has 1 queue pair")) << TestLog::all();
}

// ---------------------------------------------------------------------------
// Errors: each clear, each leaving nothing open or mapped

class Errors : public ::testing::Test
{
      protected:
	void SetUp() override
	{
		NEED_VM();
		TestLog::clear();
		tarn_log_set_handler(TestLog::fn, nullptr);
	}
	void TearDown() override
	{
		tarn_log_set_handler(nullptr, nullptr);
		EXPECT_EQ(tarn_eth_dev_count(), 0u);
		EXPECT_EQ(tarn_pci_dma_mapped_count(), 0u);
	}
	uint16_t id = 0;
};

TEST_F(Errors, DeviceBoundToAKernelDriver)
{
	std::string dev = env("VT_KERNEL_DEV");
	ASSERT_FALSE(dev.empty());
	EXPECT_EQ(tarn_eth_dev_create(("virtio:pci=" + dev).c_str(), &id), -ENXIO);
	EXPECT_TRUE(TestLog::contains("bound to the kernel driver")) << TestLog::all();
	EXPECT_TRUE(TestLog::contains("scripts/devbind.sh --bind vfio-pci " + dev))
	    << TestLog::all();
}

TEST_F(Errors, WrongAddresses)
{
	EXPECT_EQ(tarn_eth_dev_create("virtio:pci=0000:00:1e.7", &id), -ENOENT);
	EXPECT_TRUE(TestLog::contains("0000:00:1e.7: no such PCI device")) << TestLog::all();
	EXPECT_EQ(tarn_eth_dev_create("virtio:pci=00:10", &id), -EINVAL);
	EXPECT_TRUE(TestLog::contains("expected a PCI address")) << TestLog::all();
	EXPECT_EQ(tarn_eth_dev_create("virtio", &id), -EINVAL);
	EXPECT_TRUE(TestLog::contains("pci=ADDR")) << TestLog::all();
	EXPECT_EQ(
	    tarn_eth_dev_create(("virtio:pci=" + env("VT_NIC0") + ",layout=sideways").c_str(), &id),
	    -EINVAL);
}

TEST_F(Errors, LayoutTheDeviceDoesNotHave)
{
	// Behind the IOMMU the NICs are virtio 1.0 only: no legacy BAR.
	if (!vfio())
		GTEST_SKIP() << "transitional NICs (no IOMMU) have both layouts";
	EXPECT_EQ(
	    tarn_eth_dev_create(("virtio:pci=" + env("VT_NIC0") + ",layout=legacy").c_str(), &id),
	    -ENOTSUP);
	EXPECT_TRUE(TestLog::contains("no legacy I/O BAR 0")) << TestLog::all();
}

TEST_F(Errors, SameDeviceTwiceInThisProcess)
{
	uint16_t first;
	ASSERT_EQ(tarn_eth_dev_create(("virtio:pci=" + env("VT_NIC0")).c_str(), &first), 0);
	EXPECT_EQ(tarn_eth_dev_create(("virtio:pci=" + env("VT_NIC0")).c_str(), &id), -EBUSY);
	EXPECT_TRUE(TestLog::contains("open already in this process")) << TestLog::all();
	EXPECT_EQ(tarn_eth_dev_close(first), 0);
}

// tarn-fwd holds NIC 0: this process is refused, and told who has it.
TEST_F(Errors, DeviceOpenInAnotherProcess)
{
	std::string log = "/tmp/vt-holder.log";
	pid_t pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		std::string port = "virtio:pci=" + env("VT_NIC0");
		execl(TARN_FWD, "tarn-fwd", "--no-telemetry", "--file-prefix", "vtholder",
		      "--lcores", "0", "--port", port.c_str(), "--fwd", "rxonly", "--duration",
		      "30", "--stats-period", "0", (char *)nullptr);
		_exit(127);
	}
	// Wait until it holds the device.
	char who[128] = "";
	int held = 0;
	for (int i = 0; i < 300 && held != 1; i++) {
		held = tarn_pci_device_holder(env("VT_NIC0").c_str(), who, sizeof(who));
		if (held != 1)
			std::this_thread::sleep_for(std::chrono::milliseconds(50));
	}
	ASSERT_EQ(held, 1) << "tarn-fwd never opened the device";
	EXPECT_EQ(tarn_eth_dev_create(("virtio:pci=" + env("VT_NIC0")).c_str(), &id), -EBUSY);
	EXPECT_TRUE(TestLog::contains("in use: process " + std::to_string(pid) + " (tarn-fwd)"))
	    << TestLog::all();
	kill(pid, SIGTERM);
	int st;
	waitpid(pid, &st, 0);
	EXPECT_TRUE(WIFEXITED(st)) << "tarn-fwd did not stop on SIGTERM";
	EXPECT_EQ(tarn_pci_device_holder(env("VT_NIC0").c_str(), who, sizeof(who)), 0);
}

// Binds `dev` to `driver` ("" for none) the way scripts/devbind.sh does
// (unbind, driver_override, probe), by writing sysfs directly: a shell
// script costs seconds in the VM under full emulation. The script gives
// the devices back at the end of the run. Returns what went wrong, or "".
std::string sysfs_bind(const std::string &dev, const std::string &driver)
{
	const std::string d = "/sys/bus/pci/devices/" + dev;
	auto put = [](const std::string &file, const std::string &v) {
		std::ofstream f(file);
		f << v << std::flush;
		return f.good();
	};
	if (access((d + "/driver").c_str(), F_OK) == 0 && !put(d + "/driver/unbind", dev))
		return "cannot unbind " + dev;
	if (!put(d + "/driver_override", driver.empty() ? "\n" : driver))
		return "cannot set the driver_override of " + dev;
	if (driver.empty())
		return "";
	put("/sys/bus/pci/drivers_probe", dev);
	char link[256];
	ssize_t n = readlink((d + "/driver").c_str(), link, sizeof(link) - 1);
	std::string now = n > 0 ? std::string(link, (size_t)n) : "";
	now = now.substr(now.rfind('/') + 1);
	return now == driver ? ""
	                     : dev + " did not bind to " + driver + " (bound to '" + now + "')";
}

// Two devices of one IOMMU group: the open of one is refused while the
// other is bound to a kernel driver, naming it; then the device is not a
// virtio NIC, which is said too.
TEST_F(Errors, GroupWithAMemberBoundToAKernelDriver)
{
	if (!vfio())
		GTEST_SKIP() << "no IOMMU groups without the IOMMU";
	std::string dev = env("VT_GROUP_DEV"), peer = env("VT_GROUP_PEER");
	ASSERT_FALSE(dev.empty() || peer.empty());
	ASSERT_EQ(sysfs_bind(dev, "vfio-pci"), "");
	ASSERT_EQ(sysfs_bind(peer, "uio_pci_generic"), "");
	EXPECT_EQ(tarn_eth_dev_create(("virtio:pci=" + dev).c_str(), &id), -EBUSY);
	EXPECT_TRUE(TestLog::contains("is not viable")) << TestLog::all();
	EXPECT_TRUE(TestLog::contains(peer + " (uio_pci_generic)")) << TestLog::all();
	EXPECT_EQ(tarn_pci_dma_mapped_count(), 0u);
	ASSERT_EQ(sysfs_bind(peer, ""), "");
	EXPECT_EQ(tarn_eth_dev_create(("virtio:pci=" + dev).c_str(), &id), -ENXIO);
	EXPECT_TRUE(TestLog::contains("not a virtio-net device")) << TestLog::all();
	EXPECT_EQ(sysfs_bind(dev, ""), "");
}

// ---------------------------------------------------------------------------
// tarn-fwd on the pair

struct Fwd {
	int code;
	std::string out;
};

std::string fwd_cmd(const std::string &args)
{
	return std::string(TARN_FWD) +
	       " --no-telemetry --lcores 0 --port virtio:pci=" + env("VT_NIC0") +
	       " --port virtio:pci=" + env("VT_NIC1") + " --rxd 256 --txd 256 " + args;
}

Fwd run_fwd(const std::string &args)
{
	Fwd f{ -1, "" };
	f.code = run_capture(fwd_cmd(args) + " 2>&1", &f.out);
	return f;
}

// A number after `key` in tarn-fwd's --json output (the last such), or -1.
long long json_num(const std::string &json, const std::string &key)
{
	size_t p = json.rfind("\"" + key + "\":");
	if (p == std::string::npos)
		return -1;
	return std::stoll(json.substr(p + key.size() + 3));
}

// Packets forwarded: the summary's totals.
long long total_rx(const std::string &json)
{
	size_t p = json.find("\"totals\":{");
	return p == std::string::npos ? -1 : json_num(json.substr(p), "rx");
}

TEST(TarnFwd, KilledWithSigkillThenRestarted)
{
	NEED_VM();
	std::string out = "/tmp/vt-kill.json";
	pid_t pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		std::string cmd = fwd_cmd("--file-prefix vtkill --fwd io --tx-first --duration 60 "
		                          "--stats-period 1 --json") +
		                  " >" + out + " 2>&1";
		execl("/bin/sh", "sh", "-c", ("exec " + cmd).c_str(), (char *)nullptr);
		_exit(127);
	}
	// Kill it once it forwards.
	bool running = false;
	for (int i = 0; i < 200 && !running; i++) {
		std::this_thread::sleep_for(std::chrono::milliseconds(100));
		running = has(slurp(out), "\"event\":\"stats\"");
	}
	EXPECT_TRUE(running) << slurp(out);
	kill(pid, SIGKILL);
	int st;
	waitpid(pid, &st, 0);
	ASSERT_TRUE(WIFSIGNALED(st));
	// The devices were left running, their rings in memory now freed: the
	// next process resets them, forwards, and gets every mbuf back.
	Fwd f = run_fwd("--file-prefix vtkill2 --fwd io --tx-first --duration 1 --stats-period 1 "
	                "--json");
	EXPECT_EQ(f.code, 0) << f.out;
	EXPECT_GT(total_rx(f.out), 64) << f.out;
	EXPECT_EQ(json_num(f.out, "leaked"), 0) << f.out;
	EXPECT_TRUE(has(f.out, "\"in_use_at_exit\":0,\"checked\":true")) << f.out;
	unlink(out.c_str());
}

// ---------------------------------------------------------------------------
// NUMA: a NIC on node 1 (numa-vm --nic-numa) has its rings there, and
// tarn-fwd puts its RX pool there.

TEST(Numa, NicOnNode1GetsItsRingsAndPoolOnNode1)
{
	NEED_VM();
	struct tarn_pci_info pi;
	ASSERT_EQ(tarn_pci_info_get(env("VT_NIC1").c_str(), &pi), 0);
	if (pi.numa_node != 1)
		GTEST_SKIP() << env("VT_NIC1") << " is on node " << pi.numa_node
		             << " (numa-vm --nic-numa puts it on node 1)";
	Port p;
	struct tarn_mempool *mp = make_pool("vtnuma", 1024, 2048 + 128, 1);
	ASSERT_NE(mp, nullptr);
	ASSERT_EQ(p.create("virtio:pci=" + env("VT_NIC1")), 0);
	struct tarn_eth_dev_info info;
	ASSERT_EQ(tarn_eth_dev_info_get(p.id, &info), 0);
	EXPECT_EQ(info.numa_node, 1);
	ASSERT_EQ(p.start(mp), 0);
	const struct tarn_memzone *rx =
	    tarn_memzone_lookup(("vt" + std::to_string(p.id) + "_rx0").c_str());
	ASSERT_NE(rx, nullptr);
	EXPECT_EQ(rx->socket, 1);
	EXPECT_EQ(tarn_mem_node_of(rx->addr), 1) << "the ring's page is not on node 1";
	p.close();
	EXPECT_EQ(tarn_mempool_in_use_count(mp), 0u);
	EXPECT_EQ(tarn_mempool_free(mp, 0), 0);

	// tarn-fwd, polling both from an lcore on node 0: the pool of the node-1
	// NIC goes on node 1 and the placement warning names it.
	Fwd f = run_fwd("--file-prefix vtnuma --fwd io --tx-first --duration 1 --stats-period 1 "
	                "--json");
	EXPECT_EQ(f.code, 0) << f.out;
	EXPECT_TRUE(has(f.out, "{\"port\":1,\"queue\":0,\"lcore\":0,\"lcore_socket\":0,"
	                       "\"port_socket\":1,\"pool_socket\":1"))
	    << f.out;
	EXPECT_TRUE(has(f.out, "warning: port 1 (virtio:pci=" + env("VT_NIC1") +
	                           ") is on socket 1 but lcore 0, which polls it, is on socket 0"))
	    << f.out;
	EXPECT_EQ(json_num(f.out, "leaked"), 0) << f.out;
	EXPECT_TRUE(has(f.out, "\"in_use_at_exit\":0,\"checked\":true")) << f.out;
}

} // namespace
