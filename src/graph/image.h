/* Image operations with Docker's semantics: resolve a reference or short ID, list, inspect,
 * history, tag, delete (untag first, delete with the last reference, refuse while in use),
 * prune dangling images. Results are jansson objects shaped like the Docker API's. */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "common/berr.h"
#include "graph/digest.h"
#include "graph/graph.h"

/* Resolves "busybox", "busybox:1", "name@sha256:…", "sha256:<id>", a full or short hex ID.
 * Unknown: -ENOENT with "No such image: <ref>"; ambiguous prefix: -EINVAL. */
int graph_image_resolve(struct graph *g, const char *ref, char id[GRAPH_DIGEST_LEN + 1],
                        struct berr *err);

/* [{Id, ParentId, RepoTags, RepoDigests, Created (unix), Size, SharedSize, VirtualSize,
 *   Labels, Containers}] newest first. all=false hides untagged images that have children
 * (intermediate images), like `docker images`. */
int graph_image_list(struct graph *g, bool all, json_t **out, struct berr *err);

/* Docker's ImageInspect: Id, RepoTags, RepoDigests, Parent, Comment, Created, Author,
 * Config, Architecture, Os, Size, GraphDriver, RootFS{Type, Layers}. */
int graph_image_inspect(struct graph *g, const char *ref, json_t **out, struct berr *err);

/* [{Id, Created, CreatedBy, Tags, Size, Comment}] newest first (docker history). */
int graph_image_history(struct graph *g, const char *ref, json_t **out, struct berr *err);

/* The stored config JSON of an image (new reference). */
int graph_image_config(struct graph *g, const char *id, json_t **out, struct berr *err);

/* Chain IDs of the image's layers, base first (strv) and the top one (may be NULL). */
int graph_image_layers(struct graph *g, const char *id, char ***chain_ids, struct berr *err);

int graph_tag(struct graph *g, const char *source, const char *target, struct berr *err);

struct graph_delete_opts {
  bool force;
  bool prune_parents; /* delete untagged parents too (Docker's default noprune=false) */
  /* Whether the container owning writable layer `id` is running; NULL: none is. */
  bool (*container_running)(void *ud, const char *container_id);
  void *ud;
};

/* docker rmi: *out is [{"Untagged": "busybox:latest"}, {"Deleted": "sha256:…"}, …].
 * Conflicts are -EBUSY with Docker's text ("conflict: unable to delete … (must be forced) -
 * image is being used by stopped container …"). */
int graph_image_delete(struct graph *g, const char *ref, const struct graph_delete_opts *opts,
                       json_t **out, struct berr *err);

/* Deletes dangling images (no tag, no child, no container): {ImagesDeleted, SpaceReclaimed}. */
int graph_image_prune(struct graph *g, json_t **out, struct berr *err);
