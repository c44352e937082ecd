/* blobget: a load client for one HTTP blob URL on 127.0.0.1 that discards bodies in the
 * kernel (recv with MSG_TRUNC), so the client is not what limits a large-blob GET bench. */

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <linux/tcp.h> /* its tcp_info has tcpi_bytes_received; glibc's does not */
#include <openssl/evp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define HDR_MAX 16384
#define VERIFY_BUF (256u << 10)

static const char usage[] =
    "Usage: blobget [OPTIONS] PORT PATH\n"
    "\n"
    "GET http://127.0.0.1:PORT/PATH over and over on keep-alive connections and print one\n"
    "JSON line: requests completed, body bytes, errors, requests/s and MB/s (10^6 bytes).\n"
    "Bodies are discarded in the kernel with recv(fd, NULL, len, MSG_TRUNC): TCP drops the\n"
    "data instead of copying it to user memory. Only complete 200 responses whose body\n"
    "length equals their Content-Length count; anything else (another status, chunked\n"
    "encoding, a short body, a closed or failed connection) is an error. Exit status 0 when\n"
    "requests > 0 and errors == 0, 1 otherwise, 2 on bad usage.\n"
    "\n"
    "  -c, --connections N  keep-alive connections (default 4)\n"
    "  -t, --threads N      threads, each with its own epoll and a share of the\n"
    "                       connections (default 1)\n"
    "  -d, --duration S     seconds to run (default 5; decimals allowed)\n"
    "  -n, --requests N     stop after N complete responses (default: no limit; with\n"
    "                       several threads a few more may complete meanwhile)\n"
    "      --verify         read bodies into user memory and check their SHA-256 against\n"
    "                       the sha256:<hex> digest at the end of PATH (a sanity check that\n"
    "                       the server sends the right bytes; not for measuring)\n"
    "  -h, --help           this text\n";

struct opts {
  int port;
  const char *path;
  int conns;
  int threads;
  double duration;
  long max_requests;
  bool verify;
  unsigned char digest[32];
};

enum conn_state { SENDING, HEADERS, BODY };

struct conn {
  int fd;
  enum conn_state state;
  size_t sent;
  char hdr[HDR_MAX];
  size_t hlen;
  uint64_t clen;
  uint64_t body_left;
  bool close_after;
  bool ok_status;
  /* bytes taken out of this socket (read or discarded): checked against the kernel's own
   * count (TCP_INFO tcpi_bytes_received) at the end */
  uint64_t consumed;
  EVP_MD_CTX *sha;
};

struct worker {
  const struct opts *o;
  const char *req;
  size_t req_len;
  int nconns;
  struct conn *conns;
  int epfd;
  pthread_t tid;
  /* results */
  uint64_t requests;
  uint64_t body_bytes;
  uint64_t inflight_bytes;
  uint64_t errors;
  uint64_t kernel_received;
  uint64_t consumed;
  uint64_t kernel_unread;
  char first_error[256];
};

static struct timespec t_start;
static double deadline_s;
static atomic_long requests_left;
static atomic_bool stop_all;

static double now_s(void)
{
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)(t.tv_sec - t_start.tv_sec) + (double)(t.tv_nsec - t_start.tv_nsec) / 1e9;
}

static void note_error(struct worker *w, const char *fmt, ...)
{
  w->errors++;
  if (w->first_error[0])
    return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(w->first_error, sizeof(w->first_error), fmt, ap);
  va_end(ap);
}

static int conn_open(struct worker *w, struct conn *c)
{
  c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (c->fd < 0) {
    note_error(w, "socket: %s", strerror(errno));
    return -1;
  }
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)w->o->port)};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  /* non-blocking: a connect the listener is slow to take (its backlog full) must not stall
   * the other connections; the first send waits for EPOLLOUT, and a failed connect shows
   * as that send's error */
  if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS) {
    note_error(w, "connect 127.0.0.1:%d: %s", w->o->port, strerror(errno));
    close(c->fd);
    c->fd = -1;
    return -1;
  }
  int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
  if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
    note_error(w, "epoll_ctl: %s", strerror(errno));
    close(c->fd);
    c->fd = -1;
    return -1;
  }
  c->state = SENDING;
  c->sent = 0;
  c->hlen = 0;
  c->consumed = 0;
  return 0;
}

static void conn_close(struct conn *c)
{
  if (c->fd >= 0)
    close(c->fd);
  c->fd = -1;
}

/* after an error that loses the framing: a fresh connection (an error storm against a
 * refusing server is bounded by the duration) */
static void conn_reset(struct worker *w, struct conn *c)
{
  conn_close(c);
  if (!atomic_load(&stop_all))
    conn_open(w, c);
}

static void set_events(struct worker *w, struct conn *c, uint32_t events)
{
  struct epoll_event ev = {.events = events, .data.ptr = c};
  epoll_ctl(w->epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Parse a complete header block (hdr[0..end)): status 200 and a Content-Length are
 * required, chunked is refused. Returns 0, or -1 after noting the error. */
static int parse_headers(struct worker *w, struct conn *c, size_t end)
{
  c->hdr[end - 2] = '\0'; /* the blank line's CRLF */
  char *save = NULL;
  char *line = strtok_r(c->hdr, "\r\n", &save);
  int major, minor, status;
  if (!line || sscanf(line, "HTTP/%d.%d %d", &major, &minor, &status) != 3) {
    note_error(w, "bad status line: %.60s", line ? line : "");
    return -1;
  }
  bool have_len = false, chunked = false;
  c->close_after = (major == 1 && minor == 0);
  while ((line = strtok_r(NULL, "\r\n", &save))) {
    char *colon = strchr(line, ':');
    if (!colon)
      continue;
    *colon = '\0';
    char *val = colon + 1;
    while (*val == ' ' || *val == '\t')
      val++;
    if (!strcasecmp(line, "Content-Length")) {
      char *endp;
      errno = 0;
      unsigned long long v = strtoull(val, &endp, 10);
      if (errno || endp == val || (*endp && *endp != ' ')) {
        note_error(w, "bad Content-Length: %.40s", val);
        return -1;
      }
      c->clen = v;
      have_len = true;
    } else if (!strcasecmp(line, "Transfer-Encoding")) {
      if (strcasestr(val, "chunked"))
        chunked = true;
    } else if (!strcasecmp(line, "Connection")) {
      if (strcasestr(val, "close"))
        c->close_after = true;
      else if (strcasestr(val, "keep-alive"))
        c->close_after = false;
    }
  }
  if (chunked) {
    note_error(w, "chunked transfer encoding refused (a Content-Length is required)");
    return -1;
  }
  if (!have_len) {
    note_error(w, "HTTP %d without Content-Length", status);
    return -1;
  }
  c->ok_status = status == 200;
  if (!c->ok_status)
    note_error(w, "HTTP %d", status);
  return 0;
}

/* one response done: count it and send the next request (or stop) */
static void response_done(struct worker *w, struct conn *c)
{
  if (c->ok_status && w->o->verify) {
    unsigned char md[32];
    unsigned int mdlen = 0;
    EVP_DigestFinal_ex(c->sha, md, &mdlen);
    if (mdlen != 32 || memcmp(md, w->o->digest, 32) != 0) {
      note_error(w, "body's sha256 differs from the digest in the path");
      c->ok_status = false;
    }
  }
  if (c->ok_status) {
    w->requests++;
    w->body_bytes += c->clen;
    if (w->o->max_requests > 0 && atomic_fetch_sub(&requests_left, 1) <= 1)
      atomic_store(&stop_all, true);
  }
  if (c->close_after) {
    conn_reset(w, c);
    return;
  }
  c->state = SENDING;
  c->sent = 0;
  c->hlen = 0;
  set_events(w, c, EPOLLOUT);
}

static void start_body(struct worker *w, struct conn *c, size_t already)
{
  c->body_left = c->clen - already;
  if (w->o->verify && c->ok_status) {
    EVP_DigestInit_ex(c->sha, EVP_sha256(), NULL);
    EVP_DigestUpdate(c->sha, c->hdr + c->hlen - already, already);
  }
  c->state = BODY;
}

/* Advance one connection as far as it goes without blocking. */
static void conn_step(struct worker *w, struct conn *c, char *vbuf)
{
  for (;;) {
    if (c->state == SENDING) {
      ssize_t n = send(c->fd, w->req + c->sent, w->req_len - c->sent, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n < 0) {
        if (errno == EAGAIN || errno == EINTR)
          return;
        note_error(w, "connect or send: %s", strerror(errno));
        conn_reset(w, c);
        return;
      }
      c->sent += (size_t)n;
      if (c->sent < w->req_len)
        continue;
      c->state = HEADERS;
      set_events(w, c, EPOLLIN);
      /* the answer is seldom there yet: wait for it rather than a recv that fails */
      return;
    }
    if (c->state == HEADERS) {
      ssize_t n = recv(c->fd, c->hdr + c->hlen, sizeof(c->hdr) - 1 - c->hlen, MSG_DONTWAIT);
      if (n < 0) {
        if (errno == EAGAIN || errno == EINTR)
          return;
        note_error(w, "recv headers: %s", strerror(errno));
        conn_reset(w, c);
        return;
      }
      if (n == 0) {
        note_error(w, "connection closed before a response");
        conn_reset(w, c);
        return;
      }
      c->consumed += (uint64_t)n;
      size_t old = c->hlen;
      c->hlen += (size_t)n;
      c->hdr[c->hlen] = '\0';
      /* search from a little before the new bytes: the CRLFCRLF may straddle reads */
      char *end = memmem(c->hdr + (old >= 3 ? old - 3 : 0), c->hlen - (old >= 3 ? old - 3 : 0),
                         "\r\n\r\n", 4);
      if (!end) {
        if (c->hlen >= sizeof(c->hdr) - 1) {
          note_error(w, "response headers longer than %d bytes", HDR_MAX - 1);
          conn_reset(w, c);
        }
        continue;
      }
      size_t hend = (size_t)(end - c->hdr) + 4;
      size_t extra = c->hlen - hend;
      char saved[HDR_MAX];
      /* parse_headers writes into hdr; the body bytes after it are kept aside */
      memcpy(saved, c->hdr + hend, extra);
      if (parse_headers(w, c, hend) < 0) {
        conn_reset(w, c);
        return;
      }
      if (extra > c->clen) {
        /* no pipelining: anything past the body is the server's error */
        note_error(w, "%zu bytes past Content-Length %" PRIu64, extra, c->clen);
        conn_reset(w, c);
        return;
      }
      memcpy(c->hdr, saved, extra);
      c->hlen = extra;
      start_body(w, c, extra);
      if (c->body_left == 0) {
        response_done(w, c);
        if (c->fd < 0 || atomic_load(&stop_all))
          return;
      }
      continue;
    }
    /* BODY */
    ssize_t n;
    if (w->o->verify && c->ok_status) {
      size_t want = c->body_left < VERIFY_BUF ? (size_t)c->body_left : VERIFY_BUF;
      n = recv(c->fd, vbuf, want, MSG_DONTWAIT);
      if (n > 0)
        EVP_DigestUpdate(c->sha, vbuf, (size_t)n);
    } else {
      size_t want = c->body_left < (1u << 30) ? (size_t)c->body_left : (1u << 30);
      n = recv(c->fd, NULL, want, MSG_TRUNC | MSG_DONTWAIT);
      if (n > (ssize_t)want) {
        note_error(w, "recv MSG_TRUNC returned %zd for %zu asked", n, want);
        atomic_store(&stop_all, true);
        return;
      }
      if (n < 0 && errno == EFAULT) {
        /* the kernel tried to copy into the NULL buffer: no discard on this kernel */
        note_error(w, "recv(NULL, MSG_TRUNC) on TCP: %s (this kernel does not discard)",
                   strerror(errno));
        atomic_store(&stop_all, true);
        return;
      }
    }
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR)
        return;
      note_error(w, "recv body: %s", strerror(errno));
      conn_reset(w, c);
      return;
    }
    if (n == 0) {
      note_error(w, "connection closed with %" PRIu64 " of %" PRIu64 " body bytes missing",
                 c->body_left, c->clen);
      conn_reset(w, c);
      return;
    }
    c->consumed += (uint64_t)n;
    c->body_left -= (uint64_t)n;
    if (c->body_left == 0) {
      response_done(w, c);
      if (c->fd < 0)
        return;
      if (atomic_load(&stop_all))
        return;
      continue;
    }
  }
}

/* The kernel's count of bytes it received on a socket must equal what we took out
 * (read or discarded) plus what still waits in the queue: a discard that did not
 * discard, or counted what it did not, shows here. Data may arrive between the calls, so
 * the queue is read before and after. A FIN takes one sequence number, which
 * tcpi_bytes_received counts and SIOCINQ does not, and it may arrive between the calls
 * too: once the peer has closed (state no longer established, read last) one byte more
 * is allowed. */
static void check_kernel_count(struct worker *w, struct conn *c)
{
  int inq1 = 0, inq2 = 0;
  struct tcp_info ti, ti2;
  socklen_t len = sizeof(ti), len2 = sizeof(ti2);
  memset(&ti, 0, sizeof(ti));
  memset(&ti2, 0, sizeof(ti2));
  if (ioctl(c->fd, SIOCINQ, &inq1) < 0 || getsockopt(c->fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0 ||
      ioctl(c->fd, SIOCINQ, &inq2) < 0 ||
      getsockopt(c->fd, IPPROTO_TCP, TCP_INFO, &ti2, &len2) < 0) {
    note_error(w, "TCP_INFO/SIOCINQ: %s", strerror(errno));
    return;
  }
  uint64_t rcv = ti.tcpi_bytes_received;
  uint64_t fin = ti2.tcpi_state != 1; /* TCP_ESTABLISHED */
  w->kernel_received += rcv;
  w->consumed += c->consumed;
  w->kernel_unread += (uint64_t)inq2;
  if (rcv < c->consumed + (uint64_t)inq1 || rcv > c->consumed + (uint64_t)inq2 + fin) {
    note_error(w,
               "kernel received %" PRIu64 " bytes on a connection, client took %" PRIu64
               " and %d-%d are queued",
               rcv, c->consumed, inq1, inq2);
  }
}

static void *worker_run(void *arg)
{
  struct worker *w = arg;
  char *vbuf = w->o->verify ? malloc(VERIFY_BUF) : NULL;
  struct epoll_event evs[64];
  for (int i = 0; i < w->nconns; i++)
    conn_open(w, &w->conns[i]);
  while (!atomic_load(&stop_all)) {
    double left = deadline_s - now_s();
    if (left <= 0)
      break;
    int ms = (int)(left * 1000) + 1;
    int n = epoll_wait(w->epfd, evs, 64, ms > 100 ? 100 : ms);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      note_error(w, "epoll_wait: %s", strerror(errno));
      break;
    }
    if (now_s() >= deadline_s)
      break;
    for (int i = 0; i < n && !atomic_load(&stop_all); i++) {
      struct conn *c = evs[i].data.ptr;
      if (c->fd >= 0)
        conn_step(w, c, vbuf);
    }
    /* connections lost to errors come back here, so one refused connect does not
     * spin */
    for (int i = 0; i < w->nconns && !atomic_load(&stop_all); i++)
      if (w->conns[i].fd < 0)
        conn_open(w, &w->conns[i]);
  }
  for (int i = 0; i < w->nconns; i++) {
    struct conn *c = &w->conns[i];
    if (c->fd < 0)
      continue;
    check_kernel_count(w, c);
    if (c->state == BODY && c->ok_status)
      w->inflight_bytes += c->clen - c->body_left;
    conn_close(c);
  }
  free(vbuf);
  return NULL;
}

static int parse_digest(struct opts *o)
{
  const char *p = strstr(o->path, "sha256:");
  if (!p || strlen(p + 7) != 64)
    return -1;
  for (int i = 0; i < 32; i++) {
    unsigned v;
    if (sscanf(p + 7 + 2 * i, "%2x", &v) != 1)
      return -1;
    o->digest[i] = (unsigned char)v;
  }
  return 0;
}

static void json_str(FILE *f, const char *s)
{
  fputc('"', f);
  for (; *s; s++) {
    unsigned char ch = (unsigned char)*s;
    if (ch == '"' || ch == '\\')
      fprintf(f, "\\%c", ch);
    else if (ch < 0x20)
      fprintf(f, "\\u%04x", ch);
    else
      fputc(ch, f);
  }
  fputc('"', f);
}

int main(int argc, char **argv)
{
  struct opts o = {.conns = 4, .threads = 1, .duration = 5};
  static const struct option longopts[] = {
      {"connections", required_argument, NULL, 'c'},
      {"threads", required_argument, NULL, 't'},
      {"duration", required_argument, NULL, 'd'},
      {"requests", required_argument, NULL, 'n'},
      {"verify", no_argument, NULL, 'V'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  int opt;
  while ((opt = getopt_long(argc, argv, "c:t:d:n:h", longopts, NULL)) != -1) {
    switch (opt) {
    case 'c':
      o.conns = atoi(optarg);
      break;
    case 't':
      o.threads = atoi(optarg);
      break;
    case 'd':
      o.duration = atof(optarg);
      break;
    case 'n':
      o.max_requests = atol(optarg);
      break;
    case 'V':
      o.verify = true;
      break;
    case 'h':
      fputs(usage, stdout);
      return 0;
    default:
      fputs(usage, stderr);
      return 2;
    }
  }
  if (argc - optind != 2) {
    fputs(usage, stderr);
    return 2;
  }
  o.port = atoi(argv[optind]);
  o.path = argv[optind + 1];
  if (o.port <= 0 || o.port > 65535 || o.conns <= 0 || o.threads <= 0 || o.duration <= 0 ||
      o.max_requests < 0 || o.path[0] != '/') {
    fprintf(stderr, "blobget: bad arguments (see --help)\n");
    return 2;
  }
  if (o.threads > o.conns)
    o.threads = o.conns;
  if (o.verify && parse_digest(&o) < 0) {
    fprintf(stderr, "blobget: --verify needs a sha256:<64 hex> digest at the end of PATH\n");
    return 2;
  }
  char req[2048];
  int rl = snprintf(req, sizeof(req),
                    "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUser-Agent: berth-blobget\r\n"
                    "Accept: */*\r\n\r\n",
                    o.path, o.port);
  if (rl < 0 || (size_t)rl >= sizeof(req)) {
    fprintf(stderr, "blobget: path too long\n");
    return 2;
  }

  struct worker *ws = calloc((size_t)o.threads, sizeof(*ws));
  struct conn *cs = calloc((size_t)o.conns, sizeof(*cs));
  if (!ws || !cs) {
    fprintf(stderr, "blobget: out of memory\n");
    return 1;
  }
  atomic_store(&requests_left, o.max_requests);
  clock_gettime(CLOCK_MONOTONIC, &t_start);
  deadline_s = o.duration;
  int base = 0;
  for (int i = 0; i < o.threads; i++) {
    struct worker *w = &ws[i];
    w->o = &o;
    w->req = req;
    w->req_len = (size_t)rl;
    w->nconns = o.conns / o.threads + (i < o.conns % o.threads);
    w->conns = cs + base;
    base += w->nconns;
    for (int j = 0; j < w->nconns; j++) {
      w->conns[j].fd = -1;
      w->conns[j].sha = o.verify ? EVP_MD_CTX_new() : NULL;
    }
    w->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (w->epfd < 0) {
      fprintf(stderr, "blobget: epoll_create1: %s\n", strerror(errno));
      return 1;
    }
  }
  for (int i = 1; i < o.threads; i++)
    if (pthread_create(&ws[i].tid, NULL, worker_run, &ws[i]) != 0) {
      fprintf(stderr, "blobget: pthread_create failed\n");
      return 1;
    }
  worker_run(&ws[0]);
  for (int i = 1; i < o.threads; i++)
    pthread_join(ws[i].tid, NULL);
  double elapsed = now_s();

  struct worker sum = {0};
  const char *first_error = "";
  for (int i = 0; i < o.threads; i++) {
    struct worker *w = &ws[i];
    sum.requests += w->requests;
    sum.body_bytes += w->body_bytes;
    sum.inflight_bytes += w->inflight_bytes;
    sum.errors += w->errors;
    sum.kernel_received += w->kernel_received;
    sum.consumed += w->consumed;
    sum.kernel_unread += w->kernel_unread;
    if (!first_error[0] && w->first_error[0])
      first_error = w->first_error;
    close(w->epfd);
    for (int j = 0; j < w->nconns; j++)
      EVP_MD_CTX_free(w->conns[j].sha);
  }
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  double cpu_user = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
  double cpu_sys = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;

  printf("{\"mode\": \"%s\", \"connections\": %d, \"threads\": %d, \"duration_s\": %.3f, "
         "\"requests\": %" PRIu64 ", \"bytes\": %" PRIu64 ", \"errors\": %" PRIu64 ", "
         "\"requests_per_s\": %.2f, \"mb_per_s\": %.2f, \"inflight_bytes\": %" PRIu64 ", "
         "\"kernel_bytes_received\": %" PRIu64 ", \"client_bytes_taken\": %" PRIu64 ", "
         "\"kernel_bytes_unread\": %" PRIu64 ", \"cpu_user_s\": %.3f, \"cpu_sys_s\": %.3f, "
         "\"first_error\": ",
         o.verify ? "verify" : "discard", o.conns, o.threads, elapsed, sum.requests, sum.body_bytes,
         sum.errors, (double)sum.requests / elapsed, (double)sum.body_bytes / elapsed / 1e6,
         sum.inflight_bytes, sum.kernel_received, sum.consumed, sum.kernel_unread, cpu_user,
         cpu_sys);
  json_str(stdout, first_error);
  printf("}\n");
  if (sum.errors > 0 || sum.requests == 0) {
    if (sum.errors > 0)
      fprintf(stderr, "blobget: %" PRIu64 " errors, the first: %s\n", sum.errors, first_error);
    else
      fprintf(stderr, "blobget: no complete response in %.1f s\n", elapsed);
  }
  /* first_error points into ws */
  free(ws);
  free(cs);
  return sum.errors > 0 || sum.requests == 0 ? 1 : 0;
}
