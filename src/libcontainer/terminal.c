/* Pseudo-terminal setup inside the container and the host-side copy loop. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/vfs.h>
#include <termios.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fileutil.h"
#include "terminal.h"

#define DEVPTS_SUPER_MAGIC 0x1cd1

int lc_terminal_open(unsigned short rows, unsigned short cols, int *master, int *peer,
                     struct berr *err)
{
  _cleanup_close_ int m = open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (m < 0)
    return berr_errno(err, "open /dev/pts/ptmx");
  /* The ptmx must be a real devpts node, not something planted (CVE-2025-52565). */
  struct statfs sfs;
  struct stat st;
  if (fstatfs(m, &sfs) < 0 || sfs.f_type != DEVPTS_SUPER_MAGIC || fstat(m, &st) < 0 ||
      st.st_rdev != makedev(5, 2))
    return berr_set(err, 0, "/dev/pts/ptmx is not a devpts ptmx");
  int unlock = 0;
  if (ioctl(m, TIOCSPTLCK, &unlock) < 0)
    return berr_errno(err, "unlock pty");
  int p = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (p < 0)
    return berr_errno(err, "open pty peer");
  if (rows && cols) {
    struct winsize ws = {.ws_row = rows, .ws_col = cols};
    ioctl(p, TIOCSWINSZ, &ws);
  }
  *master = steal_fd(&m);
  *peer = p;
  return 0;
}

int lc_terminal_attach(int peer, bool bind_console, struct berr *err)
{
  if (bind_console) {
    int fd = open("/dev/console", O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd >= 0)
      close(fd);
    char src[32];
    snprintf(src, sizeof(src), "/proc/self/fd/%d", peer);
    if (mount(src, "/dev/console", NULL, MS_BIND, NULL) < 0)
      return berr_errno(err, "bind the pty on /dev/console");
  }
  if (ioctl(peer, TIOCSCTTY, 0) < 0)
    return berr_errno(err, "make the pty the controlling terminal");
  for (int fd = 0; fd < 3; fd++)
    if (dup2(peer, fd) < 0)
      return berr_errno(err, "dup pty to fd %d", fd);
  return 0;
}

int lc_console_socket_connect(const char *path, struct berr *err)
{
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof(addr.sun_path))
    return berr_set(err, ENAMETOOLONG, "console socket %s", path);
  strcpy(addr.sun_path, path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return berr_errno(err, "console socket");
  if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
    int e = errno;
    close(fd);
    return berr_set(err, e, "connect to console socket %s", path);
  }
  return fd;
}

static volatile sig_atomic_t winch;

static void on_winch(int sig)
{
  (void)sig;
  winch = 1;
}

int lc_terminal_proxy(int master)
{
  struct termios saved;
  bool raw = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0;
  if (raw) {
    struct termios t = saved;
    cfmakeraw(&t);
    t.c_oflag |= OPOST; /* keep output post-processing like runc's console */
    tcsetattr(STDIN_FILENO, TCSANOW, &t);
    struct winsize ws;
    if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0)
      ioctl(master, TIOCSWINSZ, &ws);
    struct sigaction sa = {.sa_handler = on_winch};
    sigaction(SIGWINCH, &sa, NULL);
  }
  struct pollfd fds[2] = {{.fd = STDIN_FILENO, .events = POLLIN}, {.fd = master, .events = POLLIN}};
  char buf[8192];
  for (;;) {
    if (winch) {
      winch = 0;
      struct winsize ws;
      if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0)
        ioctl(master, TIOCSWINSZ, &ws);
    }
    int r = poll(fds, 2, -1);
    if (r < 0) {
      if (errno == EINTR)
        continue;
      break;
    }
    if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = read(master, buf, sizeof(buf));
      if (n <= 0)
        break;
      bf_write_all(STDOUT_FILENO, buf, (size_t)n);
    }
    if (fds[0].revents & (POLLIN | POLLHUP)) {
      ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
      if (n <= 0)
        fds[0].fd = -1; /* stdin closed: keep reading output */
      else
        bf_write_all(master, buf, (size_t)n);
    }
  }
  if (raw)
    tcsetattr(STDIN_FILENO, TCSANOW, &saved);
  return 0;
}
