/* System jobs: info and the event stream. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "common/fileutil.h"
#include "engine_internal.h"
#include "graph/graph.h"
#include "graphdriver/driver.h"
#include "graph/image.h"
#include "jobs.h"
#include "runtimes.h"

static int job_system_info(struct job *job)
{
  struct engine *e = job->engine;
  int total = 0, running = 0, paused = 0, stopped = 0;
  pthread_mutex_lock(&e->lock);
  for (size_t i = 0; i < e->n_ctrs; i++) {
    total++;
    if (e->ctrs[i]->state == CTR_RUNNING)
      running++;
    else if (e->ctrs[i]->state == CTR_PAUSED)
      paused++;
    else
      stopped++;
  }
  pthread_mutex_unlock(&e->lock);
  json_t *images = NULL;
  struct berr ignored;
  size_t nimages = 0;
  if (graph_image_list(e->graph, false, &images, &ignored) == 0)
    nimages = json_array_size(images);
  json_decref(images);
  struct utsname u;
  uname(&u);
  struct sysinfo si;
  sysinfo(&si);
  char hostname[256] = "";
  gethostname(hostname, sizeof(hostname) - 1);
  char now[64];
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", &tm);
  json_t *r = json_object();
  json_object_set_new(r, "ID", json_string("berth"));
  json_object_set_new(r, "Containers", json_integer(total));
  json_object_set_new(r, "ContainersRunning", json_integer(running));
  json_object_set_new(r, "ContainersPaused", json_integer(paused));
  json_object_set_new(r, "ContainersStopped", json_integer(stopped));
  json_object_set_new(r, "Images", json_integer((json_int_t)nimages));
  json_object_set_new(r, "Driver", json_string(gd_driver_name(graph_driver(e->graph))));
  json_object_set_new(r, "DriverStatus", json_array());
  const char *bools[] = {"MemoryLimit", "CpuCfsPeriod", "CpuCfsQuota",    "CPUShares",
                         "CPUSet",      "PidsLimit",    "OomKillDisable", "IPv4Forwarding"};
  for (size_t k = 0; k < sizeof(bools) / sizeof(bools[0]); k++)
    json_object_set_new(r, bools[k], json_true());
  json_object_set_new(r, "SwapLimit", json_false());
  json_object_set_new(r, "Debug", json_false());
  json_object_set_new(r, "NFd", json_integer(0));
  json_object_set_new(r, "NGoroutines", json_integer(0));
  json_object_set_new(r, "NEventsListener", json_integer(0));
  json_object_set_new(r, "SystemTime", json_string(now));
  json_object_set_new(r, "LoggingDriver", json_string("json-file"));
  json_object_set_new(r, "CgroupDriver", json_string("cgroupfs"));
  json_object_set_new(
      r, "CgroupVersion",
      json_string(access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0 ? "2" : "1"));
  json_object_set_new(r, "KernelVersion", json_string(u.release));
  json_object_set_new(r, "OperatingSystem", json_string("berth"));
  json_object_set_new(r, "OSVersion", json_string(BERTH_VERSION));
  json_object_set_new(r, "OSType", json_string("linux"));
  json_object_set_new(r, "Architecture", json_string(u.machine));
  json_object_set_new(r, "NCPU", json_integer(sysconf(_SC_NPROCESSORS_ONLN)));
  json_object_set_new(r, "MemTotal", json_integer((json_int_t)si.totalram * si.mem_unit));
  json_object_set_new(r, "DockerRootDir", json_string(e->cfg.data_root));
  json_object_set_new(r, "Name", json_string(hostname));
  json_object_set_new(r, "Labels", json_array());
  json_object_set_new(r, "ExperimentalBuild", json_false());
  json_object_set_new(r, "ServerVersion", json_string(BERTH_VERSION));
  json_object_set_new(r, "Runtimes", runtime_list(e));
  json_object_set_new(r, "DefaultRuntime", json_string("native"));
  json_object_set_new(r, "InitBinary", json_string("berth-init"));
  json_object_set_new(r, "Swarm",
                      json_pack("{s:s,s:b}", "LocalNodeState", "inactive", "ControlAvailable", 0));
  json_object_set_new(r, "LiveRestoreEnabled", json_boolean(e->cfg.live_restore));
  json_object_set_new(r, "Isolation", json_string(""));
  json_t *secopts = json_pack("[s]", "name=seccomp,profile=builtin");
  if (e->cfg.userns) /* as dockerd: the remap shows among the security options */
    json_array_append_new(secopts, json_string("name=userns"));
  json_object_set_new(r, "SecurityOptions", secopts);
  json_object_set_new(r, "Warnings", json_array());
  job->result = r;
  return job->result ? 0 : job_fail(job, 500, "info");
}

static bool filter_ok(json_t *filters, json_t *ev)
{
  const char *key;
  json_t *vals;
  json_object_foreach(filters, key, vals)
  {
    if (!json_array_size(vals))
      continue;
    const char *type = json_string_value(json_object_get(ev, "Type"));
    const char *action = json_string_value(json_object_get(ev, "Action"));
    json_t *actor = json_object_get(ev, "Actor");
    const char *id = json_string_value(json_object_get(actor, "ID"));
    json_t *attrs = json_object_get(actor, "Attributes");
    bool any = false;
    size_t i;
    json_t *v;
    json_array_foreach(vals, i, v)
    {
      const char *s = json_string_value(v);
      if (!s)
        continue;
      if (strcmp(key, "type") == 0)
        any |= type && strcmp(type, s) == 0;
      else if (strcmp(key, "event") == 0)
        any |= action && (strcmp(action, s) == 0 ||
                          (strncmp(action, s, strlen(s)) == 0 && action[strlen(s)] == ':'));
      else if (strcmp(key, "container") == 0 || strcmp(key, "image") == 0 ||
               strcmp(key, "network") == 0 || strcmp(key, "volume") == 0) {
        const char *name = json_string_value(json_object_get(attrs, "name"));
        any |= type && strcmp(type, key) == 0 &&
               ((id && strncmp(id, s, strlen(s)) == 0) || (name && strcmp(name, s) == 0));
        if (strcmp(key, "image") == 0 && type && strcmp(type, "container") == 0) {
          const char *img = json_string_value(json_object_get(attrs, "image"));
          any |= img && strcmp(img, s) == 0;
        }
      } else if (strcmp(key, "label") == 0) {
        const char *eq = strchr(s, '=');
        char k[256];
        snprintf(k, sizeof(k), "%.*s", eq ? (int)(eq - s) : (int)strlen(s), s);
        json_t *lv = json_object_get(attrs, k);
        any |= lv && (!eq || (json_is_string(lv) && strcmp(json_string_value(lv), eq + 1) == 0));
      } else if (strcmp(key, "scope") == 0) {
        any |= strcmp(s, "local") == 0;
      } else {
        any = true;
      }
    }
    if (!any)
      return false;
  }
  return true;
}

/* "<unix>" or "<unix>.<nanos>" (what both clients send) as nanoseconds; 0 when absent.
 * Parsed as integers: a double loses the nanoseconds a --since of a past event needs. */
static long long time_arg(const char *s)
{
  if (!s || !*s)
    return 0;
  char *end;
  long long sec = strtoll(s, &end, 10);
  long long ns = 0;
  if (*end == '.') {
    long long scale = 100000000LL;
    for (const char *f = end + 1; *f >= '0' && *f <= '9' && scale > 0; f++, scale /= 10)
      ns += (*f - '0') * scale;
  }
  return sec * 1000000000LL + ns;
}

static int job_system_events(struct job *job)
{
  struct engine *e = job->engine;
  json_t *filters = NULL;
  if (job_query_filters(job, &filters, &job->err) < 0)
    return -EINVAL;
  long long since = time_arg(job_query_str(job, "since"));
  long long until = time_arg(job_query_str(job, "until"));
  int fd = job_stream_begin(job, "application/json");
  if (fd < 0) {
    json_decref(filters);
    return job_fail(job, 500, "cannot stream events");
  }
  /* With `since` (since=0 too: everything), replay what the ring still holds; otherwise only
   * what comes next. */
  const char *since_arg = job_query_str(job, "since");
  uint64_t cursor = since_arg && *since_arg ? events_oldest(&e->events) : e->events.next;
  for (bool first = true;; first = false) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    long long now = (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
    /* An `until` already past still gets the replay first, then the stream ends. */
    if (until && now >= until && !first)
      break;
    int wait_ms = 1000;
    if (until && (until - now) / 1000000 < wait_ms)
      wait_ms = until > now ? (int)((until - now) / 1000000) + 1 : 0;
    json_t *batch = events_wait(&e->events, &cursor, wait_ms);
    if (!batch)
      break;
    bool gone = false;
    size_t i;
    json_t *ev;
    json_array_foreach(batch, i, ev)
    {
      long long t = json_integer_value(json_object_get(ev, "timeNano"));
      if ((since && t < since) || (until && t > until) || !filter_ok(filters, ev))
        continue;
      char *text = json_dumps(ev, JSON_COMPACT);
      if (text) {
        size_t n = strlen(text);
        text[n] = '\n';
        if (bf_write_all(fd, text, n + 1) < 0)
          gone = true;
        free(text);
      }
    }
    json_decref(batch);
    if (gone)
      break;
    struct pollfd p = {.fd = fd};
    if (poll(&p, 1, 0) > 0 && (p.revents & (POLLERR | POLLHUP)))
      break;
  }
  json_decref(filters);
  return 0;
}

void jobs_system_register(struct engine *e)
{
  engine_register(e, "system.info", job_system_info);
  engine_register(e, "system.events", job_system_events);
}
