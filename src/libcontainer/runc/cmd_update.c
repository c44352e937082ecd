/* berth-runc update: new resource limits for a running container, from a
 * linux.resources JSON file (or stdin) and/or runc's individual flags. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "common/bjson.h"
#include "common/fileutil.h"
#include "libcontainer/container.h"

enum {
  OPT_MEM = 1000,
  OPT_MEM_RES,
  OPT_MEM_SWAP,
  OPT_SHARES,
  OPT_QUOTA,
  OPT_PERIOD,
  OPT_CPUS,
  OPT_MEMS,
  OPT_PIDS,
  OPT_BLKIO
};

/* "512m", "1g", "1024" -> bytes; -1 stays -1 (unlimited). */
static int parse_bytes(const char *s, json_int_t *out)
{
  char *end;
  long long v = strtoll(s, &end, 10);
  if (end == s)
    return -EINVAL;
  long long mul = 1;
  switch (*end) {
  case 'k':
  case 'K':
    mul = 1LL << 10;
    end++;
    break;
  case 'm':
  case 'M':
    mul = 1LL << 20;
    end++;
    break;
  case 'g':
  case 'G':
    mul = 1LL << 30;
    end++;
    break;
  }
  if (*end == 'b' || *end == 'B')
    end++;
  if (*end)
    return -EINVAL;
  *out = v < 0 ? -1 : v * mul;
  return 0;
}

static json_t *section(json_t *res, const char *name)
{
  json_t *s = json_object_get(res, name);
  if (!json_is_object(s)) {
    s = json_object();
    json_object_set_new(res, name, s);
  }
  return s;
}

int cmd_update(struct cli *cli, int argc, char **argv, struct berr *err)
{
  static const struct option opts[] = {
      {"resources", required_argument, NULL, 'r'},
      {"memory", required_argument, NULL, OPT_MEM},
      {"memory-reservation", required_argument, NULL, OPT_MEM_RES},
      {"memory-swap", required_argument, NULL, OPT_MEM_SWAP},
      {"cpu-shares", required_argument, NULL, OPT_SHARES},
      {"cpu-quota", required_argument, NULL, OPT_QUOTA},
      {"cpu-period", required_argument, NULL, OPT_PERIOD},
      {"cpuset-cpus", required_argument, NULL, OPT_CPUS},
      {"cpuset-mems", required_argument, NULL, OPT_MEMS},
      {"pids-limit", required_argument, NULL, OPT_PIDS},
      {"blkio-weight", required_argument, NULL, OPT_BLKIO},
      {"help", no_argument, NULL, 'h'},
      {0, 0, 0, 0},
  };
  json_auto_t *res = NULL;
  json_auto_t *flags = json_object();
  int c;
  while ((c = getopt_long(argc, argv, "+r:h", opts, NULL)) != -1) {
    json_int_t v = 0;
    const char *name = NULL;
    for (const struct option *o = opts; o->name; o++)
      if (o->val == c)
        name = o->name;
    if (c >= OPT_MEM && c <= OPT_BLKIO && c != OPT_CPUS && c != OPT_MEMS &&
        parse_bytes(optarg, &v) < 0)
      return berr_set(err, 0, "invalid value for --%s: %s", name, optarg);
    switch (c) {
    case 'r': {
      char *text = NULL;
      size_t len = 0;
      if (bf_read_all(optarg, &text, &len, err) < 0)
        return -err->code;
      int r = bjson_load_string(text, len, &res, err);
      free(text);
      if (r < 0)
        return berr_wrap(err, "--resources");
      if (!json_is_object(res))
        return berr_set(err, 0, "--resources: expected a JSON object");
      break;
    }
    case OPT_MEM:
      json_object_set_new(section(flags, "memory"), "limit", json_integer(v));
      break;
    case OPT_MEM_RES:
      json_object_set_new(section(flags, "memory"), "reservation", json_integer(v));
      break;
    case OPT_MEM_SWAP:
      json_object_set_new(section(flags, "memory"), "swap", json_integer(v));
      break;
    case OPT_SHARES:
      json_object_set_new(section(flags, "cpu"), "shares", json_integer(v));
      break;
    case OPT_QUOTA:
      json_object_set_new(section(flags, "cpu"), "quota", json_integer(v));
      break;
    case OPT_PERIOD:
      json_object_set_new(section(flags, "cpu"), "period", json_integer(v));
      break;
    case OPT_CPUS:
      json_object_set_new(section(flags, "cpu"), "cpus", json_string(optarg));
      break;
    case OPT_MEMS:
      json_object_set_new(section(flags, "cpu"), "mems", json_string(optarg));
      break;
    case OPT_PIDS:
      json_object_set_new(section(flags, "pids"), "limit", json_integer(v));
      break;
    case OPT_BLKIO:
      json_object_set_new(section(flags, "blockIO"), "weight", json_integer(v));
      break;
    case 'h':
      cli_command_help("update");
      return 0;
    default:
      return berr_set(err, 0, "update: bad option; see --help");
    }
  }
  const char *id;
  if (cli_one_id(argc, argv, "update", &id, err) < 0)
    return -EINVAL;
  if (!res)
    res = json_object();
  /* Flags win over the file, as in runc. */
  json_object_update_recursive(res, flags);
  return lc_container_update(cli->root, id, res, err);
}
