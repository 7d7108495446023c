// SPDX-License-Identifier: BSD-3-Clause
// DPDK's telemetry endpoints in DPDK's shapes: /ethdev/info, /ethdev/xstats,
// /ethdev/link_status (DPDK 22.11's keys, value types and order, from
// lib/ethdev/rte_ethdev.c), /eal/params and /eal/app_params; and a reader
// shaped after Telegraf's dpdk input plugin (telegraf_reader.h) gathering
// every port over the socket without an error.
#include "telemetry_test.h"
#include "telegraf_reader.h"

#include <algorithm>
#include <regex>
#include <vector>

#include <tarn/tarn.h>

#include "../common/test_log.h"

namespace
{

std::string query(const std::string &req)
{
	static char buf[TARN_TELEMETRY_MAX_OUTPUT + 1];
	int n = tarn_telemetry_query(req.c_str(), buf, sizeof(buf));
	EXPECT_GT(n, 0) << req;
	return n > 0 ? std::string(buf, (size_t)n) : std::string();
}

std::vector<std::string> keys_of(const jval *o)
{
	std::vector<std::string> k;
	for (const jval *e = o ? o->child : nullptr; e != nullptr; e = e->next)
		k.push_back(e->key ? e->key : "");
	return k;
}

std::vector<std::string> strings_of(const jval *a)
{
	std::vector<std::string> s;
	for (const jval *e = a ? a->child : nullptr; e != nullptr; e = e->next)
		s.push_back(e->type == J_STR ? e->str : "<not a string>");
	return s;
}

// A whole number: what DPDK's rte_tel_data_add_dict_int/u64 write.
bool is_int(const jval *v)
{
	return v != nullptr && v->type == J_NUM && v->num == (double)(long long)v->num;
}

// tarn initialised with telemetry, a pool and two ring ports cabled
// together, each with 2 RX and 2 TX queues, started; 10 packets of 100
// bytes sent on port a queue 1 and received on port b queue 1.
class DpdkShapes : public ::testing::Test
{
      protected:
	std::string prefix, path;
	struct tarn_mempool *mp = nullptr;
	uint16_t a = 0, b = 0;

	void SetUp() override
	{
		tarn_log_set_handler(TestLog::fn, nullptr);
		TestLog::clear();
		prefix = "tarn-test-teldpdk-" + std::to_string(getpid());
		struct tarn_config cfg;
		tarn_config_init(&cfg);
		snprintf(cfg.lcores, sizeof(cfg.lcores), "0");
		cfg.no_pin_main = 1;
		snprintf(cfg.file_prefix, sizeof(cfg.file_prefix), "%s", prefix.c_str());
		ASSERT_EQ(tarn_init(&cfg), 0) << TestLog::all();
		char p[128];
		ASSERT_GT(tarn_telemetry_path(p, sizeof(p)), 0) << TestLog::all();
		path = p;
		mp = tarn_pktmbuf_pool_create("teldpdk_mbufs", 512, 0, 0,
		                              TARN_MBUF_DEFAULT_BUF_SIZE, TARN_SOCKET_ANY);
		ASSERT_NE(mp, nullptr);
		ASSERT_EQ(tarn_eth_dev_create("ring:name=da", &a), 0) << TestLog::all();
		ASSERT_EQ(tarn_eth_dev_create("ring:name=db,peer=da", &b), 0) << TestLog::all();
		for (uint16_t port : { a, b }) {
			ASSERT_EQ(tarn_eth_dev_configure(port, 2, 2, nullptr), 0);
			for (uint16_t q = 0; q < 2; q++) {
				ASSERT_EQ(tarn_eth_tx_queue_setup(port, q, 64, TARN_SOCKET_ANY), 0);
				ASSERT_EQ(tarn_eth_rx_queue_setup(port, q, 64, TARN_SOCKET_ANY, mp),
				          0);
			}
			ASSERT_EQ(tarn_eth_dev_start(port), 0);
		}
		struct tarn_mbuf *pkts[10];
		ASSERT_EQ(tarn_pktmbuf_alloc_bulk(mp, pkts, 10), 0);
		for (auto *m : pkts)
			ASSERT_NE(tarn_pktmbuf_append(m, 100), nullptr);
		ASSERT_EQ(tarn_eth_tx_burst(a, 1, pkts, 10), 10);
		ASSERT_EQ(tarn_eth_rx_burst(b, 1, pkts, 10), 10);
		tarn_pktmbuf_free_bulk(pkts, 10);
	}
	void TearDown() override
	{
		int port;
		TARN_ETH_FOREACH_DEV(port)
		{
			tarn_eth_dev_close((uint16_t)port);
		}
		if (mp != nullptr) {
			EXPECT_EQ(tarn_mempool_free(mp, 0), 0);
		}
		EXPECT_EQ(tarn_cleanup(), 0);
		tarn_log_set_handler(nullptr, nullptr);
	}
};

TEST_F(DpdkShapes, EthdevInfo)
{
	std::string r = query("/ethdev/info," + std::to_string(a));
	Json j(r);
	ASSERT_TRUE(j.ok()) << r;
	const jval *v = j.value("/ethdev/info");
	ASSERT_NE(v, nullptr) << r;
	// DPDK 22.11's keys in its order, less the ones tarn has no value for
	// (rx_mbuf_size_min, scattered_rx, all_multicast, dev_flags, rx_offloads,
	// tx_offloads, ethdev_rss_hf)
	const std::vector<std::string> want = { "name",         "state",          "nb_rx_queues",
		                                "nb_tx_queues", "port_id",        "mtu",
		                                "mac_addr",     "promiscuous",    "dev_started",
		                                "lro",          "dev_configured", "rxq_state",
		                                "txq_state",    "numa_node" };
	EXPECT_EQ(keys_of(v), want) << r;
	EXPECT_STREQ(jget_str(v, "name", ""), "da");
	for (const char *k : { "state", "nb_rx_queues", "nb_tx_queues", "port_id", "mtu",
	                       "promiscuous", "dev_started", "lro", "dev_configured", "numa_node" })
		EXPECT_TRUE(is_int(jget(v, k))) << k << " in " << r;
	EXPECT_EQ(jget_u64(v, "state", 0), 1u); // RTE_ETH_DEV_ATTACHED
	EXPECT_EQ(jget_u64(v, "port_id", 99), a);
	EXPECT_EQ(jget_u64(v, "nb_rx_queues", 0), 2u);
	EXPECT_EQ(jget_u64(v, "mtu", 0), (uint64_t)TARN_ETH_DEFAULT_MTU);
	EXPECT_EQ(jget_u64(v, "dev_started", 0), 1u);
	EXPECT_EQ(jget_u64(v, "dev_configured", 0), 1u);
	// rte_ether_format_addr(): upper-case hex, and the port's address
	struct tarn_ether_addr mac;
	ASSERT_EQ(tarn_eth_macaddr_get(a, &mac), 0);
	char lower[24];
	tarn_ether_format_addr(lower, sizeof(lower), &mac);
	std::string upper(lower);
	std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
	EXPECT_TRUE(std::regex_match(jget_str(v, "mac_addr", ""),
	                             std::regex("([0-9A-F]{2}:){5}[0-9A-F]{2}")))
	    << r;
	EXPECT_EQ(jget_str(v, "mac_addr", ""), upper);
	// one RTE_ETH_QUEUE_STATE_STARTED per queue while started
	for (const char *k : { "rxq_state", "txq_state" }) {
		const jval *q = jget(v, k);
		ASSERT_EQ(jcount(q), 2u) << k;
		EXPECT_EQ(jval_u64(jindex(q, 0), 9), 1u);
		EXPECT_EQ(jval_u64(jindex(q, 1), 9), 1u);
	}
	// stopped: not started, queues STOPPED (0), still configured
	ASSERT_EQ(tarn_eth_dev_stop(a), 0);
	Json s(query("/ethdev/info," + std::to_string(a)));
	const jval *sv = s.value("/ethdev/info");
	EXPECT_EQ(jget_u64(sv, "dev_started", 9), 0u);
	EXPECT_EQ(jget_u64(sv, "dev_configured", 9), 1u);
	EXPECT_EQ(jval_u64(jindex(jget(sv, "rxq_state"), 0), 9), 0u);
	EXPECT_EQ(jval_u64(jindex(jget(sv, "txq_state"), 1), 9), 0u);
	// a created, unconfigured port: no queues, not configured
	uint16_t c;
	ASSERT_EQ(tarn_eth_dev_create("null:name=dnull", &c), 0);
	Json n(query("/ethdev/info," + std::to_string(c)));
	const jval *nv = n.value("/ethdev/info");
	EXPECT_EQ(jget_u64(nv, "dev_configured", 9), 0u);
	EXPECT_EQ(jcount(jget(nv, "rxq_state")), 0u);
	EXPECT_EQ(jget(nv, "rxq_state")->type, J_ARR);
}

TEST_F(DpdkShapes, EthdevXstats)
{
	std::string r = query("/ethdev/xstats," + std::to_string(b));
	Json j(r);
	ASSERT_TRUE(j.ok()) << r;
	const jval *v = j.value("/ethdev/xstats");
	ASSERT_NE(v, nullptr) << r;
	// DPDK's names: the basic stats, then per RX queue, then per TX queue,
	// then the driver's (tarn's per-queue drop counters)
	const std::vector<std::string> want = {
		"rx_good_packets",     "tx_good_packets",
		"rx_good_bytes",       "tx_good_bytes",
		"rx_missed_errors",    "rx_errors",
		"tx_errors",           "rx_mbuf_allocation_errors",
		"rx_q0_packets",       "rx_q0_bytes",
		"rx_q0_errors",        "rx_q1_packets",
		"rx_q1_bytes",         "rx_q1_errors",
		"tx_q0_packets",       "tx_q0_bytes",
		"tx_q1_packets",       "tx_q1_bytes",
		"rx_q0_missed_errors", "rx_q0_mbuf_allocation_errors",
		"rx_q1_missed_errors", "rx_q1_mbuf_allocation_errors",
	};
	EXPECT_EQ(keys_of(v), want) << r;
	for (const jval *e = v->child; e != nullptr; e = e->next)
		EXPECT_TRUE(is_int(e)) << e->key;
	EXPECT_EQ(jget_u64(v, "rx_good_packets", 0), 10u);
	EXPECT_EQ(jget_u64(v, "rx_good_bytes", 0), 1000u);
	EXPECT_EQ(jget_u64(v, "tx_good_packets", 9), 0u);
	EXPECT_EQ(jget_u64(v, "rx_q1_packets", 0), 10u);
	EXPECT_EQ(jget_u64(v, "rx_q1_bytes", 0), 1000u);
	EXPECT_EQ(jget_u64(v, "rx_q0_packets", 9), 0u);
	// the sender's TX side
	Json ja(query("/ethdev/xstats," + std::to_string(a)));
	const jval *va = ja.value("/ethdev/xstats");
	EXPECT_EQ(jget_u64(va, "tx_good_packets", 0), 10u);
	EXPECT_EQ(jget_u64(va, "tx_q1_packets", 0), 10u);
	EXPECT_EQ(jget_u64(va, "tx_q1_bytes", 0), 1000u);
	// the same figures as /ethdev/stats
	Json st(query("/ethdev/stats," + std::to_string(a)));
	EXPECT_EQ(jget_u64(st.value("/ethdev/stats"), "opackets", 0),
	          jget_u64(va, "tx_good_packets", 1));
}

TEST_F(DpdkShapes, EthdevLinkStatus)
{
	EXPECT_EQ(query("/ethdev/link_status," + std::to_string(a)),
	          "{\"/ethdev/link_status\":{\"status\":\"UP\",\"speed\":10000,"
	          "\"duplex\":\"full-duplex\"}}");
	ASSERT_EQ(tarn_eth_dev_stop(a), 0);
	// down: the status alone, as DPDK answers
	EXPECT_EQ(query("/ethdev/link_status," + std::to_string(a)),
	          "{\"/ethdev/link_status\":{\"status\":\"DOWN\"}}");
}

TEST_F(DpdkShapes, BadPortIdsAnswerNull)
{
	TelClient c;
	ASSERT_TRUE(c.open(path));
	for (const char *cmd : { "/ethdev/info", "/ethdev/xstats", "/ethdev/link_status" }) {
		for (const char *bad :
		     { "", ",", ",abc", ",-1", ",31", ",99999999999", ",0x0", ", 0", ",7" }) {
			const std::string req = std::string(cmd) + bad;
			EXPECT_EQ(c.ask(req), std::string("{\"") + cmd + "\":null}") << req;
		}
	}
	// a closed port too
	tarn_eth_dev_close(a);
	EXPECT_EQ(c.ask("/ethdev/info," + std::to_string(a)), "{\"/ethdev/info\":null}");
	EXPECT_EQ(c.ask("/ethdev/xstats," + std::to_string(a)), "{\"/ethdev/xstats\":null}");
}

TEST_F(DpdkShapes, ListedAndHelped)
{
	Json l(query("/"));
	std::vector<std::string> names = strings_of(l.value("/"));
	for (const char *want : { "/ethdev/info", "/ethdev/xstats", "/ethdev/link_status",
	                          "/eal/params", "/eal/app_params" })
		EXPECT_NE(std::find(names.begin(), names.end(), want), names.end()) << want;
	EXPECT_EQ(query("/help,/ethdev/xstats"),
	          "{\"/help\":{\"/ethdev/xstats\":\"Returns the extended stats for a port. "
	          "Parameters: int port_id\"}}");
}

// Telegraf's dpdk input, default ethdev commands, over the socket: every
// port gives its four metrics, no error, each reply inside the plugin's
// default 200 ms.
TEST_F(DpdkShapes, TelegrafShapedReaderGathersEveryPort)
{
	telegraf::Reader reader(path);
	telegraf::Gather g = reader.gather();
	for (auto &e : g.errors)
		ADD_FAILURE() << e;
	EXPECT_EQ(g.pid, (double)getpid());
	EXPECT_EQ(g.version.rfind("tarn ", 0), 0u) << g.version;
	ASSERT_EQ(g.metrics.size(), 8u); // 4 commands x 2 ports
	EXPECT_LT(g.max_ms, 200.0);
	auto num = [](const telegraf::Metric &m, const std::string &k) {
		auto it = m.fields.find(k);
		return it != m.fields.end() && std::holds_alternative<double>(it->second)
		           ? std::get<double>(it->second)
		           : -1.0;
	};
	auto str = [](const telegraf::Metric &m, const std::string &k) {
		auto it = m.fields.find(k);
		return it != m.fields.end() && std::holds_alternative<std::string>(it->second)
		           ? std::get<std::string>(it->second)
		           : std::string("<missing>");
	};
	const std::string pb = std::to_string(b);
	int seen = 0;
	for (const auto &m : g.metrics) {
		EXPECT_TRUE(m.params == std::to_string(a) || m.params == pb) << m.params;
		if (m.params != pb)
			continue;
		seen++;
		if (m.command == "/ethdev/stats") {
			EXPECT_EQ(num(m, "ipackets"), 10.0);
			EXPECT_EQ(num(m, "ibytes"), 1000.0);
			EXPECT_EQ(num(m, "q_ipackets_1"), 10.0);
			EXPECT_EQ(num(m, "q_ibytes_1"), 1000.0);
			EXPECT_EQ(num(m, "q_errors_15"), 0.0);
		} else if (m.command == "/ethdev/xstats") {
			EXPECT_EQ(num(m, "rx_good_packets"), 10.0);
			EXPECT_EQ(num(m, "rx_q1_packets"), 10.0);
		} else if (m.command == "/ethdev/info") {
			EXPECT_EQ(str(m, "name"), "db");
			EXPECT_EQ(num(m, "port_id"), (double)b);
			EXPECT_EQ(num(m, "rxq_state_1"), 1.0);
			EXPECT_EQ(num(m, "nb_tx_queues"), 2.0);
			EXPECT_EQ(str(m, "mac_addr").size(), 17u);
		} else if (m.command == "/ethdev/link_status") {
			EXPECT_EQ(str(m, "status"), "UP");
			EXPECT_EQ(num(m, "status_i"), 1.0);
			EXPECT_EQ(num(m, "speed"), 10000.0);
			EXPECT_EQ(str(m, "duplex"), "full-duplex");
		}
		EXPECT_EQ(num(m, "pid"), (double)getpid());
	}
	EXPECT_EQ(seen, 4);
	// a stopped port still gathers: link DOWN (status_i 0)
	ASSERT_EQ(tarn_eth_dev_stop(b), 0);
	telegraf::Reader again(path);
	g = again.gather();
	EXPECT_TRUE(g.errors.empty()) << g.errors.front();
	bool down = false;
	for (const auto &m : g.metrics)
		if (m.command == "/ethdev/link_status" && m.params == pb)
			down = str(m, "status") == "DOWN" && num(m, "status_i") == 0.0;
	EXPECT_TRUE(down);
}

// The reader fails where Telegraf would: it is no rubber stamp.
TEST(TelegrafReader, RejectsWhatThePluginRejects)
{
	std::map<std::string, telegraf::Field> f;
	std::string err;
	Json j("{\"a\":{\"b\":[1,\"x\",true,null]}}");
	ASSERT_TRUE(telegraf::flatten("", j.root(), f, err));
	EXPECT_EQ(f.size(), 3u);
	EXPECT_EQ(std::get<double>(f["a_b_0"]), 1.0);
	EXPECT_EQ(std::get<std::string>(f["a_b_1"]), "x");
	EXPECT_EQ(std::get<bool>(f["a_b_2"]), true);
	// no socket there
	telegraf::Reader r("/nonexistent/dpdk_telemetry.v2");
	telegraf::Gather g = r.gather();
	EXPECT_FALSE(g.errors.empty());
	EXPECT_TRUE(g.metrics.empty());
}

// /eal/params: argv[0] and the tarn options of the last parse;
// /eal/app_params: what tarn left to the application, in order.
TEST(EalParams, SplitLikeDpdk)
{
	tarn_log_set_handler(TestLog::fn, nullptr);
	struct tarn_config cfg;
	tarn_config_init(&cfg);
	char a0[] = "myapp", a1[] = "--lcores", a2[] = "0", a3[] = "-x", a4[] = "--file-prefix=p1",
	     a5[] = "--log-level", a6[] = "debug", a7[] = "--", a8[] = "--lcores";
	char *argv[] = { a0, a1, a2, a3, a4, a5, a6, a7, a8, nullptr };
	int argc = 9;
	ASSERT_GE(tarn_config_parse_args(&cfg, &argc, argv), 0) << TestLog::all();
	EXPECT_EQ(query("/eal/params"), "{\"/eal/params\":[\"myapp\",\"--lcores\",\"0\","
	                                "\"--file-prefix=p1\",\"--log-level\",\"debug\"]}");
	EXPECT_EQ(query("/eal/app_params"), "{\"/eal/app_params\":[\"-x\",\"--\",\"--lcores\"]}");
	// a failed parse leaves the last lists
	char b0[] = "other", b1[] = "--lcores";
	char *bad[] = { b0, b1, nullptr };
	int bargc = 2;
	EXPECT_LT(tarn_config_parse_args(&cfg, &bargc, bad), 0);
	EXPECT_EQ(query("/eal/app_params"), "{\"/eal/app_params\":[\"-x\",\"--\",\"--lcores\"]}");
	// a program without arguments of its own
	char c0[] = "bare";
	char *only[] = { c0, nullptr };
	int cargc = 1;
	ASSERT_EQ(tarn_config_parse_args(&cfg, &cargc, only), 0);
	EXPECT_EQ(query("/eal/params"), "{\"/eal/params\":[\"bare\"]}");
	EXPECT_EQ(query("/eal/app_params"), "{\"/eal/app_params\":[]}");
	// names needing JSON escapes come back as sent
	char d0[] = "a\"b\\c";
	char *esc[] = { d0, nullptr };
	int dargc = 1;
	ASSERT_EQ(tarn_config_parse_args(&cfg, &dargc, esc), 0);
	Json j(query("/eal/params"));
	ASSERT_TRUE(j.ok());
	EXPECT_EQ(strings_of(j.value("/eal/params")), std::vector<std::string>{ "a\"b\\c" });
	tarn_log_set_handler(nullptr, nullptr);
}

} // namespace
