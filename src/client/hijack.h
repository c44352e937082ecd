/* Raw HTTP on the daemon socket for connections held open past their headers: the hijacked
 * attach/exec stream (Connection: Upgrade, 101) and /wait, whose headers must be seen
 * before start. Plus the stdcopy demultiplexer for 8-byte framed output. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/berr.h"

struct client;

struct raw_resp {
  int status;
  bool chunked;
  long content_length; /* -1 when absent */
  char content_type[128];
  char *extra; /* bytes read past the headers: the start of the body or stream */
  size_t extra_len;
};

void raw_resp_free(struct raw_resp *r);

/* Connect, send `method path` (under /v1.50) with a JSON body (may be NULL), read the
 * status line and headers. upgrade asks for a hijack (Connection: Upgrade, Upgrade: tcp).
 * Returns the connected fd, or < 0 (HTTP_ENOTCONN when the socket is unreachable). A status
 * >= 400 is read to the end and turned into a daemon error (HTTP_EDAEMON). */
int raw_request(struct client *c, const char *method, const char *path, const char *json_body,
                bool upgrade, struct raw_resp *resp, struct berr *err);
/* raw_request in two halves, so that several requests can be in flight at once: send
 * returns the connected fd; recv reads the status line and headers on it (0, or < 0 as
 * raw_request; the caller closes fd either way). */
int raw_send(struct client *c, const char *method, const char *path, const char *json_body,
             bool upgrade, struct berr *err);
int raw_recv(int fd, const char *path, bool upgrade, struct raw_resp *resp, struct berr *err);
/* Read the rest of a non-upgraded response to EOF (de-chunked). */
int raw_read_body(int fd, struct raw_resp *resp, char **body, size_t *len, struct berr *err);

/* stdcopy: [stream, 0, 0, 0, size32be] + payload. */
typedef int (*stdcopy_write_fn)(void *ud, int stream, const char *data, size_t len);
struct stdcopy {
  unsigned char hdr[8];
  size_t have;      /* header bytes collected */
  size_t remaining; /* payload bytes left in the current frame */
  int stream;
};
/* Feed bytes; calls write for each payload piece. Stream 3 (systemerr) fails with
 * "error from daemon in stream: <payload>", other unknown streams with
 * "Unrecognized input header: N". */
int stdcopy_feed(struct stdcopy *s, const char *data, size_t len, stdcopy_write_fn write, void *ud,
                 struct berr *err);
/* Encode one frame header (for tests and symmetry). */
void stdcopy_header(unsigned char hdr[8], int stream, uint32_t size);
