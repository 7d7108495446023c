/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * collect.h - tarn-exporter's collection: find the telemetry sockets, ask
 * each process for its pools, ports, lcores and forwarding totals, and keep
 * the answers in a model that expo.c writes as metrics.
 *
 * A collection connects to every socket named dpdk_telemetry.v2 (or
 * dpdk_telemetry.v2:N) one directory below each runtime directory (where
 * lib/telemetry and DPDK's EAL put them), reads the info message, lists the
 * process's commands ("/") and reads what the process offers: tarn's own
 * /tarn/... commands (a tarn process, or a DPDK process with tarn's plugin),
 * and DPDK's /ethdev/... commands for the ports of a DPDK process. A socket
 * whose process has no /tarn/ command is counted and left out. Each process
 * has a time budget; one that does not answer in time is reported down.
 */
#ifndef TARN_EXPORTER_COLLECT_H
#define TARN_EXPORTER_COLLECT_H

#include <stddef.h>
#include <stdint.h>

#include "tel_client.h" /* struct tel_pool_counts, tel_port_counts, tel_lcore */

/* Bounds on what one process may contribute (a hostile process cannot make
 * the exporter's output grow without end). */
#define X_MAX_SOCKETS 256
#define X_MAX_DIRS    8
#define X_MAX_POOLS   256
#define X_MAX_CACHES  256
#define X_MAX_PORTS   256
#define X_MAX_QUEUES  64
#define X_MAX_LCORES  256
#define X_NAME        128 /* longest name kept (longer ones are cut) */
#define X_MAX_REPLY   (1u << 20)

/* What happened to a socket in one collection. */
enum x_state {
	XS_OK,       /* a tarn process (or DPDK with tarn's plugin), read */
	XS_NOT_TARN, /* answered, but has no /tarn/ command: left out */
	XS_STALE,    /* connection refused: its process is gone */
	XS_DENIED,   /* permission denied (another user's process) */
	XS_TIMEOUT,  /* did not answer within its budget */
	XS_ERROR,    /* bad protocol, closed connection, ... */
	XS_NSTATES
};
extern const char *const x_state_names[XS_NSTATES];

struct x_cache {
	int lcore; /* -1: a thread without an lcore id */
	long tid;
	int has_tid, has_stats; /* DPDK's lcore caches have neither */
	uint64_t len, get, hit, put, refills, flushes, fails;
};

struct x_pool {
	char name[X_NAME];
	struct tel_pool_counts c;
	int has_stats; /* tarn's statistics and reserve (a DPDK pool on tarn's
	                * ops has DPDK's counts only) */
	unsigned ncaches;
	struct x_cache caches[X_MAX_CACHES];
};

struct x_queue {
	unsigned id;
	uint64_t packets, bytes, errors, missed, nombuf;
	int tarn; /* read from tarn (per-queue drops known), not DPDK's q_* arrays */
};

struct x_port {
	unsigned id;
	char name[X_NAME], driver[X_NAME], state[16], mac[24];
	int has_link, link_up;
	uint64_t speed_mbps, mtu;
	struct tel_port_counts c;
	unsigned nrxq, ntxq;
	struct x_queue rxq[X_MAX_QUEUES], txq[X_MAX_QUEUES];
};

struct x_fwd {
	int present;
	char mode[32];
	int running;
	uint64_t rx, gen, tx, dropped, consumed;
};

struct x_proc {
	char label[X_NAME]; /* prefix, ":N" for the N-th socket of a prefix */
	char path[256];     /* socket */
	enum x_state state; /* XS_OK, XS_TIMEOUT or XS_ERROR (others are not kept) */
	long pid;
	char version[64];
	const char *kind;    /* "tarn", or "dpdk" (a DPDK process with tarn's plugin) */
	char tarn_path[256]; /* a DPDK socket: its process's tarn socket (/tarn/socket) */
	double seconds;      /* time spent reading it */
	unsigned npools, nports, nlcores;
	struct x_pool *pools; /* npools */
	struct x_port *ports;
	struct tel_lcore *lcores;
	struct x_fwd fwd;
};

struct x_model {
	unsigned nprocs;
	struct x_proc *procs;
	unsigned states[XS_NSTATES]; /* sockets seen, by what happened */
	double seconds;              /* the whole collection */
};

struct x_config {
	const char *dirs[X_MAX_DIRS]; /* runtime directories to scan */
	unsigned ndirs;
	const char *sockets[X_MAX_SOCKETS]; /* sockets given by path */
	unsigned nsockets;
	double process_timeout; /* seconds a process may take */
	volatile int *stop;     /* non-zero: end the collection early (NULL: never) */
};

/* One collection. Returns a model (never NULL unless out of memory). */
struct x_model *x_collect(const struct x_config *cfg);
void x_model_free(struct x_model *m);

#endif /* TARN_EXPORTER_COLLECT_H */
