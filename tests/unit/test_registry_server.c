/* Unit tests of berth-registry's pieces below HTTP: the name/tag/digest grammar, digests,
 * the filesystem store (in a temp dir), configuration, access rules and tokens. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "common/bjson.h"
#include "common/cleanup.h"
#include "common/fileutil.h"
#include "registry/server/registry.h"

#define HELLO_SHA256 "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"

static void test_names(void)
{
  CHECK(reg_name_valid("library/busybox"));
  CHECK(reg_name_valid("a.b_c__d--e/f"));
  CHECK(!reg_name_valid("../etc"));
  CHECK(!reg_name_valid("a/../b"));
  CHECK(!reg_name_valid("a//b"));
  CHECK(!reg_name_valid("Upper"));
  CHECK(!reg_name_valid("_uploads"));
  CHECK(!reg_name_valid("a/_layers"));
  CHECK(!reg_name_valid(""));
  CHECK(reg_tag_valid("v1.0_rc-2"));
  CHECK(!reg_tag_valid(".hidden"));
  CHECK(!reg_tag_valid("-x"));
  CHECK(!reg_tag_valid("a/b"));
  CHECK(reg_digest_valid(HELLO_SHA256));
  CHECK(
      !reg_digest_valid("sha256:2CF24DBA5FB0A30E26E83B2AC5B9E29E1B161E5C1FA7425E73043362938B9824"));
  CHECK(!reg_digest_valid("sha256:abc"));
  CHECK(!reg_digest_valid("md5:d41d8cd98f00b204e9800998ecf8427e"));
  CHECK(reg_upload_id_valid("0123456789abcdef0123456789abcdef"));
  CHECK(!reg_upload_id_valid(".."));
}

static void test_digests(void)
{
  struct berr err;
  char d[REG_DIGEST_MAX];
  CHECK(bdigest_buf("sha256", "hello", 5, d, sizeof(d)) == 0);
  CHECK_STREQ(d, HELLO_SHA256);
  CHECK(bdigest_buf("sha512", "hello", 5, d, sizeof(d)) == 0);
  CHECK(reg_digest_valid(d) && strlen(d) == 7 + 128);
  CHECK_STREQ(d, "sha512:9b71d224bd62f3785d96d46ad3ea3d73319bfbc2890caadae2dff72519673ca7"
                 "2323c3d99ba5c11d7c7acc6e14b8c5da0c4663475c2e5c3adef46f73bcdec043");
  CHECK(bdigest_buf("md5", "hello", 5, d, sizeof(d)) < 0);
  (void)err;
}

static void test_store(const char *root)
{
  struct reg_store st;
  struct berr err;
  CHECK(store_init(&st, root, &err) == 0);
  char id[33];
  CHECK(store_upload_create(&st, "lib/a", id, &err) == 0);
  CHECK(reg_upload_id_valid(id));
  int fd;
  CHECK(store_upload_open(&st, "lib/a", id, &fd, &err) == 0);
  CHECK(write(fd, "hello", 5) == 5);
  close(fd);
  CHECK(store_upload_size(&st, "lib/a", id) == 5);
  /* a wrong digest stores nothing and ends the upload */
  const char *wrong = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
  CHECK(store_upload_commit(&st, "lib/a", id, wrong, &err) == -EBADMSG);
  CHECK(!store_upload_exists(&st, "lib/a", id));
  char p[4096];
  struct stat sb;
  store_blob_path(&st, wrong, p, sizeof(p));
  CHECK(stat(p, &sb) < 0);
  /* the right one enters the store and the repository, not another repository */
  CHECK(store_upload_create(&st, "lib/a", id, &err) == 0);
  CHECK(store_upload_open(&st, "lib/a", id, &fd, &err) == 0);
  CHECK(write(fd, "hello", 5) == 5);
  close(fd);
  CHECK(store_upload_commit(&st, "lib/a", id, HELLO_SHA256, &err) == 0);
  CHECK(store_repo_has_blob(&st, "lib/a", HELLO_SHA256));
  CHECK(!store_repo_has_blob(&st, "lib/b", HELLO_SHA256));
  store_blob_path(&st, HELLO_SHA256, p, sizeof(p));
  CHECK(stat(p, &sb) == 0 && sb.st_size == 5);

  /* manifests, tags (sorted), delete by digest untags */
  const char *m = "{\"schemaVersion\":2}";
  char md[REG_DIGEST_MAX];
  bdigest_buf("sha256", m, strlen(m), md, sizeof(md));
  const char *tags[] = {"zz", "aa", "mm"};
  for (size_t i = 0; i < 3; i++)
    CHECK(store_manifest_put(&st, "lib/a", md, "application/vnd.oci.image.manifest.v1+json", m,
                             strlen(m), &tags[i], 1, NULL, NULL, &err) == 0);
  _cleanup_free_ char *buf = NULL, *mt = NULL;
  size_t len;
  char got[REG_DIGEST_MAX];
  CHECK(store_manifest_get(&st, "lib/a", "mm", &buf, &len, &mt, got, &err) == 0);
  CHECK(len == strlen(m) && memcmp(buf, m, len) == 0);
  CHECK_STREQ(got, md);
  CHECK_STREQ(mt, "application/vnd.oci.image.manifest.v1+json");
  _cleanup_strv_ char **tv = NULL;
  size_t n;
  CHECK(store_tags(&st, "lib/a", &tv, &n, &err) == 0);
  CHECK(n == 3 && strcmp(tv[0], "aa") == 0 && strcmp(tv[2], "zz") == 0);
  _cleanup_strv_ char **repos = NULL;
  CHECK(store_catalog(&st, &repos, &n, &err) == 0);
  CHECK(n == 1 && strcmp(repos[0], "lib/a") == 0);
  CHECK(store_manifest_delete(&st, "lib/a", md, &err) == 0);
  _cleanup_strv_ char **tv2 = NULL;
  CHECK(store_tags(&st, "lib/a", &tv2, &n, &err) == 0 && n == 0);
  CHECK(store_manifest_delete(&st, "lib/a", md, &err) == -ENOENT);
  free(st.root);
}

static void test_config_and_auth(const char *dir)
{
  char path[4096];
  snprintf(path, sizeof(path), "%s/config.json", dir);
  const char *text =
      "{\"addr\":\"127.0.0.1:0\",\"root\":\"/r\",\"auth\":{\"htpasswd\":\"/dev/null\","
      "\"token\":{\"realm\":\"/token\"}},\"limits\":{\"manifest_bytes\":10},"
      "\"access\":[{\"repository\":\"pub/*\",\"anonymous\":\"pull\",\"users\":"
      "{\"al\":\"pull,push\"}}]}";
  struct berr err;
  CHECK(bf_write_atomic(path, text, strlen(text), 0644, &err) == 0);
  struct reg_config cfg;
  reg_config_defaults(&cfg);
  CHECK(reg_config_load(path, &cfg, &err) == 0);
  CHECK_STREQ(cfg.addr, "127.0.0.1:0");
  CHECK(cfg.max_manifest_bytes == 10 && cfg.n_rules == 1);
  struct reg_auth *a = NULL;
  CHECK(reg_auth_new(&cfg, &a, &err) == 0);
  CHECK(reg_auth_allowed(a, "", false, NULL, "pub/x") == REG_PULL);
  CHECK(reg_auth_allowed(a, "al", true, NULL, "pub/x") == (REG_PULL | REG_PUSH));
  CHECK(reg_auth_allowed(a, "", false, NULL, "priv/x") == 0);
  CHECK(reg_auth_allowed(a, "bo", true, NULL, "priv/x") == (REG_PULL | REG_PUSH));
  /* a token carries the intersection of what was asked and what is allowed */
  char *scopes[] = {"repository:pub/x:pull,push"};
  _cleanup_free_ char *json = NULL;
  CHECK(reg_auth_issue_token(a, "", false, scopes, 1, &json, &err) == 0);
  json_auto_t *j = json_loads(json, 0, NULL);
  const char *tok = json_string_value(json_object_get(j, "token"));
  CHECK(tok != NULL);
  char hdr[8192], user[64];
  snprintf(hdr, sizeof(hdr), "Bearer %s", tok);
  json_t *access = NULL;
  CHECK(reg_auth_identify(a, hdr, user, sizeof(user), &access) == 0);
  CHECK(reg_auth_allowed(a, user, false, access, "pub/x") == REG_PULL);
  CHECK(reg_auth_allowed(a, user, false, access, "pub/y") == 0);
  json_decref(access);
  hdr[strlen(hdr) - 2] ^= 1; /* altered signature */
  access = NULL;
  CHECK(reg_auth_identify(a, hdr, user, sizeof(user), &access) == -EACCES);
  reg_auth_free(a);
  reg_config_free(&cfg);
  /* bad configuration names what is wrong */
  const char *bad = "{\"access\":[{\"repository\":\"x\",\"anonymous\":\"fly\"}]}";
  CHECK(bf_write_atomic(path, bad, strlen(bad), 0644, &err) == 0);
  reg_config_defaults(&cfg);
  CHECK(reg_config_load(path, &cfg, &err) < 0 && strstr(err.msg, "access[0]") != NULL);
  reg_config_free(&cfg);
}

int main(void)
{
  CHECK(reg_names_init() == 0);
  char tmpl[] = "/tmp/berth-registry-unit-XXXXXX";
  CHECK(mkdtemp(tmpl) != NULL);
  test_names();
  test_digests();
  char root[4096];
  snprintf(root, sizeof(root), "%s/root", tmpl);
  test_store(root);
  test_config_and_auth(tmpl);
  struct berr err;
  bf_rm_rf(tmpl, &err);
  CHECK(access(tmpl, F_OK) < 0);
  CHECK_DONE();
}
