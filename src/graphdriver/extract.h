/* Safe layer extraction: applies a tar stream to a directory without ever writing outside
 * it (every path is resolved with openat2 RESOLVE_IN_ROOT), converting OCI whiteouts. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/berr.h"

struct archive;

/* A pull source of uncompressed tar bytes: read() sets *buf to the next chunk and returns
 * its length, 0 at the end, or a negative errno (the source keeps its own error text). */
struct gd_tar_source {
  ssize_t (*read)(void *ctx, const void **buf);
  void *ctx;
};

enum gd_whiteout_mode {
  GD_WHITEOUT_OVERLAY, /* .wh.x -> char 0/0 "x"; .wh..wh..opq -> trusted.overlay.opaque=y */
  GD_WHITEOUT_DELETE,  /* the layer is applied on a full copy of its parent: delete */
};

struct gd_extract_opts {
  enum gd_whiteout_mode whiteouts;
};

/* Applies every entry of the tar read from src into the directory rootfd.
 * *size receives the sum of regular file sizes. On error the directory is left partial:
 * the caller removes it (nothing outside it was written). */
int gd_extract(int rootfd, struct gd_tar_source *src, const struct gd_extract_opts *opts,
               int64_t *size, struct berr *err);

/* Same, from an already opened libarchive reader positioned before its first header. */
int gd_extract_archive(int rootfd, struct archive *a, const struct gd_extract_opts *opts,
                       int64_t *size, struct berr *err);

/* Cleans a tar member name into a relative path with no "." or ".." components.
 * Absolute names and any ".." are rejected. The result may be "" (the root itself). */
int gd_clean_member_path(const char *name, char **out, struct berr *err);

/* openat2(RESOLVE_IN_ROOT): opens path as if rootfd were "/" ("" is the root itself).
 * Returns an fd or a negative errno. */
int gd_open_in_root(int rootfd, const char *path, int flags);

/* Removes name (recursively when a directory) below dirfd without following symlinks.
 * A missing name is not an error. */
int gd_remove_at(int dirfd, const char *name);
