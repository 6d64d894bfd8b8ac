/* monitor: the freshness monitor inside the daemon — a thread that, every
 * interval, checks each table of the registry against the broker for every
 * topic that feeds it, records the verdicts in the registry (metrics,
 * /status), logs the late partitions and POSTs the result to the webhook.
 * Its own thread and its own Kafka handle: a slow broker or a hanging
 * webhook never holds up a batch. */
#include "monitor.h"

#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <curl/curl.h>

struct dc_monitor_sched {
    dc_monitor_sched_opts o;   /* strings borrowed from the configuration */
    dc_metrics *m;             /* borrowed: outlives the thread */
    pthread_t th;
    bool started;              /* th runs */
    pthread_mutex_t mu;        /* guards stop */
    pthread_cond_t cv;         /* signalled on stop */
    bool stop;
};

static void alert(dc_monitor_sched *s, const dc_fresh_opts *fo, const dc_fresh_result *r)
{
    for (size_t i = 0; i < r->n_parts; i++) {
        const dc_fresh_part *p = &r->parts[i];
        if (!p->ok)
            DC_LOG(DC_LOG_WARN, "monitor", "freshness: %s <- %s [%d] is late: %lld records, "
                   "%.1f s behind (committed offset %lld, latest %lld)", fo->table, fo->topic,
                   (int)p->partition, (long long)p->lag_records, p->lag_seconds,
                   (long long)p->committed, (long long)(p->high - 1));
    }
    if (!s->o.webhook || !*s->o.webhook) return;
    dc_buf b;
    dc_buf_init(&b, 16 * 1024 * 1024);
    dc_err err;
    dc_err_clear(&err);
    int rc = dc_monitor_fresh_json(&b, fo, r, &err);
    if (rc == 0) rc = dc_buf_putc(&b, 0, &err);
    if (rc == 0)
        rc = dc_monitor_webhook_post(s->o.webhook, (const char *)b.data, b.len - 1,
                                     s->o.webhook_timeout_ms, s->o.webhook_retries, &err);
    if (rc < 0) DC_LOG(DC_LOG_WARN, "monitor", "freshness alert of %s: %s", fo->table, err.msg);
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
    if (dc_monitor_freshness(&r, &fo, &err) < 0) {
        DC_LOG(DC_LOG_WARN, "monitor", "freshness of %s <- %s: %s", table, topic, err.msg);
        dc_metrics_monitor_run(t, false, true);
        return;
    }
    for (size_t i = 0; i < r.n_parts; i++)
        if (dc_metrics_monitor_part(t, topic, r.parts[i].partition, r.parts[i].ok,
                                    r.parts[i].lag_records, r.parts[i].lag_seconds, &err) < 0)
            DC_LOG(DC_LOG_WARN, "monitor", "%s", err.msg);
    DC_LOG(r.ok ? DC_LOG_DEBUG : DC_LOG_INFO, "monitor", "freshness of %s <- %s: %s", table,
           topic, r.ok ? "ok" : "LATE");
    dc_metrics_monitor_run(t, !r.ok, false);
    if (!r.ok) alert(s, &fo, &r);
    dc_fresh_result_dispose(&r);
}

/* One round over the registry's tables and their Kafka topics. */
static void round_once(dc_monitor_sched *s)
{
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
    DC_LOG(DC_LOG_INFO, "monitor", "freshness every %lld ms (late beyond %lld records and %.0f "
           "s)%s", (long long)o->interval_ms, (long long)o->max_lag_records, o->max_lag_seconds,
           o->webhook && *o->webhook ? ", alerts to the webhook" : "");
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
    dc_free(s);
}
