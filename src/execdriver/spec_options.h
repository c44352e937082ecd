/* Options that add to a container's OCI spec beyond Docker's defaults: host devices and a
 * user's seccomp profile. */
#pragma once

#include <jansson.h>

#include "common/berr.h"

/* HostConfig.Devices -> linux.devices and allow rules in linux.resources.devices. */
int execdriver_add_devices(json_t *host, json_t *linux_, struct berr *err);

/* A Docker seccomp profile (JSON text) -> OCI linux.seccomp. */
int execdriver_custom_seccomp(const char *profile, json_t **out, struct berr *err);
