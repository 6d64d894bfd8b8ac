/*
 * source internals: what only src/source/ (and its unit tests) may see.
 * source.c parses the URI and dispatches to one backend's open function.
 */
#ifndef DC_SOURCE_INT_H
#define DC_SOURCE_INT_H

#include "source.h"

/* Opens the file source on `path` ("-" is stdin). Lines longer than
 * max_line bytes (without the newline) are an error; DC_JSONL_MAX_LINE in
 * production, smaller in tests. */
int dc_source_file_open(dc_source **out, const char *path, size_t max_line,
                        dc_source_resume_fn resume, dc_source_identity_fn identity,
                        void *resume_ctx, dc_err *err);

/* What the URI and the options resolve to for Kafka; strings borrowed from
 * source.c's parse, alive for the duration of dc_source_kafka_open. */
typedef struct dc_kafka_cfg {
    const char *bootstrap;           /* comma-separated HOST:PORT list */
    const char *group;               /* consumer group, NULL if none given */
    const char *const *subs;         /* subscription: topics or "^regex", NULL-terminated */
    bool start_earliest;             /* new partitions start at the beginning (else the end) */
    bool fail_on_data_loss;          /* out-of-range resume offsets are an error */
    uint32_t n_props;                /* pass-through librdkafka properties */
    const char *const *prop_keys;
    const char *const *prop_values;
    dc_source_resume_fn resume;      /* where each assigned partition resumes */
    dc_source_revoke_fn revoke;      /* a partition taken away (NULL: not told) */
    void *resume_ctx;                /* for both */
} dc_kafka_cfg;

int dc_source_kafka_open(dc_source **out, const dc_kafka_cfg *cfg, dc_err *err);

#endif /* DC_SOURCE_INT_H */
