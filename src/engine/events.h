/* The event bus behind GET /events: a bounded ring of recent events (for `since`) and a
 * condition variable that wakes subscribers. It has its own lock, so emitting never
 * waits on the engine lock. */
#pragma once

#include <jansson.h>
#include <pthread.h>
#include <stdint.h>

#define EVENTS_RING 1024

struct event_bus {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  json_t *ring[EVENTS_RING];
  uint64_t next; /* sequence number of the next event */
  int closed;
};

void events_init(struct event_bus *b);
void events_destroy(struct event_bus *b);
/* Wake every subscriber for good (daemon shutdown). */
void events_close(struct event_bus *b);

/* Emit: type "container"|"image"|..., action, actor ID, attributes (stolen, may be NULL).
 * For containers and images the deprecated status/id/from fields are filled too. */
void events_emit(struct event_bus *b, const char *type, const char *action, const char *id,
                 json_t *attrs);

/* Copy events with sequence >= *cursor into a new array (oldest first) and move the
 * cursor; blocks up to timeout_ms when none is there. Returns NULL when closed. */
json_t *events_wait(struct event_bus *b, uint64_t *cursor, int timeout_ms);
/* The sequence number of the oldest event still in the ring. */
uint64_t events_oldest(struct event_bus *b);
