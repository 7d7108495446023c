/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file tarn.h
 * Umbrella header: everything a tarn program needs.
 *
 * @code
 * #include <tarn/tarn.h>
 * @endcode
 * and link with `pkg-config --cflags --libs libtarn`.
 */
#ifndef TARN_H
#define TARN_H

#include "tarn_env.h"
#include "tarn_mem.h"
#include "tarn_pci.h"
#include "tarn_ring.h"
#include "tarn_mempool.h"
#include "tarn_mbuf.h"
#include "tarn_ethdev.h"
#include "tarn_telemetry.h"

#endif /* TARN_H */
