/* A container's mount points: Binds, Mounts, Tmpfs, VolumesFrom and the image's Volumes
 * resolved at create into Docker's "Mounts" list (creating named and anonymous volumes),
 * and turned at start into OCI mount entries (with the copy-up of image content into an
 * empty volume). */
#pragma once

#include <jansson.h>

#include "common/berr.h"

struct engine;
struct container;

/* config: the merged Config (its Volumes), host: HostConfig. Takes the engine lock.
 * *mounts: Docker's MountPoint list. On failure nothing is left behind (anonymous
 * volumes made here are removed, no bind source is created). */
int mounts_resolve(struct engine *e, json_t *config, json_t *host, json_t **mounts,
                   struct berr *err);
/* Undo a successful mounts_resolve whose container was not made: anonymous volumes go. */
void mounts_release(struct engine *e, json_t *mounts);
/* OCI mount entries for the container's mount points, rootfs mounted at `rootfs`
 * (called without the engine lock). */
int mounts_oci(struct engine *e, struct container *c, const char *rootfs, json_t **out,
               struct berr *err);
/* A container stopped (lock held): "unmount" events for its volumes, and volumes mounted
 * at first use that no running or starting container uses any more are unmounted. */
void mounts_after_exit(struct engine *e, struct container *c);
/* rm -v: remove the container's anonymous volumes no other container uses (lock held). */
void mounts_remove_anonymous(struct engine *e, json_t *mounts);
