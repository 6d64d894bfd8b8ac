/* Fuzzes the JSON parser: any input must parse or fail cleanly; a parsed
 * document written back must re-parse, and writing it again must give the
 * same bytes (the writer is a fixed point after one round). The accessors
 * run on every member, and every number read as a double must survive
 * dc_json_put_f64 → strtod with identical bits. */
#include "../src/json/dc_json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define FUZZ_ARENA_MAX ((size_t)64 * 1024 * 1024)
#define FUZZ_OUT_MAX ((size_t)256 * 1024 * 1024)

static void check(bool ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_json: %s\n", what);
        abort();
    }
}

/* Exercises the accessors over the whole tree. */
static void visit(const dc_json *v, int depth)
{
    dc_err err;
    if (v->type == DC_JSON_NUMBER) {
        int64_t i;
        double d;
        if (dc_json_i64(&i, v, "n", &err) == 0) {
            dc_buf b;
            dc_buf_init(&b, 64);
            check(dc_json_put_i64(&b, i, &err) == 0, "put_i64");
            /* "-0" reads as 0, anything else as its own text. */
            check((b.len == v->len && memcmp(b.data, v->u.str, b.len) == 0) ||
                  (i == 0 && v->len == 2), "i64 text differs from its source");
            dc_buf_dispose(&b);
        }
        check(dc_json_f64(&d, v, "n", &err) == 0, "f64 of a number failed");
        dc_buf b;
        dc_buf_init(&b, 64);
        check(dc_json_put_f64(&b, d, &err) == 0, "put_f64");
        if (isfinite(d)) {
            char text[64];
            check(b.len < sizeof text, "put_f64 text too long");
            memcpy(text, b.data, b.len);
            text[b.len] = '\0';
            const double back = strtod(text, NULL);
            check(memcmp(&back, &d, sizeof d) == 0, "put_f64 does not round-trip");
        }
        dc_buf_dispose(&b);
    }
    if (v->type == DC_JSON_STRING) check(v->u.str[v->len] == '\0', "string not terminated");
    if (v->type == DC_JSON_OBJECT) {
        for (uint32_t i = 0; i < v->len; i++) {
            const dc_json *m = &v->u.items[i];
            check(m->key != NULL && m->key[m->key_len] == '\0', "member without key");
            /* The last member with a NUL-free key is what dc_json_get finds. */
            if (strlen(m->key) == m->key_len) {
                const dc_json *found = dc_json_get(v, m->key);
                check(found != NULL && found >= m, "dc_json_get missed the last duplicate");
            }
        }
    }
    if (v->type == DC_JSON_ARRAY || v->type == DC_JSON_OBJECT)
        for (uint32_t i = 0; i < v->len; i++) visit(&v->u.items[i], depth + 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dc_err err;
    dc_arena a1, a2;
    dc_buf w1, w2;
    dc_arena_init(&a1, FUZZ_ARENA_MAX);
    dc_arena_init(&a2, FUZZ_ARENA_MAX);
    dc_buf_init(&w1, FUZZ_OUT_MAX);
    dc_buf_init(&w2, FUZZ_OUT_MAX);
    dc_json *v = NULL, *again = NULL;
    const int rc = dc_json_parse(&v, &a1, (const char *)data, size, &err);
    if (rc == 0) {
        visit(v, 0);
        check(dc_json_write(&w1, v, &err) == 0, "write failed");
        check(dc_json_parse(&again, &a2, (const char *)w1.data, w1.len, &err) == 0,
              "written JSON does not parse");
        check(dc_json_write(&w2, again, &err) == 0, "second write failed");
        check(w1.len == w2.len && memcmp(w1.data, w2.data, w1.len) == 0,
              "second write differs from the first");
        check(w1.len <= 6 * size + 2, "written JSON implausibly large");
    } else {
        check(v == NULL, "failed parse set *out");
        check(rc == DC_EINVAL || rc == DC_ELIMIT, "unexpected error code");
        check(strncmp(err.msg, "json: ", 6) == 0, "error without the json prefix");
        check(rc != DC_EINVAL || strstr(err.msg, " at line ") != NULL, "error without position");
    }
    dc_buf_dispose(&w1);
    dc_buf_dispose(&w2);
    dc_arena_dispose(&a1);
    dc_arena_dispose(&a2);
    return 0;
}
