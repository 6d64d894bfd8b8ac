/* `deltacdc config show|check|reference|example`: the pipeline file's
 * effective values (secrets as *****), and the generated reference and
 * example (docs/CONFIGURATION.md, examples/pipeline.yaml come from here). */
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../config/config.h"

static const char usage[] =
    "usage:\n"
    "  deltacdc config show -c pipeline.yaml   the effective configuration (defaults\n"
    "                                          applied, secrets as *****)\n"
    "  deltacdc config check -c pipeline.yaml  exit 0 when the file is valid\n"
    "  deltacdc config reference               docs/CONFIGURATION.md (Markdown)\n"
    "  deltacdc config example                 examples/pipeline.yaml (every key, commented)\n";

static int emit(const dc_buf *b, dc_err *err)
{
    if (b->len && fwrite(b->data, 1, b->len, stdout) != b->len)
        return dc_err_set(err, DC_EIO, "writing to stdout: %s", strerror(errno));
    return 0;
}

/* show/check: argv after the subcommand must be -c FILE. */
static int load(dc_config *c, int argc, char **argv, dc_err *err)
{
    if (argc != 2 || (strcmp(argv[0], "-c") != 0 && strcmp(argv[0], "--config") != 0))
        return dc_err_set(err, DC_EINVAL, "config: expected -c pipeline.yaml (see deltacdc "
                                          "config --help)");
    DC_TRY(dc_config_init(c, err));
    return dc_config_load_file(c, argv[1], err);
}

int dc_cli_config(int argc, char **argv)
{
    dc_err err;
    dc_err_clear(&err);
    dc_buf out;
    dc_buf_init(&out, (size_t)64 * 1024 * 1024);
    dc_config c;
    memset(&c, 0, sizeof c);
    int rc = 0, status = 0;
    const char *sub = argc >= 2 ? argv[1] : "";
    if (argc < 2 || strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0) {
        fputs(usage, argc < 2 ? stderr : stdout);
        status = argc < 2 ? 2 : 0;
        goto out;
    }
    if (strcmp(sub, "reference") == 0 && argc == 2) {
        rc = dc_config_reference_md(&out, &err);
    } else if (strcmp(sub, "example") == 0 && argc == 2) {
        rc = dc_config_example_yaml(&out, &err);
    } else if (strcmp(sub, "show") == 0) {
        rc = load(&c, argc - 2, argv + 2, &err);
        if (rc == 0) rc = dc_config_dump(&out, &c, &err);
    } else if (strcmp(sub, "check") == 0) {
        rc = load(&c, argc - 2, argv + 2, &err);
    } else {
        fprintf(stderr, "deltacdc config: unknown subcommand '%s' (see deltacdc config --help)\n",
                sub);
        status = 2;
        goto out;
    }
    if (rc == 0) rc = emit(&out, &err);
    if (rc < 0) {
        fprintf(stderr, "deltacdc: %s\n", err.msg);
        status = 1;
    }
out:
    dc_config_dispose(&c);
    dc_buf_dispose(&out);
    return status;
}
