/* Bringing an engine up as berthd's: its container state, the image graph, the event bus,
 * every job handler, and the containers that were running before a restart. */
#pragma once

#include "common/berr.h"

struct engine;
struct graph;

int engine_daemon_init(struct engine *e, struct graph *g, struct berr *err);
/* Stop the event streams and free the container state (containers keep running). */
void engine_daemon_shutdown(struct engine *e);
/* Stop every running container (for a daemon without live restore). */
void engine_daemon_stop_all(struct engine *e, int timeout);
