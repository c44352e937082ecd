/* The container's cgroup, managed directly on cgroupfs: v1 (one directory per mounted
 * controller, as on hosts in hybrid mode) or v2 (unified). Resources come from the OCI
 * spec's linux.resources object. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/berr.h"

enum lc_cgroup_mode {
  LC_CGROUP_V1, /* controllers mounted under /sys/fs/cgroup/<controller> (hybrid included) */
  LC_CGROUP_V2, /* /sys/fs/cgroup is cgroup2 with the controllers */
};

struct lc_cgroup;

struct lc_cgroup_stats {
  uint64_t memory_usage;     /* bytes */
  uint64_t memory_max_usage; /* bytes, 0 where the kernel does not say */
  uint64_t memory_limit;     /* bytes, UINT64_MAX when unlimited */
  uint64_t memory_cache;     /* bytes of page cache */
  uint64_t oom_kills;        /* OOM kills inside the cgroup */
  uint64_t cpu_usage_ns;     /* total CPU time */
  uint64_t cpu_user_ns;
  uint64_t cpu_system_ns;
  uint64_t cpu_throttled_periods;
  uint64_t pids_current;
  uint64_t pids_limit; /* UINT64_MAX when unlimited */
  uint64_t blkio_read_bytes;
  uint64_t blkio_write_bytes;
};

int lc_cgroup_detect(enum lc_cgroup_mode *mode, struct berr *err);

/* Make the cgroup (in every controller on v1). `path` is the spec's linux.cgroupsPath:
 * absolute paths are taken from the cgroup root, relative ones are put under /berth;
 * NULL or "" means "/berth/<id>". A path containing ".." is refused. */
int lc_cgroup_create(const char *path, const char *id, struct lc_cgroup **out, struct berr *err);

/* Apply linux.resources (memory, cpu, pids, blockIO, devices, ...). Used at create and by
 * `update`; a NULL resources is a no-op. Unknown or invalid values are errors. */
int lc_cgroup_apply(struct lc_cgroup *cg, json_t *resources, struct berr *err);

/* Move a process (all its threads) into the cgroup. */
int lc_cgroup_enter(struct lc_cgroup *cg, pid_t pid, struct berr *err);

int lc_cgroup_freeze(struct lc_cgroup *cg, bool frozen, struct berr *err);
int lc_cgroup_is_frozen(struct lc_cgroup *cg, bool *frozen, struct berr *err);

/* Every pid in the cgroup (and its children on v1 where the hierarchy nests). */
int lc_cgroup_pids(struct lc_cgroup *cg, pid_t **pids, size_t *n, struct berr *err);
int lc_cgroup_kill_all(struct lc_cgroup *cg, int sig, struct berr *err);
int lc_cgroup_stats(struct lc_cgroup *cg, struct lc_cgroup_stats *st, struct berr *err);

/* Remove the cgroup directories; waits briefly for exiting processes to leave. */
int lc_cgroup_destroy(struct lc_cgroup *cg, struct berr *err);

/* Persist and restore: the state directory keeps what lc_cgroup_save returns. */
json_t *lc_cgroup_save(const struct lc_cgroup *cg);
int lc_cgroup_load(json_t *saved, struct lc_cgroup **out, struct berr *err);

/* The cgroup path relative to the hierarchy root (what /proc/<pid>/cgroup shows). */
const char *lc_cgroup_path(const struct lc_cgroup *cg);

void lc_cgroup_free(struct lc_cgroup *cg);
