/* berr: the error type every berth function fills on failure.
 * Messages chain as they rise: "start web: mount rootfs: No such file or directory". */
#pragma once

#include <stdarg.h>

#define BERR_MSG_MAX 2048

/* Fixed-size so it can be filled in a cloned child without allocating. */
struct berr {
  int code; /* positive errno, 0 when unset */
  char msg[BERR_MSG_MAX];
};

/* Set the error; when errnum != 0 ": strerror(errnum)" is appended.
 * Returns -errnum (or -EINVAL when errnum is 0), ready for `return berr_set(...)`. */
int berr_set(struct berr *err, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Same, with errno as the cause. */
int berr_errno(struct berr *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prefix context: "what: " + previous message. Returns -err->code. */
int berr_wrap(struct berr *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void berr_clear(struct berr *err);
