/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * heap.c - one heap per socket: a first-fit free list kept in address order,
 * coalescing neighbours on free, under a per-socket mutex. The heap grows by
 * whole populated segments (segment.c) and never gives memory back to the
 * kernel before tarn_cleanup().
 *
 * Free blocks carry their header (struct tarn__free_blk) in their first bytes.
 * A block that was never handed out is "clean": all zero after its header,
 * so carving from it only clears the header instead of the whole chunk.
 */
#include <string.h>

#include "mem_priv.h"

struct heap {
	pthread_mutex_t lock;
	struct tarn__free_blk *head; /* address order */
	uint64_t reserved;           /* bytes of its segments */
	uint64_t used;               /* bytes of handed-out chunks */
	uint64_t pages;
	unsigned segments;
	const struct tarn__mem_seg *first; /* first segment (stats) */
};

_Static_assert(sizeof(struct tarn__free_blk) <= TARN__HEAP_UNIT,
               "a free block header must fit in the smallest block");

static struct heap heaps[TARN_MAX_SOCKETS];

int tarn__heap_init(void)
{
	for (unsigned s = 0; s < TARN_MAX_SOCKETS; s++) {
		struct heap *h = &heaps[s];
		memset(h, 0, sizeof(*h));
		int rc = pthread_mutex_init(&h->lock, NULL);
		if (rc != 0) {
			while (s-- > 0)
				pthread_mutex_destroy(&heaps[s].lock);
			return -rc;
		}
	}
	return 0;
}

void tarn__heap_fini(void)
{
	for (unsigned s = 0; s < TARN_MAX_SOCKETS; s++) {
		pthread_mutex_destroy(&heaps[s].lock);
		memset(&heaps[s], 0, sizeof(heaps[s]));
	}
}

/* Insert `b` (its fields set) after `prev` (NULL: at the head). Lock held. */
static void list_insert_after(struct heap *h, struct tarn__free_blk *prev, struct tarn__free_blk *b)
{
	b->prev = prev;
	b->next = prev != NULL ? prev->next : h->head;
	if (b->next != NULL)
		b->next->prev = b;
	if (prev != NULL)
		prev->next = b;
	else
		h->head = b;
}

static void list_remove(struct heap *h, struct tarn__free_blk *b)
{
	if (b->prev != NULL)
		b->prev->next = b->next;
	else
		h->head = b->next;
	if (b->next != NULL)
		b->next->prev = b->prev;
}

/* Write a free block header at `at`. */
static struct tarn__free_blk *blk_make(uintptr_t at, size_t len, const struct tarn__mem_seg *seg,
                                       bool clean)
{
	struct tarn__free_blk *b = (struct tarn__free_blk *)at;
	b->len = len;
	b->seg = seg;
	b->clean = clean;
	b->next = b->prev = NULL;
	return b;
}

/* First fit. Lock held. Returns the aligned address or NULL. */
static void *carve(struct heap *h, size_t size, size_t align, size_t hdr, struct tarn__chunk *c)
{
	for (struct tarn__free_blk *b = h->head; b != NULL; b = b->next) {
		uintptr_t bs = (uintptr_t)b, be = bs + b->len;
		uintptr_t p = TARN_ALIGN_CEIL(bs + hdr, align);
		if (p < bs || p > be || be - p < size)
			continue;
		/* The chunk: [cs, ce), unit-aligned, inside [bs, be). */
		uintptr_t cs = TARN_ALIGN_FLOOR(p - hdr, TARN__HEAP_UNIT);
		uintptr_t ce = TARN_ALIGN_CEIL(p + size, TARN__HEAP_UNIT);
		bool clean = b->clean;
		const struct tarn__mem_seg *seg = b->seg;
		struct tarn__free_blk *prev = b->prev;
		list_remove(h, b);
		if (cs > bs) {
			/* Leading remainder keeps b's header where it is. */
			struct tarn__free_blk *l = blk_make(bs, cs - bs, seg, clean);
			list_insert_after(h, prev, l);
			prev = l;
		}
		if (be > ce)
			list_insert_after(h, prev, blk_make(ce, be - ce, seg, clean));
		if (!clean)
			memset((void *)p, 0, size);
		else if (cs == bs)
			/* Only the old header dirtied clean memory. */
			memset((void *)bs, 0, sizeof(struct tarn__free_blk));
		c->start = (void *)cs;
		c->len = ce - cs;
		c->seg = seg;
		h->used += c->len;
		return (void *)p;
	}
	return NULL;
}

void tarn__heap_add_seg(struct tarn__mem_seg *seg)
{
	struct heap *h = &heaps[seg->socket];
	uintptr_t s = (uintptr_t)seg->addr;
	pthread_mutex_lock(&h->lock);
	struct tarn__free_blk *prev = NULL;
	for (struct tarn__free_blk *b = h->head; b != NULL && (uintptr_t)b < s; b = b->next)
		prev = b;
	/* Fresh pages are zero: the block is clean. */
	list_insert_after(h, prev, blk_make(s, seg->len, seg, true));
	h->reserved += seg->len;
	h->pages += seg->len / seg->page_size;
	h->segments++;
	if (h->first == NULL)
		h->first = seg;
	pthread_mutex_unlock(&h->lock);
}

void *tarn__heap_alloc(int socket, size_t size, size_t align, size_t hdr, struct tarn__chunk *c,
                       int *err)
{
	struct heap *h = &heaps[socket];
	/* Sizes beyond half the address space cannot be mapped: don't let the
	 * rounding below overflow. */
	if (size > (SIZE_MAX >> 2) || align > TARN__MEM_MAX_ALIGN ||
	    TARN__FAULT("heap-alloc", ENOMEM)) {
		*err = ENOMEM;
		return NULL;
	}
	pthread_mutex_lock(&h->lock);
	void *p = carve(h, size, align, hdr, c);
	pthread_mutex_unlock(&h->lock);
	if (p != NULL)
		return p;

	/*
	 * Grow. The heap lock is not held while the segment is populated, so
	 * other allocations on this socket proceed; two threads may both grow,
	 * which costs memory, not correctness.
	 */
	struct tarn__seg_req req;
	memset(&req, 0, sizeof(req));
	req.socket = socket;
	req.min_len = size;
	req.align = align;
	req.lead = hdr;
	int rc;
	struct tarn__mem_seg *seg = tarn__mem_seg_create(&req, &rc);
	if (seg == NULL) {
		*err = -rc;
		return NULL;
	}
	tarn__heap_add_seg(seg);
	pthread_mutex_lock(&h->lock);
	p = carve(h, size, align, hdr, c);
	pthread_mutex_unlock(&h->lock);
	if (p == NULL) /* someone took the new memory first */
		*err = ENOMEM;
	return p;
}

void tarn__heap_free(int socket, const struct tarn__chunk *c)
{
	struct heap *h = &heaps[socket];
	uintptr_t s = (uintptr_t)c->start;
	pthread_mutex_lock(&h->lock);
	struct tarn__free_blk *prev = NULL, *next = h->head;
	while (next != NULL && (uintptr_t)next < s) {
		prev = next;
		next = next->next;
	}
	struct tarn__free_blk *b = blk_make(s, c->len, c->seg, false);
	list_insert_after(h, prev, b);
	if (next != NULL && s + b->len == (uintptr_t)next && next->seg == b->seg) {
		b->len += next->len;
		list_remove(h, next);
	}
	if (prev != NULL && (uintptr_t)prev + prev->len == s && prev->seg == b->seg) {
		prev->len += b->len;
		prev->clean = false;
		list_remove(h, b);
	}
	h->used -= c->len;
	pthread_mutex_unlock(&h->lock);
}

void tarn__heap_stats(int socket, struct tarn__heap_stats *st)
{
	struct heap *h = &heaps[socket];
	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&h->lock);
	st->reserved = h->reserved;
	st->used = h->used;
	st->pages = h->pages;
	st->segments = h->segments;
	if (h->first != NULL) {
		st->page_size = h->first->page_size;
		st->backend = h->first->be->name;
	}
	for (struct tarn__free_blk *b = h->head; b != NULL; b = b->next) {
		st->free_blocks++;
		if (b->len > st->largest_free)
			st->largest_free = b->len;
	}
	pthread_mutex_unlock(&h->lock);
}
