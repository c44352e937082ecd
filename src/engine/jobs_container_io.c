/* Container jobs that stream: wait, attach (hijacked), logs; and resize. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fileutil.h"
#include "engine_internal.h"
#include "jobs.h"
#include "lifecycle.h"
#include "repository.h"
#include "relay.h"
#include "supervisor.h"

/* The reader of a streamed response went away: the write end reports an error. */
static bool stream_gone(int fd)
{
  struct pollfd p = {.fd = fd, .events = 0};
  return poll(&p, 1, 0) > 0 && (p.revents & (POLLERR | POLLHUP | POLLNVAL));
}

static void timed_wait(struct engine *e, int ms)
{
  struct timespec until;
  clock_gettime(CLOCK_MONOTONIC, &until);
  until.tv_nsec += (long)ms * 1000000L;
  while (until.tv_nsec >= 1000000000L) {
    until.tv_sec++;
    until.tv_nsec -= 1000000000L;
  }
  pthread_cond_timedwait(&e->changed, &e->lock, &until);
}

static int job_container_wait(struct job *job)
{
  struct engine *e = job->engine;
  const char *cond = job_query_str(job, "condition");
  if (!cond || !*cond)
    cond = "not-running";
  if (strcmp(cond, "not-running") && strcmp(cond, "next-exit") && strcmp(cond, "removed"))
    return job_fail(job, 400, "invalid condition: \"%s\"", cond);
  pthread_mutex_lock(&e->lock);
  struct container *c = repo_find(e, job_path(job, "id"), &job->err);
  if (!c) {
    pthread_mutex_unlock(&e->lock);
    return -job->err.code;
  }
  c->refs++;
  unsigned long exits0 = c->exits;
  pthread_mutex_unlock(&e->lock);

  /* Headers go out now: docker run sends start only once it has them. */
  int fd = job_stream_begin(job, "application/json");
  pthread_mutex_lock(&e->lock);
  int code = 0;
  bool gone = false;
  for (;;) {
    bool running = c->state == CTR_RUNNING || c->state == CTR_PAUSED || c->state == CTR_RESTARTING;
    bool done = strcmp(cond, "removed") == 0     ? c->removed
                : strcmp(cond, "next-exit") == 0 ? c->exits != exits0 || c->removed
                                                 : !running || c->removed;
    if (done)
      break;
    if (fd >= 0 && stream_gone(fd)) {
      gone = true;
      break;
    }
    timed_wait(e, 1000);
  }
  code = (int)json_integer_value(json_object_get(json_object_get(c->doc, "State"), "ExitCode"));
  ctr_unref(e, c);
  pthread_mutex_unlock(&e->lock);
  if (gone)
    return 0;
  char body[64];
  int n = snprintf(body, sizeof(body), "{\"StatusCode\":%d}\n", code);
  if (fd >= 0)
    bf_write_all(fd, body, (size_t)n);
  else
    job->result = json_pack("{s:i}", "StatusCode", code);
  return 0;
}

static int job_container_attach(struct job *job)
{
  struct engine *e = job->engine;
  bool in = job_query_bool(job, "stdin", false), out = job_query_bool(job, "stdout", false),
       errs = job_query_bool(job, "stderr", false);
  bool stream = job_query_bool(job, "stream", false);
  pthread_mutex_lock(&e->lock);
  struct container *c = repo_find(e, job_path(job, "id"), &job->err);
  if (!c) {
    pthread_mutex_unlock(&e->lock);
    return -job->err.code;
  }
  if (c->state == CTR_PAUSED) {
    pthread_mutex_unlock(&e->lock);
    return job_fail(job, 409, "container %s is paused, unpause the container before attach",
                    job_path(job, "id"));
  }
  json_t *config = json_object_get(c->doc, "Config");
  bool tty = json_is_true(json_object_get(config, "Tty"));
  in = in && json_is_true(json_object_get(config, "OpenStdin"));
  c->refs++;
  pthread_mutex_unlock(&e->lock);

  int fd = job_hijack_begin(job, tty ? "application/vnd.docker.raw-stream"
                                     : "application/vnd.docker.multiplexed-stream");
  int sp[2] = {-1, -1};
  pthread_mutex_lock(&e->lock);
  if (fd >= 0 && stream && !c->removed &&
      socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == 0) {
    if (c->state == CTR_CREATED || c->busy) {
      /* Not started yet: the shim gets it at start, so no output is missed. */
      struct ctr_attach *a = calloc(1, sizeof(*a));
      if (a) {
        *a =
            (struct ctr_attach){.fd = sp[1], .in = in, .out = out, .err = errs, .next = c->pending};
        c->pending = a;
        sp[1] = -1;
      }
    } else if (c->state == CTR_RUNNING && c->shim_fd >= 0) {
      json_t *m = json_pack("{s:s,s:b,s:b,s:b}", "op", "attach", "stdin", in, "stdout", out,
                            "stderr", errs);
      struct berr ignored;
      sup_send(c, m, sp[1], &ignored);
      json_decref(m);
    }
    /* stopped: nothing more will come; closing the pair ends the stream */
    if (sp[1] >= 0)
      close(sp[1]);
  }
  if (c->state == CTR_RUNNING || c->state == CTR_CREATED)
    events_emit(&e->events, "container", "attach", c->id, lifecycle_attrs(c));
  ctr_unref(e, c);
  pthread_mutex_unlock(&e->lock);
  if (sp[0] >= 0) {
    relay_run(fd, sp[0]);
    close(sp[0]);
  }
  if (fd >= 0)
    job_hijack_end(job);
  return 0;
}

struct log_opts {
  bool out, err, ts, tty;
  long long since_ns, until_ns;
};

static long long parse_unix_ns(const char *s)
{
  if (!s || !*s)
    return 0;
  char *end;
  long long sec = strtoll(s, &end, 10);
  long long ns = 0;
  if (*end == '.') {
    int digits = 0;
    for (end++; *end >= '0' && *end <= '9'; end++, digits++)
      if (digits < 9)
        ns = ns * 10 + (*end - '0');
    for (; digits < 9; digits++)
      ns *= 10;
  }
  return sec * 1000000000LL + ns;
}

/* Write one log entry the way `docker logs` reads it. Returns -1 when the client is gone. */
static int emit_entry(int fd, const struct log_opts *o, json_t *entry)
{
  const char *stream = json_string_value(json_object_get(entry, "stream"));
  const char *text = json_string_value(json_object_get(entry, "log"));
  const char *when = json_string_value(json_object_get(entry, "time"));
  if (!text || !stream)
    return 0;
  bool is_err = strcmp(stream, "stderr") == 0;
  if ((is_err && !o->err) || (!is_err && !o->out))
    return 0;
  long long t = ctr_time_ns(when);
  if ((o->since_ns && t < o->since_ns) || (o->until_ns && t > o->until_ns))
    return 0;
  size_t len = json_string_length(json_object_get(entry, "log"));
  char prefix[64] = "";
  if (o->ts && when)
    snprintf(prefix, sizeof(prefix), "%s ", when);
  size_t plen = strlen(prefix);
  size_t total = plen + len;
  unsigned char hdr[8] = {(unsigned char)(is_err ? 2 : 1),
                          0,
                          0,
                          0,
                          (unsigned char)(total >> 24),
                          (unsigned char)(total >> 16),
                          (unsigned char)(total >> 8),
                          (unsigned char)total};
  if (!o->tty && bf_write_all(fd, hdr, 8) < 0)
    return -1;
  if ((plen && bf_write_all(fd, prefix, plen) < 0) || bf_write_all(fd, text, len) < 0)
    return -1;
  return 0;
}

static int job_container_logs(struct job *job)
{
  struct engine *e = job->engine;
  struct log_opts o = {.out = job_query_bool(job, "stdout", false),
                       .err = job_query_bool(job, "stderr", false),
                       .ts = job_query_bool(job, "timestamps", false)};
  if (!o.out && !o.err)
    return job_fail(job, 400, "Bad parameters: you must choose at least one stream");
  o.since_ns = parse_unix_ns(job_query_str(job, "since"));
  o.until_ns = parse_unix_ns(job_query_str(job, "until"));
  bool follow = job_query_bool(job, "follow", false);
  const char *tail_s = job_query_str(job, "tail");
  long long tail = tail_s && *tail_s && strcmp(tail_s, "all") != 0 ? atoll(tail_s) : -1;

  char path[4096];
  pthread_mutex_lock(&e->lock);
  struct container *c = repo_find(e, job_path(job, "id"), &job->err);
  if (!c) {
    pthread_mutex_unlock(&e->lock);
    return -job->err.code;
  }
  json_t *host = json_object_get(c->doc, "HostConfig");
  const char *driver =
      json_string_value(json_object_get(json_object_get(host, "LogConfig"), "Type"));
  if (driver && strcmp(driver, "none") == 0) {
    pthread_mutex_unlock(&e->lock);
    return job_fail(job, 501, "configured logging driver does not support reading");
  }
  o.tty = json_is_true(json_object_get(json_object_get(c->doc, "Config"), "Tty"));
  sup_log_path(e, c->id, path, sizeof(path));
  c->refs++;
  pthread_mutex_unlock(&e->lock);

  int fd = job_stream_begin(job, o.tty ? "application/vnd.docker.raw-stream"
                                       : "application/vnd.docker.multiplexed-stream");
  FILE *f = fopen(path, "re");
  char *line = NULL;
  size_t cap = 0;
  bool gone = fd < 0;
  if (f && !gone) {
    /* tail: count entries first, then skip all but the last N. */
    long long total = 0, skip = 0;
    if (tail >= 0) {
      while (getline(&line, &cap, f) > 0)
        total++;
      skip = total > tail ? total - tail : 0;
      rewind(f);
    }
    ssize_t n;
    while (!gone && (n = getline(&line, &cap, f)) > 0) {
      if (skip > 0) {
        skip--;
        continue;
      }
      json_error_t je;
      json_t *entry = json_loadb(line, (size_t)n, 0, &je);
      if (entry && emit_entry(fd, &o, entry) < 0)
        gone = true;
      json_decref(entry);
    }
    clearerr(f);
  }
  /* follow: keep reading what the shim appends until the container stops. */
  while (follow && !gone) {
    pthread_mutex_lock(&e->lock);
    bool running = !c->removed && (c->state == CTR_RUNNING || c->state == CTR_PAUSED ||
                                   c->state == CTR_RESTARTING || c->busy);
    pthread_mutex_unlock(&e->lock);
    if (!f)
      f = fopen(path, "re");
    ssize_t n;
    bool any = false;
    while (f && !gone && (n = getline(&line, &cap, f)) > 0) {
      if (line[n - 1] != '\n') { /* a line still being written: read it again later */
        fseeko(f, -(off_t)n, SEEK_CUR);
        break;
      }
      any = true;
      json_error_t je;
      json_t *entry = json_loadb(line, (size_t)n, 0, &je);
      if (entry && emit_entry(fd, &o, entry) < 0)
        gone = true;
      json_decref(entry);
    }
    if (f)
      clearerr(f);
    if (!running && !any)
      break;
    if (stream_gone(fd))
      break;
    if (!any)
      usleep(50000);
  }
  free(line);
  if (f)
    fclose(f);
  pthread_mutex_lock(&e->lock);
  ctr_unref(e, c);
  pthread_mutex_unlock(&e->lock);
  return 0;
}

static int job_container_resize(struct job *job)
{
  struct engine *e = job->engine;
  long long h = 0, w = 0;
  if (job_query_int(job, "h", 0, &h, &job->err) < 0 ||
      job_query_int(job, "w", 0, &w, &job->err) < 0)
    return -EINVAL;
  pthread_mutex_lock(&e->lock);
  struct container *c = repo_find(e, job_path(job, "id"), &job->err);
  int r = 0;
  if (!c) {
    r = -job->err.code;
  } else if (c->state != CTR_RUNNING || c->shim_fd < 0) {
    r = job_fail(job, 409, "container %s is not running", c->id);
  } else {
    r = sup_resize(c, NULL, h, w, &job->err);
    if (r == 0)
      events_emit(&e->events, "container", "resize", c->id, lifecycle_attrs(c));
  }
  pthread_mutex_unlock(&e->lock);
  return r;
}

void jobs_container_io_register(struct engine *e)
{
  engine_register(e, "container.wait", job_container_wait);
  engine_register(e, "container.attach", job_container_attach);
  engine_register(e, "container.logs", job_container_logs);
  engine_register(e, "container.resize", job_container_resize);
}
