/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * mem_hook_priv.h - internal: segment listeners, for the DMA mapping of
 * tarn memory (lib/pci maps every segment into a vfio container).
 * Never installed.
 *
 * A listener hears of every segment while it is live: on registration, once
 * for each segment already live; then for each new segment before it is
 * published (before any of its memory can be handed out), and for each
 * segment that goes away before it is unmapped. A listener that fails the
 * add of a new segment makes that segment's creation fail (the memory is
 * released and the reservation returns ENOMEM with the listener's reason in
 * the log): memory a device cannot reach is never handed out.
 */
#ifndef TARN_MEM_HOOK_PRIV_H
#define TARN_MEM_HOOK_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What a listener is told of a segment. */
struct tarn__mem_seg_view {
	void *addr;         /* start, page aligned */
	size_t len;         /* bytes, a multiple of page_size */
	uint64_t page_size; /* bytes */
	int socket;
	/* physical address of each page (len / page_size entries) when the
	 * segment's IOVAs are physical; NULL when IOVA = VA */
	const uint64_t *pa;
};

/*
 * add: the segment became (or, on registration, is) live; return 0 or a
 * negative errno (then the segment is not published, or the registration
 * fails). !add: the segment goes away; the return value is ignored.
 * Called with the listener lock held: must not reserve tarn memory nor
 * register or remove listeners.
 */
typedef int (*tarn__mem_seg_fn)(void *arg, bool add, const struct tarn__mem_seg_view *seg);

/*
 * Register `fn(arg, ...)` and call it (add) for every live segment. If one
 * fails, it is called (remove) for those it had accepted, it is not
 * registered, and its error is returned. -ENOSPC: too many listeners;
 * -EINVAL: NULL fn or tarn not initialised. Thread-safe.
 */
int tarn__mem_listener_add(tarn__mem_seg_fn fn, void *arg);

/*
 * Call `fn(arg, remove)` for every live segment and forget it. Nothing
 * happens if it is not registered. Thread-safe.
 */
void tarn__mem_listener_del(tarn__mem_seg_fn fn, void *arg);

/*
 * The live segment holding `addr`: 0 with *v filled, or -ENOENT. Lock-free
 * (the segment table's lookup); `v->pa` stays valid while the segment is
 * live (until tarn_cleanup()).
 */
int tarn__mem_seg_lookup(const void *addr, struct tarn__mem_seg_view *v);

#ifdef __cplusplus
}
#endif

#endif /* TARN_MEM_HOOK_PRIV_H */
