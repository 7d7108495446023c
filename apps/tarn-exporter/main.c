/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tarn-exporter: serves the figures of every tarn process it can see (and
 * of DPDK processes that use tarn's plugin) as OpenMetrics text over HTTP,
 * for Prometheus. docs/metrics.md lists the metrics.
 *
 *   tarn-exporter [--listen ADDR:PORT] [--runtime-dir DIR]... [--socket PATH]...
 *
 * Threads: the main thread runs the HTTP side, one poll() loop over
 * non-blocking sockets, so a slow or hostile client never blocks another;
 * the collector thread reads the telemetry sockets when a scrape asks for
 * it (collect.c). A scrape is answered with a collection that started
 * after its request arrived; scrapes that arrive together share one.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <tarn/tarn.h>

#include "app_util.h"
#include "collect.h"
#include "expo.h"
#include "http.h"

#define PROG           "tarn-exporter"
#define DEFAULT_PORT   "9478"
#define EXIT_USAGE     2

#define CT_OPENMETRICS "application/openmetrics-text; version=1.0.0; charset=utf-8"
#define CT_PROMETHEUS  "text/plain; version=0.0.4; charset=utf-8"
#define CT_TEXT        "text/plain; charset=utf-8"

/* How long a closed connection's unread input is drained (so the close
 * does not reset the connection under a response not yet read). */
#define LINGER_S 1.0

/* ------------------------------------------------------------------------ */
/* Options */

static struct {
	const char *listen;
	double process_timeout;
	double http_timeout;
	long max_conns;
	struct x_config col;
	char default_dir[256];
} opt = {
	.listen = "127.0.0.1:" DEFAULT_PORT,
	.process_timeout = 1.0,
	.http_timeout = 10.0,
	.max_conns = 64,
};

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: " PROG " [options]\n"
	        "\n"
	        "Serve the figures of every tarn process on this machine (pools, caches,\n"
	        "ports, queues, lcores; DPDK processes that use tarn's plugin too) as\n"
	        "OpenMetrics text at http://ADDR:PORT/metrics, for Prometheus. Each scrape\n"
	        "reads the processes' telemetry sockets; processes that start are picked\n"
	        "up and processes that exit disappear, without a restart.\n"
	        "\n"
	        "  -l, --listen ADDR:PORT    where to listen (default 127.0.0.1:" DEFAULT_PORT
	        "; [::1]:PORT\n"
	        "                            for IPv6; port 0 picks a free port)\n"
	        "  -r, --runtime-dir DIR     look for DIR/<prefix>/dpdk_telemetry.v2[:N] sockets\n"
	        "                            (repeatable, at most %d; default: <run>/dpdk)\n"
	        "  -s, --socket PATH         read this telemetry socket too (repeatable)\n"
	        "      --process-timeout S   seconds one process may take to answer, 0.01-60\n"
	        "                            (default 1); a slower one is reported down\n"
	        "      --http-timeout S      seconds a client has to send its request and to\n"
	        "                            read the response, 0.1-3600 (default 10)\n"
	        "      --max-connections N   HTTP connections at a time, 1-4096 (default 64)\n"
	        "  -h, --help                this text\n"
	        "      --version             print the version and exit\n"
	        "\n"
	        "<run> is $RUNTIME_DIRECTORY, /var/run for root, else $XDG_RUNTIME_DIR or /tmp\n"
	        "(where tarn and DPDK put their telemetry sockets). With --socket and no\n"
	        "--runtime-dir, only the given sockets are read.\n"
	        "Only GET /metrics is served; other paths get 404, other methods 405.\n"
	        "Exit status: 0 on SIGINT or SIGTERM, 1 when it cannot listen, 2 for bad usage.\n",
	        X_MAX_DIRS);
}

/* Split ADDR:PORT ("[v6]:PORT" for IPv6). 0, or -1 (printed). */
static int parse_listen(const char *spec, char *host, size_t hlen, const char **port)
{
	if (spec[0] == '[') {
		const char *close_b = strchr(spec, ']');
		if (close_b == NULL || close_b[1] != ':' || (size_t)(close_b - spec) > hlen)
			goto bad;
		snprintf(host, hlen, "%.*s", (int)(close_b - spec - 1), spec + 1);
		*port = close_b + 2;
	} else {
		const char *colon = strrchr(spec, ':');
		if (colon == NULL || colon == spec || (size_t)(colon - spec) >= hlen ||
		    memchr(spec, ':', (size_t)(colon - spec)) != NULL)
			goto bad;
		snprintf(host, hlen, "%.*s", (int)(colon - spec), spec);
		*port = colon + 1;
	}
	char *end;
	errno = 0;
	long pn = strtol(*port, &end, 10);
	if ((*port)[0] < '0' || (*port)[0] > '9' || *end != '\0' || errno != 0 || pn < 0 ||
	    pn > 65535 || host[0] == '\0')
		goto bad;
	return 0;
bad:
	fprintf(stderr,
	        PROG ": --listen '%s': expected ADDR:PORT (127.0.0.1:9478, [::1]:9478), port "
	             "0-65535 (see --help)\n",
	        spec);
	return -1;
}

enum { OPT_PROCESS_TIMEOUT = 256, OPT_HTTP_TIMEOUT, OPT_MAX_CONNS, OPT_VERSION };

static const struct option long_opts[] = {
	{ "listen", required_argument, NULL, 'l' },
	{ "runtime-dir", required_argument, NULL, 'r' },
	{ "socket", required_argument, NULL, 's' },
	{ "process-timeout", required_argument, NULL, OPT_PROCESS_TIMEOUT },
	{ "http-timeout", required_argument, NULL, OPT_HTTP_TIMEOUT },
	{ "max-connections", required_argument, NULL, OPT_MAX_CONNS },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

/* 0, 1 (--help or --version printed) or -1 (error printed). */
static int parse_args(int argc, char **argv)
{
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":l:r:s:h", long_opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			opt.listen = optarg;
			break;
		case 'r':
			if (optarg[0] == '\0')
				return app_bad_value(PROG, "runtime-dir", optarg, "a directory");
			if (opt.col.ndirs >= X_MAX_DIRS) {
				fprintf(stderr, PROG ": at most %d --runtime-dir\n", X_MAX_DIRS);
				return -1;
			}
			opt.col.dirs[opt.col.ndirs++] = optarg;
			break;
		case 's':
			if (optarg[0] == '\0' || strlen(optarg) >= 108)
				return app_bad_value(PROG, "socket", optarg,
				                     "a socket path of 1 to 107 characters");
			if (opt.col.nsockets >= X_MAX_SOCKETS) {
				fprintf(stderr, PROG ": at most %d --socket\n", X_MAX_SOCKETS);
				return -1;
			}
			opt.col.sockets[opt.col.nsockets++] = optarg;
			break;
		case OPT_PROCESS_TIMEOUT:
			if (app_parse_seconds(PROG, "process-timeout", optarg, 0.01, 60,
			                      &opt.process_timeout) < 0)
				return -1;
			break;
		case OPT_HTTP_TIMEOUT:
			if (app_parse_seconds(PROG, "http-timeout", optarg, 0.1, 3600,
			                      &opt.http_timeout) < 0)
				return -1;
			break;
		case OPT_MAX_CONNS: {
			long v;
			if (app_parse_long(PROG, "max-connections", optarg, 1, 4096, &v) < 0)
				return -1;
			opt.max_conns = v;
			break;
		}
		case 'h':
			usage(stdout);
			return 1;
		case OPT_VERSION:
			printf(PROG " %s\n", tarn_version());
			return 1;
		default:
			return app_opt_error(PROG, c, argv);
		}
	}
	if (app_no_operand(PROG, argc, argv) < 0)
		return -1;
	char host[256];
	const char *port;
	if (parse_listen(opt.listen, host, sizeof(host), &port) < 0)
		return -1;
	if (opt.col.ndirs == 0 && opt.col.nsockets == 0) {
		int rc = tarn_telemetry_runtime_dir(opt.default_dir, sizeof(opt.default_dir));
		if (rc == -EACCES) {
			char why[512];
			tarn_telemetry_runtime_dir_refusals(why, sizeof(why));
			fprintf(stderr, PROG ": no runtime directory is safe for this user: %s\n",
			        why);
			return -1;
		}
		if (rc < 0) {
			fprintf(stderr, PROG ": the runtime directory's path is too long\n");
			return -1;
		}
		opt.col.dirs[opt.col.ndirs++] = opt.default_dir;
	}
	opt.col.process_timeout = opt.process_timeout;
	return 0;
}

/* Listen on --listen. The socket, or -1 (printed). */
static int listen_on(const char *spec, char *shown, size_t shown_len)
{
	char host[256];
	const char *port;
	if (parse_listen(spec, host, sizeof(host), &port) < 0)
		return -1;
	struct addrinfo hints = { .ai_family = AF_UNSPEC,
		                  .ai_socktype = SOCK_STREAM,
		                  .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *ai = NULL;
	int rc = getaddrinfo(host, port, &hints, &ai);
	if (rc != 0) {
		fprintf(stderr, PROG ": --listen '%s': %s\n", spec, gai_strerror(rc));
		return -1;
	}
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fprintf(stderr, PROG ": socket: %s\n", strerror(errno));
		freeaddrinfo(ai);
		return -1;
	}
	const int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 128) != 0) {
		fprintf(stderr, PROG ": cannot listen on %s: %s\n", spec, strerror(errno));
		freeaddrinfo(ai);
		close(fd);
		return -1;
	}
	freeaddrinfo(ai);
	/* what we got (the port, when 0 was asked for) */
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char a[INET6_ADDRSTRLEN] = "?";
	unsigned p = 0;
	getsockname(fd, (struct sockaddr *)&ss, &sl);
	if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a));
		p = ntohs(s6->sin6_port);
		snprintf(shown, shown_len, "[%s]:%u", a, p);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a));
		p = ntohs(s4->sin_port);
		snprintf(shown, shown_len, "%s:%u", a, p);
	}
	return fd;
}

/* ------------------------------------------------------------------------ */
/* The collector thread */

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	uint64_t requested; /* highest generation asked for */
	uint64_t started;   /* generation of the collection running or done last */
	uint64_t published; /* generation of `model` */
	struct x_model *model;
	uint64_t collections;
	volatile int stop;
	int efd; /* eventfd: a collection was published */
} col = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER, .efd = -1 };

static void *collector(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&col.mu);
	for (;;) {
		while (!col.stop && col.requested <= col.started)
			pthread_cond_wait(&col.cv, &col.mu);
		if (col.stop)
			break;
		col.started = col.requested;
		const uint64_t gen = col.started;
		pthread_mutex_unlock(&col.mu);
		struct x_model *m = x_collect(&opt.col);
		pthread_mutex_lock(&col.mu);
		struct x_model *old = col.model;
		col.model = m;
		col.published = gen;
		col.collections++;
		pthread_mutex_unlock(&col.mu);
		x_model_free(old);
		const uint64_t one = 1;
		if (write(col.efd, &one, sizeof(one)) < 0) {
			/* cannot fail with 8 bytes unless the counter overflows */
		}
		pthread_mutex_lock(&col.mu);
	}
	pthread_mutex_unlock(&col.mu);
	return NULL;
}

/* Ask for a collection that starts after now; its generation. */
static uint64_t want_collection(void)
{
	pthread_mutex_lock(&col.mu);
	const uint64_t need = col.started + 1;
	if (col.requested < need)
		col.requested = need;
	pthread_cond_signal(&col.cv);
	pthread_mutex_unlock(&col.mu);
	return need;
}

/* ------------------------------------------------------------------------ */
/* HTTP connections */

enum cstate { C_FREE, C_READING, C_WAITING, C_WRITING, C_LINGER };

struct conn {
	int fd;
	enum cstate state;
	double deadline;
	double since; /* accepted at */
	uint64_t need;
	int om;
	size_t inlen;
	char in[HTTP_MAX_HEAD];
	char *out;
	size_t outlen, outoff;
};

static struct conn *conns;
static struct expo_self self;

static void conn_close(struct conn *c)
{
	close(c->fd);
	free(c->out);
	c->out = NULL;
	c->fd = -1;
	c->state = C_FREE;
}

static void drop(struct conn *c, enum expo_drop why)
{
	self.dropped[why]++;
	conn_close(c);
}

/* Queue a response; the connection then writes it. */
static void respond(struct conn *c, int code, const char *ctype, const char *body, size_t blen)
{
	self.responses[expo_code_index(code)]++;
	free(c->out);
	c->out = http_response(code, ctype, body, blen, &c->outlen);
	c->outoff = 0;
	if (c->out == NULL) {
		drop(c, DROP_WRITE);
		return;
	}
	c->state = C_WRITING;
	c->deadline = app_now_s() + opt.http_timeout;
}

static void respond_error(struct conn *c, int code)
{
	char body[256];
	int n;
	if (code == 404)
		n = snprintf(body, sizeof(body), PROG ": not found: the metrics are at /metrics\n");
	else if (code == 405)
		n = snprintf(body, sizeof(body), PROG ": method not allowed: only GET /metrics\n");
	else
		n = snprintf(body, sizeof(body), PROG ": %d %s\n", code, http_reason(code));
	respond(c, code, CT_TEXT, body, (size_t)n);
}

/* The metrics of the published collection. Called under col.mu. */
static void respond_metrics(struct conn *c)
{
	self.collections = col.collections;
	size_t len = 0;
	/* counted before rendering, so that the response counts itself */
	self.responses[expo_code_index(200)]++;
	self.scrapes[c->om ? 1 : 0]++;
	char *body = expo_render(col.model, &self, c->om, &len);
	self.responses[expo_code_index(200)]--; /* respond() counts it */
	if (body == NULL) {
		self.scrapes[c->om ? 1 : 0]--;
		respond_error(c, 500);
		return;
	}
	respond(c, 200, c->om ? CT_OPENMETRICS : CT_PROMETHEUS, body, len);
	free(body);
}

static void on_readable(struct conn *c)
{
	if (c->state == C_LINGER) {
		char junk[4096];
		ssize_t n = recv(c->fd, junk, sizeof(junk), MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			conn_close(c);
		return;
	}
	ssize_t n = recv(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		/* the client gave up, or reset: nothing to answer */
		conn_close(c);
		return;
	}
	c->inlen += (size_t)n;
	const size_t head = http_head_end(c->in, c->inlen);
	if (head == 0) {
		if (c->inlen == sizeof(c->in))
			respond_error(c, 431);
		return;
	}
	int om = 0;
	const int code = http_judge(c->in, head, &om);
	if (code != 200) {
		respond_error(c, code);
		return;
	}
	c->om = om;
	c->state = C_WAITING;
	c->need = want_collection();
}

static void on_writable(struct conn *c)
{
	while (c->outoff < c->outlen) {
		ssize_t n = send(c->fd, c->out + c->outoff, c->outlen - c->outoff,
		                 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			drop(c, DROP_WRITE);
			return;
		}
		c->outoff += (size_t)n;
	}
	/* all written: half-close, then drain what the client still sends */
	free(c->out);
	c->out = NULL;
	shutdown(c->fd, SHUT_WR);
	c->state = C_LINGER;
	c->deadline = app_now_s() + LINGER_S;
}

static void on_timeout(struct conn *c)
{
	switch (c->state) {
	case C_READING:
		if (c->inlen == 0)
			drop(c, DROP_TIMEOUT);
		else
			respond_error(c, 408); /* a request that never completed */
		/* 408's own deadline: short, the client is already slow */
		if (c->state == C_WRITING)
			c->deadline = app_now_s() + 1.0;
		break;
	case C_WRITING:
		drop(c, DROP_TIMEOUT);
		break;
	case C_LINGER:
		conn_close(c);
		break;
	default:
		break;
	}
}

/* Room for a new connection: a free slot, or the one evicted to make room
 * (the oldest still sending its request). NULL if every slot is busy with
 * a complete request. */
static struct conn *slot_for_new(void)
{
	struct conn *oldest = NULL;
	for (long i = 0; i < opt.max_conns; i++) {
		if (conns[i].state == C_FREE)
			return &conns[i];
		if ((conns[i].state == C_READING || conns[i].state == C_LINGER) &&
		    (oldest == NULL || conns[i].since < oldest->since))
			oldest = &conns[i];
	}
	if (oldest != NULL) {
		if (oldest->state == C_LINGER)
			conn_close(oldest);
		else
			drop(oldest, DROP_EVICTED);
	}
	return oldest;
}

static void accept_all(int lfd)
{
	for (int i = 0; i < 64; i++) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return; /* EAGAIN, or an error of that one connection */
		struct conn *c = slot_for_new();
		if (c == NULL) {
			static const char full[] = "HTTP/1.1 503 Service Unavailable\r\n"
			                           "Content-Length: 0\r\nConnection: close\r\n\r\n";
			if (send(fd, full, sizeof(full) - 1, MSG_DONTWAIT | MSG_NOSIGNAL) ==
			    (ssize_t)sizeof(full) - 1)
				self.responses[expo_code_index(503)]++;
			else
				self.dropped[DROP_FULL]++;
			close(fd);
			continue;
		}
		c->fd = fd;
		c->state = C_READING;
		c->inlen = 0;
		c->since = app_now_s();
		c->deadline = c->since + opt.http_timeout;
	}
}

/* Answer the waiting connections whose collection is published. */
static void serve_waiting(void)
{
	pthread_mutex_lock(&col.mu);
	for (long i = 0; i < opt.max_conns; i++)
		if (conns[i].state == C_WAITING && conns[i].need <= col.published)
			respond_metrics(&conns[i]);
	pthread_mutex_unlock(&col.mu);
	/* start writing at once */
	for (long i = 0; i < opt.max_conns; i++)
		if (conns[i].state == C_WRITING)
			on_writable(&conns[i]);
}

/* ------------------------------------------------------------------------ */

int main(int argc, char **argv)
{
	int rc = parse_args(argc, argv);
	if (rc != 0)
		return rc > 0 ? 0 : EXIT_USAGE;
	self.version = tarn_version();

	char shown[INET6_ADDRSTRLEN + 16];
	const int lfd = listen_on(opt.listen, shown, sizeof(shown));
	if (lfd < 0)
		return 1;
	/* SIGINT and SIGTERM come through a signalfd, in every thread blocked */
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	const int sfd = signalfd(-1, &sigs, SFD_NONBLOCK | SFD_CLOEXEC);
	col.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	conns = calloc((size_t)opt.max_conns, sizeof(*conns));
	struct pollfd *pfd = calloc((size_t)opt.max_conns + 3, sizeof(*pfd));
	pthread_t th;
	opt.col.stop = &col.stop;
	rc = sfd < 0 || col.efd < 0 || conns == NULL || pfd == NULL
	         ? (errno ? errno : ENOMEM)
	         : pthread_create(&th, NULL, collector, NULL);
	if (rc != 0) {
		fprintf(stderr, PROG ": cannot start: %s\n", strerror(rc));
		free(conns);
		free(pfd);
		if (sfd >= 0)
			close(sfd);
		if (col.efd >= 0)
			close(col.efd);
		close(lfd);
		return 1;
	}
	for (long i = 0; i < opt.max_conns; i++)
		conns[i].fd = -1;
	printf(PROG ": serving http://%s/metrics; telemetry sockets from", shown);
	for (unsigned i = 0; i < opt.col.ndirs; i++)
		printf(" %s/*/", opt.col.dirs[i]);
	for (unsigned i = 0; i < opt.col.nsockets; i++)
		printf(" %s", opt.col.sockets[i]);
	printf("\n");
	fflush(stdout);

	for (int running = 1; running;) {
		/* poll set: listener, signals, collector, connections */
		nfds_t n = 0;
		pfd[n++] = (struct pollfd){ .fd = lfd, .events = POLLIN };
		pfd[n++] = (struct pollfd){ .fd = sfd, .events = POLLIN };
		pfd[n++] = (struct pollfd){ .fd = col.efd, .events = POLLIN };
		double next = app_now_s() + 3600;
		for (long i = 0; i < opt.max_conns; i++) {
			struct conn *c = &conns[i];
			short ev = c->state == C_READING || c->state == C_LINGER ? POLLIN
			           : c->state == C_WRITING                       ? POLLOUT
			                                                         : 0;
			pfd[n++] = (struct pollfd){ .fd = ev ? c->fd : -1, .events = ev };
			if (ev && c->deadline < next)
				next = c->deadline;
		}
		double wait = next - app_now_s();
		int r = poll(pfd, n, wait <= 0 ? 0 : (int)(wait * 1000) + 1);
		if (r < 0 && errno != EINTR) {
			fprintf(stderr, PROG ": poll: %s\n", strerror(errno));
			break;
		}
		if (r > 0 && (pfd[1].revents & POLLIN)) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
				running = 0;
		}
		if (r > 0 && (pfd[2].revents & POLLIN)) {
			uint64_t v;
			if (read(col.efd, &v, sizeof(v)) == (ssize_t)sizeof(v))
				serve_waiting();
		}
		for (long i = 0; r > 0 && i < opt.max_conns; i++) {
			struct conn *c = &conns[i];
			const short rev = pfd[3 + i].revents;
			if (pfd[3 + i].fd < 0 || rev == 0 || c->fd != pfd[3 + i].fd)
				continue;
			if (c->state == C_WRITING && (rev & (POLLOUT | POLLERR | POLLHUP)))
				on_writable(c);
			else if (rev & (POLLIN | POLLERR | POLLHUP))
				on_readable(c);
		}
		/* a request that completed above may already be answerable */
		serve_waiting();
		const double t = app_now_s();
		for (long i = 0; i < opt.max_conns; i++) {
			struct conn *c = &conns[i];
			if ((c->state == C_READING || c->state == C_WRITING ||
			     c->state == C_LINGER) &&
			    c->deadline <= t)
				on_timeout(c);
		}
		if (r > 0 && (pfd[0].revents & POLLIN))
			accept_all(lfd);
	}

	pthread_mutex_lock(&col.mu);
	col.stop = 1;
	pthread_cond_signal(&col.cv);
	pthread_mutex_unlock(&col.mu);
	pthread_join(th, NULL);
	for (long i = 0; i < opt.max_conns; i++)
		if (conns[i].state != C_FREE)
			conn_close(&conns[i]);
	x_model_free(col.model);
	close(lfd);
	close(sfd);
	close(col.efd);
	free(conns);
	free(pfd);
	return 0;
}
