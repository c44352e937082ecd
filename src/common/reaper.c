/* A FIFO of deferred jobs and the one thread that runs them. */
#include "reaper.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

struct job {
  void (*fn)(void *);
  void *arg;
  struct job *next;
};

struct reaper {
  pthread_mutex_t lock;
  pthread_cond_t work, idle;
  struct job *head, *tail;
  bool busy, stopping;
  pthread_t thread;
};

static void *worker(void *p)
{
  struct reaper *r = p;
  pthread_mutex_lock(&r->lock);
  for (;;) {
    while (!r->head && !r->stopping)
      pthread_cond_wait(&r->work, &r->lock);
    if (!r->head)
      break;
    struct job *j = r->head;
    r->head = j->next;
    if (!r->head)
      r->tail = NULL;
    r->busy = true;
    pthread_mutex_unlock(&r->lock);
    j->fn(j->arg);
    free(j);
    pthread_mutex_lock(&r->lock);
    r->busy = false;
    pthread_cond_broadcast(&r->idle);
  }
  pthread_mutex_unlock(&r->lock);
  return NULL;
}

struct reaper *reaper_new(void)
{
  struct reaper *r = calloc(1, sizeof(*r));
  if (!r)
    return NULL;
  pthread_mutex_init(&r->lock, NULL);
  pthread_cond_init(&r->work, NULL);
  pthread_cond_init(&r->idle, NULL);
  if (pthread_create(&r->thread, NULL, worker, r) != 0) {
    free(r);
    return NULL;
  }
  return r;
}

void reaper_defer(struct reaper *r, void (*fn)(void *arg), void *arg)
{
  struct job *j = r ? malloc(sizeof(*j)) : NULL;
  if (!j) {
    fn(arg);
    return;
  }
  *j = (struct job){.fn = fn, .arg = arg};
  pthread_mutex_lock(&r->lock);
  if (r->tail)
    r->tail->next = j;
  else
    r->head = j;
  r->tail = j;
  pthread_cond_signal(&r->work);
  pthread_mutex_unlock(&r->lock);
}

void reaper_drain(struct reaper *r)
{
  if (!r)
    return;
  pthread_mutex_lock(&r->lock);
  while (r->head || r->busy)
    pthread_cond_wait(&r->idle, &r->lock);
  pthread_mutex_unlock(&r->lock);
}

void reaper_free(struct reaper *r)
{
  if (!r)
    return;
  pthread_mutex_lock(&r->lock);
  r->stopping = true;
  pthread_cond_signal(&r->work);
  pthread_mutex_unlock(&r->lock);
  pthread_join(r->thread, NULL); /* the worker runs what is queued before it stops */
  pthread_cond_destroy(&r->idle);
  pthread_cond_destroy(&r->work);
  pthread_mutex_destroy(&r->lock);
  free(r);
}
