/* berth-runc: shared definitions for the runc-compatible command line. */
#pragma once

#include <stdbool.h>

#include "common/berr.h"

struct cli {
  const char *root;
  const char *log_path;
  bool log_json;
  bool debug;
  bool no_cgroup; /* --cgroup-manager disabled */
};

struct cli_command {
  const char *name;
  int (*run)(struct cli *cli, int argc, char **argv, struct berr *err);
  const char *usage;
  const char *help;
};

/* Each returns the process exit code (0 ok) or a negative errno with err filled. */
int cmd_create(struct cli *cli, int argc, char **argv, struct berr *err);
int cmd_run(struct cli *cli, int argc, char **argv, struct berr *err);
int cmd_start(struct cli *cli, int argc, char **argv, struct berr *err);
int cmd_state(struct cli *cli, int argc, char **argv, struct berr *err);
int cmd_kill(struct cli *cli, int argc, char **argv, struct berr *err);
int cmd_delete(struct cli *cli, int argc, char **argv, struct berr *err);
int cmd_pause(struct cli *cli, int argc, char **argv, struct berr *err);
int cmd_resume(struct cli *cli, int argc, char **argv, struct berr *err);
int cmd_exec(struct cli *cli, int argc, char **argv, struct berr *err);
int cmd_ps(struct cli *cli, int argc, char **argv, struct berr *err);
int cmd_list(struct cli *cli, int argc, char **argv, struct berr *err);
int cmd_update(struct cli *cli, int argc, char **argv, struct berr *err);
int cmd_spec(struct cli *cli, int argc, char **argv, struct berr *err);
int cmd_features(struct cli *cli, int argc, char **argv, struct berr *err);

/* Help for one command on stdout (for -h/--help). */
void cli_command_help(const char *name);
/* Exactly one container id after the options, or an error. */
int cli_one_id(int argc, char **argv, const char *cmd, const char **id, struct berr *err);
/* "SIGKILL", "KILL", "kill" or "9". */
int cli_parse_signal(const char *s);
/* Print JSON, indented like runc. */
void cli_print_json(void *json);
