/* berth container prune, system prune and system df, with the docker CLI's prompts and
 * output. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "common/cleanup.h"
#include "format.h"
#include "units.h"

static const char container_prune_usage[] =
    "Usage:  berth container prune [OPTIONS]\n\nRemove all stopped containers\n\nOptions:\n"
    "      --filter filter   Provide filter values (e.g. \"until=<timestamp>\")\n"
    "  -f, --force           Do not prompt for confirmation\n";
static const char system_prune_usage[] =
    "Usage:  berth system prune [OPTIONS]\n\nRemove unused data\n\nOptions:\n"
    "  -a, --all             Remove all unused images not just dangling ones\n"
    "      --filter filter   Provide filter values (e.g. \"label=<key>=<value>\")\n"
    "  -f, --force           Do not prompt for confirmation\n"
    "      --volumes         Prune anonymous volumes\n";
static const char system_df_usage[] =
    "Usage:  berth system df [OPTIONS]\n\nShow berth disk usage\n\nOptions:\n"
    "      --format string   Format output using a custom template\n"
    "  -v, --verbose         Show detailed information on space usage\n";

static int post_prune(struct client *c, const char *base, json_t *filters, json_t **rep,
                      struct berr *err)
{
  struct query q = {0};
  _cleanup_free_ char *fj = filters_json(filters);
  if (json_object_size(filters))
    query_add(&q, "filters", fj);
  _cleanup_free_ char *path = query_build(base, &q);
  return http_json(c, "POST", path, NULL, rep, NULL, err);
}

static void print_deleted(const char *title, json_t *list)
{
  if (!json_array_size(list))
    return;
  printf("%s:\n", title);
  size_t i;
  json_t *v;
  json_array_foreach(list, i, v)
  {
    const char *s = json_string_value(v);
    if (s)
      printf("%s\n", s);
    const char *u = json_string_value(json_object_get(v, "Untagged"));
    const char *d = json_string_value(json_object_get(v, "Deleted"));
    if (u)
      printf("untagged: %s\n", u);
    if (d)
      printf("deleted: %s\n", d);
  }
  printf("\n");
}

int cmd_container_prune(struct client *c, int argc, char **argv)
{
  static const struct option longopts[] = {{"force", no_argument, NULL, 'f'},
                                           {"filter", required_argument, NULL, 'F'},
                                           {"help", no_argument, NULL, 0x7ffe},
                                           {0}};
  bool force = false;
  json_auto_t *filters = json_object();
  int o;
  int r = 0;
  optind = 0;
  while ((o = cli_getopt(argc, argv, "f", longopts, "container prune", container_prune_usage)) !=
         -1) {
    if (o < -1)
      return CLI_GETOPT_LOOP_EXIT(o);
    if (o == 'f')
      force = true;
    else if (o == 'F' && (r = add_filter(filters, optarg, "container prune")) != 0)
      return r;
  }
  if (!force && !cli_confirm("WARNING! This will remove all stopped containers.\n"))
    return 0;
  json_auto_t *rep = NULL;
  struct berr err = {0};
  if (post_prune(c, "/containers/prune", filters, &rep, &err) < 0)
    return cli_fail(&err);
  print_deleted("Deleted Containers", json_object_get(rep, "ContainersDeleted"));
  char sz[32];
  units_human_size_prec((double)json_integer_value(json_object_get(rep, "SpaceReclaimed")), 4, sz,
                        sizeof(sz));
  printf("Total reclaimed space: %s\n", sz);
  return 0;
}

int cmd_system_prune(struct client *c, int argc, char **argv)
{
  static const struct option longopts[] = {
      {"all", no_argument, NULL, 'a'},     {"force", no_argument, NULL, 'f'},
      {"volumes", no_argument, NULL, 'V'}, {"filter", required_argument, NULL, 'F'},
      {"help", no_argument, NULL, 0x7ffe}, {0}};
  bool all = false, force = false, volumes = false;
  json_auto_t *filters = json_object();
  int o;
  int r = 0;
  optind = 0;
  while ((o = cli_getopt(argc, argv, "af", longopts, "system prune", system_prune_usage)) != -1) {
    if (o < -1)
      return CLI_GETOPT_LOOP_EXIT(o);
    if (o == 'a')
      all = true;
    else if (o == 'f')
      force = true;
    else if (o == 'V')
      volumes = true;
    else if (o == 'F' && (r = add_filter(filters, optarg, "system prune")) != 0)
      return r;
  }
  if (!force) {
    char text[512];
    snprintf(text, sizeof(text),
             "WARNING! This will remove:\n  - all stopped containers\n  - all networks not used "
             "by at least one container\n%s  - %s\n  - unused build cache\n\n",
             volumes ? "  - all anonymous volumes not used by at least one container\n" : "",
             all ? "all images without at least one container associated to them"
                 : "all dangling images");
    if (!cli_confirm(text))
      return 0;
  }
  struct berr err = {0};
  json_int_t reclaimed = 0;
  json_auto_t *crep = NULL;
  if (post_prune(c, "/containers/prune", filters, &crep, &err) < 0)
    return cli_fail(&err);
  print_deleted("Deleted Containers", json_object_get(crep, "ContainersDeleted"));
  reclaimed += json_integer_value(json_object_get(crep, "SpaceReclaimed"));
  /* Networks and volumes where the daemon has them (a 501 means it has not). */
  json_auto_t *nrep = NULL;
  struct berr nerr = {0};
  if (post_prune(c, "/networks/prune", filters, &nrep, &nerr) == 0)
    print_deleted("Deleted Networks", json_object_get(nrep, "NetworksDeleted"));
  if (volumes) {
    json_auto_t *vrep = NULL;
    struct berr verr = {0};
    if (post_prune(c, "/volumes/prune", filters, &vrep, &verr) == 0) {
      print_deleted("Deleted Volumes", json_object_get(vrep, "VolumesDeleted"));
      reclaimed += json_integer_value(json_object_get(vrep, "SpaceReclaimed"));
    }
  }
  json_auto_t *ifilters = json_deep_copy(filters);
  json_object_set_new(ifilters, "dangling", json_pack("{s:b}", all ? "false" : "true", 1));
  json_auto_t *irep = NULL;
  if (post_prune(c, "/images/prune", ifilters, &irep, &err) < 0)
    return cli_fail(&err);
  print_deleted("Deleted Images", json_object_get(irep, "ImagesDeleted"));
  reclaimed += json_integer_value(json_object_get(irep, "SpaceReclaimed"));
  char sz[32];
  units_human_size_prec((double)reclaimed, 4, sz, sizeof(sz));
  printf("Total reclaimed space: %s\n", sz);
  return 0;
}

int cmd_system_df(struct client *c, int argc, char **argv)
{
  static const struct option longopts[] = {{"verbose", no_argument, NULL, 'v'},
                                           {"format", required_argument, NULL, 'F'},
                                           {"help", no_argument, NULL, 0x7ffe},
                                           {0}};
  const char *format = NULL;
  int o;
  optind = 0;
  while ((o = cli_getopt(argc, argv, "v", longopts, "system df", system_df_usage)) != -1) {
    if (o < -1)
      return CLI_GETOPT_LOOP_EXIT(o);
    if (o == 'F')
      format = optarg;
  }
  json_auto_t *df = NULL;
  struct berr err = {0};
  if (http_json(c, "GET", "/system/df", NULL, &df, NULL, &err) < 0)
    return cli_fail(&err);
  struct {
    const char *type, *key;
  } kinds[] = {{"Images", "Images"},
               {"Containers", "Containers"},
               {"Local Volumes", "Volumes"},
               {"Build Cache", "BuildCache"}};
  json_auto_t *headers =
      json_pack("{s:s,s:s,s:s,s:s,s:s}", "Type", "TYPE", "TotalCount", "TOTAL", "Active", "ACTIVE",
                "Size", "SIZE", "Reclaimable", "RECLAIMABLE");
  struct formatter f;
  if (formatter_init(&f, format,
                     "{{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}",
                     headers, &err) < 0) {
    formatter_free(&f);
    return cli_fail(&err);
  }
  for (size_t k = 0; k < 4; k++) {
    json_t *list = json_object_get(df, kinds[k].key);
    double size = 0, reclaim = 0;
    int active = 0;
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v)
    {
      double s =
          k == 0   ? (double)json_integer_value(json_object_get(v, "Size"))
          : k == 1 ? (double)json_integer_value(json_object_get(v, "SizeRw"))
          : k == 2
              ? (double)json_integer_value(json_object_get(json_object_get(v, "UsageData"), "Size"))
              : (double)json_integer_value(json_object_get(v, "Size"));
      bool used =
          k == 0   ? json_integer_value(json_object_get(v, "Containers")) > 0
          : k == 1 ? strcmp(json_string_value(json_object_get(v, "State")) ?: "", "running") == 0
          : k == 2
              ? json_integer_value(json_object_get(json_object_get(v, "UsageData"), "RefCount")) > 0
              : json_is_true(json_object_get(v, "InUse"));
      size += s;
      if (used)
        active++;
      else
        reclaim += s;
    }
    char total[32], sz[32], rc[32], act[32], rtext[64];
    snprintf(total, sizeof(total), "%zu", json_array_size(list));
    snprintf(act, sizeof(act), "%d", active);
    units_human_size_prec(size, 4, sz, sizeof(sz));
    units_human_size_prec(reclaim, 4, rc, sizeof(rc));
    if (k < 2 && size > 0)
      snprintf(rtext, sizeof(rtext), "%s (%d%%)", rc, (int)(reclaim * 100 / size));
    else
      snprintf(rtext, sizeof(rtext), "%s", rc);
    json_auto_t *row = json_pack("{s:s,s:s,s:s,s:s,s:s}", "Type", kinds[k].type, "TotalCount",
                                 total, "Active", act, "Size", sz, "Reclaimable", rtext);
    formatter_row(&f, row, NULL, &err);
  }
  return formatter_finish(&f, stdout, &err) < 0 ? cli_fail(&err) : 0;
}
