/* Writable layers of containers, on top of an image's layer chain: create, mount the rootfs,
 * list changes, diff as a layer tar, export the flattened rootfs, remove. While a writable
 * layer exists its image's layers stay (they are reference-counted). */
#pragma once

#include <stddef.h>

#include "common/berr.h"
#include "graph/graph.h"
#include "graphdriver/driver.h"

/* id: the container's ID (the driver's layer name). */
int graph_rwlayer_create(struct graph *g, const char *id, const char *image_ref, struct berr *err);
/* *path (malloc'd): the mounted rootfs. */
int graph_rwlayer_mount(struct graph *g, const char *id, char **path, struct berr *err);
/* The same for a container in a user namespace (see gd_get_mapped). */
int graph_rwlayer_mount_mapped(struct graph *g, const char *id, const char *lower_home, char **path,
                               struct berr *err);
int graph_rwlayer_unmount(struct graph *g, const char *id, struct berr *err);
/* The record goes at once; the layer's files (its mount too) may go a moment later. */
int graph_rwlayer_remove(struct graph *g, const char *id, struct berr *err);
/* Waits until the files of every writable layer removed so far are gone. */
void graph_settle(struct graph *g);
/* *ids: every writable layer's id (a NULL-terminated vector to free with strv_free). */
int graph_rwlayer_list(struct graph *g, char ***ids, struct berr *err);
int graph_rwlayer_changes(struct graph *g, const char *id, struct gd_change **changes, size_t *n,
                          struct berr *err);
int graph_rwlayer_diff(struct graph *g, const char *id, int fd, struct berr *err);
int graph_rwlayer_export(struct graph *g, const char *id, int fd, struct berr *err);
/* export of a --userns-remap container: its host ids written as its own (m may be NULL). */
int graph_rwlayer_export_unmapped(struct graph *g, const char *id, int fd,
                                  const struct gd_id_unmap *m, struct berr *err);
