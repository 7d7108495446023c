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
 * (DPDK has the same check-then-bind window). The wait for the lock is
 * bounded; the directories are checked on their open descriptors (this
 * user's, closed to others: rundir.c), so nobody else can hold the lock,
 * read the directory or put a socket of their own in ours.
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
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <time.h>
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

/* Open the directory `name` under `at` (created with mode 0700 when
 * `create`), refusing one that is not safe for this user (checked on the
 * open descriptor, so what is checked is what is used). The fd, or -errno
 * with `why`. */
static int dir_open(int at, const char *name, const char *path, int create, char *why, size_t size)
{
	if (create && mkdirat(at, name, 0700) != 0 && errno != EEXIST) {
		int e = errno;
		snprintf(why, size, "cannot create %s (%s)", path, strerror(e));
		return -e;
	}
	int fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		if (e == ELOOP)
			snprintf(why, size, "%s is a symbolic link", path);
		else
			snprintf(why, size, "cannot open %s (%s)", path, strerror(e));
		return e == ELOOP ? -EPERM : -e;
	}
	struct stat st;
	int rc = fstat(fd, &st) != 0 ? -errno : tarn__tel_dir_check(path, &st, why, size);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	return fd;
}

/* The pid holding a flock on the file of `fd` (from /proc/locks), or 0. */
static long lock_holder(int fd)
{
	struct stat st;
	if (fstat(fd, &st) != 0)
		return 0;
	FILE *f = fopen("/proc/locks", "re");
	if (f == NULL)
		return 0;
	char line[256];
	long who = 0;
	while (who == 0 && fgets(line, sizeof(line), f) != NULL) {
		char type[16], arrow[4];
		long pid;
		unsigned maj, min;
		unsigned long ino;
		/* "1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF"; waiters have "->" */
		if (sscanf(line, "%*d: %3s", arrow) == 1 && strcmp(arrow, "->") == 0)
			continue;
		if (sscanf(line, "%*d: %15s %*s %*s %ld %x:%x:%lu", type, &pid, &maj, &min, &ino) ==
		        5 &&
		    strcmp(type, "FLOCK") == 0 && maj == major(st.st_dev) &&
		    min == minor(st.st_dev) && ino == (unsigned long)st.st_ino)
			who = pid;
	}
	fclose(f);
	return who;
}

/* Take the lock of the runtime directory `fd`, waiting at most
 * TARN_TELEMETRY_LOCK_WAIT_MS. 0, -ETIMEDOUT (with `why` naming the holder),
 * or -errno. */
static int dir_lock(int fd, const char *path, char *why, size_t size)
{
	const struct timespec tick = { 0, 5 * 1000 * 1000 };
	for (unsigned waited = 0;; waited += 5) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return 0;
		if (errno == EINTR)
			continue;
		if (errno != EWOULDBLOCK) {
			int e = errno;
			snprintf(why, size, "cannot lock %s (%s)", path, strerror(e));
			return -e;
		}
		if (waited >= TARN_TELEMETRY_LOCK_WAIT_MS)
			break;
		nanosleep(&tick, NULL);
	}
	long pid = lock_holder(fd);
	char holder[48] = "";
	if (pid > 0)
		snprintf(holder, sizeof(holder), " (pid %ld)", pid);
	snprintf(why, size, "another process%s has held the lock on %s for more than %d ms", holder,
	         path, TARN_TELEMETRY_LOCK_WAIT_MS);
	return -ETIMEDOUT;
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

/* The socket path of instance `inst` in the prefix directory: the name,
 * then "name:1", "name:2", ... (DPDK's). 0, or -ENAMETOOLONG. */
static int instance_path(char *buf, size_t size, unsigned inst)
{
	int n = inst > 0
	            ? snprintf(buf, size, "%s/%s:%u", srv.dir, TARN_TELEMETRY_SOCKET_NAME, inst)
	            : snprintf(buf, size, "%s/%s", srv.dir, TARN_TELEMETRY_SOCKET_NAME);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* Under the directory lock: remove the telemetry sockets of the prefix
 * directory that nobody listens on, left by processes that died without
 * cleaning up (a crash, an abort, a death test's child). Binding and
 * listening happen under the same lock, so a socket without a listener
 * here is stale, never one being set up. */
static void remove_stale_sockets(void)
{
	char path[sizeof(srv.path)];
	for (unsigned inst = 0; inst <= MAX_INSTANCES; inst++) {
		if (instance_path(path, sizeof(path), inst) != 0 || path_live(path) != 0)
			continue;
		if (unlink(path) == 0)
			TARN__INFO(TEL_LOG, "removed %s, left by a process that is gone", path);
	}
}

/* Remove our socket (if it is still ours), the sockets dead processes left
 * in the prefix directory, and the directory if then empty, under the lock.
 * Without the lock (held too long by another process) our socket still
 * goes: it is ours by inode and, listening until after this, never taken
 * for a stale one; the rest stays (another process may be about to bind in
 * it). */
static void remove_socket(void)
{
	char why[256];
	int rfd = open(srv.root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int locked = rfd >= 0 && dir_lock(rfd, srv.root, why, sizeof(why)) == 0;
	if (rfd >= 0 && !locked)
		TARN__WARN(TEL_LOG, "%s: removing %s without the lock", why, srv.path);
	struct stat st;
	if (lstat(srv.path, &st) == 0 && st.st_dev == srv.dev && st.st_ino == srv.ino)
		unlink(srv.path);
	if (locked) {
		remove_stale_sockets();
		rmdir(srv.dir); /* fails, as it should, while anything is in it */
	}
	if (rfd >= 0)
		close(rfd); /* and the lock with it */
}

/* Open (creating) the runtime directory chosen for this user. The fd, or
 * -errno with `why`. */
static int root_open(const struct tarn__tel_rundir *r, char *why, size_t size)
{
	if (!r->own_base)
		return dir_open(AT_FDCWD, r->dir, r->dir, 1, why, size);
	int bfd = dir_open(AT_FDCWD, r->base, r->base, 1, why, size);
	if (bfd < 0)
		return bfd;
	int fd = dir_open(bfd, "dpdk", r->dir, 1, why, size);
	close(bfd);
	return fd;
}

/* Bind `fd` to the first instance path (srv.path) in the prefix directory
 * that no live process holds: 0, or -errno with `why`. */
static int bind_instance(int fd, char *why, size_t why_size)
{
	int rc = 1;
	for (unsigned inst = 0; inst <= MAX_INSTANCES && rc == 1; inst++) {
		if (instance_path(srv.path, sizeof(srv.path), inst) != 0) {
			snprintf(why, why_size, "socket path too long");
			return -ENAMETOOLONG;
		}
		rc = bind_path(fd, srv.path);
		if (rc < 0)
			snprintf(why, why_size, "%s: %s", srv.path,
			         rc == -EEXIST ? "a file that is not a socket is in the way"
			                       : "cannot bind the socket");
		else if (rc == 1)
			TARN__DEBUG(TEL_LOG, "%s is in use by a live process", srv.path);
	}
	if (rc == 1) {
		rc = -EADDRINUSE;
		snprintf(why, why_size, "every instance suffix is in use");
	}
	return rc;
}

static int create_socket(const char *prefix, char *why, size_t why_size)
{
	struct tarn__tel_rundir r;
	int rc = tarn__tel_rundir_resolve(&r);
	if (rc == -ENAMETOOLONG) {
		snprintf(why, why_size, "runtime directory path too long");
		return rc;
	}
	if (rc < 0) {
		snprintf(why, why_size, "no runtime directory is safe for this user: %s", r.why);
		return rc;
	}
	if (r.fallback)
		TARN__WARN(TEL_LOG,
		           "%s: not used; telemetry goes under %s, this user's own (tarn-top finds "
		           "it; dpdk-telemetry.py with RUNTIME_DIRECTORY=%s)",
		           r.why, r.dir, r.base);
	memcpy(srv.root, r.dir, sizeof(srv.root));
	int n = snprintf(srv.dir, sizeof(srv.dir), "%s/%s", srv.root, prefix);
	if (n < 0 || (size_t)n >= sizeof(srv.dir)) {
		snprintf(why, why_size, "socket path too long");
		return -ENAMETOOLONG;
	}
	int rfd = root_open(&r, why, why_size);
	if (rfd < 0)
		return rfd;
	rc = dir_lock(rfd, srv.root, why, why_size);
	if (rc < 0) {
		close(rfd);
		return rc;
	}
	int pfd = dir_open(rfd, prefix, srv.dir, 1, why, why_size);
	if (pfd < 0) {
		rc = pfd;
		goto out;
	}
	close(pfd); /* its parent, ours and closed, keeps it in place */
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		rc = -errno;
		snprintf(why, why_size, "socket(AF_UNIX, SOCK_SEQPACKET): %s", strerror(-rc));
		goto out;
	}
	rc = bind_instance(fd, why, why_size);
	struct stat st;
	if (rc == 0 &&
	    (chmod(srv.path, 0600) != 0 || listen(fd, 16) != 0 || stat(srv.path, &st) != 0)) {
		rc = -errno;
		snprintf(why, why_size, "cannot set up the socket %s", srv.path);
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
	close(rfd); /* and the lock with it */
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

static int server_start(const char *prefix, char *why, size_t why_size)
{
	int rc = create_socket(prefix, why, why_size);
	if (rc < 0)
		return rc;
	if (pipe2(srv.wake, O_CLOEXEC | O_NONBLOCK) != 0) {
		rc = -errno;
		snprintf(why, why_size, "pipe");
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
		snprintf(why, why_size, "cannot start the server thread");
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
	char why[768] = "";
	int rc = server_start(cfg->file_prefix, why, sizeof(why));
	if (rc < 0) {
		TARN__WARN(TEL_LOG,
		           "telemetry not started for prefix %s: %s (%s); tarn runs without it "
		           "(--no-telemetry or TARN_NO_TELEMETRY=1 says so on purpose)",
		           cfg->file_prefix, why, tarn_strerror(rc));
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
