/* Execution drivers: native (libcontainer) or an OCI runtime binary from daemon.json, and
 * the operations on a running container that depend on which one runs it. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/berr.h"
#include "libcontainer/cgroups/cgroup.h"

struct engine;

#define RUNTIME_NATIVE "native"

bool runtime_is_native(const char *name);
/* HostConfig.Runtime of a container document (borrowed; NULL = native). */
const char *runtime_of(json_t *doc);
/* The binary (path "" for native) and runtimeArgs of a runtime; an unknown name is an error
 * with Docker's message. */
int runtime_lookup(struct engine *e, const char *name, char *path, size_t len, json_t **args,
                   struct berr *err);
/* {"name": {"path": ...}} for /info's Runtimes. */
json_t *runtime_list(struct engine *e);
/* The state root the runtime keeps its containers under. */
void runtime_root_dir(struct engine *e, const char *name, char *buf, size_t len);

int runtime_kill(struct engine *e, const char *id, const char *rt, pid_t pid, int sig, bool all,
                 struct berr *err);
int runtime_pause(struct engine *e, const char *id, const char *rt, bool pause, struct berr *err);
int runtime_pids(struct engine *e, const char *id, const char *rt, pid_t **pids, size_t *n,
                 struct berr *err);
int runtime_stats(struct engine *e, const char *id, const char *rt, struct lc_cgroup_stats *st,
                  struct berr *err);
int runtime_update(struct engine *e, const char *id, const char *rt, json_t *resources,
                   struct berr *err);
/* End a container whose start failed (the shim then tidies the runtime's state). */
int runtime_delete(struct engine *e, const char *id, const char *rt, struct berr *err);
/* At daemon start, for a container whose shim died while berthd was away: its runtime's
 * leftover state goes (native: libcontainer's delete; external: `RUNTIME [args] --root R
 * delete --force ID`, as the shim would have run it). A runtime that knows no such
 * container is not an error. */
int runtime_delete_stale(struct engine *e, const char *id, const char *rt, struct berr *err);
