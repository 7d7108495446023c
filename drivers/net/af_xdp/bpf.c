/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * bpf.c - the XDP program of the af_xdp driver: a six-instruction
 * program that redirects every packet of an RX queue to the AF_XDP socket
 * of that queue in an XSKMAP, and passes the packets of queues without a
 * socket to the kernel stack (the fallback action of bpf_redirect_map()):
 *
 *     r2 = ctx->rx_queue_index
 *     r1 = &xsks_map
 *     r3 = XDP_PASS
 *     call bpf_redirect_map
 *     exit
 *
 * It is written as BPF instructions here and loaded with libbpf's
 * bpf_prog_load(), so building tarn needs no BPF compiler and no object
 * file is looked up at run time.
 *
 * Attachment. By default the program is attached through a bpf_link
 * (BPF_LINK_CREATE, kernel 5.9): the kernel detaches it when the link's file
 * descriptor closes, that is at the last stop of the interface's ports and
 * also when the process dies, so a crash leaves nothing on the interface.
 * With attach=legacy it is attached through netlink (what `ip link set dev X
 * xdp` does) and stays until detached: the program is then named after the
 * process (AXDP_PROG_PREFIX + pid in hexadecimal), and a later create or
 * start on the interface removes a program of that name whose process no
 * longer exists.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/if_link.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "axdp_priv.h"

#ifndef BPF_F_XDP_HAS_FRAGS
#define BPF_F_XDP_HAS_FRAGS (1U << 5)
#endif

static struct axdp_prog *prog_list;

/* ------------------------------------------------------------------------ */
/* The program */

#define INSN(c, d, s, o, i)                                                                        \
	((struct bpf_insn){ .code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i) })

/* Load the program above, redirecting to XSKMAP `map_fd`, named `name`;
 * the verifier's log in `log`. A program fd or -errno. */
static int prog_load(int map_fd, const char *name, char *log, size_t log_size)
{
	const struct bpf_insn insns[] = {
		/* r2 = *(u32 *)(r1 + offsetof(struct xdp_md, rx_queue_index)) */
		INSN(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_2, BPF_REG_1,
		     offsetof(struct xdp_md, rx_queue_index), 0),
		/* r1 = map (ld_imm64 of the map's fd: two instructions) */
		INSN(BPF_LD | BPF_DW | BPF_IMM, BPF_REG_1, BPF_PSEUDO_MAP_FD, 0, map_fd),
		INSN(0, 0, 0, 0, 0),
		/* r3 = XDP_PASS: what bpf_redirect_map() returns for a queue
		 * without a socket (flags' low bits, kernel 5.3) */
		INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_3, 0, 0, XDP_PASS),
		INSN(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_redirect_map),
		INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
	};
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = BPF_XDP, .log_buf = log,
	            .log_size = (unsigned)log_size, .log_level = 0);
	log[0] = '\0';
	int fd = bpf_prog_load(BPF_PROG_TYPE_XDP, name, "Dual BSD/GPL", insns,
	                       TARN_ARRAY_SIZE(insns), &opts);
	if (fd < 0 && (errno == EINVAL || errno == EACCES) && log[0] == '\0') {
		/* Ask for the verifier's reasons. */
		opts.log_level = 1;
		fd = bpf_prog_load(BPF_PROG_TYPE_XDP, name, "Dual BSD/GPL", insns,
		                   TARN_ARRAY_SIZE(insns), &opts);
	}
	return fd < 0 ? -errno : fd;
}

/* ------------------------------------------------------------------------ */
/* What is attached to an interface */

static int netns_id(uint64_t *dev, uint64_t *ino)
{
	struct stat st;

	if (stat("/proc/thread-self/ns/net", &st) != 0 && stat("/proc/self/ns/net", &st) != 0) {
		*dev = *ino = 0;
		return -errno;
	}
	*dev = (uint64_t)st.st_dev;
	*ino = (uint64_t)st.st_ino;
	return 0;
}

struct attached {
	uint32_t id;    /* 0: none */
	uint32_t flags; /* XDP_FLAGS_DRV_MODE / SKB_MODE / HW_MODE */
	const char *mode;
	char name[BPF_OBJ_NAME_LEN];
};

/* The program attached to `ifindex` (the first of driver, generic, offloaded). */
static int query_attached(int ifindex, struct attached *a)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);

	memset(a, 0, sizeof(*a));
	int rc = bpf_xdp_query(ifindex, 0, &q);
	if (rc < 0)
		return rc;
	if (q.drv_prog_id != 0) {
		a->id = q.drv_prog_id;
		a->flags = XDP_FLAGS_DRV_MODE;
		a->mode = "native";
	} else if (q.skb_prog_id != 0) {
		a->id = q.skb_prog_id;
		a->flags = XDP_FLAGS_SKB_MODE;
		a->mode = "generic";
	} else if (q.hw_prog_id != 0) {
		a->id = q.hw_prog_id;
		a->flags = XDP_FLAGS_HW_MODE;
		a->mode = "offloaded";
	} else if (q.prog_id != 0) {
		a->id = q.prog_id;
		a->mode = "unknown";
	}
	if (a->id != 0) {
		int fd = bpf_prog_get_fd_by_id(a->id);
		if (fd >= 0) {
			struct bpf_prog_info info;
			uint32_t len = sizeof(info);
			memset(&info, 0, sizeof(info));
			if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0)
				memcpy(a->name, info.name, sizeof(a->name));
			close(fd);
		}
		a->name[sizeof(a->name) - 1] = '\0';
	}
	return 0;
}

/* The process id in a tarn program's name, or 0 if it is not one. */
static pid_t tarn_prog_pid(const char *name)
{
	const size_t n = strlen(AXDP_PROG_PREFIX);
	char *end;

	if (strncmp(name, AXDP_PROG_PREFIX, n) != 0 || name[n] == '\0')
		return 0;
	unsigned long v = strtoul(name + n, &end, 16);
	return *end == '\0' && v > 0 && v < (1ul << 22) ? (pid_t)v : 0;
}

/*
 * Make sure nothing but `ours` (a program id, 0: none) is attached to the
 * interface: a tarn program left by a dead process (legacy attach) is
 * removed; anything else is -EBUSY with a log line.
 */
static int check_attached(const char *port, int ifindex, const char *ifname, uint32_t ours)
{
	struct attached a;
	int rc = query_attached(ifindex, &a);

	if (rc < 0) {
		TARN__ERR(AXDP_LOG, "port '%s': cannot read the XDP state of %s: %s", port, ifname,
		          strerror(-rc));
		return rc;
	}
	if (a.id == 0 || a.id == ours)
		return 0;
	pid_t pid = tarn_prog_pid(a.name);
	int alive = 0;
	if (pid != 0 && pid != getpid())
		alive = kill(pid, 0) == 0 || errno == EPERM;
	if (alive) {
		TARN__ERR(
		    AXDP_LOG,
		    "port '%s': %s is in use by tarn process %d (its XDP program '%s', id %u, "
		    "is attached in %s mode): stop that process or use another interface",
		    port, ifname, (int)pid, a.name, a.id, a.mode);
		return -EBUSY;
	}
	if (pid != 0) {
		/* A dead process's (or one of an earlier process with our pid):
		 * remove it, but only that very program (XDP_FLAGS_REPLACE). */
		int fd = bpf_prog_get_fd_by_id(a.id);
		if (fd >= 0) {
			LIBBPF_OPTS(bpf_xdp_attach_opts, o, .old_prog_fd = fd);
			rc = bpf_xdp_detach(ifindex, a.flags | XDP_FLAGS_REPLACE, &o);
			close(fd);
		} else {
			rc = -errno;
		}
		if (rc == 0) {
			TARN__NOTICE(AXDP_LOG,
			             "port '%s': removed XDP program '%s' (id %u, %s mode) that "
			             "process %d left attached to %s",
			             port, a.name, a.id, a.mode, (int)pid, ifname);
			return 0;
		}
		TARN__ERR(
		    AXDP_LOG,
		    "port '%s': %s has XDP program '%s' (id %u) of process %d, which no longer "
		    "runs, and it cannot be removed: %s%s",
		    port, ifname, a.name, a.id, (int)pid, strerror(-rc),
		    rc == -EBUSY ? " (held by a bpf_link: pinned?)" : "");
		return -EBUSY;
	}
	TARN__ERR(AXDP_LOG,
	          "port '%s': %s already has an XDP program attached ('%s', id %u, %s mode): "
	          "an af_xdp port needs to attach its own; detach it first (ip link set dev %s "
	          "xdp off, or xdpgeneric off) or use another interface",
	          port, ifname, a.name[0] ? a.name : "?", a.id, a.mode, ifname);
	return -EBUSY;
}

/* Log a failed BPF call with the hint its error calls for; returns `rc`. */
static int bpf_error(const char *port, const char *ifname, const char *what, int rc)
{
	if (rc == -EPERM || rc == -EACCES) {
		TARN__ERR(
		    AXDP_LOG,
		    "port '%s': %s on %s: %s: af_xdp ports need CAP_NET_ADMIN, CAP_NET_RAW and "
		    "CAP_BPF (or CAP_SYS_ADMIN): run as root",
		    port, what, ifname, strerror(-rc));
		return -EPERM;
	}
	if (rc == -EINVAL || rc == -EOPNOTSUPP || rc == -ENOSYS) {
		TARN__ERR(AXDP_LOG,
		          "port '%s': %s on %s: %s: the kernel lacks BPF XSKMAP support "
		          "(CONFIG_BPF_SYSCALL, CONFIG_XDP_SOCKETS)",
		          port, what, ifname, strerror(-rc));
		return -EOPNOTSUPP;
	}
	TARN__ERR(AXDP_LOG, "port '%s': %s on %s: %s", port, what, ifname, strerror(-rc));
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Interface programs */

static struct axdp_prog *prog_find(int ifindex, uint64_t ns_dev, uint64_t ns_ino)
{
	for (struct axdp_prog *p = prog_list; p != NULL; p = p->next)
		if (p->ifindex == ifindex && p->ns_dev == ns_dev && p->ns_ino == ns_ino)
			return p;
	return NULL;
}

/* Close what a program holds and free it (no longer listed). */
static void prog_free(struct axdp_prog *p)
{
	if (p->link_fd >= 0)
		close(p->link_fd);
	if (p->prog_fd >= 0)
		close(p->prog_fd);
	if (p->map_fd >= 0)
		close(p->map_fd);
	free(p->queue_owner);
	free(p);
}

/* Claim queues [first, first + count) of program `p` for port `port_id`:
 * -EINVAL when the interface has fewer queues now, -EBUSY when another port
 * uses one of them (both logged). */
static int prog_claim(struct axdp_prog *p, const char *port, uint16_t port_id, const char *ifname,
                      uint32_t first, uint32_t count)
{
	if (first + count > p->map_entries) {
		TARN__ERR(AXDP_LOG,
		          "port '%s': queues %u..%u of %s: the interface has %u queues now", port,
		          first, first + count - 1, ifname, p->map_entries);
		return -EINVAL;
	}
	for (uint32_t q = first; q < first + count; q++) {
		if (p->queue_owner[q] != 0) {
			TARN__ERR(
			    AXDP_LOG,
			    "port '%s': queue %u of %s is already used by port %u: give another "
			    "queue= (and queues=)",
			    port, q, ifname, (unsigned)p->queue_owner[q] - 1);
			return -EBUSY;
		}
	}
	for (uint32_t q = first; q < first + count; q++)
		p->queue_owner[q] = (uint8_t)(port_id + 1);
	p->users++;
	return 0;
}

/* The XSKMAP of `entries` queues and the program that redirects to it,
 * named after this process. */
static int prog_load_map(struct axdp_prog *p, const char *port, const char *ifname)
{
	char log[4096];
	char name[BPF_OBJ_NAME_LEN];

	p->map_fd = bpf_map_create(BPF_MAP_TYPE_XSKMAP, "tarn_xsks", sizeof(uint32_t),
	                           sizeof(uint32_t), p->map_entries, NULL);
	if (p->map_fd < 0)
		return bpf_error(port, ifname, "cannot create the XSKMAP", -errno);
	snprintf(name, sizeof(name), AXDP_PROG_PREFIX "%x", (unsigned)getpid());
	p->prog_fd = prog_load(p->map_fd, name, log, sizeof(log));
	if (p->prog_fd < 0) {
		const int rc = p->prog_fd;
		p->prog_fd = -1;
		if (log[0] != '\0')
			TARN__ERR(AXDP_LOG, "port '%s': the kernel refused the XDP program: %s",
			          port, log);
		return bpf_error(port, ifname, "cannot load the XDP program", rc);
	}
	struct bpf_prog_info info;
	uint32_t len = sizeof(info);
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(p->prog_fd, &info, &len) == 0)
		p->prog_id = info.id;
	return 0;
}

int tarn__axdp_prog_get(const char *port, uint16_t port_id, int ifindex, const char *ifname,
                        uint32_t nb_dev_queues, uint32_t first, uint32_t count,
                        struct axdp_prog **out)
{
	uint64_t ns_dev, ns_ino;

	netns_id(&ns_dev, &ns_ino);
	struct axdp_prog *p = prog_find(ifindex, ns_dev, ns_ino);
	if (p != NULL) {
		int rc = prog_claim(p, port, port_id, ifname, first, count);
		if (rc == 0)
			*out = p;
		return rc;
	}
	/* The first port on the interface: nothing else may be attached. */
	int rc = check_attached(port, ifindex, ifname, 0);
	if (rc < 0)
		return rc;
	p = calloc(1, sizeof(*p));
	const uint32_t entries = nb_dev_queues > first + count ? nb_dev_queues : first + count;
	if (p == NULL || (p->queue_owner = calloc(entries, 1)) == NULL) {
		free(p);
		TARN__ERR(AXDP_LOG, "port '%s': out of memory", port);
		return -ENOMEM;
	}
	p->ifindex = ifindex;
	p->ns_dev = ns_dev;
	p->ns_ino = ns_ino;
	snprintf(p->ifname, sizeof(p->ifname), "%s", ifname);
	p->prog_fd = p->map_fd = p->link_fd = -1;
	p->map_entries = entries;
	rc = prog_load_map(p, port, ifname);
	if (rc == 0)
		rc = prog_claim(p, port, port_id, ifname, first, count);
	if (rc < 0) {
		prog_free(p);
		return rc;
	}
	p->next = prog_list;
	prog_list = p;
	*out = p;
	return 0;
}

void tarn__axdp_prog_put(struct axdp_prog *p, uint32_t first, uint32_t count)
{
	if (p == NULL)
		return;
	for (uint32_t q = first; q < first + count && q < p->map_entries; q++)
		p->queue_owner[q] = 0;
	if (--p->users > 0)
		return;
	if (p->started > 0) { /* a port closed without stop: cannot happen (ethdev stops) */
		p->started = 1;
		tarn__axdp_prog_detach(p);
	}
	for (struct axdp_prog **pp = &prog_list; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	}
	prog_free(p);
}

/* Attach in one mode (flags): a bpf_link, or netlink when `legacy`. */
static int attach_one(struct axdp_prog *p, uint32_t flags, int legacy)
{
	if (!legacy) {
		LIBBPF_OPTS(bpf_link_create_opts, lo, .flags = flags);
		int fd = bpf_link_create(p->prog_fd, p->ifindex, BPF_XDP, &lo);
		if (fd < 0)
			return -errno;
		p->link_fd = fd;
		return 0;
	}
	return bpf_xdp_attach(p->ifindex, p->prog_fd, flags | XDP_FLAGS_UPDATE_IF_NOEXIST, NULL);
}

int tarn__axdp_prog_attach(struct axdp_prog *p, const char *port, enum axdp_mode mode, int legacy)
{
	if (p->started > 0) {
		const uint32_t want = mode == AXDP_MODE_NATIVE    ? XDP_FLAGS_DRV_MODE
		                      : mode == AXDP_MODE_GENERIC ? XDP_FLAGS_SKB_MODE
		                                                  : p->attach_flags;
		if (want != p->attach_flags) {
			TARN__ERR(
			    AXDP_LOG,
			    "port '%s': mode=%s, but another port of this process has the XDP "
			    "program of %s attached in %s mode",
			    port, mode == AXDP_MODE_NATIVE ? "native" : "generic", p->ifname,
			    tarn__axdp_prog_mode_name(p));
			return -EINVAL;
		}
		p->started++;
		return 0;
	}
	int rc = check_attached(port, p->ifindex, p->ifname, p->prog_id);
	if (rc < 0)
		return rc;
	int rc_native = 0;
	if (mode != AXDP_MODE_GENERIC) {
		rc = rc_native = attach_one(p, XDP_FLAGS_DRV_MODE, legacy);
		if (rc == 0)
			p->attach_flags = XDP_FLAGS_DRV_MODE;
	}
	if (mode == AXDP_MODE_GENERIC || (mode == AXDP_MODE_AUTO && rc < 0 && rc != -EPERM)) {
		rc = attach_one(p, XDP_FLAGS_SKB_MODE, legacy);
		if (rc == 0) {
			p->attach_flags = XDP_FLAGS_SKB_MODE;
			if (mode == AXDP_MODE_AUTO)
				TARN__INFO(AXDP_LOG,
				           "port '%s': %s has no native XDP (%s): generic mode",
				           port, p->ifname, strerror(-rc_native));
		}
	}
	if (rc < 0) {
		const char *m = mode == AXDP_MODE_GENERIC ? "generic" : "native";
		if (rc == -EPERM || rc == -EACCES)
			return bpf_error(port, p->ifname, "cannot attach the XDP program", rc);
		if (rc == -EBUSY || rc == -EEXIST)
			TARN__ERR(
			    AXDP_LOG,
			    "port '%s': cannot attach the XDP program to %s in %s mode: another "
			    "program is attached (ip link show dev %s)",
			    port, p->ifname, m, p->ifname);
		else if (mode == AXDP_MODE_NATIVE && (rc == -EOPNOTSUPP || rc == -EINVAL))
			TARN__ERR(AXDP_LOG,
			          "port '%s': %s has no native (driver) XDP support (%s): use "
			          "mode=generic or mode=auto",
			          port, p->ifname, strerror(-rc));
		else
			TARN__ERR(AXDP_LOG,
			          "port '%s': cannot attach the XDP program to %s in %s mode: %s",
			          port, p->ifname, m, strerror(-rc));
		return rc == -EEXIST ? -EBUSY : rc;
	}
	p->legacy = legacy;
	p->started = 1;
	return 0;
}

void tarn__axdp_prog_detach(struct axdp_prog *p)
{
	if (p == NULL || p->started == 0 || --p->started > 0)
		return;
	if (p->link_fd >= 0) {
		close(p->link_fd); /* the kernel detaches with the last reference */
		p->link_fd = -1;
	} else if (p->legacy) {
		LIBBPF_OPTS(bpf_xdp_attach_opts, o, .old_prog_fd = p->prog_fd);
		int rc = bpf_xdp_detach(p->ifindex, p->attach_flags | XDP_FLAGS_REPLACE, &o);
		if (rc < 0 && rc != -ENODEV && rc != -EEXIST)
			TARN__WARN(AXDP_LOG, "cannot detach the XDP program from %s: %s", p->ifname,
			           strerror(-rc));
	}
	p->attach_flags = 0;
	p->legacy = 0;
}

int tarn__axdp_prog_map_set(struct axdp_prog *p, const char *port, uint32_t qid, int fd)
{
	const uint32_t v = (uint32_t)fd;

	if (bpf_map_update_elem(p->map_fd, &qid, &v, BPF_ANY) != 0) {
		int err = errno;
		TARN__ERR(AXDP_LOG,
		          "port '%s': cannot put the socket of queue %u in the XSKMAP: %s", port,
		          qid, strerror(err));
		return -err;
	}
	return 0;
}

void tarn__axdp_prog_map_clear(struct axdp_prog *p, uint32_t qid)
{
	(void)bpf_map_delete_elem(p->map_fd, &qid); /* ENOENT when the socket closed first */
}

const char *tarn__axdp_prog_mode_name(const struct axdp_prog *p)
{
	if (p == NULL || p->started == 0)
		return "detached";
	return p->attach_flags == XDP_FLAGS_DRV_MODE ? "native" : "generic";
}
