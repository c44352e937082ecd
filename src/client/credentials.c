/* The credentials store of berth login: Docker's config.json layout, berth's file written
 * (atomically, 0600), Docker's file read too so a `docker login` is honoured. */
#include "credentials.h"

#include <errno.h>
#include <jansson.h>
#include <nettle/base64.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/bjson.h"
#include "common/cleanup.h"
#include "common/fileutil.h"

static char *config_path(const char *env, const char *dir)
{
  const char *e = getenv(env);
  char *p = NULL;
  if (e && *e) {
    if (asprintf(&p, "%s/config.json", e) < 0)
      return NULL;
    return p;
  }
  const char *home = getenv("HOME");
  if (asprintf(&p, "%s/%s/config.json", home && *home ? home : "/root", dir) < 0)
    return NULL;
  return p;
}

static char *b64(const void *buf, size_t len, bool url)
{
  char *o = malloc(BASE64_ENCODE_RAW_LENGTH(len) + 1);
  if (!o)
    return NULL;
  base64_encode_raw(o, len, buf);
  o[BASE64_ENCODE_RAW_LENGTH(len)] = '\0';
  if (url)
    for (char *p = o; *p; p++)
      *p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
  return o;
}

char *cred_server_key(const char *s)
{
  if (!s || !*s)
    return strdup("https://index.docker.io/v1/");
  const char *p = strstr(s, "://");
  p = p ? p + 3 : s;
  size_t n = strcspn(p, "/");
  char host[512];
  snprintf(host, sizeof(host), "%.*s", (int)n, p);
  if (!strcmp(host, "docker.io") || !strcmp(host, "index.docker.io") ||
      !strcmp(host, "registry-1.docker.io"))
    return strdup("https://index.docker.io/v1/");
  return strdup(host);
}

char *cred_image_domain(const char *image)
{
  const char *slash = strchr(image, '/');
  if (slash) {
    size_t n = (size_t)(slash - image);
    /* a first component with a dot, a colon or "localhost" names a registry */
    if (memchr(image, '.', n) || memchr(image, ':', n) ||
        (n == 9 && !strncmp(image, "localhost", 9)))
      return strndup(image, n);
  }
  return strdup("docker.io");
}

static int lookup_in(const char *path, const char *key, char **user, char **pass)
{
  json_auto_t *j = json_load_file(path, 0, NULL);
  json_t *a = json_object_get(json_object_get(j, "auths"), key);
  if (!a && strchr(key, ':') == NULL) {
    /* keys are sometimes stored with a scheme: "https://host" */
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(j, "auths"), k, v)
    {
      _cleanup_free_ char *norm = cred_server_key(k);
      if (norm && !strcmp(norm, key)) {
        a = v;
        break;
      }
    }
  }
  const char *auth = json_string_value(json_object_get(a, "auth"));
  if (!auth || !*auth)
    return 0;
  size_t n = strlen(auth);
  _cleanup_free_ unsigned char *dec = malloc(BASE64_DECODE_LENGTH(n) + 1);
  if (!dec)
    return -ENOMEM;
  struct base64_decode_ctx ctx;
  base64_decode_init(&ctx);
  size_t m = BASE64_DECODE_LENGTH(n);
  if (!base64_decode_update(&ctx, &m, dec, n, auth) || !base64_decode_final(&ctx))
    return 0;
  /* Docker trims NULs the same way */
  while (m > 0 && dec[m - 1] == '\0')
    m--;
  dec[m] = '\0';
  char *colon = strchr((char *)dec, ':');
  if (!colon)
    return 0;
  *colon = '\0';
  *user = strdup((char *)dec);
  *pass = strdup(colon + 1);
  return 1;
}

int cred_lookup(const char *key, char **user, char **pass)
{
  *user = *pass = NULL;
  _cleanup_free_ char *mine = config_path("BERTH_CONFIG", ".berth");
  _cleanup_free_ char *docker = config_path("DOCKER_CONFIG", ".docker");
  if (mine && lookup_in(mine, key, user, pass) > 0)
    return 0;
  if (docker)
    lookup_in(docker, key, user, pass);
  return 0;
}

static int load_mine(char **path, json_t **j, struct berr *err)
{
  *path = config_path("BERTH_CONFIG", ".berth");
  if (!*path)
    return berr_set(err, ENOMEM, "config");
  struct stat st;
  if (stat(*path, &st) == 0) {
    if (bjson_load_file(*path, j, err) < 0)
      return -EINVAL;
    if (!json_is_object(*j))
      return berr_set(err, 0, "%s: expected a JSON object", *path);
  } else {
    *j = json_object();
  }
  if (!json_is_object(json_object_get(*j, "auths")))
    json_object_set_new(*j, "auths", json_object());
  return 0;
}

static int save_mine(const char *path, json_t *j, struct berr *err)
{
  _cleanup_free_ char *dir = strdup(path);
  if (!dir)
    return berr_set(err, ENOMEM, "config");
  char *slash = strrchr(dir, '/');
  if (slash)
    *slash = '\0';
  if (bf_mkdir_p(dir, 0700, err) < 0)
    return -errno;
  _cleanup_free_ char *s = json_dumps(j, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
  if (!s)
    return berr_set(err, ENOMEM, "config");
  return bf_write_atomic(path, s, strlen(s), 0600, err);
}

int cred_store(const char *key, const char *user, const char *pass, struct berr *err)
{
  _cleanup_free_ char *path = NULL;
  json_auto_t *j = NULL;
  int r = load_mine(&path, &j, err);
  if (r < 0)
    return r;
  _cleanup_free_ char *up = NULL;
  if (asprintf(&up, "%s:%s", user, pass) < 0)
    return berr_set(err, ENOMEM, "config");
  _cleanup_free_ char *enc = b64(up, strlen(up), false);
  if (!enc)
    return berr_set(err, ENOMEM, "config");
  json_object_set_new(json_object_get(j, "auths"), key, json_pack("{s:s}", "auth", enc));
  return save_mine(path, j, err);
}

int cred_erase(const char *key, struct berr *err)
{
  _cleanup_free_ char *path = NULL;
  json_auto_t *j = NULL;
  int r = load_mine(&path, &j, err);
  if (r < 0)
    return r;
  if (json_object_del(json_object_get(j, "auths"), key) < 0)
    return 0;
  r = save_mine(path, j, err);
  return r < 0 ? r : 1;
}

char *cred_header(const char *key)
{
  _cleanup_free_ char *user = NULL, *pass = NULL;
  cred_lookup(key, &user, &pass);
  json_auto_t *j = user ? json_pack("{s:s, s:s, s:s}", "username", user, "password",
                                    pass ? pass : "", "serveraddress", key)
                        : json_object();
  _cleanup_free_ char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
  _cleanup_free_ char *enc = s ? b64(s, strlen(s), true) : NULL;
  char *h = NULL;
  if (!enc || asprintf(&h, "X-Registry-Auth: %s", enc) < 0)
    return NULL;
  return h;
}
