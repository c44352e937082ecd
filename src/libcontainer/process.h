/* The last steps before execve, shared by a container's init and by exec: limits,
 * identity, capabilities, no_new_privs, seccomp, cwd, environment, fds. */
#pragma once

#include <stdbool.h>

#include "common/berr.h"
#include "config.h"

struct lc_seccomp;

struct lc_exec_plan {
  char path[4096];   /* resolved executable */
  char **envp;       /* owned */
  bool seccomp_late; /* install right before execve (NNP, or caps keep CAP_SYS_ADMIN) */
  int notify_fd;     /* SCMP_ACT_NOTIFY: the listener fd to hand to the parent, else -1 */
};

/* Run in the container (after pivot or after joining its mount namespace) as root.
 * preserve_fds: fds 3 .. 3+N-1 stay open across exec, every other fd is made CLOEXEC. */
int lc_process_setup(const struct lc_process *p, const struct lc_seccomp *seccomp, int preserve_fds,
                     struct lc_exec_plan *plan, struct berr *err);

/* Install a late seccomp filter (if any) and execve. Returns only on failure. */
int lc_process_exec(const struct lc_process *p, const struct lc_seccomp *seccomp,
                    struct lc_exec_plan *plan, struct berr *err);
