/* config: tables[].columns, the column types of a stream without Debezium
 * schema blocks (JsonConverter schemas.enable=false), given by the user.
 * Each type names the Debezium field schema it stands for (README: Typed
 * tables), so such records decode exactly as if they had carried the block:
 * the typed table is created from the schema block built here. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

/* A type name and the Debezium field schema it stands for. */
typedef struct col_type {
    const char *name;       /* as written in tables[].columns */
    const char *type;       /* Kafka Connect type */
    const char *logical;    /* schema name, NULL: none */
} col_type;

static const col_type TYPES[] = {
    {"boolean", "boolean", NULL},
    {"int8", "int8", NULL},
    {"int16", "int16", NULL},
    {"int32", "int32", NULL},
    {"int64", "int64", NULL},
    {"float32", "float32", NULL},
    {"float64", "float64", NULL},
    {"string", "string", NULL},
    {"bytes", "bytes", NULL},
    {"date", "int32", "io.debezium.time.Date"},
    {"year", "int32", "io.debezium.time.Year"},
    {"time", "int32", "io.debezium.time.Time"},
    {"micro_time", "int64", "io.debezium.time.MicroTime"},
    {"timestamp", "int64", "io.debezium.time.Timestamp"},
    {"micro_timestamp", "int64", "io.debezium.time.MicroTimestamp"},
    {"zoned_timestamp", "string", "io.debezium.time.ZonedTimestamp"},
    {"json", "string", "io.debezium.data.Json"},
};

/* decimal(P,S): 1 <= P <= 1000, 0 <= S <= P. */
static bool parse_decimal(const char *s, long *p, long *sc)
{
    char tail = 0;
    int used = 0;
    if (sscanf(s, "decimal(%ld,%ld)%n%c", p, sc, &used, &tail) != 2 || (size_t)used != strlen(s))
        return false;
    return *p >= 1 && *p <= 1000 && *sc >= 0 && *sc <= *p;
}

/* enum(a,b) / set(a,b): the allowed values between the parentheses. */
static const char *list_arg(const char *s, const char *fn, size_t *n)
{
    const size_t fl = strlen(fn), sl = strlen(s);
    if (strncmp(s, fn, fl) != 0 || s[fl] != '(' || sl < fl + 3 || s[sl - 1] != ')') return NULL;
    *n = sl - fl - 2;
    for (size_t i = 0; i < *n; i++)
        if (s[fl + 1 + i] == '"' || s[fl + 1 + i] == '\\' || (unsigned char)s[fl + 1 + i] < 0x20)
            return NULL;
    return s + fl + 1;
}

int dc_config_column_check(const char *type, dc_err *err)
{
    for (size_t i = 0; i < sizeof TYPES / sizeof TYPES[0]; i++)
        if (strcmp(type, TYPES[i].name) == 0) return 0;
    long p, sc;
    size_t n;
    if (parse_decimal(type, &p, &sc) || list_arg(type, "enum", &n) || list_arg(type, "set", &n))
        return 0;
    return dc_err_set(err, DC_EINVAL, "'%s' is not a column type (boolean, int8, int16, int32, "
                      "int64, float32, float64, string, bytes, decimal(P,S), date, year, time, "
                      "micro_time, timestamp, micro_timestamp, zoned_timestamp, json, "
                      "enum(A,B,...), set(A,B,...))", type);
}

/* One field schema of the after/before struct. */
static int put_field(dc_buf *out, const char *name, const char *type, bool optional, dc_err *err)
{
    DC_TRY(dc_config_column_check(type, err));
    long p = 0, sc = 0;
    size_t n = 0;
    const char *list = NULL;
    DC_TRY(dc_buf_puts(out, "{\"field\":", err));
    DC_TRY(dc_buf_putc(out, '"', err));
    for (const char *c = name; *c; c++) { /* names are YAML keys: escape what JSON needs */
        if (*c == '"' || *c == '\\') DC_TRY(dc_buf_appendf(out, err, "\\%c", *c));
        else if ((unsigned char)*c < 0x20) DC_TRY(dc_buf_appendf(out, err, "\\u%04x", *c));
        else DC_TRY(dc_buf_putc(out, (uint8_t)*c, err));
    }
    DC_TRY(dc_buf_appendf(out, err, "\",\"optional\":%s", optional ? "true" : "false"));
    if (parse_decimal(type, &p, &sc))
        return dc_buf_appendf(out, err, ",\"type\":\"bytes\",\"name\":\"org.apache.kafka."
                              "connect.data.Decimal\",\"version\":1,\"parameters\":{\"scale\":"
                              "\"%ld\",\"connect.decimal.precision\":\"%ld\"}}", sc, p);
    if ((list = list_arg(type, "enum", &n)) || (list = list_arg(type, "set", &n)))
        return dc_buf_appendf(out, err, ",\"type\":\"string\",\"name\":\"io.debezium.data.%s\","
                              "\"version\":1,\"parameters\":{\"allowed\":\"%.*s\"}}",
                              type[0] == 'e' ? "Enum" : "EnumSet", (int)n, list);
    for (size_t i = 0; i < sizeof TYPES / sizeof TYPES[0]; i++) {
        if (strcmp(type, TYPES[i].name) != 0) continue;
        DC_TRY(dc_buf_appendf(out, err, ",\"type\":\"%s\"", TYPES[i].type));
        if (TYPES[i].logical)
            DC_TRY(dc_buf_appendf(out, err, ",\"name\":\"%s\",\"version\":1", TYPES[i].logical));
        return dc_buf_putc(out, '}', err);
    }
    DC_ASSERT(!"checked above");
    return 0;
}

static bool is_key(const dc_cfg_list *key, const char *name)
{
    for (uint32_t i = 0; key && i < key->n; i++)
        if (strcmp(key->items[i], name) == 0) return true;
    return false;
}

/* The after/before struct, twice, in a Debezium envelope. */
int dc_config_columns_schema(dc_buf *out, const dc_cfg_map *cols, const dc_cfg_list *key,
                             dc_err *err)
{
    dc_buf_reset(out);
    if (!cols->n) return dc_err_set(err, DC_EINVAL, "tables[].columns is empty");
    DC_TRY(dc_buf_puts(out, "{\"type\":\"struct\",\"optional\":false,\"name\":"
                            "\"deltacdc.columns.Envelope\",\"fields\":[", err));
    static const char *const images[2] = {"before", "after"};
    for (int im = 0; im < 2; im++) {
        DC_TRY(dc_buf_appendf(out, err, "%s{\"type\":\"struct\",\"optional\":true,\"name\":"
                              "\"deltacdc.columns.Value\",\"field\":\"%s\",\"fields\":[",
                              im ? "," : "", images[im]));
        for (uint32_t i = 0; i < cols->n; i++) {
            if (i) DC_TRY(dc_buf_putc(out, ',', err));
            int rc = put_field(out, cols->keys[i], cols->values[i], !is_key(key, cols->keys[i]),
                               err);
            if (rc < 0) {
                dc_err_prefix(err, "tables[].columns.%s", cols->keys[i]);
                return rc;
            }
        }
        DC_TRY(dc_buf_puts(out, "]}", err));
    }
    DC_TRY(dc_buf_puts(out, ",{\"type\":\"string\",\"optional\":false,\"field\":\"op\"},"
                            "{\"type\":\"int64\",\"optional\":true,\"field\":\"ts_ms\"}]}", err));
    return dc_buf_putc(out, '\0', err);
}
