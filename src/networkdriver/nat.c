/* berth's nftables table through libnftables' command API (see nat.h).
 *
 * Published ports use kernel DNAT, also for the host's own 127.0.0.1 (output chain, with
 * route_localnet on the bridge and masquerade of the loopback source), rather than a
 * userland proxy: no process copies the bytes, so the published path costs what the
 * direct one does; the port is still reserved by a bound socket (portmap.c) so a port
 * in use is an error at start, not a silent shadowing. */
#include "nat.h"

#include <errno.h>
#include <fcntl.h>
#include <nftables/libnftables.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cidr.h"
#include "common/cleanup.h"
#include "common/lazylib.h"

/* libnftables (with libnftnl and libxtables) is loaded the first time rules change: a
 * daemon without bridges never needs it, and mapping it cost that daemon 1 MiB. */
static struct {
  __typeof__(&nft_ctx_new) ctx_new;
  __typeof__(&nft_ctx_free) ctx_free;
  __typeof__(&nft_ctx_buffer_output) buffer_output;
  __typeof__(&nft_ctx_buffer_error) buffer_error;
  __typeof__(&nft_ctx_get_error_buffer) get_error_buffer;
  __typeof__(&nft_ctx_get_output_buffer) get_output_buffer;
  __typeof__(&nft_run_cmd_from_buffer) run_cmd_from_buffer;
} nft_api;

static const struct lazylib_sym nft_syms[] = {
    {"nft_ctx_new", (void **)&nft_api.ctx_new},
    {"nft_ctx_free", (void **)&nft_api.ctx_free},
    {"nft_ctx_buffer_output", (void **)&nft_api.buffer_output},
    {"nft_ctx_buffer_error", (void **)&nft_api.buffer_error},
    {"nft_ctx_get_error_buffer", (void **)&nft_api.get_error_buffer},
    {"nft_ctx_get_output_buffer", (void **)&nft_api.get_output_buffer},
    {"nft_run_cmd_from_buffer", (void **)&nft_api.run_cmd_from_buffer},
};

static struct lazylib nft_lib = LAZYLIB_INIT("libnftables.so.1", nft_syms);

struct netdrv_nft {
  struct nft_ctx *ctx;
};

int netdrv_nft_new(struct netdrv_nft **out, struct berr *err)
{
  if (!lazylib_load(&nft_lib))
    return berr_set(err, ELIBACC, "%s", nft_lib.error);
  _cleanup_free_ struct netdrv_nft *nft = calloc(1, sizeof(*nft));
  if (!nft)
    return berr_set(err, ENOMEM, "nftables context");
  nft->ctx = nft_api.ctx_new(NFT_CTX_DEFAULT);
  if (!nft->ctx)
    return berr_set(err, ENOMEM, "nftables context");
  /* buffered, so libnftables never prints; each run drains both buffers */
  nft_api.buffer_output(nft->ctx);
  nft_api.buffer_error(nft->ctx);
  *out = steal_ptr(nft);
  return 0;
}

void netdrv_nft_free(struct netdrv_nft *nft)
{
  if (!nft)
    return;
  nft_api.ctx_free(nft->ctx);
  free(nft);
}

static int run(struct netdrv_nft *nft, const char *cmds, bool quiet_missing, struct berr *err)
{
  int r = nft_api.run_cmd_from_buffer(nft->ctx, cmds);
  /* reading a buffer also empties it: a reused context must not accumulate them */
  const char *msg = nft_api.get_error_buffer(nft->ctx);
  (void)nft_api.get_output_buffer(nft->ctx);
  if (r != 0 && !quiet_missing) {
    char first[512];
    snprintf(first, sizeof(first), "%s", msg ? msg : "");
    first[strcspn(first, "\n")] = '\0';
    berr_set(err, 0, "nftables: %s", first[0] ? first : "command failed");
  }
  return r != 0 ? -EINVAL : 0;
}

/* An open_memstream buffer, freed with its stream. */
struct text {
  char *buf;
  size_t len;
  FILE *f;
};

/* Isolation: nothing between bridges, nothing in or out of an internal one. */
static void forward_chain(FILE *f, const struct netdrv_nat_bridge *bridges, size_t nb)
{
  fprintf(f, "  chain forward {\n    type filter hook forward priority filter; policy accept;\n");
  for (size_t i = 0; i < nb; i++) {
    if (bridges[i].internal)
      fprintf(f,
              "    iifname \"%s\" oifname != \"%s\" drop\n"
              "    oifname \"%s\" iifname != \"%s\" drop\n",
              bridges[i].name, bridges[i].name, bridges[i].name, bridges[i].name);
    for (size_t k = 0; k < nb; k++)
      if (k != i)
        fprintf(f, "    iifname \"%s\" oifname \"%s\" drop\n", bridges[i].name, bridges[k].name);
  }
  fprintf(f, "  }\n");
}

int netdrv_nat_apply(struct netdrv_nft *nft, const char *table,
                     const struct netdrv_nat_bridge *bridges, size_t nb,
                     const struct netdrv_nat_port *ports, size_t np, struct berr *err)
{
  struct text t = {0};
  t.f = open_memstream(&t.buf, &t.len);
  if (!t.f)
    return berr_errno(err, "nftables text");
  FILE *f = t.f;
  /* add + delete + define in one transaction: replaces the table atomically, whether it
   * existed or not. */
  fprintf(f, "add table ip %s\ndelete table ip %s\ntable ip %s {\n", table, table, table);
  fprintf(f, "  chain prerouting {\n    type nat hook prerouting priority dstnat; policy accept;\n"
             "    fib daddr type local jump ports\n  }\n");
  fprintf(f, "  chain output {\n    type nat hook output priority -100; policy accept;\n"
             "    fib daddr type local jump ports\n  }\n");
  fprintf(f, "  chain ports {\n");
  for (size_t i = 0; i < np; i++) {
    const struct netdrv_nat_port *p = &ports[i];
    char hip[16], cip[16];
    fprintf(f, "    ");
    if (p->host_ip)
      fprintf(f, "ip daddr %s ", netdrv_ip_str(p->host_ip, hip, sizeof(hip)));
    fprintf(f, "%s dport %d dnat to %s:%d\n", p->proto, p->host_port,
            netdrv_ip_str(p->container_ip, cip, sizeof(cip)), p->container_port);
  }
  fprintf(f, "  }\n");
  fprintf(f,
          "  chain postrouting {\n    type nat hook postrouting priority srcnat; policy accept;\n");
  for (size_t i = 0; i < nb; i++) {
    const struct netdrv_nat_bridge *b = &bridges[i];
    /* The host's 127.0.0.1 must not reach a container as the source (it would answer
     * itself); a container reaching its own published port (hairpin) must see the
     * gateway as the source, or its answer would bypass the NAT. */
    fprintf(f, "    ip saddr 127.0.0.0/8 oifname \"%s\" masquerade\n", b->name);
    fprintf(f, "    ip saddr %s oifname \"%s\" ct status dnat masquerade\n", b->subnet, b->name);
    if (!b->internal)
      fprintf(f, "    ip saddr %s oifname != \"%s\" masquerade\n", b->subnet, b->name);
  }
  fprintf(f, "  }\n");
  forward_chain(f, bridges, nb);
  fprintf(f, "}\n");
  /* IPv6 of dual-stack networks: a table of the ip6 family with the same isolation and
   * the masquerade out; published ports stay IPv4. Without any, a previous one goes. */
  bool any6 = false;
  for (size_t i = 0; i < nb; i++)
    any6 |= bridges[i].subnet6 != NULL;
  fprintf(f, "add table ip6 %s\ndelete table ip6 %s\n", table, table);
  if (any6) {
    fprintf(f, "table ip6 %s {\n", table);
    fprintf(f, "  chain postrouting {\n    type nat hook postrouting priority srcnat; "
               "policy accept;\n");
    for (size_t i = 0; i < nb; i++)
      if (bridges[i].subnet6 && !bridges[i].internal)
        fprintf(f, "    ip6 saddr %s oifname != \"%s\" masquerade\n", bridges[i].subnet6,
                bridges[i].name);
    fprintf(f, "  }\n");
    forward_chain(f, bridges, nb);
    fprintf(f, "}\n");
  }
  if (fclose(f) != 0) {
    free(t.buf);
    return berr_errno(err, "nftables text");
  }
  int r = run(nft, t.buf, false, err);
  free(t.buf);
  return r < 0 ? berr_wrap(err, "table %s", table) : 0;
}

int netdrv_nat_remove(struct netdrv_nft *nft, const char *table, struct berr *err)
{
  char cmd[512];
  snprintf(cmd, sizeof(cmd),
           "add table ip %s\ndelete table ip %s\nadd table ip6 %s\ndelete table ip6 %s\n", table,
           table, table, table);
  return run(nft, cmd, false, err);
}

bool netdrv_nat_exists(struct netdrv_nft *nft, const char *table)
{
  char cmd[256];
  snprintf(cmd, sizeof(cmd), "list table ip %s\n", table);
  struct berr ignored;
  return run(nft, cmd, true, &ignored) == 0;
}

int netdrv_ip_forward_enable(struct berr *err)
{
  _cleanup_close_ int fd = open("/proc/sys/net/ipv4/ip_forward", O_WRONLY | O_CLOEXEC);
  if (fd < 0 || write(fd, "1", 1) != 1)
    return berr_errno(err, "enable net.ipv4.ip_forward");
  return 0;
}
