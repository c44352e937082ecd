/* Unit tests for the berth CLI's pure parts: go-units sizes and durations, the template
 * engine, the tabwriter clone, stdcopy demultiplexing, query strings, references, and the
 * create body compared byte for byte with what docker CLI 28 sends. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "client/cli.h"
#include "client/format.h"
#include "client/hijack.h"
#include "client/list_parse.h"
#include "client/http.h"
#include "client/runopts.h"
#include "client/session.h"
#include "client/template.h"
#include "client/units.h"
#include "common/cleanup.h"

char *displayable_ports(json_t *ports);

/* docker create busybox (docker-api.md Appendix A) */
static const char appendix_a[] = "{\"Hostname\":\"\",\"Domainname\":\"\",\"User\":\"\","
                                 "\"AttachStdin\":false,\"AttachStdout\":true,\"AttachSt"
                                 "derr\":true,\"Tty\":false,\"OpenStdin\":false,\"StdinOnce\":"
                                 "false,\"Env\":null,\"Cmd\":null,\"Image\":\""
                                 "busybox\",\"Volumes\":{},\"WorkingDir\":\"\",\"Entrypoint\":null,"
                                 "\"OnBuild\":null,\"Labels\":{},\"HostCo"
                                 "nfig\":{\"Binds\":null,\"ContainerIDFile\":\"\",\"LogConfig\":{"
                                 "\"Type\":\"\",\"Config\":{}},\"NetworkMode\""
                                 ":\"default\",\"PortBindings\":{},\"RestartPolicy\":{\"Name\":"
                                 "\"no\",\"MaximumRetryCount\":0},\"AutoRemo"
                                 "ve\":false,\"VolumeDriver\":\"\",\"VolumesFrom\":null,"
                                 "\"ConsoleSize\":[0,0],\"CapAdd\":null,\"CapDrop\""
                                 ":null,\"CgroupnsMode\":\"\",\"Dns\":[],\"DnsOptions\":[],"
                                 "\"DnsSearch\":[],\"ExtraHosts\":null,\"GroupAd"
                                 "d\":null,\"IpcMode\":\"\",\"Cgroup\":\"\",\"Links\":null,"
                                 "\"OomScoreAdj\":0,\"PidMode\":\"\",\"Privileged\":fa"
                                 "lse,\"PublishAllPorts\":false,\"ReadonlyRootfs\":false,"
                                 "\"SecurityOpt\":null,\"UTSMode\":\"\",\"Userns"
                                 "Mode\":\"\",\"ShmSize\":0,\"Isolation\":\"\",\"CpuShares\":0,"
                                 "\"Memory\":0,\"NanoCpus\":0,\"CgroupParent\":\""
                                 "\",\"BlkioWeight\":0,\"BlkioWeightDevice\":[],"
                                 "\"BlkioDeviceReadBps\":[],\"BlkioDeviceWriteBps\":[],"
                                 "\"BlkioDeviceReadIOps\":[],\"BlkioDeviceWriteIOps\":[],"
                                 "\"CpuPeriod\":0,\"CpuQuota\":0,\"CpuRealtime"
                                 "Period\":0,\"CpuRealtimeRuntime\":0,\"CpusetCpus\":\"\","
                                 "\"CpusetMems\":\"\",\"Devices\":[],\"DeviceCgrou"
                                 "pRules\":null,\"DeviceRequests\":null,\"MemoryReservation\":0,"
                                 "\"MemorySwap\":0,\"MemorySwappiness\""
                                 ":-1,\"OomKillDisable\":false,\"PidsLimit\":0,\"Ulimits\":[],"
                                 "\"CpuCount\":0,\"CpuPercent\":0,\"IOMaxim"
                                 "umIOps\":0,\"IOMaximumBandwidth\":0,\"MaskedPaths\":null,"
                                 "\"ReadonlyPaths\":null},\"NetworkingConfi"
                                 "g\":{\"EndpointsConfig\":{\"default\":{\"IPAMConfig\":null,"
                                 "\"Links\":null,\"Aliases\":null,\"MacAddres"
                                 "s\":\"\",\"DriverOpts\":null,\"GwPriority\":0,\"NetworkID\":\"\","
                                 "\"EndpointID\":\"\",\"Gateway\":\"\",\"IPAddr"
                                 "ess\":\"\",\"IPPrefixLen\":0,\"IPv6Gateway\":\"\","
                                 "\"GlobalIPv6Address\":\"\",\"GlobalIPv6PrefixLen\":0,\"D"
                                 "NSNames\":null}}}}";

/* docker run -d --name web -p 8080:80 -v /tmp:/data -v myvol:/vol -e A=B --network mynet
 * -w /app -u 1000:1000 --memory 64m --cpus 1.5 --pids-limit 100 --restart on-failure:3
 * busybox sleep 100 (cli-traces.txt) */
static const char run_full[] =
    "{\"Hostname\":\"\",\"Domainname\":\"\",\"User\":\"1000:1000\",\"AttachStdin\":false,"
    "\"AttachStdout\":false"
    ",\"AttachStderr\":false,\"ExposedPorts\":{\"80/"
    "tcp\":{}},\"Tty\":false,\"OpenStdin\":false,\"StdinOnc"
    "e\":false,\"Env\":[\"A=B\"],\"Cmd\":[\"sleep\",\"100\"],\"Image\":\"busybox\",\"Volumes\":{},"
    "\"WorkingDir\":\""
    "/app\",\"Entrypoint\":null,\"OnBuild\":null,\"Labels\":{},\"HostConfig\":{\"Binds\":[\"/tmp:/"
    "data\",\"my"
    "vol:/"
    "vol\"],\"ContainerIDFile\":\"\",\"LogConfig\":{\"Type\":\"\",\"Config\":{}},\"NetworkMode\":"
    "\"mynet\","
    "\"PortBindings\":{\"80/"
    "tcp\":[{\"HostIp\":\"\",\"HostPort\":\"8080\"}]},\"RestartPolicy\":{\"Name\":\"on-fa"
    "ilure\",\"MaximumRetryCount\":3},\"AutoRemove\":false,\"VolumeDriver\":\"\",\"VolumesFrom\":"
    "null,\"Con"
    "soleSize\":[0,0],\"CapAdd\":null,\"CapDrop\":null,\"CgroupnsMode\":\"\",\"Dns\":[],"
    "\"DnsOptions\":[],\"D"
    "nsSearch\":[],\"ExtraHosts\":null,\"GroupAdd\":null,\"IpcMode\":\"\",\"Cgroup\":\"\","
    "\"Links\":null,\"OomS"
    "coreAdj\":0,\"PidMode\":\"\",\"Privileged\":false,\"PublishAllPorts\":false,"
    "\"ReadonlyRootfs\":false,"
    "\"SecurityOpt\":null,\"UTSMode\":\"\",\"UsernsMode\":\"\",\"ShmSize\":0,\"Isolation\":\"\","
    "\"CpuShares\":0,\""
    "Memory\":67108864,\"NanoCpus\":1500000000,\"CgroupParent\":\"\",\"BlkioWeight\":0,"
    "\"BlkioWeightDevic"
    "e\":[],\"BlkioDeviceReadBps\":[],\"BlkioDeviceWriteBps\":[],\"BlkioDeviceReadIOps\":[],"
    "\"BlkioDevi"
    "ceWriteIOps\":[],\"CpuPeriod\":0,\"CpuQuota\":0,\"CpuRealtimePeriod\":0,"
    "\"CpuRealtimeRuntime\":0,\"C"
    "pusetCpus\":\"\",\"CpusetMems\":\"\",\"Devices\":[],\"DeviceCgroupRules\":null,"
    "\"DeviceRequests\":null,"
    "\"MemoryReservation\":0,\"MemorySwap\":0,\"MemorySwappiness\":-1,\"OomKillDisable\":false,"
    "\"PidsLim"
    "it\":100,\"Ulimits\":[],\"CpuCount\":0,\"CpuPercent\":0,\"IOMaximumIOps\":0,"
    "\"IOMaximumBandwidth\":0,"
    "\"MaskedPaths\":null,\"ReadonlyPaths\":null},\"NetworkingConfig\":{\"EndpointsConfig\":{}}}";

static void test_durations(void)
{
  char b[64];
  struct {
    int64_t s;
    const char *want;
  } cases[] = {{0, "Less than a second"}, {1, "1 second"},          {59, "59 seconds"},
               {60, "About a minute"},    {119, "About a minute"},  {120, "2 minutes"},
               {3599, "59 minutes"},      {3600, "About an hour"},  {5399, "About an hour"},
               {5400, "2 hours"},         {47 * 3600, "47 hours"},  {48 * 3600, "2 days"},
               {14 * 86400, "2 weeks"},   {60 * 86400, "2 months"}, {3 * 365 * 86400, "3 years"}};
  for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
    units_human_duration(cases[i].s, b, sizeof(b));
    CHECK_STREQ(b, cases[i].want);
  }
}

static void test_sizes(void)
{
  char b[64];
  units_human_size_prec(4261550, 3, b, sizeof(b));
  CHECK_STREQ(b, "4.26MB");
  units_human_size_prec(12, 3, b, sizeof(b));
  CHECK_STREQ(b, "12B");
  units_human_size_prec(0, 3, b, sizeof(b));
  CHECK_STREQ(b, "0B");
  units_human_size_prec(1000, 3, b, sizeof(b));
  CHECK_STREQ(b, "1kB");
  units_human_size_prec(1334, 4, b, sizeof(b));
  CHECK_STREQ(b, "1.334kB");
  units_bytes_size(8000000000.0, b, sizeof(b));
  CHECK_STREQ(b, "7.451GiB");
  int64_t n = 0;
  CHECK(units_ram_in_bytes("64m", &n) == 0 && n == 67108864);
  CHECK(units_ram_in_bytes("1g", &n) == 0 && n == 1073741824);
  CHECK(units_ram_in_bytes("512KiB", &n) == 0 && n == 524288);
  CHECK(units_ram_in_bytes("100", &n) == 0 && n == 100);
  CHECK(units_ram_in_bytes("12x", &n) < 0);
  CHECK(units_ram_in_bytes("m", &n) < 0);
}

static void test_text(void)
{
  _cleanup_free_ char *e1 = units_ellipsis("sleep 100", 20);
  CHECK_STREQ(e1, "sleep 100");
  _cleanup_free_ char *e2 = units_ellipsis("/bin/sh -c 'while true; do sleep 1; done'", 20);
  CHECK_STREQ(e2, "/bin/sh -c 'while t\xe2\x80\xa6");
  CHECK(units_utf8_len(e2) == 20);
  _cleanup_free_ char *q = units_go_quote("say \"hi\"\n");
  CHECK_STREQ(q, "\"say \\\"hi\\\"\\n\"");
  char ts[64];
  CHECK(units_api_timestamp("2025-01-01T00:00:00Z", 0, ts, sizeof(ts)) == 0);
  CHECK_STREQ(ts, "1735689600.000000000");
  CHECK(units_api_timestamp("10m", 1000000, ts, sizeof(ts)) == 0);
  CHECK_STREQ(ts, "999400");
  CHECK(units_api_timestamp("1h30m", 100000, ts, sizeof(ts)) == 0);
  CHECK_STREQ(ts, "94600");
  CHECK(units_api_timestamp("1700000000.5", 0, ts, sizeof(ts)) == 0);
  CHECK_STREQ(ts, "1700000000.5");
  CHECK(units_api_timestamp("2025-01-01T01:00:00+01:00", 0, ts, sizeof(ts)) == 0);
  CHECK_STREQ(ts, "1735689600.000000000");
  CHECK(units_api_timestamp("yesterday", 0, ts, sizeof(ts)) < 0);
}

static char *render(const char *src, json_t *dot, json_t *labels)
{
  struct berr err = {0};
  _cleanup_tmpl_ struct tmpl *t = NULL;
  if (tmpl_parse(src, &t, &err) < 0)
    return strdup(err.msg);
  char *out = NULL;
  if (tmpl_render_string(t, dot, labels, &out, &err) < 0)
    return strdup(err.msg);
  return out;
}

static void check_render(const char *src, json_t *dot, const char *want)
{
  _cleanup_free_ char *got = render(src, dot, NULL);
  if (strcmp(got, want) != 0)
    printf("# template %s: got '%s' want '%s'\n", src, got, want);
  CHECK_STREQ(got, want);
}

/* Whether a template can read field `name`, per tmpl_uses_field. */
static bool uses(const char *src, const char *name)
{
  struct tmpl *t = NULL;
  struct berr err = {0};
  CHECK(tmpl_parse(src, &t, &err) == 0);
  bool r = t && tmpl_uses_field(t, name);
  tmpl_free(t);
  return r;
}

static void test_template_fields(void)
{
  CHECK(uses("{{.ID}}\t{{.Names}}", "ID") && uses("{{.ID}}\t{{.Names}}", "Names"));
  CHECK(!uses("{{.ID}}\t{{.Names}}", "Labels"));
  CHECK(uses("{{.Mounts.X}}", "Mounts") && !uses("{{.Mounts.X}}", "X"));
  CHECK(uses("{{json .}}", "Labels")); /* the whole dot */
  CHECK(uses("{{.Label \"k\"}}", "Label") && !uses("{{.Label \"k\"}}", "Labels"));
  CHECK(uses("{{if .State}}x{{else}}{{.Size}}{{end}}", "Size"));
  CHECK(!uses("{{if .State}}x{{end}}", "Size"));
  CHECK(uses("{{upper (index .Labels \"a\")}}", "Labels")); /* inside parentheses */
  CHECK(uses("{{$.Networks}}", "Networks") && !uses("{{$.Networks}}", "Mounts"));
  CHECK(uses("{{$x := .ID}}{{$x}}", "Mounts"));             /* a variable: anything */
  CHECK(uses("{{range .Mounts}}{{.Name}}{{end}}", "Size")); /* another dot inside */
  CHECK(!uses("plain text", "ID"));
}

static void test_templates(void)
{
  json_auto_t *c = json_loads(
      "{\"Id\":\"abc\",\"Name\":\"/web\",\"State\":{\"Status\":\"running\",\"Pid\":42,"
      "\"Running\":true},\"Config\":{\"Labels\":{\"b\":\"2\",\"a\":\"1\"},\"Env\":[\"A=1\","
      "\"B=<2>\"],\"Cmd\":null},\"Size\":1.5}",
      0, NULL);
  check_render("{{.Id}}", c, "abc");
  check_render("{{.State.Status}} {{.State.Pid}} {{.State.Running}}", c, "running 42 true");
  check_render("{{json .Config.Labels}}", c, "{\"b\":\"2\",\"a\":\"1\"}");
  check_render("{{json .Config.Env}}", c, "[\"A=1\",\"B=\\u003c2\\u003e\"]");
  check_render("{{.Config.Env}}", c, "[A=1 B=<2>]");
  check_render("{{.Config.Labels}}", c, "map[a:1 b:2]");
  check_render("{{.Config.Cmd}}", c, "<nil>");
  check_render("{{.Nope}}", c, "<no value>");
  check_render("{{.Size}}", c, "1.5");
  check_render("{{join .Config.Env \",\"}}", c, "A=1,B=<2>");
  check_render("{{upper .State.Status}}", c, "RUNNING");
  check_render("{{.State.Status | upper}}", c, "RUNNING");
  check_render("{{index .Config.Labels \"a\"}}", c, "1");
  check_render("{{range .Config.Env}}[{{.}}]{{end}}", c, "[A=1][B=<2>]");
  check_render("{{range $k, $v := .Config.Labels}}{{$k}}={{$v}};{{end}}", c, "a=1;b=2;");
  check_render("{{if .State.Running}}up{{else}}down{{end}}", c, "up");
  check_render("{{if .Config.Cmd}}cmd{{else}}none{{end}}", c, "none");
  check_render("{{with .State}}{{.Pid}}{{end}}", c, "42");
  check_render("a {{- \" b \" -}} c", c, "a b c");
  check_render("{{len .Config.Env}}", c, "2");
  check_render("{{json .}}", json_object_get(c, "State"),
               "{\"Status\":\"running\",\"Pid\":42,\"Running\":true}");
  _cleanup_free_ char *bad = render("{{.Id", c, NULL);
  CHECK(strstr(bad, "unclosed action") != NULL);
  _cleanup_free_ char *badf = render("{{nosuch .Id}}", c, NULL);
  CHECK(strstr(badf, "not defined") != NULL);
  json_auto_t *labels = json_pack("{s:s}", "com.x", "y");
  _cleanup_free_ char *lab = render("{{.Label \"com.x\"}}", c, labels);
  CHECK_STREQ(lab, "y");
}

static char *capture_table(const char *format, const char *deflt, json_t *headers, json_t *rows)
{
  struct berr err = {0};
  struct formatter f;
  char *buf = NULL;
  size_t len = 0;
  FILE *out = open_memstream(&buf, &len);
  if (formatter_init(&f, format, deflt, headers, &err) == 0) {
    size_t i;
    json_t *r;
    json_array_foreach(rows, i, r)
    {
      formatter_row(&f, r, NULL, &err);
    }
    formatter_finish(&f, out, &err);
  } else {
    formatter_free(&f);
  }
  fclose(out);
  return buf;
}

static void test_tables(void)
{
  /* the docker ps table traced from the real CLI */
  const char *deflt = "{{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}"
                      "\t{{.Names}}";
  json_auto_t *headers = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "ID", "CONTAINER ID", "Image",
                                   "IMAGE", "Command", "COMMAND", "RunningFor", "CREATED", "Status",
                                   "STATUS", "Ports", "PORTS", "Names", "NAMES");
  json_auto_t *rows =
      json_pack("[{s:s,s:s,s:s,s:s,s:s,s:s,s:s}]", "ID", "3f1c0d5e9a7b", "Image", "busybox",
                "Command", "\"sleep 100\"", "RunningFor", "3 years ago", "Status", "Up 2 minutes",
                "Ports", "0.0.0.0:8080->80/tcp", "Names", "web");
  _cleanup_free_ char *t = capture_table(NULL, deflt, headers, rows);
  CHECK_STREQ(t, "CONTAINER ID   IMAGE     COMMAND       CREATED       STATUS         PORTS        "
                 "          NAMES\n"
                 "3f1c0d5e9a7b   busybox   \"sleep 100\"   3 years ago   Up 2 minutes   "
                 "0.0.0.0:8080->80/tcp   web\n");
  _cleanup_free_ char *t2 = capture_table("table {{.Names}}\\t{{.Status}}", deflt, headers, rows);
  CHECK_STREQ(t2, "NAMES     STATUS\nweb       Up 2 minutes\n");
  _cleanup_free_ char *t3 = capture_table("{{.Names}}: {{.Status}}", deflt, headers, rows);
  CHECK_STREQ(t3, "web: Up 2 minutes\n");
  _cleanup_free_ char *t4 = capture_table("json", deflt, headers, rows);
  /* Go marshals the row as a map: keys sorted, <>& escaped */
  CHECK_STREQ(t4,
              "{\"Command\":\"\\\"sleep 100\\\"\",\"ID\":\"3f1c0d5e9a7b\",\"Image\":\"busybox\","
              "\"Names\":\"web\",\"Ports\":\"0.0.0.0:8080-\\u003e80/tcp\",\"RunningFor\":\"3 years "
              "ago\",\"Status\":\"Up 2 minutes\"}\n");
  _cleanup_free_ char *t5 = capture_table("table {{upper .Names}}", deflt, headers, rows);
  CHECK_STREQ(t5, "NAMES\nWEB\n");
}

static void test_ports(void)
{
  json_auto_t *p =
      json_loads("[{\"IP\":\"0.0.0.0\",\"PrivatePort\":80,\"PublicPort\":8080,\"Type\":\"tcp\"},"
                 "{\"IP\":\"::\",\"PrivatePort\":80,\"PublicPort\":8080,\"Type\":\"tcp\"},"
                 "{\"PrivatePort\":9000,\"Type\":\"tcp\"}]",
                 0, NULL);
  _cleanup_free_ char *s = displayable_ports(p);
  CHECK_STREQ(s, "0.0.0.0:8080->80/tcp, [::]:8080->80/tcp, 9000/tcp");
  json_auto_t *r =
      json_loads("[{\"IP\":\"0.0.0.0\",\"PrivatePort\":8001,\"PublicPort\":8001,\"Type\":\"tcp\"},"
                 "{\"IP\":\"0.0.0.0\",\"PrivatePort\":8000,\"PublicPort\":8000,\"Type\":\"tcp\"},"
                 "{\"PrivatePort\":81,\"Type\":\"tcp\"},{\"PrivatePort\":80,\"Type\":\"tcp\"}]",
                 0, NULL);
  _cleanup_free_ char *s2 = displayable_ports(r);
  CHECK_STREQ(s2, "80-81/tcp, 0.0.0.0:8000-8001->8000-8001/tcp");
}

struct sink {
  char out[256], err[256];
  size_t no, ne;
};

static int sink_write(void *ud, int stream, const char *d, size_t n)
{
  struct sink *s = ud;
  if (stream == 2) {
    memcpy(s->err + s->ne, d, n);
    s->ne += n;
  } else {
    memcpy(s->out + s->no, d, n);
    s->no += n;
  }
  return 0;
}

static void test_stdcopy(void)
{
  unsigned char buf[64];
  size_t n = 0;
  stdcopy_header(buf, 1, 6);
  memcpy(buf + 8, "hello\n", 6);
  stdcopy_header(buf + 14, 2, 4);
  memcpy(buf + 22, "err\n", 4);
  stdcopy_header(buf + 26, 1, 0);
  n = 34;
  /* every split point must give the same result */
  for (size_t cut = 0; cut <= n; cut++) {
    struct stdcopy sc = {0};
    struct sink s = {0};
    struct berr err = {0};
    int r = stdcopy_feed(&sc, (char *)buf, cut, sink_write, &s, &err);
    r |= stdcopy_feed(&sc, (char *)buf + cut, n - cut, sink_write, &s, &err);
    CHECK(r == 0 && s.no == 6 && s.ne == 4 && memcmp(s.out, "hello\n", 6) == 0 &&
          memcmp(s.err, "err\n", 4) == 0);
  }
  struct stdcopy sc = {0};
  struct sink s = {0};
  struct berr err = {0};
  unsigned char sys[16];
  stdcopy_header(sys, 3, 4);
  memcpy(sys + 8, "boom", 4);
  CHECK(stdcopy_feed(&sc, (char *)sys, 12, sink_write, &s, &err) < 0);
  CHECK_STREQ(err.msg, "error from daemon in stream: boom");
  struct stdcopy sc2 = {0};
  stdcopy_header(sys, 7, 1);
  CHECK(stdcopy_feed(&sc2, (char *)sys, 9, sink_write, &s, &err) < 0);
  CHECK(strstr(err.msg, "Unrecognized input header") != NULL);
}

static void test_query_and_refs(void)
{
  struct query q = {0};
  query_add(&q, "tail", "all");
  query_add(&q, "stdout", "1");
  query_add(&q, "stderr", "1");
  query_add(&q, "names", "b");
  query_add(&q, "names", "a");
  _cleanup_free_ char *p = query_build("/x", &q);
  CHECK_STREQ(p, "/x?names=b&names=a&stderr=1&stdout=1&tail=all");
  struct query q2 = {0};
  query_add(&q2, "repo", "localhost:5000/x");
  query_add(&q2, "filters", "{\"name\":{\"web\":true}}");
  _cleanup_free_ char *p2 = query_build("/y", &q2);
  CHECK_STREQ(p2, "/y?filters=%7B%22name%22%3A%7B%22web%22%3Atrue%7D%7D&repo=localhost%3A5000%2Fx");
  struct {
    const char *in, *repo, *tag;
  } refs[] = {{"busybox", "docker.io/library/busybox", "latest"},
              {"alpine:3.19", "docker.io/library/alpine", "3.19"},
              {"user/img:1", "docker.io/user/img", "1"},
              {"localhost:5000/foo/bar:1", "localhost:5000/foo/bar", "1"},
              {"localhost:5000/x", "localhost:5000/x", "latest"},
              {"myrepo", "docker.io/library/myrepo", "latest"}};
  for (size_t i = 0; i < ARRAY_SIZE(refs); i++) {
    _cleanup_free_ char *repo = NULL, *tag = NULL, *dg = NULL;
    struct berr err = {0};
    CHECK(ref_normalize(refs[i].in, &repo, &tag, &dg, &err) == 0);
    CHECK_STREQ(repo, refs[i].repo);
    CHECK_STREQ(tag, refs[i].tag);
  }
  _cleanup_free_ char *f1 = ref_familiar("docker.io/library/busybox");
  CHECK_STREQ(f1, "busybox");
  _cleanup_free_ char *f2 = ref_familiar("docker.io/user/x");
  CHECK_STREQ(f2, "user/x");
}

static char *body_for(int argc, char **argv)
{
  struct run_opts o;
  run_opts_init(&o);
  char *out = NULL;
  if (run_opts_parse(&o, argc, argv, strcmp(argv[0], "run") == 0, run_usage) == 0) {
    json_auto_t *body = NULL;
    struct berr err = {0};
    if (run_opts_body(&o, 0, 0, &body, &err) == 0)
      out = json_dumps(body, JSON_COMPACT);
    else
      out = strdup(err.msg);
  }
  run_opts_free(&o);
  return out ? out : strdup("(parse failed)");
}

static void test_create_body(void)
{
  char *a1[] = {"create", "busybox", NULL};
  _cleanup_free_ char *b1 = body_for(2, a1);
  CHECK_STREQ(b1, appendix_a);
  char *a2[] = {"run",       "-d",           "--name",  "web",        "-p",           "8080:80",
                "-v",        "/tmp:/data",   "-v",      "myvol:/vol", "-e",           "A=B",
                "--network", "mynet",        "-w",      "/app",       "-u",           "1000:1000",
                "--memory",  "64m",          "--cpus",  "1.5",        "--pids-limit", "100",
                "--restart", "on-failure:3", "busybox", "sleep",      "100",          NULL};
  _cleanup_free_ char *b2 = body_for(29, a2);
  CHECK_STREQ(b2, run_full);
  /* flags that only appear when given */
  char *a3[] = {"run",
                "-it",
                "--rm",
                "--init",
                "--entrypoint",
                "",
                "-l",
                "k=v",
                "--cap-add",
                "net_admin",
                "--ulimit",
                "nofile=1024:2048",
                "--tmpfs",
                "/run:size=1m",
                "--stop-signal",
                "SIGINT",
                "-p",
                "127.0.0.1:5353:53/udp",
                "img",
                NULL};
  _cleanup_free_ char *b3 = body_for(19, a3);
  json_auto_t *j3 = json_loads(b3, 0, NULL);
  json_t *hc = json_object_get(j3, "HostConfig");
  CHECK(json_is_true(json_object_get(j3, "Tty")) &&
        json_is_true(json_object_get(j3, "OpenStdin")) &&
        json_is_true(json_object_get(j3, "StdinOnce")) &&
        json_is_true(json_object_get(j3, "AttachStdin")));
  CHECK(json_is_true(json_object_get(hc, "AutoRemove")) &&
        json_is_true(json_object_get(hc, "Init")));
  CHECK_STREQ(json_string_value(json_array_get(json_object_get(j3, "Entrypoint"), 0)), "");
  CHECK_STREQ(json_string_value(json_object_get(json_object_get(j3, "Labels"), "k")), "v");
  CHECK_STREQ(json_string_value(json_array_get(json_object_get(hc, "CapAdd"), 0)), "CAP_NET_ADMIN");
  json_t *ul = json_array_get(json_object_get(hc, "Ulimits"), 0);
  CHECK(json_integer_value(json_object_get(ul, "Soft")) == 1024 &&
        json_integer_value(json_object_get(ul, "Hard")) == 2048);
  CHECK_STREQ(json_string_value(json_object_get(json_object_get(hc, "Tmpfs"), "/run")), "size=1m");
  CHECK_STREQ(json_string_value(json_object_get(j3, "StopSignal")), "SIGINT");
  json_t *pb = json_array_get(json_object_get(json_object_get(hc, "PortBindings"), "53/udp"), 0);
  CHECK_STREQ(json_string_value(json_object_get(pb, "HostIp")), "127.0.0.1");
  CHECK_STREQ(json_string_value(json_object_get(pb, "HostPort")), "5353");
  /* key order: Init is the last HostConfig key, StopSignal comes after Labels */
  CHECK(strstr(b3, "\"ReadonlyPaths\":null,\"Init\":true}") != NULL);
  CHECK(strstr(b3, "\"Labels\":{\"k\":\"v\"},\"StopSignal\":\"SIGINT\",\"HostConfig\"") != NULL);
  char *a4[] = {"run", "-p", "8000-8001:80-81", "img", NULL};
  _cleanup_free_ char *b4 = body_for(4, a4);
  CHECK(strstr(b4, "\"PortBindings\":{\"80/tcp\":[{\"HostIp\":\"\",\"HostPort\":\"8000\"}],"
                   "\"81/tcp\":[{\"HostIp\":\"\",\"HostPort\":\"8001\"}]}") != NULL);
  /* relative bind sources are made absolute client-side; a lone path is an anonymous volume */
  char *a6[] = {"run", "-v", "./data:/d:ro", "-v", "/anon", "img", NULL};
  _cleanup_free_ char *b6 = body_for(6, a6);
  char cwd[4096], want[4200];
  CHECK(getcwd(cwd, sizeof(cwd)) != NULL);
  snprintf(want, sizeof(want), "\"Binds\":[\"%s/data:/d:ro\"]", cwd);
  CHECK(strstr(b6, want) != NULL);
  CHECK(strstr(b6, "\"Volumes\":{\"/anon\":{}}") != NULL);
  char *a5[] = {"run", "--restart", "sometimes", "img", NULL};
  _cleanup_free_ char *b5 = body_for(4, a5);
  CHECK_STREQ(b5, "invalid restart policy format: sometimes");
}

static void test_detach_keys(void)
{
  char k[16];
  CHECK(session_parse_detach_keys("ctrl-p,ctrl-q", k, sizeof(k)) == 2 && k[0] == 0x10 &&
        k[1] == 0x11);
  CHECK(session_parse_detach_keys("a,ctrl-@,ctrl-[", k, sizeof(k)) == 3 && k[0] == 'a' &&
        k[1] == 0 && k[2] == 27);
  CHECK(session_parse_detach_keys("ctrl-1", k, sizeof(k)) < 0);
  CHECK(session_parse_detach_keys("ab", k, sizeof(k)) < 0);
  CHECK(session_parse_detach_keys("", k, sizeof(k)) < 0);
}

struct collected {
  json_t *items;
  int stop_after;
  const char *const *keys;
};

static size_t nkeys_of(const char *const *keys)
{
  size_t n = 0;
  while (keys[n] || keys[n + 1]) /* a NULL inside (not wanted) is followed by more keys */
    n++;
  return n;
}

static int collect_item(void *ud, json_t *const *values)
{
  struct collected *c = ud;
  json_t *item = json_object();
  for (size_t i = 0, n = nkeys_of(c->keys); i < n; i++)
    if (values[i])
      json_object_set(item, c->keys[i], values[i]);
  json_array_append_new(c->items, item);
  return c->stop_after && (int)json_array_size(c->items) >= c->stop_after ? -42 : 0;
}

/* Scans text with list_each keeping keys; the kept items as a JSON array, or NULL on error. */
static json_t *scan_list(const char *text, const char *const *keys, int *rc)
{
  struct collected c = {json_array(), 0, keys};
  struct berr err = {0};
  *rc = list_each(text, strlen(text), keys, nkeys_of(keys), collect_item, &c, &err);
  if (*rc < 0) {
    CHECK(err.msg[0] != '\0');
    json_decref(c.items);
    return NULL;
  }
  return c.items;
}

static void test_list_scan(void)
{
  /* a NULL slot (a member not wanted) is passed over; the list ends with two NULLs */
  static const char *const keys[] = {"Id", "Labels", "Ports", "Created", "Weird",
                                     NULL, "Dup",    NULL,    NULL};
  /* kept members are whole values (as jansson would parse them), others are skipped even
   * when they hold brackets, quotes and escapes in strings */
  const char *text =
      " [ "
      "{\"Id\":\"a\\\"b\\\\c\\n\\u00fc\\ud83d\\udc33\\/\",\"Skip\":{\"x\":[1,{\"y\":\"]}\\\"\"}]},"
      "\"Labels\":{\"k\":\"v\",\"n\":null,\"t\":true,\"f\":false},\"Ports\":[{\"PrivatePort\":80,"
      "\"Real\":1.5e2,\"Neg\":-3}],\"Created\":1795837563,\"Skip2\":\"\\\\\"} ,\n"
      "{\"Id\":\"second\",\"Other\":[[[]]],\"Weird\":[],\"Dup\":1,\"Dup\":[2]}, {} ]\n";
  int rc;
  json_t *got = scan_list(text, keys, &rc);
  CHECK(rc == 0 && got != NULL);
  json_error_t jerr;
  json_t *want = json_loads(
      "[{\"Id\":\"a\\\"b\\\\c\\n\\u00fc\\ud83d\\udc33/\",\"Labels\":{\"k\":\"v\",\"n\":null,"
      "\"t\":true,\"f\":false},\"Ports\":[{\"PrivatePort\":80,\"Real\":150.0,\"Neg\":-3}],"
      "\"Created\":1795837563},{\"Id\":\"second\",\"Weird\":[],\"Dup\":[2]},{}]",
      0, &jerr);
  CHECK(want != NULL);
  CHECK(got && want && json_equal(got, want));
  CHECK(got && json_is_integer(json_object_get(json_array_get(got, 0), "Created")));
  json_decref(got);
  json_decref(want);

  /* an empty list calls nothing; a callback's error stops the walk */
  got = scan_list("[]", keys, &rc);
  CHECK(rc == 0 && json_array_size(got) == 0);
  json_decref(got);
  struct collected c = {json_array(), 1, keys};
  struct berr err = {0};
  const char *two = "[{\"Id\":\"1\"},{\"Id\":\"2\"}]";
  CHECK(list_each(two, strlen(two), keys, nkeys_of(keys), collect_item, &c, &err) == -42);
  CHECK(json_array_size(c.items) == 1);
  json_decref(c.items);

  /* malformed answers are errors, never a crash or a partial success */
  static const char *const bad[] = {
      "",
      "{}",
      "[",
      "[{]",
      "[{\"Id\":}]",
      "[{\"Id\"}]",
      "[{\"Id\":\"x}]",
      "[{\"Id\":1,}]",
      "[{}]x",
      "[{\"Skip\":[1,2}]",
      "[1]",
      "[{\"Id\":tru}]",
      "[{\"Id\":\"\\q\"}]",
      "[{\"Id\":\"\\u12\"}]",
      "[{\"Labels\":"
      "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
      "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}]",
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    got = scan_list(bad[i], keys, &rc);
    if (rc >= 0)
      printf("# accepted: %s\n", bad[i]);
    CHECK(rc < 0 && got == NULL);
  }
}

int main(void)
{
  setenv("TZ", "UTC", 1);
  tzset();
  test_durations();
  test_sizes();
  test_text();
  test_templates();
  test_template_fields();
  test_tables();
  test_ports();
  test_stdcopy();
  test_query_and_refs();
  test_create_body();
  test_detach_keys();
  test_list_scan();
  CHECK_DONE();
}
