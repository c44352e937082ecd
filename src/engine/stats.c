/* One sample of a container's resource use in Docker's stats JSON (types.StatsJSON):
 * cgroup figures through libcontainer, the host's CPU time from /proc/stat and the
 * container's network counters from its own /proc/<pid>/net/dev. */
#include "stats.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "engine_internal.h"
#include "libcontainer/cgroups/cgroup.h"
#include "libcontainer/container.h"
#include "repository.h"
#include "runtimes.h"

#define ZERO_TIME "0001-01-01T00:00:00Z"

/* The host's busy + idle CPU time in ns, as Docker's getSystemCPUUsage. */
static uint64_t system_cpu_ns(void)
{
  _cleanup_fclose_ FILE *f = fopen("/proc/stat", "re");
  if (!f)
    return 0;
  char line[512];
  while (fgets(line, sizeof(line), f)) {
    if (strncmp(line, "cpu ", 4) != 0)
      continue;
    uint64_t total = 0, v;
    char *p = line + 4;
    for (int i = 0; i < 7; i++) {
      char *end;
      v = strtoull(p, &end, 10);
      if (end == p)
        break;
      total += v;
      p = end;
    }
    return total * (1000000000ULL / (uint64_t)sysconf(_SC_CLK_TCK));
  }
  return 0;
}

static json_t *networks(pid_t pid)
{
  json_t *nets = json_object();
  if (pid <= 0)
    return nets;
  char path[64];
  snprintf(path, sizeof(path), "/proc/%d/net/dev", (int)pid);
  _cleanup_fclose_ FILE *f = fopen(path, "re");
  if (!f)
    return nets;
  char line[512];
  while (fgets(line, sizeof(line), f)) {
    char *colon = strchr(line, ':');
    if (!colon)
      continue;
    *colon = 0;
    char *name = line;
    while (*name == ' ')
      name++;
    if (strcmp(name, "lo") == 0)
      continue;
    unsigned long long v[16] = {0};
    int n = sscanf(colon + 1, "%llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0],
                   &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9], &v[10], &v[11]);
    if (n < 12)
      continue;
    json_object_set_new(nets, name,
                        json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "rx_bytes", (json_int_t)v[0],
                                  "rx_packets", (json_int_t)v[1], "rx_errors", (json_int_t)v[2],
                                  "rx_dropped", (json_int_t)v[3], "tx_bytes", (json_int_t)v[8],
                                  "tx_packets", (json_int_t)v[9], "tx_errors", (json_int_t)v[10],
                                  "tx_dropped", (json_int_t)v[11]));
  }
  return nets;
}

static json_t *empty_cpu(void)
{
  return json_pack("{s:{s:i,s:i,s:i},s:{s:i,s:i,s:i}}", "cpu_usage", "total_usage", 0,
                   "usage_in_kernelmode", 0, "usage_in_usermode", 0, "throttling_data", "periods",
                   0, "throttled_periods", 0, "throttled_time", 0);
}

static json_t *blkio(json_t *io_bytes)
{
  return json_pack("{s:o,s:n,s:n,s:n,s:n,s:n,s:n,s:n}", "io_service_bytes_recursive", io_bytes,
                   "io_serviced_recursive", "io_queue_recursive", "io_service_time_recursive",
                   "io_wait_time_recursive", "io_merged_recursive", "io_time_recursive",
                   "sectors_recursive");
}

json_t *stats_empty(const char *id, const char *name)
{
  char slash[300];
  snprintf(slash, sizeof(slash), "/%s", name);
  return json_pack("{s:s,s:s,s:{},s:o,s:i,s:{},s:o,s:o,s:{},s:s,s:s}", "read", ZERO_TIME, "preread",
                   ZERO_TIME, "pids_stats", "blkio_stats", blkio(json_null()), "num_procs", 0,
                   "storage_stats", "cpu_stats", empty_cpu(), "precpu_stats", empty_cpu(),
                   "memory_stats", "name", slash, "id", id);
}

int stats_sample(struct engine *e, const char *id, const char *rt, const char *name, pid_t pid,
                 json_t *prev, json_t **out, struct berr *err)
{
  struct lc_cgroup_stats st;
  memset(&st, 0, sizeof(st));
  if (runtime_stats(e, id, rt, &st, err) < 0)
    return -err->code;
  char now[64];
  ctr_now(now, sizeof(now));
  long online = sysconf(_SC_NPROCESSORS_ONLN);
  struct sysinfo si;
  sysinfo(&si);
  uint64_t host_mem = (uint64_t)si.totalram * si.mem_unit;
  uint64_t limit = st.memory_limit && st.memory_limit < host_mem ? st.memory_limit : host_mem;

  json_t *cpu = json_pack(
      "{s:{s:I,s:I,s:I},s:I,s:i,s:{s:i,s:I,s:i}}", "cpu_usage", "total_usage",
      (json_int_t)st.cpu_usage_ns, "usage_in_kernelmode", (json_int_t)st.cpu_system_ns,
      "usage_in_usermode", (json_int_t)st.cpu_user_ns, "system_cpu_usage",
      (json_int_t)system_cpu_ns(), "online_cpus", (int)online, "throttling_data", "periods", 0,
      "throttled_periods", (json_int_t)st.cpu_throttled_periods, "throttled_time", 0);
  json_t *mem_stats = json_pack("{s:I,s:I}", "cache", (json_int_t)st.memory_cache, "total_cache",
                                (json_int_t)st.memory_cache);
  json_t *mem = json_pack("{s:I,s:o,s:I}", "usage", (json_int_t)st.memory_usage, "stats", mem_stats,
                          "limit", (json_int_t)limit);
  if (st.memory_max_usage)
    json_object_set_new(mem, "max_usage", json_integer((json_int_t)st.memory_max_usage));
  if (st.oom_kills)
    json_object_set_new(mem, "failcnt", json_integer((json_int_t)st.oom_kills));
  json_t *pids = json_pack("{s:I}", "current", (json_int_t)st.pids_current);
  if (st.pids_limit && st.pids_limit != UINT64_MAX)
    json_object_set_new(pids, "limit", json_integer((json_int_t)st.pids_limit));
  json_t *io = json_pack("[{s:i,s:i,s:s,s:I},{s:i,s:i,s:s,s:I}]", "major", 0, "minor", 0, "op",
                         "read", "value", (json_int_t)st.blkio_read_bytes, "major", 0, "minor", 0,
                         "op", "write", "value", (json_int_t)st.blkio_write_bytes);
  char slash[300];
  snprintf(slash, sizeof(slash), "/%s", name);
  json_t *pre_cpu = prev ? json_object_get(prev, "cpu_stats") : NULL;
  const char *pre_read = prev ? json_string_value(json_object_get(prev, "read")) : NULL;
  *out = json_pack("{s:s,s:s,s:o,s:o,s:i,s:{},s:o,s:o,s:o,s:s,s:s,s:o}", "read", now, "preread",
                   pre_read ? pre_read : ZERO_TIME, "pids_stats", pids, "blkio_stats", blkio(io),
                   "num_procs", 0, "storage_stats", "cpu_stats", cpu, "precpu_stats",
                   pre_cpu ? json_deep_copy(pre_cpu) : empty_cpu(), "memory_stats", mem, "name",
                   slash, "id", id, "networks", networks(pid));
  return *out ? 0 : berr_set(err, 12, "stats");
}
