/* monitor: completeness results as a table for people and as JSON (the
 * webhook's body, `check --json`). */
#include "monitor_cint.h"

#include <inttypes.h>
#include <stdio.h>

static const char *state_name(dc_complete_state s)
{
    return s == DC_COMPLETE_OK ? "ok" : s == DC_COMPLETE_MISMATCH ? "mismatch" : "pending";
}

static const char *diff_name(dc_complete_diff d)
{
    return d == DC_DIFF_MISSING ? "missing in table" : d == DC_DIFF_EXTRA ? "extra in table"
                                                                          : "different values";
}

static const char *diff_word(dc_complete_diff d)
{
    return d == DC_DIFF_MISSING ? "missing" : d == DC_DIFF_EXTRA ? "extra" : "values";
}

/* "binlog.000001:15164" */
static int put_pos(dc_buf *out, const dc_mysql_binlog_pos *p, dc_err *err)
{
    return dc_buf_appendf(out, err, "%s:%" PRId64, p->file, p->pos);
}

static int text_values(dc_buf *out, const dc_complete_opts *o, const dc_complete_result *r,
                       dc_err *err)
{
    if (o->mode == DC_COMPLETE_MAX_ID) {
        DC_TRY(dc_buf_appendf(out, err, "max key: source "));
        DC_TRY(r->src_has_max ? dc_buf_appendf(out, err, "%" PRId64, r->src_max)
                              : dc_buf_puts(out, "(none)", err));
        DC_TRY(dc_buf_puts(out, ", table ", err));
        DC_TRY(r->tab_has_max ? dc_buf_appendf(out, err, "%" PRId64, r->tab_max)
                              : dc_buf_puts(out, "(none)", err));
        DC_TRY(dc_buf_putc(out, '\n', err));
    }
    DC_TRY(dc_buf_appendf(out, err, "rows: source %" PRIu64 ", table %" PRIu64, r->src_rows,
                          r->tab_rows));
    if (r->after_rows)
        DC_TRY(dc_buf_appendf(out, err, " (%" PRIu64 " changed after P)", r->after_rows));
    DC_TRY(dc_buf_putc(out, '\n', err));
    if (o->mode != DC_COMPLETE_RANGES || !r->n_ranges) return 0;
    DC_TRY(dc_buf_appendf(out, err, "%-30s %12s %12s %16s %16s  %s\n", "range", "source_rows",
                          "table_rows", "source_sum", "table_sum", "status"));
    for (size_t i = 0; i < r->n_ranges; i++) {
        const dc_complete_range *d = &r->ranges[i];
        char lohi[64];
        if (r->hashed) snprintf(lohi, sizeof lohi, "bucket %" PRId64, d->lo);
        else snprintf(lohi, sizeof lohi, "[%" PRId64 ", %" PRId64 "]", d->lo, d->hi);
        DC_TRY(dc_buf_appendf(out, err, "%-30s %12" PRIu64 " %12" PRIu64 " %016" PRIx64
                              " %016" PRIx64 "  %s\n", lohi, d->src_rows, d->tab_rows,
                              d->src_sum, d->tab_sum, d->after ? "CHANGED AFTER P" : "MISMATCH"));
    }
    for (size_t i = 0; i < r->n_keys; i++)
        DC_TRY(dc_buf_appendf(out, err, "key %-26s %s%s\n", r->keys[i].key,
                              diff_name(r->keys[i].diff),
                              r->keys[i].after ? " (the table's row changed after P)" : ""));
    if (r->keys_truncated) DC_TRY(dc_buf_puts(out, "(more keys differ)\n", err));
    return 0;
}

int dc_monitor_complete_text(dc_buf *out, const dc_complete_opts *o, const dc_complete_result *r,
                             dc_err *err)
{
    DC_TRY(dc_buf_appendf(out, err, "completeness %s: %s <- %s (mode %s", o->name ? o->name : "",
                          o->table, o->source_table, dc_complete_mode_name(o->mode)));
    if (o->mode == DC_COMPLETE_RANGES && r->hashed)
        DC_TRY(dc_buf_appendf(out, err, ", %" PRId64 " buckets by the key's hash", r->buckets));
    else if (o->mode == DC_COMPLETE_RANGES)
        DC_TRY(dc_buf_appendf(out, err, ", ranges of %" PRId64 " keys", o->chunk));
    DC_TRY(dc_buf_appendf(out, err, ", table version %" PRId64 ")\nsource position P ",
                          r->table_version));
    DC_TRY(put_pos(out, &r->pos, err));
    if (r->pos.gtid[0]) DC_TRY(dc_buf_appendf(out, err, " (gtid %s)", r->pos.gtid));
    DC_TRY(dc_buf_appendf(out, err, "; the table reached %s%s\n",
                          r->reached[0] ? r->reached : "(no source position)",
                          r->behind ? " (behind P)" : ""));
    DC_TRY(text_values(out, o, r, err));
    if (r->state == DC_COMPLETE_OK) {
        DC_TRY(dc_buf_puts(out, "OK: equal, verified through source position ", err));
        DC_TRY(put_pos(out, &r->pos, err));
        if (o->mode == DC_COMPLETE_RANGES)
            DC_TRY(dc_buf_appendf(out, err, " (%" PRIu64 " %s)", r->n_compared,
                                  r->hashed ? "buckets" : "ranges"));
        return dc_buf_putc(out, '\n', err);
    }
    if (r->state == DC_COMPLETE_PENDING) {
        DC_TRY(dc_buf_puts(out, "PENDING: differs, but ", err));
        DC_TRY(dc_buf_puts(out, r->behind ? "the table has not reached source position "
                                          : "the differing rows changed after source position ",
                           err));
        DC_TRY(put_pos(out, &r->pos, err));
        return dc_buf_puts(out, " yet: check again later\n", err);
    }
    if (o->mode == DC_COMPLETE_RANGES)
        DC_TRY(dc_buf_appendf(out, err, "FAIL: %zu of %" PRIu64 " %s differ", r->n_ranges,
                              r->n_compared, r->hashed ? "buckets" : "ranges"));
    else
        DC_TRY(dc_buf_appendf(out, err, "FAIL: the %s differs",
                              o->mode == DC_COMPLETE_COUNT ? "row count" : "max key"));
    DC_TRY(dc_buf_puts(out, " at source position ", err));
    DC_TRY(put_pos(out, &r->pos, err));
    return dc_buf_putc(out, '\n', err);
}

static int json_str(dc_buf *out, const char *k, const char *v, dc_err *err)
{
    DC_TRY(dc_buf_appendf(out, err, ",\"%s\":", k));
    return v ? dc_json_put_str(out, v, strlen(v), err) : dc_buf_puts(out, "null", err);
}

/* A range's {"lo":..,"hi":.., or {"bucket":.., */
static int json_range_id(dc_buf *out, const dc_complete_result *r, const dc_complete_range *d,
                         dc_err *err)
{
    if (r->hashed) return dc_buf_appendf(out, err, "{\"bucket\":%" PRId64 ",", d->lo);
    return dc_buf_appendf(out, err, "{\"lo\":%" PRId64 ",\"hi\":%" PRId64 ",", d->lo, d->hi);
}

static int json_ranges(dc_buf *out, const dc_complete_result *r, dc_err *err)
{
    DC_TRY(dc_buf_puts(out, ",\"ranges\":[", err));
    for (size_t i = 0; i < r->n_ranges; i++) {
        const dc_complete_range *d = &r->ranges[i];
        if (i) DC_TRY(dc_buf_putc(out, ',', err));
        DC_TRY(json_range_id(out, r, d, err));
        DC_TRY(dc_buf_appendf(out, err, "\"source_rows\":%" PRIu64 ",\"table_rows\":%" PRIu64
                              ",\"source_checksum\":\"%016" PRIx64 "\",\"table_checksum\":\"%016"
                              PRIx64 "\",\"status\":\"%s\"}", d->src_rows, d->tab_rows,
                              d->src_sum, d->tab_sum, d->after ? "changed_after_p" : "mismatch"));
    }
    DC_TRY(dc_buf_puts(out, "],\"keys\":[", err));
    for (size_t i = 0; i < r->n_keys; i++) {
        DC_TRY(dc_buf_puts(out, i ? ",{\"key\":" : "{\"key\":", err));
        DC_TRY(dc_json_put_str(out, r->keys[i].key, strlen(r->keys[i].key), err));
        DC_TRY(dc_buf_appendf(out, err, ",\"diff\":\"%s\",\"changed_after_p\":%s}",
                              diff_word(r->keys[i].diff), r->keys[i].after ? "true" : "false"));
    }
    return dc_buf_appendf(out, err, "],\"keys_truncated\":%s", r->keys_truncated ? "true" : "false");
}

int dc_monitor_complete_json(dc_buf *out, const dc_complete_opts *o, const dc_complete_result *r,
                             dc_err *err)
{
    DC_TRY(dc_buf_puts(out, "{\"monitor\":\"completeness\"", err));
    DC_TRY(json_str(out, "name", o->name, err));
    DC_TRY(json_str(out, "table", o->table, err));
    DC_TRY(json_str(out, "source_table", o->source_table, err));
    DC_TRY(json_str(out, "mode", dc_complete_mode_name(o->mode), err));
    DC_TRY(dc_buf_appendf(out, err, ",\"ok\":%s,\"state\":\"%s\"",
                          r->state == DC_COMPLETE_OK ? "true" : "false", state_name(r->state)));
    char pos[320];
    snprintf(pos, sizeof pos, "%s:%" PRId64, r->pos.file, r->pos.pos);
    DC_TRY(json_str(out, "source_position", pos, err));
    DC_TRY(json_str(out, "gtid", r->pos.gtid[0] ? r->pos.gtid : NULL, err));
    DC_TRY(json_str(out, "verified_through", r->state == DC_COMPLETE_OK ? pos : NULL, err));
    DC_TRY(json_str(out, "table_reached", r->reached[0] ? r->reached : NULL, err));
    DC_TRY(dc_buf_appendf(out, err, ",\"behind\":%s,\"table_version\":%" PRId64 ",\"source_rows\":%"
                          PRIu64 ",\"table_rows\":%" PRIu64 ",\"rows_changed_after_p\":%" PRIu64,
                          r->behind ? "true" : "false", r->table_version, r->src_rows,
                          r->tab_rows, r->after_rows));
    if (o->mode == DC_COMPLETE_MAX_ID) {
        DC_TRY(r->src_has_max ? dc_buf_appendf(out, err, ",\"source_max\":%" PRId64, r->src_max)
                              : dc_buf_puts(out, ",\"source_max\":null", err));
        DC_TRY(r->tab_has_max ? dc_buf_appendf(out, err, ",\"table_max\":%" PRId64, r->tab_max)
                              : dc_buf_puts(out, ",\"table_max\":null", err));
    }
    if (o->mode == DC_COMPLETE_RANGES) {
        DC_TRY(dc_buf_appendf(out, err, ",\"range_size\":%" PRId64 ",\"ranges_compared\":%" PRIu64
                              ",\"ranges_by\":\"%s\"", o->chunk, r->n_compared,
                              r->hashed ? "key_hash" : "key"));
        if (r->hashed) DC_TRY(dc_buf_appendf(out, err, ",\"buckets\":%" PRId64, r->buckets));
        DC_TRY(json_ranges(out, r, err));
    }
    DC_TRY(dc_buf_puts(out, ",\"checked_at\":", err));
    DC_TRY(dc_json_put_f64(out, r->checked_at, err));
    DC_TRY(dc_buf_puts(out, ",\"seconds\":", err));
    DC_TRY(dc_json_put_f64(out, r->seconds, err));
    return dc_buf_puts(out, "}\n", err);
}
