/* Image commands: images/image ls, image inspect, history, rmi, tag, load, save, import,
 * image prune and pull; tables as docker's image formatter prints them. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "common/cleanup.h"
#include "download.h"
#include "inspect.h"
#include "listcmd.h"
#include "units.h"

static const char images_usage[] =
    "Usage:  berth images [OPTIONS] [REPOSITORY[:TAG]]\n\nList images\n\nOptions:\n"
    "  -a, --all             Show all images (default hides intermediate images)\n"
    "      --digests         Show digests\n"
    "  -f, --filter filter   Filter output based on conditions provided\n"
    "      --format string   Format output using a custom template:\n"
    "                        'table':            Print output in table format with column "
    "headers (default)\n"
    "                        'table TEMPLATE':   Print output in table format using the given Go "
    "template\n"
    "                        'json':             Print in JSON format\n"
    "                        'TEMPLATE':         Print output using the given Go template.\n"
    "      --no-trunc        Don't truncate output\n"
    "  -q, --quiet           Only show image IDs\n";

static json_t *image_headers(void)
{
  return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "ID", "IMAGE ID", "Repository",
                   "REPOSITORY", "Tag", "TAG", "Digest", "DIGEST", "CreatedSince", "CREATED",
                   "CreatedAt", "CREATED AT", "Size", "SIZE", "Containers", "CONTAINERS",
                   "SharedSize", "SHARED SIZE", "UniqueSize", "UNIQUE SIZE", "VirtualSize",
                   "VIRTUAL SIZE");
}

static json_t *image_row(json_t *img, const char *repo, const char *tag, const char *digest,
                         bool trunc, time_t now)
{
  json_t *row = json_object();
  const char *id = json_string_value(json_object_get(img, "Id"));
  id = id ? id : "";
  if (trunc) {
    const char *colon = strchr(id, ':');
    const char *hex = colon ? colon + 1 : id;
    json_object_set_new(row, "ID", json_stringn(hex, strlen(hex) < 12 ? strlen(hex) : 12));
  } else {
    json_object_set_new(row, "ID", json_string(id));
  }
  json_object_set_new(row, "Repository", json_string(repo));
  json_object_set_new(row, "Tag", json_string(tag));
  json_object_set_new(row, "Digest", json_string(digest));
  json_int_t created = json_integer_value(json_object_get(img, "Created"));
  char buf[128], dur[64];
  /* docker's image table has no N/A case: an image created at 0 is "56 years ago" */
  units_human_duration((int64_t)(now - (time_t)created), dur, sizeof(dur));
  snprintf(buf, sizeof(buf), "%s ago", dur);
  json_object_set_new(row, "CreatedSince", json_string(buf));
  units_format_go_time((time_t)created, buf, sizeof(buf));
  json_object_set_new(row, "CreatedAt", json_string(buf));
  json_int_t size = json_integer_value(json_object_get(img, "Size"));
  units_human_size_prec((double)size, 3, buf, sizeof(buf));
  json_object_set_new(row, "Size", json_string(buf));
  units_human_size_prec((double)size, 4, buf, sizeof(buf)); /* HumanSize, as docker */
  json_object_set_new(row, "VirtualSize", json_string(buf));
  json_int_t shared = json_integer_value(json_object_get(img, "SharedSize"));
  json_int_t ctrs = json_integer_value(json_object_get(img, "Containers"));
  if (shared < 0) {
    json_object_set_new(row, "SharedSize", json_string("N/A"));
    json_object_set_new(row, "UniqueSize", json_string("N/A"));
  } else {
    units_human_size_prec((double)shared, 3, buf, sizeof(buf));
    json_object_set_new(row, "SharedSize", json_string(buf));
    units_human_size_prec((double)(size - shared), 3, buf, sizeof(buf));
    json_object_set_new(row, "UniqueSize", json_string(buf));
  }
  if (ctrs < 0)
    json_object_set_new(row, "Containers", json_string("N/A"));
  else
    json_object_set_new(row, "Containers", json_sprintf("%lld", (long long)ctrs));
  return row;
}

/* Split "repo:tag" / "repo@digest" (familiar form). */
static void split_ref(const char *ref, char **repo, char **rest, char sep)
{
  const char *slash = strrchr(ref, '/');
  const char *p = sep == '@' ? strchr(ref, '@') : strrchr(ref, ':');
  if (p && (sep == '@' || !slash || p > slash)) {
    _cleanup_free_ char *r = strndup(ref, (size_t)(p - ref));
    *repo = ref_familiar(r);
    *rest = strdup(p + 1);
  } else {
    *repo = ref_familiar(ref);
    *rest = NULL;
  }
}

struct image_rows_ctx {
  bool trunc;
  time_t now;
};

/* docker's image formatter: one row per tag; digests for the same repo in the DIGEST
 * column; digest-only repos as <none> tags; untagged as <none> <none>. */
static int image_rows(struct formatter *f, json_t *img, void *ud, struct berr *err)
{
  const struct image_rows_ctx *ctx = ud;
  bool trunc = ctx->trunc;
  time_t now = ctx->now;
  json_t *tags = json_object_get(img, "RepoTags");
  json_t *dgs = json_object_get(img, "RepoDigests");
  json_auto_t *digest_by_repo = json_object();
  size_t i;
  json_t *e;
  json_array_foreach(dgs, i, e)
  {
    const char *s = json_string_value(e);
    if (!s || strcmp(s, "<none>@<none>") == 0)
      continue;
    _cleanup_free_ char *repo = NULL, *d = NULL;
    split_ref(s, &repo, &d, '@');
    if (d && !json_object_get(digest_by_repo, repo))
      json_object_set_new(digest_by_repo, repo, json_string(d));
  }
  int rows = 0;
  json_auto_t *seen = json_object();
  json_array_foreach(tags, i, e)
  {
    const char *s = json_string_value(e);
    if (!s || strcmp(s, "<none>:<none>") == 0)
      continue;
    _cleanup_free_ char *repo = NULL, *tag = NULL;
    split_ref(s, &repo, &tag, ':');
    const char *d = json_string_value(json_object_get(digest_by_repo, repo));
    json_object_set_new(seen, repo, json_true());
    json_auto_t *row = image_row(img, repo, tag ? tag : "<none>", d ? d : "<none>", trunc, now);
    int r = formatter_row(f, row, NULL, err);
    if (r < 0)
      return r;
    rows++;
  }
  const char *repo;
  json_object_foreach(digest_by_repo, repo, e)
  {
    if (json_object_get(seen, repo))
      continue;
    json_auto_t *row = image_row(img, repo, "<none>", json_string_value(e), trunc, now);
    int r = formatter_row(f, row, NULL, err);
    if (r < 0)
      return r;
    rows++;
  }
  if (!rows) {
    json_auto_t *row = image_row(img, "<none>", "<none>", "<none>", trunc, now);
    return formatter_row(f, row, NULL, err);
  }
  return 0;
}

static int images_list(struct client *c, int argc, char **argv, const char *cmd)
{
  static const struct option longopts[] = {{"all", no_argument, NULL, 'a'},
                                           LISTCMD_OPT_QUIET,
                                           {"digests", no_argument, NULL, 'D'},
                                           LISTCMD_OPT_NO_TRUNC,
                                           LISTCMD_OPT_FILTER,
                                           LISTCMD_OPT_FORMAT,
                                           HELP_OPT,
                                           {0}};
  bool all = false, digests = false;
  _cleanup_listcmd_ struct listcmd l = LISTCMD_INIT(cmd);
  int o;
  optind = 0;
  while ((o = cli_getopt(argc, argv, "aqf:", longopts, cmd, images_usage)) != -1) {
    if (o < -1)
      return CLI_GETOPT_LOOP_EXIT(o);
    int r = listcmd_option(&l, o, optarg);
    if (r > 0)
      return r;
    if (o == 'a')
      all = true;
    else if (o == 'D')
      digests = true;
  }
  if (argc - optind > 1)
    return cli_args_error(cmd, images_usage, "requires at most 1 argument");
  if (optind < argc) {
    json_t *m = json_object_get(l.filters, "reference");
    if (!m) {
      m = json_object();
      json_object_set_new(l.filters, "reference", m);
    }
    json_object_set_new(m, argv[optind], json_true());
  }
  struct query q = {0};
  if (all)
    query_add(&q, "all", "1");
  json_auto_t *list = NULL;
  int r = listcmd_get(c, "/images/json", &q, &l, &list);
  if (r)
    return r;
  const char *tmpl =
      digests ? "{{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
              : "{{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}";
  json_auto_t *headers = image_headers();
  struct image_rows_ctx ctx = {.trunc = l.trunc, .now = time(NULL)};
  return listcmd_print(&l, list, "{{.ID}}", tmpl, headers, image_rows, &ctx);
}

int cmd_images(struct client *c, int argc, char **argv)
{
  return images_list(c, argc, argv, "images");
}

static const char image_inspect_usage[] =
    "Usage:  berth image inspect [OPTIONS] IMAGE [IMAGE...]\n\n"
    "Display detailed information on one or more images\n\nOptions:\n"
    "  -f, --format string   Format output using a custom template\n";

int cmd_image_inspect(struct client *c, int argc, char **argv)
{
  /* image references go into the path as they are (docker does not escape them) */
  static const struct inspect_kind kind = {
      "image inspect", image_inspect_usage, "/images/", "/json", false, "image"};
  return inspect_command(c, argc, argv, &kind);
}

static const char history_usage[] =
    "Usage:  berth history [OPTIONS] IMAGE\n\nShow the history of an image\n\nOptions:\n"
    "      --format string   Format output using a custom template\n"
    "  -H, --human           Print sizes and dates in human readable format (default true)\n"
    "      --no-trunc        Don't truncate output\n"
    "  -q, --quiet           Only show image IDs\n";

struct history_rows_ctx {
  bool human, trunc;
  time_t now;
};

/* One layer of the history: docker's history table row. */
static int history_rows(struct formatter *f, json_t *h, void *ud, struct berr *err)
{
  const struct history_rows_ctx *ctx = ud;
  json_auto_t *row = json_object();
  const char *id = json_string_value(json_object_get(h, "Id"));
  id = id ? id : "";
  if (ctx->trunc && strcmp(id, "<missing>") != 0) {
    const char *colon = strchr(id, ':');
    const char *hex = colon ? colon + 1 : id;
    json_object_set_new(row, "ID", json_stringn(hex, strlen(hex) < 12 ? strlen(hex) : 12));
  } else {
    json_object_set_new(row, "ID", json_string(id));
  }
  json_int_t created = json_integer_value(json_object_get(h, "Created"));
  char buf[128], dur[64];
  if (ctx->human && created == 0) {
    snprintf(buf, sizeof(buf), "N/A"); /* docker's history shows N/A for time 0 */
  } else if (ctx->human) {
    units_human_duration((int64_t)(ctx->now - (time_t)created), dur, sizeof(dur));
    snprintf(buf, sizeof(buf), "%s ago", dur);
  } else {
    struct tm tm;
    time_t t = (time_t)created;
    localtime_r(&t, &tm);
    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S%z", &tm);
  }
  json_object_set_new(row, "CreatedSince", json_string(buf));
  units_format_go_time((time_t)created, buf, sizeof(buf));
  json_object_set_new(row, "CreatedAt", json_string(buf));
  const char *by = json_string_value(json_object_get(h, "CreatedBy"));
  _cleanup_free_ char *by2 = strdup(by ? by : "");
  for (char *p = by2; *p; p++)
    if (*p == '\t')
      *p = ' ';
  _cleanup_free_ char *byt = ctx->trunc ? units_ellipsis(by2, 45) : strdup(by2);
  json_object_set_new(row, "CreatedBy", json_string(byt));
  json_int_t size = json_integer_value(json_object_get(h, "Size"));
  if (ctx->human)
    units_human_size_prec((double)size, 3, buf, sizeof(buf));
  else
    snprintf(buf, sizeof(buf), "%lld", (long long)size);
  json_object_set_new(row, "Size", json_string(buf));
  const char *comment = json_string_value(json_object_get(h, "Comment"));
  json_object_set_new(row, "Comment", json_string(comment ? comment : ""));
  json_t *tags = json_object_get(h, "Tags");
  json_object_set_new(row, "Tags", json_is_array(tags) ? json_incref(tags) : json_array());
  return formatter_row(f, row, NULL, err);
}

int cmd_history(struct client *c, int argc, char **argv)
{
  static const struct option longopts[] = {LISTCMD_OPT_FORMAT,
                                           {"human", optional_argument, NULL, 'H'},
                                           LISTCMD_OPT_NO_TRUNC,
                                           LISTCMD_OPT_QUIET,
                                           HELP_OPT,
                                           {0}};
  struct history_rows_ctx ctx = {.human = true};
  _cleanup_listcmd_ struct listcmd l = LISTCMD_INIT("history");
  int o;
  optind = 0;
  while ((o = cli_getopt(argc, argv, "Hq", longopts, "history", history_usage)) != -1) {
    if (o < -1)
      return CLI_GETOPT_LOOP_EXIT(o);
    if (o == 'H')
      ctx.human = !optarg || strcmp(optarg, "false") != 0;
    else
      listcmd_option(&l, o, optarg); /* no --filter here: nothing it takes can fail */
  }
  if (argc - optind != 1)
    return cli_args_error("history", history_usage, "requires exactly 1 argument");
  _cleanup_free_ char *path = NULL;
  if (asprintf(&path, "/images/%s/history", argv[optind]) < 0)
    return 1;
  json_auto_t *list = NULL;
  int r = listcmd_get(c, path, NULL, &l, &list);
  if (r)
    return r;
  json_auto_t *headers = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "ID", "IMAGE", "CreatedSince",
                                   "CREATED", "CreatedAt", "CREATED AT", "CreatedBy", "CREATED BY",
                                   "Size", "SIZE", "Comment", "COMMENT", "Tags", "TAGS");
  ctx.trunc = l.trunc;
  ctx.now = time(NULL);
  return listcmd_print(&l, list, "{{.ID}}",
                       "{{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}",
                       headers, history_rows, &ctx);
}

static const char rmi_usage[] =
    "Usage:  berth rmi [OPTIONS] IMAGE [IMAGE...]\n\nRemove one or more images\n\nOptions:\n"
    "  -f, --force      Force removal of the image\n"
    "      --no-prune   Do not delete untagged parents\n";

int cmd_rmi(struct client *c, int argc, char **argv)
{
  static const struct option longopts[] = {
      {"force", no_argument, NULL, 'f'}, {"no-prune", no_argument, NULL, 'N'}, HELP_OPT, {0}};
  bool force = false, noprune = false;
  int o;
  optind = 0;
  while ((o = cli_getopt(argc, argv, "f", longopts, "rmi", rmi_usage)) != -1) {
    if (o < -1)
      return CLI_GETOPT_LOOP_EXIT(o);
    if (o == 'f')
      force = true;
    else if (o == 'N')
      noprune = true;
  }
  if (optind >= argc)
    return cli_args_error("rmi", rmi_usage, "requires at least 1 argument");
  int rc = 0;
  for (int i = optind; i < argc; i++) {
    struct query q = {0};
    if (force)
      query_add(&q, "force", "1");
    if (noprune)
      query_add(&q, "noprune", "1");
    _cleanup_free_ char *base = NULL;
    if (asprintf(&base, "/images/%s", argv[i]) < 0)
      return 1;
    _cleanup_free_ char *path = query_build(base, &q);
    json_auto_t *list = NULL;
    struct berr err = {0};
    if (http_json(c, "DELETE", path, NULL, &list, NULL, &err) < 0) {
      cli_print_error(&err);
      if (err.code == EHOSTDOWN)
        return 1;
      rc = 1;
      continue;
    }
    size_t k;
    json_t *e;
    json_array_foreach(list, k, e)
    {
      const char *u = json_string_value(json_object_get(e, "Untagged"));
      const char *d = json_string_value(json_object_get(e, "Deleted"));
      if (u)
        printf("Untagged: %s\n", u);
      if (d)
        printf("Deleted: %s\n", d);
    }
  }
  return rc;
}

static const char tag_usage[] = "Usage:  berth tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]\n\n"
                                "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE\n";

int cmd_tag(struct client *c, int argc, char **argv)
{
  static const struct option longopts[] = {HELP_OPT, {0}};
  int o;
  optind = 0;
  while ((o = cli_getopt(argc, argv, "", longopts, "tag", tag_usage)) != -1)
    if (o < -1)
      return CLI_GETOPT_LOOP_EXIT(o);
  if (argc - optind != 2)
    return cli_args_error("tag", tag_usage, "requires exactly 2 arguments");
  struct berr err = {0};
  struct query q = {0};
  if (ref_tag_query(&q, argv[optind + 1], &err) < 0) {
    fprintf(stderr, "Error parsing reference: \"%s\" is not a valid repository/tag: %s\n",
            argv[optind + 1], err.msg);
    return 1;
  }
  _cleanup_free_ char *base = NULL;
  if (asprintf(&base, "/images/%s/tag", argv[optind]) < 0)
    return 1;
  _cleanup_free_ char *path = query_build(base, &q);
  struct http_resp resp;
  int r = http_do(c, "POST", path, NULL, &resp, &err);
  http_resp_free(&resp);
  return r < 0 ? cli_fail(&err) : 0;
}

static const char load_usage[] =
    "Usage:  berth load [OPTIONS]\n\nLoad an image from a tar archive or STDIN\n\nOptions:\n"
    "  -i, --input string   Read from tar archive file, instead of STDIN\n"
    "  -q, --quiet          Suppress the load output\n";

/* Output of load: a JSON message stream when the daemon says application/json, else raw. */
struct load_sink {
  struct jsonstream js;
  bool json_checked, is_json;
  struct http_resp *resp;
};

static int load_sink_fn(void *ud, const char *data, size_t len)
{
  struct load_sink *ls = ud;
  return jsonstream_sink(&ls->js, data, len);
}

static int send_stream(struct client *c, const char *path, FILE *in, const char *type)
{
  struct berr err = {0};
  struct load_sink ls = {.js = {.out = stdout}};
  struct http_resp resp;
  int r = http_stream(c, "POST", path, in, type, load_sink_fn, &ls, &resp, &err);
  http_resp_free(&resp);
  free(ls.js.buf);
  if (r < 0)
    return cli_fail(&err);
  if (ls.js.failed) {
    fprintf(stderr, "%s\n", ls.js.err.msg);
    return 1;
  }
  return 0;
}

int cmd_load(struct client *c, int argc, char **argv)
{
  static const struct option longopts[] = {
      {"input", required_argument, NULL, 'i'}, {"quiet", no_argument, NULL, 'q'}, HELP_OPT, {0}};
  const char *input = NULL;
  bool quiet = false;
  int o;
  optind = 0;
  while ((o = cli_getopt(argc, argv, "i:q", longopts, "load", load_usage)) != -1) {
    if (o < -1)
      return CLI_GETOPT_LOOP_EXIT(o);
    if (o == 'i')
      input = optarg;
    else if (o == 'q')
      quiet = true;
  }
  if (optind < argc)
    return cli_args_error("load", load_usage, "accepts no arguments");
  _cleanup_fclose_ FILE *in = NULL;
  if (input) {
    in = fopen(input, "re");
    if (!in) {
      fprintf(stderr, "open %s: %s\n", input, strerror(errno));
      return 1;
    }
  } else {
    if (isatty(STDIN_FILENO)) {
      fprintf(stderr, "requested load from stdin, but stdin is empty\n");
      return 1;
    }
  }
  const char *path =
      (quiet || !isatty(STDOUT_FILENO)) ? "/images/load?quiet=1" : "/images/load?quiet=0";
  return send_stream(c, path, in ? in : stdin, "application/x-tar");
}

static const char save_usage[] =
    "Usage:  berth save [OPTIONS] IMAGE [IMAGE...]\n\n"
    "Save one or more images to a tar archive (streamed to STDOUT by default)\n\nOptions:\n"
    "  -o, --output string   Write to a file, instead of STDOUT\n";

int cmd_save(struct client *c, int argc, char **argv)
{
  static const struct option longopts[] = {{"output", required_argument, NULL, 'o'}, HELP_OPT, {0}};
  const char *output = NULL;
  int o;
  optind = 0;
  while ((o = cli_getopt(argc, argv, "o:", longopts, "save", save_usage)) != -1) {
    if (o < -1)
      return CLI_GETOPT_LOOP_EXIT(o);
    if (o == 'o')
      output = optarg;
  }
  if (optind >= argc)
    return cli_args_error("save", save_usage, "requires at least 1 argument");
  if (!output && isatty(STDOUT_FILENO)) {
    fprintf(stderr, "cowardly refusing to save to a terminal. Use the -o flag or redirect\n");
    return 1;
  }
  struct query q = {0};
  for (int i = optind; i < argc; i++)
    query_add(&q, "names", argv[i]);
  _cleanup_free_ char *path = query_build("/images/get", &q);
  /* write to a temp file and rename, so a failed save leaves no partial archive */
  _cleanup_free_ char *tmp = NULL;
  FILE *out = stdout;
  if (output) {
    if (asprintf(&tmp, "%s.berth-tmp-%d", output, (int)getpid()) < 0)
      return 1;
    out = fopen(tmp, "we");
    if (!out) {
      fprintf(stderr, "failed to save image: invalid output path: %s\n", strerror(errno));
      return 1;
    }
  }
  return download_get(c, path, output, out, tmp);
}

static const char import_usage[] =
    "Usage:  berth import [OPTIONS] file|URL|- [REPOSITORY[:TAG]]\n\n"
    "Import the contents from a tarball to create a filesystem image\n\nOptions:\n"
    "  -c, --change list         Apply Dockerfile instruction to the created image\n"
    "  -m, --message string      Set commit message for imported image\n"
    "      --platform string     Set platform if server is multi-platform capable\n";

int cmd_import(struct client *c, int argc, char **argv)
{
  static const struct option longopts[] = {{"change", required_argument, NULL, 'c'},
                                           {"message", required_argument, NULL, 'm'},
                                           {"platform", required_argument, NULL, 'P'},
                                           HELP_OPT,
                                           {0}};
  struct query q = {0};
  int o;
  optind = 0;
  while ((o = cli_getopt(argc, argv, "c:m:", longopts, "import", import_usage)) != -1) {
    if (o < -1)
      return CLI_GETOPT_LOOP_EXIT(o);
    if (o == 'c')
      query_add(&q, "changes", optarg);
    else if (o == 'm')
      query_add(&q, "message", optarg);
    else if (o == 'P')
      query_add(&q, "platform", optarg);
  }
  if (argc - optind < 1 || argc - optind > 2)
    return cli_args_error("import", import_usage, "requires at least 1 and at most 2 arguments");
  const char *src = argv[optind];
  _cleanup_fclose_ FILE *in = NULL;
  if (strcmp(src, "-") != 0) {
    in = fopen(src, "re");
    if (!in) {
      fprintf(stderr, "open %s: %s\n", src, strerror(errno));
      return 1;
    }
  }
  query_add(&q, "fromSrc", "-");
  if (optind + 1 < argc)
    query_add(&q, "repo", argv[optind + 1]);
  _cleanup_free_ char *path = query_build("/images/create", &q);
  return send_stream(c, path, in ? in : stdin, "text/plain");
}

static const char prune_usage[] =
    "Usage:  berth image prune [OPTIONS]\n\nRemove unused images\n\nOptions:\n"
    "  -a, --all             Remove all unused images, not just dangling ones\n"
    "      --filter filter   Provide filter values (e.g. \"until=<timestamp>\")\n"
    "  -f, --force           Do not prompt for confirmation\n";

int cmd_image_prune(struct client *c, int argc, char **argv)
{
  static const struct option longopts[] = {{"all", no_argument, NULL, 'a'},
                                           {"force", no_argument, NULL, 'f'},
                                           {"filter", required_argument, NULL, 'F'},
                                           HELP_OPT,
                                           {0}};
  bool all = false, force = false;
  json_auto_t *filters = json_object();
  int o;
  optind = 0;
  while ((o = cli_getopt(argc, argv, "af", longopts, "image prune", prune_usage)) != -1) {
    if (o < -1)
      return CLI_GETOPT_LOOP_EXIT(o);
    if (o == 'a')
      all = true;
    else if (o == 'f')
      force = true;
    else if (o == 'F') {
      int r = add_filter(filters, optarg, "image prune");
      if (r)
        return r;
    }
  }
  if (!force && !cli_confirm(all ? "WARNING! This will remove all images without at least one "
                                   "container associated to them.\n"
                                 : "WARNING! This will remove all dangling images.\n"))
    return 0;
  json_object_set_new(filters, "dangling", json_pack("{s:b}", all ? "false" : "true", 1));
  _cleanup_free_ char *fj = filters_json(filters);
  struct query q = {0};
  query_add(&q, "filters", fj);
  _cleanup_free_ char *path = query_build("/images/prune", &q);
  json_auto_t *rep = NULL;
  struct berr err = {0};
  if (http_json(c, "POST", path, NULL, &rep, NULL, &err) < 0)
    return cli_fail(&err);
  json_t *deleted = json_object_get(rep, "ImagesDeleted");
  if (json_array_size(deleted)) {
    printf("Deleted Images:\n");
    size_t i;
    json_t *e;
    json_array_foreach(deleted, i, e)
    {
      const char *u = json_string_value(json_object_get(e, "Untagged"));
      const char *d = json_string_value(json_object_get(e, "Deleted"));
      if (u)
        printf("untagged: %s\n", u);
      if (d)
        printf("deleted: %s\n", d);
    }
    printf("\n");
  }
  char sz[32];
  units_human_size_prec((double)json_integer_value(json_object_get(rep, "SpaceReclaimed")), 4, sz,
                        sizeof(sz));
  printf("Total reclaimed space: %s\n", sz);
  return 0;
}

static const char pull_usage[] =
    "Usage:  berth pull [OPTIONS] NAME[:TAG|@DIGEST]\n\n"
    "Download an image from a registry\n\nOptions:\n"
    "  -a, --all-tags          Download all tagged images in the repository\n"
    "      --platform string   Set platform if server is multi-platform capable\n"
    "  -q, --quiet             Suppress verbose output\n";

int cmd_pull(struct client *c, int argc, char **argv)
{
  static const struct option longopts[] = {{"quiet", no_argument, NULL, 'q'},
                                           {"platform", required_argument, NULL, 'P'},
                                           {"all-tags", no_argument, NULL, 'a'},
                                           HELP_OPT,
                                           {0}};
  bool quiet = false, all_tags = false;
  const char *platform = NULL;
  int o;
  optind = 0;
  while ((o = cli_getopt(argc, argv, "qa", longopts, "pull", pull_usage)) != -1) {
    if (o < -1)
      return CLI_GETOPT_LOOP_EXIT(o);
    if (o == 'q')
      quiet = true;
    else if (o == 'a')
      all_tags = true;
    else if (o == 'P')
      platform = optarg;
  }
  if (argc - optind != 1)
    return cli_args_error("pull", pull_usage, "requires exactly 1 argument");
  const char *name = argv[optind];
  struct berr err = {0};
  _cleanup_free_ char *repo = NULL, *tag = NULL, *digest = NULL;
  if (ref_normalize(name, &repo, &tag, &digest, &err) < 0)
    return cli_fail(&err);
  bool name_only = !digest && !strchr(strrchr(name, '/') ? strrchr(name, '/') : name, ':');
  if (all_tags && !name_only)
    return cli_usage_error("pull", "tag can't be used with --all-tags/-a");
  if (name_only && !all_tags && !quiet)
    printf("Using default tag: latest\n");
  FILE *devnull = quiet ? fopen("/dev/null", "we") : NULL;
  int r = image_pull(c, name, platform, all_tags, quiet ? devnull : stdout, &err);
  if (devnull)
    fclose(devnull);
  if (r < 0)
    return cli_fail(&err);
  if (all_tags)
    printf("%s\n", repo);
  else
    printf("%s%s%s\n", repo, tag ? ":" : "@", tag ? tag : digest);
  return 0;
}
