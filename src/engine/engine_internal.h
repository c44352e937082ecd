/* The engine's state, shared by the files of src/engine (not part of the public API):
 * handlers add their fields here (containers, images, events). */
#pragma once

#include <pthread.h>
#include <stddef.h>

#include "engine.h"

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
};
