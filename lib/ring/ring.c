/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ring.c - ring creation, the name list, lookup, checks and dumps (the slow
 * path). The data path is static inline in tarn_ring.h.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "env_priv.h"
#include "tarn_mem.h"
#include "ring_priv.h"

#define RING_LOG "ring"

/* Layout the fast path depends on: three parts of two cache lines each, the
 * slot array starting right after them (so aligned for any element). */
_Static_assert(sizeof(struct tarn_ring) == 3 * TARN_RING_PART_SIZE, "ring header size");
_Static_assert(offsetof(struct tarn_ring, pad_conf) <= TARN_CACHE_LINE,
               "configuration fits one cache line");
_Static_assert(offsetof(struct tarn_ring, prod) % TARN_RING_PART_SIZE == 0,
               "producer part starts a line pair");
_Static_assert(offsetof(struct tarn_ring, cons) % TARN_RING_PART_SIZE == 0,
               "consumer part starts a line pair");
_Static_assert(sizeof(struct tarn_ring_headtail) <= TARN_CACHE_LINE, "side state fits a line");
_Static_assert(offsetof(struct tarn_ring_headtail, head) % 8 == 0 &&
                   offsetof(struct tarn_ring_headtail, tail) % 8 == 0,
               "64-bit atomics on head and tail need 8-byte alignment");
_Static_assert(sizeof(void *) == 8, "pointer rings use 8-byte slots");

/* Default RTS head-tail distance: capacity / TARN__RING_HTD_DIV. */
#define RING_HTD_DIV 8

/* Name list: every live ring, oldest first. Slow path only. */
static pthread_mutex_t ring_list_lock = PTHREAD_MUTEX_INITIALIZER;
static struct tarn_ring *ring_list;

/* Ring in the list with this name, or NULL. Call with the lock held. */
static struct tarn_ring *ring_find_locked(const char *name)
{
	for (struct tarn_ring *r = ring_list; r != NULL; r = r->next)
		if (strncmp(r->name, name, TARN_NAME_SIZE) == 0)
			return r;
	return NULL;
}

/* Slots and capacity for `count` and `flags`; 0 or -EINVAL. */
static int ring_geometry(unsigned count, unsigned flags, uint32_t *size, uint32_t *capacity)
{
	if (flags & TARN_RING_F_EXACT_SZ) {
		if (count == 0 || count >= TARN_RING_SIZE_MAX) {
			TARN__ERR(RING_LOG, "exact-size count %u out of range 1..%u", count,
			          TARN_RING_SIZE_MAX - 1);
			return -EINVAL;
		}
		/* smallest power of two > count: one slot stays free */
		uint32_t s = 2;
		while (s <= count)
			s <<= 1;
		*size = s;
		*capacity = count;
		return 0;
	}
	if (count < 2 || count > TARN_RING_SIZE_MAX || (count & (count - 1)) != 0) {
		TARN__ERR(RING_LOG,
		          "count %u must be a power of two from 2 to %u "
		          "(or use TARN_RING_F_EXACT_SZ)",
		          count, TARN_RING_SIZE_MAX);
		return -EINVAL;
	}
	*size = count;
	*capacity = count - 1;
	return 0;
}

static int ring_flags_check(unsigned flags)
{
	if (flags & ~TARN_RING_F_MASK) {
		TARN__ERR(RING_LOG, "unknown flags 0x%x", flags & ~TARN_RING_F_MASK);
		return -EINVAL;
	}
	if ((flags & TARN_RING_F_SP_ENQ) && (flags & TARN_RING_F_MP_RTS_ENQ)) {
		TARN__ERR(RING_LOG,
		          "TARN_RING_F_SP_ENQ and TARN_RING_F_MP_RTS_ENQ exclude each other");
		return -EINVAL;
	}
	if ((flags & TARN_RING_F_SC_DEQ) && (flags & TARN_RING_F_MC_RTS_DEQ)) {
		TARN__ERR(RING_LOG,
		          "TARN_RING_F_SC_DEQ and TARN_RING_F_MC_RTS_DEQ exclude each other");
		return -EINVAL;
	}
	return 0;
}

static uint32_t ring_sync_of(unsigned flags, unsigned st_flag, unsigned rts_flag)
{
	if (flags & st_flag)
		return TARN_RING_SYNC_ST;
	if (flags & rts_flag)
		return TARN_RING_SYNC_RTS;
	return TARN_RING_SYNC_MT;
}

static void ring_headtail_init(struct tarn_ring_headtail *ht, uint32_t sync, uint32_t htd_max)
{
	/* relaxed: the ring is not visible to other threads yet (it is
	 * published through the list mutex) or is quiescent (reset) */
	__atomic_store_n(&ht->head.raw, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&ht->tail.raw, 0, __ATOMIC_RELAXED);
	ht->sync = sync;
	ht->htd_max = htd_max;
}

struct tarn_ring *tarn_ring_create_elem(const char *name, unsigned esize, unsigned count,
                                        int socket, unsigned flags)
{
	uint32_t size, capacity;
	int rc, sock;

	rc = tarn__name_check(name);
	if (rc < 0) {
		TARN__ERR(RING_LOG, "bad ring name: %s", tarn_strerror(rc));
		return tarn__err_null(rc);
	}
	if (esize == 0 || esize % 4 != 0) {
		TARN__ERR(RING_LOG, "%s: element size %u is not a positive multiple of 4", name,
		          esize);
		return tarn__err_null(EINVAL);
	}
	rc = ring_flags_check(flags);
	if (rc < 0)
		return tarn__err_null(rc);
	rc = ring_geometry(count, flags, &size, &capacity);
	if (rc < 0)
		return tarn__err_null(rc);
	if (!tarn_initialized()) {
		TARN__ERR(RING_LOG, "%s: tarn_init() has not been called", name);
		return tarn__err_null(EINVAL);
	}
	sock = tarn_socket_resolve(socket);
	if (sock < 0) {
		TARN__ERR(RING_LOG, "%s: no socket %d", name, socket);
		return tarn__err_null(EINVAL);
	}
	/* size <= 2^31 and esize < 2^32: the product fits 64 bits */
	const uint64_t slot_bytes = (uint64_t)size * esize;
	if (slot_bytes > SIZE_MAX - sizeof(struct tarn_ring)) {
		TARN__ERR(RING_LOG, "%s: %u slots of %u bytes do not fit memory", name, size,
		          esize);
		return tarn__err_null(ENOMEM);
	}
	const size_t bytes = sizeof(struct tarn_ring) + (size_t)slot_bytes;

	pthread_mutex_lock(&ring_list_lock);
	if (ring_find_locked(name) != NULL) {
		pthread_mutex_unlock(&ring_list_lock);
		TARN__ERR(RING_LOG, "%s: a ring of that name exists", name);
		return tarn__err_null(EEXIST);
	}
	struct tarn_ring *r = tarn_malloc_socket(bytes, TARN_RING_PART_SIZE, sock);
	if (r == NULL) {
		rc = tarn_errno ? tarn_errno : ENOMEM;
		pthread_mutex_unlock(&ring_list_lock);
		TARN__ERR(RING_LOG, "%s: cannot allocate %zu bytes on socket %d: %s", name, bytes,
		          sock, tarn_strerror(rc));
		return tarn__err_null(rc);
	}
	memset(r, 0, sizeof(*r));
	snprintf(r->name, sizeof(r->name), "%s", name);
	r->flags = flags;
	r->size = size;
	r->mask = size - 1;
	r->capacity = capacity;
	r->esize = esize;
	r->socket = sock;
	ring_headtail_init(&r->prod,
	                   ring_sync_of(flags, TARN_RING_F_SP_ENQ, TARN_RING_F_MP_RTS_ENQ),
	                   capacity / RING_HTD_DIV);
	ring_headtail_init(&r->cons,
	                   ring_sync_of(flags, TARN_RING_F_SC_DEQ, TARN_RING_F_MC_RTS_DEQ),
	                   capacity / RING_HTD_DIV);
	/* append: walks and dumps go in creation order */
	struct tarn_ring **link = &ring_list;
	while (*link != NULL)
		link = &(*link)->next;
	r->next = NULL;
	*link = r;
	pthread_mutex_unlock(&ring_list_lock);
	TARN__DEBUG(RING_LOG,
	            "%s: created, %u slots of %u bytes, capacity %u, socket %d, flags 0x%x", name,
	            size, esize, capacity, sock, flags);
	return r;
}

struct tarn_ring *tarn_ring_create(const char *name, unsigned count, int socket, unsigned flags)
{
	return tarn_ring_create_elem(name, sizeof(void *), count, socket, flags);
}

int tarn_ring_free(struct tarn_ring *r)
{
	if (r == NULL)
		return -EINVAL;
	pthread_mutex_lock(&ring_list_lock);
	struct tarn_ring **link = &ring_list;
	while (*link != NULL && *link != r)
		link = &(*link)->next;
	if (*link == NULL) {
		pthread_mutex_unlock(&ring_list_lock);
		TARN__ERR(RING_LOG, "free: %p is not a live ring", (void *)r);
		return -EINVAL;
	}
	*link = r->next;
	pthread_mutex_unlock(&ring_list_lock);
	TARN__DEBUG(RING_LOG, "%s: freed", r->name);
	tarn_free(r);
	return 0;
}

struct tarn_ring *tarn_ring_lookup(const char *name)
{
	int rc = tarn__name_check(name);

	if (rc < 0)
		return tarn__err_null(rc);
	pthread_mutex_lock(&ring_list_lock);
	struct tarn_ring *r = ring_find_locked(name);
	pthread_mutex_unlock(&ring_list_lock);
	if (r == NULL)
		return tarn__err_null(ENOENT);
	return r;
}

int tarn_ring_reset(struct tarn_ring *r)
{
	if (r == NULL)
		return -EINVAL;
	ring_headtail_init(&r->prod, r->prod.sync, r->prod.htd_max);
	ring_headtail_init(&r->cons, r->cons.sync, r->cons.htd_max);
	return 0;
}

int tarn_ring_set_htd_max(struct tarn_ring *r, uint32_t prod_max, uint32_t cons_max)
{
	if (r == NULL)
		return -EINVAL;
	if ((prod_max != UINT32_MAX && prod_max > r->capacity) ||
	    (cons_max != UINT32_MAX && cons_max > r->capacity))
		return -EINVAL;
	if ((prod_max != UINT32_MAX && r->prod.sync != TARN_RING_SYNC_RTS) ||
	    (cons_max != UINT32_MAX && r->cons.sync != TARN_RING_SYNC_RTS))
		return -ENOTSUP;
	if (prod_max != UINT32_MAX)
		r->prod.htd_max = prod_max;
	if (cons_max != UINT32_MAX)
		r->cons.htd_max = cons_max;
	return 0;
}

/* One side's state, read with relaxed loads (a diagnostic snapshot). */
struct ring_side {
	union tarn_ring_poscnt head, tail;
};

static struct ring_side ring_side_read(const struct tarn_ring_headtail *ht)
{
	struct ring_side s;

	s.tail.raw = __atomic_load_n(&ht->tail.raw, __ATOMIC_RELAXED);
	s.head.raw = __atomic_load_n(&ht->head.raw, __ATOMIC_RELAXED);
	return s;
}

#define RING_BAD(r, ...)                                                                           \
	do {                                                                                       \
		TARN__ERR(RING_LOG, "check %s: " __VA_ARGS__);                                     \
		return -EIO;                                                                       \
	} while (0)

int tarn_ring_check(const struct tarn_ring *r)
{
	if (r == NULL)
		return -EINVAL;
	const char *nm = r->name;
	if (r->size < 2 || r->size > TARN_RING_SIZE_MAX || (r->size & (r->size - 1)) != 0)
		RING_BAD(r, "size %u is not a power of two in 2..%u", nm, r->size,
		         TARN_RING_SIZE_MAX);
	if (r->mask != r->size - 1)
		RING_BAD(r, "mask 0x%x does not match size %u", nm, r->mask, r->size);
	if (r->capacity == 0 || r->capacity >= r->size)
		RING_BAD(r, "capacity %u not in 1..size-1 (%u)", nm, r->capacity, r->size - 1);
	if (!(r->flags & TARN_RING_F_EXACT_SZ) && r->capacity != r->size - 1)
		RING_BAD(r, "capacity %u is not size-1 without EXACT_SZ", nm, r->capacity);
	if (r->esize == 0 || r->esize % 4 != 0)
		RING_BAD(r, "element size %u is not a positive multiple of 4", nm, r->esize);
	if (r->flags & ~TARN_RING_F_MASK)
		RING_BAD(r, "unknown flags 0x%x", nm, r->flags);
	if (r->prod.sync != ring_sync_of(r->flags, TARN_RING_F_SP_ENQ, TARN_RING_F_MP_RTS_ENQ))
		RING_BAD(r, "producer mode %u does not match flags 0x%x", nm, r->prod.sync,
		         r->flags);
	if (r->cons.sync != ring_sync_of(r->flags, TARN_RING_F_SC_DEQ, TARN_RING_F_MC_RTS_DEQ))
		RING_BAD(r, "consumer mode %u does not match flags 0x%x", nm, r->cons.sync,
		         r->flags);
	if (r->prod.htd_max > r->capacity || r->cons.htd_max > r->capacity)
		RING_BAD(r, "htd_max %u/%u above capacity %u", nm, r->prod.htd_max, r->cons.htd_max,
		         r->capacity);

	const struct ring_side c = ring_side_read(&r->cons);
	const struct ring_side p = ring_side_read(&r->prod);
	const uint32_t cap = r->capacity;

	if (p.head.v.pos - p.tail.v.pos > cap)
		RING_BAD(r, "producer tail %u is not within capacity %u behind head %u", nm,
		         p.tail.v.pos, cap, p.head.v.pos);
	if (c.head.v.pos - c.tail.v.pos > cap)
		RING_BAD(r, "consumer tail %u is not within capacity %u behind head %u", nm,
		         c.tail.v.pos, cap, c.head.v.pos);
	if (p.tail.v.pos - c.tail.v.pos > cap)
		RING_BAD(r, "count %u (producer tail %u - consumer tail %u) above capacity %u", nm,
		         p.tail.v.pos - c.tail.v.pos, p.tail.v.pos, c.tail.v.pos, cap);
	if (p.head.v.pos - c.tail.v.pos > cap)
		RING_BAD(r, "producer head %u more than capacity %u ahead of consumer tail %u", nm,
		         p.head.v.pos, cap, c.tail.v.pos);
	if (p.tail.v.pos - c.head.v.pos > cap)
		RING_BAD(r, "consumer head %u is past producer tail %u", nm, c.head.v.pos,
		         p.tail.v.pos);
	/* MT and ST: each side's cached copy of the other side's tail (in its
	 * head word) is a value that tail had: never ahead of it, and at most
	 * the capacity behind it (see tarn__ring_room()) */
	if (r->prod.sync != TARN_RING_SYNC_RTS && c.tail.v.pos - p.head.v.opp > cap)
		RING_BAD(r,
		         "producer's copy %u of the consumer tail is not within capacity %u behind "
		         "it (%u)",
		         nm, p.head.v.opp, cap, c.tail.v.pos);
	if (r->cons.sync != TARN_RING_SYNC_RTS && p.tail.v.pos - c.head.v.opp > cap)
		RING_BAD(r,
		         "consumer's copy %u of the producer tail is not within capacity %u behind "
		         "it (%u)",
		         nm, c.head.v.opp, cap, p.tail.v.pos);
	/* quiescent: nothing reserved and unpublished */
	if (p.head.v.pos != p.tail.v.pos)
		RING_BAD(r, "producer head %u != tail %u (operation in flight or lost)", nm,
		         p.head.v.pos, p.tail.v.pos);
	if (c.head.v.pos != c.tail.v.pos)
		RING_BAD(r, "consumer head %u != tail %u (operation in flight or lost)", nm,
		         c.head.v.pos, c.tail.v.pos);
	if (r->prod.sync == TARN_RING_SYNC_RTS && p.head.v.cnt != p.tail.v.cnt)
		RING_BAD(r, "producer RTS counts differ: head %u, tail %u", nm, p.head.v.cnt,
		         p.tail.v.cnt);
	if (r->cons.sync == TARN_RING_SYNC_RTS && c.head.v.cnt != c.tail.v.cnt)
		RING_BAD(r, "consumer RTS counts differ: head %u, tail %u", nm, c.head.v.cnt,
		         c.tail.v.cnt);
	return 0;
}

static const char *ring_sync_name(uint32_t sync)
{
	switch (sync) {
	case TARN_RING_SYNC_MT:
		return "MT";
	case TARN_RING_SYNC_ST:
		return "ST";
	case TARN_RING_SYNC_RTS:
		return "RTS";
	default:
		return "?";
	}
}

static void ring_dump_side(FILE *f, const char *what, const struct tarn_ring_headtail *ht)
{
	const struct ring_side s = ring_side_read(ht);

	fprintf(f, "  %s: %s, head %" PRIu32 ", tail %" PRIu32, what, ring_sync_name(ht->sync),
	        s.head.v.pos, s.tail.v.pos);
	if (ht->sync == TARN_RING_SYNC_RTS)
		fprintf(f, ", started %" PRIu32 ", finished %" PRIu32 ", htd_max %" PRIu32,
		        s.head.v.cnt, s.tail.v.cnt, ht->htd_max);
	else
		fprintf(f, ", copy of the other tail %" PRIu32, s.head.v.opp);
	fputc('\n', f);
}

void tarn_ring_dump(FILE *f, const struct tarn_ring *r)
{
	if (f == NULL)
		f = stdout;
	if (r == NULL) {
		fprintf(f, "ring <NULL>\n");
		return;
	}
	fprintf(f, "ring %s@%p: flags 0x%x, socket %d\n", r->name, (const void *)r, r->flags,
	        r->socket);
	fprintf(f, "  size %u, capacity %u, element %u bytes\n", r->size, r->capacity, r->esize);
	ring_dump_side(f, "producer", &r->prod);
	ring_dump_side(f, "consumer", &r->cons);
	fprintf(f, "  used %u, free %u\n", tarn_ring_count(r), tarn_ring_free_count(r));
}

int tarn_ring_walk(void (*fn)(struct tarn_ring *r, void *arg), void *arg)
{
	int n = 0;

	if (fn == NULL)
		return -EINVAL;
	pthread_mutex_lock(&ring_list_lock);
	for (struct tarn_ring *r = ring_list; r != NULL; r = r->next, n++)
		fn(r, arg);
	pthread_mutex_unlock(&ring_list_lock);
	return n;
}

void tarn__ring_cleanup(void)
{
	unsigned n = 0;

	pthread_mutex_lock(&ring_list_lock);
	struct tarn_ring *r = ring_list;
	ring_list = NULL;
	pthread_mutex_unlock(&ring_list_lock);
	while (r != NULL) {
		struct tarn_ring *next = r->next;

		TARN__DEBUG(RING_LOG, "%s: freed at cleanup", r->name);
		tarn_free(r);
		r = next;
		n++;
	}
	if (n != 0)
		TARN__INFO(RING_LOG, "cleanup freed %u ring(s)", n);
}

#ifdef TARN__RING_HOOKS
/* ---- test hooks (only in the hooked test build, see tarn_ring.h) ---- */

static tarn__ring_hook_fn ring_hook;

void tarn__ring_hook_set(tarn__ring_hook_fn fn)
{
	__atomic_store_n(&ring_hook, fn, __ATOMIC_SEQ_CST);
}

void tarn__ring_hook(const struct tarn_ring_headtail *ht, int is_prod, int point)
{
	tarn__ring_hook_fn fn = __atomic_load_n(&ring_hook, __ATOMIC_SEQ_CST);
	if (fn == NULL)
		return;
	const size_t off =
	    is_prod ? offsetof(struct tarn_ring, prod) : offsetof(struct tarn_ring, cons);
	fn((struct tarn_ring *)(uintptr_t)((const char *)ht - off), is_prod, point);
}

void tarn__ring_hook_advance(struct tarn_ring *r, uint32_t k)
{
	const uint32_t ct = r->cons.tail.v.pos, pt = r->prod.tail.v.pos;
	const uint32_t used = pt - ct;
	uint8_t *tmp = malloc((size_t)used * r->esize + 1);
	uint8_t *slots = tarn__ring_slots(r);

	if (tmp == NULL)
		abort();
	for (uint32_t i = 0; i < used; i++)
		memcpy(tmp + (size_t)i * r->esize, slots + (size_t)((ct + i) & r->mask) * r->esize,
		       r->esize);
	for (uint32_t i = 0; i < used; i++)
		memcpy(slots + (size_t)((ct + k + i) & r->mask) * r->esize,
		       tmp + (size_t)i * r->esize, r->esize);
	free(tmp);
	struct tarn_ring_headtail *side[2] = { &r->prod, &r->cons };
	for (int i = 0; i < 2; i++) {
		union tarn_ring_poscnt h = side[i]->head, t = side[i]->tail;

		h.v.pos += k;
		t.v.pos += k;
		if (side[i]->sync != TARN_RING_SYNC_RTS)
			h.v.opp += k; /* the cached copy, not an operation count */
		__atomic_store_n(&side[i]->head.raw, h.raw, __ATOMIC_SEQ_CST);
		__atomic_store_n(&side[i]->tail.raw, t.raw, __ATOMIC_SEQ_CST);
	}
}
#endif
