/* sha256 digests for the graph, on common/bdigest (nettle). */
#include "digest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/bdigest.h"

struct graph_sha256 {
  struct bdigest d;
};

struct graph_sha256 *graph_sha256_new(void)
{
  struct graph_sha256 *h = malloc(sizeof(*h));
  if (h)
    bdigest_init(&h->d, "sha256");
  return h;
}

void graph_sha256_update(struct graph_sha256 *h, const void *buf, size_t len)
{
  bdigest_update(&h->d, buf, len);
}

/* bdigest_final also starts over, so h can hash the next thing. */
void graph_sha256_final(struct graph_sha256 *h, char out[GRAPH_DIGEST_LEN + 1])
{
  bdigest_final(&h->d, out, GRAPH_DIGEST_LEN + 1);
}

void graph_sha256_free(struct graph_sha256 *h)
{
  free(h);
}

void graph_sha256_buf(const void *buf, size_t len, char out[GRAPH_DIGEST_LEN + 1])
{
  bdigest_buf("sha256", buf, len, out, GRAPH_DIGEST_LEN + 1);
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
