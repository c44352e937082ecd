/* The Engine: a table of named job handlers plus the state they share (containers,
 * images, events). Every API call runs as exactly one job through engine_job_run. */
#pragma once

#include <stdbool.h>

#include "common/berr.h"
#include "job.h"

typedef int (*job_handler)(struct job *job);

struct reg_config;

struct engine_config {
  const char *data_root;      /* /var/lib/berth */
  const char *exec_root;      /* /run/berth */
  const char *storage_driver; /* overlay2 | vfs */
  const char *shim_path;      /* berth-shim binary */
  const char *config_file;    /* daemon.json: parts read their own keys (runtimes) */
  bool live_restore;
  /* registry client settings (daemon.json); borrowed: must outlive the engine */
  const struct reg_config *registry;
  int max_concurrent_downloads; /* layers fetched at once per pull (0: 3, as Docker) */
  int max_concurrent_uploads;   /* layers sent at once per push (0: 5, as Docker) */
  long long upload_chunk_size;  /* push: PATCH chunks of this size; 0 = one monolithic PUT */
  const char *bridge;           /* the default bridge's device: "berth0" (NULL), or "none" */
  const char *bip;              /* its address, "172.18.0.1/16"; NULL picks a free subnet */
  const char *address_pools;    /* default-address-pools as JSON text, or NULL */
  int mtu;                      /* the default bridge's MTU; 0: 1500 */
  /* --userns-remap, resolved (engine/userns.h); NULL: off. Borrowed, as registry. */
  const struct userns_remap *userns;
  /* --cpu-rt-period / --cpu-rt-runtime: the containers' parent cgroup's real-time budget
   * in microseconds (cgroup v1); 0 leaves it as it is. */
  long long cpu_rt_period, cpu_rt_runtime;
};

struct engine;

int engine_new(const struct engine_config *cfg, struct engine **out, struct berr *err);
void engine_free(struct engine *e);

int engine_register(struct engine *e, const char *name, job_handler fn);
bool engine_has_job(const struct engine *e, const char *name);

/* Run a job by name; the job's result/err/status are filled. Returns 0 or -errno. */
int engine_job_run(struct engine *e, struct job *job);
