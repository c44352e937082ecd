/* Unit tests for src/common: error chaining, atomic writes, JSON getters, rm -rf. */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "common/berr.h"
#include "common/bjson.h"
#include "common/fileutil.h"

static void test_berr(void)
{
  struct berr err = {0};
  int r = berr_set(&err, ENOENT, "open %s", "x");
  CHECK(r == -ENOENT);
  CHECK_STREQ(err.msg, "open x: No such file or directory");
  r = berr_wrap(&err, "mount rootfs");
  CHECK(r == -ENOENT);
  CHECK_STREQ(err.msg, "mount rootfs: open x: No such file or directory");
  r = berr_set(&err, 0, "bad thing");
  CHECK(r == -EINVAL);
  CHECK_STREQ(err.msg, "bad thing");
}

static void test_files(void)
{
  struct berr err = {0};
  char dir[] = "/tmp/berth-test-XXXXXX";
  CHECK(mkdtemp(dir) != NULL);
  char path[256], deep[256];
  snprintf(path, sizeof(path), "%s/f.json", dir);
  snprintf(deep, sizeof(deep), "%s/a/b/c", dir);
  CHECK(bf_write_atomic(path, "{\"a\":\"x\",\"n\":3,\"b\":true}", 24, 0600, &err) == 0);
  struct stat st;
  CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);

  json_t *j = NULL;
  CHECK(bjson_load_file(path, &j, &err) == 0);
  const char *s = NULL;
  int64_t n = 0;
  bool b = false;
  CHECK(bjson_get_str(j, "a", true, &s, "cfg", &err) == 0 && strcmp(s, "x") == 0);
  CHECK(bjson_get_int(j, "n", true, &n, "cfg", &err) == 0 && n == 3);
  CHECK(bjson_get_bool(j, "b", true, &b, "cfg", &err) == 0 && b);
  CHECK(bjson_get_int(j, "a", false, &n, "cfg", &err) == -EINVAL);
  CHECK_STREQ(err.msg, "cfg.a: expected an integer");
  CHECK(bjson_get_str(j, "missing", true, &s, "cfg", &err) == -EINVAL);
  CHECK(bjson_get_str(j, "missing", false, &s, "cfg", &err) == 0);
  json_decref(j);

  CHECK(bf_write_atomic(path, "{broken", 7, 0644, &err) == 0);
  CHECK(bjson_load_file(path, &j, &err) < 0);
  CHECK(strstr(err.msg, "line 1") != NULL);

  char *buf = NULL;
  size_t len = 0;
  CHECK(bf_read_all(path, &buf, &len, &err) == 0 && len == 7 && strcmp(buf, "{broken") == 0);
  free(buf);

  CHECK(bf_mkdir_p(deep, 0755, &err) == 0);
  CHECK(access(deep, F_OK) == 0);
  CHECK(bf_rm_rf(dir, &err) == 0);
  CHECK(access(dir, F_OK) < 0 && errno == ENOENT);
  CHECK(bf_rm_rf(dir, &err) == 0);
}

int main(void)
{
  test_berr();
  test_files();
  CHECK_DONE();
}
