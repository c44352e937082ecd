/* One line of Docker's json-file log, encoded by hand: the shim writes these for as long
 * as its container runs, so the path stays off stdio, jansson and the time-zone code. */
#pragma once

#include <stddef.h>
#include <time.h>

/* Worst case of logline_format for a payload of len bytes: every byte escaped as \uXXXX. */
#define LOGLINE_MAX(len) ((len)*6 + 128)

/* Writes {"log":"…","stream":"…","time":"YYYY-MM-DDTHH:MM:SS.NNNNNNNNNZ"} and a newline
 * into dst (stream 2 is stderr, anything else stdout) (at least LOGLINE_MAX(len) bytes); returns
 * its length. The payload is escaped as Go's encoding/json does it (invalid UTF-8 becomes U+FFFD,
 * <, > and & are \u-escaped), so the file reads the same as one dockerd wrote. */
size_t logline_format(char *dst, int stream, const char *line, size_t len,
                      const struct timespec *when);
