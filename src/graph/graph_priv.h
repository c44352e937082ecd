/* Internals shared by the graph files. */
#pragma once

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "graph/db.h"
#include "graph/digest.h"
#include "graph/graph.h"
#include "graph/store.h"
#include "graphdriver/driver.h"

struct graph {
  char *root;
  struct graph_store *store;
  struct gd_driver *driver;
  sqlite3 *db;
  pthread_mutex_t lock;
  int lockfd;
  int threads;
  struct reaper *reaper; /* deferred removal of writable layers' files */
  /* chain IDs a pull is unpacking without the lock held (graph_unpack_*): nobody else
   * creates or removes those layers until the pull commits or aborts */
  char **claims;
  size_t nclaims;
  pthread_cond_t claims_changed; /* waited on with `lock` */
};

void graph_lock(struct graph *g);
void graph_unlock(struct graph *g);

/* One layer offered for registration: a readable blob and what is known of it. */
struct graph_layer_in {
  int fd;                 /* the blob, read from its current position */
  const char *digest;     /* expected blob digest, or NULL when unknown (docker-archive) */
  const char *media_type; /* declared media type (checked) or NULL */
  bool adopt;             /* fd is a file in tmp: link it into the store, no copy */
};

struct graph_register {
  const char *config; /* exact config bytes */
  size_t config_len;
  const char *manifest; /* exact manifest bytes to keep, or NULL */
  size_t manifest_len;
  struct graph_layer_in *layers; /* one per rootfs.diff_ids entry */
  size_t nlayers;
  const char **tags; /* normalized keys to point at the image */
  size_t ntags;
  const char *parent; /* parent image ID or NULL */
};

/* Unpacks the layers that are not in the store yet (in parallel where the driver allows),
 * verifies blob digests and diff IDs, stores blobs, config and manifest, and registers it all
 * in one transaction. On failure nothing is registered and what was unpacked is removed.
 * Called with the graph lock held. */
int graph_register_image(struct graph *g, const struct graph_register *reg,
                         char id[GRAPH_DIGEST_LEN + 1], struct berr *err);

/* Parses a config and returns its rootfs.diff_ids (validated). */
int graph_config_diff_ids(json_t *config, char ***diff_ids, size_t *n, struct berr *err);

/* Points tag key at image id (moving it from any other image). In a transaction. */
int graph_set_tag_locked(struct graph *g, const char *key, const char *id, struct berr *err);

/* Resolution with the lock held. */
int graph_resolve_locked(struct graph *g, const char *ref, char id[GRAPH_DIGEST_LEN + 1],
                         struct berr *err);

/* Known layer media types: sets *docker when it is a Docker one. */
bool graph_layer_media_type_known(const char *mt);
