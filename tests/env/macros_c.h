/* SPDX-License-Identifier: BSD-3-Clause */
/* macros_c.h - the C side of the macro tests (macros_c.c). */
#ifndef TARN_TEST_MACROS_C_H
#define TARN_TEST_MACROS_C_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* 5 * 100 + 7 * 10 + 3: TARN_ARRAY_SIZE of a 5-array, a 7x3 array and its row. */
size_t macros_c_array_size(void);
uint64_t macros_c_align_ceil(uint64_t v, uint64_t a);
uint64_t macros_c_align_floor(uint64_t v, uint64_t a);

#ifdef __cplusplus
}
#endif

#endif
