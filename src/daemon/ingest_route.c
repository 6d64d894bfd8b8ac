/* ingest: which table a topic goes to. Pure string functions (no I/O), unit
 * tested in tests/daemon/test_ingest_route.c. */
#include "ingest_int.h"

/* Pattern placeholders: "{db}" and "{table}". */
static int placeholder(const char *p, size_t *len_out)
{
    if (strncmp(p, "{db}", 4) == 0) { *len_out = 4; return 1; }
    if (strncmp(p, "{table}", 7) == 0) { *len_out = 7; return 2; }
    return 0;
}

int ing_pattern_check(const char *pattern, dc_err *err)
{
    int seen[3] = {0};
    for (const char *p = pattern; *p; p++) {
        size_t len;
        int which = *p == '{' ? placeholder(p, &len) : 0;
        if (*p == '{' && !which)
            return dc_err_set(err, DC_EINVAL, "topic pattern '%s': only {db} and {table} may "
                              "appear in braces", pattern);
        /* Each at most once: keeps the backtracking match quadratic at worst. */
        if (which && seen[which]++)
            return dc_err_set(err, DC_EINVAL, "topic pattern '%s': %s appears twice", pattern,
                              which == 1 ? "{db}" : "{table}");
    }
    if (!*pattern) return dc_err_set(err, DC_EINVAL, "an empty topic pattern");
    return 0;
}

/* Backtracking match: each placeholder captures at least one character, the
 * shortest that lets the rest match ("cdc-{db}-{table}" on "cdc-shop-order-items"
 * gives db "shop", table "order-items"). Depth is bounded by the number of
 * placeholders in the pattern (a config value, checked short). */
static bool match_from(const char *p, const char *t, ing_capture *cap)
{
    while (*p) {
        size_t len;
        int which = *p == '{' ? placeholder(p, &len) : 0;
        if (which) {
            for (size_t n = 1; t[n - 1]; n++) {
                if (!match_from(p + len, t + n, cap)) continue;
                if (which == 1) { cap->db = t; cap->db_len = n; }
                else { cap->table = t; cap->table_len = n; }
                return true;
            }
            return false;
        }
        if (*p != *t) return false;
        p++;
        t++;
    }
    return *t == '\0';
}

bool ing_pattern_match(const char *pattern, const char *topic, ing_capture *cap)
{
    memset(cap, 0, sizeof *cap);
    ing_capture c = {0};
    if (!match_from(pattern, topic, &c)) return false;
    *cap = c;
    return true;
}

void ing_topic_names(ing_capture *cap, const char *topic)
{
    memset(cap, 0, sizeof *cap);
    const char *last = strrchr(topic, '.');
    const char *prev = NULL;
    if (last)
        for (const char *p = topic; p < last; p++)
            if (*p == '.') prev = p;
    if (last && last > topic && last[1]) {
        const char *db = prev ? prev + 1 : topic;
        if (db < last) {
            cap->db = db;
            cap->db_len = (size_t)(last - db);
            cap->table = last + 1;
            cap->table_len = strlen(last + 1);
            return;
        }
    }
    cap->db = "default";
    cap->db_len = 7;
    cap->table = topic;
    cap->table_len = strlen(topic);
}

bool ing_glob(const char *glob, const char *s, size_t n)
{
    const char *g = glob, *star = NULL;
    size_t i = 0, star_i = 0;
    while (i < n) {
        if (*g == '*') {
            star = g++;
            star_i = i;
        } else if (*g && (*g == '?' || *g == s[i])) {
            g++;
            i++;
        } else if (star) {
            g = star + 1;
            i = ++star_i;
        } else {
            return false;
        }
    }
    while (*g == '*') g++;
    return *g == '\0';
}

int ing_expand(dc_buf *out, const char *tmpl, const ing_vars *v, dc_err *err)
{
    dc_buf_reset(out);
    for (const char *p = tmpl; *p;) {
        static const char *const names[] = {"{warehouse}", "{db}", "{table}", "{topic}",
                                            "{pipeline}"};
        const char *vals[] = {v->warehouse, v->cap.db, v->cap.table, v->topic, v->pipeline};
        size_t lens[] = {v->warehouse ? strlen(v->warehouse) : 0, v->cap.db_len,
                         v->cap.table_len, v->topic ? strlen(v->topic) : 0,
                         v->pipeline ? strlen(v->pipeline) : 0};
        size_t i = 0, nn = sizeof names / sizeof names[0];
        if (*p == '{')
            for (; i < nn; i++)
                if (strncmp(p, names[i], strlen(names[i])) == 0) break;
        if (*p != '{' || i == nn) {
            DC_TRY(dc_buf_putc(out, (uint8_t)*p++, err));
            continue;
        }
        if (!vals[i])
            return dc_err_set(err, DC_EINVAL, "path '%s' uses %s, which topic '%s' does not "
                              "give (give the table's path with --table or tables[].path)",
                              tmpl, names[i], v->topic ? v->topic : "");
        DC_TRY(dc_buf_append(out, vals[i], lens[i], err));
        p += strlen(names[i]);
    }
    if (out->len == 0) return dc_err_set(err, DC_EINVAL, "an empty table path");
    return dc_buf_putc(out, '\0', err);
}
