/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * mbuf_priv.h - internal: what the files of the mbuf component share.
 * Never installed.
 *
 *   mbuf.c        pool creation, object init, the out-of-line free paths,
 *                 tarn_pktmbuf_free_seg(), tarn_pktmbuf_read() across segments
 *   mbuf_chain.c  chain, attach/detach, clone, deep copy, linearize
 *   mbuf_debug.c  tarn_mbuf_check(), dump, flag and packet type names,
 *                 debug-mode accounting
 */
#ifndef TARN_MBUF_PRIV_H
#define TARN_MBUF_PRIV_H

#include <stdbool.h>

#include "env_priv.h"
#include "tarn_mbuf.h"

#define MBUF_LOG "mbuf"

/* Segments gathered before a put_bulk (per pool) on the out-of-line free paths. */
#define TARN__MBUF_BATCH 64

/* Objects waiting to go back to one pool. */
struct tarn__mbuf_batch {
	struct tarn_mempool *mp;
	unsigned n;
	void *objs[TARN__MBUF_BATCH];
};

static inline void tarn__mbuf_batch_flush(struct tarn__mbuf_batch *b)
{
	if (b->n > 0)
		tarn_mempool_put_bulk(b->mp, b->objs, b->n);
	b->n = 0;
}

/* Queue a segment (refcnt 1, next NULL, nb_segs 1, direct) for its pool. */
static inline void tarn__mbuf_batch_add(struct tarn__mbuf_batch *b, struct tarn_mbuf *m)
{
	if (m->pool != b->mp || b->n == TARN__MBUF_BATCH) {
		tarn__mbuf_batch_flush(b);
		b->mp = m->pool;
	}
	b->objs[b->n++] = m;
}

/*
 * Drop one reference on segment `m`. When it was the last: detach it if
 * indirect (queueing the direct mbuf in `b` if that was its last reference
 * too), restore the free-mbuf invariants (refcnt 1, next NULL, nb_segs 1) and
 * queue it in `b`. The caller has read m->next already.
 */
void tarn__mbuf_prefree_seg(struct tarn_mbuf *m, struct tarn__mbuf_batch *b);

/*
 * Give the buffer of indirect `mi` back to it (data_len 0) and drop the
 * reference it held on its direct mbuf, queueing the direct mbuf in `b` if that
 * was the last.
 */
void tarn__mbuf_detach(struct tarn_mbuf *mi, struct tarn__mbuf_batch *b);

/* The mbuf private area of `mp`, or NULL if `mp` is NULL or no mbuf pool. */
struct tarn_pktmbuf_pool_private *tarn__mbuf_pool_priv(struct tarn_mempool *mp);

/* Count and log a refused operation in debug mode. */
void tarn__mbuf_debug_refuse(const struct tarn_mbuf *m, const char *what, const char *reason);

/* Headroom of a fresh mbuf with a buffer of `buf_len` bytes. */
static inline uint16_t tarn__mbuf_default_headroom(uint16_t buf_len)
{
	return buf_len < TARN_PKTMBUF_HEADROOM ? buf_len : (uint16_t)TARN_PKTMBUF_HEADROOM;
}

#endif /* TARN_MBUF_PRIV_H */
