/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * memzone.c - named regions, and tarn_malloc_socket()/tarn_free(), both
 * carved from the socket heaps.
 *
 * Memzone descriptors live in ordinary memory, one allocation each so that a
 * pointer handed out stays valid until tarn_memzone_free(); a list under one
 * mutex finds them by name. A tarn_malloc_socket() block carries a small
 * header right before the address it returns.
 */
#include <stdlib.h>
#include <string.h>

#include "mem_priv.h"

struct mz_entry {
	struct tarn_memzone mz; /* first: the public pointer is the entry */
	struct tarn__chunk chunk;
	struct mz_entry *next;
	bool pending; /* name taken, memory being reserved: not visible yet */
};

static struct mz_entry *mz_head;
static unsigned mz_count;
static pthread_mutex_t mz_lock = PTHREAD_MUTEX_INITIALIZER;

/* Validate align: 0 means a cache line; else a power of two up to 1 GiB. */
static int align_check(size_t *align)
{
	if (*align == 0)
		*align = TARN_CACHE_LINE;
	if ((*align & (*align - 1)) != 0 || *align > TARN__MEM_MAX_ALIGN)
		return -EINVAL;
	if (*align < TARN__HEAP_UNIT)
		*align = TARN__HEAP_UNIT;
	return 0;
}

/* Lock held. `pending` entries count as taken names but are not found. */
static struct mz_entry *mz_find(const char *name, bool with_pending)
{
	for (struct mz_entry *e = mz_head; e != NULL; e = e->next)
		if (strcmp(e->mz.name, name) == 0 && (with_pending || !e->pending))
			return e;
	return NULL;
}

/* Lock held. */
static void mz_unlink(struct mz_entry *e)
{
	struct mz_entry **pp = &mz_head;
	while (*pp != NULL && *pp != e)
		pp = &(*pp)->next;
	if (*pp != NULL)
		*pp = e->next;
}

const struct tarn_memzone *tarn_memzone_reserve(const char *name, size_t len, int socket,
                                                size_t align)
{
	int rc = tarn__name_check(name);
	if (rc < 0)
		return tarn__err_null(rc);
	if (!tarn__mem_ready() || len == 0 || align_check(&align) < 0)
		return tarn__err_null(EINVAL);
	int s = tarn_socket_resolve(socket);
	if (s < 0 || (unsigned)s >= tarn__mem.n_sockets)
		return tarn__err_null(EINVAL);

	struct mz_entry *e = calloc(1, sizeof(*e));
	if (e == NULL)
		return tarn__err_null(ENOMEM);
	pthread_mutex_lock(&mz_lock);
	if (mz_find(name, true) != NULL) {
		pthread_mutex_unlock(&mz_lock);
		free(e);
		return tarn__err_null(EEXIST);
	}
	/* Take the name, then reserve without the lock: growing a heap may
	 * populate a large segment, and lookups must not wait for that. A
	 * second reservation of the name sees the pending entry (EEXIST). */
	strcpy(e->mz.name, name);
	e->pending = true;
	e->next = mz_head;
	mz_head = e;
	pthread_mutex_unlock(&mz_lock);

	int err = 0;
	void *p = tarn__heap_alloc(s, len, align, 0, &e->chunk, &err);
	pthread_mutex_lock(&mz_lock);
	if (p == NULL) {
		mz_unlink(e);
		pthread_mutex_unlock(&mz_lock);
		free(e);
		return tarn__err_null(err ? err : ENOMEM);
	}
	e->mz.addr = p;
	e->mz.len = len;
	e->mz.socket = s;
	e->mz.page_size = e->chunk.seg->page_size;
	e->mz.iova = tarn_mem_virt2iova(p);
	e->pending = false;
	mz_count++;
	pthread_mutex_unlock(&mz_lock);
	TARN__DEBUG(MEM_LOG, "memzone '%s': %zu bytes on socket %d at %p", name, len, s, p);
	return &e->mz;
}

const struct tarn_memzone *tarn_memzone_lookup(const char *name)
{
	int rc = tarn__name_check(name);
	if (rc < 0)
		return tarn__err_null(rc);
	if (!tarn__mem_ready())
		return tarn__err_null(EINVAL);
	pthread_mutex_lock(&mz_lock);
	struct mz_entry *e = mz_find(name, false);
	pthread_mutex_unlock(&mz_lock);
	if (e == NULL)
		return tarn__err_null(ENOENT);
	return &e->mz;
}

int tarn_memzone_free(const struct tarn_memzone *mz)
{
	if (mz == NULL || !tarn__mem_ready())
		return -EINVAL;
	pthread_mutex_lock(&mz_lock);
	struct mz_entry **pp = &mz_head;
	while (*pp != NULL && (&(*pp)->mz != mz || (*pp)->pending))
		pp = &(*pp)->next;
	struct mz_entry *e = *pp;
	if (e == NULL) {
		pthread_mutex_unlock(&mz_lock);
		return -EINVAL;
	}
	*pp = e->next;
	mz_count--;
	pthread_mutex_unlock(&mz_lock);
	tarn__heap_free(e->mz.socket, &e->chunk);
	free(e);
	return 0;
}

void tarn_memzone_walk(void (*fn)(const struct tarn_memzone *, void *), void *arg)
{
	if (fn == NULL || !tarn__mem_ready())
		return;
	pthread_mutex_lock(&mz_lock);
	for (struct mz_entry *e = mz_head; e != NULL; e = e->next)
		if (!e->pending)
			fn(&e->mz, arg);
	pthread_mutex_unlock(&mz_lock);
}

unsigned tarn__memzone_count(void)
{
	pthread_mutex_lock(&mz_lock);
	unsigned n = mz_count;
	pthread_mutex_unlock(&mz_lock);
	return n;
}

void tarn__memzone_fini(void)
{
	pthread_mutex_lock(&mz_lock);
	struct mz_entry *e = mz_head;
	if (mz_count != 0)
		TARN__DEBUG(MEM_LOG, "cleanup: %u memzone%s still reserved", mz_count,
		            mz_count == 1 ? "" : "s");
	while (e != NULL) {
		struct mz_entry *n = e->next;
		free(e);
		e = n;
	}
	mz_head = NULL;
	mz_count = 0;
	pthread_mutex_unlock(&mz_lock);
}

/* ---- tarn_malloc_socket / tarn_free ------------------------------------- */

#define MALLOC_MAGIC 0x7461726e6d616c6cull /* "tarnmall" */
#define MALLOC_FREED 0x7461726e66726565ull /* "tarnfree" */

/* Header right before a tarn_malloc_socket() address. */
struct malloc_hdr {
	struct tarn__chunk chunk;
	int socket;
	uint32_t pad;
	uint64_t magic;
};
_Static_assert(sizeof(struct malloc_hdr) <= TARN__HEAP_UNIT, "malloc header too big");

void *tarn_malloc_socket(size_t size, size_t align, int socket)
{
	if (!tarn__mem_ready() || size == 0 || align_check(&align) < 0)
		return tarn__err_null(EINVAL);
	int s = tarn_socket_resolve(socket);
	if (s < 0 || (unsigned)s >= tarn__mem.n_sockets)
		return tarn__err_null(EINVAL);
	struct tarn__chunk c;
	int err = 0;
	void *p = tarn__heap_alloc(s, size, align, sizeof(struct malloc_hdr), &c, &err);
	if (p == NULL)
		return tarn__err_null(err ? err : ENOMEM);
	struct malloc_hdr *h = (struct malloc_hdr *)p - 1;
	h->chunk = c;
	h->socket = s;
	h->magic = MALLOC_MAGIC;
	return p;
}

void tarn_free(void *ptr)
{
	if (ptr == NULL)
		return;
	if (!tarn__mem_ready()) {
		TARN__ERR(MEM_LOG, "tarn_free(%p): tarn is not initialised", ptr);
		return;
	}
	const struct tarn__mem_seg *seg = tarn__mem_seg_find(ptr);
	/* The header must lie in the same segment, before ptr. */
	if (seg == NULL || (uintptr_t)ptr - (uintptr_t)seg->addr < sizeof(struct malloc_hdr) ||
	    (uintptr_t)ptr % TARN__HEAP_UNIT != 0) {
		TARN__ERR(MEM_LOG, "tarn_free(%p): not memory from tarn_malloc_socket()", ptr);
		return;
	}
	struct malloc_hdr *h = (struct malloc_hdr *)ptr - 1;
	/* Claim the block: of two racing frees only one sees MAGIC. */
	uint64_t expect = MALLOC_MAGIC;
	if (!__atomic_compare_exchange_n(&h->magic, &expect, MALLOC_FREED, false, __ATOMIC_ACQ_REL,
	                                 __ATOMIC_RELAXED)) {
		TARN__ERR(MEM_LOG, "tarn_free(%p): %s", ptr,
		          expect == MALLOC_FREED ? "double free" : "not from tarn_malloc_socket()");
		return;
	}
	struct tarn__chunk c = h->chunk;
	tarn__heap_free(h->socket, &c);
}

int tarn_mem_socket(const void *addr)
{
	if (addr == NULL || !tarn__mem_ready())
		return -EINVAL;
	const struct tarn__mem_seg *s = tarn__mem_seg_find(addr);
	return s == NULL ? -EINVAL : s->socket;
}

int tarn_mem_socket_of(const void *addr) __attribute__((alias("tarn_mem_socket")));
