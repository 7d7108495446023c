/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ethdev_priv.h - internal to lib/ethdev: how its files share the driver
 * table and the reading of spec keys. Never installed; drivers include
 * ethdev_driver_priv.h, not this.
 *
 *   driver.c  the driver table, the help made from the key tables
 *   spec.c    spec strings: syntax, then their keys against the tables
 *   ethdev.c  ports: create, lifecycle, queues, info, stats, control
 */
#ifndef TARN_ETHDEV_PRIV_H
#define TARN_ETHDEV_PRIV_H

#include "ethdev_driver_priv.h"

/* The generic keys of a spec (tarn__eth_generic_keys land here). */
struct tarn__eth_generic {
	char name[TARN_NAME_SIZE]; /* "" when not given */
	struct tarn_ether_addr mac;
	uint32_t socket; /* TARN__ETH_SOCKET_NOT_GIVEN when not given */
};
#define TARN__ETH_SOCKET_NOT_GIVEN UINT32_MAX

/* The driver named `s->driver`, or NULL with a log line listing the
 * drivers (the caller returns -ENODEV). */
const struct tarn__eth_driver *tarn__eth_driver_of(const char *spec,
                                                   const struct tarn__eth_spec *s);

/* "name, mac, socket, peer, loop, bytes": the keys driver `drv` takes. */
void tarn__eth_valid_keys(const struct tarn__eth_driver *drv, char *buf, size_t size);

/*
 * The keys of spec `s` against driver `drv`'s table and the generic keys:
 * every key known, every required key there, the generic keys read into
 * `g` (defaults for those not given). 0, or -EINVAL with a log line.
 */
int tarn__eth_spec_generic(const struct tarn__eth_driver *drv, const char *spec,
                           const struct tarn__eth_spec *s, struct tarn__eth_generic *g);

/* The driver's keys of `s` into `priv`: the table's defaults, then the
 * values given. 0, or -EINVAL with a log line. */
int tarn__eth_spec_driver(const struct tarn__eth_driver *drv, const char *spec,
                          const struct tarn__eth_spec *s, void *priv);

#endif /* TARN_ETHDEV_PRIV_H */
