/* --format handling and a clone of Go's text/tabwriter (flags 0), so tables line up
 * byte for byte with docker's: column width = max(cell + padding, minwidth). */
#include "format.h"

#include <stdlib.h>
#include <string.h>

#include "common/bjson.h"
#include "common/cleanup.h"
#include "common/textbuf.h"
#include "units.h"
#include "xalloc.h"

/* A cell of tabwrite's input: where it is in the text and how many code points it shows. */
struct cell {
  const char *p;
  size_t len, width;
};

static void pad(struct textbuf *o, size_t n)
{
  static const char spaces[] = "                                ";
  for (; n > sizeof(spaces) - 1; n -= sizeof(spaces) - 1)
    tb_put(o, spaces, sizeof(spaces) - 1);
  tb_put(o, spaces, n);
}

void tabwrite(FILE *out, const char *text, size_t minwidth, size_t padding)
{
  /* Lines of cells pointing into text (a cell is tab-terminated, the line's last part is
   * not): no copies, so a thousand-row table costs two passes over its text. */
  size_t nlines = 0, lcap = 64, ncells = 0, ccap = 512;
  struct line {
    size_t first, n;
  } *lines = xrealloc(NULL, lcap * sizeof(*lines));
  struct cell *cells = xrealloc(NULL, ccap * sizeof(*cells));
  size_t maxcols = 0;
  const char *p = text;
  while (*p) {
    const char *eol = strchr(p, '\n');
    const char *end = eol ? eol : p + strlen(p);
    if (nlines == lcap) {
      lcap *= 2;
      lines = xrealloc(lines, lcap * sizeof(*lines));
    }
    struct line *ln = &lines[nlines++];
    ln->first = ncells;
    ln->n = 0;
    const char *c = p;
    for (;;) {
      const char *tab = memchr(c, '\t', (size_t)(end - c));
      const char *ce = tab ? tab : end;
      if (ncells == ccap) {
        ccap *= 2;
        cells = xrealloc(cells, ccap * sizeof(*cells));
      }
      size_t len = (size_t)(ce - c);
      cells[ncells++] = (struct cell){c, len, units_utf8_width(c, len)};
      ln->n++;
      if (!tab)
        break;
      c = tab + 1;
    }
    if (ln->n > maxcols)
      maxcols = ln->n;
    p = eol ? eol + 1 : end;
  }
  /* Column blocks as in Go: consecutive lines that have a (tab-terminated) cell in column k. */
  size_t *widths = calloc(nlines * (maxcols ? maxcols : 1), sizeof(size_t));
  for (size_t col = 0; col + 1 < maxcols; col++) {
    size_t i = 0;
    while (i < nlines) {
      if (lines[i].n <= col + 1) {
        i++;
        continue;
      }
      size_t start = i, w = minwidth;
      for (; i < nlines && lines[i].n > col + 1; i++) {
        size_t cw = cells[lines[i].first + col].width + padding;
        if (cw > w)
          w = cw;
      }
      for (size_t j = start; j < i; j++)
        widths[j * maxcols + col] = w;
    }
  }
  struct textbuf o = {0};
  tb_reserve(&o, (size_t)(p - text) + nlines * maxcols * padding + 1);
  for (size_t i = 0; i < nlines; i++) {
    for (size_t c = 0; c < lines[i].n; c++) {
      const struct cell *cl = &cells[lines[i].first + c];
      tb_put(&o, cl->p, cl->len);
      if (c + 1 < lines[i].n)
        pad(&o, widths[i * maxcols + c] - cl->width);
    }
    /* every line of text ended with \n except possibly the last */
    tb_putc(&o, '\n');
  }
  if (o.data)
    fwrite(o.data, 1, o.len, out);
  tb_free(&o);
  free(widths);
  free(cells);
  free(lines);
}

static char *unescape_format(const char *s)
{
  char *o = malloc(strlen(s) + 1), *q = o;
  for (; *s; s++) {
    if (s[0] == '\\' && s[1] == 't') {
      *q++ = '\t';
      s++;
    } else if (s[0] == '\\' && s[1] == 'n') {
      *q++ = '\n';
      s++;
    } else {
      *q++ = *s;
    }
  }
  *q = 0;
  return o;
}

int formatter_init(struct formatter *f, const char *format, const char *default_table,
                   json_t *headers, struct berr *err)
{
  memset(f, 0, sizeof(*f));
  f->headers = headers;
  const char *src;
  if (!format || !*format || strcmp(format, "table") == 0) {
    f->table = true;
    src = default_table;
  } else if (strncmp(format, "table ", 6) == 0) {
    f->table = true;
    src = format + 6;
  } else if (strcmp(format, "json") == 0) {
    f->json = true;
    src = "{{json .}}";
  } else {
    src = format;
  }
  while (*src == ' ')
    src++;
  _cleanup_free_ char *text = unescape_format(src);
  size_t l = strlen(text);
  while (l && text[l - 1] == ' ')
    text[--l] = 0;
  int r = tmpl_parse(text, &f->tmpl, err);
  if (r < 0)
    return r;
  f->rows = open_memstream(&f->buf, &f->len);
  if (!f->rows)
    return berr_errno(err, "open_memstream");
  return 0;
}

bool formatter_uses(const struct formatter *f, const char *name)
{
  return f->json || !f->tmpl || tmpl_uses_field(f->tmpl, name);
}

int formatter_row(struct formatter *f, json_t *row, json_t *labels, struct berr *err)
{
  if (f->json) {
    tmpl_print_json_sorted(f->rows, row);
    fputc('\n', f->rows);
    return 0;
  }
  int r = tmpl_render(f->tmpl, row, labels, f->rows, err);
  if (r < 0)
    return r;
  fputc('\n', f->rows);
  return 0;
}

const char fmt_null[] = "null";

/* Whether every action of a flat template reads a field of the row; where it sits. */
static void plan_flat(struct formatter *f, const char *const *names, size_t n)
{
  const char *used[32];
  size_t nused = f->json ? 0 : tmpl_flat_fields(f->tmpl, used, 32);
  f->flat = nused ? FLAT_YES : FLAT_NO;
  f->nflat = nused;
  for (size_t i = 0; i < nused && f->flat == FLAT_YES; i++) {
    size_t k = 0;
    while (k < n && strcmp(names[k], used[i]) != 0)
      k++;
    if (k == n)
      f->flat = FLAT_NO; /* Go prints "<no value>": the JSON path knows how */
    f->flat_idx[i] = k;
  }
}

int formatter_row_fields(struct formatter *f, const char *const *names, const char *const *values,
                         size_t n, json_t *labels, struct berr *err)
{
  if (f->flat == FLAT_UNKNOWN)
    plan_flat(f, names, n);
  if (f->flat == FLAT_YES) {
    const char *shown[32];
    size_t i;
    for (i = 0; i < f->nflat; i++) {
      const char *v = values[f->flat_idx[i]];
      if (!v)
        break; /* this row lacks a field the template reads */
      shown[i] = v == fmt_null ? NULL : v;
    }
    if (i == f->nflat) {
      tmpl_render_flat(f->tmpl, shown, f->rows);
      fputc('\n', f->rows);
      return 0;
    }
  }
  json_auto_t *row = json_object();
  for (size_t i = 0; i < n; i++)
    if (values[i])
      json_object_set_new(row, names[i],
                          values[i] == fmt_null ? json_null() : json_string(values[i]));
  return formatter_row(f, row, labels, err);
}

int formatter_finish(struct formatter *f, FILE *out, struct berr *err)
{
  fclose(f->rows);
  f->rows = NULL;
  int r = 0;
  if (f->table) {
    char *hdr = NULL;
    size_t hl = 0;
    FILE *h = open_memstream(&hdr, &hl);
    r = tmpl_render_header(f->tmpl, f->headers, h, err);
    fputc('\n', h);
    fwrite(f->buf, 1, f->len, h);
    fclose(h);
    if (r >= 0) {
      /* drop the final newline: tabwrite ends every line itself */
      if (hl && hdr[hl - 1] == '\n')
        hdr[hl - 1] = 0;
      tabwrite(out, hdr, 10, 3);
    }
    free(hdr);
  } else {
    fwrite(f->buf, 1, f->len, out);
  }
  formatter_free(f);
  return r;
}

void formatter_free(struct formatter *f)
{
  if (f->rows)
    fclose(f->rows);
  f->rows = NULL;
  free(f->buf);
  f->buf = NULL;
  if (f->tmpl)
    tmpl_free(f->tmpl);
  f->tmpl = NULL;
}
