/* Shim spawning and monitoring. */
#include "supervisor.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/bjson.h"
#include "common/cleanup.h"
#include "common/fileutil.h"
#include "common/log.h"
#include "engine_internal.h"
#include "exec_inst.h"
#include "health.h"
#include "execdriver/shim_proto.h"
#include "graph/rwlayer.h"
#include "lifecycle.h"
#include "mounts.h"
#include "network.h"
#include "repository.h"
#include "runtimes.h"

extern char **environ;

void sup_bundle_dir(struct engine *e, const char *id, char *buf, size_t len)
{
  snprintf(buf, len, "%s/containers/%s", e->cfg.exec_root, id);
}

void sup_container_dir(struct engine *e, const char *id, char *buf, size_t len)
{
  snprintf(buf, len, "%s/containers/%s", e->cfg.data_root, id);
}

void sup_log_path(struct engine *e, const char *id, char *buf, size_t len)
{
  snprintf(buf, len, "%s/containers/%s/%s-json.log", e->cfg.data_root, id, id);
}

int sup_send(struct container *c, json_t *msg, int fd, struct berr *err)
{
  int sock = c->shim_fd;
  if (sock < 0)
    return berr_set(err, 0, "container %s is not running", c->id);
  int r = shim_msg_send(sock, msg, fd);
  return r < 0 ? berr_set(err, -r, "talk to the container's shim") : 0;
}

int sup_resize(struct container *c, const char *exec_id, long long h, long long w, struct berr *err)
{
  json_t *m = json_pack("{s:s,s:I,s:I}", "op", "resize", "h", (json_int_t)h, "w", (json_int_t)w);
  if (m && exec_id)
    json_object_set_new(m, "exec_id", json_string(exec_id));
  int r = m ? sup_send(c, m, -1, err) : berr_set(err, ENOMEM, "resize");
  json_decref(m);
  return r;
}

static void *reap_thread(void *arg)
{
  pid_t pid = (pid_t)(intptr_t)arg;
  while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
    ;
  return NULL;
}

/* Waits for a child shim to exit without holding anyone up. */
static void reap_async(pid_t pid)
{
  pthread_t t;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, 64 * 1024);
  /* without a thread (out of memory) the shim stays a zombie until berthd exits: waiting
   * here could wait for the deletion that ends it */
  if (pid > 0 && pthread_create(&t, &attr, reap_thread, (void *)(intptr_t)pid) != 0)
    blog(BLOG_WARN, "cannot reap shim %d: no thread", (int)pid);
  pthread_attr_destroy(&attr);
}

static int connect_shim(const char *bundle, struct berr *err)
{
  /* Through the directory's fd: the full path may not fit in a sockaddr_un. */
  int dirfd = open(bundle, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0)
    return berr_set(err, errno == ENOENT ? ENOENT : errno, "open %s", bundle);
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  snprintf(addr.sun_path, sizeof(addr.sun_path), "/proc/self/fd/%d/shim.sock", dirfd);
  int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    close(dirfd);
    return berr_errno(err, "socket");
  }
  if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
    int e = errno;
    close(fd);
    close(dirfd);
    return berr_set(err, e == ECONNREFUSED ? ENOENT : e, "connect to shim in %s", bundle);
  }
  close(dirfd);
  return fd;
}

int sup_read_exit(struct engine *e, const char *id, int *code, bool *oom, char *finished,
                  size_t len)
{
  char path[4096];
  struct berr err;
  sup_bundle_dir(e, id, path, sizeof(path));
  strncat(path, "/exit.json", sizeof(path) - strlen(path) - 1);
  json_t *j = NULL;
  if (access(path, F_OK) < 0 || bjson_load_file(path, &j, &err) < 0)
    return -ENOENT;
  *code = (int)json_integer_value(json_object_get(j, "code"));
  *oom = json_is_true(json_object_get(j, "oom"));
  snprintf(finished, len, "%s", json_string_value(json_object_get(j, "finished")) ?: "");
  json_decref(j);
  return 0;
}

static struct exec_inst *find_exec(struct engine *e, const char *id)
{
  for (size_t i = 0; id && i < e->n_execs; i++)
    if (strcmp(e->execs[i]->id, id) == 0)
      return e->execs[i];
  return NULL;
}

static void on_event(struct engine *e, struct container *c, json_t *ev)
{
  const char *name = json_string_value(json_object_get(ev, "event"));
  if (!name)
    return;
  if (strcmp(name, "started") == 0) {
    /* Running from this event on, in the order the shim reports: a process that exits at
     * once must not have its exit seen before its start. */
    char now[64];
    ctr_now(now, sizeof(now));
    json_t *st = json_object_get(c->doc, "State");
    json_object_set_new(st, "Pid", json_integer(json_integer_value(json_object_get(ev, "pid"))));
    json_object_set_new(st, "StartedAt", json_string(now));
    json_object_set_new(st, "Error", json_string(""));
    c->state = CTR_RUNNING;
    ctr_sync_state(c);
    struct berr serr;
    repo_save(e, c, &serr);
    events_emit(&e->events, "container", "start", c->id, lifecycle_attrs(c));
    health_start(e, c, true);
    c->start_result = 1;
  } else if (strcmp(name, "error") == 0) {
    const char *op = json_string_value(json_object_get(ev, "op"));
    if (op && strcmp(op, "start") == 0) {
      c->start_result = -1;
      snprintf(c->start_error, sizeof(c->start_error), "%s",
               json_string_value(json_object_get(ev, "message")) ?: "start failed");
    }
  } else if (strcmp(name, "exec-started") == 0 || strcmp(name, "exec-error") == 0 ||
             strcmp(name, "exec-exit") == 0) {
    struct exec_inst *x = find_exec(e, json_string_value(json_object_get(ev, "exec_id")));
    if (!x)
      return;
    if (strcmp(name, "exec-started") == 0) {
      x->running = true;
      x->pid = (pid_t)json_integer_value(json_object_get(ev, "pid"));
    } else if (strcmp(name, "exec-error") == 0) {
      x->running = false;
      x->has_exit = true;
      x->exit_code = 126;
      snprintf(x->error, sizeof(x->error), "%s",
               json_string_value(json_object_get(ev, "message")) ?: "exec failed");
    } else {
      x->running = false;
      x->has_exit = true;
      x->exit_code = (int)json_integer_value(json_object_get(ev, "code"));
      char codebuf[16];
      snprintf(codebuf, sizeof(codebuf), "%d", x->exit_code);
      json_t *attrs = lifecycle_attrs(c);
      json_object_set_new(attrs, "execID", json_string(x->id));
      json_object_set_new(attrs, "exitCode", json_string(codebuf));
      events_emit(&e->events, "container", "exec_die", c->id, attrs);
      /* The exit code is recorded: the shim may now close the client's stream. */
      json_t *ack = json_pack("{s:s,s:s}", "op", "exec-ack", "exec_id", x->id);
      struct berr err;
      sup_send(c, ack, -1, &err);
      json_decref(ack);
    }
  } else if (strcmp(name, "exit") == 0) {
    sup_handle_exit(e, c, (int)json_integer_value(json_object_get(ev, "code")),
                    json_is_true(json_object_get(ev, "oom")),
                    json_string_value(json_object_get(ev, "finished")));
    lifecycle_after_exit(e, c);
  }
  pthread_cond_broadcast(&e->changed);
}

static void *monitor(void *arg)
{
  struct container *c = arg;
  struct engine *e = c->engine;
  for (;;) {
    json_t *msg = NULL;
    int fd = -1;
    int r = shim_msg_recv(c->shim_fd, &msg, &fd);
    if (fd >= 0)
      close(fd);
    if (r == -EPROTO)
      continue;
    pthread_mutex_lock(&e->lock);
    if (r <= 0 && e->shutting_down) {
      /* berthd is stopping: the shim and its container carry on without us. */
      close(c->shim_fd);
      c->shim_fd = -1;
      c->monitor_running = false;
      pthread_cond_broadcast(&e->changed);
      pthread_mutex_unlock(&e->lock);
      return NULL;
    }
    if (r <= 0) {
      /* The shim is gone. If it did not tell us the exit, its record on disk does. */
      if (c->state == CTR_RUNNING || c->state == CTR_PAUSED) {
        int code = 255;
        bool oom = false;
        char fin[64] = "";
        sup_read_exit(e, c->id, &code, &oom, fin, sizeof(fin));
        sup_handle_exit(e, c, code, oom, fin[0] ? fin : NULL);
      }
      if (c->start_result == 0) {
        c->start_result = -1;
        snprintf(c->start_error, sizeof(c->start_error), "the container's shim exited");
      }
      close(c->shim_fd);
      c->shim_fd = -1;
      pid_t shim = c->shim_pid;
      c->shim_pid = 0;
      c->monitor_running = false;
      pthread_cond_broadcast(&e->changed);
      lifecycle_after_monitor(e, c); /* auto-remove, restart policy: may free c */
      pthread_mutex_unlock(&e->lock);
      /* a shim this berthd spawned is its child: reap it (it is exiting: its connection
       * closed), outside the lock */
      while (shim > 0 && waitpid(shim, NULL, 0) < 0 && errno == EINTR)
        ;
      return NULL;
    }
    on_event(e, c, msg);
    pthread_mutex_unlock(&e->lock);
    json_decref(msg);
  }
}

static int start_monitor(struct engine *e, struct container *c, struct berr *err)
{
  c->engine = e;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, 512 * 1024);
  int r = pthread_create(&c->monitor, &attr, monitor, c);
  pthread_attr_destroy(&attr);
  if (r != 0)
    return berr_set(err, r, "monitor thread");
  c->monitor_running = true;
  return 0;
}

/* The shim binary as a read-only detached mount, made once: a shim exec'd through it
 * already runs from a copy nobody can write (CVE-2019-5736) and skips its own re-exec. */
static pthread_mutex_t shim_exe_lock = PTHREAD_MUTEX_INITIALIZER;
static int shim_exe_fd = -2;

static int shim_exe(const char *path)
{
  pthread_mutex_lock(&shim_exe_lock);
  if (shim_exe_fd == -2) {
    int tree = (int)syscall(SYS_open_tree, AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
    struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NODEV};
    if (tree >= 0 && syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0) {
      close(tree);
      tree = -1;
    }
    shim_exe_fd = tree;
  }
  int fd = shim_exe_fd;
  pthread_mutex_unlock(&shim_exe_lock);
  return fd;
}

static int spawn_shim(struct engine *e, struct container *c, const char *bundle, json_t **ready,
                      struct berr *err)
{
  char runtime_root[4096], log_path[4096], max_size[32] = "0", max_file[16] = "1";
  snprintf(runtime_root, sizeof(runtime_root), "%s/runtime", e->cfg.exec_root);
  sup_log_path(e, c->id, log_path, sizeof(log_path));
  json_t *logcfg = json_object_get(
      json_object_get(json_object_get(c->doc, "HostConfig"), "LogConfig"), "Config");
  const char *ms = json_string_value(json_object_get(logcfg, "max-size"));
  const char *mf = json_string_value(json_object_get(logcfg, "max-file"));
  if (ms) {
    char *end;
    double v = strtod(ms, &end);
    double mul = (*end == 'k' || *end == 'K')   ? 1e3
                 : (*end == 'm' || *end == 'M') ? 1e6
                 : (*end == 'g' || *end == 'G') ? 1e9
                                                : 1;
    snprintf(max_size, sizeof(max_size), "%.0f", v * mul);
  }
  if (mf)
    snprintf(max_file, sizeof(max_file), "%s", mf);
  bool log_none =
      json_is_string(json_object_get(
          json_object_get(json_object_get(c->doc, "HostConfig"), "LogConfig"), "Type")) &&
      strcmp(json_string_value(json_object_get(
                 json_object_get(json_object_get(c->doc, "HostConfig"), "LogConfig"), "Type")),
             "none") == 0;
  bool want_stdin = json_is_true(json_object_get(json_object_get(c->doc, "Config"), "OpenStdin"));

  /* An external OCI runtime: the shim drives its binary, under a state root of its own. */
  const char *rt = runtime_of(c->doc);
  char rt_path[4096] = "";
  json_auto_t *rt_args = NULL;
  if (runtime_lookup(e, rt, rt_path, sizeof(rt_path), &rt_args, err) < 0)
    return -err->code;
  runtime_root_dir(e, rt, runtime_root, sizeof(runtime_root));

  int pfd[2];
  if (pipe2(pfd, O_CLOEXEC) < 0)
    return berr_errno(err, "pipe");
  const char *argv[64];
  int n = 0;
  argv[n++] = e->cfg.shim_path;
  argv[n++] = "--id";
  argv[n++] = c->id;
  argv[n++] = "--bundle";
  argv[n++] = bundle;
  argv[n++] = "--runtime-root";
  argv[n++] = runtime_root;
  argv[n++] = "--state-dir";
  argv[n++] = bundle;
  if (!log_none) {
    argv[n++] = "--log";
    argv[n++] = log_path;
    argv[n++] = "--log-max-size";
    argv[n++] = max_size;
    argv[n++] = "--log-max-file";
    argv[n++] = max_file;
  }
  if (want_stdin)
    argv[n++] = "--stdin";
  if (want_stdin && json_is_true(json_object_get(json_object_get(c->doc, "Config"), "StdinOnce")))
    argv[n++] = "--stdin-once";
  if (json_is_true(json_object_get(json_object_get(c->doc, "Config"), "Tty")))
    argv[n++] = "--tty"; /* what the spec's process.terminal says */
  if (rt_path[0]) {
    argv[n++] = "--runtime";
    argv[n++] = rt_path;
    for (size_t k = 0; k < json_array_size(rt_args) && n < 56; k++) {
      argv[n++] = "--runtime-arg";
      argv[n++] = json_string_value(json_array_get(rt_args, k)) ?: "";
    }
  }
  argv[n++] = "--ready-fd";
  argv[n++] = "3";
  argv[n] = NULL;

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, pfd[1], 3);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDWR, 0);
  int exe = shim_exe(e->cfg.shim_path);
  const char *exe_path = e->cfg.shim_path;
  if (exe >= 0) {
    posix_spawn_file_actions_adddup2(&fa, exe, 4);
    exe_path = "/proc/self/fd/4";
  }
  /* nothing else of berthd's reaches the shim */
  posix_spawn_file_actions_addclosefrom_np(&fa, exe >= 0 ? 5 : 4);
  /* berthd blocks its shutdown signals and ignores SIGPIPE: none of that is the shim's. */
  posix_spawnattr_t sa;
  posix_spawnattr_init(&sa);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&sa, &none);
  posix_spawnattr_setsigdefault(&sa, &all);
  /* A session of its own: signals to berthd's process group or terminal do not reach the
   * shim, which outlives berthd (a restart or a crash) with its container. */
  posix_spawnattr_setflags(&sa,
                           POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSID);
  pid_t pid;
  int r = posix_spawn(&pid, exe_path, &fa, &sa, (char *const *)argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&sa);
  close(pfd[1]);
  if (r != 0) {
    close(pfd[0]);
    return berr_set(err, r, "start %s", e->cfg.shim_path);
  }
  /* The answer is one line; the pipe itself stays open in the container's init until it
   * execs, so do not wait for EOF. */
  char text[4096];
  size_t len = 0;
  while (len < sizeof(text) - 1) {
    ssize_t got = read(pfd[0], text + len, sizeof(text) - 1 - len);
    if (got < 0 && errno == EINTR)
      continue;
    if (got <= 0)
      break;
    len += (size_t)got;
    if (memchr(text, '\n', len))
      break;
  }
  close(pfd[0]);
  r = 0;
  if (len == 0)
    r = berr_set(err, 0, "the container's shim exited before it was ready");
  else if (bjson_load_string(text, len, ready, err) < 0)
    r = berr_wrap(err, "the shim's answer");
  const char *msg = r == 0 ? json_string_value(json_object_get(*ready, "error")) : NULL;
  if (msg) {
    r = berr_set(err, 0, "OCI runtime create failed: %s", msg);
    json_decref(*ready);
    *ready = NULL;
  }
  if (r < 0) {
    reap_async(pid); /* a shim that could not get ready ends */
    return r;
  }
  c->shim_pid = pid;
  return 0;
}

int sup_start(struct engine *e, struct container *c, struct berr *err)
{
  char bundle[4096];
  sup_bundle_dir(e, c->id, bundle, sizeof(bundle));
  json_t *ready = NULL;
  if (spawn_shim(e, c, bundle, &ready, err) < 0)
    return -err->code;
  json_decref(ready);
  int fd = connect_shim(bundle, err);
  if (fd < 0) {
    /* no monitor will see this shim end: the failed start deletes its container, the shim
     * then exits, and a thread of its own reaps it */
    reap_async(c->shim_pid);
    c->shim_pid = 0;
    return fd;
  }

  pthread_mutex_lock(&e->lock);
  c->shim_fd = fd;
  c->start_result = 0;
  /* Attach sessions that came before start get the stream from its first byte. */
  struct ctr_attach *a = c->pending;
  c->pending = NULL;
  while (a) {
    struct ctr_attach *next = a->next;
    json_t *m = json_pack("{s:s,s:b,s:b,s:b}", "op", "attach", "stdin", a->in, "stdout", a->out,
                          "stderr", a->err);
    struct berr ignored;
    sup_send(c, m, a->fd, &ignored);
    json_decref(m);
    close(a->fd);
    free(a);
    a = next;
  }
  int r = start_monitor(e, c, err);
  if (r == 0) {
    json_t *m = json_pack("{s:s}", "op", "start");
    r = sup_send(c, m, -1, err);
    json_decref(m);
  }
  while (r == 0 && c->start_result == 0)
    pthread_cond_wait(&e->changed, &e->lock);
  if (r == 0 && c->start_result < 0)
    r = berr_set(err, 0, "%s", c->start_error);
  pthread_mutex_unlock(&e->lock);
  return r;
}

int sup_reconnect(struct engine *e, struct container *c, struct berr *err)
{
  char bundle[4096];
  sup_bundle_dir(e, c->id, bundle, sizeof(bundle));
  int fd = connect_shim(bundle, err);
  if (fd < 0)
    return fd;
  c->shim_fd = fd;
  return start_monitor(e, c, err);
}

void sup_handle_exit(struct engine *e, struct container *c, int code, bool oom,
                     const char *finished)
{
  if (c->state != CTR_RUNNING && c->state != CTR_PAUSED && c->state != CTR_RESTARTING)
    return;
  char now[64];
  if (!finished || !*finished) {
    ctr_now(now, sizeof(now));
    finished = now;
  }
  json_t *st = json_object_get(c->doc, "State");
  json_object_set_new(st, "ExitCode", json_integer(code));
  json_object_set_new(st, "OOMKilled", json_boolean(oom));
  json_object_set_new(st, "Pid", json_integer(0));
  json_object_set_new(st, "FinishedAt", json_string(finished));
  c->state = CTR_EXITED;
  c->exits++;
  ctr_sync_state(c);
  mounts_after_exit(e, c);
  struct berr err;
  /* An auto-removed container's rootfs is unmounted by its removal, after the answer:
   * unmounting syncs the filesystem, the slowest step of `run --rm`. */
  bool auto_remove =
      json_is_true(json_object_get(json_object_get(c->doc, "HostConfig"), "AutoRemove"));
  if (!auto_remove && graph_rwlayer_unmount(e->graph, ctr_layer(c->id, (char[80]){0}), &err) < 0)
    blog(BLOG_WARN, "container %s: %s", c->id, err.msg);
  network_container_stop(e, c);
  char bundle[4096];
  sup_bundle_dir(e, c->id, bundle, sizeof(bundle));
  bf_rm_rf(bundle, &err);
  if (repo_save(e, c, &err) < 0)
    blog(BLOG_ERROR, "container %s: %s", c->id, err.msg);
  if (oom)
    events_emit(&e->events, "container", "oom", c->id, lifecycle_attrs(c));
  char codebuf[16];
  snprintf(codebuf, sizeof(codebuf), "%d", code);
  json_t *attrs = lifecycle_attrs(c);
  json_object_set_new(attrs, "exitCode", json_string(codebuf));
  events_emit(&e->events, "container", "die", c->id, attrs);
  pthread_cond_broadcast(&e->changed);
}
