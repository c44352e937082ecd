/* Internals shared by the graphdriver files: the driver object and per-driver entry points. */
#pragma once

#include "graphdriver/driver.h"

enum gd_kind { GD_OVERLAY2, GD_VFS };

struct gd_driver {
  enum gd_kind kind;
  char *home;
  int homefd;
};

/* "<home>/<id>/<sub>" (sub may be NULL); malloc'd. */
char *gd_path(struct gd_driver *d, const char *id, const char *sub);
/* Reads <home>/<id>/parent; *parent is NULL for a base layer. */
int gd_read_parent(struct gd_driver *d, const char *id, char **parent, struct berr *err);
int gd_write_small(struct gd_driver *d, const char *id, const char *file, const char *value,
                   struct berr *err);
int gd_read_small(struct gd_driver *d, const char *id, const char *file, char **value,
                  struct berr *err);
int gd_du(int dirfd, int64_t *size);

int ovl_create(struct gd_driver *d, const char *id, const char *parent, struct berr *err);
int ovl_get(struct gd_driver *d, const char *id, const char *lower_home, char **path,
            struct berr *err);
int ovl_put(struct gd_driver *d, const char *id, struct berr *err);
int ovl_remove(struct gd_driver *d, const char *id, struct berr *err);
int ovl_changes(struct gd_driver *d, const char *id, struct gd_change **out, size_t *n,
                struct berr *err);
int ovl_diff(struct gd_driver *d, const char *id, int fd, const struct gd_id_unmap *m,
             struct berr *err);
int ovl_supported(const char *home);
bool ovl_mounted(struct gd_driver *d, const char *id);

int vfs_create(struct gd_driver *d, const char *id, const char *parent, struct berr *err);
int vfs_changes(struct gd_driver *d, const char *id, struct gd_change **out, size_t *n,
                struct berr *err);
int vfs_diff(struct gd_driver *d, const char *id, int fd, const struct gd_id_unmap *m,
             struct berr *err);

/* A growable change list. */
struct gd_changelist {
  struct gd_change *v;
  size_t n, cap;
};
int gd_changelist_add(struct gd_changelist *l, const char *path, enum gd_change_kind kind);
void gd_changelist_sort(struct gd_changelist *l);
