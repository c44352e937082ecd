/* Error construction and chaining for struct berr. */
#include "berr.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int berr_vset(struct berr *err, int errnum, const char *fmt, va_list ap)
{
  if (errnum < 0)
    errnum = -errnum;
  int n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
  if (errnum && n >= 0 && (size_t)n < sizeof(err->msg))
    snprintf(err->msg + n, sizeof(err->msg) - (size_t)n, ": %s", strerror(errnum));
  err->code = errnum ? errnum : EINVAL;
  return -err->code;
}

int berr_set(struct berr *err, int errnum, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  int r = berr_vset(err, errnum, fmt, ap);
  va_end(ap);
  return r;
}

int berr_errno(struct berr *err, const char *fmt, ...)
{
  int saved = errno;
  va_list ap;
  va_start(ap, fmt);
  int r = berr_vset(err, saved ? saved : EIO, fmt, ap);
  va_end(ap);
  return r;
}

int berr_wrap(struct berr *err, const char *fmt, ...)
{
  char prefix[512];
  char old[BERR_MSG_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(prefix, sizeof(prefix), fmt, ap);
  va_end(ap);
  memcpy(old, err->msg, sizeof(old));
  size_t plen = strlen(prefix);
  if (plen + 2 >= sizeof(err->msg))
    plen = sizeof(err->msg) - 3;
  memcpy(err->msg, prefix, plen);
  memcpy(err->msg + plen, ": ", 2);
  size_t rest = sizeof(err->msg) - plen - 3;
  size_t olen = strnlen(old, rest);
  memcpy(err->msg + plen + 2, old, olen);
  err->msg[plen + 2 + olen] = '\0';
  if (err->code == 0)
    err->code = EINVAL;
  return -err->code;
}

void berr_clear(struct berr *err)
{
  err->code = 0;
  err->msg[0] = '\0';
}
