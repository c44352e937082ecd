/* Seccomp from the OCI spec's linux.seccomp, compiled with libseccomp in the parent and
 * installed in the container process with no allocation (safe in a cloned child). */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/berr.h"

struct lc_seccomp;

/* Validates and compiles: defaultAction (+defaultErrnoRet), architectures, flags, syscalls
 * (names, action, errnoRet, args with all operators). Unknown actions, operators, flags or
 * architectures are errors, and so are syscall names that are no syscall at all; names of
 * syscalls newer than libseccomp (lc_seccomp_newer_syscall) are skipped, as runc and crun
 * skip what libseccomp cannot resolve (Docker's profile lists such syscalls). A rule whose action
 * is the default action is skipped. Conditions on one argument index become one rule each (OR), as
 * in runc/crun. With a deny-by-default profile (not ALLOW/LOG, default errno not ENOSYS) a stub is
 * put in front of the program so syscalls numbered above every syscall the profile names return
 * ENOSYS, as runc does (libc falls back only on ENOSYS). A NULL or JSON-null seccomp gives
 * *out = NULL. */
int lc_seccomp_compile(json_t *seccomp, struct lc_seccomp **out, struct berr *err);

/* Where lc_seccomp_compile keeps the programs it compiled and looks for them first
 * (seccomp_cache.h); NULL (the default) compiles every time. Set once per process by the
 * runtime, to a directory of its state root. */
void lc_seccomp_set_cache_dir(const char *dir);
/* The cache in a runtime's state root: <root>/.seccomp-cache (a dot name, so listing the
 * root's containers skips it). */
void lc_seccomp_use_cache_of(const char *root);

/* A filter from an already compiled program (n_insns instructions), its install flags and
 * whether it notifies; the listener path and metadata come from the profile. */
int lc_seccomp_from_bpf(const void *insns, size_t n_insns, unsigned int flags, bool notify,
                        json_t *seccomp, struct lc_seccomp **out, struct berr *err);

/* Install the compiled filter in the calling thread: one seccomp(2) call, no allocation. Needs
 * no_new_privs or CAP_SYS_ADMIN. With SCMP_ACT_NOTIFY rules, *notify_fd receives the listener
 * fd (else -1); notify_fd may be NULL. If the kernel rejects an optional flag (EINVAL) and
 * there is no listener, it retries without flags, as crun does. */
int lc_seccomp_install(const struct lc_seccomp *s, int *notify_fd, struct berr *err);

/* True when the filter uses SCMP_ACT_NOTIFY (the caller must pass the listener fd on). */
int lc_seccomp_wants_notify(const struct lc_seccomp *s);

/* listenerPath / listenerMetadata from the profile (NULL when absent); the caller sends the
 * listener fd there. */
const char *lc_seccomp_listener_path(const struct lc_seccomp *s);
const char *lc_seccomp_listener_metadata(const struct lc_seccomp *s);

/* The compiled BPF program (n_insns instructions of 8 bytes) and the SECCOMP_FILTER_FLAG_*
 * bits install uses, e.g. to cache or store the program. */
const void *lc_seccomp_bpf(const struct lc_seccomp *s, size_t *n_insns);
unsigned int lc_seccomp_flags(const struct lc_seccomp *s);

void lc_seccomp_free(struct lc_seccomp *s);

/* True for a syscall the kernel has but our libseccomp is too old to name. */
bool lc_seccomp_newer_syscall(const char *name);
