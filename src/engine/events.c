/* Event ring buffer and fan-out. */
#include "events.h"

#include <errno.h>
#include <string.h>
#include <time.h>

void events_init(struct event_bus *b)
{
  memset(b, 0, sizeof(*b));
  pthread_mutex_init(&b->lock, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&b->cond, &ca);
  pthread_condattr_destroy(&ca);
}

void events_destroy(struct event_bus *b)
{
  for (size_t i = 0; i < EVENTS_RING; i++)
    json_decref(b->ring[i]);
  pthread_mutex_destroy(&b->lock);
  pthread_cond_destroy(&b->cond);
}

void events_close(struct event_bus *b)
{
  pthread_mutex_lock(&b->lock);
  b->closed = 1;
  pthread_cond_broadcast(&b->cond);
  pthread_mutex_unlock(&b->lock);
}

void events_emit(struct event_bus *b, const char *type, const char *action, const char *id,
                 json_t *attrs)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  if (!attrs)
    attrs = json_object();
  json_t *ev =
      json_pack("{s:s,s:s,s:{s:s,s:o},s:s,s:I,s:I}", "Type", type, "Action", action, "Actor", "ID",
                id, "Attributes", attrs, "scope", "local", "time", (json_int_t)ts.tv_sec,
                "timeNano", (json_int_t)ts.tv_sec * 1000000000 + ts.tv_nsec);
  if (!ev)
    return;
  if (strcmp(type, "container") == 0 || strcmp(type, "image") == 0) {
    json_object_set_new(ev, "status", json_string(action));
    json_object_set_new(ev, "id", json_string(id));
    const char *image = json_string_value(json_object_get(attrs, "image"));
    if (image && strcmp(type, "container") == 0)
      json_object_set_new(ev, "from", json_string(image));
  }
  pthread_mutex_lock(&b->lock);
  size_t slot = b->next % EVENTS_RING;
  json_decref(b->ring[slot]);
  b->ring[slot] = ev;
  b->next++;
  pthread_cond_broadcast(&b->cond);
  pthread_mutex_unlock(&b->lock);
}

uint64_t events_oldest(struct event_bus *b)
{
  pthread_mutex_lock(&b->lock);
  uint64_t o = b->next > EVENTS_RING ? b->next - EVENTS_RING : 0;
  pthread_mutex_unlock(&b->lock);
  return o;
}

json_t *events_wait(struct event_bus *b, uint64_t *cursor, int timeout_ms)
{
  pthread_mutex_lock(&b->lock);
  if (timeout_ms > 0 && *cursor >= b->next && !b->closed) {
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
      until.tv_sec++;
      until.tv_nsec -= 1000000000L;
    }
    while (*cursor >= b->next && !b->closed)
      if (pthread_cond_timedwait(&b->cond, &b->lock, &until) == ETIMEDOUT)
        break;
  }
  if (b->closed) {
    pthread_mutex_unlock(&b->lock);
    return NULL;
  }
  uint64_t oldest = b->next > EVENTS_RING ? b->next - EVENTS_RING : 0;
  if (*cursor < oldest)
    *cursor = oldest;
  json_t *out = json_array();
  for (; *cursor < b->next; (*cursor)++)
    json_array_append(out, b->ring[*cursor % EVENTS_RING]);
  pthread_mutex_unlock(&b->lock);
  return out;
}
