/* metrics: the registry — freshness and lag, the history ring, failures,
 * and a reader copying while a writer updates (run under ASan; TSan where
 * available). */
#include "../test.h"

#include <pthread.h>

#include "../../src/metrics/metrics.h"

TEST(metrics_freshness_and_lag)
{
    dc_err err;
    dc_err_clear(&err);
    dc_metrics_tstate t;
    CHECK_OK(dc_metrics_tstate_init(&t, "/t", &err), &err);
    CHECK(dc_metrics_freshness(&t, 1000) == 0);   /* nothing in hand */
    CHECK_EQ_INT(dc_metrics_lag(&t), -1);         /* no watermark known */
    t.pending_t = 990;
    t.pending_ts_ms = 970000;                     /* the event's own time wins */
    CHECK(dc_metrics_freshness(&t, 1000) == 30);
    t.pending_ts_ms = 0;                          /* no ts_ms: since it was read */
    CHECK(dc_metrics_freshness(&t, 1000) == 10);
    dc_metrics_tstate_dispose(&t);

    dc_metrics *m = NULL;
    dc_metrics_table *x = NULL;
    CHECK_OK(dc_metrics_new(&m, &err), &err);
    CHECK_OK(dc_metrics_table_get(&x, m, "/t", &err), &err);
    CHECK_OK(dc_metrics_part_update(x, "a", 0, 10, 9, 15, &err), &err);  /* 5 behind */
    CHECK_OK(dc_metrics_part_update(x, "a", 1, 10, 9, 9, &err), &err);   /* HW behind: 0 */
    CHECK_OK(dc_metrics_part_update(x, "a", 0, 3, 12, -1, &err), &err);  /* HW kept: 2 */
    dc_metrics_snap s;
    CHECK_OK(dc_metrics_snapshot(&s, m, &err), &err);
    CHECK_EQ_INT(s.n_tables, 1);
    CHECK_EQ_INT(dc_metrics_lag(&s.tables[0]), 2);
    const dc_metrics_part *p = dc_metrics_part_find(&s.tables[0], "a", 0);
    CHECK(p && p->records_in == 13 && p->committed == 12 && p->high_watermark == 15);
    dc_metrics_snap_dispose(&s);
    dc_metrics_free(m);
}

TEST(metrics_history_ring)
{
    dc_err err;
    dc_err_clear(&err);
    dc_metrics_tstate t;
    CHECK_OK(dc_metrics_tstate_init(&t, "/t", &err), &err);
    for (int i = 0; i < DC_METRICS_HISTORY + 5; i++) {
        t.records_in = (uint64_t)i * 100;
        dc_metrics_tstate_sample(&t, 1000.0 + 10 * i);
    }
    CHECK_EQ_INT(t.ring_n, DC_METRICS_HISTORY);
    const dc_metrics_sample *oldest = &t.ring[t.ring_head];
    CHECK(oldest->t == 1050.0 && oldest->records_in == 500);
    dc_metrics_tstate_dispose(&t);

    dc_metrics *m = NULL;
    dc_metrics_table *x = NULL;
    CHECK_OK(dc_metrics_new(&m, &err), &err);
    CHECK_OK(dc_metrics_table_get(&x, m, "/t", &err), &err);
    const double now = dc_metrics_now();
    dc_metrics_tick(m, now);            /* due at once */
    dc_metrics_tick(m, now + 0.5);      /* not yet */
    CHECK(!dc_metrics_due(m, now + 0.5) || (int64_t)(now / 10) != (int64_t)((now + 0.5) / 10));
    dc_metrics_tick(m, now + 10.5);     /* the next 10 s slot */
    dc_metrics_snap s;
    CHECK_OK(dc_metrics_snapshot(&s, m, &err), &err);
    CHECK(s.tables[0].ring_n == 2 || s.tables[0].ring_n == 3);
    dc_metrics_snap_dispose(&s);
    dc_metrics_free(m);
}

TEST(metrics_fail_without_tables)
{
    dc_err err;
    dc_err_clear(&err);
    dc_metrics *m = NULL;
    CHECK_OK(dc_metrics_new(&m, &err), &err);
    dc_metrics_fail(m, NULL, "no source");
    dc_metrics_snap s;
    CHECK_OK(dc_metrics_snapshot(&s, m, &err), &err);
    CHECK(s.failed);
    CHECK_EQ_STR(s.error, "no source");
    dc_metrics_snap_dispose(&s);
    dc_metrics_free(m);
    dc_metrics_free(NULL);
}

typedef struct writer_arg {
    dc_metrics_table *t;
    int batches;
} writer_arg;

static void *writer(void *p)
{
    writer_arg *w = p;
    dc_err err;
    dc_err_clear(&err);
    char topic[32];
    for (int i = 0; i < w->batches; i++) {
        dc_metrics_pending(w->t, 1);
        dc_metrics_batch b = {.records_in = 10, .inserted = 10, .committed = true, .version = i};
        dc_metrics_batch_done(w->t, &b);
        snprintf(topic, sizeof topic, "t%d", i % 50); /* the partition array grows meanwhile */
        if (dc_metrics_part_update(w->t, topic, 0, 10, i, i + 1, &err) < 0) break;
    }
    return NULL;
}

TEST(metrics_reader_and_writer_threads)
{
    dc_err err;
    dc_err_clear(&err);
    dc_metrics *m = NULL;
    dc_metrics_table *x = NULL;
    CHECK_OK(dc_metrics_new(&m, &err), &err);
    CHECK_OK(dc_metrics_table_get(&x, m, "/t", &err), &err);
    writer_arg w = {x, 20000};
    pthread_t th;
    CHECK(pthread_create(&th, NULL, writer, &w) == 0);
    uint64_t last = 0;
    for (int i = 0; i < 2000; i++) {
        dc_metrics_snap s;
        CHECK_OK(dc_metrics_snapshot(&s, m, &err), &err);
        const dc_metrics_tstate *t = &s.tables[0];
        CHECK(t->records_in >= last);               /* counters never go back */
        CHECK(t->inserted == t->records_in);        /* a batch is seen whole */
        last = t->records_in;
        dc_metrics_snap_dispose(&s);
    }
    pthread_join(th, NULL);
    dc_metrics_snap s;
    CHECK_OK(dc_metrics_snapshot(&s, m, &err), &err);
    CHECK_EQ_INT(s.tables[0].records_in, 200000);
    CHECK_EQ_INT(s.tables[0].n_parts, 50);
    dc_metrics_snap_dispose(&s);
    dc_metrics_free(m);
}
