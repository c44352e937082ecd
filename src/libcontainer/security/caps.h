/* Linux capabilities for the OCI spec's process.capabilities: name tables and the five
 * sets (bounding, effective, permitted, inheritable, ambient). */
#pragma once

#include <jansson.h>
#include <stdint.h>

#include "common/berr.h"

struct lc_caps {
  uint64_t bounding, effective, permitted, inheritable, ambient;
};

/* "CAP_SYS_ADMIN" (or "SYS_ADMIN", any case) -> number; -1 when unknown. */
int lc_cap_from_name(const char *name);
const char *lc_cap_name(int cap);
/* Highest capability the running kernel knows (/proc/sys/kernel/cap_last_cap). */
int lc_cap_last(void);

/* Parse process.capabilities; an unknown name is an error naming it. NULL = no caps. A known
 * name the running kernel does not have (above lc_cap_last) is skipped, as runc does. */
int lc_caps_parse(json_t *capabilities, struct lc_caps *out, struct berr *err);

/* Drop every capability not in the bounding set (needs CAP_SETPCAP; call before setuid). */
int lc_caps_drop_bounding(const struct lc_caps *c, struct berr *err);

/* capset effective/permitted/inheritable, then set the ambient set. Call after setresuid
 * with PR_SET_KEEPCAPS so the permitted set survives the uid change. An ambient cap the kernel
 * refuses (not in permitted and inheritable) is left out without an error, as runc does.
 * Both functions only make raw syscalls (no allocation): safe in a cloned child. */
int lc_caps_apply(const struct lc_caps *c, struct berr *err);
