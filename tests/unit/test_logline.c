/* The shim's hand-made json-file log lines: they must parse as JSON, carry the payload
 * byte for byte (or U+FFFD for bytes that are not UTF-8), and give the same time gmtime does. */
#include <jansson.h>
#include <time.h>

#include "check.h"
#include "execdriver/logline.h"

/* Formats payload, parses the result with jansson and returns the parsed object. */
static json_t *roundtrip(const char *payload, size_t len, int stream, const struct timespec *ts,
                         char *out)
{
  size_t n = logline_format(out, stream, payload, len, ts);
  CHECK(n > 0 && out[n - 1] == '\n');
  CHECK(memchr(out, '\n', n) == out + n - 1); /* one line, whatever the payload */
  json_error_t jerr;
  json_t *j = json_loadb(out, n, JSON_ALLOW_NUL, &jerr);
  if (!j)
    printf("# parse error: %s in %.*s\n", jerr.text, (int)n, out);
  return j;
}

static void check_payload(const char *in, size_t len, const char *want, size_t want_len)
{
  static char out[LOGLINE_MAX(256)];
  struct timespec ts = {0, 0};
  json_t *j = roundtrip(in, len, 1, &ts, out);
  CHECK(j != NULL);
  if (!j)
    return;
  json_t *log = json_object_get(j, "log");
  CHECK(json_string_length(log) == want_len && memcmp(json_string_value(log), want, want_len) == 0);
  json_decref(j);
}

int main(void)
{
  static char out[LOGLINE_MAX(64)];

  /* streams and the time field */
  struct timespec ts = {.tv_sec = 1795837563, .tv_nsec = 5};
  json_t *j = roundtrip("hello\n", 6, 2, &ts, out);
  CHECK(j != NULL);
  CHECK_STREQ(json_string_value(json_object_get(j, "stream")), "stderr");
  CHECK_STREQ(json_string_value(json_object_get(j, "log")), "hello\n");
  struct tm tm;
  time_t secs = ts.tv_sec;
  gmtime_r(&secs, &tm);
  char want[64];
  strftime(want, sizeof(want), "%Y-%m-%dT%H:%M:%S.000000005Z", &tm);
  CHECK_STREQ(json_string_value(json_object_get(j, "time")), want);
  json_decref(j);
  j = roundtrip("x", 1, 1, &ts, out);
  CHECK_STREQ(json_string_value(json_object_get(j, "stream")), "stdout");
  json_decref(j);

  /* the date conversion agrees with gmtime over leap years, centuries and month ends */
  int bad_dates = 0;
  for (int64_t t = 0; t < 4102444800; t += 86400 * 7 + 3601) {
    struct timespec at = {.tv_sec = (time_t)t, .tv_nsec = 123456789};
    size_t n = logline_format(out, 1, "", 0, &at);
    secs = (time_t)t;
    gmtime_r(&secs, &tm);
    strftime(want, sizeof(want), "\"time\":\"%Y-%m-%dT%H:%M:%S.123456789Z\"}\n", &tm);
    size_t wl = strlen(want);
    if (n < wl || memcmp(out + n - wl, want, wl) != 0)
      bad_dates++;
  }
  CHECK(bad_dates == 0);

  /* escapes, as Go's encoding/json writes them; the payload survives the round trip */
  check_payload("a\"b\\c\td\r\x01\x1f", 10, "a\"b\\c\td\r\x01\x1f", 10);
  const char *esc = "<a href=\"x\">&amp;</a>";
  check_payload(esc, strlen(esc), esc, strlen(esc));
  static char raw[LOGLINE_MAX(64)];
  size_t n = logline_format(raw, 1, "<&>", 3, &ts);
  CHECK(n > 0 && strstr(raw, "\\u003c\\u0026\\u003e") != NULL);
  n = logline_format(raw, 1, "\xe2\x80\xa8", 3, &ts);
  CHECK(strstr(raw, "\\u2028") != NULL);
  /* valid multi-byte UTF-8 is kept as is */
  const char *utf = "gr\xc3\xbc\xc3\x9f \xe2\x82\xac \xf0\x9f\x90\xb3";
  check_payload(utf, strlen(utf), utf, strlen(utf));
  n = logline_format(raw, 1, utf, strlen(utf), &ts);
  CHECK(strstr(raw, utf) != NULL);
  /* invalid bytes, overlong forms, surrogates and a cut sequence become U+FFFD each */
  check_payload("a\xff"
                "b",
                3,
                "a\xef\xbf\xbd"
                "b",
                5);
  check_payload("\xc0\xaf", 2, "\xef\xbf\xbd\xef\xbf\xbd", 6);
  check_payload("\xed\xa0\x80", 3, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", 9);
  check_payload("x\xe2\x82", 3, "x\xef\xbf\xbd\xef\xbf\xbd", 7);
  /* NUL bytes in the payload are data too */
  check_payload("a\0b", 3, "a\0b", 3);

  /* the worst case fits in LOGLINE_MAX */
  static char worst_in[256];
  memset(worst_in, 0x01, sizeof(worst_in));
  static char worst_out[LOGLINE_MAX(256)];
  n = logline_format(worst_out, 2, worst_in, sizeof(worst_in), &ts);
  CHECK(n <= sizeof(worst_out));
  CHECK_DONE();
}
