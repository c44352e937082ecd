/* The shim's event loop: berthd's control connection, process output, client stdin,
 * process exits. Single-threaded on purpose: it is forked from and forks containers. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "common/bjson.h"
#include "common/cleanup.h"
#include "common/fileutil.h"
#include "execdriver/shim_proto.h"
#include "libcontainer/container.h"
#include "ext_runtime.h"
#include "shim.h"

#define DRAIN_MS 2000 /* output still read after a process exits (its children may hold it) */
#define ACK_MS 5000

int64_t shim_now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void shim_send_event(struct shim *s, json_t *ev)
{
  if (s->ctl_fd >= 0 && shim_msg_send(s->ctl_fd, ev, -1) < 0) {
    close(s->ctl_fd);
    s->ctl_fd = -1;
  }
  json_decref(ev);
}

static void now_rfc3339(char *buf, size_t len)
{
  struct timespec ts;
  struct tm tm;
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(buf + n, len - n, ".%09ldZ", ts.tv_nsec);
}

static struct shim_proc *find_exec(struct shim *s, const char *exec_id)
{
  for (int i = 0; i < SHIM_MAX_PROCS; i++)
    if (s->procs[i] && strcmp(s->procs[i]->exec_id, exec_id ? exec_id : "") == 0)
      return s->procs[i];
  return NULL;
}

static void proc_free(struct shim *s, struct shim_proc *p)
{
  shim_clients_close_for(s, p);
  /* With a tty, out_fd is the master itself and in_fd a dup of it. */
  if (p->out_fd >= 0 && p->out_fd != p->master)
    close(p->out_fd);
  int fds[] = {p->pidfd, p->in_fd, p->err_fd, p->master};
  for (size_t i = 0; i < 4; i++)
    if (fds[i] >= 0)
      close(fds[i]);
  bool was_exec = p != s->procs[0];
  for (int i = 0; i < SHIM_MAX_PROCS; i++)
    if (s->procs[i] == p)
      s->procs[i] = NULL;
  free(p);
  /* the last exec gone: the shim is back to waiting on its container alone */
  bool execs_left = false;
  for (int i = 1; i < SHIM_MAX_PROCS; i++)
    execs_left |= s->procs[i] != NULL;
  if (was_exec && !execs_left && s->procs[0])
    shim_trim_memory();
}

static void op_exec(struct shim *s, json_t *msg, int client_fd)
{
  const char *exec_id = json_string_value(json_object_get(msg, "exec_id"));
  json_t *process = json_object_get(msg, "process");
  bool want_in = json_is_true(json_object_get(msg, "stdin"));
  int slot = -1;
  for (int i = 1; i < SHIM_MAX_PROCS && slot < 0; i++)
    if (!s->procs[i])
      slot = i;
  struct berr err = {0};
  struct shim_proc *p = calloc(1, sizeof(*p));
  int in[2] = {-1, -1}, out[2] = {-1, -1}, errp[2] = {-1, -1};
  if (!exec_id || !json_is_object(process) || slot < 0 || !p) {
    berr_set(&err, 0, "bad exec request");
    goto fail;
  }
  snprintf(p->exec_id, sizeof(p->exec_id), "%s", exec_id);
  p->tty = json_is_true(json_object_get(process, "terminal"));
  p->stdin_once = true;
  p->master = p->in_fd = p->out_fd = p->err_fd = p->pidfd = -1;
  int stdio[3];
  int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (!p->tty) {
    if ((want_in && pipe2(in, O_CLOEXEC) < 0) || pipe2(out, O_CLOEXEC) < 0 ||
        pipe2(errp, O_CLOEXEC) < 0) {
      berr_errno(&err, "pipe");
      close(devnull);
      goto fail;
    }
    stdio[0] = want_in ? in[0] : devnull;
    stdio[1] = out[1];
    stdio[2] = errp[1];
  }
  struct lc_exec_opts o = {
      .root = s->runtime_root,
      .id = s->id,
      .process = process,
      .detach = true,
      .stdio = p->tty ? NULL : stdio,
      .pty_master = p->tty ? &p->master : NULL,
      .pid_out = &p->pid,
  };
  int status = 0;
  int r = s->ext_path ? ext_exec(s, process, p->tty ? NULL : stdio, &p->master, &p->pid, &err)
                      : lc_container_exec(&o, &status, &err);
  close(devnull);
  for (int k = 0; k < 2; k++) {
    if (k == 0 && in[0] >= 0)
      close(in[0]);
    if (k == 1) {
      if (out[1] >= 0)
        close(out[1]);
      if (errp[1] >= 0)
        close(errp[1]);
    }
  }
  if (r < 0) {
    if (in[1] >= 0)
      close(in[1]);
    if (out[0] >= 0)
      close(out[0]);
    if (errp[0] >= 0)
      close(errp[0]);
    goto fail;
  }
  if (p->tty) {
    p->out_fd = p->master;
    p->in_fd = want_in ? dup(p->master) : -1;
  } else {
    p->in_fd = in[1];
    p->out_fd = out[0];
    p->err_fd = errp[0];
  }
  p->pidfd = (int)syscall(SYS_pidfd_open, p->pid, 0);
  s->procs[slot] = p;
  if (client_fd >= 0)
    shim_client_add(s, p, client_fd, want_in, json_is_true(json_object_get(msg, "stdout")),
                    json_is_true(json_object_get(msg, "stderr")));
  shim_send_event(s, json_pack("{s:s,s:s,s:i}", "event", "exec-started", "exec_id", exec_id, "pid",
                               (int)p->pid));
  return;
fail:
  free(p);
  if (client_fd >= 0)
    close(client_fd);
  shim_send_event(s, json_pack("{s:s,s:s?,s:s}", "event", "exec-error", "exec_id", exec_id,
                               "message", err.msg));
}

static void handle_msg(struct shim *s, json_t *msg, int fd)
{
  const char *op = json_string_value(json_object_get(msg, "op"));
  struct berr err = {0};
  if (!op)
    op = "";
  if (strcmp(op, "attach") == 0 && fd >= 0) {
    struct shim_proc *init = s->procs[0];
    bool in = json_is_true(json_object_get(msg, "stdin")) && init->in_fd >= 0;
    shim_client_add(s, init, fd, in, json_is_true(json_object_get(msg, "stdout")),
                    json_is_true(json_object_get(msg, "stderr")));
    if (init->exited && init->out_fd < 0 && init->err_fd < 0)
      shim_clients_close_for(s, init);
    return;
  }
  if (fd >= 0 && strcmp(op, "exec") != 0)
    close(fd);
  if (strcmp(op, "start") == 0) {
    if (!s->started &&
        (s->ext_path ? ext_start(s, &err) : lc_container_start(s->runtime_root, s->id, &err)) < 0) {
      shim_send_event(s,
                      json_pack("{s:s,s:s,s:s}", "event", "error", "op", op, "message", err.msg));
      return;
    }
    s->started = true;
    shim_send_event(s, json_pack("{s:s,s:i}", "event", "started", "pid", (int)s->procs[0]->pid));
    /* from here the shim only waits */
    shim_trim_memory();
  } else if (strcmp(op, "exec") == 0) {
    op_exec(s, msg, fd);
  } else if (strcmp(op, "exec-ack") == 0) {
    struct shim_proc *p = find_exec(s, json_string_value(json_object_get(msg, "exec_id")));
    if (p && p->awaiting_ack)
      proc_free(s, p);
  } else if (strcmp(op, "resize") == 0) {
    struct shim_proc *p = find_exec(s, json_string_value(json_object_get(msg, "exec_id")));
    struct winsize ws = {
        .ws_row = (unsigned short)json_integer_value(json_object_get(msg, "h")),
        .ws_col = (unsigned short)json_integer_value(json_object_get(msg, "w")),
    };
    if (!p || p->master < 0 || ioctl(p->master, TIOCSWINSZ, &ws) < 0)
      shim_send_event(
          s, json_pack("{s:s,s:s,s:s}", "event", "error", "op", op, "message", "no tty to resize"));
  } else {
    shim_send_event(
        s, json_pack("{s:s,s:s,s:s}", "event", "error", "op", op, "message", "unknown operation"));
  }
}

static void read_output(struct shim *s, struct shim_proc *p, int *fd, int stream)
{
  char buf[32768];
  ssize_t n = read(*fd, buf, sizeof(buf));
  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return;
  if (n <= 0) {
    /* EIO on a pty master means the last slave fd closed: the same as EOF. */
    if (*fd == p->master) {
      p->master = -1;
      if (p->in_fd >= 0 && p->tty) {
        close(p->in_fd);
        p->in_fd = -1;
      }
    }
    close(*fd);
    *fd = -1;
    return;
  }
  if (p == s->procs[0])
    logfile_write(s->log, stream, buf, (size_t)n);
  shim_output(s, p, stream, buf, (size_t)n);
}

static void write_exit(struct shim *s, int code, bool oom)
{
  char when[64], path[4096];
  now_rfc3339(when, sizeof(when));
  json_t *j = json_pack("{s:i,s:b,s:s}", "code", code, "oom", oom, "finished", when);
  snprintf(path, sizeof(path), "%s/exit.json", s->state_dir);
  struct berr err;
  char *text = json_dumps(j, JSON_COMPACT);
  /* Under the exec root (tmpfs normally): atomic, no fsync. */
  if (text)
    bf_write_atomic_volatile(path, text, strlen(text), 0644, &err);
  free(text);
  shim_send_event(s, json_pack("{s:s,s:i,s:b,s:s}", "event", "exit", "code", code, "oom", oom,
                               "finished", when));
  json_decref(j);
}

static void reap(struct shim_proc *p)
{
  int status;
  if (waitpid(p->pid, &status, WNOHANG) == p->pid) {
    p->exited = true;
    p->code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    p->exit_ms = shim_now_ms();
    close(p->pidfd);
    p->pidfd = -1;
  }
}

/* A finished process: exit reported and its output drained (or the drain time is up). */
static bool proc_done(struct shim_proc *p)
{
  if (!p->exited)
    return false;
  bool open_out = p->out_fd >= 0 || p->err_fd >= 0;
  return !open_out || shim_now_ms() - p->exit_ms > DRAIN_MS;
}

int shim_loop(struct shim *s)
{
  for (;;) {
    struct pollfd fds[2 + SHIM_MAX_PROCS * 3 + SHIM_MAX_CLIENTS];
    void *owner[sizeof(fds) / sizeof(fds[0])];
    int kind[sizeof(fds) / sizeof(fds[0])];
    int n = 0;
    fds[n] = (struct pollfd){.fd = s->listen_fd, .events = POLLIN};
    kind[n++] = 0;
    if (s->ctl_fd >= 0) {
      fds[n] = (struct pollfd){.fd = s->ctl_fd, .events = POLLIN};
      kind[n++] = 1;
    }
    for (int i = 0; i < SHIM_MAX_PROCS; i++) {
      struct shim_proc *p = s->procs[i];
      if (!p)
        continue;
      if (p->pidfd >= 0) {
        fds[n] = (struct pollfd){.fd = p->pidfd, .events = POLLIN};
        owner[n] = p;
        kind[n++] = 2;
      }
      if (p->out_fd >= 0) {
        fds[n] = (struct pollfd){.fd = p->out_fd, .events = POLLIN};
        owner[n] = p;
        kind[n++] = 3;
      }
      if (p->err_fd >= 0) {
        fds[n] = (struct pollfd){.fd = p->err_fd, .events = POLLIN};
        owner[n] = p;
        kind[n++] = 4;
      }
    }
    for (int i = 0; i < SHIM_MAX_CLIENTS; i++) {
      struct shim_client *c = s->clients[i];
      if (c && !c->in_done) {
        fds[n] = (struct pollfd){.fd = c->fd, .events = POLLIN};
        owner[n] = c;
        kind[n++] = 5;
      }
    }
    int r = poll(fds, (nfds_t)n, 200);
    if (r < 0 && errno != EINTR)
      return -errno;
    for (int i = 0; r > 0 && i < n; i++) {
      if (!fds[i].revents)
        continue;
      switch (kind[i]) {
      case 0: {
        int c = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (c >= 0) {
          if (s->ctl_fd >= 0)
            close(s->ctl_fd); /* a restarted berthd replaces the old connection */
          s->ctl_fd = c;
          if (s->procs[0]->exited) /* it may have missed the exit */
            write_exit(s, s->procs[0]->code, false);
        }
        break;
      }
      case 1: {
        json_t *msg = NULL;
        int fd = -1;
        int rr = shim_msg_recv(s->ctl_fd, &msg, &fd);
        if (rr <= 0 && rr != -EPROTO) {
          close(s->ctl_fd);
          s->ctl_fd = -1;
        } else if (msg) {
          handle_msg(s, msg, fd);
          json_decref(msg);
        }
        break;
      }
      case 2:
        reap(owner[i]);
        break;
      case 3: {
        struct shim_proc *p = owner[i];
        /* the fd may have been closed by an earlier event in this round */
        if (p->out_fd == fds[i].fd)
          read_output(s, p, &p->out_fd, 1);
        break;
      }
      case 4: {
        struct shim_proc *p = owner[i];
        if (p->err_fd == fds[i].fd)
          read_output(s, p, &p->err_fd, 2);
        break;
      }
      case 5: {
        struct shim_client *c = owner[i];
        bool alive = false;
        for (int k = 0; k < SHIM_MAX_CLIENTS; k++)
          alive |= s->clients[k] == c;
        if (alive)
          shim_client_input(s, c);
        break;
      }
      }
    }

    for (int i = 1; i < SHIM_MAX_PROCS; i++) {
      struct shim_proc *p = s->procs[i];
      if (!p || !proc_done(p))
        continue;
      if (!p->awaiting_ack) {
        /* Report the exit before the client's connection closes: docker exec inspects the
         * exit code as soon as its stream ends. */
        p->awaiting_ack = true;
        p->ack_deadline = shim_now_ms() + ACK_MS;
        shim_send_event(s, json_pack("{s:s,s:s,s:i}", "event", "exec-exit", "exec_id", p->exec_id,
                                     "code", p->code));
        if (s->ctl_fd < 0)
          proc_free(s, p);
      } else if (shim_now_ms() > p->ack_deadline || s->ctl_fd < 0) {
        proc_free(s, p);
      }
    }

    struct shim_proc *init = s->procs[0];
    if (proc_done(init)) {
      logfile_flush(s->log);
      struct lc_cgroup_stats st = {0};
      struct berr err;
      bool oom = s->ext_path ? ext_oom_killed(s)
                             : lc_container_stats(s->runtime_root, s->id, &st, &err) == 0 &&
                                   st.oom_kills > 0;
      /* Report first, tidy after: the exit is what `docker run` waits for, and removing
       * the cgroups (one rmdir per v1 hierarchy) need not hold it up. */
      write_exit(s, init->code, oom);
      for (int i = 0; i < SHIM_MAX_PROCS; i++)
        if (s->procs[i])
          proc_free(s, s->procs[i]);
      if (s->ext_path)
        ext_delete(s);
      else
        lc_container_delete(s->runtime_root, s->id, true, &err);
      return 0;
    }
  }
}
