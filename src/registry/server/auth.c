/* Who may do what: htpasswd (bcrypt, through libcrypt's crypt_rn) for Basic credentials,
 * HMAC-signed Bearer tokens from our own token endpoint, and per-repository rules. */
#include "registry.h"

#include <crypt.h>
#include <errno.h>
#include <fnmatch.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>

#include "common/bjson.h"
#include "common/cleanup.h"
#include "common/fileutil.h"

/* Recently verified Basic credentials, so a bcrypt is not paid on every request; keyed by
 * the sha256 of the header, dropped when the htpasswd file changes. */
#define CACHE_SLOTS 64

struct cred_cache {
  unsigned char key[32];
  char user[128];
  bool used;
};

struct reg_auth {
  const struct reg_config *cfg;
  pthread_mutex_t lock;
  /* htpasswd, reloaded when its mtime changes */
  char **users;
  char **hashes;
  size_t n;
  struct timespec mtime;
  struct cred_cache cache[CACHE_SLOTS];
  unsigned next_slot;
  unsigned char secret[32];
};

static void free_table(struct reg_auth *a)
{
  for (size_t i = 0; i < a->n; i++) {
    free(a->users[i]);
    free(a->hashes[i]);
  }
  free(a->users);
  free(a->hashes);
  a->users = a->hashes = NULL;
  a->n = 0;
}

/* Called with the lock held. */
static int load_htpasswd(struct reg_auth *a, struct berr *err)
{
  struct stat sb;
  if (stat(a->cfg->htpasswd, &sb) < 0)
    return berr_errno(err, "htpasswd %s", a->cfg->htpasswd);
  if (a->users && sb.st_mtim.tv_sec == a->mtime.tv_sec && sb.st_mtim.tv_nsec == a->mtime.tv_nsec)
    return 0;
  _cleanup_free_ char *text = NULL;
  size_t len;
  int r = bf_read_all(a->cfg->htpasswd, &text, &len, err);
  if (r < 0)
    return r;
  free_table(a);
  memset(a->cache, 0, sizeof(a->cache));
  size_t cap = 16;
  a->users = calloc(cap, sizeof(char *));
  a->hashes = calloc(cap, sizeof(char *));
  char *save = NULL;
  for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    line[strcspn(line, "\r")] = '\0';
    char *colon = strchr(line, ':');
    if (line[0] == '#' || !colon)
      continue;
    *colon = '\0';
    if (a->n == cap) {
      cap *= 2;
      a->users = realloc(a->users, cap * sizeof(char *));
      a->hashes = realloc(a->hashes, cap * sizeof(char *));
    }
    if (!a->users || !a->hashes)
      return berr_set(err, ENOMEM, "htpasswd");
    a->users[a->n] = strdup(line);
    a->hashes[a->n] = strdup(colon + 1);
    a->n++;
  }
  a->mtime = sb.st_mtim;
  return 0;
}

int reg_auth_new(const struct reg_config *cfg, struct reg_auth **out, struct berr *err)
{
  struct reg_auth *a = calloc(1, sizeof(*a));
  if (!a)
    return berr_set(err, ENOMEM, "auth");
  a->cfg = cfg;
  pthread_mutex_init(&a->lock, NULL);
  if (getrandom(a->secret, sizeof(a->secret), 0) != sizeof(a->secret)) {
    reg_auth_free(a);
    return berr_errno(err, "getrandom");
  }
  if (cfg->htpasswd) {
    int r = load_htpasswd(a, err);
    if (r < 0) {
      reg_auth_free(a);
      return r;
    }
  }
  *out = a;
  return 0;
}

void reg_auth_free(struct reg_auth *a)
{
  if (!a)
    return;
  free_table(a);
  pthread_mutex_destroy(&a->lock);
  free(a);
}

bool reg_auth_enabled(const struct reg_auth *a)
{
  return a && a->cfg->htpasswd;
}

static bool check_password(struct reg_auth *a, const char *user, const char *pass)
{
  /* unknown users pay a bcrypt too, so timing does not tell which names exist */
  static const char dummy[] = "$2y$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW";
  _cleanup_free_ char *hash = NULL;
  pthread_mutex_lock(&a->lock);
  struct berr err;
  load_htpasswd(a, &err);
  for (size_t i = 0; i < a->n; i++)
    if (strcmp(a->users[i], user) == 0)
      hash = strdup(a->hashes[i]);
  pthread_mutex_unlock(&a->lock);
  _cleanup_free_ struct crypt_data *cd = calloc(1, sizeof(*cd));
  if (!cd)
    return false;
  const char *setting = hash ? hash : dummy;
  /* only bcrypt: anything weaker in the file is refused, as distribution does */
  if (strncmp(setting, "$2", 2) != 0)
    return false;
  /* crypt_rn, not crypt_r: same hashing, and sanitizers' crypt_r interceptor cannot find
   * libxcrypt's (a NULL call under ASan) */
  const char *got = crypt_rn(pass, setting, cd, (int)sizeof(*cd));
  return hash && got && got[0] != '*' && strlen(got) == strlen(hash) &&
         CRYPTO_memcmp(got, hash, strlen(hash)) == 0;
}

static int b64_decode(const char *in, unsigned char *out, size_t outlen)
{
  size_t len = strlen(in);
  if (len == 0 || len % 4 || (len / 4) * 3 + 1 > outlen)
    return -1;
  int n = EVP_DecodeBlock(out, (const unsigned char *)in, (int)len);
  if (n < 0)
    return -1;
  if (in[len - 1] == '=')
    n--;
  if (in[len - 2] == '=')
    n--;
  out[n] = '\0';
  return n;
}

static int verify_basic(struct reg_auth *a, const char *b64, char *user, size_t ulen)
{
  unsigned char key[32];
  unsigned kl = 0;
  EVP_Digest(b64, strlen(b64), key, &kl, EVP_sha256(), NULL);
  pthread_mutex_lock(&a->lock);
  struct berr err;
  load_htpasswd(a, &err);
  for (size_t i = 0; i < CACHE_SLOTS; i++) {
    if (a->cache[i].used && memcmp(a->cache[i].key, key, 32) == 0) {
      snprintf(user, ulen, "%s", a->cache[i].user);
      pthread_mutex_unlock(&a->lock);
      return 0;
    }
  }
  pthread_mutex_unlock(&a->lock);
  unsigned char dec[1024];
  if (strlen(b64) > 1300 || b64_decode(b64, dec, sizeof(dec)) < 0)
    return -EACCES;
  char *colon = strchr((char *)dec, ':');
  if (!colon)
    return -EACCES;
  *colon = '\0';
  if (!check_password(a, (char *)dec, colon + 1))
    return -EACCES;
  snprintf(user, ulen, "%s", (char *)dec);
  pthread_mutex_lock(&a->lock);
  struct cred_cache *slot = &a->cache[a->next_slot++ % CACHE_SLOTS];
  memcpy(slot->key, key, 32);
  snprintf(slot->user, sizeof(slot->user), "%s", user);
  slot->used = true;
  pthread_mutex_unlock(&a->lock);
  return 0;
}

/* base64url without padding */
static char *b64url(const unsigned char *in, size_t len)
{
  size_t cap = 4 * ((len + 2) / 3) + 1;
  char *out = malloc(cap);
  if (!out)
    return NULL;
  int n = EVP_EncodeBlock((unsigned char *)out, in, (int)len);
  while (n > 0 && out[n - 1] == '=')
    n--;
  out[n] = '\0';
  for (char *p = out; *p; p++)
    *p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
  return out;
}

static int b64url_decode(const char *in, unsigned char *out, size_t outlen)
{
  size_t len = strlen(in);
  _cleanup_free_ char *std = malloc(len + 4);
  if (!std)
    return -1;
  for (size_t i = 0; i < len; i++)
    std[i] = in[i] == '-' ? '+' : in[i] == '_' ? '/' : in[i];
  while (len % 4)
    std[len++] = '=';
  std[len] = '\0';
  return b64_decode(std, out, outlen);
}

static void sign(struct reg_auth *a, const char *payload, unsigned char mac[32])
{
  unsigned ml = 0;
  HMAC(EVP_sha256(), a->secret, sizeof(a->secret), (const unsigned char *)payload, strlen(payload),
       mac, &ml);
}

static int verify_token(struct reg_auth *a, const char *tok, char *user, size_t ulen,
                        json_t **access)
{
  const char *dot = strchr(tok, '.');
  if (!dot || strlen(tok) > 8192)
    return -EACCES;
  _cleanup_free_ char *payload = strndup(tok, (size_t)(dot - tok));
  unsigned char mac[32], got[64];
  if (!payload)
    return -EACCES;
  sign(a, payload, mac);
  if (b64url_decode(dot + 1, got, sizeof(got)) != 32 || CRYPTO_memcmp(mac, got, 32) != 0)
    return -EACCES;
  _cleanup_free_ unsigned char *json = malloc(strlen(payload) + 4);
  if (!json)
    return -EACCES;
  int n = b64url_decode(payload, json, strlen(payload) + 4);
  if (n < 0)
    return -EACCES;
  json_auto_t *claims = json_loadb((char *)json, (size_t)n, 0, NULL);
  json_t *exp = json_object_get(claims, "exp");
  if (!json_is_integer(exp) || json_integer_value(exp) < time(NULL))
    return -EACCES;
  snprintf(user, ulen, "%s", json_string_value(json_object_get(claims, "sub")) ?: "");
  json_t *acc = json_object_get(claims, "access");
  *access = json_is_array(acc) ? json_incref(acc) : json_array();
  return 0;
}

int reg_auth_identify(struct reg_auth *a, const char *authorization, char *user, size_t ulen,
                      json_t **token_access)
{
  user[0] = '\0';
  *token_access = NULL;
  if (!authorization)
    return 0;
  if (strncasecmp(authorization, "Basic ", 6) == 0)
    return verify_basic(a, authorization + 6, user, ulen);
  if (strncasecmp(authorization, "Bearer ", 7) == 0)
    return verify_token(a, authorization + 7, user, ulen, token_access);
  return -EACCES;
}

unsigned reg_auth_allowed(struct reg_auth *a, const char *user, bool authenticated,
                          json_t *token_access, const char *repo)
{
  if (!reg_auth_enabled(a))
    return REG_PULL | REG_PUSH;
  if (!repo)
    return 0;
  if (token_access) {
    /* a token grants what it lists, nothing more */
    size_t i;
    json_t *e;
    json_array_foreach(token_access, i, e)
    {
      const char *name = json_string_value(json_object_get(e, "name"));
      if (!name || strcmp(name, repo) != 0)
        continue;
      unsigned bits = 0;
      size_t j;
      json_t *act;
      json_array_foreach(json_object_get(e, "actions"), j, act)
      {
        const char *s = json_string_value(act);
        if (s && strcmp(s, "pull") == 0)
          bits |= REG_PULL;
        if (s && strcmp(s, "push") == 0)
          bits |= REG_PUSH;
      }
      return bits;
    }
    return 0;
  }
  const struct reg_config *cfg = a->cfg;
  for (size_t i = 0; i < cfg->n_rules; i++) {
    const struct reg_rule *rule = &cfg->rules[i];
    if (fnmatch(rule->pattern, repo, 0) != 0)
      continue;
    unsigned bits = rule->anonymous;
    if (authenticated) {
      bits |= rule->authenticated;
      for (size_t j = 0; rule->users && rule->users[j]; j++)
        if (strcmp(rule->users[j], user) == 0)
          bits |= rule->user_actions[j];
    }
    return bits;
  }
  /* no rule: every authenticated user may pull and push, anonymous nothing */
  return authenticated ? REG_PULL | REG_PUSH : 0;
}

void reg_auth_challenge(struct reg_auth *a, const char *repo, unsigned actions, const char *host,
                        char *out, size_t len)
{
  const struct reg_config *cfg = a->cfg;
  if (!cfg->token_realm) {
    snprintf(out, len, "Basic realm=\"%s\"", cfg->realm ? cfg->realm : "berth-registry");
    return;
  }
  int n;
  /* the Host goes into a quoted string: only a plain host[:port] is used */
  if (host && (!*host || strlen(host) > 255 || strpbrk(host, "\" \t\\,;/")))
    host = NULL;
  if (!host)
    host = cfg->addr;
  if (cfg->token_realm[0] == '/')
    n = snprintf(out, len, "Bearer realm=\"%s://%s%s\"", cfg->tls_cert ? "https" : "http",
                 host ? host : "localhost", cfg->token_realm);
  else
    n = snprintf(out, len, "Bearer realm=\"%s\"", cfg->token_realm);
  if (n > 0 && (size_t)n < len)
    n += snprintf(out + n, len - (size_t)n, ",service=\"%s\"",
                  cfg->token_service ? cfg->token_service : "berth-registry");
  if (repo && n > 0 && (size_t)n < len)
    snprintf(out + n, len - (size_t)n, ",scope=\"repository:%s:%s\"", repo,
             (actions & REG_PUSH) ? "pull,push" : "pull");
}

int reg_auth_issue_token(struct reg_auth *a, const char *user, bool authenticated, char **scopes,
                         size_t n_scopes, char **json_out, struct berr *err)
{
  json_auto_t *access = json_array();
  for (size_t i = 0; i < n_scopes; i++) {
    /* repository:<name>:<actions>; the name may hold a host:port, so split at both ends */
    const char *s = scopes[i];
    const char *first = strchr(s, ':'), *last = strrchr(s, ':');
    if (!first || first == last || strncmp(s, "repository", (size_t)(first - s)) != 0)
      continue;
    _cleanup_free_ char *name = strndup(first + 1, (size_t)(last - first - 1));
    if (!name || !reg_name_valid(name))
      continue;
    unsigned allowed = reg_auth_allowed(a, user, authenticated, NULL, name);
    json_t *acts = json_array();
    _cleanup_free_ char *want = strdup(last + 1);
    char *save = NULL;
    for (char *w = want ? strtok_r(want, ",", &save) : NULL; w; w = strtok_r(NULL, ",", &save)) {
      /* the grant is the intersection of what was asked and what is allowed */
      if ((strcmp(w, "pull") == 0 && (allowed & REG_PULL)) ||
          (strcmp(w, "push") == 0 && (allowed & REG_PUSH)))
        json_array_append_new(acts, json_string(w));
      if (strcmp(w, "*") == 0 && allowed == (REG_PULL | REG_PUSH)) {
        json_array_append_new(acts, json_string("pull"));
        json_array_append_new(acts, json_string("push"));
      }
    }
    json_array_append_new(
        access, json_pack("{s:s,s:s,s:o}", "type", "repository", "name", name, "actions", acts));
  }
  long expires = a->cfg->token_expires > 0 ? a->cfg->token_expires : 300;
  time_t now = time(NULL);
  json_auto_t *claims =
      json_pack("{s:s,s:I,s:I,s:O}", "sub", authenticated ? user : "", "exp",
                (json_int_t)(now + expires), "iat", (json_int_t)now, "access", access);
  _cleanup_free_ char *cj = claims ? json_dumps(claims, JSON_COMPACT) : NULL;
  if (!cj)
    return berr_set(err, ENOMEM, "token");
  _cleanup_free_ char *payload = b64url((const unsigned char *)cj, strlen(cj));
  unsigned char mac[32];
  sign(a, payload, mac);
  _cleanup_free_ char *sig = b64url(mac, sizeof(mac));
  _cleanup_free_ char *token = NULL;
  if (asprintf(&token, "%s.%s", payload, sig) < 0)
    return berr_set(err, ENOMEM, "token");
  char issued[64];
  struct tm tm;
  strftime(issued, sizeof(issued), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
  json_auto_t *resp = json_pack("{s:s,s:s,s:I,s:s}", "token", token, "access_token", token,
                                "expires_in", (json_int_t)expires, "issued_at", issued);
  *json_out = resp ? json_dumps(resp, JSON_COMPACT) : NULL;
  return *json_out ? 0 : berr_set(err, ENOMEM, "token");
}
