/* A container's resource and security settings (HostConfig) checked as Docker checks them,
 * with Docker's defaults filled in, and `update` of a container's limits. */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "common/berr.h"

struct engine;

/* Check a create request's HostConfig (and Config for the health check) and fill Docker's
 * defaults in place (MemorySwap = 2 x Memory when unset). Errors carry Docker's messages. */
int resources_check_create(json_t *config, json_t *host, struct berr *err);

/* The update job's work: check `upd` (Docker's UpdateConfig: resources + RestartPolicy),
 * apply it to the running container's cgroup and persist it. */
int resources_update(struct engine *e, const char *ref, json_t *upd, json_t **warnings,
                     struct berr *err);
