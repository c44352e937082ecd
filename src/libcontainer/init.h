/* The container's init, in the cloned child: namespaces, mounts, identity, then it waits
 * for `start` and execs the user's process. Never returns on success. */
#pragma once

#include <stdbool.h>

#include "config.h"

struct lc_init_args {
  const struct lc_config *config;
  const char *id;
  const char *cgroup_rel;
  int sync_fd;
  int fifo_fd;    /* create: wait for a byte here; -1 to wait for LC_SYNC_START instead */
  int console_fd; /* --console-socket connection, or -1 (the master then goes over sync_fd) */
  int ns_fds[LC_NS_COUNT]; /* namespaces to join, -1 when not joined */
  int preserve_fds;
  const int *stdio; /* NULL, or the fds to make 0, 1, 2 */
  bool no_pivot;
  bool no_new_keyring;
};

int lc_init_child(const struct lc_init_args *a);
