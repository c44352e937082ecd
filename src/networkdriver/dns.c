/* The embedded DNS resolver (see dns.h). Only what containers ask of it: one question
 * per query, A and AAAA records for names we know (any other type of them, or AAAA of a
 * name without IPv6: an empty answer, so resolvers do not fall through to other servers),
 * everything else relayed to the host's resolvers with a short timeout. */
#include "dns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "etcfiles.h"
#include "netns.h"

struct dns_sock {
  char key[80];
  int fd;
};

struct netdrv_dns {
  netdrv_dns_lookup_fn fn;
  void *ctx;
  char upstream[3][64];
  int n_upstream;
  pthread_mutex_t lock;
  struct dns_sock *socks;
  size_t n, cap;
  int epfd, wakefd;
  bool stop;
  pthread_t thread;
  int relays; /* relay threads still running: freed only once they are done */
  pthread_cond_t relays_done;
};

/* Decode the question's name into dotted text; returns the offset after QTYPE/QCLASS. */
static int parse_question(const unsigned char *q, size_t len, char *name, size_t nlen,
                          uint16_t *qtype)
{
  size_t off = 12, out = 0;
  while (off < len) {
    unsigned l = q[off++];
    if (l == 0)
      break;
    if ((l & 0xc0) || off + l > len || out + l + 2 > nlen)
      return -1;
    if (out)
      name[out++] = '.';
    memcpy(name + out, q + off, l);
    out += l;
    off += l;
  }
  name[out] = '\0';
  if (off + 4 > len)
    return -1;
  *qtype = (uint16_t)(q[off] << 8 | q[off + 1]);
  return (int)(off + 4);
}

/* The reply in place of the query: the records of a's addresses that qtype asks for (A: 1,
 * AAAA: 28), none for a NULL a. */
static size_t answer(unsigned char *buf, int qend, int rcode, const struct netdrv_dns_addrs *a,
                     uint16_t qtype)
{
  int n = !a ? 0 : qtype == 1 ? a->n4 : qtype == 28 ? a->n6 : 0;
  buf[2] = (unsigned char)(0x80 | (buf[2] & 0x79) | 0x04); /* QR, opcode kept, AA; RD kept */
  buf[3] = (unsigned char)(0x80 | rcode);                  /* RA */
  buf[6] = 0;
  buf[7] = (unsigned char)n;
  memset(buf + 8, 0, 4); /* no authority, no additional (the client's OPT is dropped) */
  size_t off = (size_t)qend;
  for (int i = 0; i < n; i++) {
    /* name: a pointer to the question's; class IN; TTL 600 */
    unsigned char rr[12] = {0xc0, 0x0c, 0, (unsigned char)qtype, 0, 1, 0, 0, 0x02, 0x58, 0, 0};
    rr[11] = qtype == 1 ? 4 : 16;
    memcpy(buf + off, rr, 12);
    off += 12;
    if (qtype == 1) {
      uint32_t be = htonl(a->v4[i]);
      memcpy(buf + off, &be, 4);
      off += 4;
    } else {
      memcpy(buf + off, &a->v6[i], 16);
      off += 16;
    }
  }
  return off;
}

/* Relay a query to the host's resolvers; the answer's length, or 0. */
static size_t forward(struct netdrv_dns *d, unsigned char *buf, size_t len, size_t cap)
{
  for (int i = 0; i < d->n_upstream; i++) {
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(53)};
    if (inet_pton(AF_INET, d->upstream[i], &sa.sin_addr) != 1)
      continue;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
      continue;
    ssize_t r = -1;
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 && send(fd, buf, len, 0) >= 0) {
      struct pollfd p = {.fd = fd, .events = POLLIN};
      if (poll(&p, 1, 2000) == 1)
        r = recv(fd, buf, cap, 0);
    }
    close(fd);
    if (r >= 12)
      return (size_t)r;
  }
  return 0;
}

static int find_key(struct netdrv_dns *d, const char *key)
{
  for (size_t i = 0; i < d->n; i++)
    if (strcmp(d->socks[i].key, key) == 0)
      return (int)i;
  return -1;
}

/* A query relayed to the host's resolvers, in a thread of its own so a slow or silent
 * upstream does not hold up the names of every other container. */
struct relay {
  struct netdrv_dns *d;
  int fd;
  char key[80];
  unsigned char buf[1500];
  size_t len;
  int qend;
  struct sockaddr_storage from;
  socklen_t flen;
};

static void reply(struct netdrv_dns *d, const char *key, int fd, const void *buf, size_t len,
                  const struct sockaddr_storage *from, socklen_t flen)
{
  /* The socket may have been removed while we looked the name up: answer through the fd
   * only when it still belongs to the same container. */
  pthread_mutex_lock(&d->lock);
  int i = find_key(d, key);
  if (i >= 0 && d->socks[i].fd == fd)
    sendto(fd, buf, len, MSG_DONTWAIT, (const struct sockaddr *)from, flen);
  pthread_mutex_unlock(&d->lock);
}

static void *relay_run(void *arg)
{
  struct relay *r = arg;
  size_t out = forward(r->d, r->buf, r->len, sizeof(r->buf));
  if (out == 0)
    out = answer(r->buf, r->qend, 2 /* SERVFAIL */, NULL, 0);
  reply(r->d, r->key, r->fd, r->buf, out, &r->from, r->flen);
  pthread_mutex_lock(&r->d->lock);
  r->d->relays--;
  pthread_cond_broadcast(&r->d->relays_done);
  pthread_mutex_unlock(&r->d->lock);
  free(r);
  return NULL;
}

static void serve_one(struct netdrv_dns *d, int fd)
{
  unsigned char buf[1500];
  struct sockaddr_storage from;
  socklen_t flen = sizeof(from);
  ssize_t len = recvfrom(fd, buf, 512, MSG_DONTWAIT, (struct sockaddr *)&from, &flen);
  if (len < 12)
    return;
  char key[80] = "";
  pthread_mutex_lock(&d->lock);
  for (size_t i = 0; i < d->n; i++)
    if (d->socks[i].fd == fd)
      snprintf(key, sizeof(key), "%s", d->socks[i].key);
  pthread_mutex_unlock(&d->lock);
  if (!key[0])
    return;
  char name[256];
  uint16_t qtype = 0;
  int qend = (buf[2] & 0x80) || buf[4] != 0 || buf[5] != 1
                 ? -1
                 : parse_question(buf, (size_t)len, name, sizeof(name), &qtype);
  size_t out = 0;
  if (qend < 0) {
    buf[2] |= 0x80;
    buf[3] = 0x81; /* FORMERR */
    out = 12;
    memset(buf + 4, 0, 8);
  } else {
    struct netdrv_dns_addrs addrs = {0};
    d->fn(d->ctx, key, name, &addrs);
    if (addrs.n4 > 0) {
      out = answer(buf, qend, 0, &addrs, qtype);
    } else {
      struct relay *r = calloc(1, sizeof(*r));
      pthread_t t;
      pthread_attr_t attr;
      if (r) {
        *r = (struct relay){.d = d, .fd = fd, .len = (size_t)len, .qend = qend, .flen = flen};
        snprintf(r->key, sizeof(r->key), "%s", key);
        memcpy(r->buf, buf, (size_t)len);
        memcpy(&r->from, &from, sizeof(from));
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        pthread_mutex_lock(&d->lock);
        d->relays++;
        pthread_mutex_unlock(&d->lock);
        if (pthread_create(&t, &attr, relay_run, r) == 0) {
          pthread_attr_destroy(&attr);
          return;
        }
        pthread_attr_destroy(&attr);
        pthread_mutex_lock(&d->lock);
        d->relays--;
        pthread_mutex_unlock(&d->lock);
        free(r);
      }
      out = answer(buf, qend, 2 /* SERVFAIL */, NULL, 0);
    }
  }
  reply(d, key, fd, buf, out, &from, flen);
}

static void *serve(void *arg)
{
  struct netdrv_dns *d = arg;
  for (;;) {
    struct epoll_event ev[16];
    int n = epoll_wait(d->epfd, ev, 16, -1);
    if (n < 0 && errno != EINTR)
      break;
    for (int i = 0; i < n; i++) {
      if (ev[i].data.fd == d->wakefd) {
        pthread_mutex_lock(&d->lock);
        bool stop = d->stop;
        pthread_mutex_unlock(&d->lock);
        if (stop)
          return NULL;
        uint64_t v;
        (void)!read(d->wakefd, &v, sizeof(v));
        continue;
      }
      serve_one(d, ev[i].data.fd);
    }
  }
  return NULL;
}

int netdrv_dns_new(netdrv_dns_lookup_fn fn, void *ctx, const char *host_resolv,
                   struct netdrv_dns **out, struct berr *err)
{
  struct netdrv_dns *d = calloc(1, sizeof(*d));
  if (!d)
    return berr_set(err, ENOMEM, "dns");
  d->fn = fn;
  d->ctx = ctx;
  struct berr ignored;
  d->n_upstream = netdrv_host_nameservers(host_resolv, d->upstream, &ignored);
  if (d->n_upstream < 0)
    d->n_upstream = 0;
  pthread_mutex_init(&d->lock, NULL);
  pthread_cond_init(&d->relays_done, NULL);
  d->epfd = epoll_create1(EPOLL_CLOEXEC);
  d->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = d->wakefd};
  if (d->epfd < 0 || d->wakefd < 0 || epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->wakefd, &ev) < 0 ||
      pthread_create(&d->thread, NULL, serve, d) != 0) {
    int r = berr_errno(err, "dns resolver");
    if (d->epfd >= 0)
      close(d->epfd);
    if (d->wakefd >= 0)
      close(d->wakefd);
    free(d);
    return r;
  }
  *out = d;
  return 0;
}

int netdrv_dns_add(struct netdrv_dns *d, const char *key, const char *netns_path, struct berr *err)
{
  pthread_mutex_lock(&d->lock);
  bool have = find_key(d, key) >= 0;
  pthread_mutex_unlock(&d->lock);
  if (have)
    return 0;
  int saved = -1;
  if (netdrv_netns_enter(netns_path, &saved, err) < 0)
    return -err->code;
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  struct sockaddr_in sa = {
      .sin_family = AF_INET, .sin_port = htons(53), .sin_addr.s_addr = htonl(0x7f00000b)};
  int r = 0;
  if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
    r = berr_errno(err, "bind 127.0.0.11:53 in the container");
  netdrv_netns_leave(saved);
  if (r < 0) {
    if (fd >= 0)
      close(fd);
    return r;
  }
  pthread_mutex_lock(&d->lock);
  if (d->n == d->cap) {
    size_t cap = d->cap ? d->cap * 2 : 16;
    struct dns_sock *n = realloc(d->socks, cap * sizeof(*n));
    if (!n) {
      pthread_mutex_unlock(&d->lock);
      close(fd);
      return berr_set(err, ENOMEM, "dns");
    }
    d->socks = n;
    d->cap = cap;
  }
  struct dns_sock *s = &d->socks[d->n++];
  snprintf(s->key, sizeof(s->key), "%s", key);
  s->fd = fd;
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
  if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
    d->n--;
    pthread_mutex_unlock(&d->lock);
    close(fd);
    return berr_errno(err, "dns: watch socket");
  }
  pthread_mutex_unlock(&d->lock);
  return 0;
}

void netdrv_dns_remove(struct netdrv_dns *d, const char *key)
{
  pthread_mutex_lock(&d->lock);
  int i = find_key(d, key);
  if (i >= 0) {
    epoll_ctl(d->epfd, EPOLL_CTL_DEL, d->socks[i].fd, NULL);
    close(d->socks[i].fd);
    d->socks[i] = d->socks[--d->n];
  }
  pthread_mutex_unlock(&d->lock);
}

void netdrv_dns_free(struct netdrv_dns *d)
{
  if (!d)
    return;
  pthread_mutex_lock(&d->lock);
  d->stop = true;
  pthread_mutex_unlock(&d->lock);
  uint64_t one = 1;
  (void)!write(d->wakefd, &one, sizeof(one));
  pthread_join(d->thread, NULL);
  pthread_mutex_lock(&d->lock);
  while (d->relays > 0)
    pthread_cond_wait(&d->relays_done, &d->lock);
  pthread_mutex_unlock(&d->lock);
  for (size_t i = 0; i < d->n; i++)
    close(d->socks[i].fd);
  free(d->socks);
  close(d->epfd);
  close(d->wakefd);
  pthread_mutex_destroy(&d->lock);
  pthread_cond_destroy(&d->relays_done);
  free(d);
}
