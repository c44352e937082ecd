/* berth-init: a minimal pid 1 for `run --init`. It runs the command as its child,
 * forwards every signal it gets to it, reaps orphans, and exits with the child's status.
 * Linked statically: it runs inside whatever rootfs the image has. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
  int first = 1;
  if (argc > 1 && strcmp(argv[1], "--") == 0)
    first = 2;
  if (first >= argc || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
    fprintf(first >= argc ? stderr : stdout,
            "usage: berth-init [--] COMMAND [ARG...]\n"
            "Runs COMMAND as a child, forwards signals to it and reaps zombies.\n");
    return first >= argc ? 2 : 0;
  }
  sigset_t all;
  sigfillset(&all);
  sigprocmask(SIG_BLOCK, &all, NULL);
  pid_t child = fork();
  if (child < 0) {
    perror("berth-init: fork");
    return 1;
  }
  if (child == 0) {
    sigprocmask(SIG_UNBLOCK, &all, NULL);
    /* Own process group, so terminal job-control signals reach the command. */
    setpgid(0, 0);
    if (isatty(STDIN_FILENO))
      tcsetpgrp(STDIN_FILENO, getpid());
    execvp(argv[first], argv + first);
    fprintf(stderr, "berth-init: exec %s: %s\n", argv[first], strerror(errno));
    _exit(errno == ENOENT ? 127 : 126);
  }
  for (;;) {
    siginfo_t si;
    struct timespec ts = {.tv_sec = 1};
    int sig = sigtimedwait(&all, &si, &ts);
    if (sig > 0 && sig != SIGCHLD)
      kill(child, sig);
    /* Reap everything that has exited; our own child's status is the one we return. */
    for (;;) {
      int status;
      pid_t p = waitpid(-1, &status, WNOHANG);
      if (p <= 0)
        break;
      if (p == child)
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
  }
}
