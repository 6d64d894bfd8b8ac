/* Fuzzes the S3 reply parsers (storage_s3_xml.c): bytes from the network.
 * The input is one reply body, given to every parser: ListObjectsV2 (each
 * entry must be a non-empty name without '/' that was under the prefix, a
 * continuation token only when truncated), the error Code/Message (NUL-
 * terminated within their buffers, no control bytes), UploadId,
 * DeleteObjects results and ListMultipartUploads pages (every upload with a
 * key and an id, a key marker when truncated). Errors must be
 * DC_ECORRUPT/DC_EIO with a message. */
#include "../src/storage/storage_s3_int.h"

#include <stdio.h>
#include <stdlib.h>

static void check(bool ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_s3_xml: %s\n", what);
        abort();
    }
}

static void fuzz_list(const char *p, size_t n)
{
    dc_err err;
    dc_err_clear(&err);
    dc_storage_list l;
    dc_storage_list_init(&l);
    s3_list_page page;
    int rc = s3_list_parse(&page, &l, p, n, "t/_delta_log/", &err);
    if (rc == 0) {
        for (size_t i = 0; i < l.n; i++) {
            check(l.entries[i].name[0] != '\0', "empty entry name");
            check(strchr(l.entries[i].name, '/') == NULL, "a '/' in an entry name");
        }
        check(!page.truncated || page.next_token != NULL, "truncated without a token");
    } else {
        check(rc == DC_ECORRUPT || rc == DC_ENOMEM, "unexpected error code");
        check(err.msg[0] != '\0', "an error without a message");
        check(page.next_token == NULL, "a token on failure");
    }
    dc_free(page.next_token);
    dc_storage_list_dispose(&l);
}

static void fuzz_uploads(const char *p, size_t n)
{
    dc_err err;
    dc_err_clear(&err);
    s3_uploads_page pg;
    int rc = s3_uploads_parse(&pg, p, n, &err);
    if (rc == 0) {
        for (size_t i = 0; i < pg.n; i++)
            check(pg.v[i].key && pg.v[i].upload_id, "an upload without key or id");
        check(!pg.truncated || pg.next_key != NULL, "truncated without a key marker");
    } else {
        check(rc == DC_ECORRUPT || rc == DC_ENOMEM, "unexpected uploads error code");
        check(err.msg[0] != '\0', "an error without a message");
        check(pg.n == 0 && !pg.v && !pg.next_key, "a page left on failure");
    }
    s3_uploads_page_dispose(&pg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data;
    fuzz_list(p, size);
    fuzz_uploads(p, size);
    char code[64], msg[256];
    s3_error_parse(code, sizeof code, msg, sizeof msg, p, size);
    check(strlen(code) < sizeof code && strlen(msg) < sizeof msg, "unterminated text");
    for (const char *c = msg; *c; c++) check((unsigned char)*c >= 0x20, "a control byte in msg");
    dc_err err;
    dc_err_clear(&err);
    char *id = NULL;
    if (s3_upload_id_parse(&id, p, size, &err) == 0) check(id && *id, "an empty upload id");
    dc_free(id);
    dc_err_clear(&err);
    int rc = s3_delete_result_parse(p, size, &err);
    check(rc == 0 || rc == DC_ECORRUPT || rc == DC_EIO, "unexpected delete result code");
    return 0;
}
