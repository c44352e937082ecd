/* New images from a filesystem: `docker import` (a rootfs tarball as a one-layer image) and
 * `docker commit` (a container's writable layer on top of its image), both with Dockerfile
 * style --change instructions applied to the config. */
#pragma once

#include <jansson.h>
#include <stddef.h>

#include "common/berr.h"
#include "graph/digest.h"
#include "graph/graph.h"
#include "graphdriver/driver.h"

struct graph_import_opts {
  const char *ref;            /* tag for the new image, or NULL */
  const char *const *changes; /* "CMD [\"sh\"]", "ENV A=1", "EXPOSE 80/tcp", … */
  size_t nchanges;
  const char *message; /* the image's comment */
  const char *author;  /* commit only */
  const char *source;  /* import: shown in history ("Imported from -") */
  /* commit of a --userns-remap container: its host ids written as its own (may be NULL) */
  const struct gd_id_unmap *unmap;
};

/* Applies --change instructions (CMD, ENTRYPOINT, ENV, WORKDIR, USER, EXPOSE, LABEL, VOLUME,
 * STOPSIGNAL) to a container config object ("config" of an image config). */
int graph_apply_changes(json_t *config, const char *const *changes, size_t n, struct berr *err);

/* Imports the tar (plain, gzip or zstd) read from fd as a one-layer image. */
int graph_import(struct graph *g, int fd, const struct graph_import_opts *opts,
                 char id[GRAPH_DIGEST_LEN + 1], struct berr *err);

/* Commits writable layer container_id as a new image whose parent is the layer's image. */
int graph_commit(struct graph *g, const char *container_id, const struct graph_import_opts *opts,
                 char id[GRAPH_DIGEST_LEN + 1], struct berr *err);
