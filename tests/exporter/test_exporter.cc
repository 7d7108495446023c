// SPDX-License-Identifier: BSD-3-Clause
// tarn-exporter end to end. Every process of the suite lives in a private
// runtime directory ($RUNTIME_DIRECTORY), so the exporter sees only them:
// a tarn-fwd forwarding between its two ring ports, processes that come
// and go, fake telemetry servers (a stuck one, a DPDK process without tarn,
// a DPDK process with tarn's plugin, a hostile one). Checked: both
// exposition formats read strictly (and linted by promtool), the values
// (pool gauges add up to the size, counters grow), HTTP strictness (404,
// 405, 400, 431, 505, 408), slow and hostile clients that must not block a
// scrape, and a real Prometheus scraping the exporter and answering the
// queries of docs/metrics.md and of the Grafana dashboard. Nothing is left
// behind: the runtime directory and every child are gone at the end.
#include "exporter_test.h"

#include <dirent.h>

#include <regex>

using namespace xt;

namespace
{

std::string tmp_root; // the suite's private directory
std::string run_dir;  // $RUNTIME_DIRECTORY
std::string tel_dir;  // where tarn puts sockets: $RUNTIME_DIRECTORY/dpdk

const std::string fwd_prefix = "xfwd";

Child fwd;      // the suite's tarn-fwd
Child exporter; // the suite's exporter
unsigned port;  // its HTTP port

std::string log_path(const std::string &what)
{
	return tmp_root + "/" + what + ".log";
}

// Start an exporter; its port from its first line. 0 on failure.
unsigned start_exporter(Child &c, const std::vector<std::string> &extra, const std::string &name)
{
	std::vector<std::string> argv = { TARN_EXPORTER, "--listen", "127.0.0.1:0" };
	argv.insert(argv.end(), extra.begin(), extra.end());
	if (!c.start(argv, log_path(name)))
		return 0;
	std::regex re("serving http://127\\.0\\.0\\.1:([0-9]+)/metrics");
	for (int i = 0; i < 300; i++) {
		std::smatch m;
		std::string out = c.output();
		if (std::regex_search(out, m, re))
			return (unsigned)std::stoul(m[1]);
		if (!c.running())
			return 0;
		sleep_s(0.05);
	}
	return 0;
}

// A tarn-fwd with its own prefix, forwarding at once; waits for its socket.
bool start_fwd(Child &c, const std::string &prefix, const std::vector<std::string> &extra = {})
{
	const std::string lcores = sysconf(_SC_NPROCESSORS_ONLN) >= 2 ? "0,1" : "0";
	std::vector<std::string> argv = { TARN_FWD,   "--file-prefix",  prefix,
		                          "--lcores", lcores,           "--duration",
		                          "120",      "--stats-period", "0" };
	argv.insert(argv.end(), extra.begin(), extra.end());
	if (!c.start(argv, log_path(prefix)))
		return false;
	// Ready once it says where its telemetry is: tarn-fwd prints that after
	// its pools and ports are made and its commands registered. The socket
	// alone is there from tarn_init() on, before any pool: a scrape then
	// found the process but not its pool (under load, 2 ASan runs in 5).
	const std::string sock = tel_dir + "/" + prefix + "/dpdk_telemetry.v2";
	for (int i = 0; i < 300; i++) {
		if (c.output().find("tarn-fwd: telemetry at ") != std::string::npos)
			return exists(sock);
		if (!c.running())
			return false;
		sleep_s(0.1);
	}
	return false;
}

Expo scrape(unsigned p = port, bool om = false)
{
	Response r = http_get(p, "/metrics", om ? prometheus_accept() : "");
	EXPECT_EQ(r.status, 200) << r.raw.substr(0, 500);
	Expo e = parse_expo(r.body, om);
	for (auto &err : e.errors)
		ADD_FAILURE() << "exposition: " << err;
	return e;
}

void rm_rf(const std::string &path)
{
	DIR *d = opendir(path.c_str());
	if (d != nullptr) {
		while (struct dirent *e = readdir(d)) {
			std::string n = e->d_name;
			if (n == "." || n == "..")
				continue;
			rm_rf(path + "/" + n);
		}
		closedir(d);
		rmdir(path.c_str());
	} else {
		unlink(path.c_str());
	}
}

class Env : public ::testing::Environment
{
      public:
	void SetUp() override
	{
		char t[] = "/tmp/tarn-test-exporter-XXXXXX";
		ASSERT_NE(mkdtemp(t), nullptr);
		tmp_root = t;
		run_dir = tmp_root + "/run";
		tel_dir = run_dir + "/dpdk";
		ASSERT_EQ(mkdir(run_dir.c_str(), 0700), 0);
		setenv("RUNTIME_DIRECTORY", run_dir.c_str(), 1);
		ASSERT_TRUE(start_fwd(fwd, fwd_prefix)) << fwd.output();
		port = start_exporter(
		    exporter,
		    { "--process-timeout", "0.5", "--http-timeout", "3", "--max-connections", "8" },
		    "exporter");
		ASSERT_NE(port, 0u) << exporter.output();
	}
	void TearDown() override
	{
		EXPECT_EQ(exporter.stop(SIGTERM), 0) << exporter.output();
		EXPECT_EQ(fwd.stop(SIGINT), 0) << fwd.output();
		// the processes took their sockets and directories with them
		EXPECT_FALSE(exists(tel_dir + "/" + fwd_prefix + "/dpdk_telemetry.v2"));
		unsetenv("RUNTIME_DIRECTORY");
		exporter.log.clear();
		fwd.log.clear();
		rm_rf(tmp_root);
		EXPECT_FALSE(exists(tmp_root));
		// no hugepage file of the suite's processes
		if (DIR *d = opendir("/dev/hugepages")) {
			while (struct dirent *e = readdir(d))
				EXPECT_NE(std::string(e->d_name).rfind("xfwd", 0), 0u)
				    << "/dev/hugepages/" << e->d_name << " left behind";
			closedir(d);
		}
	}
};

::testing::Environment *const env = ::testing::AddGlobalTestEnvironment(new Env);

// ---------------------------------------------------------------------------
// Command line

struct Result {
	int code;
	std::string out;
};

// Run through the shell, stdout and stderr together.
Result sh(const std::string &cmd)
{
	Result r;
	std::string all;
	FILE *p = popen((cmd + " 2>&1").c_str(), "r");
	char buf[4096];
	size_t n;
	while (p != nullptr && (n = fread(buf, 1, sizeof(buf), p)) > 0)
		all.append(buf, n);
	int st = p != nullptr ? pclose(p) : -1;
	r.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	r.out = all;
	return r;
}

TEST(Cli, HelpVersionAndUsageErrors)
{
	Result h = sh(std::string(TARN_EXPORTER) + " --help");
	EXPECT_EQ(h.code, 0);
	for (const char *opt : { "--listen", "--runtime-dir", "--socket", "--process-timeout",
	                         "--http-timeout", "--max-connections", "--version" })
		EXPECT_NE(h.out.find(opt), std::string::npos) << opt;
	Result v = sh(std::string(TARN_EXPORTER) + " --version");
	EXPECT_EQ(v.code, 0);
	EXPECT_EQ(v.out.rfind("tarn-exporter ", 0), 0u) << v.out;
	struct {
		const char *args, *says;
	} bad[] = {
		{ "--listen foo", "expected ADDR:PORT" },
		{ "--listen 127.0.0.1:65536", "expected ADDR:PORT" },
		{ "--listen :80", "expected ADDR:PORT" },
		{ "--listen '[::1:80'", "expected ADDR:PORT" },
		{ "--process-timeout 0", "seconds from" },
		{ "--process-timeout abc", "seconds from" },
		{ "--http-timeout 99999", "seconds from" },
		{ "--max-connections 0", "whole number" },
		{ "--max-connections 5x", "whole number" },
		{ "--runtime-dir ''", "a directory" },
		{ "--bogus", "unknown option" },
		{ "--listen", "needs a value" },
		{ "extra", "unexpected argument" },
	};
	for (auto &b : bad) {
		Result r = sh(std::string(TARN_EXPORTER) + " " + b.args);
		EXPECT_EQ(r.code, 2) << b.args << ": " << r.out;
		EXPECT_NE(r.out.find(b.says), std::string::npos) << b.args << ": " << r.out;
	}
	// an address it cannot have: exit 1, says why
	Result r = sh(std::string(TARN_EXPORTER) + " --listen 192.0.2.1:9478");
	EXPECT_EQ(r.code, 1) << r.out;
	EXPECT_NE(r.out.find("cannot listen"), std::string::npos) << r.out;
	// a port in use
	r = sh(std::string(TARN_EXPORTER) + " --listen 127.0.0.1:" + std::to_string(port));
	EXPECT_EQ(r.code, 1) << r.out;
	EXPECT_NE(r.out.find("Address already in use"), std::string::npos) << r.out;
}

// ---------------------------------------------------------------------------
// The metrics of a running tarn-fwd

TEST(Scrape, PrometheusTextOfARunningFwd)
{
	Response r = http_get(port);
	ASSERT_EQ(r.status, 200);
	EXPECT_EQ(r.headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
	EXPECT_EQ(r.headers["content-length"], std::to_string(r.body.size()));
	EXPECT_EQ(r.headers["connection"], "close");
	Expo e = parse_expo(r.body, false);
	for (auto &err : e.errors)
		ADD_FAILURE() << err;
	const std::map<std::string, std::string> p = { { "process", fwd_prefix } };
	// the process
	auto info = e.find("tarn_process_info", p);
	ASSERT_EQ(info.size(), 1u) << r.body.substr(0, 2000);
	EXPECT_EQ(info[0]->labels.at("kind"), "tarn");
	EXPECT_EQ(info[0]->labels.at("pid"), std::to_string(fwd.pid));
	EXPECT_EQ(info[0]->labels.at("version").rfind("tarn ", 0), 0u);
	EXPECT_EQ(e.value("tarn_process_up", p), 1.0);
	// its pool: the states add up to the size
	const std::map<std::string, std::string> pool = { { "process", fwd_prefix },
		                                          { "pool", "fwd_mbufs" } };
	auto mp = pool;
	mp["state"] = "available";
	const double avail = e.value("tarn_mempool_objects", mp);
	mp["state"] = "in_use";
	const double in_use = e.value("tarn_mempool_objects", mp);
	const double size = e.value("tarn_mempool_size_objects", pool);
	EXPECT_GT(size, 0.0);
	EXPECT_EQ(avail + in_use, size);
	EXPECT_GT(in_use, 0.0); // io forwarding keeps its seeded bursts in flight
	EXPECT_EQ(e.value("tarn_mempool_cache_size_objects", pool), 256.0);
	EXPECT_GT(e.value("tarn_mempool_element_size_bytes", pool), 2048.0);
	EXPECT_GE(e.find("tarn_mempool_thread_cache_objects", pool).size(), 1u);
	for (const char *n :
	     { "tarn_mempool_get_objects_total", "tarn_mempool_cache_refills_total",
	       "tarn_mempool_cache_flushes_total", "tarn_mempool_get_failures_total",
	       "tarn_mempool_reserve_objects", "tarn_mempool_cached_objects" })
		EXPECT_EQ(e.find(n, pool).size(), 1u) << n;
	// its ports and queues
	for (const char *name : { "p0", "p1" }) {
		std::map<std::string, std::string> pp = { { "process", fwd_prefix },
			                                  { "name", name } };
		EXPECT_GT(e.value("tarn_port_rx_packets_total", pp), 0.0) << name;
		EXPECT_GT(e.value("tarn_port_tx_packets_total", pp), 0.0) << name;
		EXPECT_GT(e.value("tarn_port_rx_bytes_total", pp), 0.0) << name;
		EXPECT_EQ(e.value("tarn_port_link_up", pp), 1.0);
		EXPECT_EQ(e.value("tarn_port_mtu_bytes", pp), 1500.0);
		for (const char *n :
		     { "tarn_port_rx_missed_packets_total", "tarn_port_rx_errors_total",
		       "tarn_port_tx_errors_total", "tarn_port_rx_nombuf_total" })
			EXPECT_EQ(e.value(n, pp), 0.0) << n;
		pp["queue"] = "0";
		EXPECT_GT(e.value("tarn_rxq_packets_total", pp), 0.0);
		EXPECT_EQ(e.value("tarn_rxq_nombuf_total", pp), 0.0);
		EXPECT_GT(e.value("tarn_txq_bytes_total", pp), 0.0);
		auto pi = e.find("tarn_port_info", { { "process", fwd_prefix }, { "name", name } });
		ASSERT_EQ(pi.size(), 1u);
		EXPECT_EQ(pi[0]->labels.at("driver"), "ring");
		EXPECT_EQ(pi[0]->labels.at("state"), "started");
	}
	// lcores: the forwarding one reports polls, all busy between ring ports
	auto lc = e.find("tarn_lcore_info", p);
	ASSERT_GE(lc.size(), 1u);
	bool polled = false;
	for (auto *s : e.find("tarn_lcore_polls_total", p))
		polled |= s->value > 0;
	EXPECT_TRUE(polled);
	// tarn-fwd's own totals
	EXPECT_GT(e.value("tarn_fwd_tx_packets_total", p), 0.0);
	EXPECT_EQ(e.value("tarn_fwd_running", p), 1.0);
	EXPECT_EQ(e.find("tarn_fwd_info", { { "process", fwd_prefix }, { "mode", "io" } }).size(),
	          1u);
	// the exporter's own
	EXPECT_GE(e.value("tarn_exporter_sockets", { { "state", "ok" } }), 1.0);
	EXPECT_EQ(e.find("tarn_exporter_build_info").size(), 1u);
	// promtool's lint: names, units, _total, help
	if (std::string(PROMTOOL).empty()) {
		std::cout << "promtool not installed (Debian package prometheus): lint skipped\n";
		return;
	}
	const std::string f = tmp_root + "/metrics.txt";
	std::ofstream(f) << r.body;
	Result lint = sh(std::string(PROMTOOL) + " check metrics < " + f);
	unlink(f.c_str());
	EXPECT_EQ(lint.code, 0) << lint.out;
	EXPECT_EQ(lint.out, "");
}

TEST(Scrape, OpenMetricsWhenAsked)
{
	Response r = http_get(port, "/metrics", prometheus_accept());
	ASSERT_EQ(r.status, 200);
	EXPECT_EQ(r.headers["content-type"],
	          "application/openmetrics-text; version=1.0.0; charset=utf-8");
	ASSERT_GE(r.body.size(), 6u);
	EXPECT_EQ(r.body.substr(r.body.size() - 6), "# EOF\n");
	Expo e = parse_expo(r.body, true);
	for (auto &err : e.errors)
		ADD_FAILURE() << err;
	EXPECT_EQ(e.types["tarn_port_rx_packets"], "counter");
	EXPECT_EQ(e.types["tarn_process"], "info");
	EXPECT_EQ(e.units["tarn_port_rx_bytes"], "bytes");
	EXPECT_EQ(e.units["tarn_exporter_collect_seconds"], "seconds");
	EXPECT_GT(
	    e.value("tarn_port_rx_packets_total", { { "process", fwd_prefix }, { "name", "p0" } }),
	    0.0);
	// the same samples as in Prometheus text (names and labels)
	Expo t = scrape();
	EXPECT_EQ(e.names(), t.names());
	// OpenMetrics refused (q=0), or not asked for: Prometheus text
	Response q0 = http_get(port, "/metrics", "application/openmetrics-text;q=0, text/plain");
	EXPECT_EQ(q0.headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
	Response pref =
	    http_get(port, "/metrics", "text/plain;q=1, application/openmetrics-text;q=0.5");
	EXPECT_EQ(pref.headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
	Response any = http_get(port, "/metrics", "*/*");
	EXPECT_EQ(any.headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
}

TEST(Scrape, CountersGrowBetweenScrapes)
{
	const std::map<std::string, std::string> p0 = { { "process", fwd_prefix },
		                                        { "name", "p0" } };
	const std::map<std::string, std::string> pr = { { "process", fwd_prefix } };
	Expo a = scrape();
	sleep_s(0.3);
	Expo b = scrape();
	EXPECT_GT(b.value("tarn_port_tx_packets_total", p0),
	          a.value("tarn_port_tx_packets_total", p0));
	EXPECT_GT(b.value("tarn_fwd_tx_packets_total", pr),
	          a.value("tarn_fwd_tx_packets_total", pr));
	EXPECT_GT(b.value("tarn_exporter_collections_total"),
	          a.value("tarn_exporter_collections_total"));
	// each scrape is a fresh collection, counted in its own output
	EXPECT_GE(b.value("tarn_exporter_scrapes_total", { { "format", "prometheus" } }),
	          a.value("tarn_exporter_scrapes_total", { { "format", "prometheus" } }) + 1);
}

// ---------------------------------------------------------------------------
// Processes that come, go, hang, or are not tarn's

TEST(Processes, ComeAndGoWithoutRestart)
{
	const std::map<std::string, std::string> two = { { "process", "xfwd2" } };
	EXPECT_TRUE(scrape().find("tarn_process_info", two).empty());
	{
		Child second;
		ASSERT_TRUE(start_fwd(second, "xfwd2")) << second.output();
		// its socket opens in tarn_init(), its pool comes a moment later
		Expo e = scrape();
		for (int i = 0;
		     i < 100 && e.find("tarn_mempool_size_objects",
		                       { { "process", "xfwd2" }, { "pool", "fwd_mbufs" } })
		                    .empty();
		     i++) {
			sleep_s(0.1);
			e = scrape();
		}
		EXPECT_EQ(e.find("tarn_process_info", two).size(), 1u);
		EXPECT_EQ(e.value("tarn_mempool_size_objects",
		                  { { "process", "xfwd2" }, { "pool", "fwd_mbufs" } }),
		          e.value("tarn_mempool_size_objects",
		                  { { "process", fwd_prefix }, { "pool", "fwd_mbufs" } }));
		EXPECT_EQ(second.stop(SIGINT), 0) << second.output();
	}
	Expo gone = scrape();
	for (auto &s : gone.samples)
		EXPECT_NE(s.labels.count("process") ? s.labels.at("process") : "", "xfwd2")
		    << s.name;
	// killed: its socket stays behind, refusing connections; the process is
	// left out and the socket counted stale
	{
		Child third;
		// no hugepages: a killed process leaves its hugepage files behind
		ASSERT_TRUE(start_fwd(third, "xfwd3", { "--no-huge" })) << third.output();
		EXPECT_EQ(scrape().find("tarn_process_info", { { "process", "xfwd3" } }).size(),
		          1u);
		third.stop(SIGKILL);
	}
	const std::string left = tel_dir + "/xfwd3/dpdk_telemetry.v2";
	Expo k = scrape();
	EXPECT_TRUE(k.find("tarn_process_up", { { "process", "xfwd3" } }).empty());
	if (exists(left)) {
		EXPECT_GE(k.value("tarn_exporter_sockets", { { "state", "stale" } }), 1.0);
	}
	unlink(left.c_str());
	rmdir((tel_dir + "/xfwd3").c_str());
	// the suite's own process was there all along
	EXPECT_EQ(k.value("tarn_process_up", { { "process", fwd_prefix } }), 1.0);
}

std::string info_msg(const std::string &version, unsigned max_len = 16384)
{
	return "{\"version\":\"" + version + "\",\"pid\":" + std::to_string(getpid()) +
	       ",\"max_output_len\":" + std::to_string(max_len) + "}";
}

TEST(Processes, StuckProcessIsDownAndOthersAreServed)
{
	FakeTelemetry stuck;
	stuck.stall = true; // accepts, never says a word
	ASSERT_TRUE(stuck.start(tel_dir + "/xstuck/dpdk_telemetry.v2", info_msg("tarn 0.1.0")));
	const double t0 = now_s();
	Expo e = scrape();
	const double took = now_s() - t0;
	EXPECT_EQ(e.value("tarn_process_up", { { "process", "xstuck" } }), 0.0);
	EXPECT_TRUE(e.find("tarn_process_info", { { "process", "xstuck" } }).empty());
	EXPECT_EQ(e.value("tarn_process_up", { { "process", fwd_prefix } }), 1.0);
	EXPECT_GE(e.value("tarn_exporter_sockets", { { "state", "timeout" } }), 1.0);
	// --process-timeout 0.5: the scrape waited for it about that long, no more
	EXPECT_LT(took, 3.0);
	stuck.stop();
}

TEST(Processes, DpdkWithoutTarnIsLeftOut)
{
	FakeTelemetry dpdk;
	dpdk.replies["/"] = "{\"/\":[\"/\",\"/info\",\"/ethdev/list\",\"/ethdev/stats\"]}";
	dpdk.replies["/ethdev/list"] = "{\"/ethdev/list\":[0]}";
	ASSERT_TRUE(dpdk.start(tel_dir + "/rte/dpdk_telemetry.v2", info_msg("DPDK 22.11.11")));
	Expo e = scrape();
	for (auto &s : e.samples)
		EXPECT_NE(s.labels.count("process") ? s.labels.at("process") : "", "rte") << s.name;
	EXPECT_GE(e.value("tarn_exporter_sockets", { { "state", "not_tarn" } }), 1.0);
	EXPECT_GE(dpdk.requests.load(), 1u); // it was asked
	dpdk.stop();
}

// A socket that neither root nor the runtime directory's owner owns was put
// there by someone else: it is never connected to, and counted as denied.
TEST(Processes, ForeignSocketIsNotRead)
{
	if (geteuid() != 0)
		GTEST_SKIP() << "needs root: the test gives a socket to another user";
	FakeTelemetry f;
	f.replies["/"] = "{\"/\":[\"/tarn/mempool/list\"]}";
	ASSERT_TRUE(f.start(tel_dir + "/xforeign/dpdk_telemetry.v2", info_msg("tarn 0.1.0")));
	ASSERT_EQ(chown(f.path.c_str(), 65534, 65534), 0) << strerror(errno);
	const double denied = scrape().value("tarn_exporter_sockets", { { "state", "denied" } });
	Expo e = scrape();
	EXPECT_TRUE(e.find("tarn_process_up", { { "process", "xforeign" } }).empty());
	EXPECT_GE(denied, 1.0);
	EXPECT_EQ(f.accepted.load(), 0u);
	// the same socket given back to root is read
	ASSERT_EQ(chown(f.path.c_str(), 0, 0), 0);
	EXPECT_EQ(scrape().value("tarn_process_up", { { "process", "xforeign" } }), 1.0);
	EXPECT_GE(f.accepted.load(), 1u);
	f.stop();
}

// A DPDK process with tarn's plugin has two sockets (drivers/dpdk): DPDK's,
// with its ports and /tarn/socket naming the other, and tarn's,
// "<EAL prefix>.tarn", with the DPDK pools on tarn's ops and tarn's own
// pools. The exporter shows one process, under the DPDK prefix.
TEST(Processes, DpdkWithTarnPluginShowsPoolsAndPorts)
{
	FakeTelemetry d, t;
	const std::string tpath = tel_dir + "/testpmd.tarn/dpdk_telemetry.v2";
	d.replies["/"] = "{\"/\":[\"/\",\"/ethdev/list\",\"/ethdev/stats\",\"/ethdev/info\","
	                 "\"/ethdev/link_status\",\"/tarn/socket\"]}";
	d.replies["/tarn/socket"] =
	    "{\"/tarn/socket\":{\"path\":\"" + tpath +
	    "\",\"file_prefix\":\"testpmd.tarn\",\"version\":\"tarn 0.1.0\","
	    "\"pid\":" +
	    std::to_string(getpid()) + "}}";
	t.replies["/"] =
	    "{\"/\":[\"/tarn/info\",\"/tarn/mempool/list\",\"/tarn/mempool/info\","
	    "\"/tarn/ethdev/list\",\"/tarn/ethdev/stats\",\"/tarn/lcore/list\","
	    "\"/tarn/lcore/info\",\"/tarn/dpdk/mempool/list\",\"/tarn/dpdk/mempool/info\"]}";
	t.replies["/tarn/mempool/list"] = "{\"/tarn/mempool/list\":[\"dpdk0.mb_pool_0\"]}";
	t.replies["/tarn/mempool/info,dpdk0.mb_pool_0"] =
	    "{\"/tarn/mempool/info\":{\"name\":\"dpdk0.mb_pool_0\",\"size\":8192,\"in_use\":0,"
	    "\"avail\":8192,\"elt_size\":64,\"cache_size\":0,\"reserve\":0,\"cached\":0,"
	    "\"get_objs\":5,\"hit_objs\":0,\"put_objs\":5,\"refills\":0,\"refill_objs\":0,"
	    "\"flushes\":0,\"flush_objs\":0,\"fails\":0,\"fail_objs\":0,\"caches\":[]}}";
	t.replies["/tarn/dpdk/mempool/list"] = "{\"/tarn/dpdk/mempool/list\":[\"mb_pool_0\"]}";
	// DPDK's counts and lcore caches; no get/put statistics (drivers/dpdk)
	t.replies["/tarn/dpdk/mempool/info,mb_pool_0"] =
	    "{\"/tarn/dpdk/mempool/info\":{\"name\":\"mb_pool_0\",\"size\":8192,\"in_use\":1024,"
	    "\"avail\":7168,\"elt_size\":2304,\"cache_size\":250,\"socket\":0,\"ops\":\"tarn\","
	    "\"populated\":8192,\"cached\":300,\"caches\":[{\"lcore\":0,\"len\":0,\"size\":250},"
	    "{\"lcore\":1,\"len\":300,\"size\":250}],\"store\":{\"name\":\"dpdk0.mb_pool_0\","
	    "\"type\":\"ring\",\"count\":6868,\"capacity\":8192,\"socket\":0}}}";
	t.replies["/tarn/ethdev/list"] = "{\"/tarn/ethdev/list\":[]}";
	t.replies["/tarn/lcore/list"] = "{\"/tarn/lcore/list\":[0]}";
	t.replies["/tarn/lcore/info,0"] = "{\"/tarn/lcore/info\":{\"lcore_id\":0,\"role\":\"main\","
	                                  "\"cpu\":0,\"socket\":0,\"polls\":0,\"busy_polls\":0}}";
	d.replies["/ethdev/list"] = "{\"/ethdev/list\":[0]}";
	d.replies["/ethdev/info,0"] =
	    "{\"/ethdev/info\":{\"name\":\"0000:ca:00.1\",\"state\":1,\"nb_rx_queues\":2,"
	    "\"nb_tx_queues\":2,\"port_id\":0,\"mtu\":1500,\"mac_addr\":\"E4:3D:1A:DD:13:31\","
	    "\"dev_started\":1}}";
	std::string q16 = "0,0,0,0,0,0,0,0,0,0,0,0,0,0]";
	d.replies["/ethdev/stats,0"] =
	    "{\"/ethdev/stats\":{\"ipackets\":98,\"opackets\":90,\"ibytes\":7092,\"obytes\":6000,"
	    "\"imissed\":5,\"ierrors\":1,\"oerrors\":2,\"rx_nombuf\":3,\"q_ipackets\":[60,38," +
	    q16 + ",\"q_opackets\":[50,40," + q16 + ",\"q_ibytes\":[4000,3092," + q16 +
	    ",\"q_obytes\":[3000,3000," + q16 + ",\"q_errors\":[1,0," + q16 + "}}";
	d.replies["/ethdev/link_status,0"] =
	    "{\"/ethdev/"
	    "link_status\":{\"status\":\"UP\",\"speed\":25000,\"duplex\":\"full-duplex\"}}";
	ASSERT_TRUE(d.start(tel_dir + "/testpmd/dpdk_telemetry.v2", info_msg("DPDK 22.11.11")));
	ASSERT_TRUE(t.start(tpath, info_msg("tarn 0.1.0")));
	Expo e = scrape(port, true);
	// one process, under DPDK's prefix
	for (auto &x : e.samples)
		EXPECT_NE(x.labels.count("process") ? x.labels.at("process") : "", "testpmd.tarn")
		    << x.name;
	const std::map<std::string, std::string> pr = { { "process", "testpmd" } };
	auto info = e.find("tarn_process_info", pr);
	ASSERT_EQ(info.size(), 1u);
	EXPECT_EQ(info[0]->labels.at("kind"), "dpdk");
	EXPECT_EQ(info[0]->labels.at("version"), "DPDK 22.11.11");
	std::map<std::string, std::string> pool = pr;
	pool["pool"] = "mb_pool_0";
	EXPECT_EQ(e.value("tarn_mempool_size_objects", pool), 8192.0);
	auto st = pool;
	st["state"] = "available";
	EXPECT_EQ(e.value("tarn_mempool_objects", st), 7168.0);
	EXPECT_EQ(e.value("tarn_mempool_cached_objects", pool), 300.0);
	// DPDK keeps no get/put statistics: none invented
	EXPECT_TRUE(e.find("tarn_mempool_get_failures_total", pool).empty());
	EXPECT_TRUE(e.find("tarn_mempool_reserve_objects", pool).empty());
	EXPECT_TRUE(e.find("tarn_mempool_thread_get_objects_total", pool).empty());
	// DPDK's lcore caches: by lcore, no thread id
	auto l1 = pool;
	l1["lcore"] = "1";
	auto c1 = e.find("tarn_mempool_thread_cache_objects", l1);
	ASSERT_EQ(c1.size(), 1u);
	EXPECT_EQ(c1[0]->value, 300.0);
	EXPECT_EQ(c1[0]->labels.count("tid"), 0u);
	EXPECT_EQ(e.find("tarn_mempool_thread_cache_objects", pool).size(), 2u);
	// tarn's own pool in the process (the store's nodes), with its statistics
	EXPECT_EQ(e.value("tarn_mempool_get_objects_total",
	                  { { "process", "testpmd" }, { "pool", "dpdk0.mb_pool_0" } }),
	          5.0);
	EXPECT_EQ(e.find("tarn_lcore_info", pr).size(), 1u);
	std::map<std::string, std::string> pp = pr;
	pp["name"] = "0000:ca:00.1";
	EXPECT_EQ(e.value("tarn_port_rx_packets_total", pp), 98.0);
	EXPECT_EQ(e.value("tarn_port_rx_missed_packets_total", pp), 5.0);
	EXPECT_EQ(e.value("tarn_port_rx_nombuf_total", pp), 3.0);
	EXPECT_EQ(e.value("tarn_port_link_speed_bytes_per_second", pp), 25000.0 * 125000);
	EXPECT_EQ(e.value("tarn_port_mtu_bytes", pp), 1500.0);
	auto q1 = pp;
	q1["queue"] = "1";
	EXPECT_EQ(e.value("tarn_rxq_packets_total", q1), 38.0);
	EXPECT_EQ(e.value("tarn_txq_bytes_total", q1), 3000.0);
	// DPDK has no per-queue drops: none invented
	EXPECT_TRUE(e.find("tarn_rxq_missed_packets_total", pp).empty());
	EXPECT_EQ(e.find("tarn_rxq_packets_total", pp).size(), 2u); // nb_rx_queues, not 16
	auto pi = e.find("tarn_port_info", pp);
	ASSERT_EQ(pi.size(), 1u);
	EXPECT_EQ(pi[0]->labels.at("mac"), "E4:3D:1A:DD:13:31");
	EXPECT_GE(t.requests.load(), 5u);
	t.stop();
	d.stop();
}

// Names that need escaping, bytes that are not UTF-8, 64-bit counters, a
// reply longer than announced: the output stays valid, the bad process is
// reported down, nobody else suffers.
TEST(Processes, HostileRepliesCannotBreakTheOutput)
{
	FakeTelemetry h;
	const std::string weird = "we\\\"ird\\\\na\\nme \xff\xfe \xc3\xa9t\xc3\xa9"; // JSON text
	h.replies["/"] = "{\"/\":[\"/tarn/mempool/list\",\"/tarn/mempool/info\","
	                 "\"/tarn/ethdev/list\",\"/tarn/ethdev/stats\"]}";
	h.replies["/tarn/mempool/list"] = "{\"/tarn/mempool/list\":[\"" + weird + "\", 5, null]}";
	h.replies["/tarn/mempool/info,we\"ird\\na\nme \xff\xfe \xc3\xa9t\xc3\xa9"] =
	    "{\"/tarn/mempool/info\":{\"size\":18446744073709551615,\"avail\":1,\"in_use\":"
	    "18446744073709551614,\"get_objs\":-5,\"caches\":[1,{\"lcore\":-7,\"tid\":\"x\"}]}}";
	h.replies["/tarn/ethdev/list"] = "{\"/tarn/ethdev/list\":[0,\"1\",-1,1e300]}";
	h.replies["/tarn/ethdev/stats,0"] = "{\"/tarn/ethdev/stats\":{\"name\":\"p\\n0\\\"}\","
	                                    "\"driver\":\"\\u0000x\",\"rx_queues\":{}}}";
	ASSERT_TRUE(h.start(tel_dir + "/xhostile/dpdk_telemetry.v2", info_msg("tarn evil")));
	Expo t = scrape(port, false);
	Expo e = scrape(port, true);
	const std::map<std::string, std::string> pr = { { "process", "xhostile" } };
	EXPECT_EQ(e.value("tarn_process_up", pr), 1.0);
	// the name came through, escaped and made UTF-8
	auto s = e.find("tarn_mempool_size_objects", pr);
	ASSERT_EQ(s.size(), 1u);
	EXPECT_EQ(s[0]->labels.at("pool"),
	          "we\"ird\\na\nme \xef\xbf\xbd\xef\xbf\xbd \xc3\xa9t\xc3\xa9");
	EXPECT_EQ(s[0]->text, "18446744073709551615");
	auto c = e.find("tarn_mempool_thread_cache_objects", pr);
	ASSERT_EQ(c.size(), 1u);
	EXPECT_EQ(c[0]->labels.at("lcore"), "none");
	auto port0 = e.find("tarn_port_info", pr);
	ASSERT_EQ(port0.size(), 1u);
	EXPECT_EQ(port0[0]->labels.at("name"), "p\n0\"}");
	h.stop();

	// a reply longer than its max_output_len: cut, so refused
	FakeTelemetry big;
	big.replies["/"] = "{\"/\":[\"/tarn/mempool/list\",\"/tarn/mempool/info\"]}";
	big.replies["/tarn/mempool/list"] =
	    "{\"/tarn/mempool/list\":[\"" + std::string(3000, 'x') + "\"]}";
	ASSERT_TRUE(big.start(tel_dir + "/xbig/dpdk_telemetry.v2", info_msg("tarn 0.1.0", 1024)));
	Expo b = scrape();
	EXPECT_EQ(b.value("tarn_process_up", { { "process", "xbig" } }), 0.0);
	EXPECT_GE(b.value("tarn_exporter_sockets", { { "state", "error" } }), 1.0);
	EXPECT_EQ(b.value("tarn_process_up", { { "process", fwd_prefix } }), 1.0);
	big.stop();

	// not a telemetry server at all: garbage first message
	FakeTelemetry junk;
	ASSERT_TRUE(junk.start(tel_dir + "/xjunk/dpdk_telemetry.v2", "\x01\x02not json"));
	Expo j = scrape();
	EXPECT_EQ(j.value("tarn_process_up", { { "process", "xjunk" } }), 0.0);
	junk.stop();
}

// The real thing: the unmodified dpdk-testpmd forwarding between two
// net_ring ports on tarn's pool through the plugin. One process in the
// output, under the EAL's prefix: its pool from tarn's socket, its ports
// from DPDK's; gone when testpmd exits.
TEST(Processes, DpdkTestpmdOnThePlugin)
{
	const char *skip = getenv("TARN_EXPORTER_TESTPMD_SKIP");
	const char *plugin = getenv("TARN_DPDK_PLUGIN");
	if (plugin == nullptr || plugin[0] == '\0')
		GTEST_SKIP() << (skip != nullptr && skip[0]
		                     ? skip
		                     : "TARN_DPDK_PLUGIN is not set (run through "
		                       "scripts/dpdk-safe-plugin.sh)");
	if (skip != nullptr && skip[0] != '\0')
		GTEST_SKIP() << skip;
	if (std::string(DPDK_TESTPMD).empty())
		GTEST_SKIP() << "dpdk-testpmd is not installed (Debian package dpdk)";
	const std::string eal = "xtpmd";
	const bool two = sysconf(_SC_NPROCESSORS_ONLN) >= 2;
	std::vector<std::string> argv = { DPDK_TESTPMD,
		                          "--lcores",
		                          two ? "0@0,1@1" : "0@0,1@0",
		                          "--no-pci",
		                          "--no-huge",
		                          "-m",
		                          "256",
		                          "--no-shconf",
		                          "--file-prefix",
		                          eal,
		                          "--log-level=lib.eal:error",
		                          "--vdev=net_ring0",
		                          "--vdev=net_ring1",
		                          "-d",
		                          plugin,
		                          "--mbuf-pool-ops-name",
		                          "tarn",
		                          "--",
		                          "--total-num-mbufs=8192",
		                          "--mbcache=256",
		                          "--tx-first",
		                          "--stats-period",
		                          "1",
		                          "--no-lsc-interrupt" };
	// a sanitized plugin needs its runtime preloaded into testpmd, whose own
	// allocations at exit are not the plugin's: no leak check for it
	const char *preload = getenv("TARN_DPDK_TEST_PRELOAD");
	const char *asan = getenv("ASAN_OPTIONS");
	const std::string asan_saved = asan != nullptr ? asan : "";
	if (preload != nullptr && preload[0] != '\0') {
		setenv("LD_PRELOAD", preload, 1);
		setenv("ASAN_OPTIONS",
		       (asan_saved + (asan_saved.empty() ? "" : ":") + "detect_leaks=0").c_str(),
		       1);
	}
	Child tpmd;
	const bool started = tpmd.start(argv, log_path("testpmd"));
	unsetenv("LD_PRELOAD");
	if (asan != nullptr)
		setenv("ASAN_OPTIONS", asan_saved.c_str(), 1);
	else
		unsetenv("ASAN_OPTIONS");
	ASSERT_TRUE(started);
	const std::string dsock = tel_dir + "/" + eal + "/dpdk_telemetry.v2";
	const std::string tsock = tel_dir + "/" + eal + ".tarn/dpdk_telemetry.v2";
	for (int i = 0; i < 300 && !(exists(dsock) && exists(tsock)) && tpmd.running(); i++)
		sleep_s(0.1);
	ASSERT_TRUE(exists(dsock) && exists(tsock)) << tpmd.output();
	const std::map<std::string, std::string> pr = { { "process", eal } };
	std::map<std::string, std::string> pool = pr;
	pool["pool"] = "mb_pool_0";
	// tarn's socket opens as the pool's store is made, a moment before the
	// pool is listed, and testpmd then makes its ports: wait for both
	Expo a = scrape(port, true);
	for (int i = 0; i < 100 && (a.find("tarn_mempool_size_objects", pool).empty() ||
	                            a.find("tarn_port_info", pr).size() < 2);
	     i++) {
		sleep_s(0.1);
		a = scrape(port, true);
	}
	auto info = a.find("tarn_process_info", pr);
	ASSERT_EQ(info.size(), 1u) << tpmd.output();
	EXPECT_EQ(info[0]->labels.at("kind"), "dpdk");
	EXPECT_EQ(info[0]->labels.at("version").rfind("DPDK ", 0), 0u);
	EXPECT_EQ(info[0]->labels.at("pid"), std::to_string(tpmd.pid));
	EXPECT_TRUE(a.find("tarn_process_info", { { "process", eal + ".tarn" } }).empty());
	EXPECT_EQ(a.value("tarn_mempool_size_objects", pool), 8192.0);
	auto av = pool, iu = pool;
	av["state"] = "available";
	iu["state"] = "in_use";
	EXPECT_EQ(a.value("tarn_mempool_objects", av) + a.value("tarn_mempool_objects", iu),
	          8192.0);
	EXPECT_EQ(a.value("tarn_mempool_cache_size_objects", pool), 256.0);
	EXPECT_GE(a.find("tarn_mempool_thread_cache_objects", pool).size(), 2u);
	// its ports, from DPDK's socket; packets flow
	for (const char *name : { "net_ring0", "net_ring1" })
		EXPECT_EQ(a.find("tarn_port_info", { { "process", eal }, { "name", name } }).size(),
		          1u)
		    << name;
	const std::map<std::string, std::string> r0 = { { "process", eal },
		                                        { "name", "net_ring0" } };
	double rx0 = a.value("tarn_port_rx_packets_total", r0), rx1 = rx0;
	for (int i = 0; i < 50 && !(rx1 > rx0); i++) {
		sleep_s(0.1);
		rx1 = scrape().value("tarn_port_rx_packets_total", r0);
	}
	EXPECT_GT(rx1, rx0) << tpmd.output();
	// testpmd exits: the process is gone from the next scrape
	EXPECT_EQ(tpmd.stop(SIGINT), 0) << tpmd.output();
	Expo g = scrape();
	EXPECT_TRUE(g.find("tarn_process_info", pr).empty());
	EXPECT_TRUE(g.find("tarn_mempool_size_objects", pool).empty());
	// DPDK leaves its runtime directory behind
	rm_rf(tel_dir + "/" + eal);
	rm_rf(tel_dir + "/" + eal + ".tarn");
}

// ---------------------------------------------------------------------------
// HTTP

TEST(Http, StrictRequests)
{
	const std::string host = "Host: 127.0.0.1\r\n";
	struct {
		std::string req;
		int status;
	} cases[] = {
		{ "GET /metrics HTTP/1.1\r\n" + host + "\r\n", 200 },
		{ "GET /metrics HTTP/1.0\r\n\r\n", 200 }, // 1.0 needs no Host
		{ "GET /metrics HTTP/1.1\n" + std::string("Host: x\n\n"), 200 }, // bare LF
		{ "GET http://127.0.0.1/metrics HTTP/1.1\r\n" + host + "\r\n", 200 },
		{ "GET /metrics HTTP/1.1\r\n" + host + "Content-Length: 0\r\n\r\n", 200 },
		{ "GET / HTTP/1.1\r\n" + host + "\r\n", 404 },
		{ "GET /metrics/ HTTP/1.1\r\n" + host + "\r\n", 404 },
		{ "GET /metrics?x=1 HTTP/1.1\r\n" + host + "\r\n", 404 },
		{ "GET /../etc/passwd HTTP/1.1\r\n" + host + "\r\n", 404 },
		{ "POST /metrics HTTP/1.1\r\n" + host + "Content-Length: 3\r\n\r\nabc", 405 },
		{ "HEAD /metrics HTTP/1.1\r\n" + host + "\r\n", 405 },
		{ "get /metrics HTTP/1.1\r\n" + host + "\r\n", 405 }, // methods are case-sensitive
		{ "DELETE /metrics HTTP/1.1\r\n" + host + "\r\n", 405 },
		{ "GET /metrics HTTP/1.1\r\n\r\n", 400 }, // no Host
		{ "GET /metrics HTTP/1.1\r\n" + host + host + "\r\n", 400 },
		{ "GET /metrics HTTP/1.1\r\n" + host + "Content-Length: 5\r\n\r\nhello", 400 },
		{ "GET /metrics HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n", 400 },
		{ "GET /metrics HTTP/1.1\r\n" + host + "Bad Name: x\r\n\r\n", 400 },
		{ "GET /metrics HTTP/1.1\r\n" + host + "X: a\r\n b\r\n\r\n", 400 }, // obs-fold
		{ "GET /metrics HTTP/1.1\r\n" + host + "X: a\x01" + "b\r\n\r\n", 400 },
		{ std::string("GET /metrics HTTP/1.1\r\nHost: a\0b\r\n\r\n", 36), 400 },
		{ "GET /metrics HTTP/1.1\r" + host + "\r\n", 400 }, // a lone CR
		{ "GET  /metrics HTTP/1.1\r\n" + host + "\r\n", 400 },
		{ "GET /metrics\r\n" + host + "\r\n", 400 }, // HTTP/0.9
		{ "GET /metrics HTTP/1.1 x\r\n" + host + "\r\n", 400 },
		{ "\r\n\r\n", 400 },
		{ "GET /metrics HTTP/2.0\r\n" + host + "\r\n", 505 },
		{ "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505 }, // HTTP/2's preface
		{ "GET /metrics HTTP/1.2\r\n" + host + "\r\n", 505 },
		{ "GET /metrics HTTPS/1.1\r\n" + host + "\r\n", 400 },
	};
	for (auto &c : cases) {
		Response r = http_raw(port, c.req);
		EXPECT_EQ(r.status, c.status) << c.req << "\n-> " << r.raw.substr(0, 300);
		if (r.status == 0)
			continue;
		EXPECT_EQ(r.headers["connection"], "close");
		EXPECT_EQ(r.headers["content-length"], std::to_string(r.body.size())) << c.req;
		EXPECT_FALSE(r.headers["date"].empty());
		if (c.status == 405) {
			EXPECT_EQ(r.headers["allow"], "GET");
		}
		if (c.status == 404) {
			EXPECT_NE(r.body.find("/metrics"), std::string::npos);
		}
	}
	// too many header fields, a head too long: 431
	std::string many = "GET /metrics HTTP/1.1\r\n" + host;
	for (int i = 0; i < 70; i++)
		many += "X-" + std::to_string(i) + ": y\r\n";
	EXPECT_EQ(http_raw(port, many + "\r\n").status, 431);
	EXPECT_EQ(http_raw(port, "GET /metrics HTTP/1.1\r\n" + host +
	                             "X: " + std::string(9000, 'a') + "\r\n\r\n")
	              .status,
	          431);
	// the counters saw them
	Expo e = scrape();
	EXPECT_GE(e.value("tarn_exporter_http_responses_total", { { "code", "404" } }), 4.0);
	EXPECT_GE(e.value("tarn_exporter_http_responses_total", { { "code", "405" } }), 4.0);
	EXPECT_GE(e.value("tarn_exporter_http_responses_total", { { "code", "431" } }), 2.0);
}

// One client per kind of misbehaviour while scrapes go on: none of them
// may hold a scrape up.
TEST(Http, SlowAndHostileClientsDoNotBlockScrapes)
{
	// a scrape held up by a client would wait out --http-timeout (3 s)
	const double quick = 2.5;
	Expo before = scrape();
	// 1. slowloris: more half-sent requests than --max-connections (8);
	// each new one evicts the oldest, and a scrape still gets in at once
	std::vector<int> slow;
	for (int i = 0; i < 12; i++) {
		int fd = tcp_connect(port);
		ASSERT_GE(fd, 0);
		send(fd, "GET /metrics HTTP/1.1\r\nHo", 25, MSG_NOSIGNAL);
		slow.push_back(fd);
	}
	double t0 = now_s();
	Expo e = scrape();
	EXPECT_LT(now_s() - t0, quick);
	EXPECT_GE(
	    e.value("tarn_exporter_http_dropped_connections_total", { { "reason", "evicted" } }),
	    before.value("tarn_exporter_http_dropped_connections_total",
	                 { { "reason", "evicted" } }) +
	        4);
	// the ones still held get 408 when --http-timeout (3 s) passes, or were evicted
	int answered_408 = 0, closed = 0;
	for (int fd : slow) {
		std::string got = read_all(fd, 5);
		answered_408 += got.rfind("HTTP/1.1 408", 0) == 0;
		closed++;
		close(fd);
	}
	EXPECT_EQ(closed, 12);
	EXPECT_GE(answered_408, 1);
	// 2. a byte every 0.3 s: never completes within 3 s, gets 408
	{
		int fd = tcp_connect(port);
		const std::string req = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
		std::string got;
		for (size_t i = 0; i < req.size(); i++) {
			if (send(fd, &req[i], 1, MSG_NOSIGNAL) != 1)
				break;
			struct pollfd p = { fd, POLLIN, 0 };
			if (poll(&p, 1, 300) > 0) {
				got = read_all(fd, 2);
				break;
			}
		}
		EXPECT_EQ(got.rfind("HTTP/1.1 408", 0), 0u) << got.substr(0, 200);
		close(fd);
	}
	// 3. a client that asks and never reads (tiny receive window), while
	// scrapes go on; it is cut off when --http-timeout passes
	{
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		int small = 1024;
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
		struct sockaddr_in a = {};
		a.sin_family = AF_INET;
		a.sin_port = htons((uint16_t)port);
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		ASSERT_EQ(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
		const std::string req = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
		send(fd, req.data(), req.size(), MSG_NOSIGNAL);
		for (int i = 0; i < 3; i++) {
			t0 = now_s();
			Expo s = scrape();
			EXPECT_LT(now_s() - t0, quick);
			EXPECT_EQ(s.value("tarn_process_up", { { "process", fwd_prefix } }), 1.0);
		}
		sleep_s(4.5); // past --http-timeout (3 s) and the linger (1 s)
		// the server has given up: what is left to read ends with a close
		std::string got = read_all(fd, 3);
		struct pollfd p = { fd, POLLIN, 0 };
		EXPECT_EQ(poll(&p, 1, 0), 1);
		char c;
		ssize_t n = recv(fd, &c, 1, MSG_DONTWAIT);
		EXPECT_LE(n, 0) << "the connection is still open after the timeout";
		close(fd);
	}
	// 4. a connect-and-close flood, then garbage floods
	for (int i = 0; i < 300; i++) {
		int fd = tcp_connect(port);
		if (fd >= 0)
			close(fd);
	}
	for (int i = 0; i < 50; i++) {
		int fd = tcp_connect(port);
		std::string junk(5000, (char)(i * 37));
		send(fd, junk.data(), junk.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
		close(fd);
	}
	t0 = now_s();
	Expo after = scrape();
	EXPECT_LT(now_s() - t0, quick);
	EXPECT_EQ(after.value("tarn_process_up", { { "process", fwd_prefix } }), 1.0);
	EXPECT_TRUE(exporter.running());
}

// Scrapes at once share collections and all get an answer.
TEST(Http, ConcurrentScrapes)
{
	std::vector<std::thread> th;
	std::atomic<int> ok{ 0 };
	for (int i = 0; i < 6; i++)
		th.emplace_back([&, i] {
			Response r = http_get(port, "/metrics", i % 2 ? prometheus_accept() : "");
			ok += r.status == 200 &&
			      r.body.find("tarn_port_rx_packets") != std::string::npos;
		});
	for (auto &t : th)
		t.join();
	EXPECT_EQ(ok.load(), 6);
}

// ---------------------------------------------------------------------------
// docs: the Grafana dashboard and the PromQL of docs/metrics.md

std::vector<std::string> grafana_exprs(const jval *v)
{
	std::vector<std::string> out;
	if (v == nullptr)
		return out;
	if (v->type == J_OBJ || v->type == J_ARR) {
		for (const jval *e = v->child; e != nullptr; e = e->next) {
			if (e->key != nullptr && std::string(e->key) == "expr" && e->type == J_STR)
				out.push_back(e->str);
			auto sub = grafana_exprs(e);
			out.insert(out.end(), sub.begin(), sub.end());
		}
	}
	return out;
}

// Each line of each ```promql block of docs/metrics.md.
std::vector<std::string> doc_queries()
{
	std::vector<std::string> q;
	std::istringstream in(slurp(std::string(SOURCE_ROOT) + "/docs/metrics.md"));
	std::string line;
	bool inside = false;
	while (std::getline(in, line)) {
		if (line.rfind("```", 0) == 0) {
			inside = !inside && line == "```promql";
			continue;
		}
		if (inside && !line.empty() && line[0] != '#')
			q.push_back(line);
	}
	return q;
}

// Grafana's variables, as a dashboard with every process selected sends them.
std::string grafana_to_promql(std::string e)
{
	e = std::regex_replace(e, std::regex("\\$__rate_interval"), "10s");
	return std::regex_replace(e, std::regex("\\$process"), ".+");
}

std::set<std::string> tarn_names_in(const std::string &expr)
{
	std::set<std::string> n;
	std::regex re("tarn_[a-z0-9_]+");
	for (auto it = std::sregex_iterator(expr.begin(), expr.end(), re);
	     it != std::sregex_iterator(); ++it)
		n.insert(it->str());
	return n;
}

TEST(Docs, GrafanaDashboardIsValidAndNamesExist)
{
	const std::string text = slurp(std::string(SOURCE_ROOT) + "/docs/grafana/tarn.json");
	Json j(text);
	ASSERT_NE(j.root(), nullptr) << "docs/grafana/tarn.json is not valid JSON";
	ASSERT_EQ(j.root()->type, J_OBJ);
	EXPECT_STREQ(jget_str(j.root(), "uid", ""), "tarn-overview");
	const jval *panels = jget(j.root(), "panels");
	ASSERT_NE(panels, nullptr);
	std::set<std::string> ids;
	for (const jval *p = panels->child; p != nullptr; p = p->next) {
		EXPECT_TRUE(ids.insert(std::to_string(jget_u64(p, "id", 0))).second) << "panel ids";
		EXPECT_NE(jget(p, "targets"), nullptr) << jget_str(p, "title", "?");
	}
	auto exprs = grafana_exprs(j.root());
	ASSERT_GE(exprs.size(), 10u);
	auto docs = doc_queries();
	ASSERT_GE(docs.size(), 5u) << "no ```promql blocks in docs/metrics.md";
	exprs.insert(exprs.end(), docs.begin(), docs.end());
	// every metric name they use is in the exporter's output
	Expo e = scrape();
	std::set<std::string> have = e.names();
	for (auto &x : exprs)
		for (auto &n : tarn_names_in(x))
			EXPECT_TRUE(have.count(n)) << n << " (in " << x << ") is not exported";
	// every family docs/metrics.md lists is exported, and the other way round
	const std::string md = slurp(std::string(SOURCE_ROOT) + "/docs/metrics.md");
	Expo t = scrape(port, true);
	for (auto &f : t.types) {
		const std::string shown = f.first + (f.second == "counter" ? "_total"
		                                     : f.second == "info"  ? "_info"
		                                                           : "");
		EXPECT_NE(md.find("`" + shown + "`"), std::string::npos)
		    << shown << " is exported but not listed in docs/metrics.md";
	}
	// the metric table's rows ("| `name` | ...") name exported samples
	std::istringstream in(md);
	std::string line;
	unsigned rows = 0;
	while (std::getline(in, line)) {
		if (line.rfind("| `tarn_", 0) != 0)
			continue;
		rows++;
		const std::string n = line.substr(3, line.find('`', 3) - 3);
		EXPECT_TRUE(have.count(n)) << n << " is listed in docs/metrics.md but not exported";
	}
	EXPECT_GE(rows, 40u);
}

// ---------------------------------------------------------------------------
// A real Prometheus

// A free TCP port on 127.0.0.1 (closed again: Prometheus takes it next).
unsigned free_port()
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {};
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bind(fd, (struct sockaddr *)&a, sizeof(a));
	socklen_t l = sizeof(a);
	getsockname(fd, (struct sockaddr *)&a, &l);
	close(fd);
	return ntohs(a.sin_port);
}

// /api/v1/query: the result array, or nullptr (the whole reply in `raw`).
struct Query {
	std::string raw;
	std::unique_ptr<Json> j;
	const jval *result = nullptr;
	bool success = false;
};

Query promql(unsigned pport, const std::string &q)
{
	Query r;
	Response h = http_get(pport, "/api/v1/query?query=" + urlencode(q), "", 10);
	r.raw = h.body;
	r.j = std::make_unique<Json>(h.body);
	r.success = std::string(jget_str(r.j->root(), "status", "")) == "success";
	r.result = jget(jget(r.j->root(), "data"), "result");
	return r;
}

// The value of a one-element result, NaN otherwise.
double scalar(const Query &q)
{
	if (q.result == nullptr || q.result->child == nullptr || q.result->child->next != nullptr)
		return std::nan("");
	const jval *v = jget(q.result->child, "value");
	const jval *s = v != nullptr && v->child != nullptr ? v->child->next : nullptr;
	return s != nullptr && s->type == J_STR ? strtod(s->str, nullptr) : std::nan("");
}

TEST(Prometheus, ScrapesTheExporterWhileTarnFwdRuns)
{
	if (std::string(PROMETHEUS).empty() || access(PROMETHEUS, X_OK) != 0)
		GTEST_SKIP() << "prometheus is not installed and could not be (scripts/setup.sh "
		                "installs Debian's prometheus package)";
	const std::string dir = tmp_root + "/prometheus";
	ASSERT_EQ(mkdir(dir.c_str(), 0700), 0);
	std::ofstream(dir + "/prometheus.yml")
	    << "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n"
	       "scrape_configs:\n  - job_name: tarn\n    static_configs:\n"
	       "      - targets: ['127.0.0.1:"
	    << port << "']\n";
	unsigned pport = 0;
	Child prom;
	// the port may be taken between free_port() and Prometheus's bind: try again
	for (int attempt = 0; attempt < 3 && pport == 0; attempt++) {
		const unsigned p = free_port();
		ASSERT_TRUE(prom.start({ PROMETHEUS, "--config.file=" + dir + "/prometheus.yml",
		                         "--storage.tsdb.path=" + dir + "/data",
		                         "--web.listen-address=127.0.0.1:" + std::to_string(p),
		                         "--log.level=warn" },
		                       log_path("prometheus")));
		for (int i = 0; i < 100 && prom.running(); i++) {
			if (http_get(p, "/-/ready", "", 2).status == 200) {
				pport = p;
				break;
			}
			sleep_s(0.1);
		}
		if (pport == 0)
			prom.stop(SIGKILL);
	}
	ASSERT_NE(pport, 0u) << prom.output();
	// Prometheus hands its first targets over after about 5 s
	const std::string up = "up{job=\"tarn\"}";
	double upv = 0;
	for (int i = 0; i < 300 && upv != 1.0; i++) {
		upv = scalar(promql(pport, up));
		if (upv != 1.0)
			sleep_s(0.1);
	}
	ASSERT_EQ(upv, 1.0) << promql(pport, up).raw << prom.output();
	// the forwarded packet counter grows from one scrape to the next
	const std::string fwd_tx = "tarn_fwd_tx_packets_total{process=\"" + fwd_prefix + "\"}";
	const std::string port_tx =
	    "sum(tarn_port_tx_packets_total{process=\"" + fwd_prefix + "\"})";
	const double a = scalar(promql(pport, fwd_tx)), pa = scalar(promql(pport, port_tx));
	ASSERT_GT(a, 0.0) << promql(pport, fwd_tx).raw;
	double b = a;
	for (int i = 0; i < 60 && b <= a; i++) {
		sleep_s(0.1);
		b = scalar(promql(pport, fwd_tx));
	}
	EXPECT_GT(b, a);
	EXPECT_GT(scalar(promql(pport, port_tx)), pa);
	const std::string rate =
	    "sum(rate(tarn_port_rx_packets_total{process=\"" + fwd_prefix + "\"}[5s]))";
	for (int i = 0; i < 40 && !(scalar(promql(pport, rate)) > 0); i++)
		sleep_s(0.1);
	EXPECT_GT(scalar(promql(pport, rate)), 0.0) << promql(pport, rate).raw;
	// the pool gauges add up to the pool's size
	const std::string sel = "{process=\"" + fwd_prefix + "\",pool=\"fwd_mbufs\"}";
	const double sum = scalar(promql(pport, "sum(tarn_mempool_objects" + sel + ")"));
	const double size = scalar(promql(pport, "tarn_mempool_size_objects" + sel));
	EXPECT_GT(size, 0.0);
	EXPECT_EQ(sum, size);
	EXPECT_EQ(scalar(promql(pport, "count(tarn_mempool_objects" + sel + ")")), 2.0);
	// Prometheus asked for OpenMetrics and read it
	EXPECT_GT(scalar(promql(pport, "tarn_exporter_scrapes_total{format=\"openmetrics\"}")),
	          0.0);
	EXPECT_GT(scalar(promql(pport, "scrape_samples_scraped{job=\"tarn\"}")), 100.0);
	// every query of the dashboard and of docs/metrics.md is valid PromQL;
	// the dashboard's return data for a running tarn-fwd
	Json j(slurp(std::string(SOURCE_ROOT) + "/docs/grafana/tarn.json"));
	for (auto &x : grafana_exprs(j.root())) {
		const std::string q = grafana_to_promql(x);
		Query r = promql(pport, q);
		EXPECT_TRUE(r.success) << q << ": " << r.raw;
		EXPECT_GE(r.result != nullptr ? (int)(r.result->child != nullptr) : 0, 1)
		    << "no data for the dashboard's " << q << ": " << r.raw;
	}
	for (auto &q : doc_queries()) {
		Query r = promql(pport, q);
		EXPECT_TRUE(r.success) << "docs/metrics.md: " << q << ": " << r.raw;
	}
	EXPECT_EQ(prom.stop(SIGTERM), 0) << prom.output();
	rm_rf(dir);
	EXPECT_FALSE(exists(dir));
}

} // namespace
