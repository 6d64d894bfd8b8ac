/* Fuzzes the pipeline-file loader (libyaml + the key table): any bytes must
 * load or be refused with a message naming the file, never crash or leak; a
 * file that loads dumps to YAML that loads again to the same dump (the dump
 * is itself a pipeline file; secrets dump as "*****", which reloads as is). */
#include "../src/config/config.h"

#include <stdio.h>
#include <stdlib.h>

static void check(bool ok, const char *what, const char *detail)
{
    if (!ok) {
        fprintf(stderr, "fuzz_config: %s: %s\n", what, detail ? detail : "");
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool env_set;
    if (!env_set) { /* ${DC_FUZZ_SECRET} in the seeds expands */
        setenv("DC_FUZZ_SECRET", "fuzz-secret-value", 1);
        env_set = true;
    }
    dc_config c, d;
    dc_err err;
    dc_buf a, b;
    dc_buf_init(&a, 1 << 26);
    dc_buf_init(&b, 1 << 26);
    dc_err_clear(&err);
    memset(&d, 0, sizeof d);
    int rc = dc_config_init(&c, &err);
    check(rc == 0, "init", err.msg);
    rc = dc_config_load_text(&c, "f.yaml", (const char *)data, size, &err);
    if (rc < 0) {
        check(strncmp(err.msg, "f.yaml", 6) == 0 || rc == DC_ENOMEM || rc == DC_ELIMIT,
              "an error that does not name the file", err.msg);
        goto out;
    }
    check(dc_config_dump(&a, &c, &err) == 0, "dump", err.msg);
    check(dc_config_init(&d, &err) == 0, "init", err.msg);
    rc = dc_config_load_text(&d, "dump", (const char *)a.data, a.len, &err);
    check(rc == 0, "the dump does not load", err.msg);
    check(dc_config_dump(&b, &d, &err) == 0, "dump", err.msg);
    check(a.len == b.len && memcmp(a.data, b.data, a.len) == 0, "dump does not round-trip", NULL);
out:
    dc_config_dispose(&c);
    dc_config_dispose(&d);
    dc_buf_dispose(&a);
    dc_buf_dispose(&b);
    return 0;
}
