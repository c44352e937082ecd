/* Unit tests for the checks made on a container's resources and options before anything is
 * created (engine/resources.c), and for the seccomp profile conversion (execdriver). */
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "engine/resources.h"
#include "execdriver/spec_options.h"

/* The message resources_check_create gives for this HostConfig (and Config), "" when ok. */
static const char *verdict(const char *host_json, const char *config_json, char *buf, size_t len)
{
  json_t *host = json_loads(host_json, 0, NULL);
  json_t *config = json_loads(config_json ? config_json : "{}", 0, NULL);
  struct berr err = {0};
  int r = resources_check_create(config, host, NULL, &err);
  snprintf(buf, len, "%s", r < 0 ? err.msg : "");
  json_decref(host);
  json_decref(config);
  return buf;
}

static bool has(const char *host_json, const char *config_json, const char *want)
{
  char buf[1024];
  const char *got = verdict(host_json, config_json, buf, sizeof(buf));
  bool ok = *want ? strstr(got, want) != NULL : *got == 0;
  if (!ok)
    printf("# %s -> \"%s\", wanted \"%s\"\n", host_json, got, want);
  return ok;
}

int main(void)
{
  CHECK(has("{\"Memory\": 33554432}", NULL, ""));
  CHECK(has("{\"Memory\": 3145728}", NULL, "Minimum memory limit allowed is 6MB"));
  CHECK(has("{\"MemoryReservation\": 1048576}", NULL, "Minimum memory reservation allowed is 6MB"));
  CHECK(has("{\"Memory\": 20971520, \"MemorySwap\": 10485760}", NULL,
            "Minimum memoryswap limit should be larger than memory limit"));
  CHECK(has("{\"MemorySwap\": 10485760}", NULL, "You should always set the Memory limit"));
  CHECK(has("{\"NanoCpus\": 1000000000, \"CpuQuota\": 50000}", NULL,
            "Nano CPUs and CPU Quota cannot both be set"));
  CHECK(has("{\"NanoCpus\": 999000000000}", NULL, "Range of CPUs is from 0.01 to"));
  CHECK(has("{\"CpuPeriod\": 999}", NULL, "CPU cfs period can not be less than 1ms"));
  CHECK(has("{\"CpusetCpus\": \"0-\"}", NULL, "Invalid value 0- for cpuset cpus"));
  CHECK(has("{\"BlkioWeight\": 2000}", NULL, "Range of blkio weight is from 10 to 1000"));
  CHECK(has("{\"CapAdd\": [\"CAP_NET_ADMIN\", \"ALL\"], \"CapDrop\": [\"chown\"]}", NULL, ""));
  CHECK(
      has("{\"CapAdd\": [\"CAP_FOO\"]}", NULL, "invalid CapAdd: unknown capability: \"CAP_FOO\""));
  CHECK(has("{\"SecurityOpt\": [\"no-new-privileges\", \"seccomp=unconfined\"]}", NULL, ""));
  CHECK(has("{\"SecurityOpt\": [\"seccomp={not json\"]}", NULL, "Decoding seccomp profile failed"));
  CHECK(has("{\"SecurityOpt\": [\"nonsense\"]}", NULL, "invalid --security-opt 1"));
  CHECK(has("{\"Sysctls\": {\"net.ipv4.ip_forward\": \"1\", \"kernel.shmmax\": \"1\"}}", NULL, ""));
  CHECK(has("{\"Sysctls\": {\"vm.swappiness\": \"1\"}}", NULL, "is not allowed"));
  CHECK(has("{\"Sysctls\": {\"net.ipv4.ip_forward\": \"1\"}, \"NetworkMode\": \"host\"}", NULL,
            "not allowed in host network namespace"));
  CHECK(has("{\"Ulimits\": [{\"Name\": \"nofile\", \"Soft\": 10, \"Hard\": 5}]}", NULL,
            "soft limit must be less than or equal to hard limit"));
  CHECK(has("{\"Devices\": [{\"PathOnHost\": \"/dev/null\"}]}", NULL, ""));
  CHECK(has("{\"Devices\": [{\"PathOnHost\": \"/nonexistent\"}]}", NULL,
            "error gathering device information"));
  CHECK(has("{\"RestartPolicy\": {\"Name\": \"always\", \"MaximumRetryCount\": 2}}", NULL,
            "maximum retry count can only be used with 'on-failure'"));
  CHECK(has("{\"RestartPolicy\": {\"Name\": \"sometimes\"}}", NULL, "unknown policy 'sometimes'"));
  CHECK(has("{\"RestartPolicy\": {\"Name\": \"always\"}, \"AutoRemove\": true}", NULL,
            "can't create 'AutoRemove' container with restart policy"));
  CHECK(has("{}", "{\"Healthcheck\": {\"Test\": [\"CMD\", \"true\"], \"Interval\": 1000}}",
            "Interval in Healthcheck cannot be less than 1ms"));
  CHECK(has("{}", "{\"Healthcheck\": {\"Retries\": -1}}",
            "Retries in Healthcheck cannot be negative"));

  /* Docker's default swap: as much as the memory again, where swap is accounted. */
  json_t *host = json_pack("{s:I}", "Memory", (json_int_t)32 << 20);
  json_t *config = json_object();
  struct berr err = {0};
  CHECK(resources_check_create(config, host, NULL, &err) == 0);
  if (access("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes", F_OK) == 0)
    CHECK(json_integer_value(json_object_get(host, "MemorySwap")) == (json_int_t)64 << 20);
  json_decref(host);
  json_decref(config);

  /* Real-time budget: runtime above period is refused; without the v1 files, both are. */
  CHECK(has("{\"CpuRealtimePeriod\":1000,\"CpuRealtimeRuntime\":2000}", NULL,
            access("/sys/fs/cgroup/cpu/cpu.rt_period_us", F_OK) == 0
                ? "cpu real-time runtime cannot be higher than cpu real-time period"
                : "Your kernel does not support cgroup cpu real-time period"));
  CHECK(has("{\"CpuRealtimePeriod\":1000000,\"CpuRealtimeRuntime\":2000}", NULL,
            access("/sys/fs/cgroup/cpu/cpu.rt_period_us", F_OK) == 0
                ? ""
                : "Your kernel does not support cgroup cpu real-time period"));

  /* dockerd's create-time warnings. */
  json_t *warnings = json_array();
  host = json_pack("{s:b,s:s,s:{s:[{s:s}]}}", "OomKillDisable", 1, "NetworkMode", "host",
                   "PortBindings", "80/tcp", "HostPort", "8080");
  config = json_object();
  CHECK(resources_check_create(config, host, warnings, &err) == 0);
  CHECK(json_array_size(warnings) == 2);
  CHECK_STREQ(json_string_value(json_array_get(warnings, 0)),
              "OOM killer is disabled for the container, but no memory limit is set, this can "
              "result in the system running out of resources.");
  CHECK_STREQ(json_string_value(json_array_get(warnings, 1)),
              "Published ports are discarded when using host network mode");
  json_decref(host);
  json_decref(config);
  json_decref(warnings);

  /* A Docker profile becomes an OCI one: conditional rules dropped, the rest kept. */
  json_t *oci = NULL;
  CHECK(execdriver_custom_seccomp(
            "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"archMap\": [{\"architecture\": "
            "\"SCMP_ARCH_X86_64\", \"subArchitectures\": [\"SCMP_ARCH_X86\"]}], \"syscalls\": "
            "[{\"names\": [\"read\", \"write\"], \"action\": \"SCMP_ACT_ALLOW\"}, {\"names\": "
            "[\"ptrace\"], \"action\": \"SCMP_ACT_ALLOW\", \"includes\": {\"caps\": "
            "[\"CAP_SYS_PTRACE\"]}}]}",
            &oci, &err) == 0);
  CHECK_STREQ(json_string_value(json_object_get(oci, "defaultAction")), "SCMP_ACT_ERRNO");
  CHECK(json_array_size(json_object_get(oci, "architectures")) == 2);
  CHECK(json_array_size(json_object_get(oci, "syscalls")) == 1);
  CHECK_STREQ(
      json_string_value(json_array_get(
          json_object_get(json_array_get(json_object_get(oci, "syscalls"), 0), "names"), 1)),
      "write");
  json_decref(oci);
  CHECK(execdriver_custom_seccomp("{\"syscalls\": []}", &oci, &err) < 0);
  CHECK_DONE();
}
