/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * doctor.h - what the files of tarn-doctor share: the problem list
 * (tarn-doctor.c) and the PCI device checks (devices.c).
 */
#ifndef TARN_DOCTOR_H
#define TARN_DOCTOR_H

#include <stdbool.h>

#include <tarn/tarn_env.h>

/* Record a problem for the report: `fatal` when tarn cannot start as asked,
 * `fix` the exact command (or NULL). */
__attribute__((format(printf, 3, 4))) void problem(bool fatal, const char *fix, const char *fmt,
                                                   ...);

/* Does the process have capability `bit` in effect (CapEff of
 * /proc/self/status; false when it cannot be read)? */
bool doctor_cap(unsigned bit);
#define DOCTOR_CAP_IPC_LOCK  14
#define DOCTOR_CAP_SYS_ADMIN 21

/* Most --pci devices one run checks. */
#define DOCTOR_MAX_PCI 32

/*
 * The PCI section of the report: the IOMMU, the vfio and uio modules, the
 * IOVA mode, then each device of `addrs` (or, when n is 0, each device bound
 * to vfio-pci or uio): its driver, IOMMU group and its viability, /dev/vfio
 * permissions, another process holding it, the memlock limit vfio needs.
 * Problems go to problem() with their fixes.
 */
void doctor_check_devices(const struct tarn_config *cfg, const char *const *addrs, unsigned n);

/* In the trial (tarn initialised as asked): open and close each device
 * the check found usable, printing the outcome. */
void doctor_trial_devices(void);

#endif /* TARN_DOCTOR_H */
