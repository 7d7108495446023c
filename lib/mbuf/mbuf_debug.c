/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * mbuf_debug.c - sanity check, dump, names of flags and packet types, and
 * the accounting of the debug modes.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

#include "mbuf_priv.h"

/* Bad frees refused and failed TARN_MBUF_DEBUG checks (relaxed: a counter). */
static uint64_t mbuf_debug_errors;

uint64_t tarn_mbuf_debug_errors(void)
{
	return __atomic_load_n(&mbuf_debug_errors, __ATOMIC_RELAXED);
}

int tarn__mbuf_debug_fail(const struct tarn_mbuf *m, const char *func, const char *reason)
{
	__atomic_fetch_add(&mbuf_debug_errors, 1, __ATOMIC_RELAXED);
	TARN__ERR(MBUF_LOG, "%s: mbuf %p: %s", func ? func : "?", (const void *)m,
	          reason ? reason : "invalid");
	return -EINVAL;
}

void tarn__mbuf_debug_refuse(const struct tarn_mbuf *m, const char *what, const char *reason)
{
	__atomic_fetch_add(&mbuf_debug_errors, 1, __ATOMIC_RELAXED);
	TARN__ERR(MBUF_LOG, "%s of mbuf %p refused: %s (the packet is left alone, not freed)", what,
	          (const void *)m, reason ? reason : "invalid");
}

/* ------------------------------------------------------------------------ */
/* Sanity check */

#define CHECK_FAIL(why)                                                                            \
	do {                                                                                       \
		if (reason != NULL)                                                                \
			*reason = (why);                                                           \
		return -EINVAL;                                                                    \
	} while (0)

/* One segment, without following next. */
static int mbuf_check_seg(const struct tarn_mbuf *m, const char **reason)
{
	if (m->pool == NULL)
		CHECK_FAIL("bad pool: NULL");
	if (tarn_mempool_from_obj(m) != m->pool)
		CHECK_FAIL("bad pool: not the pool of the object");
	const struct tarn_pktmbuf_pool_private *pp = tarn__mbuf_pool_priv(m->pool);

	if (pp == NULL)
		CHECK_FAIL("bad pool: not an mbuf pool");
	if (m->buf_addr == NULL)
		CHECK_FAIL("bad buf_addr: NULL");
	if (tarn_mbuf_refcnt_read(m) == 0)
		CHECK_FAIL("refcnt 0");
	if (TARN_MBUF_DIRECT(m)) {
		if (m->priv_size != pp->priv_size)
			CHECK_FAIL("bad priv_size: not the pool's");
		if ((const char *)m->buf_addr !=
		    (const char *)m + sizeof(struct tarn_mbuf) + m->priv_size)
			CHECK_FAIL("bad buf_addr: not the mbuf's own buffer");
		if (m->buf_len != pp->data_room_size)
			CHECK_FAIL("bad buf_len: not the pool's data room");
		if (m->direct != NULL)
			CHECK_FAIL("direct mbuf with a direct link");
	} else {
		const struct tarn_mbuf *d = m->direct;

		if (d == NULL)
			CHECK_FAIL("indirect mbuf without a direct mbuf");
		if (TARN_MBUF_INDIRECT(d))
			CHECK_FAIL("indirect mbuf attached to an indirect mbuf");
		if (tarn_mbuf_refcnt_read(d) == 0)
			CHECK_FAIL("refcnt 0 on the direct mbuf of an indirect one");
		if (d->buf_addr != m->buf_addr || d->buf_len != m->buf_len)
			CHECK_FAIL("indirect mbuf's buffer is not its direct mbuf's");
	}
	if ((uint32_t)m->data_off + m->data_len > m->buf_len)
		CHECK_FAIL("lengths inconsistent: data_off + data_len beyond buf_len");
	return 0;
}

int tarn_mbuf_check(const struct tarn_mbuf *m, int is_header, const char **reason)
{
	if (m == NULL)
		CHECK_FAIL("NULL mbuf");
	int rc = mbuf_check_seg(m, reason);

	if (rc != 0 || !is_header)
		return rc;

	/* A loop first (Floyd: the hare runs twice as fast; they meet only in a
	 * cycle), so that the walk below ends. */
	const struct tarn_mbuf *slow = m, *fast = m;

	while (fast != NULL && fast->next != NULL) {
		slow = slow->next;
		fast = fast->next->next;
		if (slow == fast)
			CHECK_FAIL("loop in chain");
	}

	uint64_t sum = 0;
	unsigned n = 0;

	for (const struct tarn_mbuf *s = m; s != NULL; s = s->next) {
		if (s != m) {
			rc = mbuf_check_seg(s, reason);
			if (rc != 0)
				return rc;
		}
		sum += s->data_len;
		n++;
	}
	if (n != m->nb_segs)
		CHECK_FAIL("segment count mismatch: nb_segs is not the number of segments");
	if (sum != m->pkt_len)
		CHECK_FAIL("lengths inconsistent: pkt_len is not the sum of data_len");
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Names */

static const struct {
	uint64_t flag;
	const char *name;
} mbuf_flag_names[] = {
	{ TARN_MBUF_F_RX_VLAN, "RX_VLAN" },
	{ TARN_MBUF_F_RX_VLAN_STRIPPED, "RX_VLAN_STRIPPED" },
	{ TARN_MBUF_F_RX_RSS_HASH, "RX_RSS_HASH" },
	{ TARN_MBUF_F_RX_IP_CKSUM_GOOD, "RX_IP_CKSUM_GOOD" },
	{ TARN_MBUF_F_RX_IP_CKSUM_BAD, "RX_IP_CKSUM_BAD" },
	{ TARN_MBUF_F_RX_L4_CKSUM_GOOD, "RX_L4_CKSUM_GOOD" },
	{ TARN_MBUF_F_RX_L4_CKSUM_BAD, "RX_L4_CKSUM_BAD" },
	{ TARN_MBUF_F_RX_OUTER_IP_CKSUM_BAD, "RX_OUTER_IP_CKSUM_BAD" },
	{ TARN_MBUF_F_RX_QINQ, "RX_QINQ" },
	{ TARN_MBUF_F_RX_QINQ_STRIPPED, "RX_QINQ_STRIPPED" },
	{ TARN_MBUF_F_RX_TIMESTAMP, "RX_TIMESTAMP" },
	{ TARN_MBUF_F_RX_LRO, "RX_LRO" },
	{ TARN_MBUF_F_RX_TRUNCATED, "RX_TRUNCATED" },
	{ TARN_MBUF_F_TX_VLAN, "TX_VLAN" },
	{ TARN_MBUF_F_TX_QINQ, "TX_QINQ" },
	{ TARN_MBUF_F_TX_IPV4, "TX_IPV4" },
	{ TARN_MBUF_F_TX_IPV6, "TX_IPV6" },
	{ TARN_MBUF_F_TX_IP_CKSUM, "TX_IP_CKSUM" },
	{ TARN_MBUF_F_TX_TCP_CKSUM, "TX_TCP_CKSUM" },
	{ TARN_MBUF_F_TX_UDP_CKSUM, "TX_UDP_CKSUM" },
	{ TARN_MBUF_F_TX_TCP_SEG, "TX_TCP_SEG" },
	{ TARN_MBUF_F_TX_OUTER_IP_CKSUM, "TX_OUTER_IP_CKSUM" },
	{ TARN_MBUF_F_TX_TIMESTAMP, "TX_TIMESTAMP" },
};

const char *tarn_mbuf_flag_name(uint64_t flag)
{
	for (size_t i = 0; i < TARN_ARRAY_SIZE(mbuf_flag_names); i++)
		if (mbuf_flag_names[i].flag == flag)
			return mbuf_flag_names[i].name;
	return NULL;
}

/* Append to buf[*len..size): a separator if needed, then the text. Returns
 * -ENOSPC once something did not fit (the output stays terminated). */
static int str_add(char *buf, size_t size, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int str_add(char *buf, size_t size, size_t *len, const char *fmt, ...)
{
	va_list ap;
	int rc = 0;

	if (*len > 0) {
		if (*len + 1 >= size)
			return -ENOSPC;
		buf[(*len)++] = ' ';
		buf[*len] = '\0';
	}
	va_start(ap, fmt);
	const int w = vsnprintf(buf + *len, size - *len, fmt, ap);
	va_end(ap);
	if (w < 0 || (size_t)w >= size - *len) {
		*len = strlen(buf);
		rc = -ENOSPC;
	} else {
		*len += (size_t)w;
	}
	return rc;
}

int tarn_mbuf_flags_str(uint64_t ol_flags, char *buf, size_t size)
{
	size_t len = 0;
	uint64_t known = 0;

	if (buf == NULL || size == 0)
		return -EINVAL;
	buf[0] = '\0';
	for (size_t i = 0; i < TARN_ARRAY_SIZE(mbuf_flag_names); i++) {
		known |= mbuf_flag_names[i].flag;
		if ((ol_flags & mbuf_flag_names[i].flag) &&
		    str_add(buf, size, &len, "%s", mbuf_flag_names[i].name) != 0)
			return -ENOSPC;
	}
	if ((ol_flags & ~known) != 0 &&
	    str_add(buf, size, &len, "0x%" PRIx64, ol_flags & ~known) != 0)
		return -ENOSPC;
	return (int)len;
}

int tarn_ptype_str(uint32_t packet_type, char *buf, size_t size)
{
	static const char *const l2[16] = { [1] = "L2_ETHER",
		                            [2] = "L2_ETHER_VLAN",
		                            [3] = "L2_ETHER_QINQ",
		                            [4] = "L2_ETHER_ARP",
		                            [5] = "L2_ETHER_LLDP" };
	static const char *const l3[16] = {
		[1] = "L3_IPV4", [2] = "L3_IPV4_EXT", [3] = "L3_IPV6", [4] = "L3_IPV6_EXT"
	};
	static const char *const l4[16] = { [1] = "L4_TCP",  [2] = "L4_UDP",  [3] = "L4_ICMP",
		                            [4] = "L4_SCTP", [5] = "L4_FRAG", [6] = "L4_NONFRAG" };
	const char *const *tab[3] = { l2, l3, l4 };
	size_t len = 0;

	if (buf == NULL || size == 0)
		return -EINVAL;
	buf[0] = '\0';
	for (unsigned i = 0; i < 3; i++) {
		const unsigned v = (packet_type >> (4 * i)) & 0xf;

		if (v == 0)
			continue;
		if (tab[i][v] != NULL) {
			if (str_add(buf, size, &len, "%s", tab[i][v]) != 0)
				return -ENOSPC;
		} else if (str_add(buf, size, &len, "L%u_0x%x", i + 2, v) != 0) {
			return -ENOSPC;
		}
	}
	if ((packet_type & ~0xfffu) != 0 &&
	    str_add(buf, size, &len, "0x%x", packet_type & ~0xfffu) != 0)
		return -ENOSPC;
	if (len == 0 && str_add(buf, size, &len, "UNKNOWN") != 0)
		return -ENOSPC;
	return (int)len;
}

/* ------------------------------------------------------------------------ */
/* Dump */

/* Hex dump `len` bytes of the chain from its start, 16 per line. */
static void mbuf_hexdump(FILE *f, const struct tarn_mbuf *m, uint32_t len)
{
	unsigned char line[16];
	unsigned fill = 0, segs = 0;
	uint32_t off = 0;

	for (const struct tarn_mbuf *s = m; s != NULL && off < len && segs < TARN_MBUF_MAX_SEGS;
	     s = s->next, segs++) {
		const unsigned char *p = tarn_pktmbuf_mtod(s, const unsigned char *);

		for (uint32_t i = 0; i < s->data_len && off < len; i++, off++) {
			line[fill++] = p[i];
			if (fill == 16 || off + 1 == len) {
				fprintf(f, "    %08x:", off + 1 - fill);
				for (unsigned j = 0; j < 16; j++) {
					if (j < fill)
						fprintf(f, " %02x", line[j]);
					else
						fputs("   ", f);
				}
				fputs("  |", f);
				for (unsigned j = 0; j < fill; j++)
					fputc(isprint(line[j]) ? line[j] : '.', f);
				fputs("|\n", f);
				fill = 0;
			}
		}
	}
	if (fill > 0) { /* the chain held less than pkt_len said */
		fprintf(f, "    %08x:", off - fill);
		for (unsigned j = 0; j < fill; j++)
			fprintf(f, " %02x", line[j]);
		fputc('\n', f);
	}
}

void tarn_pktmbuf_dump(FILE *f, const struct tarn_mbuf *m, unsigned dump_len)
{
	char flags[256], ptype[96];

	if (f == NULL)
		f = stdout;
	if (m == NULL) {
		fprintf(f, "mbuf: NULL\n");
		return;
	}
	tarn_mbuf_flags_str(m->ol_flags, flags, sizeof(flags));
	tarn_ptype_str(m->packet_type, ptype, sizeof(ptype));
	fprintf(f,
	        "mbuf %p: pool %s, pkt_len %" PRIu32 ", nb_segs %u, port %u\n"
	        "  ol_flags 0x%" PRIx64 " [%s]\n"
	        "  packet_type 0x%" PRIx32 " [%s], vlan_tci %u, vlan_tci_outer %u, "
	        "hash.rss 0x%08" PRIx32 "\n"
	        "  l2_len %u, l3_len %u, l4_len %u, tso_segsz %u\n",
	        (const void *)m, m->pool ? tarn_mempool_name(m->pool) : "(none)", m->pkt_len,
	        m->nb_segs, m->port, m->ol_flags, flags, m->packet_type, ptype, m->vlan_tci,
	        m->vlan_tci_outer, m->hash.rss, (unsigned)m->l2_len, (unsigned)m->l3_len,
	        (unsigned)m->l4_len, (unsigned)m->tso_segsz);

	unsigned n = 0;
	for (const struct tarn_mbuf *s = m; s != NULL && n < TARN_MBUF_MAX_SEGS; s = s->next, n++)
		fprintf(f,
		        "  segment %u: %p %s, buf_addr %p, buf_iova 0x%" PRIx64 ", buf_len %u, "
		        "data_off %u, data_len %u, refcnt %u, direct %p\n",
		        n, (const void *)s, TARN_MBUF_INDIRECT(s) ? "indirect" : "direct",
		        s->buf_addr, (uint64_t)s->buf_iova, s->buf_len, s->data_off, s->data_len,
		        tarn_mbuf_refcnt_read(s), (const void *)s->direct);
	if (dump_len > 0) {
		const uint32_t len = dump_len < m->pkt_len ? dump_len : m->pkt_len;

		fprintf(f, "  data (%" PRIu32 " of %" PRIu32 " bytes):\n", len, m->pkt_len);
		mbuf_hexdump(f, m, len);
	}
}
