/* A test daemon for tests/integration/test_server.py: the real server on a given socket
 * with jobs the tests drive (echo, status, failure, streams, a wait that blocks until
 * released, a hijack echo) and nothing else, so unregistered routes answer 501.
 * Usage: test-server-daemon SOCKET SPOOL_DIR; runs until SIGTERM or SIGINT. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/bjson.h"
#include "common/fileutil.h"
#include "common/log.h"
#include "engine/engine.h"
#include "server/server.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int released;         /* test.release calls */
static int endless_epipe;    /* test.endless saw its client go */
static int wait_client_gone; /* test.wait saw POLLERR on its stream */
static int hijack_eof;       /* test.hijack read EOF (client half-close) */

/* Returns its arguments, the API version and a spooled body's content. */
static int job_echo(struct job *job)
{
  const char *hdr = job_query_str(job, "hdr");
  if (hdr)
    json_object_set_new(job->args, "response_headers", json_pack("{s:s}", "X-Test-Header", hdr));
  json_t *r = json_deep_copy(job->args);
  json_object_set_new(r, "api_version", json_string(job->api_version));
  json_object_set_new(r, "job", json_string(job->name));
  if (job->body_file) {
    char *data = NULL;
    size_t len = 0;
    if (bf_read_all(job->body_file, &data, &len, &job->err) < 0) {
      json_decref(r);
      return -job->err.code;
    }
    json_object_set_new(r, "body_file", json_string(job->body_file));
    json_object_set_new(r, "body_file_size", json_integer((json_int_t)len));
    json_object_set_new(r, "body_file_content", json_stringn(data, len));
    free(data);
  }
  json_t *filters = NULL;
  struct berr ferr = {0};
  if (job_query_filters(job, &filters, &ferr) == 0)
    json_object_set_new(r, "filters", filters);
  else
    json_object_set_new(r, "filters_error", json_string(ferr.msg));
  json_object_set_new(r, "force", json_boolean(job_query_bool(job, "force", false)));
  json_object_set_new(r, "t", job_query_list(job, "t"));
  job->result = r;
  return 0;
}

static int job_status(struct job *job)
{
  long long st = 200;
  if (job_query_int(job, "status", 200, &st, &job->err) < 0)
    return -job->err.code;
  job->status = (int)st;
  job->result = json_pack("{s:s}", "status", "set");
  return 0;
}

static int job_fail_test(struct job *job)
{
  const char *e = job_query_str(job, "errno");
  if (e && strcmp(e, "ENOENT") == 0)
    return berr_set(&job->err, ENOENT, "open /nonexistent");
  return job_fail(job, 409, "conflict: %s", job_query_str(job, "what") ?: "test");
}

static int job_stream(struct job *job)
{
  long long n = 3;
  if (job_query_int(job, "n", 3, &n, &job->err) < 0)
    return -job->err.code;
  json_object_set_new(job->args, "response_headers",
                      json_pack("{s:s}", "X-Docker-Container-Path-Stat", "eyJuYW1lIjoieCJ9"));
  int fd = job_stream_begin(job, "application/json");
  if (fd < 0)
    return job_fail(job, 500, "no stream");
  for (long long i = 0; i < n; i++) {
    char line[64];
    int len = snprintf(line, sizeof(line), "{\"n\":%lld}\n", i);
    if (bf_write_all(fd, line, (size_t)len) < 0)
      return 0;
  }
  return 0;
}

/* Like container.wait: headers out at once, the body only when released. */
static int job_wait(struct job *job)
{
  int fd = job_stream_begin(job, "application/json");
  if (fd < 0)
    return job_fail(job, 500, "no stream");
  pthread_mutex_lock(&mu);
  int start = released;
  pthread_mutex_unlock(&mu);
  if (job_query_bool(job, "first", false)) { /* like an event: must reach the client now */
    const char *first = "{\"first\":true}\n";
    bf_write_all(fd, first, strlen(first));
  }
  for (;;) {
    /* Notice a client that went away while nothing is written. */
    struct pollfd p = {.fd = fd, .events = 0};
    if (poll(&p, 1, 20) > 0 && (p.revents & (POLLERR | POLLHUP))) {
      pthread_mutex_lock(&mu);
      wait_client_gone++;
      pthread_mutex_unlock(&mu);
      return 0;
    }
    pthread_mutex_lock(&mu);
    int now = released;
    pthread_mutex_unlock(&mu);
    if (now != start)
      break;
  }
  const char *msg = "{\"StatusCode\":0}\n";
  bf_write_all(fd, msg, strlen(msg));
  return 0;
}

static int job_release(struct job *job)
{
  pthread_mutex_lock(&mu);
  released++;
  pthread_cond_broadcast(&cv);
  pthread_mutex_unlock(&mu);
  job->status = 204;
  return 0;
}

static int job_endless(struct job *job)
{
  int fd = job_stream_begin(job, "text/plain");
  if (fd < 0)
    return job_fail(job, 500, "no stream");
  for (unsigned long i = 0;; i++) {
    char line[64];
    int len = snprintf(line, sizeof(line), "line %lu\n", i);
    if (bf_write_all(fd, line, (size_t)len) < 0) {
      pthread_mutex_lock(&mu);
      if (errno == EPIPE)
        endless_epipe++;
      pthread_mutex_unlock(&mu);
      return 0;
    }
  }
}

static int job_state(struct job *job)
{
  pthread_mutex_lock(&mu);
  job->result = json_pack("{s:i,s:i,s:i,s:i}", "released", released, "endless_epipe", endless_epipe,
                          "wait_client_gone", wait_client_gone, "hijack_eof", hijack_eof);
  pthread_mutex_unlock(&mu);
  return 0;
}

/* Echo every byte back; on the client's half-close write a marker, then end. */
static int job_hijack(struct job *job)
{
  json_t *body = job_body(job);
  if (body && json_is_true(json_object_get(body, "fail")))
    return job_fail(job, 404, "No such exec instance: test");
  int fd = job_hijack_begin(job, "application/vnd.docker.raw-stream");
  if (fd < 0)
    return job_fail(job, 400, "this endpoint needs a connection upgrade");
  char buf[4096];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    if (bf_write_all(fd, buf, (size_t)n) < 0)
      break;
  }
  pthread_mutex_lock(&mu);
  hijack_eof++;
  pthread_mutex_unlock(&mu);
  const char *marker = "EOF-MARKER\n";
  bf_write_all(fd, marker, strlen(marker));
  job_hijack_end(job);
  return 0;
}

/* exec as the docker CLI drives it: create, a hijacked start echoing stdin in stdcopy
 * frames (stream 1) until the client half-closes, then inspect with an exit code. */
static int job_exec_create(struct job *job)
{
  /* The id tells start whether stdin is attached ("e0..." yes, "f0..." no). */
  bool in = json_is_true(json_object_get(job_body(job), "AttachStdin"));
  job->result = json_pack("{s:s}", "Id",
                          in ? "e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff"
                             : "f0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff");
  job->status = 201;
  return 0;
}

static int write_frame(int fd, const char *data, size_t len)
{
  unsigned char hdr[8] = {1,
                          0,
                          0,
                          0,
                          (unsigned char)(len >> 24),
                          (unsigned char)(len >> 16),
                          (unsigned char)(len >> 8),
                          (unsigned char)len};
  return bf_write_all(fd, hdr, sizeof(hdr)) < 0 ? -1 : bf_write_all(fd, data, len);
}

static int job_exec_start(struct job *job)
{
  int fd = job_hijack_begin(job, "application/vnd.docker.multiplexed-stream");
  if (fd < 0)
    return job_fail(job, 400, "this endpoint needs a connection upgrade");
  const char *id = job_path(job, "id");
  if (id && id[0] == 'f') { /* no stdin: output, then the end, whatever the client does */
    write_frame(fd, "no-stdin\n", 9);
    job_hijack_end(job);
    return 0;
  }
  char buf[4096];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0 || write_frame(fd, buf, (size_t)n) < 0)
      break;
  }
  write_frame(fd, "EOF-MARKER\n", 11);
  job_hijack_end(job);
  return 0;
}

static int job_exec_inspect(struct job *job)
{
  job->result = json_pack("{s:s,s:b,s:i}", "ID", job_path(job, "id"), "Running", 0, "ExitCode", 3);
  return 0;
}

static int job_container_inspect(struct job *job)
{
  job->result = json_pack("{s:s,s:s,s:{s:s,s:b},s:{s:b,s:b},s:{}}", "Id",
                          "3f1c0d5e9a7b2c4d6e8f0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f",
                          "Name", "/c1", "State", "Status", "running", "Running", 1, "Config",
                          "Tty", 0, "OpenStdin", 1, "HostConfig");
  return 0;
}

/* container.wait: headers at once, then the exit status. */
static int job_container_wait(struct job *job)
{
  int fd = job_stream_begin(job, "application/json");
  if (fd < 0)
    return job_fail(job, 500, "no stream");
  const char *msg = "{\"StatusCode\":7}\n";
  bf_write_all(fd, msg, strlen(msg));
  return 0;
}

static const struct server_route test_routes[] = {
    {"GET", "/test/echo", "test.echo", 0},
    {"POST", "/test/echo", "test.echo", 0},
    {"GET", "/test/echo/{id}", "test.echo", 0},
    {"PUT", "/test/spool", "test.echo", SERVER_ROUTE_SPOOL_BODY},
    {"GET", "/test/status", "test.status", 0},
    {"POST", "/test/fail", "test.fail", 0},
    {"GET", "/test/stream", "test.stream", 0},
    {"POST", "/test/wait", "test.wait", 0},
    {"POST", "/test/release", "test.release", 0},
    {"GET", "/test/endless", "test.endless", 0},
    {"GET", "/test/state", "test.state", 0},
    {"POST", "/test/hijack", "test.hijack", 0},
};

int main(int argc, char **argv)
{
  if (argc != 3) {
    fprintf(stderr, "usage: %s SOCKET SPOOL_DIR\n", argv[0]);
    return 2;
  }
  blog_open(NULL, false, getenv("TEST_DEBUG") ? BLOG_DEBUG : BLOG_WARN);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, NULL);

  struct berr err = {0};
  struct engine *e = NULL;
  struct engine_config ecfg = {.data_root = "/nonexistent", .exec_root = "/nonexistent"};
  if (engine_new(&ecfg, &e, &err) < 0) {
    fprintf(stderr, "engine: %s\n", err.msg);
    return 1;
  }
  engine_register(e, "test.echo", job_echo);
  engine_register(e, "test.status", job_status);
  engine_register(e, "test.fail", job_fail_test);
  engine_register(e, "test.stream", job_stream);
  engine_register(e, "test.wait", job_wait);
  engine_register(e, "test.release", job_release);
  engine_register(e, "test.endless", job_endless);
  engine_register(e, "test.state", job_state);
  engine_register(e, "test.hijack", job_hijack);
  /* Production routes exercised with the echo job (path params, spooling). */
  engine_register(e, "image.inspect", job_echo);
  engine_register(e, "image.delete", job_echo);
  engine_register(e, "image.create", job_echo);
  engine_register(e, "container.inspect", job_echo);
  engine_register(e, "container.archive.put", job_echo);
  engine_register(e, "exec.start", job_hijack);
  if (getenv("TEST_DOCKER_EXEC")) { /* the docker CLI's exec and wait flows */
    engine_register(e, "exec.create", job_exec_create);
    engine_register(e, "exec.start", job_exec_start);
    engine_register(e, "exec.inspect", job_exec_inspect);
    engine_register(e, "container.wait", job_container_wait);
    engine_register(e, "container.inspect", job_container_inspect);
  }

  struct server_config cfg = {.socket_path = argv[1],
                              .spool_dir = argv[2],
                              .max_body = 1 << 20,
                              .extra_routes = test_routes,
                              .n_extra_routes = sizeof(test_routes) / sizeof(test_routes[0])};
  struct server *s = NULL;
  if (server_start(e, &cfg, &s, &err) < 0) {
    fprintf(stderr, "server: %s\n", err.msg);
    engine_free(e);
    return 1;
  }
  printf("ready\n");
  fflush(stdout);
  int sig = 0;
  sigwait(&set, &sig);
  server_stop(s);
  engine_free(e);
  return 0;
}
