/* exec: start another process in a running container. An intermediate child joins the
 * container's namespaces through a pidfd, then clones the real process (CLONE_PARENT, so
 * it is our child and inside the container's pid namespace); we put it in the cgroup. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "libcontainer/security/seccomp.h"
#include "common/fileutil.h"
#include "config.h"
#include "container.h"
#include "process.h"
#include "state.h"
#include "sync.h"
#include "terminal.h"

struct exec_child {
  const struct lc_config *config;
  const struct lc_process *process;
  int pidfd;
  int ns_flags;
  int sync_fd;
  int console_fd;
  int preserve_fds;
  const int *stdio;
};

static int exec_final(const struct exec_child *a, struct berr *err)
{
  struct lc_sync_msg m;
  struct lc_exec_plan plan = {0};
  for (int fd = 0; a->stdio && fd < 3; fd++)
    if (a->stdio[fd] != fd && dup2(a->stdio[fd], fd) < 0)
      return berr_errno(err, "set up stdio fd %d", fd);
  if (lc_sync_recv(a->sync_fd, LC_SYNC_GO, &m, err) < 0)
    return -err->code;
  if (a->process->terminal) {
    int master = -1, peer = -1;
    if (setsid() < 0)
      return berr_errno(err, "setsid");
    if (lc_terminal_open(a->process->console_rows, a->process->console_cols, &master, &peer, err) <
        0)
      return -err->code;
    int r = lc_send_fd(a->console_fd >= 0 ? a->console_fd : a->sync_fd, master);
    close(master);
    if (r < 0)
      return berr_set(err, r, "send the pty master");
    if (lc_terminal_attach(peer, false, err) < 0)
      return -err->code;
    close(peer);
  }
  if (a->console_fd >= 0)
    close(a->console_fd);
  if (lc_process_setup(a->process, a->config->seccomp, a->preserve_fds, &plan, err) < 0)
    return -err->code;
  /* The container's listener got its fd at create; an exec'd process has none of its own,
   * so its notifications fail with ENOSYS rather than hang. */
  if (plan.notify_fd >= 0)
    close(plan.notify_fd);
  /* With --detach the parent exits next: we must outlive it. */
  prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
  if (lc_sync_send(a->sync_fd, LC_SYNC_READY, 0) < 0)
    return berr_errno(err, "sync");
  lc_process_exec(a->process, a->config->seccomp, &plan, err);
  /* The parent no longer reads the sync socket: report on stderr. */
  dprintf(STDERR_FILENO, "%s\n", err->msg);
  _exit(127);
}

static int exec_intermediate(const struct exec_child *a)
{
  struct berr err = {0};
  prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  /* Until it execs, this process is our binary inside the container: nobody there may
   * open it through /proc/<pid>/exe (CVE-2019-5736). */
  if (!(a->ns_flags & CLONE_NEWUSER))
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  if (setns(a->pidfd, a->ns_flags) < 0) {
    berr_errno(&err, "join the container's namespaces");
    goto fail;
  }
  if ((a->ns_flags & CLONE_NEWUSER) && (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)) {
    berr_errno(&err, "become root in the container's user namespace");
    goto fail;
  }
  pid_t pid = (pid_t)syscall(SYS_clone, CLONE_PARENT | SIGCHLD, NULL, NULL, NULL, NULL);
  if (pid < 0) {
    berr_errno(&err, "clone into the container");
    goto fail;
  }
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    if (exec_final(a, &err) < 0)
      lc_sync_send_error(a->sync_fd, &err);
    _exit(1);
  }
  lc_sync_send(a->sync_fd, LC_SYNC_PID, pid);
  _exit(0);
fail:
  lc_sync_send_error(a->sync_fd, &err);
  _exit(1);
}

static int recv_fd_or_error(int sock, struct berr *err)
{
  int fd = lc_recv_fd(sock);
  if (fd < 0)
    return berr_set(err, -fd, "receive the pty master");
  return fd;
}

int lc_container_exec(const struct lc_exec_opts *o, int *exit_status, struct berr *err)
{
  struct lc_state *st = NULL;
  struct lc_config *cfg = NULL;
  struct lc_process proc = {0};
  struct lc_cgroup *cg = NULL;
  _cleanup_close_ int pidfd = -1, console_fd = -1, master = -1;
  int sp[2] = {-1, -1}, exec_done[2] = {-1, -1};
  pid_t mid = -1, pid = -1;
  int r = 0;

  if (lc_state_load(o->root, o->id, &st, err) < 0)
    return -err->code;
  json_t *cgj = json_object_get(st->json, "cgroup");
  if (cgj && (r = lc_cgroup_load(cgj, &cg, err)) < 0)
    goto out;
  const char *status = lc_state_status(st, cg);
  if (strcmp(status, "running") != 0 && strcmp(status, "created") != 0) {
    r = strcmp(status, "paused") == 0 ? berr_set(err, 0, "cannot exec in a paused container")
                                      : berr_set(err, 0, "container %s is not running", o->id);
    goto out;
  }
  lc_seccomp_use_cache_of(o->root);
  if ((r = lc_config_parse(st->config, st->bundle, &cfg, err)) < 0)
    goto out;
  if ((r = lc_process_parse(o->process, &proc, err)) < 0)
    goto out;
  if (proc.terminal && o->detach && !o->console_socket && !o->pty_master) {
    r = berr_set(err, 0, "use --console-socket with exec -d when a terminal is used");
    goto out;
  }
  pidfd = (int)syscall(SYS_pidfd_open, st->pid, 0);
  if (pidfd < 0 || !lc_pid_alive(st->pid, st->start_time)) {
    r = berr_set(err, 0, "container %s is not running", o->id);
    goto out;
  }
  if (o->console_socket && (console_fd = lc_console_socket_connect(o->console_socket, err)) < 0) {
    r = console_fd;
    goto out;
  }
  int flags = 0;
  for (int t = 0; t < LC_NS_COUNT; t++)
    if (cfg->ns[t].enabled && t != LC_NS_TIME)
      flags |= lc_ns_clone_flag(t);
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0) {
    r = berr_errno(err, "socketpair");
    goto out;
  }
  /* The write end lives in the new process until its execve (close-on-exec): reading EOF
   * here means the command runs, so a detached exec returns only once it does. */
  if (pipe2(exec_done, O_CLOEXEC) < 0) {
    r = berr_errno(err, "pipe");
    goto out;
  }
  struct exec_child a = {cfg, &proc, pidfd, flags, sp[1], console_fd, o->preserve_fds, o->stdio};
  mid = (pid_t)syscall(SYS_clone, SIGCHLD, NULL, NULL, NULL, NULL);
  if (mid < 0) {
    r = berr_errno(err, "fork");
    goto out;
  }
  if (mid == 0) {
    close(sp[0]);
    exec_intermediate(&a);
  }
  close(sp[1]);
  sp[1] = -1;
  close(exec_done[1]);
  exec_done[1] = -1;

  struct lc_sync_msg m;
  r = lc_sync_recv(sp[0], LC_SYNC_PID, &m, err);
  waitpid(mid, NULL, 0);
  if (r < 0)
    goto out;
  pid = m.value;
  if (cg && (r = lc_cgroup_enter(cg, pid, err)) < 0)
    goto kill_out;
  if (lc_sync_send(sp[0], LC_SYNC_GO, 0) < 0) {
    r = berr_errno(err, "sync with exec process");
    goto kill_out;
  }
  if (proc.terminal && console_fd < 0 && (master = recv_fd_or_error(sp[0], err)) < 0) {
    r = master;
    goto kill_out;
  }
  if ((r = lc_sync_recv(sp[0], LC_SYNC_READY, &m, err)) < 0)
    goto kill_out;
  if (o->pid_file) {
    char buf[32];
    int n = snprintf(buf, sizeof(buf), "%d", pid);
    r = bf_write_atomic_volatile(o->pid_file, buf, (size_t)n, 0644, err);
  }
  if (r < 0)
    goto kill_out;
  if (o->pid_out)
    *o->pid_out = pid;
  {
    char b;
    while (read(exec_done[0], &b, 1) < 0 && errno == EINTR)
      ;
  }
  if (o->detach) {
    if (o->pty_master && master >= 0)
      *o->pty_master = steal_fd(&master);
    goto out;
  }
  if (master >= 0)
    lc_terminal_proxy(master);
  int wstatus = 0;
  while (waitpid(pid, &wstatus, 0) < 0)
    if (errno != EINTR)
      break;
  *exit_status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
  goto out;
kill_out:
  if (pid > 0) {
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
  }
out:
  for (int k = 0; k < 2; k++)
    if (exec_done[k] >= 0)
      close(exec_done[k]);
  if (sp[0] >= 0)
    close(sp[0]);
  if (sp[1] >= 0)
    close(sp[1]);
  lc_process_clear(&proc);
  lc_config_free(cfg);
  lc_cgroup_free(cg);
  lc_state_free(st);
  return r;
}
