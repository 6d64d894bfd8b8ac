/*
 * Debezium schema-change records (include.schema.changes=true, the topic
 * named after topic.prefix) → the column renames and drops a typed table
 * follows in place (issue 9).
 *
 * Each record carries payload.source (the binlog position of the DDL),
 * payload.ddl (the statement's text) and payload.tableChanges: per table
 * touched, its type (CREATE / ALTER / DROP), its id ("db"."table") and its
 * whole column list after the statement. The structured list says which
 * names went and which came, but not whether a name that went was renamed
 * or dropped (a rename and a drop plus an add give the same two lists), so
 * the DDL's own column clauses are replayed on the previous list: when that
 * gives the new list exactly, its renames and drops are the answer; when it
 * does not (a statement this small reader does not follow), only renames the
 * DDL names and the lists confirm are taken, and every other name that went
 * is a drop. A name that came is an add, which the data records' schema
 * blocks already carry: nothing is noted for it here.
 *
 * The DDL reader knows ALTER TABLE's column clauses: RENAME COLUMN a TO b,
 * CHANGE [COLUMN] a b ..., DROP [COLUMN] [IF EXISTS] a, ADD [COLUMN]
 * [IF NOT EXISTS] a ... / ADD [COLUMN] (a ..., b ...); clauses about
 * indexes, keys, constraints and partitions are skipped. Identifiers may be
 * `quoted`; strings and comments are skipped.
 */
#include "cdc.h"

#include "../common/dc_limits.h"
#include "../json/dc_json.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <strings.h>

/* The column list a table had after the last record that gave one. */
typedef struct sc_table {
    char *id;                   /* "db.table" (arena) */
    uint32_t n;                 /* columns */
    char **cols;                /* their names (arena) */
} sc_table;

struct dc_cdc_schemalog {
    dc_arena arena;             /* names, lists and op strings */
    sc_table *tables;           /* tables seen (dc_malloc'd array) */
    uint32_t n_tables, cap_tables;
    dc_cdc_colop *ops;          /* renames and drops in record order (dc_malloc'd) */
    size_t n_ops, cap_ops;
    size_t records;             /* records added (tombstones and others included) */
};

int dc_cdc_schemalog_new(dc_cdc_schemalog **out, dc_err *err)
{
    dc_cdc_schemalog *l = dc_calloc(1, sizeof *l);
    if (!l) return dc_err_set(err, DC_ENOMEM, "schema changes: out of memory");
    dc_arena_init(&l->arena, DC_CDC_MAX_SCHEMALOG_BYTES);
    *out = l;
    return 0;
}

void dc_cdc_schemalog_free(dc_cdc_schemalog *l)
{
    if (!l) return;
    dc_arena_dispose(&l->arena);
    dc_free(l->tables);
    dc_free(l->ops);
    dc_free(l);
}

size_t dc_cdc_schemalog_n(const dc_cdc_schemalog *l) { return l ? l->n_ops : 0; }

const dc_cdc_colop *dc_cdc_schemalog_op(const dc_cdc_schemalog *l, size_t i)
{
    DC_ASSERT(i < l->n_ops);
    return &l->ops[i];
}

size_t dc_cdc_schemalog_records(const dc_cdc_schemalog *l) { return l ? l->records : 0; }

/* ------------------------------------------------------------ the DDL */

/* One token of a DDL statement: a word or `identifier` (text unquoted into
 * buf), or one punctuation byte. */
typedef struct ddl_tok {
    char kind;                  /* 'w' word, 'q' quoted identifier, 'p' punctuation, 0 end */
    char p;                     /* the punctuation byte */
    char text[DC_CDC_MAX_COLUMN_NAME + 1]; /* word / identifier (cut at the limit) */
} ddl_tok;

typedef struct ddl_lex {
    const char *s, *e;          /* the statement */
} ddl_lex;

static void skip_space(ddl_lex *x)
{
    for (;;) {
        while (x->s < x->e && isspace((unsigned char)*x->s)) x->s++;
        if (x->e - x->s >= 2 && x->s[0] == '/' && x->s[1] == '*') {
            const char *c = x->s + 2;
            while (c + 1 < x->e && !(c[0] == '*' && c[1] == '/')) c++;
            x->s = c + 1 < x->e ? c + 2 : x->e;
        } else if (x->s < x->e && (*x->s == '#' || (x->e - x->s >= 2 && x->s[0] == '-' &&
                                                     x->s[1] == '-'))) {
            while (x->s < x->e && *x->s != '\n') x->s++;
        } else {
            return;
        }
    }
}

static bool word_byte(unsigned char c)
{
    return isalnum(c) || c == '_' || c == '$' || c >= 0x80;
}

/* The next token; strings ('..', "..") come back as punctuation '\''. */
static void next_tok(ddl_lex *x, ddl_tok *t)
{
    skip_space(x);
    t->kind = 0;
    t->text[0] = '\0';
    if (x->s >= x->e) return;
    size_t n = 0;
    const char c = *x->s;
    if (c == '`') {
        t->kind = 'q';
        for (x->s++; x->s < x->e; x->s++) {
            if (*x->s == '`' && !(x->s + 1 < x->e && x->s[1] == '`')) { x->s++; break; }
            if (*x->s == '`') x->s++; /* `` inside quotes is one ` */
            if (n < DC_CDC_MAX_COLUMN_NAME) t->text[n++] = *x->s;
        }
    } else if (c == '\'' || c == '"') {
        t->kind = 'p';
        t->p = '\'';
        for (x->s++; x->s < x->e && *x->s != c; x->s++)
            if (*x->s == '\\' && x->s + 1 < x->e) x->s++;
        if (x->s < x->e) x->s++;
    } else if (word_byte((unsigned char)c)) {
        t->kind = 'w';
        for (; x->s < x->e && word_byte((unsigned char)*x->s); x->s++)
            if (n < DC_CDC_MAX_COLUMN_NAME) t->text[n++] = *x->s;
    } else {
        t->kind = 'p';
        t->p = c;
        x->s++;
    }
    t->text[n] = '\0';
}

static bool is_kw(const ddl_tok *t, const char *kw)
{
    return t->kind == 'w' && strcasecmp(t->text, kw) == 0;
}

static bool is_ident(const ddl_tok *t) { return t->kind == 'w' || t->kind == 'q'; }

/* A column clause of the statement, replayed on a column list. */
typedef struct ddl_op {
    char kind;                  /* 'r' rename, 'd' drop, 'a' add */
    char *from, *to;            /* arena copies; `to` for renames */
} ddl_op;

typedef struct ddl_ops {
    ddl_op *v;                  /* arena */
    uint32_t n, cap;
} ddl_ops;

static int push_op(ddl_ops *o, dc_arena *a, char kind, const char *from, const char *to,
                   dc_err *err)
{
    if (o->n == o->cap) {
        const uint32_t cap = o->cap ? o->cap * 2 : 8;
        if (cap > DC_CDC_MAX_COLUMNS * 2)
            return dc_err_set(err, DC_ELIMIT, "more than %d column clauses in one statement",
                              DC_CDC_MAX_COLUMNS * 2);
        ddl_op *v = dc_arena_alloc(a, cap * sizeof *v, err);
        if (!v) return DC_ENOMEM;
        if (o->n) memcpy(v, o->v, o->n * sizeof *v);
        o->v = v;
        o->cap = cap;
    }
    ddl_op *p = &o->v[o->n];
    p->kind = kind;
    p->from = dc_arena_strndup(a, from, strlen(from), err);
    p->to = to ? dc_arena_strndup(a, to, strlen(to), err) : NULL;
    if (!p->from || (to && !p->to)) return DC_ENOMEM;
    o->n++;
    return 0;
}

/* Skips to the end of the clause (a ',' at depth 0, or the end). */
static void skip_clause(ddl_lex *x, ddl_tok *t)
{
    int depth = 0;
    for (;;) {
        next_tok(x, t);
        if (t->kind == 0) return;
        if (t->kind != 'p') continue;
        if (t->p == '(') depth++;
        else if (t->p == ')') depth--;
        else if (t->p == ',' && depth <= 0) return;
    }
}

/* Is a clause word that starts something other than a column. */
static bool not_column(const ddl_tok *t)
{
    static const char *const kws[] = {"INDEX", "KEY", "PRIMARY", "UNIQUE", "CONSTRAINT",
                                      "FOREIGN", "FULLTEXT", "SPATIAL", "PARTITION", "CHECK",
                                      "PERIOD", "SYSTEM", "DEFAULT", NULL};
    for (const char *const *k = kws; *k; k++)
        if (is_kw(t, *k)) return true;
    return false;
}

/* Skips "IF [NOT] EXISTS" at t; t then holds the token after. */
static void skip_if_exists(ddl_lex *x, ddl_tok *t)
{
    if (!is_kw(t, "IF")) return;
    next_tok(x, t);
    if (is_kw(t, "NOT")) next_tok(x, t);
    if (is_kw(t, "EXISTS")) next_tok(x, t);
}

/* ADD [COLUMN] [IF NOT EXISTS] a ... | ADD [COLUMN] (a ..., b ...) */
static int clause_add(ddl_ops *o, dc_arena *a, ddl_lex *x, ddl_tok *t, dc_err *err)
{
    next_tok(x, t);
    if (not_column(t)) return 0;
    if (is_kw(t, "COLUMN")) next_tok(x, t);
    skip_if_exists(x, t);
    if (t->kind == 'p' && t->p == '(') { /* a list: each member's first identifier */
        for (;;) {
            next_tok(x, t);
            if (!is_ident(t) || not_column(t)) return 0;
            DC_TRY(push_op(o, a, 'a', t->text, NULL, err));
            int depth = 0;
            for (;;) {
                next_tok(x, t);
                if (t->kind == 0) return 0;
                if (t->kind != 'p') continue;
                if (t->p == '(') depth++;
                else if (t->p == ')' && depth-- == 0) return 0;
                else if (t->p == ',' && depth == 0) break;
            }
        }
    }
    return is_ident(t) ? push_op(o, a, 'a', t->text, NULL, err) : 0;
}

/* The clause at t (its first token read). */
static int one_clause(ddl_ops *o, dc_arena *a, ddl_lex *x, ddl_tok *t, dc_err *err)
{
    char from[DC_CDC_MAX_COLUMN_NAME + 1];
    if (is_kw(t, "ADD")) return clause_add(o, a, x, t, err);
    if (is_kw(t, "DROP")) {
        next_tok(x, t);
        if (not_column(t) || is_kw(t, "FOREIGN")) return 0;
        if (is_kw(t, "COLUMN")) next_tok(x, t);
        skip_if_exists(x, t);
        return is_ident(t) ? push_op(o, a, 'd', t->text, NULL, err) : 0;
    }
    if (is_kw(t, "RENAME")) {
        next_tok(x, t);
        if (!is_kw(t, "COLUMN")) return 0; /* RENAME TO / INDEX / KEY: not a column */
        next_tok(x, t);
        if (!is_ident(t)) return 0;
        snprintf(from, sizeof from, "%s", t->text);
        next_tok(x, t);
        if (!is_kw(t, "TO")) return 0;
        next_tok(x, t);
        return is_ident(t) ? push_op(o, a, 'r', from, t->text, err) : 0;
    }
    if (is_kw(t, "CHANGE")) {
        next_tok(x, t);
        if (is_kw(t, "COLUMN")) next_tok(x, t);
        skip_if_exists(x, t);
        if (!is_ident(t)) return 0;
        snprintf(from, sizeof from, "%s", t->text);
        next_tok(x, t);
        if (!is_ident(t) || strcmp(from, t->text) == 0) return 0; /* a type change only */
        return push_op(o, a, 'r', from, t->text, err);
    }
    return 0;
}

/* The column clauses of an ALTER TABLE statement (anything else: none). */
static int ddl_parse(ddl_ops *o, dc_arena *a, const char *ddl, size_t n, dc_err *err)
{
    ddl_lex x = {ddl, ddl + n};
    ddl_tok *t = dc_arena_alloc(a, sizeof *t, err);
    if (!t) return DC_ENOMEM;
    next_tok(&x, t);
    if (!is_kw(t, "ALTER")) return 0;
    do next_tok(&x, t); while (t->kind && !is_kw(t, "TABLE"));
    next_tok(&x, t);                 /* the table's name, maybe db.table */
    skip_if_exists(&x, t);
    next_tok(&x, t);
    while (t->kind == 'p' && t->p == '.') {
        next_tok(&x, t);
        next_tok(&x, t);
    }
    while (t->kind) {
        DC_TRY(one_clause(o, a, &x, t, err));
        if (t->kind && !(t->kind == 'p' && t->p == ',')) skip_clause(&x, t);
        if (t->kind) next_tok(&x, t);
    }
    return 0;
}

/* ------------------------------------------------------- the record */

static int32_t find_name(char *const *names, uint32_t n, const char *name)
{
    for (uint32_t i = 0; i < n; i++)
        if (names[i] && strcmp(names[i], name) == 0) return (int32_t)i;
    return -1;
}

static int push_colop(dc_cdc_schemalog *l, const dc_cdc_colop *op, dc_err *err)
{
    if (l->n_ops == l->cap_ops) {
        const size_t cap = l->cap_ops ? l->cap_ops * 2 : 16;
        if (cap > DC_CDC_MAX_SCHEMALOG_OPS)
            return dc_err_set(err, DC_ELIMIT, "more than %d column renames and drops",
                              DC_CDC_MAX_SCHEMALOG_OPS);
        dc_cdc_colop *v = dc_realloc(l->ops, cap * sizeof *v);
        if (!v) return dc_err_set(err, DC_ENOMEM, "schema changes: out of memory");
        l->ops = v;
        l->cap_ops = cap;
    }
    l->ops[l->n_ops++] = *op;
    return 0;
}

/* Replays the DDL's clauses on `prev` (a scratch copy in `sim`); true when
 * the result has exactly the names of `now`. */
static bool replay_matches(char **sim, uint32_t n_prev, uint32_t cap, const ddl_ops *o,
                           char *const *now, uint32_t n_now)
{
    uint32_t n = n_prev;
    for (uint32_t i = 0; i < o->n; i++) {
        const ddl_op *p = &o->v[i];
        const int32_t at = find_name(sim, n, p->from);
        if (p->kind == 'a') {
            if (at >= 0 || n == cap) return false;
            sim[n++] = p->from;
        } else if (at < 0) {
            return false;
        } else if (p->kind == 'd') {
            sim[at] = NULL;
        } else {
            if (find_name(sim, n, p->to) >= 0) return false;
            sim[at] = p->to;
        }
    }
    uint32_t live = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (!sim[i]) continue;
        live++;
        if (find_name(now, n_now, sim[i]) < 0) return false;
    }
    return live == n_now;
}

/* The renames and drops of one ALTER: `prev` → `now` with the DDL's clauses. */
static int alter_ops(dc_cdc_schemalog *l, const dc_cdc_colop *base, const sc_table *prev,
                     char *const *now, uint32_t n_now, const ddl_ops *o, dc_err *err)
{
    const uint32_t cap = (prev ? prev->n : 0) + o->n;
    char **sim = dc_arena_alloc(&l->arena, (cap ? cap : 1) * sizeof *sim, err);
    if (!sim) return DC_ENOMEM;
    if (prev && prev->n) memcpy(sim, prev->cols, prev->n * sizeof *sim);
    const bool exact = prev && replay_matches(sim, prev->n, cap, o, now, n_now);
    for (uint32_t i = 0; i < o->n; i++) { /* renames (and, when exact, drops) in DDL order */
        const ddl_op *p = &o->v[i];
        dc_cdc_colop op = *base;
        op.from = p->from;
        if (p->kind == 'r' && (exact || ((!prev || find_name(prev->cols, prev->n, p->from) >= 0) &&
                                         find_name(now, n_now, p->from) < 0 &&
                                         find_name(now, n_now, p->to) >= 0))) {
            op.kind = DC_CDC_COL_RENAME;
            op.to = p->to;
            DC_TRY(push_colop(l, &op, err));
        } else if (p->kind == 'd' && (exact || (!prev && find_name(now, n_now, p->from) < 0))) {
            op.kind = DC_CDC_COL_DROP;
            DC_TRY(push_colop(l, &op, err));
        }
    }
    if (exact || !prev) return 0;
    /* Not followed exactly: every other name that went is a drop. */
    for (uint32_t i = 0; i < prev->n; i++) {
        const char *name = prev->cols[i];
        bool renamed = false;
        for (uint32_t j = 0; j < o->n && !renamed; j++)
            renamed = o->v[j].kind == 'r' && strcmp(o->v[j].from, name) == 0 &&
                      find_name(now, n_now, o->v[j].to) >= 0;
        if (renamed || find_name(now, n_now, name) >= 0) continue;
        dc_cdc_colop op = *base;
        op.kind = DC_CDC_COL_DROP;
        op.from = name;
        DC_TRY(push_colop(l, &op, err));
    }
    return 0;
}

/* "\"db\".\"table\"" (or db.table) → "db.table" in the arena. */
static char *table_id(dc_arena *a, const char *id, dc_err *err)
{
    const size_t n = strlen(id);
    char *out = dc_arena_alloc(a, n + 1, err);
    if (!out) return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (id[i] != '"' && id[i] != '`') out[k++] = id[i];
    out[k] = '\0';
    return out;
}

static sc_table *find_table(dc_cdc_schemalog *l, const char *id)
{
    for (uint32_t i = 0; i < l->n_tables; i++)
        if (strcmp(l->tables[i].id, id) == 0) return &l->tables[i];
    return NULL;
}

static int new_table(sc_table **out, dc_cdc_schemalog *l, char *id, dc_err *err)
{
    if (l->n_tables == l->cap_tables) {
        const uint32_t cap = l->cap_tables ? l->cap_tables * 2 : 8;
        sc_table *v = dc_realloc(l->tables, cap * sizeof *v);
        if (!v) return dc_err_set(err, DC_ENOMEM, "schema changes: out of memory");
        l->tables = v;
        l->cap_tables = cap;
    }
    *out = &l->tables[l->n_tables++];
    memset(*out, 0, sizeof **out);
    (*out)->id = id;
    return 0;
}

/* table.columns[].name → an arena array. */
static int column_names(char ***out, uint32_t *n_out, dc_arena *a, const dc_json *cols,
                        dc_err *err)
{
    if (!cols || cols->type != DC_JSON_ARRAY)
        return dc_err_set(err, DC_EINVAL, "tableChanges[].table.columns is not an array");
    if (cols->len > DC_CDC_MAX_COLUMNS)
        return dc_err_set(err, DC_ELIMIT, "%u columns exceed the limit of %d", cols->len,
                          DC_CDC_MAX_COLUMNS);
    char **v = dc_arena_alloc(a, (cols->len ? cols->len : 1) * sizeof *v, err);
    if (!v) return DC_ENOMEM;
    for (uint32_t i = 0; i < cols->len; i++) {
        const char *name = dc_json_str(dc_json_get(&cols->u.items[i], "name"));
        if (!name || !*name)
            return dc_err_set(err, DC_EINVAL, "tableChanges[].table.columns[%u] has no name", i);
        if (!(v[i] = dc_arena_strndup(a, name, strlen(name), err))) return DC_ENOMEM;
    }
    *out = v;
    *n_out = cols->len;
    return 0;
}

/* One tableChanges entry. */
static int table_change(dc_cdc_schemalog *l, const dc_cdc_colop *base, const dc_json *tc,
                        const char *ddl, dc_err *err)
{
    const char *type = dc_json_str(dc_json_get(tc, "type"));
    const char *id = dc_json_str(dc_json_get(tc, "id"));
    if (!type || !id) return dc_err_set(err, DC_EINVAL, "tableChanges[] needs a type and an id");
    char *tid = table_id(&l->arena, id, err);
    if (!tid) return DC_ENOMEM;
    sc_table *t = find_table(l, tid);
    if (strcmp(type, "DROP") == 0) {
        if (t) { /* forgotten: a table created again starts a new list */
            t->n = 0;
            t->cols = NULL;
        }
        return 0;
    }
    if (strcmp(type, "CREATE") != 0 && strcmp(type, "ALTER") != 0) return 0;
    const dc_json *table = dc_json_get(tc, "table");
    if (!table || table->type != DC_JSON_OBJECT)
        return dc_err_set(err, DC_EINVAL, "tableChanges[] of type %s has no table", type);
    char **now = NULL;
    uint32_t n_now = 0;
    DC_TRY(column_names(&now, &n_now, &l->arena, dc_json_get(table, "columns"), err));
    if (strcmp(type, "ALTER") == 0) {
        ddl_ops o = {0};
        if (ddl) DC_TRY(ddl_parse(&o, &l->arena, ddl, strlen(ddl), err));
        dc_cdc_colop b = *base;
        b.table = tid;
        DC_TRY(alter_ops(l, &b, t && t->cols ? t : NULL, now, n_now, &o, err));
    }
    if (!t) DC_TRY(new_table(&t, l, tid, err));
    t->cols = now;
    t->n = n_now;
    return 0;
}

/* payload.source → the DDL's position ("FILE:POS:ROW[:snapshot]" parsed back,
 * the same reading as a data record's). */
static int source_pos(dc_cdc_srcpos *out, const dc_json *src, dc_err *err)
{
    const char *file = dc_json_str(dc_json_get(src, "file"));
    int64_t pos = 0, row = 0;
    if (!file) return dc_err_set(err, DC_EINVAL, "payload.source has no binlog file");
    DC_TRY(dc_json_i64(&pos, dc_json_get(src, "pos"), "payload.source.pos", err));
    const dc_json *r = dc_json_get(src, "row");
    if (r && r->type != DC_JSON_NULL) DC_TRY(dc_json_i64(&row, r, "payload.source.row", err));
    const dc_json *snap = dc_json_get(src, "snapshot");
    const bool snapshot = snap && (snap->type == DC_JSON_TRUE ||
                                   (dc_json_str(snap) && strcmp(dc_json_str(snap), "false") != 0));
    char text[256];
    const int n = snprintf(text, sizeof text, "%.160s:%" PRId64 ":%" PRId64 "%s", file, pos, row,
                           snapshot ? ":snapshot" : "");
    return dc_cdc_srcpos_parse(out, text, (size_t)n, err);
}

static int add_payload(dc_cdc_schemalog *l, const dc_json *p, int64_t line, dc_err *err)
{
    const dc_json *src = dc_json_get(p, "source");
    const dc_json *tcs = dc_json_get(p, "tableChanges");
    if (!tcs || tcs->type == DC_JSON_NULL) return 0; /* not a schema change */
    if (tcs->type != DC_JSON_ARRAY) return dc_err_set(err, DC_EINVAL, "tableChanges is not an array");
    if (!src || src->type != DC_JSON_OBJECT)
        return dc_err_set(err, DC_EINVAL, "a schema change without payload.source can not be "
                          "ordered against the data records");
    dc_cdc_colop base;
    memset(&base, 0, sizeof base);
    DC_TRY(source_pos(&base.pos, src, err));
    base.line = line;
    const char *ddl = dc_json_str(dc_json_get(p, "ddl"));
    if (ddl && !(base.ddl = dc_arena_strndup(&l->arena, ddl, strlen(ddl) > 200 ? 200 : strlen(ddl),
                                             err)))
        return DC_ENOMEM;
    for (uint32_t i = 0; i < tcs->len; i++) {
        const dc_json *tc = &tcs->u.items[i];
        if (tc->type != DC_JSON_OBJECT)
            return dc_err_set(err, DC_EINVAL, "tableChanges[%u] is not an object", i);
        DC_TRY(table_change(l, &base, tc, ddl, err));
    }
    return 0;
}

int dc_cdc_schemalog_add(dc_cdc_schemalog *l, const char *rec, size_t len, int64_t line,
                         dc_err *err)
{
    dc_arena a;
    dc_arena_init(&a, DC_JSON_MAX_DOC_BYTES);
    dc_json *doc = NULL;
    int rc = dc_json_parse(&doc, &a, rec, len, err);
    l->records++;
    if (rc == 0 && doc->type == DC_JSON_OBJECT) {
        const dc_json *p = dc_json_get(doc, "payload");
        if (!p && !dc_json_get(doc, "schema")) p = doc; /* a record without envelope */
        if (p && p->type == DC_JSON_OBJECT) rc = add_payload(l, p, line, err);
        else if (p && p->type != DC_JSON_NULL)
            rc = dc_err_set(err, DC_EINVAL, "payload is not an object");
    } else if (rc == 0 && doc->type != DC_JSON_NULL) {
        rc = dc_err_set(err, DC_EINVAL, "a schema-change record must be an object, not %s",
                        dc_json_type_name(doc->type));
    }
    dc_arena_dispose(&a);
    if (rc < 0) dc_err_prefix(err, "schema change at line %" PRId64, line);
    return rc;
}

/* ------------------------------------------------ the data records' table */

int dc_cdc_envelope_table(char *out, size_t cap, const char *schema, size_t len, dc_err *err)
{
    dc_arena a;
    dc_arena_init(&a, DC_JSON_MAX_DOC_BYTES);
    dc_json *doc = NULL;
    int rc = dc_json_parse(&doc, &a, schema, len, err);
    const char *name = rc == 0 ? dc_json_str(dc_json_get(doc, "name")) : NULL;
    out[0] = '\0';
    if (rc == 0 && name) {
        /* "<prefix>.<db>.<table>.Envelope": the two parts before the last. */
        const size_t n = strlen(name);
        const char *e = name + n, *dots[3] = {NULL, NULL, NULL};
        int k = 0;
        for (const char *p = e; p > name && k < 3; p--)
            if (p[-1] == '.') dots[k++] = p - 1;
        if (k >= 2) {
            const char *from = k == 3 ? dots[2] + 1 : name;
            const size_t m = (size_t)(dots[0] - from);
            if (m < cap) {
                memcpy(out, from, m);
                out[m] = '\0';
            }
        }
    }
    dc_arena_dispose(&a);
    return rc;
}
