/* JSON-over-SEQPACKET framing for the shim control socket. */
#include "shim_proto.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int shim_msg_send(int sock, json_t *msg, int fd)
{
  char *text = json_dumps(msg, JSON_COMPACT);
  if (!text)
    return -ENOMEM;
  struct iovec iov = {.iov_base = text, .iov_len = strlen(text)};
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } u;
  memset(&u, 0, sizeof(u));
  struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
  if (fd >= 0) {
    mh.msg_control = u.buf;
    mh.msg_controllen = sizeof(u.buf);
    struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof(int));
  }
  ssize_t n;
  do
    n = sendmsg(sock, &mh, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  free(text);
  return n < 0 ? -errno : 0;
}

int shim_msg_recv(int sock, json_t **msg, int *fd)
{
  char *buf = malloc(SHIM_MSG_MAX + 1);
  if (!buf)
    return -ENOMEM;
  struct iovec iov = {.iov_base = buf, .iov_len = SHIM_MSG_MAX};
  union {
    char b[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } u;
  struct msghdr mh = {
      .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b, .msg_controllen = sizeof(u.b)};
  *msg = NULL;
  *fd = -1;
  ssize_t n;
  do
    n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  if (n <= 0) {
    free(buf);
    return n < 0 ? -errno : 0;
  }
  struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
  if (c && c->cmsg_type == SCM_RIGHTS && c->cmsg_len == CMSG_LEN(sizeof(int)))
    memcpy(fd, CMSG_DATA(c), sizeof(int));
  json_error_t je;
  *msg = json_loadb(buf, (size_t)n, 0, &je);
  free(buf);
  if (!*msg) {
    if (*fd >= 0)
      close(*fd);
    *fd = -1;
    return -EPROTO;
  }
  return 1;
}
