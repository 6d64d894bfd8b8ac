/* metrics: the registry (metrics.h). A table's values live in a
 * dc_metrics_tstate guarded by the table's mutex; the list of tables by the
 * registry's. Writers hold a lock for a few field updates; readers copy. */
#include "metrics_int.h"

#include <stdio.h>
#include <time.h>

const double dc_metrics_buckets[DC_METRICS_N_BUCKETS] = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120,
};
const char *const dc_metrics_maint_names[DC_METRICS_N_MAINT] = {
    "checkpoint", "optimize", "vacuum", "log_cleanup",
};
const char *const dc_metrics_state_names[3] = {"starting", "running", "failed"};

double dc_metrics_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void dc_metrics_hist_observe(dc_metrics_hist *h, double v)
{
    if (!(v > 0)) v = 0; /* also NaN */
    size_t i = 0;
    while (i < DC_METRICS_N_BUCKETS && v > dc_metrics_buckets[i]) i++;
    h->counts[i]++;
    h->count++;
    h->sum += v;
}

/* ------------------------------------------------------------ a table */

int dc_metrics_tstate_init(dc_metrics_tstate *t, const char *path, dc_err *err)
{
    memset(t, 0, sizeof *t);
    t->version = -1;
    t->complete_state = -1;
    t->path = dc_strdup(path);
    t->ring = dc_calloc(DC_METRICS_HISTORY, sizeof *t->ring);
    if (!t->path || !t->ring) {
        dc_metrics_tstate_dispose(t);
        return dc_err_set(err, DC_ENOMEM, "metrics: out of memory");
    }
    return 0;
}

void dc_metrics_tstate_dispose(dc_metrics_tstate *t)
{
    for (size_t i = 0; i < t->n_parts; i++) dc_free(t->parts[i].topic);
    dc_free(t->parts);
    dc_free(t->ring);
    dc_free(t->path);
    memset(t, 0, sizeof *t);
}

/* A deep copy (for a snapshot). */
static int tstate_copy(dc_metrics_tstate *dst, const dc_metrics_tstate *src, dc_err *err)
{
    *dst = *src;
    dst->path = NULL;
    dst->ring = NULL;
    dst->parts = NULL;
    dst->n_parts = dst->cap_parts = 0;
    dst->path = dc_strdup(src->path);
    dst->ring = dc_malloc(DC_METRICS_HISTORY * sizeof *dst->ring);
    dst->parts = dc_calloc(src->n_parts ? src->n_parts : 1, sizeof *dst->parts);
    if (!dst->path || !dst->ring || !dst->parts) goto oom;
    memcpy(dst->ring, src->ring, DC_METRICS_HISTORY * sizeof *dst->ring);
    for (size_t i = 0; i < src->n_parts; i++) {
        dst->parts[i] = src->parts[i];
        if (!(dst->parts[i].topic = dc_strdup(src->parts[i].topic))) goto oom;
        dst->n_parts++;
    }
    dst->cap_parts = dst->n_parts;
    return 0;
oom:
    dc_metrics_tstate_dispose(dst);
    return dc_err_set(err, DC_ENOMEM, "metrics: out of memory");
}

double dc_metrics_freshness(const dc_metrics_tstate *t, double now)
{
    if (t->pending_t <= 0) return 0;
    const double since = t->pending_ts_ms > 0 ? (double)t->pending_ts_ms / 1000.0 : t->pending_t;
    return now > since ? now - since : 0;
}

int64_t dc_metrics_lag(const dc_metrics_tstate *t)
{
    int64_t lag = -1;
    for (size_t i = 0; i < t->n_parts; i++) {
        const dc_metrics_part *p = &t->parts[i];
        if (p->high_watermark < 0) continue;
        const int64_t l = p->high_watermark - (p->committed + 1);
        lag = (lag < 0 ? 0 : lag) + (l > 0 ? l : 0);
    }
    return lag;
}

const dc_metrics_part *dc_metrics_part_find(const dc_metrics_tstate *t, const char *topic,
                                            int32_t partition)
{
    for (size_t i = 0; i < t->n_parts; i++)
        if (t->parts[i].partition == partition && strcmp(t->parts[i].topic, topic) == 0)
            return &t->parts[i];
    return NULL;
}

void dc_metrics_tstate_sample(dc_metrics_tstate *t, double now)
{
    const size_t i = (t->ring_head + t->ring_n) % DC_METRICS_HISTORY;
    t->ring[i] = (dc_metrics_sample){now, dc_metrics_freshness(t, now), dc_metrics_lag(t),
                                     t->records_in};
    if (t->ring_n < DC_METRICS_HISTORY) t->ring_n++;
    else t->ring_head = (t->ring_head + 1) % DC_METRICS_HISTORY;
}

/* ------------------------------------------------------------ registry */

int dc_metrics_new(dc_metrics **out, dc_err *err)
{
    dc_metrics *m = dc_calloc(1, sizeof *m);
    if (!m) return dc_err_set(err, DC_ENOMEM, "metrics: out of memory");
    pthread_mutex_init(&m->mu, NULL);
    m->started = dc_metrics_now();
    m->next_sample = m->started;
    *out = m;
    return 0;
}

void dc_metrics_free(dc_metrics *m)
{
    if (!m) return;
    for (size_t i = 0; i < m->n_tables; i++) {
        dc_metrics_tstate_dispose(&m->tables[i]->v);
        pthread_mutex_destroy(&m->tables[i]->mu);
        dc_free(m->tables[i]);
    }
    dc_free(m->tables);
    pthread_mutex_destroy(&m->mu);
    dc_free(m);
}

static int table_add(dc_metrics_table **out, dc_metrics *m, const char *path, dc_err *err)
{
    if (m->n_tables >= DC_METRICS_MAX_TABLES)
        return dc_err_set(err, DC_ELIMIT, "metrics: more than %d tables", DC_METRICS_MAX_TABLES);
    if (m->n_tables == m->cap_tables) {
        size_t cap = m->cap_tables ? m->cap_tables * 2 : 8;
        dc_metrics_table **p = dc_realloc(m->tables, cap * sizeof *p);
        if (!p) return dc_err_set(err, DC_ENOMEM, "metrics: out of memory");
        m->tables = p;
        m->cap_tables = cap;
    }
    dc_metrics_table *t = dc_calloc(1, sizeof *t);
    if (!t) return dc_err_set(err, DC_ENOMEM, "metrics: out of memory");
    if (dc_metrics_tstate_init(&t->v, path, err) < 0) {
        dc_free(t);
        return err->code;
    }
    pthread_mutex_init(&t->mu, NULL);
    m->tables[m->n_tables++] = t;
    *out = t;
    return 0;
}

int dc_metrics_table_get(dc_metrics_table **out, dc_metrics *m, const char *path, dc_err *err)
{
    int rc = 0;
    pthread_mutex_lock(&m->mu);
    for (size_t i = 0; i < m->n_tables; i++) {
        if (strcmp(m->tables[i]->v.path, path) == 0) {
            *out = m->tables[i];
            goto out;
        }
    }
    rc = table_add(out, m, path, err);
out:
    pthread_mutex_unlock(&m->mu);
    return rc;
}

int dc_metrics_snapshot(dc_metrics_snap *out, dc_metrics *m, dc_err *err)
{
    memset(out, 0, sizeof *out);
    out->now = dc_metrics_now();
    out->started = m->started;
    int rc = 0;
    pthread_mutex_lock(&m->mu);
    out->failed = m->failed;
    memcpy(out->error, m->error, sizeof out->error);
    out->tables = dc_calloc(m->n_tables ? m->n_tables : 1, sizeof *out->tables);
    if (!out->tables) rc = dc_err_set(err, DC_ENOMEM, "metrics: out of memory");
    for (size_t i = 0; rc == 0 && i < m->n_tables; i++) {
        pthread_mutex_lock(&m->tables[i]->mu);
        rc = tstate_copy(&out->tables[i], &m->tables[i]->v, err);
        pthread_mutex_unlock(&m->tables[i]->mu);
        if (rc == 0) out->n_tables++;
    }
    pthread_mutex_unlock(&m->mu);
    if (rc < 0) dc_metrics_snap_dispose(out);
    return rc;
}

void dc_metrics_snap_dispose(dc_metrics_snap *s)
{
    for (size_t i = 0; i < s->n_tables; i++) dc_metrics_tstate_dispose(&s->tables[i]);
    dc_free(s->tables);
    memset(s, 0, sizeof *s);
}

bool dc_metrics_due(const dc_metrics *m, double now)
{
    return now >= m->next_sample;
}

void dc_metrics_tick(dc_metrics *m, double now)
{
    if (!dc_metrics_due(m, now)) return; /* the common case: no lock */
    pthread_mutex_lock(&m->mu);
    {
        /* on the 10 s grid, skipping samples missed while a batch held the loop */
        m->next_sample = (double)((int64_t)(now / DC_METRICS_SAMPLE_S) + 1) * DC_METRICS_SAMPLE_S;
        for (size_t i = 0; i < m->n_tables; i++) {
            pthread_mutex_lock(&m->tables[i]->mu);
            dc_metrics_tstate_sample(&m->tables[i]->v, now);
            pthread_mutex_unlock(&m->tables[i]->mu);
        }
    }
    pthread_mutex_unlock(&m->mu);
}

void dc_metrics_fail(dc_metrics *m, dc_metrics_table *t, const char *msg)
{
    pthread_mutex_lock(&m->mu);
    if (!t) {
        m->failed = true;
        snprintf(m->error, sizeof m->error, "%s", msg);
    }
    for (size_t i = 0; i < m->n_tables; i++) {
        dc_metrics_table *x = m->tables[i];
        if (t && x != t) continue;
        pthread_mutex_lock(&x->mu);
        x->v.state = DC_METRICS_FAILED;
        snprintf(x->v.error, sizeof x->v.error, "%s", msg);
        pthread_mutex_unlock(&x->mu);
    }
    pthread_mutex_unlock(&m->mu);
}
