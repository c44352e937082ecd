/* The local volume driver and its table in berth.db: create, look up, list, remove, and the
 * first-use mount of volumes created with type/device/o options (tmpfs, bind, devices). */
#include "volumes.h"

#include <errno.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fileutil.h"
#include "container.h"
#include "engine_internal.h"
#include "userns.h"

static int sql_err(struct engine *e, struct berr *err, const char *what)
{
  return berr_set(err, EIO, "%s: %s", what, sqlite3_errmsg(e->db));
}

/* The table is made on first use, so the container repository needs no knowledge of it. */
static int ensure_table(struct engine *e, struct berr *err)
{
  if (!e->db)
    return berr_set(err, EIO, "volumes: no database");
  if (sqlite3_exec(e->db,
                   "CREATE TABLE IF NOT EXISTS volumes (name TEXT PRIMARY KEY, doc TEXT NOT NULL);",
                   NULL, NULL, NULL) != SQLITE_OK)
    return sql_err(e, err, "volume table");
  return 0;
}

static int not_found(struct berr *err, const char *op, const char *name)
{
  berr_set(err, 0, "%s %s: no such volume", op, name);
  err->code = ENOENT;
  return -ENOENT;
}

bool vol_name_valid(const char *name)
{
  /* moby's volume name rule: [a-zA-Z0-9][a-zA-Z0-9_.-]+ */
  size_t n = strlen(name);
  if (n < 2 || n > 255)
    return false;
  for (size_t i = 0; i < n; i++) {
    char ch = name[i];
    bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
    if (!alnum && (i == 0 || (ch != '_' && ch != '.' && ch != '-')))
      return false;
  }
  return true;
}

bool vol_is_anonymous(json_t *vol)
{
  return json_object_get(json_object_get(vol, "Labels"), VOL_ANON_LABEL) != NULL;
}

static void vol_dir(struct engine *e, const char *name, const char *sub, char *buf, size_t len)
{
  snprintf(buf, len, "%s/volumes/%s%s", e->cfg.data_root, name, sub);
}

int vol_get(struct engine *e, const char *name, json_t **out, struct berr *err)
{
  if (ensure_table(e, err) < 0)
    return -err->code;
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(e->db, "SELECT doc FROM volumes WHERE name = ?1", -1, &st, NULL) !=
      SQLITE_OK)
    return sql_err(e, err, "get volume");
  sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
  json_t *doc = NULL;
  if (sqlite3_step(st) == SQLITE_ROW) {
    const char *text = (const char *)sqlite3_column_text(st, 0);
    doc = text ? json_loads(text, 0, NULL) : NULL;
  }
  sqlite3_finalize(st);
  if (!doc)
    return not_found(err, "get", name);
  *out = doc;
  return 0;
}

static int vol_save(struct engine *e, json_t *doc, struct berr *err)
{
  _cleanup_free_ char *text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
  if (!text)
    return berr_set(err, ENOMEM, "serialize volume");
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(e->db, "INSERT OR REPLACE INTO volumes(name, doc) VALUES(?1, ?2)", -1, &st,
                         NULL) != SQLITE_OK)
    return sql_err(e, err, "save volume");
  sqlite3_bind_text(st, 1, json_string_value(json_object_get(doc, "Name")), -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, text, -1, SQLITE_STATIC);
  int r = sqlite3_step(st) == SQLITE_DONE ? 0 : sql_err(e, err, "save volume");
  sqlite3_finalize(st);
  return r;
}

/* The local driver's options, checked as moby's local driver does. */
static int check_opts(json_t *opts, struct berr *err)
{
  const char *k;
  json_t *v;
  json_object_foreach(opts, k, v)
  {
    if (strcmp(k, "type") && strcmp(k, "device") && strcmp(k, "o") && strcmp(k, "size"))
      return berr_set(err, 0, "invalid option: \"%s\"", k);
    if (!json_is_string(v))
      return berr_set(err, 0, "invalid option %s: not a string", k);
  }
  const char *type = json_string_value(json_object_get(opts, "type"));
  const char *dev = json_string_value(json_object_get(opts, "device"));
  if ((type && *type) != (dev && *dev) && !(type && strcmp(type, "tmpfs") == 0))
    return berr_set(err, 0, "missing required option: \"%s\"", type && *type ? "device" : "type");
  return 0;
}

int vol_create(struct engine *e, const char *name, const char *driver, json_t *labels, json_t *opts,
               bool anonymous, json_t **out, struct berr *err)
{
  if (ensure_table(e, err) < 0)
    return -err->code;
  if (driver && *driver && strcmp(driver, "local") != 0) {
    berr_set(err, 0, "error looking up volume plugin %s: plugin \"%s\" not found", driver, driver);
    err->code = ENOENT;
    return -ENOENT;
  }
  char gen[65];
  if (!name || !*name) {
    unsigned char b[32];
    if (getrandom(b, sizeof(b), 0) != sizeof(b))
      return berr_errno(err, "volume name");
    for (size_t i = 0; i < 32; i++)
      snprintf(gen + 2 * i, 3, "%02x", b[i]);
    name = gen;
    anonymous = true;
  } else if (!vol_name_valid(name)) {
    return berr_set(err, 0,
                    "create %s: \"%s\" includes invalid characters for a local volume name, only "
                    "\"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host "
                    "directory, use absolute path",
                    name, name);
  }
  struct berr ignored;
  if (vol_get(e, name, out, &ignored) == 0)
    return 0;
  if (opts && !json_is_object(opts))
    opts = NULL;
  if (labels && !json_is_object(labels))
    labels = NULL;
  if (check_opts(opts, err) < 0)
    return berr_wrap(err, "create %s", name);
  char data[PATH_MAX], dir[PATH_MAX], created[64];
  vol_dir(e, name, "", dir, sizeof(dir));
  vol_dir(e, name, "/_data", data, sizeof(data));
  /* _data is 0755 root as Docker makes it; the volume directory keeps others out. */
  if (bf_mkdir_p(dir, 0701, err) < 0 || bf_mkdir_p(data, 0755, err) < 0)
    return berr_wrap(err, "create %s", name);
  /* --userns-remap: the remapped root owns _data, as dockerd makes it. */
  if (e->cfg.userns && chown(data, e->cfg.userns->uid, e->cfg.userns->gid) < 0) {
    int r = berr_errno(err, "create %s: chown %s", name, data);
    bf_rm_rf(dir, &ignored);
    return r;
  }
  ctr_now(created, sizeof(created));
  /* Docker shows seconds: "2024-01-02T03:04:05Z". */
  char *dot = strchr(created, '.');
  if (dot)
    strcpy(dot, "Z");
  json_t *lab = labels ? json_deep_copy(labels) : json_object();
  if (anonymous)
    json_object_set_new(lab, VOL_ANON_LABEL, json_string(""));
  json_t *doc = json_pack("{s:s,s:s,s:s,s:s,s:o,s:o,s:s}", "Name", name, "Driver", "local",
                          "Mountpoint", data, "CreatedAt", created, "Labels", lab, "Options",
                          opts && json_object_size(opts) ? json_deep_copy(opts) : json_null(),
                          "Scope", "local");
  if (!doc)
    return berr_set(err, ENOMEM, "volume");
  if (vol_save(e, doc, err) < 0) {
    json_decref(doc);
    bf_rm_rf(dir, &ignored);
    return berr_wrap(err, "create %s", name);
  }
  *out = doc;
  return 0;
}

json_t *vol_list(struct engine *e, struct berr *err)
{
  json_t *a = json_array();
  if (ensure_table(e, err) < 0)
    return a;
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(e->db, "SELECT doc FROM volumes ORDER BY name", -1, &st, NULL) !=
      SQLITE_OK)
    return a;
  while (sqlite3_step(st) == SQLITE_ROW) {
    const char *text = (const char *)sqlite3_column_text(st, 0);
    json_t *doc = text ? json_loads(text, 0, NULL) : NULL;
    if (doc)
      json_array_append_new(a, doc);
  }
  sqlite3_finalize(st);
  return a;
}

json_t *vol_users(struct engine *e, const char *name)
{
  json_t *ids = json_array();
  for (size_t i = 0; i < e->n_ctrs; i++) {
    struct container *c = e->ctrs[i];
    if (c->removed)
      continue;
    size_t k;
    json_t *m;
    json_array_foreach(json_object_get(c->doc, "Mounts"), k, m)
    {
      const char *t = json_string_value(json_object_get(m, "Type"));
      const char *n = json_string_value(json_object_get(m, "Name"));
      if (t && n && strcmp(t, "volume") == 0 && strcmp(n, name) == 0) {
        json_array_append_new(ids, json_string(c->id));
        break;
      }
    }
  }
  return ids;
}

/* Is path a mount point? (a bind of the same filesystem keeps st_dev: ask mountinfo). */
static bool is_mountpoint(const char *path)
{
  _cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
  if (!f)
    return false;
  char line[8192];
  while (fgets(line, sizeof(line), f)) {
    char mp[4096];
    if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) == 1 && strcmp(mp, path) == 0)
      return true;
  }
  return false;
}

static bool has_mount_opts(json_t *vol)
{
  json_t *o = json_object_get(vol, "Options");
  return json_string_value(json_object_get(o, "type")) ||
         json_string_value(json_object_get(o, "device"));
}

static void unmount_data(const char *data)
{
  while (is_mountpoint(data))
    if (umount2(data, MNT_DETACH) < 0)
      break;
}

int vol_mount(struct engine *e, const char *name, char **path, struct berr *err)
{
  json_auto_t *vol = NULL;
  if (vol_get(e, name, &vol, err) < 0)
    return -err->code;
  const char *data = json_string_value(json_object_get(vol, "Mountpoint"));
  if (!data)
    return berr_set(err, 0, "volume %s has no mount point", name);
  if (has_mount_opts(vol) && !is_mountpoint(data)) {
    json_t *o = json_object_get(vol, "Options");
    const char *type = json_string_value(json_object_get(o, "type"));
    const char *dev = json_string_value(json_object_get(o, "device"));
    const char *mo = json_string_value(json_object_get(o, "o"));
    const char *size = json_string_value(json_object_get(o, "size"));
    /* "o" holds both flags (bind, ro, ...) and filesystem data, as mount(8) takes it. */
    unsigned long flags = 0;
    _cleanup_free_ char *dataopt = NULL;
    if (mo && *mo) {
      _cleanup_free_ char *copy = strdup(mo);
      char *save = NULL;
      for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (strcmp(t, "bind") == 0)
          flags |= MS_BIND;
        else if (strcmp(t, "rbind") == 0)
          flags |= MS_BIND | MS_REC;
        else if (strcmp(t, "ro") == 0)
          flags |= MS_RDONLY;
        else if (strcmp(t, "nosuid") == 0)
          flags |= MS_NOSUID;
        else if (strcmp(t, "nodev") == 0)
          flags |= MS_NODEV;
        else if (strcmp(t, "noexec") == 0)
          flags |= MS_NOEXEC;
        else if (strcmp(t, "rw") != 0) {
          char *n = NULL;
          if (asprintf(&n, "%s%s%s", dataopt ? dataopt : "", dataopt ? "," : "", t) < 0)
            return berr_set(err, ENOMEM, "mount options");
          free(dataopt);
          dataopt = n;
        }
      }
    }
    if (size && *size) {
      char *n = NULL;
      if (asprintf(&n, "%s%ssize=%s", dataopt ? dataopt : "", dataopt ? "," : "", size) < 0)
        return berr_set(err, ENOMEM, "mount options");
      free(dataopt);
      dataopt = n;
    }
    const char *source = dev && *dev ? dev : (type ? type : "none");
    if (mount(source, data, (flags & MS_BIND) ? NULL : type, flags & ~MS_RDONLY, dataopt) < 0)
      return berr_errno(err, "error while mounting volume '%s'", data);
    if ((flags & MS_BIND) && (flags & MS_RDONLY) &&
        mount(NULL, data, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0) {
      int saved = errno;
      umount2(data, MNT_DETACH);
      errno = saved;
      return berr_errno(err, "error while mounting volume '%s' read-only", data);
    }
    if (!(flags & MS_BIND) && (flags & MS_RDONLY) &&
        mount(NULL, data, NULL, MS_REMOUNT | MS_RDONLY, dataopt) < 0) {
      int saved = errno;
      umount2(data, MNT_DETACH);
      errno = saved;
      return berr_errno(err, "error while mounting volume '%s' read-only", data);
    }
  }
  *path = strdup(data);
  return *path ? 0 : berr_set(err, ENOMEM, "volume path");
}

int vol_remove(struct engine *e, const char *name, bool force, struct berr *err)
{
  json_auto_t *vol = NULL;
  if (vol_get(e, name, &vol, err) < 0) {
    if (force && err->code == ENOENT)
      return 0;
    err->code = ENOENT;
    snprintf(err->msg, sizeof(err->msg), "get %s: no such volume", name);
    return -ENOENT;
  }
  json_auto_t *users = vol_users(e, name);
  if (json_array_size(users)) {
    _cleanup_free_ char *list = json_dumps(users, JSON_COMPACT);
    berr_set(err, 0, "remove %s: volume is in use - %s", name, list ? list : "");
    err->code = EBUSY;
    return -EBUSY;
  }
  char dir[PATH_MAX], data[PATH_MAX];
  vol_dir(e, name, "", dir, sizeof(dir));
  vol_dir(e, name, "/_data", data, sizeof(data));
  unmount_data(data);
  if (is_mountpoint(data))
    return berr_set(err, EBUSY, "remove %s: unmount %s", name, data);
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(e->db, "DELETE FROM volumes WHERE name = ?1", -1, &st, NULL) != SQLITE_OK)
    return sql_err(e, err, "remove volume");
  sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
  int r = sqlite3_step(st) == SQLITE_DONE ? 0 : sql_err(e, err, "remove volume");
  sqlite3_finalize(st);
  if (r < 0)
    return r;
  struct berr ignored;
  bf_rm_rf(dir, &ignored);
  return 0;
}

void vol_unmount(struct engine *e, const char *name)
{
  json_auto_t *vol = NULL;
  struct berr ignored;
  if (vol_get(e, name, &vol, &ignored) < 0 || !has_mount_opts(vol))
    return;
  const char *data = json_string_value(json_object_get(vol, "Mountpoint"));
  if (data)
    unmount_data(data);
}

void vol_unmount_all(struct engine *e)
{
  struct berr ignored;
  json_auto_t *all = vol_list(e, &ignored);
  size_t i;
  json_t *v;
  json_array_foreach(all, i, v)
  {
    const char *data = json_string_value(json_object_get(v, "Mountpoint"));
    if (data && has_mount_opts(v))
      unmount_data(data);
  }
}
