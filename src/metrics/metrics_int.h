/* metrics: what only src/metrics/ sees. */
#ifndef DC_METRICS_INT_H
#define DC_METRICS_INT_H

#include "metrics.h"

#include <pthread.h>

#include "../common/dc_limits.h"

struct dc_metrics_table {
    pthread_mutex_t mu;     /* guards v */
    dc_metrics_tstate v;
};

struct dc_metrics {
    pthread_mutex_t mu;         /* guards the array (not the tables' values) */
    dc_metrics_table **tables;  /* owned array of owned tables */
    size_t n_tables, cap_tables;
    double started;             /* unix seconds */
    bool failed;                /* the daemon stopped on an error no table was named in */
    char error[DC_ERR_MSG_MAX]; /* that error */
    double next_sample;         /* unix seconds the next history sample is due; only the
                                   thread calling dc_metrics_tick touches it */
};

#endif /* DC_METRICS_INT_H */
