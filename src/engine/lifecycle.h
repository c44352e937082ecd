/* Container lifecycle operations shared by the jobs and by daemon start-up: create,
 * start, stop, kill, remove, recovery. All take the engine lock themselves unless noted. */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "common/berr.h"
#include "container.h"

struct engine;

/* {"image": ..., "name": ..., <labels>} for events (new reference). */
json_t *lifecycle_attrs(const struct container *c);

/* body: the create request (Config fields + HostConfig + NetworkingConfig). name may be
 * NULL (a random one is chosen). Sets *id on success. */
int lifecycle_create(struct engine *e, json_t *body, const char *name, char id[65],
                     json_t **warnings, struct berr *err);
/* 0 started, 1 already running (HTTP 304). */
int lifecycle_start(struct engine *e, const char *ref, struct berr *err);
/* 0 stopped, 1 was not running (HTTP 304). sig NULL: the container's StopSignal or
 * SIGTERM; timeout < 0: StopTimeout or 10 s. */
int lifecycle_stop(struct engine *e, const char *ref, const char *sig, int timeout,
                   struct berr *err);
int lifecycle_kill(struct engine *e, const char *ref, const char *sig, struct berr *err);
int lifecycle_remove(struct engine *e, const char *ref, bool force, bool volumes, struct berr *err);
int lifecycle_pause(struct engine *e, const char *ref, bool pause, struct berr *err);

/* With the engine lock held, from a monitor thread that is ending: auto-remove or restart. */
void lifecycle_after_monitor(struct engine *e, struct container *c);
/* With the engine lock held, when the shim reported the exit: auto-remove (--rm) at once. */
void lifecycle_after_exit(struct engine *e, struct container *c);

/* Daemon start: reconnect to every running container's shim, record the exits of those
 * that ended while we were away. */
void lifecycle_recover(struct engine *e);

/* Wait (engine lock held) until nobody else is starting/stopping/removing c. */
void lifecycle_wait_idle(struct engine *e, struct container *c);

/* Parse "SIGTERM", "TERM", "term", "15"; -1 when unknown. */
int lifecycle_signal(const char *s);
