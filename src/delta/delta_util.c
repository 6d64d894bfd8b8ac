/* delta: log file names, path decoding, hashing. */
#include "delta_int.h"

#include <stdio.h>
#include <stdlib.h>

/* 8 bytes per step with a multiply-xorshift mix (paths are ~100 bytes and
 * hashed once per action; byte-at-a-time FNV showed up in profiles). */
uint64_t dc_delta_hash(const void *p, size_t n)
{
    const uint8_t *b = p;
    const uint64_t m = 0x9E3779B97F4A7C15ULL;
    uint64_t h = 0x243F6A8885A308D3ULL ^ (n * m);
    for (; n >= 8; b += 8, n -= 8) {
        h = (h ^ dc_load_le64(b)) * m;
        h ^= h >> 29;
    }
    uint64_t tail = 0;
    for (size_t i = 0; i < n; i++) tail |= (uint64_t)b[i] << (8 * i);
    h = (h ^ tail) * m;
    h ^= h >> 32;
    h *= m;
    return h ^ (h >> 29);
}

int dc_delta_log_path(char *out, size_t cap, int64_t version, const char *suffix)
{
    int n = snprintf(out, cap, "_delta_log/%020lld%s", (long long)version, suffix);
    return n < 0 || (size_t)n >= cap ? DC_ELIMIT : 0;
}

int dc_delta_commit_name(char out[64], int64_t version)
{
    return dc_delta_log_path(out, 64, version, ".json");
}

static bool all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9') return false;
    return true;
}

static int64_t digits_value(const char *s, size_t n)
{
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) v = v * 10 + (s[i] - '0');
    return v;
}

static bool ends_with(const char *s, size_t n, const char *suffix)
{
    size_t k = strlen(suffix);
    return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

log_name dc_delta_log_classify(const char *name)
{
    log_name r = {LOG_OTHER, -1, 0, 0, false};
    const size_t n = strlen(name);
    /* 20 digits fit int64 only up to 9223372036854775807: refuse the rest. */
    if (n < 21 || !all_digits(name, 20) || name[20] != '.' || memcmp(name, "9223372036854775807", 19) > 0)
        return r;
    const int64_t v = digits_value(name, 20);
    const char *rest = name + 21;
    const size_t rn = n - 21;
    if (strcmp(rest, "json") == 0) {
        r.kind = LOG_COMMIT;
    } else if (strcmp(rest, "checkpoint.parquet") == 0) {
        r.kind = LOG_CHECKPOINT;
    } else if (rn > 11 && memcmp(rest, "checkpoint.", 11) == 0) {
        const char *t = rest + 11;
        size_t tn = rn - 11;
        if (tn == 10 + 1 + 10 + 8 && all_digits(t, 10) && t[10] == '.' && all_digits(t + 11, 10) &&
            strcmp(t + 21, ".parquet") == 0) {
            int64_t part = digits_value(t, 10), parts = digits_value(t + 11, 10);
            if (part < 1 || part > parts || parts > DC_DELTA_MAX_CHECKPOINT_PARTS) return r;
            r.kind = LOG_CHECKPOINT_PART;
            r.part = (uint32_t)part;
            r.parts = (uint32_t)parts;
        } else if (ends_with(t, tn, ".json") || ends_with(t, tn, ".parquet")) {
            bool json = ends_with(t, tn, ".json");
            size_t un = tn - (json ? 5 : 8);
            if (un == 0 || memchr(t, '.', un)) return r;
            r.kind = LOG_CHECKPOINT_UUID;
            r.json = json;
        } else {
            return r;
        }
    } else {
        return r;
    }
    r.version = v;
    return r;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Length of an RFC 3986 scheme at the start of s ("file" in "file:/x"), or 0. */
static size_t scheme_len(const char *s)
{
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z'))) return 0;
    size_t i = 1;
    while ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
           (s[i] >= '0' && s[i] <= '9') || s[i] == '+' || s[i] == '-' || s[i] == '.')
        i++;
    return s[i] == ':' ? i : 0;
}

int dc_delta_path_to_storage(dc_buf *out, const char *uri_path, dc_err *err)
{
    const char *p = uri_path;
    size_t sl = scheme_len(p);
    if (sl) {
        if (sl != 4 || strncasecmp(p, "file", 4) != 0)
            return dc_err_set(err, DC_EUNSUPPORTED,
                              "delta: path '%.300s': only relative paths and file: URIs are "
                              "supported",
                              uri_path);
        p += 5;
        if (strncmp(p, "//", 2) == 0) {
            p += 2;
            if (strncmp(p, "localhost/", 10) == 0) p += 9;
            if (*p != '/')
                return dc_err_set(err, DC_EUNSUPPORTED, "delta: path '%.300s': remote file: host",
                                  uri_path);
        }
        if (*p != '/')
            return dc_err_set(err, DC_ECORRUPT, "delta: path '%.300s': file: URI is not absolute",
                              uri_path);
    }
    for (; *p; p++) {
        int hi, lo;
        if (*p == '%' && (hi = hexval(p[1])) >= 0 && (lo = hexval(p[2])) >= 0) {
            DC_TRY(dc_buf_putc(out, (uint8_t)(hi << 4 | lo), err));
            p += 2;
        } else {
            DC_TRY(dc_buf_putc(out, (uint8_t)*p, err));
        }
    }
    return 0;
}
