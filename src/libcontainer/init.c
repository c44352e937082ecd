/* Container init: runs in the child cloned by lc_container_run, in the container's new
 * namespaces. Errors go back to the parent over the sync socket, never to stdio. */
#include "init.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/fileutil.h"
#include "hooks.h"
#include "process.h"
#include "rootfs.h"
#include "sync.h"
#include "terminal.h"

static int write_sysctls(json_t *sysctl, struct berr *err)
{
  const char *key;
  json_t *v;
  json_object_foreach(sysctl, key, v)
  {
    char path[PATH_MAX];
    int n = snprintf(path, sizeof(path), "/proc/sys/%s", key);
    for (char *p = path + 10; p < path + n; p++)
      if (*p == '.')
        *p = '/';
    int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
      return berr_errno(err, "sysctl %s", key);
    const char *val = json_string_value(v);
    int r = bf_write_all(fd, val, strlen(val));
    close(fd);
    if (r < 0)
      return berr_set(err, r, "sysctl %s=%s", key, val);
  }
  return 0;
}

static int join_namespaces(const struct lc_init_args *a, struct berr *err)
{
  /* The user namespace first: it decides what the others may be joined as. */
  if (a->ns_fds[LC_NS_USER] >= 0) {
    if (setns(a->ns_fds[LC_NS_USER], CLONE_NEWUSER) < 0)
      return berr_errno(err, "join user namespace %s", a->config->ns[LC_NS_USER].path);
    if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
      return berr_errno(err, "become root in the joined user namespace");
  }
  for (int t = 0; t < LC_NS_COUNT; t++) {
    if (t == LC_NS_USER || t == LC_NS_PID || a->ns_fds[t] < 0)
      continue;
    if (setns(a->ns_fds[t], lc_ns_clone_flag(t)) < 0)
      return berr_errno(err, "join %s namespace %s", lc_ns_proc_name(t), a->config->ns[t].path);
  }
  return 0;
}

static int wait_for_start(const struct lc_init_args *a, struct berr *err)
{
  if (a->fifo_fd >= 0) {
    /* A FIFO with no writer yet does not report POLLHUP: this blocks until `start`
     * opens it and writes. */
    struct pollfd p = {.fd = a->fifo_fd, .events = POLLIN};
    for (;;) {
      int r = poll(&p, 1, -1);
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0)
        return berr_errno(err, "wait for start");
      char b;
      ssize_t n = read(a->fifo_fd, &b, 1);
      if (n == 1)
        return 0;
      if (n < 0 && errno != EAGAIN && errno != EINTR)
        return berr_errno(err, "wait for start");
      if (n == 0)
        return berr_set(err, EPIPE, "exec fifo closed before start");
    }
  }
  struct lc_sync_msg m;
  return lc_sync_recv(a->sync_fd, LC_SYNC_START, &m, err);
}

static int init_setup(const struct lc_init_args *a, struct lc_exec_plan *plan, struct berr *err)
{
  const struct lc_config *c = a->config;
  struct lc_sync_msg m;

  for (int fd = 0; a->stdio && fd < 3; fd++)
    if (a->stdio[fd] != fd && dup2(a->stdio[fd], fd) < 0)
      return berr_errno(err, "set up stdio fd %d", fd);
  if (lc_sync_recv(a->sync_fd, LC_SYNC_GO, &m, err) < 0)
    return -err->code;
  if (c->ns[LC_NS_USER].enabled && !c->ns[LC_NS_USER].path &&
      (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0))
    return berr_errno(err, "become root in the user namespace");
  if (join_namespaces(a, err) < 0)
    return -err->code;
  /* Made after the parent moved us into our cgroup, so that cgroup is the ns root. */
  if (c->ns[LC_NS_CGROUP].enabled && !c->ns[LC_NS_CGROUP].path && unshare(CLONE_NEWCGROUP) < 0)
    return berr_errno(err, "unshare cgroup namespace");
  if (!a->no_new_keyring) {
    char name[128];
    snprintf(name, sizeof(name), "_ses.%s", a->id);
    syscall(SYS_keyctl, 1 /* KEYCTL_JOIN_SESSION_KEYRING */, name); /* best effort, as runc */
  }
  if (!c->ns[LC_NS_USER].enabled)
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0); /* no /proc/<pid>/exe for the container */
  if (c->sysctl && write_sysctls(c->sysctl, err) < 0)
    return -err->code;

  bool new_mnt = c->ns[LC_NS_MNT].enabled && !c->ns[LC_NS_MNT].path;
  if (new_mnt && lc_rootfs_prepare(c, a->cgroup_rel, err) < 0)
    return berr_wrap(err, "prepare rootfs");
  if (c->hostname && *c->hostname && sethostname(c->hostname, strlen(c->hostname)) < 0)
    return berr_errno(err, "sethostname");
  if (c->domainname && *c->domainname && setdomainname(c->domainname, strlen(c->domainname)) < 0)
    return berr_errno(err, "setdomainname");

  if (lc_sync_send(a->sync_fd, LC_SYNC_MOUNTS_DONE, 0) < 0)
    return berr_errno(err, "sync");
  if (lc_sync_recv(a->sync_fd, LC_SYNC_HOOKS_DONE, &m, err) < 0)
    return -err->code;
  if (c->hooks && json_object_get(c->hooks, "createContainer")) {
    json_t *st = lc_hook_state(a->id, m.value, a->config, "created");
    int r = lc_hooks_run(c->hooks, "createContainer", st, err);
    json_decref(st);
    if (r < 0)
      return r;
  }

  if (new_mnt && lc_rootfs_pivot(c, a->no_pivot, err) < 0)
    return -err->code;
  if (new_mnt && bf_mkdir_p(c->process.cwd, 0755, err) < 0)
    return berr_wrap(err, "create cwd");
  if (new_mnt && lc_rootfs_finalize(c, err) < 0)
    return -err->code;

  if (setsid() < 0)
    return berr_errno(err, "setsid");
  if (c->process.terminal) {
    int master = -1, peer = -1;
    if (lc_terminal_open(c->process.console_rows, c->process.console_cols, &master, &peer, err) < 0)
      return -err->code;
    int r = lc_send_fd(a->console_fd >= 0 ? a->console_fd : a->sync_fd, master);
    close(master);
    if (r < 0)
      return berr_set(err, r, "send the pty master");
    if (a->console_fd >= 0)
      close(a->console_fd);
    if (lc_terminal_attach(peer, new_mnt, err) < 0)
      return -err->code;
    close(peer);
  }
  if (lc_process_setup(&c->process, c->seccomp, a->preserve_fds, plan, err) < 0)
    return -err->code;
  if (plan->notify_fd >= 0) {
    int r = lc_sync_send(a->sync_fd, LC_SYNC_SECCOMP, 0);
    if (r == 0)
      r = lc_send_fd(a->sync_fd, plan->notify_fd);
    close(plan->notify_fd);
    plan->notify_fd = -1;
    if (r < 0)
      return berr_set(err, r, "send the seccomp listener fd");
  }
  return 0;
}

int lc_init_child(const struct lc_init_args *a)
{
  struct berr err = {0};
  struct lc_exec_plan plan = {0};
  prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  if (init_setup(a, &plan, &err) < 0)
    goto fail;
  /* From here the parent may exit (create): we must not die with it. */
  prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
  if (lc_sync_send(a->sync_fd, LC_SYNC_READY, 0) < 0)
    _exit(1);
  if (wait_for_start(a, &err) < 0)
    _exit(1);
  if (a->config->hooks && json_object_get(a->config->hooks, "startContainer")) {
    json_t *st = lc_hook_state(a->id, 1, a->config, "running");
    int r = lc_hooks_run(a->config->hooks, "startContainer", st, &err);
    json_decref(st);
    if (r < 0) {
      dprintf(STDERR_FILENO, "%s\n", err.msg);
      _exit(1);
    }
  }
  lc_process_exec(&a->config->process, a->config->seccomp, &plan, &err);
  /* After start nobody listens on the sync socket any more; stderr is all we have. */
  dprintf(STDERR_FILENO, "%s\n", err.msg);
  _exit(127);
fail:
  lc_sync_send_error(a->sync_fd, &err);
  _exit(1);
}
