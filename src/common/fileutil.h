/* File helpers: atomic writes (temp + fsync + rename + dir fsync), whole-file reads,
 * mkdir -p and recursive removal that stays on one filesystem. */
#pragma once

#include <stddef.h>
#include <sys/types.h>

#include "berr.h"

int bf_write_atomic(const char *path, const void *buf, size_t len, mode_t mode, struct berr *err);
/* Atomic (temp + rename) but not durable: for runtime state under /run, which a reboot
 * clears anyway, where an fsync would only cost time. */
int bf_write_atomic_volatile(const char *path, const void *buf, size_t len, mode_t mode,
                             struct berr *err);
/* Reads a whole file; *out is NUL-terminated. "-" reads stdin. */
int bf_read_all(const char *path, char **out, size_t *len, struct berr *err);
int bf_read_fd_all(int fd, char **out, size_t *len, struct berr *err);
int bf_write_all(int fd, const void *buf, size_t len);
int bf_mkdir_p(const char *path, mode_t mode, struct berr *err);
/* rm -rf that does not cross mount points; a missing path is not an error. */
int bf_rm_rf(const char *path, struct berr *err);
