/* CVE-2019-5736: a process that enters a container must not be our binary on disk, or
 * the container could reopen /proc/<pid>/exe and overwrite it. We re-exec from a sealed
 * in-memory copy first. */
#pragma once

#include "common/berr.h"

/* Returns 0 when already running from a sealed copy (or a read-only filesystem);
 * otherwise re-executes argv from a sealed memfd and only returns on failure. */
int lc_ensure_cloned_binary(char **argv, struct berr *err);
