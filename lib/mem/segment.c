/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * segment.c - the segment table and the tier chain.
 *
 * The table is a fixed array of slots so that lock-free readers
 * (tarn_mem_virt2iova(), tarn_mem_socket()) never see a slot freed under
 * them: a slot becomes visible when its state is stored LIVE with release
 * order after every field was written, and it goes back to FREE only in
 * tarn_cleanup() or while unwinding a failed tarn_init(), when by contract no
 * other thread uses tarn.
 *
 * The chain tries the usable backends best first. Before a hugetlb tier is
 * tried, the free hugepages of the node are counted (sysfs): a request that
 * cannot be met skips the hugetlb tiers at once instead of risking a fault.
 * Under TARN_HUGE_REQUIRE that is the end (-ENOMEM, one log line with the
 * command that reserves the pages); under TARN_HUGE_PREFER the next tier is
 * used and the first such fallback is logged once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mem_hook_priv.h"
#include "mem_priv.h"

struct tarn__mem_seg tarn__mem_segs[TARN__MEM_MAX_SEGS];
/* Slots [0, seg_hwm) may be LIVE. Written under seg_lock with release,
 * read with acquire by lookups (pairs with the store in slot_claim()). */
static unsigned seg_hwm;
static pthread_mutex_t seg_lock = PTHREAD_MUTEX_INITIALIZER;

const struct tarn__mem_seg *tarn__mem_seg_find(const void *addr)
{
	uintptr_t a = (uintptr_t)addr;
	unsigned n = __atomic_load_n(&seg_hwm, __ATOMIC_ACQUIRE);
	for (unsigned i = 0; i < n; i++) {
		const struct tarn__mem_seg *s = &tarn__mem_segs[i];
		/* Acquire: pairs with the release store of LIVE in
		 * tarn__mem_seg_create(); addr/len below are then complete. */
		if (__atomic_load_n(&s->state, __ATOMIC_ACQUIRE) != TARN__SEG_LIVE)
			continue;
		uintptr_t b = (uintptr_t)s->addr;
		if (a >= b && a - b < s->len)
			return s;
	}
	return NULL;
}

/* ------------------------------------------------------------------------ */
/* Segment listeners (mem_hook_priv.h). listener_lock orders registration
 * against publication: a segment is published (stored LIVE) and told to
 * every listener under it, so a listener registering at the same time
 * either finds the segment live in its replay or hears of it afterwards. */

#define MAX_LISTENERS 4
static struct listener {
	tarn__mem_seg_fn fn;
	void *arg;
} listeners[MAX_LISTENERS];
static unsigned n_listeners;
static pthread_mutex_t listener_lock = PTHREAD_MUTEX_INITIALIZER;

static void seg_view(const struct tarn__mem_seg *seg, struct tarn__mem_seg_view *v)
{
	v->addr = seg->addr;
	v->len = seg->len;
	v->page_size = seg->page_size;
	v->socket = seg->socket;
	v->pa = seg->pa;
}

int tarn__mem_seg_lookup(const void *addr, struct tarn__mem_seg_view *v)
{
	const struct tarn__mem_seg *s = tarn__mem_seg_find(addr);
	if (s == NULL)
		return -ENOENT;
	seg_view(s, v);
	return 0;
}

/* Tell the listeners of a new segment; on a refusal, undo the ones that
 * accepted it. Pre: listener_lock held. */
static int listeners_add(const struct tarn__mem_seg *seg, char *why, size_t whylen)
{
	struct tarn__mem_seg_view v;
	seg_view(seg, &v);
	for (unsigned i = 0; i < n_listeners; i++) {
		int rc = listeners[i].fn(listeners[i].arg, true, &v);
		if (rc < 0) {
			while (i-- > 0)
				listeners[i].fn(listeners[i].arg, false, &v);
			snprintf(why, whylen,
			         "socket %d: a new segment could not be mapped for DMA (%s)",
			         seg->socket, strerror(-rc));
			return rc;
		}
	}
	return 0;
}

int tarn__mem_listener_add(tarn__mem_seg_fn fn, void *arg)
{
	if (fn == NULL || !tarn__mem_ready())
		return -EINVAL;
	pthread_mutex_lock(&listener_lock);
	if (n_listeners == MAX_LISTENERS) {
		pthread_mutex_unlock(&listener_lock);
		return -ENOSPC;
	}
	int rc = 0;
	unsigned n = __atomic_load_n(&seg_hwm, __ATOMIC_ACQUIRE), i;
	for (i = 0; i < n; i++) {
		const struct tarn__mem_seg *s = &tarn__mem_segs[i];
		/* Acquire: pairs with the release store of LIVE (made under
		 * listener_lock, which we hold: no segment becomes LIVE now). */
		if (__atomic_load_n(&s->state, __ATOMIC_ACQUIRE) != TARN__SEG_LIVE)
			continue;
		struct tarn__mem_seg_view v;
		seg_view(s, &v);
		rc = fn(arg, true, &v);
		if (rc < 0)
			break;
	}
	if (rc < 0) {
		while (i-- > 0) {
			const struct tarn__mem_seg *s = &tarn__mem_segs[i];
			if (__atomic_load_n(&s->state, __ATOMIC_ACQUIRE) != TARN__SEG_LIVE)
				continue;
			struct tarn__mem_seg_view v;
			seg_view(s, &v);
			fn(arg, false, &v);
		}
	} else {
		listeners[n_listeners].fn = fn;
		listeners[n_listeners].arg = arg;
		n_listeners++;
	}
	pthread_mutex_unlock(&listener_lock);
	return rc;
}

void tarn__mem_listener_del(tarn__mem_seg_fn fn, void *arg)
{
	pthread_mutex_lock(&listener_lock);
	for (unsigned i = 0; i < n_listeners; i++) {
		if (listeners[i].fn != fn || listeners[i].arg != arg)
			continue;
		unsigned n = __atomic_load_n(&seg_hwm, __ATOMIC_ACQUIRE);
		for (unsigned k = 0; k < n; k++) {
			const struct tarn__mem_seg *s = &tarn__mem_segs[k];
			if (__atomic_load_n(&s->state, __ATOMIC_ACQUIRE) != TARN__SEG_LIVE)
				continue;
			struct tarn__mem_seg_view v;
			seg_view(s, &v);
			fn(arg, false, &v);
		}
		listeners[i] = listeners[--n_listeners];
		break;
	}
	pthread_mutex_unlock(&listener_lock);
}

/* ------------------------------------------------------------------------ */

static struct tarn__mem_seg *slot_claim(void)
{
	struct tarn__mem_seg *seg = NULL;
	pthread_mutex_lock(&seg_lock);
	for (unsigned i = 0; i < TARN__MEM_MAX_SEGS; i++) {
		/* Relaxed: state changes from FREE only under seg_lock. */
		if (__atomic_load_n(&tarn__mem_segs[i].state, __ATOMIC_RELAXED) == TARN__SEG_FREE) {
			seg = &tarn__mem_segs[i];
			__atomic_store_n(&seg->state, TARN__SEG_CLAIMED, __ATOMIC_RELAXED);
			if (i + 1 > seg_hwm)
				/* Release: pairs with the acquire in tarn__mem_seg_find(). */
				__atomic_store_n(&seg_hwm, i + 1, __ATOMIC_RELEASE);
			break;
		}
	}
	pthread_mutex_unlock(&seg_lock);
	return seg;
}

static void slot_free(struct tarn__mem_seg *seg)
{
	pthread_mutex_lock(&seg_lock);
	free(seg->pa);
	seg->pa = NULL;
	seg->addr = NULL;
	seg->len = 0;
	seg->be = NULL;
	seg->fd = -1;
	seg->path[0] = '\0';
	/* Relaxed: lookups skip a slot that is not LIVE without reading the
	 * fields above, and a slot goes from LIVE to FREE only when no lookup
	 * runs (cleanup, or a slot that never was LIVE). */
	__atomic_store_n(&seg->state, TARN__SEG_FREE, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&seg_lock);
}

static void size_str(uint64_t bytes, char *buf, size_t size)
{
	if (bytes >= (1ull << 30))
		snprintf(buf, size, "%.1f GiB", (double)bytes / (1ull << 30));
	else if (bytes >= (1ull << 20))
		snprintf(buf, size, "%.1f MiB", (double)bytes / (1ull << 20));
	else
		snprintf(buf, size, "%llu KiB", (unsigned long long)(bytes >> 10));
}

/* Layout of a segment for one backend. */
struct layout {
	uint64_t page, len, va_align, va_offset;
};

static int layout_for(const struct tarn__mem_backend *be, const struct tarn__seg_req *req,
                      struct layout *l)
{
	l->page = be->huge ? tarn__mem.ctx.huge_page_size : TARN__PAGE_4K;
	/* Growth unit: a hugepage, or a PMD for the small-page tiers so that
	 * THP can back it and small requests don't make many segments. */
	uint64_t unit = be->huge ? l->page : TARN__THP_SIZE;
	l->va_align = unit;
	l->va_offset = 0;
	uint64_t lead;
	if (req->align > l->va_align) {
		/* Place the aligned address `lead` bytes into the segment. */
		lead = TARN_ALIGN_CEIL(req->lead, l->page);
		l->va_align = req->align;
		l->va_offset = lead;
	} else {
		lead = TARN_ALIGN_CEIL(req->lead, req->align ? req->align : 1);
	}
	uint64_t need = lead + req->min_len;
	if (need < req->min_len || need > (UINT64_MAX >> 2))
		return -ENOMEM;
	l->len = TARN_ALIGN_CEIL(need, unit);
	return 0;
}

/* Policy-independent: is `tier` allowed now (forced backend for tests)? */
static bool tier_allowed(int tier)
{
	int forced = tarn__mem.forced_tier;
	return forced < 0 || forced == tier;
}

/* The size of the buffer of shortage_line(). */
#define SHORTAGE_SIZE 512

/* One log line when hugepages run short on a node. */
static void shortage_line(char *buf, size_t size, int node, uint64_t page, uint64_t need,
                          int64_t free_pages)
{
	int64_t total = tarn__huge_total(node, page);
	uint64_t missing = need - (uint64_t)(free_pages < 0 ? 0 : free_pages);
	char cmd[256];
	tarn__huge_fix_cmd(node, page, (uint64_t)(total < 0 ? 0 : total) + missing, cmd,
	                   sizeof(cmd));
	snprintf(buf, size,
	         "%llu hugepages of %llu kB needed on node %d, %lld free; reserve them with: %s",
	         (unsigned long long)need, (unsigned long long)(page >> 10), node,
	         (long long)(free_pages < 0 ? 0 : free_pages), cmd);
}

static int try_backend(const struct tarn__mem_backend *be, const struct tarn__seg_req *req,
                       const struct layout *l, struct tarn__mem_seg *seg)
{
	seg->len = l->len;
	seg->page_size = l->page;
	seg->socket = req->socket;
	seg->fd = -1;
	seg->initial = req->initial;
	seg->be = be;
	seg->addr = NULL;
	seg->pa = NULL;
	seg->path[0] = '\0';
	int rc = be->reserve(&tarn__mem.ctx, seg, l->va_align, l->va_offset);
	if (rc < 0)
		return rc;
	rc = be->populate(&tarn__mem.ctx, seg);
	if (rc < 0) {
		be->release(seg);
		return rc;
	}
	return 0;
}

/*
 * Can node `req->socket` give `l` in `be`'s pages? Hugepages: as many free
 * as needed, else the shortage is written to `shortage`. Normal pages: no
 * more than the node has available (populating more would wake the OOM
 * killer instead of returning an error), else req->why says so.
 */
static bool node_has_room(const struct tarn__mem_backend *be, struct tarn__seg_req *req,
                          const struct layout *l, char *shortage, size_t shortage_size)
{
	int node = req->socket;
	if (be->huge) {
		int64_t fr = tarn__huge_free(node, l->page);
		uint64_t need = l->len / l->page;
		if (fr >= 0 && (uint64_t)fr >= need)
			return true;
		shortage_line(shortage, shortage_size, node, l->page, need, fr);
		return false;
	}
	uint64_t avail = tarn__node_mem_avail(node);
	if (avail == 0 || l->len <= avail)
		return true;
	char a[32], b[32];
	size_str(l->len, a, sizeof(a));
	size_str(avail, b, sizeof(b));
	snprintf(req->why, sizeof(req->why),
	         "socket %d: %s of %s pages needed, only %s available on node %d", req->socket, a,
	         be->name, b, node);
	return false;
}

/* A segment `be` reserved and populated: its IOVAs, the listeners, then
 * live for the lock-free readers; logged. 0, or -ENOMEM (listeners full:
 * the segment is released and its slot freed). */
static int seg_publish(struct tarn__mem_seg *seg, const struct tarn__mem_backend *be,
                       struct tarn__seg_req *req, const char *shortage, uint64_t t0)
{
	tarn__iova_seg_setup(seg);
	req->ns = tarn__now_ns() - t0;
	pthread_mutex_lock(&listener_lock);
	int rc = listeners_add(seg, req->why, sizeof(req->why));
	if (rc < 0) {
		pthread_mutex_unlock(&listener_lock);
		be->release(seg);
		slot_free(seg);
		return -ENOMEM;
	}
	/* Release: publishes every field above to lock-free readers
	 * (pairs with the acquire in tarn__mem_seg_find()). */
	__atomic_store_n(&seg->state, TARN__SEG_LIVE, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&listener_lock);
	if (shortage[0] != '\0' && !req->quiet &&
	    __atomic_exchange_n(&tarn__mem.fallback_logged, 1, __ATOMIC_RELAXED) == 0)
		TARN__WARN(MEM_LOG, "socket %d: %s; using %s pages instead", req->socket, shortage,
		           be->name);
	else if (shortage[0] != '\0')
		snprintf(req->why, sizeof(req->why), "%s", shortage);
	char sz[32];
	size_str(seg->len, sz, sizeof(sz));
	if (!req->quiet)
		tarn_log(req->initial ? TARN_LOG_INFO : TARN_LOG_DEBUG, MEM_LOG,
		         "socket %d: %s segment of %s (%llu kB pages)%s%s in %.3f ms", req->socket,
		         be->name, sz, (unsigned long long)(seg->page_size >> 10),
		         seg->path[0] ? " at " : "", seg->path, req->ns / 1e6);
	return 0;
}

/* Every tier failed: req->why says why, with the hugepage shortage too. */
static void why_none(struct tarn__seg_req *req, const char *shortage)
{
	if (shortage[0] != '\0' && req->why[0] != '\0') {
		/* Both kinds of memory are short: say both. */
		char both[sizeof(req->why) + SHORTAGE_SIZE + 16];
		snprintf(both, sizeof(both), "%s; hugepages: %s", req->why, shortage);
		memcpy(req->why, both, sizeof(req->why) - 1);
		req->why[sizeof(req->why) - 1] = '\0';
	} else if (shortage[0] != '\0')
		snprintf(req->why, sizeof(req->why), "socket %d: %s", req->socket, shortage);
	else if (req->why[0] == '\0')
		snprintf(req->why, sizeof(req->why), "socket %d: no usable memory backend",
		         req->socket);
}

struct tarn__mem_seg *tarn__mem_seg_create(struct tarn__seg_req *req, int *err)
{
	uint64_t t0 = tarn__now_ns();
	struct tarn__mem_seg *seg = slot_claim();
	req->why[0] = '\0';
	req->fell_back = false;
	if (seg == NULL) {
		snprintf(req->why, sizeof(req->why), "socket %d: all %d segment slots are in use",
		         req->socket, TARN__MEM_MAX_SEGS);
		*err = -ENOMEM;
		goto fail_log;
	}
	int node = req->socket;
	bool huge_short = req->no_huge; /* hugepages known to be missing */
	char shortage[SHORTAGE_SIZE] = "";
	int last = -ENOMEM;
	bool first = !req->no_huge;
	for (const int *t = tarn__mem.tiers; *t >= 0; t++) {
		const struct tarn__mem_backend *be = tarn__mem_backends[*t];
		if (!tier_allowed(*t))
			continue;
		if (be->huge && huge_short)
			continue;
		struct layout l;
		int rc = layout_for(be, req, &l);
		if (rc < 0) {
			last = rc;
			snprintf(req->why, sizeof(req->why), "socket %d: %zu bytes is too large",
			         req->socket, req->min_len);
			break;
		}
		if (!node_has_room(be, req, &l, shortage, sizeof(shortage))) {
			huge_short = huge_short || be->huge;
			last = -ENOMEM;
			first = false;
			continue;
		}
		rc = try_backend(be, req, &l, seg);
		if (rc == 0) {
			req->fell_back = !first;
			if (seg_publish(seg, be, req, shortage, t0) == 0)
				return seg;
			*err = -ENOMEM;
			goto fail_log;
		}
		first = false;
		last = rc;
		if (be->huge && (rc == -ENOMEM || rc == -ENOSPC)) {
			/* All hugetlb tiers draw from the same pool: if the node is
			 * short now (someone took the pages), skip them all. If
			 * not, the limit was this backend's (a hugetlbfs mount's
			 * size=): try the next one. */
			int64_t fr = tarn__huge_free(node, l.page);
			if (fr < 0 || (uint64_t)fr < l.len / l.page) {
				huge_short = true;
				shortage_line(shortage, sizeof(shortage), node, l.page,
				              l.len / l.page, fr);
				continue;
			}
		}
		snprintf(req->why, sizeof(req->why), "socket %d: %s backend: %s", req->socket,
		         be->name, strerror(-rc));
		TARN__DEBUG(MEM_LOG, "%s", req->why);
	}
	slot_free(seg);
	*err = last < 0 ? last : -ENOMEM;
	why_none(req, shortage);
fail_log:
	req->ns = tarn__now_ns() - t0;
	if (!req->quiet)
		TARN__ERR(MEM_LOG, "%s", req->why);
	return NULL;
}

void tarn__mem_seg_destroy(struct tarn__mem_seg *seg)
{
	if (__atomic_load_n(&seg->state, __ATOMIC_RELAXED) == TARN__SEG_LIVE) {
		pthread_mutex_lock(&listener_lock);
		struct tarn__mem_seg_view v;
		seg_view(seg, &v);
		for (unsigned i = 0; i < n_listeners; i++)
			listeners[i].fn(listeners[i].arg, false, &v);
		pthread_mutex_unlock(&listener_lock);
	}
	if (seg->be != NULL) {
		int rc = seg->be->release(seg);
		if (rc < 0)
			TARN__WARN(MEM_LOG, "releasing a %s segment: %s", seg->be->name,
			           strerror(-rc));
	}
	slot_free(seg);
}

void tarn__mem_seg_unlink_files(void)
{
	pthread_mutex_lock(&seg_lock);
	for (unsigned i = 0; i < TARN__MEM_MAX_SEGS; i++) {
		struct tarn__mem_seg *s = &tarn__mem_segs[i];
		if (__atomic_load_n(&s->state, __ATOMIC_ACQUIRE) != TARN__SEG_LIVE ||
		    s->path[0] == '\0')
			continue;
		/* The mapping stays valid: only the name goes. */
		unlink(s->path);
		s->path[0] = '\0';
	}
	pthread_mutex_unlock(&seg_lock);
}

void tarn__mem_seg_forget_files(void)
{
	for (unsigned i = 0; i < TARN__MEM_MAX_SEGS; i++)
		tarn__mem_segs[i].path[0] = '\0';
}

void tarn__mem_seg_destroy_all(void)
{
	for (unsigned i = 0; i < TARN__MEM_MAX_SEGS; i++)
		if (__atomic_load_n(&tarn__mem_segs[i].state, __ATOMIC_RELAXED) == TARN__SEG_LIVE)
			tarn__mem_seg_destroy(&tarn__mem_segs[i]);
	__atomic_store_n(&seg_hwm, 0, __ATOMIC_RELEASE);
	/* A listener still registered now (its owner was not closed before
	 * cleanup) has heard every segment go: forget it. */
	pthread_mutex_lock(&listener_lock);
	n_listeners = 0;
	pthread_mutex_unlock(&listener_lock);
}
