/*
 * source: topic patterns such as "cdc-{db}-{table}" (source.h).
 *
 * The same grammar gives librdkafka's regex subscription and our own matcher,
 * so the topics the consumer is assigned are exactly the ones the caller can
 * map to tables: a placeholder followed by the literal character c is
 * "([^c]+)", one at the end is "(.+)". Since "[^c]+" can not run past the c
 * that must follow it, the regex has one way to match and so does the matcher.
 */
#include "source.h"

static bool topic_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '_' || c == '-';
}

static bool name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_';
}

/* Checks the pattern; *n_ph_out placeholders. */
static int pattern_check(size_t *n_ph_out, const char *pat, dc_err *err)
{
    size_t n_ph = 0;
    bool prev_ph = false;
    const char *p = pat;
    if (!*p) return dc_err_set(err, DC_EINVAL, "topic pattern is empty");
    while (*p) {
        if (*p == '{') {
            const char *name = ++p;
            while (name_char(*p)) p++;
            if (*p != '}' || p == name)
                return dc_err_set(err, DC_EINVAL,
                                  "topic pattern '%s': at offset %zu expected {name} with "
                                  "name in [A-Za-z0-9_]", pat, (size_t)(name - 1 - pat));
            if (prev_ph)
                return dc_err_set(err, DC_EINVAL,
                                  "topic pattern '%s': at offset %zu two placeholders need a "
                                  "literal character between them", pat, (size_t)(name - 1 - pat));
            if (++n_ph > DC_SOURCE_MAX_CAPTURES)
                return dc_err_set(err, DC_EINVAL, "topic pattern '%s': more than %d placeholders",
                                  pat, DC_SOURCE_MAX_CAPTURES);
            prev_ph = true;
            p++;
            continue;
        }
        if (!topic_char(*p))
            return dc_err_set(err, DC_EINVAL,
                              "topic pattern '%s': at offset %zu '%c' is not a topic character "
                              "([A-Za-z0-9._-]) nor a {placeholder}", pat, (size_t)(p - pat), *p);
        prev_ph = false;
        p++;
    }
    *n_ph_out = n_ph;
    return 0;
}

int dc_source_pattern_regex(char **out, const char *pattern, dc_err *err)
{
    *out = NULL;
    size_t n_ph = 0;
    DC_TRY(pattern_check(&n_ph, pattern, err));
    dc_buf b;
    dc_buf_init(&b, 4 * strlen(pattern) + 16);
    int rc = dc_buf_putc(&b, '^', err);
    for (const char *p = pattern; *p && rc == 0;) {
        if (*p == '{') {
            p = strchr(p, '}') + 1;
            if (!*p) {
                rc = dc_buf_puts(&b, "(.+)", err);
            } else {
                /* *p is a literal: '.' and '-' need no escape inside brackets */
                rc = dc_buf_appendf(&b, err, "([^%c]+)", *p);
            }
        } else {
            if (*p == '.') rc = dc_buf_putc(&b, '\\', err);
            if (rc == 0) rc = dc_buf_putc(&b, (uint8_t)*p, err);
            p++;
        }
    }
    if (rc == 0) rc = dc_buf_append(&b, "$", 2, err); /* with the terminating NUL */
    if (rc == 0) *out = (char *)dc_buf_steal(&b, NULL);
    dc_buf_dispose(&b);
    return rc;
}

bool dc_source_pattern_match(const char *pattern, const char *topic,
                             dc_source_capture caps[DC_SOURCE_MAX_CAPTURES], size_t *n_caps)
{
    size_t n_ph = 0, n = 0;
    if (pattern_check(&n_ph, pattern, NULL) != 0) return false;
    const char *p = pattern, *t = topic;
    while (*p) {
        if (*p != '{') {
            if (*t != *p) return false;
            p++, t++;
            continue;
        }
        const char *name = p + 1, *close = strchr(p, '}');
        const char *start = t;
        p = close + 1;
        if (*p) {
            while (*t && *t != *p) t++;
        } else {
            t += strlen(t);
        }
        if (t == start) return false;
        caps[n] = (dc_source_capture){name, (size_t)(close - name), start, (size_t)(t - start)};
        n++;
    }
    if (*t) return false;
    *n_caps = n;
    return true;
}
