/* The image store as one object: content store + metadata database + layer driver under a
 * data root (<root>/berth.db, <root>/blobs/sha256/, <root>/layers/, <root>/tmp/).
 * Library only: nothing here prints or exits. Calls on one graph are serialized internally. */
#pragma once

#include "common/berr.h"

struct graph;
struct gd_driver;

struct graph_opts {
  const char *root;   /* data root, created if missing */
  const char *driver; /* "overlay2", "vfs", or NULL/"" for the default (overlay2 if possible) */
  int threads;        /* parallel layer unpacking; 0 = number of CPUs */
};

/* Opens the store and brings it back to a consistent state: removes temp leftovers, layer
 * directories and blobs that no committed database row references. */
int graph_open(const struct graph_opts *opts, struct graph **out, struct berr *err);
void graph_close(struct graph *g);
const char *graph_root(const struct graph *g);
struct gd_driver *graph_driver(struct graph *g);
