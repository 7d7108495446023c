/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * mempool.c - pool creation and free, lookup, walk, accessors, the store ops
 * table, and the cleanup called by tarn_cleanup().
 */
#include <stdlib.h>
#include <string.h>

#include "mempool_priv.h"
#include "tarn_ring.h"

pthread_mutex_t tarn__mp_list_lock = PTHREAD_MUTEX_INITIALIZER;
struct tarn__mempool *tarn__mp_list;
__thread int tarn__mp_in_walk;
static unsigned next_id;

/* ------------------------------------------------------------------------ */
/* Ops table                                                                 */

static struct tarn_mempool_ops ops_table[TARN_MEMPOOL_MAX_OPS];
static unsigned ops_count;
static pthread_mutex_t ops_lock = PTHREAD_MUTEX_INITIALIZER;

/* Fill the table with the built-in ops on first use. Caller holds ops_lock. */
static void ops_builtin_locked(void)
{
	if (ops_count != 0)
		return;
	ops_table[ops_count++] = tarn__mp_ops_ring_mp_mc;
	ops_table[ops_count++] = tarn__mp_ops_ring_sp_sc;
	ops_table[ops_count++] = tarn__mp_ops_ring_sp_mc;
	ops_table[ops_count++] = tarn__mp_ops_ring_mp_sc;
	ops_table[ops_count++] = tarn__mp_ops_ring_rts;
	ops_table[ops_count++] = tarn__mp_ops_stack;
}

static const struct tarn_mempool_ops *ops_find_locked(const char *name)
{
	for (unsigned i = 0; i < ops_count; i++)
		if (strcmp(ops_table[i].name, name) == 0)
			return &ops_table[i];
	return NULL;
}

int tarn_mempool_ops_register(const struct tarn_mempool_ops *ops)
{
	if (ops == NULL || ops->name[0] == '\0' ||
	    memchr(ops->name, '\0', sizeof(ops->name)) == NULL || ops->alloc == NULL ||
	    ops->free == NULL || ops->enqueue == NULL || ops->dequeue == NULL ||
	    ops->count == NULL || (ops->flags & ~TARN_MEMPOOL_OPS_F_MASK) != 0)
		return -EINVAL;
	pthread_mutex_lock(&ops_lock);
	ops_builtin_locked();
	int rc = 0;
	if (ops_find_locked(ops->name) != NULL)
		rc = -EEXIST;
	else if (ops_count >= TARN_MEMPOOL_MAX_OPS)
		rc = -ENOSPC;
	else
		ops_table[ops_count++] = *ops;
	pthread_mutex_unlock(&ops_lock);
	return rc;
}

const struct tarn_mempool_ops *tarn_mempool_ops_lookup(const char *name)
{
	if (name == NULL || name[0] == '\0')
		return tarn__err_null(EINVAL);
	pthread_mutex_lock(&ops_lock);
	ops_builtin_locked();
	const struct tarn_mempool_ops *ops = ops_find_locked(name);
	pthread_mutex_unlock(&ops_lock);
	if (ops == NULL)
		return tarn__err_null(ENOENT);
	return ops;
}

/* ------------------------------------------------------------------------ */
/* Creation                                                                  */

int tarn_mempool_params_init(struct tarn_mempool_params *p)
{
	if (p == NULL)
		return -EINVAL;
	memset(p, 0, sizeof(*p));
	p->socket = TARN_SOCKET_ANY;
	return 0;
}

/* TARN_DEBUG is a list of components separated by commas or spaces. */
static bool debug_from_env(void)
{
	const char *v = getenv("TARN_DEBUG");
	if (v == NULL)
		return false;
	while (*v != '\0') {
		size_t len = strcspn(v, ", ");
		if ((len == 7 && strncmp(v, "mempool", 7) == 0) ||
		    (len == 3 && strncmp(v, "all", 3) == 0))
			return true;
		v += len;
		v += strspn(v, ", ");
	}
	return false;
}

static struct tarn__mempool *find_locked(const char *name)
{
	for (struct tarn__mempool *m = tarn__mp_list; m != NULL; m = m->next)
		if (strncmp(m->pub.name, name, TARN_NAME_SIZE) == 0)
			return m;
	return NULL;
}

static const char *ops_name_from_flags(unsigned flags)
{
	bool sp = flags & TARN_MEMPOOL_F_SP_PUT, sc = flags & TARN_MEMPOOL_F_SC_GET;
	if (sp && sc)
		return "ring_sp_sc";
	if (sp)
		return "ring_sp_mc";
	if (sc)
		return "ring_mp_sc";
	return "ring_mp_mc";
}

static int params_check(const struct tarn_mempool_params *p)
{
	int rc = tarn__name_check(p->name);
	if (rc < 0) {
		TARN__ERR(MP_LOG, "create: %s pool name",
		          rc == -ENAMETOOLONG ? "too long a" : "no");
		return rc;
	}
	const char *why = NULL;
	if (p->n == 0 || p->n > TARN_MEMPOOL_MAX_OBJS)
		why = "n must be 1 .. TARN_MEMPOOL_MAX_OBJS";
	else if (p->elt_size == 0 || p->elt_size > TARN_MEMPOOL_MAX_ELT_SIZE)
		why = "elt_size must be 1 .. TARN_MEMPOOL_MAX_ELT_SIZE";
	else if (p->cache_size > TARN_MEMPOOL_CACHE_MAX)
		why = "cache_size above TARN_MEMPOOL_CACHE_MAX (512)";
	else if (p->cache_size > p->n)
		why = "cache_size above n";
	else if (p->priv_size > TARN_MEMPOOL_MAX_PRIV_SIZE)
		why = "priv_size above TARN_MEMPOOL_MAX_PRIV_SIZE";
	else if (p->reserve > p->n)
		why = "reserve above n";
	else if (p->flags & ~TARN_MEMPOOL_F_MASK)
		why = "unknown flags";
	if (why != NULL) {
		TARN__ERR(MP_LOG, "create '%s': %s", p->name, why);
		return -EINVAL;
	}
	return 0;
}

/*
 * The layout of a pool's memory: one cache line, then `n` objects of
 * [header 32][element, rounded to 8][trailer 8, debug only], each padded to
 * a multiple of the cache line (objects on cache lines). The pool structure
 * is followed by its private area, on its own cache line.
 *
 * With physical IOVAs (root, hugepages), an object that crosses a page
 * boundary has a wrong IOVA past it unless the two pages happen to be
 * physically adjacent: header IOVA + offset is what mbufs hand to a device.
 * A pool that spans more than a page of the socket's memory is therefore
 * laid out page by page from the start: the memory is reserved
 * chunk-aligned, one page per chunk, each chunk holding `per_chunk`
 * objects from its start + TARN_CACHE_LINE (m->chunk, m->per_chunk), so
 * none crosses a page. A smaller pool is laid out contiguously and checked
 * after the reservation (layout_pages()). Objects larger than a page cannot
 * be placed so; they keep the contiguous layout and a notice says their
 * IOVA holds only up to the next page. Nothing changes with virtual IOVAs,
 * where addresses are contiguous by construction.
 *
 * Deciding before the reservation matters: reserving the contiguous layout
 * first, then again page by page when a crossing had a gap (the usual case
 * for a pool of many pages), created and populated a second segment of the
 * pool's size and left the first one unused in the heap (twice the
 * hugepages and twice the kernel's page clearing for a 65535-mbuf pool).
 */
struct mp_layout {
	size_t elt8;     /* element bytes, rounded to 8 (the trailer's offset) */
	size_t body;     /* element + trailer: what follows the header */
	size_t stride;   /* bytes between objects (within a chunk) */
	size_t mz_len;   /* bytes of the memzone */
	size_t mz_align; /* its alignment */
	size_t chunk;    /* page by page: the page size; 0: contiguous */
	unsigned per_chunk;
	size_t priv_off; /* offset of the private area from the pool structure */
};

static void mp_layout(const struct tarn_mempool_params *p, bool debug, int socket,
                      struct mp_layout *l)
{
	l->elt8 = TARN_ALIGN_CEIL((size_t)p->elt_size, 8);
	l->body = l->elt8 + (debug ? 8 : 0);
	l->stride = TARN_ALIGN_CEIL(sizeof(struct tarn_mempool_objhdr) + l->body, TARN_CACHE_LINE);
	l->mz_len = TARN_CACHE_LINE + (size_t)p->n * l->stride;
	l->mz_align = TARN_CACHE_LINE;
	l->chunk = 0;
	l->per_chunk = 0;
	l->priv_off = TARN_ALIGN_CEIL(sizeof(struct tarn__mempool), TARN_CACHE_LINE);
	struct tarn_mem_socket_stats st;
	if (!tarn_mem_iova_is_pa() || tarn_mem_socket_stats(socket, &st) != 0)
		return;
	const size_t pg = st.page_size;
	if (pg <= 4096 || l->mz_len <= pg || l->stride > pg - TARN_CACHE_LINE)
		return;
	l->chunk = pg;
	l->per_chunk = (unsigned)((pg - TARN_CACHE_LINE) / l->stride);
	l->mz_len = ((size_t)p->n + l->per_chunk - 1) / l->per_chunk * pg;
	l->mz_align = pg;
}

/* Place the objects in `mz` as `l` says. */
static void layout_apply(struct tarn__mempool *m, const struct tarn_memzone *mz,
                         const struct mp_layout *l)
{
	m->mz = mz;
	m->chunk = l->chunk;
	m->per_chunk = l->per_chunk;
	m->first_obj = (char *)mz->addr + TARN_CACHE_LINE;
	m->end_obj = tarn__mp_obj_at(m, m->pub.size - 1) + m->stride;
}

/*
 * A contiguous layout on hugepages with physical IOVAs (a pool of a page or
 * less, or memory that came in other pages than planned): check every
 * object (header to the end of its element and debug trailer, `body` bytes
 * after the object start); if one crosses a boundary with an IOVA gap,
 * reserve the memory again page by page. If that reservation fails, the
 * contiguous layout stays, with a warning; m->mz is NULL if even the
 * contiguous memory could not be had back.
 */
static void layout_pages(struct tarn__mempool *m, const char *zname, size_t body)
{
	const size_t pg = m->mz->page_size;
	const size_t hdr = sizeof(struct tarn_mempool_objhdr);
	if (m->chunk != 0 || !tarn_mem_iova_is_pa() || pg <= 4096 || m->pub.size == 0)
		return;
	bool gap = false;
	for (unsigned i = 0; i < m->pub.size && !gap; i++) {
		uintptr_t a = (uintptr_t)tarn__mp_obj_at(m, i) - hdr;
		uintptr_t z = a + hdr + body - 1;
		if (a / pg == z / pg)
			continue;
		tarn_iova_t ia = tarn_mem_virt2iova((void *)a), iz = tarn_mem_virt2iova((void *)z);
		gap = ia == TARN_BAD_IOVA || iz == TARN_BAD_IOVA || iz - ia != z - a;
	}
	if (!gap)
		return;
	if (m->stride > pg - TARN_CACHE_LINE) {
		TARN__NOTICE(MP_LOG,
		             "create '%s': objects of %u bytes are larger than a %zu-byte page: "
		             "their IOVA holds only up to the next page boundary",
		             m->pub.name, m->stride, pg);
		return;
	}
	const struct mp_layout l = {
		.stride = m->stride,
		.chunk = pg,
		.per_chunk = (unsigned)((pg - TARN_CACHE_LINE) / m->stride),
	};
	size_t nchunks = (m->pub.size + (size_t)l.per_chunk - 1) / l.per_chunk;
	const struct tarn_memzone *old = m->mz;
	/* The new zone needs the name: free the old one first, and take it
	 * back (same size, contiguous) if the chunked one cannot be had. */
	size_t old_len = old->len;
	int socket = old->socket;
	tarn_memzone_free(old);
	m->mz = NULL;
	const struct tarn_memzone *mz = tarn_memzone_reserve(zname, nchunks * pg, socket, pg);
	if (mz == NULL) {
		TARN__WARN(
		    MP_LOG,
		    "create '%s': no room for a page-aligned layout (%zu pages of %zu bytes); "
		    "objects that cross a page boundary have a wrong IOVA past it",
		    m->pub.name, nchunks, pg);
		mz = tarn_memzone_reserve(zname, old_len, socket, TARN_CACHE_LINE);
		if (mz != NULL)
			layout_apply(m, mz, &(const struct mp_layout){ .stride = m->stride });
		return;
	}
	layout_apply(m, mz, &l);
	TARN__DEBUG(MP_LOG, "create '%s': page-aligned layout, %u objects per %zu-byte page",
	            m->pub.name, l.per_chunk, pg);
}

/*
 * Initialise every object's header, then the caller's obj_init. The IOVA is
 * looked up once per page of the memzone (header IOVA = the page's IOVA +
 * the offset in it: tarn_mem_virt2iova() translates page by page too).
 */
static void objects_init(struct tarn__mempool *m, const struct tarn_mempool_params *p)
{
	const uintptr_t pg = m->mz->page_size;
	uintptr_t page = 0;
	tarn_iova_t page_iova = TARN_BAD_IOVA;
	for (unsigned i = 0; i < p->n; i++) {
		char *obj = tarn__mp_obj_at(m, i);
		const uintptr_t a = (uintptr_t)obj, base = a & ~(pg - 1);
		if (base != page) {
			page = base;
			page_iova = tarn_mem_virt2iova((void *)base);
		}
		struct tarn_mempool_objhdr *h = tarn__mp_hdr(obj);
		h->next = NULL;
		h->mp = &m->pub;
		h->iova = page_iova == TARN_BAD_IOVA ? TARN_BAD_IOVA : page_iova + (a - base);
		if (m->debug)
			tarn__mp_dbg_obj_init(m, obj);
		if (p->obj_init != NULL)
			p->obj_init(&m->pub, p->obj_init_arg, obj, i);
	}
}

/* Put every object in the store, in index order. */
static int fill_store(struct tarn__mempool *m)
{
	void *batch[256];
	unsigned n = m->pub.size;
	for (unsigned i = 0; i < n;) {
		unsigned k = n - i < 256 ? n - i : 256;
		for (unsigned j = 0; j < k; j++)
			batch[j] = tarn__mp_obj_at(m, i + j);
		int rc = m->pub.ops->enqueue(&m->pub, batch, k);
		if (rc < 0)
			return rc;
		i += k;
	}
	return 0;
}

/*
 * Ops that declare TARN_MEMPOOL_OPS_F_RING_MPMC are called inline, as the
 * ring they say their store is: check, once the store exists, that it is
 * one (a ring of pointers, multi-thread on both sides, room for the pool).
 */
static bool store_is_ring_mpmc(const struct tarn_mempool *mp)
{
	const struct tarn_ring *r = mp->store;
	return r != NULL && tarn_ring_get_esize(r) == sizeof(void *) &&
	       tarn_ring_get_prod_sync(r) == TARN_RING_SYNC_MT &&
	       tarn_ring_get_cons_sync(r) == TARN_RING_SYNC_MT &&
	       tarn_ring_get_capacity(r) >= mp->size;
}

/* What create resolves from the parameters before it allocates anything. */
struct mp_args {
	int socket;
	const struct tarn_mempool_ops *ops;
	bool debug;
	unsigned id;
};

/* Check the parameters, resolve the socket and the store ops, and take the
 * pool's id. 0, or the tarn_errno to fail with (logged). */
static int create_args(const struct tarn_mempool_params *p, struct mp_args *a)
{
	if (p == NULL)
		return EINVAL;
	if (!tarn_initialized()) {
		TARN__ERR(MP_LOG, "create: tarn_init() has not been called");
		return EINVAL;
	}
	int rc = params_check(p);
	if (rc < 0)
		return -rc;
	a->socket = tarn_socket_resolve(p->socket);
	if (a->socket < 0) {
		TARN__ERR(MP_LOG, "create '%s': no socket %d", p->name, p->socket);
		return EINVAL;
	}
	const char *ops_name = p->ops_name != NULL ? p->ops_name : ops_name_from_flags(p->flags);
	a->ops = tarn_mempool_ops_lookup(ops_name);
	if (a->ops == NULL) {
		TARN__ERR(MP_LOG, "create '%s': no store ops named '%s'", p->name, ops_name);
		return ENOENT;
	}
	a->debug = (p->flags & TARN_MEMPOOL_F_DEBUG) || debug_from_env();

	pthread_mutex_lock(&tarn__mp_list_lock);
	bool exists = find_locked(p->name) != NULL;
	a->id = next_id++;
	pthread_mutex_unlock(&tarn__mp_list_lock);
	if (exists) {
		TARN__ERR(MP_LOG, "create '%s': a pool of that name exists", p->name);
		return EEXIST;
	}
	return 0;
}

/* The pool structure (and its private area) on the pool's socket, its
 * fields set from `p`, `a` and `l`; NULL (logged) without memory. */
static struct tarn__mempool *pool_struct_new(const struct tarn_mempool_params *p,
                                             const struct mp_args *a, const struct mp_layout *l)
{
	struct tarn__mempool *m =
	    tarn_malloc_socket(l->priv_off + p->priv_size, TARN_CACHE_LINE, a->socket);
	if (m == NULL) {
		TARN__ERR(MP_LOG, "create '%s': no memory for the pool structure on socket %d",
		          p->name, a->socket);
		return NULL;
	}
	memset(m, 0, l->priv_off);
	snprintf(m->pub.name, sizeof(m->pub.name), "%s", p->name);
	m->pub.size = p->n;
	m->pub.elt_size = p->elt_size;
	m->pub.cache_size = p->cache_size;
	m->pub.flags = p->flags | (a->debug ? TARN_MEMPOOL_F_DEBUG : 0);
	m->pub.ops = a->ops;
	m->id = a->id;
	m->stride = (unsigned)l->stride;
	m->trailer_off = (unsigned)l->elt8;
	m->reserve = p->reserve;
	m->priv_size = p->priv_size;
	m->priv = p->priv_size ? (char *)m + l->priv_off : NULL;
	m->socket = a->socket;
	m->debug = a->debug;
	m->sp_store = (a->ops->flags & TARN_MEMPOOL_OPS_F_SP) != 0;
	pthread_mutex_init(&m->stash_lock, NULL);
	m->ring_mpmc = (a->ops->flags & TARN_MEMPOOL_OPS_F_RING_MPMC) != 0;
	m->ring_direct = m->ring_mpmc && p->reserve == 0;
	return m;
}

/* The objects' memory (laid out as `l` says) and, in debug mode, their
 * owner records. 0, or the tarn_errno to fail with (logged; nothing of it
 * is left). */
static int pool_memory(struct tarn__mempool *m, const struct tarn_mempool_params *p,
                       const struct mp_layout *l)
{
	char zname[TARN_NAME_SIZE];
	tarn__mp_sub_name(zname, m->id, p->name);
	const struct tarn_memzone *mz =
	    tarn_memzone_reserve(zname, l->mz_len, m->socket, l->mz_align);
	if (mz == NULL) {
		int rc = -(int)tarn_errno;
		TARN__ERR(MP_LOG,
		          "create '%s': no memory for %u objects of %zu bytes on socket %d: %s",
		          p->name, p->n, l->stride, m->socket, tarn_strerror(rc));
		return rc == -EEXIST ? EEXIST : ENOMEM;
	}
	layout_apply(m, mz, l);
	layout_pages(m, zname, l->body);
	if (m->mz == NULL) {
		TARN__ERR(MP_LOG, "create '%s': memory lost while laying out the objects by page",
		          p->name);
		return ENOMEM;
	}
	if (m->debug) {
		m->owners = tarn_malloc_socket((size_t)p->n * sizeof(*m->owners), 0, m->socket);
		if (m->owners == NULL) {
			TARN__ERR(MP_LOG, "create '%s': no memory for debug owner records",
			          p->name);
			tarn_memzone_free(m->mz);
			return ENOMEM;
		}
	}
	return 0;
}

/* Initialise the objects, make the store and put every object in it. 0, or
 * the tarn_errno to fail with (logged; the store is gone). */
static int pool_store(struct tarn__mempool *m, const struct tarn_mempool_params *p)
{
	const struct tarn_mempool_ops *ops = m->pub.ops;
	objects_init(m, p);
	int rc = ops->alloc(&m->pub);
	if (rc < 0)
		goto fail_msg;
	if (m->ring_mpmc && !store_is_ring_mpmc(&m->pub)) {
		TARN__ERR(MP_LOG,
		          "create '%s': ops '%s' declare TARN_MEMPOOL_OPS_F_RING_MPMC, but their "
		          "store is not a multi-producer, multi-consumer ring of pointers for "
		          "%u objects",
		          p->name, ops->name, p->n);
		ops->free(&m->pub);
		return EINVAL;
	}
	rc = fill_store(m);
	if (rc == 0)
		return 0;
	ops->free(&m->pub);
fail_msg: /* the store could not be made or filled (and is gone) */
	TARN__ERR(MP_LOG, "create '%s': store '%s' failed: %s", p->name, ops->name,
	          tarn_strerror(rc));
	return rc == -EINVAL ? EINVAL : ENOMEM;
}

struct tarn_mempool *tarn_mempool_create_params(const struct tarn_mempool_params *p)
{
	struct mp_args a;
	int err = create_args(p, &a);
	if (err != 0)
		return tarn__err_null(err);
	tarn__mp_thread_hook_init();

	struct mp_layout l;
	mp_layout(p, a.debug, a.socket, &l);
	struct tarn__mempool *m = pool_struct_new(p, &a, &l);
	if (m == NULL)
		return tarn__err_null(ENOMEM);
	/* From here every failure unwinds through the ladder at the end, from
	 * the step it reached: err is the tarn_errno to return. */
	err = pool_memory(m, p, &l);
	if (err != 0)
		goto fail_struct;
	err = pool_store(m, p);
	if (err != 0)
		goto fail_memory;
	m->acct = p->n;
	for (unsigned i = 0; i < p->n; i++)
		tarn__mp_poison_one(m, tarn__mp_obj_at(m, i));

	/* Another thread may have created a pool of that name meanwhile (the
	 * fault point stands for it, so the fault walk reaches every rung). */
	pthread_mutex_lock(&tarn__mp_list_lock);
	if (find_locked(p->name) != NULL || TARN__FAULT("mempool-publish", EEXIST)) {
		pthread_mutex_unlock(&tarn__mp_list_lock);
		TARN__ERR(MP_LOG, "create '%s': a pool of that name exists", p->name);
		err = EEXIST;
		goto fail_poisoned;
	}
	struct tarn__mempool **tail = &tarn__mp_list;
	while (*tail != NULL)
		tail = &(*tail)->next;
	*tail = m;
	pthread_mutex_unlock(&tarn__mp_list_lock);
	TARN__INFO(
	    MP_LOG,
	    "created '%s': %u objects of %u bytes (stride %zu), cache %u, ops %s, socket %d%s",
	    p->name, p->n, p->elt_size, l.stride, p->cache_size, a.ops->name, a.socket,
	    a.debug ? ", debug" : "");
	return &m->pub;

fail_poisoned:
	tarn__mp_unpoison_all(m);
	a.ops->free(&m->pub);
fail_memory:
	tarn_free(m->owners);
	tarn_memzone_free(m->mz);
fail_struct:
	pthread_mutex_destroy(&m->stash_lock);
	tarn_free(m);
	return tarn__err_null(err);
}

struct tarn_mempool *tarn_mempool_create(const char *name, unsigned n, unsigned elt_size,
                                         unsigned cache_size, unsigned priv_size,
                                         tarn_mempool_obj_cb_t obj_init, void *arg, int socket,
                                         unsigned flags)
{
	struct tarn_mempool_params p;
	tarn_mempool_params_init(&p);
	p.name = name;
	p.n = n;
	p.elt_size = elt_size;
	p.cache_size = cache_size;
	p.priv_size = priv_size;
	p.obj_init = obj_init;
	p.obj_init_arg = arg;
	p.socket = socket;
	p.flags = flags;
	return tarn_mempool_create_params(&p);
}

/* ------------------------------------------------------------------------ */
/* Free                                                                      */

/* Release everything of an unlinked pool. */
static void destroy(struct tarn__mempool *m)
{
	m->pub.ops->free(&m->pub);
	pthread_mutex_destroy(&m->stash_lock);
	tarn__mp_caches_free(m);
	tarn__mp_unpoison_all(m);
	tarn_free(m->owners);
	tarn_memzone_free(m->mz);
	tarn_free(m);
}

/* Of `in_use` objects missing from the pool, those the per-thread counters
 * do not count as handed out: lost by the pool or its store, not held by
 * the program (see "No object lost" in tarn_mempool.h; exact when
 * quiescent, as the pool is when it is freed). */
static unsigned lost_count(const struct tarn__mempool *m, unsigned in_use)
{
	struct tarn_mempool_stats st;
	tarn_mempool_stats(&m->pub, &st);
	return st.held >= 0 && (uint64_t)st.held < in_use ? in_use - (unsigned)st.held : 0;
}

/* Log the objects still in use (debug: with their owners). */
static void log_in_use(struct tarn__mempool *m, unsigned in_use, const char *what)
{
	const unsigned lost = lost_count(m, in_use);
	TARN__ERR(MP_LOG, "%s '%s': %u of %u objects still in use%s", what, m->pub.name, in_use,
	          m->pub.size, lost != 0 ? " (see the next line)" : "");
	if (lost != 0)
		TARN__ERR(
		    MP_LOG,
		    "%s '%s': %u of them were never handed out: lost by the pool or its store "
		    "(tarn_mempool_check() says more)",
		    what, m->pub.name, lost);
	if (!m->debug)
		return;
	unsigned shown = 0;
	for (unsigned i = 0; i < m->pub.size && shown < 16; i++) {
		char *obj = tarn__mp_obj_at(m, i);
		uint64_t ck = __atomic_load_n(&tarn__mp_hdr(obj)->cookie, __ATOMIC_RELAXED);
		if (ck == TARN__MP_COOKIE_IN)
			continue;
		TARN__ERR(MP_LOG, "  object #%u %p %s, taken by lcore %d thread %d", i, (void *)obj,
		          ck == TARN__MP_COOKIE_QUAR ? "quarantined" : "in use",
		          m->owners[i].lcore == TARN_LCORE_ID_ANY ? -1 : (int)m->owners[i].lcore,
		          (int)m->owners[i].tid);
		shown++;
	}
	if (shown < in_use)
		TARN__ERR(MP_LOG, "  ... (tarn_mempool_audit() lists them all)");
}

int tarn_mempool_free(struct tarn_mempool *mp, unsigned flags)
{
	if (mp == NULL || (flags & ~TARN_MEMPOOL_FREE_FORCE))
		return -EINVAL;
	pthread_mutex_lock(&tarn__mp_list_lock);
	struct tarn__mempool **pp = &tarn__mp_list;
	while (*pp != NULL && &(*pp)->pub != mp)
		pp = &(*pp)->next;
	if (*pp == NULL) {
		pthread_mutex_unlock(&tarn__mp_list_lock);
		return -EINVAL;
	}
	struct tarn__mempool *m = *pp;
	unsigned in_use = tarn_mempool_in_use_count(mp);
	if (in_use > 0 && !(flags & TARN_MEMPOOL_FREE_FORCE)) {
		log_in_use(m, in_use, "free");
		pthread_mutex_unlock(&tarn__mp_list_lock);
		return -EBUSY;
	}
	*pp = m->next;
	pthread_mutex_unlock(&tarn__mp_list_lock);
	if (in_use > 0) {
		const unsigned lost = lost_count(m, in_use);
		TARN__WARN(MP_LOG, "free '%s': forced with %u objects in use", mp->name, in_use);
		if (lost != 0)
			TARN__ERR(MP_LOG,
			          "free '%s': %u of them were never handed out: lost by the pool "
			          "or its store",
			          mp->name, lost);
	}
	destroy(m);
	return 0;
}

void tarn__mempool_cleanup(void)
{
	pthread_mutex_lock(&tarn__mp_list_lock);
	struct tarn__mempool *m = tarn__mp_list;
	tarn__mp_list = NULL;
	pthread_mutex_unlock(&tarn__mp_list_lock);
	while (m != NULL) {
		struct tarn__mempool *next = m->next;
		unsigned in_use = tarn_mempool_in_use_count(&m->pub);
		if (in_use > 0)
			TARN__WARN(MP_LOG, "cleanup: pool '%s' freed with %u objects in use",
			           m->pub.name, in_use);
		destroy(m);
		m = next;
	}
}

/* ------------------------------------------------------------------------ */
/* Lookup, walk, iteration                                                   */

struct tarn_mempool *tarn_mempool_lookup(const char *name)
{
	int rc = tarn__name_check(name);
	if (rc < 0)
		return tarn__err_null(rc);
	pthread_mutex_lock(&tarn__mp_list_lock);
	struct tarn__mempool *m = find_locked(name);
	pthread_mutex_unlock(&tarn__mp_list_lock);
	if (m == NULL)
		return tarn__err_null(ENOENT);
	return &m->pub;
}

int tarn_mempool_walk(void (*fn)(struct tarn_mempool *mp, void *arg), void *arg)
{
	if (fn == NULL)
		return -EINVAL;
	int count = 0;
	pthread_mutex_lock(&tarn__mp_list_lock);
	tarn__mp_in_walk = 1;
	for (struct tarn__mempool *m = tarn__mp_list; m != NULL; m = m->next) {
		fn(&m->pub, arg);
		count++;
	}
	tarn__mp_in_walk = 0;
	pthread_mutex_unlock(&tarn__mp_list_lock);
	return count;
}

int tarn_mempool_obj_iter(struct tarn_mempool *mp, tarn_mempool_obj_cb_t fn, void *arg)
{
	if (mp == NULL || fn == NULL)
		return -EINVAL;
	struct tarn__mempool *m = tarn__mp(mp);
	for (unsigned i = 0; i < mp->size; i++) {
		char *obj = tarn__mp_obj_at(m, i);
		tarn__mp_unpoison_one(m, obj);
		fn(mp, arg, obj, i);
	}
	return (int)mp->size;
}

/* ------------------------------------------------------------------------ */
/* Accessors                                                                 */

const char *tarn_mempool_name(const struct tarn_mempool *mp)
{
	return mp ? mp->name : NULL;
}

unsigned tarn_mempool_size(const struct tarn_mempool *mp)
{
	return mp ? mp->size : 0;
}

unsigned tarn_mempool_elt_size(const struct tarn_mempool *mp)
{
	return mp ? mp->elt_size : 0;
}

unsigned tarn_mempool_obj_stride(const struct tarn_mempool *mp)
{
	return mp ? tarn__mp(mp)->stride : 0;
}

unsigned tarn_mempool_cache_size(const struct tarn_mempool *mp)
{
	return mp ? mp->cache_size : 0;
}

unsigned tarn_mempool_priv_size(const struct tarn_mempool *mp)
{
	return mp ? tarn__mp(mp)->priv_size : 0;
}

void *tarn_mempool_get_priv(struct tarn_mempool *mp)
{
	return mp ? tarn__mp(mp)->priv : NULL;
}

int tarn_mempool_socket(const struct tarn_mempool *mp)
{
	return mp ? tarn__mp(mp)->socket : -EINVAL;
}

unsigned tarn_mempool_flags(const struct tarn_mempool *mp)
{
	return mp ? mp->flags : 0;
}

int tarn_mempool_debug_enabled(const struct tarn_mempool *mp)
{
	return mp ? tarn__mp(mp)->debug : 0;
}

const char *tarn_mempool_ops_name(const struct tarn_mempool *mp)
{
	return mp ? mp->ops->name : NULL;
}

unsigned tarn_mempool_reserve(const struct tarn_mempool *mp)
{
	return mp ? tarn__mp(mp)->reserve : 0;
}

const struct tarn_memzone *tarn_mempool_memzone(const struct tarn_mempool *mp)
{
	return mp ? tarn__mp(mp)->mz : NULL;
}

int tarn_mempool_obj_index(const struct tarn_mempool *mp, const void *obj)
{
	if (mp == NULL || obj == NULL || !tarn__mp_is_obj(tarn__mp(mp), obj))
		return -EINVAL;
	return (int)tarn__mp_obj_idx(tarn__mp(mp), obj);
}

void *tarn_mempool_obj_at(const struct tarn_mempool *mp, unsigned idx)
{
	if (mp == NULL || idx >= mp->size)
		return NULL;
	return tarn__mp_obj_at(tarn__mp(mp), idx);
}
