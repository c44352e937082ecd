/* Parse and validate an OCI runtime spec config.json into struct lc_config. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/bjson.h"
#include "common/cleanup.h"
#include "mountopt.h"
#include "security/seccomp.h"

static const struct {
  const char *spec_name;
  const char *proc_name;
  int flag;
} ns_table[LC_NS_COUNT] = {
    [LC_NS_PID] = {"pid", "pid", CLONE_NEWPID},
    [LC_NS_NET] = {"network", "net", CLONE_NEWNET},
    [LC_NS_MNT] = {"mount", "mnt", CLONE_NEWNS},
    [LC_NS_IPC] = {"ipc", "ipc", CLONE_NEWIPC},
    [LC_NS_UTS] = {"uts", "uts", CLONE_NEWUTS},
    [LC_NS_USER] = {"user", "user", CLONE_NEWUSER},
    [LC_NS_CGROUP] = {"cgroup", "cgroup", CLONE_NEWCGROUP},
    [LC_NS_TIME] = {"time", "time", 0x00000080 /* CLONE_NEWTIME */},
};

int lc_ns_clone_flag(enum lc_ns_type t)
{
  return ns_table[t].flag;
}

const char *lc_ns_proc_name(enum lc_ns_type t)
{
  return ns_table[t].proc_name;
}

static const struct {
  const char *name;
  int resource;
} rlimit_table[] = {
    {"RLIMIT_AS", RLIMIT_AS},
    {"RLIMIT_CORE", RLIMIT_CORE},
    {"RLIMIT_CPU", RLIMIT_CPU},
    {"RLIMIT_DATA", RLIMIT_DATA},
    {"RLIMIT_FSIZE", RLIMIT_FSIZE},
    {"RLIMIT_LOCKS", RLIMIT_LOCKS},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
    {"RLIMIT_NICE", RLIMIT_NICE},
    {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_NPROC", RLIMIT_NPROC},
    {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
    {"RLIMIT_RTTIME", RLIMIT_RTTIME},
    {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_STACK", RLIMIT_STACK},
};

int lc_rlimit_from_name(const char *name)
{
  for (size_t i = 0; i < ARRAY_SIZE(rlimit_table); i++)
    if (strcmp(name, rlimit_table[i].name) == 0)
      return rlimit_table[i].resource;
  return -1;
}

static int dup_str(char **dst, const char *src, struct berr *err)
{
  *dst = NULL;
  if (!src)
    return 0;
  *dst = strdup(src);
  return *dst ? 0 : berr_set(err, ENOMEM, "copy string");
}

static int parse_user(json_t *user, struct lc_process *p, struct berr *err)
{
  int64_t v = 0;
  json_t *gids = NULL;
  if (!user)
    return 0;
  if (!json_is_object(user))
    return berr_set(err, 0, "process.user: expected an object");
  if (bjson_get_int(user, "uid", false, &v, "process.user", err) < 0)
    return -EINVAL;
  if (v < 0 || v > UINT32_MAX - 1)
    return berr_set(err, 0, "process.user.uid: %lld is out of range", (long long)v);
  p->uid = (uid_t)v;
  v = 0;
  if (bjson_get_int(user, "gid", false, &v, "process.user", err) < 0)
    return -EINVAL;
  if (v < 0 || v > UINT32_MAX - 1)
    return berr_set(err, 0, "process.user.gid: %lld is out of range", (long long)v);
  p->gid = (gid_t)v;
  v = -1;
  if (bjson_get_int(user, "umask", false, &v, "process.user", err) < 0)
    return -EINVAL;
  if (v >= 0) {
    p->umask = (mode_t)(v & 0777);
    p->has_umask = true;
  }
  if (bjson_get_typed(user, "additionalGids", JSON_ARRAY, false, &gids, "process.user", err) < 0)
    return -EINVAL;
  size_t n = json_array_size(gids);
  if (n) {
    p->additional_gids = calloc(n, sizeof(gid_t));
    if (!p->additional_gids)
      return berr_set(err, ENOMEM, "additionalGids");
    for (size_t i = 0; i < n; i++) {
      json_t *g = json_array_get(gids, i);
      if (!json_is_integer(g) || json_integer_value(g) < 0)
        return berr_set(err, 0, "process.user.additionalGids[%zu]: expected a gid", i);
      p->additional_gids[i] = (gid_t)json_integer_value(g);
    }
    p->n_additional_gids = n;
  }
  return 0;
}

static int parse_rlimits(json_t *arr, struct lc_process *p, struct berr *err)
{
  size_t n = json_array_size(arr);
  if (!n)
    return 0;
  p->rlimits = calloc(n, sizeof(*p->rlimits));
  if (!p->rlimits)
    return berr_set(err, ENOMEM, "rlimits");
  for (size_t i = 0; i < n; i++) {
    json_t *r = json_array_get(arr, i);
    const char *type = NULL;
    int64_t soft = 0, hard = 0;
    if (bjson_get_str(r, "type", true, &type, "process.rlimits[]", err) < 0 ||
        bjson_get_int(r, "soft", true, &soft, "process.rlimits[]", err) < 0 ||
        bjson_get_int(r, "hard", true, &hard, "process.rlimits[]", err) < 0)
      return -EINVAL;
    int res = lc_rlimit_from_name(type);
    if (res < 0)
      return berr_set(err, 0, "process.rlimits: unknown rlimit type %s", type);
    for (size_t k = 0; k < i; k++)
      if (p->rlimits[k].resource == res)
        return berr_set(err, 0, "process.rlimits: duplicate type %s", type);
    /* JSON carries unsigned 64-bit values; -1 and huge values both mean unlimited. */
    p->rlimits[i].resource = res;
    p->rlimits[i].limit.rlim_cur = soft < 0 ? RLIM_INFINITY : (rlim_t)soft;
    p->rlimits[i].limit.rlim_max = hard < 0 ? RLIM_INFINITY : (rlim_t)hard;
    if (p->rlimits[i].limit.rlim_cur > p->rlimits[i].limit.rlim_max)
      return berr_set(err, 0, "process.rlimits: %s soft limit is above the hard limit", type);
  }
  p->n_rlimits = n;
  return 0;
}

int lc_process_parse(json_t *proc, struct lc_process *p, struct berr *err)
{
  const char *cwd = "/";
  json_t *args = NULL, *env = NULL, *caps = NULL, *rlimits = NULL, *console = NULL;
  int64_t oom = 0;

  memset(p, 0, sizeof(*p));
  if (!json_is_object(proc))
    return berr_set(err, 0, "process: expected an object");
  if (bjson_get_typed(proc, "args", JSON_ARRAY, true, &args, "process", err) < 0 ||
      bjson_get_typed(proc, "env", JSON_ARRAY, false, &env, "process", err) < 0 ||
      bjson_get_str(proc, "cwd", false, &cwd, "process", err) < 0 ||
      bjson_get_bool(proc, "terminal", false, &p->terminal, "process", err) < 0 ||
      bjson_get_bool(proc, "noNewPrivileges", false, &p->no_new_privileges, "process", err) < 0 ||
      bjson_get_typed(proc, "capabilities", JSON_OBJECT, false, &caps, "process", err) < 0 ||
      bjson_get_typed(proc, "rlimits", JSON_ARRAY, false, &rlimits, "process", err) < 0 ||
      bjson_get_typed(proc, "consoleSize", JSON_OBJECT, false, &console, "process", err) < 0)
    return -EINVAL;
  if (json_array_size(args) == 0)
    return berr_set(err, 0, "process.args must not be empty");
  if (bjson_strv(args, &p->args, "process.args", err) < 0 ||
      bjson_strv(env, &p->env, "process.env", err) < 0)
    return -EINVAL;
  for (char **e = p->env; *e; e++)
    if (!strchr(*e, '='))
      return berr_set(err, 0, "process.env: %s is not of the form KEY=VALUE", *e);
  if (cwd[0] != '/')
    return berr_set(err, 0, "process.cwd: %s is not an absolute path", cwd);
  if (dup_str(&p->cwd, cwd, err) < 0)
    return -ENOMEM;
  if (parse_user(json_object_get(proc, "user"), p, err) < 0)
    return -EINVAL;
  if (caps) {
    if (lc_caps_parse(caps, &p->caps, err) < 0)
      return berr_wrap(err, "process.capabilities");
    p->has_caps = true;
  }
  if (parse_rlimits(rlimits, p, err) < 0)
    return -EINVAL;
  if (json_object_get(proc, "oomScoreAdj")) {
    if (bjson_get_int(proc, "oomScoreAdj", false, &oom, "process", err) < 0)
      return -EINVAL;
    if (oom < -1000 || oom > 1000)
      return berr_set(err, 0, "process.oomScoreAdj: %lld is out of range", (long long)oom);
    p->oom_score_adj = (int)oom;
    p->has_oom_score_adj = true;
  }
  if (console) {
    int64_t h = 0, w = 0;
    bjson_get_int(console, "height", false, &h, "process.consoleSize", err);
    bjson_get_int(console, "width", false, &w, "process.consoleSize", err);
    p->console_rows = (unsigned short)h;
    p->console_cols = (unsigned short)w;
  }
  return 0;
}

void lc_process_clear(struct lc_process *p)
{
  strvfreep(&p->args);
  strvfreep(&p->env);
  free(p->cwd);
  free(p->additional_gids);
  free(p->rlimits);
  memset(p, 0, sizeof(*p));
}

static int parse_namespaces(json_t *arr, struct lc_config *c, struct berr *err)
{
  size_t i;
  json_t *ns;
  json_array_foreach(arr, i, ns)
  {
    const char *type = NULL, *path = NULL;
    if (bjson_get_str(ns, "type", true, &type, "linux.namespaces[]", err) < 0 ||
        bjson_get_str(ns, "path", false, &path, "linux.namespaces[]", err) < 0)
      return -EINVAL;
    int t = -1;
    for (int k = 0; k < LC_NS_COUNT; k++)
      if (strcmp(type, ns_table[k].spec_name) == 0)
        t = k;
    if (t < 0)
      return berr_set(err, 0, "linux.namespaces: unknown namespace type %s", type);
    if (c->ns[t].enabled)
      return berr_set(err, 0, "linux.namespaces: duplicate namespace %s", type);
    c->ns[t].enabled = true;
    if (path && *path) {
      if (path[0] != '/')
        return berr_set(err, 0, "linux.namespaces: %s path %s is not absolute", type, path);
      if (access(path, F_OK) < 0)
        return berr_errno(err, "linux.namespaces: %s path %s", type, path);
      if (dup_str(&c->ns[t].path, path, err) < 0)
        return -ENOMEM;
    }
  }
  return 0;
}

static int parse_idmaps(json_t *arr, struct lc_idmap **out, size_t *n, const char *what,
                        struct berr *err)
{
  size_t len = json_array_size(arr);
  if (!len)
    return 0;
  *out = calloc(len, sizeof(**out));
  if (!*out)
    return berr_set(err, ENOMEM, "%s", what);
  for (size_t i = 0; i < len; i++) {
    json_t *m = json_array_get(arr, i);
    int64_t cid = 0, hid = 0, size = 0;
    if (bjson_get_int(m, "containerID", true, &cid, what, err) < 0 ||
        bjson_get_int(m, "hostID", true, &hid, what, err) < 0 ||
        bjson_get_int(m, "size", true, &size, what, err) < 0)
      return -EINVAL;
    if (cid < 0 || hid < 0 || size <= 0 || cid + size > UINT32_MAX || hid + size > UINT32_MAX)
      return berr_set(err, 0, "%s[%zu]: invalid mapping", what, i);
    (*out)[i] = (struct lc_idmap){(unsigned)cid, (unsigned)hid, (unsigned)size};
  }
  *n = len;
  return 0;
}

static int parse_mounts(json_t *arr, struct lc_config *c, struct berr *err)
{
  size_t n = json_array_size(arr);
  if (arr && !json_is_array(arr))
    return berr_set(err, 0, "mounts: expected an array");
  if (!n)
    return 0;
  c->mounts = calloc(n, sizeof(*c->mounts));
  if (!c->mounts)
    return berr_set(err, ENOMEM, "mounts");
  for (size_t i = 0; i < n; i++) {
    json_t *m = json_array_get(arr, i);
    struct lc_mount *lm = &c->mounts[i];
    const char *dest = NULL, *type = NULL, *source = NULL;
    c->n_mounts = i + 1;
    if (bjson_get_str(m, "destination", true, &dest, "mounts[]", err) < 0 ||
        bjson_get_str(m, "type", false, &type, "mounts[]", err) < 0 ||
        bjson_get_str(m, "source", false, &source, "mounts[]", err) < 0)
      return -EINVAL;
    if (dest[0] != '/')
      return berr_set(err, 0, "mounts: destination %s is not an absolute path", dest);
    if (dup_str(&lm->destination, dest, err) < 0 || dup_str(&lm->type, type, err) < 0 ||
        dup_str(&lm->source, source, err) < 0)
      return -ENOMEM;
    if (lc_mount_parse_options(json_object_get(m, "options"), lm, err) < 0)
      return -EINVAL;
    if (type && strcmp(type, "bind") == 0 && !lm->bind) {
      lm->bind = true;
      lm->flags |= MS_BIND;
    }
    if (lm->bind && (!source || !*source))
      return berr_set(err, 0, "mounts: bind mount on %s has no source", dest);
    if (!lm->bind && (!type || !*type))
      return berr_set(err, 0, "mounts: mount on %s has no type", dest);
  }
  return 0;
}

static int parse_devices(json_t *arr, struct lc_config *c, struct berr *err)
{
  size_t n = json_array_size(arr);
  if (!n)
    return 0;
  c->devices = calloc(n, sizeof(*c->devices));
  if (!c->devices)
    return berr_set(err, ENOMEM, "devices");
  for (size_t i = 0; i < n; i++) {
    json_t *d = json_array_get(arr, i);
    struct lc_device *ld = &c->devices[i];
    const char *path = NULL, *type = NULL;
    int64_t major = 0, minor = 0, mode = 0666, uid = 0, gid = 0;
    c->n_devices = i + 1;
    if (bjson_get_str(d, "path", true, &path, "linux.devices[]", err) < 0 ||
        bjson_get_str(d, "type", true, &type, "linux.devices[]", err) < 0 ||
        bjson_get_int(d, "major", false, &major, "linux.devices[]", err) < 0 ||
        bjson_get_int(d, "minor", false, &minor, "linux.devices[]", err) < 0 ||
        bjson_get_int(d, "fileMode", false, &mode, "linux.devices[]", err) < 0 ||
        bjson_get_int(d, "uid", false, &uid, "linux.devices[]", err) < 0 ||
        bjson_get_int(d, "gid", false, &gid, "linux.devices[]", err) < 0)
      return -EINVAL;
    if (path[0] != '/')
      return berr_set(err, 0, "linux.devices: path %s is not absolute", path);
    if (strlen(type) != 1 || !strchr("cbup", type[0]))
      return berr_set(err, 0, "linux.devices: %s has invalid type %s", path, type);
    if (dup_str(&ld->path, path, err) < 0)
      return -ENOMEM;
    ld->type = type[0];
    ld->major = (unsigned)major;
    ld->minor = (unsigned)minor;
    ld->mode = (mode_t)(mode & 07777);
    ld->uid = (uid_t)uid;
    ld->gid = (gid_t)gid;
  }
  return 0;
}

/* Only namespaced sysctls may be set, and only when the container has that namespace. */
static int check_sysctls(json_t *sysctl, const struct lc_config *c, struct berr *err)
{
  const char *key;
  json_t *v;
  if (sysctl && !json_is_object(sysctl))
    return berr_set(err, 0, "linux.sysctl: expected an object");
  json_object_foreach(sysctl, key, v)
  {
    if (!json_is_string(v))
      return berr_set(err, 0, "linux.sysctl.%s: expected a string", key);
    if (strstr(key, "..") || key[0] == '.' || key[0] == '/')
      return berr_set(err, 0, "linux.sysctl: invalid key %s", key);
    bool ipc = strncmp(key, "kernel.msg", 10) == 0 || strncmp(key, "kernel.sem", 10) == 0 ||
               strncmp(key, "kernel.shm", 10) == 0 || strncmp(key, "fs.mqueue.", 10) == 0;
    bool net = strncmp(key, "net.", 4) == 0;
    bool uts = strcmp(key, "kernel.hostname") == 0 || strcmp(key, "kernel.domainname") == 0;
    if (ipc && !c->ns[LC_NS_IPC].enabled)
      return berr_set(err, 0, "sysctl %s requires a private IPC namespace", key);
    if (net && !c->ns[LC_NS_NET].enabled)
      return berr_set(err, 0, "sysctl %s requires a private network namespace", key);
    if (uts && !c->ns[LC_NS_UTS].enabled)
      return berr_set(err, 0, "sysctl %s requires a private UTS namespace", key);
    if (!ipc && !net && !uts)
      return berr_set(err, 0, "sysctl %s is not in a separate kernel namespace", key);
  }
  return 0;
}

/* Like runc, the default devices (and the spec's own device nodes) stay usable whatever
 * the device rules say: allow rules go after the spec's, so they win. */
static json_t *device_rules_with_defaults(json_t *resources, const struct lc_config *c)
{
  static const char *const defaults[] = {"c:-1:-1:m", "b:-1:-1:m",    "c:1:3:rwm", "c:1:8:rwm",
                                         "c:1:7:rwm", "c:5:0:rwm",    "c:1:5:rwm", "c:1:9:rwm",
                                         "c:5:1:rwm", "c:136:-1:rwm", "c:5:2:rwm", "c:10:200:rwm"};
  json_t *res = resources ? json_deep_copy(resources) : json_object();
  json_t *devs = json_object_get(res, "devices");
  if (!json_is_array(devs)) {
    devs = json_array();
    json_object_set_new(res, "devices", devs);
  }
  for (size_t i = 0; i < ARRAY_SIZE(defaults); i++) {
    char type[2] = {defaults[i][0], 0}, access[4];
    int major, minor;
    sscanf(defaults[i] + 2, "%d:%d:%3s", &major, &minor, access);
    json_t *rule = json_pack("{s:b,s:s,s:s}", "allow", 1, "type", type, "access", access);
    if (major >= 0)
      json_object_set_new(rule, "major", json_integer(major));
    if (minor >= 0)
      json_object_set_new(rule, "minor", json_integer(minor));
    json_array_append_new(devs, rule);
  }
  for (size_t i = 0; i < c->n_devices; i++) {
    const struct lc_device *d = &c->devices[i];
    char type[2] = {d->type == 'u' ? 'c' : d->type, 0};
    if (d->type != 'p')
      json_array_append_new(devs,
                            json_pack("{s:b,s:s,s:i,s:i,s:s}", "allow", 1, "type", type, "major",
                                      (int)d->major, "minor", (int)d->minor, "access", "rwm"));
  }
  return res;
}

static int parse_linux(json_t *linux_, struct lc_config *c, struct berr *err)
{
  json_t *arr = NULL;
  const char *s = NULL;
  if (!json_is_object(linux_))
    return berr_set(err, 0, "config.json: the linux section is missing");
  if (bjson_get_typed(linux_, "namespaces", JSON_ARRAY, false, &arr, "linux", err) < 0 ||
      parse_namespaces(arr, c, err) < 0)
    return -EINVAL;
  if (bjson_get_typed(linux_, "uidMappings", JSON_ARRAY, false, &arr, "linux", err) < 0 ||
      parse_idmaps(arr, &c->uid_maps, &c->n_uid_maps, "linux.uidMappings", err) < 0)
    return -EINVAL;
  if (bjson_get_typed(linux_, "gidMappings", JSON_ARRAY, false, &arr, "linux", err) < 0 ||
      parse_idmaps(arr, &c->gid_maps, &c->n_gid_maps, "linux.gidMappings", err) < 0)
    return -EINVAL;
  if (c->ns[LC_NS_USER].enabled && !c->ns[LC_NS_USER].path && (!c->n_uid_maps || !c->n_gid_maps))
    return berr_set(err, 0, "a user namespace needs linux.uidMappings and linux.gidMappings");
  if (!c->ns[LC_NS_USER].enabled && (c->n_uid_maps || c->n_gid_maps))
    return berr_set(err, 0, "uid/gid mappings are given but no user namespace is");
  if (bjson_get_typed(linux_, "devices", JSON_ARRAY, false, &arr, "linux", err) < 0 ||
      parse_devices(arr, c, err) < 0)
    return -EINVAL;
  if (bjson_get_typed(linux_, "maskedPaths", JSON_ARRAY, false, &arr, "linux", err) < 0 ||
      bjson_strv(arr, &c->masked_paths, "linux.maskedPaths", err) < 0)
    return -EINVAL;
  if (bjson_get_typed(linux_, "readonlyPaths", JSON_ARRAY, false, &arr, "linux", err) < 0 ||
      bjson_strv(arr, &c->readonly_paths, "linux.readonlyPaths", err) < 0)
    return -EINVAL;
  s = NULL;
  if (bjson_get_str(linux_, "rootfsPropagation", false, &s, "linux", err) < 0)
    return -EINVAL;
  if (s && *s && lc_propagation_from_name(s, &c->rootfs_propagation) < 0)
    return berr_set(err, 0, "linux.rootfsPropagation: unknown value %s", s);
  s = NULL;
  if (bjson_get_str(linux_, "cgroupsPath", false, &s, "linux", err) < 0 ||
      dup_str(&c->cgroups_path, s, err) < 0)
    return -EINVAL;
  if (bjson_get_typed(linux_, "resources", JSON_OBJECT, false, &c->resources, "linux", err) < 0 ||
      bjson_get_typed(linux_, "sysctl", JSON_OBJECT, false, &c->sysctl, "linux", err) < 0)
    return -EINVAL;
  if (check_sysctls(c->sysctl, c, err) < 0)
    return -EINVAL;
  c->resources = device_rules_with_defaults(c->resources, c);
  if (!c->resources)
    return berr_set(err, ENOMEM, "linux.resources");
  json_t *seccomp = json_object_get(linux_, "seccomp");
  if (seccomp && !json_is_null(seccomp) && lc_seccomp_compile(seccomp, &c->seccomp, err) < 0)
    return berr_wrap(err, "linux.seccomp");
  return 0;
}

int lc_config_parse(json_t *json, const char *bundle, struct lc_config **out, struct berr *err)
{
  struct lc_config *c = calloc(1, sizeof(*c));
  json_t *root = NULL, *proc = NULL;
  const char *path = NULL, *version = NULL;
  char buf[PATH_MAX];
  if (!c)
    return berr_set(err, ENOMEM, "config");
  c->json = json_incref(json);
  int r = -EINVAL;

  if (!realpath(bundle, buf)) {
    r = berr_errno(err, "bundle %s", bundle);
    goto fail;
  }
  if (dup_str(&c->bundle, buf, err) < 0)
    goto fail;
  if (!json_is_object(json)) {
    r = berr_set(err, 0, "config.json: expected a JSON object");
    goto fail;
  }
  if (bjson_get_str(json, "ociVersion", true, &version, "config", err) < 0)
    goto fail;
  if (strncmp(version, "1.", 2) != 0) {
    r = berr_set(err, 0, "config.json: unsupported ociVersion %s", version);
    goto fail;
  }
  if (bjson_get_typed(json, "root", JSON_OBJECT, true, &root, "config", err) < 0 ||
      bjson_get_str(root, "path", true, &path, "root", err) < 0 ||
      bjson_get_bool(root, "readonly", false, &c->rootfs_readonly, "root", err) < 0)
    goto fail;
  if (path[0] == '/')
    snprintf(buf, sizeof(buf), "%s", path);
  else
    snprintf(buf, sizeof(buf), "%s/%s", c->bundle, path);
  struct stat st;
  if (stat(buf, &st) < 0) {
    r = berr_errno(err, "rootfs %s", buf);
    goto fail;
  }
  if (!S_ISDIR(st.st_mode)) {
    r = berr_set(err, ENOTDIR, "rootfs %s", buf);
    goto fail;
  }
  char real[PATH_MAX];
  if (!realpath(buf, real) || dup_str(&c->rootfs, real, err) < 0) {
    r = berr_errno(err, "rootfs %s", buf);
    goto fail;
  }
  if (bjson_get_typed(json, "process", JSON_OBJECT, false, &proc, "config", err) < 0)
    goto fail;
  if (proc && lc_process_parse(proc, &c->process, err) < 0)
    goto fail;
  if (!proc) {
    r = berr_set(err, 0, "config.json: process is missing");
    goto fail;
  }
  if (parse_linux(json_object_get(json, "linux"), c, err) < 0)
    goto fail;
  if (parse_mounts(json_object_get(json, "mounts"), c, err) < 0)
    goto fail;
  const char *hn = NULL, *dn = NULL;
  if (bjson_get_str(json, "hostname", false, &hn, "config", err) < 0 ||
      bjson_get_str(json, "domainname", false, &dn, "config", err) < 0 ||
      dup_str(&c->hostname, hn, err) < 0 || dup_str(&c->domainname, dn, err) < 0)
    goto fail;
  if ((hn && *hn) || (dn && *dn)) {
    if (!c->ns[LC_NS_UTS].enabled) {
      r = berr_set(err, 0, "unable to set hostname without a private UTS namespace");
      goto fail;
    }
  }
  if (bjson_get_typed(json, "hooks", JSON_OBJECT, false, &c->hooks, "config", err) < 0 ||
      bjson_get_typed(json, "annotations", JSON_OBJECT, false, &c->annotations, "config", err) < 0)
    goto fail;
  *out = c;
  return 0;
fail:
  lc_config_free(c);
  return r < 0 ? r : -EINVAL;
}

int lc_config_load(const char *bundle, struct lc_config **out, struct berr *err)
{
  char path[PATH_MAX];
  snprintf(path, sizeof(path), "%s/config.json", bundle);
  json_t *j = NULL;
  if (bjson_load_file(path, &j, err) < 0)
    return -EINVAL;
  int r = lc_config_parse(j, bundle, out, err);
  json_decref(j);
  return r;
}

void lc_config_free(struct lc_config *c)
{
  if (!c)
    return;
  json_decref(c->json);
  free(c->bundle);
  free(c->rootfs);
  lc_process_clear(&c->process);
  for (int i = 0; i < LC_NS_COUNT; i++)
    free(c->ns[i].path);
  free(c->uid_maps);
  free(c->gid_maps);
  free(c->hostname);
  free(c->domainname);
  for (size_t i = 0; i < c->n_mounts; i++) {
    free(c->mounts[i].destination);
    free(c->mounts[i].type);
    free(c->mounts[i].source);
    free(c->mounts[i].data);
  }
  free(c->mounts);
  for (size_t i = 0; i < c->n_devices; i++)
    free(c->devices[i].path);
  free(c->devices);
  strvfreep(&c->masked_paths);
  strvfreep(&c->readonly_paths);
  free(c->cgroups_path);
  json_decref(c->resources);
  lc_seccomp_free(c->seccomp);
  free(c);
}
