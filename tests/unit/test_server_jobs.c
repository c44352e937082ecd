/* Unit tests for the engine's job table and job helpers, and the server's route matching
 * and version comparison: no HTTP, jobs run directly through engine_job_run. */
#include <errno.h>
#include <unistd.h>

#include "check.h"
#include "common/bjson.h"
#include "engine/engine.h"
#include "server/api_version.h"
#include "server/server.h"

static int job_hello(struct job *job)
{
  job->result = json_pack("{s:s}", "hello", job_path(job, "id"));
  job->status = 201;
  return 0;
}

static int job_errno(struct job *job)
{
  return berr_set(&job->err, EBUSY, "device");
}

static int job_silent_failure(struct job *job)
{
  return -EACCES;
}

static int job_recovers(struct job *job)
{
  berr_set(&job->err, ENOENT, "first try");
  return 0;
}

static int job_streams(struct job *job)
{
  int fd = job_stream_begin(job, "text/plain");
  if (fd < 0)
    return job_fail(job, 500, "no stream");
  return write(fd, "hi", 2) == 2 ? 0 : job_fail(job, 500, "write");
}

static int test_stream_fds[2];
static const char *test_stream_type;
static int fake_stream_begin(struct job *job, const char *ct)
{
  test_stream_type = ct;
  return test_stream_fds[1];
}

static struct job make_job(const char *name, const char *args)
{
  struct job j = {.name = name};
  j.args = json_loads(args, 0, NULL);
  return j;
}

static void free_job(struct job *j)
{
  json_decref(j->args);
  json_decref(j->result);
}

int main(void)
{
  struct berr err = {0};
  struct engine *e = NULL;
  struct engine_config cfg = {.data_root = "/x", .exec_root = "/y", .storage_driver = "vfs"};
  CHECK(engine_new(&cfg, &e, &err) == 0);
  CHECK(engine_register(e, "t.hello", job_hello) == 0);
  CHECK(engine_register(e, "t.errno", job_errno) == 0);
  CHECK(engine_register(e, "t.silent", job_silent_failure) == 0);
  CHECK(engine_register(e, "t.recovers", job_recovers) == 0);
  CHECK(engine_register(e, "t.streams", job_streams) == 0);
  CHECK(engine_register(e, "", job_hello) == -EINVAL);
  CHECK(engine_has_job(e, "t.hello"));
  CHECK(!engine_has_job(e, "t.nope"));

  /* a job with a result and a success status */
  struct job j = make_job("t.hello", "{\"path\":{\"id\":\"abc\"},\"query\":{},\"body\":null}");
  CHECK(engine_job_run(e, &j) == 0);
  CHECK(j.engine == e);
  CHECK(job_http_status(&j) == 201);
  CHECK_STREQ(json_string_value(json_object_get(j.result, "hello")), "abc");
  CHECK(job_body(&j) == NULL);
  free_job(&j);

  /* unknown job: 501 naming it */
  j = make_job("t.nope", "{}");
  CHECK(engine_job_run(e, &j) < 0);
  CHECK(job_http_status(&j) == 501);
  CHECK_STREQ(j.err.msg, "not implemented: t.nope");
  free_job(&j);

  /* status derived from errno; a handler that says nothing still gets a message */
  j = make_job("t.errno", "{}");
  CHECK(engine_job_run(e, &j) == -EBUSY);
  CHECK(job_http_status(&j) == 409);
  free_job(&j);
  j = make_job("t.silent", "{}");
  CHECK(engine_job_run(e, &j) == -EACCES);
  CHECK(job_http_status(&j) == 403);
  CHECK(strstr(j.err.msg, "t.silent") != NULL);
  free_job(&j);
  j = make_job("t.recovers", "{}");
  CHECK(engine_job_run(e, &j) == 0);
  CHECK(job_http_status(&j) == 200);
  free_job(&j);

  /* the errno -> status table */
  struct {
    int code, status;
  } table[] = {{ENOENT, 404}, {EEXIST, 409}, {EBUSY, 409},  {EALREADY, 409},
               {EINVAL, 400}, {EPERM, 403},  {EACCES, 403}, {ENOTSUP, 501},
               {ENOSYS, 501}, {EAGAIN, 503}, {EIO, 500}};
  for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
    struct job t = {0};
    t.err.code = table[i].code;
    CHECK(job_http_status(&t) == table[i].status);
  }
  struct job t = {0};
  CHECK(job_fail(&t, 409, "name %s in use", "web") == -EEXIST);
  CHECK(job_http_status(&t) == 409);
  CHECK_STREQ(t.err.msg, "name web in use");
  t = (struct job){.status = 204};
  CHECK(job_http_status(&t) == 204);

  /* query helpers: Docker's bool forms, repeated keys, ints */
  j = make_job("x", "{\"query\":{\"a\":\"True\",\"b\":\"False\",\"c\":\"0\",\"d\":\"\","
                    "\"e\":\" none \",\"f\":\"1\",\"g\":\"yes\",\"t\":[\"x:1\",\"y:2\"],"
                    "\"n\":\"42\",\"bad\":\"4x\"}}");
  CHECK(job_query_bool(&j, "a", false));
  CHECK(!job_query_bool(&j, "b", true));
  CHECK(!job_query_bool(&j, "c", true));
  CHECK(!job_query_bool(&j, "d", true));
  CHECK(!job_query_bool(&j, "e", true));
  CHECK(job_query_bool(&j, "f", false));
  CHECK(job_query_bool(&j, "g", false));
  CHECK(job_query_bool(&j, "absent", true));
  CHECK(!job_query_bool(&j, "absent", false));
  CHECK_STREQ(job_query_str(&j, "t"), "x:1");
  json_t *list = job_query_list(&j, "t");
  CHECK(json_array_size(list) == 2);
  CHECK_STREQ(json_string_value(json_array_get(list, 1)), "y:2");
  json_decref(list);
  list = job_query_list(&j, "n");
  CHECK(json_array_size(list) == 1);
  json_decref(list);
  list = job_query_list(&j, "absent");
  CHECK(list && json_array_size(list) == 0);
  json_decref(list);
  long long v = 0;
  CHECK(job_query_int(&j, "n", 0, &v, &err) == 0 && v == 42);
  CHECK(job_query_int(&j, "absent", -1, &v, &err) == 0 && v == -1);
  CHECK(job_query_int(&j, "bad", 0, &v, &err) == -EINVAL);
  free_job(&j);

  /* filters: both JSON forms normalize to lists; empty is none; junk is an error */
  json_t *f = NULL;
  j = make_job("x", "{\"query\":{\"filters\":\"{\\\"status\\\":{\\\"exited\\\":true},"
                    "\\\"name\\\":{\\\"web\\\":true,\\\"db\\\":true}}\"}}");
  CHECK(job_query_filters(&j, &f, &err) == 0);
  CHECK_STREQ(json_string_value(json_array_get(json_object_get(f, "status"), 0)), "exited");
  CHECK(json_array_size(json_object_get(f, "name")) == 2);
  json_decref(f);
  free_job(&j);
  j = make_job("x", "{\"query\":{\"filters\":\"{\\\"name\\\":[\\\"web\\\"]}\"}}");
  CHECK(job_query_filters(&j, &f, &err) == 0);
  CHECK_STREQ(json_string_value(json_array_get(json_object_get(f, "name"), 0)), "web");
  json_decref(f);
  free_job(&j);
  j = make_job("x", "{\"query\":{\"filters\":\"\"}}");
  CHECK(job_query_filters(&j, &f, &err) == 0 && json_object_size(f) == 0);
  json_decref(f);
  free_job(&j);
  j = make_job("x", "{\"query\":{\"filters\":\"{\\\"name\\\":5}\"}}");
  CHECK(job_query_filters(&j, &f, &err) == -EINVAL);
  free_job(&j);
  j = make_job("x", "{\"query\":{\"filters\":\"not json\"}}");
  CHECK(job_query_filters(&j, &f, &err) == -EINVAL);
  CHECK(strstr(err.msg, "invalid filter") != NULL);
  free_job(&j);

  /* a job run directly with its own io: the stream fd is the caller's */
  CHECK(pipe(test_stream_fds) == 0);
  struct job_io io = {.stream_begin = fake_stream_begin};
  j = make_job("t.streams", "{}");
  j.io = &io;
  CHECK(engine_job_run(e, &j) == 0);
  CHECK(j.streamed);
  CHECK_STREQ(test_stream_type, "text/plain");
  char buf[8] = "";
  CHECK(read(test_stream_fds[0], buf, sizeof(buf)) == 2 && memcmp(buf, "hi", 2) == 0);
  free_job(&j);
  /* without io, streaming is unavailable and the job says so */
  j = make_job("t.streams", "{}");
  CHECK(engine_job_run(e, &j) < 0);
  CHECK(job_http_status(&j) == 500);
  free_job(&j);
  close(test_stream_fds[0]);
  close(test_stream_fds[1]);

  /* route matching, including image names with '/' and ':' */
  json_t *p = NULL;
  CHECK(server_route_match("/containers/{id}/json", "/containers/abc/json", &p));
  CHECK_STREQ(json_string_value(json_object_get(p, "id")), "abc");
  json_decref(p);
  CHECK(!server_route_match("/containers/{id}/json", "/containers/abc/json/x", &p));
  CHECK(!server_route_match("/containers/{id}/json", "/containers//json", &p));
  CHECK(!server_route_match("/containers/json", "/containers/json/", &p));
  CHECK(server_route_match("/images/{name*}/push", "/images/localhost:5000/x/y/push", &p));
  CHECK_STREQ(json_string_value(json_object_get(p, "name")), "localhost:5000/x/y");
  json_decref(p);
  CHECK(server_route_match("/images/{name*}/json", "/images/x/json/json", &p));
  CHECK_STREQ(json_string_value(json_object_get(p, "name")), "x/json");
  json_decref(p);
  CHECK(!server_route_match("/images/{name*}/json", "/images/json", &p));
  CHECK(server_route_match("/images/{name*}", "/images/docker.io/library/busybox:1", &p));
  CHECK_STREQ(json_string_value(json_object_get(p, "name")), "docker.io/library/busybox:1");
  json_decref(p);

  /* no two production routes share a method and pattern */
  int dups = 0;
  for (size_t i = 0; i < server_n_routes; i++)
    for (size_t k = i + 1; k < server_n_routes; k++)
      if (strcmp(server_routes[i].method, server_routes[k].method) == 0 &&
          strcmp(server_routes[i].pattern, server_routes[k].pattern) == 0)
        dups++;
  CHECK(dups == 0);

  CHECK(api_version_compare("1.24", "1.24") == 0);
  CHECK(api_version_compare("1.9", "1.24") < 0);
  CHECK(api_version_compare("1.51", "1.50") > 0);
  CHECK(api_version_compare("1.50.0", "1.50") == 0);
  CHECK(api_version_compare("2", "1.50") > 0);

  engine_free(e);
  CHECK_DONE();
}
