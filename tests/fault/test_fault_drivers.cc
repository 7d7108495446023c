// SPDX-License-Identifier: BSD-3-Clause
// Fault injection in the drivers on kernel interfaces: every numbered
// failure point (TARN__FAULT: the socket, ioctl, setsockopt, mmap, bind,
// getsockopt calls of af_packet and tap, the file opens of pcap, and the
// socket heap allocations the queue setups make) reached while a program
// creates a port, configures two queue pairs (one for pcap), sets them up,
// starts it, moves packets, stops it, starts it again and closes it, is
// made to fail in turn. For each point: the failure is reported as an error
// with a log line (or absorbed where the driver documents a fallback), no
// file descriptor is left open, the pool has every mbuf back, no port is
// left, a tap interface the driver created is gone, an af_packet interface
// is not left promiscuous, and the same program works right after.
//
// af_packet runs on the veth pair scripts/netns-run.sh makes (meson test
// runs this binary through it); tap needs root and /dev/net/tun; pcap needs
// nothing. Each case skips, saying why, when what it needs is missing.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <fstream>
#include <net/if.h>
#include <sched.h>
#include <string>
#include <thread>
#include <vector>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/proc_snapshot.h"
#include "../common/need.h"
#include "../common/test_log.h"
#include <tarn/tarn.h>

extern "C" {
#include "env_priv.h"
}

namespace
{

constexpr unsigned kPoolSize = 1024;

std::string env(const char *name)
{
	const char *v = getenv(name);
	return v != nullptr ? v : "";
}

unsigned long if_flags(const std::string &ifname)
{
	std::ifstream f("/sys/class/net/" + ifname + "/flags");
	std::string s;
	std::getline(f, s);
	return s.empty() ? 0 : std::stoul(s, nullptr, 16);
}

// One driver's port and what its program does.
struct Case {
	std::string spec;
	uint16_t queues;
	std::string created_if;  // an interface the driver creates (tap): gone after
	std::string attached_if; // an interface it attaches to (af_packet): not promiscuous after
	unsigned expect_rx;      // packets RX must give (pcap replay); 0: none checked
	bool tx;                 // transmit a burst
	bool promisc;            // promiscuous mode on before the first start
};

class FaultDriver : public ::testing::Test
{
      protected:
	struct tarn_mempool *mp = nullptr;

	void SetUp() override
	{
		tarn_log_set_handler(TestLog::fn, nullptr);
		struct tarn_config cfg;
		tarn_config_init(&cfg);
		cpu_set_t set;
		sched_getaffinity(0, sizeof(set), &set);
		int cpu = 0;
		while (cpu < CPU_SETSIZE && !CPU_ISSET(cpu, &set))
			cpu++;
		snprintf(cfg.lcores, sizeof(cfg.lcores), "%d", cpu);
		cfg.no_pin_main = 1;
		cfg.huge_policy = TARN_HUGE_NONE;
		cfg.no_telemetry = 1; // a client would be a descriptor the walk counts
		snprintf(cfg.file_prefix, sizeof(cfg.file_prefix), "tarn-test-fault-drv");
		ASSERT_EQ(tarn_init(&cfg), 0) << TestLog::all();
		mp = tarn_pktmbuf_pool_create("fdrv_pool", kPoolSize, 0, 0,
		                              TARN_MBUF_DEFAULT_BUF_SIZE, TARN_SOCKET_ANY);
		ASSERT_NE(mp, nullptr) << TestLog::all();
	}
	void TearDown() override
	{
		tarn__fault_arm(0);
		if (mp != nullptr)
			tarn_mempool_free(mp, TARN_MEMPOOL_FREE_FORCE);
		tarn_cleanup();
		tarn_log_set_handler(nullptr, nullptr);
	}

	// The program under test; returns 0 or the first error, with `where`.
	int program(const Case &c, std::string *where)
	{
		uint16_t port;
		int rc = tarn_eth_dev_create(c.spec.c_str(), &port);
		if (rc < 0) {
			*where = "create";
			return rc;
		}
		if ((rc = tarn_eth_dev_configure(port, c.queues, c.queues, nullptr)) < 0) {
			*where = "configure";
			goto out;
		}
		for (uint16_t q = 0; q < c.queues; q++) {
			if ((rc = tarn_eth_rx_queue_setup(port, q, 256, TARN_SOCKET_ANY, mp)) < 0 ||
			    (rc = tarn_eth_tx_queue_setup(port, q, 256, TARN_SOCKET_ANY)) < 0) {
				*where = "queue setup";
				goto out;
			}
		}
		if (c.promisc && (rc = tarn_eth_promiscuous_enable(port)) < 0) {
			*where = "promiscuous on";
			goto out;
		}
		for (int round = 0; round < 2; round++) {
			if ((rc = tarn_eth_dev_start(port)) < 0) {
				*where = round == 0 ? "start" : "start after stop";
				goto out;
			}
			if (c.tx) {
				struct tarn_mbuf *m[8];
				if (tarn_pktmbuf_alloc_bulk(mp, m, 8) == 0) {
					for (auto *b : m) {
						char *d = tarn_pktmbuf_append(b, 60);
						if (d == nullptr)
							continue;   // (never: 60 bytes fit)
						memset(d, 0xff, 6); // broadcast
						memset(d + 6, 0x02, 6);
						d[12] = (char)0x88, d[13] = (char)0xb5;
					}
					uint16_t sent = tarn_eth_tx_burst(port, 0, m, 8);
					tarn_pktmbuf_free_bulk(m + sent, 8 - sent);
				}
			}
			if (c.expect_rx != 0 && round == 0) {
				unsigned got = 0;
				struct tarn_mbuf *m[32];
				for (uint16_t n; (n = tarn_eth_rx_burst(port, 0, m, 32)) > 0;) {
					got += n;
					tarn_pktmbuf_free_bulk(m, n);
				}
				if (got != c.expect_rx) {
					*where = "replay: " + std::to_string(got) + " packets";
					rc = -EIO;
					goto out;
				}
			}
			if ((rc = tarn_eth_dev_stop(port)) < 0) {
				*where = "stop";
				goto out;
			}
		}
	out:
		int crc = tarn_eth_dev_close(port);
		if (rc == 0 && crc < 0) {
			*where = "close";
			rc = crc;
		}
		return rc;
	}

	// Fail every point of the program in turn (and, where a failure is
	// absorbed, every later point as a second failure).
	void walk(const Case &c)
	{
		// Count the points of a clean run (the second: a first run may
		// make one-time allocations).
		std::string where;
		for (int i = 0; i < 2; i++) {
			TestLog::clear();
			tarn__fault_arm(0);
			ASSERT_EQ(program(c, &where), 0) << where << "\n" << TestLog::all();
		}
		const uint64_t points = tarn__fault_points();
		ASSERT_GT(points, 0u);
		const unsigned base_fds = count_fds();
		unsigned runs = 0, failed = 0, absorbed = 0, second = 0;

		auto one = [&](uint64_t n, uint64_t m, uint64_t *reached) -> bool {
			std::string label = "point " + std::to_string(n);
			if (m != 0)
				label += " then " + std::to_string(m);
			SCOPED_TRACE(label);
			TestLog::clear();
			tarn__fault_arm2(n, m);
			std::string w;
			int rc = program(c, &w);
			const char *site = tarn__fault_fired();
			const unsigned fired = tarn__fault_fired_count();
			*reached = tarn__fault_points();
			tarn__fault_arm(0);
			runs++;
			EXPECT_NE(site, nullptr) << label << " was not reached";
			if (site == nullptr || (m != 0 && fired < 2))
				return false;
			if (m == 0)
				printf("  %-10s %-22s %s%s\n", label.c_str(), site,
				       rc < 0 ? "error at " : "absorbed", rc < 0 ? w.c_str() : "");
			if (rc < 0) {
				failed++;
				EXPECT_FALSE(TestLog::all().empty())
				    << site << " failed " << w << " without a log line";
			} else {
				absorbed++;
			}
			EXPECT_EQ(count_fds(), base_fds)
			    << site << " (" << w << "): descriptors leaked";
			EXPECT_EQ(tarn_mempool_avail_count(mp), kPoolSize)
			    << site << " (" << w << "): mbufs not back in the pool";
			EXPECT_EQ(tarn_eth_dev_count(), 0u) << site << ": a port was left";
			if (!c.created_if.empty()) {
				EXPECT_EQ(if_nametoindex(c.created_if.c_str()), 0u)
				    << site << " (" << w << "): interface " << c.created_if
				    << " left";
			}
			if (!c.attached_if.empty()) {
				EXPECT_EQ(if_flags(c.attached_if) & IFF_PROMISC, 0u)
				    << site << " (" << w << "): " << c.attached_if
				    << " left promiscuous";
			}
			std::string w2;
			EXPECT_EQ(program(c, &w2), 0) << "after " << site << ": " << w2 << "\n"
			                              << TestLog::all();
			return rc == 0;
		};
		for (uint64_t n = 1; n <= points; n++) {
			uint64_t reached = 0;
			bool ok = one(n, 0, &reached);
			if (::testing::Test::HasFailure())
				return;
			if (!ok)
				continue;
			for (uint64_t m = n + 1; m <= reached; m++) {
				uint64_t r2;
				one(n, m, &r2);
				second++;
				if (::testing::Test::HasFailure())
					return;
			}
		}
		RecordProperty("fault_points", (int)points);
		RecordProperty("runs", (int)runs);
		printf("%s: walked %llu fault points of a clean run and %u second failures on the "
		       "fallback paths: %u runs, %u failed with an error, %u absorbed\n",
		       c.spec.c_str(), (unsigned long long)points, second, runs, failed, absorbed);
	}
};

TEST_F(FaultDriver, AfPacketEveryPointFailsCleanly)
{
	NEED_NETNS_RUN();
	const std::string veth = env("TARN_VETH0");
	// Promiscuous on: the membership is a point of start too.
	Case c{ "af_packet:iface=" + veth, 2, "", veth, 0, true, true };
	ASSERT_EQ(if_flags(veth) & IFF_PROMISC, 0u) << veth << " is promiscuous already";
	walk(c);
}

TEST_F(FaultDriver, AfPacketTxRingEveryPointFailsCleanly)
{
	NEED_NETNS_RUN();
	const std::string veth = env("TARN_VETH0");
	Case c{ "af_packet:iface=" + veth + ",tx=ring,rxring=v2", 1, "", veth, 0, true, false };
	walk(c);
}

// Found by the walk above on its first run after boot: the kernel hands out
// unique fanout group ids from 0, and a port with several RX queues took id
// 0 for "no id" and failed to start ("cannot read the fanout group id").
// Bring the kernel's next unique id round to 0 (ids are 16 bits: take and
// drop ids until 65535 was handed out), then start such a port.
//
// Each close of an AF_PACKET socket waits for an RCU grace period
// (synchronize_net), which concurrent closes share: the sockets are closed
// 256 at a time on 32 threads (one by one, the 65536 closes took over 10
// minutes on a loaded machine).
struct PacketSockets {
	std::vector<int> fds;
	void close_all()
	{
		std::atomic<size_t> next{ 0 };
		std::vector<std::thread> threads;
		for (size_t t = 0; t < std::min<size_t>(32, fds.size()); t++)
			threads.emplace_back([&] {
				for (size_t i; (i = next++) < fds.size();)
					close(fds[i]);
			});
		for (auto &t : threads)
			t.join();
		fds.clear();
	}
	~PacketSockets()
	{
		close_all();
	}
};

TEST_F(FaultDriver, AfPacketFanoutGroupIdZero)
{
	NEED_NETNS_RUN();
	const std::string veth = env("TARN_VETH0");
	for (int attempt = 0; attempt < 3; attempt++) {
		PacketSockets held;
		for (unsigned i = 0; i < 70000; i++) {
			int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
			ASSERT_GE(fd, 0) << strerror(errno);
			held.fds.push_back(fd);
			int arg = (PACKET_FANOUT_HASH | PACKET_FANOUT_FLAG_UNIQUEID) << 16, val = 0;
			socklen_t sl = sizeof(val);
			const bool ok =
			    setsockopt(fd, SOL_PACKET, PACKET_FANOUT, &arg, sizeof(arg)) == 0 &&
			    getsockopt(fd, SOL_PACKET, PACKET_FANOUT, &val, &sl) == 0;
			if (!ok)
				GTEST_SKIP() << "no unique fanout ids here (Linux >= 4.5)";
			if ((val & 0xffff) == 0xffff)
				break;
			if (held.fds.size() == 256)
				held.close_all();
		}
		held.close_all(); // every id taken above is free again, 0 the next
		TestLog::clear();
		Case c{ "af_packet:iface=" + veth, 2, "", veth, 0, false, false };
		std::string where;
		const int level = tarn_log_get_level();
		tarn_log_set_level(TARN_LOG_INFO); // the group id is an info line
		const int rc = program(c, &where);
		tarn_log_set_level(level);
		ASSERT_EQ(rc, 0) << where << "\n" << TestLog::all();
		if (TestLog::contains("RX queues in fanout group 0"))
			return; // it got id 0 and works
			        // another process took id 0 in between: try again
	}
	FAIL() << "the port never got fanout group id 0 in three tries (the kernel's next unique "
	          "id was brought round to 0 each time): no \"RX queues in fanout group 0\" line";
}

TEST_F(FaultDriver, TapEveryPointFailsCleanly)
{
	const std::string cannot = need::machine_cannot_tun();
	if (!cannot.empty())
		GTEST_SKIP() << cannot;
	if (access("/dev/net/tun", R_OK | W_OK) != 0)
		NEED_OR_FAIL("", "/dev/net/tun missing (modprobe tun)");
	const std::string name = "tarnflt" + std::to_string(getpid() % 10000000);
	Case c{ "tap:iface=" + name + ",queues=2", 2, name, "", 0, true, true };
	walk(c);
}

TEST_F(FaultDriver, PcapEveryPointFailsCleanly)
{
	char dir[] = "/tmp/tarn-fault-pcap.XXXXXX";
	ASSERT_NE(mkdtemp(dir), nullptr);
	const std::string rx = std::string(dir) + "/rx.pcap", tx = std::string(dir) + "/tx.pcap";
	{
		// A classic pcap file of 3 Ethernet frames (one longer than an mbuf).
		std::ofstream f(rx, std::ios::binary);
		const uint32_t hdr[6] = { 0xa1b2c3d4u, 0x00040002u, 0, 0, 65535, 1 };
		f.write(reinterpret_cast<const char *>(hdr), sizeof(hdr));
		for (uint32_t len : { 60u, 3000u, 64u }) {
			const uint32_t rec[4] = { 1, 0, len, len };
			f.write(reinterpret_cast<const char *>(rec), sizeof(rec));
			std::string data(len, '\x5a');
			f.write(data.data(), (std::streamsize)len);
		}
	}
	Case c{ "pcap:rx_pcap=" + rx + ",tx_pcap=" + tx, 1, "", "", 3, true, false };
	walk(c);
	unlink(rx.c_str());
	unlink(tx.c_str());
	rmdir(dir);
}

} // namespace
