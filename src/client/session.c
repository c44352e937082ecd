/* Interactive streams over a hijacked connection. One poll loop: the socket, stdin and a
 * signalfd; the session ends when the daemon closes the stream (or the user detaches). */
#include "session.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "hijack.h"
#include "http.h"

static struct termios saved_termios;
static bool termios_saved;

void session_restore_terminal(void)
{
  if (termios_saved) {
    tcsetattr(STDIN_FILENO, TCSANOW, &saved_termios);
    termios_saved = false;
  }
}

int session_raw_terminal(void)
{
  if (!isatty(STDIN_FILENO))
    return 0;
  if (tcgetattr(STDIN_FILENO, &saved_termios) < 0)
    return -errno;
  struct termios raw = saved_termios;
  cfmakeraw(&raw);
  if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) < 0)
    return -errno;
  termios_saved = true;
  atexit(session_restore_terminal);
  return 0;
}

void session_console_size(int *rows, int *cols)
{
  struct winsize ws = {0};
  if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) < 0 && ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) < 0) {
    *rows = *cols = 0;
    return;
  }
  *rows = ws.ws_row;
  *cols = ws.ws_col;
}

int session_resize(struct client *c, const char *resize_path)
{
  int rows, cols;
  session_console_size(&rows, &cols);
  if (rows == 0 && cols == 0)
    return 0;
  struct query q = {0};
  query_addf(&q, "h", "%d", rows);
  query_addf(&q, "w", "%d", cols);
  _cleanup_free_ char *path = query_build(resize_path, &q);
  struct berr err = {0};
  struct http_resp resp;
  int r = http_do(c, "POST", path, NULL, &resp, &err);
  http_resp_free(&resp);
  return r;
}

static const int proxied_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM};

static void fill_mask(sigset_t *set, bool tty, bool proxy)
{
  sigemptyset(set);
  if (tty)
    sigaddset(set, SIGWINCH);
  if (proxy)
    for (size_t i = 0; i < ARRAY_SIZE(proxied_signals); i++)
      sigaddset(set, proxied_signals[i]);
}

void session_block_signals(bool tty, bool proxy)
{
  sigset_t set;
  fill_mask(&set, tty, proxy);
  sigprocmask(SIG_BLOCK, &set, NULL);
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

static int out_write(void *ud, int stream, const char *data, size_t len)
{
  (void)ud;
  int r = write_all(stream == 2 ? STDERR_FILENO : STDOUT_FILENO, data, len);
  return r == -EPIPE ? 0 : r;
}

static void forward_signal(struct session *s, int sig)
{
  const char *name = sigabbrev_np(sig);
  struct query q = {0};
  query_addf(&q, "signal", "SIG%s", name ? name : "TERM");
  _cleanup_free_ char *path = query_build(s->kill_path, &q);
  struct berr err = {0};
  struct http_resp resp;
  http_do(s->c, "POST", path, NULL, &resp, &err);
  http_resp_free(&resp);
}

int session_parse_detach_keys(const char *spec, char *keys, size_t max)
{
  size_t n = 0;
  _cleanup_free_ char *copy = strdup(spec);
  char *save = NULL;
  for (char *k = strtok_r(copy, ",", &save); k; k = strtok_r(NULL, ",", &save)) {
    if (n >= max)
      return -EINVAL;
    if (strlen(k) == 1) {
      keys[n++] = k[0];
    } else if (strncmp(k, "ctrl-", 5) == 0 && strlen(k) == 6) {
      char c = k[5];
      if (c >= 'a' && c <= 'z')
        keys[n++] = (char)(c - 'a' + 1);
      else if (c == '@')
        keys[n++] = 0;
      else if (c == '[')
        keys[n++] = 27;
      else if (c == '\\')
        keys[n++] = 28;
      else if (c == ']')
        keys[n++] = 29;
      else if (c == '^')
        keys[n++] = 30;
      else if (c == '_')
        keys[n++] = 31;
      else
        return -EINVAL;
    } else {
      return -EINVAL;
    }
  }
  return n ? (int)n : -EINVAL;
}

/* Copy stdin to the socket; bytes that may begin the detach sequence are held back until
 * the sequence completes (detach) or breaks (they are sent after all), as docker's
 * escape proxy does. */
struct escape {
  char keys[16];
  size_t nkeys;
  size_t matched;
};

static int pump_stdin(struct session *s, struct escape *esc, const char *buf, size_t n)
{
  if (!s->tty || esc->nkeys == 0)
    return write_all(s->fd, buf, n);
  char out[8192 + 32];
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    char ch = buf[i];
    if (ch == esc->keys[esc->matched]) {
      if (++esc->matched == esc->nkeys) {
        s->detached = true;
        return write_all(s->fd, out, o);
      }
      continue;
    }
    /* the sequence broke: what was held goes out, then this byte starts over */
    memcpy(out + o, esc->keys, esc->matched);
    o += esc->matched;
    esc->matched = 0;
    if (ch == esc->keys[0]) {
      esc->matched = 1;
      if (esc->nkeys == 1) {
        s->detached = true;
        return write_all(s->fd, out, o);
      }
    } else {
      out[o++] = ch;
    }
    if (o >= 8192) {
      int r = write_all(s->fd, out, o);
      if (r < 0)
        return r;
      o = 0;
    }
  }
  return write_all(s->fd, out, o);
}

int session_run(struct session *s, struct berr *err)
{
  struct stdcopy demux = {0};
  bool proxy = s->kill_path != NULL && !s->tty;
  sigset_t set;
  fill_mask(&set, s->tty, proxy);
  _cleanup_close_ int sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sfd < 0)
    return berr_errno(err, "signalfd");

  if (s->extra_len) {
    int r = s->tty ? out_write(NULL, 1, s->extra, s->extra_len)
                   : stdcopy_feed(&demux, s->extra, s->extra_len, out_write, NULL, err);
    if (r < 0)
      return r;
  }
  bool stdin_open = s->attach_stdin;
  if (!stdin_open)
    shutdown(s->fd, SHUT_WR);
  struct escape esc = {0};
  int nk = session_parse_detach_keys(s->detach_keys ? s->detach_keys : "ctrl-p,ctrl-q", esc.keys,
                                     sizeof(esc.keys));
  esc.nkeys = nk > 0 ? (size_t)nk : 0;
  char buf[32768];
  for (;;) {
    struct pollfd pfd[3] = {{.fd = s->fd, .events = POLLIN},
                            {.fd = sfd, .events = POLLIN},
                            {.fd = stdin_open ? STDIN_FILENO : -1, .events = POLLIN}};
    int pr = poll(pfd, 3, -1);
    if (pr < 0) {
      if (errno == EINTR)
        continue;
      return berr_errno(err, "poll");
    }
    if (pfd[1].revents & POLLIN) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
        if ((int)si.ssi_signo == SIGWINCH) {
          if (s->resize_path)
            session_resize(s->c, s->resize_path);
        } else if (proxy) {
          forward_signal(s, (int)si.ssi_signo);
        }
      }
    }
    if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = read(s->fd, buf, sizeof(buf));
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break; /* the daemon closed the stream: the process is done */
      int r = s->tty ? out_write(NULL, 1, buf, (size_t)n)
                     : stdcopy_feed(&demux, buf, (size_t)n, out_write, NULL, err);
      if (r < 0)
        return r;
    }
    if (stdin_open && (pfd[2].revents & (POLLIN | POLLHUP | POLLERR))) {
      ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0) {
        stdin_open = false;
        shutdown(s->fd, SHUT_WR);
        continue;
      }
      int r = pump_stdin(s, &esc, buf, (size_t)n);
      if (s->detached)
        return 0;
      if (r < 0) {
        stdin_open = false; /* the daemon stopped reading; keep draining output */
      }
    }
  }
  return 0;
}
