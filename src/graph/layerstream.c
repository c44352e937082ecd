/* Two libarchive readers in a chain: the outer one ("raw" format, every filter) undoes the
 * compression; our callbacks hash on both sides of it, so one read of the blob yields the
 * blob digest, the diff ID and the tar for extraction. */
#include "layerstream.h"

#include "common/lazy_archive.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fileutil.h"

#define BUFSZ (1 << 20)

struct graph_layer_stream {
  int fd;
  struct graph_blob_writer *tee;
  struct archive *a;
  struct graph_sha256 *blob_h, *tar_h;
  int64_t blob_size, tar_size;
  char *buf;
  bool eof;
  struct berr err; /* the first failure inside a callback */
  bool failed;
};

static la_ssize_t blob_read(struct archive *a, void *ud, const void **out)
{
  struct graph_layer_stream *ls = ud;
  for (;;) {
    ssize_t n = read(ls->fd, ls->buf, BUFSZ);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      berr_errno(&ls->err, "read layer blob");
      ls->failed = true;
      archive_set_error(a, errno, "read layer blob");
      return -1;
    }
    graph_sha256_update(ls->blob_h, ls->buf, (size_t)n);
    ls->blob_size += n;
    if (ls->tee && n > 0 && graph_blob_writer_write(ls->tee, ls->buf, (size_t)n, &ls->err) < 0) {
      ls->failed = true;
      archive_set_error(a, EIO, "%s", ls->err.msg);
      return -1;
    }
    *out = ls->buf;
    return n;
  }
}

int graph_layer_stream_open(int fd, struct graph_blob_writer *tee, struct graph_layer_stream **out,
                            struct berr *err)
{
  struct graph_layer_stream *ls = calloc(1, sizeof(*ls));
  if (!ls)
    return berr_set(err, ENOMEM, "layer stream");
  ls->fd = fd;
  ls->tee = tee;
  ls->buf = malloc(BUFSZ);
  ls->blob_h = graph_sha256_new();
  ls->tar_h = graph_sha256_new();
  ls->a = archive_read_new();
  if (!ls->buf || !ls->blob_h || !ls->tar_h || !ls->a) {
    graph_layer_stream_free(ls);
    return berr_set(err, ENOMEM, "layer stream");
  }
  archive_read_support_filter_all(ls->a);
  archive_read_support_format_raw(ls->a);
  struct archive_entry *e;
  if (archive_read_open(ls->a, ls, NULL, blob_read, NULL) != ARCHIVE_OK ||
      archive_read_next_header(ls->a, &e) != ARCHIVE_OK) {
    int r = ls->failed ? berr_set(err, ls->err.code ? ls->err.code : EIO, "%s", ls->err.msg)
                       : berr_set(err, 0, "layer blob: %s",
                                  archive_error_string(ls->a) ? archive_error_string(ls->a)
                                                              : "empty or unreadable");
    graph_layer_stream_free(ls);
    return r;
  }
  *out = ls;
  return 0;
}

static ssize_t tar_read(void *ctx, const void **buf)
{
  struct graph_layer_stream *ls = ctx;
  if (ls->eof)
    return 0;
  size_t len;
  la_int64_t off;
  int r = archive_read_data_block(ls->a, buf, &len, &off);
  if (r == ARCHIVE_EOF) {
    ls->eof = true;
    return 0;
  }
  if (r < ARCHIVE_WARN) {
    if (!ls->failed) {
      berr_set(&ls->err, 0, "layer blob: %s",
               archive_error_string(ls->a) ? archive_error_string(ls->a) : "read error");
      ls->failed = true;
    }
    return -EIO;
  }
  if ((int64_t)off != ls->tar_size) {
    berr_set(&ls->err, 0, "layer blob: unexpected hole in decompressed data");
    ls->failed = true;
    return -EIO;
  }
  graph_sha256_update(ls->tar_h, *buf, len);
  ls->tar_size += (int64_t)len;
  return (ssize_t)len;
}

struct gd_tar_source graph_layer_stream_source(struct graph_layer_stream *ls)
{
  return (struct gd_tar_source){.read = tar_read, .ctx = ls};
}

const char *graph_layer_stream_error(struct graph_layer_stream *ls)
{
  return ls->failed ? ls->err.msg : NULL;
}

int graph_layer_stream_finish(struct graph_layer_stream *ls, struct graph_layer_digests *d,
                              struct berr *err)
{
  const void *buf;
  ssize_t n;
  while ((n = tar_read(ls, &buf)) > 0)
    ;
  if (n < 0)
    return berr_set(err, ls->err.code ? ls->err.code : EIO, "%s", ls->err.msg);
  /* the tar reader may stop before the blob's end: hash whatever follows too */
  for (;;) {
    const void *p;
    ssize_t m = blob_read(ls->a, ls, &p);
    if (m < 0)
      return berr_set(err, ls->err.code ? ls->err.code : EIO, "%s", ls->err.msg);
    if (m == 0)
      break;
  }
  graph_sha256_final(ls->blob_h, d->blob);
  graph_sha256_final(ls->tar_h, d->diff_id);
  d->blob_size = ls->blob_size;
  d->tar_size = ls->tar_size;
  switch (archive_filter_code(ls->a, 0)) {
  case ARCHIVE_FILTER_GZIP:
    d->compression = "gzip";
    break;
  case ARCHIVE_FILTER_ZSTD:
    d->compression = "zstd";
    break;
  case ARCHIVE_FILTER_NONE:
    d->compression = NULL;
    break;
  default:
    return berr_set(err, 0, "layer blob: unsupported compression %s",
                    archive_filter_name(ls->a, 0));
  }
  return 0;
}

void graph_layer_stream_free(struct graph_layer_stream *ls)
{
  if (!ls)
    return;
  if (ls->a)
    archive_read_free(ls->a);
  if (ls->blob_h)
    graph_sha256_free(ls->blob_h);
  if (ls->tar_h)
    graph_sha256_free(ls->tar_h);
  free(ls->buf);
  free(ls);
}

int graph_layer_decompress(int blobfd, int (*sink)(void *ud, const void *buf, size_t len), void *ud,
                           struct berr *err)
{
  struct graph_layer_stream *ls;
  int r = graph_layer_stream_open(blobfd, NULL, &ls, err);
  if (r < 0)
    return r;
  const void *buf;
  ssize_t n;
  while ((n = tar_read(ls, &buf)) > 0)
    if ((r = sink(ud, buf, (size_t)n)) < 0) {
      graph_layer_stream_free(ls);
      return berr_set(err, -r, "write layer");
    }
  if (n < 0)
    r = berr_set(err, EIO, "%s", ls->err.msg);
  graph_layer_stream_free(ls);
  return r;
}
