/* The hijack relay (see hijack.h). Only used when a client sent bytes right behind its
 * request, which MHD had read already; otherwise the job gets the client socket itself. */
#include "hijack.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fileutil.h"

struct hijack_proxy {
  int client; /* not owned */
  int inner;  /* our end of the pair */
  int job_fd; /* the job's end */
  int wake;   /* eventfd: the job is done */
  pthread_t thread;
  char *extra;
  size_t extra_len;
};

/* Copy one read's worth from -> to. Returns >0 copied, 0 on EOF, -1 when `from` failed,
 * -2 when `to` failed. */
static int relay_once(int from, int to)
{
  char buf[32 * 1024];
  ssize_t n;
  do
    n = read(from, buf, sizeof(buf));
  while (n < 0 && errno == EINTR);
  if (n == 0)
    return 0;
  if (n < 0)
    return errno == EAGAIN ? 1 : -1;
  return bf_write_all(to, buf, (size_t)n) < 0 ? -2 : 1;
}

static void *relay_thread(void *arg)
{
  struct hijack_proxy *p = arg;
  if (bf_write_all(p->inner, p->extra, p->extra_len) < 0)
    shutdown(p->client, SHUT_RD);
  free(p->extra);
  p->extra = NULL;

  bool from_client = true, to_client = true;
  for (;;) {
    struct pollfd fds[3] = {{.fd = from_client ? p->client : -1, .events = POLLIN},
                            {.fd = to_client ? p->inner : -1, .events = POLLIN},
                            {.fd = p->wake, .events = POLLIN}};
    if (poll(fds, 3, -1) < 0) {
      if (errno == EINTR)
        continue;
      break;
    }
    if (fds[0].revents) {
      int r = relay_once(p->client, p->inner);
      if (r <= 0) { /* client EOF (half-close) or error: the job reads EOF */
        from_client = false;
        shutdown(p->inner, SHUT_WR);
      }
    }
    if (fds[1].revents) {
      int r = relay_once(p->inner, p->client);
      if (r == 0) { /* the job shut its writing side: pass the half-close on */
        to_client = false;
        shutdown(p->client, SHUT_WR);
      } else if (r < 0) { /* client gone: the job's writes fail from now on */
        to_client = from_client = false;
        shutdown(p->inner, SHUT_RDWR);
      }
    }
    if (fds[2].revents) {
      /* The job closed its end: deliver what is still buffered, then stop. */
      while (to_client && relay_once(p->inner, p->client) > 0)
        ;
      break;
    }
  }
  return NULL;
}

int hijack_proxy_start(int client, const char *extra, size_t len, struct hijack_proxy **out,
                       int *job_fd, struct berr *err)
{
  _cleanup_free_ struct hijack_proxy *p = calloc(1, sizeof(*p));
  if (!p)
    return berr_set(err, ENOMEM, "hijack relay");
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
    return berr_errno(err, "hijack relay: socketpair");
  p->client = client;
  p->job_fd = sv[0];
  p->inner = sv[1];
  p->wake = eventfd(0, EFD_CLOEXEC);
  p->extra = malloc(len);
  p->extra_len = len;
  if (p->wake < 0 || !p->extra) {
    int e = p->wake < 0 ? errno : ENOMEM;
    close(sv[0]);
    close(sv[1]);
    if (p->wake >= 0)
      close(p->wake);
    free(p->extra);
    return berr_set(err, e, "hijack relay");
  }
  memcpy(p->extra, extra, len);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 256 * 1024); /* a copy loop */
  int r = pthread_create(&p->thread, &attr, relay_thread, p);
  pthread_attr_destroy(&attr);
  if (r != 0) {
    close(sv[0]);
    close(sv[1]);
    close(p->wake);
    free(p->extra);
    return berr_set(err, r, "hijack relay: thread");
  }
  *job_fd = p->job_fd;
  *out = steal_ptr(p);
  return 0;
}

void hijack_proxy_finish(struct hijack_proxy *p)
{
  if (!p)
    return;
  close(p->job_fd);
  uint64_t one = 1;
  while (write(p->wake, &one, sizeof(one)) < 0 && errno == EINTR)
    ;
  pthread_join(p->thread, NULL);
  close(p->inner);
  close(p->wake);
  free(p->extra);
  free(p);
}
