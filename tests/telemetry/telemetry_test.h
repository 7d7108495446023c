// SPDX-License-Identifier: BSD-3-Clause
// Shared by the telemetry suites: a SOCK_SEQPACKET client speaking DPDK's
// telemetry v2 protocol, and tarn-top's JSON reader to check every reply.
#ifndef TARN_TELEMETRY_TEST_H
#define TARN_TELEMETRY_TEST_H

#include <gtest/gtest.h>

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

extern "C" {
#include "json.h"
}

// A parsed JSON document (tarn-top's reader), freed on scope exit.
struct Json {
	std::unique_ptr<jdoc, void (*)(jdoc *)> doc{ nullptr, jdoc_free };
	std::string err;
	explicit Json(const std::string &text)
	{
		char e[128] = "";
		doc.reset(jdoc_parse(text.data(), text.size(), e, sizeof(e)));
		err = e;
	}
	bool ok() const
	{
		return doc != nullptr;
	}
	const jval *root() const
	{
		return doc ? doc->root : nullptr;
	}
	// The value of a reply {"<cmd>": value}; nullptr if not such a reply.
	const jval *value(const std::string &cmd) const
	{
		return jget(root(), cmd.c_str());
	}
};

static inline size_t jcount(const jval *v)
{
	size_t n = 0;
	for (const jval *e = v ? v->child : nullptr; e != nullptr; e = e->next)
		n++;
	return n;
}

static inline const jval *jindex(const jval *v, size_t i)
{
	for (const jval *e = v ? v->child : nullptr; e != nullptr; e = e->next)
		if (i-- == 0)
			return e;
	return nullptr;
}

// One telemetry client connection.
class TelClient
{
      public:
	int fd = -1;
	std::string info; // the first message

	// Connect to `path` and read the info message. False on failure (errno).
	bool open(const std::string &path, bool read_info = true)
	{
		close();
		struct sockaddr_un sun = {};
		sun.sun_family = AF_UNIX;
		if (path.size() >= sizeof(sun.sun_path)) {
			errno = ENAMETOOLONG;
			return false;
		}
		memcpy(sun.sun_path, path.c_str(), path.size() + 1);
		fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return false;
		if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
			int e = errno;
			close();
			errno = e;
			return false;
		}
		if (read_info) {
			info = recv_msg();
			return !info.empty();
		}
		return true;
	}
	void close()
	{
		if (fd >= 0)
			::close(fd);
		fd = -1;
	}
	~TelClient()
	{
		close();
	}
	// One message; "" on timeout or end of connection. The timeout is for a
	// server that never answers; valgrind makes an answer take seconds.
	std::string recv_msg(int timeout_ms = 60000)
	{
		struct pollfd p = { fd, POLLIN, 0 };
		if (poll(&p, 1, timeout_ms) <= 0)
			return "";
		static thread_local char buf[1 << 17]; // clients may live in several threads
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		return n > 0 ? std::string(buf, (size_t)n) : std::string();
	}
	// Send a request and return the reply ("" on failure).
	std::string ask(const std::string &req)
	{
		if (send(fd, req.data(), req.size(), MSG_NOSIGNAL) != (ssize_t)req.size())
			return "";
		return recv_msg();
	}
	// Did the server close the connection (within the timeout)?
	bool closed_by_server(int timeout_ms = 60000)
	{
		struct pollfd p = { fd, POLLIN, 0 };
		if (poll(&p, 1, timeout_ms) <= 0)
			return false;
		char c;
		return recv(fd, &c, 1, MSG_DONTWAIT) == 0;
	}
};

// A telemetry server of the test's own, in a child process (as another user
// when `uid` is given): it listens on `path` (mode `mode`), sends `info` to
// each client and answers each request with the reply of the first entry
// whose command (the request up to its first comma) matches, else
// {"<request>": null}. Each connection and request is appended to the file
// `log` ("connect", "cmd <request>"), so a test sees what a client did.
class FakeServer
{
      public:
	pid_t pid = -1;
	std::string path, log;

	bool start(const std::string &sock, const std::string &logfile, const std::string &info,
	           const std::vector<std::pair<std::string, std::string>> &replies,
	           uid_t uid = (uid_t)-1, gid_t gid = (gid_t)-1, mode_t mode = 0600)
	{
		path = sock;
		log = logfile;
		int ready[2];
		if (pipe(ready) != 0)
			return false;
		fflush(nullptr);
		pid = fork();
		if (pid == 0) {
			::close(ready[0]);
			int lf = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
			if (lf < 0 ||
			    (uid != (uid_t)-1 &&
			     (fchown(lf, uid, gid) != 0 || setgroups(0, nullptr) != 0 ||
			      setresgid(gid, gid, gid) != 0 || setresuid(uid, uid, uid) != 0)))
				_exit(1);
			int lfd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
			struct sockaddr_un sun = {};
			sun.sun_family = AF_UNIX;
			snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path.c_str());
			if (bind(lfd, (struct sockaddr *)&sun, sizeof(sun)) != 0 ||
			    chmod(path.c_str(), mode) != 0 || listen(lfd, 8) != 0)
				_exit(2);
			if (write(ready[1], "r", 1) != 1)
				_exit(3);
			serve(lfd, lf, info, replies);
			_exit(0);
		}
		::close(ready[1]);
		char c = 0;
		bool ok = pid > 0 && read(ready[0], &c, 1) == 1;
		::close(ready[0]);
		if (!ok)
			stop();
		return ok;
	}
	std::string events() const
	{
		std::ifstream f(log);
		std::stringstream ss;
		ss << f.rdbuf();
		return ss.str();
	}
	void stop()
	{
		if (pid > 0) {
			kill(pid, SIGKILL);
			waitpid(pid, nullptr, 0);
		}
		pid = -1;
		if (!path.empty())
			unlink(path.c_str());
		if (!log.empty())
			unlink(log.c_str());
	}
	~FakeServer()
	{
		stop();
	}

      private:
	static void note(int lf, const std::string &s)
	{
		std::string l = s + "\n";
		if (write(lf, l.data(), l.size()) < 0)
			_exit(4);
	}
	static void serve(int lfd, int lf, const std::string &info,
	                  const std::vector<std::pair<std::string, std::string>> &replies)
	{
		std::vector<struct pollfd> fds = { { lfd, POLLIN, 0 } };
		for (;;) {
			if (poll(fds.data(), fds.size(), -1) < 0)
				continue;
			for (size_t i = fds.size(); i-- > 1;) {
				if (fds[i].revents == 0)
					continue;
				char req[1024];
				ssize_t n = recv(fds[i].fd, req, sizeof(req) - 1, 0);
				if (n <= 0) {
					::close(fds[i].fd);
					fds.erase(fds.begin() + (long)i);
					continue;
				}
				std::string r(req, (size_t)n);
				note(lf, "cmd " + r);
				std::string cmd = r.substr(0, r.find(','));
				std::string reply = "{\"" + r + "\": null}";
				for (auto &kv : replies)
					if (kv.first == cmd) {
						reply = kv.second;
						break;
					}
				send(fds[i].fd, reply.data(), reply.size(), MSG_NOSIGNAL);
			}
			if (fds[0].revents & POLLIN) {
				int c = accept(lfd, nullptr, nullptr);
				if (c >= 0) {
					note(lf, "connect");
					send(c, info.data(), info.size(), MSG_NOSIGNAL);
					fds.push_back({ c, POLLIN, 0 });
				}
			}
		}
	}
};

#endif // TARN_TELEMETRY_TEST_H
