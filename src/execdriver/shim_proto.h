/* The berthd <-> berth-shim control protocol: JSON messages over a SOCK_SEQPACKET Unix
 * socket (<state-dir>/shim.sock), one message per packet, optionally carrying one fd.
 *
 * berthd -> shim:
 *   {"op":"attach","stdin":b,"stdout":b,"stderr":b}            + the client's socket
 *   {"op":"start"}
 *   {"op":"exec","exec_id":s,"process":{...},"stdin":b,"stdout":b,"stderr":b} [+ socket]
 *   {"op":"exec-ack","exec_id":s}      exit recorded: the shim may close the client now
 *   {"op":"resize","exec_id":s?,"h":n,"w":n}
 * shim -> berthd:
 *   {"event":"started","pid":n}
 *   {"event":"exec-started","exec_id":s,"pid":n} | {"event":"exec-error","exec_id":s,"message":s}
 *   {"event":"exec-exit","exec_id":s,"code":n}
 *   {"event":"error","op":s,"message":s}
 *   {"event":"exit","code":n,"oom":b,"finished":s}   (also in <state-dir>/exit.json)
 */
#pragma once

#include <jansson.h>

#define SHIM_MSG_MAX 65536

/* Send one message, with fd >= 0 passed along. Returns 0 or -errno. */
int shim_msg_send(int sock, json_t *msg, int fd);
/* Receive one message; *fd gets a passed fd or -1. 0 at EOF (*msg NULL), -errno on error. */
int shim_msg_recv(int sock, json_t **msg, int *fd);
