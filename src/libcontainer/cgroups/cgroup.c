/* The cgroup object: mode detection, paths, create/enter/destroy, process listing and
 * signalling, save/load; resource, freezer and stats work is passed to v1.c or v2.c. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "cgroup_internal.h"
#include "common/bjson.h"
#include "common/cleanup.h"
#include "common/fileutil.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

#define CGROUP_ROOT "/sys/fs/cgroup"

int lc_cgroup_detect(enum lc_cgroup_mode *mode, struct berr *err)
{
  struct statfs fs;
  if (statfs(CGROUP_ROOT, &fs) < 0)
    return berr_errno(err, "statfs %s", CGROUP_ROOT);
  /* Hybrid hosts mount cgroup2 at /sys/fs/cgroup/unified next to the v1 controllers; only
   * a cgroup2 /sys/fs/cgroup itself is the unified mode. */
  *mode = fs.f_type == CGROUP2_SUPER_MAGIC ? LC_CGROUP_V2 : LC_CGROUP_V1;
  return 0;
}

static void msleep(long ms)
{
  struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
    ;
}

int lc_cg_resolve_path(const char *path, const char *id, char **out, struct berr *err)
{
  _cleanup_free_ char *raw = NULL;
  if (!path || !*path) {
    if (!id || !*id || strchr(id, '/') || strcmp(id, ".") == 0 || strcmp(id, "..") == 0)
      return berr_set(err, 0, "cgroup: invalid container id \"%s\"", id ? id : "");
    if (asprintf(&raw, "/berth/%s", id) < 0)
      return berr_set(err, ENOMEM, "cgroup path");
  } else if (path[0] == '/') {
    raw = strdup(path);
  } else if (asprintf(&raw, "/berth/%s", path) < 0) {
    raw = NULL;
  }
  if (!raw)
    return berr_set(err, ENOMEM, "cgroup path");

  /* Normalize: collapse "//" and drop "." so the path is what /proc/<pid>/cgroup shows. */
  _cleanup_free_ char *norm = malloc(strlen(raw) + 2);
  if (!norm)
    return berr_set(err, ENOMEM, "cgroup path");
  size_t n = 0;
  char *save = NULL;
  for (char *c = strtok_r(raw, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
    if (strcmp(c, ".") == 0)
      continue;
    if (strcmp(c, "..") == 0)
      return berr_set(err, 0, "cgroupsPath \"%s\": \"..\" is not allowed", path);
    if (strchr(c, '\n'))
      return berr_set(err, 0, "cgroupsPath: newline is not allowed");
    norm[n++] = '/';
    size_t l = strlen(c);
    memcpy(norm + n, c, l);
    n += l;
  }
  norm[n] = '\0';
  if (n == 0)
    return berr_set(err, 0, "cgroupsPath \"%s\": the root cgroup cannot be a container's cgroup",
                    path);
  *out = steal_ptr(norm);
  return 0;
}

static void dir_free(struct lc_cgroup_dir *d)
{
  free(d->controllers);
  free(d->mountpoint);
  free(d->dir);
}

void lc_cgroup_free(struct lc_cgroup *cg)
{
  if (!cg)
    return;
  for (size_t i = 0; i < cg->ndirs; i++)
    dir_free(&cg->dirs[i]);
  free(cg->dirs);
  free(cg->path);
  free(cg);
}

static void lc_cgroup_freep(struct lc_cgroup **cg)
{
  lc_cgroup_free(*cg);
}

const char *lc_cgroup_path(const struct lc_cgroup *cg)
{
  return cg->path;
}

/* mkdir every missing component of `mountpoint``path`; *made gets the topmost one this
 * call created (NULL when the leaf already existed). */
static int mkdir_tracked(const char *mountpoint, const char *path, char **made, struct berr *err)
{
  _cleanup_free_ char *p = NULL;
  if (asprintf(&p, "%s%s", mountpoint, path) < 0)
    return berr_set(err, ENOMEM, "mkdir");
  *made = NULL;
  size_t base = strlen(mountpoint);
  for (char *s = p + base + 1;; s++) {
    if (*s != '/' && *s != '\0')
      continue;
    char saved = *s;
    *s = '\0';
    if (mkdir(p, 0755) == 0) {
      if (!*made && !(*made = strdup(p)))
        return berr_set(err, ENOMEM, "mkdir");
    } else if (errno != EEXIST) {
      return berr_errno(err, "mkdir %s", p);
    }
    *s = saved;
    if (!saved)
      break;
  }
  return 0;
}

/* rmdir `dir` and any child cgroups under it (a container may have made its own),
 * retrying while exiting tasks still hold it. A missing directory is fine. */
static int rmdir_cgroup(const char *dir, struct berr *err)
{
  _cleanup_closedir_ DIR *d = opendir(dir);
  if (!d) {
    if (errno == ENOENT)
      return 0;
    return berr_errno(err, "open %s", dir);
  }
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_type != DT_DIR || strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
      continue;
    _cleanup_free_ char *sub = NULL;
    if (asprintf(&sub, "%s/%s", dir, e->d_name) < 0)
      return berr_set(err, ENOMEM, "rmdir");
    int r = rmdir_cgroup(sub, err);
    if (r < 0)
      return r;
  }
  /* Tasks that were just killed leave the cgroup only once fully reaped; give them ~5s. */
  for (int i = 0;; i++) {
    if (rmdir(dir) == 0 || errno == ENOENT)
      return 0;
    if (errno != EBUSY || i >= 500)
      return berr_errno(err, "rmdir %s", dir);
    msleep(10);
  }
}

/* Remove the (empty) directories from `leaf` up to and including `top`; plain rmdir so
 * nothing another caller made meanwhile is touched. */
static void rmdir_upto(const char *leaf, const char *top)
{
  _cleanup_free_ char *p = strdup(leaf);
  size_t toplen = strlen(top);
  while (p && strlen(p) >= toplen) {
    if (rmdir(p) < 0 && errno != ENOENT)
      return;
    char *slash = strrchr(p, '/');
    if (!slash)
      return;
    *slash = '\0';
  }
}

int lc_cg_add_dir(struct lc_cgroup *cg, const char *controllers, const char *mountpoint,
                  bool unified, struct berr *err)
{
  struct lc_cgroup_dir *nd = realloc(cg->dirs, (cg->ndirs + 1) * sizeof(*nd));
  if (!nd)
    return berr_set(err, ENOMEM, "cgroup");
  cg->dirs = nd;
  struct lc_cgroup_dir *d = &cg->dirs[cg->ndirs];
  memset(d, 0, sizeof(*d));
  d->controllers = strdup(controllers);
  d->mountpoint = strdup(mountpoint);
  if (asprintf(&d->dir, "%s%s", mountpoint, cg->path) < 0)
    d->dir = NULL;
  d->unified = unified;
  cg->ndirs++;
  if (!d->controllers || !d->mountpoint || !d->dir)
    return berr_set(err, ENOMEM, "cgroup");
  return 0;
}

static int cgroup_new(enum lc_cgroup_mode mode, const char *path, struct lc_cgroup **out,
                      struct berr *err)
{
  struct lc_cgroup *cg = calloc(1, sizeof(*cg));
  if (!cg)
    return berr_set(err, ENOMEM, "cgroup");
  cg->mode = mode;
  cg->path = strdup(path);
  if (!cg->path) {
    free(cg);
    return berr_set(err, ENOMEM, "cgroup");
  }
  *out = cg;
  return 0;
}

int lc_cgroup_create(const char *path, const char *id, struct lc_cgroup **out, struct berr *err)
{
  _cleanup_free_ char *p = NULL;
  int r = lc_cg_resolve_path(path, id, &p, err);
  if (r < 0)
    return r;
  enum lc_cgroup_mode mode;
  if ((r = lc_cgroup_detect(&mode, err)) < 0)
    return r;
  _cleanup_(lc_cgroup_freep) struct lc_cgroup *cg = NULL;
  if ((r = cgroup_new(mode, p, &cg, err)) < 0)
    return r;
  if (mode == LC_CGROUP_V1)
    r = lc_cg_v1_hierarchies(cg, err);
  else
    r = lc_cg_add_dir(cg, "", CGROUP_ROOT, true, err);
  if (r < 0)
    return berr_wrap(err, "cgroup %s", p);

  char **made = calloc(cg->ndirs, sizeof(char *));
  if (!made)
    return berr_set(err, ENOMEM, "cgroup");
  for (size_t i = 0; i < cg->ndirs && r >= 0; i++) {
    struct lc_cgroup_dir *d = &cg->dirs[i];
    r = mkdir_tracked(d->mountpoint, cg->path, &made[i], err);
    if (r >= 0 && d->unified)
      r = lc_cg_v2_enable_controllers(d->mountpoint, cg->path, err);
    else if (r >= 0)
      r = lc_cg_v1_prepare_dir(cg, i, err);
  }
  for (size_t i = 0; i < cg->ndirs; i++) {
    /* Leave nothing behind: remove exactly the directories this call made. */
    if (r < 0 && made[i])
      rmdir_upto(cg->dirs[i].dir, made[i]);
    free(made[i]);
  }
  free(made);
  if (r < 0)
    return berr_wrap(err, "create cgroup %s", p);
  *out = steal_ptr(cg);
  return 0;
}

int lc_cgroup_apply(struct lc_cgroup *cg, json_t *resources, struct berr *err)
{
  if (!resources || json_is_null(resources))
    return 0;
  struct lc_cg_resources res;
  int r = lc_cg_resources_parse(resources, &res, err);
  if (r < 0)
    return r;
  if (cg->mode == LC_CGROUP_V1)
    r = lc_cg_v1_apply(cg, &res, err);
  else
    r = lc_cg_v2_apply(cg, &res, err);
  lc_cg_resources_free(&res);
  return r;
}

int lc_cgroup_enter(struct lc_cgroup *cg, pid_t pid, struct berr *err)
{
  for (size_t i = 0; i < cg->ndirs; i++) {
    int r = lc_cg_writef(cg->dirs[i].dir, "cgroup.procs", err, "%d", (int)pid);
    if (r < 0)
      return berr_wrap(err, "enter cgroup %s", cg->path);
  }
  return 0;
}

int lc_cgroup_freeze(struct lc_cgroup *cg, bool frozen, struct berr *err)
{
  if (cg->mode == LC_CGROUP_V1)
    return lc_cg_v1_freeze(cg, frozen, err);
  return lc_cg_v2_freeze(cg, frozen, err);
}

int lc_cgroup_is_frozen(struct lc_cgroup *cg, bool *frozen, struct berr *err)
{
  if (cg->mode == LC_CGROUP_V1)
    return lc_cg_v1_is_frozen(cg, frozen, err);
  return lc_cg_v2_is_frozen(cg, frozen, err);
}

int lc_cgroup_stats(struct lc_cgroup *cg, struct lc_cgroup_stats *st, struct berr *err)
{
  memset(st, 0, sizeof(*st));
  st->memory_limit = UINT64_MAX;
  st->pids_limit = UINT64_MAX;
  int r = cg->mode == LC_CGROUP_V1 ? lc_cg_v1_stats(cg, st, err) : lc_cg_v2_stats(cg, st, err);
  if (r < 0)
    return berr_wrap(err, "stats of cgroup %s", cg->path);
  return 0;
}

/* The directory whose cgroup.procs lists the container's processes. On v1 any hierarchy
 * would do; prefer the ones every container joins. */
static const char *procs_dir(const struct lc_cgroup *cg)
{
  if (cg->mode == LC_CGROUP_V2)
    return cg->dirs[0].dir;
  static const char *const prefer[] = {"pids", "freezer", "memory", "cpu", "devices"};
  for (size_t i = 0; i < ARRAY_SIZE(prefer); i++) {
    const char *d = lc_cg_v1_dir(cg, prefer[i]);
    if (d)
      return d;
  }
  return cg->ndirs ? cg->dirs[0].dir : NULL;
}

struct pidvec {
  pid_t *v;
  size_t n, cap;
};

static int pidvec_add(struct pidvec *pv, pid_t pid)
{
  for (size_t i = 0; i < pv->n; i++)
    if (pv->v[i] == pid)
      return 0;
  if (pv->n == pv->cap) {
    size_t cap = pv->cap ? pv->cap * 2 : 16;
    pid_t *nv = realloc(pv->v, cap * sizeof(pid_t));
    if (!nv)
      return -ENOMEM;
    pv->v = nv;
    pv->cap = cap;
  }
  pv->v[pv->n++] = pid;
  return 0;
}

static int collect_pids(const char *dir, struct pidvec *pv, struct berr *err)
{
  _cleanup_free_ char *s = NULL;
  int r = lc_cg_read(dir, "cgroup.procs", &s, err);
  if (r == -ENOENT)
    return 0; /* removed while we walked */
  if (r < 0)
    return r;
  for (char *line = s; *line;) {
    char *end;
    long v = strtol(line, &end, 10);
    if (end == line)
      break;
    if (v > 0 && pidvec_add(pv, (pid_t)v) < 0)
      return berr_set(err, ENOMEM, "list pids");
    line = end;
    while (*line == '\n')
      line++;
  }
  _cleanup_closedir_ DIR *d = opendir(dir);
  if (!d)
    return errno == ENOENT ? 0 : berr_errno(err, "open %s", dir);
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_type != DT_DIR || strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
      continue;
    _cleanup_free_ char *sub = NULL;
    if (asprintf(&sub, "%s/%s", dir, e->d_name) < 0)
      return berr_set(err, ENOMEM, "list pids");
    if ((r = collect_pids(sub, pv, err)) < 0)
      return r;
  }
  return 0;
}

int lc_cgroup_pids(struct lc_cgroup *cg, pid_t **pids, size_t *n, struct berr *err)
{
  struct pidvec pv = {0};
  const char *dir = procs_dir(cg);
  if (!dir)
    return berr_set(err, 0, "cgroup %s has no hierarchy", cg->path);
  int r = collect_pids(dir, &pv, err);
  if (r < 0) {
    free(pv.v);
    return berr_wrap(err, "pids of cgroup %s", cg->path);
  }
  *pids = pv.v;
  *n = pv.n;
  return 0;
}

int lc_cgroup_kill_all(struct lc_cgroup *cg, int sig, struct berr *err)
{
  int r;
  /* cgroup.kill (v2, Linux 5.14) kills the whole subtree atomically, forks included. */
  if (cg->mode == LC_CGROUP_V2 && sig == SIGKILL && lc_cg_exists(cg->dirs[0].dir, "cgroup.kill"))
    return lc_cg_write(cg->dirs[0].dir, "cgroup.kill", "1", err);

  /* An empty cgroup (the usual case once init has exited) needs no freeze round trip. */
  {
    _cleanup_free_ pid_t *first = NULL;
    size_t count = 0;
    if (lc_cgroup_pids(cg, &first, &count, err) == 0 && count == 0)
      return 0;
  }
  /* Otherwise freeze first so nothing forks between listing and signalling, as runc does;
   * without a freezer we still signal what we see. Thaw afterwards, except that a paused
   * container stays paused for signals other than SIGKILL (those wait for the resume;
   * SIGKILL'd tasks must run to die, a v1 frozen task cannot). */
  bool was_frozen = false;
  struct berr ignored;
  lc_cgroup_is_frozen(cg, &was_frozen, &ignored);
  bool frozen = was_frozen || lc_cgroup_freeze(cg, true, &ignored) == 0;
  _cleanup_free_ pid_t *pids = NULL;
  size_t n = 0;
  r = lc_cgroup_pids(cg, &pids, &n, err);
  if (r >= 0) {
    for (size_t i = 0; i < n; i++) {
      if (kill(pids[i], sig) < 0 && errno != ESRCH) {
        r = berr_errno(err, "kill %d", (int)pids[i]);
        break;
      }
    }
  }
  if (frozen && (!was_frozen || sig == SIGKILL)) {
    int r2 = lc_cgroup_freeze(cg, false, r < 0 ? &ignored : err);
    if (r >= 0 && r2 < 0)
      r = r2;
  }
  return r < 0 ? r : 0;
}

int lc_cgroup_destroy(struct lc_cgroup *cg, struct berr *err)
{
  int ret = 0;
  /* Reverse order: in hybrid mode the cgroup2 directory comes last and goes first. */
  for (size_t i = cg->ndirs; i-- > 0;) {
    struct berr e;
    if (rmdir_cgroup(cg->dirs[i].dir, &e) < 0 && ret == 0) {
      *err = e;
      ret = -err->code;
    }
  }
  if (ret < 0)
    return berr_wrap(err, "destroy cgroup %s", cg->path);
  return 0;
}

json_t *lc_cgroup_save(const struct lc_cgroup *cg)
{
  json_t *dirs = json_array();
  for (size_t i = 0; dirs && i < cg->ndirs; i++) {
    const struct lc_cgroup_dir *d = &cg->dirs[i];
    json_array_append_new(dirs, json_pack("{s:s, s:s, s:b}", "controllers", d->controllers,
                                          "mountpoint", d->mountpoint, "unified", d->unified));
  }
  return json_pack("{s:s, s:s, s:o?}", "mode", cg->mode == LC_CGROUP_V1 ? "v1" : "v2", "path",
                   cg->path, "dirs", dirs);
}

int lc_cgroup_load(json_t *saved, struct lc_cgroup **out, struct berr *err)
{
  const char *mode = NULL, *path = NULL;
  json_t *dirs = NULL;
  int r;
  if ((r = bjson_get_str(saved, "mode", true, &mode, "cgroup state", err)) < 0 ||
      (r = bjson_get_str(saved, "path", true, &path, "cgroup state", err)) < 0 ||
      (r = bjson_get_typed(saved, "dirs", JSON_ARRAY, true, &dirs, "cgroup state", err)) < 0)
    return r;
  enum lc_cgroup_mode m;
  if (strcmp(mode, "v1") == 0)
    m = LC_CGROUP_V1;
  else if (strcmp(mode, "v2") == 0)
    m = LC_CGROUP_V2;
  else
    return berr_set(err, 0, "cgroup state: unknown mode \"%s\"", mode);
  /* The saved path must be one lc_cgroup_create could have made. */
  _cleanup_free_ char *norm = NULL;
  if ((r = lc_cg_resolve_path(path, NULL, &norm, err)) < 0)
    return berr_wrap(err, "cgroup state");
  if (strcmp(norm, path) != 0)
    return berr_set(err, 0, "cgroup state: path \"%s\" is not normalized", path);
  _cleanup_(lc_cgroup_freep) struct lc_cgroup *cg = NULL;
  if ((r = cgroup_new(m, path, &cg, err)) < 0)
    return r;
  size_t i;
  json_t *d;
  json_array_foreach(dirs, i, d)
  {
    const char *ctl = NULL, *mnt = NULL;
    bool unified = false;
    if ((r = bjson_get_str(d, "controllers", true, &ctl, "cgroup state.dirs", err)) < 0 ||
        (r = bjson_get_str(d, "mountpoint", true, &mnt, "cgroup state.dirs", err)) < 0 ||
        (r = bjson_get_bool(d, "unified", false, &unified, "cgroup state.dirs", err)) < 0)
      return r;
    if (mnt[0] != '/' || strstr(mnt, "/../") || strstr(mnt, "/.."))
      return berr_set(err, 0, "cgroup state: bad mountpoint \"%s\"", mnt);
    if ((r = lc_cg_add_dir(cg, ctl, mnt, unified, err)) < 0)
      return r;
  }
  if (cg->ndirs == 0)
    return berr_set(err, 0, "cgroup state: no directories");
  *out = steal_ptr(cg);
  return 0;
}
