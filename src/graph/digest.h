/* sha256 digests as the OCI spec writes them ("sha256:<64 hex>"): streaming hashers,
 * validation, and the layer chain-ID rule. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "common/berr.h"

#define GRAPH_DIGEST_LEN 71 /* "sha256:" + 64 hex */
#define GRAPH_HEX_LEN 64

struct graph_sha256;

struct graph_sha256 *graph_sha256_new(void);
void graph_sha256_update(struct graph_sha256 *h, const void *buf, size_t len);
/* Writes "sha256:<hex>" into out (GRAPH_DIGEST_LEN + 1 bytes); the hasher may be reused after. */
void graph_sha256_final(struct graph_sha256 *h, char out[GRAPH_DIGEST_LEN + 1]);
void graph_sha256_free(struct graph_sha256 *h);
static inline void graph_sha256_freep(struct graph_sha256 **h)
{
  if (*h)
    graph_sha256_free(*h);
}
#define _cleanup_sha256_ __attribute__((cleanup(graph_sha256_freep)))

void graph_sha256_buf(const void *buf, size_t len, char out[GRAPH_DIGEST_LEN + 1]);

/* True for "sha256:" followed by exactly 64 lowercase hex digits. */
bool graph_digest_valid(const char *d);
/* Checks validity and names `what` in the error. */
int graph_digest_check(const char *d, const char *what, struct berr *err);
/* The hex part of a valid digest. */
static inline const char *graph_digest_hex(const char *d)
{
  return d + 7;
}

/* ChainID(n) = sha256(ChainID(n-1) + " " + DiffID(n)); ChainID(0) = DiffID(0). */
void graph_chain_id(const char *parent_chain, const char *diff_id, char out[GRAPH_DIGEST_LEN + 1]);
