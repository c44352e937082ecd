/* Container state names, status text and times. */
#include "container.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

static const char *const state_names[] = {
    [CTR_CREATED] = "created",   [CTR_RUNNING] = "running",
    [CTR_PAUSED] = "paused",     [CTR_RESTARTING] = "restarting",
    [CTR_REMOVING] = "removing", [CTR_EXITED] = "exited",
    [CTR_DEAD] = "dead",
};

const char *ctr_layer(const char *id, char buf[80])
{
  snprintf(buf, 80, CTR_LAYER_PREFIX "%s", id);
  return buf;
}

const char *ctr_state_name(enum ctr_state s)
{
  return state_names[s];
}

enum ctr_state ctr_state_from_name(const char *s)
{
  for (size_t i = 0; i < sizeof(state_names) / sizeof(state_names[0]); i++)
    if (s && strcmp(s, state_names[i]) == 0)
      return (enum ctr_state)i;
  return CTR_DEAD;
}

void ctr_now(char *buf, size_t len)
{
  struct timespec ts;
  struct tm tm;
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(buf + n, len - n, ".%09ldZ", ts.tv_nsec);
}

long long ctr_time_ns(const char *s)
{
  struct tm tm = {0};
  if (!s || strncmp(s, "0001-", 5) == 0)
    return 0;
  const char *rest = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
  if (!rest)
    return 0;
  long long ns = 0;
  if (*rest == '.') {
    int digits = 0;
    for (rest++; *rest >= '0' && *rest <= '9'; rest++, digits++)
      if (digits < 9)
        ns = ns * 10 + (*rest - '0');
    for (; digits < 9; digits++)
      ns *= 10;
  }
  return (long long)timegm(&tm) * 1000000000LL + ns;
}

void ctr_sync_state(struct container *c)
{
  json_t *st = json_object_get(c->doc, "State");
  if (!json_is_object(st)) {
    st = json_object();
    json_object_set_new(c->doc, "State", st);
  }
  json_object_set_new(st, "Status", json_string(ctr_state_name(c->state)));
  json_object_set_new(st, "Running",
                      json_boolean(c->state == CTR_RUNNING || c->state == CTR_PAUSED));
  json_object_set_new(st, "Paused", json_boolean(c->state == CTR_PAUSED));
  json_object_set_new(st, "Restarting", json_boolean(c->state == CTR_RESTARTING));
  json_object_set_new(st, "Dead", json_boolean(c->state == CTR_DEAD));
}

static void ago(long long secs, char *buf, size_t len)
{
  /* go-units HumanDuration, as the docker CLI prints it. */
  if (secs < 1)
    snprintf(buf, len, "Less than a second");
  else if (secs == 1)
    snprintf(buf, len, "1 second");
  else if (secs < 60)
    snprintf(buf, len, "%lld seconds", secs);
  else if (secs / 60 == 1)
    snprintf(buf, len, "About a minute");
  else if (secs < 3600)
    snprintf(buf, len, "%lld minutes", secs / 60);
  else if ((secs + 1800) / 3600 == 1)
    snprintf(buf, len, "About an hour");
  else if (secs < 48 * 3600)
    snprintf(buf, len, "%lld hours", (secs + 1800) / 3600);
  else if (secs < 7 * 24 * 3600 * 2)
    snprintf(buf, len, "%lld days", secs / 86400);
  else if (secs < 30LL * 24 * 3600 * 3)
    snprintf(buf, len, "%lld weeks", secs / (7 * 86400));
  else if (secs < 365LL * 24 * 3600 * 2)
    snprintf(buf, len, "%lld months", secs / (30LL * 86400));
  else
    snprintf(buf, len, "%lld years", secs / (365LL * 86400));
}

void ctr_status_text(const struct container *c, char *buf, size_t len)
{
  /* the fixed texts first, copied: no lookups or formatting for a thousand created ones */
  const char *fixed = c->state == CTR_REMOVING  ? "Removal In Progress"
                      : c->state == CTR_DEAD    ? "Dead"
                      : c->state == CTR_CREATED ? "Created"
                                                : NULL;
  if (fixed && len) {
    size_t n = strnlen(fixed, len - 1);
    memcpy(buf, fixed, n);
    buf[n] = '\0';
    return;
  }
  json_t *st = json_object_get(c->doc, "State");
  long long now = (long long)time(NULL);
  char d[64];
  switch (c->state) {
  case CTR_RUNNING:
  case CTR_PAUSED: {
    long long started = ctr_time_ns(json_string_value(json_object_get(st, "StartedAt")));
    ago(now - started / 1000000000LL, d, sizeof(d));
    const char *health =
        json_string_value(json_object_get(json_object_get(st, "Health"), "Status"));
    /* docker ps: "(healthy)", "(unhealthy)", "(health: starting)". */
    bool starting = health && strcmp(health, "starting") == 0;
    snprintf(buf, len, "Up %s%s%s%s", d, c->state == CTR_PAUSED ? " (Paused)" : "",
             health && *health ? (starting ? " (health: " : " (") : "",
             health && *health ? health : "");
    if (health && *health)
      strncat(buf, ")", len - strlen(buf) - 1);
    return;
  }
  case CTR_RESTARTING: {
    /* docker ps: "Restarting (1) 2 seconds ago", from the exit it restarts after. */
    long long fin = ctr_time_ns(json_string_value(json_object_get(st, "FinishedAt")));
    ago(now - fin / 1000000000LL, d, sizeof(d));
    snprintf(buf, len, "Restarting (%lld) %s ago",
             (long long)json_integer_value(json_object_get(st, "ExitCode")), d);
    return;
  }
  case CTR_EXITED: {
    long long fin = ctr_time_ns(json_string_value(json_object_get(st, "FinishedAt")));
    ago(now - fin / 1000000000LL, d, sizeof(d));
    snprintf(buf, len, "Exited (%lld) %s ago",
             (long long)json_integer_value(json_object_get(st, "ExitCode")), d);
    return;
  }
  default: /* the fixed texts, written above */
    return;
  }
}

static const char *const adjectives[] = {
    "admiring",      "adoring",     "affectionate", "agitated",
    "amazing",       "angry",       "awesome",      "beautiful",
    "blissful",      "bold",        "boring",       "brave",
    "busy",          "charming",    "clever",       "cool",
    "compassionate", "competent",   "confident",    "cranky",
    "crazy",         "dazzling",    "determined",   "distracted",
    "dreamy",        "eager",       "ecstatic",     "elastic",
    "elated",        "elegant",     "eloquent",     "epic",
    "exciting",      "fervent",     "festive",      "flamboyant",
    "focused",       "friendly",    "frosty",       "funny",
    "gallant",       "gifted",      "goofy",        "gracious",
    "great",         "happy",       "hardcore",     "heuristic",
    "hopeful",       "hungry",      "infallible",   "inspiring",
    "intelligent",   "interesting", "jolly",        "jovial",
    "keen",          "kind",        "laughing",     "loving",
    "lucid",         "magical",     "modest",       "musing",
    "mystifying",    "naughty",     "nervous",      "nice",
    "nifty",         "nostalgic",   "objective",    "optimistic",
    "peaceful",      "pedantic",    "pensive",      "practical",
    "priceless",     "quirky",      "quizzical",    "recursing",
    "relaxed",       "reverent",    "romantic",     "sad",
    "serene",        "sharp",       "silly",        "sleepy",
    "stoic",         "strange",     "stupefied",    "suspicious",
    "sweet",         "tender",      "thirsty",      "trusting",
    "unruffled",     "upbeat",      "vibrant",      "vigilant",
    "vigorous",      "wizardly",    "wonderful",    "xenodochial",
    "youthful",      "zealous",     "zen"};
static const char *const surnames[] = {
    "albattani",  "allen",      "almeida",       "archimedes",  "ardinghelli",  "aryabhata",
    "austin",     "babbage",    "banach",        "bardeen",     "bartik",       "bassi",
    "bell",       "benz",       "bhabha",        "bhaskara",    "blackwell",    "bohr",
    "booth",      "borg",       "bose",          "boyd",        "brahmagupta",  "brattain",
    "brown",      "carson",     "chandrasekhar", "clarke",      "colden",       "cori",
    "cray",       "curie",      "darwin",        "davinci",     "dijkstra",     "dubinsky",
    "easley",     "edison",     "einstein",      "elion",       "engelbart",    "euclid",
    "euler",      "fermat",     "fermi",         "feynman",     "franklin",     "galileo",
    "gates",      "goldberg",   "goldstine",     "golick",      "goodall",      "hamilton",
    "hawking",    "heisenberg", "hermann",       "hodgkin",     "hoover",       "hopper",
    "hugle",      "hypatia",    "jackson",       "jang",        "jennings",     "jepsen",
    "johnson",    "joliot",     "jones",         "kalam",       "kare",         "keller",
    "kepler",     "khorana",    "kilby",         "kirch",       "knuth",        "kowalevski",
    "lalande",    "lamarr",     "lamport",       "leakey",      "leavitt",      "lewin",
    "lichterman", "liskov",     "lovelace",      "lumiere",     "mahavira",     "mayer",
    "mccarthy",   "mcclintock", "mclean",        "mcnulty",     "meitner",      "mendel",
    "mirzakhani", "montalcini", "moore",         "morse",       "murdock",      "napier",
    "nash",       "neumann",    "newton",        "nightingale", "nobel",        "noether",
    "northcutt",  "noyce",      "panini",        "pare",        "pasteur",      "payne",
    "perlman",    "pike",       "poincare",      "poitras",     "ptolemy",      "raman",
    "ramanujan",  "ride",       "ritchie",       "roentgen",    "rosalind",     "saha",
    "sammet",     "shannon",    "shaw",          "shockley",    "sinoussi",     "snyder",
    "spence",     "stallman",   "stonebraker",   "swanson",     "swartz",       "swirles",
    "tesla",      "thompson",   "torvalds",      "turing",      "varahamihira", "visvesvaraya",
    "volhard",    "wescoff",    "wiles",         "williams",    "wilson",       "wing",
    "wozniak",    "wright",     "yalow",         "yonath"};

void ctr_random_name(char *buf, size_t len)
{
  unsigned r[2] = {0, 0};
  if (getrandom(r, sizeof(r), 0) != sizeof(r))
    r[0] = (unsigned)time(NULL), r[1] = (unsigned)clock();
  snprintf(buf, len, "%s_%s", adjectives[r[0] % (sizeof(adjectives) / sizeof(adjectives[0]))],
           surnames[r[1] % (sizeof(surnames) / sizeof(surnames[0]))]);
}

bool ctr_name_valid(const char *name)
{
  /* Docker: [a-zA-Z0-9][a-zA-Z0-9_.-]+ */
  if (!name || strlen(name) < 2 || strlen(name) > 255)
    return false;
  for (const char *p = name; *p; p++) {
    bool alnum = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9');
    if (!alnum && (p == name || !strchr("_.-", *p)))
      return false;
  }
  return true;
}
