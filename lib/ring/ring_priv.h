/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ring_priv.h - internal: what the ring component offers the rest of
 * libtarn beyond its public header. Never installed.
 */
#ifndef TARN_RING_PRIV_H
#define TARN_RING_PRIV_H

#include "tarn_ring.h"

/* Free every ring left (tarn_cleanup(), lib/tarn/init.c; no users). */
void tarn__ring_cleanup(void);

#endif /* TARN_RING_PRIV_H */
