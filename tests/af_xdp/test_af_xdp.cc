// SPDX-License-Identifier: BSD-3-Clause
// af_xdp driver tests, on the veth pair scripts/netns-run.sh makes
// (TARN_VETH0 here, its peer TARN_VETH0_PEER in the namespace TARN_NETNS, all
// removed afterwards), like the af_packet suite.
//
// Cases: lifecycle (create, start, stop, restart, close; the XDP program is
// attached only while started, in the mode asked, and gone after close),
// every create error (keys, values, missing interface, queue out of range,
// not an Ethernet interface, no capabilities), zerocopy=on refused on veth,
// exact bytes in order from the peer (the mbufs are the UMEM frames: no
// copy), exact bytes to the peer (zero-copy from the UMEM's pool, copied
// from another pool, chains, VLAN insertion, bad lengths), start/stop cycles
// with packets in every ring and exact pool counts afterwards, pool
// exhaustion (rx_nombuf, kernel drops) and recovery, a link flap under a
// running port, and the XDP program of a process killed with SIGKILL
// (bpf_link: gone with it; attach=legacy: removed by the next create). The data cases run in
// generic and native (veth driver) XDP mode.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "../common/netns_env.h"
#include "../common/test_log.h"
#include <tarn/tarn_env.h>
#include <tarn/tarn_ethdev.h>
#include <tarn/tarn_mbuf.h>
#include <tarn/tarn_mempool.h>

#ifndef AF_XDP
#define AF_XDP 44
#endif

namespace
{

using Log = TestLog;

// ---------------------------------------------------------------------------
// Environment

// NEED_VETH(), in_ns(), OwnPair, the far end (RawPeer), the
// frame builders and the pool/port helpers: ../common/netns_env.h.

// The far end. Sends one frame; every 64 frames it pauses 1 ms: veth queues what it
// receives for an XDP program in a 256-entry ring, and a loaded machine
// may run the softirq that empties it late; the tests count the
// kernel's AF_XDP drops exactly and must not see veth's own.
struct Peer : RawPeer {
	using RawPeer::RawPeer;
	bool send(const Bytes &b)
	{
		if (++sent % 64 == 0)
			usleep(1000);
		return RawPeer::send(b);
	}
	unsigned sent = 0;
};

// ---------------------------------------------------------------------------
// Pools and ports

// A pool of mbufs. Its destructor closes every port first: a port started
// on it (a test that stopped at a failed ASSERT) has its frames in the
// kernel and its UMEM over the pool's memory.
struct Pool : PoolBase {
	explicit Pool(unsigned n = 2048, uint16_t room = TARN_MBUF_DEFAULT_BUF_SIZE)
	    : PoolBase("axdp_test_", n, room)
	{
	}
	~Pool()
	{
		if (mp != nullptr)
			close_all_ports();
	}
};

// Receive `want` packets from the port's queue `q` (or until kWait).
std::vector<struct tarn_mbuf *> rx_n(uint16_t port, uint16_t q, size_t want)
{
	std::vector<struct tarn_mbuf *> got;
	std::set<struct tarn_mbuf *> seen;
	struct tarn_mbuf *pkts[64];
	auto end = Clock::now() + kWait;
	while (got.size() < want && Clock::now() < end) {
		uint16_t n = tarn_eth_rx_burst(port, q, pkts,
		                               (uint16_t)std::min<size_t>(64, want - got.size()));
		for (uint16_t i = 0; i < n; i++) {
			if (!seen.insert(pkts[i]).second) {
				ADD_FAILURE() << "mbuf " << pkts[i] << " handed out twice (packet "
				              << got.size() << ", burst of " << n << ")";
				return got;
			}
			got.push_back(pkts[i]);
		}
		if (n == 0)
			usleep(100);
	}
	return got;
}

// AF_XDP sockets: a kernel without them (EAFNOSUPPORT) or a process
// without CAP_NET_RAW is what the machine cannot do (a skip); any other
// refusal as root is a broken environment (a failure).
#define NEED_XDP()                                                                                 \
	do {                                                                                       \
		NEED_VETH();                                                                       \
		int fd__ = socket(AF_XDP, SOCK_RAW | SOCK_CLOEXEC, 0);                             \
		if (fd__ >= 0) {                                                                   \
			close(fd__);                                                               \
			break;                                                                     \
		}                                                                                  \
		const int err__ = errno;                                                           \
		NEED_OR_FAIL(err__ == EAFNOSUPPORT                                                 \
		                 ? "no AF_XDP sockets in this kernel (CONFIG_XDP_SOCKETS)"         \
		             : !need::has_cap(need::kCapNetRaw)                                    \
		                 ? "no CAP_NET_RAW for AF_XDP sockets (root)"                      \
		                 : "",                                                             \
		             std::string("socket(AF_XDP): ") + strerror(err__));                   \
	} while (0)

// The output of a shell command.
std::string run(const std::string &cmd)
{
	std::string out;
	FILE *f = popen((cmd + " 2>/dev/null").c_str(), "r");
	if (f == nullptr)
		return out;
	char buf[512];
	while (fgets(buf, sizeof(buf), f) != nullptr)
		out += buf;
	pclose(f);
	return out;
}

// The XDP program attached to `ifname`, as `ip -d link` shows it in its
// first line: "xdp" (native), "xdpgeneric" or "" (none); its name in *name.
std::string xdp_attached(const std::string &ifname, std::string *name = nullptr)
{
	const std::string out = run("ip -d link show dev " + ifname);
	const std::string line = out.substr(0, out.find('\n'));
	std::string kind;
	size_t at = line.find(" xdp");
	if (at != std::string::npos) {
		const size_t end = line.find_first_of(" /", at + 1);
		kind = line.substr(at + 1, end - at - 1);
	}
	if (name != nullptr) {
		const size_t n = out.find("prog/xdp");
		const size_t nm = n == std::string::npos ? n : out.find(" name ", n);
		*name = nm == std::string::npos
		            ? ""
		            : out.substr(nm + 6, out.find_first_of(" \n", nm + 6) - nm - 6);
	}
	return kind;
}

// Wait up to 2 s for `ifname` to have no XDP program.
bool xdp_gone(const std::string &ifname)
{
	for (int i = 0; i < 200; i++) {
		if (xdp_attached(ifname).empty())
			return true;
		usleep(10000);
	}
	return false;
}

class XdpEnv : public NetEnv
{
      public:
	XdpEnv() : NetEnv("tarn-test-axdp")
	{
	}
	void configure(struct tarn_config *cfg) override
	{
		cfg->log_level = TARN_LOG_INFO; // the port says its XDP mode at start
	}
};

// The crash cases run this binary again with TARN_AXDP_CHILD=SPEC: it opens
// and starts a port on SPEC, says "ready" on stdout and waits to be killed.
// Killed, it leaves its hugetlbfs files; TARN_AXDP_CHILD=reap runs tarn_init()
// and tarn_cleanup() with the same prefix, which removes them (files of dead
// processes), as the next run of a crashed program does.
const char *const kChildPrefix = "tarn-test-axdp-child";
struct CrashChild {
	CrashChild()
	{
		const char *spec = getenv("TARN_AXDP_CHILD");
		if (spec == nullptr)
			return;
		struct tarn_config cfg;
		tarn_config_init(&cfg);
		snprintf(cfg.lcores, sizeof(cfg.lcores), "0");
		cfg.no_pin_main = 1;
		cfg.no_telemetry = 1;
		snprintf(cfg.file_prefix, sizeof(cfg.file_prefix), "%s", kChildPrefix);
		if (strcmp(spec, "reap") == 0)
			_exit(tarn_init(&cfg) == 0 && tarn_cleanup() == 0 ? 0 : 1);
		uint16_t p;
		struct tarn_mempool *mp = nullptr;
		int rc = tarn_init(&cfg);
		if (rc == 0) {
			mp = tarn_pktmbuf_pool_create("axdp_child", 1024, 0, 0,
			                              TARN_MBUF_DEFAULT_BUF_SIZE, TARN_SOCKET_ANY);
			rc = mp == nullptr ? -ENOMEM : tarn_eth_dev_create(spec, &p);
		}
		if (rc == 0)
			rc = tarn_eth_dev_configure(p, 1, 1, nullptr);
		if (rc == 0)
			rc = tarn_eth_tx_queue_setup(p, 0, 256, TARN_SOCKET_ANY);
		if (rc == 0)
			rc = tarn_eth_rx_queue_setup(p, 0, 256, TARN_SOCKET_ANY, mp);
		if (rc == 0)
			rc = tarn_eth_dev_start(p);
		printf("%s\n", rc == 0 ? "ready" : "failed");
		fflush(stdout);
		if (rc != 0)
			_exit(1);
		for (;;)
			pause();
	}
};
const CrashChild crash_child;

::testing::Environment *const xdp_env = ::testing::AddGlobalTestEnvironment(new XdpEnv);

class Xdp : public VethTest
{
      protected:
	void TearDown() override
	{
		VethTest::TearDown();
		if (!v0.empty()) {
			EXPECT_EQ(xdp_attached(v0), "") << "XDP program left on " << v0;
		}
	}
	std::string spec(const std::string &extra = "")
	{
		return "af_xdp:iface=" + v0 + (extra.empty() ? "" : "," + extra);
	}
};

// Data cases, once per XDP mode.
class XdpData : public Xdp, public ::testing::WithParamInterface<const char *>
{
      protected:
	std::string dspec(const std::string &extra = "")
	{
		return spec(std::string("mode=") + GetParam() + (extra.empty() ? "" : "," + extra));
	}
	// What `ip link` shows for this mode.
	std::string ip_kind() const
	{
		return std::string(GetParam()) == "native" ? "xdp" : "xdpgeneric";
	}
};

uint32_t seq_of(const struct tarn_mbuf *m)
{
	uint32_t s;
	memcpy(&s, tarn_pktmbuf_mtod_offset(m, const uint8_t *, 14), 4);
	return s;
}

// ---------------------------------------------------------------------------
// Lifecycle and errors

TEST_F(Xdp, LifecycleAttachesOnlyWhileStarted)
{
	NEED_XDP();
	Pool pool;
	uint16_t p;
	ASSERT_EQ(open_port(spec("name=xdp0"), pool.mp, &p, 1, false), 0) << Log::all();
	struct tarn_eth_dev_info info;
	ASSERT_EQ(tarn_eth_dev_info_get(p, &info), 0);
	EXPECT_STREQ(info.driver_name, "af_xdp");
	EXPECT_STREQ(info.name, "xdp0");
	EXPECT_EQ(info.mtu, (uint32_t)std::stoul(sysfs(v0, "mtu")));
	char mac[18];
	EXPECT_EQ(std::string(tarn_ether_format_addr(mac, sizeof(mac), &info.mac)),
	          sysfs(v0, "address"));
	EXPECT_EQ(xdp_attached(v0), "") << "nothing attached before start";

	for (int round = 0; round < 2; round++) {
		Log::clear();
		ASSERT_EQ(tarn_eth_dev_start(p), 0) << Log::all();
		// auto on veth: native (the veth driver has XDP); the log says
		// which mode and that there is no zero-copy.
		EXPECT_TRUE(Log::contains("XDP in native mode")) << Log::all();
		EXPECT_TRUE(Log::contains("copy mode (no zero-copy)")) << Log::all();
		std::string name;
		EXPECT_EQ(xdp_attached(v0, &name), "xdp");
		EXPECT_EQ(name.rfind("tarnxsk_", 0), 0u) << name;
		EXPECT_EQ(tarn_mempool_in_use_count(pool.mp), 256u)
		    << "the fill ring holds nb_desc";
		struct tarn_eth_link link;
		ASSERT_EQ(tarn_eth_link_get(p, &link), 0);
		EXPECT_EQ(link.up, 1);
		EXPECT_EQ(link.speed_mbps, 10000u) << "veth reports 10 Gbit/s";
		EXPECT_EQ(tarn_eth_dev_stop(p), 0);
		EXPECT_EQ(xdp_attached(v0), "") << "detached at stop";
		EXPECT_EQ(tarn_mempool_in_use_count(pool.mp), 0u);
	}
	EXPECT_EQ(tarn_eth_dev_close(p), 0);
	EXPECT_EQ(tarn_eth_dev_count(), 0u);
}

TEST_F(Xdp, CreateErrors)
{
	NEED_XDP();
	uint16_t p = 77;
	struct Case {
		std::string spec;
		int rc;
		std::string log;
	};
	const std::vector<Case> cases = {
		{ "af_xdp", -EINVAL, "needs iface=NAME" },
		{ "af_xdp:queue=0", -EINVAL, "needs iface=NAME" },
		{ "af_xdp:iface=tarnnosuch0", -ENODEV, "no interface named 'tarnnosuch0'" },
		{ "af_xdp:iface=abcdefghijklmnop", -EINVAL, "not an interface name" },
		{ "af_xdp:iface=lo", -EINVAL, "not an Ethernet interface" },
		{ spec("bogus=1"), -EINVAL, "bogus" },
		{ spec("queue=abc"), -EINVAL, "queue" },
		{ spec("queue=1"), -EINVAL, "queue 1 is out of range" },
		{ spec("queue=70000"), -EINVAL, "queue" },
		{ spec("queues=0"), -EINVAL, "queues" },
		{ spec("queues=2"), -EINVAL, "queues 0..1 are out of range" },
		{ spec("queues=17"), -EINVAL, "queues" },
		{ spec("mode=fast"), -EINVAL, "mode 'fast': expected auto" },
		{ spec("zerocopy=maybe"), -EINVAL, "zerocopy 'maybe': expected auto" },
		{ spec("busy_poll=x"), -EINVAL, "busy_poll" },
		{ spec("busy_poll=2000000"), -EINVAL, "busy_poll" },
		{ spec("attach=glue"), -EINVAL, "attach 'glue': expected link" },
	};
	for (const auto &c : cases) {
		Log::clear();
		EXPECT_EQ(tarn_eth_dev_create(c.spec.c_str(), &p), c.rc) << c.spec;
		EXPECT_TRUE(Log::contains(c.log)) << c.spec << ": " << Log::all();
		EXPECT_EQ(p, 77) << c.spec;
		EXPECT_EQ(tarn_eth_dev_count(), 0u) << c.spec;
	}
	// The queue message names the interface's queues.
	Log::clear();
	EXPECT_EQ(tarn_eth_dev_create(spec("queue=1").c_str(), &p), -EINVAL);
	EXPECT_TRUE(Log::contains("queue 1 is out of range: " + v0 + " has 1 queue (0..0)"))
	    << Log::all();

	// Two ports cannot share a queue; valid specs work.
	uint16_t a, b;
	ASSERT_EQ(tarn_eth_dev_create(spec("mode=generic,zerocopy=off,busy_poll=0").c_str(), &a), 0)
	    << Log::all();
	Log::clear();
	EXPECT_EQ(tarn_eth_dev_create(spec("name=second").c_str(), &b), -EBUSY);
	EXPECT_TRUE(Log::contains("queue 0 of " + v0 + " is already used by port")) << Log::all();
	EXPECT_EQ(tarn_eth_dev_close(a), 0);
	ASSERT_EQ(tarn_eth_dev_create(
	              spec("queue=0,queues=1,mode=auto,zerocopy=auto,attach=legacy").c_str(), &a),
	          0)
	    << Log::all();
	EXPECT_EQ(tarn_eth_dev_close(a), 0);
}

// A thread without CAP_NET_RAW (capabilities are per thread) cannot open an
// AF_XDP socket: create says to run as root.
TEST_F(Xdp, NotRoot)
{
	NEED_XDP();
	int rc = 1;
	std::string err;
	std::thread t([&] {
		struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
		struct __user_cap_data_struct d[2];
		if (syscall(SYS_capget, &h, d) != 0) {
			err = "capget failed";
			return;
		}
		for (int cap : { CAP_NET_RAW, CAP_NET_ADMIN, CAP_SYS_ADMIN, CAP_BPF })
			d[cap / 32].effective &= ~(1u << (cap % 32));
		if (syscall(SYS_capset, &h, d) != 0) {
			err = std::string("capset: ") + strerror(errno);
			return;
		}
		uint16_t p;
		rc = tarn_eth_dev_create(spec().c_str(), &p);
	});
	t.join();
	ASSERT_TRUE(err.empty()) << err;
	EXPECT_EQ(rc, -EPERM);
	EXPECT_TRUE(Log::contains("run as root")) << Log::all();
	EXPECT_EQ(tarn_eth_dev_count(), 0u);
}

TEST_F(Xdp, StartErrors)
{
	NEED_XDP();
	Pool pool;
	uint16_t p;
	// veth has no zero-copy AF_XDP: zerocopy=on fails at start, clearly.
	ASSERT_EQ(open_port(spec("zerocopy=on"), pool.mp, &p, 1, false), 0) << Log::all();
	Log::clear();
	EXPECT_LT(tarn_eth_dev_start(p), 0);
	EXPECT_TRUE(Log::contains("zerocopy=on")) << Log::all();
	EXPECT_TRUE(Log::contains("use zerocopy=auto or off")) << Log::all();
	EXPECT_EQ(xdp_attached(v0), "");
	EXPECT_EQ(tarn_mempool_in_use_count(pool.mp), 0u);
	EXPECT_EQ(tarn_eth_dev_close(p), 0);

	// Interface down.
	ASSERT_EQ(open_port(spec(), pool.mp, &p, 1, false), 0) << Log::all();
	ASSERT_EQ(set_up(v0, false), 0);
	Log::clear();
	EXPECT_EQ(tarn_eth_dev_start(p), -ENETDOWN);
	EXPECT_TRUE(Log::contains("is down")) << Log::all();
	ASSERT_EQ(set_up(v0, true), 0);
	EXPECT_EQ(tarn_eth_dev_start(p), 0) << Log::all();
	EXPECT_EQ(tarn_eth_dev_close(p), 0);

	// A pool whose data room cannot be a frame; queues beyond queues=.
	struct tarn_mempool *small =
	    tarn_pktmbuf_pool_create("axdp_small", 64, 0, 0, 1024, TARN_SOCKET_ANY);
	ASSERT_NE(small, nullptr);
	ASSERT_EQ(tarn_eth_dev_create(spec().c_str(), &p), 0);
	ASSERT_EQ(tarn_eth_dev_configure(p, 2, 2, nullptr), 0);
	Log::clear();
	EXPECT_EQ(tarn_eth_rx_queue_setup(p, 0, 64, TARN_SOCKET_ANY, small), -EINVAL);
	EXPECT_TRUE(Log::contains("smaller data room")) << Log::all();
	Log::clear();
	EXPECT_EQ(tarn_eth_rx_queue_setup(p, 1, 64, TARN_SOCKET_ANY, pool.mp), -EINVAL);
	EXPECT_TRUE(Log::contains("the port has queues=1")) << Log::all();
	EXPECT_EQ(tarn_eth_dev_close(p), 0);
	tarn_mempool_free(small, TARN_MEMPOOL_FREE_FORCE);
}

// ---------------------------------------------------------------------------
// Data

TEST_P(XdpData, RxExactBytesInOrderWithoutCopy)
{
	NEED_XDP();
	Pool pool;
	uint16_t p;
	ASSERT_EQ(open_port(dspec(), pool.mp, &p), 0) << Log::all();
	EXPECT_EQ(xdp_attached(v0), ip_kind());
	Peer peer(ns, p0);
	ASSERT_GE(peer.fd, 0);
	const Bytes dst = mac_of(v0), src = { 0x02, 0, 0, 0, 0, 0x42 };
	std::vector<Bytes> sent;
	uint64_t bytes = 0;
	for (uint32_t i = 0; i < 200; i++) {
		sent.push_back(make_frame(dst, src, i, 60 + (i * 37) % 1455));
		bytes += sent.back().size();
		ASSERT_TRUE(peer.send(sent.back()));
	}
	auto got = rx_n(p, 0, sent.size());
	ASSERT_EQ(got.size(), sent.size());
	for (size_t i = 0; i < got.size(); i++) {
		EXPECT_EQ(bytes_of(got[i]), sent[i]) << "packet " << i;
		EXPECT_EQ(got[i]->pkt_len, sent[i].size());
		EXPECT_EQ(got[i]->nb_segs, 1u);
		EXPECT_EQ(got[i]->port, p);
		EXPECT_EQ(got[i]->pool, pool.mp) << "an mbuf of the UMEM's pool";
		EXPECT_EQ(got[i]->data_off, 256u) << "written in place, after XDP_PACKET_HEADROOM";
		EXPECT_EQ(tarn_mbuf_refcnt_read(got[i]), 1u);
	}
	struct tarn_mbuf *extra[8];
	usleep(20000);
	EXPECT_EQ(tarn_eth_rx_burst(p, 0, extra, 8), 0) << "nothing else arrives";
	// A burst that finds nothing tops the fill ring up: 256 frames stay
	// posted while the application holds what it received.
	EXPECT_EQ(tarn_mempool_in_use_count(pool.mp), 256u + got.size());
	free_all(got);
	struct tarn_eth_stats st;
	ASSERT_EQ(tarn_eth_stats_get(p, &st), 0);
	EXPECT_EQ(st.ipackets, sent.size());
	EXPECT_EQ(st.ibytes, bytes);
	EXPECT_EQ(st.ierrors + st.imissed + st.rx_nombuf, 0u);
	EXPECT_EQ(tarn_eth_dev_close(p), 0);
	EXPECT_EQ(tarn_mempool_in_use_count(pool.mp), 0u);
}

TEST_P(XdpData, TxExactBytesToPeer)
{
	NEED_XDP();
	Pool pool, other;
	uint16_t p;
	ASSERT_EQ(open_port(dspec(), pool.mp, &p), 0) << Log::all();
	Peer peer(ns, p0);
	ASSERT_GE(peer.fd, 0);
	const Bytes dst = mac_of(p0), src = mac_of(v0);
	std::vector<Bytes> want;
	std::vector<struct tarn_mbuf *> pkts;
	for (uint32_t i = 0; i < 120; i++) {
		Bytes b = make_frame(dst, src, i, 60 + (i * 53) % 1455);
		struct tarn_mbuf *m;
		switch (i % 4) {
		case 0: // the UMEM's pool: zero copy
			m = pool.pkt(b);
			break;
		case 1: // another pool: copied
			m = other.pkt(b);
			break;
		case 2: // a chain: copied
			m = other.chain(b, 100);
			break;
		default: // a VLAN tag to insert: copied, tagged
			m = pool.pkt(b);
			ASSERT_NE(m, nullptr);
			m->ol_flags |= TARN_MBUF_F_TX_VLAN;
			m->vlan_tci = (uint16_t)(100 + i);
			b = with_tag(b, 0x8100, (uint16_t)(100 + i));
			break;
		}
		ASSERT_NE(m, nullptr);
		pkts.push_back(m);
		want.push_back(b);
	}
	ASSERT_EQ(tx_all(p, 0, pkts), pkts.size());
	for (size_t i = 0; i < want.size(); i++) {
		Frame f;
		ASSERT_TRUE(peer.recv(&f)) << "packet " << i << " not received";
		// The kernel may hand the tag over out of band.
		Bytes got = f.vlan ? with_tag(f.data, f.tpid, f.tci) : f.data;
		EXPECT_EQ(got, want[i]) << "packet " << i;
	}
	// Bad lengths: taken, freed, counted.
	std::vector<struct tarn_mbuf *> bad = { pool.pkt(Bytes(10, 1)),
		                                other.pkt(make_frame(dst, src, 9, 1515)) };
	ASSERT_NE(bad[0], nullptr);
	ASSERT_NE(bad[1], nullptr);
	EXPECT_EQ(tarn_eth_tx_burst(p, 0, bad.data(), 2), 2);
	struct tarn_eth_stats st;
	ASSERT_EQ(tarn_eth_stats_get(p, &st), 0);
	EXPECT_EQ(st.opackets, want.size());
	EXPECT_EQ(st.oerrors, 2u);
	EXPECT_EQ(tarn_eth_dev_close(p), 0);
	EXPECT_EQ(tarn_mempool_in_use_count(pool.mp), 0u) << "every zero-copy frame came back";
	EXPECT_EQ(tarn_mempool_in_use_count(other.mp), 0u);
}

// Stop with frames in every ring (fill, RX, TX, completion) and start again:
// the pool counts are exact after each stop, and no mbuf is handed out twice.
TEST_P(XdpData, StartStopCyclesLoseNothing)
{
	NEED_XDP();
	Pool pool(1024);
	uint16_t p;
	// With busy polling (SO_PREFER_BUSY_POLL and SO_BUSY_POLL on each socket).
	ASSERT_EQ(open_port(dspec("busy_poll=50"), pool.mp, &p, 1, false), 0) << Log::all();
	Peer peer(ns, p0);
	ASSERT_GE(peer.fd, 0);
	const Bytes dst = mac_of(v0), src = { 0x02, 0, 0, 0, 0, 0x44 };
	std::vector<struct tarn_mbuf *> held;
	uint32_t seq = 0;
	for (int cycle = 0; cycle < 4; cycle++) {
		ASSERT_EQ(tarn_eth_dev_start(p), 0) << "cycle " << cycle << ": " << Log::all();
		EXPECT_EQ(tarn_mempool_in_use_count(pool.mp), 256u + held.size());
		const uint32_t first = seq;
		for (int i = 0; i < 100; i++)
			ASSERT_TRUE(peer.send(make_frame(dst, src, seq++, 64 + i)));
		auto got = rx_n(p, 0, 60); // 40 left in the RX ring
		ASSERT_EQ(got.size(), 60u);
		for (size_t i = 0; i < got.size(); i++)
			EXPECT_EQ(seq_of(got[i]), first + i) << "cycle " << cycle;
		// Echo 40 (zero copy) and keep 10 across the stop.
		std::vector<struct tarn_mbuf *> echo(got.begin(), got.begin() + 40);
		EXPECT_EQ(tx_all(p, 0, echo), 40u);
		held.insert(held.end(), got.begin() + 40, got.begin() + 50);
		for (size_t i = 50; i < 60; i++)
			tarn_pktmbuf_free(got[i]);
		ASSERT_EQ(tarn_eth_dev_stop(p), 0);
		EXPECT_EQ(tarn_mempool_in_use_count(pool.mp), held.size()) << "cycle " << cycle;
	}
	std::set<struct tarn_mbuf *> uniq(held.begin(), held.end());
	EXPECT_EQ(uniq.size(), held.size());
	free_all(held);
	EXPECT_EQ(tarn_mempool_in_use_count(pool.mp), 0u);
	EXPECT_EQ(tarn_mempool_avail_count(pool.mp), 1024u);
	EXPECT_EQ(tarn_eth_dev_close(p), 0);
}

// The pool runs dry: rx_nombuf counts it, the kernel drops what has no frame
// (imissed), and the queue recovers as soon as mbufs come back.
TEST_P(XdpData, PoolExhaustionAndRecovery)
{
	NEED_XDP();
	Pool pool(384);
	uint16_t p;
	ASSERT_EQ(open_port(dspec(), pool.mp, &p, 1, true, 256), 0) << Log::all();
	Peer peer(ns, p0);
	ASSERT_GE(peer.fd, 0);
	const Bytes dst = mac_of(v0), src = { 0x02, 0, 0, 0, 0, 0x46 };
	// The application takes every mbuf the fill ring does not hold.
	std::vector<struct tarn_mbuf *> hog;
	for (struct tarn_mbuf *m; (m = tarn_pktmbuf_alloc(pool.mp)) != nullptr;)
		hog.push_back(m);
	EXPECT_EQ(hog.size(), 384u - 256u);
	uint32_t seq = 0;
	for (int i = 0; i < 300; i++)
		ASSERT_TRUE(peer.send(make_frame(dst, src, seq++, 64)));
	auto got = rx_n(p, 0, 256); // only the posted frames
	EXPECT_EQ(got.size(), 256u);
	struct tarn_mbuf *pkts[32];
	// Poll until the kernel has dropped the 44 that found no frame (imissed
	// is read every 1024 bursts): on a loaded machine the veth softirq may
	// run late, and packets still in flight would arrive after the refill.
	struct tarn_eth_stats st;
	uint16_t stray = 0;
	const auto end = Clock::now() + std::chrono::seconds(10);
	do {
		for (int i = 0; i < 1024; i++) {
			const uint16_t n = tarn_eth_rx_burst(p, 0, pkts, 32);
			stray += n;
			tarn_pktmbuf_free_bulk(pkts, n);
		}
		ASSERT_EQ(tarn_eth_stats_get(p, &st), 0);
	} while (st.imissed < 300u - 256u && stray == 0 && Clock::now() < end);
	EXPECT_EQ(stray, 0u) << "received with an empty pool";
	EXPECT_EQ(st.imissed, 300u - 256u) << "the kernel's drops (no frame), within 10 s";
	EXPECT_EQ(st.ipackets, 256u);
	EXPECT_EQ(st.rx_nombuf, 256u) << "each frame the pool could not give, once";
	EXPECT_EQ(tarn_mempool_in_use_count(pool.mp), 384u);
	// Everything back: the queue refills and receives again.
	free_all(got);
	free_all(hog);
	EXPECT_EQ(tarn_eth_rx_burst(p, 0, pkts, 32), 0);
	EXPECT_EQ(tarn_mempool_in_use_count(pool.mp), 256u) << "fill ring topped up";
	const uint32_t first = seq;
	for (int i = 0; i < 50; i++)
		ASSERT_TRUE(peer.send(make_frame(dst, src, seq++, 100)));
	got = rx_n(p, 0, 50);
	ASSERT_EQ(got.size(), 50u);
	for (size_t i = 0; i < got.size(); i++)
		EXPECT_EQ(seq_of(got[i]), first + i);
	free_all(got);
	ASSERT_EQ(tarn_eth_stats_get(p, &st), 0);
	EXPECT_EQ(st.rx_nombuf, 256u);
	ASSERT_EQ(tarn_eth_dev_stop(p), 0);
	ASSERT_EQ(tarn_eth_stats_get(p, &st), 0);
	EXPECT_EQ(st.imissed, 300u - 256u) << "the kernel's drops (no frame)";
	EXPECT_EQ(tarn_mempool_in_use_count(pool.mp), 0u);
	EXPECT_EQ(tarn_eth_dev_close(p), 0);
}

// A link flap under a running port: TX refuses while the interface is down
// (the caller keeps the packets), both directions work again once it is up,
// and nothing is lost or leaked.
TEST_P(XdpData, LinkFlapLosesNothing)
{
	NEED_XDP();
	Pool pool(1024);
	uint16_t p;
	ASSERT_EQ(open_port(dspec(), pool.mp, &p), 0) << Log::all();
	Peer peer(ns, p0);
	ASSERT_GE(peer.fd, 0);
	const Bytes to_peer = mac_of(p0), to_us = mac_of(v0), src = { 0x02, 0, 0, 0, 0, 0x47 };
	ASSERT_EQ(set_up(v0, false), 0);
	struct tarn_eth_link link;
	ASSERT_EQ(tarn_eth_link_get(p, &link), 0);
	EXPECT_EQ(link.up, 0);
	// The first burst finds the interface down when it kicks the kernel;
	// later ones refuse until it is up.
	struct tarn_mbuf *m = pool.pkt(make_frame(to_peer, src, 1, 80));
	ASSERT_NE(m, nullptr);
	uint16_t taken = tarn_eth_tx_burst(p, 0, &m, 1);
	if (taken == 0)
		tarn_pktmbuf_free(m);
	m = pool.pkt(make_frame(to_peer, src, 2, 80));
	ASSERT_NE(m, nullptr);
	EXPECT_EQ(tarn_eth_tx_burst(p, 0, &m, 1), 0) << "TX refused while down";
	tarn_pktmbuf_free(m);
	ASSERT_EQ(set_up(v0, true), 0);
	for (int i = 0; i < 200; i++) { // carrier comes back
		ASSERT_EQ(tarn_eth_link_get(p, &link), 0);
		if (link.up)
			break;
		usleep(10000);
	}
	EXPECT_EQ(link.up, 1);
	// Both ways again, exact bytes.
	std::vector<struct tarn_mbuf *> out;
	for (uint32_t i = 0; i < 20; i++)
		out.push_back(pool.pkt(make_frame(to_peer, src, 100 + i, 90)));
	EXPECT_EQ(tx_all(p, 0, out), 20u);
	Frame f;
	uint32_t want = 100, seen = 0;
	while (peer.recv(&f, 500)) {
		if (f.data.size() < 18 || f.data[12] != 0x88 || f.data[13] != 0xb5)
			continue;
		uint32_t s;
		memcpy(&s, &f.data[14], 4);
		if (s < 100)
			continue; // the packet taken as the link went down, if it went
		EXPECT_EQ(s, want++);
		EXPECT_EQ(f.data, make_frame(to_peer, src, s, 90));
		if (++seen == 20)
			break;
	}
	EXPECT_EQ(seen, 20u);
	// Right after the flap, veth may drop what the peer sends before its
	// receive path is back (counted as the peer's TX drops, before any XDP
	// program sees them): probe until a packet comes through, drain, then
	// check exactly.
	bool through = false;
	struct tarn_mbuf *pk[32];
	for (uint32_t k = 0; k < 100 && !through; k++) {
		ASSERT_TRUE(peer.send(make_frame(to_us, src, 150, 70)));
		usleep(20000);
		for (uint16_t n; (n = tarn_eth_rx_burst(p, 0, pk, 32)) != 0; through = true)
			for (uint16_t i = 0; i < n; i++)
				tarn_pktmbuf_free(pk[i]);
	}
	ASSERT_TRUE(through) << "nothing from the peer after the flap";
	usleep(20000);
	for (uint16_t n; (n = tarn_eth_rx_burst(p, 0, pk, 32)) != 0;)
		for (uint16_t i = 0; i < n; i++)
			tarn_pktmbuf_free(pk[i]);
	for (uint32_t i = 0; i < 20; i++)
		ASSERT_TRUE(peer.send(make_frame(to_us, src, 200 + i, 70)));
	auto got = rx_n(p, 0, 20);
	ASSERT_EQ(got.size(), 20u);
	for (size_t i = 0; i < got.size(); i++)
		EXPECT_EQ(bytes_of(got[i]), make_frame(to_us, src, 200 + (uint32_t)i, 70));
	free_all(got);
	ASSERT_EQ(tarn_eth_dev_stop(p), 0);
	EXPECT_EQ(tarn_mempool_in_use_count(pool.mp), 0u);
	EXPECT_EQ(tarn_eth_dev_close(p), 0);
}

INSTANTIATE_TEST_SUITE_P(Modes, XdpData, ::testing::Values("generic", "native"),
                         [](const ::testing::TestParamInfo<const char *> &i) {
	                         return std::string(i.param);
                         });

// ---------------------------------------------------------------------------
// A process killed while its port runs

// Run this binary as a child with TARN_AXDP_CHILD=spec, its stdout on
// `out_fd` (-1: inherited). Returns its pid, or -1.
pid_t spawn_child(const std::string &spec, int out_fd, int close_fd)
{
	pid_t pid = fork();
	if (pid == 0) {
		if (out_fd >= 0)
			dup2(out_fd, 1);
		if (close_fd >= 0)
			close(close_fd);
		setenv("TARN_AXDP_CHILD", spec.c_str(), 1);
		// This binary: its path as run (under valgrind /proc/self/exe is
		// valgrind's own), else /proc/self/exe.
		const char *self = strchr(program_invocation_name, '/') != nullptr
		                       ? program_invocation_name
		                       : "/proc/self/exe";
		execl(self, "test_af_xdp", "--gtest_filter=-*", (char *)nullptr);
		_exit(127);
	}
	return pid;
}

// The hugetlbfs files of process `pid` under the child's prefix.
std::vector<std::string> child_huge_files(pid_t pid)
{
	std::vector<std::string> out;
	const std::string head =
	    std::string(kChildPrefix) + ".tarnseg." + std::to_string(pid) + ".";
	std::ifstream mounts("/proc/mounts");
	std::string dev, dir, type, rest;
	while (mounts >> dev >> dir >> type && std::getline(mounts, rest)) {
		if (type != "hugetlbfs")
			continue;
		DIR *d = opendir(dir.c_str());
		if (d == nullptr)
			continue;
		while (struct dirent *e = readdir(d))
			if (strncmp(e->d_name, head.c_str(), head.size()) == 0)
				out.push_back(dir + "/" + e->d_name);
		closedir(d);
	}
	return out;
}

// Start `spec` in a child (this binary, TARN_AXDP_CHILD), kill it with
// SIGKILL once its port runs, then remove what the kill left in hugetlbfs
// (a reaping child: tarn_init() of the same prefix) and check that nothing
// of it is left. Returns its pid (0 on failure).
pid_t run_and_kill(const std::string &spec)
{
	int fds[2];
	if (pipe(fds) != 0)
		return 0;
	pid_t pid = spawn_child(spec, fds[1], fds[0]);
	close(fds[1]);
	if (pid < 0) {
		close(fds[0]);
		return 0;
	}
	char buf[16] = {};
	struct pollfd pfd = { fds[0], POLLIN, 0 };
	bool ready = poll(&pfd, 1, 10000) == 1 && read(fds[0], buf, sizeof(buf) - 1) > 0 &&
	             strncmp(buf, "ready", 5) == 0;
	close(fds[0]);
	kill(pid, SIGKILL);
	waitpid(pid, nullptr, 0);
	int st = -1;
	const pid_t reaper = spawn_child("reap", -1, -1);
	EXPECT_GT(reaper, 0) << "fork: " << strerror(errno);
	if (reaper > 0) {
		waitpid(reaper, &st, 0);
		EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << "the reaping child failed";
	}
	const auto left = child_huge_files(pid);
	EXPECT_TRUE(left.empty()) << "hugetlbfs files of the killed child left: " << left[0];
	return ready ? pid : 0;
}

TEST_F(Xdp, CrashLeavesNoProgram)
{
	NEED_XDP();
	// bpf_link (default): the kernel detaches the program with the process.
	ASSERT_NE(run_and_kill(spec()), 0) << "the child could not start its port";
	EXPECT_TRUE(xdp_gone(v0)) << "program left after SIGKILL: " << xdp_attached(v0);

	// attach=legacy: the program stays, named after the dead process; the
	// next create on the interface removes it.
	const pid_t pid = run_and_kill(spec("attach=legacy,mode=generic"));
	ASSERT_NE(pid, 0) << "the child could not start its port";
	std::string name;
	EXPECT_EQ(xdp_attached(v0, &name), "xdpgeneric");
	char want[32];
	snprintf(want, sizeof(want), "tarnxsk_%x", (unsigned)pid);
	EXPECT_EQ(name, want);
	Pool pool;
	uint16_t p;
	Log::clear();
	ASSERT_EQ(open_port(spec(), pool.mp, &p), 0) << Log::all();
	EXPECT_TRUE(Log::contains("that process " + std::to_string(pid) + " left attached"))
	    << Log::all();
	EXPECT_EQ(xdp_attached(v0), "xdp");
	EXPECT_EQ(tarn_eth_dev_close(p), 0);
}

} // namespace
