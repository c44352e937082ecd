/* Parent/child setup messages and fd passing over a SEQPACKET socket. */
#include "sync.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int lc_sync_send(int fd, int type, int value)
{
  struct lc_sync_msg m = {.type = type, .value = value};
  /* Only the header travels for plain messages. */
  ssize_t n;
  do
    n = send(fd, &m, offsetof(struct lc_sync_msg, msg), MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  return n < 0 ? -errno : 0;
}

int lc_sync_send_error(int fd, const struct berr *err)
{
  struct lc_sync_msg m = {.type = LC_SYNC_ERROR, .code = err->code};
  memcpy(m.msg, err->msg, sizeof(m.msg));
  m.msg[sizeof(m.msg) - 1] = '\0';
  ssize_t n;
  do
    n = send(fd, &m, offsetof(struct lc_sync_msg, msg) + strlen(m.msg) + 1, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  return n < 0 ? -errno : 0;
}

int lc_sync_recv(int fd, int expect_type, struct lc_sync_msg *out, struct berr *err)
{
  ssize_t n;
  memset(out, 0, sizeof(*out));
  do
    n = recv(fd, out, sizeof(*out), 0);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return berr_errno(err, "read from container setup");
  if (n == 0)
    return berr_set(err, EPIPE, "container setup ended unexpectedly");
  if (out->type == LC_SYNC_ERROR) {
    out->msg[sizeof(out->msg) - 1] = '\0';
    err->code = out->code ? out->code : EINVAL;
    memcpy(err->msg, out->msg, sizeof(err->msg));
    return -err->code;
  }
  if (expect_type && out->type != expect_type)
    return berr_set(err, EPROTO, "container setup: unexpected message %d (wanted %d)", out->type,
                    expect_type);
  return 0;
}

int lc_send_fd(int sock, int fd)
{
  return lc_send_fd_payload(sock, fd, " ", 1);
}

int lc_send_fd_payload(int sock, int fd, const void *payload, size_t len)
{
  struct iovec iov = {.iov_base = (void *)payload, .iov_len = len};
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } u;
  memset(&u, 0, sizeof(u));
  struct msghdr msg = {
      .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof(int));
  ssize_t n;
  do
    n = sendmsg(sock, &msg, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  return n < 0 ? -errno : 0;
}

int lc_recv_fd(int sock)
{
  char byte;
  struct iovec iov = {.iov_base = &byte, .iov_len = 1};
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } u;
  struct msghdr msg = {
      .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
  ssize_t n;
  do
    n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  if (n <= 0)
    return n < 0 ? -errno : -EPIPE;
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  if (!c || c->cmsg_type != SCM_RIGHTS || c->cmsg_len != CMSG_LEN(sizeof(int)))
    return -EPROTO;
  int fd;
  memcpy(&fd, CMSG_DATA(c), sizeof(int));
  return fd;
}
