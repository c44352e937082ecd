/* Attach clients: output fan-out (raw for a tty, 8-byte stdcopy frames otherwise) and
 * stdin with Docker's half-close rules. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "common/fileutil.h"
#include "shim.h"

void shim_client_add(struct shim *s, struct shim_proc *p, int fd, bool in, bool out, bool err)
{
  for (int i = 0; i < SHIM_MAX_CLIENTS; i++) {
    if (s->clients[i])
      continue;
    struct shim_client *c = calloc(1, sizeof(*c));
    if (!c)
      break;
    /* A client that stops reading must not stall the container: give up on it. */
    struct timeval tv = {.tv_sec = 10};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    *c = (struct shim_client){.fd = fd, .in = in, .out = out, .err = err, .proc = p};
    c->in_done = !in;
    s->clients[i] = c;
    return;
  }
  close(fd);
}

void shim_client_close(struct shim *s, struct shim_client *c)
{
  for (int i = 0; i < SHIM_MAX_CLIENTS; i++)
    if (s->clients[i] == c)
      s->clients[i] = NULL;
  close(c->fd);
  free(c);
}

void shim_clients_close_for(struct shim *s, struct shim_proc *p)
{
  for (int i = 0; i < SHIM_MAX_CLIENTS; i++)
    if (s->clients[i] && s->clients[i]->proc == p)
      shim_client_close(s, s->clients[i]);
}

void shim_output(struct shim *s, struct shim_proc *p, int stream, const char *buf, size_t len)
{
  unsigned char hdr[8] = {(unsigned char)stream,
                          0,
                          0,
                          0,
                          (unsigned char)(len >> 24),
                          (unsigned char)(len >> 16),
                          (unsigned char)(len >> 8),
                          (unsigned char)len};
  for (int i = 0; i < SHIM_MAX_CLIENTS; i++) {
    struct shim_client *c = s->clients[i];
    if (!c || c->proc != p || (stream == 1 && !c->out) || (stream == 2 && !c->err))
      continue;
    int r = 0;
    if (!p->tty)
      r = bf_write_all(c->fd, hdr, sizeof(hdr));
    if (r == 0)
      r = bf_write_all(c->fd, buf, len);
    if (r < 0)
      shim_client_close(s, c); /* gone or stuck: the process carries on */
  }
}

bool shim_client_input(struct shim *s, struct shim_client *c)
{
  char buf[32768];
  ssize_t n = read(c->fd, buf, sizeof(buf));
  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return true;
  struct shim_proc *p = c->proc;
  if (n > 0) {
    if (p->in_fd >= 0 && bf_write_all(p->in_fd, buf, (size_t)n) < 0) {
      close(p->in_fd);
      p->in_fd = -1;
    }
    return true;
  }
  /* EOF (the client half-closed) or an error. Non-tty with StdinOnce: the process sees EOF
   * and output keeps flowing. Otherwise this attach session ends; the process goes on. */
  c->in_done = true;
  if (!p->tty && p->stdin_once) {
    if (p->in_fd >= 0) {
      close(p->in_fd);
      p->in_fd = -1;
    }
    return false;
  }
  shim_client_close(s, c);
  return false;
}
