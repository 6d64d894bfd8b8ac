/*
 * source: dc_source_open parses the URI, merges it with the options and
 * opens the file or the Kafka backend.
 *
 * URIs (DESIGN.md):
 *   file:PATH      JSON lines from a file      file:-   from stdin
 *   kafka://HOST:PORT[,HOST:PORT]/TOPIC[,TOPIC]?group=G[&start=earliest|latest]
 *                                             [&fail_on_data_loss=true|false]
 * A TOPIC holding a {placeholder} is a pattern (source.h), one starting with
 * '^' a librdkafka regex as it is. Options win over the URI where both say
 * something (bootstrap_servers, topics/topic_pattern, group_id); start= and
 * fail_on_data_loss= in the URI win over the options' booleans, which can not
 * say "unset".
 */
#include "source_int.h"

#include "../common/dc_limits.h"

#include <stdlib.h>

/* A Kafka URI taken apart; every string owned. */
typedef struct kafka_uri {
    char *hosts;        /* "" when the URI names none */
    char **topics;      /* NULL-terminated list, each a topic, pattern or regex */
    size_t n_topics;
    char *group;        /* from ?group=, NULL if absent */
    int start;          /* -1 absent, 0 latest, 1 earliest */
    int fail_on_loss;   /* -1 absent, 0 false, 1 true */
} kafka_uri;

/* Bounds the topics one URI or option list may name. */
#define SOURCE_MAX_TOPICS 10000

static void kafka_uri_dispose(kafka_uri *u)
{
    for (size_t i = 0; i < u->n_topics; i++) dc_free(u->topics[i]);
    dc_free(u->topics);
    dc_free(u->hosts);
    dc_free(u->group);
    memset(u, 0, sizeof *u);
}

static int push_topic(kafka_uri *u, const char *s, size_t n, dc_err *err)
{
    if (n == 0) return dc_err_set(err, DC_EINVAL, "kafka URI: empty topic name in the list");
    if (u->n_topics >= SOURCE_MAX_TOPICS)
        return dc_err_set(err, DC_ELIMIT, "kafka URI: more than %d topics", SOURCE_MAX_TOPICS);
    char **t = dc_realloc(u->topics, (u->n_topics + 2) * sizeof *t);
    if (!t) return dc_err_set(err, DC_ENOMEM, "out of memory parsing a kafka URI");
    u->topics = t;
    t[u->n_topics] = dc_strndup(s, n);
    if (!t[u->n_topics]) return dc_err_set(err, DC_ENOMEM, "out of memory parsing a kafka URI");
    t[++u->n_topics] = NULL;
    return 0;
}

static int parse_bool(int *out, const char *v, size_t n, const char *name, dc_err *err)
{
    if (n == 4 && memcmp(v, "true", 4) == 0) *out = 1;
    else if (n == 5 && memcmp(v, "false", 5) == 0) *out = 0;
    else return dc_err_set(err, DC_EINVAL, "kafka URI: %s=%.*s: expected true or false", name,
                           (int)n, v);
    return 0;
}

/* One "key=value" of the query string. */
static int parse_param(kafka_uri *u, const char *s, size_t n, dc_err *err)
{
    const char *eq = memchr(s, '=', n);
    if (!eq) return dc_err_set(err, DC_EINVAL, "kafka URI: query part '%.*s' is not key=value",
                               (int)n, s);
    size_t kn = (size_t)(eq - s), vn = n - kn - 1;
    const char *v = eq + 1;
    if (kn == 5 && memcmp(s, "group", 5) == 0) {
        if (vn == 0) return dc_err_set(err, DC_EINVAL, "kafka URI: group= is empty");
        dc_free(u->group);
        u->group = dc_strndup(v, vn);
        if (!u->group) return dc_err_set(err, DC_ENOMEM, "out of memory parsing a kafka URI");
        return 0;
    }
    if (kn == 5 && memcmp(s, "start", 5) == 0) {
        if (vn == 8 && memcmp(v, "earliest", 8) == 0) u->start = 1;
        else if (vn == 6 && memcmp(v, "latest", 6) == 0) u->start = 0;
        else return dc_err_set(err, DC_EINVAL,
                               "kafka URI: start=%.*s: expected earliest or latest", (int)vn, v);
        return 0;
    }
    if (kn == 17 && memcmp(s, "fail_on_data_loss", 17) == 0)
        return parse_bool(&u->fail_on_loss, v, vn, "fail_on_data_loss", err);
    return dc_err_set(err, DC_EINVAL,
                      "kafka URI: unknown parameter '%.*s' (expected group, start, "
                      "fail_on_data_loss)", (int)kn, s);
}

/* Splits s[0..n) on sep and calls fn on each part. */
static int split(kafka_uri *u, const char *s, size_t n, char sep,
                 int (*fn)(kafka_uri *, const char *, size_t, dc_err *), dc_err *err)
{
    const char *end = s + n;
    while (s < end) {
        const char *e = memchr(s, sep, (size_t)(end - s));
        if (!e) e = end;
        DC_TRY(fn(u, s, (size_t)(e - s), err));
        s = e + 1;
    }
    return 0;
}

/* "kafka://hosts/topics?query" (prefix already checked). */
static int parse_kafka_uri(kafka_uri *u, const char *uri, dc_err *err)
{
    memset(u, 0, sizeof *u);
    u->start = u->fail_on_loss = -1;
    const char *p = uri + strlen("kafka://");
    const char *slash = strchr(p, '/');
    if (!slash)
        return dc_err_set(err, DC_EINVAL,
                          "kafka URI '%s': expected kafka://HOST:PORT[,HOST:PORT]/TOPIC[,TOPIC]"
                          "?group=G", uri);
    u->hosts = dc_strndup(p, (size_t)(slash - p));
    if (!u->hosts) return dc_err_set(err, DC_ENOMEM, "out of memory parsing a kafka URI");
    const char *q = strchr(slash, '?');
    const char *tend = q ? q : slash + strlen(slash);
    if (tend > slash + 1) DC_TRY(split(u, slash + 1, (size_t)(tend - slash - 1), ',', push_topic, err));
    if (q) DC_TRY(split(u, q + 1, strlen(q + 1), '&', parse_param, err));
    return 0;
}

/* Turns patterns into regexes: subs[i] owned by the returned array. */
static int build_subscription(char ***subs_out, const char *const *names, dc_err *err)
{
    size_t n = 0;
    while (names[n]) n++;
    char **subs = dc_calloc(n + 1, sizeof *subs);
    if (!subs) return dc_err_set(err, DC_ENOMEM, "out of memory building a subscription");
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (strchr(names[i], '{')) {
            rc = dc_source_pattern_regex(&subs[i], names[i], err);
        } else {
            subs[i] = dc_strdup(names[i]);
            if (!subs[i]) rc = dc_err_set(err, DC_ENOMEM, "out of memory building a subscription");
        }
    }
    if (rc == 0 && n == 0)
        rc = dc_err_set(err, DC_EINVAL, "kafka source: no topic given (in the URI, topics or "
                        "topic_pattern)");
    if (rc != 0) {
        for (size_t i = 0; i < n; i++) dc_free(subs[i]);
        dc_free(subs);
        subs = NULL;
    }
    *subs_out = subs;
    return rc;
}

static int open_kafka(dc_source **out, const dc_source_opts *o, dc_err *err)
{
    kafka_uri u;
    char **subs = NULL;
    int rc = 0;
    memset(&u, 0, sizeof u);
    u.start = u.fail_on_loss = -1;
    if (o->uri) rc = parse_kafka_uri(&u, o->uri, err);
    if (rc != 0) goto out;
    const char *pattern_only[2] = {o->topic_pattern, NULL};
    const char *const *names = o->topics            ? o->topics
                               : o->topic_pattern   ? pattern_only
                               : u.topics           ? (const char *const *)u.topics
                                                    : pattern_only + 1;
    rc = build_subscription(&subs, names, err);
    if (rc != 0) goto out;
    dc_kafka_cfg c = {
        .bootstrap = o->bootstrap_servers ? o->bootstrap_servers : u.hosts,
        .group = o->group_id ? o->group_id : u.group,
        .subs = (const char *const *)subs,
        .start_earliest = u.start >= 0 ? u.start == 1 : o->start_earliest,
        .fail_on_data_loss = u.fail_on_loss >= 0 ? u.fail_on_loss == 1 : o->fail_on_data_loss,
        .n_props = o->n_props,
        .prop_keys = o->prop_keys,
        .prop_values = o->prop_values,
        .resume = o->resume,
        .revoke = o->revoke,
        .resume_ctx = o->resume_ctx,
    };
    rc = dc_source_kafka_open(out, &c, err);
out:
    for (size_t i = 0; subs && subs[i]; i++) dc_free(subs[i]);
    dc_free(subs);
    kafka_uri_dispose(&u);
    return rc;
}

int dc_source_open(dc_source **out, const dc_source_opts *o, dc_err *err)
{
    *out = NULL;
    const char *uri = o->uri;
    if (uri && strncmp(uri, "file:", 5) == 0) {
        const char *path = uri + 5;
        if (!*path)
            return dc_err_set(err, DC_EINVAL, "source URI 'file:' names no path (file:PATH or "
                              "file:-)");
        /* file://PATH is accepted too, as URIs are often written so. */
        if (strncmp(path, "//", 2) == 0) path += 2;
        return dc_source_file_open(out, path, DC_JSONL_MAX_LINE, o->resume, o->identity,
                                   o->resume_ctx, err);
    }
    if ((uri && strncmp(uri, "kafka://", 8) == 0) || (!uri && o->bootstrap_servers))
        return open_kafka(out, o, err);
    if (!uri) return dc_err_set(err, DC_EINVAL, "no source given (file:PATH, file:- or kafka://...)");
    return dc_err_set(err, DC_EINVAL,
                      "source URI '%s': expected file:PATH, file:- or "
                      "kafka://HOST:PORT[,HOST:PORT]/TOPIC[,TOPIC]?group=G", uri);
}
