/* berth-graph: a small command-line driver for the graph and graphdriver libraries, used by
 * the tests and benchmarks (the daemon calls the same functions). Results go to stdout as
 * JSON; errors are one line on stderr and exit status 1. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/bjson.h"
#include "common/cleanup.h"
#include "graph/image_archive.h"
#include "graph/graph.h"
#include "graph/image.h"
#include "graph/import.h"
#include "graph/rwlayer.h"

static void usage(void)
{
  fputs("usage: berth-graph --root DIR [--driver overlay2|vfs] [--threads N] COMMAND ...\n"
        "  load [--name REPO] FILE|DIR|-      load a docker-archive, oci-archive or OCI layout\n"
        "  save [--format docker-archive|oci-archive|oci] -o OUT REF...\n"
        "  import [-c CHANGE]... [-m MSG] FILE|- [REF]\n"
        "  images [-a] | inspect REF | history REF | resolve REF | tag SRC DST\n"
        "  rmi [-f] [--no-prune] REF... | prune\n"
        "  rw-create ID IMAGE | mount ID | umount ID | rw-remove ID\n"
        "  changes ID | diff ID OUT | export ID OUT | commit [-c CHANGE]... [-m MSG] ID [REF]\n",
        stderr);
}

static int fail(struct berr *err)
{
  fprintf(stderr, "berth-graph: %s\n", err->msg);
  return 1;
}

static void print_json(json_t *j)
{
  char *s = json_dumps(j, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
  if (s) {
    puts(s);
    free(s);
  }
}

static int open_out(const char *path)
{
  if (!strcmp(path, "-"))
    return dup(STDOUT_FILENO);
  return open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
}

/* -c/-m options shared by import and commit; returns the index of the first operand. */
static int change_opts(int argc, char **argv, const char ***changes, size_t *n, const char **msg)
{
  *changes = calloc((size_t)argc + 1, sizeof(char *));
  *n = 0;
  int i = 1;
  for (; i < argc; i++) {
    if ((!strcmp(argv[i], "-c") || !strcmp(argv[i], "--change")) && i + 1 < argc)
      (*changes)[(*n)++] = argv[++i];
    else if ((!strcmp(argv[i], "-m") || !strcmp(argv[i], "--message")) && i + 1 < argc)
      *msg = argv[++i];
    else
      break;
  }
  return i;
}

static int run(struct graph *g, int argc, char **argv)
{
  struct berr err = {0};
  const char *cmd = argv[0];
  int r;
  if (!strcmp(cmd, "load")) {
    const char *name = NULL;
    int i = 1;
    if (i + 1 < argc && !strcmp(argv[i], "--name")) {
      name = argv[i + 1];
      i += 2;
    }
    if (i >= argc)
      return usage(), 2;
    struct graph_load_opts o = {.default_name = name};
    _cleanup_json_ json_t *loaded = NULL;
    struct stat st;
    if (strcmp(argv[i], "-") && stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
      r = graph_load_oci_dir(g, argv[i], &o, &loaded, &err);
    } else {
      _cleanup_close_ int fd =
          strcmp(argv[i], "-") ? open(argv[i], O_RDONLY | O_CLOEXEC) : dup(STDIN_FILENO);
      if (fd < 0) {
        berr_errno(&err, "open %s", argv[i]);
        return fail(&err);
      }
      r = graph_load_archive(g, fd, &o, &loaded, &err);
    }
    if (r < 0)
      return fail(&err);
    print_json(loaded);
    return 0;
  }
  if (!strcmp(cmd, "save")) {
    const char *format = "docker-archive", *out = NULL;
    int i = 1;
    for (; i < argc; i++) {
      if (!strcmp(argv[i], "--format") && i + 1 < argc)
        format = argv[++i];
      else if (!strcmp(argv[i], "-o") && i + 1 < argc)
        out = argv[++i];
      else
        break;
    }
    if (!out || i >= argc)
      return usage(), 2;
    const char *const *refs = (const char *const *)&argv[i];
    size_t n = (size_t)(argc - i);
    if (!strcmp(format, "oci")) {
      r = graph_save_oci_dir(g, refs, n, out, &err);
    } else {
      enum graph_save_format f;
      if (!strcmp(format, "docker-archive"))
        f = GRAPH_SAVE_DOCKER_ARCHIVE;
      else if (!strcmp(format, "oci-archive"))
        f = GRAPH_SAVE_OCI_ARCHIVE;
      else
        return usage(), 2;
      _cleanup_close_ int fd = open_out(out);
      if (fd < 0) {
        berr_errno(&err, "create %s", out);
        return fail(&err);
      }
      r = graph_save(g, refs, n, f, fd, &err);
      if (r < 0 && strcmp(out, "-"))
        unlink(out);
    }
    return r < 0 ? fail(&err) : 0;
  }
  if (!strcmp(cmd, "import") || !strcmp(cmd, "commit")) {
    _cleanup_free_ const char **changes = NULL;
    size_t n;
    const char *msg = NULL;
    int i = change_opts(argc, argv, &changes, &n, &msg);
    if (i >= argc)
      return usage(), 2;
    struct graph_import_opts o = {.ref = i + 1 < argc ? argv[i + 1] : NULL,
                                  .changes = changes,
                                  .nchanges = n,
                                  .message = msg,
                                  .source = "-"};
    char id[GRAPH_DIGEST_LEN + 1];
    if (!strcmp(cmd, "commit")) {
      r = graph_commit(g, argv[i], &o, id, &err);
    } else {
      _cleanup_close_ int fd =
          strcmp(argv[i], "-") ? open(argv[i], O_RDONLY | O_CLOEXEC) : dup(STDIN_FILENO);
      if (fd < 0) {
        berr_errno(&err, "open %s", argv[i]);
        return fail(&err);
      }
      r = graph_import(g, fd, &o, id, &err);
    }
    if (r < 0)
      return fail(&err);
    puts(id);
    return 0;
  }
  if (!strcmp(cmd, "images")) {
    _cleanup_json_ json_t *j = NULL;
    bool all = argc > 1 && !strcmp(argv[1], "-a");
    if (graph_image_list(g, all, &j, &err) < 0)
      return fail(&err);
    print_json(j);
    return 0;
  }
  if ((!strcmp(cmd, "inspect") || !strcmp(cmd, "history") || !strcmp(cmd, "resolve")) &&
      argc == 2) {
    _cleanup_json_ json_t *j = NULL;
    if (!strcmp(cmd, "resolve")) {
      char id[GRAPH_DIGEST_LEN + 1];
      if (graph_image_resolve(g, argv[1], id, &err) < 0)
        return fail(&err);
      puts(id);
      return 0;
    }
    r = !strcmp(cmd, "inspect") ? graph_image_inspect(g, argv[1], &j, &err)
                                : graph_image_history(g, argv[1], &j, &err);
    if (r < 0)
      return fail(&err);
    print_json(j);
    return 0;
  }
  if (!strcmp(cmd, "tag") && argc == 3)
    return graph_tag(g, argv[1], argv[2], &err) < 0 ? fail(&err) : 0;
  if (!strcmp(cmd, "rmi")) {
    struct graph_delete_opts o = {.prune_parents = true};
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
      if (!strcmp(argv[i], "-f"))
        o.force = true;
      else if (!strcmp(argv[i], "--no-prune"))
        o.prune_parents = false;
    }
    json_t *all = json_array();
    int rc = 0;
    for (; i < argc; i++) {
      _cleanup_json_ json_t *j = NULL;
      if (graph_image_delete(g, argv[i], &o, &j, &err) < 0) {
        fail(&err);
        rc = 1;
        continue;
      }
      json_array_extend(all, j);
    }
    print_json(all);
    json_decref(all);
    return rc;
  }
  if (!strcmp(cmd, "prune")) {
    _cleanup_json_ json_t *j = NULL;
    if (graph_image_prune(g, &j, &err) < 0)
      return fail(&err);
    print_json(j);
    return 0;
  }
  if (!strcmp(cmd, "rw-create") && argc == 3)
    return graph_rwlayer_create(g, argv[1], argv[2], &err) < 0 ? fail(&err) : 0;
  if (!strcmp(cmd, "mount") && argc == 2) {
    _cleanup_free_ char *path = NULL;
    if (graph_rwlayer_mount(g, argv[1], &path, &err) < 0)
      return fail(&err);
    puts(path);
    return 0;
  }
  if (!strcmp(cmd, "umount") && argc == 2)
    return graph_rwlayer_unmount(g, argv[1], &err) < 0 ? fail(&err) : 0;
  if (!strcmp(cmd, "rw-remove") && argc == 2)
    return graph_rwlayer_remove(g, argv[1], &err) < 0 ? fail(&err) : 0;
  if (!strcmp(cmd, "changes") && argc == 2) {
    struct gd_change *c = NULL;
    size_t n = 0;
    if (graph_rwlayer_changes(g, argv[1], &c, &n, &err) < 0)
      return fail(&err);
    json_t *j = json_array();
    for (size_t i = 0; i < n; i++)
      json_array_append_new(j, json_pack("{s:s, s:i}", "Path", c[i].path, "Kind", c[i].kind));
    gd_changes_free(c, n);
    print_json(j);
    json_decref(j);
    return 0;
  }
  if ((!strcmp(cmd, "diff") || !strcmp(cmd, "export")) && argc == 3) {
    _cleanup_close_ int fd = open_out(argv[2]);
    if (fd < 0) {
      berr_errno(&err, "create %s", argv[2]);
      return fail(&err);
    }
    r = !strcmp(cmd, "diff") ? graph_rwlayer_diff(g, argv[1], fd, &err)
                             : graph_rwlayer_export(g, argv[1], fd, &err);
    return r < 0 ? fail(&err) : 0;
  }
  usage();
  return 2;
}

int main(int argc, char **argv)
{
  static const struct option longopts[] = {
      {"root", required_argument, NULL, 'r'},
      {"driver", required_argument, NULL, 'd'},
      {"threads", required_argument, NULL, 't'},
      {"help", no_argument, NULL, 'h'},
      {0},
  };
  struct graph_opts o = {0};
  int c;
  while ((c = getopt_long(argc, argv, "+r:d:t:h", longopts, NULL)) != -1) {
    switch (c) {
    case 'r':
      o.root = optarg;
      break;
    case 'd':
      o.driver = optarg;
      break;
    case 't':
      o.threads = atoi(optarg);
      break;
    default:
      usage();
      return c == 'h' ? 0 : 2;
    }
  }
  if (!o.root || optind >= argc) {
    usage();
    return 2;
  }
  struct berr err = {0};
  struct graph *g = NULL;
  if (graph_open(&o, &g, &err) < 0)
    return fail(&err);
  int rc = run(g, argc - optind, argv + optind);
  graph_close(g);
  return rc;
}
