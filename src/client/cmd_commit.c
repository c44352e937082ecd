/* berth commit, diff and export: a container's writable layer as an image, as a list of
 * changes, and its whole filesystem as a tar. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "common/cleanup.h"
#include "download.h"

static const char commit_usage[] =
    "Usage:  berth commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]\n\n"
    "Create a new image from a container's changes\n\nAliases:\n  berth container commit, berth "
    "commit\n\nOptions:\n"
    "  -a, --author string    Author (e.g., \"John Hannibal Smith <hannibal@a-team.com>\")\n"
    "  -c, --change list      Apply Dockerfile instruction to the created image\n"
    "  -m, --message string   Commit message\n"
    "  -p, --pause            Pause container during commit (default true)\n";

static bool parse_bool(const char *v, bool *out)
{
  if (!v || !strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "t") || !strcmp(v, "True")) {
    *out = true;
    return true;
  }
  if (!strcmp(v, "false") || !strcmp(v, "0") || !strcmp(v, "f") || !strcmp(v, "False")) {
    *out = false;
    return true;
  }
  return false;
}

int cmd_commit(struct client *c, int argc, char **argv)
{
  static const struct option longopts[] = {{"author", required_argument, NULL, 'a'},
                                           {"change", required_argument, NULL, 'c'},
                                           {"message", required_argument, NULL, 'm'},
                                           {"pause", optional_argument, NULL, 'p'},
                                           HELP_OPT,
                                           {0}};
  const char *author = NULL, *message = NULL;
  bool pause = true;
  json_auto_t *changes = json_array();
  int o;
  optind = 0;
  while ((o = cli_getopt(argc, argv, "a:c:m:p", longopts, "commit", commit_usage)) != -1) {
    if (o < -1)
      return CLI_GETOPT_LOOP_EXIT(o);
    if (o == 'a')
      author = optarg;
    else if (o == 'c')
      json_array_append_new(changes, json_string(optarg));
    else if (o == 'm')
      message = optarg;
    else if (o == 'p' && !parse_bool(optarg, &pause))
      return cli_usage_error("commit",
                             "invalid argument \"%s\" for \"-p, --pause\" flag: "
                             "strconv.ParseBool: parsing \"%s\": invalid syntax",
                             optarg, optarg);
  }
  if (argc - optind < 1 || argc - optind > 2)
    return cli_args_error("commit", commit_usage, "requires at least 1 and at most 2 arguments");
  struct query q = {0};
  query_add(&q, "container", argv[optind]);
  if (optind + 1 < argc) {
    struct berr err = {0};
    if (ref_tag_query(&q, argv[optind + 1], &err) < 0) {
      fprintf(stderr, "invalid reference format\n");
      return 1;
    }
  }
  if (author)
    query_add(&q, "author", author);
  if (message)
    query_add(&q, "comment", message);
  query_add(&q, "pause", pause ? "1" : "0");
  size_t i;
  json_t *v;
  json_array_foreach(changes, i, v)
  {
    query_add(&q, "changes", json_string_value(v));
  }
  _cleanup_free_ char *path = query_build("/commit", &q);
  json_auto_t *rep = NULL;
  struct berr err = {0};
  if (http_json(c, "POST", path, NULL, &rep, NULL, &err) < 0)
    return cli_fail(&err);
  printf("%s\n", json_string_value(json_object_get(rep, "Id")) ?: "");
  return 0;
}

static const char diff_usage[] =
    "Usage:  berth diff CONTAINER\n\nInspect changes to files or directories on a container's "
    "filesystem\n\nAliases:\n  berth container diff, berth diff\n";

int cmd_diff(struct client *c, int argc, char **argv)
{
  static const struct option longopts[] = {HELP_OPT, {0}};
  int o;
  optind = 0;
  while ((o = cli_getopt(argc, argv, "", longopts, "diff", diff_usage)) != -1)
    if (o < -1)
      return CLI_GETOPT_LOOP_EXIT(o);
  if (argc - optind != 1)
    return cli_args_error("diff", diff_usage, "requires exactly 1 argument");
  _cleanup_free_ char *esc = url_escape(argv[optind]);
  _cleanup_free_ char *path = NULL;
  if (!esc || asprintf(&path, "/containers/%s/changes", esc) < 0)
    return 1;
  json_auto_t *rep = NULL;
  struct berr err = {0};
  if (http_json(c, "GET", path, NULL, &rep, NULL, &err) < 0)
    return cli_fail(&err);
  size_t i;
  json_t *ch;
  json_array_foreach(rep, i, ch)
  {
    static const char kinds[] = "CAD";
    json_int_t k = json_integer_value(json_object_get(ch, "Kind"));
    printf("%c %s\n", k >= 0 && k <= 2 ? kinds[k] : '?',
           json_string_value(json_object_get(ch, "Path")) ?: "");
  }
  return 0;
}

static const char export_usage[] =
    "Usage:  berth export [OPTIONS] CONTAINER\n\nExport a container's filesystem as a tar "
    "archive\n\nAliases:\n  berth container export, berth export\n\nOptions:\n"
    "  -o, --output string   Write to a file, instead of STDOUT\n";

int cmd_export(struct client *c, int argc, char **argv)
{
  static const struct option longopts[] = {{"output", required_argument, NULL, 'o'}, HELP_OPT, {0}};
  const char *output = NULL;
  int o;
  optind = 0;
  while ((o = cli_getopt(argc, argv, "o:", longopts, "export", export_usage)) != -1) {
    if (o < -1)
      return CLI_GETOPT_LOOP_EXIT(o);
    if (o == 'o')
      output = optarg;
  }
  if (argc - optind != 1)
    return cli_args_error("export", export_usage, "requires exactly 1 argument");
  if (!output && isatty(STDOUT_FILENO)) {
    fprintf(stderr, "cowardly refusing to save to a terminal. Use the -o flag or redirect\n");
    return 1;
  }
  _cleanup_free_ char *esc = url_escape(argv[optind]);
  _cleanup_free_ char *path = NULL;
  if (!esc || asprintf(&path, "/containers/%s/export", esc) < 0)
    return 1;
  FILE *out = stdout;
  _cleanup_free_ char *tmp = NULL;
  if (output) {
    if (asprintf(&tmp, "%s.tmp-XXXXXX", output) < 0)
      return 1;
    int fd = mkstemp(tmp);
    if (fd < 0 || !(out = fdopen(fd, "w"))) {
      struct berr err = {0};
      berr_errno(&err, "failed to export container: %s", output);
      return cli_fail(&err);
    }
  }
  return download_get(c, path, output, out, tmp);
}
