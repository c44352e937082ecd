/* OCI hooks: run each with the container state JSON on stdin, honouring its timeout. */
#pragma once

#include <jansson.h>

#include "common/berr.h"

/* Run every hook in hooks[name] (hooks is the config's "hooks" object, may be NULL).
 * The first failing hook stops the rest and is reported. */
int lc_hooks_run(json_t *hooks, const char *name, json_t *state, struct berr *err);

struct lc_config;
/* The state object hooks and the seccomp listener receive (new reference). */
json_t *lc_hook_state(const char *id, int pid, const struct lc_config *c, const char *status);
