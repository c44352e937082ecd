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
