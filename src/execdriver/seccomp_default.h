/* berth's default seccomp profile: the same policy as Docker's default (dangerous
 * syscalls refused with EPERM unless the capability that makes them safe is granted;
 * namespace-creating clone flags refused; clone3 reports ENOSYS so libc falls back to
 * clone), written as a denylist over an allow default. */
#pragma once

#include <jansson.h>
#include <stdint.h>

/* The linux.seccomp object for a container with this effective capability set. */
json_t *execdriver_default_seccomp(uint64_t caps);
