/* Small helpers: whole-file reads, base64, retry pauses. */
#include "dc_common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int dc_file_read_all(uint8_t **data_out, size_t *len_out, const char *path, size_t max,
                     dc_err *err)
{
    int rc = 0;
    dc_buf b;
    dc_buf_init(&b, max);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rc = dc_err_set(err, errno == ENOENT ? DC_ENOTFOUND : DC_EIO, "%s: %s", path,
                        strerror(errno));
        goto out;
    }
    for (;;) {
        if ((rc = dc_buf_reserve(&b, 65536 < max - b.len ? 65536 : max - b.len + 1, err)) < 0) {
            dc_err_prefix(err, "%s", path);
            goto out;
        }
        ssize_t n = read(fd, b.data + b.len, b.cap - b.len);
        if (n < 0) {
            if (errno == EINTR) continue;
            rc = dc_err_set(err, DC_EIO, "%s: read: %s", path, strerror(errno));
            goto out;
        }
        if (n == 0) break;
        b.len += (size_t)n;
    }
    *data_out = dc_buf_steal(&b, len_out);
    if (!*data_out) *data_out = dc_calloc(1, 1);
    if (!*data_out) rc = dc_err_set(err, DC_ENOMEM, "out of memory");
out:
    if (fd >= 0) close(fd);
    dc_buf_dispose(&b);
    return rc;
}

bool dc_is_secret_key(const char *name)
{
    static const char *const parts[] = {"password", "secret", "jaas", "key.pem",
                                        "credential", "token", "sasl.oauthbearer.config"};
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
        if (strcasestr(name, parts[i])) return true;
    return false;
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int dc_base64_encode(dc_buf *out, const uint8_t *p, size_t n, dc_err *err)
{
    size_t need;
    if (dc_mul_overflow_sz((n + 2) / 3, 4, &need))
        return dc_err_set(err, DC_ELIMIT, "base64 input too large");
    DC_TRY(dc_buf_reserve(out, need, err));
    uint8_t *d = out->data + out->len;
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        *d++ = (uint8_t)b64[v >> 18];
        *d++ = (uint8_t)b64[(v >> 12) & 63];
        *d++ = (uint8_t)b64[(v >> 6) & 63];
        *d++ = (uint8_t)b64[v & 63];
    }
    if (i < n) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0);
        *d++ = (uint8_t)b64[v >> 18];
        *d++ = (uint8_t)b64[(v >> 12) & 63];
        *d++ = i + 1 < n ? (uint8_t)b64[(v >> 6) & 63] : '=';
        *d++ = '=';
    }
    out->len = (size_t)(d - out->data);
    return 0;
}

static int b64val(uint8_t c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
}

int dc_base64_decode(dc_buf *out, const char *s, size_t n, dc_err *err)
{
    while (n > 0 && s[n - 1] == '=') n--;
    if (n % 4 == 1) return dc_err_set(err, DC_EINVAL, "base64: impossible length");
    DC_TRY(dc_buf_reserve(out, n / 4 * 3 + 3, err));
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64val((uint8_t)s[i]);
        if (v < 0)
            return dc_err_set(err, DC_EINVAL, "base64: invalid character at position %zu", i);
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out->data[out->len++] = (uint8_t)(acc >> bits);
        }
    }
    return 0;
}

const char *dc_describe_byte(const uint8_t *at, const uint8_t *end, char buf[16])
{
    if (at >= end) return "end of input";
    if (*at >= 0x20 && *at < 0x7f)
        snprintf(buf, 16, "'%c'", *at);
    else
        snprintf(buf, 16, "byte 0x%02x", *at);
    return buf;
}

int64_t dc_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

void dc_civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d)
{
    const int64_t z = days + 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

long dc_backoff_ms(int attempt, long base_ms, long cap_ms, uint64_t r)
{
    long ceil = base_ms;
    for (int i = 1; i < attempt && ceil < cap_ms; i++) ceil *= 2;
    if (ceil > cap_ms) ceil = cap_ms;
    if (ceil <= 0) return 0;
    return (long)(r % (uint64_t)(ceil + 1));
}

uint64_t dc_rand_next(uint64_t *state)
{
    uint64_t z = __atomic_add_fetch(state, 0x9E3779B97F4A7C15ull, __ATOMIC_RELAXED);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

uint64_t dc_rand_seed(void)
{
    static uint64_t calls;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t s = (uint64_t)ts.tv_sec * 1000000007ull ^ (uint64_t)ts.tv_nsec ^
                 (uint64_t)getpid() << 32 ^ __atomic_add_fetch(&calls, 1, __ATOMIC_RELAXED) << 48;
    return dc_rand_next(&s);
}

void dc_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}
