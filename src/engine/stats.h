/* Docker's stats JSON for one container: a sample from its cgroup and netns. */
#pragma once

#include <jansson.h>
#include <sys/types.h>

#include "common/berr.h"

struct engine;

/* A sample of a running container; prev (the last sample, or NULL) fills precpu_stats. */
int stats_sample(struct engine *e, const char *id, const char *rt, const char *name, pid_t pid,
                 json_t *prev, json_t **out, struct berr *err);
/* What Docker answers for a container that does not run: zeros. */
json_t *stats_empty(const char *id, const char *name);
