/* Bidirectional copy between a hijacked client socket and the shim's socket pair. */
#include "relay.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/fileutil.h"

void relay_run(int client, int inner)
{
  bool from_client = true;
  char buf[32768];
  for (;;) {
    struct pollfd fds[2] = {{.fd = from_client ? client : -1, .events = POLLIN},
                            {.fd = inner, .events = POLLIN}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR)
        continue;
      return;
    }
    if (fds[0].revents) {
      ssize_t n = read(client, buf, sizeof(buf));
      if (n > 0 && bf_write_all(inner, buf, (size_t)n) < 0)
        n = 0;
      if (n <= 0 && !(n < 0 && (errno == EINTR || errno == EAGAIN))) {
        /* The client half-closed (stdin EOF) or went away: tell the shim. */
        from_client = false;
        shutdown(inner, SHUT_WR);
      }
    }
    if (fds[1].revents) {
      ssize_t n = read(inner, buf, sizeof(buf));
      if (n < 0 && (errno == EINTR || errno == EAGAIN))
        continue;
      if (n <= 0)
        return; /* the shim is done with this stream */
      if (bf_write_all(client, buf, (size_t)n) < 0) {
        /* Client gone: stop feeding the shim; it drops the stream on its next write. */
        shutdown(inner, SHUT_RDWR);
        return;
      }
    }
  }
}
