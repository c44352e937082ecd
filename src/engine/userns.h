/* --userns-remap: containers run in a user namespace whose root is an unprivileged host
 * user's subordinate range (/etc/subuid, /etc/subgid), as dockerd's. "default" makes and
 * uses the user dockremap. Image layers are shown to the container through an idmapped
 * mount of the layer store, so they are not copied or chowned. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/berr.h"
#include "graphdriver/driver.h"
#include "libcontainer/config.h"

struct engine;

struct userns_remap {
  char *user, *group;           /* names the ranges were found under */
  unsigned uid, gid;            /* the host ids of the container's root */
  struct lc_idmap *uids, *gids; /* container id -> host id, contiguous from 0 */
  size_t n_uids, n_gids;
  /* the same ranges for graphdriver's tar writer */
  struct gd_id_range *layer_uids, *layer_gids;
  struct gd_id_unmap layer_unmap;
};

/* spec: "default", "user", "user:group" (names or ids). "default" adds the system user
 * dockremap and its subordinate ranges when missing, as dockerd. */
int userns_remap_resolve(const char *spec, struct userns_remap *out, struct berr *err);
void userns_remap_free(struct userns_remap *r);
/* The id in the container's root's range that container id id maps to (id itself when
 * unmapped) -- for files the daemon makes for the container. */
unsigned userns_host_uid(const struct userns_remap *r, unsigned id);
unsigned userns_host_gid(const struct userns_remap *r, unsigned id);
/* The reverse: the container id of host id `id` (itself when outside the map: the layers
 * of a stopped container are seen unmapped, their root-owned files are the container's
 * root's). */
unsigned userns_container_uid(const struct userns_remap *r, unsigned id);
unsigned userns_container_gid(const struct userns_remap *r, unsigned id);

/* At daemon start: the idmapped view of the layer store; at shutdown: its removal. */
int userns_init(struct engine *e, struct berr *err);
void userns_shutdown(struct engine *e);
/* Whether a container with this HostConfig runs remapped (remap on, UsernsMode not host). */
bool userns_remapped(const struct engine *e, json_t *host);
/* Create-time checks, with dockerd's messages. */
int userns_check_create(const struct engine *e, json_t *host, struct berr *err);
/* The container's rootfs, mounted for its user namespace; its root directory is made the
 * mapped root's. */
int userns_mount_rootfs(struct engine *e, const char *layer, char **rootfs, struct berr *err);
/* hostname, hosts and resolv.conf of the container (rewritten at each start) made the
 * mapped root's, so they show as root's inside, as in a dockerd container. */
int userns_own_etc_files(struct engine *e, const char *id, struct berr *err);
/* The map as graphdriver takes it (commit and export of a remapped container); NULL when
 * the container does not run remapped. Owned by the engine. */
const struct gd_id_unmap *userns_layer_unmap(const struct engine *e, json_t *host);
/* The OCI linux.uidMappings and gidMappings (new references). */
json_t *userns_oci_maps(const struct engine *e, bool gids);
