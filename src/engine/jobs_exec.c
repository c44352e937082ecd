/* docker exec: exec.create records an instance, exec.start runs it through the
 * container's shim (hijacked for attached execs), exec.inspect reports its exit code. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/bjson.h"
#include "common/cleanup.h"
#include "common/fileutil.h"
#include "engine_internal.h"
#include "exec_inst.h"
#include "execdriver/user.h"
#include "jobs.h"
#include "libcontainer/security/caps.h"
#include "lifecycle.h"
#include "repository.h"
#include "relay.h"
#include "supervisor.h"

static struct exec_inst *find_exec(struct engine *e, const char *id)
{
  for (size_t i = 0; id && i < e->n_execs; i++)
    if (strcmp(e->execs[i]->id, id) == 0)
      return e->execs[i];
  return NULL;
}

void exec_event_action(const char *what, json_t *cmd, char *buf, size_t len)
{
  size_t used =
      (size_t)snprintf(buf, len, "%s: %s ", what, json_string_value(json_array_get(cmd, 0)) ?: "");
  for (size_t i = 1; i < json_array_size(cmd) && used < len; i++)
    used += (size_t)snprintf(buf + used, len - used, "%s%s", i > 1 ? " " : "",
                             json_string_value(json_array_get(cmd, i)) ?: "");
}

static int job_exec_create(struct job *job)
{
  struct engine *e = job->engine;
  json_t *body = job_body(job);
  json_t *cmd = json_object_get(body, "Cmd");
  if (!json_is_array(cmd) || json_array_size(cmd) == 0)
    return job_fail(job, 400, "No exec command specified");
  pthread_mutex_lock(&e->lock);
  struct container *c = repo_find(e, job_path(job, "id"), &job->err);
  int r = 0;
  if (!c) {
    r = -job->err.code;
  } else if (c->state == CTR_PAUSED) {
    r = job_fail(job, 409, "Container %s is paused, unpause the container before exec", c->id);
  } else if (c->state != CTR_RUNNING) {
    r = job_fail(job, 409, "container %s is not running", c->id);
  } else {
    struct exec_inst *x = calloc(1, sizeof(*x));
    unsigned char rnd[32];
    if (!x || getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd)) {
      free(x);
      r = job_fail(job, 500, "out of memory");
    } else {
      for (size_t i = 0; i < 32; i++)
        snprintf(x->id + 2 * i, 3, "%02x", rnd[i]);
      memcpy(x->container_id, c->id, sizeof(x->container_id));
      x->config = json_deep_copy(body);
      if (e->n_execs == e->cap_execs) {
        size_t cap = e->cap_execs ? e->cap_execs * 2 : 16;
        struct exec_inst **n = realloc(e->execs, cap * sizeof(*n));
        if (n) {
          e->execs = n;
          e->cap_execs = cap;
        }
      }
      if (e->n_execs < e->cap_execs) {
        e->execs[e->n_execs++] = x;
        char action[1100];
        exec_event_action("exec_create", cmd, action, sizeof(action));
        json_t *attrs = lifecycle_attrs(c);
        json_object_set_new(attrs, "execID", json_string(x->id));
        events_emit(&e->events, "container", action, c->id, attrs);
        job->result = json_pack("{s:s}", "Id", x->id);
        job->status = 201;
      } else {
        json_decref(x->config);
        free(x);
        r = job_fail(job, 500, "out of memory");
      }
    }
  }
  pthread_mutex_unlock(&e->lock);
  return r;
}

/* The runtime-spec process for an exec: the container's own process settings (caps,
 * rlimits, env, user) from its bundle, with the exec's command, env, user and cwd. */
int exec_process_spec(struct engine *e, const char *cid, json_t *xc, json_t **out, struct berr *err)
{
  char bundle[4096], path[4096];
  sup_bundle_dir(e, cid, bundle, sizeof(bundle));
  snprintf(path, sizeof(path), "%s/config.json", bundle);
  json_auto_t *spec = NULL;
  if (bjson_load_file(path, &spec, err) < 0)
    return berr_wrap(err, "container %s", cid);
  json_t *proc = json_deep_copy(json_object_get(spec, "process"));
  json_object_set(proc, "args", json_object_get(xc, "Cmd"));
  json_object_set_new(proc, "terminal", json_boolean(json_is_true(json_object_get(xc, "Tty"))));
  json_object_del(proc, "consoleSize");
  json_t *console = json_object_get(xc, "ConsoleSize");
  if (json_array_size(console) == 2 && json_integer_value(json_array_get(console, 0)) > 0)
    json_object_set_new(proc, "consoleSize",
                        json_pack("{s:O,s:O}", "height", json_array_get(console, 0), "width",
                                  json_array_get(console, 1)));
  json_t *env = json_object_get(proc, "env");
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(xc, "Env"), i, v)
  {
    if (json_is_string(v) && strchr(json_string_value(v), '='))
      json_array_append(env, v);
  }
  const char *wd = json_string_value(json_object_get(xc, "WorkingDir"));
  if (wd && *wd)
    json_object_set_new(proc, "cwd", json_string(wd));
  const char *user = json_string_value(json_object_get(xc, "User"));
  if (user && *user) {
    const char *rootfs = json_string_value(json_object_get(json_object_get(spec, "root"), "path"));
    _cleanup_close_ int rootfd = rootfs ? open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC) : -1;
    struct execdriver_user u;
    if (rootfd < 0 || execdriver_resolve_user(rootfd, user, NULL, &u, err) < 0) {
      json_decref(proc);
      return rootfd < 0 ? berr_errno(err, "open rootfs") : -err->code;
    }
    json_t *gids = json_array();
    for (size_t k = 0; k < u.ngroups; k++)
      json_array_append_new(gids, json_integer(u.groups[k]));
    json_object_set_new(
        proc, "user",
        json_pack("{s:i,s:i,s:o}", "uid", (int)u.uid, "gid", (int)u.gid, "additionalGids", gids));
  }
  if (json_is_true(json_object_get(xc, "Privileged"))) {
    json_t *all = json_array();
    /* Only the capabilities berthd holds itself can be given (see spec.c). */
    for (int cap = 0; cap <= lc_cap_last(); cap++)
      if (lc_cap_name(cap) && prctl(PR_CAPBSET_READ, cap, 0, 0, 0) > 0)
        json_array_append_new(all, json_string(lc_cap_name(cap)));
    json_object_set_new(
        proc, "capabilities",
        json_pack("{s:O,s:O,s:O}", "bounding", all, "effective", all, "permitted", all));
    json_decref(all);
  }
  *out = proc;
  return 0;
}

static int job_exec_start(struct job *job)
{
  struct engine *e = job->engine;
  json_t *body = job_body(job);
  bool detach = json_is_true(json_object_get(body, "Detach"));
  char cid[65];
  json_t *xc = NULL;
  pthread_mutex_lock(&e->lock);
  struct exec_inst *x = find_exec(e, job_path(job, "id"));
  if (!x) {
    pthread_mutex_unlock(&e->lock);
    return job_fail(job, 404, "No such exec instance: %s", job_path(job, "id"));
  }
  if (x->started) {
    pthread_mutex_unlock(&e->lock);
    return job_fail(job, 409, "Error: Exec command %s is already running", x->id);
  }
  struct berr ignored;
  struct container *c = repo_find(e, x->container_id, &ignored);
  if (!c || c->state != CTR_RUNNING) {
    pthread_mutex_unlock(&e->lock);
    return job_fail(job, 409, "container %s is not running", x->container_id);
  }
  x->started = true;
  memcpy(cid, x->container_id, sizeof(cid));
  xc = json_incref(x->config);
  pthread_mutex_unlock(&e->lock);

  json_t *proc = NULL;
  if (exec_process_spec(e, cid, xc, &proc, &job->err) < 0) {
    json_decref(xc);
    return -job->err.code;
  }
  bool tty = json_is_true(json_object_get(xc, "Tty"));
  json_t *msg =
      json_pack("{s:s,s:s,s:o,s:b,s:b,s:b}", "op", "exec", "exec_id", job_path(job, "id"),
                "process", proc, "stdin", json_is_true(json_object_get(xc, "AttachStdin")),
                "stdout", json_is_true(json_object_get(xc, "AttachStdout")), "stderr",
                json_is_true(json_object_get(xc, "AttachStderr")));
  int fd = -1, sp[2] = {-1, -1};
  if (!detach) {
    fd = job_hijack_begin(job, tty ? "application/vnd.docker.raw-stream"
                                   : "application/vnd.docker.multiplexed-stream");
    if (fd >= 0 && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
      sp[0] = sp[1] = -1;
  }
  pthread_mutex_lock(&e->lock);
  c = repo_find(e, cid, &ignored);
  x = find_exec(e, job_path(job, "id"));
  int r = 0;
  if (!c || !x || c->shim_fd < 0) {
    r = job_fail(job, 409, "container %s is not running", cid);
  } else {
    r = sup_send(c, msg, sp[1], &job->err);
    char action[1100];
    exec_event_action("exec_start", json_object_get(xc, "Cmd"), action, sizeof(action));
    json_t *attrs = lifecycle_attrs(c);
    json_object_set_new(attrs, "execID", json_string(x->id));
    events_emit(&e->events, "container", action, c->id, attrs);
    /* Wait for the shim's verdict, so a command that cannot run is reported. */
    while (r == 0 && !x->running && !x->has_exit && c->shim_fd >= 0)
      pthread_cond_wait(&e->changed, &e->lock);
    if (r == 0 && x->error[0]) {
      if (fd >= 0) {
        /* As moby: the message on the stream, in a stdout frame unless there is a tty. */
        char line[608];
        int n = snprintf(line + 8, sizeof(line) - 8, "OCI runtime exec failed: %s\r\n", x->error);
        if (n > (int)sizeof(line) - 9)
          n = (int)sizeof(line) - 9;
        if (tty) {
          bf_write_all(fd, line + 8, (size_t)n);
        } else {
          unsigned char hdr[8] = {1,
                                  0,
                                  0,
                                  0,
                                  (unsigned char)(n >> 24),
                                  (unsigned char)(n >> 16),
                                  (unsigned char)(n >> 8),
                                  (unsigned char)n};
          memcpy(line, hdr, 8);
          bf_write_all(fd, line, (size_t)n + 8);
        }
      } else {
        r = job_fail(job, 409, "OCI runtime exec failed: %s", x->error);
      }
    }
    if (x->error[0])
      x->exit_code = strstr(x->error, "not found") ? 127 : 126;
  }
  pthread_mutex_unlock(&e->lock);
  json_decref(msg);
  json_decref(xc);
  if (sp[1] >= 0)
    close(sp[1]);
  /* The shim keeps the stream open until berthd has the exit code (docker exec inspects
   * it right after the stream ends). */
  if (sp[0] >= 0) {
    if (r == 0)
      relay_run(fd, sp[0]);
    close(sp[0]);
  }
  if (fd >= 0)
    job_hijack_end(job);
  if (r == 0 && detach)
    job->status = 200;
  return r;
}

static int job_exec_inspect(struct job *job)
{
  struct engine *e = job->engine;
  pthread_mutex_lock(&e->lock);
  struct exec_inst *x = find_exec(e, job_path(job, "id"));
  if (!x) {
    pthread_mutex_unlock(&e->lock);
    return job_fail(job, 404, "No such exec instance: %s", job_path(job, "id"));
  }
  json_t *cmd = json_object_get(x->config, "Cmd");
  json_t *rest = json_array();
  for (size_t i = 1; i < json_array_size(cmd); i++)
    json_array_append(rest, json_array_get(cmd, i));
  job->result = json_pack(
      "{s:s,s:b,s:o,s:{s:b,s:s,s:o,s:b,s:s},s:b,s:b,s:b,s:b,s:s,s:s,s:i}", "ID", x->id, "Running",
      x->running, "ExitCode", x->has_exit ? json_integer(x->exit_code) : json_null(),
      "ProcessConfig", "tty", json_is_true(json_object_get(x->config, "Tty")), "entrypoint",
      json_string_value(json_array_get(cmd, 0)) ?: "", "arguments", rest, "privileged",
      json_is_true(json_object_get(x->config, "Privileged")), "user",
      json_string_value(json_object_get(x->config, "User")) ?: "", "OpenStdin",
      json_is_true(json_object_get(x->config, "AttachStdin")), "OpenStderr",
      json_is_true(json_object_get(x->config, "AttachStderr")), "OpenStdout",
      json_is_true(json_object_get(x->config, "AttachStdout")), "CanRemove", 0, "ContainerID",
      x->container_id, "DetachKeys", "", "Pid", (int)x->pid);
  pthread_mutex_unlock(&e->lock);
  return job->result ? 0 : job_fail(job, 500, "exec inspect");
}

static int job_exec_resize(struct job *job)
{
  struct engine *e = job->engine;
  long long h = 0, w = 0;
  if (job_query_int(job, "h", 0, &h, &job->err) < 0 ||
      job_query_int(job, "w", 0, &w, &job->err) < 0)
    return -EINVAL;
  pthread_mutex_lock(&e->lock);
  struct exec_inst *x = find_exec(e, job_path(job, "id"));
  struct berr ignored;
  struct container *c = x ? repo_find(e, x->container_id, &ignored) : NULL;
  int r = 0;
  if (!x) {
    r = job_fail(job, 404, "No such exec instance: %s", job_path(job, "id"));
  } else if (!c || c->shim_fd < 0 || !x->running) {
    r = job_fail(job, 409, "exec %s is not running", x->id);
  } else {
    r = sup_resize(c, x->id, h, w, &job->err);
  }
  pthread_mutex_unlock(&e->lock);
  return r;
}

void jobs_exec_register(struct engine *e)
{
  engine_register(e, "exec.create", job_exec_create);
  engine_register(e, "exec.start", job_exec_start);
  engine_register(e, "exec.inspect", job_exec_inspect);
  engine_register(e, "exec.resize", job_exec_resize);
}
