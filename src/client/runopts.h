/* docker run/create flags and the create body they make, field for field as docker CLI 28
 * sends it (docker-api.md §3.1.1 and Appendix A). */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "common/berr.h"
#include "resopts.h"

struct run_opts {
  bool detach, interactive, tty, rm, init, init_set, privileged, read_only, publish_all;
  bool oom_kill_disable, sig_proxy;
  const char *name, *workdir, *user, *entrypoint, *hostname, *domainname, *network, *ip, *mac;
  const char *restart, *stop_signal, *log_driver, *platform, *ipc, *pid, *uts, *userns, *cgroupns,
      *cgroup_parent, *runtime, *detach_keys;
  bool entrypoint_set;
  struct res_opts res; /* the limit flags, shared with update (resopts.h) */
  int64_t shm_size;
  const char *health_cmd;
  int64_t health_interval, health_timeout, health_start_period, health_start_interval;
  int64_t health_retries;
  bool health_set, no_healthcheck;
  int stop_timeout;
  bool stop_timeout_set;
  json_t *env;          /* array of -e in order */
  json_t *env_files;    /* array of paths */
  json_t *labels;       /* object */
  json_t *publish;      /* array of -p specs */
  json_t *expose;       /* array */
  json_t *volumes;      /* array of -v specs */
  json_t *mounts;       /* array of --mount specs */
  json_t *tmpfs;        /* array */
  json_t *volumes_from; /* array of --volumes-from C[:ro|rw] */
  json_t *aliases;      /* --network-alias */
  json_t *add_hosts, *dns, *dns_opts, *dns_search, *cap_add, *cap_drop, *ulimits, *log_opts,
      *security_opts, *group_add, *devices, *sysctls;
  const char *image;
  char **cmd; /* NULL-terminated args after the image, NULL when none */
  int ncmd;
};

void run_opts_init(struct run_opts *o);
void run_opts_free(struct run_opts *o);
/* Parse argv (argv[0] = "run" or "create"). Returns 0, or the process exit code (>0) after
 * printing a usage error, or -1 after printing --help. */
int run_opts_parse(struct run_opts *o, int argc, char **argv, bool is_run, const char *usage);
/* Build the POST /containers/create body. rows/cols is the console size for -t. */
int run_opts_body(struct run_opts *o, int rows, int cols, json_t **out, struct berr *err);

extern const char run_usage[];
extern const char create_usage[];
