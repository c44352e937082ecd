/* Human-readable sizes, durations and times (docker/go-units), plus the parsers for
 * size and time flags. Matching go-units exactly keeps our tables identical to docker's. */
#include "units.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void units_human_duration(int64_t seconds, char *buf, size_t len)
{
  if (seconds < 1) {
    snprintf(buf, len, "Less than a second");
    return;
  }
  if (seconds == 1) {
    snprintf(buf, len, "1 second");
    return;
  }
  if (seconds < 60) {
    snprintf(buf, len, "%lld seconds", (long long)seconds);
    return;
  }
  int64_t minutes = seconds / 60;
  if (minutes == 1) {
    snprintf(buf, len, "About a minute");
    return;
  }
  if (minutes < 60) {
    snprintf(buf, len, "%lld minutes", (long long)minutes);
    return;
  }
  /* go-units rounds hours: int(d.Hours() + 0.5) */
  int64_t hours = (int64_t)((double)seconds / 3600.0 + 0.5);
  if (hours == 1)
    snprintf(buf, len, "About an hour");
  else if (hours < 48)
    snprintf(buf, len, "%lld hours", (long long)hours);
  else if (hours < 24 * 7 * 2)
    snprintf(buf, len, "%lld days", (long long)(hours / 24));
  else if (hours < 24 * 30 * 2)
    snprintf(buf, len, "%lld weeks", (long long)(hours / 24 / 7));
  else if (hours < 24 * 365 * 2)
    snprintf(buf, len, "%lld months", (long long)(hours / 24 / 30));
  else
    snprintf(buf, len, "%lld years", (long long)(seconds / 3600 / 24 / 365));
}

static void size_unit(double size, double base, const char *const *units, size_t n, double *out,
                      const char **unit)
{
  size_t i = 0;
  while (size >= base && i < n - 1) {
    size /= base;
    i++;
  }
  *out = size;
  *unit = units[i];
}

static const char *const decimal_units[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"};
static const char *const binary_units[] = {"B",   "KiB", "MiB", "GiB", "TiB",
                                           "PiB", "EiB", "ZiB", "YiB"};

void units_human_size_prec(double size, int precision, char *buf, size_t len)
{
  double v;
  const char *u;
  size_unit(size, 1000.0, decimal_units, 9, &v, &u);
  snprintf(buf, len, "%.*g%s", precision, v, u);
}

void units_bytes_size(double size, char *buf, size_t len)
{
  double v;
  const char *u;
  size_unit(size, 1024.0, binary_units, 9, &v, &u);
  snprintf(buf, len, "%.4g%s", v, u);
}

/* go-units parseSize: number, optional space, optional unit letter, optional i, optional b. */
static int parse_size(const char *s, double base, int64_t *out)
{
  char *end;
  errno = 0;
  if (!isdigit((unsigned char)*s))
    return -EINVAL;
  double v = strtod(s, &end);
  if (errno || end == s)
    return -EINVAL;
  if (*end == ' ')
    end++;
  double mul = 1;
  const char *letters = "kmgtp";
  if (*end && strchr("kKmMgGtTpP", *end)) {
    int idx = (int)(strchr(letters, tolower((unsigned char)*end)) - letters);
    for (int k = 0; k <= idx; k++)
      mul *= base;
    end++;
    if (*end == 'i' || *end == 'I')
      end++;
  }
  if (*end == 'b' || *end == 'B')
    end++;
  if (*end)
    return -EINVAL;
  *out = (int64_t)(v * mul);
  return 0;
}

int units_ram_in_bytes(const char *s, int64_t *out)
{
  return parse_size(s, 1024.0, out);
}

int units_from_human_size(const char *s, int64_t *out)
{
  return parse_size(s, 1000.0, out);
}

int units_parse_go_duration(const char *s, int64_t *ns)
{
  static const struct {
    const char *unit;
    double mul;
  } units[] = {{"ns", 1},  {"us", 1e3}, {"µs", 1e3},  {"ms", 1e6},
               {"s", 1e9}, {"m", 60e9}, {"h", 3600e9}};
  bool neg = false;
  double total = 0;
  if (*s == '-' || *s == '+') {
    neg = *s == '-';
    s++;
  }
  if (strcmp(s, "0") == 0) {
    *ns = 0;
    return 0;
  }
  if (!*s)
    return -EINVAL;
  while (*s) {
    char *end;
    if (!isdigit((unsigned char)*s) && *s != '.')
      return -EINVAL;
    double v = strtod(s, &end);
    if (end == s)
      return -EINVAL;
    s = end;
    size_t best = 0;
    double mul = 0;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
      size_t l = strlen(units[i].unit);
      if (strncmp(s, units[i].unit, l) == 0 && l > best) {
        best = l;
        mul = units[i].mul;
      }
    }
    if (!best)
      return -EINVAL;
    s += best;
    total += v * mul;
  }
  *ns = (int64_t)(neg ? -total : total);
  return 0;
}

/* Days since the epoch of a civil date (Howard Hinnant's algorithm), so RFC3339 parsing
 * needs no timegm/TZ games. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  unsigned yoe = (unsigned)(y - era * 400);
  unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (int64_t)doe - 719468;
}

int units_api_timestamp(const char *value, time_t now, char *buf, size_t len)
{
  int64_t ns;
  if (units_parse_go_duration(value, &ns) == 0 && strpbrk(value, "numsh")) {
    snprintf(buf, len, "%lld", (long long)(now - ns / 1000000000));
    return 0;
  }
  /* A bare unix time passes through as the daemon takes it. */
  const char *p = value;
  while (isdigit((unsigned char)*p))
    p++;
  if (p != value &&
      (*p == 0 || (*p == '.' && p[1] && strspn(p + 1, "0123456789") == strlen(p + 1)))) {
    snprintf(buf, len, "%s", value);
    return 0;
  }
  /* RFC3339 forms docker accepts: date, date + T + time, with optional fraction and zone.
   * A time without zone is local time, as docker reads it. */
  int y, mo, d, h = 0, mi = 0, sec = 0, n = 0;
  if (sscanf(value, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3)
    return -EINVAL;
  p = value + n;
  bool has_zone = false;
  long offset = 0;
  long nanos = 0;
  if (*p == 'T') {
    int m2 = 0;
    int got = sscanf(p + 1, "%2d:%2d:%2d%n", &h, &mi, &sec, &m2);
    if (got < 3) {
      m2 = 0;
      if (sscanf(p + 1, "%2d:%2d%n", &h, &mi, &m2) < 2)
        return -EINVAL;
    }
    p += 1 + m2;
    if (*p == '.') {
      p++;
      int digits = 0;
      while (isdigit((unsigned char)*p)) {
        if (digits < 9) {
          nanos = nanos * 10 + (*p - '0');
          digits++;
        }
        p++;
      }
      while (digits++ < 9)
        nanos *= 10;
    }
  }
  if (*p == 'Z') {
    has_zone = true;
    p++;
  } else if (*p == '+' || *p == '-') {
    int oh, om;
    if (sscanf(p + 1, "%2d:%2d", &oh, &om) != 2)
      return -EINVAL;
    offset = (oh * 3600 + om * 60) * (*p == '-' ? -1 : 1);
    has_zone = true;
    p += 6;
  }
  if (*p)
    return -EINVAL;
  int64_t t = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + sec;
  if (has_zone) {
    t -= offset;
  } else {
    struct tm tm = {.tm_year = y - 1900,
                    .tm_mon = mo - 1,
                    .tm_mday = d,
                    .tm_hour = h,
                    .tm_min = mi,
                    .tm_sec = sec,
                    .tm_isdst = -1};
    t = mktime(&tm);
  }
  snprintf(buf, len, "%lld.%09ld", (long long)t, nanos);
  return 0;
}

size_t units_utf8_width(const char *s, size_t len)
{
  size_t n = 0;
  for (size_t i = 0; i < len; i++)
    n += ((unsigned char)s[i] & 0xC0) != 0x80;
  return n;
}

size_t units_utf8_len(const char *s)
{
  return units_utf8_width(s, strlen(s));
}

char *units_ellipsis(const char *s, size_t max)
{
  if (units_utf8_len(s) <= max)
    return strdup(s);
  if (max == 0)
    return strdup("");
  /* keep max-1 code points, then "…" */
  size_t count = 0;
  const char *p = s;
  while (*p) {
    if (((unsigned char)*p & 0xC0) != 0x80) {
      if (count == max - 1)
        break;
      count++;
    }
    p++;
  }
  size_t keep = (size_t)(p - s);
  char *out = malloc(keep + 4);
  if (!out)
    return NULL;
  memcpy(out, s, keep);
  memcpy(out + keep, "\xe2\x80\xa6", 4);
  return out;
}

char *units_go_quote(const char *s)
{
  size_t len = strlen(s);
  char *out = malloc(len * 4 + 3);
  if (!out)
    return NULL;
  char *o = out;
  *o++ = '"';
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    switch (*p) {
    case '"':
      *o++ = '\\';
      *o++ = '"';
      break;
    case '\\':
      *o++ = '\\';
      *o++ = '\\';
      break;
    case '\n':
      *o++ = '\\';
      *o++ = 'n';
      break;
    case '\t':
      *o++ = '\\';
      *o++ = 't';
      break;
    case '\r':
      *o++ = '\\';
      *o++ = 'r';
      break;
    default:
      if (*p < 0x20 || *p == 0x7f)
        o += sprintf(o, "\\x%02x", *p);
      else
        *o++ = (char)*p;
    }
  }
  *o++ = '"';
  *o = 0;
  return out;
}

void units_format_go_time(time_t t, char *buf, size_t len)
{
  struct tm tm;
  localtime_r(&t, &tm);
  strftime(buf, len, "%Y-%m-%d %H:%M:%S %z %Z", &tm);
}

void units_format_rfc3339nano_fixed(int64_t unix_nanos, char *buf, size_t len)
{
  time_t t = (time_t)(unix_nanos / 1000000000);
  long nanos = (long)(unix_nanos % 1000000000);
  struct tm tm;
  localtime_r(&t, &tm);
  char date[32], zone[8];
  strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
  if (tm.tm_gmtoff == 0)
    snprintf(zone, sizeof(zone), "Z");
  else
    snprintf(zone, sizeof(zone), "%c%02ld:%02ld", tm.tm_gmtoff < 0 ? '-' : '+',
             labs(tm.tm_gmtoff) / 3600, (labs(tm.tm_gmtoff) % 3600) / 60);
  snprintf(buf, len, "%s.%09ld%s", date, nanos, zone);
}
