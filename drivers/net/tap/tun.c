/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tun.c - the tap driver's descriptors and the way to its interface.
 *
 * The queue descriptors come from /dev/net/tun (TUNSETIFF on the name: the
 * kernel creates the interface, or attaches to the tap of that name). The
 * control ioctls go through a socket in the network namespace the interface
 * is in now (TUNGETDEVNETNS on the tun descriptor; a socket made there with
 * setns() on the calling thread and back), and name the interface by its
 * current name (TUNGETIFF), so an interface moved to another namespace or
 * renamed is still the one controlled. Kernels without TUNGETDEVNETNS
 * (before 5.2) use the creator's namespace.
 *
 * Fault points: "tap-open", "tap-tunsetiff", "tap-socket",
 * "tap-tungetdevnetns", "tap-tungetiff", "tap-ioctl". Control path only.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tap_priv.h"

/* The calling thread's network namespace (device and inode). */
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
		return tp->lif.fd; /* old kernel or no right: the creator's namespace */
	}
	struct stat st;
	int rc = fstat(nsfd, &st);
	if (rc == 0 && st.st_dev == tp->ns_dev && st.st_ino == tp->ns_ino) {
		close(nsfd);
		return tp->lif.fd;
	}
	int s = rc == 0 ? sock_in_ns(nsfd) : -errno;
	close(nsfd);
	if (s < 0) {
		TARN__WARN(TAP_LOG,
		           "tap '%s': cannot reach the interface's network namespace (%s): using "
		           "the process's",
		           tp->lif.ifname, strerror(-s));
		return tp->lif.fd;
	}
	close(tp->lif.fd);
	tp->lif.fd = s;
	tp->ns_dev = st.st_dev;
	tp->ns_ino = st.st_ino;
	return s;
#else
	return tp->lif.fd;
#endif
}

int tarn__tap_ifreq(struct tarn__lif *l, unsigned long req, struct ifreq *ifr)
{
	struct tap_port *tp = (struct tap_port *)l; /* the first member of tap_port */
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

int tarn__tap_ctl_open(struct tarn__eth_dev *dev, struct tap_port *tp)
{
	tp->lif.fd =
	    TARN__FAULT("tap-socket", EMFILE) ? -1 : socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (tp->lif.fd < 0 || ns_self(&tp->ns_dev, &tp->ns_ino) < 0) {
		const int rc = -errno;
		TARN__ERR(TAP_LOG, "port spec '%s': control socket: %s", dev->spec, strerror(-rc));
		return rc;
	}
	return 0;
}

long tarn__tap_tun_flags(const char *name)
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

void tarn__tap_fds_close(struct tap_port *tp)
{
	for (unsigned i = 0; i < tp->nb_fds; i++)
		if (tp->fd[i] >= 0)
			close(tp->fd[i]);
	tp->nb_fds = 0;
	if (tp->lif.fd >= 0)
		close(tp->lif.fd);
	tp->lif.fd = -1;
}

/* Open queue descriptor `i`. */
int tarn__tap_fd_open(struct tarn__eth_dev *dev, struct tap_port *tp, unsigned i)
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
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", tp->lif.ifname);
	ifr.ifr_flags = (short)(IFF_TAP | IFF_NO_PI | (tp->multi_queue ? IFF_MULTI_QUEUE : 0));
	if (TARN__FAULT("tap-tunsetiff", EIO) || ioctl(fd, TUNSETIFF, &ifr) < 0) {
		int e = errno;
		close(fd);
		if (e == EPERM || e == EACCES) {
			TARN__ERR(
			    TAP_LOG,
			    "port spec '%s': cannot %s tap '%s': %s (needs CAP_NET_ADMIN: run "
			    "as root, or setcap cap_net_admin+ep on the program)",
			    dev->spec, tp->created ? "create" : "attach to", tp->lif.ifname,
			    strerror(e));
			return -EPERM;
		}
		if (e == EBUSY) {
			TARN__ERR(TAP_LOG,
			          "port spec '%s': tap '%s' is in use by another program (a "
			          "single-queue tap has one user)",
			          dev->spec, tp->lif.ifname);
			return -EBUSY;
		}
		if (e == EINVAL) {
			TARN__ERR(
			    TAP_LOG,
			    "port spec '%s': interface '%s' exists and cannot be attached as a "
			    "%s tap",
			    dev->spec, tp->lif.ifname,
			    tp->multi_queue ? "multi-queue" : "single-queue");
			return -EINVAL;
		}
		TARN__ERR(TAP_LOG, "port spec '%s': TUNSETIFF '%s': %s", dev->spec, tp->lif.ifname,
		          strerror(e));
		return -e;
	}
	if (i == 0 && strcmp(ifr.ifr_name, tp->lif.ifname) != 0)
		snprintf(tp->lif.ifname, sizeof(tp->lif.ifname), "%s", ifr.ifr_name);
	tp->fd[i] = fd;
	tp->nb_fds = i + 1;
	return 0;
}
