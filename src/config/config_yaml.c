/* config: the YAML pipeline file, through libyaml's document loader. The
 * walk is driven by the key table: a mapping key is looked up by its dotted
 * path, and the row's type says what its value must be. */
#include "config.h"
#include "config_int.h"

#include <stdlib.h>
#include <strings.h>
#include <yaml.h>

#include "../common/dc_limits.h"

typedef struct loader {
    dc_config *c;           /* what is being filled */
    const char *name;       /* the file, for messages */
    yaml_document_t *doc;   /* the parsed document (borrowed) */
    int *set_line;          /* per row of dc_cfg_keys: line where set (0: not), top level */
    dc_buf tmp;             /* a scalar after ${ENV} expansion, NUL-terminated */
    bool seen_kafka;        /* a source.kafka.* key was set */
    int line_kafka;         /* its line */
} loader;

static int line_of(const yaml_node_t *n) { return (int)n->start_mark.line + 1; }

/* Prefixes the error with where it happened. */
static int fail_at(loader *L, const yaml_node_t *n, const char *key, int rc, dc_err *err)
{
    dc_err_prefix(err, "%s:%d: %s", L->name, line_of(n), key);
    return rc;
}

static int expand_env(dc_buf *out, const char *s, size_t n, dc_err *err)
{
    dc_buf_reset(out);
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '$' && i + 2 < n && s[i + 1] == '$' && s[i + 2] == '{') {
            DC_TRY(dc_buf_putc(out, '$', err)); /* "$${" is a literal "${" */
            i++;
            continue;
        }
        if (!(s[i] == '$' && i + 1 < n && s[i + 1] == '{')) {
            DC_TRY(dc_buf_putc(out, (uint8_t)s[i], err));
            continue;
        }
        size_t start = i + 2, end = start;
        while (end < n && (s[end] == '_' || (s[end] >= 'A' && s[end] <= 'Z') ||
                           (s[end] >= 'a' && s[end] <= 'z') ||
                           (end > start && s[end] >= '0' && s[end] <= '9')))
            end++;
        if (end == start || end >= n || s[end] != '}')
            return dc_err_set(err, DC_EINVAL, "'${' must be followed by a variable name and '}'");
        char name[256];
        if (end - start >= sizeof name)
            return dc_err_set(err, DC_EINVAL, "environment variable name too long");
        memcpy(name, s + start, end - start);
        name[end - start] = '\0';
        const char *v = getenv(name);
        if (!v) return dc_err_set(err, DC_EINVAL, "environment variable %s is not set", name);
        DC_TRY(dc_buf_puts(out, v, err));
        i = end;
    }
    DC_TRY(dc_buf_putc(out, '\0', err));
    /* YAML text is UTF-8; an environment variable may not be. */
    for (const unsigned char *p = out->data; *p;) {
        uint32_t c;
        int len = cfg_utf8_next(&c, p);
        if (len == 0) return dc_err_set(err, DC_EINVAL, "the value is not UTF-8 text (after ${...})");
        p += len;
    }
    return 0;
}

static bool is_null(const yaml_node_t *n)
{
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    const char *v = (const char *)n->data.scalar.value;
    return !*v || strcmp(v, "~") == 0 || strcasecmp(v, "null") == 0;
}

/* The scalar's text after ${ENV} expansion (in L->tmp, until the next call);
 * *is_null for YAML null (plain "", "~", "null"). */
static int scalar(const char **out, bool *null_out, loader *L, const yaml_node_t *n,
                  const char *key, dc_err *err)
{
    if (n->type != YAML_SCALAR_NODE)
        return fail_at(L, n, key, dc_err_set(err, DC_EINVAL, "expected a single value, not a %s",
                                             n->type == YAML_MAPPING_NODE ? "mapping" : "list"),
                       err);
    const char *v = (const char *)n->data.scalar.value;
    size_t len = n->data.scalar.length;
    if (strlen(v) != len)
        return fail_at(L, n, key, dc_err_set(err, DC_EINVAL, "a NUL byte in the value"), err);
    *null_out = is_null(n);
    int rc = expand_env(&L->tmp, v, len, err);
    if (rc < 0) return fail_at(L, n, key, rc, err);
    *out = (const char *)L->tmp.data;
    return 0;
}

static int apply_scalar(loader *L, void *base, const dc_cfg_key *k, const yaml_node_t *v,
                        dc_err *err)
{
    const char *text;
    bool is_null;
    DC_TRY(scalar(&text, &is_null, L, v, k->key, err));
    int rc = is_null ? cfg_default(L->c, base, k, err) : cfg_store(L->c, base, k, text, err);
    return rc < 0 ? fail_at(L, v, k->key, rc, err) : 0;
}

/* A YAML list of scalars into a dc_cfg_list (at most `max` items). */
static int scalar_list(dc_cfg_list *out, loader *L, const yaml_node_t *seq, const char *key,
                       dc_err *err)
{
    size_t n = (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
    if (n > DC_CONFIG_MAX_TABLES)
        return fail_at(L, seq, key, dc_err_set(err, DC_ELIMIT, "more than %d items",
                                               DC_CONFIG_MAX_TABLES), err);
    const char **items = dc_arena_alloc(&L->c->arena, (n ? n : 1) * sizeof *items, err);
    if (!items) return err->code;
    for (size_t i = 0; i < n; i++) {
        const yaml_node_t *it = yaml_document_get_node(L->doc, seq->data.sequence.items.start[i]);
        const char *text;
        bool is_null;
        DC_TRY(scalar(&text, &is_null, L, it, key, err));
        if (is_null || !*text)
            return fail_at(L, it, key, dc_err_set(err, DC_EINVAL, "an empty list item"), err);
        items[i] = dc_arena_strndup(&L->c->arena, text, strlen(text), err);
        if (!items[i]) return err->code;
    }
    out->n = (uint32_t)n;
    out->items = items;
    return 0;
}

static int apply_list(loader *L, void *base, const dc_cfg_key *k, const yaml_node_t *v,
                      dc_err *err)
{
    if (v->type != YAML_SEQUENCE_NODE) return apply_scalar(L, base, k, v, err);
    dc_cfg_list l;
    DC_TRY(scalar_list(&l, L, v, k->key, err));
    int rc = cfg_check_count(k, l.n, err);
    if (rc < 0) return fail_at(L, v, k->key, rc, err);
    *(dc_cfg_list *)(void *)((char *)base + k->offset) = l;
    return 0;
}

/* An enum whose values include sets ("raw,typed"): a YAML list is joined
 * with commas and parsed as one value (parse_enum accepts any order). */
static int apply_enum(loader *L, void *base, const dc_cfg_key *k, const yaml_node_t *v,
                      dc_err *err)
{
    if (v->type != YAML_SEQUENCE_NODE) return apply_scalar(L, base, k, v, err);
    dc_cfg_list l;
    DC_TRY(scalar_list(&l, L, v, k->key, err));
    dc_buf joined;
    dc_buf_init(&joined, 4096);
    int rc = 0;
    for (uint32_t i = 0; i < l.n && rc == 0; i++)
        rc = dc_buf_appendf(&joined, err, "%s%s", i ? "," : "", l.items[i]);
    if (rc == 0) rc = dc_buf_putc(&joined, '\0', err);
    if (rc == 0) rc = cfg_store(L->c, base, k, (const char *)joined.data, err);
    dc_buf_dispose(&joined);
    return rc < 0 ? fail_at(L, v, k->key, rc, err) : 0;
}

static int apply_topics(loader *L, void *base, const dc_cfg_key *k, const yaml_node_t *v,
                        dc_err *err)
{
    if (v->type != YAML_SEQUENCE_NODE) return apply_scalar(L, base, k, v, err);
    dc_cfg_topics *t = (dc_cfg_topics *)(void *)((char *)base + k->offset);
    memset(t, 0, sizeof *t);
    DC_TRY(scalar_list(&t->list, L, v, k->key, err));
    if (t->list.n == 0)
        return fail_at(L, v, k->key, dc_err_set(err, DC_EINVAL, "an empty list of topics"), err);
    for (uint32_t i = 0; i < t->list.n; i++)
        if (strchr(t->list.items[i], '{'))
            return fail_at(L, v, k->key, dc_err_set(err, DC_EINVAL,
                           "'%s': a list names topics; give a pattern with {db}/{table} as a "
                           "single string", t->list.items[i]), err);
    return 0;
}

static int apply_map(loader *L, void *base, const dc_cfg_key *k, const yaml_node_t *v,
                     dc_err *err)
{
    if (v->type != YAML_MAPPING_NODE)
        return fail_at(L, v, k->key, dc_err_set(err, DC_EINVAL, "expected a mapping"), err);
    size_t n = (size_t)(v->data.mapping.pairs.top - v->data.mapping.pairs.start);
    if (n > DC_CONFIG_MAX_PROPERTIES)
        return fail_at(L, v, k->key, dc_err_set(err, DC_ELIMIT, "more than %d properties",
                                                DC_CONFIG_MAX_PROPERTIES), err);
    dc_cfg_map *m = (dc_cfg_map *)(void *)((char *)base + k->offset);
    m->keys = dc_arena_alloc(&L->c->arena, (n ? n : 1) * sizeof *m->keys, err);
    m->values = dc_arena_alloc(&L->c->arena, (n ? n : 1) * sizeof *m->values, err);
    if (!m->keys || !m->values) return err->code;
    m->n = 0;
    for (size_t i = 0; i < n; i++) {
        const yaml_node_pair_t *p = &v->data.mapping.pairs.start[i];
        const yaml_node_t *kn = yaml_document_get_node(L->doc, p->key);
        const yaml_node_t *vn = yaml_document_get_node(L->doc, p->value);
        const char *text;
        bool is_null;
        DC_TRY(scalar(&text, &is_null, L, kn, k->key, err));
        for (uint32_t j = 0; j < m->n; j++)
            if (strcmp(m->keys[j], text) == 0)
                return fail_at(L, kn, k->key, dc_err_set(err, DC_EINVAL, "property '%s' set twice",
                                                         text), err);
        m->keys[m->n] = dc_arena_strndup(&L->c->arena, text, strlen(text), err);
        if (!m->keys[m->n]) return err->code;
        DC_TRY(scalar(&text, &is_null, L, vn, m->keys[m->n], err));
        m->values[m->n] = dc_arena_strndup(&L->c->arena, text, strlen(text), err);
        if (!m->values[m->n]) return err->code;
        if (k->check) {
            int rc = k->check(m->values[m->n], err);
            if (rc < 0) return fail_at(L, vn, m->keys[m->n], rc, err);
        }
        m->n++;
    }
    return 0;
}

static int walk_mapping(loader *L, const yaml_node_t *map, const char *prefix, void *base,
                        int *set_line, dc_err *err);

static int apply_tables(loader *L, const dc_cfg_key *k, const yaml_node_t *v, dc_err *err)
{
    if (v->type != YAML_SEQUENCE_NODE)
        return fail_at(L, v, k->key, dc_err_set(err, DC_EINVAL, "expected a list of tables"),
                       err);
    size_t n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
    if (n > DC_CONFIG_MAX_TABLES)
        return fail_at(L, v, k->key, dc_err_set(err, DC_ELIMIT, "more than %d tables",
                                                DC_CONFIG_MAX_TABLES), err);
    dc_config_table *tabs = dc_arena_alloc(&L->c->arena, (n ? n : 1) * sizeof *tabs, err);
    int *lines = dc_calloc(dc_cfg_n_keys, sizeof *lines);
    int rc = 0;
    if (!tabs || !lines) {
        rc = tabs ? dc_err_set(err, DC_ENOMEM, "out of memory") : err->code;
        goto out;
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        const yaml_node_t *e = yaml_document_get_node(L->doc, v->data.sequence.items.start[i]);
        if (e->type != YAML_MAPPING_NODE) {
            rc = fail_at(L, e, "tables", dc_err_set(err, DC_EINVAL,
                         "entry %zu is not a mapping (match, path, format, mode, key)", i + 1),
                         err);
            break;
        }
        rc = cfg_table_defaults(L->c, &tabs[i], err);
        tabs[i].line = line_of(e);
        memset(lines, 0, dc_cfg_n_keys * sizeof *lines);
        if (rc == 0) rc = walk_mapping(L, e, "tables[]", &tabs[i], lines, err);
    }
    if (rc == 0) {
        L->c->tables = tabs;
        L->c->n_tables = (uint32_t)n;
    }
out:
    dc_free(lines);
    return rc;
}

/* Dispatches one key/value pair found at dotted path `full`. */
static int apply_pair(loader *L, const char *full, const yaml_node_t *kn, const yaml_node_t *vn,
                      void *base, int *set_line, dc_err *err)
{
    const dc_cfg_key *k = dc_config_key_find(full);
    bool table_row = k && strncmp(k->key, "tables[].", 9) == 0;
    if (!k || table_row != (base != L->c) || strcmp(full, "tables[]") == 0)
        return fail_at(L, kn, full, dc_err_set(err, DC_EINVAL,
                       "unknown key (see docs/CONFIGURATION.md)"), err);
    size_t row = (size_t)(k - dc_cfg_keys);
    if (k->type != DC_CFG_SECTION) {
        if (set_line[row])
            return fail_at(L, kn, full, dc_err_set(err, DC_EINVAL, "set twice (first on line %d)",
                                                   set_line[row]), err);
        set_line[row] = line_of(kn);
    }
    /* The Kafka source is configured by its brokers or topics (its other
     * keys have defaults, which a dump writes out). */
    if ((strcmp(full, "source.kafka.bootstrap_servers") == 0 ||
         strcmp(full, "source.kafka.topics") == 0) && !L->seen_kafka && !is_null(vn)) {
        L->seen_kafka = true;
        L->line_kafka = line_of(kn);
    }
    switch (k->type) {
    case DC_CFG_SECTION:
        if (vn->type != YAML_MAPPING_NODE)
            return fail_at(L, vn, full, dc_err_set(err, DC_EINVAL, "expected a mapping"), err);
        return walk_mapping(L, vn, full, base, set_line, err);
    case DC_CFG_TABLES: return apply_tables(L, k, vn, err);
    case DC_CFG_MAP: return apply_map(L, base, k, vn, err);
    case DC_CFG_LIST: return apply_list(L, base, k, vn, err);
    case DC_CFG_TOPICS: return apply_topics(L, base, k, vn, err);
    case DC_CFG_ENUM: return apply_enum(L, base, k, vn, err);
    default: return apply_scalar(L, base, k, vn, err);
    }
}

static int walk_mapping(loader *L, const yaml_node_t *map, const char *prefix, void *base,
                        int *set_line, dc_err *err)
{
    for (const yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        const yaml_node_t *kn = yaml_document_get_node(L->doc, p->key);
        const yaml_node_t *vn = yaml_document_get_node(L->doc, p->value);
        if (kn->type != YAML_SCALAR_NODE)
            return fail_at(L, kn, prefix ? prefix : "(top level)",
                           dc_err_set(err, DC_EINVAL, "a key must be a plain name"), err);
        char full[256];
        int w = snprintf(full, sizeof full, "%s%s%s", prefix ? prefix : "", prefix ? "." : "",
                         (const char *)kn->data.scalar.value);
        if (w < 0 || (size_t)w >= sizeof full)
            return fail_at(L, kn, "(key)", dc_err_set(err, DC_EINVAL, "unknown key (too long)"),
                           err);
        DC_TRY(apply_pair(L, full, kn, vn, base, set_line, err));
    }
    return 0;
}

static int parse_error(const yaml_parser_t *p, const char *name, dc_err *err)
{
    const yaml_mark_t *m = p->problem ? &p->problem_mark : &p->context_mark;
    return dc_err_set(err, DC_EINVAL, "%s:%zu:%zu: not valid YAML: %s%s%s", name, m->line + 1,
                      m->column + 1, p->problem ? p->problem : "error",
                      p->context ? " " : "", p->context ? p->context : "");
}

/* Checks that need the whole file: one source only. */
static int check_file(loader *L, dc_err *err)
{
    const dc_cfg_key *f = dc_config_key_find("source.file");
    int fl = L->set_line[f - dc_cfg_keys];
    if (fl && L->c->source_file && L->seen_kafka)
        return dc_err_set(err, DC_EINVAL, "%s:%d: source.file: source.kafka is set too (line %d); "
                          "give one source", L->name, fl, L->line_kafka);
    return 0;
}

int dc_config_load_text(dc_config *c, const char *name, const char *text, size_t n, dc_err *err)
{
    yaml_parser_t parser;
    yaml_document_t doc;
    bool parser_ok = false, doc_ok = false;
    loader L = {.c = c, .name = name, .doc = &doc};
    dc_buf_init(&L.tmp, DC_CONFIG_MAX_FILE);
    int rc = 0;
    L.set_line = dc_calloc(dc_cfg_n_keys, sizeof *L.set_line);
    if (!L.set_line || !yaml_parser_initialize(&parser)) {
        rc = dc_err_set(err, DC_ENOMEM, "out of memory reading %s", name);
        goto out;
    }
    parser_ok = true;
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, n);
    if (!yaml_parser_load(&parser, &doc)) {
        rc = parse_error(&parser, name, err);
        goto out;
    }
    doc_ok = true;
    const yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!root) goto out; /* an empty file: every default */
    if (root->type != YAML_MAPPING_NODE) {
        rc = fail_at(&L, root, "(top level)", dc_err_set(err, DC_EINVAL, "expected a mapping"),
                     err);
        goto out;
    }
    rc = walk_mapping(&L, root, NULL, c, L.set_line, err);
    if (rc == 0) rc = check_file(&L, err);
out:
    if (doc_ok) yaml_document_delete(&doc);
    if (parser_ok) yaml_parser_delete(&parser);
    dc_buf_dispose(&L.tmp);
    dc_free(L.set_line);
    return rc;
}

int dc_config_load_file(dc_config *c, const char *path, dc_err *err)
{
    uint8_t *data = NULL;
    size_t len = 0;
    DC_TRY(dc_file_read_all(&data, &len, path, DC_CONFIG_MAX_FILE, err));
    int rc = dc_config_load_text(c, path, (const char *)data, len, err);
    if (rc == 0) {
        c->file = dc_arena_strndup(&c->arena, path, strlen(path), err);
        if (!c->file) rc = err->code;
    }
    dc_free(data);
    return rc;
}
