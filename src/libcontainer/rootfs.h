/* The container's filesystem view, built in its own mount namespace: root propagation,
 * the rootfs bind, the spec's mounts, /dev, pivot_root, then masked and read-only paths. */
#pragma once

#include <stdbool.h>

#include "common/berr.h"
#include "config.h"

/* Before pivot, while host paths can still be reached. cgroup_rel is the container's
 * cgroup path (for "cgroup" mounts), may be NULL. */
int lc_rootfs_prepare(const struct lc_config *c, const char *cgroup_rel, struct berr *err);

/* Make the rootfs "/" (pivot_root, or MS_MOVE + chroot with no_pivot). */
int lc_rootfs_pivot(const struct lc_config *c, bool no_pivot, struct berr *err);

/* After pivot: masked paths, read-only paths, read-only root, root propagation. */
int lc_rootfs_finalize(const struct lc_config *c, struct berr *err);

/* /dev: default devices, symlinks, the spec's devices (devices.c). */
int lc_devices_setup(const struct lc_config *c, int rootfd, bool in_userns, struct berr *err);
