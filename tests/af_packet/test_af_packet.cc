// SPDX-License-Identifier: BSD-3-Clause
// af_packet driver tests, on veth pairs: scripts/netns-run.sh makes them
// (TARN_VETH0 here, its peer TARN_VETH0_PEER in the namespace TARN_NETNS) and
// removes them afterwards; a test that needs a pair of its own (interface
// taken down or deleted under the port) makes tv<PID>h<K>/tv<PID>p<K> in this
// namespace, which a guard and the script both delete.
//
// Cases: lifecycle (create, start, stop, restart, close; link, MTU and MAC
// from the interface), every create/start error (no iface, no such
// interface, bad keys and values, framesz too small for the MTU, not an
// Ethernet interface, no CAP_NET_RAW, interface down), exact bytes in order
// from the peer (one packet per mbuf and chained), exact bytes to the peer
// (chains, VLAN and QinQ insertion, bad lengths), VLAN tags the kernel
// stripped, fanout over 4 RX queues, exact statistics (reset, kernel drops,
// nombuf), promiscuous mode in the interface flags, MTU and MAC set on the
// interface, an interface taken down and one deleted under a running port,
// and a threaded echo run while the control path reads and changes things.
// The data cases run for each ring choice: rxring v2/v3 x tx mmsg/ring.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
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

namespace
{

using Log = TestLog;

// ---------------------------------------------------------------------------
// Environment

// NEED_VETH(), in_ns(), OwnPair, the far end (RawPeer), the
// frame builders and the pool/port helpers: ../common/netns_env.h.

using Peer = RawPeer;

unsigned long if_flags_sysfs(const std::string &ifname)
{
	return std::stoul(sysfs(ifname, "flags"), nullptr, 16);
}

// ---------------------------------------------------------------------------
// Frames

// IPv4/UDP frame of flow `flow` (source address and port vary).
Bytes make_udp(const Bytes &dst, const Bytes &src, uint32_t flow, uint32_t seq)
{
	Bytes b(80, 0);
	memcpy(&b[0], dst.data(), 6);
	memcpy(&b[6], src.data(), 6);
	b[12] = 0x08;
	b[13] = 0x00;
	uint8_t *ip = &b[14];
	ip[0] = 0x45;
	ip[2] = 0, ip[3] = 66;
	ip[8] = 64;
	ip[9] = 17;
	ip[12] = 10, ip[13] = 9, ip[14] = (uint8_t)(flow >> 8), ip[15] = (uint8_t)flow;
	ip[16] = 10, ip[17] = 8, ip[18] = 0, ip[19] = 1;
	uint8_t *udp = ip + 20;
	uint16_t sport = (uint16_t)(1000 + flow * 7);
	udp[0] = (uint8_t)(sport >> 8), udp[1] = (uint8_t)sport;
	udp[2] = 0x13, udp[3] = 0x88;
	udp[5] = 46;
	memcpy(&b[50], &flow, 4);
	memcpy(&b[54], &seq, 4);
	return b;
}

// ---------------------------------------------------------------------------
// Pools and ports

struct Pool : PoolBase {
	explicit Pool(unsigned n = 2048, uint16_t room = TARN_MBUF_DEFAULT_BUF_SIZE)
	    : PoolBase("afp_test_", n, room)
	{
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
		uint16_t n = tarn_eth_rx_burst(port, q, pkts, 64);
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

::testing::Environment *const afp_env =
    ::testing::AddGlobalTestEnvironment(new NetEnv("tarn-test-afp"));

class Afp : public VethTest
{
      protected:
	std::string spec(const std::string &extra = "")
	{
		return "af_packet:iface=" + v0 + (extra.empty() ? "" : "," + extra);
	}
};

// Data cases, once per ring choice.
class AfpData : public Afp, public ::testing::WithParamInterface<const char *>
{
      protected:
	// The spec of a port on `ifname` (default: TARN_VETH0) with this
	// instance's ring choice and `extra` keys.
	std::string dspec(const std::string &extra = "", const std::string &ifname = "")
	{
		std::string s = "af_packet:iface=" + (ifname.empty() ? v0 : ifname);
		for (const std::string &kv : { std::string(GetParam()), extra })
			if (!kv.empty())
				s += "," + kv;
		return s;
	}
};

// ---------------------------------------------------------------------------
// Lifecycle and errors

TEST_F(Afp, LifecycleAndInterfaceProperties)
{
	NEED_VETH();
	Pool pool;
	uint16_t p;
	ASSERT_EQ(open_port(spec("name=afp0"), pool.mp, &p, 1, false), 0) << Log::all();

	struct tarn_eth_dev_info info;
	ASSERT_EQ(tarn_eth_dev_info_get(p, &info), 0);
	EXPECT_STREQ(info.driver_name, "af_packet");
	EXPECT_STREQ(info.name, "afp0");
	EXPECT_EQ(info.mtu, (uint32_t)std::stoul(sysfs(v0, "mtu")));
	char mac[18];
	EXPECT_EQ(std::string(tarn_ether_format_addr(mac, sizeof(mac), &info.mac)),
	          sysfs(v0, "address"));
	EXPECT_EQ(info.promiscuous, 0);

	struct tarn_eth_link link;
	ASSERT_EQ(tarn_eth_dev_start(p), 0) << Log::all();
	ASSERT_EQ(tarn_eth_link_get(p, &link), 0);
	EXPECT_EQ(link.up, 1);
	EXPECT_EQ(link.speed_mbps, 10000u) << "veth reports 10 Gbit/s";
	EXPECT_EQ(link.full_duplex, 1);

	EXPECT_EQ(tarn_eth_dev_stop(p), 0);
	ASSERT_EQ(tarn_eth_dev_start(p), 0) << "restart after stop: " << Log::all();
	EXPECT_EQ(tarn_eth_dev_stop(p), 0);
	EXPECT_EQ(tarn_eth_dev_close(p), 0);
	EXPECT_EQ(tarn_eth_dev_count(), 0u);
}

TEST_F(Afp, CreateErrors)
{
	NEED_VETH();
	uint16_t p = 77;
	struct Case {
		std::string spec;
		int rc;
		const char *log;
	};
	const std::vector<Case> cases = {
		{ "af_packet", -EINVAL, "needs iface=NAME" },
		{ "af_packet:qpairs=2", -EINVAL, "needs iface=NAME" },
		{ "af_packet:iface=tarnnosuch0", -ENODEV, "no interface named 'tarnnosuch0'" },
		{ "af_packet:iface=abcdefghijklmnop", -EINVAL, "not an interface name" },
		{ "af_packet:iface=lo", -EINVAL, "not an Ethernet interface" },
		{ spec("bogus=1"), -EINVAL, "bogus" },
		{ spec("qpairs=0"), -EINVAL, "qpairs" },
		{ spec("qpairs=17"), -EINVAL, "qpairs" },
		{ spec("framesz=abc"), -EINVAL, "framesz" },
		{ spec("framesz=2040"), -EINVAL, "not a multiple of 16" },
		{ spec("framesz=64"), -EINVAL, "framesz" },
		{ spec("framecnt=0"), -EINVAL, "framecnt" },
		{ spec("blocksz=5000"), -EINVAL, "multiple of the page size" },
		{ spec("framesz=8192,blocksz=4096"), -EINVAL, "at least framesz" },
		{ spec("rxring=v4"), -EINVAL, "expected v2" },
		{ spec("tx=fast"), -EINVAL, "expected mmsg" },
		{ spec("qdisc_bypass=2"), -EINVAL, "qdisc_bypass" },
		// MTU 1500 needs 1500 + 18 + 66 = 1584.
		{ spec("framesz=1024"), -EINVAL, "framesz 1024 cannot hold a packet of MTU 1500" },
		{ spec("framesz=1568"), -EINVAL, "needs framesz >= 1584" },
	};
	for (const auto &c : cases) {
		Log::clear();
		EXPECT_EQ(tarn_eth_dev_create(c.spec.c_str(), &p), c.rc) << c.spec;
		EXPECT_TRUE(Log::contains(c.log)) << c.spec << ": " << Log::all();
		EXPECT_EQ(p, 77) << c.spec;
		EXPECT_EQ(tarn_eth_dev_count(), 0u) << c.spec;
	}
	// The smallest frame that holds the MTU is fine.
	ASSERT_EQ(tarn_eth_dev_create(spec("framesz=1584").c_str(), &p), 0) << Log::all();
	EXPECT_EQ(tarn_eth_dev_close(p), 0);
}

// A thread without CAP_NET_RAW in its effective set (capabilities are per
// thread) cannot create a port.
TEST_F(Afp, NoCapNetRaw)
{
	NEED_VETH();
	int rc = 1;
	std::string err;
	std::thread t([&] {
		struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
		struct __user_cap_data_struct d[2];
		if (syscall(SYS_capget, &h, d) != 0) {
			err = "capget failed";
			return;
		}
		d[CAP_NET_RAW / 32].effective &= ~(1u << (CAP_NET_RAW % 32));
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
	EXPECT_TRUE(Log::contains("CAP_NET_RAW")) << Log::all();
	EXPECT_EQ(tarn_eth_dev_count(), 0u);
}

TEST_F(Afp, StartErrorsAndLinkDown)
{
	NEED_VETH();
	OwnPair pair(8);
	ASSERT_TRUE(pair.ok) << "cannot make a veth pair";
	Pool pool;
	uint16_t p;
	ASSERT_EQ(open_port("af_packet:iface=" + pair.a, pool.mp, &p, 1, false), 0) << Log::all();

	// Administratively down: start fails and says so.
	ASSERT_EQ(set_up(pair.a, false), 0);
	Log::clear();
	EXPECT_EQ(tarn_eth_dev_start(p), -ENETDOWN);
	EXPECT_TRUE(Log::contains("is down")) << Log::all();
	struct tarn_eth_link link;
	ASSERT_EQ(tarn_eth_link_get(p, &link), 0);
	EXPECT_EQ(link.up, 0);

	// Up but no carrier (the peer is down): it starts, link down.
	ASSERT_EQ(set_up(pair.a, true), 0);
	ASSERT_EQ(set_up(pair.b, false), 0);
	Log::clear();
	ASSERT_EQ(tarn_eth_dev_start(p), 0) << Log::all();
	EXPECT_TRUE(Log::contains("no carrier")) << Log::all();
	ASSERT_EQ(tarn_eth_link_get(p, &link), 0);
	EXPECT_EQ(link.up, 0);
	EXPECT_EQ(link.speed_mbps, 0u);
	// Carrier back: link up.
	ASSERT_EQ(set_up(pair.b, true), 0);
	ASSERT_EQ(tarn_eth_link_get(p, &link), 0);
	EXPECT_EQ(link.up, 1);

	// Queues beyond qpairs.
	uint16_t q;
	ASSERT_EQ(tarn_eth_dev_create(spec("qpairs=2,name=qp").c_str(), &q), 0);
	ASSERT_EQ(tarn_eth_dev_configure(q, 4, 4, nullptr), 0);
	Log::clear();
	EXPECT_EQ(tarn_eth_rx_queue_setup(q, 2, 64, TARN_SOCKET_ANY, pool.mp), -EINVAL);
	EXPECT_TRUE(Log::contains("qpairs=2")) << Log::all();
	EXPECT_EQ(tarn_eth_tx_queue_setup(q, 3, 64, TARN_SOCKET_ANY), -EINVAL);
	EXPECT_EQ(tarn_eth_rx_queue_setup(q, 1, 64, TARN_SOCKET_ANY, pool.mp), 0);
	// A pool without data room.
	struct tarn_mempool *bare =
	    tarn_pktmbuf_pool_create("afp_bare", 64, 0, 0, 0, TARN_SOCKET_ANY);
	ASSERT_NE(bare, nullptr);
	EXPECT_EQ(tarn_eth_rx_queue_setup(q, 0, 64, TARN_SOCKET_ANY, bare), -EINVAL);
	EXPECT_EQ(tarn_eth_dev_close(q), 0);
	tarn_mempool_free(bare, TARN_MEMPOOL_FREE_FORCE);
	EXPECT_EQ(tarn_eth_dev_close(p), 0);
}

TEST_F(Afp, MtuAndMac)
{
	NEED_VETH();
	OwnPair pair(9);
	ASSERT_TRUE(pair.ok);
	uint16_t p;
	ASSERT_EQ(tarn_eth_dev_create(("af_packet:iface=" + pair.a).c_str(), &p), 0);
	uint32_t mtu = 0;
	ASSERT_EQ(tarn_eth_dev_get_mtu(p, &mtu), 0);
	EXPECT_EQ(mtu, 1500u);

	// framesz 2048 holds up to MTU 2048 - 84 = 1964.
	Log::clear();
	EXPECT_EQ(tarn_eth_dev_set_mtu(p, 1965), -EINVAL);
	EXPECT_TRUE(Log::contains("framesz 2048 cannot hold a packet of MTU 1965")) << Log::all();
	EXPECT_EQ(sysfs(pair.a, "mtu"), "1500");
	EXPECT_EQ(tarn_eth_dev_set_mtu(p, 1964), 0) << Log::all();
	EXPECT_EQ(sysfs(pair.a, "mtu"), "1964");
	EXPECT_EQ(tarn_eth_dev_set_mtu(p, 1400), 0);
	EXPECT_EQ(sysfs(pair.a, "mtu"), "1400");
	ASSERT_EQ(tarn_eth_dev_get_mtu(p, &mtu), 0);
	EXPECT_EQ(mtu, 1400u);

	struct tarn_ether_addr mac;
	ASSERT_EQ(tarn_ether_parse_addr("02:11:22:33:44:55", &mac), 0);
	EXPECT_EQ(tarn_eth_macaddr_set(p, &mac), 0) << Log::all();
	EXPECT_EQ(sysfs(pair.a, "address"), "02:11:22:33:44:55");
	EXPECT_EQ(tarn_eth_dev_close(p), 0);

	// mac= at create goes to the interface; the MTU is read back.
	ASSERT_EQ(tarn_eth_dev_create(
	              ("af_packet:iface=" + pair.a + ",mac=02:66:77:88:99:aa").c_str(), &p),
	          0)
	    << Log::all();
	EXPECT_EQ(sysfs(pair.a, "address"), "02:66:77:88:99:aa");
	ASSERT_EQ(tarn_eth_dev_get_mtu(p, &mtu), 0);
	EXPECT_EQ(mtu, 1400u);
	EXPECT_EQ(tarn_eth_dev_close(p), 0);

	// An MTU the frames cannot hold at create.
	ASSERT_EQ(sh("ip link set " + pair.a + " mtu 3000"), 0);
	Log::clear();
	EXPECT_EQ(tarn_eth_dev_create(("af_packet:iface=" + pair.a).c_str(), &p), -EINVAL);
	EXPECT_TRUE(Log::contains("needs framesz >= 3088")) << Log::all();
	ASSERT_EQ(tarn_eth_dev_create(("af_packet:iface=" + pair.a + ",framesz=3088").c_str(), &p),
	          0)
	    << Log::all();
	EXPECT_EQ(tarn_eth_dev_close(p), 0);
}

TEST_F(Afp, Promiscuous)
{
	NEED_VETH();
	uint16_t p;
	ASSERT_EQ(tarn_eth_dev_create(spec().c_str(), &p), 0);
	EXPECT_EQ(if_flags_sysfs(v0) & IFF_PROMISC, 0u);
	EXPECT_EQ(tarn_eth_promiscuous_enable(p), 0);
	EXPECT_EQ(tarn_eth_promiscuous_get(p), 1);
	EXPECT_NE(if_flags_sysfs(v0) & IFF_PROMISC, 0u);
	EXPECT_EQ(tarn_eth_promiscuous_enable(p), 0); // twice: still one membership
	EXPECT_EQ(tarn_eth_promiscuous_disable(p), 0);
	EXPECT_EQ(tarn_eth_promiscuous_get(p), 0);
	EXPECT_EQ(if_flags_sysfs(v0) & IFF_PROMISC, 0u);
	// Close drops it.
	EXPECT_EQ(tarn_eth_promiscuous_enable(p), 0);
	EXPECT_NE(if_flags_sysfs(v0) & IFF_PROMISC, 0u);
	EXPECT_EQ(tarn_eth_dev_close(p), 0);
	EXPECT_EQ(if_flags_sysfs(v0) & IFF_PROMISC, 0u);

	// configure's promiscuous flag is applied at start.
	Pool pool;
	ASSERT_EQ(tarn_eth_dev_create(spec().c_str(), &p), 0);
	struct tarn_eth_conf conf = {};
	conf.promiscuous = 1;
	ASSERT_EQ(tarn_eth_dev_configure(p, 1, 1, &conf), 0);
	ASSERT_EQ(tarn_eth_tx_queue_setup(p, 0, 64, TARN_SOCKET_ANY), 0);
	ASSERT_EQ(tarn_eth_rx_queue_setup(p, 0, 64, TARN_SOCKET_ANY, pool.mp), 0);
	ASSERT_EQ(tarn_eth_dev_start(p), 0);
	EXPECT_NE(if_flags_sysfs(v0) & IFF_PROMISC, 0u);
	EXPECT_EQ(tarn_eth_dev_close(p), 0);
	EXPECT_EQ(if_flags_sysfs(v0) & IFF_PROMISC, 0u);
}

// ---------------------------------------------------------------------------
// Data

TEST_P(AfpData, RxExactBytesInOrder)
{
	NEED_VETH();
	Pool pool;
	uint16_t p;
	ASSERT_EQ(open_port(dspec(), pool.mp, &p), 0) << Log::all();
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
		EXPECT_EQ(got[i]->ol_flags, 0u);
	}
	free_all(got);
	struct tarn_mbuf *extra[8];
	usleep(20000);
	EXPECT_EQ(tarn_eth_rx_burst(p, 0, extra, 8), 0) << "nothing else arrives";

	struct tarn_eth_stats st;
	ASSERT_EQ(tarn_eth_stats_get(p, &st), 0);
	EXPECT_EQ(st.ipackets, sent.size());
	EXPECT_EQ(st.ibytes, bytes);
	EXPECT_EQ(st.ierrors + st.imissed + st.rx_nombuf, 0u);
	struct tarn_eth_queue_stats qs;
	ASSERT_EQ(tarn_eth_rx_queue_stats_get(p, 0, &qs), 0);
	EXPECT_EQ(qs.packets, sent.size());
	EXPECT_EQ(qs.bytes, bytes);
	ASSERT_EQ(tarn_eth_stats_reset(p), 0);
	ASSERT_EQ(tarn_eth_stats_get(p, &st), 0);
	EXPECT_EQ(st.ipackets + st.ibytes, 0u);
}

TEST_P(AfpData, RxChainedIntoSmallMbufs)
{
	NEED_VETH();
	Pool pool(512, 512 + TARN_PKTMBUF_HEADROOM);
	uint16_t p;
	ASSERT_EQ(open_port(dspec(), pool.mp, &p), 0) << Log::all();
	Peer peer(ns, p0);
	const Bytes dst = mac_of(v0), src = { 0x02, 0, 0, 0, 0, 0x43 };
	std::vector<Bytes> sent;
	for (uint32_t i = 0; i < 20; i++) {
		sent.push_back(make_frame(dst, src, i, 500 + i * 50));
		ASSERT_TRUE(peer.send(sent.back()));
	}
	auto got = rx_n(p, 0, sent.size());
	ASSERT_EQ(got.size(), sent.size());
	for (size_t i = 0; i < got.size(); i++) {
		EXPECT_EQ(bytes_of(got[i]), sent[i]) << "packet " << i;
		EXPECT_EQ(got[i]->nb_segs, (sent[i].size() + 511) / 512) << "packet " << i;
	}
	free_all(got);
}

TEST_P(AfpData, RxVlanRestored)
{
	NEED_VETH();
	Pool pool;
	uint16_t p;
	ASSERT_EQ(open_port(dspec(), pool.mp, &p), 0) << Log::all();
	Peer peer(ns, p0);
	const Bytes dst = mac_of(v0), src = { 0x02, 0, 0, 0, 0, 0x44 };
	const Bytes plain = make_frame(dst, src, 1, 100);
	// 802.1Q, PCP 5 VID 42: the kernel strips it, the driver reports it.
	ASSERT_TRUE(peer.send(with_tag(plain, 0x8100, 0xa02a)));
	// 802.1ad: stripped by the kernel too, put back in the data.
	const Bytes ad = with_tag(plain, 0x88a8, 0x0123);
	ASSERT_TRUE(peer.send(ad));
	auto got = rx_n(p, 0, 2);
	ASSERT_EQ(got.size(), 2u);
	EXPECT_EQ(got[0]->ol_flags, TARN_MBUF_F_RX_VLAN | TARN_MBUF_F_RX_VLAN_STRIPPED);
	EXPECT_EQ(got[0]->vlan_tci, 0xa02a);
	EXPECT_EQ(bytes_of(got[0]), plain);
	EXPECT_EQ(got[1]->ol_flags, 0u);
	EXPECT_EQ(bytes_of(got[1]), ad);
	free_all(got);
	struct tarn_eth_stats st;
	ASSERT_EQ(tarn_eth_stats_get(p, &st), 0);
	EXPECT_EQ(st.ibytes, plain.size() + ad.size());
}

TEST_P(AfpData, TxExactBytesToPeer)
{
	NEED_VETH();
	Pool pool;
	uint16_t p;
	ASSERT_EQ(open_port(dspec(), pool.mp, &p), 0) << Log::all();
	Peer peer(ns, p0);
	const Bytes src = mac_of(v0);
	std::vector<Bytes> sent;
	std::vector<struct tarn_mbuf *> pkts;
	uint64_t bytes = 0;
	for (uint32_t i = 0; i < 200; i++) {
		Bytes f = make_frame({ 0x02, 1, 2, 3, 4, 5 }, src, i, 60 + (i * 53) % 1455);
		// Every third packet as a chain of up to 100-byte segments.
		struct tarn_mbuf *m = i % 3 == 0 ? pool.chain(f, 100) : pool.pkt(f);
		ASSERT_NE(m, nullptr);
		pkts.push_back(m);
		bytes += f.size();
		sent.push_back(std::move(f));
	}
	ASSERT_EQ(tx_all(p, 0, pkts), pkts.size()) << Log::all();
	for (size_t i = 0; i < sent.size(); i++) {
		Frame f;
		ASSERT_TRUE(peer.recv(&f)) << "packet " << i << " did not arrive";
		EXPECT_EQ(f.data, sent[i]) << "packet " << i;
	}
	Frame f;
	EXPECT_FALSE(peer.recv(&f, 20)) << "one packet too many";
	struct tarn_eth_stats st;
	ASSERT_EQ(tarn_eth_stats_get(p, &st), 0);
	EXPECT_EQ(st.opackets, sent.size());
	EXPECT_EQ(st.obytes, bytes);
	EXPECT_EQ(st.oerrors, 0u);
	struct tarn_eth_queue_stats qs;
	ASSERT_EQ(tarn_eth_tx_queue_stats_get(p, 0, &qs), 0);
	EXPECT_EQ(qs.packets, sent.size());
	EXPECT_EQ(qs.bytes, bytes);
}

TEST_P(AfpData, TxBadLengthsTakenAndCounted)
{
	NEED_VETH();
	Pool pool;
	uint16_t p;
	ASSERT_EQ(open_port(dspec(), pool.mp, &p), 0) << Log::all();
	Peer peer(ns, p0);
	const Bytes src = mac_of(v0), dst = { 0x02, 1, 2, 3, 4, 6 };
	const Bytes good1 = make_frame(dst, src, 1, 100), good2 = make_frame(dst, src, 2, 1514);
	Bytes tagged_max = with_tag(make_frame(dst, src, 3, 1514), 0x8100, 7); // 1518, tagged: fine
	struct tarn_mbuf *pkts[6] = {
		pool.pkt(good1),
		pool.pkt(make_frame(dst, src, 9, 10)),          // shorter than a header
		pool.chain(make_frame(dst, src, 9, 1600), 600), // longer than MTU + 14
		pool.pkt(good2),
		pool.chain(make_frame(dst, src, 9, 1515), 700), // 1 byte over, untagged
		pool.chain(tagged_max, 800),
	};
	for (auto *m : pkts)
		ASSERT_NE(m, nullptr);
	EXPECT_EQ(tarn_eth_tx_burst(p, 0, pkts, 6), 6) << "bad packets are taken too";
	for (const Bytes *want : { &good1, &good2 }) {
		Frame f;
		ASSERT_TRUE(peer.recv(&f));
		EXPECT_EQ(f.data, *want);
	}
	Frame f;
	ASSERT_TRUE(peer.recv(&f));
	EXPECT_TRUE(f.vlan) << "the kernel strips the tag on the peer";
	EXPECT_EQ(f.tci, 7);
	EXPECT_EQ(f.data, make_frame(dst, src, 3, 1514));
	EXPECT_FALSE(peer.recv(&f, 20));
	struct tarn_eth_stats st;
	ASSERT_EQ(tarn_eth_stats_get(p, &st), 0);
	EXPECT_EQ(st.opackets, 3u);
	EXPECT_EQ(st.obytes, good1.size() + good2.size() + tagged_max.size());
	EXPECT_EQ(st.oerrors, 3u);
}

TEST_P(AfpData, TxVlanAndQinqInserted)
{
	NEED_VETH();
	Pool pool;
	uint16_t p;
	ASSERT_EQ(open_port(dspec(), pool.mp, &p), 0) << Log::all();
	Peer peer(ns, p0);
	const Bytes src = mac_of(v0), dst = { 0x02, 1, 2, 3, 4, 7 };
	const Bytes plain = make_frame(dst, src, 5, 200);
	struct tarn_mbuf *a = pool.pkt(plain), *b = pool.chain(plain, 7); // addresses split
	ASSERT_NE(a, nullptr);
	ASSERT_NE(b, nullptr);
	a->ol_flags = TARN_MBUF_F_TX_VLAN;
	a->vlan_tci = 0x2064;
	b->ol_flags = TARN_MBUF_F_TX_QINQ;
	b->vlan_tci_outer = 0x0011;
	b->vlan_tci = 0x0022;
	struct tarn_mbuf *pkts[2] = { a, b };
	ASSERT_EQ(tarn_eth_tx_burst(p, 0, pkts, 2), 2);
	Frame f;
	ASSERT_TRUE(peer.recv(&f));
	EXPECT_TRUE(f.vlan);
	EXPECT_EQ(f.tci, 0x2064);
	EXPECT_EQ(f.tpid, 0x8100);
	EXPECT_EQ(f.data, plain);
	ASSERT_TRUE(peer.recv(&f));
	EXPECT_TRUE(f.vlan);
	EXPECT_EQ(f.tpid, 0x88a8);
	EXPECT_EQ(f.tci, 0x0011);
	EXPECT_EQ(f.data, with_tag(plain, 0x8100, 0x0022)) << "inner tag stays in the data";
	struct tarn_eth_stats st;
	ASSERT_EQ(tarn_eth_stats_get(p, &st), 0);
	EXPECT_EQ(st.obytes, 2 * plain.size() + 4 + 8);
}

TEST_P(AfpData, FanoutSpreadsFlows)
{
	NEED_VETH();
	Pool pool(4096);
	uint16_t p;
	const uint16_t nq = 4;
	ASSERT_EQ(open_port(dspec("qpairs=4"), pool.mp, &p, nq), 0) << Log::all();
	Peer peer(ns, p0);
	const Bytes dst = mac_of(v0), src = { 0x02, 0, 0, 0, 0, 0x45 };
	const uint32_t flows = 64, per_flow = 8, total = flows * per_flow;
	for (uint32_t s = 0; s < per_flow; s++)
		for (uint32_t fl = 0; fl < flows; fl++)
			ASSERT_TRUE(peer.send(make_udp(dst, src, fl, s)));
	std::vector<std::vector<struct tarn_mbuf *>> got(nq);
	size_t n = 0;
	auto end = Clock::now() + kWait;
	while (n < total && Clock::now() < end) {
		struct tarn_mbuf *pkts[64];
		uint16_t k = 0;
		for (uint16_t q = 0; q < nq; q++) {
			k = tarn_eth_rx_burst(p, q, pkts, 64);
			got[q].insert(got[q].end(), pkts, pkts + k);
			n += k;
		}
		if (k == 0)
			usleep(100);
	}
	ASSERT_EQ(n, total);
	unsigned used = 0;
	std::map<uint32_t, std::set<uint16_t>> queues_of_flow;
	std::map<uint32_t, uint32_t> next_seq;
	for (uint16_t q = 0; q < nq; q++) {
		used += !got[q].empty();
		struct tarn_eth_queue_stats qs;
		ASSERT_EQ(tarn_eth_rx_queue_stats_get(p, q, &qs), 0);
		EXPECT_EQ(qs.packets, got[q].size());
		for (auto *m : got[q]) {
			uint32_t fl, seq;
			ASSERT_EQ(m->pkt_len, 80u);
			memcpy(&fl, tarn_pktmbuf_mtod_offset(m, uint8_t *, 50), 4);
			memcpy(&seq, tarn_pktmbuf_mtod_offset(m, uint8_t *, 54), 4);
			queues_of_flow[fl].insert(q);
			EXPECT_EQ(seq, next_seq[fl]) << "flow " << fl << " out of order";
			next_seq[fl] = seq + 1;
		}
		free_all(got[q]);
	}
	EXPECT_GE(used, 2u) << "64 flows all on one of 4 queues";
	EXPECT_EQ(queues_of_flow.size(), flows);
	for (auto &[fl, qs] : queues_of_flow)
		EXPECT_EQ(qs.size(), 1u) << "flow " << fl << " spread over queues";
	struct tarn_eth_stats st;
	ASSERT_EQ(tarn_eth_stats_get(p, &st), 0);
	EXPECT_EQ(st.ipackets, total);
}

// The pool runs dry: packets wait in the ring, nombuf says so, and they all
// arrive once mbufs are back.
TEST_P(AfpData, NombufLeavesPacketsInTheRing)
{
	NEED_VETH();
	Pool pool(16);
	uint16_t p;
	ASSERT_EQ(open_port(dspec(), pool.mp, &p, 1, true, 128), 0) << Log::all();
	Peer peer(ns, p0);
	const Bytes dst = mac_of(v0), src = { 0x02, 0, 0, 0, 0, 0x46 };
	for (uint32_t i = 0; i < 40; i++)
		ASSERT_TRUE(peer.send(make_frame(dst, src, i, 64)));
	auto held = rx_n(p, 0, 16);
	ASSERT_EQ(held.size(), 16u);
	struct tarn_mbuf *pkts[32];
	// V3: the rest of the block is handed over by the kernel's block timer;
	// poll until a burst finds those packets and no mbuf for them.
	struct tarn_eth_stats st;
	const auto end = Clock::now() + std::chrono::seconds(10);
	for (;;) {
		ASSERT_EQ(tarn_eth_rx_burst(p, 0, pkts, 32), 0) << "the pool is empty";
		ASSERT_EQ(tarn_eth_stats_get(p, &st), 0);
		if (st.rx_nombuf != 0 || Clock::now() >= end)
			break;
		usleep(100);
	}
	EXPECT_GT(st.rx_nombuf, 0u) << "no burst saw the waiting packets within 10 s";
	std::vector<uint32_t> seqs;
	for (auto *m : held) {
		uint32_t s;
		memcpy(&s, tarn_pktmbuf_mtod_offset(m, uint8_t *, 14), 4);
		seqs.push_back(s);
	}
	free_all(held);
	while (seqs.size() < 40) {
		auto more = rx_n(p, 0, std::min<size_t>(16, 40 - seqs.size()));
		if (more.empty())
			break;
		for (auto *m : more) {
			uint32_t s;
			memcpy(&s, tarn_pktmbuf_mtod_offset(m, uint8_t *, 14), 4);
			seqs.push_back(s);
		}
		free_all(more);
	}
	ASSERT_EQ(seqs.size(), 40u);
	for (uint32_t i = 0; i < 40; i++)
		EXPECT_EQ(seqs[i], i);
	ASSERT_EQ(tarn_eth_stats_get(p, &st), 0);
	EXPECT_EQ(st.ipackets, 40u);
	EXPECT_EQ(st.imissed, 0u);
}

// A small ring overflows: what arrives plus what the kernel dropped is
// exactly what was sent.
TEST_P(AfpData, KernelDropsCountedAsMissed)
{
	NEED_VETH();
	Pool pool;
	uint16_t p;
	ASSERT_EQ(open_port(dspec("framecnt=16"), pool.mp, &p), 0) << Log::all();
	Peer peer(ns, p0);
	const Bytes dst = mac_of(v0), src = { 0x02, 0, 0, 0, 0, 0x47 };
	const uint32_t sent = 600; // more than 16 frames, or 8 blocks of ~25 small packets
	for (uint32_t i = 0; i < sent; i++)
		ASSERT_TRUE(peer.send(make_frame(dst, src, i, 64)));
	uint64_t rx = 0;
	struct tarn_mbuf *pkts[64];
	struct tarn_eth_stats st;
	// Receive until every packet is accounted for (the kernel may pass them
	// late on a loaded machine), with a deadline; the drop counter is read
	// every 1024 bursts, so poll in rounds of that many.
	const auto end = Clock::now() + std::chrono::seconds(10);
	do {
		for (int i = 0; i < 1024; i++) {
			uint16_t n = tarn_eth_rx_burst(p, 0, pkts, 64);
			rx += n;
			tarn_pktmbuf_free_bulk(pkts, n);
		}
		ASSERT_EQ(tarn_eth_stats_get(p, &st), 0);
	} while (rx + st.imissed < sent && Clock::now() < end);
	// A few more rounds: nothing is counted twice.
	for (int i = 0; i < 2100; i++) {
		uint16_t n = tarn_eth_rx_burst(p, 0, pkts, 64);
		rx += n;
		tarn_pktmbuf_free_bulk(pkts, n);
	}
	ASSERT_EQ(tarn_eth_stats_get(p, &st), 0);
	EXPECT_EQ(st.ipackets, rx);
	EXPECT_GT(st.imissed, 0u);
	EXPECT_EQ(rx + st.imissed, sent) << "received " << rx << ", missed " << st.imissed;
	ASSERT_EQ(tarn_eth_dev_stop(p), 0);
	ASSERT_EQ(tarn_eth_stats_get(p, &st), 0);
	EXPECT_EQ(rx + st.imissed, sent);
}

TEST_P(AfpData, InterfaceDownThenUp)
{
	NEED_VETH();
	OwnPair pair(10);
	ASSERT_TRUE(pair.ok);
	Pool pool;
	uint16_t p;
	ASSERT_EQ(open_port(dspec("", pair.a), pool.mp, &p), 0) << Log::all();
	Peer peer("", pair.b);
	const Bytes src = mac_of(pair.a), dst = mac_of(pair.b);
	ASSERT_EQ(set_up(pair.a, false), 0);
	struct tarn_mbuf *pkts[4];
	for (auto &m : pkts)
		m = pool.pkt(make_frame(dst, src, 1, 100));
	Log::clear();
	EXPECT_EQ(tarn_eth_tx_burst(p, 0, pkts, 4), 0);
	EXPECT_EQ(tarn_eth_tx_burst(p, 0, pkts, 4), 0);
	EXPECT_TRUE(Log::contains("does not take packets")) << Log::all();
	struct tarn_eth_stats st;
	ASSERT_EQ(tarn_eth_stats_get(p, &st), 0);
	EXPECT_EQ(st.oerrors, 8u);
	EXPECT_EQ(st.opackets, 0u);
	struct tarn_eth_link link;
	ASSERT_EQ(tarn_eth_link_get(p, &link), 0);
	EXPECT_EQ(link.up, 0);
	// Back up: the same packets go, once.
	ASSERT_EQ(set_up(pair.a, true), 0);
	EXPECT_EQ(tx_all(p, 0, std::vector<struct tarn_mbuf *>(pkts, pkts + 4)), 4u);
	for (int i = 0; i < 4; i++) {
		Frame f;
		ASSERT_TRUE(peer.recv(&f)) << i;
		EXPECT_EQ(f.data, make_frame(dst, src, 1, 100));
	}
	Frame f;
	EXPECT_FALSE(peer.recv(&f, 20));
	// Receiving works again too.
	ASSERT_TRUE(peer.send(make_frame(src, dst, 2, 90)));
	auto got = rx_n(p, 0, 1);
	ASSERT_EQ(got.size(), 1u);
	EXPECT_EQ(bytes_of(got[0]), make_frame(src, dst, 2, 90));
	free_all(got);
}

TEST_P(AfpData, InterfaceDeletedUnderThePort)
{
	NEED_VETH();
	Pool pool;
	uint16_t p;
	{
		OwnPair pair(11);
		ASSERT_TRUE(pair.ok);
		ASSERT_EQ(open_port(dspec("", pair.a), pool.mp, &p, 2), 0) << Log::all();
		ASSERT_EQ(tarn_eth_promiscuous_enable(p), 0);
	} // the pair is deleted here
	struct tarn_mbuf *pkts[8];
	for (auto &m : pkts)
		m = pool.pkt(make_frame({ 2, 0, 0, 0, 0, 1 }, { 2, 0, 0, 0, 0, 2 }, 1, 64));
	Log::clear();
	for (int i = 0; i < 3; i++) {
		EXPECT_EQ(tarn_eth_tx_burst(p, 1, pkts, 8), 0);
		EXPECT_EQ(tarn_eth_rx_burst(p, 0, pkts, 8), 0);
		EXPECT_EQ(tarn_eth_rx_burst(p, 1, pkts, 8), 0);
	}
	for (auto *m : pkts)
		tarn_pktmbuf_free(m);
	struct tarn_eth_stats st;
	ASSERT_EQ(tarn_eth_stats_get(p, &st), 0);
	EXPECT_EQ(st.oerrors, 24u);
	struct tarn_eth_link link;
	EXPECT_EQ(tarn_eth_link_get(p, &link), -ENODEV);
	EXPECT_EQ(link.up, 0);
	EXPECT_TRUE(Log::contains("no longer exists")) << Log::all();
	EXPECT_EQ(tarn_eth_promiscuous_disable(p), -ENODEV);
	EXPECT_EQ(tarn_eth_dev_stop(p), 0);
	EXPECT_EQ(tarn_eth_dev_start(p), -ENODEV);
	EXPECT_EQ(tarn_eth_dev_close(p), 0);
}

// A polling thread echoes what the peer sends while the control path reads
// statistics and the link, toggles promiscuous mode and sets the MTU.
TEST_P(AfpData, ThreadedEchoWhileControlRuns)
{
	NEED_VETH();
	Pool pool(4096);
	uint16_t p;
	ASSERT_EQ(open_port(dspec(), pool.mp, &p), 0) << Log::all();
	Peer peer(ns, p0);
	const Bytes dst = mac_of(v0);
	const uint32_t total = 1000;
	std::atomic<bool> stop{ false };
	std::atomic<uint64_t> echoed{ 0 };
	std::thread poller([&] {
		struct tarn_mbuf *pkts[32];
		while (!stop.load(std::memory_order_relaxed)) {
			uint16_t n = tarn_eth_rx_burst(p, 0, pkts, 32);
			uint16_t s = 0;
			while (s < n && !stop.load(std::memory_order_relaxed))
				s += tarn_eth_tx_burst(p, 0, pkts + s, (uint16_t)(n - s));
			tarn_pktmbuf_free_bulk(pkts + s, n - s);
			echoed += s;
			if (n == 0)
				usleep(50);
		}
	});
	std::thread control([&] {
		struct tarn_eth_stats st;
		struct tarn_eth_link link;
		for (int i = 0; !stop.load(std::memory_order_relaxed); i++) {
			tarn_eth_stats_get(p, &st);
			tarn_eth_link_get(p, &link);
			if (i % 2)
				tarn_eth_promiscuous_enable(p);
			else
				tarn_eth_promiscuous_disable(p);
			tarn_eth_dev_set_mtu(p, i % 2 ? 1500 : 1400);
			usleep(1000);
		}
		tarn_eth_dev_set_mtu(p, 1500);
	});
	uint32_t back = 0, sent = 0;
	auto end = Clock::now() + std::chrono::seconds(10);
	while (back < total && Clock::now() < end) {
		for (int k = 0; k < 16 && sent < total; k++)
			ASSERT_TRUE(
			    peer.send(make_frame(dst, { 2, 0, 0, 0, 0, 0x48 }, sent++, 200)));
		Frame f;
		while (back < sent && peer.recv(&f, 200)) {
			uint32_t s;
			memcpy(&s, &f.data[14], 4);
			EXPECT_EQ(s, back) << "echo out of order";
			back++;
		}
	}
	stop = true;
	poller.join();
	control.join();
	EXPECT_EQ(back, total);
	EXPECT_EQ(echoed.load(), total);
}

INSTANTIATE_TEST_SUITE_P(Rings, AfpData,
                         ::testing::Values("", "rxring=v3", "tx=ring", "rxring=v3,tx=ring"),
                         [](const ::testing::TestParamInfo<const char *> &i) {
	                         switch (i.index) {
	                         case 0:
		                         return std::string("rx_v2_tx_mmsg");
	                         case 1:
		                         return std::string("rx_v3_tx_mmsg");
	                         case 2:
		                         return std::string("rx_v2_tx_ring");
	                         default:
		                         return std::string("rx_v3_tx_ring");
	                         }
                         });

} // namespace
