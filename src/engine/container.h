/* A container as the engine keeps it: its Docker inspect document (the source of truth,
 * persisted) plus the live handles of a running one (its shim connection). */
#pragma once

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/types.h>

enum ctr_state {
  CTR_CREATED,
  CTR_RUNNING,
  CTR_PAUSED,
  CTR_RESTARTING,
  CTR_REMOVING,
  CTR_EXITED,
  CTR_DEAD,
};

struct ctr_attach {
  int fd;
  bool in, out, err;
  struct ctr_attach *next;
};

struct engine;

struct container {
  struct engine *engine;
  char id[65];
  char *name;  /* without the leading '/' */
  json_t *doc; /* ContainerJSON: Id, Created, Path, Args, State, Image, Name, Config, ... */
  enum ctr_state state;
  bool busy; /* a start/stop/remove is under way: others wait or refuse */
  bool removed;
  unsigned long exits; /* counts stops: next-exit waiters wait for it to move */
  int shim_fd;         /* control connection, -1 when not running */
  pid_t shim_pid;      /* the shim when this berthd spawned it (it reaps it), else 0 */
  pthread_t monitor;
  bool monitor_running;
  struct ctr_attach *pending; /* attached before start: handed to the shim at start */
  int refs;                   /* jobs waiting on it unlocked: it is freed only when they are done */
  /* The answer to the last start sent to the shim: 0 pending, 1 started, -1 failed. */
  int start_result;
  char start_error[1024];
  /* Restart policy (restart.c): the next start is the policy's (RestartCount kept), the
   * current back-off, and a generation bumped to cancel a pending restart. */
  bool policy_start;
  long restart_delay_ms;
  unsigned restart_gen;
  unsigned health_gen; /* bumped at each start: an older health monitor then ends */
  /* The part of its `docker ps` entry fixed at create (image, command, created, labels,
   * network mode, mounts), written once: listing a thousand containers then copies text
   * instead of looking up and escaping the same fields again. NULL until first listed. */
  char *list_fixed;
  long long created_ns; /* Created, parsed once when the repository takes the container */
};

/* The graph's name for a container's writable layer: "ctr-<id>" (bare 64-hex names are
 * image layers'). */
#define CTR_LAYER_PREFIX "ctr-"
const char *ctr_layer(const char *id, char buf[80]);

const char *ctr_state_name(enum ctr_state s);
enum ctr_state ctr_state_from_name(const char *s);

/* Update doc.State from the fields (call with the engine lock held). */
void ctr_sync_state(struct container *c);

/* "Up 3 seconds", "Exited (0) 2 minutes ago", "Created", "Up 1 hour (Paused)". */
void ctr_status_text(const struct container *c, char *buf, size_t len);

/* RFC 3339 with nanoseconds, UTC, as Docker writes times. */
void ctr_now(char *buf, size_t len);
/* Parse such a time to unix nanoseconds; 0 when unset ("0001-01-01T00:00:00Z"). */
long long ctr_time_ns(const char *s);

/* Docker's random names: adjective_surname. */
void ctr_random_name(char *buf, size_t len);
bool ctr_name_valid(const char *name);
