/* Where a registry is reached: the endpoints for a domain (mirrors, http or https), the TLS
 * material from certs.d, and a repository handle carrying the credentials. */
#include <arpa/inet.h>
#include <errno.h>
#include <nettle/base64.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fileutil.h"
#include "request.h"

#define DEFAULT_CERTS_DIR "/etc/berth/certs.d"

/* "127.0.0.1:5000" -> "127.0.0.1"; "[::1]:5000" -> "::1" */
static void host_only(const char *hostport, char *out, size_t n)
{
  if (hostport[0] == '[') {
    const char *e = strchr(hostport, ']');
    snprintf(out, n, "%.*s", e ? (int)(e - hostport - 1) : (int)strlen(hostport + 1), hostport + 1);
    return;
  }
  const char *c = strrchr(hostport, ':');
  snprintf(out, n, "%.*s", c ? (int)(c - hostport) : (int)strlen(hostport), hostport);
}

bool reg_host_is_loopback(const char *hostport)
{
  char h[256];
  host_only(hostport, h, sizeof(h));
  if (!strcmp(h, "localhost"))
    return true;
  struct in_addr a4;
  struct in6_addr a6;
  if (inet_pton(AF_INET, h, &a4) == 1)
    return (ntohl(a4.s_addr) >> 24) == 127;
  if (inet_pton(AF_INET6, h, &a6) == 1)
    return IN6_IS_ADDR_LOOPBACK(&a6);
  return false;
}

/* "http://127.0.0.1:5000/" -> "127.0.0.1:5000" */
void reg_url_host(const char *url, char *out, size_t n)
{
  const char *p = strstr(url, "://");
  p = p ? p + 3 : url;
  snprintf(out, n, "%.*s", (int)strcspn(p, "/"), p);
}

static bool is_insecure(const struct reg_config *cfg, const char *hostport)
{
  char h[256];
  host_only(hostport, h, sizeof(h));
  for (char **p = cfg->insecure; p && *p; p++)
    if (!strcmp(*p, hostport) || !strcmp(*p, h))
      return true;
  return false;
}

static bool has_certs(const struct reg_config *cfg, const char *hostport)
{
  char dir[1024];
  snprintf(dir, sizeof(dir), "%s/%s", cfg->certs_dir ? cfg->certs_dir : DEFAULT_CERTS_DIR,
           hostport);
  struct stat st;
  return stat(dir, &st) == 0 && S_ISDIR(st.st_mode);
}

static int strv_push(char ***v, size_t *n, char *s)
{
  if (!s)
    return -ENOMEM;
  char **nv = realloc(*v, (*n + 2) * sizeof(char *));
  if (!nv) {
    free(s);
    return -ENOMEM;
  }
  nv[(*n)++] = s;
  nv[*n] = NULL;
  *v = nv;
  return 0;
}

int reg_endpoints(const struct reg_config *cfg, const char *domain, bool push, char ***urls,
                  struct berr *err)
{
  char **v = calloc(1, sizeof(char *));
  size_t n = 0;
  if (!v)
    return berr_set(err, ENOMEM, "endpoints");
  bool hub = !strcmp(domain, "docker.io") || !strcmp(domain, "index.docker.io") ||
             !strcmp(domain, "registry-1.docker.io");
  if (hub && !push)
    for (char **m = cfg->mirrors; m && *m; m++) {
      char h[256];
      reg_url_host(*m, h, sizeof(h));
      if (cfg->loopback_only && !reg_host_is_loopback(h))
        continue;
      size_t l = strlen(*m);
      while (l && (*m)[l - 1] == '/')
        l--;
      if (strv_push(&v, &n, strndup(*m, l)) < 0)
        goto oom;
    }
  const char *host = hub ? "registry-1.docker.io" : domain;
  if (!cfg->loopback_only || reg_host_is_loopback(host)) {
    bool plain = !has_certs(cfg, host) && (reg_host_is_loopback(host) || is_insecure(cfg, host));
    char *u = NULL;
    if (asprintf(&u, "%s://%s", plain ? "http" : "https", host) < 0)
      u = NULL;
    if (strv_push(&v, &n, u) < 0)
      goto oom;
  }
  if (n == 0) {
    strvfreep(&v);
    berr_set(err, 0,
             "registry %s is not reachable from this daemon: it only contacts registries on "
             "loopback (registry-loopback-only)%s",
             domain, hub ? " and no loopback registry-mirrors are configured" : "");
    err->code = ENOENT;
    return -ENOENT;
  }
  *urls = v;
  return 0;
oom:
  strvfreep(&v);
  return berr_set(err, ENOMEM, "endpoints");
}

static int load_tls(struct reg_repo *r, const struct reg_config *cfg, struct berr *err)
{
  char dir[1024], path[1100];
  snprintf(dir, sizeof(dir), "%s/%s", cfg->certs_dir ? cfg->certs_dir : DEFAULT_CERTS_DIR, r->host);
  struct stat st;
  if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
    return 0;
  snprintf(path, sizeof(path), "%s/ca.crt", dir);
  if (access(path, R_OK) == 0 && !(r->ca_file = strdup(path)))
    return berr_set(err, ENOMEM, "certs.d");
  snprintf(path, sizeof(path), "%s/client.cert", dir);
  if (access(path, R_OK) == 0) {
    r->client_cert = strdup(path);
    snprintf(path, sizeof(path), "%s/client.key", dir);
    if (access(path, R_OK) != 0)
      return berr_set(err, 0, "%s/client.cert has no client.key next to it", dir);
    r->client_key = strdup(path);
  }
  return 0;
}

void reg_repo_free(struct reg_repo *r)
{
  if (!r)
    return;
  free(r->base);
  free(r->host);
  free(r->path);
  free(r->username);
  free(r->password);
  free(r->registrytoken);
  free(r->ca_file);
  free(r->client_cert);
  free(r->client_key);
  free(r->authz);
  pthread_mutex_destroy(&r->lock);
  free(r);
}

int reg_repo_open(const struct reg_config *cfg, const char *base_url, const char *path,
                  const struct reg_creds *creds, bool push, struct reg_repo **out, struct berr *err)
{
  struct reg_repo *r = calloc(1, sizeof(*r));
  if (!r)
    return berr_set(err, ENOMEM, "registry");
  pthread_mutex_init(&r->lock, NULL);
  char h[256];
  reg_url_host(base_url, h, sizeof(h));
  r->base = strdup(base_url);
  r->host = strdup(h);
  r->path = strdup(path ? path : "");
  r->push = push;
  r->loopback_only = cfg->loopback_only;
  if (creds) {
    const char *pw = creds->password && *creds->password ? creds->password : creds->identitytoken;
    r->username = creds->username ? strdup(creds->username) : NULL;
    r->password = pw ? strdup(pw) : NULL;
    r->registrytoken = creds->registrytoken ? strdup(creds->registrytoken) : NULL;
  }
  if (!r->base || !r->host || !r->path) {
    reg_repo_free(r);
    return berr_set(err, ENOMEM, "registry");
  }
  int rc = load_tls(r, cfg, err);
  if (rc < 0) {
    reg_repo_free(r);
    return rc;
  }
  *out = r;
  return 0;
}

const char *reg_repo_url(const struct reg_repo *r)
{
  return r->base;
}

int reg_repo_last_status(const struct reg_repo *r)
{
  return r->last_status;
}

int reg_ping(struct reg_repo *r, struct berr *err)
{
  struct reg_req q = {.method = "GET", .url = "/v2/", .body_fd = -1, .limit = -1};
  int rc = reg_request(r, &q, err);
  if (rc == 0 && q.status != 200)
    rc = reg_status_error(r, &q, NULL, err);
  reg_req_free(&q);
  return rc;
}

char *reg_base64(const void *buf, size_t len)
{
  char *out = malloc(BASE64_ENCODE_RAW_LENGTH(len) + 1);
  if (!out)
    return NULL;
  base64_encode_raw(out, len, buf);
  out[BASE64_ENCODE_RAW_LENGTH(len)] = '\0';
  return out;
}

int reg_base64_decode(const char *s, char **out, size_t *len)
{
  size_t n = strlen(s);
  /* X-Registry-Auth is base64url, often without padding: normalise to the standard
   * alphabet and let the decoder take the rest */
  _cleanup_free_ char *t = malloc(n + 4);
  if (!t)
    return -ENOMEM;
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (c == '\n' || c == '\r' || c == ' ')
      continue;
    t[k++] = c == '-' ? '+' : c == '_' ? '/' : c;
  }
  while (k % 4)
    t[k++] = '=';
  char *o = malloc(BASE64_DECODE_LENGTH(k) + 1);
  if (!o)
    return -ENOMEM;
  struct base64_decode_ctx ctx;
  base64_decode_init(&ctx);
  size_t m = BASE64_DECODE_LENGTH(k);
  if (!base64_decode_update(&ctx, &m, (uint8_t *)o, k, t) || !base64_decode_final(&ctx)) {
    free(o);
    return -EINVAL;
  }
  o[m] = '\0';
  *out = o;
  if (len)
    *len = m;
  return 0;
}
