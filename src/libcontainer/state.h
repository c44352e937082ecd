/* Container state kept under the runtime root (<root>/<id>/state.json + exec.fifo), so
 * created/running/paused/stopped survives across separate runtime invocations. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "common/berr.h"

struct lc_cgroup;

struct lc_state {
  char *id;
  char *dir; /* <root>/<id> */
  pid_t pid;
  unsigned long long start_time; /* /proc/<pid>/stat field 22: guards against pid reuse */
  json_t *json;                  /* the whole state.json */
  json_t *config;                /* borrowed from json: the container's config.json */
  const char *bundle, *rootfs, *created;
};

int lc_id_validate(const char *id, struct berr *err);
int lc_state_dir_path(const char *root, const char *id, char *buf, size_t len);

/* "container \"x\" does not exist" when there is no state. */
int lc_state_load(const char *root, const char *id, struct lc_state **out, struct berr *err);
void lc_state_free(struct lc_state *s);
int lc_state_write(const char *dir, json_t *state, struct berr *err);

/* Whether the process still is the one we started (alive, not a zombie, same start time). */
bool lc_pid_alive(pid_t pid, unsigned long long start_time);
int lc_proc_start_time(pid_t pid, unsigned long long *out);

/* "created", "running", "paused" or "stopped". cg may be NULL (then never "paused"). */
const char *lc_state_status(const struct lc_state *s, struct lc_cgroup *cg);

/* The OCI state object (ociVersion, id, status, pid, bundle, rootfs, created, owner,
 * annotations). */
json_t *lc_state_oci(const struct lc_state *s, const char *status);

/* The ids of every container under root, sorted. */
int lc_state_list(const char *root, char ***ids, struct berr *err);
