// SPDX-License-Identifier: BSD-3-Clause
// ethdev unit tests: spec parsing (valid and hostile), creation errors, the
// lifecycle and its misuse, information calls, the ring driver (cabled pair,
// loopback, late peer, multi-queue, full ring), the null driver (RX/TX
// counts, rx_nombuf), statistics (exact, per queue, reset) and a threaded
// run for the sanitizers.
#include "ethdev_test.h"

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace
{

class EthEnv : public ::testing::Environment
{
      public:
	void SetUp() override
	{
		tarn_log_set_handler(EthLog::fn, nullptr);
		struct tarn_config cfg;
		ASSERT_EQ(tarn_config_init(&cfg), 0);
		snprintf(cfg.lcores, sizeof(cfg.lcores), "0");
		cfg.no_pin_main = 1;
		snprintf(cfg.file_prefix, sizeof(cfg.file_prefix), "tarn-test-ethdev");
		ASSERT_EQ(tarn_init(&cfg), 0);
	}
	void TearDown() override
	{
		EXPECT_EQ(tarn_cleanup(), 0);
		tarn_log_set_handler(nullptr, nullptr);
	}
};

::testing::Environment *const eth_env = ::testing::AddGlobalTestEnvironment(new EthEnv);

// Every test starts and ends with no port open.
class Eth : public ::testing::Test
{
      protected:
	void SetUp() override
	{
		EthLog::clear();
		ASSERT_EQ(tarn_eth_dev_count(), 0u);
	}
	void TearDown() override
	{
		close_all_ports();
	}
};

using EthSpec = Eth;
using EthCreate = Eth;
using EthLife = Eth;
using EthInfo = Eth;
using EthRing = Eth;
using EthNull = Eth;
using EthStats = Eth;
using EthThreads = Eth;

uint16_t create(const char *spec)
{
	uint16_t p = UINT16_MAX;
	EXPECT_EQ(tarn_eth_dev_create(spec, &p), 0) << spec << "\n" << EthLog::all();
	return p;
}

// Configure, set up every queue on `mp` and start.
void bring_up(uint16_t port, struct tarn_mempool *mp, uint16_t nq = 1, uint32_t desc = 0)
{
	ASSERT_EQ(tarn_eth_dev_configure(port, nq, nq, nullptr), 0);
	for (uint16_t q = 0; q < nq; q++) {
		ASSERT_EQ(tarn_eth_tx_queue_setup(port, q, desc, TARN_SOCKET_ANY), 0);
		ASSERT_EQ(tarn_eth_rx_queue_setup(port, q, desc, TARN_SOCKET_ANY, mp), 0);
	}
	ASSERT_EQ(tarn_eth_dev_start(port), 0);
}

// `n` mbufs of `len` bytes, byte 0 of the data = tag.
std::vector<struct tarn_mbuf *> make_pkts(struct tarn_mempool *mp, unsigned n, uint16_t len,
                                          uint8_t tag = 0)
{
	std::vector<struct tarn_mbuf *> v(n);
	EXPECT_EQ(tarn_pktmbuf_alloc_bulk(mp, v.data(), n), 0);
	for (unsigned i = 0; i < n; i++) {
		EXPECT_NE(tarn_pktmbuf_append(v[i], len), nullptr);
		tarn_pktmbuf_mtod(v[i], uint8_t *)[0] = tag;
	}
	return v;
}

void free_pkts(struct tarn_mbuf **p, unsigned n)
{
	tarn_pktmbuf_free_bulk(p, n);
}

unsigned ring_count()
{
	return (unsigned)tarn_ring_walk([](struct tarn_ring *, void *) {}, nullptr);
}

// ---------------------------------------------------------------------------
// Spec parsing

TEST_F(EthSpec, ValidStrings)
{
	struct tarn__eth_spec s;
	ASSERT_EQ(tarn__eth_spec_parse("null", &s), 0);
	EXPECT_STREQ(s.driver, "null");
	EXPECT_EQ(s.nb_kv, 0u);
	ASSERT_EQ(tarn__eth_spec_parse("null:", &s), 0);
	EXPECT_EQ(s.nb_kv, 0u);
	ASSERT_EQ(tarn__eth_spec_parse("ring:name=a,peer=b", &s), 0);
	EXPECT_STREQ(s.driver, "ring");
	ASSERT_EQ(s.nb_kv, 2u);
	EXPECT_STREQ(tarn__eth_spec_get(&s, "name"), "a");
	EXPECT_STREQ(tarn__eth_spec_get(&s, "peer"), "b");
	EXPECT_EQ(tarn__eth_spec_get(&s, "loop"), nullptr);
	ASSERT_EQ(tarn__eth_spec_parse("net_x1:Some-Key_2=v.a/l:u@e", &s), 0);
	EXPECT_STREQ(s.driver, "net_x1");
	EXPECT_STREQ(tarn__eth_spec_get(&s, "Some-Key_2"), "v.a/l:u@e");

	// Longest value and key, most pairs.
	std::string v(TARN_ETH_VALUE_MAX - 1, 'v'), k(TARN_ETH_KEY_MAX - 1, 'k');
	std::string spec = "ring:" + k + "=" + v;
	ASSERT_EQ(tarn__eth_spec_parse(spec.c_str(), &s), 0);
	EXPECT_EQ(std::string(s.kv[0].value), v);
	spec = "ring:";
	for (int i = 0; i < TARN_ETH_MAX_KV; i++)
		spec += (i ? "," : "") + std::string("k") + std::to_string(i) + "=1";
	ASSERT_EQ(tarn__eth_spec_parse(spec.c_str(), &s), 0);
	EXPECT_EQ(s.nb_kv, (unsigned)TARN_ETH_MAX_KV);
}

TEST_F(EthSpec, HostileStringsAreRejectedWithAReason)
{
	struct tarn__eth_spec s;
	std::string many = "ring:";
	for (int i = 0; i <= TARN_ETH_MAX_KV; i++)
		many += (i ? "," : "") + std::string("k") + std::to_string(i) + "=1";
	const struct {
		std::string spec;
		const char *why;
	} bad[] = {
		{ "", "empty" },
		{ ":", "no driver name" },
		{ ":name=a", "no driver name" },
		{ "ring:=x", "empty key" },
		{ "ring:x", "not KEY=VALUE" },
		{ "ring:x=", "empty value" },
		{ "ring:a=1,,b=2", "empty KEY=VALUE pair" },
		{ "ring:a=1,", "empty KEY=VALUE pair" },
		{ "ring:,a=1", "empty KEY=VALUE pair" },
		{ "ring:a=1,a=2", "given twice" },
		{ "ring:a=b=c", "bad character in the value" },
		{ "ring:a= b", "bad character in the value" },
		{ "ring:a=b\n", "bad character in the value" },
		{ "ring:a=\x01", "bad character in the value" },
		{ "ring:a b=1", "bad character in the key" },
		{ "ring::a=1", "bad character in the key" },
		{ "RING", "bad character" },
		{ "ri ng:a=1", "bad character" },
		{ "ring\x7f", "bad character" },
		{ "ring:a=" + std::string(TARN_ETH_VALUE_MAX, 'v'), "longer than" },
		{ "ring:" + std::string(TARN_ETH_KEY_MAX, 'k') + "=1", "longer than" },
		{ std::string(TARN_NAME_SIZE, 'd'), "driver name longer" },
		{ "ring:name=" + std::string(TARN_ETH_SPEC_MAX, 'x'), "longer than 255" },
		{ many, "more than 16" },
	};
	for (auto &b : bad) {
		EthLog::clear();
		memset(&s, 0x5a, sizeof(s));
		EXPECT_EQ(tarn__eth_spec_parse(b.spec.c_str(), &s), -EINVAL) << b.spec;
		EXPECT_TRUE(EthLog::contains(b.why)) << b.spec << " -> " << EthLog::all();
		// and through the public call, which loses nothing
		uint16_t p = 77;
		EXPECT_EQ(tarn_eth_dev_create(b.spec.c_str(), &p), -EINVAL) << b.spec;
		EXPECT_EQ(p, 77);
	}
	EXPECT_EQ(tarn__eth_spec_parse(nullptr, &s), -EINVAL);
	EXPECT_EQ(tarn__eth_spec_parse("null", nullptr), -EINVAL);
	EXPECT_EQ(tarn_eth_dev_count(), 0u);
	// A non-printable byte never reaches the log.
	EthLog::clear();
	tarn__eth_spec_parse("ring:a=\x1b[2J", &s);
	EXPECT_FALSE(EthLog::contains("\x1b"));
}

// The typed keys of lib/env/keys.c, as drivers declare them.
struct KeyCfg {
	uint32_t n;
	uint8_t small;
	int word;
	char str[8];
};

const struct tarn__key_word key_words[] = {
	{ "one", 1, "the first", 0 },
	{ "two", 2, nullptr, 0 },
	{ "uno", 1, nullptr, 1 }, // an alias of "one"
	{ nullptr, 0, nullptr, 0 },
};

TEST_F(EthSpec, Numbers)
{
	struct tarn__key k = {};
	k.name = "n";
	k.type = TARN__KEY_UINT;
	k.offset = offsetof(KeyCfg, n);
	k.size = sizeof(uint32_t);
	k.min = 1;
	k.max = 1000;
	k.def = 7;
	k.help = "a number";
	const struct tarn__key table[] = { k, {} };
	KeyCfg cfg = {};
	char why[128];
	ASSERT_EQ(tarn__keys_check(table, why, sizeof(why)), 0) << why;
	tarn__keys_defaults(table, &cfg);
	EXPECT_EQ(cfg.n, 7u);
	ASSERT_EQ(tarn__key_parse(&k, "128", &cfg, why, sizeof(why)), 0);
	EXPECT_EQ(cfg.n, 128u);
	EXPECT_EQ(tarn__key_uint(&k, &cfg), 128u);
	for (const char *v :
	     { "abc", "-1", "0x10", "99999999999999999999999", "12a", " 5", "0", "1001", "" }) {
		why[0] = '\0';
		EXPECT_EQ(tarn__key_parse(&k, v, &cfg, why, sizeof(why)), -EINVAL) << v;
		EXPECT_STREQ(why, "expected a decimal number from 1 to 1000") << v;
	}
	EXPECT_EQ(cfg.n, 128u) << "nothing written on error";
	k.align = 16;
	EXPECT_EQ(tarn__key_parse(&k, "40", &cfg, why, sizeof(why)), -EINVAL);
	EXPECT_STREQ(why, "not a multiple of 16");
	EXPECT_EQ(tarn__key_parse(&k, "2000", &cfg, why, sizeof(why)), -EINVAL);
	EXPECT_STREQ(why, "expected a decimal number from 1 to 1000, a multiple of 16");
	ASSERT_EQ(tarn__key_parse(&k, "48", &cfg, why, sizeof(why)), 0);
	EXPECT_EQ(cfg.n, 48u);
}

TEST_F(EthSpec, KeyTablesAreChecked)
{
	char why[128];
	struct tarn__key k = {};
	k.name = "s";
	k.type = TARN__KEY_UINT;
	k.offset = offsetof(KeyCfg, small);
	k.size = 1;
	k.max = 300; // does not fit a byte
	k.help = "h";
	struct tarn__key table[] = { k, {} };
	EXPECT_EQ(tarn__keys_check(table, why, sizeof(why)), -EINVAL);
	EXPECT_STREQ(why, "key 's' has a max its field cannot hold");
	table[0].max = 255;
	EXPECT_EQ(tarn__keys_check(table, why, sizeof(why)), 0) << why;
	table[0].size = 3;
	EXPECT_EQ(tarn__keys_check(table, why, sizeof(why)), -EINVAL);
	table[0].size = 1;
	table[0].min = 9;
	table[0].max = 8;
	EXPECT_EQ(tarn__keys_check(table, why, sizeof(why)), -EINVAL);
	struct tarn__key two[] = { k, k, {} };
	two[0].max = two[1].max = 1;
	EXPECT_EQ(tarn__keys_check(two, why, sizeof(why)), -EINVAL);
	EXPECT_STREQ(why, "key 's' declared twice");

	// Every built-in driver's table, and the generic keys, pass.
	EXPECT_EQ(tarn__keys_check(tarn__eth_generic_keys, why, sizeof(why)), 0) << why;
	for (unsigned i = 0; i < tarn_eth_driver_count(); i++) {
		const struct tarn__eth_driver *drv = tarn__eth_driver_find(tarn_eth_driver_name(i));
		ASSERT_NE(drv, nullptr);
		EXPECT_EQ(tarn__keys_check(drv->keys, why, sizeof(why)), 0)
		    << drv->name << ": " << why;
	}
}

TEST_F(EthSpec, WordsStringsAndHelp)
{
	struct tarn__key w = {};
	w.name = "w";
	w.type = TARN__KEY_ENUM;
	w.offset = offsetof(KeyCfg, word);
	w.size = sizeof(int);
	w.def = 2;
	w.words = key_words;
	w.help = "a word";
	struct tarn__key s = {};
	s.name = "s";
	s.type = TARN__KEY_STR;
	s.offset = offsetof(KeyCfg, str);
	s.size = sizeof(KeyCfg::str);
	s.help = "a string";
	KeyCfg cfg = {};
	char why[128], buf[256];
	ASSERT_EQ(tarn__key_parse(&w, "uno", &cfg, why, sizeof(why)), 0) << "an alias";
	EXPECT_EQ(cfg.word, 1);
	EXPECT_EQ(tarn__key_parse(&w, "three", &cfg, why, sizeof(why)), -EINVAL);
	EXPECT_STREQ(why, "expected one (the first) or two") << "aliases are not listed";
	tarn__key_syntax(&w, buf, sizeof(buf));
	EXPECT_STREQ(buf, "w=one|two");
	tarn__key_usage(&w, buf, sizeof(buf));
	EXPECT_STREQ(buf, "w=one|two (a word; default two)");
	ASSERT_EQ(tarn__key_parse(&s, "abcdefg", &cfg, why, sizeof(why)), 0);
	EXPECT_STREQ(cfg.str, "abcdefg");
	EXPECT_EQ(tarn__key_parse(&s, "abcdefgh", &cfg, why, sizeof(why)), -EINVAL);
	EXPECT_STREQ(why, "expected 1 to 7 characters");
	EXPECT_STREQ(cfg.str, "abcdefg");
}

// ---------------------------------------------------------------------------
// Creation

TEST_F(EthCreate, DriversAreListed)
{
	// ring and null always come first; drivers on kernel interfaces follow
	// when they were built (drivers/net/meson.build).
	const unsigned n = tarn_eth_driver_count();
	ASSERT_GE(n, 2u);
	EXPECT_STREQ(tarn_eth_driver_name(0), "ring");
	EXPECT_STREQ(tarn_eth_driver_name(1), "null");
	std::set<std::string> names;
	for (unsigned i = 0; i < n; i++) {
		ASSERT_NE(tarn_eth_driver_name(i), nullptr) << i;
		EXPECT_NE(tarn_eth_driver_help(i), nullptr) << i;
		EXPECT_TRUE(names.insert(tarn_eth_driver_name(i)).second) << "listed twice: " << i;
	}
	EXPECT_EQ(tarn_eth_driver_name(n), nullptr);
	EXPECT_EQ(tarn_eth_driver_help(n), nullptr);
}

TEST_F(EthCreate, DefaultsAndNames)
{
	uint16_t a = create("null");
	uint16_t b = create("ring:loop=1");
	EXPECT_EQ(a, 0);
	EXPECT_EQ(b, 1);
	struct tarn_eth_dev_info info;
	ASSERT_EQ(tarn_eth_dev_info_get(a, &info), 0);
	EXPECT_STREQ(info.name, "null0");
	EXPECT_STREQ(info.driver_name, "null");
	EXPECT_STREQ(info.spec, "null");
	EXPECT_EQ(info.state, TARN_ETH_STATE_CREATED);
	EXPECT_EQ(info.nb_rx_queues, 0);
	EXPECT_EQ(info.max_rx_queues, TARN_ETH_MAX_QUEUES);
	EXPECT_EQ(info.mtu, (uint32_t)TARN_ETH_DEFAULT_MTU);
	EXPECT_GE(info.socket, 0);
	EXPECT_EQ(info.mac.addr_bytes[0], 0x02);
	EXPECT_EQ(info.mac.addr_bytes[5], a);
	EXPECT_EQ(info.numa_node, TARN_SOCKET_ANY) << "no device, no socket=";
	ASSERT_EQ(tarn_eth_dev_info_get(b, &info), 0);
	EXPECT_STREQ(info.name, "ring1");
	EXPECT_EQ(info.numa_node, TARN_SOCKET_ANY);

	uint16_t c = create("null:name=sink,mac=02:11:22:33:44:55,socket=0");
	uint16_t found = 999;
	EXPECT_EQ(tarn_eth_dev_get_by_name("sink", &found), 0);
	EXPECT_EQ(found, c);
	struct tarn_ether_addr mac;
	ASSERT_EQ(tarn_eth_macaddr_get(c, &mac), 0);
	char buf[18];
	EXPECT_STREQ(tarn_ether_format_addr(buf, sizeof(buf), &mac), "02:11:22:33:44:55");
	EXPECT_EQ(tarn_eth_dev_socket_id(c), 0);
	ASSERT_EQ(tarn_eth_dev_info_get(c, &info), 0);
	EXPECT_EQ(info.numa_node, 0) << "socket= is the port's node";

	EXPECT_EQ(tarn_eth_dev_count(), 3u);
	EXPECT_EQ(tarn_eth_dev_next(-1), 0);
	EXPECT_EQ(tarn_eth_dev_next(0), 1);
	EXPECT_EQ(tarn_eth_dev_next(2), -1);
	EXPECT_EQ(tarn_eth_dev_close(b), 0);
	EXPECT_EQ(tarn_eth_dev_next(0), 2);
	// The freed id is reused.
	EXPECT_EQ(create("null"), b);
}

// "The socket of X" is tarn_<X>_socket(); tarn_eth_dev_socket_id() is DPDK's
// name for the same.
TEST_F(EthCreate, SocketUnderBothNames)
{
	uint16_t a = create("null:socket=0");
	uint16_t b = create("null");
	EXPECT_EQ(tarn_eth_dev_socket(a), 0);
	EXPECT_EQ(tarn_eth_dev_socket(b), tarn_thread_socket());
	EXPECT_EQ(tarn_eth_dev_socket_id(b), tarn_eth_dev_socket(b));
	EXPECT_EQ(tarn_eth_dev_socket(TARN_MAX_ETHPORTS), -ENODEV);
	EXPECT_EQ(tarn_eth_dev_socket_id(TARN_MAX_ETHPORTS), -ENODEV);
}

TEST_F(EthCreate, ErrorsNameTheProblemAndLoseNothing)
{
	const unsigned rings = ring_count();
	uint16_t p = 55;
	EthLog::clear();
	EXPECT_EQ(tarn_eth_dev_create("nosuch:a=1", &p), -ENODEV);
	std::string list = "unknown driver 'nosuch' (drivers: ring, null";
	for (unsigned i = 2; i < tarn_eth_driver_count(); i++)
		list += std::string(", ") + tarn_eth_driver_name(i);
	EXPECT_TRUE(EthLog::contains((list + ")").c_str())) << EthLog::all();
	EthLog::clear();
	EXPECT_EQ(tarn_eth_dev_create("ring:bogus=1", &p), -EINVAL);
	EXPECT_TRUE(EthLog::contains("unknown key 'bogus' for driver 'ring' (valid keys: name, "
	                             "mac, socket, peer, loop, bytes)"))
	    << EthLog::all();
	EthLog::clear();
	EXPECT_EQ(tarn_eth_dev_create("null:peer=x", &p), -EINVAL);
	EXPECT_TRUE(EthLog::contains("valid keys: name, mac, socket, size")) << EthLog::all();
	EXPECT_EQ(tarn_eth_dev_create("null:size=abc", &p), -EINVAL);
	EXPECT_EQ(tarn_eth_dev_create("null:size=13", &p), -EINVAL);
	EXPECT_EQ(tarn_eth_dev_create("null:size=-64", &p), -EINVAL);
	EXPECT_EQ(tarn_eth_dev_create("null:size=100000", &p), -EINVAL);
	EXPECT_EQ(tarn_eth_dev_create("ring:loop=2", &p), -EINVAL);
	EXPECT_EQ(tarn_eth_dev_create("ring:loop=yes", &p), -EINVAL);
	EXPECT_EQ(tarn_eth_dev_create("ring:bytes=2", &p), -EINVAL);
	EXPECT_EQ(tarn_eth_dev_create("null:mac=01:00:00:00:00:01", &p), -EINVAL);
	EXPECT_EQ(tarn_eth_dev_create("null:mac=00:00:00:00:00:00", &p), -EINVAL);
	EXPECT_EQ(tarn_eth_dev_create("null:mac=02:00:00:00:00", &p), -EINVAL);
	EXPECT_EQ(tarn_eth_dev_create("null:mac=02-00-00-00-00-01", &p), -EINVAL);
	EXPECT_EQ(tarn_eth_dev_create("null:mac=0g:00:00:00:00:01", &p), -EINVAL);
	EXPECT_EQ(tarn_eth_dev_create("null:socket=99", &p), -EINVAL);
	EXPECT_EQ(tarn_eth_dev_create("null:socket=x", &p), -EINVAL);
	EXPECT_EQ(
	    tarn_eth_dev_create(("null:name=" + std::string(TARN_NAME_SIZE, 'n')).c_str(), &p),
	    -EINVAL);
	EthLog::clear();
	EXPECT_EQ(tarn_eth_dev_create("ring:peer=nobody", &p), -ENOENT);
	EXPECT_TRUE(EthLog::contains("no ring port named 'nobody'")) << EthLog::all();
	EXPECT_EQ(tarn_eth_dev_create("ring:peer=a,loop=1", &p), -EINVAL);
	EXPECT_EQ(tarn_eth_dev_create("null", nullptr), -EINVAL);
	EXPECT_EQ(tarn_eth_dev_create(nullptr, &p), -EINVAL);
	EXPECT_EQ(p, 55);
	EXPECT_EQ(tarn_eth_dev_count(), 0u);
	EXPECT_EQ(ring_count(), rings);

	// Names are unique; a peer that is taken, or not a ring port, is refused.
	create("ring:name=a");
	create("null:name=n");
	EXPECT_EQ(tarn_eth_dev_create("null:name=a", &p), -EEXIST);
	EXPECT_EQ(tarn_eth_dev_create("ring:peer=n", &p), -ENOENT);
	create("ring:name=b,peer=a");
	EthLog::clear();
	EXPECT_EQ(tarn_eth_dev_create("ring:peer=a", &p), -EBUSY);
	EXPECT_TRUE(EthLog::contains("already cabled")) << EthLog::all();
	EXPECT_EQ(tarn_eth_dev_create("ring:peer=b", &p), -EBUSY);
	create("ring:name=l,loop=1");
	EXPECT_EQ(tarn_eth_dev_create("ring:peer=l", &p), -EBUSY);
	EXPECT_EQ(tarn_eth_dev_count(), 4u);
	EXPECT_EQ(p, 55);
}

TEST_F(EthCreate, AllPortIdsInUse)
{
	std::vector<uint16_t> ids;
	for (int i = 0; i < TARN_MAX_ETHPORTS; i++)
		ids.push_back(create("null"));
	uint16_t p = 5;
	EthLog::clear();
	EXPECT_EQ(tarn_eth_dev_create("null", &p), -ENOSPC);
	EXPECT_TRUE(EthLog::contains("all 32 ports are in use"));
	EXPECT_EQ(tarn_eth_dev_close(ids[7]), 0);
	EXPECT_EQ(create("null"), ids[7]);
}

// ---------------------------------------------------------------------------
// Lifecycle

TEST_F(EthLife, MisuseGivesErrorsNeverCrashes)
{
	Pool pool;
	struct tarn_mbuf *pkts[8];
	uint16_t p = create("ring:loop=1");

	// Bursts before start, on no port, on queues out of range: 0.
	EXPECT_EQ(tarn_eth_rx_burst(p, 0, pkts, 8), 0);
	EXPECT_EQ(tarn_eth_tx_burst(p, 0, pkts, 8), 0);
	EXPECT_EQ(tarn_eth_rx_burst(TARN_MAX_ETHPORTS, 0, pkts, 8), 0);
	EXPECT_EQ(tarn_eth_rx_burst(UINT16_MAX, 0, pkts, 8), 0);
	EXPECT_EQ(tarn_eth_tx_burst(UINT16_MAX, UINT16_MAX, pkts, 8), 0);

	// Not configured.
	EXPECT_EQ(tarn_eth_rx_queue_setup(p, 0, 0, TARN_SOCKET_ANY, pool.mp), -EINVAL);
	EXPECT_EQ(tarn_eth_tx_queue_setup(p, 0, 0, TARN_SOCKET_ANY), -EINVAL);
	EXPECT_EQ(tarn_eth_dev_start(p), -EINVAL);

	// configure: queue counts, MTU.
	EXPECT_EQ(tarn_eth_dev_configure(p, 0, 1, nullptr), -EINVAL);
	EXPECT_EQ(tarn_eth_dev_configure(p, 1, 0, nullptr), -EINVAL);
	EXPECT_EQ(tarn_eth_dev_configure(p, TARN_ETH_MAX_QUEUES + 1, 1, nullptr), -EINVAL);
	EXPECT_TRUE(EthLog::contains("1 to 16 RX"));
	struct tarn_eth_conf conf = {};
	conf.mtu = 10;
	EXPECT_EQ(tarn_eth_dev_configure(p, 1, 1, &conf), -EINVAL);
	conf.mtu = 9000;
	conf.promiscuous = 1;
	ASSERT_EQ(tarn_eth_dev_configure(p, 2, 2, &conf), 0);
	uint32_t mtu = 0;
	EXPECT_EQ(tarn_eth_dev_get_mtu(p, &mtu), 0);
	EXPECT_EQ(mtu, 9000u);
	EXPECT_EQ(tarn_eth_promiscuous_get(p), 1);

	// Queue setup errors.
	EXPECT_EQ(tarn_eth_rx_queue_setup(p, 2, 0, TARN_SOCKET_ANY, pool.mp), -EINVAL);
	EXPECT_EQ(tarn_eth_tx_queue_setup(p, 2, 0, TARN_SOCKET_ANY), -EINVAL);
	EXPECT_EQ(tarn_eth_tx_queue_setup(p, UINT16_MAX, 0, TARN_SOCKET_ANY), -EINVAL);
	EXPECT_EQ(tarn_eth_rx_queue_setup(p, 0, 0, TARN_SOCKET_ANY, nullptr), -EINVAL);
	EXPECT_EQ(tarn_eth_rx_queue_setup(p, 0, TARN_ETH_MAX_DESC + 1, TARN_SOCKET_ANY, pool.mp),
	          -EINVAL);
	EXPECT_EQ(tarn_eth_tx_queue_setup(p, 0, 0, 99), -EINVAL);
	EXPECT_EQ(tarn_eth_tx_queue_setup(p, 0, 0, -7), -EINVAL);

	// Start with queues missing names the first one.
	ASSERT_EQ(tarn_eth_rx_queue_setup(p, 0, 64, TARN_SOCKET_ANY, pool.mp), 0);
	EthLog::clear();
	EXPECT_EQ(tarn_eth_dev_start(p), -EINVAL);
	EXPECT_TRUE(EthLog::contains("RX queue 1 is not set up")) << EthLog::all();
	ASSERT_EQ(tarn_eth_rx_queue_setup(p, 1, 64, TARN_SOCKET_ANY, pool.mp), 0);
	ASSERT_EQ(tarn_eth_tx_queue_setup(p, 0, 64, TARN_SOCKET_ANY), 0);
	EXPECT_EQ(tarn_eth_dev_start(p), -EINVAL);
	EXPECT_TRUE(EthLog::contains("TX queue 1 is not set up"));
	// Setting a queue up twice replaces it.
	ASSERT_EQ(tarn_eth_tx_queue_setup(p, 1, 64, TARN_SOCKET_ANY), 0);
	ASSERT_EQ(tarn_eth_tx_queue_setup(p, 1, 64, TARN_SOCKET_ANY), 0);
	ASSERT_EQ(tarn_eth_dev_start(p), 0);
	EXPECT_EQ(tarn_eth_dev_start(p), -EALREADY);

	// Started: setup and configure are refused; the MTU may change.
	EXPECT_EQ(tarn_eth_rx_queue_setup(p, 0, 64, TARN_SOCKET_ANY, pool.mp), -EBUSY);
	EXPECT_EQ(tarn_eth_tx_queue_setup(p, 0, 64, TARN_SOCKET_ANY), -EBUSY);
	EXPECT_EQ(tarn_eth_dev_configure(p, 1, 1, nullptr), -EBUSY);
	EXPECT_EQ(tarn_eth_dev_set_mtu(p, 1500), 0);
	// Queue ids past those configured return 0.
	EXPECT_EQ(tarn_eth_rx_burst(p, 2, pkts, 8), 0);
	EXPECT_EQ(tarn_eth_tx_burst(p, 2, pkts, 8), 0);
	EXPECT_EQ(tarn_eth_rx_burst(p, TARN_ETH_MAX_QUEUES, pkts, 8), 0);

	// Traffic while started, then stop: bursts return 0, packets stay queued.
	auto v = make_pkts(pool.mp, 4, 60);
	EXPECT_EQ(tarn_eth_tx_burst(p, 1, v.data(), 4), 4);
	EXPECT_EQ(tarn_eth_dev_stop(p), 0);
	EXPECT_EQ(tarn_eth_dev_stop(p), 0);
	EXPECT_EQ(tarn_eth_rx_burst(p, 1, pkts, 8), 0);
	ASSERT_EQ(tarn_eth_dev_start(p), 0);
	EXPECT_EQ(tarn_eth_rx_burst(p, 1, pkts, 8), 4);
	free_pkts(pkts, 4);

	// Reconfigure after stop: queues must be set up again.
	EXPECT_EQ(tarn_eth_dev_stop(p), 0);
	ASSERT_EQ(tarn_eth_dev_configure(p, 1, 1, nullptr), 0);
	EXPECT_EQ(tarn_eth_dev_start(p), -EINVAL);

	// Close, close again, use after close.
	EXPECT_EQ(tarn_eth_dev_close(p), 0);
	EthLog::clear();
	EXPECT_EQ(tarn_eth_dev_close(p), -ENODEV);
	EXPECT_TRUE(EthLog::contains("does not exist"));
	EXPECT_EQ(tarn_eth_dev_start(p), -ENODEV);
	EXPECT_EQ(tarn_eth_dev_stop(p), -ENODEV);
	EXPECT_EQ(tarn_eth_dev_configure(p, 1, 1, nullptr), -ENODEV);
	EXPECT_EQ(tarn_eth_rx_queue_setup(p, 0, 0, TARN_SOCKET_ANY, pool.mp), -ENODEV);
	EXPECT_EQ(tarn_eth_tx_queue_setup(p, 0, 0, TARN_SOCKET_ANY), -ENODEV);
	EXPECT_EQ(tarn_eth_rx_burst(p, 0, pkts, 8), 0);
	EXPECT_FALSE(tarn_eth_dev_is_valid_port(p));
	EXPECT_EQ(tarn_eth_dev_close(TARN_MAX_ETHPORTS), -ENODEV);
	EXPECT_EQ(tarn_eth_dev_close(UINT16_MAX), -ENODEV);
}

TEST_F(EthLife, CloseWhileStartedStopsAndFreesQueuedPackets)
{
	Pool pool;
	uint16_t p = create("ring:loop=1");
	bring_up(p, pool.mp, 2);
	auto v = make_pkts(pool.mp, 10, 60);
	EXPECT_EQ(tarn_eth_tx_burst(p, 0, v.data(), 5), 5);
	EXPECT_EQ(tarn_eth_tx_burst(p, 1, v.data() + 5, 5), 5);
	EXPECT_EQ(pool.in_use(), 10u);
	EXPECT_EQ(tarn_eth_dev_close(p), 0);
	EXPECT_EQ(pool.in_use(), 0u);
}

// ---------------------------------------------------------------------------
// Information

TEST_F(EthInfo, LinkMacPromiscMtu)
{
	Pool pool;
	uint16_t p = create("null");
	struct tarn_eth_link link;
	ASSERT_EQ(tarn_eth_link_get(p, &link), 0);
	EXPECT_EQ(link.up, 0);
	EXPECT_EQ(link.speed_mbps, 0u);
	bring_up(p, pool.mp);
	ASSERT_EQ(tarn_eth_link_get(p, &link), 0);
	EXPECT_EQ(link.up, 1);
	EXPECT_EQ(link.speed_mbps, 10000u);
	EXPECT_EQ(link.full_duplex, 1);
	EXPECT_EQ(tarn_eth_link_get(p, nullptr), -EINVAL);
	EXPECT_EQ(tarn_eth_link_get(40, &link), -ENODEV);

	struct tarn_ether_addr mac, bad;
	ASSERT_EQ(tarn_ether_parse_addr("02:aB:cd:EF:01:23", &mac), 0);
	EXPECT_EQ(tarn_eth_macaddr_set(p, &mac), 0);
	struct tarn_ether_addr got;
	ASSERT_EQ(tarn_eth_macaddr_get(p, &got), 0);
	EXPECT_EQ(memcmp(&got, &mac, sizeof(mac)), 0);
	ASSERT_EQ(tarn_ether_parse_addr("03:00:00:00:00:01", &bad), 0);
	EXPECT_EQ(tarn_eth_macaddr_set(p, &bad), -EINVAL);
	memset(&bad, 0, sizeof(bad));
	EXPECT_EQ(tarn_eth_macaddr_set(p, &bad), -EINVAL);
	EXPECT_EQ(tarn_eth_macaddr_set(p, nullptr), -EINVAL);
	EXPECT_EQ(tarn_eth_macaddr_get(p, nullptr), -EINVAL);
	EXPECT_EQ(tarn_eth_macaddr_set(41, &mac), -ENODEV);
	char buf[18];
	EXPECT_EQ(tarn_ether_format_addr(buf, 17, &mac), nullptr);
	EXPECT_EQ(tarn_ether_format_addr(nullptr, 18, &mac), nullptr);
	EXPECT_EQ(tarn_ether_parse_addr("02:00:00:00:00:0", &mac), -EINVAL);
	EXPECT_EQ(tarn_ether_parse_addr(nullptr, &mac), -EINVAL);

	EXPECT_EQ(tarn_eth_promiscuous_get(p), 0);
	EXPECT_EQ(tarn_eth_promiscuous_enable(p), 0);
	EXPECT_EQ(tarn_eth_promiscuous_get(p), 1);
	EXPECT_EQ(tarn_eth_promiscuous_disable(p), 0);
	EXPECT_EQ(tarn_eth_promiscuous_get(p), 0);
	EXPECT_EQ(tarn_eth_promiscuous_get(42), -ENODEV);
	EXPECT_EQ(tarn_eth_promiscuous_enable(42), -ENODEV);

	EXPECT_EQ(tarn_eth_dev_set_mtu(p, TARN_ETH_MIN_MTU - 1), -EINVAL);
	EXPECT_EQ(tarn_eth_dev_set_mtu(p, TARN_ETH_MAX_MTU + 1), -EINVAL);
	EXPECT_EQ(tarn_eth_dev_set_mtu(p, 1280), 0);
	uint32_t mtu;
	EXPECT_EQ(tarn_eth_dev_get_mtu(p, &mtu), 0);
	EXPECT_EQ(mtu, 1280u);
	EXPECT_EQ(tarn_eth_dev_get_mtu(p, nullptr), -EINVAL);

	struct tarn_eth_dev_info info;
	ASSERT_EQ(tarn_eth_dev_info_get(p, &info), 0);
	EXPECT_EQ(info.state, TARN_ETH_STATE_STARTED);
	EXPECT_EQ(info.nb_rx_queues, 1);
	EXPECT_EQ(info.mtu, 1280u);
	EXPECT_EQ(tarn_eth_dev_info_get(p, nullptr), -EINVAL);
	EXPECT_EQ(tarn_eth_dev_info_get(43, &info), -ENODEV);
	uint16_t id;
	EXPECT_EQ(tarn_eth_dev_get_by_name("nope", &id), -ENOENT);
	EXPECT_EQ(tarn_eth_dev_get_by_name(nullptr, &id), -EINVAL);
	EXPECT_EQ(tarn_eth_dev_socket_id(44), -ENODEV);

	char *text = nullptr;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	tarn_eth_dev_dump(f);
	fclose(f);
	EXPECT_NE(std::string(text).find("null0"), std::string::npos) << text;
	EXPECT_NE(std::string(text).find("started"), std::string::npos) << text;
	free(text);
}

// ---------------------------------------------------------------------------
// Ring driver

TEST_F(EthRing, LoopbackKeepsOrder)
{
	Pool pool;
	uint16_t p = create("ring:loop=1");
	bring_up(p, pool.mp);
	auto v = make_pkts(pool.mp, 20, 100);
	EXPECT_EQ(tarn_eth_tx_burst(p, 0, v.data(), 20), 20);
	struct tarn_mbuf *rx[32];
	EXPECT_EQ(tarn_eth_rx_burst(p, 0, rx, 7), 7);
	EXPECT_EQ(tarn_eth_rx_burst(p, 0, rx + 7, 32), 13);
	for (int i = 0; i < 20; i++)
		EXPECT_EQ(rx[i], v[i]);
	EXPECT_EQ(tarn_eth_rx_burst(p, 0, rx, 32), 0);
	free_pkts(rx, 20);
}

TEST_F(EthRing, CabledPairCrossesOver)
{
	Pool pool;
	uint16_t a = create("ring:name=a");
	uint16_t b = create("ring:name=b,peer=a");
	bring_up(a, pool.mp);
	bring_up(b, pool.mp);
	auto va = make_pkts(pool.mp, 8, 64, 0xa);
	auto vb = make_pkts(pool.mp, 5, 64, 0xb);
	EXPECT_EQ(tarn_eth_tx_burst(a, 0, va.data(), 8), 8);
	EXPECT_EQ(tarn_eth_tx_burst(b, 0, vb.data(), 5), 5);
	struct tarn_mbuf *rx[16];
	// Nothing comes back to the sender.
	ASSERT_EQ(tarn_eth_rx_burst(b, 0, rx, 16), 8);
	for (int i = 0; i < 8; i++)
		EXPECT_EQ(tarn_pktmbuf_mtod(rx[i], uint8_t *)[0], 0xa);
	free_pkts(rx, 8);
	ASSERT_EQ(tarn_eth_rx_burst(a, 0, rx, 16), 5);
	for (int i = 0; i < 5; i++)
		EXPECT_EQ(tarn_pktmbuf_mtod(rx[i], uint8_t *)[0], 0xb);
	free_pkts(rx, 5);
	EXPECT_EQ(tarn_eth_rx_burst(a, 0, rx, 16), 0);
	EXPECT_EQ(tarn_eth_rx_burst(b, 0, rx, 16), 0);
}

TEST_F(EthRing, LatePeerGetsWhatWaited)
{
	Pool pool;
	uint16_t a = create("ring:name=early");
	bring_up(a, pool.mp);
	auto v = make_pkts(pool.mp, 3, 64);
	// No peer yet: the packets wait in the cable, a receives nothing.
	EXPECT_EQ(tarn_eth_tx_burst(a, 0, v.data(), 3), 3);
	struct tarn_mbuf *rx[8];
	EXPECT_EQ(tarn_eth_rx_burst(a, 0, rx, 8), 0);
	uint16_t b = create("ring:name=late,peer=early");
	bring_up(b, pool.mp);
	ASSERT_EQ(tarn_eth_rx_burst(b, 0, rx, 8), 3);
	EXPECT_EQ(rx[0], v[0]);
	free_pkts(rx, 3);
}

TEST_F(EthRing, PortClosedFirstLeavesItsPacketsForThePeer)
{
	Pool pool;
	const unsigned rings = ring_count();
	uint16_t a = create("ring:name=a");
	uint16_t b = create("ring:name=b,peer=a");
	bring_up(a, pool.mp);
	bring_up(b, pool.mp);
	auto v = make_pkts(pool.mp, 6, 64);
	EXPECT_EQ(tarn_eth_tx_burst(a, 0, v.data(), 3), 3);
	EXPECT_EQ(tarn_eth_tx_burst(b, 0, v.data() + 3, 3), 3);
	// Closing a frees what waited for a; what a sent waits for b.
	EXPECT_EQ(tarn_eth_dev_close(a), 0);
	EXPECT_EQ(pool.in_use(), 3u);
	struct tarn_mbuf *rx[8];
	ASSERT_EQ(tarn_eth_rx_burst(b, 0, rx, 8), 3);
	free_pkts(rx, 3);
	// A new port may take the free end.
	uint16_t c = create("ring:name=c,peer=b");
	bring_up(c, pool.mp);
	auto w = make_pkts(pool.mp, 2, 64);
	EXPECT_EQ(tarn_eth_tx_burst(c, 0, w.data(), 2), 2);
	ASSERT_EQ(tarn_eth_rx_burst(b, 0, rx, 8), 2);
	free_pkts(rx, 2);
	EXPECT_EQ(tarn_eth_dev_close(b), 0);
	EXPECT_EQ(tarn_eth_dev_close(c), 0);
	EXPECT_EQ(ring_count(), rings);
	EXPECT_EQ(pool.in_use(), 0u);
}

TEST_F(EthRing, MultiQueueMapsQueueToQueue)
{
	Pool pool;
	const uint16_t nq = 4;
	uint16_t a = create("ring:name=a");
	uint16_t b = create("ring:name=b,peer=a");
	bring_up(a, pool.mp, nq);
	bring_up(b, pool.mp, nq);
	for (uint16_t q = 0; q < nq; q++) {
		auto v = make_pkts(pool.mp, q + 1u, 64, (uint8_t)(0x10 + q));
		EXPECT_EQ(tarn_eth_tx_burst(a, q, v.data(), (uint16_t)(q + 1)), q + 1);
	}
	struct tarn_mbuf *rx[16];
	for (uint16_t q = 0; q < nq; q++) {
		uint16_t n = tarn_eth_rx_burst(b, q, rx, 16);
		EXPECT_EQ(n, q + 1);
		for (uint16_t i = 0; i < n; i++)
			EXPECT_EQ(tarn_pktmbuf_mtod(rx[i], uint8_t *)[0], 0x10 + q);
		free_pkts(rx, n);
		struct tarn_eth_queue_stats qs;
		ASSERT_EQ(tarn_eth_tx_queue_stats_get(a, q, &qs), 0);
		EXPECT_EQ(qs.packets, q + 1u);
		ASSERT_EQ(tarn_eth_rx_queue_stats_get(b, q, &qs), 0);
		EXPECT_EQ(qs.packets, q + 1u);
		EXPECT_EQ(qs.bytes, 64u * (q + 1));
	}
	EXPECT_EQ(tarn_eth_rx_burst(a, 0, rx, 16), 0);
}

TEST_F(EthRing, FullRingTakesWhatFitsAndCountsTheRest)
{
	Pool pool;
	uint16_t a = create("ring:name=a");
	uint16_t b = create("ring:name=b,peer=a");
	bring_up(a, pool.mp, 1, 64); // a's TX ring holds 64
	bring_up(b, pool.mp, 1, 64);
	auto v = make_pkts(pool.mp, 100, 60);
	EXPECT_EQ(tarn_eth_tx_burst(a, 0, v.data(), 100), 64);
	EXPECT_EQ(tarn_eth_tx_burst(a, 0, v.data() + 64, 36), 0);
	struct tarn_eth_stats st;
	ASSERT_EQ(tarn_eth_stats_get(a, &st), 0);
	EXPECT_EQ(st.opackets, 64u);
	EXPECT_EQ(st.obytes, 64u * 60);
	EXPECT_EQ(st.oerrors, 36u + 36u);
	// The caller kept the rest.
	free_pkts(v.data() + 64, 36);
	struct tarn_mbuf *rx[128];
	EXPECT_EQ(tarn_eth_rx_burst(b, 0, rx, 128), 64);
	free_pkts(rx, 64);
}

TEST_F(EthRing, BytesZeroCountsPacketsOnly)
{
	Pool pool;
	uint16_t p = create("ring:loop=1,bytes=0");
	bring_up(p, pool.mp);
	auto v = make_pkts(pool.mp, 5, 100);
	EXPECT_EQ(tarn_eth_tx_burst(p, 0, v.data(), 5), 5);
	struct tarn_mbuf *rx[8];
	EXPECT_EQ(tarn_eth_rx_burst(p, 0, rx, 8), 5);
	free_pkts(rx, 5);
	struct tarn_eth_stats st;
	ASSERT_EQ(tarn_eth_stats_get(p, &st), 0);
	EXPECT_EQ(st.ipackets, 5u);
	EXPECT_EQ(st.opackets, 5u);
	EXPECT_EQ(st.ibytes, 0u);
	EXPECT_EQ(st.obytes, 0u);
}

TEST_F(EthRing, ReconfigureFreesWaitingPackets)
{
	Pool pool;
	uint16_t p = create("ring:loop=1");
	bring_up(p, pool.mp);
	auto v = make_pkts(pool.mp, 9, 60);
	EXPECT_EQ(tarn_eth_tx_burst(p, 0, v.data(), 9), 9);
	ASSERT_EQ(tarn_eth_dev_stop(p), 0);
	ASSERT_EQ(tarn_eth_dev_configure(p, 1, 1, nullptr), 0);
	EXPECT_EQ(pool.in_use(), 0u);
}

// ---------------------------------------------------------------------------
// Null driver

TEST_F(EthNull, RxMakesValidPacketsTxFreesThem)
{
	Pool pool(256);
	uint16_t p = create("null:size=128,mac=02:00:00:00:00:aa");
	bring_up(p, pool.mp);
	struct tarn_mbuf *rx[32];
	ASSERT_EQ(tarn_eth_rx_burst(p, 0, rx, 32), 32);
	for (int i = 0; i < 32; i++) {
		struct tarn_mbuf *m = rx[i];
		ASSERT_EQ(m->pkt_len, 128u);
		ASSERT_EQ(m->data_len, 128);
		EXPECT_EQ(m->port, p);
		EXPECT_EQ(tarn_mbuf_check(m, 1, nullptr), 0);
		const uint8_t *d = tarn_pktmbuf_mtod(m, const uint8_t *);
		EXPECT_EQ(d[0], 0x02);
		EXPECT_EQ(d[5], 0xaa);
		EXPECT_EQ(d[12], 0x08); // IPv4
		EXPECT_EQ(d[13], 0x00);
		EXPECT_EQ(d[14], 0x45);
		EXPECT_EQ((d[16] << 8 | d[17]), 128 - 14); // IP total length
		EXPECT_EQ(d[23], 17);                      // UDP
		// IP header checksum verifies
		uint32_t sum = 0;
		for (int k = 0; k < 20; k += 2)
			sum += (uint32_t)(d[14 + k] << 8 | d[15 + k]);
		while (sum >> 16)
			sum = (sum & 0xffff) + (sum >> 16);
		EXPECT_EQ(sum, 0xffffu);
	}
	EXPECT_EQ(pool.in_use(), 32u);
	EXPECT_EQ(tarn_eth_tx_burst(p, 0, rx, 32), 32);
	EXPECT_EQ(pool.in_use(), 0u);
	struct tarn_eth_stats st;
	ASSERT_EQ(tarn_eth_stats_get(p, &st), 0);
	EXPECT_EQ(st.ipackets, 32u);
	EXPECT_EQ(st.ibytes, 32u * 128);
	EXPECT_EQ(st.opackets, 32u);
	EXPECT_EQ(st.obytes, 32u * 128);
	EXPECT_EQ(st.rx_nombuf, 0u);
	EXPECT_EQ(st.oerrors, 0u);
}

// size=14: the Ethernet header only (the port's MAC, the fixed source, IPv4's
// type), and not one byte of the buffer beyond it written.
TEST_F(EthNull, SmallSizeWritesOnlyWhatFits)
{
	Pool pool(64);
	// Mark every byte of every buffer, so a write past 14 bytes shows.
	{
		struct tarn_mbuf *all[64];
		ASSERT_EQ(tarn_pktmbuf_alloc_bulk(pool.mp, all, 64), 0);
		for (auto *m : all)
			memset(m->buf_addr, 0xa5, m->buf_len);
		free_pkts(all, 64);
	}
	uint16_t p = create("null:size=14");
	bring_up(p, pool.mp);
	struct tarn_ether_addr mac;
	ASSERT_EQ(tarn_eth_macaddr_get(p, &mac), 0);
	const uint8_t want[14] = { mac.addr_bytes[0],
		                   mac.addr_bytes[1],
		                   mac.addr_bytes[2],
		                   mac.addr_bytes[3],
		                   mac.addr_bytes[4],
		                   mac.addr_bytes[5],
		                   0x02,
		                   0,
		                   0,
		                   0,
		                   0,
		                   0x01,
		                   0x08,
		                   0x00 };
	struct tarn_mbuf *rx[4];
	ASSERT_EQ(tarn_eth_rx_burst(p, 0, rx, 4), 4);
	for (auto *m : rx) {
		EXPECT_EQ(m->pkt_len, 14u);
		EXPECT_EQ(m->data_len, 14u);
		const uint8_t *d = tarn_pktmbuf_mtod(m, const uint8_t *);
		EXPECT_EQ(memcmp(d, want, sizeof(want)), 0) << "the Ethernet header";
		const uint8_t *b = static_cast<const uint8_t *>(m->buf_addr);
		size_t written = 0;
		for (size_t i = 0; i < m->buf_len; i++)
			if (b[i] != 0xa5 && (b + i < d || b + i >= d + 14))
				written++;
		EXPECT_EQ(written, 0u) << "bytes of the buffer outside the 14-byte frame changed";
	}
	free_pkts(rx, 4);
}

TEST_F(EthNull, RxNombufWhenThePoolIsEmpty)
{
	Pool pool(40);
	uint16_t p = create("null");
	bring_up(p, pool.mp);
	struct tarn_mbuf *rx[64];
	ASSERT_EQ(tarn_eth_rx_burst(p, 0, rx, 32), 32);
	ASSERT_EQ(tarn_eth_rx_burst(p, 0, rx + 32, 32), 8); // what was left
	EXPECT_EQ(tarn_eth_rx_burst(p, 0, rx + 40, 16), 0);
	struct tarn_eth_stats st;
	ASSERT_EQ(tarn_eth_stats_get(p, &st), 0);
	EXPECT_EQ(st.ipackets, 40u);
	EXPECT_EQ(st.rx_nombuf, 24u + 16u);
	struct tarn_eth_queue_stats qs;
	ASSERT_EQ(tarn_eth_rx_queue_stats_get(p, 0, &qs), 0);
	EXPECT_EQ(qs.nombuf, 40u);
	EXPECT_EQ(tarn_eth_tx_burst(p, 0, rx, 40), 40);
	ASSERT_EQ(tarn_eth_rx_burst(p, 0, rx, 32), 32);
	free_pkts(rx, 32);
}

TEST_F(EthNull, PoolMustFitThePackets)
{
	Pool small(16, 0, 256); // 128 bytes after the headroom
	uint16_t p = create("null:size=200");
	ASSERT_EQ(tarn_eth_dev_configure(p, 1, 1, nullptr), 0);
	EthLog::clear();
	EXPECT_EQ(tarn_eth_rx_queue_setup(p, 0, 0, TARN_SOCKET_ANY, small.mp), -EINVAL);
	EXPECT_TRUE(EthLog::contains("does not fit")) << EthLog::all();
	// A pool that is not an mbuf pool.
	struct tarn_mempool *raw =
	    tarn_mempool_create("eth_raw", 16, 2048, 0, 0, nullptr, nullptr, TARN_SOCKET_ANY, 0);
	ASSERT_NE(raw, nullptr);
	EXPECT_EQ(tarn_eth_rx_queue_setup(p, 0, 0, TARN_SOCKET_ANY, raw), -EINVAL);
	EXPECT_EQ(tarn_mempool_free(raw, 0), 0);
}

// ---------------------------------------------------------------------------
// Statistics

TEST_F(EthStats, ExactPerQueueAndReset)
{
	Pool pool;
	uint16_t p = create("ring:loop=1");
	bring_up(p, pool.mp, 2);
	auto v = make_pkts(pool.mp, 10, 100);
	EXPECT_EQ(tarn_eth_tx_burst(p, 0, v.data(), 6), 6);
	EXPECT_EQ(tarn_eth_tx_burst(p, 1, v.data() + 6, 4), 4);
	struct tarn_mbuf *rx[16];
	EXPECT_EQ(tarn_eth_rx_burst(p, 0, rx, 16), 6);
	EXPECT_EQ(tarn_eth_rx_burst(p, 1, rx + 6, 16), 4);

	struct tarn_eth_stats st;
	ASSERT_EQ(tarn_eth_stats_get(p, &st), 0);
	EXPECT_EQ(st.ipackets, 10u);
	EXPECT_EQ(st.opackets, 10u);
	EXPECT_EQ(st.ibytes, 1000u);
	EXPECT_EQ(st.obytes, 1000u);
	EXPECT_EQ(st.ierrors + st.oerrors + st.imissed + st.rx_nombuf, 0u);
	struct tarn_eth_queue_stats q0, q1;
	ASSERT_EQ(tarn_eth_rx_queue_stats_get(p, 0, &q0), 0);
	ASSERT_EQ(tarn_eth_rx_queue_stats_get(p, 1, &q1), 0);
	EXPECT_EQ(q0.packets, 6u);
	EXPECT_EQ(q1.packets, 4u);
	EXPECT_EQ(q1.bytes, 400u);
	ASSERT_EQ(tarn_eth_tx_queue_stats_get(p, 1, &q1), 0);
	EXPECT_EQ(q1.packets, 4u);
	ASSERT_EQ(tarn_eth_rx_queue_stats_get(p, 15, &q1), 0);
	EXPECT_EQ(q1.packets, 0u);
	EXPECT_EQ(tarn_eth_rx_queue_stats_get(p, 16, &q1), -EINVAL);
	EXPECT_EQ(tarn_eth_rx_queue_stats_get(p, 0, nullptr), -EINVAL);
	EXPECT_EQ(tarn_eth_tx_queue_stats_get(45, 0, &q1), -ENODEV);
	EXPECT_EQ(tarn_eth_stats_get(p, nullptr), -EINVAL);
	EXPECT_EQ(tarn_eth_stats_get(46, &st), -ENODEV);

	ASSERT_EQ(tarn_eth_stats_reset(p), 0);
	ASSERT_EQ(tarn_eth_stats_get(p, &st), 0);
	EXPECT_EQ(st.ipackets + st.opackets + st.ibytes + st.obytes, 0u);
	ASSERT_EQ(tarn_eth_rx_queue_stats_get(p, 0, &q0), 0);
	EXPECT_EQ(q0.packets, 0u);
	EXPECT_EQ(tarn_eth_stats_reset(47), -ENODEV);

	// Counting goes on from the new zero.
	EXPECT_EQ(tarn_eth_tx_burst(p, 0, rx, 3), 3);
	ASSERT_EQ(tarn_eth_stats_get(p, &st), 0);
	EXPECT_EQ(st.opackets, 3u);
	EXPECT_EQ(st.obytes, 300u);
	EXPECT_EQ(st.ipackets, 0u);
	EXPECT_EQ(tarn_eth_rx_burst(p, 0, rx, 16), 3);
	free_pkts(rx, 10);
}

// tarn_eth_xstats_get(): DPDK's names and order, the counts of
// tarn_eth_stats_get(), truncation and errors (ring has no driver xstats).
TEST_F(EthStats, ExtendedStatisticsInDpdkNames)
{
	Pool pool;
	uint16_t p = create("ring:loop=1");
	bring_up(p, pool.mp, 2);
	auto v = make_pkts(pool.mp, 5, 100);
	EXPECT_EQ(tarn_eth_tx_burst(p, 1, v.data(), 5), 5);
	struct tarn_mbuf *rx[8];
	EXPECT_EQ(tarn_eth_rx_burst(p, 1, rx, 8), 5);
	int n = tarn_eth_xstats_get(p, nullptr, 0);
	ASSERT_EQ(n, 8 + 2 * (3 + 2 + 2)); // totals, then per queue
	std::vector<struct tarn_eth_xstat> xs((size_t)n);
	ASSERT_EQ(tarn_eth_xstats_get(p, xs.data(), (unsigned)n), n);
	EXPECT_STREQ(xs[0].name, "rx_good_packets");
	EXPECT_EQ(xs[0].value, 5u);
	EXPECT_STREQ(xs[3].name, "tx_good_bytes");
	EXPECT_EQ(xs[3].value, 500u);
	EXPECT_STREQ(xs[7].name, "rx_mbuf_allocation_errors");
	EXPECT_STREQ(xs[11].name, "rx_q1_packets");
	EXPECT_EQ(xs[11].value, 5u);
	EXPECT_STREQ(xs[n - 1].name, "rx_q1_mbuf_allocation_errors");
	struct tarn_eth_xstat one[2];
	memset(one, 0x5a, sizeof(one));
	EXPECT_EQ(tarn_eth_xstats_get(p, one, 1), n) << "the count, with only one written";
	EXPECT_STREQ(one[0].name, "rx_good_packets");
	EXPECT_EQ((unsigned char)one[1].name[0], 0x5a);
	EXPECT_EQ(tarn_eth_xstats_get(p, nullptr, 1), -EINVAL);
	EXPECT_EQ(tarn_eth_xstats_get(44, one, 2), -ENODEV);
	ASSERT_EQ(tarn_eth_stats_reset(p), 0);
	ASSERT_EQ(tarn_eth_xstats_get(p, xs.data(), (unsigned)n), n);
	EXPECT_EQ(xs[0].value, 0u);
	free_pkts(rx, 5);
}

// ---------------------------------------------------------------------------
// Threads: a sender, a receiver and a statistics reader at once.

TEST_F(EthThreads, PairUnderLoadCountsEveryPacket)
{
	Pool pool(2048, 32);
	uint16_t a = create("ring:name=a");
	uint16_t b = create("ring:name=b,peer=a");
	bring_up(a, pool.mp, 1, 256);
	bring_up(b, pool.mp, 1, 256);
	const uint64_t total = 200000;
	std::atomic<bool> done{ false };
	uint64_t sent = 0, refused = 0, got = 0;

	std::thread tx([&] {
		struct tarn_mbuf *pkts[32];
		while (sent < total) {
			unsigned n = total - sent < 32 ? (unsigned)(total - sent) : 32;
			if (tarn_pktmbuf_alloc_bulk(pool.mp, pkts, n) != 0) {
				std::this_thread::yield();
				continue;
			}
			for (unsigned i = 0; i < n; i++)
				tarn_pktmbuf_append(pkts[i], 60);
			uint16_t k = tarn_eth_tx_burst(a, 0, pkts, (uint16_t)n);
			free_pkts(pkts + k, n - k);
			sent += k;
			refused += n - k;
			if (k == 0)
				std::this_thread::yield();
		}
		tarn_mempool_cache_flush(pool.mp, TARN_MEMPOOL_FLUSH_SELF);
	});
	std::thread rx([&] {
		struct tarn_mbuf *pkts[32];
		while (got < total) {
			uint16_t n = tarn_eth_rx_burst(b, 0, pkts, 32);
			for (uint16_t i = 0; i < n; i++)
				EXPECT_EQ(pkts[i]->pkt_len, 60u);
			free_pkts(pkts, n);
			got += n;
			if (n == 0)
				std::this_thread::yield();
		}
		tarn_mempool_cache_flush(pool.mp, TARN_MEMPOOL_FLUSH_SELF);
	});
	std::thread reader([&] {
		uint64_t prev = 0;
		while (!done.load()) {
			struct tarn_eth_stats st;
			ASSERT_EQ(tarn_eth_stats_get(b, &st), 0);
			EXPECT_GE(st.ipackets, prev);
			prev = st.ipackets;
			std::this_thread::yield();
		}
	});
	tx.join();
	rx.join();
	done = true;
	reader.join();
	EXPECT_EQ(got, total);
	struct tarn_eth_stats sa, sb;
	ASSERT_EQ(tarn_eth_stats_get(a, &sa), 0);
	ASSERT_EQ(tarn_eth_stats_get(b, &sb), 0);
	EXPECT_EQ(sa.opackets, total);
	EXPECT_EQ(sa.obytes, total * 60);
	EXPECT_EQ(sa.oerrors, refused);
	EXPECT_EQ(sb.ipackets, total);
	EXPECT_EQ(sb.ibytes, total * 60);
}

} // namespace
