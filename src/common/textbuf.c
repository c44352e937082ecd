/* Growable text buffer (textbuf.h). */
#include "textbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prefault.h"

/* Room for n more bytes and the NUL. */
static bool reserve(struct textbuf *b, size_t n)
{
  if (b->failed)
    return false;
  if (b->len + n + 1 <= b->cap)
    return true;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < b->len + n + 1)
    cap *= 2;
  char *p = realloc(b->data, cap);
  if (!p) {
    b->failed = true;
    return false;
  }
  mem_prefault(p + b->len, cap - b->len); /* the part about to be written */
  b->data = p;
  b->cap = cap;
  return true;
}

void tb_put(struct textbuf *b, const char *s, size_t n)
{
  if (!reserve(b, n))
    return;
  memcpy(b->data + b->len, s, n);
  b->len += n;
  b->data[b->len] = '\0';
}

void tb_puts(struct textbuf *b, const char *s)
{
  tb_put(b, s, strlen(s));
}

void tb_putc(struct textbuf *b, char c)
{
  if (!reserve(b, 1))
    return;
  b->data[b->len++] = c;
  b->data[b->len] = '\0';
}

void tb_printf(struct textbuf *b, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  char small[256];
  int n = vsnprintf(small, sizeof(small), fmt, ap);
  va_end(ap);
  if (n < 0) {
    b->failed = true;
    return;
  }
  if ((size_t)n < sizeof(small)) {
    tb_put(b, small, (size_t)n);
    return;
  }
  if (!reserve(b, (size_t)n))
    return;
  va_start(ap, fmt);
  vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
}

char *tb_steal(struct textbuf *b)
{
  char *p = b->failed ? NULL : b->data;
  if (b->failed)
    free(b->data);
  else if (!p)
    p = strdup("");
  *b = (struct textbuf){0};
  return p;
}

void tb_free(struct textbuf *b)
{
  free(b->data);
  *b = (struct textbuf){0};
}

void tb_reserve(struct textbuf *b, size_t n)
{
  reserve(b, n);
}
