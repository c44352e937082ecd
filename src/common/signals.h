/* Signal names as users and the Docker API write them: "SIGKILL", "KILL", "kill", "9",
 * "SIGRTMIN+3". */
#pragma once

/* The signal number, or -1 when unknown. */
int bsignal_parse(const char *s);
/* "SIGKILL" for 9; NULL when unknown. */
const char *bsignal_name(int sig);
