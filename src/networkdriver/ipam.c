/* IPAM in SQLite (see ipam.h). */
#include "ipam.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int sql_fail(sqlite3 *db, struct berr *err, const char *what)
{
  return berr_set(err, EIO, "ipam: %s: %s", what, sqlite3_errmsg(db));
}

int netdrv_ipam_init(sqlite3 *db, struct berr *err)
{
  const char *schema = "CREATE TABLE IF NOT EXISTS ipam_addresses ("
                       "  network TEXT NOT NULL, ip INTEGER NOT NULL, owner TEXT NOT NULL,"
                       "  PRIMARY KEY (network, ip));";
  if (sqlite3_exec(db, schema, NULL, NULL, NULL) != SQLITE_OK)
    return sql_fail(db, err, "create table");
  return 0;
}

static int insert(sqlite3 *db, const char *network, uint32_t ip, const char *owner)
{
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(db, "INSERT INTO ipam_addresses (network, ip, owner) VALUES (?, ?, ?)", -1,
                         &st, NULL) != SQLITE_OK)
    return SQLITE_ERROR;
  sqlite3_bind_text(st, 1, network, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(st, 2, ip);
  sqlite3_bind_text(st, 3, owner, -1, SQLITE_TRANSIENT);
  int r = sqlite3_step(st);
  sqlite3_finalize(st);
  return r;
}

int netdrv_ipam_request(sqlite3 *db, const char *network, const struct netdrv_cidr *subnet,
                        const struct netdrv_cidr *range, uint32_t gateway, uint32_t want,
                        const char *owner, uint32_t *out, struct berr *err)
{
  uint32_t first = netdrv_cidr_network(subnet) + 1, last = netdrv_cidr_broadcast(subnet) - 1;
  if (subnet->prefix >= 31)
    return berr_set(err, 0, "subnet too small for addresses");
  char buf[16];
  if (want) {
    if (want < first || want > last || want == gateway)
      return berr_set(err, 0, "no configured subnet or ip-range contain the IP address %s",
                      netdrv_ip_str(want, buf, sizeof(buf)));
    int r = insert(db, network, want, owner);
    if (r == SQLITE_CONSTRAINT)
      return berr_set(err, EADDRINUSE, "Address already in use: %s",
                      netdrv_ip_str(want, buf, sizeof(buf)));
    if (r != SQLITE_DONE)
      return sql_fail(db, err, "record address");
    *out = want;
    return 0;
  }
  if (range) {
    uint32_t rf = netdrv_cidr_network(range), rl = netdrv_cidr_broadcast(range);
    if (rf > first)
      first = rf;
    if (rl < last)
      last = rl;
  }
  /* The lowest free address: walk the held ones in order. The insert can still lose a
   * race with another request on the same network; then try the next. */
  for (int attempt = 0; attempt < 64; attempt++) {
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "SELECT ip FROM ipam_addresses WHERE network = ? AND ip >= ? AND "
                           "ip <= ? ORDER BY ip",
                           -1, &st, NULL) != SQLITE_OK)
      return sql_fail(db, err, "read addresses");
    sqlite3_bind_text(st, 1, network, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, first);
    sqlite3_bind_int64(st, 3, last);
    uint64_t cand = first == gateway ? first + 1 : first;
    while (sqlite3_step(st) == SQLITE_ROW) {
      uint64_t held = (uint64_t)sqlite3_column_int64(st, 0);
      if (held > cand)
        break;
      if (held == cand && ++cand == gateway)
        cand++;
    }
    sqlite3_finalize(st);
    if (cand > last)
      return berr_set(err, ENOSPC, "no available IPv4 addresses on this network's address pools");
    int r = insert(db, network, (uint32_t)cand, owner);
    if (r == SQLITE_DONE) {
      *out = (uint32_t)cand;
      return 0;
    }
    if (r != SQLITE_CONSTRAINT)
      return sql_fail(db, err, "record address");
  }
  return berr_set(err, EAGAIN, "ipam: could not record a free address");
}

int netdrv_ipam_release(sqlite3 *db, const char *network, const char *owner, struct berr *err)
{
  sqlite3_stmt *st;
  const char *sql = network ? "DELETE FROM ipam_addresses WHERE owner = ? AND network = ?"
                            : "DELETE FROM ipam_addresses WHERE owner = ?";
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
    return sql_fail(db, err, "release");
  sqlite3_bind_text(st, 1, owner, -1, SQLITE_TRANSIENT);
  if (network)
    sqlite3_bind_text(st, 2, network, -1, SQLITE_TRANSIENT);
  int r = sqlite3_step(st);
  sqlite3_finalize(st);
  return r == SQLITE_DONE ? 0 : sql_fail(db, err, "release");
}

int netdrv_ipam_release_network(sqlite3 *db, const char *network, struct berr *err)
{
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(db, "DELETE FROM ipam_addresses WHERE network = ?", -1, &st, NULL) !=
      SQLITE_OK)
    return sql_fail(db, err, "release network");
  sqlite3_bind_text(st, 1, network, -1, SQLITE_TRANSIENT);
  int r = sqlite3_step(st);
  sqlite3_finalize(st);
  return r == SQLITE_DONE ? 0 : sql_fail(db, err, "release network");
}

int netdrv_ipam_owners(sqlite3 *db, char ***out, struct berr *err)
{
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(db, "SELECT DISTINCT owner FROM ipam_addresses", -1, &st, NULL) !=
      SQLITE_OK)
    return sql_fail(db, err, "owners");
  size_t n = 0, cap = 8;
  char **v = calloc(cap + 1, sizeof(char *));
  if (!v) {
    sqlite3_finalize(st);
    return berr_set(err, ENOMEM, "owners");
  }
  while (sqlite3_step(st) == SQLITE_ROW) {
    if (n == cap) {
      char **nv = realloc(v, (cap * 2 + 1) * sizeof(char *));
      if (!nv)
        break;
      v = nv;
      cap *= 2;
    }
    v[n++] = strdup((const char *)sqlite3_column_text(st, 0));
    v[n] = NULL;
  }
  sqlite3_finalize(st);
  *out = v;
  return 0;
}

int netdrv_ipam_count(sqlite3 *db, const char *network, struct berr *err)
{
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM ipam_addresses WHERE network = ?", -1, &st,
                         NULL) != SQLITE_OK)
    return sql_fail(db, err, "count");
  sqlite3_bind_text(st, 1, network, -1, SQLITE_TRANSIENT);
  int n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
  sqlite3_finalize(st);
  return n;
}
