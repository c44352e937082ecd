/* save's and export's download: stdout, or an atomically renamed -o FILE. */
#include "download.h"

#include <errno.h>
#include <unistd.h>

#include "cli.h"

static int file_sink(void *ud, const char *data, size_t len)
{
  return fwrite(data, 1, len, ud) == len ? 0 : -EIO;
}

int download_get(struct client *c, const char *path, const char *output, FILE *out, const char *tmp)
{
  struct berr err = {0};
  struct http_resp resp = {0};
  int r = http_stream(c, "GET", path, NULL, NULL, file_sink, out, &resp, &err);
  http_resp_free(&resp);
  if (output) {
    if (fclose(out) != 0 && r >= 0)
      r = berr_errno(&err, "write %s", output);
    if (r >= 0 && rename(tmp, output) < 0)
      r = berr_errno(&err, "rename %s", output);
    if (r < 0)
      unlink(tmp);
  } else {
    fflush(stdout);
  }
  return r < 0 ? cli_fail(&err) : 0;
}
