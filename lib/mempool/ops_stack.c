/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ops_stack.c - "stack": a lock-free LIFO store (Treiber stack).
 *
 * The links are the `next` fields of the object headers, so the stack needs
 * no memory of its own beyond its head. The head is a (top, tag) pair changed
 * only by a 16-byte compare-and-swap that also increments the tag, so a pop
 * that read an old top whose node was popped and pushed again meanwhile (ABA)
 * fails its CAS and retries instead of corrupting the list.
 *
 * Bulk: a push links its `n` objects into a chain first and splices the chain
 * in with one CAS; a pop walks `n` nodes from the top and cuts them off with
 * one CAS. All or nothing comes from a separate count: a pop first claims `n`
 * from `len` (CAS, fails if fewer), and a push adds to `len` only after its
 * chain is in. So `len` + the claims not yet popped never exceed the nodes in
 * the stack, and a pop that has claimed `n` always finds them (a walk that
 * meets NULL read a stale top and simply retries).
 *
 * Memory ordering:
 *   R_HEAD  push: release of the head CAS (a full barrier with __sync) after
 *           the chain's links were written. Pairs with A_HEAD.
 *   A_HEAD  pop: acquire loads of the head before the walk reads the links.
 *   R_LEN   push: release add to len after the head CAS. Pairs with A_LEN.
 *   A_LEN   pop: acquire CAS on len, so the pushes it counts are in the stack.
 * Links are read and written with relaxed atomics: a walk may read the link
 * of a node that another thread is popping and pushing again; the head CAS
 * then fails (the tag moved) and the walk's result is thrown away.
 *
 * Progress: lock-free (a CAS fails only because another operation succeeded).
 * Node memory is never unmapped while the pool exists, so a stale walk reads
 * valid memory.
 */
#include <stdlib.h>
#include <string.h>

#include "mempool_priv.h"

union stack_head {
	struct {
		struct tarn_mempool_objhdr *top; /* low half */
		uint64_t tag;                    /* high half */
	} h;
	unsigned __int128 raw;
} __attribute__((aligned(16)));

struct mp_stack {
	union stack_head head; /* line 0: the head, CASed by everyone */
	uint8_t pad0[TARN_CACHE_LINE - sizeof(union stack_head)];
	uint64_t len TARN_CACHE_ALIGNED; /* line 1: objects pushed and not claimed */
	uint8_t pad1[TARN_CACHE_LINE - sizeof(uint64_t)];
};

_Static_assert(sizeof(union stack_head) == 16, "stack head is one 16-byte word");
_Static_assert(offsetof(struct mp_stack, len) == TARN_CACHE_LINE, "len on its own line");

static inline union stack_head head_load(struct mp_stack *s)
{
	union stack_head v;
	/* A_HEAD. Two 8-byte loads: a torn pair (top and tag from different
	 * CASes) never equals the head, so the CAS that uses it fails. Tag
	 * first: its acquire orders the top load after it. */
	v.h.tag = __atomic_load_n(&s->head.h.tag, __ATOMIC_ACQUIRE);
	v.h.top = __atomic_load_n(&s->head.h.top, __ATOMIC_ACQUIRE);
	return v;
}

/* 16-byte CAS (cmpxchg16b with -mcx16 on x86-64); a full barrier. On
 * failure `*expected` receives the current head. */
static inline bool head_cas(struct mp_stack *s, union stack_head *expected, union stack_head want)
{
	unsigned __int128 prev = __sync_val_compare_and_swap(&s->head.raw, expected->raw, want.raw);
	if (prev == expected->raw)
		return true;
	expected->raw = prev;
	return false;
}

static int stack_alloc(struct tarn_mempool *mp)
{
	struct mp_stack *s = tarn_malloc_socket(sizeof(*s), TARN_CACHE_LINE, tarn__mp(mp)->socket);
	if (s == NULL)
		return -ENOMEM;
	mp->store = s;
	return 0;
}

static void stack_free(struct tarn_mempool *mp)
{
	tarn_free(mp->store);
	mp->store = NULL;
}

/* Push objs[0..n): objs[n-1] ends on top (as if put one by one). */
static int stack_enqueue(struct tarn_mempool *mp, void *const *objs, unsigned n)
{
	struct mp_stack *s = mp->store;
	if (n == 0)
		return 0;
	struct tarn_mempool_objhdr *bottom = tarn__mp_hdr(objs[0]);
	struct tarn_mempool_objhdr *top = tarn__mp_hdr(objs[n - 1]);
	for (unsigned i = 1; i < n; i++)
		/* relaxed: published by the head CAS (R_HEAD) */
		__atomic_store_n(&tarn__mp_hdr(objs[i])->next, tarn__mp_hdr(objs[i - 1]),
		                 __ATOMIC_RELAXED);
	union stack_head old = head_load(s), want;
	do {
		__atomic_store_n(&bottom->next, old.h.top, __ATOMIC_RELAXED);
		want.h.top = top;
		want.h.tag = old.h.tag + 1;
	} while (!head_cas(s, &old, want)); /* R_HEAD */
	/* R_LEN: pairs with A_LEN of the pops that claim these objects */
	__atomic_fetch_add(&s->len, n, __ATOMIC_RELEASE);
	return 0;
}

/* Pop n objects: objs[0] is the top (the most recently pushed). */
static int stack_dequeue(struct tarn_mempool *mp, void **objs, unsigned n)
{
	struct mp_stack *s = mp->store;
	if (n == 0)
		return 0;
	/* Claim n. A_LEN: pairs with R_LEN. */
	uint64_t len = __atomic_load_n(&s->len, __ATOMIC_RELAXED);
	do {
		if (len < n)
			return -ENOBUFS;
	} while (!__atomic_compare_exchange_n(&s->len, &len, len - n, 0, __ATOMIC_ACQUIRE,
	                                      __ATOMIC_RELAXED));

	union stack_head old = head_load(s), want;
	for (;;) {
		struct tarn_mempool_objhdr *node = old.h.top;
		unsigned i = 0;
		for (; i < n && node != NULL; i++) {
			objs[i] = node + 1;
			/* relaxed: see the file comment */
			node = __atomic_load_n(&node->next, __ATOMIC_RELAXED);
		}
		if (tarn_likely(i == n)) {
			want.h.top = node;
			want.h.tag = old.h.tag + 1;
			if (head_cas(s, &old, want))
				return 0;
			/* old now holds the current head */
		} else {
			/* a stale or torn head: read it again */
			old = head_load(s);
		}
	}
}

static unsigned stack_count(const struct tarn_mempool *mp)
{
	const struct mp_stack *s = mp->store;
	return (unsigned)__atomic_load_n(&s->len, __ATOMIC_RELAXED);
}

static int stack_check(const struct tarn_mempool *mp)
{
	const struct mp_stack *s = mp->store;
	const struct tarn__mempool *m = tarn__mp(mp);
	const unsigned n = mp->size;
	uint8_t *seen = calloc((n + 7) / 8, 1);
	if (seen == NULL)
		return 0; /* cannot check duplicates without memory: skip */
	unsigned count = 0;
	int rc = 0;
	for (const struct tarn_mempool_objhdr *h = s->head.h.top; h != NULL; h = h->next) {
		const void *obj = h + 1;
		if (!tarn__mp_is_obj(m, obj) || h->mp != mp) {
			TARN__ERR(MP_LOG,
			          "'%s' stack check: node %u (%p) is not an object of the pool",
			          mp->name, count, obj);
			rc = -EUCLEAN;
			break;
		}
		unsigned idx = tarn__mp_obj_idx(m, obj);
		if (seen[idx / 8] & (1u << (idx % 8))) {
			TARN__ERR(MP_LOG,
			          "'%s' stack check: object #%u twice in the stack (cycle?)",
			          mp->name, idx);
			rc = -EUCLEAN;
			break;
		}
		seen[idx / 8] |= (uint8_t)(1u << (idx % 8));
		count++;
	}
	free(seen);
	if (rc == 0 && count != s->len) {
		TARN__ERR(MP_LOG, "'%s' stack check: %u nodes linked but count says %llu", mp->name,
		          count, (unsigned long long)s->len);
		rc = -EUCLEAN;
	}
	return rc;
}

const struct tarn_mempool_ops tarn__mp_ops_stack = {
	.name = "stack",
	.alloc = stack_alloc,
	.free = stack_free,
	.enqueue = stack_enqueue,
	.dequeue = stack_dequeue,
	.count = stack_count,
	.check = stack_check,
};
