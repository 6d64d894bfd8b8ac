/* monitor: the monitors inside the daemon — a thread that, every
 * interval, runs the completeness monitors and checks each table of the
 * registry against the broker for every topic that feeds it, records the
 * verdicts in the registry (metrics, /status), logs the red ones and POSTs
 * them to the webhook, and POSTs a recovery when a red monitor is green
 * again. Its own thread, its own Kafka handle and database connections: a
 * slow broker or database or a hanging webhook never holds up a batch. */
#include "monitor.h"

#include "../source/source.h"

#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <curl/curl.h>

/* The red monitors, by name: a monitor that turns green again posts a
 * recovery. Only the monitor's thread touches it. */
typedef struct red_set {
    char **names;              /* owned */
    size_t n, cap;
} red_set;

struct dc_monitor_sched {
    dc_monitor_sched_opts o;   /* strings borrowed from the configuration */
    dc_metrics *m;             /* borrowed: outlives the thread */
    pthread_t th;
    bool started;              /* th runs */
    pthread_mutex_t mu;        /* guards stop */
    pthread_cond_t cv;         /* signalled on stop */
    bool stop;
    red_set red;               /* monitors red at their last check (the thread's) */
    dc_kafka_probe *probe;     /* the freshness checks' Kafka handle, kept across rounds
                                  (the thread's; NULL until the first check, and again
                                  after a failed one, so a broken handle is remade) */
};

/* Sets whether `name` is red; returns whether it was. */
static bool red_swap(red_set *r, const char *name, bool red)
{
    for (size_t i = 0; i < r->n; i++) {
        if (strcmp(r->names[i], name) != 0) continue;
        if (!red) {
            dc_free(r->names[i]);
            r->names[i] = r->names[--r->n];
        }
        return true;
    }
    if (red && r->n == r->cap) {
        const size_t cap = r->cap ? r->cap * 2 : 16;
        char **p = dc_realloc(r->names, cap * sizeof *p);
        if (!p) return false; /* out of memory: a recovery may go unsent */
        r->names = p;
        r->cap = cap;
    }
    if (red && (r->names[r->n] = dc_strdup(name))) r->n++;
    return false;
}

static void red_dispose(red_set *r)
{
    for (size_t i = 0; i < r->n; i++) dc_free(r->names[i]);
    dc_free(r->names);
}

/* POSTs a result's JSON (body, from its '{') as an "alert" or "recovery"
 * event. */
static void post(const dc_monitor_sched *s, const char *what, const dc_buf *body, bool recovery)
{
    if (!s->o.webhook || !*s->o.webhook) return;
    dc_buf b;
    dc_buf_init(&b, body->len + 64);
    dc_err err;
    dc_err_clear(&err);
    int rc = dc_buf_appendf(&b, &err, "{\"event\":\"%s\",", recovery ? "recovery" : "alert");
    if (rc == 0 && body->len > 1) rc = dc_buf_append(&b, body->data + 1, body->len - 1, &err);
    if (rc == 0) rc = dc_buf_putc(&b, 0, &err);
    if (rc == 0)
        rc = dc_monitor_webhook_post(s->o.webhook, (const char *)b.data, b.len - 1,
                                     s->o.webhook_timeout_ms, s->o.webhook_retries, &err);
    if (rc < 0) DC_LOG(DC_LOG_WARN, "monitor", "%s %s: %s", what, recovery ? "recovery" : "alert",
                       err.msg);
    dc_buf_dispose(&b);
}

static void alert(dc_monitor_sched *s, const dc_fresh_opts *fo, const dc_fresh_result *r,
                  bool recovery)
{
    for (size_t i = 0; i < r->n_parts && !recovery; i++) {
        const dc_fresh_part *p = &r->parts[i];
        if (!p->ok)
            DC_LOG(DC_LOG_WARN, "monitor", "freshness: %s <- %s [%d] is late: %lld records, "
                   "%.1f s behind (committed offset %lld, latest %lld)", fo->table, fo->topic,
                   (int)p->partition, (long long)p->lag_records, p->lag_seconds,
                   (long long)p->committed, (long long)(p->high - 1));
    }
    if (recovery)
        DC_LOG(DC_LOG_INFO, "monitor", "freshness: %s <- %s is fresh again", fo->table, fo->topic);
    dc_buf b;
    dc_buf_init(&b, 16 * 1024 * 1024);
    dc_err err;
    dc_err_clear(&err);
    if (dc_monitor_fresh_json(&b, fo, r, &err) == 0) post(s, "freshness", &b, recovery);
    else DC_LOG(DC_LOG_WARN, "monitor", "freshness alert of %s: %s", fo->table, err.msg);
    dc_buf_dispose(&b);
}

/* Checks one topic of one table. */
static void check_topic(dc_monitor_sched *s, dc_metrics_table *t, const char *table,
                        const char *topic)
{
    dc_fresh_opts fo = {.table = table, .bootstrap = s->o.bootstrap, .topic = topic,
                        .pipeline = s->o.pipeline, .n_props = s->o.n_props,
                        .prop_keys = s->o.prop_keys, .prop_values = s->o.prop_values,
                        .max_lag_records = s->o.max_lag_records,
                        .max_lag_seconds = s->o.max_lag_seconds, .timeout_ms = 10000};
    dc_fresh_result r;
    dc_err err;
    dc_err_clear(&err);
    int rc = s->probe ? 0 : dc_kafka_probe_new(&s->probe, s->o.bootstrap, s->o.n_props,
                                                s->o.prop_keys, s->o.prop_values, &err);
    fo.probe = s->probe;
    if (rc == 0) rc = dc_monitor_freshness(&r, &fo, &err);
    if (rc < 0) {
        DC_LOG(DC_LOG_WARN, "monitor", "freshness of %s <- %s: %s", table, topic, err.msg);
        dc_metrics_monitor_run(t, false, true);
        dc_kafka_probe_free(s->probe); /* remade at the next check */
        s->probe = NULL;
        return;
    }
    for (size_t i = 0; i < r.n_parts; i++)
        if (dc_metrics_monitor_part(t, topic, r.parts[i].partition, r.parts[i].ok,
                                    r.parts[i].lag_records, r.parts[i].lag_seconds, &err) < 0)
            DC_LOG(DC_LOG_WARN, "monitor", "%s", err.msg);
    DC_LOG(r.ok ? DC_LOG_DEBUG : DC_LOG_INFO, "monitor", "freshness of %s <- %s: %s", table,
           topic, r.ok ? "ok" : "LATE");
    dc_metrics_monitor_run(t, !r.ok, false);
    char name[2048];
    snprintf(name, sizeof name, "freshness\t%s\t%s", table, topic);
    const bool was_red = red_swap(&s->red, name, !r.ok);
    if (!r.ok || was_red) alert(s, &fo, &r, r.ok);
    dc_fresh_result_dispose(&r);
}

/* One completeness monitor: metrics, a log line, alert or recovery. */
static void check_complete(dc_monitor_sched *s, const dc_complete_opts *co)
{
    dc_metrics_table *t = NULL;
    dc_err err;
    dc_err_clear(&err);
    if (dc_metrics_table_get(&t, s->m, co->table, &err) < 0) t = NULL;
    dc_complete_result r;
    if (dc_monitor_complete(&r, co, &err) < 0) {
        DC_LOG(DC_LOG_WARN, "monitor", "%s", err.msg);
        if (t) dc_metrics_complete_run(t, 0, 0, true);
        return;
    }
    if (t) dc_metrics_complete_run(t, (int)r.state, r.n_ranges, false);
    const bool red = r.state == DC_COMPLETE_MISMATCH;
    char name[2048];
    snprintf(name, sizeof name, "completeness\t%s", co->name);
    /* a pending check neither alerts nor recovers: the monitor stays as it was */
    const bool was_red = r.state != DC_COMPLETE_PENDING && red_swap(&s->red, name, red);
    if (red)
        DC_LOG(DC_LOG_WARN, "monitor", "completeness %s: %s differs from %s at source position "
               "%s:%lld: %zu %s, %zu keys", co->name, co->table, co->source_table,
               r.pos.file, (long long)r.pos.pos, r.n_ranges, r.hashed ? "buckets" : "ranges",
               r.n_keys);
    else
        DC_LOG(DC_LOG_INFO, "monitor",
               "completeness %s: %s%s:%lld%s", co->name,
               r.state == DC_COMPLETE_OK ? "equal, verified through source position "
                                         : "pending: not yet at source position ",
               r.pos.file, (long long)r.pos.pos, was_red && r.state == DC_COMPLETE_OK
                                                     ? " (recovered)" : "");
    if (red || (was_red && r.state == DC_COMPLETE_OK)) {
        dc_buf b;
        dc_buf_init(&b, 64 * 1024 * 1024);
        if (dc_monitor_complete_json(&b, co, &r, &err) == 0) post(s, "completeness", &b, !red);
        dc_buf_dispose(&b);
    }
    dc_complete_result_dispose(&r);
}

/* One round: the completeness monitors, then the registry's tables against
 * the Kafka topics that feed them. */
static void round_once(dc_monitor_sched *s)
{
    for (size_t i = 0; i < s->o.n_complete; i++) check_complete(s, &s->o.complete[i]);
    if (!s->o.bootstrap) return;
    dc_metrics_snap snap;
    dc_err err;
    dc_err_clear(&err);
    if (dc_metrics_snapshot(&snap, s->m, &err) < 0) {
        DC_LOG(DC_LOG_WARN, "monitor", "%s", err.msg);
        return;
    }
    for (size_t i = 0; i < snap.n_tables; i++) {
        const dc_metrics_tstate *ts = &snap.tables[i];
        dc_metrics_table *t = NULL;
        if (dc_metrics_table_get(&t, s->m, ts->path, &err) < 0) continue;
        for (size_t j = 0; j < ts->n_parts; j++) {
            const char *topic = ts->parts[j].topic;
            bool seen = strncmp(topic, "file:", 5) == 0; /* files have no broker */
            for (size_t k = 0; k < j && !seen; k++) seen = strcmp(ts->parts[k].topic, topic) == 0;
            if (!seen) check_topic(s, t, ts->path, topic);
        }
    }
    dc_metrics_snap_dispose(&snap);
}

/* Waits ms or until stop; true when stopping. */
static bool wait_or_stop(dc_monitor_sched *s, int64_t ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&s->mu);
    while (!s->stop && pthread_cond_timedwait(&s->cv, &s->mu, &until) == 0) {}
    const bool stop = s->stop;
    pthread_mutex_unlock(&s->mu);
    return stop;
}

static void *run(void *arg)
{
    dc_monitor_sched *s = arg;
    while (!wait_or_stop(s, s->o.interval_ms)) round_once(s);
    return NULL;
}

int dc_monitor_sched_start(dc_monitor_sched **out, const dc_monitor_sched_opts *o, dc_metrics *m,
                           dc_err *err)
{
    *out = NULL;
    dc_monitor_sched *s = dc_calloc(1, sizeof *s);
    if (!s) return dc_err_set(err, DC_ENOMEM, "monitor: out of memory");
    s->o = *o;
    s->m = m;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    curl_global_init(CURL_GLOBAL_DEFAULT); /* before the thread: not thread-safe */
    if (pthread_create(&s->th, NULL, run, s) != 0) {
        dc_monitor_sched_free(s);
        return dc_err_set(err, DC_EIO, "monitor: can not start its thread");
    }
    s->started = true;
    if (o->bootstrap)
        DC_LOG(DC_LOG_INFO, "monitor", "freshness every %lld ms (late beyond %lld records and "
               "%.0f s)%s", (long long)o->interval_ms, (long long)o->max_lag_records,
               o->max_lag_seconds, o->webhook && *o->webhook ? ", alerts to the webhook" : "");
    for (size_t i = 0; i < o->n_complete; i++)
        DC_LOG(DC_LOG_INFO, "monitor", "completeness %s (%s) every %lld ms: %s <- %s",
               o->complete[i].name, dc_complete_mode_name(o->complete[i].mode),
               (long long)o->interval_ms, o->complete[i].table, o->complete[i].source_table);
    *out = s;
    return 0;
}

void dc_monitor_sched_free(dc_monitor_sched *s)
{
    if (!s) return;
    if (s->started) {
        pthread_mutex_lock(&s->mu);
        s->stop = true;
        pthread_cond_signal(&s->cv);
        pthread_mutex_unlock(&s->mu);
        pthread_join(s->th, NULL);
    }
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    red_dispose(&s->red);
    dc_kafka_probe_free(s->probe);
    dc_free(s);
}
