/* Writing filesystem trees as tar (pax) streams: used by diff (with whiteout entries) and by
 * export. Internal to graphdriver. */
#pragma once

#include <stdbool.h>
#include <sys/stat.h>

#include "common/berr.h"
#include "graphdriver/driver.h"

struct gd_tarw;

int gd_tarw_open(int fd, struct gd_tarw **out, struct berr *err);
/* Ids written from now on are unmapped through m (borrowed; NULL: as they are). */
void gd_tarw_set_unmap(struct gd_tarw *w, const struct gd_id_unmap *m);
/* Adds the file `name` below dirfd as archive path `path` (relative, no leading slash); st is
 * its lstat. Hard links between added files are kept as tar hard links. */
int gd_tarw_add(struct gd_tarw *w, int dirfd, const char *name, const char *path,
                const struct stat *st, struct berr *err);
/* An empty `.wh.<base>` entry deleting `path`. */
int gd_tarw_whiteout(struct gd_tarw *w, const char *path, struct berr *err);
/* A `.wh..wh..opq` entry inside directory `dir`. */
int gd_tarw_opaque(struct gd_tarw *w, const char *dir, struct berr *err);
/* Adds everything below dirfd (recursively, sorted), with prefix `prefix` ("" for root). */
int gd_tarw_add_tree(struct gd_tarw *w, int dirfd, const char *prefix, struct berr *err);
/* Finishes the archive (writes the end blocks) and frees w. */
int gd_tarw_close(struct gd_tarw *w, struct berr *err);
void gd_tarw_abort(struct gd_tarw *w);

/* Sorted entry names of directory fd (no "." and ".."); a NULL-terminated strv. */
int gd_list_dir(int dirfd, char ***names);
