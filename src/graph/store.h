/* The content store: immutable blobs named by their sha256 under <root>/blobs/sha256/<hex>.
 * A blob is written to a temp file under <root>/tmp, its digest computed while streaming,
 * then verified, fsynced and renamed in: a blob in the store always matches its name. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/berr.h"
#include "graph/digest.h"

struct graph_store;
struct graph_blob_writer;

int graph_store_open(const char *root, struct graph_store **out, struct berr *err);
void graph_store_close(struct graph_store *s);
/* <root>/tmp: scratch space on the store's filesystem, emptied by graph_store_clean_tmp. */
const char *graph_store_tmp(const struct graph_store *s);
int graph_store_clean_tmp(struct graph_store *s, struct berr *err);
/* A fresh private directory under tmp (malloc'd path). */
int graph_store_mkdtemp(struct graph_store *s, const char *what, char **path, struct berr *err);

int graph_store_writer_new(struct graph_store *s, struct graph_blob_writer **out, struct berr *err);
int graph_blob_writer_write(struct graph_blob_writer *w, const void *buf, size_t len,
                            struct berr *err);
/* Verifies (when expected != NULL), fsyncs and renames the blob in; frees w in every case.
 * digest (may be NULL) receives the blob's digest, size its length. */
int graph_blob_writer_commit(struct graph_blob_writer *w, const char *expected,
                             char digest[GRAPH_DIGEST_LEN + 1], int64_t *size, struct berr *err);
void graph_blob_writer_abort(struct graph_blob_writer *w);

int graph_store_put(struct graph_store *s, const void *buf, size_t len, const char *expected,
                    char digest[GRAPH_DIGEST_LEN + 1], struct berr *err);
/* Hard-links (or copies) a file already known to hash to `digest` into the store, after
 * fsyncing it. Used for blobs unpacked into tmp and verified while being read. */
int graph_store_adopt_fd(struct graph_store *s, int fd, const char *digest, struct berr *err);

bool graph_store_has(struct graph_store *s, const char *digest);
/* malloc'd path of the blob, whether or not it exists. */
char *graph_store_path(struct graph_store *s, const char *digest);
int graph_store_open_blob(struct graph_store *s, const char *digest, int *fd, struct berr *err);
/* Reads a (small) blob whole and re-verifies it. *buf is NUL-terminated. */
int graph_store_read(struct graph_store *s, const char *digest, char **buf, size_t *len,
                     struct berr *err);
int graph_store_delete(struct graph_store *s, const char *digest, struct berr *err);
/* All digests in the store (NULL-terminated strv). */
int graph_store_list(struct graph_store *s, char ***digests, struct berr *err);
