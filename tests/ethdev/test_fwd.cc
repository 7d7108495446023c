// SPDX-License-Identifier: BSD-3-Clause
// tarn-fwd end to end: runs the built binary (TARN_FWD from meson) for about
// a second in each mode, reads its --json summary and checks that every
// stream accounts for every packet (rx + gen == tx + dropped + consumed),
// that packets moved, and that no mbuf leaked (exit code 0). Also: bad
// options (exit 2, message naming the option), --help, SIGINT, the
// interactive commands, and the warning for a pool that is too small.
// --soak: four forwarding lcores on two CPUs for a few seconds (longer with
// TARN_TEST_SOAK_S, see scripts/soak.sh), every counter and the pool checked,
// and that the checks catch a leaked mbuf and a lost packet.
#include <gtest/gtest.h>

#include <sched.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <sys/stat.h>
#include <sys/wait.h>
#include <vector>

#include "../common/child.h"

namespace
{

// Run `args` through the shell with tarn-fwd in front, each run with a file
// prefix of its own; `pre`: what comes before (timeout, a pipe).
Result fwd(const std::string &args, const std::string &pre = "")
{
	static int seq;
	const std::string tag = std::to_string(getpid()) + "-" + std::to_string(seq++);
	const std::string err = "/tmp/tarn-test-fwd-" + tag + ".err";
	return run_child(
	    pre + std::string(TARN_FWD) + " --file-prefix tarn-fwd-test-" + tag + " " + args, err);
}

// Lcores: main + one worker where there are two CPUs.
std::string lcores()
{
	return sysconf(_SC_NPROCESSORS_ONLN) >= 2 ? "--lcores 0,1" : "--lcores 0";
}

std::string summary_line(const std::string &out)
{
	std::istringstream in(out);
	std::string line, found;
	while (std::getline(in, line))
		if (line.find("\"event\":\"summary\"") != std::string::npos)
			found = line;
	return found;
}

// Every value of "key": NUMBER in `s`, in order (std::regex is avoided: its
// libstdc++ code trips -Wmaybe-uninitialized under sanitizers).
std::vector<uint64_t> values(const std::string &s, const std::string &key)
{
	std::vector<uint64_t> v;
	const std::string pat = "\"" + key + "\":";
	for (size_t p = s.find(pat); p != std::string::npos; p = s.find(pat, p + 1))
		v.push_back(std::strtoull(s.c_str() + p + pat.size(), nullptr, 10));
	return v;
}

uint64_t field(const std::string &s, const std::string &key)
{
	auto v = values(s, key);
	return v.empty() ? UINT64_MAX : v[0];
}

// Check every stream's (and the totals') accounting; return the packets moved.
uint64_t check_accounting(const Result &r)
{
	std::string s = summary_line(r.out);
	EXPECT_FALSE(s.empty()) << r.out << r.err;
	auto rx = values(s, "rx"), gen = values(s, "gen"), tx = values(s, "tx"),
	     dr = values(s, "dropped"), co = values(s, "consumed");
	EXPECT_GE(rx.size(), 2u) << s; // at least one stream and the totals
	EXPECT_EQ(gen.size(), rx.size());
	EXPECT_EQ(tx.size(), rx.size());
	EXPECT_EQ(dr.size(), rx.size());
	EXPECT_EQ(co.size(), rx.size());
	if (gen.size() != rx.size() || tx.size() != rx.size() || dr.size() != rx.size() ||
	    co.size() != rx.size() || rx.empty())
		return 0;
	for (size_t i = 0; i < rx.size(); i++)
		EXPECT_EQ(rx[i] + gen[i], tx[i] + dr[i] + co[i]) << "stream " << i << ": " << s;
	EXPECT_EQ(field(s, "leaked"), 0u) << s;
	EXPECT_NE(s.find("\"checked\":true"), std::string::npos);
	return rx.back() + gen.back(); // the totals come last
}

TEST(Fwd, DefaultRunForwardsAndLeaksNothing)
{
	Result r = fwd(lcores() + " --duration 1 --stats-period 0.25 --json");
	ASSERT_EQ(r.code, 0) << r.out << r.err;
	EXPECT_GT(check_accounting(r), 0u);
	std::string s = summary_line(r.out);
	EXPECT_EQ(field(s, "oerrors"), 0u);
	EXPECT_GT(field(s, "ipackets"), 0u);
	// Per-period lines came too.
	EXPECT_NE(r.out.find("\"event\":\"stats\""), std::string::npos) << r.out;
	// io on a cabled pair: what one port receives, the other sent, but for
	// the packets in the cable at the stop (at most the 64 seeded ones,
	// freed when the ports close).
	auto ip = values(s, "ipackets"), op = values(s, "opackets");
	ASSERT_EQ(ip.size(), 2u);
	ASSERT_EQ(op.size(), 2u);
	for (int i = 0; i < 2; i++) {
		EXPECT_LE(ip[i], op[1 - i]);
		EXPECT_LE(op[1 - i] - ip[i], 64u);
	}
}

TEST(Fwd, HumanOutputOnOneLcore)
{
	Result r = fwd("--lcores 0 --duration 0.5 --stats-period 0.2");
	ASSERT_EQ(r.code, 0) << r.out << r.err;
	EXPECT_NE(r.out.find("Mpps"), std::string::npos) << r.out;
	EXPECT_NE(r.out.find("(the main lcore)"), std::string::npos) << r.out;
	EXPECT_NE(r.out.find("mbufs: all"), std::string::npos) << r.out;
}

TEST(Fwd, SingleLcoreJson)
{
	Result r = fwd("--lcores 0 --duration 0.5 --json --stats-period 0");
	ASSERT_EQ(r.code, 0) << r.out << r.err;
	EXPECT_GT(check_accounting(r), 0u);
	EXPECT_NE(summary_line(r.out).find("\"main_forwards\":true"), std::string::npos);
}

TEST(Fwd, EveryMode)
{
	const char *ports[] = { "--port null --port null:size=128",
		                "--port ring:name=x --port ring:name=y,peer=x --tx-first" };
	for (const char *mode : { "io", "mac", "macswap", "rxonly", "txonly", "flowgen" }) {
		for (const char *p : ports) {
			Result r = fwd(lcores() + " " + p + " --fwd " + mode +
			               " --rxq 2 --txq 2 --burst 16 --duration 0.4 --json "
			               "--stats-period 0");
			ASSERT_EQ(r.code, 0) << mode << " " << p << "\n" << r.out << r.err;
			uint64_t moved = check_accounting(r);
			std::string s = summary_line(r.out);
			EXPECT_NE(s.find(std::string("\"mode\":\"") + mode + "\""),
			          std::string::npos);
			// rxonly on ring ports has nothing to receive after the first burst
			// is drained; everything else keeps moving.
			EXPECT_GT(moved, 0u) << mode << " " << p;
		}
	}
}

TEST(Fwd, SmallPoolWarnsWithTheNumberNeeded)
{
	Result r = fwd(lcores() +
	               " --port null --fwd io --mbufs 100 --mbuf-cache 0 --duration 0.3 --json");
	ASSERT_EQ(r.code, 0) << r.out << r.err;
	const std::string pat = "--mbufs 100 is below the ";
	size_t p = r.err.find(pat);
	ASSERT_NE(p, std::string::npos) << r.err;
	EXPECT_GT(std::strtoul(r.err.c_str() + p + pat.size(), nullptr, 10), 100u);
	check_accounting(r);
}

TEST(Fwd, BadOptionsExitTwoNamingTheOption)
{
	const struct {
		const char *args, *msg;
	} bad[] = {
		{ "--burst 0", "--burst '0'" },
		{ "--burst 12x", "--burst '12x'" },
		{ "--rxq 99", "--rxq '99'" },
		{ "--fwd bogus", "--fwd 'bogus'" },
		{ "--stats-period -1", "--stats-period '-1'" },
		{ "--duration abc", "--duration 'abc'" },
		{ "--pkt-len 5", "--pkt-len '5'" },
		{ "--mbufs 0", "--mbufs '0'" },
		{ "--nope", "unknown option '--nope'" },
		{ "-x", "unknown option '-x'" },
		{ "--duration", "'--duration' needs a value" },
		{ "stray", "unexpected argument 'stray'" },
		{ "--port ring:=x", "--port 'ring:=x'" },
		{ "--port nosuch", "--port 'nosuch'" },
		{ "--port ring:bogus=1", "valid keys" },
		{ "--lcores abc", "lcores" },
		{ "--rxq 2 --txq 1", "--txq (1) must be at least --rxq (2)" },
		{ "--mbufs 10 --mbuf-cache 20", "--mbuf-cache 20 is larger than --mbufs 10" },
	};
	for (auto &b : bad) {
		Result r = fwd(std::string("--lcores 0 --duration 0.1 ") + b.args);
		EXPECT_EQ(r.code, 2) << b.args << "\n" << r.out << r.err;
		EXPECT_NE(r.err.find(b.msg), std::string::npos) << b.args << "\n" << r.err;
	}
}

TEST(Fwd, Help)
{
	Result r = fwd("--help");
	EXPECT_EQ(r.code, 0);
	for (const char *s : { "--port", "--fwd", "--json", "--lcores", "ring", "null", "peer=" })
		EXPECT_NE(r.out.find(s), std::string::npos) << s;
}

TEST(Fwd, SigintStopsCleanlyWithFinalStats)
{
	Result r = fwd(lcores() + " --duration 0 --json --stats-period 0",
	               "timeout --preserve-status -s INT 1 ");
	ASSERT_EQ(r.code, 0) << r.out << r.err;
	EXPECT_GT(check_accounting(r), 0u);
	Result t = fwd(lcores() + " --duration 0 --stats-period 0",
	               "timeout --preserve-status -s TERM 1 ");
	ASSERT_EQ(t.code, 0) << t.out << t.err;
	EXPECT_NE(t.out.find("signal 15: stopping"), std::string::npos) << t.out;
	EXPECT_NE(t.out.find("mbufs: all"), std::string::npos) << t.out;
}

TEST(Fwd, InteractiveCommands)
{
	for (const std::string &lc : { lcores(), std::string("--lcores 0") }) {
		Result r =
		    fwd(lc + " -i --stats-period 0",
		        "(echo 'show port stats all'; echo 'bogus cmd'; echo 'start tx_first'; "
		        "sleep 0.3; echo 'show fwd stats'; echo stop; echo 'set fwd nope'; "
		        "echo 'set fwd macswap'; echo start; sleep 0.3; echo stop; "
		        "echo 'show pool stats'; echo 'show port info all'; "
		        "echo 'clear port stats all'; echo quit) | ");
		ASSERT_EQ(r.code, 0) << r.out << r.err;
		for (const char *s :
		     { "RX-packets:", "unknown command 'bogus'", "sent 64 packets first",
		       "forwarding stopped", "unknown mode 'nope'", "forwarding mode: macswap",
		       "pool fwd_mbufs", "port statistics cleared", "mbufs: all" })
			EXPECT_NE(r.out.find(s), std::string::npos) << lc << ": " << s << "\n"
			                                            << r.out;
	}
}

// testpmd's interactive commands, each with what it must print, and the
// refusals of bad arguments; nothing leaks.
TEST(Fwd, InteractiveTestpmdCommands)
{
	Result r = fwd(lcores() + " -i",
	               "(echo help; echo 'show config fwd'; echo 'start tx_first 2'; sleep 0.3; "
	               "echo 'show port stats 0'; echo 'show port xstats all'; "
	               "echo 'show port 0 rxq'; echo 'show port 1 txq'; echo 'show fwd stats all'; "
	               "echo 'set burst 64'; echo stop; echo 'set burst 64'; echo 'set burst 0'; "
	               "echo 'set nbcore 1'; echo 'set nbcore 99'; echo 'set promisc all off'; "
	               "echo 'set promisc 0 maybe'; echo 'show port info 0'; echo 'port stop 0'; "
	               "echo start; echo 'port start all'; echo dump_mempool; "
	               "echo 'show port stats 9'; echo 'show config nope'; echo quit) | ");
	ASSERT_EQ(r.code, 0) << r.out << r.err;
	for (const char *s :
	     { // help lists every command
	       "show port stats N|all", "show port xstats N|all", "show port info N|all",
	       "show port N rxq|txq", "clear port stats N|all", "show config fwd", "set fwd MODE",
	       "set burst N", "set nbcore N", "set promisc N|all on|off", "port stop|start N|all",
	       "dump_mempool", "start [tx_first [N]]",
	       // the commands
	       "io packet forwarding - ports=2", "RX P=0/Q=0 -> TX P=1/Q=0",
	       "sent 128 packets first", "NIC statistics for port 0",
	       "Throughput (since last show)",
	       "rx_good_packets: ", "rx_q0_packets: ", "port 0 rxq 0: 1024 descriptors",
	       "port 1 txq 0: 1024 descriptors", "forwarding runs: stop it first", "burst: 64",
	       "burst '0': expected a whole number from 1 to 512", "forwarding lcores: 1 of",
	       "nbcore '99'", "port 0: promiscuous mode off", "port 1: promiscuous mode off",
	       "expected on or off", "Promiscuous mode: disabled", "port 0 stopped",
	       "port 0 is stopped: port start 0", "port 1 is started already", "port 0 started",
	       "(tarn_mempool_check: ok)", "no port '9'", "show config nope: expected fwd",
	       "mbufs: all" })
		EXPECT_NE(r.out.find(s), std::string::npos) << s << "\n" << r.out;
	EXPECT_EQ(r.out.find("unknown command"), std::string::npos) << r.out;
	// the pool's figures add up: store + caches + in use == size
	const std::string pat = "  store (";
	size_t p = r.out.find(pat);
	ASSERT_NE(p, std::string::npos) << r.out;
	unsigned st = 0, in_use = 0, total = 0, size = 0;
	unsigned long long cached = 0;
	ASSERT_EQ(sscanf(r.out.c_str() + r.out.find("objects; thread caches: ", p),
	                 "objects; thread caches: %llu; in use: %u; %u + %*u + %*u = %u of %u",
	                 &cached, &in_use, &st, &total, &size),
	          5)
	    << r.out.substr(p, 200);
	EXPECT_EQ(st + cached + in_use, size);
	EXPECT_EQ(total, size);
}

// With -i the prompt is not interrupted by the periodic rate lines, unless
// --stats-period asks for them.
TEST(Fwd, InteractivePrintsNoPeriodicLinesUnlessAsked)
{
	const std::string cmds = "(echo 'start tx_first'; sleep 1.4; echo stop; echo quit) | ";
	Result quiet = fwd(lcores() + " -i", cmds);
	ASSERT_EQ(quiet.code, 0) << quiet.out << quiet.err;
	EXPECT_EQ(quiet.out.find("total rx "), std::string::npos) << quiet.out;
	Result asked = fwd(lcores() + " -i --stats-period 0.5", cmds);
	ASSERT_EQ(asked.code, 0) << asked.out << asked.err;
	EXPECT_NE(asked.out.find("total rx "), std::string::npos) << asked.out;
}

// Port counters and the totals agree at exit however the run went: mode
// changes, lcore changes, several starts, a "clear port stats" (which only
// "show port stats" sees). Ring ports cabled in pairs: every packet a port
// received is one a stream received.
TEST(Fwd, SummaryAddsUpAcrossModeChanges)
{
	for (const char *form : { "--json", "" }) {
		Result r =
		    fwd(lcores() + " -i " + form,
		        "(echo 'start tx_first'; sleep 0.4; echo stop; echo 'set fwd macswap'; "
		        "echo start; sleep 0.4; echo stop; echo 'clear port stats all'; "
		        "echo 'set fwd mac'; echo 'set nbcore 1'; echo start; sleep 0.4; "
		        "echo stop; echo quit) | ");
		ASSERT_EQ(r.code, 0) << r.out << r.err;
		uint64_t ports_rx = 0, total_rx = 0;
		if (form[0] != '\0') {
			const std::string s = summary_line(r.out);
			auto ip = values(s, "ipackets");
			ASSERT_EQ(ip.size(), 2u) << s;
			ports_rx = ip[0] + ip[1];
			const size_t t = s.find("\"totals\":");
			ASSERT_NE(t, std::string::npos) << s;
			total_rx = field(s.substr(t), "rx");
			check_accounting(r);
		} else {
			// "port 0 (ring:name=p0): rx N pkts ..." lines of the summary
			std::istringstream in(r.out.substr(r.out.find("\n---- ")));
			std::string line;
			while (std::getline(in, line)) {
				const size_t q = line.find("): rx ");
				if (line.rfind("port ", 0) == 0 && q != std::string::npos)
					ports_rx +=
					    std::strtoull(line.c_str() + q + 6, nullptr, 10);
			}
			const size_t t = r.out.find("total: rx ");
			ASSERT_NE(t, std::string::npos) << r.out;
			total_rx = std::strtoull(r.out.c_str() + t + 10, nullptr, 10);
			EXPECT_NE(r.out.find("(modes run: io mac macswap)"), std::string::npos)
			    << r.out;
		}
		EXPECT_GT(total_rx, 0u) << r.out;
		EXPECT_EQ(ports_rx, total_rx) << form << "\n" << r.out;
	}
}

// rxonly's total says its receive rate (it sends nothing).
TEST(Fwd, RxonlyTotalRateIsTheReceiveRate)
{
	Result r = fwd(lcores() + " --port null --port null --fwd rxonly --duration 0.5 "
	                          "--stats-period 0");
	ASSERT_EQ(r.code, 0) << r.out << r.err;
	const size_t t = r.out.find("total: rx ");
	ASSERT_NE(t, std::string::npos) << r.out;
	unsigned long long rx = 0, gen = 0, tx = 0;
	double rx_mpps = 0, tx_mpps = 0;
	ASSERT_EQ(sscanf(r.out.c_str() + t, "total: rx %llu (%lf Mpps) gen %llu tx %llu (%lf Mpps)",
	                 &rx, &rx_mpps, &gen, &tx, &tx_mpps),
	          5)
	    << r.out.substr(t);
	EXPECT_GT(rx, 0u);
	EXPECT_GT(rx_mpps, 0.0) << r.out.substr(t);
	EXPECT_EQ(tx, 0u);
}

// testpmd's spellings: its EAL options (-l, -m) before a lone "--", then
// --forward-mode, --nb-cores, --total-num-mbufs, --mbcache, --txpkts,
// --auto-start.
TEST(Fwd, TestpmdSpellings)
{
	const std::string lc = sysconf(_SC_NPROCESSORS_ONLN) >= 2 ? "-l 0-1" : "-l0";
	Result r = fwd(lc + " -m 16 -- --forward-mode=macswap --nb-cores=1 --total-num-mbufs=8192 "
	                    "--mbcache=128 --txpkts=100 --burst=16 --duration 0.3 --json");
	ASSERT_EQ(r.code, 0) << r.out << r.err;
	EXPECT_NE(r.out.find("\"mode\":\"macswap\""), std::string::npos) << r.out;
	EXPECT_NE(r.out.find("\"mbufs\":8192"), std::string::npos) << r.out;
	EXPECT_NE(r.out.find("\"fwd_lcores\":1"), std::string::npos) << r.out;
	EXPECT_NE(r.out.find("\"burst\":16"), std::string::npos) << r.out;
	EXPECT_NE(r.out.find("\"pkt_len\":100"), std::string::npos) << r.out;
	check_accounting(r);

	Result a = fwd(lcores() + " -i --auto-start", "(sleep 0.5; echo quit) | ");
	ASSERT_EQ(a.code, 0) << a.out << a.err;
	EXPECT_NE(a.out.find("sent 64 packets first"), std::string::npos) << a.out;
	EXPECT_NE(a.out.find("forwarding started (io mode)"), std::string::npos) << a.out;

	const struct {
		const char *args, *msg;
	} bad[] = {
		{ "--lcores 0 --nb-cores 2", "--nb-cores 2: 1 forwarding lcore" },
		{ "--nb-cores 0", "--nb-cores '0'" },
		{ "--forward-mode=bogus", "--forward-mode 'bogus'" },
		{ "-l", "option '-l' needs a value" },
		{ "-m x", "socket-mem" },
	};
	for (auto &b : bad) {
		Result e = fwd(std::string("--duration 0.1 ") + b.args);
		EXPECT_EQ(e.code, 2) << b.args << "\n" << e.out << e.err;
		EXPECT_NE(e.err.find(b.msg), std::string::npos) << b.args << "\n" << e.err;
	}
}

// A pool that did not get hugepages: the note counts the pages for the whole
// pool (tarn's own fallback line counts the reservation that failed).
TEST(Fwd, HugepageNoteCountsTheWholePool)
{
	struct stat st;
	const char *dir = "/sys/kernel/mm/hugepages/hugepages-1048576kB";
	if (stat(dir, &st) != 0)
		GTEST_SKIP() << "no 1 GiB hugepages on this machine: no size to run short of";
	std::ifstream f(std::string(dir) + "/free_hugepages");
	long free_pages = -1;
	f >> free_pages;
	if (free_pages != 0)
		GTEST_SKIP() << "1 GiB hugepages are free: the pool gets them, no note";
	// 50000 mbufs of ~2.3 KiB: about 115 MiB, one 1 GiB page
	Result r = fwd(lcores() + " --huge-size 1G --mbufs 50000 --duration 0.1 --stats-period 0");
	ASSERT_EQ(r.code, 0) << r.out << r.err;
	const std::string pat = "tarn-fwd: note: pool fwd_mbufs (";
	const size_t p = r.err.find(pat);
	ASSERT_NE(p, std::string::npos) << r.err;
	double mib = 0;
	unsigned long long page_kb = 0, pages = 0, hp_kb = 0;
	const char *note = r.err.c_str() + p + pat.size();
	ASSERT_EQ(sscanf(note, "%lf MiB) is on %llu kB pages, not hugepages: %llu hugepage", &mib,
	                 &page_kb, &pages),
	          3)
	    << r.err.substr(p);
	const char *of = strstr(note, " of ");
	ASSERT_NE(of, nullptr) << note;
	ASSERT_EQ(sscanf(of, " of %llu kB", &hp_kb), 1) << note;
	EXPECT_EQ(hp_kb, 1048576u);
	EXPECT_EQ(pages, (unsigned long long)((mib * 1024 + hp_kb - 1) / hp_kb)) << r.err;
	EXPECT_NE(r.err.find("tarn-doctor --huge-size 1G --socket-mem "), std::string::npos)
	    << r.err;
}

// --soak: lcores for a main lcore and `workers` forwarding lcores spread over
// at most two of the CPUs this process may use (more threads than CPUs).
std::string soak_lcores(unsigned workers)
{
	cpu_set_t set;
	std::vector<int> cpus;
	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		for (int c = 0; c < CPU_SETSIZE && cpus.size() < 2; c++)
			if (CPU_ISSET(c, &set))
				cpus.push_back(c);
	if (cpus.empty())
		cpus.push_back(0);
	std::string s = "--lcores ";
	for (unsigned i = 0; i <= workers; i++)
		s += (i ? "," : "") + std::to_string(i) + "@" +
		     std::to_string(cpus[i % cpus.size()]);
	return s;
}

// The "event":"soak" line of a --json run.
std::string soak_line(const std::string &out)
{
	std::istringstream in(out);
	std::string line, found;
	while (std::getline(in, line))
		if (line.find("\"event\":\"soak\"") != std::string::npos)
			found = line;
	return found;
}

// Seconds of the soak runs: 3, or TARN_TEST_SOAK_S (scripts/soak.sh runs
// the long form).
double soak_seconds()
{
	const char *e = getenv("TARN_TEST_SOAK_S");
	double v = e != nullptr ? std::strtod(e, nullptr) : 0;
	return v > 0 ? v : 3.0;
}

// Four forwarding lcores on (at most) two CPUs, four ring ports with two
// queues each, small rings (TX refusals), random bursts, pauses every
// 0-0.2 s: everything must balance and every mbuf come back.
TEST(Fwd, SoakManyLcoresOnFewCpusLosesNothing)
{
	const double secs = soak_seconds();
	Result r = fwd(soak_lcores(4) + " --soak --seed 12345 --soak-cycle 0.2 --duration " +
	               std::to_string(secs) +
	               " --rxq 2 --txq 2 --rxd 256 --txd 256 --stats-period 0 --json");
	ASSERT_EQ(r.code, 0) << r.out << r.err;
	EXPECT_GT(check_accounting(r), 0u);
	std::string s = soak_line(r.out);
	ASSERT_FALSE(s.empty()) << r.out << r.err;
	EXPECT_NE(s.find("\"result\":\"pass\""), std::string::npos) << s;
	EXPECT_NE(s.find("\"seed\":\"12345\""), std::string::npos) << s;
	EXPECT_EQ(field(s, "lost"), 0u) << s;
	EXPECT_EQ(field(s, "mbufs_in_use"), 0u) << s;
	EXPECT_EQ(field(s, "failed_checks"), 0u) << s;
	EXPECT_EQ(field(s, "fwd_lcores"), 4u) << s;
	EXPECT_EQ(field(s, "ports"), 4u) << s;
	EXPECT_EQ(field(s, "streams"), 8u) << s;
	EXPECT_GT(field(s, "moved"), 0u) << s;
	EXPECT_GT(field(s, "generated"), 0u) << s;
	EXPECT_GT(field(s, "consumed"), 0u) << s;
	// Pauses every 0-0.2 s: about 10 per second; at least one per second
	// on a loaded machine.
	EXPECT_GE(field(s, "pauses"), (uint64_t)secs) << s;
	// Everything generated left through a counted exit.
	EXPECT_EQ(field(s, "generated"), field(s, "consumed") + field(s, "dropped") +
	                                     field(s, "drained") + field(s, "left"))
	    << s;
	RecordProperty("soak_seconds", std::to_string(secs));
	RecordProperty("soak_packets_moved", std::to_string(field(s, "moved")));
	printf("soak: %.1f s, %llu packets moved, %llu pauses, lost %llu\n", secs,
	       (unsigned long long)field(s, "moved"), (unsigned long long)field(s, "pauses"),
	       (unsigned long long)field(s, "lost"));
}

// The human summary; the main lcore forwards alone, on user ports (a cable
// and a loop), in macswap mode.
TEST(Fwd, SoakHumanSummaryOnOneLcore)
{
	Result r = fwd("--lcores 0 --soak --seed 7 --soak-cycle 0.1 --duration 1 --stats-period 0 "
	               "--fwd macswap --port ring:name=a --port ring:name=b,peer=a "
	               "--port ring:loop=1");
	ASSERT_EQ(r.code, 0) << r.out << r.err;
	for (const char *s :
	     { "tarn-fwd: soak: seed 7 ", "soak: PASS: ", ", lost 0, mbufs in use 0 of ",
	       "1 forwarding lcore(s)", "mbufs: all" })
		EXPECT_NE(r.out.find(s), std::string::npos) << s << "\n" << r.out;
}

// The checks catch what they are there for: one mbuf kept from the pool,
// one packet freed without being counted.
TEST(Fwd, SoakCatchesALeakAndALostPacket)
{
	for (const char *fault : { "leak", "drop" }) {
		Result r = fwd(lcores() + " --soak --soak-cycle 0.1 --duration 1 --stats-period 0",
		               std::string("TARN_FWD_SOAK_FAULT=") + fault + " ");
		EXPECT_EQ(r.code, 1) << fault << "\n" << r.out << r.err;
		EXPECT_NE(r.out.find("soak: FAIL: "), std::string::npos) << fault << "\n" << r.out;
		EXPECT_EQ(r.out.find(", lost 0,"), std::string::npos) << fault << "\n" << r.out;
		EXPECT_NE(r.err.find("soak: FAILED at "), std::string::npos) << fault << "\n"
		                                                             << r.err;
		EXPECT_NE(r.err.find(std::string("TARN_FWD_SOAK_FAULT=") + fault),
		          std::string::npos)
		    << r.err;
	}
}

// A lost mbuf is told from a leaked one, in a plain build, by the pool's
// always-on conservation count (tarn_mempool_check()): "lose" takes an mbuf
// out of the store behind the pool's back (as a store that dropped it),
// "leak" keeps one that the pool handed out. The soak's checks and the
// check at exit both see the loss, and call it a loss, not a leak.
TEST(Fwd, SoakAndExitTellALostMbufFromALeakedOne)
{
	for (const char *fault : { "lose", "leak" }) {
		const bool lose = strcmp(fault, "lose") == 0;
		Result r = fwd(lcores() + " --soak --soak-cycle 0.1 --duration 1 --stats-period 0",
		               std::string("TARN_FWD_SOAK_FAULT=") + fault + " ");
		EXPECT_EQ(r.code, 1) << fault << "\n" << r.out << r.err;
		EXPECT_NE(r.out.find("soak: FAIL: "), std::string::npos) << fault << "\n" << r.out;
		const bool check_lost =
		    r.err.find("check 'fwd_mbufs': 1 object(s) lost") != std::string::npos;
		EXPECT_EQ(check_lost, lose) << fault << "\n" << r.err;
		EXPECT_EQ(r.err.find("tarn_mempool_check(fwd_mbufs) failed") != std::string::npos,
		          lose)
		    << fault << "\n"
		    << r.err;
		EXPECT_EQ(r.err.find("tarn-fwd: 1 mbufs lost: missing from the pool but never "
		                     "handed out") != std::string::npos,
		          lose)
		    << fault << "\n"
		    << r.err;
		EXPECT_EQ(r.out.find("mbufs: LOST: 1 of ") != std::string::npos, lose)
		    << fault << "\n"
		    << r.out;
		EXPECT_EQ(r.err.find("tarn-fwd: 1 mbufs leaked") != std::string::npos, !lose)
		    << fault << "\n"
		    << r.err;
		EXPECT_EQ(r.out.find("mbufs: LEAK: ") != std::string::npos, !lose) << fault << "\n"
		                                                                   << r.out;
	}
	// The JSON summary: "lost" apart from "leaked".
	Result r = fwd(lcores() + " --soak --soak-cycle 0.1 --duration 1 --stats-period 0 --json",
	               "TARN_FWD_SOAK_FAULT=lose ");
	EXPECT_EQ(r.code, 1) << r.out << r.err;
	const std::string s = summary_line(r.out);
	EXPECT_NE(s.find("\"leaked\":0,\"lost\":1"), std::string::npos) << s;
}

TEST(Fwd, SoakRefusesWhatItCannotCheck)
{
	const struct {
		const char *args, *msg;
	} bad[] = {
		{ "--soak --port null", "is not a ring port" },
		{ "--soak --fwd rxonly", "--fwd must be io, mac or macswap" },
		{ "--soak -i", "--soak and --interactive" },
		{ "--soak --seed abc", "--seed 'abc'" },
		{ "--soak --seed 18446744073709551616", "--seed '18446744073709551616'" },
		{ "--soak --soak-cycle -1", "--soak-cycle '-1'" },
	};
	for (auto &b : bad) {
		Result r = fwd(std::string("--lcores 0 --duration 0.1 ") + b.args);
		EXPECT_EQ(r.code, 2) << b.args << "\n" << r.out << r.err;
		EXPECT_NE(r.err.find(b.msg), std::string::npos) << b.args << "\n" << r.err;
	}
}

// Files named PREFIX.* in every hugetlbfs mount, and PREFIX's runtime files
// (the telemetry socket) where tarn and DPDK put them.
std::vector<std::string> leftovers(const std::string &prefix)
{
	std::vector<std::string> out, dirs;
	std::ifstream m("/proc/mounts");
	std::string dev, dir, type, rest;
	while (m >> dev >> dir >> type && std::getline(m, rest))
		if (type == "hugetlbfs")
			dirs.push_back(dir);
	for (const std::string &d : dirs) {
		std::string cmd = "ls -1 " + d + " 2>/dev/null";
		FILE *p = popen(cmd.c_str(), "r");
		char line[512];
		while (p != nullptr && fgets(line, sizeof(line), p) != nullptr) {
			std::string f(line);
			f.erase(f.find_last_not_of('\n') + 1);
			if (f.compare(0, prefix.size() + 1, prefix + ".") == 0)
				out.push_back(d + "/" + f);
		}
		if (p != nullptr)
			pclose(p);
	}
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	for (std::string base : { std::string("/var/run/dpdk/"),
	                          std::string(xdg != nullptr ? xdg : "/nonexistent") + "/dpdk/" }) {
		std::string sock = base + prefix + "/dpdk_telemetry.v2";
		if (access(sock.c_str(), F_OK) == 0)
			out.push_back(sock);
	}
	return out;
}

// kill -9 leaves hugepage files (and a telemetry socket) behind; the next
// start with the same file prefix removes them, runs, and leaves nothing.
TEST(Fwd, Kill9ThenRestartCleansUp)
{
	const std::string prefix = "tarn-fwd-crash-" + std::to_string(getpid());
	const std::string out = "/tmp/" + prefix + ".out";
	pid_t pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		FILE *f = freopen(out.c_str(), "w", stdout);
		(void)f;
		execl(TARN_FWD, TARN_FWD, "--file-prefix", prefix.c_str(), "--lcores", "0",
		      "--duration", "0", "--stats-period", "0", (char *)nullptr);
		_exit(127);
	}
	// Running once it printed its start line.
	bool started = false;
	for (int i = 0; i < 200 && !started; i++) {
		usleep(50 * 1000);
		started = slurp(out).find("forwarding on") != std::string::npos;
	}
	EXPECT_TRUE(started) << slurp(out);
	std::vector<std::string> during = leftovers(prefix);
	// Nothing tarn creates is open to other users: hugepage files and the
	// telemetry socket are 0600, their directories not group/world-writable.
	for (const std::string &f : during) {
		struct stat sb;
		ASSERT_EQ(stat(f.c_str(), &sb), 0) << f;
		EXPECT_EQ(sb.st_mode & 0077, 0u)
		    << f << " mode " << std::oct << (sb.st_mode & 07777);
		std::string dir = f.substr(0, f.rfind('/'));
		ASSERT_EQ(stat(dir.c_str(), &sb), 0) << dir;
		EXPECT_TRUE((sb.st_mode & 0022) == 0 || (sb.st_mode & S_ISVTX))
		    << dir << " mode " << std::oct << (sb.st_mode & 07777);
	}
	ASSERT_EQ(kill(pid, SIGKILL), 0);
	int st = 0;
	ASSERT_EQ(waitpid(pid, &st, 0), pid);
	ASSERT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	unlink(out.c_str());
	std::vector<std::string> stale = leftovers(prefix);
	EXPECT_EQ(stale.size(), during.size()) << "kill -9 cannot have removed anything";

	// Restart with the same prefix: stale files go, the run works, and its
	// own files go at exit.
	std::string cmd = std::string(TARN_FWD) + " --file-prefix " + prefix +
	                  " --lcores 0 --duration 1 --stats-period 0 --json 2>&1";
	Result r;
	FILE *p = popen(cmd.c_str(), "r");
	ASSERT_NE(p, nullptr);
	char buf[4096];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), p)) > 0)
		r.out.append(buf, n);
	int rst = pclose(p);
	EXPECT_TRUE(WIFEXITED(rst) && WEXITSTATUS(rst) == 0) << r.out;
	EXPECT_NE(summary_line(r.out).find("\"leaked\":0"), std::string::npos) << r.out;
	std::vector<std::string> after = leftovers(prefix);
	std::string left;
	for (const std::string &f : after)
		left += " " + f;
	EXPECT_TRUE(after.empty()) << "left behind:" << left;
	RecordProperty("stale_files_after_kill", (int)stale.size());
	if (stale.empty())
		printf("note: the killed run left no files (no hugepages here): only the restart "
		       "was checked\n");
	else
		printf("kill -9 left %zu file(s); the restart removed them\n", stale.size());
}

} // namespace
