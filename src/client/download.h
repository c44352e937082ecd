/* Where save and export write what they GET: stdout, or -o FILE through a temp file that is
 * renamed over FILE only once the whole body has arrived (a failure leaves no partial file). */
#pragma once

#include <stdio.h>

struct client;

/* GETs path into out. With output set, out is the open temp file tmp: closed, then renamed to
 * output when the body is complete, removed when not. Without, out is stdout. Returns the exit
 * code, the error printed. */
int download_get(struct client *c, const char *path, const char *output, FILE *out,
                 const char *tmp);
