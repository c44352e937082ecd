/* Layer filesystems: one directory per layer, a rootfs view for a chain of layers, and the
 * diff of a writable layer. Drivers: "overlay2" (default) and "vfs" (full copies). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "common/berr.h"
#include "graphdriver/extract.h"

struct gd_driver;

/* name NULL or "" picks overlay2 when the kernel can mount it on `home`, else vfs.
 * home is the driver's directory (<data-root>/layers). */
int gd_driver_open(const char *name, const char *home, struct gd_driver **out, struct berr *err);
void gd_driver_close(struct gd_driver *d);
const char *gd_driver_name(const struct gd_driver *d);
/* overlay2 layers are independent directories: they can be unpacked in parallel.
 * vfs layers are copies of their parent: they must be unpacked in order. */
bool gd_driver_parallel_apply(const struct gd_driver *d);

/* ids are [A-Za-z0-9_.-], at most 128 characters (berth uses chain-ID hex and container IDs). */
bool gd_id_valid(const char *id);

/* Creates layer id on top of parent (NULL: a base layer). */
int gd_create(struct gd_driver *d, const char *id, const char *parent, struct berr *err);
/* Unpacks a layer tar into a freshly created layer. */
int gd_apply_diff(struct gd_driver *d, const char *id, struct gd_tar_source *src, int64_t *size,
                  struct berr *err);
bool gd_exists(struct gd_driver *d, const char *id);
/* The layer's rootfs (overlay2: mounts the stack; a second get of a mounted layer reuses
 * it). *path is malloc'd. */
int gd_get(struct gd_driver *d, const char *id, char **path, struct berr *err);
/* gd_get for a container in a user namespace (overlay2 only): the lower layers are read
 * through lower_home, an idmapped view of the driver's home, so image files show as owned
 * by the mapped root; the upper layer is the real one (what the container writes is stored
 * with its host ids, as Docker's remapped layers). */
int gd_get_mapped(struct gd_driver *d, const char *id, const char *lower_home, char **path,
                  struct berr *err);
/* The driver's directory. */
const char *gd_home(const struct gd_driver *d);
/* Undoes gd_get (unmounts). */
int gd_put(struct gd_driver *d, const char *id, struct berr *err);
/* Unmounts and deletes the layer. A missing layer is not an error. */
int gd_remove(struct gd_driver *d, const char *id, struct berr *err);
/* Bytes used by the layer's own files. */
int gd_layer_size(struct gd_driver *d, const char *id, int64_t *size, struct berr *err);

enum gd_change_kind { GD_CHANGE_MODIFY = 0, GD_CHANGE_ADD = 1, GD_CHANGE_DELETE = 2 };
struct gd_change {
  char *path; /* absolute, "/etc/passwd" */
  enum gd_change_kind kind;
};
void gd_changes_free(struct gd_change *c, size_t n);

/* --userns-remap: host ids a remapped container's files carry, written in a layer tar as the
 * container's ids (dockerd's archiver with the daemon's IDMapping); ids outside the ranges
 * are written as they are. */
struct gd_id_range {
  unsigned container_id, host_id, size;
};
struct gd_id_unmap {
  const struct gd_id_range *uids, *gids;
  size_t n_uids, n_gids;
};

/* What layer id changed relative to its parent, sorted by path (Docker's `diff`). */
int gd_changes(struct gd_driver *d, const char *id, struct gd_change **out, size_t *n,
               struct berr *err);
/* Writes the layer's changes as an uncompressed layer tar with OCI whiteouts to fd. */
int gd_diff(struct gd_driver *d, const char *id, int fd, struct berr *err);
/* gd_diff and gd_export with the ids unmapped (m may be NULL: as they are). */
int gd_diff_unmapped(struct gd_driver *d, const char *id, int fd, const struct gd_id_unmap *m,
                     struct berr *err);
int gd_export_unmapped(struct gd_driver *d, const char *id, int fd, const struct gd_id_unmap *m,
                       struct berr *err);
/* Writes the flattened rootfs of layer id (its whole chain) as a tar to fd. */
int gd_export(struct gd_driver *d, const char *id, int fd, struct berr *err);

/* Removes every layer for which keep(id) is false, unmounts stale mounts and drops
 * dangling short links (used at start-up to clean after a crash). */
int gd_cleanup(struct gd_driver *d, bool (*keep)(void *ud, const char *id), void *ud,
               struct berr *err);
