/* berth cp: files between a container and the host (or a tar on stdin/stdout) through the
 * archive API, with docker's placement rules (copy into a directory, rename onto a new
 * name, "dir/." for a directory's contents) and -a (owned by the container's user). */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "common/cleanup.h"
#include "common/lazy_archive.h"

#define GO_MODE_DIR (1u << 31)
#define GO_MODE_SYMLINK (1u << 27)

static const char cp_usage[] =
    "Usage:  berth cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n"
    "\tberth cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH\n\n"
    "Copy files/folders between a container and the local filesystem\n\n"
    "Use '-' as the source to read a tar archive from stdin\n"
    "and extract it to a directory destination in a container.\n"
    "Use '-' as the destination to stream a tar archive of a\n"
    "container source to stdout.\n\nAliases:\n  berth container cp, berth cp\n\nOptions:\n"
    "  -a, --archive       Archive mode (copy all uid/gid information)\n"
    "  -L, --follow-link   Always follow symbol link in SRC_PATH\n"
    "  -q, --quiet         Suppress progress output during copy. Progress output is "
    "automatically suppressed if no terminal is attached\n";

struct path_stat {
  char name[PATH_MAX];
  unsigned mode; /* Go's os.FileMode */
  char link[PATH_MAX];
  bool exists;
};

static int b64val(char ch)
{
  if (ch >= 'A' && ch <= 'Z')
    return ch - 'A';
  if (ch >= 'a' && ch <= 'z')
    return ch - 'a' + 26;
  if (ch >= '0' && ch <= '9')
    return ch - '0' + 52;
  if (ch == '+' || ch == '-')
    return 62;
  if (ch == '/' || ch == '_')
    return 63;
  return -1;
}

static char *unbase64(const char *in)
{
  size_t n = strlen(in);
  char *out = malloc(n + 1), *w = out;
  if (!out)
    return NULL;
  unsigned v = 0;
  int bits = 0;
  for (size_t i = 0; i < n; i++) {
    int d = b64val(in[i]);
    if (d < 0)
      continue;
    v = (v << 6) | (unsigned)d;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      *w++ = (char)((v >> bits) & 0xff);
    }
  }
  *w = '\0';
  return out;
}

static char *archive_path(const char *ctr, const char *path, const char *extra)
{
  _cleanup_free_ char *ec = url_escape(ctr);
  _cleanup_free_ char *ep = url_escape(path);
  char *out = NULL;
  if (!ec || !ep || asprintf(&out, "/containers/%s/archive?path=%s%s", ec, ep, extra) < 0)
    return NULL;
  return out;
}

/* HEAD the container path: 0 and *st (exists=false on 404), or a printed error. */
static int stat_remote(struct client *c, const char *ctr, const char *path, struct path_stat *st,
                       struct berr *err)
{
  memset(st, 0, sizeof(*st));
  _cleanup_free_ char *p = archive_path(ctr, path, "");
  struct http_resp resp = {0};
  int r = http_do(c, "HEAD", p, NULL, &resp, err);
  if (r < 0 && resp.status == 404) {
    http_resp_free(&resp);
    /* A missing container and a missing path are both 404: tell them apart. */
    _cleanup_free_ char *ec = url_escape(ctr);
    _cleanup_free_ char *cp = NULL;
    if (asprintf(&cp, "/containers/%s/json", ec) < 0)
      return -ENOMEM;
    struct berr e2 = {0};
    if (http_json(c, "GET", cp, NULL, NULL, NULL, &e2) < 0) {
      *err = e2;
      return -1;
    }
    return 0;
  }
  if (r < 0) {
    http_resp_free(&resp);
    return r;
  }
  _cleanup_free_ char *text = unbase64(resp.path_stat);
  http_resp_free(&resp);
  json_auto_t *j = text ? json_loads(text, 0, NULL) : NULL;
  if (!j)
    return berr_set(err, 0, "unable to decode container path stat header");
  st->exists = true;
  snprintf(st->name, sizeof(st->name), "%s", json_string_value(json_object_get(j, "name")) ?: "");
  st->mode = (unsigned)json_integer_value(json_object_get(j, "mode"));
  snprintf(st->link, sizeof(st->link), "%s",
           json_string_value(json_object_get(j, "linkTarget")) ?: "");
  return 0;
}

static bool ends_with_dot(const char *p)
{
  size_t n = strlen(p);
  return (n >= 2 && strcmp(p + n - 2, "/.") == 0) || strcmp(p, ".") == 0;
}

static bool ends_with_slash(const char *p)
{
  size_t n = strlen(p);
  return n && p[n - 1] == '/';
}

/* dirname / basename of a path with trailing slashes removed (malloc'd). */
static void split_path(const char *path, char **dir, char **base)
{
  char tmp[PATH_MAX];
  snprintf(tmp, sizeof(tmp), "%s", path);
  size_t n = strlen(tmp);
  while (n > 1 && tmp[n - 1] == '/')
    tmp[--n] = '\0';
  char *slash = strrchr(tmp, '/');
  if (!slash) {
    *dir = strdup(".");
    *base = strdup(tmp);
  } else if (slash == tmp) {
    *dir = strdup("/");
    *base = strdup(slash + 1);
  } else {
    *slash = '\0';
    *dir = strdup(tmp);
    *base = strdup(slash + 1);
  }
}

/* Entry name with its first component `from` replaced by `to` (NULL when from is NULL). */
static char *rebase(const char *name, const char *from, const char *to)
{
  char *out = NULL;
  size_t fl = from ? strlen(from) : 0;
  if (from && strncmp(name, from, fl) == 0 && (name[fl] == '\0' || name[fl] == '/')) {
    if (asprintf(&out, "%s%s", to, name + fl) < 0)
      return NULL;
    return out;
  }
  return strdup(name);
}

/* ---- container -> host ---- */

struct spool {
  FILE *f;
};

static int spool_sink(void *ud, const char *data, size_t len)
{
  struct spool *s = ud;
  return fwrite(data, 1, len, s->f) == len ? 0 : -EIO;
}

static int extract_tar(FILE *tar, const char *dir, const char *from, const char *to, bool owners,
                       struct berr *err)
{
  char cwd[PATH_MAX];
  if (!getcwd(cwd, sizeof(cwd)))
    return berr_errno(err, "getcwd");
  if (chdir(dir) < 0)
    return berr_errno(err, "%s", dir);
  struct archive *in = archive_read_new();
  struct archive *out = archive_write_disk_new();
  if (!in || !out) {
    archive_read_free(in);
    archive_write_free(out);
    if (chdir(cwd) < 0) {
      /* nothing more to undo */
    }
    return berr_set(err, ELIBACC, "%s", lazy_archive_error());
  }
  archive_read_support_format_tar(in);
  /* docker's CLI leaves extracted files to the user running it; -a keeps the owners. */
  archive_write_disk_set_options(out, ARCHIVE_EXTRACT_PERM | (owners ? ARCHIVE_EXTRACT_OWNER : 0) |
                                          ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_SECURE_NODOTDOT |
                                          ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS |
                                          ARCHIVE_EXTRACT_UNLINK);
  int rc = 0;
  fflush(tar);
  if (lseek(fileno(tar), 0, SEEK_SET) < 0 ||
      archive_read_open_fd(in, fileno(tar), 65536) != ARCHIVE_OK) {
    rc = berr_set(err, 0, "read archive: %s", archive_error_string(in));
    goto out;
  }
  struct archive_entry *e;
  int hr;
  while ((hr = archive_read_next_header(in, &e)) == ARCHIVE_OK) {
    _cleanup_free_ char *name = rebase(archive_entry_pathname(e), from, to);
    archive_entry_set_pathname(e, name);
    const char *hl = archive_entry_hardlink(e);
    if (hl) {
      _cleanup_free_ char *nl = rebase(hl, from, to);
      archive_entry_set_hardlink(e, nl);
    }
    if (archive_write_header(out, e) != ARCHIVE_OK) {
      rc = berr_set(err, 0, "%s: %s", name, archive_error_string(out));
      goto out;
    }
    const void *buf;
    size_t size;
    la_int64_t off;
    int dr;
    while ((dr = archive_read_data_block(in, &buf, &size, &off)) == ARCHIVE_OK)
      if (archive_write_data_block(out, buf, size, off) != ARCHIVE_OK) {
        rc = berr_set(err, 0, "%s: %s", name, archive_error_string(out));
        goto out;
      }
    if (archive_write_finish_entry(out) != ARCHIVE_OK) {
      rc = berr_set(err, 0, "%s: %s", name, archive_error_string(out));
      goto out;
    }
  }
  if (hr != ARCHIVE_EOF)
    rc = berr_set(err, 0, "read archive: %s", archive_error_string(in));
out:
  archive_read_free(in);
  archive_write_close(out);
  archive_write_free(out);
  if (chdir(cwd) < 0 && rc == 0)
    rc = berr_errno(err, "chdir back");
  return rc;
}

static int stdout_sink(void *ud, const char *data, size_t len)
{
  (void)ud;
  return fwrite(data, 1, len, stdout) == len ? 0 : -EIO;
}

static int copy_from(struct client *c, const char *ctr, const char *src, const char *dest,
                     bool follow, bool owners)
{
  struct berr err = {0};
  struct path_stat st;
  if (stat_remote(c, ctr, src, &st, &err) < 0)
    return cli_fail(&err);
  if (!st.exists) {
    fprintf(stderr, "Error response from daemon: Could not find the file %s in container %s\n", src,
            ctr);
    return 1;
  }
  const char *rsrc = src;
  if (follow && (st.mode & GO_MODE_SYMLINK) && st.link[0]) {
    rsrc = st.link;
    char keep[PATH_MAX];
    snprintf(keep, sizeof(keep), "%s", st.name);
    if (stat_remote(c, ctr, rsrc, &st, &err) < 0 || !st.exists)
      return cli_fail(&err);
    snprintf(st.name, sizeof(st.name), "%s", keep); /* the link's name, as docker -L */
  }
  _cleanup_free_ char *path = archive_path(ctr, rsrc, "");
  struct http_resp resp = {0};
  if (strcmp(dest, "-") == 0) {
    int r = http_stream(c, "GET", path, NULL, NULL, stdout_sink, NULL, &resp, &err);
    http_resp_free(&resp);
    return r < 0 ? cli_fail(&err) : 0;
  }
  _cleanup_fclose_ FILE *tmp = tmpfile();
  if (!tmp)
    return berr_errno(&err, "temp file"), cli_fail(&err);
  struct spool sp = {.f = tmp};
  int r = http_stream(c, "GET", path, NULL, NULL, spool_sink, &sp, &resp, &err);
  http_resp_free(&resp);
  if (r < 0)
    return cli_fail(&err);
  fflush(tmp);
  /* The entries are named after the source's base name (the link's when followed). */
  char tar_base[PATH_MAX];
  {
    _cleanup_free_ char *d = NULL, *b = NULL;
    split_path(rsrc, &d, &b);
    snprintf(tar_base, sizeof(tar_base), "%s", ends_with_dot(rsrc) ? "." : b);
  }
  bool src_dir = st.mode & GO_MODE_DIR;
  struct stat dst;
  bool exists = stat(dest, &dst) == 0;
  _cleanup_free_ char *ddir = NULL, *dbase = NULL;
  split_path(dest, &ddir, &dbase);
  if (exists && S_ISDIR(dst.st_mode)) {
    if (ends_with_dot(src) || ends_with_dot(rsrc))
      r = extract_tar(tmp, dest, tar_base, ".", owners, &err);
    else if (strcmp(tar_base, st.name) != 0)
      r = extract_tar(tmp, dest, tar_base, st.name, owners, &err);
    else
      r = extract_tar(tmp, dest, NULL, NULL, owners, &err);
  } else if (exists) {
    if (src_dir) {
      fprintf(stderr, "cannot copy directory\n");
      return 1;
    }
    r = extract_tar(tmp, ddir, tar_base, dbase, owners, &err);
  } else {
    if (ends_with_slash(dest) && !src_dir) {
      fprintf(stderr, "destination \"%s\" must be a directory\n", dest);
      return 1;
    }
    struct stat pst;
    if (stat(ddir, &pst) < 0 || !S_ISDIR(pst.st_mode)) {
      fprintf(stderr, "destination directory \"%s\" must exist\n", ddir);
      return 1;
    }
    r = extract_tar(tmp, ddir, tar_base, dbase, owners, &err);
  }
  return r < 0 ? cli_fail(&err) : 0;
}

/* ---- host -> container ---- */

static int tar_add(struct archive *a, const char *src, const char *name, struct berr *err)
{
  struct stat st;
  if (lstat(src, &st) < 0)
    return berr_errno(err, "%s", src);
  struct archive_entry *e = archive_entry_new();
  archive_entry_copy_stat(e, &st);
  archive_entry_set_pathname(e, name);
  if (S_ISLNK(st.st_mode)) {
    char t[PATH_MAX];
    ssize_t k = readlink(src, t, sizeof(t) - 1);
    if (k < 0) {
      archive_entry_free(e);
      return berr_errno(err, "readlink %s", src);
    }
    t[k] = '\0';
    archive_entry_set_symlink(e, t);
  }
  int rc = 0;
  if (archive_write_header(a, e) != ARCHIVE_OK)
    rc = berr_set(err, 0, "%s: %s", src, archive_error_string(a));
  if (rc == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
    _cleanup_fclose_ FILE *f = fopen(src, "re");
    if (!f)
      rc = berr_errno(err, "%s", src);
    char buf[65536];
    size_t k;
    while (rc == 0 && (k = fread(buf, 1, sizeof(buf), f)) > 0)
      if (archive_write_data(a, buf, k) < 0)
        rc = berr_set(err, 0, "%s: %s", src, archive_error_string(a));
  }
  archive_entry_free(e);
  if (rc < 0 || !S_ISDIR(st.st_mode))
    return rc;
  _cleanup_closedir_ DIR *d = opendir(src);
  if (!d)
    return berr_errno(err, "%s", src);
  struct dirent *de;
  while ((de = readdir(d))) {
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
      continue;
    _cleanup_free_ char *s = NULL, *n = NULL;
    if (asprintf(&s, "%s/%s", src, de->d_name) < 0 || asprintf(&n, "%s/%s", name, de->d_name) < 0)
      return berr_set(err, ENOMEM, "tar");
    if (tar_add(a, s, n, err) < 0)
      return -err->code;
  }
  return 0;
}

/* A sink, so that http_stream keeps an error answer's body for its message. */
static int discard_sink(void *ud, const char *data, size_t len)
{
  (void)ud;
  (void)data;
  (void)len;
  return 0;
}

static int put_tar(struct client *c, const char *ctr, const char *dir, FILE *tar, bool archive_mode,
                   struct berr *err)
{
  rewind(tar);
  _cleanup_free_ char *path = archive_path(
      ctr, dir,
      archive_mode ? "&copyUIDGID=true&noOverwriteDirNonDir=true" : "&noOverwriteDirNonDir=true");
  struct http_resp resp = {0};
  int r = http_stream(c, "PUT", path, tar, "application/x-tar", discard_sink, NULL, &resp, err);
  http_resp_free(&resp);
  return r;
}

static int copy_to(struct client *c, const char *src, const char *ctr, const char *dest,
                   bool archive_mode, bool follow)
{
  struct berr err = {0};
  struct path_stat st;
  if (stat_remote(c, ctr, dest, &st, &err) < 0)
    return cli_fail(&err);
  char rdest[PATH_MAX];
  snprintf(rdest, sizeof(rdest), "%s", dest);
  if (st.exists && (st.mode & GO_MODE_SYMLINK) && st.link[0]) {
    /* the destination's link is followed, as docker does */
    snprintf(rdest, sizeof(rdest), "%s", st.link);
    if (stat_remote(c, ctr, rdest, &st, &err) < 0)
      return cli_fail(&err);
  }
  if (strcmp(src, "-") == 0) {
    if (!st.exists || !(st.mode & GO_MODE_DIR)) {
      fprintf(stderr, "destination \"%s:%s\" must be a directory\n", ctr, dest);
      return 1;
    }
    _cleanup_fclose_ FILE *tmp = tmpfile();
    char buf[65536];
    size_t k;
    while (tmp && (k = fread(buf, 1, sizeof(buf), stdin)) > 0)
      if (fwrite(buf, 1, k, tmp) != k)
        break;
    if (!tmp)
      return berr_errno(&err, "temp file"), cli_fail(&err);
    fflush(tmp);
    return put_tar(c, ctr, rdest, tmp, archive_mode, &err) < 0 ? cli_fail(&err) : 0;
  }
  char lsrc[PATH_MAX];
  snprintf(lsrc, sizeof(lsrc), "%s", src);
  struct stat lst;
  if ((follow ? stat(lsrc, &lst) : lstat(lsrc, &lst)) < 0) {
    fprintf(stderr, "lstat %s: no such file or directory\n", src);
    return 1;
  }
  if (follow && S_ISLNK(lst.st_mode) == 0) {
    char *rp = realpath(src, NULL);
    if (rp) {
      snprintf(lsrc, sizeof(lsrc), "%s", rp);
      free(rp);
    }
  }
  bool src_dir = S_ISDIR(lst.st_mode);
  _cleanup_free_ char *sdir = NULL, *sbase = NULL;
  split_path(src, &sdir, &sbase);
  const char *put_dir;
  const char *name;
  _cleanup_free_ char *ddir = NULL, *dbase = NULL;
  split_path(rdest, &ddir, &dbase);
  if (st.exists && (st.mode & GO_MODE_DIR)) {
    put_dir = rdest;
    name = ends_with_dot(src) ? "." : sbase;
  } else if (st.exists) {
    if (src_dir) {
      fprintf(stderr, "cannot copy directory\n");
      return 1;
    }
    put_dir = ddir;
    name = dbase;
  } else {
    if (ends_with_slash(dest) && !src_dir) {
      fprintf(stderr, "destination \"%s:%s\" must be a directory\n", ctr, dest);
      return 1;
    }
    put_dir = ddir;
    name = dbase;
  }
  _cleanup_fclose_ FILE *tmp = tmpfile();
  if (!tmp)
    return berr_errno(&err, "temp file"), cli_fail(&err);
  struct archive *a = archive_write_new();
  if (!a)
    return berr_set(&err, ELIBACC, "%s", lazy_archive_error()), cli_fail(&err);
  archive_write_set_format_pax_restricted(a);
  int r = archive_write_open_fd(a, fileno(tmp)) == ARCHIVE_OK
              ? 0
              : berr_set(&err, 0, "tar: %s", archive_error_string(a));
  if (r == 0)
    r = tar_add(a, lsrc, name, &err);
  archive_write_close(a);
  archive_write_free(a);
  if (r < 0)
    return cli_fail(&err);
  fflush(tmp);
  return put_tar(c, ctr, put_dir, tmp, archive_mode, &err) < 0 ? cli_fail(&err) : 0;
}

/* "ctr:path" -> ctr and path; a local path has no ':' before its first '/'. */
static bool split_ref(const char *arg, char **ctr, const char **path)
{
  const char *colon = strchr(arg, ':');
  const char *slash = strchr(arg, '/');
  if (!colon || (slash && slash < colon) || arg[0] == '.' || arg[0] == '/')
    return false;
  *ctr = strndup(arg, (size_t)(colon - arg));
  *path = colon + 1;
  return true;
}

int cmd_cp(struct client *c, int argc, char **argv)
{
  static const struct option longopts[] = {{"archive", no_argument, NULL, 'a'},
                                           {"follow-link", no_argument, NULL, 'L'},
                                           {"quiet", no_argument, NULL, 'q'},
                                           HELP_OPT,
                                           {0}};
  bool archive_mode = false, follow = false;
  int o;
  optind = 0;
  while ((o = cli_getopt(argc, argv, "aLq", longopts, "cp", cp_usage)) != -1) {
    if (o < -1)
      return CLI_GETOPT_LOOP_EXIT(o);
    if (o == 'a')
      archive_mode = true;
    else if (o == 'L')
      follow = true;
  }
  if (argc - optind != 2)
    return cli_args_error("cp", cp_usage, "requires 2 arguments");
  const char *src = argv[optind], *dst = argv[optind + 1];
  _cleanup_free_ char *sctr = NULL, *dctr = NULL;
  const char *spath = NULL, *dpath = NULL;
  bool from = split_ref(src, &sctr, &spath);
  bool to = split_ref(dst, &dctr, &dpath);
  if (from && to) {
    fprintf(stderr, "copying between containers is not supported\n");
    return 1;
  }
  if (!from && !to) {
    fprintf(stderr, "must specify at least one container source\n");
    return 1;
  }
  if ((from && !*spath) || (to && !*dpath)) {
    fprintf(stderr, "filepath cannot be empty\n");
    return 1;
  }
  if (from)
    return copy_from(c, sctr, spath, dst, follow, archive_mode);
  return copy_to(c, src, dctr, dpath, archive_mode, follow);
}
