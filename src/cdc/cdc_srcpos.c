/* Source positions as the typed table's __source_pos string, and their order.
 *
 * The string is "FILE:POS:ROW", then ":snapshot" for snapshot reads, then
 * " gtid=GTID" when the event carried one: "mysql-bin.000003:1234:0",
 * "mysql-bin.000003:1234:0:snapshot", "mysql-bin.000003:1234:2 gtid=0-1-42".
 * It reads back from the right, so a file name may hold ':' (never a space:
 * MySQL's log-bin base names are file names without blanks). The GTID is kept
 * for people and for the bootstrap's reconciliation; the order uses the
 * binlog coordinates only (GTIDs of several domains have no total order). */
#include "cdc_int.h"

int dc_cdc_srcpos_format(dc_buf *out, const dc_cdc_event *ev, dc_err *err)
{
    if (!ev->has_srcpos)
        return dc_err_set(err, DC_ENOTFOUND, "cdc: the event has no source position");
    /* Digits by hand, not snprintf: this runs once per event of a typed
     * table, and snprintf was 5% of typed ingest (callgrind). */
    DC_TRY(dc_buf_append(out, ev->src_file, ev->src_file_len, err));
    DC_TRY(dc_buf_putc(out, ':', err));
    DC_TRY(dc_json_put_i64(out, ev->srcpos.pos, err));
    DC_TRY(dc_buf_putc(out, ':', err));
    DC_TRY(dc_json_put_i64(out, ev->srcpos.row, err));
    if (ev->srcpos.snapshot) DC_TRY(dc_buf_append(out, ":snapshot", 9, err));
    if (ev->gtid) {
        DC_TRY(dc_buf_append(out, " gtid=", 6, err));
        DC_TRY(dc_buf_append(out, ev->gtid, ev->gtid_len, err));
    }
    return 0;
}

/* Digits s[0..n) as a non-negative int64 no larger than max. */
static bool parse_count(const char *s, size_t n, int64_t max, int64_t *out)
{
    int64_t v = 0;
    if (n == 0) return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return false;
        if (v > (max - (s[i] - '0')) / 10) return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

/* The last ':' in s[0..n), or NULL. */
static const char *last_colon(const char *s, size_t n)
{
    return n ? memrchr(s, ':', n) : NULL;
}

int dc_cdc_srcpos_parse(dc_cdc_srcpos *out, const char *s, size_t n, dc_err *err)
{
    memset(out, 0, sizeof *out);
    const char *const gtid = memmem(s, n, " gtid=", 6);
    size_t len = gtid ? (size_t)(gtid - s) : n;
    static const char snap[] = ":snapshot";
    if (len >= sizeof snap - 1 && memcmp(s + len - (sizeof snap - 1), snap, sizeof snap - 1) == 0) {
        out->snapshot = true;
        len -= sizeof snap - 1;
    }
    const char *const c2 = last_colon(s, len);
    const char *const c1 = c2 ? last_colon(s, (size_t)(c2 - s)) : NULL;
    int64_t row = 0;
    if (!c1 || !parse_count(c2 + 1, len - (size_t)(c2 + 1 - s), INT32_MAX, &row) ||
        !parse_count(c1 + 1, (size_t)(c2 - c1 - 1), INT64_MAX, &out->pos))
        goto bad;
    out->row = (int32_t)row;
    /* The file number: the digits after the name's last '.'. */
    const char *d = c1;
    while (d > s && d[-1] >= '0' && d[-1] <= '9') d--;
    if (d == c1 || d == s || d[-1] != '.' || !parse_count(d, (size_t)(c1 - d), INT64_MAX, &out->file))
        goto bad;
    return 0;
bad:
    return dc_err_set(err, DC_EINVAL,
                      "cdc: source position \"%.*s\" is not FILE.N:POS:ROW[:snapshot][ gtid=G]",
                      n > 120 ? 120 : (int)n, s);
}

int dc_cdc_srcpos_cmp(const dc_cdc_srcpos *a, const dc_cdc_srcpos *b)
{
    if (a->file != b->file) return a->file < b->file ? -1 : 1;
    if (a->pos != b->pos) return a->pos < b->pos ? -1 : 1;
    /* A snapshot records the position it started at, which the first
     * streamed change may share: the change is the later one. */
    if (a->snapshot != b->snapshot) return a->snapshot ? -1 : 1;
    if (a->row != b->row) return a->row < b->row ? -1 : 1;
    return 0;
}
