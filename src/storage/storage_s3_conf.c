/*
 * storage (S3 backend): settings, credentials and URLs. Pure: the
 * environment is read through a function the tests replace, files are read
 * by the caller.
 *
 * Precedence, per setting: the pipeline file / dc_storage_s3_configure, then
 * the standard AWS environment variables, then (credentials only) the shared
 * credentials file, then defaults. Secrets never enter an error message.
 */
#include "storage_s3_int.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

/* Defaults; the config table repeats them in its doc text. */
#define S3_DEFAULT_REGION "us-east-1"
#define S3_DEFAULT_CONNECT_MS 10000L
#define S3_DEFAULT_REQUEST_MS 300000L
#define S3_DEFAULT_ATTEMPTS 6
/* A credentials file is a few KiB; larger is not one. */
#define S3_MAX_CREDENTIALS_FILE ((size_t)1024 * 1024)

void s3_conf_dispose(s3_conf *c)
{
    dc_free(c->scheme_host);
    dc_free(c->region);
    dc_free(c->ca_file);
    dc_free(c->access_key_id);
    if (c->secret_access_key) /* do not leave the secret in freed memory */
        memset(c->secret_access_key, 0, strlen(c->secret_access_key));
    dc_free(c->secret_access_key);
    if (c->session_token) memset(c->session_token, 0, strlen(c->session_token));
    dc_free(c->session_token);
    memset(c, 0, sizeof *c);
}

static bool truthy(const char *v)
{
    return v && (strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0 || strcasecmp(v, "yes") == 0);
}

/* The first non-empty of a and b, or NULL. */
static const char *first(const char *a, const char *b)
{
    if (a && *a) return a;
    if (b && *b) return b;
    return NULL;
}

static int dup_opt(char **dst, const char *v, dc_err *err)
{
    *dst = NULL;
    if (!v) return 0;
    if (!(*dst = dc_strdup(v))) return dc_err_set(err, DC_ENOMEM, "out of memory");
    return 0;
}

/* ---------------------------------------------------- credentials file */

/* Trims [*p, *e) of blanks. */
static void trim(const char **p, const char **e)
{
    while (*p < *e && isspace((unsigned char)**p)) (*p)++;
    while (*e > *p && isspace((unsigned char)(*e)[-1])) (*e)--;
}

static int set_field(char **dst, const char *v, const char *ve, dc_err *err)
{
    dc_free(*dst);
    if (!(*dst = dc_strndup(v, (size_t)(ve - v)))) return dc_err_set(err, DC_ENOMEM, "out of memory");
    return 0;
}

int s3_credentials_parse(char **key_id, char **secret, char **token, const char *text, size_t n,
                         const char *profile, const char *name, dc_err *err)
{
    *key_id = *secret = *token = NULL;
    bool in = false, found = false;
    int rc = 0;
    unsigned line_no = 0;
    for (const char *p = text, *end = text + n; p < end && rc == 0;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *ls = p, *le = nl ? nl : end;
        p = nl ? nl + 1 : end;
        line_no++;
        trim(&ls, &le);
        if (ls == le || *ls == '#' || *ls == ';') continue;
        if (*ls == '[') {
            if (le[-1] != ']') {
                rc = dc_err_set(err, DC_EINVAL, "%s:%u: a section header must end with ']'",
                                name, line_no);
                break;
            }
            const char *s = ls + 1, *se = le - 1;
            trim(&s, &se);
            /* ~/.aws/config spells it "[profile x]"; accept both here. */
            if ((size_t)(se - s) > 8 && memcmp(s, "profile ", 8) == 0) {
                s += 8;
                trim(&s, &se);
            }
            in = strlen(profile) == (size_t)(se - s) && memcmp(s, profile, (size_t)(se - s)) == 0;
            found = found || in;
            continue;
        }
        if (!in) continue;
        const char *eq = memchr(ls, '=', (size_t)(le - ls));
        if (!eq) {
            rc = dc_err_set(err, DC_EINVAL, "%s:%u: expected 'key = value'", name, line_no);
            break;
        }
        const char *k = ls, *ke = eq, *v = eq + 1, *ve = le;
        trim(&k, &ke);
        trim(&v, &ve);
        const size_t kl = (size_t)(ke - k);
        if (kl == 17 && strncasecmp(k, "aws_access_key_id", kl) == 0)
            rc = set_field(key_id, v, ve, err);
        else if (kl == 21 && strncasecmp(k, "aws_secret_access_key", kl) == 0)
            rc = set_field(secret, v, ve, err);
        else if (kl == 17 && strncasecmp(k, "aws_session_token", kl) == 0)
            rc = set_field(token, v, ve, err);
    }
    if (rc == 0 && !found)
        rc = dc_err_set(err, DC_ENOTFOUND, "%s: no profile [%s]", name, profile);
    if (rc < 0) {
        dc_free(*key_id);
        dc_free(*secret);
        dc_free(*token);
        *key_id = *secret = *token = NULL;
    }
    return rc;
}

/* Reads the shared credentials file when the key is not set elsewhere. A
 * missing file is fine (anonymous or env credentials); a missing profile
 * that was asked for by name is an error. */
static int load_credentials_file(s3_conf *c, const char *profile, bool profile_explicit,
                                 s3_getenv_fn env, void *env_ctx, dc_err *err)
{
    char path[4096];
    const char *file = env(env_ctx, "AWS_SHARED_CREDENTIALS_FILE");
    if (!file || !*file) {
        const char *home = env(env_ctx, "HOME");
        if (!home || !*home) return 0;
        snprintf(path, sizeof path, "%s/.aws/credentials", home);
        file = path;
    }
    FILE *f = fopen(file, "rb");
    if (!f) {
        if (errno == ENOENT && !profile_explicit) return 0;
        return dc_err_set(err, DC_EIO, "S3 credentials file %s: %s", file, strerror(errno));
    }
    dc_buf b;
    dc_buf_init(&b, S3_MAX_CREDENTIALS_FILE);
    int rc = dc_buf_reserve(&b, 4096, err);
    while (rc == 0) {
        if (b.len == b.cap && (rc = dc_buf_reserve(&b, b.cap, err)) < 0) break;
        size_t got = fread(b.data + b.len, 1, b.cap - b.len, f);
        b.len += got;
        if (got == 0) break;
    }
    if (rc == 0 && ferror(f)) rc = dc_err_set(err, DC_EIO, "S3 credentials file %s: read error", file);
    fclose(f);
    char *kid = NULL, *sec = NULL, *tok = NULL;
    if (rc == 0)
        rc = s3_credentials_parse(&kid, &sec, &tok, (const char *)b.data, b.len, profile, file, err);
    if (rc == DC_ENOTFOUND && !profile_explicit) {
        dc_err_clear(err);
        rc = 0;
    }
    if (b.data) memset(b.data, 0, b.len); /* the file holds secrets */
    dc_buf_dispose(&b);
    if (rc < 0) return rc;
    if (kid && sec) {
        c->access_key_id = kid;
        c->secret_access_key = sec;
        c->session_token = tok;
        return 0;
    }
    dc_free(kid);
    dc_free(sec);
    dc_free(tok);
    return 0;
}

static int resolve_credentials(s3_conf *c, const dc_storage_s3_opts *o, s3_getenv_fn env,
                               void *env_ctx, dc_err *err)
{
    const char *kid = o ? o->access_key_id : NULL, *sec = o ? o->secret_access_key : NULL;
    const char *tok = o ? o->session_token : NULL;
    if ((kid && *kid) != (sec && *sec))
        return dc_err_set(err, DC_EINVAL, "storage.s3: access_key_id and secret_access_key "
                                          "must be set together");
    if (!(kid && *kid)) {
        kid = env(env_ctx, "AWS_ACCESS_KEY_ID");
        sec = env(env_ctx, "AWS_SECRET_ACCESS_KEY");
        tok = env(env_ctx, "AWS_SESSION_TOKEN");
        if ((kid && *kid) != (sec && *sec))
            return dc_err_set(err, DC_EINVAL, "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
                                              "must be set together");
    }
    if (kid && *kid) {
        DC_TRY(dup_opt(&c->access_key_id, kid, err));
        DC_TRY(dup_opt(&c->secret_access_key, sec, err));
        return dup_opt(&c->session_token, tok && *tok ? tok : NULL, err);
    }
    const char *profile = first(o ? o->profile : NULL, env(env_ctx, "AWS_PROFILE"));
    return load_credentials_file(c, profile ? profile : "default", profile != NULL, env, env_ctx,
                                 err);
}

/* ------------------------------------------------------------ settings */

static int resolve_endpoint(s3_conf *c, const dc_storage_s3_opts *o, s3_getenv_fn env,
                            void *env_ctx, dc_err *err)
{
    const char *ep = first(o ? o->endpoint : NULL, first(env(env_ctx, "AWS_ENDPOINT_URL_S3"),
                                                         env(env_ctx, "AWS_ENDPOINT_URL")));
    dc_buf b;
    dc_buf_init(&b, 4096);
    int rc;
    if (ep) {
        size_t n = strlen(ep);
        while (n > 0 && ep[n - 1] == '/') n--;
        if (!((n > 7 && strncmp(ep, "http://", 7) == 0) ||
              (n > 8 && strncmp(ep, "https://", 8) == 0)) ||
            memchr(ep + 8, '/', n - 8) || memchr(ep, '?', n))
            rc = dc_err_set(err, DC_EINVAL, "storage.s3.endpoint '%.*s': expected "
                                            "http[s]://host[:port] without a path",
                            (int)(n > 200 ? 200 : n), ep);
        else
            rc = dc_buf_append(&b, ep, n, err);
        c->oss = memmem(ep, n, "aliyuncs.com", 12) != NULL;
    } else {
        rc = dc_buf_appendf(&b, err, "https://s3.%s.amazonaws.com", c->region);
    }
    if (rc == 0) rc = dc_buf_putc(&b, '\0', err);
    if (rc == 0) c->scheme_host = (char *)dc_buf_steal(&b, NULL);
    dc_buf_dispose(&b);
    return rc;
}

int s3_conf_resolve(s3_conf *c, const dc_storage_s3_opts *o, s3_getenv_fn env, void *env_ctx,
                    dc_err *err)
{
    memset(c, 0, sizeof *c);
    const char *region = first(o ? o->region : NULL,
                               first(env(env_ctx, "AWS_REGION"), env(env_ctx, "AWS_DEFAULT_REGION")));
    int rc = dup_opt(&c->region, region ? region : S3_DEFAULT_REGION, err);
    if (rc == 0 && strpbrk(c->region, ":/ \t?#"))
        rc = dc_err_set(err, DC_EINVAL, "storage.s3.region '%s': not a region name", c->region);
    if (rc == 0) rc = resolve_endpoint(c, o, env, env_ctx, err);
    const bool custom = rc == 0 && strstr(c->scheme_host, ".amazonaws.com") == NULL;
    if (rc == 0) {
        const int ps = o ? o->path_style : -1;
        const char *vh = env(env_ctx, "AWS_VIRTUAL_HOSTED_STYLE_REQUEST");
        c->path_style = ps >= 0 ? ps == 1 : vh && *vh ? !truthy(vh) : custom;
        c->verify_tls = !(o && o->verify_tls == 0);
        rc = dup_opt(&c->ca_file, first(o ? o->ca_file : NULL, env(env_ctx, "AWS_CA_BUNDLE")),
                     err);
    }
    if (rc == 0) {
        const int u = o ? o->allow_unsafe_single_writer : -1;
        c->allow_unsafe = u == 1 || (u < 0 && truthy(env(env_ctx, "AWS_S3_ALLOW_UNSAFE_RENAME")));
        c->connect_timeout_ms = o && o->connect_timeout_ms > 0 ? (long)o->connect_timeout_ms
                                                               : S3_DEFAULT_CONNECT_MS;
        c->request_timeout_ms = o && o->request_timeout_ms > 0 ? (long)o->request_timeout_ms
                                                               : S3_DEFAULT_REQUEST_MS;
        const char *ma = env(env_ctx, "AWS_MAX_ATTEMPTS");
        const long env_attempts = ma && *ma ? strtol(ma, NULL, 10) : 0;
        c->max_attempts = o && o->max_attempts > 0                  ? o->max_attempts
                          : env_attempts > 0 && env_attempts <= 100 ? (int)env_attempts
                                                                    : S3_DEFAULT_ATTEMPTS;
        rc = resolve_credentials(c, o, env, env_ctx, err);
    }
    if (rc < 0) s3_conf_dispose(c);
    return rc;
}

/* ----------------------------------------------------------------- URLs */

int s3_uri_split(char **bucket, char **prefix, const char *uri, dc_err *err)
{
    *bucket = *prefix = NULL;
    const char *p = strstr(uri, "://");
    if (!p) return dc_err_set(err, DC_EINVAL, "storage: '%s': expected s3://bucket/prefix", uri);
    p += 3;
    const char *slash = strchr(p, '/');
    const size_t bl = slash ? (size_t)(slash - p) : strlen(p);
    if (bl < 3 || bl > 63)
        return dc_err_set(err, DC_EINVAL, "storage: '%s': bucket names are 3 to 63 characters",
                          uri);
    for (size_t i = 0; i < bl; i++) {
        const char ch = p[i];
        if (!(islower((unsigned char)ch) || isdigit((unsigned char)ch) || ch == '-' || ch == '.' ||
              ch == '_'))
            return dc_err_set(err, DC_EINVAL, "storage: '%s': bad character '%c' in the bucket "
                                              "name", uri, ch);
    }
    const char *k = slash ? slash + 1 : p + bl;
    while (*k == '/') k++;
    size_t kl = strlen(k);
    while (kl > 0 && k[kl - 1] == '/') kl--;
    if (memmem(k, kl, "//", 2) || strchr(k, '?') || strchr(k, '#'))
        return dc_err_set(err, DC_EINVAL, "storage: '%s': empty path segment, '?' or '#' in the "
                                          "prefix", uri);
    *bucket = dc_strndup(p, bl);
    *prefix = dc_strndup(k, kl);
    if (!*bucket || !*prefix) {
        dc_free(*bucket);
        dc_free(*prefix);
        *bucket = *prefix = NULL;
        return dc_err_set(err, DC_ENOMEM, "out of memory");
    }
    return 0;
}

int s3_url_encode(dc_buf *out, const char *s, size_t n, bool keep_slash, dc_err *err)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        const unsigned char ch = (unsigned char)s[i];
        if (isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~' ||
            (keep_slash && ch == '/')) {
            DC_TRY(dc_buf_putc(out, ch, err));
        } else {
            const char e[3] = {'%', hex[ch >> 4], hex[ch & 15]};
            DC_TRY(dc_buf_append(out, e, 3, err));
        }
    }
    return 0;
}

int s3_url_build(dc_buf *out, const s3_conf *c, const char *bucket, const char *key,
                 const char *query, dc_err *err)
{
    const char *hs = c->scheme_host;
    if (c->path_style) {
        DC_TRY(dc_buf_appendf(out, err, "%s/%s/", hs, bucket));
    } else {
        const char *host = strstr(hs, "://") + 3;
        DC_TRY(dc_buf_appendf(out, err, "%.*s%s.%s/", (int)(host - hs), hs, bucket, host));
    }
    DC_TRY(s3_url_encode(out, key, strlen(key), true, err));
    if (query) DC_TRY(dc_buf_appendf(out, err, "?%s", query));
    DC_TRY(dc_buf_putc(out, '\0', err));
    out->len--;
    return 0;
}
