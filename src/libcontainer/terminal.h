/* Terminals: the container's pty is made inside its own devpts; the master goes to the
 * caller over --console-socket, or to our own proxy for a foreground run. */
#pragma once

#include <sys/types.h>

#include "common/berr.h"

/* In the container, after pivot: a new pty pair from /dev/pts/ptmx (checked to be a real
 * devpts), sized rows x cols when given. */
int lc_terminal_open(unsigned short rows, unsigned short cols, int *master, int *peer,
                     struct berr *err);
/* Make peer the controlling tty and fds 0-2, and bind it on /dev/console. */
int lc_terminal_attach(int peer, bool bind_console, struct berr *err);

int lc_console_socket_connect(const char *path, struct berr *err);

/* Host side of a foreground run: raw mode on our stdin (when a tty), copy both ways
 * until `master` hangs up, forward window size changes. */
int lc_terminal_proxy(int master);
