/* The shim's driver for an external OCI runtime binary (daemon.json "runtimes"). */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "common/berr.h"
#include "shim.h"

/* Become a child subreaper (before any runtime command runs). */
int ext_init(struct shim *s);
/* `create`: the container's init waits for `start`; its pid and (tty) pty master out. */
int ext_create(struct shim *s, const int stdio[3], bool tty, int *master, pid_t *pid,
               struct berr *err);
int ext_start(struct shim *s, struct berr *err);
/* `exec --detach` of a runtime-spec process; its pid (and pty master) out. */
int ext_exec(struct shim *s, json_t *process, const int stdio[3], int *master, pid_t *pid,
             struct berr *err);
bool ext_oom_killed(struct shim *s);
/* `delete --force`, and the cgroup dirs the runtime did not remove. */
void ext_delete(struct shim *s);
