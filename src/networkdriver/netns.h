/* Network namespaces kept as bind-mounted files (like `ip netns`), so a container's
 * namespace exists before its process and outlives a berthd crash; and running code in
 * one from the calling thread (setns is per thread for network namespaces). */
#pragma once

#include "common/berr.h"

/* A new network namespace bound at path (its directory is made). */
int netdrv_netns_create(const char *path, struct berr *err);
/* Unbind and unlink; a missing file is not an error. */
int netdrv_netns_remove(const char *path, struct berr *err);

/* Switch the calling thread into the namespace at path (or open fd when path is NULL);
 * *saved receives the thread's former namespace for netdrv_netns_leave. */
int netdrv_netns_enter(const char *path, int *saved, struct berr *err);
void netdrv_netns_leave(int saved);
