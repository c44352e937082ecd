/* User namespaces as objects: one made from uid/gid mappings and held by an fd, and an
 * idmapped mount (a view of a directory whose owners are shifted through such a map). */
#pragma once

#include <stddef.h>

#include "common/berr.h"
#include "config.h"

/* A new user namespace with these mappings (container id -> host id), held by the
 * returned O_CLOEXEC fd; no process stays in it. Returns the fd or -errno. */
int lc_userns_open(const struct lc_idmap *uids, size_t n_uids, const struct lc_idmap *gids,
                   size_t n_gids, struct berr *err);

/* Attaches at target an idmapped view of src (not recursive): on-disk id N is shown as the
 * host id that container id N maps to (on-disk root shows as the mapped root), so the
 * container's root owns what host root owns in src. */
int lc_idmap_mount(const char *src, const char *target, int userns_fd, struct berr *err);
