/* Private pieces shared by the cgroup manager's files: the cgroup object, the parsed
 * linux.resources, small cgroupfs file helpers and the v1/v2 drivers' entry points. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cgroup.h"

/* One directory the cgroup owns. On v1 one per mounted controller hierarchy (plus the
 * cgroup2 hierarchy in hybrid mode, whose controllers are "" in `controllers` and
 * unified=true); on v2 exactly one. */
struct lc_cgroup_dir {
  char *controllers; /* comma list as mounted, e.g. "cpu,cpuacct"; "" for cgroup2 */
  char *mountpoint;  /* e.g. /sys/fs/cgroup/memory */
  char *dir;         /* mountpoint + path */
  bool unified;      /* a cgroup2 hierarchy */
};

struct lc_cgroup {
  enum lc_cgroup_mode mode;
  char *path; /* absolute from each hierarchy root, e.g. "/berth/<id>" */
  struct lc_cgroup_dir *dirs;
  size_t ndirs;
};

/* A value in linux.resources that is absent is "unset"; these flags say which are set. */
struct lc_cg_device_rule {
  bool allow;
  char type;     /* 'a', 'b' or 'c' */
  int64_t major; /* -1 = any */
  int64_t minor; /* -1 = any */
  char access[4];
};

struct lc_cg_throttle {
  int64_t major, minor;
  uint64_t rate;
};

struct lc_cg_weight_device {
  int64_t major, minor;
  uint64_t weight; /* 0 = unset */
};

struct lc_cg_hugepage {
  char page_size[16]; /* "2MB", "1GB", ... */
  uint64_t limit;
};

struct lc_cg_unified {
  char *key, *value;
};

struct lc_cg_resources {
  /* memory: 0 = unset, -1 = unlimited (OCI semantics) */
  int64_t mem_limit, mem_reservation, mem_swap;
  bool has_swappiness;
  uint64_t swappiness;
  bool has_disable_oom;
  bool disable_oom;
  /* cpu: 0 = unset */
  uint64_t cpu_shares;
  int64_t cpu_quota; /* -1 = unlimited */
  uint64_t cpu_period;
  int64_t cpu_rt_runtime;
  uint64_t cpu_rt_period;
  uint64_t cpu_burst;
  bool has_cpu_burst;
  bool has_cpu_idle;
  int64_t cpu_idle;
  char *cpus, *mems;
  /* pids: 0 = unset, < 0 = unlimited */
  int64_t pids_limit;
  /* blkio */
  uint64_t blkio_weight;
  struct lc_cg_weight_device *weight_devices;
  size_t nweight_devices;
  struct lc_cg_throttle *throttle[4]; /* read bps, write bps, read iops, write iops */
  size_t nthrottle[4];
  /* devices: NULL when the key is absent */
  bool has_devices;
  struct lc_cg_device_rule *devices;
  size_t ndevices;
  struct lc_cg_hugepage *hugepages;
  size_t nhugepages;
  struct lc_cg_unified *unified;
  size_t nunified;
};

/* Parse and validate linux.resources; nothing is written to the kernel. */
int lc_cg_resources_parse(json_t *res, struct lc_cg_resources *out, struct berr *err);
void lc_cg_resources_free(struct lc_cg_resources *r);

/* OCI cpu shares (v1, 2..262144) to cgroup v2 cpu.weight (1..10000), as runc converts. */
uint64_t lc_cg_shares_to_weight(uint64_t shares);
/* blkio weight (10..1000) to io.weight (1..10000), as runc converts. */
uint64_t lc_cg_blkio_to_io_weight(uint64_t weight);

/* The cgroup path for a spec's cgroupsPath (see lc_cgroup_create); refuses "..". */
int lc_cg_resolve_path(const char *path, const char *id, char **out, struct berr *err);

/* cgroupfs file access: `dir`/`file`. Errors name the file. */
int lc_cg_write(const char *dir, const char *file, const char *value, struct berr *err);
int lc_cg_writef(const char *dir, const char *file, struct berr *err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int lc_cg_read(const char *dir, const char *file, char **out, struct berr *err);
/* A file holding one unsigned number, or "max" (gives UINT64_MAX). */
int lc_cg_read_u64(const char *dir, const char *file, uint64_t *out, struct berr *err);
/* The value after `key ` in a "key value" per line file (memory.stat, cpu.stat, ...).
 * Returns 0 and sets *out, or -ENOENT when the key is absent (no error message then). */
int lc_cg_read_keyed(const char *dir, const char *file, const char *key, uint64_t *out,
                     struct berr *err);
bool lc_cg_exists(const char *dir, const char *file);

/* The directory of the hierarchy carrying `controller` (v1), NULL when not mounted. */
const char *lc_cg_v1_dir(const struct lc_cgroup *cg, const char *controller);

/* Hierarchies: fill cg->dirs for cg->mode and cg->path from /proc/self/mountinfo. */
int lc_cg_v1_hierarchies(struct lc_cgroup *cg, struct berr *err);
/* The same from given files (tests feed other hosts' layouts). */
int lc_cg_v1_hierarchies_from(struct lc_cgroup *cg, const char *mountinfo, const char *proc_cgroups,
                              struct berr *err);

int lc_cg_add_dir(struct lc_cgroup *cg, const char *controllers, const char *mountpoint,
                  bool unified, struct berr *err);

/* After mkdir of cg->dirs[i] (a v1 hierarchy): make it joinable (cpuset needs its cpus
 * and mems copied from the parent before any task can enter). */
int lc_cg_v1_prepare_dir(const struct lc_cgroup *cg, size_t i, struct berr *err);
/* Enable every controller the parent offers in each ancestor's cgroup.subtree_control. */
int lc_cg_v2_enable_controllers(const char *mountpoint, const char *path, struct berr *err);

int lc_cg_v1_apply(struct lc_cgroup *cg, const struct lc_cg_resources *r, struct berr *err);
int lc_cg_v2_apply(struct lc_cgroup *cg, const struct lc_cg_resources *r, struct berr *err);
int lc_cg_v1_freeze(struct lc_cgroup *cg, bool frozen, struct berr *err);
int lc_cg_v2_freeze(struct lc_cgroup *cg, bool frozen, struct berr *err);
int lc_cg_v1_is_frozen(struct lc_cgroup *cg, bool *frozen, struct berr *err);
int lc_cg_v2_is_frozen(struct lc_cgroup *cg, bool *frozen, struct berr *err);
int lc_cg_v1_stats(struct lc_cgroup *cg, struct lc_cgroup_stats *st, struct berr *err);
int lc_cg_v2_stats(struct lc_cgroup *cg, struct lc_cgroup_stats *st, struct berr *err);

/* cgroup v2 device control: a BPF_PROG_TYPE_CGROUP_DEVICE program built from the rules
 * and attached to the cgroup directory (replacing any program berth attached before). */
int lc_cg_v2_devices_apply(const char *dir, const struct lc_cg_device_rule *rules, size_t n,
                           struct berr *err);
