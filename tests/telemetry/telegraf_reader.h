// SPDX-License-Identifier: BSD-3-Clause
// A telemetry reader shaped after Telegraf's dpdk input plugin
// (plugins/inputs/dpdk in influxdata/telegraf: its README and its code), for
// the tests: it reads a socket the way that plugin does and fails where the
// plugin would drop a command or a whole gather.
//
// What the plugin expects, and what this reader checks:
//  - the socket is a SOCK_SEQPACKET UNIX socket (Go's "unixpacket");
//  - on connect, one message of at most 1024 bytes, a JSON object with
//    "version" (a string), "pid" (a number) and "max_output_len" (a number
//    above 0);
//  - each request is written as one message, the command and ",<params>";
//    the reply is read with one read into a buffer of max_output_len bytes,
//    within socket_access_timeout (200 ms by default: a slower reply is an
//    error and the connection is dropped);
//  - "/ethdev/list" answers {"/ethdev/list": [ints]} (unmarshalled into
//    []int64: a non-integer fails the gather);
//  - for every port id, "/ethdev/stats", "/ethdev/xstats", "/ethdev/info"
//    and "/ethdev/link_status" with ",<id>" answer {"<command>": value}
//    where value is not null (a null value is dropped with "got empty
//    json"); the value is flattened the way Telegraf's JSON flattener does
//    (object keys joined with '_', array elements by index, numbers as
//    float64, strings and bools kept, null skipped, any other type an error);
//  - "/ethdev/link_status"'s "status" field is "UP" or "DOWN" (any case);
//    the plugin adds status_i (1 or 0).
// The metric gets the tags command and params, and the fields pid and
// version from the first message.
#ifndef TARN_TELEGRAF_READER_H
#define TARN_TELEGRAF_READER_H

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cctype>
#include <cstring>
#include <map>
#include <string>
#include <variant>
#include <vector>

extern "C" {
#include "json.h"
}

namespace telegraf
{

// A field value: Telegraf keeps numbers as float64, strings and bools.
using Field = std::variant<double, std::string, bool>;

struct Metric {
	std::string command, params;
	std::map<std::string, Field> fields;
};

struct Gather {
	std::vector<Metric> metrics;
	std::vector<std::string> errors; // what Telegraf would log or return
	std::string version;
	double pid = 0;
	double max_ms = 0; // slowest reply
};

// Telegraf's JSONFlattener.FullFlattenJSON(prefix, v, true, true).
inline bool flatten(const std::string &name, const jval *v, std::map<std::string, Field> &out,
                    std::string &err)
{
	switch (v->type) {
	case J_OBJ:
		for (const jval *e = v->child; e != nullptr; e = e->next)
			if (!flatten(name.empty() ? e->key : name + "_" + e->key, e, out, err))
				return false;
		return true;
	case J_ARR: {
		unsigned i = 0;
		for (const jval *e = v->child; e != nullptr; e = e->next, i++) {
			const std::string k = std::to_string(i);
			if (!flatten(name.empty() ? k : name + "_" + k, e, out, err))
				return false;
		}
		return true;
	}
	case J_NUM:
		out[name] = v->num;
		return true;
	case J_STR:
		out[name] = std::string(v->str);
		return true;
	case J_BOOL:
		out[name] = v->boolean != 0;
		return true;
	case J_NULL:
		return true;
	}
	err = "unexpected type";
	return false;
}

class Reader
{
      public:
	explicit Reader(std::string path, int timeout_ms = 200)
	    : path_(std::move(path)), timeout_ms_(timeout_ms)
	{
	}
	~Reader()
	{
		if (fd_ >= 0)
			close(fd_);
	}

	// One Gather() of the plugin with device_types = ["ethdev"].
	Gather gather()
	{
		Gather g;
		if (!connect_(g))
			return g;
		std::string list;
		if (!ask("/ethdev/list", list, g)) {
			g.errors.push_back("error occurred during fetching of /ethdev/list params");
			return g;
		}
		std::vector<long long> ids;
		if (!int_array(list, "/ethdev/list", ids)) {
			g.errors.push_back("/ethdev/list: failed to unmarshal json response: " +
			                   list);
			return g;
		}
		for (const char *cmd :
		     { "/ethdev/stats", "/ethdev/xstats", "/ethdev/info", "/ethdev/link_status" })
			for (long long id : ids)
				process(cmd, std::to_string(id), g);
		return g;
	}

      private:
	std::string path_;
	int timeout_ms_;
	int fd_ = -1;
	size_t max_len_ = 0;

	static double now_ms()
	{
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
	}

	// One read of at most `size` bytes within the access timeout.
	bool read_one(size_t size, std::string &out, Gather &g)
	{
		const double t0 = now_ms();
		struct pollfd p = { fd_, POLLIN, 0 };
		if (poll(&p, 1, timeout_ms_) <= 0)
			return false;
		std::vector<char> buf(size);
		ssize_t n = recv(fd_, buf.data(), buf.size(), 0);
		if (n <= 0)
			return false;
		const double ms = now_ms() - t0;
		if (ms > g.max_ms)
			g.max_ms = ms;
		out.assign(buf.data(), (size_t)n);
		return true;
	}

	bool connect_(Gather &g)
	{
		struct sockaddr_un sun = {};
		sun.sun_family = AF_UNIX;
		if (path_.size() >= sizeof(sun.sun_path)) {
			g.errors.push_back("socket path too long");
			return false;
		}
		memcpy(sun.sun_path, path_.c_str(), path_.size() + 1);
		fd_ = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
		if (fd_ < 0 || connect(fd_, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
			g.errors.push_back("failed to connect to the socket " + path_);
			return false;
		}
		std::string init;
		if (!read_one(1024, init, g)) {
			g.errors.push_back("failed to read InitMessage");
			return false;
		}
		char err[128] = "";
		jdoc *d = jdoc_parse(init.data(), init.size(), err, sizeof(err));
		if (d == nullptr || d->root->type != J_OBJ) {
			jdoc_free(d);
			g.errors.push_back("failed to unmarshal InitMessage: " + init);
			return false;
		}
		const jval *v = jget(d->root, "version");
		const jval *pid = jget(d->root, "pid");
		const jval *len = jget(d->root, "max_output_len");
		bool ok = v != nullptr && v->type == J_STR && pid != nullptr &&
		          pid->type == J_NUM && len != nullptr && len->type == J_NUM &&
		          len->num >= 1 && len->num <= 4294967295.0;
		if (ok) {
			g.version = v->str;
			g.pid = pid->num;
			max_len_ = (size_t)len->num;
		}
		jdoc_free(d);
		if (!ok)
			g.errors.push_back("failed to read maxOutputLen information: " + init);
		return ok;
	}

	bool ask(const std::string &cmd, std::string &reply, Gather &g)
	{
		if (send(fd_, cmd.data(), cmd.size(), MSG_NOSIGNAL) != (ssize_t)cmd.size())
			return false;
		if (!read_one(max_len_, reply, g)) {
			// the plugin drops a connection that timed out
			close(fd_);
			fd_ = -1;
			return false;
		}
		return !reply.empty();
	}

	static bool int_array(const std::string &reply, const char *cmd,
	                      std::vector<long long> &out)
	{
		jdoc *d = jdoc_parse(reply.data(), reply.size(), nullptr, 0);
		const jval *a = d != nullptr ? jget(d->root, cmd) : nullptr;
		bool ok = a != nullptr && a->type == J_ARR;
		for (const jval *e = ok ? a->child : nullptr; e != nullptr; e = e->next) {
			if (e->type != J_NUM || e->num != (double)(long long)e->num) {
				ok = false;
				break;
			}
			out.push_back((long long)e->num);
		}
		jdoc_free(d);
		return ok;
	}

	void process(const std::string &cmd, const std::string &params, Gather &g)
	{
		const std::string full = cmd + "," + params;
		std::string reply;
		if (fd_ < 0 || !ask(full, reply, g)) {
			g.errors.push_back("failed to read response of " + full);
			return;
		}
		char err[128] = "";
		jdoc *d = jdoc_parse(reply.data(), reply.size(), err, sizeof(err));
		if (d == nullptr || d->root->type != J_OBJ) {
			jdoc_free(d);
			g.errors.push_back("failed to unmarshal json response from " + full + ": " +
			                   err);
			return;
		}
		const jval *v = jget(d->root, cmd.c_str());
		if (v == nullptr || v->type == J_NULL) {
			jdoc_free(d);
			g.errors.push_back("got empty json on " + full);
			return;
		}
		Metric m;
		m.command = cmd;
		m.params = params;
		std::string ferr;
		if (!flatten("", v, m.fields, ferr)) {
			jdoc_free(d);
			g.errors.push_back("failed to flatten response of " + full + ": " + ferr);
			return;
		}
		jdoc_free(d);
		if (cmd == "/ethdev/link_status") {
			auto it = m.fields.find("status");
			std::string s;
			if (it != m.fields.end() && std::holds_alternative<std::string>(it->second))
				s = std::get<std::string>(it->second);
			for (auto &c : s)
				c = (char)tolower((unsigned char)c);
			if (s == "up" || s == "down")
				m.fields["status_i"] = s == "up" ? 1.0 : 0.0;
			else
				g.errors.push_back("can't parse linkStatus of " + full);
		}
		m.fields["pid"] = g.pid;
		m.fields["version"] = g.version;
		g.metrics.push_back(std::move(m));
	}
};

} // namespace telegraf

#endif // TARN_TELEGRAF_READER_H
