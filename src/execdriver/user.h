/* Docker's --user rules: "name", "uid", "name:group", "uid:gid", resolved against the
 * container's own /etc/passwd and /etc/group (read confined to its rootfs). */
#pragma once

#include <stddef.h>
#include <sys/types.h>

#include "common/berr.h"

struct execdriver_user {
  uid_t uid;
  gid_t gid;
  gid_t groups[64]; /* supplementary groups from /etc/group, then group_add */
  size_t ngroups;
};

/* group_add: NULL-terminated names or numbers (HostConfig.GroupAdd), may be NULL. */
int execdriver_resolve_user(int rootfd, const char *spec, const char *const *group_add,
                            struct execdriver_user *out, struct berr *err);
