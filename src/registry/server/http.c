/* The HTTP side of berth-registry over libmicrohttpd: one thread per connection, routing of
 * /v2/ paths, auth before any body is read, request bodies streamed to their sink, the
 * spec's error JSON, and one access log line per request on stderr. */
#include "blobmap.h"
#include "registry.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/bjson.h"
#include "common/cleanup.h"
#include "common/fileutil.h"

/* Bytes past the limit of a rejected body we read and drop so the client sees the answer
 * rather than a reset; past this the connection is closed. */
#define DRAIN_MAX (1u << 20)

void reg_header(struct reg_req *r, const char *name, const char *fmt, ...)
{
  if (r->n_hdrs >= REG_MAX_HEADERS)
    return;
  char *v = NULL;
  va_list ap;
  va_start(ap, fmt);
  int n = vasprintf(&v, fmt, ap);
  va_end(ap);
  if (n < 0)
    return;
  r->hdr_name[r->n_hdrs] = strdup(name);
  r->hdr_value[r->n_hdrs] = v;
  r->n_hdrs++;
}

const char *reg_query(struct reg_req *r, const char *key)
{
  return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, key);
}

struct query_all {
  const char *key;
  const char **out;
  size_t max, n;
};

static enum MHD_Result collect_value(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
  struct query_all *q = cls;
  if (key && strcmp(key, q->key) == 0) {
    if (q->n < q->max)
      q->out[q->n] = value ? value : "";
    q->n++;
  }
  return MHD_YES;
}

size_t reg_query_all(struct reg_req *r, const char *key, const char **out, size_t max)
{
  struct query_all q = {.key = key, .out = out, .max = max};
  MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, collect_value, &q);
  return q.n;
}

struct accept_scan {
  const char *mt;
  bool seen, ok;
};

/* One Accept header: a comma-separated list of media ranges with optional parameters. */
static enum MHD_Result scan_accept(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
  struct accept_scan *a = cls;
  if (!key || strcasecmp(key, MHD_HTTP_HEADER_ACCEPT) != 0 || !value)
    return MHD_YES;
  a->seen = true;
  const char *p = value;
  while (*p && !a->ok) {
    size_t n = strcspn(p, ",");
    char item[256];
    snprintf(item, sizeof(item), "%.*s", (int)(n < sizeof(item) - 1 ? n : sizeof(item) - 1), p);
    item[strcspn(item, ";")] = '\0';
    char *s = item;
    while (*s == ' ' || *s == '\t')
      s++;
    size_t l = strlen(s);
    while (l && (s[l - 1] == ' ' || s[l - 1] == '\t'))
      s[--l] = '\0';
    a->ok = !strcasecmp(s, a->mt) || !strcmp(s, "*/*") ||
            (!strcasecmp(s, "application/*") && !strncasecmp(a->mt, "application/", 12));
    p += n;
    if (*p == ',')
      p++;
  }
  return MHD_YES;
}

bool reg_accepts(struct reg_req *r, const char *mt)
{
  struct accept_scan a = {.mt = mt};
  MHD_get_connection_values(r->conn, MHD_HEADER_KIND, scan_accept, &a);
  return !a.seen || a.ok;
}

const char *reg_hdr_in(struct reg_req *r, const char *key)
{
  return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, key);
}

static enum MHD_Result queue(struct reg_req *r, unsigned status, struct MHD_Response *resp,
                             const char *ctype, uint64_t len)
{
  if (!resp)
    return MHD_NO;
  for (size_t i = 0; i < r->n_hdrs; i++)
    MHD_add_response_header(resp, r->hdr_name[i], r->hdr_value[i]);
  MHD_add_response_header(resp, "Docker-Distribution-API-Version", "registry/2.0");
  if (ctype)
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
  enum MHD_Result res = MHD_queue_response(r->conn, status, resp);
  MHD_destroy_response(resp);
  if (res == MHD_YES) {
    r->status = status;
    r->resp_bytes = len;
  }
  return res;
}

enum MHD_Result reg_reply(struct reg_req *r, unsigned status, const char *ctype, const void *body,
                          size_t len)
{
  struct MHD_Response *resp =
      MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
  return queue(r, status, resp, ctype, len);
}

enum MHD_Result reg_reply_json(struct reg_req *r, unsigned status, json_t *j)
{
  _cleanup_free_ char *text = json_dumps(j, JSON_COMPACT);
  if (!text)
    return reg_reply_error(r, 500, "UNKNOWN", "out of memory");
  return reg_reply(r, status, "application/json", text, strlen(text));
}

static enum MHD_Result reply_error_text(struct reg_req *r, unsigned status, const char *code,
                                        const char *msg)
{
  json_auto_t *j =
      json_pack("{s:[{s:s,s:s,s:{}}]}", "errors", "code", code, "message", msg, "detail");
  if (status == 401) {
    char chal[1024];
    unsigned need = (strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0)
                        ? REG_PULL
                        : REG_PULL | REG_PUSH;
    reg_auth_challenge(r->srv->auth, r->name, need, reg_hdr_in(r, "Host"), chal, sizeof(chal));
    reg_header(r, "WWW-Authenticate", "%s", chal);
  }
  _cleanup_free_ char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
  if (!text)
    return reg_reply(r, status, "text/plain", msg, strlen(msg));
  return reg_reply(r, status, "application/json", text, strlen(text));
}

enum MHD_Result reg_reply_error(struct reg_req *r, unsigned status, const char *code,
                                const char *fmt, ...)
{
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  return reply_error_text(r, status, code, msg);
}

struct fd_body {
  int fd;
  uint64_t off;
};

static ssize_t read_fd_body(void *cls, uint64_t pos, char *buf, size_t max)
{
  struct fd_body *b = cls;
  ssize_t n;
  do
    n = pread(b->fd, buf, max, (off_t)(b->off + pos));
  while (n < 0 && errno == EINTR);
  /* a blob never shrinks: running short of its size is an error, not an end */
  return n > 0 ? n : MHD_CONTENT_READER_END_WITH_ERROR;
}

static void free_fd_body(void *cls)
{
  struct fd_body *b = cls;
  close(b->fd);
  free(b);
}

static void put_map(void *cls)
{
  blobmap_put(cls);
}

/* Bodies from 1 MiB up are sent from the blob's mapping (blobmap.c): MHD writes them into the
 * socket straight from the page cache. A 64 MiB GET over loopback with a client that copies
 * nothing (bench/registry's blobget) ran at about 1.9x the MB/s of reading 256 KiB blocks
 * into a buffer (two copies), and MHD's sendfile path, which hands the socket one page at a
 * time, was slower than either on these VMs. Smaller bodies are one read. */
#define MAPPED_BODY_MIN (1u << 20)

enum MHD_Result reg_reply_fd(struct reg_req *r, unsigned status, int fd, uint64_t off, uint64_t len,
                             const char *ctype)
{
  if (len >= MAPPED_BODY_MIN && strcmp(r->method, "HEAD") != 0) {
    struct berr err = {0};
    struct blobmap_entry *m = blobmap_get(fd, &err);
    close(fd);
    const void *data = m ? blobmap_data(m, off, len) : NULL;
    if (!data) {
      blobmap_put(m);
      return reg_reply_error(r, 500, "UNKNOWN", "%s",
                             err.msg[0] ? err.msg : "blob shorter than its size");
    }
    struct MHD_Response *resp =
        MHD_create_response_from_buffer_with_free_callback_cls(len, (void *)data, put_map, m);
    if (!resp)
      blobmap_put(m);
    return queue(r, status, resp, ctype, len);
  }
  struct fd_body *b = malloc(sizeof(*b));
  if (!b) {
    close(fd);
    return reg_reply_error(r, 500, "UNKNOWN", "out of memory");
  }
  b->fd = fd;
  b->off = off;
  size_t block = len < (256u << 10) ? (size_t)(len ? len : 1) : (256u << 10);
  struct MHD_Response *resp =
      MHD_create_response_from_callback(len, block, read_fd_body, b, free_fd_body);
  if (!resp)
    free_fd_body(b);
  return queue(r, status, resp, ctype, len);
}

void reg_body_discard(struct reg_req *r)
{
  if (r->body_fd < 0)
    return;
  if (ftruncate(r->body_fd, (off_t)r->upload_start) < 0)
    fprintf(stderr, "berth-registry: truncate upload %s: %s\n", r->upload_id, strerror(errno));
  close(r->body_fd);
  r->body_fd = -1;
}

void reg_fail(struct reg_req *r, unsigned status, const char *code, const char *fmt, ...)
{
  if (r->failed)
    return;
  r->failed = true;
  r->fail_status = status;
  snprintf(r->fail_code, sizeof(r->fail_code), "%s", code);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(r->fail_msg, sizeof(r->fail_msg), fmt, ap);
  va_end(ap);
}

static bool is_method(struct reg_req *r, const char *m)
{
  return strcmp(r->method, m) == 0;
}

static bool ends_with(const char *s, size_t len, const char *suffix)
{
  size_t n = strlen(suffix);
  return len >= n && memcmp(s + len - n, suffix, n) == 0;
}

/* The path part of the token realm: ours is served on this server. */
static const char *token_path(const char *realm)
{
  const char *p = strstr(realm, "://");
  if (!p)
    return realm;
  p = strchr(p + 3, '/');
  return p ? p : "/";
}

/* /v2/<name>/{blobs/<d>, blobs/uploads/[<id>], manifests/<ref>, tags/list, referrers/<d>}.
 * References hold no '/', so the last segment is the reference and the name is what is left
 * before the keyword: a name may itself contain "blobs" or "manifests" as components. */
static void route(struct reg_req *r)
{
  const char *u = r->url;
  if (strcmp(u, "/v2") == 0 || strcmp(u, "/v2/") == 0) {
    r->route = R_BASE;
    return;
  }
  if (r->srv->cfg->token_realm && strcmp(u, token_path(r->srv->cfg->token_realm)) == 0) {
    r->route = R_TOKEN;
    return;
  }
  if (strncmp(u, "/v2/", 4) != 0)
    return;
  u += 4;
  if (strcmp(u, "_catalog") == 0) {
    r->route = R_CATALOG;
    return;
  }
  size_t len = strlen(u);
  if (ends_with(u, len, "/tags/list")) {
    r->route = R_TAGS;
    r->name = strndup(u, len - strlen("/tags/list"));
    return;
  }
  const char *slash = strrchr(u, '/');
  if (!slash)
    return;
  size_t hlen = (size_t)(slash - u);
  const char *ref = slash + 1;
  static const struct {
    const char *suffix;
    enum reg_route route;
  } kinds[] = {{"/blobs/uploads", R_UPLOAD},
               {"/blobs", R_BLOB},
               {"/manifests", R_MANIFEST},
               {"/referrers", R_REFERRERS}};
  for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
    if (!ends_with(u, hlen, kinds[i].suffix))
      continue;
    r->route = kinds[i].route;
    r->name = strndup(u, hlen - strlen(kinds[i].suffix));
    r->ref = strdup(ref);
    if (r->route == R_UPLOAD && *ref == '\0')
      r->route = R_UPLOAD_START;
    /* "POST /v2/<name>/blobs/uploads" without the trailing slash */
    if (r->route == R_BLOB && strcmp(ref, "uploads") == 0 && is_method(r, "POST"))
      r->route = R_UPLOAD_START;
    return;
  }
}

static bool method_allowed(struct reg_req *r)
{
  bool get = is_method(r, "GET") || is_method(r, "HEAD");
  switch (r->route) {
  case R_BASE:
  case R_CATALOG:
  case R_TAGS:
  case R_REFERRERS:
  case R_TOKEN:
    return get;
  case R_BLOB:
    return get || is_method(r, "DELETE");
  case R_UPLOAD_START:
    return is_method(r, "POST");
  case R_UPLOAD:
    return get || is_method(r, "PATCH") || is_method(r, "PUT") || is_method(r, "DELETE");
  case R_MANIFEST:
    return get || is_method(r, "PUT") || is_method(r, "DELETE");
  case R_NONE:
    break;
  }
  return false;
}

/* Who is asking and may they: answers 401/403 through reg_fail. */
static void authorize(struct reg_req *r)
{
  struct reg_auth *a = r->srv->auth;
  if (!reg_auth_enabled(a) || r->route == R_TOKEN)
    return;
  const char *authz = reg_hdr_in(r, MHD_HTTP_HEADER_AUTHORIZATION);
  if (reg_auth_identify(a, authz, r->user, sizeof(r->user), &r->token_access) < 0) {
    r->user[0] = '\0';
    reg_fail(r, 401, "UNAUTHORIZED", "authentication required");
    return;
  }
  r->authenticated = r->user[0] != '\0';
  if (r->route == R_BASE || r->route == R_CATALOG) {
    if (!r->authenticated && !r->token_access)
      reg_fail(r, 401, "UNAUTHORIZED", "authentication required");
    return;
  }
  unsigned need = (is_method(r, "GET") || is_method(r, "HEAD")) ? REG_PULL : REG_PUSH;
  unsigned have = reg_auth_allowed(a, r->user, r->authenticated, r->token_access, r->name);
  if ((have & need) == need)
    return;
  if (!r->authenticated || r->token_access)
    reg_fail(r, 401, "UNAUTHORIZED", "authentication required");
  else
    reg_fail(r, 403, "DENIED", "requested access to the resource is denied");
}

static void begin(struct reg_req *r)
{
  long max = r->srv->cfg->max_requests;
  if (max > 0) {
    r->counted = true;
    if (__atomic_add_fetch(&r->srv->inflight, 1, __ATOMIC_SEQ_CST) > max) {
      reg_header(r, "Retry-After", "1");
      reg_fail(r, 429, "TOOMANYREQUESTS", "too many requests at once, try again");
      return;
    }
  }
  route(r);
  if (r->route == R_NONE) {
    reg_fail(r, 404, "NAME_UNKNOWN", "no such endpoint");
    return;
  }
  if (!method_allowed(r)) {
    reg_fail(r, 405, "UNSUPPORTED", "method %s not supported here", r->method);
    return;
  }
  if (r->name && !reg_name_valid(r->name)) {
    reg_fail(r, 400, "NAME_INVALID", "invalid repository name");
    return;
  }
  authorize(r);
  if (r->failed)
    return;
  if (r->route == R_MANIFEST && is_method(r, "PUT"))
    manifests_begin(r);
  else if (r->route == R_UPLOAD_START ||
           (r->route == R_UPLOAD && (is_method(r, "PATCH") || is_method(r, "PUT"))))
    blobs_upload_begin(r);
}

/* false: give up on the connection (a rejected body too large to drain). MHD cannot queue
 * an answer while a body is arriving, so a rejected body is read and dropped, then answered. */
static bool consume(struct reg_req *r, const char *data, size_t size)
{
  if (r->status)
    return true;
  r->body_len += size;
  if (r->failed)
    return r->body_len <= r->body_limit + DRAIN_MAX;
  if (r->body_limit && r->body_len > r->body_limit) {
    reg_fail(r, 413, "SIZE_INVALID", "body larger than the limit of %llu bytes",
             (unsigned long long)r->body_limit);
    reg_body_discard(r);
    /* an upload this request made holds nothing worth keeping: gone before the answer */
    if (r->new_upload) {
      struct berr e;
      store_upload_cancel(&r->srv->store, r->name, r->upload_id, &e);
      r->new_upload = false;
    }
    return true;
  }
  if (r->body_mem) {
    if (r->mem_len + size + 1 > r->mem_cap) {
      size_t nc = r->mem_cap ? r->mem_cap : 4096;
      while (nc < r->mem_len + size + 1)
        nc *= 2;
      char *nm = realloc(r->mem, nc);
      if (!nm) {
        reg_fail(r, 500, "UNKNOWN", "out of memory");
        return true;
      }
      r->mem = nm;
      r->mem_cap = nc;
    }
    memcpy(r->mem + r->mem_len, data, size);
    r->mem_len += size;
    r->mem[r->mem_len] = '\0';
  } else if (r->body_fd >= 0) {
    if (bf_write_all(r->body_fd, data, size) < 0) {
      reg_fail(r, 500, "UNKNOWN", "write upload: %s", strerror(errno));
      reg_body_discard(r);
    }
  }
  return true;
}

/* GET /token?service=…&scope=…: each scope parameter (repeatable, or space-separated). */
struct scope_list {
  char **v;
  size_t n;
};

static enum MHD_Result collect_scope(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
  struct scope_list *s = cls;
  if (strcmp(key, "scope") != 0 || !value || s->n >= 64)
    return MHD_YES;
  _cleanup_free_ char *copy = strdup(value);
  char *save = NULL;
  for (char *tok = copy ? strtok_r(copy, " ", &save) : NULL; tok && s->n < 64;
       tok = strtok_r(NULL, " ", &save))
    s->v[s->n++] = strdup(tok);
  return MHD_YES;
}

static enum MHD_Result handle_token(struct reg_req *r)
{
  char user[128] = "";
  json_t *ignored = NULL;
  const char *authz = reg_hdr_in(r, MHD_HTTP_HEADER_AUTHORIZATION);
  if (authz && strncasecmp(authz, "Basic ", 6) == 0 &&
      reg_auth_identify(r->srv->auth, authz, user, sizeof(user), &ignored) < 0) {
    json_decref(ignored);
    return reply_error_text(r, 401, "UNAUTHORIZED", "wrong user name or password");
  }
  json_decref(ignored);
  snprintf(r->user, sizeof(r->user), "%s", user);
  char *scopes[64] = {0};
  struct scope_list sl = {scopes, 0};
  MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, collect_scope, &sl);
  _cleanup_free_ char *json = NULL;
  struct berr err;
  int rc = reg_auth_issue_token(r->srv->auth, user, user[0] != '\0', scopes, sl.n, &json, &err);
  for (size_t i = 0; i < sl.n; i++)
    free(scopes[i]);
  if (rc < 0)
    return reply_error_text(r, 500, "UNKNOWN", err.msg);
  return reg_reply(r, 200, "application/json", json, strlen(json));
}

static enum MHD_Result finish(struct reg_req *r)
{
  if (r->failed) {
    reg_body_discard(r);
    if (r->fail_status == 416 && r->upload_id[0]) {
      int64_t size = store_upload_size(&r->srv->store, r->name, r->upload_id);
      reg_header(r, "Location", "/v2/%s/blobs/uploads/%s", r->name, r->upload_id);
      reg_header(r, "Range", "0-%lld", size > 0 ? (long long)size - 1 : 0LL);
    }
    return reply_error_text(r, r->fail_status, r->fail_code, r->fail_msg);
  }
  switch (r->route) {
  case R_BASE:
    return reg_reply(r, 200, "application/json", "{}", 2);
  case R_TOKEN:
    return handle_token(r);
  case R_CATALOG:
    return listing_catalog(r);
  case R_TAGS:
    return listing_tags(r);
  case R_BLOB:
    return blobs_handle(r);
  case R_UPLOAD_START:
  case R_UPLOAD:
    return uploads_handle(r);
  case R_MANIFEST:
    return manifests_handle(r);
  case R_REFERRERS:
    return referrers_handle(r);
  case R_NONE:
    break;
  }
  return reg_reply_error(r, 404, "NAME_UNKNOWN", "no such endpoint");
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **con_cls)
{
  struct reg_req *r = *con_cls;
  if (!r) {
    r = calloc(1, sizeof(*r));
    if (!r)
      return MHD_NO;
    r->srv = cls;
    r->conn = conn;
    r->body_fd = -1;
    r->range_len = -1;
    snprintf(r->method, sizeof(r->method), "%s", method);
    r->url = strdup(url);
    clock_gettime(CLOCK_MONOTONIC, &r->started);
    *con_cls = r;
    if (!r->url)
      return MHD_NO;
    begin(r);
    return MHD_YES;
  }
  if (*upload_data_size) {
    bool keep = consume(r, upload_data, *upload_data_size);
    *upload_data_size = 0;
    return keep ? MHD_YES : MHD_NO;
  }
  if (r->status)
    return MHD_YES;
  return finish(r);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
  struct reg_req *r = *con_cls;
  if (!r)
    return;
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  double ms = (double)(now.tv_sec - r->started.tv_sec) * 1e3 +
              (double)(now.tv_nsec - r->started.tv_nsec) / 1e6;
  char addr[INET6_ADDRSTRLEN] = "-";
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  if (ci && ci->client_addr) {
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET)
      inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, addr, sizeof(addr));
    else if (sa->sa_family == AF_INET6)
      inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, addr, sizeof(addr));
  }
  char when[64];
  time_t t = time(NULL);
  struct tm tm;
  strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
  fprintf(stderr, "%s %s %s \"%s %s\" %u %llu %llu %.1fms%s\n", when, addr,
          r->user[0] ? r->user : "-", r->method, r->url ? r->url : "-", r->status,
          (unsigned long long)r->body_len, (unsigned long long)r->resp_bytes, ms,
          toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " (aborted)");
  if (r->counted)
    __atomic_sub_fetch(&r->srv->inflight, 1, __ATOMIC_SEQ_CST);
  /* still open: the body never completed (client gone); the upload keeps only what it had */
  reg_body_discard(r);
  /* an upload this request opened and did not finish (client gone mid-body) goes away */
  if (r->new_upload && r->upload_id[0] &&
      (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK || r->status >= 400)) {
    struct berr e;
    store_upload_cancel(&r->srv->store, r->name, r->upload_id, &e);
  }
  for (size_t i = 0; i < r->n_hdrs; i++) {
    free(r->hdr_name[i]);
    free(r->hdr_value[i]);
  }
  json_decref(r->token_access);
  free(r->mem);
  free(r->url);
  free(r->name);
  free(r->ref);
  free(r);
  *con_cls = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
  vfprintf(stderr, fmt, ap);
}

static int listen_on(const char *addr, int *out, char *actual, size_t alen, struct berr *err)
{
  _cleanup_free_ char *copy = strdup(addr);
  if (!copy)
    return berr_set(err, ENOMEM, "listen");
  char *colon = strrchr(copy, ':');
  if (!colon)
    return berr_set(err, 0, "listen address %s: want HOST:PORT", addr);
  *colon = '\0';
  const char *host = copy;
  char *end;
  long port = strtol(colon + 1, &end, 10);
  if (*end || port < 0 || port > 65535)
    return berr_set(err, 0, "listen address %s: bad port", addr);
  if (*host == '[') {
    host++;
    char *rb = strchr(copy, ']');
    if (rb)
      *rb = '\0';
  }
  if (!*host)
    host = "0.0.0.0";
  struct sockaddr_storage ss = {0};
  socklen_t sl;
  struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
  struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
  if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
    s4->sin_family = AF_INET;
    s4->sin_port = htons((uint16_t)port);
    sl = sizeof(*s4);
  } else if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons((uint16_t)port);
    sl = sizeof(*s6);
  } else if (strcmp(host, "localhost") == 0) {
    s4->sin_family = AF_INET;
    s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    s4->sin_port = htons((uint16_t)port);
    sl = sizeof(*s4);
  } else {
    return berr_set(err, 0, "listen address %s: host must be an IP address", addr);
  }
  _cleanup_close_ int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return berr_errno(err, "socket");
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (bind(fd, (struct sockaddr *)&ss, sl) < 0)
    return berr_errno(err, "bind %s", addr);
  if (listen(fd, 512) < 0)
    return berr_errno(err, "listen %s", addr);
  struct sockaddr_storage got;
  socklen_t gl = sizeof(got);
  getsockname(fd, (struct sockaddr *)&got, &gl);
  char ip[INET6_ADDRSTRLEN];
  if (got.ss_family == AF_INET) {
    inet_ntop(AF_INET, &((struct sockaddr_in *)&got)->sin_addr, ip, sizeof(ip));
    snprintf(actual, alen, "%s:%u", ip, ntohs(((struct sockaddr_in *)&got)->sin_port));
  } else {
    inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&got)->sin6_addr, ip, sizeof(ip));
    snprintf(actual, alen, "[%s]:%u", ip, ntohs(((struct sockaddr_in6 *)&got)->sin6_port));
  }
  *out = steal_fd(&fd);
  return 0;
}

int reg_server_start(struct reg_server *srv, struct berr *err)
{
  struct reg_config *cfg = srv->cfg;
  int fd = -1;
  char actual[128];
  int r = listen_on(cfg->addr, &fd, actual, sizeof(actual), err);
  if (r < 0)
    return r;
  unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL |
                   MHD_USE_ERROR_LOG;
  _cleanup_free_ char *cert = NULL, *key = NULL;
  if (cfg->tls_cert || cfg->tls_key) {
    size_t n;
    if (!cfg->tls_cert || !cfg->tls_key) {
      close(fd);
      return berr_set(err, 0, "tls needs both a certificate and a key");
    }
    if (bf_read_all(cfg->tls_cert, &cert, &n, err) < 0 ||
        bf_read_all(cfg->tls_key, &key, &n, err) < 0) {
      close(fd);
      return berr_wrap(err, "tls");
    }
    flags |= MHD_USE_TLS;
  }
  struct MHD_OptionItem opts[] = {
      {MHD_OPTION_LISTEN_SOCKET, fd, NULL},
      {MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, srv},
      {MHD_OPTION_CONNECTION_TIMEOUT, 300, NULL},
      {MHD_OPTION_CONNECTION_MEMORY_LIMIT, 128 * 1024, NULL},
      {cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, cert},
      {key ? MHD_OPTION_HTTPS_MEM_KEY : MHD_OPTION_END, 0, key},
      {MHD_OPTION_END, 0, NULL},
  };
  srv->mhd = MHD_start_daemon(flags, 0, NULL, NULL, on_access, srv, MHD_OPTION_EXTERNAL_LOGGER,
                              mhd_log, NULL, MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
  if (!srv->mhd) {
    close(fd);
    return berr_set(err, 0, "cannot start the HTTP server on %s", cfg->addr);
  }
  fprintf(stderr, "berth-registry listening on %s (%s)\n", actual, cert ? "https" : "http");
  return 0;
}

void reg_server_stop(struct reg_server *srv)
{
  if (srv->mhd)
    MHD_stop_daemon(srv->mhd);
  srv->mhd = NULL;
}
