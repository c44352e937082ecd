/* sha256/sha512 content digests through OpenSSL's EVP interface. */
#include "registry.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const EVP_MD *md_for(const char *alg)
{
  if (strcmp(alg, "sha256") == 0)
    return EVP_sha256();
  if (strcmp(alg, "sha512") == 0)
    return EVP_sha512();
  return NULL;
}

static void format_digest(const char *alg, const unsigned char *md, unsigned n, char *out,
                          size_t outlen)
{
  int off = snprintf(out, outlen, "%s:", alg);
  for (unsigned i = 0; i < n && (size_t)off + 3 <= outlen; i++)
    off += snprintf(out + off, outlen - (size_t)off, "%02x", md[i]);
}

static void ctx_free(EVP_MD_CTX **c)
{
  if (*c)
    EVP_MD_CTX_free(*c);
}

int reg_digest_fd(int fd, const char *alg, char *out, size_t outlen, struct berr *err)
{
  const EVP_MD *md = md_for(alg);
  if (!md)
    return berr_set(err, 0, "unsupported digest algorithm %s", alg);
  __attribute__((cleanup(ctx_free))) EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  if (!ctx || !EVP_DigestInit_ex(ctx, md, NULL))
    return berr_set(err, ENOMEM, "digest init");
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
    EVP_DigestUpdate(ctx, buf, (size_t)n);
    off += n;
  }
  unsigned char res[EVP_MAX_MD_SIZE];
  unsigned rlen = 0;
  EVP_DigestFinal_ex(ctx, res, &rlen);
  format_digest(alg, res, rlen, out, outlen);
  return 0;
}

int reg_digest_buf(const void *buf, size_t len, const char *alg, char *out, size_t outlen,
                   struct berr *err)
{
  const EVP_MD *md = md_for(alg);
  if (!md)
    return berr_set(err, 0, "unsupported digest algorithm %s", alg);
  unsigned char res[EVP_MAX_MD_SIZE];
  unsigned rlen = 0;
  if (!EVP_Digest(buf, len, res, &rlen, md, NULL))
    return berr_set(err, EIO, "digest");
  format_digest(alg, res, rlen, out, outlen);
  return 0;
}
