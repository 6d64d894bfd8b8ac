/*
 * The connection: URL, TLS, session settings, statements, streamed results
 * and the consistent snapshot with its binlog position. libmariadb's own
 * messages are passed on (they never contain the password).
 */
#include "mysql_int.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

int dc_mysql_ssl_mode_parse(dc_mysql_ssl_mode *out, const char *s, dc_err *err)
{
    static const struct { const char *name; dc_mysql_ssl_mode mode; } modes[] = {
        {"preferred", DC_MYSQL_SSL_PREFERRED}, {"disabled", DC_MYSQL_SSL_DISABLED},
        {"required", DC_MYSQL_SSL_REQUIRED},   {"verify_ca", DC_MYSQL_SSL_VERIFY_CA},
        {"verify-ca", DC_MYSQL_SSL_VERIFY_CA}, {"verify_identity", DC_MYSQL_SSL_VERIFY_IDENTITY},
        {"verify-identity", DC_MYSQL_SSL_VERIFY_IDENTITY},
    };
    for (size_t i = 0; i < sizeof modes / sizeof *modes; i++)
        if (strcasecmp(s, modes[i].name) == 0) {
            *out = modes[i].mode;
            return 0;
        }
    return dc_err_set(err, DC_EINVAL, "ssl mode '%s': expected disabled, preferred, required, "
                      "verify_ca or verify_identity", s);
}

/* Splits mysql://USER@HOST[:PORT]/DB into m's fields. */
static int parse_url(dc_mysql *m, const char *url, dc_err *err)
{
    static const char scheme[] = "mysql://";
    if (strncmp(url, scheme, sizeof scheme - 1) != 0 &&
        strncmp(url, "mariadb://", 10) != 0)
        return dc_err_set(err, DC_EINVAL, "database URL '%s': expected mysql://USER@HOST:PORT/DB",
                          url);
    const char *p = strstr(url, "://") + 3;
    const char *at = strchr(p, '@');
    const char *slash = strchr(p, '/');
    if (!at || (slash && at > slash))
        return dc_err_set(err, DC_EINVAL, "database URL: no user (mysql://USER@HOST:PORT/DB)");
    if (memchr(p, ':', (size_t)(at - p)))
        return dc_err_set(err, DC_EINVAL, "database URL: a password in the URL is refused (it "
                          "would show in process lists and logs): set MYSQL_PWD");
    if (at == p) return dc_err_set(err, DC_EINVAL, "database URL: empty user");
    m->user = strndup(p, (size_t)(at - p));
    const char *h = at + 1;
    const char *hend = slash ? slash : h + strlen(h);
    const char *colon = memchr(h, ':', (size_t)(hend - h));
    m->host = strndup(h, (size_t)((colon ? colon : hend) - h));
    m->port = 3306;
    if (colon) {
        char *e = NULL;
        const long port = strtol(colon + 1, &e, 10);
        if (e != hend || port <= 0 || port > 65535)
            return dc_err_set(err, DC_EINVAL, "database URL: bad port '%.*s'",
                              (int)(hend - colon - 1), colon + 1);
        m->port = (unsigned)port;
    }
    m->db = strdup(slash ? slash + 1 : "");
    if (!m->user || !m->host || !m->db) return dc_err_set(err, DC_ENOMEM, "out of memory");
    if (!*m->host) return dc_err_set(err, DC_EINVAL, "database URL: empty host");
    if (strchr(m->db, '/') || strchr(m->db, '?'))
        return dc_err_set(err, DC_EINVAL, "database URL: '%s' is not a database name", m->db);
    snprintf(m->where, sizeof m->where, "%s@%s:%u", m->user, m->host, m->port);
    return 0;
}

static int set_tls(dc_mysql *m, const dc_mysql_opts *o, dc_err *err)
{
    const my_bool yes = 1;
    if (o->ssl_mode == DC_MYSQL_SSL_DISABLED) {
        if (o->ssl_ca || o->ssl_cert || o->ssl_key)
            return dc_err_set(err, DC_EINVAL, "ssl mode disabled with TLS files given");
        return 0;
    }
    if ((o->ssl_mode == DC_MYSQL_SSL_VERIFY_CA || o->ssl_mode == DC_MYSQL_SSL_VERIFY_IDENTITY) &&
        !o->ssl_ca)
        return dc_err_set(err, DC_EINVAL, "ssl mode verify_ca/verify_identity needs --ssl-ca");
    if (o->ssl_mode == DC_MYSQL_SSL_PREFERRED && !o->ssl_ca && !o->ssl_cert) return 0;
    mysql_ssl_set(m->c, o->ssl_key, o->ssl_cert, o->ssl_ca, NULL, NULL);
    if (o->ssl_mode != DC_MYSQL_SSL_PREFERRED) mysql_options(m->c, MYSQL_OPT_SSL_ENFORCE, &yes);
    if (o->ssl_mode >= DC_MYSQL_SSL_VERIFY_CA)
        mysql_options(m->c, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &yes);
    return 0;
}

int dc_mysql_connect(dc_mysql **out, const dc_mysql_opts *o, dc_err *err)
{
    *out = NULL;
    dc_mysql *m = dc_calloc(1, sizeof *m);
    if (!m) return dc_err_set(err, DC_ENOMEM, "out of memory");
    int rc = parse_url(m, o->url, err);
    if (rc == 0 && !(m->c = mysql_init(NULL))) rc = dc_err_set(err, DC_ENOMEM, "mysql_init failed");
    if (rc == 0) {
        const unsigned timeout = o->connect_timeout_s ? o->connect_timeout_s : 10;
        mysql_options(m->c, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
        mysql_options(m->c, MYSQL_SET_CHARSET_NAME, "utf8mb4");
        rc = set_tls(m, o, err);
    }
    if (rc == 0 && !mysql_real_connect(m->c, m->host, m->user, o->password ? o->password : "",
                                       m->db[0] ? m->db : NULL, m->port, NULL, 0))
        rc = dc_err_set_retriable(err, DC_EIO, "connecting to %s: %s", m->where,
                                  mysql_error(m->c));
    if (rc == 0) {
        const char *v = mysql_get_server_info(m->c);
        m->mariadb = v && strstr(v, "MariaDB") != NULL;
        rc = dc_mysql_exec(m, "SET time_zone = '+00:00', net_write_timeout = 3600, "
                           "net_read_timeout = 3600", err);
        if (rc == 0)
            rc = dc_mysql_exec(m, "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ", err);
        if (rc < 0) dc_err_prefix(err, "setting up the session");
    }
    if (rc < 0) {
        dc_mysql_close(m);
        return rc;
    }
    *out = m;
    return 0;
}

void dc_mysql_close(dc_mysql *m)
{
    if (!m) return;
    if (m->res) dc_mysql_stream_end(m);
    if (m->c) mysql_close(m->c);
    free(m->user);
    free(m->host);
    free(m->db);
    dc_free(m);
}

const char *dc_mysql_db(const dc_mysql *m) { return m->db; }
const char *dc_mysql_where(const dc_mysql *m) { return m->where; }
bool dc_mysql_is_mariadb(const dc_mysql *m) { return m->mariadb; }

static int fail(dc_mysql *m, const char *what, dc_err *err)
{
    const unsigned e = mysql_errno(m->c);
    /* Connection lost / server gone: a retry (a resume) can help. */
    const bool retriable = e == 2006 || e == 2013 || e == 1205 || e == 1213;
    return (retriable ? dc_err_set_retriable : dc_err_set)(err, DC_EIO, "%s on %s: %s (error %u)",
                                                          what, m->where, mysql_error(m->c), e);
}

int dc_mysql_exec(dc_mysql *m, const char *sql, dc_err *err)
{
    DC_ASSERT(!m->res);
    if (mysql_real_query(m->c, sql, strlen(sql)) != 0) return fail(m, "query", err);
    MYSQL_RES *r = mysql_store_result(m->c);
    if (r) mysql_free_result(r);
    else if (mysql_field_count(m->c) != 0) return fail(m, "query", err);
    return 0;
}

int dc_mysql_put_literal(dc_buf *out, dc_mysql *m, const char *s, size_t n, dc_err *err)
{
    size_t room;
    if (dc_mul_overflow_sz(n, 2, &room) || dc_add_overflow_sz(room, 3, &room))
        return dc_err_set(err, DC_ELIMIT, "literal too long");
    DC_TRY(dc_buf_reserve(out, room, err));
    char *d = (char *)out->data + out->len;
    d[0] = '\'';
    const unsigned long k = mysql_real_escape_string(m->c, d + 1, s, (unsigned long)n);
    d[1 + k] = '\'';
    out->len += k + 2;
    return 0;
}

int dc_mysql_put_ident(dc_buf *out, const char *s, size_t n, dc_err *err)
{
    DC_TRY(dc_buf_putc(out, '`', err));
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '`') DC_TRY(dc_buf_putc(out, '`', err));
        DC_TRY(dc_buf_putc(out, (uint8_t)s[i], err));
    }
    return dc_buf_putc(out, '`', err);
}

int dc_mysql_stream_start(dc_mysql *m, const char *sql, dc_err *err)
{
    DC_ASSERT(!m->res);
    if (mysql_real_query(m->c, sql, strlen(sql)) != 0) return fail(m, "query", err);
    if (!(m->res = mysql_use_result(m->c))) return fail(m, "reading the result", err);
    return 0;
}

int dc_mysql_stream_next(char ***row, unsigned long **lens, bool *done, dc_mysql *m, dc_err *err)
{
    DC_ASSERT(m->res);
    MYSQL_ROW r = mysql_fetch_row(m->res);
    if (!r) {
        if (mysql_errno(m->c)) return fail(m, "reading rows", err);
        *done = true;
        return 0;
    }
    *done = false;
    *row = r;
    *lens = mysql_fetch_lengths(m->res);
    return 0;
}

void dc_mysql_stream_end(dc_mysql *m)
{
    if (!m->res) return;
    mysql_free_result(m->res); /* reads what is left of the result */
    m->res = NULL;
}

int dc_mysql_query_row(dc_buf *out, const char *vals[16], bool null[16], uint32_t *n_out,
                       dc_mysql *m, const char *sql, dc_err *err)
{
    DC_TRY(dc_mysql_stream_start(m, sql, err));
    char **row = NULL;
    unsigned long *lens = NULL;
    bool done = false;
    int rc = dc_mysql_stream_next(&row, &lens, &done, m, err);
    const uint32_t n = mysql_num_fields(m->res);
    if (rc == 0 && done) rc = DC_ENOTFOUND;
    if (rc == 0 && n > 16) rc = dc_err_set(err, DC_ELIMIT, "query returns %u columns", n);
    size_t at[16];
    dc_buf_reset(out);
    for (uint32_t i = 0; rc == 0 && i < n; i++) {
        at[i] = out->len;
        null[i] = row[i] == NULL;
        if (row[i]) rc = dc_buf_append(out, row[i], lens[i], err);
        if (rc == 0) rc = dc_buf_putc(out, 0, err);
    }
    for (uint32_t i = 0; rc == 0 && i < n; i++) vals[i] = (const char *)out->data + at[i];
    if (rc == 0) *n_out = n;
    dc_mysql_stream_end(m);
    return rc;
}

/* ---------------------------------------------------------- snapshot */

static int copy_str(char *dst, size_t cap, const char *s, const char *what, dc_err *err)
{
    if (strlen(s) >= cap) return dc_err_set(err, DC_ELIMIT, "%s longer than %zu bytes", what, cap);
    memcpy(dst, s, strlen(s) + 1);
    return 0;
}

/* MariaDB: the consistent snapshot's own position, no lock. DC_ENOTFOUND
 * when the server has no such status variables (MySQL). */
static int mariadb_snapshot_pos(dc_mysql_binlog_pos *out, dc_mysql *m, dc_buf *b, dc_err *err)
{
    const char *v[16];
    bool null[16];
    uint32_t n = 0;
    DC_TRY(dc_mysql_query_row(b, v, null, &n, m,
                              "SELECT (SELECT VARIABLE_VALUE FROM information_schema.SESSION_STATUS"
                              " WHERE VARIABLE_NAME = 'BINLOG_SNAPSHOT_FILE'), (SELECT "
                              "VARIABLE_VALUE FROM information_schema.SESSION_STATUS WHERE "
                              "VARIABLE_NAME = 'BINLOG_SNAPSHOT_POSITION'), "
                              "CAST(UNIX_TIMESTAMP(NOW(3)) * 1000 AS SIGNED)", err));
    if (null[0] || null[1]) return DC_ENOTFOUND;
    out->pos = strtoll(v[1], NULL, 10);
    out->ts_ms = strtoll(v[2], NULL, 10);
    out->how = "binlog_snapshot_*";
    DC_TRY(copy_str(out->file, sizeof out->file, v[0], "binlog file name", err));
    if (!out->file[0]) return 0; /* binary logging off */
    /* The GTID position of that file:pos (MariaDB's BINLOG_GTID_POS). */
    dc_buf q;
    dc_buf_init(&q, 1 << 16);
    int rc = dc_buf_puts(&q, "SELECT BINLOG_GTID_POS(", err);
    if (rc == 0) rc = dc_mysql_put_literal(&q, m, out->file, strlen(out->file), err);
    if (rc == 0) rc = dc_buf_appendf(&q, err, ", %" PRId64 ")", out->pos);
    if (rc == 0) rc = dc_buf_putc(&q, 0, err);
    if (rc == 0) rc = dc_mysql_query_row(b, v, null, &n, m, (const char *)q.data, err);
    if (rc == 0 && !null[0]) rc = copy_str(out->gtid, sizeof out->gtid, v[0], "GTID", err);
    dc_buf_dispose(&q);
    return rc;
}

/* Elsewhere: the snapshot started under a brief global read lock. */
static int locked_snapshot_pos(dc_mysql_binlog_pos *out, dc_mysql *m, dc_buf *b, dc_err *err)
{
    DC_TRY(dc_mysql_exec(m, "FLUSH TABLES WITH READ LOCK", err));
    int rc = dc_mysql_exec(m, "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY", err);
    const char *v[16];
    bool null[16];
    uint32_t n = 0;
    if (rc == 0) {
        rc = dc_mysql_query_row(b, v, null, &n, m, "SHOW MASTER STATUS", err);
        if (rc == DC_ENOTFOUND) { /* binary logging off */
            out->file[0] = 0;
            rc = 0;
        } else if (rc == 0) {
            out->pos = strtoll(v[1], NULL, 10);
            rc = copy_str(out->file, sizeof out->file, v[0], "binlog file name", err);
            if (rc == 0 && n >= 5 && !null[4])
                rc = copy_str(out->gtid, sizeof out->gtid, v[4], "GTID set", err);
        }
    }
    dc_err e2;
    dc_err_clear(&e2);
    const int rc2 = dc_mysql_exec(m, "UNLOCK TABLES", rc < 0 ? &e2 : err);
    out->how = "FTWRL";
    if (rc == 0 && rc2 == 0)
        rc = dc_mysql_query_row(b, v, null, &n, m,
                                "SELECT CAST(UNIX_TIMESTAMP(NOW(3)) * 1000 AS SIGNED)", err);
    if (rc == 0) out->ts_ms = strtoll(v[0], NULL, 10);
    return rc < 0 ? rc : rc2;
}

int dc_mysql_snapshot_begin(dc_mysql_binlog_pos *out, dc_mysql *m, dc_err *err)
{
    memset(out, 0, sizeof *out);
    dc_buf b;
    dc_buf_init(&b, 1 << 20);
    int rc = 0;
    if (m->mariadb) {
        rc = dc_mysql_exec(m, "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY", err);
        if (rc == 0) rc = mariadb_snapshot_pos(out, m, &b, err);
        if (rc == DC_ENOTFOUND) {
            dc_err_clear(err);
            rc = dc_mysql_exec(m, "ROLLBACK", err);
            if (rc == 0) rc = locked_snapshot_pos(out, m, &b, err);
        }
    } else {
        rc = locked_snapshot_pos(out, m, &b, err);
    }
    dc_buf_dispose(&b);
    if (rc < 0) dc_err_prefix(err, "starting the consistent snapshot");
    return rc;
}
