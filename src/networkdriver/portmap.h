/* Published ports: Docker's PortBindings/ExposedPorts turned into concrete bindings, and
 * each host port reserved by a socket berthd holds bound (not listening), so a port in
 * use is a clear error and a random port (-p 80, -P) comes from the kernel. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/berr.h"

struct netdrv_port {
  char proto[4];      /* tcp | udp */
  uint32_t host_ip;   /* 0 = 0.0.0.0 */
  int host_port;      /* chosen */
  int host_port_last; /* a range to choose from: host_port..host_port_last (0: exact) */
  int container_port;
  int fd; /* the reservation, -1 when none */
};

/* HostConfig.PortBindings (+ Config.ExposedPorts when publish_all) as a list (ports not
 * chosen yet when HostPort is empty or a range). */
int netdrv_ports_from_config(json_t *bindings, json_t *exposed, bool publish_all,
                             struct netdrv_port **out, size_t *n, struct berr *err);
/* Bind each port's socket (choosing the host port when needed); on error, none is held. */
int netdrv_ports_reserve(struct netdrv_port *p, size_t n, struct berr *err);
void netdrv_ports_release(struct netdrv_port *p, size_t n);
/* NetworkSettings.Ports: {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}], ...};
 * exposed ports that are not published map to null. */
json_t *netdrv_ports_json(const struct netdrv_port *p, size_t n, json_t *exposed);
