// SPDX-License-Identifier: BSD-3-Clause
// numa, tarn-fwd's placement policy: runs the built tarn-fwd (TARN_FWD from
// meson) for a fraction of a second with chosen lcores and reads where its
// --json start event says each RX queue's pool went, and where the pool's
// objects really lie (tarn-fwd asks the kernel, move_pages(2)):
//   - a pool on the socket of the lcore that polls the queue;
//   - two forwarding lcores on two nodes: two pools, one per node;
//   - a port whose socket is known (socket=N): its pool there, and a warning
//     when the polling lcore is on another socket (none when it is not);
//   - --pool-socket N|lcore|port overrides; a socket the machine lacks is
//     refused (exit 2).
// On a two-node machine (scripts/numa-vm-test.sh runs the suite in a two-node
// VM) the lcores are put on both nodes; on one node the same tests check the
// one-node case (everything on socket 0, no warning), and the two-node-only
// ones skip.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "../common/child.h"
#include <tarn/tarn_env.h>

namespace
{

// tarn-fwd with `args`, a file prefix of its own, short and quiet.
Result fwd(const std::string &args)
{
	static int seq;
	const std::string tag = std::to_string(getpid()) + "-" + std::to_string(seq++);
	const std::string err = "/tmp/tarn-test-numa-fwd-" + tag + ".err";
	return run_child(std::string(TARN_FWD) + " --file-prefix tarn-numa-fwd-" + tag +
	                     " --duration 0.2 --stats-period 0 --json " + args,
	                 err);
}

// The objects ({...}, not nested) of the array "key":[...] in `line`.
std::vector<std::string> objects(const std::string &line, const std::string &key)
{
	std::vector<std::string> v;
	size_t p = line.find("\"" + key + "\":[");
	if (p == std::string::npos)
		return v;
	p = line.find('[', p);
	const size_t end = line.find(']', p);
	while (end != std::string::npos) {
		size_t a = line.find('{', p);
		if (a == std::string::npos || a > end)
			break;
		size_t b = line.find('}', a);
		v.push_back(line.substr(a, b - a + 1));
		p = b;
	}
	return v;
}

long num(const std::string &obj, const std::string &key)
{
	size_t p = obj.find("\"" + key + "\":");
	return p == std::string::npos ? -999
	                              : std::strtol(obj.c_str() + p + key.size() + 3, nullptr, 10);
}

std::string str(const std::string &obj, const std::string &key)
{
	size_t p = obj.find("\"" + key + "\":\"");
	if (p == std::string::npos)
		return "?";
	p += key.size() + 4;
	return obj.substr(p, obj.find('"', p) - p);
}

std::string start_event(const Result &r)
{
	std::istringstream in(r.out);
	std::string line;
	while (std::getline(in, line))
		if (line.find("\"event\":\"start\"") != std::string::npos)
			return line;
	return "";
}

struct Placement {
	std::vector<std::string> rxqs, pools;
	std::string start;
};

// Run and check the common part: exit 0, no leak, every pool's objects on
// the pool's socket (its first object's node is the socket, none off it).
Placement run_ok(const std::string &args)
{
	Result r = fwd(args);
	Placement pl;
	EXPECT_EQ(r.code, 0) << args << "\n" << r.out << r.err;
	pl.start = start_event(r);
	EXPECT_FALSE(pl.start.empty()) << r.out << r.err;
	pl.rxqs = objects(pl.start, "rxqs");
	pl.pools = objects(pl.start, "pools");
	EXPECT_FALSE(pl.rxqs.empty()) << pl.start;
	EXPECT_FALSE(pl.pools.empty()) << pl.start;
	for (auto &p : pl.pools) {
		EXPECT_EQ(num(p, "node"), num(p, "socket"))
		    << "pool memory not on its socket: " << p;
		EXPECT_EQ(num(p, "off_node"), 0) << p;
	}
	EXPECT_NE(r.out.find("\"leaked\":0"), std::string::npos) << r.out;
	return pl;
}

int cpu_of_node(int node)
{
	for (unsigned c = 0; c < tarn_cpu_count(); c++)
		if (tarn_cpu_socket(c) == node)
			return (int)c;
	return -1;
}

int nodes()
{
	return (int)tarn_socket_count();
}

// The node a worker lcore goes to: the last one (1 on two nodes, 0 on one).
int far_node()
{
	return nodes() >= 2 ? 1 : 0;
}

// --lcores with the main lcore on node 0 and one worker on `node`.
std::string lcores_main0_worker(int node)
{
	return "--lcores 0@" + std::to_string(cpu_of_node(0)) + ",1@" +
	       std::to_string(cpu_of_node(node));
}

// The pool goes where the polling lcore is, on every node of the machine.
TEST(NumaFwd, PoolFollowsThePollingLcore)
{
	for (int node = 0; node < (nodes() >= 2 ? 2 : 1); node++) {
		SCOPED_TRACE("worker on node " + std::to_string(node));
		ASSERT_GE(cpu_of_node(node), 0);
		Placement pl =
		    run_ok(lcores_main0_worker(node) + " --port null --port null --rxq 2 --txq 2");
		ASSERT_EQ(pl.rxqs.size(), 4u) << pl.start;
		for (auto &q : pl.rxqs) {
			EXPECT_EQ(num(q, "lcore"), 1) << q;
			EXPECT_EQ(num(q, "lcore_socket"), node) << q;
			EXPECT_EQ(num(q, "pool_socket"), node) << q;
			EXPECT_EQ(num(q, "port_socket"), -1) << q;
			EXPECT_EQ(str(q, "why"), "lcore") << q;
			EXPECT_EQ(str(q, "pool"), "fwd_mbufs") << q;
		}
		ASSERT_EQ(pl.pools.size(), 1u) << pl.start;
		EXPECT_EQ(num(pl.pools[0], "socket"), node);
	}
}

// Two forwarding lcores on two nodes polling two queues of one port: a pool
// per node, each queue's on its lcore's node; generated packets (txonly) too.
TEST(NumaFwd, TwoLcoresOnTwoNodesGetTwoPools)
{
	if (nodes() < 2)
		GTEST_SKIP() << "needs 2 NUMA nodes, this machine has " << nodes()
		             << " (run scripts/numa-vm-test.sh BUILD_DIR)";
	const int c0 = cpu_of_node(0), c1 = cpu_of_node(1);
	const std::string lc = "--lcores 0@" + std::to_string(c0) + ",1@" + std::to_string(c0) +
	                       ",2@" + std::to_string(c1);
	for (const char *mode : { "io", "txonly" }) {
		SCOPED_TRACE(mode);
		Placement pl =
		    run_ok(lc + " --port null --rxq 2 --txq 2 --fwd " + std::string(mode));
		ASSERT_EQ(pl.rxqs.size(), 2u) << pl.start;
		for (auto &q : pl.rxqs) {
			const long want =
			    num(q, "queue"); // queue 0 -> lcore 1 (node 0), 1 -> 2 (node 1)
			EXPECT_EQ(num(q, "lcore"), want + 1) << q;
			EXPECT_EQ(num(q, "lcore_socket"), want) << q;
			EXPECT_EQ(num(q, "pool_socket"), want) << q;
			EXPECT_EQ(str(q, "pool"), "fwd_mbufs_s" + std::to_string(want)) << q;
		}
		ASSERT_EQ(pl.pools.size(), 2u) << pl.start;
		EXPECT_EQ(num(pl.pools[0], "socket"), 0);
		EXPECT_EQ(num(pl.pools[1], "socket"), 1);
	}
}

// A port's known socket (socket=0) wins over the lcore's, with a warning when
// they differ; --pool-socket lcore keeps the warning but follows the lcore.
TEST(NumaFwd, KnownPortSocketWinsAndWarns)
{
	const int node = far_node();
	const std::string lc = lcores_main0_worker(node);
	for (const char *policy : { "", " --pool-socket lcore" }) {
		SCOPED_TRACE(policy[0] ? policy : "auto");
		const bool follow_lcore = policy[0] != '\0';
		Result r = fwd(lc + " --port null:socket=0 --port null" + policy);
		ASSERT_EQ(r.code, 0) << r.out << r.err;
		auto rxqs = objects(start_event(r), "rxqs");
		ASSERT_EQ(rxqs.size(), 2u) << r.out;
		EXPECT_EQ(num(rxqs[0], "port_socket"), 0) << rxqs[0];
		EXPECT_EQ(num(rxqs[0], "pool_socket"), follow_lcore ? node : 0) << rxqs[0];
		EXPECT_EQ(str(rxqs[0], "why"), follow_lcore ? "lcore" : "port") << rxqs[0];
		EXPECT_EQ(num(rxqs[1], "port_socket"), -1) << rxqs[1];
		EXPECT_EQ(num(rxqs[1], "pool_socket"), node) << rxqs[1];
		const bool warned =
		    r.err.find("warning: port 0 (null:socket=0) is on socket 0 but lcore 1") !=
		    std::string::npos;
		EXPECT_EQ(warned, node != 0) << r.err;
		EXPECT_EQ(r.err.find("port 1 (null)"), std::string::npos) << r.err;
	}
}

// --pool-socket N puts every pool on N whatever the lcore; port: on the
// port's structures' socket (the main lcore's, 0 here); a socket the machine
// does not have is refused.
TEST(NumaFwd, PoolSocketOption)
{
	const int node = far_node();
	Placement pl = run_ok(lcores_main0_worker(node) + " --port null --pool-socket 0");
	ASSERT_EQ(pl.rxqs.size(), 1u);
	EXPECT_EQ(num(pl.rxqs[0], "lcore_socket"), node);
	EXPECT_EQ(num(pl.rxqs[0], "pool_socket"), 0);
	EXPECT_EQ(str(pl.rxqs[0], "why"), "option");
	ASSERT_EQ(pl.pools.size(), 1u);
	EXPECT_EQ(num(pl.pools[0], "socket"), 0);

	pl = run_ok(lcores_main0_worker(node) + " --port null --pool-socket port");
	ASSERT_EQ(pl.rxqs.size(), 1u);
	EXPECT_EQ(num(pl.rxqs[0], "pool_socket"), 0);
	EXPECT_EQ(str(pl.rxqs[0], "why"), "port");

	if (nodes() >= 2) {
		// The lcore on node 0, the pool remote on node 1.
		pl = run_ok(lcores_main0_worker(0) + " --port null --pool-socket 1");
		ASSERT_EQ(pl.rxqs.size(), 1u);
		EXPECT_EQ(num(pl.rxqs[0], "lcore_socket"), 0);
		EXPECT_EQ(num(pl.rxqs[0], "pool_socket"), 1);
		EXPECT_EQ(num(pl.pools[0], "node"), 1);
	}

	Result r = fwd("--port null --pool-socket " + std::to_string(nodes()));
	EXPECT_EQ(r.code, 2) << r.out << r.err;
	EXPECT_NE(r.err.find("this machine has " + std::to_string(nodes()) + " socket"),
	          std::string::npos)
	    << r.err;
	r = fwd("--port null --pool-socket near");
	EXPECT_EQ(r.code, 2);
	EXPECT_NE(r.err.find("--pool-socket 'near'"), std::string::npos) << r.err;
}

} // namespace
