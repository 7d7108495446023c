/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ctrl.c - pcap control path: the key table, create and close (the files,
 * or the two libpcap handles of a live interface: a pcap_t is not safe to
 * share between the RX and TX threads, and the TX handle's kernel filter
 * rejects everything so it captures nothing), queue setup, start and stop,
 * link and promiscuous mode.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pcap_priv.h"
#include "tarn_mempool.h"

/* Nominal speed of a port's link while it is up. */
#define PCAP_SPEED_MBPS 10000

static const struct tarn__key_word pcap_rates[] = {
	{ "max", 0, NULL, 0 },
	{ "recorded", 1, NULL, 0 },
	TARN__KEY_WORDS_END,
};

static const struct tarn__key pcap_keys[] = {
	TARN__KEY_STR_AT("rx_pcap", struct pcap_port, rx_path,
	                 "RX replays the packets of this classic pcap file", .metavar = "FILE",
	                 .def_text = "none: RX receives nothing",
	                 .doc = "Checked whole at create: a bad header or record is refused with "
	                        "its offset"),
	TARN__KEY_STR_AT("tx_pcap", struct pcap_port, tx_path,
	                 "TX writes every packet to this pcap file, created or truncated",
	                 .metavar = "FILE",
	                 .def_text = "none: TX frees the packets and counts them as sent"),
	TARN__LIF_KEY_IFACE(struct pcap_port, "RX captures and TX injects on this live interface",
	                    .doc = "Excludes rx_pcap and tx_pcap"),
	TARN__KEY_UINT_AT("loop", struct pcap_port, loops, 0, UINT32_MAX, 1,
	                  "passes over rx_pcap; 0: forever"),
	TARN__KEY_ENUM_AT("rate", struct pcap_port, rate_recorded, pcap_rates, 0,
	                  "replay rx_pcap as fast as asked (max) or at the pace of its timestamps "
	                  "(recorded)",
	                  .doc = "recorded: each packet when its timestamp, relative to the pass's "
	                         "first packet, has come"),
	TARN__KEY_END,
};

/* A live interface, for linux_if.c: ioctls by index on the capture socket,
 * promiscuous mode as its membership, the link up at a nominal speed when
 * IFF_UP and IFF_RUNNING. */
static const struct tarn__lif_ops pcap_lif_ops = {
	.nominal_speed = PCAP_SPEED_MBPS,
};

/* A libpcap handle on `iface`, activated. */
static int live_open(struct tarn__eth_dev *dev, const char *iface, int for_tx, pcap_t **out)
{
	char errbuf[PCAP_ERRBUF_SIZE] = "";
	pcap_t *p = pcap_create(iface, errbuf);
	if (p == NULL) {
		TARN__ERR(PCAP_LOG, "port spec '%s': iface %s: %s", dev->spec, iface, errbuf);
		return -ENOMEM;
	}
	pcap_set_snaplen(p, for_tx ? 64 : PCAP_LIVE_SNAPLEN);
	pcap_set_promisc(p, 0);
	pcap_set_immediate_mode(p, 1);
	if (for_tx)
		pcap_set_buffer_size(p, 64 * 1024);
	int rc = pcap_activate(p);
	if (rc < 0) {
		int err;
		const char *hint = "";
		switch (rc) {
		case PCAP_ERROR_NO_SUCH_DEVICE:
			err = -ENODEV;
			hint = " (no such interface)";
			break;
		case PCAP_ERROR_PERM_DENIED:
			err = -EPERM;
			hint = " (needs CAP_NET_RAW: run as root)";
			break;
		case PCAP_ERROR_IFACE_NOT_UP:
			err = -ENETDOWN;
			hint = " (bring the interface up)";
			break;
		default:
			err = -EIO;
			break;
		}
		TARN__ERR(PCAP_LOG, "port spec '%s': iface %s: %s%s", dev->spec, iface,
		          pcap_geterr(p), hint);
		pcap_close(p);
		return err;
	}
	if (rc > 0)
		TARN__WARN(PCAP_LOG, "port spec '%s': iface %s: %s", dev->spec, iface,
		           pcap_geterr(p));
	if (pcap_datalink(p) != DLT_EN10MB) {
		TARN__ERR(PCAP_LOG, "port spec '%s': iface %s is not Ethernet (link type %s)",
		          dev->spec, iface, pcap_datalink_val_to_name(pcap_datalink(p)));
		pcap_close(p);
		return -EINVAL;
	}
	if (pcap_setnonblock(p, 1, errbuf) < 0) {
		TARN__ERR(PCAP_LOG, "port spec '%s': iface %s: non-blocking mode: %s", dev->spec,
		          iface, errbuf);
		pcap_close(p);
		return -EIO;
	}
	if (for_tx) {
		/* Capture nothing on the TX handle: a kernel filter that drops all. */
		struct bpf_insn drop = { BPF_RET | BPF_K, 0, 0, 0 };
		struct bpf_program prog = { 1, &drop };
		if (pcap_setfilter(p, &prog) < 0)
			TARN__WARN(PCAP_LOG, "port spec '%s': iface %s: TX handle filter: %s",
			           dev->spec, iface, pcap_geterr(p));
	} else if (pcap_setdirection(p, PCAP_D_IN) < 0) {
		TARN__WARN(PCAP_LOG, "port spec '%s': iface %s: cannot capture incoming only: %s",
		           dev->spec, iface, pcap_geterr(p));
	}
	*out = p;
	return 0;
}

/* Close a libpcap handle, if open. */
static void handle_close(pcap_t **p)
{
	if (*p != NULL)
		pcap_close(*p);
	*p = NULL;
}

/* Close what create opened. A tx_pcap whose close fails (a write error
 * reported late, as NFS does) is output lost. */
static void port_free(struct pcap_port *pp)
{
	if (pp->rx_file != NULL)
		fclose(pp->rx_file);
	pp->rx_file = NULL;
	pp->rx_id.set = 0;
	if (pp->tx_open && close(pp->tx_fd) < 0 && errno != EINTR && pp->dev != NULL) {
		TARN__ERR(PCAP_LOG, "pcap port %u: tx_pcap %s: close: %s: output may be lost",
		          (unsigned)pp->port_id, pp->tx_path, strerror(errno));
		__atomic_store_n(&pp->dev->output_failed, 1, __ATOMIC_RELAXED);
	}
	pp->tx_open = 0;
	pp->tx_id.set = 0;
	handle_close(&pp->live_rx);
	handle_close(&pp->live_tx);
}

/* What the key table cannot say: which keys go together. */
static int keys_check(const struct tarn__eth_dev *dev, const struct pcap_port *pp,
                      const struct tarn__eth_spec *spec)
{
	const int rx = pp->rx_path[0] != '\0', tx = pp->tx_path[0] != '\0';
	const int iface = pp->lif.ifname[0] != '\0';

	if (!rx && !tx && !iface) {
		TARN__ERR(PCAP_LOG,
		          "port spec '%s': pcap needs rx_pcap=FILE, tx_pcap=FILE or iface=NAME",
		          dev->spec);
		return -EINVAL;
	}
	if (iface && (rx || tx)) {
		TARN__ERR(PCAP_LOG,
		          "port spec '%s': iface excludes rx_pcap and tx_pcap (use two ports)",
		          dev->spec);
		return -EINVAL;
	}
	if (!rx && (tarn__eth_spec_get(spec, "loop") != NULL ||
	            tarn__eth_spec_get(spec, "rate") != NULL)) {
		TARN__ERR(PCAP_LOG, "port spec '%s': loop and rate go with rx_pcap", dev->spec);
		return -EINVAL;
	}
	return 0;
}

/* The files (rx_pcap read and checked whole, tx_pcap created) or the two
 * libpcap handles of a live interface. */
static int pcap_create_port(struct tarn__eth_dev *dev, const struct tarn__eth_spec *spec)
{
	struct pcap_port *pp = dev->priv;
	int rc = keys_check(dev, pp, spec);

	if (rc < 0)
		return rc;
	pp->port_id = dev->port_id;
	pp->dev = dev;
	if (pp->lif.ifname[0] != '\0') {
		pp->mode = PCAP_MODE_IFACE;
		rc = live_open(dev, pp->lif.ifname, 0, &pp->live_rx);
		if (rc == 0)
			rc = live_open(dev, pp->lif.ifname, 1, &pp->live_tx);
		if (rc < 0) {
			port_free(pp);
			return rc;
		}
		/* The capture handle's socket (libpcap's: not closed here)
		 * reaches the interface for linux_if.c's ops. */
		pp->lif.ops = &pcap_lif_ops;
		pp->lif.fd = pcap_fileno(pp->live_rx);
		pp->lif.ifindex = (int)if_nametoindex(pp->lif.ifname);
		return 0;
	}
	pp->mode = PCAP_MODE_FILE;
	if (pp->rx_path[0] != '\0') {
		rc = tarn__pcap_rx_file_open(dev, pp);
		if (rc < 0)
			return rc;
	}
	if (pp->tx_path[0] != '\0') {
		rc = tarn__pcap_tx_file_open(dev, pp);
		if (rc < 0) {
			port_free(pp);
			return rc;
		}
	}
	tarn__pcap_port_add(pp);
	if (pp->rx_path[0] != '\0')
		TARN__INFO(PCAP_LOG,
		           "pcap port %u: rx_pcap %s: %" PRIu64 " packets, %s, loop %" PRIu64 "%s",
		           (unsigned)dev->port_id, pp->rx_path, pp->nb_records,
		           pp->nsec ? "ns" : "us", pp->loops,
		           pp->rate_recorded ? ", recorded rate" : "");
	return 0;
}

/* Everything closed; the port's files are free for other ports. */
static void pcap_close_port(struct tarn__eth_dev *dev)
{
	struct pcap_port *pp = dev->priv;
	tarn__pcap_port_remove(pp);
	port_free(pp);
}

/* ------------------------------------------------------------------------ */
/* Queues, start, stop, control */

/* ethdev checked the pool: an Ethernet header fits after the headroom. */
static int pcap_rx_queue_setup(struct tarn__eth_dev *dev, void *qd, const struct tarn__eth_qconf *c)
{
	struct pcap_rxq *q = qd;

	q->pp = dev->priv;
	q->mp = c->mp;
	q->stats = c->stats;
	q->port_id = dev->port_id;
	q->room = (uint16_t)c->room;
	const unsigned n = tarn_mempool_size(c->mp), reserve = tarn_mempool_reserve(c->mp);
	q->pool_mbufs = n > reserve ? n - reserve : 0;
	q->pool_bytes = (uint64_t)q->pool_mbufs * q->room;
	q->big_logged = 0;
	return 0;
}

/* A chained packet is made contiguous in `lin` for pcap_inject (and for a
 * record of more segments than one writev() takes). */
static int pcap_tx_queue_setup(struct tarn__eth_dev *dev, void *qd, const struct tarn__eth_qconf *c)
{
	struct pcap_txq *q = qd;
	uint8_t *lin = TARN__FAULT("pcap-malloc", ENOMEM) ? NULL : malloc(PCAP_TX_SNAPLEN);

	if (lin == NULL) {
		TARN__ERR(PCAP_LOG, "pcap port %u: TX queue %u: out of memory",
		          (unsigned)dev->port_id, (unsigned)c->id);
		return -ENOMEM;
	}
	q->pp = dev->priv;
	q->stats = c->stats;
	q->lin = lin;
	q->port_id = dev->port_id;
	return 0;
}

/* The linear buffer goes. */
static void pcap_tx_queue_release(struct tarn__eth_dev *dev, void *qd)
{
	(void)dev;
	free(((struct pcap_txq *)qd)->lin);
}

/* A recorded-rate replay resumes without a catch-up burst. */
static int pcap_start(struct tarn__eth_dev *dev)
{
	struct pcap_port *pp = dev->priv;
	pp->wall_base = 0; /* a recorded-rate replay resumes without a catch-up burst */
	return 0;
}

/* A file port: up while started, at a nominal speed. A live port: the
 * interface's link (linux_if.c). */
static int pcap_link_get(struct tarn__eth_dev *dev, struct tarn_eth_link *link)
{
	const struct pcap_port *pp = dev->priv;

	if (pp->mode == PCAP_MODE_IFACE)
		return tarn__lif_link_get(dev, link);
	if (dev->state == TARN_ETH_STATE_STARTED) {
		link->up = 1;
		link->speed_mbps = PCAP_SPEED_MBPS;
		link->full_duplex = 1;
	}
	return 0;
}

/* A file port records the mode only; a live port holds a PACKET_MR_PROMISC
 * membership of its capture socket (linux_if.c). */
static int pcap_promisc_set(struct tarn__eth_dev *dev, int on)
{
	const struct pcap_port *pp = dev->priv;

	return pp->mode == PCAP_MODE_IFACE ? tarn__lif_promisc_set(dev, on) : 0;
}

const struct tarn__eth_driver tarn__eth_pcap_driver = {
	.name = "pcap",
	.summary = "capture files and live interfaces (libpcap)",
	.keys = pcap_keys,
	.priv_size = sizeof(struct pcap_port),
	.rxq_size = sizeof(struct pcap_rxq),
	.txq_size = sizeof(struct pcap_txq),
	.max_rx_queues = 1,
	.max_tx_queues = 1,
	.rx_data_min = TARN_ETHER_HDR_LEN,
	.rx_data_what = "an Ethernet header",
	.create = pcap_create_port,
	.close = pcap_close_port,
	.rx_queue_setup = pcap_rx_queue_setup,
	.tx_queue_setup = pcap_tx_queue_setup,
	.tx_queue_release = pcap_tx_queue_release,
	.start = pcap_start,
	.link_get = pcap_link_get,
	.promisc_set = pcap_promisc_set,
	.rx_burst = tarn__pcap_rx_burst,
	.tx_burst = tarn__pcap_tx_burst,
};
