/* Raw HTTP/1.1 on the daemon's Unix socket for connections that outlive their headers
 * (the hijacked attach/exec stream, /wait), and the stdcopy demultiplexer. */
#include "hijack.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "http.h"
#include "xalloc.h"

void raw_resp_free(struct raw_resp *r)
{
  free(r->extra);
  r->extra = NULL;
  r->extra_len = 0;
}

static int write_all(int fd, const char *p, size_t n)
{
  while (n) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR)
        continue;
      return -errno;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

int raw_send(struct client *c, const char *method, const char *path, const char *json_body,
             bool upgrade, struct berr *err)
{
  _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return berr_errno(err, "socket");
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(c->sock_path) >= sizeof(sa.sun_path))
    return berr_set(err, 0, "socket path too long: %s", c->sock_path);
  strcpy(sa.sun_path, c->sock_path);
  if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
    berr_set(err, 0, "Cannot connect to the berth daemon at %s. Is berthd running?", c->host);
    err->code = EHOSTDOWN;
    return HTTP_ENOTCONN;
  }
  size_t blen = json_body ? strlen(json_body) : 0;
  _cleanup_free_ char *req = NULL;
  int n = asprintf(&req,
                   "%s %s%s HTTP/1.1\r\nHost: api.moby.localhost\r\nUser-Agent: berth/%s "
                   "(linux)\r\n%sContent-Type: %s\r\nContent-Length: %zu\r\n\r\n%s",
                   method, BERTH_API_PREFIX, path, BERTH_VERSION,
                   upgrade ? "Connection: Upgrade\r\nUpgrade: tcp\r\n" : "Connection: close\r\n",
                   json_body ? "application/json" : "text/plain", blen, json_body ? json_body : "");
  if (n < 0)
    return berr_errno(err, "request");
  int r = write_all(fd, req, (size_t)n);
  if (r < 0)
    return berr_set(err, -r, "write request");
  return steal_fd(&fd);
}

int raw_recv(int fd, const char *path, bool upgrade, struct raw_resp *resp, struct berr *err)
{
  memset(resp, 0, sizeof(*resp));
  resp->content_length = -1;
  int r;
  /* Read until the blank line ending the headers. */
  size_t cap = 4096, len = 0;
  _cleanup_free_ char *buf = malloc(cap);
  char *hend = NULL;
  for (;;) {
    if (len + 1 >= cap) {
      if (cap > 1 << 20)
        return berr_set(err, 0, "response headers too long");
      cap *= 2;
      buf = xrealloc(buf, cap);
    }
    ssize_t got = read(fd, buf + len, cap - len - 1);
    if (got < 0 && errno == EINTR)
      continue;
    if (got < 0)
      return berr_errno(err, "read response");
    if (got == 0)
      return berr_set(err, 0, "daemon closed the connection before answering");
    len += (size_t)got;
    buf[len] = 0;
    hend = strstr(buf, "\r\n\r\n");
    if (hend)
      break;
  }
  *hend = 0;
  char *sp = strchr(buf, ' ');
  resp->status = sp ? atoi(sp + 1) : 0;
  for (char *line = strstr(buf, "\r\n"); line; line = strstr(line, "\r\n")) {
    line += 2;
    if (strncasecmp(line, "Content-Type:", 13) == 0) {
      const char *v = line + 13;
      while (*v == ' ')
        v++;
      size_t vl = strcspn(v, "\r");
      if (vl >= sizeof(resp->content_type))
        vl = sizeof(resp->content_type) - 1;
      memcpy(resp->content_type, v, vl);
      resp->content_type[vl] = 0;
    } else if (strncasecmp(line, "Transfer-Encoding:", 18) == 0) {
      resp->chunked = strstr(line, "chunked") != NULL;
    } else if (strncasecmp(line, "Content-Length:", 15) == 0) {
      resp->content_length = strtol(line + 15, NULL, 10);
    }
  }
  size_t hlen = (size_t)(hend + 4 - buf);
  resp->extra_len = len - hlen;
  resp->extra = malloc(resp->extra_len + 1);
  memcpy(resp->extra, buf + hlen, resp->extra_len);
  if (resp->status >= 400) {
    struct http_resp hr = {.status = resp->status};
    snprintf(hr.content_type, sizeof(hr.content_type), "%s", resp->content_type);
    r = raw_read_body(fd, resp, &hr.body, &hr.len, err);
    if (r < 0)
      return r;
    r = http_daemon_error(&hr, path, err);
    http_resp_free(&hr);
    return r;
  }
  if (upgrade && resp->status != 101)
    return berr_set(err, 0, "unable to upgrade to tcp, received %d", resp->status);
  return 0;
}

int raw_request(struct client *c, const char *method, const char *path, const char *json_body,
                bool upgrade, struct raw_resp *resp, struct berr *err)
{
  _cleanup_close_ int fd = raw_send(c, method, path, json_body, upgrade, err);
  if (fd < 0) {
    memset(resp, 0, sizeof(*resp));
    return fd;
  }
  int r = raw_recv(fd, path, upgrade, resp, err);
  return r < 0 ? r : steal_fd(&fd);
}

int raw_read_body(int fd, struct raw_resp *resp, char **body, size_t *len, struct berr *err)
{
  size_t cap = resp->extra_len + 4096, n = resp->extra_len;
  char *buf = malloc(cap + 1);
  memcpy(buf, resp->extra, n);
  for (;;) {
    if (resp->content_length >= 0 && !resp->chunked && n >= (size_t)resp->content_length)
      break;
    if (n + 4096 > cap) {
      cap *= 2;
      buf = xrealloc(buf, cap + 1);
    }
    ssize_t got = read(fd, buf + n, cap - n);
    if (got < 0 && errno == EINTR)
      continue;
    if (got < 0) {
      free(buf);
      return berr_errno(err, "read response");
    }
    if (got == 0)
      break;
    n += (size_t)got;
    if (resp->chunked && n >= 5 && memcmp(buf + n - 5, "0\r\n\r\n", 5) == 0)
      break;
  }
  buf[n] = 0;
  if (resp->chunked) {
    /* de-chunk in place: size CRLF data CRLF ... 0 CRLF CRLF */
    size_t in = 0, out = 0;
    while (in < n) {
      char *end;
      unsigned long sz = strtoul(buf + in, &end, 16);
      char *crlf = strstr(end, "\r\n");
      if (!crlf || sz == 0)
        break;
      in = (size_t)(crlf + 2 - buf);
      if (in + sz > n)
        sz = n - in;
      memmove(buf + out, buf + in, sz);
      out += sz;
      in += sz + 2;
    }
    n = out;
    buf[n] = 0;
  }
  *body = buf;
  *len = n;
  return 0;
}

void stdcopy_header(unsigned char hdr[8], int stream, uint32_t size)
{
  hdr[0] = (unsigned char)stream;
  hdr[1] = hdr[2] = hdr[3] = 0;
  hdr[4] = (unsigned char)(size >> 24);
  hdr[5] = (unsigned char)(size >> 16);
  hdr[6] = (unsigned char)(size >> 8);
  hdr[7] = (unsigned char)size;
}

int stdcopy_feed(struct stdcopy *s, const char *data, size_t len, stdcopy_write_fn write, void *ud,
                 struct berr *err)
{
  while (len) {
    if (s->remaining == 0) {
      size_t take = 8 - s->have;
      if (take > len)
        take = len;
      memcpy(s->hdr + s->have, data, take);
      s->have += take;
      data += take;
      len -= take;
      if (s->have < 8)
        return 0;
      s->have = 0;
      s->stream = s->hdr[0];
      s->remaining = ((size_t)s->hdr[4] << 24) | ((size_t)s->hdr[5] << 16) |
                     ((size_t)s->hdr[6] << 8) | s->hdr[7];
      if (s->stream > 3)
        return berr_set(err, 0, "Unrecognized input header: %d", s->stream);
      if (s->stream == 3) {
        /* the payload is the daemon's error text; collect it whole */
        size_t sz = s->remaining;
        if (len < sz)
          sz = len;
        return berr_set(err, 0, "error from daemon in stream: %.*s", (int)sz, data);
      }
      continue;
    }
    size_t take = s->remaining < len ? s->remaining : len;
    /* stdin frames (0) are written as stdout, as docker's stdcopy does */
    int r = write(ud, s->stream == 2 ? 2 : 1, data, take);
    if (r < 0)
      return r;
    s->remaining -= take;
    data += take;
    len -= take;
  }
  return 0;
}
