/* Health checks: a thread per running container with a HEALTHCHECK runs the probe as an
 * exec in the container every interval and keeps State.Health (status, failing streak,
 * the last 5 results) as moby's daemon/health.go does; a probe past its timeout is killed. */
#include "health.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "engine_internal.h"
#include "exec_inst.h"
#include "lifecycle.h"
#include "repository.h"
#include "supervisor.h"

#define NS 1000000000LL
#define DEFAULT_INTERVAL (30 * NS)
#define DEFAULT_TIMEOUT (30 * NS)
#define DEFAULT_START_INTERVAL (5 * NS)
#define DEFAULT_RETRIES 3
#define MAX_LOG_ENTRIES 5
#define MAX_OUTPUT 4096

static long long mono_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * NS + ts.tv_nsec;
}

static struct timespec mono_at(long long ns)
{
  return (struct timespec){.tv_sec = ns / NS, .tv_nsec = ns % NS};
}

static long long dur(json_t *hc, const char *key, long long dflt)
{
  json_int_t v = json_integer_value(json_object_get(hc, key));
  return v > 0 ? v : dflt;
}

/* The probe's command, or NULL when the container has no (enabled) health check. */
static json_t *probe_args(json_t *config)
{
  json_t *test = json_object_get(json_object_get(config, "Healthcheck"), "Test");
  const char *kind = json_string_value(json_array_get(test, 0));
  if (!kind)
    return NULL;
  if (strcmp(kind, "CMD") == 0 && json_array_size(test) > 1) {
    json_t *a = json_array();
    for (size_t i = 1; i < json_array_size(test); i++)
      json_array_append(a, json_array_get(test, i));
    return a;
  }
  if (strcmp(kind, "CMD-SHELL") == 0 && json_array_size(test) == 2) {
    json_t *shell = json_object_get(config, "Shell");
    json_t *a =
        json_array_size(shell) ? json_deep_copy(shell) : json_pack("[s,s]", "/bin/sh", "-c");
    json_array_append(a, json_array_get(test, 1));
    return a;
  }
  return NULL;
}

bool health_configured(json_t *config)
{
  json_t *a = probe_args(config);
  json_decref(a);
  return a != NULL;
}

struct probe_result {
  int code;
  char output[MAX_OUTPUT + 1];
  size_t len;
  char start[64], end[64];
};

static void add_output(struct probe_result *res, const char *p, size_t n)
{
  if (res->len + n > MAX_OUTPUT)
    n = MAX_OUTPUT - res->len;
  memcpy(res->output + res->len, p, n);
  res->len += n;
  res->output[res->len] = 0;
}

static struct exec_inst *exec_find(struct engine *e, const char *id)
{
  for (size_t i = 0; i < e->n_execs; i++)
    if (strcmp(e->execs[i]->id, id) == 0)
      return e->execs[i];
  return NULL;
}

static void exec_forget(struct engine *e, struct exec_inst *x)
{
  for (size_t i = 0; i < e->n_execs; i++)
    if (e->execs[i] == x) {
      e->execs[i] = e->execs[--e->n_execs];
      break;
    }
  json_decref(x->config);
  free(x);
}

/* Read the probe's stdcopy stream until EOF or the deadline. Returns false at the deadline
 * (or at a daemon shutdown). Frames: 8-byte header (stream, 0, 0, 0, size big-endian), then data.
 */
static bool read_stream(struct engine *e, int fd, long long deadline, struct probe_result *res,
                        unsigned char *hdr, size_t *hdr_len, size_t *left)
{
  char buf[4096];
  for (;;) {
    /* In slices, so a daemon shutdown does not wait for a slow probe. */
    int wait_ms = 200;
    long long now = mono_ns();
    if (now >= deadline || __atomic_load_n(&e->shutting_down, __ATOMIC_RELAXED))
      return false;
    if ((deadline - now) / 1000000 < wait_ms)
      wait_ms = (int)((deadline - now) / 1000000) + 1;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int r = poll(&p, 1, wait_ms);
    if (r < 0 && errno == EINTR)
      continue;
    if (r == 0)
      continue;
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return true;
    for (ssize_t i = 0; i < n;) {
      if (*left) {
        size_t take = (size_t)(n - i) < *left ? (size_t)(n - i) : *left;
        add_output(res, buf + i, take);
        *left -= take;
        i += (ssize_t)take;
      } else {
        hdr[(*hdr_len)++] = (unsigned char)buf[i++];
        if (*hdr_len == 8) {
          *left = (size_t)hdr[4] << 24 | (size_t)hdr[5] << 16 | (size_t)hdr[6] << 8 | hdr[7];
          *hdr_len = 0;
        }
      }
    }
  }
}

/* Run one probe (engine lock held on entry and on return; released meanwhile). */
static int run_probe(struct engine *e, struct container *c, json_t *args, long long timeout,
                     struct probe_result *res)
{
  memset(res, 0, sizeof(*res));
  ctr_now(res->start, sizeof(res->start));
  struct exec_inst *x = calloc(1, sizeof(*x));
  unsigned char rnd[32];
  if (!x || getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd)) {
    free(x);
    return -ENOMEM;
  }
  for (size_t i = 0; i < 32; i++)
    snprintf(x->id + 2 * i, 3, "%02x", rnd[i]);
  memcpy(x->container_id, c->id, sizeof(x->container_id));
  x->config = json_pack("{s:O,s:s,s:b,s:b,s:b,s:b}", "Cmd", args, "User", "", "Tty", 0,
                        "AttachStdin", 0, "AttachStdout", 1, "AttachStderr", 1);
  x->started = true;
  if (e->n_execs == e->cap_execs) {
    size_t cap = e->cap_execs ? e->cap_execs * 2 : 16;
    struct exec_inst **n = realloc(e->execs, cap * sizeof(*n));
    if (!n) {
      json_decref(x->config);
      free(x);
      return -ENOMEM;
    }
    e->execs = n;
    e->cap_execs = cap;
  }
  e->execs[e->n_execs++] = x;
  /* A probe is an exec as any other, as in dockerd: exec_create, exec_start, exec_die. */
  char action[1100];
  exec_event_action("exec_create", args, action, sizeof(action));
  json_t *attrs = lifecycle_attrs(c);
  json_object_set_new(attrs, "execID", json_string(x->id));
  events_emit(&e->events, "container", action, c->id, attrs);
  char xid[65], cid[65];
  memcpy(xid, x->id, sizeof(xid));
  memcpy(cid, c->id, sizeof(cid));
  json_t *xc = json_incref(x->config);
  pthread_mutex_unlock(&e->lock);

  struct berr err;
  json_t *proc = NULL;
  int r = exec_process_spec(e, cid, xc, &proc, &err);
  json_decref(xc);
  int sp[2] = {-1, -1};
  if (r == 0 && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
    r = berr_errno(&err, "socketpair");
  pthread_mutex_lock(&e->lock);
  x = exec_find(e, xid);
  if (r == 0 && x && c->shim_fd >= 0 && !c->removed) {
    json_t *msg = json_pack("{s:s,s:s,s:o,s:b,s:b,s:b}", "op", "exec", "exec_id", xid, "process",
                            proc, "stdin", 0, "stdout", 1, "stderr", 1);
    proc = NULL;
    r = sup_send(c, msg, sp[1], &err);
    json_decref(msg);
    exec_event_action("exec_start", args, action, sizeof(action));
    attrs = lifecycle_attrs(c);
    json_object_set_new(attrs, "execID", json_string(xid));
    events_emit(&e->events, "container", action, c->id, attrs);
  } else if (r == 0) {
    r = berr_set(&err, 0, "container is not running");
  }
  json_decref(proc);
  if (sp[1] >= 0)
    close(sp[1]);
  bool timed_out = false;
  if (r == 0) {
    pthread_mutex_unlock(&e->lock);
    unsigned char hdr[8];
    size_t hdr_len = 0, left = 0;
    if (!read_stream(e, sp[0], mono_ns() + timeout, res, hdr, &hdr_len, &left)) {
      timed_out = true;
      pthread_mutex_lock(&e->lock);
      x = exec_find(e, xid);
      if (x && x->running && x->pid > 0)
        kill(x->pid, SIGKILL);
      pthread_mutex_unlock(&e->lock);
      /* The killed probe's stream ends once the shim reaps it. */
      read_stream(e, sp[0], mono_ns() + 30 * NS, res, hdr, &hdr_len, &left);
    }
    pthread_mutex_lock(&e->lock);
    long long until = mono_ns() + 30 * NS;
    struct timespec ts = mono_at(until);
    while ((x = exec_find(e, xid)) && !x->has_exit && c->shim_fd >= 0 &&
           pthread_cond_timedwait(&e->changed, &e->lock, &ts) != ETIMEDOUT)
      ;
  }
  if (sp[0] >= 0)
    close(sp[0]);
  x = exec_find(e, xid);
  if (r < 0) {
    res->code = -1;
    add_output(res, err.msg, strlen(err.msg));
  } else if (timed_out) {
    res->code = -1;
    res->len = 0;
    char msg[128];
    snprintf(msg, sizeof(msg), "Health check exceeded timeout (%llds)", timeout / NS);
    if (timeout % NS)
      snprintf(msg, sizeof(msg), "Health check exceeded timeout (%lldms)", timeout / 1000000);
    add_output(res, msg, strlen(msg));
  } else if (x && x->error[0]) {
    res->code = -1;
    add_output(res, x->error, strlen(x->error));
  } else {
    res->code = x && x->has_exit ? x->exit_code : -1;
  }
  if (x)
    exec_forget(e, x);
  ctr_now(res->end, sizeof(res->end));
  return 0;
}

/* Record a result in State.Health (lock held); emits health_status on a change. */
static void record(struct engine *e, struct container *c, json_t *hc, struct probe_result *res)
{
  json_t *st = json_object_get(c->doc, "State");
  json_t *h = json_object_get(st, "Health");
  if (!json_is_object(h))
    return;
  json_t *log = json_object_get(h, "Log");
  if (!json_is_array(log)) {
    log = json_array();
    json_object_set_new(h, "Log", log);
  }
  json_array_append_new(log, json_pack("{s:s,s:s,s:i,s:s}", "Start", res->start, "End", res->end,
                                       "ExitCode", res->code, "Output", res->output));
  while (json_array_size(log) > MAX_LOG_ENTRIES)
    json_array_remove(log, 0);
  const char *old = json_string_value(json_object_get(h, "Status")) ?: "starting";
  char before[32];
  snprintf(before, sizeof(before), "%s", old);
  if (res->code == 0) {
    json_object_set_new(h, "FailingStreak", json_integer(0));
    json_object_set_new(h, "Status", json_string("healthy"));
  } else {
    long long start_period = dur(hc, "StartPeriod", 0);
    long long started = ctr_time_ns(json_string_value(json_object_get(st, "StartedAt")));
    long long now = ctr_time_ns(res->end);
    bool in_start_period =
        strcmp(before, "starting") == 0 && start_period > 0 && now - started < start_period;
    if (!in_start_period) {
      json_int_t streak = json_integer_value(json_object_get(h, "FailingStreak")) + 1;
      json_object_set_new(h, "FailingStreak", json_integer(streak));
      json_int_t retries = json_integer_value(json_object_get(hc, "Retries"));
      if (retries <= 0)
        retries = DEFAULT_RETRIES;
      if (streak >= retries)
        json_object_set_new(h, "Status", json_string("unhealthy"));
    }
  }
  const char *now_status = json_string_value(json_object_get(h, "Status"));
  struct berr err;
  repo_save(e, c, &err);
  if (strcmp(before, now_status) != 0) {
    char action[64];
    snprintf(action, sizeof(action), "health_status: %s", now_status);
    events_emit(&e->events, "container", action, c->id, lifecycle_attrs(c));
  }
}

struct monitor_arg {
  struct engine *e;
  struct container *c;
  unsigned gen;
};

static bool still_mine(struct engine *e, struct container *c, unsigned gen)
{
  return !c->removed && c->health_gen == gen && !e->shutting_down &&
         (c->state == CTR_RUNNING || c->state == CTR_PAUSED);
}

static void *health_monitor(void *arg)
{
  struct monitor_arg *m = arg;
  struct engine *e = m->e;
  struct container *c = m->c;
  unsigned gen = m->gen;
  free(m);
  pthread_mutex_lock(&e->lock);
  while (still_mine(e, c, gen)) {
    json_t *config = json_object_get(c->doc, "Config");
    json_t *hc = json_deep_copy(json_object_get(config, "Healthcheck"));
    json_t *args = probe_args(config);
    if (!args) {
      json_decref(hc);
      break;
    }
    long long interval = dur(hc, "Interval", DEFAULT_INTERVAL);
    json_t *st = json_object_get(c->doc, "State");
    const char *status =
        json_string_value(json_object_get(json_object_get(st, "Health"), "Status")) ?: "";
    long long start_period = dur(hc, "StartPeriod", 0);
    long long started = ctr_time_ns(json_string_value(json_object_get(st, "StartedAt")));
    char now[64];
    ctr_now(now, sizeof(now));
    /* In the start period a container not yet healthy is probed at StartInterval. */
    if (strcmp(status, "starting") == 0 && start_period > 0 &&
        ctr_time_ns(now) - started < start_period && json_object_get(hc, "StartInterval"))
      interval = dur(hc, "StartInterval", DEFAULT_START_INTERVAL);
    struct timespec until = mono_at(mono_ns() + interval);
    while (still_mine(e, c, gen) &&
           pthread_cond_timedwait(&e->changed, &e->lock, &until) != ETIMEDOUT)
      ;
    if (still_mine(e, c, gen) && c->state == CTR_RUNNING) {
      struct probe_result *res = malloc(sizeof(*res));
      if (res && run_probe(e, c, args, dur(hc, "Timeout", DEFAULT_TIMEOUT), res) == 0 &&
          still_mine(e, c, gen))
        record(e, c, hc, res);
      free(res);
    }
    json_decref(args);
    json_decref(hc);
  }
  ctr_unref(e, c);
  e->helpers--;
  pthread_cond_broadcast(&e->changed);
  pthread_mutex_unlock(&e->lock);
  return NULL;
}

void health_start(struct engine *e, struct container *c, bool reset)
{
  json_t *config = json_object_get(c->doc, "Config");
  c->health_gen++;
  if (!health_configured(config))
    return;
  json_t *st = json_object_get(c->doc, "State");
  if (reset || !json_is_object(json_object_get(st, "Health")))
    json_object_set_new(
        st, "Health", json_pack("{s:s,s:i,s:[]}", "Status", "starting", "FailingStreak", 0, "Log"));
  struct monitor_arg *m = malloc(sizeof(*m));
  if (!m)
    return;
  *m = (struct monitor_arg){.e = e, .c = c, .gen = c->health_gen};
  c->refs++;
  pthread_t t;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, 256 * 1024);
  e->helpers++;
  if (pthread_create(&t, &attr, health_monitor, m) != 0) {
    c->refs--;
    e->helpers--;
    free(m);
    blog(BLOG_WARN, "container %s: no health monitor thread", c->id);
  }
  pthread_attr_destroy(&attr);
}
