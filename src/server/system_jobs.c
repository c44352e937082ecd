/* The server's default system jobs: /_ping and /version, so any engine answers the
 * version negotiation of docker CLI and docker-py. */
#include <errno.h>
#include <string.h>
#include <sys/utsname.h>

#include "api_version.h"
#include "engine/job.h"
#include "server.h"

int server_job_ping(struct job *job)
{
  job->result = json_string("OK");
  return job->result ? 0 : job_fail(job, 500, "out of memory");
}

/* Go's GOARCH names, which docker clients print and compare. */
static const char *go_arch(const char *machine)
{
  static const struct {
    const char *uname, *go;
  } map[] = {{"x86_64", "amd64"},    {"aarch64", "arm64"}, {"i686", "386"},
             {"i386", "386"},        {"armv7l", "arm"},    {"armv6l", "arm"},
             {"ppc64le", "ppc64le"}, {"s390x", "s390x"},   {"riscv64", "riscv64"}};
  for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
    if (strcmp(machine, map[i].uname) == 0)
      return map[i].go;
  return machine;
}

int server_job_version(struct job *job)
{
  struct utsname u;
  if (uname(&u) < 0)
    return job_fail(job, 500, "uname: %s", strerror(errno));
  const char *arch = go_arch(u.machine);
  json_t *v = json_pack("{s:{s:s},s:[{s:s,s:s,s:{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}}],"
                        "s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}",
                        "Platform", "Name", "berth", "Components", "Name", "Engine", "Version",
                        BERTH_VERSION, "Details", "ApiVersion", API_VERSION_MAX, "Arch", arch,
                        "BuildTime", "", "Experimental", "false", "GitCommit", "", "GoVersion", "",
                        "KernelVersion", u.release, "MinAPIVersion", API_VERSION_MIN, "Os", "linux",
                        "Version", BERTH_VERSION, "ApiVersion", API_VERSION_MAX, "MinAPIVersion",
                        API_VERSION_MIN, "GitCommit", "", "GoVersion", "", "Os", "linux", "Arch",
                        arch, "KernelVersion", u.release, "BuildTime", "");
  if (!v)
    return job_fail(job, 500, "out of memory");
  job->result = v;
  return 0;
}
