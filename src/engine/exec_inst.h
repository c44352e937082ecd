/* An exec instance (docker exec): created by exec.create, run by exec.start through the
 * container's shim, inspected by exec.inspect. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

struct exec_inst {
  char id[65];
  char container_id[65];
  json_t *config; /* the exec create body (Cmd, Env, User, WorkingDir, Tty, Attach*, ...) */
  bool started, running, has_exit;
  int exit_code;
  pid_t pid;
  char error[512]; /* set when the shim could not start it */
};

struct engine;
#include "common/berr.h"
/* The runtime-spec process for an exec in container cid: the container's own process
 * settings from its bundle, with the exec config's (xc: Cmd, Env, User, WorkingDir, Tty,
 * Privileged) on top. jobs_exec.c; health probes use it too. */
int exec_process_spec(struct engine *e, const char *cid, json_t *xc, json_t **out,
                      struct berr *err);
/* The exec_create / exec_start event action, as dockerd words it: "<what>: " + the command's
 * first word + " " + the rest joined by spaces (a lone command keeps its trailing space). */
void exec_event_action(const char *what, json_t *cmd, char *buf, size_t len);
