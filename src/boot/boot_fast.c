/*
 * The reader's short way from the text protocol to the typed row: for the
 * common columns (integers, strings, exact decimals up to 38 digits,
 * doubles, dates, DATETIME and TIMESTAMP), the server's text IS the typed
 * row's value in the Parquet writer's conventions once checked (a date the
 * writer reads as it is; a timestamp with a 'T'), so the row's members are
 * written straight from it — no Debezium image in JSON, no second parse of
 * that image. It is the same mapping, not a second one: a column takes the
 * short way only when its Debezium kind and Delta type (from the schema
 * block, dc_cdc_tschema) are the pair the long way turns that text into, and
 * any value the check does not pass (a zero date, a year 0, a leading zero,
 * a number beyond the type, a null in a non-optional column...) sends the
 * whole row the long way (dc_mysql_image + dc_cdc_typed_members), which
 * decides it — so values and errors are the long way's by construction.
 */
#include "boot_int.h"

#include <math.h>
#include <stdlib.h>

#include "../delta/delta.h"
#include "../json/dc_json.h"

/* The short ways. */
enum { FK_NONE = 0, FK_INT, FK_STRING, FK_DECIMAL, FK_DOUBLE, FK_DATE, FK_TS };

static uint8_t fast_kind(const dc_mysql_column *m, const dc_cdc_tcol *c)
{
    const dc_type t = c->type;
    switch (m->enc) {
    case DC_MYSQL_ENC_INT:
        return c->kind == DC_CDC_TK_INT && (t == DC_TYPE_BYTE || t == DC_TYPE_SHORT ||
                                            t == DC_TYPE_INT || t == DC_TYPE_LONG) ? FK_INT : 0;
    case DC_MYSQL_ENC_STRING:
        return c->kind == DC_CDC_TK_STRING && t == DC_TYPE_STRING ? FK_STRING : 0;
    case DC_MYSQL_ENC_DECIMAL:
        return c->kind == DC_CDC_TK_DECIMAL && t == DC_TYPE_DECIMAL && c->precision >= 1 &&
               c->precision <= 38 && c->scale >= 0 && c->scale <= c->precision ? FK_DECIMAL : 0;
    case DC_MYSQL_ENC_FLOAT:
        return c->kind == DC_CDC_TK_DOUBLE && t == DC_TYPE_DOUBLE ? FK_DOUBLE : 0;
    case DC_MYSQL_ENC_DATE:
        return c->kind == DC_CDC_TK_DATE_DAYS && t == DC_TYPE_DATE ? FK_DATE : 0;
    case DC_MYSQL_ENC_DATETIME_MS: case DC_MYSQL_ENC_DATETIME_US:
        if (c->kind != (m->enc == DC_MYSQL_ENC_DATETIME_MS ? DC_CDC_TK_TS_MS : DC_CDC_TK_TS_US))
            return 0;
        return t == DC_TYPE_TIMESTAMP || t == DC_TYPE_TIMESTAMP_NTZ ? FK_TS : 0;
    case DC_MYSQL_ENC_TIMESTAMP:
        return c->kind == DC_CDC_TK_ZONED_TS && t == DC_TYPE_TIMESTAMP ? FK_TS : 0;
    default:
        return 0;
    }
}

int dc_boot_fast_plan(boot *b, dc_err *err)
{
    const uint32_t n = b->st.n_cols;
    if (dc_cdc_tschema_ncols(b->cols) != n) return 0;
    uint8_t *fk = dc_calloc(n ? n : 1, 1);
    dc_free(b->fast_at);
    b->fast_at = dc_calloc((size_t)n + 1, sizeof *b->fast_at);
    if (!fk || !b->fast_at) {
        dc_free(fk);
        return dc_err_set(err, DC_ENOMEM, "bootstrap: out of memory");
    }
    dc_buf_reset(&b->fast_keys);
    int rc = 0;
    for (uint32_t i = 0; rc == 0 && i < n; i++) {
        const dc_cdc_tcol *c = dc_cdc_tschema_col(b->cols, i);
        const char *id = dc_cdc_tcol_ident(c);
        fk[i] = strcmp(c->name, b->st.cols[i].name) == 0 ? fast_kind(&b->st.cols[i], c) : 0;
        b->fast_at[i] = b->fast_keys.len;
        if (i) rc = dc_buf_putc(&b->fast_keys, ',', err);
        if (rc == 0) rc = dc_json_put_str(&b->fast_keys, id, strlen(id), err);
        if (rc == 0) rc = dc_buf_putc(&b->fast_keys, ':', err);
        if (!fk[i]) {
            dc_free(fk);
            return rc; /* one column the long way: every row goes the long way */
        }
    }
    b->fast_at[n] = b->fast_keys.len;
    if (rc == 0) b->fast = fk;
    else dc_free(fk);
    return rc;
}

/* ---------------------------------------------------------- checks */

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

/* Digits s[0..n) → *v; false when one is not a digit. */
static bool digits(const char *s, size_t n, unsigned *v)
{
    unsigned x = 0;
    for (size_t i = 0; i < n; i++) {
        if (!is_digit(s[i])) return false;
        x = x * 10 + (unsigned)(s[i] - '0');
    }
    *v = x;
    return true;
}

/* An integer of the column's type, in JSON's form (no leading zero). */
static bool int_ok(const char *s, size_t n, dc_type t)
{
    size_t i = s[0] == '-';
    if (i >= n || n - i > 19 || (s[i] == '0' && n - i > 1)) return false;
    uint64_t u = 0;
    for (size_t k = i; k < n; k++) {
        if (!is_digit(s[k])) return false;
        u = u * 10 + (uint64_t)(s[k] - '0');
    }
    const uint64_t max = t == DC_TYPE_BYTE ? 127 : t == DC_TYPE_SHORT ? 32767
                         : t == DC_TYPE_INT ? 2147483647u : (uint64_t)INT64_MAX;
    return u <= max + (i ? 1 : 0); /* 19 digits never wrap a uint64 */
}

/* [-]D+[.F{scale}] with at most precision digits, no leading zero. */
static bool decimal_ok(const char *s, size_t n, const dc_cdc_tcol *c)
{
    size_t i = s[0] == '-', k = i;
    while (k < n && is_digit(s[k])) k++;
    const size_t ints = k - i;
    if (ints == 0 || (s[i] == '0' && ints > 1)) return false;
    const size_t sc = (size_t)c->scale;
    if (sc == 0) {
        if (k != n) return false;
    } else {
        if (k + 1 + sc != n || s[k] != '.') return false;
        for (size_t j = k + 1; j < n; j++)
            if (!is_digit(s[j])) return false;
    }
    const size_t sig = (s[i] == '0' ? 0 : ints) + sc;
    return sig <= (size_t)c->precision;
}

/* A JSON number of a finite double. */
static bool double_ok(const char *s, size_t n)
{
    size_t i = s[0] == '-';
    if (i >= n || !is_digit(s[i]) || (s[i] == '0' && i + 1 < n && is_digit(s[i + 1])))
        return false;
    while (i < n && is_digit(s[i])) i++;
    if (i < n && s[i] == '.') {
        if (++i >= n || !is_digit(s[i])) return false;
        while (i < n && is_digit(s[i])) i++;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-')) i++;
        if (i >= n || !is_digit(s[i])) return false;
        while (i < n && is_digit(s[i])) i++;
    }
    if (i != n || n > 64) return false;
    char b[72];
    memcpy(b, s, n);
    b[n] = 0;
    return isfinite(strtod(b, NULL));
}

/* "YYYY-MM-DD", a real day of years 0001..9999 (no zero date). */
static bool date_ok(const char *s)
{
    unsigned y, m, d;
    if (s[4] != '-' || s[7] != '-' || !digits(s, 4, &y) || !digits(s + 5, 2, &m) ||
        !digits(s + 8, 2, &d) || y < 1 || m < 1 || m > 12 || d < 1)
        return false;
    static const unsigned char mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return d <= mdays[m - 1] && !(m == 2 && d == 29 && !leap);
}

/* "YYYY-MM-DD HH:MM:SS[.f{1,6}]" of a real time. */
static bool ts_ok(const char *s, size_t n)
{
    unsigned h, mi, se, f;
    if (n < 19 || !date_ok(s) || s[10] != ' ' || s[13] != ':' || s[16] != ':' ||
        !digits(s + 11, 2, &h) || !digits(s + 14, 2, &mi) || !digits(s + 17, 2, &se) ||
        h > 23 || mi > 59 || se > 59)
        return false;
    return n == 19 || (s[19] == '.' && n >= 21 && n <= 26 && digits(s + 20, n - 20, &f));
}

/* ------------------------------------------------------------ rows */

/* One non-null value: whether the short way takes it (put_value's checks). */
static bool value_ok(uint8_t fk, const dc_cdc_tcol *c, const char *v, size_t n)
{
    switch (fk) {
    case FK_INT: return int_ok(v, n, c->type);
    case FK_DOUBLE: return double_ok(v, n);
    case FK_STRING: return true;
    case FK_DECIMAL: return decimal_ok(v, n, c);
    case FK_DATE: return n == 10 && date_ok(v);
    case FK_TS: return ts_ok(v, n);
    }
    return false;
}

/* One value; false: not the short way's (nothing was appended). */
static int put_value(bool *ok, dc_buf *d, uint8_t fk, const dc_cdc_tcol *c, const char *v,
                     size_t n, dc_err *err)
{
    if (!(*ok = value_ok(fk, c, v, n))) return 0;
    switch (fk) {
    case FK_INT: case FK_DOUBLE: return dc_buf_append(d, v, n, err);
    case FK_STRING: return dc_json_put_str(d, v, n, err);
    case FK_DECIMAL: case FK_DATE:
        DC_TRY(dc_buf_putc(d, '"', err));
        DC_TRY(dc_buf_append(d, v, n, err));
        return dc_buf_putc(d, '"', err);
    case FK_TS:
        DC_TRY(dc_buf_putc(d, '"', err));
        DC_TRY(dc_buf_append(d, v, 10, err));
        DC_TRY(dc_buf_putc(d, 'T', err));
        DC_TRY(dc_buf_append(d, v + 11, n - 11, err));
        if (c->type == DC_TYPE_TIMESTAMP) DC_TRY(dc_buf_putc(d, 'Z', err));
        return dc_buf_putc(d, '"', err);
    }
    *ok = false;
    return 0;
}

bool dc_boot_fast_ok(const boot *b, char **row, const unsigned long *lens)
{
    if (!b->fast) return false;
    for (uint32_t i = 0; i < b->st.n_cols; i++) {
        const dc_cdc_tcol *c = dc_cdc_tschema_col(b->cols, i);
        if (row[i] ? !value_ok(b->fast[i], c, row[i], lens[i]) : !c->optional) return false;
    }
    return true;
}

int dc_boot_fast_members(bool *ok, dc_buf *d, const boot *b, char **row,
                         const unsigned long *lens, dc_err *err)
{
    *ok = false;
    if (!b->fast) return 0;
    const size_t at = d->len;
    for (uint32_t i = 0; i < b->st.n_cols; i++) {
        const dc_cdc_tcol *c = dc_cdc_tschema_col(b->cols, i);
        DC_TRY(dc_buf_append(d, b->fast_keys.data + b->fast_at[i],
                             b->fast_at[i + 1] - b->fast_at[i], err));
        bool vok = row[i] != NULL || c->optional;
        if (!row[i] && vok) DC_TRY(dc_buf_puts(d, "null", err));
        else if (vok) DC_TRY(put_value(&vok, d, b->fast[i], c, row[i], lens[i], err));
        if (!vok) {
            d->len = at; /* the long way decides this row */
            return 0;
        }
    }
    *ok = true;
    return 0;
}

/* --------------------------------------------------------- columns */

/* The table's Delta schema as leaves. */
static int table_leaves(dc_pq_schema **out, boot *b, dc_err *err)
{
    const dc_delta_metadata *md = dc_delta_snapshot_metadata(dc_merge_table_snapshot(b->t));
    dc_arena a;
    dc_arena_init(&a, DC_JSON_MAX_DOC_BYTES);
    dc_json *doc = NULL;
    int rc = dc_json_parse(&doc, &a, md->schema_string, strlen(md->schema_string), err);
    if (rc == 0) rc = dc_pq_schema_from_delta(out, doc, err);
    dc_arena_dispose(&a);
    return rc;
}

int dc_boot_cols_plan(boot *b, dc_err *err)
{
    const uint32_t n = b->st.n_cols;
    if (!b->fast || !b->t || n == 0) return 0;
    dc_pq_schema *s = NULL;
    DC_TRY(table_leaves(&s, b, err));
    uint32_t *at = dc_calloc(n, sizeof *at);
    if (!at) {
        dc_pq_schema_free(s);
        return dc_err_set(err, DC_ENOMEM, "bootstrap: out of memory");
    }
    uint32_t found = 0;
    for (uint32_t i = 0; i < n; i++) {
        const char *id = dc_cdc_tcol_ident(dc_cdc_tschema_col(b->cols, i));
        for (uint32_t j = 0; j < s->n_leaves; j++) {
            const dc_pq_leaf *l = &s->leaves[j];
            if (l->n_path == 1 && l->max_rep == 0 && strcmp(l->path[0], id) == 0) {
                at[i] = j;
                found++;
                break;
            }
        }
    }
    if (found < n) { /* a column the table lacks (or nested there): the images decide */
        dc_pq_schema_free(s);
        dc_free(at);
        return 0;
    }
    b->pqs = s;
    b->col_leaf = at;
    return 0;
}

/* NUL-terminated copy of a number's text into buf (cap bytes); false: too long. */
static bool number_text(dc_json *v, char *buf, size_t cap, const char *s, size_t n)
{
    if (n >= cap) return false;
    memcpy(buf, s, n);
    buf[n] = 0;
    v->type = DC_JSON_NUMBER;
    v->u.str = buf;
    v->len = (uint32_t)n;
    return true;
}

/* One value of a short-way row as the JSON scalar its member holds. */
static bool col_value(dc_json *v, char *buf, size_t cap, uint8_t fk, const dc_cdc_tcol *c,
                      const char *s, size_t n)
{
    memset(v, 0, sizeof *v);
    v->type = DC_JSON_STRING;
    v->u.str = s;
    v->len = (uint32_t)n;
    switch (fk) {
    case FK_INT: case FK_DOUBLE: return number_text(v, buf, cap, s, n);
    case FK_STRING: return n <= UINT32_MAX; /* UTF-8: dc_pq_column_put_json checks */
    case FK_DECIMAL: case FK_DATE: return true;
    case FK_TS: /* "YYYY-MM-DD HH:MM:SS[.f]" → "YYYY-MM-DDTHH:MM:SS[.f][Z]" (ts_ok: n <= 26) */
        if (n + 2 > cap) return false;
        memcpy(buf, s, n);
        buf[10] = 'T';
        if (c->type == DC_TYPE_TIMESTAMP) buf[n++] = 'Z';
        v->u.str = buf;
        v->len = (uint32_t)n;
        return true;
    }
    return false;
}

bool dc_boot_cols_row(dc_pq_column *cols, const boot *b, char **row, const unsigned long *lens)
{
    dc_err scratch; /* a refusal is not an error: the images decide */
    for (uint32_t i = 0; i < b->st.n_cols; i++) {
        const uint32_t j = b->col_leaf[i];
        dc_json v;
        char buf[72];
        dc_err_clear(&scratch);
        if (!row[i]) {
            if (dc_pq_column_put_json(&cols[j], &b->pqs->leaves[j], NULL, &scratch) < 0)
                return false;
            continue;
        }
        if (!col_value(&v, buf, sizeof buf, b->fast[i], dc_cdc_tschema_col(b->cols, i), row[i],
                       lens[i]) ||
            dc_pq_column_put_json(&cols[j], &b->pqs->leaves[j], &v, &scratch) < 0)
            return false;
    }
    return true;
}
