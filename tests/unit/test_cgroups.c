/* Unit tests for the cgroup manager against the real kernel (run as root): limits read
 * back from cgroupfs, real processes entered, limited, frozen, OOM-killed and killed. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "common/cleanup.h"
#include "libcontainer/cgroups/cgroup.h"
#include "libcontainer/cgroups/cgroup_internal.h"

static enum lc_cgroup_mode mode;
static int name_seq;

static void unique_path(char *buf, size_t len)
{
  snprintf(buf, len, "/berth-test-%d-%d", (int)getpid(), name_seq++);
}

/* The directory holding `controller`'s files for this cgroup (v2: the one directory). */
static const char *ctl_dir(struct lc_cgroup *cg, const char *controller)
{
  if (mode == LC_CGROUP_V2)
    return cg->dirs[0].dir;
  return lc_cg_v1_dir(cg, controller);
}

static char *read_str(const char *dir, const char *file)
{
  char path[512];
  snprintf(path, sizeof(path), "%s/%s", dir, file);
  FILE *f = fopen(path, "re");
  if (!f)
    return strdup("<missing>");
  static char buf[4096];
  size_t n = fread(buf, 1, sizeof(buf) - 1, f);
  fclose(f);
  buf[n] = '\0';
  buf[strcspn(buf, "\n")] = '\0';
  return strdup(buf);
}

static bool file_is(const char *dir, const char *file, const char *want)
{
  _cleanup_free_ char *s = read_str(dir, file);
  if (strcmp(s, want) != 0) {
    printf("# %s/%s: got \"%s\", want \"%s\"\n", dir, file, s, want);
    return false;
  }
  return true;
}

/* Whether `path` exists under any cgroup hierarchy root mounted below /sys/fs/cgroup. */
static bool exists_anywhere(const char *path)
{
  char p[512];
  struct stat st;
  snprintf(p, sizeof(p), "/sys/fs/cgroup%s", path);
  if (stat(p, &st) == 0)
    return true;
  DIR *d = opendir("/sys/fs/cgroup");
  if (!d)
    return false;
  struct dirent *e;
  bool found = false;
  while ((e = readdir(d)) && !found) {
    if (e->d_name[0] == '.')
      continue;
    snprintf(p, sizeof(p), "/sys/fs/cgroup/%s%s", e->d_name, path);
    if (stat(p, &st) == 0) {
      printf("# left behind: %s\n", p);
      found = true;
    }
  }
  closedir(d);
  return found;
}

static json_t *J(const char *text)
{
  json_error_t je;
  json_t *j = json_loads(text, 0, &je);
  if (!j)
    printf("# bad test JSON: %s\n", je.text);
  return j;
}

static struct lc_cgroup *make(char *path, size_t len)
{
  struct berr err = {0};
  struct lc_cgroup *cg = NULL;
  unique_path(path, len);
  int r = lc_cgroup_create(path, NULL, &cg, &err);
  if (r < 0)
    printf("# create %s: %s\n", path, err.msg);
  return cg;
}

static void finish(struct lc_cgroup *cg, const char *path)
{
  struct berr err = {0};
  int r = lc_cgroup_destroy(cg, &err);
  if (r < 0)
    printf("# destroy: %s\n", err.msg);
  CHECK(r == 0);
  CHECK(!exists_anywhere(path));
  lc_cgroup_free(cg);
}

static int apply(struct lc_cgroup *cg, const char *text, struct berr *err)
{
  json_t *j = J(text);
  int r = lc_cgroup_apply(cg, j, err);
  json_decref(j);
  return r;
}

/* Fork a child that runs fn only after the parent has put it in the cgroup. */
static pid_t spawn(struct lc_cgroup *cg, void (*fn)(void *), void *arg)
{
  int p[2];
  if (pipe(p) < 0)
    return -1;
  pid_t pid = fork();
  if (pid == 0) {
    close(p[1]);
    char c;
    if (read(p[0], &c, 1) != 1)
      _exit(99);
    fn(arg);
    _exit(0);
  }
  close(p[0]);
  struct berr err = {0};
  if (lc_cgroup_enter(cg, pid, &err) < 0)
    printf("# enter %d: %s\n", (int)pid, err.msg);
  if (write(p[1], "x", 1) != 1)
    printf("# sync write failed\n");
  close(p[1]);
  return pid;
}

static void sleeper(void *arg)
{
  for (;;)
    pause();
}

static int reap(pid_t pid)
{
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
    ;
  return st;
}

static void kill_reap(pid_t pid)
{
  kill(pid, SIGKILL);
  reap(pid);
}

/* Reap grandchildren reparented to us (we are a subreaper). */
static void reap_orphans(void)
{
  while (waitpid(-1, NULL, WNOHANG) > 0)
    ;
}

static void test_paths(void)
{
  struct berr err = {0};
  char *p = NULL;
  CHECK(lc_cg_resolve_path(NULL, "abc", &p, &err) == 0 && strcmp(p, "/berth/abc") == 0);
  free(p);
  CHECK(lc_cg_resolve_path("", "abc", &p, &err) == 0 && strcmp(p, "/berth/abc") == 0);
  free(p);
  CHECK(lc_cg_resolve_path("pod1/c1", "x", &p, &err) == 0 && strcmp(p, "/berth/pod1/c1") == 0);
  free(p);
  CHECK(lc_cg_resolve_path("/a//b/./c/", "x", &p, &err) == 0 && strcmp(p, "/a/b/c") == 0);
  free(p);
  CHECK(lc_cg_resolve_path("/a/../b", "x", &p, &err) < 0);
  CHECK(strstr(err.msg, "\"..\" is not allowed") != NULL);
  CHECK(lc_cg_resolve_path("..", "x", &p, &err) < 0);
  CHECK(lc_cg_resolve_path("/", "x", &p, &err) < 0);
  CHECK(lc_cg_resolve_path(NULL, "a/b", &p, &err) < 0);
  CHECK(lc_cg_resolve_path(NULL, "..", &p, &err) < 0);

  /* A refused path creates nothing. */
  char path[128], bad[160];
  unique_path(path, sizeof(path));
  snprintf(bad, sizeof(bad), "%s/../escape", path);
  struct lc_cgroup *cg = NULL;
  CHECK(lc_cgroup_create(bad, NULL, &cg, &err) < 0 && cg == NULL);
  CHECK(!exists_anywhere(path));
  CHECK(!exists_anywhere("/escape"));

  /* A create that fails halfway removes what it made and only that. The cgroup2
   * hierarchy (v2, or hybrid's /sys/fs/cgroup/unified, joined last) refuses the leaf when
   * a pre-existing parent has cgroup.max.depth 0. */
  const char *c2 = NULL;
  struct stat st;
  if (mode == LC_CGROUP_V2)
    c2 = "/sys/fs/cgroup";
  else if (stat("/sys/fs/cgroup/unified/cgroup.procs", &st) == 0)
    c2 = "/sys/fs/cgroup/unified";
  if (c2) {
    char parent[256], child[256];
    unique_path(path, sizeof(path));
    snprintf(parent, sizeof(parent), "%s%s", c2, path);
    CHECK(mkdir(parent, 0755) == 0);
    CHECK(lc_cg_write(parent, "cgroup.max.depth", "0", &err) == 0);
    snprintf(child, sizeof(child), "%s/child", path);
    CHECK(lc_cgroup_create(child, NULL, &cg, &err) < 0 && cg == NULL);
    printf("# halfway failure: %s\n", err.msg);
    CHECK(strstr(err.msg, "create cgroup") != NULL);
    CHECK(!exists_anywhere(child));
    CHECK(rmdir(parent) == 0);
    CHECK(!exists_anywhere(path)); /* the v1 parents it made are gone too */
  } else {
    printf("# no cgroup2 hierarchy: halfway-failure test skipped\n");
  }
}

/* Other hosts' layouts: cpu,cpuacct co-mounted, a named hierarchy, a second mount of the
 * same hierarchy, an escaped mountpoint, cgroup2 next to them. */
static void test_mountinfo(void)
{
  char dir[] = "/tmp/berth-test-mi-XXXXXX";
  CHECK(mkdtemp(dir) != NULL);
  char mi[128], pc[128];
  snprintf(mi, sizeof(mi), "%s/mountinfo", dir);
  snprintf(pc, sizeof(pc), "%s/cgroups", dir);
  FILE *f = fopen(pc, "w");
  fputs("#subsys_name\thierarchy\tnum_cgroups\tenabled\ncpuset\t2\t1\t1\ncpu\t3\t1\t1\n"
        "cpuacct\t3\t1\t1\nmemory\t4\t1\t1\nnet_cls\t5\t1\t1\nnet_prio\t5\t1\t1\n"
        "pids\t6\t1\t1\n",
        f);
  fclose(f);
  f = fopen(mi, "w");
  /* The cgroup2 mountpoint must be writable to be joined: use our temp dir. */
  fprintf(f, "26 25 0:23 / %s rw shared:5 - cgroup2 cgroup2 rw,nsdelegate\n", dir);
  fputs(
      "25 30 0:22 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755\n"
      "27 25 0:24 / /sys/fs/cgroup/systemd rw shared:6 - cgroup cgroup rw,xattr,name=systemd\n"
      "30 25 0:27 / /sys/fs/cgroup/cpu,cpuacct rw shared:10 - cgroup cgroup rw,cpu,cpuacct\n"
      "31 25 0:28 / /sys/fs/cgroup/memory rw shared:11 - cgroup cgroup rw,memory\n"
      "32 25 0:29 / /sys/fs/cgroup/net_cls,net_prio rw - cgroup cgroup rw,net_cls,net_prio\n"
      "33 25 0:30 / /sys/fs/cgroup/my\\040pids rw - cgroup cgroup rw,pids\n"
      "34 25 0:28 / /mnt/memory-again rw - cgroup cgroup rw,memory\n"
      "35 25 0:31 / /sys/fs/cgroup/cpuset rw shared:12 - cgroup cgroup rw,cpuset,clone_children\n",
      f);
  fclose(f);
  struct lc_cgroup cg = {.mode = LC_CGROUP_V1, .path = (char *)"/berth/x"};
  struct berr err = {0};
  CHECK(lc_cg_v1_hierarchies_from(&cg, mi, pc, &err) == 0);
  CHECK(cg.ndirs == 6);
  const char *d = lc_cg_v1_dir(&cg, "cpu");
  CHECK(d && strcmp(d, "/sys/fs/cgroup/cpu,cpuacct/berth/x") == 0);
  d = lc_cg_v1_dir(&cg, "cpuacct");
  CHECK(d && strcmp(d, "/sys/fs/cgroup/cpu,cpuacct/berth/x") == 0);
  d = lc_cg_v1_dir(&cg, "memory");
  CHECK(d && strcmp(d, "/sys/fs/cgroup/memory/berth/x") == 0);
  d = lc_cg_v1_dir(&cg, "pids");
  CHECK(d && strcmp(d, "/sys/fs/cgroup/my pids/berth/x") == 0);
  d = lc_cg_v1_dir(&cg, "cpuset");
  CHECK(d && strcmp(d, "/sys/fs/cgroup/cpuset/berth/x") == 0);
  CHECK(lc_cg_v1_dir(&cg, "net_prio") != NULL);
  CHECK(lc_cg_v1_dir(&cg, "systemd") == NULL && lc_cg_v1_dir(&cg, "name=systemd") == NULL);
  CHECK(lc_cg_v1_dir(&cg, "clone_children") == NULL);
  char want[128];
  snprintf(want, sizeof(want), "%s/berth/x", dir);
  CHECK(cg.ndirs == 6 && cg.dirs[5].unified && strcmp(cg.dirs[5].dir, want) == 0);
  for (size_t i = 0; i < cg.ndirs; i++) {
    free(cg.dirs[i].controllers);
    free(cg.dirs[i].mountpoint);
    free(cg.dirs[i].dir);
  }
  free(cg.dirs);
  unlink(mi);
  unlink(pc);
  rmdir(dir);
}

static void test_conversions(void)
{
  CHECK(lc_cg_shares_to_weight(2) == 1);
  CHECK(lc_cg_shares_to_weight(262144) == 10000);
  CHECK(lc_cg_shares_to_weight(1024) == 39);
  CHECK(lc_cg_shares_to_weight(0) == 0);
  CHECK(lc_cg_blkio_to_io_weight(10) == 1);
  CHECK(lc_cg_blkio_to_io_weight(1000) == 10000);
}

static void test_memory_limit(void)
{
  char path[128];
  struct berr err = {0};
  struct lc_cgroup *cg = make(path, sizeof(path));
  CHECK(cg != NULL);
  if (!cg)
    return;
  CHECK_STREQ(lc_cgroup_path(cg), path);
  const char *dir = ctl_dir(cg, "memory");
  CHECK(dir != NULL);
  int r = apply(cg, "{\"memory\":{\"limit\":67108864,\"reservation\":33554432}}", &err);
  if (r < 0)
    printf("# %s\n", err.msg);
  CHECK(r == 0);
  if (mode == LC_CGROUP_V1) {
    CHECK(file_is(dir, "memory.limit_in_bytes", "67108864"));
    CHECK(file_is(dir, "memory.soft_limit_in_bytes", "33554432"));
  } else {
    CHECK(file_is(dir, "memory.max", "67108864"));
    CHECK(file_is(dir, "memory.low", "33554432"));
  }

  /* swap is memory+swap: raise both, then lower both (the write order matters on v1). */
  r = apply(cg, "{\"memory\":{\"limit\":134217728,\"swap\":268435456}}", &err);
  if (r < 0)
    printf("# %s\n", err.msg);
  CHECK(r == 0);
  if (mode == LC_CGROUP_V1) {
    CHECK(file_is(dir, "memory.limit_in_bytes", "134217728"));
    if (lc_cg_exists(dir, "memory.memsw.limit_in_bytes"))
      CHECK(file_is(dir, "memory.memsw.limit_in_bytes", "268435456"));
  } else {
    CHECK(file_is(dir, "memory.max", "134217728"));
    if (lc_cg_exists(dir, "memory.swap.max"))
      CHECK(file_is(dir, "memory.swap.max", "134217728"));
  }
  r = apply(cg, "{\"memory\":{\"limit\":16777216,\"swap\":16777216}}", &err);
  if (r < 0)
    printf("# %s\n", err.msg);
  CHECK(r == 0);
  if (mode == LC_CGROUP_V1) {
    CHECK(file_is(dir, "memory.limit_in_bytes", "16777216"));
    if (lc_cg_exists(dir, "memory.memsw.limit_in_bytes"))
      CHECK(file_is(dir, "memory.memsw.limit_in_bytes", "16777216"));
  }
  /* -1 lifts both. */
  r = apply(cg, "{\"memory\":{\"limit\":-1}}", &err);
  CHECK(r == 0);
  if (mode == LC_CGROUP_V1)
    CHECK(file_is(dir, "memory.limit_in_bytes", "9223372036854771712"));
  else
    CHECK(file_is(dir, "memory.max", "max"));

  /* Bad values: clear errors, nothing changed. */
  CHECK(apply(cg, "{\"memory\":{\"limit\":67108864}}", &err) == 0);
  r = apply(cg, "{\"memory\":{\"limit\":-5}}", &err);
  CHECK(r < 0);
  CHECK_STREQ(err.msg, "memory.limit: -5 is not valid");
  r = apply(cg, "{\"memory\":{\"limit\":1048576,\"swap\":1024}}", &err);
  CHECK(r < 0 && strstr(err.msg, "memory.swap") != NULL);
  r = apply(cg, "{\"memory\":{\"limit\":\"1g\"}}", &err);
  CHECK(r < 0 && strstr(err.msg, "memory.limit: expected an integer") != NULL);
  r = apply(cg, "{\"memory\":{\"limits\":1}}", &err);
  CHECK(r < 0 && strstr(err.msg, "memory.limits: unknown setting") != NULL);
  r = apply(cg, "{\"memroy\":{}}", &err);
  CHECK(r < 0 && strstr(err.msg, "linux.resources.memroy") != NULL);
  r = apply(cg, "{\"cpu\":{\"shares\":1}}", &err);
  CHECK(r < 0 && strstr(err.msg, "cpu.shares: 1 is not valid") != NULL);
  r = apply(cg, "{\"cpu\":{\"cpus\":\"0-1;rm\"}}", &err);
  CHECK(r < 0 && strstr(err.msg, "cpu.cpus") != NULL);
  r = apply(cg, "{\"pids\":{\"limit\":\"ten\"}}", &err);
  CHECK(r < 0);
  r = apply(cg, "{\"devices\":[{\"allow\":true,\"type\":\"x\"}]}", &err);
  CHECK(r < 0 && strstr(err.msg, "devices[0].type") != NULL);
  r = apply(cg, "{\"devices\":[{\"allow\":true,\"access\":\"rwx\"}]}", &err);
  CHECK(r < 0 && strstr(err.msg, "devices[0].access") != NULL);
  r = apply(cg, "{\"blockIO\":{\"weight\":5}}", &err);
  CHECK(r < 0 && strstr(err.msg, "blockIO.weight: 5 is not valid") != NULL);
  r = apply(cg, "{\"hugepageLimits\":[{\"pageSize\":\"2XB\",\"limit\":0}]}", &err);
  CHECK(r < 0 && strstr(err.msg, "pageSize") != NULL);
  r = apply(cg, "{\"unified\":{\"../memory.max\":\"1\"}}", &err);
  CHECK(r < 0);
  if (mode == LC_CGROUP_V1)
    CHECK(file_is(dir, "memory.limit_in_bytes", "67108864"));
  else
    CHECK(file_is(dir, "memory.max", "67108864"));
  /* NULL resources: nothing to do. */
  CHECK(lc_cgroup_apply(cg, NULL, &err) == 0);
  finish(cg, path);
}

static void test_enter_and_pids(void)
{
  char path[128];
  struct berr err = {0};
  struct lc_cgroup *cg = make(path, sizeof(path));
  CHECK(cg != NULL);
  if (!cg)
    return;
  pid_t pid = spawn(cg, sleeper, NULL);
  CHECK(pid > 0);
  char procf[64], want[160];
  snprintf(procf, sizeof(procf), "/proc/%d/cgroup", (int)pid);
  _cleanup_free_ char *text = NULL;
  FILE *f = fopen(procf, "re");
  CHECK(f != NULL);
  if (f) {
    text = calloc(1, 8192);
    size_t n = fread(text, 1, 8191, f);
    text[n] = '\0';
    fclose(f);
  }
  if (mode == LC_CGROUP_V1) {
    const char *ctls[] = {"memory", "pids", "freezer", "cpuset", "devices"};
    for (size_t i = 0; i < ARRAY_SIZE(ctls); i++) {
      if (!lc_cg_v1_dir(cg, ctls[i]))
        continue;
      snprintf(want, sizeof(want), ":%s:%s\n", ctls[i], path);
      if (!text || !strstr(text, want))
        printf("# %s not in:\n%s", want, text ? text : "");
      CHECK(text && strstr(text, want) != NULL);
    }
  }
  for (size_t i = 0; i < cg->ndirs; i++)
    if (cg->dirs[i].unified) { /* v2, or the hybrid host's cgroup2 hierarchy */
      snprintf(want, sizeof(want), "0::%s\n", path);
      CHECK(text && strstr(text, want) != NULL);
    }

  pid_t *pids = NULL;
  size_t n = 0;
  CHECK(lc_cgroup_pids(cg, &pids, &n, &err) == 0);
  CHECK(n == 1 && pids[0] == pid);
  free(pids);

  /* A nested cgroup (made by the container itself) is listed and removed too. */
  char sub[512];
  const char *pdir = ctl_dir(cg, "pids");
  snprintf(sub, sizeof(sub), "%s/nested", pdir);
  CHECK(mkdir(sub, 0755) == 0);
  pid_t pid2 = fork();
  if (pid2 == 0) {
    for (;;)
      pause();
  }
  char pidbuf[32];
  snprintf(pidbuf, sizeof(pidbuf), "%d", (int)pid2);
  CHECK(lc_cg_write(sub, "cgroup.procs", pidbuf, &err) == 0);
  CHECK(lc_cgroup_pids(cg, &pids, &n, &err) == 0);
  CHECK(n == 2);
  free(pids);
  kill_reap(pid2);
  kill_reap(pid);
  finish(cg, path);
}

struct fork_result {
  int forks;
  int err;
};

static int result_fd = -1;

static void fork_until_fail(void *arg)
{
  struct fork_result res = {0, 0};
  for (int i = 0; i < 64; i++) {
    pid_t p = fork();
    if (p == 0) {
      for (;;)
        pause();
    }
    if (p < 0) {
      res.err = errno;
      break;
    }
    res.forks++;
  }
  if (write(result_fd, &res, sizeof(res)) != sizeof(res))
    _exit(98);
  for (;;)
    pause();
}

static void test_pids_limit(void)
{
  char path[128];
  struct berr err = {0};
  struct lc_cgroup *cg = make(path, sizeof(path));
  CHECK(cg != NULL);
  if (!cg)
    return;
  int r = apply(cg, "{\"pids\":{\"limit\":5}}", &err);
  if (r < 0)
    printf("# %s\n", err.msg);
  CHECK(r == 0);
  CHECK(file_is(ctl_dir(cg, "pids"), "pids.max", "5"));
  int p[2];
  CHECK(pipe(p) == 0);
  result_fd = p[1];
  pid_t pid = spawn(cg, fork_until_fail, NULL);
  close(p[1]);
  struct fork_result res = {-1, -1};
  CHECK(read(p[0], &res, sizeof(res)) == sizeof(res));
  close(p[0]);
  printf("# forks before failure: %d, errno %d\n", res.forks, res.err);
  CHECK(res.forks == 4); /* the child itself is the fifth task */
  CHECK(res.err == EAGAIN);
  struct lc_cgroup_stats st;
  CHECK(lc_cgroup_stats(cg, &st, &err) == 0);
  CHECK(st.pids_current == 5 && st.pids_limit == 5);

  CHECK(lc_cgroup_kill_all(cg, SIGKILL, &err) == 0);
  int status = reap(pid);
  CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  r = apply(cg, "{\"pids\":{\"limit\":-1}}", &err);
  CHECK(r == 0 && file_is(ctl_dir(cg, "pids"), "pids.max", "max"));
  finish(cg, path);
  reap_orphans();
}

static volatile uint64_t *counter;

static void spinner(void *arg)
{
  for (;;)
    (*counter)++;
}

static char proc_state(pid_t pid)
{
  char p[64], buf[512];
  snprintf(p, sizeof(p), "/proc/%d/stat", (int)pid);
  FILE *f = fopen(p, "re");
  if (!f)
    return '?';
  size_t n = fread(buf, 1, sizeof(buf) - 1, f);
  fclose(f);
  buf[n] = '\0';
  char *rp = strrchr(buf, ')');
  return rp && rp[1] == ' ' ? rp[2] : '?';
}

static void msleep(int ms)
{
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static void test_freeze(void)
{
  char path[128];
  struct berr err = {0};
  struct lc_cgroup *cg = make(path, sizeof(path));
  CHECK(cg != NULL);
  if (!cg)
    return;
  counter = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  CHECK(counter != MAP_FAILED);
  *counter = 0;
  pid_t pid = spawn(cg, spinner, NULL);
  while (*counter == 0) /* running */
    msleep(1);
  bool frozen = true;
  CHECK(lc_cgroup_is_frozen(cg, &frozen, &err) == 0 && !frozen);
  int r = lc_cgroup_freeze(cg, true, &err);
  if (r < 0)
    printf("# %s\n", err.msg);
  CHECK(r == 0);
  CHECK(lc_cgroup_is_frozen(cg, &frozen, &err) == 0 && frozen);
  char s = proc_state(pid);
  printf("# frozen state %c\n", s);
  CHECK(s == 'S' || s == 'D');
  uint64_t before = *counter;
  msleep(50);
  CHECK(*counter == before); /* a frozen task cannot count */

  CHECK(lc_cgroup_freeze(cg, false, &err) == 0);
  CHECK(lc_cgroup_is_frozen(cg, &frozen, &err) == 0 && !frozen);
  for (int i = 0; i < 10000 && *counter == before; i++)
    msleep(1);
  CHECK(*counter != before);
  kill_reap(pid);
  munmap((void *)counter, 4096);
  finish(cg, path);
}

static void test_cpu(void)
{
  char path[128];
  struct berr err = {0};
  struct lc_cgroup *cg = make(path, sizeof(path));
  CHECK(cg != NULL);
  if (!cg)
    return;
  int r = apply(cg, "{\"cpu\":{\"shares\":512,\"quota\":50000,\"period\":100000}}", &err);
  if (r < 0)
    printf("# %s\n", err.msg);
  CHECK(r == 0);
  const char *dir = ctl_dir(cg, "cpu");
  if (mode == LC_CGROUP_V1) {
    CHECK(file_is(dir, "cpu.shares", "512"));
    CHECK(file_is(dir, "cpu.cfs_quota_us", "50000"));
    CHECK(file_is(dir, "cpu.cfs_period_us", "100000"));
  } else {
    char w[32];
    snprintf(w, sizeof(w), "%" PRIu64, lc_cg_shares_to_weight(512));
    CHECK(file_is(dir, "cpu.weight", w));
    CHECK(file_is(dir, "cpu.max", "50000 100000"));
  }
  /* A shorter period with a matching quota, then unlimited. */
  r = apply(cg, "{\"cpu\":{\"quota\":5000,\"period\":10000}}", &err);
  if (r < 0)
    printf("# %s\n", err.msg);
  CHECK(r == 0);
  r = apply(cg, "{\"cpu\":{\"quota\":-1}}", &err);
  CHECK(r == 0);
  if (mode == LC_CGROUP_V1) {
    CHECK(file_is(dir, "cpu.cfs_period_us", "10000"));
    CHECK(file_is(dir, "cpu.cfs_quota_us", "-1"));
  } else {
    CHECK(file_is(dir, "cpu.max", "max 10000"));
  }

  /* cpuset: a single CPU and node, and a process can still join. */
  r = apply(cg, "{\"cpu\":{\"cpus\":\"0\",\"mems\":\"0\"}}", &err);
  if (r < 0)
    printf("# %s\n", err.msg);
  CHECK(r == 0);
  dir = ctl_dir(cg, "cpuset");
  CHECK(file_is(dir, "cpuset.cpus", "0"));
  CHECK(file_is(dir, "cpuset.mems", "0"));
  pid_t pid = spawn(cg, sleeper, NULL);
  char p[64];
  snprintf(p, sizeof(p), "/proc/%d/status", (int)pid);
  FILE *f = fopen(p, "re");
  char line[256];
  bool pinned = false;
  while (f && fgets(line, sizeof(line), f))
    if (strncmp(line, "Cpus_allowed_list:", 18) == 0)
      pinned = strcmp(line + 18 + strspn(line + 18, " \t"), "0\n") == 0;
  if (f)
    fclose(f);
  CHECK(pinned);
  r = apply(cg, "{\"cpu\":{\"cpus\":\"63\"}}", &err); /* no such CPU here */
  CHECK(r < 0);
  printf("# cpus 63: %s\n", err.msg);
  kill_reap(pid);
  finish(cg, path);
}

static void toucher(void *arg)
{
  size_t len = (size_t)(uintptr_t)arg;
  char *m = malloc(len);
  if (!m)
    _exit(97);
  for (size_t i = 0; i < len; i += 4096)
    m[i] = 1;
  if (write(result_fd, "t", 1) != 1)
    _exit(98);
  for (;;)
    pause();
}

static void test_stats_and_oom(void)
{
  char path[128];
  struct berr err = {0};
  struct lc_cgroup *cg = make(path, sizeof(path));
  CHECK(cg != NULL);
  if (!cg)
    return;
  CHECK(apply(cg, "{\"memory\":{\"limit\":268435456}}", &err) == 0);
  int p[2];
  CHECK(pipe(p) == 0);
  result_fd = p[1];
  pid_t pid = spawn(cg, toucher, (void *)(uintptr_t)(32 << 20));
  close(p[1]);
  char c;
  CHECK(read(p[0], &c, 1) == 1);
  close(p[0]);
  struct lc_cgroup_stats st;
  int r = lc_cgroup_stats(cg, &st, &err);
  if (r < 0)
    printf("# %s\n", err.msg);
  CHECK(r == 0);
  printf("# usage %" PRIu64 " max %" PRIu64 " limit %" PRIu64 " cpu %" PRIu64 " pids %" PRIu64 "\n",
         st.memory_usage, st.memory_max_usage, st.memory_limit, st.cpu_usage_ns, st.pids_current);
  CHECK(st.memory_usage >= (16u << 20));
  CHECK(st.memory_limit == 268435456);
  CHECK(st.cpu_usage_ns > 0);
  CHECK(st.pids_current == 1);
  CHECK(st.pids_limit == UINT64_MAX);
  CHECK(st.oom_kills == 0);
  kill_reap(pid);

  /* Now a limit the child exceeds: the kernel OOM-kills it inside the cgroup. */
  r = apply(cg, "{\"memory\":{\"limit\":33554432,\"swap\":33554432}}", &err);
  if (r < 0)
    printf("# %s\n", err.msg);
  CHECK(r == 0);
  CHECK(pipe(p) == 0);
  result_fd = p[1];
  pid = spawn(cg, toucher, (void *)(uintptr_t)(128 << 20));
  close(p[1]);
  int status = reap(pid);
  close(p[0]);
  CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  CHECK(lc_cgroup_stats(cg, &st, &err) == 0);
  printf("# oom kills %" PRIu64 " max usage %" PRIu64 "\n", st.oom_kills, st.memory_max_usage);
  CHECK(st.oom_kills >= 1);
  finish(cg, path);
}

static void direct_writer(void *arg)
{
  const char *file = arg;
  int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_DIRECT, 0600);
  void *buf = NULL;
  if (fd < 0 || posix_memalign(&buf, 4096, 1 << 20) != 0)
    _exit(97);
  memset(buf, 'x', 1 << 20);
  for (int i = 0; i < 4; i++)
    if (write(fd, buf, 1 << 20) != 1 << 20)
      _exit(96);
  fsync(fd);
  close(fd);
  _exit(0);
}

/* blkio/io: a throttle rule lands in the kernel, and direct writes show in the stats. */
static void test_blkio_stats(void)
{
  char path[128], file[128], rule[256];
  struct berr err = {0};
  struct lc_cgroup *cg = make(path, sizeof(path));
  CHECK(cg != NULL);
  if (!cg)
    return;
  snprintf(file, sizeof(file), "/var/tmp/berth-test-%d-direct", (int)getpid());
  struct stat st;
  CHECK(stat("/var/tmp", &st) == 0);
  char sysdev[128];
  snprintf(sysdev, sizeof(sysdev), "/sys/dev/block/%u:%u/partition", major(st.st_dev),
           minor(st.st_dev));
  bool whole_disk = access(sysdev, F_OK) < 0;
  snprintf(rule, sizeof(rule),
           "{\"blockIO\":{\"throttleWriteBpsDevice\":[{\"major\":%u,\"minor\":%u,"
           "\"rate\":1073741824}]}}",
           major(st.st_dev), minor(st.st_dev));
  int r = apply(cg, rule, &err);
  if (whole_disk) {
    if (r < 0)
      printf("# %s\n", err.msg);
    CHECK(r == 0);
    char want[64];
    snprintf(want, sizeof(want), "%u:%u 1073741824", major(st.st_dev), minor(st.st_dev));
    if (mode == LC_CGROUP_V1)
      CHECK(file_is(ctl_dir(cg, "blkio"), "blkio.throttle.write_bps_device", want));
  }
  pid_t pid = spawn(cg, direct_writer, file);
  int status = reap(pid);
  unlink(file);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  struct lc_cgroup_stats s;
  CHECK(lc_cgroup_stats(cg, &s, &err) == 0);
  printf("# blkio read %" PRIu64 " write %" PRIu64 "\n", s.blkio_read_bytes, s.blkio_write_bytes);
  CHECK(s.blkio_write_bytes >= (4u << 20));
  finish(cg, path);
}

static void test_kill_all_and_save_load(void)
{
  char path[128];
  struct berr err = {0};
  struct lc_cgroup *cg = make(path, sizeof(path));
  CHECK(cg != NULL);
  if (!cg)
    return;
  pid_t a = spawn(cg, sleeper, NULL);
  pid_t b = spawn(cg, sleeper, NULL);

  /* Save, serialize, parse, load: the copy sees the same processes. */
  json_t *saved = lc_cgroup_save(cg);
  CHECK(saved != NULL);
  char *text = json_dumps(saved, JSON_COMPACT);
  json_decref(saved);
  printf("# saved %s\n", text);
  json_t *back = J(text);
  free(text);
  struct lc_cgroup *cg2 = NULL;
  CHECK(lc_cgroup_load(back, &cg2, &err) == 0);
  json_decref(back);
  if (!cg2) {
    kill_reap(a);
    kill_reap(b);
    finish(cg, path);
    return;
  }
  CHECK_STREQ(lc_cgroup_path(cg2), path);
  CHECK(cg2->mode == cg->mode && cg2->ndirs == cg->ndirs);
  for (size_t i = 0; i < cg->ndirs && i < cg2->ndirs; i++)
    CHECK_STREQ(cg2->dirs[i].dir, cg->dirs[i].dir);
  pid_t *pids = NULL;
  size_t n = 0;
  CHECK(lc_cgroup_pids(cg2, &pids, &n, &err) == 0 && n == 2);
  free(pids);

  /* A paused container keeps its pause for a plain signal... */
  CHECK(lc_cgroup_freeze(cg2, true, &err) == 0);
  CHECK(lc_cgroup_kill_all(cg2, SIGTERM, &err) == 0);
  bool paused = false;
  CHECK(lc_cgroup_is_frozen(cg2, &paused, &err) == 0 && paused);
  CHECK(waitpid(a, NULL, WNOHANG) == 0); /* not delivered while frozen */
  /* ...and SIGKILL ends it even paused. */
  CHECK(lc_cgroup_kill_all(cg2, SIGKILL, &err) == 0);
  int sa = reap(a), sb = reap(b);
  /* SIGTERM was pending when SIGKILL came: either may be reported. */
  CHECK(WIFSIGNALED(sa) && (WTERMSIG(sa) == SIGKILL || WTERMSIG(sa) == SIGTERM));
  CHECK(WIFSIGNALED(sb) && (WTERMSIG(sb) == SIGKILL || WTERMSIG(sb) == SIGTERM));
  CHECK(lc_cgroup_pids(cg2, &pids, &n, &err) == 0 && n == 0);
  free(pids);
  bool frozen = true;
  CHECK(lc_cgroup_is_frozen(cg2, &frozen, &err) == 0 && !frozen);
  lc_cgroup_free(cg);
  finish(cg2, path);

  /* Destroying what is already gone is fine. */
  CHECK(lc_cgroup_create(path, NULL, &cg, &err) == 0);
  CHECK(lc_cgroup_destroy(cg, &err) == 0);
  CHECK(lc_cgroup_destroy(cg, &err) == 0);
  lc_cgroup_free(cg);
  CHECK(!exists_anywhere(path));

  /* Bad state is refused. */
  json_t *bad = J("{\"mode\":\"v1\",\"path\":\"/a/../b\",\"dirs\":[]}");
  CHECK(lc_cgroup_load(bad, &cg2, &err) < 0);
  json_decref(bad);
  bad = J("{\"mode\":\"v3\",\"path\":\"/a\",\"dirs\":[]}");
  CHECK(lc_cgroup_load(bad, &cg2, &err) < 0);
  json_decref(bad);
}

/* Open a device node in a child inside the cgroup: 0 or the errno. */
static int open_errno;
static const char *open_target;
static int open_flags = O_RDONLY;

static void opener(void *arg)
{
  int fd;
  if (open_flags < 0) /* mknod instead of open */
    fd = mknod(open_target, S_IFCHR | 0600, makedev(1, 7));
  else
    fd = open(open_target, open_flags);
  int e = fd < 0 ? errno : 0;
  if (write(result_fd, &e, sizeof(e)) != sizeof(e))
    _exit(98);
  _exit(0);
}

static int open_in(struct lc_cgroup *cg, const char *dev)
{
  int p[2];
  if (pipe(p) < 0)
    return -1;
  result_fd = p[1];
  open_target = dev;
  pid_t pid = spawn(cg, opener, NULL);
  close(p[1]);
  open_errno = -1;
  if (read(p[0], &open_errno, sizeof(open_errno)) != sizeof(open_errno))
    open_errno = -1;
  close(p[0]);
  reap(pid);
  return open_errno;
}

static void test_devices(void)
{
  char path[128];
  struct berr err = {0};
  struct lc_cgroup *cg = make(path, sizeof(path));
  CHECK(cg != NULL);
  if (!cg)
    return;
  CHECK(open_in(cg, "/dev/zero") == 0);
  /* Docker's shape: deny everything, then allow some nodes. */
  int r = apply(cg,
                "{\"devices\":[{\"allow\":false,\"access\":\"rwm\"},"
                "{\"allow\":true,\"type\":\"c\",\"major\":1,\"minor\":3,\"access\":\"rwm\"},"
                "{\"allow\":true,\"type\":\"c\",\"major\":1,\"minor\":5,\"access\":\"w\"}]}",
                &err);
  if (r < 0)
    printf("# %s\n", err.msg);
  if (mode == LC_CGROUP_V2 && r < 0) {
    printf("# v2 devices: %s\n", err.msg);
  } else {
    CHECK(r == 0);
    if (mode == LC_CGROUP_V1) {
      _cleanup_free_ char *list = read_str(ctl_dir(cg, "devices"), "devices.list");
      printf("# devices.list: %s\n", list);
    }
    CHECK(open_in(cg, "/dev/null") == 0);
    CHECK(open_in(cg, "/dev/zero") == EPERM); /* write-only allowed, read refused */
    CHECK(open_in(cg, "/dev/full") == EPERM);
  }

  /* The list is a white-list even without a leading deny (runc's reading), and a new
   * list replaces the old one. */
  r = apply(
      cg,
      "{\"devices\":[{\"allow\":true,\"type\":\"c\",\"major\":1,\"minor\":5,\"access\":\"r\"}]}",
      &err);
  CHECK(r == 0);
  CHECK(open_in(cg, "/dev/zero") == 0);
  CHECK(open_in(cg, "/dev/null") == EPERM);
  /* An empty list denies everything; an absent key changes nothing. */
  r = apply(cg, "{\"devices\":[]}", &err);
  CHECK(r == 0);
  CHECK(open_in(cg, "/dev/zero") == EPERM);
  r = apply(cg, "{\"devices\":[{\"allow\":true,\"access\":\"rwm\"}]}", &err);
  CHECK(r == 0);
  CHECK(apply(cg, "{\"pids\":{\"limit\":100}}", &err) == 0);
  CHECK(open_in(cg, "/dev/zero") == 0 && open_in(cg, "/dev/null") == 0);
  finish(cg, path);
}

/* The v2 device filter, tried where a cgroup2 hierarchy exists: on a hybrid host the
 * program on the cgroup2 directory applies on top of the (allow-all) v1 devices cgroup. */
static void test_devices_bpf(void)
{
  char path[128];
  struct berr err = {0};
  struct lc_cgroup *cg = make(path, sizeof(path));
  CHECK(cg != NULL);
  if (!cg)
    return;
  const char *c2 = NULL;
  for (size_t i = 0; i < cg->ndirs; i++)
    if (cg->dirs[i].unified)
      c2 = cg->dirs[i].dir;
  if (!c2) {
    printf("# no cgroup2 hierarchy: BPF device test skipped\n");
    finish(cg, path);
    return;
  }
  struct lc_cg_device_rule docker[] = {
      {false, 'a', -1, -1, "rwm"}, /* deny all, then allow some */
      {true, 'c', 1, 3, "rwm"},    /* /dev/null */
      {true, 'c', 1, 5, "w"},      /* /dev/zero, write only */
      {true, 'c', 1, 7, "rw"},     /* /dev/full, no mknod */
  };
  int r = lc_cg_v2_devices_apply(c2, docker, ARRAY_SIZE(docker), &err);
  if (r < 0)
    printf("# %s\n", err.msg);
  CHECK(r == 0);
  CHECK(open_in(cg, "/dev/null") == 0);
  CHECK(open_in(cg, "/dev/zero") == EPERM);
  open_flags = O_WRONLY;
  CHECK(open_in(cg, "/dev/zero") == 0);
  open_flags = O_RDWR;
  CHECK(open_in(cg, "/dev/full") == 0);
  CHECK(open_in(cg, "/dev/zero") == EPERM); /* read part refused */
  open_flags = O_RDONLY;
  CHECK(open_in(cg, "/dev/urandom") == EPERM);
  CHECK(open_in(cg, "/dev/full") == 0);

  /* mknod of c 1:7 (allowed for rw only) needs "m". */
  char node[64];
  snprintf(node, sizeof(node), "/tmp/berth-test-%d-node", (int)getpid());
  open_flags = -1;
  CHECK(open_in(cg, node) == EPERM);
  CHECK(access(node, F_OK) < 0);

  /* Replacing the rules replaces the program: allow all, then one partial deny. */
  struct lc_cg_device_rule deny_w[] = {{true, 'a', -1, -1, "rwm"}, {false, 'c', 1, 5, "w"}};
  r = lc_cg_v2_devices_apply(c2, deny_w, ARRAY_SIZE(deny_w), &err);
  CHECK(r == 0);
  open_flags = O_RDONLY;
  CHECK(open_in(cg, "/dev/zero") == 0);
  CHECK(open_in(cg, "/dev/urandom") == 0);
  open_flags = O_RDWR;
  CHECK(open_in(cg, "/dev/zero") == EPERM);
  open_flags = -1;
  CHECK(open_in(cg, node) == 0); /* mknod allowed again */
  unlink(node);
  open_flags = O_RDONLY;

  /* Through the public API on v2 (devices go to the BPF filter there). */
  if (mode == LC_CGROUP_V2) {
    r = apply(cg, "{\"devices\":[{\"allow\":false,\"access\":\"rwm\"}]}", &err);
    CHECK(r == 0);
    CHECK(open_in(cg, "/dev/null") == EPERM);
  }
  finish(cg, path);
}

/* The v2 driver on the hybrid host's cgroup2 hierarchy: it holds no memory/cpu/pids
 * controllers here, but the core features (procs, freeze, kill, cpu.stat, the device
 * filter) are all there, so the v2 code paths run against the real kernel. */
static void test_v2_driver_on_hybrid(void)
{
  struct stat st;
  const char *c2 = "/sys/fs/cgroup/unified";
  if (mode != LC_CGROUP_V1 || stat("/sys/fs/cgroup/unified/cgroup.procs", &st) < 0) {
    printf("# not a hybrid host: v2-driver-on-hybrid test skipped\n");
    return;
  }
  char path[128], dir[256], text[512];
  struct berr err = {0};
  unique_path(path, sizeof(path));
  snprintf(dir, sizeof(dir), "%s%s", c2, path);
  CHECK(mkdir(dir, 0755) == 0);
  CHECK(lc_cg_v2_enable_controllers(c2, path, &err) == 0);
  snprintf(text, sizeof(text),
           "{\"mode\":\"v2\",\"path\":\"%s\",\"dirs\":[{\"controllers\":\"\","
           "\"mountpoint\":\"%s\",\"unified\":true}]}",
           path, c2);
  json_t *j = J(text);
  struct lc_cgroup *cg = NULL;
  CHECK(lc_cgroup_load(j, &cg, &err) == 0);
  json_decref(j);
  if (!cg) {
    rmdir(dir);
    return;
  }
  counter = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  CHECK(counter != MAP_FAILED);
  *counter = 0;
  pid_t pid = spawn(cg, spinner, NULL);
  while (*counter == 0)
    msleep(1);
  pid_t *pids = NULL;
  size_t n = 0;
  CHECK(lc_cgroup_pids(cg, &pids, &n, &err) == 0 && n == 1 && pids[0] == pid);
  free(pids);

  bool frozen = true;
  CHECK(lc_cgroup_is_frozen(cg, &frozen, &err) == 0 && !frozen);
  int r = lc_cgroup_freeze(cg, true, &err);
  if (r < 0)
    printf("# %s\n", err.msg);
  CHECK(r == 0);
  CHECK(lc_cgroup_is_frozen(cg, &frozen, &err) == 0 && frozen);
  CHECK(file_is(dir, "cgroup.freeze", "1"));
  uint64_t before = *counter;
  msleep(50);
  CHECK(*counter == before);
  CHECK(lc_cgroup_freeze(cg, false, &err) == 0);
  CHECK(lc_cgroup_is_frozen(cg, &frozen, &err) == 0 && !frozen);
  for (int i = 0; i < 10000 && *counter == before; i++)
    msleep(1);
  CHECK(*counter != before);

  struct lc_cgroup_stats stt;
  CHECK(lc_cgroup_stats(cg, &stt, &err) == 0);
  printf("# v2 cpu usage %" PRIu64 " user %" PRIu64 "\n", stt.cpu_usage_ns, stt.cpu_user_ns);
  CHECK(stt.cpu_usage_ns > 0);
  CHECK(stt.memory_limit == UINT64_MAX && stt.pids_limit == UINT64_MAX);

  /* Controllers bound to v1 here are absent from this hierarchy: a clear error. */
  r = apply(cg, "{\"memory\":{\"limit\":67108864}}", &err);
  printf("# v2 memory without controller: %s\n", err.msg);
  CHECK(r < 0 && strstr(err.msg, "memory.max is not available") != NULL);

  /* devices through the public API go to the BPF filter. */
  r = apply(cg,
            "{\"devices\":[{\"allow\":false,\"access\":\"rwm\"},"
            "{\"allow\":true,\"type\":\"c\",\"major\":1,\"minor\":3,\"access\":\"rwm\"}]}",
            &err);
  if (r < 0)
    printf("# %s\n", err.msg);
  CHECK(r == 0);
  CHECK(open_in(cg, "/dev/null") == 0);
  CHECK(open_in(cg, "/dev/zero") == EPERM);

  /* cgroup.kill for SIGKILL; freeze + signal + thaw for other signals. */
  CHECK(lc_cgroup_kill_all(cg, SIGKILL, &err) == 0);
  int status = reap(pid);
  CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  pid = spawn(cg, sleeper, NULL);
  CHECK(lc_cgroup_kill_all(cg, SIGTERM, &err) == 0);
  status = reap(pid);
  CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
  CHECK(lc_cgroup_is_frozen(cg, &frozen, &err) == 0 && !frozen);
  munmap((void *)counter, 4096);
  finish(cg, path);
}

static void test_blkio_and_hugetlb(void)
{
  char path[128];
  struct berr err = {0};
  struct lc_cgroup *cg = make(path, sizeof(path));
  CHECK(cg != NULL);
  if (!cg)
    return;
  int r = apply(cg, "{\"blockIO\":{\"weight\":500}}", &err);
  const char *dir = ctl_dir(cg, "blkio");
  if (mode == LC_CGROUP_V1 && dir && lc_cg_exists(dir, "blkio.weight")) {
    CHECK(r == 0 && file_is(dir, "blkio.weight", "500"));
  } else if (mode == LC_CGROUP_V1 && dir && lc_cg_exists(dir, "blkio.bfq.weight")) {
    CHECK(r == 0 && file_is(dir, "blkio.bfq.weight", "500"));
  } else if (mode == LC_CGROUP_V2 && lc_cg_exists(cg->dirs[0].dir, "io.bfq.weight")) {
    CHECK(r == 0);
  } else {
    printf("# blkio weight: %s\n", r < 0 ? err.msg : "ok");
    CHECK(r < 0 && strstr(err.msg, "not supported") != NULL);
  }

  /* hugetlb, where the host has it (the hybrid host here keeps it in cgroup2). */
  r = apply(cg, "{\"hugepageLimits\":[{\"pageSize\":\"2MB\",\"limit\":4194304}]}", &err);
  const char *hdir = NULL, *hfile = NULL;
  if (mode == LC_CGROUP_V1 && (hdir = lc_cg_v1_dir(cg, "hugetlb")))
    hfile = "hugetlb.2MB.limit_in_bytes";
  for (size_t i = 0; !hdir && i < cg->ndirs; i++)
    if (cg->dirs[i].unified && lc_cg_exists(cg->dirs[i].dir, "hugetlb.2MB.max")) {
      hdir = cg->dirs[i].dir;
      hfile = "hugetlb.2MB.max";
    }
  if (hdir) {
    if (r < 0)
      printf("# %s\n", err.msg);
    CHECK(r == 0 && file_is(hdir, hfile, "4194304"));
  } else {
    printf("# hugetlb not available: %s\n", r < 0 ? err.msg : "(applied?)");
    CHECK(r < 0);
  }
  r = apply(cg, "{\"hugepageLimits\":[{\"pageSize\":\"3MB\",\"limit\":4194304}]}", &err);
  CHECK(r < 0);
  finish(cg, path);
}

int main(void)
{
  if (geteuid() != 0) {
    printf("1..0 # SKIP cgroup tests need root\n");
    return 77;
  }
  struct berr err = {0};
  CHECK(lc_cgroup_detect(&mode, &err) == 0);
  printf("# cgroup mode: %s\n", mode == LC_CGROUP_V1 ? "v1" : "v2");
  /* Grandchildren of killed test children come back to us to be reaped. */
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  test_paths();
  test_conversions();
  test_mountinfo();
  test_memory_limit();
  test_enter_and_pids();
  test_pids_limit();
  test_freeze();
  test_cpu();
  test_stats_and_oom();
  test_blkio_stats();
  test_kill_all_and_save_load();
  test_devices();
  test_devices_bpf();
  test_v2_driver_on_hybrid();
  test_blkio_and_hugetlb();
  reap_orphans();
  CHECK_DONE();
}
