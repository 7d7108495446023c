// SPDX-License-Identifier: BSD-3-Clause
// Shared by the af_packet and af_xdp suites: the veth pairs of
// scripts/netns-run.sh (TARN_VETH0 here, its peer TARN_VETH0_PEER in the
// namespace TARN_NETNS), pairs of a test's own, a raw AF_PACKET far end,
// frame builders, pool/port helpers, and the tarn environment and test
// fixture both suites derive theirs from.
#ifndef TARN_TEST_NETNS_ENV_H
#define TARN_TEST_NETNS_ENV_H

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
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

#include <gtest/gtest.h>

#include "need.h"
#include "test_log.h"

#include <tarn/tarn_env.h>
#include <tarn/tarn_ethdev.h>
#include <tarn/tarn_mbuf.h>
#include <tarn/tarn_mempool.h>

using Bytes = std::vector<uint8_t>;
using Clock = std::chrono::steady_clock;

constexpr uint16_t kEtherType = 0x88b5; // local experimental: nothing else sends it
constexpr auto kWait = std::chrono::seconds(3);

// ---------------------------------------------------------------------------
// Environment

inline std::string env(const std::string &name)
{
	const char *v = getenv(name.c_str());
	return v != nullptr ? v : "";
}

// The veth pairs of scripts/netns-run.sh, or a skip (not root, a kernel
// without them: the script's TARN_NETNS_SKIP) or a failure (root, and the
// script could not make them: TARN_NETNS_ERROR). ../common/need.h.
#define NEED_VETH() NEED_NETNS_RUN()

inline std::string sysfs(const std::string &ifname, const std::string &attr)
{
	std::ifstream f("/sys/class/net/" + ifname + "/" + attr);
	std::string s;
	std::getline(f, s);
	return s;
}

// Run `fn` on a thread that entered the namespace `ns` (the network
// namespace is per thread); sockets it opens stay in `ns`.
inline void in_ns(const std::string &ns, const std::function<void()> &fn)
{
	std::string err;
	std::thread t([&] {
		int nsfd = open(("/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
		if (nsfd < 0 || setns(nsfd, CLONE_NEWNET) != 0) {
			err = std::string("setns ") + ns + ": " + strerror(errno);
			if (nsfd >= 0)
				close(nsfd);
			return;
		}
		close(nsfd);
		fn();
	});
	t.join();
	ASSERT_TRUE(err.empty()) << err;
}

// Bring an interface of the calling thread's namespace up or down.
inline int set_up(const std::string &ifname, bool up)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname.c_str());
	int rc = ioctl(fd, SIOCGIFFLAGS, &ifr);
	if (rc == 0) {
		if (up)
			ifr.ifr_flags |= IFF_UP;
		else
			ifr.ifr_flags &= ~IFF_UP;
		rc = ioctl(fd, SIOCSIFFLAGS, &ifr);
	}
	int err = errno;
	close(fd);
	return rc == 0 ? 0 : -err;
}

inline int sh(const std::string &cmd)
{
	return system((cmd + " >/dev/null 2>&1").c_str());
}

// A veth pair of the test's own, both ends in this namespace, IPv6 off, up;
// named like netns-run.sh's so that it cleans up after a crash too.
struct OwnPair {
	std::string a, b;
	bool ok = false;
	explicit OwnPair(int k)
	{
		std::string id = env("TARN_NETNS").substr(strlen("tarn-ns-"));
		a = "tv" + id + "h" + std::to_string(k);
		b = "tv" + id + "p" + std::to_string(k);
		sh("ip link del " + a);
		ok = sh("ip link add " + a + " type veth peer name " + b) == 0;
		for (auto &n : { a, b })
			sh("sysctl -qw net.ipv6.conf." + n + ".disable_ipv6=1");
		ok = ok && set_up(a, true) == 0 && set_up(b, true) == 0;
	}
	~OwnPair()
	{
		sh("ip link del " + a);
	}
};

// ---------------------------------------------------------------------------
// The far end: a raw AF_PACKET socket on an interface (in a namespace).

struct Frame {
	Bytes data;
	bool vlan = false;
	uint16_t tci = 0, tpid = 0;
};

class RawPeer
{
      public:
	int fd = -1;
	int ifindex = 0;

	// `ns` empty: the calling thread's namespace.
	RawPeer(const std::string &ns, const std::string &ifname)
	{
		auto open_it = [&] {
			fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
			if (fd < 0)
				return;
			ifindex = (int)if_nametoindex(ifname.c_str());
			int one = 1, big = 16 << 20;
			setsockopt(fd, SOL_PACKET, PACKET_AUXDATA, &one, sizeof(one));
			setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one));
			setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
			setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof(big));
			struct sockaddr_ll sll;
			memset(&sll, 0, sizeof(sll));
			sll.sll_family = AF_PACKET;
			sll.sll_protocol = htons(ETH_P_ALL);
			sll.sll_ifindex = ifindex;
			if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
				close(fd);
				fd = -1;
			}
		};
		if (ns.empty())
			open_it();
		else
			in_ns(ns, open_it);
	}
	~RawPeer()
	{
		if (fd >= 0)
			close(fd);
	}
	bool send(const Bytes &b)
	{
		return ::send(fd, b.data(), b.size(), 0) == (ssize_t)b.size();
	}
	// The next frame, or false after `ms` without one.
	bool recv(Frame *f, int ms = 2000)
	{
		struct pollfd pfd = { fd, POLLIN, 0 };
		if (poll(&pfd, 1, ms) != 1)
			return false;
		uint8_t buf[16384];
		union {
			struct cmsghdr c;
			char b[CMSG_SPACE(sizeof(struct tpacket_auxdata))];
		} ctl;
		struct iovec iov = { buf, sizeof(buf) };
		struct msghdr mh;
		memset(&mh, 0, sizeof(mh));
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = &ctl;
		mh.msg_controllen = sizeof(ctl);
		ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT);
		if (n < 0)
			return false;
		f->data.assign(buf, buf + n);
		f->vlan = false;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c != nullptr;
		     c = CMSG_NXTHDR(&mh, c)) {
			if (c->cmsg_level != SOL_PACKET || c->cmsg_type != PACKET_AUXDATA)
				continue;
			struct tpacket_auxdata aux;
			memcpy(&aux, CMSG_DATA(c), sizeof(aux));
			if (aux.tp_status & TP_STATUS_VLAN_VALID) {
				f->vlan = true;
				f->tci = aux.tp_vlan_tci;
				f->tpid = (aux.tp_status & TP_STATUS_VLAN_TPID_VALID)
				              ? aux.tp_vlan_tpid
				              : 0x8100;
			}
		}
		return true;
	}
};

// ---------------------------------------------------------------------------
// Frames

inline Bytes mac_of(const std::string &ifname)
{
	Bytes m(6);
	unsigned v[6];
	if (sscanf(sysfs(ifname, "address").c_str(), "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2],
	           &v[3], &v[4], &v[5]) == 6)
		for (int i = 0; i < 6; i++)
			m[i] = (uint8_t)v[i];
	return m;
}

// An Ethernet frame of `len` bytes: dst, src, kEtherType, then a sequence
// number and bytes that depend on it and their offset.
inline Bytes make_frame(const Bytes &dst, const Bytes &src, uint32_t seq, size_t len)
{
	if (len < 14) {
		Bytes b = make_frame(dst, src, seq, 14);
		b.resize(len);
		return b;
	}
	Bytes b(len);
	memcpy(&b[0], dst.data(), 6);
	memcpy(&b[6], src.data(), 6);
	b[12] = kEtherType >> 8;
	b[13] = kEtherType & 0xff;
	for (size_t i = 14; i < len; i++)
		b[i] = (uint8_t)(seq * 131 + i * 7 + (i >> 8));
	if (len >= 18)
		memcpy(&b[14], &seq, 4);
	return b;
}

inline Bytes with_tag(const Bytes &f, uint16_t tpid, uint16_t tci)
{
	Bytes b(f.begin(), f.begin() + 12);
	b.push_back((uint8_t)(tpid >> 8));
	b.push_back((uint8_t)tpid);
	b.push_back((uint8_t)(tci >> 8));
	b.push_back((uint8_t)tci);
	b.insert(b.end(), f.begin() + 12, f.end());
	return b;
}

// The bytes of an mbuf chain.
inline Bytes bytes_of(const struct tarn_mbuf *m)
{
	Bytes b;
	for (; m != nullptr; m = m->next)
		b.insert(b.end(), tarn_pktmbuf_mtod(m, const uint8_t *),
		         tarn_pktmbuf_mtod(m, const uint8_t *) + m->data_len);
	return b;
}

// ---------------------------------------------------------------------------
// Pools and ports

// A pool of mbufs named PREFIX<n>; its destructor checks that every mbuf
// came back. A suite derives its Pool from it.
struct PoolBase {
	struct tarn_mempool *mp = nullptr;
	PoolBase(const char *prefix, unsigned n, uint16_t room)
	{
		static int seq;
		std::string name = prefix + std::to_string(seq++);
		mp = tarn_pktmbuf_pool_create(name.c_str(), n, 0, 0, room, TARN_SOCKET_ANY);
		EXPECT_NE(mp, nullptr) << tarn_strerror(tarn_errno);
	}
	~PoolBase()
	{
		if (mp == nullptr)
			return;
		EXPECT_EQ(tarn_mempool_in_use_count(mp), 0u) << "mbufs leaked";
		tarn_mempool_free(mp, TARN_MEMPOOL_FREE_FORCE);
	}
	// A one-segment packet holding `b`.
	struct tarn_mbuf *pkt(const Bytes &b)
	{
		struct tarn_mbuf *m = tarn_pktmbuf_alloc(mp);
		if (m == nullptr)
			return nullptr;
		char *d = tarn_pktmbuf_append(m, (uint16_t)b.size());
		if (d == nullptr) {
			tarn_pktmbuf_free(m);
			return nullptr;
		}
		memcpy(d, b.data(), b.size());
		return m;
	}
	// A packet holding `b` in segments of at most `seg` bytes.
	struct tarn_mbuf *chain(const Bytes &b, size_t seg)
	{
		struct tarn_mbuf *head = nullptr;
		for (size_t off = 0; off < b.size(); off += seg) {
			size_t n = std::min(seg, b.size() - off);
			struct tarn_mbuf *m = pkt(Bytes(b.begin() + off, b.begin() + off + n));
			if (m == nullptr || (head != nullptr && tarn_pktmbuf_chain(head, m) != 0)) {
				tarn_pktmbuf_free(m);
				tarn_pktmbuf_free(head);
				return nullptr;
			}
			if (head == nullptr)
				head = m;
		}
		return head;
	}
};

// Create, configure (nq queues each way), set up and optionally start.
inline int open_port(const std::string &spec, struct tarn_mempool *mp, uint16_t *port,
                     uint16_t nq = 1, bool start = true, uint32_t desc = 256)
{
	int rc = tarn_eth_dev_create(spec.c_str(), port);
	if (rc < 0)
		return rc;
	rc = tarn_eth_dev_configure(*port, nq, nq, nullptr);
	for (uint16_t q = 0; rc == 0 && q < nq; q++)
		rc = tarn_eth_tx_queue_setup(*port, q, desc, TARN_SOCKET_ANY);
	for (uint16_t q = 0; rc == 0 && q < nq; q++)
		rc = tarn_eth_rx_queue_setup(*port, q, desc, TARN_SOCKET_ANY, mp);
	if (rc == 0 && start)
		rc = tarn_eth_dev_start(*port);
	if (rc < 0)
		tarn_eth_dev_close(*port);
	return rc;
}

inline void free_all(std::vector<struct tarn_mbuf *> &v)
{
	for (auto *m : v)
		tarn_pktmbuf_free(m);
	v.clear();
}

// Send every packet, retrying what the port refuses for a while.
inline size_t tx_all(uint16_t port, uint16_t q, std::vector<struct tarn_mbuf *> pkts)
{
	size_t done = 0;
	auto end = Clock::now() + kWait;
	while (done < pkts.size() && Clock::now() < end) {
		uint16_t n = (uint16_t)std::min<size_t>(64, pkts.size() - done);
		done += tarn_eth_tx_burst(port, q, pkts.data() + done, n);
	}
	for (size_t i = done; i < pkts.size(); i++)
		tarn_pktmbuf_free(pkts[i]);
	return done;
}

// ---------------------------------------------------------------------------
// The suite's environment and fixture

// tarn set up once for the binary: lcore 0, no telemetry, its log lines in
// TestLog, file prefix `prefix`; configure() may change the rest.
class NetEnv : public ::testing::Environment
{
      public:
	explicit NetEnv(const char *prefix) : prefix_(prefix)
	{
	}
	virtual void configure(struct tarn_config *)
	{
	}
	void SetUp() override
	{
		tarn_log_set_handler(TestLog::fn, nullptr);
		struct tarn_config cfg;
		ASSERT_EQ(tarn_config_init(&cfg), 0);
		configure(&cfg);
		snprintf(cfg.lcores, sizeof(cfg.lcores), "0");
		cfg.no_pin_main = 1;
		cfg.no_telemetry = 1;
		snprintf(cfg.file_prefix, sizeof(cfg.file_prefix), "%s", prefix_);
		ASSERT_EQ(tarn_init(&cfg), 0);
	}
	void TearDown() override
	{
		EXPECT_EQ(tarn_cleanup(), 0);
		tarn_log_set_handler(nullptr, nullptr);
	}

      private:
	const char *prefix_;
};

inline void close_all_ports()
{
	int p;
	TARN_ETH_FOREACH_DEV(p)
	{
		tarn_eth_dev_close((uint16_t)p);
	}
}

// A test on the veth pair: v0 here, its peer p0 in the namespace ns (empty
// without the pair); no port before, every port closed after.
class VethTest : public ::testing::Test
{
      protected:
	std::string v0, p0, ns;
	void SetUp() override
	{
		TestLog::clear();
		v0 = env("TARN_VETH0");
		p0 = env("TARN_VETH0_PEER");
		ns = env("TARN_NETNS");
		ASSERT_EQ(tarn_eth_dev_count(), 0u);
	}
	void TearDown() override
	{
		close_all_ports();
	}
};

#endif
