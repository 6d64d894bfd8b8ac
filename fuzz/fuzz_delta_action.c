/* Fuzzes the Delta action parser: each input line must parse or fail cleanly
 * (an error naming the file and line). A parsed action written back with
 * dc_delta_action_write_json must re-parse to an action that writes the same
 * bytes (the writer is a fixed point after one round). File actions are also
 * replayed through the reconciliation table, and partition values of every
 * primitive type are parsed from the strings the line carries. */
#include "../src/delta/delta_int.h"

#include <stdio.h>
#include <stdlib.h>

#define FUZZ_ARENA_MAX ((size_t)64 * 1024 * 1024)

static void check(bool ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_delta_action: %s\n", what);
        abort();
    }
}

static const dc_type pv_types[] = {
    DC_TYPE_STRING, DC_TYPE_BOOLEAN, DC_TYPE_BYTE,      DC_TYPE_SHORT,     DC_TYPE_INT,
    DC_TYPE_LONG,   DC_TYPE_FLOAT,   DC_TYPE_DOUBLE,    DC_TYPE_DECIMAL,   DC_TYPE_DATE,
    DC_TYPE_TIMESTAMP, DC_TYPE_TIMESTAMP_NTZ, DC_TYPE_BINARY,
};

/* Every value of the map parsed as every partition type: ok or a clean error. */
static void partition_values(const dc_delta_map *m)
{
    dc_err err;
    for (uint32_t i = 0; i < m->n; i++) {
        for (size_t t = 0; t < sizeof pv_types / sizeof *pv_types; t++) {
            dc_delta_field f = {0};
            f.name = "c";
            f.type = pv_types[t];
            f.precision = 20;
            f.scale = (int32_t)(i % 7);
            dc_buf b;
            dc_buf_init(&b, 1 << 16);
            int rc = dc_delta_partition_value_json(&b, &f, m->items[i].value, &err);
            check(rc == 0 || rc == DC_ECORRUPT || rc == DC_ELIMIT || rc == DC_ENOMEM,
                  "partition value: unexpected error code");
            dc_buf_dispose(&b);
        }
    }
}

static void round_trip(const dc_delta_action *a)
{
    dc_err err;
    dc_buf one, two;
    dc_arena ar;
    dc_buf_init(&one, (size_t)256 << 20);
    dc_buf_init(&two, (size_t)256 << 20);
    dc_arena_init(&ar, FUZZ_ARENA_MAX);
    check(dc_delta_action_write_json(&one, a, &err) == 0, "write_json of a parsed action failed");
    dc_delta_action b;
    int rc = dc_delta_action_parse(&b, &ar, (const char *)one.data, one.len, "w", 1, &err);
    if (rc != 0) fprintf(stderr, "%.*s\n%s\n", (int)one.len, (const char *)one.data, err.msg);
    check(rc == 0, "written action does not re-parse");
    check(b.type == a->type, "action type changed in a round trip");
    check(dc_delta_action_write_json(&two, &b, &err) == 0, "second write failed");
    check(one.len == two.len && memcmp(one.data, two.data, one.len) == 0,
          "write_json is not a fixed point");
    dc_arena_dispose(&ar);
    dc_buf_dispose(&one);
    dc_buf_dispose(&two);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dc_arena ar;
    dc_arena_init(&ar, FUZZ_ARENA_MAX);
    file_table ft;
    dc_delta_ft_init(&ft);
    const char *text = (const char *)data;
    size_t pos = 0;
    uint64_t line = 0;
    while (pos < size) {
        const char *nl = memchr(text + pos, '\n', size - pos);
        const size_t len = nl ? (size_t)(nl - (text + pos)) : size - pos;
        dc_err err;
        dc_err_clear(&err);
        dc_delta_action a;
        line++;
        int rc = dc_delta_action_parse(&a, &ar, text + pos, len, "f.json", line, &err);
        if (rc < 0) {
            check(a.type == DC_DELTA_ACTION_NONE, "failed parse left an action");
            check(strstr(err.msg, "f.json") != NULL, "error does not name the file");
        } else if (a.type != DC_DELTA_ACTION_NONE) {
            round_trip(&a);
            if (a.type == DC_DELTA_ACTION_ADD || a.type == DC_DELTA_ACTION_REMOVE) {
                check(dc_delta_ft_apply(&ft, &a, line, &err) == 0, "reconciliation failed");
                partition_values(a.type == DC_DELTA_ACTION_ADD ? &a.u.add.partition_values
                                                               : &a.u.remove.partition_values);
            }
        }
        dc_arena_reset(&ar);
        pos += len + (nl ? 1 : 0);
    }
    size_t n = 0;
    for (size_t i = 0; i < ft.cap; i++) n += ft.slots[i].e != NULL;
    check(n == ft.n && ft.n_adds <= ft.n, "file table counts are off");
    dc_delta_ft_dispose(&ft);
    dc_arena_dispose(&ar);
    return 0;
}
