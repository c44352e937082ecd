/* What every berth command shares: the command table, docker-style usage errors and
 * daemon error reporting, and image reference normalization. */
#pragma once

#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>

#include "common/berr.h"
#include "http.h"

struct command {
  const char *name;
  int (*fn)(struct client *c, int argc, char **argv);
  const char *usage; /* full --help text */
};

/* Print err as docker does ("Error response from daemon: ..." for daemon errors, the
 * connect line for an unreachable socket, the plain message otherwise). */
void cli_print_error(struct berr *err);
/* Print and return the exit code for a failed command (1). */
int cli_fail(struct berr *err);
/* "<msg>\nSee 'berth <cmd> --help'." on stderr; returns 125 like docker's flag errors. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* --filter key=value into {"key":{"value":true}}; a usage error (its exit code) without '='
 * (cmd_container.c). */
int add_filter(json_t *filters, const char *kv, const char *cmd);
/* The filters as docker sends them: compact, keys sorted (cmd_container.c). */
char *filters_json(json_t *filters);
/* Prints warning and docker's "Are you sure you want to continue? [y/N] "; true on y/Y. */
bool cli_confirm(const char *warning);
/* Wrong argument count: docker's "\"docker x\" requires ..." text; returns 1. */
int cli_args_error(const char *cmd, const char *usage, const char *requirement);
/* Runs getopt_long with docker-style errors; returns the option, -1 at the end, or -2 after
 * printing an error (exit 125) / -3 after printing help (exit 0). */
int cli_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts,
               const char *cmd, const char *usage);
#define CLI_GETOPT_LOOP_EXIT(r) ((r) == -3 ? 0 : 125)
/* --help in a longopts array: cli_getopt prints the usage for it. */
#define HELP_OPT                                                                                   \
  {                                                                                                \
    "help", no_argument, NULL, 0x7ffe                                                              \
  }

/* Image references as the docker CLI sends them: "busybox" -> repo
 * "docker.io/library/busybox", tag "latest" (tag NULL when a digest is given). */
int ref_normalize(const char *in, char **repo, char **tag, char **digest, struct berr *err);
/* A new image's name (tag, commit): REPOSITORY[:TAG] normalized into the repo= and tag=
 * parameters docker's CLI sends; a digest reference is refused. */
int ref_tag_query(struct query *q, const char *ref, struct berr *err);
/* docker.io/library/x -> x, docker.io/u/x -> u/x. Malloc'd. */
char *ref_familiar(const char *name);

/* Render a JSON message stream (pull/load/import) as docker's non-TTY jsonmessage does.
 * Returns 0, or HTTP_EDAEMON with errorDetail's message in err (exit code via *code). */
struct jsonstream {
  char *buf;
  size_t len;
  FILE *out;
  struct berr err;
  bool failed;
  int code;
  /* on a terminal: one line per layer id, redrawn in place as docker does */
  bool tty;
  char **ids;
  int *id_line;
  size_t nids;
  int lines;
};
void jsonstream_free(struct jsonstream *js);
int jsonstream_sink(void *ud, const char *data, size_t len);

/* Read one JSON request body value for inspect-like printing: [ ... ] indented by 4. */
void print_json_indented(FILE *out, json_t *v);

int cmd_run(struct client *c, int argc, char **argv);
int cmd_create(struct client *c, int argc, char **argv);
int cmd_start(struct client *c, int argc, char **argv);
int cmd_stop(struct client *c, int argc, char **argv);
int cmd_restart(struct client *c, int argc, char **argv);
int cmd_kill(struct client *c, int argc, char **argv);
int cmd_rm(struct client *c, int argc, char **argv);
int cmd_ps(struct client *c, int argc, char **argv);
int cmd_logs(struct client *c, int argc, char **argv);
int cmd_attach(struct client *c, int argc, char **argv);
int cmd_rename(struct client *c, int argc, char **argv);
int cmd_pause(struct client *c, int argc, char **argv);
int cmd_unpause(struct client *c, int argc, char **argv);
int cmd_wait(struct client *c, int argc, char **argv);
int cmd_top(struct client *c, int argc, char **argv);
int cmd_update(struct client *c, int argc, char **argv);          /* cmd_update.c */
int cmd_stats(struct client *c, int argc, char **argv);           /* cmd_stats.c */
int cmd_container_prune(struct client *c, int argc, char **argv); /* cmd_prune.c */
int cmd_system_prune(struct client *c, int argc, char **argv);
int cmd_system_df(struct client *c, int argc, char **argv);
int cmd_exec(struct client *c, int argc, char **argv);
int cmd_inspect(struct client *c, int argc, char **argv);
int cmd_container_inspect(struct client *c, int argc, char **argv);
int cmd_events(struct client *c, int argc, char **argv);
int cmd_version(struct client *c, int argc, char **argv);
int cmd_info(struct client *c, int argc, char **argv);
int cmd_images(struct client *c, int argc, char **argv);
int cmd_image_inspect(struct client *c, int argc, char **argv);
int cmd_history(struct client *c, int argc, char **argv);
int cmd_rmi(struct client *c, int argc, char **argv);
int cmd_tag(struct client *c, int argc, char **argv);
int cmd_load(struct client *c, int argc, char **argv);
int cmd_save(struct client *c, int argc, char **argv);
int cmd_import(struct client *c, int argc, char **argv);
int cmd_image_prune(struct client *c, int argc, char **argv);
int cmd_pull(struct client *c, int argc, char **argv);
int cmd_push(struct client *c, int argc, char **argv);
int cmd_login(struct client *c, int argc, char **argv);
int cmd_logout(struct client *c, int argc, char **argv);
int cmd_network(struct client *c, int argc, char **argv); /* cmd_network.c */
int cmd_port(struct client *c, int argc, char **argv);
int cmd_cp(struct client *c, int argc, char **argv); /* cmd_cp.c */
/* cmd_commit.c: the container's filesystem as an image, a change list, a tar */
int cmd_commit(struct client *c, int argc, char **argv);
int cmd_diff(struct client *c, int argc, char **argv);
int cmd_export(struct client *c, int argc, char **argv);
int cmd_volume(struct client *c, int argc,
               char **argv); /* cmd_volume.c: create|ls|inspect|rm|prune */

/* Shared by pull and run/create: pull an image through POST /images/create, rendering
 * progress to `out`; all_tags pulls every tag of the repository `image` names. */
int image_pull(struct client *c, const char *image, const char *platform, bool all_tags, FILE *out,
               struct berr *err);
