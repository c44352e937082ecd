/* One parser for the limit flags of run, create and update, with the docker CLI's messages,
 * and the body fields they make. */
#include "resopts.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "units.h"

int res_size_flag(const char *cmd, const char *flag, const char *v, int64_t *out)
{
  if (strcmp(v, "-1") == 0) {
    *out = -1;
    return 0;
  }
  if (units_ram_in_bytes(v, out) < 0)
    return cli_usage_error(cmd, "invalid argument \"%s\" for \"%s\" flag: invalid size: '%s'", v,
                           flag, v);
  return 0;
}

int res_int_flag(const char *cmd, const char *flag, const char *v, int64_t *out)
{
  char *end;
  errno = 0;
  long long n = strtoll(v, &end, 10);
  if (errno || !*v || *end)
    return cli_usage_error(cmd,
                           "invalid argument \"%s\" for \"%s\" flag: strconv.ParseInt: "
                           "parsing \"%s\": invalid syntax",
                           v, flag, v);
  *out = n;
  return 0;
}

bool res_opt_parse(struct res_opts *r, const char *cmd, int opt, const char *arg, int *rc)
{
  *rc = 0;
  switch (opt) {
  case 'm':
    *rc = res_size_flag(cmd, "-m, --memory", arg, &r->memory);
    return true;
  case RES_O_MEMSWAP:
    *rc = res_size_flag(cmd, "--memory-swap", arg, &r->memory_swap);
    return true;
  case RES_O_MEMRES:
    *rc = res_size_flag(cmd, "--memory-reservation", arg, &r->memory_reservation);
    return true;
  case RES_O_CPUS: {
    char *end;
    double d = strtod(arg, &end);
    if (*end || end == arg || d < 0)
      *rc = cli_usage_error(
          cmd,
          "invalid argument \"%s\" for \"--cpus\" flag: failed to parse %s as a rational number",
          arg, arg);
    else
      r->nano_cpus = (int64_t)(d * 1e9 + 0.5);
    return true;
  }
  case 'c':
    *rc = res_int_flag(cmd, "-c, --cpu-shares", arg, &r->cpu_shares);
    return true;
  case RES_O_CPUPERIOD:
    *rc = res_int_flag(cmd, "--cpu-period", arg, &r->cpu_period);
    return true;
  case RES_O_CPUQUOTA:
    *rc = res_int_flag(cmd, "--cpu-quota", arg, &r->cpu_quota);
    return true;
  case RES_O_CPURTPERIOD:
    *rc = res_int_flag(cmd, "--cpu-rt-period", arg, &r->cpu_rt_period);
    return true;
  case RES_O_CPURTRUNTIME:
    *rc = res_int_flag(cmd, "--cpu-rt-runtime", arg, &r->cpu_rt_runtime);
    return true;
  case RES_O_BLKIO:
    *rc = res_int_flag(cmd, "--blkio-weight", arg, &r->blkio_weight);
    return true;
  case RES_O_CPUSET_CPUS:
    r->cpuset_cpus = arg;
    return true;
  case RES_O_CPUSET_MEMS:
    r->cpuset_mems = arg;
    return true;
  case RES_O_PIDS:
    *rc = res_int_flag(cmd, "--pids-limit", arg, &r->pids_limit);
    r->pids_limit_set = true;
    return true;
  default:
    return false;
  }
}

void res_opts_json(const struct res_opts *r, json_t *obj)
{
  json_object_set_new(obj, "BlkioWeight", json_integer(r->blkio_weight));
  json_object_set_new(obj, "CpuShares", json_integer(r->cpu_shares));
  json_object_set_new(obj, "CpuPeriod", json_integer(r->cpu_period));
  json_object_set_new(obj, "CpuQuota", json_integer(r->cpu_quota));
  json_object_set_new(obj, "CpuRealtimePeriod", json_integer(r->cpu_rt_period));
  json_object_set_new(obj, "CpuRealtimeRuntime", json_integer(r->cpu_rt_runtime));
  json_object_set_new(obj, "CpusetCpus", json_string(r->cpuset_cpus ? r->cpuset_cpus : ""));
  json_object_set_new(obj, "CpusetMems", json_string(r->cpuset_mems ? r->cpuset_mems : ""));
  json_object_set_new(obj, "Memory", json_integer(r->memory));
  json_object_set_new(obj, "MemoryReservation", json_integer(r->memory_reservation));
  json_object_set_new(obj, "MemorySwap", json_integer(r->memory_swap));
  json_object_set_new(obj, "NanoCpus", json_integer(r->nano_cpus));
  if (r->pids_limit_set)
    json_object_set_new(obj, "PidsLimit", json_integer(r->pids_limit));
}
