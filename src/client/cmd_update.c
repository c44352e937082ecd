/* berth update: change a container's limits and restart policy (POST /containers/{id}/update),
 * with docker CLI 28's flags and body; the limit flags are run's own parser (resopts.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "common/cleanup.h"
#include "resopts.h"

static const char update_usage[] =
    "Usage:  berth update [OPTIONS] CONTAINER [CONTAINER...]\n\n"
    "Update configuration of one or more containers\n\nOptions:\n"
    "      --blkio-weight uint16        Block IO (relative weight), between 10 and 1000, or 0 "
    "to disable (default 0)\n"
    "      --cpu-period int             Limit CPU CFS (Completely Fair Scheduler) period\n"
    "      --cpu-quota int              Limit CPU CFS (Completely Fair Scheduler) quota\n"
    "      --cpu-rt-period int          Limit the CPU real-time period in microseconds\n"
    "      --cpu-rt-runtime int         Limit the CPU real-time runtime in microseconds\n"
    "  -c, --cpu-shares int             CPU shares (relative weight)\n"
    "      --cpus decimal               Number of CPUs\n"
    "      --cpuset-cpus string         CPUs in which to allow execution (0-3, 0,1)\n"
    "      --cpuset-mems string         MEMs in which to allow execution (0-3, 0,1)\n"
    "  -m, --memory bytes               Memory limit\n"
    "      --memory-reservation bytes   Memory soft limit\n"
    "      --memory-swap bytes          Swap limit equal to memory plus swap: -1 to enable "
    "unlimited swap\n"
    "      --pids-limit int             Tune container pids limit (set -1 for unlimited)\n"
    "      --restart string             Restart policy to apply when a container exits\n";

#define U_RESTART 1000

int cmd_update(struct client *c, int argc, char **argv)
{
  static const struct option longopts[] = {
      RES_LONGOPTS,
      {"restart", required_argument, NULL, U_RESTART},
      {"help", no_argument, NULL, 0x7ffe},
      {0},
  };
  struct res_opts res = {0};
  const char *restart = NULL;
  bool any = false;
  int o;
  optind = 0;
  while ((o = cli_getopt(argc, argv, "+c:m:", longopts, "update", update_usage)) != -1) {
    int r = 0;
    if (o < -1)
      return CLI_GETOPT_LOOP_EXIT(o);
    any = true;
    if (o == U_RESTART)
      restart = optarg;
    else if (!res_opt_parse(&res, "update", o, optarg, &r))
      return 125;
    if (r)
      return r;
  }
  if (optind >= argc)
    return cli_args_error("update", update_usage, "requires at least 1 argument");
  if (!any) {
    fprintf(stderr, "You must provide one or more flags when using this command.\n");
    return 1;
  }
  json_auto_t *body = json_object();
  res_opts_json(&res, body);
  if (restart) {
    _cleanup_free_ char *name = strdup(restart);
    char *colon = strchr(name, ':');
    long count = 0;
    if (colon) {
      *colon = 0;
      char *end;
      count = strtol(colon + 1, &end, 10);
      if (*end || colon[1] == 0) {
        fprintf(stderr, "invalid restart policy format: maximum retry count must be an integer\n");
        return 1;
      }
    }
    json_object_set_new(body, "RestartPolicy",
                        json_pack("{s:s,s:i}", "Name", name, "MaximumRetryCount", (int)count));
  }
  int rc = 0;
  for (int i = optind; i < argc; i++) {
    _cleanup_free_ char *esc = url_escape(argv[i]);
    _cleanup_free_ char *path = NULL;
    if (asprintf(&path, "/containers/%s/update", esc) < 0)
      return 1;
    struct berr err = {0};
    if (http_json(c, "POST", path, body, NULL, NULL, &err) < 0) {
      cli_print_error(&err);
      rc = 1;
      continue;
    }
    printf("%s\n", argv[i]);
  }
  return rc;
}
