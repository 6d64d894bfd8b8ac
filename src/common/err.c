/* Errors and assertions. */
#include "dc_common.h"

#include <stdio.h>
#include <stdlib.h>

void dc_err_clear(dc_err *err)
{
    if (!err) return;
    err->code = DC_OK;
    err->retriable = false;
    err->msg[0] = '\0';
}

int dc_err_setv(dc_err *err, int code, const char *fmt, va_list ap)
{
    if (!err) return code;
    err->code = code;
    err->retriable = false;
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    return code;
}

int dc_err_set(dc_err *err, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    dc_err_setv(err, code, fmt, ap);
    va_end(ap);
    return code;
}

int dc_err_set_retriable(dc_err *err, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    dc_err_setv(err, code, fmt, ap);
    va_end(ap);
    if (err) err->retriable = true;
    return code;
}

void dc_err_prefix(dc_err *err, const char *fmt, ...)
{
    if (!err) return;
    char head[DC_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(head, sizeof head, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    /* head, then ": ", then as much of the old message as fits. */
    char joined[DC_ERR_MSG_MAX];
    size_t hl = (size_t)n < sizeof joined - 3 ? (size_t)n : sizeof joined - 3;
    memcpy(joined, head, hl);
    memcpy(joined + hl, ": ", 2);
    size_t room = sizeof joined - hl - 3, ml = strlen(err->msg);
    if (ml > room) ml = room;
    memcpy(joined + hl + 2, err->msg, ml);
    joined[hl + 2 + ml] = '\0';
    memcpy(err->msg, joined, sizeof joined);
}

const char *dc_err_code_name(int code)
{
    switch (code) {
    case DC_OK: return "ok";
    case DC_EINVAL: return "invalid input";
    case DC_ENOMEM: return "out of memory";
    case DC_EIO: return "i/o error";
    case DC_ECORRUPT: return "corrupt data";
    case DC_EUNSUPPORTED: return "unsupported";
    case DC_ELIMIT: return "limit exceeded";
    case DC_ENOTFOUND: return "not found";
    case DC_ECONFLICT: return "conflict";
    case DC_EEXISTS: return "already exists";
    case DC_EINTERNAL: return "internal error";
    case DC_EUNKNOWN: return "outcome unknown";
    default: return "unknown error";
    }
}

void dc_assert_fail(const char *expr, const char *file, int line)
{
    fprintf(stderr, "deltacdc: assertion failed: %s (%s:%d)\n", expr, file, line);
    fflush(stderr);
    abort();
}
