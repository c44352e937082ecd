/* /etc/hosts and /etc/resolv.conf of a container (see etcfiles.h). */
#include "etcfiles.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cidr.h"
#include "common/cleanup.h"
#include "common/fileutil.h"

/* buf/len belong to f (open_memstream): they are final only once it is closed. */
static int write_text(const char *path, FILE *f, char **buf, size_t *len, bool in_place,
                      struct berr *err)
{
  if (fclose(f) != 0) {
    free(*buf);
    return berr_errno(err, "write %s", path);
  }
  int r = 0;
  if (in_place) {
    /* the container reads it while we write: one write of the whole text, at once */
    _cleanup_close_ int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 || write(fd, *buf, *len) != (ssize_t)*len)
      r = berr_errno(err, "write %s", path);
  } else {
    /* Made again from the container's record at each start: no fsync. */
    r = bf_write_atomic_volatile(path, *buf, *len, 0644, err);
  }
  free(*buf);
  return r;
}

int netdrv_hosts_write(const char *path, const struct netdrv_hosts *h, struct berr *err)
{
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  if (!f)
    return berr_errno(err, "write %s", path);
  fprintf(f, "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
             "fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\n"
             "ff02::2\tip6-allrouters\n");
  size_t i;
  json_t *v;
  json_array_foreach(h->extra, i, v)
  {
    const char *s = json_string_value(v);
    const char *colon = s ? strchr(s, ':') : NULL;
    if (!colon)
      continue;
    char ip[64];
    const char *addr = colon + 1;
    if (strcmp(addr, "host-gateway") == 0) {
      if (!h->host_gateway)
        continue;
      addr = netdrv_ip_str(h->host_gateway, ip, sizeof(ip));
    }
    fprintf(f, "%s\t%.*s\n", addr, (int)(colon - s), s);
  }
  /* the container's own names, for its IPv4 address and then its IPv6 one (as Docker) */
  for (int fam = 0; fam < 2; fam++) {
    char ip[INET6_ADDRSTRLEN];
    if (fam == 0 && h->ip)
      fprintf(f, "%s\t", netdrv_ip_str(h->ip, ip, sizeof(ip)));
    else if (fam == 1 && h->ip && h->ip6)
      fprintf(f, "%s\t", inet_ntop(AF_INET6, h->ip6, ip, sizeof(ip)) ?: "::");
    else
      continue;
    if (h->domainname && *h->domainname)
      fprintf(f, "%s.%s ", h->hostname, h->domainname);
    fprintf(f, "%s", h->hostname);
    json_array_foreach(h->aliases, i, v)
    {
      if (json_is_string(v) && strcmp(json_string_value(v), h->hostname) != 0)
        fprintf(f, " %s", json_string_value(v));
    }
    fprintf(f, "\n");
  }
  return write_text(path, f, &buf, &len, false, err);
}

int netdrv_host_nameservers(const char *host_resolv, char out[3][64], struct berr *err)
{
  _cleanup_fclose_ FILE *f = fopen(host_resolv, "re");
  int n = 0;
  memset(out, 0, 3 * 64);
  if (!f)
    return errno == ENOENT ? 0 : berr_errno(err, "open %s", host_resolv);
  char line[512];
  while (n < 3 && fgets(line, sizeof(line), f)) {
    char ns[64];
    if (sscanf(line, " nameserver %63s", ns) != 1)
      continue;
    if (strncmp(ns, "127.", 4) == 0 || strcmp(ns, "::1") == 0 || strchr(ns, ':'))
      continue; /* loopback resolvers are the host's own; IPv6 is not served */
    snprintf(out[n++], 64, "%s", ns);
  }
  return n;
}

int netdrv_resolv_write(const char *path, const struct netdrv_resolv *r, struct berr *err)
{
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  if (!f)
    return berr_errno(err, "write %s", path);
  /* search and options: ours when given, else the host's. */
  char host_search[512] = "", host_options[512] = "";
  _cleanup_fclose_ FILE *hf = fopen(r->host_resolv, "re");
  char line[512];
  while (hf && fgets(line, sizeof(line), hf)) {
    line[strcspn(line, "\n")] = '\0';
    if (strncmp(line, "search ", 7) == 0 || strncmp(line, "domain ", 7) == 0)
      snprintf(host_search, sizeof(host_search), "%s", line + 7);
    else if (strncmp(line, "options ", 8) == 0)
      snprintf(host_options, sizeof(host_options), "%s", line + 8);
  }
  size_t i;
  json_t *v;
  if (r->embedded) {
    fprintf(f, "nameserver 127.0.0.11\n");
  } else if (json_array_size(r->dns)) {
    json_array_foreach(r->dns, i, v)
    {
      fprintf(f, "nameserver %s\n", json_string_value(v) ?: "");
    }
  } else {
    char ns[3][64];
    struct berr ignored;
    int n = netdrv_host_nameservers(r->host_resolv, ns, &ignored);
    /* Docker's fallback when the host only has loopback resolvers. */
    if (n <= 0)
      fprintf(f, "nameserver 8.8.8.8\nnameserver 8.8.4.4\n");
    for (int k = 0; k < n; k++)
      fprintf(f, "nameserver %s\n", ns[k]);
  }
  if (json_array_size(r->search)) {
    fprintf(f, "search");
    json_array_foreach(r->search, i, v)
    {
      fprintf(f, " %s", json_string_value(v) ?: "");
    }
    fprintf(f, "\n");
  } else if (host_search[0]) {
    fprintf(f, "search %s\n", host_search);
  }
  if (json_array_size(r->options)) {
    fprintf(f, "options");
    json_array_foreach(r->options, i, v)
    {
      fprintf(f, " %s", json_string_value(v) ?: "");
    }
    fprintf(f, "\n");
  } else if (host_options[0]) {
    fprintf(f, "options %s\n", host_options);
  }
  return write_text(path, f, &buf, &len, r->in_place, err);
}
