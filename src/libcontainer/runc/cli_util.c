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

int cli_one_id(int argc, char **argv, const char *cmd, const char **id, struct berr *err)
{
  if (argc - optind != 1)
    return berr_set(err, 0, "\"%s\" requires exactly 1 argument(s)", cmd);
  *id = argv[optind];
  return 0;
}

static const struct {
  const char *name;
  int sig;
} signals[] = {
    {"HUP", SIGHUP},       {"INT", SIGINT},   {"QUIT", SIGQUIT},     {"ILL", SIGILL},
    {"TRAP", SIGTRAP},     {"ABRT", SIGABRT}, {"IOT", SIGIOT},       {"BUS", SIGBUS},
    {"FPE", SIGFPE},       {"KILL", SIGKILL}, {"USR1", SIGUSR1},     {"SEGV", SIGSEGV},
    {"USR2", SIGUSR2},     {"PIPE", SIGPIPE}, {"ALRM", SIGALRM},     {"TERM", SIGTERM},
    {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD}, {"CONT", SIGCONT},     {"STOP", SIGSTOP},
    {"TSTP", SIGTSTP},     {"TTIN", SIGTTIN}, {"TTOU", SIGTTOU},     {"URG", SIGURG},
    {"XCPU", SIGXCPU},     {"XFSZ", SIGXFSZ}, {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF},
    {"WINCH", SIGWINCH},   {"IO", SIGIO},     {"POLL", SIGPOLL},     {"PWR", SIGPWR},
    {"SYS", SIGSYS},
};

int cli_parse_signal(const char *s)
{
  char *end;
  long n = strtol(s, &end, 10);
  if (*s && !*end)
    return n > 0 && n < _NSIG ? (int)n : -1;
  if (strncasecmp(s, "SIG", 3) == 0)
    s += 3;
  for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
    if (strcasecmp(s, signals[i].name) == 0)
      return signals[i].sig;
  if (strncasecmp(s, "RTMIN+", 6) == 0) {
    n = strtol(s + 6, &end, 10);
    if (!*end && n >= 0 && SIGRTMIN + n <= SIGRTMAX)
      return SIGRTMIN + (int)n;
  }
  return -1;
}

void cli_print_json(void *json)
{
  char *s = json_dumps(json, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
  if (s)
    printf("%s\n", s);
  free(s);
}
