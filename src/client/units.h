/* Human-readable sizes, durations and times the way docker's go-units prints them,
 * and the parsers for sizes (--memory 64m) and times (--since 10m). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* go-units HumanDuration: "Less than a second", "About a minute", "3 hours", ... */
void units_human_duration(int64_t seconds, char *buf, size_t len);
/* go-units HumanSizeWithPrecision: decimal units (B, kB, MB, ...) with %.*g. */
void units_human_size_prec(double size, int precision, char *buf, size_t len);
/* go-units BytesSize: binary units (B, KiB, MiB, ...) with %.4g. */
void units_bytes_size(double size, char *buf, size_t len);
/* go-units RAMInBytes: "64m", "1g", "512k", "100" (bytes), binary multipliers. */
int units_ram_in_bytes(const char *s, int64_t *out);
/* go-units FromHumanSize: decimal multipliers ("1kB" = 1000). */
int units_from_human_size(const char *s, int64_t *out);
/* A Go duration ("10m", "1h30m", "1.5s", "0s") in nanoseconds. */
int units_parse_go_duration(const char *s, int64_t *ns);
/* docker's GetTimestamp for --since/--until: a duration back from now, a unix time
 * ("1700000000[.nanos]"), or an RFC3339 date/time. Writes what the API takes. */
int units_api_timestamp(const char *value, time_t now, char *buf, size_t len);
/* Number of UTF-8 code points (display width for the text docker prints). */
size_t units_utf8_len(const char *s);
/* The same for the first len bytes of s. */
size_t units_utf8_width(const char *s, size_t len);
/* docker's Ellipsis: at most max code points, the last one replaced by "…". Malloc'd. */
char *units_ellipsis(const char *s, size_t max);
/* Go's strconv.Quote for printable text: "..." with \" \\ and control chars escaped. */
char *units_go_quote(const char *s);
/* Go time formatting of a unix time in local time: "2006-01-02 15:04:05 -0700 MST". */
void units_format_go_time(time_t t, char *buf, size_t len);
/* RFC3339 with fixed 9-digit nanos, "Z" for UTC: 2006-01-02T15:04:05.000000000Z07:00 */
void units_format_rfc3339nano_fixed(int64_t unix_nanos, char *buf, size_t len);
