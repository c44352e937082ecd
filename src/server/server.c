/* The HTTP server: libmicrohttpd on a Unix socket, one thread per connection. Each
 * request runs its job on a thread of its own; the connection thread waits until the job
 * finishes, starts a stream (headers go out at once, the body is piped) or asks to hijack
 * the connection (101, then the raw socket is the job's). */
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <microhttpd.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <linux/sockios.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "api_version.h"
#include "common/bjson.h"
#include "common/cleanup.h"
#include "common/fileutil.h"
#include "common/log.h"
#include "hijack.h"

/* Stacks of the threads made per connection and per job: a run makes about ten. With
 * glibc's default 8 MiB, its cache of freed stacks (40 MiB) holds five, so the rest were
 * unmapped and mapped again on every request (a TLB shootdown each). A job's deepest use
 * (nested JSON, archive reading) stays far below 1 MiB. */
#define SERVER_THREAD_STACK (1024 * 1024)

#define DEFAULT_MAX_BODY ((size_t)16 << 20)
#define STREAM_BLOCK (32 * 1024)

struct server {
  struct engine *engine;
  struct MHD_Daemon *mhd;
  int listen_fd;
  int stop_efd; /* readable once the server stops: wakes stream readers */
  char *socket_path;
  char *spool_dir;
  size_t max_body;
  const struct server_route *extra;
  size_t n_extra;

  pthread_mutex_t mu; /* guards the fields below; taken before any sreq's mu */
  pthread_cond_t cv;
  bool stopping;
  unsigned jobs;       /* job threads running */
  struct sreq *active; /* requests whose job runs */
};

enum body_mode { BODY_JSON, BODY_SPOOL, BODY_DISCARD };
enum io_mode { IO_NONE, IO_STREAM, IO_HIJACK };
enum hijack_state { HJ_NONE, HJ_REQUESTED, HJ_OK, HJ_FAILED };

/* One request. Shared by the connection thread and the job thread, freed by whichever
 * drops the last reference (a hijacked or streamed job may outlive the HTTP exchange). */
struct sreq {
  struct server *srv;
  struct MHD_Connection *conn;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int refs;

  const struct server_route *route;
  bool upgrade_requested;
  bool is_ping;
  int early_status; /* an answer decided before any job runs */
  char early_msg[512];

  enum body_mode body_mode;
  char *buf;
  size_t len, cap;
  bool too_large;
  int spool_fd;
  char *spool_path;
  int spool_errno;

  struct job job;
  struct job_io io;
  char api_version[16];

  /* Set by the job thread under mu. */
  enum io_mode mode;
  bool done;
  char *content_type;
  json_t *headers; /* the job's response_headers, copied when it streams or hijacks */
  int pipe_rd, pipe_wr;
  enum hijack_state hj;
  int sock;     /* the client socket after the upgrade */
  int job_sock; /* what the job got: sock, or its end of the proxy pair */
  struct MHD_UpgradeResponseHandle *urh;
  struct hijack_proxy *proxy;
  bool hijack_ended;

  struct sreq *next, *prev; /* in srv->active */
};

static void sreq_free(struct sreq *r)
{
  free(r->buf);
  if (r->spool_fd >= 0)
    close(r->spool_fd);
  if (r->spool_path) {
    unlink(r->spool_path);
    free(r->spool_path);
  }
  json_decref(r->job.args);
  json_decref(r->job.result);
  free(r->job.result_text);
  free(r->content_type);
  json_decref(r->headers);
  if (r->pipe_rd >= 0)
    close(r->pipe_rd);
  if (r->pipe_wr >= 0)
    close(r->pipe_wr);
  pthread_mutex_destroy(&r->mu);
  pthread_cond_destroy(&r->cv);
  free(r);
}

static void sreq_unref(struct sreq *r)
{
  pthread_mutex_lock(&r->mu);
  int left = --r->refs;
  pthread_mutex_unlock(&r->mu);
  if (left == 0)
    sreq_free(r);
}

/* ---- responses ---- */

static void add_std_headers(struct MHD_Response *resp)
{
  MHD_add_response_header(resp, "Api-Version", API_VERSION_MAX);
  MHD_add_response_header(resp, "Ostype", "linux");
  MHD_add_response_header(resp, "Server", SERVER_HEADER);
  MHD_add_response_header(resp, "Docker-Experimental", "false");
}

/* Headers a job asks for (e.g. X-Docker-Container-Path-Stat on archive GET/HEAD): an
 * object of strings under args.response_headers, set before the job streams, hijacks or
 * returns. */
static json_t *job_response_headers(const struct job *job)
{
  json_t *h = job->args ? json_object_get(job->args, "response_headers") : NULL;
  return json_is_object(h) ? h : NULL;
}

static void add_job_headers(struct MHD_Response *resp, json_t *headers)
{
  const char *k;
  json_t *v;
  json_object_foreach(headers, k, v)
  {
    if (json_is_string(v))
      MHD_add_response_header(resp, k, json_string_value(v));
  }
}

static void add_ping_headers(struct MHD_Response *resp)
{
  MHD_add_response_header(resp, "Builder-Version", "1");
  MHD_add_response_header(resp, "Swarm", "inactive");
  MHD_add_response_header(resp, "Cache-Control", "no-cache, no-store, must-revalidate");
  MHD_add_response_header(resp, "Pragma", "no-cache");
}

static enum MHD_Result queue_body(struct sreq *r, int status, char *body, size_t len,
                                  const char *content_type)
{
  struct MHD_Response *resp = MHD_create_response_from_buffer(
      len, body, body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
  if (!resp) {
    free(body);
    return MHD_NO;
  }
  add_std_headers(resp);
  if (r->is_ping)
    add_ping_headers(resp);
  if (r->done)
    add_job_headers(resp, job_response_headers(&r->job));
  if (content_type)
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
  enum MHD_Result ret = MHD_queue_response(r->conn, (unsigned)status, resp);
  MHD_destroy_response(resp);
  return ret;
}

/* moby's WriteJSON: compact JSON and a newline, Content-Type exactly application/json. */
static enum MHD_Result queue_json(struct sreq *r, int status, json_t *j)
{
  if (!j || status == 204 || status == 304)
    return queue_body(r, status, NULL, 0, NULL);
  char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
  if (!s)
    return queue_body(r, 500, NULL, 0, NULL);
  size_t n = strlen(s);
  char *body = realloc(s, n + 2);
  if (!body) {
    free(s);
    return MHD_NO;
  }
  body[n] = '\n';
  body[n + 1] = '\0';
  return queue_body(r, status, body, n + 1, "application/json");
}

static enum MHD_Result queue_error(struct sreq *r, int status, const char *msg)
{
  json_t *j = json_pack("{s:s}", "message", msg);
  if (!j) /* invalid UTF-8 in a message built from input */
    j = json_pack("{s:s}", "message", "error (message not representable)");
  enum MHD_Result ret = queue_json(r, status, j);
  json_decref(j);
  return ret;
}

/* ---- the job's io ---- */

static struct sreq *job_sreq(struct job *job)
{
  return job->io->data;
}

static int io_stream_begin(struct job *job, const char *content_type)
{
  struct sreq *r = job_sreq(job);
  int p[2];
  pthread_mutex_lock(&r->mu);
  if (r->mode != IO_NONE || pipe2(p, O_CLOEXEC) < 0) {
    pthread_mutex_unlock(&r->mu);
    return -1;
  }
  r->content_type = strdup(content_type ? content_type : "application/octet-stream");
  if (!r->content_type) {
    close(p[0]);
    close(p[1]);
    pthread_mutex_unlock(&r->mu);
    return -1;
  }
  r->headers = json_deep_copy(job_response_headers(job));
  r->pipe_rd = p[0];
  r->pipe_wr = p[1];
  r->mode = IO_STREAM;
  pthread_cond_broadcast(&r->cv);
  pthread_mutex_unlock(&r->mu);
  return p[1];
}

static int io_hijack_begin(struct job *job, const char *content_type)
{
  struct sreq *r = job_sreq(job);
  pthread_mutex_lock(&r->mu);
  /* The raw 200 form for clients that do not ask for an upgrade is not offered: the job
   * sees -1 and answers with an error instead. */
  if (r->mode != IO_NONE || !r->upgrade_requested) {
    pthread_mutex_unlock(&r->mu);
    return -1;
  }
  r->content_type = strdup(content_type ? content_type : "application/vnd.docker.raw-stream");
  if (!r->content_type) {
    pthread_mutex_unlock(&r->mu);
    return -1;
  }
  r->headers = json_deep_copy(job_response_headers(job));
  r->mode = IO_HIJACK;
  r->hj = HJ_REQUESTED;
  pthread_cond_broadcast(&r->cv);
  while (r->hj == HJ_REQUESTED)
    pthread_cond_wait(&r->cv, &r->mu);
  int fd = r->hj == HJ_OK ? r->job_sock : -1;
  pthread_mutex_unlock(&r->mu);
  return fd;
}

static void io_hijack_end(struct job *job)
{
  struct sreq *r = job_sreq(job);
  pthread_mutex_lock(&r->mu);
  if (r->hj != HJ_OK || r->hijack_ended) {
    pthread_mutex_unlock(&r->mu);
    return;
  }
  r->hijack_ended = true;
  struct hijack_proxy *proxy = steal_ptr(r->proxy);
  pthread_mutex_unlock(&r->mu);

  /* Flush what the job wrote through the proxy, if any, before the socket goes. */
  if (proxy)
    hijack_proxy_finish(proxy);
  /* MHD closes the fd later from its own thread; shut it down now so the client sees EOF
   * at once. */
  shutdown(r->sock, SHUT_RDWR);
  MHD_upgrade_action(r->urh, MHD_UPGRADE_ACTION_CLOSE);
}

static void *job_thread(void *arg)
{
  struct sreq *r = arg;
  struct server *s = r->srv;

  engine_job_run(s->engine, &r->job);

  pthread_mutex_lock(&r->mu);
  bool hijacked = r->hj == HJ_OK && !r->hijack_ended;
  pthread_mutex_unlock(&r->mu);
  if (hijacked)
    io_hijack_end(&r->job);

  /* The spooled body was the job's to read; it is gone before the response goes out. */
  if (r->spool_path) {
    unlink(r->spool_path);
    free(r->spool_path);
    r->spool_path = NULL;
    r->job.body_file = NULL;
  }

  pthread_mutex_lock(&r->mu);
  r->done = true;
  if (r->pipe_wr >= 0) { /* EOF for the stream reader */
    close(r->pipe_wr);
    r->pipe_wr = -1;
  }
  pthread_cond_broadcast(&r->cv);
  pthread_mutex_unlock(&r->mu);

  pthread_mutex_lock(&s->mu);
  if (r->prev)
    r->prev->next = r->next;
  else
    s->active = r->next;
  if (r->next)
    r->next->prev = r->prev;
  pthread_mutex_unlock(&s->mu);

  sreq_unref(r);

  pthread_mutex_lock(&s->mu);
  s->jobs--;
  pthread_cond_broadcast(&s->cv);
  pthread_mutex_unlock(&s->mu);
  return NULL;
}

/* ---- streaming and upgrade callbacks (connection thread) ---- */

/* Blocks on the job's pipe. Gives up when the client hangs up or the server stops: the
 * request then completes, the pipe's read end is closed and the job's writes fail with
 * EPIPE (and its fd polls POLLERR). */
static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
  struct sreq *r = cls;
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
  int client = ci ? ci->connect_fd : -1;
  for (;;) {
    struct pollfd p[3] = {{.fd = r->pipe_rd, .events = POLLIN},
                          {.fd = client, .events = POLLRDHUP},
                          {.fd = r->srv->stop_efd, .events = POLLIN}};
    if (poll(p, 3, -1) < 0) {
      if (errno == EINTR)
        continue;
      return MHD_CONTENT_READER_END_WITH_ERROR;
    }
    if (p[0].revents) {
      ssize_t n = read(r->pipe_rd, buf, max);
      if (n > 0)
        return n;
      if (n == 0)
        return MHD_CONTENT_READER_END_OF_STREAM;
      if (errno == EINTR || errno == EAGAIN)
        continue;
      return MHD_CONTENT_READER_END_WITH_ERROR;
    }
    if (p[1].revents || p[2].revents)
      return MHD_CONTENT_READER_END_WITH_ERROR;
  }
}

/* docker-py parses the 101 with a buffered reader and then reads the raw socket: output
 * that arrived together with the headers sits in that buffer and is lost. So the socket
 * goes to the job only once the client has read the headers (nothing left in flight, as
 * SIOCOUTQ counts on a Unix socket), or after a second at most. */
static void wait_headers_read(int sock)
{
  for (int i = 0; i < 1000; i++) {
    int outq = 0;
    if (ioctl(sock, SIOCOUTQ, &outq) < 0 || outq == 0)
      return;
    struct pollfd p = {.fd = sock, .events = POLLRDHUP};
    if (poll(&p, 1, 1) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)))
      return;
  }
}

static void on_upgrade(void *cls, struct MHD_Connection *conn, void *req_cls, const char *extra_in,
                       size_t extra_in_size, MHD_socket sock, struct MHD_UpgradeResponseHandle *urh)
{
  struct sreq *r = cls;
  struct server *s = r->srv;

  /* MHD's sockets are non-blocking; the job gets a plain blocking socket. */
  int fl = fcntl(sock, F_GETFL);
  if (fl >= 0)
    fcntl(sock, F_SETFL, fl & ~O_NONBLOCK);
  wait_headers_read(sock);

  pthread_mutex_lock(&s->mu);
  pthread_mutex_lock(&r->mu);
  r->sock = sock;
  r->urh = urh;
  r->job_sock = sock;
  r->hj = HJ_OK;
  /* Bytes the client sent right behind the request are already in MHD's buffer: a proxy
   * hands them (and everything after) to the job through a socket pair. */
  if (extra_in_size > 0) {
    struct berr err = {0};
    int fd = -1;
    if (hijack_proxy_start(sock, extra_in, extra_in_size, &r->proxy, &fd, &err) < 0) {
      blog(BLOG_WARN, "hijack: %s", err.msg);
      r->hj = HJ_FAILED;
      shutdown(sock, SHUT_RDWR);
      MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
    } else {
      r->job_sock = fd;
    }
  }
  if (s->stopping && r->hj == HJ_OK)
    shutdown(sock, SHUT_RDWR);
  pthread_cond_broadcast(&r->cv);
  pthread_mutex_unlock(&r->mu);
  pthread_mutex_unlock(&s->mu);
}

/* ---- request intake ---- */

static enum MHD_Result query_iter(void *cls, enum MHD_ValueKind kind, const char *key,
                                  size_t key_size, const char *value, size_t value_size)
{
  json_t *q = cls;
  _cleanup_free_ char *k = key ? strndup(key, key_size) : NULL;
  json_t *v = json_stringn(value ? value : "", value ? value_size : 0);
  if (!v || !k)
    goto bad;
  json_t *old = json_object_get(q, k);
  if (!old) {
    json_object_set_new(q, k, v);
  } else if (json_is_array(old)) {
    json_array_append_new(old, v);
  } else {
    json_t *arr = json_pack("[O,o]", old, v);
    if (!arr)
      goto bad;
    json_object_set_new(q, k, arr);
  }
  return MHD_YES;
bad:
  json_decref(v);
  json_object_set_new(q, "\x01invalid", json_true());
  return MHD_YES;
}

static void set_early(struct sreq *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_early(struct sreq *r, int status, const char *fmt, ...)
{
  if (r->early_status)
    return;
  r->early_status = status;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(r->early_msg, sizeof(r->early_msg), fmt, ap);
  va_end(ap);
}

static const struct server_route *find_route(struct server *s, const char *method, const char *path,
                                             json_t **params)
{
  for (size_t i = 0; i < s->n_extra; i++)
    if (strcmp(s->extra[i].method, method) == 0 &&
        server_route_match(s->extra[i].pattern, path, params))
      return &s->extra[i];
  for (size_t i = 0; i < server_n_routes; i++)
    if (strcmp(server_routes[i].method, method) == 0 &&
        server_route_match(server_routes[i].pattern, path, params))
      return &server_routes[i];
  return NULL;
}

/* "/v1.50/containers/json" -> version "1.50", path "/containers/json". */
static const char *strip_version(const char *url, char *version, size_t size)
{
  if (url[0] != '/' || url[1] != 'v')
    return url;
  const char *p = url + 2;
  size_t n = strspn(p, "0123456789.");
  if (n == 0 || p[n] != '/' || !(p[0] >= '0' && p[0] <= '9'))
    return url;
  if (n >= size)
    n = size - 1;
  memcpy(version, p, n);
  version[n] = '\0';
  return p + strspn(p, "0123456789.");
}

static void sreq_route(struct sreq *r, const char *url, const char *method)
{
  struct server *s = r->srv;
  char version[16] = "";
  const char *path = strip_version(url, version, sizeof(version));
  snprintf(r->api_version, sizeof(r->api_version), "%s", version[0] ? version : API_VERSION_MAX);

  json_t *params = NULL;
  r->route = find_route(s, method, path, &params);
  if (!r->route) {
    set_early(r, 404, "page not found");
    return;
  }
  r->is_ping = (r->route->flags & SERVER_ROUTE_PING) != 0;
  json_t *query = json_object();
  r->job.args = json_pack("{s:o,s:o,s:n}", "path", params, "query", query, "body");
  if (!r->job.args) {
    set_early(r, 500, "out of memory");
    return;
  }
  if (version[0]) {
    if (api_version_compare(version, API_VERSION_MIN) < 0)
      set_early(r, 400,
                "client version %s is too old. Minimum supported API version is %s, please "
                "upgrade your client to a newer version",
                version, API_VERSION_MIN);
    else if (api_version_compare(version, API_VERSION_MAX) > 0)
      set_early(r, 400, "client version %s is too new. Maximum supported API version is %s",
                version, API_VERSION_MAX);
  }
  MHD_get_connection_values_n(r->conn, MHD_GET_ARGUMENT_KIND, query_iter, query);
  if (json_object_get(query, "\x01invalid")) {
    json_object_del(query, "\x01invalid");
    set_early(r, 400, "invalid query: parameters must be UTF-8");
  }
  r->upgrade_requested = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Upgrade") != NULL;
  /* pull, push: the client's registry credentials (base64url AuthConfig JSON) */
  const char *reg_auth = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "X-Registry-Auth");
  if (reg_auth)
    json_object_set_new(r->job.args, "registry_auth", json_string(reg_auth));

  r->job.name = r->route->job;
  r->job.api_version = r->api_version;
  r->io = (struct job_io){.stream_begin = io_stream_begin,
                          .hijack_begin = io_hijack_begin,
                          .hijack_end = io_hijack_end,
                          .data = r};
  r->job.io = &r->io;

  const char *from_src = json_string_value(json_object_get(query, "fromSrc"));
  bool spool =
      (r->route->flags & SERVER_ROUTE_SPOOL_BODY) ||
      ((r->route->flags & SERVER_ROUTE_SPOOL_IF_FROMSRC) && from_src && strcmp(from_src, "-") == 0);
  if (spool && !r->early_status) {
    if (asprintf(&r->spool_path, "%s/berth-body-XXXXXX", s->spool_dir) < 0) {
      r->spool_path = NULL;
      set_early(r, 500, "out of memory");
      return;
    }
    r->spool_fd = mkostemp(r->spool_path, O_CLOEXEC);
    if (r->spool_fd < 0) {
      set_early(r, 500, "spool request body in %s: %s", s->spool_dir, strerror(errno));
      free(r->spool_path);
      r->spool_path = NULL;
      return;
    }
    r->body_mode = BODY_SPOOL;
  }
}

static void sreq_consume(struct sreq *r, const char *data, size_t size)
{
  if (r->early_status)
    return; /* the answer is decided: drain the body and drop it */
  if (r->body_mode == BODY_SPOOL) {
    if (r->spool_errno == 0 && bf_write_all(r->spool_fd, data, size) < 0)
      r->spool_errno = errno ? errno : EIO;
    return;
  }
  if (r->too_large || r->len + size > r->srv->max_body) {
    r->too_large = true;
    return;
  }
  if (r->len + size + 1 > r->cap) {
    size_t cap = r->cap ? r->cap : 4096;
    while (cap < r->len + size + 1)
      cap *= 2;
    char *n = realloc(r->buf, cap);
    if (!n) {
      set_early(r, 500, "out of memory");
      return;
    }
    r->buf = n;
    r->cap = cap;
  }
  memcpy(r->buf + r->len, data, size);
  r->len += size;
}

static enum MHD_Result respond_job(struct sreq *r)
{
  struct job *job = &r->job;
  int status = job_http_status(job);
  bool failed = job->err.code != 0 || job->http_error != 0;
  if (failed)
    return queue_error(r, status, job->err.msg[0] ? job->err.msg : "internal error");
  if (r->is_ping) {
    char *ok = strdup("OK");
    return queue_body(r, status, ok, ok ? 2 : 0, "text/plain; charset=utf-8");
  }
  if (job->result_text) {
    /* moby's WriteJSON ends the body with a newline */
    size_t n = strlen(job->result_text);
    char *body = realloc(job->result_text, n + 2);
    if (!body)
      return queue_body(r, 500, NULL, 0, NULL);
    job->result_text = NULL;
    body[n] = '\n';
    body[n + 1] = '\0';
    return queue_body(r, status, body, n + 1, "application/json");
  }
  return queue_json(r, status, job->result);
}

static enum MHD_Result respond_stream(struct sreq *r)
{
  struct MHD_Response *resp =
      MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, STREAM_BLOCK, stream_read, r, NULL);
  if (!resp)
    return MHD_NO;
  add_std_headers(resp);
  add_job_headers(resp, r->headers);
  MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->content_type);
  enum MHD_Result ret = MHD_queue_response(r->conn, MHD_HTTP_OK, resp);
  MHD_destroy_response(resp);
  return ret;
}

static enum MHD_Result respond_upgrade(struct sreq *r)
{
  struct MHD_Response *resp = MHD_create_response_for_upgrade(on_upgrade, r);
  enum MHD_Result ret = MHD_NO;
  if (resp) {
    add_std_headers(resp);
    add_job_headers(resp, r->headers);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_UPGRADE, "tcp");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->content_type);
    ret = MHD_queue_response(r->conn, MHD_HTTP_SWITCHING_PROTOCOLS, resp);
    MHD_destroy_response(resp);
  }
  if (ret != MHD_YES) {
    pthread_mutex_lock(&r->mu);
    r->hj = HJ_FAILED;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
  }
  return ret;
}

static enum MHD_Result sreq_finish(struct sreq *r)
{
  struct server *s = r->srv;
  if (!r->early_status && r->body_mode == BODY_JSON) {
    if (r->too_large) {
      set_early(r, 413, "request body too large (limit %zu bytes)", s->max_body);
    } else if (r->len > 0) {
      json_error_t jerr;
      json_t *body = json_loadb(r->buf, r->len, JSON_DECODE_ANY, &jerr);
      if (!body)
        set_early(r, 400, "invalid JSON in request body: %s (line %d, column %d)", jerr.text,
                  jerr.line, jerr.column);
      else
        json_object_set_new(r->job.args, "body", body);
    }
    free(r->buf);
    r->buf = NULL;
    r->len = r->cap = 0;
  }
  if (!r->early_status && r->body_mode == BODY_SPOOL) {
    if (r->spool_errno)
      set_early(r, 500, "spool request body: %s", strerror(r->spool_errno));
    close(r->spool_fd);
    r->spool_fd = -1;
    r->job.body_file = r->spool_path;
  }
  if (r->early_status)
    return queue_error(r, r->early_status, r->early_msg);

  pthread_mutex_lock(&s->mu);
  if (s->stopping) {
    pthread_mutex_unlock(&s->mu);
    return queue_error(r, 503, "the daemon is shutting down");
  }
  r->refs++; /* the job thread's; nobody else holds r's mu yet */
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, SERVER_THREAD_STACK);
  pthread_t th;
  int rc = pthread_create(&th, &attr, job_thread, r);
  pthread_attr_destroy(&attr);
  if (rc != 0) {
    r->refs--;
    pthread_mutex_unlock(&s->mu);
    return queue_error(r, 503, "cannot start job thread");
  }
  s->jobs++;
  r->next = s->active;
  if (s->active)
    s->active->prev = r;
  s->active = r;
  pthread_mutex_unlock(&s->mu);

  pthread_mutex_lock(&r->mu);
  while (!r->done && r->mode == IO_NONE)
    pthread_cond_wait(&r->cv, &r->mu);
  enum io_mode mode = r->mode;
  pthread_mutex_unlock(&r->mu);

  switch (mode) {
  case IO_STREAM:
    return respond_stream(r);
  case IO_HIJACK:
    return respond_upgrade(r);
  default:
    return respond_job(r);
  }
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **req_cls)
{
  struct server *s = cls;
  struct sreq *r = *req_cls;
  if (!r) {
    r = calloc(1, sizeof(*r));
    if (!r)
      return MHD_NO;
    r->srv = s;
    r->conn = conn;
    r->refs = 1;
    r->spool_fd = r->pipe_rd = r->pipe_wr = r->sock = r->job_sock = -1;
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    *req_cls = r;
    sreq_route(r, url, method);

    /* A declared body over the bound: a client waiting for "100 Continue" is refused
     * before it sends it (the connection then closes); any other is drained unread so it
     * can read the 413 and keep its connection. */
    const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
    if (cl && !r->early_status && r->body_mode == BODY_JSON &&
        strtoull(cl, NULL, 10) > s->max_body) {
      set_early(r, 413, "request body too large (limit %zu bytes)", s->max_body);
      const char *expect = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Expect");
      if (expect && strcasecmp(expect, "100-continue") == 0)
        return queue_error(r, 413, r->early_msg);
    }
    return MHD_YES;
  }
  if (*upload_data_size > 0) {
    sreq_consume(r, upload_data, *upload_data_size);
    *upload_data_size = 0;
    return MHD_YES;
  }
  return sreq_finish(r);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
  struct sreq *r = *req_cls;
  if (!r)
    return;
  *req_cls = NULL;
  pthread_mutex_lock(&r->mu);
  if (r->pipe_rd >= 0) { /* the job's further writes fail with EPIPE */
    close(r->pipe_rd);
    r->pipe_rd = -1;
  }
  if (r->hj == HJ_REQUESTED) { /* the 101 never went out */
    r->hj = HJ_FAILED;
    pthread_cond_broadcast(&r->cv);
  }
  pthread_mutex_unlock(&r->mu);
  sreq_unref(r);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
  char msg[1024];
  vsnprintf(msg, sizeof(msg), fmt, ap);
  size_t n = strlen(msg);
  if (n > 0 && msg[n - 1] == '\n')
    msg[n - 1] = '\0';
  blog(BLOG_DEBUG, "http: %s", msg);
}

/* ---- the socket ---- */

/* The socket's group, by name or number, from /etc/group itself as Docker's daemon reads
 * it, not through NSS: berthd then loads no NSS modules (a third of a megabyte). */
static bool socket_group(const char *name, gid_t *gid)
{
  char *end;
  unsigned long n = strtoul(name, &end, 10);
  if (*name && !*end) {
    *gid = (gid_t)n;
    return true;
  }
  _cleanup_fclose_ FILE *f = fopen("/etc/group", "re");
  struct group gr, *g;
  char buf[4096];
  while (f && fgetgrent_r(f, &gr, buf, sizeof(buf), &g) == 0)
    if (strcmp(g->gr_name, name) == 0) {
      *gid = g->gr_gid;
      return true;
    }
  return false;
}

static int listen_unix(const char *path, const char *group, int *out, struct berr *err)
{
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (!path || strlen(path) >= sizeof(sa.sun_path))
    return berr_set(err, ENAMETOOLONG, "socket path %s", path ? path : "(none)");
  strcpy(sa.sun_path, path);

  _cleanup_free_ char *dir_copy = strdup(path);
  if (!dir_copy)
    return berr_set(err, ENOMEM, "socket path");
  const char *dir = dirname(dir_copy);
  if (bf_mkdir_p(dir, 0755, err) < 0)
    return berr_wrap(err, "socket directory");

  _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return berr_errno(err, "socket");

  struct stat st;
  if (lstat(path, &st) == 0) {
    if (!S_ISSOCK(st.st_mode))
      return berr_set(err, EEXIST, "%s exists and is not a socket", path);
    /* A socket someone still answers on belongs to a live daemon; a dead one is stale. */
    _cleanup_close_ int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0)
      return berr_set(err, EADDRINUSE, "another daemon is listening on %s", path);
    if (unlink(path) < 0 && errno != ENOENT)
      return berr_errno(err, "remove stale socket %s", path);
  }
  if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
    return berr_errno(err, "bind %s", path);
  if (chmod(path, 0660) < 0) {
    berr_errno(err, "chmod %s", path);
    unlink(path);
    return -err->code;
  }
  const char *gname = group ? group : "berth";
  gid_t gid;
  if (socket_group(gname, &gid)) {
    if (chown(path, (uid_t)-1, gid) < 0) {
      berr_errno(err, "chown %s to group %s", path, gname);
      unlink(path);
      return -err->code;
    }
  } else if (group) {
    unlink(path);
    return berr_set(err, ENOENT, "group %s not found", group);
  }
  if (listen(fd, SOMAXCONN) < 0) {
    berr_errno(err, "listen %s", path);
    unlink(path);
    return -err->code;
  }
  *out = steal_fd(&fd);
  return 0;
}

static void server_free(struct server *s)
{
  if (s->listen_fd >= 0)
    close(s->listen_fd);
  if (s->stop_efd >= 0)
    close(s->stop_efd);
  free(s->socket_path);
  free(s->spool_dir);
  pthread_mutex_destroy(&s->mu);
  pthread_cond_destroy(&s->cv);
  free(s);
}

int server_start(struct engine *e, const struct server_config *cfg, struct server **out,
                 struct berr *err)
{
  if (!e || !cfg || !cfg->socket_path)
    return berr_set(err, 0, "server: an engine and a socket path are required");

  /* A client that hangs up must show as EPIPE to the job writing its stream. */
  signal(SIGPIPE, SIG_IGN);

  if (!engine_has_job(e, "system.version") &&
      engine_register(e, "system.version", server_job_version) < 0)
    return berr_set(err, ENOMEM, "register system.version");
  if (!engine_has_job(e, "system.ping") && engine_register(e, "system.ping", server_job_ping) < 0)
    return berr_set(err, ENOMEM, "register system.ping");

  struct server *s = calloc(1, sizeof(*s));
  if (!s)
    return berr_set(err, ENOMEM, "server");
  s->engine = e;
  s->listen_fd = -1;
  s->stop_efd = -1;
  pthread_mutex_init(&s->mu, NULL);
  pthread_cond_init(&s->cv, NULL);
  s->max_body = cfg->max_body ? cfg->max_body : DEFAULT_MAX_BODY;
  s->extra = cfg->extra_routes;
  s->n_extra = cfg->extra_routes ? cfg->n_extra_routes : 0;
  s->socket_path = strdup(cfg->socket_path);
  s->spool_dir = strdup(cfg->spool_dir ? cfg->spool_dir : "/var/tmp");
  if (!s->socket_path || !s->spool_dir) {
    server_free(s);
    return berr_set(err, ENOMEM, "server");
  }
  s->stop_efd = eventfd(0, EFD_CLOEXEC);
  if (s->stop_efd < 0) {
    berr_errno(err, "eventfd");
    server_free(s);
    return -err->code;
  }
  if (listen_unix(cfg->socket_path, cfg->socket_group, &s->listen_fd, err) < 0) {
    server_free(s);
    return -err->code;
  }
  /* poll(), not select(): berthd holds many fds (shims, logs), and select() cannot watch a
   * connection whose fd number is past FD_SETSIZE. */
  s->mhd =
      MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                           MHD_ALLOW_UPGRADE | MHD_USE_ITC | MHD_USE_POLL | MHD_USE_ERROR_LOG,
                       0, NULL, NULL, on_access, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
                       MHD_OPTION_LISTEN_SOCKET, s->listen_fd, MHD_OPTION_NOTIFY_COMPLETED,
                       on_completed, s, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)64 * 1024,
                       MHD_OPTION_THREAD_STACK_SIZE, (size_t)SERVER_THREAD_STACK, MHD_OPTION_END);
  if (!s->mhd) {
    unlink(s->socket_path);
    server_free(s);
    return berr_set(err, EIO, "start HTTP server on %s", cfg->socket_path);
  }
  *out = s;
  return 0;
}

void server_stop(struct server *s)
{
  if (!s)
    return;
  pthread_mutex_lock(&s->mu);
  s->stopping = true;
  pthread_mutex_unlock(&s->mu);

  /* Stop accepting: the listening socket is ours again. */
  MHD_socket lfd = MHD_quiesce_daemon(s->mhd);
  if (lfd != MHD_INVALID_SOCKET && lfd == s->listen_fd) {
    close(s->listen_fd);
    s->listen_fd = -1;
  }
  unlink(s->socket_path);

  /* Cancel: stream readers give up (their jobs then see EPIPE), hijacked sockets are shut
   * down (their jobs read EOF and fail to write). Other jobs run to their end. */
  uint64_t one = 1;
  if (write(s->stop_efd, &one, sizeof(one)) < 0)
    blog(BLOG_WARN, "server stop: eventfd: %s", strerror(errno));
  pthread_mutex_lock(&s->mu);
  for (struct sreq *r = s->active; r; r = r->next) {
    pthread_mutex_lock(&r->mu);
    if (r->hj == HJ_OK && !r->hijack_ended)
      shutdown(r->sock, SHUT_RDWR);
    pthread_mutex_unlock(&r->mu);
  }
  while (s->jobs > 0)
    pthread_cond_wait(&s->cv, &s->mu);
  pthread_mutex_unlock(&s->mu);

  MHD_stop_daemon(s->mhd);
  server_free(s);
}
