/* The interactive side of attach, run and exec: pump stdin to the hijacked socket and
 * its output to stdout/stderr (raw for a TTY, stdcopy otherwise), raw terminal mode,
 * SIGWINCH -> resize, signal forwarding (--sig-proxy) and the ctrl-p ctrl-q detach keys. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "common/berr.h"

struct client;

struct session {
  struct client *c;
  int fd;
  const char *extra; /* stream bytes that came with the 101 headers */
  size_t extra_len;
  bool tty;
  bool attach_stdin;
  const char *detach_keys; /* docker's --detach-keys value; NULL = ctrl-p,ctrl-q (TTY only) */
  const char *resize_path; /* "/containers/ID/resize" or "/exec/ID/resize", for a TTY */
  const char *kill_path;   /* "/containers/ID/kill" to forward signals, NULL for none */
  bool detached;           /* out */
};

/* Parse docker's detach-keys syntax ("ctrl-p,ctrl-q", "a,ctrl-@") into bytes.
 * Returns the number of keys, or -EINVAL for an invalid sequence. */
int session_parse_detach_keys(const char *spec, char *keys, size_t max);

/* Blocks the signals the session handles, so none is lost between setup and the pump.
 * Call before the requests that start the process. */
void session_block_signals(bool tty, bool proxy);
int session_run(struct session *s, struct berr *err);
/* POST resize with the terminal's current size (stdout's, as docker). */
int session_resize(struct client *c, const char *resize_path);
/* The terminal size as [rows, cols], or [0, 0] when stdout is not a terminal. */
void session_console_size(int *rows, int *cols);
/* Put stdin into raw mode (restored at exit). */
int session_raw_terminal(void);
void session_restore_terminal(void);
