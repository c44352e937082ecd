/* Signal name table shared by berth-runc, berthd and the CLI. */
#include "signals.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct {
  const char *name;
  int sig;
} signals[] = {
    {"SIGHUP", SIGHUP},       {"SIGINT", SIGINT},   {"SIGQUIT", SIGQUIT},     {"SIGILL", SIGILL},
    {"SIGTRAP", SIGTRAP},     {"SIGABRT", SIGABRT}, {"SIGIOT", SIGIOT},       {"SIGBUS", SIGBUS},
    {"SIGFPE", SIGFPE},       {"SIGKILL", SIGKILL}, {"SIGUSR1", SIGUSR1},     {"SIGSEGV", SIGSEGV},
    {"SIGUSR2", SIGUSR2},     {"SIGPIPE", SIGPIPE}, {"SIGALRM", SIGALRM},     {"SIGTERM", SIGTERM},
    {"SIGSTKFLT", SIGSTKFLT}, {"SIGCHLD", SIGCHLD}, {"SIGCONT", SIGCONT},     {"SIGSTOP", SIGSTOP},
    {"SIGTSTP", SIGTSTP},     {"SIGTTIN", SIGTTIN}, {"SIGTTOU", SIGTTOU},     {"SIGURG", SIGURG},
    {"SIGXCPU", SIGXCPU},     {"SIGXFSZ", SIGXFSZ}, {"SIGVTALRM", SIGVTALRM}, {"SIGPROF", SIGPROF},
    {"SIGWINCH", SIGWINCH},   {"SIGIO", SIGIO},     {"SIGPOLL", SIGPOLL},     {"SIGPWR", SIGPWR},
    {"SIGSYS", SIGSYS},
};

int bsignal_parse(const char *s)
{
  char *end;
  long n = strtol(s, &end, 10);
  if (*s && !*end)
    return n > 0 && n < _NSIG ? (int)n : -1;
  if (strncasecmp(s, "SIG", 3) == 0)
    s += 3;
  for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
    if (strcasecmp(s, signals[i].name + 3) == 0)
      return signals[i].sig;
  if (strncasecmp(s, "RTMIN+", 6) == 0) {
    n = strtol(s + 6, &end, 10);
    if (!*end && n >= 0 && SIGRTMIN + n <= SIGRTMAX)
      return SIGRTMIN + (int)n;
  }
  return -1;
}

const char *bsignal_name(int sig)
{
  for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
    if (signals[i].sig == sig)
      return signals[i].name;
  return NULL;
}
