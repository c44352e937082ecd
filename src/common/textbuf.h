/* A growable text buffer for answers built piece by piece (long JSON lists). An
 * open_memstream grows by allocating, copying and zero-filling a new buffer at every
 * doubling, which was a fifth of `ps -a` with a thousand containers; this one reallocs. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct textbuf {
  char *data; /* NUL-terminated while not failed */
  size_t len, cap;
  bool failed; /* an allocation failed: later writes are dropped */
};

/* Room for n more bytes at once, when the caller can tell the size to come. */
void tb_reserve(struct textbuf *b, size_t n);
void tb_put(struct textbuf *b, const char *s, size_t n);
void tb_puts(struct textbuf *b, const char *s);
void tb_putc(struct textbuf *b, char c);
void tb_printf(struct textbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The text, now the caller's (NULL after a failed allocation); the buffer is empty again. */
char *tb_steal(struct textbuf *b);
void tb_free(struct textbuf *b);
