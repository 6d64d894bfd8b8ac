/* http: the server — libmicrohttpd with its own polling thread. A request
 * takes a snapshot of the registry and renders it; nothing is shared with
 * the ingest loop but the registry's per-table mutexes. */
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>

#include "../common/dc_limits.h"

/* Seconds an idle connection stays open; connections served at once. */
#define CONN_TIMEOUT_S 10
#define CONN_LIMIT 64

struct dc_http {
    struct MHD_Daemon *d;  /* the server (owned) */
    dc_metrics *m;         /* borrowed: outlives the server */
    char *token;           /* owned copy, NULL for none */
    uint16_t port;         /* bound */
};

int dc_http_parse_listen(dc_http_addr *out, const char *s, dc_err *err)
{
    memset(out, 0, sizeof *out);
    const char *colon = strrchr(s, ':');
    const char *port = colon ? colon + 1 : s;
    char host[64] = "127.0.0.1";
    if (colon) {
        const size_t n = (size_t)(colon - s);
        if (n >= sizeof host)
            return dc_err_set(err, DC_EINVAL, "http.listen '%s': host too long", s);
        if (n) {
            memcpy(host, s, n);
            host[n] = 0;
        }
    }
    if (strcmp(host, "localhost") == 0) strcpy(host, "127.0.0.1");
    char *end = NULL;
    errno = 0;
    const long p = strtol(port, &end, 10);
    if (!*port || *end || errno || p < 0 || p > 65535)
        return dc_err_set(err, DC_EINVAL, "http.listen '%s': expected HOST:PORT or PORT with "
                          "a port 0..65535", s);
    struct in_addr a;
    if (inet_pton(AF_INET, host, &a) != 1)
        return dc_err_set(err, DC_EINVAL, "http.listen '%s': '%s' is not an IPv4 address "
                          "(or localhost)", s, host);
    memcpy(out->ip, &a, 4);
    out->port = (uint16_t)p;
    return 0;
}

/* Constant-time comparison of the Authorization header with the token. */
static bool authorized(const dc_http *h, struct MHD_Connection *c)
{
    if (!h->token) return true;
    const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    if (!v || strncmp(v, "Bearer ", 7) != 0) return false;
    v += 7;
    const size_t n = strnlen(v, DC_HTTP_MAX_TOKEN + 1), m = strlen(h->token);
    unsigned diff = n != m;
    for (size_t i = 0; i < m; i++) diff |= (unsigned)(uint8_t)h->token[i] ^ (uint8_t)(i < n ? v[i] : 0);
    return diff == 0;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type,
                             dc_buf *body)
{
    size_t len = body->len;
    void *data = dc_buf_steal(body, &len);
    struct MHD_Response *r = MHD_create_response_from_buffer_with_free_callback(
        len, data ? data : (void *)"", data ? dc_free : NULL);
    if (!r) {
        dc_free(data);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", type);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    if (status == MHD_HTTP_UNAUTHORIZED)
        MHD_add_response_header(r, "WWW-Authenticate", "Bearer realm=\"deltacdc\"");
    const enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

/* The body and status of a GET of `url`. */
static int render(unsigned *status, const char **type, dc_buf *body, dc_http *h, const char *url,
                  dc_err *err)
{
    dc_metrics_snap s;
    DC_TRY(dc_metrics_snapshot(&s, h->m, err));
    int rc = 0;
    *status = MHD_HTTP_OK;
    if (strcmp(url, "/metrics") == 0) {
        *type = "text/plain; version=0.0.4; charset=utf-8";
        rc = dc_http_prom(body, &s, err);
    } else if (strcmp(url, "/status") == 0) {
        *type = "application/json";
        rc = dc_http_status_json(body, &s, err);
    } else if (strcmp(url, "/healthz") == 0) {
        *type = "text/plain; charset=utf-8";
        if (!dc_http_healthy(&s)) *status = MHD_HTTP_SERVICE_UNAVAILABLE;
        rc = dc_http_healthz(body, &s, err);
    } else if (strcmp(url, "/") == 0) {
        *type = "text/html; charset=utf-8";
        rc = dc_http_page(body, &s, err);
    } else {
        *type = "text/plain; charset=utf-8";
        *status = MHD_HTTP_NOT_FOUND;
        rc = dc_buf_puts(body, "not found: try /, /metrics, /status or /healthz\n", err);
    }
    dc_metrics_snap_dispose(&s);
    return rc;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **req)
{
    (void)version;
    (void)upload;
    dc_http *h = cls;
    if (!*req) { /* first call: headers only; answer on the second */
        *req = (void *)1;
        return MHD_YES;
    }
    if (*upload_size) return MHD_NO; /* no request takes a body */
    dc_buf body;
    dc_buf_init(&body, DC_HTTP_MAX_BODY);
    unsigned status = MHD_HTTP_OK;
    const char *type = "text/plain; charset=utf-8";
    dc_err err;
    dc_err_clear(&err);
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        status = MHD_HTTP_METHOD_NOT_ALLOWED;
        dc_buf_puts(&body, "GET only\n", &err);
    } else if (!authorized(h, c)) {
        status = MHD_HTTP_UNAUTHORIZED;
        dc_buf_puts(&body, "a bearer token is required\n", &err);
    } else if (render(&status, &type, &body, h, url, &err) < 0) {
        status = MHD_HTTP_INTERNAL_SERVER_ERROR;
        dc_buf_reset(&body);
        dc_buf_appendf(&body, &err, "%s\n", err.msg);
    }
    const enum MHD_Result ret = reply(c, status, type, &body);
    dc_buf_dispose(&body);
    return ret;
}

static void log_mhd(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    if (dc_log_threshold < DC_LOG_WARN) return;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    msg[strcspn(msg, "\n")] = 0;
    DC_LOG(DC_LOG_WARN, "http", "%s", msg);
}

int dc_http_start(dc_http **out, const dc_http_opts *o, dc_metrics *m, dc_err *err)
{
    dc_http_addr a;
    DC_TRY(dc_http_parse_listen(&a, o->listen, err));
    dc_http *h = dc_calloc(1, sizeof *h);
    if (!h) return dc_err_set(err, DC_ENOMEM, "http: out of memory");
    h->m = m;
    if (o->token && *o->token && !(h->token = dc_strdup(o->token))) {
        dc_free(h);
        return dc_err_set(err, DC_ENOMEM, "http: out of memory");
    }
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons(a.port);
    memcpy(&sa.sin_addr, a.ip, 4);
    h->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, a.port, NULL,
                            NULL, handle, h, MHD_OPTION_EXTERNAL_LOGGER, log_mhd, NULL,
                            MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONN_TIMEOUT_S,
                            MHD_OPTION_CONNECTION_LIMIT, (unsigned)CONN_LIMIT, MHD_OPTION_END);
    if (!h->d) {
        dc_http_free(h);
        return dc_err_set(err, DC_EIO, "http.listen %s: can not listen (address in use, or "
                          "not an address of this host)", o->listen);
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
    h->port = info ? info->port : a.port;
    DC_LOG(DC_LOG_INFO, "http", "listening on http://%u.%u.%u.%u:%u/ (/metrics /status /healthz)"
           "%s", a.ip[0], a.ip[1], a.ip[2], a.ip[3], h->port,
           h->token ? ", bearer token required" : "");
    *out = h;
    return 0;
}

uint16_t dc_http_port(const dc_http *h)
{
    return h->port;
}

void dc_http_free(dc_http *h)
{
    if (!h) return;
    if (h->d) MHD_stop_daemon(h->d);
    dc_free(h->token);
    dc_free(h);
}
