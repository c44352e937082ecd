/* Paths inside the container's rootfs, resolved so they can never escape it: every
 * lookup goes through openat2(RESOLVE_IN_ROOT) from a rootfs dirfd, and mounts go to
 * the resolved fd (/proc/self/fd/N), never to a path string a container could race. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "common/berr.h"

/* Open `path` (absolute, taken relative to the root) under rootfd. */
int lc_safe_open(int rootfd, const char *path, int flags, mode_t mode, struct berr *err);

/* Make every missing directory of `path` under rootfd, then the last component as a
 * directory or (final_is_file) an empty file. Returns an O_PATH fd to it. */
int lc_safe_mkpath(int rootfd, const char *path, bool final_is_file, mode_t mode, struct berr *err);

/* "/proc/self/fd/N" for mount(2) and friends. */
void lc_fd_path(int fd, char buf[static 32]);
