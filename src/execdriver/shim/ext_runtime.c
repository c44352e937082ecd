/* An external OCI runtime (runc, crun, berth-runc) driven through its command line instead
 * of libcontainer: create with --pid-file (and --console-socket for a tty), start, exec -d,
 * delete. The shim is a child subreaper, so the processes the runtime starts become its
 * children once the runtime command exits, and it waits for them as for its own. */
#include "ext_runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/bjson.h"
#include "common/fileutil.h"
#include "libcontainer/cgroups/cgroup.h"

int ext_init(struct shim *s)
{
  return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
}

/* A listening socket for --console-socket, at a short path of its own in /tmp (a path in
 * the state dir may not fit in sockaddr_un). */
static int console_listen(char *path, size_t len)
{
  unsigned char r[8];
  if (getrandom(r, sizeof(r), 0) != sizeof(r))
    return -1;
  snprintf(path, len, "/tmp/berth-console-%02x%02x%02x%02x%02x%02x%02x%02x.sock", r[0], r[1], r[2],
           r[3], r[4], r[5], r[6], r[7]);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
  if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 1) < 0) {
    if (fd >= 0)
      close(fd);
    return -1;
  }
  return fd;
}

/* The pty master the runtime sends over the console socket (SCM_RIGHTS). */
static int console_receive(int lfd, pid_t runtime)
{
  for (;;) {
    struct pollfd p = {.fd = lfd, .events = POLLIN};
    int r = poll(&p, 1, 200);
    if (r > 0)
      break;
    if (r < 0 && errno != EINTR)
      return -1;
    /* The runtime failed before sending it: stop waiting. */
    if (waitpid(runtime, NULL, WNOHANG | __WNOTHREAD) == runtime)
      return -2;
  }
  int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
  if (c < 0)
    return -1;
  char buf[256];
  char ctrl[CMSG_SPACE(sizeof(int))];
  struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf)};
  struct msghdr m = {
      .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctrl, .msg_controllen = sizeof(ctrl)};
  int fd = -1;
  if (recvmsg(c, &m, MSG_CMSG_CLOEXEC) >= 0) {
    struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
    if (cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
      memcpy(&fd, CMSG_DATA(cm), sizeof(int));
  }
  close(c);
  return fd;
}

/* Run `runtime [args] --root R --log L <verb...> ID` with the given stdio; 0 when it exits 0,
 * else the error with what the runtime logged. A console socket (lfd >= 0) is served while
 * it runs and the master it sends is put in *master. */
static int run_runtime(struct shim *s, const char *const *verb, const int stdio[3], int lfd,
                       int *master, struct berr *err)
{
  /* `delete` runs after berthd may have removed the state dir: no log for it. */
  char log_path[4096] = "/dev/null";
  if (strcmp(verb[0], "delete") != 0) {
    snprintf(log_path, sizeof(log_path), "%s/runtime.log", s->state_dir);
    unlink(log_path);
  }
  const char *argv[64];
  int n = 0;
  argv[n++] = s->ext_path;
  for (int i = 0; i < s->n_ext_args && n < 40; i++)
    argv[n++] = s->ext_args[i];
  argv[n++] = "--root";
  argv[n++] = s->runtime_root;
  argv[n++] = "--log";
  argv[n++] = log_path;
  for (int i = 0; verb[i] && n < 62; i++)
    argv[n++] = verb[i];
  argv[n] = NULL;
  int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
  pid_t pid = fork();
  if (pid < 0)
    return berr_errno(err, "fork");
  if (pid == 0) {
    int fds[3];
    for (int i = 0; i < 3; i++)
      fds[i] = stdio && stdio[i] >= 0 ? dup(stdio[i]) : dup(devnull);
    for (int i = 0; i < 3; i++)
      dup2(fds[i], i);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    execv(argv[0], (char *const *)argv);
    _exit(127);
  }
  if (devnull >= 0)
    close(devnull);
  if (lfd >= 0 && master) {
    int m = console_receive(lfd, pid);
    if (m == -2) {
      pid = -1; /* already reaped */
    } else {
      *master = m;
    }
  }
  int status = 0;
  if (pid > 0)
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
      ;
  else
    status = 1 << 8;
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
    return 0;
  char *text = NULL;
  size_t len = 0;
  struct berr ignored;
  if (bf_read_all(log_path, &text, &len, &ignored) == 0 && len) {
    while (len && (text[len - 1] == '\n' || text[len - 1] == ' '))
      text[--len] = 0;
    const char *last = strrchr(text, '\n');
    last = last ? last + 1 : text;
    /* A JSON log line ({"level":..,"msg":..}): its message; plain text as it is. */
    json_t *j = json_loads(last, 0, NULL);
    const char *msg = json_string_value(json_object_get(j, "msg"));
    berr_set(err, 0, "%s: %s", verb[0], msg ? msg : last);
    json_decref(j);
    free(text);
    return -EINVAL;
  }
  free(text);
  return berr_set(err, 0, "%s: %s exited with status %d", verb[0], s->ext_path,
                  WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

static int read_pid(const char *path, pid_t *pid, struct berr *err)
{
  char *text = NULL;
  size_t len = 0;
  if (bf_read_all(path, &text, &len, err) < 0)
    return -err->code;
  *pid = (pid_t)atoi(text);
  free(text);
  unlink(path);
  return *pid > 0 ? 0 : berr_set(err, 0, "bad pid file %s", path);
}

int ext_create(struct shim *s, const int stdio[3], bool tty, int *master, pid_t *pid,
               struct berr *err)
{
  char pidfile[4096], csock[108] = "";
  snprintf(pidfile, sizeof(pidfile), "%s/init.pid", s->state_dir);
  int lfd = -1;
  if (tty && (lfd = console_listen(csock, sizeof(csock))) < 0)
    return berr_errno(err, "console socket");
  const char *verb[] = {"create",     "--bundle", s->bundle,
                        "--pid-file", pidfile,    tty ? "--console-socket" : NULL,
                        csock,        s->id,      NULL};
  if (!tty) {
    verb[5] = s->id;
    verb[6] = NULL;
  }
  int r = run_runtime(s, verb, tty ? NULL : stdio, lfd, master, err);
  if (lfd >= 0) {
    close(lfd);
    unlink(csock);
  }
  if (r == 0 && tty && *master < 0)
    r = berr_set(err, 0, "create: the runtime sent no console");
  if (r == 0)
    r = read_pid(pidfile, pid, err);
  if (r == 0) {
    /* The cgroup the runtime made, kept where berthd finds it for stats, top, update and
     * pause (an external runtime keeps no libcontainer state). */
    char path[256], saved[4096];
    snprintf(path, sizeof(path), "/berth/%s", s->id);
    json_t *cfg = NULL;
    snprintf(saved, sizeof(saved), "%s/config.json", s->bundle);
    if (bjson_load_file(saved, &cfg, err) == 0) {
      const char *p =
          json_string_value(json_object_get(json_object_get(cfg, "linux"), "cgroupsPath"));
      if (p && *p)
        snprintf(path, sizeof(path), "%s", p);
      json_decref(cfg);
    }
    struct lc_cgroup *cg = NULL;
    struct berr cgerr;
    if (lc_cgroup_create(path, s->id, &cg, &cgerr) == 0) {
      json_t *j = lc_cgroup_save(cg);
      snprintf(saved, sizeof(saved), "%s/cgroup.json", s->state_dir);
      bjson_write_file(saved, j, &cgerr);
      json_decref(j);
      s->ext_cgroup = cg;
    }
  }
  return r;
}

int ext_start(struct shim *s, struct berr *err)
{
  const char *verb[] = {"start", s->id, NULL};
  return run_runtime(s, verb, NULL, -1, NULL, err);
}

int ext_exec(struct shim *s, json_t *process, const int stdio[3], int *master, pid_t *pid,
             struct berr *err)
{
  static unsigned seq;
  char proc_path[4096], pidfile[4096], csock[108] = "";
  snprintf(proc_path, sizeof(proc_path), "%s/exec-%u.json", s->state_dir, ++seq);
  snprintf(pidfile, sizeof(pidfile), "%s/exec-%u.pid", s->state_dir, seq);
  if (bjson_write_file(proc_path, process, err) < 0)
    return -err->code;
  bool tty = json_is_true(json_object_get(process, "terminal"));
  int lfd = -1;
  if (tty && (lfd = console_listen(csock, sizeof(csock))) < 0) {
    unlink(proc_path);
    return berr_errno(err, "console socket");
  }
  const char *verb[] = {"exec",  "--detach", "--process", proc_path, "--pid-file",
                        pidfile, s->id,      NULL,        NULL,      NULL};
  if (tty) {
    verb[6] = "--console-socket";
    verb[7] = csock;
    verb[8] = s->id;
  }
  int r = run_runtime(s, verb, tty ? NULL : stdio, lfd, master, err);
  if (lfd >= 0) {
    close(lfd);
    unlink(csock);
  }
  unlink(proc_path);
  if (r == 0)
    r = read_pid(pidfile, pid, err);
  return r;
}

bool ext_oom_killed(struct shim *s)
{
  struct lc_cgroup_stats st = {0};
  struct berr err;
  return s->ext_cgroup && lc_cgroup_stats(s->ext_cgroup, &st, &err) == 0 && st.oom_kills > 0;
}

void ext_delete(struct shim *s)
{
  struct berr err;
  const char *verb[] = {"delete", "--force", s->id, NULL};
  run_runtime(s, verb, NULL, -1, NULL, &err);
  if (s->ext_cgroup) {
    /* The hierarchies the runtime did not know of (we made them for stats). */
    lc_cgroup_destroy(s->ext_cgroup, &err);
    lc_cgroup_free(s->ext_cgroup);
    s->ext_cgroup = NULL;
  }
  char path[4096];
  snprintf(path, sizeof(path), "%s/cgroup.json", s->state_dir);
  unlink(path);
}
