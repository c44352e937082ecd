/* The parent/child channel during container setup: a SOCK_SEQPACKET pair carrying typed
 * messages (and, for errors, the child's berr message) plus fd passing. */
#pragma once

#include <stddef.h>

#include "common/berr.h"

enum lc_sync_type {
  LC_SYNC_GO = 1,      /* parent -> child: cgroup joined, id maps written, carry on */
  LC_SYNC_MOUNTS_DONE, /* child -> parent: mounts made; run prestart/createRuntime hooks */
  LC_SYNC_HOOKS_DONE,  /* parent -> child */
  LC_SYNC_READY,       /* child -> parent: about to wait for start / exec */
  LC_SYNC_START,       /* parent -> child (foreground run): exec now */
  LC_SYNC_PID,         /* intermediate -> parent: the pid of the real process (exec) */
  LC_SYNC_ERROR,       /* child -> parent: setup failed, message follows */
  LC_SYNC_SECCOMP,     /* child -> parent: the seccomp listener fd follows (SCM_RIGHTS) */
};

struct lc_sync_msg {
  int type;
  int code;
  int value;
  char msg[BERR_MSG_MAX];
};

int lc_sync_send(int fd, int type, int value);
int lc_sync_send_error(int fd, const struct berr *err);
/* Receive one message; expect_type 0 accepts any. An LC_SYNC_ERROR or a closed socket
 * is returned as an error in err. */
int lc_sync_recv(int fd, int expect_type, struct lc_sync_msg *out, struct berr *err);

/* SCM_RIGHTS: one fd with a one-byte payload (what conmon and containerd expect). */
int lc_send_fd(int sock, int fd);
/* The same with a payload of our own (e.g. the seccomp listener's JSON). */
int lc_send_fd_payload(int sock, int fd, const void *payload, size_t len);
int lc_recv_fd(int sock);
