/*
 * Write-side helpers: UUIDs, clocks, the %-escaping of add/remove paths and
 * Hive-style partition directories.
 */
#include "delta_write_int.h"

#include <errno.h>
#include <stdio.h>
#include <sys/random.h>
#include <time.h>

int dc_delta_w_uuid(uint8_t b[16], char out[37], dc_err *err)
{
    size_t got = 0;
    while (got < 16) {
        ssize_t n = getrandom(b + got, 16 - got, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            return dc_err_set(err, DC_EIO, "getrandom: %s", strerror(errno));
        }
        got += (size_t)n;
    }
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (size_t i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) out[o++] = '-';
        out[o++] = hex[b[i] >> 4];
        out[o++] = hex[b[i] & 15];
    }
    out[o] = '\0';
    return 0;
}

int dc_delta_uuid_v4(char out[37], dc_err *err)
{
    uint8_t b[16];
    return dc_delta_w_uuid(b, out, err);
}

int64_t dc_delta_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool uri_keep(uint8_t c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
    /* RFC 2396 unreserved marks, and the reserved characters legal in a path */
    return strchr("-_.!~*'()/:@&=+$,;", c) != NULL && c != '\0';
}

static int put_pct(dc_buf *out, uint8_t c, dc_err *err)
{
    static const char hex[] = "0123456789ABCDEF";
    const char e[3] = {'%', hex[c >> 4], hex[c & 15]};
    return dc_buf_append(out, e, 3, err);
}

int dc_delta_path_encode(dc_buf *out, const char *path, size_t n, dc_err *err)
{
    for (size_t i = 0; i < n; i++) {
        const uint8_t c = (uint8_t)path[i];
        if (uri_keep(c)) DC_TRY(dc_buf_putc(out, c, err));
        else DC_TRY(put_pct(out, c, err));
    }
    return 0;
}

/* Spark's ExternalCatalogUtils.escapePathName set. */
static bool hive_escape(uint8_t c)
{
    return c < 0x20 || c == 0x7f || (c != '\0' && strchr("\"#%'*/:=?\\{[]^", c) != NULL);
}

static int hive_put(dc_buf *out, const char *s, dc_err *err)
{
    for (const char *p = s; *p; p++) {
        const uint8_t c = (uint8_t)*p;
        if (hive_escape(c)) DC_TRY(put_pct(out, c, err));
        else DC_TRY(dc_buf_putc(out, c, err));
    }
    return 0;
}

int dc_delta_partition_dir(dc_buf *out, const char *col, const char *value, dc_err *err)
{
    DC_TRY(hive_put(out, col, err));
    DC_TRY(dc_buf_putc(out, '=', err));
    if (!value || !*value) return dc_buf_puts(out, "__HIVE_DEFAULT_PARTITION__", err);
    return hive_put(out, value, err);
}
