/* `berth network create|ls|inspect|rm|prune|connect|disconnect` and `berth port`, as the
 * docker CLI does them over /networks and /containers/{id}/json. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "common/cleanup.h"
#include "inspect.h"
#include "listcmd.h"

static const char create_usage[] =
    "Usage:  berth network create [OPTIONS] NETWORK\n\nCreate a network\n\nOptions:\n"
    "  -d, --driver string        Driver to manage the Network (default \"bridge\")\n"
    "      --gateway strings      IPv4 or IPv6 Gateway for the master subnet\n"
    "      --internal             Restrict external access to the network\n"
    "      --ipv6                 Enable IPv6 networking\n"
    "      --ip-range strings     Allocate container ip from a sub-range\n"
    "      --label list           Set metadata on a network\n"
    "  -o, --opt map              Set driver specific options (default map[])\n"
    "      --subnet strings       Subnet in CIDR format that represents a network segment\n";

static int kv_set(json_t *obj, const char *kv)
{
  const char *eq = strchr(kv, '=');
  _cleanup_free_ char *k = strndup(kv, eq ? (size_t)(eq - kv) : strlen(kv));
  return json_object_set_new(obj, k, json_string(eq ? eq + 1 : ""));
}

static int cmd_network_create(struct client *c, int argc, char **argv)
{
  static const struct option longopts[] = {{"driver", required_argument, NULL, 'd'},
                                           {"gateway", required_argument, NULL, 'g'},
                                           {"internal", no_argument, NULL, 'i'},
                                           {"ipv6", no_argument, NULL, '6'},
                                           {"ip-range", required_argument, NULL, 'r'},
                                           {"label", required_argument, NULL, 'l'},
                                           {"opt", required_argument, NULL, 'o'},
                                           {"subnet", required_argument, NULL, 's'},
                                           {"attachable", no_argument, NULL, 'a'},
                                           HELP_OPT,
                                           {0}};
  /* one IPv4 and one IPv6 --subnet at most; --gateway and --ip-range go with the subnet
   * of their family */
  const char *driver = "bridge", *gateway[2] = {0}, *range[2] = {0}, *subnet[2] = {0};
  bool internal = false, attachable = false, ipv6 = false;
  json_auto_t *labels = json_object(), *opts = json_object();
  int o;
  optind = 0;
  while ((o = cli_getopt(argc, argv, "d:o:", longopts, "network create", create_usage)) != -1) {
    if (o < -1)
      return CLI_GETOPT_LOOP_EXIT(o);
    switch (o) {
    case 'd':
      driver = optarg;
      break;
    case 'g':
      gateway[strchr(optarg, ':') != NULL] = optarg;
      break;
    case '6':
      ipv6 = true;
      break;
    case 'i':
      internal = true;
      break;
    case 'r':
      range[strchr(optarg, ':') != NULL] = optarg;
      break;
    case 'l':
      kv_set(labels, optarg);
      break;
    case 'o':
      kv_set(opts, optarg);
      break;
    case 's': {
      bool six = strchr(optarg, ':') != NULL;
      if (subnet[six]) {
        struct berr err = {0};
        berr_set(&err, 0, "more than one IPv%d subnet: berth's networks have one of each family",
                 six ? 6 : 4);
        return cli_fail(&err);
      }
      subnet[six] = optarg;
      break;
    }
    case 'a':
      attachable = true;
      break;
    }
  }
  if (argc - optind != 1)
    return cli_args_error("network create", create_usage, "requires exactly 1 argument");
  json_t *cfg = json_array();
  for (int fam = 0; fam < 2; fam++) {
    if (!subnet[fam] && !gateway[fam] && !range[fam])
      continue;
    json_t *e = json_object();
    if (subnet[fam])
      json_object_set_new(e, "Subnet", json_string(subnet[fam]));
    if (gateway[fam])
      json_object_set_new(e, "Gateway", json_string(gateway[fam]));
    if (range[fam])
      json_object_set_new(e, "IPRange", json_string(range[fam]));
    json_array_append_new(cfg, e);
  }
  json_auto_t *body =
      json_pack("{s:s,s:s,s:{s:s,s:o,s:{}},s:b,s:b,s:b,s:O,s:O}", "Name", argv[optind], "Driver",
                driver, "IPAM", "Driver", "default", "Config", cfg, "Options", "Internal", internal,
                "Attachable", attachable, "EnableIPv6", ipv6, "Options", opts, "Labels", labels);
  json_auto_t *rep = NULL;
  struct berr err = {0};
  if (http_json(c, "POST", "/networks/create", body, &rep, NULL, &err) < 0)
    return cli_fail(&err);
  printf("%s\n", json_string_value(json_object_get(rep, "Id")) ?: "");
  return 0;
}

static const char ls_usage[] =
    "Usage:  berth network ls [OPTIONS]\n\nList networks\n\nAliases:\n  ls, list\n\nOptions:\n"
    "  -f, --filter filter   Provide filter values (e.g. \"driver=bridge\")\n"
    "      --format string   Format output using a custom template\n"
    "      --no-trunc        Do not truncate the output\n"
    "  -q, --quiet           Only display network IDs\n";

/* One row of docker's network table. */
static int network_rows(struct formatter *f, json_t *n, void *ud, struct berr *err)
{
  const struct listcmd *l = ud;
  char id[65];
  snprintf(id, sizeof(id), l->trunc ? "%.12s" : "%s",
           json_string_value(json_object_get(n, "Id")) ?: "");
  json_auto_t *row =
      json_pack("{s:s,s:O,s:O,s:O,s:s,s:s,s:s,s:O}", "ID", id, "Name", json_object_get(n, "Name"),
                "Driver", json_object_get(n, "Driver"), "Scope", json_object_get(n, "Scope"),
                "IPv6", json_is_true(json_object_get(n, "EnableIPv6")) ? "true" : "false",
                "Internal", json_is_true(json_object_get(n, "Internal")) ? "true" : "false",
                "Labels", "", "CreatedAt", json_object_get(n, "Created"));
  return formatter_row(f, row, json_object_get(n, "Labels"), err);
}

static int cmd_network_ls(struct client *c, int argc, char **argv)
{
  static const struct option longopts[] = {
      LISTCMD_OPT_FILTER, LISTCMD_OPT_FORMAT, LISTCMD_OPT_NO_TRUNC,
      LISTCMD_OPT_QUIET,  HELP_OPT,           {0}};
  _cleanup_listcmd_ struct listcmd l = LISTCMD_INIT("network ls");
  int o;
  optind = 0;
  while ((o = cli_getopt(argc, argv, "f:q", longopts, "network ls", ls_usage)) != -1) {
    if (o < -1)
      return CLI_GETOPT_LOOP_EXIT(o);
    int r = listcmd_option(&l, o, optarg);
    if (r > 0)
      return r;
  }
  json_auto_t *list = NULL;
  int r = listcmd_get(c, "/networks", NULL, &l, &list);
  if (r)
    return r;
  json_auto_t *headers =
      json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "ID", "NETWORK ID", "Name", "NAME", "Driver",
                "DRIVER", "Scope", "SCOPE", "IPv6", "IPV6", "Internal", "INTERNAL", "Labels",
                "LABELS", "CreatedAt", "CREATED");
  return listcmd_print(&l, list, "{{.ID}}", "{{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}", headers,
                       network_rows, &l);
}

static const char inspect_usage[] =
    "Usage:  berth network inspect [OPTIONS] NETWORK [NETWORK...]\n\n"
    "Display detailed information on one or more networks\n\nOptions:\n"
    "  -f, --format string   Format output using a custom template\n";

static int cmd_network_inspect(struct client *c, int argc, char **argv)
{
  static const struct inspect_kind kind = {"network inspect", inspect_usage, "/networks/", "", true,
                                           "network"};
  return inspect_command(c, argc, argv, &kind);
}

static const char rm_usage[] = "Usage:  berth network rm NETWORK [NETWORK...]\n\n"
                               "Remove one or more networks\n\nAliases:\n  rm, remove\n\nOptions:\n"
                               "  -f, --force   Do not error if the network does not exist\n";

static int cmd_network_rm(struct client *c, int argc, char **argv)
{
  static const struct option longopts[] = {{"force", no_argument, NULL, 'f'}, HELP_OPT, {0}};
  bool force = false;
  int o;
  optind = 0;
  while ((o = cli_getopt(argc, argv, "f", longopts, "network rm", rm_usage)) != -1) {
    if (o < -1)
      return CLI_GETOPT_LOOP_EXIT(o);
    if (o == 'f')
      force = true;
  }
  if (optind >= argc)
    return cli_args_error("network rm", rm_usage, "requires at least 1 argument");
  int rc = 0;
  for (int i = optind; i < argc; i++) {
    _cleanup_free_ char *esc = url_escape(argv[i]);
    _cleanup_free_ char *path = NULL;
    if (asprintf(&path, "/networks/%s", esc) < 0)
      return 1;
    struct berr err = {0};
    long status = 0;
    if (http_json(c, "DELETE", path, NULL, NULL, &status, &err) < 0) {
      if (err.code == EHOSTDOWN)
        return cli_fail(&err);
      if (force && status == 404)
        continue;
      cli_print_error(&err);
      rc = 1;
      continue;
    }
    printf("%s\n", argv[i]);
  }
  return rc;
}

static const char prune_usage[] =
    "Usage:  berth network prune [OPTIONS]\n\nRemove all unused networks\n\nOptions:\n"
    "      --filter filter   Provide filter values (e.g. \"until=<timestamp>\")\n"
    "  -f, --force           Do not prompt for confirmation\n";

static int cmd_network_prune(struct client *c, int argc, char **argv)
{
  static const struct option longopts[] = {
      {"force", no_argument, NULL, 'f'}, {"filter", required_argument, NULL, 'F'}, HELP_OPT, {0}};
  bool force = false;
  json_auto_t *filters = json_object();
  int o;
  optind = 0;
  while ((o = cli_getopt(argc, argv, "f", longopts, "network prune", prune_usage)) != -1) {
    if (o < -1)
      return CLI_GETOPT_LOOP_EXIT(o);
    if (o == 'f')
      force = true;
    else if (o == 'F') {
      int r = add_filter(filters, optarg, "network prune");
      if (r)
        return r;
    }
  }
  if (!force &&
      !cli_confirm("WARNING! This will remove all custom networks not used by at least one "
                   "container.\n"))
    return 0;
  struct query q = {0};
  if (json_object_size(filters)) {
    _cleanup_free_ char *fj = filters_json(filters);
    query_add(&q, "filters", fj);
  }
  _cleanup_free_ char *path = query_build("/networks/prune", &q);
  json_auto_t *rep = NULL;
  struct berr err = {0};
  if (http_json(c, "POST", path, NULL, &rep, NULL, &err) < 0)
    return cli_fail(&err);
  json_t *deleted = json_object_get(rep, "NetworksDeleted");
  if (json_array_size(deleted)) {
    printf("Deleted Networks:\n");
    size_t i;
    json_t *n;
    json_array_foreach(deleted, i, n)
    {
      printf("%s\n", json_string_value(n) ?: "");
    }
  }
  return 0;
}

static const char connect_usage[] =
    "Usage:  berth network connect [OPTIONS] NETWORK CONTAINER\n\n"
    "Connect a container to a network\n\nOptions:\n"
    "      --alias strings   Add network-scoped alias for the container\n"
    "      --ip string       IPv4 address (e.g., \"172.30.100.104\")\n";

static int cmd_network_connect(struct client *c, int argc, char **argv)
{
  static const struct option longopts[] = {
      {"alias", required_argument, NULL, 'a'}, {"ip", required_argument, NULL, 'i'}, HELP_OPT, {0}};
  json_auto_t *aliases = json_array();
  const char *ip = NULL;
  int o;
  optind = 0;
  while ((o = cli_getopt(argc, argv, "", longopts, "network connect", connect_usage)) != -1) {
    if (o < -1)
      return CLI_GETOPT_LOOP_EXIT(o);
    if (o == 'a')
      json_array_append_new(aliases, json_string(optarg));
    else if (o == 'i')
      ip = optarg;
  }
  if (argc - optind != 2)
    return cli_args_error("network connect", connect_usage, "requires exactly 2 arguments");
  json_t *ep = json_object();
  if (ip)
    json_object_set_new(ep, "IPAMConfig", json_pack("{s:s}", "IPv4Address", ip));
  if (json_array_size(aliases))
    json_object_set(ep, "Aliases", aliases);
  json_auto_t *body = json_pack("{s:s,s:o}", "Container", argv[optind + 1], "EndpointConfig", ep);
  _cleanup_free_ char *esc = url_escape(argv[optind]);
  _cleanup_free_ char *path = NULL;
  if (asprintf(&path, "/networks/%s/connect", esc) < 0)
    return 1;
  struct berr err = {0};
  if (http_json(c, "POST", path, body, NULL, NULL, &err) < 0)
    return cli_fail(&err);
  return 0;
}

static const char disconnect_usage[] =
    "Usage:  berth network disconnect [OPTIONS] NETWORK CONTAINER\n\n"
    "Disconnect a container from a network\n\nOptions:\n"
    "  -f, --force   Force the container to disconnect from a network\n";

static int cmd_network_disconnect(struct client *c, int argc, char **argv)
{
  static const struct option longopts[] = {{"force", no_argument, NULL, 'f'}, HELP_OPT, {0}};
  bool force = false;
  int o;
  optind = 0;
  while ((o = cli_getopt(argc, argv, "f", longopts, "network disconnect", disconnect_usage)) !=
         -1) {
    if (o < -1)
      return CLI_GETOPT_LOOP_EXIT(o);
    if (o == 'f')
      force = true;
  }
  if (argc - optind != 2)
    return cli_args_error("network disconnect", disconnect_usage, "requires exactly 2 arguments");
  json_auto_t *body = json_pack("{s:s,s:b}", "Container", argv[optind + 1], "Force", force);
  _cleanup_free_ char *esc = url_escape(argv[optind]);
  _cleanup_free_ char *path = NULL;
  if (asprintf(&path, "/networks/%s/disconnect", esc) < 0)
    return 1;
  struct berr err = {0};
  if (http_json(c, "POST", path, body, NULL, NULL, &err) < 0)
    return cli_fail(&err);
  return 0;
}

static const struct {
  const char *name;
  int (*fn)(struct client *c, int argc, char **argv);
  const char *summary;
} subs[] = {
    {"connect", cmd_network_connect, "Connect a container to a network"},
    {"create", cmd_network_create, "Create a network"},
    {"disconnect", cmd_network_disconnect, "Disconnect a container from a network"},
    {"inspect", cmd_network_inspect, "Display detailed information on one or more networks"},
    {"ls", cmd_network_ls, "List networks"},
    {"list", cmd_network_ls, NULL},
    {"prune", cmd_network_prune, "Remove all unused networks"},
    {"rm", cmd_network_rm, "Remove one or more networks"},
    {"remove", cmd_network_rm, NULL},
};

int cmd_network(struct client *c, int argc, char **argv)
{
  if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
    printf("Usage:  berth network COMMAND\n\nManage networks\n\nCommands:\n");
    for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
      if (subs[i].summary)
        printf("  %-11s %s\n", subs[i].name, subs[i].summary);
    printf("\nRun 'berth network COMMAND --help' for more information on a command.\n");
    return 0;
  }
  for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
    if (strcmp(subs[i].name, argv[1]) == 0)
      return subs[i].fn(c, argc - 1, argv + 1);
  fprintf(stderr,
          "berth: unknown command: berth network %s\n\nRun 'berth network --help' for more "
          "information\n",
          argv[1]);
  return 1;
}

static const char port_usage[] = "Usage:  berth port CONTAINER [PRIVATE_PORT[/PROTO]]\n\n"
                                 "List port mappings or a specific mapping for the container\n";

int cmd_port(struct client *c, int argc, char **argv)
{
  static const struct option longopts[] = {HELP_OPT, {0}};
  int o;
  optind = 0;
  while ((o = cli_getopt(argc, argv, "", longopts, "port", port_usage)) != -1)
    if (o < -1)
      return CLI_GETOPT_LOOP_EXIT(o);
  if (argc - optind < 1 || argc - optind > 2)
    return cli_args_error("port", port_usage, "requires at least 1 and at most 2 arguments");
  _cleanup_free_ char *esc = url_escape(argv[optind]);
  _cleanup_free_ char *path = NULL;
  if (asprintf(&path, "/containers/%s/json", esc) < 0)
    return 1;
  json_auto_t *info = NULL;
  struct berr err = {0};
  if (http_json(c, "GET", path, NULL, &info, NULL, &err) < 0)
    return cli_fail(&err);
  json_t *ports = json_object_get(json_object_get(info, "NetworkSettings"), "Ports");
  char want[32] = "";
  if (argc - optind == 2)
    snprintf(want, sizeof(want), strchr(argv[optind + 1], '/') ? "%s" : "%s/tcp", argv[optind + 1]);
  bool found = false;
  const char *k;
  json_t *list;
  json_object_foreach(ports, k, list)
  {
    if (want[0] && strcmp(k, want) != 0)
      continue;
    size_t i;
    json_t *b;
    json_array_foreach(list, i, b)
    {
      const char *ip = json_string_value(json_object_get(b, "HostIp")) ?: "";
      const char *hp = json_string_value(json_object_get(b, "HostPort")) ?: "";
      if (want[0])
        printf("%s:%s\n", ip, hp);
      else
        printf("%s -> %s:%s\n", k, ip, hp);
      found = true;
    }
  }
  if (want[0] && !found) {
    fprintf(stderr, "Error: No public port '%s' published for %s\n", want, argv[optind]);
    return 1;
  }
  return 0;
}
