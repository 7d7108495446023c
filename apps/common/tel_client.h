/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tel_client.h - internal to tarn's apps (apps/common): the client side of
 * a telemetry v2 socket (lib/telemetry, DPDK's EAL), shared by tarn-top and
 * tarn-exporter: connect, the info message the process sends first, one
 * message at a time with a deadline. What to do with a failure is the
 * caller's (tarn-top ends, tarn-exporter reports the process down).
 */
#ifndef TARN_TEL_CLIENT_H
#define TARN_TEL_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "json.h"

struct tel_conn {
	int fd;           /* -1: not connected */
	size_t max_len;   /* the longest reply the process sends (its info message) */
	char *buf;        /* the last message, NUL-terminated: max_len + 1 bytes */
	struct jdoc *doc; /* the last reply, parsed (the caller's to fill) */
};

#define TEL_CONN_INIT                                                                              \
	{                                                                                          \
		.fd = -1                                                                           \
	}

/* Connect c->fd (SOCK_SEQPACKET) to `path`: 0, or -errno (-ENAMETOOLONG
 * when it does not fit a socket address); c->fd is -1 after an error. */
int tel_connect(struct tel_conn *c, const char *path);

/*
 * One message into c->buf (at most `cap` bytes, NUL added), waiting until
 * `deadline` (app_now_s() seconds). Its length, or -ETIMEDOUT, -ECONNRESET
 * (the process closed the connection), -EMSGSIZE (longer than `cap`: the
 * kernel cut it), another -errno.
 */
long tel_recv(struct tel_conn *c, size_t cap, double deadline);

/*
 * Read the info message (the process's first, up to 1 KiB) by `deadline`:
 * the pid it gives, its version (cut to vlen, "?" when missing) and its
 * max_output_len (cut to `max_cap`), for which c->buf is made. 0, or
 * -EPROTO (not an info message), -ENOMEM, tel_recv()'s error.
 */
int tel_read_info(struct tel_conn *c, double deadline, size_t max_cap, long *pid, char *version,
                  size_t vlen);

/* Close the connection and free the buffer and the last reply. */
void tel_close(struct tel_conn *c);

/* What the replies say, read alike by every app. */

/* The ids of a list reply (/tarn/ethdev/list, /tarn/lcore/list,
 * /ethdev/list): its whole numbers below 1000000, at most `max`. Their
 * count. */
unsigned tel_ids(const struct jval *list, unsigned *ids, unsigned max);

/* A port's counters, as /tarn/ethdev/stats and DPDK's /ethdev/stats give
 * them (0 for one the reply lacks). */
struct tel_port_counts {
	uint64_t ipackets, opackets, ibytes, obytes, imissed, ierrors, oerrors, rx_nombuf;
};
void tel_port_counts_read(const struct jval *v, struct tel_port_counts *c);

/* A pool's figures, as /tarn/mempool/info (and the DPDK plugin's
 * /tarn/dpdk/mempool/info, which has DPDK's counts only) give them (0 for
 * one the reply lacks). */
struct tel_pool_counts {
	uint64_t size, avail, in_use, cached, cache_size, elt_size, reserve;
	uint64_t get_objs, hit_objs, put_objs, refills, refill_objs, flushes, flush_objs;
	uint64_t direct_gets, direct_puts, fails, fail_objs, reserved_objs;
};
void tel_pool_counts_read(const struct jval *v, struct tel_pool_counts *c);

/* An lcore, as /tarn/lcore/info gives it. */
struct tel_lcore {
	unsigned id;
	char role[16];    /* main, worker, registered */
	long cpu, socket; /* -1: not said */
	uint64_t polls, busy;
};
/* Lcore `id` from its /tarn/lcore/info reply `v`; `role_def` when the
 * reply names no role. */
void tel_lcore_read(const struct jval *v, unsigned id, const char *role_def, struct tel_lcore *l);

#endif /* TARN_TEL_CLIENT_H */
