/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tap_ethdev.c - the "tap" driver: a port on a Linux TAP interface
 * (/dev/net/tun, IFF_TAP | IFF_NO_PI).
 *
 *   tap:iface=NAME[,queues=N]
 *
 * The port is the far end of a virtual Ethernet cable whose near end is the
 * kernel's interface NAME: what the kernel sends out of NAME, RX reads; what
 * TX writes, the kernel receives on NAME. create() makes the interface, or
 * attaches to an existing tap of that name, and opens one file descriptor
 * per queue pair (IFF_MULTI_QUEUE when queues > 1), all non-blocking. RX
 * queue i and TX queue i share descriptor i. Every descriptor is opened at
 * create, so the interface may be moved to another network namespace
 * afterwards (the descriptors stay valid).
 *
 * MAC, MTU, promiscuous mode and link state are the interface's: create
 * reads them (or applies mac=), the control ops apply them with ioctls, start
 * brings the interface up and stop restores its previous up/down state.
 * close deletes an interface the driver created (closing the last descriptor
 * of a non-persistent tap deletes it) and puts back the flags, MTU and MAC of
 * one it attached to.
 *
 * The control ioctls go through a socket in the network namespace the
 * interface is in now (TUNGETDEVNETNS on the tun descriptor; a socket made
 * there with setns() on the calling thread and back), and name the
 * interface by its current name (TUNGETIFF), so an interface moved to
 * another namespace or renamed is still the one controlled. Kernels without
 * TUNGETDEVNETNS (before 5.2) use the caller's namespace.
 *
 * RX reads one frame per read() into a fresh mbuf (read() measured ~12%
 * faster than readv() on this path) while the MTU + 22 (Ethernet header and
 * two VLAN tags) is below the mbuf's room; otherwise with readv() into the
 * mbuf and a 64 KiB spill buffer, whose bytes go into chained mbufs. Start
 * and mtu_set pick the mode. The kernel cuts a frame longer than the buffers
 * and returns the bytes copied (older kernels: the whole length), so a
 * read() that fills the mbuf means the MTU was raised outside tarn: that
 * frame is counted in ierrors and the queue switches to readv(). TX writes
 * a one-segment packet with write() and a chain with writev().
 *
 * An interface deleted while the port runs: read()/write() fail with EBADFD;
 * the queue logs it once, counts one ierror (RX) or every packet it refuses
 * (TX, oerrors), and makes no more system calls; link_get returns -ENODEV
 * with the link down.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <linux/if_tun.h>

#include "../common/linux_if.h"
#include "ethdev_driver_priv.h"
#include "tarn_mbuf.h"
#include "tarn_mem.h"

#define TAP_LOG      TARN__ETH_LOG
#define TAP_TUN_PATH "/dev/net/tun"
/* mbufs a queue allocates at once and keeps for the next reads. */
#define TAP_RX_STASH 32
/* Spill buffer of an RX queue: the rest of a frame longer than one mbuf. */
#define TAP_SPILL_SIZE 65536
/* Longest frame for an MTU: Ethernet header and two VLAN tags, no FCS. */
#define TAP_FRAME_OVERHEAD (TARN_ETHER_HDR_LEN + 8)
/* Most segments of a packet TX writes with one writev(). */
#define TAP_TX_MAX_SEGS 64
/* Nominal speed reported while the link is up (a tap has none). */
#define TAP_SPEED_MBPS 10000

/* dev->priv: the keys (filled by ethdev from tap_keys), then the port. */
struct tap_port {
	char ifname[IFNAMSIZ]; /* iface=, "" for tarn_tapP; the name at create */
	uint32_t queues;       /* queues=: queue pairs, a descriptor each */
	unsigned nb_fds;       /* descriptors open */
	int fd[TARN_ETH_MAX_QUEUES];
	int created; /* the driver made the interface (deleted at close) */
	int multi_queue;
	/* Control socket, in the namespace identified by ns_dev/ns_ino. */
	int ctl_sock;
	dev_t ns_dev;
	ino_t ns_ino;
	/* Found at create; put back at close on an attached interface. */
	short orig_flags;
	int orig_mtu;
	struct tarn_ether_addr orig_mac;
	/* What the driver last applied or read: a different dev->mtu or
	 * dev->promiscuous at start was asked by configure(). */
	uint32_t mtu_known;
	int promisc_known;
	int up_before_start;
};

struct tap_rxq {
	int fd;
	uint16_t port_id;
	uint16_t room; /* bytes of data one mbuf holds (data room after headroom) */
	/* 1: read with readv() and the spill buffer. Written by the control
	 * path (start, mtu_set) and by the polling thread, read by the latter:
	 * relaxed atomics, nothing else is published through it. */
	int use_readv;
	int gone; /* the interface is gone (polling thread only) */
	unsigned nb_stash;
	struct tarn_mempool *mp;
	struct tarn__eth_qstats *stats;
	uint8_t *spill;
	struct tarn_mbuf *stash[TAP_RX_STASH];
	char ifname[IFNAMSIZ];
} TARN_CACHE_ALIGNED;

struct tap_txq {
	int fd;
	uint16_t port_id;
	int gone;
	struct tarn__eth_qstats *stats;
	char ifname[IFNAMSIZ];
} TARN_CACHE_ALIGNED;

static const struct tarn__key tap_keys[] = {
	{ .name = "iface",
	  .type = TARN__KEY_CUSTOM,
	  TARN__KEY_AT(struct tap_port, ifname),
	  .parse = tarn__eth_key_ifname,
	  .metavar = "NAME",
	  .values = TARN__ETH_IFNAME_VALUES,
	  .def_text = "tarn_tapP, P the port id",
	  .help = "the interface: created, or attached to if it exists and is a tap" },
	{ .name = "queues",
	  .type = TARN__KEY_UINT,
	  TARN__KEY_AT(struct tap_port, queues),
	  .min = 1,
	  .max = TARN_ETH_MAX_QUEUES,
	  .def = 1,
	  .help = "queue pairs, a descriptor each; more than 1 makes a multi-queue tap",
	  .doc = "A multi-queue tap is IFF_MULTI_QUEUE; an existing tap must have been made so "
	         "(ip tuntap add NAME mode tap multi_queue)",
	  .flags = TARN__ETH_KEY_QUEUES },
	{ .name = NULL },
};

/* ------------------------------------------------------------------------ */
/* Fast path */

/* Fill the stash of `q`. Returns the number of mbufs in it (0: pool empty). */
static unsigned rx_refill(struct tap_rxq *q)
{
	if (tarn_pktmbuf_alloc_bulk(q->mp, q->stash, TAP_RX_STASH) == 0) {
		q->nb_stash = TAP_RX_STASH;
		return TAP_RX_STASH;
	}
	/* Not a whole stash: take what the pool has. */
	unsigned n = 0;
	while (n < TAP_RX_STASH && (q->stash[n] = tarn_pktmbuf_alloc(q->mp)) != NULL)
		n++;
	q->nb_stash = n;
	return n;
}

/*
 * Put the `len - room` bytes of the spill buffer after `m` (which holds the
 * first `room` bytes) into chained mbufs. Returns 0, or -1 when the pool ran
 * dry (`m` and what was chained are freed).
 */
static int rx_spill(struct tap_rxq *q, struct tarn_mbuf *m, uint32_t len)
{
	struct tarn_mbuf *last = m;
	uint32_t off = 0, left = len - q->room;
	uint16_t segs = 1;

	m->data_len = q->room;
	while (left > 0) {
		struct tarn_mbuf *s =
		    q->nb_stash > 0 ? q->stash[--q->nb_stash] : tarn_pktmbuf_alloc(q->mp);
		if (s == NULL) {
			m->nb_segs = segs;
			m->pkt_len = len - left;
			tarn_pktmbuf_free(m);
			return -1;
		}
		const uint16_t l = left < q->room ? (uint16_t)left : q->room;
		memcpy(tarn_pktmbuf_mtod(s, uint8_t *), q->spill + off, l);
		s->data_len = l;
		last->next = s;
		last = s;
		segs++;
		off += l;
		left -= l;
	}
	m->nb_segs = segs;
	return 0;
}

static void rx_gone(struct tap_rxq *q, int err)
{
	q->gone = 1;
	tarn__eth_count(&q->stats->errors, 1);
	TARN__ERR(TAP_LOG, "tap port %u: RX on '%s' failed: %s%s", (unsigned)q->port_id, q->ifname,
	          strerror(err),
	          err == EBADFD ? " (the interface was deleted; RX stops, close the port)"
	                        : " (RX stops)");
}

static uint16_t tap_rx_burst(void *qd, struct tarn_mbuf **pkts, uint16_t n)
{
	struct tap_rxq *q = qd;
	uint64_t bytes = 0, errors = 0, nombuf = 0;
	uint16_t nb = 0;

	if (tarn_unlikely(q->gone))
		return 0;
	/* relaxed: a flag only this thread acts on; see struct tap_rxq */
	int vec = __atomic_load_n(&q->use_readv, __ATOMIC_RELAXED);
	while (nb < n) {
		if (q->nb_stash == 0 && rx_refill(q) == 0) {
			nombuf++;
			break;
		}
		struct tarn_mbuf *m = q->stash[q->nb_stash - 1];
		uint8_t *d = tarn_pktmbuf_mtod(m, uint8_t *);
		ssize_t r;
		if (tarn_likely(!vec)) {
			r = read(q->fd, d, q->room);
		} else {
			struct iovec iov[2] = { { d, q->room }, { q->spill, TAP_SPILL_SIZE } };
			r = readv(q->fd, iov, 2);
		}
		if (tarn_unlikely(r <= 0)) {
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
				rx_gone(q, errno);
			break;
		}
		const size_t cap = vec ? (size_t)q->room + TAP_SPILL_SIZE : q->room;
		if (tarn_unlikely((size_t)r >= cap)) {
			/* The buffers are full: the kernel cut the frame (no frame
			 * of the MTU fills them, see rxq_set_vec()). */
			errors++;
			if (!vec) {
				vec = 1;
				__atomic_store_n(&q->use_readv, 1, __ATOMIC_RELAXED);
				TARN__WARN(
				    TAP_LOG,
				    "tap port %u: '%s' sent a frame longer than an mbuf's %u "
				    "bytes (MTU raised outside tarn?): dropped (ierrors); the "
				    "queue reads into chains from now on",
				    (unsigned)q->port_id, q->ifname, (unsigned)q->room);
			}
			continue;
		}
		q->nb_stash--;
		if (tarn_likely((size_t)r <= q->room)) {
			m->data_len = (uint16_t)r;
		} else if (rx_spill(q, m, (uint32_t)r) < 0) {
			nombuf++;
			continue;
		}
		m->pkt_len = (uint32_t)r;
		m->port = q->port_id;
		m->packet_type = TARN_PTYPE_L2_ETHER;
		pkts[nb++] = m;
		bytes += (uint64_t)r;
	}
	if (nb > 0) {
		tarn__eth_count(&q->stats->packets, nb);
		tarn__eth_count(&q->stats->bytes, bytes);
	}
	if (tarn_unlikely(errors > 0))
		tarn__eth_count(&q->stats->errors, errors);
	if (tarn_unlikely(nombuf > 0))
		tarn__eth_count(&q->stats->nombuf, nombuf);
	return nb;
}

static void tx_gone(struct tap_txq *q, int err)
{
	q->gone = 1;
	TARN__ERR(TAP_LOG,
	          "tap port %u: TX on '%s' failed: %s (the interface was deleted; TX refuses "
	          "every packet from now on, close the port)",
	          (unsigned)q->port_id, q->ifname, strerror(err));
}

static uint16_t tap_tx_burst(void *qd, struct tarn_mbuf **pkts, uint16_t n)
{
	struct tap_txq *q = qd;
	uint64_t bytes = 0, sent = 0, dropped = 0;
	uint16_t i;

	if (tarn_unlikely(q->gone)) {
		tarn__eth_count(&q->stats->errors, n);
		return 0;
	}
	for (i = 0; i < n; i++) {
		struct tarn_mbuf *m = pkts[i];
		ssize_t r;
		if (tarn_likely(m->next == NULL)) {
			r = write(q->fd, tarn_pktmbuf_mtod(m, void *), m->data_len);
		} else {
			struct iovec iov[TAP_TX_MAX_SEGS];
			const struct tarn_mbuf *s = m;
			int k = 0;
			for (; s != NULL && k < TAP_TX_MAX_SEGS; s = s->next, k++) {
				iov[k].iov_base = tarn_pktmbuf_mtod(s, void *);
				iov[k].iov_len = s->data_len;
			}
			if (s != NULL) {
				r = -1;
				errno = EMSGSIZE;
			} else {
				r = writev(q->fd, iov, k);
			}
		}
		if (tarn_likely(r >= 0)) {
			sent++;
			bytes += m->pkt_len;
			continue;
		}
		if (errno == EINTR) {
			i--;
			continue;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS || errno == EIO)
			break; /* queue full or interface down: the caller keeps the rest */
		if (errno == EBADFD) {
			tx_gone(q, errno);
			break;
		}
		/* The kernel refused this frame (too short, too many segments):
		 * it is taken and dropped, so a caller that retries does not
		 * stall on it. */
		dropped++;
	}
	/* pkts[0 .. i-1] were written or dropped: all taken. */
	tarn_pktmbuf_free_bulk(pkts, i);
	if (sent > 0) {
		tarn__eth_count(&q->stats->packets, sent);
		tarn__eth_count(&q->stats->bytes, bytes);
	}
	if (tarn_unlikely(dropped + (uint64_t)(n - i) > 0))
		tarn__eth_count(&q->stats->errors, dropped + (uint64_t)(n - i));
	return i;
}

/* ------------------------------------------------------------------------ */
/* Control sockets and ioctls */

static int ns_self(dev_t *d, ino_t *i)
{
	struct stat st;
	if (stat("/proc/thread-self/ns/net", &st) < 0)
		return -errno;
	*d = st.st_dev;
	*i = st.st_ino;
	return 0;
}

#ifdef TUNGETDEVNETNS
/* A datagram socket made in the network namespace `nsfd`, or -errno. */
static int sock_in_ns(int nsfd)
{
	int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		return -errno;
	if (setns(nsfd, CLONE_NEWNET) < 0) {
		int e = errno;
		close(self);
		return -e;
	}
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int e = errno;
	if (setns(self, CLONE_NEWNET) < 0)
		TARN__ERR(TAP_LOG, "tap: cannot return to the thread's network namespace: %s",
		          strerror(errno));
	close(self);
	return s >= 0 ? s : -e;
}
#endif

/* The control socket for the namespace the interface is in now, or -errno
 * (-ENODEV: the interface is gone). */
static int ctl_sock(struct tap_port *tp)
{
#ifdef TUNGETDEVNETNS
	int nsfd = TARN__FAULT("tap-tungetdevnetns", EPERM) ? -1 : ioctl(tp->fd[0], TUNGETDEVNETNS);
	if (nsfd < 0) {
		if (errno == EBADFD)
			return -ENODEV;
		return tp->ctl_sock; /* old kernel or no right: the creator's namespace */
	}
	struct stat st;
	int rc = fstat(nsfd, &st);
	if (rc == 0 && st.st_dev == tp->ns_dev && st.st_ino == tp->ns_ino) {
		close(nsfd);
		return tp->ctl_sock;
	}
	int s = rc == 0 ? sock_in_ns(nsfd) : -errno;
	close(nsfd);
	if (s < 0) {
		TARN__WARN(TAP_LOG,
		           "tap '%s': cannot reach the interface's network namespace (%s): using "
		           "the process's",
		           tp->ifname, strerror(-s));
		return tp->ctl_sock;
	}
	close(tp->ctl_sock);
	tp->ctl_sock = s;
	tp->ns_dev = st.st_dev;
	tp->ns_ino = st.st_ino;
	return s;
#else
	return tp->ctl_sock;
#endif
}

/* Run a SIOC* ioctl on the interface. Returns 0 or -errno; -ENODEV when the
 * interface is gone. */
static int tap_ifreq(struct tap_port *tp, unsigned long req, struct ifreq *ifr)
{
	struct ifreq cur;
	memset(&cur, 0, sizeof(cur));
	if (TARN__FAULT("tap-tungetiff", EIO) || ioctl(tp->fd[0], TUNGETIFF, &cur) < 0)
		return errno == EBADFD ? -ENODEV : -errno;
	int s = ctl_sock(tp);
	if (s < 0)
		return s;
	memcpy(ifr->ifr_name, cur.ifr_name, IFNAMSIZ);
	if (TARN__FAULT("tap-ioctl", EIO) || ioctl(s, req, ifr) < 0)
		return -errno;
	return 0;
}

static int get_flags(struct tap_port *tp, short *flags)
{
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	int rc = tap_ifreq(tp, SIOCGIFFLAGS, &ifr);
	if (rc == 0)
		*flags = ifr.ifr_flags;
	return rc;
}

/* Set the bits `mask` of the interface flags to `val`. */
static int set_flags(struct tap_port *tp, short mask, short val)
{
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	int rc = tap_ifreq(tp, SIOCGIFFLAGS, &ifr);
	if (rc < 0)
		return rc;
	short f = (short)((ifr.ifr_flags & ~mask) | (val & mask));
	if (f == ifr.ifr_flags)
		return 0;
	ifr.ifr_flags = f;
	return tap_ifreq(tp, SIOCSIFFLAGS, &ifr);
}

static int get_mtu(struct tap_port *tp, int *mtu)
{
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	int rc = tap_ifreq(tp, SIOCGIFMTU, &ifr);
	if (rc == 0)
		*mtu = ifr.ifr_mtu;
	return rc;
}

static int set_mtu(struct tap_port *tp, int mtu)
{
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_mtu = mtu;
	return tap_ifreq(tp, SIOCSIFMTU, &ifr);
}

static int get_mac(struct tap_port *tp, struct tarn_ether_addr *mac)
{
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	int rc = tap_ifreq(tp, SIOCGIFHWADDR, &ifr);
	if (rc == 0)
		memcpy(mac->addr_bytes, ifr.ifr_hwaddr.sa_data, TARN_ETHER_ADDR_LEN);
	return rc;
}

static int set_mac(struct tap_port *tp, const struct tarn_ether_addr *mac)
{
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
	memcpy(ifr.ifr_hwaddr.sa_data, mac->addr_bytes, TARN_ETHER_ADDR_LEN);
	return tap_ifreq(tp, SIOCSIFHWADDR, &ifr);
}

/* A log line for a failed control call. */
static int ctl_err(const struct tarn__eth_dev *dev, const char *what, int rc)
{
	const struct tap_port *tp = dev->priv;
	TARN__ERR(TAP_LOG, "tap port %u: cannot %s of '%s': %s%s", (unsigned)dev->port_id, what,
	          tp->ifname, strerror(-rc),
	          rc == -ENODEV  ? " (the interface is gone)"
	          : rc == -EPERM ? " (needs CAP_NET_ADMIN: run as root)"
	                         : "");
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Create and close */

/* The tun flags of an existing interface (sysfs), -ENOENT if it is not a
 * tun/tap device, -EIO if they cannot be read. */
static long tun_flags(const char *name)
{
	char path[96];
	snprintf(path, sizeof(path), "/sys/class/net/%s/tun_flags", name);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return errno == ENOENT ? -ENOENT : -EIO;
	unsigned long v = 0;
	int ok = fscanf(f, "%lx", &v) == 1;
	fclose(f);
	return ok ? (long)v : -EIO;
}

static void fds_close(struct tap_port *tp)
{
	for (unsigned i = 0; i < tp->nb_fds; i++)
		if (tp->fd[i] >= 0)
			close(tp->fd[i]);
	tp->nb_fds = 0;
	if (tp->ctl_sock >= 0)
		close(tp->ctl_sock);
	tp->ctl_sock = -1;
}

/* Open queue descriptor `i`. */
static int fd_open(struct tarn__eth_dev *dev, struct tap_port *tp, unsigned i)
{
	int fd = TARN__FAULT("tap-open", EMFILE)
	             ? -1
	             : open(TAP_TUN_PATH, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		if (e == ENOENT || e == ENODEV || e == ENXIO) {
			TARN__ERR(TAP_LOG,
			          "port spec '%s': cannot open " TAP_TUN_PATH ": %s (load the tun "
			          "module: modprobe tun; or make the node: mkdir -p /dev/net && "
			          "mknod /dev/net/tun c 10 200)",
			          dev->spec, strerror(e));
			return -ENODEV;
		}
		if (e == EACCES || e == EPERM) {
			TARN__ERR(TAP_LOG,
			          "port spec '%s': cannot open " TAP_TUN_PATH
			          ": %s (run as root, or give the program CAP_NET_ADMIN)",
			          dev->spec, strerror(e));
			return -EPERM;
		}
		TARN__ERR(TAP_LOG, "port spec '%s': cannot open " TAP_TUN_PATH ": %s", dev->spec,
		          strerror(e));
		return -e;
	}
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", tp->ifname);
	ifr.ifr_flags = (short)(IFF_TAP | IFF_NO_PI | (tp->multi_queue ? IFF_MULTI_QUEUE : 0));
	if (TARN__FAULT("tap-tunsetiff", EIO) || ioctl(fd, TUNSETIFF, &ifr) < 0) {
		int e = errno;
		close(fd);
		if (e == EPERM || e == EACCES) {
			TARN__ERR(
			    TAP_LOG,
			    "port spec '%s': cannot %s tap '%s': %s (needs CAP_NET_ADMIN: run "
			    "as root, or setcap cap_net_admin+ep on the program)",
			    dev->spec, tp->created ? "create" : "attach to", tp->ifname,
			    strerror(e));
			return -EPERM;
		}
		if (e == EBUSY) {
			TARN__ERR(TAP_LOG,
			          "port spec '%s': tap '%s' is in use by another program (a "
			          "single-queue tap has one user)",
			          dev->spec, tp->ifname);
			return -EBUSY;
		}
		if (e == EINVAL) {
			TARN__ERR(
			    TAP_LOG,
			    "port spec '%s': interface '%s' exists and cannot be attached as a "
			    "%s tap",
			    dev->spec, tp->ifname,
			    tp->multi_queue ? "multi-queue" : "single-queue");
			return -EINVAL;
		}
		TARN__ERR(TAP_LOG, "port spec '%s': TUNSETIFF '%s': %s", dev->spec, tp->ifname,
		          strerror(e));
		return -e;
	}
	if (i == 0 && strcmp(ifr.ifr_name, tp->ifname) != 0)
		snprintf(tp->ifname, sizeof(tp->ifname), "%s", ifr.ifr_name);
	tp->fd[i] = fd;
	tp->nb_fds = i + 1;
	return 0;
}

static int tap_create(struct tarn__eth_dev *dev, const struct tarn__eth_spec *spec)
{
	struct tap_port *tp = dev->priv;
	const uint32_t queues = tp->queues;
	const char *name = tp->ifname;
	int rc;

	tp->ctl_sock = -1;
	if (tp->ifname[0] == '\0')
		snprintf(tp->ifname, sizeof(tp->ifname), "tarn_tap%u", (unsigned)dev->port_id);

	/* Attach to an existing interface, or create it. */
	tp->created = if_nametoindex(name) == 0;
	tp->multi_queue = queues > 1;
	if (!tp->created) {
		long fl = tun_flags(name);
		if (fl == -ENOENT) {
			TARN__ERR(TAP_LOG,
			          "port spec '%s': interface '%s' exists and is not a tap device "
			          "(pick another iface name)",
			          dev->spec, name);
			return -EINVAL;
		}
		if (fl >= 0 && !(fl & IFF_TAP)) {
			TARN__ERR(
			    TAP_LOG,
			    "port spec '%s': interface '%s' is a tun (layer 3) device, not a tap",
			    dev->spec, name);
			return -EINVAL;
		}
		if (fl >= 0 && queues > 1 && !(fl & IFF_MULTI_QUEUE)) {
			TARN__ERR(TAP_LOG,
			          "port spec '%s': tap '%s' is single-queue: queues=%u needs a tap "
			          "made with multi_queue (ip tuntap add %s mode tap multi_queue)",
			          dev->spec, name, (unsigned)queues, name);
			return -EINVAL;
		}
		if (fl >= 0)
			tp->multi_queue = (fl & IFF_MULTI_QUEUE) != 0;
	}
	for (unsigned i = 0; i < queues; i++) {
		rc = fd_open(dev, tp, i);
		if (rc < 0) {
			fds_close(tp);
			return rc;
		}
	}
	tp->ctl_sock =
	    TARN__FAULT("tap-socket", EMFILE) ? -1 : socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (tp->ctl_sock < 0 || ns_self(&tp->ns_dev, &tp->ns_ino) < 0) {
		rc = -errno;
		TARN__ERR(TAP_LOG, "port spec '%s': control socket: %s", dev->spec, strerror(-rc));
		fds_close(tp);
		return rc;
	}

	/* The interface's state becomes the port's. */
	rc = get_flags(tp, &tp->orig_flags);
	if (rc == 0)
		rc = get_mtu(tp, &tp->orig_mtu);
	if (rc == 0)
		rc = get_mac(tp, &tp->orig_mac);
	if (rc < 0) {
		ctl_err(dev, "read the state", rc);
		fds_close(tp);
		return rc;
	}
	if (tarn__eth_spec_get(spec, "mac") != NULL) {
		rc = set_mac(tp, &dev->mac);
		if (rc < 0) {
			ctl_err(dev, "set the MAC address", rc);
			fds_close(tp);
			return rc;
		}
	} else {
		dev->mac = tp->orig_mac;
	}
	dev->mtu = (uint32_t)tp->orig_mtu;
	dev->promiscuous = (tp->orig_flags & IFF_PROMISC) != 0;
	tp->mtu_known = dev->mtu;
	tp->promisc_known = dev->promiscuous;
	dev->numa_node = tarn__lif_numa_node(tp->ifname); /* -1: a tap has no device */
	TARN__INFO(TAP_LOG, "tap port %u: %s interface '%s', %u queue%s, mtu %u",
	           (unsigned)dev->port_id, tp->created ? "created" : "attached to", tp->ifname,
	           tp->nb_fds, tp->nb_fds > 1 ? "s (multi-queue)" : "", dev->mtu);
	return 0;
}

static void tap_close(struct tarn__eth_dev *dev)
{
	struct tap_port *tp = dev->priv;

	if (!tp->created) {
		/* Put an attached interface back as it was found. */
		short f = 0;
		int rc = get_flags(tp, &f);
		if (rc == 0 && (f & IFF_PROMISC) != (tp->orig_flags & IFF_PROMISC))
			rc = set_flags(tp, IFF_PROMISC, tp->orig_flags);
		int mtu = 0;
		if (rc == 0)
			rc = get_mtu(tp, &mtu);
		if (rc == 0 && mtu != tp->orig_mtu)
			rc = set_mtu(tp, tp->orig_mtu);
		struct tarn_ether_addr mac;
		if (rc == 0)
			rc = get_mac(tp, &mac);
		if (rc == 0 && memcmp(&mac, &tp->orig_mac, sizeof(mac)) != 0)
			rc = set_mac(tp, &tp->orig_mac);
		if (rc < 0 && rc != -ENODEV)
			ctl_err(dev, "restore the state", rc);
	}
	fds_close(tp);
	TARN__INFO(TAP_LOG, "tap port %u: %s '%s'", (unsigned)dev->port_id,
	           tp->created ? "deleted" : "detached from", tp->ifname);
}

/* ------------------------------------------------------------------------ */
/* Queues */

static void rxq_set_vec(struct tap_rxq *q, uint32_t mtu)
{
	/* relaxed: see struct tap_rxq */
	/* read() only while the longest frame leaves the mbuf not full */
	__atomic_store_n(&q->use_readv, mtu + TAP_FRAME_OVERHEAD >= q->room, __ATOMIC_RELAXED);
}

/* ethdev checked the queue against queues= and the pool (an Ethernet header
 * fits after the headroom). nb_desc is not used: the kernel queues frames
 * (the interface's txqueuelen). */
static int tap_rx_queue_setup(struct tarn__eth_dev *dev, void *qd, const struct tarn__eth_qconf *c)
{
	struct tap_port *tp = dev->priv;
	struct tap_rxq *q = qd;
	uint8_t *spill = malloc(TAP_SPILL_SIZE);

	if (spill == NULL) {
		TARN__ERR(TAP_LOG, "tap port %u: RX queue %u: out of memory",
		          (unsigned)dev->port_id, (unsigned)c->id);
		return -ENOMEM;
	}
	q->fd = tp->fd[c->id];
	q->port_id = dev->port_id;
	q->room = (uint16_t)(tarn_pktmbuf_data_room_size(c->mp) - TARN_PKTMBUF_HEADROOM);
	q->mp = c->mp;
	q->stats = c->stats;
	q->spill = spill;
	snprintf(q->ifname, sizeof(q->ifname), "%s", tp->ifname);
	rxq_set_vec(q, dev->mtu);
	return 0;
}

static int tap_tx_queue_setup(struct tarn__eth_dev *dev, void *qd, const struct tarn__eth_qconf *c)
{
	struct tap_port *tp = dev->priv;
	struct tap_txq *q = qd;

	q->fd = tp->fd[c->id];
	q->port_id = dev->port_id;
	q->stats = c->stats;
	snprintf(q->ifname, sizeof(q->ifname), "%s", tp->ifname);
	return 0;
}

/* The mbufs kept for the next reads go back to the pool. */
static void tap_rx_queue_release(struct tarn__eth_dev *dev, void *qd)
{
	struct tap_rxq *q = qd;

	(void)dev;
	tarn_pktmbuf_free_bulk(q->stash, q->nb_stash);
	free(q->spill);
}

/* ------------------------------------------------------------------------ */
/* Start, stop and the control ops */

static int tap_start(struct tarn__eth_dev *dev)
{
	struct tap_port *tp = dev->priv;
	short f = 0;
	int mtu = 0;

	int rc = get_flags(tp, &f);
	if (rc < 0)
		return ctl_err(dev, "read the flags", rc);
	if (dev->mtu != tp->mtu_known) {
		/* configure() asked for this MTU */
		rc = set_mtu(tp, (int)dev->mtu);
		if (rc < 0)
			return ctl_err(dev, "set the MTU", rc);
		tp->mtu_known = dev->mtu;
	} else if (get_mtu(tp, &mtu) == 0 && mtu > 0) {
		dev->mtu = tp->mtu_known = (uint32_t)mtu; /* follow the interface */
	}
	const short want_promisc = dev->promiscuous != tp->promisc_known
	                               ? (short)(dev->promiscuous ? IFF_PROMISC : 0)
	                               : (short)(f & IFF_PROMISC);
	tp->up_before_start = (f & IFF_UP) != 0;
	rc = set_flags(tp, IFF_UP | IFF_PROMISC, (short)(IFF_UP | want_promisc));
	if (rc < 0)
		return ctl_err(dev, "bring up", rc);
	dev->promiscuous = tp->promisc_known = want_promisc != 0;
	for (uint16_t q = 0; q < dev->nb_rxq; q++)
		rxq_set_vec(dev->rxq[q], dev->mtu);
	return 0;
}

static void tap_stop(struct tarn__eth_dev *dev)
{
	struct tap_port *tp = dev->priv;
	if (tp->up_before_start)
		return;
	int rc = set_flags(tp, IFF_UP, 0);
	if (rc == -ENODEV)
		TARN__INFO(TAP_LOG, "tap port %u: '%s' is gone", (unsigned)dev->port_id,
		           tp->ifname);
	else if (rc < 0)
		ctl_err(dev, "bring down", rc);
}

static int tap_link_get(struct tarn__eth_dev *dev, struct tarn_eth_link *link)
{
	struct tap_port *tp = dev->priv;
	short f = 0;
	int rc = get_flags(tp, &f);
	if (rc < 0)
		return rc == -ENODEV ? rc : ctl_err(dev, "read the link state", rc);
	if ((f & IFF_UP) && (f & IFF_RUNNING)) {
		link->up = 1;
		link->speed_mbps = TAP_SPEED_MBPS;
		link->full_duplex = 1;
	}
	return 0;
}

static int tap_promisc_set(struct tarn__eth_dev *dev, int on)
{
	struct tap_port *tp = dev->priv;
	int rc = set_flags(tp, IFF_PROMISC, on ? IFF_PROMISC : 0);
	if (rc < 0)
		return ctl_err(dev, on ? "enable promiscuous mode" : "disable promiscuous mode",
		               rc);
	tp->promisc_known = on;
	return 0;
}

static int tap_mtu_set(struct tarn__eth_dev *dev, uint32_t mtu)
{
	struct tap_port *tp = dev->priv;
	int rc = set_mtu(tp, (int)mtu);
	if (rc < 0)
		return ctl_err(dev, "set the MTU", rc);
	tp->mtu_known = mtu;
	for (uint16_t q = 0; q < TARN_ETH_MAX_QUEUES; q++)
		if (dev->rxq[q] != NULL)
			rxq_set_vec(dev->rxq[q], mtu);
	return 0;
}

static int tap_mac_set(struct tarn__eth_dev *dev, const struct tarn_ether_addr *mac)
{
	int rc = set_mac(dev->priv, mac);
	return rc < 0 ? ctl_err(dev, "set the MAC address", rc) : 0;
}

const struct tarn__eth_driver tarn__eth_tap_driver = {
	.name = "tap",
	.summary = "Linux TAP interface",
	.keys = tap_keys,
	.priv_size = sizeof(struct tap_port),
	.rxq_size = sizeof(struct tap_rxq),
	.txq_size = sizeof(struct tap_txq),
	.rx_data_min = TARN_ETHER_HDR_LEN,
	.rx_data_what = "an Ethernet header",
	.create = tap_create,
	.close = tap_close,
	.rx_queue_setup = tap_rx_queue_setup,
	.tx_queue_setup = tap_tx_queue_setup,
	.rx_queue_release = tap_rx_queue_release,
	.start = tap_start,
	.stop = tap_stop,
	.link_get = tap_link_get,
	.promisc_set = tap_promisc_set,
	.mtu_set = tap_mtu_set,
	.mac_set = tap_mac_set,
	.rx_burst = tap_rx_burst,
	.tx_burst = tap_tx_burst,
};
