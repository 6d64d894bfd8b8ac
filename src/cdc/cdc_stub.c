/* Placeholder bodies of the typed-table API (issue 9) so that dependent
 * work compiles while the decoders are written; replaced next. */
#include "cdc.h"

#define STUB(...) return dc_err_set(err, DC_EUNSUPPORTED, "cdc: typed tables not written yet")

int dc_cdc_tschema_from_record(dc_cdc_tschema **out, const dc_cdc_typed_opts *o, const char *rec,
                               size_t n, dc_err *err)
{ (void)out; (void)o; (void)rec; (void)n; STUB(); }
int dc_cdc_tschema_from_block(dc_cdc_tschema **out, const dc_cdc_typed_opts *o,
                              const char *block, size_t n, dc_err *err)
{ (void)out; (void)o; (void)block; (void)n; STUB(); }
int dc_cdc_tschema_from_delta(dc_cdc_tschema **out, const dc_json *struct_type,
                              const char *const *skip, dc_err *err)
{ (void)out; (void)struct_type; (void)skip; STUB(); }
dc_cdc_tschema *dc_cdc_tschema_dup(dc_cdc_tschema *s) { return s; }
void dc_cdc_tschema_free(dc_cdc_tschema *s) { (void)s; }
uint32_t dc_cdc_tschema_ncols(const dc_cdc_tschema *s) { (void)s; return 0; }
const dc_cdc_tcol *dc_cdc_tschema_col(const dc_cdc_tschema *s, uint32_t i) { (void)s; (void)i; return NULL; }
int32_t dc_cdc_tschema_find(const dc_cdc_tschema *s, const char *name, size_t n) { (void)s; (void)name; (void)n; return -1; }
bool dc_cdc_tcol_equal(const dc_cdc_tcol *a, const dc_cdc_tcol *b) { return a == b; }
bool dc_cdc_tschema_equal(const dc_cdc_tschema *a, const dc_cdc_tschema *b) { return a == b; }
int dc_cdc_tcol_delta_json(dc_buf *out, const dc_cdc_tcol *c, dc_err *err) { (void)out; (void)c; STUB(); }
int dc_cdc_tschema_delta_json(dc_buf *out, const dc_cdc_tschema *s, dc_err *err) { (void)out; (void)s; STUB(); }
void dc_cdc_tschema_cache_init(dc_cdc_tschema_cache *c, const dc_cdc_typed_opts *o)
{ memset(c, 0, sizeof *c); if (o) c->opts = *o; }
void dc_cdc_tschema_cache_dispose(dc_cdc_tschema_cache *c) { memset(c, 0, sizeof *c); }
int dc_cdc_tschema_cache_get(const dc_cdc_tschema **out, dc_cdc_tschema_cache *c,
                             const char *block, size_t n, dc_err *err)
{ (void)out; (void)c; (void)block; (void)n; STUB(); }
int dc_cdc_typed_row(dc_buf *out, const dc_cdc_tschema *s, const char *image, size_t len, dc_err *err)
{ (void)out; (void)s; (void)image; (void)len; STUB(); }
int dc_cdc_typed_members(dc_buf *out, const dc_cdc_tschema *s, const char *image, size_t len, dc_err *err)
{ (void)out; (void)s; (void)image; (void)len; STUB(); }
