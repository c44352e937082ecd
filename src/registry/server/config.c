/* berth-registry's configuration: defaults, and the JSON file of `serve --config`:
 *   {"addr": "127.0.0.1:5000", "root": "/var/lib/berth-registry",
 *    "auth": {"htpasswd": FILE, "realm": R,
 *             "token": {"realm": "https://host:port/token", "service": S, "expires_in": 300}},
 *    "tls": {"cert": FILE, "key": FILE},
 *    "limits": {"manifest_bytes": N, "upload_bytes": N, "requests": N, "chunk_min_bytes": N},
 *    "access": [{"repository": GLOB, "anonymous": "pull", "authenticated": "pull",
 *                "users": {"alice": "pull,push"}}]} */
#include "registry.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/bjson.h"
#include "common/cleanup.h"

void reg_config_defaults(struct reg_config *cfg)
{
  memset(cfg, 0, sizeof(*cfg));
  /* the spec asks registries to accept manifests of at least 4 MB */
  cfg->max_manifest_bytes = 4 * 1024 * 1024;
  cfg->token_expires = 300;
}

int reg_parse_actions(const char *s, unsigned *out)
{
  *out = 0;
  _cleanup_free_ char *copy = strdup(s ? s : "");
  char *save = NULL;
  for (char *w = copy ? strtok_r(copy, ", ", &save) : NULL; w; w = strtok_r(NULL, ", ", &save)) {
    if (strcmp(w, "pull") == 0)
      *out |= REG_PULL;
    else if (strcmp(w, "push") == 0)
      *out |= REG_PUSH;
    else if (strcmp(w, "*") == 0)
      *out |= REG_PULL | REG_PUSH;
    else if (strcmp(w, "none") != 0)
      return -EINVAL;
  }
  return 0;
}

static int dup_str(json_t *obj, const char *key, char **out, const char *where, struct berr *err)
{
  const char *v = NULL;
  int r = bjson_get_str(obj, key, false, &v, where, err);
  if (r < 0 || !v)
    return r;
  free(*out);
  *out = strdup(v);
  return *out ? 0 : berr_set(err, ENOMEM, "config");
}

static int parse_rule(json_t *j, size_t idx, struct reg_rule *rule, struct berr *err)
{
  char where[64];
  snprintf(where, sizeof(where), "access[%zu]", idx);
  if (!json_is_object(j))
    return berr_set(err, 0, "%s: want an object", where);
  int r = dup_str(j, "repository", &rule->pattern, where, err);
  if (r < 0)
    return r;
  if (!rule->pattern)
    return berr_set(err, 0, "%s.repository is required", where);
  const char *anon = NULL, *authd = NULL;
  if (bjson_get_str(j, "anonymous", false, &anon, where, err) < 0 ||
      bjson_get_str(j, "authenticated", false, &authd, where, err) < 0)
    return -EINVAL;
  if (reg_parse_actions(anon, &rule->anonymous) < 0 ||
      reg_parse_actions(authd, &rule->authenticated) < 0)
    return berr_set(err, 0, "%s: actions are pull, push, * or none", where);
  json_t *users = NULL;
  r = bjson_get_typed(j, "users", JSON_OBJECT, false, &users, where, err);
  if (r < 0)
    return r;
  size_t n = users ? json_object_size(users) : 0;
  rule->users = calloc(n + 1, sizeof(char *));
  rule->user_actions = calloc(n + 1, sizeof(unsigned));
  if (!rule->users || !rule->user_actions)
    return berr_set(err, ENOMEM, "config");
  const char *user;
  json_t *v;
  size_t k = 0;
  json_object_foreach(users, user, v)
  {
    if (!json_is_string(v) || reg_parse_actions(json_string_value(v), &rule->user_actions[k]) < 0)
      return berr_set(err, 0, "%s.users.%s: actions are pull, push, * or none", where, user);
    rule->users[k++] = strdup(user);
  }
  return 0;
}

int reg_config_load(const char *path, struct reg_config *cfg, struct berr *err)
{
  json_auto_t *j = NULL;
  int r = bjson_load_file(path, &j, err);
  if (r < 0)
    return r;
  if (!json_is_object(j))
    return berr_set(err, 0, "%s: want a JSON object", path);
  if ((r = dup_str(j, "addr", &cfg->addr, "config", err)) < 0 ||
      (r = dup_str(j, "root", &cfg->root, "config", err)) < 0)
    return r;
  json_t *auth = NULL, *token = NULL, *tls = NULL, *limits = NULL, *access = NULL;
  if ((r = bjson_get_typed(j, "auth", JSON_OBJECT, false, &auth, "config", err)) < 0 ||
      (r = bjson_get_typed(j, "tls", JSON_OBJECT, false, &tls, "config", err)) < 0 ||
      (r = bjson_get_typed(j, "limits", JSON_OBJECT, false, &limits, "config", err)) < 0 ||
      (r = bjson_get_typed(j, "access", JSON_ARRAY, false, &access, "config", err)) < 0)
    return r;
  if (auth) {
    if ((r = dup_str(auth, "htpasswd", &cfg->htpasswd, "auth", err)) < 0 ||
        (r = dup_str(auth, "realm", &cfg->realm, "auth", err)) < 0 ||
        (r = bjson_get_typed(auth, "token", JSON_OBJECT, false, &token, "auth", err)) < 0)
      return r;
    if (token) {
      int64_t exp = cfg->token_expires;
      if ((r = dup_str(token, "realm", &cfg->token_realm, "auth.token", err)) < 0 ||
          (r = dup_str(token, "service", &cfg->token_service, "auth.token", err)) < 0 ||
          (r = bjson_get_int(token, "expires_in", false, &exp, "auth.token", err)) < 0)
        return r;
      if (!cfg->token_realm)
        return berr_set(err, 0, "auth.token.realm is required");
      cfg->token_expires = (long)exp;
    }
    if (token && !cfg->htpasswd)
      return berr_set(err, 0, "auth.token needs auth.htpasswd for the users");
  }
  if (tls) {
    if ((r = dup_str(tls, "cert", &cfg->tls_cert, "tls", err)) < 0 ||
        (r = dup_str(tls, "key", &cfg->tls_key, "tls", err)) < 0)
      return r;
    if (!cfg->tls_cert || !cfg->tls_key)
      return berr_set(err, 0, "tls needs cert and key");
  }
  if (limits) {
    int64_t mb = (int64_t)cfg->max_manifest_bytes, ub = (int64_t)cfg->max_upload_bytes;
    int64_t rq = cfg->max_requests, cm = (int64_t)cfg->chunk_min_bytes;
    if ((r = bjson_get_int(limits, "manifest_bytes", false, &mb, "limits", err)) < 0 ||
        (r = bjson_get_int(limits, "upload_bytes", false, &ub, "limits", err)) < 0 ||
        (r = bjson_get_int(limits, "requests", false, &rq, "limits", err)) < 0 ||
        (r = bjson_get_int(limits, "chunk_min_bytes", false, &cm, "limits", err)) < 0)
      return r;
    cfg->max_requests = (long)rq;
    if (mb < 0 || ub < 0 || rq < 0 || cm < 0)
      return berr_set(err, 0, "limits must not be negative");
    cfg->chunk_min_bytes = (uint64_t)cm;
    cfg->max_manifest_bytes = (uint64_t)mb;
    cfg->max_upload_bytes = (uint64_t)ub;
  }
  if (access) {
    size_t n = json_array_size(access);
    cfg->rules = calloc(n ? n : 1, sizeof(struct reg_rule));
    if (!cfg->rules)
      return berr_set(err, ENOMEM, "config");
    cfg->n_rules = n;
    for (size_t i = 0; i < n; i++)
      if ((r = parse_rule(json_array_get(access, i), i, &cfg->rules[i], err)) < 0)
        return r;
  }
  return 0;
}

void reg_config_free(struct reg_config *cfg)
{
  free(cfg->addr);
  free(cfg->root);
  free(cfg->htpasswd);
  free(cfg->realm);
  free(cfg->token_realm);
  free(cfg->token_service);
  free(cfg->tls_cert);
  free(cfg->tls_key);
  for (size_t i = 0; i < cfg->n_rules; i++) {
    free(cfg->rules[i].pattern);
    for (size_t j = 0; cfg->rules[i].users && cfg->rules[i].users[j]; j++)
      free(cfg->rules[i].users[j]);
    free(cfg->rules[i].users);
    free(cfg->rules[i].user_actions);
  }
  free(cfg->rules);
  memset(cfg, 0, sizeof(*cfg));
}
