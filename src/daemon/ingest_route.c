/* ingest: which table a topic goes to. Pure string functions (no I/O), unit
 * tested in tests/daemon/test_ingest_route.c. */
#include "ingest_int.h"

/* {db} and {table} of a topic matched by a pattern (source.h's syntax: the
 * same as the subscription, so whatever is subscribed is captured alike). */
bool ing_pattern_match(const char *pattern, const char *topic, ing_capture *cap)
{
    dc_source_capture caps[DC_SOURCE_MAX_CAPTURES];
    size_t n = 0;
    memset(cap, 0, sizeof *cap);
    if (!dc_source_pattern_match(pattern, topic, caps, &n)) return false;
    for (size_t i = 0; i < n; i++) {
        if (caps[i].name_len == 2 && memcmp(caps[i].name, "db", 2) == 0) {
            cap->db = caps[i].value;
            cap->db_len = caps[i].value_len;
        } else if (caps[i].name_len == 5 && memcmp(caps[i].name, "table", 5) == 0) {
            cap->table = caps[i].value;
            cap->table_len = caps[i].value_len;
        }
    }
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
                                            "{pipeline}", "{path}"};
        const char *vals[] = {v->warehouse, v->cap.db, v->cap.table, v->topic, v->pipeline,
                              v->path};
        size_t lens[] = {v->warehouse ? strlen(v->warehouse) : 0, v->cap.db_len,
                         v->cap.table_len, v->topic ? strlen(v->topic) : 0,
                         v->pipeline ? strlen(v->pipeline) : 0, v->path ? strlen(v->path) : 0};
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

int ing_find_table(const dc_config_table **out, ing_capture *cap, const dc_config_table *tabs,
                   uint32_t n, const char *const *patterns, size_t n_patterns, const char *topic,
                   dc_buf *tmp, dc_err *err)
{
    bool matched = false;
    for (size_t i = 0; i < n_patterns && !matched; i++)
        matched = ing_pattern_match(patterns[i], topic, cap);
    if (!matched) ing_topic_names(cap, topic);
    dc_buf_reset(tmp);
    DC_TRY(dc_buf_appendf(tmp, err, "%.*s.%.*s", (int)cap->db_len, cap->db ? cap->db : "",
                          (int)cap->table_len, cap->table ? cap->table : ""));
    for (uint32_t i = 0; i < n; i++) {
        if (ing_glob(tabs[i].match, (const char *)tmp->data, tmp->len)) {
            *out = &tabs[i];
            return 0;
        }
    }
    return dc_err_set(err, DC_EINVAL, "topic '%s' ({db}.{table} '%.*s') matches no tables[].match",
                      topic, (int)tmp->len, (const char *)tmp->data);
}

int dc_ingest_table_path(dc_buf *out, const dc_config *cfg, const char *topic, dc_err *err)
{
    const dc_config_table def = {.match = "*", .path = "{warehouse}/{db}.db/{table}"};
    const dc_config_table *tabs = cfg->n_tables ? cfg->tables : &def, *t = NULL;
    const char *pattern = cfg->kafka_topics.pattern;
    ing_capture cap;
    memset(&cap, 0, sizeof cap);
    dc_buf tmp;
    dc_buf_init(&tmp, 64 * 1024);
    int rc = ing_find_table(&t, &cap, tabs, cfg->n_tables ? cfg->n_tables : 1,
                            pattern ? &pattern : NULL, pattern ? 1 : 0, topic, &tmp, err);
    const ing_vars v = {.warehouse = cfg->warehouse, .topic = topic, .pipeline = cfg->pipeline,
                        .cap = cap};
    if (rc == 0) rc = ing_expand(out, t->path, &v, err);
    dc_buf_dispose(&tmp);
    return rc;
}

int ing_expand_typed(dc_buf *out, const dc_config_table *e, const char *raw_path,
                     const ing_vars *v, dc_err *err)
{
    /* config_table.c's default ("{path}_typed") is the one spelling: every
     * entry of format [raw, typed] comes from the configuration with it */
    DC_ASSERT(e->typed_path != NULL);
    ing_vars tv = *v;
    tv.path = raw_path;
    return ing_expand(out, e->typed_path, &tv, err);
}

/* The path of the entry's typed table when it has one (format typed: its
 * path; [raw, typed]: its typed_path, {path} the raw one's), else its raw
 * table's: the table bootstrap writes and snapshot reads. */
static int typed_table_path(dc_buf *out, const dc_config_table *e, const ing_vars *v,
                            dc_err *err)
{
    DC_TRY(ing_expand(out, e->path, v, err));
    if (e->format != DC_CFG_FORMAT_BOTH) return 0;
    char *raw = dc_strdup((const char *)out->data);
    if (!raw) return dc_err_set(err, DC_ENOMEM, "out of memory");
    int rc = ing_expand_typed(out, e, raw, v, err);
    dc_free(raw);
    return rc;
}

/* The first tables[] entry whose match covers "db.table", NULL for none. */
static const dc_config_table *match_entry(const dc_config *cfg, const char *name, size_t len)
{
    for (uint32_t i = 0; i < cfg->n_tables; i++)
        if (ing_glob(cfg->tables[i].match, name, len)) return &cfg->tables[i];
    return NULL;
}

int dc_ingest_source_table(const dc_config_table **entry, dc_buf *path, const dc_config *cfg,
                           const char *db, const char *table, dc_err *err)
{
    dc_buf name;
    dc_buf_init(&name, 64 * 1024);
    int rc = dc_buf_appendf(&name, err, "%s.%s", db, table);
    *entry = rc == 0 ? match_entry(cfg, (const char *)name.data, name.len) : NULL;
    dc_buf_dispose(&name);
    if (rc < 0 || !*entry) return rc;
    const ing_vars v = {.warehouse = cfg->warehouse, .pipeline = cfg->pipeline,
                        .cap = {db, strlen(db), table, strlen(table)}};
    return typed_table_path(path, *entry, &v, err);
}

int dc_ingest_table_path_named(dc_buf *out, const dc_config_table **entry, const dc_config *cfg,
                               const char *db_table, const char *tmpl, dc_err *err)
{
    static const dc_config_table def = {.match = "*", .path = "{warehouse}/{db}.db/{table}"};
    const char *dot = strchr(db_table, '.');
    if (!dot || dot == db_table || !dot[1])
        return dc_err_set(err, DC_EINVAL, "table '%s': expected db.table", db_table);
    *entry = match_entry(cfg, db_table, strlen(db_table));
    if (!*entry && cfg->n_tables)
        return dc_err_set(err, DC_EINVAL, "table '%s' matches no tables[].match", db_table);
    if (!*entry) *entry = &def;
    const ing_vars v = {.warehouse = cfg->warehouse, .pipeline = cfg->pipeline,
                        .topic = db_table,
                        .cap = {.db = db_table, .db_len = (size_t)(dot - db_table),
                                .table = dot + 1, .table_len = strlen(dot + 1)}};
    return tmpl ? ing_expand(out, tmpl, &v, err) : typed_table_path(out, *entry, &v, err);
}
