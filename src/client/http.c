/* HTTP/1.1 to berthd over its Unix socket, by hand: the CLI only ever speaks plain HTTP to
 * a local socket, and libcurl's start-up (it loads TLS, SSH, LDAP and HTTP/2 libraries)
 * cost ~60 ms per command, more than the daemon takes to run a container. One connection
 * per process is kept alive across the several calls a command makes. */
#include "http.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fileutil.h"
#include "common/prefault.h"
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
  c->fd = -1;
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
  return 0;
}

void client_close(struct client *c)
{
  if (c->fd >= 0)
    close(c->fd);
  c->fd = -1;
}

static int not_connected(struct client *c, struct berr *err)
{
  berr_set(err, 0, "Cannot connect to the berth daemon at %s. Is berthd running?", c->host);
  err->code = EHOSTDOWN;
  return HTTP_ENOTCONN;
}

static int ensure_connected(struct client *c, struct berr *err)
{
  if (c->fd >= 0)
    return 0;
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  if (strlen(c->sock_path) >= sizeof(addr.sun_path))
    return not_connected(c, err);
  strcpy(addr.sun_path, c->sock_path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
    if (fd >= 0)
      close(fd);
    return not_connected(c, err);
  }
  c->fd = fd;
  return 0;
}

/* A small buffered reader over the connection. */
struct reader {
  int fd;
  char buf[65536];
  size_t pos, len;
};

static ssize_t rd_fill(struct reader *r)
{
  if (r->pos < r->len)
    return (ssize_t)(r->len - r->pos);
  ssize_t n;
  do
    n = read(r->fd, r->buf, sizeof(r->buf));
  while (n < 0 && errno == EINTR);
  r->pos = 0;
  r->len = n > 0 ? (size_t)n : 0;
  return n;
}

/* One CRLF-terminated line (without the CRLF); -1 at EOF or error. */
static int rd_line(struct reader *r, char *out, size_t cap)
{
  size_t n = 0;
  for (;;) {
    if (rd_fill(r) <= 0)
      return -1;
    char ch = r->buf[r->pos++];
    if (ch == '\n') {
      if (n && out[n - 1] == '\r')
        n--;
      out[n] = '\0';
      return 0;
    }
    if (n + 1 < cap)
      out[n++] = ch;
  }
}

struct collect {
  struct http_resp *resp;
  FILE *mem;
  /* A body of known length is read straight into resp->body (sized once) rather than
   * through mem, whose doubling copies a large list several times. */
  bool direct;
  http_sink_fn sink;
  void *ud;
};

static int deliver(struct collect *col, const char *data, size_t len)
{
  if (col->sink && col->resp->status < 400)
    return col->sink(col->ud, data, len);
  if (col->direct) {
    memcpy(col->resp->body + col->resp->len, data, len);
    col->resp->len += len;
  } else if (col->mem) {
    fwrite(data, 1, len, col->mem);
  }
  return 0;
}

/* Copy n bytes of body (or to EOF when n < 0) to the collector. */
static int read_body(struct reader *r, long long n, struct collect *col)
{
  while (n != 0) {
    if (col->direct && n > 0 && r->pos == r->len) {
      /* a body of known length goes straight into its buffer, not through ours */
      ssize_t got;
      do
        got = read(r->fd, col->resp->body + col->resp->len, (size_t)n);
      while (got < 0 && errno == EINTR);
      if (got <= 0)
        return -EPIPE;
      col->resp->len += (size_t)got;
      n -= got;
      continue;
    }
    ssize_t avail = rd_fill(r);
    if (avail <= 0)
      return n < 0 ? 0 : -EPIPE;
    size_t take = (size_t)avail;
    if (n > 0 && (long long)take > n)
      take = (size_t)n;
    int s = deliver(col, r->buf + r->pos, take);
    r->pos += take;
    if (s < 0)
      return s;
    if (n > 0)
      n -= (long long)take;
  }
  return 0;
}

static int send_all(int fd, const void *buf, size_t len)
{
  const char *p = buf;
  while (len) {
    ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return -errno;
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

static int send_request(struct client *c, const char *method, const char *path, const char *body,
                        size_t blen, FILE *upload, const char *upload_type)
{
  char head[8192];
  int n = snprintf(head, sizeof(head),
                   "%s %s%s HTTP/1.1\r\nHost: api.moby.localhost\r\n"
                   "User-Agent: berth/" BERTH_VERSION " (linux)\r\n",
                   method, strncmp(path, "/_ping", 6) == 0 ? "" : BERTH_API_PREFIX, path);
  if (c->extra_header && strlen(c->extra_header) < sizeof(head) - (size_t)n - 256)
    n += snprintf(head + n, sizeof(head) - (size_t)n, "%s\r\n", c->extra_header);
  if (upload)
    n += snprintf(head + n, sizeof(head) - (size_t)n,
                  "Content-Type: %s\r\nTransfer-Encoding: chunked\r\n\r\n",
                  upload_type ? upload_type : "application/x-tar");
  else if (body)
    n += snprintf(head + n, sizeof(head) - (size_t)n,
                  "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n", blen);
  else
    n += snprintf(head + n, sizeof(head) - (size_t)n, "%s\r\n",
                  strcmp(method, "GET") && strcmp(method, "HEAD") ? "Content-Length: 0\r\n" : "");
  int r = send_all(c->fd, head, (size_t)n);
  if (r == 0 && body)
    r = send_all(c->fd, body, blen);
  if (r == 0 && upload) {
    char buf[65536], sz[32];
    size_t got;
    while (r == 0 && (got = fread(buf, 1, sizeof(buf), upload)) > 0) {
      int m = snprintf(sz, sizeof(sz), "%zx\r\n", got);
      r = send_all(c->fd, sz, (size_t)m);
      if (r == 0)
        r = send_all(c->fd, buf, got);
      if (r == 0)
        r = send_all(c->fd, "\r\n", 2);
    }
    if (r == 0)
      r = send_all(c->fd, "0\r\n\r\n", 5);
  }
  return r;
}

static int perform(struct client *c, const char *method, const char *path, const char *body,
                   size_t blen, FILE *upload, const char *upload_type, struct collect *col,
                   struct berr *err)
{
  _cleanup_free_ struct reader *rd = malloc(sizeof(*rd));
  char line[8192];
  int r;
  if (!rd)
    return berr_set(err, ENOMEM, "http");
  /* A kept-alive connection the daemon has closed meanwhile fails at once: retry once on
   * a new one (the request cannot have reached the daemon then). */
  for (int attempt = 0;; attempt++) {
    if ((r = ensure_connected(c, err)) < 0)
      return r;
    rd->fd = c->fd;
    rd->pos = rd->len = 0;
    r = send_request(c, method, path, body, blen, upload, upload_type);
    if (r == 0 && rd_line(rd, line, sizeof(line)) == 0)
      break;
    client_close(c);
    if (attempt == 1 || upload) {
      berr_set(err, 0, "error during connect: Server returned nothing (no headers, no data)");
      err->code = EHOSTDOWN;
      return HTTP_ENOTCONN;
    }
  }
  const char *sp = strchr(line, ' ');
  long status = sp ? strtol(sp + 1, NULL, 10) : 0;
  col->resp->status = status;
  col->resp->content_type[0] = '\0';
  col->resp->path_stat[0] = '\0';
  if (col->sink && status >= 400 && !col->mem)
    col->mem = open_memstream(&col->resp->body, &col->resp->len);
  long long clen = -1;
  bool chunked = false, close_conn = false;
  while (rd_line(rd, line, sizeof(line)) == 0 && line[0]) {
    char *colon = strchr(line, ':');
    if (!colon)
      continue;
    *colon = '\0';
    const char *v = colon + 1;
    while (*v == ' ')
      v++;
    if (strcasecmp(line, "Content-Length") == 0)
      clen = strtoll(v, NULL, 10);
    else if (strcasecmp(line, "Transfer-Encoding") == 0 && strcasestr(v, "chunked"))
      chunked = true;
    else if (strcasecmp(line, "Connection") == 0 && strcasecmp(v, "close") == 0)
      close_conn = true;
    else if (strcasecmp(line, "Content-Type") == 0)
      snprintf(col->resp->content_type, sizeof(col->resp->content_type), "%s", v);
    else if (strcasecmp(line, "X-Docker-Container-Path-Stat") == 0)
      snprintf(col->resp->path_stat, sizeof(col->resp->path_stat), "%s", v);
  }
  bool no_body = strcmp(method, "HEAD") == 0 || status == 204 || status == 304 || status < 200;
  if (!no_body && col->mem && !col->sink && !chunked && clen >= 0) {
    fclose(col->mem);
    col->mem = NULL;
    free(col->resp->body);
    col->resp->len = 0;
    if (!(col->resp->body = malloc((size_t)clen + 1))) {
      client_close(c);
      return berr_set(err, ENOMEM, "response of %lld bytes", clen);
    }
    mem_prefault(col->resp->body, (size_t)clen + 1);
    col->direct = true;
  }
  int body_r = 0;
  if (!no_body) {
    if (chunked) {
      for (;;) {
        if (rd_line(rd, line, sizeof(line)) < 0) {
          body_r = -EPIPE;
          break;
        }
        long long size = strtoll(line, NULL, 16);
        if (size <= 0) {
          while (rd_line(rd, line, sizeof(line)) == 0 && line[0])
            ; /* trailers */
          break;
        }
        if ((body_r = read_body(rd, size, col)) < 0 || rd_line(rd, line, sizeof(line)) < 0) {
          if (body_r == 0)
            body_r = -EPIPE;
          break;
        }
      }
    } else if (clen >= 0) {
      body_r = read_body(rd, clen, col);
    } else {
      body_r = read_body(rd, -1, col);
      close_conn = true;
    }
  }
  if (close_conn || body_r < 0)
    client_close(c);
  if (col->mem) {
    fclose(col->mem);
    col->mem = NULL;
  }
  if (col->direct)
    col->resp->body[col->resp->len] = '\0'; /* as open_memstream leaves it */
  if (body_r < 0 && col->sink && status < 400)
    return body_r == -EPIPE ? berr_set(err, EPIPE, "the daemon closed the stream") : body_r;
  if (status >= 400)
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
