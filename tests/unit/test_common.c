/* Unit tests for src/common: error chaining, atomic writes, JSON getters, rm -rf, libraries
 * loaded on first use and unloaded when idle. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "common/berr.h"
#include "common/bjson.h"
#include "common/fileutil.h"
#include "common/lazylib.h"

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

static bool mapped(const char *soname_part)
{
  FILE *f = fopen("/proc/self/maps", "re");
  char line[512];
  bool found = false;
  while (f && fgets(line, sizeof(line), f))
    found |= strstr(line, soname_part) != NULL;
  if (f)
    fclose(f);
  return found;
}

/* A real library (zlib, which this test does not link) loaded, counted, unloaded when idle,
 * and loaded again for the next object. */
static const char *(*zlib_version)(void);
static const struct lazylib_sym zsyms[] = {{"zlibVersion", (void **)&zlib_version}};

static void test_lazylib_unload(void)
{
  static struct lazylib z = LAZYLIB_INIT("libz.so.1", zsyms); /* its timer outlives nothing */
  CHECK(!mapped("libz.so"));
  lazylib_unload_when_idle(&z, 1);
  CHECK(lazylib_acquire(&z) && lazylib_acquire(&z));
  CHECK(mapped("libz.so") && zlib_version && zlib_version()[0] == '1');
  lazylib_release(&z);
  sleep(2); /* one object still alive: stays loaded */
  CHECK(z.loaded && mapped("libz.so"));
  lazylib_release(&z);
  for (int i = 0; i < 100 && __atomic_load_n(&z.loaded, __ATOMIC_ACQUIRE); i++)
    usleep(100 * 1000);
  CHECK(!z.loaded && !mapped("libz.so") && zlib_version == NULL);
  CHECK(lazylib_acquire(&z) && zlib_version && zlib_version()[0] == '1');
  lazylib_release(&z);

  /* without unload_when_idle, never unloaded */
  static struct lazylib keep = LAZYLIB_INIT("libz.so.1", zsyms);
  for (int i = 0; i < 100 && mapped("libz.so"); i++)
    usleep(100 * 1000); /* z's second timer */
  CHECK(lazylib_acquire(&keep));
  lazylib_release(&keep);
  sleep(2);
  CHECK(keep.loaded && mapped("libz.so"));

  /* a library that is not there: a clear error, no count */
  static void *none;
  static const struct lazylib_sym nsyms[] = {{"nothing", &none}};
  static struct lazylib missing = LAZYLIB_INIT("libberth-no-such-library.so.0", nsyms);
  CHECK(!lazylib_acquire(&missing) && errno == ELIBACC && missing.users == 0);
  CHECK(strstr(missing.error, "libberth-no-such-library") != NULL);
}

int main(void)
{
  test_berr();
  test_files();
  test_lazylib_unload();
  CHECK_DONE();
}
