/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * mempool_tarn.c - rte_mempool ops backed by tarn's shared stores.
 *
 * Two ops, registered when the shared object is loaded (EAL -d):
 *
 * - "tarn": a tarn ring of pointers holding exactly the pool's size
 *   (TARN_RING_F_EXACT_SZ). Multi-producer/multi-consumer, or single
 *   producer / single consumer when the pool has RTE_MEMPOOL_F_SP_PUT /
 *   RTE_MEMPOOL_F_SC_GET. mp->pool_data is the ring itself, as with DPDK's
 *   ring_* ops, so a store operation costs the same pointer chase.
 * - "tarn_stack": tarn's lock-free stack (a tarn pool with the "stack"
 *   store): the objects put last come back first, while they are still in
 *   the CPU caches. tarn's stack links its nodes through tarn object
 *   headers, which DPDK objects do not have, so each DPDK object gets a
 *   tarn node (a tarn object holding the DPDK object's address), found
 *   through an index filled while DPDK populates the pool. A put looks the
 *   node up and pushes it; a get pops nodes and reads the addresses.
 *
 * Both keep the objects where DPDK put them: only pointers live in tarn's
 * memory. get_count is tarn_ring_count() / tarn_mempool_avail_count() of the
 * node pool: exact whenever no get or put is in flight.
 *
 * Slow-path state (what populate counted, the names) is kept in a list of
 * struct tdp_meta, one per pool, under a mutex.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_lcore.h>
#include <rte_mempool.h>

#include "tarn_dpdk_priv.h"

enum tdp_kind {
	TDP_RING = 0,
	TDP_STACK = 1,
};

/* Most objects a stack enqueue translates on the C stack at once. */
#define TDP_STACK_BATCH 512

/* One slot of the stack's index: a DPDK object and its tarn node. */
struct tdp_slot {
	void *obj;  /* NULL: free slot */
	void *node; /* tarn object whose first 8 bytes hold `obj` */
};

/* "tarn_stack" store: mp->pool_data. */
struct tdp_stack {
	struct tarn_mempool *nodes; /* one node per object, cache 0, "stack" store */
	struct tdp_slot *index;     /* open addressing, linear probing */
	uint32_t mask;              /* index slots - 1 */
	uint32_t n_indexed;         /* atomic: objects indexed; node k holds the k-th */
	uint64_t foreign_puts;      /* atomic: put pointers that are not the pool's */
};

/* Slow-path state of a pool on the tarn ops. */
struct tdp_meta {
	const struct rte_mempool *mp;
	enum tdp_kind kind;
	unsigned populated;         /* objects added by populate */
	char store[TARN_NAME_SIZE]; /* name of the tarn ring / node pool */
	char desc[128];             /* the store, in words, for the log */
	struct tdp_meta *next;
};

static pthread_mutex_t meta_lock = PTHREAD_MUTEX_INITIALIZER;
static struct tdp_meta *metas;
static unsigned meta_seq;

static struct tdp_meta *meta_find_locked(const struct rte_mempool *mp)
{
	for (struct tdp_meta *m = metas; m != NULL; m = m->next)
		if (m->mp == mp)
			return m;
	return NULL;
}

/* ------------------------------------------------------------------------ */
/* Index of the stack store                                                  */

static inline uint32_t ptr_hash(const void *p, uint32_t mask)
{
	uint64_t x = (uint64_t)(uintptr_t)p;
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	return (uint32_t)x & mask;
}

/* The node of `obj`, or NULL if `obj` was never populated into this pool. */
static inline void *index_find(const struct tdp_stack *st, const void *obj)
{
	uint32_t i = ptr_hash(obj, st->mask);
	for (;;) {
		/* acquire (key and node): pair with the releases in
		 * index_insert(). Any thread that holds `obj` got it after it was
		 * indexed anyway (it went through the store, whose push and pop
		 * order the insert before), so a key is never missed. */
		void *k = __atomic_load_n(&st->index[i].obj, __ATOMIC_ACQUIRE);
		if (tarn_likely(k == obj))
			return __atomic_load_n(&st->index[i].node, __ATOMIC_ACQUIRE);
		if (k == NULL)
			return NULL;
		i = (i + 1) & st->mask;
	}
}

/* Give `obj` the next free node. Populate calls it once per object. */
static int index_insert(struct tdp_stack *st, void *obj)
{
	uint32_t k = __atomic_fetch_add(&st->n_indexed, 1, __ATOMIC_RELAXED);
	void *node = tarn_mempool_obj_at(st->nodes, k);
	if (node == NULL)
		return -ENOSPC;
	*(void **)node = obj; /* published by the release below */
	uint32_t i = ptr_hash(obj, st->mask);
	for (;;) {
		void *expected = NULL;
		/* Claim the slot by its key, then fill in the node. Populate is
		 * single-threaded per pool in DPDK; the claim keeps two inserts
		 * apart all the same. */
		if (__atomic_compare_exchange_n(&st->index[i].obj, &expected, obj, 0,
		                                __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
			/* release: pairs with the acquire in index_find() */
			__atomic_store_n(&st->index[i].node, node, __ATOMIC_RELEASE);
			return 0;
		}
		if (expected == obj)
			return -EEXIST;
		i = (i + 1) & st->mask;
	}
}

/* ------------------------------------------------------------------------ */
/* alloc / free                                                              */

static int socket_of(const struct rte_mempool *mp)
{
	return mp->socket_id == SOCKET_ID_ANY ? TARN_SOCKET_ANY : mp->socket_id;
}

static int ring_create(struct rte_mempool *mp, struct tdp_meta *m)
{
	unsigned flags = TARN_RING_F_EXACT_SZ;
	if (mp->flags & RTE_MEMPOOL_F_SP_PUT)
		flags |= TARN_RING_F_SP_ENQ;
	if (mp->flags & RTE_MEMPOOL_F_SC_GET)
		flags |= TARN_RING_F_SC_DEQ;
	struct tarn_ring *r = tarn_ring_create(m->store, mp->size, socket_of(mp), flags);
	if (r == NULL) {
		int rc = -(int)tarn_errno;
		tarn__dpdk_log(
		    TARN_LOG_ERR,
		    "pool %s: cannot create the tarn ring %s (%u objects, socket %d): %s", mp->name,
		    m->store, mp->size, mp->socket_id, tarn_strerror(rc));
		return rc;
	}
	mp->pool_data = r;
	snprintf(m->desc, sizeof(m->desc), "tarn ring %s (%s%s, capacity %u, socket %d)", m->store,
	         (flags & TARN_RING_F_SP_ENQ) ? "SP" : "MP",
	         (flags & TARN_RING_F_SC_DEQ) ? "/SC" : "/MC", tarn_ring_get_capacity(r),
	         r->socket);
	return 0;
}

/* Free the node pool, its index and `st`. No get or put may be in flight. */
static void stack_destroy(struct tdp_stack *st)
{
	struct tarn_mempool *nodes = st->nodes;
	if (nodes != NULL) {
		/* Nodes of objects DPDK still holds (or drained before the free)
		 * are out of the node pool: take the rest out too, then put every
		 * node back, so that the pool is whole and frees without force
		 * (and without tarn's warning about objects in use). */
		void *tmp[256];
		unsigned avail, size = tarn_mempool_size(nodes);
		while ((avail = tarn_mempool_avail_count(nodes)) > 0 &&
		       tarn_mempool_get_bulk(nodes, tmp, avail < 256 ? avail : 256) == 0)
			;
		if (avail == 0)
			for (unsigned i = 0; i < size;) {
				unsigned k = size - i < 256 ? size - i : 256;
				for (unsigned j = 0; j < k; j++)
					tmp[j] = tarn_mempool_obj_at(nodes, i + j);
				tarn_mempool_put_bulk(nodes, tmp, k);
				i += k;
			}
		if (tarn_mempool_free(nodes, 0) != 0)
			tarn_mempool_free(nodes, TARN_MEMPOOL_FREE_FORCE);
	}
	tarn_free(st->index);
	tarn_free(st);
}

static int stack_create(struct rte_mempool *mp, struct tdp_meta *m)
{
	const int socket = socket_of(mp);
	struct tarn_mempool_params p;
	void *tmp[256];
	uint32_t slots = 16;
	int rc;
	struct tdp_stack *st = tarn_malloc_socket(sizeof(*st), 0, socket);
	if (st == NULL)
		goto nomem;
	memset(st, 0, sizeof(*st));
	/* At most half full: probes stay short. */
	while (slots < 2ull * mp->size && slots < (1u << 31))
		slots <<= 1;
	if (slots < 2ull * mp->size) {
		rc = -E2BIG;
		goto fail;
	}
	st->mask = slots - 1;
	st->index = tarn_malloc_socket((size_t)slots * sizeof(struct tdp_slot), 0, socket);
	if (st->index == NULL)
		goto nomem;
	memset(st->index, 0, (size_t)slots * sizeof(struct tdp_slot));

	tarn_mempool_params_init(&p);
	p.name = m->store;
	p.n = mp->size;
	p.elt_size = sizeof(void *);
	p.cache_size = 0; /* DPDK's lcore caches are in front of the store */
	p.socket = socket;
	p.ops_name = "stack";
	st->nodes = tarn_mempool_create_params(&p);
	if (st->nodes == NULL)
		goto nomem;
	/* The store starts empty, as DPDK expects: take every node out;
	 * populate indexes them and DPDK's enqueues push them back. */
	for (unsigned done = 0; done < mp->size;) {
		unsigned k = mp->size - done < 256 ? mp->size - done : 256;
		if (tarn_mempool_get_bulk(st->nodes, tmp, k) < 0) {
			rc = -EIO;
			goto fail;
		}
		done += k;
	}
	mp->pool_data = st;
	snprintf(m->desc, sizeof(m->desc), "tarn's lock-free stack %s (%u nodes, socket %d)",
	         m->store, mp->size, tarn_mempool_socket(st->nodes));
	return 0;

nomem:
	rc = tarn_errno != 0 ? -(int)tarn_errno : -ENOMEM;
fail:
	tarn__dpdk_log(TARN_LOG_ERR,
	               "pool %s: cannot create tarn's stack store %s (%u objects, socket %d): %s",
	               mp->name, m->store, mp->size, mp->socket_id, tarn_strerror(rc));
	if (st != NULL)
		stack_destroy(st);
	return rc;
}

static int tdp_alloc(struct rte_mempool *mp, enum tdp_kind kind)
{
	int rc = tarn__dpdk_env_acquire(mp->name);
	if (rc < 0)
		return rc;
	struct tdp_meta *m = calloc(1, sizeof(*m));
	if (m == NULL) {
		tarn__dpdk_log(TARN_LOG_ERR, "pool %s: out of memory", mp->name);
		tarn__dpdk_env_release();
		return -ENOMEM;
	}
	m->mp = mp;
	m->kind = kind;
	/* "dpdk<seq>.<DPDK name>", cut to a tarn name: unique however the
	 * DPDK name is cut. */
	char name[64];
	pthread_mutex_lock(&meta_lock);
	snprintf(name, sizeof(name), "dpdk%u.%s", meta_seq++, mp->name);
	pthread_mutex_unlock(&meta_lock);
	const size_t len = strnlen(name, sizeof(m->store) - 1);
	memcpy(m->store, name, len); /* m is zeroed: the name stays terminated */

	rc = kind == TDP_RING ? ring_create(mp, m) : stack_create(mp, m);
	if (rc < 0) {
		free(m);
		tarn__dpdk_env_release();
		return rc;
	}
	pthread_mutex_lock(&meta_lock);
	m->next = metas;
	metas = m;
	pthread_mutex_unlock(&meta_lock);
	/* The one line a user sees at DPDK's default log level: the pool is
	 * tarn's, and where to watch it. */
	char path[256], watch[64] = "";
	if (tarn_telemetry_path(path, sizeof(path)) >= 0)
		snprintf(watch, sizeof(watch), "; telemetry: tarn-top --pid %d", (int)getpid());
	tarn__dpdk_log(TARN_LOG_NOTICE, "pool %s (%u objects, cache %u) is backed by %s, tarn %s%s",
	               mp->name, mp->size, mp->cache_size, m->desc, tarn_version(), watch);
	return 0;
}

static int tdp_ring_alloc(struct rte_mempool *mp)
{
	return tdp_alloc(mp, TDP_RING);
}

static int tdp_stack_alloc(struct rte_mempool *mp)
{
	return tdp_alloc(mp, TDP_STACK);
}

static unsigned tdp_cached(const struct rte_mempool *mp)
{
	unsigned n = 0;
	if (mp->cache_size != 0 && mp->local_cache != NULL)
		for (unsigned i = 0; i < RTE_MAX_LCORE; i++)
			n += mp->local_cache[i].len;
	return n;
}

/*
 * DPDK calls free from rte_mempool_free() after it has taken back, one by
 * one, as many objects as it populated (those in lcore caches or still in
 * use are not there to take: rte_mempool_free() does not flush caches).
 */
static void tdp_free(struct rte_mempool *mp)
{
	pthread_mutex_lock(&meta_lock);
	struct tdp_meta **pp = &metas, *m = NULL;
	for (; *pp != NULL; pp = &(*pp)->next)
		if ((*pp)->mp == mp) {
			m = *pp;
			*pp = m->next;
			break;
		}
	pthread_mutex_unlock(&meta_lock);
	if (m == NULL || mp->pool_data == NULL) {
		/* rte_mempool_free() calls the free of the pool's ops whether or
		 * not the store was ever allocated, and a pool whose ops were
		 * never chosen has ops index 0: nothing of ours to free. */
		tarn__dpdk_log(TARN_LOG_DEBUG, "pool %s: free without a tarn store: nothing to do",
		               mp->name);
		free(m);
		return;
	}
	unsigned left;
	uint64_t foreign = 0;
	if (m->kind == TDP_RING) {
		left = tarn_ring_count(mp->pool_data);
		tarn_ring_free(mp->pool_data);
	} else {
		struct tdp_stack *st = mp->pool_data;
		left = tarn_mempool_avail_count(st->nodes);
		foreign = __atomic_load_n(&st->foreign_puts, __ATOMIC_RELAXED);
		stack_destroy(st);
	}
	mp->pool_data = NULL;
	tarn__dpdk_log(foreign ? TARN_LOG_WARNING : TARN_LOG_INFO,
	               "pool %s: store %s freed: %u objects populated, %u left in it after "
	               "DPDK's drain, %u in lcore caches; %llu foreign put(s) refused",
	               mp->name, m->store, m->populated, left, tdp_cached(mp),
	               (unsigned long long)foreign);
	free(m);
	tarn__dpdk_env_release();
}

/* ------------------------------------------------------------------------ */
/* populate: DPDK's default layout, and a count (and the index for stacks)   */

struct pop_ctx {
	struct tdp_meta *m;
	struct tdp_stack *st; /* NULL for rings */
	rte_mempool_populate_obj_cb_t *cb;
	void *cb_arg;
	unsigned refused;
};

static void pop_obj(struct rte_mempool *mp, void *arg, void *obj, rte_iova_t iova)
{
	struct pop_ctx *c = arg;
	if (c->st != NULL && index_insert(c->st, obj) < 0) {
		c->refused++;
		return;
	}
	c->m->populated++;
	c->cb(mp, c->cb_arg, obj, iova); /* DPDK's: links the object and enqueues it */
}

static int tdp_populate(struct rte_mempool *mp, unsigned max_objs, void *vaddr, rte_iova_t iova,
                        size_t len, rte_mempool_populate_obj_cb_t *obj_cb, void *obj_cb_arg)
{
	pthread_mutex_lock(&meta_lock);
	struct tdp_meta *m = meta_find_locked(mp);
	pthread_mutex_unlock(&meta_lock);
	if (m == NULL) {
		tarn__dpdk_log(TARN_LOG_ERR, "pool %s: populate before alloc", mp->name);
		return -EINVAL;
	}
	struct pop_ctx c = {
		.m = m,
		.st = m->kind == TDP_STACK ? mp->pool_data : NULL,
		.cb = obj_cb,
		.cb_arg = obj_cb_arg,
	};
	int rc = rte_mempool_op_populate_helper(mp, 0, max_objs, vaddr, iova, len, pop_obj, &c);
	if (c.refused != 0) {
		tarn__dpdk_log(
		    TARN_LOG_ERR,
		    "pool %s: %u object(s) beyond the %u nodes of the stack were not added",
		    mp->name, c.refused, mp->size);
		return -ENOSPC;
	}
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Data path                                                                 */

static int tdp_ring_enqueue(struct rte_mempool *mp, void *const *objs, unsigned n)
{
	return tarn_ring_enqueue_bulk(mp->pool_data, objs, n, NULL) == n ? 0 : -ENOBUFS;
}

static int tdp_ring_dequeue(struct rte_mempool *mp, void **objs, unsigned n)
{
	return tarn_ring_dequeue_bulk(mp->pool_data, objs, n, NULL) == n ? 0 : -ENOBUFS;
}

/* get_count may be called on a pool whose store was never allocated (DPDK's
 * counts of a pool that is not populated, whose ops index defaults to 0). */
static unsigned tdp_ring_count(const struct rte_mempool *mp)
{
	return mp->pool_data != NULL ? tarn_ring_count(mp->pool_data) : 0;
}

static __attribute__((noinline, cold)) void foreign_put(struct rte_mempool *mp,
                                                        struct tdp_stack *st, const void *obj)
{
	uint64_t k = __atomic_fetch_add(&st->foreign_puts, 1, __ATOMIC_RELAXED);
	if (k < 8 || (k & (k - 1)) == 0) /* the first few, then every power of two */
		tarn__dpdk_log(
		    TARN_LOG_ERR,
		    "pool %s: put of %p refused: not an object of this pool (%llu so far)",
		    mp->name, obj, (unsigned long long)k + 1);
}

/* Push the objects' nodes. An object that is not the pool's is refused
 * (counted and logged) and the others go in: -EINVAL then. */
static int tdp_stack_enqueue(struct rte_mempool *mp, void *const *objs, unsigned n)
{
	struct tdp_stack *st = mp->pool_data;
	void *nodes[TDP_STACK_BATCH];
	int rc = 0;
	while (n > 0) {
		const unsigned k = n < TDP_STACK_BATCH ? n : TDP_STACK_BATCH;
		unsigned m = 0;
		for (unsigned i = 0; i < k; i++) {
			void *node = index_find(st, objs[i]);
			if (tarn_unlikely(node == NULL)) {
				foreign_put(mp, st, objs[i]);
				rc = -EINVAL;
				continue;
			}
			nodes[m++] = node;
		}
		/* Cannot fail: the nodes are the pool's and out of it. */
		tarn_mempool_put_bulk(st->nodes, nodes, m);
		objs += k;
		n -= k;
	}
	return rc;
}

static int tdp_stack_dequeue(struct rte_mempool *mp, void **objs, unsigned n)
{
	struct tdp_stack *st = mp->pool_data;
	if (tarn_mempool_get_bulk(st->nodes, objs, n) < 0)
		return -ENOBUFS;
	for (unsigned i = 0; i < n; i++)
		objs[i] = *(void **)objs[i];
	return 0;
}

static unsigned tdp_stack_count(const struct rte_mempool *mp)
{
	const struct tdp_stack *st = mp->pool_data;
	return st != NULL ? tarn_mempool_avail_count(st->nodes) : 0;
}

/* ------------------------------------------------------------------------ */

static const struct rte_mempool_ops tdp_ops_ring = {
	.name = "tarn",
	.alloc = tdp_ring_alloc,
	.free = tdp_free,
	.enqueue = tdp_ring_enqueue,
	.dequeue = tdp_ring_dequeue,
	.get_count = tdp_ring_count,
	.populate = tdp_populate,
};

static const struct rte_mempool_ops tdp_ops_stack = {
	.name = "tarn_stack",
	.alloc = tdp_stack_alloc,
	.free = tdp_free,
	.enqueue = tdp_stack_enqueue,
	.dequeue = tdp_stack_dequeue,
	.get_count = tdp_stack_count,
	.populate = tdp_populate,
};

/* ------------------------------------------------------------------------ */
/* tarn telemetry: the DPDK pools on the tarn ops                            */

/* /tarn/dpdk/mempool/list: names of the DPDK pools whose store is tarn's,
 * oldest first. */
static int tel_pool_list(const char *cmd, const char *params, struct tarn_telemetry_data *d)
{
	(void)cmd;
	(void)params;
	tarn_telemetry_start_array(d);
	pthread_mutex_lock(&meta_lock);
	unsigned n = 0;
	for (const struct tdp_meta *m = metas; m != NULL; m = m->next)
		n++;
	/* metas is newest first: walk it n times from the end, a list of a few
	 * pools at most */
	for (unsigned k = n; k > 0; k--) {
		const struct tdp_meta *m = metas;
		for (unsigned j = 1; j < k; j++)
			m = m->next;
		tarn_telemetry_array_string(d, m->mp->name);
	}
	pthread_mutex_unlock(&meta_lock);
	return 0;
}

/*
 * /tarn/dpdk/mempool/info,NAME: a DPDK pool on the tarn ops, with the keys
 * of /tarn/mempool/info where they mean the same (size, in_use, avail,
 * elt_size, cache_size, socket, ops, cached, caches: DPDK's per-lcore
 * caches), and the tarn store under "store". DPDK keeps no get/put
 * statistics in this build, so those keys are absent. The pool cannot be
 * freed meanwhile: tdp_free() unlinks it under meta_lock first.
 */
static int tel_pool_info(const char *cmd, const char *params, struct tarn_telemetry_data *d)
{
	(void)cmd;
	if (params == NULL || params[0] == '\0')
		return -EINVAL;
	pthread_mutex_lock(&meta_lock);
	const struct tdp_meta *m = metas;
	while (m != NULL && strcmp(m->mp->name, params) != 0)
		m = m->next;
	if (m == NULL || m->mp->pool_data == NULL) {
		pthread_mutex_unlock(&meta_lock);
		return -ENOENT;
	}
	const struct rte_mempool *mp = m->mp;
	tarn_telemetry_start_dict(d);
	tarn_telemetry_dict_string(d, "name", mp->name);
	tarn_telemetry_dict_uint(d, "size", mp->size);
	tarn_telemetry_dict_uint(d, "in_use", rte_mempool_in_use_count(mp));
	tarn_telemetry_dict_uint(d, "avail", rte_mempool_avail_count(mp));
	tarn_telemetry_dict_uint(d, "elt_size", mp->elt_size);
	tarn_telemetry_dict_uint(d, "cache_size", mp->cache_size);
	tarn_telemetry_dict_int(d, "socket", mp->socket_id);
	tarn_telemetry_dict_string(d, "ops", m->kind == TDP_RING ? "tarn" : "tarn_stack");
	tarn_telemetry_dict_uint(d, "populated", m->populated);
	tarn_telemetry_dict_uint(d, "cached", tdp_cached(mp));
	tarn_telemetry_dict_open_array(d, "caches");
	if (mp->cache_size != 0 && mp->local_cache != NULL)
		for (unsigned i = 0; i < RTE_MAX_LCORE; i++) {
			unsigned len = mp->local_cache[i].len;
			if (!rte_lcore_is_enabled(i) && len == 0)
				continue;
			tarn_telemetry_array_open_dict(d);
			tarn_telemetry_dict_int(d, "lcore", i);
			tarn_telemetry_dict_uint(d, "len", len);
			tarn_telemetry_dict_uint(d, "size", mp->cache_size);
			tarn_telemetry_close(d);
		}
	tarn_telemetry_close(d);
	tarn_telemetry_dict_open_dict(d, "store");
	tarn_telemetry_dict_string(d, "name", m->store);
	if (m->kind == TDP_RING) {
		const struct tarn_ring *r = mp->pool_data;
		tarn_telemetry_dict_string(d, "type", "ring");
		tarn_telemetry_dict_uint(d, "count", tarn_ring_count(r));
		tarn_telemetry_dict_uint(d, "capacity", tarn_ring_get_capacity(r));
		tarn_telemetry_dict_int(d, "socket", r->socket);
	} else {
		const struct tdp_stack *st = mp->pool_data;
		tarn_telemetry_dict_string(d, "type", "stack");
		tarn_telemetry_dict_uint(d, "count", tarn_mempool_avail_count(st->nodes));
		tarn_telemetry_dict_uint(d, "capacity", tarn_mempool_size(st->nodes));
		tarn_telemetry_dict_int(d, "socket", tarn_mempool_socket(st->nodes));
		tarn_telemetry_dict_uint(d, "foreign_puts",
		                         __atomic_load_n(&st->foreign_puts, __ATOMIC_RELAXED));
	}
	tarn_telemetry_close(d);
	pthread_mutex_unlock(&meta_lock);
	return 0;
}

/* As RTE_MEMPOOL_REGISTER_OPS(), and say so when DPDK's table of ops is
 * full (RTE_MEMPOOL_MAX_OPS_IDX): the ops would otherwise be missing
 * without a word, and --mbuf-pool-ops-name tarn would fail later. Runs when
 * the shared object is loaded (EAL -d), before or during rte_eal_init(). */
RTE_INIT(tdp_register)
{
	const struct rte_mempool_ops *all[] = { &tdp_ops_ring, &tdp_ops_stack };
	for (size_t i = 0; i < TARN_ARRAY_SIZE(all); i++) {
		int rc = rte_mempool_register_ops(all[i]);
		if (rc < 0)
			tarn__dpdk_log(TARN_LOG_ERR,
			               "cannot register mempool ops \"%s\": %s (DPDK holds at most "
			               "%d ops; load librte_mempool_tarn.so before other mempool "
			               "drivers)",
			               all[i]->name, strerror(-rc), RTE_MEMPOOL_MAX_OPS_IDX);
	}
	/* tarn's telemetry serves them once tarn runs (tarn-top shows them with
	 * tarn's own pools). */
	tarn_telemetry_register_cmd("/tarn/dpdk/mempool/list", tel_pool_list,
	                            "Returns the names of the DPDK mempools whose store is tarn's "
	                            "(ops tarn, tarn_stack). No parameters");
	tarn_telemetry_register_cmd("/tarn/dpdk/mempool/info", tel_pool_info,
	                            "Returns a DPDK mempool on the tarn ops: counts, DPDK's lcore "
	                            "caches, the tarn store. Parameter: pool name");
}
