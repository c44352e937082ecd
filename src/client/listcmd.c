/* The list commands' shared skeleton: options, filtered GET, table/template/JSON output. */
#include "listcmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "common/cleanup.h"

void listcmd_free(struct listcmd *l)
{
  json_decref(l->filters);
  l->filters = NULL;
}

int listcmd_option(struct listcmd *l, int opt, const char *arg)
{
  switch (opt) {
  case 'f':
    return add_filter(l->filters, arg, l->cmd);
  case 'F':
    l->format = arg;
    return 0;
  case 'q':
    l->quiet = true;
    return 0;
  case 'T':
    l->trunc = false;
    return 0;
  default:
    return LISTCMD_NOT_MINE;
  }
}

int listcmd_get(struct client *c, const char *path, struct query *q, const struct listcmd *l,
                json_t **out)
{
  struct query none = {0};
  if (!q)
    q = &none;
  if (json_object_size(l->filters)) {
    _cleanup_free_ char *fj = filters_json(l->filters);
    query_add(q, "filters", fj);
  }
  _cleanup_free_ char *full = query_build(path, q);
  struct berr err = {0};
  if (http_json(c, "GET", full, NULL, out, NULL, &err) < 0)
    return cli_fail(&err);
  return 0;
}

int listcmd_print(const struct listcmd *l, json_t *items, const char *quiet_format,
                  const char *default_table, json_t *headers, listcmd_rows_fn rows, void *ud)
{
  const char *format = l->format;
  if (l->quiet && (!format || !*format))
    format = quiet_format;
  struct berr err = {0};
  struct formatter f;
  if (formatter_init(&f, format, default_table, headers, &err) < 0)
    goto fail;
  size_t i;
  json_t *item;
  json_array_foreach(items, i, item)
  {
    if (rows(&f, item, ud, &err) < 0)
      goto fail;
  }
  if (formatter_finish(&f, stdout, &err) < 0) {
    fprintf(stderr, "%s\n", err.msg);
    return 1;
  }
  return 0;
fail:
  formatter_free(&f);
  fprintf(stderr, "%s\n", err.msg);
  return 1;
}
