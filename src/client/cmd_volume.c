/* berth volume create|ls|inspect|rm|prune: docker's volume commands over /volumes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "common/cleanup.h"
#include "inspect.h"
#include "listcmd.h"
#include "units.h"

/* "k=v" into obj (a bare "k" is k=""). */
static void add_kv(json_t *obj, const char *kv)
{
  const char *eq = strchr(kv, '=');
  _cleanup_free_ char *k = eq ? strndup(kv, (size_t)(eq - kv)) : strdup(kv);
  json_object_set_new(obj, k, json_string(eq ? eq + 1 : ""));
}

static const char create_usage[] =
    "Usage:  berth volume create [OPTIONS] [VOLUME]\n\nCreate a volume\n\nOptions:\n"
    "  -d, --driver string   Specify volume driver name (default \"local\")\n"
    "      --label list      Set metadata for a volume\n"
    "  -o, --opt map         Set driver specific options (default map[])\n";

static int cmd_volume_create(struct client *c, int argc, char **argv)
{
  static const struct option longopts[] = {{"driver", required_argument, NULL, 'd'},
                                           {"label", required_argument, NULL, 'l'},
                                           {"opt", required_argument, NULL, 'o'},
                                           {"name", required_argument, NULL, 'n'},
                                           HELP_OPT,
                                           {0}};
  const char *driver = "local", *name = NULL;
  json_auto_t *labels = json_object();
  json_auto_t *opts = json_object();
  int o;
  optind = 0;
  while ((o = cli_getopt(argc, argv, "d:o:", longopts, "volume create", create_usage)) != -1) {
    if (o < -1)
      return CLI_GETOPT_LOOP_EXIT(o);
    if (o == 'd')
      driver = optarg;
    else if (o == 'l')
      add_kv(labels, optarg);
    else if (o == 'o')
      add_kv(opts, optarg);
    else if (o == 'n')
      name = optarg;
  }
  if (argc - optind > 1)
    return cli_args_error("volume create", create_usage, "accepts at most 1 argument(s)");
  if (optind < argc) {
    if (name && strcmp(name, argv[optind]) != 0) {
      fprintf(stderr, "conflicting options: cannot specify a volume-name through both --name "
                      "and as a positional arg\n");
      return 1;
    }
    name = argv[optind];
  }
  json_auto_t *body = json_pack("{s:s,s:s,s:O,s:O}", "Name", name ? name : "", "Driver", driver,
                                "DriverOpts", opts, "Labels", labels);
  json_auto_t *rep = NULL;
  struct berr err = {0};
  if (http_json(c, "POST", "/volumes/create", body, &rep, NULL, &err) < 0)
    return cli_fail(&err);
  printf("%s\n", json_string_value(json_object_get(rep, "Name")) ?: "");
  return 0;
}

static const char ls_usage[] =
    "Usage:  berth volume ls [OPTIONS]\n\nList volumes\n\nAliases:\n  berth volume ls, berth "
    "volume list\n\nOptions:\n"
    "  -f, --filter filter   Provide filter values (e.g. \"dangling=true\")\n"
    "      --format string   Format output using a custom template:\n"
    "                        'table':            Print output in table format with column "
    "headers (default)\n"
    "                        'table TEMPLATE':   Print output in table format using the given Go "
    "template\n"
    "                        'json':             Print in JSON format\n"
    "                        'TEMPLATE':         Print output using the given Go template.\n"
    "  -q, --quiet           Only display volume names\n";

/* One row of docker's volume table. */
static int volume_rows(struct formatter *f, json_t *v, void *ud, struct berr *err)
{
  (void)ud;
  json_auto_t *row = json_object();
  json_object_set(row, "Driver", json_object_get(v, "Driver"));
  json_object_set(row, "Name", json_object_get(v, "Name"));
  json_object_set(row, "Scope", json_object_get(v, "Scope"));
  json_object_set(row, "Mountpoint", json_object_get(v, "Mountpoint"));
  /* Labels as docker's table shows them: k=v,k2=v2 */
  _cleanup_free_ char *lab = strdup("");
  const char *k;
  json_t *lv;
  json_object_foreach(json_object_get(v, "Labels"), k, lv)
  {
    char *n = NULL;
    if (asprintf(&n, "%s%s%s=%s", lab, *lab ? "," : "", k, json_string_value(lv) ?: "") < 0)
      break;
    free(lab);
    lab = n;
  }
  json_object_set_new(row, "Labels", json_string(lab));
  json_object_set_new(row, "Links", json_string("N/A"));
  json_object_set_new(row, "Size", json_string("N/A"));
  return formatter_row(f, row, json_object_get(v, "Labels"), err);
}

static int cmd_volume_ls(struct client *c, int argc, char **argv)
{
  static const struct option longopts[] = {
      LISTCMD_OPT_FILTER, LISTCMD_OPT_FORMAT, LISTCMD_OPT_QUIET, HELP_OPT, {0}};
  _cleanup_listcmd_ struct listcmd l = LISTCMD_INIT("volume ls");
  int o;
  optind = 0;
  while ((o = cli_getopt(argc, argv, "f:q", longopts, "volume ls", ls_usage)) != -1) {
    if (o < -1)
      return CLI_GETOPT_LOOP_EXIT(o);
    int r = listcmd_option(&l, o, optarg);
    if (r > 0)
      return r;
  }
  if (optind < argc)
    return cli_args_error("volume ls", ls_usage, "accepts no arguments");
  json_auto_t *rep = NULL;
  int r = listcmd_get(c, "/volumes", NULL, &l, &rep);
  if (r)
    return r;
  json_auto_t *headers =
      json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "Driver", "DRIVER", "Name", "VOLUME NAME", "Scope",
                "SCOPE", "Mountpoint", "MOUNTPOINT", "Labels", "LABELS", "Links", "LINKS");
  return listcmd_print(&l, json_object_get(rep, "Volumes"), "{{.Name}}", "{{.Driver}}\t{{.Name}}",
                       headers, volume_rows, NULL);
}

static const char inspect_usage[] =
    "Usage:  berth volume inspect [OPTIONS] VOLUME [VOLUME...]\n\n"
    "Display detailed information on one or more volumes\n\nOptions:\n"
    "  -f, --format string   Format output using a custom template\n";

static int cmd_volume_inspect(struct client *c, int argc, char **argv)
{
  static const struct inspect_kind kind = {"volume inspect", inspect_usage, "/volumes/", "", true,
                                           "volume"};
  return inspect_command(c, argc, argv, &kind);
}

static const char rm_usage[] =
    "Usage:  berth volume rm [OPTIONS] VOLUME [VOLUME...]\n\nRemove one or more volumes. You "
    "cannot remove a volume that is in use by a container.\n\nAliases:\n  berth volume rm, berth "
    "volume remove\n\nOptions:\n"
    "  -f, --force   Force the removal of one or more volumes\n";

static int cmd_volume_rm(struct client *c, int argc, char **argv)
{
  static const struct option longopts[] = {{"force", no_argument, NULL, 'f'}, HELP_OPT, {0}};
  bool force = false;
  int o;
  optind = 0;
  while ((o = cli_getopt(argc, argv, "f", longopts, "volume rm", rm_usage)) != -1) {
    if (o < -1)
      return CLI_GETOPT_LOOP_EXIT(o);
    if (o == 'f')
      force = true;
  }
  if (optind >= argc)
    return cli_args_error("volume rm", rm_usage, "requires at least 1 argument");
  int rc = 0;
  for (int i = optind; i < argc; i++) {
    _cleanup_free_ char *esc = url_escape(argv[i]);
    struct query q = {0};
    _cleanup_free_ char *base = NULL;
    if (!esc || asprintf(&base, "/volumes/%s", esc) < 0)
      return 1;
    if (force)
      query_add(&q, "force", "1");
    _cleanup_free_ char *path = query_build(base, &q);
    struct berr err = {0};
    if (http_json(c, "DELETE", path, NULL, NULL, NULL, &err) < 0) {
      if (err.code == EHOSTDOWN)
        return cli_fail(&err);
      cli_print_error(&err);
      rc = 1;
      continue;
    }
    printf("%s\n", argv[i]);
  }
  return rc;
}

static const char prune_usage[] =
    "Usage:  berth volume prune [OPTIONS]\n\nRemove unused local volumes\n\nOptions:\n"
    "  -a, --all             Remove all unused volumes, not just anonymous ones\n"
    "      --filter filter   Provide filter values (e.g. \"label=<label>\")\n"
    "  -f, --force           Do not prompt for confirmation\n";

static int cmd_volume_prune(struct client *c, int argc, char **argv)
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
  while ((o = cli_getopt(argc, argv, "af", longopts, "volume prune", prune_usage)) != -1) {
    if (o < -1)
      return CLI_GETOPT_LOOP_EXIT(o);
    if (o == 'a')
      all = true;
    else if (o == 'f')
      force = true;
    else if (o == 'F') {
      int r = add_filter(filters, optarg, "volume prune");
      if (r)
        return r;
    }
  }
  if (!force && !cli_confirm(all ? "WARNING! This will remove all local volumes not used by at "
                                   "least one container.\n"
                                 : "WARNING! This will remove anonymous local volumes not used "
                                   "by at least one container.\n"))
    return 0;
  if (all)
    json_object_set_new(filters, "all", json_pack("{s:b}", "true", 1));
  _cleanup_free_ char *fj = filters_json(filters);
  struct query q = {0};
  query_add(&q, "filters", fj);
  _cleanup_free_ char *path = query_build("/volumes/prune", &q);
  json_auto_t *rep = NULL;
  struct berr err = {0};
  if (http_json(c, "POST", path, NULL, &rep, NULL, &err) < 0)
    return cli_fail(&err);
  json_t *deleted = json_object_get(rep, "VolumesDeleted");
  if (json_array_size(deleted)) {
    printf("Deleted Volumes:\n");
    size_t i;
    json_t *v;
    json_array_foreach(deleted, i, v)
    {
      printf("%s\n", json_string_value(v) ?: "");
    }
    printf("\n");
  }
  char sz[32];
  units_human_size_prec((double)json_integer_value(json_object_get(rep, "SpaceReclaimed")), 4, sz,
                        sizeof(sz));
  printf("Total reclaimed space: %s\n", sz);
  return 0;
}

int cmd_volume(struct client *c, int argc, char **argv)
{
  static const struct {
    const char *name;
    int (*fn)(struct client *, int, char **);
  } subs[] = {{"create", cmd_volume_create},   {"ls", cmd_volume_ls}, {"list", cmd_volume_ls},
              {"inspect", cmd_volume_inspect}, {"rm", cmd_volume_rm}, {"remove", cmd_volume_rm},
              {"prune", cmd_volume_prune}};
  if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
    printf("Usage:  berth volume COMMAND\n\nManage volumes\n\nCommands:\n"
           "  create      Create a volume\n"
           "  inspect     Display detailed information on one or more volumes\n"
           "  ls          List volumes\n"
           "  prune       Remove unused local volumes\n"
           "  rm          Remove one or more volumes\n\n"
           "Run 'berth volume COMMAND --help' for more information on a command.\n");
    return 0;
  }
  for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
    if (strcmp(subs[i].name, argv[1]) == 0)
      return subs[i].fn(c, argc - 1, argv + 1);
  fprintf(stderr,
          "berth: unknown command: berth volume %s\n\nRun 'berth volume --help' for more "
          "information\n",
          argv[1]);
  return 1;
}
