/* Content digests as OCI writes them ("sha256:<hex>", "sha512:<hex>"), with nettle (SHA-NI
 * when the CPU has it): the one hashing helper of the graph and the registry client and
 * server. */
#pragma once

#include <nettle/sha2.h>
#include <stddef.h>

#include "common/berr.h"

#define BDIGEST_MAX 136 /* "sha512:" + 128 hex + NUL */

struct bdigest {
  int alg; /* 256 or 512 */
  union {
    struct sha256_ctx s256;
    struct sha512_ctx s512;
  } u;
};

/* alg "sha256" or "sha512"; -EINVAL for any other. */
int bdigest_init(struct bdigest *d, const char *alg);
void bdigest_update(struct bdigest *d, const void *buf, size_t len);
/* Writes "<alg>:<hex>" into out (outlen >= BDIGEST_MAX is always enough) and starts over,
 * so d can hash the next thing. */
void bdigest_final(struct bdigest *d, char *out, size_t outlen);

/* A whole buffer; -EINVAL for an unknown alg. */
int bdigest_buf(const char *alg, const void *buf, size_t len, char *out, size_t outlen);
/* A whole file from offset 0 (pread: the fd's position is left alone). */
int bdigest_fd(const char *alg, int fd, char *out, size_t outlen, struct berr *err);
