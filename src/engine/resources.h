/* A container's resource and security settings (HostConfig) checked as Docker checks them,
 * with Docker's defaults filled in, and `update` of a container's limits. */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "common/berr.h"

struct engine;

/* Check a create request's HostConfig (and Config for the health check) and fill Docker's
 * defaults in place (MemorySwap = 2 x Memory when unset). Errors carry Docker's messages;
 * dockerd's create-time warnings are appended to `warnings` (an array). */
int resources_check_create(json_t *config, json_t *host, json_t *warnings, struct berr *err);

/* berthd --cpu-rt-period/--cpu-rt-runtime (cgroup v1): the real-time budget of the parent
 * cgroup of every container (/berth), set before a container starts, as dockerd's
 * initCPURtController. Nothing is written for values of 0. */
int resources_init_rt_parent(struct engine *e, struct berr *err);

/* The update job's work: check `upd` (Docker's UpdateConfig: resources + RestartPolicy),
 * apply it to the running container's cgroup and persist it. */
int resources_update(struct engine *e, const char *ref, json_t *upd, json_t **warnings,
                     struct berr *err);
