/* A layer blob as a stream of tar bytes: reads the blob (gzip, zstd or plain tar, detected
 * from its content), hashing the blob as stored and the uncompressed tar in the same pass,
 * and optionally copying the blob into the content store. Internal to graph. */
#pragma once

#include <stdint.h>

#include "common/berr.h"
#include "graph/digest.h"
#include "graph/store.h"
#include "graphdriver/extract.h"

struct graph_layer_stream;

/* fd is read from its current position; tee (may be NULL) receives every blob byte. */
int graph_layer_stream_open(int fd, struct graph_blob_writer *tee, struct graph_layer_stream **out,
                            struct berr *err);
struct gd_tar_source graph_layer_stream_source(struct graph_layer_stream *ls);

struct graph_layer_digests {
  char blob[GRAPH_DIGEST_LEN + 1];    /* sha256 of the blob as stored */
  char diff_id[GRAPH_DIGEST_LEN + 1]; /* sha256 of the uncompressed tar */
  int64_t blob_size, tar_size;
  const char *compression; /* "gzip", "zstd" or NULL (plain tar) */
};

/* Reads what the tar reader left (end padding), then fills *d. */
int graph_layer_stream_finish(struct graph_layer_stream *ls, struct graph_layer_digests *d,
                              struct berr *err);
/* The stream's own error, when a read failed (decompression, I/O, copy). */
const char *graph_layer_stream_error(struct graph_layer_stream *ls);
void graph_layer_stream_free(struct graph_layer_stream *ls);

/* Streams the decompressed bytes of a stored layer blob to sink (docker save). */
int graph_layer_decompress(int blobfd, int (*sink)(void *ud, const void *buf, size_t len), void *ud,
                           struct berr *err);
