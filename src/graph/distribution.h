/* What a registry pull and push need from the image store: verified blobs in (downloads go
 * through the content store's writer), an image registered from manifest + config + layer
 * blobs, and an image's manifest and blobs out. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/berr.h"
#include "graph/digest.h"
#include "graph/graph.h"
#include "graph/store.h"

/* Writers and lookups of the graph's content store (a committed blob always matches its
 * digest; unreferenced ones are kept for a later pull until the daemon restarts). */
int graph_blob_writer_begin(struct graph *g, struct graph_blob_writer **w, struct berr *err);
bool graph_blob_present(struct graph *g, const char *digest);
int graph_blob_put(struct graph *g, const void *buf, size_t len, const char *expected,
                   struct berr *err);
int graph_blob_open(struct graph *g, const char *digest, int *fd, int64_t *size, struct berr *err);

struct graph_unpack;

/* An image registered as its layers arrive: begin with the verified config and the
 * manifest's layer digests (which must stay valid until commit or abort), unpack each
 * missing layer once its blob is in the store, then commit. Layers already unpacked are
 * not needed; a layer another pull is unpacking is waited for in begin. Until commit
 * nothing is visible, and abort (or a crash) leaves no layer behind. */
int graph_unpack_begin(struct graph *g, const char *config, size_t config_len,
                       const char *const *layer_digests, const char *const *layer_media_types,
                       size_t nlayers, struct graph_unpack **u, struct berr *err);
/* Whether layer idx is missing (to unpack; its blob to download unless in the store). */
bool graph_unpack_needed(const struct graph_unpack *u, size_t idx);
/* Whether layer idx can be unpacked now: on overlay2 any missing layer, on vfs (each layer
 * a copy of its parent) one whose parent is complete. */
bool graph_unpack_ready(const struct graph_unpack *u, size_t idx);
/* Whether layers may be unpacked by several threads at once (the driver applies each
 * layer on its own, as overlay2 does; vfs builds each on its parent, in order). */
bool graph_unpack_parallel(const struct graph_unpack *u);
/* Unpacks layer idx from its blob in the store, checking digest and diff ID. One call per
 * layer; calls for different layers may run in parallel. */
int graph_unpack_layer(struct graph_unpack *u, size_t idx, struct berr *err);

struct graph_pulled {
  const char *manifest; /* the platform's image manifest, exact bytes */
  size_t manifest_len;
  const char *name;          /* normalized repository "127.0.0.1:5000/x" */
  const char *tag;           /* tag to set, or NULL */
  const char *pulled_digest; /* digest the user pulled (index or manifest): a RepoDigest */
};

/* Registers the image and points name:tag and name@pulled_digest at it, all in one
 * transaction. *existed when it was there before with that tag already. Frees u. */
int graph_unpack_commit(struct graph_unpack *u, const struct graph_pulled *p,
                        char id[GRAPH_DIGEST_LEN + 1], bool *existed, struct berr *err);
/* Removes what u unpacked. Downloaded blobs stay in the store for the next pull when
 * keep_blobs (an interrupted download), else those no image uses are deleted (bad content).
 * Frees u; NULL is a no-op. */
void graph_unpack_abort(struct graph_unpack *u, bool keep_blobs);

/* The image's manifest for a push: its stored image manifest when every blob it names is
 * in the store, else a new OCI manifest built from config and layer blobs (then stored and
 * kept as the image's manifest). Layers the store keeps as plain tars are gzip-compressed
 * for it (deterministically: the same layer always gives the same blob). */
int graph_image_manifest(struct graph *g, const char *ref, char **manifest, size_t *len,
                         char **media_type, char id[GRAPH_DIGEST_LEN + 1], struct berr *err);

/* Repositories on registry `domain` (paths, at most max) known to hold layer idx of image
 * id: those of digest references (name@digest, from a pull or push) of images sharing that
 * layer, other than `exclude`. Candidates for a cross-repository mount. */
int graph_layer_sources(struct graph *g, const char *id, size_t idx, const char *domain,
                        const char *exclude, size_t max, char ***paths, struct berr *err);

/* Records a RepoDigest (name@digest) for image id after a push. */
int graph_add_repo_digest(struct graph *g, const char *name, const char *digest, const char *id,
                          struct berr *err);

/* The tags of repository name (normalized, "127.0.0.1:5000/x"): a strv of tags ("latest"). */
int graph_repo_tags(struct graph *g, const char *name, char ***tags, struct berr *err);
