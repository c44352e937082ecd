/* berth stats: a table of containers' resource use, computed as the docker CLI does
 * (CPU % from the deltas of two samples, memory without the inactive page cache). Each
 * round asks every container for a one-shot sample, so 50 containers take one round trip
 * each rather than a second each. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "common/cleanup.h"
#include "format.h"
#include "units.h"

static const char stats_usage[] =
    "Usage:  berth stats [OPTIONS] [CONTAINER...]\n\n"
    "Display a live stream of container(s) resource usage statistics\n\nOptions:\n"
    "  -a, --all             Show all containers (default shows just running)\n"
    "      --format string   Format output using a custom template\n"
    "      --no-stream       Disable streaming stats and only pull the first result\n"
    "      --no-trunc        Do not truncate output\n";

#define DEFAULT_TABLE                                                                              \
  "{{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}"        \
  "\t{{.PIDs}}"

static json_t *get_stats(struct client *c, const char *id)
{
  _cleanup_free_ char *esc = url_escape(id);
  _cleanup_free_ char *path = NULL;
  if (asprintf(&path, "/containers/%s/stats?stream=0&one-shot=1", esc) < 0)
    return NULL;
  json_t *j = NULL;
  struct berr err = {0};
  if (http_json(c, "GET", path, NULL, &j, NULL, &err) < 0)
    return NULL;
  return j;
}

static double num(json_t *o, const char *a, const char *b)
{
  json_t *v = json_object_get(o, a);
  if (b)
    v = json_object_get(v, b);
  return json_is_number(v) ? json_number_value(v) : 0;
}

static void sum_io(json_t *entries, double *read, double *write)
{
  size_t i;
  json_t *e;
  json_array_foreach(entries, i, e)
  {
    const char *op = json_string_value(json_object_get(e, "op")) ?: "";
    double v = num(e, "value", NULL);
    if (strcasecmp(op, "read") == 0)
      *read += v;
    else if (strcasecmp(op, "write") == 0)
      *write += v;
  }
}

/* The row docker's stats formatter shows for one container. */
static json_t *row(const char *id, const char *name, json_t *now, json_t *prev, bool no_trunc)
{
  char cpu[32] = "--", memu[64] = "-- / --", memp[32] = "--", net[64] = "--", blk[64] = "--",
       pids[32] = "--";
  bool running = now && strcmp(json_string_value(json_object_get(now, "read")) ?: "",
                               "0001-01-01T00:00:00Z") != 0;
  if (running) {
    json_t *cs = json_object_get(now, "cpu_stats");
    json_t *ps = prev ? json_object_get(prev, "cpu_stats") : json_object_get(now, "precpu_stats");
    double cpu_delta = num(json_object_get(cs, "cpu_usage"), "total_usage", NULL) -
                       num(json_object_get(ps, "cpu_usage"), "total_usage", NULL);
    double sys_delta = num(cs, "system_cpu_usage", NULL) - num(ps, "system_cpu_usage", NULL);
    double online = num(cs, "online_cpus", NULL);
    double pct = sys_delta > 0 && cpu_delta > 0 ? cpu_delta / sys_delta * online * 100.0 : 0;
    snprintf(cpu, sizeof(cpu), "%.2f%%", pct);
    json_t *ms = json_object_get(now, "memory_stats");
    double usage = num(ms, "usage", NULL), limit = num(ms, "limit", NULL);
    json_t *st = json_object_get(ms, "stats");
    double inactive = json_object_get(st, "total_inactive_file")
                          ? num(st, "total_inactive_file", NULL)
                          : num(st, "inactive_file", NULL);
    if (inactive < usage)
      usage -= inactive;
    char a[32], b[32];
    units_bytes_size(usage, a, sizeof(a));
    units_bytes_size(limit, b, sizeof(b));
    snprintf(memu, sizeof(memu), "%s / %s", a, b);
    snprintf(memp, sizeof(memp), "%.2f%%", limit > 0 ? usage / limit * 100.0 : 0);
    double rx = 0, tx = 0;
    const char *k;
    json_t *n;
    json_object_foreach(json_object_get(now, "networks"), k, n)
    {
      rx += num(n, "rx_bytes", NULL);
      tx += num(n, "tx_bytes", NULL);
    }
    units_human_size_prec(rx, 3, a, sizeof(a));
    units_human_size_prec(tx, 3, b, sizeof(b));
    snprintf(net, sizeof(net), "%s / %s", a, b);
    double rd = 0, wr = 0;
    sum_io(json_object_get(json_object_get(now, "blkio_stats"), "io_service_bytes_recursive"), &rd,
           &wr);
    units_human_size_prec(rd, 3, a, sizeof(a));
    units_human_size_prec(wr, 3, b, sizeof(b));
    snprintf(blk, sizeof(blk), "%s / %s", a, b);
    snprintf(pids, sizeof(pids), "%.0f", num(json_object_get(now, "pids_stats"), "current", NULL));
  } else if (now) {
    snprintf(cpu, sizeof(cpu), "0.00%%");
    snprintf(memu, sizeof(memu), "0B / 0B");
    snprintf(memp, sizeof(memp), "0.00%%");
    snprintf(net, sizeof(net), "0B / 0B");
    snprintf(blk, sizeof(blk), "0B / 0B");
    snprintf(pids, sizeof(pids), "0");
  }
  char shortid[65];
  snprintf(shortid, sizeof(shortid), no_trunc ? "%s" : "%.12s", id);
  return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "ID", shortid, "Container", shortid,
                   "Name", name, "CPUPerc", cpu, "MemUsage", memu, "MemPerc", memp, "NetIO", net,
                   "BlockIO", blk, "PIDs", pids, "Mem", memu);
}

static void sleep_ms(long ms)
{
  struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) < 0)
    ;
}

int cmd_stats(struct client *c, int argc, char **argv)
{
  static const struct option longopts[] = {
      {"all", no_argument, NULL, 'a'},        {"format", required_argument, NULL, 1001},
      {"no-stream", no_argument, NULL, 1002}, {"no-trunc", no_argument, NULL, 1003},
      {"help", no_argument, NULL, 0x7ffe},    {0},
  };
  bool all = false, no_stream = false, no_trunc = false;
  const char *format = NULL;
  int o;
  optind = 0;
  while ((o = cli_getopt(argc, argv, "+a", longopts, "stats", stats_usage)) != -1) {
    if (o < -1)
      return CLI_GETOPT_LOOP_EXIT(o);
    if (o == 'a')
      all = true;
    else if (o == 1001)
      format = optarg;
    else if (o == 1002)
      no_stream = true;
    else if (o == 1003)
      no_trunc = true;
    else
      return 125;
  }
  /* The containers: those named, or those `ps` lists. */
  json_auto_t *ids = json_array(), *names = json_array();
  struct berr err = {0};
  if (optind < argc) {
    for (int i = optind; i < argc; i++) {
      _cleanup_free_ char *esc = url_escape(argv[i]);
      _cleanup_free_ char *path = NULL;
      json_auto_t *j = NULL;
      if (asprintf(&path, "/containers/%s/json", esc) < 0)
        return 1;
      if (http_json(c, "GET", path, NULL, &j, NULL, &err) < 0)
        return cli_fail(&err);
      json_array_append(ids, json_object_get(j, "Id"));
      const char *n = json_string_value(json_object_get(j, "Name")) ?: "";
      json_array_append_new(names, json_string(*n == '/' ? n + 1 : n));
    }
  } else {
    json_auto_t *list = NULL;
    if (http_json(c, "GET", all ? "/containers/json?all=1" : "/containers/json", NULL, &list, NULL,
                  &err) < 0)
      return cli_fail(&err);
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v)
    {
      json_array_append(ids, json_object_get(v, "Id"));
      const char *n = json_string_value(json_array_get(json_object_get(v, "Names"), 0)) ?: "";
      json_array_append_new(names, json_string(*n == '/' ? n + 1 : n));
    }
  }
  size_t n = json_array_size(ids);
  json_t **prev = calloc(n ? n : 1, sizeof(*prev));
  /* A first sample for every container, so the first table already has a CPU rate. */
  for (size_t i = 0; i < n; i++)
    prev[i] = get_stats(c, json_string_value(json_array_get(ids, i)));
  int rc = 0;
  for (bool first = true;; first = false) {
    sleep_ms(first ? 500 : 1000);
    json_auto_t *headers = json_pack(
        "{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "ID", "CONTAINER ID", "Container", "CONTAINER",
        "Name", "NAME", "CPUPerc", "CPU %", "MemUsage", "MEM USAGE / LIMIT", "MemPerc", "MEM %",
        "NetIO", "NET I/O", "BlockIO", "BLOCK I/O", "PIDs", "PIDS", "Mem", "MEM USAGE / LIMIT");
    struct formatter f;
    if (formatter_init(&f, format, DEFAULT_TABLE, headers, &err) < 0) {
      rc = cli_fail(&err);
      break;
    }
    for (size_t i = 0; i < n; i++) {
      json_t *now = get_stats(c, json_string_value(json_array_get(ids, i)));
      json_auto_t *r = row(json_string_value(json_array_get(ids, i)),
                           json_string_value(json_array_get(names, i)), now, prev[i], no_trunc);
      json_decref(prev[i]);
      prev[i] = now;
      formatter_row(&f, r, NULL, &err);
    }
    if (!no_stream && isatty(STDOUT_FILENO))
      fputs("\033[2J\033[H", stdout);
    formatter_finish(&f, stdout, &err);
    fflush(stdout);
    if (no_stream || ferror(stdout))
      break;
  }
  for (size_t i = 0; i < n; i++)
    json_decref(prev[i]);
  free(prev);
  return rc;
}
