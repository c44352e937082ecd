/* HTTP to berthd over a Unix socket with libcurl. One easy handle per process keeps the
 * connection alive across the several calls a command makes. */
#include "http.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "xalloc.h"

void http_resp_free(struct http_resp *r)
{
  free(r->body);
  r->body = NULL;
  r->len = 0;
}

int client_init(struct client *c, const char *host, struct berr *err)
{
  memset(c, 0, sizeof(*c));
  if (!host || !*host)
    host = "unix://" BERTH_DEFAULT_SOCK;
  if (strncmp(host, "unix://", 7) == 0) {
    snprintf(c->sock_path, sizeof(c->sock_path), "%s", host + 7);
    snprintf(c->host, sizeof(c->host), "%s", host);
  } else if (host[0] == '/') {
    snprintf(c->sock_path, sizeof(c->sock_path), "%s", host);
    snprintf(c->host, sizeof(c->host), "unix://%s", host);
  } else {
    return berr_set(err, 0, "unsupported host %s: only unix:///path is supported", host);
  }
  curl_global_init(CURL_GLOBAL_NOTHING);
  c->curl = curl_easy_init();
  if (!c->curl)
    return berr_set(err, ENOMEM, "curl init");
  return 0;
}

void client_close(struct client *c)
{
  if (c->curl)
    curl_easy_cleanup(c->curl);
  c->curl = NULL;
}

struct collect {
  struct http_resp *resp;
  FILE *mem;
  http_sink_fn sink;
  void *ud;
  int sink_err;
};

static size_t header_cb(char *buf, size_t size, size_t n, void *ud)
{
  struct collect *col = ud;
  size_t len = size * n;
  if (len > 13 && strncasecmp(buf, "content-type:", 13) == 0) {
    const char *v = buf + 13;
    while (*v == ' ')
      v++;
    size_t vl = len - (size_t)(v - buf);
    while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n'))
      vl--;
    if (vl >= sizeof(col->resp->content_type))
      vl = sizeof(col->resp->content_type) - 1;
    memcpy(col->resp->content_type, v, vl);
    col->resp->content_type[vl] = 0;
  }
  return len;
}

static size_t write_cb(char *buf, size_t size, size_t n, void *ud)
{
  struct collect *col = ud;
  size_t len = size * n;
  if (col->sink && col->resp->status == 0) {
    long code = 0;
    (void)code;
  }
  if (col->sink && !col->mem) {
    int r = col->sink(col->ud, buf, len);
    if (r < 0) {
      col->sink_err = r;
      return 0;
    }
    return len;
  }
  fwrite(buf, 1, len, col->mem);
  return len;
}

/* Decide per response whether the body goes to the sink (2xx) or is collected (error). */
static size_t header_status_cb(char *buf, size_t size, size_t n, void *ud)
{
  struct collect *col = ud;
  size_t len = size * n;
  if (len > 9 && strncmp(buf, "HTTP/", 5) == 0) {
    const char *sp = strchr(buf, ' ');
    long status = sp ? strtol(sp + 1, NULL, 10) : 0;
    col->resp->content_type[0] = 0;
    if (col->sink) {
      if (status >= 400 && !col->mem)
        col->mem = open_memstream(&col->resp->body, &col->resp->len);
    }
  }
  return header_cb(buf, size, n, ud);
}

static int connect_error(struct client *c, CURLcode rc, struct berr *err)
{
  if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST) {
    berr_set(err, 0, "Cannot connect to the berth daemon at %s. Is berthd running?", c->host);
    err->code = EHOSTDOWN;
    return HTTP_ENOTCONN;
  }
  berr_set(err, 0, "error during connect: %s", curl_easy_strerror(rc));
  err->code = EHOSTDOWN;
  return HTTP_ENOTCONN;
}

static int perform(struct client *c, const char *method, const char *path, const char *body,
                   size_t blen, FILE *upload, const char *upload_type, struct collect *col,
                   struct berr *err)
{
  CURL *h = c->curl;
  curl_easy_reset(h);
  _cleanup_free_ char *url = NULL;
  if (asprintf(&url, "http://api.moby.localhost%s%s",
               strncmp(path, "/_ping", 6) == 0 ? "" : BERTH_API_PREFIX, path) < 0)
    return berr_errno(err, "url");
  curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, c->sock_path);
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_USERAGENT, "berth/" BERTH_VERSION " (linux)");
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, header_status_cb);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, col);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_cb);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, col);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  struct curl_slist *hdrs = NULL;
  /* curl would add "Expect: 100-continue" to uploads; the daemon need not know it */
  hdrs = curl_slist_append(hdrs, "Expect:");
  if (strcmp(method, "HEAD") == 0) {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else if (upload) {
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_READDATA, upload);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    hdrs = curl_slist_append(hdrs, "Transfer-Encoding: chunked");
    char ct[160];
    snprintf(ct, sizeof(ct), "Content-Type: %s", upload_type ? upload_type : "application/x-tar");
    hdrs = curl_slist_append(hdrs, ct);
  } else if (strcmp(method, "POST") == 0) {
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "");
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)(body ? blen : 0));
    hdrs = curl_slist_append(hdrs, body ? "Content-Type: application/json" : "Content-Type:");
  } else if (strcmp(method, "GET") != 0) {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    if (body) {
      curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
      curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)blen);
      hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
    }
  }
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
  CURLcode rc = curl_easy_perform(h);
  curl_slist_free_all(hdrs);
  if (col->mem) {
    fclose(col->mem);
    col->mem = NULL;
  }
  if (col->sink_err)
    return col->sink_err;
  if (rc != CURLE_OK)
    return connect_error(c, rc, err);
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &col->resp->status);
  if (col->resp->status >= 400)
    return http_daemon_error(col->resp, path, err);
  return 0;
}

int http_daemon_error(struct http_resp *resp, const char *path, struct berr *err)
{
  const char *reason = resp->status == 404   ? "Not Found"
                       : resp->status == 400 ? "Bad Request"
                       : resp->status == 409 ? "Conflict"
                       : resp->status == 500 ? "Internal Server Error"
                                             : "Error";
  if (strcmp(resp->content_type, "application/json") == 0 && resp->body) {
    json_auto_t *j = json_loadb(resp->body, resp->len, 0, NULL);
    const char *m = j ? json_string_value(json_object_get(j, "message")) : NULL;
    if (m && *m)
      berr_set(err, 0, "%s", m);
    else
      berr_set(err, 0, "API returned a %ld (%s) but provided no error-message", resp->status,
               reason);
  } else if (resp->body && resp->len) {
    size_t l = resp->len;
    while (l &&
           (resp->body[l - 1] == '\n' || resp->body[l - 1] == '\r' || resp->body[l - 1] == ' '))
      l--;
    berr_set(err, 0, "%.*s", (int)l, resp->body);
  } else {
    berr_set(err, 0,
             "request returned %s for API route and version http://api.moby.localhost%s%s, "
             "check if the server supports the requested API version",
             reason, BERTH_API_PREFIX, path);
  }
  err->code = EPROTO;
  return HTTP_EDAEMON;
}

int http_do(struct client *c, const char *method, const char *path, json_t *body,
            struct http_resp *resp, struct berr *err)
{
  memset(resp, 0, sizeof(*resp));
  /* Go's json.Encoder ends the body with a newline; send byte-identical bodies */
  _cleanup_free_ char *dump = body ? json_dumps(body, JSON_COMPACT) : NULL;
  _cleanup_free_ char *text = NULL;
  if (dump && asprintf(&text, "%s\n", dump) < 0)
    return berr_errno(err, "request body");
  struct collect col = {.resp = resp};
  col.mem = open_memstream(&resp->body, &resp->len);
  return perform(c, method, path, text, text ? strlen(text) : 0, NULL, NULL, &col, err);
}

int http_json(struct client *c, const char *method, const char *path, json_t *body, json_t **out,
              long *status, struct berr *err)
{
  struct http_resp resp;
  int r = http_do(c, method, path, body, &resp, err);
  if (status)
    *status = resp.status;
  if (r < 0) {
    http_resp_free(&resp);
    return r;
  }
  if (out) {
    json_error_t je;
    *out = resp.len ? json_loadb(resp.body, resp.len, JSON_DECODE_ANY, &je) : NULL;
    if (resp.len && !*out) {
      http_resp_free(&resp);
      return berr_set(err, 0, "invalid JSON from the daemon: %s", je.text);
    }
  }
  http_resp_free(&resp);
  return 0;
}

int http_stream(struct client *c, const char *method, const char *path, FILE *upload,
                const char *upload_type, http_sink_fn sink, void *ud, struct http_resp *resp,
                struct berr *err)
{
  memset(resp, 0, sizeof(*resp));
  struct collect col = {.resp = resp, .sink = sink, .ud = ud};
  return perform(c, method, path, NULL, 0, upload, upload_type, &col, err);
}

char *url_escape(const char *s)
{
  static const char hex[] = "0123456789ABCDEF";
  char *o = malloc(strlen(s) * 3 + 1), *q = o;
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
        *p == '-' || *p == '_' || *p == '.' || *p == '~') {
      *q++ = (char)*p;
    } else if (*p == ' ') {
      *q++ = '+';
    } else {
      *q++ = '%';
      *q++ = hex[*p >> 4];
      *q++ = hex[*p & 15];
    }
  }
  *q = 0;
  return o;
}

void query_add(struct query *q, const char *k, const char *v)
{
  q->p = xrealloc(q->p, (q->n + 1) * sizeof(*q->p));
  q->p[q->n].k = strdup(k);
  q->p[q->n].v = strdup(v);
  q->n++;
}

void query_addf(struct query *q, const char *k, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  char *v = NULL;
  if (vasprintf(&v, fmt, ap) >= 0) {
    query_add(q, k, v);
    free(v);
  }
  va_end(ap);
}

char *query_build(const char *path, struct query *q)
{
  /* stable sort by key, as url.Values keeps repeated keys in insertion order */
  for (size_t i = 1; i < q->n; i++)
    for (size_t j = i; j > 0 && strcmp(q->p[j - 1].k, q->p[j].k) > 0; j--) {
      struct qpair t = q->p[j];
      q->p[j] = q->p[j - 1];
      q->p[j - 1] = t;
    }
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  fputs(path, f);
  for (size_t i = 0; i < q->n; i++) {
    _cleanup_free_ char *k = url_escape(q->p[i].k);
    _cleanup_free_ char *v = url_escape(q->p[i].v);
    fprintf(f, "%c%s=%s", i ? '&' : '?', k, v);
    free(q->p[i].k);
    free(q->p[i].v);
  }
  fclose(f);
  free(q->p);
  q->p = NULL;
  q->n = 0;
  return buf;
}
