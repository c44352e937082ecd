/* sha256 digests with nettle (SHA-NI when the CPU has it). nettle rather than OpenSSL:
 * berthd already maps it (through GnuTLS, under libmicrohttpd), and libcrypto alone would
 * add over a megabyte to every berthd's resident memory. */
#include "digest.h"

#include <nettle/sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct graph_sha256 {
  struct sha256_ctx ctx;
};

struct graph_sha256 *graph_sha256_new(void)
{
  struct graph_sha256 *h = malloc(sizeof(*h));
  if (h)
    sha256_init(&h->ctx);
  return h;
}

void graph_sha256_update(struct graph_sha256 *h, const void *buf, size_t len)
{
  sha256_update(&h->ctx, len, buf);
}

static void to_digest(const unsigned char *md, char out[GRAPH_DIGEST_LEN + 1])
{
  static const char hex[] = "0123456789abcdef";
  memcpy(out, "sha256:", 7);
  for (int i = 0; i < SHA256_DIGEST_SIZE; i++) {
    out[7 + 2 * i] = hex[md[i] >> 4];
    out[8 + 2 * i] = hex[md[i] & 15];
  }
  out[GRAPH_DIGEST_LEN] = '\0';
}

/* sha256_digest also resets the context, so h can hash the next thing. */
void graph_sha256_final(struct graph_sha256 *h, char out[GRAPH_DIGEST_LEN + 1])
{
  unsigned char md[SHA256_DIGEST_SIZE];
  sha256_digest(&h->ctx, sizeof(md), md);
  to_digest(md, out);
}

void graph_sha256_free(struct graph_sha256 *h)
{
  free(h);
}

void graph_sha256_buf(const void *buf, size_t len, char out[GRAPH_DIGEST_LEN + 1])
{
  struct sha256_ctx ctx;
  unsigned char md[SHA256_DIGEST_SIZE];
  sha256_init(&ctx);
  sha256_update(&ctx, len, buf);
  sha256_digest(&ctx, sizeof(md), md);
  to_digest(md, out);
}

bool graph_digest_valid(const char *d)
{
  if (!d || strncmp(d, "sha256:", 7) != 0 || strlen(d) != GRAPH_DIGEST_LEN)
    return false;
  for (const char *p = d + 7; *p; p++)
    if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
      return false;
  return true;
}

int graph_digest_check(const char *d, const char *what, struct berr *err)
{
  if (!graph_digest_valid(d))
    return berr_set(err, 0, "%s: invalid digest \"%s\"", what, d ? d : "");
  return 0;
}

void graph_chain_id(const char *parent_chain, const char *diff_id, char out[GRAPH_DIGEST_LEN + 1])
{
  if (!parent_chain || !*parent_chain) {
    memcpy(out, diff_id, GRAPH_DIGEST_LEN + 1);
    return;
  }
  char buf[2 * GRAPH_DIGEST_LEN + 2];
  int n = snprintf(buf, sizeof(buf), "%s %s", parent_chain, diff_id);
  graph_sha256_buf(buf, (size_t)n, out);
}
