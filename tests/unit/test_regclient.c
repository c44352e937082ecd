/* Unit tests of the registry client's pure parts: WWW-Authenticate parsing, platform choice
 * in an index, base64 both ways, and which endpoints a domain maps to (mirrors, http for
 * loopback and insecure registries, https with certs.d, the loopback-only guard). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "common/fileutil.h"
#include "registry/client/regclient.h"
#include "registry/client/request.h"

static void test_challenge(void)
{
  struct reg_challenge c;
  struct berr err;
  CHECK(reg_challenge_parse("Bearer realm=\"https://auth.example/token\",service=\"reg.example\","
                            "scope=\"repository:a/b:pull,push repository:c:pull\"",
                            &c, &err) == 0);
  CHECK_STREQ(c.scheme, "Bearer");
  CHECK_STREQ(c.realm, "https://auth.example/token");
  CHECK_STREQ(c.service, "reg.example");
  CHECK_STREQ(c.scope, "repository:a/b:pull,push repository:c:pull");
  CHECK(reg_challenge_parse("Basic realm=\"x \\\"q\\\" y\"", &c, &err) == 0);
  CHECK_STREQ(c.scheme, "Basic");
  CHECK_STREQ(c.realm, "x \"q\" y");
  CHECK(reg_challenge_parse("Bearer realm=http://127.0.0.1:1/t, Service=svc", &c, &err) == 0);
  CHECK_STREQ(c.realm, "http://127.0.0.1:1/t");
  CHECK_STREQ(c.service, "svc");
  CHECK(reg_challenge_parse("", &c, &err) < 0);
}

static const char index_json[] =
    "{\"manifests\":["
    "{\"digest\":\"sha256:aa\",\"platform\":{\"os\":\"linux\",\"architecture\":\"arm\","
    "\"variant\":\"v6\"}},"
    "{\"digest\":\"sha256:bb\",\"platform\":{\"os\":\"linux\",\"architecture\":\"arm\","
    "\"variant\":\"v7\"}},"
    "{\"digest\":\"sha256:cc\",\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}},"
    "{\"digest\":\"sha256:dd\",\"platform\":{\"os\":\"windows\",\"architecture\":\"amd64\"}}"
    "]}";

static void test_index_pick(void)
{
  char d[72];
  struct berr err;
  size_t n = strlen(index_json);
  CHECK(reg_index_pick(index_json, n, "linux", "amd64", "", d, &err) == 0);
  CHECK_STREQ(d, "sha256:cc");
  CHECK(reg_index_pick(index_json, n, "linux", "arm", "v7", d, &err) == 0);
  CHECK_STREQ(d, "sha256:bb");
  CHECK(reg_index_pick(index_json, n, "windows", "amd64", NULL, d, &err) == 0);
  CHECK_STREQ(d, "sha256:dd");
  /* no variant asked: the first entry of the architecture */
  CHECK(reg_index_pick(index_json, n, "linux", "arm", NULL, d, &err) == 0);
  CHECK_STREQ(d, "sha256:aa");
  CHECK(reg_index_pick(index_json, n, "linux", "s390x", NULL, d, &err) < 0);
  CHECK(strstr(err.msg, "linux/s390x") != NULL);
  CHECK(reg_index_pick("{}", 2, "linux", "amd64", NULL, d, &err) < 0);
}

static void test_base64(void)
{
  char *enc = reg_base64("user:pa ss", 10);
  CHECK_STREQ(enc, "dXNlcjpwYSBzcw==");
  char *dec = NULL;
  size_t len = 0;
  CHECK(reg_base64_decode(enc, &dec, &len) == 0);
  CHECK(len == 10 && memcmp(dec, "user:pa ss", 10) == 0);
  free(dec);
  /* base64url without padding, as X-Registry-Auth is sent */
  CHECK(reg_base64_decode("eyJhIjoiPz8_In0", &dec, &len) == 0);
  CHECK_STREQ(dec, "{\"a\":\"??\?\"}");
  free(dec);
  free(enc);
}

static void test_endpoints(void)
{
  char tmpl[] = "/tmp/test-regclient-XXXXXX";
  char *dir = mkdtemp(tmpl);
  CHECK(dir != NULL);
  char certs[512];
  snprintf(certs, sizeof(certs), "%s/127.0.0.1:5443", dir);
  mkdir(certs, 0700);
  char *insecure[] = {"reg.internal:5000", NULL};
  char *mirrors[] = {"http://127.0.0.1:6000/", "https://mirror.example", NULL};
  struct reg_config cfg = {.insecure = insecure, .mirrors = mirrors, .certs_dir = dir};
  struct berr err;
  char **eps = NULL;
  CHECK(reg_endpoints(&cfg, "docker.io", false, &eps, &err) == 0);
  CHECK(eps && eps[0] && eps[1] && eps[2] && !eps[3]);
  CHECK_STREQ(eps[0], "http://127.0.0.1:6000");
  CHECK_STREQ(eps[1], "https://mirror.example");
  CHECK_STREQ(eps[2], "https://registry-1.docker.io");
  for (char **p = eps; p && *p; p++)
    free(*p);
  free(eps);
  /* push never goes to a mirror */
  CHECK(reg_endpoints(&cfg, "docker.io", true, &eps, &err) == 0);
  CHECK_STREQ(eps[0], "https://registry-1.docker.io");
  CHECK(eps[1] == NULL);
  free(eps[0]);
  free(eps);
  CHECK(reg_endpoints(&cfg, "127.0.0.1:5000", false, &eps, &err) == 0);
  CHECK_STREQ(eps[0], "http://127.0.0.1:5000");
  free(eps[0]);
  free(eps);
  CHECK(reg_endpoints(&cfg, "127.0.0.1:5443", false, &eps, &err) == 0);
  CHECK_STREQ(eps[0], "https://127.0.0.1:5443");
  free(eps[0]);
  free(eps);
  CHECK(reg_endpoints(&cfg, "reg.internal:5000", false, &eps, &err) == 0);
  CHECK_STREQ(eps[0], "http://reg.internal:5000");
  free(eps[0]);
  free(eps);
  CHECK(reg_endpoints(&cfg, "quay.io", false, &eps, &err) == 0);
  CHECK_STREQ(eps[0], "https://quay.io");
  free(eps[0]);
  free(eps);
  /* loopback only: the remote mirror and docker.io itself are dropped */
  cfg.loopback_only = true;
  CHECK(reg_endpoints(&cfg, "docker.io", false, &eps, &err) == 0);
  CHECK_STREQ(eps[0], "http://127.0.0.1:6000");
  CHECK(eps[1] == NULL);
  free(eps[0]);
  free(eps);
  CHECK(reg_endpoints(&cfg, "quay.io", false, &eps, &err) < 0);
  CHECK(strstr(err.msg, "registry-loopback-only") != NULL);
  CHECK(reg_endpoints(&cfg, "docker.io", true, &eps, &err) < 0);
  CHECK(reg_endpoints(&cfg, "localhost:5000", true, &eps, &err) == 0);
  CHECK_STREQ(eps[0], "http://localhost:5000");
  free(eps[0]);
  free(eps);
  cfg.mirrors = NULL;
  CHECK(reg_endpoints(&cfg, "docker.io", false, &eps, &err) < 0);
  rmdir(certs);
  rmdir(dir);
}

static void test_loopback(void)
{
  CHECK(reg_host_is_loopback("127.0.0.1:5000"));
  CHECK(reg_host_is_loopback("127.1.2.3"));
  CHECK(reg_host_is_loopback("localhost:80"));
  CHECK(reg_host_is_loopback("[::1]:5000"));
  CHECK(!reg_host_is_loopback("128.0.0.1:5000"));
  CHECK(!reg_host_is_loopback("registry-1.docker.io"));
  CHECK(!reg_host_is_loopback("127.0.0.1.example.com"));
  CHECK(!reg_host_is_loopback("[::2]:5000"));
  char h[64];
  reg_url_host("https://a.example:444/v2/x?y=1", h, sizeof(h));
  CHECK_STREQ(h, "a.example:444");
  reg_url_host("http://[::1]:5000", h, sizeof(h));
  CHECK_STREQ(h, "[::1]:5000");
}

int main(void)
{
  test_loopback();
  test_challenge();
  test_index_pick();
  test_base64();
  test_endpoints();
  CHECK_DONE();
}
