/* Unit tests for src/graph and src/graphdriver pieces that need no image: reference
 * normalization, digests and chain IDs, member path cleaning, the content store's
 * verification, and confined extraction of hand-made tars (real files in a temp dir). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "common/cleanup.h"
#include "common/lazy_archive.h"
#include "common/fileutil.h"
#include "graph/digest.h"
#include "graph/reference.h"
#include "graph/store.h"
#include "graphdriver/extract.h"

static void check_ref(const char *in, const char *key, const char *familiar)
{
  struct berr err = {0};
  struct graph_ref r;
  int rc = graph_ref_parse(in, &r, &err);
  CHECK(rc == 0);
  if (rc != 0) {
    printf("# %s: %s\n", in, err.msg);
    return;
  }
  char *k = graph_ref_key(&r);
  char *f = graph_ref_familiar(k);
  CHECK_STREQ(k, key);
  CHECK_STREQ(f, familiar);
  free(k);
  free(f);
  graph_ref_clear(&r);
}

static void test_references(void)
{
  const char *d = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
  char withdigest[200], key[200];
  check_ref("busybox", "docker.io/library/busybox:latest", "busybox:latest");
  check_ref("busybox:1.36", "docker.io/library/busybox:1.36", "busybox:1.36");
  check_ref("library/busybox", "docker.io/library/busybox:latest", "busybox:latest");
  check_ref("index.docker.io/library/busybox", "docker.io/library/busybox:latest",
            "busybox:latest");
  check_ref("user/app:v1", "docker.io/user/app:v1", "user/app:v1");
  check_ref("localhost/app", "localhost/app:latest", "localhost/app:latest");
  check_ref("localhost:5000/a/b:c", "localhost:5000/a/b:c", "localhost:5000/a/b:c");
  check_ref("quay.io/x/y", "quay.io/x/y:latest", "quay.io/x/y:latest");
  check_ref("my-app__x.y", "docker.io/library/my-app__x.y:latest", "my-app__x.y:latest");
  snprintf(withdigest, sizeof(withdigest), "busybox@%s", d);
  snprintf(key, sizeof(key), "docker.io/library/busybox@%s", d);
  check_ref(withdigest, key, withdigest);

  const char *bad[] = {"",   "Busybox", "busybox:",          "busybox:-x", "a//b",
                       "-a", "a-",      "busybox@sha256:12", "a..b"};
  for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
    struct berr err = {0};
    struct graph_ref r;
    int rc = graph_ref_parse(bad[i], &r, &err);
    CHECK(rc < 0);
    if (rc == 0) {
      printf("# accepted %s\n", bad[i]);
      graph_ref_clear(&r);
    }
  }
  struct berr err = {0};
  struct graph_ref r;
  CHECK(graph_ref_parse_tag(withdigest, &r, &err) < 0);
}

static void test_digests(void)
{
  char d[GRAPH_DIGEST_LEN + 1], c[GRAPH_DIGEST_LEN + 1];
  graph_sha256_buf("", 0, d);
  CHECK_STREQ(d, "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(graph_digest_valid(d));
  CHECK(!graph_digest_valid(
      "sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"));
  CHECK(!graph_digest_valid("sha512:e3"));
  graph_chain_id(NULL, d, c);
  CHECK_STREQ(c, d);
  /* ChainID(L0|L1) = sha256("<L0> <L1>") */
  char buf[200], expect[GRAPH_DIGEST_LEN + 1];
  snprintf(buf, sizeof(buf), "%s %s", d, d);
  graph_sha256_buf(buf, strlen(buf), expect);
  graph_chain_id(d, d, c);
  CHECK_STREQ(c, expect);
  struct graph_sha256 *h = graph_sha256_new();
  graph_sha256_update(h, "ab", 2);
  graph_sha256_update(h, "c", 1);
  graph_sha256_final(h, c);
  graph_sha256_free(h);
  graph_sha256_buf("abc", 3, expect);
  CHECK_STREQ(c, expect);
}

static void test_clean_paths(void)
{
  struct berr err = {0};
  char *out = NULL;
  CHECK(gd_clean_member_path("./a//b/./c/", &out, &err) == 0 && !strcmp(out, "a/b/c"));
  free(out);
  CHECK(gd_clean_member_path("./", &out, &err) == 0 && !strcmp(out, ""));
  free(out);
  CHECK(gd_clean_member_path("a/../b", &out, &err) < 0);
  CHECK(gd_clean_member_path("../x", &out, &err) < 0);
  CHECK(gd_clean_member_path("/etc/passwd", &out, &err) < 0);
  CHECK(strstr(err.msg, "absolute") != NULL);
}

static void test_store(const char *dir)
{
  struct berr err = {0};
  struct graph_store *s = NULL;
  CHECK(graph_store_open(dir, &s, &err) == 0);
  char d[GRAPH_DIGEST_LEN + 1];
  CHECK(graph_store_put(s, "hello", 5, NULL, d, &err) == 0);
  CHECK(graph_store_has(s, d));
  char *buf = NULL;
  size_t len = 0;
  CHECK(graph_store_read(s, d, &buf, &len, &err) == 0 && len == 5 && !memcmp(buf, "hello", 5));
  free(buf);
  /* a wrong expected digest stores nothing and leaves no temp file */
  char other[GRAPH_DIGEST_LEN + 1];
  graph_sha256_buf("world", 5, other);
  CHECK(graph_store_put(s, "hellO", 5, other, NULL, &err) < 0);
  CHECK(strstr(err.msg, "digest mismatch") != NULL);
  struct graph_blob_writer *w = NULL;
  CHECK(graph_store_writer_new(s, &w, &err) == 0);
  CHECK(graph_blob_writer_write(w, "hel", 3, &err) == 0);
  CHECK(graph_blob_writer_commit(w, other, NULL, NULL, &err) < 0);
  _cleanup_closedir_ DIR *td = opendir(graph_store_tmp(s));
  int entries = 0;
  struct dirent *de;
  while (td && (de = readdir(td)))
    entries += de->d_name[0] != '.';
  CHECK(entries == 0);
  /* a blob altered on disk is detected on read */
  char *path = graph_store_path(s, d);
  CHECK(bf_write_atomic(path, "jello", 5, 0644, &err) == 0);
  CHECK(graph_store_read(s, d, &buf, &len, &err) < 0 && strstr(err.msg, "corrupt") != NULL);
  free(path);
  graph_store_close(s);
}

/* A tar in memory, applied with gd_extract_archive. */
struct mem {
  char buf[1 << 16];
  size_t used;
};

static la_ssize_t mem_write(struct archive *a, void *ud, const void *b, size_t n)
{
  struct mem *m = ud;
  if (m->used + n > sizeof(m->buf))
    return -1;
  memcpy(m->buf + m->used, b, n);
  m->used += n;
  return (la_ssize_t)n;
}

static void add(struct archive *a, const char *name, mode_t type, const char *data,
                const char *link)
{
  struct archive_entry *e = archive_entry_new();
  archive_entry_set_pathname(e, name);
  archive_entry_set_filetype(e, type);
  archive_entry_set_perm(e, 0644);
  if (type == AE_IFLNK)
    archive_entry_set_symlink(e, link);
  else if (link)
    archive_entry_set_hardlink(e, link);
  archive_entry_set_size(e, data ? (la_int64_t)strlen(data) : 0);
  archive_write_header(a, e);
  if (data)
    archive_write_data(a, data, strlen(data));
  archive_entry_free(e);
}

static int apply(int rootfd, struct mem *m, enum gd_whiteout_mode mode, struct berr *err)
{
  struct archive *r = archive_read_new();
  archive_read_support_format_tar(r);
  archive_read_open_memory(r, m->buf, m->used);
  struct gd_extract_opts o = {.whiteouts = mode};
  int rc = gd_extract_archive(rootfd, r, &o, NULL, err);
  archive_read_free(r);
  return rc;
}

static void test_extract(const char *dir)
{
  char root[4096], outside[4096];
  snprintf(root, sizeof(root), "%s/layer", dir);
  snprintf(outside, sizeof(outside), "%s/outside", dir);
  struct berr err = {0};
  CHECK(bf_mkdir_p(root, 0755, &err) == 0 && bf_mkdir_p(outside, 0755, &err) == 0);
  _cleanup_close_ int rootfd = open(root, O_RDONLY | O_DIRECTORY);

  /* confined: a symlink to the outside dir, then a write through it */
  static struct mem m;
  m.used = 0;
  struct archive *a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  archive_write_open(a, &m, NULL, mem_write, NULL);
  add(a, "esc", AE_IFLNK, NULL, outside);
  add(a, "esc/pwned", AE_IFREG, "x", NULL);
  add(a, "d/f", AE_IFREG, "data", NULL);
  add(a, "d/.wh.f", AE_IFREG, NULL, NULL);
  add(a, "d/g", AE_IFREG, "g", NULL);
  archive_write_close(a);
  archive_write_free(a);
  CHECK(apply(rootfd, &m, GD_WHITEOUT_DELETE, &err) == 0);
  char p[8192];
  snprintf(p, sizeof(p), "%s/pwned", outside);
  CHECK(access(p, F_OK) < 0 && errno == ENOENT);
  snprintf(p, sizeof(p), "%s%s/pwned", root, outside);
  CHECK(access(p, F_OK) == 0);
  snprintf(p, sizeof(p), "%s/d/f", root);
  CHECK(access(p, F_OK) < 0);
  snprintf(p, sizeof(p), "%s/d/g", root);
  CHECK(access(p, F_OK) == 0);

  /* rejected: a hard link to a file outside, by absolute name */
  m.used = 0;
  a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  archive_write_open(a, &m, NULL, mem_write, NULL);
  snprintf(p, sizeof(p), "%s/victim", outside);
  CHECK(bf_write_atomic(p, "v", 1, 0644, &err) == 0);
  add(a, "stolen", AE_IFREG, NULL, p);
  archive_write_close(a);
  archive_write_free(a);
  CHECK(apply(rootfd, &m, GD_WHITEOUT_OVERLAY, &err) < 0);
  struct stat st;
  CHECK(stat(p, &st) == 0 && st.st_nlink == 1);
}

int main(void)
{
  char dir[] = "/tmp/berth-graph-unit-XXXXXX";
  if (!mkdtemp(dir))
    return 1;
  test_references();
  test_digests();
  test_clean_paths();
  test_store(dir);
  test_extract(dir);
  struct berr err;
  bf_rm_rf(dir, &err);
  CHECK_DONE();
}
