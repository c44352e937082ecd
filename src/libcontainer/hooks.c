/* OCI hook execution: fork, feed the state on stdin, wait with the hook's timeout. */
#include "hooks.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/bjson.h"
#include "common/cleanup.h"
#include "common/fileutil.h"
#include "config.h"

static int run_one(json_t *hook, const char *name, const char *state, struct berr *err)
{
  const char *path = NULL;
  int64_t timeout = 0;
  json_t *args = NULL, *env = NULL;
  _cleanup_strv_ char **argv = NULL;
  _cleanup_strv_ char **envp = NULL;
  if (bjson_get_str(hook, "path", true, &path, name, err) < 0 ||
      bjson_get_int(hook, "timeout", false, &timeout, name, err) < 0 ||
      bjson_get_typed(hook, "args", JSON_ARRAY, false, &args, name, err) < 0 ||
      bjson_get_typed(hook, "env", JSON_ARRAY, false, &env, name, err) < 0)
    return -EINVAL;
  if (bjson_strv(args, &argv, name, err) < 0 || bjson_strv(env, &envp, name, err) < 0)
    return -EINVAL;
  char *default_argv[] = {(char *)path, NULL};

  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) < 0)
    return berr_errno(err, "%s hook %s: pipe", name, path);
  pid_t pid = fork();
  if (pid < 0) {
    close(pipefd[0]);
    close(pipefd[1]);
    return berr_errno(err, "%s hook %s: fork", name, path);
  }
  if (pid == 0) {
    dup2(pipefd[0], STDIN_FILENO);
    execve(path, argv[0] ? argv : default_argv, envp);
    _exit(127);
  }
  close(pipefd[0]);
  /* A hook that does not read its stdin must not block us: ignore EPIPE. */
  signal(SIGPIPE, SIG_IGN);
  bf_write_all(pipefd[1], state, strlen(state));
  close(pipefd[1]);

  int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (pidfd >= 0 && timeout > 0) {
    struct pollfd p = {.fd = pidfd, .events = POLLIN};
    int r;
    do
      r = poll(&p, 1, (int)(timeout * 1000));
    while (r < 0 && errno == EINTR);
    if (r == 0) {
      kill(pid, SIGKILL);
      waitpid(pid, NULL, 0);
      close(pidfd);
      return berr_set(err, ETIMEDOUT, "%s hook %s: timed out after %llds", name, path,
                      (long long)timeout);
    }
  }
  if (pidfd >= 0)
    close(pidfd);
  int status;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR)
      return berr_errno(err, "%s hook %s: wait", name, path);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
    return 0;
  if (WIFEXITED(status))
    return berr_set(err, 0, "%s hook %s failed: exit status %d", name, path, WEXITSTATUS(status));
  return berr_set(err, 0, "%s hook %s failed: killed by signal %d", name, path, WTERMSIG(status));
}

int lc_hooks_run(json_t *hooks, const char *name, json_t *state, struct berr *err)
{
  json_t *list = json_object_get(hooks, name);
  if (!json_is_array(list) || json_array_size(list) == 0)
    return 0;
  _cleanup_free_ char *text = json_dumps(state, JSON_COMPACT);
  if (!text)
    return berr_set(err, ENOMEM, "hooks");
  size_t i;
  json_t *h;
  json_array_foreach(list, i, h)
  {
    if (run_one(h, name, text, err) < 0)
      return -err->code;
  }
  return 0;
}

json_t *lc_hook_state(const char *id, int pid, const struct lc_config *c, const char *status)
{
  json_t *s = json_pack("{s:s,s:s,s:s,s:i,s:s}", "ociVersion", "1.0.2", "id", id, "status", status,
                        "pid", pid, "bundle", c->bundle);
  if (s && c->annotations)
    json_object_set(s, "annotations", c->annotations);
  return s;
}
