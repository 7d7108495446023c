/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * mbuf.c - mbuf pools, object initialisation, the out-of-line free paths and
 * reads across segments.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mbuf_priv.h"

/* What every object of a new pool is initialised with. */
struct mbuf_init_arg {
	struct tarn_pktmbuf_pool_private priv;
	bool debug;
};

/* TARN_DEBUG is a list of components separated by commas or spaces. */
static bool mbuf_debug_from_env(void)
{
	const char *v = getenv("TARN_DEBUG");

	if (v == NULL)
		return false;
	while (*v != '\0') {
		const size_t len = strcspn(v, ", ");

		if ((len == 4 && strncmp(v, "mbuf", 4) == 0) ||
		    (len == 3 && strncmp(v, "all", 3) == 0))
			return true;
		v += len;
		v += strspn(v, ", ");
	}
	return false;
}

struct tarn_pktmbuf_pool_private *tarn__mbuf_pool_priv(struct tarn_mempool *mp)
{
	if (mp == NULL || tarn_mempool_priv_size(mp) < sizeof(struct tarn_pktmbuf_pool_private))
		return NULL;
	struct tarn_pktmbuf_pool_private *p = tarn_mempool_get_priv(mp);

	return p != NULL && p->magic == TARN_PKTMBUF_POOL_MAGIC ? p : NULL;
}

/* Constructor: runs once per object, from the creating thread. */
static void mbuf_obj_init(struct tarn_mempool *mp, void *arg, void *obj, unsigned idx)
{
	const struct mbuf_init_arg *a = arg;
	struct tarn_mbuf *m = obj;
	const size_t off = sizeof(struct tarn_mbuf) + a->priv.priv_size;
	const tarn_iova_t iova = tarn_mempool_virt2iova(obj);

	/* Record the pool's parameters with the first object, so the pool is
	 * an mbuf pool before anyone can look it up. */
	if (idx == 0) {
		struct tarn_pktmbuf_pool_private *p = tarn_mempool_get_priv(mp);

		if (p != NULL)
			*p = a->priv;
	}
	memset(m, 0, sizeof(*m));
	m->buf_addr = (char *)m + off;
	m->buf_iova = iova == TARN_BAD_IOVA ? TARN_BAD_IOVA : iova + off;
	m->buf_len = a->priv.data_room_size;
	m->priv_size = a->priv.priv_size;
	m->mbuf_flags = a->debug ? TARN_MBUF_DEBUGGED : 0;
	m->pool = mp;
	m->next = NULL;
	m->data_off = tarn__mbuf_default_headroom(m->buf_len);
	m->refcnt = 1;
	m->nb_segs = 1;
	m->port = TARN_MBUF_PORT_INVALID;
}

struct tarn_mempool *tarn_pktmbuf_pool_create_by_ops(const char *name, unsigned n,
                                                     unsigned cache_size, uint16_t priv_size,
                                                     uint16_t data_room_size, int socket,
                                                     const char *ops_name, unsigned flags)
{
	struct tarn_mempool_params p;
	struct mbuf_init_arg arg;

	if (priv_size % TARN_MBUF_PRIV_ALIGN != 0) {
		TARN__ERR(MBUF_LOG, "pool %s: priv_size %u is not a multiple of %d",
		          name ? name : "(null)", priv_size, TARN_MBUF_PRIV_ALIGN);
		return tarn__err_null(EINVAL);
	}
	memset(&arg, 0, sizeof(arg));
	arg.priv.magic = TARN_PKTMBUF_POOL_MAGIC;
	arg.priv.data_room_size = data_room_size;
	arg.priv.priv_size = priv_size;
	arg.debug = mbuf_debug_from_env();
	arg.priv.flags = arg.debug ? TARN_PKTMBUF_POOL_F_DEBUG : 0;

	tarn_mempool_params_init(&p);
	p.name = name;
	p.n = n;
	p.elt_size = (unsigned)sizeof(struct tarn_mbuf) + priv_size + data_room_size;
	p.cache_size = cache_size;
	p.priv_size = sizeof(struct tarn_pktmbuf_pool_private);
	p.obj_init = mbuf_obj_init;
	p.obj_init_arg = &arg;
	p.socket = socket;
	p.flags = flags | (arg.debug ? TARN_MEMPOOL_F_DEBUG : 0);
	p.ops_name = ops_name;

	struct tarn_mempool *mp = tarn_mempool_create_params(&p);

	if (mp == NULL)
		return NULL; /* tarn_errno set, and logged, by the mempool */
	if (arg.debug)
		TARN__NOTICE(MBUF_LOG, "pool %s: mbuf debug mode (TARN_DEBUG)", name);
	return mp;
}

struct tarn_mempool *tarn_pktmbuf_pool_create(const char *name, unsigned n, unsigned cache_size,
                                              uint16_t priv_size, uint16_t data_room_size,
                                              int socket)
{
	return tarn_pktmbuf_pool_create_by_ops(name, n, cache_size, priv_size, data_room_size,
	                                       socket, NULL, 0);
}

int tarn_pktmbuf_pool_is_mbuf_pool(struct tarn_mempool *mp)
{
	return tarn__mbuf_pool_priv(mp) != NULL;
}

int tarn_pktmbuf_data_room_size(struct tarn_mempool *mp)
{
	const struct tarn_pktmbuf_pool_private *p = tarn__mbuf_pool_priv(mp);

	return p != NULL ? p->data_room_size : -EINVAL;
}

int tarn_pktmbuf_priv_size(struct tarn_mempool *mp)
{
	const struct tarn_pktmbuf_pool_private *p = tarn__mbuf_pool_priv(mp);

	return p != NULL ? p->priv_size : -EINVAL;
}

/* ------------------------------------------------------------------------ */
/* Free paths */

void tarn__mbuf_detach(struct tarn_mbuf *mi, struct tarn__mbuf_batch *b)
{
	struct tarn_mbuf *d = mi->direct;
	const size_t off = sizeof(struct tarn_mbuf) + mi->priv_size;
	const struct tarn_pktmbuf_pool_private *pp = tarn_mempool_get_priv(mi->pool);
	const tarn_iova_t iova = tarn_mempool_virt2iova(mi);

	mi->buf_addr = (char *)mi + off;
	mi->buf_iova = iova == TARN_BAD_IOVA ? TARN_BAD_IOVA : iova + off;
	mi->buf_len = pp != NULL ? pp->data_room_size : 0;
	mi->data_off = tarn__mbuf_default_headroom(mi->buf_len);
	mi->data_len = 0;
	mi->pkt_len = 0;
	mi->direct = NULL;
	mi->mbuf_flags &= (uint16_t)~TARN_MBUF_IND;

	/* The direct mbuf: a plain reference drop (it is never indirect). Its
	 * next may point at a segment long gone: never follow it. */
	if (tarn_mbuf_refcnt_read(d) == 1 ||
	    /* acq_rel: see tarn_mbuf_refcnt_update() */
	    __atomic_sub_fetch(&d->refcnt, 1, __ATOMIC_ACQ_REL) == 0) {
		tarn_mbuf_refcnt_set(d, 1);
		d->next = NULL;
		d->nb_segs = 1;
		tarn__mbuf_batch_add(b, d);
	}
}

void tarn__mbuf_prefree_seg(struct tarn_mbuf *m, struct tarn__mbuf_batch *b)
{
	/* refcnt 1: owned exclusively, nobody else may touch it */
	if (tarn_mbuf_refcnt_read(m) != 1) {
		/* acq_rel: see tarn_mbuf_refcnt_update() */
		if (__atomic_sub_fetch(&m->refcnt, 1, __ATOMIC_ACQ_REL) != 0)
			return;
		tarn_mbuf_refcnt_set(m, 1);
	}
	if (TARN_MBUF_INDIRECT(m))
		tarn__mbuf_detach(m, b);
	m->next = NULL;
	m->nb_segs = 1;
	tarn__mbuf_batch_add(b, m);
}

/* Free the packet from `m` into `b`; in debug mode check it first. */
static void mbuf_free_into(struct tarn_mbuf *m, struct tarn__mbuf_batch *b)
{
	if (tarn_unlikely(m->mbuf_flags & TARN_MBUF_DEBUGGED)) {
		const char *why = NULL;

		if (tarn_mbuf_check(m, 1, &why) != 0) {
			tarn__mbuf_debug_refuse(m, "free", why);
			return;
		}
	}
	while (m != NULL) {
		struct tarn_mbuf *next = m->next;

		tarn__mbuf_prefree_seg(m, b);
		m = next;
	}
}

void tarn__pktmbuf_free_slow(struct tarn_mbuf *m)
{
	struct tarn__mbuf_batch b;

	if (m == NULL)
		return;
	b.mp = NULL;
	b.n = 0;
	mbuf_free_into(m, &b);
	tarn__mbuf_batch_flush(&b);
}

void tarn__pktmbuf_free_bulk_slow(struct tarn_mbuf **mbufs, unsigned n)
{
	struct tarn__mbuf_batch b;

	if (mbufs == NULL)
		return;
	b.mp = NULL;
	b.n = 0;
	for (unsigned i = 0; i < n; i++)
		if (mbufs[i] != NULL)
			mbuf_free_into(mbufs[i], &b);
	tarn__mbuf_batch_flush(&b);
}

void tarn_pktmbuf_free_seg(struct tarn_mbuf *m)
{
	struct tarn__mbuf_batch b;

	if (m == NULL)
		return;
	if (tarn_unlikely(m->mbuf_flags & TARN_MBUF_DEBUGGED)) {
		const char *why = NULL;

		if (tarn_mbuf_check(m, 0, &why) != 0) {
			tarn__mbuf_debug_refuse(m, "free_seg", why);
			return;
		}
	}
	b.mp = NULL;
	b.n = 0;
	tarn__mbuf_prefree_seg(m, &b);
	tarn__mbuf_batch_flush(&b);
}

/* ------------------------------------------------------------------------ */
/* Reads */

const void *tarn__pktmbuf_read_slow(const struct tarn_mbuf *m, uint32_t off, uint32_t len,
                                    void *buf)
{
	if (m == NULL || (uint64_t)off + len > m->pkt_len)
		return NULL;
	/* find the segment holding `off` */
	while (m != NULL && off >= m->data_len && !(off == m->data_len && len == 0)) {
		off -= m->data_len;
		m = m->next;
	}
	if (m == NULL)
		return NULL; /* pkt_len larger than the chain: inconsistent packet */
	if ((uint64_t)off + len <= m->data_len)
		return tarn_pktmbuf_mtod_offset(m, const char *, off);
	if (buf == NULL)
		return NULL;
	char *dst = buf;
	uint32_t left = len;

	while (left > 0 && m != NULL) {
		uint32_t chunk = m->data_len - off;

		if (chunk > left)
			chunk = left;
		memcpy(dst, tarn_pktmbuf_mtod_offset(m, const char *, off), chunk);
		dst += chunk;
		left -= chunk;
		off = 0;
		m = m->next;
	}
	return left == 0 ? buf : NULL;
}
