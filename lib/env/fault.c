/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fault.c - fault injection for tests (built with -Dfault_injection=true,
 * which defines TARN_FAULT_INJECTION; see env_priv.h). Every guarded system
 * call or allocation is a numbered point: with fault N armed, the Nth point
 * reached after arming fails as if its call had failed, once. Tests walk N
 * over every point of a sequence (init, pool create, port start, ...) and
 * check that each failure is reported and leaves nothing behind.
 */
#include <stdio.h>
#include <string.h>

#include "env_priv.h"

#ifdef TARN_FAULT_INJECTION

/* Relaxed atomics: tests arm and read from one thread; points may be reached
 * from lcore threads, and only the count and the one firing need to be
 * exact (a fetch-add gives each point its own number). */
static uint64_t fault_armed[2]; /* points to fail; 0: none */
static uint64_t fault_count;    /* points reached since arming */
static const char *fault_site;  /* the first point that failed */
static unsigned fault_fired_n;  /* how many failed */

int tarn__fault_check(const char *site, int err)
{
	uint64_t a0 = __atomic_load_n(&fault_armed[0], __ATOMIC_RELAXED);
	uint64_t a1 = __atomic_load_n(&fault_armed[1], __ATOMIC_RELAXED);
	uint64_t n = __atomic_add_fetch(&fault_count, 1, __ATOMIC_RELAXED);
	if (n != a0 && n != a1)
		return 0;
	if (__atomic_fetch_add(&fault_fired_n, 1, __ATOMIC_RELAXED) == 0)
		__atomic_store_n(&fault_site, site, __ATOMIC_RELAXED);
	TARN__DEBUG("fault", "injected: point %llu (%s) fails with %s", (unsigned long long)n, site,
	            strerror(err));
	errno = err;
	return 1;
}

void tarn__fault_arm2(uint64_t n, uint64_t m)
{
	__atomic_store_n(&fault_armed[0], 0, __ATOMIC_RELAXED);
	__atomic_store_n(&fault_armed[1], 0, __ATOMIC_RELAXED);
	__atomic_store_n(&fault_site, NULL, __ATOMIC_RELAXED);
	__atomic_store_n(&fault_fired_n, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&fault_count, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&fault_armed[0], n, __ATOMIC_RELAXED);
	__atomic_store_n(&fault_armed[1], m, __ATOMIC_RELAXED);
}

void tarn__fault_arm(uint64_t n)
{
	tarn__fault_arm2(n, 0);
}

uint64_t tarn__fault_points(void)
{
	return __atomic_load_n(&fault_count, __ATOMIC_RELAXED);
}

const char *tarn__fault_fired(void)
{
	return __atomic_load_n(&fault_site, __ATOMIC_RELAXED);
}

unsigned tarn__fault_fired_count(void)
{
	return __atomic_load_n(&fault_fired_n, __ATOMIC_RELAXED);
}

#endif /* TARN_FAULT_INJECTION */
