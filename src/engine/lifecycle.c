/* Container lifecycle: create, start, stop, kill, pause, remove, recovery. */
#include "lifecycle.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/bjson.h"
#include "common/cleanup.h"
#include "common/fileutil.h"
#include "common/log.h"
#include "common/reaper.h"
#include "common/signals.h"
#include "engine_internal.h"
#include "execdriver/spec.h"
#include "graph/graph.h"
#include "graphdriver/driver.h"
#include "graph/image.h"
#include "graph/rwlayer.h"
#include "libcontainer/container.h"
#include "network.h"
#include "mounts.h"
#include "repository.h"
#include "resources.h"
#include "restart.h"
#include "runtimes.h"
#include "health.h"
#include "supervisor.h"
#include "userns.h"

int lifecycle_signal(const char *s)
{
  return s ? bsignal_parse(s) : -1;
}

json_t *lifecycle_attrs(const struct container *c)
{
  json_t *config = json_object_get(c->doc, "Config");
  json_t *a = json_object();
  const char *k;
  json_t *v;
  json_object_foreach(json_object_get(config, "Labels"), k, v)
  {
    if (json_is_string(v))
      json_object_set(a, k, v);
  }
  json_object_set_new(a, "image",
                      json_string(json_string_value(json_object_get(config, "Image")) ?: ""));
  json_object_set_new(a, "name", json_string(c->name));
  return a;
}

void lifecycle_wait_idle(struct engine *e, struct container *c)
{
  while (c->busy && !c->removed)
    pthread_cond_wait(&e->changed, &e->lock);
}

static void random_id(char out[65])
{
  unsigned char b[32];
  if (getrandom(b, sizeof(b), 0) != sizeof(b))
    for (size_t i = 0; i < sizeof(b); i++)
      b[i] = (unsigned char)rand();
  for (size_t i = 0; i < 32; i++)
    snprintf(out + 2 * i, 3, "%02x", b[i]);
}

/* Image settings under the container's own (Docker's merge rules). */
static json_t *merge_config(json_t *body, json_t *image_cfg)
{
  json_t *c = json_deep_copy(body);
  json_object_del(c, "HostConfig");
  json_object_del(c, "NetworkingConfig");
  /* Env: the image's, overridden key by key. */
  json_t *env = json_array();
  size_t i;
  json_t *v;
  json_t *cenv = json_object_get(body, "Env");
  json_array_foreach(json_object_get(image_cfg, "Env"), i, v)
  {
    const char *s = json_string_value(v);
    if (!s)
      continue;
    size_t klen = strcspn(s, "=");
    bool overridden = false;
    size_t k;
    json_t *o;
    json_array_foreach(cenv, k, o)
    {
      const char *t = json_string_value(o);
      if (t && strncmp(t, s, klen) == 0 && (t[klen] == '=' || t[klen] == '\0'))
        overridden = true;
    }
    if (!overridden)
      json_array_append(env, v);
  }
  json_array_foreach(cenv, i, v)
  {
    if (json_is_string(v) && strchr(json_string_value(v), '='))
      json_array_append(env, v);
  }
  json_object_set_new(c, "Env", env);
  bool user_ep = json_is_array(json_object_get(body, "Entrypoint"));
  if (!user_ep)
    json_object_set(c, "Entrypoint", json_object_get(image_cfg, "Entrypoint") ?: json_null());
  if (json_array_size(json_object_get(body, "Cmd")) == 0 && !user_ep)
    json_object_set(c, "Cmd", json_object_get(image_cfg, "Cmd") ?: json_null());
  const char *fields[] = {"WorkingDir", "User", "StopSignal"};
  for (size_t k = 0; k < 3; k++) {
    const char *s = json_string_value(json_object_get(body, fields[k]));
    if ((!s || !*s) && json_is_string(json_object_get(image_cfg, fields[k])))
      json_object_set(c, fields[k], json_object_get(image_cfg, fields[k]));
  }
  const char *objs[] = {"Labels", "ExposedPorts", "Volumes"};
  for (size_t k = 0; k < 3; k++) {
    json_t *merged = json_object();
    json_object_update(merged, json_object_get(image_cfg, objs[k]));
    json_object_update(merged, json_object_get(body, objs[k]));
    json_object_set_new(c, objs[k], merged);
  }
  /* The health check field by field: what the user left unset comes from the image. */
  json_t *ihc = json_object_get(image_cfg, "Healthcheck");
  json_t *uhc = json_object_get(c, "Healthcheck");
  if (!json_is_object(uhc) && json_is_object(ihc)) {
    json_object_set(c, "Healthcheck", ihc);
  } else if (json_is_object(uhc) && json_is_object(ihc)) {
    if (json_array_size(json_object_get(uhc, "Test")) == 0 && json_object_get(ihc, "Test"))
      json_object_set(uhc, "Test", json_object_get(ihc, "Test"));
    const char *durs[] = {"Interval", "Timeout", "StartPeriod", "StartInterval", "Retries"};
    for (size_t k = 0; k < 5; k++)
      if (json_integer_value(json_object_get(uhc, durs[k])) == 0 && json_object_get(ihc, durs[k]))
        json_object_set(uhc, durs[k], json_object_get(ihc, durs[k]));
  }
  return c;
}

static json_t *host_config_defaults(json_t *body)
{
  json_t *h = json_deep_copy(json_object_get(body, "HostConfig"));
  if (!json_is_object(h)) {
    json_decref(h);
    h = json_object();
  }
  const char *mode = json_string_value(json_object_get(h, "NetworkMode"));
  if (!mode || !*mode || strcmp(mode, "default") == 0)
    json_object_set_new(h, "NetworkMode", json_string("bridge"));
  json_t *log = json_object_get(h, "LogConfig");
  if (!json_is_object(log)) {
    log = json_object();
    json_object_set_new(h, "LogConfig", log);
  }
  const char *lt = json_string_value(json_object_get(log, "Type"));
  if (!lt || !*lt)
    json_object_set_new(log, "Type", json_string("json-file"));
  if (!json_is_object(json_object_get(log, "Config")))
    json_object_set_new(log, "Config", json_object());
  if (!json_is_object(json_object_get(h, "RestartPolicy")))
    json_object_set_new(h, "RestartPolicy",
                        json_pack("{s:s,s:i}", "Name", "no", "MaximumRetryCount", 0));
  return h;
}

static int write_file(const char *dir, const char *name, const char *text, struct berr *err)
{
  char path[PATH_MAX];
  snprintf(path, sizeof(path), "%s/%s", dir, name);
  /* Made again from the container's record whenever needed: no fsync. */
  return bf_write_atomic_volatile(path, text, strlen(text), 0644, err);
}

static int write_etc_files(const char *dir, const char *hostname, struct berr *err)
{
  char buf[1024];
  snprintf(buf, sizeof(buf), "%s\n", hostname);
  if (write_file(dir, "hostname", buf, err) < 0)
    return -err->code;
  snprintf(buf, sizeof(buf),
           "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
           "fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\n"
           "ff02::2\tip6-allrouters\n");
  if (write_file(dir, "hosts", buf, err) < 0)
    return -err->code;
  _cleanup_free_ char *resolv = NULL;
  size_t len = 0;
  struct berr ignored;
  if (bf_read_all("/etc/resolv.conf", &resolv, &len, &ignored) < 0)
    resolv = strdup("");
  return write_file(dir, "resolv.conf", resolv ? resolv : "", err);
}

int lifecycle_create(struct engine *e, json_t *body, const char *name, char id[65],
                     json_t **warnings, struct berr *err)
{
  if (!json_is_object(body))
    return berr_set(err, 0, "config cannot be empty in order to create a container");
  const char *image = json_string_value(json_object_get(body, "Image"));
  if (!image || !*image)
    return berr_set(err, 0, "config cannot be empty in order to create a container");
  if (name && *name == '/')
    name++;
  if (name && *name && !ctr_name_valid(name))
    return berr_set(
        err, 0, "Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", name);
  /* As moby's ValidateEnv: every entry needs a name before its '=' (docker-py and the API
   * are not filtered by the CLI's own check). */
  size_t k;
  json_t *env;
  json_array_foreach(json_object_get(body, "Env"), k, env)
  {
    const char *kv = json_string_value(env);
    if (!kv || !*kv || *kv == '=')
      return berr_set(err, 0, "invalid environment variable: %s", kv ? kv : "(not a string)");
  }
  char image_id[80];
  if (graph_image_resolve(e->graph, image, image_id, err) < 0)
    return -err->code;
  json_t *image_full = NULL;
  if (graph_image_config(e->graph, image_id, &image_full, err) < 0)
    return -err->code;
  json_t *config = merge_config(body, json_object_get(image_full, "config"));
  json_decref(image_full);
  json_t *args = NULL;
  if (execdriver_args(config, &args, err) < 0) {
    json_decref(config);
    return berr_set(err, 0, "no command specified");
  }
  random_id(id);
  char short_id[13];
  snprintf(short_id, sizeof(short_id), "%.12s", id);
  const char *hn = json_string_value(json_object_get(config, "Hostname"));
  if (!hn || !*hn)
    json_object_set_new(config, "Hostname", json_string(short_id));
  json_object_set_new(config, "Image", json_string(image));
  json_t *host = host_config_defaults(body);
  json_t *net_settings = NULL;
  json_t *mounts = NULL;
  int r = -EINVAL;
  /* Checked before anything is made: a rejected request leaves nothing behind. */
  json_auto_t *warns = json_array();
  if (resources_check_create(config, host, warns, err) < 0 || userns_check_create(e, host, err) < 0)
    goto fail_config;
  {
    char rt_path[4096];
    const char *rt = json_string_value(json_object_get(host, "Runtime"));
    if (runtime_lookup(e, rt, rt_path, sizeof(rt_path), NULL, err) < 0)
      goto fail_config;
    if (!rt || !*rt)
      json_object_set_new(host, "Runtime", json_string(RUNTIME_NATIVE));
  }

  char dir[PATH_MAX], log_path[PATH_MAX], p1[PATH_MAX], p2[PATH_MAX], p3[PATH_MAX], created[64];
  sup_container_dir(e, id, dir, sizeof(dir));
  sup_log_path(e, id, log_path, sizeof(log_path));
  snprintf(p1, sizeof(p1), "%s/resolv.conf", dir);
  snprintf(p2, sizeof(p2), "%s/hostname", dir);
  snprintf(p3, sizeof(p3), "%s/hosts", dir);
  ctr_now(created, sizeof(created));
  if (network_settings_new(e, body, host, &net_settings, err) < 0) {
    r = -err->code;
    goto fail_config;
  }
  if (mounts_resolve(e, config, host, &mounts, err) < 0)
    goto fail_config;
  if (graph_rwlayer_create(e->graph, ctr_layer(id, (char[80]){0}), image_id, err) < 0)
    goto fail_config;
  if (bf_mkdir_p(dir, 0710, err) < 0 ||
      write_etc_files(dir, json_string_value(json_object_get(config, "Hostname")), err) < 0)
    goto fail_layer;
  /* Its remapped root reaches hostname, hosts and resolv.conf through the group, as dockerd. */
  if (e->cfg.userns && chown(dir, 0, e->cfg.userns->gid) < 0) {
    r = berr_errno(err, "chown %s", dir);
    goto fail_layer;
  }

  json_t *path = json_array_get(args, 0);
  json_t *rest = json_array();
  for (size_t i = 1; i < json_array_size(args); i++)
    json_array_append(rest, json_array_get(args, i));
  char name_buf[300];
  struct container *c = calloc(1, sizeof(*c));
  if (!c) {
    r = berr_set(err, ENOMEM, "container");
    goto fail_layer;
  }
  memcpy(c->id, id, 65);
  c->engine = e;
  c->shim_fd = -1;
  c->state = CTR_CREATED;
  json_t *state = json_pack("{s:s,s:b,s:b,s:b,s:b,s:b,s:i,s:i,s:s,s:s,s:s}", "Status", "created",
                            "Running", 0, "Paused", 0, "Restarting", 0, "OOMKilled", 0, "Dead", 0,
                            "Pid", 0, "ExitCode", 0, "Error", "", "StartedAt",
                            "0001-01-01T00:00:00Z", "FinishedAt", "0001-01-01T00:00:00Z");
  const char *driver = gd_driver_name(graph_driver(e->graph));
  json_t *d = json_object();
  json_object_set_new(d, "Id", json_string(id));
  json_object_set_new(d, "Created", json_string(created));
  json_object_set(d, "Path", path);
  json_object_set_new(d, "Args", rest);
  json_object_set_new(d, "State", state);
  json_object_set_new(d, "Image", json_string(image_id));
  json_object_set_new(d, "ResolvConfPath", json_string(p1));
  json_object_set_new(d, "HostnamePath", json_string(p2));
  json_object_set_new(d, "HostsPath", json_string(p3));
  json_object_set_new(d, "LogPath", json_string(log_path));
  json_object_set_new(d, "Name", json_string(""));
  json_object_set_new(d, "RestartCount", json_integer(0));
  json_object_set_new(d, "Driver", json_string(driver));
  json_object_set_new(d, "Platform", json_string("linux"));
  json_object_set_new(d, "MountLabel", json_string(""));
  json_object_set_new(d, "ProcessLabel", json_string(""));
  json_object_set_new(d, "AppArmorProfile", json_string(""));
  json_object_set_new(d, "ExecIDs", json_null());
  json_object_set_new(d, "HostConfig", host);
  json_object_set_new(d, "GraphDriver", json_pack("{s:s,s:{}}", "Name", driver, "Data"));
  json_object_set(d, "Mounts", mounts);
  json_object_set_new(d, "Config", config);
  json_object_set_new(d, "NetworkSettings", net_settings);
  net_settings = NULL;
  c->doc = d;
  config = host = NULL;
  json_decref(args);
  args = NULL;
  if (!c->doc) {
    free(c);
    r = berr_set(err, ENOMEM, "container document");
    goto fail_layer;
  }

  pthread_mutex_lock(&e->lock);
  if (name && *name) {
    struct container *other = repo_by_name(e, name);
    if (other) {
      r = berr_set(err, EEXIST,
                   "Conflict. The container name \"/%s\" is already in use by container \"%s\". "
                   "You have to remove (or rename) that container to be able to reuse that name.",
                   name, other->id);
      err->code = EEXIST;
      snprintf(err->msg, sizeof(err->msg),
               "Conflict. The container name \"/%s\" is already in use by container \"%s\". "
               "You have to remove (or rename) that container to be able to reuse that name.",
               name, other->id);
      pthread_mutex_unlock(&e->lock);
      ctr_free(c);
      goto fail_layer;
    }
    snprintf(name_buf, sizeof(name_buf), "%s", name);
  } else {
    do
      ctr_random_name(name_buf, sizeof(name_buf));
    while (repo_by_name(e, name_buf));
  }
  c->name = strdup(name_buf);
  char slash_name[302];
  snprintf(slash_name, sizeof(slash_name), "/%s", name_buf);
  json_object_set_new(c->doc, "Name", json_string(slash_name));
  if (repo_add(e, c, err) < 0) {
    pthread_mutex_unlock(&e->lock);
    ctr_free(c);
    goto fail_layer;
  }
  events_emit(&e->events, "container", "create", c->id, lifecycle_attrs(c));
  pthread_mutex_unlock(&e->lock);
  json_decref(mounts);
  *warnings = json_incref(warns);
  return 0;

fail_layer : {
  struct berr ignored;
  graph_rwlayer_remove(e->graph, ctr_layer(id, (char[80]){0}), &ignored);
  bf_rm_rf(dir, &ignored);
}
fail_config:
  json_decref(net_settings);
  if (mounts)
    mounts_release(e, mounts);
  json_decref(mounts);
  json_decref(args);
  json_decref(config);
  json_decref(host);
  return r < 0 ? r : -err->code;
}

static int build_bundle(struct engine *e, struct container *c, const char *rootfs,
                        const char *netns, json_t *mounts, struct berr *err)
{
  char bundle[PATH_MAX], dir[PATH_MAX], init[PATH_MAX], cfg_path[PATH_MAX];
  sup_bundle_dir(e, c->id, bundle, sizeof(bundle));
  sup_container_dir(e, c->id, dir, sizeof(dir));
  snprintf(init, sizeof(init), "%s", e->cfg.shim_path);
  char *slash = strrchr(init, '/');
  if (slash)
    snprintf(slash + 1, sizeof(init) - (size_t)(slash + 1 - init), "berth-init");
  struct execdriver_spec_in in = {
      .id = c->id,
      .config = json_object_get(c->doc, "Config"),
      .host_config = json_object_get(c->doc, "HostConfig"),
      .rootfs = rootfs,
      .container_dir = dir,
      .init_path = init,
      .netns_path = netns && *netns ? netns : NULL,
      .extra_mounts = mounts,
  };
  json_auto_t *uid_maps = NULL, *gid_maps = NULL;
  if (userns_remapped(e, in.host_config)) {
    in.uid_maps = uid_maps = userns_oci_maps(e, false);
    in.gid_maps = gid_maps = userns_oci_maps(e, true);
  }
  json_t *spec = NULL;
  if (execdriver_spec(&in, &spec, err) < 0)
    return -err->code;
  int r = bf_mkdir_p(bundle, 0700, err);
  if (r == 0) {
    snprintf(cfg_path, sizeof(cfg_path), "%s/config.json", bundle);
    char *text = json_dumps(spec, JSON_COMPACT);
    r = text ? bf_write_atomic_volatile(cfg_path, text, strlen(text), 0600, err)
             : berr_set(err, ENOMEM, "spec");
    free(text);
  }
  json_decref(spec);
  return r;
}

static int exit_code_for(const char *msg)
{
  if (strstr(msg, "executable file not found") || strstr(msg, "no such file or directory") ||
      strstr(msg, "No such file or directory"))
    return 127;
  if (strstr(msg, "permission denied") || strstr(msg, "Permission denied"))
    return 126;
  return 128;
}

/* The container named by ref, once no other start/stop/remove is under way, with the engine
 * lock held; NULL (lock released, err filled) when it does not exist (any more). */
static struct container *find_idle(struct engine *e, const char *ref, struct berr *err)
{
  pthread_mutex_lock(&e->lock);
  struct container *c = repo_find(e, ref, err);
  if (c) {
    lifecycle_wait_idle(e, c);
    if (!c->removed)
      return c;
    err->code = ENOENT;
    snprintf(err->msg, sizeof(err->msg), "No such container: %s", ref);
  }
  pthread_mutex_unlock(&e->lock);
  return NULL;
}

int lifecycle_start(struct engine *e, const char *ref, struct berr *err)
{
  struct container *c = find_idle(e, ref, err);
  if (!c)
    return -err->code;
  if (c->state == CTR_RUNNING) {
    pthread_mutex_unlock(&e->lock);
    return 1;
  }
  /* A shim that reported an exit may still be tidying its runtime state: let it finish
   * before a new one takes the same container ID. */
  while (c->monitor_running && c->state != CTR_RUNNING && !c->removed)
    pthread_cond_wait(&e->changed, &e->lock);
  if (c->state == CTR_PAUSED) {
    pthread_mutex_unlock(&e->lock);
    err->code = EBUSY;
    snprintf(err->msg, sizeof(err->msg), "cannot start a paused container, try unpause instead");
    return -EBUSY;
  }
  c->busy = true;
  c->refs++;
  restart_on_start(c);
  pthread_mutex_unlock(&e->lock);

  char *rootfs = NULL, netns[PATH_MAX] = "";
  int r = network_container_start(e, c, netns, sizeof(netns), err);
  if (r == 0 && userns_remapped(e, json_object_get(c->doc, "HostConfig")))
    r = userns_mount_rootfs(e, ctr_layer(c->id, (char[80]){0}), &rootfs, err);
  else if (r == 0)
    r = graph_rwlayer_mount(e->graph, ctr_layer(c->id, (char[80]){0}), &rootfs, err);
  if (r == 0 && userns_remapped(e, json_object_get(c->doc, "HostConfig")))
    r = userns_own_etc_files(e, c->id, err);
  json_t *mounts = NULL;
  if (r == 0)
    r = mounts_oci(e, c, rootfs, &mounts, err);
  if (r == 0)
    r = build_bundle(e, c, rootfs, netns, mounts, err);
  if (r == 0)
    r = resources_init_rt_parent(e, err);
  json_decref(mounts);
  free(rootfs);
  if (r == 0)
    r = sup_start(e, c, err);

  pthread_mutex_lock(&e->lock);
  json_t *st = json_object_get(c->doc, "State");
  if (r == 0) {
    /* The monitor has marked it running (and may already have seen it exit). */
  } else {
    struct berr ignored;
    json_object_set_new(st, "Error", json_string(err->msg));
    json_object_set_new(st, "ExitCode", json_integer(exit_code_for(err->msg)));
    /* A shim may hold the created container (its start or our connection failed): end
     * it, so no shim, cgroup or mount outlives the failed start, then undo the rest. */
    char root[PATH_MAX], bundle[PATH_MAX];
    snprintf(root, sizeof(root), "%s/runtime", e->cfg.exec_root);
    runtime_delete(e, c->id, runtime_of(c->doc), &ignored);
    while (c->monitor_running)
      pthread_cond_wait(&e->changed, &e->lock);
    graph_rwlayer_unmount(e->graph, ctr_layer(c->id, (char[80]){0}), &ignored);
    network_container_stop(e, c);
    sup_bundle_dir(e, c->id, bundle, sizeof(bundle));
    bf_rm_rf(bundle, &ignored);
    repo_save(e, c, &ignored);
  }
  c->busy = false;
  c->refs--;
  /* --rm: a container that could not start is removed here, and so is one that already
   * exited and whose monitor ended while this job held it (the monitor skips busy ones). */
  bool auto_remove =
      ((r < 0 && c->state == CTR_CREATED) ||
       (r == 0 && c->state == CTR_EXITED && !c->monitor_running)) &&
      json_is_true(json_object_get(json_object_get(c->doc, "HostConfig"), "AutoRemove"));
  /* Likewise its restart policy: the monitor skipped it while this job was busy. */
  if (!auto_remove && r == 0 && c->state == CTR_EXITED && !c->monitor_running)
    restart_after_exit(e, c);
  pthread_cond_broadcast(&e->changed);
  pthread_mutex_unlock(&e->lock);
  if (auto_remove) {
    /* A --rm container that cannot start is removed, so `wait condition=removed` ends. */
    struct berr ignored;
    char id[65];
    memcpy(id, c->id, sizeof(id));
    lifecycle_remove(e, id, true, true, &ignored);
  }
  return r;
}

/* Wait (lock held) until the container leaves the running states, or the deadline. */
static bool wait_exit(struct engine *e, struct container *c, unsigned long exits, int seconds)
{
  struct timespec until;
  clock_gettime(CLOCK_MONOTONIC, &until);
  until.tv_sec += seconds;
  while (c->exits == exits && !c->removed && (c->state == CTR_RUNNING || c->state == CTR_PAUSED)) {
    if (pthread_cond_timedwait(&e->changed, &e->lock, &until) == ETIMEDOUT)
      return false;
  }
  return true;
}

static int signal_container(struct engine *e, struct container *c, int sig, bool all,
                            struct berr *err)
{
  char root[PATH_MAX];
  (void)root;
  pid_t pid = (pid_t)json_integer_value(json_object_get(json_object_get(c->doc, "State"), "Pid"));
  return runtime_kill(e, c->id, runtime_of(c->doc), pid, sig, all, err);
}

int lifecycle_stop(struct engine *e, const char *ref, const char *sigstr, int timeout,
                   struct berr *err)
{
  pthread_mutex_lock(&e->lock);
  struct container *c = repo_find(e, ref, err);
  if (!c) {
    pthread_mutex_unlock(&e->lock);
    return -err->code;
  }
  lifecycle_wait_idle(e, c);
  if (c->state == CTR_RUNNING || c->state == CTR_PAUSED || c->state == CTR_RESTARTING)
    restart_user_stop(e, c);
  if (c->state != CTR_RUNNING && c->state != CTR_PAUSED) {
    pthread_mutex_unlock(&e->lock);
    return 1;
  }
  json_t *config = json_object_get(c->doc, "Config");
  if (!sigstr || !*sigstr)
    sigstr = json_string_value(json_object_get(config, "StopSignal"));
  int sig = sigstr && *sigstr ? lifecycle_signal(sigstr) : SIGTERM;
  if (sig < 0) {
    pthread_mutex_unlock(&e->lock);
    return berr_set(err, 0, "Invalid signal: %s", sigstr);
  }
  if (timeout < 0) {
    json_t *t = json_object_get(config, "StopTimeout");
    timeout = json_is_integer(t) ? (int)json_integer_value(t) : 10;
  }
  c->busy = true;
  c->refs++;
  unsigned long exits = c->exits;
  bool paused = c->state == CTR_PAUSED;
  struct berr kerr;
  char sigbuf[16];
  snprintf(sigbuf, sizeof(sigbuf), "%d", sig);
  json_t *attrs = lifecycle_attrs(c);
  json_object_set_new(attrs, "signal", json_string(sigbuf));
  events_emit(&e->events, "container", "kill", c->id, attrs);
  signal_container(e, c, sig, false, &kerr);
  if (paused) {
    char root[PATH_MAX];
    (void)root;
    runtime_pause(e, c->id, runtime_of(c->doc), false, &kerr);
  }
  if (!wait_exit(e, c, exits, timeout)) {
    /* Did not stop in time: kill everything in it. */
    signal_container(e, c, SIGKILL, true, &kerr);
    wait_exit(e, c, exits, 30);
  }
  events_emit(&e->events, "container", "stop", c->id, lifecycle_attrs(c));
  c->busy = false;
  c->refs--;
  pthread_cond_broadcast(&e->changed);
  pthread_mutex_unlock(&e->lock);
  return 0;
}

int lifecycle_kill(struct engine *e, const char *ref, const char *sigstr, struct berr *err)
{
  int sig = sigstr && *sigstr ? lifecycle_signal(sigstr) : SIGKILL;
  if (sig < 0)
    return berr_set(err, 0, "Invalid signal: %s", sigstr);
  pthread_mutex_lock(&e->lock);
  struct container *c = repo_find(e, ref, err);
  int r = 0;
  if (!c) {
    r = -err->code;
  } else if (c->state != CTR_RUNNING && c->state != CTR_PAUSED) {
    err->code = EBUSY;
    snprintf(err->msg, sizeof(err->msg), "cannot kill container: %s: container %s is not running",
             ref, c->id);
    r = -EBUSY;
  } else {
    char sigbuf[16];
    snprintf(sigbuf, sizeof(sigbuf), "%d", sig);
    json_t *attrs = lifecycle_attrs(c);
    json_object_set_new(attrs, "signal", json_string(sigbuf));
    events_emit(&e->events, "container", "kill", c->id, attrs);
    restart_user_stop(e, c);
    r = signal_container(e, c, sig, false, err);
  }
  pthread_mutex_unlock(&e->lock);
  return r;
}

int lifecycle_pause(struct engine *e, const char *ref, bool pause, struct berr *err)
{
  pthread_mutex_lock(&e->lock);
  struct container *c = repo_find(e, ref, err);
  int r = 0;
  if (!c) {
    r = -err->code;
    goto out;
  }
  lifecycle_wait_idle(e, c);
  if (c->state != CTR_RUNNING && c->state != CTR_PAUSED) {
    err->code = EBUSY;
    snprintf(err->msg, sizeof(err->msg), "container %s is not running", c->id);
    r = -EBUSY;
  } else if (pause && c->state == CTR_PAUSED) {
    err->code = EBUSY;
    snprintf(err->msg, sizeof(err->msg), "Container %s is already paused", c->id);
    r = -EBUSY;
  } else if (!pause && c->state != CTR_PAUSED) {
    err->code = EBUSY;
    snprintf(err->msg, sizeof(err->msg), "Container %s is not paused", c->id);
    r = -EBUSY;
  } else {
    char root[PATH_MAX];
    (void)root;
    r = runtime_pause(e, c->id, runtime_of(c->doc), pause, err);
    if (r == 0) {
      c->state = pause ? CTR_PAUSED : CTR_RUNNING;
      ctr_sync_state(c);
      repo_save(e, c, err);
      events_emit(&e->events, "container", pause ? "pause" : "unpause", c->id, lifecycle_attrs(c));
      pthread_cond_broadcast(&e->changed);
    }
  }
out:
  pthread_mutex_unlock(&e->lock);
  return r;
}

struct dirs_removal {
  char dir[PATH_MAX], bundle[PATH_MAX];
};

static void remove_dirs(void *arg)
{
  struct dirs_removal *rm = arg;
  struct berr ignored; /* what stays is swept at the next start */
  bf_rm_rf(rm->dir, &ignored);
  bf_rm_rf(rm->bundle, &ignored);
  free(rm);
}

/* Remove a stopped container (lock held). */
static int remove_locked(struct engine *e, struct container *c, bool volumes, struct berr *err)
{
  c->state = CTR_REMOVING;
  c->busy = true;
  ctr_sync_state(c);
  /* The record first: a crash after it leaves a layer and directories without a record,
   * which start-up sweeps; the other order could leave a record without its layer. */
  if (repo_remove(e, c, err) < 0) {
    c->busy = false;
    return -err->code;
  }
  struct berr lerr;
  if (graph_rwlayer_remove(e->graph, ctr_layer(c->id, (char[80]){0}), &lerr) < 0)
    blog(BLOG_WARN, "container %s: %s (removed at the next start)", c->id, lerr.msg);
  /* Its log can be large: the directories go after the answer, in order. */
  struct dirs_removal *rm = calloc(1, sizeof(*rm));
  if (rm) {
    sup_container_dir(e, c->id, rm->dir, sizeof(rm->dir));
    sup_bundle_dir(e, c->id, rm->bundle, sizeof(rm->bundle));
    reaper_defer(e->reaper, remove_dirs, rm);
  }
  events_emit(&e->events, "container", "destroy", c->id, lifecycle_attrs(c));
  c->removed = true;
  if (volumes)
    mounts_remove_anonymous(e, json_object_get(c->doc, "Mounts"));
  c->busy = false;
  pthread_cond_broadcast(&e->changed);
  if (c->refs == 0 && !c->monitor_running)
    ctr_free(c);
  return 0;
}

int lifecycle_remove(struct engine *e, const char *ref, bool force, bool volumes, struct berr *err)
{
  struct container *c = find_idle(e, ref, err);
  if (!c)
    return -err->code;
  if (c->state == CTR_RUNNING || c->state == CTR_PAUSED) {
    if (!force) {
      pthread_mutex_unlock(&e->lock);
      err->code = EBUSY;
      snprintf(err->msg, sizeof(err->msg),
               "cannot remove container \"%s\": container is running: stop the container before "
               "removing or force remove",
               ref);
      return -EBUSY;
    }
    c->busy = true;
    c->refs++;
    unsigned long exits = c->exits;
    struct berr kerr;
    signal_container(e, c, SIGKILL, true, &kerr);
    if (c->state == CTR_PAUSED) {
      char root[PATH_MAX];
      (void)root;
      runtime_pause(e, c->id, runtime_of(c->doc), false, &kerr);
    }
    wait_exit(e, c, exits, 30);
    c->busy = false;
    c->refs--;
  }
  /* The monitor thread of a just-stopped container finishes first: it may auto-remove. */
  while (c->monitor_running && !c->removed)
    pthread_cond_wait(&e->changed, &e->lock);
  int r = 0;
  if (!c->removed)
    r = remove_locked(e, c, volumes, err);
  pthread_mutex_unlock(&e->lock);
  return r;
}

static bool auto_remove_now(struct container *c)
{
  return json_is_true(json_object_get(json_object_get(c->doc, "HostConfig"), "AutoRemove")) &&
         c->state == CTR_EXITED && !c->busy && !c->removed;
}

void lifecycle_after_exit(struct engine *e, struct container *c)
{
  /* --rm: removed as soon as the exit is known, not after the shim tidied the runtime state
   * (a cgroup directory per v1 hierarchy) and closed its connection; the monitor then finds
   * it removed. */
  struct berr err;
  if (auto_remove_now(c) && remove_locked(e, c, true, &err) < 0)
    blog(BLOG_WARN, "auto-remove %s: %s", c->id, err.msg);
}

void lifecycle_after_monitor(struct engine *e, struct container *c)
{
  if (c->removed) {
    if (c->refs == 0)
      ctr_free(c);
    return;
  }
  if (auto_remove_now(c)) {
    struct berr err;
    if (remove_locked(e, c, true, &err) < 0)
      blog(BLOG_WARN, "auto-remove %s: %s", c->id, err.msg);
    return;
  }
  restart_after_exit(e, c);
}

void lifecycle_recover(struct engine *e)
{
  pthread_mutex_lock(&e->lock);
  for (size_t i = 0; i < e->n_ctrs; i++) {
    struct container *c = e->ctrs[i];
    c->engine = e;
    if (c->state != CTR_RUNNING && c->state != CTR_PAUSED && c->state != CTR_RESTARTING)
      continue;
    struct berr err;
    if (sup_reconnect(e, c, &err) == 0) {
      health_start(e, c, false);
      continue;
    }
    /* The shim is gone: the container ended while we were away. */
    int code = 255;
    bool oom = false;
    char fin[64] = "";
    sup_read_exit(e, c->id, &code, &oom, fin, sizeof(fin));
    runtime_delete_stale(e, c->id, runtime_of(c->doc), &err);
    sup_handle_exit(e, c, code, oom, fin[0] ? fin : NULL);
  }
  pthread_mutex_unlock(&e->lock);
  restart_at_daemon_start(e);
}
