/* sha256/sha512 digests with nettle. nettle rather than OpenSSL: berthd already maps it
 * (through GnuTLS, under libmicrohttpd), and libcrypto alone would add over a megabyte to
 * every berthd's resident memory. */
#include "common/bdigest.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int bdigest_init(struct bdigest *d, const char *alg)
{
  if (alg && !strcmp(alg, "sha256")) {
    d->alg = 256;
    sha256_init(&d->u.s256);
    return 0;
  }
  if (alg && !strcmp(alg, "sha512")) {
    d->alg = 512;
    sha512_init(&d->u.s512);
    return 0;
  }
  return -EINVAL;
}

void bdigest_update(struct bdigest *d, const void *buf, size_t len)
{
  if (d->alg == 256)
    sha256_update(&d->u.s256, len, buf);
  else
    sha512_update(&d->u.s512, len, buf);
}

void bdigest_final(struct bdigest *d, char *out, size_t outlen)
{
  static const char hex[] = "0123456789abcdef";
  unsigned char md[SHA512_DIGEST_SIZE];
  size_t n;
  /* *_digest also resets the context */
  if (d->alg == 256) {
    n = SHA256_DIGEST_SIZE;
    sha256_digest(&d->u.s256, n, md);
  } else {
    n = SHA512_DIGEST_SIZE;
    sha512_digest(&d->u.s512, n, md);
  }
  char text[BDIGEST_MAX];
  size_t off = (size_t)snprintf(text, sizeof(text), "sha%d:", d->alg);
  for (size_t i = 0; i < n; i++) {
    text[off++] = hex[md[i] >> 4];
    text[off++] = hex[md[i] & 15];
  }
  text[off] = '\0';
  snprintf(out, outlen, "%s", text);
}

int bdigest_buf(const char *alg, const void *buf, size_t len, char *out, size_t outlen)
{
  struct bdigest d;
  int r = bdigest_init(&d, alg);
  if (r < 0)
    return r;
  bdigest_update(&d, buf, len);
  bdigest_final(&d, out, outlen);
  return 0;
}

int bdigest_fd(const char *alg, int fd, char *out, size_t outlen, struct berr *err)
{
  struct bdigest d;
  if (bdigest_init(&d, alg) < 0)
    return berr_set(err, 0, "unsupported digest algorithm %s", alg ? alg : "(none)");
  char buf[1 << 16];
  off_t off = 0;
  for (;;) {
    ssize_t n = pread(fd, buf, sizeof(buf), off);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return berr_errno(err, "read");
    if (n == 0)
      break;
    bdigest_update(&d, buf, (size_t)n);
    off += n;
  }
  bdigest_final(&d, out, outlen);
  return 0;
}
