/* config: what only src/config/ sees. */
#ifndef DC_CONFIG_INT_H
#define DC_CONFIG_INT_H

#include "config.h"

/* Appends s as a YAML scalar: plain when that reads back as the same string,
 * else double-quoted with JSON escapes (a subset of YAML's). */
int cfg_put_scalar(dc_buf *out, const char *s, dc_err *err);

/* Decodes one UTF-8 character at p into *cp; returns its length, or 0 when
 * the bytes are not UTF-8 (or p is at the NUL). */
int cfg_utf8_next(uint32_t *cp, const unsigned char *p);

/* Parses `text` for row k and stores it in `base` (the config, or a table
 * entry for tables[] rows); strings go to c->arena. Errors say what is wrong
 * with the value (the caller prefixes where). */
int cfg_store(dc_config *c, void *base, const dc_cfg_key *k, const char *text, dc_err *err);
/* Resets row k of `base` to its default. */
int cfg_default(dc_config *c, void *base, const dc_cfg_key *k, dc_err *err);
/* A table entry with every tables[] default. */
int cfg_table_defaults(dc_config *c, dc_config_table *t, dc_err *err);
/* LIST rows: n within [k->min, k->max]. */
int cfg_check_count(const dc_cfg_key *k, uint32_t n, dc_err *err);

#endif /* DC_CONFIG_INT_H */
