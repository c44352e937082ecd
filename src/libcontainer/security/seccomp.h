/* Seccomp from the OCI spec's linux.seccomp, compiled with libseccomp in the parent and
 * installed in the container process with no allocation (safe in a cloned child). */
#pragma once

#include <jansson.h>

#include "common/berr.h"

struct lc_seccomp;

/* Validates and compiles: defaultAction (+defaultErrnoRet), architectures, flags, syscalls
 * (names, action, errnoRet, args with all operators). Unknown syscall names, actions,
 * operators or architectures are errors. A NULL or JSON-null seccomp gives *out = NULL. */
int lc_seccomp_compile(json_t *seccomp, struct lc_seccomp **out, struct berr *err);

/* Install the compiled filter in the calling thread. With SCMP_ACT_NOTIFY rules,
 * *notify_fd receives the listener fd (else -1). notify_fd may be NULL. */
int lc_seccomp_install(const struct lc_seccomp *s, int *notify_fd, struct berr *err);

/* True when the filter uses SCMP_ACT_NOTIFY (the caller must pass the listener fd on). */
int lc_seccomp_wants_notify(const struct lc_seccomp *s);

void lc_seccomp_free(struct lc_seccomp *s);
