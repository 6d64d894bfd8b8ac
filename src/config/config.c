/* config: values, defaults, command-line overrides and the effective-config
 * dump; the YAML loader is in config_yaml.c. Every setting is found through
 * the table of config_table.c. */
#include "config.h"
#include "config_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#include "../common/dc_limits.h"

/* Where a row's value lives: in the config, or in a table entry. */
#define FIELD(base, k, type) ((type *)(void *)((char *)(base) + (k)->offset))

/* ----------------------------------------------------------- parsers */

/* Decimal integer, '_' allowed between digits ("1_000_000"). */
static int parse_int(int64_t *out, const char *s, dc_err *err)
{
    const char *p = s;
    bool neg = *p == '-';
    if (*p == '-' || *p == '+') p++;
    if (!(*p >= '0' && *p <= '9')) goto bad;
    uint64_t v = 0;
    for (; *p; p++) {
        if (*p == '_' && p[1] >= '0' && p[1] <= '9') continue;
        if (!(*p >= '0' && *p <= '9')) goto bad;
        if (v > (UINT64_MAX - 9) / 10) goto bad;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    if (v > (uint64_t)INT64_MAX) goto bad;
    *out = neg ? -(int64_t)v : (int64_t)v;
    return 0;
bad:
    return dc_err_set(err, DC_EINVAL, "'%s' is not an integer", s);
}

int dc_config_parse_duration(int64_t *ms_out, const char *s, dc_err *err)
{
    static const struct { const char *unit; int64_t ms; } units[] = {
        {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000}};
    const char *p = s;
    int64_t total = 0;
    if (!*p) goto bad;
    while (*p) {
        int64_t n = 0;
        if (!(*p >= '0' && *p <= '9')) goto bad;
        for (; *p >= '0' && *p <= '9'; p++)
            if (dc_mul_overflow_i64(n, 10, &n) || dc_add_overflow_i64(n, *p - '0', &n)) goto bad;
        size_t u = 0, nu = sizeof units / sizeof units[0];
        for (; u < nu; u++) {
            size_t len = strlen(units[u].unit);
            /* "m" must not take the "m" of "ms" */
            if (strncmp(p, units[u].unit, len) == 0 && !(u == 2 && p[1] == 's')) break;
        }
        if (u == nu) goto bad;
        p += strlen(units[u].unit);
        if (dc_mul_overflow_i64(n, units[u].ms, &n) || dc_add_overflow_i64(total, n, &total))
            goto bad;
    }
    *ms_out = total;
    return 0;
bad:
    return dc_err_set(err, DC_EINVAL,
                      "'%s' is not a duration (expected a number and a unit: 500ms, 10s, 5m, "
                      "1h, 1d, or a sum such as 1m30s)", s);
}

int dc_config_parse_size(int64_t *bytes_out, const char *s, dc_err *err)
{
    static const struct { const char *unit; int64_t mul; } units[] = {
        {"", 1}, {"B", 1}, {"K", 1LL << 10}, {"KiB", 1LL << 10}, {"KB", 1000},
        {"M", 1LL << 20}, {"MiB", 1LL << 20}, {"MB", 1000000}, {"G", 1LL << 30},
        {"GiB", 1LL << 30}, {"GB", 1000000000}, {"T", 1LL << 40}, {"TiB", 1LL << 40},
        {"TB", 1000000000000LL}};
    const char *p = s;
    int64_t n = 0;
    if (!(*p >= '0' && *p <= '9')) goto bad;
    for (; *p >= '0' && *p <= '9'; p++)
        if (dc_mul_overflow_i64(n, 10, &n) || dc_add_overflow_i64(n, *p - '0', &n)) goto bad;
    while (*p == ' ') p++;
    for (size_t u = 0; u < sizeof units / sizeof units[0]; u++) {
        if (strcasecmp(p, units[u].unit) != 0) continue;
        if (dc_mul_overflow_i64(n, units[u].mul, &n)) goto bad;
        *bytes_out = n;
        return 0;
    }
bad:
    return dc_err_set(err, DC_EINVAL, "'%s' is not a size (expected a number and an optional "
                      "unit: 4096, 512KiB, 128MiB, 1GiB, 64MB)", s);
}

static int parse_bool(bool *out, const char *s, dc_err *err)
{
    if (strcasecmp(s, "true") == 0 || strcasecmp(s, "yes") == 0) *out = true;
    else if (strcasecmp(s, "false") == 0 || strcasecmp(s, "no") == 0) *out = false;
    else return dc_err_set(err, DC_EINVAL, "'%s' is not a boolean (expected true or false)", s);
    return 0;
}

/* Index of `s[0..n)` among the '|'-separated values, or -1. */
static int enum_index(const char *values, const char *s, size_t n)
{
    int i = 0;
    for (const char *p = values;; i++) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && strncasecmp(p, s, n) == 0) return i;
        if (!bar) return -1;
        p = bar + 1;
    }
}

/* Bit i for each comma-separated item of s that is value i (trimmed);
 * 0 when an item is none of them. */
static uint32_t enum_set_bits(const char *values, const char *s)
{
    uint32_t bits = 0;
    for (const char *p = s;;) {
        const char *comma = strchr(p, ',');
        const char *end = comma ? comma : p + strlen(p);
        while (p < end && *p == ' ') p++;
        while (end > p && end[-1] == ' ') end--;
        int i = enum_index(values, p, (size_t)(end - p));
        if (i < 0 || i > 30) return 0;
        bits |= 1u << i;
        if (!comma) return bits;
        p = comma + 1;
    }
}

/* A value, or for enums that have set values ("raw,typed") the same set
 * in any order and spacing ("typed, raw", a YAML list joined). */
static int parse_enum(int *out, const dc_cfg_key *k, const char *s, dc_err *err)
{
    int i = enum_index(k->values, s, strlen(s));
    if (i < 0 && strchr(s, ',')) {
        const uint32_t want = enum_set_bits(k->values, s);
        int j = 0;
        for (const char *p = k->values; want && i < 0; j++) {
            const char *bar = strchr(p, '|');
            char one[64];
            size_t len = bar ? (size_t)(bar - p) : strlen(p);
            if (memchr(p, ',', len) && len < sizeof one) {
                memcpy(one, p, len);
                one[len] = '\0';
                if (enum_set_bits(k->values, one) == want) i = j;
            }
            if (!bar) break;
            p = bar + 1;
        }
    }
    if (i >= 0) {
        *out = i;
        return 0;
    }
    dc_buf values; /* "a,b,c", or "a | b | a,b" when a value is a set */
    dc_buf_init(&values, 4096);
    const char *sep = strchr(k->values, ',') ? " | " : ",";
    for (const char *p = k->values; *p; p++)
        if (*p == '|' ? dc_buf_puts(&values, sep, err) : dc_buf_putc(&values, (uint8_t)*p, err))
            break;
    dc_buf_putc(&values, '\0', err);
    dc_err_set(err, DC_EINVAL, "'%s' is not one of %s", s,
               values.data ? (const char *)values.data : "");
    dc_buf_dispose(&values);
    return err->code;
}

int dc_config_split_list(dc_cfg_list *out, dc_arena *arena, const char *s, dc_err *err)
{
    uint32_t n = 1;
    for (const char *p = s; *p; p++) n += *p == ',';
    const char **items = dc_arena_alloc(arena, n * sizeof *items, err);
    if (!items) return err->code;
    uint32_t i = 0;
    for (const char *p = s;; i++) {
        const char *comma = strchr(p, ',');
        const char *end = comma ? comma : p + strlen(p);
        while (p < end && *p == ' ') p++;
        while (end > p && end[-1] == ' ') end--;
        if (end == p) return dc_err_set(err, DC_EINVAL, "'%s' has an empty item", s);
        items[i] = dc_arena_strndup(arena, p, (size_t)(end - p), err);
        if (!items[i]) return err->code;
        if (!comma) break;
        p = comma + 1;
    }
    out->n = n;
    out->items = items;
    return 0;
}

int cfg_check_count(const dc_cfg_key *k, uint32_t n, dc_err *err)
{
    if ((int64_t)n < k->min || (int64_t)n > k->max)
        return dc_err_set(err, DC_EINVAL, "%" PRIu32 " items, expected %" PRId64 " to %" PRId64,
                          n, k->min, k->max);
    return 0;
}

/* Parses `text` for row k and stores it in the config or table entry `base`. */
int cfg_store(dc_config *c, void *base, const dc_cfg_key *k, const char *text, dc_err *err)
{
    int64_t v = 0;
    switch (k->type) {
    case DC_CFG_STR:
        *FIELD(base, k, const char *) = dc_arena_strndup(&c->arena, text, strlen(text), err);
        return *FIELD(base, k, const char *) ? 0 : err->code;
    case DC_CFG_INT:
    case DC_CFG_DURATION:
    case DC_CFG_SIZE:
        DC_TRY(k->type == DC_CFG_INT    ? parse_int(&v, text, err)
               : k->type == DC_CFG_SIZE ? dc_config_parse_size(&v, text, err)
                                        : dc_config_parse_duration(&v, text, err));
        if (v < k->min || v > k->max) {
            if (k->type != DC_CFG_DURATION)
                return dc_err_set(err, DC_EINVAL, "%" PRId64 " is out of bounds (%" PRId64
                                  " .. %" PRId64 ")", v, k->min, k->max);
            return dc_err_set(err, DC_EINVAL, "'%s' is out of bounds (%" PRId64 "ms .. %"
                              PRId64 "h)", text, k->min, k->max / 3600000);
        }
        *FIELD(base, k, int64_t) = v;
        return 0;
    case DC_CFG_BOOL: return parse_bool(FIELD(base, k, bool), text, err);
    case DC_CFG_ENUM: return parse_enum(FIELD(base, k, int), k, text, err);
    case DC_CFG_LIST: {
        dc_cfg_list l = {0};
        if (*text) DC_TRY(dc_config_split_list(&l, &c->arena, text, err));
        DC_TRY(cfg_check_count(k, l.n, err));
        *FIELD(base, k, dc_cfg_list) = l;
        return 0;
    }
    case DC_CFG_TOPICS: {
        dc_cfg_topics *t = FIELD(base, k, dc_cfg_topics);
        memset(t, 0, sizeof *t);
        if (!*text) return dc_err_set(err, DC_EINVAL, "an empty topic pattern");
        t->pattern = dc_arena_strndup(&c->arena, text, strlen(text), err);
        return t->pattern ? 0 : err->code;
    }
    default:
        return dc_err_set(err, DC_EINVAL, "expected a %s, not a single value",
                          k->type == DC_CFG_MAP ? "mapping" : "section (a mapping)");
    }
}

/* Resets row k to its default (or unset) in `base`. */
int cfg_default(dc_config *c, void *base, const dc_cfg_key *k, dc_err *err)
{
    switch (k->type) {
    case DC_CFG_SECTION:
    case DC_CFG_TABLES: return 0;
    case DC_CFG_MAP: memset(FIELD(base, k, dc_cfg_map), 0, sizeof(dc_cfg_map)); return 0;
    case DC_CFG_LIST: memset(FIELD(base, k, dc_cfg_list), 0, sizeof(dc_cfg_list)); break;
    case DC_CFG_TOPICS: memset(FIELD(base, k, dc_cfg_topics), 0, sizeof(dc_cfg_topics)); break;
    case DC_CFG_STR: *FIELD(base, k, const char *) = NULL; break;
    default: DC_ASSERT(k->def != NULL); /* scalars of other types always have one */
    }
    if (!k->def) return 0;
    int rc = cfg_store(c, base, k, k->def, err);
    if (rc < 0) dc_err_prefix(err, "default of %s (a bug in config_table.c)", k->key);
    return rc;
}

int cfg_table_defaults(dc_config *c, dc_config_table *t, dc_err *err)
{
    memset(t, 0, sizeof *t);
    for (size_t i = 0; i < dc_cfg_n_keys; i++)
        if (strncmp(dc_cfg_keys[i].key, "tables[].", 9) == 0)
            DC_TRY(cfg_default(c, t, &dc_cfg_keys[i], err));
    return 0;
}

int dc_config_init(dc_config *c, dc_err *err)
{
    memset(c, 0, sizeof *c);
    dc_arena_init(&c->arena, DC_CONFIG_MAX_MEMORY);
    for (size_t i = 0; i < dc_cfg_n_keys; i++)
        if (strncmp(dc_cfg_keys[i].key, "tables[].", 9) != 0)
            DC_TRY(cfg_default(c, c, &dc_cfg_keys[i], err));
    return 0;
}

void dc_config_dispose(dc_config *c)
{
    if (!c) return;
    dc_arena_dispose(&c->arena);
    memset(c, 0, sizeof *c);
}

int dc_config_set(dc_config *c, const char *key, const char *value, const char *origin,
                  dc_err *err)
{
    const dc_cfg_key *k = dc_config_key_find(key);
    if (!k || strncmp(key, "tables", 6) == 0 || k->type == DC_CFG_SECTION ||
        k->type == DC_CFG_MAP)
        return dc_err_set(err, DC_EINVAL, "%s: %s can not be set this way", origin, key);
    int rc = cfg_store(c, c, k, value, err);
    if (rc < 0) dc_err_prefix(err, "%s", origin);
    return rc;
}

int dc_config_table_only(dc_config *c, const char *path, dc_err *err)
{
    dc_config_table *t = dc_arena_alloc(&c->arena, sizeof *t, err);
    if (!t) return err->code;
    DC_TRY(cfg_table_defaults(c, t, err));
    if (!*path) return dc_err_set(err, DC_EINVAL, "--table: an empty path");
    t->path = dc_arena_strndup(&c->arena, path, strlen(path), err);
    if (!t->path) return err->code;
    c->tables = t;
    c->n_tables = 1;
    return 0;
}

int dc_config_table_set(dc_config *c, const char *field, const char *value, const char *origin,
                        dc_err *err)
{
    char key[64];
    snprintf(key, sizeof key, "tables[].%s", field);
    const dc_cfg_key *k = dc_config_key_find(key);
    DC_ASSERT(k != NULL);
    if (c->n_tables == 0) {
        dc_config_table *t = dc_arena_alloc(&c->arena, sizeof *t, err);
        if (!t) return err->code;
        DC_TRY(cfg_table_defaults(c, t, err));
        c->tables = t;
        c->n_tables = 1;
    }
    for (uint32_t i = 0; i < c->n_tables; i++) {
        int rc = cfg_store(c, &c->tables[i], k, value, err);
        if (rc < 0) {
            dc_err_prefix(err, "%s", origin);
            return rc;
        }
    }
    return 0;
}


/* ------------------------------------------------------------- output */

static bool plain_ok(const char *s)
{
    static const char *const words[] = {"true", "false", "yes", "no", "on", "off", "null", "y",
                                        "n"};
    if (!*s || *s == '-' || *s == '~' || strcmp(s, ".") == 0) return false;
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (strcasecmp(s, words[i]) == 0) return false;
    bool digits_only = true;
    for (const char *p = s; *p; p++) {
        char ch = *p;
        bool alpha = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
        if (!alpha && !(ch >= '0' && ch <= '9') && ch != '_' && ch != '.' && ch != '/' &&
            ch != '-')
            return false;
        if (alpha || ch == '/') digits_only = false;
    }
    return !digits_only; /* "10", "1.5", "1_000" would read back as numbers elsewhere */
}

int cfg_utf8_next(uint32_t *cp, const unsigned char *p)
{
    int n = p[0] < 0x80 ? 1 : (p[0] & 0xe0) == 0xc0 ? 2 : (p[0] & 0xf0) == 0xe0 ? 3
          : (p[0] & 0xf8) == 0xf0 ? 4 : 0;
    if (n == 0) return 0;
    uint32_t c = n == 1 ? p[0] : (uint32_t)(p[0] & (0x7f >> n));
    for (int i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80) return 0; /* also stops at the NUL */
        c = c << 6 | (p[i] & 0x3f);
    }
    static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
    if (c < min[n] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) return 0;
    *cp = c;
    return n;
}

int cfg_put_scalar(dc_buf *out, const char *s, dc_err *err)
{
    if (plain_ok(s)) return dc_buf_puts(out, s, err); /* plain_ok refuses '$' and '{' */
    DC_TRY(dc_buf_putc(out, '"', err));
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        uint32_t c = 0;
        int n = cfg_utf8_next(&c, p);
        DC_ASSERT(n > 0); /* values are checked to be UTF-8 when loaded */
        if (p[0] == '$' && p[1] == '{') DC_TRY(dc_buf_putc(out, '$', err)); /* read back as "${" */
        if (c == '"' || c == '\\') DC_TRY(dc_buf_appendf(out, err, "\\%c", (int)c));
        /* YAML allows only printable characters in a stream (YAML 1.1, 5.1). */
        else if (c < 0x20 || (c >= 0x7f && c <= 0x9f))
            DC_TRY(dc_buf_appendf(out, err, "\\x%02x", (unsigned)c));
        else if (c == 0xfffe || c == 0xffff || c == 0x2028 || c == 0x2029) /* 2028/9 break lines */
            DC_TRY(dc_buf_appendf(out, err, "\\u%04x", (unsigned)c));
        else DC_TRY(dc_buf_append(out, p, (size_t)n, err));
        p += n;
    }
    return dc_buf_putc(out, '"', err);
}

static int dump_value(dc_buf *out, const void *base, const dc_cfg_key *k, dc_err *err)
{
    switch (k->type) {
    case DC_CFG_STR: {
        const char *s = *FIELD(base, k, const char *const);
        if (!s) return dc_buf_puts(out, "null", err);
        return k->secret ? dc_buf_puts(out, "\"*****\"", err) : cfg_put_scalar(out, s, err);
    }
    case DC_CFG_INT:
    case DC_CFG_SIZE: return dc_buf_appendf(out, err, "%" PRId64, *FIELD(base, k, const int64_t));
    case DC_CFG_DURATION:
        return dc_buf_appendf(out, err, "%" PRId64 "ms", *FIELD(base, k, const int64_t));
    case DC_CFG_BOOL: return dc_buf_puts(out, *FIELD(base, k, const bool) ? "true" : "false", err);
    case DC_CFG_ENUM: {
        int v = *FIELD(base, k, const int);
        const char *p = k->values;
        for (int i = 0; i < v && p; i++) p = strchr(p, '|') + 1;
        DC_ASSERT(p != NULL);
        return dc_buf_appendf(out, err, "%.*s", (int)strcspn(p, "|"), p);
    }
    case DC_CFG_LIST: {
        const dc_cfg_list *l = FIELD(base, k, const dc_cfg_list);
        DC_TRY(dc_buf_puts(out, "[", err));
        for (uint32_t i = 0; i < l->n; i++) {
            if (i) DC_TRY(dc_buf_puts(out, ", ", err));
            DC_TRY(cfg_put_scalar(out, l->items[i], err));
        }
        return dc_buf_puts(out, "]", err);
    }
    case DC_CFG_TOPICS: {
        const dc_cfg_topics *t = FIELD(base, k, const dc_cfg_topics);
        if (t->pattern) return cfg_put_scalar(out, t->pattern, err);
        if (t->list.n == 0) return dc_buf_puts(out, "null", err);
        dc_cfg_list l = t->list;
        dc_cfg_key lk = *k;
        lk.type = DC_CFG_LIST;
        lk.offset = 0;
        return dump_value(out, &l, &lk, err);
    }
    default: DC_ASSERT(!"dump_value of a container");
    }
    return 0;
}

/* "key:" (the caller has placed it) then one "k: v" line per entry,
 * starting at column `indent`. */
static int dump_map(dc_buf *out, const dc_cfg_map *m, const char *key, int indent, dc_err *err)
{
    DC_TRY(dc_buf_appendf(out, err, "%s:%s\n", key, m->n ? "" : " {}"));
    for (uint32_t i = 0; i < m->n; i++) {
        /* YAML limits implicit keys to 1024 characters as written (quotes and
         * escapes included): a longer one is written as an explicit key. */
        const size_t at = out->len;
        DC_TRY(dc_buf_appendf(out, err, "%*s", indent, ""));
        DC_TRY(cfg_put_scalar(out, m->keys[i], err));
        if (out->len - at > 1000) {
            out->len = at;
            DC_TRY(dc_buf_appendf(out, err, "%*s? ", indent, ""));
            DC_TRY(cfg_put_scalar(out, m->keys[i], err));
            DC_TRY(dc_buf_appendf(out, err, "\n%*s", indent, ""));
        }
        DC_TRY(dc_buf_puts(out, ": ", err));
        if (dc_is_secret_key(m->keys[i])) /* quoted: a plain * is a YAML alias */
            DC_TRY(dc_buf_puts(out, "\"*****\"", err));
        else DC_TRY(cfg_put_scalar(out, m->values[i], err));
        DC_TRY(dc_buf_puts(out, "\n", err));
    }
    return 0;
}

static int dump_tables(dc_buf *out, const dc_config *c, dc_err *err)
{
    DC_TRY(dc_buf_appendf(out, err, "tables:%s\n", c->n_tables ? "" : " []"));
    for (uint32_t t = 0; t < c->n_tables; t++) {
        bool first = true;
        for (size_t i = 0; i < dc_cfg_n_keys; i++) {
            const dc_cfg_key *k = &dc_cfg_keys[i];
            if (strncmp(k->key, "tables[].", 9) != 0) continue;
            DC_TRY(dc_buf_appendf(out, err, "  %s", first ? "- " : "  "));
            first = false;
            if (k->type == DC_CFG_MAP) {
                DC_TRY(dump_map(out, FIELD(&c->tables[t], k, const dc_cfg_map), k->key + 9, 6,
                                err));
                continue;
            }
            DC_TRY(dc_buf_appendf(out, err, "%s: ", k->key + 9));
            DC_TRY(dump_value(out, &c->tables[t], k, err));
            DC_TRY(dc_buf_puts(out, "\n", err));
        }
    }
    return 0;
}

int dc_config_dump(dc_buf *out, const dc_config *c, dc_err *err)
{
    if (c->source_uri) {
        DC_TRY(dc_buf_puts(out, "# --source ", err));
        DC_TRY(cfg_put_scalar(out, c->source_uri, err));
        DC_TRY(dc_buf_puts(out, " (replaces the source keys)\n", err));
    }
    for (size_t i = 0; i < dc_cfg_n_keys; i++) {
        const dc_cfg_key *k = &dc_cfg_keys[i];
        if (k->type == DC_CFG_SECTION || strncmp(k->key, "tables[].", 9) == 0) continue;
        if (k->type == DC_CFG_TABLES) {
            DC_TRY(dump_tables(out, c, err));
        } else if (k->type == DC_CFG_MAP) {
            DC_TRY(dump_map(out, FIELD(c, k, const dc_cfg_map), k->key, 2, err));
        } else {
            DC_TRY(dc_buf_appendf(out, err, "%s: ", k->key));
            DC_TRY(dump_value(out, c, k, err));
            DC_TRY(dc_buf_puts(out, "\n", err));
        }
    }
    return 0;
}
