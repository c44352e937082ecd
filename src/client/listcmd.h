/* The skeleton docker's list commands share (network ls, volume ls, images, history): the
 * --filter/--format/--quiet/--no-trunc options, the filtered GET of the list, and its output
 * as a table, a template or JSON lines. */
#pragma once

#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>

#include "format.h"
#include "http.h"

/* The shared long options, for a command's longopts array (-f is --filter, -q --quiet); one
 * line each, which clang-format would turn into five-line brace blocks. */
/* clang-format off */
#define LISTCMD_OPT_FILTER {"filter", required_argument, NULL, 'f'}
#define LISTCMD_OPT_FORMAT {"format", required_argument, NULL, 'F'}
#define LISTCMD_OPT_QUIET {"quiet", no_argument, NULL, 'q'}
#define LISTCMD_OPT_NO_TRUNC {"no-trunc", no_argument, NULL, 'T'}
/* clang-format on */

struct listcmd {
  const char *cmd; /* "network ls": names the command in --filter errors */
  json_t *filters; /* --filter values, as add_filter collects them */
  const char *format;
  bool quiet;
  bool trunc; /* true unless --no-trunc */
};

/* A command's options before parsing; listcmd_free (or _cleanup_listcmd_) releases them. */
#define LISTCMD_INIT(command)                                                                      \
  {                                                                                                \
    .cmd = (command), .filters = json_object(), .trunc = true                                      \
  }
void listcmd_free(struct listcmd *l);
#define _cleanup_listcmd_ __attribute__((cleanup(listcmd_free)))

/* What listcmd_option answers for an option that is not one of the shared ones. */
#define LISTCMD_NOT_MINE (-1)
/* Takes one option cli_getopt returned: 0 when it was a shared one, the exit code of a bad
 * --filter value, or LISTCMD_NOT_MINE for the command's own options. */
int listcmd_option(struct listcmd *l, int opt, const char *arg);

/* GETs path with q's parameters (q may be NULL; it is consumed) and the filters, when any were
 * given. Returns 0 with the decoded list in *out, or the exit code after printing the error. */
int listcmd_get(struct client *c, const char *path, struct query *q, const struct listcmd *l,
                json_t **out);

/* One item of the list into f: one formatter_row call per row it makes. */
typedef int (*listcmd_rows_fn)(struct formatter *f, json_t *item, void *ud, struct berr *err);

/* Prints items with --format; without one, quiet_format under -q, else the default table with
 * headers. A bad template prints its error. Returns the exit code. */
int listcmd_print(const struct listcmd *l, json_t *items, const char *quiet_format,
                  const char *default_table, json_t *headers, listcmd_rows_fn rows, void *ud);
