/* The engine's state, shared by the files of src/engine (not part of the public API):
 * handlers add their fields here (containers, images, events). */
#pragma once

#include <pthread.h>
#include <stddef.h>

#include "container.h"
#include "engine.h"
#include "events.h"
#include "exec_inst.h"

struct graph;
typedef struct sqlite3 sqlite3;

struct engine_job_entry {
  char *name;
  job_handler fn;
};

struct engine {
  struct engine_config cfg; /* strings owned (strdup'd) */

  /* Jobs are registered at start-up but may be looked up from many request threads, and a
   * late registration must not race a lookup. */
  pthread_rwlock_t jobs_lock;
  struct engine_job_entry *jobs;
  size_t n_jobs, cap_jobs;

  /* The daemon's state (daemon.c); unused by a bare engine. `lock` guards containers and
   * exec instances; `changed` is broadcast on every state change they go through. */
  pthread_mutex_t lock;
  pthread_cond_t changed;
  bool daemon_ready;
  bool shutting_down; /* monitors then leave running containers alone (live restore) */
  bool stopping_all;  /* the daemon stops every container on its way out: no restarts */
  int helpers;        /* restart and health threads still running: shutdown waits for them */
  struct container **ctrs;
  size_t n_ctrs, cap_ctrs;
  struct exec_inst **execs;
  size_t n_execs, cap_execs;
  sqlite3 *db;
  struct graph *graph; /* borrowed: the daemon owns it */
  struct event_bus events;
  struct reaper *reaper;  /* deferred removal of removed containers' directories */
  struct engine_net *net; /* network.c: networks, endpoints, ports, resolver */
  int userns_fd;          /* userns.c: the remap's user namespace, or -1 */
};
