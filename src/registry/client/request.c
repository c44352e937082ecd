/* HTTP exchanges with a registry over libcurl: headers the protocol needs, bodies from
 * memory or a file, streamed responses, TLS material from certs.d, and the loopback-only
 * guard that keeps test daemons on this machine. */
#include "request.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/cleanup.h"

#define MAX_RESP (16 << 20)

void reg_req_free(struct reg_req *q)
{
  free(q->resp);
  free(q->location);
  free(q->ctype);
  free(q->digest);
  free(q->www_auth);
  free(q->range_hdr);
  free(q->content_range);
  free(q->link);
  free(q->chunk_min);
  q->resp = q->location = q->ctype = q->digest = q->www_auth = q->range_hdr = q->content_range =
      q->link = q->chunk_min = NULL;
  q->resp_len = 0;
}

static void set_hdr(char **dst, const char *v, size_t n)
{
  while (n && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' '))
    n--;
  while (n && *v == ' ') {
    v++;
    n--;
  }
  free(*dst);
  *dst = strndup(v, n);
}

static size_t on_header(char *buf, size_t size, size_t nitems, void *ud)
{
  struct reg_req *q = ud;
  size_t n = size * nitems;
  if (n > 5 && strncmp(buf, "HTTP/", 5) == 0) {
    /* a new response (after a redirect or 100 Continue): forget the previous headers */
    const char *sp = memchr(buf, ' ', n);
    q->status = sp ? strtol(sp + 1, NULL, 10) : 0;
    free(q->location);
    free(q->ctype);
    free(q->digest);
    free(q->www_auth);
    free(q->range_hdr);
    free(q->content_range);
    free(q->link);
    free(q->chunk_min);
    q->location = q->ctype = q->digest = q->www_auth = q->range_hdr = q->content_range = q->link =
        q->chunk_min = NULL;
    return n;
  }
  const char *colon = memchr(buf, ':', n);
  if (!colon)
    return n;
  size_t kl = (size_t)(colon - buf);
  const char *v = colon + 1;
  size_t vl = n - kl - 1;
  static const struct {
    const char *name;
    size_t off;
  } keep[] = {
      {"location", offsetof(struct reg_req, location)},
      {"content-type", offsetof(struct reg_req, ctype)},
      {"docker-content-digest", offsetof(struct reg_req, digest)},
      {"www-authenticate", offsetof(struct reg_req, www_auth)},
      {"range", offsetof(struct reg_req, range_hdr)},
      {"content-range", offsetof(struct reg_req, content_range)},
      {"link", offsetof(struct reg_req, link)},
      {"oci-chunk-min-length", offsetof(struct reg_req, chunk_min)},
  };
  for (size_t i = 0; i < ARRAY_SIZE(keep); i++)
    if (strlen(keep[i].name) == kl && strncasecmp(buf, keep[i].name, kl) == 0) {
      char **dst = (char **)((char *)q + keep[i].off);
      /* the first Bearer/Basic challenge is the one we answer */
      if (keep[i].off == offsetof(struct reg_req, www_auth) && *dst)
        break;
      set_hdr(dst, v, vl);
      break;
    }
  return n;
}

static size_t on_body(char *buf, size_t size, size_t nitems, void *ud)
{
  struct reg_req *q = ud;
  size_t n = size * nitems;
  if (q->sink && q->status >= 200 && q->status < 300) {
    if (q->range && q->status == 200 && !q->restarted) {
      /* the server ignored Range and sends the whole blob: start the sink over */
      q->restarted = true;
      if (!q->sink->reset || q->sink->reset(q->sink->ud) < 0) {
        q->sink_err = -EIO;
        return 0;
      }
    }
    if (q->limit >= 0 && q->received + (int64_t)n > q->limit) {
      q->sink_err = -EFBIG;
      return 0;
    }
    int r = q->sink->write(q->sink->ud, buf, n);
    if (r < 0) {
      q->sink_err = r;
      return 0;
    }
    q->received += (int64_t)n;
    return n;
  }
  if (q->resp_len + n > MAX_RESP) {
    q->sink_err = -EFBIG;
    return 0;
  }
  char *p = realloc(q->resp, q->resp_len + n + 1);
  if (!p)
    return 0;
  memcpy(p + q->resp_len, buf, n);
  q->resp = p;
  q->resp_len += n;
  q->resp[q->resp_len] = '\0';
  q->received += (int64_t)n;
  return n;
}

static size_t on_read(char *buf, size_t size, size_t nitems, void *ud)
{
  struct reg_req *q = ud;
  size_t want = size * nitems;
  int64_t left = q->body_size - q->sent;
  if (left <= 0)
    return 0;
  if ((int64_t)want > left)
    want = (size_t)left;
  ssize_t got = pread(q->body_fd, buf, want, q->body_off + q->sent);
  if (got < 0)
    return CURL_READFUNC_ABORT;
  q->sent += got;
  if (q->progress)
    q->progress(q->progress_ud, q->progress_base + q->sent, q->progress_total);
  return (size_t)got;
}

static bool addr_is_loopback(const struct sockaddr *sa)
{
  if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
    return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
  }
  if (sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
    if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr))
      return true;
    if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr))
      return in6->sin6_addr.s6_addr[12] == 127;
  }
  return false;
}

/* The guard for loopback_only: whatever name resolution or a redirect produced, no socket
 * to another machine is ever opened. */
static curl_socket_t open_socket(void *ud, curlsocktype purpose, struct curl_sockaddr *a)
{
  struct reg_repo *r = ud;
  (void)purpose;
  if (r->loopback_only && !addr_is_loopback(&a->addr)) {
    errno = EACCES;
    return CURL_SOCKET_BAD;
  }
  return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

static CURL *new_handle(struct reg_repo *r, struct reg_req *q, const char *url,
                        struct curl_slist **hdrs)
{
  CURL *h = curl_easy_init();
  if (!h)
    return NULL;
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_USERAGENT, "berth/" BERTH_VERSION);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, q);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, q);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, q->curl_msg);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
  /* a stalled transfer (under 1 byte/s for 60 s) is broken: retried or resumed */
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 60L);
  curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, open_socket);
  curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, r);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  if (r->ca_file) {
    /* the registry's CA file and the system's CA directory, both trusted (as Docker adds a
     * registry's CA to the system pool) */
    curl_easy_setopt(h, CURLOPT_CAINFO, r->ca_file);
    curl_easy_setopt(h, CURLOPT_CAPATH, "/etc/ssl/certs");
  }
  if (r->client_cert && r->client_key) {
    curl_easy_setopt(h, CURLOPT_SSLCERT, r->client_cert);
    curl_easy_setopt(h, CURLOPT_SSLKEY, r->client_key);
  }
  const char *m = q->method;
  if (!strcmp(m, "GET") || !strcmp(m, "HEAD")) {
    /* redirects (blobs in storage elsewhere) are followed by reg_request, which checks
     * each target before curl sees it */
    if (!strcmp(m, "HEAD"))
      curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else if (q->has_body) {
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, m);
    if (q->body_fd >= 0) {
      curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
      curl_easy_setopt(h, CURLOPT_READDATA, q);
      curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)q->body_size);
    }
  } else {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, m);
    if (!strcmp(m, "POST") || !strcmp(m, "PUT") || !strcmp(m, "PATCH")) {
      curl_easy_setopt(h, CURLOPT_POST, 1L);
      curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
      curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, 0L);
    }
  }
  struct curl_slist *l = NULL;
  char line[8192];
  /* no "Expect: 100-continue" round trip before every upload */
  l = curl_slist_append(l, "Expect:");
  if (q->accept) {
    snprintf(line, sizeof(line), "Accept: %s", q->accept);
    l = curl_slist_append(l, line);
  }
  if (q->content_type) {
    snprintf(line, sizeof(line), "Content-Type: %s", q->content_type);
    l = curl_slist_append(l, line);
  }
  if (q->range) {
    snprintf(line, sizeof(line), "Range: %s", q->range);
    l = curl_slist_append(l, line);
  }
  if (q->send_content_range) {
    snprintf(line, sizeof(line), "Content-Range: %s", q->send_content_range);
    l = curl_slist_append(l, line);
  }
  pthread_mutex_lock(&r->lock);
  if (r->authz && !q->no_authz) {
    snprintf(line, sizeof(line), "Authorization: %s", r->authz);
    l = curl_slist_append(l, line);
  }
  pthread_mutex_unlock(&r->lock);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, l);
  *hdrs = l;
  return h;
}

static int perform(struct reg_repo *r, struct reg_req *q, struct berr *err)
{
  int lr = reg_curl_load(err);
  if (lr < 0)
    return lr;
  _cleanup_free_ char *url = NULL;
  if (strncmp(q->url, "http://", 7) == 0 || strncmp(q->url, "https://", 8) == 0)
    url = strdup(q->url);
  else if (asprintf(&url, "%s%s", r->base, q->url) < 0)
    url = NULL;
  if (!url)
    return berr_set(err, ENOMEM, "request");
  char host[512];
  reg_url_host(url, host, sizeof(host));
  if (r->loopback_only && !reg_host_is_loopback(host)) {
    /* refused before any name lookup: a test daemon never asks DNS about the outside */
    berr_set(err, 0, "%s \"%s\": refusing to contact %s (registry-loopback-only)", q->method, url,
             host);
    err->code = EACCES;
    return -EACCES;
  }
  reg_req_free(q);
  q->status = 0;
  q->received = q->sent = 0;
  q->sink_err = 0;
  q->restarted = false;
  q->curl_msg[0] = '\0';
  struct curl_slist *hdrs = NULL;
  CURL *h = new_handle(r, q, url, &hdrs);
  if (!h)
    return berr_set(err, ENOMEM, "curl");
  if (q->has_body && q->body_fd < 0) {
    /* memory body: hand curl the bytes (works for PUT/PATCH through CUSTOMREQUEST) */
    curl_easy_setopt(h, CURLOPT_UPLOAD, 0L);
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, q->body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)q->body_len);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, q->method);
  }
  q->curl_rc = curl_easy_perform(h);
  long code = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
  if (code)
    q->status = code;
  curl_easy_cleanup(h);
  curl_slist_free_all(hdrs);
  if (q->curl_rc != CURLE_OK) {
    const char *m = q->curl_msg[0] ? q->curl_msg : curl_easy_strerror(q->curl_rc);
    if (q->sink_err == -EFBIG)
      return berr_set(err, EFBIG, "%s \"%s\": response larger than expected", q->method, url);
    if (q->sink_err < 0)
      return berr_set(err, -q->sink_err, "%s \"%s\": storing the response", q->method, url);
    berr_set(err, 0, "%s \"%s\": %s", q->method, url, m);
    err->code = q->curl_rc == CURLE_COULDNT_CONNECT ? ECONNREFUSED : EIO;
    return -err->code;
  }
  return 0;
}

/* Location resolved against the URL it answered. */
static char *redirect_target(struct reg_repo *r, const char *current, const char *loc)
{
  char *u = NULL;
  if (!strncmp(loc, "http://", 7) || !strncmp(loc, "https://", 8))
    return strdup(loc);
  const char *cur = current;
  _cleanup_free_ char *abs = NULL;
  if (strncmp(cur, "http://", 7) && strncmp(cur, "https://", 8)) {
    if (asprintf(&abs, "%s%s", r->base, cur) < 0)
      return NULL;
    cur = abs;
  }
  const char *hs = strstr(cur, "://") + 3;
  size_t origin = (size_t)(hs - cur) + strcspn(hs, "/");
  if (loc[0] == '/') {
    if (asprintf(&u, "%.*s%s", (int)origin, cur, loc) < 0)
      return NULL;
    return u;
  }
  const char *q = strchr(cur, '?');
  size_t end = q ? (size_t)(q - cur) : strlen(cur);
  while (end > origin && cur[end - 1] != '/')
    end--;
  if (asprintf(&u, "%.*s%s%s", (int)end, cur, end > origin ? "" : "/", loc) < 0)
    return NULL;
  return u;
}

static bool is_redirect(long st)
{
  return st == 301 || st == 302 || st == 303 || st == 307 || st == 308;
}

/* On failure what the last answer left in q (body, headers) is freed: callers that return
 * at once need not. */
int reg_request(struct reg_repo *r, struct reg_req *q, struct berr *err)
{
  const char *orig = q->url;
  _cleanup_free_ char *hop = NULL;
  int rc = perform(r, q, err);
  if (rc < 0)
    goto fail;
  if (q->status == 401 && !q->no_auth_retry && q->www_auth) {
    _cleanup_free_ char *ch = strdup(q->www_auth);
    if (!ch) {
      rc = berr_set(err, ENOMEM, "auth");
      goto fail;
    }
    if ((rc = reg_auth_answer(r, ch, err)) < 0)
      goto fail;
    if (q->sink && q->sink->reset && q->received > 0 && q->sink->reset(q->sink->ud) < 0) {
      rc = berr_set(err, EIO, "cannot restart the download after authentication");
      goto fail;
    }
    rc = perform(r, q, err);
  }
  bool fetch = !strcmp(q->method, "GET") || !strcmp(q->method, "HEAD");
  for (int hops = 0; rc == 0 && fetch && is_redirect(q->status) && q->location; hops++) {
    if (hops == 5) {
      rc = berr_set(err, 0, "%s %s: too many redirects", q->method, orig);
      break;
    }
    char *next = redirect_target(r, q->url, q->location);
    if (!next) {
      rc = berr_set(err, ENOMEM, "redirect");
      break;
    }
    free(hop);
    hop = next;
    q->url = hop;
    char host[512];
    reg_url_host(hop, host, sizeof(host));
    q->no_authz = strcmp(host, r->host) != 0;
    rc = perform(r, q, err);
  }
  q->url = orig;
  q->no_authz = false;
  if (q->status >= 400) {
    pthread_mutex_lock(&r->lock);
    r->last_status = (int)q->status;
    pthread_mutex_unlock(&r->lock);
  }
  if (rc < 0)
    reg_req_free(q);
  return rc;
fail:
  reg_req_free(q);
  return rc;
}

int reg_status_error(struct reg_repo *r, struct reg_req *q, const char *what, struct berr *err)
{
  (void)r;
  char msg[1024] = "";
  json_auto_t *j = q->resp ? json_loadb(q->resp, q->resp_len, 0, NULL) : NULL;
  json_t *e0 = json_array_get(json_object_get(j, "errors"), 0);
  const char *code = json_string_value(json_object_get(e0, "code"));
  const char *m = json_string_value(json_object_get(e0, "message"));
  if (code) {
    char lc[128];
    size_t i = 0;
    for (; i < sizeof(lc) - 1 && code[i]; i++)
      lc[i] = code[i] == '_' ? ' ' : (char)tolower((unsigned char)code[i]);
    lc[i] = '\0';
    snprintf(msg, sizeof(msg), "%s: %s", lc, m ? m : lc);
  } else if (q->status == 401) {
    snprintf(msg, sizeof(msg), "unauthorized: authentication required");
  } else if (q->status == 404) {
    snprintf(msg, sizeof(msg), "not found");
  } else {
    snprintf(msg, sizeof(msg), "unexpected status %ld from %s request", q->status, q->method);
  }
  int ec = q->status == 404 ? ENOENT : q->status == 401 || q->status == 403 ? EACCES : EIO;
  berr_set(err, 0, "%s%s%s", what ? what : "", what ? ": " : "", msg);
  err->code = ec;
  return -ec;
}
