/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * macros_c.c - the shared macros of tarn_env.h compiled as C (their C form
 * differs: TARN_ARRAY_SIZE refuses a pointer). Called from test_env.cc.
 */
#include <stdint.h>

#include <tarn/tarn_env.h>

#include "macros_c.h"

static const char *const names[] = { "a", "b", "c", "d", "e" };
_Static_assert(TARN_ARRAY_SIZE(names) == 5, "TARN_ARRAY_SIZE is a constant expression");
_Static_assert(TARN_ALIGN_CEIL(13u, 8u) == 16u, "TARN_ALIGN_CEIL is a constant expression");

size_t macros_c_array_size(void)
{
	uint64_t big[7][3];
	(void)big;
	if (names[0][0] != 'a') /* names is used beyond sizeof (clang warns otherwise) */
		return 0;
	return TARN_ARRAY_SIZE(names) * 100 + TARN_ARRAY_SIZE(big) * 10 + TARN_ARRAY_SIZE(big[0]);
}

uint64_t macros_c_align_ceil(uint64_t v, uint64_t a)
{
	return TARN_ALIGN_CEIL(v, a);
}

uint64_t macros_c_align_floor(uint64_t v, uint64_t a)
{
	return TARN_ALIGN_FLOOR(v, a);
}
