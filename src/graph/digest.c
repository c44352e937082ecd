/* sha256 digests over OpenSSL's EVP interface (SHA-NI when the CPU has it). */
#include "digest.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

struct graph_sha256 {
  EVP_MD_CTX *ctx;
};

struct graph_sha256 *graph_sha256_new(void)
{
  struct graph_sha256 *h = calloc(1, sizeof(*h));
  if (!h)
    return NULL;
  h->ctx = EVP_MD_CTX_new();
  if (!h->ctx || EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1) {
    EVP_MD_CTX_free(h->ctx);
    free(h);
    return NULL;
  }
  return h;
}

void graph_sha256_update(struct graph_sha256 *h, const void *buf, size_t len)
{
  EVP_DigestUpdate(h->ctx, buf, len);
}

static void to_digest(const unsigned char *md, char out[GRAPH_DIGEST_LEN + 1])
{
  static const char hex[] = "0123456789abcdef";
  memcpy(out, "sha256:", 7);
  for (int i = 0; i < 32; i++) {
    out[7 + 2 * i] = hex[md[i] >> 4];
    out[8 + 2 * i] = hex[md[i] & 15];
  }
  out[GRAPH_DIGEST_LEN] = '\0';
}

void graph_sha256_final(struct graph_sha256 *h, char out[GRAPH_DIGEST_LEN + 1])
{
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_DigestFinal_ex(h->ctx, md, &n);
  to_digest(md, out);
  EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL);
}

void graph_sha256_free(struct graph_sha256 *h)
{
  EVP_MD_CTX_free(h->ctx);
  free(h);
}

void graph_sha256_buf(const void *buf, size_t len, char out[GRAPH_DIGEST_LEN + 1])
{
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(buf, len, md, &n, EVP_sha256(), NULL);
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
