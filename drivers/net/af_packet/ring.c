/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ring.c - af_packet queues' sockets and PACKET_MMAP rings: opened at start
 * (in the network namespace of the starting thread), closed at stop.
 *
 * A ring is block_nr blocks of block_size bytes, each holding
 * block_size / frame_size frames (the geometry comes from the framesz,
 * framecnt and blocksz keys and the queue's nb_desc). RX: a TPACKET_V2 or
 * TPACKET_V3 receive ring on a socket bound for every protocol, with
 * PACKET_IGNORE_OUTGOING, in a PACKET_FANOUT_HASH group when the port has
 * several RX queues. TX: a socket bound with protocol 0 (it receives
 * nothing), with PACKET_QDISC_BYPASS, and with tx=ring a TPACKET_V2
 * transmit ring with PACKET_LOSS.
 *
 * Every system call that can fail has a fault point ("afp-socket",
 * "afp-setsockopt", "afp-rx-ring", "afp-tx-ring", "afp-mmap", "afp-bind",
 * "afp-getsockopt": tests/fault walks them); a failure closes what was
 * opened and logs the call, the queue and the interface.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "afp_priv.h"
#include "tarn_mem.h"

/* The geometry of a queue's ring. */
struct afp_geom {
	uint32_t block_size, block_nr, frame_size, frame_nr;
};

/* Whole blocks for nb_desc frames (or framecnt=), framesz apart. */
static void ring_geom(const struct afp_port *p, uint32_t nb_desc, struct afp_geom *g)
{
	const uint32_t want = p->framecnt != 0 ? p->framecnt : nb_desc;
	const uint32_t fpb = p->blocksz / p->framesz;

	g->block_size = p->blocksz;
	g->frame_size = p->framesz;
	g->block_nr = (want + fpb - 1) / fpb;
	g->frame_nr = g->block_nr * fpb;
}

int tarn__afp_ring_check(const struct tarn__eth_dev *dev, const struct afp_port *p,
                         uint32_t nb_desc, const char *dir, uint16_t queue_id)
{
	struct afp_geom g;

	ring_geom(p, nb_desc, &g);
	if ((uint64_t)g.block_nr * g.block_size > AFP_MAX_RING_BYTES) {
		TARN__ERR(AFP_LOG,
		          "port '%s': %s queue %u: a ring of %u blocks of %u bytes is more than "
		          "the %llu bytes allowed (lower framecnt, or the queue's descriptors)",
		          dev->name, dir, (unsigned)queue_id, g.block_nr, g.block_size,
		          AFP_MAX_RING_BYTES);
		return -EINVAL;
	}
	return 0;
}

int tarn__afp_open_error(const struct tarn__eth_dev *dev, const char *what, int err)
{
	if (err == EPERM || err == EACCES) {
		TARN__ERR(AFP_LOG,
		          "port '%s': %s: %s: af_packet ports need CAP_NET_RAW (run as root, or "
		          "grant it: setcap cap_net_raw,cap_net_admin+ep PROGRAM)",
		          dev->name, what, strerror(err));
		return -EPERM;
	}
	TARN__ERR(AFP_LOG, "port '%s': %s: %s", dev->name, what, strerror(err));
	return -err;
}

/* An int SOL_PACKET option, with its fault point. 0 or -errno. */
static int sockopt_int(int fd, int opt, int val)
{
	return TARN__FAULT("afp-setsockopt", ENOPROTOOPT) ||
	               setsockopt(fd, SOL_PACKET, opt, &val, sizeof(val)) < 0
	           ? -errno
	           : 0;
}

/* A new AF_PACKET socket into s->fd. */
static int sock_open(const struct tarn__eth_dev *dev, struct afp_sock *s, const char *what)
{
	s->fd =
	    TARN__FAULT("afp-socket", EMFILE) ? -1 : socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	return s->fd < 0 ? tarn__afp_open_error(dev, what, errno) : 0;
}

/* Bind s->fd to the interface for `proto` (network order; 0: transmit only). */
static int sock_bind(const struct tarn__eth_dev *dev, const struct afp_port *p,
                     const struct afp_sock *s, uint16_t proto, const char *what)
{
	struct sockaddr_ll sll;

	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = proto;
	sll.sll_ifindex = p->lif.ifindex;
	if (TARN__FAULT("afp-bind", EADDRNOTAVAIL) ||
	    bind(s->fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		const int rc = -errno;
		TARN__ERR(AFP_LOG, "port '%s': %s: bind: %s", dev->name, what, strerror(-rc));
		return rc;
	}
	return 0;
}

/* Address of every frame of the ring mapped at s->ring. */
static int frame_table(struct afp_sock *s, const struct afp_geom *g, int socket)
{
	const uint32_t fpb = g->block_size / g->frame_size;

	s->frames = tarn_malloc_socket(sizeof(*s->frames) * g->frame_nr, 0, socket);
	if (s->frames == NULL)
		return -ENOMEM;
	for (uint32_t i = 0; i < g->frame_nr; i++)
		s->frames[i] =
		    s->ring + (size_t)(i / fpb) * g->block_size + (size_t)(i % fpb) * g->frame_size;
	return 0;
}

/*
 * Give s->fd a ring of geometry `g` (`opt`: PACKET_RX_RING or
 * PACKET_TX_RING, its fault point `site`; `v3`: a TPACKET_V3 receive ring),
 * map it, and for a frame-per-packet ring make its frame table on `socket`.
 */
static int ring_make(const struct tarn__eth_dev *dev, struct afp_sock *s, const struct afp_geom *g,
                     int opt, const char *site, int v3, int socket, const char *what)
{
	const char *kind = opt == PACKET_RX_RING ? "receive" : "transmit";
	struct tpacket_req3 req; /* a struct tpacket_req, then the V3 fields */
	int rc;

	(void)site; /* a fault point site, unused without -Dfault_injection */
	memset(&req, 0, sizeof(req));
	req.tp_block_size = g->block_size;
	req.tp_block_nr = g->block_nr;
	req.tp_frame_size = g->frame_size;
	req.tp_frame_nr = g->frame_nr;
	req.tp_retire_blk_tov = AFP_V3_BLOCK_TMO_MS;
	if (TARN__FAULT(site, ENOMEM) ||
	    setsockopt(s->fd, SOL_PACKET, opt, &req,
	               v3 ? sizeof(req) : sizeof(struct tpacket_req)) < 0) {
		rc = -errno;
		TARN__ERR(AFP_LOG,
		          "port '%s': %s: cannot make a %s ring of %u blocks of %u bytes (frames "
		          "of %u): %s",
		          dev->name, what, kind, g->block_nr, g->block_size, g->frame_size,
		          strerror(-rc));
		return rc;
	}
	s->ring_len = (size_t)g->block_nr * g->block_size;
	void *map = TARN__FAULT("afp-mmap", ENOMEM)
	                ? MAP_FAILED
	                : mmap(NULL, s->ring_len, PROT_READ | PROT_WRITE, MAP_SHARED, s->fd, 0);
	if (map == MAP_FAILED) {
		rc = -errno;
		TARN__ERR(AFP_LOG, "port '%s': %s: mmap of the %zu-byte %s ring: %s", dev->name,
		          what, s->ring_len, kind, strerror(-rc));
		return rc;
	}
	s->ring = map;
	if (!v3 && frame_table(s, g, socket) < 0) {
		TARN__ERR(AFP_LOG, "port '%s': %s: out of memory", dev->name, what);
		return -ENOMEM;
	}
	return 0;
}

void tarn__afp_sock_close(struct afp_sock *s)
{
	if (s->ring != NULL)
		munmap(s->ring, s->ring_len);
	if (s->fd >= 0)
		close(s->fd);
	tarn_free(s->frames);
	s->ring = NULL;
	s->frames = NULL;
	s->fd = -1;
}

/*
 * Join the RX queues' PACKET_FANOUT_HASH group: `*fanout` -1 for the first
 * queue (the kernel picks a unique id, stored back), then that id. The
 * kernel hands out unique ids from 0 after boot, so 0 is a valid id.
 */
static int rx_fanout(const struct tarn__eth_dev *dev, const struct afp_sock *s, int *fanout,
                     const char *what)
{
	const int arg = *fanout < 0 ? (PACKET_FANOUT_HASH | PACKET_FANOUT_FLAG_UNIQUEID) << 16
	                            : (PACKET_FANOUT_HASH << 16) | *fanout;
	int rc = sockopt_int(s->fd, PACKET_FANOUT, arg);

	if (rc < 0) {
		TARN__ERR(AFP_LOG,
		          "port '%s': %s: cannot join a PACKET_FANOUT_HASH group%s: %s (%u RX "
		          "queues need Linux >= 4.5)",
		          dev->name, what, *fanout >= 0 ? "" : " with a unique id", strerror(-rc),
		          (unsigned)dev->nb_rxq);
		return rc;
	}
	if (*fanout >= 0)
		return 0;
	/* The group id is in the low 16 bits. */
	int val = 0;
	socklen_t sl = sizeof(val);
	if (TARN__FAULT("afp-getsockopt", ENOPROTOOPT) ||
	    getsockopt(s->fd, SOL_PACKET, PACKET_FANOUT, &val, &sl) < 0) {
		rc = -errno;
		TARN__ERR(AFP_LOG, "port '%s': %s: cannot read the fanout group id: %s", dev->name,
		          what, strerror(-rc));
		return rc;
	}
	*fanout = val & 0xffff;
	return 0;
}

/* The receive ring of a queue whose socket is open, and its read state. */
static int rxq_ring(struct tarn__eth_dev *dev, struct afp_port *p, struct afp_rxq *q,
                    const char *what)
{
	struct afp_geom g;

	ring_geom(p, q->nb_desc, &g);
	q->v3 = p->rxring == AFP_RX_V3;
	int rc = sockopt_int(q->s.fd, PACKET_VERSION, q->v3 ? TPACKET_V3 : TPACKET_V2);
	if (rc < 0) {
		TARN__ERR(AFP_LOG, "port '%s': %s: PACKET_VERSION %s: %s", dev->name, what,
		          q->v3 ? "TPACKET_V3" : "TPACKET_V2", strerror(-rc));
		return rc;
	}
	rc = ring_make(dev, &q->s, &g, PACKET_RX_RING, "afp-rx-ring", q->v3, dev->socket, what);
	if (rc < 0)
		return rc;
	q->nb_slots = q->v3 ? g.block_nr : g.frame_nr;
	q->block_size = g.block_size;
	q->cur = 0;
	q->blk_left = 0;
	q->blk_pkt = NULL;
	q->polls = 0;
	return 0;
}

int tarn__afp_rxq_open(struct tarn__eth_dev *dev, struct afp_port *p, struct afp_rxq *q,
                       int *fanout)
{
	char what[96];

	snprintf(what, sizeof(what), "RX queue %u on %s", (unsigned)q->queue_id, p->lif.ifname);
	int rc = sock_open(dev, &q->s, what);
	if (rc < 0)
		return rc;
	rc = rxq_ring(dev, p, q, what);
	if (rc == 0) {
		/* Without it (Linux < 4.20) the port sees what is sent out of the
		 * interface, its own packets included: dropped after the copy. */
		const int no_ignore = sockopt_int(q->s.fd, PACKET_IGNORE_OUTGOING, 1);
		q->skip_outgoing = no_ignore < 0;
		if (no_ignore < 0)
			TARN__INFO(
			    AFP_LOG,
			    "port '%s': %s: no PACKET_IGNORE_OUTGOING (%s): outgoing packets "
			    "are dropped after the copy",
			    dev->name, what, strerror(-no_ignore));
		rc = sock_bind(dev, p, &q->s, htons(ETH_P_ALL), what);
	}
	if (rc == 0 && fanout != NULL)
		rc = rx_fanout(dev, &q->s, fanout, what);
	if (rc < 0)
		tarn__afp_sock_close(&q->s);
	return rc;
}

/* Transmit socket options: qdisc bypass (best effort) and a socket buffer
 * for a ring's worth of packets in flight. */
static void txq_options(const struct tarn__eth_dev *dev, const struct afp_port *p,
                        const struct afp_txq *q, const struct afp_geom *g, const char *what)
{
	if (p->qdisc_bypass) {
		const int rc = sockopt_int(q->s.fd, PACKET_QDISC_BYPASS, 1);
		if (rc < 0)
			TARN__WARN(
			    AFP_LOG,
			    "port '%s': %s: PACKET_QDISC_BYPASS: %s (going through the qdisc)",
			    dev->name, what, strerror(-rc));
	}
	/* Best effort: without CAP_NET_ADMIN the kernel caps it at
	 * net.core.wmem_max. */
	int sndbuf = (int)(g->frame_nr * (g->frame_size + 512u));
	if (setsockopt(q->s.fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof(sndbuf)) < 0)
		(void)setsockopt(q->s.fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
}

/* tx=ring: a TPACKET_V2 transmit ring with PACKET_LOSS. */
static int txq_ring(struct tarn__eth_dev *dev, struct afp_txq *q, const struct afp_geom *g,
                    const char *what)
{
	int rc = sockopt_int(q->s.fd, PACKET_VERSION, TPACKET_V2);

	if (rc == 0)
		rc = sockopt_int(q->s.fd, PACKET_LOSS, 1);
	if (rc < 0) {
		TARN__ERR(AFP_LOG, "port '%s': %s: TPACKET_V2 / PACKET_LOSS: %s", dev->name, what,
		          strerror(-rc));
		return rc;
	}
	rc = ring_make(dev, &q->s, g, PACKET_TX_RING, "afp-tx-ring", 0, dev->socket, what);
	if (rc < 0)
		return rc;
	q->nb_frames = g->frame_nr;
	q->cur = 0;
	return 0;
}

int tarn__afp_txq_open(struct tarn__eth_dev *dev, struct afp_port *p, struct afp_txq *q)
{
	struct afp_geom g;
	char what[96];

	ring_geom(p, q->nb_desc, &g);
	snprintf(what, sizeof(what), "TX queue %u on %s", (unsigned)q->queue_id, p->lif.ifname);
	int rc = sock_open(dev, &q->s, what);
	if (rc < 0)
		return rc;
	q->ring_mode = (uint8_t)p->tx_ring;
	q->max_data = g.frame_size - (uint32_t)AFP_TX_DATAOFF;
	q->down = 0;
	q->err_logged = 0;
	txq_options(dev, p, q, &g, what);
	if (q->ring_mode)
		rc = txq_ring(dev, q, &g, what);
	else
		memset(q->msgs, 0, sizeof(q->msgs));
	if (rc == 0)
		rc = sock_bind(dev, p, &q->s, 0, what);
	if (rc < 0)
		tarn__afp_sock_close(&q->s);
	return rc;
}
