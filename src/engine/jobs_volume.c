/* Volumes: until the local volume driver lands, an empty list and "no such volume", so
 * clients that look volumes up get Docker's answers. */
#include "engine_internal.h"
#include "jobs.h"

static int job_volume_list(struct job *job)
{
  job->result = json_pack("{s:[],s:[]}", "Volumes", "Warnings");
  return 0;
}

static int job_volume_inspect(struct job *job)
{
  const char *name = job_path(job, "name");
  if (!name)
    name = job_path(job, "id");
  return job_fail(job, 404, "get %s: no such volume", name ? name : "");
}

void jobs_volume_register(struct engine *e)
{
  engine_register(e, "volume.list", job_volume_list);
  engine_register(e, "volume.inspect", job_volume_inspect);
}
