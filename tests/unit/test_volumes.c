/* The local volume driver and mount point resolution against a real SQLite database and the
 * real kernel: names, create/get/list/remove, anonymous volumes, Docker's Mounts shapes, a
 * refused request leaving nothing behind, and a tmpfs volume mounted at first use and
 * unmounted at removal. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "common/fileutil.h"
#include "engine/engine_internal.h"
#include "engine/mounts.h"
#include "engine/repository.h"
#include "engine/volumes.h"

static bool mounted(const char *path)
{
  FILE *f = fopen("/proc/self/mountinfo", "re");
  char line[8192], mp[4096];
  bool found = false;
  while (f && fgets(line, sizeof(line), f))
    if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) == 1 && strcmp(mp, path) == 0)
      found = true;
  if (f)
    fclose(f);
  return found;
}

static bool is_dir(const char *p)
{
  struct stat st;
  return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

int main(void)
{
  char root[] = "/tmp/berth-voltest-XXXXXX";
  CHECK(mkdtemp(root) != NULL);
  struct berr err = {0};
  struct engine *e = NULL;
  struct engine_config cfg = {.data_root = root, .exec_root = root, .storage_driver = "vfs"};
  CHECK(engine_new(&cfg, &e, &err) == 0);
  pthread_mutex_init(&e->lock, NULL);
  CHECK(repo_open(e, &err) == 0);

  CHECK(vol_name_valid("ab"));
  CHECK(vol_name_valid("a.b-c_d9"));
  CHECK(!vol_name_valid("a"));
  CHECK(!vol_name_valid("-ab"));
  CHECK(!vol_name_valid("a/b"));
  CHECK(!vol_name_valid("a:b"));

  /* create, create again (the same), get, list */
  json_t *labels = json_pack("{s:s}", "k", "v");
  json_t *v1 = NULL, *again = NULL, *got = NULL;
  CHECK(vol_create(e, "v1", "local", labels, NULL, false, &v1, &err) == 0);
  CHECK_STREQ(json_string_value(json_object_get(v1, "Name")), "v1");
  CHECK_STREQ(json_string_value(json_object_get(v1, "Driver")), "local");
  CHECK_STREQ(json_string_value(json_object_get(v1, "Scope")), "local");
  CHECK(json_equal(json_object_get(v1, "Labels"), labels));
  const char *mp = json_string_value(json_object_get(v1, "Mountpoint"));
  char want[4200];
  snprintf(want, sizeof(want), "%s/volumes/v1/_data", root);
  CHECK(mp && strcmp(mp, want) == 0);
  CHECK(is_dir(want));
  CHECK(vol_create(e, "v1", "local", NULL, NULL, false, &again, &err) == 0);
  CHECK(json_equal(again, v1));
  CHECK(vol_get(e, "v1", &got, &err) == 0 && json_equal(got, v1));
  json_decref(got);
  got = NULL;
  CHECK(vol_get(e, "nope", &got, &err) == -ENOENT);
  CHECK_STREQ(err.msg, "get nope: no such volume");
  json_decref(again);
  json_decref(labels);

  /* refused: bad name, unknown driver, unknown option; nothing made */
  CHECK(vol_create(e, "x/y", "local", NULL, NULL, false, &again, &err) < 0);
  CHECK(vol_create(e, "v2", "nosuch", NULL, NULL, false, &again, &err) == -ENOENT);
  json_t *bad = json_pack("{s:s}", "bogus", "1");
  CHECK(vol_create(e, "v2", "local", NULL, bad, false, &again, &err) < 0);
  json_decref(bad);
  snprintf(want, sizeof(want), "%s/volumes/v2", root);
  CHECK(!is_dir(want));

  /* anonymous */
  json_t *anon = NULL;
  CHECK(vol_create(e, NULL, "local", NULL, NULL, false, &anon, &err) == 0);
  CHECK(strlen(json_string_value(json_object_get(anon, "Name"))) == 64);
  CHECK(vol_is_anonymous(anon));
  CHECK(!vol_is_anonymous(v1));
  json_t *all = vol_list(e, &err);
  CHECK(json_array_size(all) == 2);
  json_decref(all);

  /* mount points: Docker's shapes; image volumes become anonymous volumes */
  json_t *config = json_pack("{s:{s:{},s:{}}}", "Volumes", "/anon", "/data");
  json_t *host = json_pack("{s:[s,s],s:[{s:s,s:s,s:b}]}", "Binds", "v1:/data:ro", "/tmp:/hosttmp",
                           "Mounts", "Type", "tmpfs", "Target", "/t", "ReadOnly", 0);
  json_t *mounts = NULL;
  CHECK(mounts_resolve(e, config, host, &mounts, &err) == 0);
  CHECK(json_array_size(mounts) == 4);
  json_t *m0 = json_array_get(mounts, 0), *m1 = json_array_get(mounts, 1);
  json_t *m2 = json_array_get(mounts, 2), *m3 = json_array_get(mounts, 3);
  CHECK_STREQ(json_string_value(json_object_get(m0, "Type")), "volume");
  CHECK_STREQ(json_string_value(json_object_get(m0, "Name")), "v1");
  CHECK(json_is_false(json_object_get(m0, "RW")));
  CHECK_STREQ(json_string_value(json_object_get(m0, "Mode")), "ro");
  CHECK_STREQ(json_string_value(json_object_get(m1, "Type")), "bind");
  CHECK_STREQ(json_string_value(json_object_get(m1, "Source")), "/tmp");
  CHECK_STREQ(json_string_value(json_object_get(m1, "Propagation")), "rprivate");
  CHECK_STREQ(json_string_value(json_object_get(m2, "Type")), "tmpfs");
  CHECK_STREQ(json_string_value(json_object_get(m3, "Destination")), "/anon");
  const char *anon2 = json_string_value(json_object_get(m3, "Name"));
  CHECK(anon2 && vol_get(e, anon2, &got, &err) == 0);
  json_decref(got);
  mounts_release(e, mounts); /* the anonymous one goes, v1 stays */
  CHECK(anon2 && vol_get(e, anon2, &got, &err) == -ENOENT);
  CHECK(vol_get(e, "v1", &got, &err) == 0);
  json_decref(got);
  json_decref(mounts);
  json_decref(host);

  /* a refused request: the named volume it made is gone again */
  host = json_pack("{s:[s,s]}", "Binds", "fresh:/x", "other:/x");
  CHECK(mounts_resolve(e, config, host, &mounts, &err) < 0);
  CHECK_STREQ(err.msg, "Duplicate mount point: /x");
  CHECK(vol_get(e, "fresh", &got, &err) == -ENOENT);
  json_decref(host);
  host = json_pack("{s:[{s:s,s:s,s:s}]}", "Mounts", "Type", "bind", "Source",
                   "/nonexistent-berth-src", "Target", "/x");
  CHECK(mounts_resolve(e, config, host, &mounts, &err) < 0);
  CHECK(strstr(err.msg, "bind source path does not exist") != NULL);
  CHECK(!is_dir("/nonexistent-berth-src"));
  json_decref(host);
  json_decref(config);

  /* a tmpfs volume: mounted at first use, unmounted at removal */
  json_t *opts = json_pack("{s:s,s:s,s:s}", "type", "tmpfs", "device", "tmpfs", "o", "size=1m");
  json_t *tv = NULL;
  CHECK(vol_create(e, "tv", "local", NULL, opts, false, &tv, &err) == 0);
  json_decref(opts);
  char *path = NULL;
  const char *tvmp = json_string_value(json_object_get(tv, "Mountpoint"));
  CHECK(!mounted(tvmp));
  CHECK(vol_mount(e, "tv", &path, &err) == 0);
  CHECK(mounted(tvmp));
  free(path);
  CHECK(vol_mount(e, "tv", &path, &err) == 0); /* once only */
  free(path);
  CHECK(vol_remove(e, "tv", false, &err) == 0);
  CHECK(!mounted(tvmp));
  json_decref(tv);

  CHECK(vol_remove(e, "v1", false, &err) == 0);
  CHECK(vol_remove(e, "v1", false, &err) == -ENOENT);
  CHECK(vol_remove(e, "v1", true, &err) == 0);
  CHECK(vol_remove(e, json_string_value(json_object_get(anon, "Name")), false, &err) == 0);
  all = vol_list(e, &err);
  CHECK(json_array_size(all) == 0);
  json_decref(all);
  json_decref(anon);
  json_decref(v1);

  repo_close(e);
  pthread_mutex_destroy(&e->lock);
  engine_free(e);
  struct berr ignored;
  bf_rm_rf(root, &ignored);
  CHECK(!is_dir(root));
  CHECK_DONE();
}
