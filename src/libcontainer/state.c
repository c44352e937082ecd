/* State directory, status derivation and the OCI state JSON. */
#include "state.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroups/cgroup.h"
#include "common/bjson.h"
#include "common/cleanup.h"
#include "common/fileutil.h"

int lc_id_validate(const char *id, struct berr *err)
{
  size_t n = strlen(id);
  if (n == 0 || n > 1024)
    return berr_set(err, 0, "invalid container id \"%s\"", id);
  for (size_t i = 0; i < n; i++) {
    char ch = id[i];
    bool ok =
        isalnum((unsigned char)ch) || ch == '_' || ch == '+' || ch == '-' || (ch == '.' && i > 0);
    if (!ok)
      return berr_set(err, 0, "invalid container id \"%s\"", id);
  }
  if (strcmp(id, ".") == 0 || strcmp(id, "..") == 0)
    return berr_set(err, 0, "invalid container id \"%s\"", id);
  return 0;
}

int lc_state_dir_path(const char *root, const char *id, char *buf, size_t len)
{
  return snprintf(buf, len, "%s/%s", root, id) >= (int)len ? -ENAMETOOLONG : 0;
}

int lc_proc_start_time(pid_t pid, unsigned long long *out)
{
  char path[64], buf[1024];
  snprintf(path, sizeof(path), "/proc/%d/stat", pid);
  _cleanup_fclose_ FILE *f = fopen(path, "re");
  if (!f)
    return -errno;
  if (!fgets(buf, sizeof(buf), f))
    return -EIO;
  /* comm may hold spaces and parens: fields resume after the last ')'. */
  char *p = strrchr(buf, ')');
  if (!p)
    return -EIO;
  char state;
  unsigned long long start;
  if (sscanf(p + 2,
             "%c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
             &state, &start) != 2)
    return -EIO;
  if (state == 'Z' || state == 'X')
    return -ESRCH;
  *out = start;
  return 0;
}

bool lc_pid_alive(pid_t pid, unsigned long long start_time)
{
  unsigned long long now;
  if (pid <= 0)
    return false;
  if (lc_proc_start_time(pid, &now) < 0)
    return false;
  return start_time == 0 || now == start_time;
}

int lc_state_load(const char *root, const char *id, struct lc_state **out, struct berr *err)
{
  char dir[PATH_MAX], path[PATH_MAX];
  if (lc_id_validate(id, err) < 0)
    return -EINVAL;
  lc_state_dir_path(root, id, dir, sizeof(dir));
  snprintf(path, sizeof(path), "%s/state.json", dir);
  if (access(path, F_OK) < 0)
    return berr_set(err, ENOENT, "container \"%s\" does not exist", id);
  json_t *j = NULL;
  if (bjson_load_file(path, &j, err) < 0)
    return berr_wrap(err, "container \"%s\"", id);
  struct lc_state *s = calloc(1, sizeof(*s));
  if (!s) {
    json_decref(j);
    return berr_set(err, ENOMEM, "state");
  }
  s->json = j;
  s->id = strdup(id);
  s->dir = strdup(dir);
  s->pid = (pid_t)json_integer_value(json_object_get(j, "pid"));
  s->start_time = (unsigned long long)json_integer_value(json_object_get(j, "start_time"));
  s->config = json_object_get(j, "config");
  s->bundle = json_string_value(json_object_get(j, "bundle"));
  s->rootfs = json_string_value(json_object_get(j, "rootfs"));
  s->created = json_string_value(json_object_get(j, "created"));
  *out = s;
  return 0;
}

void lc_state_free(struct lc_state *s)
{
  if (!s)
    return;
  json_decref(s->json);
  free(s->id);
  free(s->dir);
  free(s);
}

int lc_state_write(const char *dir, json_t *state, struct berr *err)
{
  char path[PATH_MAX];
  snprintf(path, sizeof(path), "%s/state.json", dir);
  _cleanup_free_ char *text = json_dumps(state, JSON_COMPACT);
  if (!text)
    return berr_set(err, ENOMEM, "state");
  return bf_write_atomic_volatile(path, text, strlen(text), 0600, err);
}

const char *lc_state_status(const struct lc_state *s, struct lc_cgroup *cg)
{
  char fifo[PATH_MAX];
  if (!lc_pid_alive(s->pid, s->start_time))
    return "stopped";
  snprintf(fifo, sizeof(fifo), "%s/exec.fifo", s->dir);
  if (access(fifo, F_OK) == 0)
    return "created";
  bool frozen = false;
  struct berr err;
  if (cg && lc_cgroup_is_frozen(cg, &frozen, &err) == 0 && frozen)
    return "paused";
  return "running";
}

json_t *lc_state_oci(const struct lc_state *s, const char *status)
{
  bool stopped = strcmp(status, "stopped") == 0;
  json_t *annotations = json_object_get(s->config, "annotations");
  json_t *j = json_pack("{s:s,s:s,s:i,s:s,s:s,s:s,s:s,s:s}", "ociVersion", "1.0.2", "id", s->id,
                        "pid", stopped ? 0 : (int)s->pid, "status", status, "bundle",
                        s->bundle ? s->bundle : "", "rootfs", s->rootfs ? s->rootfs : "", "created",
                        s->created ? s->created : "", "owner", "");
  if (j && json_is_object(annotations))
    json_object_set(j, "annotations", annotations);
  return j;
}

static int cmp_str(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

int lc_state_list(const char *root, char ***ids, struct berr *err)
{
  _cleanup_closedir_ DIR *d = opendir(root);
  size_t n = 0, cap = 16;
  char **v = calloc(cap + 1, sizeof(char *));
  if (!v)
    return berr_set(err, ENOMEM, "list");
  if (!d) {
    if (errno == ENOENT) {
      *ids = v;
      return 0;
    }
    free(v);
    return berr_errno(err, "open %s", root);
  }
  struct dirent *e;
  while ((e = readdir(d))) {
    char path[PATH_MAX];
    if (e->d_name[0] == '.')
      continue;
    snprintf(path, sizeof(path), "%s/%s/state.json", root, e->d_name);
    if (access(path, F_OK) < 0)
      continue;
    if (n == cap) {
      cap *= 2;
      char **nv = realloc(v, (cap + 1) * sizeof(char *));
      if (!nv) {
        strvfreep(&v);
        return berr_set(err, ENOMEM, "list");
      }
      v = nv;
    }
    v[n++] = strdup(e->d_name);
    v[n] = NULL;
  }
  qsort(v, n, sizeof(char *), cmp_str);
  *ids = v;
  return 0;
}
