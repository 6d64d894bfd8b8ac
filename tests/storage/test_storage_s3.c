/*
 * The S3 backend's pure parts (issue 12): ListObjectsV2 / error / multipart
 * / DeleteObjects XML, retry classification and backoff, URLs for path-style
 * and virtual-host addressing, the credentials file, and the precedence of
 * settings over the environment. The HTTP side is tested against a real
 * server in tests/interop/test_s3.py.
 */
#include "../test.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "../../src/storage/storage_s3_int.h"

static const char list_page[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
    "<Name>bkt</Name><Prefix>t/_delta_log/</Prefix><KeyCount>4</KeyCount>"
    "<MaxKeys>1000</MaxKeys><Delimiter>/</Delimiter><IsTruncated>true</IsTruncated>"
    "<NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=&amp;x</NextContinuationToken>"
    "<Contents><Key>t/_delta_log/00000000000000000001.json</Key>"
    "<LastModified>2026-12-07T14:48:46.123Z</LastModified><ETag>&quot;abc&quot;</ETag>"
    "<Size>1234</Size><StorageClass>STANDARD</StorageClass></Contents>"
    "<Contents><Key>t/_delta_log/00000000000000000000.json</Key>"
    "<LastModified>1970-01-01T00:00:01.000Z</LastModified><Size>7</Size></Contents>"
    "<Contents><Key>t/_delta_log/a&amp;b&lt;c&#233;.json</Key><Size>0</Size></Contents>"
    "<Contents><Key>elsewhere/x.json</Key><Size>1</Size></Contents>"
    "<CommonPrefixes><Prefix>t/_delta_log/_commits/</Prefix></CommonPrefixes>"
    "</ListBucketResult>";

TEST(s3_list_parse_entries_token_and_prefixes)
{
    dc_err err;
    dc_err_clear(&err);
    dc_storage_list l;
    dc_storage_list_init(&l);
    s3_list_page page;
    CHECK_OK(s3_list_parse(&page, &l, list_page, sizeof list_page - 1, "t/_delta_log/", &err),
             &err);
    CHECK(page.truncated);
    CHECK_EQ_STR(page.next_token, "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=&x");
    CHECK_EQ_INT((int)l.n, 4); /* elsewhere/x.json is not under the prefix */
    CHECK_EQ_STR(l.entries[0].name, "00000000000000000001.json");
    CHECK(l.entries[0].size == 1234 && !l.entries[0].is_dir);
    CHECK(l.entries[0].mtime_ms == (int64_t)1796654926 * 1000 + 123);
    CHECK(l.entries[1].mtime_ms == 1000);
    CHECK_EQ_STR(l.entries[2].name, "a&b<c\xc3\xa9.json");
    CHECK_EQ_STR(l.entries[3].name, "_commits");
    CHECK(l.entries[3].is_dir);
    dc_free(page.next_token);
    dc_storage_list_dispose(&l);
}

TEST(s3_list_parse_rejects_bad_replies)
{
    static const char *bad[] = {
        "<Error><Code>AccessDenied</Code></Error>",
        "<ListBucketResult><Contents><Size>1</Size></Contents></ListBucketResult>",
        "<ListBucketResult><Contents><Key>p/a</Key><Size>-1</Size></Contents></ListBucketResult>",
        "<ListBucketResult><Contents><Key>p/a</Key><Size>99999999999999999999</Size>"
        "</Contents></ListBucketResult>",
        "<ListBucketResult><Contents><Key>p/a&bogus;</Key></Contents></ListBucketResult>",
        "<ListBucketResult><Contents><Key>p/a</Key><LastModified>yesterday</LastModified>"
        "</Contents></ListBucketResult>",
        "<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>",
        "<ListBucketResult><Contents><Key>p/a</Key>",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        dc_err err;
        dc_err_clear(&err);
        dc_storage_list l;
        dc_storage_list_init(&l);
        s3_list_page page;
        CHECK_EQ_INT(s3_list_parse(&page, &l, bad[i], strlen(bad[i]), "p/", &err), DC_ECORRUPT);
        CHECK(strstr(err.msg, "S3") != NULL);
        CHECK(page.next_token == NULL);
        dc_storage_list_dispose(&l);
    }
}

TEST(s3_xml_tags_do_not_match_prefixes_of_names)
{
    static const char doc[] = "<R><KeyCount>3</KeyCount><Key attr=\"1\">k</Key><E/></R>";
    const char *pos = doc;
    s3_span sp;
    CHECK(s3_xml_next(&sp, &pos, doc + sizeof doc - 1, "Key"));
    CHECK(sp.n == 1 && sp.p[0] == 'k');
    pos = doc;
    CHECK(s3_xml_next(&sp, &pos, doc + sizeof doc - 1, "E") && sp.n == 0);
    pos = doc;
    CHECK(!s3_xml_next(&sp, &pos, doc + sizeof doc - 1, "Missing"));
}

TEST(s3_error_upload_and_delete_replies)
{
    char code[64], msg[256];
    static const char e[] = "<?xml version=\"1.0\"?><Error><Code>PreconditionFailed</Code>"
                            "<Message>At least one of the pre-conditions\nfailed</Message></Error>";
    s3_error_parse(code, sizeof code, msg, sizeof msg, e, sizeof e - 1);
    CHECK_EQ_STR(code, "PreconditionFailed");
    CHECK_EQ_STR(msg, "At least one of the pre-conditions?failed"); /* one line */
    s3_error_parse(code, sizeof code, msg, sizeof msg, "garbage", 7);
    CHECK_EQ_STR(code, "");
    dc_err err;
    dc_err_clear(&err);
    char *id = NULL;
    static const char up[] = "<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key>"
                             "<UploadId>VXBsb2FkIElE&amp;1</UploadId></InitiateMultipartUploadResult>";
    CHECK_OK(s3_upload_id_parse(&id, up, sizeof up - 1, &err), &err);
    CHECK_EQ_STR(id, "VXBsb2FkIElE&1");
    dc_free(id);
    CHECK_EQ_INT(s3_upload_id_parse(&id, "<X/>", 4, &err), DC_ECORRUPT);
    static const char ok[] = "<DeleteResult><Error><Key>a</Key><Code>NoSuchKey</Code></Error>"
                             "</DeleteResult>";
    CHECK_OK(s3_delete_result_parse(ok, sizeof ok - 1, &err), &err);
    static const char bad[] = "<DeleteResult><Deleted><Key>b</Key></Deleted><Error><Key>t/a.parquet"
                              "</Key><Code>AccessDenied</Code></Error></DeleteResult>";
    CHECK_EQ_INT(s3_delete_result_parse(bad, sizeof bad - 1, &err), DC_EIO);
    CHECK(strstr(err.msg, "t/a.parquet") && strstr(err.msg, "AccessDenied"));
}

TEST(s3_uploads_parse_page_and_markers)
{
    dc_err err;
    dc_err_clear(&err);
    s3_uploads_page pg;
    static const char one[] =
        "<?xml version=\"1.0\"?><ListMultipartUploadsResult><Bucket>b</Bucket>"
        "<NextKeyMarker>t/b.parquet</NextKeyMarker><NextUploadIdMarker>id&amp;2"
        "</NextUploadIdMarker><IsTruncated>true</IsTruncated>"
        "<Upload><Key>t/a.parquet</Key><UploadId>id1</UploadId>"
        "<Initiated>2026-12-07T14:48:46.000Z</Initiated></Upload>"
        "<Upload><Key>t/b&lt;.parquet</Key><UploadId>id&amp;2</UploadId>"
        "<Initiated>2026-12-07T14:48:47.500Z</Initiated></Upload>"
        "</ListMultipartUploadsResult>";
    CHECK_OK(s3_uploads_parse(&pg, one, sizeof one - 1, &err), &err);
    CHECK_EQ_INT(pg.n, 2);
    if (pg.n == 2) {
        CHECK_EQ_STR(pg.v[0].key, "t/a.parquet");
        CHECK_EQ_STR(pg.v[1].key, "t/b<.parquet");
        CHECK_EQ_STR(pg.v[1].upload_id, "id&2");
        CHECK_EQ_INT(pg.v[1].initiated_ms - pg.v[0].initiated_ms, 1500);
    }
    CHECK(pg.truncated && pg.next_key && strcmp(pg.next_key, "t/b.parquet") == 0);
    CHECK(pg.next_id && strcmp(pg.next_id, "id&2") == 0);
    s3_uploads_page_dispose(&pg);
    static const char none[] = "<ListMultipartUploadsResult><IsTruncated>false</IsTruncated>"
                               "</ListMultipartUploadsResult>";
    CHECK_OK(s3_uploads_parse(&pg, none, sizeof none - 1, &err), &err);
    CHECK(pg.n == 0 && !pg.truncated);
    s3_uploads_page_dispose(&pg);
    /* An upload whose age is unknown is not judged: the reply is refused. */
    static const char no_time[] = "<ListMultipartUploadsResult><Upload><Key>k</Key><UploadId>i"
                                  "</UploadId></Upload></ListMultipartUploadsResult>";
    CHECK_EQ_INT(s3_uploads_parse(&pg, no_time, sizeof no_time - 1, &err), DC_ECORRUPT);
    CHECK(pg.n == 0 && !pg.v);
    static const char trunc[] = "<ListMultipartUploadsResult><IsTruncated>true</IsTruncated>"
                                "</ListMultipartUploadsResult>";
    CHECK_EQ_INT(s3_uploads_parse(&pg, trunc, sizeof trunc - 1, &err), DC_ECORRUPT);
    CHECK_EQ_INT(s3_uploads_parse(&pg, "<X/>", 4, &err), DC_ECORRUPT);
}

TEST(s3_retry_classification_and_backoff)
{
    CHECK_EQ_INT(s3_classify(S3_NET_OK, 200, ""), S3_OK);
    CHECK_EQ_INT(s3_classify(S3_NET_OK, 206, ""), S3_OK);
    CHECK_EQ_INT(s3_classify(S3_NET_OK, 503, "SlowDown"), S3_RETRY);
    CHECK_EQ_INT(s3_classify(S3_NET_OK, 429, ""), S3_RETRY);
    CHECK_EQ_INT(s3_classify(S3_NET_OK, 500, "InternalError"), S3_RETRY_MAYBE);
    CHECK_EQ_INT(s3_classify(S3_NET_OK, 502, ""), S3_RETRY_MAYBE);
    CHECK_EQ_INT(s3_classify(S3_NET_OK, 409, "ConditionalRequestConflict"), S3_RETRY);
    CHECK_EQ_INT(s3_classify(S3_NET_OK, 400, "RequestTimeout"), S3_RETRY);
    CHECK_EQ_INT(s3_classify(S3_NET_NOT_SENT, 0, ""), S3_RETRY);
    CHECK_EQ_INT(s3_classify(S3_NET_LOST, 0, ""), S3_RETRY_MAYBE);
    CHECK_EQ_INT(s3_classify(S3_NET_OK, 412, "PreconditionFailed"), S3_FAIL);
    CHECK_EQ_INT(s3_classify(S3_NET_OK, 404, "NoSuchKey"), S3_FAIL);
    CHECK_EQ_INT(s3_classify(S3_NET_OK, 403, "AccessDenied"), S3_FAIL);
    CHECK_EQ_INT(s3_status_code(412, "PreconditionFailed"), DC_EEXISTS);
    CHECK_EQ_INT(s3_status_code(409, "FileAlreadyExists"), DC_EEXISTS); /* OSS */
    CHECK_EQ_INT(s3_status_code(404, "NoSuchKey"), DC_ENOTFOUND);
    CHECK_EQ_INT(s3_status_code(501, "NotImplemented"), DC_EUNSUPPORTED);
    CHECK_EQ_INT(s3_status_code(403, "AccessDenied"), DC_EIO);
    /* Full jitter under a doubling ceiling capped at 5 s. */
    for (uint64_t r = 0; r < 5000; r += 7) {
        CHECK(dc_backoff_ms(1, 100, 5000, r) <= 100);
        CHECK(dc_backoff_ms(3, 100, 5000, r) <= 400);
        CHECK(dc_backoff_ms(30, 100, 5000, r * 1000003) <= 5000);
    }
    CHECK_EQ_INT((int)dc_backoff_ms(3, 100, 5000, 400), 400);
    CHECK_EQ_INT((int)dc_backoff_ms(3, 100, 5000, 401), 0);
}

/* A fake environment: NAME=value pairs. */
typedef struct fake_env {
    const char *const *kv;
} fake_env;

static const char *fake_getenv(void *ctx, const char *name)
{
    const fake_env *e = ctx;
    for (size_t i = 0; e->kv[i]; i += 2)
        if (strcmp(e->kv[i], name) == 0) return e->kv[i + 1];
    return NULL;
}

TEST(s3_urls_path_style_and_virtual_host)
{
    dc_err err;
    dc_err_clear(&err);
    const char *kv[] = {"AWS_ENDPOINT_URL", "http://127.0.0.1:9000/", "HOME", "/nonexistent",
                        NULL};
    fake_env env = {kv};
    s3_conf c;
    CHECK_OK(s3_conf_resolve(&c, NULL, fake_getenv, &env, &err), &err);
    CHECK(c.path_style);  /* a custom endpoint: path-style */
    CHECK(c.verify_tls);
    CHECK_EQ_STR(c.region, "us-east-1");
    dc_buf u;
    dc_buf_init(&u, 4096);
    CHECK_OK(s3_url_build(&u, &c, "bkt", "t/date=2024-01-01/a b+c.parquet", NULL, &err), &err);
    CHECK_EQ_STR((const char *)u.data,
                 "http://127.0.0.1:9000/bkt/t/date%3D2024-01-01/a%20b%2Bc.parquet");
    s3_conf_dispose(&c);
    const char *kv2[] = {"AWS_REGION", "eu-west-3", "HOME", "/nonexistent", NULL};
    env.kv = kv2;
    CHECK_OK(s3_conf_resolve(&c, NULL, fake_getenv, &env, &err), &err);
    CHECK(!c.path_style); /* AWS: virtual-host */
    dc_buf_reset(&u);
    CHECK_OK(s3_url_build(&u, &c, "bkt", "", "delete=", &err), &err);
    CHECK_EQ_STR((const char *)u.data, "https://bkt.s3.eu-west-3.amazonaws.com/?delete=");
    s3_conf_dispose(&c);
    dc_buf_dispose(&u);
    char *b = NULL, *p = NULL;
    CHECK_OK(s3_uri_split(&b, &p, "s3://my-bucket/lake/db.db/t/", &err), &err);
    CHECK_EQ_STR(b, "my-bucket");
    CHECK_EQ_STR(p, "lake/db.db/t");
    dc_free(b);
    dc_free(p);
    CHECK_OK(s3_uri_split(&b, &p, "s3://my-bucket", &err), &err);
    CHECK_EQ_STR(p, "");
    dc_free(b);
    dc_free(p);
    CHECK_EQ_INT(s3_uri_split(&b, &p, "s3://My_Bucket/x", &err), DC_EINVAL);
    CHECK_EQ_INT(s3_uri_split(&b, &p, "s3://ab/x", &err), DC_EINVAL);
    CHECK_EQ_INT(s3_uri_split(&b, &p, "s3://abc/x//y", &err), DC_EINVAL);
}

TEST(s3_credentials_file_profiles)
{
    static const char f[] = "# comment\n[default]\naws_access_key_id = AKIDDEFAULT\n"
                            "aws_secret_access_key=defaultsecret\n\n"
                            "[profile dev]\n  aws_access_key_id=AKIDDEV \n"
                            "aws_secret_access_key = devsecret\naws_session_token = tok\n"
                            "region = eu-west-1\n";
    dc_err err;
    dc_err_clear(&err);
    char *k, *s, *t;
    CHECK_OK(s3_credentials_parse(&k, &s, &t, f, sizeof f - 1, "default", "creds", &err), &err);
    CHECK_EQ_STR(k, "AKIDDEFAULT");
    CHECK_EQ_STR(s, "defaultsecret");
    CHECK(t == NULL);
    dc_free(k);
    dc_free(s);
    CHECK_OK(s3_credentials_parse(&k, &s, &t, f, sizeof f - 1, "dev", "creds", &err), &err);
    CHECK_EQ_STR(k, "AKIDDEV");
    CHECK_EQ_STR(t, "tok");
    dc_free(k);
    dc_free(s);
    dc_free(t);
    CHECK_EQ_INT(s3_credentials_parse(&k, &s, &t, f, sizeof f - 1, "prod", "creds", &err),
                 DC_ENOTFOUND);
    static const char bad[] = "[default]\nthis line has no equals\n";
    CHECK_EQ_INT(s3_credentials_parse(&k, &s, &t, bad, sizeof bad - 1, "default", "creds", &err),
                 DC_EINVAL);
    CHECK(strstr(err.msg, "creds:2") != NULL);
}

TEST(s3_settings_precedence_file_env_credentials)
{
    dc_err err;
    dc_err_clear(&err);
    char dir[] = "/tmp/dc_s3_creds_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[256];
    snprintf(path, sizeof path, "%s/credentials", dir);
    FILE *fp = fopen(path, "w");
    CHECK(fp != NULL);
    fputs("[ci]\naws_access_key_id=AKIDFILE\naws_secret_access_key=filesecret\n", fp);
    fclose(fp);
    /* The file, chosen by AWS_PROFILE, when the environment has no keys. */
    const char *kv[] = {"AWS_SHARED_CREDENTIALS_FILE", path, "AWS_PROFILE", "ci",
                        "AWS_DEFAULT_REGION", "ap-south-1", "AWS_S3_ALLOW_UNSAFE_RENAME", "true",
                        NULL};
    fake_env env = {kv};
    s3_conf c;
    CHECK_OK(s3_conf_resolve(&c, NULL, fake_getenv, &env, &err), &err);
    CHECK_EQ_STR(c.access_key_id, "AKIDFILE");
    CHECK_EQ_STR(c.secret_access_key, "filesecret");
    CHECK_EQ_STR(c.region, "ap-south-1");
    CHECK(c.allow_unsafe);
    s3_conf_dispose(&c);
    /* The environment's keys win over the file; the pipeline file over both. */
    const char *kv2[] = {"AWS_SHARED_CREDENTIALS_FILE", path, "AWS_PROFILE", "ci",
                         "AWS_ACCESS_KEY_ID", "AKIDENV", "AWS_SECRET_ACCESS_KEY", "envsecret",
                         NULL};
    env.kv = kv2;
    CHECK_OK(s3_conf_resolve(&c, NULL, fake_getenv, &env, &err), &err);
    CHECK_EQ_STR(c.access_key_id, "AKIDENV");
    CHECK(!c.allow_unsafe);
    s3_conf_dispose(&c);
    dc_storage_s3_opts o;
    dc_storage_s3_opts_init(&o);
    o.access_key_id = "AKIDCONF";
    o.secret_access_key = "confsecret";
    o.region = "us-west-2";
    o.endpoint = "https://oss-cn-hangzhou.aliyuncs.com";
    o.verify_tls = 0;
    o.path_style = 0;
    CHECK_OK(s3_conf_resolve(&c, &o, fake_getenv, &env, &err), &err);
    CHECK_EQ_STR(c.access_key_id, "AKIDCONF");
    CHECK_EQ_STR(c.region, "us-west-2");
    CHECK(c.oss && !c.verify_tls && !c.path_style);
    s3_conf_dispose(&c);
    /* Half a key pair is an error that names the settings, not the secret. */
    o.access_key_id = NULL;
    CHECK_EQ_INT(s3_conf_resolve(&c, &o, fake_getenv, &env, &err), DC_EINVAL);
    CHECK(strstr(err.msg, "confsecret") == NULL);
    CHECK(strstr(err.msg, "secret_access_key") != NULL);
    /* A profile asked for by name must exist. */
    const char *kv3[] = {"AWS_SHARED_CREDENTIALS_FILE", path, "AWS_PROFILE", "nope", NULL};
    env.kv = kv3;
    CHECK_EQ_INT(s3_conf_resolve(&c, NULL, fake_getenv, &env, &err), DC_ENOTFOUND);
    CHECK(strstr(err.msg, "[nope]") != NULL);
    /* A bad endpoint. */
    dc_storage_s3_opts_init(&o);
    o.endpoint = "ftp://host/path";
    CHECK_EQ_INT(s3_conf_resolve(&c, &o, fake_getenv, &env, &err), DC_EINVAL);
    remove(path);
    rmdir(dir);
}
