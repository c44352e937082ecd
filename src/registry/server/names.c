/* Validation of repository names, tags, digests and upload ids against the OCI
 * Distribution grammar; a valid value is also safe as a path component under the root. */
#include "registry.h"

#include <ctype.h>
#include <errno.h>
#include <regex.h>
#include <string.h>

static regex_t name_re, tag_re;

int reg_names_init(void)
{
  /* distribution-spec v1.1 "Pulling manifests": the <name> and <reference> grammars */
  if (regcomp(&name_re,
              "^[a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*)*$",
              REG_EXTENDED | REG_NOSUB))
    return -EINVAL;
  if (regcomp(&tag_re, "^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$", REG_EXTENDED | REG_NOSUB))
    return -EINVAL;
  return 0;
}

bool reg_name_valid(const char *name)
{
  /* clients cap host/name at 255 characters; keep room for the host part */
  if (!name || strlen(name) > 255)
    return false;
  return regexec(&name_re, name, 0, NULL, 0) == 0;
}

bool reg_tag_valid(const char *tag)
{
  return tag && regexec(&tag_re, tag, 0, NULL, 0) == 0;
}

static bool all_hex(const char *s, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i]))
      return false;
  return s[n] == '\0';
}

bool reg_digest_valid(const char *d)
{
  if (!d)
    return false;
  if (strncmp(d, "sha256:", 7) == 0)
    return strlen(d + 7) == 64 && all_hex(d + 7, 64);
  if (strncmp(d, "sha512:", 7) == 0)
    return strlen(d + 7) == 128 && all_hex(d + 7, 128);
  return false;
}

bool reg_upload_id_valid(const char *id)
{
  return id && strlen(id) == 32 && all_hex(id, 32);
}
