/* HostConfig options that add to the OCI spec: host devices (--device) and a seccomp
 * profile given by the user (--security-opt seccomp=<profile JSON>, as the CLI sends it). */
#include "spec_options.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

int execdriver_add_devices(json_t *host, json_t *linux_, struct berr *err)
{
  json_t *devs = json_object_get(host, "Devices");
  if (!json_array_size(devs))
    return 0;
  json_t *list = json_object_get(linux_, "devices");
  if (!json_is_array(list)) {
    list = json_array();
    json_object_set_new(linux_, "devices", list);
  }
  json_t *rules = json_object_get(json_object_get(linux_, "resources"), "devices");
  size_t i;
  json_t *d;
  json_array_foreach(devs, i, d)
  {
    const char *src = json_string_value(json_object_get(d, "PathOnHost"));
    const char *dst = json_string_value(json_object_get(d, "PathInContainer"));
    const char *perm = json_string_value(json_object_get(d, "CgroupPermissions"));
    if (!dst || !*dst)
      dst = src;
    if (!perm || !*perm)
      perm = "rwm";
    struct stat st;
    if (!src || stat(src, &st) < 0)
      return berr_set(err, errno,
                      "error gathering device information while adding custom device \"%s\"",
                      src ? src : "");
    if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode))
      return berr_set(err, 0,
                      "error gathering device information while adding custom device \"%s\": "
                      "not a device node",
                      src);
    const char *type = S_ISCHR(st.st_mode) ? "c" : "b";
    json_int_t maj = major(st.st_rdev), min = minor(st.st_rdev);
    json_array_append_new(list, json_pack("{s:s,s:s,s:I,s:I,s:i,s:i,s:i}", "path", dst, "type",
                                          type, "major", maj, "minor", min, "fileMode",
                                          (int)(st.st_mode & 07777), "uid", 0, "gid", 0));
    if (json_is_array(rules))
      json_array_append_new(rules, json_pack("{s:b,s:s,s:I,s:I,s:s}", "allow", 1, "type", type,
                                             "major", maj, "minor", min, "access", perm));
  }
  return 0;
}

/* Docker's profile format -> OCI's: the same fields, minus Docker's conditions. Rules
 * that depend on capabilities or kernels (includes/excludes) are dropped, except those
 * with no condition, so a profile is applied as written for the common case. */
int execdriver_custom_seccomp(const char *profile, json_t **out, struct berr *err)
{
  json_error_t je;
  json_t *p = json_loads(profile, 0, &je);
  if (!json_is_object(p)) {
    json_decref(p);
    return berr_set(err, 0, "Decoding seccomp profile failed: %s", je.text);
  }
  json_t *o = json_object();
  json_t *v;
  if ((v = json_object_get(p, "defaultAction")))
    json_object_set(o, "defaultAction", v);
  if ((v = json_object_get(p, "defaultErrnoRet")))
    json_object_set(o, "defaultErrnoRet", v);
  json_t *arches = json_array();
  size_t i;
  json_array_foreach(json_object_get(p, "architectures"), i, v)
  {
    json_array_append(arches, v);
  }
  json_array_foreach(json_object_get(p, "archMap"), i, v)
  {
    json_array_append(arches, json_object_get(v, "architecture"));
    json_array_extend(arches, json_object_get(v, "subArchitectures"));
  }
  if (json_array_size(arches))
    json_object_set(o, "architectures", arches);
  json_decref(arches);
  json_t *calls = json_array();
  json_array_foreach(json_object_get(p, "syscalls"), i, v)
  {
    if (json_object_size(json_object_get(v, "includes")) ||
        json_object_size(json_object_get(v, "excludes")))
      continue;
    json_t *s = json_object();
    json_t *names = json_object_get(v, "names");
    if (!names && json_is_string(json_object_get(v, "name")))
      names = json_pack("[O]", json_object_get(v, "name"));
    else
      json_incref(names);
    json_object_set_new(s, "names", names ? names : json_array());
    const char *keys[] = {"action", "errnoRet", "args"};
    for (size_t k = 0; k < 3; k++)
      if (json_object_get(v, keys[k]) && !json_is_null(json_object_get(v, keys[k])))
        json_object_set(s, keys[k], json_object_get(v, keys[k]));
    json_array_append_new(calls, s);
  }
  json_object_set_new(o, "syscalls", calls);
  json_decref(p);
  if (!json_object_get(o, "defaultAction")) {
    json_decref(o);
    return berr_set(err, 0, "Decoding seccomp profile failed: no defaultAction");
  }
  *out = o;
  return 0;
}
