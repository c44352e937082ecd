/* berth-shim main: detach from berthd, create the container with its stdio, report
 * readiness on --ready-fd, then serve until the container's init exits. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/bjson.h"
#include "common/fileutil.h"
#include "libcontainer/cloned_binary.h"
#include "libcontainer/container.h"
#include "ext_runtime.h"
#include "shim.h"

static void usage(FILE *out)
{
  fprintf(out, "usage: berth-shim --id ID --bundle DIR --runtime-root DIR --state-dir DIR\n"
               "                  [--log FILE] [--log-max-size BYTES] [--log-max-file N]\n"
               "                  [--stdin [--stdin-once]] [--tty] [--ready-fd FD]\n"
               "                  [--runtime PATH [--runtime-arg ARG]...]\n\n"
               "Runs one container for berthd and keeps its stdio, log and exit status.\n"
               "Started by berthd; not meant to be run by hand.\n");
}

static void ready(int fd, json_t *msg)
{
  if (fd < 0) {
    json_decref(msg);
    return;
  }
  /* One line: the reader stops at the newline, since the container's init (cloned from us)
   * holds a copy of this pipe until it execs. */
  char *text = json_dumps(msg, JSON_COMPACT);
  if (text) {
    bf_write_all(fd, text, strlen(text));
    bf_write_all(fd, "\n", 1);
  }
  free(text);
  json_decref(msg);
  close(fd);
}

/* Bound by a relative name from inside the state dir: the full path may be longer than a
 * sockaddr_un allows (berthd connects through /proc/self/fd/<dirfd>/shim.sock). */
static int listen_on(const char *dir, struct berr *err)
{
  struct sockaddr_un addr = {.sun_family = AF_UNIX, .sun_path = "shim.sock"};
  if (chdir(dir) < 0)
    return berr_errno(err, "chdir %s", dir);
  unlink(addr.sun_path);
  int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  int r = fd < 0 ? -1 : 0;
  if (r == 0 && (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
                 chmod(addr.sun_path, 0600) < 0 || listen(fd, 4) < 0))
    r = -1;
  int e = errno;
  if (chdir("/") < 0 && r == 0)
    r = -1;
  if (r < 0) {
    if (fd >= 0)
      close(fd);
    return berr_set(err, e, "listen on %s/shim.sock", dir);
  }
  return fd;
}

static void shim_ignore_signal(int sig)
{
  (void)sig;
}

int main(int argc, char **argv)
{
  static const struct option opts[] = {
      {"id", required_argument, NULL, 'i'},
      {"bundle", required_argument, NULL, 'b'},
      {"runtime-root", required_argument, NULL, 'r'},
      {"state-dir", required_argument, NULL, 's'},
      {"log", required_argument, NULL, 'l'},
      {"log-max-size", required_argument, NULL, 'm'},
      {"log-max-file", required_argument, NULL, 'f'},
      {"stdin", no_argument, NULL, 'I'},
      {"stdin-once", no_argument, NULL, 'O'},
      {"tty", no_argument, NULL, 'T'},
      {"ready-fd", required_argument, NULL, 'R'},
      {"runtime", required_argument, NULL, 'X'},
      {"runtime-arg", required_argument, NULL, 'A'},
      {"help", no_argument, NULL, 'h'},
      {0, 0, 0, 0},
  };
  struct shim s = {.listen_fd = -1, .ctl_fd = -1};
  const char *log_path = NULL;
  unsigned long long max_size = 0;
  unsigned max_files = 1;
  bool want_stdin = false, stdin_once = false, tty = false;
  int ready_fd = -1, c;
  while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    switch (c) {
    case 'i':
      s.id = optarg;
      break;
    case 'b':
      s.bundle = optarg;
      break;
    case 'r':
      s.runtime_root = optarg;
      break;
    case 's':
      s.state_dir = optarg;
      break;
    case 'l':
      log_path = optarg;
      break;
    case 'm':
      max_size = strtoull(optarg, NULL, 10);
      break;
    case 'f':
      max_files = (unsigned)atoi(optarg);
      break;
    case 'I':
      want_stdin = true;
      break;
    case 'O':
      stdin_once = true;
      break;
    case 'T':
      tty = true;
      break;
    case 'R':
      ready_fd = atoi(optarg);
      break;
    case 'X':
      s.ext_path = optarg;
      break;
    case 'A':
      if (s.n_ext_args < 16)
        s.ext_args[s.n_ext_args++] = optarg;
      break;
    case 'h':
      usage(stdout);
      return 0;
    default:
      usage(stderr);
      return 2;
    }
  }
  if (!s.id || !s.bundle || !s.runtime_root || !s.state_dir) {
    usage(stderr);
    return 2;
  }
  struct berr err = {0};
  /* berthd may hand us our own binary as fd 4; nothing past the ready fd is ours. */
  if (ready_fd != 4)
    syscall(SYS_close_range, 4U, ready_fd > 4 ? (unsigned)ready_fd - 1 : ~0U, 0);
  if (ready_fd > 4)
    syscall(SYS_close_range, (unsigned)ready_fd + 1, ~0U, 0);
  if (lc_ensure_cloned_binary(argv, &err) < 0) {
    ready(ready_fd, json_pack("{s:s}", "error", err.msg));
    return 1;
  }
  /* berthd spawns us in a session of our own (it reaps us, and a berthd restart or crash
   * leaves us and the container running); started otherwise, leave the caller's. */
  setsid();
  /* A handler that does nothing, not SIG_IGN: ignored dispositions survive exec and would
   * reach the container's processes (a shell cannot even trap a signal ignored at entry, so
   * `docker kill -s HUP` and `docker stop -s INT` did nothing); caught ones are reset to
   * default by exec. */
  struct sigaction nop = {.sa_handler = shim_ignore_signal, .sa_flags = SA_RESTART};
  sigemptyset(&nop.sa_mask);
  sigaction(SIGPIPE, &nop, NULL);
  sigaction(SIGHUP, &nop, NULL);
  sigaction(SIGINT, &nop, NULL);
  /* berthd's blocked signals must not reach us (or, through us, the container). */
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (devnull >= 0) {
    dup2(devnull, STDIN_FILENO);
    dup2(devnull, STDOUT_FILENO);
    dup2(devnull, STDERR_FILENO);
  }
  if (chdir("/") < 0)
    return 1;

  if (log_path && !(s.log = logfile_open(log_path, max_size, max_files))) {
    berr_errno(&err, "open log %s", log_path);
    ready(ready_fd, json_pack("{s:s}", "error", err.msg));
    return 1;
  }
  struct shim_proc *init = calloc(1, sizeof(*init));
  if (!init)
    return 1;
  *init = (struct shim_proc){.pidfd = -1, .in_fd = -1, .out_fd = -1, .err_fd = -1, .master = -1};
  s.procs[0] = init;

  /* --tty says what the config's process.terminal says (berthd wrote both), so the config
   * is parsed once, by libcontainer, and the shim picks pipes or a pty from the flag. */
  init->tty = tty;
  /* Docker's StdinOnce: the end of an attached stdin closes the process's stdin (run -i);
   * without it (run -d -i, then attach) that attach session ends and stdin stays open. */
  init->stdin_once = stdin_once;

  int in[2] = {-1, -1}, out[2] = {-1, -1}, errp[2] = {-1, -1};
  int stdio[3] = {devnull, devnull, devnull};
  if (!init->tty) {
    if ((want_stdin && pipe2(in, O_CLOEXEC) < 0) || pipe2(out, O_CLOEXEC) < 0 ||
        pipe2(errp, O_CLOEXEC) < 0) {
      berr_errno(&err, "pipe");
      ready(ready_fd, json_pack("{s:s}", "error", err.msg));
      return 1;
    }
    if (want_stdin)
      stdio[0] = in[0];
    stdio[1] = out[1];
    stdio[2] = errp[1];
  }
  struct lc_create_opts o = {
      .root = s.runtime_root,
      .id = s.id,
      .bundle = s.bundle,
      .stdio = stdio,
      .pty_master = init->tty ? &init->master : NULL,
      .pid_out = &init->pid,
  };
  /* The memory creating the container takes is given back once it started
   * (shim_trim_memory). */
  if (s.ext_path) {
    if (ext_init(&s) < 0 || ext_create(&s, stdio, init->tty, &init->master, &init->pid, &err) < 0) {
      if (!err.msg[0])
        berr_errno(&err, "subreaper");
      ready(ready_fd, json_pack("{s:s}", "error", err.msg));
      return 1;
    }
  } else if (lc_container_run(&o, LC_RUN_CREATE, &(int){0}, &err) < 0) {
    ready(ready_fd, json_pack("{s:s}", "error", err.msg));
    return 1;
  }
  if (init->tty) {
    init->out_fd = init->master;
    init->in_fd = want_stdin ? dup(init->master) : -1;
  } else {
    close(out[1]);
    close(errp[1]);
    if (in[0] >= 0)
      close(in[0]);
    init->in_fd = in[1];
    init->out_fd = out[0];
    init->err_fd = errp[0];
  }
  init->pidfd = (int)syscall(SYS_pidfd_open, init->pid, 0);

  s.listen_fd = listen_on(s.state_dir, &err);
  if (s.listen_fd < 0) {
    if (s.ext_path)
      ext_delete(&s);
    else
      lc_container_delete(s.runtime_root, s.id, true, &err);
    ready(ready_fd, json_pack("{s:s}", "error", err.msg));
    return 1;
  }
  char pidfile[4096], buf[32];
  snprintf(pidfile, sizeof(pidfile), "%s/shim.pid", s.state_dir);
  int n = snprintf(buf, sizeof(buf), "%d", getpid());
  bf_write_atomic_volatile(pidfile, buf, (size_t)n, 0644, &err);
  ready(ready_fd, json_pack("{s:i,s:i}", "pid", (int)init->pid, "shim_pid", (int)getpid()));
  int r = shim_loop(&s);
  logfile_close(s.log);
  return r < 0 ? 1 : 0;
}
