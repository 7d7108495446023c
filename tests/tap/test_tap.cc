// SPDX-License-Identifier: BSD-3-Clause
// tap driver tests, on real TAP interfaces: lifecycle (create or attach,
// start brings the interface up, stop restores it, close deletes what it
// created and restores what it attached to), every create error (bad names,
// bad queues, not a tap, busy, no CAP_NET_ADMIN, no /dev/net/tun), exact
// bytes from the kernel (an AF_PACKET socket on the interface) and to it,
// jumbo frames as chains, exact statistics (nombuf included), an interface
// taken down, moved to another namespace or deleted under a running port,
// multi-queue, and the end to end: the kernel pings from one network
// namespace to another through two tap ports forwarded by tarn-fwd.
//
// Needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN for namespaces) and
// /dev/net/tun; every test skips, saying so, without them. Interface and
// namespace names carry the process id; guards delete them on every exit.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "../common/need.h"
#include "../common/test_log.h"
#include <tarn/tarn_env.h>
#include <tarn/tarn_ethdev.h>
#include <tarn/tarn_mbuf.h>
#include <tarn/tarn_mempool.h>

extern char **environ;

namespace
{

using Log = TestLog;
using Bytes = std::vector<uint8_t>;

constexpr uint16_t kEtherType = 0x88b5; // local experimental: nothing else sends it

// ---------------------------------------------------------------------------
// Environment and skips

class TapEnv : public ::testing::Environment
{
      public:
	void SetUp() override
	{
		tarn_log_set_handler(Log::fn, nullptr);
		struct tarn_config cfg;
		ASSERT_EQ(tarn_config_init(&cfg), 0);
		snprintf(cfg.lcores, sizeof(cfg.lcores), "0");
		cfg.no_pin_main = 1;
		snprintf(cfg.file_prefix, sizeof(cfg.file_prefix), "tarn-test-tap");
		ASSERT_EQ(tarn_init(&cfg), 0);
	}
	void TearDown() override
	{
		EXPECT_EQ(tarn_cleanup(), 0);
		tarn_log_set_handler(nullptr, nullptr);
	}
};

::testing::Environment *const tap_env = ::testing::AddGlobalTestEnvironment(new TapEnv);

// Root and /dev/net/tun, or a skip (not root, a kernel without tun) or a
// failure (root, the kernel has tun, and /dev/net/tun is missing).
#define NEED_TAP()                                                                                 \
	do {                                                                                       \
		const std::string cannot__ = need::machine_cannot_tun();                           \
		if (!cannot__.empty())                                                             \
			GTEST_SKIP() << cannot__;                                                  \
		if (access("/dev/net/tun", R_OK | W_OK) != 0)                                      \
			NEED_OR_FAIL("", "/dev/net/tun missing (modprobe tun)");                   \
	} while (0)

int sh(const std::string &cmd)
{
	return system((cmd + " >/dev/null 2>&1").c_str());
}

std::string sh_out(const std::string &cmd)
{
	std::string out;
	FILE *p = popen((cmd + " 2>&1").c_str(), "r");
	if (p == nullptr)
		return out;
	char buf[512];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), p)) > 0)
		out.append(buf, n);
	pclose(p);
	return out;
}

// A name of at most 15 characters unique to this process.
std::string ifname(const char *tag)
{
	return "tt" + std::to_string(getpid() % 1000000) + tag;
}

// Deletes the interfaces and namespaces a test made, however it ends.
struct Cleanup {
	std::vector<std::string> ifaces, netns;
	~Cleanup()
	{
		for (auto &i : ifaces)
			sh("ip link del " + i);
		for (auto &n : netns)
			sh("ip netns del " + n);
	}
};

// ---------------------------------------------------------------------------
// Interfaces seen from the test

bool if_exists(const std::string &n)
{
	return if_nametoindex(n.c_str()) != 0;
}

int if_ioctl(const std::string &n, unsigned long req, struct ifreq *ifr)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	snprintf(ifr->ifr_name, sizeof(ifr->ifr_name), "%s", n.c_str());
	int rc = ioctl(s, req, ifr) < 0 ? -errno : 0;
	close(s);
	return rc;
}

short if_flags(const std::string &n)
{
	struct ifreq ifr = {};
	EXPECT_EQ(if_ioctl(n, SIOCGIFFLAGS, &ifr), 0) << n;
	return ifr.ifr_flags;
}

void if_set_up(const std::string &n, bool up)
{
	struct ifreq ifr = {};
	ASSERT_EQ(if_ioctl(n, SIOCGIFFLAGS, &ifr), 0);
	ifr.ifr_flags = (short)(up ? ifr.ifr_flags | IFF_UP : ifr.ifr_flags & ~IFF_UP);
	ASSERT_EQ(if_ioctl(n, SIOCSIFFLAGS, &ifr), 0);
}

int if_mtu(const std::string &n)
{
	struct ifreq ifr = {};
	EXPECT_EQ(if_ioctl(n, SIOCGIFMTU, &ifr), 0) << n;
	return ifr.ifr_mtu;
}

void if_set_mtu(const std::string &n, int mtu)
{
	struct ifreq ifr = {};
	ifr.ifr_mtu = mtu;
	ASSERT_EQ(if_ioctl(n, SIOCSIFMTU, &ifr), 0);
}

struct tarn_ether_addr if_mac(const std::string &n)
{
	struct ifreq ifr = {};
	struct tarn_ether_addr a = {};
	EXPECT_EQ(if_ioctl(n, SIOCGIFHWADDR, &ifr), 0) << n;
	memcpy(a.addr_bytes, ifr.ifr_hwaddr.sa_data, 6);
	return a;
}

bool mac_eq(const struct tarn_ether_addr &a, const struct tarn_ether_addr &b)
{
	return memcmp(a.addr_bytes, b.addr_bytes, 6) == 0;
}

// No IPv6 on a test interface: no router solicitations or MLD reports
// mixed into the exact counts.
void no_ipv6(const std::string &n)
{
	std::string p = "/proc/sys/net/ipv6/conf/" + n + "/disable_ipv6";
	FILE *f = fopen(p.c_str(), "w");
	if (f != nullptr) {
		fputs("1", f);
		fclose(f);
	}
}

// An AF_PACKET socket on an interface: what the kernel sends out of it
// reaches the tap port; what it receives from the port shows up here.
struct PacketSock {
	int fd = -1;
	int ifindex = 0;
	explicit PacketSock(const std::string &n)
	{
		fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
		EXPECT_GE(fd, 0) << strerror(errno);
		ifindex = (int)if_nametoindex(n.c_str());
		struct sockaddr_ll sll = {};
		sll.sll_family = AF_PACKET;
		sll.sll_protocol = htons(ETH_P_ALL);
		sll.sll_ifindex = ifindex;
		EXPECT_EQ(bind(fd, (struct sockaddr *)&sll, sizeof(sll)), 0) << strerror(errno);
	}
	~PacketSock()
	{
		if (fd >= 0)
			close(fd);
	}
	void send(const Bytes &f)
	{
		ASSERT_EQ(::send(fd, f.data(), f.size(), 0), (ssize_t)f.size()) << strerror(errno);
	}
	// Frames of kEtherType the interface received, until `want` or a timeout.
	std::vector<Bytes> recv(size_t want, int timeout_ms = 3000)
	{
		std::vector<Bytes> got;
		auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
		while (got.size() < want && std::chrono::steady_clock::now() < end) {
			struct pollfd p = { fd, POLLIN, 0 };
			if (poll(&p, 1, 50) <= 0)
				continue;
			uint8_t buf[65536];
			struct sockaddr_ll from = {};
			socklen_t fl = sizeof(from);
			ssize_t r =
			    recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
			if (r < 14 || from.sll_pkttype == PACKET_OUTGOING)
				continue;
			if (buf[12] != (kEtherType >> 8) || buf[13] != (kEtherType & 0xff))
				continue;
			got.emplace_back(buf, buf + r);
		}
		return got;
	}
};

// A frame of `len` bytes: broadcast, kEtherType, a payload made from `seed`.
Bytes frame(size_t len, uint8_t seed)
{
	Bytes f(len);
	memset(f.data(), 0xff, 6);
	const uint8_t src[6] = { 0x02, 0, 0, 0, 0x99, seed };
	memcpy(f.data() + 6, src, 6);
	f[12] = kEtherType >> 8;
	f[13] = kEtherType & 0xff;
	for (size_t i = 14; i < len; i++)
		f[i] = (uint8_t)(i * 7 + seed);
	return f;
}

// ---------------------------------------------------------------------------
// Ports and mbufs

void close_all_ports()
{
	int p;
	TARN_ETH_FOREACH_DEV(p)
	{
		tarn_eth_dev_close((uint16_t)p);
	}
}

// An mbuf pool for one test. Its destructor closes every port first (their
// queues hold mbufs of it), then fails the test if an mbuf is still out.
struct Pool {
	struct tarn_mempool *mp;
	explicit Pool(unsigned n = 512, unsigned cache = 0)
	{
		static int seq;
		std::string name = "tap_test_" + std::to_string(seq++);
		mp = tarn_pktmbuf_pool_create(name.c_str(), n, cache, 0, TARN_MBUF_DEFAULT_BUF_SIZE,
		                              TARN_SOCKET_ANY);
		EXPECT_NE(mp, nullptr) << tarn_strerror(tarn_errno);
	}
	~Pool()
	{
		close_all_ports();
		if (mp == nullptr)
			return;
		tarn_mempool_cache_flush(mp, TARN_MEMPOOL_FLUSH_SELF);
		EXPECT_EQ(tarn_mempool_in_use_count(mp), 0u) << "mbufs leaked";
		tarn_mempool_free(mp, TARN_MEMPOOL_FREE_FORCE);
	}
};

class Tap : public ::testing::Test
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

uint16_t create(const std::string &spec)
{
	uint16_t p = UINT16_MAX;
	EXPECT_EQ(tarn_eth_dev_create(spec.c_str(), &p), 0) << spec << "\n" << Log::all();
	return p;
}

// Configure `nq` queue pairs on `mp` and start.
void bring_up(uint16_t port, struct tarn_mempool *mp, uint16_t nq = 1)
{
	ASSERT_EQ(tarn_eth_dev_configure(port, nq, nq, nullptr), 0) << Log::all();
	for (uint16_t q = 0; q < nq; q++) {
		ASSERT_EQ(tarn_eth_tx_queue_setup(port, q, 0, TARN_SOCKET_ANY), 0) << Log::all();
		ASSERT_EQ(tarn_eth_rx_queue_setup(port, q, 0, TARN_SOCKET_ANY, mp), 0)
		    << Log::all();
	}
	ASSERT_EQ(tarn_eth_dev_start(port), 0) << Log::all();
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

// Receive until `want` packets (or a timeout) from every queue of `port`.
std::vector<struct tarn_mbuf *> rx_wait(uint16_t port, size_t want, uint16_t nq = 1,
                                        int timeout_ms = 3000)
{
	std::vector<struct tarn_mbuf *> got;
	auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
	while (got.size() < want && std::chrono::steady_clock::now() < end) {
		bool any = false;
		for (uint16_t q = 0; q < nq; q++) {
			struct tarn_mbuf *pkts[32];
			uint16_t n = tarn_eth_rx_burst(port, q, pkts, 32);
			got.insert(got.end(), pkts, pkts + n);
			any |= n > 0;
		}
		if (!any)
			std::this_thread::sleep_for(std::chrono::milliseconds(1));
	}
	return got;
}

void free_all(std::vector<struct tarn_mbuf *> &v)
{
	tarn_pktmbuf_free_bulk(v.data(), (unsigned)v.size());
	v.clear();
}

struct tarn_mbuf *mbuf_of(struct tarn_mempool *mp, const Bytes &b, size_t off, size_t len)
{
	struct tarn_mbuf *m = tarn_pktmbuf_alloc(mp);
	EXPECT_NE(m, nullptr);
	char *d = tarn_pktmbuf_append(m, (uint16_t)len);
	EXPECT_NE(d, nullptr);
	memcpy(d, b.data() + off, len);
	return m;
}

struct tarn_eth_stats stats(uint16_t port)
{
	struct tarn_eth_stats st = {};
	EXPECT_EQ(tarn_eth_stats_get(port, &st), 0);
	return st;
}

// ---------------------------------------------------------------------------
// Lifecycle

TEST_F(Tap, CreatesStartsStopsAndDeletesItsInterface)
{
	NEED_TAP();
	Cleanup c;
	const std::string n = ifname("a");
	c.ifaces.push_back(n);
	Pool pool;
	uint16_t p = create("tap:iface=" + n);
	ASSERT_TRUE(if_exists(n));

	// The port's MAC and MTU are the interface's.
	struct tarn_eth_dev_info info;
	ASSERT_EQ(tarn_eth_dev_info_get(p, &info), 0);
	EXPECT_STREQ(info.driver_name, "tap");
	EXPECT_EQ(info.mtu, (uint32_t)if_mtu(n));
	EXPECT_TRUE(mac_eq(info.mac, if_mac(n)));
	EXPECT_FALSE(if_flags(n) & IFF_UP);

	struct tarn_eth_link link;
	ASSERT_EQ(tarn_eth_link_get(p, &link), 0);
	EXPECT_EQ(link.up, 0);

	no_ipv6(n);
	bring_up(p, pool.mp);
	EXPECT_TRUE(if_flags(n) & IFF_UP);
	ASSERT_EQ(tarn_eth_link_get(p, &link), 0);
	EXPECT_EQ(link.up, 1);
	EXPECT_EQ(link.speed_mbps, 10000u);
	EXPECT_EQ(link.full_duplex, 1);

	// The link follows the interface.
	if_set_up(n, false);
	ASSERT_EQ(tarn_eth_link_get(p, &link), 0);
	EXPECT_EQ(link.up, 0);
	if_set_up(n, true);

	ASSERT_EQ(tarn_eth_dev_stop(p), 0);
	EXPECT_FALSE(if_flags(n) & IFF_UP) << "stop restores the down state";
	ASSERT_EQ(tarn_eth_dev_start(p), 0);
	EXPECT_TRUE(if_flags(n) & IFF_UP);
	ASSERT_EQ(tarn_eth_dev_close(p), 0);
	EXPECT_FALSE(if_exists(n)) << "close deletes an interface the driver created";
}

TEST_F(Tap, DefaultNameIsTarnTapAndPortId)
{
	NEED_TAP();
	uint16_t p = create("tap");
	const std::string n = "tarn_tap" + std::to_string(p);
	Cleanup c;
	c.ifaces.push_back(n);
	EXPECT_TRUE(if_exists(n));
	ASSERT_EQ(tarn_eth_dev_close(p), 0);
	EXPECT_FALSE(if_exists(n));
}

TEST_F(Tap, AttachesToAnExistingTapAndLeavesItAsFound)
{
	NEED_TAP();
	Cleanup c;
	const std::string n = ifname("b");
	c.ifaces.push_back(n);
	ASSERT_EQ(sh("ip tuntap add dev " + n + " mode tap"), 0);
	if_set_mtu(n, 1400);
	no_ipv6(n);
	const struct tarn_ether_addr mac0 = if_mac(n);
	Pool pool;

	uint16_t p = create("tap:iface=" + n);
	uint32_t mtu = 0;
	ASSERT_EQ(tarn_eth_dev_get_mtu(p, &mtu), 0);
	EXPECT_EQ(mtu, 1400u);

	const struct tarn_ether_addr mac1 = { { 0x02, 0x11, 0x22, 0x33, 0x44, 0x55 } };
	ASSERT_EQ(tarn_eth_macaddr_set(p, &mac1), 0);
	ASSERT_EQ(tarn_eth_dev_set_mtu(p, 1300), 0);
	ASSERT_EQ(tarn_eth_promiscuous_enable(p), 0);
	bring_up(p, pool.mp);
	EXPECT_TRUE(mac_eq(if_mac(n), mac1));
	EXPECT_EQ(if_mtu(n), 1300);
	EXPECT_TRUE(if_flags(n) & IFF_PROMISC);
	EXPECT_TRUE(if_flags(n) & IFF_UP);

	ASSERT_EQ(tarn_eth_dev_close(p), 0);
	ASSERT_TRUE(if_exists(n)) << "close leaves an interface it attached to";
	EXPECT_TRUE(mac_eq(if_mac(n), mac0));
	EXPECT_EQ(if_mtu(n), 1400);
	EXPECT_FALSE(if_flags(n) & IFF_PROMISC);
	EXPECT_FALSE(if_flags(n) & IFF_UP);
}

TEST_F(Tap, MacMtuAndPromiscuousModeApplyToTheInterface)
{
	NEED_TAP();
	Cleanup c;
	const std::string n = ifname("c");
	c.ifaces.push_back(n);
	Pool pool;
	uint16_t p = create("tap:iface=" + n + ",mac=02:aa:bb:cc:dd:01");
	EXPECT_TRUE(mac_eq(if_mac(n), { { 0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0x01 } }));

	const struct tarn_ether_addr m2 = { { 0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0x02 } };
	ASSERT_EQ(tarn_eth_macaddr_set(p, &m2), 0);
	EXPECT_TRUE(mac_eq(if_mac(n), m2));

	ASSERT_EQ(tarn_eth_promiscuous_enable(p), 0);
	EXPECT_TRUE(if_flags(n) & IFF_PROMISC);
	ASSERT_EQ(tarn_eth_promiscuous_disable(p), 0);
	EXPECT_FALSE(if_flags(n) & IFF_PROMISC);

	// configure()'s MTU and promiscuous mode are applied at start.
	struct tarn_eth_conf conf = {};
	conf.mtu = 2000;
	conf.promiscuous = 1;
	ASSERT_EQ(tarn_eth_dev_configure(p, 1, 1, &conf), 0);
	ASSERT_EQ(tarn_eth_tx_queue_setup(p, 0, 0, TARN_SOCKET_ANY), 0);
	ASSERT_EQ(tarn_eth_rx_queue_setup(p, 0, 0, TARN_SOCKET_ANY, pool.mp), 0);
	no_ipv6(n);
	ASSERT_EQ(tarn_eth_dev_start(p), 0) << Log::all();
	EXPECT_EQ(if_mtu(n), 2000);
	EXPECT_TRUE(if_flags(n) & IFF_PROMISC);

	// While started too; the interface's own limits still apply.
	ASSERT_EQ(tarn_eth_dev_set_mtu(p, 9000), 0);
	EXPECT_EQ(if_mtu(n), 9000);

	// An MTU changed behind tarn's back is picked up at the next start.
	ASSERT_EQ(tarn_eth_dev_stop(p), 0);
	if_set_mtu(n, 1600);
	ASSERT_EQ(tarn_eth_dev_start(p), 0);
	uint32_t mtu = 0;
	ASSERT_EQ(tarn_eth_dev_get_mtu(p, &mtu), 0);
	EXPECT_EQ(mtu, 1600u);
}

// ---------------------------------------------------------------------------
// Errors

TEST_F(Tap, BadSpecsAreRefusedWithAReason)
{
	NEED_TAP();
	Cleanup c;
	uint16_t p = UINT16_MAX;
	struct Case {
		std::string spec;
		int rc;
		const char *log;
	};
	const std::vector<Case> cases = {
		{ "tap:iface=abcdefghijklmnop", -EINVAL, "characters long" },
		{ "tap:iface=a/b", -EINVAL, "not a valid interface name" },
		{ "tap:iface=a:b", -EINVAL, "not a valid interface name" },
		{ "tap:iface=.", -EINVAL, "not a valid interface name" },
		{ "tap:iface=..", -EINVAL, "not a valid interface name" },
		{ "tap:iface=tt%d", -EINVAL, "not a valid interface name" },
		{ "tap:iface=" + ifname("x") + ",queues=0", -EINVAL, "queues" },
		{ "tap:iface=" + ifname("x") + ",queues=17", -EINVAL, "queues" },
		{ "tap:iface=" + ifname("x") + ",queues=two", -EINVAL, "queues" },
		{ "tap:iface=" + ifname("x") + ",speed=10", -EINVAL, "unknown key" },
	};
	for (const auto &k : cases) {
		Log::clear();
		EXPECT_EQ(tarn_eth_dev_create(k.spec.c_str(), &p), k.rc) << k.spec;
		EXPECT_TRUE(Log::contains(k.log)) << k.spec << ": " << Log::all();
	}
	EXPECT_FALSE(if_exists(ifname("x")));
	EXPECT_EQ(p, UINT16_MAX) << "port_id untouched on failure";
	EXPECT_EQ(tarn_eth_dev_count(), 0u);
}

TEST_F(Tap, ExistingInterfacesThatAreNotUsableAreRefused)
{
	NEED_TAP();
	Cleanup c;
	uint16_t p;
	const std::string v = ifname("v"), w = ifname("w"), u = ifname("u"), s = ifname("s");
	c.ifaces = { v, u, s };
	ASSERT_EQ(sh("ip link add " + v + " type veth peer name " + w), 0);
	ASSERT_EQ(sh("ip tuntap add dev " + u + " mode tun"), 0);
	ASSERT_EQ(sh("ip tuntap add dev " + s + " mode tap"), 0);

	Log::clear();
	EXPECT_EQ(tarn_eth_dev_create(("tap:iface=" + v).c_str(), &p), -EINVAL);
	EXPECT_TRUE(Log::contains("is not a tap device")) << Log::all();
	Log::clear();
	EXPECT_EQ(tarn_eth_dev_create(("tap:iface=" + u).c_str(), &p), -EINVAL);
	EXPECT_TRUE(Log::contains("is a tun (layer 3) device")) << Log::all();
	Log::clear();
	EXPECT_EQ(tarn_eth_dev_create(("tap:iface=" + s + ",queues=2").c_str(), &p), -EINVAL);
	EXPECT_TRUE(Log::contains("single-queue")) << Log::all();

	// A single-queue tap has one user.
	uint16_t p1 = create("tap:iface=" + s);
	Log::clear();
	EXPECT_EQ(tarn_eth_dev_create(("tap:iface=" + s + ",name=second").c_str(), &p), -EBUSY);
	EXPECT_TRUE(Log::contains("in use by another program")) << Log::all();
	ASSERT_EQ(tarn_eth_dev_close(p1), 0);
	EXPECT_TRUE(if_exists(s));
	EXPECT_TRUE(if_exists(v));
	EXPECT_TRUE(if_exists(u));
}

TEST_F(Tap, QueuesBeyondQueuesKeyAreRefusedAtSetup)
{
	NEED_TAP();
	Cleanup c;
	const std::string n = ifname("q");
	c.ifaces.push_back(n);
	Pool pool;
	uint16_t p = create("tap:iface=" + n);
	ASSERT_EQ(tarn_eth_dev_configure(p, 2, 2, nullptr), 0);
	ASSERT_EQ(tarn_eth_rx_queue_setup(p, 0, 0, TARN_SOCKET_ANY, pool.mp), 0);
	Log::clear();
	EXPECT_EQ(tarn_eth_rx_queue_setup(p, 1, 0, TARN_SOCKET_ANY, pool.mp), -EINVAL);
	EXPECT_TRUE(Log::contains("add queues=N")) << Log::all();
	EXPECT_EQ(tarn_eth_tx_queue_setup(p, 1, 0, TARN_SOCKET_ANY), -EINVAL);
	EXPECT_EQ(tarn_eth_dev_start(p), -EINVAL);
}

// Capabilities are per thread: drop CAP_NET_ADMIN in a thread and create there.
TEST_F(Tap, WithoutCapNetAdminCreateIsEperm)
{
	if (access("/dev/net/tun", R_OK | W_OK) != 0)
		NEED_OR_FAIL(geteuid() != 0 ? "needs /dev/net/tun (modprobe tun)"
		                            : need::machine_cannot_tun(),
		             "/dev/net/tun missing (modprobe tun)");
	Cleanup c;
	const std::string n = ifname("p");
	c.ifaces.push_back(n);
	if (geteuid() != 0) {
		// Not root: the plain case.
		uint16_t p;
		EXPECT_EQ(tarn_eth_dev_create(("tap:iface=" + n).c_str(), &p), -EPERM);
		EXPECT_TRUE(Log::contains("needs CAP_NET_ADMIN")) << Log::all();
		return;
	}
	int rc = 1;
	bool dropped = false;
	std::thread t([&] {
		struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
		struct __user_cap_data_struct d[2];
		if (syscall(SYS_capget, &h, d) != 0)
			return;
		d[CAP_NET_ADMIN / 32].effective &= ~(1u << (CAP_NET_ADMIN % 32));
		if (syscall(SYS_capset, &h, d) != 0)
			return;
		dropped = true;
		uint16_t p;
		rc = tarn_eth_dev_create(("tap:iface=" + n).c_str(), &p);
	});
	t.join();
	ASSERT_TRUE(dropped) << "capget/capset: root could not drop CAP_NET_ADMIN in a thread";
	EXPECT_EQ(rc, -EPERM);
	EXPECT_TRUE(Log::contains("needs CAP_NET_ADMIN")) << Log::all();
	EXPECT_FALSE(if_exists(n));
	EXPECT_EQ(tarn_eth_dev_count(), 0u);
}

// A thread with a mount namespace of its own, /dev/net hidden under a tmpfs.
TEST_F(Tap, WithoutDevNetTunCreateIsEnodev)
{
	NEED_TAP();
	int rc = 1;
	std::string why;
	std::thread t([&] {
		if (unshare(CLONE_NEWNS) != 0) {
			why = std::string("unshare(CLONE_NEWNS): ") + strerror(errno);
			return;
		}
		// Private first, so the tmpfs stays in this thread's namespace.
		// ("none", not NULL: the kernel ignores them, valgrind checks them)
		if (mount("none", "/", "none", MS_REC | MS_PRIVATE, nullptr) != 0) {
			why = std::string("mount private: ") + strerror(errno);
			return;
		}
		if (mount("tmpfs", "/dev/net", "tmpfs", 0, "size=16k") != 0) {
			why = std::string("mount tmpfs on /dev/net: ") + strerror(errno);
			return;
		}
		uint16_t p;
		rc = tarn_eth_dev_create(("tap:iface=" + ifname("n")).c_str(), &p);
	});
	t.join();
	ASSERT_TRUE(why.empty()) << "root could not hide /dev/net/tun: " << why;
	EXPECT_EQ(rc, -ENODEV);
	EXPECT_TRUE(Log::contains("modprobe tun")) << Log::all();
	EXPECT_EQ(access("/dev/net/tun", F_OK), 0) << "the host's /dev/net/tun is untouched";
}

// ---------------------------------------------------------------------------
// Data path

TEST_F(Tap, ReceivesExactBytesFromTheKernel)
{
	NEED_TAP();
	Cleanup c;
	const std::string n = ifname("r");
	c.ifaces.push_back(n);
	Pool pool;
	uint16_t p = create("tap:iface=" + n);
	no_ipv6(n);
	bring_up(p, pool.mp);
	PacketSock ps(n);

	const std::vector<size_t> sizes = { 14, 60, 64, 100, 1000, 1514 };
	std::vector<Bytes> sent;
	uint64_t total = 0;
	for (size_t i = 0; i < sizes.size(); i++) {
		sent.push_back(frame(sizes[i], (uint8_t)i));
		ps.send(sent.back());
		total += sizes[i];
	}
	auto got = rx_wait(p, sent.size());
	ASSERT_EQ(got.size(), sent.size()) << Log::all();
	for (size_t i = 0; i < got.size(); i++) {
		EXPECT_EQ(mbuf_bytes(got[i]), sent[i]) << "frame " << i;
		EXPECT_EQ(got[i]->pkt_len, sizes[i]);
		EXPECT_EQ(got[i]->nb_segs, 1);
		EXPECT_EQ(got[i]->port, p);
		EXPECT_EQ(tarn_mbuf_check(got[i], 1, nullptr), 0);
	}
	free_all(got);
	struct tarn_eth_stats st = stats(p);
	EXPECT_EQ(st.ipackets, sent.size());
	EXPECT_EQ(st.ibytes, total);
	EXPECT_EQ(st.ierrors, 0u);
	EXPECT_EQ(st.rx_nombuf, 0u);
	struct tarn_eth_queue_stats qs;
	ASSERT_EQ(tarn_eth_rx_queue_stats_get(p, 0, &qs), 0);
	EXPECT_EQ(qs.packets, sent.size());
	EXPECT_EQ(qs.bytes, total);
}

TEST_F(Tap, JumboFramesArriveAsChains)
{
	NEED_TAP();
	Cleanup c;
	const std::string n = ifname("j");
	c.ifaces.push_back(n);
	Pool pool;
	uint16_t p = create("tap:iface=" + n);
	no_ipv6(n);
	bring_up(p, pool.mp);
	ASSERT_EQ(tarn_eth_dev_set_mtu(p, 9000), 0);
	PacketSock ps(n);
	const Bytes big = frame(9014, 3), small = frame(60, 4);
	ps.send(big);
	ps.send(small);
	auto got = rx_wait(p, 2);
	ASSERT_EQ(got.size(), 2u) << Log::all();
	EXPECT_EQ(got[0]->pkt_len, 9014u);
	EXPECT_EQ(got[0]->nb_segs, 5) << "2048-byte rooms";
	EXPECT_EQ(mbuf_bytes(got[0]), big);
	EXPECT_EQ(tarn_mbuf_check(got[0], 1, nullptr), 0);
	EXPECT_EQ(mbuf_bytes(got[1]), small);
	free_all(got);
	EXPECT_EQ(stats(p).ibytes, 9014u + 60u);
	EXPECT_EQ(stats(p).ierrors, 0u);
}

// The MTU raised with ioctl, not through tarn: the first long frame is cut
// by the kernel and counted; the queue reads chains from then on.
TEST_F(Tap, MtuRaisedBehindTheDriversBackCostsOneFrame)
{
	NEED_TAP();
	Cleanup c;
	const std::string n = ifname("m");
	c.ifaces.push_back(n);
	Pool pool;
	uint16_t p = create("tap:iface=" + n);
	no_ipv6(n);
	bring_up(p, pool.mp);
	if_set_mtu(n, 4000);
	PacketSock ps(n);
	const Bytes a = frame(4014, 5), b = frame(4014, 6);
	ps.send(a);
	ps.send(b);
	auto got = rx_wait(p, 1);
	ASSERT_EQ(got.size(), 1u) << Log::all();
	EXPECT_EQ(mbuf_bytes(got[0]), b);
	EXPECT_EQ(got[0]->nb_segs, 2);
	free_all(got);
	struct tarn_eth_stats st = stats(p);
	EXPECT_EQ(st.ipackets, 1u);
	EXPECT_EQ(st.ierrors, 1u);
	EXPECT_TRUE(Log::contains("longer than an mbuf")) << Log::all();
}

TEST_F(Tap, TransmitsExactBytesToTheKernel)
{
	NEED_TAP();
	Cleanup c;
	const std::string n = ifname("t");
	c.ifaces.push_back(n);
	Pool pool;
	uint16_t p = create("tap:iface=" + n);
	no_ipv6(n);
	bring_up(p, pool.mp);
	PacketSock ps(n);

	std::vector<Bytes> frames = { frame(60, 1), frame(1514, 2), frame(3000, 3) };
	struct tarn_mbuf *m[3];
	m[0] = mbuf_of(pool.mp, frames[0], 0, 60);
	m[1] = mbuf_of(pool.mp, frames[1], 0, 1514);
	// 3000 bytes as a chain of three segments: written with writev().
	m[2] = mbuf_of(pool.mp, frames[2], 0, 1000);
	ASSERT_EQ(tarn_pktmbuf_chain(m[2], mbuf_of(pool.mp, frames[2], 1000, 1500)), 0);
	ASSERT_EQ(tarn_pktmbuf_chain(m[2], mbuf_of(pool.mp, frames[2], 2500, 500)), 0);
	// The kernel takes 3000 bytes only with an MTU that allows them.
	ASSERT_EQ(tarn_eth_dev_set_mtu(p, 3000), 0);
	ASSERT_EQ(tarn_eth_tx_burst(p, 0, m, 3), 3);
	auto got = ps.recv(3);
	ASSERT_EQ(got.size(), 3u);
	for (size_t i = 0; i < 3; i++)
		EXPECT_EQ(got[i], frames[i]) << "frame " << i;
	struct tarn_eth_stats st = stats(p);
	EXPECT_EQ(st.opackets, 3u);
	EXPECT_EQ(st.obytes, 60u + 1514u + 3000u);
	EXPECT_EQ(st.oerrors, 0u);
}

TEST_F(Tap, TxOnADownInterfaceIsRefusedAndCounted)
{
	NEED_TAP();
	Cleanup c;
	const std::string n = ifname("d");
	c.ifaces.push_back(n);
	Pool pool;
	uint16_t p = create("tap:iface=" + n);
	no_ipv6(n);
	bring_up(p, pool.mp);
	if_set_up(n, false);
	struct tarn_mbuf *m[4];
	const Bytes f = frame(60, 9);
	for (auto &x : m)
		x = mbuf_of(pool.mp, f, 0, 60);
	EXPECT_EQ(tarn_eth_tx_burst(p, 0, m, 4), 0);
	tarn_pktmbuf_free_bulk(m, 4); // refused: still ours
	EXPECT_EQ(stats(p).oerrors, 4u);
	EXPECT_EQ(stats(p).opackets, 0u);
}

TEST_F(Tap, RxNombufIsCountedAndNothingIsLost)
{
	NEED_TAP();
	Cleanup c;
	const std::string n = ifname("o");
	c.ifaces.push_back(n);
	Pool pool(4, 0);
	uint16_t p = create("tap:iface=" + n);
	no_ipv6(n);
	bring_up(p, pool.mp);
	PacketSock ps(n);
	std::vector<Bytes> sent;
	for (int i = 0; i < 10; i++) {
		sent.push_back(frame(100, (uint8_t)i));
		ps.send(sent.back());
	}
	// Four mbufs: each burst takes four frames, then finds the pool empty.
	std::vector<Bytes> got;
	for (int round = 0; round < 3; round++) {
		std::vector<struct tarn_mbuf *> v;
		auto end = std::chrono::steady_clock::now() + std::chrono::seconds(3);
		size_t want = round < 2 ? 4 : 2;
		while (v.size() < want && std::chrono::steady_clock::now() < end) {
			struct tarn_mbuf *pkts[32];
			uint16_t k = tarn_eth_rx_burst(p, 0, pkts, 32);
			v.insert(v.end(), pkts, pkts + k);
		}
		ASSERT_EQ(v.size(), want) << "round " << round;
		for (auto *m : v)
			got.push_back(mbuf_bytes(m));
		free_all(v);
	}
	EXPECT_EQ(got, sent) << "every frame, in order";
	struct tarn_eth_stats st = stats(p);
	EXPECT_EQ(st.ipackets, 10u);
	EXPECT_EQ(st.rx_nombuf, 2u) << "one per burst that found the pool empty";
}

TEST_F(Tap, InterfaceDeletedWhileRunningIsLinkDownAndErrors)
{
	NEED_TAP();
	Cleanup c;
	const std::string n = ifname("g");
	c.ifaces.push_back(n);
	Pool pool;
	uint16_t p = create("tap:iface=" + n);
	no_ipv6(n);
	bring_up(p, pool.mp);
	ASSERT_EQ(sh("ip link del " + n), 0);

	struct tarn_mbuf *pkts[8];
	EXPECT_EQ(tarn_eth_rx_burst(p, 0, pkts, 8), 0);
	EXPECT_EQ(tarn_eth_rx_burst(p, 0, pkts, 8), 0);
	EXPECT_EQ(stats(p).ierrors, 1u) << "counted once";
	const Bytes f = frame(60, 1);
	for (int i = 0; i < 3; i++)
		pkts[i] = mbuf_of(pool.mp, f, 0, 60);
	EXPECT_EQ(tarn_eth_tx_burst(p, 0, pkts, 3), 0);
	EXPECT_EQ(tarn_eth_tx_burst(p, 0, pkts, 3), 0);
	tarn_pktmbuf_free_bulk(pkts, 3);
	EXPECT_EQ(stats(p).oerrors, 6u);
	EXPECT_TRUE(Log::contains("was deleted")) << Log::all();

	struct tarn_eth_link link;
	link.up = 1;
	EXPECT_EQ(tarn_eth_link_get(p, &link), -ENODEV);
	EXPECT_EQ(link.up, 0);
	EXPECT_EQ(tarn_eth_dev_set_mtu(p, 1400), -ENODEV);
	EXPECT_EQ(tarn_eth_dev_stop(p), 0);
	EXPECT_EQ(tarn_eth_dev_close(p), 0);
}

TEST_F(Tap, MultiQueueSpreadsAndCountsPerQueue)
{
	NEED_TAP();
	Cleanup c;
	const std::string n = ifname("k");
	c.ifaces.push_back(n);
	Pool pool(1024);
	uint16_t p = create("tap:iface=" + n + ",queues=4");
	EXPECT_NE(sh_out("ip -d link show " + n).find("multi_queue"), std::string::npos);
	no_ipv6(n);
	bring_up(p, pool.mp, 4);
	PacketSock ps(n);

	// RX: UDP frames of many flows; the kernel picks the queue by flow.
	const int N = 64;
	for (int i = 0; i < N; i++) {
		Bytes f = frame(80, (uint8_t)i);
		f[12] = 0x08, f[13] = 0x00; // IPv4
		uint8_t *ip = f.data() + 14;
		memset(ip, 0, 28);
		ip[0] = 0x45, ip[3] = 66, ip[8] = 64, ip[9] = 17;
		ip[12] = 10, ip[15] = 1, ip[16] = 10, ip[19] = 2;
		ip[20] = (uint8_t)(i >> 8), ip[21] = (uint8_t)i, ip[23] = 9; // ports
		ps.send(f);
	}
	auto got = rx_wait(p, N, 4);
	EXPECT_EQ(got.size(), (size_t)N);
	free_all(got);
	uint64_t sum = 0;
	for (uint16_t q = 0; q < 4; q++) {
		struct tarn_eth_queue_stats qs;
		ASSERT_EQ(tarn_eth_rx_queue_stats_get(p, q, &qs), 0);
		sum += qs.packets;
	}
	EXPECT_EQ(sum, (uint64_t)N);
	EXPECT_EQ(stats(p).ipackets, (uint64_t)N);

	// TX on every queue reaches the kernel.
	const Bytes f = frame(60, 7);
	for (uint16_t q = 0; q < 4; q++) {
		struct tarn_mbuf *m = mbuf_of(pool.mp, f, 0, 60);
		ASSERT_EQ(tarn_eth_tx_burst(p, q, &m, 1), 1);
	}
	EXPECT_EQ(ps.recv(4).size(), 4u);
	EXPECT_EQ(stats(p).opackets, 4u);
	ASSERT_EQ(tarn_eth_dev_close(p), 0);
	EXPECT_FALSE(if_exists(n));
}

// Control calls while a thread polls (for the sanitizers): MTU changes
// switch the RX mode under the poller; stats, link and promiscuous mode are
// read and set from here.
TEST_F(Tap, ControlCallsWhileAThreadPolls)
{
	NEED_TAP();
	Cleanup c;
	const std::string n = ifname("h");
	c.ifaces.push_back(n);
	Pool pool;
	uint16_t p = create("tap:iface=" + n);
	no_ipv6(n);
	bring_up(p, pool.mp);
	PacketSock ps(n);
	std::atomic<bool> stop{ false };
	std::atomic<uint64_t> got{ 0 };
	std::thread poller([&] {
		const Bytes f = frame(60, 1);
		while (!stop.load()) {
			struct tarn_mbuf *pkts[32];
			uint16_t k = tarn_eth_rx_burst(p, 0, pkts, 32);
			got += k;
			tarn_pktmbuf_free_bulk(pkts, k);
			struct tarn_mbuf *m = mbuf_of(pool.mp, f, 0, 60);
			if (tarn_eth_tx_burst(p, 0, &m, 1) == 0)
				tarn_pktmbuf_free(m);
		}
	});
	const Bytes f = frame(200, 2);
	for (int i = 0; i < 200; i++) {
		ps.send(f);
		ASSERT_EQ(tarn_eth_dev_set_mtu(p, i % 2 ? 9000 : 1500), 0);
		struct tarn_eth_link link;
		EXPECT_EQ(tarn_eth_link_get(p, &link), 0);
		struct tarn_eth_stats st;
		EXPECT_EQ(tarn_eth_stats_get(p, &st), 0);
		EXPECT_EQ(i % 3 ? tarn_eth_promiscuous_enable(p) : tarn_eth_promiscuous_disable(p),
		          0);
	}
	auto end = std::chrono::steady_clock::now() + std::chrono::seconds(3);
	while (got.load() < 200 && std::chrono::steady_clock::now() < end)
		std::this_thread::sleep_for(std::chrono::milliseconds(1));
	stop = true;
	poller.join();
	EXPECT_EQ(got.load(), 200u);
	struct tarn_eth_stats st = stats(p);
	EXPECT_EQ(st.ipackets, 200u);
	EXPECT_EQ(st.ierrors, 0u);
	EXPECT_GT(st.opackets, 0u);
	EXPECT_EQ(st.oerrors, 0u) << "the interface stayed up";
}

// The interface moved to another network namespace after create: the port
// still controls it there.
TEST_F(Tap, InterfaceMovedToAnotherNamespaceIsStillControlled)
{
	NEED_TAP();
	Cleanup c;
	const std::string n = ifname("s"), ns = "tarn-tap-" + std::to_string(getpid()) + "-s";
	c.ifaces.push_back(n);
	if (sh("ip netns add " + ns) != 0)
		NEED_OR_FAIL(need::machine_cannot_netns(), "ip netns add " + ns + " failed");
	c.netns.push_back(ns);
	Pool pool;
	uint16_t p = create("tap:iface=" + n);
	ASSERT_EQ(sh("ip link set " + n + " netns " + ns), 0);
	EXPECT_FALSE(if_exists(n));
	bring_up(p, pool.mp);
	const std::string show = "ip -n " + ns + " -o link show " + n;
	EXPECT_NE(sh_out(show).find(",UP"), std::string::npos) << sh_out(show);
	struct tarn_eth_link link;
	ASSERT_EQ(tarn_eth_link_get(p, &link), 0) << Log::all();
	EXPECT_EQ(link.up, 1);
	ASSERT_EQ(tarn_eth_dev_set_mtu(p, 1280), 0) << Log::all();
	EXPECT_NE(sh_out(show).find("mtu 1280"), std::string::npos) << sh_out(show);
	ASSERT_EQ(tarn_eth_dev_stop(p), 0);
	EXPECT_EQ(sh_out(show).find(",UP"), std::string::npos) << sh_out(show);
	ASSERT_EQ(tarn_eth_dev_close(p), 0);
	EXPECT_NE(sh(show), 0) << "deleted in the namespace it was moved to";
}

// ---------------------------------------------------------------------------
// End to end: the kernel pings through tarn-fwd.

// One ICMP echo exchange per `count` from the network namespace `ns` (a
// thread's namespace is its own), each waiting up to 2 s for its reply.
// Returns the replies received, or -1 with `err` set.
int icmp_echo(const std::string &ns, const char *dst, int count, std::string *err)
{
	int replies = -1;
	std::thread t([&] {
		int nsfd = open(("/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
		if (nsfd < 0 || setns(nsfd, CLONE_NEWNET) != 0) {
			*err = std::string("setns: ") + strerror(errno);
			if (nsfd >= 0)
				close(nsfd);
			return;
		}
		close(nsfd);
		int s = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP);
		if (s < 0) {
			*err = std::string("raw socket: ") + strerror(errno);
			return;
		}
		struct timeval tv = { 0, 200000 };
		setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		struct sockaddr_in to = {};
		to.sin_family = AF_INET;
		inet_pton(AF_INET, dst, &to.sin_addr);
		const uint16_t id = (uint16_t)getpid();
		replies = 0;
		for (int seq = 1; seq <= count; seq++) {
			uint8_t pkt[64] = { 8,           0, 0,           0, (uint8_t)(id >> 8),
				            (uint8_t)id, 0, (uint8_t)seq };
			for (int i = 8; i < 64; i++)
				pkt[i] = (uint8_t)i;
			uint32_t sum = 0;
			for (int i = 0; i < 64; i += 2)
				sum += (uint32_t)(pkt[i] << 8 | pkt[i + 1]);
			while (sum >> 16)
				sum = (sum & 0xffff) + (sum >> 16);
			pkt[2] = (uint8_t)(~sum >> 8);
			pkt[3] = (uint8_t)~sum;
			sendto(s, pkt, sizeof(pkt), 0, (struct sockaddr *)&to, sizeof(to));
			auto end = std::chrono::steady_clock::now() + std::chrono::seconds(2);
			while (std::chrono::steady_clock::now() < end) {
				uint8_t buf[1500];
				ssize_t r = recv(s, buf, sizeof(buf), 0);
				if (r < 20)
					continue;
				const size_t ihl = (size_t)(buf[0] & 0xf) * 4;
				if ((size_t)r < ihl + 8)
					continue;
				const uint8_t *ic = buf + ihl;
				if (ic[0] == 0 && ic[4] == (uint8_t)(id >> 8) &&
				    ic[5] == (uint8_t)id && ic[7] == (uint8_t)seq) {
					replies++;
					break;
				}
			}
		}
		close(s);
	});
	t.join();
	return replies;
}

// tarn-fwd started with posix_spawn: stdout through a pipe, stderr to a file.
struct Fwd {
	pid_t pid = -1;
	int out = -1;
	std::string err_path, text;
	~Fwd()
	{
		if (pid > 0) {
			kill(pid, SIGKILL);
			waitpid(pid, nullptr, 0);
		}
		if (out >= 0)
			close(out);
		if (!err_path.empty())
			unlink(err_path.c_str());
	}
	bool start(const std::vector<std::string> &args)
	{
		int fds[2];
		if (pipe2(fds, O_CLOEXEC) != 0)
			return false;
		err_path = "/tmp/tarn-test-tap-fwd-" + std::to_string(getpid()) + ".err";
		posix_spawn_file_actions_t fa;
		posix_spawn_file_actions_init(&fa);
		posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
		posix_spawn_file_actions_addopen(&fa, 2, err_path.c_str(),
		                                 O_WRONLY | O_CREAT | O_TRUNC, 0644);
		std::vector<char *> argv;
		for (auto &a : args)
			argv.push_back(const_cast<char *>(a.c_str()));
		argv.push_back(nullptr);
		int rc = posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ);
		posix_spawn_file_actions_destroy(&fa);
		close(fds[1]);
		out = fds[0];
		if (rc != 0)
			pid = -1;
		return rc == 0;
	}
	// Read stdout until `what` appears, EOF or the timeout.
	bool wait_for(const std::string &what, int timeout_ms)
	{
		auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
		while (text.find(what) == std::string::npos) {
			int left = (int)std::chrono::duration_cast<std::chrono::milliseconds>(
			               end - std::chrono::steady_clock::now())
			               .count();
			if (left <= 0)
				return false;
			struct pollfd p = { out, POLLIN, 0 };
			if (poll(&p, 1, left) <= 0)
				continue;
			char buf[4096];
			ssize_t r = read(out, buf, sizeof(buf));
			if (r <= 0)
				return false;
			text.append(buf, (size_t)r);
		}
		return true;
	}
	// SIGINT, then the exit code (or 128 + signal).
	int stop()
	{
		kill(pid, SIGINT);
		wait_for("\"event\":\"summary\"", 15000);
		char buf[4096];
		ssize_t r;
		while ((r = read(out, buf, sizeof(buf))) > 0)
			text.append(buf, (size_t)r);
		int st = 0;
		waitpid(pid, &st, 0);
		pid = -1;
		return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	}
	std::string err() const
	{
		std::string s;
		FILE *f = fopen(err_path.c_str(), "r");
		if (f == nullptr)
			return s;
		char buf[4096];
		size_t n;
		while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
			s.append(buf, n);
		fclose(f);
		return s;
	}
};

uint64_t json_field(const std::string &s, const std::string &key)
{
	size_t p = s.rfind("\"" + key + "\":");
	return p == std::string::npos ? UINT64_MAX
	                              : std::strtoull(s.c_str() + p + key.size() + 3, nullptr, 10);
}

TEST(TapFwd, KernelPingsThroughTarnFwdBetweenTwoTaps)
{
	NEED_TAP();
	Cleanup c;
	const std::string pid = std::to_string(getpid());
	const std::string ta = ifname("x"), tb = ifname("y");
	const std::string na = "tarn-tap-" + pid + "-a", nb = "tarn-tap-" + pid + "-b";
	c.ifaces = { ta, tb };
	if (sh("ip netns add " + na) != 0)
		NEED_OR_FAIL(need::machine_cannot_netns(), "ip netns add " + na + " failed");
	c.netns.push_back(na);
	ASSERT_EQ(sh("ip netns add " + nb), 0);
	c.netns.push_back(nb);

	Fwd fwd;
	const bool two = sysconf(_SC_NPROCESSORS_ONLN) >= 2;
	ASSERT_TRUE(fwd.start({ TARN_FWD,
	                        "--file-prefix",
	                        "tarn-test-tap-fwd-" + pid,
	                        "--lcores",
	                        two ? "0,1" : "0",
	                        "--port",
	                        "tap:iface=" + ta,
	                        "--port",
	                        "tap:iface=" + tb,
	                        "--fwd",
	                        "io",
	                        "--rxd",
	                        "256",
	                        "--txd",
	                        "256",
	                        "--json",
	                        "--stats-period",
	                        "0",
	                        "--duration",
	                        "60" }));
	ASSERT_TRUE(fwd.wait_for("\"event\":\"start\"", 20000)) << fwd.text << fwd.err();

	// Each tap into its namespace, one subnet.
	ASSERT_EQ(sh("ip link set " + ta + " netns " + na), 0);
	ASSERT_EQ(sh("ip link set " + tb + " netns " + nb), 0);
	ASSERT_EQ(sh("ip -n " + na + " addr add 10.213.0.1/24 dev " + ta), 0);
	ASSERT_EQ(sh("ip -n " + nb + " addr add 10.213.0.2/24 dev " + tb), 0);
	ASSERT_EQ(sh("ip -n " + na + " link set " + ta + " up"), 0);
	ASSERT_EQ(sh("ip -n " + nb + " link set " + tb + " up"), 0);

	std::string err;
	EXPECT_EQ(icmp_echo(na, "10.213.0.2", 3, &err), 3) << err << fwd.err();
	if (sh("command -v ping") == 0) {
		std::string out =
		    sh_out("ip netns exec " + na + " ping -c 3 -i 0.2 -W 2 10.213.0.2");
		EXPECT_NE(out.find(" 0% packet loss"), std::string::npos) << out;
	}

	const int code = fwd.stop();
	EXPECT_EQ(code, 0) << fwd.text << fwd.err();
	const size_t sp = fwd.text.find("\"event\":\"summary\"");
	ASSERT_NE(sp, std::string::npos) << fwd.text << fwd.err();
	const std::string summary = fwd.text.substr(sp);
	EXPECT_EQ(json_field(summary, "leaked"), 0u) << summary;
	// Three requests and three replies at least, plus ARP.
	EXPECT_GE(json_field(summary, "rx"), 6u) << summary;
}

} // namespace
