/* Docker json-file log lines without a JSON library or strftime (see logline.h). */
#include "logline.h"

#include <stdint.h>
#include <string.h>

static const char hexdigits[] = "0123456789abcdef";

static char *put_u_escape(char *d, unsigned cp)
{
  *d++ = '\\';
  *d++ = 'u';
  for (int shift = 12; shift >= 0; shift -= 4)
    *d++ = hexdigits[(cp >> shift) & 0xf];
  return d;
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 when it is not valid. */
static size_t utf8_valid_len(const unsigned char *s, size_t n)
{
  unsigned c = s[0];
  size_t need;
  unsigned cp;
  if (c >= 0xc2 && c <= 0xdf) {
    need = 2;
    cp = c & 0x1f;
  } else if (c >= 0xe0 && c <= 0xef) {
    need = 3;
    cp = c & 0x0f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    need = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (n < need)
    return 0;
  for (size_t i = 1; i < need; i++) {
    if ((s[i] & 0xc0) != 0x80)
      return 0;
    cp = (cp << 6) | (s[i] & 0x3f);
  }
  /* overlong forms, surrogates and beyond U+10FFFF are not UTF-8 */
  if ((need == 3 && cp < 0x800) || (need == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
      (cp >= 0xd800 && cp <= 0xdfff))
    return 0;
  return need;
}

static char *put_json_string(char *d, const char *str, size_t len)
{
  const unsigned char *s = (const unsigned char *)str;
  *d++ = '"';
  for (size_t i = 0; i < len;) {
    unsigned c = s[i];
    if (c >= 0x80) {
      size_t n = utf8_valid_len(s + i, len - i);
      if (n == 0) {
        d = put_u_escape(d, 0xfffd);
        i++;
        continue;
      }
      /* U+2028 and U+2029 end lines in JavaScript: Go escapes them */
      if (n == 3 && c == 0xe2 && s[i + 1] == 0x80 && (s[i + 2] == 0xa8 || s[i + 2] == 0xa9)) {
        d = put_u_escape(d, s[i + 2] == 0xa8 ? 0x2028 : 0x2029);
      } else {
        memcpy(d, s + i, n);
        d += n;
      }
      i += n;
      continue;
    }
    switch (c) {
    case '"':
    case '\\':
      *d++ = '\\';
      *d++ = (char)c;
      break;
    case '\n':
      *d++ = '\\';
      *d++ = 'n';
      break;
    case '\r':
      *d++ = '\\';
      *d++ = 'r';
      break;
    case '\t':
      *d++ = '\\';
      *d++ = 't';
      break;
    case '<':
    case '>':
    case '&':
      d = put_u_escape(d, c);
      break;
    default:
      if (c < 0x20)
        d = put_u_escape(d, c);
      else
        *d++ = (char)c;
    }
    i++;
  }
  *d++ = '"';
  return d;
}

static char *put_digits(char *d, long v, int width)
{
  for (int i = width - 1; i >= 0; i--) {
    d[i] = (char)('0' + v % 10);
    v /= 10;
  }
  return d + width;
}

/* Proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's
 * civil_from_days), so no call reaches glibc's time-zone initialisation. */
static void civil_from_days(int64_t z, long *year, int *month, int *day)
{
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  *day = (int)(doy - (153 * mp + 2) / 5 + 1);
  *month = (int)(mp < 10 ? mp + 3 : mp - 9);
  *year = (long)(yoe + era * 400 + (*month <= 2));
}

static char *put_time(char *d, const struct timespec *when)
{
  int64_t secs = when->tv_sec;
  int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
  int64_t rem = secs - days * 86400;
  long year;
  int month, day;
  civil_from_days(days, &year, &month, &day);
  d = put_digits(d, year, 4);
  *d++ = '-';
  d = put_digits(d, month, 2);
  *d++ = '-';
  d = put_digits(d, day, 2);
  *d++ = 'T';
  d = put_digits(d, (long)(rem / 3600), 2);
  *d++ = ':';
  d = put_digits(d, (long)(rem / 60 % 60), 2);
  *d++ = ':';
  d = put_digits(d, (long)(rem % 60), 2);
  *d++ = '.';
  d = put_digits(d, when->tv_nsec, 9);
  *d++ = 'Z';
  return d;
}

size_t logline_format(char *dst, int stream, const char *line, size_t len,
                      const struct timespec *when)
{
  char *d = dst;
  memcpy(d, "{\"log\":", 7);
  d = put_json_string(d + 7, line, len);
  static const char err_tail[] = ",\"stream\":\"stderr\",\"time\":\"";
  static const char out_tail[] = ",\"stream\":\"stdout\",\"time\":\"";
  memcpy(d, stream == 2 ? err_tail : out_tail, sizeof(err_tail) - 1);
  d = put_time(d + sizeof(err_tail) - 1, when);
  memcpy(d, "\"}\n", 3);
  return (size_t)(d + 3 - dst);
}
