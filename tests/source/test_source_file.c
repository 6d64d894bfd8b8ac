/* File source: JSON lines, CRLF, tombstones, the line limit, resume, stdin,
 * URI parsing and topic patterns. */
#include "../test.h"
#include "../../src/source/source_int.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* Writes text to a fresh temporary file; returns its path (static buffer). */
static const char *tmp_file(const char *text, size_t n)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/dc_test_src_XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0) return NULL;
    if (write(fd, text, n) != (ssize_t)n) path[0] = '\0';
    close(fd);
    return path;
}

/* Collected copies of records, so they outlive the polls. */
typedef struct rec_copy {
    int64_t offset;
    bool tomb;
    char value[64];
    char topic[PATH_MAX + 8];
} rec_copy;

/* Polls `batch` at a time until eof; returns the record count or -1 on error. */
static int drain(dc_source *s, rec_copy *recs, int max_recs, size_t batch, dc_err *err)
{
    int n = 0;
    dc_source_record out[8];
    for (int guard = 0; guard < 100000; guard++) {
        size_t got = 0;
        bool eof = false;
        if (s->ops->poll(s, out, batch, &got, &eof, 100, err) != 0) return -1;
        for (size_t i = 0; i < got && n < max_recs; i++, n++) {
            recs[n].offset = out[i].offset;
            recs[n].tomb = out[i].value == NULL;
            snprintf(recs[n].value, sizeof recs[n].value, "%.*s", (int)out[i].value_len,
                     out[i].value ? out[i].value : "");
            snprintf(recs[n].topic, sizeof recs[n].topic, "%s", out[i].topic);
            CHECK_EQ_INT(out[i].partition, 0);
            CHECK(out[i].key == NULL);
            CHECK_EQ_INT(out[i].timestamp_ms, -1);
        }
        if (eof) {
            CHECK_EQ_INT(got, 0);
            return n;
        }
    }
    return -2;
}

static int open_uri(dc_source **s, const char *path, dc_source_resume_fn fn, void *ctx,
                    dc_err *err)
{
    char uri[PATH_MAX + 8];
    snprintf(uri, sizeof uri, "file:%s", path);
    dc_source_opts o = {.uri = uri, .resume = fn, .resume_ctx = ctx};
    return dc_source_open(s, &o, err);
}

TEST(source_file_lines_crlf_tombstones)
{
    static const char text[] = "{\"a\":1}\n{\"a\":2}\r\n\nnull\n  null \r\n\r\n{\"a\":3}";
    const char *path = tmp_file(text, sizeof text - 1);
    CHECK(path != NULL);
    dc_err err;
    dc_err_clear(&err);
    dc_source *s = NULL;
    CHECK_OK(open_uri(&s, path, NULL, NULL, &err), &err);
    rec_copy r[16];
    for (size_t batch = 1; s && batch <= 8; batch *= 8) {
        if (batch > 1) { /* reopen: a second pass with another batch size */
            dc_source_free(s);
            CHECK_OK(open_uri(&s, path, NULL, NULL, &err), &err);
        }
        int n = drain(s, r, 16, batch, &err);
        CHECK_EQ_INT(n, 7);
        if (n != 7) break;
        CHECK_EQ_STR(r[0].value, "{\"a\":1}");
        CHECK_EQ_STR(r[1].value, "{\"a\":2}"); /* the \r is not part of the value */
        for (int i = 2; i <= 5; i++) CHECK(r[i].tomb);
        CHECK(!r[0].tomb && !r[6].tomb);
        CHECK_EQ_STR(r[6].value, "{\"a\":3}"); /* no newline at the end */
        for (int i = 0; i < 7; i++) CHECK_EQ_INT(r[i].offset, i + 1);
        char *real = realpath(path, NULL);
        char want[PATH_MAX + 8];
        snprintf(want, sizeof want, "file:%s", real);
        free(real);
        CHECK_EQ_STR(r[0].topic, want);
    }
    dc_source_free(s);
    unlink(path);
}

TEST(source_file_long_line_names_line)
{
    /* lines 1-2 fit 16 bytes, line 3 has 40 */
    static const char text[] = "{\"a\":1}\n0123456789abcdef\n0123456789012345678901234567890123456789\n{}\n";
    const char *path = tmp_file(text, sizeof text - 1);
    dc_err err;
    dc_err_clear(&err);
    dc_source *s = NULL;
    CHECK_OK(dc_source_file_open(&s, path, 16, NULL, NULL, NULL, &err), &err);
    dc_source_record out[8];
    size_t got = 0, total = 0;
    bool eof = false;
    int rc = 0;
    for (int i = 0; i < 10 && rc == 0 && !eof; i++) {
        rc = s->ops->poll(s, out, 8, &got, &eof, 0, &err);
        if (rc == 0) total += got;
    }
    CHECK_EQ_INT(rc, DC_ELIMIT);
    CHECK_EQ_INT(total, 2);
    CHECK(strstr(err.msg, "line 3 ") != NULL);
    CHECK(strstr(err.msg, path) != NULL);
    dc_source_free(s);

    /* the same line, exactly at the limit with CRLF, is accepted */
    static const char ok[] = "0123456789abcdef\r\n";
    path = tmp_file(ok, sizeof ok - 1);
    CHECK_OK(dc_source_file_open(&s, path, 16, NULL, NULL, NULL, &err), &err);
    rec_copy r[4];
    CHECK_EQ_INT(drain(s, r, 4, 8, &err), 1);
    CHECK_EQ_STR(r[0].value, "0123456789abcdef");
    dc_source_free(s);
    unlink(path);
}

typedef struct resume_ctx {
    int64_t next;       /* answer */
    char topic[PATH_MAX + 8]; /* what was asked */
    int32_t partition;
    int calls;
} resume_ctx;

static int resume_at(void *ctx, const char *topic, int32_t partition, int64_t *off, dc_err *err)
{
    (void)err;
    resume_ctx *c = ctx;
    snprintf(c->topic, sizeof c->topic, "%s", topic);
    c->partition = partition;
    c->calls++;
    *off = c->next;
    return 0;
}

static int resume_fails(void *ctx, const char *topic, int32_t partition, int64_t *off,
                        dc_err *err)
{
    (void)ctx, (void)partition, (void)off;
    return dc_err_set(err, DC_EIO, "table unreadable for %s", topic);
}

TEST(source_file_resume_skips_lines)
{
    /* long skipped lines go past the small buffer: skipping drops them whole */
    char text[4096];
    size_t n = 0;
    for (int i = 1; i <= 50; i++) {
        int w = i % 7 == 0 ? 60 : 5;
        n += (size_t)snprintf(text + n, sizeof text - n, "{\"i\":%d,\"p\":\"%0*d\"}\n", i, w, 0);
    }
    const char *path = tmp_file(text, n);
    dc_err err;
    dc_err_clear(&err);
    for (int64_t next = -1; next <= 52; next += next < 3 ? 1 : 7) {
        resume_ctx c = {.next = next};
        dc_source *s = NULL;
        CHECK_OK(dc_source_file_open(&s, path, 80, resume_at, NULL, &c, &err), &err);
        CHECK_EQ_INT(c.calls, 1);
        CHECK_EQ_INT(c.partition, 0);
        CHECK(strncmp(c.topic, "file:/", 6) == 0);
        rec_copy r[64];
        int got = drain(s, r, 64, 3, &err);
        int64_t first = next <= 1 ? 1 : next;
        int want = first > 50 ? 0 : (int)(51 - first);
        CHECK_EQ_INT(got, want);
        if (got > 0) {
            CHECK_EQ_INT(r[0].offset, first);
            char w[32];
            snprintf(w, sizeof w, "{\"i\":%lld,", (long long)first);
            CHECK(strncmp(r[0].value, w, strlen(w)) == 0);
            CHECK_EQ_INT(r[got - 1].offset, 50);
        }
        dc_source_free(s);
    }
    /* the table failing is an error of open */
    dc_source *s = NULL;
    CHECK_EQ_INT(dc_source_file_open(&s, path, 80, resume_fails, NULL, NULL, &err), DC_EIO);
    CHECK(s == NULL);
    CHECK(strstr(err.msg, "table unreadable for file:/") != NULL);
    unlink(path);
}

TEST(source_file_stdin)
{
    int fds[2];
    CHECK(pipe(fds) == 0);
    int saved = dup(STDIN_FILENO);
    CHECK(dup2(fds[0], STDIN_FILENO) >= 0);
    close(fds[0]);
    static const char part1[] = "{\"x\":1}\n{\"x\":";
    CHECK(write(fds[1], part1, sizeof part1 - 1) == (ssize_t)(sizeof part1 - 1));
    dc_err err;
    dc_err_clear(&err);
    dc_source *s = NULL;
    resume_ctx c = {.next = -1};
    dc_source_opts o = {.uri = "file:-", .resume = resume_at, .resume_ctx = &c};
    CHECK_OK(dc_source_open(&s, &o, &err), &err);
    CHECK_EQ_STR(c.topic, "file:-");
    dc_source_record out[4];
    size_t got = 0;
    bool eof = true;
    CHECK_OK(s->ops->poll(s, out, 4, &got, &eof, 50, &err), &err);
    CHECK_EQ_INT(got, 1);
    CHECK(!eof);
    CHECK_EQ_STR(out[0].topic, "file:-");
    CHECK_EQ_INT(out[0].offset, 1);
    /* the rest of line 2 has not come: an empty poll after the timeout, not eof */
    CHECK_OK(s->ops->poll(s, out, 4, &got, &eof, 50, &err), &err);
    CHECK_EQ_INT(got, 0);
    CHECK(!eof);
    CHECK(write(fds[1], "2}\nnull\n", 8) == 8);
    close(fds[1]);
    CHECK_OK(s->ops->poll(s, out, 4, &got, &eof, 50, &err), &err);
    CHECK_EQ_INT(got, 2);
    CHECK(got == 2 && out[0].value_len == 7 && memcmp(out[0].value, "{\"x\":2}", 7) == 0);
    CHECK(got == 2 && out[1].value == NULL && out[1].offset == 3);
    CHECK_OK(s->ops->poll(s, out, 4, &got, &eof, 50, &err), &err);
    CHECK(eof && got == 0);
    dc_source_free(s);
    dup2(saved, STDIN_FILENO);
    close(saved);
}

TEST(source_file_open_errors)
{
    dc_err err;
    dc_err_clear(&err);
    dc_source *s = NULL;
    dc_source_opts o = {.uri = "file:/nonexistent/dir/x.jsonl"};
    CHECK_EQ_INT(dc_source_open(&s, &o, &err), DC_ENOTFOUND);
    CHECK(strstr(err.msg, "/nonexistent/dir/x.jsonl") != NULL);
    o.uri = "file:/tmp";
    CHECK_EQ_INT(dc_source_open(&s, &o, &err), DC_EINVAL);
    CHECK(strstr(err.msg, "directory") != NULL);
    o.uri = "file:";
    CHECK_EQ_INT(dc_source_open(&s, &o, &err), DC_EINVAL);
    o.uri = "ftp://x/y";
    CHECK_EQ_INT(dc_source_open(&s, &o, &err), DC_EINVAL);
    CHECK(strstr(err.msg, "ftp://x/y") != NULL);
    o.uri = NULL;
    CHECK_EQ_INT(dc_source_open(&s, &o, &err), DC_EINVAL);
    CHECK(s == NULL);
}

TEST(source_file_alloc_failures)
{
    static const char text[] = "{\"a\":1}\n{\"a\":2}\n";
    const char *path = tmp_file(text, sizeof text - 1);
    dc_err err;
    for (long fail = 1; fail < 10; fail++) {
        dc_err_clear(&err);
        dc_source *s = NULL;
        dc_alloc_fail_after(fail);
        int rc = dc_source_file_open(&s, path, 64, NULL, NULL, NULL, &err);
        dc_alloc_fail_after(0);
        CHECK(rc == 0 || rc == DC_ENOMEM);
        CHECK((rc == 0) == (s != NULL));
        dc_source_free(s);
    }
    unlink(path);
}

TEST(source_kafka_uri_errors)
{
    dc_err err;
    dc_err_clear(&err);
    dc_source *s = NULL;
    static const struct {
        const char *uri;
        const char *needle;
    } bad[] = {
        {"kafka://h:1", "expected kafka://"},
        {"kafka://h:1/t?group=g&start=middle", "start=middle"},
        {"kafka://h:1/t?group=g&colour=red", "unknown parameter 'colour'"},
        {"kafka://h:1/t?group", "not key=value"},
        {"kafka://h:1/t?group=g&fail_on_data_loss=maybe", "true or false"},
        {"kafka://h:1/a,,b?group=g", "empty topic"},
        {"kafka://h:1/?group=g", "no topic"},
        {"kafka://h:1/t", "no consumer group"},
        {"kafka:///t?group=g", "no bootstrap servers"},
        {"kafka://h:1/cdc-{db}{table}?group=g", "two placeholders"},
        {"kafka://h:1/cdc-{}?group=g", "expected {name}"},
        {"kafka://h:1/cdc*{db}?group=g", "'*' is not a topic character"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        dc_source_opts o = {.uri = bad[i].uri};
        CHECK_EQ_INT(dc_source_open(&s, &o, &err), DC_EINVAL);
        if (!strstr(err.msg, bad[i].needle))
            dc_test_fail(__FILE__, __LINE__, "%s: message '%s' lacks '%s'", bad[i].uri, err.msg,
                         bad[i].needle);
        CHECK(s == NULL);
    }
    /* a managed property is refused, and a secret's value is never shown */
    const char *keys[] = {"sasl.password", "enable.auto.commit"};
    const char *vals[] = {"hunter2", "true"};
    dc_source_opts o = {.uri = "kafka://h:1/t?group=g", .n_props = 2, .prop_keys = keys,
                        .prop_values = vals};
    CHECK_EQ_INT(dc_source_open(&s, &o, &err), DC_EINVAL);
    CHECK(strstr(err.msg, "enable.auto.commit is managed") != NULL);
    const char *k2[] = {"no.such.property.password"};
    const char *v2[] = {"hunter2"};
    o.n_props = 1, o.prop_keys = k2, o.prop_values = v2;
    CHECK_EQ_INT(dc_source_open(&s, &o, &err), DC_EINVAL);
    CHECK(strstr(err.msg, "no.such.property.password=*****") != NULL);
    CHECK(strstr(err.msg, "hunter2") == NULL);
}

TEST(source_pattern_regex_and_match)
{
    dc_err err;
    dc_err_clear(&err);
    char *re = NULL;
    CHECK_OK(dc_source_pattern_regex(&re, "cdc-{db}-{table}", &err), &err);
    CHECK_EQ_STR(re, "^cdc-([^-]+)-(.+)$");
    dc_free(re);
    CHECK_OK(dc_source_pattern_regex(&re, "srv.{db}.{table}", &err), &err);
    CHECK_EQ_STR(re, "^srv\\.([^.]+)\\.(.+)$");
    dc_free(re);
    CHECK_OK(dc_source_pattern_regex(&re, "plain.topic", &err), &err);
    CHECK_EQ_STR(re, "^plain\\.topic$");
    dc_free(re);

    dc_source_capture caps[DC_SOURCE_MAX_CAPTURES];
    size_t n = 0;
    CHECK(dc_source_pattern_match("cdc-{db}-{table}", "cdc-shop-order-items", caps, &n));
    CHECK_EQ_INT(n, 2);
    CHECK(caps[0].name_len == 2 && memcmp(caps[0].name, "db", 2) == 0);
    CHECK(caps[0].value_len == 4 && memcmp(caps[0].value, "shop", 4) == 0);
    CHECK(caps[1].name_len == 5 && memcmp(caps[1].name, "table", 5) == 0);
    CHECK(caps[1].value_len == 11 && memcmp(caps[1].value, "order-items", 11) == 0);
    CHECK(!dc_source_pattern_match("cdc-{db}-{table}", "cdc-shop", caps, &n));
    CHECK(!dc_source_pattern_match("cdc-{db}-{table}", "cdc--orders", caps, &n));
    CHECK(!dc_source_pattern_match("cdc-{db}-{table}", "cdc-shop-", caps, &n));
    CHECK(!dc_source_pattern_match("cdc-{db}-{table}", "xcdc-shop-t", caps, &n));
    CHECK(dc_source_pattern_match("{db}.x", "a.x", caps, &n) && n == 1);
    CHECK(!dc_source_pattern_match("{db}.x", "a.x.y", caps, &n));
}

TEST(source_file_lines_across_reads)
{
    /* lines longer than one read (1 MiB) and many short ones around them:
     * the buffer grows, moves, and no byte is lost or doubled */
    const size_t big = (size_t)1536 * 1024;
    dc_buf text;
    dc_buf_init(&text, (size_t)16 << 20);
    dc_err err;
    dc_err_clear(&err);
    int lines = 0;
    for (int i = 0; i < 3; i++) {
        for (int j = 0; j < 20000; j++, lines++)
            CHECK_OK(dc_buf_appendf(&text, &err, "{\"n\":%d}\n", lines + 1), &err);
        CHECK_OK(dc_buf_puts(&text, "{\"big\":\"", &err), &err);
        for (size_t k = 0; k < big; k++) CHECK_OK(dc_buf_putc(&text, (uint8_t)('a' + k % 26), &err), &err);
        CHECK_OK(dc_buf_puts(&text, "\"}\r\n", &err), &err);
        lines++;
    }
    const char *path = tmp_file((const char *)text.data, text.len);
    dc_buf_dispose(&text);
    dc_source *s = NULL;
    CHECK_OK(open_uri(&s, path, NULL, NULL, &err), &err);
    dc_source_record out[64];
    int64_t next = 1;
    int bigs = 0;
    for (int guard = 0; s && guard < 100000; guard++) {
        size_t got = 0;
        bool eof = false;
        CHECK_OK(s->ops->poll(s, out, 64, &got, &eof, 0, &err), &err);
        for (size_t i = 0; i < got; i++, next++) {
            CHECK_EQ_INT(out[i].offset, next);
            if (out[i].value_len > 1000) {
                bigs++;
                CHECK_EQ_INT(out[i].value_len, big + 10);
                CHECK(out[i].value[8] == 'a' && out[i].value[out[i].value_len - 1] == '}');
            } else {
                char w[32];
                int n = snprintf(w, sizeof w, "{\"n\":%lld}", (long long)next);
                CHECK(out[i].value_len == (size_t)n && memcmp(out[i].value, w, (size_t)n) == 0);
            }
        }
        if (eof) break;
    }
    CHECK_EQ_INT(next - 1, lines);
    CHECK_EQ_INT(bigs, 3);
    dc_source_free(s);
    unlink(path);
}

/* ------------------------------------------------------ input identity */

typedef struct id_ctx {
    int64_t next;        /* the position's answer */
    bool found;          /* an identity is recorded */
    uint64_t bytes, hash;
} id_ctx;

static int id_resume(void *ctx, const char *topic, int32_t partition, int64_t *off, dc_err *err)
{
    (void)topic, (void)partition, (void)err;
    *off = ((id_ctx *)ctx)->next;
    return 0;
}

static int id_identity(void *ctx, const char *topic, int32_t partition, bool *found,
                       uint64_t *bytes, uint64_t *hash, dc_err *err)
{
    (void)topic, (void)partition, (void)err;
    const id_ctx *c = ctx;
    *found = c->found;
    *bytes = c->bytes;
    *hash = c->hash;
    return 0;
}

/* Polls everything; the identity of line `at` into *c; the error code. */
static int drain_ids(dc_source *s, int64_t at, id_ctx *c, int64_t *last, dc_err *err)
{
    dc_source_record out[4];
    for (;;) {
        size_t got = 0;
        bool eof = false;
        DC_TRY(s->ops->poll(s, out, 4, &got, &eof, 100, err));
        for (size_t i = 0; i < got; i++) {
            CHECK(out[i].has_input_id);
            *last = out[i].offset;
            if (out[i].offset == at && c) {
                c->bytes = out[i].input_bytes;
                c->hash = out[i].input_hash;
            }
        }
        if (eof) return 0;
    }
}

/* A resume checks the lines it skips are the input the table recorded: a
 * rewritten line, a shorter input, and a different stream are refused with
 * the way to start over; a table without an identity (older) is trusted. */
TEST(source_file_resume_checks_the_input_identity)
{
    const char text[] = "{\"a\":1}\n{\"a\":2}\n{\"a\":3}\n{\"a\":4}\n";
    char path[64];
    snprintf(path, sizeof path, "%s", tmp_file(text, sizeof text - 1));
    dc_err err;
    dc_err_clear(&err);
    dc_source *s = NULL;
    id_ctx rec = {.next = -1};
    int64_t last = 0;
    CHECK_OK(dc_source_file_open(&s, path, 80, id_resume, id_identity, &rec, &err), &err);
    CHECK_OK(drain_ids(s, 2, &rec, &last, &err), &err);
    dc_source_free(s);
    CHECK_EQ_INT(rec.bytes, 16);
    /* the same input resumes after line 2 */
    id_ctx c = {.next = 3, .found = true, .bytes = rec.bytes, .hash = rec.hash};
    CHECK_OK(dc_source_file_open(&s, path, 80, id_resume, id_identity, &c, &err), &err);
    CHECK_OK(drain_ids(s, 0, NULL, &last, &err), &err);
    CHECK_EQ_INT(last, 4);
    dc_source_free(s);
    /* line 2 rewritten, same length: refused, naming the way out */
    const char other[] = "{\"a\":1}\n{\"a\":9}\n{\"a\":3}\n{\"a\":4}\n";
    const char *p2 = tmp_file(other, sizeof other - 1);
    CHECK_OK(dc_source_file_open(&s, p2, 80, id_resume, id_identity, &c, &err), &err);
    CHECK_EQ_INT(drain_ids(s, 0, NULL, &last, &err), DC_EINVAL);
    CHECK(strstr(err.msg, "not the input the table's position was recorded for") != NULL);
    CHECK(strstr(err.msg, "--pipeline") != NULL);
    dc_source_free(s);
    /* a stream shorter than the position */
    unlink(p2);
    p2 = tmp_file(text, 8);
    CHECK_OK(dc_source_file_open(&s, p2, 80, id_resume, id_identity, &c, &err), &err);
    CHECK_EQ_INT(drain_ids(s, 0, NULL, &last, &err), DC_EINVAL);
    CHECK(strstr(err.msg, "ends at line 1, before the table's position (line 2)") != NULL);
    dc_source_free(s);
    /* no identity recorded (an older table): resumed unchecked, as before */
    id_ctx old = {.next = 3, .found = false};
    CHECK_OK(dc_source_file_open(&s, p2, 80, id_resume, id_identity, &old, &err), &err);
    CHECK_OK(drain_ids(s, 0, NULL, &last, &err), &err);
    dc_source_free(s);
    unlink(p2);
    unlink(path);
}

/* Consumer lag for the file source: the high watermark is the lines known + 1
 * (those read, and those complete in the buffer; a last line without '\n'
 * once the end is read). */
TEST(source_file_high_watermark)
{
    static const char text[] = "{\"a\":1}\n{\"a\":2}\n{\"a\":3}\n{\"a\":4}";
    const char *path = tmp_file(text, sizeof text - 1);
    CHECK(path != NULL);
    dc_err err;
    dc_err_clear(&err);
    dc_source *s = NULL;
    CHECK_OK(open_uri(&s, path, NULL, NULL, &err), &err);
    if (!s) return;
    dc_source_record out[1];
    size_t got = 0;
    bool eof = false;
    CHECK_OK(s->ops->poll(s, out, 1, &got, &eof, 100, &err), &err);
    CHECK_EQ_INT(got, 1);
    const char *topic = out[0].topic;
    /* one handed out, three more complete lines buffered; the last one, with
     * no '\n', counts once the end is read */
    CHECK_EQ_INT(dc_source_high_watermark(s, topic, 0), 4);
    CHECK_EQ_INT(dc_source_high_watermark(s, topic, 1), -1);
    CHECK_EQ_INT(dc_source_high_watermark(s, "file:/elsewhere", 0), -1);
    rec_copy r[8];
    CHECK_EQ_INT(drain(s, r, 8, 8, &err), 3);
    CHECK_EQ_INT(dc_source_high_watermark(s, topic, 0), 5); /* lag = 5 - (4 + 1) = 0 */
    dc_source_free(s);
    unlink(path);
}
