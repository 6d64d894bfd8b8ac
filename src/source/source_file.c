/*
 * source: JSON lines from a file or stdin (DESIGN.md, part 1).
 *
 * One Kafka record value per line; the 1-based line number is the offset, so
 * a table's txn action records how far a file was ingested and a second run
 * on the same file (same canonical path, same topic "file:<realpath>")
 * resumes after it. A line that is empty or "null" (blanks around allowed)
 * is a tombstone. CRLF line ends are accepted.
 *
 * Memory is bounded: one read buffer that grows to hold the longest line,
 * at most max_line + 2 bytes (the line, '\r', '\n'). Records borrow from it
 * until the next poll, so within one poll the buffer is never moved: when a
 * line is incomplete and records were already handed out, poll returns them
 * and reads on the next call.
 */
#include "source_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* Bytes asked of read() at a time, and the buffer's first size. */
#define FILE_READ_CHUNK ((size_t)1024 * 1024)

typedef struct file_src {
    dc_source base;       /* first: the generic part */
    int fd;               /* the input; STDIN_FILENO (not closed by us) for "-" */
    bool is_stdin;        /* fd is stdin: never closed */
    bool regular;         /* a regular file: read() never blocks, no poll() */
    bool at_eof;          /* read() returned 0: what is buffered is all there is */
    char *topic;          /* "file:<realpath>" or "file:-" (owned) */
    uint8_t *buf;         /* read buffer (owned); bytes [pos, len) not consumed */
    size_t cap;           /* bytes allocated in buf */
    size_t cap_max;       /* max_line + 2: the most buf ever grows to */
    size_t len;           /* bytes in buf */
    size_t pos;           /* first unconsumed byte */
    size_t max_line;      /* longest line accepted, '\r' and '\n' excluded */
    int64_t line;         /* number of the last line consumed, 0 before the first */
    int64_t skip_until;   /* lines numbered <= this are skipped (resume); 0: none */
    uint64_t bytes;       /* bytes of lines 1..line, line ends included */
    uint64_t hash;        /* dc_source_input_hash of those bytes */
    bool check;           /* the table recorded the identity below at skip_until */
    uint64_t want_bytes;  /* bytes of lines 1..skip_until when the table recorded them */
    uint64_t want_hash;   /* and their hash */
} file_src;

uint64_t dc_source_input_hash(uint64_t h, const uint8_t *p, size_t n)
{
    /* Multiply-and-fold over 8-byte words in four independent lanes (32
     * bytes a round, so the multiplies overlap): several GB/s, small next to
     * decoding the line, and any change of the bytes changes it with
     * overwhelming odds (it guards against mistakes, not attackers). */
    const uint64_t k = 0x9E3779B97F4A7C15ull;
    uint64_t l[4] = {h ^ 0x243F6A8885A308D3ull, h ^ 0x13198A2E03707344ull,
                     h ^ 0xA4093822299F31D0ull, h ^ 0x082EFA98EC4E6C89ull};
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        for (int j = 0; j < 4; j++) {
            uint64_t w;
            memcpy(&w, p + i + 8 * (size_t)j, 8);
            l[j] = (l[j] ^ w) * k;
            l[j] ^= l[j] >> 29;
        }
    }
    h = (l[0] ^ (l[1] << 1 | l[1] >> 63) ^ (l[2] << 2 | l[2] >> 62) ^ (l[3] << 3 | l[3] >> 61));
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        h = (h ^ w) * k;
        h ^= h >> 29;
    }
    uint64_t w = 0;
    memcpy(&w, p + i, n - i);
    h = (h ^ w ^ ((uint64_t)(n - i) << 56) ^ ((uint64_t)n << 40)) * k;
    h ^= h >> 32;
    return h & ((1ull << 62) - 1);
}

/* Bytes of a line's head and of its tail that go into the identity hash. */
#define ID_SAMPLE 64

/* Folds one line (its end included) into the running identity hash: its
 * length, its first and its last ID_SAMPLE bytes. Hashing every byte cost
 * about a tenth of the ingest CPU with 3 KB Debezium records; a different
 * stream or a rewritten file differs in some line's length, head (the
 * schema block, the op) or tail (ts_ms, the source position) with
 * overwhelming odds, and an edit that keeps a line's length, head and tail
 * is not a case this check serves (README: the file source). */
static uint64_t line_hash(uint64_t h, const uint8_t *p, size_t n)
{
    if (n <= 2 * ID_SAMPLE) return dc_source_input_hash(h, p, n);
    h = dc_source_input_hash(h, p, ID_SAMPLE);
    h = dc_source_input_hash(h, p + n - ID_SAMPLE, ID_SAMPLE);
    const uint64_t len = (uint64_t)n;
    return dc_source_input_hash(h, (const uint8_t *)&len, sizeof len);
}

/* What tells the user how to start over on another input. */
#define START_OVER "to ingest this input from its first line, use another pipeline name " \
                   "(--pipeline NAME, or pipeline: in the pipeline file)"

/* At the table's position (line skip_until consumed): is this the input the
 * table recorded? */
static int check_identity(const file_src *f, dc_err *err)
{
    if (!f->check || f->line != f->skip_until) return 0;
    if (f->bytes == f->want_bytes && f->hash == f->want_hash) return 0;
    return dc_err_set(err, DC_EINVAL,
                      "%s: not the input the table's position was recorded for: its lines 1-%lld "
                      "are %llu bytes%s, the table recorded %llu bytes with another content "
                      "(a different stream, or a rewritten file); " START_OVER,
                      f->topic, (long long)f->line, (unsigned long long)f->bytes,
                      f->bytes == f->want_bytes ? " as recorded but differ" : "",
                      (unsigned long long)f->want_bytes);
}

static int os_err(dc_err *err, const file_src *f, const char *op)
{
    int e = errno;
    if (e == EINTR || e == EAGAIN)
        return dc_err_set_retriable(err, DC_EIO, "%s: %s: %s", f->topic, op, strerror(e));
    return dc_err_set(err, e == ENOENT ? DC_ENOTFOUND : DC_EIO, "%s: %s: %s", f->topic, op,
                      strerror(e));
}

/* Makes room to read: moves the unconsumed bytes to the front, grows the
 * buffer when it is full. Called only when no record borrows from it. */
static int make_room(file_src *f, dc_err *err)
{
    if (f->pos > 0) {
        memmove(f->buf, f->buf + f->pos, f->len - f->pos);
        f->len -= f->pos;
        f->pos = 0;
    }
    if (f->len < f->cap) return 0;
    if (f->cap >= f->cap_max)
        return dc_err_set(err, DC_ELIMIT, "%s: line %lld is longer than %zu bytes (the limit "
                          "on one JSON line)", f->topic, (long long)f->line + 1, f->max_line);
    size_t ncap = f->cap > f->cap_max / 2 ? f->cap_max : f->cap * 2;
    uint8_t *nb = dc_realloc(f->buf, ncap);
    if (!nb) return dc_err_set(err, DC_ENOMEM, "%s: out of memory growing the line buffer to "
                               "%zu bytes", f->topic, ncap);
    f->buf = nb;
    f->cap = ncap;
    return 0;
}

/* Reads more bytes. *got_out: bytes read; 0 with at_eof set at the end,
 * 0 without it when nothing came within timeout_ms (pipes, terminals). */
static int fill(file_src *f, int timeout_ms, size_t *got_out, dc_err *err)
{
    *got_out = 0;
    DC_TRY(make_room(f, err));
    if (!f->regular) {
        struct pollfd pfd = {.fd = f->fd, .events = POLLIN};
        int r = poll(&pfd, 1, timeout_ms < 0 ? -1 : timeout_ms);
        if (r == 0 || (r < 0 && errno == EINTR)) return 0; /* a signal: let the caller look */
        if (r < 0) return os_err(err, f, "poll");
    }
    size_t want = f->cap - f->len;
    if (want > FILE_READ_CHUNK) want = FILE_READ_CHUNK;
    ssize_t n = read(f->fd, f->buf + f->len, want);
    if (n < 0 && errno == EINTR) return 0;
    if (n < 0) return os_err(err, f, "read");
    if (n == 0) f->at_eof = true;
    f->len += (size_t)n;
    *got_out = (size_t)n;
    return 0;
}

static bool blank(uint8_t c) { return c == ' ' || c == '\t' || c == '\r'; }

/* Fills rec with line f->line held in p[0..n). */
static int emit_line(file_src *f, const uint8_t *p, size_t n, dc_source_record *rec,
                     dc_err *err)
{
    if (n > 0 && p[n - 1] == '\r') n--;
    if (n > f->max_line)
        return dc_err_set(err, DC_ELIMIT, "%s: line %lld is longer than %zu bytes (the limit "
                          "on one JSON line)", f->topic, (long long)f->line, f->max_line);
    size_t a = 0, b = n;
    while (a < b && blank(p[a])) a++;
    while (b > a && blank(p[b - 1])) b--;
    bool tomb = a == b || (b - a == 4 && memcmp(p + a, "null", 4) == 0);
    *rec = (dc_source_record){
        .topic = f->topic,
        .partition = 0,
        .offset = f->line,
        .value = tomb ? NULL : (const char *)p,
        .value_len = tomb ? 0 : n,
        .key = NULL,
        .key_len = 0,
        .timestamp_ms = -1,
        .has_input_id = true,
        .input_bytes = f->bytes,
        .input_hash = f->hash,
    };
    return 0;
}

/* Consumes the next complete line (or the unterminated last one at EOF) into
 * *rec unless it is skipped. *progress_out false: no complete line buffered. */
static int next_line(file_src *f, dc_source_record *rec, bool *emitted_out, bool *progress_out,
                     dc_err *err)
{
    *emitted_out = *progress_out = false;
    const uint8_t *p = f->buf + f->pos;
    size_t avail = f->len - f->pos;
    const uint8_t *nl = avail ? memchr(p, '\n', avail) : NULL;
    size_t n;
    if (nl) {
        n = (size_t)(nl - p);
        f->pos += n + 1;
    } else if (f->at_eof && avail > 0) {
        n = avail;
        f->pos = f->len;
    } else {
        /* A skipped line is hashed whole: it stays buffered (the buffer
         * grows to max_line) until its end is read. */
        return 0;
    }
    *progress_out = true;
    if (f->line == INT64_MAX)
        return dc_err_set(err, DC_ELIMIT, "%s: more than %lld lines", f->topic,
                          (long long)INT64_MAX);
    f->line++;
    const size_t used = n + (nl != NULL); /* the line and its '\n' */
    f->bytes += used;
    f->hash = line_hash(f->hash, p, used);
    DC_TRY(check_identity(f, err));
    if (f->line <= f->skip_until) return 0;
    *emitted_out = true;
    return emit_line(f, p, n, rec, err);
}

static int file_poll(dc_source *s, dc_source_record *out, size_t max, size_t *n_out,
                     bool *eof_out, int timeout_ms, dc_err *err)
{
    file_src *f = (file_src *)s;
    size_t n = 0;
    *n_out = 0;
    *eof_out = false;
    while (n < max) {
        bool emitted, progress;
        DC_TRY(next_line(f, &out[n], &emitted, &progress, err));
        if (emitted) n++;
        if (progress) continue;
        if (f->at_eof || n > 0) break; /* drained, or records borrow the buffer */
        size_t got;
        DC_TRY(fill(f, timeout_ms, &got, err));
        if (got == 0 && !f->at_eof) break; /* nothing within the timeout */
    }
    *n_out = n;
    *eof_out = n == 0 && f->at_eof && f->pos == f->len;
    if (*eof_out && f->check && f->line < f->skip_until)
        return dc_err_set(err, DC_EINVAL, "%s: the input ends at line %lld, before the table's "
                          "position (line %lld): a different or truncated input; " START_OVER,
                          f->topic, (long long)f->line, (long long)f->skip_until);
    return 0;
}

static int file_committed(dc_source *s, const char *topic, int32_t partition, int64_t offset,
                          dc_err *err)
{
    (void)s, (void)topic, (void)partition, (void)offset, (void)err;
    return 0; /* the table's txn action is the only record of progress */
}

/* The lines known so far + 1 (the "high watermark" consumer lag is measured
 * against, issue 11): the lines read and those complete in the buffer. Exact
 * once the input is read to its end; before that a lower bound (what the
 * file holds beyond the buffer is not counted without reading it). */
static int64_t file_high_watermark(dc_source *s, const char *topic, int32_t partition)
{
    const file_src *f = (const file_src *)s;
    if (partition != 0 || strcmp(topic, f->topic) != 0) return -1;
    int64_t lines = f->line;
    const uint8_t *p = f->buf + f->pos, *end = f->buf + f->len;
    while (p < end && (p = memchr(p, '\n', (size_t)(end - p)))) {
        lines++;
        p++;
    }
    if (f->at_eof && f->len > f->pos && f->buf[f->len - 1] != '\n') lines++; /* no final '\n' */
    return lines + 1;
}

static void file_free(dc_source *s)
{
    file_src *f = (file_src *)s;
    if (!f) return;
    if (f->fd >= 0 && !f->is_stdin) close(f->fd);
    dc_free(f->buf);
    dc_free(f->topic);
    dc_free(f);
}

static const dc_source_ops file_ops = {
    .version = 1,
    .poll = file_poll,
    .committed = file_committed,
    .high_watermark = file_high_watermark,
    .free = file_free,
};

/* Opens path, names the topic after its canonical path. */
static int open_input(file_src *f, const char *path, dc_err *err)
{
    if (strcmp(path, "-") == 0) {
        f->fd = STDIN_FILENO;
        f->is_stdin = true;
        f->topic = dc_strdup("file:-");
    } else {
        f->fd = open(path, O_RDONLY | O_CLOEXEC);
        if (f->fd < 0) {
            int e = errno;
            return dc_err_set(err, e == ENOENT ? DC_ENOTFOUND : DC_EIO, "file:%s: open: %s", path,
                              strerror(e));
        }
        char *real = realpath(path, NULL); /* libc's malloc: copied, then freed */
        if (!real) return dc_err_set(err, DC_EIO, "file:%s: realpath: %s", path, strerror(errno));
        size_t rl = strlen(real);
        f->topic = dc_malloc(rl + 6);
        if (f->topic) memcpy(f->topic, "file:", 5), memcpy(f->topic + 5, real, rl + 1);
        free(real);
    }
    if (!f->topic) return dc_err_set(err, DC_ENOMEM, "out of memory opening %s", path);
    struct stat st;
    if (fstat(f->fd, &st) != 0) return os_err(err, f, "fstat");
    if (S_ISDIR(st.st_mode))
        return dc_err_set(err, DC_EINVAL, "%s: is a directory, expected a JSON-lines file",
                          f->topic);
    f->regular = S_ISREG(st.st_mode);
    return 0;
}

/* Asks the table for the input's identity at its position. A table written
 * before identities were recorded has none: the position is trusted, as it
 * was. */
static int ask_identity(file_src *f, dc_source_identity_fn identity, void *ctx, dc_err *err)
{
    bool found = false;
    if (identity)
        DC_TRY(identity(ctx, f->topic, 0, &found, &f->want_bytes, &f->want_hash, err));
    if (!found) {
        DC_LOG(DC_LOG_WARN, "source", "%s: the table recorded no identity of its input (an older "
               "deltacdc wrote it): resuming at line %lld unchecked", f->topic,
               (long long)f->skip_until + 1);
        return 0;
    }
    f->check = true;
    return 0;
}

/* Asks the table where this file resumes. */
static int ask_resume(file_src *f, dc_source_resume_fn resume, dc_source_identity_fn identity,
                      void *ctx, dc_err *err)
{
    if (!resume) return 0;
    int64_t next = -1;
    DC_TRY(resume(ctx, f->topic, 0, &next, err));
    if (next < -1)
        return dc_err_set(err, DC_EINVAL, "%s: resume offset %lld is not a line number",
                          f->topic, (long long)next);
    f->skip_until = next > 0 ? next - 1 : 0;
    if (f->skip_until == 0) return 0;
    DC_LOG(DC_LOG_INFO, "source", "%s: resuming at line %lld", f->topic, (long long)next);
    return ask_identity(f, identity, ctx, err);
}

int dc_source_file_open(dc_source **out, const char *path, size_t max_line,
                        dc_source_resume_fn resume, dc_source_identity_fn identity,
                        void *resume_ctx, dc_err *err)
{
    *out = NULL;
    if (max_line == 0 || max_line > SIZE_MAX / 2)
        return dc_err_set(err, DC_EINVAL, "file source: line limit %zu out of range", max_line);
    file_src *f = dc_calloc(1, sizeof *f);
    if (!f) return dc_err_set(err, DC_ENOMEM, "out of memory opening %s", path);
    f->base.ops = &file_ops;
    f->fd = -1;
    f->max_line = max_line;
    f->cap_max = max_line + 2;
    f->cap = f->cap_max < FILE_READ_CHUNK ? f->cap_max : FILE_READ_CHUNK;
    int rc = open_input(f, path, err);
    if (rc == 0) rc = ask_resume(f, resume, identity, resume_ctx, err);
    if (rc == 0) {
        f->buf = dc_malloc(f->cap);
        if (!f->buf) rc = dc_err_set(err, DC_ENOMEM, "out of memory opening %s", path);
    }
    if (rc != 0) {
        file_free(&f->base);
        return rc;
    }
    *out = &f->base;
    return 0;
}
