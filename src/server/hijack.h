/* A relay for a hijacked connection whose first bytes were already read by the HTTP
 * server: the job gets one end of a socket pair, the relay feeds it those bytes and then
 * copies both ways, passing half-closes through. */
#pragma once

#include <stddef.h>

#include "common/berr.h"

struct hijack_proxy;

/* Start relaying between client and a new socket pair; extra[0..len) is delivered first.
 * *job_fd receives the job's end. */
int hijack_proxy_start(int client, const char *extra, size_t len, struct hijack_proxy **out,
                       int *job_fd, struct berr *err);
/* The job is done: close its end, deliver what it wrote to the client, stop and free. The
 * client socket itself is left to the caller. */
void hijack_proxy_finish(struct hijack_proxy *p);
