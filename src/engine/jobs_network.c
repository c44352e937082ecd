/* The built-in networks every Docker daemon has (bridge, host, none) as list/inspect, so
 * clients that look networks up get Docker's answers. User-defined networks, addresses
 * and NAT come with the network driver. */
#include <string.h>

#include "engine_internal.h"
#include "jobs.h"

static const char *const builtin[][3] = {
    /* name, driver, id */
    {"bridge", "bridge", "7b5f8d3c2a1e4f6091b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6"},
    {"host", "host", "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f809"},
    {"none", "null", "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"},
};

static json_t *network_json(size_t i)
{
  return json_pack("{s:s,s:s,s:s,s:s,s:s,s:b,s:{s:s,s:[]},s:b,s:b,s:b,s:{},s:{},s:{}}", "Name",
                   builtin[i][0], "Id", builtin[i][2], "Created", "0001-01-01T00:00:00Z", "Scope",
                   "local", "Driver", builtin[i][1], "EnableIPv6", 0, "IPAM", "Driver", "default",
                   "Config", "Internal", 0, "Attachable", 0, "Ingress", 0, "Containers", "Options",
                   "Labels");
}

static int job_network_list(struct job *job)
{
  job->result = json_array();
  for (size_t i = 0; i < sizeof(builtin) / sizeof(builtin[0]); i++)
    json_array_append_new(job->result, network_json(i));
  return 0;
}

static int job_network_inspect(struct job *job)
{
  const char *ref = job_path(job, "id");
  for (size_t i = 0; ref && i < sizeof(builtin) / sizeof(builtin[0]); i++)
    if (strcmp(ref, builtin[i][0]) == 0 ||
        (strlen(ref) >= 3 && strncmp(builtin[i][2], ref, strlen(ref)) == 0)) {
      job->result = network_json(i);
      return 0;
    }
  return job_fail(job, 404, "network %s not found", ref ? ref : "");
}

void jobs_network_register(struct engine *e)
{
  engine_register(e, "network.list", job_network_list);
  engine_register(e, "network.inspect", job_network_inspect);
}
