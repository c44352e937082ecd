/* berth update: change a container's limits and restart policy (POST /containers/{id}/update),
 * with docker CLI 28's flags and body. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "common/cleanup.h"
#include "units.h"

static const char update_usage[] =
    "Usage:  berth update [OPTIONS] CONTAINER [CONTAINER...]\n\n"
    "Update configuration of one or more containers\n\nOptions:\n"
    "      --blkio-weight uint16        Block IO (relative weight), between 10 and 1000, or 0 "
    "to disable (default 0)\n"
    "      --cpu-period int             Limit CPU CFS (Completely Fair Scheduler) period\n"
    "      --cpu-quota int              Limit CPU CFS (Completely Fair Scheduler) quota\n"
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

enum {
  U_BLKIO = 1000,
  U_PERIOD,
  U_QUOTA,
  U_CPUS,
  U_CPUSET_C,
  U_CPUSET_M,
  U_MEMRES,
  U_SWAP,
  U_PIDS,
  U_RESTART
};

static int size_arg(const char *flag, const char *v, json_int_t *out)
{
  int64_t n;
  if (strcmp(v, "-1") == 0) {
    *out = -1;
    return 0;
  }
  if (units_ram_in_bytes(v, &n) < 0)
    return cli_usage_error("update", "invalid argument \"%s\" for \"%s\" flag: invalid size: '%s'",
                           v, flag, v);
  *out = n;
  return 0;
}

static int int_arg(const char *flag, const char *v, json_int_t *out)
{
  char *end;
  errno = 0;
  long long n = strtoll(v, &end, 10);
  if (errno || !*v || *end)
    return cli_usage_error("update",
                           "invalid argument \"%s\" for \"%s\" flag: strconv.ParseInt: parsing "
                           "\"%s\": invalid syntax",
                           v, flag, v);
  *out = n;
  return 0;
}

int cmd_update(struct client *c, int argc, char **argv)
{
  static const struct option longopts[] = {
      {"blkio-weight", required_argument, NULL, U_BLKIO},
      {"cpu-period", required_argument, NULL, U_PERIOD},
      {"cpu-quota", required_argument, NULL, U_QUOTA},
      {"cpu-shares", required_argument, NULL, 'c'},
      {"cpus", required_argument, NULL, U_CPUS},
      {"cpuset-cpus", required_argument, NULL, U_CPUSET_C},
      {"cpuset-mems", required_argument, NULL, U_CPUSET_M},
      {"memory", required_argument, NULL, 'm'},
      {"memory-reservation", required_argument, NULL, U_MEMRES},
      {"memory-swap", required_argument, NULL, U_SWAP},
      {"pids-limit", required_argument, NULL, U_PIDS},
      {"restart", required_argument, NULL, U_RESTART},
      {"help", no_argument, NULL, 0x7ffe},
      {0},
  };
  json_int_t blkio = 0, period = 0, quota = 0, shares = 0, nano = 0, mem = 0, memres = 0, swap = 0,
             pids = 0;
  const char *cpuset_c = "", *cpuset_m = "", *restart = NULL;
  bool pids_set = false, any = false;
  int o;
  optind = 0;
  while ((o = cli_getopt(argc, argv, "+c:m:", longopts, "update", update_usage)) != -1) {
    int r = 0;
    if (o < -1)
      return CLI_GETOPT_LOOP_EXIT(o);
    any = true;
    switch (o) {
    case U_BLKIO:
      r = int_arg("--blkio-weight", optarg, &blkio);
      break;
    case U_PERIOD:
      r = int_arg("--cpu-period", optarg, &period);
      break;
    case U_QUOTA:
      r = int_arg("--cpu-quota", optarg, &quota);
      break;
    case 'c':
      r = int_arg("-c, --cpu-shares", optarg, &shares);
      break;
    case U_CPUS: {
      char *end;
      double d = strtod(optarg, &end);
      if (*end || end == optarg || d < 0)
        return cli_usage_error(
            "update",
            "invalid argument \"%s\" for \"--cpus\" flag: failed to parse %s as a rational number",
            optarg, optarg);
      nano = (json_int_t)(d * 1e9 + 0.5);
      break;
    }
    case U_CPUSET_C:
      cpuset_c = optarg;
      break;
    case U_CPUSET_M:
      cpuset_m = optarg;
      break;
    case 'm':
      r = size_arg("-m, --memory", optarg, &mem);
      break;
    case U_MEMRES:
      r = size_arg("--memory-reservation", optarg, &memres);
      break;
    case U_SWAP:
      r = size_arg("--memory-swap", optarg, &swap);
      break;
    case U_PIDS:
      r = int_arg("--pids-limit", optarg, &pids);
      pids_set = true;
      break;
    case U_RESTART:
      restart = optarg;
      break;
    default:
      return 125;
    }
    if (r)
      return r;
  }
  if (optind >= argc)
    return cli_args_error("update", update_usage, "requires at least 1 argument");
  if (!any) {
    fprintf(stderr, "You must provide one or more flags when using this command.\n");
    return 1;
  }
  json_auto_t *body = json_pack("{s:I,s:I,s:I,s:I,s:s,s:s,s:I,s:I,s:I,s:I}", "BlkioWeight", blkio,
                                "CpuShares", shares, "CpuPeriod", period, "CpuQuota", quota,
                                "CpusetCpus", cpuset_c, "CpusetMems", cpuset_m, "Memory", mem,
                                "MemoryReservation", memres, "MemorySwap", swap, "NanoCpus", nano);
  if (pids_set)
    json_object_set_new(body, "PidsLimit", json_integer(pids));
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
