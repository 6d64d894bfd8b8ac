/* `deltacdc source-dump URI ...`: a test/dev tool, not in the usage text.
 * Reads a source (file or Kafka, source.h) and prints each record as one JSON
 * line, so the interop tests can check the C side of the sources against a
 * real Kafka broker without the rest of the pipeline:
 *   {"topic":"t","partition":0,"offset":5,"key":"k","value":"...","timestamp_ms":N}
 * (key/value null when absent; bytes are printed as they are, UTF-8 assumed). */
#include "cli.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../json/dc_json.h"
#include "../source/source.h"

static const char usage[] =
    "usage: deltacdc source-dump URI [options]\n"
    "  Prints the records of a source (file:PATH, file:-, kafka://...) as JSON lines.\n"
    "  --once                 stop at the end of the input / the high watermark\n"
    "  --max-records N        stop after N records\n"
    "  --batch N              records per poll (default 500)\n"
    "  --timeout-ms N         wait per poll (default 500)\n"
    "  --resume T:P=OFFSET    the table's next offset for topic T partition P (repeatable)\n"
    "  --start earliest|latest  where partitions without a resume offset start\n"
    "  --no-fail-on-data-loss go on from the earliest offset when a resume offset is gone\n"
    "  --group G              consumer group (overrides the URI's)\n"
    "  --prop KEY=VALUE       librdkafka property (repeatable)\n"
    "  --commit               commit group offsets after each batch (as after a Delta commit)\n"
    "  --log-level L          error|warn|info|debug|trace (default warn)\n";

#define DUMP_MAX_ARGS 64

/* Positions given with --resume. */
typedef struct dump_resume {
    char *topic[DUMP_MAX_ARGS];   /* topic (into argv, the ':' overwritten) */
    int32_t part[DUMP_MAX_ARGS];  /* partition */
    int64_t next[DUMP_MAX_ARGS];  /* next offset to read */
    int n;
} dump_resume;

typedef struct dump_args {
    dc_source_opts o;                       /* what the source is opened with */
    bool once, commit;                      /* --once, --commit */
    long long max_records;                  /* 0: no limit */
    size_t batch;                           /* records per poll */
    int timeout_ms;                         /* per poll */
    const char *keys[DUMP_MAX_ARGS];        /* --prop keys (into argv) */
    const char *vals[DUMP_MAX_ARGS];        /* --prop values */
    dump_resume resume;                     /* --resume positions */
} dump_args;

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static int resume_lookup(void *ctx, const char *topic, int32_t partition, int64_t *off,
                         dc_err *err)
{
    (void)err;
    const dump_resume *r = ctx;
    *off = -1;
    for (int i = 0; i < r->n; i++)
        if (r->part[i] == partition && strcmp(r->topic[i], topic) == 0) *off = r->next[i];
    return 0;
}

/* "T:P=OFFSET"; the topic may hold ':' (file:/path:0=5), the last one splits. */
static bool parse_resume(dump_resume *r, char *s)
{
    char *eq = strrchr(s, '=');
    if (!eq || r->n >= DUMP_MAX_ARGS) return false;
    *eq = '\0';
    char *colon = strrchr(s, ':');
    if (!colon) return false;
    *colon = '\0';
    char *end1, *end2;
    long p = strtol(colon + 1, &end1, 10);
    long long o = strtoll(eq + 1, &end2, 10);
    if (*end1 || *end2 || colon[1] == '\0' || eq[1] == '\0' || p < 0 || p > INT32_MAX) return false;
    r->topic[r->n] = s;
    r->part[r->n] = (int32_t)p;
    r->next[r->n] = o;
    r->n++;
    return true;
}

static bool parse_option(dump_args *a, int argc, char **argv, int *i)
{
    const char *o = argv[*i];
    bool has = *i + 1 < argc;
    if (strcmp(o, "--once") == 0) a->once = true;
    else if (strcmp(o, "--commit") == 0) a->commit = true;
    else if (strcmp(o, "--no-fail-on-data-loss") == 0) a->o.fail_on_data_loss = false;
    else if (!has) return false;
    else if (strcmp(o, "--max-records") == 0) a->max_records = atoll(argv[++*i]);
    else if (strcmp(o, "--batch") == 0) a->batch = (size_t)atol(argv[++*i]);
    else if (strcmp(o, "--timeout-ms") == 0) a->timeout_ms = atoi(argv[++*i]);
    else if (strcmp(o, "--group") == 0) a->o.group_id = argv[++*i];
    else if (strcmp(o, "--resume") == 0) return parse_resume(&a->resume, argv[++*i]);
    else if (strcmp(o, "--start") == 0) {
        const char *v = argv[++*i];
        if (strcmp(v, "earliest") != 0 && strcmp(v, "latest") != 0) return false;
        a->o.start_earliest = strcmp(v, "earliest") == 0;
    } else if (strcmp(o, "--prop") == 0) {
        char *kv = argv[++*i], *eq = strchr(kv, '=');
        if (!eq || a->o.n_props >= DUMP_MAX_ARGS) return false;
        *eq = '\0';
        a->keys[a->o.n_props] = kv;
        a->vals[a->o.n_props++] = eq + 1;
    } else if (strcmp(o, "--log-level") == 0) {
        dc_log_level l;
        if (dc_log_parse_level(&l, argv[++*i], NULL) != 0) return false;
        dc_log_set_level(l);
    } else {
        return false;
    }
    return true;
}

static int print_record(dc_buf *b, const dc_source_record *r, dc_err *err)
{
    dc_buf_reset(b);
    DC_TRY(dc_buf_puts(b, "{\"topic\":", err));
    DC_TRY(dc_json_put_str(b, r->topic, strlen(r->topic), err));
    DC_TRY(dc_buf_appendf(b, err, ",\"partition\":%d,\"offset\":%lld,\"key\":", (int)r->partition,
                          (long long)r->offset));
    if (r->key) DC_TRY(dc_json_put_str(b, r->key, r->key_len, err));
    else DC_TRY(dc_buf_puts(b, "null", err));
    DC_TRY(dc_buf_puts(b, ",\"value\":", err));
    if (r->value) DC_TRY(dc_json_put_str(b, r->value, r->value_len, err));
    else DC_TRY(dc_buf_puts(b, "null", err));
    DC_TRY(dc_buf_appendf(b, err, ",\"timestamp_ms\":%lld}\n", (long long)r->timestamp_ms));
    fwrite(b->data, 1, b->len, stdout);
    return 0;
}

/* Commits the last record of each topic-partition run in the batch. */
static int commit_batch(dc_source *s, const dc_source_record *recs, size_t n, dc_err *err)
{
    for (size_t i = 0; i < n; i++) {
        bool last = i + 1 == n || recs[i + 1].partition != recs[i].partition ||
                    strcmp(recs[i + 1].topic, recs[i].topic) != 0;
        if (last) DC_TRY(s->ops->committed(s, recs[i].topic, recs[i].partition, recs[i].offset, err));
    }
    return 0;
}

static int dump(dc_source *s, const dump_args *a, dc_source_record *recs, dc_err *err)
{
    dc_buf b;
    dc_buf_init(&b, (size_t)1 << 30);
    long long total = 0;
    int rc = 0;
    while (!stop_flag && rc == 0 && (a->max_records == 0 || total < a->max_records)) {
        size_t n = 0, want = a->batch;
        bool eof = false;
        if (a->max_records > 0 && (long long)want > a->max_records - total)
            want = (size_t)(a->max_records - total);
        rc = s->ops->poll(s, recs, want, &n, &eof, a->timeout_ms, err);
        for (size_t i = 0; rc == 0 && i < n; i++) rc = print_record(&b, &recs[i], err);
        fflush(stdout);
        if (rc == 0 && a->commit && n > 0) rc = commit_batch(s, recs, n, err);
        total += (long long)n;
        if (eof && a->once) break;
    }
    dc_buf_dispose(&b);
    return rc;
}

int dc_cli_source_dump(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    dump_args a;
    memset(&a, 0, sizeof a);
    a.o.uri = argv[1];
    a.o.start_earliest = true;
    a.o.fail_on_data_loss = true;
    a.batch = 500;
    a.timeout_ms = 500;
    dc_log_set_level(DC_LOG_WARN);
    for (int i = 2; i < argc; i++) {
        if (!parse_option(&a, argc, argv, &i)) {
            fprintf(stderr, "deltacdc source-dump: bad option '%s'\n%s", argv[i], usage);
            return 2;
        }
    }
    if (a.batch == 0 || a.batch > 100000) a.batch = 500;
    a.o.prop_keys = a.keys;
    a.o.prop_values = a.vals;
    a.o.resume = resume_lookup;
    a.o.resume_ctx = &a.resume;
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    dc_err err;
    dc_err_clear(&err);
    dc_source *s = NULL;
    dc_source_record *recs = dc_calloc(a.batch, sizeof *recs);
    int rc = recs ? dc_source_open(&s, &a.o, &err) : dc_err_set(&err, DC_ENOMEM, "out of memory");
    if (rc == 0) rc = dump(s, &a, recs, &err);
    if (rc != 0) fprintf(stderr, "deltacdc source-dump: %s\n", err.msg);
    dc_source_free(s);
    dc_free(recs);
    return rc == 0 ? 0 : 1;
}
