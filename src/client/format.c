/* --format handling and a clone of Go's text/tabwriter (flags 0), so tables line up
 * byte for byte with docker's: column width = max(cell + padding, minwidth). */
#include "format.h"

#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "units.h"
#include "xalloc.h"

void tabwrite(FILE *out, const char *text, size_t minwidth, size_t padding)
{
  /* Split into lines of cells; a cell is tab-terminated, the line's last part is not. */
  size_t nlines = 0, cap = 16;
  struct line {
    char **cells;
    size_t n;
  } *lines = calloc(cap, sizeof(*lines));
  const char *p = text;
  while (*p) {
    const char *eol = strchr(p, '\n');
    const char *end = eol ? eol : p + strlen(p);
    if (nlines == cap) {
      cap *= 2;
      lines = xrealloc(lines, cap * sizeof(*lines));
    }
    struct line *ln = &lines[nlines++];
    ln->cells = NULL;
    ln->n = 0;
    const char *c = p;
    for (;;) {
      const char *tab = memchr(c, '\t', (size_t)(end - c));
      const char *ce = tab ? tab : end;
      ln->cells = xrealloc(ln->cells, (ln->n + 1) * sizeof(char *));
      ln->cells[ln->n++] = strndup(c, (size_t)(ce - c));
      if (!tab)
        break;
      c = tab + 1;
    }
    p = eol ? eol + 1 : end;
  }
  /* Column blocks as in Go: consecutive lines that have a (tab-terminated) cell in column k. */
  size_t maxcols = 0;
  for (size_t i = 0; i < nlines; i++)
    if (lines[i].n > maxcols)
      maxcols = lines[i].n;
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
        size_t cw = units_utf8_len(lines[i].cells[col]) + padding;
        if (cw > w)
          w = cw;
      }
      for (size_t j = start; j < i; j++)
        widths[j * maxcols + col] = w;
    }
  }
  for (size_t i = 0; i < nlines; i++) {
    for (size_t c = 0; c < lines[i].n; c++) {
      fputs(lines[i].cells[c], out);
      if (c + 1 < lines[i].n) {
        size_t cw = units_utf8_len(lines[i].cells[c]);
        for (size_t k = cw; k < widths[i * maxcols + c]; k++)
          fputc(' ', out);
      }
      free(lines[i].cells[c]);
    }
    free(lines[i].cells);
    /* every line of text ended with \n except possibly the last */
    fputc('\n', out);
  }
  free(widths);
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
