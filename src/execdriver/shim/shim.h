/* berth-shim: one small process per running container. It is the parent of the
 * container's init (and of every exec), owns their stdio or pty, writes the json-file log,
 * serves attach and exec for berthd, and records the exit. It outlives berthd. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "logfile.h"

#define SHIM_MAX_CLIENTS 64
#define SHIM_MAX_PROCS 64

struct shim_proc;

struct shim_client {
  int fd;
  bool in, out, err;
  bool in_done;
  struct shim_proc *proc;
};

struct shim_proc {
  char exec_id[80]; /* "" for the container's init */
  pid_t pid;
  int pidfd;
  int in_fd;  /* write end of the process's stdin (or the pty master), -1 when closed */
  int out_fd; /* stdout, or the pty master */
  int err_fd; /* stderr, -1 with a tty */
  int master; /* pty master, -1 without a tty */
  bool tty;
  bool stdin_once;
  bool exited;
  int code;
  int64_t exit_ms;   /* when it exited: output is drained for a short while after */
  bool awaiting_ack; /* exec: exit reported, waiting for berthd to record it */
  int64_t ack_deadline;
};

struct shim {
  const char *id;
  const char *bundle;
  const char *runtime_root; /* libcontainer state root */
  const char *state_dir;    /* shim.sock, exit.json */
  int listen_fd;
  int ctl_fd; /* berthd's connection, -1 when none */
  struct logfile *log;
  struct shim_proc *procs[SHIM_MAX_PROCS]; /* [0] is init */
  struct shim_client *clients[SHIM_MAX_CLIENTS];
  bool started;
  /* An external OCI runtime (ext_runtime.c) instead of libcontainer when ext_path is set. */
  const char *ext_path;
  const char *ext_args[16];
  int n_ext_args;
  struct lc_cgroup *ext_cgroup;
};

int64_t shim_now_ms(void);
/* after the container started: return start-up memory to the kernel */
void shim_trim_memory(void);

/* io.c: attach clients and output fan-out */
void shim_client_add(struct shim *s, struct shim_proc *p, int fd, bool in, bool out, bool err);
void shim_client_close(struct shim *s, struct shim_client *c);
void shim_clients_close_for(struct shim *s, struct shim_proc *p);
/* Forward one chunk of process output (stream 1 stdout, 2 stderr) to its clients. */
void shim_output(struct shim *s, struct shim_proc *p, int stream, const char *buf, size_t len);
/* Stdin from a client: returns false once the client's input is finished. */
bool shim_client_input(struct shim *s, struct shim_client *c);

/* loop.c */
int shim_loop(struct shim *s);
void shim_send_event(struct shim *s, json_t *ev);
