/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * af_xdp_priv.h - internal to the af_xdp driver (drivers/net/af_xdp/):
 * the XDP program that redirects an interface's queues to AF_XDP sockets,
 * shared by the af_xdp ports of the process on that interface. Never
 * installed.
 *
 * Every function runs under the ethdev control mutex (driver ops only), so
 * the list of programs needs no lock of its own.
 */
#ifndef TARN_AF_XDP_PRIV_H
#define TARN_AF_XDP_PRIV_H

#include <net/if.h>
#include <stdint.h>

#define AXDP_LOG "ethdev"

/* mode= of a port: how the XDP program is attached. */
enum axdp_mode {
	AXDP_MODE_AUTO = 0, /* native when the driver has XDP, else generic */
	AXDP_MODE_NATIVE,   /* driver (XDP_FLAGS_DRV_MODE) */
	AXDP_MODE_GENERIC,  /* generic, skb based (XDP_FLAGS_SKB_MODE) */
};

/*
 * Prefix of the names of the programs tarn loads: "tarnxsk_" followed by
 * the loading process id in hexadecimal. A program of that name left
 * attached (legacy attach) by a process that no longer exists is removed by
 * the next start on the interface.
 */
#define AXDP_PROG_PREFIX "tarnxsk_"

/*
 * The program and XSKMAP of one interface (in one network namespace). The
 * program is loaded when the first port on the interface is created, and
 * attached while at least one of them is started.
 */
struct axdp_prog {
	struct axdp_prog *next;
	int ifindex;
	uint64_t ns_dev, ns_ino; /* network namespace (/proc/thread-self/ns/net) */
	char ifname[IFNAMSIZ];   /* name when loaded (for messages) */
	int prog_fd, map_fd;
	int link_fd; /* bpf_link of the attachment, -1 if none */
	uint32_t prog_id;
	uint32_t map_entries;  /* XSKMAP size: the interface's queues */
	unsigned users;        /* ports that hold it (create .. close) */
	unsigned started;      /* ports started (attached while > 0) */
	uint32_t attach_flags; /* XDP_FLAGS_DRV_MODE or _SKB_MODE while attached */
	int legacy;            /* attached through netlink, not a bpf_link */
	uint8_t *queue_owner;  /* map_entries bytes: port id + 1 using each queue, 0: free */
};

/*
 * Find or load the program of interface `ifindex` for port `port_id` and
 * claim queues [first, first + count) of it. Checks what is attached to the
 * interface now: another program (not tarn's, or tarn's of a live process)
 * is an error; a tarn program left by a dead process is removed.
 * Returns 0 with *out set, or a negative errno with a log line:
 * -EPERM (no CAP_BPF/CAP_SYS_ADMIN/CAP_NET_ADMIN), -EBUSY (queues taken by
 * another port, or another XDP program on the interface), -ENOMEM,
 * -EOPNOTSUPP (no BPF/XSKMAP support in the kernel).
 */
int axdp_prog_get(const char *port, uint16_t port_id, int ifindex, const char *ifname,
                  uint32_t nb_dev_queues, uint32_t first, uint32_t count, struct axdp_prog **out);

/* Release what axdp_prog_get() took; the last user unloads the program. */
void axdp_prog_put(struct axdp_prog *p, uint32_t first, uint32_t count);

/*
 * Attach the program (first started port) in `mode`, or check that the
 * attached one is in a mode `mode` accepts. `legacy`: netlink attach
 * instead of a bpf_link. Returns 0 or a negative errno with a log line
 * (-EBUSY: another program is attached; -EOPNOTSUPP: the mode is not
 * available; -EINVAL: the program is attached in another mode).
 */
int axdp_prog_attach(struct axdp_prog *p, const char *port, enum axdp_mode mode, int legacy);

/* Undo one axdp_prog_attach(); the last one detaches the program. */
void axdp_prog_detach(struct axdp_prog *p);

/* Point XSKMAP entry `qid` at the AF_XDP socket `fd`. 0 or -errno (logged). */
int axdp_prog_map_set(struct axdp_prog *p, const char *port, uint32_t qid, int fd);

/* Clear XSKMAP entry `qid` (closing the socket clears it too). */
void axdp_prog_map_clear(struct axdp_prog *p, uint32_t qid);

/* "native" or "generic" while attached, else "detached". */
const char *axdp_prog_mode_name(const struct axdp_prog *p);

#endif /* TARN_AF_XDP_PRIV_H */
