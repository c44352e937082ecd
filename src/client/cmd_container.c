/* Container commands that are one request per container, plus ps, logs, top and inspect.
 * Output and exit codes follow docker CLI 28. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "common/cleanup.h"
#include "common/textbuf.h"
#include "format.h"
#include "inspect.h"
#include "list_parse.h"
#include "hijack.h"
#include "units.h"

/* POST/DELETE <prefix>/<name><suffix>?query for each name, printing the name on success. */
static int for_each_container(struct client *c, const char *method, const char *suffix,
                              struct query *tmpl_q, int argc, char **argv, bool print,
                              bool ignore_404)
{
  int rc = 0;
  for (int i = 0; i < argc; i++) {
    struct query q = {0};
    for (size_t k = 0; tmpl_q && k < tmpl_q->n; k++)
      query_add(&q, tmpl_q->p[k].k, tmpl_q->p[k].v);
    _cleanup_free_ char *esc = url_escape(argv[i]);
    _cleanup_free_ char *base = NULL;
    if (asprintf(&base, "/containers/%s%s", esc, suffix) < 0)
      return 1;
    _cleanup_free_ char *path = query_build(base, &q);
    struct http_resp resp;
    struct berr err = {0};
    int r = http_do(c, method, path, NULL, &resp, &err);
    http_resp_free(&resp);
    if (r < 0) {
      cli_print_error(&err);
      if (err.code == EHOSTDOWN)
        return 1;
      if (!(ignore_404 && resp.status == 404))
        rc = 1;
      continue;
    }
    if (print)
      printf("%s\n", argv[i]);
  }
  if (tmpl_q) {
    for (size_t k = 0; k < tmpl_q->n; k++) {
      free(tmpl_q->p[k].k);
      free(tmpl_q->p[k].v);
    }
    free(tmpl_q->p);
  }
  return rc;
}

static const char stop_usage[] =
    "Usage:  berth stop [OPTIONS] CONTAINER [CONTAINER...]\n\n"
    "Stop one or more running containers\n\nOptions:\n"
    "  -s, --signal string   Signal to send to the container\n"
    "  -t, --timeout int     Seconds to wait before killing the container\n";
static const char restart_usage[] =
    "Usage:  berth restart [OPTIONS] CONTAINER [CONTAINER...]\n\n"
    "Restart one or more containers\n\nOptions:\n"
    "  -s, --signal string   Signal to send to the container\n"
    "  -t, --timeout int     Seconds to wait before killing the container\n";

static int stop_like(struct client *c, int argc, char **argv, const char *cmd, const char *usage)
{
  static const struct option longopts[] = {{"signal", required_argument, NULL, 's'},
                                           {"timeout", required_argument, NULL, 't'},
                                           {"time", required_argument, NULL, 't'},
                                           HELP_OPT,
                                           {0}};
  struct query q = {0};
  int o;
  optind = 0;
  while ((o = cli_getopt(argc, argv, "s:t:", longopts, cmd, usage)) != -1) {
    if (o < -1)
      return CLI_GETOPT_LOOP_EXIT(o);
    if (o == 's')
      query_add(&q, "signal", optarg);
    else if (o == 't') {
      char *end;
      strtol(optarg, &end, 10);
      if (*end || !*optarg)
        return cli_usage_error(cmd,
                               "invalid argument \"%s\" for \"-t, --timeout\" flag: "
                               "strconv.ParseInt: parsing \"%s\": invalid syntax",
                               optarg, optarg);
      query_add(&q, "t", optarg);
    }
  }
  if (optind >= argc)
    return cli_args_error(cmd, usage, "requires at least 1 argument");
  return for_each_container(c, "POST", strcmp(cmd, "stop") == 0 ? "/stop" : "/restart", &q,
                            argc - optind, argv + optind, true, false);
}

int cmd_stop(struct client *c, int argc, char **argv)
{
  return stop_like(c, argc, argv, "stop", stop_usage);
}

int cmd_restart(struct client *c, int argc, char **argv)
{
  return stop_like(c, argc, argv, "restart", restart_usage);
}

static const char kill_usage[] = "Usage:  berth kill [OPTIONS] CONTAINER [CONTAINER...]\n\n"
                                 "Kill one or more running containers\n\nOptions:\n"
                                 "  -s, --signal string   Signal to send to the container\n";

int cmd_kill(struct client *c, int argc, char **argv)
{
  static const struct option longopts[] = {{"signal", required_argument, NULL, 's'}, HELP_OPT, {0}};
  struct query q = {0};
  int o;
  optind = 0;
  while ((o = cli_getopt(argc, argv, "s:", longopts, "kill", kill_usage)) != -1) {
    if (o < -1)
      return CLI_GETOPT_LOOP_EXIT(o);
    if (o == 's')
      query_add(&q, "signal", optarg);
  }
  if (optind >= argc)
    return cli_args_error("kill", kill_usage, "requires at least 1 argument");
  return for_each_container(c, "POST", "/kill", &q, argc - optind, argv + optind, true, false);
}

static const char rm_usage[] =
    "Usage:  berth rm [OPTIONS] CONTAINER [CONTAINER...]\n\n"
    "Remove one or more containers\n\nOptions:\n"
    "  -f, --force     Force the removal of a running container (uses SIGKILL)\n"
    "  -l, --link      Remove the specified link\n"
    "  -v, --volumes   Remove anonymous volumes associated with the container\n";

int cmd_rm(struct client *c, int argc, char **argv)
{
  static const struct option longopts[] = {{"force", no_argument, NULL, 'f'},
                                           {"link", no_argument, NULL, 'l'},
                                           {"volumes", no_argument, NULL, 'v'},
                                           HELP_OPT,
                                           {0}};
  bool force = false, link = false, vols = false;
  int o;
  optind = 0;
  while ((o = cli_getopt(argc, argv, "flv", longopts, "rm", rm_usage)) != -1) {
    if (o < -1)
      return CLI_GETOPT_LOOP_EXIT(o);
    if (o == 'f')
      force = true;
    else if (o == 'l')
      link = true;
    else if (o == 'v')
      vols = true;
  }
  if (optind >= argc)
    return cli_args_error("rm", rm_usage, "requires at least 1 argument");
  struct query q = {0};
  if (force)
    query_add(&q, "force", "1");
  if (link)
    query_add(&q, "link", "1");
  if (vols)
    query_add(&q, "v", "1");
  return for_each_container(c, "DELETE", "", &q, argc - optind, argv + optind, true, force);
}

#define SIMPLE_CMD(fn, name, suffix, summary)                                                      \
  static const char fn##_usage[] =                                                                 \
      "Usage:  berth " name " CONTAINER [CONTAINER...]\n\n" summary "\n";                          \
  int cmd_##fn(struct client *c, int argc, char **argv)                                            \
  {                                                                                                \
    static const struct option longopts[] = {HELP_OPT, {0}};                                       \
    int o;                                                                                         \
    optind = 0;                                                                                    \
    while ((o = cli_getopt(argc, argv, "", longopts, name, fn##_usage)) != -1)                     \
      if (o < -1)                                                                                  \
        return CLI_GETOPT_LOOP_EXIT(o);                                                            \
    if (optind >= argc)                                                                            \
      return cli_args_error(name, fn##_usage, "requires at least 1 argument");                     \
    return for_each_container(c, "POST", suffix, NULL, argc - optind, argv + optind, true, false); \
  }

SIMPLE_CMD(pause, "pause", "/pause", "Pause all processes within one or more containers")
SIMPLE_CMD(unpause, "unpause", "/unpause", "Unpause all processes within one or more containers")

static const char rename_usage[] =
    "Usage:  berth rename CONTAINER NEW_NAME\n\nRename a container\n";

int cmd_rename(struct client *c, int argc, char **argv)
{
  static const struct option longopts[] = {HELP_OPT, {0}};
  int o;
  optind = 0;
  while ((o = cli_getopt(argc, argv, "", longopts, "rename", rename_usage)) != -1)
    if (o < -1)
      return CLI_GETOPT_LOOP_EXIT(o);
  if (argc - optind != 2)
    return cli_args_error("rename", rename_usage, "requires exactly 2 arguments");
  const char *newname = argv[optind + 1];
  while (*newname == ' ')
    newname++;
  if (!*newname) {
    fprintf(stderr, "Error: neither old nor new names may be empty\n");
    return 1;
  }
  struct query q = {0};
  query_add(&q, "name", newname);
  return for_each_container(c, "POST", "/rename", &q, 1, argv + optind, false, false);
}

static const char wait_usage[] =
    "Usage:  berth wait CONTAINER [CONTAINER...]\n\n"
    "Block until one or more containers stop, then print their exit codes\n";

int cmd_wait(struct client *c, int argc, char **argv)
{
  static const struct option longopts[] = {HELP_OPT, {0}};
  int o;
  optind = 0;
  while ((o = cli_getopt(argc, argv, "", longopts, "wait", wait_usage)) != -1)
    if (o < -1)
      return CLI_GETOPT_LOOP_EXIT(o);
  if (optind >= argc)
    return cli_args_error("wait", wait_usage, "requires at least 1 argument");
  int rc = 0;
  for (int i = optind; i < argc; i++) {
    _cleanup_free_ char *esc = url_escape(argv[i]);
    _cleanup_free_ char *path = NULL;
    if (asprintf(&path, "/containers/%s/wait", esc) < 0)
      return 1;
    json_auto_t *j = NULL;
    struct berr err = {0};
    if (http_json(c, "POST", path, NULL, &j, NULL, &err) < 0) {
      cli_print_error(&err);
      rc = 1;
      continue;
    }
    printf("%lld\n", (long long)json_integer_value(json_object_get(j, "StatusCode")));
  }
  return rc;
}

static const char top_usage[] = "Usage:  berth top CONTAINER [ps OPTIONS]\n\n"
                                "Display the running processes of a container\n";

int cmd_top(struct client *c, int argc, char **argv)
{
  static const struct option longopts[] = {HELP_OPT, {0}};
  int o;
  optind = 0;
  while ((o = cli_getopt(argc, argv, "+", longopts, "top", top_usage)) != -1)
    if (o < -1)
      return CLI_GETOPT_LOOP_EXIT(o);
  if (optind >= argc)
    return cli_args_error("top", top_usage, "requires at least 1 argument");
  struct query q = {0};
  if (optind + 1 < argc) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    for (int i = optind + 1; i < argc; i++)
      fprintf(f, "%s%s", i > optind + 1 ? " " : "", argv[i]);
    fclose(f);
    query_add(&q, "ps_args", buf);
    free(buf);
  }
  _cleanup_free_ char *esc = url_escape(argv[optind]);
  _cleanup_free_ char *base = NULL;
  if (asprintf(&base, "/containers/%s/top", esc) < 0)
    return 1;
  _cleanup_free_ char *path = query_build(base, &q);
  json_auto_t *j = NULL;
  struct berr err = {0};
  if (http_json(c, "GET", path, NULL, &j, NULL, &err) < 0)
    return cli_fail(&err);
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  size_t i, k;
  json_t *t, *row;
  json_array_foreach(json_object_get(j, "Titles"), i, t)
  {
    fprintf(f, "%s%s", i ? "\t" : "", json_string_value(t));
  }
  fputc('\n', f);
  json_array_foreach(json_object_get(j, "Processes"), i, row)
  {
    json_array_foreach(row, k, t)
    {
      fprintf(f, "%s%s", k ? "\t" : "", json_string_value(t));
    }
    fputc('\n', f);
  }
  fclose(f);
  if (len && buf[len - 1] == '\n')
    buf[len - 1] = 0;
  tabwrite(stdout, buf, 20, 3);
  free(buf);
  return 0;
}

/* ---------- ps ---------- */

static const char ps_usage[] =
    "Usage:  berth ps [OPTIONS]\n\nList containers\n\nOptions:\n"
    "  -a, --all             Show all containers (default shows just running)\n"
    "  -f, --filter filter   Filter output based on conditions provided\n"
    "      --format string   Format output using a custom template:\n"
    "                        'table':            Print output in table format with column "
    "headers (default)\n"
    "                        'table TEMPLATE':   Print output in table format using the given Go "
    "template\n"
    "                        'json':             Print in JSON format\n"
    "                        'TEMPLATE':         Print output using the given Go template.\n"
    "  -n, --last int        Show n last created containers (includes all states) (default -1)\n"
    "  -l, --latest          Show the latest created container (includes all states)\n"
    "      --no-trunc        Don't truncate output\n"
    "  -q, --quiet           Only display container IDs\n"
    "  -s, --size            Display total file sizes\n";

/* docker's filter flag: key=value into {"key":{"value":true}} */
int add_filter(json_t *filters, const char *kv, const char *cmd)
{
  const char *eq = strchr(kv, '=');
  if (!eq)
    return cli_usage_error(cmd,
                           "invalid argument \"%s\" for \"-f, --filter\" flag: bad format of "
                           "filter (expected name=value)",
                           kv);
  _cleanup_free_ char *k = strndup(kv, (size_t)(eq - kv));
  for (char *p = k; *p; p++)
    *p = (char)tolower((unsigned char)*p);
  json_t *m = json_object_get(filters, k);
  if (!m) {
    m = json_object();
    json_object_set_new(filters, k, m);
  }
  json_object_set_new(m, eq + 1, json_true());
  return 0;
}

/* Go json.Marshal of a map sorts its keys; filters are sent that way. */
char *filters_json(json_t *filters)
{
  return json_dumps(filters, JSON_COMPACT | JSON_SORT_KEYS);
}

struct port {
  const char *ip;
  long priv, pub;
  const char *type;
};

static int port_cmp(const void *a, const void *b)
{
  const struct port *x = a, *y = b;
  if (x->priv != y->priv)
    return x->priv < y->priv ? -1 : 1;
  int c = strcmp(x->ip, y->ip);
  if (c)
    return c;
  if (x->pub != y->pub)
    return x->pub < y->pub ? -1 : 1;
  return strcmp(x->type, y->type);
}

/* docker's DisplayablePorts: sorted, consecutive runs collapsed, ", " joined. */
char *displayable_ports(json_t *ports)
{
  size_t n = json_array_size(ports);
  if (n == 0)
    return strdup("");
  struct port *ps = calloc(n, sizeof(*ps));
  size_t i;
  json_t *p;
  json_array_foreach(ports, i, p)
  {
    const char *ip = json_string_value(json_object_get(p, "IP"));
    ps[i].ip = ip ? ip : "";
    ps[i].priv = (long)json_integer_value(json_object_get(p, "PrivatePort"));
    ps[i].pub = (long)json_integer_value(json_object_get(p, "PublicPort"));
    const char *t = json_string_value(json_object_get(p, "Type"));
    ps[i].type = t ? t : "tcp";
  }
  qsort(ps, n, sizeof(*ps), port_cmp);
  struct textbuf out = {0};
  for (i = 0; i < n;) {
    size_t j = i;
    /* extend a run: same ip and type, consecutive private (and public) ports */
    while (j + 1 < n && strcmp(ps[j + 1].ip, ps[i].ip) == 0 &&
           strcmp(ps[j + 1].type, ps[i].type) == 0 && ps[j + 1].priv == ps[j].priv + 1 &&
           ((ps[i].ip[0] == 0 && ps[j + 1].pub == 0 && ps[i].pub == 0) ||
            (ps[i].ip[0] && ps[j + 1].pub == ps[j].pub + 1 && ps[i].pub - ps[i].priv == 0 &&
             ps[j + 1].pub - ps[j + 1].priv == 0)))
      j++;
    if (out.len)
      tb_puts(&out, ", ");
    char privs[32], pubs[32];
    if (j > i) {
      snprintf(privs, sizeof(privs), "%ld-%ld", ps[i].priv, ps[j].priv);
      snprintf(pubs, sizeof(pubs), "%ld-%ld", ps[i].pub, ps[j].pub);
    } else {
      snprintf(privs, sizeof(privs), "%ld", ps[i].priv);
      snprintf(pubs, sizeof(pubs), "%ld", ps[i].pub);
    }
    if (ps[i].ip[0]) {
      if (strchr(ps[i].ip, ':'))
        tb_printf(&out, "[%s]:%s->%s/%s", ps[i].ip, pubs, privs, ps[i].type);
      else
        tb_printf(&out, "%s:%s->%s/%s", ps[i].ip, pubs, privs, ps[i].type);
    } else {
      tb_printf(&out, "%s/%s", privs, ps[i].type);
    }
    i = j + 1;
  }
  free(ps);
  return tb_steal(&out);
}

static json_t *ps_headers(void)
{
  return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "ID",
                   "CONTAINER ID", "Image", "IMAGE", "Command", "COMMAND", "CreatedAt",
                   "CREATED AT", "RunningFor", "CREATED", "Ports", "PORTS", "State", "STATE",
                   "Status", "STATUS", "Size", "SIZE", "Names", "NAMES", "Labels", "LABELS",
                   "Mounts", "MOUNTS", "Networks", "NETWORKS", "LocalVolumes", "LOCAL VOLUMES");
}

static char *join_sorted_keys(json_t *obj, const char *sep, bool with_values)
{
  if (json_object_size(obj) == 0)
    return strdup("");
  size_t n, i;
  const char **keys = tmpl_sorted_keys(obj, &n);
  struct textbuf out = {0};
  for (i = 0; i < n; i++) {
    if (i)
      tb_puts(&out, sep);
    tb_puts(&out, keys[i]);
    if (with_values) {
      const char *val = json_string_value(json_object_get(obj, keys[i]));
      tb_putc(&out, '=');
      tb_puts(&out, val ? val : "");
    }
  }
  free(keys);
  return tb_steal(&out);
}

static char *short_id(const char *id)
{
  const char *colon = strchr(id, ':');
  if (colon)
    id = colon + 1;
  return strndup(id, 12);
}

/* The fields of a `ps` row. */
enum ps_field {
  PS_ID,
  PS_IMAGE,
  PS_COMMAND,
  PS_CREATED_AT,
  PS_RUNNING_FOR,
  PS_PORTS,
  PS_STATE,
  PS_STATUS,
  PS_SIZE,
  PS_NAMES,
  PS_LABELS,
  PS_MOUNTS,
  PS_LOCAL_VOLUMES,
  PS_NETWORKS,
  PS_PLATFORM, /* docker 28 has it, null for a local engine */
  PS_NFIELDS
};
static const char *const ps_field_names[PS_NFIELDS] = {
    "ID",   "Image", "Command", "CreatedAt", "RunningFor",   "Ports",    "State",   "Status",
    "Size", "Names", "Labels",  "Mounts",    "LocalVolumes", "Networks", "Platform"};

/* The members of a /containers/json item the fields are made of. */
enum ps_member {
  M_ID,
  M_IMAGE,
  M_IMAGE_ID,
  M_COMMAND,
  M_CREATED,
  M_PORTS,
  M_STATE,
  M_STATUS,
  M_SIZE_RW,
  M_SIZE_ROOT_FS,
  M_NAMES,
  M_LABELS,
  M_MOUNTS,
  M_NETWORK_SETTINGS,
  M_N
};
static const char *const ps_member_names[M_N] = {
    "Id",     "Image",  "ImageID",    "Command", "Created", "Ports",  "State",
    "Status", "SizeRw", "SizeRootFs", "Names",   "Labels",  "Mounts", "NetworkSettings"};

/* Which members each field (and {{.Label "k"}}) needs. */
static const struct {
  const char *field;
  enum ps_member members[2];
  size_t n;
} ps_sources[] = {
    {"ID", {M_ID}, 1},
    {"Image", {M_IMAGE, M_IMAGE_ID}, 2},
    {"Command", {M_COMMAND}, 1},
    {"CreatedAt", {M_CREATED}, 1},
    {"RunningFor", {M_CREATED}, 1},
    {"Ports", {M_PORTS}, 1},
    {"State", {M_STATE}, 1},
    {"Status", {M_STATUS}, 1},
    {"Size", {M_SIZE_RW, M_SIZE_ROOT_FS}, 2},
    {"Names", {M_NAMES}, 1},
    {"Labels", {M_LABELS}, 1},
    {"Label", {M_LABELS}, 1},
    {"Mounts", {M_MOUNTS}, 1},
    {"LocalVolumes", {M_MOUNTS}, 1},
    {"Networks", {M_NETWORK_SETTINGS}, 1},
};

static char *str_or_empty(json_t *v)
{
  const char *s = json_string_value(v);
  return strdup(s ? s : "");
}

/* A row of the table as strings (row[i] malloc'd, NULL where the format shows nothing of
 * field i, asked of the template once): `ps -q` or the default table with a thousand
 * containers need a few of the fifteen, and no JSON row is built for them. */
static void ps_row(json_t *const *m, const bool *shown, bool trunc, time_t now, char **row)
{
  if (shown[PS_ID]) {
    const char *id = json_string_value(m[M_ID]);
    row[PS_ID] = strndup(id ? id : "", trunc ? 12 : SIZE_MAX);
  }
  if (shown[PS_IMAGE]) {
    const char *image = json_string_value(m[M_IMAGE]);
    const char *image_id = json_string_value(m[M_IMAGE_ID]);
    if (!image || !*image) {
      row[PS_IMAGE] = strdup("<no image>");
    } else if (trunc) {
      _cleanup_free_ char *a = short_id(image);
      _cleanup_free_ char *b = image_id ? short_id(image_id) : NULL;
      if (b && strcmp(a, b) == 0) {
        row[PS_IMAGE] = steal_ptr(a);
      } else {
        _cleanup_free_ char *no_digest = strdup(image);
        char *at = strchr(no_digest, '@');
        if (at)
          *at = 0;
        row[PS_IMAGE] = ref_familiar(no_digest);
      }
    } else {
      row[PS_IMAGE] = strdup(image);
    }
  }
  if (shown[PS_COMMAND]) {
    const char *command = json_string_value(m[M_COMMAND]);
    _cleanup_free_ char *el =
        trunc ? units_ellipsis(command ? command : "", 20) : strdup(command ? command : "");
    row[PS_COMMAND] = units_go_quote(el);
  }
  time_t created = (time_t)json_integer_value(m[M_CREATED]);
  if (shown[PS_CREATED_AT]) {
    char when[128];
    units_format_go_time(created, when, sizeof(when));
    row[PS_CREATED_AT] = strdup(when);
  }
  if (shown[PS_RUNNING_FOR]) {
    char dur[64], ago[80];
    units_human_duration((int64_t)(now - created), dur, sizeof(dur));
    snprintf(ago, sizeof(ago), "%s ago", dur);
    row[PS_RUNNING_FOR] = strdup(ago);
  }
  if (shown[PS_PORTS])
    row[PS_PORTS] = displayable_ports(m[M_PORTS]);
  if (shown[PS_STATE])
    row[PS_STATE] = str_or_empty(m[M_STATE]);
  if (shown[PS_STATUS])
    row[PS_STATUS] = str_or_empty(m[M_STATUS]);
  if (shown[PS_SIZE]) {
    char size[96], rw[32], virt[32];
    units_human_size_prec((double)json_integer_value(m[M_SIZE_RW]), 3, rw, sizeof(rw));
    json_int_t rootfs = json_integer_value(m[M_SIZE_ROOT_FS]);
    if (rootfs > 0) {
      units_human_size_prec((double)rootfs, 3, virt, sizeof(virt));
      snprintf(size, sizeof(size), "%s (virtual %s)", rw, virt);
    } else {
      snprintf(size, sizeof(size), "%s", rw);
    }
    row[PS_SIZE] = strdup(size);
  }
  if (shown[PS_NAMES]) {
    /* NAMES: strip the leading "/", in trunc mode keep the first name that is no link */
    struct textbuf names = {0};
    const char *first = NULL;
    size_t i;
    json_t *nm;
    json_array_foreach(m[M_NAMES], i, nm)
    {
      const char *n = json_string_value(nm);
      if (!n || !*n)
        continue;
      n++;
      if (trunc) {
        if (!strchr(n, '/')) {
          first = n;
          break;
        }
        continue;
      }
      if (names.len)
        tb_putc(&names, ',');
      tb_puts(&names, n);
    }
    row[PS_NAMES] = first ? strdup(first) : tb_steal(&names);
    tb_free(&names);
  }
  if (shown[PS_LABELS])
    row[PS_LABELS] = join_sorted_keys(m[M_LABELS], ",", true);
  if (shown[PS_MOUNTS] || shown[PS_LOCAL_VOLUMES]) {
    /* MOUNTS: volume names or bind sources; LOCAL VOLUMES: count of local volumes */
    struct textbuf mounts = {0};
    int local = 0;
    size_t i;
    json_t *mt;
    json_array_foreach(m[M_MOUNTS], i, mt)
    {
      const char *name = json_string_value(json_object_get(mt, "Name"));
      if (!name || !*name)
        name = json_string_value(json_object_get(mt, "Source"));
      _cleanup_free_ char *e =
          trunc ? units_ellipsis(name ? name : "", 15) : strdup(name ? name : "");
      if (i)
        tb_putc(&mounts, ',');
      tb_puts(&mounts, e);
      const char *drv = json_string_value(json_object_get(mt, "Driver"));
      if (drv && strcmp(drv, "local") == 0)
        local++;
    }
    row[PS_MOUNTS] = tb_steal(&mounts);
    char count[16];
    snprintf(count, sizeof(count), "%d", local);
    row[PS_LOCAL_VOLUMES] = strdup(count);
  }
  if (shown[PS_NETWORKS])
    row[PS_NETWORKS] =
        join_sorted_keys(json_object_get(m[M_NETWORK_SETTINGS], "Networks"), ",", false);
}

struct ps_walk {
  struct formatter *f;
  bool shown[PS_NFIELDS];
  bool trunc;
  time_t now;
  struct berr *err;
};

static int ps_each(void *ud, json_t *const *members)
{
  struct ps_walk *w = ud;
  char *row[PS_NFIELDS] = {0};
  ps_row(members, w->shown, w->trunc, w->now, row);
  const char *values[PS_NFIELDS];
  for (int i = 0; i < PS_NFIELDS; i++)
    values[i] = row[i];
  values[PS_PLATFORM] = fmt_null;
  int r = formatter_row_fields(w->f, ps_field_names, values, PS_NFIELDS, members[M_LABELS], w->err);
  for (int i = 0; i < PS_NFIELDS; i++)
    free(row[i]);
  return r;
}

int cmd_ps(struct client *c, int argc, char **argv)
{
  static const struct option longopts[] = {{"all", no_argument, NULL, 'a'},
                                           {"quiet", no_argument, NULL, 'q'},
                                           {"size", no_argument, NULL, 's'},
                                           {"last", required_argument, NULL, 'n'},
                                           {"latest", no_argument, NULL, 'l'},
                                           {"no-trunc", no_argument, NULL, 'T'},
                                           {"filter", required_argument, NULL, 'f'},
                                           {"format", required_argument, NULL, 'F'},
                                           HELP_OPT,
                                           {0}};
  bool all = false, quiet = false, size = false, latest = false, trunc = true;
  long last = -1;
  const char *format = NULL;
  json_auto_t *filters = json_object();
  int o;
  optind = 0;
  while ((o = cli_getopt(argc, argv, "aqsn:lf:", longopts, "ps", ps_usage)) != -1) {
    if (o < -1)
      return CLI_GETOPT_LOOP_EXIT(o);
    switch (o) {
    case 'a':
      all = true;
      break;
    case 'q':
      quiet = true;
      break;
    case 's':
      size = true;
      break;
    case 'n': {
      char *end;
      last = strtol(optarg, &end, 10);
      if (*end || !*optarg)
        return cli_usage_error("ps",
                               "invalid argument \"%s\" for \"-n, --last\" flag: strconv.ParseInt: "
                               "parsing \"%s\": invalid syntax",
                               optarg, optarg);
      break;
    }
    case 'l':
      latest = true;
      break;
    case 'T':
      trunc = false;
      break;
    case 'f': {
      int r = add_filter(filters, optarg, "ps");
      if (r)
        return r;
      break;
    }
    case 'F':
      format = optarg;
      break;
    }
  }
  if (optind < argc)
    return cli_args_error("ps", ps_usage, "accepts no arguments");
  struct query q = {0};
  if (all)
    query_add(&q, "all", "1");
  if (latest)
    last = 1;
  if (last > 0)
    query_addf(&q, "limit", "%ld", last);
  if (json_object_size(filters)) {
    _cleanup_free_ char *fj = filters_json(filters);
    query_add(&q, "filters", fj);
  }
  /* docker asks for sizes when the template shows .Size */
  if (size || (format && strstr(format, ".Size")))
    query_add(&q, "size", "1");
  _cleanup_free_ char *path = query_build("/containers/json", &q);
  struct berr err = {0};
  struct http_resp resp;
  if (http_do(c, "GET", path, NULL, &resp, &err) < 0) {
    http_resp_free(&resp);
    return cli_fail(&err);
  }
  const char *tmpl;
  if (quiet && (!format || !*format))
    tmpl = NULL, format = "{{.ID}}";
  tmpl = size ? "{{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{."
                "Names}}\t{{.Size}}"
              : "{{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{."
                "Names}}";
  json_auto_t *headers = ps_headers();
  struct formatter f;
  if (formatter_init(&f, format, tmpl, headers, &err) < 0) {
    formatter_free(&f);
    http_resp_free(&resp);
    fprintf(stderr, "%s\n", err.msg);
    return 1;
  }
  /* the members of the answer the shown fields are made of, and only those */
  const char *members[M_N] = {0};
  for (size_t i = 0; i < sizeof(ps_sources) / sizeof(ps_sources[0]); i++)
    if (formatter_uses(&f, ps_sources[i].field))
      for (size_t k = 0; k < ps_sources[i].n; k++)
        members[ps_sources[i].members[k]] = ps_member_names[ps_sources[i].members[k]];
  struct ps_walk w = {.f = &f, .trunc = trunc, .now = time(NULL), .err = &err};
  for (int i = 0; i < PS_NFIELDS; i++)
    w.shown[i] = formatter_uses(&f, ps_field_names[i]);
  int r = list_each(resp.body, resp.len, members, M_N, ps_each, &w, &err);
  http_resp_free(&resp);
  if (r < 0) {
    formatter_free(&f);
    fprintf(stderr, "%s\n", err.msg);
    return 1;
  }
  if (formatter_finish(&f, stdout, &err) < 0) {
    fprintf(stderr, "%s\n", err.msg);
    return 1;
  }
  return 0;
}

/* ---------- logs ---------- */

static const char logs_usage[] =
    "Usage:  berth logs [OPTIONS] CONTAINER\n\nFetch the logs of a container\n\nOptions:\n"
    "      --details        Show extra details provided to logs\n"
    "  -f, --follow         Follow log output\n"
    "      --since string   Show logs since timestamp (e.g. \"2013-01-02T13:23:37Z\") or "
    "relative (e.g. \"42m\" for 42 minutes)\n"
    "  -n, --tail string    Number of lines to show from the end of the logs (default \"all\")\n"
    "  -t, --timestamps     Show timestamps\n"
    "      --until string   Show logs before a timestamp (e.g. \"2013-01-02T13:23:37Z\") or "
    "relative (e.g. \"42m\" for 42 minutes)\n";

struct logsink {
  bool tty;
  struct stdcopy demux;
  struct berr err;
};

static int log_write(void *ud, int stream, const char *data, size_t len)
{
  (void)ud;
  fwrite(data, 1, len, stream == 2 ? stderr : stdout);
  fflush(stream == 2 ? stderr : stdout);
  return 0;
}

static int logs_sink(void *ud, const char *data, size_t len)
{
  struct logsink *ls = ud;
  if (ls->tty)
    return log_write(NULL, 1, data, len);
  return stdcopy_feed(&ls->demux, data, len, log_write, NULL, &ls->err);
}

int cmd_logs(struct client *c, int argc, char **argv)
{
  static const struct option longopts[] = {{"follow", no_argument, NULL, 'f'},
                                           {"timestamps", no_argument, NULL, 't'},
                                           {"tail", required_argument, NULL, 'n'},
                                           {"since", required_argument, NULL, 'S'},
                                           {"until", required_argument, NULL, 'U'},
                                           {"details", no_argument, NULL, 'D'},
                                           HELP_OPT,
                                           {0}};
  bool follow = false, ts = false, details = false;
  const char *tail = "all", *since = NULL, *until = NULL;
  int o;
  optind = 0;
  while ((o = cli_getopt(argc, argv, "ftn:", longopts, "logs", logs_usage)) != -1) {
    if (o < -1)
      return CLI_GETOPT_LOOP_EXIT(o);
    switch (o) {
    case 'f':
      follow = true;
      break;
    case 't':
      ts = true;
      break;
    case 'n':
      tail = optarg;
      break;
    case 'S':
      since = optarg;
      break;
    case 'U':
      until = optarg;
      break;
    case 'D':
      details = true;
      break;
    }
  }
  if (argc - optind != 1)
    return cli_args_error("logs", logs_usage, "requires exactly 1 argument");
  struct berr err = {0};
  _cleanup_free_ char *esc = url_escape(argv[optind]);
  _cleanup_free_ char *ipath = NULL;
  if (asprintf(&ipath, "/containers/%s/json", esc) < 0)
    return 1;
  json_auto_t *info = NULL;
  if (http_json(c, "GET", ipath, NULL, &info, NULL, &err) < 0)
    return cli_fail(&err);
  const char *id = json_string_value(json_object_get(info, "Id"));
  struct query q = {0};
  time_t now = time(NULL);
  char tsbuf[64];
  if (details)
    query_add(&q, "details", "1");
  if (follow)
    query_add(&q, "follow", "1");
  if (since) {
    if (units_api_timestamp(since, now, tsbuf, sizeof(tsbuf)) < 0) {
      fprintf(stderr,
              "invalid value for \"since\": failed to parse value as time or duration: \"%s\"\n",
              since);
      return 1;
    }
    query_add(&q, "since", tsbuf);
  }
  query_add(&q, "stderr", "1");
  query_add(&q, "stdout", "1");
  query_add(&q, "tail", tail);
  if (ts)
    query_add(&q, "timestamps", "1");
  if (until) {
    if (units_api_timestamp(until, now, tsbuf, sizeof(tsbuf)) < 0) {
      fprintf(stderr,
              "invalid value for \"until\": failed to parse value as time or duration: \"%s\"\n",
              until);
      return 1;
    }
    query_add(&q, "until", tsbuf);
  }
  _cleanup_free_ char *base = NULL;
  if (asprintf(&base, "/containers/%s/logs", id ? id : esc) < 0)
    return 1;
  _cleanup_free_ char *path = query_build(base, &q);
  struct logsink ls = {.tty =
                           json_is_true(json_object_get(json_object_get(info, "Config"), "Tty"))};
  struct http_resp resp;
  int r = http_stream(c, "GET", path, NULL, NULL, logs_sink, &ls, &resp, &err);
  http_resp_free(&resp);
  if (r < 0) {
    if (ls.err.msg[0])
      err = ls.err;
    return cli_fail(&err);
  }
  return 0;
}

/* ---------- inspect ---------- */

static const char container_inspect_usage[] =
    "Usage:  berth container inspect [OPTIONS] CONTAINER [CONTAINER...]\n\n"
    "Display detailed information on one or more containers\n\nOptions:\n"
    "  -f, --format string   Format output using a custom template\n"
    "  -s, --size            Display total file sizes\n";

int cmd_container_inspect(struct client *c, int argc, char **argv)
{
  static const struct option longopts[] = {
      {"format", required_argument, NULL, 'f'}, {"size", no_argument, NULL, 's'}, HELP_OPT, {0}};
  const char *format = NULL;
  bool size = false;
  int o;
  optind = 0;
  while ((o = cli_getopt(argc, argv, "f:s", longopts, "container inspect",
                         container_inspect_usage)) != -1) {
    if (o < -1)
      return CLI_GETOPT_LOOP_EXIT(o);
    if (o == 'f')
      format = optarg;
    else if (o == 's')
      size = true;
  }
  if (optind >= argc)
    return cli_args_error("container inspect", container_inspect_usage,
                          "requires at least 1 argument");
  return inspect_objects(c, argv + optind, argc - optind, "/containers/",
                         size ? "/json?size=1" : "/json", true, "container", format);
}
