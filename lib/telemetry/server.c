/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * server.c - the telemetry socket: one poll(2) thread serving up to
 * TARN_TELEMETRY_MAX_CLIENTS clients, started by tarn_init() and stopped by
 * tarn_cleanup().
 *
 * Creating and removing the socket happens under flock() of the runtime
 * directory (<run>/dpdk), so two tarn processes starting or stopping with
 * one prefix never remove each other's socket; the socket's inode is kept,
 * so only our own socket is removed. DPDK processes do not take that lock
 * (DPDK has the same check-then-bind window).
 */
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "lcore_priv.h"
#include "telemetry_priv.h"

/* Highest ":N" suffix tried when live processes hold the lower ones. */
#define MAX_INSTANCES 64
/* How long a reply may wait for a client that does not read (ms). */
#define SEND_WAIT_MS 1000

static struct {
	pthread_mutex_t lock; /* running, path: read by tarn_telemetry_path() */
	int running;
	pid_t pid; /* the process that started the server (not a forked child) */
	pthread_t thread;
	int lfd;
	int wake[2];
	char root[sizeof(((struct sockaddr_un *)0)->sun_path)]; /* <run>/dpdk */
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];  /* root/<prefix> */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	dev_t dev;
	ino_t ino;
} srv = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.lfd = -1,
	.wake = { -1, -1 },
};

/* ------------------------------------------------------------------------ */
/* The server thread */

static void client_close(int *clients, unsigned *n, unsigned i)
{
	close(clients[i]);
	clients[i] = clients[--*n];
}

/* Send one message; wait a little for a client that is slow to read.
 * 0, or -1 (the client must go). */
static int send_msg(int fd, const char *buf, size_t len)
{
	for (int tries = 0; tries < 2; tries++) {
		ssize_t r = send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (r == (ssize_t)len)
			return 0;
		if (r >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
			break;
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		if (poll(&p, 1, SEND_WAIT_MS) <= 0)
			break;
	}
	if (errno == EPIPE || errno == ECONNRESET)
		TARN__DEBUG(TEL_LOG, "a client left before its reply");
	else
		TARN__INFO(TEL_LOG, "closing a client that does not read its replies (%s)",
		           strerror(errno));
	return -1;
}

static void accept_clients(int lfd, int *clients, unsigned *n)
{
	for (;;) {
		int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (c < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				TARN__WARN(TEL_LOG, "accept: %s", strerror(errno));
			return;
		}
		if (*n == TARN_TELEMETRY_MAX_CLIENTS) {
			TARN__INFO(TEL_LOG, "%d clients already connected: closing a new one",
			           TARN_TELEMETRY_MAX_CLIENTS);
			close(c);
			continue;
		}
		/* room for the largest reply whatever the system default */
		int sndbuf = 2 * TARN_TELEMETRY_MAX_OUTPUT;
		setsockopt(c, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
		char info[128];
		int len = tarn__tel_info_json(info, sizeof(info));
		if (send_msg(c, info, (size_t)len) < 0) {
			close(c);
			continue;
		}
		clients[(*n)++] = c;
	}
}

/* Read one request of a client and answer it. 0, or -1 (close it). */
static int serve_one(int fd)
{
	char req[TARN_TELEMETRY_MAX_REQUEST];
	/* MSG_TRUNC: the real length of a longer message, whose rest is dropped */
	ssize_t r = recv(fd, req, sizeof(req), MSG_DONTWAIT | MSG_TRUNC);
	if (r < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
	if (r == 0)
		return -1; /* end of connection (as DPDK, an empty message too) */
	size_t n = (size_t)r;
	if (n > sizeof(req)) {
		TARN__DEBUG(TEL_LOG, "request of %zu bytes cut to %zu", n, sizeof(req));
		n = sizeof(req);
	}
	pthread_mutex_lock(&tarn__tel_exec_lock);
	size_t len = tarn__tel_exec_locked(req, n, tarn__tel_out, sizeof(tarn__tel_out));
	int rc = send_msg(fd, tarn__tel_out, len);
	pthread_mutex_unlock(&tarn__tel_exec_lock);
	return rc;
}

static void *server_main(void *arg)
{
	(void)arg;
	int clients[TARN_TELEMETRY_MAX_CLIENTS];
	unsigned n = 0;
	struct pollfd pfd[2 + TARN_TELEMETRY_MAX_CLIENTS];

	/* srv.lfd and srv.wake were set before pthread_create() and change
	 * only after pthread_join(). */
	for (;;) {
		pfd[0] = (struct pollfd){ .fd = srv.wake[0], .events = POLLIN };
		pfd[1] = (struct pollfd){ .fd = srv.lfd, .events = POLLIN };
		for (unsigned i = 0; i < n; i++)
			pfd[2 + i] = (struct pollfd){ .fd = clients[i], .events = POLLIN };
		const unsigned polled = n;
		if (poll(pfd, 2 + polled, -1) < 0) {
			if (errno == EINTR)
				continue;
			TARN__ERR(TEL_LOG, "poll: %s: the server stops", strerror(errno));
			break;
		}
		if (pfd[0].revents != 0)
			break; /* tarn_cleanup() */
		/* Clients from the last to the first: closing one moves the last
		 * one into its place, which was already served. */
		for (unsigned i = polled; i-- > 0;) {
			const short ev = pfd[2 + i].revents;
			if (ev == 0)
				continue;
			if ((ev & POLLIN) ? serve_one(clients[i]) < 0 : 1)
				client_close(clients, &n, i);
		}
		if (pfd[1].revents & POLLIN)
			accept_clients(srv.lfd, clients, &n);
	}
	while (n > 0)
		client_close(clients, &n, n - 1);
	return NULL;
}

/* ------------------------------------------------------------------------ */
/* Creating and removing the socket */

/* Lock the runtime directory (created if missing). The fd, or -errno. */
static int root_lock(const char *root)
{
	if (mkdir(root, 0700) != 0 && errno != EEXIST)
		return -errno;
	int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (flock(fd, LOCK_EX) != 0) {
		if (errno != EINTR) {
			int e = errno;
			close(fd);
			return -e;
		}
	}
	return fd;
}

static void root_unlock(int fd)
{
	flock(fd, LOCK_UN);
	close(fd);
}

/* Is a process listening at `path`? 1 yes, 0 no (stale), -errno. */
static int path_live(const char *path)
{
	struct stat st;
	if (lstat(path, &st) != 0)
		return -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST; /* not ours to remove */
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	memcpy(sun.sun_path, path, strlen(path) + 1);
	int rc = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	int e = errno;
	close(fd);
	if (rc == 0 || e == EAGAIN || e == EINPROGRESS)
		return 1; /* accepted, or a full backlog: someone listens */
	if (e == ECONNREFUSED)
		return 0;
	return -e;
}

/* Bind `fd` to `path`, replacing a stale socket. 0, 1 (in use), -errno. */
static int bind_path(int fd, const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	memcpy(sun.sun_path, path, strlen(path) + 1);
	for (int tries = 0; tries < 2; tries++) {
		if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
			return 0;
		if (errno != EADDRINUSE)
			return -errno;
		int live = path_live(path);
		if (live != 0)
			return live;
		TARN__INFO(TEL_LOG, "replacing %s, left by a process that is gone", path);
		if (unlink(path) != 0 && errno != ENOENT)
			return -errno;
	}
	return -EADDRINUSE;
}

/* Remove our socket (if it is still ours) and the prefix directory if
 * empty. */
static void remove_socket(void)
{
	int lk = root_lock(srv.root);
	struct stat st;
	if (lstat(srv.path, &st) == 0 && st.st_dev == srv.dev && st.st_ino == srv.ino)
		unlink(srv.path);
	rmdir(srv.dir); /* fails, as it should, while anything is in it */
	if (lk >= 0)
		root_unlock(lk);
}

static int create_socket(const char *prefix, const char **why)
{
	int rc = tarn_telemetry_runtime_dir(srv.root, sizeof(srv.root));
	if (rc < 0) {
		*why = "runtime directory path too long";
		return rc;
	}
	int n = snprintf(srv.dir, sizeof(srv.dir), "%s/%s", srv.root, prefix);
	if (n < 0 || (size_t)n >= sizeof(srv.dir)) {
		*why = "socket path too long";
		return -ENAMETOOLONG;
	}
	int lk = root_lock(srv.root);
	if (lk < 0) {
		*why = "cannot create or lock the runtime directory";
		return lk;
	}
	if (mkdir(srv.dir, 0700) != 0 && errno != EEXIST) {
		rc = -errno;
		*why = "cannot create the prefix directory";
		goto out;
	}
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		rc = -errno;
		*why = "socket(AF_UNIX, SOCK_SEQPACKET)";
		goto out;
	}
	rc = 1;
	for (unsigned inst = 0; inst <= MAX_INSTANCES && rc == 1; inst++) {
		rc = tarn_telemetry_socket_path(prefix, inst, srv.path, sizeof(srv.path));
		if (rc < 0) {
			*why = "socket path too long";
			break;
		}
		rc = bind_path(fd, srv.path);
		if (rc < 0)
			*why = rc == -EEXIST ? "a file that is not a socket is in the way"
			                     : "cannot bind the socket";
		else if (rc == 1)
			TARN__DEBUG(TEL_LOG, "%s is in use by a live process", srv.path);
	}
	if (rc == 1) {
		rc = -EADDRINUSE;
		*why = "every instance suffix is in use";
	}
	struct stat st;
	if (rc == 0 &&
	    (chmod(srv.path, 0600) != 0 || listen(fd, 16) != 0 || stat(srv.path, &st) != 0)) {
		rc = -errno;
		*why = "cannot set up the socket";
		unlink(srv.path);
	}
	if (rc < 0) {
		close(fd);
		rmdir(srv.dir);
		goto out;
	}
	srv.dev = st.st_dev;
	srv.ino = st.st_ino;
	srv.lfd = fd;
out:
	root_unlock(lk);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Start and stop */

static void at_exit(void)
{
	/* exit() without tarn_cleanup(): remove the socket (the thread dies
	 * with the process). Not in a forked child: the socket is the parent's.
	 * The server stays as it is: a tarn_cleanup() called later (from an
	 * atexit handler registered before ours) still stops it, and finds the
	 * socket gone. */
	pthread_mutex_lock(&srv.lock);
	if (srv.running && srv.pid == getpid())
		remove_socket();
	pthread_mutex_unlock(&srv.lock);
}

static pthread_once_t atexit_once = PTHREAD_ONCE_INIT;

static void atexit_register(void)
{
	atexit(at_exit);
}

/* The CPUs the server may run on: the process's own, minus the lcores'. */
static void control_affinity(pthread_attr_t *attr)
{
	cpu_set_t all, set;
	if (tarn__lcore_orig_affinity(&all) != 0)
		return;
	set = all;
	uint32_t l;
	TARN_LCORE_FOREACH(l)
	{
		int cpu = tarn_lcore_cpu(l);
		if (cpu >= 0 && cpu < CPU_SETSIZE)
			CPU_CLR(cpu, &set);
	}
	pthread_attr_setaffinity_np(attr, sizeof(cpu_set_t), CPU_COUNT(&set) > 0 ? &set : &all);
}

static int server_start(const char *prefix, const char **why)
{
	int rc = create_socket(prefix, why);
	if (rc < 0)
		return rc;
	if (pipe2(srv.wake, O_CLOEXEC | O_NONBLOCK) != 0) {
		rc = -errno;
		*why = "pipe";
		goto fail_sock;
	}
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	control_affinity(&attr);
	/* Signals go to the application's threads, never to this one. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = -pthread_create(&srv.thread, &attr, server_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (rc < 0) {
		*why = "cannot start the server thread";
		goto fail_pipe;
	}
	pthread_setname_np(srv.thread, "tarn-telemetry");
	pthread_once(&atexit_once, atexit_register);
	pthread_mutex_lock(&srv.lock);
	srv.pid = getpid();
	srv.running = 1;
	pthread_mutex_unlock(&srv.lock);
	return 0;

fail_pipe:
	close(srv.wake[0]);
	close(srv.wake[1]);
	srv.wake[0] = srv.wake[1] = -1;
fail_sock:
	close(srv.lfd);
	srv.lfd = -1;
	remove_socket();
	return rc;
}

void tarn__telemetry_init(const struct tarn_config *cfg)
{
	tarn__tel_lcores_reset();
	tarn__tel_builtins();
	if (cfg->no_telemetry) {
		TARN__INFO(TEL_LOG, "telemetry off (--no-telemetry)");
		return;
	}
	const char *why = "";
	int rc = server_start(cfg->file_prefix, &why);
	if (rc < 0) {
		char root[128];
		if (tarn_telemetry_runtime_dir(root, sizeof(root)) < 0)
			snprintf(root, sizeof(root), "(too long)");
		TARN__WARN(TEL_LOG,
		           "telemetry not started: %s (%s) under %s/%s; tarn runs without it "
		           "(--no-telemetry or TARN_NO_TELEMETRY=1 says so on purpose)",
		           why, tarn_strerror(rc), root, cfg->file_prefix);
		return;
	}
	TARN__INFO(TEL_LOG, "telemetry at %s", srv.path);
}

void tarn__telemetry_cleanup(void)
{
	pthread_mutex_lock(&srv.lock);
	const int running = srv.running;
	const int owner = srv.pid == getpid();
	srv.running = 0;
	pthread_mutex_unlock(&srv.lock);
	if (!running)
		return;
	if (owner) {
		/* wake the server; it closes its clients and returns */
		ssize_t w;
		do
			w = write(srv.wake[1], "x", 1);
		while (w < 0 && errno == EINTR);
		pthread_join(srv.thread, NULL);
		remove_socket();
	}
	/* In a forked child there is no server thread and the socket is the
	 * parent's: only our copies of the descriptors go. */
	close(srv.lfd);
	close(srv.wake[0]);
	close(srv.wake[1]);
	srv.lfd = srv.wake[0] = srv.wake[1] = -1;
}

int tarn_telemetry_path(char *buf, size_t size)
{
	if (buf == NULL)
		return -EINVAL;
	int rc;
	pthread_mutex_lock(&srv.lock);
	if (!srv.running || srv.pid != getpid()) {
		rc = -ENOENT;
	} else {
		size_t len = strlen(srv.path);
		if (len + 1 > size) {
			rc = -ENAMETOOLONG;
		} else {
			memcpy(buf, srv.path, len + 1);
			rc = (int)len;
		}
	}
	pthread_mutex_unlock(&srv.lock);
	return rc;
}
