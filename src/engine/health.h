/* Health checks (HEALTHCHECK, --health-*): probes run as execs in the running container,
 * State.Health in inspect, "(healthy)" in ps, health_status events. */
#pragma once

#include <jansson.h>
#include <stdbool.h>

struct engine;
struct container;

/* Config.Healthcheck has a probe to run (not NONE, not empty). */
bool health_configured(json_t *config);

/* Engine lock held, the container just became running: start its health monitor (any
 * earlier one ends). reset: State.Health starts over as "starting" (a new start; not a
 * daemon reconnect). */
void health_start(struct engine *e, struct container *c, bool reset);
