/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * mbuf_chain.c - chains, attach/detach, clones, deep copies, linearize.
 */
#include <errno.h>
#include <string.h>

#include "mbuf_priv.h"

int tarn_pktmbuf_chain(struct tarn_mbuf *head, struct tarn_mbuf *tail)
{
	struct tarn_mbuf *last = NULL;

	if (head == NULL || tail == NULL || head == tail)
		return -EINVAL;
	if ((unsigned)head->nb_segs + tail->nb_segs > TARN_MBUF_MAX_SEGS ||
	    (uint64_t)head->pkt_len + tail->pkt_len > UINT32_MAX)
		return -EOVERFLOW;
	/* Refuse to make a loop: tail must not be in head's chain, nor head in
	 * tail's. Both walks are bounded by the segment limit. */
	unsigned n = 0;
	for (struct tarn_mbuf *s = head; s != NULL; s = s->next) {
		if (s == tail || ++n > TARN_MBUF_MAX_SEGS)
			return -EINVAL;
		last = s;
	}
	n = 0;
	for (const struct tarn_mbuf *s = tail; s != NULL; s = s->next)
		if (s == head || ++n > TARN_MBUF_MAX_SEGS)
			return -EINVAL;

	last->next = tail;
	head->nb_segs = (uint16_t)(head->nb_segs + tail->nb_segs);
	head->pkt_len += tail->pkt_len;
	tail->nb_segs = 1;
	tail->pkt_len = tail->data_len;
	return 0;
}

int tarn_pktmbuf_attach(struct tarn_mbuf *mi, struct tarn_mbuf *m)
{
	if (mi == NULL || m == NULL || mi == m)
		return -EINVAL;
	if (TARN_MBUF_INDIRECT(mi) || tarn_mbuf_refcnt_read(mi) != 1 || mi->next != NULL) {
		TARN__ERR(MBUF_LOG, "attach: mbuf %p is not a lone direct mbuf with refcnt 1",
		          (void *)mi);
		return -EINVAL;
	}
	struct tarn_mbuf *d = TARN_MBUF_INDIRECT(m) ? m->direct : m;

	if (d == NULL || d == mi)
		return -EINVAL;
	/* Take a reference on the direct mbuf. acq_rel as every update above
	 * 1 (see tarn_mbuf_refcnt_update()); a CAS so that the maximum is never
	 * passed. */
	uint16_t cur = tarn_mbuf_refcnt_read(d);
	do {
		if (cur == TARN_MBUF_MAX_REFCNT)
			return -EOVERFLOW;
		if (cur == 0)
			return -EINVAL; /* a freed mbuf */
	} while (!__atomic_compare_exchange_n(&d->refcnt, &cur, (uint16_t)(cur + 1), 1,
	                                      __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE));

	mi->buf_addr = m->buf_addr;
	mi->buf_iova = m->buf_iova;
	mi->buf_len = m->buf_len;
	mi->data_off = m->data_off;
	mi->data_len = m->data_len;
	mi->pkt_len = m->data_len;
	mi->nb_segs = 1;
	mi->direct = d;
	mi->mbuf_flags |= TARN_MBUF_IND;
	mi->port = m->port;
	mi->ol_flags = m->ol_flags;
	mi->packet_type = m->packet_type;
	mi->vlan_tci = m->vlan_tci;
	mi->vlan_tci_outer = m->vlan_tci_outer;
	mi->hash = m->hash;
	mi->tx_offload = m->tx_offload;
	mi->timestamp = m->timestamp;
	return 0;
}

int tarn_pktmbuf_detach(struct tarn_mbuf *mi)
{
	struct tarn__mbuf_batch b;

	if (mi == NULL || !TARN_MBUF_INDIRECT(mi))
		return -EINVAL;
	b.mp = NULL;
	b.n = 0;
	tarn__mbuf_detach(mi, &b);
	tarn__mbuf_batch_flush(&b);
	return 0;
}

struct tarn_mbuf *tarn_pktmbuf_clone(struct tarn_mbuf *md, struct tarn_mempool *pool)
{
	struct tarn_mbuf *head = NULL, *prev = NULL;

	if (md == NULL || pool == NULL)
		return tarn__err_null(EINVAL);
	for (struct tarn_mbuf *s = md; s != NULL; s = s->next) {
		struct tarn_mbuf *mi = tarn_pktmbuf_alloc(pool);
		int rc;

		if (mi == NULL) {
			rc = -ENOBUFS;
			goto fail;
		}
		rc = tarn_pktmbuf_attach(mi, s);
		if (rc != 0) {
			tarn_pktmbuf_free(mi);
			goto fail;
		}
		if (head == NULL) {
			head = mi;
		} else {
			/* keep the partial clone a valid packet at every step */
			prev->next = mi;
			head->nb_segs++;
			head->pkt_len += mi->data_len;
		}
		prev = mi;
		continue;
	fail:
		tarn_pktmbuf_free(head);
		return tarn__err_null(rc);
	}
	head->pkt_len = md->pkt_len;
	head->nb_segs = md->nb_segs;
	return head;
}

/* Copy the metadata that describes the packet (not the buffer). */
static void mbuf_copy_meta(struct tarn_mbuf *to, const struct tarn_mbuf *from)
{
	to->port = from->port;
	to->ol_flags = from->ol_flags;
	to->packet_type = from->packet_type;
	to->vlan_tci = from->vlan_tci;
	to->vlan_tci_outer = from->vlan_tci_outer;
	to->hash = from->hash;
	to->tx_offload = from->tx_offload;
	to->timestamp = from->timestamp;
}

struct tarn_mbuf *tarn_pktmbuf_copy(const struct tarn_mbuf *m, struct tarn_mempool *pool,
                                    uint32_t off, uint32_t len)
{
	int err;

	if (m == NULL || pool == NULL || off > m->pkt_len)
		return tarn__err_null(EINVAL);
	if (len > m->pkt_len - off)
		len = m->pkt_len - off;

	struct tarn_mbuf *mc = tarn_pktmbuf_alloc(pool);

	if (mc == NULL)
		return tarn__err_null(ENOBUFS);
	mbuf_copy_meta(mc, m);

	/* the source segment holding `off` */
	const struct tarn_mbuf *src = m;
	uint32_t soff = off;

	while (src != NULL && soff >= src->data_len && len > 0) {
		soff -= src->data_len;
		src = src->next;
	}

	struct tarn_mbuf *dst = mc;

	while (len > 0) {
		if (src == NULL) {
			err = EINVAL; /* pkt_len larger than the chain */
			goto fail;
		}
		if (tarn_pktmbuf_tailroom(dst) == 0) {
			if (mc->nb_segs == TARN_MBUF_MAX_SEGS) {
				err = EOVERFLOW;
				goto fail;
			}
			struct tarn_mbuf *n = tarn_pktmbuf_alloc(pool);

			if (n == NULL) {
				err = ENOBUFS;
				goto fail;
			}
			dst->next = n;
			dst = n;
			mc->nb_segs++;
			if (tarn_pktmbuf_tailroom(dst) == 0) {
				err = EINVAL; /* the pool has no room for data */
				goto fail;
			}
		}
		uint32_t chunk = src->data_len - soff;

		if (chunk > len)
			chunk = len;
		if (chunk > tarn_pktmbuf_tailroom(dst))
			chunk = tarn_pktmbuf_tailroom(dst);
		memcpy(tarn_pktmbuf_mtod_offset(dst, char *, dst->data_len),
		       tarn_pktmbuf_mtod_offset(src, const char *, soff), chunk);
		dst->data_len = (uint16_t)(dst->data_len + chunk);
		mc->pkt_len += chunk;
		len -= chunk;
		soff += chunk;
		if (soff == src->data_len) {
			src = src->next;
			soff = 0;
		}
	}
	return mc;
fail:
	tarn_pktmbuf_free(mc);
	return tarn__err_null(err);
}

int tarn_pktmbuf_linearize(struct tarn_mbuf *m)
{
	if (m == NULL)
		return -EINVAL;
	if (m->next == NULL)
		return 0;
	if (TARN_MBUF_INDIRECT(m) || tarn_mbuf_refcnt_read(m) != 1)
		return -EBUSY;

	uint64_t rest = 0;

	for (const struct tarn_mbuf *s = m->next; s != NULL; s = s->next)
		rest += s->data_len;
	if (rest > tarn_pktmbuf_tailroom(m))
		return -ENOSPC;

	struct tarn__mbuf_batch b;
	struct tarn_mbuf *s = m->next;

	b.mp = NULL;
	b.n = 0;
	while (s != NULL) {
		struct tarn_mbuf *next = s->next;

		memcpy(tarn_pktmbuf_mtod_offset(m, char *, m->data_len),
		       tarn_pktmbuf_mtod(s, const char *), s->data_len);
		m->data_len = (uint16_t)(m->data_len + s->data_len);
		tarn__mbuf_prefree_seg(s, &b);
		s = next;
	}
	tarn__mbuf_batch_flush(&b);
	m->next = NULL;
	m->nb_segs = 1;
	m->pkt_len = m->data_len;
	return 0;
}
