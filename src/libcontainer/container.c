/* The parent side of the OCI lifecycle: everything berth-runc (or the shim) does on the
 * host to create, start, signal, inspect and remove a container. */
#include "container.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/bjson.h"
#include "common/cleanup.h"
#include "common/fileutil.h"
#include "config.h"
#include "hooks.h"
#include "init.h"
#include "state.h"
#include "sync.h"
#include "security/seccomp.h"
#include "terminal.h"

static void now_rfc3339(char *buf, size_t len)
{
  struct timespec ts;
  struct tm tm;
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(buf + n, len - n, ".%09ldZ", ts.tv_nsec);
}

static int write_pid_file(const char *path, pid_t pid, struct berr *err)
{
  char buf[32];
  int n = snprintf(buf, sizeof(buf), "%d", pid);
  /* Atomic: containerd reads it as soon as create returns. */
  return bf_write_atomic_volatile(path, buf, (size_t)n, 0644, err);
}

static int write_id_maps(pid_t pid, const struct lc_config *c, struct berr *err)
{
  const char *files[2] = {"uid_map", "gid_map"};
  const struct lc_idmap *maps[2] = {c->uid_maps, c->gid_maps};
  size_t counts[2] = {c->n_uid_maps, c->n_gid_maps};
  for (int k = 0; k < 2; k++) {
    char path[64], buf[4096];
    size_t len = 0;
    for (size_t i = 0; i < counts[k]; i++)
      len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%u %u %u\n", maps[k][i].container_id,
                              maps[k][i].host_id, maps[k][i].size);
    snprintf(path, sizeof(path), "/proc/%d/%s", pid, files[k]);
    _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, buf, len) != (ssize_t)len)
      return berr_errno(err, "write %s", files[k]);
  }
  return 0;
}

/* The child sends the pty master, or an error message instead. */
static int recv_master(int sync_fd, struct berr *err)
{
  struct lc_sync_msg m;
  struct iovec iov = {.iov_base = &m, .iov_len = sizeof(m)};
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } u;
  struct msghdr msg = {
      .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
  memset(&m, 0, sizeof(m));
  ssize_t n;
  do
    n = recvmsg(sync_fd, &msg, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  if (n <= 0)
    return berr_set(err, EPIPE, "container setup ended unexpectedly");
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  if (c && c->cmsg_type == SCM_RIGHTS) {
    int fd;
    memcpy(&fd, CMSG_DATA(c), sizeof(int));
    return fd;
  }
  if ((size_t)n >= offsetof(struct lc_sync_msg, msg) && m.type == LC_SYNC_ERROR) {
    m.msg[sizeof(m.msg) - 1] = '\0';
    memcpy(err->msg, m.msg, sizeof(err->msg));
    err->code = m.code ? m.code : EINVAL;
    return -err->code;
  }
  return berr_set(err, EPROTO, "expected the pty master from the container");
}

/* systemd socket activation, as runc: the fds are passed and the process is told. */
static int add_listen_env(struct lc_process *p, int n, struct berr *err)
{
  size_t len = 0;
  while (p->env && p->env[len])
    len++;
  char **env = realloc(p->env, (len + 3) * sizeof(char *));
  if (!env)
    return berr_set(err, ENOMEM, "environment");
  p->env = env;
  if (asprintf(&env[len], "LISTEN_FDS=%d", n) < 0 || !(env[len + 1] = strdup("LISTEN_PID=1")))
    return berr_set(err, ENOMEM, "environment");
  env[len + 2] = NULL;
  return 0;
}

/* The runtime spec's seccomp listener protocol: connect to listenerPath and send the
 * container state with the listener fd (SCM_RIGHTS), as runc does. */
static int send_to_listener(const char *id, pid_t pid, const struct lc_config *c, int fd,
                            struct berr *err)
{
  const char *path = lc_seccomp_listener_path(c->seccomp);
  if (!path || !*path)
    return berr_set(err, 0, "seccomp: SCMP_ACT_NOTIFY needs linux.seccomp.listenerPath");
  const char *meta = lc_seccomp_listener_metadata(c->seccomp);
  json_t *state = lc_hook_state(id, (int)pid, c, "creating");
  json_t *msg = json_pack("{s:s,s:[s],s:i,s:s,s:o}", "ociVersion", "1.0.2", "fds", "seccompFd",
                          "pid", (int)pid, "metadata", meta ? meta : "", "state", state);
  _cleanup_free_ char *text = msg ? json_dumps(msg, JSON_COMPACT) : NULL;
  json_decref(msg);
  if (!text)
    return berr_set(err, ENOMEM, "seccomp listener message");
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof(addr.sun_path))
    return berr_set(err, ENAMETOOLONG, "seccomp listener %s", path);
  strcpy(addr.sun_path, path);
  _cleanup_close_ int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (sock < 0 || connect(sock, (struct sockaddr *)&addr, sizeof(addr)) < 0)
    return berr_errno(err, "connect to seccomp listener %s", path);
  int r = lc_send_fd_payload(sock, fd, text, strlen(text));
  if (r < 0)
    return berr_set(err, -r, "send to seccomp listener %s", path);
  return 0;
}

struct created {
  struct lc_config *config;
  struct lc_cgroup *cgroup;
  char dir[PATH_MAX];
  bool dir_made;
  pid_t pid;
  int sync_fd;
  int master_fd;
};

static void created_undo(struct created *cr)
{
  struct berr ignored;
  if (cr->pid > 0) {
    kill(cr->pid, SIGKILL);
    waitpid(cr->pid, NULL, 0);
  }
  if (cr->cgroup) {
    lc_cgroup_kill_all(cr->cgroup, SIGKILL, &ignored);
    lc_cgroup_destroy(cr->cgroup, &ignored);
  }
  if (cr->dir_made)
    bf_rm_rf(cr->dir, &ignored);
}

static void created_free(struct created *cr)
{
  if (cr->sync_fd >= 0)
    close(cr->sync_fd);
  if (cr->master_fd >= 0)
    close(cr->master_fd);
  lc_cgroup_free(cr->cgroup);
  lc_config_free(cr->config);
}

static int open_ns_fds(const struct lc_config *c, int fds[LC_NS_COUNT], struct berr *err)
{
  for (int t = 0; t < LC_NS_COUNT; t++) {
    fds[t] = -1;
    if (!c->ns[t].enabled || !c->ns[t].path)
      continue;
    fds[t] = open(c->ns[t].path, O_RDONLY | O_CLOEXEC);
    if (fds[t] < 0)
      return berr_errno(err, "open %s namespace %s", lc_ns_proc_name(t), c->ns[t].path);
  }
  return 0;
}

static void close_ns_fds(int fds[LC_NS_COUNT])
{
  for (int t = 0; t < LC_NS_COUNT; t++)
    if (fds[t] >= 0)
      close(fds[t]);
}

/* Back to this thread's own namespaces after joining some for a clone. */
static void restore_ns(int own[LC_NS_COUNT])
{
  for (int t = 0; t < LC_NS_COUNT; t++)
    if (own[t] >= 0) {
      (void)!setns(own[t], lc_ns_clone_flag(t));
      close(own[t]);
      own[t] = -1;
    }
}

static unsigned long clone_flags(const struct lc_config *c)
{
  unsigned long flags = 0;
  for (int t = 0; t < LC_NS_COUNT; t++)
    if (c->ns[t].enabled && !c->ns[t].path && t != LC_NS_CGROUP && t != LC_NS_TIME)
      flags |= (unsigned long)lc_ns_clone_flag(t);
  return flags;
}

/* Everything up to "init is ready and waiting": on failure nothing is left behind. */
static int create_container(const struct lc_create_opts *o, enum lc_run_mode mode,
                            struct created *cr, struct berr *err)
{
  int ns_fds[LC_NS_COUNT];
  _cleanup_close_ int fifo_fd = -1, console_fd = -1, child_end = -1, done_fd = -1;
  struct lc_config *c = NULL;

  if (lc_id_validate(o->id, err) < 0)
    return -EINVAL;
  lc_seccomp_use_cache_of(o->root);
  if (lc_config_load(o->bundle, &cr->config, err) < 0)
    return -err->code;
  c = cr->config;
  if (c->process.terminal && mode != LC_RUN_FOREGROUND && !o->console_socket && !o->pty_master)
    return berr_set(err, 0, "use --console-socket with create when a terminal is used");
  if (!c->process.terminal && o->console_socket)
    return berr_set(err, 0, "cannot use console socket if runtime will not allocate a terminal");

  if (o->listen_fds > 0 && add_listen_env(&c->process, o->listen_fds, err) < 0)
    return -err->code;
  if (bf_mkdir_p(o->root, 0700, err) < 0)
    return -err->code;
  lc_state_dir_path(o->root, o->id, cr->dir, sizeof(cr->dir));
  if (mkdir(cr->dir, 0711) < 0) {
    if (errno == EEXIST)
      return berr_set(err, EEXIST, "container with id exists: %s", o->id);
    return berr_errno(err, "create state directory %s", cr->dir);
  }
  cr->dir_made = true;

  if (!o->no_cgroup && (lc_cgroup_create(c->cgroups_path, o->id, &cr->cgroup, err) < 0 ||
                        lc_cgroup_apply(cr->cgroup, c->resources, err) < 0))
    return berr_wrap(err, "cgroup");

  if (mode == LC_RUN_CREATE) {
    char fifo[PATH_MAX];
    snprintf(fifo, sizeof(fifo), "%s/exec.fifo", cr->dir);
    if (mkfifo(fifo, 0600) < 0)
      return berr_errno(err, "mkfifo %s", fifo);
    fifo_fd = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fifo_fd < 0)
      return berr_errno(err, "open %s", fifo);
  }
  /* exec.done: init holds it open (close-on-exec) until it execs the user's process, so
   * poststart hooks can wait for that moment. Only needed when there are such hooks. */
  if (json_object_get(c->hooks, "poststart")) {
    char done[PATH_MAX];
    snprintf(done, sizeof(done), "%s/exec.done", cr->dir);
    if (mkfifo(done, 0600) < 0)
      return berr_errno(err, "mkfifo %s", done);
    done_fd = open(done, O_RDWR | O_CLOEXEC);
    if (done_fd < 0)
      return berr_errno(err, "open %s", done);
  }
  if (o->console_socket) {
    console_fd = lc_console_socket_connect(o->console_socket, err);
    if (console_fd < 0)
      return console_fd;
  }
  if (open_ns_fds(c, ns_fds, err) < 0) {
    close_ns_fds(ns_fds);
    return -err->code;
  }

  int sp[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0) {
    close_ns_fds(ns_fds);
    return berr_errno(err, "socketpair");
  }
  cr->sync_fd = sp[0];
  child_end = sp[1];

  /* A pid namespace is joined for our children only: do it right before the clone. */
  if (ns_fds[LC_NS_PID] >= 0 && setns(ns_fds[LC_NS_PID], CLONE_NEWPID) < 0) {
    close_ns_fds(ns_fds);
    return berr_errno(err, "join pid namespace %s", c->ns[LC_NS_PID].path);
  }

  /* A new user namespace cannot join namespaces the host's root owns (setns needs
   * CAP_SYS_ADMIN over their owner): join them first and create the user namespace from
   * there, as runc's nsexec does. This thread joins the net, IPC and UTS namespaces for the
   * clone (those may be joined by one thread of many) and goes back right after it. */
  int own_ns[LC_NS_COUNT];
  for (int t = 0; t < LC_NS_COUNT; t++)
    own_ns[t] = -1;
  if (c->ns[LC_NS_USER].enabled && !c->ns[LC_NS_USER].path) {
    static const int early[] = {LC_NS_NET, LC_NS_IPC, LC_NS_UTS};
    for (size_t k = 0; k < sizeof(early) / sizeof(early[0]); k++) {
      int t = early[k];
      if (ns_fds[t] < 0)
        continue;
      char self[64];
      snprintf(self, sizeof(self), "/proc/thread-self/ns/%s", lc_ns_proc_name(t));
      own_ns[t] = open(self, O_RDONLY | O_CLOEXEC);
      if (own_ns[t] < 0 || setns(ns_fds[t], lc_ns_clone_flag(t)) < 0) {
        int r = berr_errno(err, "join %s namespace %s", lc_ns_proc_name(t), c->ns[t].path);
        restore_ns(own_ns);
        close_ns_fds(ns_fds);
        return r;
      }
      close(ns_fds[t]);
      ns_fds[t] = -1;
    }
  }

  struct lc_init_args args = {
      .config = c,
      .id = o->id,
      .cgroup_rel = cr->cgroup ? lc_cgroup_path(cr->cgroup) : NULL,
      .sync_fd = child_end,
      .fifo_fd = fifo_fd,
      .console_fd = console_fd,
      .preserve_fds = o->preserve_fds + (o->listen_fds > 0 ? o->listen_fds : 0),
      .stdio = o->stdio,
      .no_pivot = o->no_pivot,
      .no_new_keyring = o->no_new_keyring,
  };
  memcpy(args.ns_fds, ns_fds, sizeof(ns_fds));

  pid_t pid = (pid_t)syscall(SYS_clone, clone_flags(c) | SIGCHLD, NULL, NULL, NULL, NULL);
  if (pid != 0)
    restore_ns(own_ns);
  if (pid < 0) {
    close_ns_fds(ns_fds);
    return berr_errno(err, "clone");
  }
  if (pid == 0) {
    close(cr->sync_fd);
    _exit(lc_init_child(&args));
  }
  cr->pid = pid;
  close_ns_fds(ns_fds);
  close(steal_fd(&child_end));
  if (done_fd >= 0)
    close(steal_fd(&done_fd)); /* the child's copy is the one that matters */

  if (cr->cgroup && lc_cgroup_enter(cr->cgroup, pid, err) < 0)
    return berr_wrap(err, "cgroup");
  if (c->ns[LC_NS_USER].enabled && !c->ns[LC_NS_USER].path && write_id_maps(pid, c, err) < 0)
    return berr_wrap(err, "user namespace");
  if (lc_sync_send(cr->sync_fd, LC_SYNC_GO, 0) < 0)
    return berr_errno(err, "sync with container");

  struct lc_sync_msg m;
  if (lc_sync_recv(cr->sync_fd, LC_SYNC_MOUNTS_DONE, &m, err) < 0)
    return -err->code;
  json_t *st = lc_hook_state(o->id, (int)pid, c, "creating");
  int r = lc_hooks_run(c->hooks, "prestart", st, err);
  if (r == 0)
    r = lc_hooks_run(c->hooks, "createRuntime", st, err);
  json_decref(st);
  if (r < 0)
    return r;
  if (lc_sync_send(cr->sync_fd, LC_SYNC_HOOKS_DONE, pid) < 0)
    return berr_errno(err, "sync with container");
  if (c->process.terminal && console_fd < 0) {
    cr->master_fd = recv_master(cr->sync_fd, err);
    if (cr->master_fd < 0)
      return cr->master_fd;
  }
  for (;;) {
    if (lc_sync_recv(cr->sync_fd, 0, &m, err) < 0)
      return -err->code;
    if (m.type == LC_SYNC_READY)
      break;
    if (m.type != LC_SYNC_SECCOMP)
      return berr_set(err, EPROTO, "container setup: unexpected message %d", m.type);
    _cleanup_close_ int notify = lc_recv_fd(cr->sync_fd);
    if (notify < 0)
      return berr_set(err, -notify, "receive the seccomp listener fd");
    if (send_to_listener(o->id, pid, c, notify, err) < 0)
      return -err->code;
  }

  unsigned long long start_time = 0;
  lc_proc_start_time(pid, &start_time);
  char created[64];
  now_rfc3339(created, sizeof(created));
  json_t *state = json_pack("{s:s,s:i,s:I,s:s,s:s,s:s,s:O}", "id", o->id, "pid", (int)pid,
                            "start_time", (json_int_t)start_time, "bundle", c->bundle, "rootfs",
                            c->rootfs, "created", created, "config", c->json);
  if (state && cr->cgroup)
    json_object_set_new(state, "cgroup", lc_cgroup_save(cr->cgroup));
  if (!state)
    return berr_set(err, ENOMEM, "state");
  r = lc_state_write(cr->dir, state, err);
  json_decref(state);
  if (r < 0)
    return r;
  if (o->pid_file && write_pid_file(o->pid_file, pid, err) < 0)
    return -err->code;
  return 0;
}

/* Wait until init has exec'd the user's process (or died): exec.done's last writer is gone. */
static void wait_exec_done(const char *dir)
{
  char done[PATH_MAX];
  snprintf(done, sizeof(done), "%s/exec.done", dir);
  int fd = open(done, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    return;
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  char buf[16];
  while (read(fd, buf, sizeof(buf)) > 0 || errno == EINTR)
    ;
  close(fd);
  unlink(done);
}

static pid_t fg_child;

static void forward_signal(int sig)
{
  if (fg_child > 0)
    kill(fg_child, sig);
}

static int destroy(const char *dir, struct lc_cgroup *cg, json_t *hooks, json_t *hstate)
{
  struct berr e;
  if (cg) {
    lc_cgroup_kill_all(cg, SIGKILL, &e);
    lc_cgroup_destroy(cg, &e);
  }
  if (hooks && lc_hooks_run(hooks, "poststop", hstate, &e) < 0)
    fprintf(stderr, "warning: %s\n", e.msg);
  return bf_rm_rf(dir, &e);
}

int lc_container_run(const struct lc_create_opts *o, enum lc_run_mode mode, int *exit_status,
                     struct berr *err)
{
  struct created cr = {.sync_fd = -1, .master_fd = -1};
  if (mode == LC_RUN_FOREGROUND)
    prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  if (create_container(o, mode, &cr, err) < 0) {
    created_undo(&cr);
    created_free(&cr);
    return -err->code;
  }
  if (o->pid_out)
    *o->pid_out = cr.pid;
  if (o->pty_master && cr.master_fd >= 0)
    *o->pty_master = steal_fd(&cr.master_fd);
  if (mode == LC_RUN_CREATE) {
    created_free(&cr);
    return 0;
  }

  if (mode == LC_RUN_FOREGROUND) {
    fg_child = cr.pid;
    struct sigaction sa = {.sa_handler = forward_signal};
    int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
    for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
      sigaction(sigs[i], &sa, NULL);
  }
  if (lc_sync_send(cr.sync_fd, LC_SYNC_START, 0) < 0) {
    created_undo(&cr);
    created_free(&cr);
    return berr_errno(err, "start container");
  }
  json_t *hs = lc_hook_state(o->id, (int)cr.pid, cr.config, "running");
  struct berr hook_err;
  if (json_object_get(cr.config->hooks, "poststart"))
    wait_exec_done(cr.dir);
  if (lc_hooks_run(cr.config->hooks, "poststart", hs, &hook_err) < 0)
    fprintf(stderr, "warning: %s\n", hook_err.msg);
  if (mode == LC_RUN_DETACHED) {
    json_decref(hs);
    created_free(&cr);
    return 0;
  }

  if (cr.master_fd >= 0)
    lc_terminal_proxy(cr.master_fd);
  int status = 0;
  for (;;) {
    pid_t w = waitpid(-1, &status, 0);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0 || w == cr.pid)
      break; /* other reaped pids are orphans re-parented to us as subreaper */
  }
  *exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  json_object_set_new(hs, "status", json_string("stopped"));
  destroy(cr.dir, cr.cgroup, cr.config->hooks, hs);
  json_decref(hs);
  created_free(&cr);
  return 0;
}

/* A loaded container: state plus its cgroup. */
struct loaded {
  struct lc_state *state;
  struct lc_cgroup *cgroup;
};

static void loaded_free(struct loaded *l)
{
  lc_cgroup_free(l->cgroup);
  lc_state_free(l->state);
}

static int load(const char *root, const char *id, struct loaded *l, struct berr *err)
{
  memset(l, 0, sizeof(*l));
  if (lc_state_load(root, id, &l->state, err) < 0)
    return -err->code;
  json_t *cg = json_object_get(l->state->json, "cgroup");
  if (cg && lc_cgroup_load(cg, &l->cgroup, err) < 0) {
    loaded_free(l);
    return berr_wrap(err, "container \"%s\"", id);
  }
  return 0;
}

int lc_container_start(const char *root, const char *id, struct berr *err)
{
  struct loaded l;
  if (load(root, id, &l, err) < 0)
    return -err->code;
  const char *status = lc_state_status(l.state, l.cgroup);
  int r = 0;
  if (strcmp(status, "created") != 0) {
    r = strcmp(status, "stopped") == 0
            ? berr_set(err, 0, "cannot start a container that has stopped")
            : berr_set(err, 0, "cannot start an already running container");
    goto out;
  }
  char fifo[PATH_MAX];
  snprintf(fifo, sizeof(fifo), "%s/exec.fifo", l.state->dir);
  int fd = open(fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    r = berr_errno(err, "start container %s: open exec fifo", id);
    goto out;
  }
  unlink(fifo);
  if (write(fd, "0", 1) != 1)
    r = berr_errno(err, "start container %s", id);
  close(fd);
  if (r == 0) {
    if (json_object_get(json_object_get(l.state->config, "hooks"), "poststart"))
      wait_exec_done(l.state->dir);
    json_t *st = lc_state_oci(l.state, "running");
    struct berr hook_err;
    if (lc_hooks_run(json_object_get(l.state->config, "hooks"), "poststart", st, &hook_err) < 0)
      fprintf(stderr, "warning: %s\n", hook_err.msg);
    json_decref(st);
  }
out:
  loaded_free(&l);
  return r;
}

int lc_container_state(const char *root, const char *id, json_t **out, struct berr *err)
{
  struct loaded l;
  if (load(root, id, &l, err) < 0)
    return -err->code;
  *out = lc_state_oci(l.state, lc_state_status(l.state, l.cgroup));
  loaded_free(&l);
  return *out ? 0 : berr_set(err, ENOMEM, "state");
}

int lc_container_kill(const char *root, const char *id, int sig, bool all, struct berr *err)
{
  struct loaded l;
  int r = 0;
  if (load(root, id, &l, err) < 0)
    return -err->code;
  if (strcmp(lc_state_status(l.state, l.cgroup), "stopped") == 0) {
    r = berr_set(err, 0, "container not running");
    goto out;
  }
  if (all && l.cgroup) {
    r = lc_cgroup_kill_all(l.cgroup, sig, err);
    goto out;
  }
  /* A pidfd pins the process: no signal to a recycled pid. */
  int pidfd = (int)syscall(SYS_pidfd_open, l.state->pid, 0);
  if (pidfd < 0 || !lc_pid_alive(l.state->pid, l.state->start_time)) {
    r = berr_set(err, 0, "container not running");
  } else if (syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0) {
    r = berr_errno(err, "kill container %s", id);
  }
  if (pidfd >= 0)
    close(pidfd);
out:
  loaded_free(&l);
  return r;
}

static void wait_gone(pid_t pid, unsigned long long start_time)
{
  for (int i = 0; i < 500 && lc_pid_alive(pid, start_time); i++)
    usleep(10000);
}

int lc_container_delete(const char *root, const char *id, bool force, struct berr *err)
{
  struct loaded l;
  if (load(root, id, &l, err) < 0) {
    if (force && err->code == ENOENT) {
      char dir[PATH_MAX];
      if (lc_id_validate(id, err) < 0)
        return -EINVAL;
      lc_state_dir_path(root, id, dir, sizeof(dir));
      return bf_rm_rf(dir, err);
    }
    return -err->code;
  }
  const char *status = lc_state_status(l.state, l.cgroup);
  int r = 0;
  if (!force && (strcmp(status, "running") == 0 || strcmp(status, "paused") == 0)) {
    r = berr_set(err, 0, "cannot delete container %s that is not stopped: %s", id, status);
    goto out;
  }
  if (strcmp(status, "stopped") != 0) {
    struct berr ignored;
    if (l.cgroup) {
      lc_cgroup_kill_all(l.cgroup, SIGKILL, &ignored);
      lc_cgroup_freeze(l.cgroup, false, &ignored);
    }
    int pidfd = (int)syscall(SYS_pidfd_open, l.state->pid, 0);
    if (pidfd >= 0) {
      if (lc_pid_alive(l.state->pid, l.state->start_time))
        syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
      close(pidfd);
    }
    wait_gone(l.state->pid, l.state->start_time);
  }
  json_t *st = lc_state_oci(l.state, "stopped");
  r = destroy(l.state->dir, l.cgroup, json_object_get(l.state->config, "hooks"), st);
  json_decref(st);
out:
  loaded_free(&l);
  return r;
}

int lc_container_pause(const char *root, const char *id, bool pause, struct berr *err)
{
  struct loaded l;
  int r;
  if (load(root, id, &l, err) < 0)
    return -err->code;
  const char *status = lc_state_status(l.state, l.cgroup);
  if (!l.cgroup)
    r = berr_set(err, 0, "container %s has no cgroup", id);
  else if (pause && strcmp(status, "running") != 0 && strcmp(status, "created") != 0)
    r = berr_set(err, 0, "container not running");
  else if (!pause && strcmp(status, "paused") != 0)
    r = berr_set(err, 0, "container not paused");
  else
    r = lc_cgroup_freeze(l.cgroup, pause, err);
  loaded_free(&l);
  return r;
}

int lc_container_update(const char *root, const char *id, json_t *resources, struct berr *err)
{
  struct loaded l;
  int r;
  if (load(root, id, &l, err) < 0)
    return -err->code;
  if (!l.cgroup) {
    r = berr_set(err, 0, "container %s has no cgroup", id);
    goto out;
  }
  r = lc_cgroup_apply(l.cgroup, resources, err);
  if (r == 0) {
    /* Keep the stored config in step, so a later state or exec sees the new limits. */
    json_t *linux_ = json_object_get(l.state->config, "linux");
    if (json_is_object(linux_)) {
      json_t *res = json_object_get(linux_, "resources");
      if (!json_is_object(res)) {
        res = json_object();
        json_object_set_new(linux_, "resources", res);
      }
      json_object_update_recursive(res, resources);
      r = lc_state_write(l.state->dir, l.state->json, err);
    }
  }
out:
  loaded_free(&l);
  return r;
}

int lc_container_pids(const char *root, const char *id, pid_t **pids, size_t *n, struct berr *err)
{
  struct loaded l;
  int r;
  if (load(root, id, &l, err) < 0)
    return -err->code;
  if (l.cgroup)
    r = lc_cgroup_pids(l.cgroup, pids, n, err);
  else
    r = berr_set(err, 0, "container %s has no cgroup", id);
  loaded_free(&l);
  return r;
}

int lc_container_stats(const char *root, const char *id, struct lc_cgroup_stats *st,
                       struct berr *err)
{
  struct loaded l;
  int r;
  if (load(root, id, &l, err) < 0)
    return -err->code;
  r = l.cgroup ? lc_cgroup_stats(l.cgroup, st, err)
               : berr_set(err, 0, "container %s has no cgroup", id);
  loaded_free(&l);
  return r;
}
