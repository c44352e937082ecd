/* The OCI runtime spec (config.json, 1.0.x–1.2) parsed and validated into the plain
 * structures the rest of libcontainer works from. All validation happens here, before
 * anything is created, so bad input changes nothing. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "common/berr.h"
#include "security/caps.h"

struct lc_seccomp;

enum lc_ns_type {
  LC_NS_PID,
  LC_NS_NET,
  LC_NS_MNT,
  LC_NS_IPC,
  LC_NS_UTS,
  LC_NS_USER,
  LC_NS_CGROUP,
  LC_NS_TIME,
  LC_NS_COUNT
};

struct lc_namespace {
  bool enabled;
  char *path; /* join this one instead of making a new one */
};

struct lc_mount {
  char *destination;
  char *type;
  char *source;
  unsigned long flags;       /* MS_* for the mount itself */
  unsigned long propagation; /* MS_SHARED/SLAVE/PRIVATE/UNBINDABLE (+MS_REC) applied after */
  unsigned long clear_flags; /* attributes to clear on a bind remount (e.g. "rw" after ro) */
  char *data;                /* filesystem-specific options */
  bool bind;
};

struct lc_rlimit {
  int resource;
  struct rlimit limit;
};

struct lc_device {
  char *path;
  char type; /* c, b, u, p */
  unsigned major, minor;
  mode_t mode;
  uid_t uid;
  gid_t gid;
};

struct lc_idmap {
  unsigned container_id, host_id, size;
};

struct lc_process {
  char **args;
  char **env;
  char *cwd;
  uid_t uid;
  gid_t gid;
  gid_t *additional_gids;
  size_t n_additional_gids;
  mode_t umask;
  bool has_umask;
  bool terminal;
  unsigned short console_rows, console_cols;
  bool has_caps;
  struct lc_caps caps;
  bool no_new_privileges;
  struct lc_rlimit *rlimits;
  size_t n_rlimits;
  int oom_score_adj;
  bool has_oom_score_adj;
};

struct lc_config {
  json_t *json; /* the whole document, kept for hooks, annotations and resources */
  char *bundle; /* absolute */
  char *rootfs; /* absolute */
  bool rootfs_readonly;
  struct lc_process process;
  struct lc_namespace ns[LC_NS_COUNT];
  struct lc_idmap *uid_maps, *gid_maps;
  size_t n_uid_maps, n_gid_maps;
  char *hostname, *domainname;
  struct lc_mount *mounts;
  size_t n_mounts;
  struct lc_device *devices;
  size_t n_devices;
  char **masked_paths, **readonly_paths;
  unsigned long rootfs_propagation; /* 0 = default (MS_REC|MS_PRIVATE... see rootfs.c) */
  char *cgroups_path;
  json_t *resources; /* linux.resources plus the default device rules; owned */
  json_t *sysctl;    /* linux.sysctl, borrowed */
  json_t *hooks;     /* hooks, borrowed */
  json_t *annotations;
  struct lc_seccomp *seccomp;
};

/* Load bundle/config.json (bundle may be relative; it is made absolute). */
int lc_config_load(const char *bundle, struct lc_config **out, struct berr *err);
/* Parse from an already-loaded document (takes a reference). */
int lc_config_parse(json_t *json, const char *bundle, struct lc_config **out, struct berr *err);
void lc_config_free(struct lc_config *c);

/* Parse a runtime-spec "process" object (used for config.process and for exec -p). */
int lc_process_parse(json_t *proc, struct lc_process *out, struct berr *err);
void lc_process_clear(struct lc_process *p);

int lc_ns_clone_flag(enum lc_ns_type t);
const char *lc_ns_proc_name(enum lc_ns_type t); /* name under /proc/<pid>/ns/ */

/* RLIMIT_NOFILE from "RLIMIT_NOFILE"; -1 when unknown. */
int lc_rlimit_from_name(const char *name);
