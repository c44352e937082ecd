/* System commands: version, info, events, and the generic inspect that tries each
 * object type in docker's order. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>

#include "cli.h"
#include "common/cleanup.h"
#include "format.h"
#include "inspect.h"
#include "units.h"
#include "xalloc.h"

static const char *go_arch(void)
{
  static struct utsname u;
  if (uname(&u) < 0)
    return "unknown";
  if (strcmp(u.machine, "x86_64") == 0)
    return "amd64";
  if (strcmp(u.machine, "aarch64") == 0)
    return "arm64";
  return u.machine;
}

/* docker prints BuildTime (RFC3339) as Go's time.ANSIC in UTC */
static const char *build_time(const char *rfc, char *buf, size_t len)
{
  char ts[64];
  if (!*rfc || units_api_timestamp(rfc, 0, ts, sizeof(ts)) < 0)
    return rfc;
  time_t t = (time_t)strtoll(ts, NULL, 10);
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(buf, len, "%a %b %e %H:%M:%S %Y", &tm);
  return buf;
}

static const char version_usage[] =
    "Usage:  berth version [OPTIONS]\n\nShow the berth version information\n\nOptions:\n"
    "  -f, --format string   Format output using a custom template\n";

static const char *str(json_t *o, const char *k)
{
  const char *s = json_string_value(json_object_get(o, k));
  return s ? s : "";
}

int cmd_version(struct client *c, int argc, char **argv)
{
  static const struct option longopts[] = {{"format", required_argument, NULL, 'f'}, HELP_OPT, {0}};
  const char *format = NULL;
  int o;
  optind = 0;
  while ((o = cli_getopt(argc, argv, "f:", longopts, "version", version_usage)) != -1) {
    if (o < -1)
      return CLI_GETOPT_LOOP_EXIT(o);
    if (o == 'f')
      format = optarg;
  }
  char osarch[64];
  snprintf(osarch, sizeof(osarch), "linux/%s", go_arch());
  json_auto_t *client = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "Version", BERTH_VERSION,
                                  "ApiVersion", "1.50", "DefaultAPIVersion", "1.50", "Os", "linux",
                                  "Arch", go_arch(), "Context", "default");
  json_auto_t *server = NULL;
  struct berr err = {0};
  int r = http_json(c, "GET", "/version", NULL, &server, NULL, &err);
  if (format && *format) {
    json_auto_t *all = json_pack("{s:O,s:O?}", "Client", client, "Server", r < 0 ? NULL : server);
    _cleanup_tmpl_ struct tmpl *t = NULL;
    struct berr terr = {0};
    if (tmpl_parse(format, &t, &terr) < 0 || tmpl_render(t, all, NULL, stdout, &terr) < 0) {
      fprintf(stderr, "%s\n", terr.msg);
      return 1;
    }
    fputc('\n', stdout);
    return r < 0 ? cli_fail(&err) : 0;
  }
  printf("Client:\n");
  printf(" Version:           %s\n", BERTH_VERSION);
  printf(" API version:       1.50\n");
  printf(" OS/Arch:           %s\n", osarch);
  printf(" Context:           default\n");
  if (r < 0) {
    printf("\n");
    fflush(stdout);
    return cli_fail(&err);
  }
  printf("\nServer: %s\n", str(json_object_get(server, "Platform"), "Name"));
  char built[64];
  json_t *comps = json_object_get(server, "Components");
  size_t i;
  json_t *comp;
  bool engine = false;
  json_array_foreach(comps, i, comp)
  {
    json_t *d = json_object_get(comp, "Details");
    if (strcmp(str(comp, "Name"), "Engine") == 0) {
      engine = true;
      printf(" Engine:\n");
      printf("  Version:          %s\n", str(comp, "Version"));
      printf("  API version:      %s (minimum version %s)\n", str(d, "ApiVersion"),
             str(d, "MinAPIVersion"));
      printf("  Go version:       %s\n", str(d, "GoVersion"));
      printf("  Git commit:       %s\n", str(d, "GitCommit"));
      printf("  Built:            %s\n", build_time(str(d, "BuildTime"), built, sizeof(built)));
      printf("  OS/Arch:          %s/%s\n", str(d, "Os"), str(d, "Arch"));
      printf("  Experimental:     %s\n", str(d, "Experimental"));
    } else {
      printf(" %s:\n", str(comp, "Name"));
      printf("  Version:          %s\n", str(comp, "Version"));
      const char *k;
      json_t *v;
      json_object_foreach(d, k, v)
      {
        char label[64];
        snprintf(label, sizeof(label), "%s:", k);
        printf("  %-18s%s\n", label, json_string_value(v) ? json_string_value(v) : "");
      }
    }
  }
  if (!engine) {
    printf(" Engine:\n");
    printf("  Version:          %s\n", str(server, "Version"));
    printf("  API version:      %s (minimum version %s)\n", str(server, "ApiVersion"),
           str(server, "MinAPIVersion"));
    printf("  OS/Arch:          %s/%s\n", str(server, "Os"), str(server, "Arch"));
  }
  return 0;
}

static const char info_usage[] =
    "Usage:  berth info [OPTIONS]\n\nDisplay system-wide information\n\nOptions:\n"
    "  -f, --format string   Format output using a custom template\n";

int cmd_info(struct client *c, int argc, char **argv)
{
  static const struct option longopts[] = {{"format", required_argument, NULL, 'f'}, HELP_OPT, {0}};
  const char *format = NULL;
  int o;
  optind = 0;
  while ((o = cli_getopt(argc, argv, "f:", longopts, "info", info_usage)) != -1) {
    if (o < -1)
      return CLI_GETOPT_LOOP_EXIT(o);
    if (o == 'f')
      format = optarg;
  }
  json_auto_t *info = NULL;
  struct berr err = {0};
  int r = http_json(c, "GET", "/info", NULL, &info, NULL, &err);
  if (format && *format) {
    if (r < 0)
      return cli_fail(&err);
    json_auto_t *items = json_pack("[O]", info);
    return inspect_print(items, format);
  }
  printf("Client:\n Version:    %s\n Context:    default\n Debug Mode: false\n\nServer:\n",
         BERTH_VERSION);
  if (r < 0)
    return cli_fail(&err);
#define INT(k) ((long long)json_integer_value(json_object_get(info, k)))
  printf(" Containers: %lld\n", INT("Containers"));
  printf("  Running: %lld\n  Paused: %lld\n  Stopped: %lld\n", INT("ContainersRunning"),
         INT("ContainersPaused"), INT("ContainersStopped"));
  printf(" Images: %lld\n", INT("Images"));
  printf(" Server Version: %s\n", str(info, "ServerVersion"));
  printf(" Storage Driver: %s\n", str(info, "Driver"));
  size_t i;
  json_t *pair;
  json_array_foreach(json_object_get(info, "DriverStatus"), i, pair)
  {
    printf("  %s: %s\n", json_string_value(json_array_get(pair, 0)),
           json_string_value(json_array_get(pair, 1)));
  }
  printf(" Logging Driver: %s\n", str(info, "LoggingDriver"));
  printf(" Cgroup Driver: %s\n", str(info, "CgroupDriver"));
  printf(" Cgroup Version: %s\n", str(info, "CgroupVersion"));
  json_t *plugins = json_object_get(info, "Plugins");
  if (plugins) {
    printf(" Plugins:\n");
    static const char *const kinds[] = {"Volume", "Network", "Authorization", "Log"};
    for (size_t k = 0; k < 4; k++) {
      json_t *l = json_object_get(plugins, kinds[k]);
      if (!json_array_size(l))
        continue;
      printf("  %s:", kinds[k]);
      json_t *v;
      json_array_foreach(l, i, v)
      {
        printf(" %s", json_string_value(v));
      }
      printf("\n");
    }
  }
  const char *state = str(json_object_get(info, "Swarm"), "LocalNodeState");
  printf(" Swarm: %s\n", *state ? state : "inactive");
  json_t *rt = json_object_get(info, "Runtimes");
  if (json_object_size(rt)) {
    printf(" Runtimes:");
    const char *k;
    json_t *v;
    json_object_foreach(rt, k, v)
    {
      printf(" %s", k);
    }
    printf("\n");
  }
  if (*str(info, "DefaultRuntime"))
    printf(" Default Runtime: %s\n", str(info, "DefaultRuntime"));
  if (*str(info, "InitBinary"))
    printf(" Init Binary: %s\n", str(info, "InitBinary"));
  if (json_object_get(info, "ContainerdCommit"))
    printf(" containerd version: %s\n", str(json_object_get(info, "ContainerdCommit"), "ID"));
  if (json_object_get(info, "RuncCommit"))
    printf(" runc version: %s\n", str(json_object_get(info, "RuncCommit"), "ID"));
  if (json_object_get(info, "InitCommit"))
    printf(" init version: %s\n", str(json_object_get(info, "InitCommit"), "ID"));
  json_t *secopts = json_object_get(info, "SecurityOptions");
  if (json_array_size(secopts)) {
    /* "name=seccomp,profile=builtin" -> "  seccomp\n   Profile: builtin" */
    printf(" Security Options:\n");
    json_t *so;
    json_array_foreach(secopts, i, so)
    {
      _cleanup_free_ char *copy = strdup(json_string_value(so) ? json_string_value(so) : "");
      char *save = NULL;
      for (char *kv = strtok_r(copy, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(kv, '=');
        if (!eq)
          continue;
        *eq = 0;
        if (strcmp(kv, "name") == 0) {
          printf("  %s\n", eq + 1);
        } else {
          kv[0] = (char)toupper((unsigned char)kv[0]);
          printf("   %s: %s\n", kv, eq + 1);
        }
      }
    }
  }
  printf(" Kernel Version: %s\n", str(info, "KernelVersion"));
  printf(" Operating System: %s\n", str(info, "OperatingSystem"));
  printf(" OSType: %s\n", str(info, "OSType"));
  printf(" Architecture: %s\n", str(info, "Architecture"));
  printf(" CPUs: %lld\n", INT("NCPU"));
  char mem[32];
  units_bytes_size((double)INT("MemTotal"), mem, sizeof(mem));
  printf(" Total Memory: %s\n", mem);
  printf(" Name: %s\n", str(info, "Name"));
  printf(" ID: %s\n", str(info, "ID"));
  printf(" Docker Root Dir: %s\n", str(info, "DockerRootDir"));
  printf(" Debug Mode: %s\n", json_is_true(json_object_get(info, "Debug")) ? "true" : "false");
  printf(" Experimental: %s\n",
         json_is_true(json_object_get(info, "ExperimentalBuild")) ? "true" : "false");
  printf(" Live Restore Enabled: %s\n",
         json_is_true(json_object_get(info, "LiveRestoreEnabled")) ? "true" : "false");
#undef INT
  json_t *w;
  json_array_foreach(json_object_get(info, "Warnings"), i, w)
  {
    fprintf(stderr, "%s\n", json_string_value(w));
  }
  return 0;
}

static const char events_usage[] =
    "Usage:  berth events [OPTIONS]\n\nGet real time events from the server\n\nOptions:\n"
    "  -f, --filter filter   Filter output based on conditions provided\n"
    "      --format string   Format output using a custom template\n"
    "      --since string    Show all events created since timestamp\n"
    "      --until string    Stream events until this timestamp\n";

struct events_sink {
  char *buf;
  size_t len;
  struct tmpl *tmpl;
  struct berr err;
};

static void print_event(struct events_sink *es, json_t *ev)
{
  if (es->tmpl) {
    if (tmpl_render(es->tmpl, ev, NULL, stdout, &es->err) == 0)
      fputc('\n', stdout);
    fflush(stdout);
    return;
  }
  json_int_t tn = json_integer_value(json_object_get(ev, "timeNano"));
  json_int_t t = json_integer_value(json_object_get(ev, "time"));
  char ts[64];
  if (tn || t) {
    units_format_rfc3339nano_fixed(tn ? tn : t * 1000000000LL, ts, sizeof(ts));
    printf("%s ", ts);
  }
  json_t *actor = json_object_get(ev, "Actor");
  printf("%s %s %s", str(ev, "Type"), str(ev, "Action"), str(actor, "ID"));
  json_t *attrs = json_object_get(actor, "Attributes");
  size_t n = json_object_size(attrs);
  if (n) {
    const char **keys = calloc(n, sizeof(char *));
    size_t i = 0;
    const char *k;
    json_t *v;
    json_object_foreach(attrs, k, v)
    {
      keys[i++] = k;
    }
    for (size_t a = 1; a < n; a++)
      for (size_t b = a; b > 0 && strcmp(keys[b - 1], keys[b]) > 0; b--) {
        const char *tmp = keys[b];
        keys[b] = keys[b - 1];
        keys[b - 1] = tmp;
      }
    printf(" (");
    for (i = 0; i < n; i++)
      printf("%s%s=%s", i ? ", " : "", keys[i], str(attrs, keys[i]));
    printf(")");
    free(keys);
  }
  printf("\n");
  fflush(stdout);
}

static int events_sink_fn(void *ud, const char *data, size_t len)
{
  struct events_sink *es = ud;
  es->buf = xrealloc(es->buf, es->len + len + 1);
  memcpy(es->buf + es->len, data, len);
  es->len += len;
  /* decode every complete JSON value in the buffer */
  size_t off = 0;
  for (;;) {
    while (off < es->len && (es->buf[off] == '\n' || es->buf[off] == '\r' || es->buf[off] == ' '))
      off++;
    if (off >= es->len)
      break;
    json_error_t je;
    json_t *ev = json_loadb(es->buf + off, es->len - off, JSON_DISABLE_EOF_CHECK, &je);
    if (!ev)
      break;
    off += je.position;
    print_event(es, ev);
    json_decref(ev);
  }
  memmove(es->buf, es->buf + off, es->len - off);
  es->len -= off;
  return 0;
}

int cmd_events(struct client *c, int argc, char **argv)
{
  static const struct option longopts[] = {{"filter", required_argument, NULL, 'f'},
                                           {"format", required_argument, NULL, 'F'},
                                           {"since", required_argument, NULL, 'S'},
                                           {"until", required_argument, NULL, 'U'},
                                           HELP_OPT,
                                           {0}};
  const char *format = NULL, *since = NULL, *until = NULL;
  json_auto_t *filters = json_object();
  int o;
  optind = 0;
  while ((o = cli_getopt(argc, argv, "f:", longopts, "events", events_usage)) != -1) {
    if (o < -1)
      return CLI_GETOPT_LOOP_EXIT(o);
    if (o == 'f') {
      int r = add_filter(filters, optarg, "events");
      if (r)
        return r;
    } else if (o == 'F')
      format = optarg;
    else if (o == 'S')
      since = optarg;
    else if (o == 'U')
      until = optarg;
  }
  struct query q = {0};
  time_t now = time(NULL);
  char ts[64];
  if (json_object_size(filters)) {
    _cleanup_free_ char *fj = filters_json(filters);
    query_add(&q, "filters", fj);
  }
  if (since) {
    if (units_api_timestamp(since, now, ts, sizeof(ts)) < 0) {
      fprintf(stderr,
              "invalid value for \"since\": failed to parse value as time or duration: \"%s\"\n",
              since);
      return 1;
    }
    query_add(&q, "since", ts);
  }
  if (until) {
    if (units_api_timestamp(until, now, ts, sizeof(ts)) < 0) {
      fprintf(stderr,
              "invalid value for \"until\": failed to parse value as time or duration: \"%s\"\n",
              until);
      return 1;
    }
    query_add(&q, "until", ts);
  }
  struct events_sink es = {0};
  struct berr err = {0};
  if (format && *format) {
    const char *src = strcmp(format, "json") == 0 ? "{{json .}}" : format;
    if (tmpl_parse(src, &es.tmpl, &err) < 0) {
      fprintf(stderr, "%s\n", err.msg);
      return 1;
    }
  }
  _cleanup_free_ char *path = query_build("/events", &q);
  struct http_resp resp;
  int r = http_stream(c, "GET", path, NULL, NULL, events_sink_fn, &es, &resp, &err);
  http_resp_free(&resp);
  free(es.buf);
  if (es.tmpl)
    tmpl_free(es.tmpl);
  return r < 0 ? cli_fail(&err) : 0;
}

static const char inspect_usage[] =
    "Usage:  berth inspect [OPTIONS] NAME|ID [NAME|ID...]\n\n"
    "Return low-level information on berth objects\n\nOptions:\n"
    "  -f, --format string   Format output using a custom template\n"
    "  -s, --size            Display total file sizes if the type is container\n"
    "      --type string     Return JSON for specified type\n";

int cmd_inspect(struct client *c, int argc, char **argv)
{
  static const struct option longopts[] = {{"format", required_argument, NULL, 'f'},
                                           {"size", no_argument, NULL, 's'},
                                           {"type", required_argument, NULL, 'T'},
                                           HELP_OPT,
                                           {0}};
  const char *format = NULL, *type = NULL;
  bool size = false;
  int o;
  optind = 0;
  while ((o = cli_getopt(argc, argv, "f:s", longopts, "inspect", inspect_usage)) != -1) {
    if (o < -1)
      return CLI_GETOPT_LOOP_EXIT(o);
    if (o == 'f')
      format = optarg;
    else if (o == 's')
      size = true;
    else if (o == 'T')
      type = optarg;
  }
  if (optind >= argc)
    return cli_args_error("inspect", inspect_usage, "requires at least 1 argument");
  static const char *const kinds[] = {"container", "image", "network", "volume"};
  if (type && strcmp(type, "container") && strcmp(type, "image") && strcmp(type, "network") &&
      strcmp(type, "volume")) {
    fprintf(stderr, "\"%s\" is not a valid value for --type\n", type);
    return 1;
  }
  json_auto_t *items = json_array();
  int rc = 0;
  for (int i = optind; i < argc; i++) {
    _cleanup_free_ char *esc = url_escape(argv[i]);
    json_t *found = NULL;
    for (size_t k = 0; k < ARRAY_SIZE(kinds) && !found; k++) {
      if (type && strcmp(type, kinds[k]) != 0)
        continue;
      _cleanup_free_ char *path = NULL;
      int n = k == 0   ? asprintf(&path, "/containers/%s/json%s", esc, size ? "?size=1" : "")
              : k == 1 ? asprintf(&path, "/images/%s/json", argv[i])
              : k == 2 ? asprintf(&path, "/networks/%s", esc)
                       : asprintf(&path, "/volumes/%s", esc);
      if (n < 0)
        return 1;
      struct berr err = {0};
      long status = 0;
      json_t *j = NULL;
      if (http_json(c, "GET", path, NULL, &j, &status, &err) < 0) {
        if (status == 404)
          continue; /* the next kind is tried only on 404, as docker */
        json_decref(j);
        return cli_fail(&err);
      }
      found = j;
    }
    if (!found && !type) {
      /* docker then asks /info (swarm objects) and plugins; plugins answer 404 here too */
      const char *more[] = {"/info", NULL};
      _cleanup_free_ char *pp = NULL;
      if (asprintf(&pp, "/plugins/%s/json", esc) < 0)
        return 1;
      more[1] = pp;
      for (size_t k = 0; k < 2; k++) {
        struct berr err = {0};
        json_t *j = NULL;
        if (http_json(c, "GET", more[k], NULL, &j, NULL, &err) < 0 && err.code == EHOSTDOWN)
          return cli_fail(&err);
        if (k == 1 && j && json_is_object(j) && json_object_get(j, "Id")) {
          found = j;
          break;
        }
        json_decref(j);
      }
    }
    if (!found) {
      fprintf(stderr, "Error: No such object: %s\n", argv[i]);
      rc = 1;
      continue;
    }
    json_array_append_new(items, found);
  }
  int r = inspect_print(items, format);
  return rc ? rc : r;
}
