/* Answering a registry's WWW-Authenticate challenge: Basic with the credentials, or the
 * Bearer token flow (GET realm?service=…&scope=…, anonymous or with Basic credentials). */
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/cleanup.h"
#include "request.h"

/* Bearer realm="https://auth/token",service="registry",scope="repository:x:pull" */
int reg_challenge_parse(const char *s, struct reg_challenge *c, struct berr *err)
{
  memset(c, 0, sizeof(*c));
  size_t n = strcspn(s, " ");
  if (n == 0 || n >= sizeof(c->scheme))
    return berr_set(err, 0, "bad WWW-Authenticate header \"%s\"", s);
  memcpy(c->scheme, s, n);
  const char *p = s + n;
  while (*p) {
    while (*p == ' ' || *p == ',')
      p++;
    const char *eq = strchr(p, '=');
    if (!eq)
      break;
    char key[32];
    snprintf(key, sizeof(key), "%.*s", (int)(eq - p), p);
    p = eq + 1;
    char val[1024];
    size_t k = 0;
    if (*p == '"') {
      p++;
      while (*p && *p != '"') {
        if (*p == '\\' && p[1])
          p++;
        if (k < sizeof(val) - 1)
          val[k++] = *p;
        p++;
      }
      if (*p == '"')
        p++;
    } else {
      while (*p && *p != ',' && *p != ' ') {
        if (k < sizeof(val) - 1)
          val[k++] = *p;
        p++;
      }
    }
    val[k] = '\0';
    for (char *q = key; *q; q++)
      *q = (char)tolower((unsigned char)*q);
    if (!strcmp(key, "realm"))
      snprintf(c->realm, sizeof(c->realm), "%s", val);
    else if (!strcmp(key, "service"))
      snprintf(c->service, sizeof(c->service), "%s", val);
    else if (!strcmp(key, "scope"))
      snprintf(c->scope, sizeof(c->scope), "%s", val);
  }
  return 0;
}

static char *basic_value(struct reg_repo *r)
{
  _cleanup_free_ char *up = NULL;
  if (asprintf(&up, "%s:%s", r->username, r->password ? r->password : "") < 0)
    return NULL;
  _cleanup_free_ char *b = reg_base64(up, strlen(up));
  char *v = NULL;
  if (!b || asprintf(&v, "Basic %s", b) < 0)
    return NULL;
  return v;
}

static void set_authz(struct reg_repo *r, char *v)
{
  pthread_mutex_lock(&r->lock);
  free(r->authz);
  r->authz = v;
  pthread_mutex_unlock(&r->lock);
}

static int append_scope(char **url, CURL *esc, const char *scope)
{
  char *e = curl_easy_escape(esc, scope, 0);
  if (!e)
    return -ENOMEM;
  char *n = NULL;
  int rc = asprintf(&n, "%s&scope=%s", *url, e);
  curl_free(e);
  if (rc < 0)
    return -ENOMEM;
  free(*url);
  *url = n;
  return 0;
}

static int fetch_token(struct reg_repo *r, const struct reg_challenge *c, struct berr *err)
{
  if (!c->realm[0])
    return berr_set(err, 0, "Bearer challenge without a realm");
  int lr = reg_curl_load(err);
  if (lr < 0)
    return lr;
  CURL *esc = curl_easy_init();
  if (!esc)
    return berr_set(err, ENOMEM, "token");
  char *svc = curl_easy_escape(esc, c->service, 0);
  _cleanup_free_ char *url = NULL;
  int rc =
      asprintf(&url, "%s%sservice=%s", c->realm, strchr(c->realm, '?') ? "&" : "?", svc ? svc : "");
  curl_free(svc);
  if (rc < 0) {
    url = NULL;
    curl_easy_cleanup(esc);
    return berr_set(err, ENOMEM, "token");
  }
  char own[1200];
  snprintf(own, sizeof(own), "repository:%s:%s", r->path, r->push ? "pull,push" : "pull");
  rc = 0;
  if (r->path[0])
    rc = append_scope(&url, esc, own);
  /* the challenge names what this request needs (a mount also needs the source repo) */
  if (rc == 0 && c->scope[0] && strcmp(c->scope, own) != 0) {
    _cleanup_free_ char *sc = strdup(c->scope);
    char *save = NULL;
    for (char *t = sc ? strtok_r(sc, " ", &save) : NULL; t && rc == 0;
         t = strtok_r(NULL, " ", &save))
      if (strcmp(t, own) != 0)
        rc = append_scope(&url, esc, t);
  }
  curl_easy_cleanup(esc);
  if (rc < 0)
    return berr_set(err, ENOMEM, "token");

  /* the token request carries the credentials (Basic); without any it is anonymous */
  if (r->username && *r->username)
    set_authz(r, basic_value(r));
  else
    set_authz(r, NULL);
  struct reg_req q = {
      .method = "GET", .url = url, .body_fd = -1, .no_auth_retry = true, .limit = -1};
  rc = reg_request(r, &q, err);
  if (rc < 0) {
    reg_req_free(&q);
    return berr_wrap(err, "get token");
  }
  if (q.status != 200) {
    set_authz(r, NULL);
    if (q.status == 401 || q.status == 403) {
      reg_req_free(&q);
      berr_set(err, 0, "unauthorized: incorrect username or password");
      err->code = EACCES;
      return -EACCES;
    }
    rc = reg_status_error(r, &q, "get token", err);
    reg_req_free(&q);
    return rc;
  }
  json_auto_t *j = json_loadb(q.resp ? q.resp : "", q.resp_len, 0, NULL);
  reg_req_free(&q);
  const char *tok = json_string_value(json_object_get(j, "token"));
  if (!tok || !*tok)
    tok = json_string_value(json_object_get(j, "access_token"));
  if (!tok || !*tok) {
    set_authz(r, NULL);
    return berr_set(err, 0, "token server answered without a token");
  }
  char *v = NULL;
  if (asprintf(&v, "Bearer %s", tok) < 0)
    return berr_set(err, ENOMEM, "token");
  set_authz(r, v);
  return 0;
}

int reg_auth_answer(struct reg_repo *r, const char *header, struct berr *err)
{
  struct reg_challenge c;
  int rc = reg_challenge_parse(header, &c, err);
  if (rc < 0)
    return rc;
  if (!strcasecmp(c.scheme, "basic")) {
    if (!r->username || !*r->username) {
      berr_set(err, 0, "unauthorized: authentication required");
      err->code = EACCES;
      return -EACCES;
    }
    set_authz(r, basic_value(r));
    return 0;
  }
  if (!strcasecmp(c.scheme, "bearer")) {
    if (r->registrytoken && *r->registrytoken) {
      char *v = NULL;
      if (asprintf(&v, "Bearer %s", r->registrytoken) < 0)
        return berr_set(err, ENOMEM, "token");
      set_authz(r, v);
      return 0;
    }
    return fetch_token(r, &c, err);
  }
  return berr_set(err, 0, "unsupported authentication scheme \"%s\"", c.scheme);
}
