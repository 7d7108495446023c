// SPDX-License-Identifier: BSD-3-Clause
// Shared by the telemetry suites: a SOCK_SEQPACKET client speaking DPDK's
// telemetry v2 protocol, and tarn-top's JSON reader to check every reply.
#ifndef TARN_TELEMETRY_TEST_H
#define TARN_TELEMETRY_TEST_H

#include <gtest/gtest.h>

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>

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

#endif // TARN_TELEMETRY_TEST_H
