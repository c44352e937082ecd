/* Execution drivers: "native" (libcontainer through berth-shim) or an OCI runtime binary
 * named under "runtimes" in daemon.json ({"name": {"path": ..., "runtimeArgs": [...]}}),
 * chosen per container (HostConfig.Runtime). For a container of an external runtime the
 * shim keeps its cgroup's description (cgroup.json in the bundle): signals, pause, stats,
 * top and update go through that cgroup; for a native one through libcontainer's state. */
#include "runtimes.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>

#include "common/bjson.h"
#include "common/cleanup.h"
#include "engine_internal.h"
#include "libcontainer/container.h"
#include "supervisor.h"

extern char **environ;

bool runtime_is_native(const char *name)
{
  return !name || !*name || strcmp(name, RUNTIME_NATIVE) == 0;
}

/* daemon.json's runtimes (a new reference, an empty object when none). */
static json_t *configured(struct engine *e)
{
  json_t *all = NULL;
  struct berr err;
  if (!e->cfg.config_file || bjson_load_file(e->cfg.config_file, &all, &err) < 0)
    return json_object();
  json_t *r = json_incref(json_object_get(all, "runtimes"));
  json_decref(all);
  return json_is_object(r) ? r : (json_decref(r), json_object());
}

int runtime_lookup(struct engine *e, const char *name, char *path, size_t len, json_t **args,
                   struct berr *err)
{
  if (runtime_is_native(name)) {
    path[0] = 0;
    if (args)
      *args = json_array();
    return 0;
  }
  json_auto_t *all = configured(e);
  json_t *rt = json_object_get(all, name);
  const char *p = json_string_value(json_object_get(rt, "path"));
  if (!p || !*p)
    return berr_set(err, 0, "unknown or invalid runtime name: %s", name);
  snprintf(path, len, "%s", p);
  if (args) {
    json_t *a = json_object_get(rt, "runtimeArgs");
    *args = json_is_array(a) ? json_deep_copy(a) : json_array();
  }
  return 0;
}

json_t *runtime_list(struct engine *e)
{
  json_t *out = json_object();
  json_object_set_new(out, RUNTIME_NATIVE, json_pack("{s:s}", "path", "berth-shim"));
  json_auto_t *all = configured(e);
  const char *k;
  json_t *v;
  json_object_foreach(all, k, v)
  {
    if (json_is_string(json_object_get(v, "path")))
      json_object_set(out, k, v);
  }
  return out;
}

void runtime_root_dir(struct engine *e, const char *name, char *buf, size_t len)
{
  if (runtime_is_native(name))
    snprintf(buf, len, "%s/runtime", e->cfg.exec_root);
  else
    snprintf(buf, len, "%s/runtimes/%s", e->cfg.exec_root, name);
}

static int ext_cgroup(struct engine *e, const char *id, struct lc_cgroup **cg, struct berr *err)
{
  char path[4096];
  sup_bundle_dir(e, id, path, sizeof(path));
  strncat(path, "/cgroup.json", sizeof(path) - strlen(path) - 1);
  json_auto_t *j = NULL;
  if (bjson_load_file(path, &j, err) < 0)
    return berr_wrap(err, "container %s has no cgroup", id);
  return lc_cgroup_load(j, cg, err);
}

int runtime_kill(struct engine *e, const char *id, const char *rt, pid_t pid, int sig, bool all,
                 struct berr *err)
{
  if (runtime_is_native(rt)) {
    char root[4096];
    runtime_root_dir(e, rt, root, sizeof(root));
    return lc_container_kill(root, id, sig, all, err);
  }
  if (!all && pid > 0)
    return kill(pid, sig) < 0 ? berr_errno(err, "kill %d", (int)pid) : 0;
  struct lc_cgroup *cg = NULL;
  if (ext_cgroup(e, id, &cg, err) < 0)
    return -err->code;
  int r = lc_cgroup_kill_all(cg, sig, err);
  lc_cgroup_free(cg);
  return r;
}

int runtime_pause(struct engine *e, const char *id, const char *rt, bool pause, struct berr *err)
{
  if (runtime_is_native(rt)) {
    char root[4096];
    runtime_root_dir(e, rt, root, sizeof(root));
    return lc_container_pause(root, id, pause, err);
  }
  struct lc_cgroup *cg = NULL;
  if (ext_cgroup(e, id, &cg, err) < 0)
    return -err->code;
  int r = lc_cgroup_freeze(cg, pause, err);
  lc_cgroup_free(cg);
  return r;
}

int runtime_pids(struct engine *e, const char *id, const char *rt, pid_t **pids, size_t *n,
                 struct berr *err)
{
  if (runtime_is_native(rt)) {
    char root[4096];
    runtime_root_dir(e, rt, root, sizeof(root));
    return lc_container_pids(root, id, pids, n, err);
  }
  struct lc_cgroup *cg = NULL;
  if (ext_cgroup(e, id, &cg, err) < 0)
    return -err->code;
  int r = lc_cgroup_pids(cg, pids, n, err);
  lc_cgroup_free(cg);
  return r;
}

int runtime_stats(struct engine *e, const char *id, const char *rt, struct lc_cgroup_stats *st,
                  struct berr *err)
{
  if (runtime_is_native(rt)) {
    char root[4096];
    runtime_root_dir(e, rt, root, sizeof(root));
    return lc_container_stats(root, id, st, err);
  }
  struct lc_cgroup *cg = NULL;
  if (ext_cgroup(e, id, &cg, err) < 0)
    return -err->code;
  int r = lc_cgroup_stats(cg, st, err);
  lc_cgroup_free(cg);
  return r;
}

int runtime_update(struct engine *e, const char *id, const char *rt, json_t *resources,
                   struct berr *err)
{
  if (runtime_is_native(rt)) {
    char root[4096];
    runtime_root_dir(e, rt, root, sizeof(root));
    return lc_container_update(root, id, resources, err);
  }
  struct lc_cgroup *cg = NULL;
  if (ext_cgroup(e, id, &cg, err) < 0)
    return -err->code;
  int r = lc_cgroup_apply(cg, resources, err);
  lc_cgroup_free(cg);
  return r;
}

int runtime_delete(struct engine *e, const char *id, const char *rt, struct berr *err)
{
  if (runtime_is_native(rt)) {
    char root[4096];
    runtime_root_dir(e, rt, root, sizeof(root));
    return lc_container_delete(root, id, true, err);
  }
  /* Ending its processes ends the shim, which deletes it in the runtime. */
  return runtime_kill(e, id, rt, 0, SIGKILL, true, err);
}

int runtime_delete_stale(struct engine *e, const char *id, const char *rt, struct berr *err)
{
  char root[4096];
  runtime_root_dir(e, rt, root, sizeof(root));
  if (runtime_is_native(rt))
    return lc_container_delete(root, id, true, err);
  char path[4096];
  json_auto_t *args = NULL;
  if (runtime_lookup(e, rt, path, sizeof(path), &args, err) < 0)
    return -err->code;
  const char *argv[64];
  size_t n = 0;
  argv[n++] = path;
  for (size_t i = 0; i < json_array_size(args) && n < 56; i++)
    argv[n++] = json_string_value(json_array_get(args, i)) ?: "";
  argv[n++] = "--root";
  argv[n++] = root;
  argv[n++] = "delete";
  argv[n++] = "--force";
  argv[n++] = id;
  argv[n] = NULL;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid;
  int r = posix_spawn(&pid, path, &fa, NULL, (char *const *)argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (r != 0)
    return berr_set(err, r, "run %s delete", path);
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
    ;
  /* runc and crun exit non-zero for a container they do not know: nothing was left. */
  (void)st;
  return 0;
}

const char *runtime_of(json_t *doc)
{
  return json_string_value(json_object_get(json_object_get(doc, "HostConfig"), "Runtime"));
}
