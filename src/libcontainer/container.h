/* libcontainer's public API: the OCI lifecycle (create, start, run, state, kill,
 * delete, pause, resume, update, ps, exec) over a state root directory. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "cgroups/cgroup.h"
#include "common/berr.h"

struct lc_create_opts {
  const char *root; /* state root, e.g. /run/berth-runc */
  const char *id;
  const char *bundle;
  const char *pid_file;       /* may be NULL */
  const char *console_socket; /* may be NULL */
  int preserve_fds;           /* extra fds past stdio passed through */
  int listen_fds;             /* socket activation: these come first (fds 3..), and the
                                 process gets LISTEN_FDS=N and LISTEN_PID=1 */
  bool no_pivot;
  bool no_new_keyring;
  bool no_cgroup;   /* leave the process in the caller's cgroup (--cgroup-manager disabled) */
  const int *stdio; /* NULL: the process inherits our 0-2; else these three fds become them */
  int *pty_master;  /* a terminal without a console socket: the master is returned here */
  pid_t *pid_out;   /* the container's init pid (host pid namespace) */
};

enum lc_run_mode {
  LC_RUN_CREATE,     /* init waits on exec.fifo until lc_container_start */
  LC_RUN_DETACHED,   /* create + start, return at once */
  LC_RUN_FOREGROUND, /* create + start, wait, forward signals and tty, delete at exit */
};

/* exit_status (foreground only): the container's exit code, or 128+signal. */
int lc_container_run(const struct lc_create_opts *o, enum lc_run_mode mode, int *exit_status,
                     struct berr *err);
int lc_container_start(const char *root, const char *id, struct berr *err);
int lc_container_state(const char *root, const char *id, json_t **out, struct berr *err);
int lc_container_kill(const char *root, const char *id, int sig, bool all, struct berr *err);
int lc_container_delete(const char *root, const char *id, bool force, struct berr *err);
int lc_container_pause(const char *root, const char *id, bool pause, struct berr *err);
int lc_container_update(const char *root, const char *id, json_t *resources, struct berr *err);
int lc_container_pids(const char *root, const char *id, pid_t **pids, size_t *n, struct berr *err);
int lc_container_stats(const char *root, const char *id, struct lc_cgroup_stats *st,
                       struct berr *err);

struct lc_exec_opts {
  const char *root;
  const char *id;
  json_t *process; /* a runtime-spec process object */
  const char *console_socket;
  const char *pid_file;
  int preserve_fds;
  bool detach;
  const int *stdio; /* as in lc_create_opts */
  int *pty_master;
  pid_t *pid_out;
};

int lc_container_exec(const struct lc_exec_opts *o, int *exit_status, struct berr *err);
