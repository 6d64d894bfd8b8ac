/* Fuzz target: a typed table's scan row (JSON) → the completeness monitor's
 * canonical row and key texts (dc_monitor_canon_row, dc_monitor_canon_key).
 * The first byte picks the key columns (up to three, in that order); the
 * rest is the row, over one column of each Debezium encoding named c0..c14.
 * Paired check: a text produced is "<bytes>:<text>" or "N" per column, its
 * lengths exactly covering it (what the key listing parses back), and the
 * key's text is the key columns' parts of the row's text. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/monitor/monitor.h"

static const struct { const char *dt; dc_mysql_enc enc; } K[] = {
    {"int", DC_MYSQL_ENC_INT},           {"decimal", DC_MYSQL_ENC_DECIMAL},
    {"float", DC_MYSQL_ENC_FLOAT},       {"year", DC_MYSQL_ENC_YEAR},
    {"varchar", DC_MYSQL_ENC_STRING},    {"blob", DC_MYSQL_ENC_BYTES},
    {"bit", DC_MYSQL_ENC_BIT1},          {"bit", DC_MYSQL_ENC_BITS},
    {"date", DC_MYSQL_ENC_DATE},         {"datetime", DC_MYSQL_ENC_DATETIME_MS},
    {"datetime", DC_MYSQL_ENC_DATETIME_US}, {"timestamp", DC_MYSQL_ENC_TIMESTAMP},
    {"time", DC_MYSQL_ENC_TIME},         {"geometry", DC_MYSQL_ENC_GEOMETRY},
    {"point", DC_MYSQL_ENC_POINT},
};
#define NK (sizeof K / sizeof *K)

/* The parts of a canonical text: their starts and ends; -1 if malformed. */
static int parts(const dc_buf *b, size_t start[NK], size_t end[NK])
{
    size_t p = 0;
    int n = 0;
    while (p < b->len) {
        if (n == (int)NK) return -1;
        start[n] = p;
        if (b->data[p] == 'N') {
            end[n++] = ++p;
            continue;
        }
        size_t len = 0, q = p;
        while (q < b->len && b->data[q] >= '0' && b->data[q] <= '9') len = len * 10 + (b->data[q++] - '0');
        if (q == p || q >= b->len || b->data[q] != ':' || len > b->len - q - 1) return -1;
        p = q + 1 + len;
        end[n++] = p;
    }
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    dc_mysql_column cols[NK];
    char names[NK][8];
    memset(cols, 0, sizeof cols);
    for (size_t i = 0; i < NK; i++) {
        snprintf(names[i], sizeof names[i], "c%zu", i);
        cols[i].name = names[i];
        cols[i].data_type = (char *)K[i].dt;
        cols[i].column_type = (char *)K[i].dt;
        cols[i].enc = K[i].enc;
    }
    dc_mysql_table t;
    memset(&t, 0, sizeof t);
    t.cols = cols;
    t.n_cols = NK;
    t.n_pk = 1 + data[0] % 3;
    for (uint32_t i = 0; i < t.n_pk; i++) t.pk[i] = (uint32_t)((data[0] / 3 + 5 * i) % NK);
    char *js = malloc(size); /* its own copy, so ASan sees reads past it */
    if (!js) return 0;
    memcpy(js, data + 1, size - 1);
    dc_arena a;
    dc_buf row, key, val;
    dc_arena_init(&a, 1 << 24);
    dc_buf_init(&row, 1 << 24);
    dc_buf_init(&key, 1 << 24);
    dc_buf_init(&val, 1 << 24);
    dc_err err;
    dc_err_clear(&err);
    dc_json *obj = NULL;
    if (dc_json_parse(&obj, &a, js, size - 1, &err) == 0 && obj->type == DC_JSON_OBJECT &&
        dc_monitor_canon_row(&row, &val, &t, obj, &err) == 0) {
        size_t rs[NK], re[NK], ks[NK], ke[NK];
        if (parts(&row, rs, re) != (int)NK) abort();
        if (dc_monitor_canon_key(&key, &val, &t, obj, &err) != 0) abort(); /* the row's values */
        if (parts(&key, ks, ke) != (int)t.n_pk) abort();
        for (uint32_t i = 0; i < t.n_pk; i++) {
            const size_t c = t.pk[i];
            if (ke[i] - ks[i] != re[c] - rs[c] ||
                memcmp(key.data + ks[i], row.data + rs[c], ke[i] - ks[i]) != 0)
                abort();
        }
        (void)dc_monitor_canon_hash(key.data, key.len);
    }
    dc_arena_dispose(&a);
    dc_buf_dispose(&row);
    dc_buf_dispose(&key);
    dc_buf_dispose(&val);
    free(js);
    return 0;
}
