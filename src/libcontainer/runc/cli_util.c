/* Small helpers shared by berth-runc's commands: ids, signals, JSON output. */
#include <ctype.h>
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "common/signals.h"

int cli_one_id(int argc, char **argv, const char *cmd, const char **id, struct berr *err)
{
  if (argc - optind != 1)
    return berr_set(err, 0, "\"%s\" requires exactly 1 argument(s)", cmd);
  *id = argv[optind];
  return 0;
}

int cli_parse_signal(const char *s)
{
  return bsignal_parse(s);
}

void cli_print_json(void *json)
{
  char *s = json_dumps(json, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
  if (s)
    printf("%s\n", s);
  free(s);
}
