/* Final process setup: the order matters (crun/runc): limits and identity while still
 * root, seccomp while CAP_SYS_ADMIN is held unless no_new_privs, then caps, then exec. */
#include "process.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/close_range.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "security/caps.h"
#include "security/seccomp.h"

static const char default_path[] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

static const char *env_get(char **env, const char *key)
{
  size_t n = strlen(key);
  for (char **e = env; e && *e; e++)
    if (strncmp(*e, key, n) == 0 && (*e)[n] == '=')
      return *e + n + 1;
  return NULL;
}

/* HOME from the container's /etc/passwd, "/" when the uid has no entry (as runc). */
static char *home_for(uid_t uid)
{
  _cleanup_fclose_ FILE *f = fopen("/etc/passwd", "re");
  char line[1024];
  while (f && fgets(line, sizeof(line), f)) {
    char *fields[7] = {0};
    char *save = NULL, *p = line;
    int i = 0;
    for (char *tok = strsep(&p, ":"); tok && i < 7; tok = strsep(&p, ":"))
      fields[i++] = tok;
    (void)save;
    if (i >= 6 && strtoul(fields[2], NULL, 10) == uid && fields[5][0])
      return strdup(fields[5]);
  }
  return strdup("/");
}

static int build_env(const struct lc_process *p, char ***out, struct berr *err)
{
  size_t n = 0;
  while (p->env && p->env[n])
    n++;
  char **env = calloc(n + 3, sizeof(char *));
  if (!env)
    return berr_set(err, ENOMEM, "environment");
  for (size_t i = 0; i < n; i++)
    env[i] = strdup(p->env[i]);
  if (!env_get(p->env, "HOME")) {
    _cleanup_free_ char *home = home_for(p->uid);
    if (asprintf(&env[n++], "HOME=%s", home ? home : "/") < 0)
      env[--n] = NULL;
  }
  *out = env;
  return 0;
}

static int resolve_exec(const char *arg0, char **env, char out[4096], struct berr *err)
{
  if (strchr(arg0, '/')) {
    snprintf(out, 4096, "%s", arg0);
    /* runc's words: the docker CLI maps "no such file or directory" to exit code 127. */
    struct stat st;
    if (stat(out, &st) < 0)
      return berr_set(err, 0, "exec: \"%s\": stat %s: no such file or directory", arg0, arg0);
    /* Docker maps these words to exit code 126, as runc reports them. */
    if (S_ISDIR(st.st_mode))
      return berr_set(err, 0, "exec: \"%s\": is a directory", arg0);
    if (!(st.st_mode & 0111))
      return berr_set(err, 0, "exec: \"%s\": permission denied", arg0);
    return 0;
  }
  const char *path = env_get(env, "PATH");
  _cleanup_free_ char *copy = strdup(path ? path : default_path);
  char *save = NULL;
  for (char *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
    struct stat st;
    snprintf(out, 4096, "%s/%s", *dir ? dir : ".", arg0);
    if (stat(out, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111))
      return 0;
  }
  return berr_set(err, ENOENT, "exec: \"%s\": executable file not found in $PATH", arg0);
}

static int checked_chdir(const char *cwd, struct berr *err)
{
  char buf[PATH_MAX];
  if (chdir(cwd) < 0)
    return berr_errno(err, "chdir to cwd (\"%s\") set in config.json", cwd);
  /* A cwd outside our root (a leaked host fd) reads as "(unreachable)": CVE-2024-21626. */
  long r = syscall(SYS_getcwd, buf, sizeof(buf));
  if (r < 0 || buf[0] != '/')
    return berr_set(err, EPERM, "current working directory is outside of the container root");
  return 0;
}

/* The process starts with default signal handling whatever its parents had: a signal
 * ignored or blocked by a daemon up the chain would survive execve (a shell cannot even
 * trap a signal that was ignored when it started). */
static void reset_signals(void)
{
  struct sigaction dfl = {.sa_handler = SIG_DFL};
  for (int sig = 1; sig < _NSIG; sig++)
    if (sig != SIGKILL && sig != SIGSTOP)
      sigaction(sig, &dfl, NULL);
  /* glibc keeps 32 and 33 for itself and refuses to touch them: reset them directly. */
  struct {
    void *handler;
    unsigned long flags;
    void *restorer;
    unsigned long mask;
  } kdfl = {0};
  for (int sig = 32; sig < SIGRTMIN; sig++)
    syscall(SYS_rt_sigaction, sig, &kdfl, NULL, sizeof(kdfl.mask));
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
}

int lc_process_setup(const struct lc_process *p, const struct lc_seccomp *seccomp, int preserve_fds,
                     struct lc_exec_plan *plan, struct berr *err)
{
  reset_signals();
  for (size_t i = 0; i < p->n_rlimits; i++)
    if (setrlimit(p->rlimits[i].resource, &p->rlimits[i].limit) < 0)
      return berr_errno(err, "setrlimit %d", p->rlimits[i].resource);
  if (p->has_oom_score_adj) {
    int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
    char v[16];
    int len = snprintf(v, sizeof(v), "%d", p->oom_score_adj);
    if (fd < 0 || write(fd, v, (size_t)len) != len) {
      int e = errno;
      if (fd >= 0)
        close(fd);
      return berr_set(err, e, "set oom_score_adj");
    }
    close(fd);
  }
  umask(p->has_umask ? p->umask : 022);
  if (build_env(p, &plan->envp, err) < 0)
    return -err->code;
  /* Resolve as root in the container, before identity changes. */
  if (resolve_exec(p->args[0], plan->envp, plan->path, err) < 0)
    return -err->code;
  /* The cwd may not be reachable by the target user yet: try now, check again later. */
  if (chdir(p->cwd) < 0 && errno != EACCES)
    return berr_errno(err, "chdir to cwd (\"%s\") set in config.json", p->cwd);

  bool keeps_admin = p->has_caps && (p->caps.effective & (1ULL << CAP_SYS_ADMIN));
  plan->seccomp_late = p->no_new_privileges || keeps_admin;
  plan->notify_fd = -1;
  /* A filter with a listener goes in now, while the parent still listens to us: the fd
   * must reach the listener before the process runs. */
  if (seccomp && lc_seccomp_wants_notify(seccomp))
    plan->seccomp_late = false;
  if (seccomp && !plan->seccomp_late &&
      lc_seccomp_install(seccomp, lc_seccomp_wants_notify(seccomp) ? &plan->notify_fd : NULL, err) <
          0)
    return berr_wrap(err, "install seccomp");

  struct lc_caps none = {0};
  const struct lc_caps *caps = p->has_caps ? &p->caps : &none;
  if (lc_caps_drop_bounding(caps, err) < 0)
    return -err->code;
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
    return berr_errno(err, "keep capabilities");
  if (setgroups(p->n_additional_gids, p->additional_gids) < 0 && errno != EPERM)
    return berr_errno(err, "setgroups");
  if (setresgid(p->gid, p->gid, p->gid) < 0)
    return berr_errno(err, "setgid %u", p->gid);
  if (setresuid(p->uid, p->uid, p->uid) < 0)
    return berr_errno(err, "setuid %u", p->uid);
  if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
    return berr_errno(err, "clear keep capabilities");
  if (lc_caps_apply(caps, err) < 0)
    return -err->code;
  if (p->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    return berr_errno(err, "set no_new_privs");
  if (checked_chdir(p->cwd, err) < 0)
    return -err->code;

  /* Nothing of ours may reach the container process (CVE-2024-21626): every fd past
   * stdio and the preserved ones closes on exec. */
  unsigned int first = 3 + (unsigned)(preserve_fds > 0 ? preserve_fds : 0);
  for (unsigned fd = 3; fd < first; fd++) {
    int fl = fcntl((int)fd, F_GETFD);
    if (fl >= 0)
      fcntl((int)fd, F_SETFD, fl & ~FD_CLOEXEC);
  }
  if (syscall(SYS_close_range, first, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
    return berr_errno(err, "mark fds close-on-exec");
  return 0;
}

int lc_process_exec(const struct lc_process *p, const struct lc_seccomp *seccomp,
                    struct lc_exec_plan *plan, struct berr *err)
{
  if (seccomp && plan->seccomp_late && lc_seccomp_install(seccomp, NULL, err) < 0)
    return berr_wrap(err, "install seccomp");
  execve(plan->path, p->args, plan->envp);
  return berr_errno(err, "exec %s", p->args[0]);
}
