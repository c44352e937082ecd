/* Image archives: `docker save` tars (docker-archive), OCI image layouts (a directory) and
 * oci-archive tars (a layout in a tar), loaded into and saved from the graph. */
#pragma once

#include <jansson.h>
#include <stddef.h>

#include "common/berr.h"
#include "graph/graph.h"

struct graph_load_opts {
  /* OCI layouts often name images by tag only ("org.opencontainers.image.ref.name":
   * "latest"); such images are tagged <default_name>:<tag> when this is set, else left
   * untagged. */
  const char *default_name;
};

/* Loads every image of a docker-archive or oci-archive tar read from fd (plain, gzip or
 * zstd). *loaded is [{"Id": "sha256:…", "RepoTags": ["busybox:latest"]}]. On bad input:
 * one error, nothing of the failing image registered, the temp area cleaned. */
int graph_load_archive(struct graph *g, int fd, const struct graph_load_opts *opts, json_t **loaded,
                       struct berr *err);
/* Loads the images of an OCI image layout directory. */
int graph_load_oci_dir(struct graph *g, const char *dir, const struct graph_load_opts *opts,
                       json_t **loaded, struct berr *err);

enum graph_save_format {
  GRAPH_SAVE_DOCKER_ARCHIVE, /* docker save: manifest.json, repositories, <id>.json, layer.tar */
  GRAPH_SAVE_OCI_ARCHIVE,    /* an OCI layout as a tar */
};

/* Writes the images named by refs (names keep their tags; IDs are saved untagged) to fd. */
int graph_save(struct graph *g, const char *const *refs, size_t nrefs,
               enum graph_save_format format, int fd, struct berr *err);
/* Writes an OCI image layout into directory dir (created; must not exist or be empty). */
int graph_save_oci_dir(struct graph *g, const char *const *refs, size_t nrefs, const char *dir,
                       struct berr *err);
