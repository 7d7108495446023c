// SPDX-License-Identifier: BSD-3-Clause
// Shared by the exporter suite: child processes in a private runtime
// directory, a raw HTTP client, a strict parser of the exposition formats
// (OpenMetrics 1.0.0 and Prometheus text 0.0.4), and a fake telemetry
// server (SOCK_SEQPACKET, DPDK's v2 protocol) that answers from a table,
// stalls, or misbehaves.
#ifndef TARN_EXPORTER_TEST_H
#define TARN_EXPORTER_TEST_H

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern "C" {
#include "json.h"
}

namespace xt
{

inline double now_s()
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

inline void sleep_s(double s)
{
	std::this_thread::sleep_for(std::chrono::microseconds((long)(s * 1e6)));
}

inline std::string slurp(const std::string &path)
{
	std::ifstream f(path);
	std::stringstream ss;
	ss << f.rdbuf();
	return ss.str();
}

inline bool exists(const std::string &p)
{
	struct stat st;
	return lstat(p.c_str(), &st) == 0;
}

// ---------------------------------------------------------------------------
// Child processes

struct Child {
	pid_t pid = -1;
	std::string log; // its stdout and stderr

	// Start argv[0] with argv, output to `log`. The environment is the
	// suite's (RUNTIME_DIRECTORY set by the suite).
	bool start(const std::vector<std::string> &argv, const std::string &logfile)
	{
		log = logfile;
		fflush(nullptr);
		pid = fork();
		if (pid == 0) {
			int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
			if (fd >= 0) {
				dup2(fd, 1);
				dup2(fd, 2);
				close(fd);
			}
			std::vector<char *> a;
			for (auto &s : argv)
				a.push_back(const_cast<char *>(s.c_str()));
			a.push_back(nullptr);
			execv(a[0], a.data());
			_exit(127);
		}
		return pid > 0;
	}
	// Signal and wait; the exit status (128 + signal for a killed one).
	int stop(int sig = SIGTERM)
	{
		if (pid <= 0)
			return -1;
		kill(pid, sig);
		int st = 0;
		waitpid(pid, &st, 0);
		pid = -1;
		return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	}
	bool running()
	{
		return pid > 0 && waitpid(pid, nullptr, WNOHANG) == 0;
	}
	std::string output() const
	{
		return slurp(log);
	}
	~Child()
	{
		if (pid > 0)
			stop(SIGKILL);
		if (!log.empty())
			unlink(log.c_str());
	}
};

// ---------------------------------------------------------------------------
// HTTP

struct Response {
	int status = 0;                             // 0: no response
	std::map<std::string, std::string> headers; // lower-case names
	std::string body, raw;
};

inline int tcp_connect(unsigned port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {};
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

// Read until the server closes (or `timeout` s). What was read.
inline std::string read_all(int fd, double timeout)
{
	std::string out;
	const double end = now_s() + timeout;
	char buf[65536];
	for (;;) {
		const double left = end - now_s();
		if (left <= 0)
			break;
		struct pollfd p = { fd, POLLIN, 0 };
		if (poll(&p, 1, (int)(left * 1000) + 1) <= 0)
			break;
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n <= 0)
			break;
		out.append(buf, (size_t)n);
	}
	return out;
}

inline Response parse_response(const std::string &raw)
{
	Response r;
	r.raw = raw;
	size_t he = raw.find("\r\n\r\n");
	if (raw.compare(0, 9, "HTTP/1.1 ") != 0 || he == std::string::npos)
		return r;
	r.status = atoi(raw.c_str() + 9);
	std::istringstream in(raw.substr(0, he));
	std::string line;
	std::getline(in, line);
	while (std::getline(in, line)) {
		if (!line.empty() && line.back() == '\r')
			line.pop_back();
		size_t c = line.find(':');
		if (c == std::string::npos)
			continue;
		std::string k = line.substr(0, c), v = line.substr(c + 1);
		for (auto &ch : k)
			ch = (char)tolower((unsigned char)ch);
		while (!v.empty() && v[0] == ' ')
			v.erase(0, 1);
		r.headers[k] = v;
	}
	r.body = raw.substr(he + 4);
	return r;
}

// Read one response: its head, then Content-Length bytes (or until the
// server closes), as a client does.
inline std::string read_response(int fd, double timeout)
{
	std::string out;
	const double end = now_s() + timeout;
	char buf[65536];
	for (;;) {
		size_t he = out.find("\r\n\r\n");
		if (he != std::string::npos) {
			std::string head = out.substr(0, he);
			for (auto &c : head)
				c = (char)tolower((unsigned char)c);
			size_t cl = head.find("content-length:");
			if (cl != std::string::npos &&
			    out.size() >= he + 4 + strtoul(head.c_str() + cl + 15, nullptr, 10))
				break;
		}
		const double left = end - now_s();
		if (left <= 0)
			break;
		struct pollfd p = { fd, POLLIN, 0 };
		if (poll(&p, 1, (int)(left * 1000) + 1) <= 0)
			break;
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n <= 0)
			break;
		out.append(buf, (size_t)n);
	}
	return out;
}

// Send `req` as is and read the response.
inline Response http_raw(unsigned port, const std::string &req, double timeout = 20)
{
	int fd = tcp_connect(port);
	if (fd < 0)
		return {};
	if (!req.empty())
		send(fd, req.data(), req.size(), MSG_NOSIGNAL);
	Response r = parse_response(read_response(fd, timeout));
	close(fd);
	return r;
}

inline Response http_get(unsigned port, const std::string &path = "/metrics",
                         const std::string &accept = "", double timeout = 20)
{
	std::string req = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
	if (!accept.empty())
		req += "Accept: " + accept + "\r\n";
	return http_raw(port, req + "\r\n", timeout);
}

// What Prometheus 2.42 sends.
inline const char *prometheus_accept()
{
	return "application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
	       "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
}

// ---------------------------------------------------------------------------
// The exposition formats, read strictly

struct Sample {
	std::string name;
	std::map<std::string, std::string> labels;
	double value = 0;
	std::string text; // the value as written
};

struct Expo {
	std::vector<Sample> samples;
	std::map<std::string, std::string> types; // family -> type
	std::map<std::string, std::string> help, units;
	std::vector<std::string> errors;
	bool eof = false;

	// Samples of `name` whose labels include `want`.
	std::vector<const Sample *> find(const std::string &name,
	                                 const std::map<std::string, std::string> &want = {}) const
	{
		std::vector<const Sample *> r;
		for (auto &s : samples) {
			if (s.name != name)
				continue;
			bool ok = true;
			for (auto &kv : want) {
				auto it = s.labels.find(kv.first);
				ok = ok && it != s.labels.end() && it->second == kv.second;
			}
			if (ok)
				r.push_back(&s);
		}
		return r;
	}
	// The one sample's value; NaN if not exactly one.
	double value(const std::string &name,
	             const std::map<std::string, std::string> &want = {}) const
	{
		auto r = find(name, want);
		return r.size() == 1 ? r[0]->value : std::nan("");
	}
	std::set<std::string> names() const
	{
		std::set<std::string> n;
		for (auto &s : samples)
			n.insert(s.name);
		return n;
	}
};

inline bool metric_name_ok(const std::string &n)
{
	if (n.empty() || !(isalpha((unsigned char)n[0]) || n[0] == '_' || n[0] == ':'))
		return false;
	for (char c : n)
		if (!(isalnum((unsigned char)c) || c == '_' || c == ':'))
			return false;
	return true;
}

inline bool utf8_ok(const std::string &s)
{
	for (size_t i = 0; i < s.size();) {
		unsigned char c = (unsigned char)s[i];
		size_t n = c < 0x80         ? 1
		           : (c >> 5) == 6  ? 2
		           : (c >> 4) == 14 ? 3
		           : (c >> 3) == 30 ? 4
		                            : 0;
		if (n == 0 || i + n > s.size())
			return false;
		for (size_t k = 1; k < n; k++)
			if (((unsigned char)s[i + k] & 0xc0) != 0x80)
				return false;
		i += n;
	}
	return true;
}

// Parse `text` as OpenMetrics (om) or Prometheus 0.0.4; every rule broken
// is listed in errors.
inline Expo parse_expo(const std::string &text, bool om)
{
	Expo e;
	auto err = [&](const std::string &m) { e.errors.push_back(m); };
	if (!utf8_ok(text))
		err("not UTF-8");
	if (text.empty() || text.back() != '\n')
		err("does not end with a newline");
	std::istringstream in(text);
	std::string line, cur; // current family
	std::set<std::string> done, series;
	unsigned lineno = 0;
	while (std::getline(in, line)) {
		lineno++;
		const std::string at = " (line " + std::to_string(lineno) + ": " + line + ")";
		if (e.eof) {
			err("text after # EOF" + at);
			break;
		}
		if (line == "# EOF") {
			if (!om)
				err("# EOF in Prometheus text" + at);
			e.eof = true;
			continue;
		}
		if (line.rfind("# ", 0) == 0) {
			std::istringstream ls(line.substr(2));
			std::string kw, name, rest;
			ls >> kw >> name;
			std::getline(ls, rest);
			if (!rest.empty() && rest[0] == ' ')
				rest.erase(0, 1);
			if (kw != "HELP" && kw != "TYPE" && kw != "UNIT") {
				if (om)
					err("unknown comment" + at);
				continue;
			}
			if (!metric_name_ok(name))
				err("bad family name" + at);
			if (name != cur) {
				if (done.count(name))
					err("family " + name + " split" + at);
				if (!cur.empty())
					done.insert(cur);
				cur = name;
			}
			if (kw == "TYPE") {
				static const std::set<std::string> om_types = {
					"counter",   "gauge",          "info",    "stateset",
					"histogram", "gaugehistogram", "summary", "unknown"
				};
				static const std::set<std::string> p_types = {
					"counter", "gauge", "histogram", "summary", "untyped"
				};
				if (!(om ? om_types : p_types).count(rest))
					err("bad type" + at);
				if (om &&
				    (name.size() > 6 && name.substr(name.size() - 6) == "_total"))
					err("OpenMetrics family named with _total" + at);
				e.types[name] = rest;
			} else if (kw == "HELP") {
				e.help[name] = rest;
				// OpenMetrics escapes \ " and newline in HELP; 0.0.4 \ and newline
				for (size_t i = 0; i < rest.size(); i++) {
					if (rest[i] == '"' && om)
						err("unescaped \" in HELP" + at);
					if (rest[i] == '\\') {
						const char nx =
						    i + 1 < rest.size() ? rest[i + 1] : '\0';
						if (!(nx == '\\' || nx == 'n' || (om && nx == '"')))
							err("bad escape in HELP" + at);
						i++;
					}
				}
			} else {
				if (!om)
					err("# UNIT in Prometheus text" + at);
				if (name.size() <= rest.size() ||
				    name.substr(name.size() - rest.size() - 1) != "_" + rest)
					err("family name does not end with its unit" + at);
				e.units[name] = rest;
			}
			continue;
		}
		if (line.empty() || line[0] == '#') {
			err("empty or stray comment line" + at);
			continue;
		}
		// a sample: name{labels} value
		Sample s;
		size_t i = 0;
		while (i < line.size() && line[i] != '{' && line[i] != ' ')
			i++;
		s.name = line.substr(0, i);
		if (!metric_name_ok(s.name))
			err("bad sample name" + at);
		std::string key = s.name + "{";
		if (i < line.size() && line[i] == '{') {
			i++;
			bool first = true;
			while (i < line.size() && line[i] != '}') {
				if (!first) {
					if (line[i] != ',') {
						err("expected , between labels" + at);
						break;
					}
					i++;
				}
				first = false;
				size_t eq = line.find('=', i);
				if (eq == std::string::npos || eq + 1 >= line.size() ||
				    line[eq + 1] != '"') {
					err("bad label" + at);
					break;
				}
				std::string ln = line.substr(i, eq - i), lv;
				if (!metric_name_ok(ln) || ln.find(':') != std::string::npos)
					err("bad label name" + at);
				i = eq + 2;
				bool closed = false;
				while (i < line.size()) {
					char c = line[i++];
					if (c == '"') {
						closed = true;
						break;
					}
					if (c == '\\') {
						char nx = i < line.size() ? line[i++] : '\0';
						if (nx == 'n')
							lv += '\n';
						else if (nx == '\\' || nx == '"')
							lv += nx;
						else
							err("bad escape in a label value" + at);
					} else {
						lv += c;
					}
				}
				if (!closed) {
					err("unterminated label value" + at);
					break;
				}
				if (s.labels.count(ln))
					err("label " + ln + " twice" + at);
				s.labels[ln] = lv;
				key += ln + "=" + lv + ",";
			}
			if (i >= line.size() || line[i] != '}') {
				err("unterminated labels" + at);
				continue;
			}
			i++;
		}
		if (i >= line.size() || line[i] != ' ') {
			err("no value" + at);
			continue;
		}
		s.text = line.substr(i + 1);
		char *end = nullptr;
		s.value = strtod(s.text.c_str(), &end);
		if (s.text.empty() || *end != '\0')
			err("bad value" + at);
		// the sample belongs to the current family
		std::string fam = cur;
		auto t = e.types.find(cur);
		if (t == e.types.end()) {
			err("sample before its # TYPE" + at);
		} else if (om) {
			const std::string want = t->second == "counter" ? cur + "_total"
			                         : t->second == "info"  ? cur + "_info"
			                                                : cur;
			if (s.name != want)
				err("sample " + s.name + " outside its family " + cur + at);
			if (t->second == "counter" && s.value < 0)
				err("negative counter" + at);
		} else if (s.name != cur) {
			err("sample " + s.name + " outside its family " + cur + at);
		}
		if (!series.insert(key).second)
			err("series twice" + at);
		e.samples.push_back(s);
	}
	if (om && !e.eof)
		err("no # EOF");
	return e;
}

// ---------------------------------------------------------------------------
// A fake telemetry server

class FakeTelemetry
{
      public:
	std::string path;
	std::string info;                           // the first message
	std::map<std::string, std::string> replies; // request -> reply
	std::atomic<bool> stall{ false };           // accept, never answer
	std::atomic<unsigned> requests{ 0 };
	std::atomic<unsigned> accepted{ 0 };

	bool start(const std::string &p, const std::string &first)
	{
		path = p;
		info = first;
		mkdir(path.substr(0, path.rfind('/')).c_str(), 0700);
		fd_ = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
		struct sockaddr_un sun = {};
		sun.sun_family = AF_UNIX;
		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path.c_str());
		unlink(path.c_str());
		if (fd_ < 0 || bind(fd_, (struct sockaddr *)&sun, sizeof(sun)) != 0 ||
		    listen(fd_, 16) != 0)
			return false;
		th_ = std::thread([this] { run(); });
		return true;
	}
	void stop()
	{
		if (!th_.joinable())
			return;
		stop_ = true;
		th_.join();
		close(fd_);
		unlink(path.c_str());
		rmdir(path.substr(0, path.rfind('/')).c_str());
	}
	~FakeTelemetry()
	{
		stop();
	}

      private:
	int fd_ = -1;
	std::thread th_;
	std::atomic<bool> stop_{ false };

	void run()
	{
		std::vector<int> clients;
		while (!stop_) {
			std::vector<struct pollfd> p;
			p.push_back({ fd_, POLLIN, 0 });
			for (int c : clients)
				p.push_back({ c, POLLIN, 0 });
			if (poll(p.data(), p.size(), 50) <= 0)
				continue;
			if (p[0].revents & POLLIN) {
				int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
				if (c >= 0) {
					accepted++;
					if (!stall)
						send(c, info.data(), info.size(), MSG_NOSIGNAL);
					clients.push_back(c);
				}
			}
			for (size_t i = 1; i < p.size(); i++) {
				if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
					continue;
				char buf[2048];
				ssize_t n = recv(p[i].fd, buf, sizeof(buf), 0);
				if (n <= 0) {
					close(p[i].fd);
					clients.erase(
					    std::find(clients.begin(), clients.end(), p[i].fd));
					break; // p is stale now
				}
				requests++;
				if (stall)
					continue;
				std::string req(buf, (size_t)n);
				auto it = replies.find(req);
				std::string cmd = req.substr(0, req.find(','));
				std::string rep =
				    it != replies.end() ? it->second : "{\"" + cmd + "\":null}";
				send(p[i].fd, rep.data(), rep.size(), MSG_NOSIGNAL);
			}
		}
		for (int c : clients)
			close(c);
	}
};

// ---------------------------------------------------------------------------
// JSON (tarn-top's reader)

struct Json {
	jdoc *doc = nullptr;
	explicit Json(const std::string &t)
	{
		doc = jdoc_parse(t.data(), t.size(), nullptr, 0);
	}
	~Json()
	{
		jdoc_free(doc);
	}
	Json(const Json &) = delete;
	Json &operator=(const Json &) = delete;
	const jval *root() const
	{
		return doc ? doc->root : nullptr;
	}
};

inline std::string urlencode(const std::string &s)
{
	std::string o;
	char b[4];
	for (unsigned char c : s) {
		if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
			o += (char)c;
		} else {
			snprintf(b, sizeof(b), "%%%02X", c);
			o += b;
		}
	}
	return o;
}

} // namespace xt

#endif // TARN_EXPORTER_TEST_H
